"""reference/carc_playbook.csv: the denial playbook per CARC (causes, steps, appeal guide, RARC pairings).

Ground truth: the section rules of reference/README.md, restated here by hand; the code statuses of
reference/carc.csv and reference/rarc.csv; the official descriptions in ``../shared/reference-sources``
(for the own-words rule); and a pairing table checked by hand against each RARC's meaning.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from pipeline.reference import load_reference
from pipeline.reference.loader import SeedError, read_seed
from pipeline.reference.tables import REFERENCE_TABLES
from pipeline.resources import resource_dir

REF = resource_dir("reference")
SNAPSHOTS = (
    "reference-sources/carc_rarc_x12_2026-08-17.csv",
    "reference-sources/wpc_carc_rarc_2016-03-07_with_dates.csv",
)
HEADER = ["code", "section", "rank", "frequency", "rarc", "text"]
# section -> (fewest, most) rows per code
COUNTS = {
    "tldr": (1, 1),
    "cause": (3, 5),
    "step": (4, 7),
    "appeal": (2, 5),
    "pairing": (2, 4),
    "example": (1, 3),
    "patient_impact": (1, 1),
}
FREQUENCY_ORDER = {"most common": 0, "common": 1, "occasional": 2}
# The dental-medical(-pharmacy) crossover codes that are current (primer section 6; 168 is deactivated)
CROSSOVER = {"254", "270", "280", "289", "290", "291", "292"}


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return _csv(REF / "carc_playbook.csv")


@pytest.fixture(scope="module")
def by_code(rows) -> dict[str, dict[str, list[dict[str, str]]]]:
    out: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        out[r["code"]][r["section"]].append(r)
    return out


@pytest.fixture(scope="module")
def carc() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in _csv(REF / "carc.csv")}


@pytest.fixture(scope="module")
def rarc() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in _csv(REF / "rarc.csv")}


def _listed_in_readme() -> list[str]:
    text = (REF / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- playbook-carcs -->(.*?)<!-- /playbook-carcs -->", text, re.S)
    assert block, "reference/README.md lacks the playbook-carcs list"
    return block.group(1).split()


# --- schema and section rules -----------------------------------------------------------------------


def test_header_and_loader_validation(rows):
    with (REF / "carc_playbook.csv").open(encoding="utf-8") as fh:
        assert fh.readline().rstrip("\n").split(",") == HEADER
    spec = REFERENCE_TABLES["carc_playbook"]
    typed = read_seed(spec)  # raises on bad section or frequency words, empty text, duplicate keys
    assert len(typed) == len(rows)


def test_loader_rejects_unknown_frequency_word(tmp_path):
    spec = REFERENCE_TABLES["carc_playbook"]
    (tmp_path / spec.csv).write_text(
        ",".join(HEADER) + "\n16,cause,1,very common,,Wrong frequency word.\n", encoding="utf-8"
    )
    with pytest.raises(SeedError, match="frequency='very common'"):
        read_seed(spec, tmp_path)


def test_sections_have_the_documented_counts(by_code):
    for code, sections in by_code.items():
        assert set(sections) <= set(COUNTS), code
        for section, (low, high) in COUNTS.items():
            n = len(sections.get(section, []))
            assert low <= n <= high, f"{code} {section}: {n} rows, expected {low}-{high}"


def test_ranks_run_from_one_in_file_order(by_code):
    for code, sections in by_code.items():
        for section, items in sections.items():
            assert [int(r["rank"]) for r in items] == list(range(1, len(items) + 1)), (code, section)


def test_frequency_only_on_causes_and_most_common_first(by_code):
    for code, sections in by_code.items():
        for section, items in sections.items():
            for r in items:
                assert bool(r["frequency"]) == (section == "cause"), (code, section, r["rank"])
                assert bool(r["rarc"]) == (section == "pairing"), (code, section, r["rank"])
        causes = [FREQUENCY_ORDER[r["frequency"]] for r in sections["cause"]]
        assert causes[0] == 0, f"{code}: the first cause is not 'most common'"
        assert causes == sorted(causes), f"{code}: causes not ordered most common -> occasional"


def test_texts_are_single_clean_sentences(rows):
    for r in rows:
        text = r["text"]
        assert text == text.strip() and "  " not in text and "\n" not in text, r
        assert text[0].isupper() or text[0].isdigit() or text[0] in "(", r
        assert text.endswith((".", ")")) and 20 <= len(text) <= 320, r


def test_no_text_repeated_within_a_code(by_code):
    for code, sections in by_code.items():
        texts = [r["text"] for items in sections.values() for r in items]
        assert len(texts) == len(set(texts)), code


# --- codes ---------------------------------------------------------------------------------------------


def test_every_code_is_a_current_carc(by_code, carc):
    for code in by_code:
        assert code in carc, f"{code} is not in carc.csv"
        assert carc[code]["status"] == "current", f"{code} is deactivated in carc.csv"


def test_every_crossover_code_is_covered(by_code, carc):
    assert set(by_code) >= CROSSOVER
    # and carc.csv agrees on which current codes are crossover codes
    current = {c for c, r in carc.items() if r["status"] == "current"}
    assert {c for c in current if carc[c]["is_crossover"] == "true"} == CROSSOVER


def test_readme_list_matches_the_csv(by_code):
    listed = _listed_in_readme()
    assert len(listed) == len(set(listed))
    assert set(listed) == set(by_code)


def test_code_list_is_the_documented_union(by_code, carc):
    """README: crossover codes + the generator's denial/redirect codes + the curated denial/redirect codes
    + the named worklist codes (+ 59); nothing else, nothing missing."""
    from pipeline.synth import model

    text = (REF / "README.md").read_text(encoding="utf-8")
    curated = re.search(r"<!-- curated-carcs -->(.*?)<!-- /curated-carcs -->", text, re.S)
    assert curated
    curated_denials = {
        c
        for c in curated.group(1).split()
        if carc[c]["status"] == "current" and "true" in (carc[c]["is_denial"], carc[c]["is_redirect"])
    }
    synth = (
        {c for c, *_ in model.MEDICAL_DENIALS}
        | {c for c, *_ in model.DENTAL_DENIALS}
        | set(model.REDIRECT_CARCS)
        | set(model.DENIAL_CARCS)
    )
    worklist = {
        "32", "177", "200", "183", "184", "243", "284", "288", "40", "114", "152", "B12", "6", "8", "54",
        "110", "208", "49", "19", "B11", "B13",
    }  # fmt: skip
    assert set(by_code) == CROSSOVER | synth | curated_denials | worklist | {"59"}
    assert len(by_code) >= 60
    for deactivated in ("15", "138", "168", "125"):
        assert deactivated not in by_code


# --- RARC pairings ------------------------------------------------------------------------------------


def test_every_pairing_rarc_is_current(by_code, rarc):
    for code, sections in by_code.items():
        paired = [r["rarc"] for r in sections["pairing"]]
        assert len(paired) == len(set(paired)), code
        for p in paired:
            assert p in rarc, f"{code}: RARC {p} is not in rarc.csv"
            assert rarc[p]["status"] == "current", f"{code}: RARC {p} is deactivated"


# The pairing ledger: every RARC the playbook pairs, with the CARCs it pairs with, reviewed by hand against
# the RARC's meaning (quoted from rarc.csv above each entry). A new pairing fails the test until it is
# reviewed and added here; a removed one fails until it is removed here.
REVIEWED_PAIRINGS = {
    # M15: Services billed separately were combined because they are parts of one procedure; no separate
    #   payment.
    "M15": "97 234",
    # M20: The HCPCS code is absent, incomplete or not valid.
    "M20": "181 199",
    # M25: Documentation does not support the level billed; request review within 120 days, or patient
    #   overpayments will be refunded and recovered from you.
    "M25": "150",
    # M26: Documentation does not justify the level billed; refund any excess collected from the patient
    #   within 30 days or risk penalties.
    "M26": "150",
    # M50: One or more revenue codes are missing, incomplete or invalid.
    "M50": "199",
    # M51: One or more procedure codes are missing, incomplete or invalid.
    "M51": "16 181",
    # M52: The service start date is missing, incomplete or invalid.
    "M52": "110",
    # M59: The service end date is missing, incomplete or invalid.
    "M59": "110",
    # M62: The treatment authorization code is missing, incomplete or invalid.
    "M62": "197 284",
    # M76: The diagnosis or condition is missing, incomplete or invalid.
    "M76": "11 146",
    # M77: The place of service is missing, invalid or inappropriate for this service.
    "M77": "5 58",
    # M80: Not covered when done in the same session or on the same date as a service already processed
    #   for this patient.
    "M80": "97 236",
    # M81: Codes must be reported at the most specific level available.
    "M81": "146",
    # M86: Denied because the same or a similar procedure was already paid within the allowed time window.
    "M86": "151",
    # M102: Not paid because the equipment used is not FDA-approved for this purpose.
    "M102": "114",
    # M127: The patient's medical record for this service was not sent.
    "M127": "252 226 B12",
    # MA04: Secondary payment needs the primary payer's identity or payment details, which were missing or
    #   unreadable.
    "MA04": "22",
    # MA30: The type of bill is missing, incomplete or invalid.
    "MA30": "5",
    # MA36: The patient's name is missing, incomplete or invalid.
    "MA36": "31 140",
    # MA50: The Investigational Device Exemption or clinical trial number is missing or invalid.
    "MA50": "55",
    # MA63: The principal diagnosis is missing, incomplete or invalid.
    "MA63": "146",
    # MA92: Plan details for the patient's other insurance were not provided.
    "MA92": "22",
    # MA94: The claim lacked the statement certifying that the attending physician is not employed by the
    #   hospice.
    "MA94": "B9",
    # MA120: The CLIA certificate number is missing, incomplete or invalid.
    "MA120": "B7",
    # MA128: The FDA approval number is missing, incomplete or invalid.
    "MA128": "114",
    # MA130: Claim is unprocessable due to incomplete or invalid data, so no appeal applies; send a new
    #   corrected claim.
    "MA130": "16",
    # N1: Informational: you may file a written appeal within the applicable time limits per your contract
    #   or plan; see the payer's website for its process.
    "N1": "29",
    # N4: The prior insurer's EOB is missing, incomplete or invalid.
    "N4": "22 129",
    # N10: Adjusted based on findings from a review organization, consultant, medical or dental advisor,
    #   or peer review.
    "N10": "289 39 152 A1",
    # N19: This procedure is incidental to the primary procedure and not paid separately.
    "N19": "97 234 236",
    # N20: Not payable together with another service given on the same date.
    "N20": "97 234 236",
    # N30: The patient is not eligible to receive this service.
    "N30": "27 26 32 177 200",
    # N52: Patient did not belong to the managed care plan of the billing provider on the service date.
    "N52": "27 242 26",
    # N54: Claim details do not match the services that were authorized or precertified.
    "N54": "197 198 284",
    # N56: The procedure code is wrong or invalid for the services or service date billed.
    "N56": "181",
    # N92: This facility does not hold certification to perform digital mammography.
    "N92": "B7",
    # N94: Denied: the taxonomy code reported is too general to adjudicate; send a more detailed one.
    "N94": "8",
    # N95: This provider type or specialty is not allowed to bill for this service.
    "N95": "185 8 170 171",
    # N104: Not payable in this contractor's jurisdiction; use the CMS website to find the correct
    #   Medicare contractor.
    "N104": "109",
    # N111: Only duplicate-claim issues can be appealed; this service was already billed and decided on an
    #   earlier claim.
    "N111": "18 B13",
    # N115: This decision relied on an LCD (Local Coverage Determination); get the policy from the CMS
    #   coverage website or the contractor.
    "N115": "50 11 56 167",
    # N117: This service is payable only once per patient lifetime.
    "N117": "149",
    # N122: An add-on code is not billable without its primary code.
    "N122": "B15",
    # N129: The patient does not qualify because of age.
    "N129": "177 6",
    # N130: Check the plan benefit documents for restrictions that apply to this service.
    "N130": "254 270 280 289 290 291 96 204 242 119 149 256 B9 54 A1",
    # N149: Rebill all related services together on one claim.
    "N149": "107",
    # N161: This item is covered only if the related service is covered.
    "N161": "107",
    # N163: The medical record does not support the code billed under its definition.
    "N163": "150 B16",
    # N173: The claim lacks dates of a qualifying hospital stay for this care episode.
    "N173": "B15",
    # N179: More information was requested from the member; charges will be reconsidered once received.
    "N179": "227",
    # N204: Under review for a possible pre-existing condition; send the prior 12 months of medical
    #   records.
    "N204": "51",
    # N211: Informational: there is no right to appeal this decision.
    "N211": "29",
    # N216: This type of service is not offered, or the patient lacks enrollment in that part of the
    #   benefit package.
    "N216": "254 270 280 290 291 292 96 204",
    # N265: The ordering provider's primary ID on the claim is missing, incomplete or invalid.
    "N265": "184",
    # N286: The referring provider's primary ID on the claim is missing, incomplete or invalid.
    "N286": "183 243",
    # N288: The rendering provider's taxonomy code on the claim is missing, incomplete or invalid.
    "N288": "8",
    # N290: The rendering provider's primary ID on the claim is missing, incomplete or invalid.
    "N290": "16 185 208",
    # N347: A referred or purchased service was already paid to a different provider by the payer's
    #   contractor, so this claim is denied.
    "N347": "B20",
    # N350: A not-otherwise-classified or unlisted code was billed without an adequate description of what
    #   was done; add the description.
    "N350": "189",
    # N351: The service date falls outside the dates covered by the approved treatment plan.
    "N351": "198 284",
    # N362: The days or units billed are more than the payer's allowed maximum.
    "N362": "151 119 152 222",
    # N366: Requested information was never received; the claim can be reopened if it arrives within a
    #   year of this denial.
    "N366": "226",
    # N368: Do not resubmit; the earlier decision on this claim must be challenged through an appeal.
    "N368": "18",
    # N375: The questionnaire or details needed to confirm the dependent's eligibility are absent or not
    #   valid.
    "N375": "32 227",
    # N381: Informational: check your contract with the payer for limits, billing and payment terms for
    #   these charges.
    "N381": "256 222",
    # N382: The patient's identifier is absent or not valid; verify it and resubmit.
    "N382": "16 31 140",
    # N385: The payer was not told of the admission within the time the plan requires.
    "N385": "197",
    # N386: Decided under a Medicare National Coverage Determination; the policy is available in the CMS
    #   Medicare Coverage Database.
    "N386": "50 55 56 167",
    # N391: Emergency department records were not received; send them to support the claim.
    "N391": "40",
    # N418: The claim went to the wrong payer or address; follow the payer's submission instructions.
    "N418": "254 270 109 B11",
    # N425: The service is excluded from coverage by law.
    "N425": "96 204",
    # N428: Not covered in the place of service billed.
    "N428": "5 58",
    # N429: Not covered because the service is considered routine.
    "N429": "49",
    # N472: This service was already paid to a different provider.
    "N472": "B20",
    # N475: The completed referral form was not received; send it.
    "N475": "243 288",
    # N479: The other payer's or Medicare's explanation of benefits was not received; send it for
    #   coordination.
    "N479": "22",
    # N480: The other payer's or Medicare's explanation of benefits sent is incomplete or not valid.
    "N480": "129",
    # N516: The NPI submitted does not match the EIN on file.
    "N516": "208",
    # N519: The HCPCS modifiers billed cannot be used together.
    "N519": "4 182",
    # N522: Duplicate: this claim has been or will be handled as a crossover from another payer.
    "N522": "18",
    # N567: Not covered because the service is considered preventive.
    "N567": "49",
    # N569: Not covered for the diagnosis reported on the claim; check the diagnosis coding and policy.
    "N569": "50 11 167",
    # N574: Payer records show the ordering or referring provider's type or specialty may not order or
    #   refer; verify the claim data or contact them.
    "N574": "183 184",
    # N575: The ordering or referring provider name billed differs from the name in payer records.
    "N575": "183 184",
    # N619: Coverage ended because premiums were not paid, so the patient had no coverage on this date.
    "N619": "27 200",
    # N623: Not covered because it is judged experimental, unproven, outdated, excessive or inappropriate.
    "N623": "55 56",
    # N625: The workers' compensation claim number is absent or not valid.
    "N625": "19",
    # N640: Exceeds the number or frequency approved or allowed in the time period.
    "N640": "151 119 198",
    # N646: Payment was adjusted under the rules for assistants at surgery.
    "N646": "54",
    # N657: Bill these services using the correct code for what was actually provided.
    "N657": "189 B16",
    # N670: This code was treated as the primary procedure under Medicare's multiple procedure payment
    #   reduction rule.
    "N670": "59",
    # N675: The injured party must supply more information before the claim can proceed.
    "N675": "227",
    # N702: Decided after reviewing earlier or pending claims for the same or similar services.
    "N702": "B13",
    # N706: Required documentation was not received; send it to support the claim.
    "N706": "252 226",
    # N728: A workers' compensation insurer reports it carries ongoing medical responsibility (ORM) for
    #   this diagnosis.
    "N728": "19",
    # N729: The patient's medical or dental record for this service was not received.
    "N729": "252 B12",
    # N730: The patient's medical or dental record for this service is incomplete or not valid.
    "N730": "B12",
    # N747: Sent to the wrong plan; bill the payer or plan where the patient lives.
    "N747": "109 B11",
    # N758: The amount was adjusted to match the prior authorization decision.
    "N758": "39",
    # N767: The provider must enroll in the member's state Medicaid program before any claim benefits are
    #   processed.
    "N767": "B7",
    # N773: The drug was not obtained through the required specialty vendor.
    "N773": "280 292",
    # N778: Details of the primary care physician were not reported.
    "N778": "288",
    # N808: Not covered for this type or specialty of provider.
    "N808": "185 170 171",
    # N822: A required procedure modifier was not reported; add it and resubmit.
    "N822": "4",
    # N823: The procedure modifier reported is incomplete or not valid.
    "N823": "4 182",
    # N849: Missing tooth clause: the tooth was lost before the member's coverage started.
    "N849": "51",
    # N854: Informational: if your primary other health insurance denied the service, finish all its
    #   appeal levels before this payer will consider the claim.
    "N854": "289",
    # N864: Informational: the No Surprises Act rules for emergency services apply to this claim.
    "N864": "40",
    # N906: Not covered for patients younger than 45 years of age.
    "N906": "6",
    # N936: This code was treated as a secondary or tertiary procedure under Medicare's multiple procedure
    #   payment reduction rule.
    "N936": "59",
}


def test_every_pairing_was_reviewed(by_code):
    paired = {(code, r["rarc"]) for code, s in by_code.items() for r in s["pairing"]}
    reviewed = {(code, rarc) for rarc, codes in REVIEWED_PAIRINGS.items() for code in codes.split()}
    assert paired - reviewed == set(), "pairings not in the reviewed ledger"
    assert reviewed - paired == set(), "ledger entries the CSV no longer has"


# Hand-checked against each RARC's meaning (rarc.csv summary): pairings that must NOT appear.
IMPLAUSIBLE = {
    ("289", "N590"): "N590 asks for an independent medical exam (injury cases), not a dental/medical split",
    ("254", "N590"): "same: an injury exam has nothing to do with the dental plan declining",
    ("270", "N590"): "same",
    ("290", "N387"): "N387 says the claim was NOT forwarded; 290 says the plan forwarded it",
    ("291", "N387"): "same",
    ("292", "N387"): "same",
    ("290", "MA18"): "MA18 is Medicare's crossover to a supplemental insurer, not a dental-medical forward",
    ("291", "MA18"): "same",
    ("18", "N211"): "a duplicate is not a final decision on the merits; the original claim keeps its rights",
    ("29", "MA130"): "MA130 is an unprocessable claim; 29 is a processed claim that was filed late",
}


def test_implausible_pairings_are_absent(by_code):
    paired = {(code, r["rarc"]) for code, s in by_code.items() for r in s["pairing"]}
    found = {pair: why for pair, why in IMPLAUSIBLE.items() if pair in paired}
    assert not found, found
    reviewed = {(code, rarc) for rarc, codes in REVIEWED_PAIRINGS.items() for code in codes.split()}
    assert not reviewed & set(IMPLAUSIBLE), "the ledger approves a pairing listed as implausible"


def test_dental_remarks_pair_only_for_dental_reasons(by_code, rarc):
    """A remark about teeth or dental records is paired only where the pairing is about dental care.
    N10 is exempt: it is a general review remark (medical or dental advisor), per the domain primer."""
    for code, sections in by_code.items():
        for r in sections["pairing"]:
            if rarc[r["rarc"]]["is_dental"] == "true" and r["rarc"] != "N10":
                assert re.search(r"dental|tooth|teeth", r["text"], re.I), (code, r["rarc"])


def test_crossover_pairings_are_about_plan_benefits(by_code, rarc):
    """A crossover code pairs only with benefit, coverage, routing or review remarks, never a dental detail
    remark (tooth number, surface) or an injury exam: the crossover is carried by the CARC itself."""
    allowed_categories = {"coverage_policy", "invalid_information", "alert_informational", "drug_pharmacy"}
    for code in CROSSOVER:
        for r in by_code[code]["pairing"]:
            cat = rarc[r["rarc"]]["category"]
            ok = cat in allowed_categories or r["rarc"] == "N854"  # N854: finish the other plan's appeals
            assert ok, (code, r["rarc"], cat)
            if cat == "drug_pharmacy":
                assert code in {"280", "292"}, (code, r["rarc"])
            assert rarc[r["rarc"]]["is_dental"] == "false" or r["rarc"] == "N10", (code, r["rarc"])


# --- own words ----------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _runs(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _official_runs(shared: Path) -> set[tuple[str, ...]]:
    runs: set[tuple[str, ...]] = set()
    for rel in SNAPSHOTS:
        for r in _csv(shared / rel):
            runs |= _runs(_words(r["description"]), 8)
    return runs


def test_no_text_repeats_official_wording(shared_dir, rows):
    """No playbook text shares a run of 8+ words with any official CARC or RARC description."""
    official = _official_runs(shared_dir)
    copied = [
        (r["code"], r["section"], r["rank"], " ".join(sorted(_runs(_words(r["text"]), 8) & official)[0]))
        for r in rows
        if _runs(_words(r["text"]), 8) & official
    ]
    assert not copied, f"texts repeating official wording: {copied[:10]}"


def test_no_text_shares_six_words_with_its_own_codes(shared_dir, rows):
    """Stricter, as for carc.csv's curated explanations: no six-word run in common with the official
    description of the row's own CARC or of the RARC it pairs."""
    official: dict[tuple[str, str], list[str]] = defaultdict(list)
    for rel in SNAPSHOTS:
        for r in _csv(shared_dir / rel):
            official[(r["list"], r["code"])].append(r["description"])
    close = []
    for r in rows:
        descs = official[("CARC", r["code"])] + (official[("RARC", r["rarc"])] if r["rarc"] else [])
        ours = _runs(_words(r["text"]), 6)
        if any(ours & _runs(_words(d), 6) for d in descs):
            close.append((r["code"], r["section"], r["rank"]))
    assert not close, close[:10]


