-- name: marts.report_crossover_period
-- materialized: view
-- grain: one row per period_end x payer_scope x payer_key x crossover_direction x reason_code with crossover
--   adjustments in the period (payer_scope '*' = all payers, else one payer_key)
-- depends_on: marts.report_periods, marts.crossover_month
-- description: The report's crossover table: crossover adjustments (marts.crossover_month) over the 12
--   months ending period_end per payer, direction and CARC, with the direction's dollars in the scope and
--   a rank by dollars.
-- column period_end: Last month of the period.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type.
-- column crossover_direction: dental_to_medical, medical_to_dental, medical_to_pharmacy or both_denied.
-- column reason_code: Crossover CARC.
-- column crossover_forwarded: The payer itself forwarded the claim (290, 291, 292).
-- column claims: Claims with this CARC (distinct per month, added over months).
-- column lines: Service lines with this CARC (distinct per month, added over months).
-- column dollars: Sum of the crossover adjustment amounts.
-- column direction_dollars: All crossover dollars of the direction in the period and scope.
-- column rank_by_dollars: 1 = most dollars in the scope (ties: payer, direction, CARC).
-- unique_key: period_end, payer_scope, payer_key, reason_code
WITH base AS (
    SELECT
        p.period_end,
        c.payer_key,
        min(c.payer_name) AS payer_name,
        min(c.plan_type) AS plan_type,
        c.crossover_direction,
        c.reason_code,
        bool_or(c.crossover_forwarded) AS crossover_forwarded,
        sum(c.claims) AS claims,
        sum(c.lines) AS lines,
        sum(c.dollars) AS dollars
    FROM marts.report_periods AS p
    INNER JOIN marts.crossover_month AS c ON c.payment_month = p.payment_month
    GROUP BY p.period_end, c.payer_key, c.crossover_direction, c.reason_code
),
scoped AS (
    SELECT '*' AS payer_scope, * FROM base
    UNION ALL
    SELECT payer_key, * FROM base
)
SELECT
    period_end,
    payer_scope,
    payer_key,
    payer_name,
    plan_type,
    crossover_direction,
    reason_code,
    crossover_forwarded,
    CAST(claims AS BIGINT) AS claims,
    CAST(lines AS BIGINT) AS lines,
    CAST(dollars AS DECIMAL(38, 2)) AS dollars,
    CAST(sum(dollars) OVER (PARTITION BY period_end, payer_scope, crossover_direction) AS DECIMAL(38, 2))
        AS direction_dollars,
    CAST(row_number() OVER (
        PARTITION BY period_end, payer_scope
        ORDER BY dollars DESC, payer_key, crossover_direction, reason_code
    ) AS BIGINT) AS rank_by_dollars
FROM scoped
