"""The denial-code handbook (``remit code``, ``remit handbook``) on a warehouse with hand-worked figures.

The warehouse is built from the warehouse fixtures (tests/fixtures/warehouse/, read-only; see
tests/test_warehouse.py for their figures) plus two small 835s written below, so CARC 289 has enough
activity to rank payers, procedures and remarks. payers.csv: MEDPAY1 Acme Medical, DENTPAY1 Bright Dental.

CARC 289 (both dental and medical plan excluded the service) in the whole warehouse:

  month    payer          claim  CLP02  line       group-CARC  amount  remarks on the line / claim
  2024-01  Bright Dental  P1     4      AD:D2750   CO-289      999.00  -              (outside the window)
  2025-01  Bright Dental  D1     4      AD:D2740   CO-289      800.00  N10 (line)     (fixture)
  2025-03  Bright Dental  K1     4      AD:D7210   CO-289      500.00  N10 (line)
  2025-03  Bright Dental  L1     1      AD:D9230   CO-289      200.00  -     (its other line D0140: CO-45 20)
  2025-03  Bright Dental  M1     1      AD:D2740   PR-289      150.00  N130 (line)
  2025-03  Acme Medical   N1     4      HC:21110   CO-289      400.00  N10 (line), MA01 (claim, MOA)

Q1 (Acme Medical, 2025-03) carries CO-777, a CARC no list knows: 1 adjustment, $10.00 on HC:99211.
R1 (Acme Medical, 2025-03) carries CARC 59 under two group codes, CO-59 15.00 on one line and PI-59 15.00 on
the other: 2 adjustments on 1 claim in all groups (the claim counts once), 1 on 1 claim in each group.

The latest payment month is 2025-03, so the 12-month window is 2024-04 .. 2025-03 and P1 is left out.

CO-289 in the window: 4 adjustments on 4 claims, $1,900.00 (2025-01: 1, $800.00; 2025-03: 3, $1,100.00).
  Payers: Bright Dental 3, $1,500.00 (1500/1900 = 78.9 %); Acme Medical 1, $400.00 (21.1 %).
  Procedures: AD:D2740 $800, AD:D7210 $500, HC:21110 $400, AD:D9230 $200.
  Remarks: N10 with 3 of 4 adjustments (75.0 %); MA01 with 1 (25.0 %: N1's claim-level remark goes with its
  line adjustment); no remark 1 (L1, 25.0 %). Shares add up to more than 100 %: N1 has two remarks.
  Trend: 4 in the last three months (2025-01..03), none in the three before: "new".
  All months: 5 adjustments, $2,899.00.
  Open items: none. CO-289's guidance action is "review and decide", so its denials are on no worklist
  (the worklists hold open denials whose action is appeal, correct and resubmit, or bill the other plan);
  P1 (2024-01) is written off anyway (more than 180 days before the as-of date 2025-03-14); M1 is PR.
CO-50: C1's line (fixture, Acme Medical, paid 2025-01-15), 120.00, action appeal: open on the appeal worklist,
  age 2025-03-14 - 2025-01-15 = 58 days, deadline 2025-01-15 + 120 days (the default) = 2025-05-15, 62 days
  left.
289, all groups, in the window: 5 adjustments on 5 claims, $2,050.00; CO 4 ($1,900.00, 92.7 %), PR 1
  ($150.00, 7.3 %).
N10: sent 3 times in the window (D1, K1, N1 lines), CO/OA/PI dollars 800 + 500 + 400 = $1,700.00, all with
  CO-289 (3 adjustments, 100.0 %).
"""

from __future__ import annotations

import csv
import html
import os
import re
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.handbook import UnknownCodeError, lookup, parse_code, render_handbook
from pipeline.home import Home

REPO = Path(__file__).resolve().parent.parent
WAREHOUSE_FIXTURES = REPO / "tests" / "fixtures" / "warehouse"
FIXTURE_FILES = ("2025-01-remit.835", "2025-02-remit.835")


def interchange(control: str, date: str, transactions: list[list[str]]) -> str:
    """An 835 interchange around ``transactions`` (segments without ST/SE), with correct counts."""
    segs = [
        f"ISA*00*          *00*          *ZZ*SENDERID       *ZZ*RECEIVERID     *{date[2:]}*1200*^*00501*"
        f"{control}*0*P*:",
        f"GS*HP*SENDERID*RECEIVERID*{date}*1200*{int(control)}*X*005010X221A1",
    ]
    for n, body in enumerate(transactions, start=1):
        st = f"{n:04d}"
        segs += [f"ST*835*{st}", *body, f"SE*{len(body) + 2}*{st}"]
    segs += [f"GE*{len(transactions)}*{int(control)}", f"IEA*1*{control}"]
    return "~\n".join(segs) + "~\n"


