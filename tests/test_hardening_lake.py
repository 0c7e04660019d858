"""Hardening of the lake's ingest night: what an unlucky operator or a careless sender does to it.

Each test is written from a defect found by trying (issue 16 and the trials listed in docs/lake.md,
"Tried and hardened"): it failed on the code before the fix. Files are the hand-built 835s of
``tests/fixtures/lake/x835.py``; expected counts are worked out by hand from their literals.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import stat
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.cli import main as cli_main
from pipeline.home import Home
from pipeline.lake import LakeState, ingest, register_views
from pipeline.lake.names import original, original_bytes, shown, stored
from pipeline.lake.state import LakeStateError

_spec = importlib.util.spec_from_file_location(
    "lake_x835_hardening", Path(__file__).parent / "fixtures" / "lake" / "x835.py"
)
x835 = importlib.util.module_from_spec(_spec)
sys.modules["lake_x835_hardening"] = x835
_spec.loader.exec_module(x835)
Claim, Line, Txn, build_835 = x835.Claim, x835.Line, x835.Txn, x835.build_835

# two claims in one payment: 90.00 + 60.00 paid
TXN_C = Txn(
    "TRC1",
    "PAYER1",
    "20250315",
    (Claim("C1", (Line("99213", "120.00", "90.00"),)), Claim("C2", (Line("99212", "75.00", "60.00"),))),
)
# three claims in two payments
TXN_A1 = Txn(
    "TRA1",
    "PAYER1",
    "20250310",
    (
        Claim("A1", (Line("99213", "120.00", "90.00"),)),
        Claim("A2", (Line("99214", "200.00", "0.00"),), status="4"),
    ),
)
TXN_A2 = Txn("TRA2", "PAYER1", "20250402", (Claim("A3", (Line("97110", "80.00", "64.50"),)),))
FILE_C = build_835([TXN_C], icn=13)  # 2 claims
FILE_A = build_835([TXN_A1, TXN_A2], icn=11)  # 3 claims
OLD = 120  # seconds: older than the settle window


@pytest.fixture(autouse=True)
def _quiet_cli_logging():
    """The CLI binds its log handler to the captured stderr of a test; drop it afterwards."""
    yield
    logging.getLogger("remit").handlers.clear()


def drop(inbox: Path, name: str | bytes, data: bytes, age: float = OLD) -> Path:
    """Put a file into the inbox as a finished transfer (modified ``age`` seconds ago)."""
    inbox.mkdir(parents=True, exist_ok=True)
    path = Path(os.fsdecode(os.path.join(os.fsencode(inbox), os.fsencode(name))))
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def claims_in_lake(home: Home) -> int:
    con = duckdb.connect()
    register_views(con, home.lake)
    return con.execute("SELECT count(*) FROM lake.claims").fetchone()[0]


def manifest(home: Home) -> list[dict[str, object]]:
    state = LakeState.load(home.lake)
    return state.read_manifest(home.lake).to_pylist()


def inbox_names(home: Home) -> list[str]:
    return sorted(p.name for p in home.inbox.iterdir() if not p.name.startswith("."))


# -- 1. a lost _state.json ---------------------------------------------------------------------------
def test_missing_state_with_parts_refuses_and_keeps_the_lake(home: Home, capsys) -> None:
    drop(home.inbox, "c.835", FILE_C)
    assert ingest(home, workers=1).loaded == ["c.835"]
    parts = sorted(p for p in home.lake.rglob("*.parquet"))
    assert len(parts) >= 3  # payments, claims, service lines, adjustments, manifest
    (home.lake / "_state.json").unlink()  # a partial restore, an operator's mistake
    drop(home.inbox, "a.835", FILE_A)

    with pytest.raises(LakeStateError, match=r"_state\.json is missing, but the lake holds"):
        ingest(home, workers=1)
    rc = cli_main(["--home", str(home.root), "ingest"])
    err = capsys.readouterr().err
    assert rc == 1 and "_state.json is missing" in err and "docs/operations.md" in err
    assert "Traceback" not in err
    assert sorted(home.lake.rglob("*.parquet")) == parts  # nothing deleted
    assert inbox_names(home) == ["a.835"]  # nothing taken from the inbox


def test_a_new_lake_gets_its_state_first_so_a_killed_first_run_is_still_cleaned(home: Home) -> None:
    ingest(home, workers=1)  # an empty first night writes the empty state
    assert LakeState.load(home.lake).generation == 0 and (home.lake / "_state.json").exists()
    stray = home.lake / "claims" / "payment_month=2025-03" / "b-0123.parquet"  # a killed commit's part
    stray.parent.mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), stray)
    drop(home.inbox, "c.835", FILE_C)
    assert ingest(home, workers=1).loaded == ["c.835"]
    assert not stray.exists() and claims_in_lake(home) == 2


# -- 15. a damaged _state.json -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "what"),
    [
        ('{"format": 1, "generation": 3, "manif', "not valid JSON"),
        ("", "is empty"),
        ('{"format": 2, "generation": "3", "manifest": null, "parts": {}}', "'generation' must be"),
        ('{"format": 2, "generation": 3, "manifest": null, "parts": ["x"]}', "'parts' must be"),
        ('{"format": 2, "manifest": null, "parts": {}}', "missing 'generation'"),
        ("[1, 2]", "not an object"),
    ],
)
def test_a_damaged_state_is_a_clear_error(home: Home, capsys, text: str, what: str) -> None:
    drop(home.inbox, "c.835", FILE_C)
    ingest(home, workers=1)
    (home.lake / "_state.json").write_text(text)
    with pytest.raises(LakeStateError, match=what) as caught:
        ingest(home, workers=1)
    assert str(home.lake / "_state.json") in str(caught.value) and "docs/operations.md" in str(caught.value)
    with pytest.raises(LakeStateError):  # readers (the views, the build) say the same
        register_views(duckdb.connect(), home.lake)
    assert cli_main(["--home", str(home.root), "ingest"]) == 1
    err = capsys.readouterr().err
    assert "fatal:" in err and "_state.json" in err and "Traceback" not in err


def test_a_state_naming_a_missing_manifest_is_a_clear_error(home: Home) -> None:
    drop(home.inbox, "c.835", FILE_C)
    ingest(home, workers=1)
    state = LakeState.load(home.lake)
    (home.lake / state.manifest).unlink()
    with pytest.raises(LakeStateError, match="names the manifest _manifest/manifest-"):
        ingest(home, workers=1)


# -- 2. a file that changes after it was read ----------------------------------------------------------
def _parser_then(action):
    """A ``Parser`` (the local engine's parse_task) that calls ``action(task)`` after parsing each file."""
    from pipeline.lake.worker import parse_task

    def parser(tasks):
        for task in tasks:
            out = parse_task(task)
            action(task)
            yield out

    return parser


def test_a_file_that_grows_after_it_was_read_stays_in_the_inbox(home: Home) -> None:
    half = len(FILE_A) // 2
    path = drop(home.inbox, "a.835", FILE_A[:half])  # the upload stalled past the settle time

    def resumes(task):
        with open(task.path, "ab") as fh:  # ... and then appends the rest through its open handle
            fh.write(FILE_A[half:])

    result = ingest(home, workers=1, parser=_parser_then(resumes))
    assert result.loaded == [] and result.rejected == [] and result.skipped == ["a.835"]
    assert path.read_bytes() == FILE_A and manifest(home) == [] and claims_in_lake(home) == 0
    assert not any(home.quarantine.iterdir())
    os.utime(path, (time.time() - OLD, time.time() - OLD))
    assert ingest(home, workers=1).loaded == ["a.835"]
    assert claims_in_lake(home) == 3  # all of it, once


def test_a_loaded_file_that_grows_before_the_commit_is_not_committed(home: Home) -> None:
    path = drop(home.inbox, "c.835", FILE_C)

    def appends(task):
        with open(task.path, "ab") as fh:
            fh.write(b"\n")

    result = ingest(home, workers=1, parser=_parser_then(appends))
    assert result.loaded == [] and result.skipped == ["c.835"]
    assert path.exists() and manifest(home) == [] and claims_in_lake(home) == 0


def test_a_file_changing_during_the_commit_abandons_the_batch(home: Home, monkeypatch) -> None:
    import pipeline.lake.loader as loader

    path = drop(home.inbox, "c.835", FILE_C)
    real = loader._Run._publish_parts

    def publish_while_appending(self, pending):
        if pending:
            with open(path, "ab") as fh:
                fh.write(b"\n")
        return real(self, pending)

    monkeypatch.setattr(loader._Run, "_publish_parts", publish_while_appending)
    with pytest.raises(RuntimeError, match=r"c\.835 changed while its batch was being committed"):
        ingest(home, workers=1)
    assert path.exists() and manifest(home) == [] and claims_in_lake(home) == 0
    monkeypatch.setattr(loader._Run, "_publish_parts", real)
    os.utime(path, (time.time() - OLD, time.time() - OLD))
    assert ingest(home, workers=1).loaded == ["c.835"] and claims_in_lake(home) == 2


# -- 3. a modification time in the future ------------------------------------------------------------
def test_a_future_mtime_is_taken_as_settled(home: Home, caplog) -> None:
    drop(home.inbox, "skewed.835", FILE_C, age=-3600)  # the sender's clock is an hour ahead
    drop(home.inbox, "fresh.835", FILE_A, age=-1)  # within the settle window: still being written
    with caplog.at_level(logging.WARNING, logger="remit.lake"):
        result = ingest(home, workers=1, settle_seconds=5)
    assert result.loaded == ["skewed.835"] and result.skipped == ["fresh.835"]
    assert "skewed.835 is modified in the future" in caplog.text


# -- 5. long and non-UTF-8 names -----------------------------------------------------------------------
def test_a_255_byte_name_loads_is_kept_and_its_duplicate_too(home: Home) -> None:
    name = "r" * 251 + ".835"
    assert len(name.encode()) == 255
    drop(home.inbox, name, FILE_C)
    assert ingest(home, workers=1).loaded == [name]
    drop(home.inbox, name, FILE_C)  # the sender sends it again, same name
    assert ingest(home, workers=1).duplicates == [name]
    rows = manifest(home)
    assert [(r["name"], r["status"]) for r in rows] == [(name, "loaded"), (name, "duplicate")]
    kept = [Path(r["stored_as"]) for r in rows]
    assert all(p.exists() and p.read_bytes() == FILE_C for p in kept) and kept[0] != kept[1]
    assert all(len(p.name.encode()) <= 255 for p in kept)


def test_a_long_name_is_quarantined_with_its_report(home: Home) -> None:
    name = "q" * 246 + ".835"  # 250 bytes: <name>.error.json would be 261
    drop(home.inbox, name, b"not an 835 at all\n")
    result = ingest(home, workers=1)
    assert [n for n, _ in result.rejected] == [name]
    (report_path,) = home.quarantine.glob("*.error.json")
    report = json.loads(report_path.read_text())
    assert report["file"] == name and "not an X12 file" in report["message"]
    assert Path(report["quarantined_as"]).read_bytes() == b"not an 835 at all\n"
    assert report_path.name == stored(name) + ".error.json"


def test_a_latin1_name_loads_and_keeps_its_bytes(home: Home) -> None:
    raw = b"caf\xe9-remit.835"  # "café" in Latin-1: not UTF-8
    drop(home.inbox, raw, FILE_C)
    drop(home.inbox, b"r\xe9sum\xe9.txt", b"just text\n", age=OLD - 1)
    result = ingest(home, workers=1)
    assert result.loaded == ["caf\\xe9-remit.835"] and [n for n, _ in result.rejected] == [
        "r\\xe9sum\\xe9.txt"
    ]
    rows = {r["status"]: r for r in manifest(home)}
    assert original_bytes(rows["loaded"]["name"]) == raw
    assert Path(original(rows["loaded"]["stored_as"])).read_bytes() == FILE_C
    report = json.loads(next(home.quarantine.glob("*.error.json")).read_text())
    assert original_bytes(report["file"]) == b"r\xe9sum\xe9.txt"
    assert claims_in_lake(home) == 2


def test_names_escape_and_come_back_exactly() -> None:
    for name in [
        "a.835",
        "x\ny",
        "caf\udce9",
        "back\\slash\\x41",
        "c1\x85",
        "tab\there",
        "line\u2028sep",
        "é",
    ]:
        text = shown(name)
        assert text.isprintable() and original(text) == name
    assert shown("x\nINFO y") == "x\\x0aINFO y" and shown("caf\udce9") == "caf\\xe9"
    assert original_bytes("caf\\xe9") == b"caf\xe9"


# -- 10. symbolic links and other non-regular files ---------------------------------------------------
def test_inbox_symlinks_are_refused_and_their_targets_untouched(home: Home, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    passwd = outside / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    passwd.chmod(0o644)
    other = outside / "other.835"
    other.write_bytes(FILE_C)
    for target in (passwd, other):  # old enough to be taken as settled
        os.utime(target, (time.time() - OLD,) * 2)
    for link, target in (("passwd", passwd), ("other.835", other)):
        (home.inbox / link).symlink_to(target)
        os.utime(home.inbox / link, (time.time() - OLD,) * 2, follow_symlinks=False)

    result = ingest(home, workers=1)
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o644 and passwd.exists() and other.exists()
    assert result.loaded == result.rejected == []
    assert sorted(n for n, _ in result.refused) == ["other.835", "passwd"]
    assert all("symbolic link" in why for _, why in result.refused)
    assert all((home.inbox / n).is_symlink() for n in ("passwd", "other.835"))  # left in place
    assert claims_in_lake(home) == 0 and manifest(home) == []
    assert "2 refused" in result.summary()


def test_a_fifo_in_the_inbox_is_refused_without_blocking(home: Home) -> None:
    os.mkfifo(home.inbox / "pipe.835")
    drop(home.inbox, "c.835", FILE_C)
    result = ingest(home, workers=1)
    assert result.loaded == ["c.835"] and result.refused == [("pipe.835", "a FIFO (named pipe)")]
    assert stat.S_ISFIFO(os.lstat(home.inbox / "pipe.835").st_mode)


# -- 11. over the size limit: refused unread -----------------------------------------------------------
def test_a_file_over_the_limit_is_refused_without_reading_it(home: Home, monkeypatch) -> None:
    import pipeline.lake.loader as loader

    big = home.inbox / "huge.835"
    with open(big, "wb") as fh:  # sparse: 64 MiB that take no disk space
        fh.write(b"ISA*00*")
        fh.truncate(64 << 20)
    os.utime(big, (time.time() - OLD,) * 2)
    drop(home.inbox, "c.835", FILE_C)
    monkeypatch.setenv("REMIT_MAX_FILE_BYTES", str(len(FILE_C)))
    read: list[str] = []
    real = loader._hash_and_sniff

    def spy(path):
        read.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(loader, "_hash_and_sniff", spy)
    result = ingest(home, workers=1)
    assert read == ["c.835"]  # huge.835 was never opened for hashing
    assert [n for n, _ in result.rejected] == ["huge.835"] and result.loaded == ["c.835"]
    report = json.loads((home.quarantine / "huge.835.error.json").read_text())
    assert "file too large: 67,108,864 bytes" in report["message"] and report["file_id"].startswith("unread-")
    assert (home.quarantine / "huge.835").stat().st_size == 64 << 20


# -- 13. control characters in names -------------------------------------------------------------------
def test_a_newline_in_a_name_cannot_forge_log_or_output_lines(home: Home, capsys) -> None:
    forged = "x.835\nINFO remit.lake: loaded payroll.835"
    drop(home.inbox, forged, b"not x12\n")
    drop(home.inbox, "ok\x1b[2J.835", FILE_C, age=OLD - 1)  # a terminal escape sequence
    rc = cli_main(["--home", str(home.root), "ingest"])
    out, err = capsys.readouterr()
    assert rc == 3
    lines = (out + err).splitlines()
    assert not [line for line in lines if line.startswith("INFO remit.lake: loaded payroll")]
    assert any("x.835\\x0aINFO remit.lake: loaded payroll.835" in line for line in lines)
    assert "\x1b" not in out + err and "ok\\x1b[2J.835" in out + err
    rows = manifest(home)
    assert sorted(r["name"] for r in rows) == sorted([shown(forged), "ok\\x1b[2J.835"])
    report = json.loads(next(home.quarantine.glob("*.error.json")).read_text())
    assert report["file"] == "x.835\\x0aINFO remit.lake: loaded payroll.835"


# -- trials: an unlucky operator (docs/lake.md, "Tried and hardened") -------------------------------------
def test_an_empty_file_stays_in_the_inbox_until_its_upload_writes(home: Home) -> None:
    path = drop(home.inbox, "slow.835", b"")  # created by the uploader, nothing written yet
    result = ingest(home, workers=1)
    assert result.rejected == [] and result.skipped == ["slow.835"] and path.exists()
    with open(path, "ab") as fh:  # the upload goes on, into the inbox (not into quarantine/)
        fh.write(FILE_C)
    os.utime(path, (time.time() - OLD,) * 2)
    assert ingest(home, workers=1).loaded == ["slow.835"] and claims_in_lake(home) == 2


def test_a_file_taken_away_while_being_quarantined_does_not_stop_the_night(
    home: Home, tmp_path: Path, monkeypatch
) -> None:
    import pipeline.lake.loader as loader

    drop(home.inbox, "bad.835", b"not x12\n", age=OLD + 10)
    drop(home.inbox, "c.835", FILE_C)
    real = loader._Run.reject

    def taken_by_the_other_home(self, cand, error):  # another home's run shares this inbox
        os.replace(cand.path, tmp_path / "taken")
        return real(self, cand, error)

    monkeypatch.setattr(loader._Run, "reject", taken_by_the_other_home)
    result = ingest(home, workers=1)
    assert result.loaded == ["c.835"] and result.rejected == []
    assert list(home.quarantine.iterdir()) == []  # no report without its file
    assert [r["status"] for r in manifest(home)] == ["loaded"]


def test_a_read_only_inbox_quarantines_a_copy_of_a_bad_file(home: Home, monkeypatch) -> None:
    import pipeline.lake.loader as loader

    bad = drop(home.inbox, "bad.835", b"not x12\n", age=OLD + 10)
    good = drop(home.inbox, "c.835", FILE_C)
    real = os.rename

    def read_only_inbox(src, dst, *args, **kwargs):  # root ignores folder permissions: simulate EACCES
        if Path(src).parent == home.inbox:
            raise PermissionError(13, "Permission denied", str(src))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(loader.os, "rename", read_only_inbox)
    result = ingest(home, workers=1)
    assert result.loaded == ["c.835"] and [n for n, _ in result.rejected] == ["bad.835"]
    assert (home.quarantine / "bad.835").read_bytes() == b"not x12\n" and bad.exists() and good.exists()
    assert stat.S_IMODE((home.quarantine / "bad.835").stat().st_mode) == 0o600


def test_a_hard_link_into_the_inbox_leaves_the_other_name_alone(home: Home, tmp_path: Path) -> None:
    outside = tmp_path / "settings.conf"  # same filesystem as the inbox
    outside.write_text("not a remittance\n")
    outside.chmod(0o644)
    os.utime(outside, (time.time() - OLD,) * 2)
    os.link(outside, home.inbox / "linked.835")
    result = ingest(home, workers=1)
    assert [n for n, _ in result.rejected] == ["linked.835"]
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644 and outside.read_text() == "not a remittance\n"
    assert stat.S_IMODE((home.quarantine / "linked.835").stat().st_mode) == 0o600


def test_the_state_file_follows_the_umask(home: Home) -> None:
    drop(home.inbox, "c.835", FILE_C)
    old = os.umask(0o077)
    try:
        ingest(home, workers=1)
    finally:
        os.umask(old)
    assert stat.S_IMODE((home.lake / "_state.json").stat().st_mode) == 0o600
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in home.lake.rglob("*") if p.is_file())


def test_a_mistyped_or_misplaced_inbox_is_refused(home: Home, tmp_path: Path, capsys) -> None:
    with pytest.raises(NotADirectoryError, match="does not exist or is not a folder"):
        ingest(home, inbox=tmp_path / "inbxo", workers=1)
    (home.root / "patient-key.secret").touch()
    os.utime(home.root / "patient-key.secret", (time.time() - OLD,) * 2)
    for wrong in (home.root, home.lake, home.quarantine, home.inbox / ".processed"):
        wrong.mkdir(exist_ok=True)
        with pytest.raises(ValueError, match="a folder remit writes into"):
            ingest(home, inbox=wrong, workers=1)
    assert (home.root / "patient-key.secret").exists() and list(home.quarantine.iterdir()) == []
    assert cli_main(["--home", str(home.root), "ingest", "--inbox", str(tmp_path / "inbxo")]) == 1
    assert "does not exist or is not a folder" in capsys.readouterr().err


def test_a_missing_live_part_is_a_clear_error(home: Home) -> None:
    drop(home.inbox, "c.835", FILE_C)
    ingest(home, workers=1)
    part = LakeState.load(home.lake).parts["claims"][0]
    (home.lake / part).unlink()
    with pytest.raises(LakeStateError, match=f"names 1 parts that are missing \\(e.g. {part}\\)"):
        ingest(home, workers=1)


def test_sub_folders_are_logged_not_searched(home: Home, caplog) -> None:
    (home.inbox / "x.835").mkdir()  # a folder named like a file
    drop(home.inbox / "x.835", "inside.835", FILE_C)
    with caplog.at_level(logging.INFO, logger="remit.lake"):
        result = ingest(home, workers=1)
    assert result.loaded == [] and "1 sub-folders of the inbox are not searched: x.835" in caplog.text


def test_a_run_killed_while_quarantining_leaves_no_orphan_report(home: Home, monkeypatch) -> None:
    import pipeline.lake.loader as loader

    drop(home.inbox, "bad.835", b"not x12\n")
    real = loader._move_durably

    def killed_before_the_move(src, dest, mode=None, **kw):
        if mode is not None:  # the quarantine move: the report is written, the file not moved yet
            raise KeyboardInterrupt
        return real(src, dest, mode, **kw)

    monkeypatch.setattr(loader, "_move_durably", killed_before_the_move)
    with pytest.raises(KeyboardInterrupt):
        ingest(home, workers=1)
    monkeypatch.setattr(loader, "_move_durably", real)
    assert [n for n, _ in ingest(home, workers=1).rejected] == ["bad.835"]
    assert sorted(p.name for p in home.quarantine.iterdir()) == ["bad.835", "bad.835.error.json"]
    report = json.loads((home.quarantine / "bad.835.error.json").read_text())
    assert Path(report["quarantined_as"]) == home.quarantine / "bad.835"


def test_a_commit_flushes_each_folder_of_its_moves_once_after_the_renames(home: Home, monkeypatch) -> None:
    """Moving the loaded files out of the inbox makes the renames durable with one flush per folder (the
    inbox and the day's processed folder), after every rename of the commit, not two flushes per file."""
    import pipeline.lake.loader as loader

    for name, data in (("a.835", FILE_A), ("c.835", FILE_C), ("c-again.835", FILE_C)):
        drop(home.inbox, name, data)
    events: list[tuple[str, str]] = []
    real_rename, real_fsync_dir = os.rename, loader.fsync_dir

    def rename(src, dest, *args, **kw):
        events.append(("rename", Path(dest).name))
        return real_rename(src, dest, *args, **kw)

    def fsync_dir(path):
        events.append(("flush", str(path)))
        return real_fsync_dir(path)

    monkeypatch.setattr(loader.os, "rename", rename)
    monkeypatch.setattr(loader, "fsync_dir", fsync_dir)
    result = ingest(home, workers=1)
    assert (sorted(result.loaded), result.duplicates) == (["a.835", "c.835"], ["c-again.835"])
    renames = [i for i, (kind, name) in enumerate(events) if kind == "rename" and name.endswith(".835")]
    assert len(renames) == 3
    after = [name for kind, name in events[renames[-1] + 1 :] if kind == "flush"]
    processed = next((home.inbox / ".processed").iterdir())
    assert sorted(after) == sorted([str(home.inbox), str(processed)])
    assert not [e for e in events[renames[0] : renames[-1]] if e[0] == "flush"]
    assert sorted(p.name for p in processed.iterdir()) == ["a.835", "c-again.835", "c.835"]


def test_a_utf16_file_is_loaded_not_quarantined(home: Home) -> None:
    """The parser reads UTF-16 835s (seen from some Windows senders); the inbox triage must not quarantine
    them as "not X12" before the parser sees them."""
    drop(home.inbox, "utf16.835", b"\xff\xfe" + FILE_C.decode().encode("utf-16-le"))
    result = ingest(home, workers=1)
    assert (result.loaded, result.rejected) == (["utf16.835"], [])
    assert claims_in_lake(home) == 2  # C1 and C2


def test_parse_output_escapes_file_names(tmp_path: Path, capsys) -> None:
    """``remit parse`` prints one line per rejected file: a newline in its name must not forge another."""
    bad = drop(tmp_path, "bad\nrejected forged.835", b"ISA*garbage~")
    code = cli_main(["parse", str(bad), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 3
    rejected = [line for line in out.splitlines() if line.startswith("rejected")]
    assert len(rejected) == 1 and "bad\\x0arejected forged.835" in rejected[0]


@pytest.mark.parametrize("where", ["gate", "build"])
def test_a_full_disk_is_named_with_the_room_left_and_the_next_run_finishes(
    home: Home, monkeypatch, capsys, where: str
) -> None:
    """A disk filling up mid-night (found on a 6 MB tmpfs: GX's result store, a Parquet part or the
    warehouse's WAL) ended in a bare "fatal: [Errno 28] No space left on device", the file unnamed (a plain
    write names none). Now: what failed, the room left where the home is, what to do; and the next run,
    with room again, loads and builds everything once."""
    import errno

    import pipeline.quality.gate as gate
    import pipeline.warehouse as warehouse

    def full(*args, **kwargs):
        if where == "gate":
            raise OSError(errno.ENOSPC, "No space left on device")
        raise duckdb.IOException('Could not write file "warehouse.duckdb.wal": No space left on device')

    drop(home.inbox, "c.835", FILE_C)
    target = (gate.BatchGate, "__call__") if where == "gate" else (warehouse, "build")
    with monkeypatch.context() as patched:
        patched.setattr(*target, full)
        assert cli_main(["--home", str(home.root), "run"]) == 1
    err = capsys.readouterr().err
    assert "fatal: a disk is full (" in err and "No space left on device" in err and "Traceback" not in err
    assert f"free on the disk of {home.root}" in err and "run remit again" in err
    assert claims_in_lake(home) == (0 if where == "gate" else 2) and not home.warehouse.exists()
    assert cli_main(["--home", str(home.root), "run"]) == 0
    assert claims_in_lake(home) == 2  # C1 and C2, once
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.claim_outcomes").fetchone() == (2,)
