"""The guidance never contradicts itself: ``carc_group_guidance.csv`` against ``carc.csv`` and ``rarc.csv``.

Each test is one rule of reference/README.md ("Consistency rules"), named by its id there (G1 ... X4).
The rules are written out here from the group-code conventions (domain primer §2/§3/§7) and X12's usage
notes, independently of ``pipeline.reference.rules``; every rule has a check below that it can fail.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from pipeline.reference.rules import PAYER_SIDE_REDUCTIONS, X12_GROUPS
from pipeline.resources import resource_dir

REF = resource_dir("reference")
SNAP_2026 = "reference-sources/carc_rarc_x12_2026-08-17.csv"
GROUPS = ("CO", "PR", "OA", "PI")
NONE_MARKER = "none"


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def carc() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in _csv(REF / "carc.csv")}


@pytest.fixture(scope="module")
def rarc() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in _csv(REF / "rarc.csv")}


@pytest.fixture(scope="module")
def guidance() -> list[dict[str, str]]:
    return _csv(REF / "carc_group_guidance.csv")


@pytest.fixture(scope="module")
def by_pair(guidance) -> dict[tuple[str, str], dict[str, str]]:
    return {(g["reason_code"], g["group_code"]): g for g in guidance}


def _t(value: str) -> bool:
    return value == "true"


def _curated(carc) -> set[str]:
    return {c for c, r in carc.items() if r["common_causes"]}


# --- the rules, as functions of one guidance row (and its CARC) so that each can be shown to fail ------


def violations(g: dict[str, str], c: dict[str, str]) -> list[str]:
    """The rule ids a guidance row ``g`` breaks, given its CARC row ``c``."""
    out = []
    group, who, action = g["group_code"], g["who_pays"], g["action"]
    billable, appeal, absorbed = _t(g["patient_billable"]), _t(g["appealable"]), _t(g["is_provider_absorbed"])
    impact = g["patient_impact"]
    denial, redirect = _t(c["is_denial"]), _t(c["is_redirect"])
    # G1: CO and PI amounts are never the patient's; OA only for payments the patient received (100)
    if billable and (group in ("CO", "PI") or (group == "OA" and c["code"] != "100")):
        out.append("G1")
    # G2: only the patient (or, failing it, another plan's decision) makes an amount billable
    if billable and who not in ("patient", "other_payer"):
        out.append("G2")
    # G3: "who pays: patient" with "bill the patient: no" only when the patient already paid (action none)
    if who == "patient" and not billable and action != "none":
        out.append("G3")
    # G4: bill_patient exactly when the patient pays and may be billed
    if (action == "bill_patient") != (billable and who == "patient"):
        out.append("G4")
    # G5: billable because another plan may not pay: wait for it or send it there first, and say so
    if (
        billable
        and who == "other_payer"
        and (action not in ("submit_to_other_plan", "none") or "if the other plan does not pay" not in impact)
    ):
        out.append("G5")
    # G6: the provider absorbs exactly the rows where it pays, and then a split category is named
    if absorbed != (who == "provider") or absorbed != bool(g["absorbed_category"]):
        out.append("G6")
    # G7: a write-off is final for the patient: no "until ..." and no owing
    if absorbed and (not impact.startswith(("none", "not billable")) or "until" in impact):
        out.append("G7")
    # G8: each absorbed split has its own preconditions
    cat = g["absorbed_category"]
    if cat == "expected_contractual" and not (
        group == "CO" and _t(c["is_expected_contractual"]) and action == "write_off"
    ):
        out.append("G8")
    if cat == "denial_writeoff" and not (denial and group != "PR"):
        out.append("G8")
    if cat == "payer_initiated" and group != "PI":
        out.append("G8")
    # G9: appeal is appealable; write_off and none are not
    if (action == "appeal" and not appeal) or (action in ("write_off", "none") and appeal):
        out.append("G9")
    # G10: only a redirect sends the amount to another plan
    if action == "submit_to_other_plan" and not (redirect and who == "other_payer"):
        out.append("G10")
    # G11: a redirect outside PR is the other plan's money: never absorbed, never billable
    if redirect and group != "PR" and (who != "other_payer" or absorbed or billable):
        out.append("G11")
    if _t(c["crossover_forwarded"]) and action != "none":  # the payer sent it on: wait for the other plan
        out.append("G11")
    # G12: "another payer pays" only for redirects, coordination-of-benefits codes and OA cost sharing
    if (
        who == "other_payer"
        and not redirect
        and c["category"] != "coordination_of_benefits"
        and not (group == "OA" and c["category"] == "patient_responsibility")
    ):
        out.append("G12")
    # G13: a code X12 keeps off PR, or a payer-side reduction, is never billed to the patient
    allowed = X12_GROUPS.get(c["code"])
    never_patient = (allowed is not None and "PR" not in allowed) or c["code"] in PAYER_SIDE_REDUCTIONS
    if never_patient and (billable or action == "bill_patient"):
        out.append("G13")
    # G14: PR on a non-denial is not appealable (the patient owes cost sharing; there is nothing to argue)
    if group == "PR" and not denial and appeal:
        out.append("G14")
    # G15: PR cost sharing is the patient's: bill it
    if (
        group == "PR"
        and c["category"] == "patient_responsibility"
        and not never_patient
        and action != "bill_patient"
    ):
        out.append("G15")
    # G16: a denial outside PR never lands on the patient; it is appealable unless settled elsewhere
    if denial and group != "PR" and (who == "patient" or billable):
        out.append("G16")
    # G17: the patient-impact phrase says what the flag says: billable rows tell what the patient owes,
    # rows that may not be billed never claim the patient owes it
    owes = "owe" in impact
    if billable != owes:
        out.append("G17")
    return out


def _carc_row(**kw: str) -> dict[str, str]:
    base = {
        "code": "999",
        "category": "coding_billing",
        "is_denial": "true",
        "is_expected_contractual": "false",
        "is_redirect": "false",
        "crossover_forwarded": "false",
    }
    return base | kw


def _g_row(**kw: str) -> dict[str, str]:
    base = {
        "reason_code": "999",
        "group_code": "CO",
        "who_pays": "provider",
        "patient_billable": "false",
        "appealable": "true",
        "action": "correct_and_resubmit",
        "patient_impact": "none; may not be billed",
        "is_provider_absorbed": "true",
        "absorbed_category": "denial_writeoff",
    }
    return base | kw


def test_rules_accept_a_plain_denial():
    assert violations(_g_row(), _carc_row()) == []


@pytest.mark.parametrize(
    ("g", "c", "rule"),
    [
        # the known contradictions of issue 17, each rebuilt as it was
        (dict(group_code="PR", who_pays="patient", patient_billable="true", appealable="false",
              action="bill_patient", patient_impact="patient owes what the prior payer left to them",
              is_provider_absorbed="false", absorbed_category=""),
         dict(code="23", category="coordination_of_benefits", is_denial="false"), "G13"),
        (dict(group_code="OA", who_pays="patient", appealable="false", action="review_and_decide",
              patient_impact="cost share reported", is_provider_absorbed="false", absorbed_category=""),
         dict(code="1", category="patient_responsibility", is_denial="false"), "G3"),
        (dict(group_code="PR", who_pays="patient", patient_billable="true", appealable="false",
              action="bill_patient", patient_impact="patient owes this amount", is_provider_absorbed="false",
              absorbed_category=""),
         dict(code="253", category="contractual", is_denial="false", is_expected_contractual="true"), "G13"),
        (dict(group_code="OA", action="review_and_decide",
              patient_impact="none until responsibility is confirmed with the payer"),
         dict(code="289", category="dental_medical_crossover"), "G7"),
        # the other rules
        (dict(patient_billable="true"), {}, "G1"),
        (dict(group_code="PR", patient_billable="true", action="bill_patient", who_pays="payer",
              is_provider_absorbed="false", absorbed_category=""), {}, "G2"),
        (dict(group_code="PR", who_pays="patient", patient_billable="true", is_provider_absorbed="false",
              absorbed_category=""), {}, "G4"),
        (dict(group_code="PR", who_pays="other_payer", patient_billable="true", action="submit_to_other_plan",
              appealable="false", patient_impact="patient owes it", is_provider_absorbed="false",
              absorbed_category=""), dict(is_denial="false", is_redirect="true"), "G5"),
        (dict(is_provider_absorbed="false"), {}, "G6"),
        (dict(absorbed_category="expected_contractual", action="write_off", appealable="false",
              group_code="OA"), dict(is_denial="false", is_expected_contractual="true"), "G8"),
        (dict(absorbed_category="payer_initiated"), {}, "G8"),
        (dict(action="appeal", appealable="false"), {}, "G9"),
        (dict(action="write_off"), {}, "G9"),
        (dict(action="submit_to_other_plan", appealable="false"), {}, "G10"),
        (dict(appealable="false", action="review_and_decide"), dict(is_denial="false", is_redirect="true"),
         "G11"),
        (dict(who_pays="other_payer", is_provider_absorbed="false", absorbed_category="",
              action="submit_to_other_plan", appealable="false"),
         dict(crossover_forwarded="true", is_redirect="true", is_denial="false"), "G11"),
        (dict(who_pays="other_payer", is_provider_absorbed="false", absorbed_category="",
              action="review_and_decide"), {}, "G12"),
        (dict(group_code="PR", who_pays="patient", patient_billable="true", action="bill_patient",
              appealable="true", patient_impact="patient owes this amount", is_provider_absorbed="false",
              absorbed_category=""), dict(is_denial="false", category="patient_responsibility"), "G14"),
        (dict(group_code="PR", who_pays="provider", patient_billable="false", appealable="false",
              action="review_and_decide", absorbed_category="other"),
         dict(is_denial="false", category="patient_responsibility"), "G15"),
        (dict(who_pays="patient", action="none", appealable="false", is_provider_absorbed="false",
              absorbed_category=""), {}, "G16"),
        (dict(patient_impact="patient owes this amount"), {}, "G17"),
    ],
)  # fmt: skip
def test_each_rule_catches_its_contradiction(g, c, rule):
    assert rule in violations(_g_row(**g), _carc_row(**c))


def test_every_guidance_row_keeps_the_rules(carc, guidance):
    broken = [
        (g["reason_code"], g["group_code"], rule)
        for g in guidance
        for rule in violations(g, carc[g["reason_code"]])
    ]
    assert not broken, f"{len(broken)} rule breaks, e.g. {broken[:12]}"


def test_known_contradictions_are_gone(by_pair):
    """The seven contradictions issue 17 found, each checked on the row it was found on."""
    pr23 = by_pair[("23", "PR")]
    assert (pr23["patient_billable"], pr23["action"]) == ("false", "none")
    for code in ("1", "2", "3"):
        oa = by_pair[(code, "OA")]
        assert not (oa["who_pays"] == "patient" and oa["patient_billable"] == "false"), code
    pr253 = by_pair[("253", "PR")]
    assert (pr253["patient_billable"], pr253["action"]) != ("true", "bill_patient")
    assert "until" not in by_pair[("289", "OA")]["patient_impact"]
    assert by_pair[("16", "CO")]["appealable"] == "false"  # its steps say "do not appeal" (MA130: none)


# --- X12's group restrictions -----------------------------------------------------------------------


def _groups_in(text: str) -> tuple[str, ...] | None:
    m = re.search(r"use (?:only )?(?:with )?group codes? ([A-Z]{2})(?:,? (?:or|and) ([A-Z]{2}))?", text, re.I)
    return tuple(g.upper() for g in m.groups() if g) if m else None


def test_x12_group_restrictions_match_the_snapshot(shared_dir):
    """X3: the restriction table in rules.py holds every "use only with group ..." note and nothing else."""
    found = {}
    for r in _csv(shared_dir / SNAP_2026):
        if r["list"] == "CARC" and (groups := _groups_in(r["description"])):
            found[r["code"]] = groups
    # 18's note allows CO only where state workers' compensation rules require it: kept as ("OA", "CO")
    assert found.pop("18") == ("OA",)
    expected = dict(X12_GROUPS)
    assert expected.pop("18") == ("OA", "CO")
    assert {k: set(v) for k, v in found.items()} == {k: set(v) for k, v in expected.items()}


def test_summaries_agree_with_the_group_restrictions(carc):
    """X4: a summary that says "(XX only)" names the one group X12 allows."""
    for code, r in carc.items():
        m = re.search(r"\((CO|PR|OA|PI) only\)", r["summary"])
        if m:
            assert X12_GROUPS.get(code) in ((m.group(1),), (m.group(1), "CO")), code


# --- CARC flags -------------------------------------------------------------------------------------


def test_flag_rules(carc):
    """F1-F4: the CARC flags agree with each other and with the category."""
    for code, r in carc.items():
        crossover = _t(r["is_crossover"])
        # F1 crossover: flag, category and direction go together; forwarded only for crossover redirects
        assert crossover == (r["category"] == "dental_medical_crossover") == bool(r["crossover_direction"]), (
            code
        )
        if _t(r["crossover_forwarded"]):
            assert crossover and _t(r["is_redirect"]), code
        if crossover:
            assert _t(r["is_denial"]) == (r["crossover_direction"] == "both_denied"), code
            assert _t(r["is_redirect"]) != _t(r["is_denial"]), code
        # F2 expected contractual and patient cost sharing are neither denials nor redirects
        if _t(r["is_expected_contractual"]) or r["category"] == "patient_responsibility":
            assert not _t(r["is_denial"]) and not _t(r["is_redirect"]), code
        # F3 a redirect is about another plan: coordination of benefits or crossover
        if _t(r["is_redirect"]):
            assert r["category"] in ("coordination_of_benefits", "dental_medical_crossover"), code
        # F4 a deactivated code says so; a code with a stop date is deactivated
        if r["status"] == "deactivated":
            assert "deactivated" in r["summary"].lower(), code
        if r["stop_date"]:
            assert r["status"] == "deactivated", code


def test_crossover_pairs(carc):
    """F5: each forwarded crossover code and its bill-it-yourself twin name each other, share a direction,
    and the summary names the plan the claim moves to."""
    target = {
        "dental_to_medical": "medical",
        "medical_to_dental": "dental",
        "medical_to_pharmacy": "pharmacy",
    }
    for own, forwarded in (("254", "290"), ("270", "291"), ("280", "292")):
        a, b = carc[own], carc[forwarded]
        assert forwarded in a["related_carcs"].split() and own in b["related_carcs"].split()
        assert a["crossover_direction"] == b["crossover_direction"]
        assert (a["crossover_forwarded"], b["crossover_forwarded"]) == ("false", "true")
        for r in (a, b):
            assert target[r["crossover_direction"]] in r["summary"].lower()


# --- curated text against the guidance ----------------------------------------------------------------

_BILL_PATIENT = re.compile(
    r"\b(?:bill(?:ing)? the patient|bill patient|collect\b[^.;]*\bfrom the patient)(?!'s)"
)
_QUALIFIED = re.compile(r"\b(?:PR|CO|OA|PI|waiver|advance notice|group)\b")
_NO_BILLING = re.compile(r"no patient billing|do not bill the patient|may not bill the patient")
_ACTION_WORDS = {
    "appeal": ("appeal",),
    "correct_and_resubmit": ("resubmit", "corrected claim", "reprocess", "rebill", "resend"),
    "write_off": ("write off",),
    "submit_to_other_plan": ("bill", "submit"),
    "none": ("no action", "wait", "do not rebill", "post "),
}


def _clauses(text: str) -> list[str]:
    return [c for c in re.split(r"[.;]", text) if c.strip()]


def text_violations(c: dict[str, str], rows: dict[str, dict[str, str]]) -> list[str]:
    """The text rules (T1-T4) a curated CARC's resolution steps break against its four guidance rows."""
    out = []
    steps = c["resolution_steps"]
    low = steps.lower()
    # T1: steps that say "do not appeal" leave no group appealable
    if "do not appeal" in low and any(_t(g["appealable"]) for g in rows.values()):
        out.append("T1")
    # T2: steps that forbid patient billing without naming a group leave no group billable
    any_billable = any(_t(g["patient_billable"]) for g in rows.values())
    for clause in _clauses(steps):
        named = re.search(r"\b(?:CO|PI|OA)\b", clause)
        if _NO_BILLING.search(clause.lower()) and not named and any_billable:
            out.append("T2")
    # T3: "bill the patient" is always qualified (PR, a waiver or notice, the group), since CO never allows it
    for clause in _clauses(steps):
        if _BILL_PATIENT.search(clause.lower()) and not _QUALIFIED.search(clause):
            out.append("T3")
    # T4: the steps name the CO row's action
    words = _ACTION_WORDS.get(rows["CO"]["action"], ())
    if words and not any(w in low for w in words):
        out.append("T4")
    return out


