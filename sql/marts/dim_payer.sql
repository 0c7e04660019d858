-- name: marts.dim_payer
-- materialized: table
-- incremental: full
-- grain: one row per payer_key seen in a payment
-- depends_on: staging.stg_payments, ref.payers
-- description: Every payer that sent a payment, with its name and plan type. Payers missing from
--   payers.csv get plan type 'unknown' and are also listed in marts.unknown_payers.
-- column payer_key: Payer identity: REF*2U / N1*PR id, else TRN03 payer identifier.
-- column payer_name: Name from ref.payers, else the first N1*PR name seen (alphabetically).
-- column plan_type: Plan type from ref.payers; 'unknown' when the payer is not listed.
-- column payer_is_known: True when the payer is listed in ref.payers (payers.csv).
-- column payments: Number of payments (transactions) from the payer.
-- column first_payment_month: Earliest payment month.
-- column last_payment_month: Latest payment month.
-- unique_key: payer_key
SELECT
    payer_key,
    min(payer_name) AS payer_name,
    min(plan_type) AS plan_type,
    bool_and(payer_is_known) AS payer_is_known,
    count(*) AS payments,
    min(payment_month) AS first_payment_month,
    max(payment_month) AS last_payment_month
FROM staging.stg_payments
GROUP BY payer_key
