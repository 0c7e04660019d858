"""Reading a code as a biller types it, and the reference half of a handbook entry (the ``ref.*`` tables).

A biller types ``CO-289``, ``co289``, ``289``, ``045``, ``N10`` or ``ma130``. :func:`parse_code` turns that
into an optional group code and a code; :class:`Reference` answers what the code means from the ``ref``
schema: the warehouse's own (which includes any imported official list) or, without a warehouse, an
in-memory copy loaded from the seeds by :func:`pipeline.reference.load_reference`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import duckdb

from pipeline.reference.tables import typical_rarc_codes

GROUP_CODES = ("CO", "PR", "OA", "PI")
# CR is the legacy 4010 group: accepted in a query so an old remittance can be looked up.
QUERY_GROUPS = (*GROUP_CODES, "CR")
_SHAPE = re.compile(r"^(?P<prefix>[A-Z]*)(?P<number>\d*)$")


class UnknownCodeError(LookupError):
    """The code is in neither the CARC nor the RARC list, nor seen in the warehouse."""

    def __init__(self, query: str, suggestions: list[str], reason: str | None = None):
        self.query = query
        self.suggestions = suggestions
        self.reason = reason
        super().__init__(self.message())

    def message(self) -> str:
        """The text the ``remit code`` command prints."""
        head = self.reason or f"unknown code {self.query!r}: not a CARC or RARC in the reference lists"
        if self.suggestions:
            return f"{head}\nnearest codes: {', '.join(self.suggestions)}"
        return head


@dataclass(frozen=True)
class ParsedCode:
    """A query split into its optional group code and the code itself (upper case, CARC zeros dropped)."""

    query: str
    group_code: str | None
    code: str


def _strip_zeros(code: str) -> str:
    """``045`` -> ``45``: CARCs are sent without zero padding (the seeds use the same spelling)."""
    return (code.lstrip("0") or "0") if code.isdigit() else code


def parse_code(query: str) -> ParsedCode:
    """Split ``CO-289`` / ``co289`` / ``CO 289`` / ``289`` / ``N10`` into group and code.

    No CARC or RARC begins with CO, PR, OA, PI or CR, so a leading pair of those letters is always a group.
    """
    text = re.sub(r"[\s_]+", "", query.strip().upper())
    group = None
    if len(text) > 2 and text[:2] in QUERY_GROUPS:
        group, text = text[:2], text[2:].lstrip("-:")
    return ParsedCode(query=query, group_code=group, code=_strip_zeros(text.strip("-")))


def _key(code: str) -> tuple[str, int | None]:
    m = _SHAPE.match(code)
    if not m:
        return code, None
    return m.group("prefix"), int(m.group("number")) if m.group("number") else None


def nearest_codes(code: str, known: list[str], limit: int = 8) -> list[str]:
    """Codes a biller may have meant: close spellings (difflib) first, then same-prefix numeric neighbours."""
    picks = difflib.get_close_matches(code, known, n=5, cutoff=0.4)
    prefix, number = _key(code)
    same = [(k, _key(k)[1]) for k in known if _key(k)[0] == prefix and _key(k)[1] is not None]
    if number is not None and same:
        same.sort(key=lambda kn: (abs(kn[1] - number), kn[1]))
        picks += [k for k, _ in same[:4]]
    elif not picks and prefix:
        # no digits typed (e.g. "XYZ"): fall back to codes sharing its first letter
        picks += sorted((k for k in known if k.startswith(prefix[0])), key=lambda k: _key(k)[1] or 0)[:4]
    out: list[str] = []
    for k in picks:
        if k not in out and k != code:
            out.append(k)
    return out[:limit]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


class Reference:
    """The CARC/RARC reference tables of one ``ref`` schema, read once into dictionaries."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.carc = {r["code"]: r for r in _rows(con, "SELECT * FROM ref.carc ORDER BY code")}
        self.rarc = {r["code"]: r for r in _rows(con, "SELECT * FROM ref.rarc ORDER BY code")}
        self.groups = {r["code"]: r for r in _rows(con, "SELECT * FROM ref.group_codes")}
        self.guidance: dict[str, dict[str, dict[str, Any]]] = {}
        for r in _rows(con, "SELECT * FROM ref.carc_group_guidance"):
            self.guidance.setdefault(r["reason_code"], {})[r["group_code"]] = r
        # which CARCs name a RARC among their typical remarks (the reverse of carc.typical_rarcs)
        self.carcs_by_rarc: dict[str, list[str]] = {}
        for code, r in self.carc.items():
            for rarc in typical_rarc_codes(r["typical_rarcs"]):
                self.carcs_by_rarc.setdefault(rarc, []).append(code)

    def kind_of(self, code: str) -> str | None:
        """``CARC``, ``RARC`` or None for a code in neither list."""
        if code in self.carc:
            return "CARC"
        if code in self.rarc:
            return "RARC"
        return None

    def all_codes(self) -> list[str]:
        """Every CARC and RARC, for suggestions."""
        return [*self.carc, *self.rarc]

    @staticmethod
    def looks_like_rarc(code: str) -> bool:
        """RARCs are M, MA or N plus digits; every other shape is read as a CARC."""
        return re.fullmatch(r"(M|MA|N)\d+", code) is not None


def sort_codes(codes: list[str]) -> list[str]:
    """Numeric CARCs in numeric order, then lettered codes by prefix and number (A1, B7, B15, N10, N115)."""

    def key(code: str) -> tuple[int, str, int, str]:
        prefix, number = _key(code)
        return (1 if prefix else 0, prefix, number if number is not None else -1, code)

    return sorted(codes, key=key)
