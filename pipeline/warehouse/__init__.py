"""Build ``warehouse.duckdb``: the lake's views, the reference tables, payers, and the SQL models in ``sql/``.

The build writes a new file beside the old one (``warehouse.duckdb.building-<pid>``) and moves it over the
old one with ``os.replace``, so an analyst who has the old file open keeps a consistent (older) copy and
the next ``duckdb.connect`` sees the new one. The new file is written in DuckDB storage format
``pipeline.lake.STORAGE_VERSION`` (DuckDB 1.4 and later clients open it), fully checkpointed (no WAL of
its own), and a write-ahead log left beside the old file by an analyst's read-write session is removed
before the swap: it belongs to the old file and would make every reader of the new one fail. The new file
keeps the old one's permission bits and group. Schemas:

- ``lake``    views over the Parquet lake (``pipeline.lake.register_views``);
- ``ref``     reference tables (``pipeline.reference.load_reference``) plus ``ref.payers`` from
  ``<home>/payers.csv``;
- ``staging`` views in ``sql/staging/`` (rename, cast, join keys);
- ``intermediate`` ephemeral tables in ``sql/intermediate/`` (netting, episodes, denial events and their
  resolution), built in an in-memory database for the length of the build and not kept in the file;
- ``marts``   tables (and check views) in ``sql/marts/``, one documented grain each, plus
  ``marts.kpi_month_history`` and ``marts.kpi_month_restatements`` (``pipeline.warehouse.history``);
- ``incremental`` what the next build needs to refresh this one for a night's files: the intermediate
  models the full-recomputed marts read, the lake files and payments it was built from, its fingerprint
  and as-of date (``pipeline.warehouse.incremental``; not for analysts).

``build`` is incremental when it can (``pipeline.warehouse.incremental``: the published warehouse is
copied, the night's scope refreshed, the copy published the same way); ``build(full=True)`` (``remit
build --full``) always computes everything from the lake. Both give the same marts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.csvrows import checked_rows, dict_reader, read_text
from pipeline.home import Home, file_mode
from pipeline.log import get_logger, timed
from pipeline.quality.checks import keep_unchecked_scope, model_test_counts, record_build_model_tests
from pipeline.quality.runner import copy_quality_history
from pipeline.resources import resource_dir
from pipeline.settings import get_settings
from pipeline.warehouse.history import append_history, new_build_id, record_history
from pipeline.warehouse.incremental import (
    STATE_SCHEMA,
    FullBuildNeeded,
    Night,
    Plan,
    apply_scope,
    bind_persisted,
    fingerprint,
    make_plan,
    prepare_scope,
    refresh_additive_mart,
    refresh_month_mart,
    save_persisted,
    save_state,
    scope_test_models,
)
from pipeline.warehouse.models import (
    EPHEMERAL_LAYER,
    LAYERS,
    Model,
    ModelError,
    load_models,
    quote_identifier,
)

__all__ = ["BuildResult", "CopyAhead", "build", "PAYERS_FILE", "load_payers", "publish_database"]

log = get_logger("warehouse")

PAYERS_FILE = "payers.csv"
PAYER_COLUMNS = ("payer_id", "payer_name", "plan_type")


@dataclass
class BuildResult:
    """What a build produced: where, how long, the row count of every mart, and any warnings."""

    path: Path
    seconds: float
    row_counts: dict[str, int] = field(default_factory=dict)
    unknown_payers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    build_id: str = ""
    mode: str = "full"  # full or incremental
    mode_note: str = ""  # why a full build (e.g. --full, no published warehouse), or what the night touched

    @property
    def how(self) -> str:
        """How it was built: 'incremental: <what the night touched>' or 'full build: <why>'."""
        return self.mode_note if self.mode == "incremental" else f"full build: {self.mode_note}"

    def summary(self) -> str:
        """One paragraph for the terminal and the log."""
        marts = {k: v for k, v in self.row_counts.items() if k.startswith("marts.")}
        how = self.how
        lines = [
            f"built {self.path} in {self.seconds:.1f}s ({how}): "
            + ", ".join(f"{name.split('.', 1)[1]} {n}" for name, n in marts.items())
        ]
        if self.unknown_payers:
            from pipeline.x12.errors import escape_controls  # imported late: it loads the parser package

            # payer ids come from the files: control characters escaped, one line per warning
            shown = ", ".join(escape_controls(p) for p in self.unknown_payers[:10])
            more = f" and {len(self.unknown_payers) - 10} more" if len(self.unknown_payers) > 10 else ""
            lines.append(
                f"warning: {len(self.unknown_payers)} payer(s) not in payers.csv (plan type 'unknown'): "
                f"{shown}{more}; see marts.unknown_payers"
            )
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def load_payers(con: duckdb.DuckDBPyConnection, home: Home) -> list[str]:
    """Create ``ref.payers`` from ``<home>/payers.csv`` (payer_id, payer_name, plan_type); return warnings.

    A missing file gives an empty table (every payer's plan type is then 'unknown'). Plan types are
    lower-cased; blank ids are skipped; a repeated id keeps its first row. An optional ``appeal_days``
    column gives the payer's appeal (timely filing of a reconsideration) limit in days, counted from the
    first denial; blank means the default (``marts.lifecycle_settings.default_appeal_days``). An optional
    ``submitted_payer_id`` column names the payer id the provider's 837s use for this payer (2010BB NM109)
    when it differs from the 835's: submitted claims with that id are matched to this payer's remits
    (docs/metrics.md). One 837 id maps to one payer: a repeated one keeps its first row, with a warning.
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS ref")
    con.execute(
        "CREATE OR REPLACE TABLE ref.payers (payer_id VARCHAR PRIMARY KEY, payer_name VARCHAR, "
        "plan_type VARCHAR NOT NULL, appeal_days INTEGER, submitted_payer_id VARCHAR)"
    )
    con.execute(
        "COMMENT ON TABLE ref.payers IS 'Payers and their plan type, from <home>/payers.csv "
        "(user-maintained). Payers absent here get plan type unknown in the marts.'"
    )
    for col, text in (
        ("payer_id", "Payer id as sent in REF*2U / N1*PR04, or TRN03."),
        ("payer_name", "Payer name to show in the marts."),
        ("plan_type", "Plan type: medical, dental, pharmacy, vision ... (lower case)."),
        ("appeal_days", "Days from the first denial to the payer's appeal deadline; NULL: the default."),
        (
            "submitted_payer_id",
            "Payer id the 837s use for this payer when it differs from payer_id; NULL: the same id.",
        ),
    ):
        con.execute(f"COMMENT ON COLUMN ref.payers.{col} IS {_sql_str(text)}")
    path = home.root / PAYERS_FILE
    warnings: list[str] = []
    if not path.exists():
        return [f"{path} not found: every payer gets plan type 'unknown'"]
    rows: dict[str, tuple[str, str | None, str, int | None, str | None]] = {}
    mapped: dict[str, str] = {}  # submitted_payer_id -> the payer_id of the row that names it first
    text, note = read_text(path)
    if note:
        warnings.append(note)
    reader = dict_reader(text)
    missing = [c for c in PAYER_COLUMNS if c not in reader.fieldnames]
    if missing:
        expected = ", ".join(PAYER_COLUMNS)
        raise ValueError(f"{path}: header lacks {', '.join(missing)} (expected {expected})")
    for n, row in checked_rows(reader, lambda line: f"{path} line {line}", PAYER_COLUMNS):
        pid = (row["payer_id"] or "").strip()
        if not pid:
            warnings.append(f"{path} line {n}: blank payer_id skipped")
            continue
        if pid in rows:
            warnings.append(f"{path} line {n}: payer_id {pid} repeated; first row kept")
            continue
        plan = (row["plan_type"] or "").strip().lower() or "unknown"
        days_text = (row.get("appeal_days") or "").strip()
        if days_text and not (days_text.isdigit() and int(days_text) > 0):
            raise ValueError(
                f"{path} line {n}: appeal_days {days_text!r} of payer {pid} is not a positive whole "
                "number of days"
            )
        days = int(days_text) if days_text else None
        submitted = (row.get("submitted_payer_id") or "").strip() or None
        if submitted is not None and submitted in mapped:
            warnings.append(
                f"{path} line {n}: submitted_payer_id {submitted} of payer {pid} already maps to payer "
                f"{mapped[submitted]}; ignored"
            )
            submitted = None
        if submitted is not None:
            mapped[submitted] = pid
        rows[pid] = (pid, (row["payer_name"] or "").strip() or None, plan, days, submitted)
    if rows:
        con.executemany("INSERT INTO ref.payers VALUES (?, ?, ?, ?, ?)", list(rows.values()))
    return warnings


def _comments(
    con: duckdb.DuckDBPyConnection, model: Model, actual: list[str] | None = None
) -> tuple[list[str], list[str]]:
    """The COMMENT ON statements of the model and each documented column, and the columns left
    undocumented; ``actual``: the model's columns, when known.

    An ephemeral model gets no comments (it is dropped after the build) but is checked the same way.
    """
    if actual is None:
        actual = [r[0] for r in con.execute(f"DESCRIBE {model.name}").fetchall()]
    statements = []
    if not model.ephemeral:
        text = f"{model.description} Grain: {model.grain}."
        statements = [f"COMMENT ON {model.kind} {model.name} IS {_sql_str(text)}"] + [
            f"COMMENT ON COLUMN {model.name}.{col} IS {_sql_str(model.columns[col])}"
            for col in actual
            if col in model.columns
        ]
    return statements, [c for c in actual if c not in model.columns]


def _write_comments(con: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    """Run one model's COMMENT ON ``statements`` in a transaction of their own (on a second cursor)."""
    con.execute(";\n".join(["BEGIN TRANSACTION", *statements, "COMMIT"]))


def _build_model(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    result: BuildResult,
    defer: Callable[[list[str]], None] | None = None,
) -> None:
    """Create one model with its comments in a transaction of its own; note its warnings and row count.

    One transaction per model: a COMMENT ON committed on its own costs a commit each, and one
    transaction cannot write both the file and the in-memory ``intermediate`` database. With ``defer``,
    the model's COMMENT ON statements are handed to it after the commit instead (the full build writes
    them on a second cursor: they cost its 1M-claim build 0.5 s of catalog work otherwise).
    """
    con.execute("BEGIN TRANSACTION")
    try:
        columns = []
        if model.needs_types:
            columns = [r[:2] for r in con.execute(f"DESCRIBE {model.body}").fetchall()]
        for statement in model.create_statements(columns):
            con.execute(statement)
    except duckdb.Error as exc:
        raise RuntimeError(f"{model.path.name} ({model.name}) failed: {exc}") from exc
    comments, undocumented = _comments(con, model, [c for c, _ in columns] if columns else None)
    if comments and defer is None:
        con.execute(";\n".join(comments))  # one call: a round trip per statement costs more
    con.execute("COMMIT")
    if comments and defer is not None:
        defer(comments)
    if undocumented:
        result.warnings.append(f"{model.name}: undocumented column(s) {', '.join(undocumented)}")
    if model.materialized == "table":
        result.row_counts[model.name] = int(con.execute(f"SELECT count(*) FROM {model.name}").fetchone()[0])


def _remove_stale_builds(target: Path) -> None:
    """Delete what earlier builds left (a killed build never blocks the next, nor fills the disk).

    Called under the run lock, which every build holds: any other ``<target>.building-*`` file is a dead
    build's, even when its pid now belongs to another live process.
    """
    ours = f"{target.name}.building-{os.getpid()}"
    for path in target.parent.glob(f"{target.name}.building-*"):
        if path.name != ours and not path.name.startswith(ours + "."):
            path.unlink(missing_ok=True)


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def publish_database(new: Path, target: Path, what: str = "warehouse") -> None:
    """Move the finished DuckDB file ``new`` over ``target``; no stale write-ahead log survives the swap.

    ``new`` is checkpointed first (so it carries no WAL of its own) and given ``target``'s permission
    bits and group. A ``target.wal`` left by a read-write session that ended without a checkpoint (an
    analyst's killed notebook) holds changes to the *old* file; DuckDB would try to replay it onto the
    new one and refuse to open it ("WAL does not match database file"), so it is removed (with a warning)
    just before the rename.
    """
    if _wal(new).exists():  # a writer closed without checkpointing: fold the log in now
        with duckdb.connect(str(new)) as con:
            con.execute("CHECKPOINT")
        if _wal(new).exists():
            raise RuntimeError(f"{new}: could not checkpoint the new {what} (its .wal remains)")
    if target.exists():
        st = target.stat()
        os.chmod(new, stat.S_IMODE(st.st_mode))
        try:
            os.chown(new, -1, st.st_gid)
        except OSError:  # not a member of that group: keep ours (the mode still applies)
            log.warning("could not give the new %s the group of %s (gid %d)", what, target, st.st_gid)
    from pipeline.lake.state import fsync_dir, fsync_file

    fsync_file(new)
    stale = _wal(target)
    if stale.exists():
        log.warning(
            "removed %s: a write-ahead log a read-write session left on the previous %s (its changes were "
            "never part of the published file); open the %s read-only",
            stale,
            what,
            what,
        )
        stale.unlink(missing_ok=True)
    old = _hold(target)
    os.replace(new, target)
    fsync_dir(target.parent)
    if old is not None:
        # the replaced file's blocks are freed when its last descriptor closes: 0.45 s of the kernel's
        # time for a 3 GB warehouse on tmpfs, done on a thread while the night goes on to its report
        threading.Thread(target=os.close, args=(old,), name="remit-release", daemon=True).start()


def _hold(path: Path) -> int | None:
    """A descriptor of the file at ``path`` (None when there is none, or it cannot be opened); opening
    a FIFO someone left there does not wait for a writer."""
    try:
        return os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None


def _stamp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.published")


def _file_stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _record_stamp(target: Path) -> None:
    """Note the published file as remit left it, so an incremental build can tell if anyone changed it."""
    path = _stamp_path(target)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, file_mode())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(_file_stamp(target)))
    except OSError as exc:  # the next build is then a full one
        _stamp_path(target).unlink(missing_ok=True)
        log.warning("could not record the published warehouse's stamp (%s): the next build is full", exc)


