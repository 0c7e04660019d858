"""The incremental, idempotent Parquet lake: ``remit ingest`` and the views over it.

Public API::

    from pipeline.lake import ingest, register_views, IngestResult, LockedError, run_lock

    result = ingest(home, inbox=None, workers=None)   # load new inbox files exactly once
    register_views(con, home.lake)                    # lake.payments … lake.manifest in DuckDB
    with run_lock(home): ...                          # the one-run-at-a-time lock (re-entrant)

Layout, manifest, guarantees and exit codes: ``docs/lake.md``.
"""

from __future__ import annotations

import importlib

# ``compact`` is a function and a submodule: imported here, so the name is the function whichever is
# imported first
from pipeline.lake.compact import CompactionStats, collect_garbage, compact

# The other names are imported on first use (PEP 562): importing a submodule such as
# ``pipeline.lake.names`` (the CLI does, for every command) then no longer loads duckdb and the loader:
# ``remit parse`` and ``remit --help`` start that much sooner.
_HOME = {
    "Gate": "loader",
    "IngestResult": "loader",
    "Parser": "loader",
    "discover": "loader",
    "ingest": "loader",
    "resend_key": "loader",
    "LockedError": "lock",
    "run_lock": "lock",
    "LOADED_STATUSES": "state",
    "MANIFEST_SCHEMA": "state",
    "STATUSES": "state",
    "LakeState": "state",
    "STORAGE_VERSION": "views",
    "connect_warehouse": "views",
    "new_database": "views",
    "register_views": "views",
    "table_schema": "views",
}


def __getattr__(name: str):
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
