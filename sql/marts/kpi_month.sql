-- name: marts.kpi_month
-- materialized: table
-- grain: one row per payment_month x payer_key (every month and payer with a payment)
-- depends_on: staging.stg_payments, staging.stg_provider_adjustments, marts.claim_outcomes,
--   marts.line_outcomes, marts.provider_absorbed_month, marts.dim_payer
-- description: Monthly claim-integrity KPIs per payer (HFMA style; formulas in docs/warehouse.md). Rates
--   are ratios rounded to 4 places, NULL when the denominator is 0. Remits = claims after netting that
--   count as remits (not 22, 23, 25).
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type.
-- column payments: Number of payments (ST/SE transactions).
-- column net_payments: Sum of BPR02, debits negative: cash to the provider (= claim payments − PLB).
-- column claims_remitted: Remits: claims after netting that count as remits.
-- column denied_claims: Denied remits (marts.claim_outcomes.is_denied).
-- column denial_rate_count: denied_claims / claims_remitted.
-- column charge_remitted: Sum of CLP03 over remits.
-- column denied_charge: Sum of CLP03 over denied remits.
-- column denial_rate_dollars: denied_charge / charge_remitted.
-- column lines_remitted: Service lines of remits.
-- column denied_lines: Fully or partially denied lines.
-- column line_denial_rate_count: denied_lines / lines_remitted (HFMA prefers line level).
-- column line_denied_amount: Sum of line denied_amount (full: SVC02; partial: denial-CARC dollars).
-- column line_denial_rate_dollars: line_denied_amount / sum of SVC02 over lines of remits.
-- column zero_pay_claims: Remits with CLP04 = 0.
-- column zero_pay_rate: zero_pay_claims / claims_remitted.
-- column claim_paid_amount: Sum of CLP04 over all claims after netting (unmatched reversals included).
-- column patient_responsibility_amount: Sum of CLP05 over all claims after netting.
-- column net_patient_service_revenue: claim_paid_amount + patient_responsibility_amount.
-- column provider_absorbed_amount: All provider-absorbed adjustment dollars.
-- column expected_contractual_amount: Absorbed dollars in category expected_contractual.
-- column denial_writeoff_amount: Absorbed dollars in category denial_writeoff.
-- column denial_writeoff_rate: denial_writeoff_amount / net_patient_service_revenue (MAP Key AR-6 style).
-- column plb_count: Number of PLB adjustments.
-- column plb_total: Sum of PLB amounts (positive reduced the payments, negative increased them).
WITH pay AS (
    SELECT payment_month, payer_key, count(*) AS payments, sum(signed_payment_amount) AS net_payments
    FROM staging.stg_payments
    GROUP BY payment_month, payer_key
),
clm AS (
    SELECT
        payment_month,
        payer_key,
        count(CASE WHEN counts_as_remit THEN 1 END) AS claims_remitted,
        count(CASE WHEN is_denied THEN 1 END) AS denied_claims,
        sum(CASE WHEN counts_as_remit THEN charge_amount ELSE 0 END) AS charge_remitted,
        sum(CASE WHEN is_denied THEN charge_amount ELSE 0 END) AS denied_charge,
        count(CASE WHEN is_zero_paid THEN 1 END) AS zero_pay_claims,
        sum(paid_amount) AS claim_paid_amount,
        sum(patient_responsibility_amount) AS patient_responsibility_amount
    FROM marts.claim_outcomes
    GROUP BY payment_month, payer_key
),
lin AS (
    SELECT
        payment_month,
        payer_key,
        count(CASE WHEN counts_as_remit THEN 1 END) AS lines_remitted,
        count(CASE WHEN is_denied THEN 1 END) AS denied_lines,
        sum(CASE WHEN counts_as_remit THEN charge_amount ELSE 0 END) AS line_charge_remitted,
        sum(denied_amount) AS line_denied_amount
    FROM marts.line_outcomes
    GROUP BY payment_month, payer_key
),
absorbed AS (
    SELECT
        payment_month,
        payer_key,
        sum(dollars) AS provider_absorbed_amount,
        sum(CASE WHEN absorbed_category = 'expected_contractual' THEN dollars ELSE 0 END)
            AS expected_contractual_amount,
        sum(CASE WHEN absorbed_category = 'denial_writeoff' THEN dollars ELSE 0 END) AS denial_writeoff_amount
    FROM marts.provider_absorbed_month
    GROUP BY payment_month, payer_key
),
plb AS (
    SELECT payment_month, payer_key, count(*) AS plb_count, sum(amount) AS plb_total
    FROM staging.stg_provider_adjustments
    GROUP BY payment_month, payer_key
),
joined AS (
    SELECT
        p.payment_month,
        p.payer_key,
        p.payments,
        p.net_payments,
        coalesce(c.claims_remitted, 0) AS claims_remitted,
        coalesce(c.denied_claims, 0) AS denied_claims,
        coalesce(c.charge_remitted, 0) AS charge_remitted,
        coalesce(c.denied_charge, 0) AS denied_charge,
        coalesce(l.lines_remitted, 0) AS lines_remitted,
        coalesce(l.denied_lines, 0) AS denied_lines,
        coalesce(l.line_charge_remitted, 0) AS line_charge_remitted,
        coalesce(l.line_denied_amount, 0) AS line_denied_amount,
        coalesce(c.zero_pay_claims, 0) AS zero_pay_claims,
        coalesce(c.claim_paid_amount, 0) AS claim_paid_amount,
        coalesce(c.patient_responsibility_amount, 0) AS patient_responsibility_amount,
        coalesce(a.provider_absorbed_amount, 0) AS provider_absorbed_amount,
        coalesce(a.expected_contractual_amount, 0) AS expected_contractual_amount,
        coalesce(a.denial_writeoff_amount, 0) AS denial_writeoff_amount,
        coalesce(b.plb_count, 0) AS plb_count,
        coalesce(b.plb_total, 0) AS plb_total
    FROM pay AS p
    LEFT JOIN clm AS c ON c.payment_month = p.payment_month AND c.payer_key = p.payer_key
    LEFT JOIN lin AS l ON l.payment_month = p.payment_month AND l.payer_key = p.payer_key
    LEFT JOIN absorbed AS a ON a.payment_month = p.payment_month AND a.payer_key = p.payer_key
    LEFT JOIN plb AS b ON b.payment_month = p.payment_month AND b.payer_key = p.payer_key
)
SELECT
    j.payment_month,
    j.payer_key,
    d.payer_name,
    d.plan_type,
    j.payments,
    CAST(j.net_payments AS DECIMAL(38, 2)) AS net_payments,
    j.claims_remitted,
    j.denied_claims,
    -- rates: exact HALF_UP rounding of a truncated 5-decimal integer quotient (money in cents), so that
    -- DuckDB (whose decimal division is DOUBLE) and Spark (decimal division) give the same DECIMAL(9, 4)
    CAST(CASE WHEN j.claims_remitted > 0
        THEN round(CAST(j.denied_claims * 100000 // j.claims_remitted AS DECIMAL(18, 0)) * 0.00001, 4) END
        AS DECIMAL(9, 4)) AS denial_rate_count,
    CAST(j.charge_remitted AS DECIMAL(38, 2)) AS charge_remitted,
    CAST(j.denied_charge AS DECIMAL(38, 2)) AS denied_charge,
    CAST(CASE WHEN j.charge_remitted > 0
        THEN round(CAST(CAST(j.denied_charge * 100 AS HUGEINT) * 100000
            // CAST(j.charge_remitted * 100 AS HUGEINT) AS DECIMAL(18, 0)) * 0.00001, 4) END
        AS DECIMAL(9, 4)) AS denial_rate_dollars,
    j.lines_remitted,
    j.denied_lines,
    CAST(CASE WHEN j.lines_remitted > 0
        THEN round(CAST(j.denied_lines * 100000 // j.lines_remitted AS DECIMAL(18, 0)) * 0.00001, 4) END
        AS DECIMAL(9, 4)) AS line_denial_rate_count,
    CAST(j.line_denied_amount AS DECIMAL(38, 2)) AS line_denied_amount,
    CAST(CASE WHEN j.line_charge_remitted > 0
        THEN round(CAST(CAST(j.line_denied_amount * 100 AS HUGEINT) * 100000
            // CAST(j.line_charge_remitted * 100 AS HUGEINT) AS DECIMAL(18, 0)) * 0.00001, 4) END
        AS DECIMAL(9, 4)) AS line_denial_rate_dollars,
    j.zero_pay_claims,
    CAST(CASE WHEN j.claims_remitted > 0
        THEN round(CAST(j.zero_pay_claims * 100000 // j.claims_remitted AS DECIMAL(18, 0)) * 0.00001, 4) END
        AS DECIMAL(9, 4)) AS zero_pay_rate,
    CAST(j.claim_paid_amount AS DECIMAL(38, 2)) AS claim_paid_amount,
    CAST(j.patient_responsibility_amount AS DECIMAL(38, 2)) AS patient_responsibility_amount,
    CAST(j.claim_paid_amount + j.patient_responsibility_amount AS DECIMAL(38, 2))
        AS net_patient_service_revenue,
    CAST(j.provider_absorbed_amount AS DECIMAL(38, 2)) AS provider_absorbed_amount,
    CAST(j.expected_contractual_amount AS DECIMAL(38, 2)) AS expected_contractual_amount,
    CAST(j.denial_writeoff_amount AS DECIMAL(38, 2)) AS denial_writeoff_amount,
    CAST(CASE WHEN j.claim_paid_amount + j.patient_responsibility_amount > 0
        THEN round(CAST(CAST(j.denial_writeoff_amount * 100 AS HUGEINT) * 100000
            // CAST((j.claim_paid_amount + j.patient_responsibility_amount) * 100 AS HUGEINT)
            AS DECIMAL(18, 0)) * 0.00001, 4)
        END AS DECIMAL(9, 4)) AS denial_writeoff_rate,
    j.plb_count,
    CAST(j.plb_total AS DECIMAL(38, 2)) AS plb_total
FROM joined AS j
INNER JOIN marts.dim_payer AS d ON d.payer_key = j.payer_key
