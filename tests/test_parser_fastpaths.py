"""The parser's compiled core against independent references.

Dates are converted with integer arithmetic, amounts digit by digit (with the batch rule the parser
has always applied: Arrow's exact cast when a whole column allows it), group sums and patient-key
HMACs in numba, large files are cut with local ST searches and pieces number their transactions
through published ST counts: each is checked here against the standard library, pyarrow, plain
Python, or the generator's truth.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import random
import re
from decimal import Decimal as D

import numpy as np
import pyarrow as pa
import pytest

from pipeline.x12 import X12ParseError, parse_835, parse_835_chunks, scan, schema
from pipeline.x12.build import Segments, code, hmac_keys


def _segments(data: bytes) -> Segments:
    return Segments(data, ord("*"), ord(":"), ord("~"), 0, 0)


def _date_chunk(values: list[str]) -> Segments:
    body = "".join(f"DTM*472*{v}~" for v in values)
    return _segments(f"ST*835*1~{body}SE*2*1~".encode())


def test_dates_match_the_standard_library():
    rng = random.Random(835)
    values = [
        f"{y:04d}{m:02d}{d:02d}"
        for y in (1, 4, 99, 100, 400, 1582, 1900, 1970, 1999, 2000, 2023, 2024, 2100, 2400, 9999)
        for m in range(0, 14)
        for d in (0, 1, 28, 29, 30, 31, 32, 99)
    ]
    values += ["0000" + "0101", "2023023", "202302301", "2O230101", "20230:01", "2023/101", "2023-1-1"]
    values += ["".join(rng.choice("0123456789/:;") for _ in range(8)) for _ in range(3000)]
    c = _date_chunk(values)
    rows = np.flatnonzero(c.sid == code("DTM"))
    days, ok = c.k.parse_dates(c.a, *c.span(rows, 2))
    epoch = dt.date(1970, 1, 1)
    for value, d, good in zip(values, days.tolist(), ok.tolist(), strict=True):
        try:
            want = dt.date(int(value[:4]), int(value[4:6]), int(value[6:])) if value.isdigit() else None
        except ValueError:
            want = None
        if len(value) != 8:
            want = None
        assert (epoch + dt.timedelta(days=d) if good else None) == want, value


def test_dates_near_the_end_of_the_buffer():
    # the last date ends a few bytes before the buffer does: the 8-byte word read must still fit
    c = _segments(b"ST*835*1~DTM*472*20240229")
    rows = np.flatnonzero(c.sid == code("DTM"))
    days, ok = c.k.parse_dates(c.a, *c.span(rows, 2))
    assert ok.all() and dt.date(1970, 1, 1) + dt.timedelta(days=int(days[0])) == dt.date(2024, 2, 29)


@pytest.mark.parametrize("ordered", [True, False])
def test_group_sums_are_exact(ordered: bool):
    rng = np.random.default_rng(7)
    groups = np.sort(rng.integers(0, 50, 2000)) if ordered else rng.integers(0, 50, 2000)
    values = rng.integers(-(10**15), 10**15, 2000)  # sums beyond 2**53: a float would round
    got = _segments(b"ST*835*1~").k.group_sum(groups, values, 60)
    want = [0] * 60
    for g, v in zip(groups.tolist(), values.tolist(), strict=True):
        want[g] += v
    assert got.tolist() == want


def test_component_split_ignores_separators_outside_the_composites():
    # ':' occurs in a payer name (not a composite): only SVC01's own separator counts
    data = (
        b"ST*835*1~BPR*I*10*C*ACH~N1*PR*A:B:C PLAN~CLP*P1*1*10*10~"
        b"SVC*HC:99213:25*10*10~SVC*AD:D0120*5*5~SE*7*1~"
    )
    c = _segments(data)
    rows = np.flatnonzero(c.sid == code("SVC"))
    cs, ce = c.components(*c.span(rows, 1), 3)
    texts = [c.strings(cs[k], ce[k]).to_pylist() for k in range(3)]
    assert texts == [["HC", "AD"], ["99213", "D0120"], ["25", None]]


def _arrow_rule(values: list[str], scale: int) -> list[int | None] | None:
    """Arrow's exact cast of the whole column (None when it refuses any value), in unscaled ints."""
    try:
        got = pa.array(values).cast(pa.decimal128(18, scale)).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return [int(v.scaleb(scale)) for v in got]


