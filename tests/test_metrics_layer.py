"""One metrics layer (issue 14, item 7): the figures the leadership report and ``remit code`` print.

Every figure is a column of a documented view in ``sql/marts/`` (``marts.report_*``, ``marts.handbook_*``);
the Python of the report and the handbook only picks rows, orders them and formats them. The tests:

- read the source of ``pipeline/reports`` and ``pipeline/handbook`` and fail on an aggregate, ratio or
  change computed there (a ``sum()``, a division, ``ratio``/``change_pct``/``points``, or a SQL aggregate
  in a query string);
- tie each headline figure of a rendered report, and each figure ``remit code`` prints, to a value worked
  out by the test's own SQL against the underlying marts (``marts.claim_outcomes``,
  ``marts.provider_absorbed_month``, ``staging.stg_payments``, ``marts.adjustment_detail``,
  ``marts.appeal_worklist``), never through the report's views or Python;
- check the handbook's trend rule, now in SQL, on hand-made monthly counts.
"""

from __future__ import annotations

import ast
import calendar
import datetime as dt
import html
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import run_generated

from pipeline.handbook import format_entry, lookup
from pipeline.home import Home
from pipeline.lake import connect_warehouse
from pipeline.present.format import count, days, money, pct, plural, signed_days, signed_pct, signed_points
from pipeline.reference.loader import CODE_TREND_MACRO
from pipeline.reports import render_report
from pipeline.warehouse.models import load_models

REPO = Path(__file__).resolve().parent.parent
D = Decimal

# ------------------------------------------------------------------------------------ no Python metrics

# Functions whose arithmetic prints no figure: drawing (chart geometry, the terminal's ASCII bar, the
# colour of a change), calendar arithmetic on 'YYYY-MM' labels, and a catalog lookup (does a table exist).
DRAWING = {
    "trend_svg",
    "month_bars",
    "pixel_y",
    "nice_ticks",
    "tick_step",
    "compact_money",
    "figure_lines",
    "change_css",
    "shift_month",
    "_has_table",
}
PATHISH = re.compile(r"(path|dir|root|reports|tmp|target|home|folder|inbox|quarantine)", re.IGNORECASE)
PYTHON_MODULES = [
    "pipeline/reports/__init__.py",
    "pipeline/reports/figures.py",
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "pipeline/reports/sections").glob("*.py")),
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "pipeline/present").glob("*.py")),
    "pipeline/handbook/figures.py",
    "pipeline/handbook/entry.py",
    "pipeline/handbook/html.py",
    "pipeline/reports/notebooks/leadership_report.py",
]
METRIC_HELPERS = {"sum", "ratio", "change_pct", "points", "mean", "median", "fsum"}
SQL_AGGREGATE = re.compile(r"\b(sum|count|avg|median|quantile\w*|stddev\w*)\s*\(", re.IGNORECASE)


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _is_path(node: ast.AST) -> bool:
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
    return bool(name and PATHISH.search(name))


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: list[str] = []

    def visit(node: ast.AST, func: str | None) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            func = node.name
        where = f"{path.name}:{getattr(node, 'lineno', '?')} ({func})"
        if func not in DRAWING:
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name in METRIC_HELPERS:
                    out.append(f"{where}: calls {name}()")
            # the one division allowed is the Path operator: ``home.reports / f"x"``, ``tmp / name``
            if (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod)
                and not (_is_text(node.right) or _is_path(node.left) or _is_path(node.right))
            ):
                out.append(f"{where}: divides")
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and SQL_AGGREGATE.search(node.value)
            ):
                out.append(f"{where}: SQL aggregate in {node.value.strip()[:60]!r}")
        for child in ast.iter_child_nodes(node):
            visit(child, func)

    visit(tree, None)
    return out


