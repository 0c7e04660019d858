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
    CAST(r.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(r.claim_number AS BIGINT) * 4294967296 AS claim_id,
    CAST(r.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(r.claim_number AS BIGINT) * 4294967296 + CAST(r.line_number AS BIGINT) * 65536 AS line_id,
    r.level,
    r.source,
    upper(trim(r.remark_code)) AS remark_code,
    p.transaction_id
FROM lake.remarks AS r
INNER JOIN staging.stg_payments AS p ON p.file_key = r.file_key AND p.transaction_ordinal = r.transaction_ordinal
