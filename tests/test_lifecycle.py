"""Denials as a lifecycle (issue 14): episodes, denial events, their resolution, KPIs and history.

Hand-built 835s, three builds of one home. Payers (payers.csv): MED1 medical (appeal_days 90), MED2
medical and DENT1 dental (no appeal_days: the default 120). Every figure below is worked by hand.

f1 MED1, paid 2025-01-10
  S1   PCN-S1  CLP02 4, 100, paid 0, ICN-S1: line 99213 CO-16 100, LQ M51, DTM*050 2025-01-03
       -> event: claim level, kind denial, CO-16 100 (rework: correct_and_resubmit)
  CAP  PCN-CAP CLP02 1, 80, paid 0: CO-24 80 (capitation) -> no event, first pass paid
  DUP  PCN-DUP CLP02 4, 60, paid 0: OA-18 60 -> no event; a duplicate claim; not first pass (CLP02 4)
  APP  PCN-APP CLP02 4, 200, paid 0, ICN-APP: CO-50 200 -> event (appeal)
  WO   PCN-WO  CLP02 4, 300, paid 0, ICN-WO: CO-50 300 -> event (appeal), never resolved
  P    PCN-P   CLP02 1, 100, paid 70: CO-45 10, PR-2 20; DTM*050 2025-01-02 -> first pass, 8 days to pay
  X    PCN-X   CLP02 1, 500, paid 100; DTM*050 2025-01-01 (9 days to pay):
         line 99213 200 paid 100, CO-45 100
         line AD:D7140 300 paid 0, REF*6R LX2, OA-291 300 (the medical plan forwarded it to dental)
       -> event: line level, key LX2, kind redirect, 300 (no worklist: the payer forwarded it)
  L    PCN-L   CLP02 1, 120, paid 100, ICN-L: CO-45 20; DTM*050 2025-01-04 -> 6 days to pay
f2 MED2, paid 2025-01-20
  P2   PCN-P   CLP02 2, 100, paid 0: OA-23 80, PR-2 20 (secondary after MED1) -> no event, first pass
  R    PCN-R   CLP02 4, 50, paid 0, ICN-R: CO-109 50 (wrong payer) -> event, kind redirect (redirect list)
f3 DENT1, paid 2025-02-05
  XD   PCN-X   CLP02 1, 300, paid 240: line AD:D7140 REF*6R LX2 300 paid 240, CO-45 60
       -> X's event redirected on 2025-02-05, recovered least(240, 300) = 240
f4 MED1, paid 2025-02-10
  S1c  PCN-S1  CLP02 1, 100, paid 90, ICN-S1B, CLP09 7, REF*F8 ICN-S1: CO-45 10
       -> S1 corrected_paid (CLP09 7), recovered 90, write-off 100 - 90 = 10; 38 days to pay
  APPo PCN-APP CLP02 1, 200, paid 150, ICN-APP (same CLP07): CO-45 50
       -> APP overturned, recovered 150, write-off 50
  WO2  PCN-WO  CLP02 4, 300, paid 0, ICN-WO2: CO-50 300 (resubmitted, denied again)
       -> a repeat of WO's open claim-level denial, not a new event: nothing added in February
f5 MED1, paid 2025-03-01: L reversed (CLP02 22, ICN-L), nothing replaces it -> January restated
f6 DENT1, paid 2025-07-25: Z PCN-Z paid 40 (moves the as-of date past both 180-day windows)
  -> WO written_off on 2025-01-10 + 180 = 2025-07-09 (write-off 300, month 2025-07: MED1 has no
     payment in July, so that kpi_month row exists for the lifecycle figure alone)
  -> R written_off on 2025-01-20 + 180 = 2025-07-19 (kind redirect: write-off 0)

Builds: A = f1 + f2 (as of 2025-01-20); B = + f3, f4 (as of 2025-02-10); C = + f5, f6 (as of 2025-07-25).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipeline.home import Home
from pipeline.lake import connect_warehouse, ingest
from pipeline.quality.checks import check_warehouse
from pipeline.warehouse import build

DOCS = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"

PAYERS_CSV = (
    "payer_id,payer_name,plan_type,appeal_days\n"
    "MED1,Med One,medical,90\nMED2,Med Two,medical,\nDENT1,Dent One,dental,\n"
)
PAYER_NAMES = {"MED1": "MED ONE", "MED2": "MED TWO", "DENT1": "DENT ONE"}


def claim(
    pcn: str,
    status: str,
    charge: int,
    paid: int,
    ccn: str,
    *body: str,
    patient: int = 0,
    freq: str = "1",
) -> list[str]:
    """CLP (with CLP05 ``patient`` and CLP09 ``freq``), NM1*QC and the given segments."""
    return [
        f"CLP*{pcn}*{status}*{charge}*{paid}*{patient}*12*{ccn}*11*{freq}",
        f"NM1*QC*1*DOE*J****MI*M{pcn}",
        *body,
    ]


def line(code: str, charge: int, paid: int, date: str, *cas: str, qualifier: str = "HC") -> list[str]:
    return [f"SVC*{qualifier}:{code}*{charge}*{paid}**1", f"DTM*472*{date}", *cas]


def remit(payer: str, date: str, control: int, claims: list[list[str]]) -> bytes:
    """One interchange with one payment of ``claims`` by ``payer`` on ``date`` (YYYYMMDD), balanced."""
    total = sum(Decimal(c[0].split("*")[4]) for c in claims)
    method = "ACH" if total > 0 else "NON"
    handling = "I" if total > 0 else "H"
    body = [
        "ST*835*0001",
        f"BPR*{handling}*{total}*C*{method}*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*{date}",
        f"TRN*1*TR{control}*1512345678",
        f"DTM*405*{date}",
        f"N1*PR*{PAYER_NAMES[payer]}",
        f"REF*2U*{payer}",
        "N1*PE*SMILE CLINIC*XX*1234567893",
        "LX*1",
    ]
    for c in claims:
        body += c
    body.append(f"SE*{len(body) + 1}*0001")
    short = date[2:]
    segs = [
        f"ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *{short}*1200*^*00501*"
        f"{control:09d}*0*P*:",
        f"GS*HP*SENDERID*RECEIVERID*{date}*1200*{control}*X*005010X221A1",
        *body,
        f"GE*1*{control}",
        f"IEA*1*{control:09d}",
    ]
    return ("~\n".join(segs) + "~\n").encode()


F1 = remit(
    "MED1",
    "20250110",
    201,
    [
        claim(
            "PCN-S1",
            "4",
            100,
            0,
            "ICN-S1",
            "DTM*050*20250103",
            *line("99213", 100, 0, "20250105", "CAS*CO*16*100"),
            "LQ*HE*M51",
        ),
        claim("PCN-CAP", "1", 80, 0, "ICN-CAP", *line("99213", 80, 0, "20250105", "CAS*CO*24*80")),
        claim("PCN-DUP", "4", 60, 0, "ICN-DUP", *line("99212", 60, 0, "20250105", "CAS*OA*18*60")),
        claim("PCN-APP", "4", 200, 0, "ICN-APP", *line("97110", 200, 0, "20250105", "CAS*CO*50*200")),
        claim("PCN-WO", "4", 300, 0, "ICN-WO", *line("97140", 300, 0, "20250105", "CAS*CO*50*300")),
        claim(
            "PCN-P",
            "1",
            100,
            70,
            "ICN-P",
            "DTM*050*20250102",
            *line("99214", 100, 70, "20250101", "CAS*CO*45*10", "CAS*PR*2*20"),
            patient=20,
        ),
        claim(
            "PCN-X",
            "1",
            500,
            100,
            "ICN-X",
            "DTM*050*20250101",
            *line("99213", 200, 100, "20250101", "CAS*CO*45*100"),
            *line("D7140", 300, 0, "20250101", "REF*6R*LX2", "CAS*OA*291*300", qualifier="AD"),
        ),
        claim(
            "PCN-L",
            "1",
            120,
            100,
            "ICN-L",
            "DTM*050*20250104",
            *line("99213", 120, 100, "20250102", "CAS*CO*45*20"),
        ),
    ],
)
F2 = remit(
    "MED2",
    "20250120",
    202,
    [
        claim(
            "PCN-P",
            "2",
            100,
            0,
            "ICN-P2",
            *line("99214", 100, 0, "20250101", "CAS*OA*23*80", "CAS*PR*2*20"),
            patient=20,
        ),
        claim("PCN-R", "4", 50, 0, "ICN-R", *line("99213", 50, 0, "20250110", "CAS*CO*109*50")),
    ],
)
F3 = remit(
    "DENT1",
    "20250205",
    203,
    [
        claim(
            "PCN-X",
            "1",
            300,
            240,
            "ICN-XD",
            *line("D7140", 300, 240, "20250101", "REF*6R*LX2", "CAS*CO*45*60", qualifier="AD"),
        )
    ],
)
F4 = remit(
    "MED1",
    "20250210",
    204,
    [
        claim(
            "PCN-S1",
            "1",
            100,
            90,
            "ICN-S1B",
            "REF*F8*ICN-S1",
            *line("99213", 100, 90, "20250105", "CAS*CO*45*10"),
            freq="7",
        ),
        claim("PCN-APP", "1", 200, 150, "ICN-APP", *line("97110", 200, 150, "20250105", "CAS*CO*45*50")),
        claim("PCN-WO", "4", 300, 0, "ICN-WO2", *line("97140", 300, 0, "20250105", "CAS*CO*50*300")),
    ],
)
F5 = remit(
    "MED1",
    "20250301",
    205,
    [claim("PCN-L", "22", -120, -100, "ICN-L", *line("99213", -120, -100, "20250102", "CAS*CO*45*-20"))],
)
F6 = remit(
    "DENT1",
    "20250725",
    206,
    [
        claim(
            "PCN-Z", "1", 50, 40, "ICN-Z", *line("D1110", 50, 40, "20250720", "CAS*CO*45*10", qualifier="AD")
        )
    ],
)


def _drop(home: Home, name: str, data: bytes) -> None:
    path = home.inbox / name
    path.write_bytes(data)
    old = time.time() - 3600
    os.utime(path, (old, old))


def rows(db: Path, sql: str) -> list[dict]:
    con = connect_warehouse(db)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def D(text: str) -> Decimal:
    return Decimal(text)


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Three builds (A, B, C) of one home; each warehouse copied aside as it was published."""
    home = Home(tmp_path_factory.mktemp("lifecycle") / "home").ensure()
    (home.root / "payers.csv").write_text(PAYERS_CSV)
    out = {"home": home}
    for label, files in (
        ("A", {"f1": F1, "f2": F2}),
        ("B", {"f3": F3, "f4": F4}),
        ("C", {"f5": F5, "f6": F6}),
    ):
        for name, data in files.items():
            _drop(home, f"{name}.835", data)
        result = ingest(home, workers=1, settle_seconds=0)
        assert not result.rejected, result
        built = build(home)
        copy = home.root / f"warehouse-{label}.duckdb"
        copy.write_bytes(home.warehouse.read_bytes())
        out[label] = copy
        out[f"{label}_build"] = built
    return out