def test_report_and_handbook_compute_no_metric_in_python():
    problems = [v for m in PYTHON_MODULES for v in _violations(REPO / m)]
    # the data-quality section counts the checks of the night's run (quality history, not a mart)
    problems = [p for p in problems if not p.startswith("quality.py:") and "(quality_results)" not in p]
    assert not problems, "\n".join(problems)


def test_the_scan_catches_a_metric(tmp_path):
    # the scan itself must be able to fail: a Python share and a SQL sum are both reported
    bad = tmp_path / "probe.py"
    bad.write_text(
        "def share(a, b):\n    return a / b\n\n"
        "def total(rows):\n    return sum(r['x'] for r in rows)\n\n"
        "Q = 'SELECT sum(dollars) FROM marts.kpi_month'\n"
    )
    found = _violations(bad)
    assert any("divides" in f for f in found)
    assert any("calls sum()" in f for f in found)
    assert any("SQL aggregate" in f for f in found)


def test_month_and_month_to_date_share_one_comparison():
    """A closed month and a month to date are rated and compared by the same SQL (marts.report_kpi_compare):
    no other of the headline models divides or subtracts a previous figure, and both select its rows."""
    models = {m.name: m for m in load_models()}
    compare = models["marts.report_kpi_compare"].body
    assert "nullif(b.claims_remitted, 0) - 1" in compare and "/ nullif(claims_remitted, 0)" in compare
    for name in ("marts.report_kpi_month", "marts.report_kpi_mtd", "marts.report_kpi_mtd_figures"):
        body = models[name].body
        assert "nullif(" not in body and "b." not in body, name  # no rate, no previous-figure change
    for name, kind in (("marts.report_kpi_month", "month"), ("marts.report_kpi_mtd", "mtd")):
        assert "marts.report_kpi_compare" in models[name].depends_on
        assert f"k.comparison = '{kind}'" in models[name].body


def test_every_report_and_handbook_view_is_documented():
    models = {m.name: m for m in load_models()}
    names = [n for n in models if n.startswith(("marts.report_", "marts.handbook_"))]
    assert "marts.report_kpi_month" in names and "marts.handbook_carc_summary" in names
    con = duckdb.connect()
    try:
        for name in names:
            m = models[name]
            assert m.grain and m.description, name
            # the documented columns are exactly the SELECT's output columns
            body = re.sub(r"\$\w+", "NULL", m.body)
            cols = _output_columns(con, body, models)
            assert set(cols) == set(m.columns), (name, set(cols) ^ set(m.columns))
    finally:
        con.close()


def _output_columns(con, body: str, models: dict) -> list[str]:
    """The output column names of a model body, by parsing it with sqlglot (no tables needed)."""
    import sqlglot

    tree = sqlglot.parse_one(body, read="duckdb")
    names = [e.alias_or_name for e in tree.selects]
    if "*" in names:  # not used by these views; fail loudly rather than guess
        raise AssertionError(f"SELECT * in a report view: {body[:80]}")
    return names


# --------------------------------------------------------------------------------- the trend rule (SQL)


def _trend(counts: list[int]) -> str:
    """The trend marts.handbook_carc_summary gives a code with ``counts`` adjustments in the 12 months of
    the window (oldest first), on an in-memory warehouse holding only what the view reads."""
    models = {m.name: m for m in load_models()}
    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE SCHEMA ref")
        con.execute(CODE_TREND_MACRO)  # the rule itself: ref.code_trend, as the build creates it
        months = [f"2025-{i + 1:02d}" for i in range(12)]
        con.execute("CREATE TABLE marts.kpi_month AS SELECT unnest($m) AS payment_month", {"m": months})
        con.execute(
            "CREATE TABLE marts.denials_by_carc_month (payment_month VARCHAR, group_code VARCHAR, "
            "reason_code VARCHAR, adjustment_count BIGINT, dollars DECIMAL(18, 2), claims_affected BIGINT)"
        )
        rows = [(m, "CO", "16", n, D(n), n) for m, n in zip(months, counts, strict=True) if n]
        if rows:
            con.executemany("INSERT INTO marts.denials_by_carc_month VALUES (?, ?, ?, ?, ?, ?)", rows)
        con.execute(
            "CREATE TABLE marts.handbook_carc_claims_month (payment_month VARCHAR, payer_key VARCHAR, "
            "reason_code VARCHAR, claims_affected BIGINT)"
        )
        con.execute(
            "CREATE TABLE marts.report_worklist_items (group_code VARCHAR, reason_code VARCHAR, "
            "dollars_at_stake DECIMAL(18, 2))"
        )
        for name in ("marts.report_periods", "marts.handbook_window", "marts.handbook_carc_summary"):
            con.execute(models[name].ddl())
        got = con.execute(
            "SELECT trend FROM marts.handbook_carc_summary WHERE group_scope = '*' AND reason_code = '16'"
        ).fetchone()
        return got[0] if got else "none"
    finally:
        con.close()