def _copy_published(target: Path, tmp: Path) -> dict[str, int]:
    """Copy the published warehouse to ``tmp`` for an incremental build and return the stamp it was
    copied at, or raise ``FullBuildNeeded``.

    The copy starts from what remit published and nothing else: a file changed since (an analyst's
    read-write session that wrote and checkpointed, ``remit reference import``) has another stamp and
    gets a full build, as does one a read-write session holds now. A read-only connection is held during
    the copy: DuckDB's shared lock keeps a writer from checkpointing into the file halfway through.
    """
    try:
        recorded = json.loads(_stamp_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise FullBuildNeeded("no record of the published warehouse as remit built it") from None
    try:
        guard = duckdb.connect(str(target), read_only=True)
    except duckdb.Error as exc:
        raise FullBuildNeeded(f"the published warehouse is held by a read-write session ({exc})") from None
    try:
        if _file_stamp(target) != recorded:
            raise FullBuildNeeded(
                "the published warehouse was changed after remit built it (a read-write session?)"
            )
        clone_or_copy(target, tmp)
    finally:
        guard.close()
    return recorded


# ioctl FICLONE (linux/fs.h): ``dst`` shares ``src``'s blocks until either is written (a reflink)
FICLONE = 0x40049409


def clone_or_copy(src: Path, dst: Path) -> str:
    """Copy ``src`` to a new file ``dst``: as a reflink where the filesystem shares blocks (XFS, the
    default of RHEL 8 and later; Btrfs), else byte by byte. Returns ``"clone"`` or ``"copy"``.

    A night's build starts from a copy of the published warehouse (3 GB at 5M claims): a reflink takes
    milliseconds and writes nothing, where a copy writes the 3 GB that the disk must then flush. The
    build's writes to the clone get blocks of their own; the published file never changes.
    """
    import shutil

    with open(src, "rb") as source, open(dst, "wb") as target:
        try:
            import fcntl

            fcntl.ioctl(target.fileno(), FICLONE, source.fileno())
            log.debug("cloned %s (a reflink, no bytes copied)", src.name)
            return "clone"
        except (ImportError, OSError):  # ext4, tmpfs, another filesystem than src's: no reflink
            pass
    # Opening dst again truncates it, and ext4 (auto_da_alloc) then starts writing all of it back when
    # the copy closes it: the copy takes 2.3 s instead of 1.1 (5M claims), but on the copy-ahead thread,
    # during the ingest. Copying through the descriptors above leaves 3 GB dirty for the build to meet:
    # the same ingest, the night 1.0-1.5 s slower (the warehouse checks, three alternating pairs).
    shutil.copyfile(src, dst)
    return "copy"


class CopyAhead:
    """A copy of the published warehouse, made in the background before the build asks for it.

    ``remit run`` starts one before its ingest: a night's ingest keeps about one of the two cores busy,
    and the copy (1.3 s for the 2.9 GB warehouse of 5M claims) then no longer delays the build.
    ``build(ahead=...)`` takes it when the published file is still the one copied (the same stamp);
    otherwise the build copies again, or builds in full, as it would have. Make and take it under the
    home's run lock. The copy is ``<warehouse>.building-<pid>.ahead``, which only this process's builds
    keep (``_remove_stale_builds``).
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self.path = target.with_name(f"{target.name}.building-{os.getpid()}.ahead")
        self._stamp: dict[str, int] | None = None
        self._thread = threading.Thread(target=self._copy, name="remit-copy-ahead", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
            self._stamp = _copy_published(self.target, self.path)
        except Exception as exc:  # noqa: BLE001 - the build copies again, and says why if it cannot
            log.debug("no copy of the warehouse ahead of the build: %s", exc)
            self.path.unlink(missing_ok=True)

    def take(self, tmp: Path) -> bool:
        """Move the copy to ``tmp`` when the published file is still the one copied; else remove it and
        return False."""
        self._thread.join()
        try:
            if self._stamp is not None and _file_stamp(self.target) == self._stamp:
                os.replace(self.path, tmp)
                return True
        except OSError:
            pass
        self.discard()
        return False

    def discard(self) -> None:
        """Remove the copy (if the build did not take it)."""
        self._thread.join()
        self.path.unlink(missing_ok=True)


def _lake_views(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """The definitions of the current database's ``lake`` views (which parts and manifest they read)."""
    return con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'lake' ORDER BY 1"
    ).fetchall()


