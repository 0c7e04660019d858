"""Serialise planned transactions to X12 835 text and tally the ground truth from the model.

Segments are built with canonical delimiters (``*`` ``:`` ``~`` + newline) and translated byte-wise to
the sender's delimiters when written: the data never contains a delimiter character, so the translation
is exact. The truth is tallied from the claim objects themselves, never from the written text.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from random import Random

from pipeline.synth import model as m
from pipeline.synth.claims import Claim, adjudicate, correct, draw_claim, reverse
from pipeline.synth.episodes import build_episode
from pipeline.synth.lifecycle import LifecycleTally
from pipeline.synth.submissions import Submissions, SubTally


def money(cents: int) -> str:
    """Integer cents as an X12/truth decimal string with two places (``-12.05``)."""
    if cents >= 0:
        return f"{cents // 100}.{cents % 100:02d}"
    cents = -cents
    return f"-{cents // 100}.{cents % 100:02d}"


@lru_cache(maxsize=4096)
def d8(ordinal: int) -> str:
    """A date ordinal as CCYYMMDD."""
    return dt.date.fromordinal(ordinal).strftime("%Y%m%d")


@lru_cache(maxsize=64)
def _encoder(flavour: str) -> tuple[bytes, bytes]:
    elem, comp, _rep, term, after = m.FLAVOURS[flavour]
    return bytes.maketrans(b"*:~", (elem + comp + term).encode()), after.encode()


def encode(text: str, flavour: str) -> bytes:
    """Canonical segment text to the bytes a sender of ``flavour`` writes."""
    table, after = _encoder(flavour)
    data = text.encode("ascii").translate(table)
    if after != b"\n":
        data = data.replace(b"\n", after)
    return data


class Tally:
    """Ground-truth counters in integer cents, mergeable across workers."""

    COUNTS = (
        "files",
        "interchanges",
        "groups",
        "transactions",
        "claims",
        "lines",
        "adjustment_count",
        "plb_count",
        "denied_claims",
        "zero_paid_claims",
        "reversal_claims",
        "corrected_claims",
        "remark_count",
        "secondary_claims",
        "late_reversal_pairs",
        "in_file_reversal_pairs",
        "reversed_denied_claims",
        "segments",
        "claims_without_lines",
        "bpr02_total",
        "clp03_total",
        "clp04_total",
        "clp05_total",
        "svc02_total",
        "svc03_total",
        "claim_level_adjustment_total",
        "line_level_adjustment_total",
        "plb_total",
    )

    def __init__(self) -> None:
        self.n = dict.fromkeys(self.COUNTS, 0)
        self.by_group_carc: dict[str, int] = {}
        self.plb_by_reason: dict[str, int] = {}
        self.status: dict[str, int] = {}
        self.qualifier: dict[str, int] = {}
        self.crossover: dict[str, dict[str, list[int]]] = {}  # month -> code -> [lines, claims, cents]
        self.by_month: dict[str, list[int]] = {}  # month -> [claims, clp04, adjustments, transactions, bpr02]
        self.by_payer: dict[str, list[int]] = {}  # payer -> [claims, clp04, transactions]
        self.flavours: dict[str, int] = {}
        self.life = LifecycleTally()
        self.sub: SubTally | None = None  # the 837 side, when asked for

    def merge_sub(self, other: SubTally | None) -> None:
        """Add another worker's 837 tally."""
        if other is None:
            return
        if self.sub is None:
            self.sub = SubTally()
        self.sub.merge(other)

    def merge(self, other: Tally) -> None:
        """Add ``other`` into this tally."""
        self.life.merge(other.life)
        self.merge_sub(other.sub)
        for k, v in other.n.items():
            self.n[k] += v
        for mine, theirs in (
            (self.by_group_carc, other.by_group_carc),
            (self.plb_by_reason, other.plb_by_reason),
            (self.status, other.status),
            (self.qualifier, other.qualifier),
            (self.flavours, other.flavours),
        ):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        for month, codes in other.crossover.items():
            mc = self.crossover.setdefault(month, {})
            for code, vals in codes.items():
                cur = mc.setdefault(code, [0, 0, 0])
                for i, v in enumerate(vals):
                    cur[i] += v
        for mine, theirs in ((self.by_month, other.by_month), (self.by_payer, other.by_payer)):
            for k, vals in theirs.items():
                cur = mine.setdefault(k, [0] * len(vals))
                for i, v in enumerate(vals):
                    cur[i] += v


