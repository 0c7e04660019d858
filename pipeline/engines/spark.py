"""``remit ingest`` and ``remit build`` on Apache Spark: the same parser, lake layout and SQL (docs/spark.md).

Ingest
    The inbox files are found, hashed and sorted out (duplicates, non-X12) by the lake's own run: this
    is :func:`pipeline.lake.ingest` with a ``parser`` (:class:`_SparkParser`); only the parsing moves
    to Spark. The files to parse are read with Spark's ``binaryFile`` source, and ``mapInArrow`` runs
    the pure parser on each file's bytes in the executors, which write the file's tables straight
    to the lake's staging folder, split by payment month (what a local parser worker does with a file
    too big to send back in memory). What comes back to the driver is one small row per file (its
    sha256, staged part paths, row counts, the error if any, and its payments table as Arrow IPC: one
    row per transaction). The driver then gates each batch, marks resends, writes the batch's parts
    into ``<table>/payment_month=YYYY-MM/`` and commits the manifest with the lake's code, in inbox
    order: same ids, columns, types, partitions, resend and quarantine rules as the local engine.

Build
    The models of ``sql/`` (DuckDB dialect, the only copy) are transpiled with sqlglot to Spark SQL
    (:func:`transpile_sql_dir`); ``schema.table`` names become temporary views ``schema__table``, and
    the reference macros (``ref.carc_is_expired``) are expanded inline from their one definition in
    :mod:`pipeline.reference.loader`. The lake is read part by part from its committed state (like
    :func:`pipeline.lake.register_views`), the reference seeds are loaded by
    :func:`pipeline.reference.load_reference` into an in-memory DuckDB and handed to Spark, and every
    ``marts.*`` model is written as Parquet to ``<home>/spark-warehouse/marts/<name>/``.

pyspark is imported inside the functions only: the default install never needs it.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.home import Home
from pipeline.lake.compact import COMPACT_MAX_PARTS, RETIRED_GRACE_SECONDS
from pipeline.lake.loader import IngestResult, ingest
from pipeline.lake.lock import run_lock
from pipeline.lake.state import LOADED_STATUSES, MANIFEST_SCHEMA, LakeState
from pipeline.lake.views import table_schema
from pipeline.lake.worker import (
    UNKNOWN_MONTH,
    ParseOutcome,
    ParseTask,
    parse_to_staging,
    stage_bytes,
)
from pipeline.log import get_logger
from pipeline.settings import get_settings
from pipeline.warehouse import BuildResult
from pipeline.x12.schema import TABLES

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "DEFAULT_MASTER",
    "SPARK_WAREHOUSE_DIR",
    "SparkUnavailableError",
    "build_spark",
    "ingest_spark",
    "spark_session",
    "transpile_sql",
    "transpile_sql_dir",
    "use_this_python",
]

log = get_logger("spark")

DEFAULT_MASTER = "local[2]"
SPARK_WAREHOUSE_DIR = "spark-warehouse"  # under the home: spark-warehouse/marts/<name>/*.parquet
# binaryFile rows carry whole files: keep Arrow batches to a few files so an executor holds little.
ARROW_BATCH_FILES = 4

_SUMMARY_FIELDS = [
    ("path", "string"),  # as binaryFile reports it (a URI)
    ("file_id", "string"),  # sha256 of the bytes the executor read
    ("error", "string"),  # JSON of X12ParseError.as_dict(), or null
    ("staged", "string"),  # JSON [[table, month, path], ...]
    ("rows", "string"),  # JSON {table: rows}
    ("payments", "binary"),  # Arrow IPC stream: the payments table + payment_month
    ("meta", "string"),  # JSON: what an 837 reports instead of payments (kind, transactions, payers, months)
]


class SparkUnavailableError(RuntimeError):
    """pyspark (or Java) is missing: the Spark engine needs ``pip install 'remit[spark]'``."""


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise SparkUnavailableError(
            "the Spark engine needs pyspark: install remit[spark] (pip install 'remit[spark]', "
            "or uv sync --extra spark in a checkout)"
        ) from exc


def use_this_python(environ: MutableMapping[str, str]) -> str:
    """Make Spark's local Python workers run this Python (its packages: pipeline, pyarrow); returns it.

    pyspark starts its workers with ``PYSPARK_PYTHON`` (default: ``python3`` from PATH), not with the
    ``spark.pyspark.python`` setting. Run from the installed script (``.venv/bin/remit``, as the cron
    and systemd examples do) PATH does not lead to the virtual environment, so the workers were the
    system's python3, without pyarrow, and every Spark ingest failed. ``PYSPARK_PYTHON`` and
    ``PYSPARK_DRIVER_PYTHON`` are set to ``sys.executable`` unless the user set them (then theirs is
    kept); they must be set before the session starts.
    """
    for name in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"):
        if not environ.get(name):
            environ[name] = sys.executable
    return environ["PYSPARK_PYTHON"]


def spark_session(master: str = DEFAULT_MASTER, *, app_name: str = "remit") -> SparkSession:
    """A SparkSession for remit: the active one if there is one, else a new one on ``master``.

    remit's SQL settings are applied either way (they are session settings): UTC session time zone,
    ANSI mode (overflow and bad casts raise, as in DuckDB), no partition type inference (``payment_month``
    stays a 'YYYY-MM' string), few shuffle partitions. A new session also gets ``spark.ui.enabled=false``,
    for a local master this Python for its workers (``use_this_python``), and a private temporary
    catalog folder (``spark.sql.warehouse.dir``): remit keeps no tables in Spark's catalog, and Spark's
    default made an empty ``spark-warehouse`` folder in whatever directory cron started remit from.
    """
    _require_pyspark()
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    if spark is None:
        builder = (
            SparkSession.builder.master(master)
            .appName(app_name)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(get_settings().spark_shuffle_partitions))
            .config("spark.sql.adaptive.enabled", "true")
            .config("spark.sql.warehouse.dir", _private_catalog_dir())
        )
        if master.startswith("local"):
            python = use_this_python(os.environ)
            builder = builder.config("spark.pyspark.python", python)
            builder = builder.config("spark.pyspark.driver.python", python)
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # e.g. no Java: JAVA_GATEWAY_EXITED
            raise SparkUnavailableError(
                f"cannot start Spark on {master} (is Java 17+ installed?): {exc}"
            ) from exc
    _apply_settings(spark)
    return spark


def _private_catalog_dir() -> str:
    """A new empty folder for Spark's catalog, removed when this process exits."""
    path = tempfile.mkdtemp(prefix="remit-spark-catalog-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _settings() -> dict[str, str]:
    """The session settings remit's ingest and SQL rely on."""
    return {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "true",
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(ARROW_BATCH_FILES),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }


def _apply_settings(spark: SparkSession) -> dict[str, str | None]:
    """Set remit's session settings; return the previous values (None: was unset)."""
    previous: dict[str, str | None] = {}
    for key, value in _settings().items():
        previous[key] = spark.conf.get(key, None)
        spark.conf.set(key, value)
    return previous


@contextlib.contextmanager
def _session(master: str, spark: SparkSession | None) -> Iterator[SparkSession]:
    """The session to run on, with remit's settings for the duration.

    A session started here is stopped at the end; on a session that was already there (``spark``, or
    the active one: Databricks, spark-submit, a notebook) the previous settings are put back.
    """
    _require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    owned = spark is None and active is None
    session = spark or active or spark_session(master)
    previous = _apply_settings(session)
    try:
        yield session
    finally:
        if owned:
            session.stop()
        else:
            for key, value in previous.items():
                if value is None:
                    session.conf.unset(key)
                else:
                    session.conf.set(key, value)


# ------------------------------------------------------------------------------------------------
# ingest: executors parse and stage, the driver commits with the lake's own run
# ------------------------------------------------------------------------------------------------


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def _local_path(uri: str) -> str:
    """``file:/a/b`` or ``file:///a/b`` -> ``/a/b`` (other schemes are returned unchanged)."""
    if uri.startswith("file:"):
        return "/" + uri[len("file:") :].lstrip("/")
    return uri


_GLOB_CHARS = re.compile(r"([\\*?\[\]{}])")


def _hadoop_path(path: str) -> str:
    """A file URI Spark reads literally: Hadoop treats ``* ? [ ] { } \\`` in load paths as a glob."""
    return "file://" + _GLOB_CHARS.sub(r"\\\1", path)


def _hidden_to_spark(name: str) -> bool:
    """Whether Spark's file listing drops this file name (its rule for hidden and in-progress files)."""
    return name.startswith(("_", ".")) or name.endswith("._COPYING_")


def _parse_partition(tasks: dict[str, ParseTask]):
    """The ``mapInArrow`` function: parse every file of each batch; one summary row per file."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        schema = pa.schema([(n, pa.binary() if t == "binary" else pa.string()) for n, t in _SUMMARY_FIELDS])
        for batch in batches:
            rows: dict[str, list[Any]] = {n: [] for n, _ in _SUMMARY_FIELDS}
            paths = batch.column("path").to_pylist()
            contents = batch.column("content")
            for i, uri in enumerate(paths):
                data = contents[i].as_py()
                file_id = hashlib.sha256(data).hexdigest()
                task = tasks.get(file_id)
                rows["path"].append(uri)
                rows["file_id"].append(file_id)
                if task is None:  # bytes changed since the driver hashed them: the driver skips it
                    for key in ("error", "staged", "rows", "payments", "meta"):
                        rows[key].append(None)
                    continue
                out = stage_bytes(data, task)
                del data
                rows["error"].append(json.dumps(out.error, default=str) if out.error is not None else None)
                rows["staged"].append(json.dumps([[t, m, p] for (t, m), p in sorted(out.staged.items())]))
                rows["rows"].append(json.dumps(out.rows))
                rows["payments"].append(_ipc(out.payments) if out.payments is not None else None)
                meta = {"kind": out.kind, "transactions": out.transactions, "payer_ids": out.payer_ids,
                        "payer_names": out.payer_names, "months": out.months}  # fmt: skip
                rows["meta"].append(json.dumps(meta))
            yield pa.RecordBatch.from_pydict(rows, schema=schema)

    return run


class _SparkParser:
    """The lake's ``Parser`` on Spark: one Spark job parses the night's files in the executors."""

    def __init__(self, spark: SparkSession):
        self.spark = spark

    def __call__(self, tasks: list[ParseTask]) -> Iterator[ParseOutcome]:
        """One outcome per task, in order, after one Spark job has parsed every file.

        Spark's file sources skip names they take for hidden or in-progress files (a leading ``_``,
        a ``._COPYING_`` suffix) even when named explicitly; the local engine loads those, so here they
        are parsed on the driver with the lake's own worker function (such names are rare).
        """
        on_spark = [task for task in tasks if not _hidden_to_spark(task.name)]
        found = self._parse_on_spark(on_spark) if on_spark else {}
        for task in tasks:
            if _hidden_to_spark(task.name):
                yield parse_to_staging(task)
                continue
            row = found.get(task.file_id)
            if row is None:  # not read back with the hash seen earlier: changed or removed meanwhile
                yield ParseOutcome(name=task.name, file_id=task.file_id, changed=True)
                continue
            out = ParseOutcome(name=task.name, file_id=task.file_id)
            if row["error"] is not None:
                out.error = json.loads(row["error"])
            else:
                out.staged = {(t, m): p for t, m, p in json.loads(row["staged"])}
                out.rows = json.loads(row["rows"])
                out.payments = _from_ipc(row["payments"]) if row["payments"] is not None else None
                if row["meta"]:  # an 837: no payments, its manifest facts instead
                    meta = json.loads(row["meta"])
                    out.kind, out.transactions = meta["kind"], meta["transactions"]
                    out.payer_ids, out.payer_names, out.months = (
                        meta["payer_ids"],
                        meta["payer_names"],
                        meta["months"],
                    )
            yield out

    def _parse_on_spark(self, tasks: list[ParseTask]) -> dict[str, Any]:
        """One Spark job over ``tasks``; the summary row of each file, by file_id."""
        by_id = {task.file_id: task for task in tasks}
        schema = ", ".join(f"{n} {t}" for n, t in _SUMMARY_FIELDS)
        frame = (
            self.spark.read.format("binaryFile")
            .load([_hadoop_path(task.path) for task in tasks])
            .select("path", "content")
        )
        t0 = time.perf_counter()
        results = frame.mapInArrow(_parse_partition(by_id), schema).collect()
        log.info("spark parsed %d files in %.1fs", len(results), time.perf_counter() - t0)
        found: dict[str, Any] = {}
        for row in results:
            task = by_id.get(row["file_id"])
            if task is None:
                continue
            # the same bytes under two paths cannot both be tasks; prefer the row read from the task's path
            if row["file_id"] not in found or _local_path(row["path"]) == task.path:
                found[row["file_id"]] = row
        return found


def ingest_spark(
    home: Home,
    *,
    inbox: Path | None = None,
    master: str = DEFAULT_MASTER,
    spark: SparkSession | None = None,
    settle_seconds: float | None = None,
    grace_seconds: float = RETIRED_GRACE_SECONDS,
    compact_max_parts: int = COMPACT_MAX_PARTS,
) -> IngestResult:
    """``remit ingest`` with the parsing on Spark: same lake, manifest, resend and quarantine rules.

    ``master`` is used only when no SparkSession is active and ``spark`` is not given (a session
    started here is stopped at the end). Raises :class:`SparkUnavailableError` without pyspark/Java and
    :class:`~pipeline.lake.lock.LockedError` when another run holds the home's lock.
    """
    _require_pyspark()
    if settle_seconds is None:
        settle_seconds = get_settings().inbox_settle_seconds
    with run_lock(home), _session(master, spark) as session:
        return ingest(
            home,
            inbox=inbox,
            workers=1,
            settle_seconds=settle_seconds,
            grace_seconds=grace_seconds,
            compact_max_parts=compact_max_parts,
            parser=_SparkParser(session),
        )


# ------------------------------------------------------------------------------------------------
# build: the marts of sql/, transpiled to Spark SQL
# ------------------------------------------------------------------------------------------------

VIEW_SEPARATOR = "__"  # lake.claims -> temporary view lake__claims
_MACRO = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?MACRO\s+(?P<name>[\w.]+)\s*\((?P<params>[^)]*)\)\s+AS\s+(?P<body>.*)",
    re.IGNORECASE | re.DOTALL,
)


def view_name(qualified: str) -> str:
    """The Spark temporary view standing for ``schema.table`` (temporary views cannot be qualified)."""
    return qualified.replace(".", VIEW_SEPARATOR)


def _macros() -> dict[str, tuple[list[str], Any]]:
    """The DuckDB macros the SQL may call: ``name -> (parameters, parsed body)``, from their one source."""
    import sqlglot

    from pipeline.reference.loader import MACROS

    macros: dict[str, tuple[list[str], Any]] = {}
    for text in MACROS:
        m = _MACRO.search(text)
        if m is None:
            raise ValueError(f"cannot read the macro definition {text[:60]!r}")
        params = [p.strip().lower() for p in m.group("params").split(",") if p.strip()]
        body = sqlglot.parse_one(m.group("body").strip().rstrip(";"), read="duckdb")
        macros[m.group("name").lower()] = (params, body)
    return macros


def _expand_macros(tree: Any, macros: dict[str, tuple[list[str], Any]]) -> Any:
    """Replace each call ``schema.macro(a, b)`` by the macro's body with its parameters bound."""
    from sqlglot import exp

    def expand(node: Any) -> Any:
        if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Anonymous):
            name = f"{node.this.name}.{node.expression.name}".lower()
        elif isinstance(node, exp.Anonymous):
            name = node.name.lower()
        else:
            return node
        if name not in macros:
            return node
        params, body = macros[name]
        args = node.expression.expressions if isinstance(node, exp.Dot) else node.expressions
        if len(args) != len(params):
            raise ValueError(f"{name} takes {len(params)} arguments, got {len(args)}")
        binding = dict(zip(params, args, strict=True))

        def bind(inner: Any) -> Any:
            if isinstance(inner, exp.Column) and not inner.table and inner.name.lower() in binding:
                return binding[inner.name.lower()].copy()
            return inner

        return exp.Paren(this=body.copy().transform(bind))

    return tree.transform(expand)


