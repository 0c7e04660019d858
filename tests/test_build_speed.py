"""What the 1 M-claim build-speed work (issue 14, "no slower than today") changed, each checked on its own.

- A lake table with no parts yet gets a typed empty view whose types are worked out from the Arrow schema
  (``pipeline.lake.views.duckdb_type``), no longer read by handing DuckDB an Arrow table (which imports
  pandas: over a second of CPU per build). The types must be exactly those DuckDB gives the Arrow table.
- Neither the lake views nor the reference seeds import pandas any more.
- ``intermediate.int_claims.seq`` numbers payments and adds the CLP position instead of a window over every
  claim: its order must still be payment date, then transaction id (as text), then CLP position.
- Nearly-unique VARCHAR identifiers besides ``*_id`` are written with zstd.
- ``marts.handbook_carc_remark_month`` pairs adjustments and remarks in one join, without a DISTINCT: a
  code sent at claim level and again on a line, or twice on one line, must still count once.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline.lake.state import MANIFEST_SCHEMA
from pipeline.lake.views import _empty_select, table_schema
from pipeline.warehouse.models import load_models
from pipeline.x12.schema import TABLES

SCHEMAS = {**{name: table_schema(name) for name in TABLES}, "manifest": MANIFEST_SCHEMA}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_empty_view_types_are_duckdbs_own(name):
    """The typed empty SELECT of each lake table equals the types DuckDB gives its Arrow schema."""
    schema = SCHEMAS[name]
    con = duckdb.connect()
    con.register("arrow_empty", schema.empty_table())
    expected = con.execute("DESCRIBE SELECT * FROM arrow_empty").fetchall()
    con.unregister("arrow_empty")
    got = con.execute(f"DESCRIBE {_empty_select(con, schema)}").fetchall()
    assert [r[:2] for r in got] == [r[:2] for r in expected]
    assert con.execute(f"SELECT count(*) FROM ({_empty_select(con, schema)})").fetchone()[0] == 0


def test_lake_views_and_reference_import_no_pandas(tmp_path):
    """The build's start (views over an empty lake, so every table is an empty view, and the reference
    seeds) leaves pandas unimported; the seeds hold their rows with their declared types."""
    code = f"""
import sys
from pathlib import Path
import duckdb
from pipeline.lake import register_views
from pipeline.reference import load_reference
con = duckdb.connect()
register_views(con, Path({str(tmp_path / "lake")!r}))
counts = load_reference(con)
print("pandas" in sys.modules, counts["carc"], counts["group_codes"])
print(con.execute("SELECT count(*), count(stop_date), bool_or(is_denial) FROM ref.carc").fetchone())
print(con.execute("SELECT data_type FROM information_schema.columns WHERE table_schema = 'ref' "
                  "AND table_name = 'carc' AND column_name = 'stop_date'").fetchone()[0])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    first, second, third = out.splitlines()
    pandas_loaded, carc_rows, group_rows = first.split()
    assert pandas_loaded == "False"
    assert int(carc_rows) > 300  # the CARC seed list
    assert int(group_rows) == 5  # CO, CR, OA, PI, PR
    total, with_stop, any_denial = eval(second)  # a tuple of plain values
    assert total == int(carc_rows) and 0 < with_stop < total and any_denial is True
    assert third == "DATE"


def _int_claims_body() -> str:
    (model,) = [m for m in load_models() if m.name == "intermediate.int_claims"]
    return model.body


