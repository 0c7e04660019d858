"""The six sections of the leadership report, each as one HTML block: reading, tables and inline-SVG charts.

The notebook (``notebooks/leadership_report.py``) calls one function per section; the figures come from
``pipeline.reports.figures`` and are printed with ``pipeline.reports.format``. Each reading is computed
from the same figures the tables show, so prose and numbers cannot drift apart.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import altair as alt
import duckdb

from pipeline.reports import figures as fx
from pipeline.reports.format import (
    Column,
    action_label,
    carc_link,
    count,
    days,
    esc,
    figure,
    money,
    month_label,
    pct,
    plural,
    rarc_links,
    reading,
    short_month,
    signed_days,
    signed_pct,
    signed_points,
    table,
)

WIDTH = 860
HEIGHT = 250
ZERO = Decimal("0")


def _num(value: Decimal | int | None) -> float | None:
    """A chart coordinate (Vega-Lite data are JSON numbers); printed figures never go through here."""
    return None if value is None else float(value)


def _month_axis(scope: fx.Scope) -> alt.X:
    return alt.X(
        "month:O", sort=[short_month(m) for m in scope.months], title=None, axis=alt.Axis(labelAngle=0)
    )


# ------------------------------------------------------------------------------------------ 1 KPIs


def _kpi_card(label: str, value: str, change: str, css: str, sub: str) -> str:
    return (
        f'<div class="kpi"><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div>'
        f'<div class="change {css}">{esc(change)}</div><div class="sub">{esc(sub)}</div></div>'
    )


def _direction_css(change: Decimal | None, up_is_good: bool, *, unit: Decimal) -> str:
    """CSS class colouring a change good or bad; a change that prints as zero (below ``unit``) is neutral."""
    if change is None or abs(change) < unit / 2:
        return ""
    up = change > 0
    return ("up" if up else "down") + ("-good" if up == up_is_good else "-bad")


# Headline cards: label, value column, change column (relative; points for a rate; days for days), format,
# kind of change, a rise is good. Values, changes and totals are columns of marts.report_kpi_month and
# marts.report_kpi_period; the denial figures are the lifecycle figures of docs/metrics.md.
HEADLINE_CARDS = (
    ("Claims remitted", "claims_remitted", "claims_remitted_change", count, "pct", True),
    ("Denial rate (claims)", "denial_rate_count", "denial_rate_count_change_points", pct, "points", False),
    ("Initial denied dollars", "initial_denied_amount", "initial_denied_change", money, "pct", False),
    ("Recovered after denial", "recovered_amount", "recovered_change", money, "pct", True),
    ("Overturned by the payer", "overturned_amount", "overturned_change", money, "pct", True),
    ("Final denial write-offs", "denial_writeoff_amount", "denial_writeoff_change", money, "pct", False),
    ("First-pass yield", "first_pass_yield", "first_pass_yield_change_points", pct, "points", True),
    ("Median days to pay", "median_days_to_pay", "median_days_to_pay_change", days, "days", False),
    ("Net payments", "net_payments", "net_payments_change", money, "pct", True),
)
CHANGE_TEXT = {"pct": signed_pct, "points": signed_points, "days": signed_days}
CHANGE_UNIT = {"pct": Decimal("0.001"), "points": Decimal("0.1"), "days": Decimal("0.1")}


def _moved(
    what: str, change: Decimal | None, current: Decimal, previous: Decimal, prev: str, cur: str
) -> str:
    """'Denial write-offs rose 12.0 % from May 2025 to June 2025, to $1,234.00' (or fell, held, were nil);
    ``change`` is the view's relative change (None when the previous month is zero)."""
    if change is None:
        if Decimal(current) == 0:
            return f"{what} were nil in {prev} and {cur}"
        return f"{what} went from nothing in {prev} to {money(current)} in {cur}"
    if change == 0:
        return f"{what} held steady at {money(current)} from {prev} to {cur}"
    verb = "rose" if change > 0 else "fell"
    return f"{what} {verb} {signed_pct(abs(change)).lstrip('+')} from {prev} to {cur}, to {money(current)}"


