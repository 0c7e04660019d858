"""The quality gate: a clean hand-built night passes every expectation; each injected defect fails the
matching expectation with the right severity, offending ids and file.

Expected ids are computed here from the id contract in ``pipeline/x12/schema.py`` (sha256 of the file's
bytes, ST and CLP ordinals), not read back from the code under test. One GX context is shared by the
module (GX is slow to start).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipeline.quality import (
    CRITICAL,
    WARNING,
    QualityReport,
    check_batch,
    check_warehouse,
    without_files,
    write_results,
)
from pipeline.quality.suites import BATCH_CHECKS, WAREHOUSE, WAREHOUSE_CHECKS

RUN = "test-run"


# -- a hand-built night: file A (January, three claims) and file B (February, one claim and a PLB) -----
def _isa(control: str) -> str:
    isa = (
        "ISA*00*" + " " * 10 + "*00*" + " " * 10 + "*ZZ*" + "SENDER".ljust(15) + "*ZZ*" + "RECEIVER".ljust(15)
        + f"*250115*1200*^*00501*{control}*0*P*:~"
    )  # fmt: skip
    assert len(isa) == 106
    return isa


def _file(
    control: str, bpr02: str, date: str, trace: str, claims: list[str], plb: str | None = None
) -> bytes:
    body = [
        f"BPR*I*{bpr02}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999999999*DA*98765*{date}",
        f"TRN*1*{trace}*1512345678",
        "DTM*405*20250114",
        "N1*PR*ACME HEALTH",
        "REF*2U*ACME01",
        "N1*PE*GOOD CLINIC*XX*1234567893",
        "LX*1",
        *claims,
        *([plb] if plb else []),
    ]
    st = ["ST*835*0001", *body]
    st.append(f"SE*{len(st) + 1}*0001")
    segments = ["GS*HP*SENDER*RECEIVER*20250115*1200*1*X*005010X221A1", *st, "GE*1*1", f"IEA*1*{control}"]
    return (_isa(control) + "\n" + "~\n".join(segments) + "~\n").encode()


def file_a(clp1: str = "CLP*PCN1*1*200*120*30*12*ICN1", bpr02: str = "120", **swap: str) -> bytes:
    """Claim 1 paid (CO-45, PR-1), claim 2 denied CO-50 (MOA N290, LQ M51), claim 3 crossover OA-290.

    Balanced: line 1 200 − 50 − 30 = 120; claim 2 100 − 100 = 0; claim 3 80 − 80 = 0; BPR02 = 120.
    ``swap`` replaces whole segments (by their text) to inject defects.
    """
    claims = [
        clp1, "NM1*QC*1*DOE*JOHN****MI*123", "DTM*232*20250110", "DTM*233*20250110",
        "SVC*HC:99213*200*120", "DTM*472*20250110", "CAS*CO*45*50", "CAS*PR*1*30",
        "CLP*PCN2*4*100*0**12*ICN2", "NM1*QC*1*ROE*JANE****MI*456", "MOA***N290",
        "SVC*HC:97110*100*0", "DTM*472*20250111", "CAS*CO*50*100", "LQ*HE*M51",
        "CLP*PCN4*4*80*0**12*ICN4", "NM1*QC*1*LOE*JAY****MI*457",
        "SVC*HC:99212*80*0", "DTM*472*20250112", "CAS*OA*290*80",
    ]  # fmt: skip
    claims = [swap.get(s, s) for s in claims]
    return _file("000000001", bpr02, "20250115", "TRACEA", claims)


def file_b(
    cas: str = "CAS*CO*45*20", clp: str = "CLP*PCN3*1*120*100**MC*ICN3", bpr16: str = "20250220"
) -> bytes:
    """One claim paid 100 of 120 (CO-45 20) and a PLB WO of 10: BPR02 = 100 − 10 = 90."""
    claims = [clp, "NM1*QC*1*POE*JIM****MI*789", "SVC*HC:99214*120*100", "DTM*472*20250201", cas]
    return _file("000000002", "90", bpr16, "TRACEB", claims, plb="PLB*1234567893*20251231*WO:ICN0*10")


def fid(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def claim_id(data: bytes, clp: int) -> str:
    return f"{fid(data)[:24]}-1-{clp}"


def parse(*files: bytes) -> dict[str, pa.Table]:
    from pipeline.x12 import parse_835

    parsed = [parse_835(data, f"f{i}.835") for i, data in enumerate(files)]
    return {name: pa.concat_tables([p.tables()[name] for p in parsed]) for name in parsed[0].tables()}


def ids_of(tables: dict[str, pa.Table], table: str, column: str) -> list:
    """The readable ids the gate names ``table``'s rows by (made from the lean keys, checks.with_ids)."""
    from pipeline.quality.checks import with_ids

    return with_ids(tables, {table: [column]})[table][column].to_pylist()


def key_of(data: bytes) -> int:
    from pipeline.x12.schema import file_key

    return file_key(fid(data))


def replace_column(table: pa.Table, column: str, values: list) -> pa.Table:
    i = table.column_names.index(column)
    return table.set_column(i, column, pa.array(values, table.schema.field(column).type))


@pytest.fixture(scope="module")
def qc():
    """The module's GX context, without Data Docs (rendering them is the slow part of a small check)."""
    from pipeline.quality.engine import QualityContext

    return QualityContext()


