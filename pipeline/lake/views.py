"""DuckDB views over the lake: what analysts and ``remit build`` read.

``register_views`` reads the committed state once and creates views over exactly the parts it lists,
so the views are a consistent snapshot: rows of a file appear all together or not at all, never twice,
whatever ingest or compaction does meanwhile. Parts a later compaction retires stay on disk for the
grace period (6 h by default), so views keep working that long; call ``register_views`` again (or
``remit build``) to see newer files.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.lake.state import LOADED_STATUSES, MANIFEST_SCHEMA, LakeState
from pipeline.lake.worker import UNKNOWN_MONTH
from pipeline.x12.schema import TABLES

RESENT_COLUMN = "resent_of_transaction_id"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _empty_select(con: duckdb.DuckDBPyConnection, schema: pa.Schema) -> str:
    """A typed ``SELECT`` with no rows (a view over a table that has no parts yet)."""
    con.register("__remit_empty", schema.empty_table())
    try:
        cols = con.execute("DESCRIBE SELECT * FROM __remit_empty").fetchall()
    finally:
        con.unregister("__remit_empty")
    exprs = ", ".join(f"CAST(NULL AS {ctype}) AS {_ident(cname)}" for cname, ctype, *_ in cols)
    return f"SELECT {exprs} WHERE false"


def table_schema(name: str) -> pa.Schema:
    """The columns of view ``lake.<name>``: the parser's, the lake's additions, payment_month."""
    schema = TABLES[name]
    if name == "payments":
        schema = schema.append(pa.field(RESENT_COLUMN, pa.string()))
    return schema.append(pa.field("payment_month", pa.string()))


def register_views(con: duckdb.DuckDBPyConnection, lake_dir: Path) -> None:
    """Create schema ``lake`` with views payments, claims, service_lines, adjustments, remarks,
    provider_adjustments (parser columns + ``payment_month`` 'YYYY-MM'; payments also
    ``resent_of_transaction_id``) and manifest, over the lake's committed state.

    Only rows of files the manifest records as loaded (status loaded or resent) are visible.
    """
    lake_dir = Path(lake_dir).absolute()
    state = LakeState.load(lake_dir)
    con.execute("CREATE SCHEMA IF NOT EXISTS lake")
    if state.manifest:
        manifest_sql = f"SELECT * FROM read_parquet({_quote(str(lake_dir / state.manifest))})"
    else:
        manifest_sql = _empty_select(con, MANIFEST_SCHEMA)
    con.execute(f"CREATE OR REPLACE VIEW lake.manifest AS {manifest_sql}")
    statuses = ", ".join(_quote(s) for s in LOADED_STATUSES)
    for name in TABLES:
        parts = state.parts.get(name, [])
        if not parts:
            sql = _empty_select(con, table_schema(name))
        else:
            files = ", ".join(_quote(str(lake_dir / rel)) for rel in parts)
            sql = (
                f"SELECT * REPLACE (NULLIF(payment_month, {_quote(UNKNOWN_MONTH)}) AS payment_month) "
                f"FROM read_parquet([{files}], hive_partitioning = true, union_by_name = true, "
                f"hive_types = {{'payment_month': VARCHAR}}) "
                f"WHERE file_id IN (SELECT file_id FROM lake.manifest WHERE status IN ({statuses}))"
            )
        con.execute(f"CREATE OR REPLACE VIEW lake.{name} AS {sql}")
