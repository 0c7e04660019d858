"""Parse one inbox file into its tables split by payment month (runs in a worker process).

A worker never touches the live lake. It returns the file's parts in memory (``out.parts``), or, for a
file too big for that and on Spark's executors, writes them to
``_staging/<run>/<file>/<table>/<month>.parquet`` and returns where they are (``out.staged``); with
them the row counts and the file's payments (one row per transaction). The parent process decides
about resends and quality and makes the parts live in one commit.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import signal
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.x12.errors import Problem, X12ParseError

if TYPE_CHECKING:
    from pipeline.x12.parser import Remittance835

UNKNOWN_MONTH = "unknown"  # partition for transactions with neither BPR16 nor DTM*405


@dataclass(frozen=True)
class ParseTask:
    """What a worker needs to parse one file."""

    path: str
    name: str
    file_id: str  # sha256 computed when the file was found; the worker checks the bytes still match
    staging: str  # folder for this file's staged parts
    secret: bytes | None
    chunk_threshold: int  # files larger than this are parsed with parse_835_chunks
    max_chunk_bytes: int


@dataclass
class ParseOutcome:
    """What came of one file: staged parts, or an error, or "changed while we read it"."""

    name: str
    file_id: str
    error: dict[str, object] | None = None
    changed: bool = False
    payments: pa.Table | None = None  # parser columns + payment_month
    staged: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, month) -> path on disk
    parts: dict[tuple[str, str], pa.Table] = field(default_factory=dict)  # (table, month) -> rows in memory
    # (table, month) -> (Arrow file, first row, rows): parts on their way from a pool process (``ship``)
    shipped: dict[tuple[str, str], tuple[str, int, int]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    # what the file is: "835" (payments and the other remittance tables) or "837" (submitted claims);
    # for an 837 the manifest's transactions, payers and months come from these (it has no payments)
    kind: str = "835"
    transactions: int = 0
    payer_ids: list[str] = field(default_factory=list)
    payer_names: list[str] = field(default_factory=list)
    months: list[str] = field(default_factory=list)


def submission_months(claims: pa.Table) -> pa.Array:
    """``YYYY-MM`` of each submitted claim's BHT04 submission_date, else ``unknown``: the month an 837's
    rows are partitioned by (the lake's partition column is ``payment_month`` for every table)."""
    if claims.num_rows == 0:
        return pa.array([], pa.string())
    month = pc.strftime(claims.column("submission_date"), format="%Y-%m")
    return pc.fill_null(month, UNKNOWN_MONTH).combine_chunks()


def payment_months(payments: pa.Table) -> pa.Array:
    """``YYYY-MM`` of BPR16 payment_date, else of DTM*405 production_date, else ``unknown``."""
    if payments.num_rows == 0:
        return pa.array([], pa.string())
    date = pc.coalesce(payments.column("payment_date"), payments.column("production_date"))
    month = pc.strftime(date, format="%Y-%m")
    return pc.fill_null(month, UNKNOWN_MONTH).combine_chunks()


def _months_for(table: pa.Table, column: str, parents: pa.Array, months: pa.Array) -> pa.Array:
    """The month of each row of a child table, looked up through its ``column`` (``transaction_ordinal``
    or ``claim_number``) among its ``parents``' values (one file's: the file key is the same)."""
    idx = pc.index_in(table.column(column), value_set=parents)
    if idx.null_count:
        raise RuntimeError(f"parser returned rows whose {column} is not among the file's")
    return pc.take(months, idx).combine_chunks() if table.num_rows else pa.array([], pa.string())


def warm_worker() -> int:
    """Pool task: load the parser and its compiled core in this worker now (``warm_up``), so that the
    first files it is given do not wait for them; returns the worker's pid."""
    from pipeline.x12.parser import warm_up  # imported in the worker only

    warm_up()
    return os.getpid()


def _die_with_parent() -> None:
    """Pool initializer: on Linux, ask to be killed if the ingest process dies (e.g. SIGKILL)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class PartWriters:
    """One Parquet writer per (table, month), each under a temporary name until ``commit``.

    Parts are streamed piece by piece (bounded memory for big, chunk-parsed files) and renamed into place
    only when the whole file parsed, so a retried task (a Spark executor, a rerun) writing the same file
    meanwhile cannot leave a half-written part.
    """

    def __init__(self, staging: Path):
        self.staging = staging
        self.open: dict[tuple[str, str], tuple[pq.ParquetWriter, Path, Path]] = {}

    def write(self, key: tuple[str, str], table: pa.Table) -> None:
        if key not in self.open:
            final = self.staging / key[0] / f"{key[1]}.parquet"
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
            self.open[key] = (pq.ParquetWriter(tmp, table.schema), tmp, final)
        writer = self.open[key][0]
        writer.write_table(table.cast(writer.schema) if table.schema != writer.schema else table)

    def commit(self) -> dict[tuple[str, str], str]:
        staged = {}
        for key, (writer, tmp, final) in self.open.items():
            writer.close()
            os.replace(tmp, final)
            staged[key] = str(final)
        self.open = {}
        return staged

    def discard(self) -> None:
        for writer, tmp, _ in self.open.values():
            writer.close()
            tmp.unlink(missing_ok=True)
        self.open = {}


def _read(task: ParseTask) -> bytes | None:
    """The file's bytes, or None when it vanished or changed since it was hashed (next run takes it)."""
    try:  # never through a link (a file swapped for one since it was hashed)
        fd = os.open(task.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, "rb") as fh:
            data = fh.read()
    except OSError:  # taken away or made unreadable since it was hashed: the next run will see
        return None
    if hashlib.sha256(data).hexdigest() != task.file_id:
        return None  # the file changed since it was hashed: still being written
    return data


def _read_and(parse: Callable[[bytes, ParseTask], ParseOutcome], task: ParseTask) -> ParseOutcome:
    """``parse(bytes, task)`` on the file's bytes, or "changed" when they are not the hashed ones."""
    data = _read(task)
    if data is None:
        return ParseOutcome(name=task.name, file_id=task.file_id, changed=True)
    return parse(data, task)


def parse_task(task: ParseTask) -> ParseOutcome:
    """Read and parse ``task.path`` (see :func:`parse_bytes`), in this process."""
    return _read_and(parse_bytes, task)


def parse_tasks_in_worker(tasks: list[ParseTask], staging: str) -> list[ParseOutcome]:
    """:func:`parse_task` for a few files in a pool process; their parts travel back as Arrow files.

    The local engine gives a worker several small files at a time: every task and every file written
    costs on top of the parsing, the small 835s are parsed in one call (``parse_tasks``: about 1.5 ms a
    typical file instead of 2.6), and ``ship`` writes one Arrow file per table and month for all of them.
    """
    return ship(parse_tasks(tasks), Path(staging))


def parse_tasks(tasks: list[ParseTask]) -> list[ParseOutcome]:
    """:func:`parse_task` for each of ``tasks``, in order; the small 835s among them parsed in one call
    (``parse_835_group``: the same tables, for about 1 ms less per typical file), or each alone when
    they cannot be parsed together (a bad file among them: then each is parsed and judged alone)."""
    from pipeline.x12.parser import parse_835_together

    datas = [_read(task) for task in tasks]
    # a big file is parsed in pieces, alone; a task with another secret would get the group's keys
    small = [
        None if data is None or len(data) > task.chunk_threshold or task.secret != tasks[0].secret else data
        for task, data in zip(tasks, datas, strict=True)
    ]
    parsed = parse_835_together(
        small,
        [task.name for task in tasks],
        patient_key_secret=tasks[0].secret if tasks else None,
        file_ids=[task.file_id for task in tasks],
    )
    outcomes = []
    for i, (task, data) in enumerate(zip(tasks, datas, strict=True)):
        if data is None:
            outcomes.append(ParseOutcome(name=task.name, file_id=task.file_id, changed=True))
        elif i in parsed:
            outcomes.append(_parse(data, task, None, parsed[i]))
        else:
            outcomes.append(parse_bytes(data, task))
    return outcomes


SHIPPED_SUFFIX = ".arrow"
PAYMENTS_KEY = ("payments", "")  # ``out.payments`` (every month, with payment_month) among the shipped


def ship(outcomes: list[ParseOutcome], staging: Path) -> list[ParseOutcome]:
    """Move the outcomes' in-memory parts and payments into Arrow IPC files under ``staging``, for the
    parent to map.

    One file per (table, month), and one for the payments, holds the parts of every outcome in order;
    each outcome keeps its rows' place in it (``out.shipped``). Pickling a file's tables through the
    pool's pipe instead cost 2.6 ms per typical file (about 0.7 MB of Arrow data per 0.12 MB of X12),
    and its few payments alone 1.4 ms; the parent maps these files without copying (``receive``).
    A column null on every row of a file's parts is left out (``_without_nulls``): most of a claim's
    75 columns are segments few remits carry, and written out they were 60 % of the bytes.
    They live in the run's staging folder, which a killed run's successor deletes.
    """
    by_key: dict[tuple[str, str], list[tuple[ParseOutcome, pa.Table]]] = {}
    for out in outcomes:
        for key, part in out.parts.items():
            by_key.setdefault(key, []).append((out, part))
        out.parts = {}
        if out.payments is not None:  # pickled, a file's few payments cost 1.4 ms through the pipe
            by_key.setdefault(PAYMENTS_KEY, []).append((out, out.payments))
            out.payments = None
    for (table, month), members in by_key.items():
        path = staging / f"{table}.{month or 'all'}{SHIPPED_SUFFIX}"
        path.parent.mkdir(parents=True, exist_ok=True)
        # one record batch of every member's rows: a batch per file cost twice the writing (each batch
        # has its own metadata, 16 files: 0.72 -> 0.36 ms per file), and the parent slices them anyway
        whole = _without_nulls(pa.concat_tables([part for _, part in members]).combine_chunks())
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, whole.schema) as writer:
            writer.write_table(whole)
        offset = 0
        for out, part in members:
            out.shipped[(table, month)] = (str(path), offset, part.num_rows)
            offset += part.num_rows
    return outcomes


