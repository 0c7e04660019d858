"""Claims submitted (837) matched to remits (835), issue 19 items 2, 3 and 5: the matching, the figures
that divide by claims submitted, no-response aging and the report's "Unanswered claims" section.

Hand-built 837s and 835s in one home. payers.csv: MED1 medical, MED2 medical whose 837s use the payer id
87726 (column submitted_payer_id), DENT1 dental. Every figure below is worked by hand; the as-of date is
the latest 835 payment date, 2025-06-30.

837s (submission date = BHT04)                      835 answers (payment date)
  S-D   PCN-D  MED1  2025-01-10  90   P              D   2025-02-05 paid 0, CO-16 90: denied   (26 days)
  S-U3  PCN-U3 DENT1 2025-01-15  400  D (dental)     none: unanswered, 166 days -> 120+
  S-A   PCN-A  MED1  2025-02-20  100  P, REF*6R A1   A   2025-03-10 paid 80, line REF*6R A1    (18 days)
  S-B   PCN-B  MED1  2025-02-25  200  P, no REF*6R   B   2025-03-10 paid 0, CO-50: denied      (13 days)
                                                    B2  2025-04-15 paid 150, CLP09 7: first payment 49 days
  S-C   PCN-C  87726 2025-03-05  300  I, REF*6R C1, C9  C  2025-03-20 paid 250 at MED2 (mapped by
                                                       payers.csv), its line C1 only         (15 days)
  S-E   PCN-E  MED1  2025-03-15  70   P              E   2025-03-10: paid before the 837, so it does not
                                                       answer it: unanswered, 107 days -> 91-120
  S-B7  PCN-B  MED1  2025-03-20  200  P, freq 7      B2  2025-04-15 paid 150                   (26 days)
  S-F   PCN-F  MED1  2025-03-25  150  P              F   2025-04-15 paid 0, CO-50: denied      (21 days)
  S-U2  PCN-U2 MED1  2025-04-20  80   P              none: 71 days -> 61-90
  S-U4  PCN-U4 OTHERX 2025-05-31 60   P              none (payer unknown to 835s and payers.csv): 30 days
                                                       -> 0-30 (the bucket's upper bound)
  S-U1  PCN-U1 MED1  2025-06-10  120  P              none: 20 days -> 0-30
Remits without an 837: N (PCN-N, MED1, 2025-03-10) and Z (PCN-Z, DENT1, 2025-06-30). E has an 837.

Matched 6 of 11; days to first remit 13, 15, 18, 21, 26, 26 (median 19.5); days to payment 15 (C),
18 (A), 26 (B7), 49 (B) (median 22.0; D and F were never paid).
HFMA initial denial rate, MED1, April 2025: one submitted claim first denied in April (S-F, 150) over the
average of January-March's submissions (S-D 90; S-A 100, S-B 200; S-E 70, S-B7 200, S-F 150: 6 claims,
$810): 1 / (6 / 3) = 0.5000 by claims, 150 / (810 / 3) = 0.5556 by dollars. February and March have a
partial basis (the first 837 is from January) and no rate.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from test_lifecycle import claim, line, remit

from pipeline.home import Home
from pipeline.lake import connect_warehouse, ingest
from pipeline.present.format import money, pct
from pipeline.warehouse import build

D = Decimal
DOCS = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"

PAYERS_CSV = (
    "payer_id,payer_name,plan_type,appeal_days,submitted_payer_id\n"
    "MED1,Med One,medical,,\nMED2,Med Two,medical,,87726\nDENT1,Dent One,dental,,\n"
)

# ------------------------------------------------------------------------------------------------ 835s

E0 = remit(
    "MED1",
    "20250205",
    301,
    [claim("PCN-D", "4", 90, 0, "ICN-D", *line("99213", 90, 0, "20250108", "CAS*CO*16*90"))],
)
E1 = remit(
    "MED1",
    "20250310",
    302,
    [
        claim(
            "PCN-A", "1", 100, 80, "ICN-A", *line("99213", 100, 80, "20250215", "CAS*CO*45*20", "REF*6R*A1")
        ),
        claim("PCN-B", "4", 200, 0, "ICN-B", *line("97110", 200, 0, "20250220", "CAS*CO*50*200")),
        claim("PCN-N", "1", 50, 50, "ICN-N", *line("99212", 50, 50, "20250301")),
        claim("PCN-E", "1", 70, 70, "ICN-E", *line("99212", 70, 70, "20250301")),
    ],
)
E2 = remit(
    "MED2",
    "20250320",
    303,
    [
        claim(
            "PCN-C",
            "1",
            300,
            250,
            "ICN-C",
            *line("99283", 200, 150, "20250301", "CAS*CO*45*50", "REF*6R*C1"),
            *line("36415", 100, 100, "20250301"),
        )
    ],
)
E3 = remit(
    "MED1",
    "20250415",
    304,
    [
        claim(
            "PCN-B",
            "1",
            200,
            150,
            "ICN-B2",
            "REF*F8*ICN-B",
            *line("97110", 200, 150, "20250220", "CAS*CO*45*50"),
            freq="7",
        ),
        claim("PCN-F", "4", 150, 0, "ICN-F", *line("97140", 150, 0, "20250320", "CAS*CO*50*150")),
    ],
)
E4 = remit(
    "DENT1",
    "20250630",
    305,
    [
        claim(
            "PCN-Z", "1", 50, 40, "ICN-Z", *line("D1110", 50, 40, "20250620", "CAS*CO*45*10", qualifier="AD")
        )
    ],
)
REMITS = {"e0": E0, "e1": E1, "e2": E2, "e3": E3, "e4": E4}

# ------------------------------------------------------------------------------------------------ 837s

VERSIONS = {"P": "005010X222A1", "I": "005010X223A2", "D": "005010X224A2"}


def clm(
    pcn: str, charge: int, lines: list[tuple], *, freq: str = "1", kind: str = "P", ref_f8: str = ""
) -> list[str]:
    """The 2300 loop of one claim (CLM ... its 2400 lines); ``lines``: (code, charge, date, REF*6R or "")."""
    facility = {"P": "11:B", "I": "13:A", "D": "11:B"}[kind]
    segs = [f"CLM*{pcn}*{charge}***{facility}:{freq}*Y*A*Y*Y"]
    if ref_f8:
        segs.append(f"REF*F8*{ref_f8}")
    if kind == "I":
        first, last = min(ln[2] for ln in lines), max(ln[2] for ln in lines)
        segs += [f"DTP*434*RD8*{first}-{last}", "CL1*1*7*01", "HI*ABK:J069"]
    elif kind == "P":
        segs.append("HI*ABK:J069")
    for n, (code, amount, date, control) in enumerate(lines, start=1):
        segs.append(f"LX*{n}")
        if kind == "P":
            segs.append(f"SV1*HC:{code}*{amount}*UN*1***1")
        elif kind == "I":
            segs.append(f"SV2*0450*HC:{code}*{amount}*UN*1")
        else:
            segs += [f"SV3*AD:{code}*{amount}****1", "TOO*JP*8"]
        segs.append(f"DTP*472*D8*{date}")
        if control:
            segs.append(f"REF*6R*{control}")
    return segs


def submission(kind: str, control: int, transactions: list[tuple[str, str, str, list[list[str]]]]) -> bytes:
    """One 837 interchange of ``kind`` (P, I or D) holding one ST per (BHT04 date, payer id, payer name,
    claims); each claim is sent for one patient (subscriber = patient) to that payer."""
    version = VERSIONS[kind]
    sts = []
    for t, (date, payer_id, payer_name, claims) in enumerate(transactions, start=1):
        body = [
            f"ST*837*{t:04d}*{version}",
            f"BHT*0019*00*BATCH{control}{t}*{date}*1200*CH",
            "NM1*41*2*SMILE CLINIC*****46*SUB1",
            "PER*IC*BILLING*TE*5555551234",
            "NM1*40*2*CLEARINGHOUSE*****46*RCV1",
            "HL*1**20*1",
            "NM1*85*2*SMILE CLINIC*****XX*1234567893",
            "N3*1 MAIN ST",
            "N4*TOWN*CA*90210",
            "REF*EI*123456789",
        ]
        for n, segs in enumerate(claims, start=2):
            body += [
                f"HL*{n}*1*22*0",
                "SBR*P*18*******CI",
                f"NM1*IL*1*DOE*JANE****MI*M{n}{control}",
                "N3*2 SIDE ST",
                "N4*TOWN*CA*90210",
                "DMG*D8*19800101*F",
                f"NM1*PR*2*{payer_name}*****PI*{payer_id}",
                *segs,
            ]
        body.append(f"SE*{len(body) + 1}*{t:04d}")
        sts += body
    date = transactions[0][0]
    segs = [
        f"ISA*00*          *00*          *ZZ*SUBMITTERID    *ZZ*RECEIVERID     *{date[2:]}*1200*^*00501*"
        f"{control:09d}*0*P*:",
        f"GS*HC*SUBMITTERID*RECEIVERID*{date}*1200*{control}*X*{version}",
        *sts,
        f"GE*{len(transactions)}*{control}",
        f"IEA*1*{control:09d}",
    ]
    return ("~\n".join(segs) + "~\n").encode()


SUBMISSIONS = {
    "s1": submission(
        "P", 401, [("20250110", "MED1", "MED ONE", [clm("PCN-D", 90, [("99213", 90, "20250108", "")])])]
    ),
    "s2": submission(
        "D",
        402,
        [("20250115", "DENT1", "DENT ONE", [clm("PCN-U3", 400, [("D2740", 400, "20250110", "")], kind="D")])],
    ),
    # two transactions in one file: BHT04 20 and 25 February
    "s3": submission(
        "P",
        403,
        [
            ("20250220", "MED1", "MED ONE", [clm("PCN-A", 100, [("99213", 100, "20250215", "A1")])]),
            ("20250225", "MED1", "MED ONE", [clm("PCN-B", 200, [("97110", 200, "20250220", "")])]),
        ],
    ),
    "s4": submission(
        "I",
        404,
        [
            (
                "20250305",
                "87726",
                "MED TWO CLAIMS",
                [
                    clm(
                        "PCN-C",
                        300,
                        [("99283", 200, "20250301", "C1"), ("36415", 100, "20250301", "C9")],
                        kind="I",
                    )
                ],
            )
        ],
    ),
    "s5": submission(
        "P", 405, [("20250315", "MED1", "MED ONE", [clm("PCN-E", 70, [("99212", 70, "20250301", "")])])]
    ),
    "s6": submission(
        "P",
        406,
        [
            (
                "20250320",
                "MED1",
                "MED ONE",
                [clm("PCN-B", 200, [("97110", 200, "20250220", "")], freq="7", ref_f8="ICN-B")],
            ),
            ("20250325", "MED1", "MED ONE", [clm("PCN-F", 150, [("97140", 150, "20250320", "")])]),
        ],
    ),
    "s7": submission(
        "P", 407, [("20250420", "MED1", "MED ONE", [clm("PCN-U2", 80, [("99213", 80, "20250415", "")])])]
    ),
    "s8": submission(
        "P",
        408,
        [("20250531", "OTHERX", "OTHER PAYER", [clm("PCN-U4", 60, [("99213", 60, "20250530", "")])])],
    ),
    "s9": submission(
        "P", 409, [("20250610", "MED1", "MED ONE", [clm("PCN-U1", 120, [("99214", 120, "20250605", "")])])]
    ),
}


def _drop(home: Home, name: str, data: bytes) -> None:
    path = home.inbox / name
    path.write_bytes(data)
    old = time.time() - 3600
    os.utime(path, (old, old))


def rows(db: Path, sql: str, params: dict | None = None) -> list[dict]:
    con = connect_warehouse(db)
    try:
        cur = con.execute(sql, params or {})
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def one(db: Path, sql: str, params: dict | None = None):
    return rows(db, sql, params)[0]


def _home(root: Path, files: dict[str, bytes]) -> Home:
    home = Home(root / "home").ensure()
    (home.root / "payers.csv").write_text(PAYERS_CSV)
    for name, data in files.items():
        _drop(home, name, data)
    result = ingest(home, workers=1, settle_seconds=0)
    assert not result.rejected, result
    build(home)
    return home


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    files = {f"{k}.835": v for k, v in REMITS.items()} | {f"{k}.837": v for k, v in SUBMISSIONS.items()}
    return _home(tmp_path_factory.mktemp("submissions"), files)


@pytest.fixture(scope="module")
def db(home) -> Path:
    return home.warehouse


@pytest.fixture(scope="module")
def remits_only(tmp_path_factory) -> Home:
    """The same 835s and no 837 at all."""
    return _home(tmp_path_factory.mktemp("no837"), {f"{k}.835": v for k, v in REMITS.items()})


def matches(db: Path) -> dict[str, dict]:
    got = rows(db, "SELECT * FROM marts.submission_matches")
    out = {}
    for r in got:
        key = r["patient_control_number"] + ("/7" if r["frequency_code"] == "7" else "")
        assert key not in out
        out[key] = r
    return out


# ------------------------------------------------------------------------------------------- matching


def test_every_submitted_claim_is_matched_or_not(db):
    m = matches(db)
    assert sorted(m) == sorted(
        [
            "PCN-D",
            "PCN-U3",
            "PCN-A",
            "PCN-B",
            "PCN-C",
            "PCN-E",
            "PCN-B/7",
            "PCN-F",
            "PCN-U2",
            "PCN-U4",
            "PCN-U1",
        ]
    )
    d = dt.date
    # key: (payer_key, matched_on, is_matched, first remit date, denied, first payment, days, days to pay)
    expected = {
        "PCN-D": ("MED1", "payer_id", True, d(2025, 2, 5), True, None, 26, None),
        "PCN-U3": ("DENT1", "payer_id", False, None, False, None, None, None),
        "PCN-A": ("MED1", "payer_id", True, d(2025, 3, 10), False, d(2025, 3, 10), 18, 18),
        "PCN-B": ("MED1", "payer_id", True, d(2025, 3, 10), True, d(2025, 4, 15), 13, 49),
        "PCN-C": ("MED2", "payers_csv", True, d(2025, 3, 20), False, d(2025, 3, 20), 15, 15),
        "PCN-E": ("MED1", "payer_id", False, None, False, None, None, None),
        "PCN-B/7": ("MED1", "payer_id", True, d(2025, 4, 15), False, d(2025, 4, 15), 26, 26),
        "PCN-F": ("MED1", "payer_id", True, d(2025, 4, 15), True, None, 21, None),
        "PCN-U2": ("MED1", "payer_id", False, None, False, None, None, None),
        "PCN-U4": ("OTHERX", "none", False, None, False, None, None, None),
        "PCN-U1": ("MED1", "payer_id", False, None, False, None, None, None),
    }
    for key, want in expected.items():
        r = m[key]
        got = (
            r["payer_key"],
            r["payer_matched_on"],
            r["is_matched"],
            r["first_remit_date"],
            r["first_remit_denied"],
            r["first_payment_date"],
            r["days_to_first_remit"],
            r["days_to_payment"],
        )
        assert got == want, (key, got, want)
    assert m["PCN-B"]["remit_count"] == 2 and m["PCN-B/7"]["remit_count"] == 1
    assert m["PCN-C"]["claim_type"] == "institutional" and m["PCN-U3"]["claim_type"] == "dental"
    assert m["PCN-C"]["submitted_payer_id"] == "87726"
    # the latest 837 of an episode is its submission; the replacement is counted as a resubmission
    assert (m["PCN-B"]["is_latest_submission"], m["PCN-B/7"]["is_latest_submission"]) == (False, True)
    assert [k for k, r in m.items() if r["is_resubmission"]] == ["PCN-B/7"]


def test_lines_match_by_line_control_number(db):
    m = matches(db)
    got = {k: (m[k]["line_count"], m[k]["lines_with_control_number"], m[k]["lines_matched"]) for k in m}
    assert got["PCN-A"] == (1, 1, 1)
    assert got["PCN-C"] == (2, 2, 1)  # C1 is on the remit, C9 is not
    assert got["PCN-B"] == (1, 0, 0)


def test_claim_episodes_carry_the_submission(db):
    got = {r["patient_control_number"]: r for r in rows(db, "SELECT * FROM marts.claim_episodes")}
    assert (
        got["PCN-B"]["submitted_date"],
        got["PCN-B"]["submitted_charge"],
        got["PCN-B"]["submission_count"],
    ) == (
        dt.date(2025, 3, 20),
        D("200.00"),
        2,
    )
    assert (got["PCN-C"]["payer_key"], got["PCN-C"]["submitted_date"]) == ("MED2", dt.date(2025, 3, 5))
    for pcn in ("PCN-N", "PCN-Z"):
        assert (got[pcn]["submitted_date"], got[pcn]["submitted_charge"], got[pcn]["submission_count"]) == (
            None,
            None,
            0,
        )


def test_remits_without_submission_are_counted_and_listed(db):
    got = rows(
        db, "SELECT patient_control_number, payer_key, first_remit_date FROM marts.remits_without_submission"
    )
    assert sorted((r["patient_control_number"], r["payer_key"]) for r in got) == [
        ("PCN-N", "MED1"),
        ("PCN-Z", "DENT1"),
    ]


# --------------------------------------------------------------------------------------------- aging


def test_unanswered_claims_by_payer_and_age(db):
    got = {
        (r["payer_key"], r["age_bucket"]): (r["unanswered_claims"], r["unanswered_charge"])
        for r in rows(db, "SELECT * FROM marts.unanswered_claims")
    }
    buckets = ("0-30", "31-60", "61-90", "91-120", "120+")
    assert set(got) == {(p, b) for p in ("MED1", "MED2", "DENT1", "OTHERX") for b in buckets}
    nonzero = {k: v for k, v in got.items() if v[0]}
    assert nonzero == {
        ("MED1", "0-30"): (1, D("120.00")),
        ("MED1", "61-90"): (1, D("80.00")),
        ("MED1", "91-120"): (1, D("70.00")),
        ("DENT1", "120+"): (1, D("400.00")),
        ("OTHERX", "0-30"): (1, D("60.00")),
    }
    assert all(v == (0, D("0")) for k, v in got.items() if k not in nonzero)
    items = rows(db, "SELECT * FROM marts.unanswered_claim_items ORDER BY unanswered_rank")
    assert [(r["patient_control_number"], r["age_days"], r["age_bucket"]) for r in items] == [
        ("PCN-U3", 166, "120+"),
        ("PCN-E", 107, "91-120"),
        ("PCN-U2", 71, "61-90"),
        ("PCN-U4", 30, "0-30"),
        ("PCN-U1", 20, "0-30"),
    ]
    assert {r["as_of_date"] for r in items} == {dt.date(2025, 6, 30)}


# ------------------------------------------------------------------------------------------- figures


def kpi(db: Path, month: str, payer: str) -> dict:
    got = rows(
        db,
        "SELECT * FROM marts.submission_kpi_month WHERE month = $m AND payer_key = $p",
        {"m": month, "p": payer},
    )
    assert len(got) == 1, (month, payer, got)
    return got[0]


def test_hfma_initial_denial_rate_on_claims_submitted(db):
    april = kpi(db, "2025-04", "MED1")
    assert (april["initial_denied_claims_submitted"], april["initial_denied_charge_submitted"]) == (
        1,
        D("150.00"),
    )
    assert (april["claims_submitted_prior_3m"], april["charge_submitted_prior_3m"]) == (6, D("810.00"))
    assert april["prior_3m_complete"] is True
    assert april["initial_denial_rate_submitted_count"] == D("0.5000")
    assert april["initial_denial_rate_submitted_dollars"] == D("0.5556")
    # February (S-D) and March (S-B) have denials, but the basis before them is partial: no rate
    for month, denied in (("2025-02", 1), ("2025-03", 1)):
        row = kpi(db, month, "MED1")
        assert row["initial_denied_claims_submitted"] == denied
        assert row["prior_3m_complete"] is False
        assert row["initial_denial_rate_submitted_count"] is None
        assert row["initial_denial_rate_submitted_dollars"] is None
    assert kpi(db, "2025-03", "MED1")["claims_submitted_prior_3m"] == 3  # January and February


def test_submission_counts_days_and_never_remitted_share(db):
    march = kpi(db, "2025-03", "MED1")
    # S-E, S-B7, S-F submitted; S-E (70) is unanswered: 70 / 420
    assert (march["claims_submitted"], march["charge_submitted"], march["resubmitted_claims"]) == (
        3,
        D("420.00"),
        1,
    )
    assert (march["unanswered_claims"], march["unanswered_charge"]) == (1, D("70.00"))
    assert march["charge_never_remitted_share"] == D("0.1667")
    # first remits in March at MED1: S-A (18 days), S-B (13): median 15.5; first paid: S-A only
    assert (march["claims_first_remitted"], march["median_days_to_first_remit"]) == (2, D("15.5"))
    assert (march["claims_first_paid"], march["median_days_to_payment"]) == (1, D("18.0"))
    april = kpi(db, "2025-04", "MED1")  # S-B7 (26), S-F (21); paid: S-B (49), S-B7 (26)
    assert (april["claims_first_remitted"], april["median_days_to_first_remit"]) == (2, D("23.5"))
    assert (april["claims_first_paid"], april["median_days_to_payment"]) == (2, D("37.5"))
    # a payer known only from the 837s, in a month without payments, still has its row
    may = kpi(db, "2025-05", "OTHERX")
    assert (may["claims_submitted"], may["unanswered_claims"], may["charge_never_remitted_share"]) == (
        1,
        1,
        D("1.0000"),
    )


def test_figures_are_null_when_no_837_was_loaded(remits_only):
    db = remits_only.warehouse
    got = rows(db, "SELECT * FROM marts.submission_kpi_month")
    assert got, "the rows of kpi_month are there"
    figures = [c for c in got[0] if c not in ("month", "payer_key", "payer_name", "plan_type")]
    assert all(r[c] is None for r in got for c in figures)
    for mart in (
        "submission_matches",
        "unanswered_claims",
        "unanswered_claim_items",
        "remits_without_submission",
    ):
        assert one(db, f"SELECT count(*) AS n FROM marts.{mart}")["n"] == 0, mart
    assert {r["submitted_date"] for r in rows(db, "SELECT submitted_date FROM marts.claim_episodes")} == {
        None
    }


def test_every_submission_figure_is_in_metrics_doc(db):
    text = DOCS.read_text()
    for table in ("submission_kpi_month", "submission_matches", "unanswered_claims"):
        cols = [
            r["column_name"]
            for r in rows(
                db,
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
                "AND table_name = $t",
                {"t": table},
            )
        ]
        assert cols, table
        missing = [c for c in cols if f"`{c}`" not in text]
        assert not missing, f"docs/metrics.md does not define {missing} of marts.{table}"


def test_quality_suite_passes_on_the_new_marts(db):
    from pipeline.quality.checks import check_warehouse
    from pipeline.quality.engine import QualityContext

    report = check_warehouse(db, run_id="t", context=QualityContext())
    assert report.outcome("models.header_tests").success, report.summary()


# ---------------------------------------------------------------------------------------------- report


def section(page: str) -> str:
    """The text of the report's section 6, tags stripped."""
    part = page[page.index(">6. Unanswered claims") : page.index(">7. Data quality")]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", part)))


