"""Incremental nights: refresh the published warehouse for what the night's files touch.

A full build reads the whole lake and computes every model. A night adds a few thousand claims to a
lake of millions, so ``remit build`` (and ``remit run``) instead copies the published warehouse, replaces
the rows of the night's *scope* and recomputes the models that cannot be cut by scope, then publishes the
copy as a full build would (new file + ``os.replace``; readers of the old file keep a consistent copy).
``remit build --full`` always rebuilds everything; an incremental build must give the same marts (tested
by ``tests/test_incremental.py``).

**When.** Only when the published warehouse carries the state an incremental build needs (schema
``incremental``, written by every build) and its *fingerprint* matches: the code (every ``.py`` of the
``pipeline`` package), the SQL models, the reference tables and ``payers.csv`` (not the settings). Otherwise,
or when the scope would hold more than ``MAX_SCOPE_SHARE`` of the lake's claims, or when a model that is
complete in the scope (``marts.dim_payer``) changed, the build is a full one and says why.

**Scope.** A set of patient control numbers (CLP01 = CLM01; a NULL one counts as ''), across every payer:
episodes are CLP01 x payer and link across payers by CLP01 (secondaries, redirects). Its seeds:

- the CLP01s of the claims and submitted claims (837) in files added to the lake since the last build
  (the lake manifest's loaded file ids against ``incremental.lake_files``) and in files removed since;
- episodes with a denial event whose open / written-off state flips because the as-of date moved past
  (or, after a removal, back before) the end of its resolution window;

(the night the lake gets its first 837, or loses its last, is a full build: every remitted episode enters
or leaves ``marts.remits_without_submission``)

closed under reversal netting's links across CLP01s (a claim whose REF*F8 names another claim's CLP07 at
the same payer), until no CLP01 is added.

**Claim order.** ``int_claims.seq`` is made from the claim's own row (payment date, file key, ST ordinal,
CLP position: sql/intermediate/int_claims.sql), so a payment added or removed moves no other claim: the
kept rows stay as they are.

**Models.** Each model's header says how it is refreshed (``-- incremental:``, ``pipeline.warehouse.models``):

- ``claim_id`` / ``episode_id``: the model's SQL runs unchanged over the scope's rows only: the lake's
  claim tables are bound, in an in-memory catalog, to tables holding only the scope's claims (the
  payment tables whole), and the staging and intermediate models are rebuilt there under the names the
  SQL reads. The warehouse's rows whose key belongs to the scope (before or after the night) are deleted
  and the scope's rows inserted.
- ``full``: recomputed whole from the refreshed marts, the lake views, and the keyed intermediate models a
  full model reads, which every build keeps in schema ``incremental`` (``int_claims`` and the like: not
  for analysts) and refreshes by scope the same way; of each only the columns someone reads
  (``Plan.kept_columns``).
- ``payment_month``: recomputed for the months in which the night changed a keyed table's row (the scope's
  rows before and after compared whole) or a file was added or removed (``refresh_month_mart``).

As-of dates only enter ``full`` models (ages, deadlines, the as-of date itself) and the flip of an open
denial to written-off, which puts the episode into the scope; ``incremental.build_state`` keeps the as-of
date of the last build for that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.home import Home
from pipeline.log import get_logger, timed
from pipeline.warehouse.models import EPHEMERAL_LAYER, Model, create_table_sql, quote_identifier

log = get_logger("warehouse")

STATE_SCHEMA = "incremental"
SCOPE_CATALOG = "scope"
# above this share of the lake's claims in the scope, a full build is cheaper than cutting
MAX_SCOPE_SHARE = 0.4
# lake tables cut to the scope: the roots by patient control number, the tables under a claim by their
# root's claim key in the lake (file_key, claim_number: docs/parser.md, "Keys and ids")
SCOPE_ROOTS = ("claims", "submitted_claims")
LAKE_CLAIM_KEY = ("file_key", "claim_number")
PCN = "patient_control_number"
MONTH_COLUMN = "payment_month"
# the lifecycle's as-of rules (sql/intermediate/int_denial_candidates.sql): an unresolved denial event is
# written_off once the as-of date reaches first_denied_date + resolution_window_days, else open
AS_OF_MODEL = "marts.lifecycle_settings"
EVENTS_MODEL = "intermediate.int_denial_events"
UNRESOLVED = ("open", "written_off")
# kept in schema incremental whatever reads them: the scope's seeds are found in them (claims of a removed
# payment and its netting links; submitted claims of a removed 837; as-of flips)
INDEX_MODELS = ("intermediate.int_claims", "intermediate.int_submissions", EVENTS_MODEL)
# the columns of those this module reads (the scope's seeds and netting links), kept whoever else reads them
INDEX_COLUMNS = {
    "intermediate.int_claims": {
        "claim_id",
        "episode_id",
        "transaction_id",
        "payer_key",
        PCN,
        "payer_claim_control_number",
        "original_reference_number",
    },
    "intermediate.int_submissions": {"episode_id", "file_id", "submitted_payer_id", PCN},
    EVENTS_MODEL: {"claim_id", "resolution", "first_denied_date"},
}


class FullBuildNeeded(Exception):
    """An incremental build is not possible or not worth it; the message says why."""


@dataclass
class Plan:
    """How each model is refreshed on an incremental night (worked out from the model headers)."""

    scope_models: list[Model]  # built in the scope catalog, in dependency order
    keyed: list[Model]  # tables whose scope rows are replaced in the warehouse
    persisted: list[Model]  # keyed intermediate models kept in schema incremental
    full: list[Model]  # tables recomputed whole in the warehouse, in dependency order

    def state_table(self, model: Model) -> str:
        """Where a persisted intermediate model is kept in the warehouse."""
        return f"{STATE_SCHEMA}.{model.name.split('.', 1)[1]}"

    def kept_columns(self, model: Model, columns: list[str]) -> list[str]:
        """The columns of persisted ``model`` (whose columns are ``columns``) kept in its state table: its
        keys, those this module reads, and those a full model may read (``alias.column`` for an alias it
        gives the model, ``alias.*``, or the bare name anywhere: any doubt keeps the column). A full model
        reading a column not kept would fail on a night (the view has no such column)."""
        import re

        readers = [r for r in self.full if model.name in r.depends_on]
        keep = {model.incremental, *(model.unique_key or ()), *INDEX_COLUMNS.get(model.name, ())}
        # a column named without a table (``SELECT paid_amount FROM x AS c JOIN y``) may be this model's
        bodies = [re.sub(r"--[^\n]*", "", r.body) for r in readers]
        return [
            c
            for c in columns
            if c in keep
            or any(_reads(r, model.name, c) for r in readers)
            or any(re.search(rf"(?<![.\w]){re.escape(c)}\b", b) for b in bodies)
        ]


def _lake_deps(model: Model) -> set[str]:
    return {d.split(".", 1)[1] for d in model.depends_on if d.startswith("lake.")}


def make_plan(models: list[Model]) -> Plan:
    """Classify ``models`` (in dependency order); raise ``ValueError`` when the headers cannot work.

    A keyed model's inputs must be keyed too, or complete in the scope: a staging view over lake tables
    that are not cut (payments, PLBs), a reference table, or a ``full`` model reading only those.
    """
    from pipeline.lake.views import TABLES

    by_name = {m.name: m for m in models}
    children = {t for t, schema in TABLES.items() if LAKE_CLAIM_KEY[1] in schema.names}
    cut_tables = set(SCOPE_ROOTS) | children
    complete: dict[str, bool] = {}  # model -> its rows are all there in the scope catalog
    for m in models:
        deps = [by_name[d] for d in m.depends_on if d in by_name]
        if m.schema == "staging":
            complete[m.name] = not (_lake_deps(m) & cut_tables) and all(complete[d.name] for d in deps)
        else:
            complete[m.name] = not m.keyed and all(complete[d.name] for d in deps)
    needed: set[str] = set()
    for m in reversed(models):
        if m.keyed or m.name in needed:
            if m.keyed or not complete[m.name] and m.schema != "staging":
                for d in m.depends_on:
                    dep = by_name.get(d)
                    if dep is None:
                        continue
                    if not (dep.keyed or dep.schema == "staging" or complete[d]):
                        raise ValueError(
                            f"{m.path.name}: incremental {m.incremental} reads {d}, which is neither keyed "
                            "nor complete in the scope: make it keyed, or this model full"
                        )
            needed.update(d for d in m.depends_on if d in by_name)
    for m in models:
        if not m.sliced or m.additive:  # an additive mart's inputs are checked below
            continue
        for d in m.depends_on:
            dep = by_name.get(d)
            if dep is not None and not (
                dep.keyed and dep.schema == "marts" or dep.schema == "staging" or complete[d]
            ):
                raise ValueError(
                    f"{m.path.name}: incremental {m.incremental} reads {d}, which is neither a keyed mart, a "
                    "staging view nor complete in the scope: make this model full"
                )
    for m in models:
        if not m.additive:
            continue
        # its measures are the scope's rows before and after: every input those come from is a keyed mart
        # (apply_scope keeps its rows as they were), the others (dimensions, reference) read whole
        internal = [by_name[d] for d in m.depends_on if d in by_name]
        bad = [d.name for d in internal if not (d.keyed and d.schema == "marts" or complete[d.name])]
        if bad or not any(d.keyed for d in internal):
            raise ValueError(
                f"{m.path.name}: additive needs keyed marts as inputs (and complete ones such as "
                f"dimensions), not {', '.join(bad) or 'none keyed'}"
            )
    scope_models = [m for m in models if m.keyed or m.name in needed]
    for m in models:
        for d in m.depends_on if m.sliced else ():
            dep = by_name.get(d)
            if dep is not None and dep.schema == "marts" and not dep.keyed and d not in needed:
                raise ValueError(
                    f"{m.path.name}: reads {d}, whose changes no night checks: make this model full"
                )
    full = [m for m in models if not m.keyed and m.materialized != "view"]
    full_deps = {d for m in full for d in m.depends_on}
    persisted = [
        m for m in models if m.keyed and m.ephemeral and (m.name in full_deps or m.name in INDEX_MODELS)
    ]
    missing = [n for n in INDEX_MODELS if n not in {m.name for m in persisted}]
    if missing:
        raise ValueError(f"incremental builds need {', '.join(missing)} keyed (claim_id or episode_id)")
    keyed = [m for m in models if m.keyed]
    return Plan(scope_models, keyed, persisted, full)


def fingerprint(con: duckdb.DuckDBPyConnection, ref_schema: str, home: Home, sql_dir: Path) -> str:
    """sha256 of what the marts are a function of besides the lake: code, SQL, reference data and payers
    (both read from the ``ref`` tables loaded in ``ref_schema``, e.g. ``scope.ref``).

    Not the settings (``pipeline.settings``): none changes a mart's value (they set the inbox's settle
    time, file and batch sizes, the build's memory cap, Spark's partitions), and cron's environment and an
    operator's shell differ (``make demo`` sets REMIT_INBOX_SETTLE_SECONDS): they forced full builds.
    """
    import pipeline

    h = hashlib.sha256()
    root = Path(pipeline.__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for path in sorted(sql_dir.rglob("*.sql")):
        h.update(path.relative_to(sql_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    catalog, schema = ref_schema.rsplit(".", 1)
    catalog = catalog.strip('"').replace('""', '"')
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? ORDER BY 1",
            [catalog, schema],
        ).fetchall()
    ]
    for name in tables:
        digest = con.execute(
            "SELECT count(*), md5(coalesce(string_agg(CAST(t AS VARCHAR), '\n' ORDER BY CAST(t AS VARCHAR)), "
            f"'')) FROM {ref_schema}.{name} AS t"
        ).fetchone()
        h.update(f"{name}:{digest[0]}:{digest[1]}\0".encode())
    return h.hexdigest()


def save_persisted(con: duckdb.DuckDBPyConnection, plan: Plan, model: Model) -> None:
    """Copy persisted intermediate ``model`` (just built by a full build) into its state table in schema
    ``incremental``, with the columns ``Plan.kept_columns`` keeps."""
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {model.name})").fetchall())
    kept = [(c, types[c]) for c in plan.kept_columns(model, list(types))]
    listed = ", ".join(quote_identifier(c) for c, _ in kept)
    # declared first, so its identifier columns are written with zstd (models.zstd_columns)
    con.execute(create_table_sql(plan.state_table(model), kept))
    con.execute(f"INSERT INTO {plan.state_table(model)} SELECT {listed} FROM {model.name}")


def save_state(con: duckdb.DuckDBPyConnection, fp: str) -> None:
    """Write the rest of schema ``incremental`` of the warehouse being built: the lake files and payments
    it was built from, and its fingerprint and as-of date. (The persisted intermediate models are there
    already: a full build copies each as it is built, ``save_persisted``; a night replaces their scope
    rows, ``apply_scope``.)"""
    from pipeline.lake.state import LOADED_STATUSES

    con.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}")
    statuses = ", ".join(f"'{s}'" for s in LOADED_STATUSES)
    con.execute(
        f"CREATE OR REPLACE TABLE {STATE_SCHEMA}.lake_files AS SELECT DISTINCT file_id FROM lake.manifest "
        f"WHERE status IN ({statuses})"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {STATE_SCHEMA}.payments AS "
        "SELECT transaction_id, file_id, payer_key "
        "FROM staging.stg_payments"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {STATE_SCHEMA}.build_state AS SELECT ? AS fingerprint, as_of_date, "
        f"resolution_window_days FROM {AS_OF_MODEL}",
        [fp],
    )


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


@dataclass
class Night:
    """What an incremental build found to do: files in and out, the scope's size, why it grew."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    scope_pcns: int = 0
    scope_claims: int = 0
    lake_claims: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """One phrase for the summary line."""
        share = (
            f" ({self.scope_claims / self.lake_claims:.1%} of the lake's claims)" if self.lake_claims else ""
        )
        why = ", ".join(f"{k} {v}" for k, v in self.reasons.items() if v)
        return (
            f"incremental: {len(self.added)} file(s) added, {len(self.removed)} removed; scope "
            f"{self.scope_pcns} patient control number(s), {self.scope_claims} claim(s){share}"
            + (f" [{why}]" if why else "")
        )


