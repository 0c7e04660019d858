"""The one exception type the parser raises, and the two rules every message it carries follows.

- **One line each**: control characters (CR, LF, NUL, ESC, C1, Unicode line separators) are written as
  escapes (``escape_controls``), whatever a segment id or value holds. A file wrapped at 80 columns
  puts CR LF inside ids and values; a rejected file still takes one line per problem.
- **No patient data**: a message never quotes an element value unless it has a shape no name, member
  id or birth date has (``shown_value``). When a segment terminator is lost the parser reads the next
  segment's values in the wrong places (a patient's name as a CAS amount), and messages are stored in
  the lake's manifest and quarantine notes, which are not patient data stores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PROBLEMS = 20

# C0 controls, DEL, C1 controls and the Unicode line and paragraph separators: every character that
# can end or rewrite a line in a terminal, a log or ``str.splitlines``.
_NAMED = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}
_CONTROLS = {c: _NAMED.get(chr(c), f"\\x{c:02x}") for c in (*range(0x20), *range(0x7F, 0xA0))} | {
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def escape_controls(text: str) -> str:
    """``text`` with every control character written as an escape (``\\r``, ``\\x00``, ``\\u2028``)."""
    return text.translate(_CONTROLS)


# Shapes that are quoted as they are (see ``shown_value``): an amount with a sign or a decimal point
# (digits alone may be a member id or a birth date), a date of this or the last century, a numeric
# control number of at most 9 digits (ISA13, GS06, ST02, counts), a 3-digit transaction set id.
_QUOTABLE = {
    "amount": re.compile(r"[+-]?[0-9]{0,16}\.[0-9]{0,6}|[+-][0-9]{0,16}"),
    "date": re.compile(r"(19|20)[0-9]{6}"),
    "control": re.compile(r"[0-9]{1,9}"),
    "code": re.compile(r"[0-9]{3}"),
}
_SHAPE_MAX = 20


def value_shape(value: str) -> str:
    """``value`` with each letter written ``A`` and each digit ``9`` (punctuation kept, control
    characters escaped, anything else ``?``), cut after 20 characters."""
    out = []
    for ch in value[:_SHAPE_MAX]:
        if ch.isdigit():
            out.append("9")
        elif ch.isalpha():
            out.append("A")
        elif ch == " ":
            out.append("_")
        elif ord(ch) < 0x7F and ch.isprintable():
            out.append(ch)
        elif ord(ch) in _CONTROLS:
            out.append(escape_controls(ch))
        else:
            out.append("?")
    return "".join(out) + ("…" if len(value) > _SHAPE_MAX else "")


def shown_value(value: str | None, kind: str) -> str:
    """How a message shows an element value: quoted when it has the plain shape of a ``kind``
    (``amount``, ``date``, ``control``, ``code``) value, else only its length and shape.

    ``1.234`` (three decimals) is quoted; ``MARTIN`` or ``123456789012345678`` read as an amount are
    shown as ``[not shown: 6 characters shaped AAAAAA]``: enough to see what is wrong, nothing to
    identify anyone by.
    """
    if value is None:
        return "(missing)"
    if _QUOTABLE[kind].fullmatch(value):
        return repr(value)
    return f"[not shown: {len(value)} characters shaped {value_shape(value)}]"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as the parser could."""

    message: str
    segment_number: int | None = None  # 1-based position of the segment in the file
    byte_offset: int | None = None  # offset of the segment's first byte in the file
    segment_id: str | None = None

    def __post_init__(self) -> None:
        # one line per problem, whoever built it (frozen: set through object.__setattr__)
        object.__setattr__(self, "message", escape_controls(self.message))
        if self.segment_id is not None:
            object.__setattr__(self, "segment_id", escape_controls(self.segment_id))

    def as_dict(self) -> dict[str, object]:
        return {
            "segment_number": self.segment_number,
            "byte_offset": self.byte_offset,
            "segment_id": self.segment_id,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = []
        if self.segment_number is not None:
            where.append(f"segment {self.segment_number}")
        if self.segment_id:
            where.append(self.segment_id)
        if self.byte_offset is not None:
            where.append(f"byte {self.byte_offset}")
        return f"{' '.join(where)}: {self.message}" if where else self.message


class X12ParseError(Exception):
    """A file that cannot be loaded: names the file and lists its problems (up to ``MAX_PROBLEMS``)."""

    def __init__(self, source: str, problems: list[Problem], total: int | None = None):
        # ``total``: how many problems were found in all, when only some were materialised
        self.source = source
        self.problems = problems[:MAX_PROBLEMS]
        self.more = max(0, max(total or 0, len(problems)) - len(self.problems))
        super().__init__(self._render())

    @property
    def first(self) -> Problem:
        return self.problems[0]

    def _render(self) -> str:
        source = escape_controls(self.source)  # a file name may hold a newline too
        lines = [f"{source}: {p}" for p in self.problems]
        if self.more:
            lines.append(f"{source}: … and {self.more} more problems")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form (used for quarantine ``.error.json`` files)."""
        first = self.first
        return {
            "file": self.source,
            "segment_number": first.segment_number,
            "byte_offset": first.byte_offset,
            "segment_id": first.segment_id,
            "message": first.message,
            "problems": [p.as_dict() for p in self.problems],
            "more_problems": self.more,
        }
