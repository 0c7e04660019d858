"""What a quality run found: one ``Outcome`` per expectation, gathered in a ``QualityReport``.

Plain dataclasses (no Great Expectations import), so the CLI, the nightly job and reports can read a
report without paying GX's import cost. ``write_results`` keeps the history in a DuckDB table
``quality.results``.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

CRITICAL = "critical"
WARNING = "warning"

RESULTS_DDL = """
CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE IF NOT EXISTS quality.results (
    run_id VARCHAR NOT NULL,
    suite VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    success BOOLEAN NOT NULL,
    unexpected_count BIGINT NOT NULL,
    element_count BIGINT,
    sample_ids VARCHAR[],
    file_ids VARCHAR[],
    unexpected_values VARCHAR[],
    checked_at TIMESTAMP NOT NULL
);
"""


@dataclass(frozen=True)
class Outcome:
    """The result of one expectation on one run.

    ``sample_ids`` names up to ``SAMPLE_SIZE`` offending rows by their key (claim_id, line_id, ...),
    ``file_ids`` every file that holds an offending row (all of them, so the caller can quarantine
    exactly those), ``unexpected_values`` the distinct offending values (e.g. unknown CARCs).
    """

    suite: str
    expectation: str
    severity: str
    success: bool
    unexpected_count: int
    element_count: int | None
    sample_ids: tuple[str, ...] = ()
    file_ids: tuple[str, ...] = ()
    unexpected_values: tuple[str, ...] = ()
    description: str = ""
    # rows whose value was missing (null), which a ``mostly`` threshold leaves out of its share
    missing_count: int | None = None

    @property
    def failed_critical(self) -> bool:
        return self.severity == CRITICAL and not self.success

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "expectation": self.expectation,
            "severity": self.severity,
            "success": self.success,
            "unexpected_count": self.unexpected_count,
            "element_count": self.element_count,
            "sample_ids": list(self.sample_ids),
            "file_ids": list(self.file_ids),
            "unexpected_values": list(self.unexpected_values),
            "description": self.description,
        }


@dataclass
class QualityReport:
    """Every outcome of one run, with the verdicts the nightly job acts on."""

    run_id: str
    checked_at: dt.datetime
    outcomes: list[Outcome] = field(default_factory=list)
    docs_index: Path | None = None  # Data Docs index.html, when docs were built
    identifiers: list[Any] = field(default_factory=list, repr=False)  # GX results, for Data Docs

    @property
    def success(self) -> bool:
        """True when no critical expectation failed (warnings do not count)."""
        return not any(o.failed_critical for o in self.outcomes)

    @property
    def failed_critical(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.failed_critical]

    @property
    def warnings(self) -> list[Outcome]:
        """Failed expectations of severity warning: published, but reported."""
        return [o for o in self.outcomes if o.severity == WARNING and not o.success]

    @property
    def failed_critical_file_ids(self) -> set[str]:
        """file_ids holding a row that failed a critical expectation: quarantine these, publish the rest."""
        return {f for o in self.failed_critical for f in o.file_ids}

    def failures_for(self, file_id: str) -> list[Outcome]:
        """The critical failures that name ``file_id`` (what to write beside a quarantined file)."""
        return [o for o in self.failed_critical if file_id in o.file_ids]

    def outcome(self, expectation: str) -> Outcome:
        """The outcome of the expectation named ``expectation`` (KeyError when it was not run)."""
        for o in self.outcomes:
            if o.expectation == expectation:
                return o
        raise KeyError(expectation)

    def merge(self, other: QualityReport) -> QualityReport:
        """A report holding this one's outcomes followed by ``other``'s (same run)."""
        return QualityReport(
            run_id=self.run_id,
            checked_at=self.checked_at,
            outcomes=[*self.outcomes, *other.outcomes],
            docs_index=other.docs_index or self.docs_index,
            identifiers=[*self.identifiers, *other.identifiers],
        )

    def summary(self) -> str:
        """A few human lines: counts, then one line per failed expectation."""
        lines = [
            f"quality {self.run_id}: {len(self.outcomes)} expectations, "
            f"{len(self.failed_critical)} critical failed, {len(self.warnings)} warnings"
        ]
        for o in [*self.failed_critical, *self.warnings]:
            detail = f"{o.unexpected_count} rows"
            if o.unexpected_values:
                detail += f", values {', '.join(o.unexpected_values[:10])}"
            if o.sample_ids:
                detail += f", e.g. {', '.join(o.sample_ids[:3])}"
            if o.file_ids:
                detail += f", {len(o.file_ids)} file(s)"
            lines.append(f"  {o.severity.upper():8} {o.suite}/{o.expectation}: {detail}")
        if self.docs_index:
            lines.append(f"  data docs: {self.docs_index}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "checked_at": self.checked_at.isoformat(),
            "success": self.success,
            "failed_critical_file_ids": sorted(self.failed_critical_file_ids),
            "docs_index": str(self.docs_index) if self.docs_index else None,
            "outcomes": [o.as_dict() for o in self.outcomes],
        }


def write_results(report: QualityReport, con: duckdb.DuckDBPyConnection) -> int:
    """Append the report's outcomes to ``quality.results`` (created when missing); returns rows written.

    Rerunning the same ``run_id`` and suite replaces its earlier rows, so a retried night is not
    counted twice. ``checked_at`` is UTC without a time zone.
    """
    con.execute(RESULTS_DDL)
    suites = sorted({o.suite for o in report.outcomes})
    checked_at = report.checked_at.astimezone(dt.UTC).replace(tzinfo=None)
    rows = [
        (
            report.run_id,
            o.suite,
            o.expectation,
            o.severity,
            o.success,
            o.unexpected_count,
            o.element_count,
            list(o.sample_ids),
            list(o.file_ids),
            list(o.unexpected_values),
            checked_at,
        )
        for o in report.outcomes
    ]
    con.execute("BEGIN TRANSACTION")
    try:
        for suite in suites:
            con.execute("DELETE FROM quality.results WHERE run_id = ? AND suite = ?", [report.run_id, suite])
        if rows:
            con.executemany("INSERT INTO quality.results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(rows)


def _cell(values: tuple[str, ...], limit: int = 8) -> str:
    shown = ", ".join(html.escape(v) for v in values[:limit])
    return shown + (f" … (+{len(values) - limit})" if len(values) > limit else "")


def write_summary(report: QualityReport, folder: Path) -> Path:
    """Write ``latest.html`` (a self-contained page, readable offline) and ``latest.json`` into ``folder``.

    Great Expectations' Data Docs index needs JavaScript from the internet to list its pages; this page
    does not: every expectation of the run with its severity, verdict, counts, offending values, ids
    and files, failures first. Returns the HTML path.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "latest.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    order = sorted(report.outcomes, key=lambda o: (o.success, o.severity != CRITICAL, o.suite, o.expectation))
    rows = []
    for o in order:
        verdict = "pass" if o.success else ("FAIL" if o.severity == CRITICAL else "warn")
        rows.append(
            f'<tr class="{verdict.lower()}"><td>{verdict}</td><td>{html.escape(o.suite)}</td>'
            f"<td><code>{html.escape(o.expectation)}</code><br><small>{html.escape(o.description)}</small></td>"
            f"<td>{o.severity}</td><td>{o.unexpected_count:,}</td>"
            f"<td>{'' if o.element_count is None else f'{o.element_count:,}'}</td>"
            f"<td>{_cell(o.unexpected_values)}</td><td>{_cell(o.sample_ids, 5)}</td>"
            f"<td>{_cell(tuple(f[:12] for f in o.file_ids), 5)}</td></tr>"
        )
    verdict = "passed" if report.success else "FAILED (critical)"
    quarantined = ", ".join(sorted(report.failed_critical_file_ids)) or "none"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>remit quality {html.escape(report.run_id)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 14px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
tr.fail td:first-child {{ background: #f8d0d0; font-weight: bold; }}
tr.warn td:first-child {{ background: #fbeab8; }}
tr.pass td:first-child {{ background: #d8f0d8; }}
small {{ color: #555; }}
</style></head><body>
<h1>Quality checks: {html.escape(report.run_id)}</h1>
<p>Checked at {report.checked_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC. Verdict: <b>{verdict}</b>.
{len(report.outcomes)} expectations, {len(report.failed_critical)} critical failures,
{len(report.warnings)} warnings. Files with a critical failure (quarantined): {html.escape(quarantined)}.</p>
<p>Full results, per suite and run: <a href="index.html">Great Expectations Data Docs</a>.
History: table <code>quality.results</code> in <code>quality_results.duckdb</code>.</p>
<table><thead><tr><th>verdict</th><th>suite</th><th>expectation</th><th>severity</th><th>offending rows</th>
<th>rows checked</th><th>offending values</th><th>sample ids</th><th>files</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""
    path = folder / "latest.html"
    path.write_text(page)
    return path
