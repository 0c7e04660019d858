"""Read the SQL models in ``sql/``: their header block (name, grain, dependencies, comments) and body.

Every file under ``sql/staging/``, ``sql/intermediate/`` and ``sql/marts/`` is one model: a header of
``--`` comment lines, then one plain ``SELECT`` (no DDL, so the body can be transpiled to another dialect
as is). The header says::

    -- name: marts.claim_outcomes
    -- materialized: table            (or view; ephemeral for every intermediate model)
    -- grain: one row per ...
    -- depends_on: staging.stg_claims, marts.claim_netting
    -- description: free text, continued on following lines
    --   that start with two extra spaces.
    -- column claim_id: what the column holds
    -- unique_key: claim_id                 (one or more columns, comma separated: the grain)
    -- tests: not_null(claim_id), accepted_values(level: claim line)
    -- incremental: claim_id               (or episode_id, or full: how an incremental build refreshes it)

``unique_key`` and ``tests`` are enforced, not only stated: the warehouse quality suite runs them on
every build (``pipeline.quality.checks``; an ephemeral model's tests run inside the build, while it
exists).

Intermediate models are ``ephemeral`` (as dbt calls it): tables built in an in-memory database attached
as ``intermediate`` for the length of the build, read by the marts and then dropped (a full build drops
each one the incremental state does not keep right after the last model reading it), so the published
warehouse holds only what analysts query (writing a table into the file costs several times more than
computing it in memory). No view may depend on one. A test is ``not_null(col)`` or ``accepted_values(col: a b
c)`` (NULL is accepted by accepted_values; add not_null for it); a ``unique_key`` also implies not_null
on each of its columns.

``incremental`` says how ``remit build`` refreshes the model on a night that adds or removes a few files
(``pipeline.warehouse.incremental``): ``claim_id`` or ``episode_id`` (a ``SCOPE_KEYS`` column the model's
rows carry) replaces the rows of the night's scope, computed by the same SQL over the scope's rows only;
``payment_month`` (a mart whose rows of a month are computed from its inputs' rows of that month)
replaces the months in which the night changed an input row, and ``payment_month, payer_key, ...`` (a
mart whose rows of each such value are computed from its inputs' rows of that value) only the values in
which it changed one. A ``payment_month`` mart whose measures add up over claims says so with ``-- additive:
adjustment_count, dollars, claims_affected`` (counts, sums, and counts of distinct claims or lines, the
first one zero exactly when a row has no input rows): a night then subtracts what its scope's claims
gave before and adds what they give now, whatever months they lie in, the other columns naming the
row. ``full`` (the default) recomputes the model
whole from the refreshed tables. Views take no ``incremental`` line (a staging table may be keyed;
none is today).

The builder creates the models in dependency order (a topological sort of ``depends_on``; names outside
``staging``/``intermediate``/``marts`` such as ``lake.claims`` or ``ref.carc`` must already exist) and
turns the
descriptions into ``COMMENT ON`` statements; ``pipeline.warehouse.dictionary`` renders the same headers
into ``docs/warehouse.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path

from pipeline.resources import resource_dir

LAYERS = ("staging", "intermediate", "marts")
EPHEMERAL = "ephemeral"
EPHEMERAL_LAYER = "intermediate"  # the one layer built in memory: every model there is ephemeral
_KEY = re.compile(
    r"^--\s(?P<key>name|materialized|grain|depends_on|description|unique_key|tests|incremental|additive"
    r"|column [a-z_0-9]+):\s?(?P<val>.*)$"
)
_CONT = re.compile(r"^--\s{3,}(?P<val>\S.*)$")
# VARCHAR columns stored with zstd (Model.zstd_columns): ids, hashed patient keys, CLP01 and CLP07
# numbers and denial line keys, nearly one distinct value per row
ZSTD_SUFFIXES = ("_id", "patient_key", "_control_number", "line_key")
# `-- incremental:` values: a scope key column (rows replaced for the night's scope) or full (recomputed)
FULL = "full"
SCOPE_KEYS = ("claim_id", "episode_id")
MONTH = "payment_month"  # recomputed for the payment months whose input rows the night changed


_TEST = re.compile(r"(?P<kind>not_null|accepted_values)\((?P<args>[^)]*)\)")


class ModelError(ValueError):
    """A SQL model file whose header is missing a field, or whose dependencies cannot be ordered."""


@dataclass(frozen=True)
class ModelTest:
    """One header test: ``not_null`` of ``column``, or ``accepted_values`` of ``column`` in ``values``."""

    kind: str
    column: str
    values: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The test as written in the header, e.g. ``accepted_values(level: claim line)``."""
        if self.kind == "accepted_values":
            return f"accepted_values({self.column}: {' '.join(self.values)})"
        return f"{self.kind}({self.column})"


