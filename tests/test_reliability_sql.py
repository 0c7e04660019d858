"""User input never becomes SQL: CLI filters (payer, period, code) are bound parameters.

Two checks: a static one over ``pipeline/`` (no f-string, ``%`` or ``str.format`` that builds SQL may
interpolate a filter value; only identifiers and SQL fragments written in the code), and a behavioural
one: ``x' OR '1'='1`` given as payer, period or code finds nothing, where an injected condition would match
every row.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.home import Home
from pipeline.lake import connect_warehouse

PIPELINE = Path(__file__).resolve().parent.parent / "pipeline"
SQL_WORDS = re.compile(r"\b(SELECT|WHERE|INSERT|UPDATE|DELETE|FROM|CREATE|COPY|ATTACH|PRAGMA|SET)\b")
# names that carry what a user typed on the command line (report, code, handbook filters)
USER_VALUES = {
    "payer",
    "period",
    "code",
    "query",
    "group",
    "grp",
    "month",
    "start",
    "end",
    "last_month",
    "text",
}
INJECTION = "x' OR '1'='1"


def _names(node: ast.AST) -> set[str]:
    return {
        n.id if isinstance(n, ast.Name) else n.attr
        for n in ast.walk(node)
        if isinstance(n, ast.Name | ast.Attribute)
    }


def sql_built_from_values() -> list[str]:
    """Places where SQL text is formatted with a name that holds user input."""
    found: list[str] = []
    for path in sorted(PIPELINE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(PIPELINE.parent)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                used = set().union(
                    *(_names(v.value) for v in node.values if isinstance(v, ast.FormattedValue))
                )
            elif (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Mod)
                and isinstance(node.left, ast.Constant)
            ):
                text, used = str(node.left.value), _names(node.right)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "format"
                and isinstance(node.func.value, ast.Constant)
            ):
                text = str(node.func.value.value)
                used = set().union(
                    set(), *(_names(a) for a in [*node.args, *(k.value for k in node.keywords)])
                )
            else:
                continue
            if SQL_WORDS.search(text) and used & USER_VALUES:
                found.append(f"{where}: {sorted(used & USER_VALUES)} in {text[:60]!r}")
    return found


def test_no_sql_is_formatted_with_filter_values() -> None:
    assert sql_built_from_values() == []


def test_the_static_check_would_catch_an_injection(tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "pipeline" / "bad.py"
    bad.parent.mkdir()
    bad.write_text(
        "def f(con, payer):\n"
        "    con.execute(f\"SELECT * FROM marts.kpi_month WHERE payer_key = '{payer}'\")\n"
        "    con.execute(\"SELECT * FROM t WHERE p = '%s'\" % payer)\n"
        "    con.execute(\"SELECT * FROM t WHERE p = '{}'\".format(payer))\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PIPELINE", bad.parent)
    assert len(sql_built_from_values()) == 3


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Home:
    """A small warehouse (ingest and build in this process)."""
    from pipeline.lake import ingest
    from pipeline.synth import generate
    from pipeline.warehouse import build

    root = tmp_path_factory.mktemp("sql")
    out = root / "synth"
    generate(out, claims=300, files=4, seed=5, months=2)
    home = Home(root / "home").ensure()
    (home.root / "payers.csv").write_bytes((out / "payers.csv").read_bytes())
    for path in out.glob("*.835"):
        (home.inbox / path.name).write_bytes(path.read_bytes())
    assert len(ingest(home, workers=1, settle_seconds=0).loaded) == 4
    build(home)
    return home


def remit(home: Home, *args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("remit")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]
    return subprocess.run(
        [*cmd, "--home", str(home.root), *args], capture_output=True, text=True, timeout=300
    )


def test_payer_filter_is_a_literal(built: Home) -> None:
    from pipeline.reports.figures import AT_END, latest_month

    con = connect_warehouse(built.warehouse)
    try:
        payer = con.execute("SELECT min(payer_key) FROM marts.kpi_month").fetchone()[0]
        assert latest_month(con, payer) is not None  # a real payer finds its months
        assert latest_month(con, INJECTION) is None  # the injection finds none: it is a name, not SQL
        everything = con.execute("SELECT count(*) FROM marts.report_kpi_period").fetchone()[0]
        end = con.execute("SELECT max(period_end) FROM marts.report_kpi_period").fetchone()[0]
        scoped = con.execute(
            f"SELECT count(*) FROM marts.report_kpi_period WHERE {AT_END}", {"end": end, "scope": INJECTION}
        ).fetchone()[0]
        # the same text formatted into the SQL would have matched every row
        injected = con.execute(
            f"SELECT count(*) FROM marts.report_kpi_period WHERE payer_scope = '{INJECTION}'"
        ).fetchone()[0]
    finally:
        con.close()
    assert everything > 0 and injected == everything
    assert scoped == 0

    t0 = time.monotonic()
    done = remit(built, "report", "--payer", INJECTION)
    assert done.returncode == 1, done
    assert INJECTION in done.stderr + done.stdout  # the message quotes it back as a payer name
    assert not list(built.reports.glob("remit-report-*.html")), "a report was rendered for every payer"
    print(f"report --payer {INJECTION!r}: exit 1 in {time.monotonic() - t0:.1f}s: {done.stderr.strip()}")


def test_period_and_code_filters_are_literals(built: Home) -> None:
    done = remit(built, "report", "--period", "2025-01' OR '1'='1")
    assert done.returncode == 1, done
    assert not list(built.reports.glob("remit-report-*.html"))
    done = remit(built, "code", f"CO-45{INJECTION}")
    assert done.returncode == 1, done
    assert "remit code:" in done.stderr
    assert remit(built, "code", "CO-45").returncode == 0  # the same command with a real code works
