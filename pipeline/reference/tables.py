"""The shape of every reference table: columns, DuckDB types, allowed values and comments.

One ``TableSpec`` per seed CSV in ``reference/``. The CSV header must list exactly the spec's
``csv_columns`` in order; the loader checks it, converts each value to its DuckDB type and writes
``COMMENT ON`` text for the table and each column. Columns with ``in_csv=False`` are filled by the
loader (today only ``official_description``, from an imported official code list).
"""

from __future__ import annotations

from dataclasses import dataclass, field

CARC_CATEGORIES = (
    "contractual",
    "patient_responsibility",
    "eligibility_coverage",
    "authorization_referral",
    "coding_billing",
    "medical_necessity",
    "timely_filing",
    "duplicate",
    "coordination_of_benefits",
    "dental_medical_crossover",
    "benefit_limit_noncovered",
    "missing_information",
    "payer_processing",
    "other",
)
RARC_CATEGORIES = (
    "missing_information",
    "invalid_information",
    "coding_billing",
    "coverage_policy",
    "benefit_limit",
    "authorization_referral",
    "coordination_of_benefits",
    "patient_eligibility",
    "provider_enrollment",
    "pricing_payment",
    "appeal_rights",
    "patient_liability",
    "drug_pharmacy",
    "dme_supplies",
    "dental",
    "alert_informational",
    "other",
)
STATUSES = ("current", "deactivated")
CROSSOVER_DIRECTIONS = ("dental_to_medical", "medical_to_dental", "medical_to_pharmacy", "both_denied")
GROUP_CODES_5010 = ("CO", "PR", "OA", "PI")
WHO_PAYS = ("provider", "patient", "payer", "other_payer")
ACTIONS = (
    "write_off",
    "bill_patient",
    "correct_and_resubmit",
    "appeal",
    "review_and_decide",
    "submit_to_other_plan",
    "none",
)
ABSORBED_CATEGORIES = ("expected_contractual", "denial_writeoff", "payer_initiated", "other")
GUIDANCE_SOURCES = ("curated", "group_rule")
PLAN_FAMILIES = (
    "commercial",
    "medicare",
    "medicaid",
    "federal_military",
    "dental",
    "workers_comp",
    "auto_liability",
    "other",
    "mutually_defined",
)
PLB_EFFECTS = ("reduces_payment", "increases_payment", "either")
RARC_PLAYBOOK_SECTIONS = ("cause", "step")
CARC_PLAYBOOK_SECTIONS = ("tldr", "cause", "step", "appeal", "pairing", "example", "patient_impact")
CAUSE_FREQUENCIES = ("most common", "common", "occasional")
# carc.typical_rarcs holds this marker when the code was reviewed and no remark typically goes with it
# (an empty value means nobody has said).
NO_TYPICAL_RARCS = "none"


def typical_rarc_codes(value: str | None) -> list[str]:
    """The RARCs of a ``carc.typical_rarcs`` value: none for NULL, empty or the ``none`` marker."""
    if not value or value.strip() == NO_TYPICAL_RARCS:
        return []
    return value.split()


@dataclass(frozen=True)
class Column:
    """One column: DuckDB type, whether it may be empty, its allowed values and its comment."""

    name: str
    type: str
    comment: str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    in_csv: bool = True


@dataclass(frozen=True)
class TableSpec:
    """One reference table: ``ref.<name>`` loaded from ``reference/<csv>``."""

    name: str
    csv: str
    comment: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = field(default=("code",))

    @property
    def csv_columns(self) -> list[str]:
        """Column names as they appear in the CSV header, in order."""
        return [c.name for c in self.columns if c.in_csv]

    @property
    def qualified(self) -> str:
        """The table's name in DuckDB (``ref.<name>``)."""
        return f"ref.{self.name}"


def _dates(what: str) -> tuple[Column, ...]:
    return (
        Column(
            "start_date",
            "DATE",
            f"First published date of the {what} (WPC 2016-03-07 snapshot; NULL for codes added later).",
            required=False,
        ),
        Column(
            "last_modified_date",
            "DATE",
            f"Last wording change of the {what} as of the 2016 snapshot (later changes are not dated here).",
            required=False,
        ),
        Column(
            "stop_date",
            "DATE",
            f"After this date the {what} may not be used in an original adjudication (reversals excepted); "
            "NULL when none is known.",
            required=False,
        ),
    )


