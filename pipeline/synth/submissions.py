"""The claims the provider submitted (X12 837P/I/D) for a synthetic 835 workload, with their ground truth.

The 837 side is built from the same claim objects the 835 writer remits, in the same worker, but from its
own random streams (``<seed>:837:…``), so the 835 bytes and truth are the same with or without it. Each
worker groups its submissions into batches (one billing provider, one implementation guide, one
submission date = one interchange) and writes them to a part file; ``assemble`` concatenates the parts
into ``837/clm-<yyyy-mm>-<nnnn>.837`` (one file per submission month, provider and guide). The truth
(``submitted`` in truth.json) is tallied from the model as it is written, never from the bytes.
"""

from __future__ import annotations

import datetime as dt
import zlib
from functools import lru_cache
from pathlib import Path
from random import Random

from pipeline.synth import model as m
from pipeline.synth.claims import Claim, Line, draw_claim
from pipeline.synth.episodes import build_episode
from pipeline.synth.lifecycle import kind_of, month_of

# implementation guide (GS08 = ST03) per claim type
GUIDES = {
    "professional": "005010X222A1",
    "institutional": "005010X223A2",
    "dental": "005010X224A2",
}
CLAIM_TYPES = tuple(GUIDES)
AGING_BUCKETS = (("0-30", 30), ("31-60", 60), ("61-90", 90), ("91-120", 120), ("120+", None))
RECEIVER_ID = "REMITCLEARHOUSE"
RECEIVER_NAME = "REMIT CLEARINGHOUSE"

# Claims remitted without an 837 from the practice system: billed on paper or by another system.
OUTSIDE_RATE = 0.01
# Claims lost in transit or pended (submitted, never answered), per remitted claim of the payer;
# PENDING_FACTOR times as many beside the claims paid in the last PENDING_DAYS (pended, maybe answered later).
LOST_RATE = {"RMT01": 0.004, "RMT02": 0.012, "RMT03": 0.002, "RMT04": 0.025, "RMT05": 0.008, "RMT06": 0.006}
LOST_RATE_DEFAULT = 0.015
PENDING_DAYS = 120
PENDING_FACTOR = 4
# Claims still in flight at the as-of date: per remitted claim paid in the last INFLIGHT_DAYS, a claim of
# the same payer and provider whose own remit would come after the as-of date.
INFLIGHT_DAYS = 45
INFLIGHT_RATE = {"RMT01": 0.25, "RMT02": 0.35, "RMT03": 0.15, "RMT04": 0.45, "RMT05": 0.3, "RMT06": 0.2}
INFLIGHT_RATE_DEFAULT = 0.3

# Synthetic diagnosis codes (ICD-10-CM code numbers, no decimal point) by claim type.
DX_PROFESSIONAL = (
    "I10",
    "E119",
    "J069",
    "M545",
    "Z0000",
    "R05",
    "K219",
    "E785",
    "M1711",
    "Z23",
    "F419",
    "N390",
)
DX_INSTITUTIONAL = ("I214", "J189", "N179", "A419", "I509", "K8000", "R079", "S72001A", "M170", "E871")
STREETS = ("MAIN ST", "OAK AVE", "PINE RD", "ELM ST", "CEDAR LN", "LAKE DR", "HILL RD", "PARK AVE")
# CDT codes that name a tooth (TOO*JP) in the dental claims
_TOOTH_CODES = ("D2", "D3", "D71", "D72")


def claim_type(c: Claim) -> str:
    """The 837 a claim is billed on: professional, institutional or dental."""
    if c.ctype in ("inpatient", "outpatient"):
        return "institutional"
    return "dental" if c.ctype == "dental" else "professional"


def billed_lines(c: Claim) -> list[Line]:
    """The service lines as billed (a claim denied at claim level is remitted without them)."""
    return c.billed if c.billed is not None else c.lines


def first_remit_denied(c: Claim) -> bool:
    """A first remit that denies its claim: CLP04 = 0 and kind-``denial`` dollars (docs/metrics.md)."""
    if c.status == "22" or c.paid != 0:
        return False
    for g, r, a in c.cas:
        if a > 0 and kind_of(g, r) == "denial":
            return True
    return any(a > 0 and kind_of(g, r) == "denial" for ln in c.lines for g, r, a in ln.cas)


def _snap(day: int) -> int:
    """Back to the last Monday or Thursday on or before ``day``: the practice sends batches twice a week."""
    wd = (day - 1) % 7  # date ordinal 1 is a Monday
    return day - (0, 1, 2, 0, 1, 2, 3)[wd]


