"""Lenient reading, strict reporting: wrapped files, control-character delimiters, 4010 files.

Fixtures (tests/fixtures/lenient/), every amount chosen by hand:

base.835: one 5010 payment, one segment a line, ``*`` ``:`` ``~`` ``^`` as delimiters
  BPR02 182.50 = Σ CLP04 (180 + 0) − Σ PLB (L6 −2.50)
  PCN-W1 CLP02 1, charge 250, paid 180, CLP05 20: line 99213-25 250 − CO-45 50 − PR-2 20 = 180
  PCN-W2 CLP02 4, charge 120, paid 0: line 97110 120 − CO-50 120 = 0, RARC N115
  PLB L6:ICN-W1 −2.50 (interest paid to the provider)
wrapped_crlf.835: base.835 on one line, cut every 80 bytes with CR LF (the first cut falls inside the
  ISA, in ISA10: ``081`` CR LF ``5``).
control_wrapped_lf.835: the same with element 0x1D, component 0x1F, terminator 0x1C and repetition
  0x1E, cut every 80 bytes with LF.
control_nel.835: the same with terminator 0x85 (NEL, what an EBCDIC newline becomes), not cut.
v4010.835: a 4010 payment (004010X091A1: ISA11 ``U``, ISA12 00401, no ST03)
  BPR02 245 = (240 + 0) − PLB (L6 −5)
  PCN-41 CLP02 1, charge 300, paid 240: 300 − CO-45 30 − PR-2 30 = 240 (NM108 34: a 4010-only qualifier)
  PCN-42 CLP02 13 (suspended: not a 5010 status), charge 80, paid 0: 80 − CR-45 80 = 0 (group CR: 4010 only)
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.x12 import X12ParseError, parse_835

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "lenient"
BASE = (FIXTURES / "base.835").read_bytes()
FLAT = BASE.replace(b"\n", b"")
SECRET = b"lenient-test-secret"


def wrap(data: bytes, eol: bytes, width: int = 80) -> bytes:
    return eol.join(data[i : i + width] for i in range(0, len(data), width)) + eol


def with_delimiters(data: bytes, element: int, component: int, terminator: int, repetition: int) -> bytes:
    return data.translate(bytes.maketrans(b"*:~^", bytes([element, component, terminator, repetition])))


def values(r) -> dict[str, list]:
    """What an analyst reads from a parse (no ids: they derive from the file's own bytes)."""
    return {
        "payment": [(p["payment_amount"], p["version"], p["is_balanced"]) for p in r.payments.to_pylist()],
        "claims": [
            (c["patient_control_number"], c["claim_status_code"], c["charge_amount"], c["paid_amount"])
            for c in r.claims.to_pylist()
        ],
        "lines": [
            (s["procedure_code"], s["modifiers"], s["charge_amount"], s["paid_amount"])
            for s in r.service_lines.to_pylist()
        ],
        "cas": [(a["group_code"], a["reason_code"], a["amount"]) for a in r.adjustments.to_pylist()],
        "remarks": r.remarks.column("remark_code").to_pylist(),
        "plb": [
            (b["reason_code"], b["reference_id"], b["amount"]) for b in r.provider_adjustments.to_pylist()
        ],
        "patient_keys": r.claims.column("patient_key").to_pylist(),
    }


BASE_VALUES = {
    "payment": [(Decimal("182.50"), "005010X221A1", True)],
    "claims": [
        ("PCN-W1", "1", Decimal("250.00"), Decimal("180.00")),
        ("PCN-W2", "4", Decimal("120.00"), Decimal("0.00")),
    ],
    "lines": [
        ("99213", ["25"], Decimal("250.00"), Decimal("180.00")),
        ("97110", [], Decimal("120.00"), Decimal("0.00")),
    ],
    "cas": [("CO", "45", Decimal("50.00")), ("PR", "2", Decimal("20.00")), ("CO", "50", Decimal("120.00"))],
    "remarks": ["N115"],
    "plb": [("L6", "ICN-W1", Decimal("-2.50"))],
}


def test_base_fixture_values_worked_by_hand():
    got = values(parse_835(BASE, "base.835", patient_key_secret=SECRET))
    assert {k: v for k, v in got.items() if k != "patient_keys"} == BASE_VALUES
    assert all(got["patient_keys"]) and len(set(got["patient_keys"])) == 2


@pytest.mark.parametrize(
    ("name", "expected_bytes"),
    [
        ("wrapped_crlf.835", wrap(FLAT, b"\r\n")),
        ("control_wrapped_lf.835", wrap(with_delimiters(FLAT, 0x1D, 0x1F, 0x1C, 0x1E), b"\n")),
        ("control_nel.835", with_delimiters(FLAT, 0x1D, 0x1F, 0x85, 0x1E)),
    ],
)
def test_wrapped_and_control_delimited_fixtures_read_as_the_base_file(name, expected_bytes):
    data = (FIXTURES / name).read_bytes()
    assert data == expected_bytes  # the fixture is what its docstring says
    if name != "control_nel.835":
        assert data.index(b"\n") < 106  # the first line break falls inside the ISA
    base = values(parse_835(BASE, "base.835", patient_key_secret=SECRET))
    assert values(parse_835(data, name, patient_key_secret=SECRET)) == base


@pytest.mark.parametrize(
    "delimiters",
    [
        (0x1D, 0x1F, 0x1C, 0x1E),  # GS / US / FS / RS, as IBM-style gateways send
        (0x1D, 0x1F, 0x85, 0x1E),  # NEL terminator: a byte >= 0x80 (failed: UnicodeDecodeError)
        (0x07, 0x1F, 0x1E, 0x1C),  # BEL element separator
        (0x1D, 0x1F, 0x0B, 0x1E),  # vertical tab terminator
        (0x1D, 0x1F, 0xFF, 0x1E),  # 0xFF terminator
        (0x7F, 0xA6, 0x15, 0x1E),  # DEL, broken bar (Latin-1), NAK
    ],
)
@pytest.mark.parametrize("eol", [b"", b"\r\n", b"\n"])
def test_control_character_delimiters_wrapped_or_not(delimiters, eol):
    data = with_delimiters(FLAT, *delimiters)
    if eol:
        data = wrap(data, eol)
    base = values(parse_835(BASE, "base.835", patient_key_secret=SECRET))
    assert values(parse_835(data, "ctl.835", patient_key_secret=SECRET)) == base


def test_nul_as_a_delimiter_is_refused_clearly():
    data = with_delimiters(FLAT, 0x00, 0x1F, 0x1C, 0x1E)
    with pytest.raises(X12ParseError) as info:
        parse_835(data, "nul.835")
    assert (
        str(info.value) == "nul.835: ISA byte 0: ISA uses NUL (0x00) as a delimiter, which is not supported"
    )


def _one_line_each(err: X12ParseError) -> list[str]:
    lines = str(err).split("\n")
    assert len(lines) == len(err.problems) + (1 if err.more else 0)
    for line in lines:  # no control character survives in a message
        assert all(ord(ch) >= 0x20 and not 0x7F <= ord(ch) < 0xA0 for ch in line), repr(line)
    return lines


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("bad-wrapped.835", lambda b: wrap(b, b"\r\n")),
        ("bad-control.835", lambda b: wrap(with_delimiters(b, 0x1D, 0x1F, 0x1C, 0x1E), b"\n")),
        ("bad-nel.835", lambda b: with_delimiters(b, 0x1D, 0x1F, 0x85, 0x1E)),
    ],
)
def test_a_bad_wrapped_or_control_delimited_file_names_file_segment_and_problem(name, damage):
    # CLP04 of PCN-W1 (segment 11: ISA GS ST BPR TRN DTM N1 REF N1 LX CLP) written with a decimal comma
    bad = FLAT.replace(b"CLP*PCN-W1*1*250*180*", b"CLP*PCN-W1*1*250*180,00*")
    with pytest.raises(X12ParseError) as info:
        parse_835(damage(bad), name)
    err = info.value
    lines = _one_line_each(err)
    assert lines[0].startswith(f"{name}: segment 11 CLP byte ")
    assert "CLP04" in lines[0] or "amount" in lines[0]
    assert "[not shown: 6 characters shaped 999,99]" in lines[0]
    report = err.as_dict()
    assert (report["file"], report["segment_number"], report["segment_id"]) == (name, 11, "CLP")