def parse_tests(text: str, where: str) -> list[ModelTest]:
    """The tests of a ``-- tests:`` header value; raise ``ModelError`` on anything else in it."""
    tests: list[ModelTest] = []
    rest = text
    for m in _TEST.finditer(text):
        rest = rest.replace(m.group(0), "", 1)
        args = m.group("args")
        if m.group("kind") == "not_null":
            if not re.fullmatch(r"\s*[a-z_0-9]+\s*", args):
                raise ModelError(f"{where}: not_null takes one column, got {args!r}")
            tests.append(ModelTest("not_null", args.strip()))
        else:
            column, sep, values = args.partition(":")
            if not sep or not values.split() or not re.fullmatch(r"\s*[a-z_0-9]+\s*", column):
                raise ModelError(f"{where}: write accepted_values(column: value value ...), got {args!r}")
            tests.append(ModelTest("accepted_values", column.strip(), tuple(values.split())))
    if rest.replace(",", "").strip():
        raise ModelError(f"{where}: cannot read the tests {rest.strip()!r}")
    return tests


@dataclass
class Model:
    """One SQL model: ``<schema>.<name>`` built from ``path`` as a view or a table."""

    name: str
    path: Path
    materialized: str
    grain: str
    description: str
    depends_on: list[str]
    columns: dict[str, str] = field(default_factory=dict)
    body: str = ""
    unique_key: list[str] = field(default_factory=list)
    tests: list[ModelTest] = field(default_factory=list)
    incremental: str = FULL
    # payment_month marts: further grain columns its rows of a (payment_month, *slice_columns) value are
    # computed from the inputs' rows of that value only (``-- incremental: payment_month, payer_key``)
    slice_columns: list[str] = field(default_factory=list)
    # payment_month marts whose listed columns are sums over the claims (``-- additive:``): a night
    # subtracts its scope's rows as they were and adds them as they are (incremental.refresh_additive_mart)
    additive: list[str] = field(default_factory=list)

    @property
    def keyed(self) -> bool:
        """Refreshed by scope (rows of the night's claims or episodes replaced), not recomputed whole."""
        return self.incremental in SCOPE_KEYS

    @property
    def sliced(self) -> bool:
        """Recomputed for the night's payment months only (rows of other months kept)."""
        return self.incremental == MONTH

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def kind(self) -> str:
        """``TABLE`` or ``VIEW`` (for DDL and COMMENT ON)."""
        return "VIEW" if self.materialized == "view" else "TABLE"

    @property
    def ephemeral(self) -> bool:
        """Built in memory for the build only, not kept in the published warehouse."""
        return self.materialized == EPHEMERAL

    def test_labels(self) -> list[str]:
        """The header tests' labels, ``unique_key(a, b)`` first: the keys of their quality results."""
        labels = [t.label for t in self.tests]
        if self.unique_key:
            labels.insert(0, f"unique_key({', '.join(self.unique_key)})")
        return labels

    def ddl(self) -> str:
        """The CREATE statement that materializes the model."""
        return f"CREATE OR REPLACE {self.kind} {self.name} AS\n{self.body}"

    def zstd_columns(self, columns: list[tuple[str, str]]) -> list[str]:
        """Of ``(name, type)`` pairs, the columns this table stores with zstd (``zstd_columns``); none for
        views and ephemeral tables, which are not written."""
        if self.materialized != "table":
            return []
        return zstd_columns(columns)

    @property
    def needs_types(self) -> bool:
        """Whether building the model needs its result's column types first (``DESCRIBE`` of its body,
        ~10 ms of binding): only a table with a documented column that may be an identifier stored with
        zstd (an undocumented one is warned about and keeps DuckDB's choice)."""
        return self.materialized == "table" and any(c.endswith(ZSTD_SUFFIXES) for c in self.columns)

    def create_statements(self, columns: list[tuple[str, str]]) -> list[str]:
        """The statements that build the model, given its result's ``(name, type)`` columns."""
        if not self.zstd_columns(columns):
            return [self.ddl()]
        return [create_table_sql(self.name, columns), f"INSERT INTO {self.name}\n{self.body}"]


