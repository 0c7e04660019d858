-- name: marts.denial_event_facts
-- materialized: table
-- incremental: episode_id
-- grain: one row per denial event (a denial unit on the remit where it first appears)
-- depends_on: intermediate.int_denial_events, intermediate.int_claims, intermediate.int_lifecycle_settings,
--   marts.dim_payer, ref.payers, ref.carc, ref.carc_group_guidance, staging.stg_payments
-- description: The denial events of marts.denial_events without the two columns that move with the
--   as-of date (age_days, days_left), which the view marts.denial_events adds. Kept per episode, so a night
--   recomputes only the episodes it touches, however far the as-of date moves (an open denial whose window
--   ends puts its episode in the night's scope). Query marts.denial_events: same rows, and the ages.
-- column denial_id: First 16 hex characters of md5(claim_id || '|' || level || '|' || line key).
-- column episode_id: Episode of the denying remit (marts.claim_episodes).
-- column claim_id: The denying remit, by its readable id (staging.stg_claims.claim_ref).
-- column patient_control_number: CLP01.
-- column payer_claim_control_number: CLP07 of the denying remit (quote it in an appeal).
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type.
-- column level: claim (the claim was paid 0) or line (a line of a partly paid claim).
-- column line_key: For level line, REF*6R, else procedure code || service date.
-- column line_id: For level line, the first service line with that key, by its readable id
--   (<claim_id>-<SVC ordinal>).
-- column kind: denial (denial CARC under CO/OA/PI), patient_denial (under PR) or redirect.
-- column group_code: Group code of the top reason (the CARC carrying the most event dollars).
-- column reason_code: CARC of the top reason.
-- column carc_summary: What the CARC means.
-- column carc_category: ref.carc.category of the CARC.
-- column remark_codes: Remark codes of the unit, distinct, sorted, space separated.
-- column denied_amount: Sum of the unit's adjustment dollars of its kind.
-- column first_denied_date: Payment date of the remit where the denial first appears (D).
-- column first_denied_month: 'YYYY-MM' of first_denied_date.
-- column resolution: open, overturned, corrected_paid, redirected, transferred_to_patient, reversed or
--   written_off.
-- column resolution_date: When it was resolved (written_off: D + window); NULL when open.
-- column resolution_month: 'YYYY-MM' of resolution_date.
-- column resolved_by_claim_id: The remit that paid it (overturned, corrected_paid, redirected), by its
--   readable id.
-- column recovered_amount: What the resolving remit paid for it, at most denied_amount.
-- column writeoff_amount: Final write-off: denied_amount - recovered_amount for kind denial resolved
--   written_off, overturned or corrected_paid; else 0.
-- column action: ref.carc_group_guidance action of the top group and CARC.
-- column worklist: appeal (action appeal), rework (correct_and_resubmit) or redirect
--   (submit_to_other_plan, not a CARC the payer itself forwarded: 290-292); NULL otherwise.
-- column deadline_date: first_denied_date + the payer's appeal_days (payers.csv), else the default.
-- unique_key: denial_id
-- tests: not_null(episode_id), not_null(resolution), not_null(denied_amount),
--   accepted_values(kind: denial patient_denial redirect), accepted_values(level: claim line),
--   accepted_values(resolution: open overturned corrected_paid redirected transferred_to_patient reversed
--   written_off), accepted_values(worklist: appeal rework redirect)
SELECT
    e.denial_id,
    e.episode_id,
    rp_c.transaction_ref || '-' || CAST(c.claim_ordinal AS VARCHAR) AS claim_id,
    c.patient_control_number,
    c.payer_claim_control_number,
    c.payer_key,
    d.payer_name,
    d.plan_type,
    e.level,
    e.line_key,
    CASE WHEN e.line_id IS NOT NULL THEN rp_c.transaction_ref || '-' || CAST(c.claim_ordinal AS VARCHAR) || '-' || CAST(CAST(e.line_id - e.claim_id AS BIGINT) / 65536 AS BIGINT) END AS line_id,
    e.kind,
    e.group_code,
    e.reason_code,
    k.summary AS carc_summary,
    k.category AS carc_category,
    e.remark_codes,
    e.denied_amount,
    e.first_denied_date,
    strftime(e.first_denied_date, '%Y-%m') AS first_denied_month,
    e.resolution,
    e.resolution_date,
    strftime(e.resolution_date, '%Y-%m') AS resolution_month,
    rp_b.transaction_ref || '-' || CAST(b.claim_ordinal AS VARCHAR) AS resolved_by_claim_id,
    e.recovered_amount,
    e.writeoff_amount,
    g.action,
    CASE
        WHEN g.action = 'appeal' THEN 'appeal'
        WHEN g.action = 'correct_and_resubmit' THEN 'rework'
        WHEN g.action = 'submit_to_other_plan' AND NOT coalesce(k.crossover_forwarded, false) THEN 'redirect'
    END AS worklist,
    date_add(e.first_denied_date, coalesce(rp.appeal_days, s.default_appeal_days)) AS deadline_date
FROM intermediate.int_denial_events AS e
INNER JOIN intermediate.int_claims AS c ON c.claim_id = e.claim_id
-- the ids people read, staging.stg_claims.claim_ref (transaction_ref '-' CLP position; docs/parser.md,
-- "Keys and ids"), made from the claims in memory and their payments' refs, not a scan of the lake's claims
INNER JOIN staging.stg_payments AS rp_c ON rp_c.transaction_id = c.transaction_id
LEFT JOIN intermediate.int_claims AS b ON b.claim_id = e.resolved_by_claim_id
LEFT JOIN staging.stg_payments AS rp_b ON rp_b.transaction_id = b.transaction_id
INNER JOIN marts.dim_payer AS d ON d.payer_key = c.payer_key
CROSS JOIN intermediate.int_lifecycle_settings AS s
LEFT JOIN ref.payers AS rp ON rp.payer_id = c.payer_key
LEFT JOIN ref.carc AS k ON k.code = e.reason_code
LEFT JOIN ref.carc_group_guidance AS g ON g.reason_code = e.reason_code AND g.group_code = e.group_code
