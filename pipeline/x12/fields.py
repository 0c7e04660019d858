# ruff: noqa: E501 - one field per line reads as a table
"""Which element of which 835 segment fills which column: the parser's one declarative field table.

Each ``Field`` line says: segment (and the qualifier in its first element that selects it), the loop it
is read in, the element, and the table, column, type and meaning it feeds. From these lines

* the compiled core's layout is generated (``layout()``): which segments the walk looks for at each
  loop level, the row slot that keeps the first such segment of a transaction, claim, line or LX
  loop, and the spans it copies while the segment is in cache;
* ``schema.py`` appends the columns of plain fields the walk does not copy to their table, and
  ``tables.py`` fills them (the element's value as it is, typed) without a line of its own: adding
  such a column is one line here plus its fixture (and its staging line);
* the columns the six first tables always had stay listed in ``schema.py``, and
  ``tests/test_fields.py`` checks both agree with this table;
* the field table of docs/parser.md is generated (``markdown()``; the test checks the page holds it),
  and the staging views are checked to expose every column (or say here why not: ``NOT_STAGED``).

Columns a ``rule`` names (payer id from REF*2U else N1*PR, service dates from three DTMs, the patient
key, …) are built by hand in ``tables.py``; their fields still say which elements they read. Columns
made from no element at all (keys, ordinals, balancing) are listed in ``COMPUTED``. See docs/parser.md,
"How to add a field".
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

# Loop levels, as the walk tracks them. A "transaction" segment is one between ST and SE outside any
# claim; "summary" the LX loop (provider summary) up to its first CLP; "claim" a CLP up to the next
# CLP, LX, PLB or SE; "line" an SVC up to the next SVC or the end of its claim.
LEVELS = ("transaction", "claim", "line", "plb", "summary")
LEVEL = {name: k for k, name in enumerate(LEVELS)}

# the segment that opens a row at each level (its elements are copied when it opens the row)
OPENERS = {"transaction": "ST", "claim": "CLP", "line": "SVC", "plb": "PLB", "summary": "LX"}

# column types: name -> (Arrow type name in schema.py, decimals read by the core; None: text or date)
TYPES = {
    "string": ("string", None),
    "money": ("decimal128(18, 2)", 2),
    "quantity": ("decimal128(18, 3)", 3),
    "rate": ("decimal128(18, 6)", 6),
    "date": ("date32", None),
}


@dataclass(frozen=True)
class Field:
    """One element read into one column.

    ``qualifier``: the value of element 01 that selects the segment (None: any). ``rule``: how the column
    is made when it is not simply this element's value (then ``tables.py`` makes it). ``copy``: the walk
    copies the element's span while the segment is in cache (the columns of nearly every claim and
    line); other elements are read afterwards from the first qualifying segment's row, which costs
    nothing for segments most claims lack.
    """

    segment: str
    qualifier: str | None
    loop: str
    element: int
    table: str
    column: str
    type: str
    doc: str
    rule: str | None = None
    copy: bool = False

    @property
    def source(self) -> str:
        """``SEG`` or ``SEG*QUALIFIER``: the segments this field is read from."""
        return self.segment + (f"*{self.qualifier}" if self.qualifier else "")

    @property
    def label(self) -> str:
        """How an error message names the element: ``MIA04``, ``AMT*I AMT02``."""
        element = f"{self.segment}{self.element:02d}"
        return f"{self.source} {element}" if self.qualifier else element


def _fields(table: str, loop: str, rows, copy: bool = False) -> list[Field]:
    return [Field(s, q, loop, e, table, col, typ, doc, rule, copy) for s, q, e, col, typ, doc, rule in rows]


T, C, L, S = "transaction", "claim", "line", "summary"
_ = None  # no qualifier / no rule

FIELDS: tuple[Field, ...] = tuple(
    # ---- payments (one row per ST/SE transaction) ----------------------------------------------------
    _fields("payments", T, [
        ("ST", _, 2, "transaction_control_number", "string", "ST02 transaction set control number", _),
        ("BPR", _, 2, "payment_amount", "money", "BPR02 total actual provider payment (required)", _),
        ("BPR", _, 3, "credit_debit_flag", "string", "BPR03 credit/debit flag (C, D)", _),
        ("BPR", _, 4, "payment_method", "string", "BPR04 payment method (ACH, CHK, NON, …)", _),
        ("BPR", _, 16, "payment_date", "date", "BPR16 check issue or EFT effective date", _),
        ("TRN", _, 2, "trace_number", "string", "TRN02 check or EFT trace number", _),
        ("TRN", _, 3, "payer_identifier", "string", "TRN03 payer identifier", _),
        ("N1", "PR", 2, "payer_name", "string", "N1*PR 02 payer name", _),
        ("N1", "PR", 4, "payer_id", "string", "N1*PR 04 payer id", "REF*2U 02, else N1*PR 04"),
        ("N1", "PE", 2, "payee_name", "string", "N1*PE 02 payee name", _),
        ("N1", "PE", 3, "payee_npi", "string", "N1*PE 03 id qualifier", "N1*PE 04 when 03 = XX (NPI)"),
        ("N1", "PE", 4, "payee_npi", "string", "N1*PE 04 payee id", "N1*PE 04 when 03 = XX (NPI)"),
        ("N1", "PE", 4, "payee_tax_id", "string", "N1*PE 04 payee id", "N1*PE 04 when 03 = FI, else REF*TJ"),
        ("REF", "2U", 2, "payer_id", "string", "REF*2U 02 payer identification", "REF*2U 02, else N1*PR 04"),
        ("REF", "TJ", 2, "payee_tax_id", "string", "REF*TJ 02 payee tax id", "N1*PE 04 when 03 = FI, else REF*TJ"),
        ("DTM", "405", 2, "production_date", "date", "DTM*405 02 production date", _),
    ], copy=True)
    # ---- provider summaries (one row per LX header number, with its TS3 and TS2) ----------------------
    + _fields("provider_summaries", S, [
        ("LX", _, 1, "assigned_number", "string", "LX01 header number", _),
        ("TS3", _, 1, "provider_id", "string", "TS301 provider identifier", _),
        ("TS3", _, 2, "facility_type_code", "string", "TS302 facility type code", _),
        ("TS3", _, 3, "fiscal_period_date", "date", "TS303 last day of the provider's fiscal year", _),
        ("TS3", _, 4, "total_claim_count", "quantity", "TS304 total claim count", _),
        ("TS3", _, 5, "total_claim_charge_amount", "money", "TS305 total claim charge amount", _),
        ("TS3", _, 13, "total_msp_payer_amount", "money", "TS313 total MSP payer amount", _),
        ("TS3", _, 15, "total_non_lab_charge_amount", "money", "TS315 total non-lab charge amount", _),
        ("TS3", _, 17, "total_hcpcs_reported_charge_amount", "money", "TS317 total HCPCS reported charge", _),
        ("TS3", _, 18, "total_hcpcs_payable_amount", "money", "TS318 total HCPCS payable amount", _),
        ("TS3", _, 20, "total_professional_component_amount", "money", "TS320 total professional component", _),
        ("TS3", _, 21, "total_msp_patient_liability_met_amount", "money", "TS321 total MSP patient liability met", _),
        ("TS3", _, 22, "total_patient_reimbursement_amount", "money", "TS322 total patient reimbursement", _),
        ("TS3", _, 23, "total_pip_claim_count", "quantity", "TS323 total periodic interim payment claim count", _),
        ("TS3", _, 24, "total_pip_adjustment_amount", "money", "TS324 total PIP adjustment amount", _),
        ("TS2", _, 1, "total_drg_amount", "money", "TS201 total DRG amount", _),
        ("TS2", _, 2, "total_federal_specific_amount", "money", "TS202 total federal specific amount", _),
        ("TS2", _, 3, "total_hospital_specific_amount", "money", "TS203 total hospital specific amount", _),
        ("TS2", _, 4, "total_disproportionate_share_amount", "money", "TS204 total disproportionate share", _),
        ("TS2", _, 5, "total_capital_amount", "money", "TS205 total capital amount", _),
        ("TS2", _, 6, "total_indirect_medical_education_amount", "money", "TS206 total IME amount", _),
        ("TS2", _, 7, "total_outlier_day_count", "quantity", "TS207 total outlier day count", _),
        ("TS2", _, 8, "total_day_outlier_amount", "money", "TS208 total day outlier amount", _),
        ("TS2", _, 9, "total_cost_outlier_amount", "money", "TS209 total cost outlier amount", _),
        ("TS2", _, 10, "average_drg_length_of_stay", "quantity", "TS210 average DRG length of stay", _),
        ("TS2", _, 11, "total_discharge_count", "quantity", "TS211 total discharge count", _),
        ("TS2", _, 12, "total_cost_report_day_count", "quantity", "TS212 total cost report day count", _),
        ("TS2", _, 13, "total_covered_day_count", "quantity", "TS213 total covered day count", _),
        ("TS2", _, 14, "total_noncovered_day_count", "quantity", "TS214 total noncovered day count", _),
        ("TS2", _, 15, "total_msp_pass_through_amount", "money", "TS215 total MSP pass-through amount", _),
        ("TS2", _, 16, "average_drg_weight", "rate", "TS216 average DRG weight", _),
        ("TS2", _, 17, "total_pps_capital_fsp_drg_amount", "money", "TS217 total PPS capital FSP DRG", _),
        ("TS2", _, 18, "total_pps_capital_hsp_drg_amount", "money", "TS218 total PPS capital HSP DRG", _),
        ("TS2", _, 19, "total_pps_dsh_drg_amount", "money", "TS219 total PPS DSH DRG amount", _),
    ])
    # ---- claims (one row per CLP) ------------------------------------------------------------------------
    + _fields("claims", C, [
        ("CLP", _, 1, "patient_control_number", "string", "CLP01 patient control (claim) number", _),
        ("CLP", _, 2, "claim_status_code", "string", "CLP02 claim status code", _),
        ("CLP", _, 3, "charge_amount", "money", "CLP03 total claim charge (required)", _),
        ("CLP", _, 4, "paid_amount", "money", "CLP04 claim payment (required)", _),
        ("CLP", _, 5, "patient_responsibility_amount", "money", "CLP05 patient responsibility", _),
        ("CLP", _, 6, "claim_filing_indicator", "string", "CLP06 claim filing indicator", _),
        ("CLP", _, 7, "payer_claim_control_number", "string", "CLP07 payer claim control number", _),
        ("CLP", _, 8, "facility_code", "string", "CLP08 facility type code", _),
        ("CLP", _, 9, "claim_frequency_code", "string", "CLP09 claim frequency code", _),
        ("CLP", _, 11, "drg_code", "string", "CLP11 diagnosis related group", _),
        ("DTM", "232", 2, "statement_from_date", "date", "DTM*232 02 statement period start", _),
        ("DTM", "233", 2, "statement_to_date", "date", "DTM*233 02 statement period end", _),
        ("DTM", "050", 2, "received_date", "date", "DTM*050 02 date the payer received the claim", _),
        ("NM1", "QC", 3, "patient_key", "string", "NM1*QC 03 patient last name (never stored)", "keyed hash"),
        ("NM1", "QC", 4, "patient_key", "string", "NM1*QC 04 patient first name (never stored)", "keyed hash"),
        ("NM1", "QC", 8, "patient_key", "string", "NM1*QC 08 id qualifier (never stored)", "keyed hash"),
        ("NM1", "QC", 9, "patient_key", "string", "NM1*QC 09 member id (never stored)", "keyed hash"),
        ("NM1", "82", 9, "rendering_provider_id", "string", "NM1*82 09 rendering provider id", _),
        ("REF", "F8", 2, "original_reference_number", "string", "REF*F8 02 original claim reference", _),
        ("AMT", "AU", 2, "coverage_amount", "money", "AMT*AU 02 coverage amount", _),
    ], copy=True)
    + _fields("claims", C, [
        ("CLP", _, 12, "drg_weight", "rate", "CLP12 DRG weight", _),
        ("CLP", _, 13, "discharge_fraction", "rate", "CLP13 percent discharge fraction", _),
        ("NM1", "TT", 3, "crossover_carrier_name", "string", "NM1*TT 03 crossover carrier name", _),
        ("NM1", "TT", 8, "crossover_carrier_id_qualifier", "string", "NM1*TT 08 id qualifier", _),
        ("NM1", "TT", 9, "crossover_carrier_id", "string", "NM1*TT 09 crossover carrier id", _),
        ("NM1", "PR", 3, "corrected_priority_payer_name", "string", "NM1*PR 03 corrected priority payer", _),
        ("NM1", "PR", 8, "corrected_priority_payer_id_qualifier", "string", "NM1*PR 08 id qualifier", _),
        ("NM1", "PR", 9, "corrected_priority_payer_id", "string", "NM1*PR 09 corrected priority payer id", _),
        ("DTM", "036", 2, "coverage_expiration_date", "date", "DTM*036 02 coverage expiration date", _),
        ("AMT", "I", 2, "interest_amount", "money", "AMT*I 02 interest paid on the claim", _),
        ("AMT", "D8", 2, "prompt_pay_discount_amount", "money", "AMT*D8 02 prompt pay discount", _),
        ("AMT", "F5", 2, "patient_amount_paid", "money", "AMT*F5 02 amount the patient already paid", _),
        ("QTY", "CA", 2, "covered_days", "quantity", "QTY*CA 02 covered days or visits (actual)", _),
        ("QTY", "CD", 2, "co_insured_days", "quantity", "QTY*CD 02 co-insured days (actual)", _),
        ("QTY", "LA", 2, "lifetime_reserve_days", "quantity", "QTY*LA 02 lifetime reserve days (actual)", _),
        ("QTY", "LE", 2, "lifetime_reserve_days_estimated", "quantity", "QTY*LE 02 lifetime reserve (estimated)", _),
        ("QTY", "NE", 2, "non_covered_days_estimated", "quantity", "QTY*NE 02 non-covered days (estimated)", _),
        ("QTY", "NR", 2, "blood_units_not_replaced", "quantity", "QTY*NR 02 blood units not replaced", _),
        ("QTY", "OU", 2, "outlier_days", "quantity", "QTY*OU 02 outlier days", _),
        ("QTY", "PS", 2, "prescription_count", "quantity", "QTY*PS 02 prescriptions", _),
        ("QTY", "VS", 2, "visits", "quantity", "QTY*VS 02 visits", _),
        ("QTY", "ZK", 2, "mandate_category_1_units", "quantity", "QTY*ZK 02 federal payment mandate category 1", _),
        ("QTY", "ZL", 2, "mandate_category_2_units", "quantity", "QTY*ZL 02 federal payment mandate category 2", _),
        ("QTY", "ZM", 2, "mandate_category_3_units", "quantity", "QTY*ZM 02 federal payment mandate category 3", _),
        ("QTY", "ZN", 2, "mandate_category_4_units", "quantity", "QTY*ZN 02 federal payment mandate category 4", _),
        ("QTY", "ZO", 2, "mandate_category_5_units", "quantity", "QTY*ZO 02 federal payment mandate category 5", _),
        ("MIA", _, 1, "mia_covered_days", "quantity", "MIA01 covered days or visits", _),
        ("MIA", _, 2, "mia_pps_operating_outlier_amount", "money", "MIA02 PPS operating outlier amount", _),
        ("MIA", _, 3, "mia_lifetime_psychiatric_days", "quantity", "MIA03 lifetime psychiatric days", _),
        ("MIA", _, 4, "mia_drg_amount", "money", "MIA04 claim DRG amount", _),
        ("MIA", _, 6, "mia_disproportionate_share_amount", "money", "MIA06 disproportionate share amount", _),
        ("MIA", _, 7, "mia_msp_pass_through_amount", "money", "MIA07 MSP pass-through amount", _),
        ("MIA", _, 8, "mia_pps_capital_amount", "money", "MIA08 PPS capital amount", _),
        ("MIA", _, 9, "mia_pps_capital_fsp_drg_amount", "money", "MIA09 PPS capital FSP DRG amount", _),
        ("MIA", _, 10, "mia_pps_capital_hsp_drg_amount", "money", "MIA10 PPS capital HSP DRG amount", _),
        ("MIA", _, 11, "mia_pps_capital_dsh_drg_amount", "money", "MIA11 PPS capital DSH DRG amount", _),
        ("MIA", _, 12, "mia_old_capital_amount", "money", "MIA12 old capital amount", _),
        ("MIA", _, 13, "mia_pps_capital_ime_amount", "money", "MIA13 PPS capital IME amount", _),
        ("MIA", _, 14, "mia_pps_operating_hospital_specific_drg_amount", "money", "MIA14 PPS operating hospital specific DRG", _),
        ("MIA", _, 15, "mia_cost_report_day_count", "quantity", "MIA15 cost report day count", _),
        ("MIA", _, 16, "mia_pps_operating_federal_specific_drg_amount", "money", "MIA16 PPS operating federal specific DRG", _),
        ("MIA", _, 17, "mia_pps_capital_outlier_amount", "money", "MIA17 PPS capital outlier amount", _),
        ("MIA", _, 18, "mia_indirect_teaching_amount", "money", "MIA18 indirect teaching amount", _),
        ("MIA", _, 19, "mia_nonpayable_professional_component_amount", "money", "MIA19 nonpayable professional component", _),
        ("MIA", _, 24, "mia_pps_capital_exception_amount", "money", "MIA24 PPS capital exception amount", _),
        ("MOA", _, 1, "moa_reimbursement_rate", "rate", "MOA01 reimbursement rate (a fraction)", _),
        ("MOA", _, 2, "moa_hcpcs_payable_amount", "money", "MOA02 HCPCS payable amount", _),
        ("MOA", _, 8, "moa_esrd_payment_amount", "money", "MOA08 end-stage renal disease payment amount", _),
        ("MOA", _, 9, "moa_nonpayable_professional_component_amount", "money", "MOA09 nonpayable professional component", _),
    ])
    # ---- service lines (one row per SVC) -------------------------------------------------------------
    + _fields("service_lines", L, [
        ("SVC", _, 1, "procedure_code", "string", "SVC01 composite: qualifier, code, modifiers 1–4", "SVC01 components"),
        ("SVC", _, 2, "charge_amount", "money", "SVC02 line charge (required)", _),
        ("SVC", _, 3, "paid_amount", "money", "SVC03 line payment (required)", _),
        ("SVC", _, 4, "revenue_code", "string", "SVC04 revenue code", _),
        ("SVC", _, 5, "units_paid", "quantity", "SVC05 units paid", _),
        ("SVC", _, 6, "original_procedure_code", "string", "SVC06 composite: procedure as billed", "SVC06 components"),
        ("SVC", _, 7, "original_units", "quantity", "SVC07 units billed", _),
        ("DTM", "472", 2, "service_date_from", "date", "DTM*472 02 service date", "DTM*472 (02, or 06 D8/RD8), else DTM*150/151"),
        ("DTM", "472", 5, "service_date_from", "string", "DTM*472 05 D8 or RD8", "DTM*472 (02, or 06 D8/RD8), else DTM*150/151"),
        ("DTM", "472", 6, "service_date_from", "string", "DTM*472 06 date or range", "DTM*472 (02, or 06 D8/RD8), else DTM*150/151"),
        ("DTM", "150", 2, "service_date_from", "date", "DTM*150 02 service period start", "DTM*472 (02, or 06 D8/RD8), else DTM*150/151"),
        ("DTM", "151", 2, "service_date_to", "date", "DTM*151 02 service period end", "DTM*472 (02, or 06 D8/RD8), else DTM*150/151"),
        ("REF", "6R", 2, "line_control_number", "string", "REF*6R 02 line item control number", _),
        ("AMT", "B6", 2, "allowed_amount", "money", "AMT*B6 02 allowed amount", _),
    ], copy=True)
    + _fields("service_lines", L, [
        ("QTY", "ZK", 2, "mandate_category_1_units", "quantity", "QTY*ZK 02 federal payment mandate category 1", _),
        ("QTY", "ZL", 2, "mandate_category_2_units", "quantity", "QTY*ZL 02 federal payment mandate category 2", _),
        ("QTY", "ZM", 2, "mandate_category_3_units", "quantity", "QTY*ZM 02 federal payment mandate category 3", _),
        ("QTY", "ZN", 2, "mandate_category_4_units", "quantity", "QTY*ZN 02 federal payment mandate category 4", _),
        ("QTY", "ZO", 2, "mandate_category_5_units", "quantity", "QTY*ZO 02 federal payment mandate category 5", _),
    ])
    # ---- long tables: one row per segment (or per triple, pair, code) -----------------------------------
    + _fields("adjustments", C, [
        ("CAS", _, 1, "group_code", "string", "CAS01 group code (claim and line level)", "every CAS"),
        ("CAS", _, 2, "reason_code", "string", "CAS02/05/08/11/14/17 reason code", "every triple"),
        ("CAS", _, 3, "amount", "money", "CAS03/06/09/12/15/18 amount", "every triple"),
        ("CAS", _, 4, "quantity", "quantity", "CAS04/07/10/13/16/19 quantity", "every triple"),
    ])
    + _fields("remarks", C, [
        ("LQ", "HE", 2, "remark_code", "string", "LQ*HE 02 remark code (source LQ)", "every LQ"),
        ("LQ", "RX", 2, "remark_code", "string", "LQ*RX 02 NCPDP reject code (source LQ_RX)", "every LQ"),
        ("MIA", _, 5, "remark_code", "string", "MIA05, MIA20–23 remark codes (source MIA)", "every code"),
        ("MOA", _, 3, "remark_code", "string", "MOA03–07 remark codes (source MOA)", "every code"),
    ])
    + _fields("claim_references", C, [
        ("REF", _, 1, "qualifier", "string", "REF01 reference qualifier (claim and line level)", "every REF"),
        ("REF", _, 2, "value", "string", "REF02 value; null for identifying qualifiers", "every REF"),
        ("REF", _, 2, "value_key", "string", "REF02 keyed hash, identifying qualifiers only", "every REF"),
    ])
    + _fields("provider_adjustments", "plb", [
        ("PLB", _, 1, "provider_id", "string", "PLB01 provider identifier", _),
        ("PLB", _, 2, "fiscal_period_date", "date", "PLB02 fiscal period date", _),
        ("PLB", _, 3, "reason_code", "string", "PLB03/05/…/13 composite: reason : reference", "every pair"),
        ("PLB", _, 4, "amount", "money", "PLB04/06/…/14 amount", "every pair"),
    ], copy=True)
)  # fmt: skip

# Columns made from no single element, by table: the doc says how.
COMPUTED: dict[str, dict[str, str]] = {
    "payments": {
        "file_id": "sha256 of the file (hex)",
        "file_key": "the file's key: sha256 bytes 1-8, less 2**63 (docs/parser.md, Keys and ids)",
        "source": "the file name given to parse_835",
        "transaction_ordinal": "ST position in the file, from 1",
        "interchange_control_number": "ISA13",
        "interchange_sender_id": "ISA06, trimmed",
        "interchange_receiver_id": "ISA08, trimmed",
        "group_control_number": "GS06",
        "version": "ST03, else GS08",
        "claim_count": "CLP segments in the transaction",
        "claim_paid_total": "Σ CLP04",
        "plb_total": "Σ PLB amounts",
        "is_balanced": "BPR02 = Σ CLP04 − Σ PLB",
        "balance_difference": "BPR02 − (Σ CLP04 − Σ PLB)",
    },
    "claims": {
        "file_key": "the file's key: sha256 bytes 1-8, less 2**63 (docs/parser.md, Keys and ids)",
        "claim_number": "CLP position in the file, from 1",
        "transaction_ordinal": "the transaction's ST position in the file, from 1",
        "claim_ordinal": "CLP position in the transaction, from 1",
        "is_reversal": "CLP02 = 22",
        "line_count": "SVC segments in the claim",
        "is_balanced": "CLP03 − Σ claim CAS − Σ line CAS = CLP04",
        "balance_difference": "CLP03 − Σ CAS − CLP04",
        "segment_number": "position of CLP within its ST (ST = 1)",
    },
    "service_lines": {
        "file_key": "the file's key: sha256 bytes 1-8, less 2**63 (docs/parser.md, Keys and ids)",
        "claim_number": "the claim's CLP position in the file, from 1",
        "transaction_ordinal": "the transaction's ST position in the file, from 1",
        "line_number": "SVC position in the claim, from 1",
        "procedure_qualifier": "SVC01-1",
        "modifiers": "SVC01-3..6, empty ones dropped",
        "original_procedure_qualifier": "SVC06-1",
        "is_dental": "SVC01-1 = AD, or a CDT code D + 4 digits",
        "is_balanced": "SVC02 − Σ line CAS = SVC03",
        "balance_difference": "SVC02 − Σ line CAS − SVC03",
    },
    "adjustments": {
        "file_key": "the file's key: sha256 bytes 1-8, less 2**63 (docs/parser.md, Keys and ids)",
        "claim_number": "the claim's CLP position in the file, from 1",
        "line_number": "the line's SVC position in its claim; null at claim level",
        "position": "triple 1..6 within its CAS segment",
        "cas_ordinal": "CAS segment ordinal within its claim or line",
    },
    "remarks": {
        "file_key": "the file's key: sha256 bytes 1-8, less 2**63 (docs/parser.md, Keys and ids)",
        "claim_number": "the claim's CLP position in the file, from 1",
        "transaction_ordinal": "the transaction's ST position in the file, from 1",
        "line_number": "the line's SVC position in its claim; null at claim level",
        "level": "'claim' | 'line'",
        "source": "'LQ' | 'LQ_RX' | 'MIA' | 'MOA'",
    },
    "provider_adjustments": {
        "file_key": "the file's key: sha256 bytes 1-8, less 2**63 (docs/parser.md, Keys and ids)",
        "transaction_ordinal": "the transaction's ST position in the file, from 1",
        "reference_id": "PLBxx-2",
        "position": "pair 1..6 within its PLB segment",
        "plb_ordinal": "PLB segment ordinal within the transaction",
    },
    "claim_references": {
        "file_key": "the file's key: sha256 bytes 1-8, less 2**63 (docs/parser.md, Keys and ids)",
        "claim_number": "the claim's CLP position in the file, from 1",
        "transaction_ordinal": "the transaction's ST position in the file, from 1",
        "line_number": "the line's SVC position in its claim; null at claim level",
        "level": "'claim' | 'line'",
        "reference_ordinal": "position among its claim's or line's REFs in this table, from 1",
    },
    "provider_summaries": {
        "file_key": "the file's key: sha256 bytes 1-8, less 2**63 (docs/parser.md, Keys and ids)",
        "transaction_ordinal": "the transaction's ST position in the file, from 1",
        "summary_ordinal": "LX position in the transaction, from 1",
    },
}

# REF qualifiers whose value can point at one person: stored only as a keyed hash (docs/privacy.md).
IDENTIFYING_REFERENCES = frozenset({"1L", "1W", "28", "6P", "EA", "F6", "HJ", "IG", "SY"})

# Lake columns a staging view leaves out, and why (tests/test_fields.py checks every other one is there).
# The keys (file_key and the ordinals) go into the integer keys staging makes (docs/parser.md, "Keys and ids").
NOT_STAGED: dict[str, dict[str, str]] = {
    "payments": {"source": "as source_file"},
    "claims": {"transaction_ordinal": "in transaction_id"},
    "service_lines": {
        "file_key": "in the keys it makes (transaction_id, claim_id, ...)",
        "claim_number": "in claim_id and line_id",
        "transaction_ordinal": "in transaction_id",
        "service_date_from": "as service_date",
    },
    "adjustments": {
        "file_key": "in the keys it makes (transaction_id, claim_id, ...)",
        "claim_number": "in claim_id, line_id and adjustment_id",
        "line_number": "in line_id and adjustment_id",
    },
    "remarks": {
        "file_key": "in the keys it makes (transaction_id, claim_id, ...)",
        "claim_number": "in claim_id and line_id",
        "transaction_ordinal": "in transaction_id",
        "line_number": "in line_id",
    },
    "provider_adjustments": {
        "file_key": "in the keys it makes (transaction_id, claim_id, ...)",
        "transaction_ordinal": "in transaction_id",
    },
    "claim_references": {
        "file_key": "in the keys it makes (transaction_id, claim_id, ...)",
        "claim_number": "in claim_id and line_id",
        "transaction_ordinal": "in transaction_id",
        "line_number": "in line_id",
    },
    "provider_summaries": {
        "file_key": "in the keys it makes (transaction_id, claim_id, ...)",
        "transaction_ordinal": "in transaction_id",
    },
}

STAGING_VIEW = {
    "payments": "stg_payments",
    "claims": "stg_claims",
    "service_lines": "stg_service_lines",
    "adjustments": "stg_adjustments",
    "remarks": "stg_remarks",
    "provider_adjustments": "stg_provider_adjustments",
    "claim_references": "stg_claim_references",
    "provider_summaries": "stg_provider_summaries",
}


def plain(table: str, level: str | None = None) -> Iterator[Field]:
    """The fields of ``table`` that are their element's value as it is (built without a line of code)."""
    return (f for f in FIELDS if f.table == table and f.rule is None and (level is None or f.loop == level))


