"""The warehouse suite's header tests of keyed marts on the rows a night replaced (issue 18).

A keyed mart (``-- incremental: claim_id`` / ``episode_id``) keeps the rows of claims outside an
incremental night's scope as the last checked warehouse had them, so ``models.header_tests`` tests only
the rows builds replaced since the suite last passed (``quality.unchecked_*``, kept by the build, emptied
by ``remit run`` once its check passed); a repeated key is found through the replaced rows' keys,
against every row. Here: nights through ``remit run`` keep the tables empty; an unchecked build leaves
its scope in them; a duplicate key the night introduces (a replaced row repeated, or a replaced row
taking a kept row's key) fails the check; the scoped counts equal the whole mart's.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from pipeline.quality.checks import UNCHECKED, model_test_counts, scoped_test_counts
from tests.test_quality import RUN, file_a, file_b

PCN4 = {"clp": "CLP*PCN4*1*120*100**MC*ICN4", "bpr16": "20250221"}


def _unchecked(warehouse) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in UNCHECKED.values()}


@pytest.fixture(scope="module")
def night_home(tmp_path_factory):
    """Night 1 (file A, full build) and night 2 (file B, incremental) through remit run, then an
    unchecked `remit build` of a third file (incremental)."""
    import time

    from pipeline.home import Home

    home = Home(tmp_path_factory.mktemp("night-scope") / "home").ensure()
    old = time.time() - 3600
    with pytest.MonkeyPatch.context() as mp:
        # a night of these few claims is a large share of the lake: incremental all the same
        mp.setattr("pipeline.warehouse.incremental.MAX_SCOPE_SHARE", 1.0)
        _nights(home, old)
    return home


def _nights(home, old: float) -> None:
    import os

    from pipeline.lake import ingest
    from pipeline.nightly import run_nightly
    from pipeline.warehouse import build

    for name, data in (("a.835", file_a()), ("b.835", file_b())):
        (home.inbox / name).write_bytes(data)
        os.utime(home.inbox / name, (old, old))
        result = run_nightly(home, workers=1, report=False)
        assert result.exit_code == 0, result.summary()
        assert _unchecked(home.warehouse) == dict.fromkeys(UNCHECKED.values(), 0)  # checked: none pending
    assert result.build.mode == "incremental", result.build.how
    (home.inbox / "c.835").write_bytes(file_b(**PCN4))
    os.utime(home.inbox / "c.835", (old, old))
    ingest(home, workers=1, settle_seconds=0)
    built = build(home)
    assert built.mode == "incremental", built.how


def test_unchecked_build_leaves_its_scope(night_home) -> None:
    pending = _unchecked(night_home.warehouse)
    assert pending[UNCHECKED["claim_id"]] >= 1 and pending[UNCHECKED["episode_id"]] >= 1


def _copy(home, tmp_path, *statements: str):
    copy = home.root / "scoped-warehouse.duckdb"  # beside it: the lake views are relative to its folder
    shutil.copy(home.warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        for sql in statements:
            con.execute(sql)
    return copy


REPLACED = f"claim_id IN (SELECT claim_id FROM {UNCHECKED['claim_id']})"
KEPT = f"claim_id NOT IN (SELECT claim_id FROM {UNCHECKED['claim_id']})"


@pytest.mark.parametrize(
    "statements",
    [
        # a line of the night's claim twice
        [f"INSERT INTO marts.line_outcomes SELECT * FROM marts.line_outcomes WHERE {REPLACED} LIMIT 1"],
        # a line of the night's claim taking the id of a line the night did not touch
        [
            f"UPDATE marts.line_outcomes SET line_id = (SELECT min(line_id) FROM marts.line_outcomes "
            f"WHERE {KEPT}) WHERE line_id = (SELECT min(line_id) FROM marts.line_outcomes WHERE {REPLACED})"
        ],
    ],
    ids=["repeated", "takes-a-kept-key"],
)
def test_duplicate_key_the_night_introduces_fails(night_home, tmp_path, statements) -> None:
    from pipeline.quality import check_warehouse
    from pipeline.quality.engine import QualityContext

    wh = _copy(night_home, tmp_path, *statements)
    report = check_warehouse(wh, run_id=RUN, context=QualityContext())
    header = report.outcome("models.header_tests")
    assert not header.success and header.sample_ids == ("marts.line_outcomes unique_key(line_id)",)
    assert {o.expectation for o in report.outcomes if not o.success} == {"models.header_tests"}


def test_scoped_counts_equal_the_whole_marts(night_home, tmp_path) -> None:
    """On a warehouse with duplicates and NULL keys among the night's rows, every keyed mart's scoped
    counts are its whole-mart counts (the kept rows are clean)."""
    from pipeline.lake import connect_warehouse
    from pipeline.warehouse.models import load_models

    wh = _copy(
        night_home,
        tmp_path,
        f"INSERT INTO marts.adjustment_detail SELECT * FROM marts.adjustment_detail WHERE {REPLACED}",
        f"INSERT INTO marts.claim_outcomes SELECT * REPLACE (NULL AS claim_status_code) "
        f"FROM marts.claim_outcomes WHERE {REPLACED}",
        f"INSERT INTO marts.line_outcomes SELECT * REPLACE (NULL AS line_id) FROM marts.line_outcomes "
        f"WHERE {REPLACED}",
    )
    keyed = [m for m in load_models() if m.keyed and m.materialized == "table" and m.test_labels()]
    assert {m.name for m in keyed} >= {
        "marts.adjustment_detail",
        "marts.line_outcomes",
        "marts.claim_outcomes",
    }
    with connect_warehouse(wh) as con:
        failing = 0
        for m in keyed:
            scoped = scoped_test_counts(con, m, UNCHECKED[m.incremental])
            assert scoped == model_test_counts(con, m), m.name
            failing += sum(n for _, n in scoped)
    assert failing >= 3  # the three alterations are each seen


# -- staging views: the rows of the files loaded since the suite last passed ------------------------------


@pytest.fixture(scope="module")
def staged_home(tmp_path_factory):
    """Nights 1 (file A) and 2 (file B) through remit run, then file C (another payment, March) loaded by
    an unchecked `remit build`."""
    import os
    import time

    from pipeline.home import Home
    from pipeline.lake import ingest
    from pipeline.nightly import run_nightly
    from pipeline.warehouse import build

    home = Home(tmp_path_factory.mktemp("staged") / "home").ensure()
    old = time.time() - 3600
    c = file_b(clp="CLP*PCN5*1*120*100**MC*ICN5", bpr16="20250320").replace(b"TRACEB", b"TRACEC")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("pipeline.warehouse.incremental.MAX_SCOPE_SHARE", 1.0)
        for name, data in (("a.835", file_a()), ("b.835", file_b()), ("c.835", c)):
            (home.inbox / name).write_bytes(data)
            os.utime(home.inbox / name, (old, old))
            if name == "c.835":
                ingest(home, workers=1, settle_seconds=0)
                assert build(home).mode == "incremental"
            else:
                result = run_nightly(home, workers=1, report=False)
                assert result.exit_code == 0, result.summary()
    return home


def _file_key(warehouse, name: str) -> int:
    from pipeline.lake import connect_warehouse

    with connect_warehouse(warehouse) as con:
        return con.execute(
            "SELECT file_key FROM lake.manifest WHERE name = ? AND status = 'loaded'", [name]
        ).fetchone()[0]


# the header tests a repeated claim row fails: its key, and its adjustment's (joined twice)
DOUBLED = ("staging.stg_adjustments unique_key(adjustment_id)", "staging.stg_claims unique_key(claim_id)")


def _claims_doubled(home, tmp_path, name: str, *more: str):
    """A copy of the warehouse whose ``lake.claims`` repeats a claim row of file ``name``: a duplicated
    ``claim_id`` in ``staging.stg_claims``, as a broken file would bring."""
    from pipeline.lake import connect_warehouse

    key = _file_key(home.warehouse, name)
    copy = home.root / "staging-warehouse.duckdb"  # beside it: the lake views are relative to its folder
    shutil.copy(home.warehouse, copy)
    with connect_warehouse(copy, read_only=False) as con:
        for sql in _doubling(key, *more):
            con.execute(sql)
    return copy


def _doubling(key: int, *more: str) -> list[str]:
    return [
        "ALTER VIEW lake.claims RENAME TO claims_whole",
        "CREATE VIEW lake.claims AS SELECT * FROM lake.claims_whole UNION ALL "
        f"(SELECT * FROM lake.claims_whole WHERE file_key = {key} ORDER BY claim_number LIMIT 1)",
        *more,
    ]


def test_passing_night_records_the_manifest_entry(staged_home) -> None:
    """The check of night 2 passed: the warehouse names the manifest's entries up to night 2's file as
    checked; file c.835 (loaded since, by an unchecked build) comes after."""
    from pipeline.lake import connect_warehouse
    from pipeline.quality.checks import CHECKED_THROUGH

    with connect_warehouse(staged_home.warehouse) as con:
        through = con.execute(f"SELECT entry FROM {CHECKED_THROUGH}").fetchall()
        entries = dict(
            con.execute("SELECT name, entry FROM lake.manifest WHERE status = 'loaded'").fetchall()
        )
    assert through == [(entries["b.835"],)]
    assert entries["a.835"] < entries["b.835"] < entries["c.835"]


def test_a_new_files_broken_rows_fail_the_check(staged_home, tmp_path) -> None:
    """A claim row of c.835 (loaded after the last passing check) repeated: the staging test fails, with
    the count the whole lake gives (one duplicated key)."""
    from pipeline.quality import check_warehouse
    from pipeline.quality.engine import QualityContext

    wh = _claims_doubled(staged_home, tmp_path, "c.835")
    report = check_warehouse(wh, run_id=RUN, context=QualityContext())
    header = report.outcome("models.header_tests")
    assert not header.success
    # the claim's adjustment joins it twice too
    assert header.sample_ids == DOUBLED
    assert header.unexpected_count == 2


def test_night_counts_equal_the_whole_lakes(staged_home, tmp_path) -> None:
    """With c.835's claim repeated, the night's counts of every staging view are the whole lake's."""
    from pipeline.lake import connect_warehouse
    from pipeline.quality.checks import night_staging_counts
    from pipeline.warehouse.models import load_models

    wh = _claims_doubled(staged_home, tmp_path, "c.835")
    staging = [m for m in load_models() if m.schema == "staging" and m.materialized == "view"]
    with connect_warehouse(wh) as con:
        through = con.execute("SELECT entry FROM lake.manifest WHERE name = 'b.835'").fetchone()[0]
        night = night_staging_counts(con, staging, through)
        whole = {m.name: model_test_counts(con, m) for m in staging}
        # the night's catalog is gone again: the views read are the warehouse's
        assert (
            con.execute(
                "SELECT count(*) FROM duckdb_databases() WHERE database_name = 'remit_night'"
            ).fetchone()[0]
            == 0
        )
    assert night == whole
    assert dict(night["staging.stg_claims"])["unique_key(claim_id)"] == 1
    assert dict(night["staging.stg_adjustments"])["unique_key(adjustment_id)"] == 1


