-- name: staging.stg_submitted_lines
-- materialized: view
-- grain: one row per LX service line (SV1, SV2 or SV3) of a claim in staging.stg_submitted_claims
-- depends_on: lake.submitted_lines
-- description: Service lines of the submitted claims (837), 1:1 with lake.submitted_lines.
-- column file_key: 64-bit key of the 837 file (its file_id is on staging.stg_submitted_claims).
-- column claim_number: CLM position in the file of the claim the line belongs to.
-- column submitted_claim_id: Claim the line belongs to (staging.stg_submitted_claims).
-- column line_number: LX01 assigned number.
-- column line_control_number: REF*6R of loop 2400, the provider's line number (the 835's REF*6R); NULL if absent.
-- column procedure_qualifier: SV101-1 / SV202-1 / SV301-1 (HC, AD, ...).
-- column procedure_code: SV101-2 / SV202-2 / SV301-2.
-- column modifiers: Procedure modifiers, comma-joined in order; NULL if none.
-- column revenue_code: SV201 revenue code (837I); NULL otherwise.
-- column line_charge: SV102 / SV203 / SV302 line charge.
-- column units: SV104 / SV205 units; 1 for dental lines (SV3 has no unit count).
-- column service_date: DTP*472 of loop 2400 (first day of a range), else the claim's statement_from.
-- column tooth_number: TOO02 of an 837D line (the first one); NULL otherwise.
-- column service_date_to: Last day of a DTP*472 range, else service_date.
-- column segment_number: Position of the LX segment within its ST (ST = 1).
-- tests: not_null(submitted_claim_id), not_null(line_number)
SELECT
    l.file_key,
    l.claim_number,
    CAST(l.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(l.claim_number AS BIGINT) * 4294967296 AS submitted_claim_id,
    CAST(l.line_number AS INTEGER) AS line_number,
    l.line_control_number,
    l.procedure_qualifier,
    l.procedure_code,
    l.modifiers,
    l.revenue_code,
    CAST(l.line_charge AS DECIMAL(18, 2)) AS line_charge,
    CAST(l.units AS DECIMAL(18, 3)) AS units,
    l.service_date,
    l.tooth_number,
    l.service_date_to,
    CAST(l.segment_number AS INTEGER) AS segment_number
FROM lake.submitted_lines AS l
