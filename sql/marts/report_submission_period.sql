-- name: marts.report_submission_period
-- materialized: table
-- grain: one row per period_end x payer_scope (payer_scope '*' = all payers, else one payer_key)
-- depends_on: marts.report_submission_month, marts.report_periods, marts.report_kpi_period,
--   marts.submission_matches, marts.remits_without_submission
-- description: The report's "Unanswered claims" figures for the 12 months ending at period_end: claims
--   submitted (837) in the period, HFMA's initial denial rate on claims submitted over the months with a
--   complete basis (the sum of the months' denials over the sum of their bases / 3) beside the
--   remitted-basis rate of marts.report_kpi_period, medians over the period's submitted claims, and, as of
--   the warehouse's as-of date, the claims still unanswered by age and the remits without an 837. NULL
--   figures when no 837 was ever loaded (submissions_loaded false).
-- column period_end: Last month of the period.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column submissions_loaded: At least one 837 claim is in the warehouse.
-- column claims_submitted: Claims submitted in the period.
-- column charge_submitted: Their CLM02 charges.
-- column rated_months: Months of the period with a complete HFMA basis (the rate counts only these).
-- column initial_denied_claims_submitted: Submitted claims first remitted denied in those months.
-- column initial_denied_charge_submitted: Their charges.
-- column basis_claims: Sum over those months of the claims submitted in the three months before each.
-- column basis_charge: The same in charges.
-- column initial_denial_rate_submitted_count: initial_denied_claims_submitted / (basis_claims / 3).
-- column initial_denial_rate_submitted_dollars: initial_denied_charge_submitted / (basis_charge / 3).
-- column denial_rate_count: Remitted basis over the period (marts.report_kpi_period).
-- column denial_rate_dollars: Remitted basis by dollars over the period.
-- column median_days_to_first_remit: Median days from submission to first remit of the submitted claims
--   first answered in the period.
-- column median_days_to_payment: Median days from submission to first payment of those first paid in the
--   period.
-- column unanswered_claims: Claims submitted in the period with no remit as of the as-of date.
-- column unanswered_charge: Their charges.
-- column charge_never_remitted_share: unanswered_charge / charge_submitted.
-- column open_claims: All submitted claims with no remit as of the as-of date (any submission month).
-- column open_charge: Their charges.
-- column open_over_30_claims: Of those, older than 30 days.
-- column open_over_30_charge: Their charges.
-- column open_over_120_claims: Of those, older than 120 days.
-- column open_over_120_charge: Their charges.
-- column remits_without_submission: Remitted episodes (CLP01 x payer) that no 837 names.
-- unique_key: period_end, payer_scope
WITH months AS (
    SELECT p.period_end, s.*
    FROM marts.report_periods AS p
    INNER JOIN marts.report_submission_month AS s ON s.payment_month = p.payment_month
),
sums AS (
    SELECT
        period_end,
        payer_scope,
        bool_or(submissions_loaded) AS submissions_loaded,
        sum(claims_submitted) AS claims_submitted,
        sum(charge_submitted) AS charge_submitted,
        count(CASE WHEN prior_3m_complete THEN 1 END) AS rated_months,
        sum(CASE WHEN prior_3m_complete THEN initial_denied_claims_submitted END) AS denied_claims,
        sum(CASE WHEN prior_3m_complete THEN initial_denied_charge_submitted END) AS denied_charge,
        sum(CASE WHEN prior_3m_complete THEN claims_submitted_prior_3m END) AS basis_claims,
        sum(CASE WHEN prior_3m_complete THEN charge_submitted_prior_3m END) AS basis_charge,
        sum(unanswered_claims) AS unanswered_claims,
        sum(unanswered_charge) AS unanswered_charge
    FROM months
    GROUP BY period_end, payer_scope
),
matched AS (
    SELECT payer_key, first_remit_date, days_to_first_remit, first_payment_date, days_to_payment
    FROM marts.submission_matches
    WHERE is_matched
),
scoped AS (
    SELECT payer_key AS payer_scope, first_remit_date, days_to_first_remit, first_payment_date, days_to_payment
    FROM matched
    UNION ALL
    SELECT '*', first_remit_date, days_to_first_remit, first_payment_date, days_to_payment FROM matched
),
to_remit AS (
    SELECT p.period_end, m.payer_scope, round(median(m.days_to_first_remit), 1) AS days
    FROM marts.report_periods AS p
    INNER JOIN scoped AS m ON strftime(m.first_remit_date, '%Y-%m') = p.payment_month
    GROUP BY p.period_end, m.payer_scope
),
to_pay AS (
    SELECT p.period_end, m.payer_scope, round(median(m.days_to_payment), 1) AS days
    FROM marts.report_periods AS p
    INNER JOIN scoped AS m ON strftime(m.first_payment_date, '%Y-%m') = p.payment_month
    GROUP BY p.period_end, m.payer_scope
),
open_claims AS (
    SELECT payer_key AS payer_scope, age_days, claim_charge FROM marts.submission_matches WHERE NOT is_matched
    UNION ALL
    SELECT '*', age_days, claim_charge FROM marts.submission_matches WHERE NOT is_matched
),
open_sums AS (
    SELECT
        payer_scope,
        count(*) AS open_claims,
        sum(claim_charge) AS open_charge,
        count(CASE WHEN age_days > 30 THEN 1 END) AS over_30,
        sum(CASE WHEN age_days > 30 THEN claim_charge ELSE 0 END) AS over_30_charge,
        count(CASE WHEN age_days > 120 THEN 1 END) AS over_120,
        sum(CASE WHEN age_days > 120 THEN claim_charge ELSE 0 END) AS over_120_charge
    FROM open_claims
    GROUP BY payer_scope
),
unsubmitted AS (
    SELECT payer_key AS payer_scope, count(*) AS n FROM marts.remits_without_submission GROUP BY payer_key
    UNION ALL
    SELECT '*', count(*) FROM marts.remits_without_submission
)
SELECT
    s.period_end,
    s.payer_scope,
    s.submissions_loaded,
    CAST(s.claims_submitted AS BIGINT) AS claims_submitted,
    CAST(s.charge_submitted AS DECIMAL(38, 2)) AS charge_submitted,
    CAST(CASE WHEN s.submissions_loaded THEN s.rated_months END AS INTEGER) AS rated_months,
    CAST(s.denied_claims AS BIGINT) AS initial_denied_claims_submitted,
    CAST(s.denied_charge AS DECIMAL(38, 2)) AS initial_denied_charge_submitted,
    CAST(s.basis_claims AS BIGINT) AS basis_claims,
    CAST(s.basis_charge AS DECIMAL(38, 2)) AS basis_charge,
    CAST(round(3 * s.denied_claims / nullif(s.basis_claims, 0), 6) AS DECIMAL(12, 6))
        AS initial_denial_rate_submitted_count,
    CAST(round(3 * s.denied_charge / nullif(s.basis_charge, 0), 6) AS DECIMAL(12, 6))
        AS initial_denial_rate_submitted_dollars,
    k.denial_rate_count,
    k.denial_rate_dollars,
    CAST(r.days AS DECIMAL(9, 1)) AS median_days_to_first_remit,
    CAST(t.days AS DECIMAL(9, 1)) AS median_days_to_payment,
    CAST(s.unanswered_claims AS BIGINT) AS unanswered_claims,
    CAST(s.unanswered_charge AS DECIMAL(38, 2)) AS unanswered_charge,
    CAST(round(s.unanswered_charge / nullif(s.charge_submitted, 0), 6) AS DECIMAL(12, 6))
        AS charge_never_remitted_share,
    CAST(CASE WHEN s.submissions_loaded THEN coalesce(o.open_claims, 0) END AS BIGINT) AS open_claims,
    CAST(CASE WHEN s.submissions_loaded THEN coalesce(o.open_charge, 0) END AS DECIMAL(38, 2)) AS open_charge,
    CAST(CASE WHEN s.submissions_loaded THEN coalesce(o.over_30, 0) END AS BIGINT) AS open_over_30_claims,
    CAST(CASE WHEN s.submissions_loaded THEN coalesce(o.over_30_charge, 0) END AS DECIMAL(38, 2))
        AS open_over_30_charge,
    CAST(CASE WHEN s.submissions_loaded THEN coalesce(o.over_120, 0) END AS BIGINT) AS open_over_120_claims,
    CAST(CASE WHEN s.submissions_loaded THEN coalesce(o.over_120_charge, 0) END AS DECIMAL(38, 2))
        AS open_over_120_charge,
    CAST(CASE WHEN s.submissions_loaded THEN coalesce(u.n, 0) END AS BIGINT) AS remits_without_submission
FROM sums AS s
LEFT JOIN marts.report_kpi_period AS k ON k.period_end = s.period_end AND k.payer_scope = s.payer_scope
LEFT JOIN to_remit AS r ON r.period_end = s.period_end AND r.payer_scope = s.payer_scope
LEFT JOIN to_pay AS t ON t.period_end = s.period_end AND t.payer_scope = s.payer_scope
LEFT JOIN open_sums AS o ON o.payer_scope = s.payer_scope
LEFT JOIN unsubmitted AS u ON u.payer_scope = s.payer_scope
