-- name: marts.report_absorbed_period
-- materialized: view
-- grain: one row per period_end x payer_scope x payer_key (payer_key '*' = the total of the scope;
--   payer_scope '*' = all payers, else one payer_key) with absorbed dollars in the period
-- depends_on: marts.report_periods, marts.provider_absorbed_month
-- description: The report's "dollars the practice absorbs": provider-absorbed adjustment dollars
--   (marts.provider_absorbed_month) over the 12 months ending period_end, one column per absorbed_category
--   (a category outside the four named ones counts as other), with each category's share of the row's
--   total and the payer's share of the scope's denial_writeoff dollars. total_rank orders payers by total
--   (1 = most); the '*' row has rank 0.
-- column period_end: Last month of the period.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column payer_key: A payer, or '*' for the scope's total row.
-- column payer_name: Payer name (NULL on the total row).
-- column expected_contractual: Absorbed dollars in category expected_contractual.
-- column denial_writeoff: Absorbed dollars in category denial_writeoff (denial adjustments as remitted).
-- column payer_initiated: Absorbed dollars in category payer_initiated.
-- column other: Absorbed dollars in any other category.
-- column total: Sum of the four.
-- column expected_contractual_share: expected_contractual / total.
-- column denial_writeoff_share: denial_writeoff / total.
-- column payer_initiated_share: payer_initiated / total.
-- column other_share: other / total.
-- column share_of_scope_denial_writeoff: denial_writeoff / the scope's denial_writeoff.
-- column total_rank: 1 = the payer with the most absorbed dollars in the scope (ties: payer_key); 0 on '*'.
-- column denial_writeoff_rank: 1 = the payer with the most denial_writeoff dollars (ties: payer_key); 0 on '*'.
-- unique_key: period_end, payer_scope, payer_key
WITH base AS (
    SELECT
        p.period_end,
        a.payer_key,
        min(a.payer_name) AS payer_name,
        sum(CASE WHEN a.absorbed_category = 'expected_contractual' THEN a.dollars ELSE 0 END)
            AS expected_contractual,
        sum(CASE WHEN a.absorbed_category = 'denial_writeoff' THEN a.dollars ELSE 0 END) AS denial_writeoff,
        sum(CASE WHEN a.absorbed_category = 'payer_initiated' THEN a.dollars ELSE 0 END) AS payer_initiated,
        sum(CASE WHEN a.absorbed_category NOT IN ('expected_contractual', 'denial_writeoff', 'payer_initiated')
            THEN a.dollars ELSE 0 END) AS other
    FROM marts.report_periods AS p
    INNER JOIN marts.provider_absorbed_month AS a ON a.payment_month = p.payment_month
    GROUP BY p.period_end, a.payer_key
),
scoped AS (
    SELECT period_end, '*' AS payer_scope, payer_key, payer_name, expected_contractual, denial_writeoff,
        payer_initiated, other
    FROM base
    UNION ALL
    SELECT period_end, payer_key, payer_key, payer_name, expected_contractual, denial_writeoff,
        payer_initiated, other
    FROM base
),
with_totals AS (
    SELECT period_end, payer_scope, payer_key, payer_name, expected_contractual, denial_writeoff,
        payer_initiated, other
    FROM scoped
    UNION ALL
    SELECT period_end, payer_scope, '*', CAST(NULL AS VARCHAR), sum(expected_contractual),
        sum(denial_writeoff), sum(payer_initiated), sum(other)
    FROM scoped
    GROUP BY period_end, payer_scope
),
totalled AS (
    SELECT
        *,
        expected_contractual + denial_writeoff + payer_initiated + other AS total,
        sum(CASE WHEN payer_key = '*' THEN denial_writeoff END) OVER (PARTITION BY period_end, payer_scope)
            AS scope_denial_writeoff
    FROM with_totals
)
SELECT
    period_end,
    payer_scope,
    payer_key,
    payer_name,
    CAST(expected_contractual AS DECIMAL(38, 2)) AS expected_contractual,
    CAST(denial_writeoff AS DECIMAL(38, 2)) AS denial_writeoff,
    CAST(payer_initiated AS DECIMAL(38, 2)) AS payer_initiated,
    CAST(other AS DECIMAL(38, 2)) AS other,
    CAST(total AS DECIMAL(38, 2)) AS total,
    CAST(round(expected_contractual / nullif(total, 0), 6) AS DECIMAL(12, 6)) AS expected_contractual_share,
    CAST(round(denial_writeoff / nullif(total, 0), 6) AS DECIMAL(12, 6)) AS denial_writeoff_share,
    CAST(round(payer_initiated / nullif(total, 0), 6) AS DECIMAL(12, 6)) AS payer_initiated_share,
    CAST(round(other / nullif(total, 0), 6) AS DECIMAL(12, 6)) AS other_share,
    CAST(round(denial_writeoff / nullif(scope_denial_writeoff, 0), 6) AS DECIMAL(12, 6))
        AS share_of_scope_denial_writeoff,
    CAST(CASE WHEN payer_key = '*' THEN 0 ELSE row_number() OVER (
        PARTITION BY period_end, payer_scope
        ORDER BY CASE WHEN payer_key = '*' THEN 1 ELSE 0 END, total DESC, payer_key
    ) END AS BIGINT) AS total_rank,
    CAST(CASE WHEN payer_key = '*' THEN 0 ELSE row_number() OVER (
        PARTITION BY period_end, payer_scope
        ORDER BY CASE WHEN payer_key = '*' THEN 1 ELSE 0 END, denial_writeoff DESC, payer_key
    ) END AS BIGINT) AS denial_writeoff_rank
FROM totalled
