"""The public parser API: ``parse_835`` and ``parse_835_chunks`` (``files.parse_files`` writes Parquet)."""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import pyarrow as pa

from pipeline.x12 import scan, schema
from pipeline.x12.build import ST, Envelope, ProblemLog, Segments, _const, apply_envelope
from pipeline.x12.errors import MAX_PROBLEMS, Problem, X12ParseError
from pipeline.x12.tables import build_tables

DEFAULT_CHUNK = 64 << 20
_Piece = TypeVar("_Piece")  # a piece of a parsed file: Remittance835 or Submission837


@dataclass
class Remittance835:
    """The tables parsed from one file (schemas exactly as in ``schema.REMITTANCE_TABLES``)."""

    file_id: str
    source: str
    payments: pa.Table
    claims: pa.Table
    service_lines: pa.Table
    adjustments: pa.Table
    remarks: pa.Table
    provider_adjustments: pa.Table
    claim_references: pa.Table
    provider_summaries: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        """Table name → table, in ``schema.REMITTANCE_TABLES`` order."""
        return {name: getattr(self, name) for name in schema.REMITTANCE_TABLES}

    def row_counts(self) -> dict[str, int]:
        """Table name → number of rows."""
        return {name: t.num_rows for name, t in self.tables().items()}


def _raise(source: str, log: ProblemLog) -> None:
    problems = sorted(log.items, key=lambda p: (p.segment_number is None, p.segment_number or 0))
    raise X12ParseError(source, problems, total=max(log.count, len(problems)))


WORK_CHUNK = 4 << 20  # internal piece size: its arrays stay in cache better (4 MiB: +4–6 % over 8 MiB)
THREADS: int | None = None  # worker threads; None: two on a machine with two or more cores


def _worker_threads() -> int:
    """How many worker threads build pieces: two when the machine has a second core, else one.

    The compiled core runs without the GIL, so two pieces really build in parallel (the GIL is held
    only to wrap the core's buffers as Arrow arrays, about a tenth of a piece). Measured on this 2-core
    VM: with a busy loop on one core, two workers gave 41–43 MB/s wall against 36–40 for one; with a
    JVM on 1.9 cores, 52–62 against 60–63 (within that hour's noise); with both cores free, 1.6–1.75×
    one worker (docs/parser.md). The columnar parser before it, which held the GIL far longer, was
    20–35 % slower with two workers under load and chose by load average. The choice affects speed
    only, never a result.
    """
    if THREADS is not None:
        return THREADS
    return 2 if (os.cpu_count() or 1) >= 2 else 1


_allocator_tuned = False


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of handing it back to the kernel at once.

    The columnar pass allocates and frees hundreds of arrays of 0.1–20 MB per piece. With glibc's
    defaults each of them is mapped afresh (mmap, or the heap top is trimmed and grown again), and the
    page faults cost 10–25 % of the parser's CPU time on this VM (measured: system time 0.17–0.34 s →
    0.01 s per 42 MB). Blocks up to 64 MiB now come from the heap, and up to 512 MiB of free heap is kept.
    This changes only how the process reuses memory, never a result; other platforms are left alone.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return
    _allocator_tuned = True
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # from <malloc.h>
    mallopt(m_mmap_threshold, 64 << 20)
    mallopt(m_trim_threshold, 512 << 20)


def _prepare(data: bytes, regions: list[scan.Region], a: int, b: int) -> tuple[bytes, scan.Delimiters]:
    """The bytes of chunk ``[a, b)`` with one set of delimiters (translated when interchanges differ)."""
    inside = [r for r in regions if r.start < b and r.end > a]
    if len({r.delimiters for r in inside}) == 1 and inside[0].delimiters.is_ascii():
        d = inside[0].delimiters
        buf = data[a:b]
    else:
        # interchanges with different delimiters, or a delimiter byte >= 0x80 (which the Latin-1
        # reading below would widen to two bytes): map each onto the canonical control bytes
        d = scan.CANONICAL
        buf = b"".join(
            data[max(a, r.start) : min(b, r.end)].translate(r.delimiters.translation()) for r in inside
        )
    if not buf.isascii():
        try:
            buf.decode("utf-8")
        except UnicodeDecodeError:
            # Latin-1 senders: keep the text (byte offsets after the first such byte may shift)
            buf = buf.decode("latin-1").encode("utf-8")
    return buf, d