@pytest.fixture(scope="module")
def ref_con():
    from pipeline.reference import load_reference

    con = duckdb.connect()
    load_reference(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def clean_tables() -> dict[str, pa.Table]:
    return parse(file_a(), file_b())


def check(tables: dict[str, pa.Table], ref_con, qc) -> QualityReport:
    return check_batch(tables, ref_con, run_id=RUN, context=qc)


def failed(report: QualityReport) -> set[str]:
    return {o.expectation for o in report.outcomes if not o.success}


# -- batch suite ---------------------------------------------------------------------------------------
def test_clean_night_passes_every_expectation(clean_tables, ref_con, tmp_path) -> None:
    report = check_batch(clean_tables, ref_con, run_id=RUN, docs_dir=tmp_path / "docs")
    assert [o.expectation for o in report.outcomes] == [c.name for c in BATCH_CHECKS]
    assert failed(report) == set()
    assert report.success and report.failed_critical_file_ids == set()
    claims = report.outcome("claims.claim_id.unique")
    assert claims.element_count == 4 and claims.unexpected_count == 0
    # only LQ/MIA/MOA remarks are checked: MOA N290 and LQ M51
    assert report.outcome("remarks.remark_code.known_rarc").element_count == 2
    assert report.docs_index == tmp_path / "docs" / "index.html" and report.docs_index.is_file()
    # one validation page for the batch, every check on it (each on values standing for its rows)
    (page,) = (tmp_path / "docs" / "validations").rglob("*.html")
    assert page.relative_to(tmp_path / "docs" / "validations").parts[:2] == ("batch", "values")
    assert "claims.claim_id.unique (critical)" in page.read_text()
    assert "payments.payment_amount.not_null (critical)" in page.read_text()


def test_the_data_docs_index_lists_the_newest_results_and_keeps_every_page(
    clean_tables, ref_con, tmp_path, monkeypatch
) -> None:
    """GX reads back every result its index lists, each night: the list is bounded (INDEX_RESULTS), the
    pages are not."""
    import pipeline.quality.engine as engine

    monkeypatch.setattr(engine, "INDEX_RESULTS", 2)
    docs = tmp_path / "docs"
    for night in range(3):
        report = check_batch(clean_tables, ref_con, run_id=f"night-{night}", docs_dir=docs)
    pages = sorted(p.relative_to(docs).as_posix() for p in (docs / "validations").rglob("*.html"))
    assert len(pages) == 3 and [p.split("/")[3] for p in pages] == ["night-0", "night-1", "night-2"]
    listed = set(re.findall(r"validations/[^\"']*?\.html", report.docs_index.read_text()))
    assert {p.split("/")[3] for p in listed} == {"night-1", "night-2"}


def test_data_docs_load_nothing_from_the_network(clean_tables, ref_con, tmp_path) -> None:
    """GX writes its pages with ~17 CDN stylesheets and scripts: offline they rendered unstyled (issue 16,
    item 19). Every page now loads only files of the docs folder, and names remit's own stylesheet."""
    docs = tmp_path / "docs"
    check_batch(clean_tables, ref_con, run_id=RUN, docs_dir=docs)
    pages = sorted(docs.rglob("*.html"))
    assert len(pages) >= 3  # the index, the batch's validation page, its suite
    loads = re.compile(
        r"<(?:link|script|img)\b[^>]*\b(?:href|src)\s*=\s*[\"']?((?:https?:)?//[^\"' >]+)", re.I
    )
    for page in pages:
        html = page.read_text()
        assert loads.findall(html) == [], page
        sheet = re.search(r'<link rel="stylesheet" href="([^"]+remit_offline\.css)">', html)
        assert sheet and (page.parent / sheet.group(1)).resolve().is_file(), page
    assert "claims.claim_id.unique (critical)" in "".join(p.read_text() for p in pages)


def test_data_docs_compile_each_template_once_and_render_the_same_pages(
    clean_tables, ref_con, tmp_path, monkeypatch
) -> None:
    """GX makes new jinja environments for every Data Docs build; their templates are compiled once per
    process (``share_templates``), and the pages are those jinja renders compiling every template."""
    import jinja2

    from pipeline.quality import engine

    compiled: list[str] = []
    compile_template = jinja2.Environment.compile

    def counting(self, source, name=None, *args, **kwargs):
        if name is not None:  # a template file (strings rendered by GX are compiled as they come)
            compiled.append(name)
        return compile_template(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    docs = tmp_path / "docs"
    qc = engine.QualityContext(docs)
    report = check_batch(clean_tables, ref_con, run_id=RUN, context=qc, build_docs=False)

    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

    def build() -> dict[str, str]:
        for page in docs.rglob("*.html"):
            page.unlink()
        qc.build_docs(report.identifiers)
        # (GX names each collapsible block by a random uuid, at every rendering)
        return {str(p.relative_to(docs)): uuid.sub("-", p.read_text()) for p in sorted(docs.rglob("*.html"))}

    build()
    compiled.clear()
    cached = build()
    assert compiled == [] and len(cached) >= 3
    monkeypatch.setattr(engine._templates, "load_bytecode", lambda bucket: None)  # compile them all again
    fresh = build()
    assert len(set(compiled)) >= 10
    assert fresh == cached


def test_unbalanced_claim_is_a_listed_warning(ref_con, qc) -> None:
    # CLP04 110 against CLP03 200 − CAS 80 = 120; BPR02 follows (110) so only the claim is off. The
    # parser contract loads unbalanced claims flagged: the file is not quarantined for it.
    a = file_a(clp1="CLP*PCN1*1*200*110*30*12*ICN1", bpr02="110")
    report = check(parse(a, file_b()), ref_con, qc)
    assert failed(report) == {"claims.is_balanced"}
    outcome = report.outcome("claims.is_balanced")
    assert outcome.severity == WARNING and outcome.unexpected_count == 1
    assert outcome.sample_ids == (claim_id(a, 1),)
    assert report.failed_critical_file_ids == set()
    assert report.success


def test_critical_failure_quarantines_only_its_file(ref_con, qc) -> None:
    # group code ZZ on claim 1's line: its dollars could not be assigned to anyone (critical)
    a = file_a(**{"CAS*CO*45*50": "CAS*ZZ*45*50"})
    report = check(parse(a, file_b()), ref_con, qc)
    assert failed(report) == {"adjustments.group_code.valid"}
    outcome = report.outcome("adjustments.group_code.valid")
    assert outcome.severity == CRITICAL and outcome.unexpected_count == 1
    assert outcome.sample_ids == (f"{claim_id(a, 1)}-1-1-1",)  # line 1, its first CAS, first triple
    assert report.failed_critical_file_ids == {fid(a)}
    assert not report.success
    assert [o.expectation for o in report.failures_for(fid(a))] == ["adjustments.group_code.valid"]
    assert report.failures_for(fid(file_b())) == []


def test_publishing_the_rest_passes(ref_con, qc) -> None:
    a = file_a(**{"CAS*CO*45*50": "CAS*ZZ*45*50"})
    tables = parse(a, file_b())
    report = check(tables, ref_con, qc)
    rest = without_files(tables, report.failed_critical_file_ids)
    assert rest["claims"]["file_key"].to_pylist() == [key_of(file_b())]
    assert rest["claims"]["claim_number"].to_pylist() == [1]
    assert check(rest, ref_con, qc).success


def test_missing_tables_count_as_empty(clean_tables, ref_con, qc) -> None:
    only = {name: clean_tables[name] for name in ("payments", "claims")}
    report = check(only, ref_con, qc)
    assert failed(report) == set()
    assert report.outcome("adjustments.adjustment_id.unique").element_count == 0


def test_unbalanced_transaction(ref_con, qc) -> None:
    a = file_a(bpr02="125")  # Σ CLP04 = 120, no PLB
    report = check(parse(a, file_b()), ref_con, qc)
    assert failed(report) == {"payments.is_balanced"}
    outcome = report.outcome("payments.is_balanced")
    assert outcome.severity == WARNING and outcome.sample_ids == (f"{fid(a)[:24]}-1",)
    assert report.failed_critical_file_ids == set()


def test_unknown_carc_is_a_listed_warning(ref_con, qc) -> None:
    b = file_b(cas="CAS*CO*ZZ9*20")
    report = check(parse(file_a(), b), ref_con, qc)
    assert failed(report) == {"adjustments.reason_code.known_carc"}
    outcome = report.outcome("adjustments.reason_code.known_carc")
    assert outcome.severity == WARNING
    assert outcome.unexpected_values == ("ZZ9",) and outcome.unexpected_count == 1
    assert outcome.file_ids == (fid(b),)
    assert report.success and report.failed_critical_file_ids == set()


def test_unknown_carc_below_mostly_threshold_passes_but_is_listed(clean_tables, ref_con, qc) -> None:
    # 300 adjustments, one with an unknown CARC: 99.7 % known >= mostly 0.99
    base = clean_tables["adjustments"].slice(0, 1).to_pylist()[0]
    # 300 rows of one claim, each its own (CAS, position): the odd one is CAS 50, triple 6
    rows = [
        {**base, "cas_ordinal": i // 6 + 1, "position": i % 6 + 1, "reason_code": "45"} for i in range(299)
    ]
    rows.append({**base, "cas_ordinal": 50, "position": 6, "reason_code": "ZZ8"})
    odd = f"{claim_id(file_a(), base['claim_number'])}-{base['line_number']}-50-6"
    tables = {
        **clean_tables,
        "adjustments": pa.Table.from_pylist(rows, schema=clean_tables["adjustments"].schema),
    }
    outcome = check(tables, ref_con, qc).outcome("adjustments.reason_code.known_carc")
    assert outcome.success and outcome.unexpected_count == 1
    assert outcome.unexpected_values == ("ZZ8",) and outcome.sample_ids == (odd,)


def test_unknown_rarc_is_a_warning_and_lq_rx_is_not_checked(ref_con, qc) -> None:
    a = file_a(**{"LQ*HE*M51": "LQ*HE*ZZ77"})
    report = check(parse(a, file_b()), ref_con, qc)
    assert failed(report) == {"remarks.remark_code.known_rarc"}
    assert report.outcome("remarks.remark_code.known_rarc").unexpected_values == ("ZZ77",)
    a_rx = file_a(**{"LQ*HE*M51": "LQ*RX*ZZ77"})  # NCPDP reject code, not a RARC
    assert failed(check(parse(a_rx, file_b()), ref_con, qc)) == set()


def test_null_claim_key(clean_tables, ref_con, qc) -> None:
    # a claim without its number has no id, nor have the rows under it (their ids are made from it)
    claims = clean_tables["claims"]
    numbers = claims["claim_number"].to_pylist()
    tables = {**clean_tables, "claims": replace_column(claims, "claim_number", [None, *numbers[1:]])}
    report = check(tables, ref_con, qc)
    assert "claims.claim_id.not_null" in failed(report)
    assert failed(report) <= {
        "claims.claim_id.not_null",
        "service_lines.line_id.not_null",
        "adjustments.adjustment_id.not_null",
    }
    outcome = report.outcome("claims.claim_id.not_null")
    assert outcome.severity == CRITICAL and outcome.unexpected_count == 1
    assert claims["file_key"][0].as_py() == key_of(file_a())
    assert report.failed_critical_file_ids == {fid(file_a())}


def test_duplicate_claim_id(clean_tables, ref_con, qc) -> None:
    claims = clean_tables["claims"]
    numbers = claims["claim_number"].to_pylist()
    duplicated = [numbers[0], numbers[0], *numbers[2:]]  # claim 2 of file A takes claim 1's number
    report = check(
        {**clean_tables, "claims": replace_column(claims, "claim_number", duplicated)}, ref_con, qc
    )
    # (the rows under claim 2 now fall under claim 1 too: their ids may repeat as well)
    assert "claims.claim_id.unique" in failed(report)
    outcome = report.outcome("claims.claim_id.unique")
    assert outcome.unexpected_count == 2 and outcome.sample_ids == (claim_id(file_a(), 1),)
    # keys reach GX as integer codes: the report still names the repeated key itself
    assert outcome.unexpected_values == (claim_id(file_a(), 1),)
    assert report.failed_critical_file_ids == {fid(file_a())}


def test_bad_and_legacy_group_codes(clean_tables, ref_con, qc) -> None:
    adjustments = clean_tables["adjustments"]
    groups = adjustments["group_code"].to_pylist()
    files = adjustments["file_key"].to_pylist()
    ids = ids_of(clean_tables, "adjustments", "adjustment_id")
    b_row = files.index(key_of(file_b()))
    a_row = files.index(key_of(file_a()))
    groups[b_row], groups[a_row] = "XX", "CR"
    report = check(
        {**clean_tables, "adjustments": replace_column(adjustments, "group_code", groups)}, ref_con, qc
    )
    assert failed(report) == {"adjustments.group_code.valid", "adjustments.group_code.not_legacy"}
    bad, legacy = (
        report.outcome("adjustments.group_code.valid"),
        report.outcome("adjustments.group_code.not_legacy"),
    )
    assert (bad.severity, bad.unexpected_values, bad.sample_ids) == (CRITICAL, ("XX",), (ids[b_row],))
    assert (legacy.severity, legacy.unexpected_values, legacy.sample_ids) == (WARNING, ("CR",), (ids[a_row],))
    assert report.failed_critical_file_ids == {fid(file_b())}  # CR alone does not quarantine file A


def test_4010_payments_are_flagged_not_quarantined(clean_tables, ref_con, qc) -> None:
    payments = clean_tables["payments"]
    versions = payments["version"].to_pylist()
    files = payments["file_id"].to_pylist()
    a_row = files.index(fid(file_a()))
    versions[a_row] = "004010X091A1"
    report = check({**clean_tables, "payments": replace_column(payments, "version", versions)}, ref_con, qc)
    assert failed(report) == {"payments.version.is_5010"}
    outcome = report.outcome("payments.version.is_5010")
    assert (outcome.severity, outcome.unexpected_values) == (WARNING, ("004010X091A1",))
    assert outcome.sample_ids == (f"{fid(file_a())[:24]}-{payments['transaction_ordinal'][a_row].as_py()}",)
    assert report.failed_critical_file_ids == set()


def test_impossible_dates(ref_con, qc) -> None:
    b = file_b(bpr16="20990101")  # payment date decides the month: critical
    a = file_a(**{"DTM*472*20250111": "DTM*472*18991231"})  # a service date: warning
    report = check(parse(a, b), ref_con, qc)
    # DTM*472 is a single date: it sets both service_date_from and service_date_to
    assert failed(report) == {
        "payments.month_basis_date.plausible",
        "service_lines.service_date_from.plausible",
        "service_lines.service_date_to.plausible",
    }
    payment = report.outcome("payments.month_basis_date.plausible")
    assert payment.severity == CRITICAL and payment.sample_ids == (f"{fid(b)[:24]}-1",)
    assert report.outcome("service_lines.service_date_from.plausible").severity == WARNING
    assert report.failed_critical_file_ids == {fid(b)}


def test_missing_payment_date_falls_back_to_production_date(clean_tables, ref_con, qc) -> None:
    payments = clean_tables["payments"]  # row 0 is file A's, row 1 file B's
    no_bpr16 = replace_column(payments, "payment_date", [None, payments["payment_date"][1].as_py()])
    report = check({**clean_tables, "payments": no_bpr16}, ref_con, qc)
    assert failed(report) == {"payments.payment_date.not_null"}  # DTM*405 still gives the month
    assert report.outcome("payments.payment_date.not_null").severity == WARNING
    no_dates = replace_column(no_bpr16, "production_date", [None, payments["production_date"][1].as_py()])
    report = check({**clean_tables, "payments": no_dates}, ref_con, qc)
    assert failed(report) == {"payments.payment_date.not_null", "payments.month_basis_date.not_null"}
    assert report.failed_critical_file_ids == {fid(file_a())}


def test_invalid_claim_status(ref_con, qc) -> None:
    b = file_b(clp="CLP*PCN3*9*120*100**MC*ICN3")
    report = check(parse(file_a(), b), ref_con, qc)
    assert failed(report) == {"claims.claim_status_code.valid"}
    outcome = report.outcome("claims.claim_status_code.valid")
    assert outcome.unexpected_values == ("9",) and outcome.sample_ids == (claim_id(b, 1),)
    assert outcome.severity == WARNING and report.failed_critical_file_ids == set()


def test_null_amount(clean_tables, ref_con, qc) -> None:
    lines = clean_tables["service_lines"]
    paid = lines["paid_amount"].to_pylist()
    paid[-1] = None  # the line of file B
    report = check({**clean_tables, "service_lines": replace_column(lines, "paid_amount", paid)}, ref_con, qc)
    assert failed(report) == {"service_lines.paid_amount.not_null"}
    assert report.failed_critical_file_ids == {fid(file_b())}


def test_summary_page_lists_failures_first(ref_con, qc, tmp_path) -> None:
    from pipeline.quality import write_summary

    b = file_b(cas="CAS*XX*45*20")
    report = check(parse(file_a(), b), ref_con, qc)
    page = write_summary(report, tmp_path).read_text()
    first_row = page.split('<tr class="')[1]
    assert (
        first_row.startswith("fail")
        and "adjustments.group_code.valid" in first_row
        and fid(b)[:12] in first_row
    )
    assert "FAILED (critical)" in page and "http" not in page.split("<body>")[1]  # no external resource
    assert '"success": false' in (tmp_path / "latest.json").read_text()


def test_write_results_replaces_a_rerun(clean_tables, ref_con, qc) -> None:
    report = check(clean_tables, ref_con, qc)
    con = duckdb.connect()
    assert write_results(report, con) == len(BATCH_CHECKS)
    write_results(report, con)  # the same run again: replaced, not doubled
    rows = con.execute(
        "SELECT count(*), count(DISTINCT expectation), bool_and(success) FROM quality.results"
        " WHERE run_id = ?",
        [RUN],
    ).fetchone()
    assert rows == (len(BATCH_CHECKS), len(BATCH_CHECKS), True)


def test_every_expectation_is_documented() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "quality.md").read_text()
    missing = [c.name for c in (*BATCH_CHECKS, *WAREHOUSE_CHECKS) if f"`{c.name}`" not in text]
    assert missing == []


def test_importing_quality_does_not_import_gx() -> None:
    code = "import sys, pipeline.cli, pipeline.quality; assert 'great_expectations' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": os.getcwd()})


