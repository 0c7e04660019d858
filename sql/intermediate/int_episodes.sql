-- name: intermediate.int_episodes
-- materialized: ephemeral
-- incremental: episode_id
-- grain: one row per episode: patient_control_number (CLP01) x payer_key, over all claims before netting
-- depends_on: intermediate.int_claims, intermediate.int_denial_units, intermediate.int_adjustment_kinds
-- description: Claim episodes: every claim of one CLP01 at one payer (originals, reversals, payer
--   corrections, CLP09 7 replacements, resubmissions). The first remit is the earliest non-reversal claim
--   in claim order. first_pass_paid: the first remit carries no denial unit of any kind and its CLP02 is
--   1, 2, 3, 19, 20 or 21.
-- column episode_id: First 16 hex characters of md5(payer_key || '|' || patient_control_number).
-- column patient_control_number: CLP01.
-- column payer_key: Payer identity.
-- column claim_count: Claims of the episode, reversals included.
-- column remit_count: Non-reversal claims.
-- column first_remit_claim_id: The first remit; NULL when the episode holds only reversals.
-- column first_remit_date: Earliest payment date of a non-reversal claim.
-- column last_remit_date: Latest payment date of a non-reversal claim.
-- column charge_amount: CLP03 of the first remit.
-- column paid_amount: Sum of CLP04 over all the episode's claims, reversals included (net).
-- column first_pass_paid: Paid on the first remit without any denial, redirect or patient denial.
-- column first_payment_date: Payment date of the earliest claim with CLP04 > 0.
-- column received_date: DTM*050 of the first remit, else of the earliest claim of the episode with one.
-- column days_to_pay: first_payment_date - received_date in days; NULL when either is missing.
-- column is_secondary: The first remit carries OA-23 (a prior payer's adjudication): a primary is expected.
-- unique_key: episode_id
-- tests: not_null(payer_key), not_null(claim_count), not_null(first_pass_paid)
WITH agg AS (
    -- one pass, no window: the first remit (a struct, so it is picked even where a field is NULL) and
    -- the first received date are arg_min over seq, which is unique
    SELECT
        episode_id,
        min(patient_control_number) AS patient_control_number,
        min(payer_key) AS payer_key,
        count(*) AS claim_count,
        count(CASE WHEN NOT is_reversal THEN 1 END) AS remit_count,
        min(CASE WHEN NOT is_reversal THEN payment_date END) AS first_remit_date,
        max(CASE WHEN NOT is_reversal THEN payment_date END) AS last_remit_date,
        CAST(sum(paid_amount) AS DECIMAL(38, 2)) AS paid_amount,
        min(CASE WHEN paid_amount > 0 THEN payment_date END) AS first_payment_date,
        arg_min(received_date, seq) FILTER (WHERE received_date IS NOT NULL) AS any_received,
        arg_min(
            {
                'claim_id': claim_id,
                'status': claim_status_code,
                'charge': charge_amount,
                'received': received_date
            },
            seq
        ) FILTER (WHERE NOT is_reversal) AS first_remit
    FROM intermediate.int_claims
    GROUP BY episode_id
),
units AS (SELECT DISTINCT claim_id FROM intermediate.int_denial_units),
secondary AS (
    SELECT DISTINCT claim_id FROM intermediate.int_adjustment_kinds WHERE group_code = 'OA' AND reason_code = '23' AND amount > 0
)
SELECT
    a.episode_id,
    a.patient_control_number,
    a.payer_key,
    a.claim_count,
    a.remit_count,
    a.first_remit.claim_id AS first_remit_claim_id,
    a.first_remit_date,
    a.last_remit_date,
    a.first_remit.charge AS charge_amount,
    a.paid_amount,
    coalesce(
        a.first_remit.claim_id IS NOT NULL AND u.claim_id IS NULL
            AND a.first_remit.status IN ('1', '2', '3', '19', '20', '21'),
        false
    ) AS first_pass_paid,
    a.first_payment_date,
    coalesce(a.first_remit.received, a.any_received) AS received_date,
    datediff('day', coalesce(a.first_remit.received, a.any_received), a.first_payment_date) AS days_to_pay,
    s.claim_id IS NOT NULL AS is_secondary
FROM agg AS a
LEFT JOIN units AS u ON u.claim_id = a.first_remit.claim_id
LEFT JOIN secondary AS s ON s.claim_id = a.first_remit.claim_id
