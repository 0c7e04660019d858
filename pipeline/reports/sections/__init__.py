"""The sections of the leadership report, one module each: query -> context -> template.

Each section module has ``query(con, scope, env)``, which reads its figures from the metrics layer
(``pipeline.reports.figures``, the ``marts.report_*`` views), ``context(data, scope, env)``, which turns
them into printed text, tables and charts (``pipeline.present``), and a Jinja template
``pipeline/reports/templates/sections/<name>.html.j2`` that lays them out. :func:`render` runs the three.
The notebook calls :func:`render` once per section; the closing "what needs attention" section reads the
other sections' data, so it is rendered last from what they found.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from markupsafe import Markup

from pipeline.reports.figures import Scope
from pipeline.reports.settings import ReportSettings, load_report_settings

SECTIONS = (
    "lede",
    "headline",
    "payers",
    "denials",
    "absorbed",
    "crossover",
    "worklists",
    "unanswered",
    "quality",
    "attention",
)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "sections"


@dataclass
class Env:
    """What every section may use: the report's settings, the home, and the data of the sections already
    rendered (by name), for the closing list."""

    settings: ReportSettings
    home: str | None = None
    found: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def make(cls, home: str | Path | None) -> Env:
        return cls(load_report_settings(home), str(home) if home is not None else None)


def _jinja() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


_ENV: Any = None


def render(name: str, con: duckdb.DuckDBPyConnection, scope: Scope, env: Env) -> str:
    """Render section ``name``: its query, its context, its template; returns one HTML block."""
    global _ENV
    if name not in SECTIONS:
        raise ValueError(f"no report section {name!r}: one of {', '.join(SECTIONS)}")
    module = importlib.import_module(f"pipeline.reports.sections.{name}")
    data = module.query(con, scope, env)
    env.found[name] = data
    ctx = module.context(data, scope, env)
    if _ENV is None:
        _ENV = _jinja()
    return _ENV.get_template(f"{name}.html.j2").render(**ctx)


def html(text: str) -> Markup:
    """Mark HTML built by ``pipeline.present`` (already escaped) as safe for the templates."""
    return Markup(text)
