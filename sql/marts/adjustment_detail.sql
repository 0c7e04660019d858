-- name: marts.adjustment_detail
-- materialized: table
-- incremental: claim_id
-- grain: one row per CAS adjustment (claim or line level) of a claim that survives reversal netting
-- depends_on: intermediate.int_adjustments, intermediate.int_carc_group_kinds, intermediate.int_claim_netting,
--   ref.carc, ref.carc_group_guidance
-- description: Every adjustment after netting, with the CARC and group-guidance flags the marts need per
--   row (ref.carc, ref.carc_group_guidance). The base of the denial, write-off, crossover and appeal
--   marts; CARC wording and guidance text are joined after aggregation (kept out of this large table).
-- column adjustment_id: Key of the adjustment (an integer, docs/parser.md "Keys and ids").
-- column claim_id: Claim the adjustment belongs to.
-- column line_id: Service line for line-level adjustments; NULL at claim level.
-- column level: 'claim' or 'line'.
-- column payment_month: Payment month 'YYYY-MM' of the claim's payment.
-- column payer_key: Payer identity.
-- column is_reversal: The claim is a reversal (an unmatched one: matched reversals are netted out).
-- column group_code: CAS01 group code.
-- column reason_code: CARC.
-- column amount: Adjustment amount (positive reduces payment).
-- column is_denial: The CARC is a denial reason (ref.carc.is_denial); false for unknown codes.
-- column is_crossover: The CARC is a dental-medical(-pharmacy) crossover code (ref.carc.is_crossover).
-- column appealable: An appeal or reconsideration is a reasonable route.
-- column is_provider_absorbed: The provider absorbs the amount (ref.carc_group_guidance); false when no
--   guidance row exists (legacy CR group, unknown CARC).
-- column adjustment_kind: denial, patient_denial, duplicate, redirect or other (intermediate.int_carc_group_kinds:
--   only kind denial is counted as denied dollars).
-- unique_key: adjustment_id
-- tests: not_null(claim_id), not_null(adjustment_kind),
--   accepted_values(adjustment_kind: denial patient_denial duplicate redirect other)
-- column absorbed_category: expected_contractual, denial_writeoff, payer_initiated or other when absorbed.
SELECT
    a.adjustment_id,
    a.claim_id,
    a.line_id,
    a.level,
    a.payment_month,
    a.payer_key,
    n.netting_role = 'reversal_unmatched' AS is_reversal,
    a.group_code,
    a.reason_code,
    a.amount,
    coalesce(k.is_denial, false) AS is_denial,
    coalesce(k.is_crossover, false) AS is_crossover,
    coalesce(g.appealable, false) AS appealable,
    coalesce(g.is_provider_absorbed, false) AS is_provider_absorbed,
    CASE WHEN g.is_provider_absorbed THEN g.absorbed_category END AS absorbed_category,
    coalesce(ak.kind, 'other') AS adjustment_kind
FROM intermediate.int_adjustments AS a
INNER JOIN intermediate.int_claim_netting AS n ON n.claim_id = a.claim_id AND NOT n.is_netted_out
LEFT JOIN intermediate.int_carc_group_kinds AS ak ON ak.reason_code = a.reason_code AND ak.group_code = a.group_code
LEFT JOIN ref.carc AS k ON k.code = a.reason_code
LEFT JOIN ref.carc_group_guidance AS g ON g.reason_code = a.reason_code AND g.group_code = a.group_code
