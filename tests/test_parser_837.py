"""parse_837 on the hand-built 837P, 837I and 837D fixtures (tests/fixtures/837): every value below was
worked out by reading the fixture, not taken from the parser; plus the errors a broken 837 gets."""

from __future__ import annotations

import io
import logging
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.x12 import X12ParseError, parse_835, parse_837, schema, transaction_set
from pipeline.x12.build import hmac_reference

FIX = Path(__file__).resolve().parent / "fixtures" / "837"
SECRET = b"test-secret"


def load(name: str, secret: bytes | None = None):
    return parse_837((FIX / name).read_bytes(), name, patient_key_secret=secret)


def rows(table: pa.Table, *columns: str) -> list[tuple]:
    return [tuple(r[c] for c in columns) for r in table.to_pylist()]


def problems(data: bytes, name: str = "bad.837") -> X12ParseError:
    with pytest.raises(X12ParseError) as info:
        parse_837(data, name)
    return info.value


@pytest.mark.parametrize("name", ["professional.837", "institutional.837", "dental.837"])
def test_schemas_are_the_contract(name: str):
    r = load(name)
    assert list(r.tables()) == ["submitted_claims", "submitted_lines"]
    for table_name, table in r.tables().items():
        assert table.schema.equals(schema.SUBMISSION_TABLES[table_name]), table_name
        assert table.schema.equals(schema.TABLES[table_name]), table_name


def test_professional_claims():
    r = load("professional.837", SECRET)
    c = r.submitted_claims
    assert c.num_rows == 2 and r.transactions == 1
    # keys: the file's (sha256 bytes 1-8, less 2**63), the claims numbered in the file
    assert set(c.column("file_key").to_pylist()) == {int(r.file_id[:16], 16) - 2**63}
    assert c.column("claim_number").to_pylist() == [1, 2]
    assert c.column("transaction_ordinal").to_pylist() == [1, 1]
    assert c.column("claim_ordinal").to_pylist() == [1, 2]
    assert set(c.column("claim_type").to_pylist()) == {"professional"}
    assert set(c.column("submission_date").to_pylist()) == {date(2025, 3, 10)}  # BHT04
    assert set(c.column("batch_id").to_pylist()) == {"BATCH0001"}  # BHT03
    assert rows(
        c,
        "patient_control_number",
        "payer_id",
        "payer_name",
        "billing_provider_npi",
        "rendering_provider_npi",
        "claim_charge",
        "facility_code",
        "frequency_code",
        "payer_claim_control_number",
        "statement_from",
        "statement_to",
        "line_count",
        "segment_number",
    ) == [
        # payer of 2010BB (ACME01), not the other payer SECOND02 of loop 2330B; rendering NPI of 2310B,
        # not the line's 2420A NM1*82; statement dates: the range of the lines' DTP*472 (03-03, 03-05)
        ("PCN-1001", "ACME01", "ACME HEALTH PLAN", "1234567893", "1245319599", D("250.00"), "11", "1",
         None, date(2025, 3, 3), date(2025, 3, 5), 2, 18),
        # a replacement (CLM05-3 = 7) of the payer's claim ICN998877, for a dependent (HL 23)
        ("PCN-1002", "BETA77", "BETA INSURANCE", "1234567893", None, D("80.50"), "11", "7",
         "ICN998877", date(2025, 3, 1), date(2025, 3, 2), 1, 44),
    ]  # fmt: skip


def test_professional_lines():
    r = load("professional.837")
    cid = r.submitted_claims.column("claim_number").to_pylist()
    assert rows(
        r.submitted_lines,
        "claim_number",
        "line_number",
        "line_control_number",
        "procedure_qualifier",
        "procedure_code",
        "modifiers",
        "revenue_code",
        "line_charge",
        "units",
        "service_date",
        "service_date_to",
        "tooth_number",
    ) == [
        (cid[0], 1, "LINE1001A", "HC", "99213", "25", None, D("150.00"), D("1"), date(2025, 3, 3),
         date(2025, 3, 3), None),
        (cid[0], 2, None, "HC", "87880", "QW,59", None, D("100.00"), D("2"), date(2025, 3, 5),
         date(2025, 3, 5), None),
        # DTP*472*RD8*20250301-20250302: the first day, and the last in service_date_to
        (cid[1], 1, "LINE1002A", "HC", "99392", None, None, D("80.50"), D("1"), date(2025, 3, 1),
         date(2025, 3, 2), None),
    ]  # fmt: skip


