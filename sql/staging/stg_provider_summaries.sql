-- name: staging.stg_provider_summaries
-- materialized: view
-- grain: one row per LX header number (provider summary) of a non-resent payment
-- depends_on: lake.provider_summaries, staging.stg_payments
-- description: The provider summary of each LX loop (TS3 totals for every provider, TS2 Medicare Part A
--   totals), with the payment's month and payer.
-- column transaction_id: Payment the summary belongs to.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity (see staging.stg_payments).
-- column summary_ordinal: LX position within the transaction, from 1.
-- column assigned_number: LX01 header number.
-- column provider_id: TS301 provider identifier.
-- column facility_type_code: TS302 facility type code.
-- column fiscal_period_date: TS303 last day of the provider's fiscal year.
-- column total_claim_count: TS304 total claim count.
-- column total_claim_charge_amount: TS305 total claim charge amount.
-- column total_msp_payer_amount: TS313 total MSP payer amount.
-- column total_non_lab_charge_amount: TS315 total non-lab charge amount.
-- column total_hcpcs_reported_charge_amount: TS317 total HCPCS reported charge.
-- column total_hcpcs_payable_amount: TS318 total HCPCS payable amount.
-- column total_professional_component_amount: TS320 total professional component.
-- column total_msp_patient_liability_met_amount: TS321 total MSP patient liability met.
-- column total_patient_reimbursement_amount: TS322 total patient reimbursement.
-- column total_pip_claim_count: TS323 total periodic interim payment claim count.
-- column total_pip_adjustment_amount: TS324 total PIP adjustment amount.
-- column total_drg_amount: TS201 total DRG amount.
-- column total_federal_specific_amount: TS202 total federal specific amount.
-- column total_hospital_specific_amount: TS203 total hospital specific amount.
-- column total_disproportionate_share_amount: TS204 total disproportionate share.
-- column total_capital_amount: TS205 total capital amount.
-- column total_indirect_medical_education_amount: TS206 total IME amount.
-- column total_outlier_day_count: TS207 total outlier day count.
-- column total_day_outlier_amount: TS208 total day outlier amount.
-- column total_cost_outlier_amount: TS209 total cost outlier amount.
-- column average_drg_length_of_stay: TS210 average DRG length of stay.
-- column total_discharge_count: TS211 total discharge count.
-- column total_cost_report_day_count: TS212 total cost report day count.
-- column total_covered_day_count: TS213 total covered day count.
-- column total_noncovered_day_count: TS214 total noncovered day count.
-- column total_msp_pass_through_amount: TS215 total MSP pass-through amount.
-- column average_drg_weight: TS216 average DRG weight.
-- column total_pps_capital_fsp_drg_amount: TS217 total PPS capital FSP DRG.
-- column total_pps_capital_hsp_drg_amount: TS218 total PPS capital HSP DRG.
-- column total_pps_dsh_drg_amount: TS219 total PPS DSH DRG amount.
-- tests: not_null(transaction_id)
SELECT
    p.transaction_id,
    p.payment_month,
    p.payer_key,
    s.summary_ordinal,
    nullif(trim(s.assigned_number), '') AS assigned_number,
    nullif(trim(s.provider_id), '') AS provider_id,
    nullif(trim(s.facility_type_code), '') AS facility_type_code,
    s.fiscal_period_date,
    CAST(s.total_claim_count AS DECIMAL(18, 3)) AS total_claim_count,
    CAST(s.total_claim_charge_amount AS DECIMAL(18, 2)) AS total_claim_charge_amount,
    CAST(s.total_msp_payer_amount AS DECIMAL(18, 2)) AS total_msp_payer_amount,
    CAST(s.total_non_lab_charge_amount AS DECIMAL(18, 2)) AS total_non_lab_charge_amount,
    CAST(s.total_hcpcs_reported_charge_amount AS DECIMAL(18, 2)) AS total_hcpcs_reported_charge_amount,
    CAST(s.total_hcpcs_payable_amount AS DECIMAL(18, 2)) AS total_hcpcs_payable_amount,
    CAST(s.total_professional_component_amount AS DECIMAL(18, 2)) AS total_professional_component_amount,
    CAST(s.total_msp_patient_liability_met_amount AS DECIMAL(18, 2)) AS total_msp_patient_liability_met_amount,
    CAST(s.total_patient_reimbursement_amount AS DECIMAL(18, 2)) AS total_patient_reimbursement_amount,
    CAST(s.total_pip_claim_count AS DECIMAL(18, 3)) AS total_pip_claim_count,
    CAST(s.total_pip_adjustment_amount AS DECIMAL(18, 2)) AS total_pip_adjustment_amount,
    CAST(s.total_drg_amount AS DECIMAL(18, 2)) AS total_drg_amount,
    CAST(s.total_federal_specific_amount AS DECIMAL(18, 2)) AS total_federal_specific_amount,
    CAST(s.total_hospital_specific_amount AS DECIMAL(18, 2)) AS total_hospital_specific_amount,
    CAST(s.total_disproportionate_share_amount AS DECIMAL(18, 2)) AS total_disproportionate_share_amount,
    CAST(s.total_capital_amount AS DECIMAL(18, 2)) AS total_capital_amount,
    CAST(s.total_indirect_medical_education_amount AS DECIMAL(18, 2)) AS total_indirect_medical_education_amount,
    CAST(s.total_outlier_day_count AS DECIMAL(18, 3)) AS total_outlier_day_count,
    CAST(s.total_day_outlier_amount AS DECIMAL(18, 2)) AS total_day_outlier_amount,
    CAST(s.total_cost_outlier_amount AS DECIMAL(18, 2)) AS total_cost_outlier_amount,
    CAST(s.average_drg_length_of_stay AS DECIMAL(18, 3)) AS average_drg_length_of_stay,
    CAST(s.total_discharge_count AS DECIMAL(18, 3)) AS total_discharge_count,
    CAST(s.total_cost_report_day_count AS DECIMAL(18, 3)) AS total_cost_report_day_count,
    CAST(s.total_covered_day_count AS DECIMAL(18, 3)) AS total_covered_day_count,
    CAST(s.total_noncovered_day_count AS DECIMAL(18, 3)) AS total_noncovered_day_count,
    CAST(s.total_msp_pass_through_amount AS DECIMAL(18, 2)) AS total_msp_pass_through_amount,
    CAST(s.average_drg_weight AS DECIMAL(18, 6)) AS average_drg_weight,
    CAST(s.total_pps_capital_fsp_drg_amount AS DECIMAL(18, 2)) AS total_pps_capital_fsp_drg_amount,
    CAST(s.total_pps_capital_hsp_drg_amount AS DECIMAL(18, 2)) AS total_pps_capital_hsp_drg_amount,
    CAST(s.total_pps_dsh_drg_amount AS DECIMAL(18, 2)) AS total_pps_dsh_drg_amount
FROM lake.provider_summaries AS s
INNER JOIN staging.stg_payments AS p ON p.file_key = s.file_key AND p.transaction_ordinal = s.transaction_ordinal