_OFFICIAL = Column(
    "official_description",
    "VARCHAR",
    "Official wording from a code list the user imported and licensed (remit reference import); NULL "
    "when none was imported. Never shipped with remit.",
    required=False,
    in_csv=False,
)

CARC = TableSpec(
    name="carc",
    csv="carc.csv",
    comment="Claim Adjustment Reason Codes (CAS02/05/...): every code of the X12 list (2026-08-17), with "
    "remit's own one-line summary, a category, denial/contractual/crossover flags and typical RARCs.",
    columns=(
        Column("code", "VARCHAR", "CARC as sent in CAS (no zero padding), e.g. '45', 'B15'."),
        Column("status", "VARCHAR", "current or deactivated (X12 list of 2026-08-17).", allowed=STATUSES),
        *_dates("CARC"),
        Column("summary", "VARCHAR", "What the code means, in remit's own words (not X12's text)."),
        Column(
            "category",
            "VARCHAR",
            "One analytic category per code (see reference/README.md).",
            allowed=CARC_CATEGORIES,
        ),
        Column(
            "is_denial",
            "BOOLEAN",
            "True when the code denies payment of the amount on its merits; false for cost sharing, "
            "pricing, contractual, informational and redirect codes.",
        ),
        Column(
            "is_expected_contractual",
            "BOOLEAN",
            "True when the amount is an expected contractual "
            "reduction (fee schedule, capitation, sequestration, negotiated discounts, withholds).",
        ),
        Column(
            "is_redirect",
            "BOOLEAN",
            "True when the code sends the amount to another plan or payer (e.g. 19, 22, 109, 254, 270, "
            "280, 290-292): not a denial on the merits, kept apart in denial metrics.",
        ),
        Column(
            "is_crossover",
            "BOOLEAN",
            "True for dental-medical(-pharmacy) crossover codes: 168, 254, 270, 280, 289, 290, 291, 292.",
        ),
        Column(
            "crossover_direction",
            "VARCHAR",
            "dental_to_medical, medical_to_dental, medical_to_pharmacy "
            "or both_denied; NULL when not a crossover code.",
            required=False,
            allowed=CROSSOVER_DIRECTIONS,
        ),
        Column(
            "crossover_forwarded",
            "BOOLEAN",
            "True when the payer itself forwarded the claim to the "
            "other plan (290, 291, 292); false otherwise.",
        ),
        Column(
            "typical_rarcs",
            "VARCHAR",
            "Space-separated RARCs commonly sent with this CARC (a hint, not a rule); 'none' when the "
            "code was reviewed and no remark is typical; NULL when nobody has said.",
            required=False,
        ),
        Column(
            "related_carcs",
            "VARCHAR",
            "Space-separated CARCs often confused with or following this one; NULL for codes not curated.",
            required=False,
        ),
        Column(
            "common_causes",
            "VARCHAR",
            "Usual reasons a payer sends the code (remit's words); NULL for codes not curated.",
            required=False,
        ),
        Column(
            "resolution_steps",
            "VARCHAR",
            "What the billing team should do (remit's words); NULL for codes not curated.",
            required=False,
        ),
        _OFFICIAL,
    ),
)

RARC = TableSpec(
    name="rarc",
    csv="rarc.csv",
    comment="Remittance Advice Remark Codes (LQ*HE, MIA, MOA): every code of the X12 list (2026-08-17), "
    "with remit's own summary, a category, an Alert flag and a dental flag.",
    columns=(
        Column("code", "VARCHAR", "RARC, e.g. 'M51', 'MA130', 'N290'."),
        Column("status", "VARCHAR", "current or deactivated (X12 list of 2026-08-17).", allowed=STATUSES),
        *_dates("RARC"),
        Column("summary", "VARCHAR", "What the remark means, in remit's own words (not X12's text)."),
        Column("is_alert", "BOOLEAN", "True when the official remark is an informational 'Alert:' remark."),
        Column(
            "category",
            "VARCHAR",
            "One analytic category per remark (see reference/README.md).",
            allowed=RARC_CATEGORIES,
        ),
        Column("is_dental", "BOOLEAN", "True when the remark is specifically about dental services."),
        _OFFICIAL,
    ),
)

