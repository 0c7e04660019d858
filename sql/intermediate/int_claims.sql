-- name: intermediate.int_claims
-- materialized: ephemeral
-- incremental: claim_id
-- grain: one row per claim in staging.stg_claims (before netting)
-- depends_on: staging.stg_claims, staging.stg_payments
-- description: Every claim with its place in claim order and its episode (CLP01 + payer). Claim order =
--   payment date, transaction id, CLP position. The base of netting and of the lifecycle models (one scan
--   of the staging view for all of them).
-- column claim_id: Key of the claim (an integer, docs/parser.md "Keys and ids").
-- column seq: Position in claim order, a BIGINT that grows along it (payment's place in payment order x
--   10^9 + CLP position): compared and ordered, never counted.
-- column episode_id: First 16 hex characters of md5(payer_key || '|' || patient_control_number).
-- column payer_key: Payer identity.
-- column patient_control_number: CLP01.
-- column payer_claim_control_number: CLP07.
-- column original_reference_number: REF*F8.
-- column claim_frequency_code: CLP09.
-- column claim_status_code: CLP02.
-- column transaction_id: Payment (ST/SE transaction) the claim was remitted in.
-- column is_reversal: CLP02 = 22.
-- column payment_date: BPR16 date of the claim's payment.
-- column charge_amount: CLP03.
-- column paid_amount: CLP04.
-- column received_date: DTM*050.
-- column statement_from_date: DTM*232.
-- unique_key: claim_id
-- tests: not_null(seq), not_null(episode_id), not_null(payment_date)
WITH payment_order AS (
    -- claim order is payment order, then CLP position: number the thousands of payments, not sort the
    -- million claims (a window over every claim was most of this model's time). Within a date, the order
    -- of the readable ids (transaction_ref): file, then ST ordinal as text, as it always was
    SELECT
        transaction_id,
        row_number() OVER (ORDER BY payment_date, file_key, CAST(transaction_ordinal AS VARCHAR)) AS payment_seq
    FROM staging.stg_payments
)
SELECT
    c.claim_id,
    CAST(o.payment_seq AS BIGINT) * 1000000000 + c.claim_ordinal AS seq,
    substr(md5(c.payer_key || '|' || coalesce(c.patient_control_number, '')), 1, 16) AS episode_id,
    c.transaction_id,
    c.payer_key,
    c.patient_control_number,
    c.payer_claim_control_number,
    c.original_reference_number,
    c.claim_frequency_code,
    c.claim_status_code,
    c.is_reversal,
    c.payment_date,
    c.charge_amount,
    c.paid_amount,
    c.received_date,
    c.statement_from_date
FROM staging.stg_claims AS c
INNER JOIN payment_order AS o ON o.transaction_id = c.transaction_id
