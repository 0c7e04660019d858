"""Ground truth of denial lifecycles: episodes, denial events and their resolution (truth.json ``lifecycle``).

The rules are those of the shared lifecycle spec (docs/generator.md "Denial lifecycles" lists them and the
choices made where the spec is silent). They run on compact records taken from the generator's own claim
objects as it writes them, never on the bytes. Amounts are integer cents, dates are date ordinals.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import NamedTuple

from pipeline.synth import model as m
from pipeline.synth.claims import Claim

RESOLUTION_WINDOW_DAYS = 180  # a denial nothing recovered within this many days is written off
FIRST_PASS_STATUSES = frozenset({"1", "2", "3", "19", "20", "21"})
RESOLUTIONS = (
    "open",
    "overturned",
    "corrected_paid",
    "redirected",
    "transferred_to_patient",
    "reversed",
    "written_off",
)
KINDS = ("denial", "patient_denial", "redirect")
AGE_BUCKETS = (("0-30", 30), ("31-60", 60), ("61-90", 90), ("91-120", 120), ("121-180", 180))


class Remit(NamedTuple):
    """One claim payment as the lifecycle rules see it."""

    order: tuple[int, int, int, int]  # payment date ordinal, file, transaction, claim position
    payer: str
    pcn: str
    ctl: str
    f8: str
    freq: str
    status: str
    paid: int
    cas: tuple[tuple[str, str, int], ...]  # claim-level adjustments
    lines: tuple[tuple[str, int, tuple[tuple[str, str, int], ...]], ...]  # (REF*6R, SVC03, adjustments)


def remit_of(c: Claim, order: tuple[int, int, int, int], payer_id: str) -> Remit:
    """The record of a claim about to be written."""
    pcn = c.pcn
    lines = tuple((ln.ref or f"{pcn}L{i}", ln.paid, tuple(ln.cas)) for i, ln in enumerate(c.lines, start=1))
    return Remit(order, payer_id, pcn, c.ctl, c.f8, c.freq, c.status, c.paid, tuple(c.cas), lines)


def kind_of(group: str, carc: str) -> str | None:
    """Adjustment kind: denial, patient_denial, redirect, duplicate, or None (not an event)."""
    if carc in m.DENIAL_CARCS:
        if carc in m.DUPLICATE_CARCS:
            return "duplicate"
        if group == "PR":
            return "patient_denial"
        return "denial" if group in ("CO", "OA", "PI") else None
    if carc in m.REDIRECT_CARCS and group != "PR":
        return "redirect"
    return None


_EVENT_KINDS = frozenset(KINDS)
# every (group, CARC) the generator writes that makes an event or a duplicate
_WATCH = frozenset(
    (g, r)
    for g in ("CO", "OA", "PI", "PR")
    for r in m.DENIAL_CARCS | m.REDIRECT_CARCS
    if kind_of(g, r) is not None
)


def _pairs(c: Claim):
    for g, r, _a in c.cas:
        yield g, r
    for ln in c.lines:
        for g, r, _a in ln.cas:
            yield g, r


@lru_cache(maxsize=256)
def month_of(ordinal: int) -> str:
    """YYYY-MM of a date ordinal."""
    d = dt.date.fromordinal(ordinal)
    return f"{d.year:04d}-{d.month:02d}"


class Event:
    """One denial event and its resolution."""

    __slots__ = ("index", "level", "key", "kind", "top", "denied", "resolution", "date", "recovered")

    def __init__(self, index: int, level: str, key: str, kind: str, top: tuple[str, str], denied: int):
        self.index = index  # position of the denying remit in its episode
        self.level = level
        self.key = key
        self.kind = kind
        self.top = top  # (group, CARC) with the most event dollars
        self.denied = denied
        self.resolution = "open"
        self.date: int | None = None
        self.recovered = 0


def _candidate(adj) -> tuple[str, tuple[str, str], int] | None:
    """(kind, top reason, denied amount) of a unit's adjustments, or None when it holds no event dollars."""
    by_reason: dict[tuple[str, str], int] = {}
    for g, r, a in adj:
        if a > 0 and kind_of(g, r) in _EVENT_KINDS:
            by_reason[(g, r)] = by_reason.get((g, r), 0) + a
    if not by_reason:
        return None
    top = min(by_reason, key=lambda gr: (-by_reason[gr], gr[0], gr[1]))
    kind = kind_of(*top)
    denied = sum(a for g, r, a in adj if a > 0 and kind_of(g, r) == kind)
    return kind, top, denied


def units(r: Remit):
    """The units of a non-reversal remit: (level, line key, adjustments)."""
    if r.paid == 0:
        adj = list(r.cas)
        for _key, _paid, cas in r.lines:
            adj.extend(cas)
        return [("claim", "", adj)]
    out = [("line", key, cas) for key, _paid, cas in r.lines if cas]
    if r.cas:
        out.append(("claim", "", r.cas))
    return out


