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
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.quality.offline import make_offline
from pipeline.quality.report import CRITICAL, Outcome
from pipeline.quality.suites import SUITES, Check

SAMPLE_SIZE = 20  # offending ids kept per expectation
VALUES_SIZE = 50  # distinct offending values kept per expectation
SITE_NAME = "remit_quality"
RESULTS_STORE_DIR = ".gx-validations"  # inside the docs folder, hidden from the site's pages

_GX_LOGGERS = ("great_expectations", "great_expectations.core", "great_expectations.datasource")


def silence_gx() -> None:
    """Turn off GX's usage statistics and quiet its loggers before it is imported.

    Progress bars are switched off per context (``ProgressBarsConfig``), see ``QualityContext``.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    for name in _GX_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


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
    built on entry is returned instead; outside them the property is GX's own. Verdicts are unchanged
    (tests/test_gate_speed_verdicts.py checks every expectation of the batch suite).
    """
    from great_expectations.expectations.expectation import Expectation

    if getattr(Expectation, "_remit_shared_configuration", False):
        return
    build = Expectation.configuration.fget
    built: dict[int, Any] = {}  # id(expectation) -> its configuration, while a step runs on it

    def configuration(self: Any) -> Any:
        shared = built.get(id(self))
        return shared if shared is not None else build(self)

    def sharing(step: Any) -> Any:
        def run_step(self: Any, *args: Any, **kwargs: Any) -> Any:
            key = id(self)
            if key in built:  # a step called from within another on the same expectation
                return step(self, *args, **kwargs)
            built[key] = build(self)
            try:
                return step(self, *args, **kwargs)
            finally:
                built.pop(key, None)

        return run_step

    Expectation.configuration = property(configuration)
    for step in _CONFIGURATION_READERS:
        setattr(Expectation, step, sharing(getattr(Expectation, step)))
    Expectation._remit_shared_configuration = True


def _suite_name(suite: str, asset: str, severity: str) -> str:
    return f"{suite}.{asset}.{severity}"


