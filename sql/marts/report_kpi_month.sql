-- name: marts.report_kpi_month
-- materialized: view
-- grain: one row per payment_month x payer_scope (every month of marts.report_periods; payer_scope '*' = all
--   payers, else one payer_key), months without payments hold zeros
-- depends_on: marts.kpi_month, marts.report_periods, marts.dim_payer
-- description: The leadership report's monthly figures (headline cards, month table, rate charts), each
--   with the month before and the month-over-month change, so the report prints them and computes none.
--   Sums add marts.kpi_month over payers; rates are ratios of those sums (6 places), NULL when the
--   denominator is 0; a relative change is current / previous - 1, NULL when the previous month is 0; a
--   rate's change is in percentage points, NULL when either rate is NULL.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_scope: '*' for all payers, else the payer_key the figures are limited to.
-- column payer_name: Name of the payer (NULL for '*').
-- column plan_type: Plan type of the payer (NULL for '*').
-- column previous_month: The month before payment_month.
-- column payments: Payments (ST/SE transactions) received.
-- column claims_remitted: Remits (marts.kpi_month.claims_remitted).
-- column denied_claims: Denied remits.
-- column charge_remitted: Sum of CLP03 over remits.
-- column denied_charge: Sum of CLP03 over denied remits.
-- column denial_writeoff_amount: marts.kpi_month.denial_writeoff_amount.
-- column provider_absorbed_amount: All provider-absorbed adjustment dollars.
-- column expected_contractual_amount: Absorbed dollars in category expected_contractual.
-- column net_payments: Sum of BPR02 (debits negative).
-- column denial_rate_count: denied_claims / claims_remitted.
-- column denial_rate_dollars: denied_charge / charge_remitted.
-- column previous_claims_remitted: claims_remitted of previous_month.
-- column previous_denial_writeoff_amount: denial_writeoff_amount of previous_month.
-- column previous_provider_absorbed_amount: provider_absorbed_amount of previous_month.
-- column previous_net_payments: net_payments of previous_month.
-- column previous_denial_rate_count: denial_rate_count of previous_month.
-- column previous_denial_rate_dollars: denial_rate_dollars of previous_month.
-- column claims_remitted_change: claims_remitted / previous - 1.
-- column denial_writeoff_change: denial_writeoff_amount / previous - 1.
-- column provider_absorbed_change: provider_absorbed_amount / previous - 1.
-- column net_payments_change: net_payments / previous - 1.
-- column denial_rate_count_change_points: (denial_rate_count - previous) x 100.
-- column denial_rate_dollars_change_points: (denial_rate_dollars - previous) x 100.
WITH months AS (
    SELECT DISTINCT period_end AS payment_month FROM marts.report_periods
),
previous AS (
    SELECT period_end AS payment_month, payment_month AS previous_month
    FROM marts.report_periods
    WHERE month_offset = 1
),
scopes AS (
    SELECT '*' AS payer_scope, CAST(NULL AS VARCHAR) AS payer_name, CAST(NULL AS VARCHAR) AS plan_type
    UNION ALL
    SELECT payer_key, payer_name, plan_type FROM marts.dim_payer
),
by_payer AS (
    SELECT
        payment_month,
        payer_key AS payer_scope,
        sum(payments) AS payments,
        sum(claims_remitted) AS claims_remitted,
        sum(denied_claims) AS denied_claims,
        sum(charge_remitted) AS charge_remitted,
        sum(denied_charge) AS denied_charge,
        sum(denial_writeoff_amount) AS denial_writeoff_amount,
        sum(provider_absorbed_amount) AS provider_absorbed_amount,
        sum(expected_contractual_amount) AS expected_contractual_amount,
        sum(net_payments) AS net_payments
    FROM marts.kpi_month
    GROUP BY payment_month, payer_key
),
sums AS (
    SELECT * FROM by_payer
    UNION ALL
    SELECT
        payment_month,
        '*',
        sum(payments),
        sum(claims_remitted),
        sum(denied_claims),
        sum(charge_remitted),
        sum(denied_charge),
        sum(denial_writeoff_amount),
        sum(provider_absorbed_amount),
        sum(expected_contractual_amount),
        sum(net_payments)
    FROM by_payer
    GROUP BY payment_month
),
filled AS (
    SELECT
        m.payment_month,
        s.payer_scope,
        s.payer_name,
        s.plan_type,
        CAST(coalesce(x.payments, 0) AS BIGINT) AS payments,
        CAST(coalesce(x.claims_remitted, 0) AS BIGINT) AS claims_remitted,
        CAST(coalesce(x.denied_claims, 0) AS BIGINT) AS denied_claims,
        CAST(coalesce(x.charge_remitted, 0) AS DECIMAL(18, 2)) AS charge_remitted,
        CAST(coalesce(x.denied_charge, 0) AS DECIMAL(18, 2)) AS denied_charge,
        CAST(coalesce(x.denial_writeoff_amount, 0) AS DECIMAL(18, 2)) AS denial_writeoff_amount,
        CAST(coalesce(x.provider_absorbed_amount, 0) AS DECIMAL(18, 2)) AS provider_absorbed_amount,
        CAST(coalesce(x.expected_contractual_amount, 0) AS DECIMAL(18, 2)) AS expected_contractual_amount,
        CAST(coalesce(x.net_payments, 0) AS DECIMAL(18, 2)) AS net_payments
    FROM months AS m
    CROSS JOIN scopes AS s
    LEFT JOIN sums AS x ON x.payment_month = m.payment_month AND x.payer_scope = s.payer_scope
),
rated AS (
    SELECT
        *,
        CAST(round(denied_claims / nullif(claims_remitted, 0), 6) AS DECIMAL(12, 6)) AS denial_rate_count,
        CAST(round(denied_charge / nullif(charge_remitted, 0), 6) AS DECIMAL(12, 6)) AS denial_rate_dollars
    FROM filled
)
SELECT
    c.payment_month,
    c.payer_scope,
    c.payer_name,
    c.plan_type,
    p.previous_month,
    c.payments,
    c.claims_remitted,
    c.denied_claims,
    c.charge_remitted,
    c.denied_charge,
    c.denial_writeoff_amount,
    c.provider_absorbed_amount,
    c.expected_contractual_amount,
    c.net_payments,
    c.denial_rate_count,
    c.denial_rate_dollars,
    CAST(coalesce(b.claims_remitted, 0) AS BIGINT) AS previous_claims_remitted,
    CAST(coalesce(b.denial_writeoff_amount, 0) AS DECIMAL(18, 2)) AS previous_denial_writeoff_amount,
    CAST(coalesce(b.provider_absorbed_amount, 0) AS DECIMAL(18, 2)) AS previous_provider_absorbed_amount,
    CAST(coalesce(b.net_payments, 0) AS DECIMAL(18, 2)) AS previous_net_payments,
    b.denial_rate_count AS previous_denial_rate_count,
    b.denial_rate_dollars AS previous_denial_rate_dollars,
    CAST(round(c.claims_remitted / nullif(b.claims_remitted, 0) - 1, 6) AS DECIMAL(12, 6))
        AS claims_remitted_change,
    CAST(round(c.denial_writeoff_amount / nullif(b.denial_writeoff_amount, 0) - 1, 6) AS DECIMAL(12, 6))
        AS denial_writeoff_change,
    CAST(round(c.provider_absorbed_amount / nullif(b.provider_absorbed_amount, 0) - 1, 6) AS DECIMAL(12, 6))
        AS provider_absorbed_change,
    CAST(round(c.net_payments / nullif(b.net_payments, 0) - 1, 6) AS DECIMAL(12, 6)) AS net_payments_change,
    CAST(round((c.denial_rate_count - b.denial_rate_count) * 100, 4) AS DECIMAL(12, 4))
        AS denial_rate_count_change_points,
    CAST(round((c.denial_rate_dollars - b.denial_rate_dollars) * 100, 4) AS DECIMAL(12, 4))
        AS denial_rate_dollars_change_points
FROM rated AS c
LEFT JOIN previous AS p ON p.payment_month = c.payment_month
LEFT JOIN rated AS b ON b.payment_month = p.previous_month AND b.payer_scope = c.payer_scope
