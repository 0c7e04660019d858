-- name: marts.denials_by_carc_month
-- materialized: table
-- grain: one row per payment_month x payer_key x group_code x reason_code (all adjustments after netting)
-- depends_on: marts.adjustment_detail, marts.dim_payer
-- description: Adjustment counts and dollars by CARC and group code per month and payer, for every
--   adjustment (not only denials: filter on is_denial), with the CARC's summary and category and the
--   group guidance. Dollars summed over all rows equal the lake's adjustment dollars after netting.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type ('unknown' when not in payers.csv).
-- column group_code: CAS01 group code.
-- column reason_code: CARC.
-- column adjustment_count: Number of CAS adjustments (a reversal whose original is not in the lake counts
--   one, with negative dollars).
-- column dollars: Sum of adjustment amounts.
-- column claims_affected: Distinct claims with at least one such adjustment (claim or line level).
-- column lines_affected: Distinct service lines with such a line-level adjustment.
-- column carc_summary: What the CARC means (ref.carc.summary).
-- column carc_category: Analytic category of the CARC.
-- column is_denial: The CARC is a denial reason.
-- column is_crossover: The CARC is a crossover code.
-- column who_pays: Who bears the amount under this group code.
-- column patient_billable: The provider may bill the patient.
-- column appealable: An appeal is a reasonable route.
-- column action: Recommended next step.
-- column is_provider_absorbed: The provider absorbs the amount.
-- column absorbed_category: Split of provider-absorbed dollars.
SELECT
    a.payment_month,
    a.payer_key,
    d.payer_name,
    d.plan_type,
    a.group_code,
    a.reason_code,
    count(*) AS adjustment_count,
    CAST(sum(a.amount) AS DECIMAL(18, 2)) AS dollars,
    count(DISTINCT a.claim_id) AS claims_affected,
    count(DISTINCT a.line_id) AS lines_affected,
    min(a.carc_summary) AS carc_summary,
    min(a.carc_category) AS carc_category,
    bool_or(a.is_denial) AS is_denial,
    bool_or(a.is_crossover) AS is_crossover,
    min(a.who_pays) AS who_pays,
    bool_or(a.patient_billable) AS patient_billable,
    bool_or(a.appealable) AS appealable,
    min(a.action) AS action,
    bool_or(a.is_provider_absorbed) AS is_provider_absorbed,
    min(a.absorbed_category) AS absorbed_category
FROM marts.adjustment_detail AS a
INNER JOIN marts.dim_payer AS d ON d.payer_key = a.payer_key
GROUP BY a.payment_month, a.payer_key, d.payer_name, d.plan_type, a.group_code, a.reason_code
