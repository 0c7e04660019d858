"""PLB adjustments linked to claims by their reference id (intermediate.int_plb_claim_links and the
marts plb_claim_links, plb_by_claim, plb_by_reason_month), on hand-built files.

Fixtures (tests/fixtures/plb/; payers.csv lists PLBPAY1 and OTHERPAY), every amount chosen by hand:

2025-03-plb.835, two payments of PLBPAY1
  A1 paid 2025-03-14, BPR02 454.25 = (300 + 150) − PLB(L6 −4.25)
     PCN-A1 / ICN-A1: 400 − CO-45 100 = 300
     PCN-A2 / ICN-A2: 200 − CO-45 50 = 150
     PLB L6:ICN-A1 −4.25   → PCN-A1 by CLP07, same payment (interest paid)
  A2 paid 2025-03-20, BPR02 55 = 80 − (20 + 5)
     PCN-A3 / ICN-A3: 100 − CO-45 20 = 80
     PLB WO:ICN-A2 20      → PCN-A2 by CLP07, same file (the claim is in payment A1)
     PLB FB:PCN-A3 5       → PCN-A3 by CLP01 (no claim has CLP07 PCN-A3), same payment
2025-04-plb.835
  B1 PLBPAY1 paid 2025-04-10, BPR02 180 = 250 − (50 + 12.50 + 7.50)
     PCN-B1 / ICN-B1: 250 paid 250
     PLB WO:icn-a1 50      → PCN-A1 by CLP07 (trimmed, upper case), another file (the lake)
     PLB 72:NOSUCH-9 12.50 → unlinked: NOSUCH-9 is the CLP07 of OTHERPAY's claim, not of PLBPAY1's
     PLB J1 7.50           → unlinked: no reference id
  O1 OTHERPAY paid 2025-04-10, BPR02 90: PCN-O1 / NOSUCH-9 90 paid 90, no PLB
"""

from __future__ import annotations

import os
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.home import Home
from pipeline.nightly import run_nightly

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "plb"
D = Decimal


def _stage(home: Home, name: str) -> None:
    home.inbox.mkdir(parents=True, exist_ok=True)
    dest = home.inbox / name
    shutil.copy(FIXTURES / name, dest)
    old = time.time() - 3600
    os.utime(dest, (old, old))


def _query(db: Path, sql: str) -> list[dict]:
    from pipeline.lake import connect_warehouse

    con = connect_warehouse(db)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """March alone, then April added (its WO names a claim paid in March's file)."""
    home = Home(tmp_path_factory.mktemp("plb") / "home").ensure()
    shutil.copy(FIXTURES / "payers.csv", home.root / "payers.csv")
    _stage(home, "2025-03-plb.835")
    first = run_nightly(home, workers=1, report=False)
    march = _query(home.warehouse, "SELECT * FROM marts.plb_claim_links")
    _stage(home, "2025-04-plb.835")
    second = run_nightly(home, workers=1, report=False)
    return {"home": home, "results": (first, second), "march": march}


def _pcn(db: Path) -> dict[str, str]:
    rows = _query(db, "SELECT claim_id, patient_control_number FROM staging.stg_claims")
    return {r["claim_id"]: r["patient_control_number"] for r in rows}


LINKS = [
    # (payment month, reason, reference id, amount, kind, linked claim's CLP01, matched on, scope, candidates)
    (
        "2025-03",
        "L6",
        "ICN-A1",
        D("-4.25"),
        "interest",
        "PCN-A1",
        "payer_claim_control_number",
        "same_payment",
        1,
    ),
    (
        "2025-03",
        "WO",
        "ICN-A2",
        D("20.00"),
        "recoupment",
        "PCN-A2",
        "payer_claim_control_number",
        "same_file",
        1,
    ),
    (
        "2025-03",
        "FB",
        "PCN-A3",
        D("5.00"),
        "recoupment",
        "PCN-A3",
        "patient_control_number",
        "same_payment",
        1,
    ),
    ("2025-04", "WO", "icn-a1", D("50.00"), "recoupment", "PCN-A1", "payer_claim_control_number", "lake", 1),
    ("2025-04", "72", "NOSUCH-9", D("12.50"), "recoupment", None, None, None, 0),
    ("2025-04", "J1", None, D("7.50"), "recoupment", None, None, None, 0),
]


