-- name: marts.lifecycle_settings
-- materialized: table
-- incremental: full
-- grain: one row (the lifecycle settings and as-of date this build used)
-- depends_on: intermediate.int_lifecycle_settings
-- description: The denial lifecycle's constants and the warehouse's as-of date, as this build used them
--   (set in intermediate.int_lifecycle_settings, which is not kept in the warehouse; docs/metrics.md).
-- column as_of_date: The latest payment date (BPR16) in the lake, resent payments left out: ages, "open"
--   and write-offs are measured against it.
-- column resolution_window_days: RESOLUTION_WINDOW_DAYS: a denial with nothing recovered within this many
--   days of its first denial is written off on first denial + window.
-- column default_appeal_days: DEFAULT_APPEAL_DAYS: appeal deadline (days after the first denial) for a
--   payer without appeal_days in payers.csv.
-- tests: not_null(resolution_window_days), not_null(default_appeal_days)
SELECT as_of_date, resolution_window_days, default_appeal_days
FROM intermediate.int_lifecycle_settings
