-- name: intermediate.int_lines
-- materialized: ephemeral
-- incremental: claim_id
-- grain: one row per service line (before netting) of a claim whose CLP01 has a denial event candidate
-- depends_on: intermediate.int_service_lines, intermediate.int_claims, intermediate.int_adjustment_kinds
-- description: Service lines with the key that follows a line across remits: REF*6R line control
--   number, else procedure code || service date (the line's DTM*472/150, else the claim's statement
--   start, as 'YYYY-MM-DD' text). Only lines the lifecycle can use are kept: those of claims whose
--   patient control number (any payer: a redirect is paid by another plan) carries an adjustment of an
--   event kind (denial, patient_denial, redirect); most claims have none.
-- column line_id: Key of the line (an integer, docs/parser.md "Keys and ids").
-- column claim_id: Claim the line belongs to.
-- column line_key: REF*6R, else procedure_code || service date.
-- column paid_amount: SVC03.
-- unique_key: line_id
-- tests: not_null(claim_id)
WITH event_claims AS (
    -- the claims first (a million rows, read from memory), then their lines: over the staging view the
    -- planner expected a handful of lines and built the IN list's hash table on the lines side
    SELECT c.claim_id, c.statement_from_date
    FROM intermediate.int_claims AS c
    WHERE coalesce(c.patient_control_number, '') IN (
        SELECT coalesce(ec.patient_control_number, '')
        FROM intermediate.int_adjustment_kinds AS a
        INNER JOIN intermediate.int_claims AS ec ON ec.claim_id = a.claim_id
        WHERE a.kind IN ('denial', 'patient_denial', 'redirect')
    )
)
SELECT
    l.line_id,
    l.claim_id,
    coalesce(
        l.line_control_number,
        l.procedure_code || CAST(coalesce(l.service_date, c.statement_from_date) AS VARCHAR)
    ) AS line_key,
    l.paid_amount
FROM intermediate.int_service_lines AS l
INNER JOIN event_claims AS c ON c.claim_id = l.claim_id
