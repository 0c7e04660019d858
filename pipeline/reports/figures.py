"""The figures of the leadership report, read from the metrics layer: the ``marts.report_*`` views of
``sql/marts/`` (documented in docs/warehouse.md) and the marts they read.

No figure is computed here: every sum, ratio, change, share and rank is a column of a view, keyed by the
period's last month (``period_end``) and the payer scope (``payer_scope``: ``'*'`` for all payers, else a
payer_key). Python only picks the rows of the report's scope, orders them and fills a month without rows
with zero. Every query takes the scope as bound parameters (``$end``, ``$scope``, ``$payer``): user input
is never formatted into SQL.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

ZERO = Decimal("0")
ABSORBED_CATEGORIES = ("expected_contractual", "denial_writeoff", "payer_initiated", "other")
ABSORBED_LABELS = {
    "expected_contractual": "Expected contractual",
    "denial_writeoff": "Denied (as remitted)",
    "payer_initiated": "Payer-initiated",
    "other": "Other",
}
DIRECTION_LABELS = {
    "dental_to_medical": "Dental → medical",
    "medical_to_dental": "Medical → dental",
    "medical_to_pharmacy": "Medical → pharmacy",
    "both_denied": "Both plans denied",
}


class ReportError(Exception):
    """The report cannot be made: no warehouse, an empty warehouse, or a malformed period."""


def shift_month(month: str, n: int) -> str:
    """``shift_month('2025-01', -1)`` -> ``'2024-12'``."""
    year, mon = (int(x) for x in month.split("-"))
    index = year * 12 + (mon - 1) + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def check_month(value: str, what: str = "period") -> str:
    """Validate a 'YYYY-MM' string (raises ``ReportError``)."""
    parts = value.split("-") if isinstance(value, str) else []
    if len(parts) != 2 or len(parts[0]) != 4 or len(parts[1]) != 2 or not all(p.isdigit() for p in parts):
        raise ReportError(f"{what} must be YYYY-MM, got {value!r}")
    if not 1 <= int(parts[1]) <= 12:
        raise ReportError(f"{what} must be YYYY-MM with a month 01-12, got {value!r}")
    return value


def connect(warehouse: str | Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only (a nightly build replaces the file; this session keeps its copy)."""
    path = Path(warehouse)
    if not path.exists():
        raise ReportError(f"no warehouse at {path}: run `remit build` (or `remit run`) first")
    from pipeline.lake import connect_warehouse

    return connect_warehouse(path)  # lake.manifest names its file relative to the warehouse's folder


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> list[dict]:
    """Run ``sql`` with bound ``params`` and return the rows as dicts (DECIMAL stays Decimal).

    Only the parameters ``sql`` names are bound (DuckDB refuses unused ones), so every query can be handed
    the whole scope.
    """
    bound = {k: v for k, v in (params or {}).items() if re.search(rf"\${k}\b", sql)}
    cur = con.execute(sql, bound)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def latest_month(con: duckdb.DuckDBPyConnection, payer: str | None = None) -> str | None:
    """The latest payment month in ``marts.kpi_month`` (for one payer when given)."""
    got = con.execute(
        "SELECT max(payment_month) FROM marts.kpi_month WHERE $payer IS NULL OR payer_key = $payer",
        {"payer": payer},
    ).fetchone()
    return got[0] if got else None


_PAYERS_SHOWN = 10  # payer keys a report for an unknown payer names
_PAYER_KEYS = f"SELECT DISTINCT payer_key FROM marts.kpi_month ORDER BY 1 LIMIT {_PAYERS_SHOWN + 1}"