class QualityContext:
    """An ephemeral GX context with the project's suites, optionally writing Data Docs to ``docs_dir``."""

    def __init__(self, docs_dir: Path | None = None):
        silence_gx()
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
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                }
            }
        share_configurations()
        self._gx = gx
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self._datasource = self.context.data_sources.add_pandas("remit")
        self._definitions: dict[tuple[str, str, str], tuple[Any, dict[str, Any]]] = {}

    # -- building the GX objects -------------------------------------------------------------------
    def _expectation(self, check: Check) -> Any:
        import great_expectations.expectations as gxe

        cls = getattr(gxe, check.expectation)
        kwargs = dict(check.kwargs)
        if check.mostly is not None:
            kwargs["mostly"] = check.mostly
        return cls(
            **kwargs,
            severity=check.severity,
            meta={"name": check.name, "why": check.why},
            description=f"{check.name} ({check.severity}): {check.why}",
        )

    def _definition(self, suite: str, asset: str, severity: str | None) -> tuple[Any, dict[str, Any]]:
        """The validation definition of ``asset``'s checks of ``severity`` (None: all of them), built on
        first use, and the result format it runs with.

        The checks of all severities run in one validation (suite ``<suite>.<asset>``): GX's cost is
        mostly per validation and per expectation, not per row. Its result format is ``SUMMARY``
        (counts and a sample of offending rows) unless every check is critical. The critical checks
        alone (suite ``<suite>.<asset>.critical``) run again with ``COMPLETE`` only when one of them
        failed, to list every offending row and so every file to quarantine. Definitions are run
        directly, not through a checkpoint: a checkpoint adds nothing here (no actions; Data Docs are
        built once per night) but a second check of every object against the stores on each run.
        """
        key = (suite, asset, severity or "")
        if key in self._definitions:
            return self._definitions[key]
        gx = self._gx
        checks = [c for c in SUITES[suite] if c.asset == asset and severity in (None, c.severity)]
        complete = all(c.severity == CRITICAL for c in checks)
        name = f"{suite}.{asset}" if severity is None else _suite_name(suite, asset, severity)
        batch_definition = self._datasource.add_dataframe_asset(name).add_batch_definition_whole_dataframe(
            "night"
        )
        gx_suite = self.context.suites.add(gx.ExpectationSuite(name=name))
        for check in checks:
            gx_suite.add_expectation(self._expectation(check))
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=gx_suite)
        )
        # COMPLETE: every offending row, so that exactly the failing files are quarantined; SUMMARY:
        # counts and a sample, cheap on a noisy night. Rows are named by their number (the frame's
        # index); their file and key are looked up by it afterwards (see _outcome)
        result_format = {
            "result_format": "COMPLETE" if complete else "SUMMARY",
            "partial_unexpected_count": SAMPLE_SIZE,
            "return_unexpected_index_query": False,
        }
        self._definitions[key] = (definition, result_format)
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
    ) -> tuple[list[Outcome], list[Any]]:
        """Validate each asset's dataframe in ``frames`` against ``suite``: one validation per asset.

        ``labels`` (asset -> column -> values, row for row) names the columns given to GX as integer
        codes, for reporting offending rows and values by the values themselves. Returns the outcomes (in the
        suite's order) and the GX result identifiers (for Data Docs).
        """
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        checks = SUITES[suite]
        gx_run_id = RunIdentifier(run_name=run_id, run_time=run_time)
        by_name: dict[str, Outcome] = {}
        identifiers: list[Any] = []
        for asset in dict.fromkeys(c.asset for c in checks):
            asset_checks = [c for c in checks if c.asset == asset]
            frame = _numbered(frames[asset])
            # only the columns these checks read: GX fingerprints (hashes) every batch it loads and
            # copies the whole frame for each expectation that skips null rows
            columns = list(dict.fromkeys(col for c in asset_checks for col in _columns(c)))
            coded = (labels or {}).get(asset, {})
            runs = [self._definition(suite, asset, None)]
            while runs:
                definition, result_format = runs.pop()
                result = definition.run(
                    batch_parameters={"dataframe": frame[columns]},
                    expectation_parameters=dict(parameters),
                    result_format=result_format,
                    run_id=gx_run_id,
                )
                identifiers.append(
                    ValidationResultIdentifier(
                        ExpectationSuiteIdentifier(name=definition.suite.name), gx_run_id, result.batch_id
                    )
                )
                for expectation_result in result.results:
                    name = expectation_result.expectation_config.meta["name"]
                    check = next(c for c in asset_checks if c.name == name)
                    by_name[name] = _outcome(suite, check, expectation_result, frame, coded)
                if result_format["result_format"] != "COMPLETE" and any(
                    c.severity == CRITICAL and not by_name[c.name].success for c in asset_checks
                ):
                    # a critical check failed on the sample-sized result: list every offending row
                    runs.append(self._definition(suite, asset, CRITICAL))
        return [by_name[c.name] for c in checks], identifiers

    def build_docs(self, identifiers: list[Any]) -> Path | None:
        """Render this run's validation pages and the site index; returns index.html (None without docs)."""
        if self.docs_dir is None:
            return None
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        suites = {ExpectationSuiteIdentifier(name=i.expectation_suite_identifier.name) for i in identifiers}
        self.context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=[*identifiers, *suites])
        make_offline(self.docs_dir)  # GX's pages load Bootstrap, jQuery, Vega … from CDNs: not here
        return self.docs_dir / "index.html"


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


def _outcome(
    suite: str, check: Check, validation_result: Any, frame: Any, coded: Mapping[str, Any] | None = None
) -> Outcome:
    """Turn one GX ExpectationValidationResult on ``frame`` into an ``Outcome``.

    ``coded`` maps columns given to GX as integer codes to their values, row for row.
    """
    coded = coded or {}
    result = validation_result.result or {}
    if validation_result.exception_info and validation_result.exception_info.get("raised_exception"):
        # An expectation that could not run is a failure of its own severity, never a silent pass.
        message = validation_result.exception_info.get("exception_message") or "expectation raised"
        return Outcome(suite, check.name, check.severity, False, 0, None, (), (), (message[:200],), check.why)
    # COMPLETE (critical) results list every offending row; SUMMARY (warning) results a sample
    index_list = result.get("unexpected_index_list") or result.get("partial_unexpected_index_list") or []
    file_ids: dict[str, None] = {}
    samples: dict[str, None] = {}
    files = frame["file_id"] if "file_id" in frame.columns else None
    for row in index_list:
        if isinstance(row, dict) or row is None:  # (an index named otherwise: not ours)
            continue
        row = int(row)
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
