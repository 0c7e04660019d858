-- name: marts.report_crossover_month
-- materialized: table
-- grain: one row per payment_month x payer_scope (every month of marts.report_periods; '*' = all payers,
--   else one payer_key)
-- depends_on: marts.report_periods, marts.crossover_month, marts.line_outcomes, marts.dim_payer
-- description: Crossover dollars and dental lines per month for the report's crossover charts and
--   reading. A dental line (marts.line_outcomes.is_dental) "at a medical plan" was remitted by a payer
--   whose plan_type is medical. Months without rows hold zeros; dental_at_medical_share is NULL when no
--   dental line was remitted.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column crossover_dollars: Sum of crossover adjustment amounts.
-- column forwarded_dollars: Of those, adjustments whose CARC says the payer forwarded the claim itself.
-- column crossover_claims: Claims with a crossover CARC (distinct per payer and CARC, added).
-- column dental_lines: Dental service lines remitted (after netting).
-- column dental_at_medical: Of those, remitted by a medical plan.
-- column dental_at_medical_share: dental_at_medical / dental_lines.
-- unique_key: payment_month, payer_scope
WITH months AS (
    SELECT DISTINCT period_end AS payment_month FROM marts.report_periods
),
scopes AS (
    SELECT '*' AS payer_scope
    UNION ALL
    SELECT payer_key FROM marts.dim_payer
),
cross_payer AS (
    SELECT payment_month, payer_key, sum(dollars) AS crossover_dollars,
        sum(CASE WHEN crossover_forwarded THEN dollars ELSE 0 END) AS forwarded_dollars,
        sum(claims) AS crossover_claims
    FROM marts.crossover_month
    GROUP BY payment_month, payer_key
),
dental_payer AS (
    SELECT
        l.payment_month,
        l.payer_key,
        count(CASE WHEN l.is_dental THEN 1 END) AS dental_lines,
        count(CASE WHEN l.is_dental AND d.plan_type = 'medical' THEN 1 END) AS dental_at_medical
    FROM marts.line_outcomes AS l
    INNER JOIN marts.dim_payer AS d ON d.payer_key = l.payer_key
    GROUP BY l.payment_month, l.payer_key
),
per_payer AS (
    SELECT
        coalesce(c.payment_month, t.payment_month) AS payment_month,
        coalesce(c.payer_key, t.payer_key) AS payer_key,
        coalesce(c.crossover_dollars, 0) AS crossover_dollars,
        coalesce(c.forwarded_dollars, 0) AS forwarded_dollars,
        coalesce(c.crossover_claims, 0) AS crossover_claims,
        coalesce(t.dental_lines, 0) AS dental_lines,
        coalesce(t.dental_at_medical, 0) AS dental_at_medical
    FROM cross_payer AS c
    FULL OUTER JOIN dental_payer AS t ON t.payment_month = c.payment_month AND t.payer_key = c.payer_key
),
scoped AS (
    SELECT payment_month, payer_key AS payer_scope, crossover_dollars, forwarded_dollars, crossover_claims,
        dental_lines, dental_at_medical
    FROM per_payer
    UNION ALL
    SELECT payment_month, '*', sum(crossover_dollars), sum(forwarded_dollars), sum(crossover_claims),
        sum(dental_lines), sum(dental_at_medical)
    FROM per_payer
    GROUP BY payment_month
)
SELECT
    m.payment_month,
    s.payer_scope,
    CAST(coalesce(x.crossover_dollars, 0) AS DECIMAL(38, 2)) AS crossover_dollars,
    CAST(coalesce(x.forwarded_dollars, 0) AS DECIMAL(38, 2)) AS forwarded_dollars,
    CAST(coalesce(x.crossover_claims, 0) AS BIGINT) AS crossover_claims,
    CAST(coalesce(x.dental_lines, 0) AS BIGINT) AS dental_lines,
    CAST(coalesce(x.dental_at_medical, 0) AS BIGINT) AS dental_at_medical,
    CAST(round(x.dental_at_medical / nullif(x.dental_lines, 0), 6) AS DECIMAL(12, 6))
        AS dental_at_medical_share
FROM months AS m
CROSS JOIN scopes AS s
LEFT JOIN scoped AS x ON x.payment_month = m.payment_month AND x.payer_scope = s.payer_scope
