-- name: marts.line_outcomes
-- materialized: table
-- grain: one row per service line of a claim that survives reversal netting
-- depends_on: staging.stg_service_lines, marts.claim_netting, marts.adjustment_detail
-- description: Service lines with the line denial convention applied. A line is fully denied when
--   SVC03 = 0, SVC02 > 0 and its non-PR adjustments equal SVC02; partially denied when SVC03 > 0 and a
--   non-PR adjustment carries a denial CARC (ref.carc.is_denial). Lines of claims that do not count as
--   remits (reversals, 23 redirects, 25 pricing only) are never denied.
-- column line_id: Lake id of the line.
-- column claim_id: Claim the line belongs to.
-- column payment_month: Payment month 'YYYY-MM'.
-- column payer_key: Payer identity.
-- column procedure_qualifier: SVC01-1.
-- column procedure_code: SVC01-2.
-- column is_dental: Dental line (qualifier AD or a CDT code).
-- column charge_amount: SVC02.
-- column paid_amount: SVC03.
-- column non_pr_adjustment_amount: Sum of the line's CO/OA/PI (non-PR) adjustments.
-- column denial_adjustment_amount: Sum of the line's non-PR adjustments whose CARC is a denial reason.
-- column counts_as_remit: The line's claim counts as a remit (see marts.claim_netting).
-- column is_denied_full: Fully denied line (see description).
-- column is_denied_partial: Partially denied line (see description).
-- column is_denied: Fully or partially denied.
-- column denied_amount: SVC02 for a full denial, the denial-CARC dollars for a partial one, else 0.
-- column is_crossover: The line carries a crossover CARC.
WITH line_adjustments AS (
    SELECT
        line_id,
        sum(CASE WHEN group_code <> 'PR' THEN amount ELSE 0 END) AS non_pr,
        sum(CASE WHEN group_code <> 'PR' AND is_denial THEN amount ELSE 0 END) AS denial_amt,
        max(CASE WHEN group_code <> 'PR' AND is_denial THEN 1 ELSE 0 END) = 1 AS has_denial,
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
        (n.counts_as_remit AND l.paid_amount = 0 AND l.charge_amount > 0
            AND coalesce(a.non_pr, 0) = l.charge_amount) AS is_denied_full,
        (n.counts_as_remit AND l.paid_amount > 0 AND coalesce(a.has_denial, false)) AS is_denied_partial,
        coalesce(a.has_crossover, false) AS is_crossover
    FROM staging.stg_service_lines AS l
    INNER JOIN marts.claim_netting AS n ON n.claim_id = l.claim_id AND NOT n.is_netted_out
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
    CAST(CASE
        WHEN is_denied_full THEN charge_amount
        WHEN is_denied_partial THEN denial_adjustment_amount
        ELSE 0
    END AS DECIMAL(18, 2)) AS denied_amount,
    is_crossover
FROM base
