"""Run the suites of ``pipeline.quality.suites`` with Great Expectations (GX Core 1.x).

GX takes seconds to import, so it is imported only inside this module's functions, never when the
CLI or the parser is imported. Every check runs on a pandas dataframe (Arrow-backed): GX's SQL
datasource on DuckDB loses query results, so warehouse data is pulled with duckdb first.

One ``QualityContext`` holds an ephemeral GX context with, per asset (table), a pandas dataframe asset,
an ``ExpectationSuite`` built from the specs (every severity) and a ``ValidationDefinition``; a second,
critical-only definition per asset lists every offending row when a critical check failed. They are
built once and reused for every run (tests share one context per module); run-dependent values (code
lists, date window) are suite parameters. Validation results go to a filesystem store beside the Data
Docs site, so the site keeps every night's results.

Row-wise and uniqueness checks can run on a few values standing for a column's rows instead of every
row (``Distinct``: every asset's in one suite, ``<suite>.values``, one validation; checks given rows
stay in ``<suite>.<asset>``): GX decides which values fail, and its result is then rewritten into the
one GX gives on every row (``_expand``), counts, offending rows and verdict included. The batch suite
runs all its checks so; the warehouse suite runs row by row.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import importlib
import logging
import os
import sys
import types
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from pipeline.quality.offline import make_offline
from pipeline.quality.report import CRITICAL, Outcome
from pipeline.quality.suites import SUITES, Check

SAMPLE_SIZE = 20  # offending ids kept per expectation
VALUES_SIZE = 50  # distinct offending values kept per expectation
SITE_NAME = "remit_quality"
RESULTS_STORE_DIR = ".gx-validations"  # inside the docs folder, hidden from the site's pages
# validation results the site's index lists, newest first (a night stores about ten). GX reads every
# listed result back to build the index, every night: unbounded, that cost grew with the nights kept
# (272 results: 0.5 s of a 5M-claim night's checks). Older pages stay on disk, under validations/.
INDEX_RESULTS = 300

_GX_LOGGERS = ("great_expectations", "great_expectations.core", "great_expectations.datasource")


def silence_gx() -> None:
    """Turn off GX's usage statistics and quiet its loggers before it is imported.

    Progress bars are switched off per context (``ProgressBarsConfig``), see ``QualityContext``.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    for name in _GX_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def without_pyspark() -> Iterator[None]:
    """While GX is imported, let it find pyspark missing, unless pyspark is imported already.

    GX imports pyspark (and its ML and Connect packages) whenever it is installed, to offer a Spark
    datasource the gate never uses: about 0.4 s of CPU of each night's first gate call (measured with
    the ``spark`` extra installed, compiled bytecode). A ``None`` in ``sys.modules`` makes ``import
    pyspark`` raise ImportError, GX's own test for a missing package; the entry is removed afterwards,
    so the Spark engine imports pyspark as usual. A process already running Spark keeps it for GX too.
    """
    if "pyspark" in sys.modules:
        yield
        return
    sys.modules["pyspark"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get("pyspark", 0) is None:
            del sys.modules["pyspark"]


class _Deferred(types.ModuleType):
    """Stands in for a module until one of its attributes is read, then imports it and reads there."""

    def __getattr__(self, attr: str) -> Any:
        real = self.__dict__.get("_real")
        if real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = self.__dict__["_real"] = importlib.import_module(self.__name__)
        return getattr(real, attr)


def free_validation_cycles() -> None:
    """Free now the reference cycles Great Expectations leaves behind a validation, and what they hold.

    GX catches exceptions of its own while it validates and renders (pydantic's and pyparsing's, a few
    hundred a call); each traceback, in a cycle with its frame, keeps every frame up the stack alive,
    the callers' too, with their tables: the lake's batch (only a full collection freed them, and over a
    1M-claim ingest four batches piled up: the process at 1.56 GiB when the ingest ended, 0.67 GiB with
    this). The cycles are young: collecting the two young generations frees them, in 10-30 ms (the
    night's first call 0.1 s). Call it after the validation, before the caller returns. (The warehouse
    suite's cycles were found to hold none of its inputs: it does not call this.)
    """
    gc.collect(1)


# imported by one GX module alone (expect_column_kl_divergence_to_be_less_than, which no suite uses) and
# read only when it runs: 0.7 s of GX's 2.0 s import
DEFERRED_BY_GX = ("scipy.stats", "altair")


@contextlib.contextmanager
def gx_import() -> Iterator[None]:
    """Import GX within: without pyspark (``without_pyspark``), and with ``DEFERRED_BY_GX`` given to GX
    as stand-ins that import the module the first time GX reads from it (never, in the suites here).

    Afterwards the stand-ins leave ``sys.modules``: any other ``import altair`` gets the module itself.
    (``importlib.util.LazyLoader`` cannot do this: the import system reads the module's ``__spec__`` as
    GX imports it, which loads it.)
    """
    deferred = [name for name in DEFERRED_BY_GX if name not in sys.modules]
    for name in deferred:
        sys.modules[name] = _Deferred(name)
    try:
        with without_pyspark():
            yield
    finally:
        for name in deferred:
            if isinstance(sys.modules.get(name), _Deferred):
                del sys.modules[name]


# Expectation methods that read self.configuration many times and change nothing (GX 1.x); GX also
# makes a fresh expectation from its configuration for each metric it looks up (get_metric_kwargs)
_CONFIGURATION_READERS = (
    "get_validation_dependencies",
    "metrics_validate",
    "_get_runtime_kwargs",
    "_get_success_kwargs",
    "_get_domain_kwargs",
    "_get_result_format",
)


def share_configurations() -> None:
    """Let each GX expectation build its configuration once per validation step, not once per lookup.

    GX 1.x rebuilds an ``ExpectationConfiguration`` (a pydantic ``dict()`` of the whole expectation)
    every time a step reads ``expectation.configuration``: some 65 times per expectation and validation
    (measured on GX 1.24), about 11 ms, most of an expectation's fixed cost and a third of a nightly gate.
    While one of ``_CONFIGURATION_READERS`` runs on an expectation (none changes it), the configuration
    built on entry is returned instead; outside them the property is GX's own. Likewise GX turns that
    shared configuration back into an expectation (``to_domain_obj``, a pydantic validation of every
    field) for each metric a step looks up, only to read its keyword arguments: while the step runs, the
    one made first is returned. Verdicts are unchanged (tests/test_gate_speed_verdicts.py checks every
    expectation of the batch suite).
    """
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if getattr(Expectation, "_remit_shared_configuration", False):
        return
    build = Expectation.configuration.fget
    built: dict[int, Any] = {}  # id(expectation) -> its configuration, while a step runs on it
    made: dict[int, Any] = {}  # id(a configuration in built) -> the expectation made from it, if any
    shared_ids: set[int] = set()
    to_domain_obj = ExpectationConfiguration.to_domain_obj

    def configuration(self: Any) -> Any:
        shared = built.get(id(self))
        return shared if shared is not None else build(self)

    def domain_obj(self: Any) -> Any:
        key = id(self)
        if key not in shared_ids:
            return to_domain_obj(self)
        if key not in made:
            made[key] = to_domain_obj(self)
        return made[key]

    def sharing(step: Any) -> Any:
        def run_step(self: Any, *args: Any, **kwargs: Any) -> Any:
            key = id(self)
            if key in built:  # a step called from within another on the same expectation
                return step(self, *args, **kwargs)
            shared = built[key] = build(self)
            shared_ids.add(id(shared))
            try:
                return step(self, *args, **kwargs)
            finally:
                built.pop(key, None)
                shared_ids.discard(id(shared))
                made.pop(id(shared), None)

        return run_step

    Expectation.configuration = property(configuration)
    ExpectationConfiguration.to_domain_obj = domain_obj
    for step in _CONFIGURATION_READERS:
        setattr(Expectation, step, sharing(getattr(Expectation, step)))
    Expectation._remit_shared_configuration = True


def _plain_json(data: Any, convert: Any) -> Any:
    """GX's ``convert_to_json_serializable`` of ``data``, exactly, without its type tests on plain values.

    Values of exactly these types come back from GX's function as they are (NaN as None, dict keys as
    text, tuples as lists); any other value, a subclass included, is handed to ``convert`` (GX's own).
    """
    kind = type(data)
    if kind is str or kind is int or kind is bool or data is None:
        return data
    if kind is float:
        return None if data != data else data  # NaN
    if kind is dict:
        return {str(k): _plain_json(v, convert) for k, v in data.items()}
    if kind is list or kind is tuple:
        return [_plain_json(v, convert) for v in data]
    return convert(data)


def fast_metric_ids() -> None:
    """Let GX compute a metric's id (``IDDict.to_id``) without its slowest step on plain values.

    GX 1.x builds some 60 metric configurations per expectation and validation, each hashing its
    keyword arguments through ``convert_to_json_serializable``, which runs dozens of type tests per
    value (pydantic, numpy, pandas …): about a third of a small batch's validation time. The ids are
    the same (``_plain_json`` returns what GX's function returns, and defers to it for anything but
    plain values); tests/test_quality_distinct.py compares every id computed in checking a noisy night.
    """
    import great_expectations.core.id_dict as id_dict

    if getattr(id_dict, "_remit_fast_ids", False):
        return
    convert = id_dict.convert_to_json_serializable

    def plain(data: Any) -> Any:
        return _plain_json(data, convert)

    id_dict.convert_to_json_serializable = plain
    id_dict._remit_fast_ids = True


_templates: Any = None  # the compiled Data Docs templates (see share_templates)


def share_templates() -> None:
    """Let GX's Data Docs views compile each page template once per process, not once per view.

    Every Data Docs build makes new views (validation pages, suite pages, the index), each with a new
    jinja ``Environment``, which parses and compiles its ~17 templates again: about half of a build's
    CPU time. A jinja bytecode cache (jinja's own mechanism for reusing compiled templates across
    environments) shared by GX's views keeps each compiled template in memory, under jinja's key (the
    template's name and file) and checksum (its source), so a changed template is compiled again. All
    GX views make their environments alike (same loaders, extensions and autoescaping), which jinja
    requires of environments sharing a cache. The pages are the same (tests/test_quality.py renders
    a build with and without it).
    """
    from great_expectations.render.view.view import DefaultJinjaView
    from jinja2.bccache import Bucket, BytecodeCache

    if getattr(DefaultJinjaView, "_remit_shared_templates", False):
        return

    class _InMemory(BytecodeCache):
        def __init__(self) -> None:
            self.compiled: dict[str, tuple[str, Any]] = {}  # key -> (checksum, code)

        def load_bytecode(self, bucket: Bucket) -> None:
            checksum, code = self.compiled.get(bucket.key, (None, None))
            if checksum == bucket.checksum:
                bucket.code = code

        def dump_bytecode(self, bucket: Bucket) -> None:
            self.compiled[bucket.key] = (bucket.checksum, bucket.code)

    global _templates
    _templates = _InMemory()
    init = DefaultJinjaView.__init__

    def init_sharing(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.env.bytecode_cache = _templates

    DefaultJinjaView.__init__ = init_sharing
    DefaultJinjaView._remit_shared_templates = True


def _suite_name(suite: str, asset: str, severity: str) -> str:
    return f"{suite}.{asset}.{severity}"


# Expectations whose verdict on a row depends on that row's value in one column and nothing else: they
# can run on the column's distinct values (see Distinct)
ROW_WISE = frozenset(
    {
        "ExpectColumnValuesToNotBeNull",
        "ExpectColumnValuesToBeInSet",
        "ExpectColumnValuesToNotBeInSet",
        "ExpectColumnValuesToBeBetween",
    }
)
# Row-wise, or whose verdict on a row depends on whether its value is held by another row (uniqueness):
# they can run on a compact column that keeps, of each value, its verdict (see Distinct)
BY_VALUE = ROW_WISE | {"ExpectColumnValuesToBeUnique"}
VALUES = "values"  # the suite of the checks on distinct values: <suite>.values


def distinct_column(check: Check) -> str:
    """The name of ``check``'s column among the distinct values (``Distinct``): ``<asset>.<column>``."""
    return f"{check.asset}.{check.kwargs.get('column')}"


def on_distinct(check: Check, columns: Collection[str]) -> bool:
    """Whether ``check`` runs on distinct values when ``columns`` (``distinct_column``) are given so."""
    return check.expectation in BY_VALUE and distinct_column(check) in columns


@dataclass(frozen=True)
class Distinct:
    """Columns handed to GX as a few values standing for their rows, not row by row: one frame for every
    asset's columns.

    ``frame`` (pandas) holds, per column (named ``<asset>.<column>``), the values standing for the
    column's rows, converted as the row-by-row frame would be, and padded to the longest column;
    ``values`` holds the same values unpadded and unconverted (Arrow), in the same order. What GX finds
    in the padding is ignored. The rows themselves are the asset's lookup table (see
    ``QualityContext.run``). Which values stand for the rows depends on the column's checks
    (``pipeline.quality.checks._compact``):

    - a row-wise expectation (``ROW_WISE``) fails on a row exactly when it fails on that row's value,
      so the rows it fails on are the rows holding a value it fails on: the column's distinct values (a
      null once, if any) stand for its rows; for a column checked for nulls alone, one non-null value
      and a null (if any) do, since every non-null value passes;
    - uniqueness fails on a row exactly when its (non-null) value is held by another row: each value
      held by several rows stands twice (GX finds it repeated), every other value at most once (GX
      finds it alone); such a column is padded with nulls, which uniqueness ignores.

    GX checks those few values, ``_expand`` counts and lists the rows holding the values it found
    unexpected and asks the expectation for its verdict on those counts.
    """

    frame: Any
    values: Mapping[str, pa.Array]


class LazyColumn(Protocol):
    """A column of an asset's rows made only when read (the batch suite's ids: ``checks.KeyIds``):
    its length and null count are known without it, and ``take`` makes only the rows asked for."""

    null_count: int

    def __len__(self) -> int: ...

    def take(self, indices: pa.Array) -> pa.Array: ...

    def whole(self) -> pa.Array: ...


class Lookup:
    """An asset's rows as the engine reads them to name offending rows and count a column's rows: an
    Arrow ``table`` and ``lazy`` columns (name -> ``LazyColumn``), made only for the rows a result
    names (see ``_outcome`` and ``_expand``)."""

    def __init__(self, table: pa.Table, lazy: Mapping[str, LazyColumn] | None = None):
        self.table = table
        self.lazy = dict(lazy or {})

    @property
    def column_names(self) -> list[str]:
        return [*self.table.column_names, *(n for n in self.lazy if n not in self.table.column_names)]

    def __getitem__(self, name: str) -> pa.ChunkedArray | LazyColumn:
        return self.table[name] if name in self.table.column_names else self.lazy[name]

    def select(self, names: list[str]) -> pa.Table:
        """The columns ``names`` as one Arrow table, lazy ones made whole."""
        table = self.table.select([n for n in names if n in self.table.column_names])
        for name in names:
            if name not in table.column_names:
                table = table.append_column(name, self.lazy[name].whole())
        return table.select(names)


def _whole(column: pa.ChunkedArray | LazyColumn) -> pa.ChunkedArray:
    return pa.chunked_array([column.whole()]) if hasattr(column, "whole") else column


class QualityContext:
    """An ephemeral GX context with the project's suites, optionally writing Data Docs to ``docs_dir``."""

    def __init__(self, docs_dir: Path | None = None):
        silence_gx()
        with gx_import():
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

        self.docs_dir = Path(docs_dir).absolute() if docs_dir else None
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        )
        if self.docs_dir is not None:
            self.docs_dir.mkdir(parents=True, exist_ok=True)
            config.stores[config.validation_results_store_name] = {
                "class_name": "ValidationResultsStore",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(self.docs_dir / RESULTS_STORE_DIR),
                },
            }
            config.data_docs_sites = {
                SITE_NAME: {
                    "class_name": "SiteBuilder",
                    "show_how_to_buttons": False,
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(self.docs_dir),
                    },
                    "site_index_builder": {
                        "class_name": "DefaultSiteIndexBuilder",
                        "validation_results_limit": INDEX_RESULTS,
                    },
                }
            }
        share_configurations()
        fast_metric_ids()
        share_templates()
        self._gx = gx
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self._datasource = self.context.data_sources.add_pandas("remit")
        self._definitions: dict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = {}
        self._expectations: dict[tuple[str, str], Any] = {}  # (GX suite, check) -> its expectation
        self._suite_pages: set[Any] = set()  # suites whose page render_pages rendered

    # -- building the GX objects -------------------------------------------------------------------
    def _expectation(self, check: Check, column: str | None = None) -> Any:
        """``check`` as a GX expectation (on ``column`` instead of its own, when given)."""
        import great_expectations.expectations as gxe

        cls = getattr(gxe, check.expectation)
        kwargs = dict(check.kwargs)
        if column is not None:
            kwargs["column"] = column
        if check.mostly is not None:
            kwargs["mostly"] = check.mostly
        return cls(
            **kwargs,
            severity=check.severity,
            meta={"name": check.name, "why": check.why},
            description=f"{check.name} ({check.severity}): {check.why}",
        )

    def _definition(
        self, suite: str, asset: str | None, severity: str | None, distinct: Collection[str] = ()
    ) -> tuple[Any, dict[str, Any]]:
        """The validation definition of ``asset``'s checks of ``severity`` (None: all of them), built on
        first use, and the result format it runs with.

        The checks of all severities run in one validation (suite ``<suite>.<asset>``): GX's cost is
        mostly per validation and per expectation, not per row. Its result format is ``SUMMARY``
        (counts and a sample of offending rows) unless every check is critical. The critical checks
        alone (suite ``<suite>.<asset>.critical``) run again with ``COMPLETE`` only when one of them
        failed, to list every offending row and so every file to quarantine. Definitions are run
        directly, not through a checkpoint: a checkpoint adds nothing here (no actions; Data Docs are
        built once per night) but a second check of every object against the stores on each run.

        Checks on the columns named in ``distinct`` (``<asset>.<column>``, see ``Distinct``) are left
        out; with ``asset=None`` they alone are taken, those of every asset, in one suite
        (``<suite>.values``), always run ``COMPLETE`` (its frame is a few distinct values; ``_expand``
        rewrites each result in the format above). The columns given to GX as distinct values of each
        asset never change for a suite (they follow from its checks and the tables' types).
        """
        name = ".".join(n for n in (suite, asset or VALUES, severity) if n)
        if name in self._definitions:
            return self._definitions[name]
        gx = self._gx
        checks = [
            c
            for c in SUITES[suite]
            if asset in (None, c.asset)
            and severity in (None, c.severity)
            and on_distinct(c, distinct) == (asset is None)
        ]
        complete = asset is None or all(c.severity == CRITICAL for c in checks)
        batch_definition = self._datasource.add_dataframe_asset(name).add_batch_definition_whole_dataframe(
            "night"
        )
        # the suite is stored once with all its expectations (adding them one by one stores it each time)
        expectations = [
            self._expectation(check, distinct_column(check) if asset is None else None) for check in checks
        ]
        gx_suite = self.context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        for expectation in gx_suite.expectations:
            self._expectations[(name, expectation.meta["name"])] = expectation
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=gx_suite)
        )
        # COMPLETE: every offending row, so that exactly the failing files are quarantined; SUMMARY:
        # counts and a sample, cheap on a noisy night. Rows are named by their number (the frame's
        # index); their file and key are looked up by it afterwards (see _outcome)
        result_format = _result_format(complete)
        self._definitions[name] = (definition, result_format)
        return definition, result_format

    # -- running -----------------------------------------------------------------------------------
    def run(
        self,
        suite: str,
        frames: Mapping[str, Any],
        parameters: Mapping[str, Any],
        run_id: str,
        run_time: dt.datetime,
        labels: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        lookups: Mapping[str, pa.Table | Lookup] | None = None,
        distinct: Distinct | None = None,
    ) -> tuple[list[Outcome], list[Any]]:
        """Validate each asset's dataframe in ``frames`` against ``suite``: one validation per asset, and
        one more for every asset's checks on distinct values (``distinct``).

        ``labels`` (asset -> column -> values, row for row) names the columns given to GX as integer
        codes, for reporting offending rows and values by the values themselves. ``lookups`` (asset ->
        Arrow table or ``Lookup``, row for row with its frame) holds each asset's ``file_id``, the
        columns naming offending rows and the values of the coded columns; given, offending rows are
        looked up in it.
        ``distinct`` names the columns checked on their distinct values (every asset's, in one
        validation: see ``Distinct``; their rows are ``lookups[asset]``'s); the assets' other checks
        run on ``frames[asset]``. Returns the outcomes (in the suite's order) and the GX result
        identifiers (for Data Docs).
        """
        from great_expectations.core.run_identifier import RunIdentifier

        checks = SUITES[suite]
        gx_run_id = RunIdentifier(run_name=run_id, run_time=run_time)
        by_name: dict[str, Outcome] = {}
        identifiers: list[Any] = []
        on_values = [c for c in checks if distinct is not None and on_distinct(c, distinct.values)]
        columns_on_values = tuple(distinct.values) if distinct is not None else ()
        for asset in dict.fromkeys(c.asset for c in checks):
            on_rows = [c for c in checks if c.asset == asset and c not in on_values]
            if not on_rows:
                continue
            coded = (labels or {}).get(asset, {})
            lookup = (lookups or {}).get(asset)
            frame = _numbered(frames[asset])
            # only the columns these checks read: GX fingerprints (hashes) every batch it loads and
            # copies the whole frame for each expectation that skips null rows
            columns = list(dict.fromkeys(col for c in on_rows for col in _columns(c)))
            runs = [self._definition(suite, asset, None, columns_on_values)]
            while runs:
                definition, result_format = runs.pop()
                result = self._validate(definition, frame[columns], parameters, result_format, gx_run_id)
                identifiers.append(self._identifier(definition, result, gx_run_id))
                for expectation_result in result.results:
                    name = expectation_result.expectation_config.meta["name"]
                    check = next(c for c in on_rows if c.name == name)
                    by_name[name] = _outcome(suite, check, expectation_result, frame, coded, lookup)
                if result_format["result_format"] != "COMPLETE" and any(
                    c.severity == CRITICAL and not by_name[c.name].success for c in on_rows
                ):
                    # a critical check failed on the sample-sized result: list every offending row
                    runs.append(self._definition(suite, asset, CRITICAL, columns_on_values))
        if on_values:
            assert distinct is not None and lookups is not None  # (on_values is empty otherwise)
            definition, result_format = self._definition(suite, None, None, columns_on_values)
            result = self._validate(
                definition, distinct.frame, parameters, result_format, gx_run_id, store=False
            )
            for expectation_result in result.results:
                name = expectation_result.expectation_config.meta["name"]
                check = next(c for c in on_values if c.name == name)
                lookup = lookups[check.asset]
                _expand(
                    self._expectations[(definition.suite.name, name)],
                    check,
                    expectation_result,
                    distinct.values[distinct_column(check)],
                    distinct.frame[distinct_column(check)],
                    lookup[check.kwargs["column"]],
                )
                by_name[name] = _outcome(suite, check, expectation_result, None, {}, lookup)
            _restate(result)
            identifier = self._identifier(definition, result, gx_run_id)
            # stored once rewritten: the pages show the rows' counts, not the distinct values'
            self._store(result, identifier)
            identifiers.append(identifier)
        return [by_name[c.name] for c in checks], identifiers

    def _validate(
        self,
        definition: Any,
        frame: Any,
        parameters: Mapping[str, Any],
        result_format: Any,
        run_id: Any,
        *,
        store: bool = True,
    ) -> Any:
        """Run ``definition`` on ``frame`` as ``ValidationDefinition.run`` does, less two costs.

        GX's ``run`` first checks the definition, its suite and every expectation against the stores
        (``is_fresh``): ours are built once by this context and never changed, so that is skipped. With
        ``store=False`` the result is not stored (the caller stores it once rewritten: serialising a
        result costs as much as validating a small batch).
        """
        from great_expectations.constants import DATAFRAME_REPLACEMENT_STR
        from great_expectations.validator.v1_validator import Validator

        validator = Validator(
            batch_definition=definition.batch_definition,
            batch_parameters={"dataframe": frame},
            result_format=result_format,
        )
        result = validator.validate_expectation_suite(definition.suite, dict(parameters))
        result.meta["validation_id"] = definition.id
        result.meta["checkpoint_id"] = None
        result.meta["run_id"] = run_id
        result.meta["validation_time"] = run_id.run_time
        result.meta["batch_parameters"] = {"dataframe": DATAFRAME_REPLACEMENT_STR}
        if store:
            self._store(result, self._identifier(definition, result, run_id))
        return result

    def _store(self, result: Any, identifier: Any) -> None:
        """Keep a validation result in the results store (the Data Docs are rendered from it)."""
        self.context.validation_results_store.store_validation_results(
            suite_validation_result=result,
            suite_validation_result_identifier=identifier,
            expectation_suite_identifier=identifier.expectation_suite_identifier,
        )

    @staticmethod
    def _identifier(definition: Any, result: Any, run_id: Any) -> Any:
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        return ValidationResultIdentifier(
            ExpectationSuiteIdentifier(name=definition.suite.name), run_id, result.batch_id
        )

    def build_docs(self, identifiers: list[Any], *, rendered: Collection[Any] = ()) -> Path | None:
        """Render this run's validation pages (but those in ``rendered``, see ``render_pages``), their
        suites' pages and the site index; returns index.html (None without docs)."""
        if self.docs_dir is None:
            return None
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        suites = {ExpectationSuiteIdentifier(name=i.expectation_suite_identifier.name) for i in identifiers}
        pages = [i for i in identifiers if i not in rendered]
        self.context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=[*pages, *suites])
        make_offline(self.docs_dir)  # GX's pages load Bootstrap, jQuery, Vega … from CDNs: not here
        return self.docs_dir / "index.html"

    def render_pages(self, identifiers: list[Any]) -> None:
        """Render the validation pages of ``identifiers`` now, with their suites' pages the first time
        (no index).

        The lake's gate renders each batch's page on its own thread while the next batch is parsed;
        ``build_docs`` at the end of the night then renders the rest (told which are ``rendered``), and
        the suites' pages again, with their templates compiled already (see ``share_templates``).
        """
        if self.docs_dir is None or not identifiers:
            return
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        suites = {ExpectationSuiteIdentifier(name=i.expectation_suite_identifier.name) for i in identifiers}
        first = suites - self._suite_pages
        self.context.build_data_docs(
            site_names=[SITE_NAME], resource_identifiers=[*identifiers, *first], build_index=False
        )
        self._suite_pages |= first


