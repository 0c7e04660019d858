"""The 837 parser: ``parse_837`` turns an 837P, 837I or 837D file's bytes into two Arrow tables.

It reuses the 835 parser's pieces: the byte normalisation and pre-scan (``parser._normalise``,
``scan.find_regions``), the tokenizer and element kernels of the compiled core (``build.Segments``), the
envelope checks (``build.Envelope``, here for ST01 = 837 and the 837 guides), exact amounts and dates
(``build.Values``) and the patient key (``tables._patient_keys``, the same HMAC and secret as the 835's).
The loop walk is ``core837.walk``; which element fills which column is ``fields837.FIELDS``.

Patient and subscriber names, ids and birth dates are read only to compute ``patient_key``; nothing
else of the 2010BA / 2010CA loops (or DMG, or the other subscribers of 2330A) is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.x12 import fields837, scan, schema
from pipeline.x12.build import (
    ENVELOPE,
    Envelope,
    ProblemLog,
    Segments,
    Values,
    _bools,
    _const,
    _date_array,
    _decimal_array,
    _int32,
    _int64,
    _labels,
    _masked,
    _string_list,
)
from pipeline.x12.errors import Problem, X12ParseError
from pipeline.x12.parser import DEFAULT_CHUNK, _as_bytes, _guarded, _unparseable
from pipeline.x12.versions import CLAIM_TYPES_837, unsupported_837_version

CLAIM_TYPES = ("professional", "institutional", "dental")
_SERVICE_SEGMENT = {"professional": "SV1", "institutional": "SV2", "dental": "SV3"}
_SHORT = {"professional": "837P", "institutional": "837I", "dental": "837D"}
# required elements: a claim without them cannot be matched or counted (message label, column)
_REQUIRED = {
    "patient_control_number": "CLM01 (patient control number)",
    "claim_charge": "CLM02 (total claim charge)",
}


@dataclass
class Submission837:
    """The tables parsed from one 837 file (schemas exactly as in ``schema.SUBMISSION_TABLES``)."""

    file_id: str
    source: str
    submitted_claims: pa.Table
    submitted_lines: pa.Table
    transactions: int = 0

    def tables(self) -> dict[str, pa.Table]:
        """Table name → table, in ``schema.SUBMISSION_TABLES`` order."""
        return {name: getattr(self, name) for name in schema.SUBMISSION_TABLES}

    def row_counts(self) -> dict[str, int]:
        """Table name → number of rows."""
        return {name: t.num_rows for name, t in self.tables().items()}


def _version_problem(st03: str | None, gs08: str | None) -> str | None:
    return (
        unsupported_837_version(st03, "ST03") if st03 else unsupported_837_version(gs08, "its group's GS08")
    )


# the elements read of each source, besides those of fields837.FIELDS: NM108 (is it an NPI), the
# patient's NM103, NM104, NM108, NM109 (the patient key)
_EXTRA_ELEMENTS = {"NM1*85": (8,), "NM1*82": (8,), "PATIENT": (3, 4, 8, 9)}


class _Reader:
    """Reads the fields of ``fields837.FIELDS`` from the rows the walk found.

    The elements of one source are gathered in one kernel call for all its rows (``core.gather_elements``)
    and kept, so every column of that source reads them from memory.
    """

    def __init__(self, c: Segments, log: ProblemLog, claims: np.ndarray, lines: np.ndarray):
        from pipeline.x12 import core837 as w

        self._w = w
        self.c, self.log, self.values = c, log, Values(c, log)
        self.claims, self.lines = claims, lines
        self.nc, self.nl = claims.shape[1], lines.shape[1]
        elements: dict[str, set[int]] = {}
        for f in fields837.FIELDS:
            if f.element:
                elements.setdefault(f.source, set()).add(f.element)
        for source, extra in _EXTRA_ELEMENTS.items():
            elements.setdefault(source, set()).update(extra)
        self.spans: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        for source, js in elements.items():
            rows = self.source_rows(source)
            order = np.array(sorted(js), np.int64)
            if not rows.size:
                for j in order:
                    self.spans[(source, int(j))] = (np.zeros(0, np.int64), np.zeros(0, np.int64))
                continue
            s, e, _ = c.k.gather_elements(c.a, c.off, c.seg_tok, c.nelem, rows, order, c.needs_trim)
            for i, j in enumerate(order):
                self.spans[(source, int(j))] = (s[i], e[i])

    def source_rows(self, source: str) -> np.ndarray:
        if source in self._w.CS:
            return self.claims[self._w.CS[source]]
        return self.lines[self._w.LS[source]]

    def element(self, source: str, j: int) -> tuple[np.ndarray, np.ndarray]:
        return self.spans[(source, j)]

    def span(self, f: fields837.Field837, component: int | None = None):
        s, e = self.element(f.source, f.element)
        comp = component if component is not None else f.component
        if comp:
            cs, ce = self.c.components(s, e, comp)
            s, e = cs[comp - 1], ce[comp - 1]
        if f.rule == "npi":
            s, e = _masked(s, e, self.c.equals(*self.element(f.source, 8), "XX"))
        return s, e

    def column_spans(self, table: str, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, s, e) of a column over all its sources: each row takes the source it has."""
        fs = [f for f in fields837.fields_of(table, column) if f.element]  # element 0: no element
        if len(fs) == 1:
            s, e = self.span(fs[0])
            return self.source_rows(fs[0].source), s, e
        n = self.nc if table == fields837.C else self.nl
        rows = np.full(n, -1, np.int64)
        s = np.zeros(n, np.int64)
        e = np.zeros(n, np.int64)
        for f in fs:
            r = self.source_rows(f.source)
            fs_, fe_ = self.span(f)
            have = r >= 0
            rows = np.where(have, r, rows)
            s = np.where(have, fs_, s)
            e = np.where(have, fe_, e)
        return rows, s, e

    def strings(self, table: str, column: str) -> pa.Array:
        rows, s, e = self.column_spans(table, column)
        if column in _REQUIRED:
            self.values.missing(rows, e > s, _REQUIRED[column])
        return self.c.strings(np.ascontiguousarray(s), np.ascontiguousarray(e))

    def label(self, table: str, column: str) -> str:
        labels = [f.label for f in fields837.fields_of(table, column) if f.element]
        return " / ".join(labels)

    def number(self, table: str, column: str, scale: int, required: bool = False):
        rows, s, e = self.column_spans(table, column)
        label = _REQUIRED.get(column) or self.label(table, column)
        vals, ok = self.values.decimal(
            rows, (np.ascontiguousarray(s), np.ascontiguousarray(e)), label, scale, required=required
        )
        return rows, vals, ok

    def dates(self, f: fields837.Field837) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """First and last date of each row's DTP03 (D8 or RD8): (from days, ok, to days, ok)."""
        rows = self.source_rows(f.source)
        s, e = self.element(f.source, f.element)
        fs, fe, ts, te = self._w.date_parts(self.c.a, s, e)
        d1, ok1 = self.values.date(rows, (fs, fe), f.label)
        single = (ts == fs) & (te == fe)  # a D8 date (or a span of another shape): one date, read once
        d2, ok2 = self.values.date(rows, (np.where(single, 0, ts), np.where(single, 0, te)), f.label)
        return d1, ok1, np.where(single, d1, d2), np.where(single, ok1, ok2)


