"""Section 2, why claims are denied: initial denials by root cause (CARC category), by payer and reason,
the costliest codes with what became of their dollars, the codes that are new or rising, and the trend of
the costliest five."""

from __future__ import annotations

from typing import Any

import duckdb

from pipeline.present import charts
from pipeline.present.format import (
    action_label,
    carc_link,
    category_label,
    esc,
    money,
    month_label,
    pct,
    plural,
    reading,
    short_month,
)
from pipeline.present.tables import Column, cells_table, table
from pipeline.reports import figures as fx
from pipeline.reports.sections import Env, html
from pipeline.reports.sections.headline import empty_months


def query(con: duckdb.DuckDBPyConnection, scope: fx.Scope, env: Env) -> dict[str, Any]:
    carcs = fx.denial_carcs(con, scope)
    by_dollars = fx.top_by_dollars(carcs)
    months = fx.kpi_months(con, scope)
    return {
        "carcs": carcs,
        "by_dollars": by_dollars,
        "by_count": fx.top_by_count(carcs),
        "categories": fx.denial_categories(con, scope),
        "matrix": fx.payer_categories(con, scope),
        "trends": fx.code_trends(con, scope),
        "trend": fx.denial_trend(con, scope, by_dollars[:5], empty_months(months)),
    }


def _meaning(row: dict[str, Any]) -> str:
    """A CARC summary inside a sentence: first letter lower-case, no closing full stop."""
    text = (row.get("carc_summary") or "no summary in the reference list").rstrip(". ")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _code(r: dict[str, Any]) -> str:
    return f"{r['group_code']}-{r['reason_code']}"


def _text(data: dict[str, Any], scope: fx.Scope) -> str:
    by_count, by_dollars, cats = data["by_count"], data["by_dollars"], data["categories"]
    freq, cost = by_count[0], by_dollars[0]
    text = f"Initial denials came to {money(cost['period_dollars'])} over the period. "
    if cats:
        top = cats[0]
        text += (
            f"The largest root cause was {category_label(top['carc_category']).lower()}: "
            f"{money(top['dollars'])} ({pct(top['share'])}) on {plural(top['denials'], 'denial')}. "
        )
    if freq is cost:
        text += (
            f"The most frequent denial was also the costliest: {_code(freq)} ({_meaning(freq)}), on "
            f"{plural(freq['claims'], 'claim')} for {money(cost['dollars'])}, {pct(cost['share'])} of all "
            "denial dollars."
        )
    else:
        text += (
            f"The most frequent was {_code(freq)} ({_meaning(freq)}) on {plural(freq['claims'], 'claim')}; "
            f"the costliest was {_code(cost)} ({_meaning(cost)}) at {money(cost['dollars'])}, "
            f"{pct(cost['share'])} of all denial dollars."
        )
    top5 = by_dollars[:5]
    mover = max(top5, key=lambda r: (r["last_month_move"], -r["rank_by_dollars"]))
    if mover["last_month_move"]:
        text += (
            f" Among the top five, {_code(mover)} moved most from {month_label(scope.previous)} to "
            f"{month_label(scope.end)}: {money(mover['previous_month_dollars'])} to "
            f"{money(mover['last_month_dollars'])}."
        )
    new = [r for r in data["trends"] if r["new_this_month"]]
    rising = [r for r in data["trends"] if not r["new_this_month"]]
    if new:
        text += f" New this month: {', '.join(_code(r) for r in new[:5])}."
    if rising:
        text += f" Rising: {', '.join(_code(r) for r in rising[:5])}."
    return text


def _matrix(cells: list[dict[str, Any]]) -> str:
    """Payers down, reasons across; each cell a value of the view (no sum made here)."""
    if not cells:
        return ""
    cats = sorted({(c["category_rank"], c["category_label"]) for c in cells})
    payers = sorted({(c["payer_rank"], c["payer_label"]) for c in cells})
    index = {(c["payer_label"], c["category_label"]): c for c in cells}
    totals = {c["payer_label"]: c["payer_dollars"] for c in cells}
    headers = (
        [("Payer", False)] + [(category_label(name), True) for _, name in cats] + [("All reasons", True)]
    )
    rows = []
    for _, payer in payers:
        row = [esc(payer)]
        for _, cat in cats:
            cell = index.get((payer, cat))
            row.append(esc(money(cell["dollars"])) if cell else "–")
        row.append(esc(money(totals[payer])))
        rows.append(row)
    return (
        '<p class="caption">Initial denied dollars by payer and reason (the six largest payers and four '
        "largest reasons; the rest added into Other)</p>" + cells_table(headers, rows)
    )


