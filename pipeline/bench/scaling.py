"""Scaling benchmark: what a whole night costs as the lake grows (issue 18, goals 1 and 5).

For each lake size (by default 100,000, 1,000,000 and 5,000,000 claims) it generates one workload of the
lake's claims plus a night's (about 10,000 claims in 40 files), then in a fresh home

1. ``remit run`` from empty on the lake's files: the first night (time, peak RSS of the process tree);
2. drops the night's 40 files into the inbox, lets the disk and the load settle, and runs ``remit run``
   again: a night on a full lake, whose build is incremental (pipeline.warehouse.incremental; the note
   says what it touched, or why not).

The night's files are the workload's last 40 by name (the last days of its last month), so they join
episodes the lake already holds, as a real night's remits do. Targets: a night on the 5M lake under 20 s
and 2 GiB for the process tree (goal 1); the other figures draw the curve that docs/benchmarks.md shows.

``python -m pipeline.bench --only scaling`` runs every size; ``python -m pipeline.bench.scaling --sizes
100000 1000000`` runs chosen ones. Workloads are kept in ``<workdir>/scaling-<claims>/`` and reused.

A night alone, on a lake loaded once (a 5M lake takes minutes to load; its night is the figure that
matters): ``--prepare`` ingests the lake's files into ``<workdir>/scaling-home-<claims>/`` and keeps the
home; ``--night-only`` then runs ``remit run --full`` on it with the code at hand (timed apart: the
first night after an upgrade, which rebuilds the warehouse and checks every row), lets the disk and the
load settle (``warehouse.settle``: the full run's warehouse is still being written back), runs the night's
``remit run`` (the figure: a night in a series, checking only what came since the last passing check)
and takes the night's files out again with ``remit lake remove``, so the home is ready for the next
``--night-only`` (e.g. after a change).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

from pipeline.bench.figures import Figure
from pipeline.bench.warehouse import _timed, settle
from pipeline.synth import GENERATOR_VERSION, generate

SIZES = (100_000, 1_000_000, 5_000_000)
NIGHT_FILES = 40
CLAIMS_PER_FILE = 250  # the generator's default layout: a night of 40 files is about 10,000 claims
SEED = 835
NIGHT_TARGET_CLAIMS = 5_000_000  # goal 1 is stated for this lake
NIGHT_LIMIT_SECONDS = 20.0
NIGHT_LIMIT_RSS_BYTES = 2 << 30


def _workload(workdir: Path, lake_claims: int) -> Path:
    """Generate (once) the lake's claims plus a night's, in the default layout of 250 claims a file."""
    claims = lake_claims + NIGHT_FILES * CLAIMS_PER_FILE
    out = workdir / f"scaling-{lake_claims}"
    params = {"claims": claims, "seed": SEED, "generator_version": GENERATOR_VERSION}
    marker = out / "scaling.json"
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == params:
        return out
    print(f"generating {claims:,} claims into {out} (once; reused by later runs)", flush=True)
    t0 = time.perf_counter()
    generate(out, claims=claims, files=claims // CLAIMS_PER_FILE, seed=SEED)
    print(f"  generated in {time.perf_counter() - t0:.0f} s", flush=True)
    marker.write_text(json.dumps(params), encoding="utf-8")
    return out


def _claims_in(home: Path) -> int:
    """Claims the home's lake holds (the files' delimiters vary, so they are counted once parsed)."""
    import duckdb

    from pipeline.home import Home
    from pipeline.lake.views import register_views

    con = duckdb.connect()
    try:
        register_views(con, Home(home).lake)
        return con.execute("SELECT count(*) FROM lake.claims").fetchone()[0]
    finally:
        con.close()


def _drop(files: list[Path], inbox: Path) -> None:
    """Hard-link ``files`` into ``inbox``, their modification time an hour old (settled)."""
    inbox.mkdir(parents=True, exist_ok=True)
    old = time.time() - 3600
    for f in files:
        dest = inbox / f.name
        try:
            os.link(f, dest)
        except OSError:
            shutil.copy(f, dest)
        os.utime(dest, (old, old))


def _build_line(output: str) -> dict:
    """The build's seconds and how it ran (full, or incremental and what the night touched), from the
    summary line ``built <path> in <s>s (<how>): ...`` of ``remit run``."""
    import re

    for line in output.splitlines():
        m = re.match(r"built \S+ in ([0-9.]+)s \((.*?)\): ", line)
        if m:
            return {"seconds": float(m.group(1)), "how": m.group(2)}
    return {"seconds": float("nan"), "how": "no build line"}


def _home(workdir: Path, lake_claims: int) -> tuple[Path, list[Path], list[Path], Path]:
    """The workload's folder, its lake files and night files, and the home the stage uses."""
    workload = _workload(workdir, lake_claims)
    files = sorted(workload.glob("*.835"))
    return workload, files[:-NIGHT_FILES], files[-NIGHT_FILES:], workdir / f"scaling-home-{lake_claims}"


