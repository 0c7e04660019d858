-- name: marts.adjustment_detail
-- materialized: table
-- grain: one row per CAS adjustment (claim or line level) of a claim that survives reversal netting
-- depends_on: staging.stg_adjustments, staging.stg_claims, staging.stg_service_lines, marts.claim_netting,
--   ref.carc, ref.carc_group_guidance
-- description: Every adjustment after netting, with its CARC facts (ref.carc) and its group guidance
--   (ref.carc_group_guidance). The base of the denial, write-off, crossover and appeal marts.
-- column adjustment_id: Lake id of the adjustment.
-- column claim_id: Claim the adjustment belongs to.
-- column line_id: Service line for line-level adjustments; NULL at claim level.
-- column level: 'claim' or 'line'.
-- column payment_month: Payment month 'YYYY-MM' of the claim's payment.
-- column payer_key: Payer identity.
-- column claim_status_code: CLP02 of the claim.
-- column is_reversal: The claim is a reversal (an unmatched one: matched reversals are netted out).
-- column service_date: Line service date, else the claim's statement start date.
-- column group_code: CAS01 group code.
-- column reason_code: CARC.
-- column amount: Adjustment amount (positive reduces payment).
-- column carc_summary: What the CARC means (ref.carc.summary); NULL for a code not in the list.
-- column carc_category: Analytic category of the CARC (ref.carc.category).
-- column is_denial: The CARC is a denial reason (ref.carc.is_denial); false for unknown codes.
-- column is_expected_contractual: The CARC is an expected contractual reduction (ref.carc).
-- column is_crossover: The CARC is a dental-medical(-pharmacy) crossover code (ref.carc.is_crossover).
-- column crossover_direction: dental_to_medical, medical_to_dental, medical_to_pharmacy or both_denied.
-- column crossover_forwarded: The payer itself forwarded the claim to the other plan (290, 291, 292).
-- column who_pays: Who bears the amount (ref.carc_group_guidance).
-- column patient_billable: The provider may bill the patient for the amount.
-- column appealable: An appeal or reconsideration is a reasonable route.
-- column action: Recommended next step (write_off, appeal, correct_and_resubmit, ...).
-- column is_provider_absorbed: The provider absorbs the amount (ref.carc_group_guidance); false when no
--   guidance row exists (legacy CR group, unknown CARC).
-- column absorbed_category: expected_contractual, denial_writeoff, payer_initiated or other when absorbed.
SELECT
    a.adjustment_id,
    a.claim_id,
    a.line_id,
    a.level,
    c.payment_month,
    c.payer_key,
    c.claim_status_code,
    c.is_reversal,
    coalesce(l.service_date, c.statement_from_date) AS service_date,
    a.group_code,
    a.reason_code,
    a.amount,
    k.summary AS carc_summary,
    k.category AS carc_category,
    coalesce(k.is_denial, false) AS is_denial,
    coalesce(k.is_expected_contractual, false) AS is_expected_contractual,
    coalesce(k.is_crossover, false) AS is_crossover,
    k.crossover_direction,
    coalesce(k.crossover_forwarded, false) AS crossover_forwarded,
    g.who_pays,
    g.patient_billable,
    coalesce(g.appealable, false) AS appealable,
    g.action,
    coalesce(g.is_provider_absorbed, false) AS is_provider_absorbed,
    CASE WHEN g.is_provider_absorbed THEN g.absorbed_category END AS absorbed_category
FROM staging.stg_adjustments AS a
INNER JOIN staging.stg_claims AS c ON c.claim_id = a.claim_id
INNER JOIN marts.claim_netting AS n ON n.claim_id = a.claim_id AND NOT n.is_netted_out
LEFT JOIN staging.stg_service_lines AS l ON l.line_id = a.line_id
LEFT JOIN ref.carc AS k ON k.code = a.reason_code
LEFT JOIN ref.carc_group_guidance AS g ON g.reason_code = a.reason_code AND g.group_code = a.group_code
