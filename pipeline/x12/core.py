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
from numba.extending import intrinsic, register_jitable


def _jit(fn):
    """``njit(cache=True, nogil=True)``, or without the on-disk cache where no cache folder is usable."""
    try:
        return njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available" (read-only, no home)
        return njit(nogil=True)(fn)


warnings.filterwarnings("ignore", category=NumbaWarning, module=__name__)


def _code(segment_id: str) -> int:
    b = segment_id.encode()
    return (b[0] << 16) | (b[1] << 8) | (b[2] if len(b) > 2 else 0)


ISA, IEA, GS, GE, ST, SE = (_code(s) for s in ("ISA", "IEA", "GS", "GE", "ST", "SE"))
BPR, TRN, N1, REF, DTM, LX, CLP, CAS, NM1, MIA, MOA, AMT, SVC, LQ, PLB = (
    _code(s)
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
Q_PR, Q_PE, Q_2U, Q_TJ, Q_405 = (_code(q) for q in ("PR", "PE", "2U", "TJ", "405"))
Q_232, Q_233, Q_050, Q_QC, Q_82, Q_F8, Q_AU = (
    _code(q) for q in ("232", "233", "050", "QC", "82", "F8", "AU")
)
Q_472, Q_150, Q_151, Q_6R, Q_B6, Q_HE, Q_RX = (
    _code(q) for q in ("472", "150", "151", "6R", "B6", "HE", "RX")
)

# counts[] slots filled by tokenize (capacities for walk)
N_ST, N_CLP, N_SVC, N_CAS, N_TRIPLES, N_PLB, N_PAIRS, N_REMARKS = range(8)
N_COUNTS = 8

# structural problems recorded by walk (at most PROBLEM_CAP each, as the columnar parser listed them)
P_NOT_ID, P_OUTSIDE, P_CAS_OUT, P_SVC_OUT, P_CAS_NO_REASON, P_CAS_NO_AMOUNT, P_CAS01, P_PLB_PAIR = range(8)
PROBLEM_KINDS = 8
PROBLEM_CAP = 20

# rows of the tables' source segments, as returned by walk (-1: none)
TX_ST, TX_BPR, TX_TRN, TX_N1PR, TX_N1PE, TX_REF2U, TX_REFTJ, TX_DTM405 = range(8)
(
    CL_ROW,
    CL_TXN,
    CL_ORD,
    CL_SEGNO,
    CL_D232,
    CL_D233,
    CL_D050,
    CL_NM1QC,
    CL_NM182,
    CL_REFF8,
    CL_AMTAU,
    CL_LINES,
) = range(12)
LN_ROW, LN_CLAIM, LN_NO, LN_TXN, LN_D472, LN_D150, LN_D151, LN_REF6R, LN_AMTB6 = range(9)
# byte spans captured by walk: columns of the span matrices
(TXS_ST01, TXS_ST02, TXS_BPR02, TXS_BPR03, TXS_BPR04, TXS_BPR16, TXS_TRN02, TXS_TRN03, TXS_N1PR02, TXS_N1PR04,
 TXS_N1PE02, TXS_N1PE03, TXS_N1PE04, TXS_REF2U02, TXS_REFTJ02, TXS_DTM405) = range(16)  # fmt: skip
TXS_N = 16
(CLS_CLP01, CLS_CLP02, CLS_CLP03, CLS_CLP04, CLS_CLP05, CLS_CLP06, CLS_CLP07, CLS_CLP08, CLS_CLP09, CLS_CLP11,
 CLS_D232, CLS_D233, CLS_D050, CLS_QC03, CLS_QC04, CLS_QC08, CLS_QC09, CLS_NM182, CLS_REFF8,
 CLS_AMTAU) = range(20)  # fmt: skip
CLS_N = 20
(LNS_SVC01, LNS_SVC02, LNS_SVC03, LNS_SVC04, LNS_SVC05, LNS_SVC06, LNS_SVC07, LNS_D472_02, LNS_D472_05,
 LNS_D472_06, LNS_D150, LNS_D151, LNS_REF6R, LNS_AMTB6) = range(14)  # fmt: skip
LNS_N = 14
SPAN_WIDTH = max(TXS_N, CLS_N, LNS_N)  # (start, end) pairs per row of walk's span matrix
AD_ROW, AD_POS, AD_ORD, AD_CLAIM, AD_LINE, AD_TXN = range(6)
PB_ROW, PB_TXN, PB_ORD = range(3)
PL_PLB, PL_POS = range(2)
RM_ROW, RM_J, RM_SRC, RM_CLAIM, RM_LINE, RM_TXN = range(6)

# The spans walk copies for a table row, per kind of source segment: (matrix, [(element, column)]);
# matrix 0 = transactions, 1 = claims, 2 = lines, 3 = PLB segments.
_FILLS = (
    ("ST", 0, ((1, TXS_ST01), (2, TXS_ST02))),
    ("BPR", 0, ((2, TXS_BPR02), (3, TXS_BPR03), (4, TXS_BPR04), (16, TXS_BPR16))),
    ("TRN", 0, ((2, TXS_TRN02), (3, TXS_TRN03))),
    ("N1PR", 0, ((2, TXS_N1PR02), (4, TXS_N1PR04))),
    ("N1PE", 0, ((2, TXS_N1PE02), (3, TXS_N1PE03), (4, TXS_N1PE04))),
    ("REF2U", 0, ((2, TXS_REF2U02),)),
    ("REFTJ", 0, ((2, TXS_REFTJ02),)),
    ("DTM405", 0, ((2, TXS_DTM405),)),
    ("CLP", 1, tuple((j, CLS_CLP01 + j - 1) for j in range(1, 10)) + ((11, CLS_CLP11),)),
    ("D232", 1, ((2, CLS_D232),)),
    ("D233", 1, ((2, CLS_D233),)),
    ("D050", 1, ((2, CLS_D050),)),
    ("NM1QC", 1, ((3, CLS_QC03), (4, CLS_QC04), (8, CLS_QC08), (9, CLS_QC09))),
    ("NM182", 1, ((9, CLS_NM182),)),
    ("REFF8", 1, ((2, CLS_REFF8),)),
    ("AMTAU", 1, ((2, CLS_AMTAU),)),
    ("SVC", 2, tuple((j, LNS_SVC01 + j - 1) for j in range(1, 8))),
    ("D472", 2, ((2, LNS_D472_02), (5, LNS_D472_05), (6, LNS_D472_06))),
    ("D150", 2, ((2, LNS_D150),)),
    ("D151", 2, ((2, LNS_D151),)),
    ("REF6R", 2, ((2, LNS_REF6R),)),
    ("AMTB6", 2, ((2, LNS_AMTB6),)),
    ("PLB", 3, ((1, 0), (2, 1))),
)
_FILL_INDEX = {name: k for k, (name, _, _) in enumerate(_FILLS)}
F_ST, F_CLP, F_SVC, F_PLB = (_FILL_INDEX[x] for x in ("ST", "CLP", "SVC", "PLB"))
FILL_MATRIX = np.array([m for _, m, _ in _FILLS], np.int64)
FILL_START = np.cumsum([0] + [len(pairs) for _, _, pairs in _FILLS]).astype(np.int64)
FILL_ELEMENT = np.array([e for _, _, pairs in _FILLS for e, _ in pairs], np.int64)
FILL_COLUMN = np.array([col for _, _, pairs in _FILLS for _, col in pairs], np.int64)
FILL_TX = np.full(8, -1, np.int64)  # tx slot -> fill entry
FILL_CL = np.full(12, -1, np.int64)
FILL_LN = np.full(9, -1, np.int64)
for _slot, _name in (
    (TX_ST, "ST"), (TX_BPR, "BPR"), (TX_TRN, "TRN"), (TX_N1PR, "N1PR"), (TX_N1PE, "N1PE"),
    (TX_REF2U, "REF2U"), (TX_REFTJ, "REFTJ"), (TX_DTM405, "DTM405"),
):  # fmt: skip
    FILL_TX[_slot] = _FILL_INDEX[_name]
for _slot, _name in (
    (CL_D232, "D232"), (CL_D233, "D233"), (CL_D050, "D050"), (CL_NM1QC, "NM1QC"), (CL_NM182, "NM182"),
    (CL_REFF8, "REFF8"), (CL_AMTAU, "AMTAU"),
):  # fmt: skip
    FILL_CL[_slot] = _FILL_INDEX[_name]
for _slot, _name in (
    (LN_D472, "D472"),
    (LN_D150, "D150"),
    (LN_D151, "D151"),
    (LN_REF6R, "REF6R"),
    (LN_AMTB6, "AMTB6"),
):
    FILL_LN[_slot] = _FILL_INDEX[_name]


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
def _columns(sp, lo, hi, ncols):
    """Rows ``lo:hi`` of the span matrix as (starts, ends): one contiguous array per column each."""
    n = hi - lo
    starts = np.empty((ncols, n), np.int64)
    ends = np.empty((ncols, n), np.int64)
    for r in range(n):
        for x in range(ncols):
            starts[x, r] = sp[lo + r, 2 * x]
            ends[x, r] = sp[lo + r, 2 * x + 1]
    return starts, ends


@_jit
def walk(a, off, seg_tok, nelem, sid, valid, counts, trim):
    """One pass over the segments: loop context, the source rows of every table row, and the byte
    spans of every element the tables read (taken while the segment is in cache).

    Loop context: a segment is in a transaction between ST and SE; in a claim from a CLP (inside a
    transaction) until ST, SE, LX, PLB or an envelope segment; in a line from an SVC (inside a claim)
    until the next CLP or the claim ends. "First" columns keep the first qualifying segment of their
    transaction, claim or line. Spans are copied by one table-driven loop (``FILL``), so that the
    element reader is compiled in few places.
    """
    ns = sid.shape[0]
    nt = counts[N_ST]
    nc = counts[N_CLP]
    nl = counts[N_SVC]
    tx = np.full((8, nt), -1, np.int64)
    cl = np.full((12, nc), -1, np.int64)
    ln = np.full((9, nl), -1, np.int64)
    ad = np.empty((6, counts[N_TRIPLES]), np.int64)
    pb = np.empty((3, counts[N_PLB]), np.int64)
    pl = np.empty((2, counts[N_PAIRS]), np.int64)
    rm = np.empty((6, counts[N_REMARKS]), np.int64)
    # one row-major span matrix for transactions, claims, lines and PLB segments (in that order): a
    # row's (start, end) pairs are adjacent, so copying a segment's spans writes one or two cache lines
    base_cl = nt
    base_ln = nt + nc
    base_pb = nt + nc + nl
    sp = np.empty((base_pb + counts[N_PLB], 2 * SPAN_WIDTH), np.int64)
    bases = np.array([0, base_cl, base_ln, base_pb], np.int64)
    ads = np.empty((4, counts[N_TRIPLES]), np.int64)
    ade = np.empty((4, counts[N_TRIPLES]), np.int64)
    pls = np.empty((2, counts[N_PAIRS]), np.int64)
    ple = np.empty((2, counts[N_PAIRS]), np.int64)
    rms = np.empty((1, counts[N_REMARKS]), np.int64)
    rme = np.empty((1, counts[N_REMARKS]), np.int64)
    prow = np.zeros((PROBLEM_KINDS, PROBLEM_CAP), np.int64)
    paux = np.zeros((PROBLEM_KINDS, PROBLEM_CAP), np.int64)
    pn = np.zeros(PROBLEM_KINDS, np.int64)
    xs3 = np.zeros(3, np.int64)
    xe3 = np.zeros(3, np.int64)
    in_txn = False
    claim_open = False
    line_open = False
    t = -1
    c = -1
    li = -1
    na = 0
    npb = 0
    npl = 0
    nr = 0
    last_st = -1
    clp_ctr = 0
    svc_ctr = 0
    cas_ctr = 0
    plb_ctr = 0
    for r in range(ns):
        s = sid[r]
        tok = seg_tok[r]
        nel = nelem[r]
        fill = -1  # which FILL entry copies this segment's spans (-1: none)
        fk = 0  # into which row of its span matrix
        if not valid[r]:
            _problem(prow, paux, pn, P_NOT_ID, r, 0)
        if s == ST:
            in_txn = True
            t += 1
            tx[TX_ST, t] = r
            last_st = r
            clp_ctr = 0
            plb_ctr = 0
            fill = F_ST
            fk = t
            for x in range(2 * TXS_BPR02, 2 * TXS_N):  # "first" columns stay missing until their segment
                sp[t, x] = 0
        elif s == SE:
            in_txn = False
        if s == ST or s == SE or s == LX or s == PLB or s == GE or s == IEA or s == ISA or s == GS:
            claim_open = False
        if s == CLP and in_txn:
            claim_open = True
            line_open = False
            c += 1
            clp_ctr += 1
            svc_ctr = 0
            cas_ctr = 0
            cl[CL_ROW, c] = r
            cl[CL_TXN, c] = t
            cl[CL_ORD, c] = clp_ctr
            cl[CL_SEGNO, c] = r - last_st + 1
            cl[CL_LINES, c] = 0
            fill = F_CLP
            fk = c
            for x in range(2 * CLS_D232, 2 * CLS_N):
                sp[base_cl + c, x] = 0
        in_claim = in_txn and claim_open
        if s == SVC and in_claim:
            line_open = True
            li += 1
            svc_ctr += 1
            cas_ctr = 0
            ln[LN_ROW, li] = r
            ln[LN_CLAIM, li] = c
            ln[LN_NO, li] = svc_ctr
            ln[LN_TXN, li] = t
            cl[CL_LINES, c] += 1
            fill = F_SVC
            fk = li
            for x in range(2 * LNS_D472_02, 2 * LNS_N):
                sp[base_ln + li, x] = 0
        in_line = in_claim and line_open
        if not in_txn:
            envelope = s == ISA or s == IEA or s == GS or s == GE or s == ST or s == SE
            if not envelope and valid[r]:
                _problem(prow, paux, pn, P_OUTSIDE, r, 0)
        else:
            q = np.int64(-1)
            if s == N1 or s == REF or s == DTM or s == NM1 or s == AMT or s == LQ:
                qs, qe = _span(a, off, tok, nel, 1, trim)
                q = _qcode(a, qs, qe)
            slot = -1  # which "first" segment this is: a row of tx, cl or ln (by loop level)
            if not in_claim:
                if s == CAS:
                    _problem(prow, paux, pn, P_CAS_OUT, r, 0)
                elif s == SVC:
                    _problem(prow, paux, pn, P_SVC_OUT, r, 0)
                elif s == BPR:
                    slot = TX_BPR
                elif s == TRN:
                    slot = TX_TRN
                elif s == N1:
                    slot = TX_N1PR if q == Q_PR else (TX_N1PE if q == Q_PE else -1)
                elif s == REF:
                    slot = TX_REF2U if q == Q_2U else (TX_REFTJ if q == Q_TJ else -1)
                elif s == DTM:
                    slot = TX_DTM405 if q == Q_405 else -1
                elif s == PLB:
                    plb_ctr += 1
                    pb[PB_ROW, npb] = r
                    pb[PB_TXN, npb] = t
                    pb[PB_ORD, npb] = plb_ctr
                    fill = F_PLB
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
                if slot >= 0 and tx[slot, t] < 0:
                    tx[slot, t] = r
                    fill = FILL_TX[slot]
                    fk = t
            elif not in_line:
                if s == DTM:
                    slot = (
                        CL_D232
                        if q == Q_232
                        else (CL_D233 if q == Q_233 else (CL_D050 if q == Q_050 else -1))
                    )
                elif s == NM1:
                    slot = CL_NM1QC if q == Q_QC else (CL_NM182 if q == Q_82 else -1)
                elif s == REF:
                    slot = CL_REFF8 if q == Q_F8 else -1
                elif s == AMT:
                    slot = CL_AMTAU if q == Q_AU else -1
                if slot >= 0 and cl[slot, c] < 0:
                    cl[slot, c] = r
                    fill = FILL_CL[slot]
                    fk = c
            else:
                if s == DTM:
                    slot = (
                        LN_D472
                        if q == Q_472
                        else (LN_D150 if q == Q_150 else (LN_D151 if q == Q_151 else -1))
                    )
                elif s == REF:
                    slot = LN_REF6R if q == Q_6R else -1
                elif s == AMT:
                    slot = LN_AMTB6 if q == Q_B6 else -1
                if slot >= 0 and ln[slot, li] < 0:
                    ln[slot, li] = r
                    fill = FILL_LN[slot]
                    fk = li
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
                        qv = xe3[2] > xs3[2]
                        if not rv and (av or qv):
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
            row = bases[FILL_MATRIX[fill]] + fk
            for x in range(FILL_START[fill], FILL_START[fill + 1]):
                xs, xe = _span(a, off, tok, nel, FILL_ELEMENT[x], trim)
                col = 2 * FILL_COLUMN[x]
                sp[row, col] = xs
                sp[row, col + 1] = xe
    return (
        (tx[:, : t + 1], *_columns(sp, 0, t + 1, TXS_N)),
        (cl[:, : c + 1], *_columns(sp, base_cl, base_cl + c + 1, CLS_N)),
        (ln[:, : li + 1], *_columns(sp, base_ln, base_ln + li + 1, LNS_N)),
        (ad[:, :na], ads[:, :na], ade[:, :na]),
        (pb[:, :npb], *_columns(sp, base_pb, base_pb + npb, 2)),
        (pl[:, :npl], pls[:, :npl], ple[:, :npl]),
        (rm[:, :nr], rms[0, :nr], rme[0, :nr]),
        (prow, paux, pn),
    )


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


@njit(inline="always")
def _ndigits(v):
    """Decimal digits of ``v >= 0`` (comparisons, no division)."""
    d = 1
    p = np.int64(10)
    for _ in range(18):
        d += v >= p
        p *= 10
    return d


@_jit
def derived_ids(p1_off, p1_data, idx1, p2_off, p2_data, idx2, parts, valid):
    """Id strings made from a parent id and suffixes: ``parent-p0-p1…`` per row. The parent is string
    ``idx1[k]`` of the first parent array, or (where ``idx1[k] < 0``) string ``idx2[k]`` of the second;
    parts < 0 are left out; rows where ``valid`` is False are null. Returns Arrow string buffers
    (bitmap, null count, int32 offsets, data)."""
    m, n = parts.shape
    total = 0
    for k in range(n):
        if not valid[k]:
            continue
        i = idx1[k]
        total += p1_off[i + 1] - p1_off[i] if i >= 0 else p2_off[idx2[k] + 1] - p2_off[idx2[k]]
        for j in range(m):
            v = parts[j, k]
            if v >= 0:
                total += 1 + _ndigits(v)
    offsets = np.empty(n + 1, np.int32)
    data = np.empty(total, np.uint8)
    bits = np.zeros((n + 7) // 8, np.uint8)
    nulls = 0
    pos = 0
    for k in range(n):
        offsets[k] = pos
        if not valid[k]:
            nulls += 1
            continue
        bits[k >> 3] |= np.uint8(1 << (k & 7))
        i = idx1[k]
        if i >= 0:
            lo = p1_off[i]
            hi = p1_off[i + 1]
            _copy_bytes(data, pos, p1_data, lo, hi - lo)
        else:
            lo = p2_off[idx2[k]]
            hi = p2_off[idx2[k] + 1]
            _copy_bytes(data, pos, p2_data, lo, hi - lo)
        pos += hi - lo
        for j in range(m):
            v = parts[j, k]
            if v < 0:
                continue
            data[pos] = 45
            nd = _ndigits(v)
            for d in range(nd, 0, -1):
                data[pos + d] = 48 + v % 10
                v //= 10
            pos += nd + 1
    offsets[n] = pos
    return bits, nulls, offsets, data


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


_K = np.array(
    [
        0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
        0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
        0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
        0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
        0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
        0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
        0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
        0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
    ],
    dtype=np.uint32,
)  # fmt: skip
_H0 = np.array(
    [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19],
    dtype=np.uint32,
)


@njit(inline="always")
def _rotr(x, n):
    return ((x >> np.uint32(n)) | (x << np.uint32(32 - n))) & np.uint32(0xFFFFFFFF)


@register_jitable
def _compress(state, block, w):
    """SHA-256 compression of one 64-byte block (uint8[64]) into ``state`` (uint32[8])."""
    for i in range(16):
        w[i] = (
            (np.uint32(block[4 * i]) << np.uint32(24))
            | (np.uint32(block[4 * i + 1]) << np.uint32(16))
            | (np.uint32(block[4 * i + 2]) << np.uint32(8))
            | np.uint32(block[4 * i + 3])
        )
    for i in range(16, 64):
        x = w[i - 15]
        y = w[i - 2]
        s0 = _rotr(x, 7) ^ _rotr(x, 18) ^ (x >> np.uint32(3))
        s1 = _rotr(y, 17) ^ _rotr(y, 19) ^ (y >> np.uint32(10))
        w[i] = np.uint32(w[i - 16] + s0 + w[i - 7] + s1)
    a_ = state[0]
    b = state[1]
    c = state[2]
    d = state[3]
    e = state[4]
    f = state[5]
    g = state[6]
    h = state[7]
    for i in range(64):
        s1 = _rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)
        ch = (e & f) ^ (~e & g)
        t1 = np.uint32(h + s1 + ch + _K[i] + w[i])
        s0 = _rotr(a_, 2) ^ _rotr(a_, 13) ^ _rotr(a_, 22)
        maj = (a_ & b) ^ (a_ & c) ^ (b & c)
        t2 = np.uint32(s0 + maj)
        h = g
        g = f
        f = e
        e = np.uint32(d + t1)
        d = c
        c = b
        b = a_
        a_ = np.uint32(t1 + t2)
    state[0] = np.uint32(state[0] + a_)
    state[1] = np.uint32(state[1] + b)
    state[2] = np.uint32(state[2] + c)
    state[3] = np.uint32(state[3] + d)
    state[4] = np.uint32(state[4] + e)
    state[5] = np.uint32(state[5] + f)
    state[6] = np.uint32(state[6] + g)
    state[7] = np.uint32(state[7] + h)


@register_jitable
def _digest(start, prefix_len, data, lo, hi, out, w, state, block):
    """SHA-256 of (``prefix_len`` bytes already absorbed into ``start``) + ``data[lo:hi]`` → ``out``
    (``w``, ``state``, ``block``: scratch buffers, reused from call to call)."""
    for i in range(8):
        state[i] = start[i]
    n = hi - lo
    pos = lo
    while hi - pos >= 64:
        for i in range(64):
            block[i] = data[pos + i]
        _compress(state, block, w)
        pos += 64
    rest = hi - pos
    for i in range(64):
        block[i] = 0
    for i in range(rest):
        block[i] = data[pos + i]
    block[rest] = 0x80
    if rest >= 56:
        _compress(state, block, w)
        for i in range(64):
            block[i] = 0
    bits = np.uint64(prefix_len + n) * np.uint64(8)
    for i in range(8):
        block[63 - i] = np.uint8((bits >> np.uint64(8 * i)) & np.uint64(0xFF))
    _compress(state, block, w)
    for i in range(8):
        v = state[i]
        out[4 * i] = np.uint8(v >> np.uint32(24))
        out[4 * i + 1] = np.uint8((v >> np.uint32(16)) & np.uint32(0xFF))
        out[4 * i + 2] = np.uint8((v >> np.uint32(8)) & np.uint32(0xFF))
        out[4 * i + 3] = np.uint8(v & np.uint32(0xFF))


@_jit
def hmac_hex(key, data, offsets, valid):
    """HMAC-SHA256 (RFC 2104) of each ``data[offsets[k]:offsets[k+1]]`` under ``key`` (at most 64 bytes,
    already hashed when longer), as 64 lower-case hex characters: (bitmap, null count, int32 offsets,
    data) of an Arrow string array; rows where ``valid`` is False are null."""
    w = np.empty(64, np.uint32)
    pad = np.zeros(64, np.uint8)
    for i in range(key.shape[0]):
        pad[i] = key[i]
    inner = _H0.copy()
    outer = _H0.copy()
    blk = np.empty(64, np.uint8)
    for i in range(64):
        blk[i] = pad[i] ^ 0x36
    _compress(inner, blk, w)
    for i in range(64):
        blk[i] = pad[i] ^ 0x5C
    _compress(outer, blk, w)
    n = valid.shape[0]
    nvalid = 0
    for k in range(n):
        if valid[k]:
            nvalid += 1
    out_off = np.empty(n + 1, np.int32)
    text = np.empty(64 * nvalid, np.uint8)
    bits = np.zeros((n + 7) // 8, np.uint8)
    hexd = np.empty(16, np.uint8)
    for i in range(16):
        hexd[i] = 48 + i if i < 10 else 87 + i
    ih = np.empty(32, np.uint8)
    oh = np.empty(32, np.uint8)
    state = np.empty(8, np.uint32)
    block = np.empty(64, np.uint8)
    pos = 0
    nulls = 0
    for k in range(n):
        out_off[k] = pos
        if not valid[k]:
            nulls += 1
            continue
        bits[k >> 3] |= np.uint8(1 << (k & 7))
        _digest(inner, 64, data, offsets[k], offsets[k + 1], ih, w, state, block)
        _digest(outer, 64, ih, 0, 32, oh, w, state, block)
        for i in range(32):
            text[pos + 2 * i] = hexd[oh[i] >> 4]
            text[pos + 2 * i + 1] = hexd[oh[i] & 15]
        pos += 64
    out_off[n] = pos
    return bits, nulls, out_off, text


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
