"""The batch suite as the lake's quality gate: ``ingest(home, gate=BatchGate(home))``.

``pipeline.lake.ingest`` shows its gate the night's parsed tables before it commits anything and
quarantines the files the gate refuses, like parse failures. ``BatchGate`` runs ``check_batch`` on
them and refuses exactly the files holding a row that fails a critical expectation. The report stays
on the gate (``gate.report``) so the nightly job can merge it with the warehouse suite, record it
and set its exit code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from pipeline.home import Home
from pipeline.quality.report import QualityReport

if TYPE_CHECKING:
    from pipeline.quality.engine import QualityContext


def new_run_id() -> str:
    """A run id for a quality run started now (UTC), e.g. ``quality-20260101T020000Z``."""
    return "quality-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


class BatchGate:
    """A callable ``{table: pyarrow.Table} -> {file_id: {"message": ..., "expectations": [...]}}``.

    Data Docs go to ``<home>/reports/quality``; ``context`` is created on first use (GX is imported
    then, not before) and can be reused for the warehouse suite (``gate.context``).
    """

    def __init__(self, home: Home, *, run_id: str | None = None, context: QualityContext | None = None):
        self.home = home
        self.run_id = run_id or new_run_id()
        self._context = context
        self.report: QualityReport | None = None

    @property
    def context(self) -> QualityContext:
        """The GX context (created on first use, with the home's Data Docs folder)."""
        if self._context is None:
            from pipeline.quality.engine import QualityContext
            from pipeline.quality.runner import docs_path

            self._context = QualityContext(docs_path(self.home))
        return self._context

    @property
    def columns(self) -> dict[str, list[str]]:
        """The tables and columns the batch suite reads: the lake shows the gate only these."""
        from pipeline.quality.checks import batch_columns

        return batch_columns()

    def __call__(self, tables: Mapping[str, pa.Table]) -> dict[str, dict[str, Any]]:
        from pipeline.quality.checks import check_batch
        from pipeline.reference import load_reference

        con = duckdb.connect()
        try:
            load_reference(con, self.home)
            report = check_batch(tables, con, run_id=self.run_id, context=self.context)
        finally:
            con.close()
        self.report = report if self.report is None else self.report.merge(report)
        refused: dict[str, dict[str, Any]] = {}
        for file_id in sorted(report.failed_critical_file_ids):
            failures = report.failures_for(file_id)
            names = ", ".join(o.expectation for o in failures)
            refused[file_id] = {
                "message": f"failed critical quality expectation(s): {names}",
                "run_id": self.run_id,
                "expectations": [{**o.as_dict(), "file_ids": [file_id]} for o in failures],
            }
        return refused