def test_trend_rule_in_sql():
    assert _trend([0] * 12) == "none"
    assert _trend([5] + [0] * 11) == "none"  # only long ago: nothing in the last six months
    assert _trend([0] * 9 + [1, 0, 2]) == "new"
    assert _trend([0] * 6 + [4, 4, 4, 6, 6, 6]) == "rising"  # 18 against 12
    assert _trend([0] * 6 + [6, 6, 6, 4, 4, 4]) == "falling"
    assert _trend([0] * 6 + [4, 4, 4, 5, 4, 4]) == "steady"
    assert _trend([0] * 6 + [1, 0, 0, 1, 1, 0]) == "steady"  # doubled, but only one more


def test_period_median_days_to_pay_on_hand_made_episodes():
    """marts.report_kpi_period's median_days_to_pay (a median from counts per month and days value) on
    episodes worked by hand, for the period 2025-01 .. 2025-12: payer A paid after 3 and 10 days -> 6.5
    (two values: their mean); payer B after 1, 2, 2 and 9 days -> 2.0; payer C after 4, 4 and 30 days
    -> 4.0 (odd count); all payers 1 2 2 3 4 4 9 10 30 -> 4.0. An episode first paid in 2024-12 (100 days) is
    outside the period and one without days_to_pay is left out."""
    models = {m.name: m for m in load_models()}
    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA marts")
        months = [f"2025-{i + 1:02d}" for i in range(12)]
        con.execute("CREATE TABLE marts.kpi_month AS SELECT unnest($m) AS payment_month", {"m": months})
        sums = re.findall(r"sum\(k\.(\w+)\)", models["marts.report_kpi_period"].body)
        con.execute(
            "CREATE TABLE marts.report_kpi_month AS SELECT m AS payment_month, s AS payer_scope, "
            + ", ".join(f"0 AS {c}" for c in sums)
            + " FROM unnest($m) AS t (m), unnest(['A', 'B', 'C', '*']) AS u (s)",
            {"m": months},
        )
        con.execute(
            "CREATE TABLE marts.claim_episodes "
            "(payer_key VARCHAR, first_payment_date DATE, days_to_pay INTEGER)"
        )
        episodes = [
            ("A", "2025-01-20", 3),
            ("A", "2025-03-02", 10),
            ("B", "2025-02-11", 1),
            ("B", "2025-02-12", 2),
            ("B", "2025-06-30", 2),
            ("B", "2025-12-31", 9),
            ("B", "2024-12-15", 100),
            ("B", "2025-05-05", None),
            ("C", "2025-04-01", 4),
            ("C", "2025-04-02", 4),
            ("C", "2025-09-09", 30),
        ]
        con.executemany("INSERT INTO marts.claim_episodes VALUES (?, ?, ?)", episodes)
        for name in ("marts.report_periods", "marts.report_kpi_period"):
            con.execute(models[name].ddl())
        got = dict(
            con.execute(
                "SELECT payer_scope, median_days_to_pay FROM marts.report_kpi_period "
                "WHERE period_end = '2025-12'"
            ).fetchall()
        )
    finally:
        con.close()
    assert got == {"A": D("6.5"), "B": D("2.0"), "C": D("4.0"), "*": D("4.0")}


