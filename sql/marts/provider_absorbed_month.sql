-- name: marts.provider_absorbed_month
-- materialized: table
-- incremental: payment_month
-- additive: adjustment_count, dollars, claims
-- grain: one row per payment_month x payer_key x absorbed_category
-- depends_on: marts.adjustment_detail, marts.dim_payer
-- description: Dollars the provider absorbs (adjustments whose ref.carc_group_guidance row says
--   is_provider_absorbed), split by the guidance's absorbed_category: expected_contractual,
--   denial_writeoff, payer_initiated or other.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type.
-- column absorbed_category: expected_contractual, denial_writeoff, payer_initiated or other.
-- column dollars: Sum of the absorbed adjustment amounts.
-- column claims: Distinct claims with such an adjustment.
-- column adjustment_count: Number of absorbed adjustments.
-- unique_key: payment_month, payer_key, absorbed_category
SELECT
    a.payment_month,
    a.payer_key,
    d.payer_name,
    d.plan_type,
    a.absorbed_category,
    CAST(sum(a.amount) AS DECIMAL(38, 2)) AS dollars,
    count(DISTINCT a.claim_id) AS claims,
    count(*) AS adjustment_count
FROM marts.adjustment_detail AS a
INNER JOIN marts.dim_payer AS d ON d.payer_key = a.payer_key
WHERE a.is_provider_absorbed
GROUP BY a.payment_month, a.payer_key, d.payer_name, d.plan_type, a.absorbed_category
