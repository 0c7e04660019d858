"""Hardening of the parser's contract (issue 16): what a real night's bad files must not do.

- one unbalanced claim (or transaction, or unknown claim status) is loaded and flagged as a warning
  naming it, never a reason to quarantine its whole file (item 4);
- no error message quotes a patient's name, member id or birth date, however broken the file (item 9);
- every error message is one line: control characters are escaped (item 13);
- ``remit ingest --engine spark`` works from the installed script with a bare PATH (item 16);
- trials of odd input (BOM + UTF-16, huge segments and elements, NUL bytes, odd ISA widths, Latin-1
  names, letters as delimiters): each ends in tables or one clear ``X12ParseError``.

Fixtures are hand-built here; expected values are worked out by hand in the comments.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.x12 import X12ParseError, parse_835
from pipeline.x12.errors import Problem, escape_controls, shown_value

REPO = Path(__file__).resolve().parent.parent


# -- a small file whose patient segments carry names, member ids and birth dates ---------------------------
def isa(control: str = "000000001", element: str = "*", component: str = ":", terminator: str = "~") -> str:
    e = element
    text = (
        f"ISA{e}00{e}{' ' * 10}{e}00{e}{' ' * 10}{e}ZZ{e}{'SENDER':<15}{e}ZZ{e}{'RECEIVER':<15}"
        f"{e}250115{e}1200{e}^{e}00501{e}{control}{e}0{e}P{e}{component}{terminator}"
    )
    assert len(text) == 106
    return text


# Claim 1: CLP03 200 − claim CAS 20 − line CAS 30 = CLP04 150 (line: 200 − 30 = 170).
# Claim 2: denied, CLP03 100 − claim CAS 100 = CLP04 0, no service line.  BPR02 = 150 + 0 = 150.
PHI_BODY = [
    "BPR*I*150*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999999999*DA*98765*20250115",
    "TRN*1*TRACE1*1512345678",
    "DTM*405*20250114",
    "N1*PR*ACME HEALTH",
    "REF*2U*ACME01",
    "N1*PE*GOOD CLINIC*XX*1234567893",
    "LX*1",
    "CLP*PCN1*1*200*150*20*12*ICN1",
    "CAS*PR*1*20",
    "NM1*QC*1*VANDERMEER*ISOLDE****MI*ZX83624917",
    "NM1*IL*1*VANDERMEER*CASPAR****MI*555012349",
    "NM1*74*1*OKONKWO*PERPETUA",
    "DMG*D8*19790413*F",
    "DTM*232*20250110",
    "SVC*HC:99213*200*170",
    "DTM*472*20250110",
    "CAS*CO*45*30",
    "CLP*PCN2*4*100*0**12*ICN2",
    "CAS*CO*50*100",
    "NM1*QC*1*MARTIN*LUCIEN****MI*19800101",
    "NM1*IL*1*MARTIN*ODILE****MI*123456789012345678",
    "DMG*D8*19520229*M",
    "DTM*232*20250111",
]
PHI = {
    "name": ["VANDERMEER", "ISOLDE", "CASPAR", "OKONKWO", "PERPETUA", "MARTIN", "LUCIEN", "ODILE"],
    "member id": ["ZX83624917", "555012349", "19800101", "123456789012345678"],
    "birth date": ["19790413", "19520229"],
}


def envelope(body: list[str], eol: str = "") -> str:
    """ISA/GS/ST … SE/GE/IEA around ``body``, segments ended by ``~`` and ``eol``."""
    st = ["ST*835*0001", *body]
    st.append(f"SE*{len(st) + 1}*0001")
    segs = ["GS*HP*SENDER*RECEIVER*20250115*1200*1*X*005010X221A1", *st, "GE*1*1", "IEA*1*000000001"]
    return isa() + eol + "".join(s + "~" + eol for s in segs)


def messages(exc: X12ParseError) -> str:
    """Everything an error puts where it is stored or shown: str(), the JSON note, each problem."""
    return "\n".join(
        [str(exc), json.dumps(exc.as_dict(), ensure_ascii=False), *(str(p) for p in exc.problems)]
    )


def leaked(text: str) -> list[str]:
    return [f"{kind} {v}" for kind, values in PHI.items() for v in values if v.lower() in text.lower()]


def test_fixture_parses_and_holds_the_patient_values() -> None:
    text = envelope(PHI_BODY)
    r = parse_835(text.encode(), "phi.835")
    assert r.claims.num_rows == 2 and r.claims["is_balanced"].to_pylist() == [True, True]
    for values in PHI.values():
        for v in values:
            assert v in text  # each needle really is in the file


@pytest.mark.parametrize("eol", ["", "\n", "\r\n"])
@pytest.mark.parametrize("mutation", ["drop", "to_element"])
def test_no_patient_value_in_any_error_when_one_terminator_is_lost(eol: str, mutation: str) -> None:
    # each segment terminator in turn is dropped (or turned into an element separator), which makes the
    # parser read the next segment's values in the wrong places: patient names as amounts and so on
    text = envelope(PHI_BODY, eol)
    positions = [m.start() for m in re.finditer("~", text)]
    assert len(positions) == len(PHI_BODY) + 6
    rejected = 0
    for pos in positions:
        mutated = text[:pos] + ("" if mutation == "drop" else "*") + text[pos + 1 :]
        try:
            parse_835(mutated.encode(), "phi.835")
        except X12ParseError as exc:
            rejected += 1
            assert not leaked(messages(exc)), (pos, leaked(messages(exc)), str(exc))
    assert rejected >= len(positions) // 2  # most of the mutations are errors (the test sees messages)


def test_lost_terminator_before_patient_names_shows_their_shape_not_their_value() -> None:
    # "CAS*PR*1*20NM1*QC*1*VANDERMEER*ISOLDE****MI*ZX83624917": CAS triples (PR) 1/20NM1/QC,
    # 1/VANDERMEER/ISOLDE, …/MI/ZX83624917: amounts '20NM1', 'VANDERMEER' and 'ZX83624917' are invalid
    text = envelope(PHI_BODY).replace("CAS*PR*1*20~NM1*QC", "CAS*PR*1*20NM1*QC")
    with pytest.raises(X12ParseError) as info:
        parse_835(text.encode(), "phi.835")
    amounts = [p for p in info.value.problems if "CAS amount" in p.message]
    assert len(amounts) == 3 and all(p.segment_id == "CAS" for p in amounts)
    assert not leaked(messages(info.value))
    # the shape tells letters (A) from digits (9) and keeps punctuation, so the operator sees why
    assert "99AA9" in amounts[0].message and "AAAAAAAAAA" in amounts[1].message
    assert "AA99999999" in amounts[2].message


def test_amounts_of_a_plausible_shape_are_still_quoted() -> None:
    # a typo in an amount is worth seeing as it is: digits with a sign or a decimal point
    text = envelope(PHI_BODY).replace("CLP*PCN1*1*200*150*", "CLP*PCN1*1*200*150.005*")
    with pytest.raises(X12ParseError) as info:
        parse_835(text.encode(), "phi.835")
    assert info.value.first.segment_id == "CLP"
    assert "CLP04 is not a valid amount" in info.value.first.message
    assert "'150.005'" in info.value.first.message


def test_shown_value_rules() -> None:
    assert shown_value("1.234", "amount") == "'1.234'"
    assert shown_value("-12.5", "amount") == "'-12.5'"
    # digits alone are a member id as easily as an amount: too long to be an amount, so not quoted
    assert "12345678901234567" not in shown_value("12345678901234567", "amount")
    assert shown_value("MARTIN", "amount") == "[not shown: 6 characters shaped AAAAAA]"
    assert shown_value("12,50", "amount") == "[not shown: 5 characters shaped 99,99]"
    assert shown_value("20251341", "date") == "'20251341'"  # a CCYY… date
    assert "12345678" not in shown_value("12345678", "date")
    assert shown_value("0001", "control") == "'0001'"
    assert "DOE" not in shown_value("0001DOE", "control")
    long = shown_value("A" * 5000, "amount")
    assert "5000 characters" in long and len(long) < 80


# -- item 13: one line per problem, whatever control characters the file holds ------------------------
def test_control_characters_are_escaped_in_every_message() -> None:
    assert (
        escape_controls("a\rb\nc\x00d\x1be\x7ff\x85g\u2028h") == "a\\rb\\nc\\x00d\\x1be\\x7ff\\x85g\\u2028h"
    )
    p = Problem("bad\r\nthing", 3, 10, "S\rV")
    assert "\r" not in str(p) and "\n" not in str(p) and "\n" not in p.message
    assert str(X12ParseError("a\nb.835", [p])).count("\n") == 0


def wrapped(text: str, width: int = 80, eol: str = "\r\n") -> str:
    """The file as a mainframe sends it: cut into 80-column lines, a line break after each, mid-segment."""
    return eol.join(text[i : i + width] for i in range(0, len(text), width)) + eol


def test_control_characters_in_ids_and_values_give_one_line_per_problem() -> None:
    # VT, FF, ESC, the ASCII separators, NEL and U+2028: each ends a line for str.splitlines or rewrites
    # a terminal; put in segment ids and in amounts (lines broken inside segments are unwrapped instead)
    text = envelope(PHI_BODY * 3)
    for old, new in [
        ("SVC*HC", "S\x0bVC*HC"),
        ("CAS*CO*45*30", "CAS*CO*45*3\x1b[2J0"),
        ("DTM*232*20250110", "DTM*232*2025\x0c0110"),
        ("CAS*PR*1*20", "CAS*PR*1*2\x1c0"),
        ("DTM*232*20250111", "DTM*232*2025\u20280111"),
        ("CAS*CO*50*100", "CAS*CO*50*10\x850"),
    ]:
        assert old in text
        text = text.replace(old, new)
    with pytest.raises(X12ParseError) as info:
        parse_835(text.encode(), "controls.835")
    exc = info.value
    lines = str(exc).splitlines()
    assert len(lines) == len(exc.problems) + (1 if exc.more else 0) >= 6
    for line in lines:
        assert line.startswith("controls.835: ")
        assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", line), line
    shown = "\n".join(lines)
    for escaped in ("\\x0b", "\\x1b", "\\x0c", "\\x1c", "\\u2028", "\\x85"):
        assert escaped in shown, escaped


@pytest.mark.parametrize("eol", ["\r\n", "\n"])
def test_file_wrapped_at_80_columns_parses_as_the_unwrapped_file(eol: str) -> None:
    # was: "segment 5 S\r\nVC: not a segment id" and dozens more (the break falls inside ids and values)
    data = wrapped(envelope(PHI_BODY), eol=eol).encode()
    got = parse_835(data, "wrapped.835")
    same_rows(got, parse_835(plain(), "plain.835"))
    assert got.file_id == hashlib.sha256(data).hexdigest()


def test_line_breaks_after_terminators_only_are_left_alone() -> None:
    # the usual layout: no copy is made and offsets stay the file's own
    from pipeline.x12.parser import _is_wrapped

    assert not _is_wrapped(envelope(PHI_BODY, "\r\n").encode())
    assert not _is_wrapped(envelope(PHI_BODY).encode())
    assert _is_wrapped(wrapped(envelope(PHI_BODY)).encode())
    # newline as the segment terminator: never unwrapped
    newline = isa(terminator="\n") + "".join(s + "\n" for s in ["GS*HP*S*R*20250115*1200*1*X*005010X221A1"])
    assert not _is_wrapped(newline.encode())


def test_empty_and_leading_lines_do_not_make_a_file_wrapped() -> None:
    # the head is counted (line breaks against terminators followed by one) unless it has an empty
    # line; both ways must say what the line-by-line rule says: a non-empty line not ending in "~"
    from pipeline.x12.parser import _is_wrapped

    lines = envelope(PHI_BODY, "\n")
    assert not _is_wrapped(lines.replace("~\n", "~\n\n").encode())  # an empty line after each segment
    assert not _is_wrapped(("\n" + lines).encode())  # a leading empty line
    assert not _is_wrapped(("\r\n\r\n" + lines.replace("\n", "\r\n")).encode())
    assert _is_wrapped((" \n" + lines).encode())  # a line of one blank, not ending in "~"
    flat = envelope(PHI_BODY)
    assert _is_wrapped(wrapped(flat, eol="\n").encode())
    assert _is_wrapped(wrapped(flat, eol="\n").replace("\n", "\n\n", 1).encode())  # and one empty line


# -- item 4: a per-row business rule never quarantines a whole file --------------------------------------
@pytest.fixture(scope="module")
def quality_context():
    from pipeline.quality.engine import QualityContext

    return QualityContext()


def test_one_unbalanced_claim_loads_its_file_and_is_a_listed_warning(tmp_path: Path, quality_context) -> None:
    import duckdb

    from pipeline.home import Home
    from pipeline.lake import ingest
    from pipeline.quality import BatchGate, write_results

    # claim 2's CAS is off by a cent: 100 − 99.99 ≠ 0; everything else (and BPR02) balances
    body = [s.replace("CAS*CO*50*100", "CAS*CO*50*99.99") for s in PHI_BODY]
    data = envelope(body).encode()
    claim2 = hashlib.sha256(data).hexdigest()[:24] + "-1-2"
    home = Home(tmp_path / "home").ensure()
    (home.inbox / "one-cent.835").write_bytes(data)
    gate = BatchGate(home, run_id="one-cent", context=quality_context)
    result = ingest(home, workers=1, settle_seconds=0, gate=gate)
    assert result.loaded == ["one-cent.835"] and result.rejected == []
    outcome = gate.report.outcome("claims.is_balanced")
    assert (outcome.success, outcome.severity, outcome.unexpected_count) == (False, "warning", 1)
    assert outcome.sample_ids == (claim2,)
    assert gate.report.failed_critical_file_ids == set()
    con = duckdb.connect()
    write_results(gate.report, con)
    row = con.execute(
        "SELECT severity, success, unexpected_count, sample_ids FROM quality.results "
        "WHERE expectation = 'claims.is_balanced'"
    ).fetchone()
    assert row[:3] == ("warning", False, 1) and list(row[3]) == [claim2]


def test_no_critical_batch_expectation_is_a_per_row_business_rule() -> None:
    # the critical batch checks left are keys, required amounts (both structural: the parser makes or
    # requires them), the month a payment is filed under, and group codes no mart can assign
    from pipeline.quality.suites import BATCH_CHECKS

    critical = {c.name for c in BATCH_CHECKS if c.severity == "critical"}
    for name in ("payments.is_balanced", "claims.is_balanced", "claims.claim_status_code.valid"):
        assert name not in critical
    assert "service_lines.is_balanced" not in critical


# -- item 16: the installed script runs Spark with a bare PATH (as cron and systemd call it) -----------
def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (uv sync --extra spark)"
    if not (REPO / ".venv" / "bin" / "remit").exists():
        return "no installed script .venv/bin/remit"
    if shutil.which("java", path="/usr/bin:/bin") is None:
        return "no java on /usr/bin:/bin (the bare PATH a cron job has)"
    return None


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_installed_script_ingests_on_spark_with_a_bare_path(tmp_path: Path) -> None:
    why = _spark_missing()
    if why:
        pytest.skip(why)
    # PATH has no .venv/bin: Spark's Python workers used to start the system python3 (no pyarrow)
    home = tmp_path / "home"
    inbox = home / "inbox"
    inbox.mkdir(parents=True)
    data = envelope(PHI_BODY).encode()
    (inbox / "a.835").write_bytes(data)
    os.utime(inbox / "a.835", (1_700_000_000, 1_700_000_000))  # settled long ago
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        ["env", "-i", *(f"{k}={v}" for k, v in env.items()), str(REPO / ".venv" / "bin" / "remit"),
         "--home", str(home), "ingest", "--engine", "spark"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    import duckdb

    with duckdb.connect() as con:
        claims = con.execute(
            "SELECT file_key, claim_number, paid_amount FROM read_parquet($g, hive_partitioning = true) "
            "ORDER BY 2",
            {"g": str(home / "lake" / "claims" / "**" / "*.parquet")},
        ).fetchall()
    key = int(hashlib.sha256(data).hexdigest()[:16], 16) - 2**63
    assert [(k, c, str(p)) for k, c, p in claims] == [(key, 1, "150.00"), (key, 2, "0.00")]


def test_spark_workers_get_this_python_unless_the_user_chose_one() -> None:
    import sys

    from pipeline.engines.spark import use_this_python

    env: dict[str, str] = {"PYSPARK_DRIVER_PYTHON": ""}
    assert use_this_python(env) == sys.executable
    assert env == {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    chosen = {"PYSPARK_PYTHON": "/opt/py/bin/python3"}
    assert use_this_python(chosen) == "/opt/py/bin/python3"
    assert chosen == {"PYSPARK_PYTHON": "/opt/py/bin/python3", "PYSPARK_DRIVER_PYTHON": sys.executable}


# -- trials of odd input: each ends in the same tables as the plain file, or one clear error ---------------
def plain() -> bytes:
    return envelope(PHI_BODY).encode()


def same_rows(a, b) -> None:
    """Same rows in every table, ids and keys aside (they come from each file's own sha256)."""
    for name, table in a.tables().items():
        other = b.tables()[name]
        drop = [c for c in table.column_names if c.endswith("_id") or c in ("source", "file_key")]
        assert table.drop_columns(drop).equals(other.drop_columns(drop)), name


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-16"),  # byte-order mark, this machine's order
        lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
        lambda t: t.encode("utf-16-le"),  # no mark
        lambda t: t.encode("utf-16-be"),
    ],
    ids=["bom", "bom-be", "le", "be"],
)
def test_utf16_file_parses_as_its_utf8_form(encode) -> None:
    # was: "not an X12 file: it starts with 'ÿþI', not ISA"
    data = encode(plain().decode())
    got = parse_835(data, "u16.835")
    same_rows(got, parse_835(plain(), "plain.835"))
    assert got.file_id == hashlib.sha256(data).hexdigest()  # the file's own bytes, not the UTF-8 form


