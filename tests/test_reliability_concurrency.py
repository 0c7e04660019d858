"""Concurrent runs and readers.

* Two ``remit run`` at once on one home: one runs, the other exits 1 at once, saying who holds the lock,
  and changes nothing (the first still loads every file exactly once).
* An analyst process that opens ``warehouse.duckdb`` read-only for every query, in a loop, while three
  ``remit build`` replace the file (the first after new files were ingested): never an error, never a
  half-built warehouse (every mart present, row counts those of a complete build, before or after).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.home import Home
from pipeline.lake import connect_warehouse

ANALYST = r"""
import json, sys, time
from pathlib import Path
import duckdb

path, out, stop = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
with out.open("w") as fh:
    while not stop.exists():
        started = time.time()
        try:
            con = duckdb.connect(path, read_only=True)  # a new connection per query, as an analyst would
            try:
                marts = [r[0] for r in con.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'marts' AND table_type = 'BASE TABLE' "
                    "AND table_name <> 'kpi_month_history' ORDER BY 1").fetchall()]  # it grows each build
                counts = {m: con.execute(f'SELECT count(*) FROM marts."{m}"').fetchone()[0] for m in marts}
            finally:
                con.close()
            row = {"t0": started, "t1": time.time(), "counts": counts}
        except Exception as exc:
            row = {"t0": started, "t1": time.time(), "error": f"{type(exc).__name__}: {exc}"}
        fh.write(json.dumps(row) + "\n")
        fh.flush()
