"""Byte-level pre-scan: where each interchange starts, its delimiters, and ST-bounded chunk cuts.

This runs before the columnar pass and only looks at a handful of positions (each ISA, and each ST
when a file is larger than one chunk), using ``bytes.find`` so that it stays at C speed; the parsers find
the ISAs of a large file with one pass of the compiled core (``core.next_isa``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from pipeline.x12.errors import Problem

WHITESPACE = b" \t\r\n\x0b\x0c"
BOM = b"\xef\xbb\xbf"
_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

# Canonical delimiters used when one chunk mixes interchanges with different delimiters: control bytes
# that are not in the X12 basic or extended character sets, so they never occur in valid data.
CANON_ELEMENT = 0x1D
CANON_COMPONENT = 0x1F
CANON_TERMINATOR = 0x1E
CANON_REPETITION = 0x1C


@dataclass(frozen=True)
class Delimiters:
    """The separators of one interchange, as byte values."""

    element: int
    component: int
    terminator: int
    repetition: int | None

    def translation(self) -> bytes:
        """A ``bytes.translate`` table mapping these delimiters onto the canonical ones.

        Canonical control bytes that happen to occur in the data are mapped to NUL so that they cannot
        act as delimiters after translation.
        """
        table = bytearray(range(256))
        for canon in (CANON_ELEMENT, CANON_COMPONENT, CANON_TERMINATOR, CANON_REPETITION):
            table[canon] = 0
        table[self.element] = CANON_ELEMENT
        table[self.component] = CANON_COMPONENT
        table[self.terminator] = CANON_TERMINATOR
        if self.repetition is not None:
            table[self.repetition] = CANON_REPETITION
        return bytes(table)

    def is_ascii(self) -> bool:
        """Whether every delimiter is a 7-bit byte. A byte of 0x80 or above (NEL 0x85 from an EBCDIC
        conversion) is not a character of its own once the text is read as UTF-8, so such files are
        parsed with their delimiters mapped onto the canonical control bytes first."""
        return all(b < 0x80 for b in (self.element, self.component, self.terminator, self.repetition or 0))


CANONICAL = Delimiters(CANON_ELEMENT, CANON_COMPONENT, CANON_TERMINATOR, CANON_REPETITION)


@dataclass(frozen=True)
class Region:
    """One interchange (or the whole file when it has no ISA): bytes ``[start, end)`` of the file."""

    start: int
    end: int
    delimiters: Delimiters
    bare: bool = False  # no ISA/GS envelope: the file starts at ST


class ScanError(Exception):
    """Raised by the pre-scan when the file cannot be X12 at all."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


_UTF16_ISA = (b"\xff\xfeI\x00S\x00A\x00", b"\xfe\xff\x00I\x00S\x00A", b"I\x00S\x00A\x00", b"\x00I\x00S\x00A")


def starts_like_x12(head: bytes) -> bool:
    """Whether a file's first bytes start an X12 interchange the parser reads: ``ISA`` after an optional
    UTF-8 byte-order mark and whitespace, or ``ISA`` in UTF-16 (with or without its byte-order mark,
    which the parser reads as UTF-8). For a sniff before parsing (the lake's inbox triage)."""
    if head.startswith(_UTF16_ISA):
        return True
    return head.removeprefix(BOM).lstrip(WHITESPACE).startswith(b"ISA")


def _prev_non_ws(data: bytes, pos: int, floor: int) -> int:
    """Index of the last non-whitespace byte before ``pos`` (not below ``floor``), or ``floor - 1``."""
    i = pos - 1
    while i >= floor and data[i] in WHITESPACE:
        i -= 1
    return i


def _is_delimiter_byte(b: int) -> bool:
    return b not in _ALNUM and b != 0x20


