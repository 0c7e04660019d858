-- name: staging.stg_claims
-- materialized: view
-- grain: one row per CLP claim of a payment in staging.stg_payments
-- depends_on: lake.claims, staging.stg_payments
-- description: Claims with their payment's month, payer and payee keys attached, and every claim-level
--   element the parser reads (crossover carrier, corrected priority payer, MIA/MOA amounts, AMT, QTY).
-- column claim_id: Key of the claim, an integer made from file_key and claim_number (docs/parser.md,
--   "Keys and ids").
-- column claim_ref: Readable id of the claim, <transaction_ref>-<CLP ordinal in the transaction>.
-- column file_key: 64-bit key of the file.
-- column claim_number: CLP position within its file, from 1.
-- column transaction_id: Payment the claim was remitted in.
-- column claim_ordinal: CLP position within its transaction, from 1.
-- column payment_month: Payment month 'YYYY-MM' of the claim's payment.
-- column payment_date: BPR16 date of the claim's payment.
-- column payer_key: Payer identity (see staging.stg_payments).
-- column payee_key: Payee NPI, else tax id.
-- column patient_control_number: CLP01, the provider's claim (patient account) number.
-- column claim_status_code: CLP02.
-- column charge_amount: CLP03 total charge.
-- column paid_amount: CLP04 claim payment.
-- column patient_responsibility_amount: CLP05.
-- column claim_filing_indicator: CLP06.
-- column payer_claim_control_number: CLP07, the payer's claim control number (ICN).
-- column original_reference_number: REF*F8, the payer's number of the claim this one corrects or reverses.
-- column statement_from_date: DTM*232 statement period start.
-- column patient_key: Keyed hash of the patient identifiers (no names or member ids).
-- column is_reversal: CLP02 = 22.
-- column facility_code: CLP08 facility type code (place of service for professional claims).
-- column claim_frequency_code: CLP09 claim frequency code (1 original, 7 replacement, 8 void).
-- column drg_code: CLP11 diagnosis related group.
-- column statement_to_date: DTM*233 statement period end.
-- column received_date: DTM*050 date the payer received the claim.
-- column rendering_provider_id: NM1*82 rendering provider id.
-- column coverage_amount: AMT*AU coverage amount.
-- column line_count: Number of SVC service lines.
-- column is_balanced: CLP03 − Σ claim CAS − Σ line CAS = CLP04.
-- column balance_difference: How far the claim is from balancing.
-- column segment_number: Position of the CLP segment within its ST (ST = 1), as error messages count.
-- column drg_weight: CLP12 DRG weight.
-- column discharge_fraction: CLP13 percent discharge fraction.
-- column crossover_carrier_name: NM1*TT 03 crossover carrier name.
-- column crossover_carrier_id_qualifier: NM1*TT 08 id qualifier.
-- column crossover_carrier_id: NM1*TT 09 crossover carrier id.
-- column corrected_priority_payer_name: NM1*PR 03 corrected priority payer.
-- column corrected_priority_payer_id_qualifier: NM1*PR 08 id qualifier.
-- column corrected_priority_payer_id: NM1*PR 09 corrected priority payer id.
-- column coverage_expiration_date: DTM*036 02 coverage expiration date.
-- column interest_amount: AMT*I 02 interest paid on the claim.
-- column prompt_pay_discount_amount: AMT*D8 02 prompt pay discount.
-- column patient_amount_paid: AMT*F5 02 amount the patient already paid.
-- column covered_days: QTY*CA 02 covered days or visits (actual).
-- column co_insured_days: QTY*CD 02 co-insured days (actual).
-- column lifetime_reserve_days: QTY*LA 02 lifetime reserve days (actual).
-- column lifetime_reserve_days_estimated: QTY*LE 02 lifetime reserve (estimated).
-- column non_covered_days_estimated: QTY*NE 02 non-covered days (estimated).
-- column blood_units_not_replaced: QTY*NR 02 blood units not replaced.
-- column outlier_days: QTY*OU 02 outlier days.
-- column prescription_count: QTY*PS 02 prescriptions.
-- column visits: QTY*VS 02 visits.
-- column mandate_category_1_units: QTY*ZK 02 federal payment mandate category 1.
-- column mandate_category_2_units: QTY*ZL 02 federal payment mandate category 2.
-- column mandate_category_3_units: QTY*ZM 02 federal payment mandate category 3.
-- column mandate_category_4_units: QTY*ZN 02 federal payment mandate category 4.
-- column mandate_category_5_units: QTY*ZO 02 federal payment mandate category 5.
-- column mia_covered_days: MIA01 covered days or visits.
-- column mia_pps_operating_outlier_amount: MIA02 PPS operating outlier amount.
-- column mia_lifetime_psychiatric_days: MIA03 lifetime psychiatric days.
-- column mia_drg_amount: MIA04 claim DRG amount.
-- column mia_disproportionate_share_amount: MIA06 disproportionate share amount.
-- column mia_msp_pass_through_amount: MIA07 MSP pass-through amount.
-- column mia_pps_capital_amount: MIA08 PPS capital amount.
-- column mia_pps_capital_fsp_drg_amount: MIA09 PPS capital FSP DRG amount.
-- column mia_pps_capital_hsp_drg_amount: MIA10 PPS capital HSP DRG amount.
-- column mia_pps_capital_dsh_drg_amount: MIA11 PPS capital DSH DRG amount.
-- column mia_old_capital_amount: MIA12 old capital amount.
-- column mia_pps_capital_ime_amount: MIA13 PPS capital IME amount.
-- column mia_pps_operating_hospital_specific_drg_amount: MIA14 PPS operating hospital specific DRG.
-- column mia_cost_report_day_count: MIA15 cost report day count.
-- column mia_pps_operating_federal_specific_drg_amount: MIA16 PPS operating federal specific DRG.
-- column mia_pps_capital_outlier_amount: MIA17 PPS capital outlier amount.
-- column mia_indirect_teaching_amount: MIA18 indirect teaching amount.
-- column mia_nonpayable_professional_component_amount: MIA19 nonpayable professional component.
-- column mia_pps_capital_exception_amount: MIA24 PPS capital exception amount.
-- column moa_reimbursement_rate: MOA01 reimbursement rate (a fraction).
-- column moa_hcpcs_payable_amount: MOA02 HCPCS payable amount.
-- column moa_esrd_payment_amount: MOA08 end-stage renal disease payment amount.
-- column moa_nonpayable_professional_component_amount: MOA09 nonpayable professional component.
-- unique_key: claim_id
-- tests: not_null(payer_key), not_null(payment_date), not_null(is_reversal)
SELECT
    CAST(c.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(c.claim_number AS BIGINT) * 4294967296 AS claim_id,
    p.transaction_ref || '-' || CAST(c.claim_ordinal AS VARCHAR) AS claim_ref,
    p.transaction_id,
    c.file_key,
    c.claim_number,
    c.claim_ordinal,
    p.payment_month,
    p.payment_date,
    p.payer_key,
    p.payee_key,
    c.patient_control_number,
    c.claim_status_code,
    CAST(c.charge_amount AS DECIMAL(18, 2)) AS charge_amount,
    CAST(c.paid_amount AS DECIMAL(18, 2)) AS paid_amount,
    CAST(coalesce(c.patient_responsibility_amount, 0) AS DECIMAL(18, 2)) AS patient_responsibility_amount,
    c.claim_filing_indicator,
    c.payer_claim_control_number,
    c.original_reference_number,
    c.statement_from_date,
    c.patient_key,
    coalesce(c.is_reversal, c.claim_status_code = '22') AS is_reversal,
    c.facility_code,
    nullif(trim(c.claim_frequency_code), '') AS claim_frequency_code,
    c.drg_code,
    c.statement_to_date,
    c.received_date,
    c.rendering_provider_id,
    CAST(c.coverage_amount AS DECIMAL(18, 2)) AS coverage_amount,
    c.line_count,
    c.is_balanced,
    CAST(c.balance_difference AS DECIMAL(18, 2)) AS balance_difference,
    c.segment_number,
    CAST(c.drg_weight AS DECIMAL(18, 6)) AS drg_weight,
    CAST(c.discharge_fraction AS DECIMAL(18, 6)) AS discharge_fraction,
    nullif(trim(c.crossover_carrier_name), '') AS crossover_carrier_name,
    nullif(trim(c.crossover_carrier_id_qualifier), '') AS crossover_carrier_id_qualifier,
    nullif(trim(c.crossover_carrier_id), '') AS crossover_carrier_id,
    nullif(trim(c.corrected_priority_payer_name), '') AS corrected_priority_payer_name,
    nullif(trim(c.corrected_priority_payer_id_qualifier), '') AS corrected_priority_payer_id_qualifier,
    nullif(trim(c.corrected_priority_payer_id), '') AS corrected_priority_payer_id,
    c.coverage_expiration_date,
    CAST(c.interest_amount AS DECIMAL(18, 2)) AS interest_amount,
    CAST(c.prompt_pay_discount_amount AS DECIMAL(18, 2)) AS prompt_pay_discount_amount,
    CAST(c.patient_amount_paid AS DECIMAL(18, 2)) AS patient_amount_paid,
    CAST(c.covered_days AS DECIMAL(18, 3)) AS covered_days,
    CAST(c.co_insured_days AS DECIMAL(18, 3)) AS co_insured_days,
    CAST(c.lifetime_reserve_days AS DECIMAL(18, 3)) AS lifetime_reserve_days,
    CAST(c.lifetime_reserve_days_estimated AS DECIMAL(18, 3)) AS lifetime_reserve_days_estimated,
    CAST(c.non_covered_days_estimated AS DECIMAL(18, 3)) AS non_covered_days_estimated,
    CAST(c.blood_units_not_replaced AS DECIMAL(18, 3)) AS blood_units_not_replaced,
    CAST(c.outlier_days AS DECIMAL(18, 3)) AS outlier_days,
    CAST(c.prescription_count AS DECIMAL(18, 3)) AS prescription_count,
    CAST(c.visits AS DECIMAL(18, 3)) AS visits,
    CAST(c.mandate_category_1_units AS DECIMAL(18, 3)) AS mandate_category_1_units,
    CAST(c.mandate_category_2_units AS DECIMAL(18, 3)) AS mandate_category_2_units,
    CAST(c.mandate_category_3_units AS DECIMAL(18, 3)) AS mandate_category_3_units,
    CAST(c.mandate_category_4_units AS DECIMAL(18, 3)) AS mandate_category_4_units,
    CAST(c.mandate_category_5_units AS DECIMAL(18, 3)) AS mandate_category_5_units,
    CAST(c.mia_covered_days AS DECIMAL(18, 3)) AS mia_covered_days,
    CAST(c.mia_pps_operating_outlier_amount AS DECIMAL(18, 2)) AS mia_pps_operating_outlier_amount,
    CAST(c.mia_lifetime_psychiatric_days AS DECIMAL(18, 3)) AS mia_lifetime_psychiatric_days,
    CAST(c.mia_drg_amount AS DECIMAL(18, 2)) AS mia_drg_amount,
    CAST(c.mia_disproportionate_share_amount AS DECIMAL(18, 2)) AS mia_disproportionate_share_amount,
    CAST(c.mia_msp_pass_through_amount AS DECIMAL(18, 2)) AS mia_msp_pass_through_amount,
    CAST(c.mia_pps_capital_amount AS DECIMAL(18, 2)) AS mia_pps_capital_amount,
    CAST(c.mia_pps_capital_fsp_drg_amount AS DECIMAL(18, 2)) AS mia_pps_capital_fsp_drg_amount,
    CAST(c.mia_pps_capital_hsp_drg_amount AS DECIMAL(18, 2)) AS mia_pps_capital_hsp_drg_amount,
    CAST(c.mia_pps_capital_dsh_drg_amount AS DECIMAL(18, 2)) AS mia_pps_capital_dsh_drg_amount,
    CAST(c.mia_old_capital_amount AS DECIMAL(18, 2)) AS mia_old_capital_amount,
    CAST(c.mia_pps_capital_ime_amount AS DECIMAL(18, 2)) AS mia_pps_capital_ime_amount,
    CAST(c.mia_pps_operating_hospital_specific_drg_amount AS DECIMAL(18, 2)) AS mia_pps_operating_hospital_specific_drg_amount,
    CAST(c.mia_cost_report_day_count AS DECIMAL(18, 3)) AS mia_cost_report_day_count,
    CAST(c.mia_pps_operating_federal_specific_drg_amount AS DECIMAL(18, 2)) AS mia_pps_operating_federal_specific_drg_amount,
    CAST(c.mia_pps_capital_outlier_amount AS DECIMAL(18, 2)) AS mia_pps_capital_outlier_amount,
    CAST(c.mia_indirect_teaching_amount AS DECIMAL(18, 2)) AS mia_indirect_teaching_amount,
    CAST(c.mia_nonpayable_professional_component_amount AS DECIMAL(18, 2)) AS mia_nonpayable_professional_component_amount,
    CAST(c.mia_pps_capital_exception_amount AS DECIMAL(18, 2)) AS mia_pps_capital_exception_amount,
    CAST(c.moa_reimbursement_rate AS DECIMAL(18, 6)) AS moa_reimbursement_rate,
    CAST(c.moa_hcpcs_payable_amount AS DECIMAL(18, 2)) AS moa_hcpcs_payable_amount,
    CAST(c.moa_esrd_payment_amount AS DECIMAL(18, 2)) AS moa_esrd_payment_amount,
    CAST(c.moa_nonpayable_professional_component_amount AS DECIMAL(18, 2)) AS moa_nonpayable_professional_component_amount
FROM lake.claims AS c
INNER JOIN staging.stg_payments AS p ON p.file_key = c.file_key AND p.transaction_ordinal = c.transaction_ordinal