@pytest.fixture(scope="module")
def page(home) -> str:
    from pipeline.reports import render_report

    return render_report(home, period="2025-06").read_text(encoding="utf-8")


def test_report_reading_ties_to_the_marts(db, page):
    text = section(page)
    # as of 2025-06-30: S-U3 (400, 166 days), S-E (70, 107), S-U2 (80, 71), S-U4 (60, 30), S-U1 (120, 20)
    n, charge = (
        one(
            db,
            "SELECT count(*) AS n, sum(claim_charge) AS c FROM marts.submission_matches WHERE NOT is_matched",
        )[k]
        for k in ("n", "c")
    )
    assert (n, charge) == (5, D("730.00"))
    assert (
        f"As of 30 June 2025, 5 claims submitted to the payers ({money(charge)}) have no remit: "
        "3 ($550.00) older than 30 days and 1 ($400.00) older than 120 days."
    ) in text
    # Jul 2024-Jun 2025: every 837 (11 claims, $1,770.00), of which $730.00 never remitted
    assert (
        f"Of the $1,770.00 billed on 11 claims submitted in Jul 2024–Jun 2025, {pct(D(730) / D(1770))}"
        in text
    )
    # HFMA basis over April-June (the months with three months of 837s before them): one denial (S-F, $150)
    # over (8 + 7 + 6) / 3 claims and ($1,510 + $1,100 + $860) / 3; remitted basis over the period: 3 of 9
    # remits denied (D, B, F), $440 of $1,210 billed
    assert (
        f"over 3 months of Jul 2024–Jun 2025): {pct(D(3) / D(21))} by claims, {pct(D(450) / D(3470))} by "
        f"dollars; on claims remitted: {pct(D(3) / D(9))} by claims, {pct(D(440) / D(1210))} by dollars."
    ) in text
    remitted = one(
        db,
        "SELECT count(*) FILTER (WHERE is_denied) AS denied, count(*) FILTER (WHERE counts_as_remit) AS n "
        "FROM marts.claim_outcomes",
    )
    assert (remitted["denied"], remitted["n"]) == (3, 9)
    assert "Median days from submission to first remit: 19.5 days; to payment: 22.0 days." in text
    assert "2 remitted claims (patient control number and payer) have no 837 in the warehouse." in text