def test_quarantine_report_of_a_bad_control_delimited_file(home):
    import os
    import time

    from pipeline.lake import ingest

    bad = wrap(with_delimiters(FLAT.replace(b"*180*20*", b"*18O*20*"), 0x1D, 0x1F, 0x1C, 0x1E), b"\r\n")
    home.inbox.mkdir(parents=True, exist_ok=True)
    path = home.inbox / "mainframe-bad.835"
    path.write_bytes(bad)
    old = time.time() - 3600
    os.utime(path, (old, old))
    result = ingest(home, workers=1)
    assert [n for n, _ in result.rejected] == ["mainframe-bad.835"]
    report = json.loads(next(home.quarantine.glob("*.error.json")).read_text())
    assert report["file"] == "mainframe-bad.835"
    assert (report["segment_number"], report["segment_id"]) == (11, "CLP")
    assert "amount" in report["message"] and "\n" not in report["message"] and "\x1c" not in report["message"]


# ---- 4010 -------------------------------------------------------------------------------------------


def test_4010_file_loads_with_its_guide_recorded():
    r = parse_835((FIXTURES / "v4010.835").read_bytes(), "v4010.835", patient_key_secret=SECRET)
    got = values(r)
    assert got["payment"] == [(Decimal("245.00"), "004010X091A1", True)]
    assert got["claims"] == [
        ("PCN-41", "1", Decimal("300.00"), Decimal("240.00")),
        ("PCN-42", "13", Decimal("80.00"), Decimal("0.00")),  # not a 5010 status: kept as sent
    ]
    assert got["cas"] == [
        ("CO", "45", Decimal("30.00")),
        ("PR", "2", Decimal("30.00")),
        ("CR", "45", Decimal("80.00")),
    ]
    assert got["plb"] == [("L6", "ICN-41", Decimal("-5.00"))]
    assert r.claims.column("is_balanced").to_pylist() == [True, True]
    assert all(got["patient_keys"])  # NM108 34 (4010 only) is hashed like any other qualifier
    p = r.payments.to_pylist()[0]
    assert (p["interchange_control_number"], p["group_control_number"]) == ("000000401", "401")


