"""The Spark engine gives the lake and the marts the local (DuckDB) engine gives, on the same inputs.

Two workloads, each ingested twice from identical inboxes (same patient-key secret): once with the
local engine, once with ``ingest_spark`` on ``local[2]``; then built with DuckDB and with ``build_spark``.

- the hand-built fixtures (tests/fixtures/warehouse/) plus a byte-identical copy, a truncated 835 and a
  CSV, so duplicates, resends and quarantine are exercised;
- a generated workload of 1,500 claims, whose truth.json (the generator's own model, independent of
  parser, lake and SQL) the Spark lake and marts must also match.

The transpile tests need only sqlglot; the others need pyspark and Java and are marked ``spark``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipeline.home import Home
from pipeline.lake import ingest, register_views
from pipeline.lake.state import LakeState
from pipeline.x12.schema import TABLES

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "warehouse"
SECRET = "5a" * 32  # both homes hash patient ids with the same key, so patient_key must agree
# columns of the manifest that differ by nature between two runs or two homes
RUN_COLUMNS = ("loaded_at", "run_id", "inbox_path", "stored_as")


# ------------------------------------------------------------------------------------------------
# transpiling sql/ (sqlglot only)
# ------------------------------------------------------------------------------------------------


def test_every_sql_model_transpiles_to_spark():
    sqlglot = pytest.importorskip("sqlglot", reason="sqlglot is not installed")
    from pipeline.engines.spark import transpile_sql_dir
    from pipeline.warehouse.models import load_models

    models = load_models()
    spark_sql = transpile_sql_dir()  # raises on any sqlglot error or unsupported construct
    assert list(spark_sql) == [m.name for m in models]  # every file, in build order
    for model in models:
        text = spark_sql[model.name]
        tree = sqlglot.parse_one(text, read="spark")  # the output is valid Spark SQL
        source = sqlglot.parse_one(model.body, read="duckdb")
        wanted = {f"{t.db}__{t.name}" for t in source.find_all(sqlglot.exp.Table) if t.db}
        assert wanted, model.name  # every model reads something
        assert all(not t.db for t in tree.find_all(sqlglot.exp.Table)), model.name
        assert wanted <= {t.name for t in tree.find_all(sqlglot.exp.Table)}  # lake.claims -> lake__claims
    expired = spark_sql["marts.expired_carc_adjustments"]
    assert "ref__carc AS c" in expired and "c.stop_date" in expired  # from the macro's own body
    for text in spark_sql.values():
        assert "carc_is_expired" not in text.lower()  # the DuckDB macro is expanded inline


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT FROM (", "does not transpile"),  # a parse error
        ("SELECT arg_max(a, b, 3) FROM t", "does not transpile"),  # sqlglot's UnsupportedError
        ("SELECT list_reduce(l, (x, y) -> x + y) FROM t", "unknown to sqlglot"),  # copied through
        ("SELECT * FROM t ASOF JOIN u ON t.a >= u.a", "ASOF JOIN"),
        ("SELECT 1; SELECT 2", "exactly one statement"),
    ],
)
def test_transpile_refuses_what_spark_cannot_run(sql, message):
    pytest.importorskip("sqlglot", reason="sqlglot is not installed")
    from pipeline.engines.spark import transpile_sql

    with pytest.raises(ValueError, match=message):
        transpile_sql(sql)


def test_transpile_sql_dir_names_the_failing_file(tmp_path):
    pytest.importorskip("sqlglot", reason="sqlglot is not installed")
    from pipeline.engines.spark import transpile_sql_dir

    (tmp_path / "staging").mkdir()
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "bad.sql").write_text(
        "-- name: marts.bad\n-- materialized: table\n-- grain: one row\n-- description: x\n"
        "SELECT list_reduce(l, (x, y) -> x + y) AS v FROM lake.claims\n"
    )
    with pytest.raises(ValueError, match=r"bad\.sql"):
        transpile_sql_dir(tmp_path)


def test_missing_pyspark_gives_an_install_hint(monkeypatch):
    import builtins

    from pipeline.engines import spark as engine

    real_import = builtins.__import__

    def no_pyspark(name, *args, **kwargs):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError("No module named 'pyspark'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    with pytest.raises(engine.SparkUnavailableError, match=r"remit\[spark\]"):
        engine.ingest_spark(Home(Path("/nonexistent-remit-home")))


@pytest.mark.parametrize("chunked", [False, True])
def test_executors_stage_what_the_local_workers_parse(tmp_path, chunked):
    """Spark executors stage a file's parts on disk; the local pool returns them in memory (or staged,
    for a file over the chunk threshold): the same tables, row counts, payments and errors."""
    from pipeline.engines.spark import stage_bytes
    from pipeline.lake.worker import ParseTask, parse_task

    jan = (FIXTURE_DIR / "2025-01-remit.835").read_bytes()
    for data in (jan, jan[: len(jan) // 2]):
        src = tmp_path / "in.835"
        src.write_bytes(data)
        file_id = hashlib.sha256(data).hexdigest()
        outcomes = []
        for who in ("worker", "executor"):
            task = ParseTask(
                path=str(src),
                name="in.835",
                file_id=file_id,
                staging=str(tmp_path / who / file_id[:8]),
                secret=bytes.fromhex(SECRET),
                chunk_threshold=0 if chunked else 1 << 30,
                max_chunk_bytes=400,  # about one transaction per chunk: three chunks for January
            )
            outcomes.append(parse_task(task) if who == "worker" else stage_bytes(data, task))
        worker, executor = outcomes
        assert executor.error == worker.error
        assert executor.rows == worker.rows
        # the local worker keeps a small file's parts in memory and stages only a big one's
        assert (bool(worker.staged), bool(worker.parts)) == (
            (chunked, not chunked) if worker.error is None else (False, False)
        )
        local = {key: pq.read_table(path) for key, path in worker.staged.items()} | worker.parts
        assert sorted(executor.staged) == sorted(local)
        for key, table in local.items():
            assert pq.read_table(executor.staged[key]).equals(table), key
        if worker.error is None:
            assert executor.payments.equals(worker.payments)
            assert worker.rows["claims"] == 6  # A1 B1 C1 D1 E1 F1
        else:  # a rejected file leaves nothing staged, not even a temporary part
            assert executor.payments is None
            assert not [p for p in (tmp_path / "executor" / file_id[:8]).rglob("*") if p.is_file()]


# ------------------------------------------------------------------------------------------------
# Spark (local[2])
# ------------------------------------------------------------------------------------------------


def _new_home(root: Path, payers: Path) -> Home:
    home = Home(root).ensure()
    home.key_file.write_text(SECRET)
    shutil.copy(payers, home.root / "payers.csv")
    return home


def _drop(home: Home, files: list[tuple[str, bytes]]) -> None:
    """Write ``files`` into the inbox with increasing old mtimes (that order is the inbox order)."""
    base = time.time() - 3600
    for i, (name, data) in enumerate(files):
        path = home.inbox / name
        path.write_bytes(data)
        os.utime(path, (base + i, base + i))


def _twin_homes(root: Path, files: list[tuple[str, bytes]], payers: Path) -> tuple[Home, Home]:
    local, spark = _new_home(root / "local", payers), _new_home(root / "spark", payers)
    _drop(local, files)
    _drop(spark, files)
    return local, spark


def _manifest_rows(home: Home) -> list[dict]:
    state = LakeState.load(home.lake)
    rows = state.read_manifest(home.lake).to_pylist()
    for row in rows:
        stored = row.pop("stored_as")
        row["stored_as"] = str(Path(stored).relative_to(home.root)) if stored else None
        for col in RUN_COLUMNS[:-1]:
            row.pop(col)
    return rows


def _assert_same_lake(local: Home, spark: Home) -> None:
    """Same manifest, same parts (paths, schemas, rows in order), same quarantine reports."""
    assert _manifest_rows(spark) == _manifest_rows(local)
    s_state, l_state = LakeState.load(spark.lake), LakeState.load(local.lake)
    for name in TABLES:
        assert sorted(s_state.parts[name]) == sorted(l_state.parts[name]), name
        for rel in l_state.parts[name]:
            ours, theirs = pq.read_table(spark.lake / rel), pq.read_table(local.lake / rel)
            assert ours.schema.equals(theirs.schema), (rel, ours.schema, theirs.schema)
            assert ours.equals(theirs), rel
    reports = {}
    for home in (local, spark):
        found = {}
        for path in sorted(home.quarantine.glob("*.error.json")):
            report = json.loads(path.read_text())
            found[path.name] = {k: report[k] for k in ("file", "segment_number", "byte_offset", "message")}
        reports[home] = found
    assert reports[spark] == reports[local]
    assert sorted(p.name for p in spark.quarantine.iterdir()) == sorted(
        p.name for p in local.quarantine.iterdir()
    )
    assert sorted(p.name for p in spark.inbox.iterdir()) == sorted(p.name for p in local.inbox.iterdir())


def _lake_figures(home: Home) -> dict[str, object]:
    """Counts, sums by group and CARC, and id sets, through the lake's DuckDB views."""
    con = duckdb.connect()
    try:
        register_views(con, home.lake)
        out: dict[str, object] = {}
        for name in TABLES:
            out[f"rows_{name}"] = con.execute(
                f"SELECT payment_month, count(*) FROM lake.{name} GROUP BY 1 ORDER BY 1 NULLS FIRST"
            ).fetchall()
        out["adjustments_by_group_carc"] = con.execute(
            "SELECT group_code, reason_code, sum(amount) FROM lake.adjustments GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
        # the rows' keys (docs/parser.md, "Keys and ids")
        out["claim_ids"] = set(con.execute("SELECT file_key, claim_number FROM lake.claims").fetchall())
        out["line_ids"] = set(
            con.execute("SELECT file_key, claim_number, line_number FROM lake.service_lines").fetchall()
        )
        out["transaction_ids"] = set(
            con.execute("SELECT file_key, transaction_ordinal FROM lake.payments").fetchall()
        )
        out["resent"] = con.execute(
            "SELECT file_id, transaction_ordinal, resent_of_transaction_id FROM lake.payments "
            "WHERE resent_of_transaction_id IS NOT NULL ORDER BY 1, 2"
        ).fetchall()
        out["patient_keys"] = {r[0] for r in con.execute("SELECT patient_key FROM lake.claims").fetchall()}
        return out
    finally:
        con.close()


def _marts_duckdb(home: Home) -> dict[str, tuple[list[tuple[str, str]], list[tuple]]]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' "
                # the build history is DuckDB's alone (pipeline.warehouse.history)
                "AND table_name NOT IN ('kpi_month_history', 'kpi_month_restatements') ORDER BY 1"
            ).fetchall()
        ]
        return {
            n: (
                [(r[0], r[1]) for r in con.execute(f"DESCRIBE marts.{n}").fetchall()],
                con.execute(f"SELECT * FROM marts.{n} ORDER BY ALL").fetchall(),
            )
            for n in names
        }
    finally:
        con.close()


