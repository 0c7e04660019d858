-- name: intermediate.int_adjustments
-- materialized: ephemeral
-- incremental: claim_id
-- grain: one row per CAS (group, reason, amount) triple, claim or line level, of a non-resent payment
-- depends_on: staging.stg_adjustments
-- description: The columns of staging.stg_adjustments that the adjustment marts read, held in memory for
--   the build: the lake's 5 million adjustments per million claims are read from Parquet once, and the
--   planner of the models below sees their exact row count (over the staging view's joins it estimated
--   a handful of rows and built its hash tables on the wrong side). staging.stg_adjustments stays a view
--   (1:1 with lake.adjustments) for analysts.
-- column adjustment_id: Key of the adjustment (staging.stg_adjustments).
-- column claim_id: Claim the adjustment belongs to.
-- column line_id: Service line for line-level adjustments; NULL at claim level.
-- column payment_month: Payment month 'YYYY-MM' of the adjustment's payment.
-- column payer_key: Payer identity (see staging.stg_payments).
-- column level: 'claim' or 'line'.
-- column group_code: CAS01 group code.
-- column reason_code: CARC.
-- column amount: Adjustment amount (positive reduces payment).
-- tests: not_null(claim_id)
SELECT
    adjustment_id,
    claim_id,
    line_id,
    payment_month,
    payer_key,
    level,
    group_code,
    reason_code,
    amount
FROM staging.stg_adjustments
