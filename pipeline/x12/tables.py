"""The tables of one ST-bounded piece, one builder per table, from the compiled walk's output.

``build_tables`` runs the walk (``core.walk``), then each table's builder in two steps: ``read`` turns
the element spans it needs into typed values and reports bad ones (in the order, and with the limits,
the parser has always reported them: structural problems first, then the value checks of the payment,
claim, line, adjustment and PLB columns, then the dates, then the columns added since), and ``table``
makes the Arrow table once the piece is known to be good. Columns whose field in ``fields.py`` has no
rule and is not copied by the walk are made by ``_plain_columns``, without code of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.x12 import fields, schema
from pipeline.x12.build import (
    ENVELOPE_COLUMNS,
    ProblemLog,
    Segments,
    Values,
    _bools,
    _const,
    _core,
    _date_array,
    _decimal_array,
    _int32,
    _labels,
    _masked,
    _string_array,
    code,
    hashing,
)

_ARROW = {
    "string": schema.STR,
    "money": schema.MONEY,
    "quantity": schema.QUANTITY,
    "rate": schema.RATE,
    "date": schema.DATE,
}

Span = tuple[np.ndarray, np.ndarray]


# the layout's answers, memoised per process (the table builders ask for them per piece)
_SLOTS: dict[tuple[str, str], int] = {}
_COLUMNS: dict[tuple[str, str, int], int | None] = {}
_UNKNOWN = object()


def _slot(layout: fields.Layout, level: str, source: str) -> int:
    """The walk's slot row for ``source`` at ``level`` (-1: the row opener)."""
    slot = _SLOTS.get((level, source))
    if slot is None:
        slot = _SLOTS[(level, source)] = layout.source(level, source).slot
    return slot


class Walk:
    """The walk's output for one piece: each level's row slots and copied spans, the long tables' rows
    and the structural problems; element spans by field (copied, else read from the slot's row)."""

    def __init__(self, c: Segments):
        k = c.k
        self.c = c
        (
            (self.tx, *tx_spans),
            (self.cl, *cl_spans),
            (self.ln, *ln_spans),
            (self.ad, self.ads, self.ade),
            (self.pb, *pb_spans),
            (self.pl, self.pls, self.ple),
            (self.rm, self.rms, self.rme),
            (self.prow, self.paux, self.pn),
            self.lx,
            self.rf,
            self.filled,
        ) = k.walk(c.a, c.off, c.seg_tok, c.nelem, c.sid, c.valid_id, c.counts, c.needs_trim)
        self.copied = {"transaction": tx_spans, "claim": cl_spans, "line": ln_spans, "plb": pb_spans}
        self.slot_rows = {"transaction": self.tx, "claim": self.cl, "line": self.ln, "summary": self.lx}
        self.openers = {
            "transaction": self.tx[k.TX_ST],
            "claim": self.cl[k.CL_ROW],
            "line": self.ln[k.LN_ROW],
            "plb": self.pb[k.PB_ROW],
            "summary": self.lx[k.LX_ROW],
        }
        self.nt, self.ncl, self.nl = self.tx.shape[1], self.cl.shape[1], self.ln.shape[1]
        self.na, self.npl, self.nr = self.ad.shape[1], self.pl.shape[1], self.rm.shape[1]
        self.nx, self.nrf = self.lx.shape[1], self.rf.shape[1]

    def rows(self, level: str, source: str) -> np.ndarray:
        """Segment row of ``source`` (``SEG`` or ``SEG*Q``) for each row of the level's table (-1: none)."""
        slot = _slot(self.c.k.LAYOUT, level, source)
        if slot < 0:
            return self.openers[level]
        return self.slot_rows[level][slot]

    def has(self, level: str, source: str) -> bool:
        """Whether any row of the level's table has a ``source`` segment (one numpy call per level)."""
        slot = _slot(self.c.k.LAYOUT, level, source)
        if slot < 0:
            return len(self.openers[level]) > 0
        return bool(self.filled[fields.LEVEL[level], slot])

    def span(self, level: str, source: str, element: int) -> Span:
        """Byte spans of ``element`` of ``source``, one per row of the level's table."""
        key = (level, source, element)
        col = _COLUMNS.get(key, _UNKNOWN)
        if col is _UNKNOWN:
            col = _COLUMNS[key] = self.c.k.LAYOUT.column(level, source, element)
        if col is not None:
            starts, ends = self.copied[level]
            return starts[col], ends[col]
        return self.c.span(self.rows(level, source), element)

    def structural(self, log: ProblemLog, kind: int, message: Callable[[int], str]) -> None:
        for i in range(int(self.pn[kind])):
            log.add(self.c.problem(int(self.prow[kind, i]), message(int(self.paux[kind, i]))))