def payment(kind: str, amount: str, date: str, trace: str, payer: str, payer_id: str) -> list[str]:
    bpr = (
        f"BPR*I*{amount}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*{date}"
        if kind == "I"
        else f"BPR*H*0*C*NON************{date}"
    )
    return [
        bpr,
        f"TRN*1*{trace}*1512345678",
        f"N1*PR*{payer}",
        f"REF*2U*{payer_id}",
        "N1*PE*SMILE CLINIC*XX*1234567893",
        "LX*1",
    ]


def claim(pcn: str, status: str, charge: str, paid: str, pr: str, filing: str, patient: str) -> list[str]:
    return [
        f"CLP*{pcn}*{status}*{charge}*{paid}*{pr}*{filing}*ICN-{pcn[4:]}*11*1",
        f"NM1*QC*1*DOE*{patient}****MI*MEM{pcn[4:]}",
    ]


def line(proc: str, charge: str, paid: str, date: str, *cas_and_lq: str) -> list[str]:
    return [f"SVC*{proc}*{charge}*{paid}**1", f"DTM*472*{date}", *cas_and_lq]


FILE_2024 = interchange(
    "000000201",
    "20240120",
    [
        payment("H", "0", "20240120", "TRACE-HB0", "BRIGHT DENTAL", "DENTPAY1")
        + claim("PCN-P1", "4", "999", "0", "0", "17", "PAT")
        + line("AD:D2750", "999", "0", "20240105", "CAS*CO*289*999")
    ],
)

FILE_2025_03 = interchange(
    "000000202",
    "20250314",
    [
        payment("I", "80", "20250312", "TRACE-HB1", "BRIGHT DENTAL", "DENTPAY1")
        + claim("PCN-K1", "4", "500", "0", "0", "17", "KIM")
        + line("AD:D7210", "500", "0", "20250301", "CAS*CO*289*500", "LQ*HE*N10")
        + claim("PCN-L1", "1", "300", "80", "0", "17", "LEE")
        + line("AD:D0140", "100", "80", "20250302", "CAS*CO*45*20")
        + line("AD:D9230", "200", "0", "20250302", "CAS*CO*289*200")
        + claim("PCN-M1", "1", "150", "0", "150", "17", "MAY")
        + line("AD:D2740", "150", "0", "20250303", "CAS*PR*289*150", "LQ*HE*N130"),
        payment("I", "110", "20250314", "TRACE-HB2", "ACME MEDICAL", "MEDPAY1")
        + claim("PCN-N1", "4", "400", "0", "0", "12", "NED")
        + ["MOA***MA01"]
        + line("HC:21110", "400", "0", "20250304", "CAS*CO*289*400", "LQ*HE*N10")
        + claim("PCN-Q1", "1", "50", "40", "0", "12", "QUY")
        + line("HC:99211", "50", "40", "20250305", "CAS*CO*777*10")
        + claim("PCN-R1", "1", "100", "70", "0", "12", "RAY")
        + line("HC:99212", "60", "45", "20250306", "CAS*CO*59*15")
        + line("HC:99213", "40", "25", "20250306", "CAS*PI*59*15"),
    ],
)


def settle(path: Path) -> None:
    """Give a staged file an old mtime so ingest takes it at once."""
    old = time.time() - 3600
    os.utime(path, (old, old))


def make_hb_home(root: Path) -> Home:
    """A home at ``root`` with the fixture warehouse built (ingest + build, one worker); the other
    handbook test modules build theirs with it too."""
    from pipeline.lake import ingest
    from pipeline.warehouse import build

    home = Home(root).ensure()
    shutil.copy(WAREHOUSE_FIXTURES / "payers.csv", home.root / "payers.csv")
    for name in FIXTURE_FILES:
        shutil.copy(WAREHOUSE_FIXTURES / name, home.inbox / name)
    (home.inbox / "2024-01-handbook.835").write_text(FILE_2024)
    (home.inbox / "2025-03-handbook.835").write_text(FILE_2025_03)
    for path in home.inbox.iterdir():
        settle(path)
    result = ingest(home, workers=1)
    assert not result.rejected, result.rejected
    build(home)
    return home


