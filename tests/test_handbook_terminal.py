"""``remit code`` in a terminal: the width it fits (COLUMNS or the tty, at least 80), wrapping by words,
tables that wrap or turn into blocks, and the pager on a TTY.

The warehouse is the one of tests/test_handbook.py (its docstring has the figures). The entries use the
playbooks the seeds ship, if any, so the width checks cover their text too.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_handbook import REPO, make_hb_home, run_cli  # noqa: E402

from pipeline.handbook import format_entry, lookup  # noqa: E402
from pipeline.handbook import playbook as pb  # noqa: E402
from pipeline.handbook import terminal as term  # noqa: E402
from pipeline.home import Home  # noqa: E402


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    return make_hb_home(tmp_path_factory.mktemp("hbt") / "home")


def code_output(capsys, monkeypatch, home: Home, code: str, columns: int) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    rc, out, err = run_cli(capsys, "--home", str(home.root), "code", code)
    assert rc == 0, err
    return out


def split_words(narrow: str, wide: str) -> set[str]:
    """Tokens of ``narrow`` that ``wide`` (the same entry with room for every line) does not have: a word
    cut in two shows up as its two halves. A table printed as blocks adds ``header:`` labels and ``;``
    separators, so those are compared without their trailing punctuation."""
    known = {t.rstrip(":;") for t in wide.split()}
    return {t for t in narrow.split() if t.rstrip(":;") not in known and not set(t) <= {"#"}}


# ------------------------------------------------------------------------------------ the entry


@pytest.mark.parametrize("code", ["CO-16", "CO-289", "289", "CO-50", "N10"])
def test_code_fits_80_columns_without_splitting_words(home, capsys, monkeypatch, code):
    narrow = code_output(capsys, monkeypatch, home, code, 80)
    wide = code_output(capsys, monkeypatch, home, code, 1000)
    too_wide = [ln for ln in narrow.splitlines() if len(ln) > 80]
    assert not too_wide, too_wide
    assert not split_words(narrow, wide)
    # the same words in the same order, only the line breaks and table layout differ
    assert max(len(ln) for ln in wide.splitlines()) > 80  # else the test would prove nothing


def test_the_word_check_catches_a_split_word():
    wide = "Confirm the exclusion in the contract\n"
    assert split_words("Confirm the exclu\nsion in the contract\n", wide) == {"exclu", "sion"}
    assert not split_words("Confirm the\nexclusion in the contract\n", wide)


def test_code_uses_the_terminal_width(home, capsys, monkeypatch):
    at_120 = code_output(capsys, monkeypatch, home, "CO-289", 120)
    lengths = [len(ln) for ln in at_120.splitlines()]
    assert max(lengths) <= 120 and max(lengths) > 80
    # narrower than 80: still 80 (the floor), not 50
    at_50 = code_output(capsys, monkeypatch, home, "CO-289", 50)
    assert at_50 == code_output(capsys, monkeypatch, home, "CO-289", 80)


def test_long_text_wraps_under_its_indent(home, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(pb, "playbook_dir", lambda: tmp_path)  # carc.csv's sentence, not a playbook's
    out = code_output(capsys, monkeypatch, home, "CO-50", 80)
    # carc.csv's resolution step for 50, 115 characters, wrapped at word boundaries under two spaces
    steps = out.split("Resolution steps:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert steps == [
        "  Check the payer policy, appeal with records that meet it; bill the patient",
        "  only with a valid advance notice (PR).",
    ]


# ----------------------------------------------------------------------------------- the tables


def test_table_that_fits_is_one_line_a_row():
    lines = term.fit_table(["payer", "dollars"], [["Acme Medical", "$1.00"]], {1}, 80)
    assert lines == ["    payer         dollars", "    Acme Medical    $1.00"]


def test_table_too_wide_wraps_its_text_column_by_words():
    meaning = "Adjusted based on findings of a review organisation that looked at the claim"
    lines = term.fit_table(["remark", "share", "meaning"], [["N10", "75.0%", meaning]], {1}, 60)
    # 4 indent + 6 + 2 + 5 + 2 = 19 columns before the meaning, so it wraps at 41
    assert lines == [
        "    remark  share  meaning",
        "    N10     75.0%  Adjusted based on findings of a review",
        "                   organisation that looked at the claim",
    ]
    assert all(len(ln) <= 60 for ln in lines)


def test_table_too_wide_for_wrapping_becomes_blocks():
    headers = ["worklist", "payer", "claim (CLP07)", "at stake", "days left"]
    rows = [["appeal", "Acme Medical", "ICN-LONG-CLAIM-NUMBER-000123", "$120.00", "62"]]
    lines = term.fit_table(headers, rows, {3, 4}, 50)
    assert lines == [
        "    appeal",
        "      payer: Acme Medical",
        "      claim (CLP07): ICN-LONG-CLAIM-NUMBER-000123",
        "      at stake: $120.00; days left: 62",
    ]


def test_wrap_never_breaks_a_word_or_at_a_hyphen():
    lines = term.wrap("provider absorbs it (denial write-off) unconditionally", 30, "  ")
    assert lines == ["  provider absorbs it (denial", "  write-off) unconditionally"]
    # a single word longer than the line stays whole
    assert term.wrap("ICN-0123456789012345678901234567890", 20, "") == ["ICN-0123456789012345678901234567890"]


# ------------------------------------------------------------------------------------ the pager


class FakeTTY:
    def __init__(self, tty: bool):
        self.tty, self.written = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> None:
        self.written += text

    def flush(self) -> None:
        pass


def test_pager_only_on_a_terminal_and_only_when_longer_than_the_screen(tmp_path, monkeypatch):
    got = tmp_path / "paged.txt"
    monkeypatch.setenv("PAGER", f"sh -c 'cat > {got}'")
    monkeypatch.setenv("LINES", "10")
    long, short = "".join(f"line {n}\n" for n in range(30)), "one\ntwo\n"
    out = FakeTTY(tty=True)
    term.page(long, out)
    assert got.read_text() == long and out.written == ""
    got.unlink()
    for text, tty in ((short, True), (long, False)):
        out = FakeTTY(tty=tty)
        term.page(text, out)
        assert out.written == text and not got.exists()


def test_default_pager_is_less_r(monkeypatch):
    seen = []

    class Proc:
        def __init__(self, command, **kwargs):
            seen.append(command)
            self.stdin = open(os.devnull, "w")  # noqa: SIM115 - closed by page()

        def wait(self):
            return 0

    monkeypatch.delenv("PAGER", raising=False)
    monkeypatch.setenv("LINES", "5")
    monkeypatch.setattr(term.subprocess, "Popen", Proc)
    term.page("x\n" * 20, FakeTTY(tty=True))
    assert seen == [["less", "-R"]]


def test_remit_code_on_a_real_terminal_goes_through_the_pager(home, tmp_path):
    """``remit code`` with stdout on a pseudo-terminal of 80 x 20: the whole entry reaches $PAGER;
    with stdout on a pipe it is printed and the pager is not started."""
    got = tmp_path / "paged.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PAGER"] = f"sh -c 'cat > {got}'"
    command = [sys.executable, "-m", "pipeline.cli", "--home", str(home.root), "code", "CO-289"]
    main_fd, tty_fd = pty.openpty()
    fcntl.ioctl(tty_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 20, 80, 0, 0))
    try:
        proc = subprocess.run(command, stdout=tty_fd, stderr=subprocess.PIPE, env=env, cwd=REPO, timeout=120)
    finally:
        os.close(tty_fd)
        os.close(main_fd)
    assert proc.returncode == 0, proc.stderr
    expected = format_entry(lookup("CO-289", home), width=80)
    assert got.read_text() == expected
    assert expected.count("\n") > 20
    got.unlink()
    piped = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert piped.returncode == 0 and piped.stdout == expected and not got.exists()
