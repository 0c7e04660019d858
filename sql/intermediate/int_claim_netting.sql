-- name: intermediate.int_claim_netting
-- materialized: ephemeral
-- incremental: claim_id
-- grain: one row per claim in staging.stg_claims (every remitted claim, before netting)
-- depends_on: intermediate.int_claims, ref.claim_status_codes
-- description: How each claim takes part in reversal netting. A reversal (CLP02 22) is matched to the
--   latest earlier non-reversal claim of the same payer with the same CLP01 and CLP07, or whose CLP07
--   equals the reversal's REF*F8. The matched original and its reversal are netted out (both leave the
--   marts, in every month); the first later non-reversal claim of the same payer with the same CLP01 (or
--   whose REF*F8 names the original's CLP07) is the correction that replaces the original and counts in
--   its own payment month. A reversal without an original in the lake stays in the marts, with its
--   negative amounts, in its own payment month. Order = payment date, then transaction id, then CLP position.
-- column claim_id: Key of the claim (an integer, docs/parser.md "Keys and ids").
-- column netting_role: original (never reversed), original_reversed, reversal_matched, reversal_unmatched
--   or correction.
-- column is_netted_out: True for original_reversed and reversal_matched claims: they leave the marts.
-- column matched_claim_id: For a reversal its original, for a reversed original its reversal.
-- column replaces_claim_id: For a correction, the reversed original it replaces.
-- column counts_as_remit: The claim counts in denial-rate denominators (ref.claim_status_codes; false for
--   reversals 22, pricing-only 25 and not-our-claim 23; true for unknown status codes).
-- unique_key: claim_id
-- tests: not_null(netting_role), not_null(is_netted_out),
--   accepted_values(netting_role: original original_reversed reversal_matched reversal_unmatched correction)
WITH ordered AS (
    SELECT
        c.claim_id,
        c.payer_key,
        c.patient_control_number,
        c.payer_claim_control_number,
        c.original_reference_number,
        c.is_reversal,
        c.claim_status_code,
        c.seq
    FROM intermediate.int_claims AS c
),
reversals AS (SELECT * FROM ordered WHERE is_reversal),
originals AS (SELECT * FROM ordered WHERE NOT is_reversal),
candidates AS (
    SELECT r.claim_id AS reversal_id, r.seq AS reversal_seq, o.claim_id AS original_id, o.seq AS original_seq,
        o.patient_control_number, o.payer_claim_control_number AS original_ccn, o.payer_key
    FROM reversals AS r
    INNER JOIN originals AS o
        ON o.payer_key = r.payer_key
        AND o.patient_control_number = r.patient_control_number
        AND o.payer_claim_control_number = r.payer_claim_control_number
    WHERE o.seq < r.seq
    UNION
    SELECT r.claim_id, r.seq, o.claim_id, o.seq, o.patient_control_number, o.payer_claim_control_number,
        o.payer_key
    FROM reversals AS r
    INNER JOIN originals AS o
        ON o.payer_key = r.payer_key
        AND o.payer_claim_control_number = r.original_reference_number
    WHERE o.seq < r.seq
),
latest_original AS (
    SELECT *, row_number() OVER (PARTITION BY reversal_id ORDER BY original_seq DESC) AS pick
    FROM candidates
),
pairs AS (
    -- one reversal per original: the earliest reversal that picked it
    SELECT reversal_id, reversal_seq, original_id, patient_control_number, original_ccn, payer_key
    FROM (
        SELECT *, row_number() OVER (PARTITION BY original_id ORDER BY reversal_seq) AS pick_r
        FROM latest_original
        WHERE pick = 1
    ) AS x
    WHERE pick_r = 1
),
correction_candidates AS (
    SELECT p.reversal_id, p.original_id, o.claim_id AS correction_id, o.seq
    FROM pairs AS p
    INNER JOIN originals AS o
        ON o.payer_key = p.payer_key AND o.patient_control_number = p.patient_control_number
    WHERE o.seq > p.reversal_seq
    UNION
    SELECT p.reversal_id, p.original_id, o.claim_id, o.seq
    FROM pairs AS p
    INNER JOIN originals AS o
        ON o.payer_key = p.payer_key AND o.original_reference_number = p.original_ccn
    WHERE o.seq > p.reversal_seq
),
corrections AS (
    -- the first later claim per reversal, and each claim the correction of one original at most
    SELECT correction_id, original_id
    FROM (
        SELECT *, row_number() OVER (PARTITION BY correction_id ORDER BY seq, original_id) AS pick_c
        FROM (
            SELECT *, row_number() OVER (PARTITION BY reversal_id ORDER BY seq) AS pick
            FROM correction_candidates
        ) AS x
        WHERE pick = 1
    ) AS y
    WHERE pick_c = 1
)
SELECT
    o.claim_id,
    CASE
        WHEN o.is_reversal AND pr.reversal_id IS NOT NULL THEN 'reversal_matched'
        WHEN o.is_reversal THEN 'reversal_unmatched'
        WHEN po.original_id IS NOT NULL THEN 'original_reversed'
        WHEN co.correction_id IS NOT NULL THEN 'correction'
        ELSE 'original'
    END AS netting_role,
    (pr.reversal_id IS NOT NULL OR po.original_id IS NOT NULL) AS is_netted_out,
    coalesce(pr.original_id, po.reversal_id) AS matched_claim_id,
    co.original_id AS replaces_claim_id,
    coalesce(s.counts_as_remit, NOT o.is_reversal) AS counts_as_remit
FROM ordered AS o
LEFT JOIN pairs AS pr ON pr.reversal_id = o.claim_id
LEFT JOIN pairs AS po ON po.original_id = o.claim_id
LEFT JOIN corrections AS co ON co.correction_id = o.claim_id
LEFT JOIN ref.claim_status_codes AS s ON s.code = o.claim_status_code
