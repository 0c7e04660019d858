-- name: marts.claim_outcomes
-- materialized: table
-- incremental: claim_id
-- grain: one row per claim after reversal netting (matched originals and reversals left out)
-- depends_on: intermediate.int_claims, intermediate.int_claim_netting, marts.adjustment_detail, marts.line_outcomes,
--   marts.dim_payer, ref.claim_status_codes, ref.carc
-- description: The outcome of every claim: payer, plan type, payment month, money, denial flag, top denial
--   CARC, provider-absorbed dollars and crossover flag. Denied dollars are adjustments of kind denial (a
--   denial CARC, not a duplicate, under CO, OA or PI; docs/metrics.md). A claim is denied when it counts as
--   a remit, was paid 0 and carries denied dollars, whatever its CLP02: a CLP02 4 claim with only
--   contractual (CO-45), capitation (CO-24), prior payer (OA-23) or cost sharing (PR-1/2/3) adjustments is
--   not denied. Duplicates (OA-18) and redirects are flagged apart. Reversals (22), pricing-only (25) and
--   not-our-claim redirects (23) are never denied.
-- column claim_id: Key of the claim (an integer, docs/parser.md "Keys and ids").
-- column transaction_id: Payment the claim was remitted in.
-- column payment_month: Payment month 'YYYY-MM' (for a correction: its own payment's month).
-- column payment_date: BPR16 payment date.
-- column payer_key: Payer identity (REF*2U / N1*PR id, else TRN03).
-- column payer_name: Payer name (payers.csv, else N1*PR).
-- column plan_type: Payer plan type from payers.csv; 'unknown' when not listed.
-- column payee_key: Payee NPI, else tax id.
-- column payer_claim_control_number: CLP07, the payer's claim number (quote it in an appeal).
-- column patient_key: Keyed hash of the patient (links a patient's claims without identifying them).
-- column claim_status_code: CLP02.
-- column claim_filing_indicator: CLP06.
-- column netting_role: original, correction or reversal_unmatched (see intermediate.int_claim_netting).
-- column replaces_claim_id: For a correction, the reversed original it replaces.
-- column counts_as_remit: Counts in denial-rate denominators (false for 22, 23, 25).
-- column is_forwarded: The payer forwarded the claim to another payer (CLP02 19, 20, 21, 23).
-- column charge_amount: CLP03.
-- column paid_amount: CLP04.
-- column patient_responsibility_amount: CLP05.
-- column non_pr_adjustment_amount: Sum of the claim's CO/OA/PI adjustments, claim and line level.
-- column provider_absorbed_amount: Sum of adjustments the provider absorbs (ref.carc_group_guidance).
-- column line_count: Number of service lines.
-- column denied_line_count: Lines fully or partially denied (marts.line_outcomes).
-- column dental_line_count: Dental lines.
-- column is_dental_claim: Any dental line, or CLP06 = 17 (dental maintenance organization).
-- column is_zero_paid: Counts as a remit and CLP04 = 0.
-- column is_denied: Denied claim (see description).
-- column denied_amount: Denied dollars of the remit (kind denial, claim and line level); 0 for non-remits.
-- column top_denial_group_code: Group code of the top denial adjustment.
-- column top_denial_reason_code: The CARC of kind denial carrying the most dollars (claim and line level
--   summed per group and CARC; ties: lowest group code, then CARC). NULL without denied dollars.
-- column top_denial_amount: Dollars of that group and CARC on the claim.
-- column denial_category: ref.carc.category of the top denial CARC.
-- column is_crossover: The claim carries a crossover CARC (ref.carc.is_crossover).
-- column is_duplicate: The claim carries a duplicate adjustment (CARC 18, B13, B20): counted apart.
-- column is_redirect: The claim carries a redirect adjustment (ref.carc.is_redirect, not PR): counted apart.
-- unique_key: claim_id
-- tests: not_null(payment_month), not_null(is_denied), not_null(denied_amount),
--   accepted_values(netting_role: original correction reversal_unmatched)
WITH claim_adjustments AS (
    SELECT
        claim_id,
        sum(CASE WHEN group_code <> 'PR' THEN amount ELSE 0 END) AS non_pr,
        sum(CASE WHEN is_provider_absorbed THEN amount ELSE 0 END) AS absorbed,
        max(CASE WHEN is_crossover THEN 1 ELSE 0 END) = 1 AS has_crossover,
        sum(CASE WHEN adjustment_kind = 'denial' THEN amount ELSE 0 END) AS denied,
        max(CASE WHEN adjustment_kind = 'duplicate' AND amount > 0 THEN 1 ELSE 0 END) = 1 AS has_duplicate,
        max(CASE WHEN adjustment_kind = 'redirect' AND amount > 0 THEN 1 ELSE 0 END) = 1 AS has_redirect
    FROM marts.adjustment_detail
    GROUP BY claim_id
),
carc_dollars AS (
    SELECT claim_id, group_code, reason_code, sum(amount) AS dollars
    FROM marts.adjustment_detail
    WHERE adjustment_kind = 'denial'
    GROUP BY claim_id, group_code, reason_code
),
top_carc AS (
    -- the CARC's category here, on the claims with denied dollars, not on the million-row join below
    SELECT x.claim_id, x.group_code, x.reason_code, x.dollars, k.category
    FROM (
        SELECT
            *,
            row_number() OVER (PARTITION BY claim_id ORDER BY dollars DESC, group_code, reason_code) AS pick
        FROM carc_dollars
    ) AS x
    LEFT JOIN ref.carc AS k ON k.code = x.reason_code
    WHERE x.pick = 1 AND x.dollars > 0
),
claim_lines AS (
    SELECT
        claim_id,
        count(*) AS line_count,
        count(CASE WHEN is_denied THEN 1 END) AS denied_line_count,
        count(CASE WHEN is_dental THEN 1 END) AS dental_line_count,
        sum(denied_amount) AS line_denied_amount
    FROM marts.line_outcomes
    GROUP BY claim_id
),
base AS (
    SELECT
        c.*,
        n.netting_role,
        n.replaces_claim_id,
        n.counts_as_remit,
        coalesce(s.is_forwarded, false) AS is_forwarded,
        CAST(coalesce(a.non_pr, 0) AS DECIMAL(18, 2)) AS non_pr_adjustment_amount,
        CAST(coalesce(a.absorbed, 0) AS DECIMAL(18, 2)) AS provider_absorbed_amount,
        coalesce(a.has_crossover, false) AS is_crossover,
        coalesce(a.has_duplicate, false) AS is_duplicate,
        coalesce(a.has_redirect, false) AS is_redirect,
        coalesce(a.denied, 0) AS denied_dollars,
        coalesce(cl.line_count, 0) AS service_line_count,  -- lines after netting, not the lake's LX count
        coalesce(cl.denied_line_count, 0) AS denied_line_count,
        coalesce(cl.dental_line_count, 0) AS dental_line_count,
        (n.counts_as_remit AND c.paid_amount = 0 AND coalesce(a.denied, 0) > 0) AS is_denied
    FROM intermediate.int_claims AS c
    INNER JOIN intermediate.int_claim_netting AS n ON n.claim_id = c.claim_id AND NOT n.is_netted_out
    LEFT JOIN ref.claim_status_codes AS s ON s.code = c.claim_status_code
    LEFT JOIN claim_adjustments AS a ON a.claim_id = c.claim_id
    LEFT JOIN claim_lines AS cl ON cl.claim_id = c.claim_id
)
SELECT
    b.claim_id,
    b.transaction_id,
    b.payment_month,
    b.payment_date,
    b.payer_key,
    d.payer_name,
    d.plan_type,
    b.payee_key,
    b.payer_claim_control_number,
    b.patient_key,
    b.claim_status_code,
    b.claim_filing_indicator,
    b.netting_role,
    b.replaces_claim_id,
    b.counts_as_remit,
    b.is_forwarded,
    b.charge_amount,
    b.paid_amount,
    b.patient_responsibility_amount,
    b.non_pr_adjustment_amount,
    b.provider_absorbed_amount,
    b.service_line_count AS line_count,
    b.denied_line_count,
    b.dental_line_count,
    (b.dental_line_count > 0 OR b.claim_filing_indicator = '17') AS is_dental_claim,
    (b.counts_as_remit AND b.paid_amount = 0) AS is_zero_paid,
    b.is_denied,
    CAST(CASE WHEN b.counts_as_remit THEN b.denied_dollars ELSE 0 END AS DECIMAL(18, 2)) AS denied_amount,
    t.group_code AS top_denial_group_code,
    t.reason_code AS top_denial_reason_code,
    CAST(t.dollars AS DECIMAL(18, 2)) AS top_denial_amount,
    t.category AS denial_category,
    b.is_crossover,
    b.is_duplicate,
    b.is_redirect
FROM base AS b
INNER JOIN marts.dim_payer AS d ON d.payer_key = b.payer_key
LEFT JOIN top_carc AS t ON t.claim_id = b.claim_id
