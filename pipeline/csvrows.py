"""The files an operator keeps or brings by hand (``payers.csv``, an imported code list): their text in
the encodings spreadsheets save (``read_text``), and their CSV rows checked for what Python's ``csv``
module would read wrongly without a word (``checked_rows``): a row is refused with its line rather than
loaded half right."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

# Windows-1252 is Latin-1 but for 0x80-0x9F, where it has letters and signs (five bytes it leaves undefined
# stay as Latin-1 reads them): decoding as Latin-1 and translating those never fails
_WINDOWS_1252 = {
    b: bytes([b]).decode("cp1252") for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}


def read_text(path: Path) -> tuple[str, str | None]:
    """The text of ``path`` and, when it is not UTF-8, a note saying how it was read.

    UTF-8 (with or without a byte-order mark) and UTF-16 with its mark (Excel's "Unicode text") are read
    as they are; anything else as Windows-1252, what Excel saves as "CSV" on Windows (an accented payer
    name was a bare "'utf-8' codec can't decode byte 0xd6", naming no file, every night)."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), None
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        note = (
            f"{path} is not UTF-8 (byte {exc.start + 1} is not): read as Windows-1252; save it as UTF-8 "
            "to be sure of its accented letters"
        )
        return data.decode("latin-1").translate(_WINDOWS_1252), note


def dict_reader(text: str) -> csv.DictReader:
    """A ``csv.DictReader`` over ``text`` (``read_text``) whose column names are matched whatever their
    case and surrounding spaces, as a spreadsheet may write them ("Payer_ID", " plan_type")."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    reader.fieldnames = [(name or "").strip().lower() for name in reader.fieldnames or []]
    return reader


def checked_rows(
    reader: csv.DictReader,
    where: Callable[[int], str],
    required: Iterable[str],
    error: type[ValueError] = ValueError,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line, row) for each row of ``reader``; raise ``error`` (its message starting with
    ``where(line)``) for a row holding a line break (a quote left open: every row after it would be read
    into one field), more fields than the header names (an unquoted comma inside a value), or no field
    at all for a ``required`` column. A required column may be empty, and optional columns may be left off
    a row's end: the caller judges values."""
    required = tuple(required)
    width = len(reader.fieldnames or [])
    ended = reader.line_num  # the line the previous row (or the header) ended on
    for row in reader:
        extra = row.get(None) or []  # the fields beyond the header's (DictReader's restkey)
        values = [v for k, v in row.items() if k is not None and isinstance(v, str)] + list(extra)
        breaks = sum(v.count("\n") for v in values)
        # the line the row starts on: after the previous one, or later when blank lines were skipped (a
        # quote open to the end of the file holds that last line's break too: hence not just the second)
        line, ended = max(ended + 1, reader.line_num - breaks), reader.line_num
        if breaks:
            raise error(
                f'{where(line)}: a quoted field runs on to line {reader.line_num}: a quote (") left open in '
                "this row? No value here holds a line break; the rows after it would be read as part of it"
            )
        if extra or any(row.get(c) is None for c in required):
            raise error(
                f"{where(line)}: {len(values)} field(s), the header names {width}: a comma inside a value "
                f'must be quoted ("Smith, Jones and Co"), and each row needs {", ".join(required)}'
            )
        yield line, row
