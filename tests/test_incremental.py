"""Incremental builds (pipeline.warehouse.incremental): a night's build equals a full build of the same lake.

A generated year (835s with their lifecycles, and 837s) is fed to one home night by night; after each
night the home is built incrementally, and a copy of its lake is built with ``full=True``. Every table and
view of schema ``marts`` must then hold the same rows (all columns, order-independent), except the build
identity columns of the KPI history (``build_id``, ``built_at``, ``previous_build_id``): each build has
its own id and time by design, the figures under them must agree. The nights are checked to contain what
makes incremental builds hard: late reversals and corrections of claims loaded on earlier nights, appeals
overturned in a later month, 837s answered on a later night, write-offs that become final only because the
as-of date moved past their window, and a file removed from the lake.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.home import Home
from pipeline.lake import ingest
from pipeline.lake.remove import remove_file
from pipeline.warehouse import _record_stamp, build
from pipeline.warehouse.history import HISTORY_FILE
from pipeline.warehouse.models import ModelError, parse_model

BUILD_COLUMNS = {"build_id", "built_at", "previous_build_id"}


def _drop(files: list[Path], inbox: Path) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    old = time.time() - 3600  # settled transfers
    for f in files:
        shutil.copy(f, inbox / f.name)
        os.utime(inbox / f.name, (old, old))


def _full_copy(home: Home, dest: Path, history: Path | None) -> Home:
    """A copy of ``home``'s lake and payers, built from scratch (``full=True``) with ``history`` (the KPI
    history file as it was before ``home``'s last build) as its history: both then hold as many builds."""
    shutil.copytree(
        home.root,
        dest,
        ignore=shutil.ignore_patterns(
            "warehouse.duckdb*", "kpi_month_history.duckdb*", "inbox", "reports", "quarantine", ".lock"
        ),
    )
    if history is not None:
        shutil.copy(history, dest / HISTORY_FILE)
    copy = Home(dest)
    result = build(copy, full=True)
    assert result.mode == "full" and result.mode_note == "--full"
    return copy


def _relations(con: duckdb.DuckDBPyConnection, db: str) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'marts' "
        "UNION SELECT view_name FROM duckdb_views() WHERE database_name = ? AND schema_name = 'marts' "
        "ORDER BY 1",
        [db, db],
    ).fetchall()
    return [r[0] for r in rows]