def test_claim_order_is_payment_date_then_transaction_text_then_clp_position():
    """Hand-built claims whose order depends on each part of the key: two payments on one date whose
    transaction ids sort as text ('...-10' before '...-9'), an earlier payment listed last, and CLP
    positions 2 and 10 in one payment (numeric, not text, order)."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    con.execute(
        "CREATE TABLE staging.stg_payments (transaction_id VARCHAR, file_key BIGINT, "
        "transaction_ordinal INTEGER, payment_date DATE, payer_key VARCHAR)"
    )
    # transactions 9 and 10 of file f (key 5), 1 of file g (key 7): their readable ids are f-9, f-10, g-1
    con.execute(
        "INSERT INTO staging.stg_payments VALUES ('f-9', 5, 9, DATE '2025-03-01', 'P'), "
        "('f-10', 5, 10, DATE '2025-03-01', 'P'), ('g-1', 7, 1, DATE '2025-02-01', 'P')"
    )
    columns = (
        "claim_id VARCHAR, transaction_id VARCHAR, claim_ordinal INTEGER, payment_date DATE, "
        "payer_key VARCHAR, patient_control_number VARCHAR, payer_claim_control_number VARCHAR, "
        "original_reference_number VARCHAR, claim_frequency_code VARCHAR, claim_status_code VARCHAR, "
        "is_reversal BOOLEAN, charge_amount DECIMAL(18, 2), paid_amount DECIMAL(18, 2), received_date DATE, "
        "statement_from_date DATE, payment_month VARCHAR, payee_key VARCHAR, patient_key VARCHAR, "
        "claim_filing_indicator VARCHAR, patient_responsibility_amount DECIMAL(18, 2)"
    )
    con.execute(f"CREATE TABLE staging.stg_claims ({columns})")
    claims = [  # (claim_id, transaction_id, CLP position, payment date)
        ("f-9-10", "f-9", 10, dt.date(2025, 3, 1)),
        ("f-9-2", "f-9", 2, dt.date(2025, 3, 1)),
        ("f-10-1", "f-10", 1, dt.date(2025, 3, 1)),
        ("g-1-1", "g-1", 1, dt.date(2025, 2, 1)),
    ]
    for claim_id, tx, ordinal, date in claims:
        con.execute(
            "INSERT INTO staging.stg_claims VALUES (?, ?, ?, ?, 'P', ?, NULL, NULL, '1', '1', false, 10, 10, "
            "NULL, NULL, '2025-03', NULL, NULL, NULL, 0)",
            [claim_id, tx, ordinal, date, claim_id],
        )
    rows = con.execute(f"SELECT claim_id, seq FROM ({_int_claims_body()}) ORDER BY seq").fetchall()
    # g-1 paid first; on 2025-03-01 'f-10' < 'f-9' as text; in f-9, CLP 2 before CLP 10
    assert [r[0] for r in rows] == ["g-1-1", "f-10-1", "f-9-2", "f-9-10"]
    assert len({r[1] for r in rows}) == 4


def test_claim_order_keeps_the_text_order_of_every_st_ordinal_and_file_key():
    """seq is made from the claim's own row: for ST ordinals 1..9,999 of one file and date its order is
    the ordinals' text order ('1' < '10' < '100' < '1000' < '1001' < '101' < ... < '9999'), files on one
    date sort by file_key across its sign, dates by the day; outside what fits (a 10,000th transaction,
    a date before 1900) seq is NULL, which int_claims' not_null(seq) test reports."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    con.execute(
        "CREATE TABLE staging.stg_payments AS SELECT 1000 + o AS transaction_id, 3::BIGINT AS file_key, "
        "o::INTEGER AS transaction_ordinal, DATE '2025-03-01' AS payment_date FROM range(1, 10001) AS t(o)"
    )
    con.execute(
        "INSERT INTO staging.stg_payments VALUES (1, -9223372036854775808, 1, DATE '2025-03-01'), "
        "(2, 9223372036854775807, 9999, DATE '2025-02-28'), (3, -1, 1, DATE '2025-03-02'), "
        "(4, 5, 1, DATE '1899-12-31')"
    )
    con.execute(
        "CREATE TABLE staging.stg_claims AS SELECT transaction_id AS claim_id, transaction_id, "
        "1 AS claim_ordinal, payment_date, 'P' AS payer_key, NULL::VARCHAR AS patient_control_number, "
        "NULL::VARCHAR AS payer_claim_control_number, NULL::VARCHAR AS original_reference_number, "
        "'1' AS claim_frequency_code, '1' AS claim_status_code, false AS is_reversal, "
        "10::DECIMAL(18, 2) AS charge_amount, 10::DECIMAL(18, 2) AS paid_amount, "
        "NULL::DATE AS received_date, NULL::DATE AS statement_from_date, '2025-03' AS payment_month, "
        "NULL::VARCHAR AS payee_key, NULL::VARCHAR AS patient_key, NULL::VARCHAR AS claim_filing_indicator, "
        "0::DECIMAL(18, 2) AS patient_responsibility_amount FROM staging.stg_payments"
    )
    rows = con.execute(f"SELECT claim_id, seq FROM ({_int_claims_body()}) ORDER BY seq NULLS LAST").fetchall()
    by_text = [1000 + o for o in sorted(range(1, 10000), key=str)]
    assert [int(r[0]) for r in rows if r[1] is not None] == [2, 1, *by_text, 3]
    assert {int(r[0]) for r in rows if r[1] is None} == {4, 11000}


