# ruff: noqa: SIM109 - chained ``==`` compile to plain integer compares in numba
"""The parser's compiled core: numba kernels over the bytes of one ST-bounded piece.

Imported lazily (on the first parse), so that ``import pipeline.x12`` and the CLI do not load numba.
Every kernel is ``@njit(cache=True, nogil=True)``: compiled once, cached on disk beside this file (or in
``NUMBA_CACHE_DIR``, or numba's per-user cache when this folder is read-only), and run without the GIL,
so that the parser's two worker threads really run in parallel. See docs/parser.md (Design).

Conventions: ``a`` is the piece as a ``uint8`` array; a byte span is ``(s, e)`` with ``e > s`` when
present, ``(0, 0)`` when missing or empty. Segment ``r`` starts at token ``seg_tok[r]``; token ``k`` is
the bytes between delimiter ``off[k]`` and ``off[k + 1]`` (``off[0] = -1``: a virtual terminator before
the first byte), so element ``j`` of segment ``r`` is token ``seg_tok[r] + j``. Every index into ``a`` or
``off`` is bounded by construction (numba does not check bounds).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.core.errors import NumbaWarning
from numba.extending import intrinsic

from pipeline.x12 import fields


def _jit(fn):
    """``njit(cache=True, nogil=True)``, or without the on-disk cache where no cache folder is usable."""
    try:
        return njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available" (read-only, no home)
        return njit(nogil=True)(fn)


warnings.filterwarnings("ignore", category=NumbaWarning, module=__name__)


def _code(segment_id: str) -> int:
    """The integer code of a 1–3 byte segment id or qualifier, as ``_qcode`` computes it."""
    b = segment_id.encode()
    return (b[0] << 16) | ((b[1] << 8) if len(b) > 1 else 0) | (b[2] if len(b) > 2 else 0)


ISA, IEA, GS, GE, ST, SE = (_code(s) for s in ("ISA", "IEA", "GS", "GE", "ST", "SE"))
BPR, N1, REF, LX, CLP, CAS, MIA, MOA, SVC, LQ, PLB = (
    _code(s) for s in ("BPR", "N1", "REF", "LX", "CLP", "CAS", "MIA", "MOA", "SVC", "LQ", "PLB")
)
Q_HE, Q_RX, Q_F8, Q_6R = (_code(q) for q in ("HE", "RX", "F8", "6R"))

# counts[] slots filled by tokenize (capacities for walk)
N_ST, N_CLP, N_SVC, N_CAS, N_TRIPLES, N_PLB, N_PAIRS, N_REMARKS, N_LX, N_REF = range(10)
N_COUNTS = 10

# structural problems recorded by walk (at most PROBLEM_CAP each, as the columnar parser listed them)
P_NOT_ID, P_OUTSIDE, P_CAS_OUT, P_SVC_OUT, P_CAS_NO_REASON, P_CAS_NO_AMOUNT, P_CAS01, P_PLB_PAIR = range(8)
PROBLEM_KINDS = 8
PROBLEM_CAP = 20

# Loop levels (fields.LEVELS) and the fixed rows of their slot matrices (fields.FIXED_SLOTS); the
# "first" slots after them, and the spans the walk copies, are generated from fields.FIELDS (``LAYOUT``).
LV_TXN, LV_CLAIM, LV_LINE, LV_PLB, LV_SUM = range(5)
N_LEVELS = 5
TX_ST = 0
CL_ROW, CL_TXN, CL_ORD, CL_SEGNO, CL_LINES = range(5)
LN_ROW, LN_CLAIM, LN_NO, LN_TXN = range(4)
LX_ROW, LX_TXN, LX_ORD = range(3)
AD_ROW, AD_POS, AD_ORD, AD_CLAIM, AD_LINE, AD_TXN = range(6)
PB_ROW, PB_TXN, PB_ORD = range(3)
PL_PLB, PL_POS = range(2)
RM_ROW, RM_J, RM_SRC, RM_CLAIM, RM_LINE, RM_TXN = range(6)
RF_ROW, RF_CLAIM, RF_LINE, RF_TXN, RF_ORD = range(5)

# Segment ids and (level, segment, qualifier) keys are found by perfect hashing: a multiplier is chosen
# (``_perfect``) so that every key of the layout has a slot of its own; a lookup is one multiply, one
# load and one compare, with no probing loop (the walk does it for nearly every segment).
HASH_SIZE, KEY_SHIFT = 256, 16  # (level, segment, qualifier) -> slot: ((key * mult) >> KEY_SHIFT) % size
SEG_SIZE, SEG_SHIFT = 64, 8  # segment id -> SEG_QUALIFIED | SEG_SOURCE
SEG_QUALIFIED, SEG_SOURCE = 1, 2  # read element 01 as its qualifier; fills some "first" slot
UNQUALIFIED = 1 << 24  # the qualifier part of the key of a segment selected without a qualifier

# The layout is one int64 array of fixed-offset regions, compiled into the walk as a constant
# (``_make_walk``): see ``_layout_array``.
MAX_FILLS, MAX_COPIED, MAX_SLOTS = 128, 256, 64
O_KEYS = 0  # HASH_SIZE entries: key << 8 | slot (-1: none), one load per lookup
O_SEG_KEYS = O_KEYS + HASH_SIZE  # SEG_SIZE entries: segment id << 8 | bits (-1: none)
O_MULT = O_SEG_KEYS + SEG_SIZE  # segment multiplier, key multiplier
O_FILL_LEVEL = O_MULT + 2
O_FILL_START = O_FILL_LEVEL + MAX_FILLS
O_FILL_ELEMENT = O_FILL_START + MAX_FILLS + 1
O_FILL_COLUMN = O_FILL_ELEMENT + MAX_COPIED
O_FIRST_FILL = O_FILL_COLUMN + MAX_COPIED  # [level * MAX_SLOTS + slot]
O_OPENER_FILL = O_FIRST_FILL + N_LEVELS * MAX_SLOTS
O_KEEP_FROM = O_OPENER_FILL + N_LEVELS
O_NSLOTS = O_KEEP_FROM + N_LEVELS
O_WIDTHS = O_NSLOTS + N_LEVELS
LAYOUT_SIZE = O_WIDTHS + N_LEVELS


def _key(level: int, segment: int, qualifier: int) -> int:
    """One integer for (level, segment, qualifier); ``_lookup`` computes the same."""
    return ((segment * 31 + qualifier) << 3) | level


def _slot_of(x: int, mult: int, size: int, shift: int) -> int:
    return ((x * mult) >> shift) & (size - 1)


def _perfect(keys: list[int], size: int, shift: int) -> int:
    """The smallest odd multiplier that gives each key its own slot (keys < 2**31 and multipliers
    < 2**20: the product never overflows int64). Tried 4,096 multipliers at a time in numpy: one by one
    in Python the search took 40 ms of every parsing process's start."""
    x = np.asarray(keys, np.int64)
    for start in range(1, 1 << 20, 2 * 4096):
        mults = np.arange(start, min(start + 2 * 4096, 1 << 20), 2, dtype=np.int64)
        slots = np.sort(((x[None, :] * mults[:, None]) >> shift) & (size - 1), axis=1)
        distinct = (np.diff(slots, axis=1) != 0).all(axis=1)
        if distinct.any():
            return int(mults[np.argmax(distinct)])
    raise ValueError("no perfect hash for the field layout: make the table larger")