def _links(db: Path) -> list[tuple]:
    pcn = _pcn(db)
    rows = _query(db, "SELECT * FROM marts.plb_claim_links ORDER BY payment_date, transaction_id, plb_id")
    return [
        (
            r["payment_month"],
            r["reason_code"],
            r["reference_id"],
            r["amount"],
            r["reason_kind"],
            pcn.get(r["claim_id"]),
            r["matched_on"],
            r["link_scope"],
            r["candidate_count"],
        )
        for r in rows
    ]


def test_runs_load_both_files(runs):
    first, second = runs["results"]
    assert first.exit_code == 0 and second.exit_code == 0


def test_links_are_the_ones_worked_by_hand(runs):
    db = runs["home"].warehouse
    assert _links(db) == LINKS
    rows = _query(db, "SELECT * FROM marts.plb_claim_links WHERE is_linked ORDER BY payment_date, plb_id")
    # the linked claim's own facts come along
    assert [
        (r["payer_claim_control_number"], r["claim_paid_amount"], r["claim_payment_month"]) for r in rows
    ] == [
        ("ICN-A1", D("300.00"), "2025-03"),
        ("ICN-A2", D("150.00"), "2025-03"),
        ("ICN-A3", D("80.00"), "2025-03"),
        ("ICN-A1", D("300.00"), "2025-03"),
    ]
    assert {r["claim_netting_role"] for r in rows} == {"original"}
    unlinked = _query(db, "SELECT * FROM marts.plb_claim_links WHERE NOT is_linked")
    assert all(r["claim_id"] is None and r["patient_control_number"] is None for r in unlinked)


def test_march_alone_links_within_its_own_file(runs):
    march = sorted(runs["march"], key=lambda r: (r["payment_date"], r["plb_id"]))
    assert [(r["reason_code"], r["link_scope"], r["is_linked"]) for r in march] == [
        ("L6", "same_payment", True),
        ("WO", "same_file", True),
        ("FB", "same_payment", True),
    ]


def test_plb_by_reason_month(runs):
    rows = _query(
        runs["home"].warehouse,
        "SELECT payment_month, payer_key, reason_code, reason_kind, plb_count, amount, linked_count, "
        "linked_amount, unlinked_count, unlinked_amount, linked_claims FROM marts.plb_by_reason_month "
        "ORDER BY payment_month, reason_code",
    )
    assert [tuple(r.values()) for r in rows] == [
        ("2025-03", "PLBPAY1", "FB", "recoupment", 1, D("5.00"), 1, D("5.00"), 0, D("0.00"), 1),
        ("2025-03", "PLBPAY1", "L6", "interest", 1, D("-4.25"), 1, D("-4.25"), 0, D("0.00"), 1),
        ("2025-03", "PLBPAY1", "WO", "recoupment", 1, D("20.00"), 1, D("20.00"), 0, D("0.00"), 1),
        ("2025-04", "PLBPAY1", "72", "recoupment", 1, D("12.50"), 0, D("0.00"), 1, D("12.50"), 0),
        ("2025-04", "PLBPAY1", "J1", "recoupment", 1, D("7.50"), 0, D("0.00"), 1, D("7.50"), 0),
        ("2025-04", "PLBPAY1", "WO", "recoupment", 1, D("50.00"), 1, D("50.00"), 0, D("0.00"), 1),
    ]


