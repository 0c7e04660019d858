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
-- column facility_code: CLP08 facility type code (place of service for professional claims).
-- column claim_frequency_code: CLP09 claim frequency code (1 original, 7 replacement, 8 void).
-- column drg_code: CLP11 diagnosis related group.
-- column statement_to_date: DTM*233 statement period end.
-- column received_date: DTM*050 date the payer received the claim.
-- column rendering_provider_id: NM1*82 rendering provider id.
-- column coverage_amount: AMT*AU coverage amount.
-- column line_count: Number of SVC service lines.
-- column is_balanced: CLP03 − Σ claim CAS − Σ line CAS = CLP04.
-- column balance_difference: How far the claim is from balancing.
-- unique_key: claim_id
-- tests: not_null(payer_key), not_null(payment_date), not_null(is_reversal)
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
    coalesce(c.is_reversal, c.claim_status_code = '22') AS is_reversal,
    c.facility_code,
    nullif(trim(c.claim_frequency_code), '') AS claim_frequency_code,
    c.drg_code,
    c.statement_to_date,
    c.received_date,
    c.rendering_provider_id,
    CAST(c.coverage_amount AS DECIMAL(18, 2)) AS coverage_amount,
    c.line_count,
    c.is_balanced,
    CAST(c.balance_difference AS DECIMAL(18, 2)) AS balance_difference
FROM lake.claims AS c
INNER JOIN staging.stg_payments AS p ON p.transaction_id = c.transaction_id
