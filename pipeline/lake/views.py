"""DuckDB views over the lake: what analysts and ``remit build`` read.

``register_views`` reads the committed state once and creates views over exactly the parts it lists,
so the views are a consistent snapshot: rows of a file appear all together or not at all, never twice,
whatever ingest or compaction does meanwhile. Parts a later compaction retires stay on disk for the
grace period (6 h by default), so views keep working that long; call ``register_views`` again (or
``remit build``) to see newer files.

In ``warehouse.duckdb`` the views name their Parquet files relative to the warehouse's folder (the home),
so a copied home reads its own lake, never the original's. DuckDB resolves a relative path against the
working directory first, then against the ``file_search_path`` setting: open the warehouse from inside
the home, or with :func:`connect_warehouse`, which sets ``file_search_path`` to the warehouse's folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.lake.state import LOADED_STATUSES, MANIFEST_SCHEMA, LakeState
from pipeline.lake.worker import UNKNOWN_MONTH
from pipeline.x12.schema import TABLES

RESENT_COLUMN = "resent_of_transaction_id"
# The DuckDB storage format remit writes (warehouse.duckdb, quality_results.duckdb): files in this format
# open in DuckDB 1.4 (the long-term-support line) and every later client, the duckdb-cli 1.5 from PyPI
# included; the default format of the duckdb 2.x library remit runs on is refused by every 1.x client.
STORAGE_VERSION = "v1.4.0"


def new_database(path: Path) -> duckdb.DuckDBPyConnection:
    """Create the DuckDB file ``path`` (it must not exist) in the storage format ``STORAGE_VERSION``."""
    return duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_VERSION})


def connect_warehouse(path: Path, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open a built ``warehouse.duckdb`` with ``file_search_path`` set to its folder, so the ``lake`` views
    (relative paths) read the lake beside it from any working directory."""
    path = Path(path).absolute()
    return duckdb.connect(str(path), read_only=read_only, config={"file_search_path": str(path.parent)})


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duckdb_type(dtype: pa.DataType) -> str | None:
    """The DuckDB type DuckDB gives Arrow type ``dtype``, for the types the lake's tables use; else None."""
    if pa.types.is_list(dtype):
        inner = duckdb_type(dtype.value_type)
        return f"{inner}[]" if inner else None
    if pa.types.is_decimal(dtype):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if pa.types.is_timestamp(dtype):
        return "TIMESTAMP WITH TIME ZONE" if dtype.tz else ("TIMESTAMP" if dtype.unit == "us" else None)
    return _SIMPLE_TYPES.get(dtype)


_SIMPLE_TYPES = {
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.date32(): "DATE",
}


def _empty_select(con: duckdb.DuckDBPyConnection, schema: pa.Schema) -> str:
    """A typed ``SELECT`` with no rows (a view over a table that has no parts yet).

    The types come from ``duckdb_type``: handing DuckDB an Arrow table to read them imports pandas,
    over a second of CPU in every build of a lake that lacks a table (the 1 M-claim bench lake has no
    claim references). A type it does not know is still asked of DuckDB that way.
    """
    types = [duckdb_type(f.type) for f in schema]
    if all(types):
        cols = [(f.name, t) for f, t in zip(schema, types, strict=True)]
    else:
        con.register("__remit_empty", schema.empty_table())
        try:
            cols = [tuple(r[:2]) for r in con.execute("DESCRIBE SELECT * FROM __remit_empty").fetchall()]
        finally:
            con.unregister("__remit_empty")
    exprs = ", ".join(f"CAST(NULL AS {ctype}) AS {_ident(cname)}" for cname, ctype in cols)
    return f"SELECT {exprs} WHERE false"


def table_schema(name: str) -> pa.Schema:
    """The columns of view ``lake.<name>``: the parser's, the lake's additions, payment_month."""
    schema = TABLES[name]
    if name == "payments":
        schema = schema.append(pa.field(RESENT_COLUMN, pa.string()))
    return schema.append(pa.field("payment_month", pa.string()))


def register_views(
    con: duckdb.DuckDBPyConnection, lake_dir: Path, *, relative_to: Path | None = None
) -> None:
    """Create schema ``lake`` with views payments, claims, service_lines, adjustments, remarks,
    provider_adjustments (parser columns + ``payment_month`` 'YYYY-MM'; payments also
    ``resent_of_transaction_id``) and manifest, over the lake's committed state.

    Only rows of files the manifest records as loaded (status loaded or resent) are visible. With
    ``relative_to`` (the folder of the warehouse file being built) the views name their files relative to
    it and the connection's ``file_search_path`` is set to it; otherwise paths are absolute.
    """
    lake_dir = Path(lake_dir).absolute()
    state = LakeState.load(lake_dir)
    if relative_to is not None:
        base = Path(relative_to).absolute()
        con.execute("SET file_search_path = ?", [str(base)])
        prefix = Path(os.path.relpath(lake_dir, base)).as_posix()
    else:
        prefix = lake_dir.as_posix()

    def where(rel: str) -> str:
        return _quote(f"{prefix}/{rel}")

    con.execute("CREATE SCHEMA IF NOT EXISTS lake")
    if state.manifest:
        manifest_sql = f"SELECT * FROM read_parquet({where(state.manifest)})"
    else:
        manifest_sql = _empty_select(con, MANIFEST_SCHEMA)
    con.execute(f"CREATE OR REPLACE VIEW lake.manifest AS {manifest_sql}")
    statuses = ", ".join(_quote(s) for s in LOADED_STATUSES)
    for name in TABLES:
        parts = state.parts.get(name, [])
        if not parts:
            sql = _empty_select(con, table_schema(name))
        else:
            files = ", ".join(where(rel) for rel in parts)
            sql = (
                f"SELECT * REPLACE (NULLIF(payment_month, {_quote(UNKNOWN_MONTH)}) AS payment_month) "
                f"FROM read_parquet([{files}], hive_partitioning = true, union_by_name = true, "
                f"hive_types = {{'payment_month': VARCHAR}}) "
                f"WHERE file_key IN (SELECT file_key FROM lake.manifest WHERE status IN ({statuses}))"
            )
        con.execute(f"CREATE OR REPLACE VIEW lake.{name} AS {sql}")