def _scope_seeds(con: duckdb.DuckDBPyConnection, plan: Plan, night: Night) -> None:
    """Fill ``scope.main.scope_pcn`` with the night's seeds and close it over netting's links.

    Runs with the warehouse copy as the current catalog (its ``lake`` views over the current lake, its
    ``incremental`` state from the last build).
    """
    from pipeline.lake.state import LOADED_STATUSES

    statuses = _sql_list(LOADED_STATUSES)
    claims_state = f"{STATE_SCHEMA}.int_claims"
    con.execute(
        f"CREATE TEMP TABLE night_files AS SELECT file_id, file_key, payment_months FROM lake.manifest "
        f"WHERE status IN ({statuses}) AND file_id NOT IN (SELECT file_id FROM {STATE_SCHEMA}.lake_files)"
    )
    night.added = [
        r[0] for r in con.execute("SELECT DISTINCT file_id FROM night_files ORDER BY 1").fetchall()
    ]
    night.removed = [
        r[0]
        for r in con.execute(
            f"SELECT file_id FROM {STATE_SCHEMA}.lake_files WHERE file_id NOT IN "
            f"(SELECT file_id FROM lake.manifest WHERE status IN ({statuses})) ORDER BY 1"
        ).fetchall()
    ]
    # marts.remits_without_submission lists every remitted episode without an 837 once any 837 is loaded:
    # the night the first one is loaded (or the last removed) changes it outside any scope
    had_837s = con.execute(f"SELECT EXISTS (SELECT 1 FROM {STATE_SCHEMA}.int_submissions)").fetchone()[0]
    has_837s = con.execute("SELECT EXISTS (SELECT 1 FROM lake.submitted_claims)").fetchone()[0]
    if had_837s != has_837s:
        raise FullBuildNeeded(
            "the first 837 was loaded (or the last one removed): every remitted episode's "
            "remits_without_submission row changes"
        )
    months = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT m FROM (SELECT unnest(payment_months) AS m FROM night_files) WHERE m IS NOT NULL"
        ).fetchall()
    ]
    con.execute(
        "CREATE TEMP TABLE night_months AS SELECT DISTINCT unnest(payment_months) AS payment_month "
        f"FROM lake.manifest WHERE file_id IN (SELECT file_id FROM night_files) OR file_id IN "
        f"(SELECT file_id FROM {STATE_SCHEMA}.lake_files EXCEPT SELECT file_id FROM lake.manifest "
        f"WHERE status IN ({statuses}))"
    )
    # lake partitions by payment month (837s by submission month): read only the added files' months
    month_filter = f"(payment_month IN ({_sql_list(months)}) OR payment_month IS NULL)" if months else "false"
    con.execute("CREATE TEMP TABLE seeds (pcn VARCHAR, why VARCHAR)")
    con.execute(
        f"INSERT INTO seeds SELECT coalesce({PCN}, ''), 'added' FROM lake.claims WHERE {month_filter} "
        "AND file_key IN (SELECT file_key FROM night_files)"
    )
    con.execute(
        f"INSERT INTO seeds SELECT coalesce({PCN}, ''), 'added' FROM lake.submitted_claims "
        f"WHERE {month_filter} AND file_key IN (SELECT file_key FROM night_files)"
    )
    if night.removed:
        removed = _sql_list(night.removed)
        con.execute(
            f"INSERT INTO seeds SELECT coalesce(c.{PCN}, ''), 'removed' FROM {claims_state} AS c "
            f"WHERE c.transaction_id IN (SELECT transaction_id FROM {STATE_SCHEMA}.payments "
            f"WHERE file_id IN ({removed}))"
        )
        con.execute(
            f"INSERT INTO seeds SELECT coalesce({PCN}, ''), 'removed' FROM {STATE_SCHEMA}.int_submissions "
            f"WHERE file_id IN ({removed})"
        )
    # a payer key first seen (or gone): 837s naming it are matched to it now (int_submissions' payer rule)
    con.execute(
        f"""
        INSERT INTO seeds SELECT coalesce(s.{PCN}, ''), 'payer' FROM {STATE_SCHEMA}.int_submissions AS s
        WHERE s.submitted_payer_id IN (
            SELECT * FROM (SELECT payer_key FROM {STATE_SCHEMA}.payments
                EXCEPT SELECT payer_key FROM staging.stg_payments)
            UNION ALL SELECT * FROM (SELECT payer_key FROM staging.stg_payments
                EXCEPT SELECT payer_key FROM {STATE_SCHEMA}.payments)
        )
        """
    )
    # as-of flips: an unresolved denial event whose window ends between the old and the new as-of date
    old_as_of, window = con.execute(
        f"SELECT as_of_date, resolution_window_days FROM {STATE_SCHEMA}.build_state"
    ).fetchone()
    new_as_of = con.execute("SELECT max(payment_date) FROM staging.stg_payments").fetchone()[0]
    if old_as_of != new_as_of:
        lo, hi = (
            sorted([d for d in (old_as_of, new_as_of) if d is not None])
            if None
            not in (
                old_as_of,
                new_as_of,
            )
            else (None, None)
        )
        events = f"{STATE_SCHEMA}.{EVENTS_MODEL.split('.', 1)[1]}"
        flip = (
            "TRUE"
            if lo is None
            else f"date_add(e.first_denied_date, {int(window)}) > DATE '{lo}' "
            f"AND date_add(e.first_denied_date, {int(window)}) <= DATE '{hi}'"
        )
        con.execute(
            f"INSERT INTO seeds SELECT DISTINCT coalesce(c.{PCN}, ''), 'as_of' FROM {events} AS e "
            f"JOIN {claims_state} AS c ON c.claim_id = e.claim_id "
            f"WHERE e.resolution IN ({_sql_list(UNRESOLVED)}) AND {flip}"
        )
    for why, n in con.execute(
        "SELECT why, count(DISTINCT pcn) FROM seeds GROUP BY why ORDER BY why"
    ).fetchall():
        night.reasons[why] = int(n)
    # netting links across CLP01s: a claim whose REF*F8 names another claim's CLP07 at the same payer. Only
    # the claims at either end of such a link can bring a CLP01 in: those with an F8, and those whose CLP07
    # an F8 names at their payer (a few per cent of the lake's claims; keeping every claim with a CLP07
    # made a table of the whole lake and its DISTINCT every night)
    con.execute(
        f"""
        CREATE TEMP TABLE link_keys AS
        WITH keys AS (
            SELECT coalesce({PCN}, '') AS pcn, payer_key, payer_claim_control_number AS ccn,
                original_reference_number AS f8
            FROM {claims_state}
            WHERE payer_claim_control_number IS NOT NULL OR original_reference_number IS NOT NULL
            UNION ALL
            SELECT coalesce(c.{PCN}, ''), p.payer_key, c.payer_claim_control_number,
                c.original_reference_number
            FROM lake.claims AS c
            JOIN staging.stg_payments AS p
                ON p.file_key = c.file_key AND p.transaction_ordinal = c.transaction_ordinal
            WHERE {month_filter.replace("payment_month", "c.payment_month")}
                AND c.file_key IN (SELECT file_key FROM night_files)
        ),
        named AS (SELECT DISTINCT payer_key, f8 FROM keys WHERE f8 IS NOT NULL)
        SELECT * FROM keys WHERE f8 IS NOT NULL
        UNION
        SELECT k.* FROM keys AS k SEMI JOIN named AS n ON n.payer_key = k.payer_key AND n.f8 = k.ccn
        """
    )
    con.execute(f"CREATE TABLE {SCOPE_CATALOG}.main.scope_pcn AS SELECT DISTINCT pcn FROM seeds")
    while True:
        added = con.execute(
            f"""
            INSERT INTO {SCOPE_CATALOG}.main.scope_pcn
            WITH s AS (
                SELECT k.* FROM link_keys AS k WHERE k.pcn IN (SELECT pcn FROM {SCOPE_CATALOG}.main.scope_pcn)
            )
            -- two equality joins, not one join on an OR (which DuckDB cannot hash: a nested loop)
            SELECT k.pcn FROM link_keys AS k JOIN s ON s.payer_key = k.payer_key AND k.ccn = s.f8
            WHERE k.pcn NOT IN (SELECT pcn FROM {SCOPE_CATALOG}.main.scope_pcn)
            UNION
            SELECT k.pcn FROM link_keys AS k JOIN s ON s.payer_key = k.payer_key AND k.f8 = s.ccn
            WHERE k.pcn NOT IN (SELECT pcn FROM {SCOPE_CATALOG}.main.scope_pcn)
            """
        ).fetchone()[0]
        night.reasons["linked"] = night.reasons.get("linked", 0) + int(added)
        if not added:
            break
    night.scope_pcns = int(con.execute(f"SELECT count(*) FROM {SCOPE_CATALOG}.main.scope_pcn").fetchone()[0])


