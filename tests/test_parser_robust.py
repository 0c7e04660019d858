"""Robustness: whatever the bytes, ``parse_835`` returns tables or raises ``X12ParseError``, nothing else."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.x12 import Remittance835, X12ParseError, parse_835, parse_835_chunks

FIX = Path(__file__).resolve().parent / "fixtures" / "835"
SEEDS = [p.read_bytes() for p in sorted(FIX.glob("*.835"))]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(data: bytes) -> str:
    try:
        r = parse_835(data, "fuzz.835")
    except X12ParseError as e:
        assert e.problems and e.source == "fuzz.835"
        return "error"
    assert isinstance(r, Remittance835)
    return "parsed"


@SETTINGS
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_truncations(seed: bytes, data):
    cut = data.draw(st.integers(0, len(seed)))
    outcome(seed[:cut])


@SETTINGS
@given(
    seed=st.sampled_from(SEEDS),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
)
def test_byte_flips(seed: bytes, flips):
    b = bytearray(seed)
    for pos, val in flips:
        b[pos % len(b)] = val
    outcome(bytes(b))


DELIMS = [b"*", b"|", b":", b">", b"~", b"!", b"^", b"\n", b"\r"]


@SETTINGS
@given(seed=st.sampled_from(SEEDS), a=st.sampled_from(DELIMS), b=st.sampled_from(DELIMS))
def test_swapped_delimiters(seed: bytes, a: bytes, b: bytes):
    outcome(seed.replace(a, b"\x00").replace(b, a).replace(b"\x00", b))


@SETTINGS
@given(seed=st.sampled_from(SEEDS), number=st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(alphabet="0123456789.-+eE ", max_size=25),
))  # fmt: skip
def test_huge_and_odd_numbers(seed: bytes, number: str):
    # amounts such as 100, 1000, 100.00 in the fixtures all contain "100"
    outcome(seed.replace(b"100", number.encode()))


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=400))
def test_random_binary(data: bytes):
    outcome(data)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=200))
def test_isa_prefixed_binary(tail: bytes):
    head = SEEDS[0][:120]
    outcome(head + tail)


@SETTINGS
@given(seed=st.sampled_from(SEEDS), size=st.integers(1, 400))
def test_chunked_parse_never_raises_anything_else(seed: bytes, size: int):
    try:
        for piece in parse_835_chunks(seed[: len(seed) - size // 3], "c", max_chunk_bytes=size):
            assert isinstance(piece, Remittance835)
    except X12ParseError:
        pass


def test_empty_and_whitespace():
    assert outcome(b"") == "error"
    assert outcome(b"\xef\xbb\xbf\r\n") == "error"
    assert outcome(SEEDS[0]) == "parsed"
