-- name: marts.report_kpi_period
-- materialized: table
-- grain: one row per period_end x payer_scope (payer_scope '*' = all payers, else one payer_key)
-- depends_on: marts.report_kpi_month, marts.report_periods, marts.claim_episodes
-- description: The leadership report's 12-month totals (headline card footers, the month table's total
--   row, the headline reading): marts.report_kpi_month summed over the 12 months of marts.report_periods;
--   rates are ratios of the sums (6 places), NULL when the denominator is 0; median_days_to_pay is the
--   median over the scope's episodes first paid in the period (marts.claim_episodes), rounded to 0.1 day.
-- column period_end: Last month of the period.
-- column period_start: First month of the period.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column months: Months in the period (12).
-- column payments: Payments (ST/SE transactions) received in the period.
-- column claims_remitted: Remits over the period.
-- column denied_claims: Denied remits over the period.
-- column charge_remitted: Sum of CLP03 over remits.
-- column denied_charge: Sum of CLP03 over denied remits.
-- column denial_writeoff_amount: Final denial write-offs over the period.
-- column initial_denied_amount: Dollars first denied in the period (kind denial).
-- column overturned_amount: Dollars recovered by denials resolved overturned in the period.
-- column recovered_amount: Dollars recovered by denials resolved in the period.
-- column redirect_recovered_amount: Dollars the other plan paid on redirected denials resolved in the period.
-- column episodes_first_remitted: Episodes first remitted in the period.
-- column first_pass_paid_episodes: Of those, paid on the first remit without a denial.
-- column first_pass_yield: first_pass_paid_episodes / episodes_first_remitted.
-- column median_days_to_pay: Median days_to_pay of the scope's episodes first paid in the period.
-- column provider_absorbed_amount: Provider-absorbed dollars.
-- column expected_contractual_amount: Absorbed dollars in category expected_contractual.
-- column net_payments: Sum of BPR02 (debits negative).
-- column denial_rate_count: denied_claims / claims_remitted.
-- column denial_rate_dollars: denied_charge / charge_remitted.
-- unique_key: period_end, payer_scope
WITH sums AS (
    SELECT
        p.period_end,
        min(p.period_start) AS period_start,
        k.payer_scope,
        count(*) AS months,
        sum(k.payments) AS payments,
        sum(k.claims_remitted) AS claims_remitted,
        sum(k.denied_claims) AS denied_claims,
        sum(k.charge_remitted) AS charge_remitted,
        sum(k.denied_charge) AS denied_charge,
        sum(k.denial_writeoff_amount) AS denial_writeoff_amount,
        sum(k.provider_absorbed_amount) AS provider_absorbed_amount,
        sum(k.expected_contractual_amount) AS expected_contractual_amount,
        sum(k.net_payments) AS net_payments,
        sum(k.initial_denied_amount) AS initial_denied_amount,
        sum(k.overturned_amount) AS overturned_amount,
        sum(k.recovered_amount) AS recovered_amount,
        sum(k.redirect_recovered_amount) AS redirect_recovered_amount,
        sum(k.episodes_first_remitted) AS episodes_first_remitted,
        sum(k.first_pass_paid_episodes) AS first_pass_paid_episodes
    FROM marts.report_periods AS p
    INNER JOIN marts.report_kpi_month AS k ON k.payment_month = p.payment_month
    GROUP BY p.period_end, k.payer_scope
),
-- The median over a period from a count per month, payer and days value (a few thousand rows) instead of
-- each episode once per period it falls in (12 x the episodes): the values at positions floor((n + 1) / 2)
-- and floor(n / 2) + 1 of the period's n sorted values, averaged (= median(), which interpolates)
paid_months AS (
    SELECT strftime(first_payment_date, '%Y-%m') AS payment_month, payer_key, days_to_pay, count(*) AS episodes
    FROM marts.claim_episodes
    WHERE days_to_pay IS NOT NULL
    GROUP BY ALL
),
paid AS (
    SELECT p.period_end, m.payer_key, m.days_to_pay, m.episodes
    FROM marts.report_periods AS p
    INNER JOIN paid_months AS m ON m.payment_month = p.payment_month
),
scoped_days AS (
    SELECT period_end, payer_key AS payer_scope, days_to_pay, sum(episodes) AS episodes
    FROM paid GROUP BY period_end, payer_key, days_to_pay
    UNION ALL
    SELECT period_end, '*', days_to_pay, sum(episodes) FROM paid GROUP BY period_end, days_to_pay
),
ranked AS (
    SELECT
        period_end,
        payer_scope,
        days_to_pay,
        sum(episodes) OVER (
            PARTITION BY period_end, payer_scope ORDER BY days_to_pay ROWS UNBOUNDED PRECEDING
        ) AS through,
        sum(episodes) OVER (PARTITION BY period_end, payer_scope) AS total
    FROM scoped_days
),
days AS (
    SELECT
        period_end,
        payer_scope,
        round(
            (min(CASE WHEN through >= (total + 1) // 2 THEN days_to_pay END)
                + min(CASE WHEN through >= total // 2 + 1 THEN days_to_pay END)) / 2,
            1
        ) AS median_days_to_pay
    FROM ranked
    GROUP BY period_end, payer_scope
)
SELECT
    s.period_end,
    s.period_start,
    s.payer_scope,
    CAST(months AS INTEGER) AS months,
    CAST(payments AS BIGINT) AS payments,
    CAST(claims_remitted AS BIGINT) AS claims_remitted,
    CAST(denied_claims AS BIGINT) AS denied_claims,
    CAST(charge_remitted AS DECIMAL(38, 2)) AS charge_remitted,
    CAST(denied_charge AS DECIMAL(38, 2)) AS denied_charge,
    CAST(denial_writeoff_amount AS DECIMAL(38, 2)) AS denial_writeoff_amount,
    CAST(provider_absorbed_amount AS DECIMAL(38, 2)) AS provider_absorbed_amount,
    CAST(expected_contractual_amount AS DECIMAL(38, 2)) AS expected_contractual_amount,
    CAST(net_payments AS DECIMAL(38, 2)) AS net_payments,
    CAST(round(denied_claims / nullif(claims_remitted, 0), 6) AS DECIMAL(12, 6)) AS denial_rate_count,
    CAST(round(denied_charge / nullif(charge_remitted, 0), 6) AS DECIMAL(12, 6)) AS denial_rate_dollars,
    CAST(initial_denied_amount AS DECIMAL(38, 2)) AS initial_denied_amount,
    CAST(overturned_amount AS DECIMAL(38, 2)) AS overturned_amount,
    CAST(recovered_amount AS DECIMAL(38, 2)) AS recovered_amount,
    CAST(redirect_recovered_amount AS DECIMAL(38, 2)) AS redirect_recovered_amount,
    CAST(episodes_first_remitted AS BIGINT) AS episodes_first_remitted,
    CAST(first_pass_paid_episodes AS BIGINT) AS first_pass_paid_episodes,
    CAST(round(first_pass_paid_episodes / nullif(episodes_first_remitted, 0), 6) AS DECIMAL(12, 6))
        AS first_pass_yield,
    CAST(d.median_days_to_pay AS DECIMAL(9, 1)) AS median_days_to_pay
FROM sums AS s
LEFT JOIN days AS d ON d.period_end = s.period_end AND d.payer_scope = s.payer_scope