def zstd_columns(columns: list[tuple[str, str]]) -> list[str]:
    """Of ``(name, type)`` pairs, the columns a warehouse table stores with zstd: its VARCHAR identifiers.

    Identifiers (``claim_id``, ``patient_key``, ``payer_claim_control_number`` …, see
    ``ZSTD_SUFFIXES``) are long and nearly unique: DuckDB's default string compression analyses
    them at length for little gain, while zstd writes them faster and smaller (on the 1 M-claim
    bench ``marts.adjustment_detail`` took 30 % less CPU to write and 40 % less space;
    ``patient_key`` of ``marts.claim_outcomes`` 0.87 s -> 0.50 s; the incremental state's copy of
    ``intermediate.int_claims`` 1.23 s -> 0.62 s). Other columns (payer_key, codes, months: few
    distinct values) keep DuckDB's choice.
    """
    return [name for name, typ in columns if typ == "VARCHAR" and name.endswith(ZSTD_SUFFIXES)]


def create_table_sql(name: str, columns: list[tuple[str, str]]) -> str:
    """``CREATE OR REPLACE TABLE name (...)`` of ``(name, type)`` columns, the identifiers with zstd."""
    zstd = set(zstd_columns(columns))
    defs = ", ".join(
        f"{quote_identifier(n)} {t}" + (" USING COMPRESSION zstd" if n in zstd else "") for n, t in columns
    )
    return f"CREATE OR REPLACE TABLE {name} ({defs})"


