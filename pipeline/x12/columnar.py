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
ISA_CODE = ISA


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
    """For each group 0..n-1, the first row (rows in file order, so groups non-decreasing) or -1."""
    out = np.full(n, -1, dtype=np.int64)
    if len(rows):
        g = groups[rows]
        first = np.ones(len(g), dtype=bool)
        first[1:] = g[1:] != g[:-1]
        ok = first & (g >= 0) & (g < n)
        out[g[ok]] = rows[ok]
    return out


def _group_sum(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact int64 sums of ``values`` per group id in 0..n-1 (``groups`` need not be sorted)."""
    out = np.zeros(n, dtype=np.int64)
    if len(groups):
        if (groups[1:] >= groups[:-1]).all():
            # rows in file order (the usual case): one exact int64 reduceat over the runs of each group
            starts = np.flatnonzero(np.diff(groups, prepend=groups[0] - 1))
            out[groups[starts]] = np.add.reduceat(np.asarray(values, dtype=np.int64), starts)
        else:
            np.add.at(out, groups, values)
    return out


def _ordinal_within(mask: np.ndarray, opener_rows: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each of ``rows``, how many ``mask`` segments there are from its opener row (``opener_rows``
    gives one per segment, -1 for none) to it, inclusive. One running sum over all segments; the rest
    is read at ``rows`` only."""
    cs = np.cumsum(mask, dtype=np.int64)
    op = opener_rows[rows]
    safe = np.maximum(op, 0)
    before = np.where(op >= 0, cs[safe] - mask[safe], 0)
    return cs[rows] - before


def any_of(sid: np.ndarray, codes) -> np.ndarray:
    """``np.isin(sid, codes)`` for a few codes, as plain comparisons (``isin`` builds a lookup table
    spanning the codes' 24-bit range, which costs more here)."""
    out = sid == codes[0]
    for code_ in codes[1:]:
        out |= sid == code_
    return out


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
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(typ, n, [bitmap, pa.py_buffer(raw)])


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


_POW10 = np.array([10**k for k in range(19)], dtype=np.int64)
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[48:58] = True

_ZEROS8 = np.uint64(0x3030303030303030)  # eight ASCII '0'
_SIXES8 = np.uint64(0x0606060606060606)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _whitespace_touches_delimiter(
    a: np.ndarray, element: int, terminator: int, skip: list[tuple[int, int]]
) -> bool:
    """True when a space, tab, CR or LF sits right after an element separator or right before an element
    separator or terminator, outside the ``skip`` spans (inclusive: the padded ISA segments).

    One comparison (``a <= 0x20``) narrows the search to control bytes and spaces, usually just the
    newlines after terminators, so only those few positions are looked at closely.
    """
    w = np.flatnonzero(a <= 0x20)
    w = w[(w > 0) & _WS_LOOKUP[a[w]] & (a[w] != terminator) & (a[w] != element)]
    if not len(w):
        return False
    last = len(a) - 1
    prev_b = a[w - 1]
    next_b = a[np.minimum(w + 1, last)]
    touching = w[(prev_b == element) | (next_b == element) | (next_b == terminator)]
    for lo, hi in skip:
        if not len(touching):
            break
        touching = touching[(touching < lo) | (touching > hi)]
    return bool(len(touching))


class Chunk:
    """One chunk of file bytes, tokenised, with its segment index.

    ``buf`` holds whole segments only; ``base_offset`` is the file offset of ``buf[0]`` and
    ``base_segment`` the number of segments in the file before it.
    """

    def __init__(
        self, buf: bytes, element: int, component: int, terminator: int, base_offset: int, base_segment: int
    ):
        self.element = element
        self.component = component
        self.base_offset = base_offset
        self.base_segment = base_segment
        # A leading terminator makes every token start with a delimiter, the first one included.
        b = bytes([terminator]) + buf
        self._b = b
        a = np.frombuffer(b, dtype=np.uint8)
        self.a = a
        self.last = len(a) - 1
        is_term = a == terminator
        delim = np.flatnonzero(is_term | (a == element))
        tok_is_term = is_term[delim]
        del is_term
        offsets = np.empty(len(delim) + 1, dtype=np.int64)
        offsets[:-1] = delim
        offsets[-1] = len(b)
        self.offsets = offsets
        seg_tok = np.flatnonzero(tok_is_term)
        nelem = np.diff(seg_tok, append=len(delim)) - 1
        # segment id: skip the whitespace (CR/LF, blank lines) between a terminator and the id
        p = delim[seg_tok] + 1
        e = offsets[seg_tok + 1]
        p = self._skip_leading(p, e)
        idlen = e - p
        while True:  # trailing whitespace of an id-only segment (``SE\r`` with newline terminators)
            m = (idlen > 0) & _WS_LOOKUP[a[np.minimum(p + idlen - 1, self.last)]]
            if not m.any():
                break
            idlen = idlen - m
        keep = (idlen > 0) | (nelem > 0)  # drop empty segments (trailing blank lines, ``~~``)
        if len(keep) and keep[:-1].all():  # at most the newline after the last terminator: a slice
            m = len(keep) - (not keep[-1])
            seg_tok, nelem, p, idlen = seg_tok[:m], nelem[:m], p[:m], idlen[:m]
        elif not keep.all():
            seg_tok, nelem, p, idlen = seg_tok[keep], nelem[keep], p[keep], idlen[keep]
        self.seg_tok = seg_tok
        self.nelem = nelem
        self.byte_pos = p  # position in ``b`` of the id's first byte
        self.n = len(seg_tok)
        last = self.last
        c0 = a[np.minimum(p, last)].astype(np.int64)
        c1 = np.where(idlen > 1, a[np.minimum(p + 1, last)], 0).astype(np.int64)
        c2 = np.where(idlen > 2, a[np.minimum(p + 2, last)], 0).astype(np.int64)
        self.sid = (c0 << 16) | (c1 << 8) | c2
        ok = (idlen >= 2) & (idlen <= 3) & _ID_CHAR[c0] & _ID_CHAR[c1] & ((idlen == 2) | _ID_CHAR[c2])
        self.valid_id = ok
        self.idlen = idlen
        # Elements need trimming only if whitespace touches an element delimiter (rare: CRLF with
        # newline terminators, padded values). ISA fields are fixed-width and padded: the envelope pass
        # trims those itself. Checking once keeps the common path to one gather per column.
        isa_rows = np.flatnonzero(self.sid == ISA_CODE)
        isa_spans = [(int(p[r]), int(offsets[seg_tok[r] + nelem[r] + 1])) for r in isa_rows]
        self.needs_trim = _whitespace_touches_delimiter(a, element, terminator, isa_spans)
        self._row_cache: dict[int, tuple] = {}

    def _skip_leading(self, p: np.ndarray, e: np.ndarray) -> np.ndarray:
        a, last = self.a, self.last
        for _ in range(8):
            m = (p < e) & _WS_LOOKUP[a[np.minimum(p, last)]]
            if not m.any():
                return p
            p = p + m
        p = p.copy()
        for i in np.flatnonzero((p < e) & _WS_LOOKUP[a[np.minimum(p, last)]]):
            while p[i] < e[i] and _WS_LOOKUP[a[p[i]]]:
                p[i] += 1
        return p

    def _skip_trailing(self, s: np.ndarray, e: np.ndarray) -> np.ndarray:
        a, last = self.a, self.last
        for _ in range(64):
            m = (e > s) & _WS_LOOKUP[a[np.clip(e - 1, 0, last)]]
            if not m.any():
                return e
            e = e - m
        e = e.copy()
        for i in np.flatnonzero((e > s) & _WS_LOOKUP[a[np.clip(e - 1, 0, last)]]):
            while e[i] > s[i] and _WS_LOOKUP[a[e[i] - 1]]:
                e[i] -= 1
        return e

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
    def _rows_info(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(present, element count, first token) of each row; cached because most row sets are read
        for several elements (the cache holds the array itself, so its id cannot be reused)."""
        key = id(rows)
        hit = self._row_cache.get(key)
        if hit is not None and hit[0] is rows:
            return hit[1]
        r = np.asarray(rows, dtype=np.int64)
        present = r >= 0
        safe = np.where(present, r, 0)
        info = (present, np.where(present, self.nelem[safe], -1), self.seg_tok[safe])
        self._row_cache[key] = (rows, info)
        return info

    def span(self, rows: np.ndarray, j) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Byte span ``[start, end)`` of element ``j`` (int or array, 1-based) of each row, trimmed;
        ``valid`` is False for ``-1`` rows, missing and empty elements."""
        _, nel, base = self._rows_info(rows)
        valid = nel >= j
        tok = np.where(valid, base + j, 0)
        # two 1-D gathers: several times faster than one gather of (start, end) rows
        s = np.take(self.offsets, tok) + 1
        e = np.take(self.offsets, tok + 1)
        if self.needs_trim:
            s = self._skip_leading(s, e)
            e = self._skip_trailing(s, e)
        valid &= e > s
        return s, e, valid

    def _positions(self, s: np.ndarray, e: np.ndarray, valid: np.ndarray, with_offsets: bool = False):
        """Buffer positions of every byte of the valid spans, span after span (and, on request, each
        span's start offset in that sequence, with the total at the end)."""
        lens = np.where(valid, e - s, 0)
        offs = np.zeros(len(s) + 1, dtype=np.int64)
        np.cumsum(lens, out=offs[1:])
        idx = np.repeat(s - offs[:-1], lens) + np.arange(int(offs[-1]), dtype=np.int64)
        return (offs, idx) if with_offsets else idx

    def strings(self, s: np.ndarray, e: np.ndarray, valid: np.ndarray) -> pa.Array:
        """A string array of the byte spans (invalid → null), built with one numpy gather."""
        n = len(s)
        offs, idx = self._positions(s, e, valid, with_offsets=True)
        data = self.a[idx]
        bitmap = None
        if not valid.all():
            bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        # The chunk was checked to be UTF-8 and spans start and end at ASCII delimiters; a chunk is
        # far below 2 GiB, so 32-bit offsets hold.
        return pa.Array.from_buffers(
            pa.string(), n, [bitmap, pa.py_buffer(offs.astype(np.int32)), pa.py_buffer(data)]
        )

    def raw(self, rows: np.ndarray, j) -> pa.Array:
        """Element ``j`` of each row as strings (trimmed; missing or empty → null)."""
        return self.strings(*self.span(rows, j))

    def qcode(self, rows: np.ndarray, j: int = 1) -> np.ndarray:
        """Integer code (as ``code``) of element ``j`` when it is 1–3 characters long, else -1."""
        s, e, valid = self.span(rows, j)
        ln = e - s
        a, last = self.a, self.last
        c0 = a[np.minimum(s, last)].astype(np.int64)
        c1 = np.where(ln > 1, a[np.minimum(s + 1, last)], 0).astype(np.int64)
        c2 = np.where(ln > 2, a[np.minimum(s + 2, last)], 0).astype(np.int64)
        return np.where(valid & (ln <= 3), (c0 << 16) | (c1 << 8) | c2, -1)

    def components(self, s: np.ndarray, e: np.ndarray, valid: np.ndarray, width: int) -> list[tuple]:
        """Spans of the first ``width`` components of each element span (ISA16 separator)."""
        # component separators inside these spans only (a scan of the whole chunk cost more than the
        # composites themselves): positions of the spans' bytes, kept where the byte is the separator
        idx = self._positions(s, e, valid)
        cpos = idx[self.a[idx] == self.component]
        if len(cpos) > 1 and not (cpos[1:] > cpos[:-1]).all():
            cpos = np.unique(cpos)
        i0 = np.searchsorted(cpos, s)
        i1 = np.searchsorted(cpos, e)
        out = []
        ext = np.append(cpos, self.last + 1)
        for k in range(width):
            has = valid & (i0 + k - 1 < i1) if k else valid.copy()
            cs = s if k == 0 else np.where(has, ext[np.minimum(i0 + k - 1, len(cpos))] + 1, 0)
            ce = np.where(i0 + k < i1, ext[np.minimum(i0 + k, len(cpos))], e)
            if self.needs_trim:
                cs = self._skip_leading(cs, ce)
                ce = self._skip_trailing(cs, ce)
            has &= ce > cs
            out.append((cs, ce, has))
        return out

    def dates(self, s: np.ndarray, e: np.ndarray, valid: np.ndarray) -> tuple[pa.Array, np.ndarray]:
        """CCYYMMDD spans → (date32 array, bad mask for present values that are not real dates).

        Each date is read as one unaligned little-endian 64-bit word (character 1 in the lowest byte),
        checked and converted to digit pairs with a few integer operations on all words at once, then
        to days since 1970 with the proleptic Gregorian day count — no per-value Python, no float.
        """
        n = len(s)
        ok = np.zeros(n, dtype=bool)
        days = np.zeros(n, dtype=np.int32)
        idx = np.flatnonzero(valid)
        if len(idx) and len(self.a) >= 8:
            si = s[idx]
            words = np.ndarray((len(self.a) - 7,), dtype="<u8", buffer=self._b, strides=(1,))
            w = words[np.minimum(si, len(self.a) - 8)]
            high = np.uint64(0xF0F0F0F0F0F0F0F0)
            # every byte 0x30–0x39: high nibble 3, and adding 6 keeps it 3
            dig = ((w & high) == _ZEROS8) & (((w + _SIXES8) & high) == _ZEROS8) & ((e[idx] - si) == 8)
            d = w - _ZEROS8
            pairs = (d * np.uint64(10) + (d >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
            p = pairs.view(np.int64)
            y = (p & 0xFF) * 100 + ((p >> 16) & 0xFF)
            mo = (p >> 32) & 0xFF
            dd = (p >> 48) & 0xFF
            leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
            mdays = _MONTH_DAYS[np.clip(mo, 0, 12)] + ((mo == 2) & leap)
            good = dig & (mo >= 1) & (mo <= 12) & (dd >= 1) & (dd <= mdays) & (y >= 1)
            # days from civil (March-based year so that the leap day ends the year)
            y2 = y - (mo <= 2)
            era = y2 // 400
            yoe = y2 - era * 400
            doy = (153 * ((mo + 9) % 12) + 2) // 5 + dd - 1
            doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
            ok[idx] = good
            days[idx] = np.where(good, era * 146097 + doe - 719468, 0)
        arr = pa.Array.from_buffers(
            pa.date32(), n, [pa.py_buffer(np.packbits(ok, bitorder="little")), pa.py_buffer(days)]
        )
        return arr, valid & ~ok

    def numbers(
        self, s: np.ndarray, e: np.ndarray, valid: np.ndarray, scale: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact fixed-point parse of X12 ``R`` values: (unscaled int64, ok mask).

        Fast path: when every present value uses only digits, ``.`` and ``-``, Arrow's exact
        string → decimal cast does the work; any value it refuses (or an odd character) sends the
        whole batch through ``_numbers_exact``, which also says which values are wrong.
        """
        n = len(s)
        idx = np.flatnonzero(valid)
        if len(idx) == 0:
            return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        si, ei = s[idx], e[idx]
        ln = ei - si
        if ln.max() <= 20:
            strs = self.strings(si, ei, np.ones(len(idx), dtype=bool))
            data = np.frombuffer(strs.buffers()[2], dtype=np.uint8)[: int(ln.sum())]
            neg_first = self.a[si] == 45
            minus = data == 45
            # only '-', '.', '0'-'9' (45–57 except '/'): Arrow's cast would also take '+' or exponents
            shifted = data - np.uint8(45)
            numchar = bool((shifted <= 12).all()) and not bool((shifted == 2).any())
            if numchar and int(minus.sum()) == int(neg_first.sum()):
                try:
                    dec = strs.cast(pa.decimal128(18, scale))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    dec = None
                if dec is not None and dec.null_count == 0:
                    out = np.zeros(n, dtype=np.int64)
                    ok = np.zeros(n, dtype=bool)
                    out[idx] = _unscaled(dec)
                    ok[idx] = True
                    return out, ok
        return self._numbers_exact(s, e, valid, scale)

    def _numbers_exact(
        self, s: np.ndarray, e: np.ndarray, valid: np.ndarray, scale: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact fixed-point parse of X12 ``R`` values: (unscaled int64, ok mask).

        Accepts an optional leading ``-``, digits and at most one ``.``, at most ``scale`` decimals
        and ``18 - scale`` integer digits; anything else (exponents, ``+``, spaces) is not ok.
        """
        n = len(s)
        out = np.zeros(n, dtype=np.int64)
        oks = np.zeros(n, dtype=bool)
        idx = np.flatnonzero(valid)
        if len(idx) == 0:
            return out, oks
        s, e = s[idx], e[idx]
        ln = e - s
        w = int(min(20, ln.max()))
        col_ = np.arange(w)
        m = self.a[np.minimum(s[:, None] + col_, self.last)]
        inside = col_[None, :] < ln[:, None]
        neg = m[:, 0] == 45
        isdig = _DIGIT[m] & inside
        isdot = (m == 46) & inside
        lead = (col_[None, :] == 0) & neg[:, None]
        other = inside & ~isdig & ~isdot & ~lead
        ndot = isdot.sum(axis=1)
        dotpos = np.where(ndot == 1, isdot.argmax(axis=1), ln)
        frac = np.where(ndot == 1, ln - dotpos - 1, 0)
        intd = dotpos - neg
        ok = (ln <= 20) & ~other.any(axis=1) & (ndot <= 1) & isdig.any(axis=1) & (frac <= scale)
        ok &= intd <= 18 - scale
        dp = dotpos[:, None]
        k = col_[None, :]
        power = np.clip(np.where(k < dp, dp - 1 - k + scale, scale - (k - dp)), 0, 18)
        val = np.where(isdig, (m.astype(np.int64) - 48) * _POW10[power], 0).sum(axis=1)
        out[idx] = np.where(ok, np.where(neg, -val, val), 0)
        oks[idx] = ok
        return out, oks


class Values:
    """Typed conversion of element spans with problems reported against segment rows."""

    def __init__(self, chunk: Chunk, log: ProblemLog):
        self.c = chunk
        self.log = log

    def _report(self, rows: np.ndarray, bad: np.ndarray, s: np.ndarray, e: np.ndarray, what: str) -> None:
        idx = np.flatnonzero(bad)
        for k in idx[: self.log.limit]:
            text = self.c._b[int(s[k]) : int(e[k])].decode("utf-8", "replace")
            self.log.add(self.c.problem(int(rows[k]), f"{what}: {text!r}"))
        self.log.count += max(0, len(idx) - self.log.limit)

    def missing(self, rows: np.ndarray, valid: np.ndarray, label: str) -> None:
        for k in np.flatnonzero((rows >= 0) & ~valid)[: self.log.limit]:
            self.log.add(self.c.problem(int(rows[k]), f"{label} is missing (required)"))

    def decimal(
        self,
        rows: np.ndarray,
        j,
        label: str,
        typ: pa.DataType = schema.MONEY,
        required: bool = False,
        span: tuple | None = None,
    ) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """Exact decimal of element ``j``: (decimal128 array, unscaled int64, ok mask)."""
        s, e, v = span if span is not None else self.c.span(rows, j)
        scale = 2 if typ == schema.MONEY else 3
        val, ok = self.c.numbers(s, e, v, scale)
        bad = v & ~ok
        if bad.any():
            kind = "amount" if scale == 2 else "quantity"
            self._report(
                rows,
                bad,
                s,
                e,
                f"{label} is not a valid {kind} (digits with optional '-', "
                f"at most {scale} decimals and {18 - scale} integer digits)",
            )
        if required:
            self.missing(rows, v, label)
        return _decimal_from_unscaled(val, ok, typ), val, ok

    def date(self, rows: np.ndarray, j, label: str, span: tuple | None = None) -> pa.Array:
        """CCYYMMDD element → date32 (real calendar dates only)."""
        s, e, v = span if span is not None else self.c.span(rows, j)
        arr, bad = self.c.dates(s, e, v)
        if bad.any():
            self._report(rows, bad, s, e, f"{label} is not a valid date CCYYMMDD")
        return arr


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hmac_keys(secret: bytes | None, values: pa.Array) -> pa.Array:
    """HMAC-SHA256 hex of each normalised identifier string (null without a secret or a value).

    Each distinct value is hashed once (a patient has many claims). The keyed inner and outer SHA-256
    states are computed once and copied per value (RFC 2104), about twice as fast as ``hmac.digest``
    here; ``hmac_reference`` is the standard-library form the tests compare with.
    """
    if secret is None:
        return pa.nulls(len(values), pa.string())
    enc = values.dictionary_encode()
    key = secret if len(secret) <= 64 else hashlib.sha256(secret).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(k ^ 0x36 for k in key))
    outer = hashlib.sha256(bytes(k ^ 0x5C for k in key))
    digests = []
    for v in enc.dictionary.cast(pa.binary()).to_pylist():  # UTF-8 bytes, no per-value encode
        h = inner.copy()
        h.update(v)
        o = outer.copy()
        o.update(h.digest())
        digests.append(o.digest())
    # hex of all digests at once, as one fixed-width (64 characters) string array
    raw = np.frombuffer(b"".join(digests), dtype=np.uint8)
    text = np.empty(2 * len(raw), dtype=np.uint8)
    text[0::2] = _HEX[raw >> 4]
    text[1::2] = _HEX[raw & 15]
    m = len(digests)
    offsets = np.arange(m + 1, dtype=np.int32) * 64
    hexes = pa.Array.from_buffers(pa.string(), m, [None, pa.py_buffer(offsets), pa.py_buffer(text)])
    return hexes.take(enc.indices)


def hmac_reference(secret: bytes, value: str) -> str:
    """The same HMAC through the standard library (used to check the fast path)."""
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()
