"""``parse_files`` (``remit parse``): 835 and 837 files parsed into one Parquet file per table.

The parsers stay pure (bytes in, Arrow out); this module is the writing path around them: each piece's
tables go to a writer thread while the parser works on the next pieces, gathered into row groups of
about ``ROW_GROUP_ROWS`` rows, whole-or-nothing per file (docs/parser.md, "API").
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.x12 import schema
from pipeline.x12.errors import Problem, X12ParseError
from pipeline.x12.parser import parse_835_chunks


@dataclass
class ParseFilesResult:
    """What ``parse_files`` did."""

    parsed: int = 0
    rejected: list[X12ParseError] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=lambda: {name: 0 for name in schema.REMITTANCE_TABLES})


# Columns whose values are (nearly) all different: a dictionary page for them is built, found too big and
# thrown away for every row group (a fifth of the writing time), so they are written plain.
_UNIQUE_COLUMNS = frozenset(
    {
        "patient_key",
        "patient_control_number",
        "payer_claim_control_number",
        "line_control_number",
        "value_key",
    }
)

# Rows gathered into one row group (a 4 MiB piece gives ~8,000 claims or ~40,000 CAS triples; a
# clearinghouse's file often a few hundred): fewer, larger row groups cost less to write (one dictionary,
# one set of pages and statistics per column per group, and a smaller footer) and to read. A group may
# hold several files' rows: a rejected file's rows are taken out again by row count (``rollback``).
ROW_GROUP_ROWS = 1 << 16
# Files up to this size are read and parsed whole on the loading threads, several at a time (each is one
# piece, so the parser uses no threads of its own for it); larger ones are parsed in pieces as they are
# written, by the parser's own worker threads.
SMALL_FILE = 4 << 20
LOOKAHEAD = 4  # groups of small files (``_groups``) parsed ahead of the one being written (bounds memory)
GROUP_FILES = 8  # consecutive small 835s parsed in one call (parse_835_group: less per-file cost)


def dictionary_columns(sch: pa.Schema) -> list[str]:
    """The columns written with a dictionary: the string columns, but the (nearly) unique ones.

    Numbers, dates and flags are written plain: a dictionary saved them ~8 % of the file size but cost a
    third of the writing time, mostly on the columns that are null in most files (dictionary-encoding an
    all-null column is not free), measured on the bench's 109 MB file.
    """
    return [f.name for f in sch if f.name not in _UNIQUE_COLUMNS and pa.types.is_string(f.type)]


class _TableSink:
    """``out_dir/<table>.parquet`` written by a thread of its own while the next pieces are parsed
    (Parquet encoding and compression release the GIL), whole-or-nothing per file: ``rollback`` takes the
    rows of a rejected file out again (pieces not written yet are dropped; in the rare case where some
    were written, each table they went to is rewritten up to the rows before the file)."""

    def __init__(self, out_dir: Path, depth: int = 16):
        self.out_dir = out_dir
        # the 835 tables' files always exist; the 837 tables' once an 837 brought rows (``_run``)
        self.writers = {name: self._open(name) for name in schema.REMITTANCE_TABLES}
        self.written = dict.fromkeys(schema.REMITTANCE_TABLES, 0)  # rows in each table's file
        self.pending: dict[str, list[pa.Table]] = {}  # each table's pieces not written yet, in order
        self.marks: dict[str, int] = {}  # rows of each table before the current file (``begin``)
        self.error: BaseException | None = None
        self.queue: queue.Queue = queue.Queue(depth)  # bounds the tables waiting in memory
        self.thread = threading.Thread(target=self._run, name="remit-parquet-writer", daemon=True)
        self.thread.start()

    def _open(self, name: str, path: Path | None = None) -> pq.ParquetWriter:
        sch = schema.TABLES[name]
        return pq.ParquetWriter(
            path or self.out_dir / f"{name}.parquet", sch, use_dictionary=dictionary_columns(sch)
        )

    def _rows(self, name: str) -> int:
        """Rows of a table put so far (written or pending)."""
        return self.written.get(name, 0) + sum(t.num_rows for t in self.pending.get(name, ()))

    def _flush(self, name: str) -> None:
        """Write a table's pending pieces as one row group (without joining them: Arrow writes each
        chunk of a column in turn)."""
        pieces = self.pending.pop(name, None)
        if not pieces:
            return
        if name not in self.writers:
            self.writers[name] = self._open(name)
            self.written[name] = 0
        table = pa.concat_tables(pieces)
        self.writers[name].write_table(table, row_group_size=table.num_rows)
        self.written[name] += table.num_rows

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is None:  # ``close``
                    if self.error is None:
                        for name in list(self.pending):
                            self._flush(name)
                    return
                name, table = item
                if self.error is not None:
                    continue
                if name is None:  # a file starts here (``begin``)
                    self.marks = {n: self._rows(n) for n in self.written.keys() | self.pending.keys()}
                else:
                    pieces = self.pending.setdefault(name, [])
                    pieces.append(table)
                    if sum(t.num_rows for t in pieces) >= ROW_GROUP_ROWS:  # a few dozen pieces at most
                        self._flush(name)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the parsing thread
                self.error = exc
            finally:
                self.queue.task_done()

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def begin(self) -> None:
        """A new file starts: what is put from here on belongs to it (the previous files' tables may
        still be being written meanwhile)."""
        self._check()
        self.queue.put((None, None))

    def put(self, name: str, table: pa.Table) -> None:
        self._check()
        if table.num_rows:
            self.queue.put((name, table))

    def rollback(self) -> None:
        """Remove the rows put since the last ``begin``."""
        self.queue.join()  # the writer is idle until the next put
        self._check()
        for name in list(self.written.keys() | self.pending.keys()):
            keep = self.marks.get(name, 0)
            if self.written.get(name, 0) <= keep:  # the file's rows are all pending: drop them
                pieces, rows = [], self.written.get(name, 0)
                for t in self.pending.get(name, ()):
                    if rows >= keep:
                        break
                    pieces.append(t)
                    rows += t.num_rows
                self.pending[name] = pieces
                continue
            self.pending.pop(name, None)  # a flush wrote every piece before the file's: the rest is its
            self._rewrite(name, keep)

    def _rewrite(self, name: str, keep: int) -> None:
        """Rewrite a table's file with its first ``keep`` rows (row groups as they were, the last one
        cut)."""
        path = self.out_dir / f"{name}.parquet"
        self.writers[name].close()
        if keep == 0 and name not in schema.REMITTANCE_TABLES:  # only the rejected file had rows
            path.unlink()
            del self.writers[name], self.written[name]
            return
        old = path.with_name(path.name + ".rollback")
        os.replace(path, old)
        self.writers[name] = self._open(name, path)
        f = pq.ParquetFile(old)
        rows = 0
        for i in range(f.metadata.num_row_groups):
            if rows >= keep:
                break
            group = f.read_row_group(i)
            group = group.slice(0, keep - rows)
            self.writers[name].write_table(group, row_group_size=max(group.num_rows, 1))
            rows += group.num_rows
        f.close()
        old.unlink()
        self.written[name] = keep

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        for w in self.writers.values():
            w.close()
        self._check()


@dataclass
class _Loaded:
    """A small file read and parsed on a loading thread (its pieces, or its error), or a large one left
    for the writing loop (``pieces`` and ``error`` None)."""

    path: Path
    pieces: list | None = None
    error: X12ParseError | None = None


def _read(path: Path) -> bytes | X12ParseError:
    try:
        return path.read_bytes()
    except OSError as exc:
        return X12ParseError(str(path), [Problem(f"cannot read the file: {exc}")])


def _parse_whole(path: Path, data: bytes, secret: bytes | None) -> list | None:
    """A small file's pieces (an 837's table pair, or an 835's six tables); None for a large one (parsed
    as it is written)."""
    from pipeline.x12 import parser837

    if len(data) > SMALL_FILE:
        return None
    if parser837.transaction_set(data) == "837":  # claims submitted: their own two tables
        return [parser837.parse_837(data, path.name, patient_key_secret=secret)]
    return list(parse_835_chunks(data, path.name, patient_key_secret=secret))


def _large(path: Path, secret: bytes | None) -> Iterator:
    """A large file's pieces: read when its turn comes (its bytes live as long as this generator), parsed
    in pieces cut at ST boundaries as they are written (an 835's by the parser's own worker threads)."""
    from pipeline.x12 import parser837

    data = _read(path)
    if isinstance(data, X12ParseError):
        raise data
    pieces = _parse_whole(path, data, secret)
    if pieces is None:
        chunks = parser837.parse_837_chunks if parser837.transaction_set(data) == "837" else parse_835_chunks
        pieces = chunks(data, path.name, patient_key_secret=secret)
    yield from pieces


def _load(path: Path, secret: bytes | None, data: bytes | X12ParseError | None = None) -> _Loaded:
    """Read (unless ``data`` was read already) and parse a file of at most ``SMALL_FILE`` bytes (runs on
    a loading thread: the compiled core releases the GIL, so two files parse at once). A larger file is
    not read here: the files loaded ahead never hold more than a few small files' bytes."""
    if data is None:
        try:
            large = path.stat().st_size > SMALL_FILE
        except OSError:
            large = False  # reading it gives the error
        if large:
            return _Loaded(path)
        data = _read(path)
    if isinstance(data, X12ParseError):
        return _Loaded(path, error=data)
    try:
        return _Loaded(path, pieces=_parse_whole(path, data, secret))
    except X12ParseError as exc:
        return _Loaded(path, error=exc)


