"""Run every stage benchmark, in data-flow order, and print each figure with its target and the ratio.

``python -m pipeline.bench [--only STAGE ...] [--workdir bench-data] [--baseline-remit PATH]
[--baseline-parser REF]``
(``make bench`` runs them all; see docs/benchmarks.md). Every stage module is imported before anything
runs: a missing one stops the run with an error naming it (exit 2), never a silent skip. A stage that
raises is reported and counted as failed; the exit code is 1 when a stage failed or a target was missed.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

from pipeline.bench import parser as parser_stage
from pipeline.bench.figures import Figure, load_average, table

# pipeline.bench.<stage>, each with run(workdir) -> list[Figure], in data-flow order
STAGES = ["synth", "parser", "lake", "quality", "warehouse", "report", "spark", "scaling"]


def load_stages(names: list[str]) -> dict[str, ModuleType]:
    """Import every named stage module; raise ``SystemExit(2)`` naming those that cannot be imported."""
    modules: dict[str, ModuleType] = {}
    missing: list[str] = []
    for stage in names:
        try:
            modules[stage] = importlib.import_module(f"pipeline.bench.{stage}")
        except ImportError as exc:
            missing.append(f"pipeline.bench.{stage} ({exc})")
            continue
        if not callable(getattr(modules[stage], "run", None)):
            missing.append(f"pipeline.bench.{stage} (it has no run(workdir) function)")
    if missing:
        print(f"bench: cannot run: {'; '.join(missing)}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    return modules


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__)
    ap.add_argument(
        "--workdir", type=Path, default=Path("bench-data"), help="scratch folder (kept for reruns)"
    )
    ap.add_argument("--only", nargs="*", choices=STAGES, help="run only these stages")
    ap.add_argument(
        "--baseline-remit",
        metavar="PATH",
        help="another checkout's remit executable: the warehouse stage alternates its build with ours on "
        "the same lake and reports the ratio",
    )
    ap.add_argument(
        "--baseline-parser",
        metavar="REF",
        default=parser_stage.PARSER_BASELINE,
        help="the parser to compare parse_835 with, on the same file in the same run: another checkout's "
        "Python executable, or a git revision of this repository (default %(default)s, the parser before "
        "issue 15; 'none' to skip)",
    )
    args = ap.parse_args(argv)
    modules = load_stages(args.only or STAGES)
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"bench: stages {', '.join(modules)}; {load_average()}", flush=True)
    figures: list[Figure] = []
    failed: list[str] = []
    for stage, module in modules.items():
        print(f"== {stage} == ({load_average()})", flush=True)
        started = time.perf_counter()
        try:
            options = {}
            parameters = inspect.signature(module.run).parameters
            for option in ("baseline_remit", "baseline_parser"):
                if getattr(args, option) and option in parameters:
                    options[option] = getattr(args, option)
            got = list(module.run(args.workdir, **options))
        except Exception:  # noqa: BLE001 - one broken stage must not hide the others' figures
            traceback.print_exc()
            print(f"bench: stage {stage} FAILED", flush=True)
            failed.append(stage)
            continue
        for figure in got:
            print(figure.line(), flush=True)
        figures.extend(got)
        print(f"({stage}: {time.perf_counter() - started:.0f} s)", flush=True)
    print(f"== summary == ({load_average()})")
    print(table(figures))
    if failed:
        print(f"stages that failed: {', '.join(failed)}")
    missed = any(f.met is False for f in figures)
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