def _scope_lake(con: duckdb.DuckDBPyConnection, wh: str) -> None:
    """Bind ``scope.lake``: the claim tables cut to the scope's CLP01s, every other lake table whole."""
    from pipeline.lake.views import TABLES

    s = SCOPE_CATALOG
    con.execute(f"CREATE SCHEMA {s}.lake")
    con.execute(f"CREATE VIEW {s}.lake.manifest AS SELECT * FROM {wh}.lake.manifest")
    for root in SCOPE_ROOTS:
        con.execute(
            f"CREATE TABLE {s}.lake.{root} AS SELECT * FROM {wh}.lake.{root} "
            f"WHERE coalesce({PCN}, '') IN (SELECT pcn FROM {s}.main.scope_pcn)"
        )
    key = ", ".join(LAKE_CLAIM_KEY)
    for name, schema in TABLES.items():
        if name in SCOPE_ROOTS:
            continue
        if LAKE_CLAIM_KEY[1] in schema.names:
            root = "submitted_claims" if name.startswith("submitted_") else "claims"
            # the scope's files first: a join on one column hands the Parquet scan a filter (a Bloom
            # filter of the few hundred file keys), so it decodes only the row groups' parts holding those
            # files' rows; the join on the claim key alone decoded every column of every row (service
            # lines 0.78 -> 0.25 s, adjustments 0.48 -> 0.13 s on a 5M-claim lake)
            con.execute(
                f"CREATE TABLE {s}.lake.{name} AS SELECT t.* FROM {wh}.lake.{name} AS t "
                f"SEMI JOIN (SELECT DISTINCT {LAKE_CLAIM_KEY[0]} FROM {s}.lake.{root}) AS f "
                f"USING ({LAKE_CLAIM_KEY[0]}) SEMI JOIN {s}.lake.{root} AS r USING ({key})"
            )
        else:
            con.execute(f"CREATE VIEW {s}.lake.{name} AS SELECT * FROM {wh}.lake.{name}")


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()]