@dataclass(frozen=True)
class Source:
    """Segments of one loop level that fill a row's "first" slot (or open the row)."""

    level: str
    segment: str
    qualifier: str | None
    slot: int  # row of the walk's slot matrix for this level (-1: the row opener)
    copied: tuple[tuple[int, int], ...]  # (element, span column) the walk copies

    @property
    def name(self) -> str:
        return self.segment + (f"*{self.qualifier}" if self.qualifier else "")


# fixed rows of each level's slot matrix, ahead of the generated "first" slots (see core.walk)
FIXED_SLOTS = {
    "transaction": ("ST",),
    "claim": ("ROW", "TXN", "ORD", "SEGNO", "LINES"),
    "line": ("ROW", "CLAIM", "NO", "TXN"),
    "plb": (),
    "summary": ("ROW", "TXN", "ORD"),
}


@dataclass(frozen=True)
class Layout:
    """The core's view of ``FIELDS``: sources per level, slots and copied span columns."""

    sources: tuple[Source, ...]

    def __post_init__(self):
        # lookups by (level, source name), made once: the table builders ask for them per piece
        index = {(s.level, s.name): s for s in self.sources}
        columns = {(s.level, s.name, e): col for s in self.sources for e, col in s.copied}
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_columns", columns)

    def source(self, level: str, name: str) -> Source:
        return self._index[(level, name)]

    def slots(self, level: str) -> int:
        return len(FIXED_SLOTS[level]) + sum(1 for s in self.sources if s.level == level and s.slot >= 0)

    def width(self, level: str) -> int:
        return sum(len(s.copied) for s in self.sources if s.level == level)

    def column(self, level: str, name: str, element: int) -> int | None:
        """The span column the walk copies ``element`` of ``name`` into, or None (read by row)."""
        return self._columns.get((level, name, element))


