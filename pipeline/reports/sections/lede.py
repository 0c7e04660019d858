"""The report's opening lines: for whom, which month (closed, or month to date through a date), the
12-month period, and any month of the period the latest build restated."""

from __future__ import annotations

from typing import Any

import duckdb

from pipeline.present.format import date_label, month_label, short_month
from pipeline.reports import figures as fx
from pipeline.reports.sections import Env
from pipeline.reports.sections.common import figure_label, value_text

# why a kpi_month figure of a past month changes in a later build (docs/metrics.md)
CAUSES = {
    "remittance": "a remit dated in that month arrived after the previous build, or a reversal was matched",
    "lifecycle": "denials were resolved (recovered, written off or overturned) by remits that arrived later",
}
LIFECYCLE = {
    "denial_writeoff_amount",
    "denial_writeoff_rate",
    "overturned_amount",
    "recovered_amount",
    "resolved_denials",
    "overturned_denials",
    "overturn_rate_count",
    "resolved_denied_amount",
    "overturn_rate_dollars",
    "first_pass_paid_episodes",
    "first_pass_yield",
    "median_days_to_pay",
}


def query(con: duckdb.DuckDBPyConnection, scope: fx.Scope, env: Env) -> dict[str, Any]:
    names = fx.payer_names(con)
    return {
        "payer_name": names.get(scope.payer, scope.payer) if scope.payer else None,
        "restated": fx.restatements(con, scope),
        "month": fx.headline_row(con, scope),
    }


def context(data: dict[str, Any], scope: fx.Scope, env: Env) -> dict[str, Any]:
    org = env.settings.organisation or scope.organisation
    who = f"payer {data['payer_name']} ({scope.payer})" if scope.payer else "all payers"
    if scope.partial:
        month = (
            f"{month_label(scope.end)}, month to date, through {date_label(scope.through)}: compared with "
            f"{month_label(scope.previous)} through {date_label(scope.previous_through)}, the same days"
        )
    else:
        month = f"{month_label(scope.end)} (a closed month), compared with {month_label(scope.previous)}"
    period = f"the 12 months {short_month(scope.start)}–{short_month(scope.end)}"
    notes = []
    if data["month"]["payments"] == 0:
        whom = f"from {data['payer_name']}" if scope.payer else "from any payer"
        notes.append(
            f"No payment {whom} in {month_label(scope.end)}"
            + (f" through {date_label(scope.through)}" if scope.partial else "")
            + ": the month's remittance figures are empty, not zero."
        )
    if scope.start < scope.first_data_month:
        notes.append(
            f"The warehouse's data start in {month_label(scope.first_data_month)}: the months before it "
            "have no data (shown as gaps, not zeros)."
        )
    restated = []
    for r in data["restated"]:
        kind = "lifecycle" if r["figure"] in LIFECYCLE else "remittance"
        restated.append(
            {
                "month": month_label(r["payment_month"]),
                "payer": r["payer_name"] or r["payer_key"],
                "figure": figure_label(r["figure"]),
                "change": f"{value_text(r['figure'], r['previous_value'])} → "
                f"{value_text(r['figure'], r['value'])}",
                "cause": CAUSES[kind],
            }
        )
    return {
        "organisation": org,
        "who": who,
        "month": month,
        "period": period,
        "as_of": date_label(scope.as_of_date) if scope.as_of_date else "",
        "notes": notes,
        "restated": restated[:12],
        "restated_more": max(len(restated) - 12, 0),
    }
