"""Build ``warehouse.duckdb``: the lake's views, the reference tables, payers, and the SQL models in ``sql/``.

The build writes a new file beside the old one (``warehouse.duckdb.building-<pid>``) and moves it over the
old one with ``os.replace``, so an analyst who has the old file open keeps a consistent (older) copy and
the next ``duckdb.connect`` sees the new one. Schemas:

- ``lake``    views over the Parquet lake (``pipeline.lake.register_views``);
- ``ref``     reference tables (``pipeline.reference.load_reference``) plus ``ref.payers`` from
  ``<home>/payers.csv``;
- ``staging`` views in ``sql/staging/`` (rename, cast, join keys);
- ``intermediate`` tables in ``sql/intermediate/``: netting, episodes, denial events and their resolution;
- ``marts``   tables (and check views) in ``sql/marts/``, one documented grain each, plus
  ``marts.kpi_month_history`` and ``marts.kpi_month_restatements`` (``pipeline.warehouse.history``).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.home import Home
from pipeline.log import get_logger
from pipeline.quality.runner import copy_quality_history
from pipeline.warehouse.history import append_history, new_build_id, record_history
from pipeline.warehouse.models import LAYERS, Model, load_models

__all__ = ["BuildResult", "build", "PAYERS_FILE", "load_payers"]

log = get_logger("warehouse")

PAYERS_FILE = "payers.csv"
PAYER_COLUMNS = ("payer_id", "payer_name", "plan_type")
# DuckDB's own memory cap for the build, well under the 4 GB budget of a nightly run (parser + build).
MEMORY_LIMIT = os.environ.get("REMIT_WAREHOUSE_MEMORY", "2GB")


@dataclass
class BuildResult:
    """What a build produced: where, how long, the row count of every mart, and any warnings."""

    path: Path
    seconds: float
    row_counts: dict[str, int] = field(default_factory=dict)
    unknown_payers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    build_id: str = ""

    def summary(self) -> str:
        """One paragraph for the terminal and the log."""
        marts = {k: v for k, v in self.row_counts.items() if k.startswith("marts.")}
        lines = [
            f"built {self.path} in {self.seconds:.1f}s: "
            + ", ".join(f"{name.split('.', 1)[1]} {n}" for name, n in marts.items())
        ]
        if self.unknown_payers:
            shown = ", ".join(self.unknown_payers[:10])
            more = f" and {len(self.unknown_payers) - 10} more" if len(self.unknown_payers) > 10 else ""
            lines.append(
                f"warning: {len(self.unknown_payers)} payer(s) not in payers.csv (plan type 'unknown'): "
                f"{shown}{more}; see marts.unknown_payers"
            )
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def load_payers(con: duckdb.DuckDBPyConnection, home: Home) -> list[str]:
    """Create ``ref.payers`` from ``<home>/payers.csv`` (payer_id, payer_name, plan_type); return warnings.

    A missing file gives an empty table (every payer's plan type is then 'unknown'). Plan types are
    lower-cased; blank ids are skipped; a repeated id keeps its first row. An optional ``appeal_days``
    column gives the payer's appeal (timely filing of a reconsideration) limit in days, counted from the
    first denial; blank means the default (``intermediate.int_lifecycle_settings.default_appeal_days``).
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS ref")
    con.execute(
        "CREATE OR REPLACE TABLE ref.payers (payer_id VARCHAR PRIMARY KEY, payer_name VARCHAR, "
        "plan_type VARCHAR NOT NULL, appeal_days INTEGER)"
    )
    con.execute(
        "COMMENT ON TABLE ref.payers IS 'Payers and their plan type, from <home>/payers.csv "
        "(user-maintained). Payers absent here get plan type unknown in the marts.'"
    )
    for col, text in (
        ("payer_id", "Payer id as sent in REF*2U / N1*PR04, or TRN03."),
        ("payer_name", "Payer name to show in the marts."),
        ("plan_type", "Plan type: medical, dental, pharmacy, vision ... (lower case)."),
        ("appeal_days", "Days from the first denial to the payer's appeal deadline; NULL: the default."),
    ):
        con.execute(f"COMMENT ON COLUMN ref.payers.{col} IS {_sql_str(text)}")
    path = home.root / PAYERS_FILE
    warnings: list[str] = []
    if not path.exists():
        return [f"{path} not found: every payer gets plan type 'unknown'"]
    rows: dict[str, tuple[str, str | None, str, int | None]] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in PAYER_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            expected = ", ".join(PAYER_COLUMNS)
            raise ValueError(f"{path}: header lacks {', '.join(missing)} (expected {expected})")
        for n, row in enumerate(reader, start=2):
            pid = (row["payer_id"] or "").strip()
            if not pid:
                warnings.append(f"{path} line {n}: blank payer_id skipped")
                continue
            if pid in rows:
                warnings.append(f"{path} line {n}: payer_id {pid} repeated; first row kept")
                continue
            plan = (row["plan_type"] or "").strip().lower() or "unknown"
            days_text = (row.get("appeal_days") or "").strip()
            if days_text and not (days_text.isdigit() and int(days_text) > 0):
                raise ValueError(
                    f"{path} line {n}: appeal_days {days_text!r} of payer {pid} is not a positive whole "
                    "number of days"
                )
            days = int(days_text) if days_text else None
            rows[pid] = (pid, (row["payer_name"] or "").strip() or None, plan, days)
    if rows:
        con.executemany("INSERT INTO ref.payers VALUES (?, ?, ?, ?)", list(rows.values()))
    return warnings


def _comment(con: duckdb.DuckDBPyConnection, model: Model) -> list[str]:
    """COMMENT ON the model and each documented column; return the columns left undocumented."""
    text = f"{model.description} Grain: {model.grain}."
    con.execute(f"COMMENT ON {model.kind} {model.name} IS {_sql_str(text)}")
    schema, name = model.name.split(".")
    actual = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
    ]
    for col in actual:
        if col in model.columns:
            con.execute(f"COMMENT ON COLUMN {model.name}.{col} IS {_sql_str(model.columns[col])}")
    return [c for c in actual if c not in model.columns]


