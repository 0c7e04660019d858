-- name: marts.handbook_carc_claims_month
-- materialized: table
-- incremental: payment_month
-- additive: claims_affected
-- grain: one row per payment_month x payer_key x reason_code (all adjustments after netting, any group
--   code)
-- depends_on: marts.adjustment_detail
-- description: How many claims carry each CARC, under any group code, per month and payer: the handbook's
--   all-groups claim count (marts.handbook_carc_summary, group_scope '*'). Per group code the count is
--   marts.denials_by_carc_month.claims_affected. A claim belongs to one payment month and one payer, so
--   these counts add up over months and payers to distinct claims; a claim with the CARC under two group
--   codes counts once here, once per group code there.
-- column payment_month: Payment month 'YYYY-MM' of the claims.
-- column payer_key: Payer identity.
-- column reason_code: CARC.
-- column claims_affected: Distinct claims with at least one adjustment with the CARC (claim or line
--   level, any group code).
-- unique_key: payment_month, payer_key, reason_code
-- tests: not_null(claims_affected)
SELECT
    payment_month,
    payer_key,
    reason_code,
    count(DISTINCT claim_id) AS claims_affected
FROM marts.adjustment_detail
GROUP BY payment_month, payer_key, reason_code
