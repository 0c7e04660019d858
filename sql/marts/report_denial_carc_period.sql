-- name: marts.report_denial_carc_period
-- materialized: view
-- grain: one row per period_end x payer_scope x group_code x reason_code with initial denials in the
--   period (payer_scope '*' = all payers, else one payer_key)
-- depends_on: marts.report_periods, marts.report_denial_month
-- description: The report's "why claims are denied" tables: initial denials (marts.denial_events of kind
--   denial, by top reason) first denied in the 12 months ending period_end, with their share of the
--   period's initial denied dollars (= marts.kpi_month.initial_denied_amount over the period), their ranks
--   by denying remits and by dollars, the code's dollars in the last month and the month before, and what
--   became of them so far: recovered, finally written off, still open.
-- column period_end: Last month of the period.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column group_code: Group code of the top reason.
-- column reason_code: CARC of the top reason.
-- column carc_summary: What the CARC means.
-- column carc_category: Analytic category of the CARC.
-- column action: Recommended next step (ref.carc_group_guidance.action).
-- column claims: Distinct denying remits (added over payers).
-- column denials: Denial events.
-- column dollars: Sum of denied_amount over the period.
-- column period_dollars: All initial denied dollars of the period and scope.
-- column share: dollars / period_dollars (6 places).
-- column recovered_amount: Of dollars, recovered so far (overturned, corrected and paid, redirected).
-- column writeoff_amount: Of dollars, finally written off so far.
-- column open_amount: Of dollars, still open (denied_amount of open denials).
-- column rank_by_claims: 1 = most denying remits (ties: dollars, group, CARC).
-- column rank_by_dollars: 1 = most dollars (ties: remits, group, CARC).
-- column last_month_dollars: The code's dollars first denied in period_end.
-- column previous_month_dollars: The code's dollars first denied in the month before period_end.
-- column last_month_move: abs(last_month_dollars - previous_month_dollars).
-- unique_key: period_end, payer_scope, group_code, reason_code
-- per first-denied month first: each event then meets its 12 periods as one of a few thousand month rows,
-- not as itself. A denying remit (claim_id) has one payment month and payer, so its month's distinct
-- claims add up over the months of a period.
WITH months AS (
    SELECT
        payment_month,
        payer_key,
        group_code,
        reason_code,
        carc_summary,
        carc_category,
        action,
        claims,
        denials,
        dollars,
        recovered_amount,
        writeoff_amount,
        open_amount
    FROM marts.report_denial_month
),
base AS (
    SELECT
        p.period_end,
        m.payer_key,
        m.group_code,
        m.reason_code,
        min(m.carc_summary) AS carc_summary,
        min(m.carc_category) AS carc_category,
        min(m.action) AS action,
        sum(m.claims) AS claims,
        sum(m.denials) AS denials,
        sum(m.dollars) AS dollars,
        sum(m.recovered_amount) AS recovered_amount,
        sum(m.writeoff_amount) AS writeoff_amount,
        sum(m.open_amount) AS open_amount,
        sum(CASE WHEN p.month_offset = 0 THEN m.dollars ELSE 0 END) AS last_month_dollars,
        sum(CASE WHEN p.month_offset = 1 THEN m.dollars ELSE 0 END) AS previous_month_dollars
    FROM marts.report_periods AS p
    INNER JOIN months AS m ON m.payment_month = p.payment_month
    GROUP BY p.period_end, m.payer_key, m.group_code, m.reason_code
),
scoped AS (
    SELECT period_end, payer_key AS payer_scope, group_code, reason_code, carc_summary, carc_category,
        action, claims, denials, dollars, recovered_amount, writeoff_amount, open_amount, last_month_dollars,
        previous_month_dollars
    FROM base
    UNION ALL
    SELECT period_end, '*', group_code, reason_code, min(carc_summary), min(carc_category), min(action),
        sum(claims), sum(denials), sum(dollars), sum(recovered_amount), sum(writeoff_amount), sum(open_amount),
        sum(last_month_dollars), sum(previous_month_dollars)
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
    CAST(claims AS BIGINT) AS claims,
    CAST(denials AS BIGINT) AS denials,
    CAST(dollars AS DECIMAL(38, 2)) AS dollars,
    CAST(period_dollars AS DECIMAL(38, 2)) AS period_dollars,
    CAST(round(dollars / nullif(period_dollars, 0), 6) AS DECIMAL(12, 6)) AS share,
    CAST(recovered_amount AS DECIMAL(38, 2)) AS recovered_amount,
    CAST(writeoff_amount AS DECIMAL(38, 2)) AS writeoff_amount,
    CAST(open_amount AS DECIMAL(38, 2)) AS open_amount,
    CAST(row_number() OVER (
        PARTITION BY period_end, payer_scope ORDER BY claims DESC, dollars DESC, group_code, reason_code
    ) AS BIGINT) AS rank_by_claims,
    CAST(row_number() OVER (
        PARTITION BY period_end, payer_scope ORDER BY dollars DESC, claims DESC, group_code, reason_code
    ) AS BIGINT) AS rank_by_dollars,
    CAST(last_month_dollars AS DECIMAL(38, 2)) AS last_month_dollars,
    CAST(previous_month_dollars AS DECIMAL(38, 2)) AS previous_month_dollars,
    CAST(abs(last_month_dollars - previous_month_dollars) AS DECIMAL(38, 2)) AS last_month_move
FROM totals
