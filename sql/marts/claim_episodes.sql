-- name: marts.claim_episodes
-- materialized: table
-- incremental: episode_id
-- grain: one row per episode: patient_control_number (CLP01) x payer_key, over all claims before netting
-- depends_on: intermediate.int_episodes, intermediate.int_denial_events, intermediate.int_submissions,
--   marts.dim_payer, intermediate.int_claims, staging.stg_payments
-- description: A claim as the provider billed it to one payer, from its first remit to its last, with its
--   denial events and its links to other payers' episodes of the same CLP01 (secondary after primary, the
--   other plan after a redirect). Rules in docs/metrics.md; intermediate.int_episodes builds it.
-- column episode_id: First 16 hex characters of md5(payer_key || '|' || patient_control_number).
-- column patient_control_number: CLP01, the provider's claim (patient account) number.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type.
-- column claim_count: Claims of the episode, reversals included.
-- column remit_count: Non-reversal claims.
-- column first_remit_claim_id: The first remit (earliest non-reversal claim in claim order), by its
--   readable id (staging.stg_claims.claim_ref).
-- column first_remit_date: Earliest payment date of a non-reversal claim.
-- column last_remit_date: Latest payment date of a non-reversal claim.
-- column charge_amount: CLP03 of the first remit.
-- column paid_amount: Sum of CLP04 over all the episode's claims, reversals included (net).
-- column first_pass_paid: Paid on the first remit without any denial event (CLP02 1, 2, 3, 19, 20, 21).
-- column first_payment_date: Payment date of the earliest claim with CLP04 > 0.
-- column received_date: DTM*050 of the first remit, else of the earliest claim of the episode with one.
-- column days_to_pay: first_payment_date - received_date in days; NULL when either is missing.
-- column denial_events: Denial events of the episode (marts.denial_events, every kind).
-- column open_denials: Of those, still open.
-- column other_payer_episodes: Episodes of other payers with the same CLP01 (cross-payer links).
-- column expects_other_payer: A link to another payer is expected: the first remit carries OA-23 (a
--   primary paid first) or the episode has a redirect or crossover event.
-- column other_payer_unmatched: expects_other_payer and no episode of another payer has the same CLP01.
-- column submitted_date: BHT04 of the episode's submission: the latest 837 with this CLM01 and payer
--   (intermediate.int_submissions); NULL when no 837 was loaded for it.
-- column submitted_charge: CLM02 of that 837; NULL when none.
-- column submission_count: 837 claims with this CLM01 and payer (originals, replacements and voids); 0
--   when none.
-- unique_key: episode_id
-- tests: not_null(payer_key), not_null(first_pass_paid), not_null(other_payer_unmatched)
WITH ev AS (
    SELECT
        episode_id,
        count(*) AS denial_events,
        count(CASE WHEN resolution = 'open' THEN 1 END) AS open_denials,
        count(CASE WHEN kind = 'redirect' OR resolution = 'redirected' THEN 1 END) AS redirects
    FROM intermediate.int_denial_events
    GROUP BY episode_id
),
links AS (
    SELECT e.episode_id, count(*) AS other_payer_episodes
    FROM intermediate.int_episodes AS e
    INNER JOIN intermediate.int_episodes AS o
        ON o.patient_control_number = e.patient_control_number AND o.payer_key <> e.payer_key
    GROUP BY e.episode_id
),
submitted AS (
    SELECT
        episode_id,
        count(*) AS submission_count,
        max(CASE WHEN is_latest_submission THEN submission_date END) AS submitted_date,
        max(CASE WHEN is_latest_submission THEN claim_charge END) AS submitted_charge
    FROM intermediate.int_submissions
    GROUP BY episode_id
)
SELECT
    e.episode_id,
    e.patient_control_number,
    e.payer_key,
    d.payer_name,
    d.plan_type,
    e.claim_count,
    e.remit_count,
    fp.transaction_ref || '-' || CAST(fc.claim_ordinal AS VARCHAR) AS first_remit_claim_id,
    e.first_remit_date,
    e.last_remit_date,
    e.charge_amount,
    e.paid_amount,
    e.first_pass_paid,
    e.first_payment_date,
    e.received_date,
    e.days_to_pay,
    coalesce(v.denial_events, 0) AS denial_events,
    coalesce(v.open_denials, 0) AS open_denials,
    coalesce(l.other_payer_episodes, 0) AS other_payer_episodes,
    (e.is_secondary OR coalesce(v.redirects, 0) > 0) AS expects_other_payer,
    ((e.is_secondary OR coalesce(v.redirects, 0) > 0) AND l.episode_id IS NULL) AS other_payer_unmatched,
    s.submitted_date,
    s.submitted_charge,
    coalesce(s.submission_count, 0) AS submission_count
FROM intermediate.int_episodes AS e
INNER JOIN marts.dim_payer AS d ON d.payer_key = e.payer_key
LEFT JOIN ev AS v ON v.episode_id = e.episode_id
LEFT JOIN links AS l ON l.episode_id = e.episode_id
LEFT JOIN submitted AS s ON s.episode_id = e.episode_id
-- its readable id, staging.stg_claims.claim_ref (transaction_ref '-' CLP position), made from the claim
-- in memory and its payment's ref rather than a scan of the lake's claims
LEFT JOIN intermediate.int_claims AS fc ON fc.claim_id = e.first_remit_claim_id
LEFT JOIN staging.stg_payments AS fp ON fp.transaction_id = fc.transaction_id
