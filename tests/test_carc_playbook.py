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
