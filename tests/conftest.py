"""Fixtures shared by every test module."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (CARC/RARC snapshots, public sample 835s); skips where a clone lacks it."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (a user's own clone): tests on shared reference data skip")
    return SHARED


@pytest.fixture()
def home(tmp_path: Path):
    """A fresh remit home directory."""
    from pipeline.home import Home

    return Home(tmp_path / "home").ensure()


@pytest.fixture(scope="session", autouse=True)
def _parser_core_loaded() -> None:
    """Load the parser's compiled (numba) core before any test runs: on a fresh checkout that compiles
    it once (15–25 s, one xdist worker at a time, the others then load the cache), which must not count
    against the time budgets of tests such as the bad-input corpus."""
    from pipeline.x12 import warm_up

    warm_up()


def run_generated(root: Path, **workload):
    """Generate a workload (``pipeline.synth.generate`` arguments) under ``root/synth``, drop its files into
    a new home's inbox as finished transfers, and run the nightly job without the report.

    Returns ``(home, synth folder, RunResult)``.
    """
    import os
    import shutil
    import time

    from pipeline.home import Home
    from pipeline.nightly import run_nightly
    from pipeline.synth import generate

    out = root / "synth"
    generate(out, **workload)
    home = Home(root / "home").ensure()
    shutil.copy(out / "payers.csv", home.root / "payers.csv")
    old = time.time() - 3600  # older than the settle time
    for f in sorted(out.glob("*.835")):
        shutil.copy(f, home.inbox / f.name)
        os.utime(home.inbox / f.name, (old, old))
    return home, out, run_nightly(home, workers=1, report=False)