def _analyst_tables(target: Path) -> list[str]:
    """Tables and views someone added to the published warehouse outside remit's schemas (lost at publish)."""
    if not target.is_file():
        return []
    try:
        con = duckdb.connect(str(target), read_only=True)
    except duckdb.Error:  # held read-write by someone, or unreadable: nothing to list
        return []
    try:
        rows = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = "
            "current_database() AND schema_name NOT IN (SELECT unnest($ours)) AND NOT temporary "
            "UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE NOT internal "
            "AND database_name = current_database() AND schema_name NOT IN (SELECT unnest($ours)) "
            "AND NOT temporary ORDER BY 1",
            {"ours": ["lake", "ref", *LAYERS, "quality", STATE_SCHEMA]},
        ).fetchall()
    except duckdb.Error:
        return []
    finally:
        con.close()
    return [r[0] for r in rows]


def cap_memory(con: duckdb.DuckDBPyConnection, *, full: bool) -> None:
    """Set DuckDB's memory cap on ``con`` (REMIT_WAREHOUSE_MEMORY) for the work of a full build (2GB, under
    the 3 GB of a run from empty) or of an incremental night (1GB, under the 2 GB of a night;
    ``pipeline.settings.DEFAULT_NIGHT_MEMORY``): the build's connection and the warehouse checks'."""
    con.execute(f"SET memory_limit = {_sql_str(get_settings().duckdb_memory(full=full))}")


