"""The CARC/RARC reference tables: versioned seed CSVs in ``reference/`` and their DuckDB loader.

Public API (used by the warehouse build and the ``remit reference import`` command)::

    counts = load_reference(con, home)           # schema ref: 9 tables + macro ref.carc_is_expired
    result = import_code_list(path, home)        # a licensed official list into <home>/reference/
    REFERENCE_TABLES                             # name -> TableSpec (columns, types, comments)
"""

from pipeline.reference.loader import SeedError, load_reference, read_seed, seed_dir
from pipeline.reference.official import CodeListError, ImportResult, import_code_list
from pipeline.reference.tables import REFERENCE_TABLES, TableSpec

__all__ = [
    "REFERENCE_TABLES",
    "CodeListError",
    "ImportResult",
    "SeedError",
    "TableSpec",
    "import_code_list",
    "load_reference",
    "read_seed",
    "seed_dir",
]