def test_institutional():
    r = load("institutional.837")
    (claim,) = r.submitted_claims.to_pylist()
    assert claim["claim_type"] == "institutional" and claim["version"] == "005010X223A2"
    assert claim["patient_control_number"] == "HOSP-2001" and claim["claim_charge"] == D("1200.00")
    assert (claim["facility_code"], claim["frequency_code"]) == ("13", "1")  # CLM05 13:A:1
    # DTP*434*RD8*20250210-20250212; rendering provider 2310D (NM1*82), not the attending (NM1*71)
    assert (claim["statement_from"], claim["statement_to"]) == (date(2025, 2, 10), date(2025, 2, 12))
    assert claim["rendering_provider_npi"] == "1366425126" and claim["billing_provider_npi"] == "1497758544"
    assert (claim["submission_date"], claim["batch_id"], claim["line_count"]) == (
        date(2025, 2, 15),
        "IBATCH77",
        3,
    )
    assert rows(
        r.submitted_lines,
        "line_number",
        "revenue_code",
        "procedure_qualifier",
        "procedure_code",
        "modifiers",
        "line_charge",
        "units",
        "service_date",
        "line_control_number",
    ) == [
        (1, "0450", "HC", "99284", "25", D("800.00"), D("1"), date(2025, 2, 10), "HOSP-L1"),
        # lines 2 and 3 have no DTP*472: the claim's statement_from
        (2, "0300", "HC", "80053", None, D("250.00"), D("1"), date(2025, 2, 10), None),
        (3, "0250", None, None, None, D("150.00"), D("3"), date(2025, 2, 10), None),  # revenue code only
    ]


def test_dental():
    r = load("dental.837")
    (claim,) = r.submitted_claims.to_pylist()
    assert claim["claim_type"] == "dental" and claim["patient_control_number"] == "DENT-3001"
    assert claim["claim_charge"] == D("310.00") and claim["frequency_code"] == "8"  # a void
    assert claim["payer_claim_control_number"] == "DCN20250401" and claim["payer_id"] == "DELTA9"
    assert claim["rendering_provider_npi"] == "1932102084"
    # no DTP*434 in an 837D: the range of the line dates 04-02, 04-01
    assert (claim["statement_from"], claim["statement_to"]) == (date(2025, 4, 1), date(2025, 4, 2))
    assert rows(
        r.submitted_lines,
        "line_number",
        "procedure_qualifier",
        "procedure_code",
        "line_charge",
        "units",
        "tooth_number",
        "service_date",
        "line_control_number",
        "revenue_code",
    ) == [
        (1, "AD", "D2391", D("160.00"), D("1"), "3", date(2025, 4, 2), "D-LINE-1", None),
        (2, "AD", "D0120", D("50.00"), D("1"), None, date(2025, 4, 1), None, None),
        # two TOO segments: the first; no DTP*472: the claim's statement_from
        (3, "AD", "D1110", D("100.00"), D("1"), "14", date(2025, 4, 1), None, None),
    ]


def test_line_charges_sum_to_the_claim_charge_in_every_fixture():
    for name in ("professional.837", "institutional.837", "dental.837"):
        r = load(name)
        sums: dict[str, D] = {}
        for line in r.submitted_lines.to_pylist():
            sums[line["claim_number"]] = sums.get(line["claim_number"], D(0)) + line["line_charge"]
        assert {c["claim_number"]: c["claim_charge"] for c in r.submitted_claims.to_pylist()} == sums