_FULL_SCHEMA = b"remit.full_schema"  # the shipped file's schema metadata: the schema with every column


def _without_nulls(table: pa.Table) -> pa.Table:
    """``table`` less its columns null on every row, its schema carrying the whole schema in its
    metadata for ``_with_nulls`` (``table`` itself when no column is all null)."""
    full = table.schema
    # (one column at least: a table of no columns would lose its row count)
    kept = [i for i in range(len(full)) if table.column(i).null_count < table.num_rows] or [0]
    if len(kept) == len(full):
        return table
    schema = pa.schema([full.field(i) for i in kept], metadata={_FULL_SCHEMA: full.serialize().to_pybytes()})
    return pa.Table.from_arrays([table.column(i) for i in kept], schema=schema)


def _with_nulls(table: pa.Table) -> pa.Table:
    """A shipped table (``_without_nulls``) with its left-out columns back, all null.

    They share one zeroed buffer (a validity bitmap of nothing valid, zero offsets, zero values), never
    written: the kernel maps its pages only if something reads them.
    """
    meta = table.schema.metadata or {}
    if _FULL_SCHEMA not in meta:
        return table
    import numpy as np

    full = pa.ipc.read_schema(pa.py_buffer(meta[_FULL_SCHEMA]))
    rows = table.num_rows
    zeros = pa.py_buffer(np.zeros(rows * 16 + 64, np.uint8))  # calloc'd: untouched pages cost nothing
    columns = []
    for name, kind in zip(full.names, full.types, strict=True):
        if name in table.column_names:
            columns.append(table.column(name))
        elif pa.types.is_list(kind):
            empty = pa.array([], kind.value_type)
            columns.append(pa.Array.from_buffers(kind, rows, [zeros, zeros], rows, children=[empty]))
        elif pa.types.is_string(kind) or pa.types.is_binary(kind):
            columns.append(pa.Array.from_buffers(kind, rows, [zeros, zeros, zeros], rows))
        elif pa.types.is_primitive(kind) or pa.types.is_decimal(kind):
            columns.append(pa.Array.from_buffers(kind, rows, [zeros, zeros], rows))
        else:  # (no such column in the parser's tables today)
            columns.append(pa.nulls(rows, kind))
    return pa.Table.from_arrays(columns, schema=full)