def test_report_aging_table_and_oldest_claims(page):
    text = section(page)
    assert (
        "All payers $180.00 (2 claims) – $80.00 (1 claim) $70.00 (1 claim) $400.00 (1 claim) "
        "$730.00 (5 claims) "
        "Dent One – – – – $400.00 (1 claim) $400.00 (1 claim) "
        "Med One $120.00 (1 claim) – $80.00 (1 claim) $70.00 (1 claim) – $270.00 (3 claims) "
        "OTHER PAYER $60.00 (1 claim) – – – – $60.00 (1 claim)"
    ) in text
    assert "1 Dent One Dental, original 2025-01-15 166 $400.00" in text
    assert "PCN-" not in text  # no patient control number is printed
    # April, all payers: submitted basis 3 x 1 / 8 claims and 3 x 150 / 1,510 beside the remitted basis 1 of
    # 2 remits and 150 of 350 billed; then 1 claim submitted (S-U2), first remits 21 and 26 days (median
    # 23.5), first payments 49 and 26 days (37.5), $80.00 unanswered of $80.00
    rates = f"Apr 2025 {pct(D(3) / D(8))} {pct(D(450) / D(1510))} {pct(D(1) / D(2))} {pct(D(150) / D(350))}"
    assert rates in text
    assert "Apr 2025 1 23.5 days 37.5 days $80.00 100.0 %" in text
    assert "Jan 2025 – – – –" in text  # no 837 before January: no submitted basis, no remit


