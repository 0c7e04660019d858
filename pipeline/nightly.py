"""The nightly job (``remit run``): ingest new files, then rebuild the warehouse.

Stages, in order, all under the home's run lock (one run at a time; a second run fails at once):

1. ingest: every settled file of the inbox into the Parquet lake, exactly once. Files that fail to parse,
   or whose rows fail a *critical* expectation of the batch quality suite, go to ``quarantine/``;
2. build: ``warehouse.duckdb`` rebuilt from the whole lake into a new file. Before that file replaces
   the old one, the warehouse quality suite runs on it; the night's results (batch and warehouse suites)
   are recorded in ``quality.results`` (history file and the new warehouse) and Data Docs. A critical
   warehouse failure (marts that do not reconcile with the lake) keeps the old warehouse published and
   ends the run with exit 1;
3. report: the leadership report for the latest month and the denial-code handbook, from the new
   warehouse. Any report or handbook failure is logged with its message, never fatal (the data is
   already published).

Idempotent: with no new files, ingest loads nothing and the build recomputes the same figures from the
same lake. The build runs even when ingest rejected a file, so good files are never held back; the exit
code then is 3.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.home import Home
from pipeline.log import get_logger, timed

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_REJECTED = 3

log = get_logger("nightly")


@dataclass
class RunResult:
    """What one nightly run did: the ingest and build results, and the exit code for the scheduler."""

    ingest: object  # pipeline.lake.IngestResult
    build: object | None  # pipeline.warehouse.BuildResult; None when the quality gate kept the old one
    seconds: float
    quality: object | None = None  # pipeline.quality.QualityReport of the night (batch + warehouse)
    report_path: Path | None = None  # the leadership report written, if any
    handbook_path: Path | None = None
    warehouse_failed: str | None = None  # why the new warehouse was not published
    nothing_loaded: str | None = None  # the lake holds no file yet (a new home): what to do to start

    @property
    def rejected(self) -> int:
        """Number of files ingest rejected (quarantined)."""
        return len(getattr(self.ingest, "rejected", []) or [])

    @property
    def exit_code(self) -> int:
        """0 all good; 3 some input rejected (the rest published); 1 the warehouse was not published."""
        if self.warehouse_failed:
            return EXIT_FATAL
        return EXIT_REJECTED if self.rejected else EXIT_OK

    def summary(self) -> str:
        """The ingest, quality, build and report summaries and the overall outcome."""
        lines = [self.ingest.summary()]
        if self.quality is not None:
            lines.append(self.quality.summary())
        if self.build is not None:
            lines.append(self.build.summary())
        if self.warehouse_failed:
            lines.append(f"warehouse NOT published (the previous one stays): {self.warehouse_failed}")
        if self.nothing_loaded:
            lines.append(self.nothing_loaded)
        if self.report_path:
            lines.append(f"report: {self.report_path}")
        if self.handbook_path:
            lines.append(f"handbook: {self.handbook_path}")
        if self.nothing_loaded:
            outcome = f"nothing to build yet (exit {self.exit_code})"
        elif self.exit_code == EXIT_OK:
            outcome = "ok"
        elif self.exit_code == EXIT_REJECTED:
            outcome = f"{self.rejected} file(s) rejected (exit 3)"
        else:
            outcome = "warehouse quality gate failed (exit 1)"
        lines.append(f"run finished in {self.seconds:.1f}s: {outcome}")
        return "\n".join(lines)


class WarehouseGateError(RuntimeError):
    """The new warehouse failed a critical expectation of the warehouse suite: it is not published."""


def run_nightly(
    home: Home,
    *,
    inbox: Path | None = None,
    workers: int | None = None,
    report: bool = True,
    full: bool = False,
) -> RunResult:
    """Ingest ``inbox`` (default ``home.inbox``) through the quality gate, build, check, publish, report.

    Holds ``pipeline.lake.run_lock(home)`` for the whole run (ingest and build take it again, re-entrantly),
    so no other ingest or build can interleave. Raises ``LockedError`` when another run holds it.
    ``report=False`` skips the leadership report and handbook (tests, or a night without readers).
    The build is incremental when it can be (``pipeline.warehouse.incremental``); ``full=True`` rebuilds
    every model from the whole lake.
    """
    from pipeline.lake import connect_warehouse, ingest, run_lock
    from pipeline.quality import (
        CRITICAL,
        BatchGate,
        check_warehouse,
        mark_checked,
        save_report,
        write_results,
    )
    from pipeline.warehouse import CopyAhead, build

    started = time.perf_counter()
    home.ensure()
    gate = BatchGate(home)
    night: dict[str, object] = {}

    def verify(new_warehouse: Path) -> None:
        """Warehouse suite on the unpublished file; record the night's results in history and in it."""
        if report and "kernel" not in night:
            # the report's kernel starts (a second interpreter importing for seconds) while a core is
            # free: the checks use about one
            night["kernel"] = _start_report_kernel(stack)
        checked = check_warehouse(new_warehouse, run_id=gate.run_id, context=gate.context)
        merged = gate.report.merge(checked) if gate.report is not None else checked
        night["quality"] = merged
        save_report(home, merged)
        with connect_warehouse(new_warehouse, read_only=False) as con:
            write_results(merged, con)
            if checked.success:  # the next night's check tests keyed marts on the rows it replaces
                mark_checked(con)
        if not checked.success:
            failed = ", ".join(
                o.expectation for o in checked.outcomes if o.severity == CRITICAL and not o.success
            )
            raise WarehouseGateError(f"critical warehouse expectation(s) failed: {failed}")

    with run_lock(home), contextlib.ExitStack() as stack:
        # the published warehouse is copied for the night's build while the ingest runs (a core is free)
        ahead = None if full or not home.warehouse.is_file() else CopyAhead(home.warehouse)
        if ahead is not None:
            stack.callback(ahead.discard)
        ingested = ingest(home, inbox=inbox, workers=workers, gate=gate)  # logs its own summary
        gate.build_docs()  # the suite page and the index (each batch page came with its gate call)
        result = RunResult(ingest=ingested, build=None, seconds=0.0)
        if not getattr(ingested, "lake_files", 1):  # a new home: no warehouse to build, check or report
            result.nothing_loaded = _nothing_loaded(home, inbox or home.inbox, ingested)
            result.seconds = time.perf_counter() - started
            log.warning("%s", result.nothing_loaded, extra={"fields": {"exit_code": result.exit_code}})
            return result
        if getattr(ingested, "parsed_bytes", HAND_BACK_MIN_BYTES) >= HAND_BACK_MIN_BYTES:
            _hand_back_memory()
        if report:
            _warm_report_page()
        try:
            result.build = build(home, before_publish=verify, full=full, ahead=ahead)
        except WarehouseGateError as exc:
            result.warehouse_failed = str(exc)
            log.error("%s; the previous warehouse stays published", exc)
        result.quality = night.get("quality")
        if report and result.build is not None:
            try:
                result.report_path, result.handbook_path = _render_reports(home, night.get("kernel"))
            except Exception as exc:  # noqa: BLE001 - e.g. the report machinery fails to import
                log.warning("report and handbook skipped: %s: %s", type(exc).__name__, exc)
    result.seconds = time.perf_counter() - started
    log.info(
        "nightly run finished (exit %d)",
        result.exit_code,
        extra={"fields": {"exit_code": result.exit_code, "seconds": round(result.seconds, 2)}},
    )
    return result


