-- name: staging.stg_adjustments
-- materialized: view
-- grain: one row per CAS (group, reason, amount) triple, claim or line level, of a non-resent payment
-- depends_on: lake.adjustments, staging.stg_payments
-- description: Claim adjustments (CAS) with group and reason codes trimmed and upper-cased.
-- column adjustment_id: Lake id of the adjustment.
-- column claim_id: Claim the adjustment belongs to.
-- column line_id: Service line for line-level adjustments; NULL at claim level.
-- column transaction_id: Payment the adjustment was remitted in.
-- column payment_month: Payment month 'YYYY-MM' of the adjustment's payment.
-- column payer_key: Payer identity (see staging.stg_payments).
-- column level: 'claim' or 'line'.
-- column group_code: CAS01 group code (CO, PR, OA, PI; CR from 4010 files).
-- column reason_code: CARC.
-- column amount: Adjustment amount (positive reduces payment).
-- column quantity: CAS quantity (units adjusted).
-- column cas_ordinal: CAS segment ordinal within its claim or line.
-- column position: Triple 1..6 within its CAS segment.
-- unique_key: adjustment_id
-- tests: not_null(claim_id), accepted_values(level: claim line)
SELECT
    a.adjustment_id,
    a.claim_id,
    a.line_id,
    a.transaction_id,
    p.payment_month,
    p.payer_key,
    a.level,
    upper(trim(a.group_code)) AS group_code,
    upper(trim(a.reason_code)) AS reason_code,
    CAST(a.amount AS DECIMAL(18, 2)) AS amount,
    CAST(a.quantity AS DECIMAL(18, 3)) AS quantity,
    a.cas_ordinal,
    a.position
FROM lake.adjustments AS a
INNER JOIN staging.stg_payments AS p ON p.transaction_id = a.transaction_id
