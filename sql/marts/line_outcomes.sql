-- name: marts.line_outcomes
-- materialized: table
-- incremental: claim_id
-- grain: one row per service line of a claim that survives reversal netting
-- depends_on: intermediate.int_service_lines, intermediate.int_claim_netting, marts.adjustment_detail
-- description: Service lines with the line denial rule applied (docs/metrics.md): a line is denied when it
--   carries denied dollars, i.e. adjustments of kind denial (a denial CARC, not a duplicate, under CO, OA
--   or PI; intermediate.int_adjustment_kinds). Fully denied when SVC03 = 0, partially when SVC03 > 0.
--   Contractual (CO-45), capitation (CO-24), prior payer (OA-23), cost sharing (PR-1/2/3), duplicates and
--   redirects never make a line denied. Lines of claims that do not count as remits (reversals, 23
--   redirects, 25 pricing only) are never denied.
-- column line_id: Key of the line (an integer, docs/parser.md "Keys and ids").
-- column claim_id: Claim the line belongs to.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity.
-- column procedure_qualifier: SVC01-1.
-- column procedure_code: SVC01-2.
-- column is_dental: Dental line (qualifier AD or a CDT code).
-- column charge_amount: SVC02.
-- column paid_amount: SVC03.
-- column non_pr_adjustment_amount: Sum of the line's CO/OA/PI (non-PR) adjustments.
-- column denial_adjustment_amount: The line's denied dollars: sum of its adjustments of kind denial.
-- column counts_as_remit: The line's claim counts as a remit (see intermediate.int_claim_netting).
-- column is_denied_full: Denied dollars > 0 and SVC03 = 0.
-- column is_denied_partial: Denied dollars > 0 and SVC03 > 0.
-- column is_denied: Fully or partially denied.
-- column denied_amount: The line's denied dollars (denial_adjustment_amount) when it is denied, else 0.
-- column is_crossover: The line carries a crossover CARC.
-- unique_key: line_id
-- tests: not_null(claim_id), not_null(is_denied), not_null(denied_amount)
WITH line_adjustments AS (
    SELECT
        line_id,
        sum(CASE WHEN group_code <> 'PR' THEN amount ELSE 0 END) AS non_pr,
        sum(CASE WHEN adjustment_kind = 'denial' THEN amount ELSE 0 END) AS denial_amt,
        max(CASE WHEN is_crossover THEN 1 ELSE 0 END) = 1 AS has_crossover
    FROM marts.adjustment_detail
    WHERE line_id IS NOT NULL
    GROUP BY line_id
),
base AS (
    SELECT
        l.line_id,
        l.claim_id,
        l.payment_month,
        l.payer_key,
        l.procedure_qualifier,
        l.procedure_code,
        l.is_dental,
        l.charge_amount,
        l.paid_amount,
        CAST(coalesce(a.non_pr, 0) AS DECIMAL(18, 2)) AS non_pr_adjustment_amount,
        CAST(coalesce(a.denial_amt, 0) AS DECIMAL(18, 2)) AS denial_adjustment_amount,
        n.counts_as_remit,
        (n.counts_as_remit AND l.paid_amount = 0 AND coalesce(a.denial_amt, 0) > 0) AS is_denied_full,
        (n.counts_as_remit AND l.paid_amount > 0 AND coalesce(a.denial_amt, 0) > 0) AS is_denied_partial,
        coalesce(a.has_crossover, false) AS is_crossover
    FROM intermediate.int_service_lines AS l
    INNER JOIN intermediate.int_claim_netting AS n ON n.claim_id = l.claim_id AND NOT n.is_netted_out
    LEFT JOIN line_adjustments AS a ON a.line_id = l.line_id
)
SELECT
    line_id,
    claim_id,
    payment_month,
    payer_key,
    procedure_qualifier,
    procedure_code,
    is_dental,
    charge_amount,
    paid_amount,
    non_pr_adjustment_amount,
    denial_adjustment_amount,
    counts_as_remit,
    is_denied_full,
    is_denied_partial,
    (is_denied_full OR is_denied_partial) AS is_denied,
    CAST(CASE WHEN is_denied_full OR is_denied_partial THEN denial_adjustment_amount ELSE 0 END
        AS DECIMAL(18, 2)) AS denied_amount,
    is_crossover
FROM base
