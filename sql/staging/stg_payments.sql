-- name: staging.stg_payments
-- materialized: view
-- grain: one row per payment (ST/SE transaction) in the lake; resent transactions are left out
-- depends_on: lake.payments, ref.payers
-- description: Payments with the payer key resolved (REF*2U, else N1*PR id, else TRN03), the payer's
--   plan type from ref.payers ('unknown' when the payer is not listed) and the signed payment amount.
-- column transaction_id: Key of the ST/SE transaction (one payment), an integer made from file_key and
--   transaction_ordinal (docs/parser.md, "Keys and ids").
-- column transaction_ref: Readable id of the transaction, <file_id[:24]>-<ST ordinal>.
-- column file_key: 64-bit key of the file (the first 8 bytes of its sha256).
-- column file_id: sha256 of the 835 file the payment came in.
-- column source_file: File name the payment was loaded from.
-- column transaction_ordinal: ST position within its file, from 1.
-- column payment_month: Payment month 'YYYY-MM' as the lake partitions it.
-- column payment_date: BPR16 payment (check/EFT) date.
-- column payer_key: Payer identity: payer_id (REF*2U, else N1*PR id), else TRN03 payer identifier.
-- column payer_name: Payer name from ref.payers, else N1*PR name.
-- column plan_type: Plan type from ref.payers (medical, dental, ...), 'unknown' when the payer is not listed.
-- column payer_is_known: True when payer_key is listed in ref.payers.
-- column payee_key: Payee NPI, else payee tax id.
-- column payee_name: N1*PE name.
-- column credit_debit_flag: BPR03 (C credit, D debit).
-- column payment_amount: BPR02 total actual payment as sent (never negative).
-- column signed_payment_amount: BPR02 with debits negated: money to the provider.
-- column plb_total: Sum of the payment's PLB amounts (positive reduces the payment).
-- column trace_number: TRN02 check or EFT trace number.
-- column payment_method: BPR04 (ACH, CHK, NON, ...).
-- column production_date: DTM*405 production date.
-- column payer_identifier: TRN03 payer identifier as sent.
-- column is_balanced: BPR02 = Σ CLP04 − Σ PLB.
-- column balance_difference: BPR02 − (Σ CLP04 − Σ PLB).
-- column claim_count: Number of CLP claims in the payment.
-- column claim_paid_total: Σ CLP04 of the payment's claims.
-- column payer_id: REF*2U, else N1*PR 04, as sent.
-- column payee_npi: N1*PE 04 when N1*PE 03 = XX.
-- column payee_tax_id: N1*PE 04 when N1*PE 03 = FI, else REF*TJ.
-- column transaction_control_number: ST02.
-- column version: Implementation guide: ST03, else GS08.
-- column interchange_control_number: ISA13.
-- column interchange_sender_id: ISA06, trimmed.
-- column interchange_receiver_id: ISA08, trimmed.
-- column group_control_number: GS06.
-- unique_key: transaction_id
-- tests: not_null(payer_key)
SELECT
    CAST(p.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(p.transaction_ordinal AS BIGINT) * 4294967296 AS transaction_id,
    substr(p.file_id, 1, 24) || '-' || CAST(p.transaction_ordinal AS VARCHAR) AS transaction_ref,
    p.file_id,
    p.file_key,
    p.source AS source_file,
    p.transaction_ordinal,
    p.payment_month,
    p.payment_date,
    p.payer_key,
    coalesce(rp.payer_name, p.payer_name) AS payer_name,
    coalesce(rp.plan_type, 'unknown') AS plan_type,
    rp.payer_id IS NOT NULL AS payer_is_known,
    coalesce(nullif(trim(p.payee_npi), ''), nullif(trim(p.payee_tax_id), '')) AS payee_key,
    p.payee_name,
    p.credit_debit_flag,
    CAST(p.payment_amount AS DECIMAL(18, 2)) AS payment_amount,
    CAST(CASE WHEN p.credit_debit_flag = 'D' THEN -p.payment_amount ELSE p.payment_amount END
        AS DECIMAL(18, 2)) AS signed_payment_amount,
    CAST(p.plb_total AS DECIMAL(18, 2)) AS plb_total,
    p.trace_number,
    p.payment_method,
    p.production_date,
    p.payer_identifier,
    p.is_balanced,
    CAST(p.balance_difference AS DECIMAL(18, 2)) AS balance_difference,
    p.claim_count,
    CAST(p.claim_paid_total AS DECIMAL(18, 2)) AS claim_paid_total,
    nullif(trim(p.payer_id), '') AS payer_id,
    nullif(trim(p.payee_npi), '') AS payee_npi,
    nullif(trim(p.payee_tax_id), '') AS payee_tax_id,
    p.transaction_control_number,
    p.version,
    p.interchange_control_number,
    p.interchange_sender_id,
    p.interchange_receiver_id,
    p.group_control_number
FROM (
    SELECT
        lp.*,
        coalesce(nullif(trim(lp.payer_id), ''), nullif(trim(lp.payer_identifier), ''), 'UNIDENTIFIED')
            AS payer_key
    FROM lake.payments AS lp
    WHERE lp.resent_of_transaction_id IS NULL
) AS p
LEFT JOIN ref.payers AS rp ON rp.payer_id = p.payer_key
