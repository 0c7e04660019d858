"""Loading the seeds into DuckDB, the time-rule macro, and importing an official code list."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main
from pipeline.reference import REFERENCE_TABLES, CodeListError, import_code_list, load_reference
from pipeline.resources import resource_dir

REF = resource_dir("reference")
SNAP_2026 = "reference-sources/carc_rarc_x12_2026-08-17.csv"
SNAP_2016 = "reference-sources/wpc_carc_rarc_2016-03-07_with_dates.csv"

EXPECTED_TABLES = {
    "carc", "rarc", "carc_group_guidance", "carc_playbook", "rarc_playbook", "group_codes",
    "claim_status_codes", "claim_filing_indicators", "plb_reason_codes", "procedure_qualifiers",
}  # fmt: skip


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _repo_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(REF.iterdir()):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    load_reference(c)
    yield c
    c.close()


def test_tables_and_row_counts(con):
    assert set(REFERENCE_TABLES) == EXPECTED_TABLES
    for name in EXPECTED_TABLES:
        csv_rows = len(_csv_rows(REF / f"{name}.csv"))
        (n,) = con.execute(f"SELECT count(*) FROM ref.{name}").fetchone()
        assert n == csv_rows, name


def test_load_returns_counts():
    c = duckdb.connect()
    counts = load_reference(c)
    assert counts == {name: len(_csv_rows(REF / f"{name}.csv")) for name in EXPECTED_TABLES}
    assert counts["carc"] == 407 and counts["rarc"] == 1216 and counts["carc_group_guidance"] == 4 * 407
    load_reference(c)  # a second load replaces, never duplicates
    assert c.execute("SELECT count(*) FROM ref.carc").fetchone() == (407,)


def test_column_types(con):
    types = {
        (t, c): ty
        for t, c, ty in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'ref'"
        ).fetchall()
    }
    for col in ("start_date", "last_modified_date", "stop_date"):
        assert types[("carc", col)] == "DATE"
        assert types[("rarc", col)] == "DATE"
    for col in ("is_denial", "is_expected_contractual", "is_crossover", "crossover_forwarded", "is_redirect"):
        assert types[("carc", col)] == "BOOLEAN"
    for col in ("is_alert", "is_dental"):
        assert types[("rarc", col)] == "BOOLEAN"
    for col in ("patient_billable", "appealable", "is_provider_absorbed"):
        assert types[("carc_group_guidance", col)] == "BOOLEAN"
    assert types[("claim_status_codes", "payer_sequence")] == "INTEGER"
    assert types[("carc", "official_description")] == "VARCHAR"
    # a value that went through the conversion: CARC 25's stop date in the 2016 list is 04/01/2008
    assert con.execute("SELECT stop_date FROM ref.carc WHERE code = '25'").fetchone() == (
        dt.date(2008, 4, 1),
    )
    assert con.execute("SELECT count(*) FROM ref.carc WHERE official_description IS NOT NULL").fetchone() == (
        0,
    )


def test_comments_on_every_table_and_column(con):
    tables = con.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'ref'"
    ).fetchall()
    assert {t for t, _ in tables} == EXPECTED_TABLES
    assert all(comment for _, comment in tables)
    missing = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'ref' "
        "AND (comment IS NULL OR comment = '')"
    ).fetchall()
    assert missing == []


def test_expired_macro(shared_dir, con):
    # pick codes and stop dates straight from the 2016 snapshot
    with (shared_dir / SNAP_2016).open(newline="", encoding="utf-8") as fh:
        stops = {r["code"]: r["stop"] for r in csv.DictReader(fh) if r["list"] == "CARC" and r["stop"]}
    month, day, year = stops["B5"].split("/")
    stop = dt.date(int(year), int(month), int(day))
    after, on = stop + dt.timedelta(days=1), stop

    def expired(code, when, reversal):
        return con.execute("SELECT ref.carc_is_expired(?, ?, ?)", [code, when, reversal]).fetchone()[0]

    assert expired("B5", after, False) is True
    assert expired("B5", after, True) is False  # a reversal repeats the original's codes
    assert expired("B5", on, False) is False
    assert expired("B5", after, None) is True
    assert expired("45", dt.date(2030, 1, 1), False) is False  # current, no stop date
    assert expired("no-such-code", after, False) is False
    assert expired("B5", None, False) is False
    # usable inside a query over many rows
    rows = con.execute(
        "SELECT ref.carc_is_expired(code, d, r) FROM (VALUES ('B5', DATE '2030-01-01', false), "
        "('B5', DATE '2030-01-01', true), ('1', DATE '2030-01-01', false)) t(code, d, r)"
    ).fetchall()
    assert rows == [(True,), (False,), (False,)]


def test_bad_seed_is_rejected(tmp_path, monkeypatch):
    """The loader refuses a seed with a value outside its allowed set (no silent garbage)."""
    from pipeline.reference import SeedError, read_seed
    from pipeline.reference.tables import GROUP_CODES

    rows = (
        (REF / "group_codes.csv").read_text(encoding="utf-8").replace(",true,false,true", ",yes,false,true")
    )
    (tmp_path / "group_codes.csv").write_text(rows, encoding="utf-8")
    with pytest.raises(SeedError, match="not true/false"):
        read_seed(GROUP_CODES, tmp_path)


# --- import ---------------------------------------------------------------------------------------


def test_cli_import_2026_snapshot_round_trip(shared_dir, home):
    before = _repo_digest()
    snapshot = shared_dir / SNAP_2026
    rc = main(["--home", str(home.root), "reference", "import", str(snapshot)])
    assert rc == 0
    assert (home.root / "reference" / "official_carc.csv").exists()
    assert (home.root / "reference" / "official_rarc.csv").exists()
    with snapshot.open(newline="", encoding="utf-8") as fh:
        snap = {(r["list"], r["code"]): r for r in csv.DictReader(fh)}
    c = duckdb.connect()
    load_reference(c, home)
    for table, list_name in (("carc", "CARC"), ("rarc", "RARC")):
        got = {
            code: (status, desc)
            for code, status, desc in c.execute(
                f"SELECT code, status, official_description FROM ref.{table}"
            ).fetchall()
        }
        want = {code: (r["status"], r["description"]) for (lst, code), r in snap.items() if lst == list_name}
        assert got == want, table
    assert _repo_digest() == before


def test_import_refreshes_existing_warehouse(shared_dir, home):
    con = duckdb.connect(str(home.warehouse))
    load_reference(con)
    assert con.execute("SELECT official_description FROM ref.carc WHERE code = '289'").fetchone() == (None,)
    con.close()
    result = import_code_list(shared_dir / SNAP_2026, home)
    assert result.warehouse_refreshed and result.counts == {"CARC": 407, "RARC": 1216}
    assert "407 CARC" in result.summary()
    con = duckdb.connect(str(home.warehouse))
    (desc,) = con.execute("SELECT official_description FROM ref.carc WHERE code = '289'").fetchone()
    con.close()
    assert desc and "dental" in desc.lower()


def test_resdac_text_import(home):
    before = _repo_digest()
    text = home.root / "carc_resdac.txt"
    text.write_text(
        "CLAIM ADJUSTMENT REASON CODES, code list as of 2024\n"
        "001 = Deductible amount as licensed\n"
        "045 = Charges exceed the fee schedule\n"
        "  (wrapped second line)\n"
        "B15 = Qualifying service not received\n"
        "999 = A code newer than the seeds\n",
        encoding="utf-8",
    )
    result = import_code_list(text, home)
    assert result.fmt == "text" and result.counts == {"CARC": 4}
    c = duckdb.connect()
    load_reference(c, home)
    got = dict(
        c.execute(
            "SELECT code, official_description FROM ref.carc WHERE official_description IS NOT NULL"
        ).fetchall()
    )
    assert got == {
        "1": "Deductible amount as licensed",
        "45": "Charges exceed the fee schedule (wrapped second line)",
        "B15": "Qualifying service not received",
        "999": "A code newer than the seeds",
    }
    # statuses kept from the seeds (the text has none); the new code is current with group-rule guidance
    assert c.execute("SELECT status FROM ref.carc WHERE code = '1'").fetchone() == ("current",)
    assert c.execute("SELECT status, category, summary FROM ref.carc WHERE code = '999'").fetchone() == (
        "current", "other", None,
    )  # fmt: skip
    rows = c.execute(
        "SELECT group_code, guidance_source FROM ref.carc_group_guidance WHERE reason_code = '999' ORDER BY 1"
    ).fetchall()
    assert rows == [("CO", "group_rule"), ("OA", "group_rule"), ("PI", "group_rule"), ("PR", "group_rule")]
    assert c.execute("SELECT count(*) FROM ref.carc").fetchone() == (408,)
    assert _repo_digest() == before


def test_resdac_text_rarc_inferred_and_mixed_refused(home):
    rarc = home.root / "rarc.txt"
    rarc.write_text(
        "M1 = An x-ray remark\nMA01 = An appeal remark\nN290 = A provider id remark\n", encoding="utf-8"
    )
    assert import_code_list(rarc, home).counts == {"RARC": 3}
    mixed = home.root / "mixed.txt"
    mixed.write_text("001 = Deductible\nM1 = An x-ray remark\n", encoding="utf-8")
    with pytest.raises(CodeListError, match="--list"):
        import_code_list(mixed, home)
    rc = main(["--home", str(home.root), "reference", "import", str(mixed)])
    assert rc == 1
    # with --list the shapes are checked against the named list: M1 is no CARC
    rc = main(["--home", str(home.root), "reference", "import", "--list", "CARC", str(mixed)])
    assert rc == 1


def test_csv_import_dates_drive_the_macro(home):
    """An imported stop date (ISO or MM/DD/YYYY) replaces the seed's and the macro follows it."""
    path = home.root / "list.csv"
    path.write_text(
        "list,code,status,description,start,last_modified,stop\n"
        "CARC,45,deactivated,Licensed wording,01/01/1995,,2031-01-31\n"
        "CARC,B5,current,Licensed wording,,,\n",
        encoding="utf-8",
    )
    import_code_list(path, home)
    c = duckdb.connect()
    load_reference(c, home)
    assert c.execute("SELECT status, start_date, stop_date FROM ref.carc WHERE code = '45'").fetchone() == (
        "deactivated", dt.date(1995, 1, 1), dt.date(2031, 1, 31),
    )  # fmt: skip
    assert c.execute("SELECT ref.carc_is_expired('45', DATE '2031-02-01', false)").fetchone() == (True,)
    # B5 keeps its seed stop date (the import has none), only its status changes
    assert c.execute("SELECT status, stop_date FROM ref.carc WHERE code = 'B5'").fetchone() == (
        "current", dt.date(2016, 5, 1),
    )  # fmt: skip