def headline(con: duckdb.DuckDBPyConnection, scope: fx.Scope) -> str:
    """Section 1: headline KPIs of the last month with month-over-month change, 12-month totals, trend."""
    months = fx.kpi_months(con, scope)
    cur = months[-1]
    total = fx.kpi_period(con, scope)
    prev_label, cur_label = month_label(scope.previous), month_label(scope.end)
    vs = f"vs {short_month(scope.previous)}"

    cards = []
    for label, key, change_key, fmt, kind, up_good in HEADLINE_CARDS:
        change = cur[change_key]
        text = f"{CHANGE_TEXT[kind](change)} {vs}"
        sub = f"{short_month(scope.start)}–{short_month(scope.end)}: {fmt(total[key])}"
        css = _direction_css(change, up_good, unit=CHANGE_UNIT[kind])  # a change printed as 0.0 is neutral
        cards.append(_kpi_card(label, fmt(cur[key]), text, css, sub))

    remits = f"In {cur_label} payers remitted {plural(cur['claims_remitted'], 'claim')}"
    if cur["previous_claims_remitted"]:
        remits += f" ({signed_pct(cur['claims_remitted_change'])} on {prev_label})"
    else:
        remits += f" (none in {prev_label})"
    if cur["claims_remitted"]:
        remits += (
            f"; {pct(cur['denial_rate_count'])} of them were denied"
            + (
                f" ({signed_points(cur['denial_rate_count_change_points'])})"
                if cur["previous_claims_remitted"]
                else ""
            )
            + f", {pct(cur['denial_rate_dollars'])} of billed charges by value."
        )
    else:
        remits += "."
    parts = [remits]
    sentence = _moved(
        "Initial denied dollars",
        cur["initial_denied_change"],
        cur["initial_denied_amount"],
        cur["previous_initial_denied_amount"],
        prev_label,
        cur_label,
    )
    lead = fx.top_denial_in_month(con, scope)
    if lead:
        sentence += (
            f"; the largest new denial reason of the month was {lead['group_code']}-{lead['reason_code']} at "
            f"{lead['payer_name']} ({money(lead['dollars'])})"
        )
    parts.append(sentence + ".")
    parts.append(
        f"Denials resolved in {cur_label} recovered {money(cur['recovered_amount'])} "
        f"({money(cur['overturned_amount'])} overturned by the payer) and "
        f"{money(cur['denial_writeoff_amount'])} became final write-offs; "
        f"net payments were {money(cur['net_payments'])} ({signed_pct(cur['net_payments_change'])})."
    )
    parts.append(
        f"Over the {total['months']} months: {plural(total['claims_remitted'], 'claim')} remitted, "
        f"{pct(total['denial_rate_count'])} denied, {money(total['initial_denied_amount'])} first denied, "
        f"{money(total['recovered_amount'])} recovered, {money(total['denial_writeoff_amount'])} finally "
        f"written off, first-pass yield {pct(total['first_pass_yield'])}, "
        f"{money(total['net_payments'])} received."
    )

    data = []
    for m in months:
        for name, key in (("By claims", "denial_rate_count"), ("By dollars billed", "denial_rate_dollars")):
            data.append({"month": short_month(m["payment_month"]), "measure": name, "rate": _num(m[key])})
    chart = (
        alt.Chart(alt.Data(values=data))
        .mark_line(point=True)
        .encode(
            x=_month_axis(scope),
            y=alt.Y("rate:Q", title="Denial rate", axis=alt.Axis(format=".0%")),
            color=alt.Color("measure:N", title=None, legend=alt.Legend(orient="top")),
        )
        .properties(width=WIDTH, height=HEIGHT)
    )
    monthly = table(
        [
            Column("Month", "month", "label"),
            Column("Claims remitted", "claims_remitted", "count"),
            Column("Denied claims", "denied_claims", "count"),
            Column("Denial rate (claims)", "denial_rate_count", "pct"),
            Column("Denial rate (dollars)", "denial_rate_dollars", "pct"),
            Column("Initial denied", "initial_denied_amount", "money"),
            Column("Recovered", "recovered_amount", "money"),
            Column("Final write-offs", "denial_writeoff_amount", "money"),
            Column("First-pass yield", "first_pass_yield", "pct"),
            Column("Median days to pay", "median_days_to_pay", "days"),
            Column("Net payments", "net_payments", "money"),
        ],
        [{**m, "month": short_month(m["payment_month"])} for m in months],
        caption="Month by month",
        total={**total, "month": "Total"},
    )
    return (
        f'<div class="kpis">{"".join(cards)}</div>'
        + reading(" ".join(parts))
        + worklist_table(con, scope)
        + figure(chart, "Denial rate by month: share of remitted claims denied, and share of billed dollars.")
        + monthly
    )


