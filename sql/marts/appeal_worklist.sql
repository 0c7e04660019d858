-- name: marts.appeal_worklist
-- materialized: table
-- grain: one row per denied claim or denied line x group_code x reason_code whose guidance is appealable
-- depends_on: marts.adjustment_detail, marts.claim_outcomes, marts.line_outcomes, staging.stg_remarks,
--   ref.carc, ref.carc_group_guidance
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
        sum(a.amount) AS dollars_at_stake
    FROM marts.adjustment_detail AS a
    INNER JOIN marts.claim_outcomes AS c ON c.claim_id = a.claim_id
    LEFT JOIN marts.line_outcomes AS l ON l.line_id = a.line_id
    WHERE a.appealable
        AND a.group_code <> 'PR'
        AND (c.is_denied OR coalesce(l.is_denied, false))
    GROUP BY a.claim_id, a.line_id, a.level, a.payment_month, a.payer_key, a.group_code, a.reason_code
),
-- list functions, not string_agg(DISTINCT ... ORDER BY): Spark 3.5 has no LISTAGG; same text in DuckDB
claim_remarks AS (
    SELECT claim_id, array_to_string(list_sort(list_distinct(list(remark_code))), ',') AS remark_codes
    FROM staging.stg_remarks
    WHERE line_id IS NULL
    GROUP BY claim_id
),
line_remarks AS (
    SELECT line_id, array_to_string(list_sort(list_distinct(list(remark_code))), ',') AS remark_codes
    FROM staging.stg_remarks
    WHERE line_id IS NOT NULL
    GROUP BY line_id
)
SELECT
    CAST(row_number() OVER (
        ORDER BY i.dollars_at_stake DESC, i.payment_month, i.claim_id, i.line_id, i.reason_code, i.group_code
    ) AS BIGINT) AS worklist_rank,  -- BIGINT in both engines (Spark's row_number is INT)
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
    k.summary AS carc_summary,
    k.category AS carc_category,
    CAST(i.dollars_at_stake AS DECIMAL(18, 2)) AS dollars_at_stake,
    g.action,
    CASE WHEN i.line_id IS NULL THEN cr.remark_codes ELSE lr.remark_codes END AS remark_codes
FROM items AS i
INNER JOIN marts.claim_outcomes AS c ON c.claim_id = i.claim_id
LEFT JOIN ref.carc AS k ON k.code = i.reason_code
LEFT JOIN ref.carc_group_guidance AS g ON g.reason_code = i.reason_code AND g.group_code = i.group_code
LEFT JOIN claim_remarks AS cr ON cr.claim_id = i.claim_id
LEFT JOIN line_remarks AS lr ON lr.line_id = i.line_id
WHERE i.dollars_at_stake > 0
