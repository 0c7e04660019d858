"""Denial lifecycles that span several remits: planned across transactions, built the same in every worker.

An episode is one claim (CLP01 ``E`` + number) remitted several times: a stage is the claim(s) one
transaction carries. ``plan_episodes`` places the stages in planned transactions (later stages strictly
later in payment date); ``build_episode`` draws every stage's claims from the episode's own random
stream, so whichever worker writes a stage writes exactly the claims the truth counts.
"""

from __future__ import annotations

from functools import lru_cache
from random import Random

from pipeline.synth import model as m
from pipeline.synth.claims import Claim, Line, _member_id, _pay_line, adjudicate, draw_claim, reverse, settle

# scenario: (episodes per generated claim, days from the first to the second remit, where the second goes:
# "same" payer and payee, the "secondary" plan, the "dental" or the "medical" plan)
SCENARIOS: dict[str, tuple[float, tuple[int, int], str]] = {
    "appeal_overturned": (1 / 400, (30, 150), "same"),
    "appeal_partly_overturned": (1 / 800, (30, 150), "same"),
    "corrected_claim": (1 / 700, (15, 90), "same"),
    "resubmission": (1 / 700, (15, 90), "same"),
    "secondary_after_primary": (1 / 400, (10, 60), "secondary"),
    "duplicate_submission": (1 / 1200, (5, 40), "same"),
    "redirect_medical_to_dental": (1 / 1500, (20, 120), "dental"),
    "redirect_dental_to_medical": (1 / 1500, (20, 120), "medical"),
    "late_reversal": (1 / 2500, (30, 150), "same"),
    "late_reversal_of_denial": (1 / 2500, (30, 150), "same"),
}
# Stage 0 needs a payer of this plan type (and for a crossover a clinic or dental payee)
_FIRST_PLAN = {
    "redirect_medical_to_dental": "medical",
    "redirect_dental_to_medical": "dental",
    "secondary_after_primary": "medical",
}
_SECONDARY_KINDS = ("commercial", "medicaid")
_CROSS_MEDICAL_KINDS = ("commercial", "advantage")


def plan_episodes(rng: Random, plans: list[dict], claims: int) -> dict[str, int]:
    """Reserve room in planned transactions for each scenario's stages; return episodes placed per scenario.

    Each transaction dict gains ``episodes``: [(episode, stage index)], and ``used`` counts the claims
    its late pairs and episode stages take.
    """
    txs: list[tuple[int, dict]] = []
    for p in plans:
        for t in p["txs"]:
            t.setdefault("episodes", [])
            t["used"] = 2 * len(t["late"]) + (t["reserved"] is not None)
            txs.append((p["index"], t))
    for j, (_f, t) in enumerate(txs):
        t["_no"] = j
    by_payer: dict[int, list[tuple[int, dict]]] = {}
    for f, t in txs:
        by_payer.setdefault(t["payer"], []).append((f, t))
    for lst in by_payer.values():
        lst.sort(key=lambda ft: ft[1]["pay_ord"])
    placed = dict.fromkeys(SCENARIOS, 0)
    ep_no = 0

    def room(t: dict, n: int) -> bool:
        # keep at least one regular claim in every transaction
        return t["n"] - t["used"] >= n + 1

    last_month = max((t["mi"] for _f, t in txs), default=0)
    for name, (rate, (lo, hi), target) in SCENARIOS.items():
        want = int(claims * rate + rng.random())
        for _ in range(want * 20):
            if placed[name] >= want or not txs:
                break
            f0, t0 = txs[int(rng.random() * len(txs))]
            if name.startswith("redirect_"):
                # crossover redirects follow the generator's rising crossover rate over the run
                frac = t0["mi"] / last_month if last_month else 1.0
                rate_now = m.CROSSOVER_RATE_FIRST + (m.CROSSOVER_RATE_LAST - m.CROSSOVER_RATE_FIRST) * frac
                if rng.random() * m.CROSSOVER_RATE_LAST > rate_now:
                    continue
            payer0 = m.PAYERS[t0["payer"]]
            if payer0.plan_type == "pharmacy" or not room(t0, 1):
                continue
            if name in _FIRST_PLAN and payer0.plan_type != _FIRST_PLAN[name]:
                continue
            payee0 = m.PAYEES[t0["payee"]]
            if name == "redirect_medical_to_dental" and payee0.kind != "clinic":
                continue
            if name == "secondary_after_primary" and payer0.kind == "medicaid":
                continue
            d0 = t0["pay_ord"]
            lo_d, hi_d = d0 + lo, d0 + hi
            if target == "same":
                pool = [
                    ft
                    for ft in by_payer[t0["payer"]]
                    if lo_d <= ft[1]["pay_ord"] <= hi_d and ft[1]["payee"] == t0["payee"]
                ]
            else:
                if target == "secondary":
                    kinds, plan = _SECONDARY_KINDS, "medical"
                elif target == "dental":
                    kinds, plan = ("dental",), "dental"
                else:
                    kinds, plan = _CROSS_MEDICAL_KINDS, "medical"
                pool = [
                    ft
                    for pi, lst in by_payer.items()
                    if pi != t0["payer"] and m.PAYERS[pi].plan_type == plan and m.PAYERS[pi].kind in kinds
                    for ft in lst
                    if lo_d <= ft[1]["pay_ord"] <= hi_d
                ]
            size1 = 2 if name in ("corrected_claim",) else 1
            pool = [ft for ft in pool if room(ft[1], size1)]
            if not pool:
                continue
            f1, t1 = pool[int(rng.random() * len(pool))]
            stages = (
                (t0["payer"], t0["payee"], d0, f0, t0["_no"]),
                (t1["payer"], t1["payee"], t1["pay_ord"], f1, t1["_no"]),
            )
            ep = (ep_no, name, stages)
            t0["episodes"].append((ep, 0))
            t0["used"] += 1
            t1["episodes"].append((ep, 1))
            t1["used"] += size1
            ep_no += 1
            placed[name] += 1
    for _f, t in txs:
        del t["_no"]
    return placed