def worklist_table(con: duckdb.DuckDBPyConnection, scope: fx.Scope) -> str:
    """The open worklists as of the warehouse's as-of date: items, dollars, oldest age, nearest deadline."""
    lists = fx.worklist_summary(con, scope)
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
        ],
        lists,
        caption="Open worklists today (open denials only; an item leaves its list when resolved)",
    )


def payers(con: duckdb.DuckDBPyConnection, scope: fx.Scope) -> str:
    """Which payers are getting worse: dollar denial rate, last three months against the three before."""
    trend = fx.payer_trend(con, scope)  # worst first (the view's worse_rank)
    recent = f"{short_month(scope.months[-3])}–{short_month(scope.end)}"
    prior = f"{short_month(scope.months[-6])}–{short_month(scope.months[-4])}"
    comparable = [r for r in trend if r["change_points"] is not None]
    worse = [r for r in comparable if r["change_points"] > 0]
    better = [r for r in reversed(comparable) if r["change_points"] < 0]
    if not comparable:
        text = (
            f"No payer has remitted claims in both {prior} and {recent}, so no quarter-on-quarter trend "
            "can be read yet; the table shows each payer's denial rates over the period."
        )
    else:
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
    tbl = table(
        [
            Column("Payer", "payer_name"),
            Column("Plan type", "plan_type"),
            Column("Claims remitted", "claims_remitted", "count"),
            Column("Denial rate (claims)", "denial_rate_count", "pct"),
            Column("Denial rate (dollars)", "denial_rate_dollars", "pct"),
            Column(f"Rate {prior}", "prior_rate", "pct"),
            Column(f"Rate {recent}", "recent_rate", "pct"),
            Column("Change", lambda r: signed_points(r["change_points"])),
            Column("Final write-offs", "denial_writeoff_amount", "money"),
        ],
        trend,
        caption="Payers, worst trend first",
    )
    data = [
        {
            "month": short_month(r["payment_month"]),
            "payer": r["payer_name"],
            "rate": _num(r["denial_rate_dollars"]),
        }
        for r in fx.payer_month_rates(con, scope)
    ]
    chart = (
        alt.Chart(alt.Data(values=data))
        .mark_line(point=True)
        .encode(
            x=_month_axis(scope),
            y=alt.Y("rate:Q", title="Denial rate (dollars)", axis=alt.Axis(format=".0%")),
            color=alt.Color("payer:N", title="Payer", legend=alt.Legend(labelLimit=320)),
        )
        .properties(width=WIDTH - 160, height=HEIGHT)
    )
    return reading(text) + figure(chart, "Denial rate by dollars billed, per payer and month.") + tbl


# --------------------------------------------------------------------------------------- 2 denials