def _paid_for(p: Remit, level: str, key: str) -> int | None:
    if level == "claim":
        return p.paid
    for k, paid, _cas in p.lines:
        if k == key:
            return paid
    return None


def _reversal_dates(recs: list[Remit]) -> dict[int, int]:
    """{index of a reversed original: payment date of its reversal}, by the netting rule.

    A reversal takes the latest earlier non-reversal remit with its CLP07 (or whose CLP07 is its REF*F8);
    an original keeps the earliest reversal that picked it.
    """
    out: dict[int, int] = {}
    for j, r in enumerate(recs):
        if r.status != "22":
            continue
        for i in range(j - 1, -1, -1):
            o = recs[i]
            if o.status != "22" and (o.ctl == r.ctl or (r.f8 and o.ctl == r.f8)):
                out.setdefault(i, r.order[0])
                break
    return out


def episode_events(recs: list[Remit], as_of: int, others: list[Remit]) -> list[Event]:
    """Denial events of one episode (remits of one payer and CLP01, in claim order), resolved.

    ``others``: the non-reversal remits of other payers with the same CLP01, in claim order.
    """
    window = RESOLUTION_WINDOW_DAYS
    events: list[Event] = []
    reversed_on = None
    for i, r in enumerate(recs):
        if r.status == "22":
            continue
        day = r.order[0]
        for level, key, adj in units(r):
            cand = _candidate(adj)
            if cand is None:
                continue
            kind, top, denied = cand
            if any(
                e.level == level and e.key == key and e.kind == kind and (e.date is None or e.date > day)
                for e in events
            ):
                continue  # the same denial repeated while still unresolved
            e = Event(i, level, key, kind, top, denied)
            events.append(e)
            if kind == "patient_denial":
                e.resolution, e.date = "transferred_to_patient", day
                continue
            last = day + window
            found = None  # (order, resolution, date, amount)
            for p in recs[i + 1 :]:
                if p.order[0] > last:
                    break
                if p.status == "22":
                    continue
                amount = _paid_for(p, level, key)
                if amount is not None and amount > 0:
                    if p.freq == "7":
                        res = "corrected_paid"
                    elif p.ctl == r.ctl or p.f8 == r.ctl:
                        res = "overturned"
                    else:
                        res = "corrected_paid"
                    found = (p.order, res, p.order[0], amount)
                    break
            if kind == "redirect" or top[1] in m.CROSSOVER_CARCS:
                for q in others:
                    if q.order <= r.order or q.order[0] < day or q.paid <= 0:
                        continue
                    if q.order[0] > last or (found is not None and q.order > found[0]):
                        break
                    amount = q.paid if level == "claim" else _paid_for(q, level, key)
                    found = (q.order, "redirected", q.order[0], q.paid if amount is None else amount)
                    break
            if found is not None:
                e.resolution, e.date, e.recovered = found[1], found[2], min(found[3], denied)
                continue
            if reversed_on is None:
                reversed_on = _reversal_dates(recs)
            if i in reversed_on:
                e.resolution, e.date = "reversed", reversed_on[i]
            elif as_of >= last:
                e.resolution, e.date = "written_off", last
    return events


