-- name: marts.submission_matches
-- materialized: table
-- incremental: full
-- grain: one row per submitted claim (CLM of an 837P/I/D loaded into the lake)
-- depends_on: intermediate.int_submissions, intermediate.int_lifecycle_settings, marts.dim_payer, ref.payers,
--   staging.stg_claims
-- description: Every submitted claim with the remits that answered it: matched to the remits (835 CLP)
--   with the same patient control number (CLM01 = CLP01) and payer (the 837 payer id, else its mapping in
--   payers.csv submitted_payer_id), paid on or after the submission date; lines by REF*6R. Unmatched
--   submitted claims are the rows with is_matched false (marts.unanswered_claim_items lists them); remits
--   without any 837 are in marts.remits_without_submission. Rules: docs/metrics.md, "Claims submitted".
-- column submitted_claim_id: Readable id of the submitted claim (<file_id[:24]>-<ST ordinal>-<CLM ordinal>).
-- column file_id: sha256 of the 837 file.
-- column claim_type: professional, institutional or dental.
-- column submission_date: BHT04 of the 837.
-- column submission_month: 'YYYY-MM' of submission_date.
-- column patient_control_number: CLM01, the provider's claim (patient account) number.
-- column submitted_payer_id: The 837 payer id (2010BB NM109).
-- column payer_key: Payer identity matched to the 835s.
-- column payer_name: Payer name (dim_payer, else payers.csv, else the 837's NM103).
-- column plan_type: Payer plan type ('unknown' when not in payers.csv).
-- column payer_matched_on: payer_id, payers_csv (payers.csv submitted_payer_id) or none.
-- column episode_id: The episode (CLM01 x payer) the claim belongs to, as in marts.claim_episodes.
-- column claim_charge: CLM02 total charge.
-- column frequency_code: CLM05-3 (1 original, 7 replacement, 8 void).
-- column is_resubmission: frequency_code 7 or 8.
-- column is_latest_submission: The latest 837 of its episode (marts.claim_episodes.submitted_date).
-- column line_count: Service lines submitted.
-- column lines_with_control_number: Lines with a REF*6R line control number.
-- column lines_matched: Lines whose REF*6R is on a line of an answering remit.
-- column is_matched: At least one remit answered the claim (a non-reversal claim of the episode paid on or
--   after submission_date).
-- column remit_count: Answering remits.
-- column first_remit_claim_id: The first answering remit in claim order, by its readable id.
-- column first_remit_date: Its payment date.
-- column first_remit_paid_amount: Its CLP04.
-- column first_remit_denied: The first remit is a denied claim (paid 0 with dollars of kind denial).
-- column first_payment_date: Earliest payment date of an answering remit with CLP04 > 0.
-- column days_to_first_remit: first_remit_date - submission_date in days.
-- column days_to_payment: first_payment_date - submission_date in days.
-- column as_of_date: The warehouse's as-of date (the latest 835 payment date; the latest submission date
--   when no 835 is loaded).
-- column age_days: as_of_date - submission_date in days.
-- column age_bucket: Unanswered claims only: 0-30, 31-60, 61-90, 91-120 or 120+ days old.
-- unique_key: submitted_claim_id
-- tests: not_null(payer_key), not_null(is_matched), not_null(submission_date),
--   accepted_values(payer_matched_on: payer_id payers_csv none),
--   accepted_values(age_bucket: 0-30 31-60 61-90 91-120 120+)
SELECT
    s.submitted_claim_ref AS submitted_claim_id,
    s.file_id,
    s.claim_type,
    s.submission_date,
    strftime(s.submission_date, '%Y-%m') AS submission_month,
    s.patient_control_number,
    s.submitted_payer_id,
    s.payer_key,
    coalesce(d.payer_name, p.payer_name, s.submitted_payer_name) AS payer_name,
    coalesce(d.plan_type, p.plan_type, 'unknown') AS plan_type,
    s.payer_matched_on,
    s.episode_id,
    CAST(s.claim_charge AS DECIMAL(18, 2)) AS claim_charge,
    s.frequency_code,
    s.is_resubmission,
    s.is_latest_submission,
    s.line_count,
    s.lines_with_control_number,
    s.lines_matched,
    NOT s.is_unanswered AS is_matched,
    s.remit_count,
    rc.claim_ref AS first_remit_claim_id,
    s.first_remit_date,
    CAST(s.first_remit_paid_amount AS DECIMAL(18, 2)) AS first_remit_paid_amount,
    s.first_remit_denied,
    s.first_payment_date,
    s.days_to_first_remit,
    s.days_to_payment,
    o.as_of_date,
    datediff('day', s.submission_date, o.as_of_date) AS age_days,
    CASE
        WHEN NOT s.is_unanswered THEN NULL
        WHEN datediff('day', s.submission_date, o.as_of_date) <= 30 THEN '0-30'
        WHEN datediff('day', s.submission_date, o.as_of_date) <= 60 THEN '31-60'
        WHEN datediff('day', s.submission_date, o.as_of_date) <= 90 THEN '61-90'
        WHEN datediff('day', s.submission_date, o.as_of_date) <= 120 THEN '91-120'
        ELSE '120+'
    END AS age_bucket
FROM intermediate.int_submissions AS s
CROSS JOIN (
    -- the as-of date is the latest 835 payment date; the latest submission date when no 835 is loaded
    SELECT coalesce(
        (SELECT as_of_date FROM intermediate.int_lifecycle_settings),
        (SELECT max(submission_date) FROM intermediate.int_submissions)
    ) AS as_of_date
) AS o
LEFT JOIN marts.dim_payer AS d ON d.payer_key = s.payer_key
LEFT JOIN ref.payers AS p ON p.payer_id = s.payer_key
LEFT JOIN staging.stg_claims AS rc ON rc.claim_id = s.first_remit_claim_id  -- its readable id