def test_report_says_no_837s_loaded(remits_only):
    from pipeline.reports import render_report

    text = section(render_report(remits_only, period="2025-06").read_text(encoding="utf-8"))
    assert "No 837s loaded" in text
    assert "Denial rate, submitted basis" not in text


def test_attention_names_claims_unanswered_after_120_days(page):
    attention = page[page.index(">8. What needs attention") :]
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", attention)))
    # S-U3 (DENT1, $400.00, 166 days) is the one claim past 120 days; the default threshold is 0
    assert (
        "1 claim submitted more than 120 days ago has no remit ($400.00): ask the payer (section 6)." in text
    )


def test_payers_csv_submitted_payer_id_maps_one_837_id_to_one_payer(tmp_path):
    import duckdb

    from pipeline.warehouse import load_payers

    home = Home(tmp_path / "h").ensure()
    (home.root / "payers.csv").write_text(
        "payer_id,payer_name,plan_type,submitted_payer_id\n"
        "MED1,Med One,medical,\nMED2,Med Two,medical,87726\nMED3,Med Three,medical, 87726 \n"
    )
    con = duckdb.connect()
    warnings = load_payers(con, home)
    got = dict(con.execute("SELECT payer_id, submitted_payer_id FROM ref.payers").fetchall())
    assert got == {"MED1": None, "MED2": "87726", "MED3": None}
    assert (
        len(warnings) == 1
        and "line 4: submitted_payer_id 87726 of payer MED3 already maps to payer MED2" in (warnings[0])
    )
    # the column is optional: a payers.csv without it loads with NULLs
    (home.root / "payers.csv").write_text("payer_id,payer_name,plan_type\nMED1,Med One,medical\n")
    assert load_payers(con, home) == []
    assert con.execute("SELECT submitted_payer_id FROM ref.payers").fetchall() == [(None,)]