def _meaning(row: dict[str, Any]) -> str:
    """A CARC summary inside a sentence: first letter lower-case, no closing full stop."""
    text = (row.get("carc_summary") or "no summary in the reference list").rstrip(". ")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def denials(con: duckdb.DuckDBPyConnection, scope: fx.Scope) -> str:
    """Section 2: top denial CARCs by count and by dollars, with meaning and action; top-five trend."""
    carcs = fx.denial_carcs(con, scope)
    if not carcs:
        return reading("No claim or line was first denied in this period.")
    for r in carcs:
        r["code_html"] = carc_link(r["reason_code"], r["group_code"])
    by_count, by_dollars = fx.top_by_count(carcs), fx.top_by_dollars(carcs)
    top5 = by_dollars[:5]
    trend = fx.denial_trend(con, scope, top5)

    freq, cost = by_count[0], by_dollars[0]
    text = f"Initial denials came to {money(cost['period_dollars'])} over the period. "
    freq_text = f"{freq['group_code']}-{freq['reason_code']} ({_meaning(freq)})"
    if freq is cost:
        text += (
            f"The most frequent denial was also the costliest: {freq_text}, on "
            f"{plural(freq['claims'], 'claim')} for {money(cost['dollars'])}, {pct(cost['share'])} of all "
            "denial dollars."
        )
    else:
        text += (
            f"The most frequent was {freq_text} on {plural(freq['claims'], 'claim')}; the costliest was "
            f"{cost['group_code']}-{cost['reason_code']} ({_meaning(cost)}) at {money(cost['dollars'])}, "
            f"{pct(cost['share'])} of all denial dollars."
        )
    # the top-five code whose dollars moved most between the last two months (the view's last_month_move)
    mover = max(top5, key=lambda r: (r["last_month_move"], -r["rank_by_dollars"]))
    if mover["last_month_move"]:
        text += (
            f" Among the top five, {mover['group_code']}-{mover['reason_code']} moved most from "
            f"{month_label(scope.previous)} to {month_label(scope.end)}: "
            f"{money(mover['previous_month_dollars'])} to {money(mover['last_month_dollars'])}."
        )

    cols_common = [
        Column("Code", "code_html", "code"),
        Column("Meaning", "carc_summary"),
        Column("Recommended action", lambda r: action_label(r["action"])),
        Column("Remits", "claims", "count"),
        Column("Denials", "denials", "count"),
        Column("Dollars denied", "dollars", "money"),
        Column("Share of denied $", "share", "pct"),
        Column("Recovered", "recovered_amount", "money"),
        Column("Written off", "writeoff_amount", "money"),
        Column("Still open", "open_amount", "money"),
    ]
    bar_data = [
        {
            "code": f"{r['group_code']}-{r['reason_code']}",
            "dollars": _num(r["dollars"]),
            "label": money(r["dollars"]),
        }
        for r in by_dollars
    ]
    order = [d["code"] for d in bar_data]
    bars = alt.Chart(alt.Data(values=bar_data)).encode(
        y=alt.Y("code:N", sort=order, title=None),
        x=alt.X("dollars:Q", title="Denial dollars", axis=alt.Axis(format="$,.0f")),
    )
    bar_chart = (
        bars.mark_bar(color="#1f5f8b") + bars.mark_text(align="left", dx=4).encode(text="label:N")
    ).properties(width=WIDTH - 200, height=22 * len(bar_data))
    line_data = [
        {"month": short_month(t["payment_month"]), "code": t["code"], "dollars": _num(t["dollars"])}
        for t in trend
    ]
    line_chart = (
        alt.Chart(alt.Data(values=line_data))
        .mark_line(point=True)
        .encode(
            x=_month_axis(scope),
            y=alt.Y("dollars:Q", title="Denial dollars", axis=alt.Axis(format="$,.0f")),
            color=alt.Color(
                "code:N", title="Code", sort=[f"{r['group_code']}-{r['reason_code']}" for r in top5]
            ),
        )
        .properties(width=WIDTH - 120, height=HEIGHT)
    )
    return (
        reading(text)
        + table(cols_common, by_count, caption="Top denial codes by number of claims")
        + table(cols_common, by_dollars, caption="Top denial codes by dollars")
        + figure(bar_chart, "Denial dollars of the ten costliest codes over the period.")
        + figure(line_chart, "Monthly denial dollars of the five costliest codes.")
    )


# -------------------------------------------------------------------------------------- 3 absorbed