class _TransactionBases:
    """Transaction numbering for pieces built in parallel.

    Keys number STs and CLPs from the start of the file, so piece *k* needs the ST and CLP counts of
    every piece before it. Each piece publishes its own counts as soon as it is tokenised (early in its
    build) and waits for its predecessors' counts only when it makes its keys; pieces start in file
    order, so the piece waited for is always running or done.
    """

    def __init__(self, pieces: int):
        self.counts: list[Future] = [Future() for _ in range(pieces)]

    def base(self, k: int, transactions: int, claims: int) -> tuple[int, int]:
        """Publish piece ``k``'s ST and CLP counts; return the numbers of STs and CLPs before it."""
        self.counts[k].set_result((transactions, claims))
        before = [f.result() for f in self.counts[:k]]
        return sum(t for t, _ in before), sum(c for _, c in before)

    def abandon(self, k: int) -> None:
        """Piece ``k`` failed before publishing: let later pieces fail instead of waiting forever."""
        if not self.counts[k].done():
            self.counts[k].set_exception(RuntimeError(f"piece {k} failed"))


def _build(
    data: bytes,
    regions,
    k: int,
    a: int,
    b: int,
    bases: _TransactionBases,
    file_id: Future,
    source: str,
    secret: bytes | None,
) -> tuple[Segments, dict[str, pa.Table] | None, ProblemLog]:
    """Tokenise and build piece ``k`` = bytes ``[a, b)`` (runs in a worker thread)."""
    try:
        buf, d = _prepare(data, regions, a, b)
        chunk = Segments(buf, d.element, d.component, d.terminator, a, 0)
        log = ProblemLog()
        tables = build_tables(
            chunk,
            log,
            file_id=file_id.result(),  # hashed on another thread while this piece was tokenised
            source=source,
            txn_base=lambda transactions, claims: bases.base(k, transactions, claims),
            secret=secret,
        )
        return chunk, tables, log
    finally:
        bases.abandon(k)


# A small 835 that goes through every kernel of the core (patient key, line dates, CAS, PLB, remarks).
_WARM_UP = (
    b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *250301*1200*^*00501*"
    b"000000001*0*P*:~"
    b"GS*HP*SENDER*RECEIVER*20250301*1200*1*X*005010X221A1~ST*835*0001~"
    b"BPR*I*140*C*ACH*CCP*01*111000025*DA*12345*1512345678**01*222000111*DA*67890*20250305~"
    b"TRN*1*TRACE1*1512345678~DTM*405*20250304~N1*PR*PLAN~REF*2U*P1~N1*PE*CLINIC*XX*1234567893~LX*1~"
    b"CLP*PCN*1*200*150**MC*CCN*11*1~NM1*QC*1*DOE*JANE****MI*1~DTM*232*20250201~MIA*0***1*MA01~"
    b"SVC*HC:97110:25*200*150**1~DTM*472****RD8*20250201-20250202~CAS*CO*45*50~LQ*HE*N130~"
    b"PLB*1234567893*20251231*WO:X1*10~SE*18*0001~GE*1*1~IEA*1*000000001~"
)

_warm = False
_warm_lock = threading.Lock()
_warming: int | None = None  # the thread running the warm-up parse (which must not wait for itself)


