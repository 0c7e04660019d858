-- name: marts.handbook_rarc_summary
-- materialized: table
-- grain: one row per remark_code seen in the warehouse
-- depends_on: marts.handbook_window, marts.handbook_remark_month, marts.report_worklist_items
-- description: The headline figures of a remark code's handbook entry over the handbook window
--   (marts.handbook_window) and over all months: times sent, the CO/OA/PI dollars of the adjustments it
--   came with, the trend (ref.code_trend, as in marts.handbook_carc_summary, on times sent) and the open worklist
--   items (appeal, rework, redirect) carrying the remark, as of the as-of date.
-- column remark_code: RARC (or NCPDP reject code sent in LQ*RX).
-- column remark_count: Times sent in the window (distinct claim or line).
-- column non_pr_dollars: CO, OA and PI dollars of the adjustments it came with, in the window.
-- column all_time_count: Times sent in all months.
-- column all_time_dollars: Their CO, OA and PI dollars.
-- column recent_count: Times sent in the last three months of the window.
-- column before_count: Times sent in the three months before those.
-- column trend: none, new, rising, falling or steady.
-- column open_items: Open worklist items carrying the remark.
-- column open_dollars: Their dollars at stake.
-- unique_key: remark_code
WITH sums AS (
    SELECT
        r.remark_code,
        sum(CASE WHEN w.month_offset IS NOT NULL THEN r.remark_count ELSE 0 END) AS remark_count,
        sum(CASE WHEN w.month_offset IS NOT NULL THEN r.non_pr_dollars ELSE 0 END) AS non_pr_dollars,
        sum(r.remark_count) AS all_time_count,
        sum(r.non_pr_dollars) AS all_time_dollars,
        sum(CASE WHEN w.month_offset <= 2 THEN r.remark_count ELSE 0 END) AS recent_count,
        sum(CASE WHEN w.month_offset BETWEEN 3 AND 5 THEN r.remark_count ELSE 0 END) AS before_count
    FROM marts.handbook_remark_month AS r
    LEFT JOIN marts.handbook_window AS w ON w.payment_month = r.payment_month
    GROUP BY r.remark_code
),
-- a worklist item lists its remarks separated by commas (or spaces): match the whole code only
open_items AS (
    SELECT s.remark_code, count(*) AS items, sum(o.dollars_at_stake) AS dollars
    FROM sums AS s
    INNER JOIN marts.report_worklist_items AS o
        ON ',' || replace(o.remark_codes, ' ', ',') || ',' LIKE '%,' || s.remark_code || ',%'
    GROUP BY s.remark_code
)
SELECT
    s.remark_code,
    CAST(s.remark_count AS BIGINT) AS remark_count,
    CAST(s.non_pr_dollars AS DECIMAL(38, 2)) AS non_pr_dollars,
    CAST(s.all_time_count AS BIGINT) AS all_time_count,
    CAST(s.all_time_dollars AS DECIMAL(38, 2)) AS all_time_dollars,
    CAST(s.recent_count AS BIGINT) AS recent_count,
    CAST(s.before_count AS BIGINT) AS before_count,
    ref.code_trend(s.recent_count, s.before_count) AS trend,
    CAST(coalesce(o.items, 0) AS BIGINT) AS open_items,
    CAST(coalesce(o.dollars, 0) AS DECIMAL(38, 2)) AS open_dollars
FROM sums AS s
LEFT JOIN open_items AS o ON o.remark_code = s.remark_code
