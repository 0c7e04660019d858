-- name: marts.report_kpi_mtd
-- materialized: table
-- grain: one row per payer_scope ('*' = all payers, else one payer_key): the as-of month to date against
--   the same days of the month before
-- depends_on: marts.report_as_of, staging.stg_payments, marts.claim_outcomes, marts.denial_events,
--   marts.claim_episodes, marts.dim_payer
-- description: The headline figures of a month-to-date report, compared like with like: the as-of month
--   from its first day through the as-of date, against the month before from its first day through the
--   same day (marts.report_as_of.previous_through_date). Each figure has the definition of the
--   marts.report_kpi_month column of the same name (docs/metrics.md), counted by the date it names
--   (payment, first denial, resolution, first remit, first payment) instead of by month. Rates are ratios of
--   the sums (6 places), NULL when the denominator is 0; changes as in marts.report_kpi_month.
--   A table (built with the warehouse), as it reads the lake's payments by date.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column payment_month: The as-of month 'YYYY-MM'.
-- column through_date: The as-of date (the last day counted).
-- column previous_month: The month before.
-- column previous_through_date: The last day counted in the month before.
-- column payments: Payments (ST/SE) received through through_date.
-- column claims_remitted: Remits paid through through_date.
-- column denied_claims: Denied remits among them.
-- column charge_remitted: Sum of CLP03 over those remits.
-- column denied_charge: Sum of CLP03 over the denied remits.
-- column denial_rate_count: denied_claims / claims_remitted.
-- column denial_rate_dollars: denied_charge / charge_remitted.
-- column initial_denied_amount: Dollars first denied (kind denial) through through_date.
-- column recovered_amount: Dollars recovered by denials resolved through through_date.
-- column overturned_amount: Of those, resolved overturned.
-- column denial_writeoff_amount: Final write-offs resolved through through_date.
-- column redirect_recovered_amount: Dollars the other plan paid on redirected denials resolved through
--   through_date.
-- column episodes_first_remitted: Episodes first remitted through through_date.
-- column first_pass_paid_episodes: Of those, paid on the first remit without a denial.
-- column first_pass_yield: first_pass_paid_episodes / episodes_first_remitted.
-- column median_days_to_pay: Median days_to_pay of episodes first paid through through_date.
-- column net_payments: Sum of BPR02 (debits negative) through through_date.
-- column previous_payments: payments of the same days of the month before.
-- column previous_claims_remitted: claims_remitted of the same days of the month before.
-- column previous_denial_rate_count: denial_rate_count of the same days of the month before.
-- column previous_denial_rate_dollars: denial_rate_dollars of the same days of the month before.
-- column previous_initial_denied_amount: initial_denied_amount of the same days of the month before.
-- column previous_recovered_amount: recovered_amount of the same days of the month before.
-- column previous_overturned_amount: overturned_amount of the same days of the month before.
-- column previous_denial_writeoff_amount: denial_writeoff_amount of the same days of the month before.
-- column previous_redirect_recovered_amount: redirect_recovered_amount of the same days of the month
--   before.
-- column previous_first_pass_yield: first_pass_yield of the same days of the month before.
-- column previous_median_days_to_pay: median_days_to_pay of the same days of the month before.
-- column previous_net_payments: net_payments of the same days of the month before.
-- column claims_remitted_change: claims_remitted / previous - 1.
-- column denial_rate_count_change_points: (denial_rate_count - previous) x 100.
-- column initial_denied_change: initial_denied_amount / previous - 1.
-- column recovered_change: recovered_amount / previous - 1.
-- column overturned_change: overturned_amount / previous - 1.
-- column denial_writeoff_change: denial_writeoff_amount / previous - 1.
-- column redirect_recovered_change: redirect_recovered_amount / previous - 1.
-- column first_pass_yield_change_points: (first_pass_yield - previous) x 100.
-- column median_days_to_pay_change: median_days_to_pay - previous, in days.
-- column net_payments_change: net_payments / previous - 1.
-- unique_key: payer_scope
WITH win AS (
    SELECT 'cur' AS w, CAST(date_trunc('month', as_of_date) AS DATE) AS d0, as_of_date AS d1
    FROM marts.report_as_of
    UNION ALL
    SELECT 'prev', CAST(date_trunc('month', previous_through_date) AS DATE), previous_through_date
    FROM marts.report_as_of
),
scopes AS (
    SELECT '*' AS payer_scope
    UNION ALL
    SELECT payer_key FROM marts.dim_payer
),
fan AS (
    -- every row counts twice: for all payers ('*', k = 0) and for its own payer (k = 1)
    SELECT 0 AS k UNION ALL SELECT 1
),
pay AS (
    SELECT
        w.w,
        CASE WHEN x.k = 0 THEN '*' ELSE p.payer_key END AS payer_scope,
        count(*) AS payments,
        sum(p.signed_payment_amount) AS net_payments
    FROM staging.stg_payments AS p
    INNER JOIN win AS w ON p.payment_date BETWEEN w.d0 AND w.d1
    CROSS JOIN fan AS x
    GROUP BY w.w, CASE WHEN x.k = 0 THEN '*' ELSE p.payer_key END
),
clm AS (
    SELECT
        w.w,
        CASE WHEN x.k = 0 THEN '*' ELSE c.payer_key END AS payer_scope,
        count(CASE WHEN c.counts_as_remit THEN 1 END) AS claims_remitted,
        count(CASE WHEN c.is_denied THEN 1 END) AS denied_claims,
        sum(CASE WHEN c.counts_as_remit THEN c.charge_amount ELSE 0 END) AS charge_remitted,
        sum(CASE WHEN c.is_denied THEN c.charge_amount ELSE 0 END) AS denied_charge
    FROM marts.claim_outcomes AS c
    INNER JOIN win AS w ON c.payment_date BETWEEN w.d0 AND w.d1
    CROSS JOIN fan AS x
    GROUP BY w.w, CASE WHEN x.k = 0 THEN '*' ELSE c.payer_key END
),
first_denied AS (
    SELECT
        w.w,
        CASE WHEN x.k = 0 THEN '*' ELSE e.payer_key END AS payer_scope,
        sum(e.denied_amount) AS initial_denied_amount
    FROM marts.denial_events AS e
    INNER JOIN win AS w ON e.first_denied_date BETWEEN w.d0 AND w.d1
    CROSS JOIN fan AS x
    WHERE e.kind = 'denial'
    GROUP BY w.w, CASE WHEN x.k = 0 THEN '*' ELSE e.payer_key END
),
resolved AS (
    SELECT
        w.w,
        CASE WHEN x.k = 0 THEN '*' ELSE e.payer_key END AS payer_scope,
        sum(CASE WHEN e.kind = 'denial' THEN e.recovered_amount ELSE 0 END) AS recovered_amount,
        sum(CASE WHEN e.kind = 'denial' AND e.resolution = 'overturned' THEN e.recovered_amount ELSE 0 END)
            AS overturned_amount,
        sum(CASE WHEN e.kind = 'denial' THEN e.writeoff_amount ELSE 0 END) AS denial_writeoff_amount,
        sum(CASE WHEN e.resolution = 'redirected' THEN e.recovered_amount ELSE 0 END)
            AS redirect_recovered_amount
    FROM marts.denial_events AS e
    INNER JOIN win AS w ON e.resolution_date BETWEEN w.d0 AND w.d1
    CROSS JOIN fan AS x
    WHERE e.resolution <> 'open'
    GROUP BY w.w, CASE WHEN x.k = 0 THEN '*' ELSE e.payer_key END
),
first_remit AS (
    SELECT
        w.w,
        CASE WHEN x.k = 0 THEN '*' ELSE e.payer_key END AS payer_scope,
        count(*) AS episodes_first_remitted,
        count(CASE WHEN e.first_pass_paid THEN 1 END) AS first_pass_paid_episodes
    FROM marts.claim_episodes AS e
    INNER JOIN win AS w ON e.first_remit_date BETWEEN w.d0 AND w.d1
    CROSS JOIN fan AS x
    GROUP BY w.w, CASE WHEN x.k = 0 THEN '*' ELSE e.payer_key END
),
first_paid AS (
    SELECT
        w.w,
        CASE WHEN x.k = 0 THEN '*' ELSE e.payer_key END AS payer_scope,
        round(median(e.days_to_pay), 1) AS median_days_to_pay
    FROM marts.claim_episodes AS e
    INNER JOIN win AS w ON e.first_payment_date BETWEEN w.d0 AND w.d1
    CROSS JOIN fan AS x
    WHERE e.days_to_pay IS NOT NULL
    GROUP BY w.w, CASE WHEN x.k = 0 THEN '*' ELSE e.payer_key END
),
figures AS (
    SELECT
        w.w,
        s.payer_scope,
        CAST(coalesce(p.payments, 0) AS BIGINT) AS payments,
        CAST(coalesce(c.claims_remitted, 0) AS BIGINT) AS claims_remitted,
        CAST(coalesce(c.denied_claims, 0) AS BIGINT) AS denied_claims,
        CAST(coalesce(c.charge_remitted, 0) AS DECIMAL(38, 2)) AS charge_remitted,
        CAST(coalesce(c.denied_charge, 0) AS DECIMAL(38, 2)) AS denied_charge,
        CAST(coalesce(f.initial_denied_amount, 0) AS DECIMAL(38, 2)) AS initial_denied_amount,
        CAST(coalesce(r.recovered_amount, 0) AS DECIMAL(38, 2)) AS recovered_amount,
        CAST(coalesce(r.overturned_amount, 0) AS DECIMAL(38, 2)) AS overturned_amount,
        CAST(coalesce(r.denial_writeoff_amount, 0) AS DECIMAL(38, 2)) AS denial_writeoff_amount,
        CAST(coalesce(r.redirect_recovered_amount, 0) AS DECIMAL(38, 2)) AS redirect_recovered_amount,
        CAST(coalesce(e.episodes_first_remitted, 0) AS BIGINT) AS episodes_first_remitted,
        CAST(coalesce(e.first_pass_paid_episodes, 0) AS BIGINT) AS first_pass_paid_episodes,
        CAST(d.median_days_to_pay AS DECIMAL(9, 1)) AS median_days_to_pay,
        CAST(coalesce(p.net_payments, 0) AS DECIMAL(38, 2)) AS net_payments
    FROM (SELECT DISTINCT w FROM win) AS w
    CROSS JOIN scopes AS s
    LEFT JOIN pay AS p ON p.w = w.w AND p.payer_scope = s.payer_scope
    LEFT JOIN clm AS c ON c.w = w.w AND c.payer_scope = s.payer_scope
    LEFT JOIN first_denied AS f ON f.w = w.w AND f.payer_scope = s.payer_scope
    LEFT JOIN resolved AS r ON r.w = w.w AND r.payer_scope = s.payer_scope
    LEFT JOIN first_remit AS e ON e.w = w.w AND e.payer_scope = s.payer_scope
    LEFT JOIN first_paid AS d ON d.w = w.w AND d.payer_scope = s.payer_scope
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
    c.payer_scope,
    a.as_of_month AS payment_month,
    a.as_of_date AS through_date,
    strftime(a.previous_through_date, '%Y-%m') AS previous_month,
    a.previous_through_date,
    c.payments,
    c.claims_remitted,
    c.denied_claims,
    c.charge_remitted,
    c.denied_charge,
    c.denial_rate_count,
    c.denial_rate_dollars,
    c.initial_denied_amount,
    c.recovered_amount,
    c.overturned_amount,
    c.denial_writeoff_amount,
    c.redirect_recovered_amount,
    c.episodes_first_remitted,
    c.first_pass_paid_episodes,
    c.first_pass_yield,
    c.median_days_to_pay,
    c.net_payments,
    b.payments AS previous_payments,
    b.claims_remitted AS previous_claims_remitted,
    b.denial_rate_count AS previous_denial_rate_count,
    b.denial_rate_dollars AS previous_denial_rate_dollars,
    b.initial_denied_amount AS previous_initial_denied_amount,
    b.recovered_amount AS previous_recovered_amount,
    b.overturned_amount AS previous_overturned_amount,
    b.denial_writeoff_amount AS previous_denial_writeoff_amount,
    b.redirect_recovered_amount AS previous_redirect_recovered_amount,
    b.first_pass_yield AS previous_first_pass_yield,
    b.median_days_to_pay AS previous_median_days_to_pay,
    b.net_payments AS previous_net_payments,
    CAST(round(c.claims_remitted / nullif(b.claims_remitted, 0) - 1, 6) AS DECIMAL(12, 6))
        AS claims_remitted_change,
    CAST(round((c.denial_rate_count - b.denial_rate_count) * 100, 4) AS DECIMAL(12, 4))
        AS denial_rate_count_change_points,
    CAST(round(c.initial_denied_amount / nullif(b.initial_denied_amount, 0) - 1, 6) AS DECIMAL(12, 6))
        AS initial_denied_change,
    CAST(round(c.recovered_amount / nullif(b.recovered_amount, 0) - 1, 6) AS DECIMAL(12, 6)) AS recovered_change,
    CAST(round(c.overturned_amount / nullif(b.overturned_amount, 0) - 1, 6) AS DECIMAL(12, 6))
        AS overturned_change,
    CAST(round(c.denial_writeoff_amount / nullif(b.denial_writeoff_amount, 0) - 1, 6) AS DECIMAL(12, 6))
        AS denial_writeoff_change,
    CAST(round(c.redirect_recovered_amount / nullif(b.redirect_recovered_amount, 0) - 1, 6) AS DECIMAL(12, 6))
        AS redirect_recovered_change,
    CAST(round((c.first_pass_yield - b.first_pass_yield) * 100, 4) AS DECIMAL(12, 4))
        AS first_pass_yield_change_points,
    CAST(c.median_days_to_pay - b.median_days_to_pay AS DECIMAL(9, 1)) AS median_days_to_pay_change,
    CAST(round(c.net_payments / nullif(b.net_payments, 0) - 1, 6) AS DECIMAL(12, 6)) AS net_payments_change
FROM rated AS c
INNER JOIN rated AS b ON b.payer_scope = c.payer_scope AND b.w = 'prev'
CROSS JOIN marts.report_as_of AS a
WHERE c.w = 'cur'
