"""On a generated workload every lifecycle figure of the warehouse equals the generator's truth.json.

The generator records each denial's life from its own model (which claim it denied, how it was later
resolved); the warehouse finds the same from the 835 bytes alone (docs/metrics.md). Both follow one set of
rules, so every figure must agree to the cent.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import run_generated

from pipeline.lake import connect_warehouse


@pytest.fixture(scope="module")
def lifecycle_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("lifecycle")
    home, out, result = run_generated(root, claims=4000, seed=1414, start="2025-01", months=12)
    assert result.exit_code == 0
    truth = json.loads((out / "truth.json").read_text())["lifecycle"]
    con = connect_warehouse(home.warehouse)
    yield truth, con
    con.close()


def money(value) -> str:
    return f"{Decimal(value or 0):.2f}"


def test_as_of_date(lifecycle_run):
    truth, con = lifecycle_run
    got = con.execute("SELECT max(payment_date) FROM staging.stg_payments").fetchone()[0]
    assert got.isoformat() == truth["as_of_date"]


RESOLUTIONS = {
    "open",
    "overturned",
    "corrected_paid",
    "redirected",
    "transferred_to_patient",
    "reversed",
    "written_off",
}


def test_the_workload_holds_every_lifecycle(lifecycle_run):
    """The comparisons below mean something only if every resolution and scenario occurs."""
    truth, _ = lifecycle_run
    assert set(truth["events_by_resolution"]) == RESOLUTIONS
    assert truth["scenarios"] and all(n > 0 for n in truth["scenarios"].values())


def test_events_by_kind_and_resolution(lifecycle_run):
    truth, con = lifecycle_run
    got: dict[str, dict[str, dict]] = {}
    for kind, resolution, n, denied, recovered in con.execute(
        "SELECT kind, resolution, count(*), sum(denied_amount), sum(recovered_amount) "
        "FROM marts.denial_events GROUP BY ALL"
    ).fetchall():
        got.setdefault(kind, {})[resolution] = {
            "count": n,
            "denied_amount": money(denied),
            "recovered_amount": money(recovered),
        }
    want = {
        kind: {
            res: {
                "count": v["count"],
                "denied_amount": money(v["denied_amount"]),
                "recovered_amount": money(v["recovered_amount"]),
            }
            for res, v in by_res.items()
            if v["count"]
        }
        for kind, by_res in truth["events_by_kind_resolution"].items()
    }
    assert got == {k: v for k, v in want.items() if v}


def test_overturned_and_recovered(lifecycle_run):
    truth, con = lifecycle_run
    overturned, recovered = con.execute(
        "SELECT sum(overturned_amount), sum(recovered_amount) FROM marts.kpi_month"
    ).fetchone()
    assert money(overturned) == money(truth["overturned_amount"])
    assert money(recovered) == money(truth["recovered_amount"])


def test_writeoffs_and_initial_denials_by_month(lifecycle_run):
    truth, con = lifecycle_run
    writeoffs = {
        m: money(v)
        for m, v in con.execute(
            "SELECT payment_month, sum(denial_writeoff_amount) FROM marts.kpi_month GROUP BY 1"
        ).fetchall()
        if v
    }
    assert writeoffs == {m: money(v) for m, v in truth["writeoffs_by_month"].items() if Decimal(v)}
    initial = {
        m: money(v)
        for m, v in con.execute(
            "SELECT payment_month, sum(initial_denied_amount) FROM marts.kpi_month GROUP BY 1"
        ).fetchall()
        if v
    }
    assert initial == {m: money(v) for m, v in truth["initial_denied_by_month"].items() if Decimal(v)}


def test_open_items_by_age(lifecycle_run):
    truth, con = lifecycle_run
    rows = con.execute(
        """
        SELECT CASE WHEN age_days <= 30 THEN '0-30' WHEN age_days <= 60 THEN '31-60'
                    WHEN age_days <= 90 THEN '61-90' WHEN age_days <= 120 THEN '91-120'
                    ELSE '121-180' END, count(*), sum(denied_amount)
        FROM marts.denial_events WHERE resolution = 'open' GROUP BY 1
        """
    ).fetchall()
    got = {b: {"count": n, "denied_amount": money(d)} for b, n, d in rows}
    want = {
        b: {"count": v["count"], "denied_amount": money(v["denied_amount"])}
        for b, v in truth["open_by_age_bucket"].items()
        if v["count"]
    }
    assert got == want


def test_episodes_duplicates_and_redirects(lifecycle_run):
    truth, con = lifecycle_run
    n, first_pass = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE first_pass_paid) FROM marts.claim_episodes"
    ).fetchone()
    assert {"count": n, "first_pass_paid": first_pass} == truth["episodes"]
    dup, redirected = con.execute(
        "SELECT sum(duplicate_claims), sum(redirected_claims) FROM marts.kpi_month"
    ).fetchone()
    assert dup == truth["duplicate_claims"]
    assert redirected == truth["redirected_claims"]