def test_patient_key_is_the_835s_keyed_hash_and_no_identity_is_stored():
    r = load("professional.837", SECRET)
    keys = r.submitted_claims.column("patient_key").to_pylist()
    # claim 1: the subscriber is the patient (2010BA NM1*IL); claim 2: the dependent of 2010CA (no id)
    assert keys == [hmac_reference(SECRET, "SAMPLE|ALEX|MI|MEM0001"), hmac_reference(SECRET, "CHILD|CASEY||")]
    # the same patient on an 835 (NM1*QC with the same name and member id) gets the same key
    remit = (
        b"ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *250401*1200*^*00501*"
        b"000000009*0*P*:~GS*HP*PAYER*CLINIC*20250401*1200*9*X*005010X221A1~ST*835*0001~"
        b"BPR*I*100*C*ACH*CCP*01*111000025*DA*1*1512345678**01*222000111*DA*2*20250401~TRN*1*T1*1512345678~"
        b"N1*PR*ACME HEALTH PLAN~N1*PE*NORTHSIDE CLINIC*XX*1234567893~LX*1~CLP*PCN-1001*1*250*100**12*ICN1~"
        b"NM1*QC*1*Sample*Alex****MI*MEM0001~CAS*CO*45*150~SE*10*0001~GE*1*9~IEA*1*000000009~"
    )
    assert (
        parse_835(remit, "r.835", patient_key_secret=SECRET).claims.column("patient_key")[0].as_py()
        == keys[0]
    )
    assert load("professional.837").submitted_claims.column("patient_key").null_count == 2  # no secret
    text = str([t.to_pylist() for t in r.tables().values()])
    for identity in (
        "SAMPLE",
        "ALEX",
        "MEM0001",
        "19800101",
        "CHILD",
        "CASEY",
        "20150505",
        "PARENT",
        "MEM0002",
    ):
        assert identity not in text


def test_line_breaks_and_padding_change_nothing():
    data = (FIX / "professional.837").read_bytes()
    flat = data.replace(b"\n", b"")
    crlf = data.replace(b"\n", b"\r\n")
    a, b, c = parse_837(flat, "a"), parse_837(crlf, "b"), parse_837(data, "c")
    for name in schema.SUBMISSION_TABLES:
        keep = [n for n in schema.SUBMISSION_TABLES[name].names if n not in ("file_id", "file_key")]
        assert a.tables()[name].select(keep).equals(c.tables()[name].select(keep))
        assert b.tables()[name].select(keep).equals(c.tables()[name].select(keep))


def test_transaction_set_is_read_from_st01():
    assert transaction_set((FIX / "dental.837").read_bytes()) == "837"
    assert transaction_set((FIX.parent / "835" / "remarks.835").read_bytes()) == "835"
    # a sender id holding "ST" followed by the separator is not an ST segment
    tricky = (FIX / "professional.837").read_bytes().replace(b"SUBMITTER01    ", b"TEST*          ", 1)
    assert transaction_set(tricky) in ("837", None)
    assert transaction_set(b"hello") is None


# ---- errors: file, segment number and what is wrong -------------------------------------------------


def test_clm_without_amount():
    data = (FIX / "professional.837").read_bytes().replace(b"CLM*PCN-1001*250.00*", b"CLM*PCN-1001**")
    err = problems(data)
    assert err.source == "bad.837"
    p = err.first
    # CLM is the 20th segment of the file (ISA = 1)
    assert (p.segment_number, p.segment_id) == (20, "CLM")
    assert "CLM02 (total claim charge) is missing (required)" in p.message
    assert str(err).startswith("bad.837: segment 20 CLM")


def test_clm_amount_that_is_not_a_number():
    data = (FIX / "professional.837").read_bytes().replace(b"*80.5***11:B:7", b"*80.5X***11:B:7")
    p = problems(data).first
    assert (p.segment_number, p.segment_id) == (46, "CLM")
    assert "CLM02 (total claim charge) is not a valid amount" in p.message


