"""Compaction of small parts and garbage collection of files the state no longer names.

Each loaded file adds one part per (table, payment month) it touches, so a year of nightly runs would
leave thousands of tiny Parquet files. When a partition holds more than ``max_parts`` parts, its small
parts (under ``small_bytes``) are merged into one new part, and the swap (new part in, old parts out) is
one state commit: a reader sees either the old parts or the merged one, never both and never neither.
The old parts stay on disk, listed as retired, until ``gc`` removes them after the grace period, so views
registered before the compaction keep working.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lake.state import LakeState, conform, fsync_dir, fsync_file, utcnow
from pipeline.log import get_logger

log = get_logger("lake")

COMPACT_MAX_PARTS = 12  # compact a partition once it holds more than this many parts
SMALL_PART_BYTES = 64 << 20  # parts at least this big are left alone (already a good size)
RETIRED_GRACE_SECONDS = 6 * 3600  # how long retired parts outlive the state that stopped naming them


@dataclass
class CompactionStats:
    """What one compaction did."""

    partitions: int = 0  # partitions rewritten
    parts_before: int = 0  # live parts before, over the whole lake
    parts_after: int = 0
    merged: int = 0  # parts merged away

    def __str__(self) -> str:
        return (
            f"compacted {self.partitions} partitions ({self.merged} parts merged; "
            f"{self.parts_before} -> {self.parts_after} live parts)"
        )


ROW_GROUP_ROWS = 256_000  # rows buffered per row group when many small parts are merged into one


def merge_parts(sources: list[Path | pa.Table], dest: Path) -> None:
    """Write the rows of ``sources`` (in order) into ``dest``: Parquet parts on disk, or tables in memory.

    Small sources are gathered into row groups of about ``ROW_GROUP_ROWS`` rows (a night's part holds
    the rows of hundreds of files; a row group per file would make every scan slower), parts on disk
    are read a row group at a time. The rows go to a temporary name first; ``dest`` appears whole
    (fsynced) or not at all.
    """
    schemas = [s.schema if isinstance(s, pa.Table) else pq.read_schema(s) for s in sources]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    tmp = dest.with_name(f".{dest.name}.tmp")
    buffer: list[pa.Table] = []
    buffered = 0
    with pq.ParquetWriter(tmp, schema) as writer:

        def add(table: pa.Table) -> None:
            nonlocal buffered
            buffer.append(table if table.schema == schema else conform(table, schema).select(schema.names))
            buffered += table.num_rows
            if buffered >= ROW_GROUP_ROWS:
                flush()

        def flush() -> None:
            nonlocal buffered
            if buffer:
                # one chunk per column: the writer cuts pages per chunk, and hundreds of tiny chunks
                # (one per file) cost more to write than copying them together
                writer.write_table(pa.concat_tables(buffer).combine_chunks(), row_group_size=max(buffered, 1))
            buffer.clear()
            buffered = 0

        for src in sources:
            if isinstance(src, pa.Table):
                add(src)
                continue
            pf = pq.ParquetFile(src)
            for i in range(pf.num_row_groups):
                add(pf.read_row_group(i))
        flush()
    fsync_file(tmp)
    os.replace(tmp, dest)


def _merge(lake_dir: Path, rels: list[str], dest_rel: str) -> None:
    """Write the rows of ``rels`` (in order) into ``dest_rel``, one source part in memory at a time."""
    merge_parts([lake_dir / r for r in rels], lake_dir / dest_rel)
    fsync_dir((lake_dir / dest_rel).parent)


def compact(
    lake_dir: Path,
    state: LakeState,
    *,
    max_parts: int = COMPACT_MAX_PARTS,
    small_bytes: int = SMALL_PART_BYTES,
) -> CompactionStats:
    """Merge the small parts of every partition holding more than ``max_parts`` parts; one commit.

    Must run under the run lock. Row content is unchanged (same rows, same values); only the number of
    files changes.
    """
    stats = CompactionStats(parts_before=sum(len(v) for v in state.parts.values()))
    new_parts = {name: list(rels) for name, rels in state.parts.items()}
    retire: list[str] = []
    for table, rels in state.parts.items():
        by_partition: dict[str, list[str]] = defaultdict(list)
        for rel in rels:
            by_partition[rel.rsplit("/", 1)[0]].append(rel)
        for partition, members in by_partition.items():
            if len(members) <= max_parts:
                continue
            small = [r for r in members if (lake_dir / r).stat().st_size < small_bytes]
            if len(small) < 2:
                continue
            dest_rel = f"{partition}/c-{state.generation + 1:08d}-{uuid.uuid4().hex[:8]}.parquet"
            try:
                _merge(lake_dir, small, dest_rel)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # incompatible schemas: leave them be
                log.warning("cannot compact %s: %s", partition, exc)
                continue
            keep = [r for r in new_parts[table] if r not in set(small)]
            new_parts[table] = keep + [dest_rel]
            retire.extend(small)
            stats.partitions += 1
            stats.merged += len(small)
    if retire:
        state.parts = new_parts
        state.commit(lake_dir, retire=retire)
    stats.parts_after = sum(len(v) for v in state.parts.values())
    if stats.partitions:
        log.info("%s", stats, extra={"fields": {"compaction": stats.__dict__}})
    return stats


def collect_garbage(lake_dir: Path, state: LakeState, *, grace_seconds: float = RETIRED_GRACE_SECONDS) -> int:
    """Delete retired files older than ``grace_seconds``; return how many were deleted. Under the lock."""
    now = utcnow()
    keep, gone = [], []
    for entry in state.retired:
        age = (now - datetime.fromisoformat(entry["retired_at"])).total_seconds()
        (gone if age >= grace_seconds else keep).append(entry)
    if not gone:
        return 0
    for entry in gone:
        (lake_dir / entry["path"]).unlink(missing_ok=True)
    state.retired = keep
    state.commit(lake_dir)  # a crash before this commit only leaves entries naming missing files
    _prune_empty_dirs(lake_dir)
    return len(gone)


def _prune_empty_dirs(lake_dir: Path) -> None:
    for table_dir in lake_dir.iterdir():
        if not table_dir.is_dir() or table_dir.name.startswith("_"):
            continue
        for part_dir in table_dir.iterdir():
            if part_dir.is_dir() and not any(part_dir.iterdir()):
                part_dir.rmdir()
