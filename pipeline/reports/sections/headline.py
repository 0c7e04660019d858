"""Section 1, the headline: the report month's figures against the month before (or, month to date,
against the same days of the month before), each with its 12-month total and its target; the reading;
the open worklists; the denial-rate chart and the month-by-month table."""

from __future__ import annotations

from typing import Any

import duckdb

from pipeline.present import charts
from pipeline.present.format import (
    date_label,
    money,
    month_label,
    pct,
    plural,
    reading,
    short_month,
    signed_pct,
    signed_points,
)
from pipeline.present.tables import Column, table
from pipeline.reports import figures as fx
from pipeline.reports.sections import Env, html
from pipeline.reports.sections.common import CARDS, CHANGE_TEXT, CHANGE_UNIT, change_css


def query(con: duckdb.DuckDBPyConnection, scope: fx.Scope, env: Env) -> dict[str, Any]:
    return {
        "row": fx.headline_row(con, scope),
        "months": fx.kpi_months(con, scope),
        "total": fx.kpi_period(con, scope),
        "lead": fx.top_denial_in_month(con, scope),
        "worklists": fx.worklist_summary(con, scope),
    }


def compared_with(scope: fx.Scope) -> str:
    """'Jan 2025', or for a month to date '1–10 Jan 2025' (the same days of the month before)."""
    if scope.partial and scope.previous_through is not None:
        return f"1–{scope.previous_through.day} {short_month(scope.previous)}"
    return short_month(scope.previous)


def _no_previous(row: dict[str, Any]) -> bool:
    """The comparison month had no remittance at all (before the data start, or a payer's empty month)."""
    return row.get("previous_payments", row["previous_claims_remitted"]) == 0 and (
        row["previous_claims_remitted"] == 0
    )


def cards(data: dict[str, Any], scope: fx.Scope, env: Env) -> list[dict[str, str]]:
    """The headline cards as printed: label, value, change (text and colour), period total, target."""
    row, total = data["row"], data["total"]
    empty, no_prev = row["payments"] == 0 and row["claims_remitted"] == 0, _no_previous(row)
    vs = compared_with(scope)
    out = []
    for c in CARDS:
        value, change = row[c.key], row[c.change_key]
        if c.remittance and empty:
            to_date = " to date" if scope.partial else ""
            shown, change_text, css = "–", f"no remittance in {short_month(scope.end)}{to_date}", ""
        elif c.remittance and no_prev:
            shown, change_text, css = c.fmt(value), f"no remittance in {vs} to compare", ""
        else:
            shown = c.fmt(value)
            change_text = f"{CHANGE_TEXT[c.kind](change)} vs {vs}"
            css = change_css(change, c.up_is_good, CHANGE_UNIT[c.kind])
        target = env.settings.targets.get(c.key)
        target_text, target_css = "", ""
        if target is not None:
            bound = target.max if target.max is not None else target.min
            word = "at most" if target.max is not None else "at least"
            target_text = f"target: {word} {c.fmt(bound)}"
            missed = None if (c.remittance and empty) else target.missed(value)
            if missed:
                target_text += f" ({missed})"
                target_css = "missed"
            elif value is not None and not (c.remittance and empty):
                target_text += " (met)"
                target_css = "met"
        out.append(
            {
                "label": c.label,
                "value": shown,
                "change": change_text,
                "css": css,
                "sub": f"{short_month(scope.start)}–{short_month(scope.end)}: {c.fmt(total[c.key])}",
                "target": target_text,
                "target_css": target_css,
            }
        )
    return out


def _moved(what: str, change, current, prev: str, cur: str) -> str:
    """'Initial denied dollars rose 12.0 % from May 2025 to June 2025, to $1,234.00' (or fell, held, were
    nil); ``change`` is the view's relative change (None when the comparison is zero)."""
    if change is None:
        if current == 0:
            return f"{what} were nil in {prev} and {cur}"
        return f"{what} went from nothing in {prev} to {money(current)} in {cur}"
    if change == 0:
        return f"{what} held steady at {money(current)} from {prev} to {cur}"
    verb = "rose" if change > 0 else "fell"
    return f"{what} {verb} {signed_pct(abs(change)).lstrip('+')} from {prev} to {cur}, to {money(current)}"


