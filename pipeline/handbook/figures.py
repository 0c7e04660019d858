"""The warehouse half of a handbook entry: what a code cost this organisation, read from the marts.

Every figure comes from a mart (one source of truth) through parameterised SQL; Python only fills the
months without rows with zeros and names the trend. The window is the **last 12 payment months of the
warehouse**: the twelve months ending at the latest payment month in ``marts.kpi_month`` (not the wall
clock, so an older extract still shows its own last year).

CARCs read ``marts.denials_by_carc_month`` (counts, dollars, payers, group split),
``marts.adjustment_detail`` (distinct claims across groups), ``marts.handbook_carc_procedure_month``,
``marts.handbook_carc_remark_month`` and ``marts.appeal_worklist``; RARCs read
``marts.handbook_remark_month``, ``marts.handbook_carc_remark_month`` and ``marts.appeal_worklist``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

WINDOW_MONTHS = 12
TOP_N = 5
TOP_PAIRINGS = 10
OPEN_ITEMS = 5
# Trend: the last three months against the three before. "rising"/"falling" need a change of a quarter
# and at least three occurrences, so one extra denial in a quiet code is not called a trend.
TREND_SPAN = 3
TREND_RATIO = Decimal("1.25")
TREND_MIN_CHANGE = 3

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class MonthPoint:
    """One payment month of the trend (zeros for a month without the code)."""

    month: str
    count: int
    dollars: Decimal


@dataclass(frozen=True)
class Ranked:
    """One row of a top list or split: a payer, procedure, group or paired code."""

    key: str | None
    label: str | None
    count: int
    dollars: Decimal
    # ratio 0..1 (what of, the list says), 6 places so a one-decimal percentage is not rounded twice
    share: Decimal | None = None
    claims: int | None = None


@dataclass(frozen=True)
class OpenItem:
    """One row of ``marts.appeal_worklist``."""

    rank: int
    payment_month: str
    payer_name: str | None
    payer_claim_control_number: str | None
    level: str
    procedure_code: str | None
    group_code: str
    reason_code: str
    dollars_at_stake: Decimal
    action: str | None
    remark_codes: str | None


@dataclass
class Figures:
    """A code's figures over the window, as read from the marts."""

    kind: str  # CARC or RARC
    code: str
    group_code: str | None
    first_month: str
    last_month: str
    count: int
    dollars: Decimal
    claims: int | None
    all_time_count: int
    all_time_dollars: Decimal
    months: list[MonthPoint] = field(default_factory=list)
    by_group: list[Ranked] = field(default_factory=list)
    top_payers: list[Ranked] = field(default_factory=list)
    top_procedures: list[Ranked] = field(default_factory=list)
    pairings: list[Ranked] = field(default_factory=list)
    open_items: list[OpenItem] = field(default_factory=list)
    open_count: int = 0
    open_dollars: Decimal = ZERO
    trend: str = "none"

    @property
    def count_label(self) -> str:
        """What ``count`` counts."""
        return "adjustments" if self.kind == "CARC" else "times sent"


def month_window(last: str, n: int = WINDOW_MONTHS) -> list[str]:
    """The ``n`` months 'YYYY-MM' ending at ``last``, oldest first."""
    year, month = int(last[:4]), int(last[5:7])
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def latest_month(con: duckdb.DuckDBPyConnection) -> str | None:
    """The latest payment month in the warehouse (``marts.kpi_month``), or None when it is empty."""
    row = con.execute("SELECT max(payment_month) FROM marts.kpi_month").fetchone()
    return row[0] if row else None


def trend_of(months: list[MonthPoint]) -> str:
    """``rising``, ``falling``, ``steady``, ``new`` (none in the three months before) or ``none``."""
    recent = sum(m.count for m in months[-TREND_SPAN:])
    before = sum(m.count for m in months[-2 * TREND_SPAN : -TREND_SPAN])
    if recent == 0 and before == 0:
        return "none"
    if before == 0:
        return "new"
    if recent >= before * TREND_RATIO and recent - before >= TREND_MIN_CHANGE:
        return "rising"
    if recent * TREND_RATIO <= before and before - recent >= TREND_MIN_CHANGE:
        return "falling"
    return "steady"


