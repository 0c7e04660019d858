"""Spark benchmark: the Spark engine against the local one on the same generated workload (one run each).

``python -m pipeline.bench --only spark`` (or ``python -m pipeline.bench.spark [--claims 20000]
[--master local[2]] [--workdir bench-data/spark]`` for other sizes).

Generates a workload, copies it into two fresh homes (same patient-key secret), then times
``ingest`` (local engine, 2 workers) against ``ingest_spark`` and ``build`` (DuckDB) against
``build_spark``, and checks that both lakes hold the same rows. Throughput is lake rows (all six
tables) per second of wall time; the Spark figures include starting the SparkSession, since a
``remit ingest --engine spark`` run pays it too. The figures are informational: on one small machine
Spark is expected to be slower (it is the path for beyond one machine, docs/spark.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

from pipeline.bench.figures import Figure
from pipeline.home import Home

CLAIMS = 20_000
MASTER = "local[2]"


def _home(root: Path, synth: Path, secret: str) -> Home:
    home = Home(root).ensure()
    home.key_file.write_text(secret)
    shutil.copy(synth / "payers.csv", home.root / "payers.csv")
    old = time.time() - 3600
    for f in sorted(synth.glob("*.835")):
        shutil.copy(f, home.inbox / f.name)
        os.utime(home.inbox / f.name, (old, old))
    return home


def _lake_rows(home: Home) -> int:
    """Rows the lake holds over its tables, from the manifest's per-file counts."""
    from pipeline.lake.state import LOADED_STATUSES, LakeState
    from pipeline.x12.schema import TABLES

    manifest = LakeState.load(home.lake).read_manifest(home.lake).to_pylist()
    return sum(row[f"rows_{t}"] or 0 for row in manifest if row["status"] in LOADED_STATUSES for t in TABLES)


def measure(workdir: Path, claims: int, master: str, seed: int = 835) -> dict[str, object]:
    """Run both engines on one generated workload; return the timings and throughputs."""
    from pipeline.engines.spark import build_spark, ingest_spark, spark_session
    from pipeline.lake import ingest
    from pipeline.synth import generate
    from pipeline.warehouse import build

    shutil.rmtree(workdir, ignore_errors=True)
    synth = workdir / "synth"
    generate(synth, claims=claims, seed=seed, start="2025-01", months=12)
    secret = "6b" * 32
    local, spark_home = _home(workdir / "local", synth, secret), _home(workdir / "spark", synth, secret)
    inbox_bytes = sum(f.stat().st_size for f in synth.glob("*.835"))

    t0 = time.perf_counter()
    ingest(local, workers=2)
    local_ingest = time.perf_counter() - t0
    t0 = time.perf_counter()
    build(local)
    local_build = time.perf_counter() - t0

    t0 = time.perf_counter()
    spark = spark_session(master, app_name="remit-bench")
    spark.sparkContext.setLogLevel("ERROR")
    session_start = time.perf_counter() - t0
    t0 = time.perf_counter()
    ingest_spark(spark_home, spark=spark)
    spark_ingest = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_spark(spark_home, spark=spark)
    spark_build = time.perf_counter() - t0
    spark.stop()

    rows = _lake_rows(local)
    if rows != _lake_rows(spark_home):
        raise RuntimeError("the two lakes differ in row count")
    figures: dict[str, object] = {
        "claims": claims,
        "files": len(list(synth.glob("*.835"))),
        "inbox_mb": round(inbox_bytes / 1e6, 1),
        "lake_rows": rows,
        "cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "master": master,
        "spark_session_start_s": round(session_start, 1),
        "local_ingest_s": round(local_ingest, 1),
        "spark_ingest_s": round(spark_ingest + session_start, 1),
        "local_build_s": round(local_build, 1),
        "spark_build_s": round(spark_build, 1),
    }
    for step in ("ingest", "build"):
        loc, spk = figures[f"local_{step}_s"], figures[f"spark_{step}_s"]
        figures[f"local_{step}_rows_per_s"] = round(rows / loc)
        figures[f"spark_{step}_rows_per_s"] = round(rows / spk)
        figures[f"spark_over_local_{step}"] = round(loc / spk, 2)  # < 1: Spark is slower
    return figures


def run(workdir: Path) -> list[Figure]:
    """Both engines on 20,000 generated claims; raises when the two lakes differ."""
    figures = measure(Path(workdir) / "spark", CLAIMS, MASTER)
    print(json.dumps(figures, indent=1), flush=True)
    out = []
    for step in ("ingest", "build"):
        out.append(
            Figure(
                "spark",
                f"{step}, Spark / local speed ({CLAIMS:,} claims, {MASTER})",
                float(figures[f"spark_over_local_{step}"]),
                "x",
                None,
                note=f"local {figures[f'local_{step}_s']} s, Spark {figures[f'spark_{step}_s']} s",
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.bench.spark", description=__doc__)
    ap.add_argument("--claims", type=int, default=CLAIMS)
    ap.add_argument("--master", default=MASTER)
    ap.add_argument("--workdir", type=Path, default=Path("bench-data/spark"))
    args = ap.parse_args(argv)
    print(json.dumps(measure(args.workdir, args.claims, args.master), indent=1), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
