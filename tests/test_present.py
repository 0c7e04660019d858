"""One way to print a figure: the report, the handbook's pages and ``remit code`` share pipeline.present.

Two checks that fail when a second formatter creeps back:

- the source: no module of the report, the handbook or the CLI defines its own money or percent
  formatter or formats dollars with ``:,.2f`` / rates with ``%`` format specs;
- the output: with the shared functions marking what they print (``⟦$1,650.00⟧``), every dollar figure
  (``$1,650.00``) and every percentage (``80.5 %``) of the terminal entry, a handbook page and the report
  built from one warehouse is marked. A figure printed by any other code would stand unmarked.

Hand-worked values: the handbook fixture's 289 (all groups) at Bright Dental is 4 adjustments, $1,650.00 of
the $2,050.00 289 dollars in the window (tests/test_handbook.py): 1650 / 2050 = 0.80487... -> 80.5 %.
"""

from __future__ import annotations

import html
import re
import sys
import types
from decimal import Decimal as D
from pathlib import Path

import pytest

from pipeline.present import format as fmt
from pipeline.present.tables import Column, cells_table, table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # test_handbook builds the fixture warehouse
# where figures are printed for people: the report, the handbook, the CLI and the nightly summary
PRESENTING = [
    *sorted((REPO / "pipeline" / "reports").rglob("*.py")),
    *sorted((REPO / "pipeline" / "handbook").rglob("*.py")),
    *sorted((REPO / "pipeline" / "present").rglob("*.py")),
    REPO / "pipeline" / "cli.py",
    REPO / "pipeline" / "nightly.py",
]
FORMATTERS = ("money", "pct", "signed_pct", "signed_points")
SECOND_FORMATTER = re.compile(
    r"def (money|pct|percent|dollars|fmt_money|format_money)\("  # a formatter of its own
    r"|:[<>^]?\d*,\.2f\}"  # dollars: f"{x:,.2f}", f"{x:>14,.2f}"
    r"|:[<>^]?\d*\.\d+%\}"  # a rate: f"{rate:.1%}"
    r"|\*\s*100\)?\.quantize"  # a rate turned into a percentage by hand
)


def test_format_functions_by_hand():
    assert fmt.money(D("1650")) == "$1,650.00"
    assert fmt.money(D("-30")) == "-$30.00"
    assert fmt.money(D("0.005")) == "$0.01"  # half up, to the cent
    assert fmt.pct(D(1650) / D(2050)) == "80.5 %"
    assert fmt.pct(D("0.2")) == "20.0 %"
    assert fmt.money(None) == fmt.pct(None) == "–"


def test_no_second_formatter_in_the_source():
    found = []
    for path in PRESENTING:
        if path == REPO / "pipeline" / "present" / "format.py":
            continue
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SECOND_FORMATTER.search(text):
                found.append(f"{path.relative_to(REPO)}:{n}: {text.strip()}")
    assert not found, "print figures with pipeline.present.format:\n" + "\n".join(found)


def test_the_source_check_catches_the_old_formatters():
    """The pattern above finds each formatter this package replaced (so the check can fail)."""
    for old in (
        "def money(value: Decimal | None) -> str:",
        'return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"',
        "return f\"{(share * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%\"",
        'print(f"{code:8} {claims:6,} claims  ${dollars:>14,.2f}  {meaning}")',
        'f"{rate:.1%}"',
    ):
        assert SECOND_FORMATTER.search(old), old


def test_one_table_builder_one_numeric_class():
    rows = [{"payer": "Bright Dental", "dollars": D("1650"), "share": D("0.8049")}]
    columns = [
        Column("payer", "payer"),
        Column("dollars", "dollars", "money"),
        Column("share", "share", "pct"),
    ]
    built = table(columns, rows)
    cells = cells_table(
        [("payer", False), ("dollars", True), ("share", True)], [["Bright Dental", "$1,650.00", "80.5 %"]]
    )
    for out in (built, cells):
        assert '<td class="num">$1,650.00</td><td class="num">80.5 %</td>' in out
        assert out.startswith('<table class="figures">')
    assert cells_table([("a", False)], [["x"]], table_id="codes", row_attrs=['id="carc-4" data-code="4"'])
    assert '<table id="codes" class="figures">' in cells_table([("a", False)], [["x"]], table_id="codes")
    assert '<tr id="carc-4" data-code="4" class="here"><td>x</td></tr>' in cells_table(
        [("a", False)], [["x"]], ["here"], row_attrs=['id="carc-4" data-code="4"']
    )


