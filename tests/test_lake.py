"""The Parquet lake: exactly-once ingest, duplicates, resends, quarantine, lock, compaction, views.

Every file is hand-built (``tests/fixtures/lake/x835.py``) and the expected counts and sums below were
worked out by hand from its literals, never taken from the code under test.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pipeline.cli import main as cli_main
from pipeline.home import Home
from pipeline.lake import LakeState, LockedError, collect_garbage, compact, ingest, register_views, run_lock
from pipeline.lake.worker import payment_months

_spec = importlib.util.spec_from_file_location(
    "lake_x835", Path(__file__).parent / "fixtures" / "lake" / "x835.py"
)
x835 = importlib.util.module_from_spec(_spec)
sys.modules["lake_x835"] = x835
_spec.loader.exec_module(x835)
Claim, Line, Txn, build_835 = x835.Claim, x835.Line, x835.Txn, x835.build_835

TXN_A1 = Txn(
    "TRA1",
    "PAYER1",
    "20250310",
    (
        Claim("A1", (Line("99213", "120.00", "90.00"), Line("85025", "30.00", "30.00"))),
        Claim("A2", (Line("99214", "200.00", "0.00"),), status="4"),
    ),
)
TXN_A2 = Txn("TRA2", "PAYER1", "20250402", (Claim("A3", (Line("97110", "80.00", "64.50"),)),))
TXN_B1 = Txn(
    "TRB1",
    "PAYER2",
    "20250520",
    (Claim("B1", (Line("D0120", "55.00", "41.25"), Line("D1110", "95.00", "76.00"))),),
)
TXN_C1 = Txn(
    "TRC1",
    "PAYER1",
    "20250315",
    (Claim("C1", (Line("99213", "120.00", "90.00"),)), Claim("C2", (Line("99212", "75.00", "60.00"),))),
)
# names without the .835 extension on purpose: a remittance is recognised by its content
FILES = {
    "a.835": build_835([TXN_A1, TXN_A2], icn=11),
    "b.txt": build_835([TXN_B1], icn=12, newline=False),
    "c": build_835([TXN_C1], icn=13),
}
# worked by hand from the literals above
EXPECTED = {
    "rows": {
        "payments": 4,
        "claims": 6,
        "service_lines": 8,
        "adjustments": 7,
        "remarks": 0,
        "provider_adjustments": 0,
        "claim_references": 0,
        "provider_summaries": 4,  # one LX per transaction
        "submitted_claims": 0,  # no 837 in this inbox
        "submitted_lines": 0,
    },
    "payment_total": Decimal("451.75"),  # 120.00 + 64.50 + 117.25 + 150.00
    "claim_charge": Decimal("775.00"),  # 150 + 200 + 80 + 150 + 120 + 75
    "claim_paid": Decimal("451.75"),
    "line_paid": Decimal("451.75"),
    "adjustment_total": Decimal("323.25"),  # 30 + 200 + 15.50 + 13.75 + 19 + 30 + 15
    "payments_by_month": {"2025-03": 2, "2025-04": 1, "2025-05": 1},
    "claims_by_month": {"2025-03": 4, "2025-04": 1, "2025-05": 1},
}
OLD = 120  # seconds: inbox files older than the settle window


@pytest.fixture(autouse=True)
def _quiet_cli_logging():
    """The CLI binds its log handler to the captured stderr of the test; drop it afterwards."""
    yield
    import logging

    logging.getLogger("remit").handlers.clear()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def drop(inbox: Path, name: str, data: bytes, age: float = OLD) -> Path:
    """Put a file into the inbox as a finished transfer (modified ``age`` seconds ago)."""
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def snapshot(lake: Path) -> dict[str, object]:
    """Counts, sums and manifest of the lake as analysts see it through the views."""
    con = duckdb.connect()
    register_views(con, lake)
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    out: dict[str, object] = {
        "rows": {t: q(f"SELECT count(*) FROM lake.{t}")[0][0] for t in EXPECTED["rows"]},
        "payment_total": q("SELECT sum(payment_amount) FROM lake.payments")[0][0],
        "claim_charge": q("SELECT sum(charge_amount) FROM lake.claims")[0][0],
        "claim_paid": q("SELECT sum(paid_amount) FROM lake.claims")[0][0],
        "line_paid": q("SELECT sum(paid_amount) FROM lake.service_lines")[0][0],
        "adjustment_total": q("SELECT sum(amount) FROM lake.adjustments")[0][0],
        "payments_by_month": dict(q("SELECT payment_month, count(*) FROM lake.payments GROUP BY 1")),
        "claims_by_month": dict(q("SELECT payment_month, count(*) FROM lake.claims GROUP BY 1")),
        "manifest": q("SELECT entry, file_id, name, status, rows_claims FROM lake.manifest ORDER BY entry"),
    }
    con.close()
    return out


# the readable id of a lake payment (alias p): what resent_of_transaction_id names
TXN_REF = "substr(p.file_id, 1, 24) || '-' || p.transaction_ordinal"


def lake_files(lake: Path) -> set[str]:
    return {p.relative_to(lake).as_posix() for p in lake.rglob("*.parquet") if "_manifest" not in p.parts}


def load_abc(home: Home, workers: int = 1, **kw: object) -> object:
    """Drop files a, b, c (oldest first, in that order) and ingest them."""
    for age, (name, data) in zip((300, 200, 100), FILES.items(), strict=True):
        drop(home.inbox, name, data, age=age)
    return ingest(home, workers=workers, **kw)


def test_first_load(home: Home) -> None:
    result = load_abc(home)
    assert sorted(result.loaded) == sorted(FILES)
    assert result.duplicates == result.resent == result.rejected == []
    snap = snapshot(home.lake)
    for key, value in EXPECTED.items():
        assert snap[key] == value, key
    manifest = {(fid, name, status, claims) for _, fid, name, status, claims in snap["manifest"]}
    assert manifest == {
        (sha(FILES["a.835"]), "a.835", "loaded", 3),
        (sha(FILES["b.txt"]), "b.txt", "loaded", 1),
        (sha(FILES["c"]), "c", "loaded", 2),
    }
    # hive layout: lake/<table>/payment_month=YYYY-MM/<part>.parquet
    assert {p.split("/")[1] for p in lake_files(home.lake) if p.startswith("payments/")} == {
        "payment_month=2025-03",
        "payment_month=2025-04",
        "payment_month=2025-05",
    }
    # processed files leave the inbox for inbox/.processed/<day>/, byte for byte
    assert not [p for p in home.inbox.iterdir() if not p.name.startswith(".")]
    kept = {p.name: p.read_bytes() for p in (home.inbox / ".processed").rglob("*") if p.is_file()}
    assert kept == FILES
    con = duckdb.connect()
    register_views(con, home.lake)
    # keys follow the parser's contract (file key, ST ordinal), claims get their payment's month; the
    # readable transaction id is <sha256[:24]>-<ST ordinal>
    rows = con.execute(
        f"SELECT {TXN_REF}, p.trace_number, p.resent_of_transaction_id, c.payment_month "
        "FROM lake.payments p JOIN lake.claims c USING (file_key, transaction_ordinal) "
        "WHERE c.patient_control_number='A3'"
    ).fetchall()
    assert rows == [(f"{sha(FILES['a.835'])[:24]}-2", "TRA2", None, "2025-04")]
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE lake.payments)").fetchall())
    assert types["payment_month"] == "VARCHAR" and types["payment_amount"] == "DECIMAL(18,2)"


def test_rerun_without_new_files_changes_nothing(home: Home) -> None:
    load_abc(home)
    before, parts = snapshot(home.lake), LakeState.load(home.lake).parts
    result = ingest(home, workers=1)
    assert result.loaded == result.duplicates == result.rejected == []
    assert snapshot(home.lake) == before
    assert LakeState.load(home.lake).parts == parts


def test_byte_identical_duplicate_is_reported_not_loaded(home: Home) -> None:
    load_abc(home)
    before = snapshot(home.lake)
    drop(home.inbox, "a-again.edi", FILES["a.835"])
    result = ingest(home, workers=1)
    assert result.duplicates == ["a-again.edi"] and result.loaded == []
    after = snapshot(home.lake)
    for key in EXPECTED:
        assert after[key] == before[key] == EXPECTED[key]
    assert after["manifest"][-1][1:4] == (sha(FILES["a.835"]), "a-again.edi", "duplicate")
    # the same bytes twice in one night: one load, one duplicate
    data = build_835([Txn("TRD1", "PAYER3", "20250601", (Claim("D1", (Line("99213", "10.00", "9.00"),)),))])
    drop(home.inbox, "d1", data, age=200)
    drop(home.inbox, "d2", data, age=100)
    result = ingest(home, workers=1)
    assert (result.loaded, result.duplicates) == (["d1"], ["d2"])
    assert snapshot(home.lake)["rows"]["payments"] == 5


def test_resent_transaction_detected_and_excludable(home: Home) -> None:
    load_abc(home)
    # TRA2 again (same payer, trace, amount; different envelope so different bytes) with one new payment
    new = Txn("TRE1", "PAYER1", "20250402", (Claim("E1", (Line("99213", "40.00", "35.00"),)),))
    mixed = build_835([TXN_A2, new], icn=21)
    only_resent = build_835([TXN_C1], icn=22)  # all of it was sent before in file c
    drop(home.inbox, "mixed.835", mixed, age=200)
    drop(home.inbox, "again.835", only_resent, age=100)
    result = ingest(home, workers=1)
    assert result.loaded == ["mixed.835"] and result.resent == ["again.835"]
    con = duckdb.connect()
    register_views(con, home.lake)
    marks = dict(
        con.execute(
            f"SELECT {TXN_REF}, resent_of_transaction_id FROM lake.payments p WHERE file_id IN (?, ?)",
            [sha(mixed), sha(only_resent)],
        ).fetchall()
    )
    assert marks == {
        f"{sha(mixed)[:24]}-1": f"{sha(FILES['a.835'])[:24]}-2",
        f"{sha(mixed)[:24]}-2": None,
        f"{sha(only_resent)[:24]}-1": f"{sha(FILES['c'])[:24]}-1",
    }
    status = dict(
        con.execute("SELECT name, (status, transactions, resent_transactions) FROM lake.manifest").fetchall()
    )
    assert status["mixed.835"] == ("loaded", 2, 1) and status["again.835"] == ("resent", 1, 1)
    # what the warehouse does: drop resent payments and their claims; the totals are the originals + TRE1
    total, claims = con.execute(
        "SELECT sum(p.payment_amount), (SELECT count(*) FROM lake.claims c JOIN lake.payments q "
        "USING (file_key, transaction_ordinal) WHERE q.resent_of_transaction_id IS NULL) "
        "FROM lake.payments p WHERE p.resent_of_transaction_id IS NULL"
    ).fetchone()
    assert total == EXPECTED["payment_total"] + Decimal("35.00")
    assert claims == EXPECTED["rows"]["claims"] + 1


def _bad_835() -> tuple[bytes, bytes, int]:
    """A one-claim file whose SE01 is wrong, the fixed file, and the SE segment's byte offset."""
    good = build_835([Txn("TRF1", "PAYER4", "20250701", (Claim("F1", (Line("99213", "50.00", "40.00"),)),))])
    # ISA GS ST BPR TRN DTM N1 N3 N4 REF N1 LX CLP NM1 SVC DTM CAS SE: SE is segment 18, ST..SE = 16
    assert b"SE*16*0001" in good
    bad = good.replace(b"SE*16*0001", b"SE*99*0001")
    return bad, good, bad.index(b"SE*99")