# ------------------------------------------------------------------------ a generated warehouse, tied


@pytest.fixture(scope="module")
def synth_home(tmp_path_factory) -> Home:
    """A year of generated remittances (several payers a month), built by the nightly job."""
    root = tmp_path_factory.mktemp("metrics")
    home, _out, result = run_generated(root, claims=600, files=36, seed=20261, start="2025-01", months=12)
    assert result.exit_code == 0
    return home


@pytest.fixture(scope="module")
def con(synth_home):
    c = connect_warehouse(synth_home.warehouse)
    yield c
    c.close()


@pytest.fixture(scope="module")
def page(synth_home) -> str:
    return render_report(synth_home).read_text(encoding="utf-8")


def one(con, sql: str, params: dict | None = None):
    return con.execute(sql, params or {}).fetchone()[0]


def months_before(month: str, n: int) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + mon - 1 - n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def cards(page: str) -> dict[str, tuple[str, str, str]]:
    """Headline card label -> (value, change, period total), as printed."""
    found = re.findall(
        r'<div class="kpi"><div class="label">(.*?)</div><div class="value">(.*?)</div>'
        r'<div class="change[^"]*">(.*?)</div><div class="sub">(.*?)</div>',
        page,
    )
    return {html.unescape(a): tuple(html.unescape(x) for x in rest) for a, *rest in found}


class Window:
    """The figures of the days ``d0``..``d1`` worked out from the underlying marts by the test's own SQL
    (a figure counts on the date its definition names: payment, first denial, resolution, first remit,
    first payment)."""

    def __init__(self, con, d0: dt.date, d1: dt.date):
        p = {"d0": d0, "d1": d1}
        when = "BETWEEN $d0 AND $d1"
        self.remits = one(
            con, f"SELECT count(*) FROM marts.claim_outcomes WHERE counts_as_remit AND payment_date {when}", p
        )
        self.denied = one(
            con, f"SELECT count(*) FROM marts.claim_outcomes WHERE is_denied AND payment_date {when}", p
        )
        self.payments = one(con, f"SELECT count(*) FROM staging.stg_payments WHERE payment_date {when}", p)
        self.net = one(
            con,
            "SELECT coalesce(sum(signed_payment_amount), 0) FROM staging.stg_payments "
            f"WHERE payment_date {when}",
            p,
        )
        events = "FROM marts.denial_events WHERE kind = 'denial'"
        self.initial = one(
            con, f"SELECT coalesce(sum(denied_amount), 0) {events} AND first_denied_date {when}", p
        )
        resolved = f"AND resolution <> 'open' AND resolution_date {when}"
        self.recovered = one(con, f"SELECT coalesce(sum(recovered_amount), 0) {events} {resolved}", p)
        self.overturned = one(
            con,
            f"SELECT coalesce(sum(recovered_amount), 0) {events} AND resolution = 'overturned' {resolved}",
            p,
        )
        self.writeoffs = one(con, f"SELECT coalesce(sum(writeoff_amount), 0) {events} {resolved}", p)
        self.redirected = one(
            con,
            "SELECT coalesce(sum(recovered_amount), 0) FROM marts.denial_events "
            f"WHERE resolution = 'redirected' AND resolution_date {when}",
            p,
        )
        self.episodes, self.first_pass = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE first_pass_paid) FROM marts.claim_episodes "
            f"WHERE first_remit_date {when}",
            p,
        ).fetchone()
        self.days = one(
            con,
            f"SELECT round(median(days_to_pay), 1) FROM marts.claim_episodes WHERE first_payment_date {when}",
            p,
        )

    def rate(self) -> Decimal | None:
        return D(self.denied) / D(self.remits) if self.remits else None

    def fpy(self) -> Decimal | None:
        return D(self.first_pass) / D(self.episodes) if self.episodes else None