def _columns(check: Check) -> list[str]:
    """The columns an expectation reads."""
    return [check.kwargs[k] for k in ("column", "column_A", "column_B") if k in check.kwargs]


def _numbered(frame: Any) -> Any:
    """``frame`` indexed by its row numbers (0, 1, ...), sharing its columns' data.

    GX names an offending row by its index; the row's file (for quarantine) and key (for the report)
    are looked up by that number, so neither reaches GX: hashing millions of key strings to fingerprint
    each batch, and copying them with every expectation, took most of a big night's check time.
    """
    import pandas as pd

    if isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1:
        return frame
    return frame.reset_index(drop=True)


def _missing(value: Any) -> bool:
    return _text(value) == "null"


def _text(value: Any) -> str:
    """A value as text for reports; missing values (None, NA, NaN) as 'null'."""
    if value is None:
        return "null"
    try:
        import pandas as pd

        if pd.isna(value):
            return "null"
    except (TypeError, ValueError):
        pass
    return str(value)


def _cell(frame: Any, column: str, row: int, coded: Mapping[str, Any]) -> str:
    """The text of ``column`` in row ``row``: for a coded column, the value the code stands for."""
    if column in coded:
        return _text(coded[column][row].as_py())
    return _text(frame[column].iat[row])


def _decoder(frame: Any, column: str, coded: Mapping[str, Any]) -> Any:
    """A function: code of the coded ``column`` -> the value it stands for (that of a row holding it)."""
    import numpy as np

    first_row: dict[int, int] = {}

    def decode(code: Any) -> str:
        if _text(code) == "null":
            return "null"
        if not first_row:  # offending codes are few: one pass over the column finds them all
            present = frame[column].notna().to_numpy(dtype=bool)
            rows = np.flatnonzero(present)
            codes = frame[column].to_numpy(dtype="int64", na_value=0)[present]
            uniq, start = np.unique(codes, return_index=True)  # the first row of each code
            first_row.update(zip(uniq.tolist(), rows[start].tolist(), strict=True))
        row = first_row.get(int(code))
        return _text(code) if row is None else _cell(frame, column, row, coded)

    return decode