def test_bad_csv_date_refused(home):
    path = home.root / "bad.csv"
    path.write_text("list,code,status,description,stop\nCARC,45,current,x,31.01.2031\n", encoding="utf-8")
    with pytest.raises(CodeListError, match="date"):
        import_code_list(path, home)
    assert not (home.root / "reference" / "official_carc.csv").exists()


def test_csv_rows_the_reader_would_misread_are_refused(home):
    """A quote left open took every later code into one description (found by trying: "imported 1 CARC
    codes" from a file of three, the other two gone); an unquoted comma cut a description short. Both are
    refused with their line (after a blank line and in CRLF files too); a quoted comma is read whole."""
    path = home.root / "list.csv"
    header = "list,code,status,description\r\n"
    path.write_text(
        header + 'CARC,45,current,"Charge exceeds fee schedule, maximum allowable"\r\n', newline=""
    )
    assert import_code_list(path, home).counts == {"CARC": 1}
    stored = (home.root / "reference" / "official_carc.csv").read_text(encoding="utf-8")
    assert "Charge exceeds fee schedule, maximum allowable" in stored
    for body, message in (
        (
            'CARC,45,current,"Charge exceeds\r\nCARC,50,current,Not necessary\r\nCARC,97,current,Bundled\r\n',
            "list.csv:2: a quoted field runs on to line 4",
        ),
        (
            "CARC,45,current,x\r\n\r\nCARC,50,current,Not, medically, necessary\r\n",
            r"list.csv:4: 6 field\(s\), the header names 4",
        ),
        ("CARC,45\r\n", r"list.csv:2: 2 field\(s\), the header names 4"),
    ):
        path.write_text(header + body, newline="")
        with pytest.raises(CodeListError, match=message):
            import_code_list(path, home)
    assert "Charge exceeds fee schedule, maximum allowable" in (
        home.root / "reference" / "official_carc.csv"
    ).read_text(encoding="utf-8")  # the list imported before is kept


def test_a_windows_1252_code_list_is_read_and_said_so(home):
    """A list saved by Excel on Windows (Windows-1252) failed with a bare UnicodeDecodeError; it is read,
    its accents and typographic quotes right, and the summary says how."""
    path = home.root / "list.csv"
    path.write_bytes(
        "list,code,status,description\r\nCARC,45,current,Charge exceeds the payer’s fee – café\r\n".encode(
            "cp1252"
        )
    )
    result = import_code_list(path, home)
    assert (
        result.counts == {"CARC": 1}
        and "is not UTF-8" in result.summary()
        and "Windows-1252" in result.summary()
    )
    stored = (home.root / "reference" / "official_carc.csv").read_text(encoding="utf-8")
    assert "Charge exceeds the payer’s fee – café" in stored
