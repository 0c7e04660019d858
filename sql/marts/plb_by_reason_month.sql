-- name: marts.plb_by_reason_month
-- materialized: table
-- incremental: full
-- grain: one row per payment_month x payer_key x reason_code with a PLB
-- depends_on: intermediate.int_plb_claim_links, marts.dim_payer
-- description: Provider-level adjustments (PLB) per payment month, payer and reason, split into the
--   pairs whose reference id names a claim (linked) and the rest (unlinked: kept and counted, never
--   dropped). Recoupments (FB, WO, 72, J1) and interest (L6) are told apart by reason_kind. Amounts keep
--   the PLB sign: positive reduced the payment, negative increased it (L6 interest paid is negative).
--   Over a month and payer, amount sums to marts.kpi_month.plb_total.
-- column payment_month: Payment month 'YYYY-MM' of the PLB's payment.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type.
-- column reason_code: PLB adjustment reason.
-- column reason_kind: recoupment (FB, WO, 72, J1), interest (L6) or other.
-- column plb_count: Number of PLB pairs.
-- column amount: Sum of their amounts.
-- column linked_count: Pairs linked to a claim.
-- column linked_amount: Sum of the linked pairs' amounts.
-- column unlinked_count: Pairs whose reference id names no claim of the payer (or is empty).
-- column unlinked_amount: Sum of the unlinked pairs' amounts.
-- column linked_claims: Distinct claims the linked pairs name.
-- unique_key: payment_month, payer_key, reason_code
-- tests: not_null(reason_kind), accepted_values(reason_kind: recoupment interest other)
SELECT
    l.payment_month,
    l.payer_key,
    d.payer_name,
    d.plan_type,
    l.reason_code,
    l.reason_kind,
    count(*) AS plb_count,
    CAST(sum(l.amount) AS DECIMAL(38, 2)) AS amount,
    count(l.claim_id) AS linked_count,
    CAST(coalesce(sum(CASE WHEN l.is_linked THEN l.amount END), 0) AS DECIMAL(38, 2)) AS linked_amount,
    count(*) - count(l.claim_id) AS unlinked_count,
    CAST(coalesce(sum(CASE WHEN NOT l.is_linked THEN l.amount END), 0) AS DECIMAL(38, 2)) AS unlinked_amount,
    count(DISTINCT l.claim_id) AS linked_claims
FROM intermediate.int_plb_claim_links AS l
INNER JOIN marts.dim_payer AS d ON d.payer_key = l.payer_key
GROUP BY l.payment_month, l.payer_key, d.payer_name, d.plan_type, l.reason_code, l.reason_kind