def _configure(con: duckdb.DuckDBPyConnection, *, full: bool) -> None:
    cap_memory(con, full=full)
    con.execute("SET preserve_insertion_order = false")
    # the file being built is nobody's until publish_database flushes it to disk and renames it: its
    # ~90 commits need not wait for the disk each (1M claims: 0.53 s of fdatasync on the build's path)
    con.execute("SET fsync_mode = 'NONE'")
    # no automatic checkpoint after a model's commit: one CHECKPOINT at the end writes the file
    # (measured on 1M claims: 48 s -> 28-34 s of wall time, the CPU unchanged)
    con.execute("SET checkpoint_threshold = '1TB'")


def _finish(con: duckdb.DuckDBPyConnection, home: Home, result: BuildResult) -> object:
    """Unknown payers, the quality and KPI histories, the final checkpoint; return this build's figures."""
    rows = con.execute("SELECT payer_key FROM marts.unknown_payers ORDER BY 1").fetchall()
    result.unknown_payers = [r[0] for r in rows]
    with timed(log, "kept the histories"):
        copy_quality_history(con, home)
        built_at = dt.datetime.now(dt.UTC)
        result.build_id = new_build_id(built_at)
        figures = record_history(con, home, result.build_id, built_at)
    with timed(log, "checkpointed"):
        con.execute("CHECKPOINT")
    return figures


