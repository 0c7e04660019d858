-- name: marts.report_periods
-- materialized: view
-- grain: one row per period_end x payment_month (the 12 payment months of the report period ending at
--   period_end)
-- depends_on: marts.kpi_month
-- description: The report's calendar: for every month from 11 months before the first payment month to 11
--   months after the last one, the 12 months of the period that ends there. Every report_* view sums its
--   figures over these rows, so "the period" means the same 12 months everywhere. Months are 'YYYY-MM'.
-- column period_end: Last month of the period (the report's --period).
-- column period_start: First month of the period (11 months before period_end).
-- column payment_month: One of the period's 12 months.
-- column month_offset: Months before period_end: 0 = period_end itself, 1 = the month before, ... 11.
-- unique_key: period_end, payment_month
WITH data_months AS (
    SELECT DISTINCT
        CAST(substr(payment_month, 1, 4) AS INTEGER) * 12 + CAST(substr(payment_month, 6, 2) AS INTEGER) - 1
            AS month_index
    FROM marts.kpi_month
),
offsets AS (
    SELECT k FROM (VALUES (-11), (-10), (-9), (-8), (-7), (-6), (-5), (-4), (-3), (-2), (-1), (0), (1), (2),
        (3), (4), (5), (6), (7), (8), (9), (10), (11)) AS t (k)
),
ends AS (
    SELECT DISTINCT d.month_index + o.k AS end_index
    FROM data_months AS d CROSS JOIN offsets AS o
),
pairs AS (
    SELECT e.end_index, e.end_index - o.k AS month_index, o.k AS month_offset
    FROM ends AS e CROSS JOIN offsets AS o
    WHERE o.k BETWEEN 0 AND 11
)
SELECT
    lpad(CAST(CAST(floor(end_index / 12) AS INTEGER) AS VARCHAR), 4, '0') || '-'
        || lpad(CAST(CAST(end_index - 12 * floor(end_index / 12) + 1 AS INTEGER) AS VARCHAR), 2, '0')
        AS period_end,
    lpad(CAST(CAST(floor((end_index - 11) / 12) AS INTEGER) AS VARCHAR), 4, '0') || '-'
        || lpad(CAST(CAST((end_index - 11) - 12 * floor((end_index - 11) / 12) + 1 AS INTEGER) AS VARCHAR),
            2, '0')
        AS period_start,
    lpad(CAST(CAST(floor(month_index / 12) AS INTEGER) AS VARCHAR), 4, '0') || '-'
        || lpad(CAST(CAST(month_index - 12 * floor(month_index / 12) + 1 AS INTEGER) AS VARCHAR), 2, '0')
        AS payment_month,
    CAST(month_offset AS INTEGER) AS month_offset
FROM pairs