class LifecycleTally:
    """The lifecycle figures, in integer cents, mergeable across workers."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, str], list[int]] = {}  # (kind, resolution) -> [count, denied, recovered]
        self.writeoffs: dict[str, int] = {}  # month of resolution -> cents
        self.initial_denied: dict[str, int] = {}  # month of first denial -> cents (kind denial)
        self.open_buckets: dict[str, list[int]] = {}  # bucket -> [count, denied]
        self.episodes = [0, 0]  # count, first_pass_paid
        self.duplicate_claims = 0
        self.redirected_claims = 0
        self.pending: list[Remit] = []  # remits of episodes that span transactions, finished centrally

    def merge(self, other: LifecycleTally) -> None:
        """Add ``other`` into this tally."""
        for k, v in other.events.items():
            cur = self.events.setdefault(k, [0, 0, 0])
            for i in range(3):
                cur[i] += v[i]
        for mine, theirs in ((self.writeoffs, other.writeoffs), (self.initial_denied, other.initial_denied)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        for k, v in other.open_buckets.items():
            cur = self.open_buckets.setdefault(k, [0, 0])
            cur[0] += v[0]
            cur[1] += v[1]
        self.episodes[0] += other.episodes[0]
        self.episodes[1] += other.episodes[1]
        self.duplicate_claims += other.duplicate_claims
        self.redirected_claims += other.redirected_claims
        self.pending.extend(other.pending)

    def add_episode(self, recs: list[Remit], as_of: int, others: list[Remit]) -> None:
        """Count one episode (its remits in claim order) and its events."""
        first = next((i for i, r in enumerate(recs) if r.status != "22"), None)
        for r in recs:
            if r.status != "22" and any(
                a > 0 and r_ in m.DUPLICATE_CARCS
                for _g, r_, a in (*r.cas, *(x for ln in r.lines for x in ln[2]))
            ):
                self.duplicate_claims += 1
        events = episode_events(recs, as_of, others)
        if first is not None:
            self.episodes[0] += 1
            if recs[first].status in FIRST_PASS_STATUSES and not any(e.index == first for e in events):
                self.episodes[1] += 1
        redirect_claims = set()
        for e in events:
            d = recs[e.index].order[0]
            cur = self.events.setdefault((e.kind, e.resolution), [0, 0, 0])
            cur[0] += 1
            cur[1] += e.denied
            cur[2] += e.recovered
            if e.kind == "denial":
                month = month_of(d)
                self.initial_denied[month] = self.initial_denied.get(month, 0) + e.denied
                if e.resolution in ("written_off", "overturned", "corrected_paid"):
                    wo = e.denied - e.recovered
                    month = month_of(e.date)
                    self.writeoffs[month] = self.writeoffs.get(month, 0) + wo
            elif e.kind == "redirect":
                redirect_claims.add(e.index)
            if e.resolution == "open":
                age = as_of - d
                name = next(b for b, top in AGE_BUCKETS if age <= top)
                cur = self.open_buckets.setdefault(name, [0, 0])
                cur[0] += 1
                cur[1] += e.denied
        self.redirected_claims += len(redirect_claims)

    def add_transaction(
        self, claims: list[Claim], key: tuple[int, int, int], payer_id: str, as_of: int
    ) -> None:
        """Count the episodes of one transaction's claims; ``key`` = (payment date, file, transaction).

        Remits of episodes that span transactions (CLP01 ``R…`` late reversal pairs, ``E…`` lifecycle
        episodes) wait for ``finish``; every other CLP01 is unique to its transaction, its claims adjacent.
        """
        day, file_idx, tx_idx = key
        watch = _WATCH
        group: list[Remit] = []
        n = len(claims)
        for pos, c in enumerate(claims):
            pcn = c.pcn
            if pcn[0] in "RE":
                self.pending.append(remit_of(c, (day, file_idx, tx_idx, pos), payer_id))
                continue
            alone = not group and (pos + 1 == n or claims[pos + 1].pcn != pcn)
            if alone and not any(gr in watch for gr in _pairs(c)):
                # the common case: a claim alone in its episode with no event or duplicate adjustment
                self.episodes[0] += 1
                if c.status in FIRST_PASS_STATUSES:
                    self.episodes[1] += 1
                continue
            group.append(remit_of(c, (day, file_idx, tx_idx, pos), payer_id))
            if pos + 1 == n or claims[pos + 1].pcn != pcn:
                self.add_episode(group, as_of, [])
                group = []

    def finish(self, as_of: int) -> None:
        """Count the episodes whose remits came from several transactions (and their cross-payer links)."""
        by_pcn: dict[str, list[Remit]] = {}
        for r in sorted(self.pending):
            by_pcn.setdefault(r.pcn, []).append(r)
        self.pending = []
        for recs in by_pcn.values():
            payers: dict[str, list[Remit]] = {}
            for r in recs:
                payers.setdefault(r.payer, []).append(r)
            for payer, mine in payers.items():
                others = [r for r in recs if r.payer != payer and r.status != "22"]
                self.add_episode(mine, as_of, others)

    def truth(self, as_of: int, money) -> dict:
        """The ``lifecycle`` section of truth.json."""
        total: dict[str, list[int]] = {}
        by_kind: dict[str, dict[str, dict]] = {}
        for (kind, res), v in sorted(self.events.items()):
            cur = total.setdefault(res, [0, 0, 0])
            for i in range(3):
                cur[i] += v[i]
            by_kind.setdefault(kind, {})[res] = {
                "count": v[0],
                "denied_amount": money(v[1]),
                "recovered_amount": money(v[2]),
            }
        denial = {res: v for (kind, res), v in self.events.items() if kind == "denial"}
        return {
            "as_of_date": dt.date.fromordinal(as_of).isoformat(),
            "resolution_window_days": RESOLUTION_WINDOW_DAYS,
            "events_by_resolution": {
                res: {"count": v[0], "denied_amount": money(v[1]), "recovered_amount": money(v[2])}
                for res, v in sorted(total.items())
            },
            "events_by_kind_resolution": by_kind,
            "overturned_amount": money(denial.get("overturned", [0, 0, 0])[2]),
            "recovered_amount": money(sum(v[2] for v in denial.values())),
            "writeoffs_by_month": {k: money(v) for k, v in sorted(self.writeoffs.items())},
            "initial_denied_by_month": {k: money(v) for k, v in sorted(self.initial_denied.items())},
            "open_by_age_bucket": {
                name: {
                    "count": self.open_buckets.get(name, [0, 0])[0],
                    "denied_amount": money(self.open_buckets.get(name, [0, 0])[1]),
                }
                for name, _top in AGE_BUCKETS
            },
            "episodes": {"count": self.episodes[0], "first_pass_paid": self.episodes[1]},
            "duplicate_claims": self.duplicate_claims,
            "redirected_claims": self.redirected_claims,
        }