def absorbed(con: duckdb.DuckDBPyConnection, scope: fx.Scope) -> str:
    """Section 3: provider-absorbed dollars by category, by payer and over time."""
    got = fx.absorbed_period(con, scope)
    by_payer = [r for r in got if r["payer_key"] != "*"]
    if not by_payer:
        return reading("No provider-absorbed adjustments were remitted in this period.")
    totals = next(r for r in got if r["payer_key"] == "*")
    cur = fx.kpi_months(con, scope)[-1]
    text = (
        f"Over the period the provider absorbed {money(totals['total'])}: "
        + ", ".join(
            f"{money(totals[c])} {fx.ABSORBED_LABELS[c].lower()} ({pct(totals[c + '_share'])})"
            for c in fx.ABSORBED_CATEGORIES
            if totals[c]
        )
        + ". Expected contractual dollars are the price of the contracts; denied dollars are counted "
        "here as the payer remitted them, before any appeal or corrected claim recovers them."
    )
    if totals["denial_writeoff"]:
        leader = next(r for r in by_payer if r["denial_writeoff_rank"] == 1)
        text += (
            f" {leader['payer_name']} accounts for the most denied dollars, "
            f"{money(leader['denial_writeoff'])} ({pct(leader['share_of_scope_denial_writeoff'])})."
        )
    moved = _moved(
        "Absorbed dollars",
        cur["provider_absorbed_change"],
        cur["provider_absorbed_amount"],
        cur["previous_provider_absorbed_amount"],
        month_label(scope.previous),
        month_label(scope.end),
    )
    text += f" {moved}."

    month_cat = {
        (r["payment_month"], r["absorbed_category"]): r["dollars"] for r in fx.absorbed_month(con, scope)
    }
    month_data = [
        {
            "month": short_month(m),
            "category": fx.ABSORBED_LABELS[c],
            "dollars": _num(month_cat.get((m, c), ZERO)),
        }
        for m in scope.months
        for c in fx.ABSORBED_CATEGORIES
    ]
    cat_order = [fx.ABSORBED_LABELS[c] for c in fx.ABSORBED_CATEGORIES]
    color = alt.Color("category:N", title=None, sort=cat_order, legend=alt.Legend(orient="top"))
    over_time = (
        alt.Chart(alt.Data(values=month_data))
        .mark_bar()
        .encode(
            x=_month_axis(scope),
            y=alt.Y("dollars:Q", title="Absorbed dollars", axis=alt.Axis(format="$,.0f"), stack="zero"),
            color=color,
            order=alt.Order("order:Q"),
        )
        .transform_calculate(order=f"indexof({cat_order!r}, datum.category)")
        .properties(width=WIDTH, height=HEIGHT)
    )
    payer_data = [
        {"payer": r["payer_name"], "category": fx.ABSORBED_LABELS[c], "dollars": _num(r[c])}
        for r in by_payer
        for c in fx.ABSORBED_CATEGORIES
    ]
    per_payer = (
        alt.Chart(alt.Data(values=payer_data))
        .mark_bar()
        .encode(
            y=alt.Y("payer:N", sort=[r["payer_name"] for r in by_payer], title=None),
            x=alt.X("dollars:Q", title="Absorbed dollars", axis=alt.Axis(format="$,.0f"), stack="zero"),
            color=color,
            order=alt.Order("order:Q"),
        )
        .transform_calculate(order=f"indexof({cat_order!r}, datum.category)")
        .properties(width=WIDTH - 220, height=28 * len(by_payer))
    )
    tbl = table(
        [Column("Payer", "payer_name")]
        + [Column(fx.ABSORBED_LABELS[c], c, "money") for c in fx.ABSORBED_CATEGORIES]
        + [Column("Total", "total", "money")],
        by_payer,
        caption="Provider-absorbed dollars by payer",
        total={**totals, "payer_name": "All payers"},
    )
    return (
        reading(text)
        + figure(over_time, "Provider-absorbed dollars per month, by category.")
        + figure(per_payer, "Provider-absorbed dollars per payer over the period, by category.")
        + tbl
    )


# ------------------------------------------------------------------------------------- 4 crossover


