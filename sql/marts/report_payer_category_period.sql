-- name: marts.report_payer_category_period
-- materialized: view
-- grain: one row per period_end x payer_scope x payer_label x category_label with initial denials
-- depends_on: marts.report_periods, marts.report_denial_month
-- description: The report's payer x reason matrix: initial denied dollars of the 12 months ending
--   period_end by payer and by the CARC category of the top reason, kept to a table that reads at a glance:
--   the six payers and the four categories with the most dollars in the scope, the rest added into
--   'Other payers' and 'Other reasons'. Ranks order the rows and columns (the 'Other' label last).
-- column period_end: Last month of the period.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column payer_label: Payer name of one of the top six payers, else 'Other payers'.
-- column payer_rank: 1..6 for the top payers by dollars, 7 for 'Other payers'.
-- column category_label: CARC category of one of the top four categories, else 'other reasons'.
-- column category_rank: 1..4 for the top categories by dollars, 5 for 'other reasons'.
-- column denials: Denial events.
-- column dollars: Initial denied dollars.
-- column payer_dollars: All initial denied dollars of the row's payer_label (the row total).
-- unique_key: period_end, payer_scope, payer_label, category_label
WITH base AS (
    SELECT p.period_end, m.payer_key, min(m.payer_name) AS payer_name,
        coalesce(m.carc_category, 'other') AS carc_category, CAST(sum(m.denials) AS BIGINT) AS denials,
        sum(m.dollars) AS dollars
    FROM marts.report_periods AS p
    INNER JOIN marts.report_denial_month AS m ON m.payment_month = p.payment_month
    GROUP BY p.period_end, m.payer_key, coalesce(m.carc_category, 'other')
),
scoped AS (
    SELECT period_end, '*' AS payer_scope, payer_key, payer_name, carc_category, denials, dollars FROM base
    UNION ALL
    SELECT period_end, payer_key, payer_key, payer_name, carc_category, denials, dollars FROM base
),
payer_rank AS (
    SELECT period_end, payer_scope, payer_key,
        row_number() OVER (PARTITION BY period_end, payer_scope ORDER BY sum(dollars) DESC, payer_key) AS r
    FROM scoped GROUP BY period_end, payer_scope, payer_key
),
category_rank AS (
    SELECT period_end, payer_scope, carc_category,
        row_number() OVER (PARTITION BY period_end, payer_scope ORDER BY sum(dollars) DESC, carc_category) AS r
    FROM scoped GROUP BY period_end, payer_scope, carc_category
),
labelled AS (
    SELECT
        s.period_end,
        s.payer_scope,
        CASE WHEN pr.r <= 6 THEN s.payer_name ELSE 'Other payers' END AS payer_label,
        least(pr.r, 7) AS payer_rank,
        CASE WHEN cr.r <= 4 THEN s.carc_category ELSE 'other reasons' END AS category_label,
        least(cr.r, 5) AS category_rank,
        s.denials,
        s.dollars
    FROM scoped AS s
    INNER JOIN payer_rank AS pr
        ON pr.period_end = s.period_end AND pr.payer_scope = s.payer_scope AND pr.payer_key = s.payer_key
    INNER JOIN category_rank AS cr
        ON cr.period_end = s.period_end AND cr.payer_scope = s.payer_scope AND cr.carc_category = s.carc_category
),
cells AS (
    SELECT period_end, payer_scope, payer_label, min(payer_rank) AS payer_rank, category_label,
        min(category_rank) AS category_rank, sum(denials) AS denials, sum(dollars) AS dollars
    FROM labelled
    GROUP BY period_end, payer_scope, payer_label, category_label
)
SELECT
    period_end,
    payer_scope,
    payer_label,
    CAST(payer_rank AS BIGINT) AS payer_rank,
    category_label,
    CAST(category_rank AS BIGINT) AS category_rank,
    CAST(denials AS BIGINT) AS denials,
    CAST(dollars AS DECIMAL(38, 2)) AS dollars,
    CAST(sum(dollars) OVER (PARTITION BY period_end, payer_scope, payer_label) AS DECIMAL(38, 2)) AS payer_dollars
FROM cells