def events(db: Path) -> dict[str, dict]:
    got = rows(db, "SELECT * FROM marts.denial_events")
    return {r["patient_control_number"] + ("/" + r["line_key"] if r["line_key"] else ""): r for r in got}


def kpi(db: Path, month: str, payer: str) -> dict:
    got = rows(db, f"SELECT * FROM marts.kpi_month WHERE payment_month = '{month}' AND payer_key = '{payer}'")
    assert len(got) == 1, (month, payer, got)
    return got[0]


def test_denial_events_and_resolutions(builds):
    ev = events(builds["C"])
    # CO-24, OA-23, OA-18, CO-45 and PR-2 make no event; the reversal of L makes none either
    assert sorted(ev) == ["PCN-APP", "PCN-R", "PCN-S1", "PCN-WO", "PCN-X/LX2"]
    cols = (
        "level",
        "kind",
        "group_code",
        "reason_code",
        "denied_amount",
        "first_denied_date",
        "resolution",
        "resolution_date",
        "recovered_amount",
        "writeoff_amount",
        "age_days",
    )
    import datetime as dt

    d = dt.date
    expected = {
        "PCN-S1": (
            "claim",
            "denial",
            "CO",
            "16",
            D("100"),
            d(2025, 1, 10),
            "corrected_paid",
            d(2025, 2, 10),
            D("90"),
            D("10"),
            31,
        ),
        "PCN-APP": (
            "claim",
            "denial",
            "CO",
            "50",
            D("200"),
            d(2025, 1, 10),
            "overturned",
            d(2025, 2, 10),
            D("150"),
            D("50"),
            31,
        ),
        "PCN-WO": (
            "claim",
            "denial",
            "CO",
            "50",
            D("300"),
            d(2025, 1, 10),
            "written_off",
            d(2025, 7, 9),
            D("0"),
            D("300"),
            180,
        ),
        "PCN-X/LX2": (
            "line",
            "redirect",
            "OA",
            "291",
            D("300"),
            d(2025, 1, 10),
            "redirected",
            d(2025, 2, 5),
            D("240"),
            D("0"),
            26,
        ),
        "PCN-R": (
            "claim",
            "redirect",
            "CO",
            "109",
            D("50"),
            d(2025, 1, 20),
            "written_off",
            d(2025, 7, 19),
            D("0"),
            D("0"),
            180,
        ),
    }
    for key, want in expected.items():
        assert tuple(ev[key][c] for c in cols) == want, key
    assert ev["PCN-S1"]["remark_codes"] == "M51"
    assert ev["PCN-S1"]["payer_claim_control_number"] == "ICN-S1"