def read_isa(data: bytes, pos: int) -> Delimiters:
    """Delimiters of the ISA segment starting at ``pos``: element = byte 4, component = ISA16,
    terminator = the byte after ISA16, repetition = ISA11 when it is a separator (5010), not ``U``."""
    where = dict(segment_id="ISA", byte_offset=pos)
    if len(data) < pos + 4:
        raise ScanError(Problem("truncated ISA segment", **where))
    element = data[pos + 3]
    if not _is_delimiter_byte(element) or element in WHITESPACE:
        raise ScanError(Problem(f"ISA element separator {chr(element)!r} is not a separator", **where))
    # Count 16 element separators rather than assuming the fixed 106-byte width: some senders do not
    # pad ISA fields; both forms are accepted.
    cursor = pos + 3
    starts = []
    for _ in range(16):
        cursor = data.find(bytes([element]), cursor, pos + 400)
        if cursor < 0:
            raise ScanError(Problem("ISA segment has fewer than 16 elements (truncated?)", **where))
        starts.append(cursor + 1)
        cursor += 1
    if len(data) < cursor + 2:
        raise ScanError(Problem("ISA segment is truncated after ISA16", **where))
    component = data[cursor]
    terminator = data[cursor + 1]
    isa11 = data[starts[10] : starts[11] - 1]
    repetition = isa11[0] if len(isa11) == 1 and _is_delimiter_byte(isa11[0]) else None
    seps = [element, component, terminator] + ([repetition] if repetition is not None else [])
    if not _is_delimiter_byte(component) or not (_is_delimiter_byte(terminator) or terminator in b"\r\n"):
        raise ScanError(
            Problem(
                f"ISA16 component separator {chr(component)!r} or segment terminator {chr(terminator)!r} "
                "is not a separator character (or the ISA does not have 16 elements: these are the two "
                "bytes after its 16th element separator)",
                **where,
            )
        )
    if 0 in seps:
        # NUL is the padding of block transfers (dropped from a file's end, which would take a NUL
        # terminator with it), and a NUL element separator miscounted segments in a trial: refused
        raise ScanError(Problem("ISA uses NUL (0x00) as a delimiter, which is not supported", **where))
    if len(set(seps)) != len(seps):
        raise ScanError(Problem("ISA delimiters are not distinct", **where))
    return Delimiters(element, component, terminator, repetition)


def _bare_delimiters(data: bytes, pos: int) -> Delimiters:
    """Delimiters of a file without ISA that starts at ST: element = the byte after ``ST``, terminator =
    the first byte after ST01 that is neither alphanumeric nor the element separator, component = the
    byte after the SVC01 qualifier (``SVC*HC:``) when there is an SVC, else ``:``."""
    element = data[pos + 2]
    where = dict(segment_id="ST", byte_offset=pos, segment_number=1)
    if not _is_delimiter_byte(element):
        raise ScanError(Problem("not an X12 file: no element separator after ST", **where))
    i = pos + 3
    while i < len(data) and (data[i] in _ALNUM or data[i] == element):
        i += 1
    if i >= len(data):
        raise ScanError(Problem("not an X12 file: no segment terminator after ST", **where))
    terminator = data[i]
    component = ord(":")
    svc = data.find(b"SVC" + bytes([element]), pos)
    if svc >= 0 and svc + 6 < len(data) and _is_delimiter_byte(data[svc + 6]):
        component = data[svc + 6]
    if len({element, terminator, component}) != 3:
        raise ScanError(Problem("cannot tell the delimiters of this ST-only file apart", **where))
    return Delimiters(element, component, terminator, None)


def find_regions(data: bytes, start: int, *, compiled: bool = False) -> list[Region]:
    """Split the file into interchanges (from ``start``, after any BOM and leading whitespace).

    A file that starts at ``ST`` (no ISA/GS envelope) is accepted as one bare region. ``compiled``:
    search for the next ISA with the compiled core's ``next_isa`` (the parsers, which have loaded it);
    the same regions as the ``bytes.find`` search, which the inbox's sniffing keeps (it must not load
    numba).
    """
    if data.startswith(b"ST", start) and len(data) > start + 3:
        return [Region(start, len(data), _bare_delimiters(data, start), bare=True)]
    if not data.startswith(b"ISA", start):
        head = data[start : start + 3].decode("latin-1")
        raise ScanError(Problem(f"not an X12 file: it starts with {head!r}, not ISA", 1, start, head or None))
    regions: list[Region] = []
    pos = start
    if compiled:
        import numpy as np

        from pipeline.x12.build import _core

        next_isa, array = _core().next_isa, np.frombuffer(data, np.uint8)
    while True:
        delims = read_isa(data, pos)
        nxt = pos + 106
        while not compiled:
            nxt = data.find(b"ISA", nxt)
            if nxt < 0:
                break
            # a real ISA follows this interchange's terminator (maybe with CR/LF in between)
            prev = _prev_non_ws(data, nxt, pos)
            if prev >= pos and data[prev] == delims.terminator and len(data) > nxt + 3:
                break
            nxt += 3
        if compiled:
            nxt = next_isa(array, nxt, pos, delims.terminator)
        if nxt < 0:
            regions.append(Region(pos, len(data), delims))
            return regions
        regions.append(Region(pos, nxt, delims))
        pos = nxt


