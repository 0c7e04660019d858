-- name: intermediate.int_adjustment_kinds
-- materialized: ephemeral
-- incremental: claim_id
-- grain: one row per CAS adjustment (before netting) whose kind is not other, plus every OA-23
-- depends_on: intermediate.int_adjustments, intermediate.int_claims, intermediate.int_carc_group_kinds
-- description: Each adjustment with its kind (intermediate.int_carc_group_kinds, docs/metrics.md):
--   denial (a denial CARC, ref.carc.is_denial, not of category duplicate, under CO, OA or PI),
--   patient_denial (the same under PR), duplicate (category duplicate: 18, B13, B20; any group),
--   redirect (ref.carc.is_redirect, any group but PR) or other (contractual CO-45, capitation CO-24,
--   prior payer OA-23, cost sharing PR-1/2/3 ...; not an event). Adjustments of kind other are left out
--   (most rows: absent here means other), except OA-23, which marks a secondary's remit.
-- column adjustment_id: Key of the adjustment (an integer, docs/parser.md "Keys and ids").
-- column claim_id: Claim the adjustment belongs to.
-- column line_id: Service line; NULL at claim level.
-- column group_code: CAS01 group code.
-- column reason_code: CARC.
-- column amount: Adjustment amount.
-- column is_reversal: The claim is a reversal (CLP02 22): its adjustments are never events.
-- column kind: denial, patient_denial, duplicate, redirect or other.
-- column is_crossover: The CARC is a crossover code (ref.carc.is_crossover).
-- unique_key: adjustment_id
-- tests: not_null(kind), accepted_values(kind: denial patient_denial duplicate redirect other)
WITH kinded AS (
    -- kinds first: the few adjustments that are not of kind other go on to the join with the claims
    SELECT
        a.adjustment_id,
        a.claim_id,
        a.line_id,
        a.group_code,
        a.reason_code,
        a.amount,
        coalesce(k.kind, 'other') AS kind,
        coalesce(k.is_crossover, false) AS is_crossover
    FROM intermediate.int_adjustments AS a
    LEFT JOIN intermediate.int_carc_group_kinds AS k
        ON k.reason_code = a.reason_code AND k.group_code = a.group_code
    WHERE k.kind <> 'other' OR (a.group_code = 'OA' AND a.reason_code = '23')
)
SELECT
    a.adjustment_id,
    a.claim_id,
    a.line_id,
    a.group_code,
    a.reason_code,
    a.amount,
    c.is_reversal,
    a.kind,
    a.is_crossover
FROM kinded AS a
INNER JOIN intermediate.int_claims AS c ON c.claim_id = a.claim_id
