"""The rows of a CSV file an operator keeps by hand (``payers.csv``, an imported code list), each checked
for what Python's ``csv`` module would read wrongly without a word: a row is refused with its line
rather than loaded half right."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator


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