def context(data: dict[str, Any], scope: fx.Scope, env: Env) -> dict[str, Any]:
    if not data["carcs"]:
        return {"empty": html(reading("No claim or line was first denied in this period.")), "parts": []}
    by_dollars, by_count = data["by_dollars"], data["by_count"]
    count_rank = {_code(r): r["rank_by_claims"] for r in data["carcs"]}
    for r in data["carcs"]:
        r["code_html"] = carc_link(r["reason_code"], r["group_code"])
        r["action_text"] = action_label(r["action"], r["carc_category"])
    for r in by_dollars:
        r["count_rank"] = count_rank[_code(r)]
    codes = table(
        [
            Column("Code", "code_html", "code"),
            Column("Meaning", "carc_summary"),
            Column("Next step", "action_text"),
            Column("Remits", "claims", "count"),
            Column("Rank by remits", "count_rank", "count"),
            Column("Dollars denied", "dollars", "money"),
            Column("Share", "share", "pct"),
            Column("Recovered", "recovered_amount", "money"),
            Column("Written off", "writeoff_amount", "money"),
            Column("Still open", "open_amount", "money"),
        ],
        by_dollars,
        caption="The ten costliest denial codes (and their rank by number of remits)",
    )
    frequent_only = [r for r in by_count if r["rank_by_dollars"] > 10]
    extra = (
        table(
            [
                Column("Code", "code_html", "code"),
                Column("Meaning", "carc_summary"),
                Column("Next step", "action_text"),
                Column("Remits", "claims", "count"),
                Column("Dollars denied", "dollars", "money"),
            ],
            frequent_only,
            caption="Frequent codes outside the ten costliest (top ten by remits)",
        )
        if frequent_only
        else ""
    )
    cats = data["categories"]
    for r in cats:
        r["category"] = category_label(r["carc_category"])
    rollup = table(
        [
            Column("Root cause (CARC category)", "category"),
            Column("Codes", "codes", "count"),
            Column("Denials", "denials", "count"),
            Column("Dollars denied", "dollars", "money"),
            Column("Share", "share", "pct"),
            Column("Recovered", "recovered_amount", "money"),
            Column("Written off", "writeoff_amount", "money"),
            Column("Still open", "open_amount", "money"),
        ],
        cats,
        caption="Root causes: initial denials by CARC category",
    )
    trends = data["trends"]
    for r in trends:
        r["code_html"] = carc_link(r["reason_code"], r["group_code"])
        r["what"] = "new this month" if r["new_this_month"] else "rising"
        r["action_text"] = action_label(r["action"], r["carc_category"])
    new_table = table(
        [
            Column("Code", "code_html", "code"),
            Column("Trend", "what", "label"),
            Column("Meaning", "carc_summary"),
            Column("Next step", "action_text"),
            Column("Last 3 months", "recent_denials", "count"),
            Column("3 before", "prior_denials", "count"),
            Column("Dollars, last 3 months", "recent_dollars", "money"),
        ],
        trends[:10],
        caption="New and rising codes (rising: the handbook's rule, last three months against the three "
        "before)",
        empty="No code is new this month or rising.",
    )
    bars = charts.hbars(
        [
            {"label": r["category"], "value": charts.num(r["dollars"]), "text": money(r["dollars"])}
            for r in cats[:8]
        ],
        x_title="Initial denied dollars ($)",
        colour=charts.WORSE,
    )
    top5 = [_code(r) for r in by_dollars[:5]]
    line = charts.line_chart(
        [
            {"month": short_month(t["payment_month"]), "series": t["code"], "value": charts.num(t["dollars"])}
            for t in data["trend"]
        ],
        months=[short_month(m) for m in scope.months],
        series=top5,
        y_title="Initial denied dollars ($)",
        y_format=charts.MONEY_AXIS,
    )
    return {
        "empty": "",
        "parts": [
            html(reading(_text(data, scope))),
            html(
                charts.figure(
                    bars, "Initial denied dollars over the period by root cause (the eight largest)."
                )
            ),
            html(rollup),
            html(_matrix(data["matrix"])),
            html(codes),
            html(extra),
            html(new_table),
            html(
                charts.figure(
                    line, "Monthly initial denied dollars of the five costliest codes (a gap: no remittance)."
                )
            ),
        ],
    }