@dataclass
class Keys:
    """The integer keys of one piece's rows (docs/parser.md, "Keys and ids"): the file's key on every
    row, transactions and claims numbered from the start of the file, lines within their claim."""

    file_keys: pa.Array  # the file key repeated on as many rows as the piece's longest table has
    txn_no: np.ndarray  # ST position in the file of each transaction of the piece
    claim_no: np.ndarray  # CLP position in the file of each claim of the piece
    line_no: np.ndarray  # SVC position in its claim of each line of the piece

    def file(self, n: int) -> pa.Array:
        """The file key on ``n`` rows: a zero-copy slice of one array made once per piece."""
        return self.file_keys.slice(0, n)

    def txn(self, idx: np.ndarray) -> pa.Array:
        """The transaction ordinal of each row, by its transaction's index in the piece."""
        return _int32(self.txn_no[idx])

    def claim(self, idx: np.ndarray) -> pa.Array:
        """The claim number of each row, by its claim's index in the piece."""
        return _int32(self.claim_no[idx])

    def line(self, idx: np.ndarray) -> pa.Array:
        """The line number (int16) of each row, by its line's index in the piece; null where -1."""
        valid = idx >= 0
        values = np.where(valid, self.line_no[np.where(valid, idx, 0)] if len(self.line_no) else 0, 0)
        data = np.ascontiguousarray(values, dtype=np.int16)
        if valid.all():
            return pa.Array.from_buffers(pa.int16(), len(data), [None, pa.py_buffer(data)])
        bits, nulls = _core().bitmap(np.ascontiguousarray(valid, dtype=np.bool_))
        return pa.Array.from_buffers(
            pa.int16(), len(data), [pa.py_buffer(bits), pa.py_buffer(data)], null_count=int(nulls)
        )


def _make_keys(w: Walk, file_id: str, txn_base: int, claim_base: int) -> Keys:
    k = w.c.k
    longest = max(w.nt, w.ncl, w.nl, w.na, w.npl, w.nr, w.nrf, w.nx)
    keys = np.full(longest, schema.file_key(file_id), np.int64)
    return Keys(
        pa.Array.from_buffers(schema.KEY, longest, [None, pa.py_buffer(keys)]),
        np.arange(w.nt, dtype=np.int64) + txn_base + 1,
        np.arange(w.ncl, dtype=np.int64) + claim_base + 1,
        np.asarray(w.ln[k.LN_NO], dtype=np.int64),
    )


def check_key_limits(w: Walk, log: ProblemLog, claim_base: int) -> None:
    """Refuse a piece whose positions do not fit the bits of the warehouse keys (``schema.MAX_*``):
    two rows would otherwise share a key. Far beyond what the 835 guide allows (999 lines, 99 CAS)."""
    k = w.c.k
    if w.ncl and claim_base + w.ncl > schema.MAX_CLAIMS:
        row = int(w.cl[k.CL_ROW][schema.MAX_CLAIMS - claim_base]) if claim_base < schema.MAX_CLAIMS else 0
        log.add(w.c.problem(row, f"the file has more than {schema.MAX_CLAIMS:,} claims (remit's limit)"))
    if w.nl and int(w.ln[k.LN_NO].max()) > schema.MAX_LINES:
        row = int(w.ln[k.LN_ROW][int(np.argmax(w.ln[k.LN_NO] > schema.MAX_LINES))])
        log.add(w.c.problem(row, f"a claim has more than {schema.MAX_LINES:,} service lines (remit's limit)"))
    if w.na and int(w.ad[k.AD_ORD].max()) > schema.MAX_CAS:
        row = int(w.ad[k.AD_ROW][int(np.argmax(w.ad[k.AD_ORD] > schema.MAX_CAS))])
        message = f"a claim or line has more than {schema.MAX_CAS} CAS segments (remit's limit)"
        log.add(w.c.problem(row, message))


_NAMES: dict[str, list[str]] = {}  # column names per table (iterating a schema makes a Field per column)


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    sch = schema.TABLES[name]
    names = _NAMES.get(name) or _NAMES.setdefault(name, sch.names)
    return pa.Table.from_arrays([columns[x] for x in names], schema=sch)


_PLAIN: dict[tuple[str, str], tuple[list[fields.Field], dict[str, list[fields.Field]]]] = {}


def _plain_fields(table: str, level: str) -> tuple[list[fields.Field], dict[str, list[fields.Field]]]:
    """The plain, uncopied fields of ``table`` at ``level`` (in ``FIELDS`` order), and the same grouped
    by source segment; worked out once per process."""
    got = _PLAIN.get((table, level))
    if got is None:
        plain = [f for f in fields.plain(table, level) if not f.copy]
        by_source: dict[str, list[fields.Field]] = {}
        for f in plain:
            by_source.setdefault(f.source, []).append(f)
        got = _PLAIN[(table, level)] = (plain, by_source)
    return got


