"""Load the reference seeds (and any imported official code list) into DuckDB's ``ref`` schema."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from pipeline.home import Home
from pipeline.log import get_logger
from pipeline.reference.official import OfficialCode, read_official
from pipeline.reference.rules import CarcFacts, group_rule
from pipeline.reference.tables import (
    CARC,
    CARC_GROUP_GUIDANCE,
    GROUP_CODES_5010,
    RARC,
    REFERENCE_TABLES,
    Column,
    TableSpec,
)
from pipeline.resources import resource_dir

log = get_logger("reference")

# The time rule lives here so every consumer gets the same answer. A code is expired for a line when the
# service date is after the code's stop date, unless the claim is a reversal (CLP02 = 22) of an earlier
# adjudication. Unknown codes, unknown stop dates and missing service dates are never "expired".
CARC_IS_EXPIRED_MACRO = """
CREATE OR REPLACE MACRO ref.carc_is_expired(reason_code, service_date, is_reversal) AS
    NOT coalesce(is_reversal, false)
    AND coalesce(
        (SELECT CAST(service_date AS DATE) > c.stop_date FROM ref.carc AS c WHERE c.code = reason_code),
        false)
"""

# How a code's use moved: the window's last months against the months before (the handbook's trend word).
# Needs a change of 25 % and of at least 3 uses, so that a code seen 1 then 2 times is not "rising".
CODE_TREND_MACRO = """
CREATE OR REPLACE MACRO ref.code_trend(recent_count, before_count) AS
    CASE
        WHEN recent_count = 0 AND before_count = 0 THEN 'none'
        WHEN before_count = 0 THEN 'new'
        WHEN recent_count >= before_count * 1.25 AND recent_count - before_count >= 3 THEN 'rising'
        WHEN recent_count * 1.25 <= before_count AND before_count - recent_count >= 3 THEN 'falling'
        ELSE 'steady'
    END
