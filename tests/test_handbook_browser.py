"""The handbook in a real browser: headless Chromium (Debian's package, via scripts/chromium.sh) runs the
index's search script and renders the pages at 1400 and 800 px.

The warehouse is the one of tests/test_handbook.py. Expected search results are worked out here from the
seed CSVs, not from the page: a code-shaped query matches the code (exact first, then codes starting
with it) and then rows whose category or summary has it as a whole word, never a count or dollar cell.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import Browser, chromium_path  # noqa: E402
from test_handbook import REPO, make_hb_home  # noqa: E402

from pipeline.handbook import render_handbook  # noqa: E402
from pipeline.home import Home  # noqa: E402

pytestmark = pytest.mark.slow

VISIBLE = "[...document.querySelectorAll('#codes tbody tr:not([hidden])')].map(r => r.id)"


@pytest.fixture(scope="module")
def handbook(tmp_path_factory) -> Path:
    home = make_hb_home(tmp_path_factory.mktemp("hbb") / "home")
    return render_handbook(home).parent


@pytest.fixture(scope="module")
def browser():
    with Browser(chromium_path()) as b:
        yield b


def seed_rows() -> list[tuple[str, str, str]]:
    """(row id, code, category + summary) of every index row that comes from the seeds, in index order."""
    out = []
    for name, kind in (("carc.csv", "carc"), ("rarc.csv", "rarc")):
        with (REPO / "reference" / name).open(newline="") as fh:
            for r in csv.DictReader(fh):
                out.append(
                    (f"{kind}-{r['code']}", r["code"], f"{r['category'].replace('_', ' ')} {r['summary']}")
                )
    return out


def search(browser: Browser, handbook: Path, query: str) -> list[str]:
    browser.open((handbook / "index.html").as_uri())
    browser.type_text("#q", query)
    return browser.eval(VISIBLE)


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("CO-289", "carc-289"),
        ("co 289", "carc-289"),
        ("289", "carc-289"),
        ("pr-1", "carc-1"),
        ("PR1", "carc-1"),
        ("N10", "rarc-N10"),
        ("n10", "rarc-N10"),
        ("CO-16", "carc-16"),
        ("045", "carc-45"),
        ("ma130", "rarc-MA130"),
    ],
)
def test_search_finds_the_code_first(browser, handbook, query, first):
    shown = search(browser, handbook, query)
    assert shown and shown[0] == first, shown[:5]


def test_search_16_matches_codes_then_words_never_dollars(browser, handbook):
    shown = search(browser, handbook, "16")
    rows = seed_rows()
    exact = [i for i, c, _ in rows if c == "16"]
    prefix = [i for i, c, _ in rows if c.startswith("16") and c != "16"]
    words = [
        i
        for i, c, t in rows
        if not c.startswith("16") and re.search(r"(?<![a-z0-9])16(?![a-z0-9])", t.lower())
    ]
    assert shown == exact + prefix + words
    # 16 is in no dollar cell it could have matched: the window's dollars include $1,650.00 for 289
    assert "carc-289" not in shown
    # with a group code only CARCs remain
    assert all(i.startswith("carc-") for i in search(browser, handbook, "CO 16"))


def test_search_words(browser, handbook):
    shown = search(browser, handbook, "dental plan")
    rows = seed_rows()
    expected = [i for i, c, t in rows if all(w in f"{c.lower()} {t.lower()}" for w in ("dental", "plan"))]
    assert shown == expected and len(expected) > 3


def test_enter_opens_the_first_result(browser, handbook):
    search(browser, handbook, "CO-289")
    browser.press_enter()
    browser.wait_for("Page.loadEventFired")
    assert browser.eval("location.pathname").endswith("/carc-289.html")


def test_fragment_shows_the_code_row_without_filtering(browser, handbook):
    browser.open("about:blank")
    browser.open((handbook / "index.html").as_uri() + "#carc-4")
    total = browser.eval("document.querySelectorAll('#codes tbody tr').length")
    assert total > 1600
    assert browser.eval("document.getElementById('count').textContent") == str(total)
    assert len(browser.eval(VISIBLE)) == total
    assert browser.eval("document.querySelector('#codes tr:target').id") == "carc-4"
    top, bottom, height = browser.eval(
        "(() => {const r = document.getElementById('carc-4').getBoundingClientRect();"
        " return [r.top, r.bottom, innerHeight];})()"
    )
    assert top >= -1 and bottom <= height + 1  # scrolled into view (to a sub-pixel)


def test_fragment_clears_a_filter_that_hid_its_row(browser, handbook):
    browser.open((handbook / "index.html").as_uri())
    browser.type_text("#q", "N10")
    browser.eval("document.getElementById('seen').click()")
    assert "carc-4" not in browser.eval(VISIBLE)
    browser.open((handbook / "index.html").as_uri() + "#carc-4")  # same document: hashchange
    browser.eval("new Promise(r => setTimeout(r, 100))")
    assert browser.eval("document.getElementById('q').value") == ""
    assert not browser.eval("document.getElementById('seen').checked")
    assert "carc-4" in browser.eval(VISIBLE)


def test_search_from_the_address(browser, handbook):
    browser.open((handbook / "index.html").as_uri() + "?q=co-289")
    assert browser.eval(VISIBLE)[:1] == ["carc-289"]
    assert browser.eval("document.getElementById('q').value") == "co-289"


@pytest.mark.parametrize("width", [1400, 800])
@pytest.mark.parametrize(
    "page", ["index.html", "carc-289.html", "carc-50.html", "rarc-N10.html", "carc-16.html"]
)
def test_pages_fit_the_window(browser, handbook, tmp_path, width, page):
    """No horizontal scrolling at 1400 or 800 px; the screenshot is a real PNG of the page."""
    browser.open((handbook / page).as_uri(), width=width)
    overflow = browser.eval(
        "[document.documentElement.scrollWidth, innerWidth, "
        "[...document.querySelectorAll('table,svg,p,h1,h2,ul,ol')]"
        ".filter(e => e.getBoundingClientRect().right > innerWidth + 0.5).map(e => e.tagName)]"
    )
    assert overflow[0] <= overflow[1] and not overflow[2], overflow
    png = browser.screenshot()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / f"{page}-{width}.png").write_bytes(png)


def test_long_claim_numbers_do_not_widen_a_page(browser, handbook, tmp_path):
    """Payers' claim numbers and line keys run to 20 digits with no break: at 800 px the open-items
    table must still fit (CO-50 has one open item in the fixture; its ids are made long here)."""
    from dataclasses import replace

    from pipeline.handbook import lookup
    from pipeline.handbook.html import Links, page_html

    entry = lookup("CO-50", Home(handbook.parent.parent))
    item = entry.figures.open_items[0]
    long_item = replace(
        item,
        payer_claim_control_number="39498000040000000072",
        line_key="00004000000065L3" * 2,
        payer_name="FEDERAL MEDICARE CONTRACTOR SYNTHETIC REGION",
    )
    entry.figures.open_items = [long_item] * 5
    path = tmp_path / "carc-50.html"
    path.write_text(page_html(entry, Links(set()), "test page"))
    browser.open(path.as_uri(), width=800)
    width, inner = browser.eval("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= inner
    assert "39498000040000000072" in browser.eval("document.body.textContent")