def _marts_spark(home: Home) -> dict[str, tuple[list[tuple[str, str]], list[tuple]]]:
    con = duckdb.connect()
    try:
        out = {}
        for folder in sorted((home.root / "spark-warehouse" / "marts").iterdir()):
            src = f"read_parquet('{folder}/*.parquet')"
            out[folder.name] = (
                [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()],
                con.execute(f"SELECT * FROM {src} ORDER BY ALL").fetchall(),
            )
        return out
    finally:
        con.close()


def _assert_same_marts(local: Home, spark: Home) -> None:
    """Every Spark mart has its DuckDB twin's columns, types and rows (decimals compared exactly)."""
    ours, theirs = _marts_spark(spark), _marts_duckdb(local)
    assert sorted(ours) == sorted(theirs)
    for name, (cols, rows) in theirs.items():
        assert ours[name][0] == cols, name
        assert ours[name][1] == rows, name


def _fixture_run(spark, root: Path):
    """The hand-built fixtures, plus a byte-identical copy, a truncated 835 and a CSV, in both engines."""
    from pipeline.engines.spark import build_spark, ingest_spark
    from pipeline.warehouse import build

    jan = (FIXTURE_DIR / "2025-01-remit.835").read_bytes()
    files = [
        ("2025-01-remit.835", jan),
        ("2025-02 [remit].835", (FIXTURE_DIR / "2025-02-remit.835").read_bytes()),  # a glob to Hadoop
        ("2025-01-resend.835", (FIXTURE_DIR / "2025-01-resend.835").read_bytes()),
        ("copy of january.835", jan),  # same bytes, new name: a duplicate
        ("_truncated.835", jan[: len(jan) // 2]),  # no SE/GE/IEA: rejected; hidden to Spark's listing
        ("payers.csv", b"payer_id,payer_name,plan_type\n"),  # not X12: rejected
    ]
    local, spark_home = _twin_homes(root, files, FIXTURE_DIR / "payers.csv")
    local_result = ingest(local, workers=1)
    spark_result = ingest_spark(spark_home, spark=spark)
    build(local)
    spark_build = build_spark(spark_home, spark=spark)
    return local, spark_home, local_result, spark_result, spark_build


def _check_fixture_lake_equals_local_lake(fixture_run):
    local, spark_home, local_result, spark_result, _ = fixture_run
    # the outcome of each file, worked out from what the files are
    assert spark_result.loaded == ["2025-01-remit.835", "2025-02 [remit].835"]
    assert spark_result.resent == ["2025-01-resend.835"]  # its one transaction is T3 again
    assert spark_result.duplicates == ["copy of january.835"]
    assert sorted(n for n, _ in spark_result.rejected) == ["_truncated.835", "payers.csv"]
    assert [(n, e["message"]) for n, e in spark_result.rejected] == [
        (n, e["message"]) for n, e in local_result.rejected
    ]
    _assert_same_lake(local, spark_home)
    figures = _lake_figures(spark_home)
    assert figures == _lake_figures(local)
    # hand-worked from the fixture files (see tests/test_warehouse.py): claims A1 B1 C1 D1 E1 F1 in
    # January, the B1 reversal and correction, G1 and H0 in February, F1 again in the resent file
    assert figures["rows_claims"] == [("2025-01", 7), ("2025-02", 4)]
    sums = {(g, c): s for g, c, s in figures["adjustments_by_group_carc"]}
    assert sums[("CO", "289")] == Decimal("800.00")
    assert sums[("OA", "290")] == Decimal("350.00")
    assert sums[("CO", "50")] == Decimal("120.00")
    assert sums[("CO", "42")] == Decimal("-20.00")  # G1 10.00, H0 reversal -30.00
    assert sums[("CO", "45")] == Decimal("205.00")  # 150 + 40 + 10 + 10 (resent F1) - 40 + 20 + 15
    assert len(figures["resent"]) == 1


def _check_fixture_marts_equal_duckdb_marts(fixture_run):
    local, spark_home, _, _, spark_build = fixture_run
    assert spark_build.unknown_payers == ["1777777777"]  # T3's payer is not in payers.csv
    assert spark_build.row_counts["marts.kpi_month"] == 4  # (Jan, Feb) x payers with payments
    _assert_same_marts(local, spark_home)


def _check_spark_ingest_again_is_a_no_op(spark, fixture_run):
    from pipeline.engines.spark import ingest_spark

    _, spark_home, _, _, _ = fixture_run
    before = _manifest_rows(spark_home)
    result = ingest_spark(spark_home, spark=spark)
    assert (result.loaded, result.resent, result.duplicates, result.rejected) == ([], [], [], [])
    assert result.lake_files == 3
    assert _manifest_rows(spark_home) == before


def _synth_run(spark, root: Path):
    """1,500 generated claims over 6 months, in both engines; the Spark side through the CLI."""
    from pipeline.cli import main
    from pipeline.synth import generate
    from pipeline.warehouse import build

    truth = generate(root / "synth", claims=1500, seed=4242, start="2025-01", months=6)
    files = [(p.name, p.read_bytes()) for p in sorted((root / "synth").glob("*.835"))]
    local, spark_home = _twin_homes(root, files, root / "synth" / "payers.csv")
    ingest(local, workers=1)
    build(local)
    outputs = []
    for command in ("ingest", "build"):
        with contextlib.redirect_stdout(io.StringIO()) as out:
            rc = main(["--home", str(spark_home.root), command, "--engine", "spark"])
        outputs.append((rc, out.getvalue()))
    return local, spark_home, outputs, truth, len(files)


def _check_synth_lake_equals_local_lake_and_truth(synth_run):
    local, spark_home, outputs, truth, n_files = synth_run
    (rc, out), _ = outputs
    assert rc == 0 and f"{n_files} loaded, 0 resent, 0 duplicate, 0 rejected" in out
    _assert_same_lake(local, spark_home)
    figures = _lake_figures(spark_home)
    assert figures == _lake_figures(local)
    assert sum(n for _, n in figures["rows_claims"]) == 1500  # the generator wrote exactly 1,500 CLPs
    assert len(figures["claim_ids"]) == 1500
    total = sum((s for _, _, s in figures["adjustments_by_group_carc"]), Decimal(0))
    assert total == Decimal(truth["adjustment_total"])


def _check_synth_marts_equal_duckdb_marts_and_truth(synth_run):
    local, spark_home, outputs, truth, _ = synth_run
    rc, out = outputs[1]
    assert rc == 0 and f"built {spark_home.root / 'spark-warehouse'}" in out
    assert "not in payers.csv" not in out  # the generator's payers.csv lists every payer
    _assert_same_marts(local, spark_home)
    con = duckdb.connect()
    mart = spark_home.root / "spark-warehouse" / "marts" / "denials_by_carc_month"
    sql = f"SELECT group_code, CAST(sum(dollars) AS VARCHAR) FROM read_parquet('{mart}/*.parquet') GROUP BY 1"
    by_group = dict(con.execute(sql).fetchall())
    assert by_group == truth["adjustments_by_group"]


def _check_borrowed_session_keeps_its_settings(spark):
    """remit's settings hold while it runs on someone's session, and theirs come back afterwards."""
    from pipeline.engines.spark import _session

    spark.conf.set("spark.sql.ansi.enabled", "false")
    spark.conf.set("spark.sql.session.timeZone", "Europe/Paris")
    try:
        with _session("local[2]", spark) as session:
            assert session is spark
            assert spark.conf.get("spark.sql.ansi.enabled") == "true"
            assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
        assert spark.conf.get("spark.sql.ansi.enabled") == "false"
        assert spark.conf.get("spark.sql.session.timeZone") == "Europe/Paris"
    finally:
        spark.conf.set("spark.sql.ansi.enabled", "true")
        spark.conf.set("spark.sql.session.timeZone", "UTC")


# Each workload is one test: its Spark and local runs happen once, whichever pytest-xdist worker takes it.


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_a_session_keeps_its_catalog_out_of_the_working_directory(spark):
    """Spark's default catalog folder is ./spark-warehouse: cron's working directory got an empty one."""
    catalog = Path(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:"))
    assert catalog.name.startswith("remit-spark-catalog-")
    assert Path.cwd().resolve() not in catalog.resolve().parents


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_fixtures_spark_equals_local(spark, tmp_path):
    _check_borrowed_session_keeps_its_settings(spark)
    run = _fixture_run(spark, tmp_path)
    _check_fixture_lake_equals_local_lake(run)
    _check_fixture_marts_equal_duckdb_marts(run)
    _check_spark_ingest_again_is_a_no_op(spark, run)


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_generated_workload_spark_equals_local_and_truth(spark, tmp_path):
    run = _synth_run(spark, tmp_path)
    _check_synth_lake_equals_local_lake_and_truth(run)
    _check_synth_marts_equal_duckdb_marts_and_truth(run)


def test_cli_refuses_options_of_the_other_engine(tmp_path, capsys):
    from pipeline.cli import main

    home_args = ["--home", str(tmp_path / "home")]
    assert main([*home_args, "ingest", "--engine", "spark", "--workers", "2"]) == 1
    assert "--workers applies to --engine local only" in capsys.readouterr().err
    assert main([*home_args, "build", "--master", "local[2]"]) == 1
    assert "--master applies to --engine spark only" in capsys.readouterr().err
    assert main([*home_args, "ingest", "--master", "local[2]"]) == 1
    assert "--master applies to --engine spark only" in capsys.readouterr().err


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_plb_links_spark_equals_local(spark, tmp_path):
    """The PLB fixtures of tests/test_plb_links.py (links by CLP07 and CLP01, within a payment, a file
    and across files, and unlinked PLBs) give the same marts on Spark as on DuckDB."""
    from pipeline.engines.spark import build_spark, ingest_spark
    from pipeline.warehouse import build

    plb = FIXTURE_DIR.parent / "plb"
    files = [(n, (plb / n).read_bytes()) for n in ("2025-03-plb.835", "2025-04-plb.835")]
    local, spark_home = _twin_homes(tmp_path, files, plb / "payers.csv")
    ingest(local, workers=1)
    ingest_spark(spark_home, spark=spark)
    build(local)
    build_spark(spark_home, spark=spark)
    _assert_same_marts(local, spark_home)
    links = _marts_spark(spark_home)["plb_claim_links"]
    names = [c for c, _ in links[0]]
    scopes = sorted(str(row[names.index("link_scope")]) for row in links[1])
    assert scopes == ["None", "None", "lake", "same_file", "same_payment", "same_payment"]