@pytest.fixture(scope="module")
def hb_home(tmp_path_factory) -> Home:
    """A home with the fixture warehouse built."""
    return make_hb_home(tmp_path_factory.mktemp("hb") / "home")


@pytest.fixture(scope="module", autouse=True)
def _no_playbooks(tmp_path_factory):
    """The entries here show carc.csv's one-sentence causes and steps: no playbook files, whatever the
    seeds ship (``test_handbook_playbook.py`` tests the playbooks)."""
    from pipeline.handbook import playbook

    empty = tmp_path_factory.mktemp("no-playbooks")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(playbook, "playbook_dir", lambda: empty)
        yield


@pytest.fixture(autouse=True)
def _columns(monkeypatch):
    """``remit code`` fits the terminal: pin its width so the tests do not depend on the terminal running
    them (``test_handbook_terminal.py`` varies it)."""
    monkeypatch.setenv("COLUMNS", "80")


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def row(text: str, *cells: str) -> bool:
    """True when some line of ``text`` holds exactly ``cells`` in order, separated by runs of spaces."""
    pattern = re.compile(r"^\s*" + r"\s+".join(re.escape(c) for c in cells) + r"\s*$")
    return any(pattern.match(ln) for ln in text.splitlines())


# ------------------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("query", "group", "code"),
    [
        ("CO-289", "CO", "289"),
        ("co-289", "CO", "289"),
        ("CO289", "CO", "289"),
        ("co 289", "CO", "289"),
        ("289", None, "289"),
        ("045", None, "45"),
        ("PR-1", "PR", "1"),
        ("pi-b15", "PI", "B15"),
        ("n10", None, "N10"),
        ("MA130", None, "MA130"),
        (" oa-23 ", "OA", "23"),
    ],
)
def test_parse_code(query, group, code):
    parsed = parse_code(query)
    assert (parsed.group_code, parsed.code) == (group, code)


# ---------------------------------------------------------------------------------------- remit code


def test_code_co289_figures(hb_home, capsys):
    rc, out, _ = run_cli(capsys, "--home", str(hb_home.root), "code", "CO-289")
    assert rc == 0
    # reference part: what a billing lead needs for CO-289
    assert out.startswith("CO-289  (CARC 289, current)")
    assert "Both the dental and the medical plan reviewed the services and neither pays." in out
    co = out.split("  CO Contractual obligation  <- this remittance", 1)[1].split("  PR ", 1)[0]
    assert "who pays: provider; bill the patient: no; appealable: yes" in co
    flat = " ".join(out.split())
    for phrase in (
        "Confirm the exclusion in the contract",
        "check whether other procedure or diagnosis coding moves it into a covered benefit",
        "appeal each plan's reason separately with documentation where coverage is plausible",
        "otherwise write off",
    ):
        assert phrase in flat
    # warehouse part: hand-worked figures (module docstring)
    assert "This organisation (CO only; last 12 payment months 2024-04 to 2025-03)" in out
    assert "4 adjustments on 4 claims, $1,900.00; trend: new" in out
    assert "all months in the warehouse: 5 adjustments, $2,899.00" in out
    # bars measure dollars, like the web page's: 20 * 800 / 1,100 = 14.5 -> 15; the peak month 20
    assert "By month (bar: dollars):" in out
    assert row(out, "2025-01", "1", "$800.00", "#" * 15)
    assert row(out, "2025-03", "3", "$1,100.00", "#" * 20)
    assert row(out, "2024-12", "0", "$0.00")
    assert row(out, "Bright Dental", "DENTPAY1", "3", "$1,500.00", "78.9 %")
    assert row(out, "Acme Medical", "MEDPAY1", "1", "$400.00", "21.1 %")
    for proc, dollars, share in (
        ("AD:D2740", "$800.00", "42.1 %"),
        ("AD:D7210", "$500.00", "26.3 %"),
        ("HC:21110", "$400.00", "21.1 %"),
        ("AD:D9230", "$200.00", "10.5 %"),
    ):
        assert row(out, proc, "1", dollars, share)
    remarks = out.split("Remark codes seen with it here", 1)[1].split("Largest open items", 1)[0]
    assert re.search(r"^\s+N10\s+3\s+75\.0 %\s+Adjusted based on findings", remarks, re.M)
    assert re.search(r"^\s+MA01\s+1\s+25\.0 %\s", remarks, re.M)
    assert re.search(r"^\s+\(no remark\)\s+1\s+25\.0 %\s*$", remarks, re.M)
    assert "N130" not in remarks  # N130 came with PR-289, not CO-289
    items = out.split("Largest open items", 1)[1]
    # CO-289 is "review and decide": on no worklist (open items are open denials of the worklists only)
    assert "0 items, $0.00" in items.splitlines()[0]
    assert items.splitlines()[1].strip() == "none"


