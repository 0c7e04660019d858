"""reference/rarc_playbook.csv: causes and resolution steps for the RARCs that matter, in remit's words.

Checked against rarc.csv and carc.csv (coverage, statuses), against the shape the README documents, and
against the official wording in ../shared/reference-sources (no run of eight words in common).
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from pipeline.reference import load_reference, typical_rarc_codes
from pipeline.resources import resource_dir

REF = resource_dir("reference")
SNAP_2026 = "reference-sources/carc_rarc_x12_2026-08-17.csv"
SNAP_2016 = "reference-sources/wpc_carc_rarc_2016-03-07_with_dates.csv"
FREQUENCY_ORDER = {"most common": 0, "common": 1, "occasional": 2}
# RARCs common on denials that the playbook must cover besides every typical RARC of carc.csv (issue 17)
COMMON_DENIAL_RARCS = (
    "N30", "N130", "N290", "N479", "M15", "M20", "M51", "M76", "N56", "N115", "N122", "N211", "N362",
    "N386", "N425", "N432", "N522", "N640", "MA04", "MA18", "MA130", "N4", "N20", "N381", "N657", "N767",
    "N10", "N822", "N823", "M62", "N265", "N706", "M127", "N95", "N54", "N382", "N781", "N782",
)  # fmt: skip


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def playbook() -> list[dict[str, str]]:
    return _csv(REF / "rarc_playbook.csv")


@pytest.fixture(scope="module")
def by_code(playbook) -> dict[str, dict[str, list[dict[str, str]]]]:
    out: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(lambda: {"cause": [], "step": []})
    for r in playbook:
        out[r["code"]][r["section"]].append(r)
    return dict(out)


def test_header_and_values(playbook):
    assert list(playbook[0]) == ["code", "section", "rank", "frequency", "text"]
    for r in playbook:
        where = (r["code"], r["section"], r["rank"])
        assert r["section"] in ("cause", "step"), where
        assert r["rank"].isdigit() and int(r["rank"]) >= 1, where
        if r["section"] == "cause":
            assert r["frequency"] in FREQUENCY_ORDER, where
        else:
            assert r["frequency"] == "", where
        text = r["text"]
        assert text == text.strip() and text[0].isupper() and text.endswith("."), where
        assert 3 <= len(text.split()) <= 40, where


def test_every_rarc_has_2_to_4_causes_and_3_to_6_steps(by_code):
    for code, sections in by_code.items():
        causes, steps = sections["cause"], sections["step"]
        assert 2 <= len(causes) <= 4, code
        assert 3 <= len(steps) <= 6, code
        # ranks run 1..n in file order, causes before steps
        assert [int(r["rank"]) for r in causes] == list(range(1, len(causes) + 1)), code
        assert [int(r["rank"]) for r in steps] == list(range(1, len(steps) + 1)), code
        # one "most common" cause, first; the others never more frequent than the one before
        freqs = [FREQUENCY_ORDER[r["frequency"]] for r in causes]
        assert freqs[0] == 0 and freqs.count(0) == 1, code
        assert freqs == sorted(freqs), code


def test_codes_exist_are_current_and_cover_the_typical_and_common_rarcs(by_code):
    rarc = {r["code"]: r for r in _csv(REF / "rarc.csv")}
    carc = _csv(REF / "carc.csv")
    for code in by_code:
        assert code in rarc and rarc[code]["status"] == "current", code
    typical = {x for r in carc for x in typical_rarc_codes(r["typical_rarcs"])}
    assert typical, "carc.csv lists no typical RARCs"
    assert typical <= set(by_code), sorted(typical - set(by_code))
    assert set(COMMON_DENIAL_RARCS) <= set(by_code), sorted(set(COMMON_DENIAL_RARCS) - set(by_code))
    assert len(by_code) >= 70


def test_meaning_spot_checks(by_code):
    """Hand-picked facts each text must carry (so that a wrong paste between codes is caught)."""

    def text(code: str, section: str) -> str:
        return " ".join(r["text"] for r in by_code[code][section]).lower()

    assert "ndc" in text("M119", "step") and "11 digits" in text("M119", "step")
    assert "no appeal" in text("MA130", "step") or "nothing to appeal" in text("MA130", "step")
    assert "do not file an appeal" in text("N211", "step")
    for code in ("N781", "N782"):  # QMB: never bill the patient for Medicare cost sharing
        assert "do not bill the patient" in text(code, "step") and "refund" in text(code, "step"), code
    assert "medical or dental" in text("N10", "cause")  # a general review remark, not a dental one
    assert "crossover" in text("N522", "cause")
    assert "add-on" in text("N122", "cause") and "primary" in text("N122", "step")
    assert "local coverage" in text("N115", "cause") and "national coverage" in text("N386", "cause")


_BILL_PATIENT = re.compile(r"(?<!do not )\bbill the patient\b(?!'s)", re.I)
_CONDITION = re.compile(r"\b(?:PR|waiver|advance notice|agreed in writing)\b")


def test_billing_the_patient_always_names_its_condition(playbook):
    """As in carc.csv (rule T3): CO never allows billing the patient, so every such step says when."""
    bare = [
        (r["code"], r["rank"])
        for r in playbook
        if r["section"] == "step" and _BILL_PATIENT.search(r["text"]) and not _CONDITION.search(r["text"])
    ]
    assert bare == []
    assert _BILL_PATIENT.search("Bill the patient only what is left.")  # the check can fail
    assert not _BILL_PATIENT.search("Do not bill the patient for it.")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _runs(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def copied_runs(texts: dict[str, list[str]], official: dict[str, list[str]], n: int = 8) -> list[str]:
    """Codes whose playbook text shares a run of ``n`` words with one of the code's official descriptions."""
    bad = []
    for code, items in texts.items():
        ours = set().union(*(_runs(_words(t), n) for t in items))
        if any(ours & _runs(_words(desc), n) for desc in official.get(code, [])):
            bad.append(code)
    return bad