"""


def remit_cmd(home: Home, *args: str) -> list[str]:
    exe = Path(sys.executable).with_name("remit")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]
    return [*cmd, "--home", str(home.root), *args]


ENV = {**os.environ, "REMIT_INBOX_SETTLE_SECONDS": "0"}


def fill_inbox(home: Home, tmp_path: Path, seed: int, claims: int, files: int) -> dict:
    from pipeline.synth import generate

    out = tmp_path / f"synth-{seed}"
    truth = generate(out, claims=claims, files=files, seed=seed, months=3)
    for path in out.glob("*.835"):
        dest = home.inbox / f"s{seed}-{path.name}"
        dest.write_bytes(path.read_bytes())
    (home.root / "payers.csv").write_bytes((out / "payers.csv").read_bytes())
    return truth


def lock_holder(home: Home) -> str:
    try:
        return (home.root / ".lock").read_text().strip()
    except OSError:
        return ""


def test_second_run_exits_at_once_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    truth = fill_inbox(home, tmp_path, seed=31, claims=1200, files=12)
    first = subprocess.Popen(
        remit_cmd(home, "run"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    )
    deadline = time.monotonic() + 120
    while lock_holder(home) != f"pid {first.pid}" and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first.poll() is None, "the first run ended before the second could start: make it longer"

    t0 = time.monotonic()
    second = subprocess.run(remit_cmd(home, "run"), capture_output=True, text=True, env=ENV, timeout=120)
    waited = time.monotonic() - t0
    first_still_running = first.poll() is None
    out, err = first.communicate(timeout=600)

    assert second.returncode == 1, second
    assert "another remit run is in progress" in second.stderr, second.stderr
    assert f"pid {first.pid}" in second.stderr, second.stderr
    assert first_still_running, "the second run only returned after the first had finished (it waited)"
    print(f"second run refused in {waited:.1f}s (interpreter start included): {second.stderr.strip()}")
    assert first.returncode == 0, err
    # the refused run changed nothing: the first loaded every file exactly once
    con = connect_warehouse(home.warehouse)  # the lake views name the lake relative to the home
    try:
        files = con.execute("SELECT status, count(*) FROM lake.manifest GROUP BY 1").fetchall()
        claims = con.execute("SELECT count(*) FROM lake.claims").fetchone()[0]
    finally:
        con.close()
    assert files == [("loaded", truth["files"])]
    assert claims == truth["claims"]


@pytest.mark.slow
def test_analyst_never_sees_an_error_or_a_half_built_warehouse(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    fill_inbox(home, tmp_path, seed=41, claims=2000, files=12)
    for step in ("ingest", "build"):
        assert subprocess.run(remit_cmd(home, step), capture_output=True, env=ENV).returncode == 0

    def snapshot() -> dict:
        con = duckdb.connect(str(home.warehouse), read_only=True)
        try:
            marts = [
                r[0]
                for r in con.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'marts' AND table_type = 'BASE TABLE' "
                    "AND table_name <> 'kpi_month_history' ORDER BY 1"  # (grows with every build)
                ).fetchall()
            ]
            return {m: con.execute(f'SELECT count(*) FROM marts."{m}"').fetchone()[0] for m in marts}
        finally:
            con.close()

    before = snapshot()
    assert len(before) >= 10 and before["kpi_month"] > 0

    log, stop = tmp_path / "analyst.jsonl", tmp_path / "stop"
    analyst = subprocess.Popen([sys.executable, "-c", ANALYST, str(home.warehouse), str(log), str(stop)])
    try:
        time.sleep(1.0)
        windows = []
        fill_inbox(home, tmp_path, seed=42, claims=1500, files=8)  # new files: the next builds differ
        assert subprocess.run(remit_cmd(home, "ingest"), capture_output=True, env=ENV).returncode == 0
        for args in (("build",), ("build",), ("build",)):
            t0 = time.time()
            done = subprocess.run(remit_cmd(home, *args), capture_output=True, text=True, env=ENV)
            windows.append((t0, time.time()))
            assert done.returncode == 0, done.stderr
        time.sleep(1.0)
    finally:
        stop.touch()
        analyst.wait(timeout=60)
    after = snapshot()
    assert after != before and after["claim_outcomes"] > before["claim_outcomes"]

    rows = [json.loads(line) for line in log.read_text().splitlines()]
    errors = [r["error"] for r in rows if "error" in r]
    during = [r for r in rows if any(a <= r["t0"] <= b for a, b in windows)]
    seen = {json.dumps(r["counts"], sort_keys=True) for r in rows if "counts" in r}
    complete = {json.dumps(before, sort_keys=True), json.dumps(after, sort_keys=True)}
    print(
        f"analyst: {len(rows)} queries, {len(during)} while run/build replaced the file, {len(errors)} errors"
    )
    assert not errors, errors[:5]
    assert len(during) >= 10, f"only {len(during)} queries overlapped the builds"
    assert seen <= complete, f"a state that is neither the old nor the new warehouse: {seen - complete}"
    assert json.dumps(after, sort_keys=True) in seen


@pytest.mark.skipif(not shutil.which("flock"), reason="util-linux flock(1) is not installed")
def test_a_backup_under_flock_keeps_runs_out(tmp_path: Path) -> None:
    """docs/operations.md backs the lake up under ``flock <home>/.lock``: the same lock remit takes."""
    home = Home(tmp_path / "home").ensure()
    fill_inbox(home, tmp_path, seed=51, claims=40, files=2)
    (home.root / ".lock").touch()
    # -o: sleep does not inherit the lock, so killing flock releases it (the backup "ends")
    backup = subprocess.Popen(
        ["flock", "-n", "-o", str(home.root / ".lock"), "sleep", "60"], start_new_session=True
    )
    try:
        time.sleep(0.5)
        assert backup.poll() is None
        refused = subprocess.run(
            remit_cmd(home, "ingest"), capture_output=True, text=True, env=ENV, timeout=120
        )
    finally:
        os.killpg(backup.pid, signal.SIGKILL)  # flock and its sleep
        backup.wait()
    assert refused.returncode == 1 and "another remit run is in progress" in refused.stderr, refused
    assert len([p for p in home.inbox.iterdir() if p.is_file()]) == 2  # nothing was touched
    done = subprocess.run(remit_cmd(home, "ingest"), capture_output=True, text=True, env=ENV, timeout=120)
    assert done.returncode == 0, done.stderr
