"""Locate the project's data folders (``sql/``, ``reference/``).

In a checkout (the usual case, and editable installs) they sit beside the ``pipeline`` package; in a
built wheel they are copied into ``pipeline/_data``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder ``name`` (``"sql"``, ``"reference"``)."""
    for candidate in (_PACKAGE.parent / name, _PACKAGE / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"remit resource folder {name!r} not found beside {_PACKAGE}")
