"""remit: X12 835 remittance analytics.

The package is laid out in the order the data flows:

- ``pipeline.x12``       tokenize and parse 835 files into Arrow tables (pure ``bytes -> Arrow``)
- ``pipeline.synth``     a realistic synthetic 835 generator with ground truth
- ``pipeline.reference`` the CARC/RARC reference seeds and their DuckDB loader
- ``pipeline.lake``      the incremental, idempotent Parquet lake and its manifest
- ``pipeline.warehouse`` the DuckDB warehouse built from the lake, the seeds and ``sql/``
- ``pipeline.quality``   Great Expectations suites
- ``pipeline.reports``   notebook reports rendered to HTML
- ``pipeline.cli``       the ``remit`` command, a thin layer over the modules above
"""

__version__ = "0.1.0"