def test_broken_utf16_is_one_clear_error() -> None:
    data = plain().decode().encode("utf-16")[:-1]  # an odd number of bytes
    with pytest.raises(X12ParseError) as info:
        parse_835(data, "u16.835")
    assert "looks like UTF-16 text but is not valid UTF-16 at byte" in info.value.first.message


@pytest.mark.parametrize("pad", [b"\x00" * 4096, b"\x1a", b"\r\n\x1a", b"\x00\x1a\x00"])
def test_nul_or_ctrl_z_padding_after_the_end_is_ignored(pad: bytes) -> None:
    # was: "segment 30 \x00\x00… not a segment id" for a file padded to a block size
    data = plain() + pad
    got = parse_835(data, "padded.835")
    same_rows(got, parse_835(plain(), "plain.835"))
    assert got.file_id == hashlib.sha256(data).hexdigest()


def test_nul_before_the_isa_or_in_a_segment_id_is_still_an_error() -> None:
    for data in (b"\x00" * 16 + plain(), plain().replace(b"~DTM*405", b"~D\x00M*405")):
        with pytest.raises(X12ParseError) as info:
            parse_835(data, "nul.835")
        assert "\x00" not in str(info.value) and "\\x00" in str(info.value)


def test_one_megabyte_segment_and_ten_thousand_digit_values() -> None:
    body = PHI_BODY[:7] + ["NTE*" + "X" * (1 << 20)] + PHI_BODY[7:]  # an unknown segment: skipped
    assert parse_835(envelope(body).encode(), "big.835").claims.num_rows == 2
    for old, new in [
        ("CLP*PCN1*1*200*", "CLP*PCN1*1*" + "7" * 10_000 + "*"),
        ("DTM*232*20250110", "DTM*232*" + "2" * 10_000),
        ("SE*25*", "SE*" + "3" * 10_000 + "*"),
        ("IEA*1*000000001", "IEA*1*" + "1" * 10_000),
    ]:
        text = envelope(PHI_BODY)
        assert old in text
        with pytest.raises(X12ParseError) as info:
            parse_835(text.replace(old, new).encode(), "digits.835")
        message = str(info.value)
        assert "10000 characters shaped 99999999999999999999…" in message and len(message) < 300