def _remove_stale_builds(target: Path) -> None:
    """Delete leftovers of builds whose process is gone (a killed build never blocks the next)."""
    for path in target.parent.glob(f"{target.name}.building-*"):
        pid_text = path.name.rsplit("-", 1)[-1].split(".")[0]
        try:
            os.kill(int(pid_text), 0)
            alive = int(pid_text) != os.getpid()
        except (ValueError, ProcessLookupError):
            alive = False
        except PermissionError:
            alive = True
        if not alive:
            path.unlink(missing_ok=True)


def build(
    home: Home,
    *,
    sql_dir: Path | None = None,
    before_publish: Callable[[Path], None] | None = None,
) -> BuildResult:
    """Build ``<home>/warehouse.duckdb`` from the lake, the reference seeds and ``sql/``; replace atomically.

    Takes the home's run lock (re-entrant, so ``remit run`` can hold it around ingest and build).
    ``before_publish`` is called with the finished, closed new file just before it replaces the old one
    (the nightly job runs the warehouse quality suite there); if it raises, nothing is published.
    The quality history (``quality.results``, kept in its own file) is copied into every new warehouse.
    Raises on any SQL error, leaving the previous warehouse untouched.
    """
    from pipeline.lake import register_views, run_lock
    from pipeline.reference import load_reference

    started = time.perf_counter()
    models = load_models(sql_dir)
    target = home.warehouse
    with run_lock(home):
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_builds(target)
        tmp = target.with_name(f"{target.name}.building-{os.getpid()}")
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        result = BuildResult(path=target, seconds=0.0)
        try:
            con = duckdb.connect(str(tmp))
            try:
                con.execute(f"SET memory_limit = {_sql_str(MEMORY_LIMIT)}")
                con.execute("SET preserve_insertion_order = false")
                register_views(con, home.lake)
                load_reference(con, home)
                result.warnings.extend(load_payers(con, home))
                for schema in LAYERS:
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                # one transaction for all models and their comments: a COMMENT ON per column, each
                # committed on its own, made up a third of a small build's time
                con.execute("BEGIN TRANSACTION")
                for model in models:
                    t0 = time.perf_counter()
                    try:
                        con.execute(model.ddl())
                    except duckdb.Error as exc:
                        raise RuntimeError(f"{model.path.name} ({model.name}) failed: {exc}") from exc
                    undocumented = _comment(con, model)
                    if undocumented:
                        cols = ", ".join(undocumented)
                        result.warnings.append(f"{model.name}: undocumented column(s) {cols}")
                    if model.materialized == "table":
                        n = con.execute(f"SELECT count(*) FROM {model.name}").fetchone()[0]
                        result.row_counts[model.name] = int(n)
                    log.debug("built %s in %.2fs", model.name, time.perf_counter() - t0)
                con.execute("COMMIT")
                rows = con.execute("SELECT payer_key FROM marts.unknown_payers ORDER BY 1").fetchall()
                result.unknown_payers = [r[0] for r in rows]
                copy_quality_history(con, home)
                built_at = dt.datetime.now(dt.UTC)
                result.build_id = new_build_id(built_at)
                figures = record_history(con, home, result.build_id, built_at)
                con.execute("CHECKPOINT")
            finally:
                con.close()
            if before_publish is not None:
                before_publish(tmp)
            os.replace(tmp, target)
            try:
                append_history(home, figures)
            except duckdb.Error as exc:  # the published warehouse has it; only later builds would miss it
                result.warnings.append(f"kpi_month_history not kept for later builds: {exc}")
        except BaseException:
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
            raise
    result.seconds = time.perf_counter() - started
    log.info("warehouse built in %.1fs", result.seconds, extra={"fields": {"marts": result.row_counts}})
    return result