def test_earlier_files_rows_are_tested_without_the_record(staged_home, tmp_path) -> None:
    """A claim of a.835 (checked by night 1) repeated is not read on a night: its rows are the ones the
    suite passed. Without the record (a full build's new warehouse) the whole lake is tested: it fails."""
    from pipeline.quality import check_warehouse
    from pipeline.quality.checks import CHECKED_THROUGH
    from pipeline.quality.engine import QualityContext

    scoped = check_warehouse(
        _claims_doubled(staged_home, tmp_path, "a.835"), run_id=RUN, context=QualityContext()
    )
    assert scoped.outcome("models.header_tests").success
    whole = check_warehouse(
        _claims_doubled(staged_home, tmp_path, "a.835", f"DROP TABLE {CHECKED_THROUGH}"),
        run_id=RUN,
        context=QualityContext(),
    )
    assert whole.outcome("models.header_tests").sample_ids == DOUBLED


def test_full_run_tests_every_staging_row(staged_home, tmp_path, monkeypatch) -> None:
    """`remit run --full` checks a warehouse built anew: every staging view is tested over the whole lake
    (the night's counting is never used), and the passing check records the manifest's last entry."""
    from pipeline.home import Home
    from pipeline.lake import connect_warehouse
    from pipeline.nightly import run_nightly
    from pipeline.quality.checks import CHECKED_THROUGH

    home = Home(tmp_path / "home")
    shutil.copytree(staged_home.root, home.root)  # the lake views name their files relative to the home

    def refuse(*args, **kwargs):
        raise AssertionError("a full build's check counted only the night's files")

    monkeypatch.setattr("pipeline.quality.checks.night_staging_counts", refuse)
    result = run_nightly(home, workers=1, report=False, full=True)
    assert result.exit_code == 0 and result.build.mode == "full", result.summary()
    labels = result.quality.outcome("models.header_tests")
    assert labels.success
    with connect_warehouse(home.warehouse) as con:
        assert con.execute(f"SELECT entry FROM {CHECKED_THROUGH}").fetchone()[0] == 3
