"""The figures of the leadership report, read from the warehouse marts (the one source of truth).

Every query takes the report's scope as bound parameters (``$start``, ``$end``, ``$payer``): user input is
never formatted into SQL. Sums are recomputed from the marts' additive columns (counts and dollars) and
rates are taken as ratios of those sums, so a rate over several payers or months is weighted correctly.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from pipeline.reports.format import ratio

ZERO = Decimal("0")
ABSORBED_CATEGORIES = ("expected_contractual", "denial_writeoff", "payer_initiated", "other")
ABSORBED_LABELS = {
    "expected_contractual": "Expected contractual",
    "denial_writeoff": "Denial write-offs",
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


def month_range(start: str, end: str) -> list[str]:
    """Every 'YYYY-MM' from ``start`` to ``end`` inclusive."""
    months = [start]
    while months[-1] < end:
        months.append(shift_month(months[-1], 1))
    return months


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
    """Run ``sql`` with bound ``params`` and return the rows as dicts (DECIMAL stays Decimal)."""
    cur = con.execute(sql, params or {})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def latest_month(con: duckdb.DuckDBPyConnection, payer: str | None = None) -> str | None:
    """The latest payment month in ``marts.kpi_month`` (for one payer when given)."""
    got = con.execute(
        "SELECT max(payment_month) FROM marts.kpi_month WHERE $payer IS NULL OR payer_key = $payer",
        {"payer": payer},
    ).fetchone()
    return got[0] if got else None


@dataclass(frozen=True)
class Scope:
    """The report's months (``start``..``end``) and optional payer; ``params`` binds them in SQL."""

    start: str
    end: str
    payer: str | None = None
    months: list[str] = field(default_factory=list)

    @classmethod
    def make(
        cls,
        con: duckdb.DuckDBPyConnection,
        *,
        start: str | None = None,
        end: str | None = None,
        payer: str | None = None,
    ) -> Scope:
        """Default end: the latest payment month; default start: 11 months before the end (12 months)."""
        payer = payer or None
        if end is None:
            end = latest_month(con, payer)
            if end is None:
                who = f" for payer {payer}" if payer else ""
                raise ReportError(f"the warehouse holds no payments{who}: nothing to report")
        check_month(end, "period end")
        start = check_month(start, "period start") if start else shift_month(end, -11)
        if start > end:
            raise ReportError(f"period start {start} is after period end {end}")
        return cls(start, end, payer, month_range(start, end))

    @property
    def params(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "payer": self.payer}

    @property
    def previous(self) -> str:
        """The month before the period's last month (month-over-month comparisons)."""
        return shift_month(self.end, -1)


# A WHERE clause over a mart with payment_month and payer_key; the values are bound, never formatted.
IN_SCOPE = "payment_month BETWEEN $start AND $end AND ($payer IS NULL OR payer_key = $payer)"


def payer_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """payer_key -> payer name (marts.dim_payer)."""
    return {
        r["payer_key"]: r["payer_name"]
        for r in rows(con, "SELECT payer_key, payer_name FROM marts.dim_payer")
    }


# ---------------------------------------------------------------------------------------------- KPIs

KPI_SUMS = (
    "claims_remitted",
    "denied_claims",
    "charge_remitted",
    "denied_charge",
    "denial_writeoff_amount",
    "provider_absorbed_amount",
    "expected_contractual_amount",
    "net_payments",
    "claim_paid_amount",
)


def _add_rates(row: dict[str, Any]) -> dict[str, Any]:
    row["denial_rate_count"] = ratio(row["denied_claims"], row["claims_remitted"])
    row["denial_rate_dollars"] = ratio(row["denied_charge"], row["charge_remitted"])
    return row