def _strict_rule(value: str, scale: int) -> int | None:
    """``-?digits[.digits]``, at most ``scale`` decimals and ``18 - scale`` integer digits."""
    m = re.fullmatch(r"(-?)(\d*)(?:\.(\d*))?", value)
    if not m or len(value) > 20 or not (m.group(2) or m.group(3)):
        return None
    whole, frac = m.group(2), m.group(3) or ""
    if len(frac) > scale or len(whole) > 18 - scale:
        return None
    v = int((whole or "0") + frac.ljust(scale, "0"))
    return -v if m.group(1) else v


@pytest.mark.parametrize("scale", [0, 2, 3])
def test_amounts_follow_the_column_rule(scale: int):
    """A column whose values are all plain numbers that Arrow casts exactly is read as Arrow reads it
    (``1.500`` is 1.50); any other column is read strictly, value by value (``1.500`` is refused)."""
    rng = random.Random(scale)
    alphabet = "0123456789" * 3 + ".-"
    singles = ["1.500", "5.", ".5", "-.5", "-", ".", "1.2.3", "00000000000000000012", "0" * 20, "1-2", "--5"]
    singles += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 22))) for _ in range(3000)]
    batches = [[v] for v in singles]
    batches += [[rng.choice(singles) for _ in range(rng.randint(2, 5))] for _ in range(1500)]
    batches += [["12.50", "3", "1.500"], ["12.50", "3", "1.5x0"], ["12.50", "1e5"], ["7", "+8"]]
    for values in batches:
        data = "ST*835*1~" + "".join(f"AMT*B6*{v}~" for v in values)
        c = _segments(data.encode())
        rows = np.flatnonzero(c.sid == code("AMT"))
        vals, ok = c.numbers(*c.span(rows, 2), scale)
        got = [int(v) if good else None for v, good in zip(vals.tolist(), ok.tolist(), strict=True)]
        plain = all(re.fullmatch(r"-?[0-9.]*", v) for v in values) and max(map(len, values)) <= 20
        want = _arrow_rule(values, scale) if plain else None
        if want is None:
            want = [_strict_rule(v, scale) for v in values]
        assert got == want, values


@pytest.mark.parametrize("secret", [b"", b"k", b"x" * 64, b"long key " * 20])
def test_core_hmac_equals_the_standard_library(secret: bytes):
    rng = random.Random(len(secret))
    values = ["", "DOE|JANE|MI|1", "x" * 55, "y" * 56, "z" * 64, "w" * 119, "v" * 200, None, "ÅSA|Ö||"]
    values += ["".join(rng.choice("ABC|0123") for _ in range(rng.randint(0, 130))) for _ in range(300)]
    want = [None if v is None else hmac.new(secret, v.encode(), hashlib.sha256).hexdigest() for v in values]
    assert hmac_keys(secret, pa.array(values, pa.string())).to_pylist() == want


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[bytes, dict]:
    synth = pytest.importorskip("pipeline.synth")
    out = tmp_path_factory.mktemp("one_file")
    synth.generate(out, claims=1500, files=1, seed=4242)
    path = sorted(out.glob("*.835"))[0]
    return path.read_bytes(), json.loads((out / "truth.json").read_text())


@pytest.mark.parametrize("budget", [5_000, 37_000, 250_000])
def test_cuts_fall_on_st_and_respect_the_budget(generated, budget: int):
    data, _ = generated
    regions = scan.find_regions(data, 0)
    plan = scan.plan_chunks(data, regions, budget)
    assert plan[0][0] == regions[0].start and plan[-1][1] == len(data)
    assert all(a2 == b1 for (_, b1), (a2, _) in zip(plan, plan[1:], strict=False))
    sep, term = data[3:4], data[105:106]
    # ST segments: right after a terminator (and the newline the generator writes after it)
    st_positions = [m.start(1) for m in re.finditer(re.escape(term) + rb"\s*(ST)" + re.escape(sep), data)]
    assert len(st_positions) > 3
    for a, _ in plan[1:]:
        assert a in st_positions  # every cut opens an ST
    candidates = st_positions[1:]  # the envelope before the file's first ST stays with it
    for a, b in plan:
        # over budget only when no cut inside the budget was possible (one transaction alone)
        if b - a > budget:
            assert not [s for s in candidates if a < s <= a + budget], (a, b)


