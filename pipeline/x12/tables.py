"""Build the six tables of one chunk with column operations (see ``columnar`` for the token model)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.x12 import columnar as col
from pipeline.x12 import schema
from pipeline.x12.columnar import Chunk, ProblemLog, TxnEnvelope, Values
from pipeline.x12.errors import Problem

_NULL_STR = pa.scalar(None, pa.string())


def _const(value: str | None, n: int) -> pa.Array:
    return pa.array(np.full(n, value, dtype=object), pa.string())


def _int32(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int32), pa.int32())


def _strs(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())


def _join(a: pa.Array, b: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(a, b, "-")


def _take(arr: pa.Array, idx: np.ndarray) -> pa.Array:
    """``arr[idx]`` with ``-1`` giving null."""
    idx = np.asarray(idx, dtype=np.int64)
    return arr.take(pa.array(np.maximum(idx, 0), mask=idx < 0, type=pa.int64()))


def _eq(arr: pa.Array, value: str) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.equal(arr, value), False), dtype=bool)


def _rows_where(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask).astype(np.int64)


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    sch = schema.TABLES[name]
    return pa.Table.from_arrays([columns[f.name].cast(f.type) for f in sch], schema=sch)


class Envelope:
    """ISA/GS/ST nesting, control numbers and counts, carried across the chunks of one file."""

    def __init__(self, bare: bool):
        self.bare = bare
        self.isa: dict | None = None
        self.gs: dict | None = None
        self.st: dict | None = None
        self.transactions = 0
        self.last: tuple[int, int, str] | None = None  # segment number, offset, id of the last segment

    def process(self, c: Chunk, rows: np.ndarray, log: ProblemLog) -> list[TxnEnvelope]:
        """Check the envelope segments of one chunk (in order); return one entry per ST."""
        out: list[TxnEnvelope] = []
        if len(rows) == 0:
            return out
        vals = {j: c.raw(rows, j).to_pylist() for j in (1, 2, 3, 6, 8, 13)}
        sids = c.sid[rows]
        for k, row in enumerate(rows.tolist()):
            s = int(sids[k])
            e = {j: vals[j][k] for j in vals}
            segno = c.segment_number(row)

            def bad(msg: str, row: int = row) -> None:
                log.add(c.problem(row, msg))

            if s == col.ISA:
                if self.bare:
                    bad("ISA in a file that started without one")
                if self.isa is not None:
                    bad(f"ISA starts before IEA closed interchange {self.isa['ctrl']}")
                self.isa = {"ctrl": e[13], "sender": e[6], "receiver": e[8], "groups": 0}
                self.gs = None
            elif s == col.IEA:
                if self.isa is None:
                    bad("IEA without an open ISA")
                    continue
                if self.gs is not None:
                    bad(f"IEA before GE closed group {self.gs['ctrl']}")
                if e[2] != self.isa["ctrl"]:
                    bad(f"IEA02 {e[2]!r} does not match ISA13 {self.isa['ctrl']!r}")
                if e[1] != str(self.isa["groups"]) and _int(e[1]) != self.isa["groups"]:
                    bad(f"IEA01 says {e[1]!r} groups, the interchange has {self.isa['groups']}")
                self.isa = None
            elif s == col.GS:
                if self.isa is None:
                    bad("GS outside an interchange (no open ISA)")
                else:
                    self.isa["groups"] += 1
                if self.gs is not None:
                    bad(f"GS starts before GE closed group {self.gs['ctrl']}")
                self.gs = {"ctrl": e[6], "version": e[8], "txns": 0}
            elif s == col.GE:
                if self.gs is None:
                    bad("GE without an open GS")
                    continue
                if self.st is not None:
                    bad(f"GE before SE closed transaction {self.st['ctrl']}")
                    self.st = None
                if e[2] != self.gs["ctrl"]:
                    bad(f"GE02 {e[2]!r} does not match GS06 {self.gs['ctrl']!r}")
                if _int(e[1]) != self.gs["txns"]:
                    bad(f"GE01 says {e[1]!r} transactions, the group has {self.gs['txns']}")
                self.gs = None
            elif s == col.ST:
                if not self.bare and self.gs is None:
                    bad("ST outside a functional group (no open GS)")
                if self.st is not None:
                    log.add(
                        Problem(
                            f"transaction {self.st['ctrl']} has no SE (truncated or broken envelope)",
                            self.st["segno"],
                            self.st["offset"],
                            "ST",
                        )
                    )
                if e[1] != "835":
                    bad(f"transaction set {e[1]!r} is not an 835 (ST01)")
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
            elif s == col.SE:
                if self.st is None:
                    bad("SE without an open ST")
                    continue
                if e[2] != self.st["ctrl"]:
                    bad(f"SE02 {e[2]!r} does not match ST02 {self.st['ctrl']!r}")
                count = segno - self.st["segno"] + 1
                if _int(e[1]) != count:
                    bad(f"SE01 says {e[1]!r} segments, the transaction has {count}")
                self.st = None
        return out

    def finish(self, log: ProblemLog) -> None:
        """End-of-file checks: everything opened must be closed."""
        segno, offset, sid = self.last or (None, None, None)
        if self.st is not None:
            log.add(
                Problem(
                    f"file ends inside transaction {self.st['ctrl']} (no SE): truncated?", segno, offset, sid
                )
            )
        if self.gs is not None:
            log.add(
                Problem(f"file ends inside group {self.gs['ctrl']} (no GE): truncated?", segno, offset, sid)
            )
        if self.isa is not None:
            log.add(
                Problem(
                    f"file ends inside interchange {self.isa['ctrl']} (no IEA): truncated?",
                    segno,
                    offset,
                    sid,
                )
            )
        if self.transactions == 0:
            log.add(Problem("the file holds no ST transaction", segno, offset, sid))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def build_tables(
    c: Chunk,
    env: Envelope,
    log: ProblemLog,
    *,
    file_id: str,
    source: str,
    txn_base: int,
    secret: bytes | None,
) -> dict[str, pa.Table]:
    """The six tables for one chunk; problems go to ``log``."""
    n = c.n
    sid = c.sid
    conv = Values(c, log)
    if n:
        c_last = n - 1
        env.last = (c.segment_number(c_last), c.byte_offset(c_last), c.segment_id(c_last))

    for row in np.flatnonzero(~c.valid_id)[:20]:
        log.add(c.problem(int(row), "not a segment id (binary data, wrong delimiters or a broken file?)"))

    is_st, is_se = sid == col.ST, sid == col.SE
    is_env = np.isin(sid, col.ENVELOPE)
    txn_env = env.process(c, _rows_where(is_env), log)

    last_st = col._last_true(is_st)
    in_txn = last_st > col._last_true(is_se)
    outside = ~in_txn & ~is_env & c.valid_id
    for row in np.flatnonzero(outside)[:20]:
        log.add(c.problem(int(row), "segment outside a transaction (ST … SE)"))
    t_of = np.cumsum(is_st, dtype=np.int64) - 1

    is_clp = (sid == col.CLP) & in_txn
    is_svc = sid == col.SVC
    closer = np.isin(sid, (col.ST, col.SE, col.LX, col.PLB, col.GE, col.IEA, col.ISA, col.GS))
    last_clp = col._last_true(is_clp)
    last_svc = col._last_true(is_svc)
    in_claim = in_txn & (last_clp > col._last_true(closer))
    in_line = in_claim & (last_svc > last_clp)
    claim_of = np.cumsum(is_clp, dtype=np.int64) - 1
    is_svc = is_svc & in_claim
    line_of = np.cumsum(is_svc, dtype=np.int64) - 1
    in_hdr = in_txn & ~in_claim

    for row in np.flatnonzero((sid == col.CAS) & ~in_claim & in_txn)[:20]:
        log.add(c.problem(int(row), "CAS outside a claim (no CLP before it)"))

    # ---- transactions ----------------------------------------------------------------------------
    st_rows = _rows_where(is_st)
    nt = len(st_rows)
    txn_ids = [f"{file_id[:24]}-{txn_base + k + 1}" for k in range(nt)]
    txn_id_arr = pa.array(txn_ids, pa.string())

    def first(mask: np.ndarray, groups: np.ndarray, count: int) -> np.ndarray:
        return col._first_per_group(_rows_where(mask), groups, count)

    def qual_rows(seg: int, where: np.ndarray, qualifier: str, j: int = 1) -> np.ndarray:
        rows = _rows_where((sid == seg) & where)
        if len(rows) == 0:
            return rows
        return rows[_eq(c.raw(rows, j), qualifier)]

    def first_rows(rows: np.ndarray, groups: np.ndarray, count: int) -> np.ndarray:
        return col._first_per_group(rows, groups, count)

    bpr = first((sid == col.BPR) & in_hdr, t_of, nt)
    for k in np.flatnonzero(bpr < 0):
        log.add(c.problem(int(st_rows[k]), "transaction has no BPR segment"))
    trn = first((sid == col.TRN) & in_hdr, t_of, nt)
    n1pr = first_rows(qual_rows(col.N1, in_hdr, "PR"), t_of, nt)
    n1pe = first_rows(qual_rows(col.N1, in_hdr, "PE"), t_of, nt)
    ref2u = first_rows(qual_rows(col.REF, in_hdr, "2U"), t_of, nt)
    reftj = first_rows(qual_rows(col.REF, in_hdr, "TJ"), t_of, nt)
    dtm405 = first_rows(qual_rows(col.DTM, in_hdr, "405"), t_of, nt)

    bpr02, bpr_cents, bpr_ok = conv.decimal(bpr, c.raw(bpr, 2), "BPR02", required=False)
    pe_q = c.raw(n1pe, 3)
    pe_id = c.raw(n1pe, 4)
    payer_id = pc.coalesce(c.raw(ref2u, 2), c.raw(n1pr, 4))
    tax_id = pc.coalesce(pc.if_else(pc.equal(pe_q, "FI"), pe_id, _NULL_STR), c.raw(reftj, 2))

    # ---- claims ----------------------------------------------------------------------------------
    clp_rows = _rows_where(is_clp & in_txn)
    ncl = len(clp_rows)
    claim_txn = t_of[clp_rows]
    claim_ord = col._ordinal_within(is_clp, last_st)[clp_rows]
    claim_ids = _join(_take(txn_id_arr, claim_txn), _strs(claim_ord)) if ncl else pa.array([], pa.string())
    # claim numbering local to the chunk: claim_of gives 0..ncl-1 in file order for rows inside claims
    clp03, c03, ok03 = conv.decimal(clp_rows, c.raw(clp_rows, 3), "CLP03", required=True)
    clp04, c04, ok04 = conv.decimal(clp_rows, c.raw(clp_rows, 4), "CLP04", required=True)
    clp05, _, _ = conv.decimal(clp_rows, c.raw(clp_rows, 5), "CLP05")
    status = c.raw(clp_rows, 2)

    cl_only = in_claim & ~in_line

    def claim_first(seg: int, qualifier: str) -> np.ndarray:
        return first_rows(qual_rows(seg, cl_only, qualifier), claim_of, ncl)

    d232, d233, d050 = (claim_first(col.DTM, q) for q in ("232", "233", "050"))
    nm1qc, nm182 = claim_first(col.NM1, "QC"), claim_first(col.NM1, "82")
    reff8, amtau = claim_first(col.REF, "F8"), claim_first(col.AMT, "AU")
    coverage, _, _ = conv.decimal(amtau, c.raw(amtau, 2), "AMT02")

    if secret is not None and ncl:
        parts = [pc.utf8_upper(pc.fill_null(c.raw(nm1qc, j), "")) for j in (3, 4, 8, 9)]
        joined = pc.binary_join_element_wise(*parts, "|").to_pylist()
        has = (nm1qc >= 0).tolist()
        patient_key = col.hmac_keys(secret, [v if h else None for v, h in zip(joined, has, strict=True)])
    else:
        patient_key = pa.nulls(ncl, pa.string())

    # ---- service lines ---------------------------------------------------------------------------
    svc_rows = _rows_where(is_svc & in_claim)
    for row in np.flatnonzero((sid == col.SVC) & in_txn & ~in_claim)[:20]:
        log.add(c.problem(int(row), "SVC outside a claim (no CLP before it)"))
    nl = len(svc_rows)
    line_claim = claim_of[svc_rows]
    line_no = col._ordinal_within(is_svc, last_clp)[svc_rows]
    line_ids = _join(_take(claim_ids, line_claim), _strs(line_no)) if nl else pa.array([], pa.string())
    svc01 = col.components(c.raw(svc_rows, 1), c.component, 7)
    svc06 = col.components(c.raw(svc_rows, 6), c.component, 2)
    svc02, s02, ok_s02 = conv.decimal(svc_rows, c.raw(svc_rows, 2), "SVC02", required=True)
    svc03, s03, ok_s03 = conv.decimal(svc_rows, c.raw(svc_rows, 3), "SVC03", required=True)
    units, _, _ = conv.decimal(svc_rows, c.raw(svc_rows, 5), "SVC05", schema.QUANTITY)
    orig_units, _, _ = conv.decimal(svc_rows, c.raw(svc_rows, 7), "SVC07", schema.QUANTITY)
    mods = np.empty(0, dtype=bool)
    if nl:
        mod_cols = svc01[2:6]
        present = np.stack([np.asarray(m.is_valid()) for m in mod_cols], axis=1)
        order = np.arange(nl * 4).reshape(4, nl).T.ravel()  # row-major over the 4 modifier slots
        flat = pa.concat_arrays(mod_cols).take(pa.array(order)).filter(pa.array(present.ravel()))
        offs = np.zeros(nl + 1, dtype=np.int32)
        np.cumsum(present.sum(axis=1), out=offs[1:])
        modifiers = pa.ListArray.from_arrays(pa.array(offs), flat)
    else:
        modifiers = pa.array([], pa.list_(pa.string()))
    del mods
    qualifier, proc = svc01[0], svc01[1]
    is_dental = pc.or_(
        pc.fill_null(pc.equal(qualifier, "AD"), False),
        pc.fill_null(pc.match_substring_regex(proc, r"^D\d{4}$"), False),
    )

    ln_only = in_line

    def line_first(seg: int, qualifier: str, j: int = 1) -> np.ndarray:
        return first_rows(qual_rows(seg, ln_only, qualifier, j), line_of, nl)

    d472, d150, d151 = (line_first(col.DTM, q) for q in ("472", "150", "151"))
    ref6r, amtb6 = line_first(col.REF, "6R"), line_first(col.AMT, "B6")
    allowed, _, _ = conv.decimal(amtb6, c.raw(amtb6, 2), "AMT02")
    # DTM*472: a single date in DTM02, or DTM05 = D8/RD8 with DTM06 = date or date-date
    fmt = c.raw(d472, 5)
    period = c.raw(d472, 6)
    is_rd8 = _eq(fmt, "RD8")
    single = pc.coalesce(c.raw(d472, 2), pc.if_else(pa.array(is_rd8), _NULL_STR, period))
    rng = pc.if_else(pa.array(is_rd8), period, _NULL_STR)
    rng_ok = pc.match_substring_regex(rng, col.RD8_RE)
    bad_rng = np.asarray(rng.is_valid()) & ~np.asarray(pc.fill_null(rng_ok, False))
    for k in np.flatnonzero(bad_rng)[:20]:
        log.add(c.problem(int(d472[k]), f"DTM06 {rng[int(k)].as_py()!r} is not a CCYYMMDD-CCYYMMDD range"))
    rng = pc.if_else(pc.fill_null(rng_ok, False), rng, _NULL_STR)
    r_from = conv.date(d472, pc.utf8_slice_codeunits(rng, 0, 8), "DTM06 range start")
    r_to = conv.date(d472, pc.utf8_slice_codeunits(rng, 9, 17), "DTM06 range end")
    single_d = conv.date(d472, single, "DTM*472 date")
    d150_d = conv.date(d150, c.raw(d150, 2), "DTM*150 date")
    d151_d = conv.date(d151, c.raw(d151, 2), "DTM*151 date")
    svc_from = pc.coalesce(single_d, r_from, d150_d)
    svc_to = pc.coalesce(single_d, r_to, d151_d)

    # ---- adjustments (every CAS triple) ----------------------------------------------------------
    cas_rows = _rows_where((sid == col.CAS) & in_claim)
    m = len(cas_rows)
    cas_line = in_line[cas_rows]
    opener = np.where(in_line, last_svc, last_clp)
    cas_ord = col._ordinal_within(sid == col.CAS, opener)[cas_rows]
    group = c.raw(cas_rows, 1)
    reasons, amounts, qtys = [], [], []
    for p in range(6):
        reasons.append(c.raw(cas_rows, 2 + 3 * p))
        amounts.append(c.raw(cas_rows, 3 + 3 * p))
        qtys.append(c.raw(cas_rows, 4 + 3 * p))
    order = np.arange(m * 6).reshape(6, m).T.ravel()  # (row, position) in file order
    reason = pa.concat_arrays(reasons).take(pa.array(order))
    amount_s = pa.concat_arrays(amounts).take(pa.array(order))
    qty_s = pa.concat_arrays(qtys).take(pa.array(order))
    trip_rows = np.repeat(cas_rows, 6)
    has_r = np.asarray(reason.is_valid())
    has_a = np.asarray(amount_s.is_valid())
    has_q = np.asarray(qty_s.is_valid())
    if m:
        for k in np.flatnonzero(~has_r & (has_a | has_q))[:20]:
            log.add(c.problem(int(trip_rows[k]), f"CAS triple {k % 6 + 1} has an amount but no reason code"))
        for k in np.flatnonzero(has_r & ~has_a)[:20]:
            log.add(c.problem(int(trip_rows[k]), f"CAS triple {k % 6 + 1} has a reason code but no amount"))
        for k in np.flatnonzero(~np.asarray(group.is_valid()))[:20]:
            log.add(c.problem(int(cas_rows[k]), "CAS01 group code is missing"))
    keep = has_r | has_a
    kidx = np.flatnonzero(keep)
    adj_rows = trip_rows[kidx]
    amt, amt_c, _ = conv.decimal(adj_rows, amount_s.take(pa.array(kidx, pa.int64())), "CAS amount")
    qty, _, _ = conv.decimal(
        adj_rows, qty_s.take(pa.array(kidx, pa.int64())), "CAS quantity", schema.QUANTITY
    )
    adj_pos = (kidx % 6 + 1).astype(np.int32)
    adj_cas = np.repeat(np.arange(m), 6)[kidx]
    adj_is_line = cas_line[adj_cas] if m else np.zeros(0, dtype=bool)
    adj_claim = claim_of[adj_rows]
    adj_line = np.where(adj_is_line, line_of[adj_rows], -1)
    adj_claim_id = _take(claim_ids, adj_claim)
    adj_line_id = _take(line_ids, adj_line)
    owner = pc.coalesce(adj_line_id, adj_claim_id)
    adj_id = pc.binary_join_element_wise(owner, _strs(cas_ord[adj_cas]), _strs(adj_pos), "-")

    # ---- balancing -------------------------------------------------------------------------------
    cas_by_claim = col._group_sum(adj_claim, amt_c, ncl)
    line_mask = adj_line >= 0
    cas_by_line = col._group_sum(adj_line[line_mask], amt_c[line_mask], nl)
    claim_ok = ok03 & ok04
    claim_diff = c03 - cas_by_claim - c04
    line_ok = ok_s02 & ok_s03
    line_diff = s02 - cas_by_line - s03
    lines_per_claim = col._group_sum(line_claim, np.ones(nl, dtype=np.int64), ncl)

    # ---- provider adjustments (PLB) --------------------------------------------------------------
    plb_rows = _rows_where((sid == col.PLB) & in_txn)
    q = len(plb_rows)
    plb_ord = col._ordinal_within(sid == col.PLB, last_st)[plb_rows]
    comps, pamts = [], []
    for p in range(6):
        comps.append(c.raw(plb_rows, 3 + 2 * p))
        pamts.append(c.raw(plb_rows, 4 + 2 * p))
    porder = np.arange(q * 6).reshape(6, q).T.ravel()
    comp = pa.concat_arrays(comps).take(pa.array(porder))
    pamt = pa.concat_arrays(pamts).take(pa.array(porder))
    prow = np.repeat(plb_rows, 6)
    has_c = np.asarray(comp.is_valid())
    has_pa = np.asarray(pamt.is_valid())
    for k in np.flatnonzero(has_c ^ has_pa)[:20]:
        log.add(
            c.problem(int(prow[k]), f"PLB pair {k % 6 + 1} lacks its {'amount' if has_c[k] else 'reason'}")
        )
    pk = np.flatnonzero(has_c | has_pa)
    p_rows = prow[pk]
    p_amt, p_cents, _ = conv.decimal(p_rows, pamt.take(pa.array(pk, pa.int64())), "PLB amount")
    p_reason, p_ref = col.components(comp.take(pa.array(pk, pa.int64())), c.component, 2)
    p_plb = np.repeat(np.arange(q), 6)[pk]
    p_txn = t_of[p_rows]
    plb_provider = _take(c.raw(plb_rows, 1), p_plb)
    plb_date_all = conv.date(plb_rows, c.raw(plb_rows, 2), "PLB02")
    plb_date = _take(plb_date_all, p_plb)
    plb_by_txn = col._group_sum(p_txn, p_cents, nt)

    # ---- remarks ---------------------------------------------------------------------------------
    rem_rows, rem_pos, rem_codes, rem_src = [], [], [], []
    lq_rows = _rows_where((sid == col.LQ) & in_claim)
    lq_q = c.raw(lq_rows, 1)
    for qual, label in (("HE", "LQ"), ("RX", "LQ_RX")):
        r = lq_rows[_eq(lq_q, qual)]
        rem_rows.append(r)
        rem_pos.append(np.full(len(r), 2))
        rem_codes.append(c.raw(r, 2))
        rem_src.append(np.full(len(r), label, dtype=object))
    for seg, label, positions in ((col.MIA, "MIA", (5, 20, 21, 22, 23)), (col.MOA, "MOA", (3, 4, 5, 6, 7))):
        r = _rows_where((sid == seg) & in_claim)
        for j in positions:
            rem_rows.append(r)
            rem_pos.append(np.full(len(r), j))
            rem_codes.append(c.raw(r, j))
            rem_src.append(np.full(len(r), label, dtype=object))
    rr = np.concatenate(rem_rows)
    rp = np.concatenate(rem_pos)
    rcode = pa.concat_arrays(rem_codes)
    rsrc = np.concatenate(rem_src)
    present_r = np.asarray(rcode.is_valid())
    sel = np.flatnonzero(present_r)
    sel = sel[np.lexsort((rp[sel], rr[sel]))]
    rr, rsrc = rr[sel], rsrc[sel]
    rcode = rcode.take(pa.array(sel, pa.int64()))
    r_line = np.where(in_line[rr], line_of[rr], -1)
    r_claim = claim_of[rr]

    # ---- assemble --------------------------------------------------------------------------------
    env_cols = {
        "interchange_control_number": [e.interchange_control_number for e in txn_env],
        "interchange_sender_id": [e.interchange_sender_id for e in txn_env],
        "interchange_receiver_id": [e.interchange_receiver_id for e in txn_env],
        "group_control_number": [e.group_control_number for e in txn_env],
        "version": [e.version for e in txn_env],
    }
    if len(txn_env) != nt:  # only when the envelope pass reported problems; keep lengths consistent
        env_cols = {k: [None] * nt for k in env_cols}
    paid_by_txn = col._group_sum(claim_txn, np.where(ok04, c04, 0), nt)
    pay_diff = bpr_cents - (paid_by_txn - plb_by_txn)
    bpr_valid = bpr_ok & (bpr >= 0)
    file_col = _const(file_id, nt)
    payments = _table(
        "payments",
        {
            "file_id": file_col,
            "transaction_id": txn_id_arr,
            "source": _const(source, nt),
            "transaction_ordinal": _int32(np.arange(nt) + txn_base + 1),
            **{k: pa.array(v, pa.string()) for k, v in env_cols.items()},
            "transaction_control_number": c.raw(st_rows, 2),
            "payment_amount": bpr02,
            "credit_debit_flag": c.raw(bpr, 3),
            "payment_method": c.raw(bpr, 4),
            "payment_date": conv.date(bpr, c.raw(bpr, 16), "BPR16"),
            "trace_number": c.raw(trn, 2),
            "payer_identifier": c.raw(trn, 3),
            "payer_name": c.raw(n1pr, 2),
            "payer_id": payer_id,
            "payee_name": c.raw(n1pe, 2),
            "payee_npi": pc.if_else(pc.equal(pe_q, "XX"), pe_id, _NULL_STR),
            "payee_tax_id": tax_id,
            "production_date": conv.date(dtm405, c.raw(dtm405, 2), "DTM*405 date"),
            "claim_count": _int32(col._group_sum(claim_txn, np.ones(ncl, dtype=np.int64), nt)),
            "claim_paid_total": col._decimal_from_unscaled(
                paid_by_txn, np.ones(nt, dtype=bool), schema.MONEY
            ),
            "plb_total": col._decimal_from_unscaled(plb_by_txn, np.ones(nt, dtype=bool), schema.MONEY),
            "is_balanced": pa.array(pay_diff == 0, mask=~bpr_valid),
            "balance_difference": col._decimal_from_unscaled(pay_diff, bpr_valid, schema.MONEY),
        },
    )
    claims = _table(
        "claims",
        {
            "claim_id": claim_ids,
            "transaction_id": _take(txn_id_arr, claim_txn),
            "file_id": _const(file_id, ncl),
            "claim_ordinal": _int32(claim_ord),
            "patient_control_number": c.raw(clp_rows, 1),
            "claim_status_code": status,
            "charge_amount": clp03,
            "paid_amount": clp04,
            "patient_responsibility_amount": clp05,
            "claim_filing_indicator": c.raw(clp_rows, 6),
            "payer_claim_control_number": c.raw(clp_rows, 7),
            "facility_code": c.raw(clp_rows, 8),
            "claim_frequency_code": c.raw(clp_rows, 9),
            "drg_code": c.raw(clp_rows, 11),
            "statement_from_date": conv.date(d232, c.raw(d232, 2), "DTM*232 date"),
            "statement_to_date": conv.date(d233, c.raw(d233, 2), "DTM*233 date"),
            "received_date": conv.date(d050, c.raw(d050, 2), "DTM*050 date"),
            "rendering_provider_id": c.raw(nm182, 9),
            "original_reference_number": c.raw(reff8, 2),
            "coverage_amount": coverage,
            "patient_key": patient_key,
            "is_reversal": pc.fill_null(pc.equal(status, "22"), False),
            "line_count": _int32(lines_per_claim),
            "is_balanced": pa.array(claim_diff == 0, mask=~claim_ok),
            "balance_difference": col._decimal_from_unscaled(claim_diff, claim_ok, schema.MONEY),
            "segment_number": _int32(clp_rows - last_st[clp_rows] + 1),
        },
    )
    service_lines = _table(
        "service_lines",
        {
            "line_id": line_ids,
            "claim_id": _take(claim_ids, line_claim),
            "transaction_id": _take(txn_id_arr, t_of[svc_rows]),
            "file_id": _const(file_id, nl),
            "line_number": _int32(line_no),
            "procedure_qualifier": qualifier,
            "procedure_code": proc,
            "modifiers": modifiers,
            "charge_amount": svc02,
            "paid_amount": svc03,
            "revenue_code": c.raw(svc_rows, 4),
            "units_paid": units,
            "original_procedure_qualifier": svc06[0],
            "original_procedure_code": svc06[1],
            "original_units": orig_units,
            "service_date_from": svc_from,
            "service_date_to": svc_to,
            "line_control_number": c.raw(ref6r, 2),
            "allowed_amount": allowed,
            "is_dental": is_dental,
            "is_balanced": pa.array(line_diff == 0, mask=~line_ok),
            "balance_difference": col._decimal_from_unscaled(line_diff, line_ok, schema.MONEY),
        },
    )
    na = len(adj_rows)
    adjustments = _table(
        "adjustments",
        {
            "adjustment_id": adj_id,
            "claim_id": adj_claim_id,
            "line_id": adj_line_id,
            "transaction_id": _take(txn_id_arr, t_of[adj_rows]),
            "file_id": _const(file_id, na),
            "level": pa.array(np.where(adj_is_line, "line", "claim").astype(object), pa.string()),
            "group_code": _take(group, adj_cas),
            "reason_code": reason.take(pa.array(kidx, pa.int64())),
            "amount": amt,
            "quantity": qty,
            "position": _int32(adj_pos),
            "cas_ordinal": _int32(cas_ord[adj_cas]),
        },
    )
    nr = len(rr)
    remarks = _table(
        "remarks",
        {
            "claim_id": _take(claim_ids, r_claim),
            "line_id": _take(line_ids, r_line),
            "transaction_id": _take(txn_id_arr, t_of[rr]),
            "file_id": _const(file_id, nr),
            "level": pa.array(np.where(r_line >= 0, "line", "claim").astype(object), pa.string()),
            "source": pa.array(rsrc, pa.string()),
            "remark_code": rcode,
        },
    )
    npl = len(pk)
    provider_adjustments = _table(
        "provider_adjustments",
        {
            "transaction_id": _take(txn_id_arr, p_txn),
            "file_id": _const(file_id, npl),
            "provider_id": plb_provider,
            "fiscal_period_date": plb_date,
            "reason_code": p_reason,
            "reference_id": p_ref,
            "amount": p_amt,
            "position": _int32(pk % 6 + 1),
            "plb_ordinal": _int32(plb_ord[p_plb]),
        },
    )
    return {
        "payments": payments,
        "claims": claims,
        "service_lines": service_lines,
        "adjustments": adjustments,
        "remarks": remarks,
        "provider_adjustments": provider_adjustments,
    }
