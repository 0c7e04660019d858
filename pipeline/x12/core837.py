# ruff: noqa: SIM109, SIM102 - chained ``==`` compile to plain integer compares in numba; the nested ifs mirror the loops
"""The 837 parser's compiled walk: one pass over the segments the 835 core tokenised.

The 837 is a hierarchy (HL loops: 20 billing provider, 22 subscriber, 23 patient) with the claims
(CLM, loop 2300) and their lines (LX, loop 2400) inside. The walk tracks which loop each segment is in
and keeps, for every claim and every line, the row of the first segment of each source of
``fields837.CLAIM_SOURCES`` / ``LINE_SOURCES`` (-1 when it has none). Everything else (reading the
elements, typing them, the patient key) is done afterwards on those rows by the 835 core's kernels
(``core.gather``, ``core.parse_numbers``, ...). Imported lazily, like ``core``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pipeline.x12 import fields837
from pipeline.x12.core import _code, _jit, _qcode, _span

ISA, IEA, GS, GE = (_code(s) for s in ("ISA", "IEA", "GS", "GE"))
ST, SE, BHT, HL, NM1, CLM, REF, DTP, SBR, LX, SV1, SV2, SV3, TOO = (
    _code(s)
    for s in ("ST", "SE", "BHT", "HL", "NM1", "CLM", "REF", "DTP", "SBR", "LX", "SV1", "SV2", "SV3", "TOO")
)
Q_20, Q_22, Q_23, Q_85, Q_PR, Q_82, Q_IL, Q_QC, Q_F8, Q_6R, Q_434, Q_472 = (
    _code(q) for q in ("20", "22", "23", "85", "PR", "82", "IL", "QC", "F8", "6R", "434", "472")
)

# claim columns of the walk's int64 claim matrix: the source rows (fields837.CLAIM_SOURCES order), then
# the transaction (ST ordinal in the piece, from 0), the CLM ordinal in its transaction, the lines
CS = {name: k for k, name in enumerate(fields837.CLAIM_SOURCES)}
C_CLM, C_BHT, C_BILL, C_PAYER, C_REND, C_F8, C_434, C_PAT = (CS[s] for s in fields837.CLAIM_SOURCES)
C_TXN, C_ORD, C_LINES, C_PAT_QC, C_ST = range(len(CS), len(CS) + 5)
N_CCOLS = len(CS) + 5
LS = {name: k for k, name in enumerate(fields837.LINE_SOURCES)}
L_LX, L_SV1, L_SV2, L_SV3, L_472, L_6R, L_TOO = (LS[s] for s in fields837.LINE_SOURCES)
L_CLAIM, L_SV = range(len(LS), len(LS) + 2)  # the line's claim; its SV1/SV2/SV3 row
N_LCOLS = len(LS) + 2

# where a segment sits: before the first HL, in an HL loop's own segments (2000x/2010xx), in a claim
# before its first 2320 SBR (2300/2310), in the other-payer loops (2320/2330), in a line (2400+)
A_NONE, A_HEADER, A_HL, A_CLAIM, A_OTHER, A_LINE = range(6)

# structural problems the walk records (at most PROBLEM_CAP each): kind, segment row
P_CLM_OUTSIDE, P_LX_OUTSIDE, P_SV_OUTSIDE, P_SV_TWICE, P_OUTSIDE_TXN = range(5)
PROBLEM_KINDS = 5
PROBLEM_CAP = 20


@njit(inline="always")
def _q(a, off, seg_tok, nelem, r, j, trim):
    """The code of element ``j`` of segment ``r`` (as ``core._qcode``), -1 when missing or longer."""
    s, e = _span(a, off, seg_tok[r], nelem[r], j, trim)
    if e > s:
        return _qcode(a, s, e)
    return -1


@_jit
def walk(a, off, seg_tok, nelem, sid, trim):
    """The claims and lines of a piece: (claims N_CCOLS × n, lines N_LCOLS × m, problems, counts): one
    row per column, so each column is contiguous.

    ``problems`` is PROBLEM_KINDS × PROBLEM_CAP segment rows (-1: none), ``counts`` how many of each
    kind were found in all.
    """
    n = sid.shape[0]
    nclm = 0
    nlx = 0
    for r in range(n):
        if sid[r] == CLM:
            nclm += 1
        elif sid[r] == LX:
            nlx += 1
    claims = np.full((N_CCOLS, nclm), -1, np.int64)
    lines = np.full((N_LCOLS, nlx), -1, np.int64)
    problems = np.full((PROBLEM_KINDS, PROBLEM_CAP), -1, np.int64)
    pcount = np.zeros(PROBLEM_KINDS, np.int64)
    ci = -1  # the open claim
    li = -1  # the open line
    nc = 0
    nl = 0
    txn = -1
    st_row = -1
    ordinal = 0
    area = A_NONE
    level = 0
    bht = -1
    billing = -1
    payer = -1
    subscriber = -1
    patient = -1
    for r in range(n):
        s = sid[r]
        if area == A_NONE and s != ST and s != ISA and s != IEA and s != GS and s != GE:
            if pcount[P_OUTSIDE_TXN] < PROBLEM_CAP:
                problems[P_OUTSIDE_TXN, pcount[P_OUTSIDE_TXN]] = r
            pcount[P_OUTSIDE_TXN] += 1
            continue
        if s == ST:
            txn += 1
            st_row = r
            ordinal = 0
            area = A_HEADER
            level = 0
            bht = billing = payer = subscriber = patient = -1
            ci = li = -1
        elif s == SE:
            area = A_NONE
            level = 0
            ci = li = -1
        elif s == BHT:
            if area == A_HEADER and bht < 0:
                bht = r
        elif s == HL:
            area = A_HL
            ci = li = -1
            q = _q(a, off, seg_tok, nelem, r, 3, trim)
            if q == Q_20:
                level = 20
                billing = payer = subscriber = patient = -1
            elif q == Q_22:
                level = 22
                payer = subscriber = patient = -1
            elif q == Q_23:
                level = 23
                patient = -1
            else:
                level = 0
        elif s == NM1:
            if area == A_HL:
                q = _q(a, off, seg_tok, nelem, r, 1, trim)
                if q == Q_85 and level == 20:
                    if billing < 0:
                        billing = r
                elif q == Q_PR and level == 22:
                    if payer < 0:
                        payer = r
                elif q == Q_IL and level == 22:
                    if subscriber < 0:
                        subscriber = r
                elif q == Q_QC and level == 23:
                    if patient < 0:
                        patient = r
            elif area == A_CLAIM:
                if claims[C_REND, ci] < 0 and _q(a, off, seg_tok, nelem, r, 1, trim) == Q_82:
                    claims[C_REND, ci] = r
        elif s == CLM:
            if txn < 0 or (level != 22 and level != 23):
                if pcount[P_CLM_OUTSIDE] < PROBLEM_CAP:
                    problems[P_CLM_OUTSIDE, pcount[P_CLM_OUTSIDE]] = r
                pcount[P_CLM_OUTSIDE] += 1
            ci = nc
            nc += 1
            li = -1
            ordinal += 1
            area = A_CLAIM
            claims[C_CLM, ci] = r
            claims[C_BHT, ci] = bht
            claims[C_BILL, ci] = billing
            claims[C_PAYER, ci] = payer
            if level == 23:
                claims[C_PAT, ci] = patient
                claims[C_PAT_QC, ci] = 1
            else:
                claims[C_PAT, ci] = subscriber
                claims[C_PAT_QC, ci] = 0
            claims[C_TXN, ci] = txn
            claims[C_ORD, ci] = ordinal
            claims[C_LINES, ci] = 0
            claims[C_ST, ci] = st_row
        elif s == SBR:
            if area == A_CLAIM or area == A_LINE:
                area = A_OTHER  # 2320: other payers' loops until the first LX
        elif s == REF:
            if area == A_CLAIM:
                if claims[C_F8, ci] < 0 and _q(a, off, seg_tok, nelem, r, 1, trim) == Q_F8:
                    claims[C_F8, ci] = r
            elif area == A_LINE:
                if lines[L_6R, li] < 0 and _q(a, off, seg_tok, nelem, r, 1, trim) == Q_6R:
                    lines[L_6R, li] = r
        elif s == DTP:
            if area == A_CLAIM:
                if claims[C_434, ci] < 0 and _q(a, off, seg_tok, nelem, r, 1, trim) == Q_434:
                    claims[C_434, ci] = r
            elif area == A_LINE:
                if lines[L_472, li] < 0 and _q(a, off, seg_tok, nelem, r, 1, trim) == Q_472:
                    lines[L_472, li] = r
        elif s == LX:
            if ci < 0:
                if pcount[P_LX_OUTSIDE] < PROBLEM_CAP:
                    problems[P_LX_OUTSIDE, pcount[P_LX_OUTSIDE]] = r
                pcount[P_LX_OUTSIDE] += 1
                li = -1
                continue
            li = nl
            nl += 1
            area = A_LINE
            lines[L_LX, li] = r
            lines[L_CLAIM, li] = ci
            claims[C_LINES, ci] += 1
        elif s == SV1 or s == SV2 or s == SV3:
            if area != A_LINE:
                if pcount[P_SV_OUTSIDE] < PROBLEM_CAP:
                    problems[P_SV_OUTSIDE, pcount[P_SV_OUTSIDE]] = r
                pcount[P_SV_OUTSIDE] += 1
            elif lines[L_SV, li] >= 0:
                if pcount[P_SV_TWICE] < PROBLEM_CAP:
                    problems[P_SV_TWICE, pcount[P_SV_TWICE]] = r
                pcount[P_SV_TWICE] += 1
            else:
                lines[L_SV, li] = r
                if s == SV1:
                    lines[L_SV1, li] = r
                elif s == SV2:
                    lines[L_SV2, li] = r
                else:
                    lines[L_SV3, li] = r
        elif s == TOO:
            if area == A_LINE and lines[L_TOO, li] < 0:
                lines[L_TOO, li] = r
    return claims[:, :nc], lines[:, :nl], problems, pcount


@_jit
def date_parts(a, s, e):
    """The first and the last CCYYMMDD of each DTP03 span (``D8`` date or ``RD8`` range
    ``CCYYMMDD-CCYYMMDD``): two span pairs; a span of another shape is kept whole in both (so it is
    reported as not a date)."""
    n = s.shape[0]
    fs = s.copy()
    fe = e.copy()
    ts = s.copy()
    te = e.copy()
    for k in range(n):
        lo = s[k]
        hi = e[k]
        if hi - lo == 17 and a[lo + 8] == 45:
            fe[k] = lo + 8
            ts[k] = lo + 9
    return fs, fe, ts, te


@_jit
def claim_sums(line_claim, d_from, from_ok, d_to, to_ok, charge, charge_ok, nc):
    """Per claim, over its lines (``line_claim`` is in claim order, as the walk appends lines): the
    earliest valid first date, the latest valid last date (else first date), and the exact sum of the
    valid charges. Returns (lo, lo_ok, hi, hi_ok, total)."""
    lo = np.zeros(nc, np.int32)
    hi = np.zeros(nc, np.int32)
    lo_ok = np.zeros(nc, np.bool_)
    hi_ok = np.zeros(nc, np.bool_)
    total = np.zeros(nc, np.int64)
    for k in range(line_claim.shape[0]):
        c = line_claim[k]
        if charge_ok[k]:
            total[c] += charge[k]
        if from_ok[k]:
            d = d_from[k]
            if not lo_ok[c] or d < lo[c]:
                lo[c] = d
                lo_ok[c] = True
            last = d_to[k] if to_ok[k] else d
            if not hi_ok[c] or last > hi[c]:
                hi[c] = last
                hi_ok[c] = True
    return lo, lo_ok, hi, hi_ok, total