def test_open_items_age_against_the_as_of_date(builds):
    ev = events(builds["B"])  # as of 2025-02-10
    assert ev["PCN-WO"]["resolution"] == "open" and ev["PCN-WO"]["resolution_date"] is None
    assert ev["PCN-WO"]["age_days"] == 31
    assert ev["PCN-R"]["resolution"] == "open" and ev["PCN-R"]["age_days"] == 21
    # the settings and as-of date the build used are published for analysts
    assert rows(builds["B"], "SELECT * FROM marts.lifecycle_settings") == [
        {"as_of_date": dt.date(2025, 2, 10), "resolution_window_days": 180, "default_appeal_days": 120}
    ]


def test_episodes(builds):
    eps = {
        (r["patient_control_number"], r["payer_key"]): r
        for r in rows(builds["C"], "SELECT * FROM marts.claim_episodes")
    }
    assert len(eps) == 12  # 8 at MED1, P and R at MED2, X and Z at DENT1
    first_pass = sorted(f"{k[0]}@{k[1]}" for k, r in eps.items() if r["first_pass_paid"])
    # CO-24 capitation and the OA-23 secondary are first-pass; S1, DUP (CLP02 4), APP, WO, X (a
    # redirect on its first remit) and R are not
    assert first_pass == [
        "PCN-CAP@MED1",
        "PCN-L@MED1",
        "PCN-P@MED1",
        "PCN-P@MED2",
        "PCN-X@DENT1",
        "PCN-Z@DENT1",
    ]
    s1 = eps[("PCN-S1", "MED1")]
    assert (s1["remit_count"], s1["paid_amount"], s1["days_to_pay"]) == (2, D("90"), 38)
    wo = eps[("PCN-WO", "MED1")]
    assert (wo["remit_count"], wo["denial_events"], wo["first_remit_date"].isoformat()) == (
        2,
        1,
        "2025-01-10",
    )
    # L: original + reversal, net 0; the first payment still dates the episode (6 days)
    lep = eps[("PCN-L", "MED1")]
    assert (lep["claim_count"], lep["remit_count"], lep["paid_amount"], lep["days_to_pay"]) == (
        2,
        1,
        D("0"),
        6,
    )
    # cross-payer links by CLP01: the secondary (OA-23) finds its primary; R was redirected to nobody
    assert (
        eps[("PCN-P", "MED2")]["expects_other_payer"] and not eps[("PCN-P", "MED2")]["other_payer_unmatched"]
    )
    assert eps[("PCN-R", "MED2")]["other_payer_unmatched"]
    assert eps[("PCN-X", "MED1")]["other_payer_episodes"] == 1


