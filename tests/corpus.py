"""A deterministic corpus of bad 835 inputs, made by mutating valid files.

``corpus(seeds, seed=..., every_boundary=...)`` turns valid files (the hand-built fixtures in
``tests/fixtures/835/`` and files written by ``pipeline.synth.generate``) into mutated copies: truncation at
every segment boundary and inside segments, byte flips, swapped, repeated or foreign delimiters, missing
SE/GE/IEA, wrong counts and control numbers, non-numeric, 30-digit and three-decimal amounts, impossible
dates, non-ASCII and binary bytes, empty files, an 837 and a 270, and (``huge=True``) a 50 MB segment.

Each :class:`Case` says whether it **must** be rejected. That verdict comes from how the case was built
(a file that ends before its IEA, an SE01 one too high, an amount with a letter in it cannot be a valid
835), never from running the parser; cases whose fate depends on where a random flip landed are marked
``must_reject=False`` and only have to parse or raise ``X12ParseError``.

The same ``seed`` and seed files always give the same cases, in the same order.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"
WHITESPACE = b" \r\n\t"


@dataclass(frozen=True)
class Case:
    """One mutated input."""

    name: str  # unique, safe as a file name
    kind: str  # the mutation family (for the summary)
    data: bytes
    must_reject: bool  # by construction this cannot be a valid 835


@dataclass(frozen=True)
class Segment:
    """A segment's span ``[start, end)`` (terminator and following line breaks included) and its id."""

    start: int
    end: int
    body_end: int  # index of the terminator byte
    seg_id: bytes
    element: int  # the element separator in force (a byte value)
    terminator: int


def isa_delimiters(data: bytes, at: int) -> tuple[int, int, int]:
    """(element, component, terminator) of the ISA starting at ``at``, counting its 16 separators."""
    element = data[at + 3]
    pos = at + 3  # the first separator
    for _ in range(15):
        pos = data.index(bytes([element]), pos + 1)
    # pos is the 16th separator; ISA16 (component) follows it, then the terminator
    return element, data[pos + 1], data[pos + 2]


def segments(data: bytes) -> list[Segment]:
    """Split a valid X12 file into segments, honouring each interchange's own delimiters."""
    out: list[Segment] = []
    pos = 3 if data.startswith(BOM) else 0
    while pos < len(data) and data[pos] in WHITESPACE:
        pos += 1
    element = terminator = -1
    while pos < len(data):
        if data.startswith(b"ISA", pos):
            element, _component, terminator = isa_delimiters(data, pos)
        end = data.find(bytes([terminator]), pos)
        if end < 0:
            end = len(data) - 1
        stop = end + 1
        while stop < len(data) and data[stop] in WHITESPACE:
            stop += 1
        sep = data.find(bytes([element]), pos, end)
        seg_id = data[pos : sep if sep >= 0 else end]
        out.append(Segment(pos, stop, end, seg_id, element, terminator))
        pos = stop
    return out


def _elements(data: bytes, seg: Segment) -> list[bytes]:
    return data[seg.start : seg.body_end].split(bytes([seg.element]))


def _replace_segment(data: bytes, seg: Segment, elements: list[bytes]) -> bytes:
    body = bytes([seg.element]).join(elements)
    return data[: seg.start] + body + data[seg.body_end :]


def _set_element(data: bytes, seg: Segment, index: int, value: bytes) -> bytes | None:
    """``data`` with element ``index`` of ``seg`` replaced (padded with empty elements if short)."""
    els = _elements(data, seg)
    while len(els) <= index:
        els.append(b"")
    els[index] = value
    return _replace_segment(data, seg, els)


def _first(segs: list[Segment], seg_id: bytes, data: bytes, qualifier: bytes | None = None) -> Segment | None:
    for seg in segs:
        if seg.seg_id == seg_id and (qualifier is None or _elements(data, seg)[1:2] == [qualifier]):
            return seg
    return None


def _bump(value: bytes, by: int = 1) -> bytes:
    """A numeric element plus ``by``, keeping its width (control numbers are zero-padded)."""
    return str(int(value) + by).zfill(len(value)).encode()


