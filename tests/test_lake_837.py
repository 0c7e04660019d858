"""837s in the lake: a mixed inbox of 835s and 837s, each file into its tables by its content (ST01),
a broken 837 quarantined with its reason, reloads idempotent, the quality gate on submitted claims.

The 835s are the hand-built ones of tests/test_lake.py (tests/fixtures/lake/x835.py); the 837s the
fixtures of tests/fixtures/837. Counts and sums were worked out by hand from those files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipeline.home import Home
from pipeline.lake import LakeState, ingest, register_views

FIX = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location("lake_x835", FIX / "lake" / "x835.py")
x835 = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("lake_x835", x835)
_spec.loader.exec_module(x835)

REMIT = x835.build_835(
    [
        x835.Txn(
            "TRA1",
            "PAYER1",
            "20250310",
            (x835.Claim("A1", (x835.Line("99213", "120.00", "90.00"),)),),
        )
    ],
    icn=11,
)
P837 = (FIX / "837" / "professional.837").read_bytes()  # 2 claims, 3 lines, submitted 2025-03-10
I837 = (FIX / "837" / "institutional.837").read_bytes()  # 1 claim, 3 lines, submitted 2025-02-15
D837 = (FIX / "837" / "dental.837").read_bytes()  # 1 claim, 3 lines, submitted 2025-04-05
# CLM02 of the dental claim removed: rejected with the segment and what is missing
BROKEN = D837.replace(b"CLM*DENT-3001*310***", b"CLM*DENT-3001****")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def drop(inbox: Path, name: str, data: bytes, age: float) -> None:
    path = inbox / name
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))


def fill(home: Home, files: dict[str, bytes]) -> None:
    """Drop the files, oldest first in the given order."""
    for k, (name, data) in enumerate(files.items()):
        drop(home.inbox, name, data, age=600 - 10 * k)


def query(home: Home, sql: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        register_views(con, home.lake)
        return con.execute(sql).fetchall()
    finally:
        con.close()


# names without extensions, and an 837 named .835: the content decides
MIXED = {"remit-a": REMIT, "claims-p.835": P837, "claims-i": I837, "claims-d.edi": D837}


def test_mixed_inbox_loads_each_file_into_its_tables(home: Home) -> None:
    fill(home, MIXED)
    result = ingest(home, workers=1)
    assert sorted(result.loaded) == sorted(MIXED) and result.rejected == []
    assert query(home, "SELECT count(*), sum(charge_amount) FROM lake.claims") == [(1, Decimal("120.00"))]
    # 2 + 1 + 1 claims; 250.00 + 80.50 + 1200.00 + 310.00
    assert query(home, "SELECT count(*), sum(claim_charge) FROM lake.submitted_claims") == [
        (4, Decimal("1840.50"))
    ]
    assert query(home, "SELECT count(*), sum(line_charge) FROM lake.submitted_lines") == [
        (9, Decimal("1840.50"))
    ]
    by_type = query(home, "SELECT claim_type, count(*) FROM lake.submitted_claims GROUP BY 1 ORDER BY 1")
    assert by_type == [("dental", 1), ("institutional", 1), ("professional", 2)]
    # partitioned by submission month (BHT04), in the lake's partition column
    months = query(home, "SELECT payment_month, count(*) FROM lake.submitted_claims GROUP BY 1 ORDER BY 1")
    assert months == [("2025-02", 1), ("2025-03", 2), ("2025-04", 1)]
    line_months = query(
        home, "SELECT payment_month, count(*) FROM lake.submitted_lines GROUP BY 1 ORDER BY 1"
    )
    assert line_months == [("2025-02", 3), ("2025-03", 3), ("2025-04", 3)]
    # the manifest: an 837 has no payments; its counts, payers and months are recorded
    rows = query(
        home,
        "SELECT name, status, transactions, rows_payments, rows_claims, rows_submitted_claims, "
        "rows_submitted_lines, payer_ids, payment_months FROM lake.manifest ORDER BY entry",
    )
    assert rows == [
        ("remit-a", "loaded", 1, 1, 1, 0, 0, ["PAYER1"], ["2025-03"]),
        ("claims-p.835", "loaded", 1, 0, 0, 2, 3, ["ACME01", "BETA77"], ["2025-03"]),
        ("claims-i", "loaded", 1, 0, 0, 1, 3, ["ACME01"], ["2025-02"]),
        ("claims-d.edi", "loaded", 1, 0, 0, 1, 3, ["DELTA9"], ["2025-04"]),
    ]
    ids = query(home, "SELECT DISTINCT file_id FROM lake.submitted_claims ORDER BY 1")
    assert [r[0] for r in ids] == sorted(sha(d) for d in (P837, I837, D837))


def test_staging_views_read_the_lake_and_exist_without_837s(home: Home, tmp_path: Path) -> None:
    sql = {
        name: (FIX.parents[1] / "sql" / "staging" / f"stg_{name}.sql").read_text()
        for name in ("submitted_claims", "submitted_lines")
    }

    def staged(h: Home) -> dict[str, list[tuple]]:
        con = duckdb.connect()
        register_views(con, h.lake)
        con.execute("CREATE SCHEMA staging")
        out = {}
        for name, text in sql.items():
            con.execute(f"CREATE VIEW staging.stg_{name} AS {text}")
            out[name] = con.execute(f"SELECT * FROM staging.stg_{name}").fetchall()
            out[name + "_types"] = con.execute(f"DESCRIBE staging.stg_{name}").fetchall()
        con.close()
        return out

    empty = staged(home)  # no file loaded at all: empty, typed
    assert empty["submitted_claims"] == [] and empty["submitted_lines"] == []
    types = {r[0]: r[1] for r in empty["submitted_claims_types"]}
    assert types["claim_charge"] == "DECIMAL(18,2)" and types["submission_date"] == "DATE"
    fill(home, {"remit-a": REMIT})
    ingest(home, workers=1)
    assert staged(home)["submitted_claims"] == []  # 835s only: still empty
    fill(home, {"p": P837})
    ingest(home, workers=1)
    got = staged(home)["submitted_lines"]
    assert sorted(((r[4], r[9]) for r in got), key=lambda r: r[0] or "") == [
        (None, Decimal("100.00")),
        ("LINE1001A", Decimal("150.00")),
        ("LINE1002A", Decimal("80.50")),
    ]


def test_a_large_837_is_loaded_piece_by_piece(home: Home, monkeypatch) -> None:
    """An 837 over the chunk threshold is parsed in pieces cut at ST boundaries (``parse_837_chunks``),
    each piece's rows staged as it comes, as a large 835's are: the three fixtures in one file, one piece
    per transaction, load the claims, lines, months and manifest counts the three files load."""
    import pipeline.lake.loader as loader
    import pipeline.x12

    calls = []
    real = pipeline.x12.parse_837_chunks

    def spy(data, source, **kw):
        pieces = list(real(data, source, **kw))
        calls.append((source, len(pieces)))
        yield from pieces

    monkeypatch.setattr(loader, "CHUNK_THRESHOLD", 0)
    monkeypatch.setattr(loader, "MAX_CHUNK_BYTES", 200)
    monkeypatch.setattr(pipeline.x12, "parse_837_chunks", spy)
    fill(home, {"all.837": P837 + I837 + D837})
    result = ingest(home, workers=1)
    assert (result.loaded, result.rejected, calls) == (["all.837"], [], [("all.837", 3)])
    # 2 + 1 + 1 claims; 250.00 + 80.50 + 1200.00 + 310.00; 3 + 3 + 3 lines
    assert query(home, "SELECT count(*), sum(claim_charge) FROM lake.submitted_claims") == [
        (4, Decimal("1840.50"))
    ]
    assert query(home, "SELECT count(*), sum(line_charge) FROM lake.submitted_lines") == [
        (9, Decimal("1840.50"))
    ]
    numbers = query(home, "SELECT claim_number, transaction_ordinal FROM lake.submitted_claims ORDER BY 1")
    assert numbers == [(1, 1), (2, 1), (3, 2), (4, 3)]
    months = query(home, "SELECT payment_month, count(*) FROM lake.submitted_claims GROUP BY 1 ORDER BY 1")
    assert months == [("2025-02", 1), ("2025-03", 2), ("2025-04", 1)]
    rows = query(
        home,
        "SELECT transactions, rows_submitted_claims, rows_submitted_lines, payer_ids, payment_months "
        "FROM lake.manifest",
    )
    assert rows == [(3, 4, 9, ["ACME01", "BETA77", "DELTA9"], ["2025-02", "2025-03", "2025-04"])]


def test_broken_837_is_quarantined_with_its_reason(home: Home) -> None:
    fill(home, {"good.837": P837, "broken.837": BROKEN})
    result = ingest(home, workers=1)
    assert result.loaded == ["good.837"]
    assert [name for name, _ in result.rejected] == ["broken.837"]
    report = json.loads((home.quarantine / "broken.837.error.json").read_text())
    assert report["file"] == "broken.837" and report["file_id"] == sha(BROKEN)
    assert report["segment_number"] == 20 and report["segment_id"] == "CLM"
    assert "CLM02 (total claim charge) is missing (required)" in report["message"]
    assert (home.quarantine / "broken.837").read_bytes() == BROKEN
    assert query(home, "SELECT count(*) FROM lake.submitted_claims") == [(2,)]  # the good file only
    status = query(home, "SELECT name, status FROM lake.manifest ORDER BY entry")
    assert status == [("good.837", "loaded"), ("broken.837", "rejected")]


def test_reloading_is_idempotent(home: Home) -> None:
    fill(home, MIXED)
    ingest(home, workers=1)
    before = query(home, "SELECT * FROM lake.submitted_claims ORDER BY file_key, claim_number")
    parts = LakeState.load(home.lake).parts
    assert ingest(home, workers=1).loaded == []  # nothing new
    # the same 837 bytes again under another name: a duplicate, nothing added
    fill(home, {"p-again.837": P837})
    again = ingest(home, workers=1)
    assert again.duplicates == ["p-again.837"] and again.loaded == []
    assert query(home, "SELECT * FROM lake.submitted_claims ORDER BY file_key, claim_number") == before
    assert LakeState.load(home.lake).parts == parts
    assert query(home, "SELECT count(*) FROM lake.submitted_lines") == [(9,)]


def test_a_pool_of_workers_gives_the_same_lake(home: Home, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REMIT_LAKE_POOL_MIN_BYTES", "0")  # use the process pool even for small files
    fill(home, MIXED)
    ingest(home, workers=2)
    other = Home(tmp_path / "other").ensure()
    fill(other, MIXED)
    ingest(other, workers=1)
    sql = (
        "SELECT * EXCLUDE (payment_month) FROM lake.submitted_lines "
        "ORDER BY file_key, claim_number, line_number"
    )
    assert query(home, sql) == query(other, sql) and len(query(home, sql)) == 9


def test_quality_gate_checks_submitted_claims(home: Home) -> None:
    from pipeline.quality import BatchGate

    # line 2 of claim PCN-1001 charges 90 instead of 100: CLM02 (250) no longer the sum (240)
    unbalanced = P837.replace(b"SV1*HC:87880:QW:59*100*", b"SV1*HC:87880:QW:59*90*")
    fill(home, {"remit-a": REMIT, "p.837": unbalanced, "d.837": D837})
    gate = BatchGate(home, run_id="gate-837")
    result = ingest(home, workers=1, gate=gate)
    # a warning: loaded flagged and listed, the file is not lost
    assert sorted(result.loaded) == ["d.837", "p.837", "remit-a"] and result.rejected == []
    outcome = gate.report.outcome("submitted_claims.is_balanced")
    assert not outcome.success and outcome.unexpected_count == 1 and outcome.element_count == 3
    assert outcome.sample_ids == (f"{sha(unbalanced)[:24]}-1-1",)
    assert gate.report.outcome("submitted_claims.claim_type.valid").success
    assert gate.report.outcome("submitted_claims.claim_charge.not_negative").success
    flagged = query(home, "SELECT patient_control_number FROM lake.submitted_claims WHERE NOT is_balanced")
    assert flagged == [("PCN-1001",)]
    assert query(home, "SELECT line_charge_total FROM lake.submitted_claims WHERE NOT is_balanced") == [
        (Decimal("240.00"),)
    ]


def test_a_dated_claim_view(home: Home) -> None:
    fill(home, {"i": I837})
    ingest(home, workers=1)
    got = query(
        home,
        "SELECT statement_from, statement_to, submission_date FROM lake.submitted_claims",
    )
    assert got == [(date(2025, 2, 10), date(2025, 2, 12), date(2025, 2, 15))]


def test_a_night_of_837s_alone_is_built_checked_and_published(home: Home) -> None:
    """A practice loads its submissions before the first remits arrive: the warehouse suite's "core marts
    hold rows" expects rows only once the lake holds remitted claims (it refused the whole warehouse,
    exit 1, and the claims no remit answers were nowhere to be seen); a core mart missing still fails."""
    from pipeline.nightly import run_nightly
    from pipeline.quality.checks import CORE_MARTS, _mart_sizes, _relations

    fill(home, {"p.837": P837, "i.837": I837, "d.837": D837})
    result = run_nightly(home, workers=1, report=False)
    assert result.exit_code == 0 and result.warehouse_failed is None
    assert result.quality.outcome("marts.non_empty").success
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        # the fixtures' four CLMs (2 + 1 + 1), none answered; with no 835 the as-of date is the latest
        # submission (the dental claim's 2025-04-05): the professional ones (2025-03-10) are 26 days old
        got = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE is_matched), max(as_of_date), "
            "max(age_days) FILTER (WHERE submission_date = DATE '2025-03-10') FROM marts.submission_matches"
        ).fetchone()
        assert got == (4, 0, date(2025, 4, 5), 26)
        assert con.execute("SELECT count(*) FROM marts.claim_outcomes").fetchone() == (0,)
    # a core mart missing from a warehouse still counts as empty, remits or none
    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA marts")
        for mart in CORE_MARTS[:-1]:
            con.execute(f"CREATE TABLE marts.{mart} (is_provider_absorbed BOOLEAN)")
        sizes = _mart_sizes(CORE_MARTS, _relations(con, "marts"), False, lake={})
        assert con.execute(sizes).fetchall() == [(CORE_MARTS[-1], 0)]
        # remits: the claim marts are sized, the adjustment marts only once there are adjustments
        sizes = _mart_sizes(CORE_MARTS, _relations(con, "marts"), True, lake={})
        assert con.execute(sizes).fetchall() == [("claim_outcomes", 0), ("kpi_month", 0)]
        con.execute("INSERT INTO marts.denials_by_carc_month VALUES (true)")
        sizes = _mart_sizes(CORE_MARTS, _relations(con, "marts"), True, lake={})
        assert con.execute(sizes).fetchall() == [
            ("claim_outcomes", 0),
            ("provider_absorbed_month", 0),
            ("kpi_month", 0),
        ]
    finally:
        con.close()


@pytest.fixture(autouse=True)
def _quiet_logging():
    yield
    import logging

    logging.getLogger("remit").handlers.clear()


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_ingest_equals_local(spark, home: Home, tmp_path: Path) -> None:
    """The Spark engine's executors parse 837s too: the same manifest facts and the same rows."""
    from pipeline.engines.spark import ingest_spark

    files = {**MIXED, "broken.837": BROKEN}
    fill(home, files)
    other = Home(tmp_path / "spark-home").ensure()
    home.patient_key_secret(create=True)
    other.key_file.write_bytes(home.key_file.read_bytes())  # the same patient keys in both lakes
    fill(other, files)
    ingest(home, workers=1)
    result = ingest_spark(other, spark=spark)
    assert [n for n, _ in result.rejected] == ["broken.837"]
    facts = (
        "SELECT name, status, transactions, rows_submitted_claims, rows_submitted_lines, payer_ids, "
        "payment_months FROM lake.manifest ORDER BY entry"
    )
    assert query(other, facts) == query(home, facts)
    for table in ("submitted_claims", "submitted_lines", "claims"):
        sql = f"SELECT * FROM lake.{table} ORDER BY ALL"
        assert query(other, sql) == query(home, sql), table