# An ingest that parsed less than this leaves too little freed memory to be worth handing back: the
# collection alone takes 0.15 s once GX is imported (a 40-file night parses 5 MB)
HAND_BACK_MIN_BYTES = 64 << 20


def _hand_back_memory() -> None:
    """Give what the ingest freed back to the system before the build.

    DuckDB allocates with an allocator of its own, so memory that Arrow's pool and the C heap keep for
    reuse (the parser keeps up to 512 MiB, ``pipeline.x12.parser._keep_freed_memory``) would only add
    to the night's peak: after a 1M-claim ingest the process held 1,059 MiB, 406 MiB after this, and
    the peak of ``remit run`` from empty fell from 2.38–2.43 to 2.25–2.29 GiB (three runs each).
    """
    import ctypes
    import gc
    import sys

    import pyarrow as pa

    with timed(log, "handed the ingest's freed memory back"):
        # the young generations only: the gate frees the cycles that held the batches' tables when each
        # call returns (quality.engine.free_validation_cycles); a full collection here found none and
        # took 0.1-0.35 s of the night's main thread walking Great Expectations' objects
        gc.collect(1)
        pa.default_memory_pool().release_unused()
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):  # glibc only (musl has no malloc_trim)
                ctypes.CDLL(None).malloc_trim(0)


