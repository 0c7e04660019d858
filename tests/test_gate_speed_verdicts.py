"""The quality gate's verdicts, one defect at a time: every expectation of the batch suite is fed a batch
with exactly one offending row, and the gate must refuse exactly the file holding it (critical) or refuse
nothing and list it (warning), naming the expectation, the offending key and value.

These verdicts were written down (and passed) before the gate was made cheaper (issue 18): they pin what
"the same verdicts" means. The expected file, key and value of each case are taken from the batch as it
is fed to the gate (the row the test itself altered), never from the gate's output. One GX context is
shared by the module (GX is slow to start).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.quality import CRITICAL, WARNING, BatchGate
from pipeline.quality.suites import BATCH_CHECKS
from tests.test_quality import _file, fid, file_a, file_b, parse

# file C: a third file of the night, two claims, so that a defect in one file has two clean neighbours
_C_CLAIMS = [
    "CLP*PCN7*1*300*250**12*ICN7",
    "NM1*QC*1*COE*ANN****MI*991",
    "REF*9A*RPR7",
    "SVC*HC:99215*300*250",
    "DTM*472*20250105",
    "CAS*CO*45*50",
    "CLP*PCN8*1*90*90**12*ICN8",
    "NM1*QC*1*COE*BEN****MI*992",
    "SVC*HC:99211*90*90",
    "DTM*472*20250106",
]


def file_c() -> bytes:
    """Two paid claims (250 after CO-45 50, and 90 in full): BPR02 = 340."""
    return _file("000000003", "340", "20250118", "TRACEC", _C_CLAIMS)


# the 837 fixtures (files 3, 4, 5 of the night): professional (two claims), institutional, dental
_837 = [
    Path(__file__).resolve().parent / "fixtures" / "837" / f"{n}.837"
    for n in ("professional", "institutional", "dental")
]


def night() -> dict[str, pa.Table]:
    from pipeline.x12 import parse_837

    tables = parse(file_a(), file_b(), file_c())
    submitted = [parse_837(p.read_bytes(), p.name).tables() for p in _837]
    night = {**tables, **{name: pa.concat_tables([s[name] for s in submitted]) for name in submitted[0]}}
    # the ids the gate names rows by, made from the lean keys as the gate makes them (checks.with_ids),
    # so that a case can spoil one: the gate keeps an id column it is given
    from pipeline.quality.checks import BATCH, _columns_read, with_ids

    return with_ids(night, {name: ["file_id", *_columns_read(BATCH, name)] for name in night})


def submitted_ids() -> list[str]:
    """file_id of the night's three 837s."""
    import hashlib

    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in _837]


def set_cell(table: pa.Table, column: str, row: int, value: object) -> pa.Table:
    values = table[column].to_pylist()
    values[row] = value
    i = table.column_names.index(column)
    return table.set_column(i, column, pa.array(values, table.schema.field(column).type))


def last_row_of(table: pa.Table, file_id: str) -> int:
    """The last row of ``table`` belonging to ``file_id``."""
    return max(i for i, f in enumerate(table["file_id"].to_pylist()) if f == file_id)


@dataclass(frozen=True)
class Case:
    """One expectation, and how to make exactly one row of file B (or C) fail it."""

    expectation: str
    table: str
    column: str
    value: object  # the offending value written into the row (None: null)
    id_column: str
    shown: str | None = None  # how the report shows the offending value ("null" for a null, ...)
    file: int = 1  # 0: file A, 1: file B, 2: file C


_FAR = dt.date(2099, 1, 1)
_OLD = dt.date(1899, 12, 31)