def test_deeply_repeated_loops() -> None:
    claim = ["CLP*P*1*100*100**12*I", "NM1*QC*1*A*B", "SVC*HC:99213*100*100", "CAS*CO*45*0*1*45*0*1"]
    r = parse_835(envelope(PHI_BODY[:7] + claim * 20_000).encode(), "loops.835")
    assert (r.claims.num_rows, r.service_lines.num_rows, r.adjustments.num_rows) == (20_000, 20_000, 40_000)
    assert r.claims["claim_ordinal"].to_pylist()[-1] == 20_000
    lines = envelope(PHI_BODY[:7] + ["LX*1"] * 20_000 + PHI_BODY[7:])
    assert parse_835(lines.encode(), "lx.835").claims.num_rows == 2


def test_isa_of_other_widths() -> None:
    text = envelope(PHI_BODY)
    unpadded = text.replace("SENDER         ", "SENDER").replace("RECEIVER       ", "RECEIVER")
    unpadded = unpadded.replace("*          *", "**")
    overpadded = text.replace("SENDER         ", "SENDER" + " " * 14)
    for variant in (unpadded, overpadded):
        assert variant.index("GS*") != 106
        got = parse_835(variant.encode(), "isa.835")
        assert got.payments["interchange_sender_id"].to_pylist() == ["SENDER"]
        assert got.claims.num_rows == 2
    with pytest.raises(X12ParseError) as info:  # ISA16 missing: only 15 elements
        parse_835(text.replace("*P*:~", "*P~", 1).encode(), "isa.835")
    assert info.value.first.segment_id == "ISA"


