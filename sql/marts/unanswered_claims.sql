-- name: marts.unanswered_claims
-- materialized: table
-- incremental: full
-- grain: one row per payer_key x age_bucket (0-30, 31-60, 61-90, 91-120, 120+) for every payer with a
--   submitted claim; a bucket without unanswered claims holds zeros
-- depends_on: marts.submission_matches
-- description: No-response aging: submitted claims (837) with no remit as of the warehouse's as-of date
--   (the latest 835 payment date), by payer and by days since submission, with their charges. "Unanswered
--   after 30 days" is the sum of the buckets from 31-60 on (the bucket's min_age_days > 30); the claims
--   themselves are in marts.unanswered_claim_items. Empty when no 837 was loaded.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column age_bucket: 0-30, 31-60, 61-90, 91-120 or 120+ days from submission to the as-of date.
-- column bucket_order: 1 (0-30) to 5 (120+).
-- column min_age_days: Fewest days of the bucket (0, 31, 61, 91, 121).
-- column max_age_days: Most days of the bucket (30, 60, 90, 120; NULL for 120+).
-- column as_of_date: The warehouse's as-of date.
-- column unanswered_claims: Submitted claims of the payer in the bucket with no remit.
-- column unanswered_charge: Sum of their CLM02 charges.
-- column submitted_claims: All submitted claims of the payer (every bucket's denominator).
-- column submitted_charge: Sum of their CLM02 charges.
-- unique_key: payer_key, age_bucket
-- tests: not_null(unanswered_claims), not_null(unanswered_charge),
--   accepted_values(age_bucket: 0-30 31-60 61-90 91-120 120+)
WITH buckets AS (
    SELECT * FROM (
        VALUES ('0-30', 1, 0, 30), ('31-60', 2, 31, 60), ('61-90', 3, 61, 90), ('91-120', 4, 91, 120),
            ('120+', 5, 121, NULL)
    ) AS t (age_bucket, bucket_order, min_age_days, max_age_days)
),
payers AS (
    SELECT
        payer_key,
        min(payer_name) AS payer_name,
        max(as_of_date) AS as_of_date,
        count(*) AS submitted_claims,
        sum(claim_charge) AS submitted_charge
    FROM marts.submission_matches
    GROUP BY payer_key
),
open_claims AS (
    SELECT payer_key, age_bucket, count(*) AS claims, sum(claim_charge) AS charge
    FROM marts.submission_matches
    WHERE NOT is_matched
    GROUP BY payer_key, age_bucket
)
SELECT
    p.payer_key,
    p.payer_name,
    b.age_bucket,
    CAST(b.bucket_order AS INTEGER) AS bucket_order,
    CAST(b.min_age_days AS INTEGER) AS min_age_days,
    CAST(b.max_age_days AS INTEGER) AS max_age_days,
    p.as_of_date,
    CAST(coalesce(o.claims, 0) AS BIGINT) AS unanswered_claims,
    CAST(coalesce(o.charge, 0) AS DECIMAL(38, 2)) AS unanswered_charge,
    CAST(p.submitted_claims AS BIGINT) AS submitted_claims,
    CAST(p.submitted_charge AS DECIMAL(38, 2)) AS submitted_charge
FROM payers AS p
CROSS JOIN buckets AS b
LEFT JOIN open_claims AS o ON o.payer_key = p.payer_key AND o.age_bucket = b.age_bucket
