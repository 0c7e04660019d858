-- name: marts.plb_claim_links
-- materialized: table
-- incremental: full
-- grain: one row per PLB (reason, amount) pair of a non-resent payment
-- depends_on: intermediate.int_plb_claim_links, intermediate.int_claims, intermediate.int_claim_netting,
--   marts.dim_payer
-- description: Every provider-level adjustment (PLB) with the claim its reference id names, when it
--   names one (matching rules: intermediate.int_plb_claim_links). Linked and unlinked rows are both
--   here, so the PLB dollars of a month equal marts.kpi_month.plb_total. Group by claim_id for the
--   recoupments and interest of one claim.
-- column plb_id: <transaction_id>-PLB<plb_ordinal>-<position>: one PLB pair.
-- column transaction_id: Payment the PLB belongs to.
-- column payment_month: Payment month 'YYYY-MM' of the PLB's payment.
-- column payment_date: BPR16 date of the PLB's payment.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column provider_id: PLB01 provider id.
-- column reason_code: PLB adjustment reason (WO, L6, FB, ...).
-- column reason_kind: recoupment (FB, WO, 72, J1), interest (L6) or other.
-- column reference_id: PLB reference id as sent.
-- column amount: PLB amount (positive reduces the payment, negative increases it).
-- column is_linked: True when the reference id names a claim of the payer.
-- column matched_on: payer_claim_control_number (CLP07) or patient_control_number (CLP01).
-- column link_scope: same_payment, same_file or lake (the claim was paid in another file).
-- column candidate_count: Claims the reference id matched by the rule used (0 when unlinked).
-- column claim_id: The linked claim.
-- column claim_transaction_id: Payment the linked claim was remitted in.
-- column claim_payment_month: Payment month of the linked claim.
-- column patient_control_number: CLP01 of the linked claim.
-- column payer_claim_control_number: CLP07 of the linked claim.
-- column claim_status_code: CLP02 of the linked claim.
-- column claim_paid_amount: CLP04 of the linked claim.
-- column claim_netting_role: netting_role of the linked claim (intermediate.int_claim_netting).
-- unique_key: plb_id
-- tests: not_null(payment_month), not_null(amount), not_null(is_linked)
SELECT
    l.plb_id,
    l.transaction_id,
    l.payment_month,
    l.payment_date,
    l.payer_key,
    d.payer_name,
    l.provider_id,
    l.reason_code,
    l.reason_kind,
    l.reference_id,
    l.amount,
    l.is_linked,
    l.matched_on,
    l.link_scope,
    l.candidate_count,
    l.claim_id,
    c.transaction_id AS claim_transaction_id,
    c.payment_month AS claim_payment_month,
    c.patient_control_number,
    c.payer_claim_control_number,
    c.claim_status_code,
    c.paid_amount AS claim_paid_amount,
    n.netting_role AS claim_netting_role
FROM intermediate.int_plb_claim_links AS l
INNER JOIN marts.dim_payer AS d ON d.payer_key = l.payer_key
-- the linked claim from the claims in memory (a night: the kept state), not a scan of the lake's claims
LEFT JOIN intermediate.int_claims AS c ON c.claim_id = l.claim_id
LEFT JOIN intermediate.int_claim_netting AS n ON n.claim_id = l.claim_id
