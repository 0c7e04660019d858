-- name: marts.report_payer_series_month
-- materialized: view
-- grain: one row per period_end x series x payment_month (the 12 months of the period; series = one of the
--   five payers with the most remitted charges in the period, or 'Other payers')
-- depends_on: marts.report_periods, marts.report_kpi_month
-- description: The per-payer denial-rate chart of the all-payer report, kept to six lines: the five payers
--   with the most remitted charges (CLP03) over the 12 months ending period_end, each on its own, and the
--   rest as one 'Other payers' line whose rate is the ratio of their summed dollars (never an average of
--   rates). denial_rate_dollars is NULL in a month without remitted charges, so the chart leaves a gap
--   there instead of joining the line across it.
-- column period_end: Last month of the period.
-- column series: Payer name, or 'Other payers'.
-- column series_rank: 1..5 by remitted charges over the period, 6 for 'Other payers'.
-- column payment_month: One of the period's months.
-- column charge_remitted: Sum of CLP03 over the series' remits in the month.
-- column denied_charge: Sum of CLP03 over its denied remits.
-- column denial_rate_dollars: denied_charge / charge_remitted (6 places); NULL without remits.
-- unique_key: period_end, series, payment_month
WITH per_payer AS (
    SELECT p.period_end, p.payment_month, k.payer_scope AS payer_key, k.payer_name, k.charge_remitted,
        k.denied_charge
    FROM marts.report_periods AS p
    INNER JOIN marts.report_kpi_month AS k ON k.payment_month = p.payment_month
    WHERE k.payer_scope <> '*'
),
ranked AS (
    SELECT period_end, payer_key,
        row_number() OVER (PARTITION BY period_end ORDER BY sum(charge_remitted) DESC, payer_key) AS r
    FROM per_payer
    GROUP BY period_end, payer_key
    HAVING sum(charge_remitted) > 0
),
labelled AS (
    SELECT
        x.period_end,
        x.payment_month,
        CASE WHEN r.r <= 5 THEN x.payer_name ELSE 'Other payers' END AS series,
        least(r.r, 6) AS series_rank,
        x.charge_remitted,
        x.denied_charge
    FROM per_payer AS x
    INNER JOIN ranked AS r ON r.period_end = x.period_end AND r.payer_key = x.payer_key
),
sums AS (
    SELECT period_end, series, min(series_rank) AS series_rank, payment_month,
        sum(charge_remitted) AS charge_remitted, sum(denied_charge) AS denied_charge
    FROM labelled
    GROUP BY period_end, series, payment_month
)
SELECT
    period_end,
    series,
    CAST(series_rank AS BIGINT) AS series_rank,
    payment_month,
    CAST(charge_remitted AS DECIMAL(38, 2)) AS charge_remitted,
    CAST(denied_charge AS DECIMAL(38, 2)) AS denied_charge,
    CAST(round(denied_charge / nullif(charge_remitted, 0), 6) AS DECIMAL(12, 6)) AS denial_rate_dollars
FROM sums
