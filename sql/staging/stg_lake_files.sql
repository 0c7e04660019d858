-- name: staging.stg_lake_files
-- materialized: view
-- grain: one row per file whose rows are in the lake (manifest status loaded or resent)
-- depends_on: lake.manifest
-- description: The files the lake holds, from its manifest, with how many rows of each table they brought
--   (a model that needs to know whether the lake holds any 837 reads it here: the night's scope cuts the
--   837 tables to its own claims, never the manifest).
-- column file_id: sha256 of the file's bytes.
-- column file_key: 64-bit key of the file (docs/parser.md, "Keys and ids").
-- column name: File name as it arrived.
-- column status: loaded or resent.
-- column loaded_at: When it was loaded.
-- column rows_claims: Claims (835 CLP) it brought.
-- column rows_submitted_claims: Submitted claims (837 CLM) it brought.
-- tests: not_null(file_id), not_null(status)
SELECT file_id, file_key, name, status, loaded_at, rows_claims, rows_submitted_claims
FROM lake.manifest
WHERE status IN ('loaded', 'resent')