def test_se_count_mismatch():
    data = (FIX / "dental.837").read_bytes().replace(b"SE*35*0001", b"SE*34*0001")
    p = problems(data).first
    assert (p.segment_number, p.segment_id) == (37, "SE")
    assert p.message == "SE01 says '34' segments, the transaction has 35"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (b"*005010X222A1~", b"*004010X098A1~", "ST03 '004010X098A1' is not supported"),
        (b"*005010X222A1~", b"*005010X221A1~", "ST03 '005010X221A1' is not supported"),
    ],
)
def test_unsupported_version(old: bytes, new: bytes, expected: str):
    data = (FIX / "professional.837").read_bytes().replace(old, new)
    msgs = [p.message for p in problems(data).problems]
    assert any(expected in m and "005010X222A1" in m for m in msgs), msgs
    assert problems(data).problems[0].segment_id in ("GS", "ST")


def test_an_835_is_not_an_837():
    p = problems((FIX.parent / "835" / "remarks.835").read_bytes(), "remit.835").first
    assert p.segment_id == "ST" and "transaction set '835' is not an 837 (ST01)" in p.message


def test_structure_problems():
    data = (FIX / "professional.837").read_bytes()
    # a service segment of the wrong kind for the guide
    p = problems(data.replace(b"SV1*HC:99392", b"SV2*0450*HC:99392", 1)).first
    assert p.segment_id == "SV2" and "SV2 in an 837P (professional) claim, which has SV1 lines" in p.message
    # a claim with no payer in its subscriber loop
    p = problems(data.replace(b"NM1*PR*2*BETA INSURANCE*****PI*BETA77~", b"REF*SY*X~")).first
    assert p.segment_id == "CLM" and p.segment_number == 46 and "no NM1*PR (loop 2010BB)" in p.message
    # a line with no service segment
    p = problems(data.replace(b"SV1*HC:99392*80.5*UN*1***1~", b"NTE*ADD*X~")).first
    assert (p.segment_id, p.segment_number) == ("LX", 49) and "without a service segment" in p.message


def test_not_x12_and_empty():
    assert "not an X12 file" in problems(b"hello world").first.message
    assert "empty file" in problems(b"  \n").first.message
    assert "input is not bytes" in problems(None).first.message  # type: ignore[arg-type]


def _pyx12_errors(path: Path) -> tuple[bool, list[str]]:
    """pyx12's validator on one file: (valid, the error lines it logged)."""
    import pyx12.params
    import pyx12.x12n_document

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.ERROR)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        ok = pyx12.x12n_document.x12n_document(
            pyx12.params.params(), str(path), fd_997=io.StringIO(), fd_html=None
        )
    finally:
        root.removeHandler(handler)
    return bool(ok), stream.getvalue().splitlines()


@pytest.mark.parametrize("name", ["professional.837", "institutional.837"])
def test_pyx12_validates_the_fixtures(name: str):
    ok, errors = _pyx12_errors(FIX / name)
    assert ok and not errors, errors


def test_pyx12_check_can_fail(tmp_path: Path):
    bad = tmp_path / "bad.837"
    bad.write_bytes((FIX / "professional.837").read_bytes().replace(b"SE*51*", b"SE*50*"))
    ok, _ = _pyx12_errors(bad)
    assert not ok


# ---- the field table ------------------------------------------------------------------------------


def test_every_column_comes_from_a_field_or_is_computed():
    from pipeline.x12 import fields837

    for table, sch in schema.SUBMISSION_TABLES.items():
        from_fields = {f.column for f in fields837.FIELDS if f.table == table}
        computed = set(fields837.COMPUTED[table])
        assert set(sch.names) == from_fields | computed, table
        assert not from_fields & computed, table
    for f in fields837.FIELDS:
        assert f.type in fields837.TYPES and f.source in fields837.CLAIM_SOURCES + fields837.LINE_SOURCES


