"""Claim model: draw services for one claim, adjudicate them, reverse and correct claims.

All amounts are integer cents. A claim is balanced by construction: every line satisfies
``charge - Σ line CAS = paid`` and the claim ``charge - Σ claim CAS - Σ line CAS = paid``.
"""

from __future__ import annotations

from random import Random

from pipeline.synth import model as m


class Line:
    """One service line (2110 loop)."""

    __slots__ = (
        "qual",
        "code",
        "mods",
        "charge",
        "paid",
        "units",
        "rev",
        "date",
        "cas",
        "allowed",
        "remarks",
        "ref",
    )

    def __init__(
        self, qual: str, code: str, mods: tuple[str, ...], charge: int, units: int, rev: str, date: int
    ):
        self.qual = qual
        self.code = code
        self.mods = mods
        self.charge = charge
        self.paid = 0
        self.units = units
        self.rev = rev  # SVC04 revenue code on institutional HCPCS lines, else ""
        self.date = date  # ordinal of DTM*472, 0 = none
        self.cas: list[tuple[str, str, int]] = []
        self.allowed: int | None = None  # AMT*B6; None = not sent
        self.remarks: tuple[str, ...] = ()
        self.ref = ""  # REF*6R line control number; "" = the claim's CLP01 + "L" + line number

    def copy(self, sign: int = 1) -> Line:
        """A copy; ``sign=-1`` negates every amount (for a reversal)."""
        c = Line(self.qual, self.code, self.mods, sign * self.charge, self.units, self.rev, self.date)
        c.paid = sign * self.paid
        c.cas = [(g, r, sign * a) for g, r, a in self.cas]
        c.allowed = None if self.allowed is None else sign * self.allowed
        c.remarks = self.remarks
        c.ref = self.ref
        return c


class Claim:
    """One claim payment (2100 loop) with its lines."""

    __slots__ = (
        "pcn",
        "status",
        "charge",
        "paid",
        "pr",
        "filing",
        "ctl",
        "fac",
        "freq",
        "drg",
        "drg_weight",
        "patient",
        "insured",
        "rendering",
        "mia",
        "moa",
        "cas",
        "date_from",
        "date_to",
        "received",
        "f8",
        "lines",
        "ctype",
        "days",
        "billed",
    )

    def __init__(self) -> None:
        self.status = "1"
        self.charge = 0
        self.paid = 0
        self.pr = 0
        self.freq = "1"
        self.drg = ""
        self.drg_weight = 0
        self.insured: tuple[str, str, str] | None = None
        self.rendering: tuple[str, str, str] | None = None
        self.mia: tuple[int, int, tuple[str, ...]] | None = None  # covered days, DRG amount, remarks
        self.moa: tuple[str, ...] | None = None
        self.cas: list[tuple[str, str, int]] = []
        self.received = 0
        self.f8 = ""
        self.days = 0
        self.billed: list[Line] | None = None  # the lines as billed when the remit carries none (837 side)


def _pick_weighted(rng: Random, table: tuple, total: int) -> tuple:
    """Pick a row whose second field is its integer weight."""
    x = rng.random() * total
    for row in table:
        x -= row[1]
        if x < 0:
            return row
    return table[-1]


_MED_DENIAL_TOTAL = sum(r[1] for r in m.MEDICAL_DENIALS)
_DENTAL_DENIAL_TOTAL = sum(r[1] for r in m.DENTAL_DENIALS)
_EM_CODES = frozenset({"99212", "99213", "99214", "99203", "99204", "99395", "99396"})


def _person(rng: Random) -> tuple[str, str, str]:
    return (
        m.LAST_NAMES[int(rng.random() * len(m.LAST_NAMES))],
        m.FIRST_NAMES[int(rng.random() * len(m.FIRST_NAMES))],
        m.MIDDLE_INITIALS[int(rng.random() * len(m.MIDDLE_INITIALS))],
    )


_ALNUM = "ACDEFGHJKMNPQRTUVWXY"


def _member_id(rng: Random, kind: str) -> str:
    n = int(rng.random() * 1_000_000_000)
    if kind == "medicare":  # MBI-shaped: digit, letters and digits (made up)
        a = _ALNUM
        r = int(rng.random() * 8_000_000)
        return (
            f"{1 + n % 9}{a[n % 20]}{a[(n // 20) % 20]}{n % 10}{a[r % 20]}{a[(r // 20) % 20]}{r % 10}"
            f"{a[(r // 400) % 20]}{a[(r // 8000) % 20]}{(n // 7) % 10}{(n // 70) % 10}"
        )
    if kind == "medicaid":
        return f"SM{n:09d}"
    if kind == "dental":
        return f"D{n:09d}"
    return f"W{n:09d}"


