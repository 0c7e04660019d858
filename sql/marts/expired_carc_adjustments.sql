-- name: marts.expired_carc_adjustments
-- materialized: table
-- incremental: claim_id
-- grain: one row per adjustment (after netting) whose CARC was past its stop date on the service date
-- depends_on: marts.adjustment_detail, intermediate.int_claims, staging.stg_service_lines, ref.carc
-- description: Check table: adjustments that use a CARC after its stop date (ref.carc_is_expired), which
--   a payer should no longer send in an original adjudication. Reversals are exempt (the macro says so).
-- column adjustment_id: Key of the adjustment (an integer, docs/parser.md "Keys and ids").
-- column claim_id: Claim the adjustment belongs to.
-- column line_id: Service line; NULL at claim level.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity.
-- column group_code: CAS01 group code.
-- column reason_code: The expired CARC.
-- column amount: Adjustment amount.
-- column service_date: Service date the expiry was judged on: the line's, else the claim's statement start.
-- column stop_date: The CARC's stop date (ref.carc.stop_date).
-- unique_key: adjustment_id
WITH candidates AS (
    -- only CARCs that have a stop date can be expired: filter before looking up service dates
    SELECT a.*, k.stop_date
    FROM marts.adjustment_detail AS a
    INNER JOIN ref.carc AS k ON k.code = a.reason_code
    WHERE k.stop_date IS NOT NULL
),
dated AS (
    SELECT x.*, coalesce(l.service_date, c.statement_from_date) AS service_date
    FROM candidates AS x
    -- the claims already in memory, not a second scan of the lake's claims
    INNER JOIN intermediate.int_claims AS c ON c.claim_id = x.claim_id
    LEFT JOIN staging.stg_service_lines AS l ON l.line_id = x.line_id
)
SELECT
    adjustment_id,
    claim_id,
    line_id,
    payment_month,
    payer_key,
    group_code,
    reason_code,
    amount,
    service_date,
    stop_date
FROM dated
WHERE ref.carc_is_expired(reason_code, service_date, is_reversal)
