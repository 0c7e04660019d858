"""Section 6, unanswered claims: the claims submitted (837) that no remit has answered, by payer and age;
HFMA's initial denial rate on claims submitted beside the rate on claims remitted, each labelled; days from
submission to first remit and to payment. Without any 837 in the warehouse it says "no 837s loaded"."""

from __future__ import annotations

from typing import Any

import duckdb

from pipeline.present.format import count, date_label, days, esc, money, pct, plural, reading, short_month
from pipeline.present.tables import Column, table
from pipeline.reports import figures as fx
from pipeline.reports.sections import Env, html

TOP = 10
BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")
CLAIM_TYPES = {"professional": "Professional", "institutional": "Institutional", "dental": "Dental"}
NO_837 = (
    "No 837s loaded: the warehouse holds no claims submitted, so there is no denial rate on claims "
    "submitted and no list of claims without an answer. Drop the 837 files sent to the payers into the "
    "inbox with the 835s and the next run matches them."
)


def query(con: duckdb.DuckDBPyConnection, scope: fx.Scope, env: Env) -> dict[str, Any]:
    period = fx.submission_period(con, scope)
    if period is None or not period["submissions_loaded"]:
        return {"loaded": False}
    return {
        "loaded": True,
        "period": period,
        "months": fx.submission_months(con, scope),
        "aging": fx.unanswered_aging(con, scope),
        "top": fx.unanswered_top(con, scope, TOP),
    }


def summary_text(data: dict[str, Any], scope: fx.Scope) -> str:
    """The reading: unanswered claims as of the as-of date, the share never remitted, the two denial rates,
    the medians and the remits without an 837."""
    p = data["period"]
    span = f"{short_month(scope.start)}–{short_month(scope.end)}"
    parts = []
    if p["open_claims"]:
        parts.append(
            f"As of {date_label(scope.as_of_date)}, {plural(p['open_claims'], 'claim')} submitted to the "
            f"payers ({money(p['open_charge'])}) {'has' if p['open_claims'] == 1 else 'have'} no remit: "
            f"{count(p['open_over_30_claims'])} ({money(p['open_over_30_charge'])}) older than 30 days and "
            f"{count(p['open_over_120_claims'])} ({money(p['open_over_120_charge'])}) older than 120 days."
        )
    else:
        parts.append(f"As of {date_label(scope.as_of_date)}, every claim submitted has a remit.")
    if p["claims_submitted"]:
        parts.append(
            f"Of the {money(p['charge_submitted'])} billed on {plural(p['claims_submitted'], 'claim')} "
            f"submitted in {span}, {pct(p['charge_never_remitted_share'])} has never been remitted."
        )
    if p["initial_denial_rate_submitted_count"] is not None:
        parts.append(
            f"Initial denial rate on claims submitted (HFMA, against the average of the three months before "
            f"each month, over {plural(p['rated_months'], 'month')} of {span}): "
            f"{pct(p['initial_denial_rate_submitted_count'])} by claims, "
            f"{pct(p['initial_denial_rate_submitted_dollars'])} by dollars; on claims remitted: "
            f"{pct(p['denial_rate_count'])} by claims, {pct(p['denial_rate_dollars'])} by dollars."
        )
    else:
        parts.append(
            "The 837s do not reach three months before any month of the period yet: no denial rate on claims "
            f"submitted (on claims remitted: {pct(p['denial_rate_count'])} by claims)."
        )
    if p["median_days_to_first_remit"] is not None:
        parts.append(
            f"Median days from submission to first remit: {days(p['median_days_to_first_remit'])}; to "
            f"payment: {days(p['median_days_to_payment'])}."
        )
    if p["remits_without_submission"]:
        parts.append(
            f"{plural(p['remits_without_submission'], 'remitted claim')} (patient control number and payer) "
            f"{'has' if p['remits_without_submission'] == 1 else 'have'} no 837 in the warehouse."
        )
    return " ".join(parts)


