"""The warehouse half of a handbook entry: what a code cost this organisation, read from the metrics layer.

Every figure is a column of a view in ``sql/marts/`` (documented in docs/warehouse.md): the window
(``marts.handbook_window``: the **last 12 payment months of the warehouse**, not the wall clock, so an
older extract still shows its own last year), the headline figures and trend of a CARC
(``marts.handbook_carc_summary``) or remark (``marts.handbook_rarc_summary``) and their tables
(``marts.handbook_carc_breakdown``, ``marts.handbook_rarc_breakdown``). Python computes nothing: it picks
the rows of one code, keeps the first few of each list by the view's rank and shows a month without rows
as zero. The open items are the open denials of the three worklists (``marts.report_worklist_items``)
with the most dollars at stake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

TOP_N = 5
TOP_PAIRINGS = 10
OPEN_ITEMS = 5

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
    """One open denial of a worklist (``marts.report_worklist_items``)."""

    worklist: str
    rank: int
    first_denied_date: Any
    payer_name: str | None
    payer_claim_control_number: str | None
    level: str
    line_key: str | None
    group_code: str
    reason_code: str
    dollars_at_stake: Decimal
    age_days: int
    days_left: int
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


def window_months(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The months of the handbook window (``marts.handbook_window``), oldest first."""
    return [
        r[0]
        for r in con.execute(
            "SELECT payment_month FROM marts.handbook_window ORDER BY month_offset DESC"
        ).fetchall()
    ]


def latest_month(con: duckdb.DuckDBPyConnection) -> str | None:
    """The latest payment month of the warehouse (``marts.handbook_window``), or None when it is empty."""
    row = con.execute("SELECT max(last_month) FROM marts.handbook_window").fetchone()
    return row[0] if row else None


