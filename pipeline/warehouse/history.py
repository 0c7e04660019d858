"""``marts.kpi_month_history``: every build's month figures, kept across rebuilds.

A report sent to leadership quotes ``marts.kpi_month`` as it was on the day it was built; a later remit
(a late reversal, an overturned denial) restates a past month. So that the sent figures can be
reproduced and a restatement explained, every build appends its ``kpi_month`` figures, one row per
payment month x payer x figure, to ``<home>/kpi_month_history.duckdb`` (its own file, like the quality
results, so that rebuilding or deleting the warehouse never loses it) and copies the whole history into
the new warehouse as ``marts.kpi_month_history``. ``marts.kpi_month_restatements`` lists what each build
changed against the build before it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.home import Home

HISTORY_FILE = "kpi_month_history.duckdb"
# Columns of marts.kpi_month that identify a row rather than hold a figure.
KEY_COLUMNS = ("payment_month", "payer_key", "payer_name", "plan_type")

HISTORY_DDL = """
CREATE SCHEMA IF NOT EXISTS marts;
CREATE TABLE IF NOT EXISTS marts.kpi_month_history (
    build_id VARCHAR NOT NULL,
    built_at TIMESTAMP NOT NULL,
    payment_month VARCHAR NOT NULL,
    payer_key VARCHAR NOT NULL,
    figure VARCHAR NOT NULL,
    value DECIMAL(38, 4)
)
"""

RESTATEMENTS_VIEW = """
CREATE OR REPLACE VIEW marts.kpi_month_restatements AS
WITH builds AS (
    SELECT build_id, built_at, row_number() OVER (ORDER BY built_at, build_id) AS build_number
    FROM (SELECT DISTINCT build_id, built_at FROM marts.kpi_month_history) AS b
),
pairs AS (
    SELECT b.build_id, b.built_at, p.build_id AS previous_build_id
    FROM builds AS b
    INNER JOIN builds AS p ON p.build_number = b.build_number - 1
),
keys AS (
    SELECT DISTINCT pr.build_id, pr.built_at, pr.previous_build_id, h.payment_month, h.payer_key, h.figure
    FROM pairs AS pr
    INNER JOIN marts.kpi_month_history AS h ON h.build_id IN (pr.build_id, pr.previous_build_id)
)
SELECT
    k.build_id,
    k.built_at,
    k.previous_build_id,
    k.payment_month,
    k.payer_key,
    k.figure,
    o.value AS previous_value,
    c.value AS value,
    c.value - o.value AS change
FROM keys AS k
LEFT JOIN marts.kpi_month_history AS c
    ON c.build_id = k.build_id AND c.payment_month = k.payment_month AND c.payer_key = k.payer_key
    AND c.figure = k.figure
LEFT JOIN marts.kpi_month_history AS o
    ON o.build_id = k.previous_build_id AND o.payment_month = k.payment_month AND o.payer_key = k.payer_key
    AND o.figure = k.figure
WHERE c.value IS DISTINCT FROM o.value
"""

COMMENTS = {
    "marts.kpi_month_history": (
        "TABLE",
        "Every build's marts.kpi_month figures, one row per build x payment_month x payer_key x figure, "
        "kept across rebuilds in <home>/kpi_month_history.duckdb. Grain: build_id x payment_month x "
        "payer_key x figure.",
    ),
    "marts.kpi_month_restatements": (
        "VIEW",
        "What each build changed in marts.kpi_month against the build before it (a restated month: a late "
        "reversal, a resolved denial, a new remit for a past month). Grain: build_id x payment_month x "
        "payer_key x figure, changed figures only.",
    ),
}
COLUMN_COMMENTS = {
    "marts.kpi_month_history": {
        "build_id": "Id of the build: UTC time of the build and a random suffix.",
        "built_at": "UTC time the build computed these figures.",
        "payment_month": "marts.kpi_month.payment_month.",
        "payer_key": "marts.kpi_month.payer_key.",
        "figure": "Column name in marts.kpi_month (docs/metrics.md defines each).",
        "value": "The figure's value in that build (counts, dollars, ratios and days alike).",
    },
    "marts.kpi_month_restatements": {
        "build_id": "The build that changed the figure.",
        "built_at": "When that build ran (UTC).",
        "previous_build_id": "The build before it.",
        "payment_month": "Payment month of the changed figure.",
        "payer_key": "Payer of the changed figure.",
        "figure": "kpi_month column that changed.",
        "previous_value": "Value in the previous build (NULL: the row did not exist).",
        "value": "Value in this build (NULL: the row no longer exists).",
        "change": "value - previous_value.",
    },
}


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def history_path(home: Home) -> Path:
    """Where the history is kept between builds: ``<home>/kpi_month_history.duckdb``."""
    return home.root / HISTORY_FILE


def new_build_id(now: dt.datetime) -> str:
    """A build id that sorts by time and stays unique for two builds in the same second."""
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _figures_sql(con: duckdb.DuckDBPyConnection) -> str:
    """SELECT of this build's figures (payment_month, payer_key, figure, value) from marts.kpi_month."""
    columns = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
            "AND table_name = 'kpi_month' ORDER BY ordinal_position"
        ).fetchall()
        if r[0] not in KEY_COLUMNS
    ]
    return " UNION ALL ".join(
        f"SELECT payment_month, payer_key, '{c}' AS figure, CAST({c} AS DECIMAL(38, 4)) AS value "
        "FROM marts.kpi_month"
        for c in columns
    )


def record_history(
    con: duckdb.DuckDBPyConnection, home: Home, build_id: str, built_at: dt.datetime
) -> pa.Table:
    """Create ``marts.kpi_month_history`` in the warehouse being built: the kept history plus this build.

    Returns this build's rows, to be appended to the history file once the warehouse is published
    (:func:`append_history`), so a failed build leaves no trace in the history.
    """
    con.execute(HISTORY_DDL)
    path = history_path(home)
    if path.exists():
        con.execute("ATTACH ? AS kept_history (READ_ONLY)", [str(path)])
        try:
            con.execute(
                "INSERT INTO marts.kpi_month_history SELECT * FROM kept_history.marts.kpi_month_history"
            )
        finally:
            con.execute("DETACH kept_history")
    stamp = built_at.astimezone(dt.UTC).replace(tzinfo=None).isoformat()
    result = con.sql(
        f"SELECT '{build_id}' AS build_id, CAST('{stamp}' AS TIMESTAMP) AS built_at, payment_month, "
        f"payer_key, figure, value FROM ({_figures_sql(con)}) AS f ORDER BY payment_month, payer_key, figure"
    ).arrow()
    current = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    con.register("current_figures", current)
    try:
        con.execute("INSERT INTO marts.kpi_month_history SELECT * FROM current_figures")
    finally:
        con.unregister("current_figures")
    con.execute(RESTATEMENTS_VIEW)
    for name, (kind, text) in COMMENTS.items():
        con.execute(f"COMMENT ON {kind} {name} IS {_quoted(text)}")
        for col, col_text in COLUMN_COMMENTS[name].items():
            con.execute(f"COMMENT ON COLUMN {name}.{col} IS {_quoted(col_text)}")
    return current


def append_history(home: Home, rows: pa.Table) -> None:
    """Append a published build's figures to ``<home>/kpi_month_history.duckdb``."""
    con = duckdb.connect(str(history_path(home)))
    try:
        con.execute(HISTORY_DDL)
        con.register("published_figures", rows)
        con.execute("INSERT INTO marts.kpi_month_history SELECT * FROM published_figures")
    finally:
        con.close()