def crossover(con: duckdb.DuckDBPyConnection, scope: fx.Scope) -> str:
    """Section 4: dental-medical crossover adjustments per month, payer and direction; dental line share."""
    data = fx.crossover(con, scope)  # by dollars, largest first
    summary = fx.crossover_summary(con, scope)
    share = fx.dental_share(con, scope)
    recent_start, prior_start = scope.months[-3], scope.months[-6]
    if not data:
        text = "No crossover adjustments (dental, medical and pharmacy coordination codes) this period."
    else:
        by_dir: dict[str, Decimal] = {}
        for r in data:  # every row of a direction carries the same direction_dollars
            by_dir.setdefault(r["crossover_direction"], r["direction_dollars"])
        text = (
            f"Crossover adjustments came to {money(summary['crossover_dollars'])} on "
            f"{plural(summary['crossover_claims'], 'claim')} over the period: "
            + ", ".join(
                f"{fx.DIRECTION_LABELS.get(d, d).lower()} {money(v)}"
                for d, v in by_dir.items()  # first seen = the direction of the largest row
            )
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
        window = f"{short_month(recent_start)}–{short_month(scope.end)}"
        before = f"{short_month(prior_start)}–{short_month(scope.months[-4])}"
        change = summary["recent_change"]
        recent, prior = summary["recent_dollars"], summary["prior_dollars"]
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

    # one stacked series per payer and direction, every month present (zeros where nothing was remitted)
    series_dollars: dict[tuple[str, str], Decimal] = {}
    for r in fx.crossover_series(con, scope):
        direction = fx.DIRECTION_LABELS.get(r["crossover_direction"], r["crossover_direction"])
        series_dollars[(r["payment_month"], f"{r['payer_name']}: {direction}")] = r["dollars"]
    series = sorted({label for _, label in series_dollars}) or ["No crossover"]
    chart_data = [
        {"month": short_month(m), "series": label, "dollars": _num(series_dollars.get((m, label), ZERO))}
        for m in scope.months
        for label in series
    ]
    trend = (
        alt.Chart(alt.Data(values=chart_data))
        .mark_bar()
        .encode(
            x=_month_axis(scope),
            y=alt.Y("dollars:Q", title="Crossover dollars", axis=alt.Axis(format="$,.0f"), stack="zero"),
            color=alt.Color("series:N", title="Payer: direction", legend=alt.Legend(labelLimit=320)),
        )
        .properties(width=WIDTH - 260, height=HEIGHT)
    )
    line_data = [
        {"month": short_month(s["payment_month"]), "plan": plan, "lines": n}
        for s in share
        for plan, n in (
            ("Dental lines remitted by medical plans", s["dental_at_medical"]),
            ("Dental lines remitted by other plans", s["dental_lines"] - s["dental_at_medical"]),
        )
    ]
    share_chart = (
        alt.Chart(alt.Data(values=line_data))
        .mark_bar()
        .encode(
            x=_month_axis(scope),
            y=alt.Y("lines:Q", title="Dental lines", stack="zero", axis=alt.Axis(format=",d", tickMinStep=1)),
            color=alt.Color(
                "plan:N",
                title=None,
                scale=alt.Scale(range=["#b42318", "#9fb3c8"]),
                legend=alt.Legend(orient="top", labelLimit=400),
            ),
        )
        .properties(width=WIDTH, height=200)
    )
    for r in data:
        r["direction"] = fx.DIRECTION_LABELS.get(r["crossover_direction"], r["crossover_direction"])
        r["code_html"] = carc_link(r["reason_code"])
    tbl = table(
        [
            Column("Payer", "payer_name"),
            Column("Plan type", "plan_type"),
            Column("Direction", "direction"),
            Column("CARC", "code_html", "code"),
            Column("Forwarded by the payer", lambda r: "yes" if r["crossover_forwarded"] else "no"),
            Column("Claims", "claims", "count"),
            Column("Lines", "lines", "count"),
            Column("Dollars", "dollars", "money"),
        ],
        data,
        caption="Crossover by payer, direction and code",
        empty="No crossover adjustments in this period.",
    )
    return (
        reading(text)
        + figure(trend, "Crossover dollars per month, by payer and direction.")
        + figure(
            share_chart,
            "Dental lines per month: remitted by a medical plan (red) or by a dental or other plan.",
        )
        + tbl
    )


# ------------------------------------------------------------------------------------- 5 worklists


def appeals(con: duckdb.DuckDBPyConnection, scope: fx.Scope, n: int = 10) -> str:
    """Section 5: the first ``n`` open items of each worklist (no patient names or ids)."""
    parts = []
    for summary in fx.worklist_summary(con, scope):
        name = summary["worklist"]
        label = fx.WORKLIST_LABELS[name]
        top = fx.worklist_top(con, scope, name, n)
        if not top:
            parts.append(reading(f"{label}: no open item."))
            continue
        first = top[0]
        text = (
            f"{label}: {plural(summary['items'], 'open item')} on {plural(summary['claims'], 'remit')}, "
            f"worth {money(summary['dollars_at_stake'])} at stake; the oldest is "
            f"{summary['oldest_age_days']:,} days old and {plural(summary['past_deadline_items'], 'item')} "
            f"{'is' if summary['past_deadline_items'] == 1 else 'are'} past the deadline. "
            f"The largest is {first['group_code']}-{first['reason_code']} from {first['payer_name']} for "
            f"{money(first['dollars_at_stake'])}: {action_label(first['action']).lower()}"
        )
        parts.append(reading(text.rstrip(".") + "."))
        for r in top:
            r["code_html"] = carc_link(r["reason_code"], r["group_code"])
            r["remarks_html"] = rarc_links(r["remark_codes"])
        parts.append(
            table(
                [
                    Column("#", "worklist_rank", "count"),
                    Column("Payer", "payer_name"),
                    Column("Payer claim no.", "payer_claim_control_number"),
                    Column("Level", "level"),
                    Column("Code", "code_html", "code"),
                    Column("Meaning", "carc_summary"),
                    Column("Remarks", "remarks_html", "html"),
                    Column("Dollars at stake", "dollars_at_stake", "money"),
                    Column("First denied", "first_denied_date", "label"),
                    Column("Age (days)", "age_days", "count"),
                    Column("Deadline", "deadline_date", "label"),
                    Column("Days left", "days_left", "count"),
                    Column("Action", lambda r: action_label(r["action"])),
                ],
                top,
                caption=f"{label} worklist: first {len(top)} of {summary['items']:,} by dollars at stake",
            )
        )
    return "".join(parts)


# ---------------------------------------------------------------------------------- 6 data quality


def data_quality(con: duckdb.DuckDBPyConnection, scope: fx.Scope, home_root: str | Path | None) -> str:
    """Section 6: the latest quality checks, quarantined files and the warehouse's check views."""
    parts = []
    results = fx.quality_results(con, home_root)
    if results is None:
        parts.append(
            reading("No quality checks are recorded for this warehouse yet (they run with remit check).")
        )
    else:
        checks = results["checks"]
        failed = [c for c in checks if not c["success"]]
        critical = [c for c in failed if c["severity"] == "critical"]
        text = f"The latest checks (run {results['run_id']}, {results['checked_at']:%Y-%m-%d %H:%M} UTC): "
        text += f"{len(checks) - len(failed)} of {len(checks)} passed"
        if failed:
            text += f"; {len(failed)} failed ({len(critical)} critical): " + ", ".join(
                f"{c['expectation']} ({count(c['unexpected_count'])} rows)" for c in failed[:5]
            )
        parts.append(reading(text + "."))
        # one line per suite; the failed checks themselves, if any, below it (passing ones add nothing)
        suites: dict[str, dict[str, Any]] = {}
        for c in checks:
            row = suites.setdefault(c["suite"], {"suite": c["suite"], "checks": 0, "passed": 0, "failed": 0})
            row["checks"] += 1
            row["passed" if c["success"] else "failed"] += 1
        parts.append(
            table(
                [
                    Column("Suite", "suite"),
                    Column("Checks", "checks", "count"),
                    Column("Passed", "passed", "count"),
                    Column("Failed", "failed", "count"),
                ],
                sorted(suites.values(), key=lambda r: r["suite"]),
                caption="Quality checks of the latest run",
            )
        )
        if failed:
            parts.append(
                table(
                    [
                        Column("Suite", "suite"),
                        Column("Check", "expectation"),
                        Column("Severity", "severity"),
                        Column("Unexpected rows", "unexpected_count", "count"),
                        Column("Rows checked", "element_count", "count"),
                    ],
                    failed,
                    caption="Failed checks",
                )
            )
    files = fx.quarantined(con, home_root)
    if files:
        parts.append(
            reading(
                f"{plural(len(files), 'file')} rejected and held in quarantine; their payments are not in "
                "any "
                "figure above until a corrected file is loaded."
            )
        )
        parts.append(
            table(
                [Column("File", "file"), Column("Rejected at", "when"), Column("Problem", "problem")],
                files,
                caption="Quarantined files",
            )
        )
    else:
        parts.append(reading("No file was rejected: nothing is held in quarantine."))
    checks = fx.warehouse_checks(con, scope)
    notes = []
    if checks["unknown_payers"]:
        notes.append(
            "payers missing from payers.csv (plan type unknown): "
            + ", ".join(
                f"{p['payer_name'] or p['payer_key']} ({p['payer_key']})" for p in checks["unknown_payers"]
            )
        )
    if checks["expired"]["n"]:
        notes.append(
            f"{plural(checks['expired']['n'], 'adjustment')} used a CARC after its stop date "
            f"({money(checks['expired']['dollars'])})"
        )
    if notes:
        parts.append(reading("Warehouse checks: " + "; ".join(notes) + "."))
    else:
        parts.append(
            reading("Warehouse checks: every payer is listed in payers.csv and no expired CARC was used.")
        )
    return "".join(parts)
