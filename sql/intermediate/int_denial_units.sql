-- name: intermediate.int_denial_units
-- materialized: ephemeral
-- incremental: claim_id
-- grain: one row per denial unit (claim x level x line key) with event-kind dollars, non-reversal claims
-- depends_on: intermediate.int_adjustment_kinds, intermediate.int_lines, intermediate.int_claims,
--   staging.stg_remarks, staging.stg_payments
-- description: Denial event candidates. A claim paid 0 (CLP04 = 0) is one unit at level claim holding all
--   its adjustments (claim and line CAS); a claim paid more is one unit per line key whose line CAS
--   carries event-kind dollars (level line) plus one claim-level unit for its claim CAS. Only adjustments
--   of kind denial, patient_denial and redirect count. The top reason is the (group, CARC) with the most
--   event-kind dollars (ties: lowest group code, then CARC as text); its kind is the unit's kind, and
--   denied_amount sums the unit's dollars of that kind.
-- column denial_id: First 16 hex characters of md5(claim_id || '|' || level || '|' || coalesce(line_key, '')).
-- column claim_id: Claim (remit) the unit is on.
-- column level: claim or line.
-- column line_key: For level line, the line key (intermediate.int_lines); NULL for level claim.
-- column line_id: For level line, the first service line with that key.
-- column kind: denial, patient_denial or redirect (the top reason's kind).
-- column group_code: Group code of the top reason.
-- column reason_code: CARC of the top reason.
-- column top_is_crossover: The top CARC is a crossover code (ref.carc.is_crossover, e.g. 289).
-- column denied_amount: Sum of the unit's adjustment dollars of its kind.
-- column remark_codes: The unit's remark codes (claim MIA/MOA plus LQ of the unit's lines; NCPDP LQ_RX
--   codes left out), distinct, sorted, space separated; NULL when none.
-- unique_key: denial_id
-- tests: not_null(kind), accepted_values(kind: denial patient_denial redirect),
--   accepted_values(level: claim line), not_null(reason_code)
WITH placed AS (
    SELECT
        a.claim_id,
        CASE WHEN c.paid_amount = 0 OR a.line_id IS NULL THEN 'claim' ELSE 'line' END AS level,
        CASE WHEN c.paid_amount <> 0 AND a.line_id IS NOT NULL THEN l.line_key END AS line_key,
        CASE WHEN c.paid_amount <> 0 THEN a.line_id END AS line_id,
        a.group_code,
        a.reason_code,
        a.kind,
        a.is_crossover,
        a.amount,
        c.transaction_id,
        c.claim_ordinal
    FROM intermediate.int_adjustment_kinds AS a
    INNER JOIN intermediate.int_claims AS c ON c.claim_id = a.claim_id
    LEFT JOIN intermediate.int_lines AS l ON l.line_id = a.line_id
    WHERE a.kind IN ('denial', 'patient_denial', 'redirect') AND NOT a.is_reversal AND a.amount > 0
),
keyed AS (
    -- the id hashes the claim's readable id, staging.stg_claims.claim_ref (transaction_ref '-' CLP
    -- position), made here from the payment's ref: the same ids as ever, without a scan of the claims
    SELECT
        substr(
            md5(t.transaction_ref || '-' || CAST(p.claim_ordinal AS VARCHAR) || '|' || p.level || '|'
                || coalesce(p.line_key, '')),
            1, 16
        ) AS denial_id,
        p.*
    FROM placed AS p
    INNER JOIN staging.stg_payments AS t ON t.transaction_id = p.transaction_id
),
reasons AS (
    SELECT
        denial_id,
        claim_id,
        level,
        line_key,
        group_code,
        reason_code,
        kind,
        bool_or(is_crossover) AS is_crossover,
        min(line_id) AS line_id,
        sum(amount) AS dollars
    FROM keyed
    GROUP BY denial_id, claim_id, level, line_key, group_code, reason_code, kind
),
ranked AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY denial_id ORDER BY dollars DESC, group_code, reason_code) AS pick,
        sum(dollars) OVER (PARTITION BY denial_id, kind) AS kind_dollars,
        min(line_id) OVER (PARTITION BY denial_id) AS unit_line_id
    FROM reasons
),
units AS (
    SELECT
        r.denial_id,
        r.claim_id,
        r.level,
        r.line_key,
        r.unit_line_id AS line_id,
        r.kind,
        r.group_code,
        r.reason_code,
        r.is_crossover AS top_is_crossover,
        CAST(r.kind_dollars AS DECIMAL(38, 2)) AS denied_amount,
        c.paid_amount AS claim_paid_amount
    FROM ranked AS r
    INNER JOIN intermediate.int_claims AS c ON c.claim_id = r.claim_id
    WHERE r.pick = 1
),
unit_remarks AS (
    SELECT u.denial_id, m.remark_code
    FROM units AS u
    INNER JOIN staging.stg_remarks AS m ON m.claim_id = u.claim_id
    WHERE m.line_id IS NULL AND m.source <> 'LQ_RX'
    UNION
    SELECT u.denial_id, m.remark_code
    FROM units AS u
    INNER JOIN intermediate.int_lines AS l
        ON l.claim_id = u.claim_id
        AND ((u.level = 'claim' AND u.claim_paid_amount = 0) OR (u.level = 'line' AND l.line_key = u.line_key))
    INNER JOIN staging.stg_remarks AS m ON m.line_id = l.line_id
    WHERE m.source <> 'LQ_RX'
),
remarks AS (
    SELECT denial_id, array_to_string(list_sort(list_distinct(list(remark_code))), ' ') AS remark_codes
    FROM unit_remarks
    GROUP BY denial_id
)
SELECT
    u.denial_id,
    u.claim_id,
    u.level,
    u.line_key,
    u.line_id,
    u.kind,
    u.group_code,
    u.reason_code,
    u.top_is_crossover,
    u.denied_amount,
    r.remark_codes
FROM units AS u
LEFT JOIN remarks AS r ON r.denial_id = u.denial_id
