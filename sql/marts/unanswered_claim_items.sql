-- name: marts.unanswered_claim_items
-- materialized: table
-- incremental: full
-- grain: one row per submitted claim with no remit as of the as-of date
-- depends_on: marts.submission_matches
-- description: The claims no payer has answered: submitted (837) and no remit of the same CLM01 and payer
--   paid on or after the submission date, as of the warehouse's as-of date (the latest 835 payment date).
--   Oldest first (unanswered_rank). marts.unanswered_claims sums them by payer and age bucket.
-- column unanswered_rank: 1 = the oldest claim (age_days descending, then charge descending, submission
--   date, submitted claim id).
-- column submitted_claim_id: Key of the submitted claim (an integer, docs/parser.md "Keys and ids").
-- column claim_type: professional, institutional or dental.
-- column submission_date: BHT04 of the 837.
-- column patient_control_number: CLM01, the provider's claim number (to look the claim up; the report
--   does not print it).
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column frequency_code: CLM05-3 (1 original, 7 replacement, 8 void).
-- column claim_charge: CLM02 total charge.
-- column as_of_date: The warehouse's as-of date.
-- column age_days: as_of_date - submission_date in days.
-- column age_bucket: 0-30, 31-60, 61-90, 91-120 or 120+ days.
-- unique_key: submitted_claim_id
-- tests: not_null(age_bucket), not_null(unanswered_rank),
--   accepted_values(age_bucket: 0-30 31-60 61-90 91-120 120+)
SELECT
    -- BIGINT: Spark's row_number is an INT, DuckDB's a BIGINT
    CAST(row_number() OVER (ORDER BY age_days DESC, claim_charge DESC, submission_date, submitted_claim_id)
        AS BIGINT) AS unanswered_rank,
    submitted_claim_id,
    claim_type,
    submission_date,
    patient_control_number,
    payer_key,
    payer_name,
    frequency_code,
    claim_charge,
    as_of_date,
    age_days,
    age_bucket
FROM marts.submission_matches
WHERE NOT is_matched