def _structure(c: Segments, log: ProblemLog, problems: np.ndarray, counts: np.ndarray) -> None:
    from pipeline.x12 import core837 as w

    messages = {
        w.P_CLM_OUTSIDE: "CLM outside a subscriber or patient loop (no HL with HL03 = 22 or 23 before it)",
        w.P_LX_OUTSIDE: "LX outside a claim (no CLM before it in its loop)",
        w.P_SV_OUTSIDE: "service segment outside a service line (no LX before it in its claim)",
        w.P_SV_TWICE: "a second service segment (SV1/SV2/SV3) in one service line (LX)",
        w.P_OUTSIDE_TXN: "segment outside a transaction (not between an ST and its SE)",
    }
    for kind, message in messages.items():
        for r in problems[kind][: min(int(counts[kind]), w.PROBLEM_CAP)]:
            log.add(c.problem(int(r), message))
        log.count += max(0, int(counts[kind]) - w.PROBLEM_CAP)


SLICE_CLAIMS = 50_000  # claims per slice of a large file; slices are read on the parser's two threads


def _build(
    c: Segments,
    log: ProblemLog,
    file_id: str,
    versions: list[str | None],
    secret: bytes | None,
    claims_before: int = 0,
    transactions_before: int = 0,
):
    """The two tables of the tokenised file, or of one piece of it after ``claims_before`` claims and
    ``transactions_before`` transactions (problems go to ``log``).

    The walk and the structural checks run over the whole file (or piece); the columns are then read in
    slices of about ``SLICE_CLAIMS`` claims (whole claims with their lines), two at a time when the machine
    has a second core: the kernels run without the GIL, so a large file's reading takes about half the time.
    The slices' tables are joined in file order and their problems merged, so the result does not depend
    on how the file was sliced.
    """
    from pipeline.x12 import core837 as w
    from pipeline.x12.parser import _worker_threads

    claims, lines, problems, counts = w.walk(c.a, c.off, c.seg_tok, c.nelem, c.sid, c.needs_trim)
    _structure(c, log, problems, counts)
    if log.count:  # a claim outside a transaction or loop has no valid place: nothing more to read
        return None
    nc = claims.shape[1]
    if claims_before + nc > schema.MAX_CLAIMS:
        row = int(claims[w.C_CLM][schema.MAX_CLAIMS - claims_before])
        log.add(c.problem(row, f"the file has more than {schema.MAX_CLAIMS:,} claims (remit's limit)"))
        return None

    # claim type per transaction, from its version (an unsupported one is already a problem)
    type_index = np.array(
        [CLAIM_TYPES.index(CLAIM_TYPES_837.get((v or "").strip(), "professional")) for v in versions] or [0]
    )
    ctype = type_index[claims[w.C_TXN]] if nc else np.zeros(0, np.int64)
    line_claim = lines[w.L_CLAIM]
    ltype = ctype[line_claim] if lines.shape[1] else np.zeros(0, np.int64)

    # claims without a payer, lines without (or with the wrong) service segment
    for k in np.flatnonzero(claims[w.C_PAYER] < 0)[:20]:
        log.add(
            c.problem(
                int(claims[w.C_CLM, k]),
                "claim without a payer: no NM1*PR (loop 2010BB) in its subscriber loop",
            )
        )
    for k in np.flatnonzero(lines[w.L_SV] < 0)[:20]:
        log.add(c.problem(int(lines[w.L_LX, k]), "service line without a service segment (SV1, SV2 or SV3)"))
    for t, name in enumerate(CLAIM_TYPES):
        expected = _SERVICE_SEGMENT[name]
        wrong = (ltype == t) & (lines[w.L_SV] >= 0) & (lines[w.LS[expected]] < 0)
        for k in np.flatnonzero(wrong)[:20]:
            r = int(lines[w.L_SV, k])
            log.add(
                c.problem(
                    r, f"{c.segment_id(r)} in an {_SHORT[name]} ({name}) claim, which has {expected} lines"
                )
            )

    cuts = list(range(0, nc, SLICE_CLAIMS)) + [nc] if nc else [0, 0]
    # lines come in file order, so each slice's lines are one run of the lines matrix
    line_cuts = np.searchsorted(line_claim, cuts).tolist()

    def read(k: int) -> tuple[pa.Table, pa.Table, ProblemLog]:
        a, b = cuts[k], cuts[k + 1]
        sl = lines[:, line_cuts[k] : line_cuts[k + 1]].copy()
        sl[w.L_CLAIM] -= a
        slog = ProblemLog()
        tables = _read(
            c,
            slog,
            claims[:, a:b],
            sl,
            ctype[a:b],
            versions,
            file_id,
            secret,
            claims_before + a,
            transactions_before,
        )
        return (*tables, slog)

    n = len(cuts) - 1
    if n > 1 and _worker_threads() > 1:
        with ThreadPoolExecutor(2) as pool:
            parts = list(pool.map(read, range(n)))
    else:
        parts = [read(k) for k in range(n)]
    for _, _, slog in parts:
        for p in slog.items:
            log.add(p)
        log.count += slog.count - len(slog.items)
    if len(parts) == 1:
        return parts[0][0], parts[0][1]
    return pa.concat_tables([p[0] for p in parts]), pa.concat_tables([p[1] for p in parts])