def _groups(paths: list[Path]) -> Iterator[list[Path]]:
    """``paths`` in order, cut into groups of at most ``GROUP_FILES`` files that end once they hold
    ``SMALL_FILE`` bytes: the groups loaded ahead hold a few small files' bytes, as single files did."""
    group: list[Path] = []
    size = 0
    for path in paths:
        group.append(path)
        with contextlib.suppress(OSError):  # (reading it gives the error)
            size += path.stat().st_size
        if len(group) >= GROUP_FILES or size >= SMALL_FILE:
            yield group
            group, size = [], 0
    if group:
        yield group


def _load_group(paths: list[Path], secret: bytes | None) -> list[_Loaded]:
    """``_load`` for a few consecutive files, the small 835s among them parsed in one call
    (``parse_835_group``: the same tables, less per-file cost), or each alone when they cannot be (a
    bad file among them is then named by its own parse)."""
    from pipeline.x12.parser import parse_835_together

    datas: list[bytes | X12ParseError | None] = []
    for path in paths:
        try:
            small = path.stat().st_size <= SMALL_FILE
        except OSError:
            small = False  # ``_load`` gives the error
        datas.append(_read(path) if small else None)
    parsed = parse_835_together(
        [d if isinstance(d, bytes) else None for d in datas],
        [path.name for path in paths],
        patient_key_secret=secret,
    )
    return [
        _Loaded(path, pieces=[parsed[i]]) if i in parsed else _load(path, secret, datas[i])
        for i, path in enumerate(paths)
    ]


