"""The reference seeds against the third-party snapshots (facts) and the project's own rules (wording).

Ground truth comes from the snapshots in ``../shared/reference-sources`` (codes, statuses, dates,
official wording), from pyx12's list of valid 835 code values, and from the domain primer's crossover
table, all read or written out here independently of the loader.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from pipeline.reference.rules import CarcFacts, group_rule
from pipeline.resources import resource_dir

REF = resource_dir("reference")
SNAP_2026 = "reference-sources/carc_rarc_x12_2026-08-17.csv"
SNAP_2016 = "reference-sources/wpc_carc_rarc_2016-03-07_with_dates.csv"
PYX12 = "reference-sources/x12_835_5010_valid_codes_from_pyx12.csv"

CARC_CATEGORIES = {
    "contractual", "patient_responsibility", "eligibility_coverage", "authorization_referral",
    "coding_billing", "medical_necessity", "timely_filing", "duplicate", "coordination_of_benefits",
    "dental_medical_crossover", "benefit_limit_noncovered", "missing_information", "payer_processing",
    "other",
}  # fmt: skip
RARC_CATEGORIES = {
    "missing_information", "invalid_information", "coding_billing", "coverage_policy", "benefit_limit",
    "authorization_referral", "coordination_of_benefits", "patient_eligibility", "provider_enrollment",
    "pricing_payment", "appeal_rights", "patient_liability", "drug_pharmacy", "dme_supplies", "dental",
    "alert_informational", "other",
}  # fmt: skip
CROSSOVER = {
    "254": ("dental_to_medical", False),
    "270": ("medical_to_dental", False),
    "280": ("medical_to_pharmacy", False),
    "289": ("both_denied", False),
    "290": ("dental_to_medical", True),
    "291": ("medical_to_dental", True),
    "292": ("medical_to_pharmacy", True),
    "168": ("dental_to_medical", False),
}
BOOL = {"true", "false"}


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _snapshot(shared: Path, rel: str, list_name: str) -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in _csv(shared / rel) if r["list"] == list_name}


def _iso(mmddyyyy: str) -> str:
    if not mmddyyyy:
        return ""
    month, day, year = mmddyyyy.split("/")
    return dt.date(int(year), int(month), int(day)).isoformat()


@pytest.fixture(scope="module")
def carc() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in _csv(REF / "carc.csv")}


@pytest.fixture(scope="module")
def rarc() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in _csv(REF / "rarc.csv")}


@pytest.fixture(scope="module")
def guidance() -> list[dict[str, str]]:
    return _csv(REF / "carc_group_guidance.csv")


# --- codes, statuses and dates against the snapshots ------------------------------------------------


@pytest.mark.parametrize("list_name", ["CARC", "RARC"])
def test_codes_and_statuses_equal_2026_snapshot(shared_dir, carc, rarc, list_name):
    ours = carc if list_name == "CARC" else rarc
    snap = _snapshot(shared_dir, SNAP_2026, list_name)
    assert len(ours) == len(snap) == {"CARC": 407, "RARC": 1216}[list_name]
    assert set(ours) == set(snap)
    assert {c: r["status"] for c, r in ours.items()} == {c: r["status"] for c, r in snap.items()}


@pytest.mark.parametrize("list_name", ["CARC", "RARC"])
def test_dates_agree_with_2016_snapshot(shared_dir, carc, rarc, list_name):
    ours = carc if list_name == "CARC" else rarc
    old = _snapshot(shared_dir, SNAP_2016, list_name)
    new = _snapshot(shared_dir, SNAP_2026, list_name)
    for code, row in ours.items():
        o = old.get(code)
        if o is None:  # added after 2016: no known dates, none invented
            assert row["start_date"] == row["last_modified_date"] == row["stop_date"] == "", code
            continue
        assert row["start_date"] == _iso(o["start"]), code
        assert row["last_modified_date"] == _iso(o["last_modified"]), code
        if o["status"] == "deactivated" and new[code]["status"] == "current":
            assert row["stop_date"] == "", f"{code} was reactivated after 2016: its old stop date is void"
        else:
            assert row["stop_date"] == _iso(o["stop"]), code


def test_codes_well_formed_and_unique():
    for name, shape in (("carc.csv", r"^([1-9]\d{0,2}|[A-Z]\d{1,2})$"), ("rarc.csv", r"^(M|MA|N)\d{1,4}$")):
        codes = [r["code"] for r in _csv(REF / name)]
        assert len(codes) == len(set(codes)), name
        bad = [c for c in codes if not re.match(shape, c)]
        assert not bad, (name, bad[:5])


# --- CARC columns ---------------------------------------------------------------------------------


def test_carc_columns_and_allowed_values(carc):
    for code, r in carc.items():
        assert r["summary"].strip(), code
        assert r["category"] in CARC_CATEGORIES, code
        for flag in (
            "is_denial",
            "is_expected_contractual",
            "is_redirect",
            "is_crossover",
            "crossover_forwarded",
        ):
            assert r[flag] in BOOL, (code, flag)
        for col in ("start_date", "last_modified_date", "stop_date"):
            if r[col]:
                dt.date.fromisoformat(r[col])
        assert r["status"] in ("current", "deactivated")
        # a denial on the merits is never also an expected contractual reduction or a redirect
        assert not (r["is_denial"] == "true" and r["is_expected_contractual"] == "true"), code
        assert not (r["is_denial"] == "true" and r["is_redirect"] == "true"), code


def test_typical_rarcs_exist(carc, rarc):
    for code, r in carc.items():
        if r["typical_rarcs"] == "none":  # reviewed: no remark is typical (reference/README.md)
            continue
        for remark in r["typical_rarcs"].split():
            assert remark in rarc, (code, remark)
    assert {"M51", "N290", "MA130"} <= set(carc["16"]["typical_rarcs"].split())


def test_crossover_codes(carc):
    crossover = {c for c, r in carc.items() if r["is_crossover"] == "true"}
    assert crossover == set(CROSSOVER)
    for code, (direction, forwarded) in CROSSOVER.items():
        r = carc[code]
        assert r["crossover_direction"] == direction, code
        assert r["crossover_forwarded"] == str(forwarded).lower(), code
        assert r["category"] == "dental_medical_crossover", code
    assert carc["168"]["status"] == "deactivated"
    assert all(carc[c]["status"] == "current" for c in CROSSOVER if c != "168")
    assert all(r["crossover_direction"] == "" for c, r in carc.items() if c not in CROSSOVER)
    # 289 is a denial by both plans; the others point at another plan
    assert carc["289"]["is_denial"] == "true" and carc["289"]["is_redirect"] == "false"
    assert all(carc[c]["is_redirect"] == "true" for c in CROSSOVER if c != "289")


def test_key_flags(carc):
    for code in ("45", "253", "24", "131"):
        assert carc[code]["is_expected_contractual"] == "true", code
    for code in ("16", "27", "29", "50", "96", "97", "151", "197", "204", "242", "252", "289"):
        assert carc[code]["is_denial"] == "true", code
    for code in ("22", "109"):
        assert carc[code]["is_redirect"] == "true" and carc[code]["is_denial"] == "false", code
    for code in ("1", "2", "3"):
        assert carc[code]["category"] == "patient_responsibility", code


# --- RARC columns ---------------------------------------------------------------------------------


def test_rarc_columns(shared_dir, rarc):
    snap = _snapshot(shared_dir, SNAP_2026, "RARC")
    for code, r in rarc.items():
        assert r["summary"].strip(), code
        assert r["category"] in RARC_CATEGORIES, code
        assert r["is_dental"] in BOOL and r["is_alert"] in BOOL, code
        expected_alert = snap[code]["description"].strip().lower().startswith("alert")
        assert r["is_alert"] == str(expected_alert).lower(), code
    for code in ("N37", "N39", "N75", "N81", "N346", "N477", "N478", "N680", "N849", "N138", "N140"):
        assert rarc[code]["is_dental"] == "true", code
    assert rarc["N590"]["is_dental"] == "false"  # primer: not a dental code
    assert rarc["N10"]["is_dental"] == "false"  # any review (medical, dental, peer): a general remark


# --- own words ------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _runs(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.parametrize("list_name", ["CARC", "RARC"])
def test_summaries_do_not_repeat_official_wording(shared_dir, list_name):
    """No summary shares a run of 8+ words with an official description longer than eight words."""
    rows = _csv(REF / f"{list_name.lower()}.csv")
    official: dict[str, list[str]] = {}
    for rel in (SNAP_2026, SNAP_2016):
        for code, r in _snapshot(shared_dir, rel, list_name).items():
            official.setdefault(code, []).append(r["description"])
    copied = []
    for r in rows:
        ours = _runs(_words(r["summary"]), 8)
        for desc in official[r["code"]]:
            words = _words(desc)
            if len(words) > 8 and ours & _runs(words, 8):
                copied.append(r["code"])
    assert not copied, f"summaries repeating official wording: {copied[:10]}"


def test_wording_check_catches_a_copy(shared_dir):
    """The comparison above is not vacuous: a copied description is caught."""
    desc = _snapshot(shared_dir, SNAP_2026, "CARC")["16"]["description"]
    assert _runs(_words(desc), 8) & _runs(_words("Note: " + desc), 8)


# --- guidance -------------------------------------------------------------------------------------


def test_four_guidance_rows_per_carc(carc, guidance):
    pairs = [(g["reason_code"], g["group_code"]) for g in guidance]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == {(c, g) for c in carc for g in ("CO", "PR", "OA", "PI")}


def test_guidance_allowed_values(guidance):
    for g in guidance:
        key = (g["reason_code"], g["group_code"])
        assert g["who_pays"] in {"provider", "patient", "payer", "other_payer"}, key
        assert g["action"] in {
            "write_off", "bill_patient", "correct_and_resubmit", "appeal", "review_and_decide",
            "submit_to_other_plan", "none",
        }, key  # fmt: skip
        for flag in ("patient_billable", "appealable", "is_provider_absorbed"):
            assert g[flag] in BOOL, key
        assert g["guidance_source"] in {"curated", "group_rule"}, key
        assert g["patient_impact"].strip(), key
        if g["is_provider_absorbed"] == "true":
            assert g["absorbed_category"] in {
                "expected_contractual",
                "denial_writeoff",
                "payer_initiated",
                "other",
            }
            assert g["patient_billable"] == "false", key  # what the provider eats is never billed too
        else:
            assert g["absorbed_category"] == "", key
        if g["group_code"] in ("CO", "PI"):
            assert g["patient_billable"] == "false", key  # primer §2: CO and PI may not be billed


def _g(guidance, code, group):
    return next(g for g in guidance if g["reason_code"] == code and g["group_code"] == group)


def test_guidance_for_key_pairs(guidance):
    co289 = _g(guidance, "289", "CO")
    assert (co289["who_pays"], co289["patient_billable"], co289["appealable"], co289["action"]) == (
        "provider", "false", "true", "review_and_decide",
    )  # fmt: skip
    assert co289["patient_impact"] == "none"
    assert co289["absorbed_category"] == "denial_writeoff"
    for code in ("45", "253", "24"):
        assert _g(guidance, code, "CO")["absorbed_category"] == "expected_contractual", code
    for code, group in (("16", "CO"), ("50", "CO"), ("197", "PI"), ("96", "OA")):
        assert _g(guidance, code, group)["absorbed_category"] == "denial_writeoff", (code, group)
    # redirects and the OA-23 / OA-18 special cases are never denial write-offs
    for code in ("22", "109", "254", "270", "280", "290", "291", "292"):
        for group in ("CO", "OA", "PI"):
            g = _g(guidance, code, group)
            assert g["absorbed_category"] != "denial_writeoff", (code, group)
            assert g["who_pays"] == "other_payer", (code, group)
    for code in ("23", "18"):
        assert _g(guidance, code, "OA")["is_provider_absorbed"] == "false", code
    for code in ("1", "2", "3"):
        pr = _g(guidance, code, "PR")
        assert (pr["who_pays"], pr["patient_billable"], pr["action"]) == ("patient", "true", "bill_patient")


def _curated_list_from_readme() -> list[str]:
    text = (REF / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- curated-carcs -->(.*?)<!-- /curated-carcs -->", text, re.S)
    assert m, "reference/README.md lacks the curated CARC list"
    return re.findall(r"[0-9A-Z]+", m.group(1))


def test_curated_codes_match_readme(carc, guidance):
    listed = _curated_list_from_readme()
    assert len(listed) >= 60
    assert set(CROSSOVER) <= set(listed)
    curated = {g["reason_code"] for g in guidance if g["guidance_source"] == "curated"}
    assert curated == set(listed)
    for code in curated:
        assert all(
            _g(guidance, code, grp)["guidance_source"] == "curated" for grp in ("CO", "PR", "OA", "PI")
        )


def test_group_rule_rows_follow_the_rules(carc, guidance):
    """Every non-curated row is exactly what the documented rule function derives."""
    for g in guidance:
        if g["guidance_source"] != "group_rule":
            continue
        c = carc[g["reason_code"]]
        facts = CarcFacts(
            c["code"], c["category"], c["is_denial"] == "true", c["is_expected_contractual"] == "true",
            c["is_redirect"] == "true", c["is_crossover"] == "true", c["crossover_direction"] or None,
        )  # fmt: skip
        assert group_rule(facts, g["group_code"]).as_csv_row() == g


# --- small code sets against pyx12's valid values ------------------------------------------------


def _valid(shared: Path, element: str) -> set[str]:
    return {
        code for r in _csv(shared / PYX12) if r["element"] == element for code in r["valid_codes"].split()
    }


@pytest.mark.parametrize(
    ("csv_name", "element"),
    [
        ("claim_status_codes.csv", "CLP02"),
        ("claim_filing_indicators.csv", "CLP06"),
        ("plb_reason_codes.csv", "PLB03-01"),
        ("procedure_qualifiers.csv", "SVC01-01"),
    ],
)
def test_code_sets_equal_pyx12(shared_dir, csv_name, element):
    codes = [r["code"] for r in _csv(REF / csv_name)]
    assert len(codes) == len(set(codes))
    assert set(codes) == _valid(shared_dir, element)


def test_group_codes(shared_dir):
    rows = {r["code"]: r for r in _csv(REF / "group_codes.csv")}
    assert {c for c, r in rows.items() if r["valid_in_5010"] == "true"} == _valid(shared_dir, "CAS01")
    assert rows["CR"]["is_legacy"] == "true" and rows["CR"]["valid_in_5010"] == "false"
    assert {c for c, r in rows.items() if r["patient_billable"] == "true"} == {"PR"}


def test_claim_status_flags():
    rows = {r["code"]: r for r in _csv(REF / "claim_status_codes.csv")}
    assert {c for c, r in rows.items() if r["is_denied"] == "true"} == {"4"}
    assert {c for c, r in rows.items() if r["is_reversal"] == "true"} == {"22"}
    assert {c for c, r in rows.items() if r["is_forwarded"] == "true"} == {"19", "20", "21", "23"}
    # primer §7: reversals, pricing-only and not-our-claim are left out of denial-rate denominators
    assert {c for c, r in rows.items() if r["counts_as_remit"] == "false"} == {"22", "23", "25"}
    svc = {r["code"]: r for r in _csv(REF / "procedure_qualifiers.csv")}
    assert {c for c, r in svc.items() if r["is_dental"] == "true"} == {"AD"}
    clp06 = {r["code"]: r for r in _csv(REF / "claim_filing_indicators.csv")}
    assert {c for c, r in clp06.items() if r["is_dental"] == "true"} == {"17"}


def test_plb_sign_meaning():
    rows = {r["code"]: r for r in _csv(REF / "plb_reason_codes.csv")}
    assert rows["WO"]["usual_effect"] == "reduces_payment"
    assert rows["L6"]["usual_effect"] == "increases_payment"
    assert rows["FB"]["usual_effect"] == "either"


# --- curated explanations (related_carcs, common_causes, resolution_steps) -------------------------


def test_curated_explanations(shared_dir, carc):
    listed = set(_curated_list_from_readme())
    official: dict[str, list[str]] = {}
    for rel in (SNAP_2026, SNAP_2016):
        for code, r in _snapshot(shared_dir, rel, "CARC").items():
            official.setdefault(code, []).append(r["description"])
    for code, r in carc.items():
        filled = [r["related_carcs"], r["common_causes"], r["resolution_steps"]]
        if code in listed:
            assert all(f.strip() for f in filled), code
        else:
            assert not any(filled), code
        for other in r["related_carcs"].split():
            assert other in carc and other != code, (code, other)
        for text in filled[1:]:  # own words here too (six-word runs, like the checker)
            for desc in official[code]:
                assert not (_runs(_words(text), 6) & _runs(_words(desc), 6)), code
    steps = carc["289"]["resolution_steps"].lower()
    for phrase in (
        "both plans excluded",
        "provider absorbs",
        "may not bill the patient",
        "contract",
        "procedure or diagnosis coding",
        "appeal each plan",
        "documentation",
        "write off",
    ):
        assert phrase in steps, phrase
