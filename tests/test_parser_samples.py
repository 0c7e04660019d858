"""The public sample 835s in ../shared/samples/835: totals against pyx12 (an independent validator) where
pyx12 reported no validation errors, against hand-worked truth where it did, and a justified error for
each file that is genuinely broken."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from pipeline.x12 import X12ParseError, parse_835


def totals(r) -> dict:
    cas: dict[str, D] = {}
    for g, a in zip(
        r.adjustments["group_code"].to_pylist(), r.adjustments["amount"].to_pylist(), strict=True
    ):
        cas[g] = cas.get(g, D(0)) + a
    return {
        "st": r.payments.num_rows,
        "claims": r.claims.num_rows,
        "clp04": sum(r.claims["paid_amount"].to_pylist(), D(0)),
        "cas": cas,
        "plb": sum(r.provider_adjustments["amount"].to_pylist(), D(0)),
        "svc": r.service_lines.num_rows,
    }


def pyx12_view(entry: dict) -> dict:
    return {
        "st": int(entry["st"]),
        "claims": int(entry["claims"]),
        "clp04": D(entry["clp04"]),
        "cas": {g: D(v) for g, v in entry["cas"].items()},
        "plb": D(entry["plb"]),
        "svc": int(entry["svc"]),
    }


CLEAN = [  # pyx12 validation_errors == 0: its totals are the truth
    "edi-835-parser/emedny_sample.txt",
    "healthcare-data-insight/835-denial.dat",
    "healthcare-data-insight/835-minimal.dat",
    "healthcare-data-insight/claim_adj_reason.dat",
    "healthcare-data-insight/dollars_data_separate.dat",
    "pyx12/835_mult_loops.txt",
]


@pytest.mark.parametrize("name", CLEAN)
def test_equals_pyx12_where_pyx12_found_no_errors(shared_dir: Path, name: str):
    samples = shared_dir / "samples" / "835"
    entry = json.loads((samples / "pyx12_totals.json").read_text())[name]
    assert entry["validation_errors"] == "0"
    r = parse_835((samples / name).read_bytes(), name)
    assert totals(r) == pyx12_view(entry)


# Files pyx12 complained about, read by hand (sums written out term by term).
HAND = {
    # component separator '>'; CAS*PR*2*5.13**1*110 holds two triples
    "edi-835-parser/united_healthcare_legacy_sample.txt": dict(
        st=1, claims=2, clp04=D("88.92") + D("261.07"), svc=5, plb=D(0),
        cas={
            "CO": D("67.5") + D("79.6") + D("255.72") + D("184.32"),
            "PR": D("105.26") + D("5.13") + D("110"),
        },
    ),
    # claim CAS CO 2000+30000, PR 259; line CO 21+11+12+26+24+25 (CAS*CO*131*24**3*25), OA 27
    "healthcare-data-insight/835-all-fields.dat": dict(
        st=1, claims=1, clp04=D(238), svc=7, plb=D(0),
        cas={"CO": D(32000 + 21 + 11 + 12 + 26 + 24 + 25), "PR": D(259), "OA": D(27)},
    ),
    # 3 ST: two PLB-only transactions; PLB 298.18 − 298.18 twice, then 298.18, then 298.18
    "healthcare-data-insight/835-provider-level-adjustment.dat": dict(
        st=3, claims=1, clp04=D(500), svc=1, plb=D("298.18") * 2, cas={"PR": D(300)},
    ),
    "linuxforhealth/medicare-part-a.835": dict(
        st=1, claims=2, clp04=D("138018.40") + D("11980.33"), svc=0, plb=D("-1.27"),
        cas={"CO": D("73348.57") + D("3019.67")},
    ),
    # SVC01 is a bare "HC" (code missing) but the line is there: one line, OA-23 1579.00
    "linuxforhealth/tertiary-payment.835": dict(
        st=1, claims=1, clp04=D("187.50"), svc=1, plb=D(0), cas={"OA": D("1579.00")},
    ),
    # pyx12 lost the SVC loop ('>' used inside SVC01 although ISA16 is ':'): the line and its
    # CAS*OA*23*516.00 and CAS*OA*94*-9.00 are there (541.00 − 507.00 = 34.00 balances)
    "linuxforhealth/cob-contractural-adjustment.835": dict(
        st=1, claims=1, clp04=D("34.00"), svc=1, plb=D(0), cas={"OA": D("516.00") - D("9.00")},
    ),
    # pyx12 only saw the claim-level OA 9411.64; the two SVC loops add OA 136.50, PR 150+70, CO 85
    "linuxforhealth/secondary-payment.835": dict(
        st=1, claims=2, clp04=D("912.00") + D("310.00"), svc=2, plb=D(0),
        cas={"OA": D("9411.64") + D("136.50"), "PR": D("150.00") + D("70.00"), "CO": D("85.00")},
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_worked_truth_where_pyx12_had_errors(shared_dir: Path, name: str):
    r = parse_835((shared_dir / "samples" / "835" / name).read_bytes(), name)
    assert totals(r) == HAND[name]


def test_secondary_payment_balances_at_every_level(shared_dir: Path):
    name = "linuxforhealth/secondary-payment.835"
    r = parse_835((shared_dir / "samples" / "835" / name).read_bytes(), name)
    assert all(r.claims["is_balanced"].to_pylist())
    assert all(r.service_lines["is_balanced"].to_pylist())
    assert r.payments["is_balanced"].to_pylist() == [True]


# Genuinely broken files: the message must name the real defect (checked by reading the file).
BROKEN = {
    # SE01 says 29 but ST…SE holds 19 segments; the second SE says 12 for 23; IEA02 ≠ ISA13
    "databricks/sample.txt": (43, "SE", "SE01 says '29' segments, the transaction has 19"),
    "databricks/sample_no_cas.txt": (41, "SE", "SE01 says '29' segments, the transaction has 19"),
    # a segment id "PLXX" (not X12), and SE02 '0003' closing ST02 '0001'
    "databricks/no_plb_sample.txt": (47, "PLXX", "not a segment id"),
    "databricks/plb_sample.txt": (48, "SE", "SE02 '0003' does not match ST02 '0001'"),
    # GE01 claims 3 transactions in a group that holds 1
    "databricks/sample_services.txt": (34, "GE", "GE01 says '3' transactions, the group has 1"),
    "healthcare-data-insight/835-validation-issues.edi": (24, "SE", "SE01 says '18' segments"),
    "healthcare-data-insight/negotiated_discount.dat": (74, "SE", "SE01 says '34' segments"),
    "healthcare-data-insight/not_covered_inpatient.dat": (30, "SE", "SE01 says '27' segments"),
    # BPR16 = 20002316: month 23 is not a date
    "linuxforhealth/managed-care.835": (4, "BPR", "BPR16 is not a valid date CCYYMMDD: '20002316'"),
    # no ISA (parsed from ST with detected delimiters), but SVC*HC:59426******742*742 lacks SVC02/03
    "edi-835-parser/blue_cross_nc_sample.txt": (28, "SVC", "SVC02 is missing"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_genuinely_broken_samples_are_rejected_with_the_reason(shared_dir: Path, name: str):
    segment, sid, text = BROKEN[name]
    with pytest.raises(X12ParseError) as info:
        parse_835((shared_dir / "samples" / "835" / name).read_bytes(), name)
    err = info.value
    assert err.source == name
    assert (err.first.segment_number, err.first.segment_id) == (segment, sid)
    assert text in err.first.message


def test_st_only_file_parses_once_its_defects_are_fixed(shared_dir: Path):
    """The ST-only file is accepted as such (delimiters from the ST segment); with its broken SVC made
    a zero line and SE01 corrected to 32 it loads and balances."""
    name = "edi-835-parser/blue_cross_nc_sample.txt"
    data = (shared_dir / "samples" / "835" / name).read_bytes()
    data = data.replace(b"SVC*HC:59426******742*742**1", b"SVC*HC:59426*0*0**1").replace(b"SE*33*", b"SE*32*")
    r = parse_835(data, name)
    assert totals(r) == dict(
        st=1, claims=1, clp04=D("1922.86"), svc=3, plb=D(0),
        cas={"CO": D("34.6"), "PR": D("117.54") + D("25")},
    )  # fmt: skip
    p = r.payments.to_pylist()[0]
    assert p["interchange_control_number"] is None and p["is_balanced"] is True
    assert r.service_lines["original_procedure_code"].to_pylist()[:2] == ["59410", "59410"]