def _fresh_home(workdir: Path, lake_claims: int) -> tuple[Path, list[Path]]:
    """An empty home with the workload's payers.csv and its lake files in the inbox; the home and the
    night's files."""
    workload, lake_files, night_files, home = _home(workdir, lake_claims)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copy(workload / "payers.csv", home / "payers.csv")
    _drop(lake_files, home / "inbox")
    return home, night_files


def _remit(home: Path, *args: str) -> list[str]:
    # -v: each run's log (scaling-<claims>-<label>.log) keeps the time of every step, for docs/benchmarks.md
    return [sys.executable, "-m", "pipeline.cli", "-v", "--home", str(home), *args]


def _run(workdir: Path, home: Path, lake_claims: int, label: str, *args: str) -> dict:
    """``remit <args>`` on ``home``, timed as one process tree; its figures and build line (printed)."""
    load = os.getloadavg()[0]
    code, seconds, peak, cpu, output = _timed(
        [_remit(home, *args)], workdir / f"scaling-{lake_claims}-{label}.log"
    )
    if code != 0:
        print(output)
        raise RuntimeError(
            f"remit {' '.join(args)} ({label}, {lake_claims:,} claims) failed with exit code {code}"
        )
    build = _build_line(output)
    print(
        f"  {lake_claims:,}-claim lake, {label}: {seconds:.1f} s, CPU {cpu:.1f} s, peak RSS "
        f"{peak / 2**30:.2f} GiB, load {load:.1f} at start; {build['how']}",
        flush=True,
    )
    return {"seconds": seconds, "rss": peak, "cpu": cpu, "load": load, "build": build}


def measure(workdir: Path, lake_claims: int) -> dict:
    """The first night and the next night of one lake size; a dict of figures (seconds, bytes)."""
    home, night_files = _fresh_home(workdir, lake_claims)
    settle()  # the first night too: the size before it leaves its warehouse to write back
    got: dict = {"empty": _run(workdir, home, lake_claims, "empty", "run")}
    got["lake_claims"] = _claims_in(home)
    _drop(night_files, home / "inbox")
    settle()
    got["night"] = _run(workdir, home, lake_claims, "night", "run")
    got["night_claims"] = _claims_in(home) - got["lake_claims"]
    shutil.rmtree(home, ignore_errors=True)
    return got


def prepare(workdir: Path, lake_claims: int) -> Path:
    """A home whose lake holds the workload's lake files (``remit ingest``, no build), kept for
    :func:`measure_night`."""
    import subprocess

    home, _night_files = _fresh_home(workdir, lake_claims)
    subprocess.run(_remit(home, "ingest"), check=True)
    return home


