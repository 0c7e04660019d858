"""The incremental, idempotent Parquet lake: ``remit ingest`` and the views over it.

Public API::

    from pipeline.lake import ingest, register_views, IngestResult, LockedError, run_lock

    result = ingest(home, inbox=None, workers=None)   # load new inbox files exactly once
    register_views(con, home.lake)                    # lake.payments … lake.manifest in DuckDB
    with run_lock(home): ...                          # the one-run-at-a-time lock (re-entrant)

Layout, manifest, guarantees and exit codes: ``docs/lake.md``.
"""

from __future__ import annotations

from pipeline.lake.compact import CompactionStats, collect_garbage, compact
from pipeline.lake.loader import Gate, IngestResult, Parser, discover, ingest, resend_key
from pipeline.lake.lock import LockedError, run_lock
from pipeline.lake.state import LOADED_STATUSES, MANIFEST_SCHEMA, STATUSES, LakeState
from pipeline.lake.views import STORAGE_VERSION, connect_warehouse, new_database, register_views, table_schema

__all__ = [
    "LOADED_STATUSES",
    "MANIFEST_SCHEMA",
    "STATUSES",
    "STORAGE_VERSION",
    "CompactionStats",
    "Gate",
    "IngestResult",
    "LakeState",
    "LockedError",
    "new_database",
    "collect_garbage",
    "compact",
    "connect_warehouse",
    "discover",
    "ingest",
    "Parser",
    "register_views",
    "resend_key",
    "run_lock",
    "table_schema",
]
