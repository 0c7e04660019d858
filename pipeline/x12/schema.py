"""The lake's tables: what ``parse_835`` and ``parse_837`` return, the contract later stages rely on.

``REMITTANCE_TABLES`` are the 835's (``parse_835``), ``SUBMISSION_TABLES`` the 837's (``parse_837``:
``submitted_claims``, ``submitted_lines``); ``TABLES`` is both, every table the lake holds.

Names here are fixed (add columns freely, rename none). The columns of the six first tables are listed
here; every column added since is appended from ``fields.py`` (one line there adds it here, in the
parser and in docs/parser.md). Money is ``decimal128(18, 2)``, quantities
``decimal128(18, 3)``, dates ``date32``.

Rows carry integer keys, not id strings (docs/parser.md, "Keys and ids"): every table has ``file_key``
(``file_key(file_id)``, the file's sha256 in 64 bits) and the ordinals that place the row in its file:
``transaction_ordinal`` (ST in the file) on transaction-level rows, ``claim_number`` (CLP or CLM in the
file) on claim rows and their children, ``line_number`` (SVC in its claim) on line-level rows
(adjustments, the one table of millions of narrow rows, reach their transaction through their claim). The
full ``file_id`` is on ``payments`` (one row per transaction) and ``submitted_claims`` only. Keys are
positions, so the same file always gives the same keys, whatever else is in the lake; the lake refuses
a file whose ``file_key`` another loaded file already has (pipeline.lake).
"""

from __future__ import annotations

import pyarrow as pa

from pipeline.x12 import fields

MONEY = pa.decimal128(18, 2)
QUANTITY = pa.decimal128(18, 3)
RATE = pa.decimal128(18, 6)  # weights, fractions and rates (CLP12, CLP13, MOA01, TS216)
DATE = pa.date32()
STR = pa.string()
KEY = pa.int64()  # file_key
_TYPES = {"string": STR, "money": MONEY, "quantity": QUANTITY, "rate": RATE, "date": DATE}


# Bits of the warehouse keys built from these columns (sql/staging; docs/parser.md "Keys and ids"):
# key = file_key * 2**62 + claim_number (or transaction_ordinal) * 2**32 + line_number * 2**16
#       + cas_ordinal * 2**8 + position.
# Each part must stay below its field's width, or two rows could get one key: the parser refuses a file
# that goes beyond (pipeline.x12.tables.check_key_limits).
MAX_CLAIMS = (1 << 30) - 1  # claims (or transactions) in one file
MAX_LINES = (1 << 15) - 1  # service lines in one claim (line_number is int16 on adjustments)
MAX_CAS = (1 << 8) - 1  # CAS segments in one claim or line


# The claim key as sql/staging computes it, for SQL written in Python (format with the table's alias ``t``)
CLAIM_KEY_SQL = (
    "CAST({t}.file_key AS DECIMAL(38, 0)) * 4611686018427387904"
    " + CAST({t}.claim_number AS BIGINT) * 4294967296"
)
# Its inverse, the lake's (file_key, claim_number) of a claim key ``{k}`` (a DECIMAL(38, 0) expression),
# for joining a few warehouse claims back to lake rows without computing the key on every lake row.
# file_key is signed: the remainder is taken modulo 2**62 into [0, 2**62) before dividing.
CLAIM_KEY_PARTS_SQL = (
    "SELECT CAST((k - r) // 4611686018427387904 AS BIGINT) AS file_key, "
    "CAST(r // 4294967296 AS INTEGER) AS claim_number "
    "FROM (SELECT k, ((k % 4611686018427387904) + 4611686018427387904) % 4611686018427387904 AS r "
    "FROM (SELECT CAST({k} AS HUGEINT) AS k {rest}))"
)


def claim_key(file_key_: int, claim_number: int) -> int:
    """The warehouse key of a claim (``CLAIM_KEY_SQL``) in Python."""
    return file_key_ * (1 << 62) + claim_number * (1 << 32)


def file_key(file_id: str) -> int:
    """The 64-bit key of a file: the first 8 bytes of its sha256 (``file_id``, hex) as an unsigned
    big-endian number, less 2**63, so that keys sort in the order of the file ids (a signed BIGINT)."""
    return int(file_id[:16], 16) - (1 << 63)


