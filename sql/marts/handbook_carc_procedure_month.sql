-- name: marts.handbook_carc_procedure_month
-- materialized: table
-- incremental: payment_month
-- additive: adjustment_count, dollars, claims_affected, lines_affected
-- grain: one row per payment_month x group_code x reason_code x procedure_qualifier x procedure_code (all
--   adjustments after netting; claim-level adjustments have no procedure and get NULL qualifier and code)
-- depends_on: marts.adjustment_detail, marts.line_outcomes
-- description: Which procedure codes each CARC hits, per month and group code, for the denial-code handbook
--   (remit code, remit handbook). Line-level adjustments take the procedure of their service line
--   (SVC01); claim-level adjustments are one row with NULL procedure. Dollars summed over all rows equal
--   marts.denials_by_carc_month's dollars for the same month, group and CARC.
-- column payment_month: Payment month 'YYYY-MM'.
-- column group_code: CAS01 group code.
-- column reason_code: CARC.
-- column procedure_qualifier: SVC01-1 of the adjusted line (AD dental, HC HCPCS/CPT, ...); NULL at claim
--   level.
-- column procedure_code: SVC01-2 of the adjusted line; NULL for claim-level adjustments.
-- column adjustment_count: Number of CAS adjustments.
-- column dollars: Sum of adjustment amounts.
-- column claims_affected: Distinct claims with such an adjustment.
-- column lines_affected: Distinct service lines with such an adjustment.
WITH per_line AS (
    -- one row per line (or claim-level adjustment) and code first: lines are then counted without a
    -- DISTINCT, one dedupe of the 4.8M joined rows fewer (1M claims: 1.65 s -> 1.5 s)
    SELECT payment_month, group_code, reason_code, claim_id, line_id, count(*) AS n, sum(amount) AS amount
    FROM marts.adjustment_detail
    GROUP BY payment_month, group_code, reason_code, claim_id, line_id
)
SELECT
    a.payment_month,
    a.group_code,
    a.reason_code,
    l.procedure_qualifier,
    l.procedure_code,
    CAST(sum(a.n) AS BIGINT) AS adjustment_count,
    CAST(sum(a.amount) AS DECIMAL(38, 2)) AS dollars,
    count(DISTINCT a.claim_id) AS claims_affected,
    count(a.line_id) AS lines_affected
FROM per_line AS a
LEFT JOIN marts.line_outcomes AS l ON l.line_id = a.line_id
GROUP BY a.payment_month, a.group_code, a.reason_code, l.procedure_qualifier, l.procedure_code
