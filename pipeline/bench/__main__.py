"""Run every stage benchmark that exists, in data-flow order, and print their figures."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

STAGES = ["synth", "parser", "warehouse", "quality", "report"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__)
    ap.add_argument(
        "--workdir", type=Path, default=Path("bench-data"), help="scratch folder (kept for reruns)"
    )
    ap.add_argument("--only", nargs="*", choices=STAGES, help="run only these stages")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for stage in args.only or STAGES:
        try:
            module = importlib.import_module(f"pipeline.bench.{stage}")
        except ModuleNotFoundError:
            continue
        print(f"== {stage} ==", flush=True)
        ok = module.run(args.workdir)
        failed += 0 if ok is not False else 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