def test_wording_check_catches_a_copy(shared_dir):
    """The check above is not vacuous: an official description pasted into a sentence is caught."""
    official = _official_runs(shared_dir)
    desc = next(r for r in _csv(shared_dir / SNAPSHOTS[0]) if r["code"] == "289")["description"]
    assert _runs(_words("Sent because " + desc), 8) & official


def test_no_text_repeats_the_seed_summaries(rows, carc, rarc):
    """The playbook adds to the one-line summaries of carc.csv and rarc.csv rather than repeating them."""
    summaries: set[tuple[str, ...]] = set()
    for r in (*carc.values(), *rarc.values()):
        summaries |= _runs(_words(r["summary"]), 8)
    copied = [
        (r["code"], r["section"], r["rank"], " ".join(sorted(_runs(_words(r["text"]), 8) & summaries)[0]))
        for r in rows
        if _runs(_words(r["text"]), 8) & summaries
    ]
    assert not copied, copied[:10]


# --- loaded into DuckDB -------------------------------------------------------------------------------


def test_loaded_as_ref_carc_playbook(rows):
    con = duckdb.connect()
    counts = load_reference(con)
    assert counts["carc_playbook"] == len(rows)
    (n_codes, steps_289) = con.execute(
        "SELECT count(DISTINCT code), count(*) FILTER (WHERE code = '289' AND section = 'step') "
        "FROM ref.carc_playbook"
    ).fetchone()
    assert n_codes == len({r["code"] for r in rows})
    assert steps_289 == sum(1 for r in rows if r["code"] == "289" and r["section"] == "step")
    # every code and pairing joins its reference table
    orphans = con.execute(
        "SELECT count(*) FROM ref.carc_playbook p LEFT JOIN ref.carc c ON c.code = p.code "
        "LEFT JOIN ref.rarc r ON r.code = p.rarc "
        "WHERE c.code IS NULL OR (p.rarc IS NOT NULL AND r.code IS NULL)"
    ).fetchone()
    assert orphans == (0,)
    con.close()


def test_289_is_as_deep_as_the_seed_page(by_code):
    """The seed page's CO-289 content: examples, escalation, the appeal package and the CO write-off rule."""
    text = " ".join(r["text"] for items in by_code["289"].values() for r in items).lower()
    for phrase in (
        "oral surgery",
        "tmj",
        "anesthesia",
        "external review",
        "letter of medical necessity",
        "radiographs",
        "write the amount off",
        "do not bill the patient",
    ):
        assert phrase in text, phrase
    examples = " ".join(r["text"] for r in by_code["289"]["example"]).lower()
    assert "oral surgery" in examples and "tmj" in examples and "sedation" in examples