def _last_readers(models: list[Model], keep: set[str]) -> dict[str, list[Model]]:
    """For each model, the ephemeral models (not in ``keep``) whose last reader it is, in ``models``
    order: once that reader is built, nothing in the build reads them again."""
    position = {m.name: i for i, m in enumerate(models)}
    last: dict[str, Model] = {}
    for model in models:
        for dep in model.depends_on:
            if dep in position and models[position[dep]].ephemeral and dep not in keep:
                last[dep] = model  # models are in dependency order: the latest reader wins
    done: dict[str, list[Model]] = {}
    for dep, reader in last.items():
        done.setdefault(reader.name, []).append(models[position[dep]])
    return done


def _keep_persisted(con: duckdb.DuckDBPyConnection, plan: Plan, model: Model) -> list[tuple[str, str, int]]:
    """Copy persisted ``model`` into its state table; return its header tests' (model, test, failures)."""
    save_persisted(con, plan, model)
    return [(model.name, label, n) for label, n in model_test_counts(con, model)]


def _build_full(
    home: Home, models: list[Model], plan: Plan, tmp: Path, result: BuildResult, sql_dir: Path
) -> object:
    """Build every model from the whole lake into the new file ``tmp``; return the build's figures."""
    from pipeline.lake import new_database, register_views
    from pipeline.lake.state import fsync_file
    from pipeline.reference import load_reference

    con = new_database(tmp)
    try:
        with timed(log, "set up the lake views, reference tables and payers"):
            _configure(con, full=True)
            register_views(con, home.lake, relative_to=home.warehouse.parent)
            load_reference(con, home)
            result.warnings.extend(load_payers(con, home))
        wh = quote_identifier(con.execute("SELECT current_database()").fetchone()[0])
        with timed(log, "fingerprinted the code, SQL and reference data"):
            fp = fingerprint(con, f"{wh}.ref", home, sql_dir)
        for schema in LAYERS:
            if schema == EPHEMERAL_LAYER:  # in memory, gone with the connection (models.py)
                con.execute(f"ATTACH ':memory:' AS {schema}")
            else:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        # an ephemeral model's grain and tests can only be checked while it exists: one that the next
        # build does not keep is tested on the second cursor as soon as its last reader is built, and
        # dropped (its memory then serves the models after it) at the first model boundary after its tests
        # (1M claims: 0.24 s off the build's path); a persisted one is tested with its copy (below), the
        # rest at the end
        done = _last_readers(models, keep={m.name for m in plan.persisted})
        persisted = {m.name for m in plan.persisted}
        counts: list[tuple[str, str, int]] = []
        dropped: set[str] = set()
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}")
        # each persisted model is copied into schema incremental and tested on a second cursor while the
        # build goes on, and each model's comments are written and each table flushed to disk there: the
        # models use 1.5 of the 2 cores on average, and the 0.9 + 0.5 + 0.5 s these took on the build's
        # path (1M claims) are hidden
        with con.cursor() as state_cursor, ThreadPoolExecutor(1) as pool:  # the pool is joined first
            copies: list[Future] = []  # each gives its model's test counts
            chores: list[Future] = []  # comments and flushes

            def defer(statements: list[str]) -> None:
                chores.append(pool.submit(_write_comments, state_cursor, statements))

            testing: dict[str, Future] = {}  # ephemeral models whose last reader is built, being tested

            def drop_tested(wait: bool = False) -> None:
                for name, test in list(testing.items()):
                    if wait or test.done():
                        counts.extend((name, label, n) for label, n in test.result())
                        con.execute(f"DROP TABLE {name}")
                        dropped.add(name)
                        del testing[name]

            for model in models:
                drop_tested()
                with timed(log, f"built {model.name}"):
                    _build_model(con, model, result, defer)
                for gone in done.get(model.name, []):
                    testing[gone.name] = pool.submit(model_test_counts, state_cursor, gone)
                if model.materialized == "table":  # its pages go to disk now, not all at the publish
                    chores.append(pool.submit(fsync_file, tmp))  # (the build runs with fsync_mode NONE)
                if model.name in persisted:
                    copies.append(pool.submit(_keep_persisted, state_cursor, plan, model))
            with timed(log, "tested and dropped the rest of the ephemeral models"):
                drop_tested(wait=True)
            with timed(log, "kept the incremental state"):
                for chore in chores:
                    chore.result()  # its error, if any, fails the build here
                for copy in copies:
                    counts += copy.result()
                save_state(con, fp)
            with timed(log, "tested the ephemeral models"):
                rest = [m for m in models if m.ephemeral and m.name not in dropped | persisted]
                record_build_model_tests(con, rest, counts=counts)
        con.execute(f"DETACH {EPHEMERAL_LAYER}")
        return _finish(con, home, result)
    finally:
        con.close()


