"""Which payers are getting worse: each payer's dollar denial rate in the last three months against the
three before, worst first, and a chart of the five largest payers and the rest (six lines at most)."""

from __future__ import annotations

from typing import Any

import duckdb

from pipeline.present import charts
from pipeline.present.format import pct, plural, reading, short_month, signed_points
from pipeline.present.tables import Column, table
from pipeline.reports import figures as fx
from pipeline.reports.sections import Env, html


def query(con: duckdb.DuckDBPyConnection, scope: fx.Scope, env: Env) -> dict[str, Any]:
    return {
        "trend": fx.payer_trend(con, scope),  # worst first (the view's worse_rank)
        "series": [] if scope.payer else fx.payer_series(con, scope),
        "months": fx.kpi_months(con, scope) if scope.payer else [],
    }


def _text(trend: list[dict[str, Any]], prior: str, recent: str) -> str:
    comparable = [r for r in trend if r["change_points"] is not None]
    worse = [r for r in comparable if r["change_points"] > 0]
    better = [r for r in reversed(comparable) if r["change_points"] < 0]
    if not comparable:
        return (
            f"No payer has remitted claims in both {prior} and {recent}, so no quarter-on-quarter trend "
            "can be read yet; the table shows each payer's denial rates over the period."
        )
    if worse:
        w = worse[0]
        text = (
            f"Getting worse: {w['payer_name']}, whose denial rate by dollars rose from "
            f"{pct(w['prior_rate'])} "
            f"({prior}) to {pct(w['recent_rate'])} ({recent}), {signed_points(w['change_points'])}"
        )
        if len(worse) > 1:
            text += f"; {plural(len(worse) - 1, 'other payer')} also rose"
        text += "."
    else:
        text = f"No payer's denial rate by dollars rose from {prior} to {recent}."
    if better:
        b = better[0]
        text += (
            f" Improving most: {b['payer_name']}, from {pct(b['prior_rate'])} to {pct(b['recent_rate'])} "
            f"({signed_points(b['change_points'])})."
        )
    return text


def context(data: dict[str, Any], scope: fx.Scope, env: Env) -> dict[str, Any]:
    trend = data["trend"]
    recent = f"{short_month(scope.months[-3])}–{short_month(scope.end)}"
    prior = f"{short_month(scope.months[-6])}–{short_month(scope.months[-4])}"
    for r in trend:
        r["change"] = signed_points(r["change_points"])
        r["css"] = "worse" if (r["change_points"] or 0) > 0 else ""
    tbl = table(
        [
            Column("Payer", "payer_name"),
            Column("Claims remitted", "claims_remitted", "count"),
            Column("Denial rate (claims)", "denial_rate_count", "pct", wide=True),
            Column("Denial rate ($)", "denial_rate_dollars", "pct"),
            Column(f"Rate {prior}", "prior_rate", "pct"),
            Column(f"Rate {recent}", "recent_rate", "pct"),
            Column("Change", "change", "label"),
            Column("Final write-offs", "denial_writeoff_amount", "money"),
        ],
        trend,
        caption="Payers, worst trend first",
    )
    labels = [short_month(m) for m in scope.months]
    if scope.payer:
        series = [trend[0]["payer_name"]] if trend else [scope.payer]
        points = [
            {
                "month": short_month(m["payment_month"]),
                "series": series[0],
                "value": charts.num(m["denial_rate_dollars"]),
            }
            for m in data["months"]
        ]
    else:
        series = list(dict.fromkeys(r["series"] for r in data["series"]))
        points = [
            {
                "month": short_month(r["payment_month"]),
                "series": r["series"],
                "value": charts.num(r["denial_rate_dollars"]),
            }
            for r in data["series"]
        ]
    chart = charts.line_chart(points, months=labels, series=series, y_title="Denial rate (% of billed $)")
    caption = (
        "Denial rate by dollars billed per month: the five payers with the most billed dollars and the rest "
        "together (a gap: no remittance that month)."
    )
    return {
        "reading": html(reading(_text(trend, prior, recent))),
        "chart": html(charts.figure(chart, caption)),
        "table": html(tbl),
    }