class PlainColumns:
    """The plain fields of one table and level that the walk does not copy: read from the first
    qualifying segment's row and typed by ``fields.TYPES``, with no code of their own."""

    def __init__(self, w: Walk, table: str, level: str):
        self.w = w
        self.fields, self.by_source = _plain_fields(table, level)
        self.values: dict[str, tuple | None] = dict.fromkeys(f.column for f in self.fields)

    def read(self, conv: Values) -> None:
        """Spans of every field whose segment is in the piece, by one kernel call per segment (most of
        the elements are empty: a call per element cost more than reading them), then typed values in
        ``FIELDS`` order (the order of the problems reported)."""
        w, c = self.w, self.w.c
        found: dict[str, tuple[np.ndarray, Span]] = {}
        for source, group in self.by_source.items():
            if not w.has(group[0].loop, source):  # no such segment in the piece (the usual case): all null
                continue
            rows = w.rows(group[0].loop, source)
            js = np.array([f.element for f in group], np.int64)
            s, e, present = c.k.gather_elements(c.a, c.off, c.seg_tok, c.nelem, rows, js, c.needs_trim)
            for i in np.flatnonzero(present):
                found[group[i].column] = (rows, (s[i], e[i]))
        for f in self.fields:
            if f.column not in found:
                continue
            rows, span = found[f.column]
            scale = fields.TYPES[f.type][1]
            if f.type == "date":
                self.values[f.column] = conv.date(rows, span, f.label)
            elif scale is not None:
                self.values[f.column] = conv.decimal(rows, span, f.label, scale)
            else:
                self.values[f.column] = span

    def columns(self, n: int) -> dict[str, pa.Array]:
        out = {}
        nulls: dict[str, pa.Array] = {}  # one all-null array per type, shared (arrays are immutable)
        for f in self.fields:
            typ = _ARROW[f.type]
            v = self.values[f.column]
            if v is None:
                if f.type not in nulls:
                    nulls[f.type] = pa.nulls(n, typ)
                out[f.column] = nulls[f.type]
            elif f.type == "date":
                out[f.column] = _date_array(*v)
            elif f.type == "string":
                out[f.column] = self.w.c.strings(*v)
            else:
                out[f.column] = _decimal_array(*v, typ)
        return out


class Payments:
    """``payments``: one row per ST/SE transaction."""

    def __init__(self, w: Walk):
        self.w = w

    def read_amounts(self, conv: Values, log: ProblemLog) -> None:
        w, c = self.w, self.w.c
        st_rows, self.bpr = w.tx[c.k.TX_ST], w.rows("transaction", "BPR")
        is_835 = c.equals(*c.span(st_rows, 1), "835")  # other sets are reported by the envelope pass
        for i in np.flatnonzero((self.bpr < 0) & is_835)[:20]:
            log.add(c.problem(int(st_rows[i]), "transaction has no BPR segment"))
        self.amount = conv.decimal(self.bpr, w.span("transaction", "BPR", 2), "BPR02", required=True)

    def read_dates(self, conv: Values) -> None:
        w = self.w
        self.payment_date = conv.date(self.bpr, w.span("transaction", "BPR", 16), "BPR16")
        self.production_date = conv.date(
            w.rows("transaction", "DTM*405"), w.span("transaction", "DTM*405", 2), "DTM*405 date"
        )

    def table(self, keys: Keys, file_id: str, source: str, paid: np.ndarray, plb: np.ndarray) -> pa.Table:
        """``paid`` and ``plb``: exact Σ CLP04 and Σ PLB amounts per transaction (cents)."""
        w, c = self.w, self.w.c
        nt = w.nt

        def t(source_: str, element: int) -> Span:
            return w.span("transaction", source_, element)

        bpr_cents, bpr_ok = self.amount
        pay_diff = bpr_cents - (paid - plb)
        all_t = np.ones(nt, dtype=bool)
        pe_id, pe_qualifier = t("N1*PE", 4), t("N1*PE", 3)
        ref2u, n1pr4, reftj = t("REF*2U", 2), t("N1*PR", 4), t("REF*TJ", 2)
        has2u = ref2u[1] > ref2u[0]
        fi_id = _masked(*pe_id, c.equals(*pe_qualifier, "FI"))
        has_fi = fi_id[1] > fi_id[0]
        claim_txn = w.cl[c.k.CL_TXN]
        return _table(
            "payments",
            {
                "file_id": _const(file_id, nt),
                "file_key": keys.file(nt),
                "source": _const(source, nt),
                "transaction_ordinal": _int32(keys.txn_no),
                **{name: pa.nulls(nt, pa.string()) for name in ENVELOPE_COLUMNS},  # apply_envelope
                "transaction_control_number": c.strings(*t("ST", 2)),
                "payment_amount": _decimal_array(bpr_cents, bpr_ok),
                "credit_debit_flag": c.strings(*t("BPR", 3)),
                "payment_method": c.strings(*t("BPR", 4)),
                "payment_date": _date_array(*self.payment_date),
                "trace_number": c.strings(*t("TRN", 2)),
                "payer_identifier": c.strings(*t("TRN", 3)),
                "payer_name": c.strings(*t("N1*PR", 2)),
                "payer_id": c.strings(
                    np.where(has2u, ref2u[0], n1pr4[0]), np.where(has2u, ref2u[1], n1pr4[1])
                ),
                "payee_name": c.strings(*t("N1*PE", 2)),
                "payee_npi": c.strings(*_masked(*pe_id, c.equals(*pe_qualifier, "XX"))),
                "payee_tax_id": c.strings(
                    np.where(has_fi, fi_id[0], reftj[0]), np.where(has_fi, fi_id[1], reftj[1])
                ),
                "production_date": _date_array(*self.production_date),
                "claim_count": _int32(np.bincount(claim_txn, minlength=nt)[:nt] if w.ncl else np.zeros(nt)),
                "claim_paid_total": _decimal_array(paid, all_t),
                "plb_total": _decimal_array(plb, all_t),
                "is_balanced": _bools(pay_diff == 0, bpr_ok),
                "balance_difference": _decimal_array(pay_diff, bpr_ok),
            },
        )


