"""Section 3, dollars the practice absorbs: expected contractual, denied (as remitted), payer-initiated
and other adjustments, per month and per payer."""

from __future__ import annotations

from typing import Any

import duckdb

from pipeline.present import charts
from pipeline.present.format import money, month_label, pct, reading, short_month, signed_pct
from pipeline.present.tables import Column, table
from pipeline.reports import figures as fx
from pipeline.reports.sections import Env, html
from pipeline.reports.sections.headline import empty_months

# denied dollars carry the "worse" colour; the others are neither good nor bad
FIXED = {fx.ABSORBED_LABELS["denial_writeoff"]: charts.WORSE}


def query(con: duckdb.DuckDBPyConnection, scope: fx.Scope, env: Env) -> dict[str, Any]:
    months = fx.kpi_months(con, scope)
    return {
        "period": fx.absorbed_period(con, scope),
        "by_month": fx.absorbed_month(con, scope),
        "current": months[-1],
        "gaps": empty_months(months),
    }


def context(data: dict[str, Any], scope: fx.Scope, env: Env) -> dict[str, Any]:
    got = data["period"]
    by_payer = [r for r in got if r["payer_key"] != "*"]
    if not by_payer:
        return {"parts": [html(reading("No provider-absorbed adjustments were remitted in this period."))]}
    totals = next(r for r in got if r["payer_key"] == "*")
    cur = data["current"]
    text = (
        f"Over the period the provider absorbed {money(totals['total'])}: "
        + ", ".join(
            f"{money(totals[c])} {fx.ABSORBED_LABELS[c].lower()} ({pct(totals[c + '_share'])})"
            for c in fx.ABSORBED_CATEGORIES
            if totals[c]
        )
        + ". Expected contractual dollars are the price of the contracts and move with volume; "
        "denied dollars are counted here as the payer remitted them, before any appeal or corrected claim "
        "recovers them."
    )
    if totals["denial_writeoff"]:
        leader = next(r for r in by_payer if r["denial_writeoff_rank"] == 1)
        text += (
            f" {leader['payer_name']} accounts for the most denied dollars, "
            f"{money(leader['denial_writeoff'])} ({pct(leader['share_of_scope_denial_writeoff'])})."
        )
    change = cur["provider_absorbed_change"]
    if change is not None and not scope.partial:
        text += (
            f" Absorbed dollars were {money(cur['provider_absorbed_amount'])} in {month_label(scope.end)} "
            f"({signed_pct(change)} on {month_label(scope.previous)})."
        )
    cats = [fx.ABSORBED_LABELS[c] for c in fx.ABSORBED_CATEGORIES]
    month_cat = {(r["payment_month"], r["absorbed_category"]): r["dollars"] for r in data["by_month"]}
    month_points = [
        {
            "month": short_month(m),
            "series": fx.ABSORBED_LABELS[c],
            "value": None if m in data["gaps"] else charts.num(month_cat.get((m, c), 0)),
        }
        for m in scope.months
        for c in fx.ABSORBED_CATEGORIES
    ]
    over_time = charts.stacked_bars(
        month_points,
        months=[short_month(m) for m in scope.months],
        series=cats,
        y_title="Absorbed dollars ($)",
        fixed=FIXED,
    )
    per_payer = charts.hbars(
        [
            {"label": r["payer_name"], "series": fx.ABSORBED_LABELS[c], "value": charts.num(r[c])}
            for r in by_payer[:12]
            for c in fx.ABSORBED_CATEGORIES
        ],
        x_title="Absorbed dollars ($)",
        series=cats,
        fixed=FIXED,
    )
    tbl = table(
        [Column("Payer", "payer_name")]
        + [Column(fx.ABSORBED_LABELS[c], c, "money") for c in fx.ABSORBED_CATEGORIES]
        + [Column("Total", "total", "money")],
        by_payer,
        caption="Provider-absorbed dollars by payer",
        total={**totals, "payer_name": "All payers"},
    )
    return {
        "parts": [
            html(reading(text)),
            html(charts.figure(over_time, "Provider-absorbed dollars per month, by category (red: denied).")),
            html(
                charts.figure(
                    per_payer, "Provider-absorbed dollars per payer over the period (the twelve largest)."
                )
            ),
            html(tbl),
        ]
    }
