-- name: marts.report_checks_period
-- materialized: view
-- grain: one row per period_end x payer_scope ('*' = all payers, else one payer_key) with an adjustment
--   that used an expired CARC in the period
-- depends_on: marts.report_periods, marts.expired_carc_adjustments
-- description: The report's warehouse check figures: adjustments in marts.expired_carc_adjustments over the
--   12 months ending period_end, and their dollars. No row: none.
-- column period_end: Last month of the period.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column expired_adjustments: Adjustments that used a CARC after its stop date.
-- column expired_dollars: Their amounts.
-- unique_key: period_end, payer_scope
WITH base AS (
    SELECT p.period_end, e.payer_key, e.amount
    FROM marts.report_periods AS p
    INNER JOIN marts.expired_carc_adjustments AS e ON e.payment_month = p.payment_month
)
SELECT period_end, '*' AS payer_scope, CAST(count(*) AS BIGINT) AS expired_adjustments,
    CAST(sum(amount) AS DECIMAL(38, 2)) AS expired_dollars
FROM base
GROUP BY period_end
UNION ALL
SELECT period_end, payer_key, CAST(count(*) AS BIGINT), CAST(sum(amount) AS DECIMAL(38, 2))
FROM base
GROUP BY period_end, payer_key