def submission_day(rng: Random, c: Claim, latest: int) -> int:
    """When the provider sent claim ``c``: on or before the payer's received date, never after ``latest``."""
    base = c.received - int(rng.random() * 2) if c.received else c.date_to + 1 + int(rng.random() * 7)
    snapped = _snap(base)
    day = snapped if snapped >= c.date_to else base
    return min(day, latest)


def between(rng: Random, after: int, before: int) -> int:
    """A day after ``after`` and, when there is room, before ``before`` (a resubmission between two
    remits; with no day between them it is ``before``: the claim was sent the day its answer came)."""
    span = max(1, (before - after - 1) // 2)
    return min(before, after + 1 + int(rng.random() * span))


def _hash(text: str) -> int:
    return zlib.crc32(text.encode("ascii"))


def _person_details(member: str) -> tuple[int, str, str, str, str, str]:
    """Birth date (ordinal), sex and address of a made-up person, fixed by the member id (same on every
    claim)."""
    h = _hash(member)
    born = dt.date(1940, 1, 1).toordinal() + h % 29_000
    sex = "F" if (h >> 16) % 2 else "M"
    city, state, zip_ = m.STATES_CITIES[(h >> 8) % len(m.STATES_CITIES)]
    street = f"{100 + (h >> 4) % 9000} {STREETS[(h >> 12) % len(STREETS)]}"
    return born, sex, street, city, state, zip_


class Sub:
    """One submitted CLM: submission day, payer and payee (indexes), the claim, its frequency and REF*F8."""

    __slots__ = ("day", "payer", "payee", "kind", "c", "freq", "f8")

    def __init__(self, day: int, payer: int, payee: int, c: Claim, freq: str, f8: str) -> None:
        self.day = day
        self.payer = payer
        self.payee = payee
        self.kind = claim_type(c)
        self.c = c
        self.freq = freq
        self.f8 = f8


class SubTally:
    """The ``submitted`` truth in integer cents, plus the part files' index; mergeable across workers."""

    def __init__(self) -> None:
        self.claims = 0
        self.charge = 0
        self.by_type = dict.fromkeys(CLAIM_TYPES, 0)
        self.matched = 0
        self.unanswered = [0, 0]
        self.aging: dict[str, dict[str, list[int]]] = {}
        self.remitted_without = 0
        self.days: dict[int, int] = {}  # days from submission to first remit -> count
        self.denial: dict[str, list[int]] = {}  # submission month -> [denied originals, originals]
        self.parts: list[tuple[int, str, list[tuple[tuple[str, int, str], int, int]]]] = []

    def merge(self, other: SubTally) -> None:
        """Add ``other`` into this tally."""
        self.claims += other.claims
        self.charge += other.charge
        for k, v in other.by_type.items():
            self.by_type[k] += v
        self.matched += other.matched
        self.unanswered[0] += other.unanswered[0]
        self.unanswered[1] += other.unanswered[1]
        for payer, buckets in other.aging.items():
            mine = self.aging.setdefault(payer, {})
            for b, (n, cents) in buckets.items():
                cur = mine.setdefault(b, [0, 0])
                cur[0] += n
                cur[1] += cents
        self.remitted_without += other.remitted_without
        for k, v in other.days.items():
            self.days[k] = self.days.get(k, 0) + v
        for k, v in other.denial.items():
            cur = self.denial.setdefault(k, [0, 0])
            cur[0] += v[0]
            cur[1] += v[1]
        self.parts.extend(other.parts)

    def truth(self, as_of: int, money) -> dict:
        """The ``submitted`` section of truth.json."""
        days: list[int] = []
        for d in sorted(self.days):
            days.extend([d] * self.days[d])
        zero = {"count": 0, "charge": money(0)}
        return {
            "as_of": dt.date.fromordinal(as_of).isoformat(),
            "claims": self.claims,
            "charge": money(self.charge),
            "by_type": dict(self.by_type),
            "matched_claims": self.matched,
            "unanswered": {"count": self.unanswered[0], "charge": money(self.unanswered[1])},
            "remitted_without_837": self.remitted_without,
            "unanswered_aging": {
                payer: {
                    name: (
                        {"count": buckets[name][0], "charge": money(buckets[name][1])}
                        if name in buckets
                        else dict(zero)
                    )
                    for name, _top in AGING_BUCKETS
                }
                for payer, buckets in sorted(self.aging.items())
            },
            # the lower median: the middle value, or the smaller of the two middle values
            "days_to_first_remit_median": days[(len(days) - 1) // 2] if days else None,
            "initial_denial_rate_submitted": {
                month: {"denied_claims": v[0], "submitted_claims": v[1]}
                for month, v in sorted(self.denial.items())
            },
        }


class Submissions:
    """The 837 side of one worker job: decides, tallies and renders the submissions of its transactions."""

    def __init__(self, seed: int, as_of: int, job_no: int, part: Path) -> None:
        self.seed = seed
        self.as_of = as_of
        self.job_no = job_no
        self.part = part
        self.t = SubTally()
        self.batches: dict[tuple[int, str, int], list[Sub]] = {}

    # --- deciding and tallying --------------------------------------------------------------------------

    def _submit(self, s: Sub, answered_on: int | None, first_remit: Claim | None) -> None:
        """Record a submission; ``answered_on`` = its first remit's payment date (None: unanswered);
        ``first_remit`` = the claim's first remit when this is an original submission (frequency 1, the
        first for its CLM01 and payer), else None."""
        t = self.t
        charge = s.c.charge
        t.claims += 1
        t.charge += charge
        t.by_type[s.kind] += 1
        if answered_on is None:
            t.unanswered[0] += 1
            t.unanswered[1] += charge
            age = self.as_of - s.day
            name = next(b for b, top in AGING_BUCKETS if top is None or age <= top)
            cur = t.aging.setdefault(m.PAYERS[s.payer].payer_id, {}).setdefault(name, [0, 0])
            cur[0] += 1
            cur[1] += charge
        else:
            t.matched += 1
            d = answered_on - s.day
            t.days[d] = t.days.get(d, 0) + 1
        if s.freq == "1" and (first_remit is not None or answered_on is None):
            cur = t.denial.setdefault(month_of(s.day), [0, 0])
            cur[1] += 1
            if first_remit is not None and first_remit_denied(first_remit):
                cur[0] += 1
        self.batches.setdefault((s.payee, s.kind, s.day), []).append(s)

    def add_transaction(self, tx: tuple, claims: list[Claim]) -> None:
        """The submissions behind one 835 transaction's claims, and the unanswered claims beside them."""
        file_idx, tx_idx, payer_idx, payee_idx, _n, pay_ord = tx[:6]
        late, reserved, episodes = tx[9], tx[10], tx[11]
        seed = self.seed
        payer = m.PAYERS[payer_idx]
        pharmacy = payer.plan_type == "pharmacy"  # pharmacy claims are billed on NCPDP, not on an 837
        pos = 0
        for pair in late:  # the reversal and the provider's corrected claim of an earlier original
            corr = claims[pos + 1]
            pos += 2
            if pharmacy:  # counted with its original
                continue
            rng = Random(f"{seed}:837:pair:{pair[0]}:1")
            s = Sub(between(rng, pair[3], pay_ord), payer_idx, payee_idx, corr, "7", corr.f8)
            self._submit(s, pay_ord, None)
        if reserved is not None:
            orig = claims[pos]
            pos += 1
            if pharmacy:
                self.t.remitted_without += 1
            else:
                rng = Random(f"{seed}:837:pair:{reserved[0]}:0")
                s = Sub(submission_day(rng, orig, pay_ord - 1), payer_idx, payee_idx, orig, "1", "")
                self._submit(s, pay_ord, orig)
        for ep, stage in episodes:  # never on the pharmacy plan
            stage_claims = build_episode(seed, ep)[stage]
            pos += len(stage_claims)
            self._episode(ep, stage, stage_claims, payee_idx, pay_ord)
        if pharmacy:
            self.t.remitted_without += len({c.pcn for c in claims[pos:]})
            return
        rng = Random(f"{seed}:837:{file_idx}:{tx_idx}")
        payee = m.PAYEES[payee_idx]
        lost_rate = LOST_RATE.get(payer.payer_id, LOST_RATE_DEFAULT)
        if pay_ord >= self.as_of - PENDING_DAYS:
            lost_rate *= PENDING_FACTOR
        inflight = (
            INFLIGHT_RATE.get(payer.payer_id, INFLIGHT_RATE_DEFAULT)
            if pay_ord >= self.as_of - INFLIGHT_DAYS
            else 0.0
        )
        regular = claims[pos:]
        n = len(regular)
        i = 0
        k = 0
        while i < n:
            c = regular[i]
            triple = i + 2 < n and regular[i + 1].pcn == c.pcn
            i += 3 if triple else 1
            outside = rng.random() < OUTSIDE_RATE
            if c.status == "2" or outside:
                # secondary claims reach this payer from the primary (crossover), others were billed elsewhere
                self.t.remitted_without += 1
            else:
                day = submission_day(rng, c, pay_ord - 1)
                self._submit(Sub(day, payer_idx, payee_idx, c, "1", ""), pay_ord, c)
                if triple:  # the provider's replacement, sent before the payer answered the original
                    corr = regular[i - 1]
                    s = Sub(between(rng, day, pay_ord), payer_idx, payee_idx, corr, "7", corr.f8)
                    self._submit(s, pay_ord, None)
            if rng.random() < lost_rate:
                k += 1
                self._unanswered(rng, payer, payee_idx, payee, pay_ord, file_idx, tx_idx, k)
            if inflight and rng.random() < inflight:
                k += 1
                later = self.as_of + 5 + int(rng.random() * 40)
                self._unanswered(rng, payer, payee_idx, payee, later, file_idx, tx_idx, k)

    def _unanswered(
        self,
        rng: Random,
        payer: m.Payer,
        payee_idx: int,
        payee: m.Payee,
        pay_ord: int,
        f: int,
        t: int,
        k: int,
    ) -> None:
        """A claim submitted that no remit answers by the as-of date (drawn like one paid on ``pay_ord``)."""
        c = draw_claim(rng, payer, payee, pay_ord, f"U{f:05d}{t:05d}{k:04d}", "")
        day = submission_day(rng, c, pay_ord)
        if day > self.as_of:  # not billed yet on the as-of date
            return
        self._submit(Sub(day, m.PAYERS.index(payer), payee_idx, c, "1", ""), None, None)

    def _episode(
        self, ep: tuple, stage: int, stage_claims: tuple[Claim, ...], payee_idx: int, pay_ord: int
    ) -> None:
        ep_no, name, stages = ep
        d0, d1 = stages[0][2], stages[1][2]
        payer_idx = stages[stage][0]
        rng = Random(f"{self.seed}:837:episode:{ep_no}:{stage}")
        if stage == 0:  # every episode starts with the provider's original claim
            c0 = stage_claims[0]
            self._submit(Sub(submission_day(rng, c0, d0 - 1), payer_idx, payee_idx, c0, "1", ""), d0, c0)
            return
        c1 = stage_claims[-1]
        if name == "corrected_claim":
            self._submit(Sub(between(rng, d0, d1), payer_idx, payee_idx, c1, "7", c1.f8), d1, None)
        elif name in ("resubmission", "duplicate_submission"):
            self._submit(Sub(between(rng, d0, d1), payer_idx, payee_idx, c1, "1", ""), d1, None)
        elif name.startswith("redirect_"):
            c0 = build_episode(self.seed, ep)[0][0]
            if c0.lines[-1].cas[0][0] == "CO":  # the provider rebills the other plan
                self._submit(Sub(between(rng, d0, d1), payer_idx, payee_idx, c1, "1", ""), d1, c1)
            else:  # OA: the first plan forwarded the line itself
                self.t.remitted_without += 1
        elif name == "secondary_after_primary":  # the primary crossed the claim over to the secondary plan
            self.t.remitted_without += 1
        # appeals and payer reversals answer the original submission: no new 837

    # --- writing ----------------------------------------------------------------------------------------

    def write(self) -> SubTally:
        """Write this job's batches (an interchange each) to its part file; return the tally and index."""
        groups: dict[tuple[str, int, str], list[tuple[int, str, int]]] = {}
        for payee_idx, kind, day in self.batches:
            groups.setdefault((month_of(day), payee_idx, kind), []).append((day, kind, payee_idx))
        index: list[tuple[tuple[str, int, str], int, int]] = []
        offset = 0
        ctl = 0
        with open(self.part, "wb") as fh:
            for key in sorted(groups):
                chunks: list[str] = []
                for day, kind, payee_idx in sorted(groups[key]):
                    ctl += 1
                    control = (self.job_no * 10_000 + ctl) % 1_000_000_000
                    chunks.append(
                        interchange(control, payee_idx, kind, day, self.batches[(payee_idx, kind, day)])
                    )
                data = "".join(chunks).encode("ascii")
                fh.write(data)
                index.append((key, offset, len(data)))
                offset += len(data)
        self.t.parts.append((self.job_no, str(self.part), index))
        return self.t


def interchange(control: int, payee_idx: int, kind: str, day: int, subs: list[Sub]) -> str:
    """One ISA..IEA interchange holding one 837 transaction: a billing provider's claims of one day."""
    payee = m.PAYEES[payee_idx]
    npi = m.make_npi(payee.npi_base)
    version = GUIDES[kind]
    d = dt.date.fromordinal(day)
    hhmm = f"{17 + control % 5:02d}{(control * 7) % 60:02d}"
    out = [
        f"ISA*00*          *00*          *ZZ*{npi:<15}*ZZ*{RECEIVER_ID:<15}*{d:%y%m%d}*{hhmm}*^*00501*"
        f"{control:09d}*0*P*:~\n",
        f"GS*HC*{npi}*{RECEIVER_ID}*{d:%Y%m%d}*{hhmm}*{control}*X*{version}~\n",
    ]
    body = [
        f"ST*837*0001*{version}~\n",
        f"BHT*0019*00*B{control:09d}*{d:%Y%m%d}*{hhmm}*CH~\n",
        f"NM1*41*2*{payee.name}*****46*{payee.ein}~\n",
        f"PER*IC*BILLING OFFICE*TE*800555{payee.ein[-4:]}~\n",
        f"NM1*40*2*{RECEIVER_NAME}*****46*{RECEIVER_ID}~\n",
        "HL*1**20*1~\n",
        f"NM1*85*2*{payee.name}*****XX*{npi}~\n",
        f"N3*{payee.street}~\n",
        f"N4*{payee.city}*{payee.state}*{payee.zip}~\n",
        f"REF*EI*{payee.ein}~\n",
    ]
    hl = 2
    for s in subs:
        hl = _claim(body, s, hl)
    text = "".join(body)
    count = text.count("~") + 1  # ST..SE inclusive
    return f"{out[0]}{out[1]}{text}SE*{count}*0001~\nGE*1*{control}~\nIEA*1*{control:09d}~\n"


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@lru_cache(maxsize=32768)
def _d8(ordinal: int) -> str:
    return dt.date.fromordinal(ordinal).strftime("%Y%m%d")


def _claim(out: list[str], s: Sub, hl: int) -> int:
    """Append the subscriber/patient loops and the 2300/2400 loops of one CLM; return the next HL id."""
    c = s.c
    kind = s.kind
    payer = m.PAYERS[s.payer]
    last, first, mi, member = c.patient
    filing = c.filing
    if kind == "institutional" and filing == "MB":
        filing = "MA"  # Medicare Part A for facility claims
    h = _hash(c.pcn)
    dependant = c.insured is not None
    if dependant:
        out.append(f"HL*{hl}*1*22*1~\n")
        out.append(f"SBR*P**{h % 90000 + 10000}******{filing}~\n")
        sub_last, sub_first, sub_mi = c.insured
    else:
        out.append(f"HL*{hl}*1*22*0~\n")
        out.append(f"SBR*P*18*{h % 90000 + 10000}******{filing}~\n")
        sub_last, sub_first, sub_mi = last, first, mi
    born, sex, street, city, state, zip_ = _person_details(member)
    if dependant:  # a parent: born 1950-1989, the patient (the child) 20-30 years later
        born = dt.date(1950, 1, 1).toordinal() + (born - dt.date(1940, 1, 1).toordinal()) % 14_600
    out.append(f"NM1*IL*1*{sub_last}*{sub_first}*{sub_mi}***MI*{member}~\n")
    out.append(f"N3*{street}~\nN4*{city}*{state}*{zip_}~\nDMG*D8*{_d8(born)}*{sex}~\n")
    out.append(f"NM1*PR*2*{payer.name}*****PI*{payer.payer_id}~\n")
    hl += 1
    if dependant:
        hp = _hash(member + first)
        born_p, sex_p = _d8(born + 7300 + hp % 3650), "F" if hp % 2 else "M"
        out.append(f"HL*{hl}*{hl - 1}*23*0~\nPAT*19~\n")
        out.append(f"NM1*QC*1*{last}*{first}*{mi}~\n")
        out.append(f"N3*{street}~\nN4*{city}*{state}*{zip_}~\nDMG*D8*{born_p}*{sex_p}~\n")
        hl += 1
    lines = billed_lines(c)
    if kind == "institutional":
        out.append(f"CLM*{c.pcn}*{_money(c.charge)}***{c.fac}:A:{s.freq}**A*Y*Y~\n")
        if c.fac == "11":  # inpatient: admission date and hour
            out.append(f"DTP*435*DT*{_d8(c.date_from)}{8 + h % 12:02d}00~\n")
        out.append(f"DTP*434*RD8*{_d8(c.date_from)}-{_d8(c.date_to)}~\n")
        out.append("CL1*1*7*01~\n" if c.fac == "11" else "CL1*3*1*01~\n")
        if s.f8:
            out.append(f"REF*F8*{s.f8}~\n")
        dx = DX_INSTITUTIONAL[h % len(DX_INSTITUTIONAL)]
        out.append(f"HI*ABK:{dx}~\n")
        if c.fac == "11":
            out.append(f"HI*ABJ:{dx}~\n")
            if c.drg:
                out.append(f"HI*DR:{c.drg}~\n")
        else:
            out.append(f"HI*APR:{dx}~\n")
        att = m.RENDERING[h % len(m.RENDERING)]
        out.append(f"NM1*71*1*{att[0]}*{att[1]}****XX*{att[2]}~\n")
        for no, ln in enumerate(lines, start=1):
            if ln.qual == "NU":
                sv2 = f"SV2*{ln.code}**{_money(ln.charge)}*UN*{ln.units}~\n"
            else:
                sv2 = f"SV2*{ln.rev}*HC:{ln.code}*{_money(ln.charge)}*UN*{ln.units}~\n"
            out.append(f"LX*{no}~\n")
            out.append(sv2)
            if ln.date:
                out.append(f"DTP*472*D8*{_d8(ln.date)}~\n")
            out.append(f"REF*6R*{ln.ref or c.pcn + 'L' + str(no)}~\n")
        return hl
    if kind == "dental":
        out.append(f"CLM*{c.pcn}*{_money(c.charge)}***{c.fac}:B:{s.freq}*Y*A*Y*Y~\n")
        if s.f8:
            out.append(f"REF*F8*{s.f8}~\n")
        for no, ln in enumerate(lines, start=1):
            out.append(f"LX*{no}~\nSV3*AD:{ln.code}*{_money(ln.charge)}****{ln.units}~\n")
            if ln.code.startswith(_TOOTH_CODES):
                out.append(f"TOO*JP*{1 + (h + no * 7) % 32}~\n")
            out.append(f"DTP*472*D8*{_d8(ln.date)}~\n")
            out.append(f"REF*6R*{ln.ref or c.pcn + 'L' + str(no)}~\n")
        return hl
    out.append(f"CLM*{c.pcn}*{_money(c.charge)}***{c.fac}:B:{s.freq}*Y*A*Y*Y~\n")
    if s.f8:
        out.append(f"REF*F8*{s.f8}~\n")
    out.append(f"HI*ABK:{DX_PROFESSIONAL[h % len(DX_PROFESSIONAL)]}~\n")
    if c.rendering:
        out.append(f"NM1*82*1*{c.rendering[0]}*{c.rendering[1]}****XX*{c.rendering[2]}~\n")
    for no, ln in enumerate(lines, start=1):
        # CDT codes are HCPCS level II D codes: an 837P carries them under HC
        code = ln.code if not ln.mods else ln.code + ":" + ":".join(ln.mods)
        out.append(f"LX*{no}~\nSV1*HC:{code}*{_money(ln.charge)}*UN*{ln.units}***1~\n")
        out.append(f"DTP*472*D8*{_d8(ln.date)}~\n")
        out.append(f"REF*6R*{ln.ref or c.pcn + 'L' + str(no)}~\n")
    return hl


def assemble(out_dir: Path, tally: SubTally) -> list[str]:
    """Concatenate the workers' part files into ``out_dir``: one file per (submission month, provider,
    guide), named ``clm-<yyyy-mm>-<nnnn>.837`` in that order; delete the parts; return the names."""
    slices: dict[tuple[str, int, str], list[tuple[int, str, int, int]]] = {}
    for job_no, part, index in tally.parts:
        for key, offset, length in index:
            slices.setdefault(key, []).append((job_no, part, offset, length))
    names = []
    width = max(4, len(str(len(slices))))
    for n, key in enumerate(sorted(slices), start=1):
        name = f"clm-{key[0]}-{n:0{width}d}.837"
        names.append(name)
        with open(out_dir / name, "wb") as out:
            for _job, part, offset, length in sorted(slices[key]):
                with open(part, "rb") as src:
                    src.seek(offset)
                    out.write(src.read(length))
    for _job, part, _index in tally.parts:
        Path(part).unlink(missing_ok=True)
    return names
