-- name: marts.plb_by_claim
-- materialized: table
-- incremental: full
-- grain: one row per claim that at least one PLB reference id is linked to
-- depends_on: marts.plb_claim_links
-- description: The recoupments (FB, WO, 72, J1), interest (L6) and other provider-level adjustments
--   linked to each claim (matching rules: intermediate.int_plb_claim_links), over every payment that
--   carried them. Amounts keep the PLB sign: positive was taken from a payment, negative was added to
--   one (interest paid is negative). Unlinked PLBs are in marts.plb_by_reason_month.
-- column claim_id: The linked claim.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column patient_control_number: CLP01.
-- column payer_claim_control_number: CLP07.
-- column claim_payment_month: Payment month of the claim.
-- column claim_paid_amount: CLP04 of the claim.
-- column claim_netting_role: netting_role of the claim (intermediate.int_claim_netting).
-- column plb_count: PLB pairs linked to the claim.
-- column recoupment_amount: Sum of the linked FB, WO, 72 and J1 amounts.
-- column interest_amount: Sum of the linked L6 amounts.
-- column other_amount: Sum of the linked amounts of every other reason.
-- column plb_amount: Sum of all linked amounts (recoupment + interest + other).
-- column first_plb_month: Earliest payment month of a linked PLB.
-- column last_plb_month: Latest payment month of a linked PLB.
-- unique_key: claim_id
-- tests: not_null(plb_count)
SELECT
    claim_id,
    payer_key,
    payer_name,
    patient_control_number,
    payer_claim_control_number,
    claim_payment_month,
    claim_paid_amount,
    claim_netting_role,
    count(*) AS plb_count,
    CAST(coalesce(sum(CASE WHEN reason_kind = 'recoupment' THEN amount END), 0) AS DECIMAL(38, 2))
        AS recoupment_amount,
    CAST(coalesce(sum(CASE WHEN reason_kind = 'interest' THEN amount END), 0) AS DECIMAL(38, 2))
        AS interest_amount,
    CAST(coalesce(sum(CASE WHEN reason_kind = 'other' THEN amount END), 0) AS DECIMAL(38, 2)) AS other_amount,
    CAST(sum(amount) AS DECIMAL(38, 2)) AS plb_amount,
    min(payment_month) AS first_plb_month,
    max(payment_month) AS last_plb_month
FROM marts.plb_claim_links
WHERE is_linked
GROUP BY
    claim_id,
    payer_key,
    payer_name,
    patient_control_number,
    payer_claim_control_number,
    claim_payment_month,
    claim_paid_amount,
    claim_netting_role