def _deny(c: Claim, carc: str, group: str, rarcs: tuple[str, ...], rng: Random) -> None:
    """Deny every line of ``c`` in full with one CARC (CLP02 4)."""
    c.cas = []
    c.mia = None
    c.moa = None
    for ln in c.lines:
        ln.cas = [(group, carc, ln.charge)]
        ln.paid = 0
        ln.allowed = None
        ln.remarks = (rarcs[int(rng.random() * len(rarcs))],)
    c.status = "4"
    settle(c)


def _settle_after_denying(c: Claim) -> None:
    """Settle a claim after one of its paid lines was denied: a claim-level deductible larger than what is
    left paid is dropped (the payer would not have applied it)."""
    settle(c)
    if c.paid < 0:
        c.cas = []
        settle(c)


def _again(c: Claim, ctl: str) -> Claim:
    """The same services on a new remit (fresh lines, nothing adjudicated yet)."""
    n = Claim()
    for name in Claim.__slots__:
        setattr(n, name, getattr(c, name))
    n.ctl = ctl
    n.lines = []
    for ln in c.lines:
        x = Line(ln.qual, ln.code, ln.mods, ln.charge, ln.units, ln.rev, ln.date)
        x.ref = ln.ref
        n.lines.append(x)
    return n


def _other_plan_claim(rng: Random, c: Claim, ln: Line, ref: str, payer: m.Payer, pay_ord: int) -> Claim:
    """The other plan's remit for one redirected line: same CLP01, the other plan's member id and CLP07."""
    n = Claim()
    n.pcn = c.pcn
    n.ctl = f"Z{pay_ord % 100000:05d}{c.pcn[1:]}"
    n.filing = payer.filing[int(rng.random() * len(payer.filing))]
    n.patient = (*c.patient[:3], _member_id(rng, payer.kind))
    n.ctype = "dental" if payer.plan_type == "dental" else "professional"
    n.fac = "11"
    n.rendering = None
    n.date_from = n.date_to = ln.date
    n.received = ln.date + 20 + int(rng.random() * 10)
    x = Line(ln.qual, ln.code, (), ln.charge, 1, "", ln.date)
    x.ref = ref
    lo, hi = payer.allowed
    _pay_line(rng, x, payer, lo + (hi - lo) * rng.random(), False, True)
    n.lines = [x]
    n.charge = x.charge
    settle(n)
    n.status = "1"
    return n


def _secondary(rng: Random, c: Claim, payer: m.Payer, pay_ord: int) -> Claim:
    """The secondary plan's remit: the primary's payment as OA-23, the same CO-45, it pays the rest."""
    n = _again(c, f"S{pay_ord % 100000:05d}{c.pcn[1:]}")
    n.filing = payer.filing[int(rng.random() * len(payer.filing))]
    n.patient = (*c.patient[:3], _member_id(rng, payer.kind))
    n.cas, n.mia, n.moa = [], None, None
    for old, ln in zip(c.lines, n.lines, strict=True):
        contractual = sum(a for g, r, a in old.cas if r == "45" and g == "CO")
        cas = [("CO", "45", contractual)] if contractual else []
        if old.paid:
            cas.append(("OA", "23", old.paid))
        ln.cas = cas
        ln.paid = ln.charge - sum(a for _g, _r, a in cas)
        ln.allowed = None
    n.status = "2"
    settle(n)
    return n


