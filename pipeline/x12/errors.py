"""The one exception type the parser raises."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as the parser could."""

    message: str
    segment_number: int | None = None  # 1-based position of the segment in the file
    byte_offset: int | None = None  # offset of the segment's first byte in the file
    segment_id: str | None = None

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
        lines = [f"{self.source}: {p}" for p in self.problems]
        if self.more:
            lines.append(f"{self.source}: … and {self.more} more problems")
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