def month_days(month: str) -> tuple[dt.date, dt.date]:
    """The first and last day of 'YYYY-MM'."""
    year, mon = int(month[:4]), int(month[5:7])
    return dt.date(year, mon, 1), dt.date(year, mon, calendar.monthrange(year, mon)[1])


def as_of_date(con) -> dt.date:
    return one(con, "SELECT max(payment_date) FROM staging.stg_payments")


def closed_month(con) -> str:
    """The latest month whose last day the data reached (the report's default), worked out here."""
    day = as_of_date(con)
    if day == month_days(f"{day:%Y-%m}")[1]:
        return f"{day:%Y-%m}"
    return months_before(f"{day:%Y-%m}", 1)


def rel(cur, prev) -> str:
    return signed_pct(D(cur) / D(prev) - 1) if prev else "n/a"


REMITTANCE_CARDS = {
    "Claims remitted",
    "Denial rate (claims)",
    "Initial denied dollars",
    "First-pass yield",
    "Median days to pay",
    "Net payments",
}


def expected_cards(cur: Window, before: Window, period: Window, vs: str) -> dict[str, tuple[str, str, str]]:
    """Card label -> (value, change, period total) as the report must print them; ``vs`` names the
    comparison ('Nov 2025', '1–19 Nov 2025'). A comparison without any remittance has nothing to compare
    for the remittance figures, and says so."""

    def pts(a, b):
        return signed_points((a - b) * 100) if a is not None and b is not None else "n/a"

    def day_change(a, b):
        return signed_days(D(a) - D(b)) if a is not None and b is not None else "n/a"

    cards = {
        "Claims remitted": (count(cur.remits), rel(cur.remits, before.remits), count(period.remits)),
        "Denial rate (claims)": (pct(cur.rate()), pts(cur.rate(), before.rate()), pct(period.rate())),
        "Initial denied dollars": (
            money(cur.initial),
            rel(cur.initial, before.initial),
            money(period.initial),
        ),
        "Recovered after denial": (
            money(cur.recovered),
            rel(cur.recovered, before.recovered),
            money(period.recovered),
        ),
        "Overturned by the payer": (
            money(cur.overturned),
            rel(cur.overturned, before.overturned),
            money(period.overturned),
        ),
        "Final denial write-offs": (
            money(cur.writeoffs),
            rel(cur.writeoffs, before.writeoffs),
            money(period.writeoffs),
        ),
        "First-pass yield": (pct(cur.fpy()), pts(cur.fpy(), before.fpy()), pct(period.fpy())),
        "Median days to pay": (days(cur.days), day_change(cur.days, before.days), days(period.days)),
        "Redirects paid by the other plan": (
            money(cur.redirected),
            rel(cur.redirected, before.redirected),
            money(period.redirected),
        ),
        "Net payments": (money(cur.net), rel(cur.net, before.net), money(period.net)),
    }
    out = {}
    for label, (value, change, total) in cards.items():
        if label in REMITTANCE_CARDS and not before.payments and not before.remits:
            out[label] = (value, f"no remittance in {vs} to compare", total)
        else:
            out[label] = (value, f"{change} vs {vs}", total)
    return out


def test_headline_cards_tie_to_the_marts(con, page):
    end = closed_month(con)
    prev, start = months_before(end, 1), months_before(end, 11)
    cur, before = Window(con, *month_days(end)), Window(con, *month_days(prev))
    period = Window(con, month_days(start)[0], month_days(end)[1])
    assert cur.remits and before.remits and period.denied and period.initial  # a workload worth tying
    got = cards(page)
    assert f"{months_label(end)}" in got["Claims remitted"][2]  # the default is the latest closed month
    expected = expected_cards(cur, before, period, months_label(prev))
    assert set(got) == set(expected)  # every card is tied
    for label, (value, change, total) in expected.items():
        v, c, sub = got[label]
        assert v == value, (label, v, value)
        assert c == change, (label, c, change)
        assert sub.endswith(": " + total), (label, sub, total)


