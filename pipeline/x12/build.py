"""One ST-bounded piece of a file as the compiled core (``core``) sees it, and the Python around it.

``Segments`` tokenises the piece (numba) and gives element access; ``Values`` turns byte spans into
exact typed values and reports bad ones as ``Problem``s; the helpers here wrap the kernels' buffers as
Arrow arrays without copying. The envelope checks (few segments, carried from piece to piece) stay in
Python (``Envelope``, ``apply_envelope``). The tables themselves are made by ``pipeline.x12.tables``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.x12 import schema
from pipeline.x12.errors import Problem, shown_value, value_shape
from pipeline.x12.versions import unsupported_version


def numba_cache_dir(package_dir: Path, environ: Mapping[str, str]) -> str | None:
    """The ``NUMBA_CACHE_DIR`` to set before numba loads, or None to leave numba's choice alone.

    numba caches compiled kernels beside their source (``__pycache__``). Where that folder is read-only
    (remit installed into a system site-packages and run by a service user) numba fell back to
    compiling in every process: 15–20 s in the nightly job and again in each parser worker. Then the
    user's cache folder is used instead (``$XDG_CACHE_HOME/remit/numba``, else
    ``~/.cache/remit/numba``). A ``NUMBA_CACHE_DIR`` already set is the operator's choice and kept.
    """
    if environ.get("NUMBA_CACHE_DIR"):
        return None
    pycache = package_dir / "__pycache__"
    if os.access(pycache if pycache.exists() else package_dir, os.W_OK):
        return None
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "remit", "numba")


def _core():
    """The numba kernels, imported on first use (numba is not loaded by ``import pipeline.x12``)."""
    if "numba" not in sys.modules:  # numba reads its settings when first imported
        folder = numba_cache_dir(Path(__file__).parent, os.environ)
        if folder is not None:
            with contextlib.suppress(OSError):  # no writable cache at all: numba compiles per process
                os.makedirs(folder, exist_ok=True)
                os.environ["NUMBA_CACHE_DIR"] = folder  # spawned parser workers inherit it
        if threading.active_count() == 1:
            _load_numba_arrays_without_blas()
    from pipeline.x12 import core

    return core


def _load_numba_arrays_without_blas() -> None:
    """Load numba's array functions with their BLAS lookup answered "none", in a one-thread process.

    numba imports SciPy's linear algebra when it loads its array functions, only to find a BLAS for
    ``np.dot`` and friends, which no kernel calls: 0.1 s of every parsing process's start (``remit parse``,
    each lake worker). Setting that one module to None in ``sys.modules`` for the moment makes the lookup
    fail at once (numba then uses its own loops). ``sys.modules`` is the process's: a thread importing
    SciPy at that moment would die of it (the night's gate once did, importing Great Expectations), so
    this is done only while the caller is the process's only thread, and SciPy imports as usual after.
    """
    blas = "scipy.linalg.cython_blas"
    if blas in sys.modules:
        return
    sys.modules[blas] = None  # ``import`` raises ImportError for a module set to None
    try:
        import numba  # noqa: F401 - the package first: its array functions need it set up
        import numba.np.arraymath  # noqa: F401
    finally:
        if sys.modules.get(blas, 0) is None:
            del sys.modules[blas]


_ID_LIKE = re.compile(r"[A-Za-z0-9]{1,4}")


def code(segment_id: str) -> int:
    """The integer code of a 2–3 letter segment id or qualifier (as the core computes it)."""
    b = segment_id.encode()
    return (b[0] << 16) | (b[1] << 8) | (b[2] if len(b) > 2 else 0)


ISA, IEA, GS, GE, ST, SE = (code(s) for s in ("ISA", "IEA", "GS", "GE", "ST", "SE"))
ENVELOPE = (ISA, IEA, GS, GE, ST, SE)


@dataclass
class ProblemLog:
    """Problems found so far (kept up to a limit, all counted)."""

    limit: int = 200
    items: list[Problem] = field(default_factory=list)
    count: int = 0

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(problem)


@dataclass
class TxnEnvelope:
    """Envelope values for one transaction, filled in by the envelope state machine."""

    interchange_control_number: str | None
    interchange_sender_id: str | None
    interchange_receiver_id: str | None
    group_control_number: str | None
    version: str | None


def _string_array(parts, n: int) -> pa.Array:
    """A ``string`` array from a kernel's (bitmap, null count, int32 offsets, data)."""
    bits, nulls, offsets, data = parts
    return pa.Array.from_buffers(
        pa.string(),
        n,
        [pa.py_buffer(bits) if nulls else None, pa.py_buffer(offsets), pa.py_buffer(data)],
        null_count=int(nulls),
    )


def _decimal_array(vals: np.ndarray, ok: np.ndarray, typ: pa.DataType = schema.MONEY) -> pa.Array:
    bits, nulls, words = _core().decimals(vals, ok)
    return pa.Array.from_buffers(
        typ, len(vals), [pa.py_buffer(bits) if nulls else None, pa.py_buffer(words)], null_count=int(nulls)
    )


def _fixed_width(typ: pa.DataType, data: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """An array of ``typ`` over ``data`` (already of its width, contiguous), null where ``valid`` is False."""
    bits, nulls = (None, 0) if valid is None else _core().bitmap(np.ascontiguousarray(valid, dtype=np.bool_))
    return pa.Array.from_buffers(
        typ, len(data), [pa.py_buffer(bits) if nulls else None, pa.py_buffer(data)], null_count=int(nulls)
    )


def _date_array(days: np.ndarray, ok: np.ndarray) -> pa.Array:
    return _fixed_width(pa.date32(), days, ok)


# The arrays here are made from buffers, never by ``pa.array`` (nor read back by ``np.asarray``): either
# makes pyarrow import pandas, a second or more of a ``remit parse`` process that never uses it.


def _int32(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """An ``int32`` array of ``values``, null where ``valid`` is False."""
    return _fixed_width(pa.int32(), np.ascontiguousarray(values, dtype=np.int32), valid)


def _int64(values: np.ndarray) -> pa.Array:
    """An ``int64`` array of ``values`` (no nulls)."""
    return _fixed_width(pa.int64(), np.ascontiguousarray(values, dtype=np.int64))


def _bools(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A ``bool`` array of ``values``, null where ``valid`` is False."""
    k = _core()
    bits, _ = k.bitmap(np.ascontiguousarray(values, dtype=np.bool_))
    validity, nulls = (None, 0) if valid is None else k.bitmap(np.ascontiguousarray(valid, dtype=np.bool_))
    return pa.Array.from_buffers(
        pa.bool_(),
        len(values),
        [pa.py_buffer(validity) if nulls else None, pa.py_buffer(bits)],
        null_count=int(nulls),
    )


def _string_list(values: list[str | None]) -> pa.Array:
    """A ``string`` array of a (short) Python list."""
    raw = [b"" if v is None else v.encode() for v in values]
    offsets = np.zeros(len(raw) + 1, np.int32)
    np.cumsum([len(x) for x in raw], out=offsets[1:])
    bits, nulls = _core().bitmap(np.array([v is not None for v in values], np.bool_))
    return pa.Array.from_buffers(
        pa.string(),
        len(raw),
        [pa.py_buffer(bits) if nulls else None, pa.py_buffer(offsets), pa.py_buffer(b"".join(raw))],
        null_count=int(nulls),
    )


def _const(value: str | None, n: int) -> pa.Array:
    """``n`` copies of one string, built directly from buffers."""
    if value is None:
        return pa.nulls(n, pa.string())
    raw = value.encode()
    offs = np.arange(n + 1, dtype=np.int32) * len(raw)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offs), pa.py_buffer(raw * n)])


_LABELS: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}


def _labels(index: np.ndarray, labels: list[str]) -> pa.Array:
    """Strings from a small label table (``labels[index[k]]``), copied by the compiled core."""
    key = tuple(labels)
    table = _LABELS.get(key)
    if table is None:
        raw = [x.encode() for x in labels]
        offsets = np.zeros(len(raw) + 1, np.int32)
        np.cumsum([len(x) for x in raw], out=offsets[1:])
        table = _LABELS[key] = (offsets, np.frombuffer(b"".join(raw), np.uint8))
    idx = np.asarray(index, dtype=np.int64)
    return _string_array(_core().take_strings(*table, idx), len(idx))


def _masked(s: np.ndarray, e: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spans with those not in ``keep`` made missing."""
    return np.where(keep, s, 0), np.where(keep, e, 0)


class Segments:
    """One piece of file bytes, tokenised by the core: the segment index and element access.

    ``buf`` holds whole segments only; ``base_offset`` is the file offset of ``buf[0]`` and
    ``base_segment`` the number of segments in the file before it.
    """

    def __init__(
        self, buf: bytes, element: int, component: int, terminator: int, base_offset: int, base_segment: int
    ):
        self.k = _core()
        self.buf = buf
        self.a = np.frombuffer(buf, dtype=np.uint8)
        self.element = element
        self.component = component
        self.base_offset = base_offset
        self.base_segment = base_segment
        (
            self.off,
            self.seg_tok,
            self.nelem,
            self.id_pos,
            self.id_len,
            self.sid,
            self.valid_id,
            self.counts,
            needs_trim,
        ) = self.k.tokenize(self.a, element, terminator)
        self.needs_trim = bool(needs_trim)
        self.n = len(self.sid)

    # ---- locating --------------------------------------------------------------------------------
    def segment_number(self, row: int) -> int:
        return self.base_segment + int(row) + 1

    def byte_offset(self, row: int) -> int:
        return self.base_offset + int(self.id_pos[row])

    def segment_id(self, row: int) -> str:
        """The segment's id. A first token that is not one is shown as it is when it could be a typo of
        one (up to 4 letters or digits, e.g. ``PLXX``, ``clp``); anything else only by its shape, since it
        may be any text of a broken file, even a patient's name."""
        p = int(self.id_pos[row])
        raw = self.buf[p : p + int(self.id_len[row])].decode("latin-1")
        return raw if self.valid_id[row] or _ID_LIKE.fullmatch(raw) else value_shape(raw)

    def problem(self, row: int, message: str) -> Problem:
        return Problem(message, self.segment_number(row), self.byte_offset(row), self.segment_id(row))

    def text(self, s: int, e: int) -> str:
        return self.buf[int(s) : int(e)].decode("utf-8", "replace")

    # ---- element access --------------------------------------------------------------------------
    def span(self, rows: np.ndarray, j) -> tuple[np.ndarray, np.ndarray]:
        """Byte spans ``(s, e)`` of element ``j`` (int or array, 1-based) of each row (trimmed when the
        piece needs it); ``e > s`` when present, ``(0, 0)`` for ``-1`` rows, missing or empty elements."""
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        if isinstance(j, int | np.integer):  # the common case: np.full is ~10x cheaper than broadcast_to
            js = np.full(rows.shape, j, np.int64)
        else:
            js = np.array(np.broadcast_to(np.asarray(j, dtype=np.int64), rows.shape))  # writable, contiguous
        return self.k.gather(self.a, self.off, self.seg_tok, self.nelem, rows, js, self.needs_trim)

    def strings(self, s: np.ndarray, e: np.ndarray) -> pa.Array:
        return _string_array(self.k.strings(self.a, s, e), len(s))

    def raw(self, rows: np.ndarray, j) -> pa.Array:
        """Element ``j`` of each row as strings (trimmed; missing or empty → null)."""
        return self.strings(*self.span(rows, j))

    def qcode(self, rows: np.ndarray, j: int = 1) -> np.ndarray:
        """Integer code (as ``code``) of element ``j`` when it is 1–3 bytes long, else -1."""
        return self.k.qcodes(self.a, *self.span(rows, j))

    def equals(self, s: np.ndarray, e: np.ndarray, text: str) -> np.ndarray:
        """Whether each span is exactly ``text`` (1–3 bytes)."""
        return (self.k.qcodes(self.a, s, e) == code(text)) & (e - s == len(text))

    def numbers(self, s: np.ndarray, e: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact unscaled int64 values of the spans and which are valid (see ``core.parse_numbers``)."""
        return self.k.parse_numbers(self.a, s, e, scale)

    def components(self, s: np.ndarray, e: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Spans of the first ``width`` components of each span (ISA16 separator): two width × n arrays."""
        return self.k.components(self.a, s, e, self.component, width, self.needs_trim)


# No single amount of a remittance comes near a trillion dollars: one at or above this (in magnitude) is a
# corrupt or test file, and loading it would push the lake's and the warehouse's sums towards overflow.
# The file is rejected naming the element and segment (docs/operations.md, "Implausible amounts").
AMOUNT_LIMIT = Decimal("1000000000000")


class Values:
    """Typed conversion of element spans, with problems reported against segment rows."""

    def __init__(self, c: Segments, log: ProblemLog):
        self.c = c
        self.log = log

    def _report(
        self, rows: np.ndarray, bad: np.ndarray, s: np.ndarray, e: np.ndarray, what: str, kind: str
    ) -> None:
        idx = np.flatnonzero(bad)
        for k in idx[: self.log.limit]:
            value = shown_value(self.c.text(s[k], e[k]), kind)  # never a name read as an amount
            self.log.add(self.c.problem(int(rows[k]), f"{what}: {value}"))
        self.log.count += max(0, len(idx) - self.log.limit)

    def missing(self, rows: np.ndarray, e_gt_s: np.ndarray, label: str) -> None:
        for k in np.flatnonzero((rows >= 0) & ~e_gt_s)[: self.log.limit]:
            self.log.add(self.c.problem(int(rows[k]), f"{label} is missing (required)"))

    def decimal(
        self, rows: np.ndarray, span: tuple, label: str, scale: int = 2, required: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact decimal of each span: (unscaled int64, ok)."""
        s, e = span
        vals, ok = self.c.numbers(s, e, scale)
        present = e > s
        bad = present & ~ok
        if bad.any():
            kind = "amount" if scale == 2 else "quantity"
            self._report(
                rows,
                bad,
                s,
                e,
                f"{label} is not a valid {kind} (digits with optional '-', "
                f"at most {scale} decimals and {18 - scale} integer digits)",
                "amount",
            )
        limit = int(AMOUNT_LIMIT * 10**scale)
        if scale == 2 and limit < 10**18:  # amounts only (quantities have scale 3)
            huge = ok & present & (np.abs(vals) >= limit)
            if huge.any():
                idx = np.flatnonzero(huge)
                for k in idx[: self.log.limit]:
                    self.log.add(
                        self.c.problem(
                            int(rows[k]),
                            f"{label} is implausibly large: {AMOUNT_LIMIT:,.2f} or more in magnitude "
                            "(remit refuses any single amount that large)",
                        )
                    )
                self.log.count += max(0, len(idx) - self.log.limit)
                ok = ok & ~huge
        if required:
            self.missing(rows, present, label)
        return vals, ok

    def date(self, rows: np.ndarray, span: tuple, label: str) -> tuple[np.ndarray, np.ndarray]:
        """CCYYMMDD spans → (int32 days since 1970, ok); real calendar dates only."""
        s, e = span
        days, ok = self.c.k.parse_dates(self.c.a, s, e)
        bad = (e > s) & ~ok
        if bad.any():
            self._report(rows, bad, s, e, f"{label} is not a valid date CCYYMMDD", "date")
        return days, ok


def hashing():
    """The compiled SHA-256/HMAC kernels (``pipeline.x12.hashing``), imported on first use."""
    _core()
    from pipeline.x12 import hashing as module

    return module


def hmac_keys(secret: bytes | None, values: pa.Array) -> pa.Array:
    """HMAC-SHA256 hex of each string (null without a secret or a value), computed by the compiled
    SHA-256 of ``pipeline.x12.hashing``; ``hmac_reference`` is the standard-library form."""
    return hashing().hmac_keys(secret, values)


def hmac_reference(secret: bytes, value: str) -> str:
    """The same HMAC through the standard library (used to check the fast path)."""
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


class Envelope:
    """ISA/GS/ST nesting, control numbers and counts, carried across the pieces of one file."""

    def __init__(self, bare: bool, transaction_set: str = "835", version_problem=None):
        self.bare = bare
        # the transaction set read (ST01) and the check of its version (ST03, else GS08): the 835's by
        # default, the 837's for pipeline.x12.parser837
        self.transaction_set = transaction_set
        self.version_problem = version_problem or _version_problem
        self.isa: dict | None = None
        self.gs: dict | None = None
        self.st: dict | None = None
        self.transactions = 0
        self.last: tuple[int, int, str] | None = None  # segment number, offset, id of the last segment

    def process(self, c: Segments, rows: np.ndarray, log: ProblemLog) -> list[TxnEnvelope]:
        """Check the envelope segments of one piece (in order); return one entry per ST.

        Well-nested pieces (ST/SE alternating, no ISA/GS/GE/IEA inside a transaction) take a vectorised
        path for the ST/SE pairs; anything else goes through the segment-by-segment state machine.
        """
        if len(rows) == 0:
            return []
        sids = c.sid[rows]
        st_m, se_m = sids == ST, sids == SE
        pair = sids[st_m | se_m]
        open_ = np.cumsum(st_m) - np.cumsum(se_m)
        if (
            self.st is None
            and len(pair) % 2 == 0
            and (pair[0::2] == ST).all()
            and (pair[1::2] == SE).all()
            and (open_[~(st_m | se_m)] == 0).all()
        ):
            return self._fast(c, rows, sids, st_m, se_m, log)
        return self._slow(c, rows, sids, log)

    def _fast(
        self,
        c: Segments,
        rows: np.ndarray,
        sids: np.ndarray,
        st_m: np.ndarray,
        se_m: np.ndarray,
        log: ProblemLog,
    ) -> list[TxnEnvelope]:
        st_rows, se_rows = rows[st_m], rows[se_m]
        nst = len(st_rows)
        not_835 = c.qcode(st_rows, 1) != code(self.transaction_set)
        for k in np.flatnonzero(not_835)[:20]:
            got = c.raw(st_rows[k : k + 1], 1)[0].as_py()
            log.add(
                c.problem(
                    int(st_rows[k]),
                    f"transaction set {shown_value(got, 'code')} is not an {self.transaction_set} (ST01)",
                )
            )
        st02, se02 = c.raw(st_rows, 2), c.raw(se_rows, 2)
        differ = [a is None or a != b for a, b in zip(st02.to_pylist(), se02.to_pylist(), strict=True)]
        for k in np.flatnonzero(differ)[:20]:
            log.add(
                c.problem(
                    int(se_rows[k]),
                    f"SE02 {shown_value(se02[int(k)].as_py(), 'control')} does not match "
                    f"ST02 {shown_value(st02[int(k)].as_py(), 'control')}",
                )
            )
        count, ok = c.numbers(*c.span(se_rows, 1), 0)
        for k in np.flatnonzero(~ok | (count != se_rows - st_rows + 1))[:20]:
            got = c.raw(se_rows[k : k + 1], 1)[0].as_py()
            n = int(se_rows[k] - st_rows[k] + 1)
            log.add(
                c.problem(
                    int(se_rows[k]),
                    f"SE01 says {shown_value(got, 'control')} segments, the transaction has {n}",
                )
            )
        # ISA/GS/GE/IEA one by one, with the ST count between them
        cum_st = np.cumsum(st_m)
        other = np.flatnonzero(~(st_m | se_m))
        out: list[TxnEnvelope] = []
        done = 0

        def assign(upto: int) -> None:
            nonlocal done
            if upto <= done:
                return
            if not self.bare and self.gs is None:
                for k in range(done, min(upto, done + 20)):
                    log.add(c.problem(int(st_rows[k]), "ST outside a functional group (no open GS)"))
            if self.gs is not None:
                self.gs["txns"] += upto - done
            isa, gs = self.isa or {}, self.gs or {}
            env = (isa.get("ctrl"), isa.get("sender"), isa.get("receiver"), gs.get("ctrl"))
            versions = c.raw(st_rows[done:upto], 3).to_pylist()
            for i, v in enumerate(versions):
                if not not_835[done + i] and (why := self.version_problem(v, gs.get("version"))):
                    log.add(c.problem(int(st_rows[done + i]), why))
            out.extend(TxnEnvelope(*env, v or gs.get("version")) for v in versions)
            done = upto

        if len(other):
            self._slow(c, rows[other], sids[other], log, before=lambda k: assign(int(cum_st[other[k]])))
        assign(nst)
        self.transactions += nst
        return out

    def _slow(
        self, c: Segments, rows: np.ndarray, sids: np.ndarray, log: ProblemLog, before=None
    ) -> list[TxnEnvelope]:
        out: list[TxnEnvelope] = []
        vals = {j: c.raw(rows, j).to_pylist() for j in (1, 2, 3, 6, 8, 13)}
        for j in (6, 8, 13):
            vals[j] = [v.strip() if v else v for v in vals[j]]
        for k, row in enumerate(rows.tolist()):
            if before is not None:
                before(k)
            s = int(sids[k])
            e = {j: vals[j][k] for j in vals}
            segno = c.segment_number(row)

            def bad(msg: str, row: int = row) -> None:
                log.add(c.problem(row, msg))

            if s == ISA:
                if self.bare:
                    bad("ISA in a file that started without one")
                if self.isa is not None:
                    bad(f"ISA starts before IEA closed interchange {_ctrl(self.isa['ctrl'])}")
                self.isa = {"ctrl": e[13], "sender": e[6], "receiver": e[8], "groups": 0}
                self.gs = None
            elif s == IEA:
                if self.isa is None:
                    bad("IEA without an open ISA")
                    continue
                if self.gs is not None:
                    bad(f"IEA before GE closed group {_ctrl(self.gs['ctrl'])}")
                if e[2] != self.isa["ctrl"]:
                    bad(f"IEA02 {_ctrl(e[2])} does not match ISA13 {_ctrl(self.isa['ctrl'])}")
                if e[1] != str(self.isa["groups"]) and _int(e[1]) != self.isa["groups"]:
                    bad(f"IEA01 says {_ctrl(e[1])} groups, the interchange has {self.isa['groups']}")
                self.isa = None
            elif s == GS:
                if self.isa is None:
                    bad("GS outside an interchange (no open ISA)")
                else:
                    self.isa["groups"] += 1
                if self.gs is not None:
                    bad(f"GS starts before GE closed group {_ctrl(self.gs['ctrl'])}")
                self.gs = {"ctrl": e[6], "version": e[8], "txns": 0}
            elif s == GE:
                if self.gs is None:
                    bad("GE without an open GS")
                    continue
                if self.st is not None:
                    bad(f"GE before SE closed transaction {_ctrl(self.st['ctrl'])}")
                    self.st = None
                if e[2] != self.gs["ctrl"]:
                    bad(f"GE02 {_ctrl(e[2])} does not match GS06 {_ctrl(self.gs['ctrl'])}")
                if _int(e[1]) != self.gs["txns"]:
                    bad(f"GE01 says {_ctrl(e[1])} transactions, the group has {self.gs['txns']}")
                self.gs = None
            elif s == ST:
                if not self.bare and self.gs is None:
                    bad("ST outside a functional group (no open GS)")
                if self.st is not None:
                    log.add(
                        Problem(
                            f"transaction {_ctrl(self.st['ctrl'])} has no SE (truncated or broken envelope)",
                            self.st["segno"],
                            self.st["offset"],
                            "ST",
                        )
                    )
                if e[1] != self.transaction_set:
                    bad(
                        f"transaction set {shown_value(e[1], 'code')} is not an {self.transaction_set} (ST01)"
                    )
                elif why := self.version_problem(e[3], (self.gs or {}).get("version")):
                    bad(why)
                if self.gs is not None:
                    self.gs["txns"] += 1
                self.transactions += 1
                self.st = {"ctrl": e[2], "segno": segno, "offset": c.byte_offset(row)}
                isa = self.isa or {}
                gs = self.gs or {}
                out.append(
                    TxnEnvelope(
                        isa.get("ctrl"),
                        isa.get("sender"),
                        isa.get("receiver"),
                        gs.get("ctrl"),
                        e[3] or gs.get("version"),
                    )
                )
            elif s == SE:
                if self.st is None:
                    bad("SE without an open ST")
                    continue
                if e[2] != self.st["ctrl"]:
                    bad(f"SE02 {_ctrl(e[2])} does not match ST02 {_ctrl(self.st['ctrl'])}")
                count = segno - self.st["segno"] + 1
                if _int(e[1]) != count:
                    bad(f"SE01 says {_ctrl(e[1])} segments, the transaction has {count}")
                self.st = None
        return out

    def finish(self, log: ProblemLog) -> None:
        """End-of-file checks: everything opened must be closed."""
        segno, offset, sid = self.last or (None, None, None)
        if self.st is not None:
            log.add(
                Problem(
                    f"file ends inside transaction {_ctrl(self.st['ctrl'])} (no SE): truncated?",
                    segno,
                    offset,
                    sid,
                )
            )
        if self.gs is not None:
            log.add(
                Problem(
                    f"file ends inside group {_ctrl(self.gs['ctrl'])} (no GE): truncated?", segno, offset, sid
                )
            )
        if self.isa is not None:
            log.add(
                Problem(
                    f"file ends inside interchange {_ctrl(self.isa['ctrl'])} (no IEA): truncated?",
                    segno,
                    offset,
                    sid,
                )
            )
        if self.transactions == 0:
            log.add(Problem("the file holds no ST transaction", segno, offset, sid))


def _version_problem(st03: str | None, gs08: str | None) -> str | None:
    """Why an 835's version (ST03, else its group's GS08) is not read, or ``None`` (pipeline.x12.versions)."""
    return unsupported_version(st03, "ST03") if st03 else unsupported_version(gs08, "its group's GS08")


def _ctrl(value: str | None) -> str:
    """A control number or count as a message shows it (quoted when numeric, see ``shown_value``)."""
    return shown_value(value, "control")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


ENVELOPE_COLUMNS = (
    "interchange_control_number",
    "interchange_sender_id",
    "interchange_receiver_id",
    "group_control_number",
    "version",
)


def apply_envelope(c: Segments, env: Envelope, log: ProblemLog, payments: pa.Table | None) -> pa.Table | None:
    """The sequential part of a piece: envelope checks, and the envelope columns of ``payments``
    (None when the piece had problems: the file is rejected anyway)."""
    n = c.n
    if n:
        env.last = (c.segment_number(n - 1), c.byte_offset(n - 1), c.segment_id(n - 1))
    sid = c.sid
    is_env = sid == ENVELOPE[0]
    for value in ENVELOPE[1:]:
        is_env |= sid == value
    txn_env = env.process(c, np.flatnonzero(is_env).astype(np.int64), log)
    if payments is None or len(txn_env) != payments.num_rows:
        return payments  # only with envelope problems (the file is rejected anyway)
    for name in ENVELOPE_COLUMNS:
        i = payments.schema.get_field_index(name)
        payments = payments.set_column(
            i, payments.schema.field(i), _string_list([getattr(e, name) for e in txn_env])
        )
    return payments