def test_staging_views_expose_every_column():
    import re

    for table in schema.SUBMISSION_TABLES:
        text = (FIX.parents[2] / "sql" / "staging" / f"stg_{table}.sql").read_text()
        documented = re.findall(r"^-- column (\w+):", text, re.M)
        # and the keys and readable ids it makes from them (docs/parser.md, "Keys and ids")
        made = {"transaction_id", "submitted_claim_id", "submitted_claim_ref"}
        assert [c for c in documented if c not in made] == schema.SUBMISSION_TABLES[table].names, table


def test_docs_hold_the_generated_field_table():
    from pipeline.x12 import fields837

    text = (FIX.parents[2] / "docs" / "parser.md").read_text()
    assert fields837.markdown() in text, (
        "run python -m pipeline.x12.fields837 and paste it into docs/parser.md"
    )


# ---- public sample 837s (tests/fixtures/837/public, README there: source, commit, licence) ---------

PUBLIC = FIX / "public"


def test_public_837p_example1():
    r = parse_837((PUBLIC / "demo.example1.837").read_bytes(), "demo.example1.837", patient_key_secret=SECRET)
    (claim,) = r.submitted_claims.to_pylist()
    assert claim["claim_type"] == "professional" and claim["version"] == "005010X222A2"
    assert (claim["patient_control_number"], claim["claim_charge"]) == ("26463774", D("100.00"))
    assert (claim["payer_id"], claim["payer_name"]) == ("999996666", "KEY INSURANCE COMPANY")
    assert (claim["billing_provider_npi"], claim["rendering_provider_npi"]) == ("1912301953", None)
    assert (claim["submission_date"], claim["batch_id"]) == (date(2006, 10, 15), "244579")
    assert (claim["statement_from"], claim["statement_to"]) == (date(2006, 10, 3), date(2006, 10, 10))
    assert claim["patient_key"] == hmac_reference(SECRET, "SMITH|TED||")  # the dependent of HL 23
    assert claim["is_balanced"] and claim["line_count"] == 4
    assert rows(r.submitted_lines, "procedure_code", "line_charge", "service_date") == [
        ("99213", D("40.00"), date(2006, 10, 3)),
        ("87070", D("15.00"), date(2006, 10, 3)),
        ("99214", D("35.00"), date(2006, 10, 10)),
        ("86663", D("10.00"), date(2006, 10, 10)),
    ]


def test_public_837p_coordination_of_benefits():
    r = parse_837((PUBLIC / "demo.cob.example3.A.837").read_bytes(), "cob.837")
    (claim,) = r.submitted_claims.to_pylist()
    # CLM02 79.04 = 43.00 + 15.00 + 21.04; the rendering provider of 2310B, the payer of 2010BB
    assert (claim["patient_control_number"], claim["claim_charge"]) == ("26407789", D("79.04"))
    assert claim["rendering_provider_npi"] == "1999996666" and claim["payer_id"] == "999996666"
    assert claim["is_balanced"]
    assert r.submitted_lines.column("procedure_code").to_pylist() == ["99213", "90782", "J3301"]


def test_public_837i_files():
    r = parse_837((PUBLIC / "institutional-claim.837i").read_bytes(), "i.837i")
    (claim,) = r.submitted_claims.to_pylist()
    assert claim["claim_type"] == "institutional" and claim["version"] == "005010X223A3"
    # the payer of 2010BB (MEDICARE B, 00435), not the other payer of 2330B (STATE TEACHERS, 1135)
    assert (claim["payer_id"], claim["payer_name"]) == ("00435", "MEDICARE B")
    assert (claim["claim_charge"], claim["facility_code"], claim["frequency_code"]) == (D("89.93"), "14", "1")
    # DTP*434*D8*19960911: one day; no NM1*82 (the attending NM1*71 is not the rendering provider)
    assert (claim["statement_from"], claim["statement_to"]) == (date(1996, 9, 11), date(1996, 9, 11))
    assert claim["rendering_provider_npi"] is None
    assert rows(r.submitted_lines, "revenue_code", "procedure_code", "line_charge", "units") == [
        ("0305", "85025", D("13.39"), D("1")),
        ("0730", "93005", D("76.54"), D("3")),
    ]
    r = parse_837((PUBLIC / "two-claims-single-provider.837i").read_bytes(), "two.837i")
    assert rows(
        r.submitted_claims, "patient_control_number", "claim_charge", "statement_from", "line_count"
    ) == [
        ("756048Q", D("89.95"), date(2005, 3, 15), 2),
        ("756049Q", D("50.00"), date(2005, 4, 1), 1),
    ]
    assert set(r.submitted_claims.column("payer_id").to_pylist()) == {"99999"}


