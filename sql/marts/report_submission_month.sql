-- name: marts.report_submission_month
-- materialized: view
-- grain: one row per payment_month x payer_scope (every month of marts.submission_kpi_month; payer_scope
--   '*' = all payers, else one payer_key)
-- depends_on: marts.submission_kpi_month, marts.submission_matches, marts.report_kpi_month
-- description: The leadership report's monthly figures on claims submitted (837), beside the
--   remitted-basis denial rates of marts.report_kpi_month: marts.submission_kpi_month summed over payers.
--   The HFMA basis of a scope is the scope's own claims submitted in the three months before (summed here
--   over the scope's months, so a payer without a row in the month still counts); rates are ratios of
--   those sums (6 places), NULL when the basis is partial or 0. Medians are taken over the scope's
--   submitted claims (marts.submission_matches). Every figure is NULL when no 837 was ever loaded.
-- column payment_month: Calendar month 'YYYY-MM'.
-- column payer_scope: '*' for all payers, else the payer_key the figures are limited to.
-- column submissions_loaded: At least one 837 claim is in the warehouse (else every figure is NULL).
-- column claims_submitted: Claims submitted in the month.
-- column charge_submitted: Their CLM02 charges.
-- column claims_submitted_prior_3m: Claims submitted in the three months before.
-- column charge_submitted_prior_3m: Their charges.
-- column prior_3m_complete: The three months before all lie on or after the first month with an 837.
-- column initial_denied_claims_submitted: Submitted claims first remitted in the month as denied claims.
-- column initial_denied_charge_submitted: Their CLM02 charges.
-- column initial_denial_rate_submitted_count: initial_denied_claims_submitted / (claims_submitted_prior_3m
--   / 3): HFMA's initial denial rate by claims submitted; NULL when the basis is partial or 0.
-- column initial_denial_rate_submitted_dollars: initial_denied_charge_submitted / (charge_submitted_prior_3m
--   / 3): by dollars submitted.
-- column denial_rate_count: Remitted basis: denied remits / claims remitted (marts.report_kpi_month).
-- column denial_rate_dollars: Remitted basis: CLP03 of denied remits / CLP03 of remits.
-- column claims_first_remitted: Submitted claims first answered in the month.
-- column median_days_to_first_remit: Median days from submission to first remit of those, 1 decimal.
-- column median_days_to_payment: Median days from submission to first payment of the submitted claims first
--   paid in the month, 1 decimal.
-- column unanswered_claims: Claims submitted in the month with no remit as of the as-of date.
-- column unanswered_charge: Their charges.
-- column charge_never_remitted_share: unanswered_charge / charge_submitted.
-- unique_key: payment_month, payer_scope
WITH scoped AS (
    SELECT
        month,
        '*' AS payer_scope,
        claims_submitted,
        charge_submitted,
        initial_denied_claims_submitted,
        initial_denied_charge_submitted,
        claims_first_remitted,
        unanswered_claims,
        unanswered_charge,
        prior_3m_complete
    FROM marts.submission_kpi_month
    UNION ALL
    SELECT
        month,
        payer_key,
        claims_submitted,
        charge_submitted,
        initial_denied_claims_submitted,
        initial_denied_charge_submitted,
        claims_first_remitted,
        unanswered_claims,
        unanswered_charge,
        prior_3m_complete
    FROM marts.submission_kpi_month
),
sums AS (
    SELECT
        month,
        payer_scope,
        CAST(substr(month, 1, 4) AS INTEGER) * 12 + CAST(substr(month, 6, 2) AS INTEGER) - 1 AS month_index,
        sum(claims_submitted) AS claims_submitted,
        sum(charge_submitted) AS charge_submitted,
        sum(initial_denied_claims_submitted) AS denied_claims,
        sum(initial_denied_charge_submitted) AS denied_charge,
        sum(claims_first_remitted) AS claims_first_remitted,
        sum(unanswered_claims) AS unanswered_claims,
        sum(unanswered_charge) AS unanswered_charge,
        bool_and(prior_3m_complete) AS prior_3m_complete
    FROM scoped
    GROUP BY month, payer_scope
),
prior AS (
    SELECT
        a.month,
        a.payer_scope,
        sum(b.claims_submitted) AS claims_prior,
        sum(b.charge_submitted) AS charge_prior
    FROM sums AS a
    INNER JOIN sums AS b
        ON b.payer_scope = a.payer_scope AND b.month_index BETWEEN a.month_index - 3 AND a.month_index - 1
    GROUP BY a.month, a.payer_scope
),
matched AS (
    SELECT payer_key, first_remit_date, days_to_first_remit, first_payment_date, days_to_payment
    FROM marts.submission_matches
    WHERE is_matched
),
to_remit AS (
    SELECT strftime(first_remit_date, '%Y-%m') AS month, payer_key AS payer_scope,
        round(median(days_to_first_remit), 1) AS days
    FROM matched GROUP BY strftime(first_remit_date, '%Y-%m'), payer_key
    UNION ALL
    SELECT strftime(first_remit_date, '%Y-%m'), '*', round(median(days_to_first_remit), 1)
    FROM matched GROUP BY strftime(first_remit_date, '%Y-%m')
),
to_pay AS (
    SELECT strftime(first_payment_date, '%Y-%m') AS month, payer_key AS payer_scope,
        round(median(days_to_payment), 1) AS days
    FROM matched WHERE first_payment_date IS NOT NULL
    GROUP BY strftime(first_payment_date, '%Y-%m'), payer_key
    UNION ALL
    SELECT strftime(first_payment_date, '%Y-%m'), '*', round(median(days_to_payment), 1)
    FROM matched WHERE first_payment_date IS NOT NULL GROUP BY strftime(first_payment_date, '%Y-%m')
)
SELECT
    s.month AS payment_month,
    s.payer_scope,
    s.claims_submitted IS NOT NULL AS submissions_loaded,
    CAST(s.claims_submitted AS BIGINT) AS claims_submitted,
    CAST(s.charge_submitted AS DECIMAL(38, 2)) AS charge_submitted,
    CAST(CASE WHEN s.claims_submitted IS NOT NULL THEN coalesce(p.claims_prior, 0) END AS BIGINT)
        AS claims_submitted_prior_3m,
    CAST(CASE WHEN s.claims_submitted IS NOT NULL THEN coalesce(p.charge_prior, 0) END AS DECIMAL(38, 2))
        AS charge_submitted_prior_3m,
    s.prior_3m_complete,
    CAST(s.denied_claims AS BIGINT) AS initial_denied_claims_submitted,
    CAST(s.denied_charge AS DECIMAL(38, 2)) AS initial_denied_charge_submitted,
    CAST(CASE WHEN s.prior_3m_complete THEN round(3 * s.denied_claims / nullif(p.claims_prior, 0), 6) END
        AS DECIMAL(12, 6)) AS initial_denial_rate_submitted_count,
    CAST(CASE WHEN s.prior_3m_complete THEN round(3 * s.denied_charge / nullif(p.charge_prior, 0), 6) END
        AS DECIMAL(12, 6)) AS initial_denial_rate_submitted_dollars,
    k.denial_rate_count,
    k.denial_rate_dollars,
    CAST(s.claims_first_remitted AS BIGINT) AS claims_first_remitted,
    CAST(r.days AS DECIMAL(9, 1)) AS median_days_to_first_remit,
    CAST(t.days AS DECIMAL(9, 1)) AS median_days_to_payment,
    CAST(s.unanswered_claims AS BIGINT) AS unanswered_claims,
    CAST(s.unanswered_charge AS DECIMAL(38, 2)) AS unanswered_charge,
    CAST(round(s.unanswered_charge / nullif(s.charge_submitted, 0), 6) AS DECIMAL(12, 6))
        AS charge_never_remitted_share
FROM sums AS s
LEFT JOIN prior AS p ON p.month = s.month AND p.payer_scope = s.payer_scope
LEFT JOIN marts.report_kpi_month AS k ON k.payment_month = s.month AND k.payer_scope = s.payer_scope
LEFT JOIN to_remit AS r ON r.month = s.month AND r.payer_scope = s.payer_scope
LEFT JOIN to_pay AS t ON t.month = s.month AND t.payer_scope = s.payer_scope