def _all(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[tuple]:
    return con.execute(sql, params).fetchall()


def _fill(window: list[str], rows: list[tuple]) -> list[MonthPoint]:
    """A point per window month; a month without a row of the view is zero."""
    got = {m: (int(n), d) for m, n, d in rows}
    return [MonthPoint(m, got.get(m, (0, ZERO))[0], got.get(m, (0, ZERO))[1]) for m in window]


def _ranked(rows: list[tuple]) -> list[Ranked]:
    """Rows of (key, label, count, dollars, share[, claims])."""
    out = []
    for r in rows:
        claims = int(r[5]) if len(r) > 5 and r[5] is not None else None
        out.append(Ranked(r[0], r[1], int(r[2]), r[3] if r[3] is not None else ZERO, r[4], claims))
    return out


def _open_items(con: duckdb.DuckDBPyConnection, where: str, params: dict[str, Any]) -> list[OpenItem]:
    """The ``OPEN_ITEMS`` open worklist items matching ``where`` with the most dollars at stake."""
    items = _all(
        con,
        f"""
        SELECT worklist, worklist_rank, first_denied_date, payer_name, payer_claim_control_number, level,
               line_key, group_code, reason_code, dollars_at_stake, age_days, days_left, action, remark_codes
        FROM marts.report_worklist_items AS w
        WHERE {where}
        ORDER BY dollars_at_stake DESC, first_denied_date, denial_id
        LIMIT {OPEN_ITEMS}
        """,
        params,
    )
    return [OpenItem(*r) for r in items]


def _breakdown(
    con: duckdb.DuckDBPyConnection,
    view: str,
    where: str,
    params: dict[str, Any],
    kind: str,
    cols: str,
    limit: int | None = None,
) -> list[tuple]:
    top = f" AND item_rank <= {limit}" if limit else ""
    return _all(
        con,
        f"SELECT {cols} FROM {view} WHERE {where} AND breakdown = '{kind}'{top} ORDER BY item_rank",
        params,
    )


def carc_figures(con: duckdb.DuckDBPyConnection, code: str, group: str | None, last_month: str) -> Figures:
    """Figures of CARC ``code`` (for ``group`` only, or all groups when None) over the 12-month window."""
    window = window_months(con)
    p = {"code": code, "scope": group or "*"}
    where = "reason_code = $code AND group_scope = $scope"
    got = _all(con, f"SELECT {_CARC_SUMMARY} FROM marts.handbook_carc_summary WHERE {where}", p)
    view = "marts.handbook_carc_breakdown"
    cols = "item_key, item_label, adjustment_count, dollars, share"
    rows = {
        "month": _breakdown(con, view, where, p, "month", "item_key, adjustment_count, dollars"),
        "group": _breakdown(con, view, where, p, "group", cols + ", claims"),
        "payer": _breakdown(con, view, where, p, "payer", cols, TOP_N),
        "procedure": _breakdown(con, view, where, p, "procedure", cols, TOP_N),
        "remark": _breakdown(con, view, where, p, "remark", cols, TOP_PAIRINGS),
    }
    items = _open_items(con, "w.reason_code = $code AND ($scope = '*' OR w.group_code = $scope)", p)
    return _carc_from(code, group, window, got[0] if got else None, rows, items)


_CARC_SUMMARY = (
    "adjustment_count, dollars, claims, all_time_count, all_time_dollars, trend, open_items, open_dollars"
)
_RARC_SUMMARY = (
    "remark_count, non_pr_dollars, all_time_count, all_time_dollars, trend, open_items, open_dollars"
)
_OPEN_ITEM_COLUMNS = (
    "worklist, worklist_rank, first_denied_date, payer_name, payer_claim_control_number, level, line_key, "
    "group_code, reason_code, dollars_at_stake, age_days, days_left, action, remark_codes"
)


def _carc_from(
    code: str,
    group: str | None,
    window: list[str],
    summary: tuple | None,
    rows: dict[str, list[tuple]],
    items: list[OpenItem],
) -> Figures:
    """A CARC's ``Figures`` from its summary row, breakdown rows (by breakdown, as the queries of
    ``carc_figures`` return them) and open items."""
    count, dollars, claims, all_n, all_d, trend, open_n, open_d = summary or (
        0,
        ZERO,
        0,
        0,
        ZERO,
        "none",
        0,
        ZERO,
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
        months=_fill(window, rows.get("month", [])),
        by_group=_ranked(rows.get("group", [])),
        top_payers=_ranked(rows.get("payer", [])),
        top_procedures=_ranked(rows.get("procedure", [])),
        pairings=_ranked(rows.get("remark", [])),
        open_items=items,
        open_count=int(open_n),
        open_dollars=open_d,
        trend=trend,
    )


def rarc_figures(con: duckdb.DuckDBPyConnection, code: str, last_month: str) -> Figures:
    """Figures of remark code ``code`` over the 12-month window.

    ``dollars`` are the CO, OA and PI dollars of the adjustments the remark came with (what the provider
    may lose on the items carrying it); a claim-level remark goes with every adjustment of its claim.
    """
    window = window_months(con)
    p = {"code": code}
    where = "remark_code = $code"
    got = _all(con, f"SELECT {_RARC_SUMMARY} FROM marts.handbook_rarc_summary WHERE {where}", p)
    view = "marts.handbook_rarc_breakdown"
    cols = "item_key, item_label, item_count, dollars, share"
    rows = {
        "month": _breakdown(con, view, where, p, "month", "item_key, item_count, dollars"),
        "payer": _breakdown(con, view, where, p, "payer", cols, TOP_N),
        "procedure": _breakdown(con, view, where, p, "procedure", cols, TOP_N),
        "carc": _breakdown(con, view, where, p, "carc", cols, TOP_PAIRINGS),
    }
    # the same whole-code match as marts.handbook_rarc_summary.open_items
    items = _open_items(con, "',' || replace(w.remark_codes, ' ', ',') || ',' LIKE '%,' || $code || ',%'", p)
    return _rarc_from(code, window, got[0] if got else None, rows, items)


def _rarc_from(
    code: str, window: list[str], summary: tuple | None, rows: dict[str, list[tuple]], items: list[OpenItem]
) -> Figures:
    """A remark code's ``Figures`` from its summary row, breakdown rows and open items (see
    ``_carc_from``)."""
    count, dollars, all_n, all_d, trend, open_n, open_d = summary or (0, ZERO, 0, ZERO, "none", 0, ZERO)
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
        months=_fill(window, rows.get("month", [])),
        top_payers=_ranked(rows.get("payer", [])),
        top_procedures=_ranked(rows.get("procedure", [])),
        pairings=_ranked(rows.get("carc", [])),
        open_items=items,
        open_count=int(open_n),
        open_dollars=open_d,
        trend=trend,
    )


