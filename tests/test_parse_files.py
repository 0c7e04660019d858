"""``parse_files`` (``remit parse``) writes each piece's tables while the next pieces are parsed, and still
keeps the whole-or-nothing rule per file: a file rejected after some of its pieces were written leaves
no row behind. Checked against ``parse_835`` of the good files alone."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.x12 import files as x12_files
from pipeline.x12 import parse_835, parse_files, schema
from pipeline.x12 import parser as x12_parser

FIX = Path(__file__).parent / "fixtures" / "835"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    synth = pytest.importorskip("pipeline.synth")
    out = tmp_path_factory.mktemp("parse_files")
    synth.generate(out, claims=900, files=1, seed=1818)
    return sorted(out.glob("*.835"))[0], json.loads((out / "truth.json").read_text())


def _broken_late(data: bytes) -> bytes:
    """The file with a wrong SE02 in its last transaction: found only in the file's last piece."""
    cut = data.rindex(b"SE*")
    return data[:cut] + b"SE*1*XXXX" + data[data.index(b"~", cut) :]


@pytest.mark.parametrize("group_rows", [1, 500, x12_files.ROW_GROUP_ROWS])
@pytest.mark.parametrize("small_file", [0, x12_files.SMALL_FILE])
def test_a_file_rejected_after_pieces_were_written_leaves_no_row(
    generated, tmp_path, monkeypatch, group_rows: int, small_file: int
):
    path, truth = generated
    monkeypatch.setattr(x12_parser, "WORK_CHUNK", 30_000)  # the generated file is parsed in many pieces
    # 0: every file is parsed in pieces while they are written (else these small files are parsed whole
    # on the loading threads, and a rejected one puts nothing)
    monkeypatch.setattr(x12_files, "SMALL_FILE", small_file)
    # 1: every piece is written as it comes (so the rejected file's rows must be taken out of the files
    # again); 500: some are, in groups that also hold the good files' rows; the default: the pieces
    # wait (and are dropped)
    monkeypatch.setattr(x12_files, "ROW_GROUP_ROWS", group_rows)
    broken = tmp_path / "broken.835"
    broken.write_bytes(_broken_late(path.read_bytes()))
    files = [FIX / "reversal.835", broken, path, broken, FIX / "plb_only.835"]
    res = parse_files(files, tmp_path / "out", secret=b"k")
    assert res.parsed == 3
    assert [e.source for e in res.rejected] == ["broken.835", "broken.835"]
    assert "SE02" in str(res.rejected[0]) and "does not match ST02" in str(res.rejected[0])
    good = [parse_835(f.read_bytes(), f.name, patient_key_secret=b"k") for f in (files[0], path, files[4])]
    assert good[1].claims.num_rows == truth["claims"]
    for name, sch in schema.REMITTANCE_TABLES.items():
        got = pq.read_table(tmp_path / "out" / f"{name}.parquet")
        want = pa.concat_tables([getattr(g, name) for g in good])
        assert got.schema.equals(sch) and got.equals(want), name
        assert res.row_counts[name] == want.num_rows


@pytest.mark.parametrize("group_rows", [1, 500, x12_files.ROW_GROUP_ROWS])
def test_a_rejected_first_file_and_a_rejected_last_file(generated, tmp_path, monkeypatch, group_rows):
    path, _ = generated
    monkeypatch.setattr(x12_parser, "WORK_CHUNK", 30_000)
    monkeypatch.setattr(x12_files, "SMALL_FILE", 0)
    monkeypatch.setattr(x12_files, "ROW_GROUP_ROWS", group_rows)
    broken = tmp_path / "broken.835"
    broken.write_bytes(_broken_late(path.read_bytes()))
    res = parse_files([broken, FIX / "reversal.835", broken], tmp_path / "out", secret=None)
    assert (res.parsed, len(res.rejected)) == (1, 2)
    want = parse_835((FIX / "reversal.835").read_bytes(), "reversal.835")
    for name in schema.REMITTANCE_TABLES:
        assert pq.read_table(tmp_path / "out" / f"{name}.parquet").equals(getattr(want, name)), name
    only_bad = parse_files([broken], tmp_path / "none", secret=None)
    assert only_bad.parsed == 0
    assert all(
        pq.read_table(tmp_path / "none" / f"{n}.parquet").num_rows == 0 for n in schema.REMITTANCE_TABLES
    )


