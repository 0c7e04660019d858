"""Text for a terminal: the width to use, word wrapping, tables that fit, and paging (``remit code``).

Lines never exceed the width except for a single word longer than it (a long claim id); words are never
split, not even at a hyphen (``write-off`` stays whole). A table wider than the width first wraps its
text columns by words; when that is not enough it prints each row as a block of ``header: value`` lines.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from typing import TextIO

MIN_WIDTH = 80
DEFAULT_PAGER = "less -R"


def terminal_width() -> int:
    """``COLUMNS`` when set, else the terminal's width, else 80; never less than :data:`MIN_WIDTH`."""
    return max(MIN_WIDTH, shutil.get_terminal_size((MIN_WIDTH, 24)).columns)


def wrap(text: str, width: int, indent: str = "  ", subsequent: str | None = None) -> list[str]:
    """``text`` wrapped by words to ``width`` (never mid-word), each line starting with ``indent``."""
    return textwrap.wrap(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=indent if subsequent is None else subsequent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)


def fit_table(
    headers: list[str],
    rows: list[list[str]],
    right: set[int],
    width: int,
    indent: str = "    ",
    gap: int = 2,
) -> list[str]:
    """A table of ``rows`` in at most ``width`` columns (``right``: indexes of right-aligned columns).

    Text columns wrap by words inside their cell when the table is too wide; numbers never wrap. When
    even the narrowest wrapping is too wide, each row becomes a block: its first cell, then its other
    non-empty cells as ``header: value`` pairs on indented lines.
    """
    n = len(headers)
    natural = [max(len(headers[i]), *(len(r[i]) for r in rows)) for i in range(n)]
    # a text column can shrink to its longest word; a number column and the header of one cannot
    floor = [
        natural[i] if i in right else max(_longest_word(headers[i]), *(_longest_word(r[i]) for r in rows))
        for i in range(n)
    ]
    room = width - len(indent) - gap * (n - 1)
    widths = natural[:]
    while sum(widths) > room:
        shrinkable = [i for i in range(n) if widths[i] > floor[i]]
        if not shrinkable:
            return _blocks(headers, rows, width, indent)
        widths[max(shrinkable, key=lambda i: widths[i])] -= 1
    out: list[str] = []
    for cells in [headers, *rows]:
        wrapped = [
            [c] if i in right or len(c) <= widths[i] else wrap(c, widths[i], "") for i, c in enumerate(cells)
        ]
        for k in range(max(len(w) for w in wrapped)):
            parts = []
            for i, w in enumerate(wrapped):
                piece = w[k] if k < len(w) else ""
                parts.append(piece.rjust(widths[i]) if i in right else piece.ljust(widths[i]))
            out.append((indent + (" " * gap).join(parts)).rstrip())
    return out


def _blocks(headers: list[str], rows: list[list[str]], width: int, indent: str) -> list[str]:
    """Each row as a block: its first cell, then its other cells as ``header: value`` pairs, as many to a
    line as fit (separated by ``;``); empty cells are left out and a pair never breaks across lines
    unless it is wider than a line by itself.
    """
    out: list[str] = []
    inner = indent + "  "
    room = width - len(inner)
    for r in rows:
        out += wrap(r[0], width, indent)
        line = ""
        for h, c in zip(headers[1:], r[1:], strict=True):
            if not c:
                continue
            pair = f"{h}: {c}"
            if line and len(line) + 2 + len(pair) <= room:
                line += "; " + pair
                continue
            if line:
                out.append(inner + line)
            if len(pair) > room:
                out += wrap(pair, width, inner, inner + "  ")
                line = ""
            else:
                line = pair
        if line:
            out.append(inner + line)
    return out


def page(text: str, stream: TextIO | None = None) -> None:
    """Write ``text``; through ``$PAGER`` (default ``less -R``) when ``stream`` is a terminal and the text
    has more lines than the screen. A pager that cannot be started falls back to writing directly.
    """
    stream = stream or sys.stdout
    height = shutil.get_terminal_size((MIN_WIDTH, 24)).lines
    if stream.isatty() and text.count("\n") > height - 1:
        command = shlex.split(os.environ.get("PAGER") or DEFAULT_PAGER)
        env = dict(os.environ)
        env.setdefault("LESS", "R")  # keep colours if a user's less is invoked without -R
        try:
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, env=env, text=True)
        except OSError:
            pass
        else:
            try:
                assert proc.stdin is not None
                proc.stdin.write(text)
                proc.stdin.close()
            except BrokenPipeError:  # the reader quit the pager before the end
                pass
            proc.wait()
            return
    stream.write(text)
    stream.flush()