def _read(
    c: Segments,
    log: ProblemLog,
    claims: np.ndarray,
    lines: np.ndarray,
    ctype: np.ndarray,
    versions: list[str | None],
    file_id: str,
    secret: bytes | None,
    first_claim: int,
    first_transaction: int = 0,
) -> tuple[pa.Table, pa.Table]:
    """The two tables' rows for ``claims`` (the walk's claim matrix, or a run of its claims) and their
    ``lines`` (whose ``L_CLAIM`` counts from the run's first claim, claim ``first_claim`` + 1 of the file);
    the walk's transactions are those after ``first_transaction`` of the file."""
    from pipeline.x12 import core837 as w
    from pipeline.x12.tables import _patient_keys

    nc, nl = claims.shape[1], lines.shape[1]
    rd = _Reader(c, log, claims, lines)
    C, L = fields837.C, fields837.L
    txn = claims[w.C_TXN]
    line_claim = lines[w.L_CLAIM]

    # line dates first: the claim's statement dates of an 837P/D are the range of its lines' dates
    dtp472 = fields837.fields_of(L, "service_date")[0]
    l_from, l_from_ok, l_to, l_to_ok = rd.dates(dtp472)
    dtp434 = fields837.fields_of(C, "statement_from")[0]
    s_from, s_from_ok, s_to, s_to_ok = rd.dates(dtp434)
    _, lcharge, lcharge_ok = rd.number(L, "line_charge", 2, required=True)
    # per claim: the range of its lines' dates, the sum of their charges (exact cents)
    lo, lo_ok, hi, hi_ok, total = w.claim_sums(
        line_claim, l_from, l_from_ok, l_to, l_to_ok, lcharge, lcharge_ok, nc
    )
    has434 = claims[w.C_434] >= 0
    st_from = np.where(has434, s_from, lo).astype(np.int32)
    st_from_ok = np.where(has434, s_from_ok, lo_ok)
    st_to = np.where(has434, s_to, hi).astype(np.int32)
    st_to_ok = np.where(has434, s_to_ok, hi_ok)
    # a line without DTP*472 takes its claim's statement_from
    claim_from = st_from[line_claim] if nl else np.zeros(0, np.int32)
    claim_from_ok = st_from_ok[line_claim] if nl else np.zeros(0, bool)
    has472 = lines[w.L_472] >= 0
    svc = np.where(has472, l_from, claim_from).astype(np.int32)
    svc_ok = np.where(has472, l_from_ok, claim_from_ok)
    svc_to = np.where(has472 & l_to_ok, l_to, svc).astype(np.int32)
    svc_to_ok = np.where(has472 & l_to_ok, True, svc_ok)

    # claims
    _, charge, charge_ok = rd.number(C, "claim_charge", 2, required=True)
    bht_rows, bht_s, bht_e = rd.column_spans(C, "submission_date")
    key = schema.file_key(file_id)
    claim_number = np.arange(first_claim + 1, first_claim + nc + 1, dtype=np.int32)
    # (arrays are built from buffers, never by ``pa.array``, which imports pandas: see build.py)
    version_arr = _string_list([(v or "").strip() or None for v in versions]).take(_int32(txn))
    pat = claims[w.C_PAT]
    if secret is not None and nc:
        spans = [rd.element("PATIENT", j) for j in (3, 4, 8, 9)]
        patient_key = _patient_keys(c, pat, spans, secret)
    else:
        patient_key = pa.nulls(nc, pa.string())
    claim_cols = {
        "file_id": _const(file_id, nc),
        "file_key": _int64(np.full(nc, key, np.int64)),
        "claim_number": _int32(claim_number),
        "transaction_ordinal": _int32(txn + 1 + first_transaction),
        "claim_type": _labels(ctype, list(CLAIM_TYPES)),
        "submission_date": _date_array(*rd.values.date(bht_rows, (bht_s, bht_e), "BHT04")),
        "batch_id": rd.strings(C, "batch_id"),
        "patient_control_number": rd.strings(C, "patient_control_number"),
        "payer_id": rd.strings(C, "payer_id"),
        "payer_name": rd.strings(C, "payer_name"),
        "billing_provider_npi": rd.strings(C, "billing_provider_npi"),
        "rendering_provider_npi": rd.strings(C, "rendering_provider_npi"),
        "claim_charge": _decimal_array(charge, charge_ok),
        "facility_code": rd.strings(C, "facility_code"),
        "frequency_code": rd.strings(C, "frequency_code"),
        "payer_claim_control_number": rd.strings(C, "payer_claim_control_number"),
        "statement_from": _date_array(st_from, st_from_ok),
        "statement_to": _date_array(st_to, st_to_ok),
        "patient_key": patient_key,
        "line_count": _int32(claims[w.C_LINES]),
        "version": version_arr,
        "claim_ordinal": _int32(claims[w.C_ORD]),
        "segment_number": _int32(claims[w.C_CLM] - claims[w.C_ST] + 1),
    }

    # lines
    lx_rows, lx_s, lx_e = rd.column_spans(L, "line_number")
    line_no, line_no_ok = rd.values.decimal(lx_rows, (lx_s, lx_e), "LX01", 0, required=True)
    _, units, units_ok = rd.number(L, "units", 3)
    sv3 = lines[w.L_SV3] >= 0
    units = np.where(sv3, 1000, units)
    units_ok = units_ok | sv3
    claim_cols["line_charge_total"] = _decimal_array(total, np.ones(nc, bool))
    claim_cols["is_balanced"] = _bools(charge_ok & (total == charge))
    line_cols = {
        "file_key": _int64(np.full(nl, key, np.int64)),
        "claim_number": _int32(claim_number[line_claim] if nl else np.zeros(0, np.int32)),
        "line_number": _int32(np.where(line_no_ok, line_no, 0), line_no_ok),
        "line_control_number": rd.strings(L, "line_control_number"),
        "procedure_qualifier": rd.strings(L, "procedure_qualifier"),
        "procedure_code": rd.strings(L, "procedure_code"),
        "modifiers": _modifiers(rd, lines),
        "revenue_code": rd.strings(L, "revenue_code"),
        "line_charge": _decimal_array(lcharge, lcharge_ok),
        "units": _decimal_array(units, units_ok, schema.QUANTITY),
        "service_date": _date_array(svc, svc_ok),
        "tooth_number": rd.strings(L, "tooth_number"),
        "service_date_to": _date_array(svc_to, svc_to_ok),
        "segment_number": _int32(lines[w.L_LX] - claims[w.C_ST][line_claim] + 1),
    }
    return (
        pa.Table.from_pydict(claim_cols, schema=schema.SUBMITTED_CLAIMS),
        pa.Table.from_pydict(line_cols, schema=schema.SUBMITTED_LINES),
    )


