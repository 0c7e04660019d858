-- name: marts.report_unanswered_aging
-- materialized: view
-- grain: one row per payer_scope x payer_key x age_bucket (payer_scope '*' = all payers, else one
--   payer_key; payer_key '*' = the scope's total row)
-- depends_on: marts.unanswered_claims
-- description: The report's no-response aging table: claims submitted (837) with no remit as of the
--   warehouse's as-of date, by payer and age bucket (marts.unanswered_claims), with each scope's total row
--   (payer_key '*') and the payers ranked by unanswered charges (payer_rank; the total row 0). Only payers
--   with an unanswered claim are listed. Empty when no 837 was ever loaded.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column payer_key: The payer of the row, or '*' for the scope's total.
-- column payer_name: Payer name (NULL for the total).
-- column payer_rank: 1 = the payer with the most unanswered charges (ties: payer_key); 0 for the total.
-- column age_bucket: 0-30, 31-60, 61-90, 91-120 or 120+ days since submission.
-- column bucket_order: 1 (0-30) to 5 (120+).
-- column unanswered_claims: Unanswered claims in the bucket.
-- column unanswered_charge: Their CLM02 charges.
-- column payer_unanswered_claims: The row payer's unanswered claims, all buckets.
-- column payer_unanswered_charge: Their charges.
-- unique_key: payer_scope, payer_key, age_bucket
WITH payers AS (
    SELECT
        payer_key,
        sum(unanswered_claims) AS claims,
        sum(unanswered_charge) AS charge
    FROM marts.unanswered_claims
    GROUP BY payer_key
    HAVING sum(unanswered_claims) > 0
),
ranked AS (
    SELECT payer_key, claims, charge, row_number() OVER (ORDER BY charge DESC, payer_key) AS payer_rank
    FROM payers
),
per_payer AS (
    SELECT
        u.payer_key,
        u.payer_name,
        CAST(r.payer_rank AS INTEGER) AS payer_rank,
        u.age_bucket,
        u.bucket_order,
        u.unanswered_claims,
        u.unanswered_charge,
        r.claims AS payer_claims,
        r.charge AS payer_charge
    FROM marts.unanswered_claims AS u
    INNER JOIN ranked AS r ON r.payer_key = u.payer_key
),
totals AS (
    SELECT
        '*' AS payer_key,
        CAST(NULL AS VARCHAR) AS payer_name,
        0 AS payer_rank,
        age_bucket,
        min(bucket_order) AS bucket_order,
        sum(unanswered_claims) AS unanswered_claims,
        sum(unanswered_charge) AS unanswered_charge,
        min(a.claims) AS payer_claims,
        min(a.charge) AS payer_charge
    FROM per_payer
    CROSS JOIN (SELECT sum(claims) AS claims, sum(charge) AS charge FROM payers) AS a
    GROUP BY age_bucket
)
SELECT
    '*' AS payer_scope,
    payer_key,
    payer_name,
    CAST(payer_rank AS INTEGER) AS payer_rank,
    age_bucket,
    CAST(bucket_order AS INTEGER) AS bucket_order,
    CAST(unanswered_claims AS BIGINT) AS unanswered_claims,
    CAST(unanswered_charge AS DECIMAL(38, 2)) AS unanswered_charge,
    CAST(payer_claims AS BIGINT) AS payer_unanswered_claims,
    CAST(payer_charge AS DECIMAL(38, 2)) AS payer_unanswered_charge
FROM (SELECT * FROM per_payer UNION ALL SELECT * FROM totals) AS a
UNION ALL
SELECT
    payer_key,
    payer_key,
    payer_name,
    1,
    age_bucket,
    CAST(bucket_order AS INTEGER),
    CAST(unanswered_claims AS BIGINT),
    CAST(unanswered_charge AS DECIMAL(38, 2)),
    CAST(payer_claims AS BIGINT),
    CAST(payer_charge AS DECIMAL(38, 2))
FROM per_payer