def warm_up() -> None:
    """Load the compiled core into this process (numba: about 1–2 s from its on-disk cache; the very
    first time on a machine it compiles, about 15–20 s). Parsing does this on first use; call it earlier
    to keep that time out of a timed section. Processes that start together do not compile twice: one
    compiles under a file lock while the others wait, then they load what it cached; threads of one
    process wait for the first.
    """
    global _warm, _warming
    if _warm or _warming == threading.get_ident():
        return
    with _warm_lock:
        if _warm:
            return
        lock = None
        try:
            import fcntl

            path = os.path.join(tempfile.gettempdir(), f"remit-x12-core-{os.getuid()}.lock")
            lock = open(path, "a")  # noqa: SIM115 - held until the core is loaded
            fcntl.flock(lock, fcntl.LOCK_EX)
        except (ImportError, OSError, AttributeError):  # no fcntl, or no writable temp folder
            lock = None
        _warming = threading.get_ident()
        try:
            for _ in _chunks(_WARM_UP, "warm-up.835", b"warm-up", DEFAULT_CHUNK):
                pass
            _warm = True
        finally:
            _warming = None
            if lock is not None:
                lock.close()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _resolved(value: str) -> Future:
    done: Future = Future()
    done.set_result(value)
    return done


def _file_id(data: bytes, executor: ThreadPoolExecutor | None) -> Future:
    """The file id (sha256 hex of ``data``) as a future: hashed on ``executor`` when given (hashlib
    releases the GIL, so it runs beside the caller's work), else here."""
    return executor.submit(_sha256_hex, data) if executor is not None else _resolved(_sha256_hex(data))


# UTF-16 text (a file saved as "Unicode" by a Windows tool): a byte-order mark, or ISA / ST written
# with a NUL after (little-endian) or before (big-endian) each letter.
_UTF16 = (
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
    (b"I\x00S\x00A\x00", "utf-16-le"),
    (b"S\x00T\x00", "utf-16-le"),
    (b"\x00I\x00S\x00A", "utf-16-be"),
    (b"\x00S\x00T", "utf-16-be"),
)
# Bytes some transfers pad a file's end with: NUL (block-padded mainframe and FTP files) and Ctrl-Z
# (0x1A, the DOS end-of-file mark). Neither can occur in X12 data.
_PADDING = b"\x00\x1a"


def _normalise(data: bytes, source: str) -> bytes:
    """The bytes to parse: UTF-16 text as UTF-8, NUL / Ctrl-Z padding after the end dropped, and the
    line breaks of a file wrapped at fixed width removed (``_is_wrapped``).

    All three were rejected before ("not an X12 file: it starts with 'ÿþI'", "not a segment id" for
    the padding, dozens of problems for a wrapped file) although nothing in them is wrong. The file id
    stays the sha256 of the file's own bytes; byte offsets in error messages count in the bytes parsed
    (the UTF-8 form of a UTF-16 file, a wrapped file without its line breaks).
    """
    for mark, codec in _UTF16:
        if data.startswith(mark):
            try:
                data = data.decode(codec).encode("utf-8")
            except UnicodeDecodeError as exc:  # its text is not shown: it quotes the file's bytes
                raise X12ParseError(
                    source,
                    [Problem(f"the file looks like UTF-16 text but is not valid UTF-16 at byte {exc.start}")],
                ) from None
            break
    if data and data[-1] in _PADDING:
        data = data.rstrip(_PADDING)  # a copy, made only for padded files
    if _is_wrapped(data):
        data = data.replace(b"\r", b"").replace(b"\n", b"")
    return data


_WRAP_HEAD = 8192  # how much of the file decides whether it is wrapped


def _is_wrapped(data: bytes) -> bool:
    """Whether the file is cut into fixed-width lines (80 columns, as mainframes send) with line breaks
    inside segments, which are then not data: the whole file is parsed with them removed.

    Decided from the file's head: its ISA, read with the line breaks taken out, must give a terminator
    and separators that are not CR or LF, and some line break in the head must follow something other
    than the terminator. Line breaks after terminators only (the usual layout) change nothing.
    """
    head = data[:_WRAP_HEAD]
    if b"\n" not in head and b"\r" not in head:
        return False
    flat = head.removeprefix(scan.BOM).lstrip(scan.WHITESPACE).replace(b"\r", b"").replace(b"\n", b"")
    if not flat.startswith(b"ISA"):
        return False
    try:
        d = scan.read_isa(flat, 0)
    except scan.ScanError:
        return False
    if {d.element, d.component, d.terminator, d.repetition} & {0x0D, 0x0A}:
        return False  # a line break is a delimiter here
    # some line (but the last) that is not empty and does not end with the terminator
    lines = head.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in head else head
    if b"\n\n" not in lines:  # no empty line (the usual layout): counted, not looped over
        ended = lines.count(bytes([d.terminator]) + b"\n")
        return lines.count(b"\n") - lines.startswith(b"\n") != ended
    return any(line and line[-1] != d.terminator for line in lines.split(b"\n")[:-1])


