"""Realistic synthetic X12 835 (005010X221A1) generator with exact ground truth.

``generate(out_dir, claims=…)`` writes ``era-YYYY-MM-NNNN.835`` files, ``payers.csv`` and ``truth.json``
(the totals the pipeline must reproduce, tallied from the generator's own model); ``with_837=True`` also
writes the 837s submitted (``837/clm-YYYY-MM-NNNN.837``, pipeline/synth/submissions.py). Same seed, same
bytes, whatever the number of worker processes. See docs/generator.md.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import json
import os
from pathlib import Path
from random import Random

from pipeline.leftovers import spawn_pool
from pipeline.synth import model as m
from pipeline.synth.episodes import plan_episodes
from pipeline.synth.submissions import assemble
from pipeline.synth.writer import Tally, money, run_chunk

__all__ = ["generate", "GENERATOR_VERSION"]

GENERATOR_VERSION = "2"
CLAIMS_PER_FILE = 250  # default file size
CHUNK_CLAIMS = 3000  # a big file is written in chunks of about this many claims, in parallel
PARALLEL_MIN_CLAIMS = 5000  # below this a process pool costs more than it saves


def _months(start: str, months: int) -> list[dt.date]:
    try:
        year, month = (int(x) for x in start.split("-"))
        first = dt.date(year, month, 1)
    except ValueError as exc:
        raise ValueError(f"start must be YYYY-MM, got {start!r}") from exc
    out = []
    for i in range(months + 1):
        y, mo = divmod(first.month - 1 + i, 12)
        out.append(dt.date(first.year + y, mo + 1, 1))
    return out


def _split(rng: Random, total: int, parts: int, spread: float) -> list[int]:
    """Split ``total`` into ``parts`` positive integers of randomly varying size."""
    weights = [1 - spread + 2 * spread * rng.random() for _ in range(parts)]
    wsum = sum(weights)
    sizes = [1 + int((total - parts) * w / wsum) for w in weights]
    left = total - sum(sizes)
    for i in range(left):
        sizes[i % parts] += 1
    return sizes


def _pick_payer(rng: Random) -> int:
    x = rng.random() * sum(p.weight for p in m.PAYERS)
    for i, p in enumerate(m.PAYERS):
        x -= p.weight
        if x < 0:
            return i
    return len(m.PAYERS) - 1


def _pick_payee(rng: Random, payer_idx: int) -> int:
    plan = m.PAYERS[payer_idx].plan_type
    if plan == "medical":
        kind = "hospital" if rng.random() < 0.35 else "clinic"
    else:
        kind = m.PAYEE_KINDS_BY_PLAN[plan][0]
    choices = [i for i, p in enumerate(m.PAYEES) if p.kind == kind]
    return choices[int(rng.random() * len(choices))]


def _plan(
    claims: int, files: int | None, seed: int, start: str, months: int
) -> tuple[list[dict], dict[str, int]]:
    """Decide every file: name, payer(s), interchanges with their flavours, transactions and sizes."""
    rng = Random(f"{seed}:plan")
    month_starts = _months(start, months)
    n_files = files if files is not None else max(months, round(claims / CLAIMS_PER_FILE))
    n_files = max(1, min(n_files, claims))
    sizes = _split(rng, claims, n_files, 0.4)
    single_payer = n_files >= len(m.PAYERS)
    order = list(m.FLAVOUR_PATTERN)
    rng.shuffle(order)
    width = max(4, len(str(n_files)))
    plans: list[dict] = []
    for i in range(n_files):
        m0 = i * months // n_files
        m1 = max(m0 + 1, (i + 1) * months // n_files)
        size = sizes[i]
        n_tx = max(1, round(size / (60 + 140 * rng.random())))
        flavour = order[i % len(order)]
        if flavour == "multi":
            if size < 2:
                flavour = "standard"
            else:
                n_tx = max(n_tx, 2)
        n_tx = min(n_tx, size)
        tx_sizes = _split(rng, size, n_tx, 0.5)
        file_payer = _pick_payer(rng) if single_payer else None
        txs = []
        for j in range(n_tx):
            mi = m0 + j * (m1 - m0) // n_tx
            ms = month_starts[mi]
            days = calendar.monthrange(ms.year, ms.month)[1]
            txs.append([mi, ms.toordinal() + int(rng.random() * days)])
        txs.sort()
        tx_plans = []
        for j, (mi, pay_ord) in enumerate(txs):
            payer_idx = file_payer if file_payer is not None else _pick_payer(rng)
            tx_plans.append(
                {
                    "payer": payer_idx,
                    "payee": _pick_payee(rng, payer_idx),
                    "n": tx_sizes[j],
                    "pay_ord": pay_ord,
                    "mi": mi,
                    "late": [],
                    "reserved": None,
                }
            )
        if flavour == "multi":
            n_ic = min(n_tx, 2 + (rng.random() < 0.4))
            flavours = rng.sample(list(m.FLAVOURS), n_ic)
        else:
            n_ic, flavours = 1, [flavour]
        first_month = month_starts[m0]
        plans.append(
            {
                "index": i,
                "name": f"era-{first_month:%Y-%m}-{i + 1:0{width}d}.835",
                "payer": file_payer,
                "flavours": flavours,
                "txs": tx_plans,
                "size": size,
            }
        )
    if single_payer and n_files > 1:
        _plan_late_pairs(rng, plans, claims)
    placed = plan_episodes(Random(f"{seed}:episodes"), plans, claims)
    return plans, placed


def _plan_late_pairs(rng: Random, plans: list[dict], claims: int) -> None:
    """Reserve originals in earlier files whose reversal + correction arrive in a later file."""
    target = max(1, claims // 2500)
    by_payer: dict[int, list[dict]] = {}
    for p in plans:
        by_payer.setdefault(p["payer"], []).append(p)
    made = 0
    for _ in range(target * 6):
        if made >= target:
            break
        b = plans[int(rng.random() * len(plans))]
        first_b = b["txs"][0]
        earlier = [a for a in by_payer[b["payer"]] if a["txs"][-1]["pay_ord"] < first_b["pay_ord"]]
        if not earlier:
            continue
        a = earlier[int(rng.random() * len(earlier))]
        ta = a["txs"][int(rng.random() * len(a["txs"]))]
        if ta["reserved"] is not None or ta["n"] < 2 * len(ta["late"]) + 1:
            continue
        if first_b["n"] < 2 * (len(first_b["late"]) + 1) + (first_b["reserved"] is not None) + 1:
            continue
        if first_b["late"] or first_b["reserved"] is not None:
            if first_b["payee"] != ta["payee"]:
                continue
        else:
            first_b["payee"] = ta["payee"]
        pair = (made, b["payer"], ta["payee"], ta["pay_ord"])
        ta["reserved"] = pair
        first_b["late"].append(pair)
        made += 1


def _jobs(
    plans: list[dict], out_dir: Path, seed: int, months: int, month_names: list[str], as_of: int
) -> tuple[list[tuple], dict[Path, list[Path]]]:
    """Cut the planned files into write jobs (one per file, or several chunks for a big file)."""
    jobs: list[tuple] = []
    parts: dict[Path, list[Path]] = {}
    for p in plans:
        i = p["index"]
        items: list[tuple] = []
        txs = p["txs"]
        n_ic = len(p["flavours"])
        bounds = [k * len(txs) // n_ic for k in range(n_ic + 1)]
        payer = m.PAYERS[p["payer"]] if p["payer"] is not None else None
        sender = f"{payer.payer_id}EDI" if payer else "REMITCLEARHOUSE"
        receiver = "REMITPROVIDER"
        for ic in range(n_ic):
            flavour = p["flavours"][ic]
            ic_txs = txs[bounds[ic] : bounds[ic + 1]]
            ctl = (i * 4 + ic + 1) % 1_000_000_000
            day = dt.date.fromordinal(ic_txs[0]["pay_ord"] - 1)
            hhmm = f"{(i * 7 + ic) % 24:02d}{(i * 13 + ic * 17) % 60:02d}"
            rep = m.FLAVOURS[flavour][2]
            isa = (
                f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}*{day:%y%m%d}*{hhmm}*{rep}"
                f"*00501*{ctl:09d}*0*P*:~\n"
            )
            gs = f"GS*HP*{sender}*{receiver}*{day:%Y%m%d}*{hhmm}*{ctl}*X*005010X221A1~\n"
            items.append(("raw", isa + gs, flavour, "isa"))
            for j, tx in enumerate(ic_txs):
                tx_idx = bounds[ic] + j
                plan = (
                    i,
                    tx_idx,
                    tx["payer"],
                    tx["payee"],
                    tx["n"],
                    tx["pay_ord"],
                    tx["mi"],
                    month_names[tx["mi"]],
                    j + 1,
                    tuple(tx["late"]),
                    tx["reserved"],
                    tuple(tx["episodes"]),
                )
                items.append(("tx", plan, flavour))
            items.append(("raw", f"GE*{len(ic_txs)}*{ctl}~\nIEA*1*{ctl:09d}~\n", flavour, "iea"))
        # cut into chunks of about CHUNK_CLAIMS claims
        chunks: list[list[tuple]] = [[]]
        load = 0
        for item in items:
            if item[0] == "tx" and load >= CHUNK_CLAIMS:
                chunks.append([])
                load = 0
            chunks[-1].append(item)
            if item[0] == "tx":
                load += item[1][4]
        final = out_dir / p["name"]
        if len(chunks) == 1:
            jobs.append((final, seed, months, chunks[0], True, as_of))
        else:
            paths = [out_dir / f".{p['name']}.part{k:05d}" for k in range(len(chunks))]
            parts[final] = paths
            for k, (path, chunk) in enumerate(zip(paths, chunks, strict=True)):
                jobs.append((path, seed, months, chunk, k == 0, as_of))
    return jobs, parts


def _truth(t: Tally, plans: list[dict], params: dict, month_names: list[str]) -> dict:
    n = t.n

    def amounts(d: dict[str, int]) -> dict[str, str]:
        return {k: money(d[k]) for k in sorted(d)}

    truth: dict = {
        "files": n["files"],
        "interchanges": n["interchanges"],
        "groups": n["groups"],
        "transactions": n["transactions"],
        "claims": n["claims"],
        "lines": n["lines"],
        "segments": n["segments"],
    }
    for key in ("bpr02_total", "clp03_total", "clp04_total", "clp05_total", "svc02_total", "svc03_total"):
        truth[key] = money(n[key])
    by_group: dict[str, int] = {}
    by_carc: dict[str, int] = {}
    for key, amount in t.by_group_carc.items():
        group, carc = key.split("-", 1)
        by_group[group] = by_group.get(group, 0) + amount
        by_carc[carc] = by_carc.get(carc, 0) + amount
    truth["adjustments_by_group"] = amounts(by_group)
    truth["adjustments_by_carc"] = amounts(by_carc)
    truth["adjustments_by_group_carc"] = amounts(t.by_group_carc)
    truth["adjustment_count"] = n["adjustment_count"]
    truth["adjustment_total"] = money(sum(by_group.values()))
    truth["claim_level_adjustment_total"] = money(n["claim_level_adjustment_total"])
    truth["line_level_adjustment_total"] = money(n["line_level_adjustment_total"])
    truth["plb_total"] = money(n["plb_total"])
    truth["plb_by_reason"] = amounts(t.plb_by_reason)
    truth["plb_count"] = n["plb_count"]
    for key in (
        "denied_claims",
        "zero_paid_claims",
        "reversal_claims",
        "corrected_claims",
        "secondary_claims",
        "late_reversal_pairs",
        "in_file_reversal_pairs",
        "reversed_denied_claims",
        "claims_without_lines",
        "remark_count",
    ):
        truth[key] = n[key]
    truth["claims_by_status"] = {k: t.status[k] for k in sorted(t.status, key=int)}
    truth["lines_by_qualifier"] = {k: t.qualifier[k] for k in sorted(t.qualifier)}
    truth["crossover"] = {
        month: {
            code: {"lines": v[0], "claims": v[1], "dollars": money(v[2])}
            for code, v in sorted(t.crossover.get(month, {}).items())
        }
        for month in month_names
    }
    truth["by_month"] = {
        month: {
            "claims": v[0],
            "clp04_total": money(v[1]),
            "adjustments_total": money(v[2]),
            "transactions": v[3],
            "bpr02_total": money(v[4]),
        }
        for month, v in sorted(t.by_month.items())
    }
    payers = {p.payer_id: p for p in m.PAYERS}
    truth["by_payer"] = {
        pid: {
            "claims": v[0],
            "clp04_total": money(v[1]),
            "transactions": v[2],
            "payer_name": payers[pid].name,
            "plan_type": payers[pid].plan_type,
        }
        for pid, v in sorted(t.by_payer.items())
    }
    truth["flavours"] = {k: t.flavours[k] for k in sorted(t.flavours)}
    truth["file_list"] = [
        {"name": p["name"], "flavours": p["flavours"], "transactions": len(p["txs"]), "claims": p["size"]}
        for p in plans
    ]
    truth["seed"] = params["seed"]
    truth["parameters"] = params
    return truth


def generate(
    out_dir: Path,
    *,
    claims: int,
    files: int | None = None,
    seed: int = 835,
    start: str = "2025-01",
    months: int = 12,
    workers: int | None = None,
    with_837: bool = False,
) -> dict:
    """Write a synthetic 835 workload into ``out_dir`` and return its ground truth (also in truth.json).

    ``claims`` is the exact number of CLP segments written (reversals and corrections included);
    ``files=None`` means about one file per 250 claims and at least ``months`` files. ``workers`` only
    changes speed, never the output (default: every core, at most 2 here). ``with_837`` also writes the
    837 claims the provider submitted into ``out_dir/837`` and their truth under ``"submitted"``; the 835
    files and the rest of the truth are the same either way.
    """
    if claims < 1:
        raise ValueError("claims must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    if files is not None and files < 1:
        raise ValueError("files must be at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("era-*.835"):  # a previous run's files would corrupt this run's truth
        old.unlink()
    out837 = out_dir / "837"
    for pattern in ("clm-*.837", ".part-*"):  # .part-*: a crashed run's leftovers
        for old in out837.glob(pattern):
            old.unlink()
    if with_837:
        out837.mkdir(exist_ok=True)
    month_names = [f"{d:%Y-%m}" for d in _months(start, months)[:-1]]
    plans, placed = _plan(claims, files, seed, start, months)
    # the lifecycle's as-of date: the latest payment date of the run (never the wall clock)
    as_of = max(tx["pay_ord"] for p in plans for tx in p["txs"])
    jobs, parts = _jobs(plans, out_dir, seed, months, month_names, as_of)
    if with_837:  # each job also writes the 837s behind its claims to a part file of its own
        jobs = [(*job, (k, out837 / f".part-{k:06d}")) for k, job in enumerate(jobs)]
    workers = workers or min(2, os.cpu_count() or 1)
    total = Tally()
    if workers > 1 and len(jobs) > 1 and claims >= PARALLEL_MIN_CLAIMS:
        # spawned, not forked: the calling process may hold threads (Arrow's pools, the parser's JIT), and
        # a forked child of a threaded process can crash or hang (seen once in the test suite)
        with spawn_pool(workers) as pool:
            for t in pool.map(run_chunk, jobs, chunksize=max(1, min(16, len(jobs) // (workers * 8)))):
                total.merge(t)
    else:
        for job in jobs:
            total.merge(run_chunk(job))
    for final, paths in parts.items():
        with open(final, "wb") as out:
            for path in paths:
                with open(path, "rb") as src:
                    while block := src.read(16 << 20):
                        out.write(block)
                path.unlink()
    params = {
        "claims": claims,
        "files": files,
        "seed": seed,
        "start": start,
        "months": months,
        "generator_version": GENERATOR_VERSION,
    }
    truth = _truth(total, plans, params, month_names)
    total.life.finish(as_of)
    truth["lifecycle"] = {**total.life.truth(as_of, money), "scenarios": placed}
    if with_837:
        assert total.sub is not None
        names = assemble(out837, total.sub)
        truth["submitted"] = {"files": len(names), **total.sub.truth(as_of, money)}
    with open(out_dir / "payers.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["payer_id", "payer_name", "plan_type", "appeal_days"])
        for p in m.PAYERS:
            days = m.APPEAL_DAYS.get(p.payer_id)
            w.writerow([p.payer_id, p.name, p.plan_type, "" if days is None else days])
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth
