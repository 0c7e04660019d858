"""``remit ingest``: load each new inbox file into the Parquet lake exactly once.

The run, under the home's lock:

1. recover: delete whatever a killed run left (staging folder, parts and manifests no state names), then
   delete retired files whose grace period has ended;
2. find new files in the inbox (rule in :func:`discover`), hash them, and sort out byte-identical
   duplicates and non-X12 files without parsing;
3. parse the rest in a process pool; workers send each file's tables back split by payment month (a
   file too big to hold in memory is staged as Parquet under ``lake/_staging/`` instead);
4. in inbox order, batches of ``COMMIT_FILES`` parsed files: the quality gate, if any, sees the batch
   and refuses files (quarantined like parse failures); each other file has its resent transactions
   marked and is recorded in the manifest; the commit writes one part per table and month for the
   batch (its files' rows concatenated in inbox order) before the state file, the commit point, names
   them: a file's rows appear all together or not at all, and the same inbox gives the same parts
   however fast it was parsed;
5. after each commit, move the committed files out of the inbox (``.processed/`` or ``quarantine/``);
6. compact partitions that have too many parts.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import os
import secrets
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing import get_context
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
from pipeline.lake.state import (
    LOADED_STATUSES,
    MANIFEST_SCHEMA,
    STAGING_DIR,
    STATE_FILE,
    LakeState,
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
)
from pipeline.log import get_logger, progress
from pipeline.settings import get_settings
from pipeline.x12.errors import Problem, X12ParseError
from pipeline.x12.schema import TABLES

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
# parsed files per commit (env REMIT_LAKE_COMMIT_FILES): the gate checks them together and a commit writes
# one part per table and month for them, so this sets the parts a night leaves (a 4,000-file night: 8 per
# partition, under the compaction threshold), the work a kill throws away, and the memory a run holds
# (about two batches of parsed rows: the one being committed and the one parsed meanwhile).
COMMIT_FILES = 500
PROCESSED_DIR = ".processed"
RESENT_COLUMN = "resent_of_transaction_id"

# A pre-commit check: the night's parsed tables in, {file_id: why} of the files to refuse out. A gate
# with a ``columns`` attribute ({table: [column, ...]}) is shown only those tables and columns (memory)
Gate = Callable[[dict[str, pa.Table]], Mapping[str, object]]
# Another parsing engine (e.g. Spark, pipeline.engines.spark): the run's parse tasks in inbox order in,
# one ParseOutcome per task out, in the same order (a generator may yield while it still parses). The
# outcomes are what pipeline.lake.worker.parse_task or stage_bytes return.
Parser = Callable[[list[ParseTask]], Iterable[ParseOutcome]]


@dataclass
class IngestResult:
    """What one ``ingest`` run did (file names as found in the inbox)."""

    run_id: str
    loaded: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)
    rejected: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # still being written: left for the next run
    compaction: CompactionStats | None = None
    lake_files: int = 0  # files whose rows the lake holds after the run
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
        phases = ", ".join(f"{name} {sec:.1f}s" for name, sec in self.phase_seconds.items())
        return text + f"; the lake holds {self.lake_files} files ({self.seconds:.1f}s: {phases})"


@dataclass
class _Candidate:
    path: Path
    name: str
    size: int
    file_id: str
    x12: bool


def discover(inbox: Path, settle_seconds: float = SETTLE_SECONDS) -> tuple[list[Path], list[str]]:
    """Files ready to ingest, oldest first, and the names left for later.

    The rule: regular files directly in the inbox (sub-folders are not searched); names starting with
    ``.`` or ``~`` are ignored (hidden, editor and transfer temporaries, and ``.processed/``); names ending
    in ``.part``, ``.tmp``, ``.partial``, ``.filepart``, ``.crdownload``, ``.swp`` or ``.lock``, and files
    modified less than ``settle_seconds`` ago, are still being written and are left for the next run.
    """
    ready: list[tuple[float, str, Path]] = []
    later: list[str] = []
    if not inbox.is_dir():
        return [], []
    now = time.time()
    for entry in os.scandir(inbox):
        name = entry.name
        if name.startswith((".", "~")) or not entry.is_file(follow_symlinks=True):
            continue
        try:
            st = entry.stat(follow_symlinks=True)
        except OSError:  # vanished meanwhile
            continue
        if name.lower().endswith(IN_FLIGHT_SUFFIXES) or now - st.st_mtime < settle_seconds:
            later.append(name)
            continue
        ready.append((st.st_mtime, name, Path(entry.path)))
    ready.sort()
    return [p for _, _, p in ready], sorted(later)


def max_file_bytes() -> int:
    """The largest inbox file a run parses: setting ``REMIT_MAX_FILE_BYTES`` (bytes), default 1 GiB."""
    return get_settings().max_file_bytes


def _hash_and_sniff(path: Path) -> tuple[str, int, bool]:
    """sha256, size, and whether the content starts like X12 (``ISA`` after optional BOM/whitespace)."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            if len(head) < 64:
                head += block[:64]
            digest.update(block)
            size += len(block)
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return digest.hexdigest(), size, head.startswith(b"ISA")