class Claims:
    """``claims``: one row per CLP."""

    def __init__(self, w: Walk):
        self.w = w
        self.plain = PlainColumns(w, "claims", "claim")

    def span(self, source: str, element: int) -> Span:
        return self.w.span("claim", source, element)

    def read_amounts(self, conv: Values) -> None:
        clp = self.w.rows("claim", "CLP")
        self.charge = conv.decimal(clp, self.span("CLP", 3), "CLP03", required=True)
        self.paid = conv.decimal(clp, self.span("CLP", 4), "CLP04", required=True)
        self.patient_responsibility = conv.decimal(clp, self.span("CLP", 5), "CLP05")
        self.coverage = conv.decimal(self.w.rows("claim", "AMT*AU"), self.span("AMT*AU", 2), "AMT02")

    def read_dates(self, conv: Values) -> None:
        def date(source: str, label: str):
            return conv.date(self.w.rows("claim", source), self.span(source, 2), label)

        self.statement_from = date("DTM*232", "DTM*232 date")
        self.statement_to = date("DTM*233", "DTM*233 date")
        self.received = date("DTM*050", "DTM*050 date")

    def table(self, keys: Keys, cas_by_claim: np.ndarray, secret: bytes | None) -> pa.Table:
        w, c, k = self.w, self.w.c, self.w.c.k
        n = w.ncl
        c03, ok03 = self.charge
        c04, ok04 = self.paid
        claim_ok = ok03 & ok04
        claim_diff = c03 - cas_by_claim - c04
        status = self.span("CLP", 2)
        if secret is not None and n:
            patient_key = _patient_keys(
                c, w.rows("claim", "NM1*QC"), [self.span("NM1*QC", j) for j in (3, 4, 8, 9)], secret
            )
        else:
            patient_key = pa.nulls(n, pa.string())
        return _table(
            "claims",
            {
                "file_key": keys.file(n),
                "claim_number": _int32(keys.claim_no),
                "transaction_ordinal": keys.txn(w.cl[k.CL_TXN]),
                "claim_ordinal": _int32(w.cl[k.CL_ORD]),
                "patient_control_number": c.strings(*self.span("CLP", 1)),
                "claim_status_code": c.strings(*status),
                "charge_amount": _decimal_array(c03, ok03),
                "paid_amount": _decimal_array(c04, ok04),
                "patient_responsibility_amount": _decimal_array(*self.patient_responsibility),
                "claim_filing_indicator": c.strings(*self.span("CLP", 6)),
                "payer_claim_control_number": c.strings(*self.span("CLP", 7)),
                "facility_code": c.strings(*self.span("CLP", 8)),
                "claim_frequency_code": c.strings(*self.span("CLP", 9)),
                "drg_code": c.strings(*self.span("CLP", 11)),
                "statement_from_date": _date_array(*self.statement_from),
                "statement_to_date": _date_array(*self.statement_to),
                "received_date": _date_array(*self.received),
                "rendering_provider_id": c.strings(*self.span("NM1*82", 9)),
                "original_reference_number": c.strings(*self.span("REF*F8", 2)),
                "coverage_amount": _decimal_array(*self.coverage),
                "patient_key": patient_key,
                "is_reversal": _bools(c.equals(*status, "22")),
                "line_count": _int32(w.cl[k.CL_LINES]),
                "is_balanced": _bools(claim_diff == 0, claim_ok),
                "balance_difference": _decimal_array(claim_diff, claim_ok),
                "segment_number": _int32(w.cl[k.CL_SEGNO]),
                **self.plain.columns(n),
            },
        )


