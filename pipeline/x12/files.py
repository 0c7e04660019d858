"""``parse_files`` (``remit parse``): 835 and 837 files parsed into one Parquet file per table.

The parsers stay pure (bytes in, Arrow out); this module is the writing path around them: each piece's
tables go to a writer thread while the parser works on the next pieces, gathered into row groups of
about ``ROW_GROUP_ROWS`` rows, whole-or-nothing per file (docs/parser.md, "API").
"""

from __future__ import annotations

import os
import queue
import threading
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

# Rows gathered into one row group (a file's pieces of 4 MiB give ~8,000 claims or ~40,000 CAS triples
# each): fewer, larger row groups cost less to write (one dictionary, one set of pages and statistics
# per column per group) and read; a row group never spans two files, so a rejected file's groups can be
# taken out again.
ROW_GROUP_ROWS = 1 << 16


def dictionary_columns(sch: pa.Schema) -> list[str]:
    """The columns written with a dictionary: the string columns, but the (nearly) unique ones.

    Numbers, dates and flags are written plain: a dictionary saved them ~8 % of the file size but cost a
    third of the writing time, mostly on the columns that are null in most files (dictionary-encoding an
    all-null column is not free), measured on the bench's 109 MB file.
    """
    return [f.name for f in sch if f.name not in _UNIQUE_COLUMNS and pa.types.is_string(f.type)]


class _TableSink:
    """``out_dir/<table>.parquet`` written by a thread of its own while the next pieces are parsed
    (Parquet encoding and compression release the GIL), whole-or-nothing per file: ``rollback`` takes a
    rejected file's row groups out again (the rare case: each table it touched is rewritten without
    them)."""

    def __init__(self, out_dir: Path, depth: int = 16):
        self.out_dir = out_dir
        # the 835 tables' files always exist; the 837 tables' once an 837 brought rows (``_run``)
        self.writers = {name: self._open(name) for name in schema.REMITTANCE_TABLES}
        self.groups = dict.fromkeys(schema.REMITTANCE_TABLES, 0)  # row groups written per table
        self.marks = dict(self.groups)
        self.pending: dict[str, list[pa.Table]] = {}  # a table's pieces not written yet (this file's)
        self.error: BaseException | None = None
        self.queue: queue.Queue = queue.Queue(depth)  # bounds the tables waiting in memory
        self.thread = threading.Thread(target=self._run, name="remit-parquet-writer", daemon=True)
        self.thread.start()

    def _open(self, name: str, path: Path | None = None) -> pq.ParquetWriter:
        sch = schema.TABLES[name]
        return pq.ParquetWriter(
            path or self.out_dir / f"{name}.parquet", sch, use_dictionary=dictionary_columns(sch)
        )

    def _flush(self, name: str) -> None:
        """Write a table's pending pieces as one row group (without joining them: Arrow writes each
        chunk of a column in turn)."""
        pieces = self.pending.pop(name, None)
        if not pieces:
            return
        if name not in self.writers:
            self.writers[name] = self._open(name)
            self.groups[name] = 0
        table = pa.concat_tables(pieces)
        self.writers[name].write_table(table, row_group_size=table.num_rows)
        self.groups[name] += 1

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is None:  # ``close``: the last file's last pieces
                    if self.error is None:
                        for name in list(self.pending):
                            self._flush(name)
                    return
                name, table = item
                if self.error is not None:
                    continue
                if name is None:  # a file starts here (``begin``): the previous one's last pieces first
                    for pending in list(self.pending):
                        self._flush(pending)
                    self.marks = dict(self.groups)
                else:
                    pieces = self.pending.setdefault(name, [])
                    pieces.append(table)
                    if sum(t.num_rows for t in pieces) >= ROW_GROUP_ROWS:  # a few pieces: cheap
                        self._flush(name)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the parsing thread
                self.error = exc
            finally:
                self.queue.task_done()

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def begin(self) -> None:
        """A new file starts: what is put from here on belongs to it (the previous file's tables may
        still be being written meanwhile)."""
        self._check()
        self.queue.put((None, None))

    def put(self, name: str, table: pa.Table) -> None:
        self._check()
        if table.num_rows:
            self.queue.put((name, table))

    def rollback(self) -> None:
        """Remove the rows put since the last ``begin``: pieces not written yet are dropped, row
        groups written are taken out of their files."""
        self.queue.join()  # the writer is idle until the next put
        self._check()
        self.pending.clear()
        for name, written in list(self.groups.items()):
            kept = self.marks.get(name, 0)
            if written == kept:
                continue
            path = self.out_dir / f"{name}.parquet"
            self.writers[name].close()
            if kept == 0 and name not in schema.REMITTANCE_TABLES:  # only the rejected file had rows
                path.unlink()
                del self.writers[name], self.groups[name]
                continue
            old = path.with_name(path.name + ".rollback")
            os.replace(path, old)
            self.writers[name] = self._open(name, path)
            f = pq.ParquetFile(old)
            for i in range(kept):
                self.writers[name].write_table(f.read_row_group(i))
            f.close()
            old.unlink()
            self.groups[name] = kept

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        for w in self.writers.values():
            w.close()
        self._check()


def parse_files(paths: list[Path], out_dir: Path, *, secret: bytes | None) -> ParseFilesResult:
    """Parse each file and write ``out_dir/<table>.parquet`` for every table over the good files.

    A file that fails contributes nothing (all or nothing per file); its error is in ``rejected``. An 837
    (ST01 = 837, read by ``parse_837``) adds ``submitted_claims.parquet`` and ``submitted_lines.parquet``;
    the 835 tables are written whatever the files are. Each piece's tables are handed to a writer thread
    as soon as the piece is parsed, while the parser works on the next pieces (``_TableSink``).
    """
    from pipeline.x12 import parser837

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ParseFilesResult()
    sink = _TableSink(out_dir)
    try:
        for path in paths:
            path = Path(path)
            try:
                data = path.read_bytes()
            except OSError as exc:
                result.rejected.append(X12ParseError(str(path), [Problem(f"cannot read the file: {exc}")]))
                continue
            sink.begin()
            rows = dict.fromkeys(schema.REMITTANCE_TABLES, 0)
            try:
                if parser837.transaction_set(data) == "837":  # claims submitted: their own two tables
                    pieces = iter([parser837.parse_837(data, path.name, patient_key_secret=secret)])
                else:
                    pieces = parse_835_chunks(data, path.name, patient_key_secret=secret)
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
        sink.close()
    return result


__all__ = ["ParseFilesResult", "ROW_GROUP_ROWS", "dictionary_columns", "parse_files"]
