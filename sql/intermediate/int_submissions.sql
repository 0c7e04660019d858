-- name: intermediate.int_submissions
-- materialized: ephemeral
-- incremental: episode_id
-- grain: one row per submitted claim (CLM of an 837P/I/D) in staging.stg_submitted_claims
-- depends_on: staging.stg_submitted_claims, staging.stg_submitted_lines, staging.stg_payments,
--   staging.stg_service_lines, ref.payers, ref.claim_status_codes, intermediate.int_claims,
--   intermediate.int_adjustment_kinds
-- description: Each submitted claim matched to the remits that answer it (docs/metrics.md, "Claims
--   submitted"). Payer: the 837 payer id (2010BB NM109) when it is an 835 payer key or a payer_id of
--   payers.csv, else the payer_id of the payers.csv row whose submitted_payer_id is the 837 payer id, else
--   the 837 payer id as it is. The episode is CLM01 x that payer (the same md5 as the remits' episode, CLP01
--   x payer). Its answers are the episode's non-reversal remits paid on or after the submission date; the
--   first in claim order is the first remit. Lines match by REF*6R line control number. Of several 837s of
--   one episode the latest (submission date, then file id, then submitted claim id) is the one kept as the
--   episode's submission.
-- column submitted_claim_id: Key of the submitted claim (staging.stg_submitted_claims).
-- column submitted_claim_ref: Readable id of the submitted claim (staging.stg_submitted_claims).
-- column file_id: sha256 of the 837 file.
-- column claim_type: professional, institutional or dental.
-- column submission_date: BHT04 of the 837.
-- column patient_control_number: CLM01.
-- column submitted_payer_id: The 837 payer id (2010BB NM109).
-- column submitted_payer_name: The 837 payer name (NM103).
-- column payer_key: Payer identity matched to the 835s.
-- column payer_matched_on: payer_id (the 837 id is an 835 payer key or a payers.csv payer_id),
--   payers_csv (mapped by payers.csv submitted_payer_id) or none (unknown to both: it can match no remit).
-- column episode_id: First 16 hex characters of md5(payer_key || '|' || CLM01), as the remits' episode.
-- column claim_charge: CLM02 total charge.
-- column frequency_code: CLM05-3 (1 original, 7 replacement, 8 void).
-- column is_resubmission: frequency_code 7 or 8.
-- column is_latest_submission: The latest 837 of its episode: the episode's submission.
-- column line_count: Service lines submitted.
-- column lines_with_control_number: Of those, lines with a REF*6R line control number.
-- column lines_matched: Of those, lines whose REF*6R is on a line of an answering remit.
-- column remit_count: Answering remits: non-reversal claims of the episode paid on or after submission_date.
-- column first_remit_claim_id: The first answering remit in claim order; NULL when unanswered.
-- column first_remit_date: Its payment date.
-- column first_remit_paid_amount: Its CLP04.
-- column first_remit_denied: The first remit is a denied claim: it counts as a remit, paid 0, with
--   dollars of kind denial (the remitted-basis rule of docs/metrics.md, before netting).
-- column first_payment_date: Earliest payment date of an answering remit with CLP04 > 0.
-- column days_to_first_remit: first_remit_date - submission_date in days.
-- column days_to_payment: first_payment_date - submission_date in days.
-- column is_unanswered: No answering remit in the lake.
-- unique_key: submitted_claim_id
-- tests: not_null(payer_key), not_null(episode_id), not_null(submission_date), not_null(is_unanswered),
--   accepted_values(payer_matched_on: payer_id payers_csv none)
WITH known AS (
    SELECT DISTINCT payer_key AS payer_id FROM staging.stg_payments
    UNION
    SELECT payer_id FROM ref.payers
),
mapped AS (
    SELECT submitted_payer_id, min(payer_id) AS payer_id
    FROM ref.payers
    WHERE submitted_payer_id IS NOT NULL
    GROUP BY submitted_payer_id
),
keyed AS (
    SELECT
        s.submitted_claim_id,
        s.submitted_claim_ref,
        s.file_id,
        s.claim_type,
        s.submission_date,
        s.patient_control_number,
        s.payer_id AS submitted_payer_id,
        s.payer_name AS submitted_payer_name,
        CASE
            WHEN k.payer_id IS NOT NULL THEN k.payer_id
            WHEN m.payer_id IS NOT NULL THEN m.payer_id
            ELSE coalesce(s.payer_id, 'UNIDENTIFIED')
        END AS payer_key,
        CASE
            WHEN k.payer_id IS NOT NULL THEN 'payer_id'
            WHEN m.payer_id IS NOT NULL THEN 'payers_csv'
            ELSE 'none'
        END AS payer_matched_on,
        s.claim_charge,
        s.frequency_code
    FROM staging.stg_submitted_claims AS s
    LEFT JOIN known AS k ON k.payer_id = s.payer_id
    LEFT JOIN mapped AS m ON m.submitted_payer_id = s.payer_id
),
subs AS (
    SELECT
        *,
        substr(md5(payer_key || '|' || coalesce(patient_control_number, '')), 1, 16) AS episode_id
    FROM keyed
),
denied AS (
    SELECT DISTINCT claim_id
    FROM intermediate.int_adjustment_kinds
    WHERE kind = 'denial' AND amount > 0 AND NOT is_reversal
),
remits AS (
    SELECT
        c.claim_id,
        c.seq,
        c.episode_id,
        c.payment_date,
        c.paid_amount,
        (c.paid_amount = 0 AND d.claim_id IS NOT NULL AND coalesce(st.counts_as_remit, true)) AS is_denied
    FROM intermediate.int_claims AS c
    LEFT JOIN denied AS d ON d.claim_id = c.claim_id
    LEFT JOIN ref.claim_status_codes AS st ON st.code = c.claim_status_code
    WHERE NOT c.is_reversal AND c.episode_id IN (SELECT episode_id FROM subs)
),
answers AS (
    SELECT
        s.submitted_claim_id,
        count(*) AS remit_count,
        arg_min(
            {'claim_id': r.claim_id, 'paid': r.paid_amount, 'denied': r.is_denied, 'date': r.payment_date},
            r.seq
        ) AS first_remit,
        min(CASE WHEN r.paid_amount > 0 THEN r.payment_date END) AS first_payment_date
    FROM subs AS s
    INNER JOIN remits AS r ON r.episode_id = s.episode_id AND r.payment_date >= s.submission_date
    GROUP BY s.submitted_claim_id
),
remit_lines AS (
    -- REF*6R of the lines of each submission's answering remits
    SELECT DISTINCT s.submitted_claim_id, l.line_control_number
    FROM subs AS s
    INNER JOIN remits AS r ON r.episode_id = s.episode_id AND r.payment_date >= s.submission_date
    INNER JOIN staging.stg_service_lines AS l ON l.claim_id = r.claim_id
    WHERE l.line_control_number IS NOT NULL
),
line_counts AS (
    SELECT
        sl.submitted_claim_id,
        count(*) AS line_count,
        count(sl.line_control_number) AS lines_with_control_number,
        count(rl.line_control_number) AS lines_matched
    FROM staging.stg_submitted_lines AS sl
    LEFT JOIN remit_lines AS rl
        ON rl.submitted_claim_id = sl.submitted_claim_id AND rl.line_control_number = sl.line_control_number
    GROUP BY sl.submitted_claim_id
),
ranked AS (
    SELECT
        s.*,
        row_number() OVER (
            PARTITION BY s.episode_id ORDER BY s.submission_date DESC, s.submitted_claim_ref DESC
        ) AS latest_rank
    FROM subs AS s
)
SELECT
    s.submitted_claim_id,
    s.submitted_claim_ref,
    s.file_id,
    s.claim_type,
    s.submission_date,
    s.patient_control_number,
    s.submitted_payer_id,
    s.submitted_payer_name,
    s.payer_key,
    s.payer_matched_on,
    s.episode_id,
    s.claim_charge,
    s.frequency_code,
    coalesce(s.frequency_code IN ('7', '8'), false) AS is_resubmission,
    s.latest_rank = 1 AS is_latest_submission,
    coalesce(lc.line_count, 0) AS line_count,
    coalesce(lc.lines_with_control_number, 0) AS lines_with_control_number,
    coalesce(lc.lines_matched, 0) AS lines_matched,
    coalesce(a.remit_count, 0) AS remit_count,
    a.first_remit.claim_id AS first_remit_claim_id,
    a.first_remit.date AS first_remit_date,
    a.first_remit.paid AS first_remit_paid_amount,
    coalesce(a.first_remit.denied, false) AS first_remit_denied,
    a.first_payment_date,
    datediff('day', s.submission_date, a.first_remit.date) AS days_to_first_remit,
    datediff('day', s.submission_date, a.first_payment_date) AS days_to_payment,
    a.submitted_claim_id IS NULL AS is_unanswered
FROM ranked AS s
LEFT JOIN answers AS a ON a.submitted_claim_id = s.submitted_claim_id
LEFT JOIN line_counts AS lc ON lc.submitted_claim_id = s.submitted_claim_id
