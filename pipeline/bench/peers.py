"""Other Python 835 parsers from PyPI, timed on the same file as remit (``make bench``, parser stage).

Each peer runs in a throwaway environment of its own (``uv run --no-project --isolated --with ...``), so
its dependencies never enter the project's lock: linuxforhealth-x12 0.57, for one, needs pydantic 1 and
fails to import beside pydantic 2, which the project resolves. The peer's script times only its parse
(imports excluded) and reports claims and the sum of CLP04 from the peer's own objects, which the
benchmark compares with remit's figures for the same file. A peer that cannot be installed or fails
on the file is reported with its error, not skipped silently. Needs uv and PyPI; without them the
peers are reported as not run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

TIMEOUT_SECONDS = 600

# Each script prints one JSON line: {"claims": n, "clp04": "…", "seconds": s}.
_EDI_835_PARSER = """
import json, sys, time, warnings
from decimal import Decimal
warnings.simplefilter("ignore")  # it warns once per segment it does not handle (CAS, MIA, MOA ...)
import edi_835_parser
t = time.perf_counter()
sets = edi_835_parser.parse(sys.argv[1])
seconds = time.perf_counter() - t
claims = [c for ts in sets for c in ts.claims]
paid = sum((Decimal(str(c.claim.paid_amount)) for c in claims), Decimal(0))
print(json.dumps({"claims": len(claims), "clp04": str(paid), "seconds": seconds}))
"""

_LINUXFORHEALTH_X12 = """
import json, sys, time
from decimal import Decimal
from linuxforhealth.x12.io import X12ModelReader
t = time.perf_counter()
claims, paid = 0, Decimal(0)
with X12ModelReader(sys.argv[1]) as reader:
    for model in reader.models():
        for header in model.dict().get("loop_2000") or []:
            for claim in header.get("loop_2100") or []:
                claims += 1
                paid += Decimal(str(claim["clp_segment"]["claim_payment_amount"]))
print(json.dumps({"claims": claims, "clp04": str(paid), "seconds": time.perf_counter() - t}))
"""

PEERS: dict[str, tuple[list[str], str]] = {
    "edi-835-parser": (["edi-835-parser"], _EDI_835_PARSER),
    "linuxforhealth-x12": (["linuxforhealth-x12", "pydantic<2"], _LINUXFORHEALTH_X12),
}


@dataclass
class PeerResult:
    """What one peer did with the file: figures, or why there are none."""

    name: str
    claims: int | None = None
    clp04: Decimal | None = None
    seconds: float | None = None
    error: str | None = None


def _uv() -> str | None:
    for candidate in (shutil.which("uv"), ".tools/bin/uv"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def run_peer(name: str, path: Path) -> PeerResult:
    """Install ``name`` in a throwaway environment and time its parse of ``path``."""
    uv = _uv()
    if uv is None:
        return PeerResult(name, error="not run: uv not found")
    requirements, script = PEERS[name]
    cmd = [uv, "run", "--no-project", "--isolated", "--quiet"]
    for requirement in requirements:
        cmd += ["--with", requirement]
    cmd += ["python", "-c", script, str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return PeerResult(name, error=f"no result within {TIMEOUT_SECONDS} s")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return PeerResult(name, error=f"failed on the file: {last[:200]}")
    found = json.loads(lines[-1])
    return PeerResult(name, int(found["claims"]), Decimal(found["clp04"]), float(found["seconds"]))


def report(path: Path, remit_mb_s: float, claims: int, clp04: Decimal) -> list[str]:
    """One line per peer: MB/s and the ratio to remit on the same file, and whether the totals agree."""
    mb = path.stat().st_size / 1e6
    lines = []
    for name in PEERS:
        result = run_peer(name, path)
        label = f"{name} on {mb:.2f} MB:"
        if result.error is not None:
            lines.append(f"{label:33}{result.error}")
            continue
        assert result.seconds is not None
        mb_s = mb / result.seconds
        agree = (
            "agree"
            if (result.claims, result.clp04) == (claims, clp04)
            else (f"DIFFER: {result.claims} claims, CLP04 {result.clp04} (remit {claims}, {clp04})")
        )
        lines.append(
            f"{label:33}{mb_s:7.2f} MB/s wall; remit / {name} = {remit_mb_s / mb_s:.0f}; totals {agree}"
        )
    return lines
