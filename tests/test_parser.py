"""The 835 parser on hand-built fixtures: every expected value below was worked out by reading the
fixture by hand (tests/fixtures/835/), not taken from the parser."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.x12 import Remittance835, X12ParseError, parse_835, parse_835_chunks, parse_files, schema

FIX = Path(__file__).resolve().parent / "fixtures" / "835"


def load(name: str, **kw) -> Remittance835:
    return parse_835((FIX / name).read_bytes(), name, **kw)


def col(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist()


def test_schemas_are_the_contract():
    r = load("custom_delimiters.835")
    for name, table in r.tables().items():
        assert table.schema.equals(schema.REMITTANCE_TABLES[name]), name
    assert list(r.row_counts()) == list(schema.REMITTANCE_TABLES)
    data = (FIX / "custom_delimiters.835").read_bytes()
    assert r.file_id == hashlib.sha256(data).hexdigest()


def test_custom_delimiters_pipe_gt_bang():
    r = load("custom_delimiters.835")
    assert r.row_counts() == {
        "payments": 1,
        "claims": 1,
        "service_lines": 1,
        "adjustments": 1,
        "remarks": 0,
        "provider_adjustments": 0,
        "claim_references": 0,
        "provider_summaries": 1,  # its LX*1
    }
    p = r.payments.to_pylist()[0]
    # the file's key: its sha256's first 8 bytes, offset by 2**63 (docs/parser.md, "Keys and ids")
    assert p["file_key"] == int(r.file_id[:16], 16) - 2**63
    assert p["file_id"] == r.file_id and p["transaction_ordinal"] == 1
    assert schema.transaction_ref(r.file_id, p["transaction_ordinal"]) == f"{r.file_id[:24]}-1"
    assert r.claims.to_pylist()[0]["file_key"] == p["file_key"]
    assert p["payment_amount"] == D("80.00")
    assert p["payment_date"] == dt.date(2025, 3, 5)
    assert p["production_date"] == dt.date(2025, 3, 4)
    assert p["trace_number"] == "TRACE1"
    assert p["payer_name"] == "ACME HEALTH PLAN"
    assert p["payer_id"] == "PAYER01"
    assert p["payee_npi"] == "1234567893"
    assert p["payee_tax_id"] == "987654321"
    assert p["interchange_control_number"] == "000000001"
    assert p["interchange_sender_id"] == "SENDER"
    assert p["version"] == "005010X221A1"
    assert p["is_balanced"] is True and p["balance_difference"] == D("0.00")
    line = r.service_lines.to_pylist()[0]
    assert (line["procedure_qualifier"], line["procedure_code"]) == ("HC", "99213")
    assert line["modifiers"] == ["25", "59"]
    assert (line["claim_number"], line["transaction_ordinal"], line["line_number"]) == (1, 1, 1)
    assert line["units_paid"] == D("1.000")
    claim = r.claims.to_pylist()[0]
    assert claim["patient_control_number"] == "PCN1"
    assert claim["segment_number"] == 10  # ST=1 … LX=9, CLP=10
    assert claim["patient_key"] is None  # no secret given
    adj = r.adjustments.to_pylist()[0]
    assert (adj["group_code"], adj["reason_code"], adj["amount"]) == ("CO", "45", D("20.00"))
    # a line-level adjustment: its claim and line, CAS 1, triple 1 (the parts of its key)
    assert (adj["claim_number"], adj["line_number"], adj["cas_ordinal"], adj["position"]) == (1, 1, 1, 1)


def test_several_interchanges_with_different_delimiters():
    r = load("multi_interchange.835")
    assert col(r.payments, "interchange_control_number") == ["000000101", "000000102"]
    assert col(r.payments, "group_control_number") == ["101", "102"]
    assert col(r.payments, "trace_number") == ["T-A", "T-B"]
    assert col(r.payments, "transaction_ordinal") == [1, 2]
    assert col(r.service_lines, "procedure_code") == ["99212", "D0120"]
    assert col(r.service_lines, "is_dental") == [False, True]  # CDT code under HC
    assert col(r.claims, "paid_amount") == [D("90.00"), D("40.00")]
    # claims numbered in the file; their transaction and position in it name them to people
    assert col(r.claims, "claim_number") == [1, 2]
    assert col(r.claims, "transaction_ordinal") == [1, 2]
    assert col(r.claims, "claim_ordinal") == [1, 1]
    assert all(col(r.payments, "is_balanced"))


def test_plb_only_transaction():
    r = load("plb_only.835")
    assert r.claims.num_rows == 0
    pl = r.provider_adjustments.to_pylist()
    assert len(pl) == 8  # 2 pairs + 6 pairs
    assert [(x["reason_code"], x["reference_id"], x["amount"]) for x in pl[:2]] == [
        ("L6", "INT1", D("-12.34")),
        ("WO", "CLM99", D("2.34")),
    ]
    assert [x["position"] for x in pl] == [1, 2, 1, 2, 3, 4, 5, 6]
    assert [x["plb_ordinal"] for x in pl] == [1, 1, 2, 2, 2, 2, 2, 2]
    assert pl[7]["amount"] == D("-15.00") and pl[7]["reference_id"] == "A6"
    assert {x["fiscal_period_date"] for x in pl} == {dt.date(2025, 12, 31)}
    assert {x["provider_id"] for x in pl} == {"1234567893"}
    p = r.payments.to_pylist()[0]
    # Σ PLB = -12.34 + 2.34 + (1+2+3+4+5-15) = -10.00; BPR02 = 0 - (-10.00) = 10.00
    assert p["plb_total"] == D("-10.00")
    assert p["claim_count"] == 0 and p["claim_paid_total"] == D("0.00")
    assert p["is_balanced"] is True


def test_six_triple_cas_with_quantities_and_claim_level_cas():
    r = load("cas_six_triples.835")
    adj = r.adjustments.to_pylist()
    claim_level = [a for a in adj if a["line_number"] is None]
    assert [(a["group_code"], a["reason_code"], a["amount"], a["quantity"]) for a in claim_level] == [
        ("OA", "23", D("100.00"), None),
        ("OA", "94", D("-10.00"), None),
    ]
    line_level = [a for a in adj if a["line_number"] is not None]
    assert [(a["reason_code"], a["amount"], a["quantity"], a["position"]) for a in line_level[:6]] == [
        ("45", D("100.00"), D("1.000"), 1),
        ("253", D("10.00"), D("1.000"), 2),
        ("97", D("20.00"), D("2.000"), 3),
        ("16", D("30.00"), None, 4),
        ("B15", D("150.00"), D("3.000"), 5),
        ("151", D("130.00"), D("1.500"), 6),
    ]
    assert {a["group_code"] for a in line_level[:6]} == {"CO"}
    assert [a["cas_ordinal"] for a in line_level] == [1] * 6 + [2]
    assert line_level[6]["group_code"] == "PR" and line_level[6]["amount"] == D("60.00")
    line = r.service_lines.to_pylist()[0]
    assert line["is_balanced"] is True  # 1000 - (440 + 60) = 500
    claim = r.claims.to_pylist()[0]
    assert claim["is_balanced"] is True  # 1000 - 90 - 500 = 410
    assert claim["line_count"] == 1
    # the parts of the adjustment key are unique per row (docs/parser.md, "Keys and ids")
    parts = {(a["claim_number"], a["line_number"], a["cas_ordinal"], a["position"]) for a in adj}
    assert len(parts) == len(adj)


def test_mia_moa_and_lq_remarks():
    r = load("remarks.835")
    rem = r.remarks.to_pylist()
    got = [(x["level"], x["source"], x["remark_code"]) for x in rem]
    assert got == [
        ("claim", "MIA", "MA01"),
        ("claim", "MIA", "M1"),
        ("claim", "MIA", "M2"),
        ("claim", "MIA", "N1"),
        ("claim", "MIA", "N2"),
        ("claim", "MOA", "MA130"),
        ("claim", "MOA", "N20"),
        ("claim", "MOA", "M3"),
        ("claim", "MOA", "N4"),
        ("claim", "MOA", "M5"),
        ("line", "LQ", "N130"),
        ("line", "LQ_RX", "70"),
    ]
    ids = col(r.claims, "claim_number")
    assert [x["claim_number"] for x in rem] == [ids[0]] * 5 + [ids[1]] * 7
    line = r.service_lines.to_pylist()[0]
    assert (rem[10]["claim_number"], rem[10]["line_number"]) == (line["claim_number"], line["line_number"])
    assert [x["line_number"] is None for x in rem] == [x["level"] == "claim" for x in rem]
    assert col(r.claims, "drg_code") == ["470", None]
    assert all(col(r.claims, "is_balanced")) and r.payments.column("is_balanced")[0].as_py()


def test_reversal_and_correction():
    r = load("reversal.835")
    claims = r.claims.to_pylist()
    assert [c["is_reversal"] for c in claims] == [True, False]
    assert [c["claim_status_code"] for c in claims] == ["22", "1"]
    assert [c["charge_amount"] for c in claims] == [D("-300.00"), D("300.00")]
    assert [c["paid_amount"] for c in claims] == [D("-200.00"), D("220.00")]
    assert [c["patient_responsibility_amount"] for c in claims] == [D("-50.00"), D("50.00")]
    assert claims[1]["original_reference_number"] == "PCCR1"
    assert all(c["is_balanced"] for c in claims)
    assert [a["amount"] for a in r.adjustments.to_pylist()] == [D(x) for x in ("-50", "-50", "30", "50")]
    p = r.payments.to_pylist()[0]
    assert p["claim_paid_total"] == D("20.00") and p["is_balanced"] is True


def test_svc06_dates_and_line_references():
    r = load("svc06_dates.835")
    c = r.claims.to_pylist()[0]
    assert (c["statement_from_date"], c["statement_to_date"], c["received_date"]) == (
        dt.date(2025, 1, 1),
        dt.date(2025, 1, 3),
        dt.date(2025, 1, 10),
    )
    assert c["coverage_amount"] == D("300.00")
    lines = r.service_lines.to_pylist()
    assert (lines[0]["original_procedure_qualifier"], lines[0]["original_procedure_code"]) == ("HC", "99204")
    assert lines[0]["original_units"] == D("1.000")
    assert lines[1]["original_procedure_code"] is None
    assert [(x["service_date_from"], x["service_date_to"]) for x in lines] == [
        (dt.date(2025, 1, 1), dt.date(2025, 1, 1)),  # DTM*472 single date
        (dt.date(2025, 1, 1), dt.date(2025, 1, 3)),  # DTM*472 RD8 range
        (dt.date(2025, 1, 2), dt.date(2025, 1, 3)),  # DTM*150 / DTM*151
    ]
    assert lines[0]["line_control_number"] == "LINE1" and lines[0]["allowed_amount"] == D("100.00")
    assert lines[1]["line_control_number"] is None
    assert lines[2]["revenue_code"] == "0450" and lines[2]["procedure_qualifier"] == "NU"
    assert lines[1]["units_paid"] == D("2.000")
    assert [x["modifiers"] for x in lines] == [[], [], []]
    plb = r.provider_adjustments.to_pylist()[0]
    assert plb["fiscal_period_date"] == dt.date(2025, 12, 31) and plb["amount"] == D("5.00")
    p = r.payments.to_pylist()[0]
    assert p["payment_date"] == dt.date(2025, 3, 5)
    assert p["is_balanced"] is True  # 300 - 5 = 295


def test_bom_crlf_and_no_newlines_give_the_same_tables():
    data = (FIX / "bom_crlf.835").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"~\r\n" in data
    a = parse_835(data, "a")
    flat = data[3:].replace(b"\r\n", b"")
    b = parse_835(flat + b"\n\n  \n", "b")
    for name in schema.REMITTANCE_TABLES:
        # keys embed the file's sha256, which differs; everything else must be identical
        keep = [n for n in schema.REMITTANCE_TABLES[name].names if n not in ("file_id", "file_key", "source")]
        assert a.tables()[name].select(keep).equals(b.tables()[name].select(keep)), name
    assert a.claims.column("paid_amount").to_pylist() == [D("100.00")]
    assert a.adjustments.column("group_code").to_pylist() == ["PR"]


def test_unbalanced_is_loaded_and_flagged():
    r = load("unbalanced.835")
    line = r.service_lines.to_pylist()[0]
    claim = r.claims.to_pylist()[0]
    pay = r.payments.to_pylist()[0]
    # line and claim: 500 - 150 - 300 = 50; transaction: 310 - (300 - 0) = 10
    assert (line["is_balanced"], line["balance_difference"]) == (False, D("50.00"))
    assert (claim["is_balanced"], claim["balance_difference"]) == (False, D("50.00"))
    assert (pay["is_balanced"], pay["balance_difference"]) == (False, D("10.00"))


def test_patient_key_is_an_hmac_and_no_names_are_stored():
    secret = b"s3cret"
    r = load("custom_delimiters.835", patient_key_secret=secret)
    want = hmac.new(secret, b"DOE|JANE|MI|MEMBER1", hashlib.sha256).hexdigest()
    assert r.claims.column("patient_key").to_pylist() == [want]
    for table in r.tables().values():
        for column in table.columns:
            text = str(column.to_pylist())
            assert "JANE" not in text and "MEMBER1" not in text


def test_chunks_give_the_same_ids_as_one_piece():
    data = (FIX / "multi_interchange.835").read_bytes()
    whole = parse_835(data, "m")
    pieces = list(parse_835_chunks(data, "m", max_chunk_bytes=300))
    assert len(pieces) == 2
    for name in schema.REMITTANCE_TABLES:
        joined = pa.concat_tables([p.tables()[name] for p in pieces])
        assert joined.equals(whole.tables()[name]), name


def test_parse_files_writes_six_tables_and_lists_rejects(tmp_path: Path):
    import pyarrow.parquet as pq

    bad = tmp_path / "bad.835"
    bad.write_bytes(b"hello, not an 835")
    files = [FIX / "reversal.835", bad, FIX / "plb_only.835"]
    res = parse_files(files, tmp_path / "out", secret=None)
    assert res.parsed == 2
    assert [e.source for e in res.rejected] == ["bad.835"]
    assert res.row_counts["claims"] == 2 and res.row_counts["provider_adjustments"] == 8
    for name, sch in schema.REMITTANCE_TABLES.items():
        t = pq.read_table(tmp_path / "out" / f"{name}.parquet")
        assert t.schema.equals(sch) and t.num_rows == res.row_counts[name]


# ---- errors ----------------------------------------------------------------------------------------
def _err(data: bytes) -> X12ParseError:
    with pytest.raises(X12ParseError) as info:
        parse_835(data, "f.835")
    return info.value


def test_another_transaction_set_is_rejected():
    data = (FIX / "bom_crlf.835").read_bytes()[3:].replace(b"ST*835*", b"ST*837*")
    e = _err(data)
    assert e.source == "f.835"
    assert (e.first.segment_number, e.first.segment_id) == (3, "ST") and "'837' is not an 835" in str(e)
    e270 = _err(
        b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *250101*1200*^*00501*000000001"
        b"*0*P*:~GS*HS*A*B*20250101*1200*1*X*005010X279A1~ST*270*0001~BHT*0022*13*1*20250101*1200~"
        b"SE*3*0001~GE*1*1~IEA*1*000000001~"
    )
    assert (e270.first.segment_number, e270.first.segment_id) == (3, "ST")
    assert "'270' is not an 835" in e270.first.message


def test_truncated_file_is_rejected():
    data = (FIX / "cas_six_triples.835").read_bytes()
    cut = data[: data.index(b"SVC*")]
    e = _err(cut)
    assert "no SE" in str(e) and "truncated" in str(e)


def test_wrong_se01_is_rejected_at_the_se_segment():
    data = (FIX / "unbalanced.835").read_bytes().replace(b"SE*13*0001", b"SE*12*0001")
    e = _err(data)
    assert (e.first.segment_number, e.first.segment_id) == (15, "SE")
    assert "SE01 says '12' segments, the transaction has 13" in e.first.message
    assert e.first.byte_offset == data.index(b"SE*12")


def test_non_numeric_amount_and_bad_date():
    data = (FIX / "unbalanced.835").read_bytes().replace(b"CLP*PCNU*1*500*300*", b"CLP*PCNU*1*500*3O0*")
    e = _err(data)
    assert (e.first.segment_number, e.first.segment_id) == (12, "CLP")
    # the value is shown by its shape (letters A, digits 9): it is not quoted (it might be a name)
    assert "CLP04 is not a valid amount" in e.first.message and "shaped 9A9" in e.first.message
    e2 = _err((FIX / "unbalanced.835").read_bytes().replace(b"DTM*405*20250304", b"DTM*405*20250230"))
    assert e2.first.segment_id == "DTM" and "not a valid date" in e2.first.message
    e3 = _err((FIX / "unbalanced.835").read_bytes().replace(b"CAS*CO*45*150", b"CAS*CO*45*150.001"))
    assert e3.first.segment_id == "CAS" and "at most 2 decimals" in e3.first.message


def test_several_problems_are_listed():
    data = (FIX / "unbalanced.835").read_bytes()
    data = data.replace(b"CLP*PCNU*1*500*300*", b"CLP*PCNU*1*5x0*3y0*").replace(
        b"IEA*1*000000001", b"IEA*1*9"
    )
    e = _err(data)
    messages = [p.message for p in e.problems]
    assert any("CLP03" in m for m in messages) and any("CLP04" in m for m in messages)
    assert any("IEA02" in m for m in messages)


@pytest.mark.parametrize("data", [b"", b"   \n", b"\x00\x01\x02" * 50, b"ISA*00", b"PK\x03\x04zipfile"])
def test_garbage_is_rejected(data: bytes):
    e = _err(data)
    assert e.problems and e.source == "f.835"


def test_chunks_when_the_byte_scan_misses_an_st():
    """An ST written without the newline the file otherwise uses is not a cut candidate; the parse
    must still number transactions right, chunked or not."""
    text = (FIX / "plb_only.835").read_bytes()
    st = text.index(b"ST*835*0001")
    ge = text.index(b"GE*1*1")
    txn = text[st:ge]
    second = txn.replace(b"*0001~", b"*0002~")  # ST02 and SE02
    third = txn.replace(b"*0001~", b"*0003~")
    data = text[:ge] + second.rstrip(b"\n") + third + b"GE*3*1" + text[ge + 6 :]
    whole = parse_835(data, "s")
    assert whole.payments.column("transaction_control_number").to_pylist() == ["0001", "0002", "0003"]
    pieces = list(parse_835_chunks(data, "s", max_chunk_bytes=200))
    assert len(pieces) >= 2
    for name in schema.REMITTANCE_TABLES:
        assert pa.concat_tables([p.tables()[name] for p in pieces]).equals(whole.tables()[name]), name


@pytest.mark.parametrize("secret", [b"k", b"x" * 64, b"long key " * 20])
def test_fast_hmac_equals_the_standard_library(secret: bytes):
    from pipeline.x12.build import hmac_keys

    values = pa.array(["DOE|JANE|MI|1", None, "DOE|JANE|MI|1", "ÅSA|Ö||"])
    want = [
        None if v is None else hmac.new(secret, v.encode(), hashlib.sha256).hexdigest()
        for v in values.to_pylist()
    ]
    assert hmac_keys(secret, values).to_pylist() == want


def test_dtm472_d8_form_and_a_bad_range():
    data = (FIX / "svc06_dates.835").read_bytes()
    d8 = data.replace(b"DTM*472*20250101~", b"DTM*472****D8*20250102~", 1)
    lines = parse_835(d8, "d8").service_lines
    assert lines.column("service_date_from")[0].as_py() == dt.date(2025, 1, 2)
    assert lines.column("service_date_to")[0].as_py() == dt.date(2025, 1, 2)
    bad = data.replace(b"RD8*20250101-20250103", b"RD8*20250101/20250103")
    e = _err(bad)
    assert e.first.segment_id == "DTM" and "CCYYMMDD-CCYYMMDD" in e.first.message