CRITICAL_CASES = [
    Case("payments.transaction_id.not_null", "payments", "transaction_id", None, "transaction_id"),
    Case("payments.payment_amount.not_null", "payments", "payment_amount", None, "transaction_id"),
    Case("payments.month_basis_date.plausible", "payments", "payment_date", _FAR, "transaction_id"),
    Case(
        "payments.transaction_ordinal.fits_claim_order",
        "payments",
        "transaction_ordinal",
        10_000,
        "transaction_id",
    ),
    Case("claims.claim_id.not_null", "claims", "claim_id", None, "claim_id", file=2),
    Case("claims.charge_amount.not_null", "claims", "charge_amount", None, "claim_id", file=2),
    Case("claims.paid_amount.not_null", "claims", "paid_amount", None, "claim_id"),
    Case("service_lines.line_id.not_null", "service_lines", "line_id", None, "line_id"),
    Case("service_lines.charge_amount.not_null", "service_lines", "charge_amount", None, "line_id", file=2),
    Case("service_lines.paid_amount.not_null", "service_lines", "paid_amount", None, "line_id"),
    Case("adjustments.adjustment_id.not_null", "adjustments", "adjustment_id", None, "adjustment_id"),
    Case("adjustments.group_code.not_null", "adjustments", "group_code", None, "adjustment_id"),
    Case("adjustments.group_code.valid", "adjustments", "group_code", "XX", "adjustment_id", "XX", file=2),
    Case("adjustments.reason_code.not_null", "adjustments", "reason_code", None, "adjustment_id"),
    Case("adjustments.amount.not_null", "adjustments", "amount", None, "adjustment_id"),
    Case("provider_adjustments.amount.not_null", "provider_adjustments", "amount", None, "transaction_id"),
    Case(
        "submitted_claims.submitted_claim_id.not_null",
        "submitted_claims",
        "submitted_claim_id",
        None,
        "submitted_claim_id",
        file=3,
    ),
    Case(
        "submitted_claims.patient_control_number.not_null",
        "submitted_claims",
        "patient_control_number",
        None,
        "submitted_claim_id",
        file=4,
    ),
    Case(
        "submitted_claims.claim_charge.not_null",
        "submitted_claims",
        "claim_charge",
        None,
        "submitted_claim_id",
        file=5,
    ),
    Case(
        "submitted_claims.claim_type.valid",
        "submitted_claims",
        "claim_type",
        "vision",
        "submitted_claim_id",
        "vision",
        file=3,
    ),
    Case(
        "submitted_lines.line_charge.not_null",
        "submitted_lines",
        "line_charge",
        None,
        "submitted_claim_id",
        file=4,
    ),
]

