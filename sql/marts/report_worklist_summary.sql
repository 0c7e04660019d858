-- name: marts.report_worklist_summary
-- materialized: view
-- grain: one row per period_end x payer_scope ('*' = all payers, else one payer_key)
-- depends_on: marts.report_periods, marts.appeal_worklist
-- description: The report's worklist figures: items of marts.appeal_worklist remitted in the 12 months
--   ending period_end, their distinct claims and their dollars at stake (the sum of the worklist's items,
--   never all denied dollars).
-- column period_end: Last month of the period.
-- column payer_scope: '*' for all payers, else the payer_key.
-- column worklist: 'appeal'.
-- column items: Worklist items.
-- column claims: Distinct claims among them.
-- column dollars_at_stake: Sum of the items' dollars_at_stake.
WITH base AS (
    SELECT p.period_end, w.payer_key, w.claim_id, w.dollars_at_stake
    FROM marts.report_periods AS p
    INNER JOIN marts.appeal_worklist AS w ON w.payment_month = p.payment_month
),
scoped AS (
    SELECT period_end, '*' AS payer_scope, claim_id, dollars_at_stake FROM base
    UNION ALL
    SELECT period_end, payer_key, claim_id, dollars_at_stake FROM base
)
SELECT
    period_end,
    payer_scope,
    'appeal' AS worklist,
    CAST(count(*) AS BIGINT) AS items,
    CAST(count(DISTINCT claim_id) AS BIGINT) AS claims,
    CAST(sum(dollars_at_stake) AS DECIMAL(18, 2)) AS dollars_at_stake
FROM scoped
GROUP BY period_end, payer_scope