def _reads(model: Model, relation: str, column: str) -> bool:
    """Whether ``model``'s SQL may read ``column`` of ``relation``: ``alias.column`` or ``alias.*`` for
    each alias it gives the relation; without an alias, whenever the word appears (or a ``*``)."""
    import re

    body = model.body
    aliases = re.findall(rf"{re.escape(relation)}\s+(?:AS\s+)?(\w+)", body, flags=re.IGNORECASE)
    aliases = [a for a in aliases if a.upper() not in ("ON", "WHERE", "GROUP", "LEFT", "INNER", "JOIN")]
    if not aliases or len(aliases) < body.count(relation):
        return bool(re.search(rf"\b{re.escape(column)}\b|\*", body))
    return any(re.search(rf"\b{a}\.({re.escape(column)}\b|\*)", body) for a in aliases)


def _same(con: duckdb.DuckDBPyConnection, a: str, b: str) -> bool:
    """The two relations hold the same rows (as multisets)."""
    n = con.execute(
        f"SELECT (SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})) + "
        f"(SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}))"
    ).fetchone()[0]
    return n == 0


def prepare_scope(con: duckdb.DuckDBPyConnection, home: Home, plan: Plan, wh: str, night: Night) -> None:
    """Work out the night's scope and build the scope models in catalog ``scope``.

    ``con`` has the warehouse copy ``wh`` as its current catalog, its ``lake`` views registered over the
    current lake, and ``scope`` attached with the reference tables loaded. Raises ``FullBuildNeeded``.
    """
    with timed(log, "found the scope's patient control numbers"):
        _scope_seeds(con, plan, night)
    night.lake_claims = int(con.execute(f"SELECT count(*) FROM {STATE_SCHEMA}.int_claims").fetchone()[0])
    with timed(log, "cut the lake's claim tables to the scope"):
        _scope_lake(con, wh)
    s = SCOPE_CATALOG
    night.scope_claims = int(con.execute(f"SELECT count(*) FROM {s}.lake.claims").fetchone()[0])
    if night.lake_claims and night.scope_claims > MAX_SCOPE_SHARE * night.lake_claims:
        raise FullBuildNeeded(
            f"the night touches {night.scope_claims} of {night.lake_claims} claims (over "
            f"{MAX_SCOPE_SHARE:.0%}): a full build is cheaper"
        )
    con.execute(f"USE {s}")
    try:
        for schema in ("staging", EPHEMERAL_LAYER, "marts"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {s}.{schema}")
        for m in plan.scope_models:
            try:
                with timed(log, f"built {m.name} in the scope"):
                    con.execute(m.ddl())
            except duckdb.Error as exc:
                raise RuntimeError(f"{m.path.name} ({m.name}) failed on the night's scope: {exc}") from exc
    finally:
        con.execute(f"USE {wh}")
    for m in plan.scope_models:
        # a mart whole in the scope (dim_payer) whose columns that keyed models read changed would change
        # their rows outside the scope too
        if m.keyed or m.schema != "marts" or m.materialized != "table":
            continue
        readers = [r for r in [*plan.keyed, *plan.full] if (r.keyed or r.sliced) and m.name in r.depends_on]
        cols = [c for c in _columns(con, f"{s}.{m.name}") if any(_reads(r, m.name, c) for r in readers)]
        # rows of a new key (a payer first seen tonight) join only the night's rows: compare the others
        key = [c for c in m.unique_key if c in cols] if m.unique_key else []
        if key and set(key) == set(m.unique_key):
            on = " AND ".join(f'a."{c}" = b."{c}"' for c in key)
            rest = [c for c in cols if c not in key]
            differ = " OR ".join(f'a."{c}" IS DISTINCT FROM b."{c}"' for c in rest) or "false"
            changed = con.execute(
                f"SELECT count(*) FROM {s}.{m.name} AS a JOIN {wh}.{m.name} AS b ON {on} WHERE {differ}"
            ).fetchone()[0]
        else:
            listed = ", ".join(f'"{c}"' for c in cols) or "1"
            changed = not _same(
                con, f"(SELECT {listed} FROM {s}.{m.name})", f"(SELECT {listed} FROM {wh}.{m.name})"
            )
        if changed:
            raise FullBuildNeeded(
                f"{m.name} changed ({', '.join(cols)}: read by rows outside the night's scope)"
            )
    claims = f"{s}.{EPHEMERAL_LAYER}.int_claims"
    subs = f"{s}.{EPHEMERAL_LAYER}.int_submissions"
    in_scope = f"coalesce({PCN}, '') IN (SELECT pcn FROM {s}.main.scope_pcn)"
    con.execute(
        f"CREATE TABLE {s}.main.scope_claim_id AS SELECT claim_id FROM {STATE_SCHEMA}.int_claims "
        f"WHERE {in_scope} UNION SELECT claim_id FROM {claims}"
    )
    con.execute(
        f"CREATE TABLE {s}.main.scope_episode_id AS "
        f"SELECT episode_id FROM {STATE_SCHEMA}.int_claims WHERE {in_scope} "
        f"UNION SELECT episode_id FROM {STATE_SCHEMA}.int_submissions WHERE {in_scope} "
        f"UNION SELECT episode_id FROM {claims} UNION SELECT episode_id FROM {subs}"
    )


def apply_scope(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """Replace the scope's rows of every keyed mart and persisted intermediate model in the warehouse;
    keep the rows replaced of those an additive mart reads (``_before_table``)."""
    persisted = {m.name for m in plan.persisted}
    additive_inputs = {d for m in plan.full if m.additive for d in m.depends_on}
    s = SCOPE_CATALOG
    for m in plan.keyed:
        if m.ephemeral and m.name not in persisted:
            continue  # read only by other keyed models: it lived in the scope catalog
        target = plan.state_table(m) if m.ephemeral else m.name
        with timed(log, f"replaced the scope's rows of {target}"):
            key = m.incremental
            columns = _columns(con, target)
            listed = ", ".join(f'"{c}"' for c in columns)
            old = f"SELECT {listed} FROM {target} WHERE {key} IN (SELECT {key} FROM {s}.main.scope_{key})"
            if m.name in additive_inputs or not m.ephemeral and "payment_month" in columns:
                # the rows' ids by the key column alone, then the rows by id: a filter on the key fetching
                # every column decoded most of each column (adjustment_detail 0.13 -> 0.06 s, claim_outcomes
                # 0.24 -> 0.06 s for a night's 357 old claims on a 5M-claim warehouse)
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE scope_rows AS SELECT rowid AS row_id FROM {target} "
                    f"WHERE {key} IN (SELECT {key} FROM {s}.main.scope_{key})"
                )
                old = f"SELECT {listed} FROM {target} WHERE rowid IN (SELECT row_id FROM scope_rows)"
            if m.name in additive_inputs:
                before = _before_table(m.name)
                con.execute(f"CREATE OR REPLACE TEMP TABLE {before} AS {old}")
                old = f"SELECT * FROM {before}"
            if not m.ephemeral and "payment_month" in columns:
                # the scope's rows that differ before and after the night (most are recomputed the same):
                # their months, and for marts with finer slices their values, are what payment_month
                # marts recompute (refresh_month_mart)
                changed = _changed_table(m.name)
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {changed} AS WITH old AS ({old}), "
                    f"new AS (SELECT {listed} FROM {s}.{m.name}) "
                    "(SELECT * FROM old EXCEPT ALL SELECT * FROM new) "
                    "UNION ALL (SELECT * FROM new EXCEPT ALL SELECT * FROM old)"
                )
                con.execute(f"INSERT INTO night_months SELECT DISTINCT payment_month FROM {changed}")
            con.execute("BEGIN TRANSACTION")
            con.execute(f"DELETE FROM {target} WHERE {key} IN (SELECT {key} FROM {s}.main.scope_{key})")
            # a state table keeps only some of the model's columns (Plan.kept_columns)
            con.execute(f"INSERT INTO {target} BY NAME SELECT {listed} FROM {s}.{m.name}")
            con.execute("COMMIT")
    months = [
        r[0] for r in con.execute("SELECT DISTINCT payment_month FROM night_months ORDER BY 1").fetchall()
    ]
    log.debug("the night changed rows of %d payment month(s): %s", len(months), ", ".join(map(str, months)))