def test_month_to_date_cards_tie_to_the_same_days(synth_home, con):
    day = as_of_date(con)
    month = f"{day:%Y-%m}"
    if day == month_days(month)[1]:
        pytest.skip("the generated data end on a month's last day: no month to date")
    prev = months_before(month, 1)
    first, last = month_days(prev)
    same_day = dt.date(first.year, first.month, min(day.day, last.day))
    cur, before = Window(con, month_days(month)[0], day), Window(con, first, same_day)
    period = Window(con, month_days(months_before(month, 11))[0], day)
    page = render_report(synth_home, period="mtd").read_text(encoding="utf-8")
    assert "month to date, through" in page
    got = cards(page)
    expected = expected_cards(cur, before, period, f"1–{same_day.day} {months_label(prev)}")
    assert set(got) == set(expected)
    for label, (value, change, total) in expected.items():
        v, c, sub = got[label]
        assert v == value, (label, v, value)
        assert c == change, (label, c, change)
        assert sub.endswith(": " + total), (label, sub, total)


def months_label(month: str) -> str:
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return f"{names[int(month[5:7]) - 1]} {month[:4]}"


def test_worklist_figures_are_the_worklists_open_items(con, page):
    text = html.unescape(page)
    labels = {"appeal": "Appeal", "rework": "Correct and resubmit", "redirect": "Bill the other plan"}
    for name, label in labels.items():
        items, claims, dollars, oldest, late = con.execute(
            f"SELECT count(*), count(DISTINCT claim_id), sum(dollars_at_stake), max(age_days), "
            f"count(*) FILTER (WHERE days_left < 0) FROM marts.{name}_worklist"
        ).fetchone()
        # the worklist marts hold open denials only
        assert (
            one(
                con,
                f"SELECT count(*) FROM marts.{name}_worklist AS w JOIN marts.denial_events AS e "
                "USING (denial_id) WHERE e.resolution <> 'open'",
            )
            == 0
        )
        if not items:
            assert f"{label}: no open item." in text
            continue
        assert (
            f"{label}: {plural(items, 'open item')} on {plural(claims, 'remit')}, worth {money(dollars)} at "
            f"stake; the oldest is {oldest:,} days old and {plural(late, 'item')}"
        ) in text, label
    assert "can be appealed" not in text


def test_denial_and_crossover_readings_tie_to_the_marts(con, page):
    end = closed_month(con)
    p = {"m0": months_before(end, 11), "m1": end}
    where = "payment_month BETWEEN $m0 AND $m1"
    denial = one(
        con,
        "SELECT sum(denied_amount) FROM marts.denial_events WHERE kind = 'denial' "
        "AND first_denied_month BETWEEN $m0 AND $m1",
        p,
    )
    text = html.unescape(page)
    assert f"Initial denials came to {money(denial)} over the period" in text
    cross = one(con, f"SELECT sum(dollars) FROM marts.crossover_month WHERE {where}", p)
    forwarded = one(
        con,
        f"SELECT coalesce(sum(dollars), 0) FROM marts.crossover_month WHERE crossover_forwarded AND {where}",
        p,
    )
    assert f"Crossover adjustments came to {money(cross)}" in text
    assert f"{money(cross - forwarded)} is at stake" in text


# ---------------------------------------------------------------------------------------- remit code


def _code_output(home: Home, code: str) -> str:
    return format_entry(lookup(code, home))


