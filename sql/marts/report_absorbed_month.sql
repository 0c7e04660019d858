-- name: marts.report_absorbed_month
-- materialized: table
-- grain: one row per payment_month x payer_scope x absorbed_category with absorbed dollars (payer_scope '*'
--   = all payers, else one payer_key; a category outside the four named ones is reported as other)
-- depends_on: marts.provider_absorbed_month
-- description: Provider-absorbed dollars per month and category, for the report's stacked chart.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column absorbed_category: expected_contractual, denial_writeoff, payer_initiated or other.
-- column dollars: Sum of the absorbed adjustment amounts.
-- unique_key: payment_month, payer_scope, absorbed_category
WITH base AS (
    SELECT
        payment_month,
        payer_key,
        CASE WHEN absorbed_category IN ('expected_contractual', 'denial_writeoff', 'payer_initiated')
            THEN absorbed_category ELSE 'other' END AS absorbed_category,
        dollars
    FROM marts.provider_absorbed_month
)
SELECT payment_month, payer_key AS payer_scope, absorbed_category,
    CAST(sum(dollars) AS DECIMAL(38, 2)) AS dollars
FROM base
GROUP BY payment_month, payer_key, absorbed_category
UNION ALL
SELECT payment_month, '*', absorbed_category, CAST(sum(dollars) AS DECIMAL(38, 2))
FROM base
GROUP BY payment_month, absorbed_category
