"""The nightly job (``remit run``): ingest new files, then rebuild the warehouse.

Stages, in order, all under the home's run lock (one run at a time; a second run fails at once):

1. ingest: every settled file of the inbox into the Parquet lake, exactly once (rejected files go to
   ``quarantine/``);
2. build: ``warehouse.duckdb`` rebuilt from the whole lake into a new file that replaces the old one.

Idempotent: with no new files, ingest loads nothing and the build recomputes the same figures from the
same lake. The build runs even when ingest rejected a file, so good files are never held back; the exit
code then is 3.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.home import Home
from pipeline.log import get_logger

EXIT_OK = 0
EXIT_REJECTED = 3

log = get_logger("nightly")


@dataclass
class RunResult:
    """What one nightly run did: the ingest and build results, and the exit code for the scheduler."""

    ingest: object  # pipeline.lake.IngestResult
    build: object  # pipeline.warehouse.BuildResult
    seconds: float

    @property
    def rejected(self) -> int:
        """Number of files ingest rejected (quarantined)."""
        return len(getattr(self.ingest, "rejected", []) or [])

    @property
    def exit_code(self) -> int:
        """0 when everything was loaded, 3 when some input was rejected (the rest was still processed)."""
        return EXIT_REJECTED if self.rejected else EXIT_OK

    def summary(self) -> str:
        """The ingest and build summaries and the overall outcome."""
        outcome = "ok" if self.exit_code == EXIT_OK else f"{self.rejected} file(s) rejected (exit 3)"
        return (
            f"{self.ingest.summary()}\n{self.build.summary()}\nrun finished in {self.seconds:.1f}s: {outcome}"
        )


def run_nightly(home: Home, *, inbox: Path | None = None, workers: int | None = None) -> RunResult:
    """Ingest ``inbox`` (default ``home.inbox``) into the lake, then build the warehouse.

    Holds ``pipeline.lake.run_lock(home)`` for the whole run (ingest and build take it again, re-entrantly),
    so no other ingest or build can interleave. Raises ``LockedError`` when another run holds it.
    """
    from pipeline.lake import ingest, run_lock
    from pipeline.warehouse import build

    started = time.perf_counter()
    home.ensure()
    with run_lock(home):
        ingested = ingest(home, inbox=inbox, workers=workers)  # logs its own summary
        built = build(home)
    result = RunResult(ingest=ingested, build=built, seconds=time.perf_counter() - started)
    log.info(
        "nightly run finished (exit %d)",
        result.exit_code,
        extra={"fields": {"exit_code": result.exit_code, "seconds": round(result.seconds, 2)}},
    )
    return result
