"""``remit run``: ingest then build under one lock; exit 3 on a rejected file, after still building."""

from __future__ import annotations

import shutil

import duckdb
from test_warehouse import FILE_JAN, FIXTURE_DIR, snapshot, stage

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
    finally:
        con.close()
    first = snapshot(home.warehouse)

    # the bad file is quarantined: a second run sees nothing new, exits 0 and changes no figure
    again = run_nightly(home, workers=1)
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
            run_nightly(home, workers=1)
        assert not home.warehouse.exists()  # nothing was built
    finally:
        holder.kill()
        holder.wait()
