-- name: marts.appeal_worklist
-- materialized: table
-- grain: one row per denied claim or denied line x group_code x reason_code whose guidance is appealable
-- depends_on: marts.adjustment_detail, marts.claim_outcomes, marts.line_outcomes, staging.stg_remarks
-- description: What to appeal first. Non-PR adjustments on a denied claim (claim level and its lines) or on
--   a denied line, whose ref.carc_group_guidance row says appealable, summed per item and CARC and ranked
--   by dollars at stake. No patient names or ids: patient_key only.
-- column worklist_rank: 1 = most dollars at stake (ties: payment month, claim id, line id, CARC).
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type.
-- column claim_id: Lake id of the claim.
-- column line_id: Denied service line; NULL for a claim-level adjustment.
-- column level: 'claim' or 'line'.
-- column payer_claim_control_number: CLP07, to quote in the appeal.
-- column patient_key: Keyed hash of the patient.
-- column claim_status_code: CLP02.
-- column group_code: CAS01 group code.
-- column reason_code: CARC.
-- column carc_summary: What the CARC means.
-- column carc_category: Analytic category of the CARC.
-- column dollars_at_stake: Sum of the adjustment amounts for this item and CARC.
-- column action: Recommended next step (ref.carc_group_guidance.action).
-- column remark_codes: The item's remark codes (line remarks for a line, claim remarks for the claim),
--   comma-separated in code order; NULL when none.
WITH items AS (
    SELECT
        a.claim_id,
        a.line_id,
        a.level,
        a.payment_month,
        a.payer_key,
        a.group_code,
        a.reason_code,
        min(a.carc_summary) AS carc_summary,
        min(a.carc_category) AS carc_category,
        min(a.action) AS action,
        sum(a.amount) AS dollars_at_stake
    FROM marts.adjustment_detail AS a
    INNER JOIN marts.claim_outcomes AS c ON c.claim_id = a.claim_id
    LEFT JOIN marts.line_outcomes AS l ON l.line_id = a.line_id
    WHERE a.appealable
        AND a.group_code <> 'PR'
        AND (c.is_denied OR coalesce(l.is_denied, false))
    GROUP BY a.claim_id, a.line_id, a.level, a.payment_month, a.payer_key, a.group_code, a.reason_code
),
claim_remarks AS (
    SELECT claim_id, string_agg(DISTINCT remark_code, ',' ORDER BY remark_code) AS remark_codes
    FROM staging.stg_remarks
    WHERE line_id IS NULL
    GROUP BY claim_id
),
line_remarks AS (
    SELECT line_id, string_agg(DISTINCT remark_code, ',' ORDER BY remark_code) AS remark_codes
    FROM staging.stg_remarks
    WHERE line_id IS NOT NULL
    GROUP BY line_id
)
SELECT
    row_number() OVER (
        ORDER BY i.dollars_at_stake DESC, i.payment_month, i.claim_id, i.line_id, i.reason_code, i.group_code
    ) AS worklist_rank,
    i.payment_month,
    i.payer_key,
    c.payer_name,
    c.plan_type,
    i.claim_id,
    i.line_id,
    i.level,
    c.payer_claim_control_number,
    c.patient_key,
    c.claim_status_code,
    i.group_code,
    i.reason_code,
    i.carc_summary,
    i.carc_category,
    CAST(i.dollars_at_stake AS DECIMAL(18, 2)) AS dollars_at_stake,
    i.action,
    CASE WHEN i.line_id IS NULL THEN cr.remark_codes ELSE lr.remark_codes END AS remark_codes
FROM items AS i
INNER JOIN marts.claim_outcomes AS c ON c.claim_id = i.claim_id
LEFT JOIN claim_remarks AS cr ON cr.claim_id = i.claim_id
LEFT JOIN line_remarks AS lr ON lr.line_id = i.line_id
WHERE i.dollars_at_stake > 0