def receive(outcomes: list[ParseOutcome]) -> list[ParseOutcome]:
    """Map the parts shipped by a pool process (``ship``) back into ``out.parts`` (the payments into
    ``out.payments``), without copying (the columns ``ship`` left out come back null, see
    ``_with_nulls``).

    Each file is unlinked once mapped: the mapping keeps its pages until the tables are dropped, and
    a file deleted before the kernel writes it back never reaches the disk.
    """
    mapped: dict[str, pa.Table] = {}
    for out in outcomes:
        for key, (path, offset, rows) in out.shipped.items():
            if path not in mapped:  # the buffers keep the memory map open
                mapped[path] = _with_nulls(pa.ipc.open_file(pa.memory_map(path)).read_all())
            if key == PAYMENTS_KEY:
                out.payments = mapped[path].slice(offset, rows)
            else:
                out.parts[key] = mapped[path].slice(offset, rows)
        out.shipped = {}
    for path in mapped:
        with contextlib.suppress(OSError):  # e.g. a platform that cannot unlink a mapped file
            os.unlink(path)
    return outcomes


def parse_to_staging(task: ParseTask) -> ParseOutcome:
    """Read ``task.path`` and stage its tables on disk, partitioned by payment month."""
    return _read_and(stage_bytes, task)


def parse_bytes(data: bytes, task: ParseTask) -> ParseOutcome:
    """Parse one file's bytes; its tables come back in ``out.parts`` by (table, month), in memory.

    A file over ``task.chunk_threshold`` is parsed piece by piece and staged on disk instead (as
    :func:`stage_bytes` does), so a worker's memory stays bounded whatever the file's size.
    """
    if len(data) > task.chunk_threshold:
        return stage_bytes(data, task)
    return _parse(data, task, None)


