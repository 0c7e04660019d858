"""The leadership report rendered on the hand-built warehouse fixtures, whose figures are worked out by hand.

Fixtures: tests/fixtures/warehouse/ (read-only; the whole story is in tests/test_warehouse.py's docstring).
The figures this module expects, from those files:

January 2025 (three payments)
  remits A1, C1, D1, F1 = 4 (B1 is reversed in February and netted out; E1 is a 23 redirect)
  denied D1 (CLP02 4): 1 of 4 = 25.0 %; dollars 800 of 500 + 300 + 800 + 100 = 1,700 -> 47.1 %
  initial denied dollars (denial events of kind denial): CO-50 120 on C1's line + CO-289 800 (D1) = 920.00
  nothing recovered or finally written off yet (the 180-day window has not passed): 0.00
  first-pass yield: episodes first remitted in January A, B, C, D, F and the redirect E = 6; paid in full
  on the first remit without a denial: A, B, F = 3 -> 50.0 %
  provider-absorbed CO-45 150 (A1) + CO-50 120 + CO-289 800 + CO-45 10 (F1) = 1,080.00
  net payments BPR02 625 + 0 + 80 = 705.00
February 2025 (one payment)
  remits B1 correction, G1 = 2 (H0 is an unmatched reversal, never a remit): claims -50.0 % on January
  denied 0: 0.0 %, -25.0 pts; initial denied 0.00 (-100.0 %); first-pass yield G 1 of 1 = 100.0 %
  absorbed CO-45 20 + CO-45 15 + CO-42 10 + CO-42 -30 (H0) = 15.00; net payments 85.00
Period: 6 remits, 1 denied (16.7 %), 920.00 first denied, first-pass yield 4 of 7 = 57.1 %, 790.00 received.
Denials over the period: CO-289 800.00 on 1 claim (87.0 % of 920.00), CO-50 120.00 on 1 claim (13.0 %).
Crossover: CO-289 800 (both plans denied) + OA-290 350 (dental -> medical) = 1,150.00 on 2 claims; the two
  dental lines (D1, E1) were remitted by Bright Dental, a dental plan: 0 of 2 at medical plans.
Worklists (open denials only): appeal CO-50 on C1's line 120.00 (its guidance says appeal); CO-289 on D1
  (review and decide) is on no worklist; rework and redirect are empty.
Unknown payer: 1777777777 (Mystery Health is not in payers.csv).

The as-of date is the latest payment date, 10 February 2025: January is the latest closed month and the
default report; February is month to date, through 10 February, compared with 1-10 January (which has no
payment: the earliest January payment is on the 15th). A second home (``closed``) moves the February
payment to the 28th, so February is closed: its report compares February with all of January (the figures
above), Bright Dental has no payment in it (an empty payer month), and as it is built twice (January alone,
then with February, whose B1 correction reverses a January remit) January is restated:
Acme Medical's January remits 3 -> 2 (A1, C1; B1 netted out by February's reversal).

Report settings (pipeline/reports/report.toml): denial rate at most 10 %, first-pass yield at least 85 %,
median days to pay at most 30: January's 25.0 % and 50.0 % miss them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main
from pipeline.home import Home
from pipeline.nightly import run_nightly
from pipeline.present.format import money, pct, signed_pct, signed_points
from pipeline.reports import ReportError, render_report, report_path

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "warehouse"
D = Decimal

# Any reference to another host in an attribute or a stylesheet: the page must open offline.
REMOTE = re.compile(
    r"""(?:\b(?:src|href|data|poster|srcset)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)""",
    re.IGNORECASE,
)


def stage(src: Path, inbox: Path) -> None:
    """Copy ``src`` into ``inbox`` with an old mtime, so ingest takes it at once."""
    dest = inbox / src.name
    shutil.copy(src, dest)
    old = time.time() - 3600
    os.utime(dest, (old, old))


def write_quality_results(home: Home) -> None:
    """Two more quality runs recorded after the nightly one (as ``remit check`` would): the report shows
    only the latest, read from the home's history file rather than the copy built into the warehouse."""
    import datetime as dt

    later = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    old_at, new_at = later + dt.timedelta(minutes=1), later + dt.timedelta(minutes=2)
    from pipeline.quality import results_path
    from pipeline.quality.report import RESULTS_DDL

    con = duckdb.connect()
    try:
        # attached under another name: a catalog called "quality" would shadow the schema "quality"
        con.execute("ATTACH $path AS qdb", {"path": str(results_path(home))})
        con.execute("USE qdb")
        con.execute(RESULTS_DDL)
        rows = [
            ("check-old", "warehouse", "old_expectation_only_in_the_first_run", "warning", True, 0, 10,
             None, None, None, old_at),
            ("check-new", "warehouse", "claims_balance", "critical", False, 3, 8,
             ["c1", "c2", "c3"], ["f1"], ["PCN-X"], new_at),
            ("check-new", "batch", "carc_codes_known", "warning", True, 0, 14,
             None, None, None, new_at),
        ]  # fmt: skip
        con.executemany("INSERT INTO quality.results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Home:
    """January and February fixtures plus one unreadable file (quarantined), built, with quality results."""
    home = Home(tmp_path_factory.mktemp("report") / "home").ensure()
    shutil.copy(FIXTURE_DIR / "payers.csv", home.root / "payers.csv")
    stage(FIXTURE_DIR / "2025-01-remit.835", home.inbox)
    stage(FIXTURE_DIR / "2025-02-remit.835", home.inbox)
    bad = home.inbox / "garbled-remit.835"
    bad.write_text("this is not an 835 file\n")
    old = time.time() - 3600
    os.utime(bad, (old, old))
    result = run_nightly(home, workers=1, report=False)
    assert result.exit_code == 3  # the garbled file was rejected, the rest built
    write_quality_results(home)
    return home


@pytest.fixture(scope="module")
def page(built) -> str:
    """The default report: the latest closed month (January 2025), all payers."""
    path = render_report(built)
    assert path == built.reports / "remit-report-2025-01.html"
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def mtd_page(built) -> str:
    """February 2025, which is not over in the data: month to date."""
    return render_report(built, period="2025-02").read_text(encoding="utf-8")


def february_on(day: str, dest: Path) -> Path:
    """The February fixture with its payment (BPR16) dated 2025-02-``day``."""
    text = (FIXTURE_DIR / "2025-02-remit.835").read_text()
    assert text.count("*20250210~") == 1  # BPR16 ends the BPR segment
    dest.write_text(text.replace("*20250210~", f"*202502{day}~"))
    return dest


@pytest.fixture(scope="module")
def closed(tmp_path_factory) -> Home:
    """January built alone, then February (paid on the 28th: a closed month) added and built again."""
    root = tmp_path_factory.mktemp("closed")
    home = Home(root / "home").ensure()
    shutil.copy(FIXTURE_DIR / "payers.csv", home.root / "payers.csv")
    stage(FIXTURE_DIR / "2025-01-remit.835", home.inbox)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    stage(february_on("28", root / "2025-02-remit.835"), home.inbox)
    assert run_nightly(home, workers=1, report=False).exit_code == 0
    return home


def plain(html_text: str) -> str:
    """The page's text without tags, with whitespace collapsed."""
    import html as _html

    return " ".join(_html.unescape(re.sub(r"<[^>]+>", " ", html_text)).split())


def card(page: str, label: str) -> dict[str, str]:
    """One headline card as printed: value, change (text and class), sub line and target."""
    at = page.index(f'<div class="label">{label}</div>')
    block = page[at : page.index('<div class="kpi">', at) if '<div class="kpi">' in page[at:] else None]
    found = dict(re.findall(r'<div class="(value|sub|target[^"]*)">(.*?)</div>', block))
    change = re.search(r'<div class="change ?([^"]*)">(.*?)</div>', block)
    return {
        "value": found.get("value", ""),
        "sub": found.get("sub", ""),
        "target": next((v for k, v in found.items() if k.startswith("target")), ""),
        "change": change.group(2),
        "colour": change.group(1),
    }


def section(page: str, number: int) -> str:
    """The HTML from the ``number``. heading to the next numbered heading."""
    start = page.index(f">{number}. ")
    nxt = page.find(f">{number + 1}. ", start)
    return page[start : nxt if nxt > 0 else len(page)]


def row_with(html: str, needle: str) -> str:
    """The table row (``<tr>…</tr>``) holding ``needle``."""
    at = html.index(needle)
    return html[html.rindex("<tr", 0, at) : html.index("</tr>", at)]


def test_format_functions():
    assert money(D("1234.5")) == "$1,234.50"
    assert money(D("-30")) == "-$30.00"
    assert money(D("0.005")) == "$0.01"
    assert pct(D(8) / D(17)) == "47.1 %"
    assert signed_pct(D("-0.5")) == "-50.0 %"
    assert signed_points(D("-25")) == "-25.0 pts"


def test_page_is_standalone_and_offline(page):
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert not REMOTE.search(page), REMOTE.search(page).group(0)
    assert "<script" not in page.lower()  # no script at all: nothing to fetch, nothing to run
    assert "cdn" not in page.lower()
    # at least six charts, inline (not <img> pointing elsewhere)
    assert page.count("<svg") >= 6


def test_no_code_cells(page):
    # markdown cells keep their (prose) input area; code cells must show outputs only
    for marker in ("jp-CodeMirrorEditor", "jp-InputPrompt", "highlight hl-ipython", "jp-OutputPrompt"):
        assert marker not in page, marker
    for code in ("sections.render", "show(", "display(HTML", "import ", "figures.Scope", "period_end ="):
        assert code not in page


def test_headline_of_a_closed_month_with_no_data_before_it(page):
    head = section(page, 1)
    text = plain(page)
    assert "January 2025 (a closed month), compared with December 2024; all payers" in text
    assert "trends over the 12 months Feb 2024–Jan 2025" in text
    assert "Figures as of 10 February 2025" in text
    # the months before the data start say so, in the lede and in the month table (never zeros)
    assert "The warehouse's data start in January 2025: the months before it have no data" in text
    dec = row_with(head, '<td class="nowrap">Dec 2024</td>')
    assert "before the data start" in dec and "$0.00" not in dec
    # January's cards (module docstring); December has no remittance: nothing to compare, no colour
    claims = card(head, "Claims remitted")
    assert claims["value"] == "4" and claims["change"] == "no remittance in Dec 2024 to compare"
    assert claims["colour"] == "" and claims["sub"] == "Feb 2024–Jan 2025: 4"
    assert card(head, "Initial denied dollars")["value"] == "$920.00"
    assert card(head, "Net payments")["value"] == "$705.00"
    rate = card(head, "Denial rate (claims)")
    assert rate["value"] == "25.0 %" and rate["target"] == "target: at most 10.0 % (above)"
    fpy = card(head, "First-pass yield")
    assert fpy["value"] == "50.0 %" and fpy["target"] == "target: at least 85.0 % (below)"
    denials, payments = head.split("Payment month by month")
    jan = row_with(denials, '<td class="nowrap">Jan 2025</td>')
    for figure in ("4", "25.0 %", "47.1 %", "$920.00", "$0.00"):
        assert f">{figure}</td>" in jan, figure
    jan = row_with(payments, '<td class="nowrap">Jan 2025</td>')
    assert ">50.0 %</td>" in jan and ">$705.00</td>" in jan
    total = row_with(denials, ">Total</td>")
    for figure in ("4", "25.0 %", "$920.00"):
        assert f">{figure}</td>" in total, figure
    total = row_with(payments, ">Total</td>")
    assert ">50.0 %</td>" in total and ">$705.00</td>" in total
    # the open worklists: one appeal item of 120.00, its age and deadline
    appeal = row_with(head, ">Appeal</td>")
    assert '<td class="num">1</td>' in appeal and ">$120.00</td>" in appeal


def test_month_to_date_compares_the_same_days(mtd_page):
    text = plain(mtd_page)
    assert (
        "February 2025, month to date, through 10 February 2025: compared with January 2025 through "
        "10 January 2025, the same days"
    ) in text
    head = section(mtd_page, 1)
    claims = card(head, "Claims remitted")
    # 1-10 January holds no payment (the first is on the 15th): no "-50 %" against a whole month
    assert claims["value"] == "2" and claims["change"] == "no remittance in 1–10 Jan 2025 to compare"
    assert "-50.0 %" not in head
    assert (
        "In February 2025 to date (through 10 February 2025) payers remitted 2 claims (none in the same days "
        "of January 2025)" in plain(head)
    )
    assert row_with(head, '<td class="nowrap">Feb 2025 (to date)</td>')


def test_closed_month_against_the_whole_month_before(closed):
    path = render_report(closed)  # February is over (paid on the 28th): the default
    assert path == closed.reports / "remit-report-2025-02.html"
    page = path.read_text(encoding="utf-8")
    head = section(page, 1)
    assert "In February 2025 payers remitted 2 claims (-50.0 % on January 2025)" in plain(head)
    assert "0.0 % of them were denied (-25.0 pts)" in plain(head)
    assert "Initial denied dollars fell 100.0 % from January 2025 to February 2025, to $0.00" in plain(head)
    # volume is neither good nor bad: no colour; fewer denied dollars is better: one colour for better
    assert card(head, "Claims remitted")["colour"] == ""
    assert card(head, "Initial denied dollars")["colour"] == "better"
    fpy = card(head, "First-pass yield")
    assert (
        fpy["value"] == "100.0 %" and fpy["change"] == "+50.0 pts vs Jan 2025" and fpy["colour"] == "better"
    )
    assert card(head, "Denial rate (claims)")["colour"] == "better"


def test_empty_payer_month_says_so(closed):
    # Bright Dental was paid in January only: its February report has no remittance, and says so
    page = render_report(closed, payer="DENTPAY1").read_text(encoding="utf-8")
    text = plain(page)
    assert "No payment from Bright Dental in February 2025: the month's remittance figures are empty" in text
    assert "No payment was remitted in February 2025: there is no remittance to report for it." in text
    head = section(page, 1)
    for label in ("Claims remitted", "Initial denied dollars", "Net payments", "First-pass yield"):
        got = card(head, label)
        assert got["value"] == "–" and got["change"] == "no remittance in Feb 2025", label
        assert got["colour"] == "", label  # an empty month is never good news
    assert "-100.0 %" not in head


def test_restated_month_is_flagged_with_its_cause(closed):
    # February's B1 correction reversed a January remit: the second build restated January
    page = render_report(closed, period="2025-01").read_text(encoding="utf-8")
    text = plain(page)
    assert "Restated since the previous build:" in text
    assert (
        "January 2025, Acme Medical: claims remitted 3 → 2 (a remit dated in that month arrived after the "
        "previous build, or a reversal was matched)"
    ) in text


def test_report_settings_in_one_file(tmp_path):
    from pipeline.reports.settings import load_report_settings
    from pipeline.settings import SettingError

    default = load_report_settings(None)
    assert default.targets["first_pass_yield"].min == D("0.85")
    assert default.targets["denial_rate_count"].missed(D("0.25")) == "above"
    (tmp_path / "report.toml").write_text(
        'organisation = "Lakeside Dental"\n[targets]\nfirst_pass_yield = { min = 0.4 }\n'
    )
    mine = load_report_settings(tmp_path)
    assert mine.organisation == "Lakeside Dental"
    assert mine.targets["first_pass_yield"].min == D("0.4")
    assert mine.targets["denial_rate_count"].max == D("0.10")  # the keys not named keep their defaults
    (tmp_path / "report.toml").write_text("[targets]\nfirst_pass_yeild = { min = 0.4 }\n")
    with pytest.raises(SettingError, match=r"report.toml: targets.first_pass_yeild"):
        load_report_settings(tmp_path)
    (tmp_path / "report.toml").write_text("[attention]\npast_deadline_items = 'none'\n")
    with pytest.raises(SettingError, match=r"attention.past_deadline_items"):
        load_report_settings(tmp_path)


def test_what_needs_attention(page):
    items = section(page, 8)
    text = plain(items)
    assert "Denial rate (claims) was 25.0 % in Jan 2025, above the target of 10.0 %." in text
    assert "First-pass yield was 50.0 % in Jan 2025, below the target of 85.0 %." in text
    assert "CO-289 was denied for the first time this month ($800.00)." in text
    assert "1 file held in quarantine" in text
    assert "A critical data-quality check failed" in text
    assert "past the deadline" not in text  # the one appeal item is due on 2025-05-15


def test_denials_with_meaning_action_and_handbook_links(page):
    den = section(page, 2)
    row = row_with(den, 'href="handbook/carc-289.html">CO-289</a>')
    assert ">$800.00</td>" in row and ">87.0 %</td>" in row
    assert "Appeal" in row or "appeal" in row  # CO-289's guidance: appealable, an action is shown
    row50 = row_with(den, 'href="handbook/carc-50.html">CO-50</a>')
    assert ">$120.00</td>" in row50 and ">13.0 %</td>" in row50
    assert "Initial denials came to $920.00 over the period" in den
    # PR adjustments (PR-1, PR-2, PR-3) are patient responsibility, never denials
    assert "PR-2" not in den and "PR-1" not in den


def test_absorbed_crossover_and_appeals(page):
    absorbed = section(page, 3)
    total = row_with(absorbed, ">All payers</td>")
    # January: CO-45 150 + 10 contractual, CO-50 120 + CO-289 800 denied
    assert ">$160.00</td>" in total and ">$920.00</td>" in total and ">$1,080.00</td>" in total
    cross = section(page, 4)
    assert "Crossover adjustments came to $1,150.00 on 2 claims" in cross
    # OA-290: the dental plan forwarded the claim itself; only CO-289's 800 is left to bill
    assert "forwarded $350.00 of it" in cross and "$800.00 is at stake" in cross
    assert "Of 2 dental lines remitted, 0 (0.0 %) were remitted by medical plans" in cross
    assert 'href="handbook/carc-290.html">290</a>' in cross
    appeals = section(page, 5)
    # the worklist's own open items, never "all denied dollars can be appealed"
    assert "Appeal: 1 open item on 1 remit, worth $120.00 at stake" in appeals
    assert "can be appealed" not in page
    first = row_with(appeals, "ICN-C1")
    assert ">$120.00</td>" in first and "Acme Medical" in first
    assert "ICN-D1" not in appeals  # CO-289's guidance is review and decide: on no worklist
    assert "Correct and resubmit: no open item." in appeals


def test_no_patient_identifiers(built, page):
    con = duckdb.connect(str(built.warehouse), read_only=True)
    try:
        keys = [r[0] for r in con.execute("SELECT DISTINCT patient_key FROM marts.claim_outcomes").fetchall()]
    finally:
        con.close()
    assert keys and not any(k in page for k in keys if k)
    # patient control numbers (CLP01) of the fixture files
    assert "PCN-" not in page


def test_unanswered_claims_section_without_837s(page):
    # the fixture warehouse holds 835s only: the section says so instead of printing zeros
    text = plain(section(page, 6))
    assert "No 837s loaded" in text
    assert "Denial rate, submitted basis" not in text


def test_data_quality_section(page):
    dq = section(page, 7)
    assert "check-new" in dq and "check-old" not in dq  # the night's checks: the latest run only
    assert "1 of 2 passed; 1 failed (1 critical): claims_balance (3 rows)" in dq
    failed = row_with(dq, ">claims_balance</td>")
    assert ">critical</td>" in failed and ">3</td>" in failed and ">8</td>" in failed
    assert "carc_codes_known" not in dq  # passing checks are counted per suite, not listed
    assert '><td>batch</td><td class="num">1</td><td class="num">1</td><td class="num">0</td>' in dq
    assert "garbled-remit.835" in dq  # quarantined file, with the parser's reason
    assert "1777777777" in dq  # payer missing from payers.csv


def test_payer_filter_and_period(built, tmp_path, monkeypatch):
    # a broken "python3" kernelspec in the user's Jupyter path must not matter: the report brings its own
    bogus = tmp_path / "jupyter" / "kernels"
    for name in ("python3", "remit-python"):
        (bogus / name).mkdir(parents=True)
        spec = {"argv": ["/nonexistent/python", "-f", "{connection_file}"], "language": "python"}
        (bogus / name / "kernel.json").write_text(json.dumps({**spec, "display_name": "broken"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    path = render_report(built, payer="DENTPAY1")
    # Bright Dental's last payment month is January; a payer's report has its own file
    assert path == built.reports / "remit-report-2025-01-DENTPAY1.html"
    html = path.read_text(encoding="utf-8")
    assert "Bright Dental" in html and "CO-289" in html
    assert "carc-50.html" not in html and "Acme Medical" not in html
    with pytest.raises(ReportError):
        render_report(built, period="2025-1")
    with pytest.raises(ReportError, match="2030-01 is after the latest payment in the warehouse"):
        render_report(built, period="2030-01")  # a period beyond the data: no empty page
    with pytest.raises(ReportError, match="2025-03 is after the latest payment in the warehouse"):
        render_report(built, period="2025-03")  # not a closed month with no data: not yet a month at all
    with pytest.raises(ReportError, match="no payment between 2023-02 and 2024-01"):
        render_report(built, period="2024-01")  # twelve months before the data start
    # bound as a parameter: matches no payer, never alters the SQL; the message names the payers there are
    with pytest.raises(ReportError, match=r"no payments for payer x' OR 1=1 --: .*\(its payers: .*DENTPAY1"):
        render_report(built, payer="x' OR 1=1 --")


def test_cli_report_and_missing_warehouse(built, tmp_path, capsys):
    assert main(["--home", str(built.root), "report", "--period", "2025-01"]) == 0
    out = capsys.readouterr().out
    path = report_path(built, "2025-01")
    assert str(path) in out and path.exists()
    # January against December 2024 (no payments): nothing to compare, and it says so
    assert "no remittance in Dec 2024 to compare" in path.read_text(encoding="utf-8")
    empty = Home(tmp_path / "empty").ensure()
    assert main(["--home", str(empty.root), "report"]) == 1
    assert "remit build" in capsys.readouterr().err


def test_explore_notebook_runs(built):
    from pipeline.reports.render import execute, notebook_path

    nb = execute(notebook_path("explore"), {"warehouse": str(built.warehouse)})
    text = "\n".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "payment months 2025-01 to 2025-02" in text
    assert "CO-289" in text and "        $800.00" in text  # pipeline.present.format.money, right-aligned
    assert "DuckDB and polars agree on every denial rate" in text


def test_a_kernel_started_ahead_runs_the_notebook_and_a_dead_one_is_replaced(built, caplog):
    """``remit run`` starts the report's kernel ahead (docs/nightly.md); the notebook runs on it, with the
    report's modules already imported. One that died meanwhile is replaced by a fresh kernel, with a
    warning, instead of failing the report."""
    import os
    import signal

    from pipeline.reports.render import PRELOAD, execute, notebook_path, started_kernel

    def modules_at_start(nb) -> str:
        return "".join(out.get("text", "") for out in nb.cells[-1].get("outputs", []))

    probe = built.root / "probe.py"  # which of the report's modules the kernel had imported itself
    probe.write_text(
        '# %% tags=["parameters"]\nx = 0\n# %%\nimport sys\n'
        f"print(sorted(m for m in {list(PRELOAD)!r} if m in sys.modules))\n"
        "from pipeline.present import charts\n"
        "print(charts._warm)\n",
        encoding="utf-8",
    )
    with started_kernel() as km:
        nb = execute(probe, {}, kernel=km)
        # and the charts' start-up is done: altair's and vl-convert's, before the first chart
        assert modules_at_start(nb).strip().splitlines() == [str(sorted(PRELOAD)), "True"]
        assert km.has_kernel  # the caller's kernel: still running until the caller is done
        os.kill(km.provisioner.pid, signal.SIGKILL)
        km.provisioner.process.wait()
        with caplog.at_level("WARNING", logger="remit.report"):
            nb = execute(notebook_path("explore"), {"warehouse": str(built.warehouse)}, kernel=km)
    assert "started ahead is gone" in caplog.text
    outputs = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("payment months 2025-01 to 2025-02" in text for text in outputs)
    assert not km.has_kernel


# a process that starts the report's kernel, prints its connection file and pid, and waits for its stdin
HOLD_A_KERNEL = """
import sys
from pipeline.reports.render import started_kernel
with started_kernel() as km:
    print(km.connection_file, km.provisioner.pid, flush=True)
    sys.stdin.read()
"""


def _gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its new parent counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def test_a_killed_runs_kernel_folder_is_removed_by_the_next_kernel(tmp_path, monkeypatch):
    """A run killed outright (SIGKILL: no clean-up runs) leaves its kernel's folder, sockets and connection
    file in one place, ``remit-kernel-<pid>-*``, and its kernel exits; the next kernel removes the folders
    of dead processes only: not a running process's, not one without a process id in its name, not a
    plain file."""
    import signal
    import subprocess
    import sys
    import tempfile

    import pipeline.reports.render as render

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the temporary directory of this process
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_KERNEL],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    connection, kernel = child.stdout.readline().split()
    connection = Path(connection)
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    deadline = time.monotonic() + 30  # the kernel exits once it sees its parent gone (ipykernel polls)
    while not _gone(int(kernel)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(int(kernel))
    folder = connection.parent
    assert folder.name.startswith(f"remit-kernel-{child.pid}-") and connection.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # nothing else left behind

    alive = tmp_path / f"remit-kernel-{os.getppid()}-abc"  # a running process's (pytest's parent)
    unnamed = tmp_path / "remit-kernel-x1y2z3"  # no process id in the name (an older remit's)
    plain = tmp_path / f"remit-kernel-{child.pid}-file"
    for keep in (alive, unnamed):
        keep.mkdir()
    plain.write_text("not a folder")
    with render.started_kernel() as km:
        mine = Path(km.connection_file).parent
        assert mine.name.startswith(f"remit-kernel-{os.getpid()}-")
        assert not folder.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            p.name for p in (alive, unnamed, plain, mine)
        )
    assert not mine.exists()


def test_chart_rules():
    from pipeline.present import charts

    # at most eight series; "Other" is grey; worse keeps its one colour; no other series is red or green
    with pytest.raises(ValueError, match="at most 8"):
        charts.colours([f"s{i}" for i in range(9)])
    got = charts.colours(["Denied", "A", "B", "Other payers"], {"Denied": charts.WORSE})
    assert got[0] == charts.WORSE and got[3] == charts.OTHER
    assert not {charts.WORSE, charts.BETTER} & set(charts.colours([f"s{i}" for i in range(7)]))
    # a month without data breaks the line: two pieces, not one line joined across the gap
    data = [
        {"month": m, "series": "Rate", "value": v}
        for m, v in (("Jan", 0.1), ("Feb", 0.2), ("Mar", None), ("Apr", 0.1), ("May", 0.3))
    ]
    svg = charts.svg(
        charts.line_chart(
            data, months=["Jan", "Feb", "Mar", "Apr", "May"], series=["Rate"], y_title="Rate (%)"
        )
    )
    line = re.search(r'aria-roledescription="line mark"[^>]*d="([^"]+)"', svg) or re.search(
        r'<path[^>]*d="([^"]+)"[^>]*aria-roledescription="line mark"', svg
    )
    assert line and line.group(1).count("M") == 2, svg[:400]
    # units on the axis, and the SVG scales down with its container
    assert "Rate (%)" in svg and 'width="100%"' in svg


def test_notebooks_ship_in_the_package():
    import pipeline
    from pipeline.reports.render import notebook_path

    package = Path(pipeline.__file__).resolve().parent
    for name in ("leadership_report", "explore"):
        assert notebook_path(name).resolve().is_relative_to(package / "reports" / "notebooks"), name
    with pytest.raises(FileNotFoundError, match="pipeline.reports.notebooks"):
        notebook_path("no_such_notebook")


def test_kpi_months_read_once_per_connection(built):
    """Five sections read the period's months: the view is asked once per connection and scope, and
    each caller gets rows of its own (issue 18)."""
    from pipeline.reports import figures as fx

    con = fx.connect(built.warehouse)
    try:
        scope = fx.Scope.make(con)
        first = fx.kpi_months(con, scope)
        assert [m["payment_month"] for m in first] == scope.months  # the period's 12 months, oldest first
        first[0]["payments"] = -1  # a caller changing its rows changes nobody else's
        queries = []
        real = fx.rows
        fx.rows = lambda *a, **k: queries.append(a) or real(*a, **k)
        try:
            again = fx.kpi_months(con, scope)
        finally:
            fx.rows = real
        assert queries == [] and again[0]["payments"] != -1 and again[1:] == first[1:]
    finally:
        con.close()


def _tags_and_text(html: str) -> tuple[list[tuple[str, list[tuple[str, str]]]], str]:
    """The page's elements (name and attributes) in order, and its text."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    tags = []
    for el in soup.find_all(True):
        attrs = {k: " ".join(x for x in v if x) if isinstance(v, list) else v for k, v in el.attrs.items()}
        tags.append((el.name, sorted(attrs.items())))
    return tags, soup.get_text()


def test_the_page_is_nbconverts_own_without_its_rewrite():
    # to_html skips HTMLExporter's last pass (the page parsed and written again with BeautifulSoup, for
    # <img> alt texts and cell tabindexes, neither of which the page has): the same elements and text
    import nbformat
    from nbconvert import HTMLExporter

    from pipeline.reports.render import TEMPLATE, TEMPLATES, to_html

    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"language_info": {"name": "python"}})
    nb.cells = [
        v4.new_markdown_cell("# Denials\n\nThe month's *top* codes, with a [link](handbook/carc-50.html)."),
        v4.new_code_cell(
            "show()",
            outputs=[
                v4.new_output(
                    "display_data",
                    data={
                        "text/html": '<figure class="chart">'
                        '<svg xmlns="http://www.w3.org/2000/svg" width="100%">'
                        '<g><rect x="0" y="0" width="10" height="5"/></g></svg>'
                        "<figcaption>CO-50 &amp; CO-97"
                        "</figcaption></figure><table><tr><th>CARC</th><td>120.00</td></tr></table>"
                    },
                ),
                v4.new_output("stream", name="stdout", text="3 payers\n"),
            ],
        ),
    ]
    reference = HTMLExporter(
        template_name=TEMPLATE,
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    titled = nbformat.from_dict({**nb, "metadata": {**nb.metadata, "title": "T"}})
    theirs, _ = reference.from_notebook_node(titled)
    ours = to_html(nb, "T")
    assert theirs != ours  # (written out again: attributes reordered, void tags closed)
    assert _tags_and_text(ours) == _tags_and_text(theirs)
    assert "CO-50 &amp; CO-97" in ours and "<rect" in ours and "3 payers" in ours
