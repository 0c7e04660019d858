-- name: marts.report_denial_category_period
-- materialized: view
-- grain: one row per period_end x payer_scope x carc_category with initial denials in the period
-- depends_on: marts.report_denial_carc_period
-- description: The report's root-cause roll-up: initial denials of the 12 months ending period_end by the
--   CARC category of their top reason (ref.carc.category), with what became of them so far and the last
--   month against the month before. Sums of marts.report_denial_carc_period over its codes.
-- column period_end: Last month of the period.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column carc_category: ref.carc.category of the top reason ('other' when the CARC has none).
-- column codes: Distinct group and CARC pairs of the category.
-- column denials: Denial events.
-- column dollars: Initial denied dollars over the period.
-- column share: dollars / all initial denied dollars of the period and scope (6 places).
-- column recovered_amount: Of dollars, recovered so far.
-- column writeoff_amount: Of dollars, finally written off so far.
-- column open_amount: Of dollars, still open.
-- column last_month_dollars: Dollars first denied in period_end.
-- column previous_month_dollars: Dollars first denied in the month before period_end.
-- column rank_by_dollars: 1 = most dollars (ties: category name).
-- unique_key: period_end, payer_scope, carc_category
WITH sums AS (
    SELECT
        period_end,
        payer_scope,
        coalesce(carc_category, 'other') AS carc_category,
        count(*) AS codes,
        sum(denials) AS denials,
        sum(dollars) AS dollars,
        max(period_dollars) AS period_dollars,
        sum(recovered_amount) AS recovered_amount,
        sum(writeoff_amount) AS writeoff_amount,
        sum(open_amount) AS open_amount,
        sum(last_month_dollars) AS last_month_dollars,
        sum(previous_month_dollars) AS previous_month_dollars
    FROM marts.report_denial_carc_period
    GROUP BY period_end, payer_scope, coalesce(carc_category, 'other')
)
SELECT
    period_end,
    payer_scope,
    carc_category,
    CAST(codes AS BIGINT) AS codes,
    CAST(denials AS BIGINT) AS denials,
    CAST(dollars AS DECIMAL(38, 2)) AS dollars,
    CAST(round(dollars / nullif(period_dollars, 0), 6) AS DECIMAL(12, 6)) AS share,
    CAST(recovered_amount AS DECIMAL(38, 2)) AS recovered_amount,
    CAST(writeoff_amount AS DECIMAL(38, 2)) AS writeoff_amount,
    CAST(open_amount AS DECIMAL(38, 2)) AS open_amount,
    CAST(last_month_dollars AS DECIMAL(38, 2)) AS last_month_dollars,
    CAST(previous_month_dollars AS DECIMAL(38, 2)) AS previous_month_dollars,
    CAST(row_number() OVER (
        PARTITION BY period_end, payer_scope ORDER BY dollars DESC, carc_category
    ) AS BIGINT) AS rank_by_dollars
FROM sums
