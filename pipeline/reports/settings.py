"""The report's own settings, read in one place: ``report.toml`` of the package, then the home's.

The package's ``pipeline/reports/report.toml`` holds every key with its default and a comment saying what
it means; ``<home>/report.toml``, when present, overrides the keys it names. A key remit does not know or
a value of the wrong kind raises :class:`pipeline.settings.SettingError` naming the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.settings import SettingError

FILE = "report.toml"
# the headline figures a target may be set for (columns of marts.report_kpi_month / report_kpi_mtd)
TARGET_FIGURES = ("denial_rate_count", "first_pass_yield", "median_days_to_pay")
ATTENTION_KEYS = (
    "past_deadline_items",
    "due_in_14_days_items",
    "payer_rise_points",
    "new_code_dollars",
    "rising_code_dollars",
)


@dataclass(frozen=True)
class Target:
    """At least ``min`` and/or at most ``max`` (either may be None)."""

    min: Decimal | None = None
    max: Decimal | None = None

    def missed(self, value: Decimal | int | None) -> str | None:
        """'below' or 'above' when ``value`` misses the target, else None (no value: no verdict)."""
        if value is None:
            return None
        if self.min is not None and Decimal(value) < self.min:
            return "below"
        if self.max is not None and Decimal(value) > self.max:
            return "above"
        return None


@dataclass(frozen=True)
class ReportSettings:
    """The report's settings after the home's file is laid over the package's defaults."""

    organisation: str = ""
    targets: dict[str, Target] = field(default_factory=dict)
    attention: dict[str, Decimal] = field(default_factory=dict)
    source: str = ""  # the files read, for messages


def _default_text() -> str:
    return resources.files("pipeline.reports").joinpath(FILE).read_text(encoding="utf-8")


def _read(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingError(where, "(file)", f"a TOML file ({exc})") from exc


def _number(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingError(where, value, "a number")
    return Decimal(str(value))


def _merge(base: dict[str, Any], over: dict[str, Any], where: str) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if key not in base:
            raise SettingError(f"{where}: {key}", value, f"one of {', '.join(sorted(base))}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise SettingError(f"{where}: {key}", value, "a table")
            out[key] = (
                _merge(base[key], value, f"{where}: {key}") if key != "targets" else {**base[key], **value}
            )
        else:
            out[key] = value
    return out


def load_report_settings(home_root: str | Path | None) -> ReportSettings:
    """The package's defaults with ``<home_root>/report.toml`` laid over them (when it exists)."""
    merged = _read(_default_text(), f"pipeline/reports/{FILE}")
    source = f"pipeline/reports/{FILE}"
    path = Path(home_root) / FILE if home_root is not None else None
    if path is not None and path.is_file():
        merged = _merge(merged, _read(path.read_text(encoding="utf-8"), str(path)), str(path))
        source += f", {path}"
    organisation = merged.get("organisation", "")
    if not isinstance(organisation, str):
        raise SettingError(f"{source}: organisation", organisation, "a text")
    targets: dict[str, Target] = {}
    for name, spec in merged["targets"].items():
        where = f"{source}: targets.{name}"
        if name not in TARGET_FIGURES:
            raise SettingError(where, spec, f"a target for one of {', '.join(TARGET_FIGURES)}")
        if not isinstance(spec, dict) or not spec or set(spec) - {"min", "max"}:
            raise SettingError(where, spec, "{ min = N } and/or { max = N }")
        targets[name] = Target(
            _number(spec["min"], where) if "min" in spec else None,
            _number(spec["max"], where) if "max" in spec else None,
        )
    attention = {k: _number(v, f"{source}: attention.{k}") for k, v in merged["attention"].items()}
    return ReportSettings(organisation.strip(), targets, attention, source)
