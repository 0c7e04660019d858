-- name: marts.report_denial_month
-- materialized: table
-- grain: one row per payment_month x payer_key x group_code x reason_code (the month first denied; initial
--   denials only)
-- depends_on: marts.denial_events
-- description: The report's initial denials (marts.denial_events of kind denial: a denial CARC under CO, OA
--   or PI, counted once on the remit where it first appears) per month first denied, payer and top reason,
--   read once a build for the report's denial views (marts.report_denial_carc_month, _period,
--   marts.report_code_trend, marts.report_payer_category_period), which each scanned the denial events.
--   Resolution figures are as of the build (marts.lifecycle_settings.as_of_date).
-- column payment_month: Month first denied 'YYYY-MM' (marts.denial_events.first_denied_month).
-- column payer_key: Payer identity.
-- column payer_name: The payer's name (marts.dim_payer).
-- column group_code: Group code of the denials' top reason.
-- column reason_code: CARC of the denials' top reason.
-- column carc_summary: The CARC's short wording (ref.carc).
-- column carc_category: The CARC's category (ref.carc).
-- column action: The group and CARC's guidance action (ref.carc_group_guidance).
-- column claims: Distinct denying remits.
-- column denials: Denial events.
-- column dollars: Sum of denied_amount.
-- column recovered_amount: Sum of recovered_amount.
-- column writeoff_amount: Sum of writeoff_amount.
-- column open_amount: Sum of denied_amount of the denials still open.
-- unique_key: payment_month, payer_key, group_code, reason_code
SELECT
    first_denied_month AS payment_month,
    payer_key,
    min(payer_name) AS payer_name,
    group_code,
    reason_code,
    min(carc_summary) AS carc_summary,
    min(carc_category) AS carc_category,
    min(action) AS action,
    count(DISTINCT claim_id) AS claims,
    count(*) AS denials,
    sum(denied_amount) AS dollars,
    sum(recovered_amount) AS recovered_amount,
    sum(writeoff_amount) AS writeoff_amount,
    sum(CASE WHEN resolution = 'open' THEN denied_amount ELSE 0 END) AS open_amount
FROM marts.denial_events
WHERE kind = 'denial'
GROUP BY first_denied_month, payer_key, group_code, reason_code
