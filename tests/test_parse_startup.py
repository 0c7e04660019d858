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
    for heavy in ("great_expectations", "polars", "duckdb", "pandas", "pyspark"):
        assert heavy not in loaded, heavy
    # numba's BLAS lookup (0.1 s) is skipped in a one-thread process such as this one or a lake worker
    assert "scipy.linalg" not in loaded


_AFTER = r"""
import sys
from pipeline.x12 import warm_up
warm_up()
import scipy.linalg, scipy.linalg.cython_blas
print(scipy.linalg.cython_blas.__name__, scipy.linalg.norm([3.0, 4.0]))
"""


def test_scipy_imports_as_usual_once_the_core_is_loaded():
    out = subprocess.run([sys.executable, "-c", _AFTER], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "scipy.linalg.cython_blas 5.0"


# The core once made ``import scipy.linalg.cython_blas`` fail while numba loaded it (a module set to None in
# sys.modules, to save numba's 0.13 s BLAS lookup) in any process. sys.modules is the process's: the
# night's gate thread, importing Great Expectations (and SciPy) while the ingest warmed the parser up,
# died with "import of scipy.linalg.cython_blas halted; None in sys.modules" (found on a 5M night, 6 Dec
# 2026). It is now done only while the loading thread is the process's only one.
_RACE = r"""
import sys, threading
from pipeline.x12 import warm_up
seen = []
done = threading.Event()
def load():
    warm_up()
    done.set()
threading.Thread(target=load).start()
while not done.is_set():
    seen += [n for n, m in list(sys.modules.items()) if m is None and n.startswith("scipy")]
import scipy.linalg.cython_blas
print(sorted(set(seen)))
"""


def test_loading_the_core_leaves_other_threads_imports_alone():
    out = subprocess.run([sys.executable, "-c", _RACE], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