def _cas(out: list[str], cas: list[tuple[str, str, int]], t: Tally) -> int:
    """Append CAS segments (one per group, at most six triples each), tally them, return their sum."""
    gc = t.by_group_carc
    t.n["adjustment_count"] += len(cas)
    total = 0
    for g, r, a in cas:
        k = g + "-" + r
        gc[k] = gc.get(k, 0) + a
        total += a
    g0 = cas[0][0]
    if len(cas) <= 6 and all(g == g0 for g, _r, _a in cas):  # the common case: one group
        out.append(f"CAS*{g0}*" + "**".join([f"{r}*{money(a)}" for _g, r, a in cas]) + "~\n")
        return total
    groups: dict[str, list[tuple[str, int]]] = {}
    for g, r, a in cas:
        groups.setdefault(g, []).append((r, a))
    for g, items in groups.items():
        for i in range(0, len(items), 6):
            out.append(f"CAS*{g}*" + "**".join([f"{r}*{money(a)}" for r, a in items[i : i + 6]]) + "~\n")
    return total


_XO = frozenset(m.CROSSOVER_CODES)


def write_claim(out: list[str], c: Claim, t: Tally, month: str, payer_id: str) -> None:
    """Append the 2100/2110 segments of ``c`` to ``out`` and add it to the tally."""
    n = t.n
    f = c.filing
    clp = f"CLP*{c.pcn}*{c.status}*{money(c.charge)}*{money(c.paid)}*"
    clp += (money(c.pr) if c.pr else "") + f"*{f}*{c.ctl}*{c.fac}*{c.freq}"
    if c.drg:
        w = c.drg_weight
        clp += f"**{c.drg}*" + f"{w // 1000}.{w % 1000:03d}".rstrip("0").rstrip(".")
    out.append(clp + "~\n")
    n["claims"] += 1
    n["clp03_total"] += c.charge
    n["clp04_total"] += c.paid
    n["clp05_total"] += c.pr
    t.status[c.status] = t.status.get(c.status, 0) + 1
    if c.status == "4":
        n["denied_claims"] += 1
    elif c.status == "22":
        n["reversal_claims"] += 1
    elif c.status == "2":
        n["secondary_claims"] += 1
    if c.paid == 0 and c.status != "22":
        n["zero_paid_claims"] += 1
    if c.f8:
        n["corrected_claims"] += 1
    adj_total = 0
    xo_codes: set[str] = set()
    if c.cas:
        s = _cas(out, c.cas, t)
        n["claim_level_adjustment_total"] += s
        adj_total += s
    last, first, mi, member = c.patient
    out.append(f"NM1*QC*1*{last}*{first}*{mi}***MI*{member}~\n")
    if c.insured:
        out.append(f"NM1*IL*1*{c.insured[0]}*{c.insured[1]}*{c.insured[2]}***MI*{member}~\n")
    if c.rendering:
        out.append(f"NM1*82*1*{c.rendering[0]}*{c.rendering[1]}****XX*{c.rendering[2]}~\n")
    remarks = 0
    if c.mia is not None:
        days, amount, rem = c.mia
        out.append(f"MIA*{days}***{money(amount)}" + (f"*{rem[0]}" if rem else "") + "~\n")
        remarks += len(rem)
    if c.moa:
        out.append("MOA***" + "*".join(c.moa) + "~\n")
        remarks += len(c.moa)
    if c.f8:
        out.append(f"REF*F8*{c.f8}~\n")
    out.append(f"DTM*232*{d8(c.date_from)}~\nDTM*233*{d8(c.date_to)}~\n")
    if c.received:
        out.append(f"DTM*050*{d8(c.received)}~\n")
    qual = t.qualifier
    line_no = 0
    svc02 = svc03 = line_adj = 0
    for ln in c.lines:
        line_no += 1
        code = ln.code
        if ln.mods:
            code += ":" + ":".join(ln.mods)
        svc = f"SVC*{ln.qual}:{code}*{money(ln.charge)}*{money(ln.paid)}"
        if ln.rev:
            svc += f"*{ln.rev}*{ln.units}"
        elif ln.units != 1:
            svc += f"**{ln.units}"
        out.append(svc + "~\n")
        if ln.date:
            out.append(f"DTM*472*{d8(ln.date)}~\n")
        if ln.cas:
            line_adj += _cas(out, ln.cas, t)
            if len(ln.cas) == 1 and ln.cas[0][1] in _XO:  # crossover lines carry exactly one triple
                for _g, r, a in ln.cas:
                    cur = t.crossover.setdefault(month, {}).setdefault(r, [0, 0, 0])
                    cur[0] += 1
                    cur[2] += a
                    xo_codes.add(r)
        out.append(f"REF*6R*{ln.ref or c.pcn + 'L' + str(line_no)}~\n")
        if ln.allowed is not None:
            out.append(f"AMT*B6*{money(ln.allowed)}~\n")
        for rem in ln.remarks:
            out.append(f"LQ*HE*{rem}~\n")
        remarks += len(ln.remarks)
        svc02 += ln.charge
        svc03 += ln.paid
        qual[ln.qual] = qual.get(ln.qual, 0) + 1
    n["svc02_total"] += svc02
    n["svc03_total"] += svc03
    n["line_level_adjustment_total"] += line_adj
    adj_total += line_adj
    n["lines"] += line_no
    if not line_no:
        n["claims_without_lines"] += 1
    n["remark_count"] += remarks
    for code in xo_codes:
        t.crossover[month][code][1] += 1
    bm = t.by_month.setdefault(month, [0, 0, 0, 0, 0])
    bm[0] += 1
    bm[1] += c.paid
    bm[2] += adj_total
    bp = t.by_payer.setdefault(payer_id, [0, 0, 0])
    bp[0] += 1
    bp[1] += c.paid


