-- name: marts.handbook_rarc_breakdown
-- materialized: view
-- grain: one row per remark_code x breakdown x item over the handbook window (breakdown 'month', 'payer',
--   'procedure' or 'carc')
-- depends_on: marts.handbook_window, marts.handbook_remark_month, marts.handbook_carc_remark_month, ref.carc
-- description: The tables of a remark code's handbook entry. month: times sent and CO/OA/PI dollars per
--   payment month of the window. payer and procedure: share of the times sent, ranked by times sent then
--   dollars. carc: the (group, CARC) pairs it came with, share of all adjustments paired with the remark,
--   ranked by adjustments then dollars.
-- column remark_code: RARC.
-- column breakdown: month, payer, procedure or carc.
-- column item_key: The month, payer_key, procedure code (NULL: claim level) or 'GROUP-CARC'.
-- column item_label: Payer name, procedure qualifier or CARC summary; NULL for month.
-- column item_count: Times sent (month, payer, procedure) or paired adjustments (carc).
-- column dollars: CO/OA/PI dollars (month, payer, procedure) or the paired adjustments' dollars (carc).
-- column share: Ratio 0..1 (6 places); NULL for month.
-- column item_rank: 1 = first in the entry's list (month: oldest first).
WITH rem AS (
    SELECT r.*
    FROM marts.handbook_remark_month AS r
    INNER JOIN marts.handbook_window AS w ON w.payment_month = r.payment_month
),
items AS (
    SELECT remark_code, 'month' AS breakdown, payment_month AS item_key, CAST(NULL AS VARCHAR) AS item_label,
        sum(remark_count) AS n, sum(non_pr_dollars) AS d
    FROM rem GROUP BY remark_code, payment_month
    UNION ALL
    SELECT remark_code, 'payer', payer_key, min(payer_name), sum(remark_count), sum(non_pr_dollars)
    FROM rem GROUP BY remark_code, payer_key
    UNION ALL
    SELECT remark_code, 'procedure', procedure_code, procedure_qualifier, sum(remark_count), sum(non_pr_dollars)
    FROM rem GROUP BY remark_code, procedure_qualifier, procedure_code
    UNION ALL
    SELECT r.remark_code, 'carc', r.group_code || '-' || r.reason_code, min(k.summary), sum(r.adjustment_count),
        sum(r.dollars)
    FROM marts.handbook_carc_remark_month AS r
    INNER JOIN marts.handbook_window AS w ON w.payment_month = r.payment_month
    LEFT JOIN ref.carc AS k ON k.code = r.reason_code
    WHERE r.remark_code IS NOT NULL
    GROUP BY r.remark_code, r.group_code, r.reason_code
)
SELECT
    remark_code,
    breakdown,
    item_key,
    item_label,
    CAST(n AS BIGINT) AS item_count,
    CAST(d AS DECIMAL(38, 2)) AS dollars,
    CAST(CASE WHEN breakdown = 'month' THEN NULL
        ELSE round(n / nullif(sum(n) OVER (PARTITION BY remark_code, breakdown), 0), 6)
    END AS DECIMAL(10, 6)) AS share,
    CAST(row_number() OVER (
        PARTITION BY remark_code, breakdown
        ORDER BY CASE WHEN breakdown = 'month' THEN item_key END, n DESC, d DESC,
            CASE WHEN item_key IS NULL THEN 1 ELSE 0 END, item_key
    ) AS BIGINT) AS item_rank
FROM items