def test_nearly_unique_identifiers_are_written_with_zstd():
    """patient_key, CLP01/CLP07 numbers and line_key go to zstd with the *_id columns; codes, months and
    payer keys (few distinct values) keep DuckDB's own choice."""
    (claim_outcomes,) = [m for m in load_models() if m.name == "marts.claim_outcomes"]
    columns = [
        ("claim_id", "VARCHAR"),
        ("patient_key", "VARCHAR"),
        ("payer_claim_control_number", "VARCHAR"),
        ("patient_control_number", "VARCHAR"),
        ("line_key", "VARCHAR"),
        ("payer_key", "VARCHAR"),
        ("payment_month", "VARCHAR"),
        ("reason_code", "VARCHAR"),
        ("paid_amount", "DECIMAL(18,2)"),
    ]
    assert claim_outcomes.zstd_columns(columns) == [
        "claim_id",
        "patient_key",
        "payer_claim_control_number",
        "patient_control_number",
        "line_key",
    ]


def test_the_gate_refuses_what_claim_order_has_no_room_for():
    """The batch suite's limit on ST/SE transactions per file is the one int_claims.sql packs into seq."""
    from pipeline.quality.suites import BATCH_CHECKS, MAX_TRANSACTIONS_PER_FILE

    sql = (Path(__file__).resolve().parents[1] / "sql" / "intermediate" / "int_claims.sql").read_text()
    assert f"transaction_ordinal BETWEEN 1 AND {MAX_TRANSACTIONS_PER_FILE}" in sql
    (check,) = [c for c in BATCH_CHECKS if c.name == "payments.transaction_ordinal.fits_claim_order"]
    assert check.kwargs["max_value"] == MAX_TRANSACTIONS_PER_FILE and check.severity == "critical"


def test_a_remark_repeated_at_claim_and_line_level_pairs_once():
    """Hand-worked: claim 1 carries MA01 at claim level and again on its line 11, and N10 twice on line 11;
    claim 2 has no remark. Adjustments (all CO-45): a1 on line 11 ($10), a2 at claim level ($5), a3 on
    claim 2's line 21 ($7). a1 pairs with MA01 and N10 once each, a2 with MA01 only, a3 with nothing:
    MA01 2 adjustments $15, N10 1 adjustment $10, no remark 1 adjustment $7, one claim each."""
    (model,) = [m for m in load_models() if m.name == "marts.handbook_carc_remark_month"]
    con = duckdb.connect()
    for schema in ("marts", "staging"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute("CREATE TABLE marts.dim_payer AS SELECT 'P' AS payer_key, 'Payer' AS payer_name")
    con.execute(
        "CREATE TABLE marts.adjustment_detail (adjustment_id INTEGER, claim_id INTEGER, line_id INTEGER, "
        "payment_month VARCHAR, payer_key VARCHAR, group_code VARCHAR, reason_code VARCHAR, "
        "amount DECIMAL(18, 2))"
    )
    con.execute(
        "INSERT INTO marts.adjustment_detail VALUES (1, 1, 11, '2025-03', 'P', 'CO', '45', 10), "
        "(2, 1, NULL, '2025-03', 'P', 'CO', '45', 5), (3, 2, 21, '2025-03', 'P', 'CO', '45', 7)"
    )
    # the remarks as the lake holds them (N10 twice on line 11); the mart takes each once
    con.execute("CREATE TABLE marts.remark_detail (claim_id INTEGER, line_id INTEGER, remark_code VARCHAR)")
    con.execute(
        "INSERT INTO marts.remark_detail VALUES (1, NULL, 'MA01'), (1, 11, 'MA01'), (1, 11, 'N10'), "
        "(1, 11, 'N10')"
    )
    rows = con.execute(
        f"SELECT remark_code, adjustment_count, dollars, claims_affected FROM ({model.body}) "
        "ORDER BY remark_code NULLS LAST"
    ).fetchall()
    assert rows == [("MA01", 2, 15, 1), ("N10", 1, 10, 1), (None, 1, 7, 1)]
