-- name: intermediate.int_carc_group_kinds
-- materialized: ephemeral
-- incremental: full
-- grain: one row per CARC (ref.carc) x group code (ref.group_codes)
-- depends_on: ref.carc, ref.group_codes
-- description: The one definition of an adjustment's kind (docs/metrics.md), as a small lookup by CARC
--   and group: denial (a denial CARC, ref.carc.is_denial, not of category duplicate, under CO, OA or
--   PI), patient_denial (the same under PR), duplicate (category duplicate: 18, B13, B20; any group),
--   redirect (ref.carc.is_redirect, any group but PR) or other (contractual CO-45, capitation CO-24,
--   prior payer OA-23, cost sharing PR-1/2/3 ...). A CARC or group not in the reference is other. Joined
--   by code (a few thousand rows), so the millions of adjustments never join on their ids to get it.
-- unique_key: reason_code, group_code
-- tests: not_null(kind), accepted_values(kind: denial patient_denial duplicate redirect other)
-- column reason_code: CARC (ref.carc.code).
-- column group_code: Group code (ref.group_codes.code).
-- column kind: denial, patient_denial, duplicate, redirect or other.
-- column is_crossover: The CARC is a crossover code (ref.carc.is_crossover).
SELECT
    k.code AS reason_code,
    g.code AS group_code,
    CASE
        WHEN k.category = 'duplicate' THEN 'duplicate'
        WHEN k.is_denial AND g.code IN ('CO', 'OA', 'PI') THEN 'denial'
        WHEN k.is_denial AND g.code = 'PR' THEN 'patient_denial'
        WHEN k.is_redirect AND g.code <> 'PR' THEN 'redirect'
        ELSE 'other'
    END AS kind,
    coalesce(k.is_crossover, false) AS is_crossover
FROM ref.carc AS k
CROSS JOIN ref.group_codes AS g
