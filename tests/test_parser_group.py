"""``parse_835_group``: several small files parsed in one call give each file exactly what ``parse_835``
gives it alone, or None (then the lake parses each alone); and the lake's workers use it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipeline.lake.worker import ParseTask, parse_task, parse_tasks
from pipeline.x12 import parse_835
from pipeline.x12.errors import X12ParseError
from pipeline.x12.parser import WORK_CHUNK, parse_835_group

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "835"
SECRET = b"group-test"

synth = pytest.importorskip("pipeline.synth")


def alone_and_grouped(files: list[tuple[str, bytes]]) -> tuple[list, list | None]:
    alone = [parse_835(data, name, patient_key_secret=SECRET) for name, data in files]
    grouped = parse_835_group([d for _, d in files], [n for n, _ in files], patient_key_secret=SECRET)
    return alone, grouped


def assert_same(alone: list, grouped: list | None) -> None:
    assert grouped is not None
    assert len(grouped) == len(alone)
    for a, g in zip(alone, grouped, strict=True):
        assert (g.file_id, g.source) == (a.file_id, a.source)
        for name, table in a.tables().items():
            assert g.tables()[name].equals(table, check_metadata=True), (a.source, name)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> list[tuple[str, bytes]]:
    out = tmp_path_factory.mktemp("synth")
    synth.generate(out, claims=1500, files=24, seed=20261207)
    return [(p.name, p.read_bytes()) for p in sorted(out.glob("*.835"))]


def test_generated_files_grouped_are_each_what_they_are_alone(generated) -> None:
    # the generator writes each file with one of several senders' delimiter sets
    from pipeline.x12 import scan

    assert len({scan.read_isa(d, 0) for _, d in generated}) > 1
    for start in range(0, len(generated), 8):
        alone, grouped = alone_and_grouped(generated[start : start + 8])
        assert_same(alone, grouped)
    # numbering starts again in each file: a later file's first claim is claim 1 of transaction 1
    grouped = parse_835_group([d for _, d in generated[:3]], [n for n, _ in generated[:3]])
    assert grouped is not None
    for r in grouped:
        assert r.claims.column("claim_number")[0].as_py() == 1
        assert r.claims.column("transaction_ordinal")[0].as_py() == 1
        assert r.payments.column("transaction_ordinal").to_pylist() == list(range(1, r.payments.num_rows + 1))


def test_hand_built_fixtures_grouped_with_generated_files(generated) -> None:
    """Reversals, PLB-only transactions, six-triple CAS, several interchanges in one file, added fields
    and custom delimiters: each fixture between two generated files."""
    names = [
        "added_fields.835", "cas_six_triples.835", "custom_delimiters.835", "multi_interchange.835",
        "plb_only.835", "remarks.835", "reversal.835", "svc06_dates.835",
    ]  # fmt: skip
    for name in names:
        files = [generated[0], (name, (FIXTURES / "835" / name).read_bytes()), generated[1]]
        alone, grouped = alone_and_grouped(files)
        assert_same(alone, grouped)


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/samples/835 (public sample 835s) is not here")
def test_public_samples_grouped_are_each_what_they_are_alone(generated) -> None:
    files = []
    for path in sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix not in (".md", ".json")):
        data = path.read_bytes()
        try:
            parse_835(data, path.name)
        except X12ParseError:
            continue  # (a sample that is refused alone is not grouped: the lake parses it alone)
        files.append((path.name, data))
    assert len(files) >= 10
    for start in range(0, len(files), 4):
        group = files[start : start + 4]
        alone, grouped = alone_and_grouped(group)
        if grouped is None:  # e.g. a sample written with line breaks inside segments: never grouped
            continue
        assert_same(alone, grouped)
    alone, grouped = alone_and_grouped([generated[2], *files[:3]])
    assert_same(alone, grouped)


def truncated(data: bytes) -> bytes:
    """The file without its IEA (a transfer cut short)."""
    return data[: data.rindex(b"IEA")]


def empty_interchange(data: bytes) -> bytes:
    """The file's ISA and GS and their trailers, with no transaction between (GE01 = 0)."""
    from pipeline.x12 import scan

    d = scan.read_isa(data, 0)
    term, sep = bytes([d.terminator]), bytes([d.element])
    segments = [s for s in data.split(term) if s.strip().startswith((b"ISA", b"GS", b"GE", b"IEA"))]
    ge = next(i for i, s in enumerate(segments) if s.strip().startswith(b"GE"))
    segments[ge] = sep.join([b"GE", b"0", *segments[ge].split(sep)[2:]])
    return term.join(segments) + term


