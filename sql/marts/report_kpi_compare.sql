-- name: marts.report_kpi_compare
-- materialized: table
-- grain: one row per comparison x period x payer_scope: comparison 'month' has every month of
--   marts.report_periods (period 'YYYY-MM', compared with the month before); comparison 'mtd' has period
--   'current' (the as-of month to date, compared with 'previous') and 'previous' (the same days of the
--   month before); payer_scope '*' = all payers, else one payer_key
-- depends_on: marts.kpi_month, marts.report_periods, marts.dim_payer, marts.claim_episodes,
--   marts.denial_events, marts.report_kpi_mtd_figures
-- description: The report's headline figures with their comparison, in one place for both kinds of
--   period: marts.report_kpi_month selects comparison 'month', marts.report_kpi_mtd comparison 'mtd', so
--   the rates and changes of a closed month and of a month to date are the same expressions. Monthly sums
--   add marts.kpi_month over payers (months without payments hold zeros); the month-to-date figures come
--   from marts.report_kpi_mtd_figures. Rates are ratios of those sums (6 places), NULL when the
--   denominator is 0; a relative change is current / previous - 1, NULL when the previous figure is 0; a
--   rate's change is in percentage points, NULL when either rate is NULL. Denial lifecycle figures
--   (docs/metrics.md) count in the month (or on the day) their date names: initial denials when first
--   denied, write-offs, overturned and recovered dollars when resolved, first-pass yield at the episode's
--   first remit, days to pay at its first payment (median over the episodes of the scope, from
--   marts.claim_episodes, so an all-payer median is a median, not an average of them).
-- column comparison: 'month' (a month against the month before) or 'mtd' (month to date against the same
--   days of the month before).
-- column period: The month 'YYYY-MM' (comparison 'month'), or 'current' / 'previous' (comparison 'mtd').
-- column previous_period: The period compared with (NULL for the first month and for 'previous').
-- column payer_scope: '*' for all payers, else the payer_key the figures are limited to.
-- column payments: Payments (ST/SE transactions) received.
-- column claims_remitted: Remits (marts.kpi_month.claims_remitted).
-- column denied_claims: Denied remits.
-- column charge_remitted: Sum of CLP03 over remits.
-- column denied_charge: Sum of CLP03 over denied remits.
-- column denial_writeoff_amount: Final denial write-offs (marts.kpi_month.denial_writeoff_amount).
-- column initial_denied_amount: Dollars first denied in the month (kind denial).
-- column overturned_amount: Dollars recovered by denials resolved overturned in the month.
-- column recovered_amount: Dollars recovered by denials resolved in the month (any resolution).
-- column redirect_recovered_amount: Dollars the other plan paid on redirected denials resolved in the month
--   (marts.denial_events resolution redirected, any kind: the crossover redirects recovered).
-- column episodes_first_remitted: Episodes whose first remit is in the month.
-- column first_pass_paid_episodes: Of those, paid on the first remit without a denial.
-- column first_pass_yield: first_pass_paid_episodes / episodes_first_remitted.
-- column median_days_to_pay: Median days_to_pay of the scope's episodes first paid in the month.
-- column provider_absorbed_amount: All provider-absorbed adjustment dollars (NULL for comparison mtd).
-- column expected_contractual_amount: Absorbed dollars in category expected_contractual (NULL for mtd).
-- column net_payments: Sum of BPR02 (debits negative).
-- column denial_rate_count: denied_claims / claims_remitted.
-- column denial_rate_dollars: denied_charge / charge_remitted.
-- column previous_payments: payments of previous_period.
-- column previous_claims_remitted: claims_remitted of previous_period.
-- column previous_denial_writeoff_amount: denial_writeoff_amount of previous_period.
-- column previous_provider_absorbed_amount: provider_absorbed_amount of previous_period.
-- column previous_net_payments: net_payments of previous_period.
-- column previous_initial_denied_amount: initial_denied_amount of previous_period.
-- column previous_recovered_amount: recovered_amount of previous_period.
-- column previous_overturned_amount: overturned_amount of previous_period.
-- column previous_redirect_recovered_amount: redirect_recovered_amount of previous_period.
-- column previous_first_pass_yield: first_pass_yield of previous_period.
-- column previous_median_days_to_pay: median_days_to_pay of previous_period.
-- column previous_denial_rate_count: denial_rate_count of previous_period.
-- column previous_denial_rate_dollars: denial_rate_dollars of previous_period.
-- column claims_remitted_change: claims_remitted / previous - 1.
-- column denial_writeoff_change: denial_writeoff_amount / previous - 1.
-- column provider_absorbed_change: provider_absorbed_amount / previous - 1.
-- column net_payments_change: net_payments / previous - 1.
-- column initial_denied_change: initial_denied_amount / previous - 1.
-- column recovered_change: recovered_amount / previous - 1.
-- column overturned_change: overturned_amount / previous - 1.
-- column redirect_recovered_change: redirect_recovered_amount / previous - 1.
-- column first_pass_yield_change_points: (first_pass_yield - previous) x 100.
-- column median_days_to_pay_change: median_days_to_pay - previous, in days.
-- column denial_rate_count_change_points: (denial_rate_count - previous) x 100.
-- column denial_rate_dollars_change_points: (denial_rate_dollars - previous) x 100.
--   A table, unlike the report's other views: the views of the months, the month to date, the period
--   and the payer trends all select from it (the report, and the nightly checks of their header tests,
--   would otherwise each recompute it over marts.claim_episodes and marts.denial_events).
-- unique_key: comparison, period, payer_scope
-- tests: accepted_values(comparison: month mtd)
WITH months AS (
    SELECT DISTINCT period_end AS payment_month FROM marts.report_periods
),
previous AS (
    SELECT period_end AS payment_month, payment_month AS previous_month
    FROM marts.report_periods
    WHERE month_offset = 1
),
scopes AS (
    SELECT '*' AS payer_scope
    UNION ALL
    SELECT payer_key FROM marts.dim_payer
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
        sum(net_payments) AS net_payments,
        sum(initial_denied_amount) AS initial_denied_amount,
        sum(overturned_amount) AS overturned_amount,
        sum(recovered_amount) AS recovered_amount,
        sum(episodes_first_remitted) AS episodes_first_remitted,
        sum(first_pass_paid_episodes) AS first_pass_paid_episodes
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
        sum(net_payments),
        sum(initial_denied_amount),
        sum(overturned_amount),
        sum(recovered_amount),
        sum(episodes_first_remitted),
        sum(first_pass_paid_episodes)
    FROM by_payer
    GROUP BY payment_month
),
paid AS (
    SELECT strftime(first_payment_date, '%Y-%m') AS payment_month, payer_key, days_to_pay
    FROM marts.claim_episodes
    WHERE days_to_pay IS NOT NULL
),
redirected AS (
    SELECT resolution_month AS payment_month, payer_key AS payer_scope, sum(recovered_amount) AS amount
    FROM marts.denial_events WHERE resolution = 'redirected' GROUP BY resolution_month, payer_key
    UNION ALL
    SELECT resolution_month, '*', sum(recovered_amount)
    FROM marts.denial_events WHERE resolution = 'redirected' GROUP BY resolution_month
),
days AS (
    SELECT payment_month, payer_key AS payer_scope, round(median(days_to_pay), 1) AS median_days_to_pay
    FROM paid GROUP BY payment_month, payer_key
    UNION ALL
    SELECT payment_month, '*', round(median(days_to_pay), 1) FROM paid GROUP BY payment_month
),
month_figures AS (
    SELECT
        'month' AS comparison,
        m.payment_month AS period,
        pv.previous_month AS previous_period,
        s.payer_scope,
        x.payments,
        x.claims_remitted,
        x.denied_claims,
        x.charge_remitted,
        x.denied_charge,
        x.denial_writeoff_amount,
        x.provider_absorbed_amount,
        x.expected_contractual_amount,
        x.net_payments,
        x.initial_denied_amount,
        x.overturned_amount,
        x.recovered_amount,
        r.amount AS redirect_recovered_amount,
        x.episodes_first_remitted,
        x.first_pass_paid_episodes,
        d.median_days_to_pay
    FROM months AS m
    CROSS JOIN scopes AS s
    LEFT JOIN sums AS x ON x.payment_month = m.payment_month AND x.payer_scope = s.payer_scope
    LEFT JOIN days AS d ON d.payment_month = m.payment_month AND d.payer_scope = s.payer_scope
    LEFT JOIN redirected AS r ON r.payment_month = m.payment_month AND r.payer_scope = s.payer_scope
    LEFT JOIN previous AS pv ON pv.payment_month = m.payment_month
),
mtd_figures AS (
    -- the month to date against the same days of the month before, compared as a month with the one before
    SELECT
        'mtd' AS comparison,
        mtd_window AS period,
        CASE WHEN mtd_window = 'current' THEN 'previous' END AS previous_period,
        payer_scope,
        payments,
        claims_remitted,
        denied_claims,
        charge_remitted,
        denied_charge,
        denial_writeoff_amount,
        NULL AS provider_absorbed_amount,  -- not counted by date
        NULL AS expected_contractual_amount,
        net_payments,
        initial_denied_amount,
        overturned_amount,
        recovered_amount,
        redirect_recovered_amount,
        episodes_first_remitted,
        first_pass_paid_episodes,
        median_days_to_pay
    FROM marts.report_kpi_mtd_figures
),
figures AS (
    -- one place fills and types both kinds: nothing counted is 0 (a median stays NULL)
    SELECT
        comparison,
        period,
        previous_period,
        payer_scope,
        CAST(coalesce(payments, 0) AS BIGINT) AS payments,
        CAST(coalesce(claims_remitted, 0) AS BIGINT) AS claims_remitted,
        CAST(coalesce(denied_claims, 0) AS BIGINT) AS denied_claims,
        CAST(coalesce(charge_remitted, 0) AS DECIMAL(38, 2)) AS charge_remitted,
        CAST(coalesce(denied_charge, 0) AS DECIMAL(38, 2)) AS denied_charge,
        CAST(coalesce(denial_writeoff_amount, 0) AS DECIMAL(38, 2)) AS denial_writeoff_amount,
        CAST(CASE WHEN comparison = 'month' THEN coalesce(provider_absorbed_amount, 0) END AS DECIMAL(38, 2))
            AS provider_absorbed_amount,
        CAST(
            CASE WHEN comparison = 'month' THEN coalesce(expected_contractual_amount, 0) END AS DECIMAL(38, 2)
        ) AS expected_contractual_amount,
        CAST(coalesce(net_payments, 0) AS DECIMAL(38, 2)) AS net_payments,
        CAST(coalesce(initial_denied_amount, 0) AS DECIMAL(38, 2)) AS initial_denied_amount,
        CAST(coalesce(overturned_amount, 0) AS DECIMAL(38, 2)) AS overturned_amount,
        CAST(coalesce(recovered_amount, 0) AS DECIMAL(38, 2)) AS recovered_amount,
        CAST(coalesce(redirect_recovered_amount, 0) AS DECIMAL(38, 2)) AS redirect_recovered_amount,
        CAST(coalesce(episodes_first_remitted, 0) AS BIGINT) AS episodes_first_remitted,
        CAST(coalesce(first_pass_paid_episodes, 0) AS BIGINT) AS first_pass_paid_episodes,
        CAST(median_days_to_pay AS DECIMAL(9, 1)) AS median_days_to_pay
    FROM (SELECT * FROM month_figures UNION ALL SELECT * FROM mtd_figures) AS u
),
rated AS (
    SELECT
        *,
        CAST(round(denied_claims / nullif(claims_remitted, 0), 6) AS DECIMAL(12, 6)) AS denial_rate_count,
        CAST(round(denied_charge / nullif(charge_remitted, 0), 6) AS DECIMAL(12, 6)) AS denial_rate_dollars,
        CAST(round(first_pass_paid_episodes / nullif(episodes_first_remitted, 0), 6) AS DECIMAL(12, 6))
            AS first_pass_yield
    FROM figures
)
SELECT
    c.comparison,
    c.period,
    c.previous_period,
    c.payer_scope,
    c.payments,
    c.claims_remitted,
    c.denied_claims,
    c.charge_remitted,
    c.denied_charge,
    c.denial_writeoff_amount,
    c.provider_absorbed_amount,
    c.expected_contractual_amount,
    c.net_payments,
    c.initial_denied_amount,
    c.overturned_amount,
    c.recovered_amount,
    c.redirect_recovered_amount,
    c.episodes_first_remitted,
    c.first_pass_paid_episodes,
    c.first_pass_yield,
    c.median_days_to_pay,
    c.denial_rate_count,
    c.denial_rate_dollars,
    CAST(coalesce(b.payments, 0) AS BIGINT) AS previous_payments,
    CAST(coalesce(b.claims_remitted, 0) AS BIGINT) AS previous_claims_remitted,
    CAST(coalesce(b.denial_writeoff_amount, 0) AS DECIMAL(38, 2)) AS previous_denial_writeoff_amount,
    CAST(coalesce(b.provider_absorbed_amount, 0) AS DECIMAL(38, 2)) AS previous_provider_absorbed_amount,
    CAST(coalesce(b.net_payments, 0) AS DECIMAL(38, 2)) AS previous_net_payments,
    CAST(coalesce(b.initial_denied_amount, 0) AS DECIMAL(38, 2)) AS previous_initial_denied_amount,
    CAST(coalesce(b.recovered_amount, 0) AS DECIMAL(38, 2)) AS previous_recovered_amount,
    CAST(coalesce(b.overturned_amount, 0) AS DECIMAL(38, 2)) AS previous_overturned_amount,
    CAST(coalesce(b.redirect_recovered_amount, 0) AS DECIMAL(38, 2)) AS previous_redirect_recovered_amount,
    b.first_pass_yield AS previous_first_pass_yield,
    b.median_days_to_pay AS previous_median_days_to_pay,
    b.denial_rate_count AS previous_denial_rate_count,
    b.denial_rate_dollars AS previous_denial_rate_dollars,
    CAST(round(c.claims_remitted / nullif(b.claims_remitted, 0) - 1, 6) AS DECIMAL(12, 6))
        AS claims_remitted_change,
    CAST(round(c.denial_writeoff_amount / nullif(b.denial_writeoff_amount, 0) - 1, 6) AS DECIMAL(12, 6))
        AS denial_writeoff_change,
    CAST(round(c.provider_absorbed_amount / nullif(b.provider_absorbed_amount, 0) - 1, 6) AS DECIMAL(12, 6))
        AS provider_absorbed_change,
    CAST(round(c.net_payments / nullif(b.net_payments, 0) - 1, 6) AS DECIMAL(12, 6)) AS net_payments_change,
    CAST(round(c.initial_denied_amount / nullif(b.initial_denied_amount, 0) - 1, 6) AS DECIMAL(12, 6))
        AS initial_denied_change,
    CAST(round(c.recovered_amount / nullif(b.recovered_amount, 0) - 1, 6) AS DECIMAL(12, 6)) AS recovered_change,
    CAST(round(c.overturned_amount / nullif(b.overturned_amount, 0) - 1, 6) AS DECIMAL(12, 6))
        AS overturned_change,
    CAST(round(c.redirect_recovered_amount / nullif(b.redirect_recovered_amount, 0) - 1, 6) AS DECIMAL(12, 6))
        AS redirect_recovered_change,
    CAST(round((c.first_pass_yield - b.first_pass_yield) * 100, 4) AS DECIMAL(12, 4))
        AS first_pass_yield_change_points,
    CAST(c.median_days_to_pay - b.median_days_to_pay AS DECIMAL(9, 1)) AS median_days_to_pay_change,
    CAST(round((c.denial_rate_count - b.denial_rate_count) * 100, 4) AS DECIMAL(12, 4))
        AS denial_rate_count_change_points,
    CAST(round((c.denial_rate_dollars - b.denial_rate_dollars) * 100, 4) AS DECIMAL(12, 4))
        AS denial_rate_dollars_change_points
FROM rated AS c
LEFT JOIN rated AS b
    ON b.comparison = c.comparison AND b.period = c.previous_period AND b.payer_scope = c.payer_scope