def _result_format(complete: bool) -> dict[str, Any]:
    return {
        "result_format": "COMPLETE" if complete else "SUMMARY",
        "partial_unexpected_count": SAMPLE_SIZE,
        "return_unexpected_index_query": False,
    }


def _expand(
    expectation: Any,
    check: Check,
    result: Any,
    values: pa.Array,
    shown_as: Any,
    column: pa.ChunkedArray | LazyColumn,
) -> None:
    """Rewrite GX's ``result`` of ``expectation`` on ``values`` (a column's distinct values, padded by
    repeating the last; ``shown_as``: the same as GX was given them, a pandas series) into the result
    GX gives on every row of ``column``, in place.

    The distinct values GX found unexpected (all of them: the values part runs ``COMPLETE``) give the
    offending rows, the rows holding one of them; with the rows' count, null count and offending rows
    and values (all of them for a critical check, the first ``SAMPLE_SIZE`` for a warning, the formats
    the row-by-row validation used; values at most GX's ``MAX_RESULT_RECORDS``, as GX lists them), the
    expectation's own ``_validate`` computes the verdict (``mostly`` included) and the result, exactly
    as from the metrics GX computes on the rows. Without ``mostly`` the verdict cannot differ from
    GX's on the distinct values (it fails on one of them), and this is checked.
    """
    import numpy as np
    import pyarrow.compute as pc
    from great_expectations.constants import MAX_RESULT_RECORDS

    if result.exception_info and result.exception_info.get("raised_exception"):
        return  # an expectation that could not run stays a failure (see _outcome)
    unexpected: dict[int, Any] = {}  # position in values -> the value as GX saw it
    for position in (result.result or {}).get("unexpected_index_list") or []:
        # (the padding stands for no row: a repeated last value is found where it first stands; nulls
        # padding an empty or a unique column are no value of the rows)
        if int(position) < len(values):
            unexpected.setdefault(int(position), shown_as.iloc[int(position)])
    complete = check.severity == CRITICAL
    rows = np.empty(0, dtype=np.int64)
    if unexpected:
        column = _whole(column)  # (a lazy column is made only when some value is unexpected)
        offending = values.take(pa.array(sorted(unexpected), pa.int64()))
        mask = pc.fill_null(pc.is_in(column, value_set=offending.drop_null()), False)
        if offending.null_count:
            mask = pc.or_(mask, pc.is_null(column))
        rows = np.flatnonzero(mask.to_numpy())
    shown = rows if complete else rows[:SAMPLE_SIZE]
    listed = shown[:MAX_RESULT_RECORDS]
    positions = (  # (a take, even of no row, costs milliseconds on a column of hundreds of chunks)
        pc.index_in(column.take(pa.array(listed, pa.int64())), value_set=values).to_pylist()
        if len(listed)
        else []
    )
    metric = expectation.map_metric
    metrics = {
        "table.row_count": len(column),
        "column_values.nonnull.unexpected_count": column.null_count,
        f"{metric}.unexpected_count": len(rows),
        f"{metric}.unexpected_values": [unexpected[p] for p in positions],
        f"{metric}.unexpected_index_list": shown.tolist(),
        f"{metric}.unexpected_index_query": None,
    }
    rewritten = expectation._validate(
        metrics=metrics, runtime_configuration={"result_format": _result_format(complete)}
    )
    if check.mostly is None and bool(rewritten["success"]) != (not unexpected):
        raise RuntimeError(f"quality: {check.name}: the rows' verdict differs from the distinct values'")
    result.success = bool(rewritten["success"])
    result.result = rewritten["result"]


