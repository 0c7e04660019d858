"""``remit check``: the warehouse suite on warehouse.duckdb and the batch suite on the lake's latest run.

Data Docs go to ``<home>/reports/quality/index.html``; outcomes are appended to ``quality.results`` in
``<home>/quality_results.duckdb``, a file of its own so that ``remit build`` (which replaces warehouse.duckdb)
never loses the history. Attach it read-only to query it next to the marts.

The history file is never written in place: each run writes a new file (the old rows plus its own) and
moves it over the old one, like the warehouse, so a reader holding the file open (even read-write)
never stops a night; at worst the run's rows miss the history file, with a warning naming it, and stay
in the new warehouse and ``latest.json``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.home import Home
from pipeline.log import get_logger
from pipeline.quality.report import QualityReport, write_results, write_summary

log = get_logger("quality")

RESULTS_FILE = "quality_results.duckdb"
# Manifest statuses whose rows are in the lake (a resent file's new transactions are loaded too).
LOADED = ("loaded", "resent")


def results_path(home: Home) -> Path:
    """Where ``quality.results`` is kept: ``<home>/quality_results.duckdb``."""
    return home.root / RESULTS_FILE


def docs_path(home: Home) -> Path:
    """The Data Docs site: ``<home>/reports/quality`` (open ``index.html``)."""
    return home.reports / "quality"


# files of the latest run checked together by ``remit check``: as the lake's gate checks a night (its
# commit batches), so that checking the first load of a whole history does not hold all of it at once
CHECK_FILES = 1000


def latest_run_files(home: Home, con: duckdb.DuckDBPyConnection) -> tuple[str | None, list[int]]:
    """The lake's most recent ingest run and the keys of its loaded files, in the manifest's order.

    ``con`` gets the lake views (``pipeline.lake.register_views``). Returns ``(None, [])`` for an empty lake.
    """
    from pipeline.lake import register_views

    register_views(con, home.lake)
    rows = con.execute(
        "SELECT run_id FROM lake.manifest WHERE status IN (SELECT unnest(?)) ORDER BY entry DESC LIMIT 1",
        [list(LOADED)],
    ).fetchall()
    if not rows:
        return None, []
    run_id = rows[0][0]
    keys = con.execute(
        "SELECT file_key FROM lake.manifest WHERE run_id = ? AND status IN (SELECT unnest(?)) ORDER BY entry",
        [run_id, list(LOADED)],
    ).fetchall()
    return run_id, [k for (k,) in keys]


def run_tables(
    con: duckdb.DuckDBPyConnection, file_keys: list[int], columns: dict[str, list[str]]
) -> dict[str, pa.Table]:
    """The rows of the files ``file_keys`` (a connection with the lake views): of each table of
    ``columns`` (table -> its columns), those columns, as an Arrow table."""
    tables: dict[str, pa.Table] = {}
    for name, names in columns.items():
        selected = ", ".join(f'"{c}"' for c in names)
        result = con.sql(
            f"SELECT {selected} FROM lake.{name} WHERE file_key IN (SELECT unnest($keys))",
            params={"keys": file_keys},
        ).arrow()
        tables[name] = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    return tables


def run_checks(home: Home, *, run_id: str | None = None) -> QualityReport:
    """Run the warehouse suite (when warehouse.duckdb exists) and the batch suite on the lake's latest run.

    Writes Data Docs and ``latest.html``/``latest.json`` under ``<home>/reports/quality`` and appends
    to ``quality.results`` in ``<home>/quality_results.duckdb``. ``report.success`` is False when a
    critical expectation failed. Takes the home's run lock (raises ``LockedError`` while a run holds it).
    """
    from pipeline.lake import run_lock

    with run_lock(home):
        return _run_checks(home, run_id=run_id)


def _run_checks(home: Home, *, run_id: str | None) -> QualityReport:
    from pipeline.quality.checks import batch_columns, check_batch, check_warehouse
    from pipeline.quality.engine import QualityContext
    from pipeline.quality.gate import combine_reports, new_run_id
    from pipeline.reference import load_reference

    run_id = run_id or new_run_id()
    context = QualityContext(docs_path(home))
    report = QualityReport(run_id=run_id, checked_at=dt.datetime.now(dt.UTC))
    if home.warehouse.exists():
        report = report.merge(check_warehouse(home.warehouse, run_id=run_id, context=context))
    else:
        log.warning(
            "quality: %s does not exist; run remit build first (warehouse suite skipped)", home.warehouse
        )
    con = duckdb.connect()
    try:
        load_reference(con, home)
        lake_run, keys = latest_run_files(home, con)
        if lake_run is None:
            log.warning("quality: the lake holds no loaded file (batch suite skipped)")
        else:
            log.info("quality: batch suite on lake run %s (%d files)", lake_run, len(keys))
            # in batches of files, only the columns the suite reads, combined as the lake's gate
            # combines a night's batches (one outcome per expectation; the same as one pass)
            batches: QualityReport | None = None
            for k in range(0, len(keys), CHECK_FILES):
                tables = run_tables(con, keys[k : k + CHECK_FILES], batch_columns())
                part = check_batch(tables, con, run_id=run_id, context=context, build_docs=False)
                batches = part if batches is None else combine_reports(batches, part)
            assert batches is not None  # (a run with loaded files has at least one key)
            batches.docs_index = context.build_docs(batches.identifiers)
            report = report.merge(batches)
    finally:
        con.close()
    save_report(home, report)
    return report


def save_report(home: Home, report: QualityReport) -> None:
    """Record a run: append to ``quality.results`` in ``<home>/quality_results.duckdb`` and write
    ``<home>/reports/quality/latest.html`` and ``latest.json``."""
    path = results_path(home)
    try:
        _append_history(path, report)
    except (duckdb.Error, OSError) as exc:  # e.g. a read-write session holds it: never fail the night
        log.warning(
            "quality: this run's results are not in %s (%s); see latest.json (and, in remit run, "
            "the new warehouse)",
            path,
            exc,
        )
    write_summary(report, docs_path(home))


def _append_history(path: Path, report: QualityReport) -> None:
    """Write ``path``'s rows plus ``report``'s to a new file, then move it over ``path`` (never in place)."""
    from pipeline.lake import new_database
    from pipeline.quality.report import RESULTS_DDL
    from pipeline.warehouse import publish_database

    for leftover in path.parent.glob(f".{path.name}.*.tmp*"):  # of a killed run (callers hold the lock)
        leftover.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with new_database(tmp) as con:
            con.execute(RESULTS_DDL)
            if path.exists():
                con.execute("ATTACH ? AS quality_history (READ_ONLY)", [str(path)])
                try:
                    con.execute("INSERT INTO quality.results SELECT * FROM quality_history.quality.results")
                finally:
                    con.execute("DETACH quality_history")
            write_results(report, con)
            con.execute("CHECKPOINT")
        publish_database(tmp, path, what="quality history")
    except BaseException:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        raise


def copy_quality_history(con: duckdb.DuckDBPyConnection, home: Home) -> int:
    """Copy ``quality.results`` from ``<home>/quality_results.duckdb`` into ``con`` (a warehouse being built).

    The history lives in its own file so rebuilding the warehouse never loses it; every build copies it
    in, so analysts find ``quality.results`` beside the marts in the one warehouse file. Returns the
    number of rows copied (0 when no check has run yet).
    """
    from pipeline.quality.report import RESULTS_DDL

    con.execute(RESULTS_DDL)
    path = results_path(home)
    if not path.exists():
        return 0
    try:
        con.execute("ATTACH ? AS quality_history (READ_ONLY)", [str(path)])
    except duckdb.Error as exc:  # e.g. held read-write by an analyst: build without the history
        log.warning(
            "quality: could not read %s (%s); the new warehouse has only tonight's results", path, exc
        )
        return 0
    try:
        con.execute("INSERT INTO quality.results SELECT * FROM quality_history.quality.results")
    finally:
        con.execute("DETACH quality_history")
    return int(con.execute("SELECT count(*) FROM quality.results").fetchone()[0])