def _rename_tables(tree: Any) -> Any:
    """``schema.table`` -> the temporary view ``schema__table`` (aliases are kept)."""
    from sqlglot import exp

    for table in tree.find_all(exp.Table):
        if table.args.get("db") is not None and table.db:
            table.set("this", exp.to_identifier(view_name(f"{table.db}.{table.name}")))
            table.set("db", None)
            table.set("catalog", None)
    return tree


def _not_portable(tree: Any) -> list[str]:
    """DuckDB constructs sqlglot writes through to Spark unchanged although Spark has no such thing.

    sqlglot raises only for constructs it knows it cannot express; a function it does not know at all
    (``exp.Anonymous``) is copied as is, and so are DuckDB's ASOF/POSITIONAL joins and ``COLUMNS(...)``.
    """
    from sqlglot import exp

    found = [f"function {f.name}() is unknown to sqlglot" for f in tree.find_all(exp.Anonymous)]
    for join in tree.find_all(exp.Join):
        method = (join.args.get("method") or "").upper()
        if method in ("ASOF", "POSITIONAL"):
            found.append(f"{method} JOIN")
    if any(True for _ in tree.find_all(exp.Columns)):
        found.append("COLUMNS(...)")
    return found


def _wide_integers_as_decimals(tree):
    """DuckDB's 128-bit ``HUGEINT`` (exact integer arithmetic on money in cents, e.g. the KPI rates) as
    ``DECIMAL(38, 0)``: Spark has no 128-bit integer type, and its ``DIV`` on decimals stays exact."""
    from sqlglot import exp

    for node in list(tree.find_all(exp.DataType)):
        if node.this == exp.DataType.Type.INT128:
            node.replace(exp.DataType.build("DECIMAL(38, 0)"))
    return tree


