"""A benchmark figure with its target, and how the runner prints it.

Every stage of ``python -m pipeline.bench`` returns a list of :class:`Figure`; the runner prints each one
as it comes and all of them again at the end, in one table, with the target and the ratio
measured / target, so a reader sees at once what holds and by how much.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

LOWER = "lower"  # the figure must stay at or under its target (seconds, bytes)
HIGHER = "higher"  # the figure must reach its target (throughput, speed-up)


@dataclass(frozen=True)
class Figure:
    """One measured figure of a stage: ``value`` in ``unit`` against ``target`` (None: informational)."""

    stage: str
    name: str
    value: float
    unit: str
    target: float | None = None
    better: str = LOWER
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """measured / target (for a LOWER figure under 1 holds; for a HIGHER one, 1 or more holds)."""
        if self.target is None or self.target == 0:
            return None
        return self.value / self.target

    @property
    def met(self) -> bool | None:
        """Whether the target holds (None without a target)."""
        if self.target is None:
            return None
        return self.value <= self.target if self.better == LOWER else self.value >= self.target

    def line(self) -> str:
        """One printed line: name, value, target, ratio and verdict."""
        text = f"{self.stage} | {self.name}: {_number(self.value)} {self.unit}"
        if self.target is None:
            text += " | no target (informational)"
        else:
            sign = "<=" if self.better == LOWER else ">="
            verdict = "met" if self.met else "MISSED"
            target = f"target {sign} {_number(self.target)} {self.unit}"
            text += f" | {target} | ratio {self.ratio:.2f} | {verdict}"
        return text + (f" | {self.note}" if self.note else "")


def _number(value: float) -> str:
    if value == int(value) and abs(value) >= 10:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as printed beside every run."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def table(figures: list[Figure]) -> str:
    """Every figure, one line each, then a count of the targets met and missed."""
    targets = [f for f in figures if f.target is not None]
    missed = [f for f in targets if not f.met]
    lines = [f.line() for f in figures]
    lines.append(
        f"{len(targets) - len(missed)} of {len(targets)} targets met"
        + (f"; missed: {', '.join(f'{f.stage} {f.name}' for f in missed)}" if missed else "")
    )
    return "\n".join(lines)
