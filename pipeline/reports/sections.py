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
    change_pct,
    count,
    esc,
    figure,
    money,
    month_label,
    pct,
    plural,
    points,
    rarc_links,
    ratio,
    reading,
    short_month,
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


def _moved(what: str, current: Decimal, previous: Decimal, prev_label: str, cur_label: str) -> str:
    """'Denial write-offs rose 12.0 % from May 2025 to June 2025, to $1,234.00' (or fell, held, were nil)."""
    change = change_pct(current, previous)
    if change is None:
        if Decimal(current) == 0:
            return f"{what} were nil in {prev_label} and {cur_label}"
        return f"{what} went from nothing in {prev_label} to {money(current)} in {cur_label}"
    if change == 0:
        return f"{what} held steady at {money(current)} from {prev_label} to {cur_label}"
    verb = "rose" if change > 0 else "fell"
    return (
        f"{what} {verb} {signed_pct(abs(change)).lstrip('+')} from {prev_label} to {cur_label}, "
        f"to {money(current)}"
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


def headline(con: duckdb.DuckDBPyConnection, scope: fx.Scope) -> str:
    """Section 1: headline KPIs of the last month with month-over-month change, 12-month totals, trend."""
    months = fx.kpi_by_month(con, scope)
    cur = months[-1]
    prev = fx.kpi_previous(con, scope)
    total = fx.kpi_total(months)
    prev_label, cur_label = month_label(scope.previous), month_label(scope.end)
    vs = f"vs {short_month(scope.previous)}"

    cards = []
    specs = [
        ("Claims remitted", "claims_remitted", count, False, True),
        ("Denial rate (claims)", "denial_rate_count", pct, True, False),
        ("Denial rate (dollars billed)", "denial_rate_dollars", pct, True, False),
        ("Denial write-offs", "denial_writeoff_amount", money, False, False),
        ("Provider-absorbed dollars", "provider_absorbed_amount", money, False, False),
        ("Net payments", "net_payments", money, False, True),
    ]
    for label, key, fmt, is_rate, up_good in specs:
        if is_rate:
            change = points(cur[key], prev[key])
            text = f"{signed_points(change)} {vs}"
        else:
            change = change_pct(cur[key], prev[key])
            text = f"{signed_pct(change)} {vs}"
        sub = f"{short_month(scope.start)}–{short_month(scope.end)}: {fmt(total[key])}"
        unit = Decimal("0.1") if is_rate else Decimal("0.001")  # printed as 0.1 pts or 0.1 %
        cards.append(_kpi_card(label, fmt(cur[key]), text, _direction_css(change, up_good, unit=unit), sub))

    # reading
    remits = f"In {cur_label} payers remitted {plural(cur['claims_remitted'], 'claim')}"
    if prev["claims_remitted"]:
        remits += (
            f" ({signed_pct(change_pct(cur['claims_remitted'], prev['claims_remitted']))} on {prev_label})"
        )
    else:
        remits += f" (none in {prev_label})"
    if cur["claims_remitted"]:
        remits += (
            f"; {pct(cur['denial_rate_count'])} of them were denied"
            + (
                f" ({signed_points(points(cur['denial_rate_count'], prev['denial_rate_count']))})"
                if prev["claims_remitted"]
                else ""
            )
            + f", {pct(cur['denial_rate_dollars'])} of billed charges by value."
        )
    else:
        remits += "."
    parts = [remits]
    moved = _moved(
        "Denial write-offs",
        cur["denial_writeoff_amount"],
        prev["denial_writeoff_amount"],
        prev_label,
        cur_label,
    )
    lead = fx.top_denial_in_month(con, scope, scope.end)
    sentence = moved
    if lead:
        sentence += (
            f"; the largest denial of the month was {lead['group_code']}-{lead['reason_code']} at "
            f"{lead['payer_name']} ({money(lead['dollars'])})"
        )
    parts.append(sentence + ".")
    parts.append(
        f"The provider absorbed {money(cur['provider_absorbed_amount'])} in all "
        f"({signed_pct(change_pct(cur['provider_absorbed_amount'], prev['provider_absorbed_amount']))}) "
        f"and net payments were {money(cur['net_payments'])} "
        f"({signed_pct(change_pct(cur['net_payments'], prev['net_payments']))}). "
        f"Over the {len(scope.months)} months: {plural(total['claims_remitted'], 'claim')}, "
        f"{pct(total['denial_rate_count'])} denied, "
        f"{money(total['denial_writeoff_amount'])} written off as denials, "
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
            Column("Denial write-offs", "denial_writeoff_amount", "money"),
            Column("Provider-absorbed", "provider_absorbed_amount", "money"),
            Column("Net payments", "net_payments", "money"),
        ],
        [{**m, "month": short_month(m["payment_month"])} for m in months],
        caption="Month by month",
        total={**total, "month": "Total"},
    )
    return (
        f'<div class="kpis">{"".join(cards)}</div>'
        + reading(" ".join(parts))
        + figure(chart, "Denial rate by month: share of remitted claims denied, and share of billed dollars.")
        + monthly
    )


