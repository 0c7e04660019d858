-- name: staging.stg_provider_adjustments
-- materialized: view
-- grain: one row per PLB (reason, amount) pair of a non-resent payment
-- depends_on: lake.provider_adjustments, staging.stg_payments
-- description: Provider-level adjustments (PLB) with the payment's month and payer.
-- column transaction_id: Payment the PLB belongs to.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity (see staging.stg_payments).
-- column provider_id: PLB01 provider id.
-- column reason_code: PLB adjustment reason (WO, L6, FB, ...).
-- column reference_id: PLB reference (often the claim or recovery id).
-- column amount: PLB amount (positive reduces the payment, negative increases it).
-- column fiscal_period_date: PLB02 fiscal period date.
-- column plb_ordinal: PLB segment ordinal within the transaction.
-- column position: Pair 1..6 within its PLB segment.
-- tests: not_null(transaction_id), not_null(amount)
SELECT
    p.transaction_id,
    p.payment_month,
    p.payer_key,
    b.provider_id,
    upper(trim(b.reason_code)) AS reason_code,
    b.reference_id,
    CAST(b.amount AS DECIMAL(18, 2)) AS amount,
    b.fiscal_period_date,
    b.plb_ordinal,
    b.position
FROM lake.provider_adjustments AS b
INNER JOIN staging.stg_payments AS p ON p.file_key = b.file_key AND p.transaction_ordinal = b.transaction_ordinal