RECEIVED_RATE = 0.9  # share of claims with DTM*050 (received date), so days-to-pay can be computed
CAPITATION_RATE = 0.03  # professional claims of Medicaid / Medicare Advantage plans paid by capitation


def draw_claim(rng: Random, payer: m.Payer, payee: m.Payee, pay_ord: int, pcn: str, ctl: str) -> Claim:
    """Draw the services of one claim (codes, charges, dates, people) without adjudicating them."""
    c = Claim()
    c.pcn = pcn
    c.ctl = ctl
    c.filing = payer.filing[int(rng.random() * len(payer.filing))]
    c.patient = (*_person(rng), _member_id(rng, payer.kind))
    kind = payee.kind
    if kind == "hospital":
        r = rng.random()
        ctype = "inpatient" if r < 0.22 else ("outpatient" if r < 0.75 else "professional")
    else:
        ctype = {"clinic": "professional", "dental": "dental", "pharmacy": "pharmacy"}[kind]
    c.ctype = ctype
    svc_day = pay_ord - 12 - int(rng.random() * 60)
    lines: list[Line] = []
    if ctype == "professional":
        c.fac = m.PROF_POS[int(rng.random() * len(m.PROF_POS))]
        n = 1 + int(rng.random() ** 1.8 * 6)
        day = svc_day
        for i in range(n):
            code, charge, max_units, mods = m.PROF_CODES[int(rng.random() * len(m.PROF_CODES))]
            units = 1 if max_units == 1 else 1 + int(rng.random() * max_units)
            mod = mods[int(rng.random() * len(mods))]
            charge = charge * units * (85 + int(rng.random() * 31)) // 100
            if i and rng.random() < 0.15:
                day += 1 + int(rng.random() * 5)
            lines.append(Line("HC", code, (mod,) if mod else (), charge, units, "", day))
        if rng.random() < 0.45:
            c.rendering = m.RENDERING[int(rng.random() * len(m.RENDERING))]
    elif ctype == "outpatient":
        c.fac, c.freq = "13", "1"
        n = 1 + int(rng.random() ** 1.5 * 8)
        for _ in range(n):
            rev, code, charge = m.OUTPATIENT_LINES[int(rng.random() * len(m.OUTPATIENT_LINES))]
            charge = charge * (85 + int(rng.random() * 31)) // 100
            if code:
                lines.append(Line("HC", code, (), charge, 1, rev, svc_day))
            else:
                lines.append(Line("NU", rev, (), charge, 1, "", svc_day))
    elif ctype == "inpatient":
        c.fac, c.freq = "11", "1"
        c.drg, c.drg_weight = m.DRGS[int(rng.random() * len(m.DRGS))]
        days = 1 + int(rng.random() ** 2 * 8)
        c.days = days
        lines.append(Line("NU", "0120", (), m.ROOM_PER_DAY * days, days, "", 0))
        for rev, charge in rng.sample(m.INPATIENT_REVENUE, 2 + int(rng.random() * 4)):
            lines.append(Line("NU", rev, (), charge * (70 + int(rng.random() * 61)) // 100, 1, "", 0))
        c.date_from, c.date_to = svc_day - days, svc_day
    elif ctype == "dental":
        c.fac = "11"
        n = 1 + int(rng.random() ** 1.6 * 5)
        for _ in range(n):
            code, charge, _pct = m.DENTAL_CODES[int(rng.random() * len(m.DENTAL_CODES))]
            charge = charge * (90 + int(rng.random() * 21)) // 100
            lines.append(Line("AD", code, (), charge, 1, "", svc_day))
        if rng.random() < 0.3:
            c.insured = _person(rng)
    else:  # pharmacy
        c.fac = "01"
        code, charge = m.NDC_CODES[int(rng.random() * len(m.NDC_CODES))]
        units = 1 + int(rng.random() * 3)
        lines.append(Line("N4", code, (), charge * units, units, "", svc_day))
    if ctype != "inpatient":
        c.date_from = min(ln.date for ln in lines)
        c.date_to = max(ln.date for ln in lines)
    if rng.random() < RECEIVED_RATE:
        c.received = c.date_to + 2 + int(rng.random() * 8)
    c.lines = lines
    c.charge = sum(ln.charge for ln in lines)
    return c


def _full_denial(ln: Line, group: str, carc: str, remarks: tuple[str, ...]) -> None:
    ln.cas = [(group, carc, ln.charge)]
    ln.paid = 0
    ln.allowed = None
    ln.remarks = remarks


def _remarks(rng: Random, options: tuple[str, ...], always: bool) -> tuple[str, ...]:
    if always or rng.random() < 0.55:
        return (options[int(rng.random() * len(options))],)
    return ()


def _pay_line(rng: Random, ln: Line, payer: m.Payer, ratio: float, secondary: bool, first: bool) -> None:
    """Adjudicate a covered line: contractual CO-45, patient share PR-1/2/3, CO-253, OA-23."""
    charge = ln.charge
    allowed = int(charge * ratio)
    allowed = max(1, min(allowed, charge - 1)) if charge > 1 else charge
    cas = ln.cas = []
    if charge > allowed:
        # out-of-network balance on some dental plans is the patient's (PR-45), never the full charge
        oon = payer.kind == "dental" and payer.method == "CHK" and rng.random() < 0.05
        cas.append(("PR" if oon else "CO", "45", charge - allowed))
    rest = allowed
    kind = payer.kind
    if secondary:  # what the primary payer paid shows as OA-23
        prior = rest * (70 + int(rng.random() * 16)) // 100
        if prior:
            cas.append(("OA", "23", prior))
            rest -= prior
    elif kind in ("commercial", "advantage"):
        if first and ln.code in _EM_CODES and rng.random() < 0.55:
            copay = min(rest, (2000, 2500, 3000, 4000)[int(rng.random() * 4)])
            if copay:
                cas.append(("PR", "3", copay))
                rest -= copay
        elif rng.random() < 0.12 and rest > 1:
            ded = rest * (20 + int(rng.random() * 81)) // 100
            if ded:
                cas.append(("PR", "1", ded))
                rest -= ded
        if rest > 4 and rng.random() < 0.45:
            coins = rest // 5
            cas.append(("PR", "2", coins))
            rest -= coins
    elif kind == "medicare":
        if rng.random() < 0.06 and rest > 1:
            ded = rest * (30 + int(rng.random() * 71)) // 100
            if ded:
                cas.append(("PR", "1", ded))
                rest -= ded
        if rest > 4 and rng.random() < 0.92:
            coins = rest // 5
            cas.append(("PR", "2", coins))
            rest -= coins
        seq = rest * 2 // 100  # 2 % sequestration
        if seq:
            cas.append(("CO", "253", seq))
            rest -= seq
    elif kind == "medicaid":
        if rng.random() < 0.1:
            copay = min(rest, 100 + int(rng.random() * 4) * 100)
            if copay:
                cas.append(("PR", "3", copay))
                rest -= copay
    elif kind == "dental":
        pct = _DENTAL_PCT.get(ln.code, 20)
        if pct and rng.random() < 0.2 and rest > 1:
            ded = min(rest, 5000)
            cas.append(("PR", "1", ded))
            rest -= ded
        if pct and rest:
            coins = rest * pct // 100
            if coins:
                cas.append(("PR", "2", coins))
                rest -= coins
        if rest > 1 and rng.random() < 0.02:  # annual maximum reached part way
            over = rest * (30 + int(rng.random() * 60)) // 100
            if over:
                cas.append(("PR", "119", over))
                rest -= over
    else:  # pharmacy copay
        copay = min(rest, (1000, 1500, 2500, 4500)[int(rng.random() * 4)])
        if copay and rng.random() < 0.8:
            cas.append(("PR", "3", copay))
            rest -= copay
    ln.paid = rest
    ln.allowed = None if secondary else allowed
    ln.remarks = ()


_DENTAL_PCT = {code: pct for code, _c, pct in m.DENTAL_CODES}


def adjudicate(rng: Random, c: Claim, payer: m.Payer, crossover_rate: float, forced_paid: bool) -> None:
    """Decide the outcome of claim ``c`` and fill in every adjustment, paid amount and remark."""
    lines = c.lines
    c.cas = []
    c.mia = c.moa = None
    dental = payer.plan_type == "dental"
    status = "1"
    secondary = (
        not forced_paid
        and c.ctype != "inpatient"
        and payer.secondary_rate > 0
        and rng.random() < payer.secondary_rate
    )
    denied = not forced_paid and not secondary and rng.random() < payer.denial_rate
    capitated = (
        not forced_paid
        and not secondary
        and not denied
        and c.ctype == "professional"
        and payer.kind in ("medicaid", "advantage")
        and rng.random() < CAPITATION_RATE
    )
    if secondary:
        status = "2"
    if capitated:
        # paid through a capitation arrangement: CO-24 takes the full charge, processed as primary, no denial
        for ln in lines:
            ln.cas = [("CO", "24", ln.charge)]
            ln.paid = 0
            ln.allowed = None
            ln.remarks = ()
    elif denied:
        status = "4"
        if dental:
            carc, _w, group, rarcs, always = _pick_weighted(rng, m.DENTAL_DENIALS, _DENTAL_DENIAL_TOTAL)
        else:
            carc, _w, group, rarcs, always = _pick_weighted(rng, m.MEDICAL_DENIALS, _MED_DENIAL_TOTAL)
            if carc == "96" and rng.random() < 0.3:
                group = "PR"
        if carc in m.CLAIM_LEVEL_DENIALS and c.ctype != "inpatient" and rng.random() < 0.5:
            # whole claim rejected at claim level: the remit carries no service lines
            c.billed = lines
            c.lines = []
            c.cas = [(group, carc, c.charge)]
            if c.ctype == "outpatient" or payer.kind == "medicare":
                c.moa = _remarks(rng, rarcs, True)
        else:
            for ln in lines:
                _full_denial(ln, group, carc, _remarks(rng, rarcs, always))
    elif c.ctype == "inpatient":
        mult = {"medicare": 1.0, "advantage": 1.0, "medicaid": 0.8}.get(payer.kind, 1.4)
        pay = min(
            int(m.DRG_BASE * c.drg_weight / 1000 * mult), c.charge * (55 + int(rng.random() * 35)) // 100
        )
        left = pay
        for i, ln in enumerate(lines):
            share = left if i == len(lines) - 1 else pay * ln.charge // c.charge
            left -= share
            ln.paid = share
            ln.cas = [("CO", "45", ln.charge - share)] if ln.charge > share else []
            ln.allowed = None
            ln.remarks = ()
        if rng.random() < 0.4:
            ded = min(pay, 163200 if payer.kind == "medicare" else 50000 + int(rng.random() * 25) * 10000)
            if ded:
                c.cas.append(("PR", "1", ded))
        c.mia = (c.days, pay, _remarks(rng, m.MIA_REMARKS, False))
    else:
        lo, hi = payer.allowed
        ratio = lo + (hi - lo) * rng.random()
        n = len(lines)
        for i, ln in enumerate(lines):
            r = rng.random()
            if not forced_paid and r < crossover_rate and payer.plan_type != "pharmacy":
                table = m.CROSSOVER_DENTAL if dental else m.CROSSOVER_MEDICAL
                code, group = table[int(rng.random() * len(table))]
                _full_denial(ln, group, code, ())
            elif not forced_paid and n > 1 and i > 0 and r < crossover_rate + 0.05:
                table = m.DENTAL_LINE_DENIALS if dental else m.MEDICAL_LINE_DENIALS
                code, group, rarcs = table[int(rng.random() * len(table))]
                _full_denial(ln, group, code, _remarks(rng, rarcs, code == "16" or code == "96"))
            else:
                _pay_line(rng, ln, payer, ratio, secondary, i == 0)
        paid_sum = sum(ln.paid for ln in lines)
        if (
            not secondary
            and paid_sum > 1
            and payer.kind in ("commercial", "advantage")
            and rng.random() < 0.04
        ):
            ded = min(paid_sum - 1, 2000 + int(rng.random() * 20) * 1000)
            c.cas.append(("PR", "1", ded))
        if c.ctype == "outpatient" and rng.random() < 0.7:
            c.moa = (m.MOA_REMARKS[int(rng.random() * len(m.MOA_REMARKS))],)
        elif payer.kind == "medicare" and rng.random() < 0.3:
            c.moa = ("MA01",)
        if (
            status == "1"
            and paid_sum == 0
            and not c.cas
            and all(g != "PR" for ln in lines for g, _r, _a in ln.cas)
        ):
            status = "4"  # every line written off (e.g. a single crossover line): a denied claim
    c.status = status
    settle(c)


def settle(c: Claim) -> None:
    """Fill in CLP04 (charge minus every adjustment) and CLP05 (the PR adjustments) from the CAS."""
    line_cas = sum(a for ln in c.lines for _g, _r, a in ln.cas)
    claim_cas = sum(a for _g, _r, a in c.cas)
    c.paid = c.charge - claim_cas - line_cas
    c.pr = sum(a for g, _r, a in c.cas if g == "PR") + sum(
        a for ln in c.lines for g, _r, a in ln.cas if g == "PR"
    )


def reverse(c: Claim) -> Claim:
    """The reversal of a claim: CLP02 = 22, every amount negated, same codes and ids."""
    r = Claim()
    for name in Claim.__slots__:
        setattr(r, name, getattr(c, name))
    r.status = "22"
    r.charge, r.paid, r.pr = -c.charge, -c.paid, -c.pr
    r.cas = [(g, code, -a) for g, code, a in c.cas]
    r.lines = [ln.copy(-1) for ln in c.lines]
    if c.mia is not None:
        r.mia = (c.mia[0], -c.mia[1], c.mia[2])
    return r


def correct(rng: Random, c: Claim, payer: m.Payer) -> Claim:
    """The corrected claim that follows a reversal: same services, adjudicated again, REF*F8 = old CLP07."""
    n = Claim()
    for name in Claim.__slots__:
        setattr(n, name, getattr(c, name))
    n.lines = [Line(ln.qual, ln.code, ln.mods, ln.charge, ln.units, ln.rev, ln.date) for ln in c.lines]
    n.f8 = c.ctl
    n.ctl = c.ctl + "C"
    n.freq = "7"
    adjudicate(rng, n, payer, 0.0, True)
    return n