class ServiceLines:
    """``service_lines``: one row per SVC."""

    def __init__(self, w: Walk):
        self.w = w
        self.plain = PlainColumns(w, "service_lines", "line")

    def span(self, source: str, element: int) -> Span:
        return self.w.span("line", source, element)

    def read(self, conv: Values, log: ProblemLog) -> None:
        w, c = self.w, self.w.c
        svc = w.rows("line", "SVC")
        self.charge = conv.decimal(svc, self.span("SVC", 2), "SVC02", required=True)
        self.paid = conv.decimal(svc, self.span("SVC", 3), "SVC03", required=True)
        self.units = conv.decimal(svc, self.span("SVC", 5), "SVC05", 3)
        self.original_units = conv.decimal(svc, self.span("SVC", 7), "SVC07", 3)
        self.allowed = conv.decimal(w.rows("line", "AMT*B6"), self.span("AMT*B6", 2), "AMT02")
        # DTM*472: a date in DTM02, or DTM05 = D8 / RD8 with DTM06 = CCYYMMDD / CCYYMMDD-CCYYMMDD
        d472 = w.rows("line", "DTM*472")
        s6, e6 = self.span("DTM*472", 6)
        is_rd8 = (e6 > s6) & c.equals(*self.span("DTM*472", 5), "RD8")
        rd8_ok = is_rd8 & (e6 - s6 == 17)
        if rd8_ok.any():
            rd8_ok &= c.a[np.where(rd8_ok, s6 + 8, 0)] == ord("-")
        for i in np.flatnonzero(is_rd8 & ~rd8_ok)[:20]:
            log.add(c.problem(int(d472[i]), "DTM06 is not a CCYYMMDD-CCYYMMDD range"))
        s2, e2 = self.span("DTM*472", 2)
        single = conv.date(d472, (s2, e2), "DTM*472 date")
        if (e6 > s6).any():
            d8 = conv.date(d472, _masked(s6, e6, ~(e2 > s2) & ~is_rd8), "DTM06 date")
            r_from = conv.date(d472, _masked(s6, s6 + 8, rd8_ok), "DTM06 range start")
            r_to = conv.date(d472, _masked(s6 + 9, e6, rd8_ok), "DTM06 range end")
        else:  # no DTM06 at all (the usual case): nothing to read
            d8 = r_from = r_to = (np.zeros(w.nl, np.int32), np.zeros(w.nl, bool))
        from150 = conv.date(w.rows("line", "DTM*150"), self.span("DTM*150", 2), "DTM*150 date")
        to151 = conv.date(w.rows("line", "DTM*151"), self.span("DTM*151", 2), "DTM*151 date")
        self.service_from = _coalesce_dates(single, d8, r_from, from150)
        self.service_to = _coalesce_dates(single, d8, r_to, to151)

    def table(self, keys: Keys, cas_by_line: np.ndarray) -> pa.Table:
        w, c, k = self.w, self.w.c, self.w.c.k
        nl = w.nl
        s02, ok_s02 = self.charge
        s03, ok_s03 = self.paid
        line_ok = ok_s02 & ok_s03
        line_diff = s02 - cas_by_line - s03
        s01 = c.components(*self.span("SVC", 1), 6)
        s06 = c.components(*self.span("SVC", 6), 2)
        ms, me = s01[0][2:6].T.ravel(), s01[1][2:6].T.ravel()  # SVC01-3..6, row-major, empty ones dropped
        mv = me > ms
        flat = c.strings(ms[mv], me[mv])
        moffs = np.zeros(nl + 1, dtype=np.int32)
        np.cumsum(mv.reshape(nl, 4).sum(axis=1), out=moffs[1:])
        qual = (s01[0][0], s01[1][0])
        proc_s, proc_e = s01[0][1], s01[1][1]
        is_dental = c.equals(*qual, "AD") | k.cdt_codes(c.a, proc_s, proc_e)
        return _table(
            "service_lines",
            {
                "file_key": keys.file(nl),
                "claim_number": keys.claim(w.ln[k.LN_CLAIM]),
                "transaction_ordinal": keys.txn(w.ln[k.LN_TXN]),
                "line_number": _int32(w.ln[k.LN_NO]),
                "procedure_qualifier": c.strings(*qual),
                "procedure_code": c.strings(proc_s, proc_e),
                "modifiers": pa.ListArray.from_arrays(_int32(moffs), flat),
                "charge_amount": _decimal_array(s02, ok_s02),
                "paid_amount": _decimal_array(s03, ok_s03),
                "revenue_code": c.strings(*self.span("SVC", 4)),
                "units_paid": _decimal_array(*self.units, schema.QUANTITY),
                "original_procedure_qualifier": c.strings(s06[0][0], s06[1][0]),
                "original_procedure_code": c.strings(s06[0][1], s06[1][1]),
                "original_units": _decimal_array(*self.original_units, schema.QUANTITY),
                "service_date_from": _date_array(*self.service_from),
                "service_date_to": _date_array(*self.service_to),
                "line_control_number": c.strings(*self.span("REF*6R", 2)),
                "allowed_amount": _decimal_array(*self.allowed),
                "is_dental": _bools(is_dental),
                "is_balanced": _bools(line_diff == 0, line_ok),
                "balance_difference": _decimal_array(line_diff, line_ok),
                **self.plain.columns(nl),
            },
        )