@pytest.mark.parametrize("budget", [3_000, 64_000])
def test_pieces_number_transactions_like_the_whole_file(generated, budget: int):
    data, truth = generated
    whole = parse_835(data, "g.835", patient_key_secret=b"k")
    assert whole.claims.num_rows == truth["claims"]
    assert whole.payments.num_rows == truth["transactions"]
    paid = sum((v for v in whole.claims.column("paid_amount").to_pylist()), D(0))
    assert paid == D(truth["clp04_total"])
    ordinals = whole.payments.column("transaction_ordinal").to_pylist()
    assert ordinals == list(range(1, truth["transactions"] + 1))
    pieces = list(parse_835_chunks(data, "g.835", patient_key_secret=b"k", max_chunk_bytes=budget))
    assert len(pieces) > 1
    for name in schema.REMITTANCE_TABLES:
        joined = pa.concat_tables([getattr(p, name) for p in pieces])
        assert joined.equals(whole.tables()[name]), name


def test_an_envelope_error_in_a_later_piece_is_reported(generated):
    data, _ = generated
    # break the control number of a transaction far into the file: later pieces wait on earlier
    # pieces' ST counts and must not hang when an earlier piece's envelope is wrong
    cut = data.index(b"SE*", len(data) // 2)
    broken = data[:cut] + b"SE*1*XXXX" + data[data.index(b"~", cut) :]
    with pytest.raises(X12ParseError) as info:
        list(parse_835_chunks(broken, "b.835", max_chunk_bytes=4_000))
    assert any("SE" in p.message for p in info.value.problems)


def test_a_piece_that_fails_before_counting_does_not_stall_the_others(generated, monkeypatch):
    """Pieces wait for the ST counts of the pieces before them; when one dies before publishing its
    count, the parse must end in an X12ParseError, not wait forever."""
    import threading

    from pipeline.x12 import parser as x12_parser

    data, _ = generated
    real = x12_parser.build_tables

    def failing(chunk, log, **kw):
        if chunk.base_offset == 0:
            raise MemoryError("simulated failure in the first piece")
        return real(chunk, log, **kw)

    monkeypatch.setattr(x12_parser, "build_tables", failing)
    monkeypatch.setattr(x12_parser, "WORK_CHUNK", 4_000)  # pieces on worker threads even for this file
    monkeypatch.setattr(x12_parser, "THREADS", 2)
    outcome: list[object] = []

    def run() -> None:
        try:
            list(parse_835_chunks(data, "f.835", max_chunk_bytes=4_000))
            outcome.append("parsed")
        except X12ParseError as exc:
            outcome.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout=30)
    assert not t.is_alive(), "the parse stalled"
    assert isinstance(outcome[0], X12ParseError) and "MemoryError" in str(outcome[0])


def test_cdt_codes_are_recognised_by_their_bytes():
    codes = ["D0120", "D012", "D01234", "DA120", "d0120", "D01 0", "99213", "D9999"]
    svcs = "".join(f"SVC*HC:{code}*10*10~" for code in codes)
    data = (
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *250101*1200*^*00501*"
        "000000001*0*P*:~GS*HP*SENDER*RECEIVER*20250101*1200*1*X*005010X221A1~ST*835*0001~"
        "BPR*I*80*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20250102~"
        f"TRN*1*T1*1512345678~CLP*P1*1*80*80**12*CC1*11*1~{svcs}"
        f"SE*{len(codes) + 5}*0001~GE*1*1~IEA*1*000000001~"
    )
    lines = parse_835(data.encode(), "cdt.835").service_lines
    assert lines.column("procedure_code").to_pylist() == codes
    assert lines.column("is_dental").to_pylist() == [True, False, False, False, False, False, False, True]


def test_worker_threads_follow_the_cores(monkeypatch):
    from pipeline.x12 import parser as x12_parser

    monkeypatch.setattr(x12_parser, "THREADS", None)
    monkeypatch.setattr(x12_parser.os, "cpu_count", lambda: 2)
    assert x12_parser._worker_threads() == 2  # the core runs without the GIL: two workers
    monkeypatch.setattr(x12_parser.os, "cpu_count", lambda: 1)
    assert x12_parser._worker_threads() == 1
    monkeypatch.setattr(x12_parser.os, "cpu_count", lambda: None)
    assert x12_parser._worker_threads() == 1
    monkeypatch.setattr(x12_parser, "THREADS", 2)
    assert x12_parser._worker_threads() == 2  # forced


