"""SIGKILL ``remit ingest`` at random moments, rerun, and get the lake a clean run gives.

Between kills the lake must be consistent: every file the manifest records as loaded has all its rows
visible (as many as the manifest counted), no other rows are visible, and no input file is lost. After the
final rerun: the same manifest (file ids, statuses), row counts and sums as a clean run of the same files,
and nothing temporary left under ``lake/`` (no staging, no ``*.tmp``, no part that the state does not name).

Two families of trials: four aimed kills on a hand-built workload (while parsers start, between commits,
late), and random kills on a generated inbox of many files, 3 in the quick set and 20 in the slow set.
Moved here from ``tests/test_lake_kill.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipeline.home import Home
from pipeline.lake import LakeState, ingest, register_views
from pipeline.lake.state import STATE_FILE

_spec = importlib.util.spec_from_file_location(
    "lake_x835_kill", Path(__file__).parent / "fixtures" / "lake" / "x835.py"
)
x835 = importlib.util.module_from_spec(_spec)
sys.modules["lake_x835_kill"] = x835
_spec.loader.exec_module(x835)
Claim, Line, Txn, build_835 = x835.Claim, x835.Line, x835.Txn, x835.build_835


def drop(inbox: Path, name: str, data: bytes, age: float = 120) -> None:
    """A finished transfer: written ``age`` seconds ago."""
    path = inbox / name
    path.write_bytes(data)
    os.utime(path, (time.time() - age, time.time() - age))


N_FILES = 36


def workload() -> tuple[dict[str, bytes], dict[str, object]]:
    """36 files over two payment months, and the totals worked out from the literals."""
    files: dict[str, bytes] = {}
    payments = claims = 0
    paid = Decimal("0")
    for f in range(N_FILES):
        txns = []
        for t in range(3):
            cl = []
            for c in range(4):
                amount = Decimal(f"{(f * 12 + t * 4 + c) % 50 + 10}.25")
                cl.append(Claim(f"K{f}-{t}-{c}", (Line("99213", "100.00", f"{amount:.2f}"),)))
                paid += amount
                claims += 1
            month = "20250314" if f % 2 else "20250414"
            txns.append(Txn(f"TK{f}-{t}", f"PAYER{f % 3}", month, tuple(cl)))
            payments += 1
        files[f"remit{f:02d}.835"] = build_835(txns, icn=100 + f)
    return files, {"payments": payments, "claims": claims, "paid": paid}


def remit(home: Home, **env: str) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("remit")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]
    return subprocess.Popen(
        [*cmd, "--home", str(home.root), "ingest"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, **env},
    )


def generation(home: Home) -> int:
    try:
        return LakeState.load(home.lake).generation
    except (OSError, ValueError):
        return 0


def wait_until(proc: subprocess.Popen, condition, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while proc.poll() is None and not condition() and time.monotonic() < end:
        time.sleep(0.005)


def figures(home: Home) -> dict[str, object]:
    con = duckdb.connect()
    register_views(con, home.lake)
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    # atomicity: each loaded file shows exactly the rows the manifest counted for it, nothing else
    mismatched = q(
        """
        SELECT m.name FROM lake.manifest m
        LEFT JOIN (SELECT file_key, count(*) AS n FROM lake.claims GROUP BY 1) c USING (file_key)
        WHERE m.status IN ('loaded', 'resent') AND coalesce(c.n, 0) <> m.rows_claims
        """
    )
    assert mismatched == []
    out = {
        "file_ids": sorted(r[0] for r in q("SELECT file_id FROM lake.manifest WHERE status = 'loaded'")),
        "statuses": sorted(q("SELECT status, count(*) FROM lake.manifest GROUP BY 1")),
        "payments": q("SELECT count(*) FROM lake.payments")[0][0],
        "claims": q("SELECT count(*) FROM lake.claims")[0][0],
        "lines": q("SELECT count(*) FROM lake.service_lines")[0][0],
        "paid": q("SELECT sum(paid_amount) FROM lake.claims")[0][0] or Decimal("0"),
        "adjusted": q("SELECT sum(amount) FROM lake.adjustments")[0][0] or Decimal("0"),
        "unloaded_rows": q(
            "SELECT count(*) FROM lake.payments WHERE file_key NOT IN "
            "(SELECT file_key FROM lake.manifest WHERE status IN ('loaded', 'resent'))"
        )[0][0],
    }
    con.close()
    return out


def held_bytes(home: Home) -> set[str]:
    """Hashes of every input file still somewhere in the inbox or in inbox/.processed."""
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in home.inbox.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_killed_ingest_recovers_to_the_clean_result(tmp_path: Path) -> None:
    files, truth = workload()
    wanted = {hashlib.sha256(b).hexdigest() for b in files.values()}

    clean = Home(tmp_path / "clean").ensure()
    for name, data in files.items():
        drop(clean.inbox, name, data)
    assert len(ingest(clean, workers=2).loaded) == N_FILES
    reference = figures(clean)
    assert reference["file_ids"] == sorted(wanted)
    assert (reference["payments"], reference["claims"]) == (truth["payments"], truth["claims"])
    assert reference["paid"] == truth["paid"]

    home = Home(tmp_path / "killed").ensure()
    for name, data in files.items():
        drop(home.inbox, name, data)
    rng = random.Random(835)
    kills = []
    # where to strike: while parsers start, between two commits of single files, after the last file
    # (moves, compaction, garbage collection)
    for moment in ("commit", "startup", "commit", "late"):
        g0 = generation(home)
        # one commit per file, so the kill can land between any two files
        # and parser processes even for these small files
        proc = remit(home, REMIT_LAKE_COMMIT_FILES="1", REMIT_LAKE_POOL_MIN_BYTES="0")
        if moment == "startup":
            time.sleep(rng.uniform(0.3, 4.0))
        elif moment == "commit":
            target = g0 + rng.randint(1, 8)
            wait_until(proc, lambda target=target: generation(home) >= target)
            time.sleep(rng.uniform(0, 0.02))
        else:
            wait_until(proc, lambda: not any(p.is_file() for p in home.inbox.iterdir()))
            time.sleep(rng.uniform(0, 0.3))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the ingest and its parser workers, mid-flight
            kills.append(moment)
        proc.communicate(timeout=60)
        state = figures(home)  # consistent after every kill
        print(f"kill at {moment}: generation {generation(home)}, {len(state['file_ids'])} files loaded")
        assert state["unloaded_rows"] == 0
        assert held_bytes(home) >= wanted, "an input file was lost"
    assert len(kills) >= 3, kills

    proc = remit(home)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    final = figures(home)
    assert final == reference
    assert held_bytes(home) == wanted
    assert not [p for p in home.inbox.iterdir() if p.is_file()]  # everything moved to .processed
    assert not (home.lake / "_staging").exists()
    assert not [p for p in home.lake.rglob("*.tmp")]


def no_hidden_leftovers(home: Home) -> None:
    """Nothing under ``lake/`` that a reader could trip over: every Parquet file is named by the state."""
    state = LakeState.load(home.lake)
    named = state.referenced() | {STATE_FILE}
    stray = [
        p.relative_to(home.lake).as_posix()
        for p in home.lake.rglob("*")
        if p.is_file() and p.relative_to(home.lake).as_posix() not in named
    ]
    assert stray == [], f"files under lake/ that no state names: {stray[:10]}"


def generated_batch(root: Path, batch: int, files: int) -> dict[str, bytes]:
    """Generated files with names and bytes distinct from every other batch (one seed per batch)."""
    from pipeline.synth import generate

    folder = root / f"synth-{batch}"
    generate(folder, claims=files * 40, files=files, seed=9000 + batch, months=4)
    return {f"b{batch}-{p.name}": p.read_bytes() for p in sorted(folder.glob("*.835"))}


def random_kills(tmp_path: Path, trials: int, seed: int, files_per_batch: int, record_property) -> None:
    """Kill ``remit ingest`` ``trials`` times at random moments; refill the inbox when a run got through."""
    home = Home(tmp_path / "killed").ensure()
    rng = random.Random(seed)
    dropped: dict[str, bytes] = {}

    def refill() -> None:
        batch = generated_batch(tmp_path / "synth", len(dropped) // files_per_batch, files_per_batch)
        for name, data in batch.items():
            drop(home.inbox, name, data)
        dropped.update(batch)

    refill()
    kills: list[str] = []
    attempts = 0
    while len(kills) < trials:
        attempts += 1
        assert attempts < trials * 4, f"only {len(kills)} kills landed in {attempts} attempts"
        if not any(p.is_file() for p in home.inbox.iterdir()):
            refill()  # the last run got through everything: give the next one work to be killed in
        g0 = generation(home)
        # parse in a pool of spawned workers (killed with the group) or in the ingest process itself
        pool_min = rng.choice(["0", str(1 << 40)])
        proc = remit(home, REMIT_LAKE_COMMIT_FILES="1", REMIT_LAKE_POOL_MIN_BYTES=pool_min)
        if rng.random() < 0.5:
            delay = rng.uniform(0.2, 3.0)
            moment = f"after {delay:.2f}s"
            wait_until(proc, lambda: False, timeout=delay)
        else:
            target = g0 + rng.randint(1, 6)
            moment = f"after commit {target}"
            wait_until(proc, lambda target=target: generation(home) >= target)
            time.sleep(rng.uniform(0, 0.05))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills.append(moment)
        proc.communicate(timeout=60)
        state = figures(home)  # consistent after every kill: all of a file or nothing
        assert state["unloaded_rows"] == 0, moment
        assert held_bytes(home) >= {hashlib.sha256(b).hexdigest() for b in dropped.values()}, (
            "a file was lost"
        )
    assert len(kills) >= trials, kills

    proc = remit(home)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    final = figures(home)

    clean = Home(tmp_path / "clean").ensure()
    for name, data in dropped.items():
        drop(clean.inbox, name, data)
    ingest(clean, workers=1, settle_seconds=0)
    reference = figures(clean)
    assert reference["file_ids"] == sorted(hashlib.sha256(b).hexdigest() for b in dropped.values())
    assert final == reference
    assert held_bytes(home) == {hashlib.sha256(b).hexdigest() for b in dropped.values()}
    assert not (home.lake / "_staging").exists()
    no_hidden_leftovers(home)
    summary = f"{len(kills)} SIGKILLs over {len(dropped)} files, final lake equals a clean run: {kills}"
    record_property("kills", len(kills))
    record_property("kill_files", len(dropped))
    print(summary)


def test_random_kills_quick(tmp_path: Path, record_property) -> None:
    random_kills(tmp_path, trials=3, seed=1, files_per_batch=12, record_property=record_property)


@pytest.mark.slow
def test_random_kills_slow(tmp_path: Path, record_property) -> None:
    random_kills(tmp_path, trials=20, seed=2, files_per_batch=30, record_property=record_property)


@pytest.mark.skipif(
    not Path("/dev/shm").is_dir(), reason="named semaphores are files in /dev/shm on Linux only"
)
def test_a_killed_pools_semaphores_are_removed_by_the_next_run(tmp_path: Path) -> None:
    """A pool killed with its group (its resource tracker too) leaves its named semaphores in /dev/shm;
    they are named after the run's process, and the next run with a pool removes them."""
    shm = Path("/dev/shm")
    files, _ = workload()
    home = Home(tmp_path / "killed").ensure()
    for name, data in files.items():
        drop(home.inbox, name, data)
    # stand-ins: a dead run's semaphore, a running process's (this one's parent), another program's
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    stand_ins = {
        "dead": shm / f"sem.remit-{int(dead.stdout)}-test",
        "running": shm / f"sem.remit-{os.getppid()}-test",
        "other": shm / f"sem.mp-remit-test-{os.getpid()}",
    }
    try:
        for path in stand_ins.values():
            path.write_bytes(b"\0" * 32)
        proc = remit(home, REMIT_LAKE_COMMIT_FILES="1", REMIT_LAKE_POOL_MIN_BYTES="0")
        killed = lambda: sorted(shm.glob(f"sem.remit-{proc.pid}-*"))  # noqa: E731
        # the pool makes its five semaphores one after another: kill only once all of them exist
        wait_until(proc, lambda: len(killed()) >= 5, timeout=60)
        assert proc.poll() is None, "the ingest finished before its pool was seen"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        left = killed()
        assert len(left) == 5, left  # the pool's call queue (3) and result queue (2)

        proc = remit(home, REMIT_LAKE_POOL_MIN_BYTES="0")
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        assert killed() == [] and not stand_ins["dead"].exists()
        assert sorted(shm.glob(f"sem.remit-{proc.pid}-*")) == []  # a run that ends removes its own
        assert stand_ins["running"].exists() and stand_ins["other"].exists()
    finally:
        for path in stand_ins.values():
            path.unlink(missing_ok=True)