def _chunks(
    data: bytes,
    source: str,
    secret: bytes | None,
    max_chunk_bytes: int,
    st_offsets: list[np.ndarray] | None = None,
) -> Iterator[Remittance835]:
    """The pieces of one file (``parse_835_chunks``); with ``st_offsets`` (``parse_835_group``: files
    parsed as one) each piece's ST byte offsets are appended to it, and the joined bytes are not hashed
    (each file has its own id)."""
    _keep_freed_memory()
    warm_up()
    original = data  # the file id is the sha256 of the file's own bytes
    data = _normalise(data, source)
    start = 3 if data.startswith(scan.BOM) else 0
    while start < len(data) and data[start] in scan.WHITESPACE:
        start += 1
    if start >= len(data):
        raise X12ParseError(source, [Problem("empty file (no X12 content)", None, 0, None)])
    # hashlib releases the GIL: the file id is computed while the pre-scan and the first pieces run
    threads = _worker_threads()
    executor = ThreadPoolExecutor(threads) if len(data) > WORK_CHUNK else None
    try:
        file_id = _file_id(original, executor) if st_offsets is None else _resolved("0" * 64)
        try:
            regions = scan.find_regions(data, start, compiled=True)
        except scan.ScanError as exc:
            raise X12ParseError(source, [exc.problem]) from None
        env = Envelope(bare=regions[0].bare)
        log = ProblemLog()
        plan = scan.plan_chunks(data, regions, max(1, min(max_chunk_bytes, WORK_CHUNK)))
        bases = _TransactionBases(len(plan))
        segments = 0

        def run(k: int):
            return _build(data, regions, k, *plan[k], bases, file_id, source, secret)

        pending: deque[Future] = deque()
        nxt = 0
        for k in range(len(plan)):
            while executor is not None and nxt < len(plan) and len(pending) < threads + 1:
                pending.append(executor.submit(run, nxt))
                nxt += 1
            chunk, tables, clog = pending.popleft().result() if executor is not None else run(k)
            chunk.base_segment = segments
            if st_offsets is not None:  # where each ST starts (``parse_835_group`` places them in files)
                st_offsets.append(chunk.base_offset + chunk.id_pos[np.flatnonzero(chunk.sid == ST)])
            for p in clog.items:
                log.add(
                    p if p.segment_number is None else replace(p, segment_number=p.segment_number + segments)
                )
            log.count += clog.count - len(clog.items)
            payments = apply_envelope(chunk, env, log, tables["payments"] if tables else None)
            segments += chunk.n
            del chunk
            if log.count or tables is None:
                _raise(source, log)
            tables["payments"] = payments
            yield Remittance835(file_id.result(), source, **tables)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    env.finish(log)
    if log.count:
        _raise(source, log)


def parse_835_chunks(
    data: bytes,
    source: str,
    *,
    patient_key_secret: bytes | None = None,
    max_chunk_bytes: int = DEFAULT_CHUNK,
) -> Iterator[Remittance835]:
    """Parse an 835 in pieces cut at ST boundaries (each about ``max_chunk_bytes`` or less).

    Ids are the ones ``parse_835`` gives. Problems raise ``X12ParseError`` after the piece in which
    they were found (or at the end, for envelope closure); callers discard pieces already yielded.
    """
    yield from _guarded(_chunks(data, source, patient_key_secret, max_chunk_bytes), source)


def _unparseable(source: str, exc: BaseException) -> X12ParseError:
    """The error for an input the parser failed on unexpectedly: named by the exception's type only (its
    text may quote the file's bytes, patient data)."""
    return X12ParseError(source, [Problem(f"unparseable input ({type(exc).__name__})")])


