"""The vectorised pass over one ST-bounded chunk of an 835.

No per-segment Python loop: the chunk is viewed as a numpy byte array; the positions of every element
separator and segment terminator become the offsets of one zero-copy Arrow ``large_binary`` array of
*tokens* (each token is one element with its leading delimiter). A segment is the run of tokens that
starts at a terminator, so element ``j`` of segment ``s`` is token ``seg_tok[s] + j``. Loop context
(current transaction, claim, service line) comes from cumulative sums and running maxima over
segment-id masks; each table is then a handful of ``take``/``cast`` calls on the rows it needs.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.x12 import schema
from pipeline.x12.errors import Problem

_WS_LOOKUP = np.zeros(256, dtype=bool)
_WS_LOOKUP[[0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D]] = True
_ID_CHAR = np.zeros(256, dtype=bool)
_ID_CHAR[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8)] = True

AMOUNT_RE = r"^-?(?:\d{1,16}(?:\.\d{0,2})?|\.\d{1,2})$"
QUANTITY_RE = r"^-?(?:\d{1,15}(?:\.\d{0,3})?|\.\d{1,3})$"
DATE_RE = r"^\d{8}$"
RD8_RE = r"^\d{8}-\d{8}$"


def code(segment_id: str) -> int:
    """The integer code of a 2–3 letter segment id (as computed for every segment)."""
    b = segment_id.encode()
    return (b[0] << 16) | (b[1] << 8) | (b[2] if len(b) > 2 else 0)


ISA, IEA, GS, GE, ST, SE = (code(s) for s in ("ISA", "IEA", "GS", "GE", "ST", "SE"))
BPR, TRN, N1, REF, DTM, LX, CLP, CAS, NM1, MIA, MOA, AMT, SVC, LQ, PLB = (
    code(s)
    for s in (
        "BPR",
        "TRN",
        "N1",
        "REF",
        "DTM",
        "LX",
        "CLP",
        "CAS",
        "NM1",
        "MIA",
        "MOA",
        "AMT",
        "SVC",
        "LQ",
        "PLB",
    )
)
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


def _first_per_group(rows: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """For each group 0..n-1, the first row (rows are in file order) or -1."""
    out = np.full(n, -1, dtype=np.int64)
    if len(rows):
        g = groups[rows]
        uniq, first = np.unique(g, return_index=True)
        out[uniq] = rows[first]
    return out


def _group_sum(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact int64 sums of ``values`` per group id in 0..n-1 (``groups`` need not be sorted)."""
    out = np.zeros(n, dtype=np.int64)
    if len(groups):
        np.add.at(out, groups, values)
    return out


def _ordinal_within(mask: np.ndarray, opener_rows: np.ndarray) -> np.ndarray:
    """For every segment, how many ``mask`` segments there are from the opener row to it (inclusive)."""
    cs = np.cumsum(mask, dtype=np.int64)
    before = np.where(opener_rows >= 0, cs[np.maximum(opener_rows, 0)] - mask[np.maximum(opener_rows, 0)], 0)
    return cs - before


def _last_true(mask: np.ndarray) -> np.ndarray:
    """For every position, the index of the last True at or before it, else -1."""
    idx = np.where(mask, np.arange(len(mask), dtype=np.int64), -1)
    return np.maximum.accumulate(idx) if len(idx) else idx


def _decimal_from_unscaled(values: np.ndarray, valid: np.ndarray, typ: pa.DataType) -> pa.Array:
    """A decimal128 array from exact int64 unscaled values (cents for MONEY)."""
    n = len(values)
    raw = np.empty((n, 2), dtype=np.int64)
    raw[:, 0] = values
    raw[:, 1] = values >> 63  # sign extension into the high 64 bits
    arr = pa.Array.from_buffers(typ, n, [None, pa.py_buffer(raw.tobytes())])
    if not valid.all():
        arr = pc.if_else(pa.array(valid), arr, pa.scalar(None, typ))
    return arr