def payers(con: duckdb.DuckDBPyConnection, scope: fx.Scope) -> str:
    """Which payers are getting worse: dollar denial rate, last three months against the three before."""
    trend = fx.payer_trend(con, scope)
    recent = f"{short_month(fx.shift_month(scope.end, -2))}–{short_month(scope.end)}"
    prior = f"{short_month(fx.shift_month(scope.end, -5))}–{short_month(fx.shift_month(scope.end, -3))}"
    comparable = [r for r in trend if r["change_points"] is not None]
    worse = sorted((r for r in comparable if r["change_points"] > 0), key=lambda r: -r["change_points"])
    better = sorted((r for r in comparable if r["change_points"] < 0), key=lambda r: r["change_points"])
    if not comparable:
        text = (
            f"No payer has remitted claims in both {prior} and {recent}, so no quarter-on-quarter trend "
            "can be "
            "read yet; the table shows each payer's denial rates over the period."
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
    rows = sorted(trend, key=lambda r: (-(r["change_points"] or Decimal("-1e9")), r["payer_key"]))
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
            Column("Denial write-offs", "denial_writeoff_amount", "money"),
        ],
        rows,
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
        return reading("No denial adjustments were remitted in this period.")
    total_dollars = sum((r["dollars"] for r in carcs), ZERO)
    for r in carcs:
        r["share"] = ratio(r["dollars"], total_dollars)
        r["code_html"] = carc_link(r["reason_code"], r["group_code"])
    by_count, by_dollars = fx.top_by_count(carcs), fx.top_by_dollars(carcs)
    top5 = by_dollars[:5]
    trend = fx.denial_trend(con, scope, top5)

    freq, cost = by_count[0], by_dollars[0]
    text = f"Denial adjustments came to {money(total_dollars)} over the period. "
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
    # the top-five code whose dollars moved most between the last two months
    moves = []
    for r in top5:
        code = f"{r['group_code']}-{r['reason_code']}"
        cur = next(
            (t["dollars"] for t in trend if t["code"] == code and t["payment_month"] == scope.end), ZERO
        )
        prev = next(
            (t["dollars"] for t in trend if t["code"] == code and t["payment_month"] == scope.previous), None
        )
        if prev is None:  # the previous month is outside a one-month period
            continue
        moves.append((abs(cur - prev), code, prev, cur))
    if moves:
        _, code, prev, cur = max(moves)
        if cur != prev:
            text += (
                f" Among the top five, {code} moved most from {month_label(scope.previous)} to "
                f"{month_label(scope.end)}: {money(prev)} to {money(cur)}."
            )

    cols_common = [
        Column("Code", "code_html", "code"),
        Column("Meaning", "carc_summary"),
        Column("Recommended action", lambda r: action_label(r["action"])),
        Column("Claims", "claims", "count"),
        Column("Adjustments", "adjustments", "count"),
        Column("Dollars", "dollars", "money"),
        Column("Share of denial $", "share", "pct"),
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
    data = fx.absorbed(con, scope)
    if not data:
        return reading("No provider-absorbed adjustments were remitted in this period.")
    by_payer = sorted(fx.pivot_absorbed(data, "payer_key"), key=lambda r: -r["total"])
    totals = {c: sum((r[c] for r in by_payer), ZERO) for c in fx.ABSORBED_CATEGORIES}
    grand = sum(totals.values(), ZERO)
    month_cat: dict[tuple[str, str], Decimal] = {}
    for r in data:
        key = (r["payment_month"], r["absorbed_category"])
        month_cat[key] = month_cat.get(key, ZERO) + r["dollars"]
    cur = sum((v for (m, _), v in month_cat.items() if m == scope.end), ZERO)
    prev_rows = fx.absorbed(con, fx.Scope(scope.previous, scope.previous, scope.payer, [scope.previous]))
    prev = sum((r["dollars"] for r in prev_rows), ZERO)
    writeoff_leader = max(by_payer, key=lambda r: r["denial_writeoff"])
    text = (
        f"Over the period the provider absorbed {money(grand)}: "
        + ", ".join(
            f"{money(totals[c])} {fx.ABSORBED_LABELS[c].lower()} ({pct(ratio(totals[c], grand))})"
            for c in fx.ABSORBED_CATEGORIES
            if totals[c]
        )
        + ". Expected contractual dollars are the price of the contracts; "
        "denial write-offs are the avoidable part."
    )
    if totals["denial_writeoff"]:
        text += (
            f" {writeoff_leader['payer_name']} accounts for the most denial write-offs, "
            f"{money(writeoff_leader['denial_writeoff'])} "
            f"({pct(ratio(writeoff_leader['denial_writeoff'], totals['denial_writeoff']))})."
        )
    moved = _moved("Absorbed dollars", cur, prev, month_label(scope.previous), month_label(scope.end))
    text += f" {moved}."

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
        total={"payer_name": "All payers", **totals, "total": grand},
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
    data = fx.crossover(con, scope)
    share = fx.dental_share(con, scope)
    dental_total = sum(s["dental_lines"] for s in share)
    at_medical = sum(s["dental_at_medical"] for s in share)
    total = sum((r["dollars"] for r in data), ZERO)
    claims = sum(r["claims"] for r in data)
    recent_start, prior_start = fx.shift_month(scope.end, -2), fx.shift_month(scope.end, -5)
    recent = sum((r["dollars"] for r in data if r["payment_month"] >= recent_start), ZERO)
    prior = sum((r["dollars"] for r in data if prior_start <= r["payment_month"] < recent_start), ZERO)
    if not data:
        text = "No crossover adjustments (dental, medical and pharmacy coordination codes) this period."
    else:
        by_dir = fx.group_sum(data, "crossover_direction", "dollars")
        text = (
            f"Crossover adjustments put {money(total)} at stake on {plural(claims, 'claim')} "
            "over the period: "
            + ", ".join(
                f"{fx.DIRECTION_LABELS.get(d, d).lower()} {money(v)}"
                for d, v in sorted(by_dir.items(), key=lambda x: -x[1])
            )
            + ". "
        )
        window = f"{short_month(recent_start)}–{short_month(scope.end)}"
        before = f"{short_month(prior_start)}–{short_month(fx.shift_month(scope.end, -3))}"
        change = change_pct(recent, prior)
        if change is None:
            text += (
                f"The last three months ({window}) hold {money(recent)}, against nothing in the three before."
            )
        elif change > 0:
            text += (
                f"It is growing: {money(recent)} in {window} against {money(prior)} in {before} "
                f"({signed_pct(change)})."
            )
        elif change < 0:
            text += (
                f"It is shrinking: {money(recent)} in {window} against {money(prior)} in {before} "
                f"({signed_pct(change)})."
            )
        else:
            text += f"It is flat: {money(recent)} in both {window} and {before}."
    if dental_total:
        text += (
            f" Of {count(dental_total)} dental lines remitted, {count(at_medical)} "
            f"({pct(ratio(at_medical, dental_total))}) "
            "were remitted by medical plans"
            + (
                f" ({pct(share[-1]['share'])} in {month_label(scope.end)})."
                if share[-1]["share"] is not None
                else f"; none were remitted in {month_label(scope.end)}."
            )
        )
    else:
        text += " No dental lines were remitted in this period."

    # one stacked series per payer and direction, every month present (zeros where nothing was remitted)
    series_dollars: dict[tuple[str, str], Decimal] = {}
    for r in data:
        direction = fx.DIRECTION_LABELS.get(r["crossover_direction"], r["crossover_direction"])
        key = (r["payment_month"], f"{r['payer_name']}: {direction}")
        series_dollars[key] = series_dollars.get(key, ZERO) + r["dollars"]
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
    # table: payer x direction x code over the period
    agg: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in data:
        key = (r["payer_name"], r["crossover_direction"], r["reason_code"])
        row = agg.setdefault(
            key,
            {
                "payer_name": r["payer_name"],
                "plan_type": r["plan_type"],
                "direction": fx.DIRECTION_LABELS.get(r["crossover_direction"], r["crossover_direction"]),
                "code_html": carc_link(r["reason_code"]),
                "claims": 0,
                "lines": 0,
                "dollars": ZERO,
            },
        )
        row["claims"] += r["claims"]
        row["lines"] += r["lines"]
        row["dollars"] += r["dollars"]
    tbl = table(
        [
            Column("Payer", "payer_name"),
            Column("Plan type", "plan_type"),
            Column("Direction", "direction"),
            Column("CARC", "code_html", "code"),
            Column("Claims", "claims", "count"),
            Column("Lines", "lines", "count"),
            Column("Dollars at stake", "dollars", "money"),
        ],
        sorted(agg.values(), key=lambda r: -r["dollars"]),
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


# --------------------------------------------------------------------------------------- 5 appeals


def appeals(con: duckdb.DuckDBPyConnection, scope: fx.Scope, n: int = 20) -> str:
    """Section 5: the appeal worklist's top ``n`` items by dollars (no patient names or ids)."""
    summary = fx.appeal_summary(con, scope)
    top = fx.appeal_top(con, scope, n)
    if not top:
        return reading("Nothing in this period is both denied and appealable under the group guidance.")
    top_dollars = sum((r["dollars_at_stake"] for r in top), ZERO)
    first = top[0]
    text = (
        f"{plural(summary['items'], 'denied item')} on {plural(summary['claims'], 'claim')} can be appealed, "
        f"worth {money(summary['dollars'])}. "
    )
    if len(top) < summary["items"]:
        text += (
            f"The {len(top)} largest below hold {money(top_dollars)} "
            f"({pct(ratio(top_dollars, summary['dollars']))}); "
        )
    else:
        text += "All of them are listed below; "
    text += (
        f"the largest is {first['group_code']}-{first['reason_code']} "
        f"from {first['payer_name']} for {money(first['dollars_at_stake'])}: "
        f"{action_label(first['action']).lower()}"
    )
    text = text.rstrip(".") + "."
    for i, r in enumerate(top, 1):
        r["rank"] = i
        r["code_html"] = carc_link(r["reason_code"], r["group_code"])
        r["remarks_html"] = rarc_links(r["remark_codes"])
        r["month"] = short_month(r["payment_month"])
    tbl = table(
        [
            Column("#", "rank", "count"),
            Column("Month", "month", "label"),
            Column("Payer", "payer_name"),
            Column("Payer claim no.", "payer_claim_control_number"),
            Column("Level", "level"),
            Column("Code", "code_html", "code"),
            Column("Meaning", "carc_summary"),
            Column("Remarks", "remarks_html", "html"),
            Column("Dollars at stake", "dollars_at_stake", "money"),
            Column("Action", lambda r: action_label(r["action"])),
        ],
        top,
        caption=f"Appeal worklist: top {len(top)} by dollars",
    )
    return reading(text) + tbl


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