# ------------------------------------------------------------------------- every figure goes through it

MONEY = re.compile(r"-?\$\d[\d,]*\.\d\d")
PERCENT = re.compile(r"[+-]?\d[\d,]*\.\d %")


def unmarked(text: str) -> list[str]:
    """The dollar figures and percentages of ``text`` not printed by the shared (marking) formatters."""
    out = []
    for pattern in (MONEY, PERCENT):
        for m in pattern.finditer(text):
            before, after = text[: m.start()], text[m.end() :]
            if not (before.endswith("⟦") and after.startswith("⟧")):
                out.append(text[max(0, m.start() - 40) : m.end() + 10])
    return out


@pytest.fixture(scope="module")
def marked():
    """The shared formatters wrap what they print in ⟦ ⟧. The function objects themselves are changed, so
    every caller is marked however it reached them (an import, a dict of formatters, a dataclass field);
    a formatter defined anywhere else is not."""
    with pytest.MonkeyPatch.context() as mp:
        for name in FORMATTERS:
            f = getattr(fmt, name)
            original = types.FunctionType(f.__code__, f.__globals__, name, f.__defaults__, f.__closure__)
            original.__kwdefaults__ = f.__kwdefaults__
            mp.setitem(fmt.__dict__, f"_unmarked_{name}", original)
            scope: dict = {}
            exec(f"def {name}(*a, **k):\n    return '⟦' + _unmarked_{name}(*a, **k) + '⟧'\n", scope)
            mp.setattr(f, "__code__", scope[name].__code__)
            mp.setattr(f, "__defaults__", None)
            mp.setattr(f, "__kwdefaults__", None)
        yield


@pytest.fixture(scope="module")
def hb_home(tmp_path_factory):
    from test_handbook import make_hb_home

    return make_hb_home(tmp_path_factory.mktemp("present") / "home")


def report_sections(home) -> str:
    """The report's sections rendered in this process, as the report's notebook renders them in its kernel
    (where this test's marks would not reach)."""
    from pipeline.reports import sections
    from pipeline.reports.figures import Scope, connect

    con = connect(home.warehouse)
    try:
        scope, env = Scope.make(con, end=None, payer=None), sections.Env.make(home.root)
        return "".join(sections.render(name, con, scope, env) for name in sections.SECTIONS)
    finally:
        con.close()


def test_terminal_page_and_report_print_through_one_formatter(hb_home, marked, monkeypatch, tmp_path):
    from pipeline.handbook import format_entry, lookup, render_handbook

    monkeypatch.setenv("COLUMNS", "300")  # the marks must not change how lines wrap
    terminal = format_entry(lookup("289", hb_home))  # all groups, as on the page
    page = (render_handbook(hb_home).parent / "carc-289.html").read_text(encoding="utf-8")
    report = report_sections(hb_home)
    page_text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    report_text = html.unescape(re.sub(r"<[^>]+>", " ", report))

    # the same Decimal, the same text, in the terminal and on the page
    assert "⟦$1,650.00⟧" in terminal and "⟦80.5 %⟧" in terminal
    assert "⟦$1,650.00⟧" in page_text and "⟦80.5 %⟧" in page_text
    assert re.search(r"⟦\$[\d,]+\.\d\d⟧", report_text)  # the report prints dollars, all marked
    for name, text in (("terminal", terminal), ("handbook page", page_text), ("report", report_text)):
        assert not unmarked(text), f"{name} prints figures another way: {unmarked(text)[:5]}"
