"""Every setting remit reads, read once and checked in one place.

A :class:`Settings` is built from the environment (``REMIT_*`` variables) and the command line's options
by :func:`load_settings`. A malformed value raises :class:`SettingError`, whose message names the setting,
the value and what is expected; the command line prints it and exits 1.

Library code asks :func:`get_settings` for the values it needs. The ``remit`` command builds its
settings once and installs them for the length of the command (:func:`use_settings`), so every module of
one run sees the same values; library code called without the command line (tests, notebooks) gets the
settings of the current environment, read at the call.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOME = "./remit-data"
DEFAULT_SETTLE_SECONDS = 5.0
DEFAULT_MAX_FILE_BYTES = 1 << 30
DEFAULT_LAKE_COMMIT_FILES = 1000
DEFAULT_LAKE_POOL_MIN_BYTES = 8 << 20
DEFAULT_WAREHOUSE_MEMORY = "2GB"
# DuckDB's cap for the work of an incremental night (its build and the warehouse checks) when
# REMIT_WAREHOUSE_MEMORY is not set: the scope is small, and the whole night must stay under 2 GB
DEFAULT_NIGHT_MEMORY = "1GB"
DEFAULT_SPARK_SHUFFLE_PARTITIONS = 4

MAX_SETTLE_SECONDS = 86_400.0  # a day: a longer wait would hold every file past the next night
MAX_BYTES = (1 << 63) - 1
MAX_COMMIT_FILES = 1_000_000
MAX_SHUFFLE_PARTITIONS = 100_000
# DuckDB's memory_limit syntax: a number and a unit (KB, MB, GB, TB, KiB … TiB, B), or a percentage of RAM
_MEMORY = re.compile(r"(\d+(\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB|%)", re.IGNORECASE)

# every REMIT_* variable remit reads -> its attribute of Settings
KNOWN: dict[str, str] = {
    "REMIT_HOME": "home",
    "REMIT_INBOX_SETTLE_SECONDS": "inbox_settle_seconds",
    "REMIT_MAX_FILE_BYTES": "max_file_bytes",
    "REMIT_LAKE_COMMIT_FILES": "lake_commit_files",
    "REMIT_LAKE_POOL_MIN_BYTES": "lake_pool_min_bytes",
    "REMIT_WAREHOUSE_MEMORY": "warehouse_memory",
    "REMIT_SPARK_SHUFFLE_PARTITIONS": "spark_shuffle_partitions",
}


class SettingError(ValueError):
    """A setting has a value remit cannot use: names the setting, the value and what is expected."""

    def __init__(self, name: str, value: object, expected: str):
        self.name, self.value, self.expected = name, value, expected
        super().__init__(f"{name}={value!r} is not a valid setting: expected {expected}")


@dataclass(frozen=True)
class Settings:
    """Every setting of one remit process, checked (see docs/operations.md, "Settings")."""

    home: Path = field(default_factory=lambda: Path(DEFAULT_HOME).absolute())
    # True when the home was named (--home or REMIT_HOME), False for the ./remit-data default
    home_given: bool = False
    inbox_settle_seconds: float = DEFAULT_SETTLE_SECONDS
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    lake_commit_files: int = DEFAULT_LAKE_COMMIT_FILES
    lake_pool_min_bytes: int = DEFAULT_LAKE_POOL_MIN_BYTES
    warehouse_memory: str = DEFAULT_WAREHOUSE_MEMORY
    # True when REMIT_WAREHOUSE_MEMORY was set: it then caps incremental nights too (``duckdb_memory``)
    warehouse_memory_given: bool = False
    spark_shuffle_partitions: int = DEFAULT_SPARK_SHUFFLE_PARTITIONS
    # REMIT_* variables in the environment that remit does not know (typos), with the nearest known name
    unknown: tuple[tuple[str, str | None], ...] = ()

    def duckdb_memory(self, *, full: bool) -> str:
        """DuckDB's ``memory_limit`` for a full build (``full``) or for an incremental night's build and
        the warehouse checks: ``REMIT_WAREHOUSE_MEMORY`` when set, else 2GB and 1GB."""
        if self.warehouse_memory_given or full:
            return self.warehouse_memory
        return DEFAULT_NIGHT_MEMORY


def _home(name: str, raw: str) -> Path:
    """An absolute home path; empty, blank-edged or NUL-holding values and existing non-folders refused."""
    if not raw.strip():
        raise SettingError(name, raw, "a folder path (it is empty; unset it to use ./remit-data)")
    if raw != raw.strip():
        raise SettingError(name, raw, "a folder path without leading or trailing spaces")
    if "\0" in raw:
        raise SettingError(name, raw, "a folder path without NUL characters")
    path = Path(raw).expanduser().absolute()
    if path.exists() and not path.is_dir():
        raise SettingError(name, raw, f"a folder, but {path} is a file")
    return path


def _number(name: str, raw: str, *, low: float, high: float, whole: bool, unit: str) -> float:
    text = raw.strip()
    bounds = f"from {int(low):,} to {int(high):,}"
    expected = f"{'a whole number' if whole else 'a number'} of {unit} {bounds}"
    try:
        value: float = int(text) if whole and text.lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise SettingError(name, raw, expected) from None
    if isinstance(value, float) and not math.isfinite(value):  # nan, inf
        raise SettingError(name, raw, expected)
    if not low <= value <= high or (whole and value != int(value)):
        raise SettingError(name, raw, expected)
    return value


_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS.update({"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40})
MIN_WAREHOUSE_MEMORY = 64 * 10**6  # below this DuckDB fails the build ("Out of Memory") instead of spilling


def _memory(name: str, raw: str) -> str:
    text = raw.strip()
    match = _MEMORY.fullmatch(text)
    expected = "a memory size for DuckDB of at least 64MB, such as 2GB, 1500MB, 4GiB, or a share of RAM (50%)"
    if not match:
        raise SettingError(name, raw, expected)
    number, unit = float(match.group(1)), match.group(3).upper()
    if unit == "%":
        if not 0 < number <= 100:
            raise SettingError(name, raw, expected)
    elif number * _UNITS[unit] < MIN_WAREHOUSE_MEMORY:
        raise SettingError(name, raw, expected)
    return text


def load_settings(
    environ: Mapping[str, str] | None = None, *, home: str | os.PathLike[str] | None = None
) -> Settings:
    """Build and check the settings from ``environ`` (default ``os.environ``) and the ``--home`` option.

    ``home`` (the command line's ``--home``) wins over ``REMIT_HOME``; an empty value of either is an
    error, not the current folder. Raises :class:`SettingError` for the first malformed value.
    """
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    if home is not None:
        values["home"], values["home_given"] = _home("--home", os.fspath(home)), True
    elif "REMIT_HOME" in env:
        values["home"], values["home_given"] = _home("REMIT_HOME", env["REMIT_HOME"]), True
    numbers = {
        "REMIT_INBOX_SETTLE_SECONDS": (0, MAX_SETTLE_SECONDS, False, "seconds"),
        "REMIT_MAX_FILE_BYTES": (1, MAX_BYTES, True, "bytes"),
        "REMIT_LAKE_COMMIT_FILES": (1, MAX_COMMIT_FILES, True, "files"),
        "REMIT_LAKE_POOL_MIN_BYTES": (0, MAX_BYTES, True, "bytes"),
        "REMIT_SPARK_SHUFFLE_PARTITIONS": (1, MAX_SHUFFLE_PARTITIONS, True, "partitions"),
    }
    for name, (low, high, whole, unit) in numbers.items():
        if name in env:
            value = _number(name, env[name], low=low, high=high, whole=whole, unit=unit)
            values[KNOWN[name]] = int(value) if whole else value
    if "REMIT_WAREHOUSE_MEMORY" in env:
        values["warehouse_memory"] = _memory("REMIT_WAREHOUSE_MEMORY", env["REMIT_WAREHOUSE_MEMORY"])
        values["warehouse_memory_given"] = True
    unknown = tuple(
        (name, _nearest(name)) for name in sorted(env) if name.startswith("REMIT_") and name not in KNOWN
    )
    return Settings(**values, unknown=unknown)  # type: ignore[arg-type]


def _nearest(name: str) -> str | None:
    """The known setting a misspelt ``name`` most likely meant (compared without the REMIT_ prefix)."""
    tails = {known[len("REMIT_") :]: known for known in KNOWN}
    match = difflib.get_close_matches(name[len("REMIT_") :], tails, n=1, cutoff=0.7)
    return tails[match[0]] if match else None


_active: Settings | None = None


def get_settings() -> Settings:
    """The settings of this process: those the ``remit`` command installed, else the environment's now."""
    return _active if _active is not None else load_settings()


@contextmanager
def use_settings(settings: Settings) -> Iterator[Settings]:
    """Make ``settings`` what :func:`get_settings` returns until the block ends (the command's length)."""
    global _active
    previous, _active = _active, settings
    try:
        yield settings
    finally:
        _active = previous
