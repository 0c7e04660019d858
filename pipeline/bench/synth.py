"""Benchmark of the synthetic 835 generator; also prepares the inputs of the parser benchmark.

- ``<workdir>/synth-1m/``: 1,000,000 claims in the default layout (about 4,000 files); target < 2 minutes.
- ``<workdir>/big-1file/``: one single 835 file of at least 500 MB (``files=1``).

Each folder is reused when its truth.json was made with the same parameters (the timing of the run that
made it is kept in ``<workdir>/synth-bench.json``).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from pipeline.bench.figures import Figure
from pipeline.synth import GENERATOR_VERSION, generate

CLAIMS = 1_000_000
TARGET_SECONDS = 120.0
BIG_FILE_BYTES = 500 * 1024 * 1024
SEED = 835


def _existing(out: Path, params: dict) -> dict | None:
    truth = out / "truth.json"
    if not truth.is_file():
        return None
    data = json.loads(truth.read_text(encoding="utf-8"))
    return data if data.get("parameters") == params else None


def _bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in out.glob("*.835"))


def _timed(out: Path, claims: int, files: int | None) -> tuple[dict, float | None]:
    params = {
        "claims": claims,
        "files": files,
        "seed": SEED,
        "start": "2025-01",
        "months": 12,
        "generator_version": GENERATOR_VERSION,
    }
    truth = _existing(out, params)
    if truth is not None:
        return truth, None
    t0 = time.perf_counter()
    truth = generate(out, claims=claims, files=files, seed=SEED)
    return truth, time.perf_counter() - t0


def run(workdir: Path) -> list[Figure]:
    """Generate (or reuse) the two workloads, print claims/s and MB/s; the 1M-claim time against 2 minutes."""
    workdir = Path(workdir)
    record_path = workdir / "synth-bench.json"
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else {}

    out = workdir / "synth-1m"
    truth, seconds = _timed(out, CLAIMS, None)
    size = _bytes(out)
    if seconds is not None:
        record["synth-1m"] = {"seconds": round(seconds, 2), "bytes": size, "claims": truth["claims"]}
    figures: list[Figure] = []
    cached = record.get("synth-1m")
    if cached:
        s = cached["seconds"]
        note = "" if seconds is not None else " (reused folder; timing of the run that made it)"
        figures.append(Figure("synth", "generate 1M claims", s, "s", TARGET_SECONDS, note=note.strip(" ()")))
        print(
            f"synth 1M claims: {s:.1f} s, {CLAIMS / s:,.0f} claims/s, {size / s / 1e6:.1f} MB/s, "
            f"{truth['files']} files, {size / 1e6:.0f} MB{note}"
        )
    else:
        print(f"synth 1M claims: reused {out} ({size / 1e6:.0f} MB); no timing recorded")

    # one big file for the parser benchmark, sized from the bytes per claim just seen
    big_claims = math.ceil(BIG_FILE_BYTES * 1.04 / (size / truth["claims"]) / 1000) * 1000
    big = workdir / "big-1file"
    params_claims = record.get("big-1file", {}).get("claims", big_claims)
    btruth, bseconds = _timed(big, params_claims, 1)
    bsize = _bytes(big)
    if bsize < BIG_FILE_BYTES:  # the claim size changed: make it again, bigger
        btruth, bseconds = _timed(big, math.ceil(params_claims * BIG_FILE_BYTES * 1.04 / bsize), 1)
        bsize = _bytes(big)
    if bseconds is not None:
        record["big-1file"] = {"seconds": round(bseconds, 2), "bytes": bsize, "claims": btruth["claims"]}
    b = record.get("big-1file")
    if b:
        print(
            f"synth one file: {b['claims']:,} claims, {bsize / 1e6:.0f} MB in {b['seconds']:.1f} s "
            f"({b['claims'] / b['seconds']:,.0f} claims/s, {bsize / b['seconds'] / 1e6:.1f} MB/s)"
        )
    record_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return figures
