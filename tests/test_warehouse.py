"""The warehouse on hand-built 835s: every mart figure below is worked out by hand from the fixtures.

Fixtures (tests/fixtures/warehouse/, payers.csv lists MEDPAY1 medical and DENTPAY1 dental):

2025-01-remit.835, three payments
  T1 Acme Medical (REF*2U MEDPAY1), paid 2025-01-15, BPR02 625.00 = (300 + 160 + 160) - PLB(L6 -5.00)
    A1  CLP02 1, charge 500, paid 300, CLP05 50: line 99213 500 - CO-45 150 - PR-2 50 = 300
    B1  CLP02 1, charge 200, paid 160, CLP07 ICN-B1: line 99214 200 - CO-45 40 = 160   (reversed in February)
    C1  CLP02 1, charge 300, paid 160, CLP05 20:
          line 97110 120 - PR-3 20 = 100
          line 97140 180 - CO-50 120 = 60   partial denial (paid > 0, CO-50 is a denial CARC), RARC N115
        claim: 300 - 20 - 120 = 160
  T2 Bright Dental (DENTPAY1), paid 2025-01-20, BPR02 0.00
    D1  CLP02 4, charge 800, paid 0: line AD D2740 800 - CO-289 800 = 0  (denied; RARC N10)
    E1  CLP02 23, charge 350, paid 0: line AD D7140 350 - OA-290 350 = 0 (forwarded: a redirect, not a denial)
  T3 Mystery Health, no REF*2U and no N1*PR id, TRN03 1777777777 (not in payers.csv), paid 2025-01-25
    F1  CLP02 2, charge 100, paid 80, CLP05 10: line 99212 100 - CO-45 10 - PR-1 10 = 80
2025-02-remit.835, one payment, Acme Medical, paid 2025-02-10,
  BPR02 85.00 = (-160 + 180 + 200 - 120) - PLB WO 15
    B1 reversal   CLP02 22, charge -200, paid -160, CLP07 ICN-B1: line -200 - CO-45 -40 = -160
    B1 correction CLP02 1, charge 200, paid 180, CLP07 ICN-B1-2, REF*F8 ICN-B1: line 200 - CO-45 20 = 180
    G1  CLP02 1, charge 250, paid 200, CLP05 25: line (2025-02-01) 250 - CO-45 15 - CO-42 10 - PR-2 25 = 200
        (CARC 42 stopped 2007-06-01: expired)
    H0  CLP02 22, charge -150, paid -120, CLP07 ICN-H0 (original never loaded): line -150 - CO-42 -30 = -120
        (a reversal: CARC 42 is not flagged expired)

Guidance used (reference/carc_group_guidance.csv): CO-45 and CO-42 absorbed expected_contractual, CO-50 and
CO-289 absorbed denial_writeoff and appealable, OA-290 not absorbed and not appealable, PR-* not absorbed.
"""

from __future__ import annotations

import os
import shutil
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipeline.home import Home
from pipeline.nightly import run_nightly
from pipeline.warehouse import build
from pipeline.warehouse.dictionary import DOCS_FILE, render
from pipeline.warehouse.models import ModelError, load_models

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "warehouse"
FILE_JAN = "2025-01-remit.835"
FILE_FEB = "2025-02-remit.835"
FILE_RESEND = "2025-01-resend.835"  # T3 of the January file again, in a new interchange
UNKNOWN = "1777777777"


def stage(src: Path, inbox: Path) -> Path:
    """Copy ``src`` into ``inbox`` with an old mtime, so ingest sees it as settled at once."""
    inbox.mkdir(parents=True, exist_ok=True)
    dest = inbox / src.name
    shutil.copy(src, dest)
    old = time.time() - 3600
    os.utime(dest, (old, old))
    return dest


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every marts table and view, all rows sorted: equal snapshots mean no figure changed."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' "
                # the history grows with every build (tested in test_lifecycle.py)
                "AND table_name <> 'kpi_month_history' ORDER BY 1"
            ).fetchall()
        ]
        return {n: con.execute(f"SELECT * FROM marts.{n} ORDER BY ALL").fetchall() for n in names}
    finally:
        con.close()


def query(db: Path, sql: str) -> list[dict]:
    """Run ``sql`` on the warehouse read-only and return dict rows."""
    from pipeline.lake import connect_warehouse

    con = connect_warehouse(db)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def D(text: str) -> Decimal:
    return Decimal(text)