def test_plb_by_reason_month_adds_up_to_kpi_month_plb_total(runs):
    # 2025-03: −4.25 + 20 + 5 = 20.75; 2025-04: 50 + 12.50 + 7.50 = 70.00; OTHERPAY has no PLB
    rows = _query(
        runs["home"].warehouse,
        "SELECT k.payment_month, k.payer_key, k.plb_total, "
        "(SELECT sum(amount) FROM marts.plb_by_reason_month AS r "
        " WHERE r.payment_month = k.payment_month AND r.payer_key = k.payer_key) AS by_reason "
        "FROM marts.kpi_month AS k WHERE k.plb_count > 0 ORDER BY 1, 2",
    )
    assert [(r["payment_month"], r["payer_key"], r["plb_total"], r["by_reason"]) for r in rows] == [
        ("2025-03", "PLBPAY1", D("20.75"), D("20.75")),
        ("2025-04", "PLBPAY1", D("70.00"), D("70.00")),
    ]


def test_plb_by_claim(runs):
    rows = _query(
        runs["home"].warehouse,
        "SELECT patient_control_number, plb_count, recoupment_amount, interest_amount, other_amount, "
        "plb_amount, first_plb_month, last_plb_month FROM marts.plb_by_claim ORDER BY 1",
    )
    assert [tuple(r.values()) for r in rows] == [
        # PCN-A1: WO 50 (April) and L6 −4.25 (March)
        ("PCN-A1", 2, D("50.00"), D("-4.25"), D("0.00"), D("45.75"), "2025-03", "2025-04"),
        ("PCN-A2", 1, D("20.00"), D("0.00"), D("0.00"), D("20.00"), "2025-03", "2025-03"),
        ("PCN-A3", 1, D("5.00"), D("0.00"), D("0.00"), D("5.00"), "2025-03", "2025-03"),
    ]


def test_money_types(runs):
    types = _query(
        runs["home"].warehouse,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'marts' AND table_name LIKE 'plb%' AND column_name LIKE '%amount'",
    )
    assert {(t["table_name"], t["column_name"]): t["data_type"] for t in types} == {
        ("plb_claim_links", "amount"): "DECIMAL(18,2)",
        ("plb_claim_links", "claim_paid_amount"): "DECIMAL(18,2)",
        ("plb_by_reason_month", "amount"): "DECIMAL(38,2)",
        ("plb_by_reason_month", "linked_amount"): "DECIMAL(38,2)",
        ("plb_by_reason_month", "unlinked_amount"): "DECIMAL(38,2)",
        ("plb_by_claim", "claim_paid_amount"): "DECIMAL(18,2)",
        ("plb_by_claim", "recoupment_amount"): "DECIMAL(38,2)",
        ("plb_by_claim", "interest_amount"): "DECIMAL(38,2)",
        ("plb_by_claim", "other_amount"): "DECIMAL(38,2)",
        ("plb_by_claim", "plb_amount"): "DECIMAL(38,2)",
    }


# ---- choosing among several candidates (the rules, on the model alone) -------------------------------


