"""The leadership report: one self-contained HTML page per period, rendered from a notebook.

``render_report(home, period=..., payer=...)`` runs the package's notebook
``pipeline/reports/notebooks/leadership_report.py`` headless with papermill against
``<home>/warehouse.duckdb`` and writes ``<home>/reports/remit-report-<period>.html``
(code hidden, charts as inline SVG, nothing fetched from another host). ``remit report`` calls it.
Contents and conventions: ``docs/report.md``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pipeline.home import Home
from pipeline.log import get_logger
from pipeline.present.format import month_label
from pipeline.reports.figures import ReportError, Scope, check_month, connect, kpi_period

__all__ = ["ReportError", "render_report", "report_path"]

log = get_logger("report")


def report_path(home: Home, period: str) -> Path:
    """Where the report of ``period`` ('YYYY-MM') goes: ``<home>/reports/remit-report-<period>.html``."""
    return home.reports / f"remit-report-{period}.html"


def render_report(
    home: Home, *, period: str | None = None, payer: str | None = None, kernel: Any = None
) -> Path:
    """Render the leadership report for month ``period`` (with the 12 months ending there) and return the
    HTML file's path.

    Every figure of the page is read from the metrics layer (``marts.report_*`` views, docs/report.md).

    ``period`` is 'YYYY-MM' or 'mtd' (the as-of month to date); by default the latest closed month of the
    warehouse (marts.report_as_of). A month that is not over yet is reported month to date, against the
    same days of the month before. ``payer`` (a ``payer_key``) limits every figure to that payer. The page
    is written atomically. Raises ``ReportError`` when there is no warehouse, no payment in the 12 months,
    or ``period`` is malformed; ``pipeline.settings.SettingError`` for a bad ``<home>/report.toml``.
    ``kernel``: a kernel started ahead (``pipeline.reports.render.started_kernel``), else one is started.
    """
    from pipeline.reports.render import execute, notebook_path, to_html, write_atomic

    started = time.perf_counter()
    from pipeline.reports.settings import load_report_settings

    load_report_settings(home.root)  # a malformed report.toml stops here, before the notebook runs
    if period is not None and period != "mtd":
        check_month(period)
    con = connect(home.warehouse)
    try:
        scope = Scope.make(con, end=period, payer=payer)
        payments = kpi_period(con, scope)["payments"]
    finally:
        con.close()
    if not payments:  # e.g. --period beyond the data: an empty page would only mislead
        who = f" from payer {scope.payer}" if scope.payer else ""
        raise ReportError(f"no payment{who} between {scope.start} and {scope.end}: nothing to report")
    parameters = {
        "period_end": scope.end,
        "payer": scope.payer,
        "warehouse": str(home.warehouse),
        "home": str(home.root),
    }
    nb = execute(notebook_path("leadership_report"), parameters, kernel=kernel)
    title = f"Remittance report, {month_label(scope.end)}" + (" (month to date)" if scope.partial else "")
    if scope.payer:
        title += f" ({scope.payer})"
    # a payer's report gets its own file, so it never overwrites the all-payer report of the month
    name = scope.end if not scope.payer else f"{scope.end}-{_safe(scope.payer)}"
    out = write_atomic(report_path(home, name), to_html(nb, title))
    log.info("report %s written in %.1fs", out, time.perf_counter() - started)
    return out


def _safe(text: str) -> str:
    """A payer key made safe for a file name (letters, digits, '-' and '_' kept)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
