-- name: marts.report_denial_carc_month
-- materialized: view
-- grain: one row per payment_month x payer_scope x group_code x reason_code (the month first denied;
--   payer_scope '*' = all payers, else one payer_key)
-- depends_on: marts.report_denial_month
-- description: Initial denials of the report (marts.denial_events of kind denial: a denial CARC under CO,
--   OA or PI, counted once on the remit where it first appears) per month first denied and top reason,
--   for the report's denial trend chart and the month's largest denial.
--   top_in_month = 1 marks the (group, CARC, payer) with the most dollars in the month and scope (ties:
--   group, CARC, payer key).
-- column payment_month: Month first denied 'YYYY-MM' (marts.denial_events.first_denied_month).
-- column payer_scope: '*' for all payers, else the payer_key.
-- column group_code: Group code of the denials' top reason.
-- column reason_code: CARC of the denials' top reason.
-- column claims: Distinct denying remits (added over payers).
-- column dollars: Sum of denied_amount.
-- column top_payer_key: The payer with the most dollars of this code in the month and scope.
-- column top_payer_name: Its name.
-- column top_payer_dollars: Its dollars of this code in the month.
-- column top_in_month: 1 for the row whose top payer carries the most denial dollars of the month and scope.
-- unique_key: payment_month, payer_scope, group_code, reason_code
WITH base AS (
    SELECT payment_month, payer_key, payer_name, group_code, reason_code, claims, dollars
    FROM marts.report_denial_month
),
scoped AS (
    SELECT payment_month, payer_key AS payer_scope, payer_key, payer_name, group_code, reason_code, claims,
        dollars
    FROM base
    UNION ALL
    SELECT payment_month, '*', payer_key, payer_name, group_code, reason_code, claims, dollars
    FROM base
),
ranked AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY payment_month, payer_scope, group_code, reason_code
            ORDER BY dollars DESC, payer_key
        ) AS payer_rank
    FROM scoped
),
codes AS (
    SELECT
        payment_month,
        payer_scope,
        group_code,
        reason_code,
        sum(claims) AS claims,
        sum(dollars) AS dollars,
        max(CASE WHEN payer_rank = 1 THEN payer_key END) AS top_payer_key,
        max(CASE WHEN payer_rank = 1 THEN payer_name END) AS top_payer_name,
        max(CASE WHEN payer_rank = 1 THEN dollars END) AS top_payer_dollars
    FROM ranked
    GROUP BY payment_month, payer_scope, group_code, reason_code
)
SELECT
    payment_month,
    payer_scope,
    group_code,
    reason_code,
    CAST(claims AS BIGINT) AS claims,
    CAST(dollars AS DECIMAL(38, 2)) AS dollars,
    top_payer_key,
    top_payer_name,
    CAST(top_payer_dollars AS DECIMAL(38, 2)) AS top_payer_dollars,
    CAST(row_number() OVER (
        PARTITION BY payment_month, payer_scope
        ORDER BY CASE WHEN top_payer_dollars > 0 THEN 0 ELSE 1 END, top_payer_dollars DESC, group_code,
            reason_code, top_payer_key
    ) AS BIGINT) AS top_in_month
FROM codes
