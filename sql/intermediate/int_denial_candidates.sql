-- name: intermediate.int_denial_candidates
-- materialized: ephemeral
-- incremental: claim_id
-- grain: one row per denial unit (intermediate.int_denial_units), each resolved as if it were an event
-- depends_on: intermediate.int_denial_units, intermediate.int_claims, intermediate.int_lines,
--   intermediate.int_claim_netting, intermediate.int_lifecycle_settings
-- description: Every denial unit with its resolution (rules in docs/metrics.md), before repeats are
--   removed (intermediate.int_denial_events). D = the unit's payment date, W = resolution_window_days:
--   patient_denial -> transferred_to_patient on D; the first later remit of the episode that pays the unit
--   within D + W -> corrected_paid (CLP09 7, or a new CLP07) or overturned (same CLP07, or REF*F8 = the
--   denying CLP07); for redirects and crossover denials the first later remit of another payer with the
--   same CLP01 paying > 0 -> redirected (the earlier of the two wins); else reversed when the denying remit
--   was reversed; else written_off when as_of_date >= D + W (on D + W); else open.
-- column denial_id: Id of the unit.
-- column claim_id: The denying remit.
-- column level: claim or line.
-- column line_key: Line key for level line.
-- column line_id: First service line of the unit (level line).
-- column kind: denial, patient_denial or redirect.
-- column group_code: Top reason group code.
-- column reason_code: Top reason CARC.
-- column top_is_crossover: The top CARC is a crossover code.
-- column denied_amount: Dollars of the unit's kind.
-- column remark_codes: Remark codes of the unit, space separated.
-- column seq: Claim order of the denying remit.
-- column episode_id: Episode of the denying remit.
-- column payer_key: Payer identity.
-- column patient_control_number: CLP01.
-- column payer_claim_control_number: CLP07 of the denying remit.
-- column first_denied_date: Payment date of the denying remit (D).
-- column window_end: D + W.
-- column reversed_on: Payment date of the reversal that matched the denying remit, if any.
-- column as_of_date: The warehouse's as-of date.
-- column resolution: open, overturned, corrected_paid, redirected, transferred_to_patient, reversed or
--   written_off.
-- column resolution_date: When it was resolved; NULL when open.
-- column resolved_by_claim_id: The remit that paid it.
-- column recovered_amount: What the resolving remit paid for the unit, at most denied_amount.
-- column chain: episode_id | level | line key | kind: units of one chain can repeat each other.
-- unique_key: denial_id
-- tests: not_null(resolution), accepted_values(resolution: open overturned corrected_paid redirected
--   transferred_to_patient reversed written_off)
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
)
SELECT
    *,
    episode_id || '|' || level || '|' || coalesce(line_key, '') || '|' || kind AS chain
FROM resolved
