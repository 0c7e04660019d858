"""SHA-256 and HMAC-SHA256 (RFC 2104) compiled with numba: the keyed hashes of ``patient_key`` and of
identifying reference values, computed without the GIL and without a Python object per value.

``hashlib`` would need one call (and one ``bytes`` object) per value; here the key's inner and outer
states are computed once and every value is hashed in one kernel call, hex included. ``hmac_keys`` is
the Python entry point; ``hmac_reference`` is the standard-library form the tests compare with.
Imported lazily, like ``core`` (numba is not loaded by ``import pipeline.x12``).
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pyarrow as pa
from numba import njit
from numba.extending import register_jitable

from pipeline.x12.core import _jit

_K = np.array(
    [
        0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
        0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
        0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
        0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
        0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
        0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
        0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
        0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
    ],
    dtype=np.uint32,
)  # fmt: skip
_H0 = np.array(
    [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19],
    dtype=np.uint32,
)


@njit(inline="always")
def _rotr(x, n):
    return ((x >> np.uint32(n)) | (x << np.uint32(32 - n))) & np.uint32(0xFFFFFFFF)


@register_jitable
def _compress(state, block, w):
    """SHA-256 compression of one 64-byte block (uint8[64]) into ``state`` (uint32[8])."""
    for i in range(16):
        w[i] = (
            (np.uint32(block[4 * i]) << np.uint32(24))
            | (np.uint32(block[4 * i + 1]) << np.uint32(16))
            | (np.uint32(block[4 * i + 2]) << np.uint32(8))
            | np.uint32(block[4 * i + 3])
        )
    for i in range(16, 64):
        x = w[i - 15]
        y = w[i - 2]
        s0 = _rotr(x, 7) ^ _rotr(x, 18) ^ (x >> np.uint32(3))
        s1 = _rotr(y, 17) ^ _rotr(y, 19) ^ (y >> np.uint32(10))
        w[i] = np.uint32(w[i - 16] + s0 + w[i - 7] + s1)
    a_ = state[0]
    b = state[1]
    c = state[2]
    d = state[3]
    e = state[4]
    f = state[5]
    g = state[6]
    h = state[7]
    for i in range(64):
        s1 = _rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)
        ch = (e & f) ^ (~e & g)
        t1 = np.uint32(h + s1 + ch + _K[i] + w[i])
        s0 = _rotr(a_, 2) ^ _rotr(a_, 13) ^ _rotr(a_, 22)
        maj = (a_ & b) ^ (a_ & c) ^ (b & c)
        t2 = np.uint32(s0 + maj)
        h = g
        g = f
        f = e
        e = np.uint32(d + t1)
        d = c
        c = b
        b = a_
        a_ = np.uint32(t1 + t2)
    state[0] = np.uint32(state[0] + a_)
    state[1] = np.uint32(state[1] + b)
    state[2] = np.uint32(state[2] + c)
    state[3] = np.uint32(state[3] + d)
    state[4] = np.uint32(state[4] + e)
    state[5] = np.uint32(state[5] + f)
    state[6] = np.uint32(state[6] + g)
    state[7] = np.uint32(state[7] + h)


@register_jitable
def _digest(start, prefix_len, data, lo, hi, out, w, state, block):
    """SHA-256 of (``prefix_len`` bytes already absorbed into ``start``) + ``data[lo:hi]`` → ``out``
    (``w``, ``state``, ``block``: scratch buffers, reused from call to call)."""
    for i in range(8):
        state[i] = start[i]
    n = hi - lo
    pos = lo
    while hi - pos >= 64:
        for i in range(64):
            block[i] = data[pos + i]
        _compress(state, block, w)
        pos += 64
    rest = hi - pos
    for i in range(64):
        block[i] = 0
    for i in range(rest):
        block[i] = data[pos + i]
    block[rest] = 0x80
    if rest >= 56:
        _compress(state, block, w)
        for i in range(64):
            block[i] = 0
    bits = np.uint64(prefix_len + n) * np.uint64(8)
    for i in range(8):
        block[63 - i] = np.uint8((bits >> np.uint64(8 * i)) & np.uint64(0xFF))
    _compress(state, block, w)
    for i in range(8):
        v = state[i]
        out[4 * i] = np.uint8(v >> np.uint32(24))
        out[4 * i + 1] = np.uint8((v >> np.uint32(16)) & np.uint32(0xFF))
        out[4 * i + 2] = np.uint8((v >> np.uint32(8)) & np.uint32(0xFF))
        out[4 * i + 3] = np.uint8(v & np.uint32(0xFF))


@_jit
def hmac_hex(key, data, offsets, valid):
    """HMAC-SHA256 (RFC 2104) of each ``data[offsets[k]:offsets[k+1]]`` under ``key`` (at most 64 bytes,
    already hashed when longer), as 64 lower-case hex characters: (bitmap, null count, int32 offsets,
    data) of an Arrow string array; rows where ``valid`` is False are null."""
    w = np.empty(64, np.uint32)
    pad = np.zeros(64, np.uint8)
    for i in range(key.shape[0]):
        pad[i] = key[i]
    inner = _H0.copy()
    outer = _H0.copy()
    blk = np.empty(64, np.uint8)
    for i in range(64):
        blk[i] = pad[i] ^ 0x36
    _compress(inner, blk, w)
    for i in range(64):
        blk[i] = pad[i] ^ 0x5C
    _compress(outer, blk, w)
    n = valid.shape[0]
    nvalid = 0
    for k in range(n):
        if valid[k]:
            nvalid += 1
    out_off = np.empty(n + 1, np.int32)
    text = np.empty(64 * nvalid, np.uint8)
    bits = np.zeros((n + 7) // 8, np.uint8)
    hexd = np.empty(16, np.uint8)
    for i in range(16):
        hexd[i] = 48 + i if i < 10 else 87 + i
    ih = np.empty(32, np.uint8)
    oh = np.empty(32, np.uint8)
    state = np.empty(8, np.uint32)
    block = np.empty(64, np.uint8)
    pos = 0
    nulls = 0
    for k in range(n):
        out_off[k] = pos
        if not valid[k]:
            nulls += 1
            continue
        bits[k >> 3] |= np.uint8(1 << (k & 7))
        _digest(inner, 64, data, offsets[k], offsets[k + 1], ih, w, state, block)
        _digest(outer, 64, ih, 0, 32, oh, w, state, block)
        for i in range(32):
            text[pos + 2 * i] = hexd[oh[i] >> 4]
            text[pos + 2 * i + 1] = hexd[oh[i] & 15]
        pos += 64
    out_off[n] = pos
    return bits, nulls, out_off, text


def hmac_key(secret: bytes) -> np.ndarray:
    """The HMAC key as the kernel takes it: the secret, or its SHA-256 when longer than a block."""
    key = secret if len(secret) <= 64 else hashlib.sha256(secret).digest()
    return np.frombuffer(key, dtype=np.uint8).copy()


def string_array(parts, n: int) -> pa.Array:
    """A ``string`` array from a kernel's (bitmap, null count, int32 offsets, data)."""
    bits, nulls, offsets, data = parts
    return pa.Array.from_buffers(
        pa.string(),
        n,
        [pa.py_buffer(bits) if nulls else None, pa.py_buffer(offsets), pa.py_buffer(data)],
        null_count=int(nulls),
    )


def hmac_keys(secret: bytes | None, values: pa.Array) -> pa.Array:
    """HMAC-SHA256 hex of each string (null without a secret or a value)."""
    n = len(values)
    if secret is None:
        return pa.nulls(n, pa.string())
    values = values.cast(pa.string())
    bufs = values.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[values.offset : values.offset + n + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8).copy() if bufs[2] is not None else np.zeros(0, np.uint8)
    if values.null_count:  # from the validity bitmap (np.asarray of an Arrow array imports pandas)
        bits = np.unpackbits(np.frombuffer(bufs[0], dtype=np.uint8), bitorder="little")
        valid = bits[values.offset : values.offset + n].astype(bool)
    else:
        valid = np.ones(n, dtype=bool)
    return string_array(hmac_hex(hmac_key(secret), data, offsets, valid), n)


def hmac_reference(secret: bytes, value: str) -> str:
    """The same HMAC through the standard library (used to check the fast path)."""
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()
