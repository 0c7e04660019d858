-- name: marts.crossover_month
-- materialized: table
-- incremental: payment_month, payer_key
-- grain: one row per payment_month x payer_key x reason_code x crossover_direction (crossover CARCs only)
-- depends_on: marts.adjustment_detail, marts.line_outcomes, marts.dim_payer, ref.carc
-- description: Dental-medical(-pharmacy) crossover adjustments (ref.carc.is_crossover) per month and payer,
--   with the payer's dental line share that month for context.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity.
-- column payer_name: Payer name.
-- column plan_type: Payer plan type.
-- column reason_code: Crossover CARC (168, 254, 270, 280, 289, 290, 291, 292).
-- column crossover_direction: dental_to_medical, medical_to_dental, medical_to_pharmacy or both_denied.
-- column crossover_forwarded: The payer itself forwarded the claim (290, 291, 292).
-- column claims: Distinct claims with this crossover CARC.
-- column lines: Distinct service lines with this crossover CARC (line-level adjustments).
-- column dental_lines: Of those lines, the dental ones.
-- column dollars: Sum of the crossover adjustment amounts.
-- column payer_lines: All service lines of the payer in the month (after netting).
-- column payer_dental_lines: Dental service lines of the payer in the month.
-- column dental_line_share: payer_dental_lines / payer_lines, rounded to 4 places.
-- column dollars_at_stake: dollars the provider must still act on: 0 for 290-292, which the payer already
--   forwarded to the other plan (wait for that plan's remittance), else dollars.
-- unique_key: payment_month, payer_key, reason_code
-- tests: not_null(dollars), not_null(dollars_at_stake)
WITH payer_lines AS (
    SELECT
        payment_month,
        payer_key,
        count(*) AS payer_lines,
        count(CASE WHEN is_dental THEN 1 END) AS payer_dental_lines
    FROM marts.line_outcomes
    GROUP BY payment_month, payer_key
),
crossover_rows AS (
    SELECT payment_month, payer_key, reason_code, claim_id, line_id, amount
    FROM marts.adjustment_detail
    WHERE is_crossover
),
crossover_lines AS (
    -- the lines crossover rows name, found first: joined to all of marts.line_outcomes, the join hashed
    -- every line (5M claims, the whole model: 0.84-1.2 -> 0.34 s; 1M: CPU 0.35 -> 0.23 s)
    SELECT line_id, is_dental
    FROM marts.line_outcomes
    WHERE line_id IN (SELECT line_id FROM crossover_rows)
),
crossover AS (
    SELECT
        a.payment_month,
        a.payer_key,
        a.reason_code,
        count(DISTINCT a.claim_id) AS claims,
        count(DISTINCT a.line_id) AS lines,
        count(DISTINCT CASE WHEN l.is_dental THEN a.line_id END) AS dental_lines,
        CAST(sum(a.amount) AS DECIMAL(38, 2)) AS dollars
    FROM crossover_rows AS a
    LEFT JOIN crossover_lines AS l ON l.line_id = a.line_id
    GROUP BY a.payment_month, a.payer_key, a.reason_code
)
SELECT
    x.payment_month,
    x.payer_key,
    d.payer_name,
    d.plan_type,
    x.reason_code,
    k.crossover_direction,
    coalesce(k.crossover_forwarded, false) AS crossover_forwarded,
    x.claims,
    x.lines,
    x.dental_lines,
    x.dollars,
    coalesce(p.payer_lines, 0) AS payer_lines,
    coalesce(p.payer_dental_lines, 0) AS payer_dental_lines,
    -- exact HALF_UP rounding of a truncated 5-decimal integer quotient: the same in DuckDB and Spark
    CAST(CASE WHEN p.payer_lines > 0
        THEN round(CAST(p.payer_dental_lines * 100000 // p.payer_lines AS DECIMAL(18, 0)) * 0.00001, 4) END
        AS DECIMAL(9, 4)) AS dental_line_share,
    CAST(CASE WHEN coalesce(k.crossover_forwarded, false) THEN 0 ELSE x.dollars END AS DECIMAL(38, 2))
        AS dollars_at_stake
FROM crossover AS x
INNER JOIN marts.dim_payer AS d ON d.payer_key = x.payer_key
LEFT JOIN ref.carc AS k ON k.code = x.reason_code
LEFT JOIN payer_lines AS p ON p.payment_month = x.payment_month AND p.payer_key = x.payer_key
