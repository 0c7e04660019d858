"""``remit ingest``: load each new inbox file into the Parquet lake exactly once.

The run, under the home's lock, in the steps of ``_Run.run``:

1. ``open_lake`` / ``recover``: refuse a lake whose ``_state.json`` is lost or damaged (the clean-up
   would delete it), give a new lake its empty state first; delete whatever a killed run left (staging
   folder, parts and manifests no state names), then retired files whose grace period has ended;
2. ``triage_inbox``: find new files in the inbox (rule in :func:`discover`; links and other
   non-regular files are refused), hash them (a file over the size limit only by its size), and sort
   out byte-identical duplicates and non-X12 files without parsing;
3. ``parse_and_commit``: parse the rest in a process pool; workers send each file's tables back split
   by payment month (a file too big to hold in memory is staged as Parquet under ``lake/_staging/``
   instead). In inbox order, batches of 1,000 parsed files (or 128 MiB): a file changed since it was
   hashed stays in the inbox; the quality gate, if any, sees the batch and refuses files (quarantined
   like parse failures); each other file has its resent transactions marked and is recorded in the
   manifest; the commit writes one part per table and month for the batch (its files' rows
   concatenated in inbox order) before the state file, the commit point, names them: a file's rows
   appear all together or not at all, and the same inbox gives the same parts however fast it was
   parsed. After each commit the committed files leave the inbox (``.processed/`` or ``quarantine/``);
4. ``finish``: compact partitions that have too many parts.

File names are logged, printed and recorded escaped (:mod:`pipeline.lake.names`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import json
import os
import secrets
import shutil
import stat
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.home import Home
from pipeline.lake.compact import (
    COMPACT_MAX_PARTS,
    RETIRED_GRACE_SECONDS,
    CompactionStats,
    collect_garbage,
    compact,
    merge_parts,
)
from pipeline.lake.lock import run_lock
from pipeline.lake.names import original, shown, stored
from pipeline.lake.state import (
    LOADED_STATUSES,
    MANIFEST_SCHEMA,
    STAGING_DIR,
    STATE_FILE,
    LakeState,
    check_state_present,
    fsync_dir,
    fsync_file,
    utcnow,
)
from pipeline.lake.worker import (
    ParseOutcome,
    ParseTask,
    _die_with_parent,
    parse_task,
    parse_tasks_in_worker,
    receive,
    warm_worker,
)
from pipeline.leftovers import spawn_pool
from pipeline.log import get_logger, progress
from pipeline.settings import get_settings
from pipeline.x12.errors import Problem, X12ParseError
from pipeline.x12.scan import starts_like_x12
from pipeline.x12.schema import TABLES, file_key, transaction_ref

log = get_logger("lake")

SETTLE_SECONDS = 5.0  # a file modified more recently than this may still be being written: next run
IN_FLIGHT_SUFFIXES = (".part", ".tmp", ".partial", ".filepart", ".crdownload", ".swp", ".lock")
CHUNK_THRESHOLD = 32 << 20  # files above this are parsed chunk by chunk (bounded memory)
# Larger files are refused unread (quarantined): the parser takes a file's bytes whole, so a worker holds
# the file in memory next to one chunk's tables (env REMIT_MAX_FILE_BYTES; see docs/operations.md)
MAX_FILE_BYTES = 1 << 30
MAX_CHUNK_BYTES = 32 << 20
# a worker task takes up to this many files, or files until this many bytes (small files: see
# pipeline.lake.worker.parse_tasks_in_worker)
GROUP_FILES = 16
GROUP_BYTES = 4 << 20
# below this much input, parse in-process instead of starting a pool (env REMIT_LAKE_POOL_MIN_BYTES)
POOL_MIN_BYTES = 8 << 20
# parsed files per commit (env REMIT_LAKE_COMMIT_FILES, default 1,000): the gate checks them together and
# a commit writes one part per table and month for them, so this sets the gate's calls a night (each pays
# about 0.3 s of Great Expectations' own work, whatever the batch's size), the parts a night leaves (a
# 4,000-file night: 4 per partition), the work a kill throws away, and the memory a run holds (about
# two batches of parsed rows: the one being committed and the one parsed meanwhile). COMMIT_BYTES of
# input also closes a batch, so that a night of large files does not hold 1,000 of them.
COMMIT_FILES = 1000
COMMIT_BYTES = 128 << 20
PROCESSED_DIR = ".processed"
RESENT_COLUMN = "resent_of_transaction_id"

# A pre-commit check: the night's parsed tables in, {file_id: why} of the files to refuse out. A gate
# with a ``columns`` attribute ({table: [column, ...]}) is shown only those tables and columns (memory);
# one with a ``prepare()`` method has it called on the gate thread as the parsing starts
Gate = Callable[[dict[str, pa.Table]], Mapping[str, object]]
# Another parsing engine (e.g. Spark, pipeline.engines.spark): the run's parse tasks in inbox order in,
# one ParseOutcome per task out, in the same order (a generator may yield while it still parses). The
# outcomes are what pipeline.lake.worker.parse_task or stage_bytes return.
Parser = Callable[[list[ParseTask]], Iterable[ParseOutcome]]


@dataclass
class IngestResult:
    """What one ``ingest`` run did (file names as found in the inbox, escaped: ``names.shown``)."""

    run_id: str
    loaded: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)
    rejected: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # still being written: left for the next run
    # symbolic links and other non-regular files: (name, why); never opened, left in the inbox
    refused: list[tuple[str, str]] = field(default_factory=list)
    compaction: CompactionStats | None = None
    lake_files: int = 0  # files whose rows the lake holds after the run
    parsed_bytes: int = 0  # the size of the files given to the parser
    seconds: float = 0.0
    # where the time went, in this process: waiting for parsed files, the quality gate, writing commits
    phase_seconds: dict[str, float] = field(
        default_factory=lambda: {"parse": 0.0, "gate": 0.0, "commit": 0.0}
    )

    def summary(self) -> str:
        """One line for people and schedulers."""
        text = (
            f"ingest {self.run_id}: {len(self.loaded)} loaded, {len(self.resent)} resent, "
            f"{len(self.duplicates)} duplicate, {len(self.rejected)} rejected"
        )
        if self.rejected:
            text += " (moved to quarantine/, see <name>.error.json)"
        if self.skipped:
            text += f", {len(self.skipped)} left in the inbox (still being written)"
        if self.refused:
            text += f", {len(self.refused)} refused and left in the inbox (links or not regular files)"
        phases = ", ".join(f"{name} {sec:.1f}s" for name, sec in self.phase_seconds.items())
        return text + f"; the lake holds {self.lake_files} files ({self.seconds:.1f}s: {phases})"


# what identifies one version of an inbox file without reading it: device, inode, size, mtime (ns)
Stamp = tuple[int, int, int, int]


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class _Candidate:
    path: Path
    name: str  # as the OS spells it (non-UTF-8 bytes as lone surrogates)
    size: int
    file_id: str
    x12: bool
    stamp: Stamp | None = None  # when it was hashed; the file must still match it when committed

    @property
    def shown(self) -> str:
        """The name as logged, printed and recorded (control characters and odd bytes escaped)."""
        return shown(self.name)


@dataclass
class InboxScan:
    """What :func:`scan_inbox` found: files ready (oldest first) and the names left in the inbox."""

    ready: list[Path] = field(default_factory=list)
    later: list[str] = field(default_factory=list)  # still being written
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, why): links, FIFOs, …
    future: list[str] = field(default_factory=list)  # modified "in the future" (clock skew): ready
    folders: list[str] = field(default_factory=list)  # sub-folders: not searched


def _kind(mode: int) -> str:
    kinds = {
        stat.S_ISLNK: "a symbolic link (links are not followed)",
        stat.S_ISFIFO: "a FIFO (named pipe)",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
    }
    return next((what for test, what in kinds.items() if test(mode)), "not a regular file")


def scan_inbox(inbox: Path, settle_seconds: float = SETTLE_SECONDS) -> InboxScan:
    """Sort the inbox's entries by the inbox rule (see :func:`discover`), never following a link.

    A file modified more than ``settle_seconds`` in the future (a sender's or file server's clock
    ahead of ours) counts as settled and is listed in ``future``: waiting would not make it older
    until that clock is reached, and the checks before the commit still catch a file still growing.
    """
    scan = InboxScan()
    if not inbox.is_dir():
        return scan
    now = time.time()
    ready: list[tuple[float, str, Path]] = []
    for entry in os.scandir(inbox):
        name = entry.name
        if name.startswith((".", "~")):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:  # vanished meanwhile
            continue
        if stat.S_ISDIR(st.st_mode):  # sub-folders are not searched
            scan.folders.append(name)
            continue
        if not stat.S_ISREG(st.st_mode):
            scan.refused.append((name, _kind(st.st_mode)))
            continue
        age = now - st.st_mtime
        if name.lower().endswith(IN_FLIGHT_SUFFIXES) or -settle_seconds <= age < settle_seconds:
            scan.later.append(name)
            continue
        if age < 0:
            scan.future.append(name)
        ready.append((st.st_mtime, name, Path(entry.path)))
    ready.sort()
    scan.ready = [p for _, _, p in ready]
    scan.later.sort()
    scan.refused.sort()
    scan.future.sort()
    return scan


def discover(inbox: Path, settle_seconds: float = SETTLE_SECONDS) -> tuple[list[Path], list[str]]:
    """Files ready to ingest, oldest first, and the names left for later.

    The rule: regular files directly in the inbox (sub-folders are not searched; symbolic links,
    FIFOs, sockets and devices are refused, see :func:`scan_inbox`); names starting with ``.`` or ``~``
    are ignored (hidden, editor and transfer temporaries, and ``.processed/``); names ending in
    ``.part``, ``.tmp``, ``.partial``, ``.filepart``, ``.crdownload``, ``.swp`` or ``.lock``, and files
    modified less than ``settle_seconds`` ago, are still being written and are left for the next run
    (a modification time more than ``settle_seconds`` in the future counts as settled).
    """
    scan = scan_inbox(inbox, settle_seconds)
    return scan.ready, scan.later


def max_file_bytes() -> int:
    """The largest inbox file a run parses: setting ``REMIT_MAX_FILE_BYTES`` (bytes), default 1 GiB."""
    return get_settings().max_file_bytes


def _hash_and_sniff(path: Path) -> tuple[str, int, bool]:
    """sha256, size, and whether the content starts like X12 (:func:`pipeline.x12.scan.starts_like_x12`).

    Opens without following a link and without blocking (a FIFO swapped in meanwhile fails here).
    """
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        while block := fh.read(1 << 20):
            if len(head) < 64:
                head += block[:64]
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size, starts_like_x12(head)


def _unread_id(path: Path, st: os.stat_result) -> str:
    """A ``file_id`` for a file refused unread (too large): not a content hash, so marked ``unread-``."""
    key = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:".encode() + os.fsencode(path.name)
    return "unread-" + hashlib.sha256(key).hexdigest()[:48]


def _unchanged(cand: _Candidate) -> bool:
    """Whether the inbox entry is still the version that was hashed (same inode, size and mtime)."""
    if cand.stamp is None:
        return True
    try:
        return _stamp(os.lstat(cand.path)) == cand.stamp
    except OSError:
        return False


def _file_key_or_none(file_id: str | None) -> int | None:
    """``file_key`` of a manifest file id; None for the ``unread-`` ids of files refused unread."""
    if not file_id or file_id.startswith("unread-"):
        return None
    return file_key(file_id)


def _unique_dest(
    folder: Path, name: str, file_id: str, reserved: set[Path], reusable: Callable[[Path], bool] | None = None
) -> Path:
    """``folder/<stored name>``, or ``<stored name>.<sha12>`` (then ``.<n>``) when that is taken.

    The stored name is ``names.stored(name)``: the name itself, unless it is too long or not plain.
    A name is taken by a file or by its ``.error.json``, unless ``reusable(report)`` says that report
    is one a killed run wrote for this very file before it could move it.
    """
    name = stored(name)
    # a generator: the usual first candidate is free, so don't build the 1,000 fallbacks each time
    candidates = itertools.chain(
        (folder / name, folder / f"{name}.{file_id[:12]}"),
        (folder / f"{name}.{file_id[:12]}.{n}" for n in range(2, 1000)),
    )
    for dest in candidates:
        if dest in reserved or os.path.lexists(dest):
            continue
        report = Path(f"{dest}.error.json")
        if os.path.lexists(report) and not (reusable is not None and reusable(report)):
            continue
        reserved.add(dest)
        return dest
    raise RuntimeError(f"no free name for {shown(name)} in {folder}")


def _copy_into(src: Path, dest: Path, mode: int | None = None) -> None:
    """Copy ``src`` to a new file ``dest`` (its own inode), whole and fsynced, or not at all."""
    tmp = dest.with_name(f".remit-move-{dest.name}.tmp")
    shutil.copy2(src, tmp, follow_symlinks=False)
    if mode is not None:
        os.chmod(tmp, mode)
    fsync_file(tmp)
    os.replace(tmp, dest)
    fsync_dir(dest.parent)


def _move_durably(src: Path, dest: Path, mode: int | None = None, *, sync: bool = True) -> None:
    """Move ``src`` to ``dest`` (new name), never leaving a moment where neither holds the bytes.

    With ``mode`` the stored file gets that mode. A file with another hard link (a name outside the
    inbox sharing its inode) is copied instead, so the mode change never reaches the other name.
    ``sync=False`` leaves flushing both folders to the caller (a commit moving many files flushes
    each folder once: two flushes for every file cost about 1.2 ms a file).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    if mode is not None and os.lstat(src).st_nlink > 1:
        _copy_into(src, dest, mode)
        src.unlink()
    else:
        try:
            os.rename(src, dest)
        except OSError as exc:
            if exc.errno != errno.EXDEV:  # another filesystem: copy, then delete the source
                raise
            _copy_into(src, dest)
            src.unlink()
        if mode is not None:  # never through a link (a file swapped for one meanwhile): chmod its target
            fd = os.open(dest, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
    if sync:
        fsync_dir(dest.parent)
        fsync_dir(src.parent)


def check_inbox(home: Home, inbox: Path) -> None:
    """Refuse an inbox that does not exist, or that is the home or a folder remit writes into.

    A mistyped ``--inbox`` would otherwise load nothing, silently, every night; the home itself as
    inbox would quarantine the patient-key secret.
    """
    if not inbox.is_dir():
        raise NotADirectoryError(
            f"the inbox {inbox} does not exist or is not a folder: nothing to ingest (check --inbox)"
        )
    real = inbox.resolve()
    for own in (home.root, home.lake, home.quarantine, home.reports, home.inbox / PROCESSED_DIR):
        mine = own.resolve()
        if real == mine or (own != home.root and mine in real.parents):
            raise ValueError(
                f"the inbox {inbox} is {own} or inside it, a folder remit writes into: use another folder"
            )


def resend_key(row: dict[str, object]) -> tuple[str, str, Decimal] | None:
    """(payer, TRN02 trace number, BPR02 amount): a transaction with the same key was sent before.

    The payer is REF*2U / N1*PR04 (``payer_id``), else TRN03, else the payer's name.
    """
    payer = row.get("payer_id") or row.get("payer_identifier") or row.get("payer_name")
    trace, amount = row.get("trace_number"), row.get("payment_amount")
    if not payer or not trace or amount is None:
        return None
    return (str(payer), str(trace), Decimal(amount))


class _Run:
    """One ingest run; holds the state it commits and the result it reports."""

    def __init__(
        self,
        home: Home,
        inbox: Path,
        workers: int,
        settle: float,
        grace: float,
        max_parts: int,
        gate: Gate | None = None,
        parser: Parser | None = None,
    ):
        self.home, self.inbox, self.workers, self.gate = home, inbox, workers, gate
        self.parser = parser
        self.settle, self.grace, self.max_parts = settle, grace, max_parts
        self.lake = home.lake
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_id = f"{stamp}-{secrets.token_hex(3)}"
        self.result = IngestResult(self.run_id)
        self.day = stamp[:4] + "-" + stamp[4:6] + "-" + stamp[6:8]
        self.reserved: set[Path] = set()
        # what the next commit adds
        self.pending_rows: list[dict[str, object]] = []
        self.pending_moves: list[tuple[_Candidate, Path]] = []
        # (file_id, {(table, month): rows in memory, or the path of a part staged on disk})
        self.pending_parts: list[tuple[str, dict[tuple[str, str], pa.Table | str]]] = []
        self.commit_files = get_settings().lake_commit_files
        self.committer: ThreadPoolExecutor | None = None  # the commit thread, while the batches run
        self.committing: Future | None = None
        self.settler: ThreadPoolExecutor | None = None  # the gate thread, while the batches run
        self.settling: Future | None = None
        self.gated_at = 0.0  # when the gate last returned (monotonic)
        self.max_file_bytes = max_file_bytes()
        self.pool: ProcessPoolExecutor | None = None  # the parser processes, once started (``start_pool``)

    # -- step 1: recover ------------------------------------------------------------------------
    def open_lake(self) -> None:
        """Read the committed state, the manifest and the resend index (a new lake gets its state first).

        Refuses (:class:`~pipeline.lake.state.LakeStateError`) a lake whose ``_state.json`` is gone
        while parts remain, or is damaged: cleaning up after it would delete the whole lake.
        """
        self.home.ensure()
        self.lake.mkdir(parents=True, exist_ok=True)
        check_inbox(self.home, self.inbox)
        check_state_present(self.lake)
        self.state = LakeState.load(self.lake)
        if not (self.lake / STATE_FILE).exists():
            self.state.initialize(self.lake)
        self.state.check_parts(self.lake)

    def recover(self) -> None:
        """Remove the leftovers of a killed run: staging, unlisted parts and manifests, temp files."""
        shutil.rmtree(self.lake / STAGING_DIR, ignore_errors=True)
        referenced = self.state.referenced() | {STATE_FILE}
        removed = 0
        for dirpath, _dirs, files in os.walk(self.lake):
            for fname in files:
                path = Path(dirpath) / fname
                rel = path.relative_to(self.lake).as_posix()
                if rel in referenced or not (fname.endswith((".parquet", ".tmp"))):
                    continue
                path.unlink(missing_ok=True)
                removed += 1
        for folder in (self.inbox / PROCESSED_DIR, self.home.quarantine):
            if folder.is_dir():
                for tmp in folder.rglob(".remit-move-*.tmp"):
                    tmp.unlink(missing_ok=True)
                    removed += 1
        if removed:
            log.warning("removed %d leftover files of an interrupted run", removed)
        gone = collect_garbage(self.lake, self.state, grace_seconds=self.grace)
        if gone:
            log.info("deleted %d retired files past their grace period", gone)

    # -- committing -----------------------------------------------------------------------------
    def _row(self, cand: _Candidate, status: str, stored_as: Path | None, **extra: object) -> dict:
        self.entry += 1
        row: dict[str, object] = {f.name: None for f in MANIFEST_SCHEMA}
        row.update(
            entry=self.entry,
            file_id=cand.file_id,
            file_key=_file_key_or_none(cand.file_id),
            name=cand.shown,
            size=cand.size,
            run_id=self.run_id,
            status=status,
            inbox_path=shown(str(cand.path)),
            stored_as=shown(str(stored_as)) if stored_as else None,
        )
        row.update(extra)
        return row

    def commit(self, background: bool = False) -> None:
        """Record pending files (one state commit), then move their raw files out of the inbox.

        Commits happen one at a time, in order. With ``background`` the commit runs on the commit
        thread while the caller goes on (with the next batch's quality gate: writing Parquet releases
        the GIL, so the two overlap on two cores); the next commit, or ``wait_commit``, waits for it.
        """
        self.wait_commit()
        if not self.pending_rows:
            return
        work = (self.pending_rows, self.pending_parts, self.pending_moves)
        self.pending_rows, self.pending_parts, self.pending_moves = [], [], []
        if background and self.committer is not None:
            self.committing = self.committer.submit(self._commit, *work)
        else:
            self._commit(*work)

    def wait_commit(self) -> None:
        """Wait for the commit running in the background, if any (its error is raised here)."""
        if self.committing is not None:
            running, self.committing = self.committing, None
            running.result()

    def _commit(
        self,
        rows: list[dict[str, object]],
        parts: list[tuple[str, dict[tuple[str, str], pa.Table | str]]],
        moves: list[tuple[_Candidate, Path]],
    ) -> None:
        self._publish_parts(parts)
        rows, moves = self._recheck(rows, parts, moves)  # after the slow part: the window stays small
        now = utcnow()
        for row in rows:
            row["loaded_at"] = now
        added = pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)
        self.manifest = pa.concat_tables([self.manifest, added])
        self.state.commit(self.lake, manifest=self.manifest)
        folders: set[Path] = set()  # flushed once each, after the moves (a rename is atomic as it is)
        for cand, dest in moves:
            try:
                _move_durably(cand.path, dest, sync=False)
                folders.update((dest.parent, cand.path.parent))
            except OSError as exc:  # e.g. a read-only drop folder: the hash keeps it from loading twice
                log.warning(
                    "could not move %s to %s: %s (left in place)",
                    cand.shown,
                    shown(str(dest)),
                    exc.strerror or exc,
                )
                continue
            try:  # the rename took the inode; an uploader still holding it open may have appended since
                grown = _stamp(os.lstat(dest))[2:] != (cand.stamp or ())[2:]
            except OSError:
                grown = False
            if grown and cand.stamp is not None:
                log.error(
                    "%s changed just after its commit: the lake holds the %d bytes read; the copy kept "
                    "as %s is now different. Put that copy into the inbox again to load it as it is now "
                    "(transactions loaded already are marked as resent)",
                    cand.shown, cand.size, shown(str(dest)),
                )  # fmt: skip
        for folder in sorted(folders):
            try:
                fsync_dir(folder)
            except OSError as exc:  # the moves are done; only their flush to disk is in doubt
                log.warning("could not flush the folder %s: %s", shown(str(folder)), exc.strerror or exc)

    def _recheck(
        self,
        rows: list[dict[str, object]],
        parts: list[tuple[str, dict[tuple[str, str], pa.Table | str]]],
        moves: list[tuple[_Candidate, Path]],
    ) -> tuple[list[dict[str, object]], list[tuple[_Candidate, Path]]]:
        """The last check before the commit: is every file to record still the one that was read?

        A duplicate that changed is dropped from the commit (it stays in the inbox). A loaded file
        that changed since it was parsed (checked moments ago in ``_settle``) cannot be taken out of
        the batch without redoing the resend marks of the files after it: the commit is abandoned
        (nothing of the batch becomes visible) and the run stops, so the next run takes the files
        again as they are then.
        """
        changed = {id(c) for c, _ in moves if not _unchanged(c)}
        if not changed:
            return rows, moves
        loaded = {fid for fid, _ in parts}
        for cand, _dest in moves:
            if id(cand) in changed and cand.file_id in loaded:
                raise RuntimeError(
                    f"{cand.shown} changed while its batch was being committed (it grew or was "
                    "rewritten): nothing of that batch was committed; run again to load the files as "
                    "they are now"
                )
        gone = {(c.file_id, str(c.path)) for c, _ in moves if id(c) in changed}
        for cand, _dest in moves:
            if id(cand) in changed:
                self.result.duplicates.remove(cand.shown)
                self.result.skipped.append(cand.shown)
                log.warning("%s changed since it was read; left in the inbox for the next run", cand.shown)
        rows = [r for r in rows if (r["file_id"], original(str(r["inbox_path"]))) not in gone]
        return rows, [(c, d) for c, d in moves if id(c) not in changed]

    def _publish_parts(self, pending: list[tuple[str, dict[tuple[str, str], pa.Table | str]]]) -> None:
        """Put the pending files' parts into the lake: one part per (table, month) per commit.

        The parts of one file become ``f-<sha>.parquet`` (a part staged on disk is renamed into
        place); the parts of several files are concatenated in inbox order into
        ``b-<sha of their ids>.parquet``. Either way no state names the part until the commit that
        follows, and a killed run's unnamed parts are deleted by ``recover``.
        """
        if not pending:
            return
        by_key: dict[tuple[str, str], list[tuple[str, Path | pa.Table]]] = {}
        for file_id, parts in pending:
            for key, src in parts.items():
                by_key.setdefault(key, []).append((file_id, src if isinstance(src, pa.Table) else Path(src)))
        touched: set[Path] = set()
        for (table, month), members in sorted(by_key.items()):
            if len(members) == 1:
                part_name = f"f-{members[0][0][:32]}.parquet"
            else:  # named after its files: a rerun of the same batch gets the same name
                ids = hashlib.sha256("\n".join(fid for fid, _ in members).encode()).hexdigest()
                part_name = f"b-{ids[:32]}.parquet"
            rel = f"{table}/payment_month={month}/{part_name}"
            dest = self.lake / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if len(members) == 1 and isinstance(members[0][1], Path):
                fsync_file(members[0][1])
                os.replace(members[0][1], dest)
            else:
                merge_parts([src for _, src in members], dest)
                for _, src in members:  # merged: free the staging space now
                    if isinstance(src, Path):
                        src.unlink(missing_ok=True)
            touched.add(dest.parent)
            self.state.parts[table].append(rel)
        for folder in touched:
            fsync_dir(folder)

    # -- outcomes -------------------------------------------------------------------------------
    def processed_dest(self, cand: _Candidate) -> Path:
        return _unique_dest(self.inbox / PROCESSED_DIR / self.day, cand.name, cand.file_id, self.reserved)

    def reject(self, cand: _Candidate, error: dict[str, object]) -> None:
        """Quarantine the raw file with ``<name>.error.json`` first, then record it (nothing lost)."""

        def left_by_a_killed_run(report: Path) -> bool:  # its report was written, the move never done
            try:
                old = json.loads(report.read_text())
            except (OSError, ValueError):
                return False
            return old.get("file_id") == cand.file_id and old.get("inbox_path") == shown(str(cand.path))

        dest = _unique_dest(
            self.home.quarantine, cand.name, cand.file_id, self.reserved, left_by_a_killed_run
        )
        error = {**error, "file": cand.shown}
        report = {
            **error,
            "file_id": cand.file_id,
            "size": cand.size,
            "inbox_path": shown(str(cand.path)),
            "quarantined_as": shown(str(dest)),
            "run_id": self.run_id,
            "rejected_at": utcnow().isoformat(),
        }
        err_path = Path(f"{dest}.error.json")
        fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(report, fh, indent=2, default=str)
            fh.write("\n")
        try:
            _move_durably(cand.path, dest, mode=0o600)
        except FileNotFoundError:  # taken away meanwhile (e.g. another home's run on a shared inbox)
            err_path.unlink(missing_ok=True)
            log.warning("%s vanished before it could be quarantined; not recorded", cand.shown)
            return
        except OSError as exc:  # e.g. a read-only drop folder: quarantine a copy, leave the file
            _copy_into(cand.path, dest, 0o600)
            log.warning(
                "could not move %s out of the inbox (%s): a copy is quarantined; remove the file from the "
                "inbox, or it is rejected again every night",
                cand.shown, exc.strerror or exc,
            )  # fmt: skip
        error.pop("traceback", None)
        self.pending_rows.append(self._row(cand, "rejected", dest, error=json.dumps(error, default=str)))
        self.result.rejected.append((cand.shown, error))
        fields = {"fields": {"file": cand.shown}}
        log.warning("rejected %s: %s", cand.shown, error.get("message"), extra=fields)

    def duplicate(self, cand: _Candidate) -> None:
        dest = self.processed_dest(cand)
        self.pending_rows.append(self._row(cand, "duplicate", dest))
        self.pending_moves.append((cand, dest))
        self.result.duplicates.append(cand.shown)
        log.info("duplicate %s: same bytes as a file already loaded (%s)", cand.shown, cand.file_id[:12])

    def load_837(self, cand: _Candidate, out: ParseOutcome) -> None:
        """Queue an 837's parts (submitted claims and lines) for the next commit and record it.

        An 837 has no payments, so no resend marks: loading the same bytes twice is a duplicate (by its
        sha256), and a resubmitted claim (a new file) is a new row, as it is a new submission.
        """
        self.pending_parts.append((cand.file_id, {**out.staged, **out.parts}))
        dest = self.processed_dest(cand)
        self.pending_rows.append(
            self._row(
                cand,
                "loaded",
                dest,
                transactions=out.transactions,
                resent_transactions=0,
                payer_ids=out.payer_ids,
                payer_names=out.payer_names,
                payment_months=out.months,  # the submission months the file's rows are partitioned by
                **{f"rows_{name}": out.rows.get(name, 0) for name in TABLES},
            )
        )
        self.pending_moves.append((cand, dest))
        self.result.loaded.append(cand.shown)
        log.info(
            "loaded %s: 837, %d transactions, %d submitted claims",
            cand.shown,
            out.transactions,
            out.rows.get("submitted_claims", 0),
            extra={"fields": {"file": cand.shown, "file_id": cand.file_id, "status": "loaded"}},
        )

    def load(self, cand: _Candidate, out: ParseOutcome) -> None:
        """Mark resends, stage the payments parts, and queue the file's parts for the next commit."""
        if out.kind == "837":
            self.load_837(cand, out)
            return
        pay = out.payments
        assert pay is not None
        marks: list[str | None] = []
        for row in pay.select(
            ["file_id", "transaction_ordinal", "payer_id", "payer_identifier", "payer_name", "trace_number"]
            + ["payment_amount"]
        ).to_pylist():
            key = resend_key(row)
            original = self.originals.get(key) if key else None
            if key and original is None:
                self.originals[key] = transaction_ref(row["file_id"], row["transaction_ordinal"])
            marks.append(original)
        months = pay.column("payment_month")
        pay = pay.drop_columns(["payment_month"]).append_column(RESENT_COLUMN, pa.array(marks, pa.string()))
        parts: dict[tuple[str, str], pa.Table | str] = {**out.staged, **out.parts}
        file_months = pc.unique(months).to_pylist()
        for month in file_months:  # the usual file has one month: nothing to filter
            parts[("payments", month)] = pay if len(file_months) == 1 else pay.filter(pc.equal(months, month))
        self.pending_parts.append((cand.file_id, parts))  # into the lake with the next commit
        n_resent = sum(m is not None for m in marks)
        status = "resent" if n_resent == len(marks) else "loaded"
        amounts = [a for a in pay.column("payment_amount").to_pylist() if a is not None]

        def distinct(col: str) -> list[str]:
            return list(dict.fromkeys(v for v in pay.column(col).to_pylist() if v))

        dest = self.processed_dest(cand)
        self.pending_rows.append(
            self._row(
                cand,
                status,
                dest,
                transactions=pay.num_rows,
                resent_transactions=n_resent,
                payment_total=sum(amounts, Decimal("0.00")),
                payer_ids=distinct("payer_id"),
                payer_names=distinct("payer_name"),
                trace_numbers=distinct("trace_number"),
                payment_months=sorted(file_months),
                **{f"rows_{name}": out.rows.get(name, 0) for name in TABLES},
            )
        )
        self.pending_moves.append((cand, dest))
        (self.result.resent if status == "resent" else self.result.loaded).append(cand.shown)
        log.info(
            "%s %s: %d transactions (%d resent), %d claims",
            status,
            cand.shown,
            pay.num_rows,
            n_resent,
            out.rows.get("claims", 0),
            extra={"fields": {"file": cand.shown, "file_id": cand.file_id, "status": status}},
        )

    # -- the run --------------------------------------------------------------------------------
    def _originals(self) -> dict[tuple[str, str, Decimal], str]:
        """Resend index over the lake: key -> readable id (``transaction_ref``) of the first transaction
        with that key."""
        index: dict[tuple[str, str, Decimal], str] = {}
        cols = [
            "file_id",
            "transaction_ordinal",
            "payer_id",
            "payer_identifier",
            "payer_name",
            "trace_number",
        ]
        cols += ["payment_amount", RESENT_COLUMN]
        for rel in self.state.parts["payments"]:
            table = pq.read_table(self.lake / rel, columns=cols)
            for row in table.to_pylist():
                key = resend_key(row)
                if key and row[RESENT_COLUMN] is None:
                    index.setdefault(key, transaction_ref(row["file_id"], row["transaction_ordinal"]))
        return index

    def run(self) -> IngestResult:
        """The night, step by step (each step's docstring says what it guarantees)."""
        started = time.monotonic()
        self.start_gate()
        try:
            self.open_lake()
            self.recover()
            self.read_manifest()
            tasks, twins = self.triage_inbox()
            self.parse_and_commit(tasks, twins)
        finally:  # a step that failed before the batches: the gate thread may still be importing GX
            self.stop_gate()
            self.stop_pool()
        self.finish()
        self.result.seconds = time.monotonic() - started
        return self.result

    def read_manifest(self) -> None:
        """The manifest, the last entry number, the resend index and what earlier runs recorded."""
        self.manifest = self.state.read_manifest(self.lake)
        self.entry = int(pc.max(self.manifest.column("entry")).as_py() or 0) if self.manifest.num_rows else 0
        self.originals = self._originals()
        # file_id -> manifest rows (status loaded/resent/duplicate), to finish interrupted moves
        self.done: dict[str, list[dict[str, object]]] = {}
        for row in self.manifest.select(["file_id", "status", "inbox_path", "stored_as"]).to_pylist():
            if row["status"] in (*LOADED_STATUSES, "duplicate"):
                self.done.setdefault(row["file_id"], []).append(row)
        self.loaded_ids = {
            fid for fid, rows in self.done.items() if any(r["status"] in LOADED_STATUSES for r in rows)
        }
        # file_key -> (file_id, name) of every loaded file: a new file with the same key is refused
        self.loaded_keys: dict[int, tuple[str, str]] = {}
        for row in self.manifest.select(["file_id", "name", "status"]).to_pylist():
            if row["status"] in LOADED_STATUSES and (key := _file_key_or_none(row["file_id"])) is not None:
                self.loaded_keys[key] = (row["file_id"], row["name"])

    # -- step 2: triage -------------------------------------------------------------------------
    def triage_inbox(self) -> tuple[list[tuple[_Candidate, ParseTask]], dict[str, list[_Candidate]]]:
        """Sort the inbox without parsing: duplicates, non-X12 and too-large files are decided here.

        Returns the files to parse (inbox order) and, by file_id, the later copies of the same bytes
        found in this inbox (decided with the first). The decided files are recorded at once (first
        commit).
        """
        if self.inbox.is_dir():  # raw remittances are kept there: owner-only, like quarantine/
            processed = self.inbox / PROCESSED_DIR
            try:
                processed.mkdir(mode=0o700, exist_ok=True)
                os.chmod(processed, 0o700)
            except OSError as exc:  # a read-only drop folder: files stay in place anyway
                log.debug("cannot make %s owner-only: %s", processed, exc)
        scan = scan_inbox(self.inbox, self.settle)
        self.start_pool(scan.ready)
        self.result.skipped = [shown(n) for n in scan.later]
        if scan.later:
            log.info(
                "left %d files still being written in the inbox: %s",
                len(scan.later), ", ".join(self.result.skipped[:5]),
            )  # fmt: skip
        if scan.folders:
            names = ", ".join(shown(n) for n in sorted(scan.folders)[:5])
            log.info("%d sub-folders of the inbox are not searched: %s", len(scan.folders), names)
        for name in scan.future:
            log.warning("%s is modified in the future (clock skew?): taken as settled", shown(name))
        tasks: list[tuple[_Candidate, ParseTask]] = []
        twins: dict[str, list[_Candidate]] = {}  # same bytes twice in one inbox: decided by the first
        for name, why in scan.refused:
            self.refuse(name, why)
        secret = self.home.patient_key_secret()
        for path in scan.ready:
            cand = self._examine(path)
            if cand is None:
                continue
            if cand.file_id in self.loaded_ids:
                self._already_loaded(cand)
            elif cand.file_id in twins:
                twins[cand.file_id].append(cand)
            elif cand.size == 0:  # an upload that has not written yet: rejecting would move it away
                log.warning("%s is empty; left in the inbox (delete it if nothing is coming)", cand.shown)
                self.result.skipped.append(cand.shown)
            elif cand.size > self.max_file_bytes:
                what = (
                    f"file too large: {cand.size:,} bytes, over the limit of {self.max_file_bytes:,} bytes "
                    "(REMIT_MAX_FILE_BYTES); not read. The parser holds a whole file in memory: raise "
                    "the limit if the machine has the memory, or ask the sender to split the file"
                )
                self.reject(cand, X12ParseError(cand.shown, [Problem(what, None, 0, None)]).as_dict())
            elif not cand.x12:
                what = "not an X12 file: it does not start with an ISA segment"
                self.reject(cand, X12ParseError(cand.shown, [Problem(what, 1, 0, None)]).as_dict())
            elif (other := self.loaded_keys.get(file_key(cand.file_id))) is not None:
                what = (
                    f"file key collision: the first 8 bytes of this file's sha256 ({cand.file_id[:16]}) "
                    f"are those of {other[1]} ({other[0][:16]}…), another file already in the lake; the "
                    "lake's row keys could not tell the two apart, so this file is not loaded "
                    "(docs/parser.md, 'Keys and ids')"
                )
                self.reject(cand, X12ParseError(cand.shown, [Problem(what, None, 0, None)]).as_dict())
            else:
                # taken now: a later file of this night with the same key collides with this one
                self.loaded_keys[file_key(cand.file_id)] = (cand.file_id, cand.shown)
                twins[cand.file_id] = []
                task = ParseTask(
                    path=str(path),
                    name=cand.shown,
                    file_id=cand.file_id,
                    staging=self._staging_of(cand),
                    secret=secret,
                    chunk_threshold=CHUNK_THRESHOLD,
                    max_chunk_bytes=MAX_CHUNK_BYTES,
                )
                tasks.append((cand, task))
        self.commit()
        return tasks, twins

    def refuse(self, name: str, why: str) -> None:
        """A symbolic link or other non-regular file: never opened nor moved, left where it is."""
        self.result.refused.append((shown(name), why))
        log.warning("refused %s: %s; left in the inbox, not read", shown(name), why)

    def _examine(self, path: Path) -> _Candidate | None:
        """Hash and sniff one ready file (a too-large one only stat'ed); None when it is left alone."""
        name = path.name
        try:
            before = os.lstat(path)
            if not stat.S_ISREG(before.st_mode):  # swapped for a link or FIFO since the scan
                self.refuse(name, _kind(before.st_mode))
                return None
            if before.st_size > self.max_file_bytes:  # refused unread: no hash (see _unread_id)
                return _Candidate(path, name, before.st_size, _unread_id(path, before), False, _stamp(before))
            file_id, size, x12 = _hash_and_sniff(path)
            after = os.lstat(path)
        except FileNotFoundError:
            return None  # taken away meanwhile
        except OSError as exc:  # e.g. unreadable (permissions), or a link swapped in: leave it, say so
            if exc.errno == errno.ELOOP:
                self.refuse(name, _kind(stat.S_IFLNK))
                return None
            log.warning("cannot read %s: %s; left in the inbox", shown(name), exc.strerror or exc)
            self.result.skipped.append(shown(name))
            return None
        if _stamp(after) != _stamp(before) or size != after.st_size:
            log.warning("%s changed while it was hashed; left for the next run", shown(name))
            self.result.skipped.append(shown(name))
            return None
        return _Candidate(path, name, size, file_id, x12, _stamp(after))

    def _already_loaded(self, cand: _Candidate) -> None:
        """Bytes loaded before: finish the move of a run killed after its commit, or a duplicate."""
        unfinished = [
            r for r in self.done[cand.file_id]
            if original(str(r["inbox_path"])) == str(cand.path)
            and r["stored_as"] and not os.path.lexists(original(str(r["stored_as"])))
        ]  # fmt: skip
        if not unfinished:
            self.duplicate(cand)
            return
        try:  # committed by a run killed before it moved the file: finish the move
            _move_durably(cand.path, Path(original(str(unfinished[0]["stored_as"]))))
            log.info("moved %s, recorded by an interrupted run", cand.shown)
        except OSError as exc:  # e.g. a read-only drop folder: already loaded, leave it
            log.debug("%s is loaded; could not move it: %s", cand.shown, exc)

    # -- step 3: parse and commit ---------------------------------------------------------------
    def parse_and_commit(
        self, tasks: list[tuple[_Candidate, ParseTask]], twins: dict[str, list[_Candidate]]
    ) -> None:
        """Parse the tasks; each batch of ``commit_files`` parsed files is gated, recorded, committed.

        A batch's commit runs on the commit thread while the next batch is gated. With a gate, a batch
        is gated (and recorded) on the gate thread (``start_gate``, by ``run``) while this thread collects
        the next batch's parsed files: the gate holds the ingest only when the next batch is parsed before
        it is done. Every settle and commit is finished (or failed) before this returns, so nothing runs
        on behind the lock's release.
        """
        batch: list[tuple[_Candidate, ParseOutcome]] = []
        batch_bytes = 0
        phases = self.result.phase_seconds
        self.result.parsed_bytes = sum(cand.size for cand, _ in tasks)
        self.committer = ThreadPoolExecutor(1, thread_name_prefix="remit-commit")
        try:
            waited = time.monotonic()
            for item in progress(self._parse_all(tasks), len(tasks), "ingest"):
                phases["parse"] += time.monotonic() - waited
                batch.append(item)
                batch_bytes += item[0].size
                if _batch_full(len(batch), batch_bytes, self.commit_files):
                    self._hand_off(batch, twins)
                    batch, batch_bytes = [], 0
                waited = time.monotonic()
            self._hand_off(batch, twins)
            self._wait_settle()
            waited = time.monotonic()
            self.wait_commit()
            phases["commit"] += time.monotonic() - waited
        finally:  # never leave a settle or a commit running behind the lock's release
            self.stop_gate()  # (a settle may still hand a commit to the committer)
            self.committer.shutdown(wait=True)
            self.committer = None

    def _hand_off(
        self, batch: list[tuple[_Candidate, ParseOutcome]], twins: dict[str, list[_Candidate]]
    ) -> None:
        """Settle ``batch``: on the gate thread once the previous batch's settle is done, if there is one."""
        if self.settler is None:
            self._settle(batch, twins)
            return
        self._wait_settle()
        self.settling = self.settler.submit(self._settle, batch, twins, background=True)

    def start_gate(self) -> None:
        """Start the gate thread, and on it the gate's preparation (``prepare``: GX's import, 2.3 s), unless
        started already. ``run`` starts it first: it runs while the manifest is read and the inbox sorted,
        and the first batch waits for it only if it is parsed before the import is done."""
        if self.gate is None or self.settler is not None:
            return
        self.settler = ThreadPoolExecutor(1, thread_name_prefix="remit-gate")
        prepare = getattr(self.gate, "prepare", None)
        if callable(prepare):
            self.settling = self.settler.submit(self._prepare_gate, prepare)

    def stop_gate(self) -> None:
        """Wait for the gate thread's work and end it (a no-op without one)."""
        if self.settler is not None:
            self.settler.shutdown(wait=True)
            self.settler = None

    def _pool_wanted(self, sizes: Iterable[int], files: int) -> int:
        """How many parser processes a night of ``files`` files of ``sizes`` bytes gets: 0 when it is
        parsed in this process (another engine's parser, one core or one file, or a small night:
        starting the processes costs seconds, interpreter and imports)."""
        n = min(self.workers, files)
        if self.parser is not None or n <= 1 or sum(sizes) < get_settings().lake_pool_min_bytes:
            return 0
        return n

    def start_pool(self, ready: list[Path]) -> None:
        """Start the parser processes now, before the inbox is hashed, when the night is big enough for
        them (``_pool_wanted``): their interpreters and the parser's compiled core load (``warm_worker``)
        while this process hashes the files, instead of after (1M claims: about 1.5 s earlier)."""
        if self.pool is not None:
            return
        sizes = []
        for path in ready:
            with contextlib.suppress(OSError):  # vanished meanwhile: the hashing will say
                sizes.append(os.lstat(path).st_size)
        n = self._pool_wanted(sizes, len(ready))
        if n:
            self.pool = spawn_pool(n, initializer=_die_with_parent)
            for _ in range(n):  # one task per process: each is spawned when a task finds none idle
                self.pool.submit(warm_worker)

    def stop_pool(self) -> None:
        """End the parser processes, if still running (a no-op once ``_parse_in_pool`` ended them)."""
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _prepare_gate(self, prepare: Callable[[], object]) -> None:
        prepare()
        self.gated_at = time.monotonic()  # a wait for it counts as the gate phase (_wait_settle)

    def _wait_settle(self) -> None:
        """Wait for the settle running on the gate thread, if any (its error is raised here).

        The wait counts as the ``gate`` phase while the gate runs, as ``commit`` after (the settle then
        waits for the previous batch's commit).
        """
        if self.settling is None:
            return
        running, self.settling = self.settling, None
        started = time.monotonic()
        try:
            running.result()
        finally:
            ended = time.monotonic()
            gated = max(0.0, min(ended, self.gated_at) - started)
            self.result.phase_seconds["gate"] += gated
            self.result.phase_seconds["commit"] += ended - started - gated

    # -- step 4: finish -------------------------------------------------------------------------
    def finish(self) -> None:
        """Delete this run's staging, compact crowded partitions, count the files the lake holds."""
        shutil.rmtree(self.lake / STAGING_DIR, ignore_errors=True)  # ours alone: we hold the lock
        self.result.compaction = compact(self.lake, self.state, max_parts=self.max_parts)
        manifest = self.manifest.filter(pc.is_in(self.manifest.column("status"), pa.array(LOADED_STATUSES)))
        self.result.lake_files = manifest.num_rows

    def _staging_of(self, cand: _Candidate) -> str:
        return str(self.lake / STAGING_DIR / self.run_id / cand.file_id[:32])

    def _settle(
        self,
        batch: list[tuple[_Candidate, ParseOutcome]],
        twins: dict[str, list[_Candidate]],
        *,
        background: bool = False,
    ) -> None:
        """Gate one batch of parsed files, load or quarantine each (inbox order), and commit them.

        ``background``: on the gate thread (the waiting thread counts the phases, see ``_wait_settle``).
        """
        t0 = time.monotonic()
        verdicts = self._ask_gate(batch) if self.gate is not None else {}
        t1 = self.gated_at = time.monotonic()
        if not background:
            self.result.phase_seconds["gate"] += t1 - t0
        for cand, out in batch:
            if out.error is None and not out.changed and cand.file_id in verdicts:
                shutil.rmtree(Path(self._staging_of(cand)), ignore_errors=True)
                out.error = verdicts[cand.file_id]
                out.parts, out.staged = {}, {}
            if not out.changed and not _unchanged(cand):  # grew or was rewritten since it was read
                shutil.rmtree(Path(self._staging_of(cand)), ignore_errors=True)
                out.changed = True
            if out.changed:
                self.result.skipped.append(cand.shown)
                log.warning("%s changed or vanished while being read; left for the next run", cand.shown)
                twins.pop(cand.file_id, None)
                continue
            if out.error is not None:
                self.reject(cand, out.error)
                for twin in twins.pop(cand.file_id, []):
                    self.reject(twin, out.error)
            else:
                self.load(cand, out)
                for twin in twins.pop(cand.file_id, []):
                    self.duplicate(twin)
        self.commit(background=True)  # waits for the previous batch's commit first
        if not background:
            self.result.phase_seconds["commit"] += time.monotonic() - t1

    def _ask_gate(self, batch: list[tuple[_Candidate, ParseOutcome]]) -> dict[str, dict[str, object]]:
        """Show the gate a batch's parsed tables; return an error dict per file it refuses."""
        parsed = [(c, o) for c, o in batch if o.error is None and not o.changed]
        if not parsed:
            return {}
        wanted: Mapping[str, list[str]] | None = getattr(self.gate, "columns", None)
        # each table's pieces in file order: in memory (runs of them are joined, then their columns
        # picked: picking them piece by piece cost three times as much), or staged on disk
        pieces: dict[str, list[pa.Table | str]] = {}
        for _cand, out in parsed:
            if out.payments is not None:  # (an 837 has none)
                pieces.setdefault("payments", []).append(out.payments.drop_columns(["payment_month"]))
            for (t, _m), part in sorted(out.parts.items()):
                pieces.setdefault(t, []).append(part)
            for (t, _m), path in sorted(out.staged.items()):
                pieces.setdefault(t, []).append(path)
        tables: dict[str, pa.Table] = {}
        for name, schema in TABLES.items():
            if wanted is not None and name not in wanted:
                continue
            cols = list(wanted[name]) if wanted is not None else None
            runs: list[pa.Table] = []
            for staged, run in itertools.groupby(pieces.get(name, []), key=lambda p: isinstance(p, str)):
                if staged:
                    runs.extend(pq.read_table(path, columns=cols) for path in run)
                else:
                    joined = pa.concat_tables(list(run))
                    runs.append(joined.select(cols) if cols is not None else joined)
            empty = schema.empty_table()
            # one chunk per column: the batch's files come as hundreds of pieces, and every compute
            # call of the gate would pay per chunk (500 files: 0.42 -> 0.31 s, the copy 0.02 s)
            tables[name] = (
                pa.concat_tables(runs, promote_options="permissive").combine_chunks()
                if runs
                else (empty.select(cols) if cols is not None else empty)
            )
        refused = self.gate(tables) or {}
        verdicts: dict[str, dict[str, object]] = {}
        names = {c.file_id: c.shown for c, _ in parsed}
        for file_id, why in refused.items():
            if file_id not in names:
                continue
            detail = why if isinstance(why, dict) else {"message": str(why)}
            message = f"quality gate: {detail.get('message', 'refused')}"
            error = X12ParseError(names[file_id], [Problem(message)]).as_dict()
            verdicts[file_id] = {**error, "gate": detail}
        if verdicts:
            log.warning("the quality gate refused %d file(s)", len(verdicts))
        return verdicts

    def _parse_all(
        self, tasks: list[tuple[_Candidate, ParseTask]]
    ) -> Iterator[tuple[_Candidate, ParseOutcome]]:
        """Yield (candidate, outcome) in inbox order, from the run's parser or the process pool."""
        if not tasks:
            return
        if self.parser is not None:
            outcomes = iter(self.parser([task for _, task in tasks]))
            for cand, task in tasks:
                out = next(outcomes, None)
                if out is None or out.file_id != task.file_id:
                    raise RuntimeError(f"the parser returned no outcome for {task.name} (in inbox order)")
                yield cand, out
            return
        yield from self._parse_in_pool(tasks)

    def _parse_in_pool(
        self, tasks: list[tuple[_Candidate, ParseTask]]
    ) -> Iterator[tuple[_Candidate, ParseOutcome]]:
        """Parse in worker processes (or here, for a small night); parsing runs ahead of the caller."""
        n = self._pool_wanted((c.size for c, _ in tasks), len(tasks))
        if not n:  # e.g. most of the inbox was loaded before: the processes started for it are not needed
            self.stop_pool()
            for cand, task in tasks:
                yield cand, parse_task(task)
            return
        # Small files go to the workers a few at a time (see parse_tasks_in_worker)
        groups: list[list[tuple[_Candidate, ParseTask]]] = []
        size = 0
        for cand, task in tasks:
            if not groups or len(groups[-1]) >= GROUP_FILES or size >= GROUP_BYTES:
                groups.append([])
                size = 0
            groups[-1].append((cand, task))
            size += cand.size
        # At most about one batch parsed ahead of the one being settled: the outcomes hold the files'
        # rows in memory until they are committed.
        ahead = max(4 * n, _groups_per_batch(groups, self.commit_files))
        # spawned: workers must not inherit the run lock's descriptor or the parent's threads
        pool, self.pool = self.pool or spawn_pool(n, initializer=_die_with_parent), None
        with pool:
            queue = iter(groups)
            pending: deque = deque()

            def submit(count: int) -> None:
                for group in itertools.islice(queue, count):
                    staging = f"{group[0][1].staging}-group"
                    fut = pool.submit(parse_tasks_in_worker, [task for _, task in group], staging)
                    pending.append(([cand for cand, _ in group], fut))

            submit(ahead)
            while pending:
                cands, fut = pending.popleft()
                outcomes = receive(fut.result())
                submit(1)
                yield from zip(cands, outcomes, strict=True)