def _all(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[tuple]:
    return con.execute(sql, params).fetchall()


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> tuple:
    row = con.execute(sql, params).fetchone()
    assert row is not None  # aggregate queries always return one row
    return row


def _fill(window: list[str], rows: list[tuple]) -> list[MonthPoint]:
    got = {m: (int(n), d) for m, n, d in rows}
    return [MonthPoint(m, got.get(m, (0, ZERO))[0], got.get(m, (0, ZERO))[1]) for m in window]


def _ranked(rows: list[tuple]) -> list[Ranked]:
    """Rows of (key, label, count, dollars, share[, claims])."""
    out = []
    for r in rows:
        claims = int(r[5]) if len(r) > 5 and r[5] is not None else None
        out.append(Ranked(r[0], r[1], int(r[2]), r[3] if r[3] is not None else ZERO, r[4], claims))
    return out


def _open_items(con: duckdb.DuckDBPyConnection, where: str, params: dict[str, Any]) -> tuple:
    items = _all(
        con,
        f"""
        SELECT w.worklist_rank, w.payment_month, w.payer_name, w.payer_claim_control_number, w.level,
               l.procedure_code, w.group_code, w.reason_code, w.dollars_at_stake, w.action, w.remark_codes
        FROM marts.appeal_worklist AS w
        LEFT JOIN marts.line_outcomes AS l ON l.line_id = w.line_id
        WHERE {where} AND w.payment_month BETWEEN $m0 AND $m1
        ORDER BY w.worklist_rank
        LIMIT {OPEN_ITEMS}
        """,
        params,
    )
    n, dollars = _one(
        con,
        f"SELECT count(*), coalesce(sum(w.dollars_at_stake), 0) FROM marts.appeal_worklist AS w "
        f"WHERE {where} AND w.payment_month BETWEEN $m0 AND $m1",
        params,
    )
    return [OpenItem(*r) for r in items], int(n), dollars


def carc_figures(con: duckdb.DuckDBPyConnection, code: str, group: str | None, last_month: str) -> Figures:
    """Figures of CARC ``code`` (for ``group`` only, or all groups when None) over the 12-month window."""
    window = month_window(last_month)
    p = {"code": code, "grp": group, "m0": window[0], "m1": window[-1]}
    code_only = {"code": code, "grp": group}
    f = "reason_code = $code AND ($grp IS NULL OR group_code = $grp)"
    fm = f + " AND payment_month BETWEEN $m0 AND $m1"
    count, dollars = _one(
        con,
        f"SELECT coalesce(sum(adjustment_count), 0), coalesce(sum(dollars), 0) "
        f"FROM marts.denials_by_carc_month WHERE {fm}",
        p,
    )
    (claims,) = _one(con, f"SELECT count(DISTINCT claim_id) FROM marts.adjustment_detail WHERE {fm}", p)
    all_n, all_d = _one(
        con,
        f"SELECT coalesce(sum(adjustment_count), 0), coalesce(sum(dollars), 0) "
        f"FROM marts.denials_by_carc_month WHERE {f}",
        code_only,
    )
    months = _fill(
        window,
        _all(
            con,
            f"SELECT payment_month, sum(adjustment_count), sum(dollars) FROM marts.denials_by_carc_month "
            f"WHERE {fm} GROUP BY payment_month",
            p,
        ),
    )
    # claims_affected adds up within a group: each claim has one payment month and one payer
    by_group = _ranked(
        _all(
            con,
            f"""
            SELECT group_code, min(who_pays), sum(adjustment_count) AS n, sum(dollars) AS d,
                   CAST(round(sum(dollars) / nullif(sum(sum(dollars)) OVER (), 0), 6) AS DECIMAL(10, 6)),
                   sum(claims_affected)
            FROM marts.denials_by_carc_month WHERE {fm}
            GROUP BY group_code ORDER BY d DESC, group_code
            """,
            p,
        )
    )
    share = "CAST(round(sum(dollars) / nullif(sum(sum(dollars)) OVER (), 0), 6) AS DECIMAL(10, 6))"
    top_payers = _ranked(
        _all(
            con,
            f"""
            SELECT payer_key, min(payer_name), sum(adjustment_count) AS n, sum(dollars) AS d, {share}
            FROM marts.denials_by_carc_month WHERE {fm}
            GROUP BY payer_key ORDER BY d DESC, n DESC, payer_key LIMIT {TOP_N}
            """,
            p,
        )
    )
    top_procedures = _ranked(
        _all(
            con,
            f"""
            SELECT procedure_code, procedure_qualifier, sum(adjustment_count) AS n, sum(dollars) AS d, {share}
            FROM marts.handbook_carc_procedure_month WHERE {fm}
            GROUP BY procedure_qualifier, procedure_code
            ORDER BY d DESC, n DESC, procedure_code NULLS LAST LIMIT {TOP_N}
            """,
            p,
        )
    )
    # share of the code's adjustments that came with the remark (NULL remark: with none at all)
    pairings = _ranked(
        _all(
            con,
            f"""
            SELECT r.remark_code, k.summary, sum(r.adjustment_count) AS n, sum(r.dollars) AS d,
                   CAST(round(sum(r.adjustment_count) / nullif((
                       SELECT sum(adjustment_count) FROM marts.denials_by_carc_month WHERE {fm}), 0), 6)
                       AS DECIMAL(10, 6))
            FROM marts.handbook_carc_remark_month AS r
            LEFT JOIN ref.rarc AS k ON k.code = r.remark_code
            WHERE r.reason_code = $code AND ($grp IS NULL OR r.group_code = $grp)
                AND r.payment_month BETWEEN $m0 AND $m1
            GROUP BY r.remark_code, k.summary
            ORDER BY n DESC, r.remark_code NULLS LAST LIMIT {TOP_PAIRINGS}
            """,
            p,
        )
    )
    items, open_n, open_d = _open_items(
        con, "w.reason_code = $code AND ($grp IS NULL OR w.group_code = $grp)", p
    )
    return Figures(
        kind="CARC",
        code=code,
        group_code=group,
        first_month=window[0],
        last_month=window[-1],
        count=int(count),
        dollars=dollars,
        claims=int(claims),
        all_time_count=int(all_n),
        all_time_dollars=all_d,
        months=months,
        by_group=by_group,
        top_payers=top_payers,
        top_procedures=top_procedures,
        pairings=pairings,
        open_items=items,
        open_count=open_n,
        open_dollars=open_d,
        trend=trend_of(months),
    )


def rarc_figures(con: duckdb.DuckDBPyConnection, code: str, last_month: str) -> Figures:
    """Figures of remark code ``code`` over the 12-month window.

    ``dollars`` are the CO, OA and PI dollars of the adjustments the remark came with (what the provider
    may lose on the items carrying it); a claim-level remark goes with every adjustment of its claim.
    """
    window = month_window(last_month)
    p = {"code": code, "m0": window[0], "m1": window[-1]}
    fm = "remark_code = $code AND payment_month BETWEEN $m0 AND $m1"
    count, dollars = _one(
        con,
        f"SELECT coalesce(sum(remark_count), 0), coalesce(sum(non_pr_dollars), 0) "
        f"FROM marts.handbook_remark_month WHERE {fm}",
        p,
    )
    all_n, all_d = _one(
        con,
        "SELECT coalesce(sum(remark_count), 0), coalesce(sum(non_pr_dollars), 0) "
        "FROM marts.handbook_remark_month WHERE remark_code = $code",
        {"code": code},
    )
    months = _fill(
        window,
        _all(
            con,
            f"SELECT payment_month, sum(remark_count), sum(non_pr_dollars) FROM marts.handbook_remark_month "
            f"WHERE {fm} GROUP BY payment_month",
            p,
        ),
    )
    share = "CAST(round(sum(remark_count) / nullif(sum(sum(remark_count)) OVER (), 0), 6) AS DECIMAL(10, 6))"
    top_payers = _ranked(
        _all(
            con,
            f"""
            SELECT payer_key, min(payer_name), sum(remark_count) AS n, sum(non_pr_dollars) AS d, {share}
            FROM marts.handbook_remark_month WHERE {fm}
            GROUP BY payer_key ORDER BY n DESC, d DESC, payer_key LIMIT {TOP_N}
            """,
            p,
        )
    )
    top_procedures = _ranked(
        _all(
            con,
            f"""
            SELECT procedure_code, procedure_qualifier, sum(remark_count) AS n, sum(non_pr_dollars) AS d,
                   {share}
            FROM marts.handbook_remark_month WHERE {fm}
            GROUP BY procedure_qualifier, procedure_code
            ORDER BY n DESC, d DESC, procedure_code NULLS LAST LIMIT {TOP_N}
            """,
            p,
        )
    )
    # the CARCs (with group) that came with the remark; share of all adjustments paired with it
    pairings = _ranked(
        _all(
            con,
            f"""
            SELECT r.group_code || '-' || r.reason_code, k.summary, sum(r.adjustment_count) AS n,
                   sum(r.dollars) AS d,
                   CAST(round(sum(r.adjustment_count) / nullif(sum(sum(r.adjustment_count)) OVER (), 0), 6)
                       AS DECIMAL(10, 6))
            FROM marts.handbook_carc_remark_month AS r
            LEFT JOIN ref.carc AS k ON k.code = r.reason_code
            WHERE r.remark_code = $code AND r.payment_month BETWEEN $m0 AND $m1
            GROUP BY r.group_code, r.reason_code, k.summary
            ORDER BY n DESC, d DESC, 1 LIMIT {TOP_PAIRINGS}
            """,
            p,
        )
    )
    items, open_n, open_d = _open_items(con, "list_contains(string_split(w.remark_codes, ','), $code)", p)
    return Figures(
        kind="RARC",
        code=code,
        group_code=None,
        first_month=window[0],
        last_month=window[-1],
        count=int(count),
        dollars=dollars,
        claims=None,
        all_time_count=int(all_n),
        all_time_dollars=all_d,
        months=months,
        top_payers=top_payers,
        top_procedures=top_procedures,
        pairings=pairings,
        open_items=items,
        open_count=open_n,
        open_dollars=open_d,
        trend=trend_of(months),
    )


def seen_codes(con: duckdb.DuckDBPyConnection) -> tuple[set[str], set[str]]:
    """CARCs and RARCs that occur anywhere in the warehouse (all months)."""
    carcs = {
        r[0] for r in con.execute("SELECT DISTINCT reason_code FROM marts.denials_by_carc_month").fetchall()
    }
    rarcs = {
        r[0] for r in con.execute("SELECT DISTINCT remark_code FROM marts.handbook_remark_month").fetchall()
    }
    return carcs, rarcs


def window_totals(
    con: duckdb.DuckDBPyConnection, last_month: str
) -> dict[tuple[str, str], tuple[int, Decimal]]:
    """(kind, code) -> (count, dollars) over the 12-month window, for every code seen in it (the index)."""
    window = month_window(last_month)
    p = {"m0": window[0], "m1": window[-1]}
    out: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for code, n, d in con.execute(
        "SELECT reason_code, sum(adjustment_count), sum(dollars) FROM marts.denials_by_carc_month "
        "WHERE payment_month BETWEEN $m0 AND $m1 GROUP BY reason_code",
        p,
    ).fetchall():
        out[("CARC", code)] = (int(n), d)
    for code, n, d in con.execute(
        "SELECT remark_code, sum(remark_count), sum(non_pr_dollars) FROM marts.handbook_remark_month "
        "WHERE payment_month BETWEEN $m0 AND $m1 GROUP BY remark_code",
        p,
    ).fetchall():
        out[("RARC", code)] = (int(n), d)
    return out