def _modifiers(rd: _Reader, lines: np.ndarray) -> pa.Array:
    """Components 3–6 of each line's procedure composite, comma-joined; null when there is none.

    The text from the first to the last present modifier is taken whole and its component separators
    made commas (one kernel call and two Arrow calls for all lines, no Python loop).
    """
    from pipeline.x12 import core837 as w

    n = lines.shape[1]
    s = np.zeros(n, np.int64)
    e = np.zeros(n, np.int64)
    for f in fields837.fields_of(fields837.L, "modifiers"):
        r = lines[w.LS[f.source]]
        es, ee = rd.c.span(r, f.element)
        cs, ce = rd.c.components(es, ee, 6)
        present = ce[2:] > cs[2:]
        first = np.where(present, cs[2:], np.iinfo(np.int64).max).min(axis=0)
        last = np.where(present, ce[2:], 0).max(axis=0)
        have = (r >= 0) & present.any(axis=0)
        s, e = np.where(have, first, s), np.where(have, last, e)
    text = rd.c.strings(s, e)
    if not len(text) or text.null_count == len(text):
        return text
    joined = pc.replace_substring(text, chr(rd.c.component), ",")
    if pc.any(pc.match_substring(joined, ",,")).as_py():  # an empty modifier between two others
        joined = pc.replace_substring_regex(joined, ",,+", ",")
    return joined