class Adjustments:
    """``adjustments``: one row per CAS triple (claim and line level)."""

    def __init__(self, w: Walk):
        self.w = w

    def read(self, conv: Values, log: ProblemLog) -> None:
        w, c, k = self.w, self.w.c, self.w.c.k
        w.structural(log, k.P_CAS_NO_REASON, lambda t: f"CAS triple {t + 1} has an amount but no reason code")
        w.structural(log, k.P_CAS_NO_AMOUNT, lambda t: f"CAS triple {t + 1} has a reason code but no amount")
        w.structural(log, k.P_CAS01, lambda _: "CAS01 group code is missing")
        # the core reads 6 CAS triples and 6 PLB pairs, as many as X12 allows: more would be lost unseen
        _beyond(
            c, log, code("CAS"), 19, "CAS has more than 6 adjustment triples (CAS20 or later is not empty)"
        )
        rows = w.ad[k.AD_ROW]
        self.amount = conv.decimal(rows, (w.ads[2], w.ade[2]), "CAS amount")
        self.quantity = conv.decimal(rows, (w.ads[3], w.ade[3]), "CAS quantity", 3)

    def sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact Σ CAS amounts per claim (both levels) and per line (cents; invalid ones count 0)."""
        w, k = self.w, self.w.c.k
        amt = self.amount[0]
        return k.group_sum(w.ad[k.AD_CLAIM], amt, w.ncl), k.group_sum(w.ad[k.AD_LINE], amt, w.nl)

    def table(self, keys: Keys) -> pa.Table:
        w, c, k = self.w, self.w.c, self.w.c.k
        na, ad = w.na, w.ad
        adj_pos = np.ascontiguousarray(ad[k.AD_POS] + 1, dtype=np.int8)
        cas = np.ascontiguousarray(ad[k.AD_ORD], dtype=np.int16)
        return _table(
            "adjustments",
            {
                "file_key": keys.file(na),
                "claim_number": keys.claim(ad[k.AD_CLAIM]),
                "line_number": keys.line(ad[k.AD_LINE]),
                "group_code": c.strings(w.ads[0], w.ade[0]),
                "reason_code": c.strings(w.ads[1], w.ade[1]),
                "amount": _decimal_array(*self.amount),
                "quantity": _decimal_array(*self.quantity, schema.QUANTITY),
                "position": pa.Array.from_buffers(pa.int8(), na, [None, pa.py_buffer(adj_pos)]),
                "cas_ordinal": pa.Array.from_buffers(pa.int16(), na, [None, pa.py_buffer(cas)]),
            },
        )


class ProviderAdjustments:
    """``provider_adjustments``: one row per PLB (reason, amount) pair."""

    def __init__(self, w: Walk):
        self.w = w

    def read(self, conv: Values, log: ProblemLog) -> None:
        w, c, k = self.w, self.w.c, self.w.c.k
        w.structural(
            log, k.P_PLB_PAIR, lambda x: f"PLB pair {x // 2 + 1} lacks its {'amount' if x % 2 else 'reason'}"
        )
        _beyond(c, log, code("PLB"), 14, "PLB has more than 6 adjustment pairs (PLB15 or later is not empty)")
        self.plb_of_pair = w.pl[k.PL_PLB]
        rows = w.pb[k.PB_ROW][self.plb_of_pair]
        self.amount = conv.decimal(rows, (w.pls[1], w.ple[1]), "PLB amount")
        self.fiscal_period = conv.date(w.pb[k.PB_ROW], w.span("plb", "PLB", 2), "PLB02")

    def sums(self) -> np.ndarray:
        """Exact Σ PLB amounts per transaction (cents)."""
        w, k = self.w, self.w.c.k
        return k.group_sum(w.pb[k.PB_TXN][self.plb_of_pair], self.amount[0], w.nt)

    def table(self, keys: Keys) -> pa.Table:
        w, c, k = self.w, self.w.c, self.w.c.k
        p = self.plb_of_pair
        comp = c.components(w.pls[0], w.ple[0], 2)
        provider_s, provider_e = w.span("plb", "PLB", 1)
        days, days_ok = self.fiscal_period
        return _table(
            "provider_adjustments",
            {
                "file_key": keys.file(w.npl),
                "transaction_ordinal": keys.txn(w.pb[k.PB_TXN][p]),
                "provider_id": c.strings(provider_s[p], provider_e[p]),
                "fiscal_period_date": _date_array(days[p], days_ok[p]),
                "reason_code": c.strings(comp[0][0], comp[1][0]),
                "reference_id": c.strings(comp[0][1], comp[1][1]),
                "amount": _decimal_array(*self.amount),
                "position": _int32(w.pl[k.PL_POS] + 1),
                "plb_ordinal": _int32(w.pb[k.PB_ORD][p]),
            },
        )


def remarks_table(w: Walk, keys: Keys) -> pa.Table:
    """``remarks``: one row per remark code (LQ, MIA, MOA) at claim and line level."""
    c, k = w.c, w.c.k
    line = w.rm[k.RM_LINE]
    return _table(
        "remarks",
        {
            "file_key": keys.file(w.nr),
            "claim_number": keys.claim(w.rm[k.RM_CLAIM]),
            "transaction_ordinal": keys.txn(w.rm[k.RM_TXN]),
            "line_number": keys.line(line),
            "level": _labels(line >= 0, ["claim", "line"]),
            "source": _labels(w.rm[k.RM_SRC], ["LQ", "LQ_RX", "MIA", "MOA"]),
            "remark_code": c.strings(w.rms, w.rme),
        },
    )


def claim_references_table(w: Walk, keys: Keys, secret: bytes | None) -> pa.Table:
    """``claim_references``: one row per REF of a claim or a service line (REF01 qualifier, REF02 value).

    Values of qualifiers that can point at one person (``fields.IDENTIFYING_REFERENCES``: member,
    medical record, policy and group numbers, SSN, …) are never stored: ``value`` is null and
    ``value_key`` holds their keyed hash (null without a secret), like ``patient_key``."""
    if w.nrf == 0:  # the usual case: no REF but F8 and 6R
        return _table("claim_references", {f.name: pa.nulls(0, f.type) for f in schema.CLAIM_REFERENCES})
    c, k = w.c, w.c.k
    rows, line = w.rf[k.RF_ROW], w.rf[k.RF_LINE]
    qualifier = c.raw(rows, 1)
    vs, ve = c.span(rows, 2)
    identifying = np.array([q in fields.IDENTIFYING_REFERENCES for q in qualifier.to_pylist()], np.bool_)
    if secret is not None and identifying.any():
        value_key = hashing().hmac_keys(secret, c.strings(*_masked(vs, ve, identifying)))
    else:
        value_key = pa.nulls(w.nrf, pa.string())
    return _table(
        "claim_references",
        {
            "file_key": keys.file(w.nrf),
            "claim_number": keys.claim(w.rf[k.RF_CLAIM]),
            "transaction_ordinal": keys.txn(w.rf[k.RF_TXN]),
            "line_number": keys.line(line),
            "level": _labels(line >= 0, ["claim", "line"]),
            "reference_ordinal": _int32(w.rf[k.RF_ORD]),
            "qualifier": qualifier,
            "value": c.strings(*_masked(vs, ve, ~identifying)),
            "value_key": value_key,
        },
    )


class ProviderSummaries:
    """``provider_summaries``: one row per LX header number, with its TS3 and TS2 (all plain fields)."""

    def __init__(self, w: Walk):
        self.w = w
        self.plain = PlainColumns(w, "provider_summaries", "summary")

    def read(self, conv: Values) -> None:
        self.plain.read(conv)

    def table(self, keys: Keys) -> pa.Table:
        w, k = self.w, self.w.c.k
        return _table(
            "provider_summaries",
            {
                "file_key": keys.file(w.nx),
                "transaction_ordinal": keys.txn(w.lx[k.LX_TXN]),
                "summary_ordinal": _int32(w.lx[k.LX_ORD]),
                **self.plain.columns(w.nx),
            },
        )


def build_tables(
    c: Segments,
    log: ProblemLog,
    *,
    file_id: str,
    source: str,
    txn_base: Callable[[int, int], tuple[int, int]],
    secret: bytes | None,
) -> dict[str, pa.Table] | None:
    """The tables of one piece (envelope columns left for ``apply_envelope``); problems go to ``log`` and
    then no table is built (None). Depends on nothing but the piece and ``txn_base`` (given this piece's
    ST and CLP counts, the numbers of STs and CLPs before it), so pieces can be built in parallel."""
    k = c.k
    conv = Values(c, log)
    w = Walk(c)
    # the ST count is published at once: later pieces wait for it to number their transactions
    base, claim_base = txn_base(w.nt, w.ncl)
    check_key_limits(w, log, claim_base)
    w.structural(
        log, k.P_NOT_ID, lambda _: "not a segment id (binary data, wrong delimiters or a broken file?)"
    )
    w.structural(log, k.P_OUTSIDE, lambda _: "segment outside a transaction (ST … SE)")
    w.structural(log, k.P_CAS_OUT, lambda _: "CAS outside a claim (no CLP before it)")
    w.structural(log, k.P_SVC_OUT, lambda _: "SVC outside a claim (no CLP before it)")

    payments, claims, lines = Payments(w), Claims(w), ServiceLines(w)
    adjustments, plb, summaries = Adjustments(w), ProviderAdjustments(w), ProviderSummaries(w)
    # value checks, in the order the parser has always reported them; the columns added since go last
    payments.read_amounts(conv, log)
    claims.read_amounts(conv)
    lines.read(conv, log)
    adjustments.read(conv, log)
    plb.read(conv, log)
    payments.read_dates(conv)
    claims.read_dates(conv)
    claims.plain.read(conv)
    lines.plain.read(conv)
    summaries.read(conv)
    if log.count:
        return None  # the piece is rejected: no tables

    keys = _make_keys(w, file_id, base, claim_base)
    cas_by_claim, cas_by_line = adjustments.sums()
    paid_by_txn = k.group_sum(w.cl[k.CL_TXN], claims.paid[0], w.nt)  # 0 where CLP04 is not valid
    return {
        "payments": payments.table(keys, file_id, source, paid_by_txn, plb.sums()),
        "claims": claims.table(keys, cas_by_claim, secret),
        "service_lines": lines.table(keys, cas_by_line),
        "adjustments": adjustments.table(keys),
        "remarks": remarks_table(w, keys),
        "provider_adjustments": plb.table(keys),
        "claim_references": claim_references_table(w, keys, secret),
        "provider_summaries": summaries.table(keys),
    }


def _beyond(c: Segments, log: ProblemLog, sid: int, last: int, message: str) -> None:
    """Report each segment ``sid`` holding a non-empty element after element ``last`` (the most X12
    allows it): its amounts would otherwise be dropped without a word. Empty trailing elements pass."""
    long = np.flatnonzero(c.nelem > last)  # few segments have that many elements: test their id only
    rows = long[c.sid[long] == sid]
    for row in rows[:20]:
        js = np.arange(last + 1, int(c.nelem[row]) + 1)
        s, e = c.span(np.full(len(js), row), js)
        if (e > s).any():
            log.add(c.problem(int(row), message + ": X12 allows 6, and the rest would be lost"))


def _coalesce_dates(*dates: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The first valid date of each row among ``dates`` (each (days, ok))."""
    days, ok = dates[-1][0].copy(), dates[-1][1].copy()
    for d, o in reversed(dates[:-1]):
        days = np.where(o, d, days)
        ok = o | ok
    return days, ok


def _patient_keys(c: Segments, nm1qc: np.ndarray, spans: list[Span], secret: bytes) -> pa.Array:
    """HMAC-SHA256 of ``LAST|FIRST|QUALIFIER|ID`` (NM1*QC 03, 04, 08, 09, upper-cased) per claim."""
    h = hashing()
    s = np.stack([sp[0] for sp in spans])
    e = np.stack([sp[1] for sp in spans])
    offsets, data, wide = c.k.patient_text(c.a, s, e)
    valid = nm1qc >= 0
    if wide:  # non-ASCII names: Unicode upper-casing, as Arrow does it
        parts = [pc.utf8_upper(pc.fill_null(c.strings(*sp), "")) for sp in spans]
        joined = pc.if_else(
            _bools(valid), pc.binary_join_element_wise(*parts, "|"), pa.scalar(None, pa.string())
        )
        return h.hmac_keys(secret, joined)
    return _string_array(h.hmac_hex(h.hmac_key(secret), data, offsets, valid), len(nm1qc))