def kpi_by_month(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """One row per month of the scope (months without payments hold zeros) with sums and rates."""
    sums = ", ".join(f"sum({c}) AS {c}" for c in KPI_SUMS)
    got = {
        r["payment_month"]: r
        for r in rows(
            con,
            f"SELECT payment_month, {sums} FROM marts.kpi_month WHERE {IN_SCOPE} GROUP BY 1",
            scope.params,
        )
    }
    out = []
    for month in scope.months:
        row = got.get(month) or {c: 0 for c in KPI_SUMS}
        row = {c: (row[c] if row[c] is not None else 0) for c in KPI_SUMS}
        row["payment_month"] = month
        out.append(_add_rates(row))
    return out


def kpi_total(months: list[dict[str, Any]]) -> dict[str, Any]:
    """The period's totals of ``kpi_by_month`` rows, with rates as ratios of the sums."""
    total = {c: sum((m[c] for m in months), 0) for c in KPI_SUMS}
    return _add_rates(total)


def kpi_previous(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, Any]:
    """The KPI sums of the month before the period's last month (even when it is before the period)."""
    prev = Scope(scope.previous, scope.previous, scope.payer, [scope.previous])
    return kpi_by_month(con, prev)[0]


def payer_trend(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Per payer: the period's denial rates, and the last three months against the three before them.

    ``change_points`` is the change of the dollar denial rate in percentage points (positive = worse).
    """
    recent_start, prior_start = shift_month(scope.end, -2), shift_month(scope.end, -5)
    params = {**scope.params, "recent": recent_start, "prior": prior_start}
    got = rows(
        con,
        f"""
        SELECT payer_key, min(payer_name) AS payer_name, min(plan_type) AS plan_type,
               sum(claims_remitted) AS claims_remitted, sum(denied_claims) AS denied_claims,
               sum(charge_remitted) AS charge_remitted, sum(denied_charge) AS denied_charge,
               sum(denial_writeoff_amount) AS denial_writeoff_amount,
               sum(CASE WHEN payment_month >= $recent THEN denied_charge ELSE 0 END) AS recent_denied,
               sum(CASE WHEN payment_month >= $recent THEN charge_remitted ELSE 0 END) AS recent_charge,
               sum(CASE WHEN payment_month >= $prior AND payment_month < $recent
                   THEN denied_charge ELSE 0 END) AS prior_denied,
               sum(CASE WHEN payment_month >= $prior AND payment_month < $recent
                   THEN charge_remitted ELSE 0 END) AS prior_charge
        FROM marts.kpi_month WHERE {IN_SCOPE}
        GROUP BY payer_key ORDER BY payer_key
        """,
        params,
    )
    for r in got:
        _add_rates(r)
        r["recent_rate"] = ratio(r["recent_denied"], r["recent_charge"])
        r["prior_rate"] = ratio(r["prior_denied"], r["prior_charge"])
        r["change_points"] = (
            (r["recent_rate"] - r["prior_rate"]) * 100
            if r["recent_rate"] is not None and r["prior_rate"] is not None
            else None
        )
    return got


def payer_month_rates(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Per payer and month: the dollar denial rate (for the payer trend chart)."""
    got = rows(
        con,
        f"""
        SELECT payment_month, payer_key, min(payer_name) AS payer_name,
               sum(denied_charge) AS denied_charge, sum(charge_remitted) AS charge_remitted
        FROM marts.kpi_month WHERE {IN_SCOPE} GROUP BY 1, 2 ORDER BY 1, 2
        """,
        scope.params,
    )
    for r in got:
        r["denial_rate_dollars"] = ratio(r["denied_charge"], r["charge_remitted"])
    return got


# ------------------------------------------------------------------------------------------- denials

# Denials are non-PR adjustments whose CARC is a denial reason (docs/warehouse.md, denial conventions).
DENIAL_FILTER = "is_denial AND group_code <> 'PR'"


def denial_carcs(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Denial adjustments per group code and CARC over the period: claims, adjustments, dollars, guidance."""
    return rows(
        con,
        f"""
        SELECT group_code, reason_code, min(carc_summary) AS carc_summary,
               min(carc_category) AS carc_category,
               min(action) AS action, bool_or(appealable) AS appealable,
               sum(claims_affected) AS claims, sum(adjustment_count) AS adjustments,
               CAST(sum(dollars) AS DECIMAL(18, 2)) AS dollars
        FROM marts.denials_by_carc_month WHERE {IN_SCOPE} AND {DENIAL_FILTER}
        GROUP BY group_code, reason_code
        ORDER BY dollars DESC, claims DESC, group_code, reason_code
        """,
        scope.params,
    )


def top_by_count(carcs: list[dict[str, Any]], n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` denial CARCs affecting the most claims (ties: dollars, then code)."""
    return sorted(carcs, key=lambda r: (-r["claims"], -r["dollars"], r["group_code"], r["reason_code"]))[:n]


def top_by_dollars(carcs: list[dict[str, Any]], n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` denial CARCs with the most dollars (ties: claims, then code)."""
    return sorted(carcs, key=lambda r: (-r["dollars"], -r["claims"], r["group_code"], r["reason_code"]))[:n]


def denial_trend(con: duckdb.DuckDBPyConnection, scope: Scope, top: list[dict[str, Any]]) -> list[dict]:
    """Monthly dollars and claims of the given (group, CARC) pairs; every month present (zeros filled)."""
    if not top:
        return []
    keys = [f"{r['group_code']}-{r['reason_code']}" for r in top]
    got = rows(
        con,
        f"""
        SELECT payment_month, group_code || '-' || reason_code AS code,
               sum(claims_affected) AS claims, CAST(sum(dollars) AS DECIMAL(18, 2)) AS dollars
        FROM marts.denials_by_carc_month
        WHERE {IN_SCOPE} AND {DENIAL_FILTER} AND group_code || '-' || reason_code IN (SELECT unnest($keys))
        GROUP BY 1, 2
        """,
        {**scope.params, "keys": keys},
    )
    index = {(r["payment_month"], r["code"]): r for r in got}
    return [
        {
            "payment_month": m,
            "code": k,
            "claims": index.get((m, k), {}).get("claims", 0),
            "dollars": index.get((m, k), {}).get("dollars", ZERO),
        }
        for k in keys
        for m in scope.months
    ]


def top_denial_in_month(con: duckdb.DuckDBPyConnection, scope: Scope, month: str) -> dict[str, Any] | None:
    """The (group, CARC, payer) carrying the most denial dollars in ``month``."""
    got = rows(
        con,
        f"""
        SELECT group_code, reason_code, payer_key, min(payer_name) AS payer_name,
               CAST(sum(dollars) AS DECIMAL(18, 2)) AS dollars
        FROM marts.denials_by_carc_month
        WHERE payment_month = $month AND ($payer IS NULL OR payer_key = $payer) AND {DENIAL_FILTER}
        GROUP BY 1, 2, 3 HAVING sum(dollars) > 0
        ORDER BY dollars DESC, group_code, reason_code, payer_key LIMIT 1
        """,
        {"month": month, "payer": scope.payer},
    )
    return got[0] if got else None


# ------------------------------------------------------------------------------------------ absorbed


def absorbed(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Provider-absorbed dollars per month, payer and category (marts.provider_absorbed_month)."""
    return rows(
        con,
        f"""
        SELECT payment_month, payer_key, min(payer_name) AS payer_name, absorbed_category,
               CAST(sum(dollars) AS DECIMAL(18, 2)) AS dollars, sum(claims) AS claims
        FROM marts.provider_absorbed_month WHERE {IN_SCOPE}
        GROUP BY 1, 2, 4 ORDER BY 1, 2, 4
        """,
        scope.params,
    )


def pivot_absorbed(data: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """Absorbed dollars pivoted to one row per ``by`` value with one column per category and a total."""
    out: dict[str, dict[str, Any]] = {}
    for r in data:
        key = r[by]
        row = out.setdefault(
            key, {by: key, "payer_name": r["payer_name"], **dict.fromkeys(ABSORBED_CATEGORIES, ZERO)}
        )
        category = r["absorbed_category"] if r["absorbed_category"] in ABSORBED_CATEGORIES else "other"
        row[category] += r["dollars"]
    for row in out.values():
        row["total"] = sum((row[c] for c in ABSORBED_CATEGORIES), ZERO)
    return list(out.values())


# ----------------------------------------------------------------------------------------- crossover


def crossover(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Crossover adjustments per month, payer, CARC and direction (marts.crossover_month)."""
    return rows(
        con,
        f"""
        SELECT payment_month, payer_key, payer_name, plan_type, reason_code, crossover_direction,
               claims, lines, dental_lines, dollars
        FROM marts.crossover_month WHERE {IN_SCOPE}
        ORDER BY payment_month, payer_key, reason_code, crossover_direction
        """,
        scope.params,
    )


def dental_share(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    """Per month: dental lines, those remitted by a medical plan, and that share (marts.line_outcomes)."""
    got = {
        r["payment_month"]: r
        for r in rows(
            con,
            """
            SELECT l.payment_month,
                   count(*) FILTER (WHERE l.is_dental) AS dental_lines,
                   count(*) FILTER (WHERE l.is_dental AND d.plan_type = 'medical') AS dental_at_medical
            FROM marts.line_outcomes AS l
            INNER JOIN marts.dim_payer AS d ON d.payer_key = l.payer_key
            WHERE l.payment_month BETWEEN $start AND $end AND ($payer IS NULL OR l.payer_key = $payer)
            GROUP BY 1
            """,
            scope.params,
        )
    }
    out = []
    for m in scope.months:
        r = got.get(m, {"dental_lines": 0, "dental_at_medical": 0})
        out.append(
            {
                "payment_month": m,
                "dental_lines": r["dental_lines"],
                "dental_at_medical": r["dental_at_medical"],
                "share": ratio(r["dental_at_medical"], r["dental_lines"]),
            }
        )
    return out


# ------------------------------------------------------------------------------------------- appeals


def appeal_summary(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, Any]:
    """How many appealable items the period holds and their dollars (marts.appeal_worklist)."""
    return rows(
        con,
        f"SELECT count(*) AS items, CAST(coalesce(sum(dollars_at_stake), 0) AS DECIMAL(18, 2)) AS dollars, "
        f"count(DISTINCT claim_id) AS claims FROM marts.appeal_worklist WHERE {IN_SCOPE}",
        scope.params,
    )[0]


def appeal_top(con: duckdb.DuckDBPyConnection, scope: Scope, n: int = 20) -> list[dict[str, Any]]:
    """The ``n`` items with the most dollars at stake. No patient key, name or id is selected."""
    return rows(
        con,
        f"""
        SELECT payment_month, payer_name, payer_claim_control_number, level, group_code, reason_code,
               carc_summary, dollars_at_stake, action, remark_codes
        FROM marts.appeal_worklist WHERE {IN_SCOPE}
        ORDER BY dollars_at_stake DESC, worklist_rank
        LIMIT $n
        """,
        {**scope.params, "n": n},
    )


# -------------------------------------------------------------------------------------- data quality


def _has_table(con: duckdb.DuckDBPyConnection, catalog: str | None, schema: str, name: str) -> bool:
    sql = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = $s AND table_name = $t"
    params: dict[str, Any] = {"s": schema, "t": name}
    if catalog:
        sql += " AND database_name = $c"
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
    """Check views of the warehouse: unknown payers and adjustments using an expired CARC in the period."""
    unknown = rows(con, "SELECT payer_key, payer_name, payments FROM marts.unknown_payers ORDER BY payer_key")
    expired = rows(
        con,
        f"SELECT count(*) AS n, CAST(coalesce(sum(amount), 0) AS DECIMAL(18, 2)) AS dollars "
        f"FROM marts.expired_carc_adjustments WHERE {IN_SCOPE}",
        scope.params,
    )[0]
    return {"unknown_payers": unknown, "expired": expired}


def group_sum(data: list[dict[str, Any]], key: str, value: str) -> dict[Any, Any]:
    """Sum ``value`` per ``key`` over dict rows."""
    out: dict[Any, Any] = defaultdict(lambda: ZERO)
    for r in data:
        out[r[key]] += r[value]
    return dict(out)