def _raise(source: str, log: ProblemLog) -> None:
    problems = sorted(log.items, key=lambda p: (p.segment_number is None, p.segment_number or 0))
    raise X12ParseError(source, problems, total=max(log.count, len(problems)))


def _pieces(data: bytes, source: str, secret: bytes | None, max_chunk_bytes: int) -> Iterator[Submission837]:
    """The pieces of one file (``parse_837_chunks``): each tokenised, checked and read in turn, so a large
    file's arrays are held one piece at a time."""
    from pipeline.x12.parser import WORK_CHUNK, _file_id, _normalise, _prepare, _worker_threads, warm_up

    warm_up()
    # the file id: the sha256 of the file's own bytes, as for 835s; hashlib releases the GIL, so a large
    # file is hashed on a second thread while it is tokenised
    hasher = ThreadPoolExecutor(1) if len(data) > WORK_CHUNK and _worker_threads() > 1 else None
    file_id_future = _file_id(data, hasher)
    if hasher is not None:
        hasher.shutdown(wait=False)
    data = _normalise(data, source)
    start = 3 if data.startswith(scan.BOM) else 0
    while start < len(data) and data[start] in scan.WHITESPACE:
        start += 1
    if start >= len(data):
        raise X12ParseError(source, [Problem("empty file (no X12 content)", None, 0, None)])
    try:
        regions = scan.find_regions(data, start, compiled=True)
    except scan.ScanError as exc:
        raise X12ParseError(source, [exc.problem]) from None
    plan = scan.plan_chunks(data, regions, max(1, max_chunk_bytes))
    env = Envelope(bare=regions[0].bare, transaction_set="837", version_problem=_version_problem)
    log = ProblemLog()
    segments = claims_before = transactions_before = 0
    for k, (a, b) in enumerate(plan):
        buf, d = _prepare(data, regions, a, b)
        c = Segments(buf, d.element, d.component, d.terminator, a, segments)
        if c.n:
            env.last = (c.segment_number(c.n - 1), c.byte_offset(c.n - 1), c.segment_id(c.n - 1))
        is_env = c.sid == ENVELOPE[0]
        for value in ENVELOPE[1:]:
            is_env |= c.sid == value
        versions = [t.version for t in env.process(c, np.flatnonzero(is_env).astype(np.int64), log)]
        if k == len(plan) - 1:
            env.finish(log)
        if log.count:  # a broken envelope: the claims' transactions and versions are not known
            _raise(source, log)
        file_id = file_id_future.result()
        built = _build(c, log, file_id, versions, secret, claims_before, transactions_before)
        if log.count or built is None:
            _raise(source, log)
        claims, lines = built
        segments += c.n
        claims_before += claims.num_rows
        transactions_before += len(versions)
        del c, buf
        yield Submission837(file_id, source, claims, lines, transactions=len(versions))