def test_remit_code_figures_tie_to_the_marts(synth_home, con):
    end = one(con, "SELECT max(payment_month) FROM staging.stg_payments")
    m0 = months_before(end, 11)
    # the CARC with the most CO adjustments in the window (the test's own pick)
    code = one(
        con,
        "SELECT reason_code FROM marts.adjustment_detail WHERE group_code = 'CO' "
        "AND payment_month BETWEEN $m0 AND $m1 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
        {"m0": m0, "m1": end},
    )
    for group in (None, "CO"):
        query = f"{group}-{code}" if group else code
        text = _code_output(synth_home, query)
        p = {"code": code, "grp": group, "m0": m0, "m1": end}
        f = "reason_code = $code AND ($grp IS NULL OR group_code = $grp)"
        n, dollars, claims = con.execute(
            f"SELECT count(*), sum(amount), count(DISTINCT claim_id) FROM marts.adjustment_detail "
            f"WHERE {f} AND payment_month BETWEEN $m0 AND $m1",
            p,
        ).fetchone()
        all_n, all_d = con.execute(
            f"SELECT count(*), sum(amount) FROM marts.adjustment_detail WHERE {f}",
            {"code": code, "grp": group},
        ).fetchone()
        word = "adjustment" if n == 1 else "adjustments"
        assert f"  {n:,} {word} on {claims:,} claim{'s' if claims != 1 else ''}, ${dollars:,.2f};" in text, (
            query,
            text,
        )
        assert f"all months in the warehouse: {all_n:,} adjustments, ${all_d:,.2f}" in text
        # month by month
        for month, mn, md in con.execute(
            f"SELECT payment_month, count(*), sum(amount) FROM marts.adjustment_detail "
            f"WHERE {f} AND payment_month BETWEEN $m0 AND $m1 GROUP BY 1",
            p,
        ).fetchall():
            assert re.search(rf"^\s+{month}\s+{mn:,}\s+\${md:,.2f}\b", text, re.M), (query, month)
        # the top payer by dollars, with its share
        payer, pn, pd = con.execute(
            f"SELECT payer_key, count(*), sum(amount) FROM marts.adjustment_detail "
            f"WHERE {f} AND payment_month BETWEEN $m0 AND $m1 GROUP BY 1 ORDER BY 3 DESC, 2 DESC, 1 LIMIT 1",
            p,
        ).fetchone()
        share = pct(D(pd) / D(dollars))  # the one percent format of the terminal, the pages and the report
        assert re.search(rf"\s{re.escape(payer)}\s+{pn:,}\s+\${pd:,.2f}\s+{re.escape(share)}", text), query
        # open items of the three worklists with the code as top reason
        on, od = con.execute(
            "SELECT count(*), coalesce(sum(denied_amount), 0) FROM marts.denial_events "
            f"WHERE resolution = 'open' AND worklist IS NOT NULL AND {f}",
            {"code": code, "grp": group},
        ).fetchone()
        assert f"{on:,} item{'s' if on != 1 else ''}, ${od:,.2f}):" in text, query


def test_headline_worklist_table_ties_to_the_worklist_marts(con, page):
    head = page[page.index(">1. ") : page.index(">2. ")]
    labels = {"appeal": "Appeal", "rework": "Correct and resubmit", "redirect": "Bill the other plan"}
    for name, label in labels.items():
        items, claims, dollars, oldest, deadline, left, late, soon = con.execute(
            f"SELECT count(*), count(DISTINCT claim_id), coalesce(sum(dollars_at_stake), 0), max(age_days), "
            "min(deadline_date), min(days_left), count(*) FILTER (WHERE days_left < 0), "
            "count(*) FILTER (WHERE days_left BETWEEN 0 AND 14) "
            f"FROM marts.{name}_worklist"
        ).fetchone()
        at = head.index(f"<td>{label}</td>")
        row = head[at : head.index("</tr>", at)]
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        expected_deadline = f"{deadline} ({left:+,} days)" if deadline else "–"
        assert cells == [
            label,
            count(items),
            count(claims),
            money(dollars),
            count(oldest),
            html.escape(expected_deadline),
            count(late),
            count(soon),
        ], (name, cells)