# Hand-written envelopes of other transaction sets: perfectly good X12, but not an 835.
OTHER_X12 = {
    "837": (
        "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       "
        "*250301*1200*^*00501*000000201*0*P*:~\n"
        "GS*HC*SUBMITTER*RECEIVER*20250301*1200*201*X*005010X222A1~\n"
        "ST*837*0001*005010X222A1~\n"
        "BHT*0019*00*REF47517*20250301*1200*CH~\n"
        "NM1*41*2*SUBMITTER CLINIC*****46*TGJ23~\n"
        "NM1*40*2*RECEIVER PLAN*****46*66783JJT~\n"
        "HL*1**20*1~\n"
        "NM1*85*2*BILLING CLINIC*****XX*1234567893~\n"
        "CLM*PCN1*100***11:B:1*Y*A*Y*Y~\n"
        "SV1*HC:99213*100*UN*1***1~\n"
        "SE*10*0001~\n"
        "GE*1*201~\n"
        "IEA*1*000000201~\n"
    ).encode("ascii"),
    "270": (
        "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       "
        "*250301*1200*^*00501*000000301*0*P*:~\n"
        "GS*HS*SUBMITTER*RECEIVER*20250301*1200*301*X*005010X279A1~\n"
        "ST*270*0001*005010X279A1~\n"
        "BHT*0022*13*10001234*20250301*1200~\n"
        "HL*1**20*1~\n"
        "NM1*PR*2*ACME HEALTH PLAN*****PI*12345~\n"
        "HL*2*1*21*1~\n"
        "NM1*1P*2*SMILE DENTAL*****XX*1234567893~\n"
        "EQ*30~\n"
        "SE*9*0001~\n"
        "GE*1*301~\n"
        "IEA*1*000000301~\n"
    ).encode("ascii"),
}


def _truncations(stem: str, data: bytes, segs: list[Segment], every_boundary: bool, rng: random.Random):
    """Cut at segment boundaries (all, or a sample) and inside segments."""
    last_iea = max((i for i, s in enumerate(segs) if s.seg_id == b"IEA"), default=len(segs) - 1)
    bounds = list(range(len(segs) - 1))
    if not every_boundary and len(bounds) > 24:
        bounds = sorted(rng.sample(bounds, 24))
    for k in bounds:
        seg = segs[k]
        # a cut just after an IEA may leave complete interchanges (a multi-interchange file)
        yield Case(f"{stem}.cut-seg{k:05d}", "truncate-boundary", data[: seg.end], seg.seg_id != b"IEA")
        # the same cut without the terminator (last segment unterminated)
        if k < last_iea:  # an unterminated IEA may still close a complete interchange
            cut = data[: seg.body_end]
            yield Case(f"{stem}.cut-noterm{k:05d}", "truncate-boundary", cut, seg.seg_id != b"IEA")
    inner = [i for i, s in enumerate(segs) if s.seg_id != b"IEA" and s.body_end - s.start > 2]
    for n, k in enumerate(rng.sample(inner, min(len(inner), 12 if every_boundary else 6))):
        seg = segs[k]
        cut = rng.randrange(seg.start + 1, seg.body_end)
        yield Case(f"{stem}.cut-mid{n:03d}", "truncate-mid", data[:cut], True)


def _flips(stem: str, data: bytes, n: int, rng: random.Random):
    for i in range(n):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        yield Case(f"{stem}.flip{i:03d}", "byte-flip", bytes(buf), False)


def _delimiters(stem: str, data: bytes, segs: list[Segment], rng: random.Random):
    first = segs[0]
    isa_end = first.end
    element, terminator = bytes([first.element]), bytes([first.terminator])
    component = bytes([isa_delimiters(data, first.start)[1]])
    body = data[isa_end:]
    swapped = body.replace(element, b"\x00").replace(component, element).replace(b"\x00", component)
    if len(segs) == len([s for s in segs if s.element == first.element]):  # one set of delimiters
        # element and component separators exchanged after the ISA: "ST:835:0001" is no segment id
        yield Case(f"{stem}.delim-swap", "delimiters", data[:isa_end] + swapped, True)
        # the body terminated with a character the ISA never declared: one endless segment
        other = b"|" if terminator != b"|" else b"!"
        foreign = body.replace(terminator, other)
        yield Case(f"{stem}.delim-foreign-term", "delimiters", data[:isa_end] + foreign, True)
    for i in range(4):  # a repeated element separator somewhere (shifts every later element)
        k = rng.randrange(1, len(segs) - 1)
        seg = segs[k]
        at = data.find(bytes([seg.element]), seg.start, seg.body_end)
        if at > 0:
            yield Case(
                f"{stem}.delim-repeat{i}", "delimiters", data[:at] + bytes([seg.element]) + data[at:], False
            )
    for i in range(2):  # a terminator where an element separator should be (a segment split in two)
        k = rng.randrange(1, len(segs) - 1)
        seg = segs[k]
        at = data.find(bytes([seg.element]), seg.start, seg.body_end)
        if at > 0:
            buf = data[:at] + bytes([seg.terminator]) + data[at + 1 :]
            yield Case(f"{stem}.delim-split{i}", "delimiters", buf, False)