def _differences(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """Relations of schema marts whose rows differ between warehouses ``a`` and ``b``: name -> (rows only
    in a, rows only in b), multisets over every column but the build identity ones."""
    con = duckdb.connect(config={"file_search_path": str(a.parent)})
    try:
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        names = _relations(con, "a")
        assert names == _relations(con, "b")
        out = {}
        for name in names:
            cols = [r[0] for r in con.execute(f"DESCRIBE a.marts.{name}").fetchall()]
            listed = ", ".join(f'"{c}"' for c in cols if c not in BUILD_COLUMNS)
            x, y = (
                con.execute(
                    f"SELECT count(*) FROM (SELECT {listed} FROM {p}.marts.{name} "
                    f"EXCEPT ALL SELECT {listed} FROM {q}.marts.{name})"
                ).fetchone()[0]
                for p, q in (("a", "b"), ("b", "a"))
            )
            if x or y:
                out[name] = (x, y)
        return out
    finally:
        con.close()


def _query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(config={"file_search_path": str(path.parent)})
    try:
        con.execute(f"ATTACH '{path}' AS w (READ_ONLY)")
        con.execute("USE w")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _history_before(home: Home, tmp_path: Path) -> Path | None:
    """A copy of the home's KPI history file as it is now (before a build appends to it)."""
    path = home.root / HISTORY_FILE
    if not path.exists():
        return None
    keep = tmp_path / "history-before.duckdb"
    shutil.copy(path, keep)
    return keep


def _loaded_home(
    workload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, first: int
) -> tuple[Home, list[Path]]:
    """A home with the workload's payers and its ``first`` 835s ingested (not built), and every 835 of the
    workload in name order; any scope stays incremental (no share of the lake forces a full build)."""
    monkeypatch.setattr("pipeline.warehouse.incremental.MAX_SCOPE_SHARE", 1.0)
    remits = sorted(workload.glob("*.835"))
    home = Home(tmp_path / "home").ensure()
    shutil.copy(workload / "payers.csv", home.root / "payers.csv")
    _drop(remits[:first], home.inbox)
    ingest(home, workers=1)
    return home, remits


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pipeline.synth import generate

    out = tmp_path_factory.mktemp("incremental") / "synth"
    generate(out, claims=2400, files=24, seed=18, with_837=True)
    return out


def test_incremental_equals_full_night_by_night(
    workload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a small lake's nights touch a large share of it: keep them incremental all the same
    monkeypatch.setattr("pipeline.warehouse.incremental.MAX_SCOPE_SHARE", 1.0)
    remits = sorted(workload.glob("*.835"))
    subs = sorted((workload / "837").glob("*.837"))
    assert len(remits) == 24 and len(subs) > 40
    third = len(subs) // 3
    nights = [
        remits[:12] + subs[:third],  # the first half year: a full build (nothing published yet)
        remits[12:16] + subs[third : 2 * third],
        remits[16:19],
        remits[19:21] + subs[2 * third :],
        [],  # a night that only removes a file loaded on night 1
        remits[21:],
    ]
    home = Home(tmp_path / "home").ensure()
    shutil.copy(workload / "payers.csv", home.root / "payers.csv")
    night_of: dict[str, int] = {}
    seen: list[dict[str, object]] = []
    for n, files in enumerate(nights):
        night_of.update({f.name: n for f in files})
        _drop(files, home.inbox)
        if files:
            loaded = ingest(home, workers=1)
            assert not loaded.rejected
        if n == 4:
            victim = remits[13].name
            (file_id,) = _query(home.warehouse, f"SELECT file_id FROM lake.manifest WHERE name = '{victim}'")[
                0
            ]
            remove_file(home, file_id)
        history = _history_before(home, tmp_path)
        result = build(home)
        if n == 0:
            assert result.mode == "full" and result.mode_note == "no published warehouse yet"
        else:
            assert result.mode == "incremental", result.mode_note
        full = _full_copy(home, tmp_path / f"full-{n}", history)
        print(f"night {n}: {result.mode_note}")
        assert _differences(home.warehouse, full.warehouse) == {}, f"night {n}: {result.mode_note}"
        seen.append(
            {
                "note": result.mode_note,
                "claims": _query(home.warehouse, "SELECT count(*) FROM marts.claim_netting")[0][0],
                "events": dict(
                    _query(home.warehouse, "SELECT denial_id, resolution FROM marts.denial_events")
                ),
                "unanswered": {
                    r[0]
                    for r in _query(
                        home.warehouse,
                        "SELECT submitted_claim_id FROM marts.submission_matches WHERE NOT is_matched",
                    )
                },
            }
        )
        shutil.rmtree(full.root)

    # the removal night: fewer claims, the removed file's CLP01s in the scope, the removal in the note
    assert seen[4]["claims"] < seen[3]["claims"]
    assert "0 file(s) added, 1 removed" in seen[4]["note"] and "removed " in seen[4]["note"]
    # write-offs that became final only because the as-of date moved past their window
    flipped = [
        d
        for k in range(1, len(seen))
        for d, r in seen[k]["events"].items()
        if r == "written_off" and seen[k - 1]["events"].get(d) == "open"
    ]
    assert flipped
    assert any("as_of " in s["note"] for s in seen[1:])
    # 837s loaded on one night, answered by a remit of a later night
    answered_later = [
        s for k in range(1, len(seen)) for s in seen[k - 1]["unanswered"] - seen[k]["unanswered"]
    ]
    assert answered_later
    last = home.warehouse
    # each claim's key (the fact marts'), readable id (denial_events') and the name of the file it came in
    file_night = (
        "(SELECT c.claim_id, c.claim_ref, m.name FROM staging.stg_claims AS c "
        "JOIN staging.stg_payments AS p USING (transaction_id) "
        "JOIN lake.manifest AS m ON m.file_id = p.file_id)"
    )
    # late reversals and corrections of claims remitted on an earlier night
    pairs = _query(
        last,
        f"SELECT n.netting_role, o.name, r.name FROM marts.claim_netting AS n "
        f"JOIN {file_night} AS r ON r.claim_id = n.claim_id "
        f"JOIN {file_night} AS o ON o.claim_id = coalesce(n.matched_claim_id, n.replaces_claim_id) "
        "WHERE n.netting_role IN ('reversal_matched', 'correction')",
    )
    roles = {role for role, orig, new in pairs if night_of[new] > night_of[orig]}
    assert roles == {"reversal_matched", "correction"}
    # appeals overturned in a later month by a remit of a later night
    overturned = _query(
        last,
        f"SELECT d.name, r.name FROM marts.denial_events AS e "
        f"JOIN {file_night} AS d ON d.claim_ref = e.claim_id "
        f"JOIN {file_night} AS r ON r.claim_ref = e.resolved_by_claim_id "
        "WHERE e.resolution = 'overturned' AND e.resolution_month > e.first_denied_month",
    )
    assert any(night_of[r] > night_of[d] for d, r in overturned)
    # one set of KPI history rows per build
    builds = _query(last, "SELECT count(DISTINCT build_id) FROM marts.kpi_month_history")[0][0]
    assert builds == len(nights)


def test_failed_incremental_night_leaves_the_warehouse_and_the_next_night_is_right(
    workload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, remits = _loaded_home(workload, tmp_path, monkeypatch, first=16)
    build(home)
    before = _sha(home.warehouse)
    _drop(remits[16:20], home.inbox)
    ingest(home, workers=1)

    def crash(new: Path) -> None:
        assert new.is_file() and new != home.warehouse
        raise RuntimeError("injected failure before publishing")

    with pytest.raises(RuntimeError, match="injected"):
        build(home, before_publish=crash)
    assert _sha(home.warehouse) == before
    assert sorted(p.name for p in home.warehouse.parent.glob("warehouse.duckdb*")) == ["warehouse.duckdb"]
    history = _history_before(home, tmp_path)
    result = build(home)
    assert result.mode == "incremental"
    full = _full_copy(home, tmp_path / "full", history)
    assert _differences(home.warehouse, full.warehouse) == {}


def test_a_failed_state_copy_fails_the_full_build_and_leaves_the_warehouse(
    workload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The persisted models are copied into schema incremental on a second cursor in the background: an
    error there must still fail the build, name its cause, and publish nothing."""
    home, _ = _loaded_home(workload, tmp_path, monkeypatch, first=4)
    build(home)
    before = _sha(home.warehouse)
    copied = []

    def broken(con, plan, model) -> None:
        copied.append(model.name)
        raise RuntimeError(f"injected: no room to copy {model.name}")

    monkeypatch.setattr("pipeline.warehouse.save_persisted", broken)
    with pytest.raises(RuntimeError, match="injected: no room to copy intermediate.int_"):
        build(home, full=True)
    assert copied  # the copy was attempted, in the background
    assert _sha(home.warehouse) == before
    assert sorted(p.name for p in home.warehouse.parent.glob("warehouse.duckdb*")) == ["warehouse.duckdb"]


def test_a_back_dated_night_moves_no_kept_claim(
    workload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose payments are dated before payments already built leaves every kept claim's place in
    claim order (``int_claims.seq``) as it was: seq comes from the claim's own row, not from a rank over
    the lake (which renumbered every later claim), and the night still equals a full build."""
    monkeypatch.setattr("pipeline.warehouse.incremental.MAX_SCOPE_SHARE", 1.0)
    remits = sorted(workload.glob("*.835"))
    home = Home(tmp_path / "home").ensure()
    shutil.copy(workload / "payers.csv", home.root / "payers.csv")
    late = remits[5]  # held back a night: dated before the payments of remits 6..11
    _drop([f for f in remits[:12] if f != late], home.inbox)
    ingest(home, workers=1)
    assert build(home).mode == "full"
    claims = "SELECT claim_id, seq FROM incremental.int_claims"
    before = dict(_query(home.warehouse, claims))
    last_paid = _query(home.warehouse, "SELECT max(payment_date) FROM staging.stg_payments")[0][0]
    _drop([late], home.inbox)
    ingest(home, workers=1)
    history = _history_before(home, tmp_path)
    result = build(home)
    assert result.mode == "incremental", result.mode_note
    (first_late,) = _query(
        home.warehouse,
        "SELECT min(p.payment_date) FROM staging.stg_payments AS p JOIN lake.manifest AS m USING (file_id) "
        f"WHERE m.name = '{late.name}'",
    )[0]
    assert first_late < last_paid  # the night's payments come before kept ones in claim order
    after = dict(_query(home.warehouse, claims))
    assert len(after) > len(before)
    assert {c: after[c] for c in before} == before
    assert _differences(home.warehouse, _full_copy(home, tmp_path / "full", history).warehouse) == {}


def test_changed_payers_or_full_flag_rebuild_whole(
    workload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = _loaded_home(workload, tmp_path, monkeypatch, first=6)
    assert build(home).mode == "full"
    assert build(home).mode == "incremental"
    # settings change no mart: another environment (make demo's, an operator's shell) stays incremental
    monkeypatch.setenv("REMIT_INBOX_SETTLE_SECONDS", "0")
    monkeypatch.setenv("REMIT_WAREHOUSE_MEMORY", "1500MB")
    assert build(home).mode == "incremental"
    assert build(home, full=True).mode_note == "--full"
    with (home.root / "payers.csv").open("a", encoding="utf-8") as fh:
        fh.write("NEWPAYER1,New Payer,dental\n")
    result = build(home)
    assert result.mode == "full"
    assert "payers.csv" in result.mode_note and "full build:" in result.summary()


def test_duckdb_runs_a_night_under_1gb_and_a_full_build_under_2gb(
    workload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caps DuckDB reports on the build's connection and on the warehouse checks' (which test only
    the rows changed since their last pass on an incremental night), against DuckDB's own rendering of
    1GB and 2GB."""
    import pipeline.quality.checks as checks
    import pipeline.warehouse as warehouse
    from pipeline.nightly import run_nightly

    def shown(size: str) -> str:
        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{size}'")
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    seen: list[tuple[str, str]] = []
    real_configure, real_inputs = warehouse._configure, checks.warehouse_inputs

    def configure(con, *, full):
        real_configure(con, full=full)
        seen.append(("build", con.execute("SELECT current_setting('memory_limit')").fetchone()[0]))

    def inputs(con):
        seen.append(("checks", con.execute("SELECT current_setting('memory_limit')").fetchone()[0]))
        return real_inputs(con)

    monkeypatch.setattr(warehouse, "_configure", configure)
    monkeypatch.setattr(checks, "warehouse_inputs", inputs)
    home, remits = _loaded_home(workload, tmp_path, monkeypatch, first=6)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    assert seen == [("build", shown("2GB")), ("checks", shown("2GB"))]  # the first night: full
    seen.clear()
    _drop(remits[6:8], home.inbox)
    result = run_nightly(home, workers=1, report=False)
    assert result.exit_code == 0 and result.build.mode == "incremental"
    assert seen == [("build", shown("1GB")), ("checks", shown("1GB"))]
    seen.clear()
    monkeypatch.setenv("REMIT_WAREHOUSE_MEMORY", "1500MB")  # given: every build and check
    _drop(remits[8:9], home.inbox)
    assert run_nightly(home, workers=1, report=False).build.mode == "incremental"
    assert seen == [("build", shown("1500MB")), ("checks", shown("1500MB"))]


def test_a_warehouse_changed_or_held_by_a_writer_gets_a_full_build(
    workload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An incremental build starts from a copy of the published file: only from the file remit published.

    An analyst's read-write session that deleted mart rows and checkpointed would otherwise carry the
    damage into every later night; one that holds the file now could checkpoint into it mid-copy.
    """
    home, _ = _loaded_home(workload, tmp_path, monkeypatch, first=6)
    assert build(home).mode == "full"
    with duckdb.connect(str(home.warehouse)) as con:  # an analyst's read-write session
        con.execute(
            "DELETE FROM marts.denial_event_facts "
            "WHERE denial_id IN (SELECT min(denial_id) FROM marts.denial_event_facts)"
        )
        con.execute("CHECKPOINT")
    history = _history_before(home, tmp_path)
    result = build(home)
    assert (result.mode, result.mode_note) == (
        "full",
        "the published warehouse was changed after remit built it (a read-write session?)",
    )
    assert _differences(home.warehouse, _full_copy(home, tmp_path / "full", history).warehouse) == {}
    assert build(home).mode == "incremental"  # the file is again the one remit published

    holder = subprocess.Popen(  # another process holds the file read-write, as an analyst's notebook does
        [sys.executable, "-c", HOLD_READ_WRITE, str(home.warehouse)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        result = build(home)
    finally:
        holder.kill()
        holder.wait()
    assert result.mode == "full"
    assert result.mode_note.startswith("the published warehouse is held by a read-write session")
    assert build(home).mode == "incremental"


HOLD_READ_WRITE = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(600)
"""


def test_incremental_header(tmp_path: Path) -> None:
    sql = tmp_path / "m.sql"
    head = "-- name: marts.m\n-- materialized: table\n-- grain: one row\n-- description: d\n"
    head += "-- column claim_id: c\n"
    sql.write_text(head + "-- incremental: claim_id\nSELECT 1 AS claim_id")
    assert parse_model(sql).incremental == "claim_id" and parse_model(sql).keyed
    sql.write_text(head + "SELECT 1 AS claim_id")
    assert parse_model(sql).incremental == "full" and not parse_model(sql).keyed
    sql.write_text(head + "-- incremental: payer_key\nSELECT 1 AS claim_id")
    with pytest.raises(
        ModelError, match="incremental must be full, payment_month or one of claim_id, episode_id"
    ):
        parse_model(sql)
    month = head + "-- column payment_month: m\n-- column payer_key: p\n"
    sql.write_text(month + "-- incremental: payment_month, payer_key\nSELECT 1 AS claim_id")
    assert (parse_model(sql).sliced, parse_model(sql).slice_columns) == (True, ["payer_key"])
    sql.write_text(month + "-- incremental: claim_id, payer_key\nSELECT 1 AS claim_id")
    with pytest.raises(ModelError, match="only payment_month takes further columns"):
        parse_model(sql)
    sql.write_text(month + "-- incremental: payment_month, reason_code\nSELECT 1 AS claim_id")
    with pytest.raises(ModelError, match="incremental column 'reason_code' has no '-- column' line"):
        parse_model(sql)
    sql.write_text(head.replace("table", "view") + "-- incremental: claim_id\nSELECT 1 AS claim_id")
    with pytest.raises(ModelError, match="a view takes no"):
        parse_model(sql)
    deps = "-- depends_on: marts.a, marts.b\n"
    # additive marts: payment_month without slice columns, each additive column documented
    additive = month + deps + "-- column n: count\n-- column d: dollars\n"
    sql.write_text(additive + "-- incremental: payment_month\n-- additive: n, d\nSELECT 1 AS claim_id")
    assert (parse_model(sql).sliced, parse_model(sql).additive) == (True, ["n", "d"])
    sql.write_text(
        additive + "-- incremental: payment_month, payer_key\n-- additive: n\nSELECT 1 AS claim_id"
    )
    with pytest.raises(ModelError, match="additive needs '-- incremental: payment_month' and no slice"):
        parse_model(sql)
    sql.write_text(additive + "-- incremental: full\n-- additive: n\nSELECT 1 AS claim_id")
    with pytest.raises(ModelError, match="additive needs"):
        parse_model(sql)
    sql.write_text(additive + "-- incremental: payment_month\n-- additive: n, x\nSELECT 1 AS claim_id")
    with pytest.raises(ModelError, match="additive column 'x' has no '-- column' line"):
        parse_model(sql)


def test_keyed_model_must_read_keyed_or_complete_inputs() -> None:
    from pipeline.warehouse.incremental import make_plan
    from pipeline.warehouse.models import load_models

    models = load_models()
    plan = make_plan(models)
    names = {m.name for m in plan.persisted}
    assert {
        "intermediate.int_claims",
        "intermediate.int_submissions",
        "intermediate.int_denial_events",
    } <= names
    kpi = next(m for m in models if m.name == "marts.kpi_month")
    assert kpi in plan.full and kpi not in plan.scope_models
    # claim_outcomes keyed while reading kpi_month (whole, built from keyed marts) cannot be cut by scope
    outcomes = next(m for m in models if m.name == "marts.claim_outcomes")
    outcomes.depends_on = [*outcomes.depends_on, "marts.kpi_month"]
    with pytest.raises(ValueError, match="claim_outcomes.sql: incremental claim_id reads marts.kpi_month"):
        make_plan(models)


def test_additive_marts_read_keyed_marts_and_complete_inputs() -> None:
    """An additive mart's measures come from the scope's rows before and after the night: its inputs
    are keyed marts (and dimensions or reference tables read whole), never a lake view or a month mart."""
    from pipeline.warehouse.incremental import make_plan
    from pipeline.warehouse.models import load_models

    models = load_models()
    additive = {m.name for m in make_plan(models).full if m.additive}
    assert {
        "marts.denials_by_carc_month",
        "marts.handbook_carc_procedure_month",
        "marts.handbook_carc_remark_month",
        "marts.handbook_remark_month",
    } <= additive
    procedures = next(m for m in models if m.name == "marts.handbook_carc_procedure_month")
    procedures.depends_on = [*procedures.depends_on, "staging.stg_remarks"]
    with pytest.raises(ValueError, match="additive needs keyed marts .* not staging.stg_remarks"):
        make_plan(models)
    procedures.depends_on = ["marts.dim_payer"]
    with pytest.raises(ValueError, match="not none keyed"):
        make_plan(models)


def test_a_night_refuses_to_patch_an_additive_mart_that_disagrees_with_its_inputs(
    workload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A night adds and subtracts on an additive mart as the last build left it: a row of it deleted by
    hand (so the night's claims as they were are no longer in it) fails the night, naming the mart and
    the way out, and the published warehouse stays as it was; --full puts it right."""
    home, remits = _loaded_home(workload, tmp_path, monkeypatch, first=12)
    build(home)
    con = duckdb.connect(str(home.warehouse))
    try:
        con.execute("DELETE FROM marts.denials_by_carc_month")
    finally:
        con.close()
    _record_stamp(home.warehouse)  # a change the stamp cannot see (the night stays incremental)
    before = _sha(home.warehouse)
    _drop(remits[12:16], home.inbox)
    ingest(home, workers=1)
    with pytest.raises(
        RuntimeError, match=r"marts.denials_by_carc_month disagrees with its inputs .* --full"
    ):
        build(home)
    assert _sha(home.warehouse) == before
    history = _history_before(home, tmp_path)
    assert build(home, full=True).mode == "full"
    assert _differences(home.warehouse, _full_copy(home, tmp_path / "full", history).warehouse) == {}


def test_the_state_keeps_the_columns_that_are_read() -> None:
    """Schema incremental keeps of each intermediate model the columns some full model or the scope's
    seeding reads (worked out from the SQL: int_plb_claim_links reads the claims' seq, payment date and
    reversal flag, kpi_month their payment date; kpi_month names charge_amount and paid_amount without a
    table, so they are kept on doubt) and not the others (no full model reads a claim's date received or
    statement date; of netting the PLB marts read only the role)."""
    from pipeline.warehouse.incremental import make_plan
    from pipeline.warehouse.models import load_models

    plan = make_plan(load_models())
    by_name = {m.name: m for m in plan.persisted}
    claims = by_name["intermediate.int_claims"]
    columns = [
        "claim_id",
        "seq",
        "episode_id",
        "patient_control_number",
        "payment_date",
        "is_reversal",
        "charge_amount",
        "paid_amount",
        "received_date",
        "statement_from_date",
    ]
    assert plan.kept_columns(claims, columns) == [
        "claim_id",
        "seq",
        "episode_id",
        "patient_control_number",
        "payment_date",
        "is_reversal",
        "charge_amount",
        "paid_amount",
    ]
    netting = by_name["intermediate.int_claim_netting"]
    assert plan.kept_columns(netting, ["claim_id", "netting_role", "counts_as_remit", "is_netted_out"]) == [
        "claim_id",
        "netting_role",
    ]


def test_a_night_that_only_moves_the_as_of_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing new for a denial's episode, but a later payment moves the as-of date past its window.

    Night 1: PCN-OLD denied (CO-50, $300) on 2025-01-10, PCN-NEW denied (CO-50, $80) on 2025-06-01, both
    open (as-of 2025-06-01). Night 2 brings only PCN-LATE (paid, another payer) on 2025-08-01: PCN-OLD's
    window ends on 2025-07-09 (2025-01-10 + 180 days), so it is written off on that day, its $300 counted in
    July's write-offs of MED1, a month without any payment of MED1; PCN-NEW stays open and only ages (61
    days, deadline 2025-08-30 = 90 appeal days, so 29 days left). Night 3 brings nothing at all. Night 4
    brings the first 837 (PCN-OLD's): PCN-NEW and PCN-LATE are then remits without a submission; night 5
    brings PCN-NEW's 837.
    """
    from tests.test_lifecycle import PAYERS_CSV, claim, line, remit
    from tests.test_submissions import clm, submission

    monkeypatch.setattr("pipeline.warehouse.incremental.MAX_SCOPE_SHARE", 1.0)
    denied = [
        (
            "f1.835",
            remit(
                "MED1",
                "20250110",
                301,
                [
                    claim(
                        "PCN-OLD", "4", 300, 0, "ICN-OLD", *line("99213", 300, 0, "20250102", "CAS*CO*50*300")
                    )
                ],
            ),
        ),
        (
            "f2.835",
            remit(
                "MED1",
                "20250601",
                302,
                [claim("PCN-NEW", "4", 80, 0, "ICN-NEW", *line("99214", 80, 0, "20250520", "CAS*CO*50*80"))],
            ),
        ),
    ]
    late = [("f3.835", remit("MED2", "20250801", 303, [claim("PCN-LATE", "1", 60, 60, "ICN-LATE")]))]
    # then the provider's 837s: the first one ever (night 4), one more (night 5)
    first_837 = [
        ("s1.837", submission("P", 401, [("20250101", "MED1", "MED ONE", [clm("PCN-OLD", 300, [])])]))
    ]
    more_837 = [("s2.837", submission("P", 402, [("20250515", "MED1", "MED ONE", [clm("PCN-NEW", 80, [])])]))]
    home = Home(tmp_path / "home").ensure()
    (home.root / "payers.csv").write_text(PAYERS_CSV)
    old = time.time() - 3600
    seen = []
    for n, files in enumerate((denied, late, [], first_837, more_837)):
        for name, data in files:
            (home.inbox / name).write_bytes(data)
            os.utime(home.inbox / name, (old, old))
        if files:
            assert not ingest(home, workers=1).rejected
        history = _history_before(home, tmp_path)
        result = build(home)
        assert result.mode == ("full" if n in (0, 3) else "incremental"), result.mode_note
        full = _full_copy(home, tmp_path / f"full-{n}", history)
        assert _differences(home.warehouse, full.warehouse) == {}, f"night {n}: {result.mode_note}"
        shutil.rmtree(full.root)
        seen.append(result.mode_note)
        events = {
            r[0]: r[1:]
            for r in _query(
                home.warehouse,
                "SELECT patient_control_number, resolution, CAST(resolution_date AS VARCHAR), age_days, "
                "days_left FROM marts.denial_events",
            )
        }
        writeoffs = _query(
            home.warehouse,
            "SELECT payment_month, payments, CAST(denial_writeoff_amount AS VARCHAR) FROM marts.kpi_month "
            "WHERE payer_key = 'MED1' AND denial_writeoff_amount <> 0",
        )
        open_items = _query(
            home.warehouse, "SELECT patient_control_number, age_days FROM marts.appeal_worklist"
        )
        without_837 = _query(
            home.warehouse, "SELECT patient_control_number FROM marts.remits_without_submission ORDER BY 1"
        )
        assert without_837 == {3: [("PCN-LATE",), ("PCN-NEW",)], 4: [("PCN-LATE",)]}.get(n, [])
        if n == 0:
            # as-of 2025-06-01: 142 days after 2025-01-10; PCN-OLD's deadline 2025-04-10 (90 days) is past
            assert events == {"PCN-OLD": ("open", None, 142, -52), "PCN-NEW": ("open", None, 0, 90)}
            assert writeoffs == []
        else:
            assert events == {
                "PCN-OLD": ("written_off", "2025-07-09", 180, -113),
                "PCN-NEW": ("open", None, 61, 29),
            }
            assert writeoffs == [("2025-07", 0, "300.00")]
            assert open_items == [("PCN-NEW", 61)]
    # night 2's scope is the late remit's CLP01 and the flipped episode's, nothing else
    assert "scope 2 patient control number(s)" in seen[1] and "as_of 1" in seen[1], seen[1]
    # night 3: the lake is as night 2 left it, so nothing is recomputed (and the marts are still right)
    assert "scope 0 patient control number(s)" in seen[2] and "nothing recomputed" in seen[2], seen[2]
    # the first 837 puts every remitted episode without one on marts.remits_without_submission: a full
    # build; the next 837 takes its episode off, in its scope only
    assert seen[3] == (
        "the first 837 was loaded (or the last one removed): every remitted episode's "
        "remits_without_submission row changes"
    )
    assert "scope 1 patient control number(s)" in seen[4], seen[4]


# -------------------------------------------------------------------------------- the night's copy


def test_the_copy_is_a_reflink_where_the_filesystem_can_else_bytes(tmp_path, monkeypatch) -> None:
    """``clone_or_copy``: the FICLONE ioctl first (its bytes the filesystem's to share), a byte copy when
    the filesystem refuses it (ext4, tmpfs: EOPNOTSUPP); the same bytes either way."""
    import errno
    import fcntl

    import pipeline.warehouse as wh

    src = tmp_path / "warehouse.duckdb"
    src.write_bytes(os.urandom(300_000))
    calls: list[str] = []

    def refuse(fd: int, request: int, arg: int) -> None:
        calls.append("ioctl")
        assert request == wh.FICLONE
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(fcntl, "ioctl", refuse)
    assert wh.clone_or_copy(src, tmp_path / "copied") == "copy"
    assert (tmp_path / "copied").read_bytes() == src.read_bytes() and calls == ["ioctl"]

    def share(fd: int, request: int, arg: int) -> None:  # the filesystem's clone, as a stand-in
        os.write(fd, os.pread(arg, src.stat().st_size, 0))

    copied: list[Path] = []
    monkeypatch.setattr(fcntl, "ioctl", share)
    monkeypatch.setattr(shutil, "copyfile", lambda a, b: copied.append(b))
    assert wh.clone_or_copy(src, tmp_path / "cloned") == "clone"
    assert (tmp_path / "cloned").read_bytes() == src.read_bytes() and copied == []


@pytest.mark.skipif(
    not os.environ.get("REMIT_TEST_REFLINK_DIR"),
    reason="set REMIT_TEST_REFLINK_DIR to a folder on XFS (reflink=1) or Btrfs to test a real reflink",
)
def test_a_reflink_on_a_filesystem_that_shares_blocks_leaves_the_published_file_as_it_was() -> None:
    import pipeline.warehouse as wh

    folder = Path(os.environ["REMIT_TEST_REFLINK_DIR"]) / f"remit-test-{os.getpid()}"
    folder.mkdir()
    try:
        src, dst = folder / "warehouse.duckdb", folder / "warehouse.duckdb.building"
        con = duckdb.connect(str(src))
        con.execute("CREATE TABLE t AS SELECT range AS i FROM range(100000)")
        con.close()
        before = src.read_bytes()
        assert wh.clone_or_copy(src, dst) == "clone"
        con = duckdb.connect(str(dst))  # the build writes into the clone
        con.execute("INSERT INTO t SELECT range FROM range(5)")
        con.execute("CHECKPOINT")
        con.close()
        assert src.read_bytes() == before
        con = duckdb.connect(str(src), read_only=True)
        assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 100000
        con.close()
    finally:
        shutil.rmtree(folder)
