-- name: staging.stg_remarks
-- materialized: view
-- grain: one row per remark code (LQ, MIA, MOA) of a non-resent payment
-- depends_on: lake.remarks, staging.stg_payments
-- description: Remark codes (RARC) at claim and line level.
-- column claim_id: Claim the remark belongs to.
-- column line_id: Service line for line-level remarks; NULL at claim level.
-- column level: 'claim' or 'line'.
-- column source: Segment the remark came from: LQ, LQ_RX, MIA or MOA.
-- column remark_code: RARC (or NCPDP reject code when source is LQ_RX).
-- column transaction_id: Payment the remark was remitted in.
-- tests: not_null(claim_id), accepted_values(level: claim line)
SELECT
    r.claim_id,
    r.line_id,
    r.level,
    r.source,
    upper(trim(r.remark_code)) AS remark_code,
    r.transaction_id
FROM lake.remarks AS r
INNER JOIN staging.stg_payments AS p ON p.transaction_id = r.transaction_id
