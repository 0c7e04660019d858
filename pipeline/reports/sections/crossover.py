"""Section 4, dental-medical crossover: crossover adjustments per month and direction, what the payers
forwarded themselves and what is still at stake, the last three months against the three before, and
dental lines remitted by medical plans."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb

from pipeline.present import charts
from pipeline.present.format import (
    carc_link,
    count,
    money,
    month_label,
    pct,
    plural,
    reading,
    short_month,
    signed_pct,
)
from pipeline.present.tables import Column, table
from pipeline.reports import figures as fx
from pipeline.reports.sections import Env, html
from pipeline.reports.sections.headline import empty_months


def query(con: duckdb.DuckDBPyConnection, scope: fx.Scope, env: Env) -> dict[str, Any]:
    return {
        "rows": fx.crossover(con, scope),  # by dollars, largest first
        "summary": fx.crossover_summary(con, scope),
        "share": fx.dental_share(con, scope),
        "series": fx.crossover_series(con, scope),
        "gaps": empty_months(fx.kpi_months(con, scope)),
    }


def _text(data: dict[str, Any], scope: fx.Scope) -> str:
    rows, summary = data["rows"], data["summary"]
    if not rows:
        text = "No crossover adjustments (dental, medical and pharmacy coordination codes) this period."
    else:
        by_dir: dict[str, Decimal] = {}
        for r in rows:  # every row of a direction carries the same direction_dollars
            by_dir.setdefault(r["crossover_direction"], r["direction_dollars"])
        text = (
            f"Crossover adjustments came to {money(summary['crossover_dollars'])} on "
            f"{plural(summary['crossover_claims'], 'claim')} over the period: "
            + ", ".join(f"{fx.DIRECTION_LABELS.get(d, d).lower()} {money(v)}" for d, v in by_dir.items())
            + ". "
        )
        if summary["forwarded_dollars"]:
            text += (
                f"The payers forwarded {money(summary['forwarded_dollars'])} of it to the other plan "
                f"themselves; {money(summary['at_stake_dollars'])} is at stake until billed to the other "
                "plan. "
            )
        else:
            text += f"All {money(summary['at_stake_dollars'])} is at stake until billed to the other plan. "
        window = f"{short_month(scope.months[-3])}–{short_month(scope.end)}"
        before = f"{short_month(scope.months[-6])}–{short_month(scope.months[-4])}"
        change, recent, prior = summary["recent_change"], summary["recent_dollars"], summary["prior_dollars"]
        if change is None:
            text += (
                f"The last three months ({window}) hold {money(recent)}, against nothing in the three before."
            )
        elif change > 0:
            text += f"It is growing: {money(recent)} in {window} against {money(prior)} in {before} "
            text += f"({signed_pct(change)})."
        elif change < 0:
            text += f"It is shrinking: {money(recent)} in {window} against {money(prior)} in {before} "
            text += f"({signed_pct(change)})."
        else:
            text += f"It is flat: {money(recent)} in both {window} and {before}."
    if summary["dental_lines"]:
        last = summary["last_month_dental_at_medical_share"]
        text += (
            f" Of {count(summary['dental_lines'])} dental lines remitted, "
            f"{count(summary['dental_at_medical'])} "
            f"({pct(summary['dental_at_medical_share'])}) were remitted by medical plans"
            + (
                f" ({pct(last)} in {month_label(scope.end)})."
                if last is not None
                else f"; none were remitted in {month_label(scope.end)}."
            )
        )
    else:
        text += " No dental lines were remitted in this period."
    return text


def context(data: dict[str, Any], scope: fx.Scope, env: Env) -> dict[str, Any]:
    parts = [html(reading(_text(data, scope)))]
    labels = [short_month(m) for m in scope.months]
    if data["series"]:
        directions = [
            d
            for d in (*fx.DIRECTION_LABELS, "unknown")
            if any(r["crossover_direction"] == d for r in data["series"])
        ]
        names = [fx.DIRECTION_LABELS.get(d, "Direction unknown") for d in directions]
        cell = {(r["payment_month"], r["crossover_direction"]): r["dollars"] for r in data["series"]}
        points = [
            {
                "month": short_month(m),
                "series": fx.DIRECTION_LABELS.get(d, "Direction unknown"),
                "value": None if m in data["gaps"] else charts.num(cell.get((m, d), 0)),
            }
            for m in scope.months
            for d in directions
        ]
        chart = charts.stacked_bars(points, months=labels, series=names, y_title="Crossover dollars ($)")
        parts.append(html(charts.figure(chart, "Crossover dollars per month, by direction (payers added).")))
    if data["summary"]["dental_at_medical"]:  # a chart of zeros says nothing: only when there is one
        points = [
            {"month": short_month(s["payment_month"]), "series": plan, "value": n}
            for s in data["share"]
            for plan, n in (
                ("Remitted by a medical plan", s["dental_at_medical"]),
                ("Remitted by a dental or other plan", s["dental_lines"] - s["dental_at_medical"]),
            )
        ]
        chart = charts.stacked_bars(
            points,
            months=labels,
            series=["Remitted by a medical plan", "Remitted by a dental or other plan"],
            y_title="Dental lines (count)",
            y_format=",d",
            fixed={
                "Remitted by a medical plan": charts.WORSE,
                "Remitted by a dental or other plan": charts.OTHER,
            },
            height=180,
        )
        parts.append(
            html(charts.figure(chart, "Dental lines per month: remitted by a medical plan (red) or not."))
        )
    for r in data["rows"]:
        r["direction"] = fx.DIRECTION_LABELS.get(r["crossover_direction"], r["crossover_direction"])
        r["code_html"] = carc_link(r["reason_code"])
        r["forwarded"] = "yes" if r["crossover_forwarded"] else "no"
    parts.append(
        html(
            table(
                [
                    Column("Payer", "payer_name"),
                    Column("Direction", "direction"),
                    Column("CARC", "code_html", "code"),
                    Column("Forwarded by the payer", "forwarded"),
                    Column("Claims", "claims", "count"),
                    Column("Lines", "lines", "count"),
                    Column("Dollars", "dollars", "money"),
                ],
                data["rows"],
                caption="Crossover by payer, direction and code",
                empty="No crossover adjustments in this period.",
            )
        )
    )
    return {"parts": parts}