def _build_incremental(
    home: Home,
    models: list[Model],
    plan: Plan,
    tmp: Path,
    result: BuildResult,
    sql_dir: Path,
    ahead: CopyAhead | None = None,
) -> object:
    """Refresh a copy (``tmp``) of the published warehouse for the night; return the build's figures.

    Raises ``FullBuildNeeded`` (``tmp`` then left for the caller to delete) when it cannot or should not.
    """
    from pipeline.lake import register_views
    from pipeline.reference import load_reference

    target = home.warehouse
    if ahead is not None and ahead.take(tmp):
        log.debug("took the copy of the published warehouse made ahead of the build")
    else:
        with timed(log, "copied the published warehouse"):
            _copy_published(target, tmp)
    try:
        con = duckdb.connect(str(tmp))
    except duckdb.Error as exc:
        raise FullBuildNeeded(f"the published warehouse cannot be opened ({exc})") from None
    try:
        _configure(con, full=False)
        wh = quote_identifier(con.execute("SELECT current_database()").fetchone()[0])
        state = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            f"AND schema_name = '{STATE_SCHEMA}' AND table_name = 'build_state'"
        ).fetchone()[0]
        if not state:
            raise FullBuildNeeded(
                "the published warehouse has no incremental state (built before it existed)"
            )
        old_fp = con.execute(f"SELECT fingerprint FROM {STATE_SCHEMA}.build_state").fetchone()[0]
        con.execute("ATTACH ':memory:' AS scope")
        con.execute("USE scope")
        try:
            load_reference(con, home)
            result.warnings.extend(load_payers(con, home))
        finally:
            con.execute(f"USE {wh}")
        if fingerprint(con, "scope.ref", home, sql_dir) != old_fp:
            raise FullBuildNeeded(
                "the code, sql/, the reference data or payers.csv changed since the last build"
            )
        lake_before = _lake_views(con)
        register_views(con, home.lake, relative_to=target.parent)
        if _lake_views(con) == lake_before:
            # the lake views name the same immutable parts and manifest as the last build's, and the code,
            # SQL and reference data are the same: every model would come out as it is (none reads a clock)
            con.execute("DETACH scope")
            result.mode = "incremental"
            result.mode_note = (
                f"{Night().describe()}; the lake is as the last build left it: nothing recomputed"
            )
            tables = [m.name for m in models if m.schema == "marts" and m.materialized == "table"]
            result.row_counts = {
                t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables
            }
        else:
            _refresh(con, home, models, plan, wh, result, old_fp)
        # the histories are copied in again whole, as into a new file
        con.execute("DROP VIEW IF EXISTS marts.kpi_month_restatements")
        con.execute("DROP TABLE IF EXISTS marts.kpi_month_history")
        con.execute("DROP TABLE IF EXISTS quality.results")
        return _finish(con, home, result)
    finally:
        con.close()