def transpile_sql(sql: str, *, where: str = "<sql>") -> str:
    """One DuckDB ``SELECT`` as Spark SQL (macros expanded, tables as temporary views).

    Raises ``ValueError`` naming ``where`` on any sqlglot parse error, any construct sqlglot cannot
    express in Spark (``unsupported_level=ErrorLevel.RAISE``), and DuckDB-only constructs sqlglot
    would copy through unchecked (unknown functions, ASOF/POSITIONAL joins, ``COLUMNS``).
    """
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        trees = sqlglot.parse(sql, read="duckdb", error_level=ErrorLevel.RAISE)
        if len(trees) != 1 or trees[0] is None:
            raise ValueError(f"{where}: expected exactly one statement, found {len(trees)}")
        tree = _wide_integers_as_decimals(_rename_tables(_expand_macros(trees[0], _macros())))
        problems = _not_portable(tree)
        if problems:
            raise ValueError(f"{where}: not portable to Spark SQL: {'; '.join(problems)}")
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE, pretty=True)
    except SqlglotError as exc:
        raise ValueError(f"{where}: does not transpile to Spark SQL: {exc}") from exc


def transpile_sql_dir(sql_dir: Path | None = None) -> dict[str, str]:
    """Every model of ``sql_dir`` (default: the project's ``sql/``) as Spark SQL, in build order.

    Keys are model names (``marts.kpi_month``); values are Spark ``SELECT`` statements in which every
    ``schema.table`` is the temporary view ``schema__table``. Raises ``ValueError`` on any sqlglot
    error or unsupported construct.
    """
    from pipeline.warehouse.models import load_models

    return {m.name: transpile_sql(m.body, where=str(m.path)) for m in load_models(sql_dir)}