def test_latin1_names_key_like_their_utf8_form() -> None:
    names = envelope(PHI_BODY).replace("VANDERMEER*ISOLDE", "MÜLLER*JOSÉ")
    latin1 = parse_835(names.encode("latin-1"), "l1.835", patient_key_secret=b"k")
    utf8 = parse_835(names.encode("utf-8"), "u8.835", patient_key_secret=b"k")
    expected = hmac_hex(b"k", "MÜLLER|JOSÉ|MI|ZX83624917")
    assert latin1.claims["patient_key"][0].as_py() == utf8.claims["patient_key"][0].as_py() == expected


def hmac_hex(key: bytes, text: str) -> str:
    import hmac

    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("element", "component", "terminator", "wrong"),
    [("A", ":", "~", "'A'"), ("1", ":", "~", "'1'"), ("*", "B", "~", "'B'"), ("*", ":", "Z", "'Z'"),
     ("*", ":", "9", "'9'"), (" ", ":", "~", "' '")],
)  # fmt: skip
def test_letters_digits_or_space_as_delimiters_are_refused_clearly(element, component, terminator, wrong):
    segs = ["GS*HP*S*R*20250115*1200*1*X*005010X221A1", "ST*835*0001"]
    text = isa(element=element, component=component, terminator=terminator) + "".join(
        s.replace("*", element).replace(":", component) + terminator for s in segs
    )
    with pytest.raises(X12ParseError) as info:
        parse_835(text.encode(), "delims.835")
    first = info.value.first
    assert first.segment_id == "ISA" and wrong in first.message and "separator" in first.message