def file_id_prefix(key: int) -> str:
    """The first 16 hex characters of the file id that ``key`` was made from (``file_key``'s inverse)."""
    return f"{key + (1 << 63):016x}"


def transaction_ref(file_id: str, transaction_ordinal: int) -> str:
    """The readable id of a transaction, ``<file_id[:24]>-<ST ordinal>`` (the id format of lakes before
    integer keys, kept for what people read: the SQL builds the same strings, sql/staging)."""
    return f"{file_id[:24]}-{transaction_ordinal}"


def _added(table: str, level: str) -> list[tuple[str, pa.DataType]]:
    """The columns of ``table`` declared in fields.py only (plain fields the walk does not copy)."""
    out: dict[str, pa.DataType] = {}
    for f in fields.plain(table, level):
        if not f.copy:
            out.setdefault(f.column, _TYPES[f.type])
    return list(out.items())


PAYMENTS = pa.schema(
    [
        ("file_id", STR),  # sha256 of the file (hex): on this table only
        ("file_key", KEY),
        ("source", STR),  # the file name given to parse_835
        ("transaction_ordinal", pa.int32()),  # ST position in the file, from 1
        ("interchange_control_number", STR),  # ISA13
        ("interchange_sender_id", STR),  # ISA06, trimmed
        ("interchange_receiver_id", STR),  # ISA08, trimmed
        ("group_control_number", STR),  # GS06
        ("transaction_control_number", STR),  # ST02
        ("version", STR),  # GS08 / ST03
        ("payment_amount", MONEY),  # BPR02
        ("credit_debit_flag", STR),  # BPR03
        ("payment_method", STR),  # BPR04
        ("payment_date", DATE),  # BPR16
        ("trace_number", STR),  # TRN02
        ("payer_identifier", STR),  # TRN03
        ("payer_name", STR),  # N1*PR 02
        ("payer_id", STR),  # REF*2U, else N1*PR 04
        ("payee_name", STR),  # N1*PE 02
        ("payee_npi", STR),  # N1*PE*..*XX*npi
        ("payee_tax_id", STR),  # N1*PE*..*FI*id or REF*TJ
        ("production_date", DATE),  # DTM*405
        ("claim_count", pa.int32()),
        ("claim_paid_total", MONEY),  # Σ CLP04
        ("plb_total", MONEY),  # Σ PLB amounts
        ("is_balanced", pa.bool_()),  # BPR02 = Σ CLP04 − Σ PLB
        ("balance_difference", MONEY),  # BPR02 − (Σ CLP04 − Σ PLB)
    ]
)

CLAIMS = pa.schema(
    [
        ("file_key", KEY),
        ("claim_number", pa.int32()),  # CLP position in the file, from 1
        ("transaction_ordinal", pa.int32()),  # ST position in the file, from 1
        ("claim_ordinal", pa.int32()),  # CLP position in the transaction, from 1
        ("patient_control_number", STR),  # CLP01
        ("claim_status_code", STR),  # CLP02
        ("charge_amount", MONEY),  # CLP03
        ("paid_amount", MONEY),  # CLP04
        ("patient_responsibility_amount", MONEY),  # CLP05
        ("claim_filing_indicator", STR),  # CLP06
        ("payer_claim_control_number", STR),  # CLP07
        ("facility_code", STR),  # CLP08
        ("claim_frequency_code", STR),  # CLP09
        ("drg_code", STR),  # CLP11
        ("statement_from_date", DATE),  # DTM*232
        ("statement_to_date", DATE),  # DTM*233
        ("received_date", DATE),  # DTM*050
        ("rendering_provider_id", STR),  # NM1*82 09
        ("original_reference_number", STR),  # REF*F8
        ("coverage_amount", MONEY),  # AMT*AU
        ("patient_key", STR),  # HMAC-SHA256 of patient identifiers; null without a secret
        ("is_reversal", pa.bool_()),  # CLP02 = 22
        ("line_count", pa.int32()),
        ("is_balanced", pa.bool_()),  # CLP03 − Σ claim CAS − Σ line CAS = CLP04
        ("balance_difference", MONEY),
        ("segment_number", pa.int32()),  # position of CLP within its ST (ST = 1)
        *_added("claims", "claim"),  # CLP12/13, NM1*TT/PR, DTM*036, AMT*I/D8/F5, QTY, MIA, MOA
    ]
)

