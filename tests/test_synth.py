"""Tests of the synthetic 835 generator: pyx12 validity, truth vs an independent tally, balancing, sameness.

The tally below reads the raw bytes on its own (delimiters from each ISA) and shares no code with the
generator, so truth.json is checked against what the files really say.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.synth import generate
from pipeline.synth import model as synth_model

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# --- an independent reader of the raw bytes -------------------------------------------------------------


def cents(text: str) -> int:
    value = Decimal(text) * 100
    assert value == value.to_integral_value(), f"amount with more than 2 decimals: {text}"
    return int(value)


def interchanges(data: bytes) -> list[tuple[str, str, str, str, list[list[str]]]]:
    """Split a file into interchanges: (element sep, component sep, terminator, what follows it, segments)."""
    out = []
    pos = 0
    while pos < len(data):
        assert data[pos : pos + 3] == b"ISA", f"expected ISA at byte {pos}"
        elem, rep, comp, term = (chr(data[pos + i]) for i in (3, 82, 104, 105))
        assert len({elem, rep, comp, term}) == 4, "delimiters must differ"
        iea = re.compile(re.escape(term.encode()) + rb"[\r\n]*IEA" + re.escape(elem.encode()))
        found = iea.search(data, pos)
        assert found, "IEA missing"
        end = data.index(term.encode(), found.end()) + 1
        after = b""
        while end < len(data) and data[end : end + 1] in (b"\r", b"\n"):
            after += data[end : end + 1]
            end += 1
        text = data[pos:end].decode("ascii")
        segs = [s.strip("\r\n").split(elem) for s in text.split(term)]
        out.append((elem, comp, term, after.decode(), [s for s in segs if s != [""]]))
        pos = end
    return out


def read_file(path: Path) -> list[dict]:
    """Every transaction of a file with its claims, lines, adjustments and envelope checks."""
    txs: list[dict] = []
    for _elem, comp, _term, _after, segs in interchanges(path.read_bytes()):
        isa = segs[0]
        assert isa[0] == "ISA" and segs[-1][0] == "IEA"
        assert segs[-1][2] == isa[13], "ISA13 = IEA02"
        groups = 0
        tx = claim = line = None
        gs_tx = 0
        for s in segs[1:-1]:
            tag = s[0]
            if tag == "GS":
                groups += 1
                gs, gs_tx = s, 0
                assert s[8] == "005010X221A1"
            elif tag == "GE":
                assert s[2] == gs[6] and int(s[1]) == gs_tx, "GE01/GE02"
            elif tag == "ST":
                tx = {"st": s, "count": 1, "claims": [], "plb": [], "payer_id": None, "npis": []}
                claim = line = None
                txs.append(tx)
                gs_tx += 1
            elif tag == "SE":
                tx["count"] += 1
                assert int(s[1]) == tx["count"], "SE01 counts ST..SE"
                assert s[2] == tx["st"][2], "ST02 = SE02"
                tx = None
            else:
                tx["count"] += 1
                if tag == "BPR":
                    tx["bpr02"] = cents(s[2])
                    tx["month"] = f"{s[16][:4]}-{s[16][4:6]}"
                elif tag == "REF" and s[1] == "2U":
                    tx["payer_id"] = s[2]
                elif tag == "N1" and s[1] == "PE":
                    tx["npis"].append(s[4])
                elif tag == "CLP":
                    claim = {"clp": s, "cas": [], "lines": [], "remarks": 0, "f8": None, "names": []}
                    tx["claims"].append(claim)
                    line = None
                elif tag == "SVC":
                    line = {"svc": s, "proc": s[1].split(comp), "cas": [], "remarks": []}
                    claim["lines"].append(line)
                elif tag == "CAS":
                    triples = [(s[1], s[i], cents(s[i + 1])) for i in range(2, len(s), 3) if s[i]]
                    (line if line is not None else claim)["cas"].extend(triples)
                elif tag == "LQ":
                    line["remarks"].append(s[2])
                    claim["remarks"] += 1
                elif tag == "MIA":
                    claim["remarks"] += sum(1 for i in (5, 20, 21, 22, 23) if len(s) > i and s[i])
                elif tag == "MOA":
                    claim["remarks"] += sum(1 for i in range(3, 8) if len(s) > i and s[i])
                elif tag == "REF" and s[1] == "F8":
                    claim["f8"] = s[2]
                elif tag == "NM1" and s[1] in ("QC", "IL", "82"):
                    claim["names"].append(s)
                    if s[8] == "XX":
                        tx["npis"].append(s[9])
                elif tag == "PLB":
                    tx["npis"].append(s[1])
                    for i in range(3, len(s), 2):
                        reason, ref = s[i].split(comp)
                        tx["plb"].append((reason, ref, cents(s[i + 1])))
        assert int(segs[-1][1]) == groups, "IEA01 counts groups"
    return txs


def tally(out_dir: Path) -> dict:
    """The truth.json figures, computed from the files alone."""
    t: dict = {
        "files": 0,
        "interchanges": 0,
        "transactions": 0,
        "claims": 0,
        "lines": 0,
        "bpr02": 0,
        "clp03": 0,
        "clp04": 0,
        "clp05": 0,
        "svc02": 0,
        "svc03": 0,
        "by_group": {},
        "by_carc": {},
        "by_gc": {},
        "count": 0,
        "claim_level": 0,
        "line_level": 0,
        "plb": 0,
        "plb_by_reason": {},
        "plb_count": 0,
        "denied": 0,
        "reversal": 0,
        "corrected": 0,
        "remarks": 0,
        "crossover": {},
        "by_month": {},
        "by_payer": {},
        "txs": [],
    }
    xo = set(synth_model.CROSSOVER_CODES)
    for path in sorted(out_dir.glob("*.835")):
        t["files"] += 1
        t["interchanges"] += len(interchanges(path.read_bytes()))
        for tx in read_file(path):
            tx["file"] = path.name
            t["txs"].append(tx)
            t["transactions"] += 1
            t["bpr02"] += tx["bpr02"]
            for reason, _ref, amount in tx["plb"]:
                t["plb"] += amount
                t["plb_count"] += 1
                t["plb_by_reason"][reason] = t["plb_by_reason"].get(reason, 0) + amount
            month = tx["month"]
            for c in tx["claims"]:
                clp = c["clp"]
                t["claims"] += 1
                t["clp03"] += cents(clp[3])
                t["clp04"] += cents(clp[4])
                t["clp05"] += cents(clp[5]) if clp[5] else 0
                t["denied"] += clp[2] == "4"
                t["reversal"] += clp[2] == "22"
                t["corrected"] += c["f8"] is not None
                t["remarks"] += c["remarks"]
                bm = t["by_month"].setdefault(month, [0, 0])
                bm[0] += 1
                bm[1] += cents(clp[4])
                bp = t["by_payer"].setdefault(tx["payer_id"], [0, 0])
                bp[0] += 1
                bp[1] += cents(clp[4])
                triples = [(g, r, a, False) for g, r, a in c["cas"]]
                claim_xo = set()
                for ln in c["lines"]:
                    t["lines"] += 1
                    t["svc02"] += cents(ln["svc"][2])
                    t["svc03"] += cents(ln["svc"][3])
                    triples += [(g, r, a, True) for g, r, a in ln["cas"]]
                    for _g, r, a in ln["cas"]:
                        if r in xo:
                            cur = t["crossover"].setdefault(month, {}).setdefault(r, [0, 0, 0])
                            cur[0] += 1
                            cur[2] += a
                            claim_xo.add(r)
                for r in claim_xo:
                    t["crossover"][month][r][1] += 1
                for g, r, a, at_line in triples:
                    t["count"] += 1
                    t["by_group"][g] = t["by_group"].get(g, 0) + a
                    t["by_carc"][r] = t["by_carc"].get(r, 0) + a
                    t["by_gc"][f"{g}-{r}"] = t["by_gc"].get(f"{g}-{r}", 0) + a
                    t["line_level" if at_line else "claim_level"] += a
    return t


def money(c: int) -> str:
    return f"{Decimal(c) / 100:.2f}"


# --- pyx12 ---------------------------------------------------------------------------------------------


def _collect_errors(node: object, found: list[str]) -> None:
    """Gather every ``errors`` list of pyx12's JSON error document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "errors" and isinstance(value, list):
                found.extend(str(e) for e in value)
            else:
                _collect_errors(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect_errors(value, found)


def pyx12_errors(path: Path, tmp_path: Path) -> list[str]:
    """pyx12's validation errors for every interchange of ``path``.

    pyx12 reads the delimiters once, from the first ISA of a file, so a file whose interchanges use different
    delimiters is validated one interchange at a time (each is a complete X12 document).
    """
    import pyx12.params
    import pyx12.x12n_document

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    data = path.read_bytes()
    errors: list[str] = []
    pos = 0
    for k, (*_delims, after, _segs) in enumerate(interchanges(data)):
        # recover the interchange's own bytes
        term, elem = data[pos + 105 : pos + 106], data[pos + 3 : pos + 4]
        iea = re.compile(re.escape(term) + rb"[\r\n]*IEA" + re.escape(elem)).search(data, pos)
        end = data.index(term, iea.end()) + 1 + len(after)
        part = tmp_path / f"{path.stem}-{k}.x12"
        part.write_bytes(data[pos:end])
        pos = end
        js = io.StringIO()
        ok = pyx12.x12n_document.x12n_document(
            param=pyx12.params.params(), src_file=str(part), fd_997=None, fd_html=None, fd_json=js
        )
        found: list[str] = []
        _collect_errors(json.loads(js.getvalue()), found)
        if not ok and not found:
            found.append(f"pyx12 rejected interchange {k} without detail")
        errors += [f"{path.name}#{k}: {e}" for e in found]
    return errors


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """4,000 claims in 16 files: every flavour, several payers, late reversals, PLBs."""
    out = tmp_path_factory.mktemp("synth-sample")
    return out, generate(out, claims=4000, seed=7)


@pytest.fixture(scope="module")
def sample_tally(sample: tuple[Path, dict]) -> dict:
    return tally(sample[0])


@pytest.fixture(scope="module")
def trend(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """30,000 claims: enough lines to see the crossover trend (and the process pool in action)."""
    out = tmp_path_factory.mktemp("synth-trend")
    return out, generate(out, claims=30_000, seed=2025)


# --- tests -----------------------------------------------------------------------------------------------


def test_files_pass_pyx12_for_every_flavour(sample: tuple[Path, dict], tmp_path: Path) -> None:
    out, truth = sample
    by_flavour: dict[str, str] = {}
    for f in truth["file_list"]:
        key = "multi" if len(f["flavours"]) > 1 else f["flavours"][0]
        by_flavour.setdefault(key, f["name"])
    assert set(by_flavour) == {"standard", "pipe-crlf", "caret-component", "gt-oneline", "multi"}
    # also the files that hold PLB, reversals and corrections
    extra = [tx["file"] for tx in tally(out)["txs"] if tx["plb"] or any(c["f8"] for c in tx["claims"])][:3]
    names = sorted(set(by_flavour.values()) | set(extra))
    errors = [e for name in names for e in pyx12_errors(out / name, tmp_path)]
    assert errors == []


def test_multi_interchange_files_change_delimiters(sample: tuple[Path, dict]) -> None:
    out, truth = sample
    multi = [f["name"] for f in truth["file_list"] if len(f["flavours"]) > 1]
    assert multi
    for name in multi:
        ics = interchanges((out / name).read_bytes())
        assert len(ics) >= 2
        assert len({ic[:4] for ic in ics}) == len(ics), "each interchange has its own delimiters"
    seen = {ic[:4] for f in out.glob("*.835") for ic in interchanges(f.read_bytes())}
    assert {s[0] for s in seen} == {"*", "|"}
    assert {s[1] for s in seen} == {":", ">", "^"}
    assert {s[3] for s in seen} == {"\n", "\r\n", ""}


def test_truth_matches_independent_tally(sample: tuple[Path, dict], sample_tally: dict) -> None:
    out, truth = sample
    t = sample_tally
    assert json.loads((out / "truth.json").read_text()) == truth
    for key, mine in (
        ("files", "files"),
        ("interchanges", "interchanges"),
        ("transactions", "transactions"),
        ("claims", "claims"),
        ("lines", "lines"),
        ("adjustment_count", "count"),
        ("plb_count", "plb_count"),
        ("denied_claims", "denied"),
        ("reversal_claims", "reversal"),
        ("corrected_claims", "corrected"),
        ("remark_count", "remarks"),
    ):
        assert truth[key] == t[mine], key
    for key, mine in (
        ("bpr02_total", "bpr02"),
        ("clp03_total", "clp03"),
        ("clp04_total", "clp04"),
        ("clp05_total", "clp05"),
        ("svc02_total", "svc02"),
        ("svc03_total", "svc03"),
        ("claim_level_adjustment_total", "claim_level"),
        ("line_level_adjustment_total", "line_level"),
        ("plb_total", "plb"),
    ):
        assert truth[key] == money(t[mine]), key
    assert truth["claims"] == 4000
    assert truth["files"] == 4000 // 250  # default: one file per 250 claims (at least one per month)
    assert truth["adjustments_by_group"] == {k: money(v) for k, v in t["by_group"].items()}
    assert truth["adjustments_by_carc"] == {k: money(v) for k, v in t["by_carc"].items()}
    assert truth["adjustments_by_group_carc"] == {k: money(v) for k, v in t["by_gc"].items()}
    assert truth["plb_by_reason"] == {k: money(v) for k, v in t["plb_by_reason"].items()}
    assert set(truth["plb_by_reason"]) >= {"WO", "L6"}
    assert {m: (v["claims"], v["clp04_total"]) for m, v in truth["by_month"].items()} == {
        m: (v[0], money(v[1])) for m, v in t["by_month"].items()
    }
    assert {p: (v["claims"], v["clp04_total"]) for p, v in truth["by_payer"].items()} == {
        p: (v[0], money(v[1])) for p, v in t["by_payer"].items()
    }
    got_xo = {
        m: {c: (v["lines"], v["claims"], v["dollars"]) for c, v in codes.items()}
        for m, codes in truth["crossover"].items()
        if codes
    }
    assert got_xo == {
        m: {c: (v[0], v[1], money(v[2])) for c, v in codes.items()} for m, codes in t["crossover"].items()
    }
    # zero-paid claims: CLP04 = 0, reversals excluded
    zero = sum(1 for tx in t["txs"] for c in tx["claims"] if cents(c["clp"][4]) == 0 and c["clp"][2] != "22")
    assert truth["zero_paid_claims"] == zero


def test_every_amount_balances(sample_tally: dict) -> None:
    for tx in sample_tally["txs"]:
        paid = 0
        for c in tx["claims"]:
            clp = c["clp"]
            line_adj = 0
            for ln in c["lines"]:
                adj = sum(a for _g, _r, a in ln["cas"])
                assert cents(ln["svc"][2]) - adj == cents(ln["svc"][3]), ln
                line_adj += adj
            claim_adj = sum(a for _g, _r, a in c["cas"])
            assert cents(clp[3]) - claim_adj - line_adj == cents(clp[4]), clp
            pr = sum(a for g, _r, a in c["cas"] if g == "PR") + sum(
                a for ln in c["lines"] for g, _r, a in ln["cas"] if g == "PR"
            )
            assert (cents(clp[5]) if clp[5] else 0) == pr, clp
            paid += cents(clp[4])
        assert tx["bpr02"] == paid - sum(a for _r, _f, a in tx["plb"])
        assert tx["bpr02"] >= 0


def test_codes_follow_the_rules(sample_tally: dict) -> None:
    # valid code values from the 005010X221A1 guide (as pyx12's map lists them), not from the generator
    valid: dict[str, set[str]] = {}
    valid["CLP02"] = {"1", "19", "2", "20", "21", "22", "23", "25", "3", "4"}
    valid["CLP06"] = {
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "AM",
        "CH",
        "DS",
        "HM",
        "LM",
        "MA",
        "MB",
        "MC",
        "OF",
    }
    valid["CLP06"] |= {"TV", "VA", "WC", "ZZ"}
    valid["CAS01"] = {"CO", "OA", "PI", "PR"}
    valid["SVC01"] = {"AD", "ER", "HC", "HP", "IV", "N4", "N6", "NU", "UI", "WK"}
    statuses, quals = set(), set()
    for tx in sample_tally["txs"]:
        for c in tx["claims"]:
            clp = c["clp"]
            statuses.add(clp[2])
            assert clp[2] in valid["CLP02"] and clp[6] in valid["CLP06"]
            for ln in c["lines"]:
                quals.add(ln["proc"][0])
                assert ln["proc"][0] in valid["SVC01"]
                if ln["proc"][0] == "AD":
                    assert re.fullmatch(r"D\d{4}", ln["proc"][1])
                for g, r, a in ln["cas"]:
                    assert g in valid["CAS01"]
                    if r in ("18", "23"):
                        assert g == "OA"
                    if r == "45" and clp[2] != "22":
                        assert 0 < a < cents(ln["svc"][2]), "CARC 45 is never the full charge"
                    if r in ("16", "96", "252"):
                        assert ln["remarks"] or c["remarks"], f"CARC {r} needs a remark"
            for g, r, _a in c["cas"]:
                assert g in valid["CAS01"]
                if r in ("16", "96", "252"):
                    assert c["remarks"]
    assert {"1", "2", "4", "22"} <= statuses
    assert {"HC", "NU", "AD"} <= quals


def test_reversals_and_corrections_pair_up(sample_tally: dict) -> None:
    originals: dict[tuple[str, str], tuple[str, list[str]]] = {}
    reversals, corrections = [], []
    for tx in sample_tally["txs"]:
        for c in tx["claims"]:
            clp = c["clp"]
            if clp[2] == "22":
                reversals.append((tx["file"], clp))
            else:
                originals.setdefault((clp[1], clp[7]), (tx["file"], clp))
            if c["f8"]:
                corrections.append((c["f8"], clp))
    # every correction replaces a reversed claim; a late reversal may stand alone (nothing replaces it)
    assert reversals and len(corrections) <= len(reversals)
    late = 0
    for file, rev in reversals:
        orig_file, orig = originals[(rev[1], rev[7])]
        assert [cents(x) for x in rev[3:6] if x] == [-cents(x) for x in orig[3:6] if x]
        late += orig_file < file
    assert late >= 1, "some reversals arrive in a later file than the original"
    ctl = {clp[7] for _f, clp in reversals}
    assert all(f8 in ctl and clp[9] == "7" for f8, clp in corrections)


def test_npis_pass_luhn_and_people_are_invented(sample_tally: dict, sample: tuple[Path, dict]) -> None:
    def luhn_ok(npi: str) -> bool:
        digits = [int(ch) for ch in "80840" + npi]
        total = 0
        for pos, d in enumerate(reversed(digits)):
            if pos % 2 == 1:
                d = d * 2 - 9 if d * 2 > 9 else d * 2
            total += d
        return total % 10 == 0

    assert luhn_ok("1234567893")  # the check-digit example CMS publishes
    assert not luhn_ok("1234567890")
    npis = {n for tx in sample_tally["txs"] for n in tx["npis"]}
    assert npis and all(re.fullmatch(r"\d{10}", n) and luhn_ok(n) for n in npis)
    first = set(synth_model.FIRST_NAMES) | {r[1] for r in synth_model.RENDERING}
    last = set(synth_model.LAST_NAMES) | {r[0] for r in synth_model.RENDERING}
    for tx in sample_tally["txs"]:
        for c in tx["claims"]:
            for nm1 in c["names"]:
                assert nm1[3] in last and nm1[4] in first
                assert nm1[8] in ("MI", "XX"), "no SSNs or other real identifiers"
    out, truth = sample
    rows = list(csv.reader((out / "payers.csv").open()))
    assert rows[0] == ["payer_id", "payer_name", "plan_type", "appeal_days"]
    plan = {r[0]: r[2] for r in rows[1:]}
    assert set(plan.values()) == {"dental", "medical", "pharmacy"}
    assert {tx["payer_id"] for tx in sample_tally["txs"]} <= set(plan)
    assert sum(v == "dental" for v in plan.values()) == 2


def test_crossover_is_rare_and_rising(trend: tuple[Path, dict]) -> None:
    out, truth = trend
    t = tally(out)
    got = {m: {c: v["lines"] for c, v in codes.items()} for m, codes in truth["crossover"].items()}
    assert got == {
        m: {c: t["crossover"].get(m, {}).get(c, [0])[0] for c in codes} for m, codes in got.items()
    }
    months = sorted(truth["crossover"])
    per_month = [sum(v["lines"] for v in truth["crossover"][m].values()) for m in months]
    assert set().union(*truth["crossover"].values()) == set(synth_model.CROSSOVER_CODES)
    assert sum(per_month) < 0.01 * truth["lines"]
    assert sum(per_month[-3:]) > 2 * sum(per_month[:3]) > 0
    dental = {p for p, v in truth["by_payer"].items() if v["plan_type"] == "dental"}
    for tx in t["txs"]:
        for c in tx["claims"]:
            for ln in c["lines"]:
                for _g, r, _a in ln["cas"]:
                    if r in ("254", "290"):
                        assert tx["payer_id"] in dental
                    elif r in ("270", "280", "291", "292"):
                        assert tx["payer_id"] not in dental
    medical = [p for p, v in truth["by_payer"].items() if v["plan_type"] == "medical"]
    med_claims = [c for tx in t["txs"] if tx["payer_id"] in medical for c in tx["claims"]]
    denied = sum(c["clp"][2] == "4" for c in med_claims) / len(med_claims)
    assert 0.07 < denied < 0.14


def test_same_seed_same_bytes_whatever_the_workers(tmp_path: Path) -> None:
    def digest(d: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}

    a = generate(tmp_path / "a", claims=6000, files=3, seed=11, workers=1)
    b = generate(tmp_path / "b", claims=6000, files=3, seed=11, workers=2)
    assert a == b and digest(tmp_path / "a") == digest(tmp_path / "b")
    c = generate(tmp_path / "c", claims=6000, files=3, seed=12, workers=2)
    assert c != a
    da, dc = digest(tmp_path / "a"), digest(tmp_path / "c")
    assert {k: v for k, v in da.items() if k.endswith(".835")} != {
        k: v for k, v in dc.items() if k.endswith(".835")
    }
    assert da["payers.csv"] == dc["payers.csv"]


def test_one_big_file(tmp_path: Path) -> None:
    truth = generate(tmp_path, claims=7000, files=1, seed=3)
    files = list(tmp_path.glob("*.835"))
    assert len(files) == 1 and truth["files"] == 1 and truth["claims"] == 7000
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]
    t = tally(tmp_path)
    assert (t["claims"], t["transactions"], money(t["clp04"])) == (
        7000,
        truth["transactions"],
        truth["clp04_total"],
    )
    assert len(truth["by_payer"]) >= 5  # one file from a clearinghouse: many payers


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        generate(tmp_path, claims=10, start="2025-13")
    with pytest.raises(ValueError, match="claims"):
        generate(tmp_path, claims=0)


def test_cli_synth_writes_the_files(tmp_path: Path) -> None:
    from pipeline.cli import main

    out = tmp_path / "out"
    rc = main(
        [
            "--home",
            str(tmp_path / "home"),
            "synth",
            "--out",
            str(out),
            "--claims",
            "60",
            "--files",
            "2",
            "--seed",
            "5",
            "--start",
            "2024-11",
            "--months",
            "3",
        ]
    )
    assert rc == 0
    assert sorted(p.name for p in out.glob("*.835")) == ["era-2024-11-0001.835", "era-2024-12-0002.835"]
    truth = json.loads((out / "truth.json").read_text())
    assert truth["claims"] == tally(out)["claims"] == 60
    assert truth["parameters"] == {
        "claims": 60,
        "files": 2,
        "seed": 5,
        "start": "2024-11",
        "months": 3,
        "generator_version": truth["parameters"]["generator_version"],
    }
    assert list(truth["crossover"]) == ["2024-11", "2024-12", "2025-01"]
