-- name: marts.handbook_remark_month
-- materialized: table
-- incremental: payment_month
-- additive: remark_count, claims_affected, adjusted_dollars, non_pr_dollars
-- grain: one row per payment_month x payer_key x remark_code x level x procedure_qualifier x procedure_code
--   (remarks of claims after netting; claim-level remarks have NULL qualifier and code)
-- depends_on: marts.remark_detail, marts.claim_outcomes, marts.line_outcomes, marts.adjustment_detail
-- description: How often each remark code (RARC) arrived, with which payers and procedures, and the
--   dollars of the adjustments it came with, for the denial-code handbook. A remark sent twice on the same
--   line or claim (e.g. in MOA and LQ) counts once. Paired adjustments follow the rule of
--   marts.handbook_carc_remark_month: a line remark goes with its line's adjustments, a claim remark with
--   every adjustment of its claim. Remarks of netted-out claims (reversed originals and their reversals)
--   are left out, like every other mart.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column remark_code: RARC (or NCPDP reject code sent in LQ*RX).
-- column level: 'claim' or 'line'.
-- column procedure_qualifier: SVC01-1 of the line for a line remark; NULL at claim level.
-- column procedure_code: SVC01-2 of the line for a line remark; NULL at claim level.
-- column remark_count: Number of times the remark arrived (distinct claim or line).
-- column claims_affected: Distinct claims carrying the remark.
-- column adjusted_dollars: Sum of the paired adjustments (all group codes).
-- column non_pr_dollars: Sum of the paired CO, OA and PI adjustments (what the provider may lose).
WITH items AS (
    SELECT DISTINCT r.claim_id, r.line_id, r.level, r.remark_code
    FROM marts.remark_detail AS r
),
money AS (
    SELECT
        i.claim_id,
        i.line_id,
        i.remark_code,
        sum(a.amount) AS adjusted_dollars,
        sum(CASE WHEN a.group_code <> 'PR' THEN a.amount ELSE 0 END) AS non_pr_dollars
    FROM items AS i
    INNER JOIN marts.adjustment_detail AS a
        ON a.claim_id = i.claim_id AND (i.line_id IS NULL OR a.line_id = i.line_id)
    GROUP BY i.claim_id, i.line_id, i.remark_code
)
SELECT
    c.payment_month,
    c.payer_key,
    c.payer_name,
    i.remark_code,
    i.level,
    l.procedure_qualifier,
    l.procedure_code,
    count(*) AS remark_count,
    count(DISTINCT i.claim_id) AS claims_affected,
    CAST(coalesce(sum(m.adjusted_dollars), 0) AS DECIMAL(38, 2)) AS adjusted_dollars,
    CAST(coalesce(sum(m.non_pr_dollars), 0) AS DECIMAL(38, 2)) AS non_pr_dollars
FROM items AS i
INNER JOIN marts.claim_outcomes AS c ON c.claim_id = i.claim_id
LEFT JOIN marts.line_outcomes AS l ON l.line_id = i.line_id
LEFT JOIN money AS m
    ON m.claim_id = i.claim_id AND m.remark_code = i.remark_code
    AND m.line_id IS NOT DISTINCT FROM i.line_id
GROUP BY c.payment_month, c.payer_key, c.payer_name, i.remark_code, i.level, l.procedure_qualifier,
    l.procedure_code