def test_kpi_month_lifecycle_figures(builds):
    jan = kpi(builds["C"], "2025-01", "MED1")
    assert jan["initial_denied_amount"] == D("600")  # S1 100 + APP 200 + WO 300
    assert jan["initial_denied_claims"] == 3
    assert jan["redirected_claims"] == 1  # X
    assert jan["duplicate_claims"] == 1  # DUP
    assert jan["first_pass_yield"] == D("0.3750")  # CAP, P, L of 8 episodes
    assert jan["median_days_to_pay"] == D("8.0")  # P 8, X 9, L 6
    assert jan["denied_claims"] == 3  # S1, APP, WO: paid 0 with denied dollars; not DUP nor CAP
    assert jan["denial_writeoff_amount"] == D("0")
    feb = kpi(builds["C"], "2025-02", "MED1")
    assert feb["initial_denied_amount"] == D("0")  # WO2 repeats WO's open denial
    assert feb["denied_claims"] == 1  # WO2 is still a denied remit of February
    assert feb["overturned_amount"] == D("150")
    assert feb["recovered_amount"] == D("240")  # 150 overturned + 90 corrected
    assert feb["denial_writeoff_amount"] == D("60")  # 50 + 10, final in February
    assert feb["overturn_rate_count"] == D("0.5000")  # 1 of 2 resolved
    assert feb["overturn_rate_dollars"] == D("0.5000")  # 150 of 300 denied
    assert feb["median_days_to_pay"] == D("38.0")  # S1 first paid 2025-02-10, received 2025-01-03
    jul = kpi(builds["C"], "2025-07", "MED1")  # no MED1 payment in July: a lifecycle-only row
    assert jul["payments"] == 0 and jul["denial_writeoff_amount"] == D("300")
    assert jul["overturn_rate_count"] == D("0.0000")
    assert kpi(builds["C"], "2025-01", "MED2")["redirected_claims"] == 1  # R
    assert kpi(builds["C"], "2025-01", "MED2")["first_pass_yield"] == D("0.5000")  # P2 of P2, R


