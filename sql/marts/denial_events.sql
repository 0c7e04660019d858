-- name: marts.denial_events
-- materialized: view
-- grain: one row per denial event (a denial unit on the remit where it first appears)
-- depends_on: marts.denial_event_facts, marts.lifecycle_settings
-- description: Every denial, redirect and patient denial, claim level (a claim paid 0) or line level (a
--   line of a partly paid claim), from the remit where it first appears to its resolution. Rules, window
--   and as-of date: docs/metrics.md and intermediate.int_denial_events. Only kind denial counts in
--   initial_denied_amount; redirects count in redirected_claims; patient denials resolve as
--   transferred_to_patient. A view: the rows of marts.denial_event_facts (refreshed per episode on a
--   night) with the ages and days left against the current as-of date (marts.lifecycle_settings).
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
-- column age_days: (resolution_date, else the as-of date) - first_denied_date, in days.
-- column action: ref.carc_group_guidance action of the top group and CARC.
-- column worklist: appeal (action appeal), rework (correct_and_resubmit) or redirect
--   (submit_to_other_plan, not a CARC the payer itself forwarded: 290-292); NULL otherwise.
-- column deadline_date: first_denied_date + the payer's appeal_days (payers.csv), else the default.
-- column days_left: deadline_date - as-of date (negative: past the deadline).
-- unique_key: denial_id
-- tests: not_null(episode_id), not_null(resolution), not_null(denied_amount), not_null(age_days),
--   accepted_values(kind: denial patient_denial redirect), accepted_values(level: claim line),
--   accepted_values(resolution: open overturned corrected_paid redirected transferred_to_patient reversed
--   written_off), accepted_values(worklist: appeal rework redirect)
SELECT
    f.denial_id,
    f.episode_id,
    f.claim_id,
    f.patient_control_number,
    f.payer_claim_control_number,
    f.payer_key,
    f.payer_name,
    f.plan_type,
    f.level,
    f.line_key,
    f.line_id,
    f.kind,
    f.group_code,
    f.reason_code,
    f.carc_summary,
    f.carc_category,
    f.remark_codes,
    f.denied_amount,
    f.first_denied_date,
    f.first_denied_month,
    f.resolution,
    f.resolution_date,
    f.resolution_month,
    f.resolved_by_claim_id,
    f.recovered_amount,
    f.writeoff_amount,
    datediff('day', f.first_denied_date, coalesce(f.resolution_date, s.as_of_date)) AS age_days,
    f.action,
    f.worklist,
    f.deadline_date,
    datediff('day', s.as_of_date, f.deadline_date) AS days_left
FROM marts.denial_event_facts AS f
CROSS JOIN marts.lifecycle_settings AS s
