-- name: marts.kpi_month
-- materialized: table
-- incremental: full
-- grain: one row per payment_month x payer_key: every month and payer with a payment, or with a lifecycle
--   figure (a write-off becomes final D + 180 days, possibly in a month without a payment)
-- depends_on: staging.stg_payments, staging.stg_provider_adjustments, marts.claim_outcomes,
--   marts.line_outcomes, marts.provider_absorbed_month, marts.dim_payer, marts.denial_events,
--   marts.claim_episodes, intermediate.int_adjustment_kinds, intermediate.int_claims
-- description: Monthly claim-integrity KPIs per payer (every figure defined in docs/metrics.md). Rates
--   are ratios rounded to 4 places, NULL when the denominator is 0. Remits = claims after netting that
--   count as remits (not 22, 23, 25). Lifecycle figures (initial denials, write-offs, overturns,
--   first-pass yield, days to pay) count in the month of the date their definition names.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type.
-- column payments: Number of payments (ST/SE transactions).
-- column net_payments: Sum of BPR02, debits negative: cash to the provider (= claim payments − PLB).
-- column claims_remitted: Remits: claims after netting that count as remits.
-- column denied_claims: Denied remits: paid 0 with denied dollars (marts.claim_outcomes.is_denied).
-- column denial_rate_count: denied_claims / claims_remitted.
-- column charge_remitted: Sum of CLP03 over remits.
-- column denied_charge: Sum of CLP03 over denied remits.
-- column denial_rate_dollars: denied_charge / charge_remitted.
-- column lines_remitted: Service lines of remits.
-- column denied_lines: Fully or partially denied lines.
-- column line_denial_rate_count: denied_lines / lines_remitted (HFMA prefers line level).
-- column line_denied_amount: Sum of line denied dollars (adjustments of kind denial on denied lines).
-- column line_denial_rate_dollars: line_denied_amount / sum of SVC02 over lines of remits.
-- column zero_pay_claims: Remits with CLP04 = 0.
-- column zero_pay_rate: zero_pay_claims / claims_remitted.
-- column claim_paid_amount: Sum of CLP04 over all claims after netting (unmatched reversals included).
-- column patient_responsibility_amount: Sum of CLP05 over all claims after netting.
-- column net_patient_service_revenue: claim_paid_amount + patient_responsibility_amount.
-- column provider_absorbed_amount: All provider-absorbed adjustment dollars.
-- column expected_contractual_amount: Absorbed dollars in category expected_contractual.
-- column denial_writeoff_amount: Final denial write-offs: sum of marts.denial_events.writeoff_amount, in the
--   month of resolution_date (MAP Key AR-6 style).
-- column denial_writeoff_rate: denial_writeoff_amount / net_patient_service_revenue (MAP Key AR-6 style).
-- column plb_count: Number of PLB adjustments.
-- column plb_total: Sum of PLB amounts (positive reduced the payments, negative increased them).
-- column initial_denied_amount: Sum of denied_amount of kind-denial events first denied in the month.
-- column initial_denied_claims: Distinct claims with a kind-denial event first denied in the month.
-- column overturned_amount: Sum of recovered_amount of kind-denial events resolved overturned in the month.
-- column recovered_amount: Sum of recovered_amount of kind-denial events resolved in the month (any way).
-- column resolved_denials: Kind-denial events resolved (not open) in the month.
-- column overturned_denials: Of those, resolved overturned.
-- column overturn_rate_count: overturned_denials / resolved_denials.
-- column resolved_denied_amount: Sum of denied_amount of the kind-denial events resolved in the month.
-- column overturn_rate_dollars: overturned_amount / resolved_denied_amount.
-- column episodes_first_remitted: Episodes whose first remit is in the month.
-- column first_pass_paid_episodes: Of those, paid on the first remit without any denial event.
-- column first_pass_yield: first_pass_paid_episodes / episodes_first_remitted.
-- column median_days_to_pay: Median days_to_pay of episodes first paid in the month (mean of the two middle
--   values for an even count), 1 decimal.
-- column duplicate_claims: Non-reversal claims paid in the month with a duplicate adjustment (18, B13, B20).
-- column redirected_claims: Distinct claims with a redirect event first denied in the month.
-- unique_key: payment_month, payer_key
-- tests: not_null(payments), not_null(initial_denied_amount), not_null(denial_writeoff_amount)
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
            AS expected_contractual_amount
    FROM marts.provider_absorbed_month
    GROUP BY payment_month, payer_key
),
initial AS (
    SELECT
        first_denied_month AS payment_month,
        payer_key,
        sum(CASE WHEN kind = 'denial' THEN denied_amount ELSE 0 END) AS initial_denied_amount,
        count(DISTINCT CASE WHEN kind = 'denial' THEN claim_id END) AS initial_denied_claims,
        count(DISTINCT CASE WHEN kind = 'redirect' THEN claim_id END) AS redirected_claims
    FROM marts.denial_events
    GROUP BY first_denied_month, payer_key
),
resolved AS (
    -- every month in which an event has a resolution date (a month of the mart, as in the other
    -- lifecycle figures), with the figures of the events resolved (not open)
    SELECT
        resolution_month AS payment_month,
        payer_key,
        sum(writeoff_amount) FILTER (WHERE resolution <> 'open') AS denial_writeoff_amount,
        sum(CASE WHEN kind = 'denial' AND resolution = 'overturned' THEN recovered_amount ELSE 0 END)
            FILTER (WHERE resolution <> 'open') AS overturned_amount,
        sum(CASE WHEN kind = 'denial' THEN recovered_amount ELSE 0 END) FILTER (WHERE resolution <> 'open')
            AS recovered_amount,
        count(CASE WHEN kind = 'denial' THEN 1 END) FILTER (WHERE resolution <> 'open') AS resolved_denials,
        count(CASE WHEN kind = 'denial' AND resolution = 'overturned' THEN 1 END)
            FILTER (WHERE resolution <> 'open') AS overturned_denials,
        sum(CASE WHEN kind = 'denial' THEN denied_amount ELSE 0 END) FILTER (WHERE resolution <> 'open')
            AS resolved_denied_amount
    FROM marts.denial_events
    WHERE resolution_month IS NOT NULL
    GROUP BY resolution_month, payer_key
),
first_pass AS (
    -- grouped by the month's first day, named 'YYYY-MM' after (a date truncated costs less than a
    -- date formatted, over millions of episodes)
    SELECT
        strftime(remit_month, '%Y-%m') AS payment_month,
        payer_key,
        episodes_first_remitted,
        first_pass_paid_episodes
    FROM (
        SELECT
            date_trunc('month', first_remit_date) AS remit_month,
            payer_key,
            count(*) AS episodes_first_remitted,
            count(CASE WHEN first_pass_paid THEN 1 END) AS first_pass_paid_episodes
        FROM marts.claim_episodes
        WHERE first_remit_date IS NOT NULL
        GROUP BY date_trunc('month', first_remit_date), payer_key
    ) AS g
),
days_to_pay AS (
    -- every month with a first payment (a month of the mart); the median skips a NULL days_to_pay
    SELECT
        strftime(paid_month, '%Y-%m') AS payment_month,
        payer_key,
        CAST(round(median_days, 1) AS DECIMAL(9, 1)) AS median_days_to_pay
    FROM (
        SELECT
            date_trunc('month', first_payment_date) AS paid_month,
            payer_key,
            median(days_to_pay) AS median_days
        FROM marts.claim_episodes
        WHERE first_payment_date IS NOT NULL
        GROUP BY date_trunc('month', first_payment_date), payer_key
    ) AS g
),
month_keys AS (
    -- every month and payer with a payment or a lifecycle figure (the groups above)
    SELECT payment_month, payer_key FROM pay
    UNION
    SELECT payment_month, payer_key FROM initial
    UNION
    SELECT payment_month, payer_key FROM resolved
    UNION
    SELECT payment_month, payer_key FROM first_pass
    UNION
    SELECT payment_month, payer_key FROM days_to_pay
),
duplicates AS (
    SELECT
        strftime(c.payment_date, '%Y-%m') AS payment_month,
        c.payer_key,
        count(DISTINCT c.claim_id) AS duplicate_claims
    FROM intermediate.int_adjustment_kinds AS a
    INNER JOIN intermediate.int_claims AS c ON c.claim_id = a.claim_id
    WHERE a.kind = 'duplicate' AND a.amount > 0 AND NOT a.is_reversal
    GROUP BY strftime(c.payment_date, '%Y-%m'), c.payer_key
),
plb AS (
    SELECT payment_month, payer_key, count(*) AS plb_count, sum(amount) AS plb_total
    FROM staging.stg_provider_adjustments
    GROUP BY payment_month, payer_key
),
joined AS (
    SELECT
        m.payment_month,
        m.payer_key,
        coalesce(p.payments, 0) AS payments,
        coalesce(p.net_payments, 0) AS net_payments,
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
        coalesce(r.denial_writeoff_amount, 0) AS denial_writeoff_amount,
        coalesce(b.plb_count, 0) AS plb_count,
        coalesce(b.plb_total, 0) AS plb_total,
        coalesce(i.initial_denied_amount, 0) AS initial_denied_amount,
        coalesce(i.initial_denied_claims, 0) AS initial_denied_claims,
        coalesce(i.redirected_claims, 0) AS redirected_claims,
        coalesce(r.overturned_amount, 0) AS overturned_amount,
        coalesce(r.recovered_amount, 0) AS recovered_amount,
        coalesce(r.resolved_denials, 0) AS resolved_denials,
        coalesce(r.overturned_denials, 0) AS overturned_denials,
        coalesce(r.resolved_denied_amount, 0) AS resolved_denied_amount,
        coalesce(f.episodes_first_remitted, 0) AS episodes_first_remitted,
        coalesce(f.first_pass_paid_episodes, 0) AS first_pass_paid_episodes,
        t.median_days_to_pay,
        coalesce(u.duplicate_claims, 0) AS duplicate_claims
    FROM month_keys AS m
    LEFT JOIN pay AS p ON p.payment_month = m.payment_month AND p.payer_key = m.payer_key
    LEFT JOIN clm AS c ON c.payment_month = m.payment_month AND c.payer_key = m.payer_key
    LEFT JOIN lin AS l ON l.payment_month = m.payment_month AND l.payer_key = m.payer_key
    LEFT JOIN absorbed AS a ON a.payment_month = m.payment_month AND a.payer_key = m.payer_key
    LEFT JOIN plb AS b ON b.payment_month = m.payment_month AND b.payer_key = m.payer_key
    LEFT JOIN initial AS i ON i.payment_month = m.payment_month AND i.payer_key = m.payer_key
    LEFT JOIN resolved AS r ON r.payment_month = m.payment_month AND r.payer_key = m.payer_key
    LEFT JOIN first_pass AS f ON f.payment_month = m.payment_month AND f.payer_key = m.payer_key
    LEFT JOIN days_to_pay AS t ON t.payment_month = m.payment_month AND t.payer_key = m.payer_key
    LEFT JOIN duplicates AS u ON u.payment_month = m.payment_month AND u.payer_key = m.payer_key
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
    CAST(j.plb_total AS DECIMAL(38, 2)) AS plb_total,
    CAST(j.initial_denied_amount AS DECIMAL(38, 2)) AS initial_denied_amount,
    j.initial_denied_claims,
    CAST(j.overturned_amount AS DECIMAL(38, 2)) AS overturned_amount,
    CAST(j.recovered_amount AS DECIMAL(38, 2)) AS recovered_amount,
    j.resolved_denials,
    j.overturned_denials,
    CAST(CASE WHEN j.resolved_denials > 0
        THEN round(CAST(j.overturned_denials * 100000 // j.resolved_denials AS DECIMAL(18, 0)) * 0.00001, 4) END
        AS DECIMAL(9, 4)) AS overturn_rate_count,
    CAST(j.resolved_denied_amount AS DECIMAL(38, 2)) AS resolved_denied_amount,
    CAST(CASE WHEN j.resolved_denied_amount > 0
        THEN round(CAST(CAST(j.overturned_amount * 100 AS HUGEINT) * 100000
            // CAST(j.resolved_denied_amount * 100 AS HUGEINT) AS DECIMAL(18, 0)) * 0.00001, 4) END
        AS DECIMAL(9, 4)) AS overturn_rate_dollars,
    j.episodes_first_remitted,
    j.first_pass_paid_episodes,
    CAST(CASE WHEN j.episodes_first_remitted > 0
        THEN round(CAST(j.first_pass_paid_episodes * 100000 // j.episodes_first_remitted AS DECIMAL(18, 0))
            * 0.00001, 4) END
        AS DECIMAL(9, 4)) AS first_pass_yield,
    j.median_days_to_pay,
    j.duplicate_claims,
    j.redirected_claims
FROM joined AS j
INNER JOIN marts.dim_payer AS d ON d.payer_key = j.payer_key
