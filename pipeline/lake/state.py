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
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.home import file_mode
from pipeline.x12.schema import MONEY, TABLES

STATE_FILE = "_state.json"
MANIFEST_DIR = "_manifest"
STAGING_DIR = "_staging"
FORMAT = 2  # 2: integer row keys (pipeline.x12.schema); 1: string ids on every row (pipeline.lake.upgrade)

LOADED_STATUSES = ("loaded", "resent")  # statuses whose rows are in the lake
STATUSES = ("loaded", "resent", "duplicate", "rejected", "removed")  # removed: remit lake remove

MANIFEST_SCHEMA = pa.schema(
    [
        ("entry", pa.int64()),  # 1, 2, … in the order files were recorded
        ("file_id", pa.string()),  # sha256 of the file's bytes
        ("file_key", pa.int64()),  # the file's rows' key (pipeline.x12.schema.file_key); null if unread
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


RECOVERY_DOC = "docs/operations.md, 'A lost or damaged lake state'"


class LakeStateError(RuntimeError):
    """``lake/_state.json`` is missing from a lake that holds data, or is damaged: the run refuses."""

    def __init__(self, path: Path, what: str):
        super().__init__(
            f"{path} {what}. It is the lake's commit point; remit changed nothing. Restore it (or the "
            f"whole lake/ folder) from a backup, or rebuild the lake from the raw files: see {RECOVERY_DOC}"
        )
        self.path = path


class LakeFormatError(RuntimeError):
    """The lake was written by an older remit in a format this one does not read (never misread)."""

    def __init__(self, lake_dir: Path, found: int):
        super().__init__(
            f"the lake {lake_dir} is in format {found} (string row ids), which this remit does not read "
            f"(format {FORMAT}: integer row keys). Run `remit lake upgrade` to rebuild it from the original "
            "files it kept, then `remit build` (docs/operations.md, 'Upgrading a lake')"
        )
        self.lake_dir = lake_dir
        self.found = found


def check_state_present(lake_dir: Path) -> None:
    """Refuse a lake that holds parts or manifests but no ``_state.json`` (lost, or a partial restore).

    Without this, the run's clean-up would take every part for the leftover of a killed run and delete
    it. A new lake gets its state file (``LakeState.initialize``) before any part is written.
    """
    if (lake_dir / STATE_FILE).exists():
        return
    found = LakeState.committed_files(lake_dir)
    if found:
        raise LakeStateError(
            lake_dir / STATE_FILE,
            f"is missing, but the lake holds {len(found)} parts and manifests (e.g. "
            f"{found[0].relative_to(lake_dir)})",
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


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically and durably (temp file in the same folder).

    ``mode`` defaults to what the umask gives a new file, never readable by others (see ``file_mode``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode(0o644) if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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
        """Read the committed state; an absent file is an empty lake (see :func:`check_state_present`).

        Raises :class:`LakeStateError` naming the file when it is not a state remit wrote (truncated,
        corrupt, another format).
        """
        path = lake_dir / STATE_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError) as exc:
            raise LakeStateError(path, f"cannot be read ({exc})") from None
        try:
            raw = json.loads(text)
        except ValueError as exc:
            what = "is empty" if not text.strip() else f"is not valid JSON ({exc}); truncated or damaged?"
            raise LakeStateError(path, what) from None
        if not isinstance(raw, dict):
            raise LakeStateError(path, f"holds a JSON {type(raw).__name__}, not an object")
        if isinstance(raw.get("format"), int) and raw["format"] < FORMAT:
            raise LakeFormatError(lake_dir, raw["format"])
        if raw.get("format") != FORMAT:
            raise RuntimeError(f"{path}: unsupported lake format {raw.get('format')!r} (expected {FORMAT})")
        try:
            generation = raw["generation"]
            manifest = raw.get("manifest")
            parts_raw = raw.get("parts", {})
            retired = list(raw.get("retired", []))
            if not isinstance(generation, int) or isinstance(generation, bool) or generation < 0:
                raise ValueError(f"'generation' must be a whole number >= 0, not {generation!r}")
            if manifest is not None and not isinstance(manifest, str):
                raise ValueError(f"'manifest' must be a path or null, not {manifest!r}")
            if not isinstance(parts_raw, dict):
                raise ValueError("'parts' must be an object of table -> list of paths")
            parts = {name: list(parts_raw.get(name, [])) for name in TABLES}
            if not all(isinstance(p, str) for paths in parts.values() for p in paths):
                raise ValueError("'parts' must list paths (strings)")
            for entry in retired:
                if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)):
                    raise ValueError(f"'retired' entries must have a 'path', not {entry!r}")
                datetime.fromisoformat(entry["retired_at"])
        except (KeyError, TypeError, ValueError) as exc:
            what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise LakeStateError(path, f"is not a valid lake state: {what}") from None
        return cls(generation, manifest, parts, retired)

    @staticmethod
    def committed_files(lake_dir: Path) -> list[Path]:
        """Parts and manifest generations under ``lake_dir`` (not staging): what a state would name."""
        found = []
        for dirpath, dirs, files in os.walk(lake_dir):
            if Path(dirpath) == lake_dir and STAGING_DIR in dirs:
                dirs.remove(STAGING_DIR)
            found.extend(Path(dirpath) / f for f in files if f.endswith(".parquet"))
        return found

    def initialize(self, lake_dir: Path) -> None:
        """Write the empty state of a new lake (generation 0) before anything else goes into it.

        From then on a lake with parts but no ``_state.json`` can only mean a lost state file, which
        :func:`check_state_present` refuses, instead of taking every part for a killed run's leftover.
        """
        payload = {"format": FORMAT, "generation": self.generation, "committed_at": utcnow().isoformat(),
                   "manifest": self.manifest, "parts": self.parts, "retired": self.retired}  # fmt: skip
        atomic_write_bytes(lake_dir / STATE_FILE, json.dumps(payload, indent=1).encode())

    def check_parts(self, lake_dir: Path) -> None:
        """Raise :class:`LakeStateError` when a live part the state names is gone from the disk."""
        missing = [p for paths in self.parts.values() for p in paths if not (lake_dir / p).is_file()]
        if missing:
            raise LakeStateError(
                lake_dir / STATE_FILE,
                f"names {len(missing)} parts that are missing (e.g. {missing[0]}): rows of loaded files "
                "would be lost from every reader",
            )

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
        try:
            table = pq.read_table(lake_dir / self.manifest)
        except (OSError, pa.ArrowException) as exc:
            raise LakeStateError(
                lake_dir / STATE_FILE, f"names the manifest {self.manifest}, which cannot be read ({exc})"
            ) from None
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