def _guarded(pieces: Iterator[_Piece], source: str) -> Iterator[_Piece]:
    """``pieces`` as they come; whatever else than ``X12ParseError`` they raise becomes one
    (``_unparseable``): the parsers raise nothing else, whatever the input."""
    while True:
        try:
            piece = next(pieces)
        except StopIteration:
            return
        except X12ParseError:
            raise
        except Exception as exc:
            raise _unparseable(source, exc) from exc
        yield piece


def _as_bytes(data: bytes, source: str) -> bytes:
    """``data`` as ``bytes`` (a memoryview, a bytearray), or ``X12ParseError`` when it is not bytes-like."""
    try:
        return bytes(data)
    except Exception as exc:
        raise X12ParseError(source, [Problem(f"input is not bytes ({type(exc).__name__})")]) from exc


def parse_835(data: bytes, source: str, *, patient_key_secret: bytes | None = None) -> Remittance835:
    """Parse one 835 file's bytes into six Arrow tables (a pure function: no I/O, no global state).

    Raises ``X12ParseError`` (and nothing else) when the file cannot be loaded.
    """
    pieces = list(parse_835_chunks(_as_bytes(data, source), source, patient_key_secret=patient_key_secret))
    try:
        if len(pieces) == 1:
            return pieces[0]
        first = pieces[0]
        tables = {
            name: _combine([getattr(p, name) for p in pieces], first.file_id)
            for name in schema.REMITTANCE_TABLES
        }
        return Remittance835(first.file_id, source, **tables)
    except Exception as exc:
        raise _unparseable(source, exc) from exc


def parse_835_group(
    datas: Sequence[bytes],
    sources: Sequence[str],
    *,
    patient_key_secret: bytes | None = None,
    file_ids: Sequence[str] | None = None,
) -> list[Remittance835] | None:
    """Parse several small 835 files in one call: for each file exactly what ``parse_835`` gives it, or
    None when they cannot be parsed together (then parse each alone, which also names what is wrong).

    A typical remittance file (120 KB) costs ``parse_835`` about twice its core's work in fixed
    per-call costs (some 300 Arrow arrays built per file, the envelope's checks); 16 such files parsed
    as one took 1.4 ms per file instead of 2.6. The files are parsed as one file of several interchanges
    (ISA to IEA each, as X12 allows) and the rows are then given back to their files: each ST is placed
    in its file by its byte offset, each row by its transaction or claim, and the file-wide numbers
    (``transaction_ordinal``, ``claim_number``), ``file_key``, ``file_id`` and ``source`` are made the
    file's own. Only plain files are grouped: each starts with its ISA, is ASCII, is not wrapped or
    padded, none holds a canonical control byte when their delimiters differ, and all together fit one
    piece (``WORK_CHUNK``); any problem in any file, or a file without a transaction, gives None (so
    does anything unexpected: parsed alone, each file is judged by ``parse_835``'s own guarantees).
    ``file_ids`` (the files' sha256, when the caller has them) saves hashing them again.
    """
    try:
        return _group(datas, sources, patient_key_secret, file_ids)
    except Exception:  # noqa: BLE001 - never worse than parsing each file alone
        return None


def parse_835_together(
    datas: Sequence[bytes | None],
    sources: Sequence[str],
    *,
    patient_key_secret: bytes | None = None,
    file_ids: Sequence[str] | None = None,
) -> dict[int, Remittance835]:
    """Of ``datas`` (None: a file not to group), the 835s parsed in one call (``parse_835_group``), in
    order as far as they fit one piece: ``{index: tables}``; empty when fewer than two are 835s or they
    cannot be parsed together. The caller parses the others (and all, when empty) alone."""
    from pipeline.x12.parser837 import transaction_set

    together: list[int] = []
    size = 0
    for i, data in enumerate(datas):
        if data is not None and size + len(data) <= WORK_CHUNK and transaction_set(data) == "835":
            together.append(i)
            size += len(data)
    if len(together) < 2:
        return {}
    group = parse_835_group(
        [datas[i] for i in together],  # type: ignore[misc]  # (None is never picked)
        [sources[i] for i in together],
        patient_key_secret=patient_key_secret,
        file_ids=[file_ids[i] for i in together] if file_ids is not None else None,
    )
    return dict(zip(together, group, strict=True)) if group is not None else {}