def test_a_seventh_cas_triple_or_plb_pair_is_an_error_not_a_silent_loss() -> None:
    # the core reads the 6 triples / pairs X12 allows; a 7th was dropped, its dollars with it (the
    # claim then only failed balancing, which is a warning)
    seven = "CAS*CO*45*4.28*1*46*4.28*1*47*4.28*1*48*4.28*1*49*4.28*1*50*4.28*1*51*4.32"
    text = envelope([seven if s == "CAS*CO*45*30" else s for s in PHI_BODY])
    with pytest.raises(X12ParseError) as info:
        parse_835(text.encode(), "cas7.835")
    assert info.value.first.segment_id == "CAS"
    assert "more than 6 adjustment triples" in info.value.first.message
    # six triples and empty trailing elements are fine: 6 × 5 = 30
    six = "CAS*CO*45*5*1*46*5*1*47*5*1*48*5*1*49*5*1*50*5******"
    r = parse_835(envelope([six if s == "CAS*CO*45*30" else s for s in PHI_BODY]).encode(), "cas6.835")
    assert r.claims["is_balanced"].to_pylist() == [True, True] and r.adjustments.num_rows == 2 + 6
    plb = "PLB*1234567893*20251231" + "".join(f"*WO:X{i}*0" for i in range(7))
    with pytest.raises(X12ParseError) as info:
        parse_835(envelope([*PHI_BODY, plb]).encode(), "plb7.835")
    assert info.value.first.segment_id == "PLB"
    assert "more than 6 adjustment pairs" in info.value.first.message