def test_unique_id_columns_are_written_without_a_dictionary(tmp_path):
    parse_files([FIX / "reversal.835"], tmp_path, secret=b"k")
    meta = pq.ParquetFile(tmp_path / "claims.parquet").metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert "RLE_DICTIONARY" not in encodings["payer_claim_control_number"]
    assert "RLE_DICTIONARY" in encodings["claim_status_code"]


def test_only_string_columns_get_a_dictionary(tmp_path):
    parse_files([FIX / "reversal.835"], tmp_path, secret=b"k")
    meta = pq.ParquetFile(tmp_path / "claims.parquet").metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert "RLE_DICTIONARY" not in encodings["paid_amount"]  # decimal
    assert "RLE_DICTIONARY" not in encodings["file_key"]  # integer key
    assert "RLE_DICTIONARY" in encodings["claim_status_code"]


@pytest.mark.parametrize("small_file", [0, x12_files.SMALL_FILE])
def test_pieces_and_files_are_gathered_into_row_groups(generated, tmp_path, monkeypatch, small_file: int):
    path, truth = generated
    monkeypatch.setattr(x12_parser, "WORK_CHUNK", 30_000)
    monkeypatch.setattr(x12_files, "SMALL_FILE", small_file)  # 0: every file parsed in pieces as written
    per_piece = [p.claims.num_rows for p in x12_parser.parse_835_chunks(path.read_bytes(), path.name)]
    assert len(per_piece) > 10
    monkeypatch.setattr(x12_files, "ROW_GROUP_ROWS", 250)
    res = parse_files([path, FIX / "reversal.835", path], tmp_path, secret=None)
    assert res.parsed == 3
    f = pq.ParquetFile(tmp_path / "claims.parquet")
    sizes = [f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)]
    one = parse_835((FIX / "reversal.835").read_bytes(), "reversal.835").claims.num_rows
    n = truth["claims"]
    assert sum(sizes) == 2 * n + one
    # each group is written once it holds 250 rows or more: pieces (and files) gathered, none cut
    assert all(250 <= s < 250 + max(per_piece) + one for s in sizes[:-1])
    assert len(sizes) < 2 * len(per_piece) / 3
    # the rows in the order of the files
    key = f.read(columns=["file_key"]).column("file_key").to_pylist()
    assert key == [key[0]] * n + [key[n]] * one + [key[0]] * n and key[n] != key[0]


def test_large_files_are_not_read_ahead(generated, monkeypatch):
    path, _ = generated
    monkeypatch.setattr(x12_files, "SMALL_FILE", path.stat().st_size - 1)
    read: list[Path] = []
    monkeypatch.setattr(x12_files, "_read", lambda p: read.append(p) or p.read_bytes())
    ahead = x12_files._load(path, None)  # what a loading thread does with a file ahead of its turn
    assert (ahead.pieces, ahead.error, read) == (None, None, [])
    small = x12_files._load(FIX / "reversal.835", None)
    assert read == [FIX / "reversal.835"] and small.pieces[0].claims.num_rows == 2


def test_a_large_837_is_parsed_in_pieces_as_written(tmp_path, monkeypatch):
    """A large 837 is parsed in pieces cut at ST boundaries, as a large 835 is (a 400 MB 837P took
    ``remit parse`` to 2.99 GiB whole, 1.35 GiB in pieces): the three 837 fixtures in one file, one
    piece per transaction, give their 4 claims (250.00 + 80.50 + 1200.00 + 310.00) numbered across it."""
    from pipeline.x12 import parser837

    names = ("professional.837", "institutional.837", "dental.837")
    path = tmp_path / "all.837"
    path.write_bytes(b"".join((FIX.parent / "837" / n).read_bytes() for n in names))
    real, pieces = parser837.parse_837_chunks, []

    def one_per_transaction(data, source, **kw):
        for piece in real(data, source, max_chunk_bytes=1, **kw):
            pieces.append(piece.submitted_claims.num_rows)
            yield piece

    monkeypatch.setattr(x12_files, "SMALL_FILE", 0)
    monkeypatch.setattr(parser837, "parse_837_chunks", one_per_transaction)
    monkeypatch.setattr(parser837, "parse_837", lambda *a, **k: pytest.fail("a large 837 parsed whole"))
    res = parse_files([path], tmp_path / "out", secret=None)
    assert (res.parsed, pieces) == (1, [2, 1, 1])
    claims = pq.read_table(tmp_path / "out" / "submitted_claims.parquet")
    assert claims.column("claim_number").to_pylist() == [1, 2, 3, 4]
    assert sum(claims.column("claim_charge").to_pylist()) == Decimal("1840.50")
    assert pq.read_table(tmp_path / "out" / "submitted_lines.parquet").num_rows == 9
