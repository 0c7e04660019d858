-- name: staging.stg_claims
-- materialized: view
-- grain: one row per CLP claim of a payment in staging.stg_payments
-- depends_on: lake.claims, staging.stg_payments
-- description: Claims with their payment's month, payer and payee keys attached.
-- column claim_id: Lake id of the claim (<transaction_id>-<CLP ordinal>).
-- column transaction_id: Payment the claim was remitted in.
-- column claim_ordinal: CLP position within its transaction, from 1.
-- column payment_month: Payment month 'YYYY-MM' of the claim's payment.
-- column payment_date: BPR16 date of the claim's payment.
-- column payer_key: Payer identity (see staging.stg_payments).
-- column payee_key: Payee NPI, else tax id.
-- column patient_control_number: CLP01, the provider's claim (patient account) number.
-- column claim_status_code: CLP02.
-- column charge_amount: CLP03 total charge.
-- column paid_amount: CLP04 claim payment.
-- column patient_responsibility_amount: CLP05.
-- column claim_filing_indicator: CLP06.
-- column payer_claim_control_number: CLP07, the payer's claim control number (ICN).
-- column original_reference_number: REF*F8, the payer's number of the claim this one corrects or reverses.
-- column statement_from_date: DTM*232 statement period start.
-- column patient_key: Keyed hash of the patient identifiers (no names or member ids).
-- column is_reversal: CLP02 = 22.
SELECT
    c.claim_id,
    c.transaction_id,
    c.claim_ordinal,
    p.payment_month,
    p.payment_date,
    p.payer_key,
    p.payee_key,
    c.patient_control_number,
    c.claim_status_code,
    CAST(c.charge_amount AS DECIMAL(18, 2)) AS charge_amount,
    CAST(c.paid_amount AS DECIMAL(18, 2)) AS paid_amount,
    CAST(coalesce(c.patient_responsibility_amount, 0) AS DECIMAL(18, 2)) AS patient_responsibility_amount,
    c.claim_filing_indicator,
    c.payer_claim_control_number,
    c.original_reference_number,
    c.statement_from_date,
    c.patient_key,
    coalesce(c.is_reversal, c.claim_status_code = '22') AS is_reversal
FROM lake.claims AS c
INNER JOIN staging.stg_payments AS p ON p.transaction_id = c.transaction_id