def bind_persisted(con: duckdb.DuckDBPyConnection, plan: Plan, wh: str) -> None:
    """In the attached in-memory ``intermediate`` catalog, views named as the SQL reads them over the
    persisted intermediate models (the full models read them whole)."""
    for m in plan.persisted:
        con.execute(f"CREATE VIEW {m.name} AS SELECT * FROM {wh}.{plan.state_table(m)}")


def scope_test_models(plan: Plan) -> set[str]:
    """Ephemeral models whose header tests run in the scope catalog on an incremental night: every keyed
    one (the rows it replaced; the rows it kept passed them on an earlier night)."""
    return {m.name for m in plan.keyed if m.ephemeral}


def _changed_table(name: str) -> str:
    """The temporary table of a keyed table's rows the night changed (before and after), by apply_scope."""
    return "changed_" + name.replace(".", "_")


def _before_table(name: str) -> str:
    """The temporary table of a keyed mart's scope rows as they were before the night, by apply_scope."""
    return "before_" + name.replace(".", "_")


def _slices(con: duckdb.DuckDBPyConnection, model: Model, wh: str) -> list[str]:
    """The columns ``model``'s rows are recomputed by on this night: ``payment_month`` and the model's
    ``slice_columns`` when every input with a payment_month column is a keyed table whose changed rows
    apply_scope kept and which has all of them; else ``payment_month`` alone (a lake view, say, whose
    changes are known only by the months of the files added or removed)."""
    cut = [MONTH_COLUMN, *model.slice_columns]
    if not model.slice_columns:
        return cut[:1]
    temp = {
        r[0]
        for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'temp'").fetchall()
    }
    for dep in _month_inputs(con, model, wh):
        if _changed_table(dep) not in temp or not set(cut) <= set(_columns(con, f"{wh}.{dep}")):
            return cut[:1]
    return cut


