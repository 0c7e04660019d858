"""Import an official CARC/RARC code list the user has licensed, and keep it in the remit home.

Two input formats:

- CSV with columns ``list, code, status, description`` and optional ``start, last_modified, stop``
  (dates MM/DD/YYYY or ISO). ``list`` is CARC or RARC per row.
- CMS/ResDAC text: one code per line, ``001 = Deductible Amount``. Lines that do not start with a code
  and ``=`` continue the previous description. The text carries no status and no dates. Which list it
  is comes from ``list_name`` (``--list``), or else from the code shapes: RARCs look like ``M1``,
  ``MA01``, ``N290``; anything else numeric or ``A1``/``B15``/``P3``-like is a CARC. A file mixing both
  shapes needs ``--list``.

All-digit CARC codes are normalised by dropping zero padding (``001`` -> ``1``); letter CARCs
(``A1``, ``B15``) and RARCs (``MA01``) are kept as written, upper-cased. The normalised list is stored as
``<home>/reference/official_<list>.csv`` (one file per list; a new import of a list replaces it, since a
published list is complete). The repository is never written.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.csvrows import checked_rows, dict_reader, read_text
from pipeline.home import Home

LISTS = ("CARC", "RARC")
_RARC_SHAPE = re.compile(r"^(M|MA|N)\d{1,4}$")
_CARC_SHAPE = re.compile(r"^(\d{1,3}|[A-LO-Z]\d{1,2})$")  # no CARC starts with M or N (RARC letters)
_TEXT_LINE = re.compile(r"^\s*([A-Za-z]{0,2}\d{1,4})\s*=\s*(.*?)\s*$")
_STATUS_MAP = {
    "current": "current",
    "active": "current",
    "tobe_deactivated": "current",  # still valid until its stop date
    "to be deactivated": "current",
    "deactivated": "deactivated",
    "inactive": "deactivated",
    "stopped": "deactivated",
}
STORE_COLUMNS = ["list", "code", "status", "description", "start_date", "last_modified_date", "stop_date"]


class CodeListError(ValueError):
    """The file is not a code list remit can read (the message says which line and why)."""


@dataclass(frozen=True)
class OfficialCode:
    """One code of an imported official list (status empty when the format has none)."""

    list: str
    code: str
    status: str | None
    description: str
    start_date: dt.date | None = None
    last_modified_date: dt.date | None = None
    stop_date: dt.date | None = None


@dataclass
class ImportResult:
    """What ``import_code_list`` did."""

    source: Path
    fmt: str
    counts: dict[str, int] = field(default_factory=dict)
    stored: list[Path] = field(default_factory=list)
    warehouse_refreshed: bool = False
    note: str | None = None  # how the file was read, when it was not UTF-8 (``read_text``)

    def summary(self) -> str:
        """One line for the CLI."""
        lists = ", ".join(f"{n} {name}" for name, n in self.counts.items())
        where = (
            "; refreshed ref.* in the warehouse"
            if self.warehouse_refreshed
            else ("; no warehouse yet (the next build picks it up)")
        )
        return (
            f"imported {lists} codes from {self.source.name} ({self.fmt}) -> "
            + ", ".join(str(p) for p in self.stored)
            + where
            + (f"; {self.note}" if self.note else "")
        )


def normalise_code(code: str, list_name: str) -> str:
    """Upper-case, strip, and drop zero padding from all-digit CARCs (``001`` -> ``1``)."""
    code = code.strip().upper()
    if list_name == "CARC" and code.isdigit():
        code = str(int(code))
    return code


def parse_date(raw: str | None, where: str) -> dt.date | None:
    """Parse MM/DD/YYYY or ISO YYYY-MM-DD; empty means unknown."""
    raw = (raw or "").strip()
    if not raw:
        return None
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise CodeListError(f"{where}: date {raw!r} is neither MM/DD/YYYY nor YYYY-MM-DD")


def _status(raw: str | None, where: str) -> str | None:
    raw = (raw or "").strip().lower()
    if not raw:
        return None
    if raw not in _STATUS_MAP:
        raise CodeListError(f"{where}: status {raw!r} is not current/deactivated")
    return _STATUS_MAP[raw]


def _check_shape(code: str, list_name: str, where: str) -> None:
    shape = _CARC_SHAPE if list_name == "CARC" else _RARC_SHAPE
    if not shape.match(code):
        raise CodeListError(f"{where}: {code!r} does not look like a {list_name}")


# the CSV format's columns (start, last_modified and stop are optional)
REQUIRED = ("list", "code", "status", "description")


def parse_csv_list(path: Path, text: str) -> list[OfficialCode]:
    """Read the CSV format (``list, code, status, description`` [, ``start, last_modified, stop``]) of
    ``path``, whose ``text`` is given (``read_text``)."""
    reader = dict_reader(text)
    missing = set(REQUIRED) - set(reader.fieldnames)
    if missing:
        raise CodeListError(f"{path.name}: CSV lacks column(s) {', '.join(sorted(missing))}")
    out: list[OfficialCode] = []
    for lineno, row in checked_rows(reader, lambda line: f"{path.name}:{line}", REQUIRED, CodeListError):
        where = f"{path.name}:{lineno}"
        list_name = (row["list"] or "").strip().upper()
        if list_name not in LISTS:
            raise CodeListError(f"{where}: list {row['list']!r} is not CARC or RARC")
        code = normalise_code(row["code"] or "", list_name)
        _check_shape(code, list_name, where)
        out.append(
            OfficialCode(
                list=list_name,
                code=code,
                status=_status(row["status"], where),
                description=(row["description"] or "").strip(),
                start_date=parse_date(row.get("start"), where),
                last_modified_date=parse_date(row.get("last_modified"), where),
                stop_date=parse_date(row.get("stop"), where),
            )
        )
    return out


def infer_list(codes: list[str]) -> str:
    """Tell CARC from RARC by code shape; raise when the shapes are mixed or unknown."""
    rarc = sum(1 for c in codes if _RARC_SHAPE.match(c))
    carc = sum(1 for c in codes if _CARC_SHAPE.match(c) and not _RARC_SHAPE.match(c))
    if codes and rarc == len(codes):
        return "RARC"
    if codes and carc == len(codes):
        return "CARC"
    raise CodeListError(
        f"cannot tell whether the list is CARC or RARC ({carc} CARC-shaped, {rarc} RARC-shaped, "
        f"{len(codes) - carc - rarc} neither): pass --list CARC or --list RARC"
    )


def parse_text_list(path: Path, text: str, list_name: str | None = None) -> list[OfficialCode]:
    """Read the CMS/ResDAC text format (``001 = Deductible Amount`` per line) of ``path``, whose ``text``
    is given (``read_text``)."""
    entries: list[list[str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        m = _TEXT_LINE.match(line)
        if m:
            entries.append([m.group(1), m.group(2), str(lineno)])
        elif entries:  # a wrapped description continues on the next line
            entries[-1][1] = f"{entries[-1][1]} {line.strip()}".strip()
    if not entries:
        raise CodeListError(f"{path.name}: no 'code = description' lines found")
    if list_name is None:
        list_name = infer_list([e[0].strip().upper() for e in entries])
    out: list[OfficialCode] = []
    seen: set[str] = set()
    for raw_code, desc, lineno in entries:
        where = f"{path.name}:{lineno}"
        code = normalise_code(raw_code, list_name)
        _check_shape(code, list_name, where)
        if code in seen:
            raise CodeListError(f"{where}: code {code} appears twice")
        seen.add(code)
        out.append(OfficialCode(list=list_name, code=code, status=None, description=desc))
    return out


def _store_path(home: Home, list_name: str) -> Path:
    return home.root / "reference" / f"official_{list_name.lower()}.csv"


def _iso(d: dt.date | None) -> str:
    return d.isoformat() if d else ""


def store_official(home: Home, codes: list[OfficialCode]) -> list[Path]:
    """Write one normalised CSV per list under ``<home>/reference/`` (atomic replace)."""
    paths = []
    for list_name in LISTS:
        rows = [c for c in codes if c.list == list_name]
        if not rows:
            continue
        path = _store_path(home, list_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(STORE_COLUMNS)
            for c in rows:
                writer.writerow(
                    [
                        c.list,
                        c.code,
                        c.status or "",
                        c.description,
                        _iso(c.start_date),
                        _iso(c.last_modified_date),
                        _iso(c.stop_date),
                    ]
                )
        tmp.replace(path)
        paths.append(path)
    return paths


def read_official(home: Home, list_name: str) -> list[OfficialCode]:
    """The stored official list for ``list_name`` (empty when none was imported)."""
    path = _store_path(home, list_name)
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return [
            OfficialCode(
                list=r["list"],
                code=r["code"],
                status=r["status"] or None,
                description=r["description"],
                start_date=parse_date(r["start_date"], path.name),
                last_modified_date=parse_date(r["last_modified_date"], path.name),
                stop_date=parse_date(r["stop_date"], path.name),
            )
            for r in csv.DictReader(fh)
        ]


def _looks_like_csv(text: str) -> bool:
    """A CSV list has ``list`` and ``code`` among the fields of its first line."""
    return {"list", "code"} <= set(dict_reader(text).fieldnames)


def import_code_list(path: Path, home: Home, list_name: str | None = None) -> ImportResult:
    """Import an official code list into ``home`` and refresh ``ref.*`` in an existing warehouse.

    ``list_name`` (CARC or RARC) is only needed for a text file whose codes do not tell (see module doc).
    """
    path = Path(path)
    if list_name is not None:
        list_name = list_name.upper()
        if list_name not in LISTS:
            raise CodeListError(f"--list must be CARC or RARC, not {list_name!r}")
    text, note = read_text(path)
    if _looks_like_csv(text):
        fmt = "csv"
        codes = parse_csv_list(path, text)
        if list_name is not None:
            codes = [c for c in codes if c.list == list_name]
    else:
        fmt = "text"
        codes = parse_text_list(path, text, list_name)
    if not codes:
        raise CodeListError(f"{path.name}: no codes to import")
    seen: set[tuple[str, str]] = set()
    dupes = {(c.list, c.code) for c in codes if (c.list, c.code) in seen or seen.add((c.list, c.code))}
    if dupes:
        raise CodeListError(f"{path.name}: duplicate codes {sorted(dupes)[:5]}")
    result = ImportResult(source=path, fmt=fmt, note=note)
    for list_name_ in LISTS:
        n = sum(1 for c in codes if c.list == list_name_)
        if n:
            result.counts[list_name_] = n
    import duckdb

    from pipeline.lake import run_lock
    from pipeline.reference.loader import load_reference

    # The run lock keeps the import from racing a nightly build (which reloads ref.* itself).
    with run_lock(home):
        result.stored = store_official(home, codes)
        if home.warehouse.exists():
            con = duckdb.connect(str(home.warehouse))
            try:
                load_reference(con, home)
            finally:
                con.close()
            result.warehouse_refreshed = True
    return result
