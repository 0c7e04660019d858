"""Quality gate benchmark: what the Great Expectations batch suite costs inside an ingest, per million claims.

The generated year of 1,000,000 claims (about 4,000 files; ``<workdir>/synth-1m``, the one the synth and
warehouse stages use) is ingested into a fresh home through ``BatchGate`` exactly as ``remit run`` does
it: the lake's commit batches (1,000 files each) gated before they are committed (on the lake's gate
thread, while the next batch parses; each batch's Data Docs page rendered there), then the night's suite
page and index. GX's import and context (a fixed cost of each night, which ``remit run`` pays on its
gate thread while the inbox is read) are timed apart, before the ingest. Timed: the ingest's ``gate``
phase (the wall time the ingest waited for the gate) plus the Data Docs after it, per million claims;
target 6 s (issue 18, goal 2). The gate's own CPU time (its thread) is printed beside it. Every file
must pass: the workload is clean.

Until 7 Dec 2026 this stage ingested 200,000 claims in 800 files and multiplied by five: that scaled
the gate's fixed cost per call and the last batch's wait (the only one no parsing overlaps) with the
claims, and so depended on how 800 files fell into batches (one batch of 800: 8.2–8.7 s per million;
two of 500 and 300: 3.8–6.4 s, for the same code). A million claims is measured as it is.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pyarrow as pa

from pipeline.bench.figures import Figure
from pipeline.bench.warehouse import _workload, settle

TARGET_SECONDS_PER_MILLION = 6.0


class _Timed:
    """A gate wrapper adding up the CPU time of the thread that runs it (GX runs in the caller's thread)."""

    def __init__(self, gate: Callable[[Mapping[str, pa.Table]], dict]) -> None:
        self.gate, self.cpu, self.calls = gate, 0.0, 0
        self.columns = gate.columns  # the lake shows the gate only these tables and columns

    def __call__(self, tables: Mapping[str, pa.Table]) -> dict:
        started = time.thread_time()
        try:
            return self.gate(tables)
        finally:
            self.cpu += time.thread_time() - started
            self.calls += 1


def measure(workdir: Path, synth: Path | None = None, *, wait_for_quiet: bool = True) -> dict[str, float]:
    """Ingest the workload (``synth``: a ``pipeline.synth`` folder; default the year of 1M claims) into a
    fresh home through the gate, after the machine is quiet (``settle``); the figures as a dict."""
    from pipeline.home import Home
    from pipeline.lake import ingest
    from pipeline.quality import BatchGate

    synth = synth or _workload(Path(workdir))
    root = Path(workdir) / "gate-home"
    shutil.rmtree(root, ignore_errors=True)
    home = Home(root).ensure()
    shutil.copy(synth / "payers.csv", root / "payers.csv")
    for f in sorted(synth.glob("*.835")):
        try:
            os.link(f, home.inbox / f.name)  # hard links: nothing to write back during the ingest
        except OSError:
            shutil.copy(f, home.inbox / f.name)
    claims = json.loads((synth / "truth.json").read_text())["claims"]
    if wait_for_quiet:
        settle()  # as every timed night of the bench: not while the stage before still writes back

    gate = BatchGate(home)
    timed = _Timed(gate)
    started, cpu = time.perf_counter(), time.thread_time()
    _ = gate.context  # GX's import and context: once a night, whatever its size
    setup, setup_cpu = time.perf_counter() - started, time.thread_time() - cpu
    started = time.perf_counter()
    result = ingest(home, gate=timed, settle_seconds=0)
    ingested = time.perf_counter()
    gate.build_docs()
    docs = time.perf_counter() - ingested
    if result.rejected:
        raise RuntimeError(f"the gate refused {len(result.rejected)} file(s) of a clean workload")
    shutil.rmtree(root, ignore_errors=True)
    gate_seconds = result.phase_seconds["gate"] + docs
    return {
        "claims": claims,
        "files": len(result.loaded),
        "batches": timed.calls,
        "setup_s": setup,
        "setup_cpu_s": setup_cpu,
        "ingest_s": ingested - started,
        "gate_phase_s": result.phase_seconds["gate"],
        "docs_s": docs,
        "gate_cpu_s": timed.cpu,
        "per_million_s": gate_seconds / claims * 1e6,
        "cpu_per_million_s": timed.cpu / claims * 1e6,
    }


def run(workdir: Path) -> list[Figure]:
    """Measure the gate in an ingest of the workload; print the details; the per-million figures."""
    got = measure(Path(workdir))
    print(
        f"{got['claims']:,} claims in {got['files']} files, {got['batches']} gate calls "
        f"({os.cpu_count()} cores): ingest {got['ingest_s']:.1f} s, of which the gate held it "
        f"{got['gate_phase_s']:.1f} s; Data Docs {got['docs_s']:.1f} s; the gate's own CPU "
        f"{got['gate_cpu_s']:.1f} s (its thread); GX's import and context before the ingest "
        f"{got['setup_s']:.1f} s ({got['setup_cpu_s']:.1f} s CPU)",
        flush=True,
    )
    return [
        Figure(
            "quality",
            "gate (held the ingest + Data Docs) per million claims",
            got["per_million_s"],
            "s",
            TARGET_SECONDS_PER_MILLION,
        ),
        Figure("quality", "gate CPU (its thread) per million claims", got["cpu_per_million_s"], "s", None),
        Figure("quality", "GX import and context, once a night", got["setup_s"], "s", None),
    ]
