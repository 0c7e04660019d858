"""Section 8, what needs attention: a short list made from the other sections' figures and the thresholds
of the report settings (``report.toml``: targets and attention). Every item quotes a figure another
section printed; nothing is computed here but comparisons with the thresholds."""

from __future__ import annotations

from typing import Any

import duckdb

from pipeline.present.format import esc, money, pct, plural, short_month, signed_points
from pipeline.reports import figures as fx
from pipeline.reports.sections import Env, html
from pipeline.reports.sections.common import CARDS


def query(con: duckdb.DuckDBPyConnection, scope: fx.Scope, env: Env) -> dict[str, Any]:
    return {}  # the other sections' data (env.found) are this section's figures


def items(scope: fx.Scope, env: Env) -> list[str]:
    """The list, most pressing first: worklist deadlines, missed targets, payers, codes, data problems."""
    found, limits = env.found, env.settings.attention
    out: list[str] = []
    for w in found.get("headline", {}).get("worklists", []):
        label = fx.WORKLIST_LABELS[w["worklist"]].lower()
        if w["past_deadline_items"] > limits["past_deadline_items"]:
            out.append(
                f"{plural(w['past_deadline_items'], 'item')} on the {label} worklist "
                f"{'is' if w['past_deadline_items'] == 1 else 'are'} past the deadline."
            )
        if w["due_in_14_days_items"] > limits["due_in_14_days_items"]:
            out.append(
                f"{plural(w['due_in_14_days_items'], 'item')} on the {label} worklist "
                f"({money(w['due_in_14_days_dollars'])}) {'is' if w['due_in_14_days_items'] == 1 else 'are'} "
                "due within 14 days."
            )
    row = found.get("headline", {}).get("row")
    if row is not None and not (row["payments"] == 0 and row["claims_remitted"] == 0):
        for card in CARDS:
            target = env.settings.targets.get(card.key)
            missed = target.missed(row[card.key]) if target else None
            if missed:
                bound = target.max if missed == "above" else target.min
                out.append(
                    f"{card.label} was {card.fmt(row[card.key])} in {short_month(scope.end)}"
                    f"{' to date' if scope.partial else ''}, {missed} the target of {card.fmt(bound)}."
                )
    for p in found.get("payers", {}).get("trend", []):
        if p["change_points"] is not None and p["change_points"] > limits["payer_rise_points"]:
            out.append(
                f"{p['payer_name']}: denial rate by dollars up {signed_points(p['change_points'])} "
                f"({pct(p['prior_rate'])} to {pct(p['recent_rate'])}, last three months against the three "
                "before)."
            )
    for t in found.get("denials", {}).get("trends", []):
        code = f"{t['group_code']}-{t['reason_code']}"
        if t["new_this_month"] and t["last_month_dollars"] > limits["new_code_dollars"]:
            out.append(f"{code} was denied for the first time this month ({money(t['last_month_dollars'])}).")
        elif not t["new_this_month"] and t["recent_dollars"] > limits["rising_code_dollars"]:
            out.append(
                f"{code} is rising: {t['recent_denials']:,} denials in the last three months against "
                f"{t['prior_denials']:,} before ({money(t['recent_dollars'])})."
            )
    unanswered = found.get("unanswered", {})
    if unanswered.get("loaded"):
        p = unanswered["period"]
        if p["open_over_120_claims"] > limits["unanswered_over_120_claims"]:
            n = p["open_over_120_claims"]
            out.append(
                f"{plural(n, 'claim')} submitted more than 120 days ago {'has' if n == 1 else 'have'} no "
                f"remit ({money(p['open_over_120_charge'])}): ask the payer (section 6)."
            )
    quality = found.get("quality", {})
    results = quality.get("results")
    if results and any(not c["success"] and c["severity"] == "critical" for c in results["checks"]):
        out.append("A critical data-quality check failed in the latest run (section 7).")
    if quality.get("files"):
        out.append(
            f"{plural(len(quality['files']), 'file')} held in quarantine: not in any figure (section 7)."
        )
    if found.get("lede", {}).get("restated"):
        out.append(
            "Figures of past months were restated since the previous build (see the top of the report)."
        )
    return out


def context(data: dict[str, Any], scope: fx.Scope, env: Env) -> dict[str, Any]:
    found = items(scope, env)
    if not found:
        return {"parts": [html('<p class="reading">Nothing passed a threshold of the report settings.</p>')]}
    listed = "".join(f"<li>{esc(i)}</li>" for i in found)
    note = (
        f'<p class="small">Thresholds and targets: {esc(env.settings.source)} '
        "(copy it to &lt;home&gt;/report.toml to change them).</p>"
    )
    return {"parts": [html(f'<ul class="attention">{listed}</ul>{note}')]}
