# ruff: noqa: E501 - one field per line reads as a table
"""Which element of which 837 segment fills which column: the 837 parser's declarative field table.

Each ``Field837`` line says which segment (``source``: the segment id and, after ``*``, the qualifier in
its first element that selects it), in which loop, which element (and component of a composite) feeds
which column of ``submitted_claims`` or ``submitted_lines``, typed how. The walk of
``pipeline.x12.core837`` keeps, for every claim and line, the row of the first segment of each source
(``CLAIM_SOURCES``, ``LINE_SOURCES``); ``pipeline.x12.parser837`` then reads every field of this table
from those rows, one kernel call per field, with no code of its own for plain fields. A column read from
several sources (the line charge of SV1, SV2 or SV3) takes the one its line has. Fields with a ``rule``
are still read by this table; the rule says what is done with the value afterwards:

* ``npi``: the value only when element 08 of the same segment is ``XX`` (an NPI, not a tax id);
* ``modifiers``: components 3 to 6 of the composite, comma-joined, null when there is none;
* ``date_from`` / ``date_to``: the first / last date of a ``D8`` date or ``RD8`` range;
* ``statement``: 837I reads DTP*434; 837P and 837D have no statement dates, so the earliest / latest
  line service date is taken;
* ``claim_date``: a line without DTP*472 takes the claim's statement_from;
* ``units``: SV3 has no unit count: a dental line counts 1.

The columns no element fills (keys, ordinals, claim type, line count, patient key) are in ``COMPUTED``.
``python -m pipeline.x12.fields837`` prints the field table of docs/parser.md.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

# The sources the walk records per claim (2300 loop and the loops above it) and per line (2400 loop).
# NM1*PR is the payer of the claim's subscriber loop (2010BB), never the other payers of loop 2330B;
# NM1*82 the claim's rendering provider (2310B of 837P/D, 2310D of 837I), never a line's (2420A) or
# another payer's (2330D).
CLAIM_SOURCES = ("CLM", "BHT", "NM1*85", "NM1*PR", "NM1*82", "REF*F8", "DTP*434", "PATIENT")
LINE_SOURCES = ("LX", "SV1", "SV2", "SV3", "DTP*472", "REF*6R", "TOO")

TYPES = ("string", "money", "quantity", "date", "int32")


@dataclass(frozen=True)
class Field837:
    """One element (or component) read into one column."""

    source: str
    loop: str
    element: int
    component: int | None
    table: str
    column: str
    type: str
    doc: str
    rule: str | None = None

    @property
    def segment(self) -> str:
        return self.source.split("*")[0]

    @property
    def label(self) -> str:
        """How an error message names the element: ``CLM02``, ``DTP*472 DTP03``, ``SV101-2``."""
        element = f"{self.segment}{self.element:02d}" + (f"-{self.component}" if self.component else "")
        return f"{self.source} {element}" if "*" in self.source else element


C, L = "submitted_claims", "submitted_lines"

FIELDS: tuple[Field837, ...] = (
    # submitted_claims: the transaction header, the 2000A/2000B loops above the claim, the 2300 claim
    Field837("BHT", "header", 3, None, C, "batch_id", "string", "BHT03 the submitter's reference for the transaction"),
    Field837("BHT", "header", 4, None, C, "submission_date", "date", "BHT04 date the transaction was created"),
    Field837("NM1*85", "2010AA", 9, None, C, "billing_provider_npi", "string", "billing provider NPI (NM108 = XX)", "npi"),
    Field837("NM1*PR", "2010BB", 9, None, C, "payer_id", "string", "payer identifier the claim was sent to"),
    Field837("NM1*PR", "2010BB", 3, None, C, "payer_name", "string", "payer name"),
    Field837("CLM", "2300", 1, None, C, "patient_control_number", "string", "CLM01 patient control number (the 835's CLP01)"),
    Field837("CLM", "2300", 2, None, C, "claim_charge", "money", "CLM02 total claim charge (required)"),
    Field837("CLM", "2300", 5, 1, C, "facility_code", "string", "CLM05-1 place of service (P, D) or facility type (I)"),
    Field837("CLM", "2300", 5, 3, C, "frequency_code", "string", "CLM05-3 claim frequency (1 original, 7 replacement, 8 void)"),
    Field837("REF*F8", "2300", 2, None, C, "payer_claim_control_number", "string", "payer's claim number of the claim corrected (CLP07 of its 835)"),
    Field837("DTP*434", "2300", 3, None, C, "statement_from", "date", "837I statement period start; P/D: earliest line date", "statement"),
    Field837("DTP*434", "2300", 3, None, C, "statement_to", "date", "837I statement period end; P/D: latest line date", "statement"),
    Field837("NM1*82", "2310B/2310D", 9, None, C, "rendering_provider_npi", "string", "claim's rendering provider NPI (NM108 = XX), null if absent", "npi"),
    # submitted_lines: the 2400 service line
    Field837("LX", "2400", 1, None, L, "line_number", "int32", "LX01 line number"),
    Field837("SV1", "2400", 1, 1, L, "procedure_qualifier", "string", "SV101-1 (HC, ...)"),
    Field837("SV1", "2400", 1, 2, L, "procedure_code", "string", "SV101-2 procedure code"),
    Field837("SV1", "2400", 1, None, L, "modifiers", "string", "SV101-3..6 modifiers, comma-joined", "modifiers"),
    Field837("SV1", "2400", 2, None, L, "line_charge", "money", "SV102 line charge"),
    Field837("SV1", "2400", 4, None, L, "units", "quantity", "SV104 units"),
    Field837("SV2", "2400", 1, None, L, "revenue_code", "string", "SV201 revenue code"),
    Field837("SV2", "2400", 2, 1, L, "procedure_qualifier", "string", "SV202-1 (HC, HP, ...)"),
    Field837("SV2", "2400", 2, 2, L, "procedure_code", "string", "SV202-2 procedure code"),
    Field837("SV2", "2400", 2, None, L, "modifiers", "string", "SV202-3..6 modifiers, comma-joined", "modifiers"),
    Field837("SV2", "2400", 3, None, L, "line_charge", "money", "SV203 line charge"),
    Field837("SV2", "2400", 5, None, L, "units", "quantity", "SV205 units"),
    Field837("SV3", "2400", 1, 1, L, "procedure_qualifier", "string", "SV301-1 (AD)"),
    Field837("SV3", "2400", 1, 2, L, "procedure_code", "string", "SV301-2 CDT code"),
    Field837("SV3", "2400", 1, None, L, "modifiers", "string", "SV301-3..6 modifiers, comma-joined", "modifiers"),
    Field837("SV3", "2400", 2, None, L, "line_charge", "money", "SV302 line charge"),
    Field837("SV3", "2400", 0, None, L, "units", "quantity", "no unit count in SV3: 1", "units"),
    Field837("DTP*472", "2400", 3, None, L, "service_date", "date", "service date (first of an RD8 range), else the claim's statement_from", "claim_date"),
    Field837("DTP*472", "2400", 3, None, L, "service_date_to", "date", "last date of an RD8 range, else service_date", "date_to"),
    Field837("REF*6R", "2400", 2, None, L, "line_control_number", "string", "line item control number (the 835's REF*6R)"),
    Field837("TOO", "2400", 2, None, L, "tooth_number", "string", "837D tooth number (first TOO of the line)"),
)  # fmt: skip

# columns made from no element of their own (how: docs/parser.md, "837 (claims submitted)")
COMPUTED = {
    C: {
        "file_id": "sha256 of the file's bytes (hex)",
        "file_key": "the file's key: sha256 bytes 1-8, less 2**63 (docs/parser.md, Keys and ids)",
        "claim_number": "CLM position in the file, from 1",
        "transaction_ordinal": "ST position in the file, from 1",
        "claim_type": "from the version (GS08 / ST03): X222A1 professional, X223A2 institutional, X224A2 dental",
        "patient_key": "HMAC-SHA256 of LAST|FIRST|QUALIFIER|ID of the patient: NM1*QC (2010CA) when the claim is in a patient loop, else the subscriber NM1*IL (2010BA)",
        "line_count": "number of LX lines of the claim",
        "version": "ST03, else GS08",
        "claim_ordinal": "CLM position in the transaction, from 1",
        "segment_number": "position of the CLM within its ST (ST = 1)",
        "line_charge_total": "Σ line_charge of the claim's lines",
        "is_balanced": "claim_charge = line_charge_total (the 837 rule: CLM02 is the sum of the line charges)",
    },
    L: {
        "file_key": "the file's key (as on the claim)",
        "claim_number": "the CLM position in the file of the claim the line belongs to",
        "segment_number": "position of the LX within its ST (ST = 1)",
    },
}


def fields_of(table: str, column: str) -> list[Field837]:
    """The fields that fill ``table.column`` (several for a column SV1, SV2 and SV3 each fill)."""
    return [f for f in FIELDS if f.table == table and f.column == column]


def markdown() -> str:
    """The field table of docs/parser.md's "837 (claims submitted)" section."""
    lines = [
        "| table | column | segment | loop | element | type | meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in FIELDS:
        element = "-" if f.element == 0 else f.label
        lines.append(f"| {f.table} | `{f.column}` | {f.source} | {f.loop} | {element} | {f.type} | {f.doc} |")
    for table, cols in COMPUTED.items():
        for col, doc in cols.items():
            lines.append(f"| {table} | `{col}` | - | - | - | computed | {doc} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