WARNING_CASES = [
    Case("payments.payment_date.not_null", "payments", "payment_date", None, "transaction_id"),
    Case("payments.production_date.plausible", "payments", "production_date", _OLD, "transaction_id"),
    Case("payments.is_balanced", "payments", "is_balanced", False, "transaction_id", "False"),
    Case("claims.claim_status_code.valid", "claims", "claim_status_code", "9", "claim_id", "9"),
    Case("claims.claim_filing_indicator.valid", "claims", "claim_filing_indicator", "Q9", "claim_id", "Q9"),
    Case("claims.statement_from_date.plausible", "claims", "statement_from_date", _OLD, "claim_id"),
    Case("claims.statement_to_date.plausible", "claims", "statement_to_date", _FAR, "claim_id", file=2),
    Case("claims.received_date.plausible", "claims", "received_date", _OLD, "claim_id"),
    Case("claims.is_balanced", "claims", "is_balanced", False, "claim_id", "False"),
    Case("service_lines.service_date_from.plausible", "service_lines", "service_date_from", _OLD, "line_id"),
    Case("service_lines.service_date_to.plausible", "service_lines", "service_date_to", _FAR, "line_id"),
    Case("service_lines.is_balanced", "service_lines", "is_balanced", False, "line_id", "False", file=2),
    Case("adjustments.group_code.not_legacy", "adjustments", "group_code", "CR", "adjustment_id", "CR"),
    Case("adjustments.reason_code.known_carc", "adjustments", "reason_code", "ZZ9", "adjustment_id", "ZZ9"),
    Case("remarks.remark_code.known_rarc", "remarks", "remark_code", "ZZ77", "claim_id", "ZZ77", file=0),
    Case("payments.version.is_5010", "payments", "version", "004010X091A1", "transaction_id", "004010X091A1"),
    Case("claim_references.qualifier.not_null", "claim_references", "qualifier", None, "claim_id", file=2),
    Case(
        "provider_summaries.fiscal_period_date.plausible",
        "provider_summaries",
        "fiscal_period_date",
        _FAR,
        "transaction_id",
    ),
    Case(
        "provider_adjustments.fiscal_period_date.plausible",
        "provider_adjustments",
        "fiscal_period_date",
        _FAR,
        "transaction_id",
    ),
    Case(
        "submitted_claims.claim_charge.not_negative",
        "submitted_claims",
        "claim_charge",
        Decimal("-1.00"),
        "submitted_claim_id",
        file=4,
    ),
    Case(
        "submitted_claims.is_balanced",
        "submitted_claims",
        "is_balanced",
        False,
        "submitted_claim_id",
        "False",
        file=3,
    ),
    Case(
        "submitted_claims.payer_id.not_null",
        "submitted_claims",
        "payer_id",
        None,
        "submitted_claim_id",
        file=5,
    ),
    Case(
        "submitted_claims.submission_date.plausible",
        "submitted_claims",
        "submission_date",
        _OLD,
        "submitted_claim_id",
        file=4,
    ),
    Case(
        "submitted_lines.service_date.plausible",
        "submitted_lines",
        "service_date",
        _FAR,
        "submitted_claim_id",
        file=5,
    ),
]


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory):
    """One GX context for the module, writing Data Docs (as the nightly gate does)."""
    from pipeline.quality.engine import QualityContext

    return QualityContext(tmp_path_factory.mktemp("gate-docs"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    from pipeline.home import Home

    return Home(tmp_path_factory.mktemp("gate-home") / "home").ensure()


@pytest.fixture(scope="module")
def clean() -> dict[str, pa.Table]:
    return night()


def file_ids() -> list[str]:
    return [fid(file_a()), fid(file_b()), fid(file_c())]


def inject(clean: dict[str, pa.Table], case: Case) -> tuple[dict[str, pa.Table], str, str]:
    """The night with ``case``'s defect in one row; returns it, the defective file and the row's key."""
    target = (file_ids() + submitted_ids())[case.file]
    table = clean[case.table]
    row = last_row_of(table, target)
    tables = {**clean, case.table: set_cell(table, case.column, row, case.value)}
    if case.expectation == "payments.transaction_id.not_null":
        key = "null"
    else:
        key = tables[case.table][case.id_column][row].as_py()
        key = "null" if key is None else str(key)
    return tables, target, key


def gate_on(home, context, tables: dict[str, pa.Table]) -> tuple[BatchGate, dict]:
    gate = BatchGate(home, run_id="verdicts", context=context)
    return gate, gate(tables)


def test_the_cases_cover_every_batch_expectation() -> None:
    covered = {c.expectation for c in CRITICAL_CASES + WARNING_CASES}
    # uniqueness and month_basis_date.not_null need two cells changed: their own tests below
    two_cells = {
        "payments.transaction_id.unique",
        "claims.claim_id.unique",
        "service_lines.line_id.unique",
        "adjustments.adjustment_id.unique",
        "payments.month_basis_date.not_null",
        "submitted_claims.submitted_claim_id.unique",
    }
    assert covered | two_cells == {c.name for c in BATCH_CHECKS}
    assert all(
        c.severity == CRITICAL for c in BATCH_CHECKS if c.name in {x.expectation for x in CRITICAL_CASES}
    )
    assert all(
        c.severity == WARNING for c in BATCH_CHECKS if c.name in {x.expectation for x in WARNING_CASES}
    )


def test_a_clean_night_passes_every_expectation(home, context, clean) -> None:
    gate, refused = gate_on(home, context, clean)
    assert refused == {}
    assert [o.expectation for o in gate.report.outcomes] == [c.name for c in BATCH_CHECKS]
    assert all(o.success for o in gate.report.outcomes)
    # element counts are the rows fed (remarks: LQ/MIA/MOA only, i.e. MOA N290 and LQ M51)
    counts = {o.expectation: o.element_count for o in gate.report.outcomes}
    assert counts["claims.claim_id.unique"] == 6 and counts["service_lines.line_id.unique"] == 6
    assert counts["adjustments.adjustment_id.unique"] == 6 and counts["payments.is_balanced"] == 3
    assert counts["remarks.remark_code.known_rarc"] == 2
    assert counts["provider_adjustments.amount.not_null"] == 1


@pytest.mark.parametrize("case", CRITICAL_CASES, ids=lambda c: c.expectation)
def test_a_critical_defect_refuses_exactly_its_file(home, context, clean, case: Case) -> None:
    tables, target, key = inject(clean, case)
    gate, refused = gate_on(home, context, tables)
    assert list(refused) == [target]
    verdict = refused[target]
    assert verdict["message"] == f"failed critical quality expectation(s): {case.expectation}"
    assert [e["expectation"] for e in verdict["expectations"]] == [case.expectation]
    (outcome,) = [o for o in gate.report.outcomes if not o.success]
    assert (outcome.expectation, outcome.severity, outcome.unexpected_count) == (
        case.expectation,
        CRITICAL,
        1,
    )
    assert outcome.file_ids == (target,)
    if key != "null":
        assert outcome.sample_ids == (key,)
    if case.shown is not None:
        assert outcome.unexpected_values == (case.shown,)
    json.dumps(verdict)  # the quarantine note is written as JSON


@pytest.mark.parametrize("case", WARNING_CASES, ids=lambda c: c.expectation)
def test_a_warning_defect_refuses_nothing_and_is_listed(home, context, clean, case: Case) -> None:
    tables, target, key = inject(clean, case)
    gate, refused = gate_on(home, context, tables)
    assert refused == {}
    (outcome,) = [o for o in gate.report.outcomes if not o.success]
    assert (outcome.expectation, outcome.severity, outcome.unexpected_count) == (case.expectation, WARNING, 1)
    assert outcome.sample_ids == (key,) and outcome.file_ids == (target,)
    if case.shown is not None:
        assert outcome.unexpected_values == (case.shown,)


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("claims", "claim_id"),
        ("service_lines", "line_id"),
        ("adjustments", "adjustment_id"),
        ("submitted_claims", "submitted_claim_id"),
    ],
)
def test_a_key_repeated_within_a_file_refuses_that_file(home, context, clean, table, column) -> None:
    # file A: three claims, three lines, four adjustments; the professional 837: two claims
    target = submitted_ids()[0] if table == "submitted_claims" else file_ids()[0]
    t = clean[table]
    rows = [i for i, f in enumerate(t["file_id"].to_pylist()) if f == target]
    repeated = t[column][rows[0]].as_py()
    tables = {**clean, table: set_cell(t, column, rows[1], repeated)}
    gate, refused = gate_on(home, context, tables)
    name = f"{table}.{column}.unique"
    assert list(refused) == [target]
    assert refused[target]["message"] == f"failed critical quality expectation(s): {name}"
    outcome = gate.report.outcome(name)
    assert (outcome.success, outcome.unexpected_count, outcome.file_ids) == (False, 2, (target,))
    assert outcome.unexpected_values == (repeated,) and outcome.sample_ids == (repeated,)


