-- name: staging.stg_adjustments
-- materialized: view
-- grain: one row per CAS (group, reason, amount) triple, claim or line level, of a non-resent payment
-- depends_on: lake.adjustments, lake.claims, staging.stg_payments
-- description: Claim adjustments (CAS) with group and reason codes trimmed and upper-cased.
-- column adjustment_id: Key of the adjustment: its line's or claim's key plus CAS ordinal and position
--   (docs/parser.md, "Keys and ids").
-- column claim_id: Claim the adjustment belongs to.
-- column line_id: Service line for line-level adjustments; NULL at claim level.
-- column transaction_id: Payment the adjustment was remitted in.
-- column payment_month: Payment month 'YYYY-MM' of the adjustment's payment.
-- column payer_key: Payer identity (see staging.stg_payments).
-- column level: 'claim' or 'line'.
-- column group_code: CAS01 group code (CO, PR, OA, PI; CR from 4010 files).
-- column reason_code: CARC.
-- column amount: Adjustment amount (positive reduces payment).
-- column quantity: CAS quantity (units adjusted).
-- column cas_ordinal: CAS segment ordinal within its claim or line.
-- column position: Triple 1..6 within its CAS segment.
-- unique_key: adjustment_id
-- tests: not_null(claim_id), accepted_values(level: claim line)
SELECT
    CAST(a.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(a.claim_number AS BIGINT) * 4294967296 + CAST(coalesce(a.line_number, 0) AS BIGINT) * 65536
        + CAST(a.cas_ordinal AS BIGINT) * 256 + CAST(a.position AS BIGINT) AS adjustment_id,
    CAST(a.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(a.claim_number AS BIGINT) * 4294967296 AS claim_id,
    CAST(a.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(a.claim_number AS BIGINT) * 4294967296 + CAST(a.line_number AS BIGINT) * 65536 AS line_id,
    p.transaction_id,
    p.payment_month,
    p.payer_key,
    CASE WHEN a.line_number IS NULL THEN 'claim' ELSE 'line' END AS level,
    upper(trim(a.group_code)) AS group_code,
    upper(trim(a.reason_code)) AS reason_code,
    CAST(a.amount AS DECIMAL(18, 2)) AS amount,
    CAST(a.quantity AS DECIMAL(18, 3)) AS quantity,
    CAST(a.cas_ordinal AS INTEGER) AS cas_ordinal,
    CAST(a.position AS INTEGER) AS position
FROM lake.adjustments AS a
-- an adjustment row carries its claim, not its transaction (the lean row, docs/parser.md)
INNER JOIN lake.claims AS c ON c.file_key = a.file_key AND c.claim_number = a.claim_number
INNER JOIN staging.stg_payments AS p ON p.file_key = c.file_key AND p.transaction_ordinal = c.transaction_ordinal