def _envelope(stem: str, data: bytes, segs: list[Segment]):
    for seg_id in (b"SE", b"GE", b"IEA", b"ST", b"GS"):
        for which, seg in (("first", _first(segs, seg_id, data)), ("last", _last(segs, seg_id))):
            if seg is None:
                continue
            name = f"{stem}.missing-{seg_id.decode().lower()}-{which}"
            yield Case(name, "missing-envelope", data[: seg.start] + data[seg.end :], True)
    counts = {b"SE": 1, b"GE": 1, b"IEA": 1}
    for seg_id, index in counts.items():
        seg = _first(segs, seg_id, data)
        if seg is None:
            continue
        els = _elements(data, seg)
        if len(els) > index and els[index].strip().isdigit():
            bumped = _set_element(data, seg, index, _bump(els[index].strip()))
            yield Case(f"{stem}.count-{seg_id.decode().lower()}", "wrong-count", bumped, True)
        if len(els) > 2 and els[2].strip().isdigit():  # control number that no longer matches
            bumped = _set_element(data, seg, 2, _bump(els[2].strip(), 7))
            yield Case(f"{stem}.control-{seg_id.decode().lower()}", "wrong-count", bumped, True)
    st = _first(segs, b"ST", data)
    if st is not None:  # ST opened twice
        twice = data[: st.end] + data[st.start : st.end] + data[st.end :]
        yield Case(f"{stem}.st-twice", "missing-envelope", twice, True)


def _last(segs: list[Segment], seg_id: bytes) -> Segment | None:
    for seg in reversed(segs):
        if seg.seg_id == seg_id:
            return seg
    return None


BAD_AMOUNTS = {
    "alpha": b"12A.00",
    "thousands": b"1,000.00",
    "thirty-digits": b"123456789012345678901234567890",
    "thirty-digits-cents": b"123456789012345678901234567890.00",
    "three-decimals": b"10.125",
    "exponent": b"1E5",
    "plus": b"+10.00",
    "dots": b"1.2.3",
    "empty": b"",
}
BAD_DATES = {"feb30": b"20250230", "month13": b"20251301", "dashes": b"2025-03-01", "short": b"202503"}


def _values(stem: str, data: bytes, segs: list[Segment], rng: random.Random):
    targets = [(b"BPR", None, 2), (b"CLP", None, 4), (b"CLP", None, 3), (b"SVC", None, 2)]
    for seg_id, qual, index in targets:
        seg = _first(segs, seg_id, data, qual)
        if seg is None:
            continue
        for label, value in BAD_AMOUNTS.items():
            mutated = _set_element(data, seg, index, value)
            name = f"{stem}.amount-{seg_id.decode().lower()}{index:02d}-{label}"
            yield Case(name, "bad-amount", mutated, True)
    dated = [(b"DTM", b"405", 2), (b"BPR", None, 16), (b"DTM", b"232", 2), (b"DTM", b"472", 2)]
    for seg_id, qual, index in dated:
        seg = _first(segs, seg_id, data, qual)
        if seg is None or len(_elements(data, seg)) <= index or not _elements(data, seg)[index]:
            continue
        for label, value in BAD_DATES.items():
            mutated = _set_element(data, seg, index, value)
            tag = (qual or seg_id).decode().lower()
            yield Case(f"{stem}.date-{tag}-{label}", "bad-date", mutated, True)
    # non-ASCII text in a name: UTF-8, Latin-1, control bytes; may legitimately load
    named = [s for s in segs if s.seg_id in (b"N1", b"NM1", b"N3")]
    for i, raw in enumerate((b"\xc3\x89COLE", b"\xc9COLE", b"\x00\x01\x7f", b"\xff\xfe", "名前".encode())):
        if not named:
            break
        seg = rng.choice(named)
        els = _elements(data, seg)
        k = min(2, len(els) - 1)
        mutated = _set_element(data, seg, k, els[k] + raw)
        yield Case(f"{stem}.nonascii{i}", "non-ascii", mutated, False)


def _binary(rng: random.Random, n: int):
    for i in range(n):
        size = rng.choice([1, 2, 3, 7, 64, 500, 4096])
        yield Case(f"binary{i:03d}.835", "binary", bytes(rng.randrange(256) for _ in range(size)), True)


