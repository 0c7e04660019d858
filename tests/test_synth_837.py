"""Tests of ``remit synth --with-837``: pyx12 validity of the 837P/837I files, a structural check of every
837 (the only check the 837D files get: pyx12 has no 005010X224A2 map), truth.json ``submitted`` against
an independent reading of the 835 and 837 bytes, and sameness of the 835 side with and without the flag.

The reader below splits the raw bytes on its own (delimiters from each ISA) and shares no code with the
generator; CARC kinds come from reference/carc.csv, not from the generator's tables.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.synth import generate

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
REPO = Path(__file__).resolve().parent.parent
GUIDE_TYPES = {"005010X222A1": "professional", "005010X223A2": "institutional", "005010X224A2": "dental"}


# --- an independent reader of the raw bytes -------------------------------------------------------------


def interchanges(data: bytes) -> list[tuple[str, list[list[str]]]]:
    """(component separator, segments split into elements) per interchange, delimiters read from each ISA."""
    out = []
    text = data.decode("ascii")
    pos = 0
    while pos < len(text):
        assert text.startswith("ISA", pos), f"expected ISA at {pos}"
        elem, comp, term = text[pos + 3], text[pos + 104], text[pos + 105]
        iea = re.compile(re.escape(term) + r"[\r\n]*IEA" + re.escape(elem)).search(text, pos)
        assert iea, "IEA missing"
        stop = text.index(term, iea.end()) + 1
        segs = [seg.strip("\r\n").split(elem) for seg in text[pos:stop].split(term)]
        out.append((comp, [seg for seg in segs if seg != [""]]))
        pos = stop
        while pos < len(text) and text[pos] in "\r\n":
            pos += 1
    return out


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


def day(text: str) -> int:
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])).toordinal()


def read_835(folder: Path) -> list[dict]:
    """Every CLP: payer (REF*2U), payment date (BPR16), CLP01/02/03/04, CAS triples, REF*6R of its lines."""
    claims: list[dict] = []
    for path in sorted(folder.glob("era-*.835")):
        for _comp, segs in interchanges(path.read_bytes()):
            payer = pay = None
            cur = None
            for s in segs:
                tag = s[0]
                if tag == "BPR":
                    pay = day(s[16])
                elif tag == "REF" and s[1] == "2U":
                    payer = s[2]
                elif tag == "CLP":
                    cur = {
                        "pcn": s[1],
                        "status": s[2],
                        "charge": cents(s[3]),
                        "paid": cents(s[4]),
                        "payer": payer,
                    }
                    cur.update(pay=pay, cas=[], refs=[])
                    claims.append(cur)
                elif tag == "CAS" and cur is not None:
                    for i in range(2, len(s), 3):
                        if s[i]:
                            cur["cas"].append((s[1], s[i], cents(s[i + 1])))
                elif tag == "REF" and s[1] == "6R" and cur is not None:
                    cur["refs"].append(s[2])
                elif tag in ("SE", "PLB"):
                    cur = None
    return claims


def read_837(folder: Path) -> tuple[list[dict], list[dict]]:
    """Every CLM (type, BHT04, payer NM109, CLM01/02, frequency, REF*F8, lines) and every transaction's
    envelope facts (control numbers, SE01 against the count, HL links) for the structural checks."""
    claims: list[dict] = []
    txs: list[dict] = []
    for path in sorted(folder.glob("clm-*.837")):
        for comp, segs in interchanges(path.read_bytes()):
            isa13 = segs[0][13]
            env = {"file": path.name, "isa": isa13, "iea": segs[-1][2], "gs": None, "ge": None, "hl": []}
            txs.append(env)
            kind = sub = payer = None
            cur = None
            count = 0
            for s in segs:
                tag = s[0]
                count += 1
                if tag == "GS":
                    env["gs"], kind = s[6], GUIDE_TYPES[s[8]]
                elif tag == "GE":
                    env["ge"] = s[2]
                elif tag == "ST":
                    count = 1
                    env["st"] = s[2]
                elif tag == "SE":
                    env["se"], env["se01"], env["counted"] = s[2], int(s[1]), count
                elif tag == "BHT":
                    sub = day(s[4])
                elif tag == "HL":
                    env["hl"].append((s[1], s[2], s[3], s[4]))
                elif tag == "NM1" and s[1] == "PR":
                    payer = s[9]
                elif tag == "CLM":
                    cur = {
                        "pcn": s[1],
                        "charge": cents(s[2]),
                        "freq": s[5].split(comp)[2],
                        "f8": "",
                        "kind": kind,
                    }
                    cur.update(sub=sub, payer=payer, lines=[], refs=[], file=path.name)
                    claims.append(cur)
                elif tag == "REF" and s[1] == "F8":
                    cur["f8"] = s[2]
                elif tag in ("SV1", "SV3"):
                    cur["lines"].append((tag, cents(s[2])))
                elif tag == "SV2":
                    cur["lines"].append((tag, cents(s[3])))
                elif tag == "REF" and s[1] == "6R":
                    cur["refs"].append(s[2])
    return claims, txs


def denial_kinds() -> dict[tuple[str, str], bool]:
    """{(group, CARC): True when its amounts are denials (docs/metrics.md)}, from reference/carc.csv."""
    out = {}
    for row in csv.DictReader((REPO / "reference" / "carc.csv").open(encoding="utf-8")):
        for group in ("CO", "OA", "PI", "PR"):
            out[(group, row["code"])] = (
                row["is_denial"] == "true" and row["category"] != "duplicate" and group in ("CO", "OA", "PI")
            )
    return out


def expected_submitted(folder: Path) -> dict:
    """truth.json ``submitted`` worked out from the bytes alone (the definitions in docs/generator.md)."""
    remits = read_835(folder)
    subs, _txs = read_837(folder / "837")
    as_of = max(r["pay"] for r in remits)
    by_key: dict[tuple[str, str], list[dict]] = {}
    for r in remits:
        by_key.setdefault((r["pcn"], r["payer"]), []).append(r)
    for rs in by_key.values():
        rs.sort(key=lambda r: r["pay"])
    denial = denial_kinds()

    def money(c: int) -> str:
        return f"{Decimal(c) / 100:.2f}"

    keys837 = {(s["pcn"], s["payer"]) for s in subs}
    by_type = {"professional": 0, "institutional": 0, "dental": 0}
    matched = 0
    unanswered = [0, 0]
    aging: dict[str, dict[str, list[int]]] = {}
    days: list[int] = []
    rate: dict[str, list[int]] = {}
    first_sub: dict[tuple[str, str], dict] = {}
    for s in sorted(subs, key=lambda s: s["sub"]):
        first_sub.setdefault((s["pcn"], s["payer"]), s)
    for s in subs:
        by_type[s["kind"]] += 1
        key = (s["pcn"], s["payer"])
        answers = [r for r in by_key.get(key, []) if r["status"] != "22"]
        if answers:
            matched += 1
            days.append(min(r["pay"] for r in answers if r["pay"] >= s["sub"]) - s["sub"])
        else:
            unanswered[0] += 1
            unanswered[1] += s["charge"]
            age = as_of - s["sub"]
            name = next(
                (b for b, top in (("0-30", 30), ("31-60", 60), ("61-90", 90), ("91-120", 120)) if age <= top),
                "120+",
            )
            cur = aging.setdefault(s["payer"], {}).setdefault(name, [0, 0])
            cur[0] += 1
            cur[1] += s["charge"]
        if s["freq"] == "1" and first_sub[key] is s:
            month = dt.date.fromordinal(s["sub"]).strftime("%Y-%m")
            cur = rate.setdefault(month, [0, 0])
            cur[1] += 1
            first = answers[0] if answers else None
            if (
                first
                and first["paid"] == 0
                and any(a > 0 and denial.get((g, r), False) for g, r, a in first["cas"])
            ):
                cur[0] += 1
    days.sort()
    return {
        "as_of": dt.date.fromordinal(as_of).isoformat(),
        "claims": len(subs),
        "charge": money(sum(s["charge"] for s in subs)),
        "by_type": by_type,
        "matched_claims": matched,
        "unanswered": {"count": unanswered[0], "charge": money(unanswered[1])},
        "remitted_without_837": len(set(by_key) - keys837),
        "unanswered_aging": {
            payer: {
                b: {"count": v.get(b, [0, 0])[0], "charge": money(v.get(b, [0, 0])[1])}
                for b in ("0-30", "31-60", "61-90", "91-120", "120+")
            }
            for payer, v in sorted(aging.items())
        },
        "days_to_first_remit_median": days[(len(days) - 1) // 2] if days else None,
        "initial_denial_rate_submitted": {
            m: {"denied_claims": v[0], "submitted_claims": v[1]} for m, v in sorted(rate.items())
        },
    }


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """4,000 claims with their 837s: every claim type, corrections, episodes, unanswered claims."""
    out = tmp_path_factory.mktemp("synth837")
    return out, generate(out, claims=4000, seed=7, with_837=True)


# --- tests -----------------------------------------------------------------------------------------------


def test_tiny_workload_truth_worked_out_from_the_bytes(tmp_path: Path) -> None:
    truth = generate(tmp_path, claims=20, seed=3, months=2, with_837=True)
    sub = truth["submitted"]
    expected = expected_submitted(tmp_path)
    assert {k: v for k, v in sub.items() if k != "files"} == expected
    assert sub["files"] == len(list((tmp_path / "837").glob("clm-*.837")))
    # read by hand from the files: 20 CLPs of RMT03 (BPR16 2025-01-28 and 2025-02-07), each with its CLM;
    # two more CLMs, U00000000000001 (33.60) and U00000000000002 (682.50), that no CLP answers; one CLP
    # (00000000000009, CLP02 4, 81.00 charged, 0.00 paid) is a denial
    assert sub["as_of"] == "2025-02-07"
    assert (sub["claims"], sub["matched_claims"], sub["remitted_without_837"]) == (22, 20, 0)
    assert sub["unanswered"] == {"count": 2, "charge": "716.10"}
    assert sum(v["denied_claims"] for v in sub["initial_denial_rate_submitted"].values()) == 1


def test_truth_equals_the_bytes_on_a_bigger_workload(sample: tuple[Path, dict]) -> None:
    out, truth = sample
    sub = truth["submitted"]
    assert {k: v for k, v in sub.items() if k != "files"} == expected_submitted(out)
    # every kind of case is there: all three guides, unanswered claims in every age bucket, claims
    # remitted without an 837, corrected claims (frequency 7 with REF*F8)
    assert all(sub["by_type"][k] > 0 for k in ("professional", "institutional", "dental"))
    assert sub["unanswered"]["count"] > 0 and sub["remitted_without_837"] > 0
    for bucket in ("0-30", "31-60", "61-90", "91-120", "120+"):
        assert sum(p[bucket]["count"] for p in sub["unanswered_aging"].values()) > 0, bucket
    rates = {p: sum(b["count"] for b in v.values()) for p, v in sub["unanswered_aging"].items()}
    assert len(set(rates.values())) > 1  # the share never answered differs by payer
    assert sum(v["denied_claims"] for v in sub["initial_denial_rate_submitted"].values()) > 0
    claims, _txs = read_837(out / "837")
    corrections = [c for c in claims if c["freq"] == "7"]
    assert corrections and all(c["f8"] for c in corrections)


def test_every_837_is_well_formed(sample: tuple[Path, dict]) -> None:
    """Control numbers, SE01, HL parent links and CLM02 = Σ line charges in every file (837D included)."""
    out, _truth = sample
    claims, txs = read_837(out / "837")
    for env in txs:
        where = f"{env['file']} ISA {env['isa']}"
        assert int(env["isa"]) == int(env["iea"]) and env["gs"] == env["ge"] and env["st"] == env["se"], where
        assert env["se01"] == env["counted"], where
        levels: dict[str, str] = {}
        children: dict[str, int] = {}
        for no, (hl_id, parent, level, _child) in enumerate(env["hl"], start=1):
            assert hl_id == str(no), where
            if level == "20":
                assert parent == "", where
            else:
                assert levels[parent] == {"22": "20", "23": "22"}[level], where
                children[parent] = children.get(parent, 0) + 1
            levels[hl_id] = level
        for hl_id, _parent, _level, child in env["hl"]:
            assert child == ("1" if hl_id in children else "0"), f"{where} HL {hl_id}"
    for c in claims:
        assert c["lines"] and c["charge"] == sum(charge for _tag, charge in c["lines"]), c["pcn"]
        tag = {"professional": "SV1", "institutional": "SV2", "dental": "SV3"}[c["kind"]]
        assert {t for t, _charge in c["lines"]} == {tag}
        assert len(c["refs"]) == len(c["lines"])
        assert c["freq"] in ("1", "7") and bool(c["f8"]) == (c["freq"] == "7")
    assert any(c["kind"] == "dental" for c in claims)


def test_837_answers_line_up_with_the_835s(sample: tuple[Path, dict]) -> None:
    """CLM01 + payer = CLP01 + payer, CLM02 = CLP03 of an answering remit, REF*6R = the 835's line numbers,
    REF*F8 = the CLP07 the 835 replaced."""
    out, _truth = sample
    remits = read_835(out)
    by_key: dict[tuple[str, str], list[dict]] = {}
    for r in remits:
        by_key.setdefault((r["pcn"], r["payer"]), []).append(r)
    claims, _txs = read_837(out / "837")
    checked = 0
    for c in claims:
        answers = [r for r in by_key.get((c["pcn"], c["payer"]), []) if r["status"] != "22"]
        if not answers:
            assert c["pcn"].startswith("U")  # only the generator's unanswered claims go unanswered
            continue
        assert any(r["charge"] == c["charge"] for r in answers), c["pcn"]
        refs = {ref for r in answers for ref in r["refs"]}
        if refs:
            assert set(c["refs"]) <= refs, c["pcn"]
            checked += 1
    assert checked > 1000


def _pyx12_errors(path: Path) -> list[str]:
    import pyx12.params
    import pyx12.x12n_document

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    js = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(
        param=pyx12.params.params(), src_file=str(path), fd_997=None, fd_html=None, fd_json=js
    )
    found: list[str] = []

    def collect(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "errors" and isinstance(value, list):
                    found.extend(str(e) for e in value)
                else:
                    collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(json.loads(js.getvalue()))
    if not ok and not found:
        found.append("rejected without detail")
    return [f"{path.name}: {e}" for e in found]


def test_837p_and_837i_pass_pyx12(sample: tuple[Path, dict]) -> None:
    """Every 837P / 837I file holding a corrected claim, and files with inpatient and outpatient bills,
    rendering providers and unanswered claims, validate with 0 errors (about 20 ms a claim in pyx12)."""
    out, _truth = sample
    files = sorted((out / "837").glob("clm-*.837"))
    heads = {f: f.read_bytes() for f in files}
    guides = {f: data[106:400].split(b"*X*")[1][:12].decode() for f, data in heads.items()}
    medical = [f for f in files if guides[f] in ("005010X222A1", "005010X223A2")]
    chosen = {f for f in medical if b"REF*F8*" in heads[f]}
    for needle in (b"CL1*1*7*01~", b"CL1*3*1*01~", b"NM1*82*", b"CLM*U", b"SV1*HC:D"):
        chosen.add(next(f for f in medical if needle in heads[f]))
    checked = sorted(chosen)
    assert {guides[f] for f in checked} == {"005010X222A1", "005010X223A2"}
    text = b"".join(heads[f] for f in checked)
    assert b":A:7*" in text and b":B:7*" in text and b"HI*DR:" in text
    errors = [e for f in checked for e in _pyx12_errors(f)]
    assert errors == []


def test_pyx12_catches_a_broken_837p(tmp_path: Path) -> None:
    """The validator used above does fail: a missing payer loop is an error."""
    generate(tmp_path, claims=300, seed=19, months=1, with_837=True)
    path = next(f for f in sorted((tmp_path / "837").glob("clm-*.837")) if b"X222A1" in f.read_bytes()[:400])
    data = path.read_bytes().decode()
    end = data.index("IEA*") + data[data.index("IEA*") :].index("~") + 2
    first = data[:end]
    start = first.index("NM1*PR*")
    broken = first[:start] + first[first.index("~\n", start) + 2 :]
    bad = tmp_path / "bad.837"
    bad.write_text(broken)
    assert any("2010BB" in e for e in _pyx12_errors(bad))


def test_835_side_is_the_same_with_or_without_837(tmp_path: Path) -> None:
    """Same seed: identical 835 bytes and truth apart from "submitted"; the 837s do not depend on workers."""

    def digest(folder: Path, pattern: str) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob(pattern))}

    plain = generate(tmp_path / "a", claims=6000, files=3, seed=11, workers=2)
    both = generate(tmp_path / "b", claims=6000, files=3, seed=11, workers=2, with_837=True)
    single = generate(tmp_path / "c", claims=6000, files=3, seed=11, workers=1, with_837=True)
    submitted = both.pop("submitted")
    assert both == plain
    assert digest(tmp_path / "a", "*.835") == digest(tmp_path / "b", "*.835")
    assert submitted == single["submitted"]
    assert digest(tmp_path / "b" / "837", "*.837") == digest(tmp_path / "c" / "837", "*.837")
    assert not (tmp_path / "a" / "837").exists()
    assert not list((tmp_path / "b" / "837").glob(".part-*"))


def test_cli_flag(tmp_path: Path) -> None:
    from pipeline.cli import cli

    res = CliRunner().invoke(cli, ["synth", "--out", str(tmp_path), "--claims", "40", "--with-837"])
    assert res.exit_code == 0, res.output
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert "837 files" in res.output and truth["submitted"]["claims"] > 0
    # a run without the flag removes the earlier run's 837s, which its truth no longer describes
    res = CliRunner().invoke(cli, ["synth", "--out", str(tmp_path), "--claims", "40"])
    assert res.exit_code == 0, res.output
    assert not list((tmp_path / "837").glob("clm-*.837"))
    assert "submitted" not in json.loads((tmp_path / "truth.json").read_text())


def test_pharmacy_claims_have_no_837_even_in_a_late_reversal_pair(tmp_path: Path) -> None:
    """A late pair can land on the pharmacy plan (rare in a run): neither its original nor its correction
    is billed on an 837, and the pair's CLP01 counts once as remitted without one."""
    from random import Random

    from pipeline.synth import model as m
    from pipeline.synth.claims import adjudicate, correct, draw_claim, reverse
    from pipeline.synth.submissions import Submissions

    payer_idx = next(i for i, p in enumerate(m.PAYERS) if p.plan_type == "pharmacy")
    payee_idx = next(i for i, p in enumerate(m.PAYEES) if p.kind == "pharmacy")
    payer, payee = m.PAYERS[payer_idx], m.PAYEES[payee_idx]
    rng = Random(1)
    day = dt.date(2025, 6, 2).toordinal()
    orig = draw_claim(rng, payer, payee, day - 40, "R0000001", "X1")
    adjudicate(rng, orig, payer, 0.0, True)
    regular = [draw_claim(rng, payer, payee, day, f"P{k}", f"C{k}") for k in range(3)]
    for c in regular:
        adjudicate(rng, c, payer, 0.0, True)
    pair = (1, payer_idx, payee_idx, day - 40)
    sub = Submissions(5, day + 30, 0, tmp_path / "part")
    # the earlier transaction holds the original, the later one its reversal and correction
    sub.add_transaction((0, 0, payer_idx, payee_idx, 1, day - 40, 0, "2025-04", 1, (), pair, ()), [orig])
    later = [reverse(orig), correct(rng, orig, payer), *regular]
    sub.add_transaction((1, 0, payer_idx, payee_idx, 5, day, 1, "2025-06", 1, (pair,), None, ()), later)
    assert sub.batches == {}
    assert sub.t.claims == 0 and sub.t.remitted_without == 1 + 3


def test_resubmission_day_falls_between_the_two_remits() -> None:
    from random import Random

    from pipeline.synth.submissions import between

    rng = Random(0)
    assert between(rng, 10, 11) == 11  # no day between: sent the day the answer came
    assert between(rng, 10, 12) == 11
    days = {between(rng, 100, 160) for _ in range(500)}
    assert min(days) == 101 and max(days) <= 130  # in the first half of the gap