def _layout_arrays(lay: fields.Layout) -> tuple:
    """The walk's view of the field layout, as arrays (a closure constant of the walk, not a global:
    numba would bake a global into its on-disk cache, keyed by this file only, and miss a change of
    fields.py; a closure's contents are part of the key)."""
    levels = fields.LEVELS
    info: dict[int, int] = {LQ: SEG_QUALIFIED}
    slot_keys: dict[int, int] = {}
    fill_level, fill_start, fill_element, fill_column = [], [0], [], []
    nslots = np.array([lay.slots(level) for level in levels], np.int64)
    first_fill = np.full((len(levels), int(nslots.max())), -1, np.int64)
    opener_fill = np.full(len(levels), -1, np.int64)
    keep_from = np.zeros(len(levels), np.int64)  # copied columns from here on are "first" columns
    for src in lay.sources:
        lv = fields.LEVEL[src.level]
        k = len(fill_level)
        fill_level.append(lv)
        fill_element.extend(e for e, _ in src.copied)
        fill_column.extend(col for _, col in src.copied)
        fill_start.append(len(fill_element))
        if src.slot < 0:
            opener_fill[lv] = k
            keep_from[lv] = len(src.copied)
            continue
        first_fill[lv, src.slot] = k
        sc = _code(src.segment)
        info[sc] = info.get(sc, 0) | SEG_SOURCE | (SEG_QUALIFIED if src.qualifier else 0)
        slot_keys[_key(lv, sc, _code(src.qualifier) if src.qualifier else UNQUALIFIED)] = src.slot
    seg_mult = _perfect(list(info), SEG_SIZE, SEG_SHIFT)
    key_mult = _perfect(list(slot_keys), HASH_SIZE, KEY_SHIFT)
    seg_keys = np.full(SEG_SIZE, -1, np.int64)
    for sc, bits in info.items():
        seg_keys[_slot_of(sc, seg_mult, SEG_SIZE, SEG_SHIFT)] = sc << 8 | bits
    keys = np.full(HASH_SIZE, -1, np.int64)
    for key, slot in slot_keys.items():
        keys[_slot_of(key, key_mult, HASH_SIZE, KEY_SHIFT)] = key << 8 | slot
    widths = np.array([lay.width(level) for level in levels], np.int64)
    return (
        keys,
        seg_keys,
        np.array([seg_mult, key_mult], np.int64),
        np.array(fill_level, np.int64),
        np.array(fill_start, np.int64),
        np.array(fill_element, np.int64),
        np.array(fill_column, np.int64),
        first_fill,
        opener_fill,
        keep_from,
        nslots,
        widths,
    )


def _layout_array(lay: fields.Layout) -> np.ndarray:
    """``_layout_arrays`` packed into one array at the ``O_*`` offsets."""
    (keys, seg_keys, mults, fill_level, fill_start, fill_element, fill_column, first_fill,
     opener_fill, keep_from, nslots, widths) = _layout_arrays(lay)  # fmt: skip
    if len(fill_level) > MAX_FILLS or len(fill_element) > MAX_COPIED or first_fill.shape[1] > MAX_SLOTS:
        raise ValueError("the field layout outgrew the walk's layout array: raise MAX_FILLS/COPIED/SLOTS")
    out = np.zeros(LAYOUT_SIZE, np.int64)
    for offset, part in (
        (O_KEYS, keys), (O_SEG_KEYS, seg_keys), (O_MULT, mults),
        (O_FILL_LEVEL, fill_level), (O_FILL_START, fill_start), (O_FILL_ELEMENT, fill_element),
        (O_FILL_COLUMN, fill_column), (O_OPENER_FILL, opener_fill), (O_KEEP_FROM, keep_from),
        (O_NSLOTS, nslots), (O_WIDTHS, widths),
    ):  # fmt: skip
        out[offset : offset + len(part)] = part
    out[O_FIRST_FILL : O_FIRST_FILL + N_LEVELS * MAX_SLOTS] = -1
    for lv in range(N_LEVELS):
        row = first_fill[lv]
        out[O_FIRST_FILL + lv * MAX_SLOTS : O_FIRST_FILL + lv * MAX_SLOTS + len(row)] = row
    return out


LAYOUT = fields.layout()
LAYOUT_ARRAYS = _layout_array(LAYOUT)