def fixed_cases(rng: random.Random, seed_file: bytes, huge: bool = False) -> Iterator[Case]:
    """Inputs that do not depend on a seed file's structure: empty, binary, other X12, huge segments."""
    yield Case("empty.835", "empty", b"", True)
    yield Case("blank.835", "empty", b" \r\n\r\n\t ", True)
    yield Case("bom-only.835", "empty", BOM, True)
    yield Case("isa-only.835", "empty", b"ISA", True)
    yield Case("isa-star.835", "empty", b"ISA*", True)
    yield Case("st-only.835", "empty", b"ST*835*0001~", True)
    yield from _binary(rng, 12)
    segs = segments(seed_file)
    isa = seed_file[segs[0].start : segs[0].end]
    garbage = bytes(rng.randrange(256) for _ in range(2048))
    yield Case("isa-then-binary.835", "binary", isa + garbage, True)
    for kind, data in OTHER_X12.items():
        yield Case(f"transaction-{kind}.x12", "other-transaction", data, True)
        yield Case(f"transaction-{kind}-crlf.x12", "other-transaction", data.replace(b"\n", b"\r\n"), True)
    if huge:
        yield from huge_cases(seed_file)


HUGE = 50 * 1000 * 1000


def huge_cases(seed_file: bytes) -> Iterator[Case]:
    """A 50 MB segment inside a valid transaction (SE01 kept right), and a 50 MB file with no terminator."""
    segs = segments(seed_file)
    clp = _first(segs, b"CLP", seed_file)
    assert clp is not None
    element, terminator = bytes([clp.element]), bytes([clp.terminator])
    filler = b"REF" + element + b"ZZ" + element + b"A" * HUGE + terminator + b"\n"
    data = seed_file[: clp.end] + filler + seed_file[clp.end :]
    # one more segment in that transaction: SE01 must count it
    se = next(s for s in segments_after(data, clp.end + len(filler)) if s.seg_id == b"SE")
    els = _elements(data, se)
    data = _set_element(data, se, 1, _bump(els[1].strip()))
    yield Case("huge-segment.835", "huge", data, False)
    yield Case("huge-no-terminator.835", "huge", seed_file[: segs[0].end] + b"GS*" + b"9" * HUGE, True)


def segments_after(data: bytes, pos: int) -> Iterator[Segment]:
    """Segments from ``pos`` on, with the delimiters of the file's first ISA (for the huge case)."""
    element, _component, terminator = isa_delimiters(data, data.index(b"ISA"))
    while pos < len(data):
        end = data.find(bytes([terminator]), pos)
        if end < 0:
            return
        stop = end + 1
        while stop < len(data) and data[stop] in WHITESPACE:
            stop += 1
        sep = data.find(bytes([element]), pos, end)
        yield Segment(pos, stop, end, data[pos : sep if sep >= 0 else end], element, terminator)
        pos = stop


def mutate(stem: str, data: bytes, rng: random.Random, *, every_boundary: bool, flips: int) -> Iterator[Case]:
    """Every mutation family applied to one valid file."""
    segs = segments(data)
    yield from _truncations(stem, data, segs, every_boundary, rng)
    yield from _flips(stem, data, flips, rng)
    yield from _delimiters(stem, data, segs, rng)
    yield from _envelope(stem, data, segs)
    yield from _values(stem, data, segs, rng)
    # a segment repeated or two segments exchanged: may still be a valid file
    k = rng.randrange(1, len(segs) - 1)
    yield Case(f"{stem}.repeat-seg", "reorder", data[: segs[k].end] + data[segs[k].start :], False)
    a, b = sorted(rng.sample(range(1, len(segs) - 1), 2))
    sa, sb = segs[a], segs[b]
    swapped = (
        data[: sa.start]
        + data[sb.start : sb.end]
        + data[sa.end : sb.start]
        + data[sa.start : sa.end]
        + data[sb.end :]
    )
    yield Case(f"{stem}.swap-segs", "reorder", swapped, False)


def corpus(
    seeds: Iterable[tuple[str, bytes]],
    *,
    seed: int = 835,
    every_boundary: bool = True,
    flips: int = 8,
    huge: bool = False,
) -> list[Case]:
    """The mutated cases of every seed file plus the fixed ones; unique names and unique bytes."""
    rng = random.Random(seed)
    seeds = list(seeds)
    cases: list[Case] = []
    for stem, data in seeds:
        safe = re.sub(r"[^A-Za-z0-9_-]+", "_", stem)
        cases.extend(mutate(safe, data, rng, every_boundary=every_boundary, flips=flips))
    cases.extend(fixed_cases(rng, seeds[0][1], huge=huge))
    good = {data for _, data in seeds}
    seen: set[bytes] = set()
    unique: list[Case] = []
    for case in cases:  # a mutation that happens to give back a seed file, or another case, is dropped
        if case.data in good or case.data in seen:
            continue
        seen.add(case.data)
        unique.append(case)
    names = [c.name for c in unique]
    assert len(set(names)) == len(names), "case names must be unique"
    return unique