def parse_837_chunks(
    data: bytes,
    source: str,
    *,
    patient_key_secret: bytes | None = None,
    max_chunk_bytes: int = DEFAULT_CHUNK,
) -> Iterator[Submission837]:
    """Parse an 837 in pieces cut at ST boundaries (each about ``max_chunk_bytes`` or less, unless one
    transaction alone is longer), as ``parse_835_chunks`` does an 835: a large file's memory is one piece's.

    Claims, lines and transactions are numbered from the start of the file, so the pieces' rows are those
    ``parse_837`` gives. Problems raise ``X12ParseError`` after the piece in which they were found (or at
    the last piece, for envelope closure); callers discard pieces already yielded.
    """
    yield from _guarded(_pieces(_as_bytes(data, source), source, patient_key_secret, max_chunk_bytes), source)


def parse_837(data: bytes, source: str, *, patient_key_secret: bytes | None = None) -> Submission837:
    """Parse one 837P, 837I or 837D file's bytes into ``submitted_claims`` and ``submitted_lines``
    (a pure function: no I/O, no global state). ``patient_key_secret`` keys ``patient_key`` (null
    without one), as for ``parse_835``.

    Raises ``X12ParseError`` (and nothing else) when the file cannot be loaded: its problems name the
    segment (number in the file, id, byte offset) and what is wrong.
    """
    pieces = list(parse_837_chunks(data, source, patient_key_secret=patient_key_secret))
    if len(pieces) == 1:
        return pieces[0]
    try:
        first = pieces[0]
        return Submission837(
            first.file_id,
            source,
            pa.concat_tables([p.submitted_claims for p in pieces]),
            pa.concat_tables([p.submitted_lines for p in pieces]),
            transactions=sum(p.transactions for p in pieces),
        )
    except Exception as exc:
        raise _unparseable(source, exc) from exc


_HEAD = 1 << 16  # the first ST of any real file starts well within this


def transaction_set(data: bytes) -> str | None:
    """ST01 of the file's first transaction (``"835"``, ``"837"``, ...), or None when there is no
    readable ST: what the lake reads to send a file to ``parse_835`` or ``parse_837``. Reads the
    delimiters from the ISA (or a bare file's ST) as the parsers do, after the same normalisation, in
    the file's first 64 KiB (the whole file only when that finds none)."""
    found = _transaction_set(bytes(data[:_HEAD]))
    if found is None and len(data) > _HEAD:
        found = _transaction_set(bytes(data))
    return found


def _transaction_set(data: bytes) -> str | None:
    from pipeline.x12.parser import _normalise

    try:
        data = _normalise(data, "")
        start = 3 if data.startswith(scan.BOM) else 0
        while start < len(data) and data[start] in scan.WHITESPACE:
            start += 1
        d = scan.find_regions(data, start)[0].delimiters
    except (X12ParseError, scan.ScanError, IndexError):
        return None
    sep, term = re.escape(bytes([d.element])), re.escape(bytes([d.terminator]))
    pattern = rb"(?:\A|" + term + rb")[ \t\r\n]*ST" + sep + rb"[ ]*([0-9A-Za-z]{1,3})"
    found = re.compile(pattern).search(data, start)
    return found.group(1).decode("ascii") if found else None