def test_code_open_items_are_open_worklist_denials(hb_home, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for the eleven columns on one line
    rc, out, _ = run_cli(capsys, "--home", str(hb_home.root), "code", "CO-50")
    assert rc == 0
    items = out.split("Largest open items", 1)[1]
    assert "1 item, $120.00" in items.splitlines()[0]
    assert re.search(
        r"^\s+appeal\s+2025-01-15\s+Acme Medical\s+ICN-C1\s+\S+\s+CO-50\s+\$120\.00\s+58\s+62\s+appeal",
        items,
        re.M,
    ), items
    # at 80 columns each item is a block of "header: value" pairs
    monkeypatch.setenv("COLUMNS", "80")
    rc, out, _ = run_cli(capsys, "--home", str(hb_home.root), "code", "CO-50")
    items = out.split("Largest open items", 1)[1].splitlines()
    assert items[1] == "    appeal"
    block = " ".join(items[2:])
    for pair in ("first denied: 2025-01-15", "payer: Acme Medical", "claim (CLP07): ICN-C1", "code: CO-50"):
        assert pair in block
    for pair in ("at stake: $120.00", "age: 58", "days left: 62", "action: appeal", "remarks: N115"):
        assert pair in block


@pytest.mark.parametrize("spelling", ["co-289", "CO289", "co289", "Co 289"])
def test_code_spellings_give_the_same_entry(hb_home, capsys, spelling):
    _, expected, _ = run_cli(capsys, "--home", str(hb_home.root), "code", "CO-289")
    rc, out, _ = run_cli(capsys, "--home", str(hb_home.root), "code", spelling)
    assert rc == 0
    assert out == expected


def test_code_without_group_splits_by_group(hb_home, capsys):
    rc, out, _ = run_cli(capsys, "--home", str(hb_home.root), "code", "289")
    assert rc == 0
    assert out.startswith("289  (CARC 289, current)")
    assert "This organisation (all group codes; last 12 payment months 2024-04 to 2025-03)" in out
    assert "5 adjustments on 5 claims, $2,050.00" in out
    assert row(out, "CO", "4", "4", "$1,900.00", "92.7 %")
    assert row(out, "PR", "1", "1", "$150.00", "7.3 %")
    assert row(out, "Bright Dental", "DENTPAY1", "4", "$1,650.00", "80.5 %")
    remarks = out.split("Remark codes seen with it here", 1)[1].split("Largest open items", 1)[0]
    assert re.search(r"^\s+N10\s+3\s+60\.0 %", remarks, re.M)  # 3 of 5
    assert re.search(r"^\s+N130\s+1\s+20\.0 %", remarks, re.M)


def test_code_counts_a_claim_once_across_group_codes(hb_home, capsys):
    """R1 carries CARC 59 under CO and PI: one claim in each group's row and one, not two, in all groups
    (the all-groups count comes from marts.handbook_carc_claims_month, not from the groups' sum)."""
    rc, out, _ = run_cli(capsys, "--home", str(hb_home.root), "code", "59")
    assert rc == 0
    assert "2 adjustments on 1 claim, $30.00" in out
    assert row(out, "CO", "1", "1", "$15.00", "50.0 %")
    assert row(out, "PI", "1", "1", "$15.00", "50.0 %")
    rc, out, _ = run_cli(capsys, "--home", str(hb_home.root), "code", "PI-59")
    assert rc == 0
    assert "1 adjustment on 1 claim, $15.00" in out


def test_code_rarc(hb_home, capsys):
    rc, out, _ = run_cli(capsys, "--home", str(hb_home.root), "code", "n10")
    assert rc == 0
    assert out.startswith("N10  (RARC N10, current")
    assert "3 times sent, $1,700.00 CO/OA/PI dollars on the items carrying it" in out
    assert row(out, "Bright Dental", "DENTPAY1", "2", "$1,300.00", "66.7 %")
    assert re.search(r"^\s+CO-289\s+3\s+\$1,700\.00\s+100\.0 %", out, re.M)


def test_code_unknown(hb_home, capsys):
    rc, out, err = run_cli(capsys, "--home", str(hb_home.root), "code", "XYZ")
    assert rc == 1
    assert out == ""
    assert "unknown code 'XYZ'" in err
    nearest = err.split("nearest codes:", 1)[1].split(",")
    assert [c.strip() for c in nearest] and all(c.strip() in {"Y1", "Y2", "Y3"} for c in nearest)
    rc, _, err = run_cli(capsys, "--home", str(hb_home.root), "code", "CO-2899")
    assert rc == 1
    assert "289" in [c.strip() for c in err.split("nearest codes:", 1)[1].split(",")]
    with pytest.raises(UnknownCodeError) as exc:
        lookup("N99999", hb_home)
    assert exc.value.suggestions and all(c.startswith("N") for c in exc.value.suggestions)
    rc, _, err = run_cli(capsys, "--home", str(hb_home.root), "code", "CO-N10")
    assert rc == 1 and "remark code" in err


def test_code_seen_but_not_in_the_lists(hb_home, capsys):
    rc, out, _ = run_cli(capsys, "--home", str(hb_home.root), "code", "CO-777")
    assert rc == 0
    assert out.startswith("CO-777  (CARC 777: not in the reference lists, but seen in the warehouse)")
    assert "1 adjustment on 1 claim, $10.00" in out
    assert row(out, "HC:99211", "1", "$10.00", "100.0 %")
    rc, _, err = run_cli(capsys, "--home", str(hb_home.root), "code", "778")
    assert rc == 1 and "unknown code '778'" in err


def test_code_without_warehouse(tmp_path, capsys):
    home = Home(tmp_path / "empty")
    rc, out, _ = run_cli(capsys, "--home", str(home.root), "code", "CO-289")
    assert rc == 0
    assert "Both the dental and the medical plan reviewed the services and neither pays." in out
    assert "Confirm the exclusion in the contract" in " ".join(out.split())
    assert f"This organisation: no warehouse at {home.warehouse}" in " ".join(out.split())
    assert "adjustments on" not in out
    assert not home.root.exists()  # a lookup writes nothing


# ------------------------------------------------------------------------------------ remit handbook


@pytest.fixture(scope="module")
def handbook(hb_home) -> Path:
    index = render_handbook(hb_home)
    assert index == hb_home.reports / "handbook" / "index.html"
    return index.parent


def test_handbook_index_lists_every_code(handbook):
    text = (handbook / "index.html").read_text()
    for name, kind in (("carc.csv", "carc"), ("rarc.csv", "rarc")):
        with (REPO / "reference" / name).open(newline="") as fh:
            codes = [r["code"] for r in csv.DictReader(fh)]
        assert len(codes) > 400
        for code in codes:
            assert f'id="{kind}-{code}"' in text, code
    assert '<tr id="carc-289" data-kind="CARC" data-code="289" data-seen="1">' in text
    assert 'href="carc-289.html"' in text
    assert "<script>" in text and "getElementById('q')" in text
    assert text.count('<table id="codes" class="figures">') == 1  # the table the search script filters


def current_pages() -> set[str]:
    """``carc-<code>.html`` / ``rarc-<code>.html`` for every code the seed CSVs mark current."""
    out = set()
    for name, kind in (("carc.csv", "carc"), ("rarc.csv", "rarc")):
        with (REPO / "reference" / name).open(newline="") as fh:
            out |= {f"{kind}-{r['code']}.html" for r in csv.DictReader(fh) if r["status"] == "current"}
    return out


def test_handbook_pages(handbook):
    pages = {p.name for p in handbook.glob("*.html")}
    crossover = {f"carc-{c}.html" for c in ("168", "254", "270", "280", "289", "290", "291", "292")}
    seen_carcs = {f"carc-{c}.html" for c in ("1", "2", "3", "42", "45", "50", "59", "289", "290", "777")}
    seen_rarcs = {f"rarc-{c}.html" for c in ("N10", "N115", "N130", "MA01")}
    # every current code has a page, seen or not; deactivated codes only when seen (or crossover)
    current = current_pages()
    assert len(current) > 1400  # 297 current CARCs and 1,137 current RARCs in the seeds
    assert pages == {"index.html"} | current | crossover | seen_carcs | seen_rarcs
    page = (handbook / "carc-289.html").read_text()
    plain = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert "appeal each plan's reason separately with documentation where coverage is plausible" in plain
    assert "Last 12 payment months in the warehouse, 2024-04 to 2025-03" in plain
    assert "All months: 6 adjustments, $3,049.00" in plain  # all groups, P1 included
    assert "5 adjustments $2,050.00 dollars 5 claims new" in plain
    assert (
        "CO Contractual obligation provider no yes review and decide none denial write-off 4 $1,900.00"
        in plain
    )
    assert "Bright Dental DENTPAY1 4 $1,650.00 80.5 %" in plain
    assert "Acme Medical MEDPAY1 1 $400.00 19.5 %" in plain
    assert "N10 3 60.0 %" in plain
    assert "0 open on the worklists" in plain and "ICN-D1" not in plain
    assert page.count('aria-roledescription="bar"') == 12  # one bar per month of the window
    assert "<svg" in page


def test_handbook_makes_no_external_requests(handbook):
    for path in handbook.glob("*.html"):
        text = path.read_text()
        assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", text, re.I), path.name
        assert "@import" not in text and "url(" not in text and "<link" not in text, path.name
        assert not re.search(r"<script[^>]+src", text, re.I), path.name
        # every link points at a file of the handbook (or an anchor of its index)
        for href in re.findall(r'href="([^"]+)"', text):
            target = href.split("#", 1)[0]
            assert (handbook / target).exists(), (path.name, href)


def test_handbook_page_of_a_code_never_seen(handbook):
    """A current code never sent here: the reference part and a note, no figures, no chart."""
    assert "carc-16.html" in current_pages()
    page = (handbook / "carc-16.html").read_text()
    plain = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert (
        "Never seen in this warehouse's remittances (the last 12 payment months are 2024-04 to 2025-03)"
        in plain
    )
    assert "<svg" not in page and "Top payers" not in plain and "open worklist items" not in plain
    assert "By group code" in plain and "Related codes" in plain
    # a deactivated code never seen here has a row in the index but no page
    with (REPO / "reference" / "carc.csv").open(newline="") as fh:
        gone = next(
            r["code"] for r in csv.DictReader(fh) if r["status"] == "deactivated" and r["code"] == "15"
        )
    assert not (handbook / f"carc-{gone}.html").exists()
    assert (
        '<tr id="carc-15" data-kind="CARC" data-code="15" data-seen="0"><td>15</td>'
        in (handbook / "index.html").read_text()
    )


def test_handbook_without_warehouse(tmp_path):
    home = Home(tmp_path / "nowh").ensure()
    index = render_handbook(home)
    names = {p.name for p in index.parent.glob("*.html")}
    # no warehouse: the index, a page per current code and the crossover codes (168 is deactivated),
    # the reference part only
    assert names == {"index.html", "carc-168.html"} | current_pages()
    assert "no warehouse at" in (index.parent / "carc-289.html").read_text()


# ------------------------------------------------------------------------------------------ the marts


def test_handbook_marts(hb_home):
    import duckdb

    con = duckdb.connect(str(hb_home.warehouse), read_only=True)
    try:
        # procedure split: the same dollars as denials_by_carc_month for every month, group and CARC
        diff = con.execute(
            """
            SELECT count(*) FROM (
                SELECT payment_month, group_code, reason_code, sum(dollars) AS d, sum(adjustment_count) AS n
                FROM marts.handbook_carc_procedure_month GROUP BY ALL
            ) p FULL JOIN (
                SELECT payment_month, group_code, reason_code, sum(dollars) AS d, sum(adjustment_count) AS n
                FROM marts.denials_by_carc_month GROUP BY ALL
            ) m USING (payment_month, group_code, reason_code)
            WHERE p.d IS DISTINCT FROM m.d OR p.n IS DISTINCT FROM m.n
            """
        ).fetchone()[0]
        assert diff == 0
        pairs = con.execute(
            "SELECT payment_month, payer_key, group_code, remark_code, adjustment_count, dollars "
            "FROM marts.handbook_carc_remark_month WHERE reason_code = '289' ORDER BY ALL"
        ).fetchall()
        assert pairs == [
            ("2024-01", "DENTPAY1", "CO", None, 1, Decimal("999.00")),
            ("2025-01", "DENTPAY1", "CO", "N10", 1, Decimal("800.00")),
            ("2025-03", "DENTPAY1", "CO", "N10", 1, Decimal("500.00")),
            ("2025-03", "DENTPAY1", "CO", None, 1, Decimal("200.00")),
            ("2025-03", "DENTPAY1", "PR", "N130", 1, Decimal("150.00")),
            ("2025-03", "MEDPAY1", "CO", "MA01", 1, Decimal("400.00")),
            ("2025-03", "MEDPAY1", "CO", "N10", 1, Decimal("400.00")),
        ]
        # claims per month, payer and CARC in any group code (module docstring: 289 and R1's 59)
        claims = con.execute(
            "SELECT payment_month, payer_key, reason_code, claims_affected "
            "FROM marts.handbook_carc_claims_month WHERE reason_code IN ('289', '59') ORDER BY ALL"
        ).fetchall()
        assert claims == [
            ("2024-01", "DENTPAY1", "289", 1),
            ("2025-01", "DENTPAY1", "289", 1),
            ("2025-03", "DENTPAY1", "289", 3),
            ("2025-03", "MEDPAY1", "289", 1),
            ("2025-03", "MEDPAY1", "59", 1),
        ]
        remarks = con.execute(
            "SELECT payment_month, payer_key, remark_code, level, procedure_code, remark_count, "
            "adjusted_dollars, non_pr_dollars FROM marts.handbook_remark_month ORDER BY ALL"
        ).fetchall()
        assert remarks == [
            ("2025-01", "DENTPAY1", "N10", "line", "D2740", 1, Decimal("800.00"), Decimal("800.00")),
            ("2025-01", "MEDPAY1", "N115", "line", "97140", 1, Decimal("120.00"), Decimal("120.00")),
            ("2025-03", "DENTPAY1", "N10", "line", "D7210", 1, Decimal("500.00"), Decimal("500.00")),
            ("2025-03", "DENTPAY1", "N130", "line", "D2740", 1, Decimal("150.00"), Decimal("0.00")),
            ("2025-03", "MEDPAY1", "MA01", "claim", None, 1, Decimal("400.00"), Decimal("400.00")),
            ("2025-03", "MEDPAY1", "N10", "line", "21110", 1, Decimal("400.00"), Decimal("400.00")),
        ]
    finally:
        con.close()


def test_figure_book_gives_each_codes_own_figures(hb_home):
    """The HTML handbook reads every code's figures with one query per view (FigureBook, issue 18): for
    every code seen in the fixture warehouse they equal what the per-code queries of ``remit code`` give,
    open items and pairings included."""
    import duckdb

    from pipeline.handbook.figures import (
        FigureBook,
        carc_figures,
        latest_month,
        rarc_figures,
        seen_codes,
        window_totals,
    )

    con = duckdb.connect(str(hb_home.warehouse), read_only=True)
    try:
        last = latest_month(con)
        carcs, rarcs = seen_codes(con)
        book = FigureBook(con)
        assert book.seen() == (carcs, rarcs) and book.totals() == window_totals(con)
        for code in carcs:
            assert book.carc(code) == carc_figures(con, code, None, last), code
        for code in rarcs:
            assert book.rarc(code) == rarc_figures(con, code, last), code
        # the fixture exercises every part: CO-50's open appeal item, 289's remark pairings and N10's CARCs
        assert [i.reason_code for i in book.carc("50").open_items] == ["50"]
        assert {p.key for p in book.carc("289").pairings} >= {"N10", "MA01"}
        assert {p.key for p in book.rarc("N10").pairings} == {"CO-289"}
        assert book.carc("289").by_group and book.rarc("N10").top_payers
    finally:
        con.close()


def test_handbook_pages_equal_with_per_code_figures(hb_home, tmp_path, monkeypatch):
    """Every page of the handbook is the same whether the figures come from FigureBook or per code."""
    import pipeline.handbook.html as hb_html
    from pipeline.handbook.entry import open_sources

    def pages() -> dict[str, str]:
        folder = render_handbook(hb_home).parent
        stamp = re.compile(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
        return {p.name: stamp.sub("", p.read_text(encoding="utf-8")) for p in folder.glob("*.html")}

    with_book = pages()
    monkeypatch.setattr(hb_html, "open_sources", lambda home, every_code: open_sources(home))
    per_code = pages()
    assert len(with_book) > 100 and with_book == per_code


def test_trend_charts_draw_each_months_dollars_and_count(hb_home):
    """Every seen code's trend (drawn directly as SVG, pipeline.present.charts.month_bars): one bar per
    month with dollars, its height in proportion to them, the claim count at its end, a month without
    data left a gap, and the axis at Vega's round values."""
    import re

    from pipeline.handbook.codes import ParsedCode
    from pipeline.handbook.entry import build_entry, open_sources
    from pipeline.handbook.html import trend_svg

    with open_sources(hb_home) as src:
        entries = [
            build_entry(ParsedCode(query=c, group_code=None, code=c), src, kind=k)
            for k, codes in (("CARC", src.seen_carcs), ("RARC", src.seen_rarcs))
            for c in sorted(codes)
        ]
    shown = [e for e in entries if e.figures.count]
    assert len(shown) >= 3
    for e in shown:
        svg = trend_svg(e.figures.months)
        bars = re.findall(
            r'aria-roledescription="bar" [^>]*? height="([\d.]+)" fill="#1f5f8b"><title>([^<]*)</title>',
            svg,
        )
        with_dollars = [m for m in e.figures.months if m.dollars is not None]
        assert len(bars) == len(with_dollars), e.code
        dollars = [abs(float(m.dollars)) for m in with_dollars]
        big = max(range(len(dollars)), key=dollars.__getitem__)
        for (height, tip), m, d in zip(bars, with_dollars, dollars, strict=True):
            sign = "\u2212" if m.dollars < 0 else ""
            count = f" ({m.count:,})" if m.count else ""
            assert tip == f"{m.month}: {sign}${abs(m.dollars):,.0f}{count}", (e.code, tip)
            # heights in proportion to the dollars (to the rounding of a hundredth of a pixel)
            expected = float(bars[big][0]) * d / dollars[big] if dollars[big] else 0.0  # all 0: flat
            assert abs(float(height) - expected) < 0.02, (e.code, m.month)
            if m.count:
                assert f'text-anchor="middle">{m.count:,}</text>' in svg, (e.code, m.month)
        assert svg.count('fill="#1f5f8b"') == len(with_dollars)  # a month without dollars: no bar


def test_the_trend_axis_takes_vegas_round_values():
    """The domain and grid values Vega gave the same charts (d3's nice and ticks), and the bars' heights."""
    import re

    from pipeline.present.charts import month_bars, nice_ticks

    assert nice_ticks(0, 87_000) == (0.0, 90_000.0, [0.0, 20_000.0, 40_000.0, 60_000.0, 80_000.0])
    assert nice_ticks(-1_234, 5_000) == (
        -1_500.0,
        5_000.0,
        [-1_000.0, 0.0, 1_000.0, 2_000.0, 3_000.0, 4_000.0, 5_000.0],
    )
    assert nice_ticks(0, 0) == (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    data = [
        {"month": "2025-01", "value": 45_000.0, "text": "12"},
        {"month": "2025-02", "value": None, "text": ""},
        {"month": "2025-03", "value": -9_000.0, "text": "3"},
    ]
    svg = month_bars(data, y_title="Dollars ($)")
    # domain -10,000 .. 45,000 (d3's nice: steps of 5,000) over 170 px: 0 at 139.09, 45,000 at the top,
    # -9,000 27.82 px below 0
    assert re.findall(r' y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill="#1f5f8b"', svg) == [
        ("0.0", "139.09"),
        ("139.09", "27.82"),
    ]
    assert ">\u2212$10,000<" in svg and ">$40,000<" in svg and ">$0<" in svg
    assert svg.count("<title>") == 2 and "2025-02: " not in svg  # the gap: no bar
    # the left margin holds the widest axis value (about 5.6 px a character) beside the axis title
    wide = month_bars([{"month": "2025-01", "value": 387_000_000.0, "text": "1"}], y_title="Dollars ($)")
    left = float(re.search(r'<g transform="translate\(([\d.]+),', wide).group(1))
    assert ">$400,000,000<" in wide and left - 6 - 5.6 * len("$400,000,000") >= 20
    assert ">12</text>" in svg and ">3</text>" in svg


def test_code_on_a_warehouse_built_before_the_handbook_marts(hb_home, tmp_path, capsys):
    """An old warehouse (no handbook marts yet): the reference part, and a note to rebuild."""
    from pipeline.warehouse import build

    sql = tmp_path / "sql"
    shutil.copytree(REPO / "sql", sql)
    for path in sql.glob("marts/handbook_*.sql"):
        path.unlink()
    home = Home(tmp_path / "old").ensure()
    shutil.copytree(hb_home.lake, home.lake, dirs_exist_ok=True)
    shutil.copy(hb_home.root / "payers.csv", home.root / "payers.csv")
    build(home, sql_dir=sql)
    rc, out, _ = run_cli(capsys, "--home", str(home.root), "code", "CO-289")
    assert rc == 0
    assert "Confirm the exclusion in the contract" in " ".join(out.split())
    assert "the warehouse lacks a handbook mart" in out and "run `remit build`" in out
    assert "adjustments on" not in out
