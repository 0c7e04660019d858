"""Section 7, data quality: the latest quality checks (counts only, never sample values), files held
in quarantine, payers missing from payers.csv and adjustments that used an expired CARC."""

from __future__ import annotations

from typing import Any

import duckdb

from pipeline.present.format import count, money, plural, reading
from pipeline.present.tables import Column, table
from pipeline.reports import figures as fx
from pipeline.reports.sections import Env, html


def query(con: duckdb.DuckDBPyConnection, scope: fx.Scope, env: Env) -> dict[str, Any]:
    return {
        "results": fx.quality_results(con, env.home),
        "files": fx.quarantined(con, env.home),
        "checks": fx.warehouse_checks(con, scope),
    }


def context(data: dict[str, Any], scope: fx.Scope, env: Env) -> dict[str, Any]:
    """The reading and tables; the tally of checks per suite is made here from the quality history (a
    file of the quality runner, not a mart of the warehouse)."""
    parts = []
    results = data["results"]
    if results is None:
        parts.append(
            reading("No quality checks are recorded for this warehouse yet (they run with remit check).")
        )
    else:
        checks = results["checks"]
        failed = [c for c in checks if not c["success"]]
        critical = [c for c in failed if c["severity"] == "critical"]
        text = f"The latest checks (run {results['run_id']}, {results['checked_at']:%Y-%m-%d %H:%M} UTC): "
        text += f"{len(checks) - len(failed)} of {len(checks)} passed"
        if failed:
            text += f"; {len(failed)} failed ({len(critical)} critical): " + ", ".join(
                f"{c['expectation']} ({count(c['unexpected_count'])} rows)" for c in failed[:5]
            )
        parts.append(reading(text + "."))
        # one line per suite; the failed checks themselves, if any, below it (passing ones add nothing)
        suites: dict[str, dict[str, Any]] = {}
        for c in checks:
            row = suites.setdefault(c["suite"], {"suite": c["suite"], "checks": 0, "passed": 0, "failed": 0})
            row["checks"] += 1
            row["passed" if c["success"] else "failed"] += 1
        parts.append(
            table(
                [
                    Column("Suite", "suite"),
                    Column("Checks", "checks", "count"),
                    Column("Passed", "passed", "count"),
                    Column("Failed", "failed", "count"),
                ],
                sorted(suites.values(), key=lambda r: r["suite"]),
                caption="Quality checks of the latest run",
            )
        )
        if failed:
            parts.append(
                table(
                    [
                        Column("Suite", "suite"),
                        Column("Check", "expectation"),
                        Column("Severity", "severity"),
                        Column("Unexpected rows", "unexpected_count", "count"),
                        Column("Rows checked", "element_count", "count"),
                    ],
                    failed,
                    caption="Failed checks",
                )
            )
    files = data["files"]
    if files:
        parts.append(
            reading(
                f"{plural(len(files), 'file')} rejected and held in quarantine; their payments are not in "
                "any "
                "figure above until a corrected file is loaded."
            )
        )
        parts.append(
            table(
                [Column("File", "file"), Column("Rejected at", "when"), Column("Problem", "problem")],
                files,
                caption="Quarantined files",
            )
        )
    else:
        parts.append(reading("No file was rejected: nothing is held in quarantine."))
    checks = data["checks"]
    notes = []
    if checks["unknown_payers"]:
        notes.append(
            "payers missing from payers.csv (plan type unknown): "
            + ", ".join(
                f"{p['payer_name'] or p['payer_key']} ({p['payer_key']})" for p in checks["unknown_payers"]
            )
        )
    if checks["expired"]["n"]:
        notes.append(
            f"{plural(checks['expired']['n'], 'adjustment')} used a CARC after its stop date "
            f"({money(checks['expired']['dollars'])})"
        )
    if notes:
        parts.append(reading("Warehouse checks: " + "; ".join(notes) + "."))
    else:
        parts.append(
            reading("Warehouse checks: every payer is listed in payers.csv and no expired CARC was used.")
        )
    return {"parts": [html(p) for p in parts]}