def quote_identifier(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier (a database named after its file may hold anything)."""
    return '"' + identifier.replace('"', '""') + '"'


def parse_model(path: Path) -> Model:
    """Parse one SQL file's header block and body; raise ``ModelError`` when a field is missing."""
    fields: dict[str, str] = {}
    columns: dict[str, str] = {}
    last: tuple[str, str] | None = None  # (kind, key) of the field a continuation line extends
    lines = path.read_text().splitlines()
    i = 0
    for i, line in enumerate(lines):  # noqa: B007 - i is the first body line after the loop
        if not line.startswith("--"):
            break
        m = _KEY.match(line)
        if m:
            key, val = m.group("key"), m.group("val").strip()
            if key.startswith("column "):
                col = key.split(" ", 1)[1]
                columns[col] = val
                last = ("column", col)
            else:
                fields[key] = val
                last = ("field", key)
            continue
        c = _CONT.match(line)
        if c and last:
            kind, key = last
            target = columns if kind == "column" else fields
            target[key] = f"{target[key]} {c.group('val').strip()}".strip()
    else:
        i = len(lines)
    body = "\n".join(lines[i:]).strip().rstrip(";")
    for required in ("name", "materialized", "grain", "description"):
        if not fields.get(required):
            raise ModelError(f"{path}: header lacks '-- {required}:'")
    name = fields["name"]
    if name.split(".", 1)[0] not in LAYERS or name.count(".") != 1:
        raise ModelError(f"{path}: name {name!r} must be staging.<x>, intermediate.<x> or marts.<x>")
    layer = name.split(".", 1)[0]
    if layer == EPHEMERAL_LAYER and fields["materialized"] != EPHEMERAL:
        raise ModelError(f"{path}: an {layer} model must be materialized: {EPHEMERAL}")
    if layer != EPHEMERAL_LAYER and fields["materialized"] not in ("view", "table"):
        raise ModelError(f"{path}: materialized must be 'view' or 'table'")
    if not body.upper().startswith(("SELECT", "WITH")):
        raise ModelError(f"{path}: body must be one SELECT (or WITH ... SELECT)")
    deps = [d.strip() for d in fields.get("depends_on", "").split(",") if d.strip()]
    unique_key = [k.strip() for k in fields.get("unique_key", "").split(",") if k.strip()]
    tests = parse_tests(fields.get("tests", ""), str(path))
    incremental, *slice_columns = [
        c.strip() for c in (fields.get("incremental", FULL).strip() or FULL).split(",")
    ]
    if slice_columns and incremental != MONTH:
        raise ModelError(f"{path}: only {MONTH} takes further columns ({', '.join(slice_columns)})")
    for col in slice_columns:
        if columns and col not in columns:
            raise ModelError(f"{path}: incremental column {col!r} has no '-- column' line")
    additive = [c.strip() for c in fields.get("additive", "").split(",") if c.strip()]
    if additive and (incremental != MONTH or slice_columns):
        raise ModelError(f"{path}: additive needs '-- incremental: {MONTH}' and no slice columns")
    for col in additive:
        if columns and col not in columns:
            raise ModelError(f"{path}: additive column {col!r} has no '-- column' line")
    if "incremental" in fields and fields["materialized"] == "view":
        raise ModelError(f"{path}: a view takes no '-- incremental:' line (it is never materialized)")
    if incremental not in (FULL, MONTH, *SCOPE_KEYS):
        raise ModelError(
            f"{path}: incremental must be {FULL}, {MONTH} or one of {', '.join(SCOPE_KEYS)}, "
            f"not {incremental!r}"
        )
    if incremental == MONTH and layer != "marts":
        raise ModelError(f"{path}: only a mart can be refreshed by {MONTH}")
    if incremental != FULL and columns and incremental not in columns:
        raise ModelError(f"{path}: incremental key {incremental!r} has no '-- column' line")
    for col in [*unique_key, *(t.column for t in tests)]:
        if columns and col not in columns:
            raise ModelError(
                f"{path}: unique_key or test names column {col!r}, which has no '-- column' line"
            )
    return Model(
        name,
        path,
        fields["materialized"],
        fields["grain"],
        fields["description"],
        deps,
        columns,
        body,
        unique_key,
        tests,
        incremental,
        slice_columns,
        additive,
    )


def load_models(sql_dir: Path | None = None) -> list[Model]:
    """All models under ``sql_dir`` (default: the project's ``sql/``), in dependency order."""
    root = sql_dir or resource_dir("sql")
    models = {}
    for layer in LAYERS:
        for path in sorted((root / layer).glob("*.sql")):
            model = parse_model(path)
            if model.name in models:
                raise ModelError(f"{path}: {model.name} is defined twice")
            models[model.name] = model
    graph = {}
    for model in models.values():
        internal = [d for d in model.depends_on if d.split(".", 1)[0] in LAYERS]
        missing = [d for d in internal if d not in models]
        if missing:
            raise ModelError(f"{model.path}: depends on unknown model(s) {', '.join(missing)}")
        graph[model.name] = internal
        if model.materialized == "view":
            gone = [d for d in internal if models[d].ephemeral]
            if gone:
                raise ModelError(
                    f"{model.path}: a view cannot read ephemeral model(s) {', '.join(gone)}, which are "
                    "dropped after the build: make it a table"
                )
    try:
        # static_order is deterministic for a given insertion order (files sorted by layer then name)
        order = list(TopologicalSorter(graph).static_order())
    except Exception as exc:  # graphlib.CycleError
        raise ModelError(f"dependency cycle among SQL models: {exc}") from exc
    return [models[name] for name in order]
