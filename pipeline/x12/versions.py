"""Which 835 implementation guides the parser reads, and the one check of a transaction's version.

The version of a transaction is ST03 when present (5010), else GS08 of its group; it is stored as
``payments.version``. Two guides are read:

- ``005010X221A1`` (and ``005010X221`` before its addenda): the current 835.
- ``004010X091A1`` (and ``004010X091``): the 4010 835 that 5010 replaced in 2012, still found in
  archives and sent by a few payers. Every element the parser reads sits at the same position in both
  guides; the differences that matter are handled (ISA11 is the standards identifier ``U``, not a
  repetition separator; there is no ST03; group ``CR`` and CLP02 codes that 5010 dropped are kept as
  sent and flagged downstream). docs/parser.md lists them.

Any other version (an older release such as 003070, another transaction's guide such as 005010X222A1)
is refused with a problem naming the segment, so a file is never loaded as a guide it is not.
"""

from __future__ import annotations

import re

from pipeline.x12.errors import value_shape

SUPPORTED = ("005010X221A1", "005010X221", "004010X091A1", "004010X091")
_SHOWN = re.compile(r"[0-9]{6}(X[0-9]{3}[A-Z0-9]{0,2})?")


def unsupported_version(version: str | None, element: str) -> str | None:
    """The problem message for a GS08 / ST03 ``version`` the parser does not read, else ``None``.

    An empty or absent version is accepted (GS08 is then missing, or the file has no GS at all).
    """
    v = (version or "").strip()
    if not v or v in SUPPORTED:
        return None
    shown = repr(v) if _SHOWN.fullmatch(v) else f"[not shown: {len(v)} characters shaped {value_shape(v)}]"
    return (
        f"{element} {shown} is not supported: remit reads the 835 implementation guides "
        "005010X221A1 and 004010X091A1 (docs/parser.md)"
    )


# The 837 guides ``parse_837`` reads (5010, as HIPAA adopted them, the releases of the same guides before
# their addenda, and the later errata X222A2 and X223A3, which keep every element read here where it
# was), and the claim type each one carries.
CLAIM_TYPES_837 = {
    "005010X222A1": "professional",
    "005010X222A2": "professional",
    "005010X222": "professional",
    "005010X223A3": "institutional",
    "005010X223A2": "institutional",
    "005010X223A1": "institutional",
    "005010X223": "institutional",
    "005010X224A2": "dental",
    "005010X224A1": "dental",
    "005010X224": "dental",
}


def unsupported_837_version(version: str | None, element: str) -> str | None:
    """The problem message for an 837's GS08 / ST03 ``version`` the parser does not read, else ``None``.

    Unlike an 835's, an 837's version must be present: it says whether the claims are professional,
    institutional or dental.
    """
    v = (version or "").strip()
    if v in CLAIM_TYPES_837:
        return None
    if not v:
        return f"{element} is missing: an 837 must name its guide (005010X222A1, X223A2 or X224A2)"
    shown = repr(v) if _SHOWN.fullmatch(v) else f"[not shown: {len(v)} characters shaped {value_shape(v)}]"
    return (
        f"{element} {shown} is not supported: remit reads the 837 implementation guides 005010X222A1 "
        "(professional), 005010X223A2 (institutional) and 005010X224A2 (dental) (docs/parser.md)"
    )
