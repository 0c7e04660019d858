"""Warehouse benchmark: ``remit run`` (ingest + build) on a generated year of 1,000,000 claims.

Targets: end to end under 60 s, peak RSS of the whole process tree (the CLI and its parser workers) under
4 GB, and each analyst query on a mart (top 20 by dollars) under 1 s on the built file.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

CLAIMS = 1_000_000
SEED = 835
LIMIT_SECONDS = 60.0
LIMIT_RSS_BYTES = 4 << 30
LIMIT_QUERY_SECONDS = 1.0

# One question an analyst would ask of each mart.
QUERIES = {
    "claim_outcomes": "SELECT claim_id, payer_name, payment_month, denied_amount, top_denial_reason_code "
    "FROM marts.claim_outcomes WHERE is_denied ORDER BY denied_amount DESC LIMIT 20",
    "denials_by_carc_month": "SELECT reason_code, group_code, carc_summary, sum(dollars) AS dollars, "
    "sum(adjustment_count) AS n FROM marts.denials_by_carc_month WHERE is_denial "
    "GROUP BY ALL ORDER BY dollars DESC LIMIT 20",
    "provider_absorbed_month": "SELECT payment_month, payer_name, absorbed_category, dollars "
    "FROM marts.provider_absorbed_month ORDER BY dollars DESC LIMIT 20",
    "crossover_month": "SELECT payment_month, payer_name, reason_code, crossover_direction, dollars "
    "FROM marts.crossover_month ORDER BY dollars DESC LIMIT 20",
    "kpi_month": "SELECT payment_month, payer_name, denial_rate_count, denial_rate_dollars, "
    "denial_writeoff_amount AS dollars FROM marts.kpi_month ORDER BY dollars DESC LIMIT 20",
    "appeal_worklist": "SELECT worklist_rank, payer_name, reason_code, dollars_at_stake, action, "
    "remark_codes FROM marts.appeal_worklist ORDER BY dollars_at_stake DESC LIMIT 20",
}


def _tree_rss(root: int) -> int:
    """Sum of VmRSS over ``root`` and all its descendants (bytes), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as fh:
                ppid, kb = 0, 0
                for line in fh:
                    if line.startswith("PPid:"):
                        ppid = int(line.split()[1])
                    elif line.startswith("VmRSS:"):
                        kb = int(line.split()[1])
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = kb * 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def _workload(workdir: Path) -> Path:
    synth = workdir / "synth-1m"
    if not (synth / "truth.json").exists():
        from pipeline.synth import generate

        print(f"generating {CLAIMS:,} claims into {synth} (once; reused by later runs)", flush=True)
        t0 = time.perf_counter()
        generate(synth, claims=CLAIMS, seed=SEED)
        print(f"  generated in {time.perf_counter() - t0:.1f}s", flush=True)
    return synth


def run(workdir: Path) -> bool:
    """Time ``remit run`` on 1M claims and the mart queries; print figures; True when within budget."""
    import duckdb

    workdir = Path(workdir)
    synth = _workload(workdir)
    home = workdir / "warehouse-home"
    shutil.rmtree(home, ignore_errors=True)
    (home / "inbox").mkdir(parents=True)
    shutil.copy(synth / "payers.csv", home / "payers.csv")
    old = time.time() - 3600
    files = sorted(synth.glob("*.835"))
    for f in files:
        dest = home / "inbox" / f.name
        try:
            os.link(f, dest)
        except OSError:
            shutil.copy(f, dest)
        os.utime(dest, (old, old))
    size = sum(f.stat().st_size for f in files)

    cmd = [sys.executable, "-m", "pipeline.cli", "--home", str(home), "run"]
    # CPU seconds as well as wall time: on a shared machine the wall clock mostly measures the neighbours
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    # output goes to a file, not a pipe: a pipe nobody reads while we poll memory fills up (thousands of
    # per-file log lines) and blocks the run
    log_path = workdir / "warehouse-run.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, text=True)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.1)
    seconds = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    lines = log_path.read_text().splitlines()
    # the summary lines, not one "loaded" line per file
    output = "\n".join(line for line in lines if " INFO    loaded " not in line)
    if proc.returncode != 0:
        print(output)
        print(f"remit run failed with exit code {proc.returncode}")
        return False
    print(output.strip())
    print(
        f"remit run: {len(files)} files, {size / 1e6:.0f} MB, {CLAIMS:,} claims: {seconds:.1f}s "
        f"(limit {LIMIT_SECONDS:.0f}s), peak RSS of the process tree {peak / 2**30:.2f} GB "
        f"(limit {LIMIT_RSS_BYTES / 2**30:.0f} GB); CPU {cpu:.1f}s user+sys on {os.cpu_count()} cores, "
        f"load average {load:.1f} at start"
    )
    ingest_s = re.search(r"the lake holds \d+ files \(([0-9.]+)s", output)
    build_s = re.search(r"warehouse built in ([0-9.]+)s", output)
    if ingest_s and build_s:
        both = float(ingest_s.group(1)) + float(build_s.group(1))
        print(
            f"  of which ingest (with the quality gate) {float(ingest_s.group(1)):.1f}s + build "
            f"{float(build_s.group(1)):.1f}s = {both:.1f}s; the rest is start-up, the warehouse checks, "
            "the report and the handbook"
        )
    ok = seconds < LIMIT_SECONDS and peak < LIMIT_RSS_BYTES

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        for mart, sql in QUERIES.items():
            q0 = time.perf_counter()
            n = len(con.execute(sql).fetchall())
            q = time.perf_counter() - q0
            ok = ok and q < LIMIT_QUERY_SECONDS
            print(f"  query {mart}: {q * 1000:.0f} ms ({n} rows; limit {LIMIT_QUERY_SECONDS * 1000:.0f} ms)")
    finally:
        con.close()
    print("warehouse benchmark:", "within budget" if ok else "OVER BUDGET")
    return ok


if __name__ == "__main__":
    sys.exit(0 if run(Path(sys.argv[1] if len(sys.argv) > 1 else "bench-data")) else 1)
