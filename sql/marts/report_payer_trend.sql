-- name: marts.report_payer_trend
-- materialized: view
-- grain: one row per period_end x payer_key with a payment or remit in the period
-- depends_on: marts.report_periods, marts.report_kpi_month
-- description: The report's "which payers are getting worse": each payer's denial rates over the 12
--   months ending period_end, and its dollar denial rate in the last three months (recent) against the
--   three before (prior). change_points = (recent_rate - prior_rate) x 100, NULL when either is NULL;
--   worse_rank = 1 for the largest rise (ties: payer_key; payers without a change last).
-- column period_end: Last month of the period.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type.
-- column claims_remitted: Remits over the period.
-- column denied_claims: Denied remits over the period.
-- column denial_writeoff_amount: marts.kpi_month.denial_writeoff_amount over the period.
-- column denial_rate_count: denied_claims / claims_remitted.
-- column denial_rate_dollars: Denied CLP03 / remitted CLP03 over the period.
-- column recent_start: First month of the recent three (period_end - 2).
-- column prior_start: First month of the prior three (period_end - 5).
-- column recent_rate: Dollar denial rate of the last three months.
-- column prior_rate: Dollar denial rate of the three months before.
-- column change_points: (recent_rate - prior_rate) x 100.
-- column worse_rank: 1 = largest rise in change_points.
-- unique_key: period_end, payer_key
WITH sums AS (
    SELECT
        p.period_end,
        k.payer_scope AS payer_key,
        min(k.payer_name) AS payer_name,
        min(k.plan_type) AS plan_type,
        max(CASE WHEN p.month_offset = 2 THEN p.payment_month END) AS recent_start,
        max(CASE WHEN p.month_offset = 5 THEN p.payment_month END) AS prior_start,
        sum(k.claims_remitted) AS claims_remitted,
        sum(k.denied_claims) AS denied_claims,
        sum(k.charge_remitted) AS charge_remitted,
        sum(k.denied_charge) AS denied_charge,
        sum(k.denial_writeoff_amount) AS denial_writeoff_amount,
        sum(k.payments) AS payments,
        sum(CASE WHEN p.month_offset <= 2 THEN k.denied_charge ELSE 0 END) AS recent_denied,
        sum(CASE WHEN p.month_offset <= 2 THEN k.charge_remitted ELSE 0 END) AS recent_charge,
        sum(CASE WHEN p.month_offset BETWEEN 3 AND 5 THEN k.denied_charge ELSE 0 END) AS prior_denied,
        sum(CASE WHEN p.month_offset BETWEEN 3 AND 5 THEN k.charge_remitted ELSE 0 END) AS prior_charge
    FROM marts.report_periods AS p
    INNER JOIN marts.report_kpi_month AS k ON k.payment_month = p.payment_month
    WHERE k.payer_scope <> '*'
    GROUP BY p.period_end, k.payer_scope
),
rated AS (
    SELECT
        *,
        CAST(round(recent_denied / nullif(recent_charge, 0), 6) AS DECIMAL(12, 6)) AS recent_rate,
        CAST(round(prior_denied / nullif(prior_charge, 0), 6) AS DECIMAL(12, 6)) AS prior_rate
    FROM sums
    WHERE payments > 0
)
SELECT
    period_end,
    payer_key,
    payer_name,
    plan_type,
    CAST(claims_remitted AS BIGINT) AS claims_remitted,
    CAST(denied_claims AS BIGINT) AS denied_claims,
    CAST(denial_writeoff_amount AS DECIMAL(38, 2)) AS denial_writeoff_amount,
    CAST(round(denied_claims / nullif(claims_remitted, 0), 6) AS DECIMAL(12, 6)) AS denial_rate_count,
    CAST(round(denied_charge / nullif(charge_remitted, 0), 6) AS DECIMAL(12, 6)) AS denial_rate_dollars,
    recent_start,
    prior_start,
    recent_rate,
    prior_rate,
    CAST((recent_rate - prior_rate) * 100 AS DECIMAL(12, 4)) AS change_points,
    CAST(row_number() OVER (
        PARTITION BY period_end
        ORDER BY CASE WHEN recent_rate IS NULL OR prior_rate IS NULL THEN 1 ELSE 0 END,
            recent_rate - prior_rate DESC, payer_key
    ) AS BIGINT) AS worse_rank
FROM rated
