"""File names from the inbox, made safe to log, print, record and store.

An inbox file name is whatever bytes the sender chose: it may hold a newline or other control
characters (which would forge lines in the log and in one-line-per-file output), bytes that are not
UTF-8 (Python holds them as lone surrogates, which Parquet, strict JSON and many terminals refuse), or
be up to 255 bytes long (too long for ``<name>.error.json``). :func:`shown` gives the one escaped
spelling the lake uses for every name it logs, prints or records; :func:`original` turns it back into
the name's exact bytes; :func:`stored` gives the name the raw file is kept under.
"""

from __future__ import annotations

import hashlib
import os
import re

# room left for ".<sha12>.<n>" and ".error.json" (and ".remit-move-…tmp") within the 255-byte limit
MAX_STORED_BYTES = 200

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\\udc80-\udcff]")  # controls, line separators
_ESCAPE = re.compile(r"\\(\\|x([0-9a-f]{2})|u([0-9a-f]{4}))")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    code = ord(char)
    if code >= 0xDC80:  # a byte that is not UTF-8: \x80 … \xff
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"  # C0 / C1 control characters


def shown(name: str) -> str:
    """``name`` with control characters, non-UTF-8 bytes and ``\\`` escaped, as one printable line.

    A control character becomes ``\\x0a`` (``\\u0085`` for the C1 ones), a byte that is not UTF-8
    ``\\xe9``, a backslash ``\\\\``. Printable UTF-8 names without a backslash come back unchanged;
    :func:`original` reverses it exactly. A path is escaped as a whole.
    """
    return _UNSAFE.sub(_escape, name)


def original(text: str) -> str:
    """The name :func:`shown` escaped, as the OS spells it (non-UTF-8 bytes as lone surrogates)."""

    def back(match: re.Match[str]) -> str:
        if match.group(1) == "\\":
            return "\\"
        if match.group(3):
            return chr(int(match.group(3), 16))
        code = int(match.group(2), 16)
        return chr(0xDC00 + code) if code >= 0x80 else chr(code)

    return _ESCAPE.sub(back, text)


def original_bytes(text: str) -> bytes:
    """The exact bytes of the name :func:`shown` escaped."""
    return os.fsencode(original(text))


def stored(name: str) -> str:
    """The name a raw file is kept under in ``.processed/`` and ``quarantine/``.

    A plain name (printable UTF-8, at most ``MAX_STORED_BYTES`` bytes) is kept as it is. Otherwise
    unsafe characters become ``_``, the name is cut to fit, and ``~`` plus 8 hex digits of the
    sha256 of the original name's bytes are added, so two such names never collide by the cut; the
    original name is in the manifest (``name``, escaped) and in ``<name>.error.json`` (``file``).
    """
    raw = os.fsencode(name)
    if not _UNSAFE.search(name.replace("\\", "")) and len(raw) <= MAX_STORED_BYTES:
        return name
    tag = "~" + hashlib.sha256(raw).hexdigest()[:8]
    safe = _UNSAFE.sub("_", name).encode("utf-8")[: MAX_STORED_BYTES - len(tag)]
    return safe.decode("utf-8", errors="ignore") + tag