def _batch_full(files: int, size: int, commit_files: int) -> bool:
    """Whether a commit batch of ``files`` files, ``size`` bytes of input, is complete."""
    return files >= commit_files or size >= COMMIT_BYTES


def _groups_per_batch(groups: list[list[tuple[_Candidate, ParseTask]]], commit_files: int) -> int:
    """How many of the first ``groups`` make one commit batch (``_batch_full``)."""
    files = size = 0
    for k, group in enumerate(groups, 1):
        files += len(group)
        size += sum(cand.size for cand, _ in group)
        if _batch_full(files, size, commit_files):
            return k
    return len(groups)


def ingest(
    home: Home,
    *,
    inbox: Path | None = None,
    workers: int | None = None,
    settle_seconds: float | None = None,
    grace_seconds: float = RETIRED_GRACE_SECONDS,
    compact_max_parts: int = COMPACT_MAX_PARTS,
    gate: Gate | None = None,
    parser: Parser | None = None,
) -> IngestResult:
    """Load every new file of the inbox (default ``home.inbox``) into ``home.lake``, exactly once.

    ``workers`` parser processes (default: all cores), unless ``parser`` (another engine, see
    ``Parser``) parses the files instead. Files modified less than ``settle_seconds`` ago
    (default 5, env ``REMIT_INBOX_SETTLE_SECONDS``) are left for the next run. Raises
    :class:`~pipeline.lake.lock.LockedError` when another run holds the home's lock.

    ``gate`` (optional, e.g. the quality batch suite) sees the night's parsed tables before anything is
    committed, as ``{table: pyarrow.Table}`` with the parser's columns (only the tables and columns of
    ``gate.columns`` when it has that attribute), and returns the files it refuses
    as ``{file_id: message or dict with "message"}``; those are quarantined like parse failures.
    """
    if settle_seconds is None:
        settle_seconds = get_settings().inbox_settle_seconds
    with run_lock(home):
        run = _Run(
            home,
            Path(inbox).absolute() if inbox else home.inbox,
            workers or os.cpu_count() or 1,
            settle_seconds,
            grace_seconds,
            compact_max_parts,
            gate,
            parser,
        )
        result = run.run()
    log.info("%s", result.summary(), extra={"fields": {"run_id": result.run_id}})
    return result
