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