def pair_original(pair: tuple, seed: int, months: int) -> tuple[Claim, m.Payer]:
    """Rebuild the original claim of a late reversal pair exactly as its own file wrote it."""
    pair_no, payer_idx, payee_idx, pay_ord = pair
    payer, payee = m.PAYERS[payer_idx], m.PAYEES[payee_idx]
    rng = Random(f"{seed}:pair:{pair_no}")
    c = draw_claim(rng, payer, payee, pay_ord, f"R{pair_no:07d}", f"X{pay_ord}{pair_no:07d}")
    adjudicate(rng, c, payer, 0.0, True)
    return c, payer


def crossover_rate(month_idx: int, months: int) -> float:
    """Share of service lines with a crossover CARC in a payment month (rises linearly over the run)."""
    frac = month_idx / (months - 1) if months > 1 else 1.0
    return m.CROSSOVER_RATE_FIRST + (m.CROSSOVER_RATE_LAST - m.CROSSOVER_RATE_FIRST) * frac


IN_FILE_REVERSAL_RATE = 0.002
PLB_RATE = 0.25


def write_transaction(
    tx: tuple, seed: int, months: int, t: Tally, as_of: int, sub: Submissions | None = None
) -> str:
    """Canonical text of one ST..SE transaction (one payment) and its tally; ``sub`` collects the 837
    submissions behind its claims (from their own random streams: the 835 is the same without it)."""
    (file_idx, tx_idx, payer_idx, payee_idx, n_claims, pay_ord, month_idx, month, st_ctl, late, reserved) = (
        tx[:11]
    )
    episodes = tx[11]
    payer, payee = m.PAYERS[payer_idx], m.PAYEES[payee_idx]
    rng = Random(f"{seed}:{file_idx}:{tx_idx}")
    xo_rate = crossover_rate(month_idx, months)
    claims: list[Claim] = []
    for pair in late:
        orig, _ = pair_original(pair, seed, months)
        claims.append(reverse(orig))
        claims.append(correct(rng, orig, payer))
        t.n["late_reversal_pairs"] += 1
    if reserved is not None:
        claims.append(pair_original(reserved, seed, months)[0])
    for ep, stage in episodes:
        for c in build_episode(seed, ep)[stage]:
            claims.append(c)
            if c.status == "22":  # its original was remitted in an earlier transaction
                t.n["late_reversal_pairs"] += 1
                if build_episode(seed, ep)[0][0].status == "4":
                    t.n["reversed_denied_claims"] += 1
    k = 0
    base = f"{file_idx:05d}{tx_idx:05d}"
    ctl_base = f"{pay_ord % 100000:05d}{file_idx:05d}{tx_idx:05d}"
    while len(claims) < n_claims:
        k += 1
        c = draw_claim(rng, payer, payee, pay_ord, f"{base}{k:04d}", f"{ctl_base}{k:04d}")
        if n_claims - len(claims) >= 3 and rng.random() < IN_FILE_REVERSAL_RATE:
            adjudicate(rng, c, payer, 0.0, True)
            claims += (c, reverse(c), correct(rng, c, payer))
            t.n["in_file_reversal_pairs"] += 1
        else:
            adjudicate(rng, c, payer, xo_rate, False)
            claims.append(c)

    out: list[str] = [f"ST*835*{st_ctl:04d}~\n"]
    out_append = out.append
    # header placeholders filled after the claims are known (BPR needs the total)
    out_append("")
    trace = f"{payer.payer_id[3:]}{file_idx:06d}{tx_idx:05d}"
    out_append(f"TRN*1*{trace}*1{payer.ein}~\n")
    out_append(f"DTM*405*{d8(pay_ord - 1 - tx_idx % 3)}~\n")
    out_append(f"N1*PR*{payer.name}~\nN3*{payer.street}~\nN4*{payer.city}*{payer.state}*{payer.zip}~\n")
    out_append(f"REF*2U*{payer.payer_id}~\n")
    if tx_idx % 2 == 0:
        out_append(f"PER*CX*PROVIDER SERVICES*TE*{payer.phone}~\n")
    out_append(f"PER*BL*EDI SUPPORT*TE*{payer.phone}*EX*2~\n")
    npi = m.make_npi(payee.npi_base)
    out_append(
        f"N1*PE*{payee.name}*XX*{npi}~\nN3*{payee.street}~\nN4*{payee.city}*{payee.state}*{payee.zip}~\n"
    )
    out_append(f"REF*TJ*{payee.ein}~\nLX*1~\n")
    paid = 0
    pid = payer.payer_id
    for c in claims:
        write_claim(out, c, t, month, pid)
        paid += c.paid
    t.life.add_transaction(claims, (pay_ord, file_idx, tx_idx), pid, as_of)
    if sub is not None:
        sub.add_transaction(tx, claims)
    # provider-level adjustments
    plb: list[tuple[str, str, int]] = []
    if rng.random() < PLB_RATE and claims:
        for _ in range(1 + int(rng.random() * 2)):
            r = rng.random()
            if r < 0.5 and paid > 100:
                ref = f"{ctl_base}{int(rng.random() * 9000) + 1000}"
                # recovering an earlier overpayment: tens to a few thousand dollars
                plb.append(("WO", ref, min(paid // 3, 2500 + int(rng.random() ** 2 * 300000))))
            elif r < 0.85:
                c = claims[int(rng.random() * len(claims))]
                plb.append(("L6", c.ctl, -(50 + int(rng.random() * 2500))))
            else:
                plb.append(
                    (
                        "FB",
                        f"FB{trace}",
                        (1 if rng.random() < 0.5 else -1) * (500 + int(rng.random() * 20000)),
                    )
                )
    plb_sum = sum(a for _r, _f, a in plb)
    if paid - plb_sum < 0:  # a net take-back: carry the negative balance forward
        plb.append(("FB", f"FB{trace}", paid - plb_sum))
        plb_sum = paid
    if plb:
        fiscal = d8(dt.date(dt.date.fromordinal(pay_ord).year, 12, 31).toordinal())
        for i in range(0, len(plb), 6):
            out_append(
                f"PLB*{npi}*{fiscal}*"
                + "*".join(f"{r}:{ref}*{money(a)}" for r, ref, a in plb[i : i + 6])
                + "~\n"
            )
        pr = t.plb_by_reason
        for r, _ref, a in plb:
            pr[r] = pr.get(r, 0) + a
        t.n["plb_count"] += len(plb)
        t.n["plb_total"] += plb_sum
    bpr02 = paid - plb_sum
    date = d8(pay_ord)
    if bpr02 == 0:
        out[1] = f"BPR*H*0.00*C*NON************{date}~\n"
    elif payer.method == "CHK":
        out[1] = f"BPR*C*{money(bpr02)}*C*CHK************{date}~\n"
    else:
        out[1] = (
            f"BPR*I*{money(bpr02)}*C*ACH*CCP*01*0{payer.ein[:8]}*DA*{payer.ein}01*1{payer.ein}**01*"
            f"0{payee.ein[:8]}*DA*{payee.ein}77*{date}~\n"
        )
    body = "".join(out)
    count = body.count("~") + 1  # segments ST..SE inclusive
    t.n["transactions"] += 1
    t.n["bpr02_total"] += bpr02
    t.n["segments"] += count
    bm = t.by_month.setdefault(month, [0, 0, 0, 0, 0])
    bm[3] += 1
    bm[4] += bpr02
    bp = t.by_payer.setdefault(payer.payer_id, [0, 0, 0])
    bp[2] += 1
    return f"{body}SE*{count}*{st_ctl:04d}~\n"


def run_chunk(job: tuple) -> Tally:
    """Write one chunk of a file (a run of transactions plus the envelopes around them); return its tally.

    ``job`` = (path, seed, months, items, count_file, as_of[, sub837]). Items are ("raw", canonical text,
    flavour, kind) for envelope segments and ("tx", transaction plan, flavour) for transactions; ``as_of`` is
    the run's latest payment date (the lifecycle's as-of date); ``sub837`` = (job number, 837 part file path)
    when the 837s are written too.
    """
    path, seed, months, items, count_file, as_of = job[:6]
    sub = Submissions(seed, as_of, job[6][0], job[6][1]) if len(job) > 6 and job[6] is not None else None
    t = Tally()
    if count_file:
        t.n["files"] += 1
    with open(path, "wb") as fh:
        buf: list[bytes] = []
        size = 0
        for item in items:
            if item[0] == "raw":
                _kind, text, flavour, what = item
                data = encode(text, flavour)
                if what == "isa":
                    t.n["interchanges"] += 1
                    t.n["groups"] += 1
                    t.flavours[flavour] = t.flavours.get(flavour, 0) + 1
            else:
                _kind, tx, flavour = item
                data = encode(write_transaction(tx, seed, months, t, as_of, sub), flavour)
            buf.append(data)
            size += len(data)
            if size > 4_000_000:
                fh.write(b"".join(buf))
                buf, size = [], 0
        fh.write(b"".join(buf))
    if sub is not None:
        t.sub = sub.write()
    return t
