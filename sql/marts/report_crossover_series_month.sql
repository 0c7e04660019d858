-- name: marts.report_crossover_series_month
-- materialized: view
-- grain: one row per payment_month x payer_scope x crossover_direction with crossover adjustments ('*' =
--   all payers, else one payer_key)
-- depends_on: marts.crossover_month
-- description: Crossover dollars per month and direction (payers and CARCs added), for the report's
--   stacked crossover chart: at most five series (the four directions and 'unknown'), one colour each.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column crossover_direction: dental_to_medical, medical_to_dental, medical_to_pharmacy, both_denied (or
--   unknown for a crossover CARC without a direction in ref.carc).
-- column dollars: Sum of the crossover adjustment amounts.
-- unique_key: payment_month, payer_scope, crossover_direction
WITH base AS (
    SELECT payment_month, payer_key, coalesce(crossover_direction, 'unknown') AS crossover_direction,
        sum(dollars) AS dollars
    FROM marts.crossover_month
    GROUP BY payment_month, payer_key, coalesce(crossover_direction, 'unknown')
)
SELECT payment_month, '*' AS payer_scope, crossover_direction, CAST(sum(dollars) AS DECIMAL(38, 2)) AS dollars
FROM base
GROUP BY payment_month, crossover_direction
UNION ALL
SELECT payment_month, payer_key, crossover_direction, CAST(dollars AS DECIMAL(38, 2))
FROM base
