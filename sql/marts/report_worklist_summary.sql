-- name: marts.report_worklist_summary
-- materialized: table
-- grain: one row per worklist x payer_scope (worklist appeal, rework or redirect; payer_scope '*' = all
--   payers, else one payer_key)
-- depends_on: marts.report_worklist_items, marts.dim_payer
-- description: The report's worklist figures: open items of each worklist as of the warehouse's as-of date
--   (the latest payment date), their distinct remits, their dollars at stake (the sum of the worklist's own
--   open items, never all denied dollars), the oldest item's age, the nearest deadline and the items past
--   their deadline. An empty worklist has 0 items and NULL ages and deadlines.
-- column worklist: appeal, rework or redirect.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column items: Open items.
-- column claims: Distinct denying remits among them.
-- column dollars_at_stake: Sum of the items' dollars_at_stake.
-- column oldest_age_days: The oldest item's age in days.
-- column nearest_deadline_date: The earliest deadline among the items.
-- column nearest_days_left: Days left to that deadline (negative: past it).
-- column past_deadline_items: Items whose deadline has passed (days_left < 0).
-- column due_in_14_days_items: Items whose deadline is today or within the next 14 days (0 <= days_left <= 14).
-- column due_in_14_days_dollars: Their dollars at stake.
-- unique_key: worklist, payer_scope
WITH lists AS (
    SELECT 'appeal' AS worklist
    UNION ALL SELECT 'rework'
    UNION ALL SELECT 'redirect'
),
scopes AS (
    SELECT '*' AS payer_scope
    UNION ALL
    SELECT payer_key FROM marts.dim_payer
),
scoped AS (
    SELECT worklist, '*' AS payer_scope, claim_id, dollars_at_stake, age_days, deadline_date, days_left
    FROM marts.report_worklist_items
    UNION ALL
    SELECT worklist, payer_key, claim_id, dollars_at_stake, age_days, deadline_date, days_left
    FROM marts.report_worklist_items
),
sums AS (
    SELECT
        worklist,
        payer_scope,
        count(*) AS items,
        count(DISTINCT claim_id) AS claims,
        sum(dollars_at_stake) AS dollars_at_stake,
        max(age_days) AS oldest_age_days,
        min(deadline_date) AS nearest_deadline_date,
        min(days_left) AS nearest_days_left,
        count(CASE WHEN days_left < 0 THEN 1 END) AS past_deadline_items,
        count(CASE WHEN days_left BETWEEN 0 AND 14 THEN 1 END) AS due_in_14_days_items,
        sum(CASE WHEN days_left BETWEEN 0 AND 14 THEN dollars_at_stake ELSE 0 END) AS due_in_14_days_dollars
    FROM scoped
    GROUP BY worklist, payer_scope
)
SELECT
    l.worklist,
    s.payer_scope,
    CAST(coalesce(x.items, 0) AS BIGINT) AS items,
    CAST(coalesce(x.claims, 0) AS BIGINT) AS claims,
    CAST(coalesce(x.dollars_at_stake, 0) AS DECIMAL(38, 2)) AS dollars_at_stake,
    CAST(x.oldest_age_days AS INTEGER) AS oldest_age_days,
    x.nearest_deadline_date,
    CAST(x.nearest_days_left AS INTEGER) AS nearest_days_left,
    CAST(coalesce(x.past_deadline_items, 0) AS BIGINT) AS past_deadline_items,
    CAST(coalesce(x.due_in_14_days_items, 0) AS BIGINT) AS due_in_14_days_items,
    CAST(coalesce(x.due_in_14_days_dollars, 0) AS DECIMAL(38, 2)) AS due_in_14_days_dollars
FROM lists AS l
CROSS JOIN scopes AS s
LEFT JOIN sums AS x ON x.worklist = l.worklist AND x.payer_scope = s.payer_scope