def _month_inputs(con: duckdb.DuckDBPyConnection, model: Model, wh: str) -> list[str]:
    """The inputs of ``model`` with a payment_month column (their changed rows name the night's slices)."""
    return [d for d in model.depends_on if MONTH_COLUMN in _columns(con, f"{wh}.{d}")]


def refresh_month_mart(con: duckdb.DuckDBPyConnection, model: Model, wh: str) -> None:
    """Recompute a ``payment_month`` mart for the night's slices: its SQL runs in catalog ``months``,
    where every input with a payment_month column is bound to its rows of those slices (the others
    whole), and the mart's rows of those slices are replaced. A slice is a payment month, or with the
    model's ``slice_columns`` (``-- incremental: payment_month, payer_key, ...``) a value of those columns
    in which a keyed input's row changed (``_slices``)."""
    cut = _slices(con, model, wh)
    if len(cut) == 1:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE night_slices AS SELECT DISTINCT payment_month FROM night_months"
        )
    else:
        listed = ", ".join(f'"{c}"' for c in cut)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE night_slices AS "
            + " UNION ".join(
                f"SELECT DISTINCT {listed} FROM {_changed_table(dep)}"
                for dep in _month_inputs(con, model, wh)
            )
        )
    months = [r[0] for r in con.execute("SELECT DISTINCT payment_month FROM night_slices").fetchall()]
    # the months as constants (the tables' zone maps skip the other months), then the slices themselves
    known = [m for m in months if m is not None]
    in_months = " OR ".join(
        ([f"payment_month IN ({_sql_list(known)})"] if known else [])
        + (["payment_month IS NULL"] if None in months else [])
    )
    in_months = in_months or "false"

    def same_slice(alias: str) -> str:
        """``alias``'s row is in the slice of ``night_slices`` row ``k``."""
        return " AND ".join(f'{alias}."{c}" IS NOT DISTINCT FROM k."{c}"' for c in cut)

    def in_slices(alias: str) -> str:
        return f"SEMI JOIN temp.main.night_slices AS k ON {same_slice(alias)}"

    def rows(dep: str) -> str:
        cols = _columns(con, f"{wh}.{dep}")
        if set(cut) <= set(cols):  # an input with payment_month (_slices): its rows of the slices
            return f"SELECT t.* FROM {wh}.{dep} AS t {in_slices('t')} WHERE {in_months}"
        return f"SELECT * FROM {wh}.{dep}"

    _run_bound(con, model, wh, "months", rows, "night_slice", "the night's months")
    table = model.name.split(".", 1)[1]
    con.execute("BEGIN TRANSACTION")
    con.execute(f"DELETE FROM {model.name} USING temp.main.night_slices AS k WHERE {same_slice(table)}")
    con.execute(
        f"INSERT INTO {model.name} BY NAME SELECT s.* FROM temp.main.night_slice AS s {in_slices('s')}"
    )
    con.execute("COMMIT")


