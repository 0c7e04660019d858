"""Denial lifecycles of the generator: the truth rules on hand-built episodes, and a generated workload whose
lifecycle truth is checked against the written 835 bytes (read here with a simple segment walk).

CARC flags in the byte checks come from reference/carc.csv, not from the generator's own tables.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.synth import generate
from pipeline.synth import model as synth_model
from pipeline.synth.lifecycle import LifecycleTally, Remit, episode_events
from pipeline.synth.writer import money

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_synth import interchanges, pyx12_errors  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parent.parent
D0 = dt.date(2025, 1, 10).toordinal()


def remit(
    day: int,
    payer: str = "P1",
    *,
    pcn: str = "PCN1",
    ctl: str = "C1",
    f8: str = "",
    freq: str = "1",
    status: str = "1",
    paid: int = 0,
    cas: tuple = (),
    lines: tuple = (),
    pos: int = 0,
) -> Remit:
    return Remit((D0 + day, 0, day, pos), payer, pcn, ctl, f8, freq, status, paid, cas, lines)


def resolved(events) -> list[tuple]:
    return [
        (e.kind, e.level, e.key, e.denied, e.resolution, e.date and e.date - D0, e.recovered) for e in events
    ]


# --- the truth rules on hand-built episodes ---------------------------------------------------------------


def test_co16_then_corrected_claim_paid() -> None:
    denial = remit(0, status="4", lines=(("PCN1L1", 0, (("CO", "16", 10000),)),))
    correction = remit(
        30, ctl="C1C", f8="C1", freq="7", paid=8000, lines=(("PCN1L1", 8000, (("CO", "45", 2000),)),)
    )
    reversal = remit(30, status="22", lines=(("PCN1L1", 0, (("CO", "16", -10000),)),), pos=-1)
    events = episode_events([denial, reversal, correction], D0 + 400, [])
    # claim level (CLP04 = 0); the corrected claim (CLP09 7) pays 80.00 of the 100.00 denied
    assert resolved(events) == [("denial", "claim", "", 10000, "corrected_paid", 30, 8000)]


def test_appeal_partly_overturned_line() -> None:
    first = remit(
        0,
        paid=5000,
        lines=(("PCN1L1", 5000, (("CO", "45", 1000),)), ("PCN1L2", 0, (("CO", "50", 20000),))),
    )
    again = remit(
        60,
        paid=20000,
        lines=(("PCN1L1", 5000, (("CO", "45", 1000),)), ("PCN1L2", 15000, (("CO", "45", 5000),))),
    )
    t = LifecycleTally()
    t.add_episode([first, again], D0 + 400, [])
    assert resolved(episode_events([first, again], D0 + 400, [])) == [
        ("denial", "line", "PCN1L2", 20000, "overturned", 60, 15000)
    ]
    truth = t.truth(D0 + 400, money)
    assert truth["overturned_amount"] == "150.00" and truth["recovered_amount"] == "150.00"
    assert truth["writeoffs_by_month"] == {"2025-03": "50.00"}  # day 60 = 2025-03-11
    assert truth["initial_denied_by_month"] == {"2025-01": "200.00"}
    assert truth["episodes"] == {"count": 1, "first_pass_paid": 0}


def test_resubmission_under_a_new_claim_number_is_corrected_paid() -> None:
    events = episode_events(
        [remit(0, status="4", cas=(("CO", "16", 9000),)), remit(20, ctl="C2", paid=4000)], D0 + 400, []
    )
    assert resolved(events) == [("denial", "claim", "", 9000, "corrected_paid", 20, 4000)]


def test_redirect_paid_by_the_other_plan_and_289() -> None:
    medical = remit(0, "MED", status="4", cas=(("OA", "291", 30000),))
    dental = remit(40, "DEN", ctl="Z1", paid=25000)
    assert resolved(episode_events([medical], D0 + 400, [dental])) == [
        ("redirect", "claim", "", 30000, "redirected", 40, 25000)
    ]
    # 289 is a denial (not a redirect) but a crossover code: the other plan's payment resolves it; a line
    # unit takes the other plan's line with the same line key
    line = remit(
        0,
        "DEN",
        paid=7000,
        lines=(("PCN1L1", 7000, ()), ("PCN1L2", 0, (("CO", "289", 45000),))),
    )
    other = remit(50, "MED", ctl="Z2", paid=31000, lines=(("PCN1L2", 31000, (("CO", "45", 14000),)),))
    assert resolved(episode_events([line], D0 + 400, [other])) == [
        ("denial", "line", "PCN1L2", 45000, "redirected", 50, 31000)
    ]
    # an earlier payment on the same plan wins over a later one from the other plan
    again = remit(30, "DEN", paid=50000, lines=(("PCN1L1", 7000, ()), ("PCN1L2", 43000, ())))
    assert resolved(episode_events([line, again], D0 + 400, [other]))[0][4:] == ("overturned", 30, 43000)


def test_patient_denial_reversal_window_and_repeats() -> None:
    pr96 = remit(0, status="4", cas=(("PR", "96", 5000),))
    assert resolved(episode_events([pr96], D0 + 10, [])) == [
        ("patient_denial", "claim", "", 5000, "transferred_to_patient", 0, 0)
    ]
    denial = remit(0, status="4", cas=(("CO", "50", 7000),))
    reversal = remit(45, status="22", cas=(("CO", "50", -7000),))
    assert resolved(episode_events([denial, reversal], D0 + 400, [])) == [
        ("denial", "claim", "", 7000, "reversed", 45, 0)
    ]
    # written off on day 180 exactly, open the day before
    assert resolved(episode_events([denial], D0 + 180, []))[0][4:] == ("written_off", 180, 0)
    assert resolved(episode_events([denial], D0 + 179, []))[0][4:] == ("open", None, 0)
    # a payment after the window does not resolve it
    late = remit(181, paid=7000)
    assert resolved(episode_events([denial, late], D0 + 400, []))[0][4:] == ("written_off", 180, 0)
    # the same denial repeated while still open is not a new event; after the write-off it is
    repeat = remit(20, status="4", cas=(("CO", "50", 7000),))
    assert len(episode_events([denial, repeat], D0 + 400, [])) == 1
    after = remit(200, status="4", cas=(("CO", "50", 7000),))
    assert len(episode_events([denial, after], D0 + 400, [])) == 2


def test_capitation_secondary_and_duplicates_are_not_events() -> None:
    t = LifecycleTally()
    t.add_episode([remit(0, lines=(("PCN1L1", 0, (("CO", "24", 9000),)),))], D0 + 10, [])
    t.add_episode(
        [remit(0, pcn="P2", status="2", lines=(("P2L1", 0, (("CO", "45", 10), ("OA", "23", 90))),))],
        D0 + 10,
        [],
    )
    t.add_episode([remit(0, pcn="P3", status="4", cas=(("OA", "18", 5000),))], D0 + 10, [])
    truth = t.truth(D0 + 10, money)
    assert truth["events_by_resolution"] == {}
    assert truth["episodes"] == {"count": 3, "first_pass_paid": 2}  # the CLP02 4 duplicate is not first-pass
    assert truth["duplicate_claims"] == 1


def test_generator_code_flags_match_the_reference_table() -> None:
    ref = {r["code"]: r for r in csv.DictReader((REPO / "reference" / "carc.csv").open(encoding="utf-8"))}
    codes = (
        {r[0] for r in synth_model.MEDICAL_DENIALS + synth_model.DENTAL_DENIALS}
        | {r[0] for r in synth_model.MEDICAL_LINE_DENIALS + synth_model.DENTAL_LINE_DENIALS}
        | set(synth_model.CROSSOVER_CODES)
        | {r[3] for r in synth_model.CROSSOVER_ON_MEDICAL + synth_model.CROSSOVER_ON_DENTAL}
        | {"1", "2", "3", "23", "24", "45", "119", "253"}
    )
    for code in codes:
        row = ref[code]
        assert (code in synth_model.DENIAL_CARCS) == (row["is_denial"] == "true"), code
        assert (code in synth_model.DUPLICATE_CARCS) == (row["category"] == "duplicate"), code
        assert (code in synth_model.REDIRECT_CARCS) == (row["is_redirect"] == "true"), code
        assert (code in synth_model.CROSSOVER_CARCS) == (row["is_crossover"] == "true"), code


# --- a generated workload against its bytes ----------------------------------------------------------------


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


def walk(out: Path) -> list[dict]:
    """Every claim of the workload, in claim order (payment date, transaction, position)."""
    claims: list[dict] = []
    tx_no = 0
    for path in sorted(out.glob("*.835")):
        for _elem, _comp, _term, _after, segs in interchanges(path.read_bytes()):
            for s in segs:
                tag = s[0]
                if tag == "ST":
                    tx_no += 1
                    pos = 0
                    claim = line = None
                elif tag == "BPR":
                    day = dt.date(int(s[16][:4]), int(s[16][4:6]), int(s[16][6:8]))
                elif tag == "REF" and s[1] == "2U":
                    payer = s[2]
                elif tag == "CLP":
                    pos += 1
                    claim = {
                        "order": (day, tx_no, pos),
                        "file": path.name,
                        "payer": payer,
                        "pcn": s[1],
                        "status": s[2],
                        "paid": cents(s[4]),
                        "ctl": s[7],
                        "freq": s[9],
                        "f8": "",
                        "cas": [],
                        "lines": [],
                        "received": None,
                    }
                    claims.append(claim)
                    line = None
                elif tag == "SVC":
                    line = {"paid": cents(s[3]), "cas": [], "key": None}
                    claim["lines"].append(line)
                elif tag == "CAS":
                    triples = [(s[1], s[i], cents(s[i + 1])) for i in range(2, len(s), 3) if s[i]]
                    (line if line is not None else claim)["cas"].extend(triples)
                elif tag == "REF" and s[1] == "6R":
                    line["key"] = s[2]
                elif tag == "REF" and s[1] == "F8":
                    claim["f8"] = s[2]
                elif tag == "DTM" and s[1] == "050":
                    claim["received"] = s[2]
                elif tag in ("PLB", "SE"):
                    claim = line = None
    claims.sort(key=lambda c: c["order"])
    return claims


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list[dict]]:
    """20,000 claims: enough for every scenario at its realistic rate."""
    out = tmp_path_factory.mktemp("synth-lifecycle")
    truth = generate(out, claims=20_000, seed=7)
    return out, truth, walk(out)


@pytest.fixture(scope="module")
def carc_kind():
    ref = {r["code"]: r for r in csv.DictReader((REPO / "reference" / "carc.csv").open(encoding="utf-8"))}

    def kind(group: str, code: str) -> str | None:
        row = ref[code]
        if row["category"] == "duplicate":
            return "duplicate"
        if row["is_denial"] == "true":
            return "patient_denial" if group == "PR" else "denial"
        if row["is_redirect"] == "true" and group != "PR":
            return "redirect"
        return None

    return kind


def candidates(c: dict, kind) -> list[tuple[str, str, str, str, int]]:
    """(level, line key, kind, top CARC, denied cents) of each unit of a claim that holds event dollars."""
    if c["paid"] == 0:
        units = [("claim", "", c["cas"] + [x for ln in c["lines"] for x in ln["cas"]])]
    else:
        units = [("line", ln["key"], ln["cas"]) for ln in c["lines"]] + [("claim", "", c["cas"])]
    out = []
    for level, key, adj in units:
        dollars: dict[tuple[str, str], int] = {}
        for g, r, a in adj:
            if a > 0 and kind(g, r) in ("denial", "patient_denial", "redirect"):
                dollars[(g, r)] = dollars.get((g, r), 0) + a
        if dollars:
            top = sorted(dollars, key=lambda gr: (-dollars[gr], gr))[0]
            k = kind(*top)
            out.append((level, key, k, top[1], sum(a for g, r, a in adj if a > 0 and kind(g, r) == k)))
    return out


def test_every_scenario_occurs(workload) -> None:
    _out, truth, claims = workload
    life = truth["lifecycle"]
    assert all(n > 0 for n in life["scenarios"].values()), life["scenarios"]
    assert set(life["scenarios"]) == {
        "appeal_overturned",
        "appeal_partly_overturned",
        "corrected_claim",
        "resubmission",
        "secondary_after_primary",
        "duplicate_submission",
        "redirect_medical_to_dental",
        "redirect_dental_to_medical",
        "late_reversal",
        "late_reversal_of_denial",
    }
    res = life["events_by_resolution"]
    assert all(
        res[r]["count"] > 0
        for r in (
            "open",
            "overturned",
            "corrected_paid",
            "redirected",
            "transferred_to_patient",
            "reversed",
            "written_off",
        )
    )
    by_kind = life["events_by_kind_resolution"]
    assert by_kind["denial"]["overturned"]["count"] >= life["scenarios"]["appeal_overturned"]
    assert by_kind["redirect"]["redirected"]["count"] > 0 and by_kind["denial"]["redirected"]["count"] > 0
    assert life["duplicate_claims"] > 0 and life["redirected_claims"] > 0
    # capitation: CO-24 for the full charge on a processed-as-primary claim, and OA-23 on secondaries
    cap = [
        c
        for c in claims
        if c["status"] == "1"
        and c["lines"]
        and all(ln["cas"] == [("CO", "24", ln["cas"][0][2])] for ln in c["lines"])
    ]
    assert cap and all(c["paid"] == 0 for c in cap)
    assert any(
        r == "23" and g == "OA"
        for c in claims
        if c["pcn"][0] == "E"
        for ln in c["lines"]
        for g, r, _a in ln["cas"]
    )
    # most claims carry DTM*050, so days to pay can be computed
    assert sum(c["received"] is not None for c in claims) > 0.85 * len(claims)


def test_lifecycle_truth_is_internally_consistent(workload) -> None:
    _out, truth, _claims = workload
    life = truth["lifecycle"]
    d = Decimal
    by_kind = life["events_by_kind_resolution"]
    for res, v in life["events_by_resolution"].items():
        parts = [k[res] for k in by_kind.values() if res in k]
        assert v["count"] == sum(p["count"] for p in parts)
        assert d(v["denied_amount"]) == sum(d(p["denied_amount"]) for p in parts)
        assert d(v["recovered_amount"]) == sum(d(p["recovered_amount"]) for p in parts)
    denial = by_kind["denial"]
    assert d(life["overturned_amount"]) == d(denial["overturned"]["recovered_amount"])
    assert d(life["recovered_amount"]) == sum(d(v["recovered_amount"]) for v in denial.values())
    assert sum(map(d, life["initial_denied_by_month"].values())) == sum(
        d(v["denied_amount"]) for v in denial.values()
    )
    writeoff = sum(
        d(denial[r]["denied_amount"]) - d(denial[r]["recovered_amount"])
        for r in ("written_off", "overturned", "corrected_paid")
        if r in denial
    )
    assert sum(map(d, life["writeoffs_by_month"].values())) == writeoff
    buckets = life["open_by_age_bucket"]
    assert sum(b["count"] for b in buckets.values()) == life["events_by_resolution"]["open"]["count"]
    assert sum(d(b["denied_amount"]) for b in buckets.values()) == d(
        life["events_by_resolution"]["open"]["denied_amount"]
    )
    assert all(
        r in ("redirected", "overturned", "corrected_paid") or v["recovered_amount"] == "0.00"
        for r, v in life["events_by_resolution"].items()
    )
    # written_off happens 180 days after the first denial: none in the first six months of 2025 (the run
    # starts in January), while overturned / corrected ones give smaller write-offs from the start
    wo = by_kind["denial"]["written_off"]
    assert wo["recovered_amount"] == "0.00" and wo["count"] > 0
    assert all(
        d(v) < d(wo["denied_amount"]) / 4 for m, v in life["writeoffs_by_month"].items() if m < "2025-07"
    )


def test_lifecycle_truth_matches_the_bytes(workload, carc_kind) -> None:
    _out, truth, claims = workload
    life = truth["lifecycle"]
    nonrev = [c for c in claims if c["status"] != "22"]
    # duplicate claims: non-reversal claims with a duplicate-category CARC
    dup = sum(
        1
        for c in nonrev
        if any(
            carc_kind(g, r) == "duplicate" and a > 0
            for g, r, a in c["cas"] + [x for ln in c["lines"] for x in ln["cas"]]
        )
    )
    assert life["duplicate_claims"] == dup
    seen: set[tuple] = set()
    denied_by_month: dict[str, int] = {}
    redirected: set[int] = set()
    total = 0
    episodes: dict[tuple[str, str], list[dict]] = {}
    flagged: set[int] = set()
    for c in nonrev:
        episodes.setdefault((c["pcn"], c["payer"]), []).append(c)
        for level, key, kind, _top, denied in candidates(c, carc_kind):
            # in this workload a denial never repeats within its episode, so every unit is a new event
            ident = (c["pcn"], c["payer"], level, key, kind)
            assert ident not in seen
            seen.add(ident)
            total += 1
            flagged.add(id(c))
            if kind == "denial":
                month = f"{c['order'][0]:%Y-%m}"
                denied_by_month[month] = denied_by_month.get(month, 0) + denied
            elif kind == "redirect":
                redirected.add(id(c))
    assert life["initial_denied_by_month"] == {m: money(v) for m, v in sorted(denied_by_month.items())}
    assert life["redirected_claims"] == len(redirected)
    assert sum(v["count"] for v in life["events_by_resolution"].values()) == total
    first_pass = sum(
        1
        for eps in episodes.values()
        if eps[0]["status"] in ("1", "2", "3", "19", "20", "21") and id(eps[0]) not in flagged
    )
    assert life["episodes"] == {"count": len(episodes), "first_pass_paid": first_pass}


def test_claim_numbers_are_consistent(workload) -> None:
    _out, _truth, claims = workload
    by_pcn: dict[str, list[dict]] = {}
    for c in claims:
        by_pcn.setdefault(c["pcn"], []).append(c)
    for pcn, cs in by_pcn.items():
        if len(cs) == 1:
            continue
        # a CLP01 shared by several claims is one episode: a reversal pair or a lifecycle episode
        assert pcn[0] in "ER" or any(c["status"] == "22" for c in cs), pcn
        ctls = {c["ctl"] for c in cs}
        for c in cs:
            if c["f8"]:
                assert c["f8"] in ctls and c["freq"] == "7"  # a correction names the claim it replaces
            if c["status"] == "22":
                assert any(
                    o["ctl"] == c["ctl"] and o["order"] < c["order"] for o in cs if o["status"] != "22"
                )


def test_lifecycle_files_pass_pyx12(workload, tmp_path: Path) -> None:
    out, _truth, claims = workload
    # the files holding lifecycle episodes with crossover lines, reversals of denials and corrections
    wanted = {"254", "270", "289", "290", "291"}
    names = sorted(
        {
            c["file"]
            for c in claims
            if c["pcn"][0] == "E"
            and (
                c["status"] == "22"
                or c["f8"]
                or any(r in wanted for ln in c["lines"] for _g, r, _a in ln["cas"])
            )
        }
    )
    assert names
    errors: list[str] = []
    for name in names[:: max(1, len(names) // 10)]:
        errors += pyx12_errors(out / name, tmp_path)
    assert errors == []


def test_payers_csv_has_appeal_days(workload) -> None:
    out, _truth, _claims = workload
    rows = list(csv.DictReader((out / "payers.csv").open()))
    days = {r["payer_id"]: r["appeal_days"] for r in rows}
    assert days["RMT03"] == "120" and days["RMT04"] == ""  # filled for some payers, empty for others
    assert all(v == "" or int(v) > 0 for v in days.values())


def test_resolutions_match_the_bytes(workload, carc_kind) -> None:
    """Every event's resolution worked out again from the bytes, by the spec's rules, against truth.json."""
    _out, truth, claims = workload
    life = truth["lifecycle"]
    ref = {r["code"]: r for r in csv.DictReader((REPO / "reference" / "carc.csv").open(encoding="utf-8"))}
    window = dt.timedelta(days=180)
    as_of = max(c["order"][0] for c in claims)
    assert life["as_of_date"] == as_of.isoformat()
    episodes: dict[tuple[str, str], list[dict]] = {}
    by_pcn: dict[str, list[dict]] = {}
    for c in claims:
        episodes.setdefault((c["pcn"], c["payer"]), []).append(c)
        if c["status"] != "22":
            by_pcn.setdefault(c["pcn"], []).append(c)

    def paid_for(p: dict, level: str, key: str) -> int | None:
        if level == "claim":
            return p["paid"]
        return next((ln["paid"] for ln in p["lines"] if ln["key"] == key), None)

    totals: dict[str, list[int]] = {}
    writeoffs: dict[str, int] = {}
    buckets: dict[str, list[int]] = {}
    overturned = recovered_all = 0
    for (pcn, payer), cs in episodes.items():
        for i, c in enumerate(cs):
            if c["status"] == "22":
                continue
            day = c["order"][0]
            for level, key, kind, top, denied in candidates(c, carc_kind):
                if kind == "patient_denial":
                    res, when, got = "transferred_to_patient", day, 0
                else:
                    res = when = None
                    got = 0
                    hit = None
                    for p in cs[i + 1 :]:
                        amount = paid_for(p, level, key)
                        if p["status"] != "22" and p["order"][0] <= day + window and amount and amount > 0:
                            if p["freq"] == "7":
                                name = "corrected_paid"
                            elif c["ctl"] in (p["ctl"], p["f8"]):
                                name = "overturned"
                            else:
                                name = "corrected_paid"
                            hit = (p["order"], name, amount)
                            break
                    if kind == "redirect" or ref[top]["is_crossover"] == "true":
                        for q in by_pcn[pcn]:
                            if q["payer"] == payer or q["order"] <= c["order"] or q["paid"] <= 0:
                                continue
                            if not day <= q["order"][0] <= day + window:
                                continue
                            if hit is None or q["order"] < hit[0]:
                                amount = paid_for(q, level, key) if level == "line" else q["paid"]
                                hit = (q["order"], "redirected", q["paid"] if amount is None else amount)
                            break
                    if hit is not None:
                        res, when, got = hit[1], hit[0][0], min(hit[2], denied)
                    else:
                        reversal = next(
                            (r for r in cs[i + 1 :] if r["status"] == "22" and r["ctl"] == c["ctl"]), None
                        )
                        if reversal is not None:
                            res, when = "reversed", reversal["order"][0]
                        elif as_of >= day + window:
                            res, when = "written_off", day + window
                        else:
                            res = "open"
                cur = totals.setdefault(res, [0, 0, 0])
                cur[0] += 1
                cur[1] += denied
                cur[2] += got
                if kind == "denial":
                    recovered_all += got
                    overturned += got if res == "overturned" else 0
                    if res in ("written_off", "overturned", "corrected_paid"):
                        month = f"{when:%Y-%m}"
                        writeoffs[month] = writeoffs.get(month, 0) + denied - got
                if res == "open":
                    age = (as_of - day).days
                    name = next(
                        b
                        for b, top_ in (
                            ("0-30", 30),
                            ("31-60", 60),
                            ("61-90", 90),
                            ("91-120", 120),
                            ("121-180", 180),
                        )
                        if age <= top_
                    )
                    b = buckets.setdefault(name, [0, 0])
                    b[0] += 1
                    b[1] += denied
    assert life["events_by_resolution"] == {
        r: {"count": v[0], "denied_amount": money(v[1]), "recovered_amount": money(v[2])}
        for r, v in sorted(totals.items())
    }
    assert life["writeoffs_by_month"] == {m: money(v) for m, v in sorted(writeoffs.items())}
    assert life["overturned_amount"] == money(overturned)
    assert life["recovered_amount"] == money(recovered_all)
    assert {k: v for k, v in life["open_by_age_bucket"].items() if v["count"]} == {
        k: {"count": v[0], "denied_amount": money(v[1])} for k, v in buckets.items()
    }
