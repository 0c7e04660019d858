"""The denial-code handbook: what a CARC or RARC means in general, joined with what it cost this organisation.

- :func:`lookup` / :func:`format_entry` / :func:`page`: one entry for the terminal (``remit code CO-289``),
  fitted to its width and paged when long;
- :func:`render_handbook`: the static HTML handbook under ``<home>/reports/handbook/`` (``remit handbook``).

The meaning comes from the reference seeds (``ref.*``), the figures from the warehouse marts, read-only.
"""

from pipeline.handbook.codes import UnknownCodeError, parse_code
from pipeline.handbook.entry import CodeEntry, format_entry, lookup
from pipeline.handbook.html import render_handbook
from pipeline.handbook.playbook import Playbook, PlaybookError, load_playbooks
from pipeline.handbook.terminal import page, terminal_width

__all__ = [
    "CodeEntry",
    "Playbook",
    "PlaybookError",
    "UnknownCodeError",
    "format_entry",
    "load_playbooks",
    "lookup",
    "page",
    "parse_code",
    "render_handbook",
    "terminal_width",
]