def as_of(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The warehouse's as-of date and the months it implies (marts.report_as_of); None when empty."""
    got = rows(con, "SELECT * FROM marts.report_as_of")
    return got[0] if got else None


@dataclass(frozen=True)
class Scope:
    """The report's month (``end``), its 12-month period (``start``..``end``, from marts.report_periods)
    and optional payer; ``partial`` when ``end`` is the as-of month and not over (month to date)."""

    start: str
    end: str
    payer: str | None = None
    months: list[str] = field(default_factory=list)
    previous: str = ""  # the month before ``end`` (month-over-month comparisons)
    partial: bool = False  # ``end`` is month to date, through ``through``
    through: dt.date | None = None
    previous_through: dt.date | None = None  # the same day of the month before (like for like)
    as_of_date: dt.date | None = None
    first_data_month: str = ""
    organisation: str = ""

    @classmethod
    def make(
        cls, con: duckdb.DuckDBPyConnection, *, end: str | None = None, payer: str | None = None
    ) -> Scope:
        """The report for ``end`` ('YYYY-MM', or 'mtd' for the as-of month to date; default: the latest
        closed month of the warehouse, else the as-of month to date when no month is closed yet)."""
        payer = payer or None
        info = as_of(con)
        if info is None or (payer is not None and latest_month(con, payer) is None):
            who = hint = ""
            if payer is not None:
                who = f" for payer {payer}"
                known = [r[0] for r in con.execute(_PAYER_KEYS).fetchall()]
                if known:  # a mistyped key: say which ones there are
                    more = ", …" if len(known) > _PAYERS_SHOWN else ""
                    hint = f" (its payers: {', '.join(known[:_PAYERS_SHOWN])}{more})"
            raise ReportError(f"the warehouse holds no payments{who}: nothing to report{hint}")
        if end is None:
            end = info["latest_closed_month"]
            if end < info["first_data_month"]:  # only one month of data and it is not over yet
                end = info["as_of_month"]
        elif end == "mtd":
            end = info["as_of_month"]
        check_month(end, "period")
        if end > info["as_of_month"]:
            latest = info["as_of_date"]
            raise ReportError(
                f"{end} is after the latest payment in the warehouse ({latest}): nothing to report yet"
            )
        got = con.execute(
            "SELECT payment_month, month_offset FROM marts.report_periods WHERE period_end = $end "
            "ORDER BY month_offset DESC",
            {"end": end},
        ).fetchall()
        if not got:  # the calendar reaches 11 months past the last payment month
            raise ReportError(f"no payment between {shift_month(end, -11)} and {end}: nothing to report")
        months = [m for m, _ in got]
        partial = end == info["as_of_month"] and not info["as_of_month_closed"]
        return cls(
            months[0],
            end,
            payer,
            months,
            months[-2],
            partial,
            info["as_of_date"] if partial else None,
            info["previous_through_date"] if partial else None,
            info["as_of_date"],
            info["first_data_month"],
            info["organisation_name"] or "",
        )

    @property
    def params(self) -> dict[str, Any]:
        """Bound parameters: the period, the payer (or NULL) and the payer scope ('*' for all payers)."""
        return {"start": self.start, "end": self.end, "payer": self.payer, "scope": self.payer or "*"}


# A WHERE clause over a report_* view keyed by period_end and payer_scope; the values are bound.
AT_END = "period_end = $end AND payer_scope = $scope"


def payer_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """payer_key -> payer name (marts.dim_payer)."""
    return {
        r["payer_key"]: r["payer_name"]
        for r in rows(con, "SELECT payer_key, payer_name FROM marts.dim_payer")
    }


# ---------------------------------------------------------------------------------------------- KPIs


# con -> {scope's parameters: kpi_months rows}: five sections read the same months; the view is computed
# over the marts each time (a fifth of a second on a million claims), so a connection reads them once
_KPI_MONTHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def kpi_months(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """The period's 12 months of marts.report_kpi_month, oldest first (months without payments: zeros).

    Read once per connection and scope (the connection is read-only: the warehouse it shows never
    changes); each caller gets its own copies of the rows."""
    key = tuple(sorted(scope.params.items()))
    memo = _KPI_MONTHS.setdefault(con, {})
    if key not in memo:
        memo[key] = _kpi_months(con, scope)
    return [dict(r) for r in memo[key]]


def _kpi_months(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    return rows(
        con,
        """
        SELECT k.* FROM marts.report_periods AS p
        INNER JOIN marts.report_kpi_month AS k ON k.payment_month = p.payment_month
        WHERE p.period_end = $end AND k.payer_scope = $scope
        ORDER BY p.month_offset DESC
        """,
        scope.params,
    )


def kpi_period(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, Any]:
    """The period's totals and rates (marts.report_kpi_period)."""
    got = rows(con, f"SELECT * FROM marts.report_kpi_period WHERE {AT_END}", scope.params)
    if not got:
        raise ReportError(f"no figures for the period ending {scope.end}")
    return got[0]


def headline_row(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, Any]:
    """The headline's figures for the report month with their comparison: marts.report_kpi_month for a
    closed month (against the month before), marts.report_kpi_mtd for a month to date (against the same
    days of the month before)."""
    if scope.partial:
        got = rows(con, "SELECT * FROM marts.report_kpi_mtd WHERE payer_scope = $scope", scope.params)
    else:
        got = rows(
            con,
            "SELECT * FROM marts.report_kpi_month WHERE payment_month = $end AND payer_scope = $scope",
            scope.params,
        )
    if not got:
        raise ReportError(
            f"no figures for {scope.end}" + (f" and payer {scope.payer}" if scope.payer else "")
        )
    return got[0]


def restatements(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """What the latest build changed in the period's months against the build before it
    (marts.kpi_month_restatements; the payer's rows only with ``--payer``). Empty when the warehouse keeps
    no history (a Spark build, or the first build)."""
    if not _has_table(con, None, "marts", "kpi_month_history"):
        return []
    return rows(
        con,
        """
        SELECT r.payment_month, r.payer_key, d.payer_name, r.figure, r.previous_value, r.value, r.change,
               r.built_at
        FROM marts.kpi_month_restatements AS r
        INNER JOIN marts.report_periods AS p ON p.payment_month = r.payment_month AND p.period_end = $end
        LEFT JOIN marts.dim_payer AS d ON d.payer_key = r.payer_key
        WHERE r.build_id = (SELECT max_by(build_id, built_at) FROM marts.kpi_month_history)
            AND ($payer IS NULL OR r.payer_key = $payer)
            -- a month the previous build did not reach yet is new, not restated
            AND r.payment_month <= (
                SELECT max(h.payment_month) FROM marts.kpi_month_history AS h
                WHERE h.build_id = r.previous_build_id
            )
        ORDER BY r.payment_month DESC, r.payer_key, r.figure
        """,
        scope.params,
    )


def payer_trend(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Per payer: the period's denial rates and the last three months against the three before, worst
    first (marts.report_payer_trend)."""
    return rows(
        con,
        "SELECT * FROM marts.report_payer_trend WHERE period_end = $end "
        "AND ($payer IS NULL OR payer_key = $payer) ORDER BY worse_rank",
        scope.params,
    )


def payer_series(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """The per-payer denial-rate lines: the top five payers and 'Other payers' by month
    (marts.report_payer_series_month), ordered by series rank then month."""
    return rows(
        con,
        "SELECT * FROM marts.report_payer_series_month WHERE period_end = $end "
        "ORDER BY series_rank, payment_month",
        scope.params,
    )


# ------------------------------------------------------------------------------------------- denials


def denial_carcs(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Denial adjustments per group code and CARC over the period (marts.report_denial_carc_period)."""
    return rows(
        con,
        f"SELECT * FROM marts.report_denial_carc_period WHERE {AT_END} ORDER BY rank_by_dollars",
        scope.params,
    )


def top_by_count(carcs: list[dict[str, Any]], n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` denial CARCs affecting the most claims (the view's rank_by_claims)."""
    return sorted((r for r in carcs if r["rank_by_claims"] <= n), key=lambda r: r["rank_by_claims"])


def top_by_dollars(carcs: list[dict[str, Any]], n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` denial CARCs with the most dollars (the view's rank_by_dollars)."""
    return sorted((r for r in carcs if r["rank_by_dollars"] <= n), key=lambda r: r["rank_by_dollars"])


def denial_trend(
    con: duckdb.DuckDBPyConnection, scope: Scope, top: list[dict[str, Any]], empty: set[str] | None = None
) -> list[dict]:
    """Monthly dollars of the given (group, CARC) pairs (marts.report_denial_carc_month), every month of
    the period present: a month without the code has no row and is shown as zero; a month in ``empty``
    (no remittance at all in the scope) as None, a gap."""
    if not top:
        return []
    keys = [f"{r['group_code']}-{r['reason_code']}" for r in top]
    got = rows(
        con,
        """
        SELECT d.payment_month, d.group_code || '-' || d.reason_code AS code, d.claims, d.dollars
        FROM marts.report_periods AS p
        INNER JOIN marts.report_denial_carc_month AS d ON d.payment_month = p.payment_month
        WHERE p.period_end = $end AND d.payer_scope = $scope
            AND d.group_code || '-' || d.reason_code IN (SELECT unnest($keys))
        """,
        {**scope.params, "keys": keys},
    )
    index = {(r["payment_month"], r["code"]): r for r in got}
    return [
        {
            "payment_month": m,
            "code": k,
            "claims": index.get((m, k), {}).get("claims", 0),
            "dollars": None if m in (empty or ()) else index.get((m, k), {}).get("dollars", ZERO),
        }
        for k in keys
        for m in scope.months
    ]


def denial_categories(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Initial denials of the period by CARC category, largest first (marts.report_denial_category_period)."""
    return rows(
        con,
        f"SELECT * FROM marts.report_denial_category_period WHERE {AT_END} ORDER BY rank_by_dollars",
        scope.params,
    )


def payer_categories(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """The payer x reason matrix's cells (marts.report_payer_category_period), in row and column order."""
    return rows(
        con,
        f"SELECT * FROM marts.report_payer_category_period WHERE {AT_END} "
        "ORDER BY payer_rank, payer_label, category_rank, category_label",
        scope.params,
    )


def code_trends(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Codes first denied this month for the first time, and rising codes (marts.report_code_trend),
    new ones first, then by recent dollars."""
    return rows(
        con,
        f"SELECT * FROM marts.report_code_trend WHERE {AT_END} AND (new_this_month OR trend = 'rising') "
        "ORDER BY new_this_month DESC, recent_dollars DESC, group_code, reason_code",
        scope.params,
    )


def top_denial_in_month(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, Any] | None:
    """The (group, CARC, payer) carrying the most denial dollars in the period's last month."""
    got = rows(
        con,
        """
        SELECT group_code, reason_code, top_payer_key AS payer_key, top_payer_name AS payer_name,
               top_payer_dollars AS dollars
        FROM marts.report_denial_carc_month
        WHERE payment_month = $end AND payer_scope = $scope AND top_in_month = 1 AND top_payer_dollars > 0
        """,
        scope.params,
    )
    return got[0] if got else None


# ------------------------------------------------------------------------------------------ absorbed


def absorbed_period(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Provider-absorbed dollars per payer over the period, by category; the scope's total row has
    payer_key '*' and comes last (marts.report_absorbed_period)."""
    return rows(
        con,
        f"SELECT * FROM marts.report_absorbed_period WHERE {AT_END} "
        "ORDER BY CASE WHEN payer_key = '*' THEN 1 ELSE 0 END, total_rank",
        scope.params,
    )


def absorbed_month(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Provider-absorbed dollars per month and category (marts.report_absorbed_month)."""
    return rows(
        con,
        """
        SELECT a.payment_month, a.absorbed_category, a.dollars
        FROM marts.report_periods AS p
        INNER JOIN marts.report_absorbed_month AS a ON a.payment_month = p.payment_month
        WHERE p.period_end = $end AND a.payer_scope = $scope
        """,
        scope.params,
    )


# ----------------------------------------------------------------------------------------- crossover


def crossover(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Crossover per payer, direction and CARC over the period (marts.report_crossover_period)."""
    return rows(
        con,
        f"SELECT * FROM marts.report_crossover_period WHERE {AT_END} ORDER BY rank_by_dollars",
        scope.params,
    )


def crossover_summary(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, Any]:
    """The period's crossover and dental-line figures (marts.report_crossover_summary)."""
    return rows(con, f"SELECT * FROM marts.report_crossover_summary WHERE {AT_END}", scope.params)[0]


def crossover_series(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Crossover dollars per month and direction (marts.report_crossover_series_month)."""
    return rows(
        con,
        """
        SELECT c.payment_month, c.crossover_direction, c.dollars
        FROM marts.report_periods AS p
        INNER JOIN marts.report_crossover_series_month AS c ON c.payment_month = p.payment_month
        WHERE p.period_end = $end AND c.payer_scope = $scope
        """,
        scope.params,
    )


def dental_share(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Per month of the period: dental lines and those remitted by a medical plan
    (marts.report_crossover_month)."""
    return rows(
        con,
        """
        SELECT c.payment_month, c.dental_lines, c.dental_at_medical, c.dental_at_medical_share AS share
        FROM marts.report_periods AS p
        INNER JOIN marts.report_crossover_month AS c ON c.payment_month = p.payment_month
        WHERE p.period_end = $end AND c.payer_scope = $scope
        ORDER BY p.month_offset DESC
        """,
        scope.params,
    )


# ------------------------------------------------------------------------------------------- appeals


WORKLISTS = ("appeal", "rework", "redirect")
WORKLIST_LABELS = {
    "appeal": "Appeal",
    "rework": "Correct and resubmit",
    "redirect": "Bill the other plan",
}


def worklist_summary(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Open items, claims, dollars, oldest age and nearest deadline of each worklist, as of the
    warehouse's as-of date (marts.report_worklist_summary), in the order of ``WORKLISTS``."""
    got = {
        r["worklist"]: r
        for r in rows(
            con, "SELECT * FROM marts.report_worklist_summary WHERE payer_scope = $scope", scope.params
        )
    }
    return [got[w] for w in WORKLISTS if w in got]


def worklist_top(con: duckdb.DuckDBPyConnection, scope: Scope, worklist: str, n: int) -> list[dict[str, Any]]:
    """The ``n`` first open items of ``worklist`` by its rank. No patient key, name or id is selected."""
    return rows(
        con,
        """
        SELECT worklist_rank, payer_name, payer_claim_control_number, level, group_code, reason_code,
               carc_summary, remark_codes, dollars_at_stake, first_denied_date, age_days, deadline_date,
               days_left, action, line_key
        FROM marts.report_worklist_items
        WHERE worklist = $worklist AND ($payer IS NULL OR payer_key = $payer)
        ORDER BY worklist_rank
        LIMIT $n
        """,
        {**scope.params, "worklist": worklist, "n": n},
    )


# -------------------------------------------------------------------------------------- data quality


def _has_table(con: duckdb.DuckDBPyConnection, catalog: str | None, schema: str, name: str) -> bool:
    """Whether ``schema.name`` exists, as a table or a view, in ``catalog`` (None: any attached catalog). A
    warehouse built by an older remit lacks some models (the 837 ones, the KPI history), and
    ``marts.report_submission_period`` was a view before it became a table."""
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = $s AND table_name = $t"
    params: dict[str, Any] = {"s": schema, "t": name}
    if catalog:
        sql += " AND table_catalog = $c"
        params["c"] = catalog
    return con.execute(sql, params).fetchone()[0] > 0


def quality_results(con: duckdb.DuckDBPyConnection, home_root: str | Path | None) -> dict[str, Any] | None:
    """The latest quality run: from the home's history file, else ``quality.results`` in the warehouse.

    The history file (``pipeline.quality.results_path(home)``) comes first: it also holds checks run
    after the last build (``remit check``); every build copies it into the warehouse, which is the
    fallback when the report is rendered from a warehouse file alone. Returns None when no checks were
    recorded; else the run id, its time and one row per expectation. Sample ids and offending values are
    not read: they may name claims or patients.
    """
    from pipeline.home import Home
    from pipeline.quality import results_path

    source = None
    history = results_path(Home(Path(home_root))) if home_root is not None else None
    if history is not None and history.exists():
        try:  # attached under its own name: a catalog called "quality" would shadow the schema
            con.execute("ATTACH $path AS remit_quality (READ_ONLY)", {"path": str(history)})
            if _has_table(con, "remit_quality", "quality", "results"):
                source = "remit_quality.quality.results"
        except duckdb.Error:
            source = None
    if source is None and _has_table(con, None, "quality", "results"):
        source = "quality.results"
    if source is None:
        return None
    latest = con.execute(
        f"SELECT run_id, max(checked_at) FROM {source} GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    if latest is None:
        return None
    checks = rows(
        con,
        f"""
        SELECT suite, expectation, severity, success, unexpected_count, element_count
        FROM {source} WHERE run_id = $run ORDER BY success, severity, suite, expectation
        """,
        {"run": latest[0]},
    )
    return {"run_id": latest[0], "checked_at": latest[1], "checks": checks}


def quarantined(con: duckdb.DuckDBPyConnection, home_root: str | Path | None) -> list[dict[str, Any]]:
    """Rejected files: ``lake.manifest`` rows with status rejected, plus any ``quarantine/*.error.json``.

    Each: file name, when, and the first problem's message. Files named in both appear once.
    """
    out: dict[str, dict[str, Any]] = {}
    try:
        for r in rows(
            con,
            "SELECT name, loaded_at, error, stored_as FROM lake.manifest "
            "WHERE status = 'rejected' ORDER BY entry",
        ):
            message = _error_message(r["error"])
            key = Path(r["stored_as"]).name if r["stored_as"] else r["name"]
            out[key] = {"file": r["name"], "when": _when(r["loaded_at"]), "problem": message}
    except duckdb.Error:
        pass  # the lake views point at a lake that is not here (a copied warehouse): use the folder alone
    if home_root is not None:
        folder = Path(home_root) / "quarantine"
        for path in sorted(folder.glob("*.error.json")) if folder.is_dir() else []:
            key = path.name[: -len(".error.json")]
            if key in out:
                continue
            try:
                report = json.loads(path.read_text())
            except (OSError, ValueError):
                report = {}
            out[key] = {
                "file": report.get("file", key),
                "when": _when(report.get("rejected_at")),
                "problem": str(report.get("message") or "unreadable error report"),
            }
    return list(out.values())


def _when(value: object) -> str:
    """A timestamp (datetime or ISO text) as 'YYYY-MM-DD HH:MM UTC'; other values as they are."""
    import datetime as dt

    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return "" if value is None else str(value)


def _error_message(raw: str | None) -> str:
    if not raw:
        return "rejected (no reason recorded)"
    try:
        return str(json.loads(raw).get("message") or raw)
    except (ValueError, AttributeError):
        return raw


def warehouse_checks(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, Any]:
    """Unknown payers (marts.unknown_payers) and expired-CARC figures (marts.report_checks_period)."""
    unknown = rows(con, "SELECT payer_key, payer_name, payments FROM marts.unknown_payers ORDER BY payer_key")
    expired = rows(
        con,
        "SELECT expired_adjustments AS n, expired_dollars AS dollars FROM marts.report_checks_period "
        f"WHERE {AT_END}",
        scope.params,
    )
    return {"unknown_payers": unknown, "expired": expired[0] if expired else {"n": 0, "dollars": ZERO}}


# --------------------------------------------------------------------------------- claims submitted


def submission_period(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, Any] | None:
    """The period's claims-submitted figures (marts.report_submission_period); None when the scope has no
    row (a warehouse built before 837s were supported, or a payer with no figure at all)."""
    if not _has_table(con, None, "marts", "report_submission_period"):
        return None
    got = rows(con, f"SELECT * FROM marts.report_submission_period WHERE {AT_END}", scope.params)
    return got[0] if got else None


def submission_months(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """The period's months of marts.report_submission_month, oldest first (a month without a row is
    missing: the section prints it as a gap)."""
    return rows(
        con,
        """
        SELECT s.* FROM marts.report_periods AS p
        INNER JOIN marts.report_submission_month AS s ON s.payment_month = p.payment_month
        WHERE p.period_end = $end AND s.payer_scope = $scope
        ORDER BY p.month_offset DESC
        """,
        scope.params,
    )


def unanswered_aging(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Cells of the no-response aging table (marts.report_unanswered_aging): the scope's total row first,
    then the payers by rank, each with its five buckets in order."""
    return rows(
        con,
        "SELECT * FROM marts.report_unanswered_aging WHERE payer_scope = $scope "
        "ORDER BY payer_rank, payer_key, bucket_order",
        scope.params,
    )


def unanswered_top(con: duckdb.DuckDBPyConnection, scope: Scope, n: int) -> list[dict[str, Any]]:
    """The ``n`` oldest unanswered claims (marts.unanswered_claim_items). No patient control number, key or
    name is selected."""
    return rows(
        con,
        """
        SELECT unanswered_rank, payer_name, claim_type, frequency_code, submission_date, age_days, age_bucket,
               claim_charge
        FROM marts.unanswered_claim_items
        WHERE $payer IS NULL OR payer_key = $payer
        ORDER BY unanswered_rank
        LIMIT $n
        """,
        {**scope.params, "n": n},
    )