@lru_cache(maxsize=64)
def build_episode(seed: int, ep: tuple) -> tuple[tuple[Claim, ...], ...]:
    """Every stage's claims of episode ``ep`` = (number, scenario, stages)."""
    ep_no, name, stages = ep
    rng = Random(f"{seed}:episode:{ep_no}")
    (p0, e0, d0, _f0, _t0), (p1, _e1, d1, _f1, _t1) = stages
    payer0, payee0, payer1 = m.PAYERS[p0], m.PAYEES[e0], m.PAYERS[p1]
    pcn = f"E{ep_no:07d}"
    ctl = f"Y{d0 % 100000:05d}{ep_no:07d}"
    c0 = draw_claim(rng, payer0, payee0, d0, pcn, ctl)
    dental = payer0.plan_type == "dental"
    if name in ("appeal_overturned", "appeal_partly_overturned", "late_reversal_of_denial"):
        table = m.APPEALABLE_DENTAL if dental else m.APPEALABLE_MEDICAL
        carc, group, rarcs = table[int(rng.random() * len(table))]
        _deny(c0, carc, group, rarcs, rng)
        if name == "late_reversal_of_denial":
            return (c0,), (reverse(c0),)
        c1 = _again(c0, ctl)  # the payer reprocesses its own claim: same CLP07
        adjudicate(rng, c1, payer0, 0.0, True)
        if name == "appeal_partly_overturned" and len(c1.lines) > 1:
            last = c1.lines[-1]
            last.cas, last.paid, last.allowed = [(group, carc, last.charge)], 0, None
            last.remarks = (rarcs[0],)
            _settle_after_denying(c1)
        return (c0,), (c1,)
    if name in ("corrected_claim", "resubmission"):
        carc, group, rarcs = m.REWORK_DENTAL if dental else m.REWORK_MEDICAL
        _deny(c0, carc, group, rarcs, rng)
        if name == "corrected_claim":  # the payer reverses the denial and pays the provider's replacement
            c1 = _again(c0, ctl + "C")
            c1.f8, c1.freq = ctl, "7"
            adjudicate(rng, c1, payer0, 0.0, True)
            return (c0,), (reverse(c0), c1)
        c1 = _again(c0, f"Y{d1 % 100000:05d}{ep_no:07d}")  # a new claim: the payer gives a new CLP07
        adjudicate(rng, c1, payer0, 0.0, True)
        return (c0,), (c1,)
    if name == "secondary_after_primary":
        adjudicate(rng, c0, payer0, 0.0, True)
        return (c0,), (_secondary(rng, c0, payer1, d1),)
    if name == "duplicate_submission":
        adjudicate(rng, c0, payer0, 0.0, True)
        c1 = _again(c0, f"Y{d1 % 100000:05d}{ep_no:07d}")
        _deny(c1, "18", "OA", ("N522",), rng)
        return (c0,), (c1,)
    if name == "late_reversal":
        adjudicate(rng, c0, payer0, 0.0, True)
        return (c0,), (reverse(c0),)
    # crossover: one line the first plan redirects (alone on the claim half of the time) that the other pays
    table = m.CROSSOVER_ON_DENTAL if dental else m.CROSSOVER_ON_MEDICAL
    qual, code, charge, carc, group = table[int(rng.random() * len(table))]
    day = c0.lines[0].date or c0.date_to
    xo = Line(qual, code, (), charge * (90 + int(rng.random() * 21)) // 100, 1, "", day)
    if rng.random() < 0.5:
        c0.lines = [xo]
    else:
        c0.lines.append(xo)
    c0.charge = sum(ln.charge for ln in c0.lines)
    c0.date_from, c0.date_to = min(ln.date for ln in c0.lines), max(ln.date for ln in c0.lines)
    adjudicate(rng, c0, payer0, 0.0, True)
    xo.cas, xo.paid, xo.allowed, xo.remarks = [(group, carc, xo.charge)], 0, None, ()
    _settle_after_denying(c0)
    if c0.paid == 0 and c0.pr == 0:
        c0.status = "4"
    ref = f"{pcn}L{len(c0.lines)}"
    return (c0,), (_other_plan_claim(rng, c0, xo, ref, payer1, d1),)