def test_no_patient_value_in_errors_of_a_generated_file_with_each_terminator_lost(tmp_path: Path) -> None:
    # the same on a generated remittance (many patients, names and ids of every shape, a DMG birth
    # date after each patient), needles found in the raw bytes as the privacy test finds them
    import random
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_privacy import add_birth_dates, patient_needles

    from pipeline.synth import generate

    generate(tmp_path, claims=40, files=1, seed=16, months=1)  # 6 of its 849 leaked before
    data = add_birth_dates(next(tmp_path.glob("*.835")).read_bytes(), random.Random(16))
    needles = patient_needles([data])
    assert min(len(v) for v in needles.values()) > 10
    terminator = data[105:106]
    any_needle = re.compile(r"\b(" + "|".join(re.escape(v) for vs in needles.values() for v in vs) + r")\b")
    rejected = 0
    for pos in [i for i in range(106, len(data)) if data[i : i + 1] == terminator]:
        try:
            parse_835(data[:pos] + data[pos + 1 :], "gen.835")
        except X12ParseError as exc:
            rejected += 1
            found = any_needle.findall(messages(exc))
            assert not found, (pos, found, str(exc))
    assert rejected > 100


def test_sniff_for_the_lake_knows_utf16() -> None:
    # the lake's inbox triage must not refuse what the parser reads (pipeline.lake.loader sniffs ISA)
    from pipeline.x12.scan import starts_like_x12

    text = plain().decode()
    for head in (plain(), b"\xef\xbb\xbf\r\n" + plain(), text.encode("utf-16"), text.encode("utf-16-be")):
        assert starts_like_x12(head[:64])
    for head in (b"", b"ST*835*0001~", b"PK\x03\x04", b"\x00" * 64, "ISB".encode("utf-16")):
        assert not starts_like_x12(head)
