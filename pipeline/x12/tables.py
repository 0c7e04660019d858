"""Build the six tables of one chunk with column operations (see ``columnar`` for the token model)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.x12 import columnar as col
from pipeline.x12 import schema
from pipeline.x12.columnar import Chunk, ProblemLog, TxnEnvelope, Values
from pipeline.x12.errors import Problem

_NULL_STR = pa.scalar(None, pa.string())


def _const(value: str | None, n: int) -> pa.Array:
    """``n`` copies of one string, built directly from buffers."""
    if value is None:
        return pa.nulls(n, pa.string())
    raw = value.encode()
    offs = np.arange(n + 1, dtype=np.int32) * len(raw)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offs), pa.py_buffer(raw * n)])


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
        """Check the envelope segments of one chunk (in order); return one entry per ST.

        Well-nested chunks (ST/SE alternating, no ISA/GS/GE/IEA inside a transaction) take a vectorised
        path for the ST/SE pairs; anything else goes through the segment-by-segment state machine.
        """
        if len(rows) == 0:
            return []
        sids = c.sid[rows]
        st_m, se_m = sids == col.ST, sids == col.SE
        pair = sids[st_m | se_m]
        open_ = np.cumsum(st_m) - np.cumsum(se_m)
        if (
            self.st is None
            and len(pair) % 2 == 0
            and (pair[0::2] == col.ST).all()
            and (pair[1::2] == col.SE).all()
            and (open_[~(st_m | se_m)] == 0).all()
        ):
            return self._fast(c, rows, sids, st_m, se_m, log)
        return self._slow(c, rows, sids, log)

    def _fast(
        self,
        c: Chunk,
        rows: np.ndarray,
        sids: np.ndarray,
        st_m: np.ndarray,
        se_m: np.ndarray,
        log: ProblemLog,
    ) -> list[TxnEnvelope]:
        st_rows, se_rows = rows[st_m], rows[se_m]
        nst = len(st_rows)
        for k in np.flatnonzero(c.qcode(st_rows, 1) != col.code("835"))[:20]:
            got = c.raw(st_rows[k : k + 1], 1)[0].as_py()
            log.add(c.problem(int(st_rows[k]), f"transaction set {got!r} is not an 835 (ST01)"))
        st02, se02 = c.raw(st_rows, 2), c.raw(se_rows, 2)
        for k in np.flatnonzero(~np.asarray(pc.fill_null(pc.equal(st02, se02), False)))[:20]:
            log.add(
                c.problem(
                    int(se_rows[k]),
                    f"SE02 {se02[int(k)].as_py()!r} does not match ST02 {st02[int(k)].as_py()!r}",
                )
            )
        count, ok = c.numbers(*c.span(se_rows, 1), 0)
        for k in np.flatnonzero(~ok | (count != se_rows - st_rows + 1))[:20]:
            got = c.raw(se_rows[k : k + 1], 1)[0].as_py()
            n = int(se_rows[k] - st_rows[k] + 1)
            log.add(c.problem(int(se_rows[k]), f"SE01 says {got!r} segments, the transaction has {n}"))
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
            out.extend(TxnEnvelope(*env, v or gs.get("version")) for v in versions)
            done = upto

        if len(other):
            self._slow(c, rows[other], sids[other], log, before=lambda k: assign(int(cum_st[other[k]])))
        assign(nst)
        self.transactions += nst
        return out

    def _slow(
        self, c: Chunk, rows: np.ndarray, sids: np.ndarray, log: ProblemLog, before=None
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


Q = col.code  # qualifier codes share the segment-id encoding


ENVELOPE_COLUMNS = (
    "interchange_control_number",
    "interchange_sender_id",
    "interchange_receiver_id",
    "group_control_number",
    "version",
)


def apply_envelope(c: Chunk, env: Envelope, log: ProblemLog, payments: pa.Table) -> pa.Table:
    """The sequential part of a chunk: envelope checks, and the envelope columns of ``payments``."""
    n = c.n
    if n:
        env.last = (c.segment_number(n - 1), c.byte_offset(n - 1), c.segment_id(n - 1))
    txn_env = env.process(c, _rows_where(col.any_of(c.sid, col.ENVELOPE)), log)
    if len(txn_env) != payments.num_rows:  # only with envelope problems (the file is rejected anyway)
        return payments
    for name in ENVELOPE_COLUMNS:
        i = payments.schema.get_field_index(name)
        payments = payments.set_column(
            i, payments.schema.field(i), pa.array([getattr(e, name) for e in txn_env], pa.string())
        )
    return payments


def build_tables(
    c: Chunk,
    log: ProblemLog,
    *,
    file_id: str,
    source: str,
    txn_base: Callable[[int], int],
    secret: bytes | None,
) -> dict[str, pa.Table]:
    """The six tables for one chunk (envelope columns left for ``apply_envelope``); problems go to
    ``log``. Depends on nothing but the chunk and ``txn_base`` (given this chunk's ST count, the number
    of STs before it), so chunks can be built in parallel."""
    n = c.n
    sid = c.sid
    conv = Values(c, log)
    for row in np.flatnonzero(~c.valid_id)[:20]:
        log.add(c.problem(int(row), "not a segment id (binary data, wrong delimiters or a broken file?)"))

    is_st, is_se = sid == col.ST, sid == col.SE
    is_env = col.any_of(sid, col.ENVELOPE)

    last_st = col._last_true(is_st)
    in_txn = last_st > col._last_true(is_se)
    outside = ~in_txn & ~is_env & c.valid_id
    for row in np.flatnonzero(outside)[:20]:
        log.add(c.problem(int(row), "segment outside a transaction (ST … SE)"))
    t_of = np.cumsum(is_st, dtype=np.int64) - 1

    is_clp = (sid == col.CLP) & in_txn
    closer = col.any_of(sid, (col.ST, col.SE, col.LX, col.PLB, col.GE, col.IEA, col.ISA, col.GS))
    last_clp = col._last_true(is_clp)
    in_claim = in_txn & (last_clp > col._last_true(closer))
    is_svc = (sid == col.SVC) & in_claim
    last_svc = col._last_true(is_svc)
    in_line = in_claim & (last_svc > last_clp)
    claim_of = np.cumsum(is_clp, dtype=np.int64) - 1
    line_of = np.cumsum(is_svc, dtype=np.int64) - 1
    in_hdr = in_txn & ~in_claim
    cl_only = in_claim & ~in_line

    for seg, what in ((col.CAS, "CAS"), (col.SVC, "SVC")):
        for row in np.flatnonzero((sid == seg) & in_txn & ~in_claim)[:20]:
            log.add(c.problem(int(row), f"{what} outside a claim (no CLP before it)"))

    # qualifier (element 1) of the segments whose meaning depends on it
    qual_seg = col.any_of(sid, (col.N1, col.REF, col.DTM, col.NM1, col.AMT, col.LQ))
    qrows = _rows_where(qual_seg)
    qual = np.full(n, -1, dtype=np.int64)
    qual[qrows] = c.qcode(qrows)

    seg_rows: dict[int, np.ndarray] = {}  # rows of each segment id, found once

    def rows_of(seg: int, where: np.ndarray, qualifier: str | None = None) -> np.ndarray:
        rows = seg_rows.get(seg)
        if rows is None:
            rows = seg_rows[seg] = _rows_where(sid == seg)
        keep = where[rows]
        if qualifier is not None:
            keep &= qual[rows] == Q(qualifier)
        return rows[keep]

    def first(rows: np.ndarray, groups: np.ndarray, count: int) -> np.ndarray:
        return col._first_per_group(rows, groups, count)

    # ---- transactions ----------------------------------------------------------------------------
    st_rows = _rows_where(is_st)
    nt = len(st_rows)
    txn_base = txn_base(nt)  # STs in the pieces before this one (may wait for them to be tokenised)
    txn_id_arr = pa.array([f"{file_id[:24]}-{txn_base + k + 1}" for k in range(nt)], pa.string())
    bpr = first(rows_of(col.BPR, in_hdr), t_of, nt)
    is_835 = c.qcode(st_rows, 1) == col.code("835")  # other sets are reported by the envelope pass
    for k in np.flatnonzero((bpr < 0) & is_835)[:20]:
        log.add(c.problem(int(st_rows[k]), "transaction has no BPR segment"))
    trn = first(rows_of(col.TRN, in_hdr), t_of, nt)
    n1pr = first(rows_of(col.N1, in_hdr, "PR"), t_of, nt)
    n1pe = first(rows_of(col.N1, in_hdr, "PE"), t_of, nt)
    ref2u = first(rows_of(col.REF, in_hdr, "2U"), t_of, nt)
    reftj = first(rows_of(col.REF, in_hdr, "TJ"), t_of, nt)
    dtm405 = first(rows_of(col.DTM, in_hdr, "405"), t_of, nt)
    bpr02, bpr_cents, bpr_ok = conv.decimal(bpr, 2, "BPR02")
    conv.missing(bpr, c.span(bpr, 2)[2], "BPR02")
    pe_q = c.raw(n1pe, 3)
    pe_id = c.raw(n1pe, 4)
    payer_id = pc.coalesce(c.raw(ref2u, 2), c.raw(n1pr, 4))
    tax_id = pc.coalesce(pc.if_else(pc.equal(pe_q, "FI"), pe_id, _NULL_STR), c.raw(reftj, 2))

    # ---- claims ----------------------------------------------------------------------------------
    clp_rows = _rows_where(is_clp)
    ncl = len(clp_rows)
    claim_txn = t_of[clp_rows]
    claim_ord = col._ordinal_within(is_clp, last_st, clp_rows)
    claim_ids = _join(_take(txn_id_arr, claim_txn), _strs(claim_ord)) if ncl else pa.array([], pa.string())
    clp03, c03, ok03 = conv.decimal(clp_rows, 3, "CLP03", required=True)
    clp04, c04, ok04 = conv.decimal(clp_rows, 4, "CLP04", required=True)
    clp05, _, _ = conv.decimal(clp_rows, 5, "CLP05")
    status = c.raw(clp_rows, 2)

    d232, d233, d050 = (first(rows_of(col.DTM, cl_only, q), claim_of, ncl) for q in ("232", "233", "050"))
    nm1qc = first(rows_of(col.NM1, cl_only, "QC"), claim_of, ncl)
    nm182 = first(rows_of(col.NM1, cl_only, "82"), claim_of, ncl)
    reff8 = first(rows_of(col.REF, cl_only, "F8"), claim_of, ncl)
    amtau = first(rows_of(col.AMT, cl_only, "AU"), claim_of, ncl)
    coverage, _, _ = conv.decimal(amtau, 2, "AMT02")

    if secret is not None and ncl:
        parts = [pc.utf8_upper(pc.fill_null(c.raw(nm1qc, j), "")) for j in (3, 4, 8, 9)]
        joined = pc.binary_join_element_wise(*parts, "|")
        joined = pc.if_else(pa.array(nm1qc >= 0), joined, _NULL_STR)
        patient_key = col.hmac_keys(secret, joined)
    else:
        patient_key = pa.nulls(ncl, pa.string())

    # ---- service lines ---------------------------------------------------------------------------
    svc_rows = _rows_where(is_svc)
    nl = len(svc_rows)
    line_claim = claim_of[svc_rows]
    line_no = col._ordinal_within(is_svc, last_clp, svc_rows)
    line_ids = _join(_take(claim_ids, line_claim), _strs(line_no)) if nl else pa.array([], pa.string())
    svc01 = c.components(*c.span(svc_rows, 1), 6)
    svc06 = c.components(*c.span(svc_rows, 6), 2)
    qualifier, proc = c.strings(*svc01[0]), c.strings(*svc01[1])
    svc02, s02, ok_s02 = conv.decimal(svc_rows, 2, "SVC02", required=True)
    svc03, s03, ok_s03 = conv.decimal(svc_rows, 3, "SVC03", required=True)
    units, _, _ = conv.decimal(svc_rows, 5, "SVC05", schema.QUANTITY)
    orig_units, _, _ = conv.decimal(svc_rows, 7, "SVC07", schema.QUANTITY)
    # modifiers: SVC01-3..6, row-major, empty slots dropped
    ms = np.stack([m[0] for m in svc01[2:6]], axis=1).ravel() if nl else np.zeros(0, np.int64)
    me = np.stack([m[1] for m in svc01[2:6]], axis=1).ravel() if nl else np.zeros(0, np.int64)
    mv = np.stack([m[2] for m in svc01[2:6]], axis=1) if nl else np.zeros((0, 4), bool)
    flat = c.strings(ms[mv.ravel()], me[mv.ravel()], np.ones(int(mv.sum()), dtype=bool))
    moffs = np.zeros(nl + 1, dtype=np.int32)
    np.cumsum(mv.sum(axis=1), out=moffs[1:])
    modifiers = pa.ListArray.from_arrays(pa.array(moffs), flat)
    # a CDT code is 'D' and four digits: checked on the bytes (a regex per value cost more)
    ps_, pe_, pv_ = svc01[1]
    cdt = pv_ & (pe_ - ps_ == 5) & (c.a[np.minimum(ps_, c.last)] == ord("D"))
    for k in range(1, 5):
        cdt &= (c.a[np.minimum(ps_ + k, c.last)] - np.uint8(48)) <= 9
    is_dental = pc.or_(pc.fill_null(pc.equal(qualifier, "AD"), False), pa.array(cdt))

    d472, d150, d151 = (first(rows_of(col.DTM, in_line, q), line_of, nl) for q in ("472", "150", "151"))
    ref6r = first(rows_of(col.REF, in_line, "6R"), line_of, nl)
    amtb6 = first(rows_of(col.AMT, in_line, "B6"), line_of, nl)
    allowed, _, _ = conv.decimal(amtb6, 2, "AMT02")
    # DTM*472: a date in DTM02, or DTM05 = D8 / RD8 with DTM06 = CCYYMMDD / CCYYMMDD-CCYYMMDD
    fmt = c.qcode(d472, 5)
    s6, e6, v6 = c.span(d472, 6)
    is_rd8 = v6 & (fmt == Q("RD8"))
    rd8_ok = is_rd8 & (e6 - s6 == 17) & (c.a[np.minimum(s6 + 8, c.last)] == ord("-"))
    for k in np.flatnonzero(is_rd8 & ~rd8_ok)[:20]:
        log.add(c.problem(int(d472[k]), "DTM06 is not a CCYYMMDD-CCYYMMDD range"))
    s2, e2, v2 = c.span(d472, 2)
    single_d = conv.date(d472, 2, "DTM*472 date", span=(s2, e2, v2))
    d8_d = conv.date(d472, 6, "DTM06 date", span=(s6, e6, v6 & ~v2 & ~is_rd8))
    r_from = conv.date(d472, 6, "DTM06 range start", span=(s6, s6 + 8, rd8_ok))
    r_to = conv.date(d472, 6, "DTM06 range end", span=(s6 + 9, e6, rd8_ok))
    d150_d = conv.date(d150, 2, "DTM*150 date")
    d151_d = conv.date(d151, 2, "DTM*151 date")
    svc_from = pc.coalesce(single_d, d8_d, r_from, d150_d)
    svc_to = pc.coalesce(single_d, d8_d, r_to, d151_d)

    # ---- adjustments (every CAS triple) ----------------------------------------------------------
    cas_mask = (sid == col.CAS) & in_claim
    cas_rows = _rows_where(cas_mask)
    m = len(cas_rows)
    opener = np.where(in_line, last_svc, last_clp)
    cas_ord_all = col._ordinal_within(cas_mask, opener, cas_rows)
    # only the triples a segment actually has (most CAS hold one): CAS02–04 is triple 1, … CAS17–19 6
    ntrip = np.clip((c.nelem[cas_rows] - 1 + 2) // 3, 0, 6) if m else np.zeros(0, dtype=np.int64)
    trip_cas = np.repeat(np.arange(m, dtype=np.int64), ntrip)
    first_trip = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(ntrip, out=first_trip[1:])
    trip_pos = np.arange(len(trip_cas), dtype=np.int64) - first_trip[trip_cas]
    trip_rows = cas_rows[trip_cas]
    rs, re_, rv = c.span(trip_rows, 2 + 3 * trip_pos)
    as_, ae, av = c.span(trip_rows, 3 + 3 * trip_pos)
    qs, qe, qv = c.span(trip_rows, 4 + 3 * trip_pos)
    for k in np.flatnonzero(~rv & (av | qv))[:20]:
        log.add(
            c.problem(int(trip_rows[k]), f"CAS triple {trip_pos[k] + 1} has an amount but no reason code")
        )
    for k in np.flatnonzero(rv & ~av)[:20]:
        log.add(c.problem(int(trip_rows[k]), f"CAS triple {trip_pos[k] + 1} has a reason code but no amount"))
    gs_, ge_, gv = c.span(cas_rows, 1)
    for k in np.flatnonzero(~gv)[:20]:
        log.add(c.problem(int(cas_rows[k]), "CAS01 group code is missing"))
    kidx = np.flatnonzero(rv | av)
    adj_rows = trip_rows[kidx]
    amt, amt_c, _ = conv.decimal(adj_rows, 0, "CAS amount", span=(as_[kidx], ae[kidx], av[kidx]))
    qty, _, _ = conv.decimal(
        adj_rows, 0, "CAS quantity", schema.QUANTITY, span=(qs[kidx], qe[kidx], qv[kidx])
    )
    adj_pos = trip_pos[kidx] + 1
    adj_cas = trip_cas[kidx]
    adj_is_line = in_line[adj_rows]
    adj_claim = claim_of[adj_rows]
    adj_line = np.where(adj_is_line, line_of[adj_rows], -1)
    adj_claim_id = _take(claim_ids, adj_claim)
    adj_line_id = _take(line_ids, adj_line)
    adj_cas_ord = cas_ord_all[adj_cas]
    # "-<CAS ordinal>-<position>" for each pair that occurs, appended to the line or claim id
    top = int(adj_cas_ord.max()) if len(adj_cas_ord) else 0
    suffixes = pa.array([f"-{o}-{q}" for o in range(1, top + 1) for q in range(1, 7)], pa.string())
    adj_suffix = suffixes.take(pa.array((adj_cas_ord - 1) * 6 + adj_pos - 1))
    adj_id = pc.binary_join_element_wise(pc.coalesce(adj_line_id, adj_claim_id), adj_suffix, "")

    # ---- balancing -------------------------------------------------------------------------------
    cas_by_claim = col._group_sum(adj_claim, amt_c, ncl)
    lm = adj_line >= 0
    cas_by_line = col._group_sum(adj_line[lm], amt_c[lm], nl)
    claim_ok = ok03 & ok04
    claim_diff = c03 - cas_by_claim - c04
    line_ok = ok_s02 & ok_s03
    line_diff = s02 - cas_by_line - s03
    lines_per_claim = col._group_sum(line_claim, np.ones(nl, dtype=np.int64), ncl)

    # ---- provider adjustments (PLB) --------------------------------------------------------------
    plb_mask = (sid == col.PLB) & in_txn
    plb_rows = _rows_where(plb_mask)
    q = len(plb_rows)
    plb_ord_all = col._ordinal_within(plb_mask, last_st, plb_rows)
    prow = np.repeat(plb_rows, 6)
    ppos = np.tile(np.arange(6, dtype=np.int64), q)
    cs_, ce_, cv = c.span(prow, 3 + 2 * ppos)
    ps, pe, pv = c.span(prow, 4 + 2 * ppos)
    for k in np.flatnonzero(cv ^ pv)[:20]:
        log.add(c.problem(int(prow[k]), f"PLB pair {k % 6 + 1} lacks its {'amount' if cv[k] else 'reason'}"))
    pk = np.flatnonzero(cv | pv)
    p_rows = prow[pk]
    p_amt, p_cents, _ = conv.decimal(p_rows, 0, "PLB amount", span=(ps[pk], pe[pk], pv[pk]))
    (rs_, re2, rv2), (fs, fe, fv) = c.components(cs_[pk], ce_[pk], cv[pk], 2)
    p_plb = pk // 6
    p_txn = t_of[p_rows]
    plb_date = conv.date(plb_rows, 2, "PLB02")
    plb_by_txn = col._group_sum(p_txn, p_cents, nt)

    # ---- remarks ---------------------------------------------------------------------------------
    parts_rows, parts_pos, parts_src = [], [], []
    lq_he = rows_of(col.LQ, in_claim, "HE")
    lq_rx = rows_of(col.LQ, in_claim, "RX")
    for r, label in ((lq_he, "LQ"), (lq_rx, "LQ_RX")):
        parts_rows.append(r)
        parts_pos.append(np.full(len(r), 2))
        parts_src.append(np.full(len(r), label, dtype=object))
    for seg, label, positions in ((col.MIA, "MIA", (5, 20, 21, 22, 23)), (col.MOA, "MOA", (3, 4, 5, 6, 7))):
        r = rows_of(seg, in_claim)
        for j in positions:
            parts_rows.append(r)
            parts_pos.append(np.full(len(r), j))
            parts_src.append(np.full(len(r), label, dtype=object))
    rr = np.concatenate(parts_rows).astype(np.int64)
    rp = np.concatenate(parts_pos).astype(np.int64)
    rsrc = np.concatenate(parts_src)
    r_s, r_e, r_v = c.span(rr, rp)
    sel = np.flatnonzero(r_v)
    sel = sel[np.lexsort((rp[sel], rr[sel]))]
    rr, rsrc = rr[sel], rsrc[sel]
    rcode = c.strings(r_s[sel], r_e[sel], r_v[sel])
    r_line = np.where(in_line[rr], line_of[rr], -1)
    r_claim = claim_of[rr]

    # ---- assemble --------------------------------------------------------------------------------
    env_cols = {k: pa.nulls(nt, pa.string()) for k in ENVELOPE_COLUMNS}  # filled by apply_envelope
    paid_by_txn = col._group_sum(claim_txn, np.where(ok04, c04, 0), nt)
    pay_diff = bpr_cents - (paid_by_txn - plb_by_txn)
    bpr_valid = bpr_ok & (bpr >= 0)
    all_t = np.ones(nt, dtype=bool)
    payments = _table(
        "payments",
        {
            "file_id": _const(file_id, nt),
            "transaction_id": txn_id_arr,
            "source": _const(source, nt),
            "transaction_ordinal": _int32(np.arange(nt) + txn_base + 1),
            **env_cols,
            "transaction_control_number": c.raw(st_rows, 2),
            "payment_amount": bpr02,
            "credit_debit_flag": c.raw(bpr, 3),
            "payment_method": c.raw(bpr, 4),
            "payment_date": conv.date(bpr, 16, "BPR16"),
            "trace_number": c.raw(trn, 2),
            "payer_identifier": c.raw(trn, 3),
            "payer_name": c.raw(n1pr, 2),
            "payer_id": payer_id,
            "payee_name": c.raw(n1pe, 2),
            "payee_npi": pc.if_else(pc.equal(pe_q, "XX"), pe_id, _NULL_STR),
            "payee_tax_id": tax_id,
            "production_date": conv.date(dtm405, 2, "DTM*405 date"),
            "claim_count": _int32(col._group_sum(claim_txn, np.ones(ncl, dtype=np.int64), nt)),
            "claim_paid_total": col._decimal_from_unscaled(paid_by_txn, all_t, schema.MONEY),
            "plb_total": col._decimal_from_unscaled(plb_by_txn, all_t, schema.MONEY),
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
            "statement_from_date": conv.date(d232, 2, "DTM*232 date"),
            "statement_to_date": conv.date(d233, 2, "DTM*233 date"),
            "received_date": conv.date(d050, 2, "DTM*050 date"),
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
            "original_procedure_qualifier": c.strings(*svc06[0]),
            "original_procedure_code": c.strings(*svc06[1]),
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
            "level": _level(adj_is_line),
            "group_code": _take(c.strings(gs_, ge_, gv), adj_cas),
            "reason_code": c.strings(rs[kidx], re_[kidx], rv[kidx]),
            "amount": amt,
            "quantity": qty,
            "position": _int32(adj_pos),
            "cas_ordinal": _int32(adj_cas_ord),
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
            "level": _level(r_line >= 0),
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
            "provider_id": _take(c.raw(plb_rows, 1), p_plb),
            "fiscal_period_date": _take(plb_date, p_plb),
            "reason_code": c.strings(rs_, re2, rv2),
            "reference_id": c.strings(fs, fe, fv),
            "amount": p_amt,
            "position": _int32(pk % 6 + 1),
            "plb_ordinal": _int32(plb_ord_all[p_plb]),
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


def _level(is_line: np.ndarray) -> pa.Array:
    """'line' / 'claim' labels without a Python loop."""
    idx = pa.array(np.asarray(is_line, dtype=np.int8))
    return pa.DictionaryArray.from_arrays(idx, pa.array(["claim", "line"])).cast(pa.string())
