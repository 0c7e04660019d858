-- name: marts.report_kpi_mtd_figures
-- materialized: table
-- incremental: full
-- grain: one row per mtd_window x payer_scope: 'current' (the as-of month from its first day through the
--   as-of date) and 'previous' (the month before from its first day through the same day), for all payers
--   ('*') and each payer_key
-- depends_on: marts.report_as_of, staging.stg_payments, marts.claim_outcomes, marts.denial_events,
--   marts.claim_episodes, marts.dim_payer
-- description: The month-to-date figures of marts.report_kpi_mtd before they are compared: each has the
--   definition of the marts.report_kpi_month column of the same name (docs/metrics.md), counted by the
--   date it names (payment, first denial, resolution, first remit, first payment) instead of by month.
--   marts.report_kpi_compare fills, types, rates and compares them with the monthly figures' expressions.
--   NULL where the window has none (a count or sum that is then 0). A table (built with the warehouse),
--   as it reads the lake's payments by date.
-- column mtd_window: 'current' (the as-of month to date) or 'previous' (the same days of the month before).
-- column payer_scope: '*' for all payers, else the payer_key.
-- column payments: Payments (ST/SE) received in the window.
-- column claims_remitted: Remits paid in the window.
-- column denied_claims: Denied remits among them.
-- column charge_remitted: Sum of CLP03 over those remits.
-- column denied_charge: Sum of CLP03 over the denied remits.
-- column initial_denied_amount: Dollars first denied (kind denial) in the window.
-- column recovered_amount: Dollars recovered by denials resolved in the window.
-- column overturned_amount: Of those, resolved overturned.
-- column denial_writeoff_amount: Final write-offs resolved in the window.
-- column redirect_recovered_amount: Dollars the other plan paid on redirected denials resolved in the
--   window.
-- column episodes_first_remitted: Episodes first remitted in the window.
-- column first_pass_paid_episodes: Of those, paid on the first remit without a denial.
-- column median_days_to_pay: Median days_to_pay of episodes first paid in the window.
-- column net_payments: Sum of BPR02 (debits negative) in the window.
-- unique_key: mtd_window, payer_scope
-- tests: accepted_values(mtd_window: current previous)
WITH win AS (
    SELECT 'current' AS w, CAST(date_trunc('month', as_of_date) AS DATE) AS d0, as_of_date AS d1
    FROM marts.report_as_of
    UNION ALL
    SELECT 'previous', CAST(date_trunc('month', previous_through_date) AS DATE), previous_through_date
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
        CAST(sum(p.signed_payment_amount) AS DECIMAL(38, 2)) AS net_payments  -- Spark would give (28,2)
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
        CAST(sum(CASE WHEN c.counts_as_remit THEN c.charge_amount ELSE 0 END) AS DECIMAL(38, 2))
            AS charge_remitted,
        CAST(sum(CASE WHEN c.is_denied THEN c.charge_amount ELSE 0 END) AS DECIMAL(38, 2)) AS denied_charge
    FROM marts.claim_outcomes AS c
    INNER JOIN win AS w ON c.payment_date BETWEEN w.d0 AND w.d1
    CROSS JOIN fan AS x
    GROUP BY w.w, CASE WHEN x.k = 0 THEN '*' ELSE c.payer_key END
),
first_denied AS (
    SELECT
        w.w,
        CASE WHEN x.k = 0 THEN '*' ELSE e.payer_key END AS payer_scope,
        CAST(sum(e.denied_amount) AS DECIMAL(38, 2)) AS initial_denied_amount
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
        p.payments,
        c.claims_remitted,
        c.denied_claims,
        c.charge_remitted,
        c.denied_charge,
        f.initial_denied_amount,
        r.recovered_amount,
        r.overturned_amount,
        r.denial_writeoff_amount,
        r.redirect_recovered_amount,
        e.episodes_first_remitted,
        e.first_pass_paid_episodes,
        d.median_days_to_pay,
        p.net_payments
    FROM (SELECT DISTINCT w FROM win) AS w
    CROSS JOIN scopes AS s
    LEFT JOIN pay AS p ON p.w = w.w AND p.payer_scope = s.payer_scope
    LEFT JOIN clm AS c ON c.w = w.w AND c.payer_scope = s.payer_scope
    LEFT JOIN first_denied AS f ON f.w = w.w AND f.payer_scope = s.payer_scope
    LEFT JOIN resolved AS r ON r.w = w.w AND r.payer_scope = s.payer_scope
    LEFT JOIN first_remit AS e ON e.w = w.w AND e.payer_scope = s.payer_scope
    LEFT JOIN first_paid AS d ON d.w = w.w AND d.payer_scope = s.payer_scope
)
SELECT
    w AS mtd_window,
    payer_scope,
    payments,
    claims_remitted,
    denied_claims,
    charge_remitted,
    denied_charge,
    initial_denied_amount,
    recovered_amount,
    overturned_amount,
    denial_writeoff_amount,
    redirect_recovered_amount,
    episodes_first_remitted,
    first_pass_paid_episodes,
    median_days_to_pay,
    net_payments
FROM figures
