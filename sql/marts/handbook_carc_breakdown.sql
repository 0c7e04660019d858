-- name: marts.handbook_carc_breakdown
-- materialized: view
-- grain: one row per group_scope x reason_code x breakdown x item over the handbook window (group_scope '*'
--   = all group codes; breakdown 'month', 'group', 'payer', 'procedure' or 'remark')
-- depends_on: marts.handbook_window, marts.denials_by_carc_month, marts.handbook_carc_procedure_month,
--   marts.handbook_carc_remark_month, ref.rarc
-- description: The tables of a CARC's handbook entry. month: adjustments and dollars per payment month of
--   the window (months without the code have no row). group: per group code, share of the scope's dollars.
--   payer: per payer, share of dollars, ranked by dollars then adjustments. procedure: per procedure code
--   of the adjusted line (NULL: claim level), share of dollars, ranked the same way. remark: per remark
--   paired with the adjustments (NULL: adjustments with no remark), share = paired adjustments / all the
--   scope's adjustments (an adjustment with two remarks counts for both), ranked by adjustments.
-- column group_scope: '*' for all group codes, else the group code.
-- column reason_code: CARC.
-- column breakdown: month, group, payer, procedure or remark.
-- column item_key: The month, group code, payer_key, procedure code or remark code.
-- column item_label: Payer name, procedure qualifier, remark summary or who pays (group); NULL for month.
-- column adjustment_count: Adjustments.
-- column dollars: Their dollars.
-- column claims: Claims with such an adjustment (group breakdown only; added over payers and months).
-- column share: Ratio 0..1 (6 places) as the description says; NULL for month.
-- column item_rank: 1 = first in the entry's list (month: oldest first).
WITH adj AS (
    SELECT d.*
    FROM marts.denials_by_carc_month AS d
    INNER JOIN marts.handbook_window AS w ON w.payment_month = d.payment_month
),
adj_scoped AS (
    SELECT group_code AS group_scope, * FROM adj
    UNION ALL
    SELECT '*', * FROM adj
),
scope_totals AS (
    SELECT group_scope, reason_code, sum(adjustment_count) AS n, sum(dollars) AS d
    FROM adj_scoped GROUP BY group_scope, reason_code
),
months AS (
    SELECT group_scope, reason_code, 'month' AS breakdown, payment_month AS item_key,
        CAST(NULL AS VARCHAR) AS item_label, sum(adjustment_count) AS n, sum(dollars) AS d,
        CAST(NULL AS BIGINT) AS claims
    FROM adj_scoped GROUP BY group_scope, reason_code, payment_month
),
groups AS (
    SELECT group_scope, reason_code, 'group' AS breakdown, group_code AS item_key, min(who_pays) AS item_label,
        sum(adjustment_count) AS n, sum(dollars) AS d, sum(claims_affected) AS claims
    FROM adj_scoped GROUP BY group_scope, reason_code, group_code
),
payers AS (
    SELECT group_scope, reason_code, 'payer' AS breakdown, payer_key AS item_key, min(payer_name) AS item_label,
        sum(adjustment_count) AS n, sum(dollars) AS d, CAST(NULL AS BIGINT) AS claims
    FROM adj_scoped GROUP BY group_scope, reason_code, payer_key
),
proc AS (
    SELECT p.group_code AS group_scope, p.* FROM marts.handbook_carc_procedure_month AS p
    INNER JOIN marts.handbook_window AS w ON w.payment_month = p.payment_month
    UNION ALL
    SELECT '*', p.* FROM marts.handbook_carc_procedure_month AS p
    INNER JOIN marts.handbook_window AS w ON w.payment_month = p.payment_month
),
procedures AS (
    SELECT group_scope, reason_code, 'procedure' AS breakdown, procedure_code AS item_key,
        procedure_qualifier AS item_label, sum(adjustment_count) AS n, sum(dollars) AS d,
        CAST(NULL AS BIGINT) AS claims
    FROM proc GROUP BY group_scope, reason_code, procedure_qualifier, procedure_code
),
rem AS (
    SELECT r.group_code AS group_scope, r.* FROM marts.handbook_carc_remark_month AS r
    INNER JOIN marts.handbook_window AS w ON w.payment_month = r.payment_month
    UNION ALL
    SELECT '*', r.* FROM marts.handbook_carc_remark_month AS r
    INNER JOIN marts.handbook_window AS w ON w.payment_month = r.payment_month
),
remarks AS (
    SELECT r.group_scope, r.reason_code, 'remark' AS breakdown, r.remark_code AS item_key,
        min(k.summary) AS item_label, sum(r.adjustment_count) AS n, sum(r.dollars) AS d,
        CAST(NULL AS BIGINT) AS claims
    FROM rem AS r
    LEFT JOIN ref.rarc AS k ON k.code = r.remark_code
    GROUP BY r.group_scope, r.reason_code, r.remark_code
),
items AS (
    SELECT * FROM months
    UNION ALL SELECT * FROM groups
    UNION ALL SELECT * FROM payers
    UNION ALL SELECT * FROM procedures
    UNION ALL SELECT * FROM remarks
)
SELECT
    i.group_scope,
    i.reason_code,
    i.breakdown,
    i.item_key,
    i.item_label,
    CAST(i.n AS BIGINT) AS adjustment_count,
    CAST(i.d AS DECIMAL(38, 2)) AS dollars,
    CAST(i.claims AS BIGINT) AS claims,
    CAST(CASE
        WHEN i.breakdown = 'month' THEN NULL
        WHEN i.breakdown = 'remark' THEN round(i.n / nullif(t.n, 0), 6)
        ELSE round(i.d / nullif(t.d, 0), 6)
    END AS DECIMAL(10, 6)) AS share,
    CAST(row_number() OVER (
        PARTITION BY i.group_scope, i.reason_code, i.breakdown
        ORDER BY
            CASE WHEN i.breakdown = 'month' THEN i.item_key END,
            CASE WHEN i.breakdown = 'remark' THEN i.n END DESC,
            CASE WHEN i.breakdown <> 'remark' THEN i.d END DESC,
            CASE WHEN i.breakdown <> 'remark' THEN i.n END DESC,
            CASE WHEN i.item_key IS NULL THEN 1 ELSE 0 END,
            i.item_key
    ) AS BIGINT) AS item_rank
FROM items AS i
INNER JOIN scope_totals AS t ON t.group_scope = i.group_scope AND t.reason_code = i.reason_code
