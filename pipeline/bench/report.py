"""Report benchmark: render the leadership report on the 1,000,000-claim benchmark warehouse in under 60 s.

Reuses ``<workdir>/warehouse-home/warehouse.duckdb`` when the warehouse benchmark built it (run
``python -m pipeline.bench --only warehouse report``). Without it, a smaller workload
(``FALLBACK_CLAIMS`` claims) is generated and built under ``<workdir>/report-home`` and the figure printed
says so: that time is not the 1M-claim figure.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from pipeline.bench.figures import Figure

LIMIT_SECONDS = 60.0
FALLBACK_CLAIMS = 100_000
SEED = 835


def _fallback_home(workdir: Path) -> Path:
    """Generate and build a ``FALLBACK_CLAIMS`` warehouse under ``workdir/report-home`` (once)."""
    from pipeline.home import Home
    from pipeline.nightly import run_nightly
    from pipeline.synth import generate

    root = workdir / "report-home"
    if (root / "warehouse.duckdb").exists():
        return root
    synth = workdir / f"synth-{FALLBACK_CLAIMS // 1000}k"
    if not (synth / "truth.json").exists():
        print(f"generating {FALLBACK_CLAIMS:,} claims into {synth}", flush=True)
        generate(synth, claims=FALLBACK_CLAIMS, seed=SEED)
    shutil.rmtree(root, ignore_errors=True)
    home = Home(root).ensure()
    shutil.copy(synth / "payers.csv", root / "payers.csv")
    old = time.time() - 3600
    for f in sorted(synth.glob("*.835")):
        dest = home.inbox / f.name
        shutil.copy(f, dest)
        os.utime(dest, (old, old))
    run_nightly(home)
    return root


def run(workdir: Path) -> list[Figure]:
    """Time ``render_report`` (notebook execution and HTML) on the benchmark warehouse (limit 60 s)."""
    import duckdb

    from pipeline.home import Home
    from pipeline.reports import render_report

    workdir = Path(workdir)
    root = workdir / "warehouse-home"
    if (root / "warehouse.duckdb").exists():
        label = "the warehouse benchmark's warehouse"
    else:
        root = _fallback_home(workdir)
        label = (
            f"a {FALLBACK_CLAIMS:,}-claim warehouse (no 1M-claim warehouse in {workdir / 'warehouse-home'}: "
            "run the warehouse benchmark first for the real figure)"
        )
    home = Home(root)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        claims = con.execute("SELECT count(*) FROM marts.claim_outcomes").fetchone()[0]
    finally:
        con.close()
    t0 = time.perf_counter()
    path = render_report(home)
    seconds = time.perf_counter() - t0
    size = path.stat().st_size
    print(
        f"report on {label}, {claims:,} claims after netting: {seconds:.1f}s (limit {LIMIT_SECONDS:.0f}s), "
        f"{size / 1e3:.0f} kB -> {path}"
    )
    return [Figure("report", f"render_report, {claims:,} claims", seconds, "s", LIMIT_SECONDS)]
