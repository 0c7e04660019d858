"""How the parser assembles its Arrow tables (issue 15: "parser speed no lower than before"): repeated
ids and labels copied by the compiled core instead of Arrow's ``take`` and dictionary cast, the file id
made once per piece, which segments a piece holds recorded by the walk, and ``parse_835`` joining its
pieces without copying the columns that need no copy. Each is checked against what pyarrow gives
independently, or against the table the parser made before (``concat_tables(...).combine_chunks()``).
"""

from __future__ import annotations

import json
import random

import numpy as np
import pyarrow as pa
import pytest

from pipeline.x12 import parse_835, parse_835_chunks, schema
from pipeline.x12 import parser as x12_parser
from pipeline.x12.build import _core, _labels, _string_array
from pipeline.x12.tables import Walk


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[bytes, dict]:
    synth = pytest.importorskip("pipeline.synth")
    out = tmp_path_factory.mktemp("assembly")
    synth.generate(out, claims=1200, files=1, seed=1515)
    path = sorted(out.glob("*.835"))[0]
    return path.read_bytes(), json.loads((out / "truth.json").read_text())


def test_take_strings_equals_arrows_take_with_and_without_nulls():
    rng = random.Random(15)
    values = [
        "",
        "a",
        "0123456789abcdef01234567-12-3",
        "é-ü",
        *("x" * rng.randint(1, 40) for _ in range(300)),
    ]
    parent = pa.array(values, pa.string())
    offsets = np.frombuffer(parent.buffers()[1], np.int32)[: len(values) + 1].copy()
    data = np.frombuffer(parent.buffers()[2], np.uint8).copy()
    for nulls in (False, True):
        idx = np.array([rng.randrange(len(values)) for _ in range(5000)], np.int64)
        if nulls:
            idx[rng.sample(range(len(idx)), 700)] = -1
        got = _string_array(_core().take_strings(offsets, data, idx), len(idx))
        got.validate(full=True)
        want = parent.take(pa.array(np.maximum(idx, 0), mask=idx < 0))
        assert got.equals(want)
        assert got.null_count == (700 if nulls else 0)
    empty = _string_array(_core().take_strings(offsets, data, np.zeros(0, np.int64)), 0)
    assert empty.equals(pa.array([], pa.string()))


def test_labels_are_the_label_of_each_index():
    got = _labels(np.array([3, 0, 1, 1, 2, 0]), ["LQ", "LQ_RX", "MIA", "MOA"])
    got.validate(full=True)
    assert got.to_pylist() == ["MOA", "LQ", "LQ_RX", "LQ_RX", "MIA", "LQ"]
    assert _labels(np.array([True, False]), ["claim", "line"]).to_pylist() == ["line", "claim"]


def test_the_walk_records_which_slots_a_piece_fills(generated):
    """``Walk.has`` reads the walk's own flags; they must say what scanning the slot matrices says."""
    from pipeline.x12.build import Segments

    data, _ = generated
    w = Walk(Segments(data[data.index(b"ST*") : data.rindex(b"GE*")], ord("*"), ord(":"), ord("~"), 0, 0))
    checked = 0
    for src in w.c.k.LAYOUT.sources:
        if src.slot < 0 or src.level == "plb":
            continue
        name = src.segment + (f"*{src.qualifier}" if src.qualifier else "")
        matrix = w.slot_rows[src.level]
        assert w.has(src.level, name) == bool((matrix[src.slot] >= 0).any()), (src.level, name)
        checked += 1
    assert checked > 20
    assert w.has("claim", "DTM*232") and not w.has("claim", "NM1*TT")  # the generator writes no NM1*TT


def test_parse_835_joins_its_pieces_as_concatenation_would(generated, monkeypatch):
    data, truth = generated
    monkeypatch.setattr(x12_parser, "WORK_CHUNK", 20_000)  # many pieces
    pieces = list(parse_835_chunks(data, "g.835", patient_key_secret=b"k"))
    assert len(pieces) > 5
    whole = parse_835(data, "g.835", patient_key_secret=b"k")
    assert whole.claims.num_rows == truth["claims"]
    for name in schema.REMITTANCE_TABLES:
        want = pa.concat_tables([getattr(p, name) for p in pieces]).combine_chunks()
        got = getattr(whole, name)
        assert got.schema.equals(want.schema, check_metadata=True), name
        assert got.equals(want), name
        assert all(column.num_chunks == 1 for column in got.columns), name
        got.validate(full=True)


def test_columns_null_in_every_piece_are_not_copied(generated, monkeypatch):
    """The columns issue 15 added are null in most files: joining the pieces makes one all-null array
    per type for them, shared (concatenating the pieces' null arrays copied each), and the file id once."""
    data, _ = generated
    monkeypatch.setattr(x12_parser, "WORK_CHUNK", 20_000)
    claims = parse_835(data, "g.835").claims
    a, b = claims.column("crossover_carrier_name"), claims.column("corrected_priority_payer_name")
    assert a.null_count == b.null_count == claims.num_rows
    assert a.chunk(0).buffers()[1].address == b.chunk(0).buffers()[1].address
    money = [
        f.name
        for f in schema.CLAIMS
        if f.type == schema.MONEY and claims.column(f.name).null_count == len(claims)
    ]
    assert len({claims.column(m).chunk(0).buffers()[1].address for m in money}) == 1
    file_key = claims.column("file_key")
    assert file_key.num_chunks == 1 and file_key.null_count == 0
    assert set(file_key.to_pylist()) == {schema.file_key(parse_835(data, "g.835").file_id)}


def test_joined_columns_come_from_the_system_allocator(generated, monkeypatch):
    """Arrow's default pool handed every join's memory back to the kernel, to be faulted in again by
    the next file (most of the join's cost); the C allocator keeps it, as it keeps the pieces' own."""
    data, _ = generated
    monkeypatch.setattr(x12_parser, "WORK_CHUNK", 20_000)
    pool = pa.system_memory_pool()
    before = pool.bytes_allocated()
    whole = parse_835(data, "g.835", patient_key_secret=b"k")
    ids = whole.adjustments.column("reason_code").chunk(0)
    assert pool.bytes_allocated() - before >= ids.buffers()[2].size + ids.buffers()[1].size