def test_public_4010_837_is_rejected_with_a_clear_message():
    err = problems((PUBLIC / "patient-is-dependent.837").read_bytes(), "patient-is-dependent.837")
    p = err.first
    assert (p.segment_number, p.segment_id) == (3, "ST")
    assert "its group's GS08 '004010X098A1' is not supported" in p.message
    assert "005010X222A1" in p.message and str(err).startswith("patient-is-dependent.837: segment 3 ST")


def test_remit_parse_takes_837s_too(tmp_path: Path, capsys):
    import pyarrow.parquet as pq

    from pipeline.cli import main

    files = [FIX / "professional.837", FIX / "dental.837", FIX.parent / "835" / "remarks.835"]
    files.append(PUBLIC / "patient-is-dependent.837")
    out = tmp_path / "out"
    rc = main(["--home", str(tmp_path / "nohome"), "parse", *map(str, files), "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 3, printed  # the 4010 837 is rejected, the rest parsed
    assert "rejected patient-is-dependent.837: segment 3 ST" in printed
    assert "parsed 3 of 4 files" in printed and "submitted_claims 3, submitted_lines 6" in printed
    claims = pq.read_table(out / "submitted_claims.parquet")
    assert claims.schema.equals(schema.SUBMITTED_CLAIMS)
    assert sorted(claims.column("patient_control_number").to_pylist()) == [
        "DENT-3001",
        "PCN-1001",
        "PCN-1002",
    ]
    assert pq.read_table(out / "submitted_lines.parquet").num_rows == 6  # 3 + 3
    assert pq.read_table(out / "claims.parquet").num_rows == 2  # the 835's


@pytest.fixture(autouse=True)
def _quiet_cli_logging():
    """The CLI binds its log handler to the captured stderr of the test; drop it afterwards."""
    yield
    logging.getLogger("remit").handlers.clear()


def test_pyx12_validates_the_benchmarks_generated_837(tmp_path: Path):
    from pipeline.bench.parser import remit_837_tally, synthetic_837

    data = synthetic_837(60_000)
    path = tmp_path / "bench.837"
    path.write_bytes(data)
    ok, errors = _pyx12_errors(path)
    assert ok and not errors, errors[:5]
    tally = remit_837_tally(data)
    # CLM02 of each claim, summed by hand from the text
    clm02 = [D(seg.split(b"*")[2].decode()) for seg in data.split(b"~\n") if seg.startswith(b"CLM*")]
    assert tally == {"claims": len(clm02), "charge": sum(clm02)}


def test_segments_outside_a_transaction():
    data = (FIX / "dental.837").read_bytes()
    moved = data.replace(b"SE*35*0001~\n", b"").replace(b"GE*1*301~", b"SE*34*0001~\nTOO*JP*15~\nGE*1*301~")
    moved = moved.replace(b"TOO*JP*14~\nTOO*JP*15~\nSE*34", b"TOO*JP*14~\nSE*34")
    p = problems(moved).first
    # ST is segment 3, its SE*34 segment 36: the TOO moved after it is segment 37
    assert (p.segment_id, p.segment_number) == ("TOO", 37)
    assert p.message == "segment outside a transaction (not between an ST and its SE)"


def test_mangled_files_give_only_parse_errors():
    """Truncations and segment-level damage (deleted, repeated, swapped, cut, a byte changed) of every
    fixture: each parses or raises X12ParseError, never anything else (nor crashes the compiled walk)."""
    import random

    rnd = random.Random(19)
    files = sorted(FIX.glob("*.837")) + sorted(PUBLIC.glob("*.837*"))
    outcomes = {"parsed": 0, "rejected": 0}
    for path in files:
        data = path.read_bytes()
        cases = [data[:k] for k in range(0, len(data), 97)]
        segs = data.split(b"~")
        for _ in range(40):
            s, i = list(segs), rnd.randrange(len(segs))
            op = rnd.randrange(5)
            if op == 0:
                del s[i]
            elif op == 1:
                s.insert(i, s[rnd.randrange(len(s))])
            elif op == 2:
                s[i] = s[i][: rnd.randrange(len(s[i]) + 1)]
            elif op == 3:
                j = rnd.randrange(len(s))
                s[i], s[j] = s[j], s[i]
            elif s[i]:
                b = bytearray(s[i])
                b[rnd.randrange(len(b))] = rnd.choice(b"*:~^09AZ \n")
                s[i] = bytes(b)
            cases.append(b"~".join(s))
        for case in cases:
            try:
                parse_837(case, path.name, patient_key_secret=SECRET)
                outcomes["parsed"] += 1
            except X12ParseError as exc:
                assert exc.problems and str(exc).startswith(path.name)
                outcomes["rejected"] += 1
    assert outcomes["parsed"] > 0 and outcomes["rejected"] > 0


def test_transaction_set_of_utf16_and_long_headers():
    data = (FIX / "institutional.837").read_bytes()
    assert transaction_set(data.decode().encode("utf-16")) == "837"  # read as the parsers read it
    # an ISA/GS so long (a padded envelope) that the first ST lies beyond the first 64 KiB
    padded = data.replace(b"GS*HC*", b"GS*HC*" + b" " * 70_000, 1)
    assert transaction_set(padded) == "837"


def test_the_bench_compares_837_with_835_in_one_run():
    from pipeline.bench.parser import compare_837, remit_tally

    data = (FIX.parent / "835" / "remarks.835").read_bytes()  # a small 835: the figures' plumbing
    cmp = compare_837(data, 1e9, 1e9)  # a hopeless first 835 timing: the second one is taken
    assert cmp["ok"] and cmp["claims"] >= 1
    assert cmp["mb_s_837"] > 0 and cmp["mb_s_835"] > len(data) / 1e6 / 1e9
    assert remit_tally(data)["claims"] >= 1


@pytest.mark.parametrize("name", ["fixtures", "bench"])
def test_slices_read_on_two_threads_give_the_same_tables_and_problems(name: str, monkeypatch):
    """A large file's columns are read in slices of claims (``SLICE_CLAIMS``), two at a time. Sliced one
    claim, or three, at a time, the three fixtures as one file (three interchanges: professional,
    institutional and dental claims) and the bench's 837P of several transactions give the tables and
    the problems that one slice gives, with claims numbered across the whole file."""
    from pipeline.bench.parser import synthetic_837
    from pipeline.x12 import parser837

    if name == "bench":
        data = synthetic_837(60_000)
    else:
        names = ("professional.837", "institutional.837", "dental.837")
        data = b"".join((FIX / n).read_bytes() for n in names)
    # a bad charge in the first claim and a bad date in the last line: problems from two slices
    clm = data.index(b"CLM*")
    a = data.index(b"*", clm + 4) + 1
    broken = data[:a] + b"1.2.3" + data[data.index(b"*", a) :]
    dtp = broken.rindex(b"DTP*472*D8*") + len(b"DTP*472*D8*")
    broken = broken[:dtp] + b"2025133" + broken[dtp + 8 :]

    def parsed(slice_claims: int):
        monkeypatch.setattr(parser837, "SLICE_CLAIMS", slice_claims)
        r = parse_837(data, name, patient_key_secret=SECRET)
        with pytest.raises(X12ParseError) as info:
            parse_837(broken, name, patient_key_secret=SECRET)
        found = sorted((p.segment_number, p.segment_id, p.message) for p in info.value.problems)
        return r.submitted_claims.combine_chunks(), r.submitted_lines.combine_chunks(), found

    whole = parsed(10**9)
    claims = whole[0].num_rows
    assert claims == (4 if name == "fixtures" else data.count(b"CLM*"))
    assert whole[0].column("claim_number").to_pylist() == list(range(1, claims + 1))
    # one problem for the one bad date (a D8 date was once reported twice: as first and as last date)
    assert [segment_id for _, segment_id, _ in whole[2]] == ["CLM", "DTP"]
    for size in (1, 3):
        sliced = parsed(size)
        assert sliced[0].equals(whole[0]) and sliced[1].equals(whole[1]), size
        assert sliced[2] == whole[2], size


@pytest.mark.parametrize("name", ["fixtures", "bench"])
def test_pieces_cut_at_transactions_give_the_tables_of_the_whole_file(name: str):
    """A large 837 is parsed in pieces cut at ST boundaries (``parse_837_chunks``: a 400 MB 837P held
    3.0 GiB whole, 7.5 times its size): one piece per transaction here. Joined, they are the whole file's
    tables, claims and transactions numbered across the file; a problem is the whole file's first one
    (pieces stop at the piece that has one), an unclosed envelope the same at the last piece."""
    from pipeline.bench.parser import synthetic_837
    from pipeline.x12 import parse_837_chunks

    if name == "bench":
        data = synthetic_837(700_000)  # transactions of 1,000 claims
    else:
        data = b"".join(
            (FIX / n).read_bytes() for n in ("professional.837", "institutional.837", "dental.837")
        )
    whole = parse_837(data, name, patient_key_secret=SECRET)
    pieces = list(parse_837_chunks(data, name, patient_key_secret=SECRET, max_chunk_bytes=1))
    assert (
        len(pieces) == data.count(b"ST*837*") == whole.transactions == sum(p.transactions for p in pieces) > 1
    )
    claims = pa.concat_tables([p.submitted_claims for p in pieces]).combine_chunks()
    lines = pa.concat_tables([p.submitted_lines for p in pieces]).combine_chunks()
    assert claims.equals(whole.submitted_claims.combine_chunks())
    assert lines.equals(whole.submitted_lines.combine_chunks())
    if name == "fixtures":  # 2 + 1 + 1 claims in three transactions, numbered across the file
        assert claims.column("claim_number").to_pylist() == [1, 2, 3, 4]
        assert claims.column("transaction_ordinal").to_pylist() == [1, 1, 2, 3]
    # a bad date in the last claim's line, and a file cut before its last IEA
    dtp = data.rindex(b"DTP*472*D8*") + len(b"DTP*472*D8*")
    for bad in (data[:dtp] + b"2025133" + data[dtp + 8 :], data[: data.rindex(b"IEA*")]):
        with pytest.raises(X12ParseError) as one:
            parse_837(bad, name, patient_key_secret=SECRET)
        with pytest.raises(X12ParseError) as cut:
            list(parse_837_chunks(bad, name, patient_key_secret=SECRET, max_chunk_bytes=1))
        assert cut.value.problems[0] == one.value.problems[0]


def test_parse_837_leaves_pandas_unimported():
    """``remit parse`` and the lake's workers never use pandas; building an array with ``pa.array``
    imports it (0.16 s of every process that parsed an 837). The 837's columns are built from buffers,
    as the 835's are: a fresh interpreter parsing every fixture (with a patient key) has not imported it."""
    import subprocess
    import sys

    code = f"""
import sys
from pathlib import Path
from pipeline.x12 import parse_837
for path in sorted(Path({str(FIX)!r}).glob("*.837")):
    s = parse_837(path.read_bytes(), path.name, patient_key_secret=b"k")
    assert s.submitted_claims.num_rows and s.submitted_lines.num_rows
print("pandas" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]
