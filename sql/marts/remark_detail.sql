-- name: marts.remark_detail
-- materialized: table
-- incremental: claim_id
-- grain: one row per distinct (claim, line, remark code) of a claim that survives reversal netting
-- depends_on: staging.stg_remarks, intermediate.int_claim_netting
-- description: The remark codes (RARC) each claim and service line carries, once each, for the claims
--   that survive reversal netting (as marts.adjustment_detail holds their adjustments). The base of the
--   handbook's remark marts; keyed by claim, so a night knows the remarks of its claims as they were and
--   as they are (those marts are additive, sql/conventions.md). Join marts.claim_outcomes or
--   marts.line_outcomes by claim_id or line_id for the payer, month or procedure.
-- column claim_id: Claim the remark belongs to.
-- column line_id: Service line of a line-level remark (LQ); NULL at claim level (MIA, MOA).
-- column level: 'claim' or 'line'.
-- column remark_code: RARC, trimmed and upper case.
-- tests: not_null(claim_id), not_null(remark_code), accepted_values(level: claim line)
SELECT DISTINCT
    r.claim_id,
    r.line_id,
    r.level,
    r.remark_code
FROM staging.stg_remarks AS r
INNER JOIN intermediate.int_claim_netting AS n ON n.claim_id = r.claim_id AND NOT n.is_netted_out