def _refresh(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    models: list[Model],
    plan: Plan,
    wh: str,
    result: BuildResult,
    fp: str,
) -> None:
    """Refresh the warehouse copy ``wh`` (lake views registered, catalog ``scope`` attached with the
    reference tables) for the night: the scope's rows, the full and month models, the incremental state
    (``fp``: the fingerprint it keeps)."""
    night = Night()
    with timed(log, "built the night's scope"):
        prepare_scope(con, home, plan, wh, night)
    result.mode, result.mode_note = "incremental", night.describe()
    with timed(log, "replaced the scope's rows"):
        apply_scope(con, plan)
    # the header tests of the models that live only in the scope catalog run there, on the scope's
    # rows, before catalog intermediate is attached (the name would be ambiguous in scope)
    scoped = scope_test_models(plan)
    counts = []
    con.execute("USE scope")
    try:
        for m in models:
            if m.name in scoped:
                counts += [(m.name, label, n) for label, n in model_test_counts(con, m)]
    finally:
        con.execute(f"USE {wh}")
    con.execute(f"ATTACH ':memory:' AS {EPHEMERAL_LAYER}")
    bind_persisted(con, plan, wh)
    keyed = {m.name for m in plan.keyed}
    for model in plan.full:
        with timed(log, f"built {model.name}"):
            if model.additive:
                refresh_additive_mart(con, model, keyed, wh)
            elif model.sliced:
                refresh_month_mart(con, model, wh)
            else:
                _build_model(con, model, result)
    for model in [*plan.keyed, *(m for m in plan.full if m.sliced)]:
        if model.materialized == "table":
            result.row_counts[model.name] = int(
                con.execute(f"SELECT count(*) FROM {model.name}").fetchone()[0]
            )
    # every mart in the order of a full build (row_counts is shown in this order)
    order = [m.name for m in models if m.name in result.row_counts]
    result.row_counts = {name: result.row_counts[name] for name in order}
    with timed(log, "tested the ephemeral models"):
        whole = [m for m in models if m.ephemeral and m.name not in scoped]
        record_build_model_tests(con, whole, counts=counts)
    with timed(log, "kept the incremental state"):
        save_state(con, fp)
    keep_unchecked_scope(con, "scope")  # the warehouse suite tests the keyed marts' rows replaced
    con.execute(f"DETACH {EPHEMERAL_LAYER}")
    con.execute("DETACH scope")