def _st_needle(data: bytes, region: Region) -> tuple[bytes, int]:
    """The bytes that precede and open an ST in ``region`` (terminator, the whitespace that follows the
    ISA terminator, ``ST``, element separator) and how far into them the ST starts.

    Only used to choose places to cut large files: an ST written differently is simply not a cut
    candidate.
    """
    d = region.delimiters
    if region.bare:
        needle = bytes([d.terminator]) + b"ST" + bytes([d.element])
    else:
        isa_end = data.find(bytes([d.terminator]), region.start + 105)
        k = isa_end + 1
        while k < region.end and data[k] in WHITESPACE:
            k += 1
        if isa_end >= 0:
            needle = data[isa_end:k] + b"ST" + bytes([d.element])
        else:
            needle = bytes([d.terminator]) + b"ST"
    return needle, len(needle) - 3


class _StFinder:
    """Finds ST segments near given byte positions with a few ``bytes.find``/``rfind`` calls, so that
    planning the cuts of a large file does not scan the whole file."""

    def __init__(self, data: bytes, regions: list[Region]):
        self.data = data
        self.regions = regions
        self.starts = [r.start for r in regions]
        self.needles = [_st_needle(data, r) for r in regions]

    def last_in(self, lo: int, hi: int) -> int | None:
        """The last ST start ``s`` with ``lo < s <= hi``."""
        k = bisect.bisect_right(self.starts, hi) - 1
        while k >= 0 and self.regions[k].end > lo:
            r = self.regions[k]
            needle, skip = self.needles[k]
            pos = self.data.rfind(needle, max(r.start, lo - skip + 1), min(r.end, hi - skip + len(needle)))
            if pos >= 0:
                return pos + skip
            k -= 1
        return None

    def first_after(self, lo: int) -> int | None:
        """The first ST start ``s > lo``."""
        k = max(0, bisect.bisect_right(self.starts, lo) - 1)
        while k < len(self.regions):
            r = self.regions[k]
            needle, skip = self.needles[k]
            pos = self.data.find(needle, max(r.start, lo - skip + 1), r.end)
            if pos >= 0:
                return pos + skip
            k += 1
        return None


def plan_chunks(data: bytes, regions: list[Region], max_chunk_bytes: int) -> list[tuple[int, int]]:
    """Byte ranges ``[a, b)`` covering ``regions`` end to end, each cut just before an ST segment and
    at most ``max_chunk_bytes`` long unless one transaction alone is longer.

    Greedy: each cut is the last ST that keeps the piece within the budget (the envelope before the
    file's first ST stays with it), or the next ST when one transaction alone is larger. Only the
    neighbourhood of each cut is searched; how many transactions each piece holds is counted by the
    parse itself.
    """
    begin, end = regions[0].start, regions[-1].end
    if end - begin <= max_chunk_bytes:
        return [(begin, end)]
    finder = _StFinder(data, regions)
    first = finder.first_after(begin - 1)
    cuts = [begin]
    while first is not None and end - cuts[-1] > max_chunk_bytes:
        lo = max(cuts[-1], first)
        st = finder.last_in(lo, cuts[-1] + max_chunk_bytes)
        if st is None:
            st = finder.first_after(max(lo, cuts[-1] + max_chunk_bytes))
        if st is None:
            break
        cuts.append(st)
    bounds = cuts + [end]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