def test_what_cannot_be_parsed_together_gives_none(generated) -> None:
    from pipeline.x12 import scan

    (a, da), (b, db) = generated[0], generated[1]
    custom = (FIXTURES / "835" / "custom_delimiters.835").read_bytes()
    sep = bytes([scan.read_isa(da, 0).element])
    payer = b"N1" + sep + b"PR" + sep
    canonical = da.replace(payer, payer + b"\x1d", 1)  # a canonical control byte in the payer's name
    assert parse_835(canonical, a).payments.column("payer_name")[0].as_py().startswith("\x1d")
    envelope_only = empty_interchange(da)
    cases = {
        "one file": ([da], [a]),
        "a truncated file": ([truncated(da), db], [a, b]),
        "a file without a transaction": ([envelope_only, db], [a, b]),
        "a file with a byte-order mark": ([b"\xef\xbb\xbf" + da, db], [a, b]),
        "a wrapped file": ([b"\n".join(da[i : i + 80] for i in range(0, len(da), 80)), db], [a, b]),
        "a padded file": ([da + b"\x1a", db], [a, b]),
        "a canonical byte and another delimiter set": ([canonical, custom], [a, "custom"]),
        "more than one piece": ([da] * (WORK_CHUNK // len(da) + 1), [a] * (WORK_CHUNK // len(da) + 1)),
        "a file that is not X12": ([b"hello", db], ["x", b]),
    }
    for why, (datas, names) in cases.items():
        assert parse_835_group(datas, names) is None, why
    assert parse_835_group([da, None], [a, b]) is None  # anything unexpected: None, never an exception
    # each of these alone: the truncated file and the one without a transaction are refused, named
    for data in (truncated(da), envelope_only):
        with pytest.raises(X12ParseError):
            parse_835(data, a)


def tasks_for(tmp_path: Path, files: list[tuple[str, bytes]]) -> list[ParseTask]:
    tasks = []
    for name, data in files:
        path = tmp_path / name
        path.write_bytes(data)
        tasks.append(
            ParseTask(
                path=str(path),
                name=name,
                file_id=hashlib.sha256(data).hexdigest(),
                staging=str(tmp_path / "staging" / name),
                secret=SECRET,
                chunk_threshold=32 << 20,
                max_chunk_bytes=32 << 20,
            )
        )
    return tasks


def same_outcome(got, want) -> None:
    assert (got.name, got.file_id, got.error, got.changed, got.rows) == (
        want.name, want.file_id, want.error, want.changed, want.rows,
    )  # fmt: skip
    assert sorted(got.parts) == sorted(want.parts)
    for key, part in want.parts.items():
        assert got.parts[key].equals(part), key
    assert (got.payments is None) == (want.payments is None)
    if want.payments is not None:
        assert got.payments.equals(want.payments)


def test_a_workers_files_come_out_as_parsed_one_by_one(tmp_path: Path, generated, monkeypatch) -> None:
    """``parse_tasks`` (a pool worker's few files) gives each file the outcome ``parse_task`` gives it:
    grouped when they can be, and each alone when one of them is bad (its error names it)."""
    import pipeline.x12.parser as parser

    calls = []
    real = parser.parse_835_group
    monkeypatch.setattr(parser, "parse_835_group", lambda *a, **kw: calls.append(len(a[0])) or real(*a, **kw))
    good = tasks_for(tmp_path, generated[:6])
    for got, task in zip(parse_tasks(good), good, strict=True):
        same_outcome(got, parse_task(task))
    assert calls == [6]

    calls.clear()
    submission = next(p for p in sorted((FIXTURES / "837").glob("*")) if p.is_file())
    (tmp_path / "mixed").mkdir()
    cut = ("cut.835", truncated(generated[7][1]))
    claims837 = (submission.name, submission.read_bytes())
    mixed = tasks_for(tmp_path / "mixed", [generated[6], cut, claims837, generated[8]])
    Path(mixed[3].path).write_bytes(generated[9][1])  # changed since it was hashed: left for next run
    outcomes = parse_tasks(mixed)
    assert calls == [2]  # the two 835s still as hashed (the 837 and the changed file are not grouped)
    for got, task in zip(outcomes, mixed, strict=True):
        same_outcome(got, parse_task(task))
    assert outcomes[1].error is not None and "cut.835" in str(outcomes[1].error)
    assert outcomes[2].kind == "837" and outcomes[2].error is None
    assert outcomes[3].changed


def test_remit_parse_writes_grouped_files_as_parsed_one_by_one(
    tmp_path: Path, generated, monkeypatch
) -> None:
    """``parse_files`` (``remit parse``) parses consecutive small 835s together: its Parquet holds, in
    the order of the paths, exactly each good file's ``parse_835`` tables, and a bad file among them
    is rejected by name while its neighbours load."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import pipeline.x12.parser as parser
    from pipeline.x12.files import parse_files

    calls = []
    real = parser.parse_835_group
    monkeypatch.setattr(parser, "parse_835_group", lambda *a, **kw: calls.append(len(a[0])) or real(*a, **kw))
    files = [*generated[:5], ("cut.835", truncated(generated[5][1])), *generated[6:12]]
    paths = []
    for name, data in files:
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    result = parse_files(paths, tmp_path / "out", secret=SECRET)
    assert [e.source for e in result.rejected] == ["cut.835"] and result.parsed == len(files) - 1
    assert calls and max(calls) > 1
    good = [parse_835(data, name, patient_key_secret=SECRET) for name, data in files if name != "cut.835"]
    for name in good[0].tables():
        written = pq.read_table(tmp_path / "out" / f"{name}.parquet")
        assert written.equals(pa.concat_tables([r.tables()[name] for r in good]).cast(written.schema)), name
