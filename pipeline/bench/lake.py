"""Lake benchmark: what compaction buys over a year of nightly ingests, with and without it.

``python -m pipeline.bench --only lake`` (or ``python -m pipeline.bench.lake [--nights 365]
[--files-per-night 3] [--workdir bench-data/lake]`` for other sizes).

Each night drops a few small remittances whose payments fall in the current month or the one before
(late files), runs ``ingest`` (in-process, one worker: the figure of interest is the file count, not
parse speed) and records the number of live parts and of Parquet files on disk, and how long a full
scan through the views takes at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import time
from decimal import Decimal
from pathlib import Path

import duckdb

from pipeline.bench.figures import Figure
from pipeline.home import Home
from pipeline.lake.compact import COMPACT_MAX_PARTS
from pipeline.lake.loader import ingest
from pipeline.lake.state import LakeState
from pipeline.lake.views import register_views


def _file(night: int, k: int, pay_date: dt.date) -> bytes:
    """A small valid 835: one payment, two claims of one line each (balanced)."""
    icn = night * 100 + k
    d = pay_date.strftime("%Y%m%d")
    paid1, paid2 = Decimal(40 + k), Decimal(25 + night % 7)
    total = paid1 + paid2
    segs = [
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{'BENCHPAYER':<15}*ZZ*{'BENCHCLINIC':<15}*250101*0100*^*00501*"
        f"{icn:09d}*0*P*:",
        f"GS*HP*BENCHPAYER*BENCHCLINIC*20250101*0100*{icn}*X*005010X221A1",
        "ST*835*0001",
        f"BPR*I*{total:.2f}*C*ACH*CCP*01*999999999*DA*1*1512345678**01*999988880*DA*2*{d}",
        f"TRN*1*B{icn}*1512345678",
        f"DTM*405*{d}",
        "N1*PR*BENCH PLAN",
        f"REF*2U*BP{k}",
        "N1*PE*BENCH CLINIC*XX*1234567893",
        "LX*1",
    ]
    for n, paid in ((1, paid1), (2, paid2)):
        segs += [
            f"CLP*C{icn}-{n}*1*100.00*{paid:.2f}*0*12*P{icn}{n}*11*1",
            f"SVC*HC:99213*100.00*{paid:.2f}**1",
            f"CAS*CO*45*{100 - paid:.2f}",
        ]
    segs.append(f"SE*{len(segs) - 1}*0001")
    segs += [f"GE*1*{icn}", f"IEA*1*{icn:09d}"]
    return ("~\n".join(segs) + "~\n").encode()


def simulate(root: Path, nights: int, per_night: int, max_parts: int) -> dict[str, float]:
    """Run ``nights`` nightly ingests into a fresh home; return the figures."""
    shutil.rmtree(root, ignore_errors=True)
    home = Home(root).ensure()
    start = dt.date(2025, 1, 1)
    ingest_seconds = 0.0
    for night in range(nights):
        today = start + dt.timedelta(days=night)
        for k in range(per_night):
            late = k == per_night - 1 and today.day <= 10  # early in a month, one file pays last month
            pay = (today.replace(day=1) - dt.timedelta(days=1)) if late else today
            path = home.inbox / f"n{night:03d}-{k}.835"
            path.write_bytes(_file(night, k, pay))
            os.utime(path, (time.time() - 60, time.time() - 60))
        t0 = time.perf_counter()
        ingest(home, workers=1, compact_max_parts=max_parts, grace_seconds=0)
        ingest_seconds += time.perf_counter() - t0
    state = LakeState.load(home.lake)
    con = duckdb.connect()
    register_views(con, home.lake)
    t0 = time.perf_counter()
    claims, paid = con.execute("SELECT count(*), sum(paid_amount) FROM lake.claims").fetchone()
    scan = time.perf_counter() - t0
    on_disk = sum(1 for p in home.lake.rglob("*.parquet") if "_manifest" not in p.parts)
    return {
        "files": nights * per_night,
        "live_parts": sum(len(v) for v in state.parts.values()),
        # parts are named <table>/payment_month=<month>/<part>: a partition is their folder
        "partitions": len({rel.rsplit("/", 1)[0] for rels in state.parts.values() for rel in rels}),
        "parquet_on_disk": on_disk,
        "claims": claims,
        "paid": str(paid),
        "ingest_seconds_total": round(ingest_seconds, 1),
        "scan_seconds": round(scan, 3),
    }


NIGHTS = 365
FILES_PER_NIGHT = 3


def compare(workdir: Path, nights: int, per_night: int) -> dict[str, dict[str, float]]:
    """The same year simulated without compaction and with the lake's default; figures by label."""
    out = {}
    for label, max_parts in (("without", 10**9), ("with", COMPACT_MAX_PARTS)):
        out[label] = simulate(workdir / label, nights, per_night, max_parts)
        print(f"{label} compaction (> {max_parts} parts): {out[label]}", flush=True)
    if out["with"]["claims"] != out["without"]["claims"] or out["with"]["paid"] != out["without"]["paid"]:
        raise RuntimeError(f"compaction changed the lake's totals: {out}")
    return out


def run(workdir: Path) -> list[Figure]:
    """A year of nights (365 x 3 small files) with and without compaction; parts per partition and scans."""
    got = compare(Path(workdir) / "lake", NIGHTS, FILES_PER_NIGHT)
    with_, without = got["with"], got["without"]
    partitions = with_["partitions"]
    return [
        Figure(
            "lake",
            "live parts per table-month partition after a year, compacted",
            with_["live_parts"] / partitions,
            "parts",
            COMPACT_MAX_PARTS,
            note=f"{with_['live_parts']:.0f} parts in {partitions:.0f} partitions",
        ),
        Figure(
            "lake",
            "full scan of lake.claims, compacted / not",
            with_["scan_seconds"] / max(without["scan_seconds"], 1e-9),
            "x",
            None,
            note=f"{with_['scan_seconds']:.2f} s against {without['scan_seconds']:.2f} s",
        ),
        Figure("lake", "a year of nightly ingests, compacted", with_["ingest_seconds_total"], "s", None),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.bench.lake", description=__doc__)
    ap.add_argument("--nights", type=int, default=NIGHTS)
    ap.add_argument("--files-per-night", type=int, default=FILES_PER_NIGHT)
    ap.add_argument("--workdir", type=Path, default=Path("bench-data/lake"))
    args = ap.parse_args(argv)
    compare(args.workdir, args.nights, args.files_per_night)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