def layout() -> Layout:
    """Sources in the order of ``FIELDS``; openers first in their level, copied columns numbered per level."""
    order: dict[tuple[str, str, str | None], set[tuple[int, bool]]] = {}
    for level in LEVELS:
        order[(level, OPENERS[level], None)] = set()
    for f in FIELDS:
        if f.rule and f.rule.startswith("every"):
            continue  # long tables: rows made by hand-written parts of the walk
        order.setdefault((f.loop, f.segment, f.qualifier), set()).add((f.element, f.copy))
    sources = []
    col = dict.fromkeys(LEVELS, 0)
    slot = {level: len(FIXED_SLOTS[level]) for level in LEVELS}
    for (level, seg, qual), elements in order.items():
        copied = []
        for e in sorted({e for e, cp in elements if cp}):
            copied.append((e, col[level]))
            col[level] += 1
        opener = seg == OPENERS[level] and qual is None
        sources.append(Source(level, seg, qual, -1 if opener else slot[level], tuple(copied)))
        if not opener:
            slot[level] += 1
    return Layout(tuple(sources))


def markdown() -> str:
    """The field table of docs/parser.md (between its ``fields:begin`` and ``fields:end`` markers)."""
    out = ["| table | column | segment | loop | element | type | meaning |", "|---|---|---|---|---|---|---|"]
    for f in FIELDS:
        how = f"{f.doc}; {f.rule}" if f.rule else f.doc
        seg = f.source.replace("*", "\\*")
        out.append(
            f"| `{f.table}` | `{f.column}` | {seg} | {f.loop} | {f.element:02d} | {f.type} | "
            + how.replace("*", "\\*").replace("|", "\\|")
            + " |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # python -m pipeline.x12.fields: print the docs table
    sys.stdout.write(markdown())