def test_candidate_order(tmp_path):
    """CLP07 before CLP01, non-reversal before reversal, same payment before same file before the lake,
    paid on or before the PLB (latest) before paid after it (earliest)."""
    import duckdb

    from pipeline.warehouse.models import load_models

    (model,) = [m for m in load_models() if m.name == "intermediate.int_plb_claim_links"]
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging; CREATE SCHEMA intermediate")
    con.execute(
        "CREATE TABLE staging.stg_payments AS SELECT *, transaction_id AS transaction_ref FROM (VALUES "
        "('T1', 'F1', DATE '2025-05-10'), ('T2', 'F1', DATE '2025-05-01'), ('T3', 'F2', DATE '2025-04-01'), "
        "('T4', 'F3', DATE '2025-06-01'), ('T5', 'F4', DATE '2025-03-01'), ('T9', 'F9', DATE '2025-05-20')"
        ") AS t(transaction_id, file_id, payment_date)"
    )
    # claims: (claim_id, transaction_id, payer, CLP01, CLP07, reversal, payment date, seq)
    claims = [
        ("C-pcn", "T1", "P", "R1", "X", False, "2025-05-10", 9),  # R1 by CLP01 in the same payment ...
        ("C-ccn", "T4", "P", "Y", "R1", False, "2025-06-01", 11),  # ... loses to R1 by CLP07 in the lake
        ("C-rev", "T1", "P", "Z", "R2", True, "2025-05-10", 10),  # reversal in the same payment ...
        ("C-orig", "T3", "P", "Z", "R2", False, "2025-04-01", 6),  # ... loses to the original elsewhere
        ("C-file", "T2", "P", "W", "R3", False, "2025-05-01", 7),  # same file beats the lake
        ("C-lake", "T3", "P", "W", "R3", False, "2025-04-01", 5),
        ("C-old", "T5", "P", "V", "R4", False, "2025-03-01", 1),  # R4: both in the lake, before the PLB:
        ("C-new", "T3", "P", "V", "R4", False, "2025-04-01", 4),  # the latest wins
        ("C-after1", "T4", "P", "U", "R5", False, "2025-06-01", 12),  # R5: all after the PLB (T9):
        ("C-after0", "T4", "P", "U", "R5", False, "2025-06-01", 11),  # the earliest in claim order wins
        ("C-other", "T3", "Q", "S", "R6", False, "2025-04-01", 3),  # another payer's claim: no link
    ]
    con.execute(
        "CREATE TABLE intermediate.int_claims (claim_id VARCHAR, transaction_id VARCHAR, payer_key VARCHAR, "
        "patient_control_number VARCHAR, payer_claim_control_number VARCHAR, is_reversal BOOLEAN, "
        "payment_date DATE, seq BIGINT)"
    )
    con.executemany("INSERT INTO intermediate.int_claims VALUES (?, ?, ?, ?, ?, ?, ?, ?)", claims)
    # int_claims' match keys: these CLP07s and CLP01s are already trimmed and upper case
    con.execute(
        "ALTER TABLE intermediate.int_claims ADD COLUMN payer_claim_match_key VARCHAR; "
        "ALTER TABLE intermediate.int_claims ADD COLUMN patient_control_match_key VARCHAR; "
        "UPDATE intermediate.int_claims SET payer_claim_match_key = payer_claim_control_number, "
        "patient_control_match_key = patient_control_number"
    )
    plbs = [
        ("T1", 1, "R1"),
        ("T1", 2, "R2"),
        ("T1", 3, "R3"),
        ("T1", 4, "R4"),
        ("T9", 1, "R5"),
        ("T1", 5, "R6"),
    ]
    con.execute(
        "CREATE TABLE staging.stg_provider_adjustments AS SELECT transaction_id, '2025-05' AS payment_month, "
        "'P' AS payer_key, 'PRV' AS provider_id, 'WO' AS reason_code, ref AS reference_id, "
        "CAST(1 AS DECIMAL(18, 2)) AS amount, 1 AS plb_ordinal, pos AS position "
        "FROM (VALUES "
        + ", ".join(f"('{t}', {p}, '{r}')" for t, p, r in plbs)
        + ") AS v(transaction_id, pos, ref)"
    )
    rows = con.execute(
        "SELECT reference_id, claim_id, matched_on, link_scope, candidate_count "
        f"FROM ({model.body}) ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("R1", "C-ccn", "payer_claim_control_number", "lake", 1),
        ("R2", "C-orig", "payer_claim_control_number", "lake", 2),
        ("R3", "C-file", "payer_claim_control_number", "same_file", 2),
        ("R4", "C-new", "payer_claim_control_number", "lake", 2),
        ("R5", "C-after0", "payer_claim_control_number", "lake", 2),
        ("R6", None, None, None, 0),
    ]