def parse_files(paths: list[Path], out_dir: Path, *, secret: bytes | None) -> ParseFilesResult:
    """Parse each file and write ``out_dir/<table>.parquet`` for every table over the good files.

    A file that fails contributes nothing (all or nothing per file); its error is in ``rejected``. An 837
    (ST01 = 837, read by ``parse_837``) adds ``submitted_claims.parquet`` and ``submitted_lines.parquet``;
    the 835 tables are written whatever the files are. Rows are written in the order of ``paths``.

    Small files are read and parsed on two loading threads, in groups (``_groups``: the small 835s of a
    group in one call), a few groups ahead of the one being written; a large one is parsed in pieces by
    the parser's own two worker threads. Each file's tables are handed to a writer thread
    (``_TableSink``) while the next files or pieces are parsed.
    """
    from pipeline.x12.parser import _worker_threads, warm_up

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    warm_up()  # once, before the loading threads start
    result = ParseFilesResult()
    sink = _TableSink(out_dir)
    loading: deque[Future] = deque()
    todo = _groups([Path(p) for p in paths])
    ready: deque[_Loaded] = deque()  # the files of the group being written
    with ThreadPoolExecutor(_worker_threads(), thread_name_prefix="remit-parse-load") as pool:
        try:
            while True:
                while len(loading) < LOOKAHEAD:
                    group = next(todo, None)
                    if group is None:
                        break
                    loading.append(pool.submit(_load_group, group, secret))
                if not ready:
                    if not loading:
                        break
                    ready.extend(loading.popleft().result())
                    continue
                loaded = ready.popleft()
                if loaded.error is not None:
                    result.rejected.append(loaded.error)
                    continue
                sink.begin()
                rows = dict.fromkeys(schema.REMITTANCE_TABLES, 0)
                try:
                    pieces = loaded.pieces if loaded.pieces is not None else _large(loaded.path, secret)
                    for piece in pieces:
                        for name, table in piece.tables().items():
                            sink.put(name, table)
                            rows[name] = rows.get(name, 0) + table.num_rows
                except X12ParseError as exc:
                    sink.rollback()
                    result.rejected.append(exc)
                    continue
                for name, n in rows.items():
                    result.row_counts[name] = result.row_counts.get(name, 0) + n
                result.parsed += 1
        finally:
            for future in loading:
                future.cancel()
            sink.close()
    return result


__all__ = ["ParseFilesResult", "ROW_GROUP_ROWS", "dictionary_columns", "parse_files"]