def test_text_rules_catch_the_known_cases():
    co = _g_row(appealable="true")
    rows = {grp: co for grp in GROUPS}
    # CO-16 as it was: appealable while its steps said "do not appeal"
    assert "T1" in text_violations(
        {"resolution_steps": "Fix it and send a corrected claim; do not appeal."}, rows
    )
    # CO-27 as it was: "or bill the patient" with no group named
    assert "T3" in text_violations(
        {"resolution_steps": "Verify eligibility, find the coverage and bill it, or bill the patient."},
        rows,
    )
    pr = _g_row(group_code="PR", patient_billable="true")
    assert "T2" in text_violations({"resolution_steps": "Write off; no patient billing."}, rows | {"PR": pr})
    assert "T4" in text_violations({"resolution_steps": "Appeal with records."}, rows)
    assert text_violations({"resolution_steps": "Bill the patient's medical plan; resubmit."}, rows) == []


def test_curated_steps_agree_with_the_guidance(carc, by_pair):
    broken = {}
    for code in sorted(_curated(carc)):
        rows = {grp: by_pair[(code, grp)] for grp in GROUPS}
        if bad := text_violations(carc[code], rows):
            broken[code] = bad
    assert not broken, broken


def test_carc_4_keeps_to_the_current_wording(carc):
    """X12 narrowed 4 to a modifier that does not fit the code: a missing modifier is no longer 4."""
    r = carc["4"]
    text = " ".join((r["summary"], r["common_causes"])).lower()
    assert not re.search(r"missing|absent|required|needed|lacks", text), text
    assert "N822" not in r["typical_rarcs"].split()  # N822 is the missing-modifier remark


