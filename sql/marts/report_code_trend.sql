-- name: marts.report_code_trend
-- materialized: view
-- grain: one row per period_end x payer_scope x group_code x reason_code first denied in the last six
--   months of the period
-- depends_on: marts.report_periods, marts.report_denial_month
-- description: The report's new and rising denial codes. For the 12 months ending period_end: the code's
--   initial denials in the last three months (recent) and the three before (prior), and its trend by the
--   handbook's rule (ref.code_trend: new, rising, falling, steady); new_this_month is true when the code
--   (with its group) was first denied in the scope in period_end itself, never before in the warehouse.
-- column period_end: Last month of the period.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column group_code: Group code of the top reason.
-- column reason_code: CARC of the top reason.
-- column carc_summary: What the CARC means.
-- column carc_category: ref.carc.category of the CARC.
-- column action: ref.carc_group_guidance action.
-- column recent_denials: Denial events first denied in the last three months of the period.
-- column prior_denials: Denial events first denied in the three months before those.
-- column recent_dollars: Their denied dollars (recent).
-- column prior_dollars: Their denied dollars (prior).
-- column last_month_dollars: Dollars first denied in period_end.
-- column first_denied_month: The first month the code was denied in the scope (whole warehouse).
-- column new_this_month: first_denied_month = period_end.
-- column trend: ref.code_trend(recent_denials, prior_denials).
-- unique_key: period_end, payer_scope, group_code, reason_code
WITH scoped AS (
    SELECT '*' AS payer_scope, group_code, reason_code, carc_summary, carc_category, action,
        payment_month AS first_denied_month, denials, dollars
    FROM marts.report_denial_month
    UNION ALL
    SELECT payer_key, group_code, reason_code, carc_summary, carc_category, action,
        payment_month AS first_denied_month, denials, dollars
    FROM marts.report_denial_month
),
firsts AS (
    SELECT payer_scope, group_code, reason_code, min(first_denied_month) AS first_denied_month
    FROM scoped GROUP BY payer_scope, group_code, reason_code
),
sums AS (
    SELECT
        p.period_end,
        s.payer_scope,
        s.group_code,
        s.reason_code,
        min(s.carc_summary) AS carc_summary,
        min(s.carc_category) AS carc_category,
        min(s.action) AS action,
        CAST(sum(CASE WHEN p.month_offset <= 2 THEN s.denials ELSE 0 END) AS BIGINT) AS recent_denials,
        CAST(sum(CASE WHEN p.month_offset BETWEEN 3 AND 5 THEN s.denials ELSE 0 END) AS BIGINT) AS prior_denials,
        sum(CASE WHEN p.month_offset <= 2 THEN s.dollars ELSE 0 END) AS recent_dollars,
        sum(CASE WHEN p.month_offset BETWEEN 3 AND 5 THEN s.dollars ELSE 0 END) AS prior_dollars,
        sum(CASE WHEN p.month_offset = 0 THEN s.dollars ELSE 0 END) AS last_month_dollars
    FROM marts.report_periods AS p
    INNER JOIN scoped AS s ON s.first_denied_month = p.payment_month
    WHERE p.month_offset <= 5
    GROUP BY p.period_end, s.payer_scope, s.group_code, s.reason_code
)
SELECT
    s.period_end,
    s.payer_scope,
    s.group_code,
    s.reason_code,
    s.carc_summary,
    s.carc_category,
    s.action,
    CAST(s.recent_denials AS BIGINT) AS recent_denials,
    CAST(s.prior_denials AS BIGINT) AS prior_denials,
    CAST(s.recent_dollars AS DECIMAL(38, 2)) AS recent_dollars,
    CAST(s.prior_dollars AS DECIMAL(38, 2)) AS prior_dollars,
    CAST(s.last_month_dollars AS DECIMAL(38, 2)) AS last_month_dollars,
    f.first_denied_month,
    f.first_denied_month = s.period_end AS new_this_month,
    ref.code_trend(s.recent_denials, s.prior_denials) AS trend
FROM sums AS s
INNER JOIN firsts AS f
    ON f.payer_scope = s.payer_scope AND f.group_code = s.group_code AND f.reason_code = s.reason_code