def aging_rows(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The aging matrix: one row per payer (the total '*' first) with its buckets' claims and charges as
    columns, laid out from the view's cells in their order."""
    out: dict[str, dict[str, Any]] = {}
    for c in cells:
        row = out.setdefault(
            c["payer_key"],
            {
                "payer": "All payers" if c["payer_key"] == "*" else c["payer_name"] or c["payer_key"],
                "claims": c["payer_unanswered_claims"],
                "charge": c["payer_unanswered_charge"],
            },
        )
        row[f"{c['age_bucket']} claims"] = c["unanswered_claims"]
        row[f"{c['age_bucket']} charge"] = c["unanswered_charge"]
    return list(out.values())


def _bucket(name: str | None):
    """A cell of the aging table: the bucket's (or, for None, the payer's) charges over its number of
    claims, on two lines so that the seven columns fit a narrow window."""

    def cell(row: dict[str, Any]) -> str:
        n, dollars = (
            (row["claims"], row["charge"]) if name is None else (row[f"{name} claims"], row[f"{name} charge"])
        )
        return f"{esc(money(dollars))}<br>({esc(plural(n, 'claim'))})" if n else "–"

    return cell


def context(data: dict[str, Any], scope: fx.Scope, env: Env) -> dict[str, Any]:
    if not data["loaded"]:
        return {"parts": [html(reading(NO_837))]}
    parts = [html(reading(summary_text(data, scope)))]
    aging = aging_rows(data["aging"])
    columns = [Column("Payer", "payer")]
    columns += [Column(f"{b} days", _bucket(b), "html") for b in BUCKETS]
    columns.append(Column("Unanswered", _bucket(None), "html"))
    parts.append(
        html(
            table(
                columns,
                aging,
                caption=f"Claims submitted with no remit as of {date_label(scope.as_of_date)}, by days since "
                "submission",
                empty="No unanswered claim.",
            )
        )
    )
    by_month = {m["payment_month"]: m for m in data["months"]}
    months = [
        {**by_month[m], "month": short_month(m)}
        if m in by_month
        else {"month": short_month(m), "_note": "no data"}
        for m in scope.months
    ]
    rates = table(
        [
            Column("Month", "month", "label"),
            Column("Submitted basis", "initial_denial_rate_submitted_count", "pct"),
            Column("Submitted basis ($)", "initial_denial_rate_submitted_dollars", "pct"),
            Column("Remitted basis", "denial_rate_count", "pct"),
            Column("Remitted basis ($)", "denial_rate_dollars", "pct"),
        ],
        months,
        caption="Initial denial rate by month, on claims submitted (HFMA: the month's initial denials over "
        "the average claims, or dollars, submitted in the three months before; – without three months of "
        "837s) and on claims remitted (denied remits over remits)",
    )
    flow = table(
        [
            Column("Month", "month", "label"),
            Column("Claims submitted", "claims_submitted", "count"),
            Column("Days to remit", "median_days_to_first_remit", "days"),
            Column("Days to pay", "median_days_to_payment", "days"),
            Column("Never remitted", "unanswered_charge", "money"),
            Column("Share", "charge_never_remitted_share", "pct", wide=True),
        ],
        months,
        caption="Claims submitted by month: median days from submission to first remit and to first payment, "
        "and the charges of the month's claims no remit has answered yet",
    )
    parts.append(html(rates + flow))
    top = data["top"]
    if top:
        for r in top:
            r["type"] = CLAIM_TYPES.get(r["claim_type"], r["claim_type"])
            r["kind"] = {"7": "replacement", "8": "void"}.get(r["frequency_code"] or "", "original")
        parts.append(
            html(
                table(
                    [
                        Column("#", "unanswered_rank", "count"),
                        Column("Payer", "payer_name"),
                        Column("Claim", lambda r: f"{r['type']}, {r['kind']}"),
                        Column("Submitted", "submission_date", "label"),
                        Column("Age (days)", "age_days", "count"),
                        Column("Charge", "claim_charge", "money"),
                    ],
                    top,
                    caption=f"The {len(top)} oldest unanswered claims (the claim numbers are in "
                    "marts.unanswered_claim_items)",
                )
            )
        )
    return {"parts": parts}