def test_the_gate_does_not_import_pyspark_but_leaves_it_importable() -> None:
    """GX imports pyspark when it is installed (the spark extra); the gate's context keeps it out (some
    0.4 s of CPU of the first gate call), and the Spark engine can still import it after."""
    pytest.importorskip("pyspark")
    code = (
        "import sys; from pipeline.quality.engine import QualityContext; QualityContext(); "
        "assert 'great_expectations' in sys.modules and 'pyspark' not in sys.modules, 'pyspark imported'; "
        "import pyspark.sql; assert sys.modules['pyspark'] is not None"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": os.getcwd()})


def test_a_night_never_loads_scipy_stats_or_altair_and_both_stay_importable(tmp_path: Path) -> None:
    """GX imports scipy.stats and Altair for one expectation no suite uses (0.7 s of its import): they
    are deferred (``gx_import``). A whole ``remit run`` (the gate, the build, the warehouse checks and
    their Data Docs; the report runs in its own kernel) leaves both unloaded, and afterwards both import
    as themselves, in the process and in GX's module that holds the stand-ins."""
    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    (home / "inbox" / "a.835").write_bytes(file_a())
    os.utime(home / "inbox" / "a.835", (0, 0))
    code = f"""
import atexit, math, sys, types
def after():
    loaded = [n for n in ("scipy.stats", "altair") if n in sys.modules]
    import altair, scipy.stats
    from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
    assert type(altair) is types.ModuleType and type(scipy.stats) is types.ModuleType
    assert abs(kl.stats.entropy([0.5, 0.5]) - math.log(2)) < 1e-12 and kl.alt.Chart is altair.Chart
    print("LOADED", loaded, flush=True)
atexit.register(after)
sys.argv = ["remit", "--home", {str(home)!r}, "run"]
from pipeline.cli import main
main()
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "LOADED []" in out.stdout, out.stdout + out.stderr


# -- warehouse suite -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built_home(tmp_path_factory: pytest.TempPathFactory):
    from pipeline.home import Home
    from pipeline.lake import ingest
    from pipeline.warehouse import build

    home = Home(tmp_path_factory.mktemp("quality-home") / "home").ensure()
    (home.inbox / "a.835").write_bytes(file_a())
    (home.inbox / "b.835").write_bytes(file_b())
    result = ingest(home, workers=1, settle_seconds=0)
    assert not result.rejected
    build(home)
    return home


def altered_warehouse(home, tmp_path: Path, *statements: str) -> Path:
    # beside the original: the lake views name the lake relative to the warehouse's folder
    copy = home.root / "altered-warehouse.duckdb"
    shutil.copy(home.warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        for sql in statements:
            con.execute(sql)
    return copy


def test_clean_warehouse_passes_every_expectation(built_home, qc) -> None:
    report = check_warehouse(built_home.warehouse, run_id=RUN, context=qc)
    assert [o.expectation for o in report.outcomes] == [c.name for c in WAREHOUSE_CHECKS]
    assert failed(report) == set()
    # January: CO 150 (45 + 50... as worked in file_a), PR 30, OA 80; February: CO 20
    recon = report.outcome("denials_by_carc_month.reconciles_with_lake")
    assert recon.element_count == 4


def test_altered_mart_row_does_not_reconcile(built_home, qc, tmp_path) -> None:
    wh = altered_warehouse(
        built_home,
        tmp_path,
        "UPDATE marts.denials_by_carc_month SET dollars = dollars + 5 "
        "WHERE payment_month = '2025-02' AND group_code = 'CO'",
    )
    report = check_warehouse(wh, run_id=RUN, context=qc)
    # the month marts that add up to it no longer tie either: the lake says which one is wrong
    assert failed(report) == {"denials_by_carc_month.reconciles_with_lake", TIES[0]}
    outcome = report.outcome("denials_by_carc_month.reconciles_with_lake")
    assert outcome.severity == CRITICAL and outcome.sample_ids == ("2025-02 CO",)
    assert outcome.unexpected_values == ("25.00 != 20.00",)  # mart 20 + 5 against the lake's CO-45 20


def test_claim_key_parts_invert_the_claim_key() -> None:
    """The reconciliation leaves netted-out claims out by their lake keys, decoded from the warehouse's
    claim key: signed file keys (half of them are negative) and the largest claim number round-trip."""
    from pipeline.x12.schema import CLAIM_KEY_PARTS_SQL, MAX_CLAIMS, claim_key

    pairs = [
        (0, 0),
        (1, 1),
        (-1, 1),
        (-(2**63), MAX_CLAIMS),
        (2**63 - 1, MAX_CLAIMS),
        (-9216570844028720027, 347),
    ]
    keys = ", ".join(f"({claim_key(f, c)}::DECIMAL(38, 0))" for f, c in pairs)
    sql = CLAIM_KEY_PARTS_SQL.format(k="claim_id", rest=f"FROM (VALUES {keys}) AS t(claim_id)")
    with duckdb.connect() as con:
        assert sorted(con.execute(sql).fetchall()) == sorted(pairs)


def test_a_claim_lost_from_the_warehouse_does_not_reconcile(built_home, qc, tmp_path) -> None:
    """A build that loses a claim everywhere (its netting row and its dollars in the mart) still fails
    the reconciliation: the lake side leaves out only the claims the warehouse says are netted out, so
    the lost claim's adjustments still count there."""
    from pipeline.x12.schema import claim_key

    a1 = claim_key(key_of(file_a()), 1)
    wh = altered_warehouse(
        built_home,
        tmp_path,
        "UPDATE marts.denials_by_carc_month AS d SET dollars = d.dollars - s.amount FROM ("
        "SELECT payment_month, payer_key, group_code, reason_code, sum(amount) AS amount "
        f"FROM marts.adjustment_detail WHERE claim_id = {a1} GROUP BY ALL) AS s "
        "WHERE d.payment_month = s.payment_month AND d.payer_key = s.payer_key "
        "AND d.group_code = s.group_code AND d.reason_code = s.reason_code",
        f"DELETE FROM marts.claim_netting WHERE claim_id = {a1}",
    )
    report = check_warehouse(wh, run_id=RUN, context=qc)
    assert "denials_by_carc_month.reconciles_with_lake" in failed(report)
    assert report.outcome("denials_by_carc_month.reconciles_with_lake").sample_ids[0].startswith("2025-01 ")


TIES = ("month_marts.tie_to_denials_by_carc_month", "month_marts.adjustments_tie_to_denials_by_carc_month")


def test_month_marts_updated_by_difference_tie_to_denials_by_carc_month(built_home, qc, tmp_path) -> None:
    """February's only adjustment is the CO-45 of $20 (file_b): the procedure mart off by $5 there, or
    the absorbed-dollars mart counting one adjustment too many, fails the tie and names the row."""
    wh = altered_warehouse(
        built_home,
        tmp_path,
        "UPDATE marts.handbook_carc_procedure_month SET dollars = dollars + 5 "
        "WHERE payment_month = '2025-02' AND group_code = 'CO' AND reason_code = '45'",
    )
    report = check_warehouse(wh, run_id=RUN, context=qc)
    assert failed(report) == {TIES[0]}
    outcome = report.outcome(TIES[0])
    assert outcome.severity == CRITICAL
    assert outcome.sample_ids == ("handbook_carc_procedure_month 2025-02 CO 45",)
    assert outcome.unexpected_values == ("25.00 != 20.00",)
    wh = altered_warehouse(
        built_home,
        tmp_path,
        "UPDATE marts.provider_absorbed_month SET adjustment_count = adjustment_count + 1 "
        "WHERE payment_month = '2025-02'",
    )
    report = check_warehouse(wh, run_id=RUN, context=qc)
    assert failed(report) == {TIES[1]}
    (key,) = report.outcome(TIES[1]).sample_ids
    assert key.startswith("provider_absorbed_month 2025-02 ")
    assert report.outcome(TIES[1]).unexpected_values == ("2 != 1",)


def test_claim_counted_twice(built_home, qc, tmp_path) -> None:
    from pipeline.x12.schema import claim_key

    a1 = claim_key(key_of(file_a()), 1)  # claim 1 of file A: the mart's key is an integer (docs/parser.md)
    wh = altered_warehouse(
        built_home,
        tmp_path,
        f"INSERT INTO marts.claim_outcomes SELECT * FROM marts.claim_outcomes WHERE claim_id = {a1}",
    )
    report = check_warehouse(wh, run_id=RUN, context=qc)
    # the model header's unique_key (generated check) catches it too
    assert failed(report) == {"claim_outcomes.claim_id.unique", "models.header_tests"}
    assert report.outcome("models.header_tests").sample_ids == ("marts.claim_outcomes unique_key(claim_id)",)
    assert report.outcome("claim_outcomes.claim_id.unique").sample_ids == (str(a1),)


def test_claim_outcomes_on_values_give_the_rows_result(built_home, qc, tmp_path) -> None:
    """The claim_outcomes checks run on values standing for the rows (issue 18): the outcomes are those
    GX gives row by row on every claim_id, for a claim counted three times and two without an id."""
    from pipeline.lake import connect_warehouse
    from pipeline.quality.checks import _fetch, warehouse_inputs
    from pipeline.x12.schema import claim_key

    a1 = claim_key(key_of(file_a()), 1)
    with duckdb.connect(str(built_home.warehouse), read_only=True) as con:
        claims = con.execute("SELECT count(*) FROM marts.claim_outcomes").fetchone()[0]
    wh = altered_warehouse(
        built_home,
        tmp_path,
        f"INSERT INTO marts.claim_outcomes SELECT * FROM marts.claim_outcomes WHERE claim_id = {a1}",
        f"INSERT INTO marts.claim_outcomes SELECT * FROM marts.claim_outcomes WHERE claim_id = {a1} LIMIT 1",
        "INSERT INTO marts.claim_outcomes SELECT * REPLACE (NULL AS claim_id) FROM marts.claim_outcomes "
        "LIMIT 2",
    )
    on_values = check_warehouse(wh, run_id=RUN, context=qc)
    with connect_warehouse(wh) as con:
        inputs = warehouse_inputs(con)
        # the frame the suite gave GX before (every row, Arrow-backed pandas)
        rows = _fetch(con, "SELECT claim_id FROM marts.claim_outcomes")
    assert inputs.distinct is not None and set(inputs.lookups) == {"claim_outcomes"}
    frames = {**inputs.frames, "claim_outcomes": rows}
    by_rows, _ = qc.run(WAREHOUSE, frames, {}, RUN, dt.datetime.now(dt.UTC))
    for name in ("claim_outcomes.claim_id.not_null", "claim_outcomes.claim_id.unique"):
        got = on_values.outcome(name)
        assert got.as_dict() == next(o for o in by_rows if o.expectation == name).as_dict()
        assert not got.success and got.element_count == claims + 4  # a1 twice more, two NULL ids
    # worked by hand: the three rows holding a1 are not unique; the two NULL ids fail not_null
    assert on_values.outcome("claim_outcomes.claim_id.unique").unexpected_count == 3
    assert on_values.outcome("claim_outcomes.claim_id.not_null").unexpected_count == 2


def test_empty_mart(built_home, qc, tmp_path) -> None:
    wh = altered_warehouse(
        built_home, tmp_path, "DELETE FROM marts.kpi_month WHERE payment_month = '2025-02'"
    )
    report = check_warehouse(wh, run_id=RUN, context=qc)
    assert failed(report) == {"marts.cover_loaded_months"}
    assert report.outcome("marts.cover_loaded_months").sample_ids == ("kpi_month 2025-02",)
    wh = altered_warehouse(built_home, tmp_path, "DELETE FROM marts.provider_absorbed_month")
    report = check_warehouse(wh, run_id=RUN, context=qc)
    assert failed(report) == {"marts.non_empty", "marts.sparse_cover_loaded_months", *TIES}
    assert report.outcome("marts.non_empty").sample_ids == ("provider_absorbed_month",)
    # sized because the lake holds adjustments (a lake without any leaves it rightly empty)
    wh = altered_warehouse(built_home, tmp_path, "DELETE FROM marts.denials_by_carc_month")
    report = check_warehouse(wh, run_id=RUN, context=qc)
    assert "marts.non_empty" in failed(report)
    assert report.outcome("marts.non_empty").sample_ids == ("denials_by_carc_month",)


def test_run_checks_on_a_built_home(built_home) -> None:
    from pipeline.quality import results_path, run_checks

    report = run_checks(built_home, run_id="nightly-1")
    assert report.success, report.summary()
    assert len(report.outcomes) == len(WAREHOUSE_CHECKS) + len(BATCH_CHECKS)
    # the batch suite ran on the lake's latest run: both files, four claims
    assert report.outcome("claims.claim_id.unique").element_count == 4
    assert (built_home.reports / "quality" / "index.html").is_file()
    latest = (built_home.reports / "quality" / "latest.html").read_text()
    assert "passed" in latest and latest.count("<tr class=") == len(report.outcomes)
    with duckdb.connect(str(results_path(built_home)), read_only=True) as con:
        n = con.execute("SELECT count(*) FROM quality.results WHERE run_id = 'nightly-1'").fetchone()[0]
    assert n == len(report.outcomes)


def test_remit_check_reads_a_big_run_in_batches_with_the_outcome_of_one_pass(tmp_path, monkeypatch) -> None:
    """``remit check`` checks the lake's latest run in batches of files (``CHECK_FILES``), reading only the
    columns the suite reads, so that a first load of years is not held at once: one file per batch
    gives every outcome (counts, offending files and rows) that one pass over the run gives."""
    from pipeline.home import Home
    from pipeline.lake import ingest
    from pipeline.quality import runner

    home = Home(tmp_path / "home").ensure()
    bad = file_a(**{"CAS*CO*45*50": "CAS*ZZ*45*50"})  # an unknown group code: critical, loaded (no gate)
    b9, b8 = file_b(cas="CAS*CO*ZZ9*20"), file_b(cas="CAS*CO*ZZ8*20", bpr16="20250221")  # unknown CARCs
    for i, (name, data) in enumerate([("a.835", bad), ("b9.835", b9), ("b8.835", b8)]):
        (home.inbox / name).write_bytes(data)
        os.utime(home.inbox / name, (1_700_000_000 + i, 1_700_000_000 + i))
    result = ingest(home, workers=1, settle_seconds=0)
    assert not result.rejected and len(result.loaded + result.resent) == 3

    from pipeline.quality import checks

    real, claims_seen = checks.check_batch, []

    def counting(tables, *args, **kwargs):
        claims_seen.append(tables["claims"].num_rows)
        return real(tables, *args, **kwargs)

    monkeypatch.setattr(checks, "check_batch", counting)

    def outcomes(files_per_batch: int) -> list[tuple]:
        monkeypatch.setattr(runner, "CHECK_FILES", files_per_batch)
        claims_seen.clear()
        report = runner.run_checks(home, run_id=f"check-{files_per_batch}")
        assert claims_seen == ([3, 1, 1] if files_per_batch == 1 else [5])
        assert not report.success  # the unknown group code
        return [
            (o.expectation, o.success, o.unexpected_count, o.element_count, o.missing_count, o.file_ids,
             o.sample_ids, o.unexpected_values)
            for o in report.outcomes
        ]  # fmt: skip

    one_pass, by_file = outcomes(1000), outcomes(1)
    assert by_file == one_pass
    found = {o[0]: o for o in one_pass}
    assert found["claims.claim_id.not_null"][3] == 5  # 3 + 1 + 1 claims
    assert found["adjustments.group_code.valid"][1:3] == (False, 1)
    assert found["adjustments.group_code.valid"][5] == (fid(bad),)


def test_gate_quarantines_only_the_failing_file(tmp_path) -> None:
    from pipeline.home import Home
    from pipeline.lake import ingest
    from pipeline.quality import BatchGate

    home = Home(tmp_path / "home").ensure()
    bad = file_a(**{"CAS*CO*45*50": "CAS*ZZ*45*50"})  # an unknown group code: critical
    (home.inbox / "a.835").write_bytes(bad)
    (home.inbox / "b.835").write_bytes(file_b())
    gate = BatchGate(home, run_id="gate-run")
    result = ingest(home, workers=1, settle_seconds=0, gate=gate)
    assert [name for name, _ in result.rejected] == ["a.835"]
    assert result.loaded == ["b.835"]
    assert gate.report is not None and gate.report.failed_critical_file_ids == {fid(bad)}
    note = next(home.quarantine.glob("*.error.json")).read_text()
    assert "adjustments.group_code.valid" in note and f"{claim_id(bad, 1)}-1-1-1" in note


def test_a_batch_is_freed_when_the_gate_returns(tmp_path, qc) -> None:
    """GX's own caught exceptions leave reference cycles whose tracebacks keep the callers' frames alive:
    the lake's, holding the batch's tables, which only a full collection then freed (four batches of a
    1M-claim ingest, ~1 GB). The gate frees its cycles before it returns."""
    import gc
    import weakref

    from pipeline.home import Home
    from pipeline.quality import BatchGate

    gate = BatchGate(Home(tmp_path / "home").ensure(), run_id="gate-frees", context=qc)

    def ask(data: list[bytes]) -> weakref.ref:  # as the lake asks: the tables are the caller's locals
        tables = parse(*data)
        gate(tables)
        return weakref.ref(tables["claims"])

    gc.collect()
    gc.disable()  # only what the gate itself collects
    try:
        for data in ([file_a(), file_b()], [file_b()]):
            assert ask(data)() is None
    finally:
        gc.enable()


def test_gate_over_several_batches_reports_one_outcome_per_expectation(tmp_path, monkeypatch) -> None:
    from pipeline.home import Home
    from pipeline.lake import ingest
    from pipeline.quality import BatchGate

    monkeypatch.setenv("REMIT_LAKE_COMMIT_FILES", "1")  # each file is a batch of its own
    home = Home(tmp_path / "home").ensure()
    bad = file_a(**{"CAS*CO*45*50": "CAS*ZZ*45*50"})  # an unknown group code: critical
    b9, b8 = file_b(cas="CAS*CO*ZZ9*20"), file_b(cas="CAS*CO*ZZ8*20", bpr16="20250221")  # unknown CARCs
    for i, (name, data) in enumerate([("a.835", bad), ("b9.835", b9), ("b8.835", b8)]):
        path = home.inbox / name
        path.write_bytes(data)
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))  # inbox order a, b9, b8
    gate = BatchGate(home, run_id="gate-batches")
    result = ingest(home, workers=1, settle_seconds=0, gate=gate)
    assert [name for name, _ in result.rejected] == ["a.835"]
    assert sorted(result.loaded + result.resent) == ["b8.835", "b9.835"]
    report = gate.report
    assert [o.expectation for o in report.outcomes] == [c.name for c in BATCH_CHECKS]
    # 3 + 1 + 1 claims and 4 + 1 + 1 adjustments were checked in three batches
    assert report.outcome("claims.claim_id.not_null").element_count == 5
    group = report.outcome("adjustments.group_code.valid")
    assert not group.success and group.unexpected_count == 1
    assert group.file_ids == (fid(bad),) and group.sample_ids == (f"{claim_id(bad, 1)}-1-1-1",)
    carc = report.outcome("adjustments.reason_code.known_carc")
    assert carc.element_count == 6 and carc.unexpected_count == 2
    assert carc.unexpected_values == ("ZZ8", "ZZ9") and carc.file_ids == tuple(sorted([fid(b9), fid(b8)]))
    assert not carc.success  # 4 of 6 known is under the 99 % threshold
    assert report.failed_critical_file_ids == {fid(bad)}
    # Data Docs: one validation page per batch, every check on it (run on values standing for the
    # batch's rows), rendered by the gate call that checked the batch (the suite's page with the
    # first); the index after the ingest; the failing batch's page lists the offending row by its
    # number in the batch, with the rows' counts
    assert report.docs_index is None
    docs = home.reports / "quality"
    assert len(list((docs / "validations").rglob("*.html"))) == 3 and not (docs / "index.html").exists()
    suite_pages = [p.relative_to(docs).as_posix() for p in (docs / "expectations").rglob("*.html")]
    assert suite_pages == ["expectations/batch/values.html"]  # the suite's page, with the first batch
    index = gate.build_docs()
    assert index is not None and index.exists()
    pages = list((index.parent / "validations").rglob("*.html"))
    values = sorted((index.parent / "validations" / "batch" / "values").rglob("*.html"))
    assert len(values) == 3 and len(pages) == 3
    stored = [json.loads(p.read_text()) for p in (index.parent / ".gx-validations").rglob("*.json")]
    group_code = [
        r["result"]
        for v in stored
        for r in v["results"]
        if r["expectation_config"]["meta"]["name"] == "adjustments.group_code.valid"
    ]
    # the pages show the batch's rows (a's 4 adjustments, one of them ZZ; b9's and b8's one each)
    assert sorted((r["element_count"], r["unexpected_count"]) for r in group_code) == [(1, 0), (1, 0), (4, 1)]
    assert [r["unexpected_list"] for r in group_code if r["unexpected_count"]] == [["ZZ"]]


