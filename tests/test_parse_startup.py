"""What a ``remit parse`` process loads: the parser and Parquet, nothing of the lake's, the gate's or the
warehouse's engines (their imports were a large share of a short parse's time; docs/parser.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIX = Path(__file__).parent / "fixtures" / "835"

_CHILD = r"""
import json, sys
from pipeline.cli import main
rc = main(["parse", sys.argv[1], "--out", sys.argv[2]])
print(json.dumps({"rc": rc, "modules": sorted(sys.modules)}))
"""


def test_remit_parse_loads_no_engine_it_does_not_use(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(FIX / "reversal.835"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["rc"] == 0 and (tmp_path / "out" / "claims.parquet").exists()
    loaded = set(got["modules"])
    assert "pipeline.x12.core" in loaded  # it did parse, with the compiled core
    for heavy in ("great_expectations", "polars", "duckdb", "pandas", "pyspark", "scipy.linalg"):
        assert heavy not in loaded, heavy


def test_scipy_linalg_still_imports_after_the_core_was_loaded():
    code = (
        "import sys; from pipeline.x12 import warm_up; warm_up(); "
        "before = 'scipy.linalg' in sys.modules; import scipy.linalg.cython_blas; print(before)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