class FigureBook:
    """The figures of every code seen in the warehouse (all group codes together), read with one query
    per view instead of several per code: what the HTML handbook shows on its pages.

    Each query asks the view what ``carc_figures`` / ``rarc_figures`` ask it for one code, for every
    code at once (the top lists cut by rank in SQL, the open items by a window over the same order), and
    the rows are handed out by code; ``carc`` and ``rarc`` give the same ``Figures`` as those functions
    (tests/test_handbook.py compares them on every seen code).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.window = window_months(con)
        self._carc = {
            r[0]: r[1:]
            for r in con.execute(
                f"SELECT reason_code, {_CARC_SUMMARY} FROM marts.handbook_carc_summary "
                "WHERE group_scope = '*'"
            ).fetchall()
        }
        self._rarc = {
            r[0]: r[1:]
            for r in con.execute(
                f"SELECT remark_code, {_RARC_SUMMARY} FROM marts.handbook_rarc_summary"
            ).fetchall()
        }
        self._carc_rows = self._breakdowns(
            con,
            "SELECT reason_code, breakdown, item_key, item_label, adjustment_count, dollars, share, claims "
            "FROM marts.handbook_carc_breakdown WHERE group_scope = '*' AND (breakdown IN ('month', 'group') "
            f"OR (breakdown IN ('payer', 'procedure') AND item_rank <= {TOP_N}) "
            f"OR (breakdown = 'remark' AND item_rank <= {TOP_PAIRINGS})) "
            "ORDER BY reason_code, breakdown, item_rank",
            with_claims=("group",),
        )
        self._rarc_rows = self._breakdowns(
            con,
            "SELECT remark_code, breakdown, item_key, item_label, item_count, dollars, share, NULL "
            "FROM marts.handbook_rarc_breakdown WHERE breakdown = 'month' "
            f"OR (breakdown IN ('payer', 'procedure') AND item_rank <= {TOP_N}) "
            f"OR (breakdown = 'carc' AND item_rank <= {TOP_PAIRINGS}) "
            "ORDER BY remark_code, breakdown, item_rank",
            with_claims=(),
        )
        order = "dollars_at_stake DESC, first_denied_date, denial_id"
        self._carc_items = self._items(
            con,
            f"SELECT reason_code, {_OPEN_ITEM_COLUMNS} FROM marts.report_worklist_items "
            f"QUALIFY row_number() OVER (PARTITION BY reason_code ORDER BY {order}) <= {OPEN_ITEMS} "
            f"ORDER BY reason_code, {order}",
        )
        # a remark's items: those whose remark_codes hold it as a whole code (as rarc_figures matches)
        self._rarc_items = self._items(
            con,
            f"""
            WITH coded AS (
                SELECT r.code, w.*
                FROM marts.report_worklist_items AS w,
                    unnest(list_distinct(string_split(replace(w.remark_codes, ' ', ','), ','))) AS r(code)
                WHERE r.code <> ''
            )
            SELECT code, {_OPEN_ITEM_COLUMNS} FROM coded
            QUALIFY row_number() OVER (PARTITION BY code ORDER BY {order}) <= {OPEN_ITEMS}
            ORDER BY code, {order}
            """,
        )

    @staticmethod
    def _breakdowns(
        con: duckdb.DuckDBPyConnection, sql: str, with_claims: tuple[str, ...]
    ) -> dict[str, dict[str, list[tuple]]]:
        """code -> breakdown -> rows, shaped as the per-code queries return them."""
        out: dict[str, dict[str, list[tuple]]] = {}
        for code, breakdown, key, label, n, dollars, share, claims in con.execute(sql).fetchall():
            if breakdown == "month":
                row: tuple = (key, n, dollars)
            elif breakdown in with_claims:
                row = (key, label, n, dollars, share, claims)
            else:
                row = (key, label, n, dollars, share)
            out.setdefault(code, {}).setdefault(breakdown, []).append(row)
        return out

    @staticmethod
    def _items(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, list[OpenItem]]:
        out: dict[str, list[OpenItem]] = {}
        for r in con.execute(sql).fetchall():
            out.setdefault(r[0], []).append(OpenItem(*r[1:]))
        return out

    def seen(self) -> tuple[set[str], set[str]]:
        """What ``seen_codes(con)`` gives: CARCs and RARCs that occur anywhere in the warehouse."""
        return set(self._carc), set(self._rarc)

    def totals(self) -> dict[tuple[str, str], tuple[int, Decimal]]:
        """What ``window_totals(con)`` gives: (kind, code) -> (count, dollars) of the codes seen in the
        window."""
        out = {("CARC", code): (int(r[0]), r[1]) for code, r in self._carc.items() if r[0] > 0}
        out.update({("RARC", code): (int(r[0]), r[1]) for code, r in self._rarc.items() if r[0] > 0})
        return out

    def carc(self, code: str) -> Figures:
        """What ``carc_figures(con, code, None, ...)`` gives."""
        return _carc_from(
            code,
            None,
            self.window,
            self._carc.get(code),
            self._carc_rows.get(code, {}),
            self._carc_items.get(code, []),
        )

    def rarc(self, code: str) -> Figures:
        """What ``rarc_figures(con, code, ...)`` gives."""
        return _rarc_from(
            code,
            self.window,
            self._rarc.get(code),
            self._rarc_rows.get(code, {}),
            self._rarc_items.get(code, []),
        )


def empty_figures(kind: str, code: str, group: str | None, window: list[str]) -> Figures:
    """The figures of a code never seen in the warehouse: every month of the window zero."""
    return Figures(
        kind=kind,
        code=code,
        group_code=group,
        first_month=window[0],
        last_month=window[-1],
        count=0,
        dollars=ZERO,
        claims=0 if kind == "CARC" else None,
        all_time_count=0,
        all_time_dollars=ZERO,
        months=_fill(window, []),
    )


def seen_codes(con: duckdb.DuckDBPyConnection) -> tuple[set[str], set[str]]:
    """CARCs and RARCs that occur anywhere in the warehouse (all months)."""
    carcs = {
        r[0]
        for r in con.execute(
            "SELECT reason_code FROM marts.handbook_carc_summary WHERE group_scope = '*'"
        ).fetchall()
    }
    rarcs = {r[0] for r in con.execute("SELECT remark_code FROM marts.handbook_rarc_summary").fetchall()}
    return carcs, rarcs


def window_totals(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[int, Decimal]]:
    """(kind, code) -> (count, dollars) over the window, for every code seen in it (the index page)."""
    out: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for code, n, d in con.execute(
        "SELECT reason_code, adjustment_count, dollars FROM marts.handbook_carc_summary "
        "WHERE group_scope = '*' AND adjustment_count > 0"
    ).fetchall():
        out[("CARC", code)] = (int(n), d)
    for code, n, d in con.execute(
        "SELECT remark_code, remark_count, non_pr_dollars FROM marts.handbook_rarc_summary "
        "WHERE remark_count > 0"
    ).fetchall():
        out[("RARC", code)] = (int(n), d)
    return out