def headline_text(data: dict[str, Any], scope: fx.Scope) -> str:
    row, total = data["row"], data["total"]
    if scope.partial:
        cur_label = f"{month_label(scope.end)} to date (through {date_label(scope.through)})"
        prev_label = f"the same days of {month_label(scope.previous)}"
    else:
        cur_label, prev_label = month_label(scope.end), month_label(scope.previous)
    if row["payments"] == 0 and row["claims_remitted"] == 0:
        parts = [f"No payment was remitted in {cur_label}: there is no remittance to report for it."]
    else:
        remits = f"In {cur_label} payers remitted {plural(row['claims_remitted'], 'claim')}"
        if row["previous_claims_remitted"]:
            remits += f" ({signed_pct(row['claims_remitted_change'])} on {prev_label})"
        else:
            remits += f" (none in {prev_label})"
        if row["claims_remitted"]:
            remits += (
                f"; {pct(row['denial_rate_count'])} of them were denied"
                + (
                    f" ({signed_points(row['denial_rate_count_change_points'])})"
                    if row["previous_claims_remitted"]
                    else ""
                )
                + f", {pct(row['denial_rate_dollars'])} of billed charges by value."
            )
        else:
            remits += "."
        parts = [remits]
        sentence = _moved(
            "Initial denied dollars",
            row["initial_denied_change"],
            row["initial_denied_amount"],
            month_label(scope.previous) if not scope.partial else prev_label,
            month_label(scope.end) if not scope.partial else cur_label,
        )
        lead = data["lead"]
        if lead and not scope.partial:
            sentence += (
                "; the largest new denial reason of the month was "
                f"{lead['group_code']}-{lead['reason_code']} "
                f"at {lead['payer_name']} ({money(lead['dollars'])})"
            )
        parts.append(sentence + ".")
    parts.append(
        f"Denials resolved in {cur_label} recovered {money(row['recovered_amount'])} "
        f"({money(row['overturned_amount'])} overturned by the payer) and "
        f"{money(row['denial_writeoff_amount'])} became final write-offs; the other plan paid "
        f"{money(row['redirect_recovered_amount'])} on redirected claims; net payments were "
        f"{money(row['net_payments'])}."
    )
    parts.append(
        f"Over the {total['months']} months: {plural(total['claims_remitted'], 'claim')} remitted, "
        f"{pct(total['denial_rate_count'])} denied, {money(total['initial_denied_amount'])} first denied, "
        f"{money(total['recovered_amount'])} recovered, {money(total['denial_writeoff_amount'])} finally "
        f"written off, first-pass yield {pct(total['first_pass_yield'])}, "
        f"{money(total['net_payments'])} received."
    )
    return " ".join(parts)


def worklist_table(lists: list[dict[str, Any]]) -> str:
    """The open worklists as of the warehouse's as-of date: items, dollars, oldest age, nearest deadline."""
    for r in lists:
        r["label"] = fx.WORKLIST_LABELS[r["worklist"]]
        r["deadline"] = (
            f"{r['nearest_deadline_date']} ({r['nearest_days_left']:+,} days)"
            if r["nearest_deadline_date"]
            else "–"
        )
    return table(
        [
            Column("Worklist", "label"),
            Column("Open items", "items", "count"),
            Column("Remits", "claims", "count"),
            Column("Dollars at stake", "dollars_at_stake", "money"),
            Column("Oldest (days)", "oldest_age_days", "count"),
            Column("Nearest deadline", "deadline", "label"),
            Column("Past deadline", "past_deadline_items", "count"),
            Column("Due in 14 days", "due_in_14_days_items", "count"),
        ],
        lists,
        caption="Open worklists today (open denials only; an item leaves its list when resolved)",
    )


def empty_months(months: list[dict[str, Any]]) -> set[str]:
    """Months of the period without any remittance in the scope (no payment, no remit): gaps, not zeros."""
    return {m["payment_month"] for m in months if m["payments"] == 0 and m["claims_remitted"] == 0}


def context(data: dict[str, Any], scope: fx.Scope, env: Env) -> dict[str, Any]:
    months, total = data["months"], data["total"]
    gaps = empty_months(months)
    labels = [short_month(m) for m in scope.months]
    series = ["By claims", "By dollars billed"]
    points = [
        {"month": short_month(m["payment_month"]), "series": name, "value": charts.num(m[key])}
        for m in months
        for name, key in zip(series, ("denial_rate_count", "denial_rate_dollars"), strict=True)
    ]
    chart = charts.line_chart(points, months=labels, series=series, y_title="Denial rate (%)")
    rows = []
    for m in months:
        month = m["payment_month"]
        if month in gaps:
            note = "before the data start" if month < scope.first_data_month else "no remittance"
            rows.append({"month": short_month(month), "_note": note})
        else:
            rows.append(
                {
                    **m,
                    "month": short_month(month)
                    + (" (to date)" if scope.partial and month == scope.end else ""),
                }
            )
    denials = table(
        [
            Column("Month", "month", "label"),
            Column("Claims remitted", "claims_remitted", "count"),
            Column("Denial rate (claims)", "denial_rate_count", "pct"),
            Column("Denial rate ($)", "denial_rate_dollars", "pct"),
            Column("Initial denied", "initial_denied_amount", "money"),
            Column("Recovered", "recovered_amount", "money"),
            Column("Final write-offs", "denial_writeoff_amount", "money"),
        ],
        rows,
        caption="Denials month by month (a month without remittance is marked, not shown as zeros)",
        total={**total, "month": "Total"},
    )
    payments = table(
        [
            Column("Month", "month", "label"),
            Column("First-pass yield", "first_pass_yield", "pct"),
            Column("Days to pay (median)", "median_days_to_pay", "days"),
            Column("Redirects paid by the other plan", "redirect_recovered_amount", "money"),
            Column("Net payments", "net_payments", "money"),
        ],
        rows,
        caption="Payment month by month",
        total={**total, "month": "Total"},
    )
    return {
        "cards": cards(data, scope, env),
        "reading": html(reading(headline_text(data, scope))),
        "worklists": html(worklist_table(data["worklists"])),
        "chart": html(
            charts.figure(
                chart,
                "Denial rate by month: share of remitted claims denied, and share of billed dollars "
                "(a gap: no remittance that month).",
            )
        ),
        "monthly": html(denials + payments),
    }