def test_quarantine_bad_files_next_to_good_ones(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    bad, _good, offset = _bad_835()
    for name, data in FILES.items():
        drop(home.inbox, name, data)
    drop(home.inbox, "bad.835", bad)
    drop(home.inbox, "payers.csv", b"payer_id,plan_type\nPAYER1,medical\n")
    rc = cli_main(["--home", str(home.root), "ingest", "--workers", "1"])
    assert rc == 3
    out = capsys.readouterr()
    assert "3 loaded" in out.out and "2 rejected" in out.out
    assert snapshot(home.lake)["rows"] == EXPECTED["rows"]  # the good ones are all in
    q = home.quarantine
    assert stat.S_IMODE(q.stat().st_mode) == 0o700
    assert (q / "bad.835").read_bytes() == bad and (q / "payers.csv").exists()
    assert stat.S_IMODE((q / "bad.835").stat().st_mode) == 0o600
    report = json.loads((q / "bad.835.error.json").read_text())
    assert report["file"] == "bad.835" and report["file_id"] == sha(bad)
    assert (report["segment_number"], report["segment_id"], report["byte_offset"]) == (18, "SE", offset)
    assert "SE01" in report["message"] and report["problems"]
    csv_report = json.loads((q / "payers.csv.error.json").read_text())
    assert "not an X12 file" in csv_report["message"]
    assert not (home.inbox / "bad.835").exists() and not (home.inbox / "payers.csv").exists()
    manifest = {r[2]: r[3] for r in snapshot(home.lake)["manifest"]}
    assert manifest["bad.835"] == manifest["payers.csv"] == "rejected"


def test_fixed_file_dropped_again_loads(home: Home) -> None:
    bad, good, _ = _bad_835()
    drop(home.inbox, "bad.835", bad)
    first = ingest(home, workers=1)
    assert [name for name, _ in first.rejected] == ["bad.835"]
    assert first.rejected[0][1]["segment_id"] == "SE"
    drop(home.inbox, "bad.835", good)
    second = ingest(home, workers=1)
    assert second.loaded == ["bad.835"] and second.rejected == []
    snap = snapshot(home.lake)
    assert snap["payment_total"] == Decimal("40.00") and snap["rows"]["claims"] == 1
    assert [(r[2], r[3]) for r in snap["manifest"]] == [("bad.835", "rejected"), ("bad.835", "loaded")]
    assert (home.quarantine / "bad.835").read_bytes() == bad  # the rejected version is still kept


def test_lock_held_by_another_process(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import fcntl, sys, time
                fh = open({str(home.root / ".lock")!r}, "a")
                fcntl.flock(fh, fcntl.LOCK_EX)
                print("held", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        drop(home.inbox, "a.835", FILES["a.835"])
        with pytest.raises(LockedError, match="another remit run is in progress"):
            ingest(home, workers=1)
        rc = cli_main(["--home", str(home.root), "ingest"])
        assert rc == 1
        assert "another remit run is in progress" in capsys.readouterr().err
        assert (home.inbox / "a.835").exists() and not (home.lake / "_state.json").exists()
    finally:
        holder.kill()
        holder.wait()
    # the kernel dropped the lock with the process: the next run works, and run_lock is re-entrant
    with run_lock(home):
        assert ingest(home, workers=1).loaded == ["a.835"]


def test_files_still_being_written_and_hidden_files_wait(home: Home) -> None:
    drop(home.inbox, "old.835", FILES["c"])
    drop(home.inbox, "upload.835.part", FILES["a.835"])
    drop(home.inbox, ".hidden.835", FILES["b.txt"])
    drop(home.inbox, "fresh.835", FILES["b.txt"], age=0)
    result = ingest(home, workers=1)
    assert result.loaded == ["old.835"]
    assert sorted(result.skipped) == ["fresh.835", "upload.835.part"]
    left = sorted(p.name for p in home.inbox.iterdir() if p.is_file())
    assert left == [".hidden.835", "fresh.835", "upload.835.part"]


def test_views_show_only_committed_parts(home: Home) -> None:
    load_abc(home)
    before = snapshot(home.lake)
    # what a run killed before its commit leaves: a part in a partition folder that no state names
    live = LakeState.load(home.lake).parts["claims"][0]
    orphan = home.lake / live.rsplit("/", 1)[0] / "f-0000000000000000deadbeef00000000.parquet"
    orphan.write_bytes((home.lake / live).read_bytes())
    (home.lake / "_staging" / "old-run").mkdir(parents=True)
    assert snapshot(home.lake) == before
    ingest(home, workers=1)  # the next run cleans what the killed one left
    assert not orphan.exists() and not (home.lake / "_staging").exists()
    assert snapshot(home.lake) == before


def test_empty_lake_views_have_columns(tmp_path: Path) -> None:
    con = duckdb.connect()
    register_views(con, tmp_path / "nothing-yet")
    assert con.execute("SELECT count(*) FROM lake.claims").fetchone() == (0,)
    cols = [r[0] for r in con.execute("DESCRIBE lake.payments").fetchall()]
    assert cols[-2:] == ["resent_of_transaction_id", "payment_month"] and "payment_amount" in cols
    assert con.execute("SELECT count(*) FROM lake.manifest").fetchone() == (0,)


def test_compaction_keeps_rows_and_reduces_parts(home: Home) -> None:
    # nine single-file nights in March 2025: nine parts per table partition
    expected_total = Decimal("0")
    for night in range(9):
        paid = Decimal("10.00") + night
        expected_total += paid
        claim = Claim(f"N{night}", (Line("99213", "100.00", f"{paid:.2f}"),))
        drop(home.inbox, f"night{night}.835", build_835([Txn(f"TRN{night}", "PAYER1", "20250312", (claim,))]))
        ingest(home, workers=1, compact_max_parts=100)
    assert expected_total == Decimal("126.00")  # 10 + 11 + … + 18
    state = LakeState.load(home.lake)
    assert len(state.parts["claims"]) == 9
    before = snapshot(home.lake)
    assert before["payment_total"] == expected_total and before["rows"]["claims"] == 9
    analyst = duckdb.connect()
    register_views(analyst, home.lake)  # an analyst with views open across the compaction

    stats = compact(home.lake, state, max_parts=4)
    assert stats.partitions == 5  # payments, claims, service_lines, adjustments, provider_summaries (LX)
    state = LakeState.load(home.lake)
    assert {t: len(p) for t, p in state.parts.items() if p} == {
        "payments": 1,
        "claims": 1,
        "service_lines": 1,
        "adjustments": 1,
        "provider_summaries": 1,
    }
    after = snapshot(home.lake)
    assert after == before
    # old views still read the retired parts (kept for the grace period), and never twice
    assert analyst.execute("SELECT count(*), sum(paid_amount) FROM lake.claims").fetchone() == (
        9,
        expected_total,
    )
    assert collect_garbage(home.lake, state, grace_seconds=3600) == 0
    # 45 merged parts (5 tables × 9 nights) + the 8 manifest generations the 9 runs replaced
    assert collect_garbage(home.lake, state, grace_seconds=0) == 5 * 9 + 8
    assert len(lake_files(home.lake)) == 5
    assert snapshot(home.lake) == before

    # ingest compacts on its own once a partition holds more than 3 parts: the merged part plus the
    # nights 9 and 10 make 3, night 11 makes 4 and is merged, night 12 makes 2 again
    compacted = []
    for night in range(9, 13):
        claim = Claim(f"N{night}", (Line("99213", "100.00", "20.00"),))
        drop(home.inbox, f"night{night}.835", build_835([Txn(f"TRN{night}", "PAYER1", "20250312", (claim,))]))
        compacted.append(ingest(home, workers=1, compact_max_parts=3).compaction.partitions)
    assert compacted == [0, 0, 5, 0]
    assert all(len(p) <= 3 for p in LakeState.load(home.lake).parts.values())
    final = snapshot(home.lake)
    assert final["payment_total"] == expected_total + Decimal("80.00")
    assert final["rows"]["claims"] == 13


def test_one_commit_writes_one_part_per_table_and_month(home: Home, monkeypatch) -> None:
    # a and c both pay in March 2025: in one commit their rows share one part per table (b-<sha>)
    load_abc(home)
    state = LakeState.load(home.lake)
    claims = sorted(state.parts["claims"])
    assert [p.rsplit("/", 1)[0] for p in claims] == [
        "claims/payment_month=2025-03",
        "claims/payment_month=2025-04",
        "claims/payment_month=2025-05",
    ]
    assert claims[0].rsplit("/", 1)[1].startswith("b-")  # files a and c
    assert claims[1].rsplit("/", 1)[1] == f"f-{sha(FILES['a.835'])[:32]}.parquet"
    assert claims[2].rsplit("/", 1)[1] == f"f-{sha(FILES['b.txt'])[:32]}.parquet"
    assert {t: len(p) for t, p in state.parts.items() if p} == {
        "payments": 3,
        "claims": 3,
        "service_lines": 3,
        "adjustments": 3,
        "provider_summaries": 3,  # their LX
    }
    assert snapshot(home.lake)["rows"] == EXPECTED["rows"]
    assert snapshot(home.lake)["claims_by_month"] == EXPECTED["claims_by_month"]


def test_commits_hold_at_most_commit_files(home: Home, monkeypatch) -> None:
    # one file per commit: every part belongs to one file, as many parts as (file, table, month)
    monkeypatch.setenv("REMIT_LAKE_COMMIT_FILES", "1")
    load_abc(home)
    state = LakeState.load(home.lake)
    claims = state.parts["claims"]
    assert len(claims) == 4  # a: March + April, b: May, c: March
    assert all(p.rsplit("/", 1)[1].startswith("f-") for p in claims)
    assert snapshot(home.lake)["rows"] == EXPECTED["rows"]


@pytest.mark.parametrize(
    ("bound", "batches"),
    [("1 byte", [["a"], ["b"], ["c"]]), ("a+b", [["a", "b"], ["c"]]), ("128 MiB", [["a", "b", "c"]])],
)
def test_commit_bytes_close_a_batch_with_the_file_reaching_them(
    tmp_path: Path, monkeypatch, bound: str, batches: list[list[str]]
) -> None:
    """The file that brings a batch to ``COMMIT_BYTES`` is the batch's last: the gate sees the batches."""
    from pipeline.lake import loader

    home = Home(tmp_path / "h").ensure()
    names = {hashlib.sha256(data).hexdigest(): name[0] for name, data in FILES.items()}
    sizes = {name[0]: len(data) for name, data in FILES.items()}
    if bound == "a+b":
        monkeypatch.setattr(loader, "COMMIT_BYTES", sizes["a"] + sizes["b"])
    elif bound == "1 byte":
        monkeypatch.setattr(loader, "COMMIT_BYTES", 1)
    else:
        assert loader.COMMIT_BYTES == 128 << 20  # the default
    seen: list[list[str]] = []

    def gate(tables: dict[str, pa.Table]) -> dict:
        seen.append(sorted({names[f] for f in tables["payments"].column("file_id").to_pylist()}))
        return {}

    load_abc(home, gate=gate)
    assert seen == batches
    assert snapshot(home.lake)["rows"] == EXPECTED["rows"]


def test_interrupted_move_is_finished_without_a_duplicate(home: Home) -> None:
    load_abc(home)
    before = snapshot(home.lake)
    # a run killed after its commit but before moving the file out of the inbox
    kept = next((home.inbox / ".processed").rglob("b.txt"))
    os.replace(kept, home.inbox / "b.txt")
    result = ingest(home, workers=1)
    assert result.duplicates == [] and result.loaded == []
    assert kept.exists() and not (home.inbox / "b.txt").exists()
    assert snapshot(home.lake) == before


def test_parallel_workers(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMIT_LAKE_POOL_MIN_BYTES", "0")  # use the pool even for these small files
    result = load_abc(home, workers=2)
    assert sorted(result.loaded) == sorted(FILES)
    snap = snapshot(home.lake)
    for key, value in EXPECTED.items():
        assert snap[key] == value, key
    # inbox order (oldest first) decides the manifest order, whatever finished first
    assert [r[2] for r in snap["manifest"]] == list(FILES)


def test_the_pool_starts_before_the_hashing_and_ends_when_the_night_turns_out_small(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parser processes are started as soon as the inbox is listed (they load while the files are
    hashed); a night whose files all turn out to be loaded already parses nothing and ends them."""
    import multiprocessing

    import pipeline.lake.loader as loader

    monkeypatch.setenv("REMIT_LAKE_POOL_MIN_BYTES", "0")
    events: list[str] = []
    real_spawn, real_hash = loader.spawn_pool, loader._hash_and_sniff
    monkeypatch.setattr(loader, "spawn_pool", lambda *a, **kw: events.append("pool") or real_spawn(*a, **kw))
    monkeypatch.setattr(loader, "_hash_and_sniff", lambda path: events.append("hash") or real_hash(path))
    result = load_abc(home, workers=2)
    assert sorted(result.loaded) == sorted(FILES)
    assert events == ["pool", "hash", "hash", "hash"]
    snap = snapshot(home.lake)
    for key, value in EXPECTED.items():
        assert snap[key] == value, key
    assert multiprocessing.active_children() == []

    events.clear()  # the same bytes again: duplicates, nothing to parse
    for age, (name, data) in zip((300, 200, 100), FILES.items(), strict=True):
        drop(home.inbox, "again-" + name, data, age=age)
    again = ingest(home, workers=2)
    assert again.loaded == [] and len(again.duplicates) == 3
    assert events == ["pool", "hash", "hash", "hash"]
    assert multiprocessing.active_children() == []  # started, then ended unused
    after = snapshot(home.lake)
    assert [r[3] for r in after.pop("manifest")[3:]] == ["duplicate"] * 3
    assert after == {k: v for k, v in snap.items() if k != "manifest"}


def test_big_files_are_parsed_in_chunks(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.lake.loader as lake_ingest
    import pipeline.x12

    calls = []
    real = pipeline.x12.parse_835_chunks

    def spy(data, source, **kw):
        pieces = list(real(data, source, **kw))
        calls.append((source, len(pieces)))
        yield from pieces

    # every file counts as big, and chunks are cut at every ST boundary (200 bytes or less)
    monkeypatch.setattr(lake_ingest, "CHUNK_THRESHOLD", 0)
    monkeypatch.setattr(lake_ingest, "MAX_CHUNK_BYTES", 200)
    monkeypatch.setattr(pipeline.x12, "parse_835_chunks", spy)
    load_abc(home)
    assert dict(calls) == {"a.835": 2, "b.txt": 1, "c": 1}  # a.835 holds two transactions
    snap = snapshot(home.lake)
    for key, value in EXPECTED.items():
        assert snap[key] == value, key


def test_payment_month_falls_back_to_production_date() -> None:
    import datetime as dt

    table = pa.table(
        {
            "payment_date": pa.array([dt.date(2025, 1, 31), None, None], pa.date32()),
            "production_date": pa.array([dt.date(2024, 12, 30), dt.date(2024, 11, 2), None], pa.date32()),
        }
    )
    assert payment_months(table).to_pylist() == ["2025-01", "2024-11", "unknown"]


def test_generated_workload_matches_the_generators_truth(home: Home, tmp_path: Path) -> None:
    from pipeline.synth import generate

    truth = generate(tmp_path / "synth", claims=300, seed=7)
    for i, path in enumerate(sorted((tmp_path / "synth").glob("*.835"))):
        drop(home.inbox, path.name, path.read_bytes(), age=1000 - i)
    result = ingest(home, workers=1)
    assert len(result.loaded) + len(result.resent) == truth["files"] and not result.rejected
    con = duckdb.connect()
    register_views(con, home.lake)
    one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    assert one("SELECT count(*) FROM lake.payments") == truth["transactions"]
    assert one("SELECT count(*) FROM lake.claims") == truth["claims"]
    assert one("SELECT count(*) FROM lake.service_lines") == truth["lines"]
    assert one("SELECT count(*) FROM lake.adjustments") == truth["adjustment_count"]
    assert one("SELECT count(*) FROM lake.remarks") == truth["remark_count"]
    assert one("SELECT sum(payment_amount) FROM lake.payments") == Decimal(truth["bpr02_total"])
    assert one("SELECT sum(paid_amount) FROM lake.claims") == Decimal(truth["clp04_total"])
    assert one("SELECT sum(paid_amount) FROM lake.service_lines") == Decimal(truth["svc03_total"])
    assert one("SELECT sum(amount) FROM lake.adjustments") == Decimal(truth["adjustment_total"])
    assert one("SELECT sum(amount) FROM lake.provider_adjustments") == Decimal(truth["plb_total"])
    by_month = dict(con.execute("SELECT payment_month, count(*) FROM lake.claims GROUP BY 1").fetchall())
    assert by_month == {m: v["claims"] for m, v in truth["by_month"].items() if v["claims"]}


def test_custom_inbox_through_the_cli(home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop_dir = tmp_path / "sftp-drop"
    drop(drop_dir, "c", FILES["c"])
    rc = cli_main(["--home", str(home.root), "ingest", "--inbox", str(drop_dir), "--workers", "1"])
    assert rc == 0
    assert "1 loaded" in capsys.readouterr().out
    assert [p.name for p in (drop_dir / ".processed").rglob("*") if p.is_file()] == ["c"]
    assert snapshot(home.lake)["rows"]["claims"] == 2


def test_resend_within_one_night_keeps_the_older_file_as_original(home: Home) -> None:
    first = build_835([TXN_B1], icn=31)
    again = build_835([TXN_B1], icn=32)  # same payer, trace and amount, new envelope
    drop(home.inbox, "z-first.835", first, age=500)  # older, although its name sorts last
    drop(home.inbox, "a-again.835", again, age=400)
    result = ingest(home, workers=1)
    assert (result.loaded, result.resent) == (["z-first.835"], ["a-again.835"])
    con = duckdb.connect()
    register_views(con, home.lake)
    rows = con.execute(
        f"SELECT {TXN_REF}, resent_of_transaction_id FROM lake.payments p ORDER BY resent_of_transaction_id"
    ).fetchall()
    assert rows == [(f"{sha(again)[:24]}-1", f"{sha(first)[:24]}-1"), (f"{sha(first)[:24]}-1", None)]


def test_file_changing_while_read_is_left_for_the_next_run(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.lake.loader as loader

    real = loader._hash_and_sniff

    def appended_after_hashing(path: Path):
        digest, size, x12 = real(path)
        with open(path, "ab") as fh:  # the uploader is still appending
            fh.write(b"\n")
        return digest, size, x12

    drop(home.inbox, "c", FILES["c"])
    monkeypatch.setattr(loader, "_hash_and_sniff", appended_after_hashing)
    result = ingest(home, workers=1)
    assert result.loaded == [] and result.skipped == ["c"]
    assert (home.inbox / "c").exists() and snapshot(home.lake)["rows"]["claims"] == 0
    monkeypatch.setattr(loader, "_hash_and_sniff", real)
    os.utime(home.inbox / "c", (time.time() - OLD, time.time() - OLD))
    assert ingest(home, workers=1).loaded == ["c"]


def test_gate_refuses_files_before_they_are_published(home: Home) -> None:
    seen: dict[str, int] = {}

    def gate(tables: dict[str, pa.Table]) -> dict[str, object]:
        seen.update({name: t.num_rows for name, t in tables.items()})
        payments = tables["payments"].to_pylist()
        return {p["file_id"]: {"message": "payer not allowed", "payer": p["payer_id"]} for p in payments
                if p["payer_id"] == "PAYER2"}  # fmt: skip

    result = load_abc(home, gate=gate)
    assert seen == EXPECTED["rows"]  # the whole night, before anything was committed
    assert sorted(result.loaded) == ["a.835", "c"]
    assert [name for name, _ in result.rejected] == ["b.txt"]
    report = json.loads((home.quarantine / "b.txt.error.json").read_text())
    assert report["message"] == "quality gate: payer not allowed" and report["gate"]["payer"] == "PAYER2"
    snap = snapshot(home.lake)
    assert snap["payment_total"] == EXPECTED["payment_total"] - Decimal("117.25")
    assert snap["rows"]["claims"] == 5 and not (home.lake / "_staging").exists()


def test_the_gate_sees_files_staged_on_disk_and_in_memory_in_inbox_order(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch mixing files parsed in memory and a big file staged on disk as Parquet reaches the gate
    as the same tables, in inbox order, as a batch parsed all in memory."""
    import pipeline.lake.loader as loader

    def gated(into: Home) -> dict[str, list[dict]]:
        seen: dict[str, list[dict]] = {}

        def gate(tables: dict[str, pa.Table]) -> dict[str, object]:
            seen.update({name: t.to_pylist() for name, t in tables.items()})
            return {}

        assert sorted(load_abc(into, gate=gate).loaded) == sorted(FILES)
        return seen

    memory = Home(tmp_path / "memory").ensure()
    home.patient_key_secret()
    memory.key_file.write_bytes(home.key_file.read_bytes())  # the same patient keys
    in_memory = gated(memory)
    from pipeline.lake.worker import parse_to_staging

    real = loader.parse_task  # the middle file is staged as a big one would be, the others in memory
    monkeypatch.setattr(loader, "parse_task", lambda t: parse_to_staging(t) if t.name == "b.txt" else real(t))
    mixed = gated(home)
    assert list((home.lake / "_staging").glob("*")) == []
    assert mixed == in_memory
    assert [p["source"] for p in mixed["payments"]] == ["a.835", "a.835", "b.txt", "c"]  # a: two STs


def test_the_gate_runs_while_the_next_batch_is_parsed(home: Home, monkeypatch) -> None:
    """With a gate, a batch is gated on a thread of its own while the ingest parses the next batch: the
    gate holds the ingest only when the next batch is ready first. Batches still reach the gate in inbox
    order, and its verdicts still decide what is committed."""
    import threading

    import pipeline.lake.loader as loader

    monkeypatch.setenv("REMIT_LAKE_COMMIT_FILES", "1")  # each file is a batch of its own
    second_parsed = threading.Event()
    real_parse = loader.parse_task

    def parse(task):
        out = real_parse(task)
        if task.name == "b.txt":
            second_parsed.set()
        return out

    monkeypatch.setattr(loader, "parse_task", parse)
    seen: list[tuple[str, bool]] = []

    def gate(tables: dict[str, pa.Table]) -> dict[str, object]:
        payers = tables["payments"]["payer_id"].to_pylist()
        # the first batch's gate waits until the second file is parsed: only possible beside the parsing
        overlapped = second_parsed.wait(timeout=20) if not seen else True
        seen.append((",".join(dict.fromkeys(payers)), overlapped))
        files = tables["payments"]["file_id"].to_pylist()
        return {f: "payer not allowed" for f, p in zip(files, payers, strict=True) if p == "PAYER2"}

    result = load_abc(home, gate=gate)
    assert [overlapped for _, overlapped in seen] == [True, True, True]
    assert [payers for payers, _ in seen] == ["PAYER1", "PAYER2", "PAYER1"]  # a, b, c: inbox order
    assert sorted(result.loaded) == ["a.835", "c"] and [n for n, _ in result.rejected] == ["b.txt"]
    assert snapshot(home.lake)["rows"]["claims"] == 5
    assert set(result.phase_seconds) == {"parse", "gate", "commit"}


def test_a_gate_is_prepared_on_its_thread_as_the_parsing_starts(home: Home, monkeypatch) -> None:
    """A gate's ``prepare()`` (BatchGate: GX's import) runs on the gate thread before its first batch,
    while the first batch parses, not in the ingest's own thread; waiting for it is the gate phase."""
    import threading

    import pipeline.lake.loader as loader

    parsed = threading.Event()
    real_parse = loader.parse_task

    def parse(task):
        out = real_parse(task)
        if task.name == "c":  # the last file of the inbox
            parsed.set()
        return out

    monkeypatch.setattr(loader, "parse_task", parse)
    events: list[tuple[str, str]] = []

    class Prepared:
        def prepare(self) -> None:
            assert parsed.wait(timeout=20)  # still preparing when the whole batch is parsed
            time.sleep(0.5)
            events.append(("prepare", threading.current_thread().name))

        def __call__(self, tables: dict[str, pa.Table]) -> dict[str, object]:
            events.append(("gate", threading.current_thread().name))
            return {}

    result = load_abc(home, gate=Prepared())
    assert [what for what, _ in events] == ["prepare", "gate"]
    assert all(thread.startswith("remit-gate") for _, thread in events)
    assert sorted(result.loaded) == sorted(FILES)
    assert result.phase_seconds["gate"] >= 0.4  # waiting for prepare() is waiting for the gate


def test_the_gate_prepares_while_the_manifest_is_read(home: Home, monkeypatch) -> None:
    """The gate's preparation (GX's import, seconds) starts with the run, before the lake's manifest and
    resend index are read (a fifth of a second on 5M claims), not after them; a run that fails before
    its batches still waits for it and ends its thread."""
    import threading

    import pipeline.lake.loader as loader

    preparing = threading.Event()
    real_read = loader._Run.read_manifest

    def read_manifest(self) -> None:
        assert preparing.wait(timeout=20)  # the preparation started before the manifest is read
        real_read(self)

    class Prepared:
        def prepare(self) -> None:
            preparing.set()

        def __call__(self, tables: dict[str, pa.Table]) -> dict[str, object]:
            return {}

    monkeypatch.setattr(loader._Run, "read_manifest", read_manifest)
    assert sorted(load_abc(home, gate=Prepared()).loaded) == sorted(FILES)

    def broken(self) -> None:
        raise RuntimeError("manifest unreadable")

    monkeypatch.setattr(loader._Run, "read_manifest", broken)
    with pytest.raises(RuntimeError, match="manifest unreadable"):
        ingest(home, workers=1, gate=Prepared())
    assert not [t for t in threading.enumerate() if t.name.startswith("remit-gate")]


def test_a_gate_that_fails_stops_the_ingest_and_a_rerun_loads_the_rest(home: Home, monkeypatch) -> None:
    """An error in the gate (on its thread) stops the ingest with that error, after the batches gated
    before it are committed; the lock is released and the next run loads the rest."""
    monkeypatch.setenv("REMIT_LAKE_COMMIT_FILES", "1")
    calls: list[int] = []

    def gate(tables: dict[str, pa.Table]) -> dict[str, object]:
        calls.append(tables["payments"].num_rows)
        if len(calls) == 2:
            raise RuntimeError("gate broke")
        return {}

    with pytest.raises(RuntimeError, match="gate broke"):
        load_abc(home, gate=gate)
    assert snapshot(home.lake)["rows"]["claims"] < EXPECTED["rows"]["claims"]
    result = ingest(home, workers=1, gate=lambda tables: {})
    assert result.rejected == []
    snap = snapshot(home.lake)
    assert snap["rows"] == EXPECTED["rows"] and snap["payment_total"] == EXPECTED["payment_total"]


class _ColumnGate:
    """A gate that reads two tables, a few columns each: the lake shows it only those."""

    columns = {"payments": ["file_id", "payer_id"], "claims": ["file_key", "claim_number"]}

    def __init__(self) -> None:
        self.seen: dict[str, tuple[list[str], int]] = {}

    def __call__(self, tables: dict[str, pa.Table]) -> dict[str, object]:
        self.seen = {name: (t.column_names, t.num_rows) for name, t in tables.items()}
        payments = tables["payments"].to_pylist()
        return {p["file_id"]: "payer not allowed" for p in payments if p["payer_id"] == "PAYER2"}


def test_gate_with_columns_sees_only_those(home: Home) -> None:
    gate = _ColumnGate()
    result = load_abc(home, gate=gate)
    assert gate.seen == {
        "payments": (["file_id", "payer_id"], EXPECTED["rows"]["payments"]),
        "claims": (["file_key", "claim_number"], EXPECTED["rows"]["claims"]),
    }
    assert sorted(result.loaded) == ["a.835", "c"] and [n for n, _ in result.rejected] == ["b.txt"]
    assert snapshot(home.lake)["rows"]["claims"] == 5


# -- integer row keys (docs/parser.md, "Keys and ids") ------------------------------------------------------
def test_a_file_whose_key_collides_with_a_loaded_file_is_quarantined(home: Home, monkeypatch) -> None:
    from pipeline.lake import loader

    drop(home.inbox, "a.835", FILES["a.835"], age=300)
    assert ingest(home, workers=1).loaded == ["a.835"]
    # two different files whose sha256 begin with the same 8 bytes: forced, every file gets one key
    monkeypatch.setattr(loader, "file_key", lambda file_id: 42)
    drop(home.inbox, "b.835", FILES["b.txt"], age=200)
    result = ingest(home, workers=1)
    assert result.loaded == [] and [name for name, _ in result.rejected] == ["b.835"]
    report = json.loads((home.quarantine / "b.835.error.json").read_text())
    assert "file key collision" in report["message"] and "a.835" in report["message"]
    assert report["file_id"] == sha(FILES["b.txt"])
    # the lake holds a's rows only, b's bytes are kept in quarantine
    assert snapshot(home.lake)["rows"]["payments"] == 2  # a.835 holds two transactions
    assert (home.quarantine / "b.835").read_bytes() == FILES["b.txt"]


def test_a_lake_of_the_old_format_is_refused_then_upgraded_from_its_originals(home: Home) -> None:
    from pipeline.lake.state import LakeFormatError
    from pipeline.lake.upgrade import upgrade_lake

    load_abc(home)
    before = snapshot(home.lake)
    # a lake written by remit before integer keys: _state.json says format 1
    path = home.lake / "_state.json"
    state = json.loads(path.read_text())
    path.write_text(json.dumps({**state, "format": 1}))
    with pytest.raises(LakeFormatError) as refused:
        register_views(duckdb.connect(), home.lake)
    assert str(home.lake) in str(refused.value) and "remit lake upgrade" in str(refused.value)
    with pytest.raises(LakeFormatError):
        ingest(home, workers=1)  # nothing read, nothing written
    assert json.loads(path.read_text())["format"] == 1
    rc = cli_main(["--home", str(home.root), "build"])
    assert rc == 1  # a clear fatal error, not a misread lake
    result = upgrade_lake(home)
    assert result.from_format == 1 and sorted(result.loaded) == sorted(FILES)
    assert result.backup is not None and (result.backup / "_state.json").exists()
    after = snapshot(home.lake)
    # the same rows and sums, the files in the same order (the manifest is new: its own entries)
    assert {k: v for k, v in after.items() if k != "manifest"} == {
        k: v for k, v in before.items() if k != "manifest"
    }
    assert [(r[1], r[2], r[3]) for r in after["manifest"]] == [(r[1], r[2], r[3]) for r in before["manifest"]]
    assert upgrade_lake(home).from_format is None  # already upgraded: nothing to do


def test_shipped_parts_leave_out_null_columns_and_come_back_equal(tmp_path: Path) -> None:
    """A pool process ships its files' parts as Arrow files (``worker.ship``) without the columns null
    on every row of them; the parent (``receive``) gets back tables equal to the parts, schema and all,
    with those columns null. A column null in one file's part but not in another's is shipped."""
    from decimal import Decimal as D

    from pipeline.lake.worker import ParseOutcome, receive, ship

    schema = pa.schema(
        [
            ("file_key", pa.int64()),
            ("amount", pa.decimal128(18, 2)),
            ("drg_weight", pa.decimal128(18, 6)),  # null everywhere
            ("modifiers", pa.list_(pa.string())),  # null everywhere
            ("code", pa.string()),  # null in the first file only
            ("day", pa.date32()),  # null everywhere
            ("flag", pa.bool_()),  # null everywhere
            ("count", pa.int16()),  # null everywhere
        ]
    )

    def part(key: int, rows: int, code: str | None) -> pa.Table:
        return pa.table(
            {
                "file_key": [key] * rows,
                "amount": [D("1.25") * (i + 1) for i in range(rows)],
                "drg_weight": [None] * rows,
                "modifiers": [None] * rows,
                "code": [code] * rows,
                "day": [None] * rows,
                "flag": [None] * rows,
                "count": [None] * rows,
            },
            schema=schema,
        )

    parts = [part(1, 3, None), part(2, 2, "CO")]
    outcomes = [
        ParseOutcome(name=f"f{i}", file_id=f"{i}", parts={("claims", "2025-03"): p})
        for i, p in enumerate(parts)
    ]
    ship(outcomes, tmp_path)
    shipped = pa.ipc.open_file(pa.memory_map(str(tmp_path / "claims.2025-03.arrow"))).read_all()
    assert shipped.column_names == ["file_key", "amount", "code"]
    receive(outcomes)
    for out, original in zip(outcomes, parts, strict=True):
        got = out.parts[("claims", "2025-03")]
        got.validate(full=True)
        assert got.schema == original.schema and got.equals(original)
        assert got.to_pylist() == original.to_pylist()
        assert got.column("modifiers").null_count == got.num_rows
    assert not list(tmp_path.glob("*.arrow"))  # mapped, then unlinked
