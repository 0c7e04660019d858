"""The declarative field table (pipeline/x12/fields.py): the schema, the staging views and docs/parser.md
agree with it, and every field added with it is read right from a hand-built 835
(tests/fixtures/835/added_fields.835, values worked out by hand from the segments)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.x12 import X12ParseError, fields, parse_835, schema
from pipeline.x12.build import hmac_reference

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "835" / "added_fields.835"
SECRET = b"field-table-test-key"
TYPES = {"string": pa.string(), "money": schema.MONEY, "quantity": schema.QUANTITY, "rate": schema.RATE}
TYPES["date"] = schema.DATE


@pytest.fixture(scope="module")
def r():
    return parse_835(FIXTURE.read_bytes(), "added_fields.835", patient_key_secret=SECRET)


# ---- the table and what is generated from it or checked against it -----------------------------------
def test_every_field_names_a_schema_column_of_its_type():
    for f in fields.FIELDS:
        sch = schema.TABLES[f.table]
        assert f.column in sch.names, f
        if f.rule is None:  # plain fields: the element's value, typed
            assert sch.field(f.column).type == TYPES[f.type], f


def test_every_schema_column_comes_from_a_field_or_is_computed():
    from_fields = {(f.table, f.column) for f in fields.FIELDS}
    for table, sch in schema.REMITTANCE_TABLES.items():
        computed = fields.COMPUTED[table]
        for name in sch.names:
            assert (table, name) in from_fields or name in computed, f"{table}.{name}"
        assert set(computed) <= set(sch.names), table


def _staged_columns(view: str) -> set[str]:
    text = (REPO / "sql" / "staging" / f"{view}.sql").read_text()
    return set(re.findall(r"^-- column (\w+):", text, re.M))


def test_staging_exposes_every_lake_column_or_says_why_not():
    for table, view in fields.STAGING_VIEW.items():
        staged = _staged_columns(view)
        skipped = fields.NOT_STAGED[table]
        missing = [c for c in schema.TABLES[table].names if c not in staged and c not in skipped]
        assert missing == [], f"{view} lacks {missing} (add them, or say why in fields.NOT_STAGED)"
        assert not set(skipped) & staged, f"{view}: listed as not staged, but staged"


def test_docs_hold_the_generated_field_table():
    text = (REPO / "docs" / "parser.md").read_text()
    assert fields.markdown() in text, "run python -m pipeline.x12.fields and paste it into docs/parser.md"


def test_layout_gives_each_source_a_slot_and_each_copied_element_a_column():
    lay = fields.layout()
    for level in fields.LEVELS:
        slots = [s.slot for s in lay.sources if s.level == level and s.slot >= 0]
        assert sorted(slots) == list(range(len(fields.FIXED_SLOTS[level]), lay.slots(level)))
        cols = [c for s in lay.sources if s.level == level for _, c in s.copied]
        assert sorted(cols) == list(range(lay.width(level)))


def test_the_compiled_walk_is_keyed_by_the_layout():
    """The layout is compiled into the walk as constants: numba's on-disk cache must tell two layouts
    apart (it keys a closure by its contents), or a change of fields.py would reuse a stale walk."""
    from pipeline.x12 import core

    cache = getattr(core.walk, "_cache", None)
    if not hasattr(cache, "_index_key"):
        pytest.skip("numba has no on-disk cache here")
    codegen = core.walk.targetctx.codegen()
    other = core.LAYOUT_ARRAYS.copy()
    other[core.O_WIDTHS + core.LV_CLAIM] += 1  # one more copied claim column
    key = cache._index_key((), codegen)
    assert core._make_walk(other)._cache._index_key((), codegen) != key
    assert core._make_walk(core.LAYOUT_ARRAYS.copy())._cache._index_key((), codegen) == key


def test_layout_lookups_find_every_source_and_nothing_else():
    """The perfect hashes built for the walk give each (level, segment, qualifier) of the layout its
    slot, and -1 / 0 for keys outside it (worked out here from fields.layout(), not from the tables)."""
    from pipeline.x12 import core

    lay = core.LAYOUT_ARRAYS
    seg_mult, key_mult = int(lay[core.O_MULT]), int(lay[core.O_MULT + 1])
    expected = {}
    for src in fields.layout().sources:
        if src.slot >= 0:
            q = core._code(src.qualifier) if src.qualifier else core.UNQUALIFIED
            expected[(fields.LEVEL[src.level], core._code(src.segment), q)] = src.slot
    assert len(expected) > 40
    for (level, seg, q), slot in expected.items():
        assert core._lookup.py_func(lay, key_mult, level, seg, q) == slot
        assert core._segment_info.py_func(lay, seg_mult, seg) & core.SEG_SOURCE
    dtm, clp = core._code("DTM"), core._code("CLP")
    assert core._lookup.py_func(lay, key_mult, core.LV_CLAIM, dtm, core._code("472")) == -1  # a line date
    assert core._lookup.py_func(lay, key_mult, core.LV_LINE, dtm, core._code("232")) == -1
    assert core._segment_info.py_func(lay, seg_mult, clp) == 0  # an opener, not a "first" slot
    assert core._segment_info.py_func(lay, seg_mult, core.LQ) == core.SEG_QUALIFIED


# ---- claim-level fields ----------------------------------------------------------------------------------
def test_clp12_clp13_crossover_carrier_dates_amounts_and_quantities(r):
    c1, c2 = r.claims.to_pylist()
    assert (c1["drg_code"], c1["drg_weight"], c1["discharge_fraction"]) == ("470", D("1.2345"), D("0.75"))
    assert c1["crossover_carrier_name"] == "MEDIGAP PLAN"
    assert (c1["crossover_carrier_id_qualifier"], c1["crossover_carrier_id"]) == ("PI", "CROSS9")
    assert c1["corrected_priority_payer_name"] is None
    assert c1["coverage_expiration_date"] == dt.date(2025, 12, 31)
    assert (c1["interest_amount"], c1["prompt_pay_discount_amount"]) == (D("12.34"), D("5.00"))
    assert c1["patient_amount_paid"] == D("25.00")
    assert (c1["covered_days"], c1["mandate_category_1_units"]) == (D("5"), D("2.5"))
    assert c1["visits"] is None and c1["moa_reimbursement_rate"] is None
    # claim 2: CO-22 with the payer it should have gone to first
    assert c2["corrected_priority_payer_name"] == "OTHER PAYER"
    assert (c2["corrected_priority_payer_id_qualifier"], c2["corrected_priority_payer_id"]) == (
        "PI",
        "PAYER77",
    )
    assert c2["crossover_carrier_name"] is None and c2["interest_amount"] is None
    assert c2["drg_weight"] is None and c2["coverage_expiration_date"] is None


def test_mia_amounts(r):
    c1, c2 = r.claims.to_pylist()
    # MIA*5*10.10*2*450.25**1.01*2.02*3.03*4.04*5.05*6.06*7.07*8.08*9.09*30*11.11*12.12*13.13*14.14
    #    *MA01****15.15
    assert c1["mia_covered_days"] == D("5")
    assert c1["mia_pps_operating_outlier_amount"] == D("10.10")
    assert c1["mia_lifetime_psychiatric_days"] == D("2")
    assert c1["mia_drg_amount"] == D("450.25")
    assert c1["mia_disproportionate_share_amount"] == D("1.01")
    assert c1["mia_msp_pass_through_amount"] == D("2.02")
    assert c1["mia_pps_capital_amount"] == D("3.03")
    assert c1["mia_pps_capital_fsp_drg_amount"] == D("4.04")
    assert c1["mia_pps_capital_hsp_drg_amount"] == D("5.05")
    assert c1["mia_pps_capital_dsh_drg_amount"] == D("6.06")
    assert c1["mia_old_capital_amount"] == D("7.07")
    assert c1["mia_pps_capital_ime_amount"] == D("8.08")
    assert c1["mia_pps_operating_hospital_specific_drg_amount"] == D("9.09")
    assert c1["mia_cost_report_day_count"] == D("30")
    assert c1["mia_pps_operating_federal_specific_drg_amount"] == D("11.11")
    assert c1["mia_pps_capital_outlier_amount"] == D("12.12")
    assert c1["mia_indirect_teaching_amount"] == D("13.13")
    assert c1["mia_nonpayable_professional_component_amount"] == D("14.14")
    assert c1["mia_pps_capital_exception_amount"] == D("15.15")
    assert c2["mia_drg_amount"] is None
    # the remark codes are still remarks, not amounts
    remarks = [(x["source"], x["remark_code"]) for x in r.remarks.to_pylist()]
    assert remarks == [("MIA", "MA01"), ("MOA", "MA01")]


def test_moa_amounts(r):
    c1, c2 = r.claims.to_pylist()
    # MOA*0.8*40.5*MA01*****3.5*1.25
    assert c2["moa_reimbursement_rate"] == D("0.8")
    assert c2["moa_hcpcs_payable_amount"] == D("40.50")
    assert c2["moa_esrd_payment_amount"] == D("3.50")
    assert c2["moa_nonpayable_professional_component_amount"] == D("1.25")
    assert c1["moa_hcpcs_payable_amount"] is None


def test_line_quantities(r):
    l1, l2 = r.service_lines.to_pylist()
    assert l1["mandate_category_2_units"] == D("3.75")  # QTY*ZL at line level
    assert l1["mandate_category_1_units"] is None  # QTY*ZK was at claim level only
    assert l2["mandate_category_2_units"] is None


# ---- references (REF) -------------------------------------------------------------------------------------
def test_claim_and_line_references(r):
    rows = r.claim_references.to_pylist()
    got = [
        (x["level"], x["line_number"] is not None, x["reference_ordinal"], x["qualifier"], x["value"])
        for x in rows
    ]
    assert got == [
        ("claim", False, 1, "1L", None),  # group or policy number: hashed
        ("claim", False, 2, "EA", None),  # medical record number: hashed
        ("claim", False, 3, "CE", "CLASS7"),
        ("claim", False, 4, "G1", "AUTH42"),
        ("claim", False, 5, "9A", "RP9"),
        ("claim", False, 6, "BB", "B77"),
        ("line", True, 1, "0K", "FORM12"),
        ("line", True, 2, "G1", "LAUTH1"),
        ("line", True, 1, "0K", "FORM34"),
    ]
    claim_numbers = r.claims["claim_number"].to_pylist()
    lines = [(x["claim_number"], x["line_number"]) for x in r.service_lines.to_pylist()]
    assert [x["claim_number"] for x in rows] == [claim_numbers[0]] * 8 + [claim_numbers[1]]
    assert [(x["claim_number"], x["line_number"]) for x in rows[6:]] == [lines[0], lines[0], lines[1]]
    # REF*F8 and REF*6R stay the columns they were
    assert r.claims["original_reference_number"].to_pylist() == ["OLDICN", None]
    assert r.service_lines["line_control_number"].to_pylist() == ["L1", None]


def test_identifying_references_are_only_a_keyed_hash(r):
    rows = {x["qualifier"]: x for x in r.claim_references.to_pylist() if x["level"] == "claim"}
    assert rows["1L"]["value_key"] == hmac_reference(SECRET, "GRP123")
    assert rows["EA"]["value_key"] == hmac_reference(SECRET, "MRN555")
    assert rows["CE"]["value_key"] is None
    text = str(r.claim_references.to_pylist())
    assert "GRP123" not in text and "MRN555" not in text
    without = parse_835(FIXTURE.read_bytes(), "added_fields.835")
    assert without.claim_references["value_key"].null_count == without.claim_references.num_rows
    assert "MRN555" not in str(without.claim_references.to_pylist())


# ---- provider summaries (LX / TS3 / TS2) -------------------------------------------------------------------
def test_provider_summaries(r):
    s1, s2 = r.provider_summaries.to_pylist()
    assert (s1["summary_ordinal"], s1["assigned_number"]) == (1, "1")
    assert (s1["provider_id"], s1["facility_type_code"]) == ("1234567893", "11")
    assert s1["fiscal_period_date"] == dt.date(2025, 12, 31)
    assert (s1["total_claim_count"], s1["total_claim_charge_amount"]) == (D("2"), D("1200.00"))
    # TS2*700.25*100*200*50.5*30*20*3*10*15.75*4.5*2*365*6*1*12.5*1.2345*5*6*7
    assert s1["total_drg_amount"] == D("700.25")
    assert s1["total_federal_specific_amount"] == D("100")
    assert s1["total_hospital_specific_amount"] == D("200")
    assert s1["total_disproportionate_share_amount"] == D("50.50")
    assert s1["total_capital_amount"] == D("30")
    assert s1["total_indirect_medical_education_amount"] == D("20")
    assert s1["total_outlier_day_count"] == D("3")
    assert s1["total_day_outlier_amount"] == D("10")
    assert s1["total_cost_outlier_amount"] == D("15.75")
    assert s1["average_drg_length_of_stay"] == D("4.5")
    assert s1["total_discharge_count"] == D("2")
    assert s1["total_cost_report_day_count"] == D("365")
    assert s1["total_covered_day_count"] == D("6")
    assert s1["total_noncovered_day_count"] == D("1")
    assert s1["total_msp_pass_through_amount"] == D("12.50")
    assert s1["average_drg_weight"] == D("1.2345")
    assert s1["total_pps_capital_fsp_drg_amount"] == D("5")
    assert s1["total_pps_capital_hsp_drg_amount"] == D("6")
    assert s1["total_pps_dsh_drg_amount"] == D("7")
    assert s1["total_msp_payer_amount"] is None
    # LX*2 without TS3/TS2: a row with its number and nothing else
    assert (s2["summary_ordinal"], s2["assigned_number"], s2["provider_id"]) == (2, "2", None)
    assert s2["total_drg_amount"] is None
    assert r.payments["claim_count"].to_pylist() == [2]


def test_the_added_fields_change_no_existing_column(r):
    c1, c2 = r.claims.to_pylist()
    assert (c1["charge_amount"], c1["paid_amount"], c1["patient_responsibility_amount"]) == (
        D("1000.00"),
        D("600.50"),
        D("100.00"),
    )
    assert (c1["is_balanced"], c2["is_balanced"]) == (True, True)
    assert r.payments["is_balanced"].to_pylist() == [True]
    assert r.service_lines["is_balanced"].to_pylist() == [True, True]


# ---- a bad value in an added column is reported like any other ---------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "label"),
    [
        ("AMT*I*12.34~", "AMT*I*12.345~", "AMT*I AMT02 is not a valid amount"),
        ("MIA*5*10.10*", "MIA*5*10,10*", "MIA02 is not a valid amount"),
        ("DTM*036*20251231~", "DTM*036*20250231~", "DTM*036 DTM02 is not a valid date"),
        ("TS3*1234567893*11*20251231*2*1200~", "TS3*1234567893*11*20251231*2*12O0~", "TS305 is not a valid"),
    ],
)
def test_bad_added_values_name_the_element_and_segment(old: str, new: str, label: str):
    text = FIXTURE.read_text()
    assert old in text
    bad = text.replace(old, new)
    segno = next(n for n, line in enumerate(bad.split("\n"), 1) if new in line)  # a segment per line
    with pytest.raises(X12ParseError) as exc:
        parse_835(bad.encode(), "bad.835")
    problems = exc.value.problems
    assert len(problems) == 1
    assert label in problems[0].message
    assert problems[0].segment_number == segno
