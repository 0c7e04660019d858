"""Data quality gate: Great Expectations suites run before a night is published and after each build.

- ``check_batch(tables, ref_con, run_id=...)``: a night's newly parsed tables; quarantine
  ``report.failed_critical_file_ids``, publish the rest.
- ``check_warehouse(warehouse, run_id=...)``: the marts of a built warehouse.duckdb;
  ``mark_checked(con)`` on a warehouse that passed lets later checks test keyed marts on the rows
  incremental builds replaced since.
- ``run_checks(home)``: both, for ``remit check``; writes Data Docs and ``quality.results``.
- ``BatchGate(home)``: the batch suite as ``pipeline.lake.ingest(home, gate=...)``'s quality gate.
- ``save_report(home, report)``: ``quality.results`` plus ``latest.html``/``latest.json``.
- ``write_results(report, con)``: append outcomes to ``quality.results``.
- ``write_summary(report, folder)``: ``latest.html`` (readable offline) and ``latest.json``.

Great Expectations is imported only when a check runs (it takes seconds to import); importing this
package stays cheap. Suites are code in ``pipeline.quality.suites``; see docs/quality.md.
"""

from pipeline.quality.checks import check_batch, check_warehouse, mark_checked, without_files
from pipeline.quality.gate import BatchGate
from pipeline.quality.report import CRITICAL, WARNING, Outcome, QualityReport, write_results, write_summary
from pipeline.quality.runner import docs_path, results_path, run_checks, save_report

__all__ = [
    "BatchGate",
    "CRITICAL",
    "WARNING",
    "Outcome",
    "QualityReport",
    "check_batch",
    "check_warehouse",
    "mark_checked",
    "docs_path",
    "results_path",
    "run_checks",
    "save_report",
    "without_files",
    "write_results",
    "write_summary",
]
