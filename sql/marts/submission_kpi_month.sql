-- name: marts.submission_kpi_month
-- materialized: table
-- incremental: full
-- grain: one row per month x payer_key: every row of marts.kpi_month, plus every month and payer with a
--   submitted claim, a first answer to one or a first payment of one
-- depends_on: marts.kpi_month, marts.submission_matches, marts.dim_payer, staging.stg_submitted_claims
-- description: The figures that need the claims submitted (837) as denominator (every figure defined in
--   docs/metrics.md, "Claims submitted"): HFMA's initial denial rate by claims and by dollars submitted,
--   days from submission to first remit and to payment, claims still unanswered and the share of charges
--   never remitted. A figure counts in the month of the date its definition names (submission, first
--   remit, first payment). Every figure is NULL (not 0) when no 837 was ever loaded. Rates are ratios
--   rounded to 4 places, NULL when the denominator is 0 or incomplete.
-- column month: Calendar month 'YYYY-MM' (a kpi_month payment_month, or the month of the date a figure
--   names).
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type.
-- column claims_submitted: Submitted claims (CLMs, replacements and voids included) with submission_date in
--   the month.
-- column charge_submitted: Sum of their CLM02 charges.
-- column resubmitted_claims: Of those, frequency 7 (replacement) or 8 (void).
-- column claims_submitted_prior_3m: Claims submitted in the three months before the month (HFMA's basis:
--   the average is this / 3).
-- column charge_submitted_prior_3m: Their CLM02 charges.
-- column prior_3m_complete: The three months before the month all lie on or after the first month with a
--   loaded 837 (else the basis is partial and the rates are NULL).
-- column initial_denied_claims_submitted: Submitted claims whose first remit is a denied claim (paid 0 with
--   dollars of kind denial), in the month of that remit.
-- column initial_denied_charge_submitted: Sum of their CLM02 charges.
-- column initial_denial_rate_submitted_count: initial_denied_claims_submitted / (claims_submitted_prior_3m
--   / 3); NULL when prior_3m_complete is false or the basis is 0.
-- column initial_denial_rate_submitted_dollars: initial_denied_charge_submitted / (charge_submitted_prior_3m
--   / 3); NULL likewise.
-- column claims_first_remitted: Submitted claims whose first answering remit is in the month.
-- column median_days_to_first_remit: Median days_to_first_remit of those (mean of the two middle values
--   for an even count), 1 decimal.
-- column claims_first_paid: Submitted claims whose first payment (CLP04 > 0) is in the month.
-- column median_days_to_payment: Median days_to_payment (submission to first payment) of those, 1 decimal.
-- column unanswered_claims: Claims submitted in the month with no remit as of the as-of date.
-- column unanswered_charge: Sum of their CLM02 charges.
-- column charge_never_remitted_share: unanswered_charge / charge_submitted.
-- unique_key: month, payer_key
WITH loaded AS (
    SELECT count(*) > 0 AS any_837 FROM staging.stg_submitted_claims
),
m AS (
    SELECT
        *,
        CAST(substr(submission_month, 1, 4) AS INTEGER) * 12 + CAST(substr(submission_month, 6, 2) AS INTEGER)
            - 1 AS month_index
    FROM marts.submission_matches
),
keys AS (
    SELECT payment_month AS month, payer_key FROM marts.kpi_month
    UNION
    SELECT submission_month, payer_key FROM m
    UNION
    SELECT strftime(first_remit_date, '%Y-%m'), payer_key FROM m WHERE first_remit_date IS NOT NULL
    UNION
    SELECT strftime(first_payment_date, '%Y-%m'), payer_key FROM m WHERE first_payment_date IS NOT NULL
),
indexed AS (
    SELECT
        month,
        payer_key,
        CAST(substr(month, 1, 4) AS INTEGER) * 12 + CAST(substr(month, 6, 2) AS INTEGER) - 1 AS month_index
    FROM keys
),
submitted AS (
    SELECT
        submission_month AS month,
        payer_key,
        min(month_index) AS month_index,
        count(*) AS claims_submitted,
        sum(claim_charge) AS charge_submitted,
        count(CASE WHEN is_resubmission THEN 1 END) AS resubmitted_claims,
        count(CASE WHEN NOT is_matched THEN 1 END) AS unanswered_claims,
        sum(CASE WHEN NOT is_matched THEN claim_charge ELSE 0 END) AS unanswered_charge
    FROM m
    GROUP BY submission_month, payer_key
),
prior AS (
    SELECT
        i.month,
        i.payer_key,
        sum(s.claims_submitted) AS claims_prior,
        sum(s.charge_submitted) AS charge_prior
    FROM indexed AS i
    INNER JOIN submitted AS s
        ON s.payer_key = i.payer_key AND s.month_index BETWEEN i.month_index - 3 AND i.month_index - 1
    GROUP BY i.month, i.payer_key
),
first_remits AS (
    SELECT
        strftime(first_remit_date, '%Y-%m') AS month,
        payer_key,
        count(*) AS claims_first_remitted,
        count(CASE WHEN first_remit_denied THEN 1 END) AS denied_claims,
        sum(CASE WHEN first_remit_denied THEN claim_charge ELSE 0 END) AS denied_charge,
        CAST(round(median(days_to_first_remit), 1) AS DECIMAL(9, 1)) AS median_days_to_first_remit
    FROM m
    WHERE first_remit_date IS NOT NULL
    GROUP BY strftime(first_remit_date, '%Y-%m'), payer_key
),
first_paid AS (
    SELECT
        strftime(first_payment_date, '%Y-%m') AS month,
        payer_key,
        count(*) AS claims_first_paid,
        CAST(round(median(days_to_payment), 1) AS DECIMAL(9, 1)) AS median_days_to_payment
    FROM m
    WHERE first_payment_date IS NOT NULL
    GROUP BY strftime(first_payment_date, '%Y-%m'), payer_key
),
names AS (
    SELECT payer_key, min(payer_name) AS payer_name, min(plan_type) AS plan_type
    FROM m
    GROUP BY payer_key
),
joined AS (
    SELECT
        i.month,
        i.payer_key,
        (SELECT min(month_index) FROM m) AS first_index,
        i.month_index,
        coalesce(s.claims_submitted, 0) AS claims_submitted,
        coalesce(s.charge_submitted, 0) AS charge_submitted,
        coalesce(s.resubmitted_claims, 0) AS resubmitted_claims,
        coalesce(p.claims_prior, 0) AS claims_prior,
        coalesce(p.charge_prior, 0) AS charge_prior,
        coalesce(f.denied_claims, 0) AS denied_claims,
        coalesce(f.denied_charge, 0) AS denied_charge,
        coalesce(f.claims_first_remitted, 0) AS claims_first_remitted,
        f.median_days_to_first_remit,
        coalesce(fp.claims_first_paid, 0) AS claims_first_paid,
        fp.median_days_to_payment,
        coalesce(s.unanswered_claims, 0) AS unanswered_claims,
        coalesce(s.unanswered_charge, 0) AS unanswered_charge
    FROM indexed AS i
    LEFT JOIN submitted AS s ON s.month = i.month AND s.payer_key = i.payer_key
    LEFT JOIN prior AS p ON p.month = i.month AND p.payer_key = i.payer_key
    LEFT JOIN first_remits AS f ON f.month = i.month AND f.payer_key = i.payer_key
    LEFT JOIN first_paid AS fp ON fp.month = i.month AND fp.payer_key = i.payer_key
)
SELECT
    j.month,
    j.payer_key,
    coalesce(d.payer_name, n.payer_name) AS payer_name,
    coalesce(d.plan_type, n.plan_type, 'unknown') AS plan_type,
    CAST(CASE WHEN l.any_837 THEN j.claims_submitted END AS BIGINT) AS claims_submitted,
    CAST(CASE WHEN l.any_837 THEN j.charge_submitted END AS DECIMAL(38, 2)) AS charge_submitted,
    CAST(CASE WHEN l.any_837 THEN j.resubmitted_claims END AS BIGINT) AS resubmitted_claims,
    CAST(CASE WHEN l.any_837 THEN j.claims_prior END AS BIGINT) AS claims_submitted_prior_3m,
    CAST(CASE WHEN l.any_837 THEN j.charge_prior END AS DECIMAL(38, 2)) AS charge_submitted_prior_3m,
    CASE WHEN l.any_837 THEN j.month_index - 3 >= j.first_index END AS prior_3m_complete,
    CAST(CASE WHEN l.any_837 THEN j.denied_claims END AS BIGINT) AS initial_denied_claims_submitted,
    CAST(CASE WHEN l.any_837 THEN j.denied_charge END AS DECIMAL(38, 2)) AS initial_denied_charge_submitted,
    -- rates: exact HALF_UP rounding of a truncated 5-decimal integer quotient, as in marts.kpi_month; the
    -- basis is the average of three months, so the quotient is 3 x denied / the three months' sum
    CAST(CASE WHEN l.any_837 AND j.month_index - 3 >= j.first_index AND j.claims_prior > 0
        THEN round(CAST(j.denied_claims * 300000 // j.claims_prior AS DECIMAL(18, 0)) * 0.00001, 4) END
        AS DECIMAL(9, 4)) AS initial_denial_rate_submitted_count,
    CAST(CASE WHEN l.any_837 AND j.month_index - 3 >= j.first_index AND j.charge_prior > 0
        THEN round(CAST(CAST(j.denied_charge * 100 AS HUGEINT) * 300000
            // CAST(j.charge_prior * 100 AS HUGEINT) AS DECIMAL(18, 0)) * 0.00001, 4) END
        AS DECIMAL(9, 4)) AS initial_denial_rate_submitted_dollars,
    CAST(CASE WHEN l.any_837 THEN j.claims_first_remitted END AS BIGINT) AS claims_first_remitted,
    j.median_days_to_first_remit,
    CAST(CASE WHEN l.any_837 THEN j.claims_first_paid END AS BIGINT) AS claims_first_paid,
    j.median_days_to_payment,
    CAST(CASE WHEN l.any_837 THEN j.unanswered_claims END AS BIGINT) AS unanswered_claims,
    CAST(CASE WHEN l.any_837 THEN j.unanswered_charge END AS DECIMAL(38, 2)) AS unanswered_charge,
    CAST(CASE WHEN l.any_837 AND j.charge_submitted > 0
        THEN round(CAST(CAST(j.unanswered_charge * 100 AS HUGEINT) * 100000
            // CAST(j.charge_submitted * 100 AS HUGEINT) AS DECIMAL(18, 0)) * 0.00001, 4) END
        AS DECIMAL(9, 4)) AS charge_never_remitted_share
FROM joined AS j
CROSS JOIN loaded AS l
LEFT JOIN marts.dim_payer AS d ON d.payer_key = j.payer_key
LEFT JOIN names AS n ON n.payer_key = j.payer_key