SERVICE_LINES = pa.schema(
    [
        ("file_key", KEY),
        ("claim_number", pa.int32()),
        ("transaction_ordinal", pa.int32()),
        ("line_number", pa.int32()),  # SVC position in the claim, from 1
        ("procedure_qualifier", STR),  # SVC01-1
        ("procedure_code", STR),  # SVC01-2
        ("modifiers", pa.list_(STR)),  # SVC01-3..6
        ("charge_amount", MONEY),  # SVC02
        ("paid_amount", MONEY),  # SVC03
        ("revenue_code", STR),  # SVC04
        ("units_paid", QUANTITY),  # SVC05
        ("original_procedure_qualifier", STR),  # SVC06-1
        ("original_procedure_code", STR),  # SVC06-2
        ("original_units", QUANTITY),  # SVC07
        ("service_date_from", DATE),  # DTM*472 or DTM*150
        ("service_date_to", DATE),  # DTM*472 or DTM*151
        ("line_control_number", STR),  # REF*6R
        ("allowed_amount", MONEY),  # AMT*B6
        ("is_dental", pa.bool_()),  # qualifier AD, or a CDT code D + 4 digits
        ("is_balanced", pa.bool_()),  # SVC02 − Σ line CAS = SVC03
        ("balance_difference", MONEY),
        *_added("service_lines", "line"),  # QTY
    ]
)

ADJUSTMENTS = pa.schema(
    [
        ("file_key", KEY),
        ("claim_number", pa.int32()),
        ("line_number", pa.int16()),  # SVC position in the claim; null at claim level
        ("group_code", STR),  # CO, PR, OA, PI (CR legacy)
        ("reason_code", STR),  # CARC
        ("amount", MONEY),
        ("quantity", QUANTITY),
        ("position", pa.int8()),  # triple 1..6 within its CAS segment
        ("cas_ordinal", pa.int16()),  # CAS segment ordinal within its claim or line
    ]
)

REMARKS = pa.schema(
    [
        ("file_key", KEY),
        ("claim_number", pa.int32()),
        ("transaction_ordinal", pa.int32()),
        ("line_number", pa.int16()),  # null at claim level
        ("level", STR),  # 'claim' | 'line'
        ("source", STR),  # 'LQ' | 'LQ_RX' | 'MIA' | 'MOA'
        ("remark_code", STR),
    ]
)

PROVIDER_ADJUSTMENTS = pa.schema(
    [
        ("file_key", KEY),
        ("transaction_ordinal", pa.int32()),
        ("provider_id", STR),  # PLB01
        ("fiscal_period_date", DATE),  # PLB02
        ("reason_code", STR),  # PLBxx-1
        ("reference_id", STR),  # PLBxx-2
        ("amount", MONEY),  # positive reduces the payment
        ("position", pa.int32()),  # pair 1..6 within its PLB segment
        ("plb_ordinal", pa.int32()),  # PLB segment ordinal within the transaction
    ]
)

CLAIM_REFERENCES = pa.schema(
    [
        ("file_key", KEY),
        ("claim_number", pa.int32()),
        ("transaction_ordinal", pa.int32()),
        ("line_number", pa.int16()),  # null at claim level
        ("level", STR),  # 'claim' | 'line'
        ("reference_ordinal", pa.int32()),  # position among its claim's or line's REFs in this table, from 1
        ("qualifier", STR),  # REF01
        ("value", STR),  # REF02; null where the qualifier can identify a person
        ("value_key", STR),  # HMAC-SHA256 of REF02 for those qualifiers; null without a secret
    ]
)

PROVIDER_SUMMARIES = pa.schema(
    [
        ("file_key", KEY),
        ("transaction_ordinal", pa.int32()),
        ("summary_ordinal", pa.int32()),  # LX position in the transaction, from 1
        *_added("provider_summaries", "summary"),  # LX01, TS3, TS2
    ]
)