def _group(
    datas: Sequence[bytes],
    sources: Sequence[str],
    patient_key_secret: bytes | None,
    file_ids: Sequence[str] | None,
) -> list[Remittance835] | None:
    """``parse_835_group``'s work (which turns any exception into None)."""
    n = len(datas)
    if n < 2 or len(sources) != n or sum(len(d) for d in datas) > WORK_CHUNK:
        return None
    delimiters = set()
    for data in datas:
        if not data.startswith(b"ISA") or not data.isascii() or data[-1] in _PADDING or _is_wrapped(data):
            return None
        try:
            delimiters.add(scan.read_isa(data, 0))
        except scan.ScanError:
            return None
    # files with different delimiters are parsed with theirs mapped onto the canonical control bytes
    # (``_prepare``), which turns those bytes in the data into NUL: alone, such a file keeps them
    if len(delimiters) > 1 and any(bytes([c]) in data for data in datas for c in _CANONICAL_BYTES):
        return None
    starts = np.cumsum([0, *(len(d) for d in datas[:-1])])
    st_offsets: list[np.ndarray] = []
    try:
        pieces = list(_chunks(b"".join(datas), "group", patient_key_secret, DEFAULT_CHUNK, st_offsets))
    except X12ParseError:  # (the usual failure: a bad file among them)
        return None
    if len(pieces) != 1 or len(st_offsets) != 1:
        return None
    tables = pieces[0].tables()
    txn_file = np.searchsorted(starts, st_offsets[0], side="right") - 1  # each transaction's file
    if len(txn_file) != tables["payments"].num_rows:
        return None
    per_file = np.bincount(txn_file, minlength=n)
    if not per_file.all():  # a file without a transaction: parsed alone, it is refused
        return None
    claim_txn = _ints(tables["claims"], "transaction_ordinal")
    claim_no = _ints(tables["claims"], "claim_number")
    if claim_txn is None or claim_no is None or not np.array_equal(claim_no, np.arange(1, len(claim_no) + 1)):
        return None
    claim_file = txn_file[claim_txn - 1]
    txn_before = np.concatenate([[0], np.cumsum(per_file)[:-1]])
    claims_before = np.concatenate([[0], np.cumsum(np.bincount(claim_file, minlength=n))[:-1]])
    ids = list(file_ids) if file_ids is not None else [_sha256_hex(d) for d in datas]
    keys = np.array([schema.file_key(i) for i in ids], np.int64)
    split: dict[str, list[pa.Table]] = {}
    for name, table in tables.items():
        files = _files_of_rows(table, txn_file, claim_file)
        if files is None:
            return None
        # (payments carry the file's id and name; ``source`` elsewhere is a segment, e.g. a remark's)
        named = (ids, sources) if name == "payments" else None
        split[name] = _own_numbers(table, files, keys, txn_before, claims_before, len(ids), named)
    return [Remittance835(ids[i], sources[i], **{t: p[i] for t, p in split.items()}) for i in range(n)]


_CANONICAL_BYTES = (scan.CANON_ELEMENT, scan.CANON_COMPONENT, scan.CANON_TERMINATOR, scan.CANON_REPETITION)


def _ints(table: pa.Table, column: str) -> np.ndarray | None:
    """``column`` as int64 numbers (None when it has a null)."""
    values = table.column(column)
    if values.null_count:
        return None
    return np.asarray(values.to_numpy(), dtype=np.int64)