def _restate(result: Any) -> None:
    """Recompute a suite result's success and statistics from its (rewritten) expectation results."""
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    statistics = calc_validation_statistics(result.results)
    result.success = statistics.success
    result.statistics = {
        "evaluated_expectations": statistics.evaluated_expectations,
        "successful_expectations": statistics.successful_expectations,
        "unsuccessful_expectations": statistics.unsuccessful_expectations,
        "success_percent": statistics.success_percent,
    }


def _outcome(
    suite: str,
    check: Check,
    validation_result: Any,
    frame: Any,
    coded: Mapping[str, Any] | None = None,
    lookup: pa.Table | Lookup | None = None,
) -> Outcome:
    """Turn one GX ExpectationValidationResult on ``frame`` into an ``Outcome``.

    ``coded`` maps columns given to GX as integer codes to their values, row for row. ``lookup`` (an
    Arrow table, row for row with the rows GX's result numbers) gives the offending rows' files and ids
    when given; else they are read from ``frame``.
    """
    coded = coded or {}
    result = validation_result.result or {}
    if validation_result.exception_info and validation_result.exception_info.get("raised_exception"):
        # An expectation that could not run is a failure of its own severity, never a silent pass.
        message = validation_result.exception_info.get("exception_message") or "expectation raised"
        return Outcome(suite, check.name, check.severity, False, 0, None, (), (), (message[:200],), check.why)
    # COMPLETE (critical) results list every offending row; SUMMARY (warning) results a sample
    index_list = result.get("unexpected_index_list") or result.get("partial_unexpected_index_list") or []
    # (an index named otherwise is not ours)
    rows = [int(row) for row in index_list if not (isinstance(row, dict) or row is None)]
    file_ids: dict[str, None] = {}
    samples: dict[str, None] = {}
    if lookup is not None:
        if rows and "file_id" in lookup.column_names:
            taken = lookup["file_id"].take(pa.array(rows, pa.int64())).unique().drop_null()
            file_ids = dict.fromkeys(str(f) for f in taken.to_pylist())
        ids = lookup[check.id_column] if rows and check.id_column in lookup.column_names else None
        for start in range(0, len(rows) if ids is not None else 0, SAMPLE_SIZE):
            if len(samples) >= SAMPLE_SIZE:
                break
            # (a few rows at a time: ids repeat on a uniqueness failure, and a lazy column makes only these)
            for value in ids.take(pa.array(rows[start : start + SAMPLE_SIZE], pa.int64())).to_pylist():
                if len(samples) >= SAMPLE_SIZE:
                    break
                samples.setdefault(_text(value), None)
    else:
        files = frame["file_id"] if "file_id" in frame.columns else None
        for row in rows:
            if files is not None and not _missing(files.iat[row]):
                file_ids.setdefault(str(files.iat[row]), None)
            if check.id_column and len(samples) < SAMPLE_SIZE:
                samples.setdefault(_cell(frame, check.id_column, row, coded), None)
    values: dict[str, None] = {}
    column = check.kwargs.get("column")
    decode = _decoder(frame, column, coded) if column in coded else _text
    counted = [c.get("value") for c in result.get("partial_unexpected_counts") or [] if isinstance(c, dict)]
    for value in result.get("unexpected_list") or counted or result.get("partial_unexpected_list") or []:
        if len(values) >= VALUES_SIZE:
            break
        pair = isinstance(value, (list, tuple))  # column-pair expectations return (A, B) pairs
        values.setdefault(" != ".join(_text(v) for v in value) if pair else decode(value), None)
    unexpected = result.get("unexpected_count")
    if unexpected is None:  # aggregate expectations report an observed value instead
        unexpected = 0 if validation_result.success else 1
    return Outcome(
        suite=suite,
        expectation=check.name,
        severity=check.severity,
        success=bool(validation_result.success),
        unexpected_count=int(unexpected),
        element_count=result.get("element_count"),
        sample_ids=tuple(samples),
        file_ids=tuple(sorted(file_ids)),
        unexpected_values=tuple(sorted(values)),
        description=check.why,
        missing_count=result.get("missing_count"),
    )