def test_a_transaction_id_sent_by_two_files_refuses_both(home, context, clean) -> None:
    a, b, _ = file_ids()
    payments = clean["payments"]
    tables = {
        **clean,
        "payments": set_cell(payments, "transaction_id", 1, payments["transaction_id"][0].as_py()),
    }
    gate, refused = gate_on(home, context, tables)
    assert sorted(refused) == sorted([a, b])
    outcome = gate.report.outcome("payments.transaction_id.unique")
    assert (outcome.unexpected_count, outcome.file_ids) == (2, tuple(sorted([a, b])))


def test_neither_payment_nor_production_date_refuses_the_file(home, context, clean) -> None:
    c = file_ids()[2]
    payments = clean["payments"]
    no_dates = set_cell(set_cell(payments, "payment_date", 2, None), "production_date", 2, None)
    gate, refused = gate_on(home, context, {**clean, "payments": no_dates})
    assert list(refused) == [c]
    names = refused[c]["message"].split(": ", 1)[1]
    assert names == "payments.month_basis_date.not_null"
    assert {o.expectation for o in gate.report.outcomes if not o.success} == {
        "payments.payment_date.not_null",  # the warning that comes with it
        "payments.month_basis_date.not_null",
    }


def test_two_defective_files_in_one_batch_are_each_refused_for_their_own_reason(home, context, clean) -> None:
    a, b, c = file_ids()
    adjustments = clean["adjustments"]
    claims = clean["claims"]
    tables = {
        **clean,
        "adjustments": set_cell(adjustments, "group_code", last_row_of(adjustments, a), "ZZ"),
        "claims": set_cell(claims, "paid_amount", last_row_of(claims, c), None),
    }
    gate, refused = gate_on(home, context, tables)
    assert sorted(refused) == sorted([a, c])
    assert refused[a]["message"].endswith(": adjustments.group_code.valid")
    assert refused[c]["message"].endswith(": claims.paid_amount.not_null")
    assert [e["file_ids"] for e in refused[a]["expectations"]] == [[a]]