@intrinsic
def _copy_bytes(typingctx, dst, dpos, src, spos, n):
    """``dst[dpos:dpos + n] = src[spos:spos + n]`` as one ``memcpy`` (a slice assignment costs reference
    counting and an overlap check per call; a byte loop is slower for ids)."""
    sig = types.void(dst, types.int64, src, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        d = context.make_array(signature.args[0])(context, builder, args[0])
        s = context.make_array(signature.args[2])(context, builder, args[2])
        cgutils.raw_memcpy(
            builder, builder.gep(d.data, [args[1]]), builder.gep(s.data, [args[3]]), args[4], 1
        )
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always")
def _ws(c):
    return c == 32 or (9 <= c <= 13)


@njit(inline="always")
def _idchar(c):
    return (65 <= c <= 90) or (48 <= c <= 57)


@njit(inline="always")
def _span(a, off, tok, nel, j, trim):
    """Element ``j`` (1-based) of the segment at token ``tok`` with ``nel`` elements: (s, e) or (0, 0)."""
    if j < 1 or j > nel:
        return 0, 0
    s = off[tok + j] + 1
    e = off[tok + j + 1]
    if trim:
        while s < e and _ws(a[s]):
            s += 1
        while e > s and _ws(a[e - 1]):
            e -= 1
    if e > s:
        return s, e
    return 0, 0


@njit(inline="always")
def _qcode(a, s, e):
    """Integer code of a 1–3 byte span (as segment ids are coded), else -1."""
    n = e - s
    if n < 1 or n > 3:
        return -1
    c = np.int64(a[s]) << 16
    if n > 1:
        c |= np.int64(a[s + 1]) << 8
    if n > 2:
        c |= np.int64(a[s + 2])
    return c


@_jit
def tokenize(a, element, terminator):
    """Delimiter offsets, the segment index and whether any value needs trimming, in one pass.

    Returns ``(off, seg_tok, nelem, id_pos, id_len, sid, valid_id, counts, needs_trim)``. Empty segments
    (blank lines, ``~~``) are dropped. A segment id is its first token without surrounding whitespace;
    ``sid`` packs its first three bytes. ``needs_trim``: some whitespace byte sits right after an element
    separator, or right before a separator or terminator, outside ISA segments (padded fixed-width).
    """
    n = a.shape[0]
    nd = 0
    nterm = 0
    for i in range(n):  # branch-free count (vectorised by LLVM)
        c = a[i]
        nd += (c == terminator) | (c == element)
        nterm += c == terminator
    off = np.empty(nd + 2, np.int64)
    off[0] = -1
    cap = nterm + 1
    seg_tok = np.empty(cap, np.int64)
    nelem = np.empty(cap, np.int64)
    id_pos = np.empty(cap, np.int64)
    id_len = np.empty(cap, np.int64)
    sid = np.empty(cap, np.int64)
    valid = np.empty(cap, np.bool_)
    counts = np.zeros(N_COUNTS, np.int64)
    needs_trim = False
    ns = 0
    k = 1
    first = 0
    i = 0
    while True:
        # the elements of one segment, up to its terminator (or the end of the piece)
        while i < n:
            c = a[i]
            if c == terminator:
                break
            if c == element:
                off[k] = i
                k += 1
            i += 1
        off[k] = i
        # the segment made of tokens [first, k)
        nel = k - first - 1
        p = off[first] + 1
        e = off[first + 1]
        while p < e and _ws(a[p]):
            p += 1
        ln = e - p
        while ln > 0 and _ws(a[p + ln - 1]):
            ln -= 1
        code = np.int64(-1)
        if ln > 0 or nel > 0:
            c0 = np.int64(a[p])  # p < n: inside the id, or at the separator after an empty one
            c1 = np.int64(a[p + 1]) if ln > 1 else np.int64(0)
            c2 = np.int64(a[p + 2]) if ln > 2 else np.int64(0)
            code = (c0 << 16) | (c1 << 8) | c2
            seg_tok[ns] = first
            nelem[ns] = nel
            id_pos[ns] = p
            id_len[ns] = ln
            sid[ns] = code
            valid[ns] = 2 <= ln <= 3 and _idchar(c0) and _idchar(c1) and (ln == 2 or _idchar(c2))
            ns += 1
            if code == ST:
                counts[N_ST] += 1
            elif code == CLP:
                counts[N_CLP] += 1
            elif code == SVC:
                counts[N_SVC] += 1
            elif code == CAS:
                counts[N_CAS] += 1
                counts[N_TRIPLES] += min(max((nel + 1) // 3, 0), 6)
            elif code == PLB:
                counts[N_PLB] += 1
                counts[N_PAIRS] += min(max((nel - 1) // 2, 0), 6)
            elif code == LQ:
                counts[N_REMARKS] += 1
            elif code == MIA or code == MOA:
                counts[N_REMARKS] += 5
            elif code == REF:
                counts[N_REF] += 1
            elif code == LX:
                counts[N_LX] += 1
        if not needs_trim and code != ISA:
            for t in range(first, k):
                s0 = off[t] + 1
                e0 = off[t + 1]
                if e0 > s0 and ((t > first and _ws(a[s0])) or (e0 < n and _ws(a[e0 - 1]))):
                    needs_trim = True
        if i >= n:
            break
        first = k
        k += 1
        i += 1
    return (
        off,
        seg_tok[:ns],
        nelem[:ns],
        id_pos[:ns],
        id_len[:ns],
        sid[:ns],
        valid[:ns],
        counts,
        needs_trim,
    )


@njit(inline="always")
def _problem(prow, paux, pn, kind, r, aux):
    if pn[kind] < PROBLEM_CAP:
        prow[kind, pn[kind]] = r
        paux[kind, pn[kind]] = aux
        pn[kind] += 1


@njit
def _columns(sp, base, n, ncols):
    """``n`` rows of ``ncols`` span pairs from ``sp[base:]`` as (starts, ends): one contiguous array per
    column each."""
    starts = np.empty((ncols, n), np.int64)
    ends = np.empty((ncols, n), np.int64)
    for r in range(n):
        row = base + r * 2 * ncols
        for x in range(ncols):
            starts[x, r] = sp[row + 2 * x]
            ends[x, r] = sp[row + 2 * x + 1]
    return starts, ends


@njit(inline="always")
def _clear(sp, row, lo, hi):
    for x in range(lo, hi):
        sp[row + x] = 0


@njit(inline="always")
def _lookup(lay, mult, level, segment, qualifier):
    """The slot of (level, segment, qualifier) in the layout's perfect hash table, else -1."""
    key = ((segment * 31 + qualifier) << 3) | level
    entry = lay[O_KEYS + (((key * mult) >> KEY_SHIFT) & (HASH_SIZE - 1))]
    return entry & 255 if entry >> 8 == key else -1


@njit(inline="always")
def _segment_info(lay, mult, segment):
    """SEG_QUALIFIED | SEG_SOURCE bits of a segment id (0: none)."""
    entry = lay[O_SEG_KEYS + (((segment * mult) >> SEG_SHIFT) & (SEG_SIZE - 1))]
    return entry & 255 if entry >> 8 == segment else 0


def _make_walk(layout: np.ndarray):
    """The walk compiled for one layout array (``_layout_array``): the layout is a closure variable,
    so numba compiles it in as constants (the multipliers, fill tables and widths fold into the code:
    read through an argument they cost the walk about 13 %), and numba's cache keys the compiled walk
    by the closure's contents as well as by this file, so a change of fields.py recompiles it."""
    # per level scalars as Python ints (closure constants): the opener's span row cleared with
    # constant bounds, the multipliers folded into the lookups
    seg_mult, key_mult = int(layout[O_MULT]), int(layout[O_MULT + 1])
    w_txn, w_claim, w_line, w_plb, w_sum = (int(v) for v in layout[O_WIDTHS : O_WIDTHS + N_LEVELS])
    k_txn, k_claim, k_line, _, k_sum = (int(v) for v in layout[O_KEEP_FROM : O_KEEP_FROM + N_LEVELS])
    f_txn, f_claim, f_line, f_plb, f_sum = (int(v) for v in layout[O_OPENER_FILL : O_OPENER_FILL + N_LEVELS])

    @_jit
    def walk(a, off, seg_tok, nelem, sid, valid, counts, trim):
        """One pass over the segments: loop context, the source rows of every table row, and the byte
        spans of the elements the tables read most (taken while the segment is in cache).

        Loop context: a segment is in a transaction between ST and SE; in a provider summary from an LX
        until the next CLP (or ST, SE, PLB, envelope); in a claim from a CLP (inside a transaction) until
        ST, SE, LX, PLB or an envelope segment; in a line from an SVC (inside a claim) until the next CLP or
        the claim ends. ``layout`` (``LAYOUT_ARRAYS``, generated from fields.py) says which segments fill a
        "first" slot at each level: the slot keeps the row of the first such segment of its transaction,
        summary, claim or line, and the walk copies the spans the layout lists for it (``FILL``); other
        elements are read later from that row.
        """
        lay = layout  # a constant of the compiled code (see _make_walk)
        nslots = lay[O_NSLOTS : O_NSLOTS + N_LEVELS]
        widths = lay[O_WIDTHS : O_WIDTHS + N_LEVELS]
        ns = sid.shape[0]
        nt = counts[N_ST]
        nc = counts[N_CLP]
        nl = counts[N_SVC]
        nx = counts[N_LX]
        tx = np.full((nslots[LV_TXN], nt), -1, np.int64)
        cl = np.full((nslots[LV_CLAIM], nc), -1, np.int64)
        ln = np.full((nslots[LV_LINE], nl), -1, np.int64)
        lx = np.full((nslots[LV_SUM], nx), -1, np.int64)
        ad = np.empty((6, counts[N_TRIPLES]), np.int64)
        pb = np.empty((3, counts[N_PLB]), np.int64)
        pl = np.empty((2, counts[N_PAIRS]), np.int64)
        rm = np.empty((6, counts[N_REMARKS]), np.int64)
        rf = np.empty((5, counts[N_REF]), np.int64)
        # one flat row-major span buffer per level, one after the other: a row's (start, end) pairs are
        # adjacent, so copying a segment's spans writes one or two cache lines
        rows_of = np.array([nt, nc, nl, counts[N_PLB], nx], np.int64)
        bases = np.zeros(N_LEVELS + 1, np.int64)
        for lv in range(N_LEVELS):
            bases[lv + 1] = bases[lv] + rows_of[lv] * 2 * widths[lv]
        sp = np.empty(bases[N_LEVELS], np.int64)
        xsum = -1  # the open provider summary row
        ads = np.empty((4, counts[N_TRIPLES]), np.int64)
        ade = np.empty((4, counts[N_TRIPLES]), np.int64)
        pls = np.empty((2, counts[N_PAIRS]), np.int64)
        ple = np.empty((2, counts[N_PAIRS]), np.int64)
        rms = np.empty((1, counts[N_REMARKS]), np.int64)
        rme = np.empty((1, counts[N_REMARKS]), np.int64)
        prow = np.zeros((PROBLEM_KINDS, PROBLEM_CAP), np.int64)
        paux = np.zeros((PROBLEM_KINDS, PROBLEM_CAP), np.int64)
        pn = np.zeros(PROBLEM_KINDS, np.int64)
        # whether any row of a level has filled slot [level * MAX_SLOTS + slot] (the tables skip the
        # columns of segments the piece does not hold without scanning the slot matrices)
        filled = np.zeros(N_LEVELS * MAX_SLOTS, np.bool_)
        xs3 = np.zeros(3, np.int64)
        xe3 = np.zeros(3, np.int64)
        in_txn = False
        claim_open = False
        line_open = False
        summary_open = False
        t = -1
        c = -1
        li = -1
        na = 0
        npb = 0
        npl = 0
        nr = 0
        nrf = 0
        last_st = -1
        clp_ctr = 0
        svc_ctr = 0
        cas_ctr = 0
        plb_ctr = 0
        lx_ctr = 0
        ref_ctr = 0
        for r in range(ns):
            s = sid[r]
            tok = seg_tok[r]
            nel = nelem[r]
            fill = -1  # which FILL entry copies this segment's spans (-1: none)
            fk = 0  # into which row of its level's spans
            opened = -1  # the level whose row this segment opens
            if not valid[r]:
                _problem(prow, paux, pn, P_NOT_ID, r, 0)
            if s == ST:
                in_txn = True
                t += 1
                tx[TX_ST, t] = r
                last_st = r
                clp_ctr = 0
                plb_ctr = 0
                lx_ctr = 0
                opened = LV_TXN
                fk = t
            elif s == SE:
                in_txn = False
            if s == ST or s == SE or s == LX or s == PLB or s == GE or s == IEA or s == ISA or s == GS:
                claim_open = False
                summary_open = False
            if s == LX and in_txn:
                summary_open = True
                lx_ctr += 1
                xsum += 1
                xi = xsum
                lx[LX_ROW, xi] = r
                lx[LX_TXN, xi] = t
                lx[LX_ORD, xi] = lx_ctr
                opened = LV_SUM
                fk = xi
            if s == CLP and in_txn:
                claim_open = True
                line_open = False
                summary_open = False
                c += 1
                clp_ctr += 1
                svc_ctr = 0
                cas_ctr = 0
                ref_ctr = 0
                cl[CL_ROW, c] = r
                cl[CL_TXN, c] = t
                cl[CL_ORD, c] = clp_ctr
                cl[CL_SEGNO, c] = r - last_st + 1
                cl[CL_LINES, c] = 0
                opened = LV_CLAIM
                fk = c
            in_claim = in_txn and claim_open
            if s == SVC and in_claim:
                line_open = True
                li += 1
                svc_ctr += 1
                cas_ctr = 0
                ref_ctr = 0
                ln[LN_ROW, li] = r
                ln[LN_CLAIM, li] = c
                ln[LN_NO, li] = svc_ctr
                ln[LN_TXN, li] = t
                cl[CL_LINES, c] += 1
                opened = LV_LINE
                fk = li
            in_line = in_claim and line_open
            if opened >= 0:  # "first" columns stay missing until their segment
                if opened == LV_LINE:
                    fill = f_line
                    _clear(sp, bases[LV_LINE] + fk * 2 * w_line, 2 * k_line, 2 * w_line)
                elif opened == LV_CLAIM:
                    fill = f_claim
                    _clear(sp, bases[LV_CLAIM] + fk * 2 * w_claim, 2 * k_claim, 2 * w_claim)
                elif opened == LV_TXN:
                    fill = f_txn
                    _clear(sp, bases[LV_TXN] + fk * 2 * w_txn, 2 * k_txn, 2 * w_txn)
                else:
                    fill = f_sum
                    _clear(sp, bases[LV_SUM] + fk * 2 * w_sum, 2 * k_sum, 2 * w_sum)
            if not in_txn:
                envelope = s == ISA or s == IEA or s == GS or s == GE or s == ST or s == SE
                if not envelope and valid[r]:
                    _problem(prow, paux, pn, P_OUTSIDE, r, 0)
            else:
                q = np.int64(-1)
                # CAS and the row openers are read without a qualifier and fill no "first" slot
                bits = 0 if opened >= 0 or s == CAS else _segment_info(lay, seg_mult, s)
                is_q = (bits & SEG_QUALIFIED) != 0
                if is_q:
                    qs, qe = _span(a, off, tok, nel, 1, trim)
                    q = _qcode(a, qs, qe)
                if not in_claim:
                    if s == CAS:
                        _problem(prow, paux, pn, P_CAS_OUT, r, 0)
                    elif s == SVC:
                        _problem(prow, paux, pn, P_SVC_OUT, r, 0)
                    elif s == PLB:
                        plb_ctr += 1
                        pb[PB_ROW, npb] = r
                        pb[PB_TXN, npb] = t
                        pb[PB_ORD, npb] = plb_ctr
                        fill = f_plb
                        fk = npb
                        for p in range(6):
                            for x in range(2):
                                xs, xe = _span(a, off, tok, nel, 3 + 2 * p + x, trim)
                                xs3[x] = xs
                                xe3[x] = xe
                            cv = xe3[0] > xs3[0]
                            pv = xe3[1] > xs3[1]
                            if cv != pv:
                                _problem(prow, paux, pn, P_PLB_PAIR, r, 2 * p + (1 if cv else 0))
                            if cv or pv:
                                pl[PL_PLB, npl] = npb
                                pl[PL_POS, npl] = p
                                pls[0, npl] = xs3[0]
                                ple[0, npl] = xe3[0]
                                pls[1, npl] = xs3[1]
                                ple[1, npl] = xe3[1]
                                npl += 1
                        npb += 1
                # the "first" slot this segment fills, if any: looked up by (level, segment, qualifier)
                if opened < 0 and (bits & SEG_SOURCE) != 0 and (q >= 0 or not is_q):
                    level = LV_LINE if in_line else (LV_CLAIM if in_claim else LV_TXN)
                    qv = q if is_q else UNQUALIFIED
                    slot = _lookup(lay, key_mult, level, s, qv)
                    if slot < 0 and summary_open and level == LV_TXN:
                        level = LV_SUM
                        slot = _lookup(lay, key_mult, level, s, qv)
                    if slot >= 0:
                        # one branch per level: a variable holding one of the arrays would cost a
                        # reference count (atomic) per segment
                        first = False
                        if level == LV_LINE:
                            ri = li
                            if ln[slot, ri] < 0:
                                ln[slot, ri] = r
                                first = True
                        elif level == LV_CLAIM:
                            ri = c
                            if cl[slot, ri] < 0:
                                cl[slot, ri] = r
                                first = True
                        elif level == LV_TXN:
                            ri = t
                            if tx[slot, ri] < 0:
                                tx[slot, ri] = r
                                first = True
                        else:
                            ri = xsum
                            if lx[slot, ri] < 0:
                                lx[slot, ri] = r
                                first = True
                        if first:
                            fill = lay[O_FIRST_FILL + level * MAX_SLOTS + slot]
                            fk = ri
                            filled[level * MAX_SLOTS + slot] = True
                if in_claim:
                    line = li if in_line else -1
                    if s == CAS:
                        cas_ctr += 1
                        gs_, ge_ = _span(a, off, tok, nel, 1, trim)
                        if ge_ <= gs_:
                            _problem(prow, paux, pn, P_CAS01, r, 0)
                        ntrip = min(max((nel + 1) // 3, 0), 6)
                        for tp in range(ntrip):
                            for x in range(3):
                                xs, xe = _span(a, off, tok, nel, 2 + 3 * tp + x, trim)
                                xs3[x] = xs
                                xe3[x] = xe
                            rv = xe3[0] > xs3[0]
                            av = xe3[1] > xs3[1]
                            uv = xe3[2] > xs3[2]
                            if not rv and (av or uv):
                                _problem(prow, paux, pn, P_CAS_NO_REASON, r, tp)
                            if rv and not av:
                                _problem(prow, paux, pn, P_CAS_NO_AMOUNT, r, tp)
                            if rv or av:
                                ad[AD_ROW, na] = r
                                ad[AD_POS, na] = tp
                                ad[AD_ORD, na] = cas_ctr
                                ad[AD_CLAIM, na] = c
                                ad[AD_LINE, na] = line
                                ad[AD_TXN, na] = t
                                ads[0, na] = gs_
                                ade[0, na] = ge_
                                for x in range(3):
                                    ads[x + 1, na] = xs3[x]
                                    ade[x + 1, na] = xe3[x]
                                na += 1
                    elif s == REF and q != Q_F8 and q != Q_6R:  # those two are columns of their own
                        ref_ctr += 1
                        rf[RF_ROW, nrf] = r
                        rf[RF_CLAIM, nrf] = c
                        rf[RF_LINE, nrf] = line
                        rf[RF_TXN, nrf] = t
                        rf[RF_ORD, nrf] = ref_ctr
                        nrf += 1
                    elif (s == LQ and (q == Q_HE or q == Q_RX)) or s == MIA or s == MOA:
                        src = 0 if s == LQ and q == Q_HE else (1 if s == LQ else (2 if s == MIA else 3))
                        lo = 2 if s == LQ else (5 if s == MIA else 3)
                        hi = 2 if s == LQ else (23 if s == MIA else 7)
                        for j in range(lo, hi + 1):
                            if s == MIA and 5 < j < 20:
                                continue
                            xs, xe = _span(a, off, tok, nel, j, trim)
                            if xe > xs:
                                rm[RM_ROW, nr] = r
                                rm[RM_J, nr] = j
                                rm[RM_SRC, nr] = src
                                rm[RM_CLAIM, nr] = c
                                rm[RM_LINE, nr] = line
                                rm[RM_TXN, nr] = t
                                rms[0, nr] = xs
                                rme[0, nr] = xe
                                nr += 1
            if fill >= 0:
                # copy the spans this segment gives its table row (see FILL)
                lv = lay[O_FILL_LEVEL + fill]
                row = bases[lv] + fk * 2 * widths[lv]
                for x in range(lay[O_FILL_START + fill], lay[O_FILL_START + fill + 1]):
                    xs, xe = _span(a, off, tok, nel, lay[O_FILL_ELEMENT + x], trim)
                    col = row + 2 * lay[O_FILL_COLUMN + x]
                    sp[col] = xs
                    sp[col + 1] = xe
        nxr = xsum + 1
        return (
            (tx[:, : t + 1], *_columns(sp, bases[LV_TXN], t + 1, widths[LV_TXN])),
            (cl[:, : c + 1], *_columns(sp, bases[LV_CLAIM], c + 1, widths[LV_CLAIM])),
            (ln[:, : li + 1], *_columns(sp, bases[LV_LINE], li + 1, widths[LV_LINE])),
            (ad[:, :na], ads[:, :na], ade[:, :na]),
            (pb[:, :npb], *_columns(sp, bases[LV_PLB], npb, widths[LV_PLB])),
            (pl[:, :npl], pls[:, :npl], ple[:, :npl]),
            (rm[:, :nr], rms[0, :nr], rme[0, :nr]),
            (prow, paux, pn),
            lx[:, :nxr],
            rf[:, :nrf],
            filled.reshape((N_LEVELS, MAX_SLOTS)),
        )

    return walk


walk = _make_walk(LAYOUT_ARRAYS)


@_jit
def gather(a, off, seg_tok, nelem, rows, js, trim):
    """Spans of element ``js[k]`` of segment ``rows[k]`` (-1 rows: missing)."""
    n = rows.shape[0]
    s = np.zeros(n, np.int64)
    e = np.zeros(n, np.int64)
    for k in range(n):
        r = rows[k]
        if r >= 0:
            s[k], e[k] = _span(a, off, seg_tok[r], nelem[r], js[k], trim)
    return s, e


@_jit
def gather_elements(a, off, seg_tok, nelem, rows, js, trim):
    """Spans of elements ``js`` of segments ``rows`` (-1 rows: missing): (starts, ends), each
    ``len(js)`` × n, and whether each element is present in any row."""
    m = js.shape[0]
    n = rows.shape[0]
    s = np.zeros((m, n), np.int64)
    e = np.zeros((m, n), np.int64)
    present = np.zeros(m, np.bool_)
    for k in range(n):
        r = rows[k]
        if r < 0:
            continue
        tok = seg_tok[r]
        nel = nelem[r]
        for i in range(m):
            xs, xe = _span(a, off, tok, nel, js[i], trim)
            if xe > xs:
                s[i, k] = xs
                e[i, k] = xe
                present[i] = True
    return s, e, present


@_jit
def qcodes(a, s, e):
    """``_qcode`` of each span (-1 for missing ones or longer than 3 bytes)."""
    n = s.shape[0]
    out = np.empty(n, np.int64)
    for k in range(n):
        out[k] = _qcode(a, s[k], e[k]) if e[k] > s[k] else -1
    return out


@_jit
def components(a, s, e, sep, width, trim):
    """Spans of the first ``width`` components (separated by ``sep``) of each span: (cs, ce), each
    ``width`` × n."""
    n = s.shape[0]
    cs = np.zeros((width, n), np.int64)
    ce = np.zeros((width, n), np.int64)
    for k in range(n):
        lo = s[k]
        hi = e[k]
        if hi <= lo:
            continue
        start = lo
        for w in range(width):
            end = start
            while end < hi and a[end] != sep:
                end += 1
            x, y = start, end
            if trim:
                while x < y and _ws(a[x]):
                    x += 1
                while y > x and _ws(a[y - 1]):
                    y -= 1
            if y > x:
                cs[w, k] = x
                ce[w, k] = y
            if end >= hi:
                break
            start = end + 1
    return cs, ce


@_jit
def parse_numbers(a, s, e, scale):
    """Exact fixed-point values of X12 ``R`` spans: (unscaled int64, ok), never through a float.

    The rule depends on the whole batch (one column of one piece), as it always has: when every present
    value is at most 20 bytes of ``-.0123456789`` with ``-`` only in front, and every one is a decimal
    that fits ``decimal128(18, scale)`` exactly (trailing zeros beyond ``scale`` decimals dropped,
    leading zeros ignored), all are accepted; otherwise each must be ``-?digits[.digits]`` with at most
    ``scale`` decimals and ``18 - scale`` integer digits (leading zeros counted).
    """
    n = s.shape[0]
    vals = np.zeros(n, np.int64)
    ok_strict = np.zeros(n, np.bool_)
    ok_loose = np.zeros(n, np.bool_)
    loose_batch = True
    for k in range(n):
        lo = s[k]
        hi = e[k]
        if hi <= lo:
            continue
        width = hi - lo
        if width > 20:
            loose_batch = False
        neg = a[lo] == 45
        ndot = 0
        dotpos = width
        ndig = 0
        other = False
        iv = np.int64(0)  # integer digits, leading zeros skipped
        sig = 0
        fv = np.int64(0)  # the first ``scale`` decimals
        nf = 0
        tail_zero = True  # decimals beyond ``scale`` are all 0
        for i in range(1 if neg else 0, width):
            d = np.int64(a[lo + i]) - 48
            if 0 <= d <= 9:
                ndig += 1
                if ndot == 0:
                    if sig > 0 or d != 0:
                        sig += 1
                        if sig <= 18:
                            iv = iv * 10 + d
                elif nf < scale:
                    fv = fv * 10 + d
                    nf += 1
                elif d != 0:
                    tail_zero = False
            elif d == -2:  # '.'
                ndot += 1
                if ndot == 1:
                    dotpos = i
            else:  # any other byte, or a '-' elsewhere: the strict rule for the whole batch
                other = True
        if other or ndot > 1 or ndig == 0:
            loose_batch = False
            continue
        frac = width - dotpos - 1 if ndot == 1 else 0
        intd = dotpos - (1 if neg else 0)
        v = iv
        for _ in range(scale):
            v *= 10
        for _ in range(scale - nf):
            fv *= 10
        v += fv
        loose = tail_zero and sig <= 18 - scale
        ok_loose[k] = loose
        ok_strict[k] = width <= 20 and frac <= scale and intd <= 18 - scale
        if loose:
            vals[k] = -v if neg else v
        else:
            loose_batch = False
    ok = ok_loose if loose_batch else ok_strict
    for k in range(n):
        if not ok[k]:
            vals[k] = 0
    return vals, ok


@_jit
def parse_dates(a, s, e):
    """CCYYMMDD spans → (days since 1970 as int32, ok): real proleptic Gregorian dates only."""
    n = s.shape[0]
    days = np.zeros(n, np.int32)
    ok = np.zeros(n, np.bool_)
    mdays = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    for k in range(n):
        lo = s[k]
        if e[k] - lo != 8:
            continue
        good = True
        for i in range(8):
            ch = a[lo + i]
            if ch < 48 or ch > 57:
                good = False
        if not good:
            continue
        y = (a[lo] - 48) * 1000 + (a[lo + 1] - 48) * 100 + (a[lo + 2] - 48) * 10 + (a[lo + 3] - 48)
        mo = (a[lo + 4] - 48) * 10 + (a[lo + 5] - 48)
        dd = (a[lo + 6] - 48) * 10 + (a[lo + 7] - 48)
        y = np.int64(y)
        mo = np.int64(mo)
        dd = np.int64(dd)
        if y < 1 or mo < 1 or mo > 12 or dd < 1:
            continue
        leap = (y % 4 == 0) and (y % 100 != 0 or y % 400 == 0)
        md = mdays[mo] + (1 if (mo == 2 and leap) else 0)
        if dd > md:
            continue
        y2 = y - (1 if mo <= 2 else 0)
        era = y2 // 400
        yoe = y2 - era * 400
        doy = (153 * ((mo + 9) % 12) + 2) // 5 + dd - 1
        doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
        days[k] = era * 146097 + doe - 719468
        ok[k] = True
    return days, ok


@_jit
def bitmap(valid):
    """Arrow validity bitmap (LSB first) of a bool array, and its null count."""
    n = valid.shape[0]
    out = np.zeros((n + 7) // 8, np.uint8)
    nulls = 0
    for k in range(n):
        if valid[k]:
            out[k >> 3] |= np.uint8(1 << (k & 7))
        else:
            nulls += 1
    return out, nulls


@_jit
def strings(a, s, e):
    """Arrow ``string`` buffers of the spans: (validity bitmap, null count, int32 offsets, data)."""
    n = s.shape[0]
    total = 0
    for k in range(n):
        if e[k] > s[k]:
            total += e[k] - s[k]
    offsets = np.empty(n + 1, np.int32)
    data = np.empty(total, np.uint8)
    bits = np.zeros((n + 7) // 8, np.uint8)
    nulls = 0
    pos = 0
    for k in range(n):
        offsets[k] = pos
        lo = s[k]
        hi = e[k]
        if hi > lo:
            bits[k >> 3] |= np.uint8(1 << (k & 7))
            _copy_bytes(data, pos, a, lo, hi - lo)
            pos += hi - lo
        else:
            nulls += 1
    offsets[n] = pos
    return bits, nulls, offsets, data


@_jit
def decimals(vals, ok):
    """Arrow ``decimal128`` buffers from exact unscaled int64 values: (bitmap, null count, 16-byte
    little-endian words)."""
    n = vals.shape[0]
    words = np.empty(2 * n, np.int64)
    bits = np.zeros((n + 7) // 8, np.uint8)
    nulls = 0
    for k in range(n):
        v = vals[k]
        words[2 * k] = v
        words[2 * k + 1] = -1 if v < 0 else 0
        if ok[k]:
            bits[k >> 3] |= np.uint8(1 << (k & 7))
        else:
            nulls += 1
    return bits, nulls, words


@_jit
def group_sum(groups, vals, n):
    """Exact int64 sums of ``vals`` per group 0..n-1 (negative groups skipped)."""
    out = np.zeros(n, np.int64)
    for k in range(groups.shape[0]):
        g = groups[k]
        if 0 <= g < n:
            out[g] += vals[k]
    return out


@_jit
def take_strings(off, data, idx):
    """Strings ``idx[k]`` of a string array given by its int32 ``off`` and ``data`` (``idx[k] < 0``: null),
    as Arrow string buffers (bitmap, null count, int32 offsets, data): a parent's id repeated on its
    child rows. One ``memcpy`` per value; about three times faster than Arrow's ``take`` here."""
    n = idx.shape[0]
    total = 0
    nulls = 0
    for k in range(n):
        i = idx[k]
        if i >= 0:
            total += off[i + 1] - off[i]
        else:
            nulls += 1
    offsets = np.empty(n + 1, np.int32)
    out = np.empty(total, np.uint8)
    bits = np.zeros((n + 7) // 8, np.uint8)
    pos = 0
    for k in range(n):
        offsets[k] = pos
        i = idx[k]
        if i >= 0:
            lo = off[i]
            size = off[i + 1] - lo
            _copy_bytes(out, pos, data, lo, size)
            pos += size
            bits[k >> 3] |= np.uint8(1 << (k & 7))
    offsets[n] = pos
    return bits, nulls, offsets, out


@_jit
def patient_text(a, s, e):
    """``UPPER(NM103)|UPPER(NM104)|UPPER(NM108)|UPPER(NM109)`` per claim (ASCII upper-casing; ``s``,
    ``e`` are 4 × n spans, a missing part is empty): (int64 offsets, data, any non-ASCII byte)."""
    n = s.shape[1]
    total = 0
    for k in range(n):
        total += 3
        for i in range(4):
            if e[i, k] > s[i, k]:
                total += e[i, k] - s[i, k]
    offsets = np.empty(n + 1, np.int64)
    data = np.empty(total, np.uint8)
    pos = 0
    wide = False
    for k in range(n):
        offsets[k] = pos
        for i in range(4):
            if i:
                data[pos] = 124
                pos += 1
            for x in range(s[i, k], e[i, k]):
                ch = a[x]
                if 97 <= ch <= 122:
                    ch -= 32
                elif ch >= 128:
                    wide = True
                data[pos] = ch
                pos += 1
    offsets[n] = pos
    return offsets, data, wide


def cache_dir() -> str | None:
    """Where numba keeps this module's compiled kernels (None: not cached)."""
    cache = getattr(tokenize, "_cache", None)
    locator = getattr(cache, "_cache_path", None)
    return locator if isinstance(locator, str) else os.environ.get("NUMBA_CACHE_DIR")


@_jit
def cdt_codes(a, s, e):
    """Whether each span is a CDT code: ``D`` and four digits."""
    n = s.shape[0]
    out = np.zeros(n, np.bool_)
    for k in range(n):
        lo = s[k]
        if e[k] - lo == 5 and a[lo] == 68:
            good = True
            for i in range(1, 5):
                ch = a[lo + i]
                if ch < 48 or ch > 57:
                    good = False
            out[k] = good
    return out


@_jit
def next_isa(a, lo, floor, terminator):
    """The first ``i >= lo`` where ``ISA`` starts an interchange: the last byte before it that is not
    whitespace (at ``floor`` or after) is ``terminator``, and a byte follows ``ISA``; -1 when none.

    ``scan.find_regions``' search, as one pass over the bytes without the GIL: ``bytes.find(b"ISA")``
    stops at every ``ISA`` inside a value (names such as LISA: thousands in a large file) and took a
    third of a second for 109 MB, before any piece could start.
    """
    n = a.shape[0]
    i = lo
    while i + 2 < n:
        c = a[i + 2]  # Horspool: the byte under the needle's last letter decides the shift
        if c == 65:  # A
            if a[i + 1] == 83 and a[i] == 73:  # S, I
                j = i - 1
                while j >= floor and _ws(a[j]):
                    j -= 1
                if j >= floor and a[j] == terminator and n > i + 3:
                    return i
            i += 3
        elif c == 83:  # S: an ISA may start one byte on
            i += 1
        elif c == 73:  # I: two bytes on
            i += 2
        else:
            i += 3
    return -1