def _unique_dest(folder: Path, name: str, file_id: str, reserved: set[Path]) -> Path:
    """``folder/name``, or ``name.<sha12>`` (then ``.<n>``) when that is taken."""
    # a generator: the usual first candidate is free, so don't build the 1,000 fallbacks each time
    candidates = itertools.chain(
        (folder / name, folder / f"{name}.{file_id[:12]}"),
        (folder / f"{name}.{file_id[:12]}.{n}" for n in range(2, 1000)),
    )
    for dest in candidates:
        if dest not in reserved and not dest.exists() and not Path(f"{dest}.error.json").exists():
            reserved.add(dest)
            return dest
    raise RuntimeError(f"no free name for {name} in {folder}")


def _move_durably(src: Path, dest: Path, mode: int | None = None) -> None:
    """Move ``src`` to ``dest`` (new name), never leaving a moment where neither holds the bytes."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # another filesystem: copy, then delete the source
            raise
        tmp = dest.with_name(f".remit-move-{dest.name}.tmp")
        shutil.copy2(src, tmp)
        fsync_file(tmp)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
        src.unlink()
    if mode is not None:
        os.chmod(dest, mode)
    fsync_dir(dest.parent)
    fsync_dir(src.parent)


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
        self.pending_moves: list[tuple[Path, Path]] = []
        # (file_id, {(table, month): rows in memory, or the path of a part staged on disk})
        self.pending_parts: list[tuple[str, dict[tuple[str, str], pa.Table | str]]] = []
        self.commit_files = get_settings().lake_commit_files
        self.committer: ThreadPoolExecutor | None = None  # the commit thread, while the batches run
        self.committing: Future | None = None
        self.max_file_bytes = max_file_bytes()

    # -- recovery -------------------------------------------------------------------------------
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
            name=cand.name,
            size=cand.size,
            run_id=self.run_id,
            status=status,
            inbox_path=str(cand.path),
            stored_as=str(stored_as) if stored_as else None,
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
        moves: list[tuple[Path, Path]],
    ) -> None:
        self._publish_parts(parts)
        now = utcnow()
        for row in rows:
            row["loaded_at"] = now
        added = pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)
        self.manifest = pa.concat_tables([self.manifest, added])
        self.state.commit(self.lake, manifest=self.manifest)
        for src, dest in moves:
            try:
                _move_durably(src, dest)
            except OSError as exc:  # e.g. a read-only drop folder: the hash keeps it from loading twice
                log.warning("could not move %s to %s: %s (left in place)", src, dest, exc)

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
        dest = _unique_dest(self.home.quarantine, cand.name, cand.file_id, self.reserved)
        error = {**error, "file": cand.name}
        report = {
            **error,
            "file_id": cand.file_id,
            "size": cand.size,
            "inbox_path": str(cand.path),
            "quarantined_as": str(dest),
            "run_id": self.run_id,
            "rejected_at": utcnow().isoformat(),
        }
        err_path = Path(f"{dest}.error.json")
        fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(report, fh, indent=2, default=str)
            fh.write("\n")
        _move_durably(cand.path, dest, mode=0o600)
        error.pop("traceback", None)
        self.pending_rows.append(self._row(cand, "rejected", dest, error=json.dumps(error, default=str)))
        self.result.rejected.append((cand.name, error))
        log.warning("rejected %s: %s", cand.name, error.get("message"), extra={"fields": {"file": cand.name}})

    def duplicate(self, cand: _Candidate) -> None:
        dest = self.processed_dest(cand)
        self.pending_rows.append(self._row(cand, "duplicate", dest))
        self.pending_moves.append((cand.path, dest))
        self.result.duplicates.append(cand.name)
        log.info("duplicate %s: same bytes as a file already loaded (%s)", cand.name, cand.file_id[:12])

    def load(self, cand: _Candidate, out: ParseOutcome) -> None:
        """Mark resends, stage the payments parts, and queue the file's parts for the next commit."""
        pay = out.payments
        assert pay is not None
        marks: list[str | None] = []
        for row in pay.select(
            ["transaction_id", "payer_id", "payer_identifier", "payer_name", "trace_number", "payment_amount"]
        ).to_pylist():
            key = resend_key(row)
            original = self.originals.get(key) if key else None
            if key and original is None:
                self.originals[key] = row["transaction_id"]
            marks.append(original)
        months = pay.column("payment_month")
        pay = pay.drop_columns(["payment_month"]).append_column(RESENT_COLUMN, pa.array(marks, pa.string()))
        parts: dict[tuple[str, str], pa.Table | str] = {**out.staged, **out.parts}
        for month in pc.unique(months).to_pylist():
            parts[("payments", month)] = pay.filter(pc.equal(months, month))
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
                payment_months=sorted(set(months.to_pylist())),
                **{f"rows_{name}": out.rows.get(name, 0) for name in TABLES},
            )
        )
        self.pending_moves.append((cand.path, dest))
        (self.result.resent if status == "resent" else self.result.loaded).append(cand.name)
        log.info(
            "%s %s: %d transactions (%d resent), %d claims",
            status,
            cand.name,
            pay.num_rows,
            n_resent,
            out.rows.get("claims", 0),
            extra={"fields": {"file": cand.name, "file_id": cand.file_id, "status": status}},
        )

    # -- the run --------------------------------------------------------------------------------
    def _originals(self) -> dict[tuple[str, str, Decimal], str]:
        """Resend index over the lake: key -> transaction_id of the first transaction with that key."""
        index: dict[tuple[str, str, Decimal], str] = {}
        cols = ["transaction_id", "payer_id", "payer_identifier", "payer_name", "trace_number"]
        cols += ["payment_amount", RESENT_COLUMN]
        for rel in self.state.parts["payments"]:
            table = pq.read_table(self.lake / rel, columns=cols)
            for row in table.to_pylist():
                key = resend_key(row)
                if key and row[RESENT_COLUMN] is None:
                    index.setdefault(key, row["transaction_id"])
        return index

    def run(self) -> IngestResult:
        started = time.monotonic()
        self.home.ensure()
        self.lake.mkdir(parents=True, exist_ok=True)
        self.state = LakeState.load(self.lake)
        self.recover()
        self.manifest = self.state.read_manifest(self.lake)
        self.entry = int(pc.max(self.manifest.column("entry")).as_py() or 0) if self.manifest.num_rows else 0
        self.originals = self._originals()

        done = {}  # file_id -> manifest rows (status loaded/resent/duplicate) for interrupted moves
        for row in self.manifest.select(["file_id", "status", "inbox_path", "stored_as"]).to_pylist():
            if row["status"] in (*LOADED_STATUSES, "duplicate"):
                done.setdefault(row["file_id"], []).append(row)
        loaded_ids = {fid for fid, rows in done.items() if any(r["status"] in LOADED_STATUSES for r in rows)}

        if self.inbox.is_dir():  # raw remittances are kept there: owner-only, like quarantine/
            processed = self.inbox / PROCESSED_DIR
            try:
                processed.mkdir(mode=0o700, exist_ok=True)
                os.chmod(processed, 0o700)
            except OSError as exc:  # a read-only drop folder: files stay in place anyway
                log.debug("cannot make %s owner-only: %s", processed, exc)
        paths, later = discover(self.inbox, self.settle)
        self.result.skipped = later
        if later:
            log.info("left %d files still being written in the inbox: %s", len(later), ", ".join(later[:5]))
        tasks: list[tuple[_Candidate, ParseTask]] = []
        twins: dict[str, list[_Candidate]] = {}  # same bytes twice in one inbox: decided by the first
        secret = self.home.patient_key_secret()
        for path in paths:
            try:
                file_id, size, x12 = _hash_and_sniff(path)
            except FileNotFoundError:
                continue  # taken away meanwhile
            except OSError as exc:  # e.g. unreadable (permissions): leave it, say so, go on
                log.warning("cannot read %s: %s; left in the inbox", path.name, exc)
                self.result.skipped.append(path.name)
                continue
            cand = _Candidate(path, path.name, size, file_id, x12)
            if file_id in loaded_ids:
                unfinished = [
                    r for r in done[file_id]
                    if r["inbox_path"] == str(path) and r["stored_as"] and not Path(r["stored_as"]).exists()
                ]  # fmt: skip
                if unfinished:  # committed by a run killed before it moved the file: finish the move
                    try:
                        _move_durably(path, Path(unfinished[0]["stored_as"]))
                        log.info("moved %s, recorded by an interrupted run", path.name)
                    except OSError as exc:  # e.g. a read-only drop folder: already loaded, leave it
                        log.debug("%s is loaded; could not move it: %s", path.name, exc)
                else:
                    self.duplicate(cand)
            elif file_id in twins:
                twins[file_id].append(cand)
            elif not x12:
                what = "empty file" if size == 0 else "not an X12 file: it does not start with an ISA segment"
                self.reject(cand, X12ParseError(cand.name, [Problem(what, 1, 0, None)]).as_dict())
            elif size > self.max_file_bytes:
                what = (
                    f"file too large: {size:,} bytes, over the limit of {self.max_file_bytes:,} bytes "
                    "(REMIT_MAX_FILE_BYTES); not parsed. The parser holds a whole file in memory: raise "
                    "the limit if the machine has the memory, or ask the sender to split the file"
                )
                self.reject(cand, X12ParseError(cand.name, [Problem(what, None, 0, None)]).as_dict())
            else:
                twins[file_id] = []
                task = ParseTask(
                    path=str(path),
                    name=cand.name,
                    file_id=file_id,
                    staging=self._staging_of(cand),
                    secret=secret,
                    chunk_threshold=CHUNK_THRESHOLD,
                    max_chunk_bytes=MAX_CHUNK_BYTES,
                )
                tasks.append((cand, task))
        self.commit()

        # a batch of COMMIT_FILES parsed files (inbox order) is gated, recorded and committed together
        batch: list[tuple[_Candidate, ParseOutcome]] = []
        phases = self.result.phase_seconds
        self.committer = ThreadPoolExecutor(1, thread_name_prefix="remit-commit")
        try:
            waited = time.monotonic()
            for item in progress(self._parse_all(tasks), len(tasks), "ingest"):
                phases["parse"] += time.monotonic() - waited
                batch.append(item)
                if len(batch) >= self.commit_files:
                    self._settle(batch, twins)
                    batch = []
                waited = time.monotonic()
            self._settle(batch, twins)
            waited = time.monotonic()
            self.wait_commit()
            phases["commit"] += time.monotonic() - waited
        finally:  # never leave a commit running behind the lock's release
            self.committer.shutdown(wait=True)
            self.committer = None
        shutil.rmtree(self.lake / STAGING_DIR, ignore_errors=True)  # ours alone: we hold the lock

        self.result.compaction = compact(self.lake, self.state, max_parts=self.max_parts)
        manifest = self.manifest.filter(pc.is_in(self.manifest.column("status"), pa.array(LOADED_STATUSES)))
        self.result.lake_files = manifest.num_rows
        self.result.seconds = time.monotonic() - started
        return self.result

    def _staging_of(self, cand: _Candidate) -> str:
        return str(self.lake / STAGING_DIR / self.run_id / cand.file_id[:32])

    def _settle(
        self, batch: list[tuple[_Candidate, ParseOutcome]], twins: dict[str, list[_Candidate]]
    ) -> None:
        """Gate one batch of parsed files, load or quarantine each (inbox order), and commit them."""
        t0 = time.monotonic()
        verdicts = self._ask_gate(batch) if self.gate is not None else {}
        t1 = time.monotonic()
        self.result.phase_seconds["gate"] += t1 - t0
        for cand, out in batch:
            if out.error is None and not out.changed and cand.file_id in verdicts:
                shutil.rmtree(Path(self._staging_of(cand)), ignore_errors=True)
                out.error = verdicts[cand.file_id]
                out.parts, out.staged = {}, {}
            if out.changed:
                self.result.skipped.append(cand.name)
                log.warning("%s changed or vanished while being read; left for the next run", cand.name)
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
        self.result.phase_seconds["commit"] += time.monotonic() - t1

    def _ask_gate(self, batch: list[tuple[_Candidate, ParseOutcome]]) -> dict[str, dict[str, object]]:
        """Show the gate a batch's parsed tables; return an error dict per file it refuses."""
        parsed = [(c, o) for c, o in batch if o.error is None and not o.changed]
        if not parsed:
            return {}
        wanted: Mapping[str, list[str]] | None = getattr(self.gate, "columns", None)
        tables: dict[str, pa.Table] = {}
        for name, schema in TABLES.items():
            if wanted is not None and name not in wanted:
                continue
            cols = list(wanted[name]) if wanted is not None else None
            pieces = []
            for _cand, out in parsed:
                if name == "payments":
                    pay = out.payments.drop_columns(["payment_month"])
                    pieces.append(pay.select(cols) if cols is not None else pay)
                    continue
                for (t, _m), part in sorted(out.parts.items()):
                    if t == name:
                        pieces.append(part.select(cols) if cols is not None else part)
                for (t, _m), path in sorted(out.staged.items()):
                    if t == name:
                        pieces.append(pq.read_table(path, columns=cols))
            empty = schema.empty_table()
            tables[name] = (
                pa.concat_tables(pieces, promote_options="permissive")
                if pieces
                else (empty.select(cols) if cols is not None else empty)
            )
        refused = self.gate(tables) or {}
        verdicts: dict[str, dict[str, object]] = {}
        names = {c.file_id: c.name for c, _ in parsed}
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
        n = min(self.workers, len(tasks))
        # starting parser processes costs seconds (interpreter + imports); a small night parses faster
        # in this process than the pool would start
        small = sum(c.size for c, _ in tasks) < get_settings().lake_pool_min_bytes
        if n <= 1 or small:
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
        ahead = max(4 * n, self.commit_files // GROUP_FILES)
        # spawn: workers must not inherit the run lock's descriptor or the parent's threads
        with ProcessPoolExecutor(n, mp_context=get_context("spawn"), initializer=_die_with_parent) as pool:
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
