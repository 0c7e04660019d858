-- name: marts.denials_by_carc_month
-- materialized: table
-- incremental: payment_month
-- additive: adjustment_count, dollars, claims_affected, lines_affected
-- grain: one row per payment_month x payer_key x group_code x reason_code (all adjustments after netting)
-- depends_on: marts.adjustment_detail, marts.dim_payer, ref.carc, ref.carc_group_guidance
-- description: Adjustment counts and dollars by CARC and group code per month and payer, for every
--   adjustment (not only denials: filter on is_denial, the denied dollars of docs/metrics.md, or on
--   adjustment_kind), with the CARC's summary and category and the
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
-- column is_denial: Denied dollars: a denial CARC (ref.carc.is_denial) that is not a duplicate, under CO, OA
--   or PI (adjustment_kind denial). PR denials, duplicates (18, B13, B20) and redirects are not.
-- column adjustment_kind: denial, patient_denial, duplicate, redirect or other (docs/metrics.md).
-- column is_crossover: The CARC is a crossover code.
-- column who_pays: Who bears the amount under this group code.
-- column patient_billable: The provider may bill the patient.
-- column appealable: An appeal is a reasonable route.
-- column action: Recommended next step.
-- column is_provider_absorbed: The provider absorbs the amount.
-- column absorbed_category: Split of provider-absorbed dollars.
-- unique_key: payment_month, payer_key, group_code, reason_code
-- tests: not_null(dollars), accepted_values(adjustment_kind: denial patient_denial duplicate redirect other)
WITH agg AS (
    SELECT
        payment_month,
        payer_key,
        group_code,
        reason_code,
        min(adjustment_kind) AS adjustment_kind,
        count(*) AS adjustment_count,
        CAST(sum(amount) AS DECIMAL(38, 2)) AS dollars,
        count(DISTINCT claim_id) AS claims_affected,
        count(DISTINCT line_id) AS lines_affected
    FROM marts.adjustment_detail
    GROUP BY payment_month, payer_key, group_code, reason_code
)
SELECT
    a.payment_month,
    a.payer_key,
    d.payer_name,
    d.plan_type,
    a.group_code,
    a.reason_code,
    a.adjustment_count,
    a.dollars,
    a.claims_affected,
    a.lines_affected,
    k.summary AS carc_summary,
    k.category AS carc_category,
    a.adjustment_kind = 'denial' AS is_denial,
    a.adjustment_kind,
    coalesce(k.is_crossover, false) AS is_crossover,
    g.who_pays,
    g.patient_billable,
    coalesce(g.appealable, false) AS appealable,
    g.action,
    coalesce(g.is_provider_absorbed, false) AS is_provider_absorbed,
    CASE WHEN g.is_provider_absorbed THEN g.absorbed_category END AS absorbed_category
FROM agg AS a
INNER JOIN marts.dim_payer AS d ON d.payer_key = a.payer_key
LEFT JOIN ref.carc AS k ON k.code = a.reason_code
LEFT JOIN ref.carc_group_guidance AS g ON g.reason_code = a.reason_code AND g.group_code = a.group_code
