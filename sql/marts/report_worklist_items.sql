-- name: marts.report_worklist_items
-- materialized: view
-- grain: one row per open denial on a worklist (marts.appeal_worklist, marts.rework_worklist,
--   marts.redirect_worklist)
-- depends_on: marts.appeal_worklist, marts.rework_worklist, marts.redirect_worklist
-- description: The three worklists in one list, for the report's worklist table and the handbook's open
--   items: only open denials (an item leaves its list when its denial is resolved), ages and deadlines
--   against the warehouse's as-of date. No patient key, name or id.
-- column worklist: appeal, rework or redirect.
-- column worklist_rank: The item's rank on its own worklist (1 = most dollars at stake).
-- column denial_id: The denial event (marts.denial_events).
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column payer_claim_control_number: CLP07 of the denying remit.
-- column claim_id: The denying remit.
-- column level: claim or line.
-- column line_key: For level line, the line key (REF*6R, else procedure code || service date).
-- column group_code: Group code of the top reason.
-- column reason_code: CARC of the top reason.
-- column carc_summary: What the CARC means.
-- column remark_codes: Remark codes, space separated.
-- column dollars_at_stake: The denial's denied_amount.
-- column first_denied_date: Payment date of the first denial.
-- column age_days: As-of date - first_denied_date.
-- column deadline_date: first_denied_date + the payer's appeal_days, else the default.
-- column days_left: deadline_date - as-of date (negative: past the deadline).
-- column action: ref.carc_group_guidance action.
-- unique_key: denial_id
SELECT 'appeal' AS worklist, worklist_rank, denial_id, payer_key, payer_name, payer_claim_control_number,
    claim_id, level, line_key, group_code, reason_code, carc_summary, remark_codes, dollars_at_stake,
    first_denied_date, age_days, deadline_date, days_left, action
FROM marts.appeal_worklist
UNION ALL
SELECT 'rework', worklist_rank, denial_id, payer_key, payer_name, payer_claim_control_number, claim_id, level,
    line_key, group_code, reason_code, carc_summary, remark_codes, dollars_at_stake, first_denied_date,
    age_days, deadline_date, days_left, action
FROM marts.rework_worklist
UNION ALL
SELECT 'redirect', worklist_rank, denial_id, payer_key, payer_name, payer_claim_control_number, claim_id,
    level, line_key, group_code, reason_code, carc_summary, remark_codes, dollars_at_stake, first_denied_date,
    age_days, deadline_date, days_left, action
FROM marts.redirect_worklist
