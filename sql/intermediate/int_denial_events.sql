-- name: intermediate.int_denial_events
-- materialized: ephemeral
-- incremental: claim_id
-- grain: one row per denial event: a denial unit on the remit where it first appears
-- depends_on: intermediate.int_denial_candidates
-- description: Denial events: the resolved units of intermediate.int_denial_candidates without their
--   repeats (rules in docs/metrics.md). A unit is a repeat, not an event, when an earlier unit of the same
--   episode, level, line key and kind that is itself an event is still unresolved on its payment date
--   (two passes: earlier units, then earlier first-pass events).
-- column denial_id: Id of the unit where the denial first appears.
-- column claim_id: The denying remit.
-- column episode_id: Episode (CLP01 + payer) of the denying remit.
-- column seq: Claim order of the denying remit.
-- column level: claim or line.
-- column line_key: Line key for level line.
-- column line_id: First service line of the unit (level line).
-- column kind: denial, patient_denial or redirect.
-- column group_code: Top reason group code.
-- column reason_code: Top reason CARC.
-- column remark_codes: Remark codes of the unit, space separated.
-- column denied_amount: Dollars of the unit's kind.
-- column first_denied_date: Payment date of the denying remit (D).
-- column resolution: open, overturned, corrected_paid, redirected, transferred_to_patient, reversed or
--   written_off.
-- column resolution_date: Date of the resolving remit, of the reversal, D + W for written_off, D for
--   transferred_to_patient; NULL when open.
-- column resolved_by_claim_id: The remit that paid it (overturned, corrected_paid, redirected).
-- column recovered_amount: What the resolving remit paid for the unit, at most denied_amount; else 0.
-- column writeoff_amount: denied_amount - recovered_amount for kind denial resolved written_off,
--   overturned or corrected_paid; else 0.
-- unique_key: denial_id
-- tests: not_null(resolution), not_null(first_denied_date),
--   accepted_values(resolution: open overturned corrected_paid redirected transferred_to_patient reversed
--   written_off)
WITH pass1 AS (
    -- a unit is a repeat when an earlier unit of its chain is unresolved on its payment date: the latest
    -- resolution date among the earlier units (open = never) is after that date
    SELECT
        *,
        coalesce(max(coalesce(resolution_date, DATE '9999-12-31')) OVER (
            PARTITION BY chain ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) > first_denied_date, false) AS is_repeat1
    FROM intermediate.int_denial_candidates
),
pass2 AS (
    -- the same against first-pass events only: a repeat's own resolution does not keep a chain open
    SELECT
        *,
        coalesce(max(CASE WHEN NOT is_repeat1 THEN coalesce(resolution_date, DATE '9999-12-31') END) OVER (
            PARTITION BY chain ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) > first_denied_date, false) AS is_repeat
    FROM pass1
)
SELECT
    g.denial_id,
    g.claim_id,
    g.episode_id,
    g.seq,
    g.level,
    g.line_key,
    g.line_id,
    g.kind,
    g.group_code,
    g.reason_code,
    g.remark_codes,
    g.denied_amount,
    g.first_denied_date,
    g.resolution,
    g.resolution_date,
    g.resolved_by_claim_id,
    g.recovered_amount,
    CAST(CASE
        WHEN g.kind = 'denial' AND g.resolution IN ('written_off', 'overturned', 'corrected_paid')
            THEN g.denied_amount - g.recovered_amount
        ELSE 0
    END AS DECIMAL(38, 2)) AS writeoff_amount
FROM pass2 AS g
WHERE NOT g.is_repeat