SUBMITTED_CLAIMS = pa.schema(
    [
        ("file_id", STR),  # sha256 of the 837 file (hex)
        ("file_key", KEY),
        ("claim_number", pa.int32()),  # CLM position in the file, from 1
        ("transaction_ordinal", pa.int32()),  # ST position in the file, from 1
        ("claim_type", STR),  # 'professional' | 'institutional' | 'dental' (from GS08 / ST03)
        ("submission_date", DATE),  # BHT04
        ("batch_id", STR),  # BHT03
        ("patient_control_number", STR),  # CLM01
        ("payer_id", STR),  # 2010BB NM1*PR 09
        ("payer_name", STR),  # 2010BB NM1*PR 03
        ("billing_provider_npi", STR),  # 2010AA NM1*85 09 with NM108 = XX
        ("rendering_provider_npi", STR),  # 2310B (P) / 2310D (I) / 2310B (D) NM1*82 09 with XX
        ("claim_charge", MONEY),  # CLM02
        ("facility_code", STR),  # CLM05-1
        ("frequency_code", STR),  # CLM05-3
        ("payer_claim_control_number", STR),  # 2300 REF*F8: the payer's number of the claim corrected
        ("statement_from", DATE),  # 837I DTP*434; 837P/D: the earliest line service date
        ("statement_to", DATE),  # 837I DTP*434; 837P/D: the latest line service date
        ("patient_key", STR),  # HMAC-SHA256 as in claims.patient_key; null without a secret
        ("line_count", pa.int32()),
        ("version", STR),  # GS08 / ST03
        ("claim_ordinal", pa.int32()),  # CLM position in the transaction, from 1
        ("segment_number", pa.int32()),  # position of CLM within its ST (ST = 1)
        ("line_charge_total", MONEY),  # Σ line_charge of the claim's lines
        ("is_balanced", pa.bool_()),  # CLM02 = Σ line charges (an 837 balancing rule)
    ]
)

SUBMITTED_LINES = pa.schema(
    [
        ("file_key", KEY),
        ("claim_number", pa.int32()),  # the submitted claim's CLM position in the file
        ("line_number", pa.int32()),  # LX01
        ("line_control_number", STR),  # 2400 REF*6R
        ("procedure_qualifier", STR),  # SV101-1 / SV202-1 / SV301-1 (HC, AD, ER, ...)
        ("procedure_code", STR),  # SV101-2 / SV202-2 / SV301-2
        ("modifiers", STR),  # SVx01-3..6 (SV202-3..6), comma-joined; null if none
        ("revenue_code", STR),  # SV201 (837I); null otherwise
        ("line_charge", MONEY),  # SV102 / SV203 / SV302
        ("units", QUANTITY),  # SV104 / SV205; 1 for 837D (SV3 has no unit count)
        ("service_date", DATE),  # 2400 DTP*472 (first date of a range), else the claim's statement_from
        ("tooth_number", STR),  # 837D 2400 TOO02 (the first one); null otherwise
        ("service_date_to", DATE),  # last date of a DTP*472 RD8 range, else service_date
        ("segment_number", pa.int32()),  # position of LX within its ST (ST = 1)
    ]
)

# The tables parse_835 returns, in this order (Remittance835.tables()).
REMITTANCE_TABLES: dict[str, pa.Schema] = {
    "payments": PAYMENTS,
    "claims": CLAIMS,
    "service_lines": SERVICE_LINES,
    "adjustments": ADJUSTMENTS,
    "remarks": REMARKS,
    "provider_adjustments": PROVIDER_ADJUSTMENTS,
    "claim_references": CLAIM_REFERENCES,
    "provider_summaries": PROVIDER_SUMMARIES,
}

# The tables parse_837 returns (Submission837.tables()).
SUBMISSION_TABLES: dict[str, pa.Schema] = {
    "submitted_claims": SUBMITTED_CLAIMS,
    "submitted_lines": SUBMITTED_LINES,
}

# Every lake table: the lake, its manifest row counts, its views, the warehouse and the quality gate
# read this. An 835 file fills the remittance tables, an 837 file the submission tables.
TABLES: dict[str, pa.Schema] = {**REMITTANCE_TABLES, **SUBMISSION_TABLES}
