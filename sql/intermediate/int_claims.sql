-- name: intermediate.int_claims
-- materialized: ephemeral
-- incremental: claim_id
-- grain: one row per claim in staging.stg_claims (before netting)
-- depends_on: staging.stg_claims, staging.stg_payments
-- description: Every claim with its place in claim order and its episode (CLP01 + payer). Claim order =
--   payment date, file key, ST ordinal as text, CLP position. The base of netting and of the lifecycle
--   models (one scan of the staging view for all of them; marts.claim_outcomes reads its claims here, in
--   memory, where the planner knows their number).
-- column claim_id: Key of the claim (an integer, docs/parser.md "Keys and ids").
-- column seq: Position in claim order, a DECIMAL(38, 0) made from the claim's own row, so a claim keeps
--   its seq whatever else is in the lake: ((payment days since 1900-01-01 x 2^64 + file_key + 2^63) x
--   40000 + text key of the ST ordinal) x 2^30 + CLP position. Compared and ordered, never counted.
--   NULL (and not_null(seq) fails) for a payment dated outside 1900-01-01 .. 2242-03-28 or a file with
--   more than 9,999 transactions: the parts would not fit their places. The ingest gate refuses such a
--   file (payments.transaction_ordinal.fits_claim_order), so a lake holds none.
-- column episode_id: First 16 hex characters of md5(payer_key || '|' || patient_control_number).
-- column payer_key: Payer identity.
-- column patient_control_number: CLP01.
-- column payer_claim_control_number: CLP07.
-- column payer_claim_match_key: CLP07 trimmed and upper-cased, NULL when empty: what a PLB reference id
--   is matched against (intermediate.int_plb_claim_links), computed once per claim.
-- column patient_control_match_key: CLP01 the same way.
-- column original_reference_number: REF*F8.
-- column claim_frequency_code: CLP09.
-- column claim_status_code: CLP02.
-- column transaction_id: Payment (ST/SE transaction) the claim was remitted in.
-- column claim_ordinal: CLP position in its transaction (with the payment's transaction_ref, the claim's
--   readable id staging.stg_claims.claim_ref, made without a second scan of the lake's claims).
-- column is_reversal: CLP02 = 22.
-- column payment_date: BPR16 date of the claim's payment.
-- column charge_amount: CLP03.
-- column paid_amount: CLP04.
-- column received_date: DTM*050.
-- column statement_from_date: DTM*232.
-- column payment_month: Payment month (YYYY-MM) of the claim's payment.
-- column payee_key: Payee NPI (else tax id) of the claim's payment.
-- column patient_key: Keyed pseudonym of the patient (staging.stg_claims).
-- column claim_filing_indicator: CLP06.
-- column patient_responsibility_amount: CLP05 (0 when absent).
-- unique_key: claim_id
-- tests: not_null(seq), not_null(episode_id), not_null(payment_date)
WITH payment_order AS (
    -- the payment's part of seq, once per payment (thousands, not the million claims). The ST ordinal
    -- keeps the order of the readable ids (transaction_ref): as text, '10' before '2'. Its text key is
    -- the ordinal's digits padded to 4 with zeros (order of the digits), x 4, + its length - 1 (a
    -- shorter ordinal before a longer one with the same padded digits: '1' < '10' < '100')
    SELECT
        transaction_id,
        CASE
            WHEN datediff('day', DATE '1900-01-01', payment_date) BETWEEN 0 AND 124999
                AND transaction_ordinal BETWEEN 1 AND 9999
                THEN (
                    CAST(datediff('day', DATE '1900-01-01', payment_date) AS DECIMAL(38, 0)) * 18446744073709551616
                    + (CAST(file_key AS DECIMAL(38, 0)) + 9223372036854775808)
                ) * 40000
                + CAST(rpad(CAST(transaction_ordinal AS VARCHAR), 4, '0') AS INTEGER) * 4
                + length(CAST(transaction_ordinal AS VARCHAR)) - 1
        END AS payment_seq
    FROM staging.stg_payments
)
SELECT
    c.claim_id,
    o.payment_seq * 1073741824 + c.claim_ordinal AS seq,
    substr(md5(c.payer_key || '|' || coalesce(c.patient_control_number, '')), 1, 16) AS episode_id,
    c.transaction_id,
    c.claim_ordinal,
    c.payer_key,
    c.patient_control_number,
    c.payer_claim_control_number,
    nullif(upper(trim(c.payer_claim_control_number)), '') AS payer_claim_match_key,
    nullif(upper(trim(c.patient_control_number)), '') AS patient_control_match_key,
    c.original_reference_number,
    c.claim_frequency_code,
    c.claim_status_code,
    c.is_reversal,
    c.payment_date,
    c.charge_amount,
    c.paid_amount,
    c.received_date,
    c.statement_from_date,
    c.payment_month,
    c.payee_key,
    c.patient_key,
    c.claim_filing_indicator,
    c.patient_responsibility_amount
FROM staging.stg_claims AS c
INNER JOIN payment_order AS o ON o.transaction_id = c.transaction_id
