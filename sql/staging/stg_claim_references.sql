-- name: staging.stg_claim_references
-- materialized: view
-- grain: one row per REF of a claim or service line of a non-resent payment (REF*F8 and REF*6R are
--   columns of staging.stg_claims and staging.stg_service_lines instead)
-- depends_on: lake.claim_references, staging.stg_payments
-- description: Claim and line references: group or policy number (1L), class of contract (CE), medical
--   record number (EA), prior authorization (G1), authorization (BB), repriced claim (9A, 9C), policy
--   form (0K, line) and the rest. Values of qualifiers that can identify a person are only a keyed hash.
-- column claim_id: Claim the reference belongs to.
-- column line_id: Service line for line-level references; NULL at claim level.
-- column transaction_id: Payment the reference was remitted in.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity (see staging.stg_payments).
-- column level: 'claim' or 'line'.
-- column reference_ordinal: position among its claim's or line's REFs in this table, from 1.
-- column qualifier: REF01 reference qualifier, trimmed and upper-cased.
-- column value: REF02 as sent; NULL for qualifiers that can identify a person (docs/privacy.md).
-- column value_key: Keyed hash (HMAC-SHA256) of REF02 for those qualifiers; NULL otherwise or without a secret.
-- tests: not_null(claim_id), not_null(qualifier), accepted_values(level: claim line)
SELECT
    CAST(r.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(r.claim_number AS BIGINT) * 4294967296 AS claim_id,
    CAST(r.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(r.claim_number AS BIGINT) * 4294967296 + CAST(r.line_number AS BIGINT) * 65536 AS line_id,
    p.transaction_id,
    p.payment_month,
    p.payer_key,
    r.level,
    r.reference_ordinal,
    upper(trim(r.qualifier)) AS qualifier,
    nullif(trim(r.value), '') AS value,
    r.value_key
FROM lake.claim_references AS r
INNER JOIN staging.stg_payments AS p ON p.file_key = r.file_key AND p.transaction_ordinal = r.transaction_ordinal
