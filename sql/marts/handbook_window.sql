-- name: marts.handbook_window
-- materialized: view
-- grain: one row per payment_month of the handbook window (the 12 payment months ending at the latest
--   payment month in marts.kpi_month)
-- depends_on: marts.report_periods, marts.kpi_month
-- description: The handbook's window: the last 12 payment months of the warehouse (not the wall clock, so
--   an older extract shows its own last year). Every handbook_* figure is summed over these months;
--   month_offset 0-2 are the "recent" three months of the trend, 3-5 the three before.
-- column payment_month: One month of the window.
-- column month_offset: Months before the latest payment month (0 = the latest).
-- column first_month: First month of the window.
-- column last_month: Latest payment month of the warehouse.
-- unique_key: payment_month
SELECT payment_month, month_offset, period_start AS first_month, period_end AS last_month
FROM marts.report_periods
WHERE period_end = (SELECT max(payment_month) FROM marts.kpi_month)