def _unscaled(arr: pa.Array) -> np.ndarray:
    """The exact int64 unscaled integers of a decimal128 array whose values fit in 64 bits (nulls → 0)."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    words = np.frombuffer(arr.buffers()[1], dtype=np.int64)[2 * arr.offset : 2 * (arr.offset + n)]
    low = words[0::2].copy()
    if arr.null_count:
        low[~np.asarray(arr.is_valid())] = 0
    return low


class Chunk:
    """One chunk of file bytes, tokenised, with its segment index.

    ``buf`` holds whole segments only; ``base_offset`` is the file offset of ``buf[0]`` and
    ``base_segment`` the number of segments in the file before it.
    """

    def __init__(
        self, buf: bytes, element: int, component: int, terminator: int, base_offset: int, base_segment: int
    ):
        self.element = element
        self.component = chr(component)
        self.base_offset = base_offset
        self.base_segment = base_segment
        # A leading terminator makes every token start with a delimiter, the first one included.
        b = bytes([terminator]) + buf
        self._b = b
        a = np.frombuffer(b, dtype=np.uint8)
        is_term = a == terminator
        delim = np.flatnonzero(is_term | (a == element))
        tok_is_term = is_term[delim]
        del is_term
        offsets = np.empty(len(delim) + 1, dtype=np.int64)
        offsets[:-1] = delim
        offsets[-1] = len(b)
        self.tokens = pa.Array.from_buffers(
            pa.large_binary(), len(delim), [None, pa.py_buffer(offsets), pa.py_buffer(b)]
        )
        seg_tok = np.flatnonzero(tok_is_term)
        nelem = np.diff(seg_tok, append=len(delim)) - 1
        # segment id: skip the whitespace (CR/LF, blank lines) between a terminator and the id
        p = delim[seg_tok] + 1
        e = offsets[seg_tok + 1]
        last = len(a) - 1
        for _ in range(8):
            m = (p < e) & _WS_LOOKUP[a[np.minimum(p, last)]]
            if not m.any():
                break
            p = p + m
        else:
            for i in np.flatnonzero((p < e) & _WS_LOOKUP[a[np.minimum(p, last)]]):
                while p[i] < e[i] and _WS_LOOKUP[a[p[i]]]:
                    p[i] += 1
        idlen = e - p
        # trailing whitespace of an id-only segment (e.g. ``SE\r`` with newline terminators)
        while True:
            m = (idlen > 0) & _WS_LOOKUP[a[np.minimum(p + idlen - 1, last)]]
            if not m.any():
                break
            idlen = idlen - m
        keep = (idlen > 0) | (nelem > 0)  # drop empty segments (trailing blank lines, ``~~``)
        if not keep.all():
            seg_tok, nelem, p, idlen = seg_tok[keep], nelem[keep], p[keep], idlen[keep]
        self.seg_tok = seg_tok
        self.nelem = nelem
        self.byte_pos = p  # position in ``b`` of the id's first byte
        self.n = len(seg_tok)
        c0 = a[np.minimum(p, last)].astype(np.int64)
        c1 = np.where(idlen > 1, a[np.minimum(p + 1, last)], 0).astype(np.int64)
        c2 = np.where(idlen > 2, a[np.minimum(p + 2, last)], 0).astype(np.int64)
        self.sid = (c0 << 16) | (c1 << 8) | c2
        ok = (idlen >= 2) & (idlen <= 3) & _ID_CHAR[c0] & _ID_CHAR[c1] & ((idlen == 2) | _ID_CHAR[c2])
        self.valid_id = ok
        self.idlen = idlen

    # ---- locating --------------------------------------------------------------------------------
    def segment_number(self, row: int) -> int:
        return self.base_segment + int(row) + 1

    def byte_offset(self, row: int) -> int:
        return self.base_offset + int(self.byte_pos[row]) - 1

    def segment_id(self, row: int) -> str:
        p = int(self.byte_pos[row])
        return self._b[p : p + int(self.idlen[row])].decode("latin-1")

    def problem(self, row: int, message: str) -> Problem:
        return Problem(message, self.segment_number(row), self.byte_offset(row), self.segment_id(row))

    # ---- element access --------------------------------------------------------------------------
    def raw(self, rows: np.ndarray, j: int) -> pa.Array:
        """Element ``j`` (1-based; 0 = id) of each row (``-1`` rows give null), as trimmed strings with
        empty values as null."""
        rows = np.asarray(rows, dtype=np.int64)
        safe = np.maximum(rows, 0)
        valid = (rows >= 0) & (self.nelem[safe] >= j) if len(rows) else np.zeros(0, dtype=bool)
        # take only real tokens (Arrow's binary_slice mishandles null slots), then null the missing ones
        tok = np.where(valid, self.seg_tok[safe] + j, 0)
        vals = pc.binary_slice(self.tokens.take(pa.array(tok, type=pa.int64())), 1, 1 << 40)
        if not valid.all():
            vals = pc.if_else(pa.array(valid, pa.bool_()), vals, pa.scalar(None, vals.type))
        try:
            s = vals.cast(pa.large_string())
        except pa.ArrowInvalid:  # not UTF-8: keep the text, replacing undecodable bytes
            s = pa.array(
                [None if v is None else v.decode("utf-8", "replace") for v in vals.to_pylist()],
                pa.large_string(),
            )
        s = pc.utf8_trim_whitespace(s)
        s = pc.if_else(pc.equal(pc.binary_length(s), 0), pa.scalar(None, pa.large_string()), s)
        return s.cast(pa.string())

    def text(self, rows: np.ndarray, j: int) -> pa.Array:
        return self.raw(rows, j)


def components(values: pa.Array, sep: str, width: int) -> list[pa.Array]:
    """Split a composite column on ``sep`` into ``width`` columns (missing parts null, empty → null)."""
    n = len(values)
    if n == 0:
        return [pa.array([], pa.string()) for _ in range(width)]
    parts = pc.split_pattern(values, sep)
    fixed = pc.list_slice(parts, 0, width, return_fixed_size_list=True)
    flat = (
        fixed.flatten()
        if fixed.null_count == 0
        else pc.list_flatten(pc.fill_null(fixed, pa.scalar([None] * width, fixed.type)))
    )
    out = []
    for k in range(width):
        col = flat.take(pa.array(np.arange(k, n * width, width, dtype=np.int64)))
        col = pc.utf8_trim_whitespace(col)
        col = pc.if_else(pc.equal(pc.binary_length(col), 0), pa.scalar(None, pa.string()), col)
        out.append(col)
    return out


def _bool(mask: pa.Array) -> np.ndarray:
    """A boolean Arrow array as numpy, nulls as False."""
    return np.asarray(pc.fill_null(mask, False), dtype=bool)


class Values:
    """Typed conversion with error reporting against segment rows."""

    def __init__(self, chunk: Chunk, log: ProblemLog):
        self.c = chunk
        self.log = log

    def _bad(self, rows: np.ndarray, bad: np.ndarray, values: pa.Array, what: str) -> None:
        for k in np.flatnonzero(bad)[: self.log.limit]:
            v = values[int(k)].as_py()
            self.log.add(self.c.problem(int(rows[k]), f"{what}: {v!r}"))
        extra = int(bad.sum()) - min(int(bad.sum()), self.log.limit)
        self.log.count += extra

    def _missing(self, rows: np.ndarray, values: pa.Array, label: str) -> None:
        miss = (rows >= 0) & ~np.asarray(values.is_valid())
        for k in np.flatnonzero(miss)[: self.log.limit]:
            self.log.add(self.c.problem(int(rows[k]), f"{label} is missing (required)"))

    def decimal(
        self,
        rows: np.ndarray,
        values: pa.Array,
        label: str,
        typ: pa.DataType = schema.MONEY,
        required: bool = False,
    ) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """Exact decimal parse: returns (decimal array, unscaled int64, valid mask)."""
        regex = AMOUNT_RE if typ == schema.MONEY else QUANTITY_RE
        ok = pc.match_substring_regex(values, regex)
        okn = _bool(ok)
        present = np.asarray(values.is_valid())
        bad = present & ~okn
        if bad.any():
            places = 2 if typ == schema.MONEY else 3
            self._bad(
                rows,
                bad,
                values,
                f"{label} is not a valid {'amount' if places == 2 else 'quantity'} "
                f"(digits with optional '-', at most {places} decimals and {18 - places} integer digits)",
            )
        if required:
            self._missing(rows, values, label)
        clean = pc.if_else(pa.array(okn), values, pa.scalar(None, pa.string())) if bad.any() else values
        dec = clean.cast(typ)
        return dec, _unscaled(dec), okn

    def date(self, rows: np.ndarray, values: pa.Array, label: str) -> pa.Array:
        """CCYYMMDD → date32 (real calendar dates only)."""
        if len(values) == 0:
            return pa.array([], schema.DATE)
        ok = _bool(pc.match_substring_regex(values, DATE_RE))
        clean = pc.if_else(pa.array(ok), values, pa.scalar(None, pa.string()))
        ts = pc.strptime(clean, format="%Y%m%d", unit="s", error_is_null=True)
        # Arrow normalises 20230230 to 2023-03-02: a round trip rejects such dates
        back = pc.strftime(ts, format="%Y%m%d")
        good = ok & _bool(pc.equal(back, clean))
        bad = np.asarray(values.is_valid()) & ~good
        if bad.any():
            self._bad(rows, bad, values, f"{label} is not a valid date CCYYMMDD")
        dates = ts.cast(schema.DATE)
        if bad.any():
            dates = pc.if_else(pa.array(good), dates, pa.scalar(None, schema.DATE))
        return dates


def hmac_keys(secret: bytes | None, values: list[str | None]) -> pa.Array:
    """HMAC-SHA256 hex of each normalised identifier string (null without a secret or a value)."""
    if secret is None:
        return pa.nulls(len(values), pa.string())
    key = secret if len(secret) <= 64 else hashlib.sha256(secret).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(k ^ 0x36 for k in key))
    outer = hashlib.sha256(bytes(k ^ 0x5C for k in key))
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        h = inner.copy()
        h.update(v.encode("utf-8"))
        o = outer.copy()
        o.update(h.digest())
        out.append(o.hexdigest())
    return pa.array(out, pa.string())


def hmac_reference(secret: bytes, value: str) -> str:
    """The same HMAC through the standard library (used to check the fast path)."""
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()
