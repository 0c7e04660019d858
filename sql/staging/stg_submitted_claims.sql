-- name: staging.stg_submitted_claims
-- materialized: view
-- grain: one row per CLM claim (2300 loop) of a loaded 837P, 837I or 837D file
-- depends_on: lake.submitted_claims
-- description: Claims submitted to payers (837), 1:1 with lake.submitted_claims: the denominator of the
--   submitted-basis denial rate and the claims no remit answers. No patient or subscriber names, ids or
--   birth dates are stored; patient_key is the same keyed hash as in staging.stg_claims.
-- column file_id: sha256 of the 837 file's bytes.
-- column transaction_id: Key of the 837 transaction (an integer made from file_key and its ST ordinal).
-- column submitted_claim_id: Key of the claim, an integer made from file_key and claim_number
--   (docs/parser.md, "Keys and ids").
-- column submitted_claim_ref: Readable id of the claim, <file_id[:24]>-<ST ordinal>-<CLM ordinal>.
-- column file_key: 64-bit key of the 837 file.
-- column claim_number: CLM position within its file, from 1.
-- column transaction_ordinal: ST position within its file, from 1.
-- column claim_type: 'professional' (005010X222A1), 'institutional' (X223A2) or 'dental' (X224A2).
-- column submission_date: BHT04, the date the submitter created the transaction.
-- column batch_id: BHT03, the submitter's reference for the transaction.
-- column patient_control_number: CLM01, the provider's claim number (the 835's CLP01).
-- column payer_id: NM1*PR 09 of loop 2010BB, the payer the claim was sent to.
-- column payer_name: NM1*PR 03 of loop 2010BB.
-- column billing_provider_npi: NM1*85 09 of loop 2010AA (NM108 = XX).
-- column rendering_provider_npi: NM1*82 09 of the claim's rendering provider loop; NULL if absent.
-- column claim_charge: CLM02 total claim charge.
-- column facility_code: CLM05-1, place of service (837P/D) or facility type (837I).
-- column frequency_code: CLM05-3 claim frequency code (1 original, 7 replacement, 8 void).
-- column payer_claim_control_number: REF*F8 of loop 2300: the payer's number of the claim corrected.
-- column statement_from: DTP*434 statement start (837I); the earliest line service date otherwise.
-- column statement_to: DTP*434 statement end (837I); the latest line service date otherwise.
-- column patient_key: Keyed hash (HMAC-SHA256) of the patient identifiers; NULL without a secret.
-- column line_count: Number of LX service lines.
-- column version: GS08 / ST03 implementation guide version.
-- column claim_ordinal: CLM position within its transaction, from 1.
-- column segment_number: Position of the CLM segment within its ST (ST = 1), as error messages count.
-- column line_charge_total: Σ line charges of the claim's service lines.
-- column is_balanced: CLM02 = Σ line charges (an 837 balancing rule; the quality gate lists claims that fail it).
-- tests: not_null(submitted_claim_id), not_null(claim_type), accepted_values(claim_type: professional institutional dental)
SELECT
    c.file_id,
    CAST(c.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(c.transaction_ordinal AS BIGINT) * 4294967296 AS transaction_id,
    CAST(c.file_key AS DECIMAL(38, 0)) * 4611686018427387904 + CAST(c.claim_number AS BIGINT) * 4294967296 AS submitted_claim_id,
    substr(c.file_id, 1, 24) || '-' || CAST(c.transaction_ordinal AS VARCHAR) || '-'
        || CAST(c.claim_ordinal AS VARCHAR) AS submitted_claim_ref,
    c.file_key,
    c.claim_number,
    c.transaction_ordinal,
    c.claim_type,
    c.submission_date,
    c.batch_id,
    c.patient_control_number,
    c.payer_id,
    c.payer_name,
    c.billing_provider_npi,
    c.rendering_provider_npi,
    CAST(c.claim_charge AS DECIMAL(18, 2)) AS claim_charge,
    c.facility_code,
    c.frequency_code,
    c.payer_claim_control_number,
    c.statement_from,
    c.statement_to,
    c.patient_key,
    CAST(c.line_count AS INTEGER) AS line_count,
    c.version,
    CAST(c.claim_ordinal AS INTEGER) AS claim_ordinal,
    CAST(c.segment_number AS INTEGER) AS segment_number,
    CAST(c.line_charge_total AS DECIMAL(18, 2)) AS line_charge_total,
    c.is_balanced
FROM lake.submitted_claims AS c