def _arrow_to_spark(spark: SparkSession, table: pa.Table) -> DataFrame:
    """A Spark DataFrame with the Arrow table's rows and types (decimals, dates kept)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = from_arrow_schema(table.schema)
    if table.num_rows == 0:
        return spark.createDataFrame([], schema)
    try:
        return spark.createDataFrame(table, schema=schema)  # Spark 4: Arrow directly
    except (TypeError, ValueError):
        return spark.createDataFrame(table.to_pandas(), schema=schema)  # Spark 3.5: via pandas


def _register_lake(spark: SparkSession, lake_dir: Path) -> None:
    """Temporary views lake__<table> and lake__manifest over the lake's committed state.

    Like :func:`pipeline.lake.register_views`: exactly the parts the state lists, rows of loaded or
    resent files only, columns in the views' order (missing ones null), ``payment_month`` NULL for
    'unknown'.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    state = LakeState.load(lake_dir)
    if state.manifest:
        manifest = spark.read.parquet(str(lake_dir / state.manifest))
    else:
        manifest = _arrow_to_spark(spark, MANIFEST_SCHEMA.empty_table())
    manifest.createOrReplaceTempView(view_name("lake.manifest"))
    loaded = manifest.where(F.col("status").isin(*LOADED_STATUSES)).select("file_key").distinct()
    for name in TABLES:
        schema = table_schema(name)
        parts = state.parts.get(name, [])
        if not parts:
            _arrow_to_spark(spark, schema.empty_table()).createOrReplaceTempView(view_name(f"lake.{name}"))
            continue
        # The schema is the contract (pipeline/x12/schema.py): given explicitly, Spark reads no footers to
        # infer it, and parts written before the parser gained a column read it as null (union by name).
        spark_schema = from_arrow_schema(schema)
        frame = (
            spark.read.schema(spark_schema)
            .option("basePath", str(lake_dir / name))
            .parquet(*[str(lake_dir / rel) for rel in parts])
        )
        month = F.col("payment_month")
        frame = frame.withColumn("payment_month", F.when(month != F.lit(UNKNOWN_MONTH), month))
        frame = frame.join(F.broadcast(loaded), "file_key", "left_semi").select(*schema.names)
        frame.createOrReplaceTempView(view_name(f"lake.{name}"))


