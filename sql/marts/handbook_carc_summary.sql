-- name: marts.handbook_carc_summary
-- materialized: view
-- grain: one row per group_scope x reason_code seen in the warehouse (group_scope '*' = all group codes,
--   else one CAS01 group code)
-- depends_on: marts.handbook_window, marts.denials_by_carc_month, marts.handbook_carc_claims_month,
--   marts.report_worklist_items
-- description: The headline figures of a CARC's handbook entry (`remit code`, the HTML handbook and its
--   index) over the handbook window (marts.handbook_window) and over all months. trend (ref.code_trend) compares the
--   adjustments of the last three months (recent_count) with the three before (before_count): 'none'
--   (neither), 'new' (none before), 'rising' (recent >= 1.25 x before and at least 3 more), 'falling'
--   (before >= 1.25 x recent and at least 3 fewer), else 'steady'. open_items / open_dollars: the open
--   denials with the code as top reason on any worklist (appeal, rework, redirect), as of the as-of date.
-- column group_scope: '*' for all group codes, else the group code.
-- column reason_code: CARC.
-- column adjustment_count: Adjustments in the window.
-- column dollars: Their dollars.
-- column claims: Distinct claims with such an adjustment in the window.
-- column all_time_count: Adjustments in all months of the warehouse.
-- column all_time_dollars: Their dollars.
-- column recent_count: Adjustments in the last three months of the window.
-- column before_count: Adjustments in the three months before those.
-- column trend: none, new, rising, falling or steady (see the description).
-- column open_items: Open worklist items whose top reason is the code.
-- column open_dollars: Their dollars at stake.
-- unique_key: group_scope, reason_code
WITH base AS (
    SELECT d.group_code, d.reason_code, d.adjustment_count, d.dollars, w.month_offset
    FROM marts.denials_by_carc_month AS d
    LEFT JOIN marts.handbook_window AS w ON w.payment_month = d.payment_month
),
scoped AS (
    SELECT group_code AS group_scope, reason_code, adjustment_count, dollars, month_offset FROM base
    UNION ALL
    SELECT '*', reason_code, adjustment_count, dollars, month_offset FROM base
),
sums AS (
    SELECT
        group_scope,
        reason_code,
        sum(CASE WHEN month_offset IS NOT NULL THEN adjustment_count ELSE 0 END) AS adjustment_count,
        sum(CASE WHEN month_offset IS NOT NULL THEN dollars ELSE 0 END) AS dollars,
        sum(adjustment_count) AS all_time_count,
        sum(dollars) AS all_time_dollars,
        sum(CASE WHEN month_offset <= 2 THEN adjustment_count ELSE 0 END) AS recent_count,
        sum(CASE WHEN month_offset BETWEEN 3 AND 5 THEN adjustment_count ELSE 0 END) AS before_count
    FROM scoped
    GROUP BY group_scope, reason_code
),
-- a claim belongs to one payment month and payer, so the month marts' distinct claims add up to the
-- window's distinct claims (without reading the adjustments again)
claims AS (
    SELECT d.group_code AS group_scope, d.reason_code, sum(d.claims_affected) AS claims
    FROM marts.denials_by_carc_month AS d
    INNER JOIN marts.handbook_window AS w ON w.payment_month = d.payment_month
    GROUP BY d.group_code, d.reason_code
    UNION ALL
    SELECT '*', c.reason_code, sum(c.claims_affected)
    FROM marts.handbook_carc_claims_month AS c
    INNER JOIN marts.handbook_window AS w ON w.payment_month = c.payment_month
    GROUP BY c.reason_code
),
open_rows AS (
    SELECT group_code, reason_code, dollars_at_stake
    FROM marts.report_worklist_items
),
open_items AS (
    SELECT group_code AS group_scope, reason_code, count(*) AS items, sum(dollars_at_stake) AS dollars
    FROM open_rows GROUP BY group_code, reason_code
    UNION ALL
    SELECT '*', reason_code, count(*), sum(dollars_at_stake) FROM open_rows GROUP BY reason_code
)
SELECT
    s.group_scope,
    s.reason_code,
    CAST(s.adjustment_count AS BIGINT) AS adjustment_count,
    CAST(s.dollars AS DECIMAL(38, 2)) AS dollars,
    CAST(coalesce(c.claims, 0) AS BIGINT) AS claims,
    CAST(s.all_time_count AS BIGINT) AS all_time_count,
    CAST(s.all_time_dollars AS DECIMAL(38, 2)) AS all_time_dollars,
    CAST(s.recent_count AS BIGINT) AS recent_count,
    CAST(s.before_count AS BIGINT) AS before_count,
    ref.code_trend(s.recent_count, s.before_count) AS trend,
    CAST(coalesce(o.items, 0) AS BIGINT) AS open_items,
    CAST(coalesce(o.dollars, 0) AS DECIMAL(38, 2)) AS open_dollars
FROM sums AS s
LEFT JOIN claims AS c ON c.group_scope = s.group_scope AND c.reason_code = s.reason_code
LEFT JOIN open_items AS o ON o.group_scope = s.group_scope AND o.reason_code = s.reason_code
