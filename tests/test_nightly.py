"""``remit run``: ingest then build under one lock; exit 3 on a rejected file, after still building."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil

import duckdb
from test_warehouse import FILE_FEB, FILE_JAN, FIXTURE_DIR, snapshot, stage

from pipeline.cli import main
from pipeline.home import Home
from pipeline.nightly import run_nightly


def test_rejected_file_gives_exit_3_and_the_rest_is_built(tmp_path, capsys):
    home = Home(tmp_path / "home").ensure()
    shutil.copy(FIXTURE_DIR / "payers.csv", home.root / "payers.csv")
    stage(FIXTURE_DIR / FILE_JAN, home.inbox)
    bad = tmp_path / "garbage.835"
    bad.write_text("ISA*this is not an interchange~")
    stage(bad, home.inbox)

    rc = main(["--home", str(home.root), "run"])
    out = capsys.readouterr().out
    assert rc == 3
    assert "1 rejected" in out and "built" in out
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        # January's three payments were built despite the rejected file: A1, B1, C1, D1, E1, F1
        assert con.execute("SELECT count(*) FROM marts.claim_outcomes").fetchone()[0] == 6
        # the night's quality results were recorded inside the published warehouse, both suites
        suites = {r[0] for r in con.execute("SELECT DISTINCT suite FROM quality.results").fetchall()}
        assert any(s.startswith("batch") for s in suites) and any(s.startswith("warehouse") for s in suites)
    finally:
        con.close()
    # the run rendered the leadership report for the latest month (January 2025) and the handbook
    assert (home.reports / "remit-report-2025-01.html").is_file()
    assert (home.reports / "handbook" / "index.html").is_file()
    assert (home.reports / "quality" / "latest.html").is_file()
    first = snapshot(home.warehouse)

    # the bad file is quarantined: a second run sees nothing new, exits 0 and changes no figure
    again = run_nightly(home, workers=1, report=False)
    assert again.exit_code == 0
    assert snapshot(home.warehouse) == first
    assert "ok" in again.summary()


def test_a_second_run_is_refused_while_one_holds_the_lock(tmp_path):
    import subprocess
    import sys

    import pytest

    from pipeline.lake import LockedError

    home = Home(tmp_path / "home").ensure()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from pipeline.home import Home\n"
            "from pipeline.lake import run_lock\n"
            f"with run_lock(Home(Path({str(home.root)!r}))):\n"
            "    print('locked', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError):
            run_nightly(home, workers=1, report=False)
        assert not home.warehouse.exists()  # nothing was built
    finally:
        holder.kill()
        holder.wait()


def test_a_critical_warehouse_failure_keeps_the_previous_warehouse(tmp_path, monkeypatch):
    """The warehouse suite runs on the unpublished file: a critical failure publishes nothing, exit 1."""
    import pipeline.quality as quality
    from pipeline.quality import CRITICAL, Outcome, QualityReport

    home = Home(tmp_path / "home").ensure()
    shutil.copy(FIXTURE_DIR / "payers.csv", home.root / "payers.csv")
    stage(FIXTURE_DIR / FILE_JAN, home.inbox)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    published = snapshot(home.warehouse)

    def failing_check(path, *, run_id, context=None):
        assert path != home.warehouse  # checked before it replaces the published file
        outcome = Outcome("warehouse_critical", "dollars_reconcile_with_lake", CRITICAL, False, 1, 4)
        return QualityReport(run_id=run_id, checked_at=dt.datetime.now(dt.UTC), outcomes=[outcome])

    monkeypatch.setattr(quality, "check_warehouse", failing_check)
    stage(FIXTURE_DIR / FILE_FEB, home.inbox)
    result = run_nightly(home, workers=1, report=False)
    assert result.exit_code == 1
    assert "dollars_reconcile_with_lake" in result.summary()
    assert snapshot(home.warehouse) == published  # February is in the lake, not yet in the published marts
    assert not list(home.root.glob("warehouse.duckdb.building-*"))


def _two_nights(tmp_path, monkeypatch):
    """A home whose first night (January) is published, with February staged for the second night; and
    every CopyAhead the second night makes (recorded, so a test can see what became of it). Any scope
    stays incremental (the fixture's nights touch most of its few claims)."""
    import pipeline.warehouse as warehouse

    monkeypatch.setattr("pipeline.warehouse.incremental.MAX_SCOPE_SHARE", 1.0)
    home = Home(tmp_path / "home").ensure()
    shutil.copy(FIXTURE_DIR / "payers.csv", home.root / "payers.csv")
    stage(FIXTURE_DIR / FILE_JAN, home.inbox)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    stage(FIXTURE_DIR / FILE_FEB, home.inbox)
    made = []

    class Recorded(warehouse.CopyAhead):
        def __init__(self, target):
            super().__init__(target)
            made.append(self)

    monkeypatch.setattr(warehouse, "CopyAhead", Recorded)
    return home, made


def test_the_night_builds_on_the_copy_made_during_its_ingest(tmp_path, monkeypatch, caplog):
    """remit run copies the published warehouse while the ingest runs; the build takes that copy, and
    the night's marts equal a full build's."""
    home, made = _two_nights(tmp_path, monkeypatch)
    with caplog.at_level("DEBUG", logger="remit"):
        result = run_nightly(home, workers=1, report=False)
    assert result.exit_code == 0 and result.build.mode == "incremental"
    assert len(made) == 1 and "took the copy of the published warehouse made ahead" in caplog.text
    assert "copied the published warehouse" not in caplog.text
    assert not list(home.root.glob("warehouse.duckdb.building-*"))
    night = snapshot(home.warehouse)
    assert run_nightly(home, workers=1, report=False, full=True).exit_code == 0
    assert snapshot(home.warehouse) == night


def test_a_warehouse_changed_after_the_copy_ahead_is_not_built_on(tmp_path, monkeypatch, caplog):
    """An analyst's read-write session writes into the published warehouse after the copy was made
    (during the ingest): the build does not take the stale copy; the stamp tells it the file changed,
    so it builds in full, and nothing of the copy is left behind."""
    import pipeline.lake as lake

    home, made = _two_nights(tmp_path, monkeypatch)
    real_ingest = lake.ingest

    def ingest_then_write(*args, **kwargs):
        made[0]._thread.join()  # the copy is made; now someone writes into the published file
        with duckdb.connect(str(home.warehouse)) as con:
            con.execute("CREATE TABLE main.analyst_notes AS SELECT 1 AS note")
            con.execute("CHECKPOINT")
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(lake, "ingest", ingest_then_write)
    with caplog.at_level("DEBUG", logger="remit"):
        result = run_nightly(home, workers=1, report=False)
    assert result.exit_code == 0
    assert result.build.mode == "full" and "changed after remit built it" in result.build.mode_note
    assert "took the copy" not in caplog.text
    assert not list(home.root.glob("warehouse.duckdb.building-*"))


def test_a_full_run_makes_no_copy_and_a_dead_runs_copy_is_removed(tmp_path, monkeypatch):
    """remit run --full copies nothing; a copy left by a killed run (another pid) goes at the next build."""
    home, made = _two_nights(tmp_path, monkeypatch)
    dead = home.warehouse.with_name("warehouse.duckdb.building-999999999.ahead")
    dead.write_bytes(b"left by a killed run")
    assert run_nightly(home, workers=1, report=False, full=True).exit_code == 0
    assert made == []
    assert not dead.exists()
    assert not list(home.root.glob("warehouse.duckdb.building-*"))


def test_the_night_hands_the_ingests_freed_memory_back_before_the_build(tmp_path, monkeypatch):
    """Between the ingest and the build the night collects the ingest's garbage and returns freed memory
    (DuckDB cannot reuse what Arrow's pool or the C heap keep): after the ingest, before the build; not
    after an ingest that parsed less than ``HAND_BACK_MIN_BYTES`` (the collection alone costs more)."""
    import pipeline.lake as lake
    import pipeline.nightly as nightly
    import pipeline.warehouse as warehouse

    events: list[str] = []
    real_ingest, real_build, real_hand_back = lake.ingest, warehouse.build, nightly._hand_back_memory

    def ingest(*args, **kw):
        out = real_ingest(*args, **kw)
        events.append("ingest")
        return out

    def build(*args, **kw):
        events.append("build")
        return real_build(*args, **kw)

    def hand_back():
        events.append("hand back")
        real_hand_back()

    monkeypatch.setattr(lake, "ingest", ingest)
    monkeypatch.setattr(warehouse, "build", build)
    monkeypatch.setattr(nightly, "_hand_back_memory", hand_back)
    home = Home(tmp_path / "home").ensure()
    shutil.copy(FIXTURE_DIR / "payers.csv", home.root / "payers.csv")
    stage(FIXTURE_DIR / FILE_JAN, home.inbox)
    size = (FIXTURE_DIR / FILE_JAN).stat().st_size
    monkeypatch.setattr(nightly, "HAND_BACK_MIN_BYTES", size)  # the file is as big as it takes
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    assert events == ["ingest", "hand back", "build"]
    events.clear()
    stage(FIXTURE_DIR / FILE_FEB, home.inbox)
    monkeypatch.setattr(nightly, "HAND_BACK_MIN_BYTES", (FIXTURE_DIR / FILE_FEB).stat().st_size + 1)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    assert events == ["ingest", "build"]


def test_handing_memory_back_frees_tables_held_by_reference_cycles():
    """A batch's tables kept alive only by a reference cycle are freed by the hand-back, not at some
    later collection during the build."""
    import gc
    import weakref

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from pipeline.nightly import _hand_back_memory

    class Holder:
        pass

    gc.disable()  # no automatic collection may run between the setup and the call
    try:
        holder = Holder()
        holder.table = pa.table({"x": pc.add(pa.array(np.arange(1_000_000)), 1)})  # 8 MB in Arrow's pool
        holder.self = holder  # the cycle
        gone = weakref.ref(holder)
        allocated = pa.default_memory_pool().bytes_allocated()
        del holder
        assert gone() is not None
        _hand_back_memory()
        assert gone() is None
        assert pa.default_memory_pool().bytes_allocated() <= allocated - 8_000_000
    finally:
        gc.enable()


def _recorded_kernels(monkeypatch, events: list[str]) -> list:
    """Every kernel manager the night starts ahead (``started_kernel``), recorded; events note the start."""
    import pipeline.reports.render as render

    real = render.started_kernel
    kernels: list = []

    @contextlib.contextmanager
    def started_kernel():
        with real() as km:
            events.append("kernel started")
            kernels.append(km)
            yield km

    monkeypatch.setattr(render, "started_kernel", started_kernel)
    return kernels


def test_the_report_kernel_starts_during_the_checks_and_the_report_runs_on_it(tmp_path, monkeypatch):
    """The report's kernel is started as the warehouse checks begin (its seconds of start-up overlap
    them), the report runs on that kernel, and the kernel is shut down before the run returns. The page's
    machinery is loaded on a thread while the warehouse builds (``render.warm_up``)."""
    import threading

    import pipeline.quality as quality
    import pipeline.reports as reports
    import pipeline.reports.render as render

    events: list[str] = []
    kernels = _recorded_kernels(monkeypatch, events)
    real_check, real_report = quality.check_warehouse, reports.render_report
    given: list = []

    def check_warehouse(*args, **kw):
        events.append("checks")
        return real_check(*args, **kw)

    def render_report(home, **kw):
        given.append(kw.get("kernel"))
        events.append("report")
        return real_report(home, **kw)

    real_warm = render.warm_up
    warmed: list[str] = []

    def warm_up():
        real_warm()
        warmed.append(threading.current_thread().name)

    monkeypatch.setattr(quality, "check_warehouse", check_warehouse)
    monkeypatch.setattr(reports, "render_report", render_report)
    monkeypatch.setattr(render, "warm_up", warm_up)
    home = Home(tmp_path / "home").ensure()
    shutil.copy(FIXTURE_DIR / "payers.csv", home.root / "payers.csv")
    stage(FIXTURE_DIR / FILE_JAN, home.inbox)
    result = run_nightly(home, workers=1)
    for thread in threading.enumerate():
        if thread.name == "remit-warm-report":
            thread.join(30)
    assert warmed == ["remit-warm-report"]
    assert result.exit_code == 0 and result.report_path is not None and result.report_path.is_file()
    assert "Remittance report" in result.report_path.read_text(encoding="utf-8")
    assert events == ["kernel started", "checks", "report"]
    assert len(kernels) == 1 and given == kernels
    assert not kernels[0].has_kernel  # shut down


def test_a_night_whose_checks_fail_shuts_the_kernel_started_ahead_down(tmp_path, monkeypatch):
    import pipeline.quality as quality
    from pipeline.quality import CRITICAL, Outcome, QualityReport

    events: list[str] = []
    kernels = _recorded_kernels(monkeypatch, events)

    def failing_check(path, *, run_id, context=None):
        outcome = Outcome("warehouse_critical", "dollars_reconcile_with_lake", CRITICAL, False, 1, 4)
        return QualityReport(run_id=run_id, checked_at=dt.datetime.now(dt.UTC), outcomes=[outcome])

    monkeypatch.setattr(quality, "check_warehouse", failing_check)
    home = Home(tmp_path / "home").ensure()
    shutil.copy(FIXTURE_DIR / "payers.csv", home.root / "payers.csv")
    stage(FIXTURE_DIR / FILE_JAN, home.inbox)
    result = run_nightly(home, workers=1)
    assert result.exit_code == 1 and result.report_path is None
    assert len(kernels) == 1 and not kernels[0].has_kernel
    assert not list(home.reports.glob("remit-report-*.html"))
