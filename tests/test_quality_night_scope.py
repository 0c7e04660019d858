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
