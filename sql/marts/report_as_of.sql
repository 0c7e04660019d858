-- name: marts.report_as_of
-- materialized: table
-- incremental: full
-- grain: one row (the warehouse's as-of date and the report month it implies)
-- depends_on: intermediate.int_lifecycle_settings, staging.stg_payments
-- description: Which months the leadership report may call complete. The as-of date is the latest payment
--   date in the lake (intermediate.int_lifecycle_settings), never the wall clock: its month is complete
--   only when the as-of date is the month's last day; otherwise it is month to date, and the report's
--   default month is the month before (the latest closed month). first_data_month is the earliest payment
--   month in the lake: months before it hold no data, not zeros.
--   A table (built with the warehouse), as it reads the lake's payments.
-- column as_of_date: Latest payment date (BPR16) in the lake.
-- column as_of_month: 'YYYY-MM' of as_of_date.
-- column as_of_month_closed: True when as_of_date is the last day of its month.
-- column latest_closed_month: as_of_month when closed, else the month before it.
-- column first_data_month: Earliest payment month in the lake.
-- column previous_through_date: The same day of the month before as_of_date (its last day when shorter):
--   the end of the like-for-like comparison of a month-to-date report.
-- column organisation_name: The payee (N1*PE) named on the latest payment: the organisation the report is
--   for, unless the report settings name it.
SELECT
    s.as_of_date,
    strftime(s.as_of_date, '%Y-%m') AS as_of_month,
    s.as_of_date = last_day(s.as_of_date) AS as_of_month_closed,
    CASE
        WHEN s.as_of_date = last_day(s.as_of_date) THEN strftime(s.as_of_date, '%Y-%m')
        ELSE strftime(CAST(date_trunc('month', s.as_of_date) AS DATE) - 1, '%Y-%m')
    END AS latest_closed_month,
    (SELECT min(payment_month) FROM staging.stg_payments) AS first_data_month,
    CAST(s.as_of_date - INTERVAL 1 MONTH AS DATE) AS previous_through_date,
    (
        SELECT payee_name FROM staging.stg_payments WHERE payee_name IS NOT NULL
        ORDER BY payment_date DESC, transaction_ref LIMIT 1
    ) AS organisation_name
FROM intermediate.int_lifecycle_settings AS s
WHERE s.as_of_date IS NOT NULL