def build(
    home: Home,
    *,
    sql_dir: Path | None = None,
    before_publish: Callable[[Path], None] | None = None,
    full: bool = False,
    ahead: CopyAhead | None = None,
) -> BuildResult:
    """Build ``<home>/warehouse.duckdb`` from the lake, the reference seeds and ``sql/``; replace atomically.

    Incremental (``pipeline.warehouse.incremental``) when the published warehouse was built by the same
    code, SQL, reference data, payers and settings; otherwise, or with ``full=True``, every model is
    computed from the whole lake. ``BuildResult.mode`` and ``mode_note`` say which and why.
    Takes the home's run lock (re-entrant, so ``remit run`` can hold it around ingest and build).
    ``before_publish`` is called with the finished, closed new file just before it replaces the old one
    (the nightly job runs the warehouse quality suite there); if it raises, nothing is published.
    ``ahead`` is a ``CopyAhead`` of the published file, used by an incremental build (and removed in any
    case). The quality history (``quality.results``, kept in its own file) is copied into every new warehouse.
    Raises on any SQL error, leaving the previous warehouse untouched.
    """
    from pipeline.lake import run_lock

    started = time.perf_counter()
    models = load_models(sql_dir)
    try:
        plan = make_plan(models)
    except ValueError as exc:
        raise ModelError(str(exc)) from exc
    sql_root = sql_dir or resource_dir("sql")
    target = home.warehouse
    with run_lock(home):
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and not target.is_file():
            raise RuntimeError(
                f"{target} is not a file (a directory?): move it away; the warehouse is published there"
            )
        _remove_stale_builds(target)
        tmp = target.with_name(f"{target.name}.building-{os.getpid()}")

        def clean() -> None:
            for leftover in (tmp, _wal(tmp)):
                leftover.unlink(missing_ok=True)

        clean()
        result = BuildResult(path=target, seconds=0.0)
        try:
            figures = None
            if full:
                result.mode_note = "--full"
            elif not target.is_file():
                result.mode_note = "no published warehouse yet"
            else:
                try:
                    figures = _build_incremental(home, models, plan, tmp, result, sql_root, ahead)
                except FullBuildNeeded as exc:
                    clean()
                    result = BuildResult(path=target, seconds=0.0, mode_note=str(exc))
                    log.info("full build: %s", exc)
            if figures is None:
                if ahead is not None:
                    ahead.discard()  # not needed: its gigabytes go before the full build writes its own
                figures = _build_full(home, models, plan, tmp, result, sql_root)
            if before_publish is not None:
                with timed(log, "checked the new warehouse before publishing"):
                    before_publish(tmp)
            for name in _analyst_tables(target):
                result.warnings.append(
                    f"{name} was added to the previous warehouse by hand and is not in the new one "
                    "(keep own tables in a DuckDB file of your own; see docs/analysts.md)"
                )
            _stamp_path(target).unlink(missing_ok=True)  # a crash from here on: the next build is full
            with timed(log, "published the new warehouse"):
                publish_database(tmp, target)
            _record_stamp(target)
            try:
                append_history(home, figures)
            except (duckdb.Error, OSError) as exc:  # the published warehouse has it; later builds miss it
                result.warnings.append(f"kpi_month_history not kept for later builds: {exc}")
        except BaseException:
            clean()
            raise
        finally:
            if ahead is not None:
                ahead.discard()
    result.seconds = time.perf_counter() - started
    log.info(
        "warehouse built in %.1fs (%s)",
        result.seconds,
        result.how,  # night.describe() starts with 'incremental:' itself
        extra={"fields": {"marts": result.row_counts, "mode": result.mode}},
    )
    return result