def test_batches_combine_to_the_outcome_of_one_pass(clean_tables, ref_con, qc) -> None:
    # 299 known CARCs and one unknown: one pass passes the 99 % threshold; checked as two batches, the
    # second (the unknown alone) fails by itself, and the combination must again pass, as one pass does
    from pipeline.quality.gate import combine_reports

    # file A's rows with 299 adjustments of one claim in the first batch, file B's with the odd one in
    # the second (a batch holds whole files: the ids of a file's rows are made from its claims)
    key_b = key_of(file_b())
    a_only = {n: t.filter(pc.not_equal(t["file_key"], key_b)) for n, t in clean_tables.items()}
    b_only = {n: t.filter(pc.equal(t["file_key"], key_b)) for n, t in clean_tables.items()}
    base_a = a_only["adjustments"].slice(0, 1).to_pylist()[0]
    base_b = b_only["adjustments"].slice(0, 1).to_pylist()[0]
    rows = [
        {**base_a, "cas_ordinal": i // 6 + 1, "position": i % 6 + 1, "reason_code": "45"} for i in range(299)
    ]
    odd = [{**base_b, "cas_ordinal": 50, "position": 6, "reason_code": "ZZ8"}]
    schema = clean_tables["adjustments"].schema
    first = {**a_only, "adjustments": pa.Table.from_pylist(rows, schema=schema)}
    second = {**b_only, "adjustments": pa.Table.from_pylist(odd, schema=schema)}
    night = {n: pa.concat_tables([first[n], second[n]]) for n in clean_tables}
    alone = check(second, ref_con, qc).outcome("adjustments.reason_code.known_carc")
    assert not alone.success
    combined = combine_reports(check(first, ref_con, qc), check(second, ref_con, qc))
    one_pass = check(night, ref_con, qc)
    for expected in one_pass.outcomes:
        got = combined.outcome(expected.expectation)
        assert (got.success, got.unexpected_count, got.element_count) == (
            expected.success,
            expected.unexpected_count,
            expected.element_count,
        ), expected.expectation
        assert (got.unexpected_values, got.file_ids) == (expected.unexpected_values, expected.file_ids)
    outcome = combined.outcome("adjustments.reason_code.known_carc")
    assert outcome.success and outcome.unexpected_count == 1 and outcome.element_count == 300


def test_batch_columns_give_the_same_frames() -> None:
    # the lake shows BatchGate only batch_columns(): the suite's dataframes must not change
    from pipeline.quality.checks import batch_columns, batch_frames

    bad = file_a(clp1="CLP*PCN1*1*200*110*30*12*ICN1", bpr02="110")
    tables = parse(bad, file_b())
    # (no 837 in this night: its tables are absent from both, and batch_frames makes them empty)
    projected = {name: tables[name].select(cols) for name, cols in batch_columns().items() if name in tables}
    full, narrow = batch_frames(tables), batch_frames(projected)
    assert sorted(full) == sorted(narrow)
    for asset, frame in full.items():
        assert frame.equals(narrow[asset]), asset


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        # values 1, 2, 3 once each and no NULL: nothing fails
        ([1, 2, 3], 0),
        # no value repeats; two rows without a key: each fails, and their (NULL) group repeats once
        ([1, 2, None, None], 3),
        ([1, None], 1),
        # 1 twice and 3 three times: two repeated values; the two NULL rows 2 + their group 1
        ([1, 1, 2, None, None, 3, 3, 3], 5),
        ([7, 7], 1),
    ],
)
def test_model_header_tests_count_repeated_keys_and_nulls(tmp_path, keys, expected) -> None:
    """``model_test_counts`` on a one-column key (counted distinct, grouped only when a value repeats) and
    on the same key as two columns (always grouped): the failures worked out by hand for each list."""
    from pipeline.quality.checks import model_test_counts
    from pipeline.warehouse.models import load_models

    (tmp_path / "marts").mkdir()
    head = "-- materialized: table\n-- grain: g\n-- description: d\n-- column k: key\n-- column level: lvl\n"
    (tmp_path / "marts" / "one.sql").write_text(
        "-- name: marts.one\n" + head + "-- unique_key: k\n-- tests: not_null(level),\n"
        "--   accepted_values(level: claim line)\nSELECT 1 AS k\n"
    )
    (tmp_path / "marts" / "two.sql").write_text(
        "-- name: marts.two\n"
        + head
        + "-- column z: zero\n-- unique_key: k, z\n-- tests: not_null(level)\nSELECT 1 AS k\n"
    )
    one, two = sorted(load_models(tmp_path), key=lambda m: m.name)
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    levels = ["claim", None, "line", "other"]  # one NULL level and one outside the set, when rows allow
    rows = [(k, levels[i % 4]) for i, k in enumerate(keys)]
    con.execute("CREATE TABLE marts.one (k BIGINT, level VARCHAR)")
    con.executemany("INSERT INTO marts.one VALUES (?, ?)", rows)
    con.execute("CREATE TABLE marts.two AS SELECT k, 0 AS z, level FROM marts.one")
    null_levels = sum(1 for _, level in rows if level is None)
    outside = sum(1 for _, level in rows if level == "other")
    assert model_test_counts(con, one) == [
        ("unique_key(k)", expected),
        ("not_null(level)", null_levels),
        ("accepted_values(level: claim line)", outside),
    ]
    assert model_test_counts(con, two) == [("unique_key(k, z)", expected), ("not_null(level)", null_levels)]
