-- name: marts.claim_netting
-- materialized: table
-- incremental: claim_id
-- grain: one row per claim in staging.stg_claims (every remitted claim, before netting)
-- depends_on: intermediate.int_claim_netting
-- description: How each claim takes part in reversal netting (the rules are in
--   intermediate.int_claim_netting; this table publishes it unchanged).
-- column claim_id: Key of the claim (an integer, docs/parser.md "Keys and ids").
-- column netting_role: original (never reversed), original_reversed, reversal_matched, reversal_unmatched
--   or correction.
-- column is_netted_out: True for original_reversed and reversal_matched claims: they leave the marts.
-- column matched_claim_id: For a reversal its original, for a reversed original its reversal.
-- column replaces_claim_id: For a correction, the reversed original it replaces.
-- column counts_as_remit: The claim counts in denial-rate denominators (ref.claim_status_codes; false for
--   reversals 22, pricing-only 25 and not-our-claim 23; true for unknown status codes).
-- unique_key: claim_id
SELECT
    claim_id,
    netting_role,
    is_netted_out,
    matched_claim_id,
    replaces_claim_id,
    counts_as_remit
FROM intermediate.int_claim_netting