def test_a_night_in_batches_refuses_per_batch_and_reports_once(home, context, clean) -> None:
    """The lake shows the gate one commit batch at a time: each call refuses its own bad files, and the
    night's report holds one outcome per expectation over every batch."""
    a, b, c = file_ids()
    bad_a, _, _ = inject(clean, Case("x", "adjustments", "amount", None, "adjustment_id", file=0))
    by_file = {
        f: {n: t.filter(pa.compute.equal(t["file_id"], f)) for n, t in bad_a.items()} for f in (a, b, c)
    }
    gate = BatchGate(home, run_id="batches", context=context)
    assert list(gate(by_file[a])) == [a]
    warned = {**by_file[b], "claims": set_cell(by_file[b]["claims"], "claim_status_code", 0, "9")}
    assert gate(warned) == {}
    assert gate(by_file[c]) == {}
    report = gate.report
    assert report.failed_critical_file_ids == {a}
    assert report.outcome("claims.claim_id.unique").element_count == 6
    status = report.outcome("claims.claim_status_code.valid")
    assert (status.success, status.unexpected_count, status.file_ids) == (False, 1, (b,))
    docs = gate.build_docs()
    assert docs is not None and docs.is_file()


def test_a_generated_night_with_injected_defects(home, context, tmp_path: Path) -> None:
    """A synthetic night (pipeline.synth): the two files given a critical defect are refused, the rest
    pass, and every outcome counts the rows fed."""
    from pipeline.synth import generate
    from pipeline.x12 import parse_835

    generate(tmp_path / "synth", claims=600, files=6, months=1, seed=18)
    parsed = [parse_835(p.read_bytes(), p.name) for p in sorted((tmp_path / "synth").glob("*.835"))]
    tables = {name: pa.concat_tables([p.tables()[name] for p in parsed]) for name in parsed[0].tables()}
    from pipeline.quality.checks import BATCH, _columns_read, with_ids

    tables = with_ids(tables, {name: ["file_id", *_columns_read(BATCH, name)] for name in tables})
    fids = list(dict.fromkeys(tables["claims"]["file_id"].to_pylist()))
    first, fourth = fids[0], fids[3]
    lines = tables["service_lines"]
    payments = tables["payments"]
    tables = {
        **tables,
        "service_lines": set_cell(lines, "line_id", last_row_of(lines, first), None),
        "payments": set_cell(payments, "payment_amount", last_row_of(payments, fourth), None),
    }
    gate, refused = gate_on(home, context, tables)
    assert sorted(refused) == sorted([first, fourth])
    assert refused[first]["message"].endswith(": service_lines.line_id.not_null")
    assert refused[fourth]["message"].endswith(": payments.payment_amount.not_null")
    report = gate.report
    assert report.outcome("claims.claim_id.unique").element_count == tables["claims"].num_rows
    assert report.outcome("adjustments.amount.not_null").element_count == tables["adjustments"].num_rows
    assert report.outcome("service_lines.line_id.not_null").unexpected_count == 1


def test_every_case_writes_a_value_of_its_column_type() -> None:
    """Every case writes a value of its column's Arrow type (a typo in a case would test nothing)."""
    from pipeline.quality.checks import ID_COLUMNS
    from pipeline.x12.schema import TABLES

    for case in CRITICAL_CASES + WARNING_CASES:
        if case.column in ID_COLUMNS:  # made by the gate from the keys (checks.with_ids): strings
            pa.array([case.value], pa.string())
            continue
        field = TABLES[case.table].field(case.column)
        pa.array([case.value], field.type)  # raises on a value of the wrong type


def test_key_codes_keep_uniqueness_even_when_two_keys_share_a_hash(monkeypatch) -> None:
    """Keys reach GX as their 64-bit hashes; should two distinct keys collide, the codes fall back to
    dense ranks, so that "unique" still holds exactly when it holds on the keys."""
    import polars as pl

    from pipeline.quality.checks import _coded

    keys = pa.chunked_array([pa.array(["k1", "k2", None, "k1", "k3"])])
    codes = _coded(keys).to_pylist()
    assert codes[2] is None and codes[0] == codes[3]
    assert len({codes[0], codes[1], codes[4]}) == 3
    monkeypatch.setattr(pl.Series, "hash", lambda self, *a, **k: pl.Series([7] * len(self), dtype=pl.UInt64))
    assert _coded(keys).to_pylist() == [1, 2, None, 1, 3]