def _nothing_loaded(home: Home, inbox: Path, ingested: object) -> str:
    """What a run that found the lake empty tells the operator: why nothing was built, and how to start."""
    waiting = len(getattr(ingested, "skipped", []) or [])
    rejected = len(getattr(ingested, "rejected", []) or [])
    if rejected:
        why = f"{rejected} file(s) were rejected (see {home.quarantine}) and no file is loaded yet"
    elif waiting:
        why = f"{waiting} file(s) in {inbox} are still being written (left for the next run), none is loaded"
    else:
        why = f"the inbox {inbox} is empty and no file is loaded yet"
    return (
        f"nothing to build: {why}. To start, put 835 files into {inbox}/ (loaded once unchanged for a few "
        "seconds; names ending .part or .tmp wait) and run `remit run` again; no warehouse was written"
    )


def _warm_report_page() -> None:
    """Load the report page's machinery (``pipeline.reports.render.warm_up``) on a thread: the build is
    DuckDB's work, which leaves Python's lock free, and the page is then written 0.45 s sooner after it."""
    import threading

    def warm() -> None:
        try:
            from pipeline.reports.render import warm_up

            warm_up()
        except Exception as exc:  # noqa: BLE001 - the report itself says what is wrong, if anything
            log.debug("report page not warmed up: %s: %s", type(exc).__name__, exc)

    threading.Thread(target=warm, name="remit-warm-report", daemon=True).start()


def _start_report_kernel(stack: contextlib.ExitStack) -> object | None:
    """The report's kernel, starting now, shut down when ``stack`` closes; None when it cannot start (the
    report then starts its own, and says why that fails)."""
    try:
        from pipeline.reports.render import started_kernel

        return stack.enter_context(started_kernel())
    except Exception as exc:  # noqa: BLE001 - e.g. the report machinery fails to import
        log.debug("report kernel not started ahead: %s: %s", type(exc).__name__, exc)
        return None


def _render_reports(home: Home, kernel: object = None) -> tuple[Path | None, Path | None]:
    """The leadership report (latest month) and the handbook; failures are logged, never fatal.

    The report's notebook runs in a kernel process (``kernel``, started ahead, or its own), so the
    handbook is written meanwhile.
    """
    from concurrent.futures import ThreadPoolExecutor

    from pipeline.handbook import render_handbook
    from pipeline.reports import ReportError, render_report

    report_path = handbook_path = None
    # The data is published by now: whatever breaks a page (a missing mart, a DuckDB I/O error, a kernel
    # that dies) is logged with its message and the night goes on.
    with ThreadPoolExecutor(1) as pool:
        report = pool.submit(render_report, home, kernel=kernel)
        try:
            handbook_path = render_handbook(home)
        except Exception as exc:  # noqa: BLE001
            log.warning("handbook skipped: %s: %s", type(exc).__name__, exc)
        try:
            report_path = report.result()
        except ReportError as exc:
            log.warning("report skipped: %s", exc)
        except Exception as exc:  # noqa: BLE001
            log.warning("report skipped: %s: %s", type(exc).__name__, exc)
    return report_path, handbook_path
