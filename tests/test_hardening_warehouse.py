"""Hardening of the warehouse and its neighbours (issue 16, items 6, 7, 8, 17, 18, and further trials).

Each test reproduces a way a real night broke: huge but valid amounts, a stale WAL left by an analyst, a
reader holding ``quality_results.duckdb``, DuckDB 1.x clients refused by the file format, a copied home
reading the original lake. Figures come from the hand-built fixtures of ``test_warehouse`` (January:
six claims, payments 625.00 + 0.00 + 80.00; February: one payment of 85.00).

Further trials, each a test below (D = a defect found and fixed, ok = held already): a reader holding
the warehouse during publish (ok); disk full while building (ok) and while recording the quality history
(D: failed the night); a directory where the warehouse belongs (D: failed only after a whole build, with
a bare "Is a directory"); permissions an operator set on the published files (D: reset to 0644 by every
build); a table an analyst created in the warehouse (D: dropped silently); a dead build's leftover whose
pid was reused (D: kept forever); a corrupt quality history file (D: failed every night); a clock stepped
back, or two checks in one second (D: the later quality run erased the earlier one's rows).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from test_warehouse import FILE_FEB, FILE_JAN, FIXTURE_DIR, stage

from pipeline.cli import main
from pipeline.home import Home
from pipeline.nightly import run_nightly
from pipeline.warehouse import build
from pipeline.x12.schema import file_key

DUCKDB_CLI = Path(sys.executable).with_name("duckdb")


def _home(tmp_path: Path, *files: str) -> Home:
    home = Home(tmp_path / "home").ensure()
    shutil.copy(FIXTURE_DIR / "payers.csv", home.root / "payers.csv")
    for name in files:
        stage(FIXTURE_DIR / name, home.inbox)
    return home


def _one(db: Path, sql: str) -> object:
    from pipeline.lake import connect_warehouse

    con = connect_warehouse(db)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def _payment_file(name: str, amounts: list[str], control: int, cas: str | None = "CAS*CO*45*100") -> str:
    """A balanced 835: one transaction per amount, each paying one claim of that amount (charge 100.00
    more, written off as CO-45, or adjusted by ``cas``; with ``cas=None`` the charge is paid as billed)."""
    segs = [
        f"ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *250310*1200*^*00501*"
        f"{control:09d}*0*P*:",
        f"GS*HP*SENDERID*RECEIVERID*20250310*1200*{control}*X*005010X221A1",
    ]
    for n, amount in enumerate(amounts, start=1):
        charge = Decimal(amount) + (100 if cas else 0)
        body = [
            f"ST*835*{n:04d}",
            f"BPR*I*{amount}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20250310",
            f"TRN*1*{name}-{n}*1512345678",
            "N1*PR*ACME MEDICAL",
            "REF*2U*MEDPAY1",
            "N1*PE*SMILE CLINIC*XX*1234567893",
            "LX*1",
            f"CLP*PCN-{name}-{n}*1*{charge}*{amount}*0*12*ICN-{name}-{n}*11*1",
            "NM1*QC*1*DOE*JANE****MI*MEM900",
            f"SVC*HC:99213*{charge}*{amount}**1",
            "DTM*472*20250301",
            *([cas] if cas else []),
        ]
        segs += body + [f"SE*{len(body) + 1}*{n:04d}"]
    segs += [f"GE*{len(amounts)}*{control}", f"IEA*1*{control:09d}"]
    return "~\n".join(segs) + "~\n"


def _hold_lock(home: Home) -> subprocess.Popen:
    """Another process holding the home's run lock (a night in progress)."""
    code = (
        "import time\nfrom pathlib import Path\n"
        "from pipeline.home import Home\nfrom pipeline.lake import run_lock\n"
        f"with run_lock(Home(Path({str(home.root)!r}))):\n    print('held', flush=True)\n    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _drop(home: Home, name: str, text: str) -> Path:
    path = home.root / name
    path.write_text(text)
    return stage(path, home.inbox)


# -- item 6: huge amounts ---------------------------------------------------------------------------


def test_an_implausible_amount_rejects_its_file_by_name_and_segment_and_the_rest_loads(tmp_path):
    home = _home(tmp_path, FILE_JAN)
    _drop(home, "huge.835", _payment_file("HUGE", ["9999999999999999.99", "9999999999999999.99"], 901))
    result = run_nightly(home, workers=1, report=False)
    assert result.exit_code == 3
    [(name, error)] = result.ingest.rejected
    assert name == "huge.835"
    text = str(error)
    assert "BPR02" in text and "1,000,000,000,000" in text  # the element and the documented limit
    assert error["segment_number"] == 4 and error["segment_id"] == "BPR"  # the first transaction's BPR
    # January's six claims are published regardless
    assert _one(home.warehouse, "SELECT count(*) FROM marts.claim_outcomes") == 6


def test_remits_without_adjustments_or_with_patient_shares_only_are_published(tmp_path):
    """A first night whose claims are all paid as billed (no CAS) leaves denials_by_carc_month and
    provider_absorbed_month rightly empty, as one whose only CAS are patient responsibility (PR-1) leaves
    provider_absorbed_month: the warehouse is published (the gate refused it, exit 1, before)."""
    home = _home(tmp_path)
    _drop(home, "paid-as-billed.835", _payment_file("FULL", ["250.00", "80.00"], 921, cas=None))
    result = run_nightly(home, workers=1, report=False)
    assert result.exit_code == 0, result.summary()
    assert result.quality.outcome("marts.non_empty").success
    assert _one(home.warehouse, "SELECT count(*) FROM marts.claim_outcomes") == 2
    assert _one(home.warehouse, "SELECT count(*) FROM marts.denials_by_carc_month") == 0
    assert _one(home.warehouse, "SELECT count(*) FROM marts.provider_absorbed_month") == 0
    # a deductible: the patient's share, nothing the provider absorbs
    _drop(home, "deductible.835", _payment_file("DED", ["40.00"], 922, cas="CAS*PR*1*100"))
    result = run_nightly(home, workers=1, report=False)
    assert result.exit_code == 0, result.summary()
    sql = "SELECT list(group_code || '-' || reason_code || ' ' || dollars) FROM marts.denials_by_carc_month"
    assert _one(home.warehouse, sql) == ["PR-1 100.00"]
    assert _one(home.warehouse, "SELECT count(*) FROM marts.provider_absorbed_month") == 0
    # a contractual write-off: now the provider absorbs, and the mart holds it
    _drop(home, "contractual.835", _payment_file("CON", ["60.00"], 923))
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    assert _one(home.warehouse, "SELECT sum(dollars) FROM marts.provider_absorbed_month") == Decimal("100.00")


def test_month_sums_past_decimal_18_2_build(tmp_path, monkeypatch):
    """Two plausible files whose February sum exceeds DECIMAL(18,2): the marts sum in DECIMAL(38,2)."""
    import pipeline.x12.build as x12_build

    # 9e15 per payment is above the documented ingest limit: lift it to reach an overflowing sum
    monkeypatch.setattr(x12_build, "AMOUNT_LIMIT", Decimal("1e17"))
    home = _home(tmp_path)
    _drop(home, "big-a.835", _payment_file("BIGA", ["9000000000000000.00"], 911))
    _drop(home, "big-b.835", _payment_file("BIGB", ["8000000000000000.00"], 912))
    result = run_nightly(home, workers=1, report=False)
    assert result.exit_code == 0, result.summary()
    total = _one(home.warehouse, "SELECT net_payments FROM marts.kpi_month WHERE payment_month = '2025-03'")
    assert total == Decimal("17000000000000000.00")


def _file_id(home: Home, name: str) -> str:
    import pyarrow.compute as pc

    from pipeline.lake import LakeState

    manifest = LakeState.load(home.lake).read_manifest(home.lake)
    rows = manifest.filter(pc.equal(manifest.column("name"), name)).to_pylist()
    return rows[0]["file_id"]


def test_lake_remove_unloads_a_file_keeps_the_raw_file_and_is_idempotent(tmp_path, capsys):
    home = _home(tmp_path, FILE_JAN, FILE_FEB)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    feb = _file_id(home, FILE_FEB)
    processed = list((home.inbox / ".processed").rglob(FILE_FEB))
    assert len(processed) == 1

    assert main(["--home", str(home.root), "lake", "remove", feb]) == 0
    assert "removed" in capsys.readouterr().out
    con = duckdb.connect()
    try:
        from pipeline.lake import register_views

        register_views(con, home.lake)
        # February's one payment and four claims left; January's three payments and six claims stay
        assert con.execute("SELECT count(*) FROM lake.payments").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM lake.claims").fetchone()[0] == 6
        assert con.execute("SELECT count(*) FROM lake.payments WHERE file_id = ?", [feb]).fetchone()[0] == 0
        statuses = con.execute(
            "SELECT status FROM lake.manifest WHERE file_id = ? ORDER BY entry", [feb]
        ).fetchall()
        assert statuses == [("removed",), ("removed",)]  # the load, now removed, and the removal itself
    finally:
        con.close()
    # the rows also left the Parquet parts (nothing but the views' filter would otherwise hide them)
    import pyarrow.parquet as pq

    from pipeline.lake import LakeState

    state = LakeState.load(home.lake)
    for rels in state.parts.values():
        for rel in rels:
            keys = pq.read_table(home.lake / rel, columns=["file_key"]).column(0).to_pylist()
            assert file_key(feb) not in keys  # every part's rows carry their file's key
    assert processed[0].exists()  # the raw file stays where it was kept

    # a rebuild has no February; a second remove changes nothing and says so
    build(home)
    assert _one(home.warehouse, "SELECT count(*) FROM marts.kpi_month WHERE payment_month = '2025-02'") == 0
    generation = LakeState.load(home.lake).generation
    assert main(["--home", str(home.root), "lake", "remove", feb]) == 0
    assert "already removed" in capsys.readouterr().out
    assert LakeState.load(home.lake).generation == generation
    # an unknown id is an error naming it
    assert main(["--home", str(home.root), "lake", "remove", "0" * 64]) == 1
    assert "0" * 12 in capsys.readouterr().err
    # the same bytes dropped again load again (a removed file is no longer "already loaded")
    stage(FIXTURE_DIR / FILE_FEB, home.inbox)
    again = run_nightly(home, workers=1, report=False)
    assert again.ingest.loaded == [FILE_FEB] and again.exit_code == 0
    assert _one(home.warehouse, "SELECT count(*) FROM lake.claims") == 10


def test_lake_remove_refuses_while_another_run_holds_the_lock(tmp_path, capsys):
    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    jan = _file_id(home, FILE_JAN)
    holder = _hold_lock(home)
    try:
        assert main(["--home", str(home.root), "lake", "remove", jan]) == 1
        assert "another remit run" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert _one(home.warehouse, "SELECT count(*) FROM lake.payments") == 3


# -- item 7: stale WAL, and report failures are never fatal ------------------------------------------


def _leave_stale_wal(db: Path) -> None:
    """An analyst's read-write session killed before a checkpoint: its WAL stays beside the file."""
    code = (
        "import duckdb, os\n"
        f"con = duckdb.connect({str(db)!r})\n"
        "con.execute(\"SET wal_autocheckpoint = '1TB'\")\n"
        "con.execute('CREATE TABLE main.scratch AS SELECT range AS i FROM range(1000)')\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert Path(f"{db}.wal").exists()


def test_a_stale_wal_of_an_analyst_never_attaches_to_the_new_warehouse(tmp_path):
    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    _leave_stale_wal(home.warehouse)
    stage(FIXTURE_DIR / FILE_FEB, home.inbox)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    # every reader opens the new file: January's 6 claims + February's 4 (B1 twice, G1, H0)
    assert _one(home.warehouse, "SELECT count(*) FROM lake.claims") == 10
    _leave_stale_wal(home.root / "quality_results.duckdb")
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    assert (
        _one(home.root / "quality_results.duckdb", "SELECT count(DISTINCT run_id) FROM quality.results") == 3
    )


def test_any_report_or_handbook_failure_is_logged_and_not_fatal(tmp_path, monkeypatch, caplog):
    import pipeline.handbook
    import pipeline.reports

    def broken_report(home, **_kw):
        raise duckdb.IOException("IO Error: WAL does not match database file")

    def broken_handbook(home, **_kw):
        raise KeyError("no such mart")

    monkeypatch.setattr(pipeline.reports, "render_report", broken_report)
    monkeypatch.setattr(pipeline.handbook, "render_handbook", broken_handbook)
    home = _home(tmp_path, FILE_JAN)
    with caplog.at_level(logging.WARNING):
        result = run_nightly(home, workers=1)
    assert result.exit_code == 0
    assert result.report_path is None and result.handbook_path is None
    assert "WAL does not match database file" in caplog.text
    assert "no such mart" in caplog.text


# -- item 8: quality_results.duckdb ---------------------------------------------------------------


def _hold_open(db: Path, read_only: bool) -> subprocess.Popen:
    code = (
        "import duckdb, time\n"
        f"con = duckdb.connect({str(db)!r}, read_only={read_only})\n"
        "print('open', flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "open"
    return proc


def test_a_reader_of_quality_results_never_breaks_the_night(tmp_path):
    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    results = home.root / "quality_results.duckdb"
    reader = _hold_open(results, read_only=True)
    try:
        stage(FIXTURE_DIR / FILE_FEB, home.inbox)
        assert run_nightly(home, workers=1, report=False).exit_code == 0
    finally:
        reader.kill()
        reader.wait()
    # both nights are in the history file and in the published warehouse
    assert _one(results, "SELECT count(DISTINCT run_id) FROM quality.results") == 2
    assert _one(home.warehouse, "SELECT count(DISTINCT run_id) FROM quality.results") == 2


def test_a_read_write_session_on_quality_results_never_breaks_the_night(tmp_path, caplog):
    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    writer = _hold_open(home.root / "quality_results.duckdb", read_only=False)
    try:
        stage(FIXTURE_DIR / FILE_FEB, home.inbox)
        with caplog.at_level(logging.WARNING):
            result = run_nightly(home, workers=1, report=False)
    finally:
        writer.kill()
        writer.wait()
    assert result.exit_code == 0
    assert "quality_results.duckdb" in caplog.text  # the warning names the file it could not read
    assert _one(home.warehouse, "SELECT count(*) FROM lake.claims") == 10


def test_remit_check_takes_the_run_lock(tmp_path, capsys):
    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    results = home.root / "quality_results.duckdb"
    before = _one(results, "SELECT count(*) FROM quality.results")
    holder = _hold_lock(home)
    try:
        assert main(["--home", str(home.root), "check"]) == 1
        assert "another remit run" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert _one(results, "SELECT count(*) FROM quality.results") == before


# -- item 17: DuckDB 1.x clients -------------------------------------------------------------------


def test_the_duckdb_cli_opens_the_warehouse_and_the_quality_history(tmp_path):
    assert DUCKDB_CLI.exists(), "duckdb-cli is a dev dependency (uv sync)"
    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    out = subprocess.run(
        [str(DUCKDB_CLI), "-readonly", "-csv", "-noheader", str(home.warehouse), "-c",
         "SELECT count(*) FROM marts.claim_outcomes; SELECT count(*) FROM lake.claims;"],
        capture_output=True, text=True, cwd=home.root, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["6", "6"]
    out = subprocess.run(
        [str(DUCKDB_CLI), "-readonly", "-csv", "-noheader", str(home.root / "quality_results.duckdb"), "-c",
         "SELECT count(DISTINCT run_id) FROM quality.results;"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1"]


# -- item 18: a copied home reads its own lake -----------------------------------------------------


def test_a_copied_home_reads_its_own_lake_after_the_original_is_deleted(tmp_path, monkeypatch):
    from pipeline.lake import connect_warehouse

    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    copy = tmp_path / "laptop" / "remit-copy"
    shutil.copytree(home.root, copy)
    shutil.rmtree(home.root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    con = connect_warehouse(copy / "warehouse.duckdb")
    try:
        assert con.execute("SELECT count(*) FROM lake.claims").fetchone()[0] == 6
        assert con.execute("SELECT count(*) FROM staging.stg_claims").fetchone()[0] == 6
    finally:
        con.close()
    # the plain way documented for analysts: open it from inside the home
    monkeypatch.chdir(copy)
    with duckdb.connect("warehouse.duckdb", read_only=True) as plain:
        assert plain.execute("SELECT count(*) FROM lake.payments").fetchone()[0] == 3
    # and remit's own readers (the warehouse quality suite) work on the copy
    from pipeline.quality import check_warehouse

    monkeypatch.chdir(elsewhere)
    assert check_warehouse(copy / "warehouse.duckdb", run_id="copy").success


# -- further trials: readers during publish, disk full, a directory, permissions, analysts' tables ----


def test_a_reader_holding_the_warehouse_keeps_its_build_and_the_next_reader_sees_the_new_one(tmp_path):
    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    code = (
        "import duckdb, sys\n"
        f"con = duckdb.connect({str(home.warehouse)!r}, read_only=True)\n"
        "q = 'SELECT count(*) FROM marts.claim_outcomes'\n"
        "print(con.execute(q).fetchone()[0], flush=True)\n"
        "sys.stdin.readline()\n"
        "print(con.execute(q).fetchone()[0], flush=True)\n"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout.readline().strip() == "6"
        stage(FIXTURE_DIR / FILE_FEB, home.inbox)
        assert run_nightly(home, workers=1, report=False).exit_code == 0
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "6"  # its own (old) build, consistent
    finally:
        reader.kill()
        reader.wait()
    # January's six claim outcomes + February's G1 and H0 (B1 nets to one outcome)
    assert _one(home.warehouse, "SELECT count(*) FROM marts.claim_outcomes") == 8


def test_the_replaced_warehouse_is_let_go_on_a_thread_and_no_descriptor_of_it_stays(tmp_path, monkeypatch):
    """Freeing the old file's blocks (0.45 s for 3 GB on tmpfs) happens on a thread after the swap: the
    publish returns with the new file in place, and the old one's last descriptor is closed by that
    thread, not leaked."""
    import threading

    from pipeline.warehouse import publish_database

    target, new = tmp_path / "warehouse.duckdb", tmp_path / "warehouse.duckdb.building-1"
    for path, rows in ((target, 1), (new, 2)):
        with duckdb.connect(str(path)) as con:
            con.execute(f"CREATE TABLE t AS SELECT * FROM range({rows})")
    old_inode = target.stat().st_ino
    closed = threading.Event()
    closing: list[str] = []
    real_close = os.close

    def close(fd):  # the release thread's close waits until the swap is checked
        if threading.current_thread().name == "remit-release":
            closing.append(os.readlink(f"/proc/self/fd/{fd}"))
            closed.wait(10)
        real_close(fd)

    monkeypatch.setattr(os, "close", close)
    publish_database(new, target)
    assert not new.exists() and _one(target, "SELECT count(*) FROM t") == 2  # published, old file held
    assert target.stat().st_ino != old_inode
    closed.set()
    for thread in threading.enumerate():
        if thread.name == "remit-release":
            thread.join(10)
    assert closing == [f"{target} (deleted)"]  # the old file, unlinked by the swap

    def open_inodes() -> set[int]:
        out = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                out.add(os.stat(f"/proc/self/fd/{fd}").st_ino)
            except OSError:
                continue
        return out

    assert old_inode not in open_inodes()

    # a FIFO where the file to replace is (an operator's mistake) is replaced, not waited on for a writer
    os.unlink(target)
    os.mkfifo(target)
    with duckdb.connect(str(new)) as con:
        con.execute("CREATE TABLE t AS SELECT * FROM range(3)")
    monkeypatch.setattr(os, "close", real_close)
    publishing = threading.Thread(target=publish_database, args=(new, target), daemon=True)
    publishing.start()
    publishing.join(20)
    assert not publishing.is_alive() and _one(target, "SELECT count(*) FROM t") == 3


def test_the_new_warehouse_is_on_disk_before_it_replaces_the_old_one(tmp_path, monkeypatch):
    """The build writes with DuckDB's fsync_mode NONE (its commits wait for no disk: 0.4 s of a 1M build),
    so its file is durable only through the flush before the rename: that flush must come after the
    file's last write, in a full build and in a night's build alike."""
    import pipeline.lake.state as state

    events: list[tuple[str, str, int]] = []
    real_fsync, real_replace = state.fsync_file, os.replace

    def fsync_file(path):
        real_fsync(path)
        events.append(("fsync", str(path), Path(path).stat().st_size))

    def replace(src, dst):
        if str(dst).endswith("warehouse.duckdb"):
            events.append(("replace", str(src), Path(src).stat().st_size))
        real_replace(src, dst)

    monkeypatch.setattr(state, "fsync_file", fsync_file)
    monkeypatch.setattr(os, "replace", replace)
    home = _home(tmp_path, FILE_JAN)
    for night in (FILE_JAN, FILE_FEB):  # a full build, then an incremental one
        if night == FILE_FEB:
            stage(FIXTURE_DIR / FILE_FEB, home.inbox)
        events.clear()
        assert run_nightly(home, workers=1, report=False).exit_code == 0
        swaps = [i for i, e in enumerate(events) if e[0] == "replace"]
        assert len(swaps) == 1, events
        built = events[swaps[0]][1]
        flushes = [e for e in events[: swaps[0]] if e[0] == "fsync" and e[1] == built]
        assert flushes and flushes[-1][2] == events[swaps[0]][2], events  # nothing written after it
    assert _one(home.warehouse, "SELECT count(*) FROM marts.claim_outcomes") == 8


def test_disk_full_while_building_leaves_the_published_warehouse_and_no_leftovers(tmp_path, monkeypatch):
    import errno

    import pipeline.warehouse as warehouse

    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0

    def full(con, home):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(warehouse, "copy_quality_history", full)
    with pytest.raises(OSError, match="No space left"):
        build(home)
    assert sorted(p.name for p in home.root.glob("warehouse.duckdb*")) == ["warehouse.duckdb"]
    assert _one(home.warehouse, "SELECT count(*) FROM marts.claim_outcomes") == 6


def test_disk_full_while_recording_quality_history_keeps_the_old_history(tmp_path, monkeypatch, caplog):
    import pipeline.quality.runner as runner

    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    results = home.root / "quality_results.duckdb"
    before = _one(results, "SELECT count(*) FROM quality.results")

    def full(report, con):
        raise duckdb.IOException("IO Error: could not write file: No space left on device")

    monkeypatch.setattr(runner, "write_results", full)
    with caplog.at_level(logging.WARNING):
        assert run_nightly(home, workers=1, report=False).exit_code == 0
    assert "No space left on device" in caplog.text
    assert _one(results, "SELECT count(*) FROM quality.results") == before
    assert [p.name for p in home.root.glob(".quality_results*")] == []


def test_a_directory_where_the_warehouse_belongs_stops_the_build_at_once_naming_it(tmp_path):
    home = _home(tmp_path, FILE_JAN)
    home.warehouse.mkdir()
    (home.warehouse / "notes.txt").write_text("an operator's folder")
    with pytest.raises(RuntimeError, match=r"warehouse\.duckdb is not a file"):
        build(home)
    assert (home.warehouse / "notes.txt").read_text() == "an operator's folder"
    assert list(home.root.glob("warehouse.duckdb.building-*")) == []


def test_published_files_keep_the_permissions_an_operator_gave_them(tmp_path):
    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    results = home.root / "quality_results.duckdb"
    os.chmod(home.warehouse, 0o640)
    os.chmod(results, 0o600)
    stage(FIXTURE_DIR / FILE_FEB, home.inbox)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    assert home.warehouse.stat().st_mode & 0o777 == 0o640
    assert results.stat().st_mode & 0o777 == 0o600


def test_a_table_an_analyst_left_in_the_warehouse_is_named_when_a_build_drops_it(tmp_path):
    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute("CREATE TABLE main.my_denials AS SELECT 1 AS x")
    result = build(home)
    assert any("main.my_denials" in w for w in result.warnings)
    assert "main.my_denials" in result.summary()


def test_a_dead_builds_leftover_goes_even_when_its_pid_was_reused(tmp_path):
    """Builds hold the run lock, so any other ``.building-<pid>`` file is a dead build's, whoever has
    that pid now (pids are reused; a multi-GB leftover must not stay forever)."""
    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        leftover = home.root / f"warehouse.duckdb.building-{alive.pid}"
        leftover.write_bytes(b"\0" * 4096)
        Path(f"{leftover}.wal").write_bytes(b"\0" * 16)
        build(home)
        assert not leftover.exists() and not Path(f"{leftover}.wal").exists()
    finally:
        alive.kill()
        alive.wait()


def test_a_corrupt_quality_history_never_breaks_the_night(tmp_path, caplog):
    home = _home(tmp_path, FILE_JAN)
    (home.root / "quality_results.duckdb").write_bytes(b"not a duckdb file, e.g. a truncated restore")
    with caplog.at_level(logging.WARNING):
        result = run_nightly(home, workers=1, report=False)
    assert result.exit_code == 0, result.summary()
    assert "quality_results.duckdb" in caplog.text
    # the night's results are in the published warehouse all the same
    assert _one(home.warehouse, "SELECT count(DISTINCT run_id) FROM quality.results") == 1


def test_a_clock_stepped_back_never_overwrites_an_earlier_quality_run(tmp_path, monkeypatch):
    """Quality run ids came from the wall clock to the second: a clock stepped back (NTP correction, a
    restored VM) or two checks in one second reused an id, and the later run deleted the earlier one's
    rows of the same suite from the history."""
    import datetime as dt

    import pipeline.quality.gate as gate

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 3, 1, 2, 0, 0, tzinfo=dt.UTC)

    monkeypatch.setattr(gate, "dt", SimpleNamespace(datetime=Frozen, UTC=dt.UTC))
    home = _home(tmp_path, FILE_JAN)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    assert main(["--home", str(home.root), "check"]) == 0
    results = home.root / "quality_results.duckdb"
    # the night (batch + warehouse suites) and the check (the same two suites) are two runs
    assert _one(results, "SELECT count(DISTINCT run_id) FROM quality.results") == 2
    assert _one(results, "SELECT count(*) FROM quality.results WHERE suite LIKE 'batch%'") == 2 * _one(
        results, "SELECT count(DISTINCT expectation) FROM quality.results WHERE suite LIKE 'batch%'"
    )