def _files_of_rows(table: pa.Table, txn_file: np.ndarray, claim_file: np.ndarray) -> np.ndarray | None:
    """The file of each row of a group's table (``parse_835_group``), by its transaction, else its claim;
    None when a row has neither or the rows are not in file order."""
    if table.num_rows == 0:
        return np.zeros(0, np.int64)
    if "transaction_ordinal" in table.column_names:
        numbers, owner = _ints(table, "transaction_ordinal"), txn_file
    elif "claim_number" in table.column_names:
        numbers, owner = _ints(table, "claim_number"), claim_file
    else:
        return None
    if numbers is None or numbers.min() < 1 or numbers.max() > len(owner):
        return None
    files = owner[numbers - 1]
    return files if (np.diff(files) >= 0).all() else None


def _own_numbers(
    table: pa.Table,
    files: np.ndarray,
    keys: np.ndarray,
    txn_before: np.ndarray,
    claims_before: np.ndarray,
    n: int,
    named: tuple[list[str], Sequence[str]] | None,
) -> list[pa.Table]:
    """A group's table cut into its ``n`` files' rows, each with its own file's key and numbers (and its
    ``file_id`` and ``source`` from ``named``: the payments)."""
    sch = table.schema
    columns = dict(zip(sch.names, table.columns, strict=True))
    columns["file_key"] = pa.array(keys[files], schema.KEY)
    if "transaction_ordinal" in columns:
        own = _ints(table, "transaction_ordinal") - txn_before[files]
        columns["transaction_ordinal"] = pa.array(own.astype(np.int32), pa.int32())
    if "claim_number" in columns:
        own = _ints(table, "claim_number") - claims_before[files]
        columns["claim_number"] = pa.array(own.astype(np.int32), pa.int32())
    whole = pa.Table.from_arrays([columns[name] for name in sch.names], schema=sch)
    bounds = np.searchsorted(files, np.arange(n + 1))
    parts = []
    for i in range(n):
        part = whole.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i]))
        if named is not None:
            for name, value in (("file_id", named[0][i]), ("source", named[1][i])):
                at = sch.get_field_index(name)
                part = part.set_column(at, sch.field(at), _const(value, part.num_rows))
        parts.append(part)
    return parts


# The joined columns come from the C allocator, like the pieces' own buffers (numpy's): it keeps freed
# memory for reuse (``_keep_freed_memory``), where Arrow's default pool handed each join's hundreds of
# megabytes back to the kernel and faulted them in again on the next file (measured: 0.4-1.7 s of system
# time per 109 MB file, more than the join's own work).
_POOL = pa.system_memory_pool()


def _combine(tables: list[pa.Table], file_id: str) -> pa.Table:
    """The pieces' tables of one file as one table with one chunk per column (what
    ``concat_tables(...).combine_chunks()`` gives, without copying what needs no copy): a column null in
    every piece (most of the columns added for issue 15 are, in most files) is made null at its full
    length, and ``file_id`` and ``file_key`` (the same on every row) once, instead of concatenating the
    pieces' copies."""
    sch = tables[0].schema
    n = sum(t.num_rows for t in tables)
    columns = []
    nulls: dict[pa.DataType, pa.Array] = {}  # one all-null array per type, shared (arrays are immutable)
    for i, f in enumerate(sch):
        if f.name == "file_id":
            columns.append(_const(file_id, n))
            continue
        if f.name == "file_key":
            keys = np.full(n, schema.file_key(file_id), np.int64)
            columns.append(pa.Array.from_buffers(schema.KEY, n, [None, pa.py_buffer(keys)]))
            continue
        chunks = [chunk for t in tables for chunk in t.column(i).chunks]
        if all(chunk.null_count == len(chunk) for chunk in chunks):
            if f.type not in nulls:
                nulls[f.type] = pa.nulls(n, f.type)
            columns.append(nulls[f.type])
        else:
            columns.append(pa.concat_arrays(chunks, memory_pool=_POOL))
    return pa.Table.from_arrays(columns, schema=sch)


__all__ = [
    "MAX_PROBLEMS",
    "warm_up",
    "Remittance835",
    "X12ParseError",
    "parse_835",
    "parse_835_chunks",
    "parse_835_group",
    "parse_835_together",
]