def test_claim_outcomes_deny_by_kind(builds):
    got = {
        r["payer_claim_control_number"]: r
        for r in rows(builds["C"], "SELECT * FROM marts.claim_outcomes WHERE payer_key = 'MED1'")
    }
    denied = rows(
        builds["C"],
        "SELECT payer_claim_control_number AS ccn FROM marts.claim_outcomes WHERE is_denied ORDER BY 1",
    )
    # ICN-APP: the denying remit; ICN-WO2: a remit denied again (a repeat event, still a denied remit)
    assert [r["ccn"] for r in denied] == ["ICN-APP", "ICN-S1", "ICN-WO", "ICN-WO2"]
    assert got["ICN-CAP"]["denied_amount"] == D("0") and got["ICN-CAP"]["top_denial_reason_code"] is None
    assert got["ICN-DUP"]["is_duplicate"] and not got["ICN-DUP"]["is_denied"]
    assert got["ICN-X"]["is_redirect"] and got["ICN-X"]["denied_amount"] == D("0")
    crossover = rows(
        builds["C"], "SELECT dollars, dollars_at_stake FROM marts.crossover_month WHERE reason_code = '291'"
    )
    assert crossover == [{"dollars": D("300"), "dollars_at_stake": D("0")}]  # forwarded by the payer


