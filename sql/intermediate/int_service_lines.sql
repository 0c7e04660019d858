-- name: intermediate.int_service_lines
-- materialized: ephemeral
-- incremental: claim_id
-- grain: one row per service line of a non-resent payment (staging.stg_service_lines)
-- depends_on: staging.stg_service_lines
-- description: The columns of staging.stg_service_lines that marts.line_outcomes and
--   intermediate.int_lines read, held in memory for the build (as intermediate.int_adjustments holds the
--   adjustments): the lake's ~2.9 million lines per million claims are read from Parquet once, and the
--   planner of those models sees their exact row count (over the staging view's joins it expected a few
--   hundred lines and built its hash tables on the lines' side: on 1M claims line_outcomes + int_lines
--   took 5.1-5.2 s of CPU, 3.6-3.9 s with this copy, the copy included).
-- column line_id: Key of the line (staging.stg_service_lines).
-- column claim_id: Claim the line belongs to.
-- column payment_month: Payment month 'YYYY-MM' of the line's payment.
-- column payer_key: Payer identity.
-- column procedure_qualifier: SVC01-1.
-- column procedure_code: SVC01-2.
-- column is_dental: Dental line: qualifier AD or a CDT code.
-- column charge_amount: SVC02 line charge.
-- column paid_amount: SVC03 line payment.
-- column service_date: DTM*472 (or 150) service date.
-- column line_control_number: REF*6R, the provider's line item control number.
-- tests: not_null(claim_id)
SELECT
    line_id,
    claim_id,
    payment_month,
    payer_key,
    procedure_qualifier,
    procedure_code,
    is_dental,
    charge_amount,
    paid_amount,
    service_date,
    line_control_number
FROM staging.stg_service_lines