CARC_GROUP_GUIDANCE = TableSpec(
    name="carc_group_guidance",
    csv="carc_group_guidance.csv",
    comment="What to do with a CARC under each group code (CO, PR, OA, PI): who pays, whether the patient "
    "may be billed, whether to appeal, and how provider-absorbed dollars are split. Four rows per CARC.",
    key=("reason_code", "group_code"),
    columns=(
        Column("reason_code", "VARCHAR", "CARC (joins ref.carc.code)."),
        Column("group_code", "VARCHAR", "CAS01 group code: CO, PR, OA or PI.", allowed=GROUP_CODES_5010),
        Column(
            "who_pays",
            "VARCHAR",
            "Who ends up bearing the amount: provider, patient, payer or other_payer.",
            allowed=WHO_PAYS,
        ),
        Column("patient_billable", "BOOLEAN", "True when the provider may bill the patient for the amount."),
        Column("appealable", "BOOLEAN", "True when an appeal or reconsideration is a reasonable route."),
        Column(
            "action",
            "VARCHAR",
            "Recommended next step: write_off, bill_patient, correct_and_resubmit, "
            "appeal, review_and_decide, submit_to_other_plan or none.",
            allowed=ACTIONS,
        ),
        Column("patient_impact", "VARCHAR", "Short phrase: what this means for the patient."),
        Column("is_provider_absorbed", "BOOLEAN", "True when the provider eats this amount (a write-off)."),
        Column(
            "absorbed_category",
            "VARCHAR",
            "Split of provider-absorbed dollars: expected_contractual, "
            "denial_writeoff, payer_initiated or other; NULL when not provider-absorbed.",
            required=False,
            allowed=ABSORBED_CATEGORIES,
        ),
        Column(
            "guidance_source",
            "VARCHAR",
            "curated (reviewed by hand) or group_rule (derived from the "
            "group code and the CARC's category by the documented rules).",
            allowed=GUIDANCE_SOURCES,
        ),
    ),
)

RARC_PLAYBOOK = TableSpec(
    name="rarc_playbook",
    csv="rarc_playbook.csv",
    comment="Why a payer sends a RARC and how to resolve it, in remit's own words: for each covered remark "
    "2-4 causes with how often each occurs and 3-6 numbered resolution steps, one row per item.",
    key=("code", "section", "rank"),
    columns=(
        Column("code", "VARCHAR", "RARC (joins ref.rarc.code)."),
        Column(
            "section",
            "VARCHAR",
            "cause (why the payer sends the remark) or step (what the billing team does).",
            allowed=RARC_PLAYBOOK_SECTIONS,
        ),
        Column(
            "rank", "INTEGER", "Order within the section, from 1: causes most frequent first, steps in order."
        ),
        Column(
            "frequency",
            "VARCHAR",
            "For a cause: most common, common or occasional; NULL for a step.",
            required=False,
            allowed=CAUSE_FREQUENCIES,
        ),
        Column("text", "VARCHAR", "One cause or one step, remit's own words (never the official wording)."),
    ),
)

CARC_PLAYBOOK = TableSpec(
    name="carc_playbook",
    csv="carc_playbook.csv",
    comment="The denial playbook for the CARCs that matter most (every crossover code and the codes that "
    "carry most denial dollars): a one-line TL;DR, causes with how often each occurs, numbered "
    "resolution steps, an appeal guide, plausible RARC pairings, examples and the patient impact, in "
    "remit's own words. Long format: one row per item.",
    key=("code", "section", "rank"),
    columns=(
        Column("code", "VARCHAR", "CARC (joins ref.carc.code); only current codes."),
        Column(
            "section",
            "VARCHAR",
            "tldr, cause, step, appeal, pairing, example or patient_impact.",
            allowed=CARC_PLAYBOOK_SECTIONS,
        ),
        Column("rank", "INTEGER", "Order within the code's section, from 1 (steps are done in this order)."),
        Column(
            "frequency",
            "VARCHAR",
            "How often the cause occurs: most common, common or occasional; NULL outside section cause.",
            required=False,
            allowed=CAUSE_FREQUENCIES,
        ),
        Column(
            "rarc",
            "VARCHAR",
            "The RARC paired with the code (joins ref.rarc.code); NULL outside section pairing.",
            required=False,
        ),
        Column(
            "text", "VARCHAR", "The item, in remit's own words (pairing: why the RARC goes with the code)."
        ),
    ),
)

