"""Fixtures shared by every test module."""

from __future__ import annotations

import os
import shutil
import subprocess
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


def spark_missing() -> str | None:
    """Why Spark tests cannot run here, or None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (uv sync --extra spark)"
    java_home = os.path.join(os.environ.get("JAVA_HOME", ""), "bin")
    java = shutil.which("java", path=java_home) or shutil.which("java")
    if java is None:
        return "Java is not installed (Spark needs Java 17+)"
    try:
        subprocess.run([java, "-version"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"java -version failed: {exc}"
    return None


@pytest.fixture(scope="session")
def spark():
    """One SparkSession for every Spark test of an xdist worker (local[2], no UI, 2 shuffle partitions).

    Tests that use it are marked ``xdist_group("spark")`` so one worker starts one JVM for all of them.
    Whole-stage code generation is off in this session only: the tests compare results (which Spark
    computes the same either way) on a few hundred rows, where compiling Java for each of ~80 queries
    cost half the JVM's CPU of a build (measured 2026-12-06: 81 s vs 156 s for the first build).
    """
    reason = spark_missing()
    if reason:
        pytest.skip(reason)
    from pipeline.engines.spark import spark_session

    session = spark_session("local[2]", app_name="remit-tests")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    session.conf.set("spark.sql.codegen.wholeStage", "false")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


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
