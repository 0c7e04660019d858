"""Other execution engines for the same parser, lake layout and SQL (``docs/spark.md``).

``pipeline.engines.spark`` runs ``remit ingest`` and ``remit build`` on Apache Spark. It imports pyspark
only inside its functions, so the default install (DuckDB engine) never needs it.
"""