def new_home(root: Path) -> Home:
    home = Home(root).ensure()
    shutil.copy(FIXTURE_DIR / "payers.csv", home.root / "payers.csv")
    return home


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three nightly runs on one home: January only, then February added, then nothing new."""
    home = new_home(tmp_path_factory.mktemp("wh") / "home")
    stage(FIXTURE_DIR / FILE_JAN, home.inbox)
    first = run_nightly(home, workers=1, report=False)
    snap_jan = snapshot(home.warehouse)
    kpi_jan = query(home.warehouse, "SELECT * FROM marts.kpi_month")
    den_jan = query(home.warehouse, "SELECT * FROM marts.denials_by_carc_month")
    stage(FIXTURE_DIR / FILE_FEB, home.inbox)
    second = run_nightly(home, workers=1, report=False)
    snap_both = snapshot(home.warehouse)
    third = run_nightly(home, workers=1, report=False)
    snap_again = snapshot(home.warehouse)
    # a later file resending January's Mystery Health payment (same payer, trace and amount)
    stage(FIXTURE_DIR / FILE_RESEND, home.inbox)
    fourth = run_nightly(home, workers=1, report=False)
    snap_resend = snapshot(home.warehouse)
    return {
        "home": home,
        "results": (first, second, third),
        "snap_jan": snap_jan,
        "kpi_jan": kpi_jan,
        "den_jan": den_jan,
        "snap_both": snap_both,
        "snap_again": snap_again,
        "resend": fourth,
        "snap_resend": snap_resend,
    }


@pytest.fixture(scope="module")
def db(runs) -> Path:
    return runs["home"].warehouse


def by_ccn(db: Path) -> dict[str, dict]:
    return {r["payer_claim_control_number"]: r for r in query(db, "SELECT * FROM marts.claim_outcomes")}


def test_runs_exit_ok_and_warn_about_unknown_payer(runs):
    first, second, third = runs["results"]
    assert [r.exit_code for r in (first, second, third)] == [0, 0, 0]
    assert second.build.unknown_payers == [UNKNOWN]
    assert UNKNOWN in second.summary() and "payers.csv" in second.summary()
    assert not list(runs["home"].root.glob("warehouse.duckdb.building-*"))


def test_rerun_without_new_files_changes_no_figure(runs):
    assert runs["snap_again"] == runs["snap_both"]
    assert runs["snap_both"] != runs["snap_jan"]


def test_resent_payment_changes_no_figure(runs):
    assert runs["resend"].exit_code == 0
    assert runs["resend"].ingest.resent == [FILE_RESEND]
    assert runs["snap_resend"] == runs["snap_both"]
    lake = query(runs["home"].warehouse, "SELECT count(*) AS n FROM lake.payments")[0]["n"]
    assert lake == 5  # four payments plus the resend, which staging leaves out


def test_claim_netting_roles(db):
    roles = query(
        db,
        "SELECT c.payer_claim_control_number AS ccn, c.claim_status_code AS st, n.netting_role, "
        "n.is_netted_out, n.counts_as_remit "
        "FROM marts.claim_netting n JOIN staging.stg_claims c USING (claim_id)",
    )
    got = sorted(
        (r["ccn"], r["st"], r["netting_role"], r["is_netted_out"], r["counts_as_remit"]) for r in roles
    )
    assert got == [
        ("ICN-A1", "1", "original", False, True),
        ("ICN-B1", "1", "original_reversed", True, True),
        ("ICN-B1", "22", "reversal_matched", True, False),
        ("ICN-B1-2", "1", "correction", False, True),
        ("ICN-C1", "1", "original", False, True),
        ("ICN-D1", "4", "original", False, True),
        ("ICN-E1", "23", "original", False, False),
        ("ICN-F1", "2", "original", False, True),
        ("ICN-G1", "1", "original", False, True),
        ("ICN-H0", "22", "reversal_unmatched", False, False),
    ]
    netting = {r["claim_id"]: r for r in query(db, "SELECT * FROM marts.claim_netting")}
    ids = {
        r["payer_claim_control_number"] + "/" + r["claim_status_code"]: r["claim_id"]
        for r in query(db, "SELECT * FROM staging.stg_claims")
    }
    # the correction names the reversed original; the pair name each other
    assert netting[ids["ICN-B1-2/1"]]["replaces_claim_id"] == ids["ICN-B1/1"]
    assert netting[ids["ICN-B1/1"]]["matched_claim_id"] == ids["ICN-B1/22"]
    assert netting[ids["ICN-B1/22"]]["matched_claim_id"] == ids["ICN-B1/1"]


def test_claim_outcomes(db):
    c = by_ccn(db)
    # the reversed original and its reversal are gone; 10 lake claims - 2 = 8
    assert sorted(c) == ["ICN-A1", "ICN-B1-2", "ICN-C1", "ICN-D1", "ICN-E1", "ICN-F1", "ICN-G1", "ICN-H0"]
    cols = (
        "payer_key",
        "plan_type",
        "payment_month",
        "charge_amount",
        "paid_amount",
        "patient_responsibility_amount",
        "non_pr_adjustment_amount",
        "provider_absorbed_amount",
        "is_denied",
        "is_zero_paid",
        "counts_as_remit",
        "denied_amount",
        "top_denial_group_code",
        "top_denial_reason_code",
        "top_denial_amount",
        "denial_category",
        "is_crossover",
        "line_count",
        "denied_line_count",
        "dental_line_count",
        "is_dental_claim",
        "netting_role",
    )
    expected = {
        # A1: non-PR = CO-45 150, absorbed 150 (expected contractual)
        "ICN-A1": (
            "MEDPAY1",
            "medical",
            "2025-01",
            D("500"),
            D("300"),
            D("50"),
            D("150"),
            D("150"),
            False,
            False,
            True,
            D("0"),
            None,
            None,
            None,
            None,
            False,
            1,
            0,
            0,
            False,
            "original",
        ),
        # C1: CO-50 120 on line 2 (partial denial) -> claim not denied, denied_amount = 120 from the line
        "ICN-C1": (
            "MEDPAY1",
            "medical",
            "2025-01",
            D("300"),
            D("160"),
            D("20"),
            D("120"),
            D("120"),
            False,
            False,
            True,
            D("120"),
            "CO",
            "50",
            D("120"),
            "medical_necessity",
            False,
            2,
            1,
            0,
            False,
            "original",
        ),
        # D1: CLP02 4, CO-289 800 = charge; absorbed 800 (denial write-off); crossover; dental
        "ICN-D1": (
            "DENTPAY1",
            "dental",
            "2025-01",
            D("800"),
            D("0"),
            D("0"),
            D("800"),
            D("800"),
            True,
            True,
            True,
            D("800"),
            "CO",
            "289",
            D("800"),
            "dental_medical_crossover",
            True,
            1,
            1,
            1,
            True,
            "original",
        ),
        # E1: CLP02 23 redirect: not a remit, not denied, not zero-paid; OA-290 not absorbed
        "ICN-E1": (
            "DENTPAY1",
            "dental",
            "2025-01",
            D("350"),
            D("0"),
            D("0"),
            D("350"),
            D("0"),
            False,
            False,
            False,
            D("0"),
            None,
            None,
            None,
            None,
            True,
            1,
            0,
            1,
            True,
            "original",
        ),
        # F1: payer from TRN03, not in payers.csv
        "ICN-F1": (
            UNKNOWN,
            "unknown",
            "2025-01",
            D("100"),
            D("80"),
            D("10"),
            D("10"),
            D("10"),
            False,
            False,
            True,
            D("0"),
            None,
            None,
            None,
            None,
            False,
            1,
            0,
            0,
            False,
            "original",
        ),
        # B1 correction counts in February: CO-45 20
        "ICN-B1-2": (
            "MEDPAY1",
            "medical",
            "2025-02",
            D("200"),
            D("180"),
            D("0"),
            D("20"),
            D("20"),
            False,
            False,
            True,
            D("0"),
            None,
            None,
            None,
            None,
            False,
            1,
            0,
            0,
            False,
            "correction",
        ),
        # G1: CO-45 15 + CO-42 10 = 25 non-PR, all absorbed
        "ICN-G1": (
            "MEDPAY1",
            "medical",
            "2025-02",
            D("250"),
            D("200"),
            D("25"),
            D("25"),
            D("25"),
            False,
            False,
            True,
            D("0"),
            None,
            None,
            None,
            None,
            False,
            1,
            0,
            0,
            False,
            "original",
        ),
        # H0: unmatched reversal stays, negative, in February; CO-42 -30 absorbed
        "ICN-H0": (
            "MEDPAY1",
            "medical",
            "2025-02",
            D("-150"),
            D("-120"),
            D("0"),
            D("-30"),
            D("-30"),
            False,
            False,
            False,
            D("0"),
            None,
            None,
            None,
            None,
            False,
            1,
            0,
            0,
            False,
            "reversal_unmatched",
        ),
    }
    for ccn, values in expected.items():
        assert tuple(c[ccn][k] for k in cols) == values, ccn
    assert c["ICN-F1"]["payer_name"] == "MYSTERY HEALTH"
    assert c["ICN-A1"]["payer_name"] == "Acme Medical"
    # money reconciles with the lake: 300+160+160+0+0+80 + (-160+180+200-120) = 800 in the lake,
    # and the marts (B1 160 and its reversal -160 netted out) also hold 800
    assert sum(r["paid_amount"] for r in c.values()) == D("800")
    lake = query(
        db,
        "SELECT sum(c.paid_amount) AS s FROM lake.claims c "
        "JOIN lake.payments p USING (file_key, transaction_ordinal) "
        "WHERE p.resent_of_transaction_id IS NULL",
    )[0]["s"]
    assert lake == D("800")


# Marts whose money columns are sums over a month: DECIMAL(38,2), so many large payments never overflow
MONTHLY_SUMS = {
    "kpi_month",
    "denials_by_carc_month",
    "provider_absorbed_month",
    "crossover_month",
    "handbook_carc_procedure_month",
    "handbook_carc_remark_month",
    "handbook_remark_month",
    "plb_by_reason_month",
}


def test_incremental_state_writes_its_identifiers_with_zstd(db):
    """The state a full build keeps for the next one stores its nearly-unique identifiers with zstd, as
    the marts do (DuckDB's default string compression cost twice the CPU on 1M claims); other strings
    keep DuckDB's choice."""
    rows = query(
        db,
        "SELECT column_name, list(DISTINCT compression ORDER BY compression) AS methods "
        "FROM pragma_storage_info('incremental.int_claims') WHERE segment_type = 'VARCHAR' GROUP BY 1",
    )
    methods = {r["column_name"]: r["methods"] for r in rows}
    for column in ("episode_id", "patient_control_number", "payer_claim_control_number"):
        assert methods[column] == ["ZSTD"], (column, methods[column])
    assert "ZSTD" not in methods["payer_key"]


def test_money_columns_are_decimal_18_2_per_row_and_38_2_per_month(db):
    types = query(
        db,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'marts' AND (column_name LIKE '%amount' "
        "OR column_name IN ('dollars', 'dollars_at_stake', 'net_payments', "
        "'plb_total', 'charge_remitted', 'denied_charge', 'net_patient_service_revenue'))",
    )
    assert types
    bad = [
        (t["table_name"], t["column_name"], t["data_type"])
        for t in types
        # monthly sums must be wide; per-row money may be either (the lifecycle models' sums are wide)
        if t["data_type"]
        not in (("DECIMAL(38,2)",) if t["table_name"] in MONTHLY_SUMS else ("DECIMAL(18,2)", "DECIMAL(38,2)"))
    ]
    assert bad == []


def test_denials_by_carc_month(runs, db):
    got = {
        (r["payment_month"], r["payer_key"], r["group_code"], r["reason_code"]): (
            r["adjustment_count"],
            r["dollars"],
            r["claims_affected"],
            r["lines_affected"],
        )
        for r in query(db, "SELECT * FROM marts.denials_by_carc_month")
    }
    assert got == {
        ("2025-01", "MEDPAY1", "CO", "45"): (1, D("150"), 1, 1),  # A1 (B1's 40 netted out)
        ("2025-01", "MEDPAY1", "PR", "2"): (1, D("50"), 1, 1),  # A1
        ("2025-01", "MEDPAY1", "PR", "3"): (1, D("20"), 1, 1),  # C1 line 1
        ("2025-01", "MEDPAY1", "CO", "50"): (1, D("120"), 1, 1),  # C1 line 2
        ("2025-01", "DENTPAY1", "CO", "289"): (1, D("800"), 1, 1),  # D1
        ("2025-01", "DENTPAY1", "OA", "290"): (1, D("350"), 1, 1),  # E1
        ("2025-01", UNKNOWN, "CO", "45"): (1, D("10"), 1, 1),  # F1
        ("2025-01", UNKNOWN, "PR", "1"): (1, D("10"), 1, 1),  # F1
        ("2025-02", "MEDPAY1", "CO", "45"): (2, D("35"), 2, 2),  # B1 correction 20 + G1 15
        ("2025-02", "MEDPAY1", "CO", "42"): (2, D("-20"), 2, 2),  # G1 10 + H0 -30
        ("2025-02", "MEDPAY1", "PR", "2"): (1, D("25"), 1, 1),  # G1
    }
    # Σ = 150+50+20+120+800+350+10+10+35-20+25 = 1550 = the lake's adjustments (B1 +40 and -40 cancel)
    assert sum(v[1] for v in got.values()) == D("1550")
    # guidance and CARC columns come from the reference tables
    row = query(db, "SELECT * FROM marts.denials_by_carc_month WHERE reason_code = '289'")[0]
    ref = query(db, "SELECT * FROM ref.carc_group_guidance WHERE reason_code = '289' AND group_code = 'CO'")[
        0
    ]
    carc = query(db, "SELECT * FROM ref.carc WHERE code = '289'")[0]
    assert (row["appealable"], row["action"], row["absorbed_category"]) == (
        ref["appealable"],
        ref["action"],
        ref["absorbed_category"],
    )
    assert (row["carc_summary"], row["carc_category"], row["is_denial"]) == (
        carc["summary"],
        carc["category"],
        carc["is_denial"],
    )
    # before February arrived, January still held B1's original: CO-45 = 150 + 40 over 2 claims
    jan = {
        (r["payer_key"], r["group_code"], r["reason_code"]): (r["adjustment_count"], r["dollars"])
        for r in runs["den_jan"]
    }
    assert jan[("MEDPAY1", "CO", "45")] == (2, D("190"))


def test_provider_absorbed_month(db):
    got = {
        (r["payment_month"], r["payer_key"], r["absorbed_category"]): (r["dollars"], r["claims"])
        for r in query(db, "SELECT * FROM marts.provider_absorbed_month")
    }
    assert got == {
        ("2025-01", "MEDPAY1", "expected_contractual"): (D("150"), 1),  # CO-45 on A1
        ("2025-01", "MEDPAY1", "denial_writeoff"): (D("120"), 1),  # CO-50 on C1
        ("2025-01", "DENTPAY1", "denial_writeoff"): (D("800"), 1),  # CO-289 on D1 (OA-290 not absorbed)
        ("2025-01", UNKNOWN, "expected_contractual"): (D("10"), 1),  # CO-45 on F1
        # CO-45 20 (B1 correction) + CO-45 15 + CO-42 10 (G1) + CO-42 -30 (H0) = 15 over 3 claims
        ("2025-02", "MEDPAY1", "expected_contractual"): (D("15"), 3),
    }


def test_crossover_month(db):
    got = query(db, "SELECT * FROM marts.crossover_month ORDER BY reason_code")
    keys = (
        "payment_month",
        "payer_key",
        "reason_code",
        "crossover_direction",
        "crossover_forwarded",
        "claims",
        "lines",
        "dental_lines",
        "dollars",
        "payer_lines",
        "payer_dental_lines",
        "dental_line_share",
    )
    assert [tuple(r[k] for k in keys) for r in got] == [
        # Bright Dental in January has 2 lines (D1, E1), both dental: share 2/2 = 1
        ("2025-01", "DENTPAY1", "289", "both_denied", False, 1, 1, 1, D("800"), 2, 2, D("1.0000")),
        ("2025-01", "DENTPAY1", "290", "dental_to_medical", True, 1, 1, 1, D("350"), 2, 2, D("1.0000")),
    ]


def test_kpi_month(runs, db):
    keys = (
        "payments",
        "net_payments",
        "claims_remitted",
        "denied_claims",
        "denial_rate_count",
        "charge_remitted",
        "denied_charge",
        "denial_rate_dollars",
        "lines_remitted",
        "denied_lines",
        "line_denial_rate_count",
        "line_denied_amount",
        "line_denial_rate_dollars",
        "zero_pay_claims",
        "zero_pay_rate",
        "claim_paid_amount",
        "patient_responsibility_amount",
        "net_patient_service_revenue",
        "provider_absorbed_amount",
        "expected_contractual_amount",
        "denial_writeoff_amount",
        "denial_writeoff_rate",
        "plb_count",
        "plb_total",
    )
    got = {
        (r["payment_month"], r["payer_key"]): tuple(r[k] for k in keys)
        for r in query(db, "SELECT * FROM marts.kpi_month")
    }
    assert got == {
        # remits A1, C1 (B1 netted out); lines 3, denied 1 (C1 line 2, 120 of 800 line charge);
        # paid 300+160 = 460, PR 50+20 = 70, NPSR 530; absorbed 150 + 120; no final write-off yet (C1's
        # CO-50 of 2025-01-15 is still open on the as-of date 2025-02-10): 0 / 530 = 0;
        # cash 625 still includes B1's 160 (cash basis); PLB L6 -5
        ("2025-01", "MEDPAY1"): (
            1,
            D("625"),
            2,
            0,
            D("0"),
            D("800"),
            D("0"),
            D("0"),
            3,
            1,
            D("0.3333"),
            D("120"),
            D("0.1500"),
            0,
            D("0"),
            D("460"),
            D("70"),
            D("530"),
            D("270"),
            D("150"),
            D("0"),
            D("0"),
            1,
            D("-5"),
        ),
        # D1 is the only remit (E1 is a 23 redirect): denied, zero-paid, 800 of 800; NPSR 0 -> rate NULL;
        # D1's CO-289 (crossover) is open: no other payer has PCN-D1 yet, so no final write-off
        ("2025-01", "DENTPAY1"): (
            1,
            D("0"),
            1,
            1,
            D("1"),
            D("800"),
            D("800"),
            D("1"),
            1,
            1,
            D("1"),
            D("800"),
            D("1"),
            1,
            D("1"),
            D("0"),
            D("0"),
            D("0"),
            D("800"),
            D("0"),
            D("0"),
            None,
            0,
            D("0"),
        ),
        (("2025-01", UNKNOWN)): (
            1,
            D("80"),
            1,
            0,
            D("0"),
            D("100"),
            D("0"),
            D("0"),
            1,
            0,
            D("0"),
            D("0"),
            D("0"),
            0,
            D("0"),
            D("80"),
            D("10"),
            D("90"),
            D("10"),
            D("10"),
            D("0"),
            D("0"),
            0,
            D("0"),
        ),
        # remits B1 correction and G1 (H0 is an unmatched reversal): charge 450; paid 180+200-120 = 260;
        # PR 25; NPSR 285; absorbed 15; PLB WO 15; cash BPR02 85
        ("2025-02", "MEDPAY1"): (
            1,
            D("85"),
            2,
            0,
            D("0"),
            D("450"),
            D("0"),
            D("0"),
            2,
            0,
            D("0"),
            D("0"),
            D("0"),
            0,
            D("0"),
            D("260"),
            D("25"),
            D("285"),
            D("15"),
            D("15"),
            D("0"),
            D("0"),
            1,
            D("15"),
        ),
    }
    # January alone: B1's original still counted (restated once the reversal arrives)
    jan = {r["payer_key"]: r for r in runs["kpi_jan"]}["MEDPAY1"]
    assert (jan["claims_remitted"], jan["charge_remitted"], jan["claim_paid_amount"]) == (
        3,
        D("1000"),
        D("620"),
    )


def test_appeal_worklist(db):
    got = query(db, "SELECT * FROM marts.appeal_worklist ORDER BY worklist_rank")
    keys = (
        "worklist_rank",
        "patient_control_number",
        "payer_claim_control_number",
        "level",
        "group_code",
        "reason_code",
        "dollars_at_stake",
        "action",
        "remark_codes",
        "age_days",
        "deadline_date",
        "days_left",
    )
    # only open denials whose guidance action is appeal: C1's CO-50 line (first denied 2025-01-15, as of
    # 2025-02-10: 26 days; MEDPAY1 has no appeal_days in payers.csv: deadline 2025-01-15 + 120 days).
    # D1's CO-289 is review_and_decide, not appeal: it is on no worklist.
    assert [tuple(str(r[k]) if k == "deadline_date" else r[k] for k in keys) for r in got] == [
        (1, "PCN-C1", "ICN-C1", "line", "CO", "50", D("120"), "appeal", "N115", 26, "2025-05-15", 94),
    ]
    cols = {
        r["column_name"]
        for r in query(
            db,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'marts' AND table_name = 'appeal_worklist'",
        )
    }
    # CLP01 (the provider's own claim number) is what staff look the claim up by; no names or member ids
    assert not cols & {"patient_name", "member_id"}


def test_expired_carc_and_unknown_payers(db):
    got = query(db, "SELECT * FROM marts.expired_carc_adjustments")
    # G1's CO-42 (service 2025-02-01, stop 2007-06-01); H0's CO-42 is a reversal and exempt
    assert [(r["reason_code"], r["amount"], str(r["service_date"]), str(r["stop_date"])) for r in got] == [
        ("42", D("10"), "2025-02-01", "2007-06-01")
    ]
    unknown = query(db, "SELECT * FROM marts.unknown_payers")
    assert [(r["payer_key"], r["payer_name"], r["payments"]) for r in unknown] == [
        (UNKNOWN, "MYSTERY HEALTH", 1)
    ]


def test_every_mart_column_has_a_comment(db):
    missing = query(
        db,
        "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
        "WHERE schema_name IN ('staging', 'intermediate', 'marts') AND (comment IS NULL OR comment = '')",
    )
    assert missing == []
    tables = query(
        db,
        "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts' "
        "UNION ALL SELECT view_name, comment FROM duckdb_views() WHERE schema_name IN ('marts', 'staging')",
    )
    assert tables and all(t["comment"] and "Grain:" in t["comment"] for t in tables)


def test_docs_warehouse_md_is_up_to_date():
    assert DOCS_FILE.read_text() == render(), "run: uv run python -m pipeline.warehouse.dictionary"


def test_models_are_ordered_and_declare_a_grain():
    models = load_models()
    seen: set[str] = set()
    for m in models:
        assert m.grain and m.description
        for dep in m.depends_on:
            if dep.split(".")[0] in ("staging", "marts"):
                assert dep in seen, f"{m.name} built before {dep}"
        seen.add(m.name)
    names = {m.name for m in models}
    for required in (
        "marts.claim_outcomes",
        "marts.denials_by_carc_month",
        "marts.provider_absorbed_month",
        "marts.crossover_month",
        "marts.kpi_month",
        "marts.appeal_worklist",
    ):
        assert required in names


def test_dependency_cycle_is_refused(tmp_path):
    for layer in ("staging", "marts"):
        (tmp_path / layer).mkdir()
    head = (
        "-- name: marts.{0}\n-- materialized: view\n-- grain: g\n-- depends_on: marts.{1}\n"
        "-- description: d\n"
    )
    (tmp_path / "marts" / "a.sql").write_text(head.format("a", "b") + "SELECT 1 AS x\n")
    (tmp_path / "marts" / "b.sql").write_text(head.format("b", "a") + "SELECT 1 AS x\n")
    with pytest.raises(ModelError, match="cycle"):
        load_models(tmp_path)


def test_failed_build_keeps_the_old_warehouse(runs, tmp_path):
    home = runs["home"]
    before = snapshot(home.warehouse)
    sql = tmp_path / "sql"
    shutil.copytree(Path(__file__).resolve().parents[1] / "sql", sql)
    (sql / "marts" / "zz_broken.sql").write_text(
        "-- name: marts.zz_broken\n-- materialized: table\n-- grain: none\n"
        "-- description: broken on purpose\n"
        "SELECT no_such_column FROM marts.claim_outcomes\n"
    )
    with pytest.raises(RuntimeError, match="zz_broken"):
        build(home, sql_dir=sql)
    assert snapshot(home.warehouse) == before
    assert not list(home.root.glob("warehouse.duckdb.building-*"))


def test_open_reader_survives_a_rebuild(runs):
    home = runs["home"]
    reader = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        n_before = reader.execute("SELECT count(*) FROM marts.claim_outcomes").fetchone()[0]
        build(home)
        # the old file stays readable through the open connection
        assert reader.execute("SELECT count(*) FROM marts.claim_outcomes").fetchone()[0] == n_before
    finally:
        reader.close()
    assert snapshot(home.warehouse) == runs["snap_both"]


def test_analyst_examples_run(db):
    """Every ```sql block of docs/analysts.md runs on the fixture warehouse; question 1 is checked by hand."""
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "analysts.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    results = [query(db, b.strip().rstrip(";")) for b in blocks]
    # question 1: denial CARCs are 289 (1 denial, 800) and 50 (1 denial, 120)
    top = [(r["reason_code"], r["denials"], r["dollars"]) for r in results[2]]
    assert top == [("289", 1, D("800")), ("50", 1, D("120"))]


def test_model_header_tests_are_parsed_and_checked(tmp_path):
    (tmp_path / "marts").mkdir()
    head = (
        "-- name: marts.a\n-- materialized: table\n-- grain: g\n-- description: d\n"
        "-- column k: key\n-- column level: claim or line\n"
    )
    (tmp_path / "marts" / "a.sql").write_text(
        head + "-- unique_key: k\n-- tests: not_null(level),\n--   accepted_values(level: claim line)\n"
        "SELECT 1 AS k, 'claim' AS level\n"
    )
    (model,) = load_models(tmp_path)
    assert model.unique_key == ["k"]
    assert [t.label for t in model.tests] == ["not_null(level)", "accepted_values(level: claim line)"]
    (tmp_path / "marts" / "a.sql").write_text(head + "-- tests: unique(level)\nSELECT 1 AS k\n")
    with pytest.raises(ModelError, match="cannot read the tests"):
        load_models(tmp_path)
    (tmp_path / "marts" / "a.sql").write_text(head + "-- tests: not_null(nope)\nSELECT 1 AS k\n")
    with pytest.raises(ModelError, match="'nope'"):
        load_models(tmp_path)


def _model_writer(tmp_path: Path):
    """A function writing a minimal model (one key column k) into ``tmp_path/<layer>/<name>.sql``."""
    for layer in ("intermediate", "marts"):
        (tmp_path / layer).mkdir()

    def model(layer: str, name: str, materialized: str, deps: str = "") -> None:
        (tmp_path / layer / f"{name}.sql").write_text(
            f"-- name: {layer}.{name}\n-- materialized: {materialized}\n-- grain: g\n-- description: d\n"
            f"-- depends_on: {deps}\n-- column k: key\nSELECT 1 AS k\n"
        )

    return model


def test_intermediate_models_must_be_ephemeral_and_no_view_reads_them(tmp_path):
    model = _model_writer(tmp_path)

    model("intermediate", "int_a", "table")
    with pytest.raises(ModelError, match="must be materialized: ephemeral"):
        load_models(tmp_path)
    model("intermediate", "int_a", "ephemeral")
    model("marts", "b", "ephemeral", "intermediate.int_a")
    with pytest.raises(ModelError, match="materialized must be 'view' or 'table'"):
        load_models(tmp_path)
    model("marts", "b", "view", "intermediate.int_a")
    with pytest.raises(ModelError, match="a view cannot read ephemeral model"):
        load_models(tmp_path)
    model("marts", "b", "table", "intermediate.int_a")
    assert [m.name for m in load_models(tmp_path)] == ["intermediate.int_a", "marts.b"]


def test_ephemeral_models_are_dropped_after_their_last_reader(tmp_path):
    """A full build drops an ephemeral model (after testing it) once the last model reading it is built,
    so its memory serves the models after it; the ones the incremental state keeps stay to the end."""
    from pipeline.warehouse import _last_readers

    model = _model_writer(tmp_path)

    model("intermediate", "int_a", "ephemeral")
    model("intermediate", "int_b", "ephemeral", "intermediate.int_a")
    model("intermediate", "int_kept", "ephemeral", "intermediate.int_a")
    model("marts", "m1", "table", "intermediate.int_a, intermediate.int_b")
    model("marts", "m2", "table", "marts.m1, intermediate.int_a, intermediate.int_kept")
    model("marts", "m3", "table", "marts.m2")
    models = load_models(tmp_path)
    order = [m.name for m in models]
    assert order.index("marts.m2") > order.index("marts.m1")
    done = {
        reader: [m.name for m in gone]
        for reader, gone in _last_readers(models, {"intermediate.int_kept"}).items()
    }
    # int_a is read by int_b, int_kept, m1 and m2: gone after m2, its last reader, not after the first
    assert done == {"marts.m1": ["intermediate.int_b"], "marts.m2": ["intermediate.int_a"]}


def test_table_ids_are_stored_with_zstd(tmp_path):
    """VARCHAR *_id columns of table models are written with zstd; other columns keep DuckDB's choice."""
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "t.sql").write_text(
        "-- name: marts.t\n-- materialized: table\n-- grain: g\n-- description: d\n-- column claim_id: id\n"
        "-- column payer_key: p\n-- column n: n\n"
        "SELECT 'c' || CAST(i AS VARCHAR) AS claim_id, 'P' AS payer_key, i AS n FROM range(100000) AS r(i)\n"
    )
    (m,) = load_models(tmp_path)
    columns = [("claim_id", "VARCHAR"), ("payer_key", "VARCHAR"), ("n", "BIGINT")]
    assert m.zstd_columns(columns) == ["claim_id"]
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE SCHEMA marts")
    for statement in m.create_statements(columns):
        con.execute(statement)
    con.execute("CHECKPOINT")
    used = dict(
        con.execute(
            "SELECT column_name, min(compression) FROM pragma_storage_info('marts.t') "
            "WHERE segment_type NOT IN ('VALIDITY') GROUP BY 1"
        ).fetchall()
    )
    assert used["claim_id"] == "ZSTD"
    assert used["payer_key"] != "ZSTD"
    assert con.execute("SELECT count(*), max(n) FROM marts.t").fetchone() == (100000, 99999)


def test_layers_depend_downward_only():
    """staging reads only the lake and ref; intermediate never reads marts (dbt-style layering)."""
    allowed = {
        "staging": {"lake", "ref", "staging"},
        "intermediate": {"lake", "ref", "staging", "intermediate"},
        "marts": {"ref", "staging", "intermediate", "marts"},
    }
    for m in load_models():
        bad = [d for d in m.depends_on if d.split(".")[0] not in allowed[m.schema]]
        assert bad == [], f"{m.name} depends on {bad}"


def test_payers_csv_appeal_days(tmp_path):
    home = Home(tmp_path / "home").ensure()
    (home.root / "payers.csv").write_text(
        "payer_id,payer_name,plan_type,appeal_days\nP1,One,medical,90\nP2,Two,dental,\n"
    )
    con = duckdb.connect()
    from pipeline.warehouse import load_payers

    load_payers(con, home)
    assert con.execute("SELECT payer_id, appeal_days FROM ref.payers ORDER BY 1").fetchall() == [
        ("P1", 90),
        ("P2", None),
    ]
    (home.root / "payers.csv").write_text(
        "payer_id,payer_name,plan_type,appeal_days\nP1,One,medical,ninety\n"
    )
    with pytest.raises(ValueError, match=r"payers.csv line 2: appeal_days 'ninety' of payer P1"):
        load_payers(con, home)


def test_payers_csv_as_spreadsheets_save_it(tmp_path):
    """Excel saves "CSV" on Windows as Windows-1252 and "Unicode text" as UTF-16: an accented payer name
    was a bare "'utf-8' codec can't decode byte 0xd6" (found by trying), naming no file, every night.
    UTF-8 and UTF-16 are read as they are; Windows-1252 too, with a warning naming the file. Column
    names are matched whatever their case and surrounding spaces."""
    from pipeline.warehouse import load_payers

    home = Home(tmp_path / "home").ensure()
    text = "payer_id,payer_name,plan_type\r\nP1,NÖRDLAND Krankenkasse,medical\r\nP2,O’Brien Dental,dental\r\n"
    expected = [("P1", "NÖRDLAND Krankenkasse"), ("P2", "O’Brien Dental")]
    # column names as a spreadsheet may write them were "header lacks payer_id, payer_name, plan_type"
    (home.root / "payers.csv").write_text(
        text.replace("payer_id,payer_name,plan_type", "Payer_ID, Payer_Name ,PLAN_TYPE")
    )
    con = duckdb.connect()
    assert load_payers(con, home) == []
    assert con.execute("SELECT payer_id, payer_name FROM ref.payers ORDER BY 1").fetchall() == expected
    for encoding, warned in (("utf-8", False), ("utf-8-sig", False), ("utf-16", False), ("cp1252", True)):
        (home.root / "payers.csv").write_bytes(text.encode(encoding))
        con = duckdb.connect()
        warnings = load_payers(con, home)
        assert con.execute("SELECT payer_id, payer_name FROM ref.payers ORDER BY 1").fetchall() == expected
        assert bool(warnings) == warned, encoding
        if warned:  # the first byte that is not UTF-8: Ö, after the 31-byte header line and 'P1,N' (byte 36)
            assert warnings == [
                f"{home.root / 'payers.csv'} is not UTF-8 (byte 36 is not): read as Windows-1252; save it as "
                "UTF-8 to be sure of its accented letters"
            ]


def test_payers_csv_rows_the_reader_would_misread_are_refused(tmp_path):
    """An unclosed quote swallowed every later row into one field (found by trying: those payers became
    'unknown' with only "not in payers.csv" to say so); an unquoted comma in a name shifted the plan type.
    A quoted comma, and optional columns left off a row, are fine."""
    from pipeline.warehouse import load_payers

    home = Home(tmp_path / "home").ensure()
    con = duckdb.connect()
    header = "payer_id,payer_name,plan_type,appeal_days\n"
    good = header + 'P1,"Smith, Jones and Co",medical,90\nP2,Two,dental\n'
    (home.root / "payers.csv").write_text(good)
    assert load_payers(con, home) == []
    assert con.execute("SELECT * FROM ref.payers ORDER BY 1").fetchall() == [
        ("P1", "Smith, Jones and Co", "medical", 90, None),
        ("P2", "Two", "dental", None, None),
    ]
    for body, message in (
        # line 2 opens a quote that nothing closes: lines 3 and 4 would be read as its name
        (
            'P9,"Bad payer,commercial,90\nP1,One,medical,90\nP2,Two,dental,\n',
            "line 2: a quoted field runs on to line 4",
        ),
        ("P1,One,medical,90\nP2,Two, Inc,dental,30\n", r"line 3: 5 field\(s\), the header names 4"),
        ("P1,One\n", r"line 2: 2 field\(s\), the header names 4"),
    ):
        (home.root / "payers.csv").write_text(header + body)
        with pytest.raises(ValueError, match=message):
            load_payers(con, home)
