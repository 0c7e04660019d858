-- name: intermediate.int_plb_claim_links
-- materialized: ephemeral
-- incremental: full
-- grain: one row per PLB (reason, amount) pair in staging.stg_provider_adjustments
-- depends_on: staging.stg_provider_adjustments, staging.stg_payments,
--   intermediate.int_claims
-- description: Each provider-level adjustment linked to the claim its reference id names, when it names
--   one. The reference id (PLB03-2, PLB05-2, ...; trimmed, upper case) is matched against the CLP07
--   payer claim control number, else the CLP01 patient control number, of the claims of the same payer
--   anywhere in the lake (the same payment, the same file, or another file). Of several candidates the
--   link goes to: a CLP07 match before a CLP01 match; a claim that is not a reversal before a reversal;
--   the same payment, then the same file, then the rest of the lake; a claim paid on or before the PLB's
--   payment date (the latest such) before one paid after it (the earliest such); then claim order. A
--   PLB whose reference id is empty or names no claim of its payer is kept, unlinked (claim_id NULL).
--   Reason kind: recoupment for FB, WO, 72 and J1; interest for L6; other for every other reason.
-- column plb_id: <transaction_id>-PLB<plb_ordinal>-<position>: one PLB pair.
-- column transaction_id: Payment the PLB belongs to.
-- column payment_month: Payment month 'YYYY-MM' of that payment.
-- column payment_date: BPR16 date of that payment.
-- column payer_key: Payer identity.
-- column provider_id: PLB01 provider id.
-- column reason_code: PLB adjustment reason (WO, L6, FB, ...).
-- column reason_kind: recoupment (FB, WO, 72, J1), interest (L6) or other.
-- column reference_id: PLB reference id as sent (NULL when the pair has none).
-- column amount: PLB amount (positive reduces the payment, negative increases it).
-- column plb_ordinal: PLB segment ordinal within the transaction.
-- column position: Pair 1..6 within its PLB segment.
-- column claim_id: The linked claim, NULL when unlinked.
-- column is_linked: True when claim_id is set.
-- column matched_on: payer_claim_control_number (CLP07) or patient_control_number (CLP01); NULL when
--   unlinked.
-- column link_scope: Where the linked claim was paid: same_payment, same_file or lake (another file);
--   NULL when unlinked.
-- column candidate_count: Claims of the payer the reference id matched by the rule used (0 when
--   unlinked; above 1 means the choice among them followed the order above).
-- unique_key: plb_id
-- tests: not_null(transaction_id), not_null(amount), not_null(is_linked), not_null(candidate_count),
--   accepted_values(reason_kind: recoupment interest other),
--   accepted_values(matched_on: payer_claim_control_number patient_control_number),
--   accepted_values(link_scope: same_payment same_file lake)
WITH plb AS (
    SELECT
        p.transaction_ref || '-PLB' || CAST(b.plb_ordinal AS VARCHAR) || '-' || CAST(b.position AS VARCHAR)
            AS plb_id,
        b.transaction_id,
        p.file_id,
        b.payment_month,
        p.payment_date,
        b.payer_key,
        b.provider_id,
        b.reason_code,
        CASE
            WHEN b.reason_code IN ('FB', 'WO', '72', 'J1') THEN 'recoupment'
            WHEN b.reason_code = 'L6' THEN 'interest'
            ELSE 'other'
        END AS reason_kind,
        b.reference_id,
        nullif(upper(trim(b.reference_id)), '') AS match_ref,
        b.amount,
        b.plb_ordinal,
        b.position
    FROM staging.stg_provider_adjustments AS b
    INNER JOIN staging.stg_payments AS p ON p.transaction_id = b.transaction_id
),
refs AS (SELECT DISTINCT match_ref FROM plb WHERE match_ref IS NOT NULL),
claims AS (
    -- one pass over the claims: only the few a PLB names go on to the joins (a lake holds millions)
    SELECT
        k.claim_id,
        k.transaction_id,
        p.file_id,
        k.payer_key,
        k.payment_date,
        k.is_reversal,
        k.seq,
        k.ccn,
        k.pcn
    FROM (
        SELECT
            c.claim_id,
            c.transaction_id,
            c.payer_key,
            c.payment_date,
            c.is_reversal,
            c.seq,
            c.payer_claim_match_key AS ccn,
            c.patient_control_match_key AS pcn
        FROM intermediate.int_claims AS c
    ) AS k
    INNER JOIN staging.stg_payments AS p ON p.transaction_id = k.transaction_id
    WHERE k.ccn IN (SELECT match_ref FROM refs) OR k.pcn IN (SELECT match_ref FROM refs)
),
matches AS (
    SELECT b.plb_id, cl.*, 'payer_claim_control_number' AS matched_on, 1 AS rule_rank
    FROM plb AS b
    INNER JOIN claims AS cl ON cl.payer_key = b.payer_key AND cl.ccn = b.match_ref
    UNION ALL
    SELECT b.plb_id, cl.*, 'patient_control_number' AS matched_on, 2 AS rule_rank
    FROM plb AS b
    INNER JOIN claims AS cl ON cl.payer_key = b.payer_key AND cl.pcn = b.match_ref
),
ranked AS (
    SELECT
        m.plb_id,
        m.claim_id,
        m.matched_on,
        m.rule_rank,
        CASE
            WHEN m.transaction_id = b.transaction_id THEN 'same_payment'
            WHEN m.file_id = b.file_id THEN 'same_file'
            ELSE 'lake'
        END AS link_scope,
        row_number() OVER (
            PARTITION BY m.plb_id
            ORDER BY
                m.rule_rank,
                CASE WHEN m.is_reversal THEN 1 ELSE 0 END,
                CASE
                    WHEN m.transaction_id = b.transaction_id THEN 0
                    WHEN m.file_id = b.file_id THEN 1
                    ELSE 2
                END,
                CASE WHEN m.payment_date <= b.payment_date THEN 0 ELSE 1 END,
                CASE WHEN m.payment_date <= b.payment_date THEN -m.seq ELSE m.seq END
        ) AS pick,
        count(*) OVER (PARTITION BY m.plb_id, m.rule_rank) AS candidate_count
    FROM matches AS m
    INNER JOIN plb AS b ON b.plb_id = m.plb_id
),
chosen AS (
    SELECT plb_id, claim_id, matched_on, link_scope, candidate_count FROM ranked WHERE pick = 1
)
SELECT
    b.plb_id,
    b.transaction_id,
    b.payment_month,
    b.payment_date,
    b.payer_key,
    b.provider_id,
    b.reason_code,
    b.reason_kind,
    b.reference_id,
    b.amount,
    b.plb_ordinal,
    b.position,
    l.claim_id,
    l.claim_id IS NOT NULL AS is_linked,
    l.matched_on,
    l.link_scope,
    CAST(coalesce(l.candidate_count, 0) AS INTEGER) AS candidate_count
FROM plb AS b
LEFT JOIN chosen AS l ON l.plb_id = b.plb_id