def test_numba_cache_moves_to_the_users_cache_when_the_package_is_read_only(tmp_path, monkeypatch) -> None:
    from pipeline.x12.build import numba_cache_dir

    package = tmp_path / "site-packages" / "pipeline" / "x12"
    (package / "__pycache__").mkdir(parents=True)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert numba_cache_dir(package, env) is None  # writable: numba caches beside the source
    assert numba_cache_dir(package, {**env, "NUMBA_CACHE_DIR": "/srv/numba"}) is None  # operator's choice

    real_access = os.access

    def read_only(path, mode):  # the tests run as root, for whom chmod alone makes nothing read-only
        if str(path).startswith(str(package)) and mode == os.W_OK:
            return False
        return real_access(path, mode)

    monkeypatch.setattr(os, "access", read_only)
    assert numba_cache_dir(package, env) == str(tmp_path / "cache" / "remit" / "numba")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert numba_cache_dir(package, {}) == str(tmp_path / "home" / ".cache" / "remit" / "numba")


def _python_isas(data: bytes, lo: int, floor: int, terminator: int) -> int:
    """Where ``find_regions``' ``bytes.find`` search finds the next interchange's ISA (-1: none)."""
    while True:
        lo = data.find(b"ISA", lo)
        if lo < 0:
            return -1
        j = lo - 1
        while j >= floor and data[j] in scan.WHITESPACE:
            j -= 1
        if j >= floor and data[j] == terminator and len(data) > lo + 3:
            return lo
        lo += 3


def test_the_compiled_isa_search_finds_what_bytes_find_finds():
    from pipeline.x12 import core

    rnd = random.Random(1818)
    alphabet = [
        b"ISA",
        b"IS",
        b"SA",
        b"I",
        b"S",
        b"A",
        b"~",
        b"*",
        b" ",
        b"\r\n",
        b"\t",
        b"LISA",
        b"X",
        b"~ISA",
    ]
    for _ in range(3000):
        data = b"".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        floor = rnd.randint(0, max(0, len(data) - 1))
        lo = rnd.randint(floor, max(floor, len(data)))
        want = _python_isas(data, lo, floor, ord("~"))
        got = core.next_isa(np.frombuffer(data, np.uint8), lo, floor, ord("~"))
        assert got == want, (data, lo, floor)


def test_regions_are_the_same_with_the_compiled_search():
    isa = (
        b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *250301*1200*^*00501*"
        b"000000001*0*P*:~"
    )
    other = isa.replace(b"*", b"|").replace(b":~", b">!")  # another interchange's own delimiters
    body = b"GS*HP*S*R*20250301*1200*1*X*005010X221A1~NM1*QC*1*LISA*ISA~SE*1*1~GE*1*1~IEA*1*000000001~"
    body2 = body.replace(b"*", b"|").replace(b"~", b"!")
    files = [
        isa + body,
        isa + body + b"\r\n  " + other + body2,
        isa + body + other + body2 + b"\n" + isa + body,
    ]
    for n, data in enumerate(files, 1):
        regions = scan.find_regions(data, 0)
        assert len(regions) == n  # the ISAs in NM1 (LISA, ISA) start none
        assert scan.find_regions(data, 0, compiled=True) == regions


def test_layout_hash_multiplier_is_the_smallest_that_works():
    """The field layout's perfect hash is searched 4,096 multipliers at a time (numpy): it must find the
    multiplier a one-by-one search finds, or none when none below 2**20 gives every key its own slot."""
    from pipeline.x12.core import _perfect

    def one_by_one(keys: list[int], size: int, shift: int) -> int | None:
        for mult in range(1, 1 << 20, 2):
            if len({((k * mult) >> shift) & (size - 1) for k in keys}) == len(keys):
                return mult
        return None

    rng = random.Random(18)
    cases = [([], 64, 8), ([5], 64, 8), ([1, 2, 3], 64, 8), (list(range(64)), 64, 0)]
    cases += [
        (rng.sample(range(1, 1 << 31), rng.randint(2, 12)), rng.choice([64, 128, 256]), rng.choice([8, 16]))
        for _ in range(60)
    ]
    for keys, size, shift in cases:
        try:
            found = _perfect(keys, size, shift)
        except ValueError:
            found = None
        assert found == one_by_one(keys, size, shift), (keys, size, shift)
