-- name: marts.report_denial_carc_period
-- materialized: view
-- grain: one row per period_end x payer_scope x group_code x reason_code with denial adjustments in the
--   period (payer_scope '*' = all payers, else one payer_key)
-- depends_on: marts.report_periods, marts.denials_by_carc_month
-- description: The report's "why claims are denied" tables: denial adjustments (CO, OA, PI with a denial
--   CARC) per code over the 12 months ending period_end, with their share of the period's denial dollars,
--   their ranks by claims and by dollars, and the code's dollars in the last month and the month before.
-- column period_end: Last month of the period.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column group_code: CAS01 group code.
-- column reason_code: CARC.
-- column carc_summary: What the CARC means.
-- column carc_category: Analytic category of the CARC.
-- column action: Recommended next step (ref.carc_group_guidance.action).
-- column appealable: The guidance says an appeal is a reasonable route.
-- column claims: Claims with such an adjustment (distinct per payer and month, added).
-- column adjustments: Number of adjustments.
-- column dollars: Sum of the adjustment amounts over the period.
-- column period_dollars: All denial-adjustment dollars of the period and scope.
-- column share: dollars / period_dollars (6 places).
-- column rank_by_claims: 1 = most claims (ties: dollars, group, CARC).
-- column rank_by_dollars: 1 = most dollars (ties: claims, group, CARC).
-- column last_month_dollars: The code's dollars in period_end.
-- column previous_month_dollars: The code's dollars in the month before period_end.
-- column last_month_move: abs(last_month_dollars - previous_month_dollars).
WITH base AS (
    SELECT
        p.period_end,
        d.payer_key,
        d.group_code,
        d.reason_code,
        min(d.carc_summary) AS carc_summary,
        min(d.carc_category) AS carc_category,
        min(d.action) AS action,
        bool_or(d.appealable) AS appealable,
        sum(d.claims_affected) AS claims,
        sum(d.adjustment_count) AS adjustments,
        sum(d.dollars) AS dollars,
        sum(CASE WHEN p.month_offset = 0 THEN d.dollars ELSE 0 END) AS last_month_dollars,
        sum(CASE WHEN p.month_offset = 1 THEN d.dollars ELSE 0 END) AS previous_month_dollars
    FROM marts.report_periods AS p
    INNER JOIN marts.denials_by_carc_month AS d ON d.payment_month = p.payment_month
    WHERE d.is_denial AND d.group_code <> 'PR'
    GROUP BY p.period_end, d.payer_key, d.group_code, d.reason_code
),
scoped AS (
    SELECT period_end, payer_key AS payer_scope, group_code, reason_code, carc_summary, carc_category,
        action, appealable, claims, adjustments, dollars, last_month_dollars, previous_month_dollars
    FROM base
    UNION ALL
    SELECT period_end, '*', group_code, reason_code, min(carc_summary), min(carc_category), min(action),
        bool_or(appealable), sum(claims), sum(adjustments), sum(dollars), sum(last_month_dollars),
        sum(previous_month_dollars)
    FROM base
    GROUP BY period_end, group_code, reason_code
),
totals AS (
    SELECT *, sum(dollars) OVER (PARTITION BY period_end, payer_scope) AS period_dollars
    FROM scoped
)
SELECT
    period_end,
    payer_scope,
    group_code,
    reason_code,
    carc_summary,
    carc_category,
    action,
    appealable,
    CAST(claims AS BIGINT) AS claims,
    CAST(adjustments AS BIGINT) AS adjustments,
    CAST(dollars AS DECIMAL(18, 2)) AS dollars,
    CAST(period_dollars AS DECIMAL(18, 2)) AS period_dollars,
    CAST(round(dollars / nullif(period_dollars, 0), 6) AS DECIMAL(12, 6)) AS share,
    CAST(row_number() OVER (
        PARTITION BY period_end, payer_scope ORDER BY claims DESC, dollars DESC, group_code, reason_code
    ) AS BIGINT) AS rank_by_claims,
    CAST(row_number() OVER (
        PARTITION BY period_end, payer_scope ORDER BY dollars DESC, claims DESC, group_code, reason_code
    ) AS BIGINT) AS rank_by_dollars,
    CAST(last_month_dollars AS DECIMAL(18, 2)) AS last_month_dollars,
    CAST(previous_month_dollars AS DECIMAL(18, 2)) AS previous_month_dollars,
    CAST(abs(last_month_dollars - previous_month_dollars) AS DECIMAL(18, 2)) AS last_month_move
FROM totals
