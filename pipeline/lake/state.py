"""The lake's committed state: which parts are live, which manifest generation is current.

``lake/_state.json`` is the single commit point. It is only ever replaced whole (write a temporary file,
fsync, ``os.replace``, fsync the folder), so a reader sees the old state or the new one, never a mix.
Everything it names is immutable once written: parts are never modified in place, and each commit writes
a new manifest generation ``_manifest/manifest-<generation>.parquet``. Files the state no longer names are
listed under ``retired`` with the time they left, and deleted only after a grace period (see ``gc``).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.x12.schema import MONEY, TABLES

STATE_FILE = "_state.json"
MANIFEST_DIR = "_manifest"
STAGING_DIR = "_staging"
FORMAT = 1

LOADED_STATUSES = ("loaded", "resent")  # statuses whose rows are in the lake
STATUSES = ("loaded", "resent", "duplicate", "rejected", "removed")  # removed: remit lake remove

MANIFEST_SCHEMA = pa.schema(
    [
        ("entry", pa.int64()),  # 1, 2, … in the order files were recorded
        ("file_id", pa.string()),  # sha256 of the file's bytes
        ("name", pa.string()),  # file name as found in the inbox
        ("size", pa.int64()),  # bytes
        ("loaded_at", pa.timestamp("us", tz="UTC")),  # when this entry was committed
        ("run_id", pa.string()),
        ("status", pa.string()),  # loaded | resent | duplicate | rejected | removed
        ("error", pa.string()),  # JSON (X12ParseError.as_dict()) for rejected files, else null
        ("transactions", pa.int32()),  # ST/SE transactions in the file
        ("resent_transactions", pa.int32()),  # of which resends of a transaction loaded before
        *[(f"rows_{name}", pa.int64()) for name in TABLES],
        ("payment_total", MONEY),  # Σ BPR02 over the file's transactions
        ("payer_ids", pa.list_(pa.string())),
        ("payer_names", pa.list_(pa.string())),
        ("trace_numbers", pa.list_(pa.string())),
        ("payment_months", pa.list_(pa.string())),
        ("inbox_path", pa.string()),  # where the file was found
        ("stored_as", pa.string()),  # where the raw file is kept now (.processed/ or quarantine/)
    ]
)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (manifest ``loaded_at``, retirement times)."""
    return datetime.now(UTC)


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush a file's data to disk before it is renamed into place."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically and durably (temp file in the same folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


@dataclass
class LakeState:
    """The parsed contents of ``_state.json`` (paths are relative to the lake folder)."""

    generation: int = 0
    manifest: str | None = None
    parts: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in TABLES})
    retired: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def load(cls, lake_dir: Path) -> LakeState:
        """Read the committed state; an absent file is an empty lake."""
        path = lake_dir / STATE_FILE
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text())
        if raw.get("format") != FORMAT:
            raise RuntimeError(f"{path}: unsupported lake format {raw.get('format')!r} (expected {FORMAT})")
        parts = {name: list(raw.get("parts", {}).get(name, [])) for name in TABLES}
        return cls(int(raw["generation"]), raw.get("manifest"), parts, list(raw.get("retired", [])))

    def referenced(self) -> set[str]:
        """Every file the state names (live or retired): nothing else in the lake is kept."""
        live = {p for paths in self.parts.values() for p in paths}
        if self.manifest:
            live.add(self.manifest)
        return live | {r["path"] for r in self.retired}

    def read_manifest(self, lake_dir: Path) -> pa.Table:
        """The current manifest generation (an empty table with the schema when there is none)."""
        if not self.manifest:
            return MANIFEST_SCHEMA.empty_table()
        table = pq.read_table(lake_dir / self.manifest)
        return conform(table, MANIFEST_SCHEMA)

    def commit(self, lake_dir: Path, manifest: pa.Table | None = None, retire: list[str] = ()) -> None:
        """Write a new generation: optionally a new manifest file, then ``_state.json`` (the commit).

        Parts added to ``self.parts`` must already be renamed into place and fsynced; ``retire`` lists
        files the new state stops naming (kept until the grace period ends).
        """
        now = utcnow().isoformat()
        retired = list(retire)
        self.generation += 1
        if manifest is not None:
            rel = f"{MANIFEST_DIR}/manifest-{self.generation:08d}.parquet"
            path = lake_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            pq.write_table(manifest, tmp)
            fsync_file(tmp)
            os.replace(tmp, path)
            fsync_dir(path.parent)
            if self.manifest:
                retired.append(self.manifest)
            self.manifest = rel
        self.retired.extend({"path": p, "retired_at": now} for p in retired)
        payload = {
            "format": FORMAT,
            "generation": self.generation,
            "committed_at": now,
            "manifest": self.manifest,
            "parts": self.parts,
            "retired": self.retired,
        }
        atomic_write_bytes(lake_dir / STATE_FILE, json.dumps(payload, indent=1).encode())


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Return ``table`` with exactly ``schema``'s columns first (missing ones null), extras kept after."""
    columns, fields = [], []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            columns.append(col if col.type == f.type else col.cast(f.type))
        else:
            columns.append(pa.nulls(table.num_rows, f.type))
        fields.append(f)
    for name in table.column_names:
        if name not in schema.names:
            columns.append(table.column(name))
            fields.append(table.schema.field(name))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))