# --- typical RARCs ----------------------------------------------------------------------------------

# Which RARC categories can plausibly explain a CARC of each category (R3).
_PLAUSIBLE = {
    "coding_billing": {"coding_billing", "invalid_information", "missing_information", "drug_pharmacy",
                       "dme_supplies", "dental", "benefit_limit", "provider_enrollment"},
    "missing_information": {"missing_information", "invalid_information", "coding_billing",
                            "coordination_of_benefits", "provider_enrollment", "patient_eligibility",
                            "authorization_referral"},
    "eligibility_coverage": {"patient_eligibility", "invalid_information", "coverage_policy"},
    "authorization_referral": {"authorization_referral", "provider_enrollment", "invalid_information"},
    "medical_necessity": {"coverage_policy", "benefit_limit", "missing_information", "coding_billing"},
    "benefit_limit_noncovered": {"coverage_policy", "benefit_limit"},
    "coordination_of_benefits": {"coordination_of_benefits", "invalid_information"},
    "duplicate": {"coordination_of_benefits", "coding_billing", "benefit_limit"},
    "contractual": {"pricing_payment", "alert_informational", "drug_pharmacy"},
    "payer_processing": {"coordination_of_benefits", "pricing_payment", "alert_informational"},
    "timely_filing": {"appeal_rights", "alert_informational", "missing_information"},
    "dental_medical_crossover": {"coordination_of_benefits", "dental", "coverage_policy"},
    "patient_responsibility": {"patient_liability", "alert_informational"},
    "other": {"coverage_policy", "coding_billing", "missing_information", "invalid_information",
              "alert_informational"},
}  # fmt: skip