def test_worklists_close(builds):
    def worklist(db: Path, name: str) -> list[tuple]:
        return [
            (
                r["patient_control_number"],
                r["reason_code"],
                r["dollars_at_stake"],
                r["age_days"],
                str(r["deadline_date"]),
                r["days_left"],
            )
            for r in rows(db, f"SELECT * FROM marts.{name}_worklist ORDER BY worklist_rank")
        ]

    # A, as of 2025-01-20: MED1 appeal_days 90 -> deadline 2025-04-10; MED2 default 120 -> 2025-05-20
    assert worklist(builds["A"], "rework") == [("PCN-S1", "16", D("100"), 10, "2025-04-10", 80)]
    assert worklist(builds["A"], "appeal") == [
        ("PCN-WO", "50", D("300"), 10, "2025-04-10", 80),
        ("PCN-APP", "50", D("200"), 10, "2025-04-10", 80),
    ]
    # OA-291 (X) was forwarded by the payer: on no worklist; CO-109 is
    assert worklist(builds["A"], "redirect") == [("PCN-R", "109", D("50"), 0, "2025-05-20", 120)]
    # B, as of 2025-02-10: S1 corrected and APP overturned leave their lists
    assert worklist(builds["B"], "rework") == []
    assert worklist(builds["B"], "appeal") == [("PCN-WO", "50", D("300"), 31, "2025-04-10", 59)]
    # C: both remaining items were written off after 180 days
    assert worklist(builds["C"], "appeal") == [] and worklist(builds["C"], "redirect") == []


def test_late_reversal_restates_january_in_history(builds):
    hist = rows(
        builds["C"],
        "SELECT build_id, count(*) AS n FROM marts.kpi_month_history GROUP BY build_id "
        "ORDER BY min(built_at)",
    )
    assert [h["build_id"] for h in hist] == [builds[b + "_build"].build_id for b in "ABC"]
    changed = {
        r["figure"]: (r["previous_value"], r["value"])
        for r in rows(
            builds["C"],
            "SELECT * FROM marts.kpi_month_restatements "
            f"WHERE build_id = '{builds['C_build'].build_id}' "
            "AND payment_month = '2025-01' AND payer_key = 'MED1'",
        )
    }
    # L (120 charged, 100 paid) left January when its reversal arrived in March
    assert changed["claims_remitted"] == (D("8"), D("7"))
    assert changed["claim_paid_amount"] == (D("270"), D("170"))
    assert changed["charge_remitted"] == (D("1460"), D("1340"))
    assert "initial_denied_amount" not in changed  # denials happened when they arrived
    # the figures as published by build B are still there
    b_paid = rows(
        builds["C"],
        "SELECT value FROM marts.kpi_month_history WHERE figure = 'claim_paid_amount' AND payment_month = "
        f"'2025-01' AND payer_key = 'MED1' AND build_id = '{builds['B_build'].build_id}'",
    )
    assert b_paid == [{"value": D("270")}]


def test_quality_suite_enforces_the_model_headers(builds, tmp_path):
    from pipeline.quality.engine import QualityContext

    qc = QualityContext()
    clean = check_warehouse(builds["C"], run_id="t", context=qc)
    assert clean.outcome("models.header_tests").success, clean.summary()
    broken = builds["C"].with_name("broken.duckdb")  # beside it: the lake views are relative to the home
    broken.write_bytes(builds["C"].read_bytes())
    with duckdb.connect(str(broken)) as con:
        con.execute(
            "INSERT INTO marts.denial_event_facts "
            "SELECT * FROM marts.denial_event_facts WHERE kind = 'redirect'"
        )
        con.execute("UPDATE marts.kpi_month SET payer_key = NULL WHERE payment_month = '2025-07'")
    report = check_warehouse(broken, run_id="t", context=qc)
    outcome = report.outcome("models.header_tests")
    assert not outcome.success
    assert set(outcome.sample_ids) == {
        "marts.denial_event_facts unique_key(denial_id)",
        "marts.denial_events unique_key(denial_id)",  # the view over it
        "marts.kpi_month unique_key(payment_month, payer_key)",
    }


def test_every_kpi_month_column_is_in_metrics_doc(builds):
    text = DOCS.read_text()
    cols = [
        r["column_name"]
        for r in rows(
            builds["C"],
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
            "AND table_name = 'kpi_month'",
        )
    ]
    missing = [c for c in cols if f"`{c}`" not in text]
    assert not missing, f"docs/metrics.md does not define {missing}"