def _official(shared: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for rel in (SNAP_2026, SNAP_2016):
        for r in _csv(shared / rel):
            if r["list"] == "RARC":
                out[r["code"]].append(r["description"])
    return out


def test_no_text_repeats_the_official_wording(shared_dir, playbook):
    """No text shares a run of eight words with the code's official wording (the authors kept to six)."""
    texts: dict[str, list[str]] = defaultdict(list)
    for r in playbook:
        texts[r["code"]].append(r["text"])
    official = _official(shared_dir)
    assert copied_runs(texts, official) == []
    assert copied_runs(texts, official, n=6) == []
    # the check is not vacuous: a copied description is caught
    desc = official["MA130"][0]
    assert copied_runs({"MA130": ["Note: " + desc]}, official) == ["MA130"]


def test_loaded_into_duckdb(playbook):
    con = duckdb.connect()
    counts = load_reference(con)
    assert counts["rarc_playbook"] == len(playbook)
    steps = con.execute(
        "SELECT rank, text FROM ref.rarc_playbook WHERE code = 'MA130' AND section = 'step' ORDER BY rank"
    ).fetchall()
    assert [r[0] for r in steps] == [1, 2, 3, 4]
    assert steps[2][1] == "Send a new claim; there is nothing to appeal."
    orphans = con.execute(
        "SELECT count(*) FROM ref.rarc_playbook p LEFT JOIN ref.rarc r USING (code) WHERE r.code IS NULL"
    ).fetchone()
    assert orphans == (0,)
    types = dict(
        con.execute("DESCRIBE ref.rarc_playbook").fetchall()
        and [(r[0], r[1]) for r in con.execute("DESCRIBE ref.rarc_playbook").fetchall()]
    )
    assert types["rank"] == "INTEGER"
