-- name: staging.stg_service_lines
-- materialized: view
-- grain: one row per SVC service line of a claim in staging.stg_claims
-- depends_on: lake.service_lines, staging.stg_payments
-- description: Service lines of non-resent payments, with the dental flag and service date.
-- column line_id: Key of the line: its claim's key plus line_number (docs/parser.md, "Keys and ids").
-- column claim_id: Claim the line belongs to.
-- column transaction_id: Payment the line was remitted in.
-- column payment_month: Payment month 'YYYY-MM' of the line's payment.
-- column payer_key: Payer identity (see staging.stg_payments).
-- column line_number: SVC position within the claim, from 1.
-- column procedure_qualifier: SVC01-1 (AD dental, HC HCPCS/CPT, ...).
-- column procedure_code: SVC01-2.
-- column charge_amount: SVC02 line charge.
-- column paid_amount: SVC03 line payment.
-- column service_date: DTM*472 (or 150) service date.
-- column is_dental: Dental line: qualifier AD or a CDT code (D + 4 digits).
-- column modifiers: SVC01-3..6 procedure modifiers (a list).
-- column revenue_code: SVC04 revenue code.
-- column units_paid: SVC05 units paid.
-- column original_procedure_qualifier: SVC06-1, when the payer changed the procedure.
-- column original_procedure_code: SVC06-2, the procedure as billed.
-- column original_units: SVC07 units billed.
-- column service_date_to: DTM*472 period end or DTM*151.
-- column line_control_number: REF*6R, the provider's line item control number.
-- column allowed_amount: AMT*B6 allowed amount.
-- column is_balanced: SVC02 − Σ line CAS = SVC03.
-- column balance_difference: How far the line is from balancing.
-- column mandate_category_1_units: QTY*ZK 02 federal payment mandate category 1.
-- column mandate_category_2_units: QTY*ZL 02 federal payment mandate category 2.
-- column mandate_category_3_units: QTY*ZM 02 federal payment mandate category 3.
-- column mandate_category_4_units: QTY*ZN 02 federal payment mandate category 4.
-- column mandate_category_5_units: QTY*ZO 02 federal payment mandate category 5.
-- unique_key: line_id
-- tests: not_null(claim_id)
SELECT
    CAST(l.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(l.claim_number AS BIGINT) * 4294967296 + CAST(l.line_number AS BIGINT) * 65536 AS line_id,
    CAST(l.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(l.claim_number AS BIGINT) * 4294967296 AS claim_id,
    p.transaction_id,
    p.payment_month,
    p.payer_key,
    l.line_number,
    l.procedure_qualifier,
    l.procedure_code,
    CAST(l.charge_amount AS DECIMAL(18, 2)) AS charge_amount,
    CAST(l.paid_amount AS DECIMAL(18, 2)) AS paid_amount,
    l.service_date_from AS service_date,
    coalesce(l.is_dental, false) AS is_dental,
    l.modifiers,
    l.revenue_code,
    CAST(l.units_paid AS DECIMAL(18, 3)) AS units_paid,
    l.original_procedure_qualifier,
    l.original_procedure_code,
    CAST(l.original_units AS DECIMAL(18, 3)) AS original_units,
    l.service_date_to,
    nullif(trim(l.line_control_number), '') AS line_control_number,
    CAST(l.allowed_amount AS DECIMAL(18, 2)) AS allowed_amount,
    l.is_balanced,
    CAST(l.balance_difference AS DECIMAL(18, 2)) AS balance_difference,
    CAST(l.mandate_category_1_units AS DECIMAL(18, 3)) AS mandate_category_1_units,
    CAST(l.mandate_category_2_units AS DECIMAL(18, 3)) AS mandate_category_2_units,
    CAST(l.mandate_category_3_units AS DECIMAL(18, 3)) AS mandate_category_3_units,
    CAST(l.mandate_category_4_units AS DECIMAL(18, 3)) AS mandate_category_4_units,
    CAST(l.mandate_category_5_units AS DECIMAL(18, 3)) AS mandate_category_5_units
FROM lake.service_lines AS l
INNER JOIN staging.stg_payments AS p ON p.file_key = l.file_key AND p.transaction_ordinal = l.transaction_ordinal
