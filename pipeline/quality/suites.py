"""The expectation suites, kept as code: what is checked, on which table, how severe a failure is, why.

Each ``Check`` becomes one Great Expectations expectation (``expectation`` is the GX class name,
``kwargs`` its arguments). Values that come from the reference tables or the run date are suite
parameters (``{"$PARAMETER": name}``) filled in at run time, so one suite serves every night.

Severity (see docs/quality.md for the reasoning):

- ``critical``: a batch row failing it means the file's dollars or keys cannot be trusted; the file is
  quarantined and ``remit run`` exits non-zero. In the warehouse suite a critical failure means a
  published mart is wrong. A business rule about one row (a claim that does not balance, an unknown
  claim status) is never critical in the batch suite: a whole file would be lost for one row.
- ``warning``: published anyway, reported in Data Docs and ``quality.results``.

This module imports nothing heavy; GX objects are built from these specs in ``pipeline.quality.gx``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.quality.report import CRITICAL, WARNING

BATCH = "batch"
WAREHOUSE = "warehouse"

# The plausible window for any date in an 835: nothing before 1990 (electronic remittance predates
# HIPAA's 835 only by a few years, so earlier dates are typos such as 1900-01-01 or a swapped
# century), nothing more than a year after the check (payers post-date by days, not years).
DATE_MIN = dt.date(1990, 1, 1)
# The most ST/SE transactions one file may hold: the ST ordinal's share of intermediate.int_claims.seq
# (sql/intermediate/int_claims.sql packs payment date, file key, ST ordinal and CLP position into one
# DECIMAL(38, 0)); the batch suite refuses a file with more.
MAX_TRANSACTIONS_PER_FILE = 9_999
DATE_MAX_AHEAD = dt.timedelta(days=366)

GROUP_CODES = ("CO", "PR", "OA", "PI")
LEGACY_GROUP_CODES = ("CR",)
# Remark sources that carry a RARC; LQ_RX (LQ01 = RX) carries an NCPDP reject code instead.
RARC_SOURCES = ("LQ", "MIA", "MOA")
# Share of rows that must carry a known code before the code-list expectations fail. Unknown codes
# are listed in the outcome whatever the share.
KNOWN_CODE_MOSTLY = 0.99
# A column the batch suite derives on payments: the date payment_month is taken from, by the lake's
# rule (pipeline.lake.worker.payment_months): BPR16 payment_date, else DTM*405 production_date.
MONTH_BASIS = "month_basis_date"


def _param(name: str) -> dict[str, str]:
    return {"$PARAMETER": name}


@dataclass(frozen=True)
class Check:
    """One expectation of a suite.

    ``asset`` is the dataframe it runs on (a parsed table, or a frame the warehouse suite derives),
    ``id_column`` the column naming an offending row in the outcome's ``sample_ids``.
    """

    name: str
    asset: str
    expectation: str
    kwargs: Mapping[str, Any]
    severity: str
    id_column: str | None
    why: str
    mostly: float | None = None


def _not_null(asset: str, column: str, id_column: str, severity: str, why: str) -> Check:
    return Check(
        f"{asset}.{column}.not_null",
        asset,
        "ExpectColumnValuesToNotBeNull",
        {"column": column},
        severity,
        id_column,
        why,
    )


def _unique(asset: str, column: str, why: str) -> Check:
    return Check(
        f"{asset}.{column}.unique",
        asset,
        "ExpectColumnValuesToBeUnique",
        {"column": column},
        CRITICAL,
        column,
        why,
    )


def _in_range(asset: str, column: str, id_column: str, severity: str, why: str) -> Check:
    return Check(
        f"{asset}.{column}.plausible",
        asset,
        "ExpectColumnValuesToBeBetween",
        {"column": column, "min_value": _param("date_min"), "max_value": _param("date_max")},
        severity,
        id_column,
        why,
    )


def _balanced(asset: str, id_column: str, severity: str, why: str) -> Check:
    return Check(
        f"{asset}.is_balanced",
        asset,
        "ExpectColumnValuesToBeInSet",
        {"column": "is_balanced", "value_set": [True]},
        severity,
        id_column,
        why,
    )


_KEY = "a null or repeated key breaks every join and counts rows twice"
_MONEY = "a missing amount would be summed as nothing and skew every dollar figure"
_DATE_INFO = "informational date; a wrong one misleads lag and aging figures but not the dollars"

BATCH_CHECKS: tuple[Check, ...] = (
    # payments: one row per ST/SE transaction
    _not_null("payments", "transaction_id", "transaction_id", CRITICAL, _KEY),
    _unique("payments", "transaction_id", _KEY),
    _not_null("payments", "payment_amount", "transaction_id", CRITICAL, _MONEY),
    _not_null(
        "payments",
        "payment_date",
        "transaction_id",
        WARNING,
        "BPR16 is required; without it the lake takes the month from DTM*405 (month_basis_date)",
    ),
    _not_null(
        "payments",
        MONTH_BASIS,
        "transaction_id",
        CRITICAL,
        "neither BPR16 nor DTM*405: the lake would file the payment's dollars under month 'unknown'",
    ),
    _in_range(
        "payments",
        MONTH_BASIS,
        "transaction_id",
        CRITICAL,
        "payment_month comes from BPR16 (else DTM*405); an impossible date puts the dollars in a wrong month",
    ),
    _in_range("payments", "production_date", "transaction_id", WARNING, _DATE_INFO),
    Check(
        "payments.transaction_ordinal.fits_claim_order",
        "payments",
        "ExpectColumnValuesToBeBetween",
        {"column": "transaction_ordinal", "min_value": 1, "max_value": MAX_TRANSACTIONS_PER_FILE},
        CRITICAL,
        "transaction_id",
        f"claim order (intermediate.int_claims.seq) has room for {MAX_TRANSACTIONS_PER_FILE:,} ST/SE "
        "transactions in one file: a file with more is refused here, naming it, instead of failing every "
        "night's build until it is removed (split the file, or ask the sender for smaller ones)",
    ),
    Check(
        "payments.version.is_5010",
        "payments",
        "ExpectColumnValuesToBeInSet",
        {"column": "version", "value_set": ["005010X221A1", "005010X221"]},
        WARNING,
        "transaction_id",
        "a 4010 payment (004010X091A1) is loaded with its version recorded (docs/parser.md) and listed, "
        "so the sender can be asked for 5010; the parser refuses every other guide",
    ),
    _balanced(
        "payments",
        "transaction_id",
        WARNING,
        "BPR02 = Σ CLP04 − Σ PLB fails: the transaction's claims do not add up to the money paid. The "
        "parser loads it flagged (is_balanced, balance_difference): the payer's own figures stay visible "
        "and the offending transactions are listed, instead of the whole file being lost",
    ),
    # claims
    _not_null("claims", "claim_id", "claim_id", CRITICAL, _KEY),
    _unique("claims", "claim_id", _KEY),
    Check(
        "claims.claim_status_code.valid",
        "claims",
        "ExpectColumnValuesToBeInSet",
        {"column": "claim_status_code", "value_set": _param("claim_status_codes")},
        WARNING,
        "claim_id",
        "CLP02 decides denied / reversed / forwarded; a claim with an unknown status is loaded and "
        "listed (only its own classification is in doubt, not the rest of its file)",
    ),
    Check(
        "claims.claim_filing_indicator.valid",
        "claims",
        "ExpectColumnValuesToBeInSet",
        {"column": "claim_filing_indicator", "value_set": _param("claim_filing_indicators")},
        WARNING,
        "claim_id",
        "CLP06 only segments payers by plan type; dollars stay right with an odd value",
    ),
    _not_null("claims", "charge_amount", "claim_id", CRITICAL, _MONEY),
    _not_null("claims", "paid_amount", "claim_id", CRITICAL, _MONEY),
    _in_range("claims", "statement_from_date", "claim_id", WARNING, _DATE_INFO),
    _in_range("claims", "statement_to_date", "claim_id", WARNING, _DATE_INFO),
    _in_range("claims", "received_date", "claim_id", WARNING, _DATE_INFO),
    _balanced(
        "claims",
        "claim_id",
        WARNING,
        "CLP03 − Σ CAS = CLP04 fails: the adjustments that feed the denial marts do not explain the claim. "
        "Loaded flagged, as the parser contract says, and the offending claims are listed: one claim off "
        "by a cent must not take every other claim of its file out of the analytics",
    ),
    # service lines
    _not_null("service_lines", "line_id", "line_id", CRITICAL, _KEY),
    _unique("service_lines", "line_id", _KEY),
    _not_null("service_lines", "charge_amount", "line_id", CRITICAL, _MONEY),
    _not_null("service_lines", "paid_amount", "line_id", CRITICAL, _MONEY),
    _in_range("service_lines", "service_date_from", "line_id", WARNING, _DATE_INFO),
    _in_range("service_lines", "service_date_to", "line_id", WARNING, _DATE_INFO),
    _balanced(
        "service_lines",
        "line_id",
        WARNING,
        "SVC02 − Σ line CAS = SVC03 fails on a line whose claim may still balance: claim and CAS dollars are "
        "right (claim balancing is checked too), only that line's charge/paid split is suspect",
    ),
    # adjustments (CAS)
    _not_null("adjustments", "adjustment_id", "adjustment_id", CRITICAL, _KEY),
    _unique("adjustments", "adjustment_id", _KEY),
    _not_null(
        "adjustments", "group_code", "adjustment_id", CRITICAL, "every denial mart is split by group code"
    ),
    Check(
        "adjustments.group_code.valid",
        "adjustments",
        "ExpectColumnValuesToBeInSet",
        {"column": "group_code", "value_set": [*GROUP_CODES, *LEGACY_GROUP_CODES]},
        CRITICAL,
        "adjustment_id",
        "an unknown group code cannot be assigned to provider, patient or payer: its dollars would vanish",
    ),
    Check(
        "adjustments.group_code.not_legacy",
        "adjustments",
        "ExpectColumnValuesToNotBeInSet",
        {"column": "group_code", "value_set": list(LEGACY_GROUP_CODES)},
        WARNING,
        "adjustment_id",
        "CR existed only in 4010; accepted from old files, flagged so the sender can be asked",
    ),
    _not_null("adjustments", "reason_code", "adjustment_id", CRITICAL, "a CAS amount without its reason"),
    Check(
        "adjustments.reason_code.known_carc",
        "adjustments",
        "ExpectColumnValuesToBeInSet",
        {"column": "reason_code", "value_set": _param("carc_codes")},
        WARNING,
        "adjustment_id",
        "a CARC missing from ref.carc (e.g. published after our list) keeps its dollars but loses its "
        "description and category; the unknown codes are listed",
        mostly=KNOWN_CODE_MOSTLY,
    ),
    _not_null("adjustments", "amount", "adjustment_id", CRITICAL, _MONEY),
    # remarks (RARC sources only)
    Check(
        "remarks.remark_code.known_rarc",
        "remarks",
        "ExpectColumnValuesToBeInSet",
        {"column": "remark_code", "value_set": _param("rarc_codes")},
        WARNING,
        "claim_id",
        "a RARC missing from ref.rarc only loses its description; the unknown codes are listed",
        mostly=KNOWN_CODE_MOSTLY,
    ),
    # provider-level adjustments (PLB)
    _not_null("provider_adjustments", "amount", "transaction_id", CRITICAL, _MONEY),
    _in_range("provider_adjustments", "fiscal_period_date", "transaction_id", WARNING, _DATE_INFO),
    # claim and line references (REF), provider summaries (LX/TS3/TS2)
    _not_null(
        "claim_references",
        "qualifier",
        "claim_id",
        WARNING,
        "a REF value without its qualifier means nothing; no dollar figure depends on it",
    ),
    _in_range("provider_summaries", "fiscal_period_date", "transaction_id", WARNING, _DATE_INFO),
    # submitted claims and lines (837)
    _not_null("submitted_claims", "submitted_claim_id", "submitted_claim_id", CRITICAL, _KEY),
    _unique("submitted_claims", "submitted_claim_id", _KEY),
    _not_null(
        "submitted_claims",
        "patient_control_number",
        "submitted_claim_id",
        CRITICAL,
        "CLM01 is what a remit's CLP01 is matched on: a claim without it can never be answered",
    ),
    _not_null("submitted_claims", "claim_charge", "submitted_claim_id", CRITICAL, _MONEY),
    Check(
        "submitted_claims.claim_type.valid",
        "submitted_claims",
        "ExpectColumnValuesToBeInSet",
        {"column": "claim_type", "value_set": ["professional", "institutional", "dental"]},
        CRITICAL,
        "submitted_claim_id",
        "every submitted-basis figure is split by claim type; the parser only reads these three guides",
    ),
    Check(
        "submitted_claims.claim_charge.not_negative",
        "submitted_claims",
        "ExpectColumnValuesToBeBetween",
        {"column": "claim_charge", "min_value": 0},
        WARNING,
        "submitted_claim_id",
        "CLM02 is a charge, never negative (a void is CLM05-3 = 8, not a negative amount); a negative one "
        "would lower the submitted dollars every denial rate divides by",
    ),
    _balanced(
        "submitted_claims",
        "submitted_claim_id",
        WARNING,
        "CLM02 must equal the sum of the line charges (an 837 balancing rule payers reject claims for); "
        "loaded flagged and listed, since the claim was sent as it is",
    ),
    _not_null(
        "submitted_claims",
        "payer_id",
        "submitted_claim_id",
        WARNING,
        "without the 2010BB payer id a submission is matched to remits by its CLM01 alone (docs/parser.md)",
    ),
    _in_range("submitted_claims", "submission_date", "submitted_claim_id", WARNING, _DATE_INFO),
    _not_null("submitted_lines", "line_charge", "submitted_claim_id", CRITICAL, _MONEY),
    _in_range("submitted_lines", "service_date", "submitted_claim_id", WARNING, _DATE_INFO),
)

WAREHOUSE_CHECKS: tuple[Check, ...] = (
    Check(
        "marts.non_empty",
        "mart_sizes",
        "ExpectColumnValuesToBeBetween",
        {"column": "row_count", "min_value": 1},
        CRITICAL,
        "mart",
        "an empty (or missing) core mart after a build means a step silently produced nothing (sized once "
        "the lake holds a remitted claim: a lake of 837s alone leaves them empty; the adjustment marts once "
        "there is an adjustment, or an absorbed one: claims paid as billed leave them empty)",
    ),
    Check(
        "marts.sparse_non_empty",
        "sparse_mart_sizes",
        "ExpectColumnValuesToBeBetween",
        {"column": "row_count", "min_value": 1},
        WARNING,
        "mart",
        "crossover and appeal marts can be empty on a small or clean night; reported, not blocking",
    ),
    Check(
        "marts.cover_loaded_months",
        "mart_months",
        "ExpectColumnValuesToBeBetween",
        {"column": "row_count", "min_value": 1},
        CRITICAL,
        "key",
        "claim_outcomes and kpi_month must hold every payment month that has a claim after netting",
    ),
    Check(
        "marts.sparse_cover_loaded_months",
        "sparse_mart_months",
        "ExpectColumnValuesToBeBetween",
        {"column": "row_count", "min_value": 1},
        WARNING,
        "key",
        "a month without any adjustment (denials) or any provider write-off is implausible but possible",
    ),
    Check(
        "denials_by_carc_month.reconciles_with_lake",
        "denials_reconciliation",
        "ExpectColumnPairValuesToBeEqual",
        {"column_A": "mart_dollars", "column_B": "lake_dollars"},
        CRITICAL,
        "key",
        "Σ adjustment dollars per month and group in the mart must equal the lake after the same exclusions",
    ),
    Check(
        "month_marts.tie_to_denials_by_carc_month",
        "month_mart_ties",
        "ExpectColumnPairValuesToBeEqual",
        {"column_A": "mart_dollars", "column_B": "base_dollars"},
        CRITICAL,
        "key",
        "a night updates these month marts by difference: their dollars must still add up to "
        "denials_by_carc_month's (procedures per month, group and CARC; absorbed dollars per month and "
        "payer)",
    ),
    Check(
        "month_marts.adjustments_tie_to_denials_by_carc_month",
        "month_mart_ties",
        "ExpectColumnPairValuesToBeEqual",
        {"column_A": "mart_adjustments", "column_B": "base_adjustments"},
        CRITICAL,
        "key",
        "same, for the number of adjustments",
    ),
    Check(
        "models.header_tests",
        "model_tests",
        "ExpectColumnValuesToBeBetween",
        {"column": "failures", "max_value": 0},
        CRITICAL,
        "key",
        "every model's '-- unique_key:' and '-- tests:' header lines (sql/): a grain that does not hold "
        "counts rows twice; a value outside its documented set is a rule the SQL no longer follows",
    ),
    _not_null("claim_outcomes", "claim_id", "claim_id", CRITICAL, _KEY),
    Check(
        "claim_outcomes.claim_id.unique",
        "claim_outcomes",
        "ExpectColumnValuesToBeUnique",
        {"column": "claim_id"},
        CRITICAL,
        "claim_id",
        "a claim counted twice after reversal netting inflates every rate",
    ),
)

SUITES: dict[str, tuple[Check, ...]] = {BATCH: BATCH_CHECKS, WAREHOUSE: WAREHOUSE_CHECKS}


def assets(suite: str) -> list[str]:
    """The assets (dataframes) a suite runs on, in first-use order."""
    seen: dict[str, None] = {}
    for check in SUITES[suite]:
        seen.setdefault(check.asset, None)
    return list(seen)


def date_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The plausible date range ``(1990-01-01, today + 366 days)`` used by every date check."""
    return DATE_MIN, today + DATE_MAX_AHEAD