def test_4010_and_5010_interchanges_in_one_file_keep_their_own_versions():
    # a 4010 interchange with * : ~ followed by a 5010 one with control delimiters and a NEL terminator
    data = (FIXTURES / "v4010.835").read_bytes() + (FIXTURES / "control_nel.835").read_bytes()
    r = parse_835(data, "mixed.835")
    assert [(p["version"], p["payment_amount"]) for p in r.payments.to_pylist()] == [
        ("004010X091A1", Decimal("245.00")),
        ("005010X221A1", Decimal("182.50")),
    ]
    assert r.claims.num_rows == 4


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            b"*X*005010X221A1~",
            b"*X*003070~",
            "segment 3 ST byte 165: its group's GS08 '003070' is not supported",
        ),
        (
            b"ST*835*0801*005010X221A1~",
            b"ST*835*0801*005010X222A1~",
            "segment 3 ST byte 171: ST03 '005010X222A1' is not supported",
        ),
        (b"*X*005010X221A1~", b"*X*004050X124~", "its group's GS08 '004050X124' is not supported"),
    ],
)
def test_other_guides_are_refused_not_read_as_5010(old, new, message):
    data = BASE.replace(old, new, 1)
    if old.startswith(b"*X*"):
        data = data.replace(b"ST*835*0801*005010X221A1~", b"ST*835*0801~")  # GS08 decides
    with pytest.raises(X12ParseError) as info:
        parse_835(data, "old-guide.835")
    assert message in str(info.value)
    assert str(info.value).startswith("old-guide.835: segment 3 ST")
    assert "005010X221A1 and 004010X091A1" in str(info.value)


def test_a_version_shaped_like_a_name_is_not_quoted():
    data = BASE.replace(b"ST*835*0801*005010X221A1~", b"ST*835*0801*TESTERALPHA~")
    with pytest.raises(X12ParseError) as info:
        parse_835(data, "odd.835")
    assert "TESTERALPHA" not in str(info.value)
    assert "ST03 [not shown: 11 characters shaped AAAAAAAAAAA] is not supported" in str(info.value)


# ---- warnings that quote values from the files ------------------------------------------------------


def test_unknown_payer_warning_stays_on_one_line():
    from pipeline.warehouse import BuildResult

    text = BuildResult(Path("w.duckdb"), 1.0, unknown_payers=["MF\r\nPAY", "NEL\x85PAY"]).summary()
    assert text.split("\n")[1] == (
        "warning: 2 payer(s) not in payers.csv (plan type 'unknown'): MF\\r\\nPAY, NEL\\x85PAY; "
        "see marts.unknown_payers"
    )


def test_quality_warning_log_escapes_values(caplog):
    import datetime as dt
    import logging

    from pipeline.quality.checks import _log
    from pipeline.quality.report import Outcome, QualityReport

    outcome = Outcome(
        "batch", "claims.claim_status_code.valid", "warning", False, 1, 2, unexpected_values=("1\x1c3",)
    )
    report = QualityReport(run_id="r", checked_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), outcomes=[outcome])
    with caplog.at_level(logging.WARNING):
        _log(report)
    (message,) = [r.getMessage() for r in caplog.records if "claim_status_code" in r.getMessage()]
    assert message == "quality warning claims.claim_status_code.valid: 1 rows, values 1\\x1c3"


def test_4010_file_in_the_lake_keeps_its_version(home):
    import os
    import time

    import duckdb

    from pipeline.lake import ingest

    home.inbox.mkdir(parents=True, exist_ok=True)
    for name in ("v4010.835", "wrapped_crlf.835"):
        path = home.inbox / name
        path.write_bytes((FIXTURES / name).read_bytes())
        old = time.time() - 3600
        os.utime(path, (old, old))
    result = ingest(home, workers=1)
    assert sorted(result.loaded) == ["v4010.835", "wrapped_crlf.835"] and result.rejected == []
    rows = duckdb.sql(
        "SELECT source, version, CAST(payment_amount AS VARCHAR) "
        f"FROM read_parquet('{home.lake}/payments/**/*.parquet') ORDER BY 1"
    ).fetchall()
    assert rows == [("v4010.835", "004010X091A1", "245.00"), ("wrapped_crlf.835", "005010X221A1", "182.50")]
