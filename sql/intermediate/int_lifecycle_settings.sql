-- name: intermediate.int_lifecycle_settings
-- materialized: ephemeral
-- incremental: full
-- grain: one row (the build's lifecycle settings)
-- depends_on: staging.stg_payments
-- description: The one place where the denial lifecycle's constants are set, and the warehouse's as-of
--   date. Ages, "open" and write-offs are measured against as_of_date (never the wall clock), so a rebuild
--   of the same lake gives the same figures.
-- column as_of_date: The latest payment date (BPR16) in the lake, resent payments left out.
-- column resolution_window_days: RESOLUTION_WINDOW_DAYS: a denial with nothing recovered within this many
--   days of its first denial is written off on first denial + window.
-- column default_appeal_days: DEFAULT_APPEAL_DAYS: appeal deadline (days after the first denial) for a
--   payer without appeal_days in payers.csv.
-- tests: not_null(resolution_window_days), not_null(default_appeal_days)
SELECT
    max(payment_date) AS as_of_date,
    180 AS resolution_window_days,
    120 AS default_appeal_days
FROM staging.stg_payments
