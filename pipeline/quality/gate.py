"""The batch suite as the lake's quality gate: ``ingest(home, gate=BatchGate(home))``.

``pipeline.lake.ingest`` shows its gate the night's parsed tables before it commits anything and
quarantines the files the gate refuses, like parse failures. ``BatchGate`` runs ``check_batch`` on
them and refuses exactly the files holding a row that fails a critical expectation. The report stays
on the gate (``gate.report``) so the nightly job can merge it with the warehouse suite, record it
and set its exit code.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from pipeline.home import Home
from pipeline.quality.report import Outcome, QualityReport

if TYPE_CHECKING:
    from pipeline.quality.engine import QualityContext


def new_run_id() -> str:
    """A run id for a quality run started now (UTC), e.g. ``quality-20260101T020000Z-3f9a1c``.

    The random tail keeps ids unique when two runs start in the same second or the clock is stepped
    back: ``write_results`` replaces the rows of a repeated id, which would erase the earlier run.
    """
    return "quality-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def combine_outcomes(first: Outcome, then: Outcome) -> Outcome:
    """One expectation's outcome over two batches of the same night, as if checked in one pass.

    Counts add up; offending files are all kept, ids and values up to the engine's sample sizes. A
    ``mostly`` expectation passes when the share of good non-null rows over both batches reaches its
    threshold (GX's rule); any other passes only when both batches passed. Uniqueness holds across
    batches because every key begins with its file's sha256 and a file lies in one batch only.
    """
    from pipeline.quality.engine import SAMPLE_SIZE, VALUES_SIZE
    from pipeline.quality.suites import SUITES

    check = next((c for c in SUITES[first.suite] if c.name == first.expectation), None)
    unexpected = first.unexpected_count + then.unexpected_count
    elements = None
    if first.element_count is not None and then.element_count is not None:
        elements = first.element_count + then.element_count
    missing = None
    if first.missing_count is not None and then.missing_count is not None:
        missing = first.missing_count + then.missing_count
    success = first.success and then.success
    # (an expectation that raised has no counts: it stays failed)
    if check is not None and check.mostly is not None and elements is not None:
        nonnull = elements - (missing or 0)
        success = nonnull == 0 or (nonnull - unexpected) / nonnull >= check.mostly
    return replace(
        first,
        success=success,
        unexpected_count=unexpected,
        element_count=elements,
        missing_count=missing,
        sample_ids=tuple(dict.fromkeys([*first.sample_ids, *then.sample_ids]))[:SAMPLE_SIZE],
        file_ids=tuple(sorted({*first.file_ids, *then.file_ids})),
        unexpected_values=tuple(sorted({*first.unexpected_values, *then.unexpected_values}))[:VALUES_SIZE],
    )


def combine_reports(first: QualityReport, then: QualityReport) -> QualityReport:
    """The batch suite's report over two batches of one night: one outcome per expectation."""
    outcomes = {o.expectation: o for o in first.outcomes}
    for o in then.outcomes:
        outcomes[o.expectation] = (
            combine_outcomes(outcomes[o.expectation], o) if o.expectation in outcomes else o
        )
    return QualityReport(
        run_id=first.run_id,
        checked_at=first.checked_at,
        outcomes=list(outcomes.values()),
        docs_index=then.docs_index or first.docs_index,
        identifiers=[*first.identifiers, *then.identifiers],
    )


class BatchGate:
    """A callable ``{table: pyarrow.Table} -> {file_id: {"message": ..., "expectations": [...]}}``.

    The lake calls it once per commit batch; ``report`` combines the batches' outcomes into one per
    expectation for the whole night. Data Docs go to ``<home>/reports/quality``, a validation page
    per batch, rendered by the call that checked the batch (in the lake's gate thread, while the next
    batch is parsed); :meth:`build_docs`, after the ingest, renders the suite's page and the index.
    ``context`` is created on first use (GX is imported then, not before) and can be reused for the
    warehouse suite (``gate.context``).
    """

    def __init__(self, home: Home, *, run_id: str | None = None, context: QualityContext | None = None):
        self.home = home
        self.run_id = run_id or new_run_id()
        self._context = context
        self.report: QualityReport | None = None
        self._ref_con: duckdb.DuckDBPyConnection | None = None  # the reference tables, for code lists
        self._rendered: set[Any] = set()  # result identifiers whose validation page is rendered

    def _reference(self) -> duckdb.DuckDBPyConnection:
        """A connection holding the reference tables (for the code lists), loaded once per night."""
        if self._ref_con is None:
            from pipeline.reference import load_reference

            con = duckdb.connect()
            load_reference(con, self.home)
            self._ref_con = con
        return self._ref_con

    @property
    def context(self) -> QualityContext:
        """The GX context (created on first use, with the home's Data Docs folder)."""
        if self._context is None:
            from pipeline.quality.engine import QualityContext
            from pipeline.quality.runner import docs_path

            self._context = QualityContext(docs_path(self.home))
        return self._context

    def prepare(self) -> None:
        """Create the GX context (GX's import) and load the reference tables now; the lake calls this
        on its gate thread when the parsing starts, so that the first batch does not wait for them."""
        _ = self.context
        self._reference()

    @property
    def columns(self) -> dict[str, list[str]]:
        """The tables and columns the batch suite reads: the lake shows the gate only these."""
        from pipeline.quality.checks import batch_columns

        return batch_columns()

    def build_docs(self) -> Path | None:
        """Render the Data Docs pages of every batch checked so far not rendered yet (each batch's page is
        rendered by the call that checked it), the suite's page and the site index."""
        if self.report is None:
            return None
        self.report.docs_index = self.context.build_docs(self.report.identifiers, rendered=self._rendered)
        return self.report.docs_index

    def __call__(self, tables: Mapping[str, pa.Table]) -> dict[str, dict[str, Any]]:
        from pipeline.quality.checks import check_batch
        from pipeline.quality.engine import free_validation_cycles

        context = self.context
        report = check_batch(tables, self._reference(), run_id=self.run_id, context=context, build_docs=False)
        self.report = report if self.report is None else combine_reports(self.report, report)
        # the batch's validation page now, on the lake's gate thread while the next batch is parsed
        context.render_pages(report.identifiers)
        self._rendered.update(report.identifiers)
        free_validation_cycles()  # the batch's tables with them, while the next batch is parsed
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