def stage_bytes(data: bytes, task: ParseTask) -> ParseOutcome:
    """Parse one file's bytes and stage its tables on disk by payment month (``out.staged``).

    Spark executors run this (their rows never travel through the driver), and the local engine for
    files too big to hold in memory. Payments are returned, not staged: the parent (or Spark driver)
    adds the resend marks. On any error nothing stays staged and ``out.error`` holds the quarantine
    report.
    """
    return _parse(data, task, PartWriters(Path(task.staging)))


def _split(table: pa.Table, keys: pa.Array, ids: pa.Array, months: pa.Array) -> list[tuple[str, pa.Table]]:
    """``table``'s rows by month: the month of each row is looked up through its ``keys`` column in
    (``ids``, ``months``)."""
    distinct = pc.unique(months).to_pylist()
    if len(distinct) == 1:  # the usual file: one month, nothing to split
        return [(distinct[0], table)]
    idx = pc.index_in(keys, value_set=ids)
    if idx.null_count:
        raise RuntimeError("parser returned rows whose parent is not among the file's rows")
    row_months = pc.take(months, idx).combine_chunks()
    return [(m, table.filter(pc.equal(row_months, m))) for m in pc.unique(row_months).to_pylist()]


def _crash(task: ParseTask, exc: Exception) -> dict:
    """The error of a file whose parser crashed (a bug, not bad input): named, with the traceback."""
    error = X12ParseError(
        task.name,
        [Problem(f"unexpected parser failure: {type(exc).__name__} (see the error report's traceback)")],
    ).as_dict()
    error["traceback"] = traceback.format_exc(limit=8)
    return error


def _pieces(data: bytes, task: ParseTask, whole: Callable, in_pieces: Callable) -> Iterator:
    """The file's parsed pieces: ``whole`` gives one, ``in_pieces`` (cut at ST boundaries, so a worker holds
    one piece's tables at a time) several when the file is over ``task.chunk_threshold``."""
    if len(data) > task.chunk_threshold:
        return in_pieces(
            data, task.name, patient_key_secret=task.secret, max_chunk_bytes=task.max_chunk_bytes
        )
    return iter([whole(data, task.name, patient_key_secret=task.secret)])