def _run_bound(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    wh: str,
    catalog: str,
    rows: Callable[[str], str],
    into: str,
    what: str,
) -> None:
    """Run ``model``'s SQL with each of its inputs bound to ``rows(input)`` (a SELECT): views named as the
    SQL reads them, in the in-memory catalog ``catalog`` attached for the purpose; the result goes to the
    temporary table ``into`` (it outlives the catalog). ``what`` names the rows in an error."""
    con.execute(f"ATTACH ':memory:' AS {catalog}")
    try:
        for dep in model.depends_on:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {catalog}.{dep.split('.', 1)[0]}")
            con.execute(f"CREATE VIEW {catalog}.{dep} AS {rows(dep)}")
        con.execute(f"USE {catalog}")
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS {model.body}")
        except duckdb.Error as exc:
            raise RuntimeError(f"{model.path.name} ({model.name}) failed on {what}: {exc}") from exc
        finally:
            con.execute(f"USE {wh}")
    finally:
        con.execute(f"DETACH {catalog}")


def refresh_additive_mart(con: duckdb.DuckDBPyConnection, model: Model, keyed: set[str], wh: str) -> None:
    """Bring an additive mart (``-- additive:``) up to date by what the night's scope changed: its SQL runs
    once over the scope's rows of its keyed inputs as they were (``_before_table``) and once as they are
    now (catalog ``scope``), its other inputs whole; each row's additive columns gain the difference, rows
    new tonight are inserted and rows whose first additive column falls to 0 deleted.

    Exact because the scope holds whole claims (and episodes): a claim's rows all change together, so a
    count of distinct claims (or lines) over the lake is the sum of the counts over disjoint sets of claims.
    The other columns name the row (the grain columns and what they determine, such as a payer's name).
    """
    measures = model.additive
    columns = _columns(con, f"{wh}.{model.name}")
    names = [c for c in columns if c not in measures]
    parts = {side: f"temp.main.additive_{side}" for side in ("before", "after")}

    def source(dep: str, side: str) -> str:
        if dep not in keyed:
            return f"{wh}.{dep}"
        return f"temp.main.{_before_table(dep)}" if side == "before" else f"{SCOPE_CATALOG}.{dep}"

    for side in parts:
        _run_bound(
            con,
            model,
            wh,
            f"additive_{side}",
            lambda dep, side=side: f"SELECT * FROM {source(dep, side)}",
            f"additive_{side}",
            f"the night's scope ({side})",
        )
    table = model.name.split(".", 1)[1]

    def same(a: str, b: str) -> str:
        return " AND ".join(f'{a}."{c}" IS NOT DISTINCT FROM {b}."{c}"' for c in names)

    keys = ", ".join(f'"{c}"' for c in names)
    listed = ", ".join(f'"{c}"' for c in measures)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE additive_delta AS SELECT {keys}, "
        + ", ".join(f'sum("{c}") AS "{c}"' for c in measures)
        + f" FROM (SELECT {keys}, {listed} FROM {parts['after']} UNION ALL SELECT {keys}, "
        + ", ".join(f'-"{c}"' for c in measures)
        + f" FROM {parts['before']}) GROUP BY ALL"
    )
    # every row the scope gave before is in the mart, and no count goes below 0: else the mart and its
    # inputs disagree (a full build puts them right)
    stray = con.execute(
        f"SELECT count(*) FROM {parts['before']} AS d ANTI JOIN {model.name} AS t ON {same('t', 'd')}"
    ).fetchone()[0]
    con.execute("BEGIN TRANSACTION")
    con.execute(
        f"UPDATE {model.name} SET "
        + ", ".join(f'"{c}" = {table}."{c}" + d."{c}"' for c in measures)
        + f" FROM temp.main.additive_delta AS d WHERE {same(table, 'd')}"
    )
    con.execute(
        f"INSERT INTO {model.name} BY NAME SELECT d.* FROM {parts['after']} AS d "
        f"ANTI JOIN {model.name} AS t ON {same('t', 'd')}"
    )
    first = measures[0]
    negative = con.execute(f'SELECT count(*) FROM {model.name} WHERE "{first}" < 0').fetchone()[0]
    if stray or negative:
        con.execute("ROLLBACK")
        raise RuntimeError(
            f"{model.name} disagrees with its inputs ({stray} row(s) of the night's claims as they were not "
            f"in it, {negative} row(s) counting below 0): rebuild it with remit build --full"
        )
    con.execute(
        f"DELETE FROM {model.name} USING temp.main.additive_delta AS d WHERE {same(table, 'd')} "
        f'AND {table}."{first}" = 0'
    )
    con.execute("COMMIT")
