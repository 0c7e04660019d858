-- name: marts.handbook_carc_remark_month
-- materialized: table
-- incremental: payment_month
-- additive: adjustment_count, dollars, claims_affected
-- grain: one row per payment_month x payer_key x group_code x reason_code x remark_code (remark_code NULL:
--   the adjustments that came with no remark)
-- depends_on: marts.adjustment_detail, marts.dim_payer, marts.remark_detail
-- description: Which remark codes (RARC) actually came with each CARC, for the denial-code handbook. An
--   adjustment is paired with a remark on the same service line (line-level LQ) and with every
--   claim-level remark (MIA, MOA, claim LQ) of its claim; a claim-level adjustment only with the
--   claim-level remarks. An adjustment with two remarks counts once under each, so the share of a remark
--   is adjustment_count / marts.denials_by_carc_month.adjustment_count for the same month, payer, group
--   and CARC, and shares do not add up to 1. Remarks sent twice on the same line or claim count once.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column group_code: CAS01 group code.
-- column reason_code: CARC.
-- column remark_code: RARC paired with the adjustments; NULL for adjustments with no remark at all.
-- column adjustment_count: Adjustments of this group and CARC paired with the remark.
-- column dollars: Sum of those adjustments' amounts.
-- column claims_affected: Distinct claims with such a paired adjustment.
WITH remarks AS (
    SELECT DISTINCT claim_id, line_id, remark_code
    FROM marts.remark_detail
),
paired AS (
    -- a line remark whose code the claim also carries at claim level is left out: an adjustment then
    -- meets each code once, and the join below needs no DISTINCT (nor a second pass to find the
    -- adjustments without a remark)
    SELECT r.claim_id, r.line_id, r.remark_code
    FROM remarks AS r
    WHERE r.line_id IS NULL
        OR NOT EXISTS (
            SELECT 1
            FROM remarks AS c
            WHERE c.claim_id = r.claim_id AND c.line_id IS NULL AND c.remark_code IS NOT DISTINCT FROM r.remark_code
        )
),
tagged AS (
    SELECT
        a.claim_id,
        a.payment_month,
        a.payer_key,
        a.group_code,
        a.reason_code,
        a.amount,
        p.remark_code
    FROM marts.adjustment_detail AS a
    LEFT JOIN paired AS p
        ON p.claim_id = a.claim_id AND (p.line_id IS NULL OR p.line_id = a.line_id)
)
SELECT
    t.payment_month,
    t.payer_key,
    d.payer_name,
    t.group_code,
    t.reason_code,
    t.remark_code,
    count(*) AS adjustment_count,
    CAST(sum(t.amount) AS DECIMAL(38, 2)) AS dollars,
    count(DISTINCT t.claim_id) AS claims_affected
FROM tagged AS t
INNER JOIN marts.dim_payer AS d ON d.payer_key = t.payer_key
GROUP BY t.payment_month, t.payer_key, d.payer_name, t.group_code, t.reason_code, t.remark_code