"""
MACROS = (CARC_IS_EXPIRED_MACRO, CODE_TREND_MACRO)


class SeedError(ValueError):
    """A seed CSV does not match its table spec (header, empty required value, value not allowed)."""


def seed_dir() -> Path:
    """The folder holding the reference seed CSVs (``reference/`` in a checkout)."""
    return resource_dir("reference")


def _convert(raw: str, column: Column, where: str) -> Any:
    """Turn one CSV cell into the Python value of its DuckDB type (empty string = NULL)."""
    if raw == "":
        if column.required:
            raise SeedError(f"{where}: {column.name} is empty")
        return None
    if column.allowed is not None and raw not in column.allowed:
        raise SeedError(f"{where}: {column.name}={raw!r} is not one of {', '.join(column.allowed)}")
    if column.type == "BOOLEAN":
        if raw not in ("true", "false"):
            raise SeedError(f"{where}: {column.name}={raw!r} is not true/false")
        return raw == "true"
    if column.type == "DATE":
        try:
            return dt.date.fromisoformat(raw)
        except ValueError as exc:
            raise SeedError(f"{where}: {column.name}={raw!r} is not an ISO date") from exc
    if column.type == "INTEGER":
        return int(raw)
    return raw


def read_seed(spec: TableSpec, folder: Path | None = None) -> list[dict[str, Any]]:
    """Read and validate one seed CSV; return typed rows (``in_csv=False`` columns set to None)."""
    path = (folder or seed_dir()) / spec.csv
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != spec.csv_columns:
            raise SeedError(f"{path}: header {reader.fieldnames} != expected {spec.csv_columns}")
        rows: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        for lineno, raw in enumerate(reader, start=2):
            where = f"{path.name}:{lineno}"
            row = {c.name: _convert(raw[c.name], c, where) if c.in_csv else None for c in spec.columns}
            key = tuple(row[k] for k in spec.key)
            if key in seen:
                raise SeedError(f"{where}: duplicate key {key}")
            seen.add(key)
            rows.append(row)
    return rows


def _apply_official(spec: TableSpec, rows: list[dict[str, Any]], official: list[OfficialCode]) -> int:
    """Refresh status/dates/official_description from an imported list; append codes new to remit.

    Returns the number of codes added. Dates in the import win where it has them; the seed's stay
    where it does not. New codes get no summary and category ``other`` until the seeds catch up.
    """
    by_code = {r["code"]: r for r in rows}
    added = 0
    for off in official:
        row = by_code.get(off.code)
        if row is None:
            row = {c.name: None for c in spec.columns}
            row.update(code=off.code, status=off.status or "current", category="other")
            if spec is CARC:
                row.update(
                    is_denial=False,
                    is_expected_contractual=False,
                    is_redirect=False,
                    is_crossover=False,
                    crossover_forwarded=False,
                )
            else:
                row.update(is_alert=off.description.lower().startswith("alert"), is_dental=False)
            rows.append(row)
            by_code[off.code] = row
            added += 1
        elif off.status:
            row["status"] = off.status
        for name in ("start_date", "last_modified_date", "stop_date"):
            value = getattr(off, name)
            if value is not None:
                row[name] = value
        row["official_description"] = off.description or None
    return added


def _write_table(con: duckdb.DuckDBPyConnection, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
    """CREATE OR REPLACE ``ref.<name>`` with typed columns, fill it, and comment table and columns."""
    cols = ", ".join(f'"{c.name}" {c.type}' for c in spec.columns)
    key = ", ".join(f'"{k}"' for k in spec.key)
    con.execute(f"CREATE OR REPLACE TABLE {spec.qualified} ({cols}, PRIMARY KEY ({key}))")
    # one typed list parameter per column, unnested side by side: no Arrow table handed to DuckDB,
    # which would import pandas (over a second of CPU in every build)
    values = [[row.get(c.name) for row in rows] for c in spec.columns]
    unnested = ", ".join(f"unnest(CAST(? AS {c.type}[]))" for c in spec.columns)
    con.execute(f"INSERT INTO {spec.qualified} SELECT {unnested}", values)
    con.execute(f"COMMENT ON TABLE {spec.qualified} IS {_sql_str(spec.comment)}")
    for c in spec.columns:
        con.execute(f'COMMENT ON COLUMN {spec.qualified}."{c.name}" IS {_sql_str(c.comment)}')


def _sql_str(text: str) -> str:
    """A SQL string literal (COMMENT ON does not take parameters)."""
    return "'" + text.replace("'", "''") + "'"


def load_reference(con: duckdb.DuckDBPyConnection, home: Home | None = None) -> dict[str, int]:
    """Create schema ``ref`` with every reference table and the ``ref.carc_is_expired`` macro.

    Tables are replaced, so calling it again (after an import, in a rebuild) is safe. When ``home``
    holds an imported official list (``remit reference import``), its statuses and dates refresh
    ``ref.carc``/``ref.rarc`` and its wording fills ``official_description``; codes it adds get group-
    rule guidance rows. Returns the row count of each table, keyed by table name (without ``ref.``).
    """
    folder = seed_dir()
    data = {name: read_seed(spec, folder) for name, spec in REFERENCE_TABLES.items()}
    if home is not None:
        for spec in (CARC, RARC):
            official = read_official(home, spec.name.upper())
            if official:
                added = _apply_official(spec, data[spec.name], official)
                log.info(
                    "ref.%s: applied %d codes of the imported official list (%d new)",
                    spec.name,
                    len(official),
                    added,
                )
    _fill_missing_guidance(data[CARC.name], data[CARC_GROUP_GUIDANCE.name])
    con.execute("CREATE SCHEMA IF NOT EXISTS ref")
    for name, spec in REFERENCE_TABLES.items():
        _write_table(con, spec, data[name])
    for macro in MACROS:
        con.execute(macro)
    return {name: len(rows) for name, rows in data.items()}


def _fill_missing_guidance(carcs: list[dict[str, Any]], guidance: list[dict[str, Any]]) -> None:
    """Add group-rule rows for any CARC x group pair the guidance seed lacks (codes from an import)."""
    have = {(g["reason_code"], g["group_code"]) for g in guidance}
    for carc in carcs:
        facts = CarcFacts(
            carc["code"],
            carc["category"],
            bool(carc["is_denial"]),
            bool(carc["is_expected_contractual"]),
            bool(carc["is_redirect"]),
            bool(carc["is_crossover"]),
            carc["crossover_direction"],
        )
        for group in GROUP_CODES_5010:
            if (carc["code"], group) not in have:
                g = group_rule(facts, group)
                guidance.append(
                    {
                        "reason_code": g.reason_code,
                        "group_code": g.group_code,
                        "who_pays": g.who_pays,
                        "patient_billable": g.patient_billable,
                        "appealable": g.appealable,
                        "action": g.action,
                        "patient_impact": g.patient_impact,
                        "is_provider_absorbed": g.is_provider_absorbed,
                        "absorbed_category": g.absorbed_category,
                        "guidance_source": g.guidance_source,
                    }
                )
