"""``remit lake remove FILE_ID``: unload a loaded file from the lake.

For an operator who must take a file back out (a file that should never have been sent, or one whose
figures break a build). Under the home's run lock, the parts holding the file's rows are rewritten
without them, and one state commit swaps the rewritten parts in and records the removal in the manifest:
a reader sees the file's rows or none of them, never some. The old parts are retired (deleted after the
grace period, like compacted ones). The raw file stays where ingest kept it (``.processed/``).

In the manifest, the file's load entries change status to ``removed`` and a new entry with status
``removed`` records when and by which removal. A removed file is no longer "already loaded": dropping the
same bytes into the inbox again loads them again. Removing a removed file changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.home import Home
from pipeline.lake.compact import merge_parts
from pipeline.lake.lock import run_lock
from pipeline.lake.state import LOADED_STATUSES, MANIFEST_SCHEMA, LakeState, fsync_dir, utcnow
from pipeline.log import get_logger
from pipeline.x12.schema import file_key

log = get_logger("lake")

REMOVED = "removed"
MIN_PREFIX = 8  # a shorter file id prefix is too likely to name several files


class RemoveError(ValueError):
    """The file id names no loaded file (or several); nothing was changed."""


@dataclass
class RemoveResult:
    """What ``remove_file`` did."""

    file_id: str
    name: str
    already_removed: bool = False
    rows: dict[str, int] = field(default_factory=dict)  # rows taken out, per table
    parts_rewritten: int = 0

    def summary(self) -> str:
        """One line for the terminal and the log."""
        if self.already_removed:
            return f"{self.name} ({self.file_id[:12]}) is already removed from the lake; nothing changed"
        rows = ", ".join(f"{table} {n}" for table, n in self.rows.items() if n) or "no rows"
        return (
            f"removed {self.name} ({self.file_id[:12]}) from the lake: {rows}; "
            f"{self.parts_rewritten} part(s) rewritten. Run remit build to publish a warehouse without it"
        )


def _resolve(manifest: pa.Table, file_id: str) -> str:
    """The full file id that ``file_id`` (the id or a unique prefix of at least 8 characters) names."""
    wanted = file_id.strip().lower()
    ids = set(manifest.column("file_id").to_pylist())
    if wanted in ids:
        return wanted
    if len(wanted) >= MIN_PREFIX:
        matches = sorted(i for i in ids if i.startswith(wanted))
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise RemoveError(f"file id {wanted} is the start of {len(matches)} files' ids: give more of it")
    raise RemoveError(
        f"no file with id {wanted[:64]} in the lake's manifest (ids are the sha256 in lake.manifest.file_id)"
    )


def remove_file(home: Home, file_id: str) -> RemoveResult:
    """Unload the file ``file_id`` (or a unique prefix of it) from ``home``'s lake; see the module text.

    Raises :class:`RemoveError` for an unknown id and ``LockedError`` while another run holds the lock.
    """
    lake = home.lake
    with run_lock(home):
        state = LakeState.load(lake)
        manifest = state.read_manifest(lake)
        fid = _resolve(manifest, file_id)
        mine = pc.equal(manifest.column("file_id"), fid)
        statuses = manifest.filter(mine).column("status").to_pylist()
        names = manifest.filter(mine).column("name").to_pylist()
        result = RemoveResult(file_id=fid, name=names[0])
        loaded = pc.and_(mine, pc.is_in(manifest.column("status"), pa.array(LOADED_STATUSES)))
        if not any(s in LOADED_STATUSES for s in statuses):
            if REMOVED in statuses:
                result.already_removed = True
                return result
            raise RemoveError(
                f"{result.name} ({fid[:12]}) is not loaded (status {', '.join(sorted(set(statuses)))}): "
                "only loaded or resent files can be removed"
            )

        retire: list[str] = []
        stamp = hashlib.sha256(f"{fid}:{state.generation}".encode()).hexdigest()[:16]
        touched: set[Path] = set()
        key = file_key(fid)  # the rows carry the file's key (pipeline.x12.schema)
        for table, rels in state.parts.items():
            kept: list[str] = []
            for rel in rels:
                ids = pq.read_table(lake / rel, columns=["file_key"]).column("file_key")
                hits = pc.sum(pc.equal(ids, key)).as_py() or 0
                if not hits:
                    kept.append(rel)
                    continue
                result.rows[table] = result.rows.get(table, 0) + hits
                retire.append(rel)
                result.parts_rewritten += 1
                rest = pq.read_table(lake / rel)
                rest = rest.filter(pc.not_equal(rest.column("file_key"), key))
                if rest.num_rows:
                    new_rel = f"{Path(rel).parent.as_posix()}/r-{stamp}-{Path(rel).stem[:24]}.parquet"
                    merge_parts([rest], lake / new_rel)
                    touched.add((lake / new_rel).parent)
                    kept.append(new_rel)
            state.parts[table] = kept
        for folder in touched:
            fsync_dir(folder)

        removal_id = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
        status = pc.if_else(loaded, pa.scalar(REMOVED), manifest.column("status"))
        updated = manifest.set_column(manifest.schema.get_field_index("status"), "status", status)
        first = manifest.filter(loaded).slice(0, 1).to_pylist()[0]
        entry: dict[str, object] = {f.name: None for f in MANIFEST_SCHEMA}
        last = pc.max(manifest.column("entry")).as_py() or 0
        entry.update(
            entry=last + 1,
            file_id=fid,
            file_key=key,
            name=first["name"],
            size=first["size"],
            loaded_at=utcnow(),
            run_id=removal_id,
            status=REMOVED,
            error=json.dumps({"message": "removed by remit lake remove", "rows": result.rows}),
            inbox_path=first["inbox_path"],
            stored_as=first["stored_as"],
        )
        row = pa.Table.from_pylist([entry], schema=MANIFEST_SCHEMA)
        new_manifest = pa.concat_tables([updated.select(MANIFEST_SCHEMA.names), row])
        state.commit(lake, manifest=new_manifest, retire=retire)
    log.info(
        "%s",
        result.summary(),
        extra={"fields": {"file_id": fid, "removal": removal_id, "rows": result.rows}},
    )
    return result
