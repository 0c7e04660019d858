-- name: marts.expired_carc_adjustments
-- materialized: table
-- grain: one row per adjustment (after netting) whose CARC was past its stop date on the service date
-- depends_on: marts.adjustment_detail, ref.carc
-- description: Check table: adjustments that use a CARC after its stop date (ref.carc_is_expired), which
--   a payer should no longer send in an original adjudication. Reversals are exempt (the macro says so).
-- column adjustment_id: Lake id of the adjustment.
-- column claim_id: Claim the adjustment belongs to.
-- column line_id: Service line; NULL at claim level.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity.
-- column group_code: CAS01 group code.
-- column reason_code: The expired CARC.
-- column amount: Adjustment amount.
-- column service_date: Service date the expiry was judged on.
-- column stop_date: The CARC's stop date (ref.carc.stop_date).
SELECT
    a.adjustment_id,
    a.claim_id,
    a.line_id,
    a.payment_month,
    a.payer_key,
    a.group_code,
    a.reason_code,
    a.amount,
    a.service_date,
    k.stop_date
FROM marts.adjustment_detail AS a
INNER JOIN ref.carc AS k ON k.code = a.reason_code
WHERE k.stop_date IS NOT NULL
    AND ref.carc_is_expired(a.reason_code, a.service_date, a.is_reversal)
