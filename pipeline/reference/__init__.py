"""The CARC/RARC reference tables: versioned seed CSVs in ``reference/`` and their DuckDB loader.

Public API (used by the warehouse build and the ``remit reference import`` command)::

    counts = load_reference(con, home)           # schema ref: every seed table and the ref.* macros
    result = import_code_list(path, home)        # a licensed official list into <home>/reference/
    REFERENCE_TABLES                             # name -> TableSpec (columns, types, comments)
"""

from pipeline.reference.loader import SeedError, load_reference, read_seed, seed_dir
from pipeline.reference.official import CodeListError, ImportResult, import_code_list
from pipeline.reference.tables import NO_TYPICAL_RARCS, REFERENCE_TABLES, TableSpec, typical_rarc_codes

__all__ = [
    "NO_TYPICAL_RARCS",
    "REFERENCE_TABLES",
    "CodeListError",
    "ImportResult",
    "SeedError",
    "TableSpec",
    "import_code_list",
    "load_reference",
    "read_seed",
    "seed_dir",
    "typical_rarc_codes",
]
