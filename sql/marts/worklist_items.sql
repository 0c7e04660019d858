-- name: marts.worklist_items
-- materialized: table
-- incremental: full
-- grain: one row per open denial event on a worklist (appeal, rework or redirect; marts.denial_events)
-- depends_on: marts.denial_events
-- description: The open items of the three worklists in one place, with the columns every list shows; each
--   worklist mart (marts.appeal_worklist, rework_worklist, redirect_worklist) is a view of one worklist of
--   it (a table computed once a night: the three lists were three passes over every denial event). An
--   item leaves its list when its denial is resolved; it stays past its deadline (days_left < 0) until
--   then.
-- unique_key: denial_id
-- tests: not_null(dollars_at_stake), not_null(deadline_date), accepted_values(worklist: appeal rework redirect)
-- column worklist: appeal (guidance action appeal), rework (correct_and_resubmit) or redirect (bill the
--   other plan).
-- column worklist_rank: 1 = most dollars at stake in its worklist (ties: earliest first denial, then denial_id).
-- column denial_id: The denial event (marts.denial_events).
-- column patient_control_number: CLP01, the provider's claim number.
-- column payer_claim_control_number: CLP07 of the denying remit.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type.
-- column payment_month: Payment month 'YYYY-MM' of the first denial.
-- column claim_id: The denying remit.
-- column line_id: For level line, the first service line of the denied line key.
-- column level: claim or line.
-- column line_key: For level line, the line key.
-- column group_code: Group code of the top reason.
-- column reason_code: CARC of the top reason.
-- column carc_summary: What the CARC means.
-- column carc_category: Analytic category of the CARC.
-- column remark_codes: Remark codes, space separated.
-- column dollars_at_stake: denied_amount of the event.
-- column first_denied_date: Payment date of the first denial.
-- column age_days: As-of date - first_denied_date.
-- column deadline_date: first_denied_date + the payer's appeal_days (payers.csv), else the default.
-- column days_left: deadline_date - as-of date (negative: past the deadline).
-- column action: ref.carc_group_guidance action.
SELECT
    worklist,
    CAST(row_number() OVER (PARTITION BY worklist ORDER BY denied_amount DESC, first_denied_date, denial_id)
        AS BIGINT) AS worklist_rank,  -- BIGINT in both engines (Spark's row_number is INT)
    denial_id,
    patient_control_number,
    payer_claim_control_number,
    payer_key,
    payer_name,
    plan_type,
    first_denied_month AS payment_month,
    claim_id,
    line_id,
    level,
    line_key,
    group_code,
    reason_code,
    carc_summary,
    carc_category,
    remark_codes,
    denied_amount AS dollars_at_stake,
    first_denied_date,
    age_days,
    deadline_date,
    days_left,
    action
FROM marts.denial_events
WHERE resolution = 'open' AND worklist IN ('appeal', 'rework', 'redirect')
