-- name: marts.report_crossover_summary
-- materialized: table
-- grain: one row per period_end x payer_scope ('*' = all payers, else one payer_key)
-- depends_on: marts.report_periods, marts.report_crossover_month
-- description: The report's crossover reading over the 12 months ending period_end: crossover dollars,
--   the part the payer forwarded itself (290-292) and the rest still to bill (at_stake_dollars), the last
--   three months against the three before (recent_change = recent / prior - 1, NULL when prior is 0), and
--   the dental lines remitted by medical plans.
-- column period_end: Last month of the period.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column crossover_dollars: Crossover adjustment dollars over the period.
-- column forwarded_dollars: Of those, forwarded by the payer itself.
-- column at_stake_dollars: crossover_dollars - forwarded_dollars: the provider must bill the other plan.
-- column crossover_claims: Claims with a crossover CARC (added over months, payers and CARCs).
-- column recent_dollars: Crossover dollars of the last three months.
-- column prior_dollars: Crossover dollars of the three months before.
-- column recent_change: recent_dollars / prior_dollars - 1.
-- column dental_lines: Dental lines remitted over the period.
-- column dental_at_medical: Of those, remitted by a medical plan.
-- column dental_at_medical_share: dental_at_medical / dental_lines.
-- column last_month_dental_at_medical_share: The same share in period_end alone (NULL: no dental line).
-- unique_key: period_end, payer_scope
WITH sums AS (
    SELECT
        p.period_end,
        x.payer_scope,
        sum(x.crossover_dollars) AS crossover_dollars,
        sum(x.forwarded_dollars) AS forwarded_dollars,
        sum(x.crossover_claims) AS crossover_claims,
        sum(CASE WHEN p.month_offset <= 2 THEN x.crossover_dollars ELSE 0 END) AS recent_dollars,
        sum(CASE WHEN p.month_offset BETWEEN 3 AND 5 THEN x.crossover_dollars ELSE 0 END) AS prior_dollars,
        sum(x.dental_lines) AS dental_lines,
        sum(x.dental_at_medical) AS dental_at_medical,
        max(CASE WHEN p.month_offset = 0 THEN x.dental_at_medical_share END) AS last_month_share
    FROM marts.report_periods AS p
    INNER JOIN marts.report_crossover_month AS x ON x.payment_month = p.payment_month
    GROUP BY p.period_end, x.payer_scope
)
SELECT
    period_end,
    payer_scope,
    CAST(crossover_dollars AS DECIMAL(38, 2)) AS crossover_dollars,
    CAST(forwarded_dollars AS DECIMAL(38, 2)) AS forwarded_dollars,
    CAST(crossover_dollars - forwarded_dollars AS DECIMAL(38, 2)) AS at_stake_dollars,
    CAST(crossover_claims AS BIGINT) AS crossover_claims,
    CAST(recent_dollars AS DECIMAL(38, 2)) AS recent_dollars,
    CAST(prior_dollars AS DECIMAL(38, 2)) AS prior_dollars,
    CAST(round(recent_dollars / nullif(prior_dollars, 0) - 1, 6) AS DECIMAL(12, 6)) AS recent_change,
    CAST(dental_lines AS BIGINT) AS dental_lines,
    CAST(dental_at_medical AS BIGINT) AS dental_at_medical,
    CAST(round(dental_at_medical / nullif(dental_lines, 0), 6) AS DECIMAL(12, 6)) AS dental_at_medical_share,
    CAST(last_month_share AS DECIMAL(12, 6)) AS last_month_dental_at_medical_share
FROM sums
