-- name: marts.remits_without_submission
-- materialized: table
-- incremental: episode_id
-- grain: one row per remitted episode (CLP01 x payer_key with a non-reversal claim) that no loaded 837
--   claim has (same CLM01 and payer); empty when no 837 was loaded
-- depends_on: intermediate.int_episodes, intermediate.int_submissions, intermediate.int_claims,
--   marts.dim_payer, staging.stg_claims, staging.stg_lake_files
-- description: Remits without a submission: claims the payers answered that no loaded 837 claim names (no
--   submitted claim with the same patient control number and payer, at any date), counted (one row each)
--   and listed. A provider that loads its 837s from some date on sees the earlier claims here too. Empty
--   when no 837 was ever loaded (there is nothing to compare with).
-- column episode_id: The episode, as in marts.claim_episodes.
-- column patient_control_number: CLP01.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column first_remit_claim_id: The episode's first remit, by its readable id (staging.stg_claims.claim_ref).
-- column first_remit_date: Its payment date.
-- column payer_claim_control_number: CLP07 of the first remit.
-- column remit_count: Non-reversal claims of the episode.
-- column charge_amount: CLP03 of the first remit.
-- column paid_amount: Sum of CLP04 over the episode's claims, reversals included (net).
-- unique_key: episode_id
-- tests: not_null(payer_key), not_null(first_remit_date)
SELECT
    e.episode_id,
    e.patient_control_number,
    e.payer_key,
    d.payer_name,
    rc.claim_ref AS first_remit_claim_id,
    e.first_remit_date,
    c.payer_claim_control_number,
    e.remit_count,
    e.charge_amount,
    e.paid_amount
FROM intermediate.int_episodes AS e
INNER JOIN marts.dim_payer AS d ON d.payer_key = e.payer_key
LEFT JOIN intermediate.int_claims AS c ON c.claim_id = e.first_remit_claim_id
LEFT JOIN staging.stg_claims AS rc ON rc.claim_id = e.first_remit_claim_id  -- its readable id
WHERE e.first_remit_claim_id IS NOT NULL
    AND e.episode_id NOT IN (SELECT episode_id FROM intermediate.int_submissions)
    -- some loaded file holds an 837 claim (the manifest, not the 837 tables: a night's scope holds only its
    -- own episodes' 837s; the night the first 837 is loaded or the last removed is a full build)
    AND EXISTS (SELECT 1 FROM staging.stg_lake_files WHERE rows_submitted_claims > 0)