def _parse_837(data: bytes, task: ParseTask, writers: PartWriters | None) -> ParseOutcome:
    """An 837's two tables split by submission month (``submission_months``), kept or staged; a file over
    ``task.chunk_threshold`` is parsed piece by piece (``parse_837_chunks``), as a large 835 is."""
    from pipeline.x12 import parse_837, parse_837_chunks

    out = ParseOutcome(name=task.name, file_id=task.file_id, kind="837")
    kept: dict[tuple[str, str], list[pa.Table]] = {}
    payer_ids: dict[str, None] = {}
    payer_names: dict[str, None] = {}
    months_seen: set[str] = set()
    try:
        for sub in _pieces(data, task, parse_837, parse_837_chunks):
            claims, lines = sub.submitted_claims, sub.submitted_lines
            months = submission_months(claims)
            ids = claims.column("claim_number").combine_chunks()
            for name, table, keys in (
                ("submitted_claims", claims, claims.column("claim_number")),
                ("submitted_lines", lines, lines.column("claim_number")),
            ):
                out.rows[name] = out.rows.get(name, 0) + table.num_rows
                if table.num_rows == 0:
                    continue
                for month, part in _split(table, keys, ids, months):
                    if writers is None:
                        kept.setdefault((name, month), []).append(part)
                    else:
                        writers.write((name, month), part)
            out.transactions += sub.transactions
            payer_ids.update(dict.fromkeys(v for v in claims.column("payer_id").to_pylist() if v))
            payer_names.update(dict.fromkeys(v for v in claims.column("payer_name").to_pylist() if v))
            months_seen.update(months.to_pylist())
        if not out.rows.get("submitted_claims"):
            raise X12ParseError(task.name, [Problem("no claim (CLM) in the 837 file")])
        out.payer_ids, out.payer_names, out.months = list(payer_ids), list(payer_names), sorted(months_seen)
    except X12ParseError as exc:
        out.error = exc.as_dict()
    except Exception as exc:  # noqa: BLE001 - a parser crash on one file must not stop the night
        out.error = _crash(task, exc)
    if out.error is not None:
        if writers is not None:
            writers.discard()
        out.rows = {}
        return out
    if writers is not None:
        out.staged = writers.commit()
    out.parts = {key: pa.concat_tables(parts) for key, parts in kept.items()}
    return out


def _parse(
    data: bytes, task: ParseTask, writers: PartWriters | None, parsed: Remittance835 | None = None
) -> ParseOutcome:
    """Parse, split every table but payments by payment month, and keep the parts (or stage them).

    The file's content says which parser: ST01 = 837 goes to ``parse_837`` (``_parse_837``), anything
    else to the 835 parser (which names what is wrong with a file that is neither). ``parsed``: the
    file's tables, parsed already (``parse_tasks``).
    """
    from pipeline.x12 import parse_835, parse_835_chunks, transaction_set  # imported in the worker only

    if parsed is None and transaction_set(data) == "837":
        return _parse_837(data, task, writers)

    out = ParseOutcome(name=task.name, file_id=task.file_id)
    kept: dict[tuple[str, str], list[pa.Table]] = {}
    payments: list[pa.Table] = []
    try:
        pieces = iter([parsed]) if parsed is not None else _pieces(data, task, parse_835, parse_835_chunks)
        for piece in pieces:
            tables = piece.tables()
            pay = tables["payments"]
            months = payment_months(pay)
            tids = pay.column("transaction_ordinal").combine_chunks()
            payments.append(pay.append_column("payment_month", months))
            distinct = pc.unique(months).to_pylist()
            if len(distinct) > 1:  # children of claims find their month through their claim
                claims = tables["claims"]
                cids = claims.column("claim_number").combine_chunks()
                claim_months = _months_for(claims, "transaction_ordinal", tids, months)
            for name, table in tables.items():
                out.rows[name] = out.rows.get(name, 0) + table.num_rows
                if name == "payments" or table.num_rows == 0:
                    continue  # payments go back to the parent, which adds the resend marks
                if len(distinct) == 1:  # the usual file: one payment month, nothing to split
                    split = [(distinct[0], table)]
                else:
                    row_months = (
                        _months_for(table, "transaction_ordinal", tids, months)
                        if "transaction_ordinal" in table.column_names
                        else _months_for(table, "claim_number", cids, claim_months)
                    )
                    split = [
                        (m, table.filter(pc.equal(row_months, m))) for m in pc.unique(row_months).to_pylist()
                    ]
                for month, part in split:
                    if writers is None:
                        kept.setdefault((name, month), []).append(part)
                    else:
                        writers.write((name, month), part)
    except X12ParseError as exc:
        out.error = exc.as_dict()
    except Exception as exc:  # noqa: BLE001 - a parser crash on one file must not stop the night
        out.error = _crash(task, exc)
    if out.error is None and not any(p.num_rows for p in payments):
        out.error = X12ParseError(task.name, [Problem("no 835 transaction (ST*835) in the file")]).as_dict()
    if out.error is not None:
        if writers is not None:
            writers.discard()
        out.rows = {}
        return out
    if writers is not None:
        out.staged = writers.commit()
    out.parts = {key: pa.concat_tables(parts) for key, parts in kept.items()}
    out.payments = pa.concat_tables(payments)
    return out
