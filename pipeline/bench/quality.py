"""Benchmark of the batch quality suite: one night of 100,000 synthetic claims must be checked in < 30 s.

The night is generated once with ``pipeline.synth.generate`` (kept in ``<workdir>/quality-night`` for
reruns) and parsed with ``parse_835``. Timed: Great Expectations' import and context set-up, then
``check_batch`` (all suites, Data Docs included). The 30 s budget covers both, as a nightly run pays both.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

CLAIMS = 100_000
BUDGET_SECONDS = 30.0


def _night(workdir: Path) -> Path:
    """The synthetic night's folder, generated when missing or made with another claim count."""
    from pipeline.synth import generate

    folder = workdir / "quality-night"
    truth = folder / "truth.json"
    if truth.exists() and json.loads(truth.read_text()).get("claims") == CLAIMS:
        return folder
    generate(folder, claims=CLAIMS, seed=835, start="2025-01", months=1)
    return folder


def _parse(folder: Path) -> dict:
    import pyarrow as pa

    from pipeline.x12 import parse_835

    parsed = [parse_835(p.read_bytes(), p.name) for p in sorted(folder.glob("*.835"))]
    return {name: pa.concat_tables([r.tables()[name] for r in parsed]) for name in parsed[0].tables()}


def run(workdir: Path) -> bool:
    """Generate (once), parse and check a 100,000-claim night; print the figures; True within budget."""
    import duckdb

    from pipeline.quality import check_batch
    from pipeline.reference import load_reference

    folder = _night(Path(workdir))
    tables = _parse(folder)
    rows = {name: t.num_rows for name, t in tables.items()}
    con = duckdb.connect()
    load_reference(con)

    started, cpu_started = time.perf_counter(), time.process_time()
    from pipeline.quality.engine import QualityContext

    context = QualityContext(Path(workdir) / "quality-docs")
    ready, cpu_ready = time.perf_counter(), time.process_time()
    report = check_batch(tables, con, run_id="bench", context=context)
    done, cpu_done = time.perf_counter(), time.process_time()
    con.close()

    setup, check, total = ready - started, done - ready, done - started
    print(f"rows: {', '.join(f'{k} {v:,}' for k, v in rows.items())}")
    print(
        f"GX import + context: {setup:.1f} s; "
        f"check_batch ({len(report.outcomes)} expectations, docs): {check:.1f} s"
    )
    print(f"total {total:.1f} s against a budget of {BUDGET_SECONDS:.0f} s ({total / BUDGET_SECONDS:.0%})")
    # CPU time does not grow when other processes share the cores; wall time does
    print(
        f"CPU time: import + context {cpu_ready - cpu_started:.1f} s, "
        f"check_batch {cpu_done - cpu_ready:.1f} s"
    )
    print(f"critical failures: {len(report.failed_critical)}, warnings: {len(report.warnings)}")
    for o in [*report.failed_critical, *report.warnings]:
        print(
            f"  {o.severity} {o.expectation}: {o.unexpected_count} rows {', '.join(o.unexpected_values[:5])}"
        )
    return total < BUDGET_SECONDS


if __name__ == "__main__":
    sys.exit(0 if run(Path(sys.argv[1] if len(sys.argv) > 1 else "bench-data")) else 1)
