"""A generated workload reconciles: mart dollars = lake dollars = the generator's truth.json.

The generator writes what it put in the files (truth.json), independently of the parser, lake and SQL.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import run_generated

from pipeline.lake import connect_warehouse
from pipeline.x12.schema import CLAIM_KEY_SQL


@pytest.fixture(scope="module")
def synth_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("whsynth")
    home, out, result = run_generated(root, claims=2500, seed=20251, start="2025-01", months=12)
    truth = json.loads((out / "truth.json").read_text())
    con = connect_warehouse(home.warehouse)  # the lake views name the lake relative to the home
    yield result, truth, con
    con.close()


def one(con, sql):
    return con.execute(sql).fetchone()


def test_run_is_clean(synth_run):
    result, truth, _ = synth_run
    assert result.exit_code == 0
    assert result.build.unknown_payers == []  # payers.csv lists every generated payer


def test_adjustment_dollars_by_group_and_carc(synth_run):
    _, truth, con = synth_run
    by_group = dict(
        con.execute(
            "SELECT group_code, CAST(sum(dollars) AS VARCHAR) FROM marts.denials_by_carc_month GROUP BY 1"
        ).fetchall()
    )
    assert by_group == truth["adjustments_by_group"]
    by_group_carc = dict(
        con.execute(
            "SELECT group_code || '-' || reason_code, CAST(sum(dollars) AS VARCHAR) "
            "FROM marts.denials_by_carc_month GROUP BY 1 HAVING sum(dollars) <> 0"
        ).fetchall()
    )
    assert by_group_carc == {k: v for k, v in truth["adjustments_by_group_carc"].items() if Decimal(v) != 0}
    lake = one(con, "SELECT sum(amount) FROM lake.adjustments")[0]
    assert lake == Decimal(truth["adjustment_total"])


def test_claim_counts_and_money_after_netting(synth_run):
    _, truth, con = synth_run
    pairs = truth["late_reversal_pairs"] + truth["in_file_reversal_pairs"]
    assert pairs == truth["reversal_claims"]  # every generated reversal has its original in the files
    n, paid, charge, denied, zero = one(
        con,
        "SELECT count(*), sum(paid_amount), sum(charge_amount), count(CASE WHEN is_denied THEN 1 END), "
        "count(CASE WHEN is_zero_paid THEN 1 END) FROM marts.claim_outcomes",
    )
    assert n == truth["claims"] - 2 * pairs
    assert paid == Decimal(truth["clp04_total"]) and charge == Decimal(truth["clp03_total"])
    # denied (docs/metrics.md) = a remit after netting paid 0 whose denial-CARC adjustments (not duplicates)
    # under CO, OA or PI carry dollars, whatever its CLP02: counted here straight from the lake
    lake_denied = one(
        con,
        "SELECT count(*) FROM lake.claims c JOIN lake.payments p USING (file_key, transaction_ordinal) "
        f"JOIN marts.claim_netting n ON n.claim_id = {CLAIM_KEY_SQL.format(t='c')} "
        "WHERE p.resent_of_transaction_id IS NULL AND NOT n.is_netted_out "
        "AND c.claim_status_code NOT IN ('22', '23', '25') AND c.paid_amount = 0 "
        "AND (SELECT sum(a.amount) FROM lake.adjustments a "
        "JOIN ref.carc k ON k.code = upper(trim(a.reason_code)) "
        "WHERE a.file_key = c.file_key AND a.claim_number = c.claim_number "
        "AND upper(trim(a.group_code)) IN ('CO', 'OA', 'PI') AND k.is_denial "
        "AND k.category <> 'duplicate') > 0",
    )[0]
    assert denied == lake_denied
    # the generator's CLP02 4 claims include capitation, duplicates and PR-only denials: fewer are denied
    assert 0 < denied <= truth["denied_claims"] + zero
    # (a zero-paid claim the payer later reversed is netted out of claim_outcomes)
    assert zero == truth["zero_paid_claims"] - truth["reversed_denied_claims"]
    roles = dict(con.execute("SELECT netting_role, count(*) FROM marts.claim_netting GROUP BY 1").fetchall())
    assert roles.get("reversal_matched") == pairs and roles.get("correction") == truth["corrected_claims"]
    assert "reversal_unmatched" not in roles


def test_payments_plb_and_crossover(synth_run):
    _, truth, con = synth_run
    net, plb, plb_n = one(
        con, "SELECT sum(net_payments), sum(plb_total), sum(plb_count) FROM marts.kpi_month"
    )
    assert net == Decimal(truth["bpr02_total"])
    assert plb == Decimal(truth["plb_total"]) and plb_n == truth["plb_count"]
    months = dict(
        con.execute(
            "SELECT payment_month, CAST(sum(net_payments) AS VARCHAR) FROM marts.kpi_month GROUP BY 1"
        ).fetchall()
    )
    assert months == {m: v["bpr02_total"] for m, v in truth["by_month"].items()}
    got: dict[str, dict] = {}
    for month, code, lines, claims, dollars in con.execute(
        "SELECT payment_month, reason_code, lines, claims, dollars FROM marts.crossover_month"
    ).fetchall():
        got.setdefault(month, {})[code] = {"lines": lines, "claims": claims, "dollars": f"{dollars:.2f}"}
    assert got == {m: v for m, v in truth["crossover"].items() if v}


def test_plb_links_follow_the_generator(synth_run):
    """The generator writes L6 with the CLP07 of a claim of the same payment, WO with a number no claim
    has, FB with its trace: every L6 is linked, every WO and FB unlinked, dollars as in truth.json."""
    _, truth, con = synth_run
    got = {
        reason: (f"{amount:.2f}", f"{linked:.2f}", f"{unlinked:.2f}", n, n_linked)
        for reason, amount, linked, unlinked, n, n_linked in con.execute(
            "SELECT reason_code, sum(amount), sum(linked_amount), sum(unlinked_amount), sum(plb_count), "
            "sum(linked_count) FROM marts.plb_by_reason_month GROUP BY 1"
        ).fetchall()
    }
    want = {}
    for reason, amount in truth["plb_by_reason"].items():
        n = got.get(reason, (None, None, None, 0, 0))[3]
        linked = amount if reason == "L6" else "0.00"
        want[reason] = (amount, linked, "0.00" if reason == "L6" else amount, n, n if reason == "L6" else 0)
    assert got == want
    assert sum(v[3] for v in got.values()) == truth["plb_count"]
    scopes = dict(
        con.execute(
            "SELECT link_scope, count(*) FROM marts.plb_claim_links WHERE is_linked GROUP BY 1"
        ).fetchall()
    )
    assert set(scopes) <= {"same_payment", "lake"} and scopes["same_payment"] > 0


def test_plan_types_follow_payers_csv(synth_run):
    _, truth, con = synth_run
    got = dict(con.execute("SELECT payer_key, plan_type FROM marts.dim_payer").fetchall())
    assert got == {pid: v["plan_type"] for pid, v in truth["by_payer"].items()}
