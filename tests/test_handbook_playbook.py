"""The playbook sections of a handbook entry (reference/carc_playbook.csv, reference/rarc_playbook.csv).

The playbooks here are small fixtures written below (not the shipped files), put in place of the seed
folder's, so the test does not depend on the shipped content. Their rows are deliberately out of rank
order: the entry must show them by rank.
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.handbook import PlaybookError, format_entry, load_playbooks, lookup, render_handbook
from pipeline.handbook import playbook as pb
from pipeline.home import Home
from pipeline.reference import seed_dir

CARC_PLAYBOOK = """code,section,rank,frequency,rarc,text
289,step,2,,,Compare each plan's exclusion with the procedure and diagnosis codes billed.
289,cause,2,common,,The medical plan reads the procedure as dental while the dental plan excludes it.
289,tldr,1,,,Neither plan pays; confirm both decisions before anything is written off.
289,cause,1,most common,,Jaw surgery sent to both plans without the diagnosis that makes it medical.
289,step,1,,,Put the two remittances side by side and note each plan's reason.
289,cause,3,occasional,,A plan changed its exclusion list during the benefit year.
289,step,3,,,Escalate to the payer's provider line when the two plans point at each other.
289,appeal,1,,,Appeal each plan on its own reason with the operative report and the diagnosis.
289,pairing,2,,N130,The payer points at the plan rules that exclude the service.
289,pairing,1,,N10,The payer says a review found the service excluded.
289,example,1,,,Joint surgery for a jaw disorder that the medical plan calls dental.
289,patient_impact,1,,,The patient may owe the amount only after both denials stand and were explained.
"""

RARC_PLAYBOOK = """code,section,rank,frequency,text
N10,step,1,,Ask the payer for the review's findings before deciding to appeal.
N10,cause,1,most common,A reviewer found the documentation did not support the billed service.
N10,cause,2,occasional,A peer review changed the level of the service.
"""


@pytest.fixture
def playbooks(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / pb.CARC_FILE).write_text(CARC_PLAYBOOK)
    (folder / pb.RARC_FILE).write_text(RARC_PLAYBOOK)
    monkeypatch.setattr(pb, "playbook_dir", lambda: folder)
    monkeypatch.setenv("COLUMNS", "80")
    return folder


@pytest.fixture
def no_playbooks(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "none"
    folder.mkdir()
    monkeypatch.setattr(pb, "playbook_dir", lambda: folder)
    monkeypatch.setenv("COLUMNS", "80")
    return folder


def section(text: str, title: str) -> list[str]:
    """The lines under ``title`` up to the next blank line."""
    return text.split(f"\n{title}\n", 1)[1].split("\n\n", 1)[0].splitlines()


def plain(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_carc_playbook_in_the_terminal(playbooks, tmp_path, capsys):
    rc = main(["--home", str(tmp_path / "home"), "code", "CO-289"])
    out = capsys.readouterr().out
    assert rc == 0
    assert (
        "\nFlags: denial, direction: both denied\n\n"
        "In short: Neither plan pays; confirm both decisions before anything is written\n  off.\n\n"
    ) in out
    assert section(out, "Common causes (how often each is the reason):") == [
        "  - most common: Jaw surgery sent to both plans without the diagnosis that makes",
        "    it medical.",
        "  - common: The medical plan reads the procedure as dental while the dental plan",
        "    excludes it.",
        "  - occasional: A plan changed its exclusion list during the benefit year.",
    ]
    assert section(out, "How to resolve:") == [
        "  1. Put the two remittances side by side and note each plan's reason.",
        "  2. Compare each plan's exclusion with the procedure and diagnosis codes",
        "     billed.",
        "  3. Escalate to the payer's provider line when the two plans point at each",
        "     other.",
    ]
    assert section(out, "Appeal guide:") == [
        "  - Appeal each plan on its own reason with the operative report and the",
        "    diagnosis.",
    ]
    pairs = section(out, "Remark codes that often come with it (and why):")
    assert pairs[0].startswith("  N10    ") and pairs[-1].startswith("         with it: The payer points")
    assert [ln[:8] for ln in pairs if not ln.startswith(" " * 9)] == ["  N10   ", "  N130  "]
    assert section(out, "Examples:") == [
        "  - Joint surgery for a jaw disorder that the medical plan calls dental."
    ]
    assert section(out, "Patient impact:")[0].startswith("  - The patient may owe the amount only after")
    # the playbook replaces carc.csv's one-sentence causes and steps and the typical-remarks list
    assert "Confirm the exclusion in the contract" not in " ".join(out.split())
    assert "Typical remark codes:" not in out and "Related codes:" in out
    # only the warehouse path of the no-warehouse note (one word longer than a line) may be wider
    assert [ln for ln in out.splitlines() if len(ln) > 80] == [f"  {tmp_path / 'home' / 'warehouse.duckdb'}"]


def test_rarc_playbook_in_the_terminal(playbooks, tmp_path):
    out = format_entry(lookup("N10", Home(tmp_path / "home")), width=80)
    assert section(out, "Common causes (how often each is the reason):") == [
        "  - most common: A reviewer found the documentation did not support the billed",
        "    service.",
        "  - occasional: A peer review changed the level of the service.",
    ]
    assert section(out, "How to fix:") == [
        "  1. Ask the payer for the review's findings before deciding to appeal."
    ]
    # the fixture's CARC 289 playbook pairs it with N10 (carc.csv names no CARC for N10)
    assert section(out, "Adjustment codes that typically carry it:")[0].startswith("  289    Both the dental")


def test_playbook_on_the_pages(playbooks, tmp_path):
    index = render_handbook(Home(tmp_path / "home").ensure())
    page = (index.parent / "carc-289.html").read_text()
    text = plain(page)
    assert "In short: Neither plan pays; confirm both decisions before anything is written off." in text
    causes = page.split('<h2 id="causes">', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'<span class="tag[^"]*">([^<]+)</span>', causes) == [
        "most common",
        "common",
        "occasional",
    ]
    steps = page.split('<h2 id="steps">How to resolve</h2><ol>', 1)[1].split("</ol>", 1)[0]
    assert re.findall(r"<li>([^<]+)</li>", steps) == [
        "Put the two remittances side by side and note each plan&#x27;s reason.",
        "Compare each plan&#x27;s exclusion with the procedure and diagnosis codes billed.",
        "Escalate to the payer&#x27;s provider line when the two plans point at each other.",
    ]
    assert '<h2 id="appeal">Appeal guide</h2>' in page and '<h2 id="examples">Examples</h2>' in page
    assert '<h2 id="patient-impact">Patient impact</h2>' in page
    pairings = page.split('<h2 id="pairings">', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<a href="([^"]+)">', pairings) == ["rarc-N10.html", "rarc-N130.html"]
    assert "The payer says a review found the service excluded." in plain(pairings)
    assert "Typical remark codes" not in text and "Confirm the exclusion in the contract" not in text
    rarc = plain((index.parent / "rarc-N10.html").read_text())
    assert "Common causes most common A reviewer found the documentation" in rarc
    assert "How to fix Ask the payer for the review's findings before deciding to appeal." in rarc
    # a code without playbook rows keeps carc.csv's causes and steps
    assert "Check the payer policy, appeal with records that meet it" in plain(
        (index.parent / "carc-50.html").read_text()
    )


def test_without_playbook_files_the_entry_shows_carc_csv(no_playbooks, tmp_path):
    books = load_playbooks()
    assert books.carc == {} and books.rarc == {}
    out = format_entry(lookup("CO-289", Home(tmp_path / "home")), width=80)
    flat = " ".join(out.split())
    assert "Confirm the exclusion in the contract" in flat and "In short:" not in out
    assert "Common causes:" in out and "Resolution steps:" in out and "Typical remark codes:" in out
    rarc = format_entry(lookup("N10", Home(tmp_path / "home")), width=80)
    assert "How to fix:" not in rarc and "Common causes" not in rarc


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("289,summary,1,,,text", "carc_playbook.csv line 2: section 'summary' is not one of tldr, cause"),
        ("289,cause,first,common,,text", "carc_playbook.csv line 2: rank 'first' is not a whole number"),
        ("289,cause,1,often,,text", "carc_playbook.csv line 2: frequency 'often' is allowed only on a cause"),
        (
            "289,step,1,common,,text",
            "carc_playbook.csv line 2: frequency 'common' is allowed only on a cause",
        ),
        ("289,pairing,1,,,text", "carc_playbook.csv line 2: a pairing names its remark code in column rarc"),
        ("289,step,1,,,", "carc_playbook.csv line 2: code and text must not be empty"),
    ],
)
def test_a_malformed_row_names_file_and_line(tmp_path, row, message):
    (tmp_path / pb.CARC_FILE).write_text("code,section,rank,frequency,rarc,text\n" + row + "\n")
    with pytest.raises(PlaybookError, match=re.escape(message)):
        load_playbooks(tmp_path)


def test_a_missing_column_is_refused(tmp_path):
    (tmp_path / pb.RARC_FILE).write_text("code,section,text\nN10,cause,x\n")
    with pytest.raises(PlaybookError, match=r"rarc_playbook.csv: header lacks column\(s\) rank, frequency"):
        load_playbooks(tmp_path)


def test_shipped_playbooks_name_known_codes():
    """Whatever playbooks the seeds ship: they load, and every code and paired remark is in the lists."""
    books = load_playbooks(seed_dir())
    lists = {}
    for name in ("carc", "rarc"):
        with (seed_dir() / f"{name}.csv").open(newline="") as fh:
            lists[name] = {r["code"] for r in csv.DictReader(fh)}
    assert set(books.carc) <= lists["carc"], set(books.carc) - lists["carc"]
    assert set(books.rarc) <= lists["rarc"], set(books.rarc) - lists["rarc"]
    paired = {p.rarc for b in books.carc.values() for p in b.pairings}
    assert paired <= lists["rarc"], paired - lists["rarc"]