GROUP_CODES = TableSpec(
    name="group_codes",
    csv="group_codes.csv",
    comment="CAS01 claim adjustment group codes: the four valid in 5010 plus legacy CR (4010 only).",
    columns=(
        Column("code", "VARCHAR", "Group code as sent in CAS01."),
        Column("name", "VARCHAR", "Short name."),
        Column("description", "VARCHAR", "What the group means for the provider and the patient."),
        Column("valid_in_5010", "BOOLEAN", "True when 005010X221A1 allows the code."),
        Column("is_legacy", "BOOLEAN", "True for codes accepted only from old (4010) files; flag them."),
        Column(
            "patient_billable", "BOOLEAN", "True when amounts in this group may be billed to the patient."
        ),
    ),
)

CLAIM_STATUS_CODES = TableSpec(
    name="claim_status_codes",
    csv="claim_status_codes.csv",
    comment="CLP02 claim status codes valid in 5010, with the flags remit's denial metrics use.",
    columns=(
        Column("code", "VARCHAR", "CLP02 value."),
        Column("description", "VARCHAR", "What the status means (remit's wording)."),
        Column(
            "payer_sequence",
            "INTEGER",
            "1, 2 or 3 when the payer processed as primary, secondary or tertiary; NULL otherwise.",
            required=False,
        ),
        Column("is_denied", "BOOLEAN", "True for status 4 (denied)."),
        Column("is_reversal", "BOOLEAN", "True for status 22 (reversal of an earlier payment)."),
        Column(
            "is_forwarded",
            "BOOLEAN",
            "True when the payer forwarded the claim to another payer (19, 20, 21, 23).",
        ),
        Column(
            "counts_as_remit",
            "BOOLEAN",
            "True when the claim counts as an adjudicated remit in denial-"
            "rate denominators (false for reversals, pricing-only and not-our-claim).",
        ),
    ),
)

CLAIM_FILING_INDICATORS = TableSpec(
    name="claim_filing_indicators",
    csv="claim_filing_indicators.csv",
    comment="CLP06 claim filing indicator codes valid in 5010, with the plan family each belongs to.",
    columns=(
        Column("code", "VARCHAR", "CLP06 value."),
        Column("description", "VARCHAR", "The kind of plan (remit's wording)."),
        Column("plan_family", "VARCHAR", "Coarse plan family for reporting.", allowed=PLAN_FAMILIES),
        Column("is_dental", "BOOLEAN", "True for a dental plan (17, dental maintenance organization)."),
    ),
)

PLB_REASON_CODES = TableSpec(
    name="plb_reason_codes",
    csv="plb_reason_codes.csv",
    comment="PLB03-1 provider-level adjustment reason codes valid in 5010 (positive amount reduces the "
    "payment, negative increases it).",
    columns=(
        Column("code", "VARCHAR", "PLB03-1 (and 05-1, 07-1 ...) value."),
        Column("description", "VARCHAR", "What the provider-level adjustment is (remit's wording)."),
        Column(
            "usual_effect",
            "VARCHAR",
            "Usual direction: reduces_payment, increases_payment or either.",
            allowed=PLB_EFFECTS,
        ),
        Column("sign_meaning", "VARCHAR", "What a positive and a negative amount mean for this code."),
    ),
)

PROCEDURE_QUALIFIERS = TableSpec(
    name="procedure_qualifiers",
    csv="procedure_qualifiers.csv",
    comment="SVC01-1 / SVC06-1 product or service id qualifiers valid in 5010.",
    columns=(
        Column("code", "VARCHAR", "SVC01-1 value."),
        Column("description", "VARCHAR", "The code system the procedure code belongs to (remit's wording)."),
        Column("is_dental", "BOOLEAN", "True for AD (ADA dental codes)."),
        Column("valid_in_svc06", "BOOLEAN", "True when also allowed as SVC06-1 (original submitted code)."),
    ),
)

REFERENCE_TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        CARC,
        RARC,
        CARC_GROUP_GUIDANCE,
        RARC_PLAYBOOK,
        CARC_PLAYBOOK,
        GROUP_CODES,
        CLAIM_STATUS_CODES,
        CLAIM_FILING_INDICATORS,
        PLB_REASON_CODES,
        PROCEDURE_QUALIFIERS,
    )
}