def _register_reference(spark: SparkSession, home: Home) -> list[str]:
    """ref__<table> views from the reference seeds and payers.csv, loaded by the DuckDB loaders."""
    import duckdb

    from pipeline.reference import load_reference
    from pipeline.warehouse import load_payers

    con = duckdb.connect()
    try:
        load_reference(con, home)
        warnings = load_payers(con, home)
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ref' ORDER BY 1"
            ).fetchall()
        ]
        for name in names:
            table = con.sql(f'SELECT * FROM ref."{name}"').to_arrow_table()
            _arrow_to_spark(spark, table).createOrReplaceTempView(view_name(f"ref.{name}"))
    finally:
        con.close()
    return warnings


def _parquet_rows(folder: Path) -> int:
    """Rows of a Parquet folder Spark wrote, from the footers (no Spark job)."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in folder.glob("*.parquet"))


def build_spark(
    home: Home,
    *,
    master: str = DEFAULT_MASTER,
    spark: SparkSession | None = None,
    sql_dir: Path | None = None,
) -> BuildResult:
    """``remit build`` on Spark: every mart of ``sql/`` as Parquet under ``<home>/spark-warehouse/marts/``.

    Staging models become temporary views; ``marts.*`` models are written to
    ``spark-warehouse/marts/<name>/`` and read back for the marts that depend on them. The new folder
    is built beside the old one and swapped in at the end, so a failed build leaves the previous marts.
    Returns the warehouse's :class:`~pipeline.warehouse.BuildResult` (``path`` is the folder).
    """
    from pipeline.warehouse.models import load_models

    _require_pyspark()
    started = time.perf_counter()
    models = load_models(sql_dir)
    sqls = {m.name: transpile_sql(m.body, where=str(m.path)) for m in models}
    target = home.root / SPARK_WAREHOUSE_DIR
    building = home.root / f"{SPARK_WAREHOUSE_DIR}.building-{os.getpid()}"
    result = BuildResult(path=target, seconds=0.0)
    with run_lock(home), _session(master, spark) as session:
        from pyspark import StorageLevel

        shutil.rmtree(building, ignore_errors=True)
        cached: list[DataFrame] = []
        try:
            t0 = time.perf_counter()
            _register_lake(session, home.lake.absolute())
            result.warnings.extend(_register_reference(session, home))
            log.debug("lake and reference views on spark in %.2fs", time.perf_counter() - t0)
            for model in models:
                t0 = time.perf_counter()
                try:
                    frame = session.sql(sqls[model.name])
                    if model.schema == "marts":
                        out = building / "marts" / model.name.split(".", 1)[1]
                        frame.write.mode("overwrite").parquet(str(out))
                        frame = session.read.parquet(str(out))
                        result.row_counts[model.name] = _parquet_rows(out)
                    elif model.schema == "intermediate":
                        # computed once and cut from its lineage: a plan that embeds every model below it
                        # (and self-joins it) exhausts the driver's heap in analysis
                        frame = frame.localCheckpoint(eager=True)
                    else:  # staging views feed several marts: computed once, kept for the build
                        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
                        cached.append(frame)
                    frame.createOrReplaceTempView(view_name(model.name))
                except Exception as exc:
                    raise RuntimeError(f"{model.path.name} ({model.name}) failed on Spark: {exc}") from exc
                log.debug("built %s on spark in %.2fs", model.name, time.perf_counter() - t0)
            unknown = view_name("marts.unknown_payers")
            rows = session.sql(f"SELECT payer_key FROM {unknown} ORDER BY 1").collect()
            result.unknown_payers = [r[0] for r in rows]
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        finally:  # the views name files of this build's folder: drop them, the Parquet is the result
            for frame in cached:
                frame.unpersist()
            for name in session.catalog.listTables():
                if name.isTemporary and VIEW_SEPARATOR in name.name:
                    session.catalog.dropTempView(name.name)
        old = home.root / f"{SPARK_WAREHOUSE_DIR}.old-{os.getpid()}"
        if target.exists():
            os.replace(target, old)
        os.replace(building, target)
        shutil.rmtree(old, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    log.info("spark marts built in %.1fs", result.seconds, extra={"fields": {"marts": result.row_counts}})
    return result
