-- name: intermediate.int_denial_events
-- materialized: table
-- grain: one row per denial event: a denial unit on the remit where it first appears
-- depends_on: intermediate.int_denial_units, intermediate.int_claims, intermediate.int_lines,
--   intermediate.int_claim_netting, intermediate.int_lifecycle_settings
-- description: Denial events and their resolution (rules in docs/metrics.md). Each unit of
--   intermediate.int_denial_units is resolved on the claims after it in claim order within the window
--   (D = its payment date, W = resolution_window_days): patient_denial -> transferred_to_patient on D; the
--   first later remit of the episode that pays the unit -> corrected_paid (CLP09 7, or a new CLP07) or
--   overturned (same CLP07, or REF*F8 = the denying CLP07); for redirects and crossover denials the first
--   later remit of another payer with the same CLP01 paying > 0 -> redirected (the earlier of the two
--   wins); else reversed when the denying remit was reversed; else written_off when as_of_date >= D + W
--   (resolution on D + W); else open. A unit is a repeat, not an event, when an earlier unit of the same
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
-- column age_days: (resolution_date, else as_of_date) - first_denied_date, in days.
-- unique_key: denial_id
-- tests: not_null(resolution), not_null(first_denied_date), not_null(age_days),
--   accepted_values(resolution: open overturned corrected_paid redirected transferred_to_patient reversed
--   written_off)
WITH cand AS (
    SELECT
        u.*,
        c.seq,
        c.episode_id,
        c.payer_key,
        c.patient_control_number,
        c.payer_claim_control_number,
        c.payment_date AS first_denied_date,
        date_add(c.payment_date, s.resolution_window_days) AS window_end,
        CASE WHEN n.netting_role = 'original_reversed' THEN r.payment_date END AS reversed_on,
        s.as_of_date
    FROM intermediate.int_denial_units AS u
    INNER JOIN intermediate.int_claims AS c ON c.claim_id = u.claim_id
    INNER JOIN intermediate.int_claim_netting AS n ON n.claim_id = u.claim_id
    LEFT JOIN intermediate.int_claims AS r ON r.claim_id = n.matched_claim_id
    CROSS JOIN intermediate.int_lifecycle_settings AS s
),
line_paid AS (
    SELECT claim_id, line_key, sum(paid_amount) AS paid
    FROM intermediate.int_lines
    GROUP BY claim_id, line_key
),
later AS (
    -- later non-reversal remits inside the window: of the same episode, or (redirects and crossover
    -- denials) of another payer with the same CLP01
    SELECT
        u.denial_id,
        p.seq,
        p.claim_id,
        p.payment_date,
        CASE WHEN u.level = 'claim' THEN p.paid_amount ELSE lp.paid END AS unit_paid,
        CASE
            WHEN p.claim_frequency_code = '7' THEN 'corrected_paid'
            WHEN p.payer_claim_control_number = u.payer_claim_control_number
                OR p.original_reference_number = u.payer_claim_control_number THEN 'overturned'
            ELSE 'corrected_paid'
        END AS resolution
    FROM cand AS u
    INNER JOIN intermediate.int_claims AS p
        ON p.episode_id = u.episode_id AND p.seq > u.seq AND p.payment_date <= u.window_end
    LEFT JOIN line_paid AS lp ON lp.claim_id = p.claim_id AND lp.line_key = u.line_key
    WHERE NOT p.is_reversal AND u.kind <> 'patient_denial'
        AND ((u.level = 'claim' AND p.paid_amount > 0) OR (u.level = 'line' AND lp.paid > 0))
    UNION ALL
    SELECT
        u.denial_id,
        p.seq,
        p.claim_id,
        p.payment_date,
        CASE WHEN u.level = 'line' AND lp.claim_id IS NOT NULL THEN lp.paid ELSE p.paid_amount END,
        'redirected'
    FROM cand AS u
    INNER JOIN intermediate.int_claims AS p
        ON p.patient_control_number = u.patient_control_number
        AND p.payer_key <> u.payer_key
        AND p.seq > u.seq
        AND p.payment_date <= u.window_end
    LEFT JOIN line_paid AS lp ON lp.claim_id = p.claim_id AND lp.line_key = u.line_key
    WHERE NOT p.is_reversal AND p.paid_amount > 0
        AND (u.kind = 'redirect' OR (u.kind = 'denial' AND u.top_is_crossover))
),
first_later AS (
    SELECT *
    FROM (SELECT *, row_number() OVER (PARTITION BY denial_id ORDER BY seq) AS pick FROM later) AS x
    WHERE pick = 1
),
resolved AS (
    SELECT
        u.*,
        CASE
            WHEN u.kind = 'patient_denial' THEN 'transferred_to_patient'
            WHEN f.denial_id IS NOT NULL THEN f.resolution
            WHEN u.reversed_on IS NOT NULL THEN 'reversed'
            WHEN u.as_of_date >= u.window_end THEN 'written_off'
            ELSE 'open'
        END AS resolution,
        CASE
            WHEN u.kind = 'patient_denial' THEN u.first_denied_date
            WHEN f.denial_id IS NOT NULL THEN f.payment_date
            WHEN u.reversed_on IS NOT NULL THEN u.reversed_on
            WHEN u.as_of_date >= u.window_end THEN u.window_end
        END AS resolution_date,
        CASE WHEN u.kind <> 'patient_denial' THEN f.claim_id END AS resolved_by_claim_id,
        CAST(CASE
            WHEN u.kind <> 'patient_denial' AND f.denial_id IS NOT NULL THEN least(f.unit_paid, u.denied_amount)
            ELSE 0
        END AS DECIMAL(38, 2)) AS recovered_amount
    FROM cand AS u
    LEFT JOIN first_later AS f ON f.denial_id = u.denial_id
),
grouped AS (
    SELECT *, episode_id || '|' || level || '|' || coalesce(line_key, '') || '|' || kind AS chain
    FROM resolved
),
pass1 AS (
    -- a unit is a repeat when an earlier unit of its chain is unresolved on its payment date
    SELECT g.denial_id
    FROM grouped AS g
    INNER JOIN grouped AS e
        ON e.chain = g.chain AND e.seq < g.seq
        AND (e.resolution_date IS NULL OR e.resolution_date > g.first_denied_date)
    GROUP BY g.denial_id
),
events1 AS (
    SELECT g.*
    FROM grouped AS g
    LEFT JOIN pass1 AS r ON r.denial_id = g.denial_id
    WHERE r.denial_id IS NULL
),
pass2 AS (
    -- the same against first-pass events only: a repeat's own resolution does not keep a chain open
    SELECT g.denial_id
    FROM grouped AS g
    INNER JOIN events1 AS e
        ON e.chain = g.chain AND e.seq < g.seq
        AND (e.resolution_date IS NULL OR e.resolution_date > g.first_denied_date)
    GROUP BY g.denial_id
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
    END AS DECIMAL(38, 2)) AS writeoff_amount,
    datediff('day', g.first_denied_date, coalesce(g.resolution_date, g.as_of_date)) AS age_days
FROM grouped AS g
LEFT JOIN pass2 AS r ON r.denial_id = g.denial_id
WHERE r.denial_id IS NULL