def test_typical_rarcs(carc, rarc):
    """R1-R3: every curated CARC lists typical RARCs or says ``none``; listed RARCs exist, are current and
    plausible for the CARC's category."""
    curated = _curated(carc)
    assert len(curated) == 78
    for code, r in carc.items():
        value = r["typical_rarcs"]
        if code in curated:
            assert value, f"{code}: curated CARC without typical_rarcs or the 'none' marker"
        if value == NONE_MARKER:
            continue
        for remark in value.split():
            assert remark != NONE_MARKER, f"{code}: 'none' mixed with codes"
            assert remark in rarc, (code, remark)
            assert rarc[remark]["status"] == "current", (code, remark)
            assert rarc[remark]["category"] in _PLAUSIBLE[r["category"]], (
                code,
                remark,
                rarc[remark]["category"],
            )
    assert carc["254"]["typical_rarcs"] == NONE_MARKER  # no RARC says "forwarded" (primer §6)


def test_dental_flag_only_for_dental_remarks(rarc):
    """R4: a remark flagged dental is about dental care only; one that also names medical review is not."""
    for code, r in rarc.items():
        if _t(r["is_dental"]):
            assert "medical" not in r["summary"].lower(), code
    assert rarc["N10"]["is_dental"] == "false"


def test_fallback_rows_see_the_redirect_flag():
    """The loader's fallback for a CARC without guidance rows passes ``is_redirect`` (it once passed
    ``is_crossover`` in its place, so a redirect got denial-style rows)."""
    from pipeline.reference.loader import _fill_missing_guidance

    carcs = [
        {
            "code": "X9",
            "category": "coordination_of_benefits",
            "is_denial": False,
            "is_expected_contractual": False,
            "is_redirect": True,
            "is_crossover": False,
            "crossover_direction": None,
        }
    ]
    rows: list[dict] = []
    _fill_missing_guidance(carcs, rows)
    co = next(r for r in rows if r["group_code"] == "CO")
    assert (co["who_pays"], co["action"], co["is_provider_absorbed"]) == (
        "other_payer",
        "submit_to_other_plan",
        False,
    )


def test_none_marker_is_no_remark():
    """``none`` in typical_rarcs means "reviewed, no typical remark": readers see no remark called none."""
    import duckdb

    from pipeline.handbook.codes import Reference
    from pipeline.reference import load_reference, typical_rarc_codes

    assert typical_rarc_codes("none") == [] and typical_rarc_codes(None) == []
    assert typical_rarc_codes("M51 N290") == ["M51", "N290"]
    con = duckdb.connect()
    load_reference(con)
    assert con.execute("SELECT typical_rarcs FROM ref.carc WHERE code = '254'").fetchone() == ("none",)
    ref = Reference(con)
    assert "none" not in ref.carcs_by_rarc
    assert "16" in ref.carcs_by_rarc["MA130"]
