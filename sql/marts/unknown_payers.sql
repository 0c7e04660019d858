-- name: marts.unknown_payers
-- materialized: view
-- grain: one row per payer_key seen in a payment but missing from payers.csv (ref.payers)
-- depends_on: marts.dim_payer
-- description: Check view: payers whose plan type is unknown. Add them to <home>/payers.csv and rebuild.
-- column payer_key: Payer identity that is not in payers.csv.
-- column payer_name: N1*PR name as sent.
-- column payments: Number of payments from the payer.
-- column first_payment_month: Earliest payment month.
-- column last_payment_month: Latest payment month.
-- unique_key: payer_key
SELECT payer_key, payer_name, payments, first_payment_month, last_payment_month
FROM marts.dim_payer
WHERE NOT payer_is_known