def test_intermediate_models_are_ephemeral_and_their_tests_still_run(builds):
    """The published warehouse holds no intermediate tables; their header tests ran in the build."""
    from pipeline.warehouse.models import load_models

    ephemeral = [m for m in load_models() if m.ephemeral]
    assert {m.schema for m in ephemeral} == {"intermediate"}
    assert {m.name for m in load_models() if m.schema == "intermediate"} == {m.name for m in ephemeral}
    expected = {(m.name, label) for m in ephemeral for label in m.test_labels()}
    assert len(expected) >= 10
    schemas = {r["schema_name"] for r in rows(builds["C"], "SELECT schema_name FROM duckdb_schemas()")}
    assert "intermediate" not in schemas
    recorded = rows(builds["C"], "SELECT model, test, failures FROM quality.build_model_tests")
    assert {(r["model"], r["test"]) for r in recorded} == expected
    assert all(r["failures"] == 0 for r in recorded)


def test_ephemeral_header_tests_count_failures_in_the_build(builds):
    """record_build_model_tests counts a duplicated key and a NULL in memory, and the warehouse suite
    reports what the build recorded (a missing record fails each test once)."""
    from pipeline.quality.checks import record_build_model_tests
    from pipeline.quality.engine import QualityContext
    from pipeline.warehouse.models import load_models

    (units,) = [m for m in load_models() if m.name == "intermediate.int_denial_units"]
    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS intermediate")
    con.execute(
        "CREATE TABLE intermediate.int_denial_units AS SELECT * FROM (VALUES "
        "('d1', 'denial', 'claim', '16'), ('d1', 'denial', 'claim', '16'), ('d2', NULL, 'line', '50'), "
        "('d3', 'other', 'claim', NULL)) AS t(denial_id, kind, level, reason_code)"
    )
    record_build_model_tests(con, [units])
    got = dict(con.execute("SELECT test, failures FROM quality.build_model_tests").fetchall())
    assert got == {
        "unique_key(denial_id)": 1,  # d1 twice
        "not_null(kind)": 1,
        "accepted_values(kind: denial patient_denial redirect)": 1,  # other
        "accepted_values(level: claim line)": 0,
        "not_null(reason_code)": 1,
    }
    broken = builds["C"].with_name("broken-ephemeral.duckdb")
    broken.write_bytes(builds["C"].read_bytes())
    with duckdb.connect(str(broken)) as wh:
        wh.execute(
            "UPDATE quality.build_model_tests SET failures = 3 "
            "WHERE model = 'intermediate.int_episodes' AND test = 'unique_key(episode_id)'"
        )
        wh.execute("DELETE FROM quality.build_model_tests WHERE model = 'intermediate.int_lines'")
    report = check_warehouse(broken, run_id="t", context=QualityContext())
    outcome = report.outcome("models.header_tests")
    assert not outcome.success
    lines_tests = {
        f"intermediate.int_lines {label}"
        for m in load_models()
        if m.name == "intermediate.int_lines"
        for label in m.test_labels()
    }
    assert set(outcome.sample_ids) == {"intermediate.int_episodes unique_key(episode_id)", *lines_tests}


def test_a_warehouse_built_before_ephemeral_models_is_still_checked(builds):
    """`remit check` on a warehouse an older remit built (intermediate tables kept in the file, no
    recorded results) tests those tables directly instead of failing every intermediate test."""
    from pipeline.quality.engine import QualityContext

    old = builds["C"].with_name("old-layout.duckdb")
    old.write_bytes(builds["C"].read_bytes())
    with duckdb.connect(str(old)) as wh:
        wh.execute("DELETE FROM quality.build_model_tests WHERE model = 'intermediate.int_lines'")
        wh.execute("CREATE SCHEMA intermediate")
        wh.execute(
            "CREATE TABLE intermediate.int_lines AS SELECT * FROM (VALUES ('L1', 'C1'), ('L1', 'C1')) "
            "AS t(line_id, claim_id)"
        )
    outcome = check_warehouse(old, run_id="t", context=QualityContext()).outcome("models.header_tests")
    # tested on the table: L1 twice (not_null(claim_id) holds), not "missing, failing once per test"
    assert set(outcome.sample_ids) == {"intermediate.int_lines unique_key(line_id)"}
