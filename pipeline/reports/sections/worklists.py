"""Section 5, the worklists: the largest open items to appeal, to correct and resubmit, and to bill to
the other plan, each with its age and deadline (no patient names or ids)."""

from __future__ import annotations

from typing import Any

import duckdb

from pipeline.present.format import action_label, carc_link, esc, money, plural, rarc_links, reading
from pipeline.present.tables import Column, table
from pipeline.reports import figures as fx
from pipeline.reports.sections import Env, html

TOP = 10


def query(con: duckdb.DuckDBPyConnection, scope: fx.Scope, env: Env) -> dict[str, Any]:
    lists = fx.worklist_summary(con, scope)
    return {
        "lists": lists,
        "top": {s["worklist"]: fx.worklist_top(con, scope, s["worklist"], TOP) for s in lists},
    }


def _deadline(r: dict[str, Any]) -> str:
    if r["deadline_date"] is None:
        return "–"
    left = r["days_left"]
    when = f"{-left:,} days ago" if left < 0 else ("today" if left == 0 else f"in {left:,} days")
    return f"{r['deadline_date']} ({when})"


def context(data: dict[str, Any], scope: fx.Scope, env: Env) -> dict[str, Any]:
    parts = []
    for summary in data["lists"]:
        label = fx.WORKLIST_LABELS[summary["worklist"]]
        top = data["top"][summary["worklist"]]
        if not top:
            parts.append(html(reading(f"{label}: no open item.")))
            continue
        first = top[0]
        late = summary["past_deadline_items"]
        text = (
            f"{label}: {plural(summary['items'], 'open item')} on {plural(summary['claims'], 'remit')}, "
            f"worth {money(summary['dollars_at_stake'])} at stake; the oldest is "
            f"{summary['oldest_age_days']:,} days old and {plural(late, 'item')} "
            f"{'is' if late == 1 else 'are'} past the deadline"
            f"; {plural(summary['due_in_14_days_items'], 'item')} due within 14 days. "
            f"The largest is {first['group_code']}-{first['reason_code']} from {first['payer_name']} for "
            f"{money(first['dollars_at_stake'])}: {action_label(first['action']).lower()}"
        )
        parts.append(html(reading(text.rstrip(".") + ".")))
        for r in top:
            remarks = rarc_links(r["remark_codes"]) if r["remark_codes"] else ""
            r["code_html"] = (
                carc_link(r["reason_code"], r["group_code"])
                + (f" {remarks}" if remarks else "")
                + f'<br><span class="small">{esc(r["carc_summary"] or "")}</span>'
            )
            r["deadline"] = _deadline(r)
            r["css_late"] = r["days_left"] is not None and r["days_left"] < 0
        tbl = table(
            [
                Column("#", "worklist_rank", "count"),
                Column("Payer", "payer_name"),
                Column("Payer claim no.", "payer_claim_control_number"),
                Column("Code, remarks and meaning", "code_html", "html"),
                Column("Dollars at stake", "dollars_at_stake", "money"),
                Column("Age (days)", "age_days", "count"),
                Column("Deadline", "deadline"),
                Column("Next step", lambda r: action_label(r["action"])),
            ],
            top,
            caption=f"{label} worklist: first {len(top)} of {summary['items']:,} by dollars at stake",
        )
        parts.append(html(tbl))
    return {"parts": parts}