def measure_night(workdir: Path, lake_claims: int) -> dict:
    """The night alone on a home left by :func:`prepare`: ``remit run --full`` with this code (timed
    apart), the night's ``remit run``, then the night's files removed again.

    A full run, not a bare ``build --full``: a nightly job's previous night has run the warehouse checks
    and recorded what they passed (``quality.checked_through_entry``), so the measured night checks only
    its own files, as every night after the first does; after a bare build it would test the whole lake.
    """
    import subprocess

    _workload_dir, _lake_files, night_files, home = _home(workdir, lake_claims)
    if not (home / "lake").is_dir():
        raise RuntimeError(f"{home} has no lake: run --prepare for {lake_claims:,} claims first")
    got: dict = {"full": _run(workdir, home, lake_claims, "full", "run", "--full")}
    got["lake_claims"] = _claims_in(home)
    _drop(night_files, home / "inbox")
    settle()
    got["night"] = _run(workdir, home, lake_claims, "night", "run")
    got["night_claims"] = _claims_in(home) - got["lake_claims"]
    for f in night_files:  # the home is ready for the next --night-only
        file_id = hashlib.sha256(f.read_bytes()).hexdigest()
        subprocess.run(_remit(home, "lake", "remove", file_id), check=True, capture_output=True)
    return got


def _size(got: dict) -> str:
    return f"{got['lake_claims'] / 1e6:g}M" if got["lake_claims"] >= 1e6 else f"{got['lake_claims'] // 1000}k"


def night_figures(lake_claims: int, got: dict) -> list[Figure]:
    """The night's two figures; the night on the 5M lake carries goal 1's targets."""
    size = _size(got)
    targeted = lake_claims == NIGHT_TARGET_CLAIMS
    night = got["night"]
    note = (
        f"{got['night_claims']:,} claims in {NIGHT_FILES} files; CPU {night['cpu']:.1f} s; build "
        f"{night['build']['seconds']:.1f} s ({night['build']['how']})"
    )
    return [
        Figure(
            "scaling",
            f"a night on the {size} lake",
            night["seconds"],
            "s",
            NIGHT_LIMIT_SECONDS if targeted else None,
            note=note,
        ),
        Figure(
            "scaling",
            f"a night on the {size} lake, peak RSS",
            night["rss"] / 2**30,
            "GiB",
            NIGHT_LIMIT_RSS_BYTES / 2**30 if targeted else None,
        ),
    ]


def figures(lake_claims: int, got: dict) -> list[Figure]:
    """The four figures of one lake size: the first night's and the next night's."""
    size = _size(got)
    empty = got["empty"]
    return [
        Figure(
            "scaling",
            f"remit run from empty, {size} claims",
            empty["seconds"],
            "s",
            None,
            note=f"CPU {empty['cpu']:.1f} s",
        ),
        Figure("scaling", f"remit run from empty, {size} claims, peak RSS", empty["rss"] / 2**30, "GiB"),
        *night_figures(lake_claims, got),
    ]


def run(workdir: Path, sizes: tuple[int, ...] = SIZES) -> list[Figure]:
    """Every lake size in ``sizes``: the first night and a 10,000-claim night after it."""
    workdir = Path(workdir)
    out: list[Figure] = []
    for lake_claims in sizes:
        out += figures(lake_claims, measure(workdir, lake_claims))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.bench.scaling", description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="lake sizes in claims")
    ap.add_argument("--workdir", type=Path, default=Path("bench-data"))
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--prepare", action="store_true", help="only load each size's lake into a kept home")
    group.add_argument(
        "--night-only", action="store_true", help="only the night, on a home left by --prepare"
    )
    args = ap.parse_args(argv)
    if args.prepare:
        for size in args.sizes:
            print(f"prepared {prepare(args.workdir, size)}", flush=True)
        return 0
    if args.night_only:
        for size in args.sizes:
            got = measure_night(args.workdir, size)
            for figure in night_figures(size, got):
                print(figure.line(), flush=True)
        return 0
    for figure in run(args.workdir, tuple(args.sizes)):
        print(figure.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
