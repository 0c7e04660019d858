"""The six tables of one ST-bounded piece, built from the compiled core's output (``core``).

The numba kernels tokenise the piece, walk its segments once (loop context, the source rows of every
table row, structural problems) and convert byte spans into Arrow buffers; this module calls them in
order, turns their problem records into ``Problem``s (in the order, and with the limits, the parser has
always reported them) and wraps the buffers as Arrow arrays without copying. The envelope checks (few
segments, carried from piece to piece) stay in Python.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.x12 import schema
from pipeline.x12.errors import Problem, shown_value, value_shape
from pipeline.x12.versions import unsupported_version


def numba_cache_dir(package_dir: Path, environ: Mapping[str, str]) -> str | None:
    """The ``NUMBA_CACHE_DIR`` to set before numba loads, or None to leave numba's choice alone.

    numba caches compiled kernels beside their source (``__pycache__``). Where that folder is read-only
    (remit installed into a system site-packages and run by a service user) numba fell back to
    compiling in every process: 15–20 s in the nightly job and again in each parser worker. Then the
    user's cache folder is used instead (``$XDG_CACHE_HOME/remit/numba``, else
    ``~/.cache/remit/numba``). A ``NUMBA_CACHE_DIR`` already set is the operator's choice and kept.
    """
    if environ.get("NUMBA_CACHE_DIR"):
        return None
    pycache = package_dir / "__pycache__"
    if os.access(pycache if pycache.exists() else package_dir, os.W_OK):
        return None
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "remit", "numba")


def _core():
    """The numba kernels, imported on first use (numba is not loaded by ``import pipeline.x12``)."""
    if "numba" not in sys.modules:  # numba reads its settings when first imported
        folder = numba_cache_dir(Path(__file__).parent, os.environ)
        if folder is not None:
            with contextlib.suppress(OSError):  # no writable cache at all: numba compiles per process
                os.makedirs(folder, exist_ok=True)
                os.environ["NUMBA_CACHE_DIR"] = folder  # spawned parser workers inherit it
    from pipeline.x12 import core

    return core


_ID_LIKE = re.compile(r"[A-Za-z0-9]{1,4}")


def code(segment_id: str) -> int:
    """The integer code of a 2–3 letter segment id or qualifier (as the core computes it)."""
    b = segment_id.encode()
    return (b[0] << 16) | (b[1] << 8) | (b[2] if len(b) > 2 else 0)


ISA, IEA, GS, GE, ST, SE = (code(s) for s in ("ISA", "IEA", "GS", "GE", "ST", "SE"))
ENVELOPE = (ISA, IEA, GS, GE, ST, SE)


@dataclass
class ProblemLog:
    """Problems found so far (kept up to a limit, all counted)."""

    limit: int = 200
    items: list[Problem] = field(default_factory=list)
    count: int = 0

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(problem)


@dataclass
class TxnEnvelope:
    """Envelope values for one transaction, filled in by the envelope state machine."""

    interchange_control_number: str | None
    interchange_sender_id: str | None
    interchange_receiver_id: str | None
    group_control_number: str | None
    version: str | None


def _string_array(parts, n: int) -> pa.Array:
    """A ``string`` array from a kernel's (bitmap, null count, int32 offsets, data)."""
    bits, nulls, offsets, data = parts
    return pa.Array.from_buffers(
        pa.string(),
        n,
        [pa.py_buffer(bits) if nulls else None, pa.py_buffer(offsets), pa.py_buffer(data)],
        null_count=int(nulls),
    )


def _decimal_array(vals: np.ndarray, ok: np.ndarray, typ: pa.DataType = schema.MONEY) -> pa.Array:
    bits, nulls, words = _core().decimals(vals, ok)
    return pa.Array.from_buffers(
        typ, len(vals), [pa.py_buffer(bits) if nulls else None, pa.py_buffer(words)], null_count=int(nulls)
    )


def _date_array(days: np.ndarray, ok: np.ndarray) -> pa.Array:
    bits, nulls = _core().bitmap(ok)
    return pa.Array.from_buffers(
        pa.date32(),
        len(days),
        [pa.py_buffer(bits) if nulls else None, pa.py_buffer(days)],
        null_count=int(nulls),
    )


def _int32(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int32), pa.int32())


def _const(value: str | None, n: int) -> pa.Array:
    """``n`` copies of one string, built directly from buffers."""
    if value is None:
        return pa.nulls(n, pa.string())
    raw = value.encode()
    offs = np.arange(n + 1, dtype=np.int32) * len(raw)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offs), pa.py_buffer(raw * n)])


def _labels(index: np.ndarray, labels: list[str]) -> pa.Array:
    """Strings from a small label table, without a Python loop."""
    idx = pa.array(np.asarray(index, dtype=np.int8))
    return pa.DictionaryArray.from_arrays(idx, pa.array(labels, pa.string())).cast(pa.string())


def _masked(s: np.ndarray, e: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spans with those not in ``keep`` made missing."""
    return np.where(keep, s, 0), np.where(keep, e, 0)


class Segments:
    """One piece of file bytes, tokenised by the core: the segment index and element access.

    ``buf`` holds whole segments only; ``base_offset`` is the file offset of ``buf[0]`` and
    ``base_segment`` the number of segments in the file before it.
    """

    def __init__(
        self, buf: bytes, element: int, component: int, terminator: int, base_offset: int, base_segment: int
    ):
        self.k = _core()
        self.buf = buf
        self.a = np.frombuffer(buf, dtype=np.uint8)
        self.element = element
        self.component = component
        self.base_offset = base_offset
        self.base_segment = base_segment
        (
            self.off,
            self.seg_tok,
            self.nelem,
            self.id_pos,
            self.id_len,
            self.sid,
            self.valid_id,
            self.counts,
            needs_trim,
        ) = self.k.tokenize(self.a, element, terminator)
        self.needs_trim = bool(needs_trim)
        self.n = len(self.sid)

    # ---- locating --------------------------------------------------------------------------------
    def segment_number(self, row: int) -> int:
        return self.base_segment + int(row) + 1

    def byte_offset(self, row: int) -> int:
        return self.base_offset + int(self.id_pos[row])

    def segment_id(self, row: int) -> str:
        """The segment's id. A first token that is not one is shown as it is when it could be a typo of
        one (up to 4 letters or digits, e.g. ``PLXX``, ``clp``); anything else only by its shape, since it
        may be any text of a broken file, even a patient's name."""
        p = int(self.id_pos[row])
        raw = self.buf[p : p + int(self.id_len[row])].decode("latin-1")
        return raw if self.valid_id[row] or _ID_LIKE.fullmatch(raw) else value_shape(raw)

    def problem(self, row: int, message: str) -> Problem:
        return Problem(message, self.segment_number(row), self.byte_offset(row), self.segment_id(row))

    def text(self, s: int, e: int) -> str:
        return self.buf[int(s) : int(e)].decode("utf-8", "replace")

    # ---- element access --------------------------------------------------------------------------
    def span(self, rows: np.ndarray, j) -> tuple[np.ndarray, np.ndarray]:
        """Byte spans ``(s, e)`` of element ``j`` (int or array, 1-based) of each row (trimmed when the
        piece needs it); ``e > s`` when present, ``(0, 0)`` for ``-1`` rows, missing or empty elements."""
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        js = np.array(np.broadcast_to(np.asarray(j, dtype=np.int64), rows.shape))  # writable, contiguous
        return self.k.gather(self.a, self.off, self.seg_tok, self.nelem, rows, js, self.needs_trim)

    def strings(self, s: np.ndarray, e: np.ndarray) -> pa.Array:
        return _string_array(self.k.strings(self.a, s, e), len(s))

    def raw(self, rows: np.ndarray, j) -> pa.Array:
        """Element ``j`` of each row as strings (trimmed; missing or empty → null)."""
        return self.strings(*self.span(rows, j))

    def qcode(self, rows: np.ndarray, j: int = 1) -> np.ndarray:
        """Integer code (as ``code``) of element ``j`` when it is 1–3 bytes long, else -1."""
        return self.k.qcodes(self.a, *self.span(rows, j))

    def equals(self, s: np.ndarray, e: np.ndarray, text: str) -> np.ndarray:
        """Whether each span is exactly ``text`` (1–3 bytes)."""
        return (self.k.qcodes(self.a, s, e) == code(text)) & (e - s == len(text))

    def numbers(self, s: np.ndarray, e: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact unscaled int64 values of the spans and which are valid (see ``core.parse_numbers``)."""
        return self.k.parse_numbers(self.a, s, e, scale)

    def components(self, s: np.ndarray, e: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Spans of the first ``width`` components of each span (ISA16 separator): two width × n arrays."""
        return self.k.components(self.a, s, e, self.component, width, self.needs_trim)


# No single amount of a remittance comes near a trillion dollars: one at or above this (in magnitude) is a
# corrupt or test file, and loading it would push the lake's and the warehouse's sums towards overflow.
# The file is rejected naming the element and segment (docs/operations.md, "Implausible amounts").
AMOUNT_LIMIT = Decimal("1000000000000")


class Values:
    """Typed conversion of element spans, with problems reported against segment rows."""

    def __init__(self, c: Segments, log: ProblemLog):
        self.c = c
        self.log = log

    def _report(
        self, rows: np.ndarray, bad: np.ndarray, s: np.ndarray, e: np.ndarray, what: str, kind: str
    ) -> None:
        idx = np.flatnonzero(bad)
        for k in idx[: self.log.limit]:
            value = shown_value(self.c.text(s[k], e[k]), kind)  # never a name read as an amount
            self.log.add(self.c.problem(int(rows[k]), f"{what}: {value}"))
        self.log.count += max(0, len(idx) - self.log.limit)

    def missing(self, rows: np.ndarray, e_gt_s: np.ndarray, label: str) -> None:
        for k in np.flatnonzero((rows >= 0) & ~e_gt_s)[: self.log.limit]:
            self.log.add(self.c.problem(int(rows[k]), f"{label} is missing (required)"))

    def decimal(
        self, rows: np.ndarray, span: tuple, label: str, scale: int = 2, required: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact decimal of each span: (unscaled int64, ok)."""
        s, e = span
        vals, ok = self.c.numbers(s, e, scale)
        present = e > s
        bad = present & ~ok
        if bad.any():
            kind = "amount" if scale == 2 else "quantity"
            self._report(
                rows,
                bad,
                s,
                e,
                f"{label} is not a valid {kind} (digits with optional '-', "
                f"at most {scale} decimals and {18 - scale} integer digits)",
                "amount",
            )
        limit = int(AMOUNT_LIMIT * 10**scale)
        if scale == 2 and limit < 10**18:  # amounts only (quantities have scale 3)
            huge = ok & present & (np.abs(vals) >= limit)
            if huge.any():
                idx = np.flatnonzero(huge)
                for k in idx[: self.log.limit]:
                    self.log.add(
                        self.c.problem(
                            int(rows[k]),
                            f"{label} is implausibly large: {AMOUNT_LIMIT:,.2f} or more in magnitude "
                            "(remit refuses any single amount that large)",
                        )
                    )
                self.log.count += max(0, len(idx) - self.log.limit)
                ok = ok & ~huge
        if required:
            self.missing(rows, present, label)
        return vals, ok

    def date(self, rows: np.ndarray, span: tuple, label: str) -> tuple[np.ndarray, np.ndarray]:
        """CCYYMMDD spans → (int32 days since 1970, ok); real calendar dates only."""
        s, e = span
        days, ok = self.c.k.parse_dates(self.c.a, s, e)
        bad = (e > s) & ~ok
        if bad.any():
            self._report(rows, bad, s, e, f"{label} is not a valid date CCYYMMDD", "date")
        return days, ok


def hmac_keys(secret: bytes | None, values: pa.Array) -> pa.Array:
    """HMAC-SHA256 hex of each string (null without a secret or a value), computed by the core
    (RFC 2104 over its own SHA-256); ``hmac_reference`` is the standard-library form tests compare with."""
    n = len(values)
    if secret is None:
        return pa.nulls(n, pa.string())
    values = values.cast(pa.string())
    bufs = values.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[values.offset : values.offset + n + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8).copy() if bufs[2] is not None else np.zeros(0, np.uint8)
    valid = np.asarray(values.is_valid(), dtype=bool) if values.null_count else np.ones(n, dtype=bool)
    return _string_array(_core().hmac_hex(_hmac_key(secret), data, offsets, valid), n)


def _hmac_key(secret: bytes) -> np.ndarray:
    key = secret if len(secret) <= 64 else hashlib.sha256(secret).digest()
    return np.frombuffer(key, dtype=np.uint8).copy()


def hmac_reference(secret: bytes, value: str) -> str:
    """The same HMAC through the standard library (used to check the fast path)."""
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


class Envelope:
    """ISA/GS/ST nesting, control numbers and counts, carried across the pieces of one file."""

    def __init__(self, bare: bool):
        self.bare = bare
        self.isa: dict | None = None
        self.gs: dict | None = None
        self.st: dict | None = None
        self.transactions = 0
        self.last: tuple[int, int, str] | None = None  # segment number, offset, id of the last segment

    def process(self, c: Segments, rows: np.ndarray, log: ProblemLog) -> list[TxnEnvelope]:
        """Check the envelope segments of one piece (in order); return one entry per ST.

        Well-nested pieces (ST/SE alternating, no ISA/GS/GE/IEA inside a transaction) take a vectorised
        path for the ST/SE pairs; anything else goes through the segment-by-segment state machine.
        """
        if len(rows) == 0:
            return []
        sids = c.sid[rows]
        st_m, se_m = sids == ST, sids == SE
        pair = sids[st_m | se_m]
        open_ = np.cumsum(st_m) - np.cumsum(se_m)
        if (
            self.st is None
            and len(pair) % 2 == 0
            and (pair[0::2] == ST).all()
            and (pair[1::2] == SE).all()
            and (open_[~(st_m | se_m)] == 0).all()
        ):
            return self._fast(c, rows, sids, st_m, se_m, log)
        return self._slow(c, rows, sids, log)

    def _fast(
        self,
        c: Segments,
        rows: np.ndarray,
        sids: np.ndarray,
        st_m: np.ndarray,
        se_m: np.ndarray,
        log: ProblemLog,
    ) -> list[TxnEnvelope]:
        st_rows, se_rows = rows[st_m], rows[se_m]
        nst = len(st_rows)
        not_835 = c.qcode(st_rows, 1) != code("835")
        for k in np.flatnonzero(not_835)[:20]:
            got = c.raw(st_rows[k : k + 1], 1)[0].as_py()
            log.add(
                c.problem(int(st_rows[k]), f"transaction set {shown_value(got, 'code')} is not an 835 (ST01)")
            )
        st02, se02 = c.raw(st_rows, 2), c.raw(se_rows, 2)
        for k in np.flatnonzero(~np.asarray(pc.fill_null(pc.equal(st02, se02), False)))[:20]:
            log.add(
                c.problem(
                    int(se_rows[k]),
                    f"SE02 {shown_value(se02[int(k)].as_py(), 'control')} does not match "
                    f"ST02 {shown_value(st02[int(k)].as_py(), 'control')}",
                )
            )
        count, ok = c.numbers(*c.span(se_rows, 1), 0)
        for k in np.flatnonzero(~ok | (count != se_rows - st_rows + 1))[:20]:
            got = c.raw(se_rows[k : k + 1], 1)[0].as_py()
            n = int(se_rows[k] - st_rows[k] + 1)
            log.add(
                c.problem(
                    int(se_rows[k]),
                    f"SE01 says {shown_value(got, 'control')} segments, the transaction has {n}",
                )
            )
        # ISA/GS/GE/IEA one by one, with the ST count between them
        cum_st = np.cumsum(st_m)
        other = np.flatnonzero(~(st_m | se_m))
        out: list[TxnEnvelope] = []
        done = 0

        def assign(upto: int) -> None:
            nonlocal done
            if upto <= done:
                return
            if not self.bare and self.gs is None:
                for k in range(done, min(upto, done + 20)):
                    log.add(c.problem(int(st_rows[k]), "ST outside a functional group (no open GS)"))
            if self.gs is not None:
                self.gs["txns"] += upto - done
            isa, gs = self.isa or {}, self.gs or {}
            env = (isa.get("ctrl"), isa.get("sender"), isa.get("receiver"), gs.get("ctrl"))
            versions = c.raw(st_rows[done:upto], 3).to_pylist()
            for i, v in enumerate(versions):
                if not not_835[done + i] and (why := _version_problem(v, gs.get("version"))):
                    log.add(c.problem(int(st_rows[done + i]), why))
            out.extend(TxnEnvelope(*env, v or gs.get("version")) for v in versions)
            done = upto

        if len(other):
            self._slow(c, rows[other], sids[other], log, before=lambda k: assign(int(cum_st[other[k]])))
        assign(nst)
        self.transactions += nst
        return out

    def _slow(
        self, c: Segments, rows: np.ndarray, sids: np.ndarray, log: ProblemLog, before=None
    ) -> list[TxnEnvelope]:
        out: list[TxnEnvelope] = []
        vals = {j: c.raw(rows, j).to_pylist() for j in (1, 2, 3, 6, 8, 13)}
        for j in (6, 8, 13):
            vals[j] = [v.strip() if v else v for v in vals[j]]
        for k, row in enumerate(rows.tolist()):
            if before is not None:
                before(k)
            s = int(sids[k])
            e = {j: vals[j][k] for j in vals}
            segno = c.segment_number(row)

            def bad(msg: str, row: int = row) -> None:
                log.add(c.problem(row, msg))

            if s == ISA:
                if self.bare:
                    bad("ISA in a file that started without one")
                if self.isa is not None:
                    bad(f"ISA starts before IEA closed interchange {_ctrl(self.isa['ctrl'])}")
                self.isa = {"ctrl": e[13], "sender": e[6], "receiver": e[8], "groups": 0}
                self.gs = None
            elif s == IEA:
                if self.isa is None:
                    bad("IEA without an open ISA")
                    continue
                if self.gs is not None:
                    bad(f"IEA before GE closed group {_ctrl(self.gs['ctrl'])}")
                if e[2] != self.isa["ctrl"]:
                    bad(f"IEA02 {_ctrl(e[2])} does not match ISA13 {_ctrl(self.isa['ctrl'])}")
                if e[1] != str(self.isa["groups"]) and _int(e[1]) != self.isa["groups"]:
                    bad(f"IEA01 says {_ctrl(e[1])} groups, the interchange has {self.isa['groups']}")
                self.isa = None
            elif s == GS:
                if self.isa is None:
                    bad("GS outside an interchange (no open ISA)")
                else:
                    self.isa["groups"] += 1
                if self.gs is not None:
                    bad(f"GS starts before GE closed group {_ctrl(self.gs['ctrl'])}")
                self.gs = {"ctrl": e[6], "version": e[8], "txns": 0}
            elif s == GE:
                if self.gs is None:
                    bad("GE without an open GS")
                    continue
                if self.st is not None:
                    bad(f"GE before SE closed transaction {_ctrl(self.st['ctrl'])}")
                    self.st = None
                if e[2] != self.gs["ctrl"]:
                    bad(f"GE02 {_ctrl(e[2])} does not match GS06 {_ctrl(self.gs['ctrl'])}")
                if _int(e[1]) != self.gs["txns"]:
                    bad(f"GE01 says {_ctrl(e[1])} transactions, the group has {self.gs['txns']}")
                self.gs = None
            elif s == ST:
                if not self.bare and self.gs is None:
                    bad("ST outside a functional group (no open GS)")
                if self.st is not None:
                    log.add(
                        Problem(
                            f"transaction {_ctrl(self.st['ctrl'])} has no SE (truncated or broken envelope)",
                            self.st["segno"],
                            self.st["offset"],
                            "ST",
                        )
                    )
                if e[1] != "835":
                    bad(f"transaction set {shown_value(e[1], 'code')} is not an 835 (ST01)")
                elif why := _version_problem(e[3], (self.gs or {}).get("version")):
                    bad(why)
                if self.gs is not None:
                    self.gs["txns"] += 1
                self.transactions += 1
                self.st = {"ctrl": e[2], "segno": segno, "offset": c.byte_offset(row)}
                isa = self.isa or {}
                gs = self.gs or {}
                out.append(
                    TxnEnvelope(
                        isa.get("ctrl"),
                        isa.get("sender"),
                        isa.get("receiver"),
                        gs.get("ctrl"),
                        e[3] or gs.get("version"),
                    )
                )
            elif s == SE:
                if self.st is None:
                    bad("SE without an open ST")
                    continue
                if e[2] != self.st["ctrl"]:
                    bad(f"SE02 {_ctrl(e[2])} does not match ST02 {_ctrl(self.st['ctrl'])}")
                count = segno - self.st["segno"] + 1
                if _int(e[1]) != count:
                    bad(f"SE01 says {_ctrl(e[1])} segments, the transaction has {count}")
                self.st = None
        return out

    def finish(self, log: ProblemLog) -> None:
        """End-of-file checks: everything opened must be closed."""
        segno, offset, sid = self.last or (None, None, None)
        if self.st is not None:
            log.add(
                Problem(
                    f"file ends inside transaction {_ctrl(self.st['ctrl'])} (no SE): truncated?",
                    segno,
                    offset,
                    sid,
                )
            )
        if self.gs is not None:
            log.add(
                Problem(
                    f"file ends inside group {_ctrl(self.gs['ctrl'])} (no GE): truncated?", segno, offset, sid
                )
            )
        if self.isa is not None:
            log.add(
                Problem(
                    f"file ends inside interchange {_ctrl(self.isa['ctrl'])} (no IEA): truncated?",
                    segno,
                    offset,
                    sid,
                )
            )
        if self.transactions == 0:
            log.add(Problem("the file holds no ST transaction", segno, offset, sid))


def _version_problem(st03: str | None, gs08: str | None) -> str | None:
    """Why an 835's version (ST03, else its group's GS08) is not read, or ``None`` (pipeline.x12.versions)."""
    return unsupported_version(st03, "ST03") if st03 else unsupported_version(gs08, "its group's GS08")


def _ctrl(value: str | None) -> str:
    """A control number or count as a message shows it (quoted when numeric, see ``shown_value``)."""
    return shown_value(value, "control")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


ENVELOPE_COLUMNS = (
    "interchange_control_number",
    "interchange_sender_id",
    "interchange_receiver_id",
    "group_control_number",
    "version",
)


def apply_envelope(c: Segments, env: Envelope, log: ProblemLog, payments: pa.Table | None) -> pa.Table | None:
    """The sequential part of a piece: envelope checks, and the envelope columns of ``payments``
    (None when the piece had problems: the file is rejected anyway)."""
    n = c.n
    if n:
        env.last = (c.segment_number(n - 1), c.byte_offset(n - 1), c.segment_id(n - 1))
    sid = c.sid
    is_env = sid == ENVELOPE[0]
    for value in ENVELOPE[1:]:
        is_env |= sid == value
    txn_env = env.process(c, np.flatnonzero(is_env).astype(np.int64), log)
    if payments is None or len(txn_env) != payments.num_rows:
        return payments  # only with envelope problems (the file is rejected anyway)
    for name in ENVELOPE_COLUMNS:
        i = payments.schema.get_field_index(name)
        payments = payments.set_column(
            i, payments.schema.field(i), pa.array([getattr(e, name) for e in txn_env], pa.string())
        )
    return payments


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    sch = schema.TABLES[name]
    return pa.Table.from_arrays([columns[f.name] for f in sch], schema=sch)


def build_tables(
    c: Segments,
    log: ProblemLog,
    *,
    file_id: str,
    source: str,
    txn_base: Callable[[int], int],
    secret: bytes | None,
) -> dict[str, pa.Table] | None:
    """The six tables for one piece (envelope columns left for ``apply_envelope``); problems go to
    ``log`` and then no table is built (None). Depends on nothing but the piece and ``txn_base`` (given
    this piece's ST count, the number of STs before it), so pieces can be built in parallel.

    Problems are reported in the order, and with the per-kind limits, of the columnar parser this core
    replaced: structural ones first, then value checks column by column.
    """
    k = c.k
    conv = Values(c, log)
    (
        (tx, txs, txe),
        (cl, cls_, cle),
        (ln, lns, lne),
        (ad, ads, ade),
        (pb, pbs, pbe),
        (pl, pls, ple),
        rmx,
        probs,
    ) = k.walk(c.a, c.off, c.seg_tok, c.nelem, c.sid, c.valid_id, c.counts, c.needs_trim)
    rm, rms, rme = rmx
    prow, paux, pn = probs
    nt, ncl, nl, na, npl, nr = (x.shape[1] for x in (tx, cl, ln, ad, pl, rm))
    # the ST count is published at once: later pieces wait for it to number their transactions
    base = txn_base(nt)

    def T(col: int) -> tuple[np.ndarray, np.ndarray]:
        return txs[col], txe[col]

    def C(col: int) -> tuple[np.ndarray, np.ndarray]:
        return cls_[col], cle[col]

    def L(col: int) -> tuple[np.ndarray, np.ndarray]:
        return lns[col], lne[col]

    def structural(kind: int, message: Callable[[int], str]) -> None:
        for i in range(int(pn[kind])):
            log.add(c.problem(int(prow[kind, i]), message(int(paux[kind, i]))))

    structural(k.P_NOT_ID, lambda _: "not a segment id (binary data, wrong delimiters or a broken file?)")
    structural(k.P_OUTSIDE, lambda _: "segment outside a transaction (ST … SE)")
    structural(k.P_CAS_OUT, lambda _: "CAS outside a claim (no CLP before it)")
    structural(k.P_SVC_OUT, lambda _: "SVC outside a claim (no CLP before it)")

    # ---- transactions ----------------------------------------------------------------------------
    st_rows, bpr = tx[k.TX_ST], tx[k.TX_BPR]
    is_835 = c.equals(*T(k.TXS_ST01), "835")  # other sets are reported by the envelope pass
    for i in np.flatnonzero((bpr < 0) & is_835)[:20]:
        log.add(c.problem(int(st_rows[i]), "transaction has no BPR segment"))
    bpr_cents, bpr_ok = conv.decimal(bpr, T(k.TXS_BPR02), "BPR02", required=True)

    # ---- claims ----------------------------------------------------------------------------------
    clp = cl[k.CL_ROW]
    c03, ok03 = conv.decimal(clp, C(k.CLS_CLP03), "CLP03", required=True)
    c04, ok04 = conv.decimal(clp, C(k.CLS_CLP04), "CLP04", required=True)
    c05, ok05 = conv.decimal(clp, C(k.CLS_CLP05), "CLP05")
    cov, cov_ok = conv.decimal(cl[k.CL_AMTAU], C(k.CLS_AMTAU), "AMT02")

    # ---- service lines ---------------------------------------------------------------------------
    svc = ln[k.LN_ROW]
    s02, ok_s02 = conv.decimal(svc, L(k.LNS_SVC02), "SVC02", required=True)
    s03, ok_s03 = conv.decimal(svc, L(k.LNS_SVC03), "SVC03", required=True)
    s05, ok_s05 = conv.decimal(svc, L(k.LNS_SVC05), "SVC05", 3)
    s07, ok_s07 = conv.decimal(svc, L(k.LNS_SVC07), "SVC07", 3)
    allowed, allowed_ok = conv.decimal(ln[k.LN_AMTB6], L(k.LNS_AMTB6), "AMT02")
    # DTM*472: a date in DTM02, or DTM05 = D8 / RD8 with DTM06 = CCYYMMDD / CCYYMMDD-CCYYMMDD
    d472 = ln[k.LN_D472]
    s6, e6 = L(k.LNS_D472_06)
    is_rd8 = (e6 > s6) & c.equals(*L(k.LNS_D472_05), "RD8")
    rd8_ok = is_rd8 & (e6 - s6 == 17)
    if rd8_ok.any():
        rd8_ok &= c.a[np.where(rd8_ok, s6 + 8, 0)] == ord("-")
    for i in np.flatnonzero(is_rd8 & ~rd8_ok)[:20]:
        log.add(c.problem(int(d472[i]), "DTM06 is not a CCYYMMDD-CCYYMMDD range"))
    s2, e2 = L(k.LNS_D472_02)
    single = conv.date(d472, (s2, e2), "DTM*472 date")
    if (e6 > s6).any():
        d8 = conv.date(d472, _masked(s6, e6, ~(e2 > s2) & ~is_rd8), "DTM06 date")
        r_from = conv.date(d472, _masked(s6, s6 + 8, rd8_ok), "DTM06 range start")
        r_to = conv.date(d472, _masked(s6 + 9, e6, rd8_ok), "DTM06 range end")
    else:  # no DTM06 at all (the usual case): nothing to read
        d8 = r_from = r_to = (np.zeros(nl, np.int32), np.zeros(nl, bool))
    from150 = conv.date(ln[k.LN_D150], L(k.LNS_D150), "DTM*150 date")
    to151 = conv.date(ln[k.LN_D151], L(k.LNS_D151), "DTM*151 date")

    # ---- adjustments (every CAS triple) ----------------------------------------------------------
    structural(k.P_CAS_NO_REASON, lambda t: f"CAS triple {t + 1} has an amount but no reason code")
    structural(k.P_CAS_NO_AMOUNT, lambda t: f"CAS triple {t + 1} has a reason code but no amount")
    structural(k.P_CAS01, lambda _: "CAS01 group code is missing")
    # the core reads 6 CAS triples and 6 PLB pairs, as many as X12 allows: more would be lost unseen
    _beyond(c, log, code("CAS"), 19, "CAS has more than 6 adjustment triples (CAS20 or later is not empty)")
    adj_rows, adj_pos = ad[k.AD_ROW], ad[k.AD_POS]
    amt, amt_ok = conv.decimal(adj_rows, (ads[2], ade[2]), "CAS amount")
    qty, qty_ok = conv.decimal(adj_rows, (ads[3], ade[3]), "CAS quantity", 3)

    # ---- provider adjustments (PLB) --------------------------------------------------------------
    structural(k.P_PLB_PAIR, lambda x: f"PLB pair {x // 2 + 1} lacks its {'amount' if x % 2 else 'reason'}")
    _beyond(c, log, code("PLB"), 14, "PLB has more than 6 adjustment pairs (PLB15 or later is not empty)")
    p_plb, p_pos = pl[k.PL_PLB], pl[k.PL_POS]
    p_rows = pb[k.PB_ROW][p_plb]
    p_cents, p_ok = conv.decimal(p_rows, (pls[1], ple[1]), "PLB amount")
    plb_days, plb_days_ok = conv.date(pb[k.PB_ROW], (pbs[1], pbe[1]), "PLB02")

    # ---- dates read when the tables were assembled -----------------------------------------------
    bpr16 = conv.date(bpr, T(k.TXS_BPR16), "BPR16")
    d405 = conv.date(tx[k.TX_DTM405], T(k.TXS_DTM405), "DTM*405 date")
    stmt_from = conv.date(cl[k.CL_D232], C(k.CLS_D232), "DTM*232 date")
    stmt_to = conv.date(cl[k.CL_D233], C(k.CLS_D233), "DTM*233 date")
    received = conv.date(cl[k.CL_D050], C(k.CLS_D050), "DTM*050 date")

    if log.count:
        return None  # the piece is rejected: no tables

    # ---- ids: transaction → claim → line → adjustment, each made from its parent's id ---------------
    none = np.zeros(0, np.int64)
    claim_txn, claim_ord = cl[k.CL_TXN], cl[k.CL_ORD]
    line_claim, line_no, line_txn = ln[k.LN_CLAIM], ln[k.LN_NO], ln[k.LN_TXN]
    t_no = np.arange(nt, dtype=np.int64) + base + 1  # ST ordinal in the file
    prefix = (np.array([0, 24], np.int32), np.frombuffer(file_id[:24].encode(), dtype=np.uint8).copy())
    txn_ids = k.derived_ids(*prefix, np.zeros(nt, np.int64), *prefix, none, t_no[None, :], np.ones(nt, bool))
    claim_ids = k.derived_ids(
        *txn_ids[2:], claim_txn, *txn_ids[2:], none, claim_ord[None, :], np.ones(ncl, bool)
    )
    line_ids = k.derived_ids(
        *claim_ids[2:], line_claim, *claim_ids[2:], none, line_no[None, :], np.ones(nl, bool)
    )

    arrays = {}

    def take(parent, idx: np.ndarray) -> pa.Array:
        """Strings ``idx`` of an id array (-1: null), by Arrow's take (a memcpy per value)."""
        arr = arrays.get(id(parent))
        if arr is None:
            arr = arrays[id(parent)] = _string_array(parent, len(parent[2]) - 1)
        if len(idx) and idx.min() < 0:
            return arr.take(pa.array(np.maximum(idx, 0), mask=idx < 0))
        return arr.take(pa.array(idx))

    # ---- payments --------------------------------------------------------------------------------
    paid_by_txn = k.group_sum(claim_txn, c04, nt)  # c04 is 0 where CLP04 is not valid
    p_txn = pb[k.PB_TXN][p_plb]
    plb_by_txn = k.group_sum(p_txn, p_cents, nt)
    pay_diff = bpr_cents - (paid_by_txn - plb_by_txn)
    all_t = np.ones(nt, dtype=bool)
    pe_id = T(k.TXS_N1PE04)
    n1pe3 = T(k.TXS_N1PE03)
    ref2u, n1pr4, reftj = T(k.TXS_REF2U02), T(k.TXS_N1PR04), T(k.TXS_REFTJ02)
    has2u = ref2u[1] > ref2u[0]
    fi_id = _masked(*pe_id, c.equals(*n1pe3, "FI"))
    has_fi = fi_id[1] > fi_id[0]
    payments = _table(
        "payments",
        {
            "file_id": _const(file_id, nt),
            "transaction_id": _string_array(txn_ids, nt),
            "source": _const(source, nt),
            "transaction_ordinal": _int32(t_no),
            **{name: pa.nulls(nt, pa.string()) for name in ENVELOPE_COLUMNS},  # apply_envelope
            "transaction_control_number": c.strings(*T(k.TXS_ST02)),
            "payment_amount": _decimal_array(bpr_cents, bpr_ok),
            "credit_debit_flag": c.strings(*T(k.TXS_BPR03)),
            "payment_method": c.strings(*T(k.TXS_BPR04)),
            "payment_date": _date_array(*bpr16),
            "trace_number": c.strings(*T(k.TXS_TRN02)),
            "payer_identifier": c.strings(*T(k.TXS_TRN03)),
            "payer_name": c.strings(*T(k.TXS_N1PR02)),
            "payer_id": c.strings(np.where(has2u, ref2u[0], n1pr4[0]), np.where(has2u, ref2u[1], n1pr4[1])),
            "payee_name": c.strings(*T(k.TXS_N1PE02)),
            "payee_npi": c.strings(*_masked(*pe_id, c.equals(*n1pe3, "XX"))),
            "payee_tax_id": c.strings(
                np.where(has_fi, fi_id[0], reftj[0]), np.where(has_fi, fi_id[1], reftj[1])
            ),
            "production_date": _date_array(*d405),
            "claim_count": _int32(np.bincount(claim_txn, minlength=nt)[:nt] if ncl else np.zeros(nt)),
            "claim_paid_total": _decimal_array(paid_by_txn, all_t),
            "plb_total": _decimal_array(plb_by_txn, all_t),
            "is_balanced": pa.array(pay_diff == 0, mask=~bpr_ok),
            "balance_difference": _decimal_array(pay_diff, bpr_ok),
        },
    )

    # ---- claims ----------------------------------------------------------------------------------
    adj_claim, adj_line = ad[k.AD_CLAIM], ad[k.AD_LINE]
    cas_by_claim = k.group_sum(adj_claim, amt, ncl)  # amt is 0 where not valid
    cas_by_line = k.group_sum(adj_line, amt, nl)
    claim_ok = ok03 & ok04
    claim_diff = c03 - cas_by_claim - c04
    line_ok = ok_s02 & ok_s03
    line_diff = s02 - cas_by_line - s03
    status = C(k.CLS_CLP02)
    if secret is not None and ncl:
        patient_key = _patient_keys(
            c, cl[k.CL_NM1QC], [C(x) for x in (k.CLS_QC03, k.CLS_QC04, k.CLS_QC08, k.CLS_QC09)], secret
        )
    else:
        patient_key = pa.nulls(ncl, pa.string())
    claims = _table(
        "claims",
        {
            "claim_id": _string_array(claim_ids, ncl),
            "transaction_id": take(txn_ids, claim_txn),
            "file_id": _const(file_id, ncl),
            "claim_ordinal": _int32(claim_ord),
            "patient_control_number": c.strings(*C(k.CLS_CLP01)),
            "claim_status_code": c.strings(*status),
            "charge_amount": _decimal_array(c03, ok03),
            "paid_amount": _decimal_array(c04, ok04),
            "patient_responsibility_amount": _decimal_array(c05, ok05),
            "claim_filing_indicator": c.strings(*C(k.CLS_CLP06)),
            "payer_claim_control_number": c.strings(*C(k.CLS_CLP07)),
            "facility_code": c.strings(*C(k.CLS_CLP08)),
            "claim_frequency_code": c.strings(*C(k.CLS_CLP09)),
            "drg_code": c.strings(*C(k.CLS_CLP11)),
            "statement_from_date": _date_array(*stmt_from),
            "statement_to_date": _date_array(*stmt_to),
            "received_date": _date_array(*received),
            "rendering_provider_id": c.strings(*C(k.CLS_NM182)),
            "original_reference_number": c.strings(*C(k.CLS_REFF8)),
            "coverage_amount": _decimal_array(cov, cov_ok),
            "patient_key": patient_key,
            "is_reversal": pa.array(c.equals(*status, "22")),
            "line_count": _int32(cl[k.CL_LINES]),
            "is_balanced": pa.array(claim_diff == 0, mask=~claim_ok),
            "balance_difference": _decimal_array(claim_diff, claim_ok),
            "segment_number": _int32(cl[k.CL_SEGNO]),
        },
    )

    # ---- service lines ---------------------------------------------------------------------------
    s01 = c.components(*L(k.LNS_SVC01), 6)
    s06 = c.components(*L(k.LNS_SVC06), 2)
    ms, me = s01[0][2:6].T.ravel(), s01[1][2:6].T.ravel()  # SVC01-3..6, row-major, empty ones dropped
    mv = me > ms
    flat = c.strings(ms[mv], me[mv])
    moffs = np.zeros(nl + 1, dtype=np.int32)
    np.cumsum(mv.reshape(nl, 4).sum(axis=1), out=moffs[1:])
    qual = (s01[0][0], s01[1][0])
    proc_s, proc_e = s01[0][1], s01[1][1]
    is_dental = c.equals(*qual, "AD") | k.cdt_codes(c.a, proc_s, proc_e)
    svc_from = _coalesce_dates(single, d8, r_from, from150)
    svc_to = _coalesce_dates(single, d8, r_to, to151)
    service_lines = _table(
        "service_lines",
        {
            "line_id": _string_array(line_ids, nl),
            "claim_id": take(claim_ids, line_claim),
            "transaction_id": take(txn_ids, line_txn),
            "file_id": _const(file_id, nl),
            "line_number": _int32(line_no),
            "procedure_qualifier": c.strings(*qual),
            "procedure_code": c.strings(proc_s, proc_e),
            "modifiers": pa.ListArray.from_arrays(pa.array(moffs), flat),
            "charge_amount": _decimal_array(s02, ok_s02),
            "paid_amount": _decimal_array(s03, ok_s03),
            "revenue_code": c.strings(*L(k.LNS_SVC04)),
            "units_paid": _decimal_array(s05, ok_s05, schema.QUANTITY),
            "original_procedure_qualifier": c.strings(s06[0][0], s06[1][0]),
            "original_procedure_code": c.strings(s06[0][1], s06[1][1]),
            "original_units": _decimal_array(s07, ok_s07, schema.QUANTITY),
            "service_date_from": _date_array(*svc_from),
            "service_date_to": _date_array(*svc_to),
            "line_control_number": c.strings(*L(k.LNS_REF6R)),
            "allowed_amount": _decimal_array(allowed, allowed_ok),
            "is_dental": pa.array(is_dental),
            "is_balanced": pa.array(line_diff == 0, mask=~line_ok),
            "balance_difference": _decimal_array(line_diff, line_ok),
        },
    )

    # ---- adjustments -----------------------------------------------------------------------------
    adj_is_line = adj_line >= 0
    suffix = np.stack([ad[k.AD_ORD], adj_pos + 1])
    adjustments = _table(
        "adjustments",
        {
            "adjustment_id": _string_array(
                k.derived_ids(*line_ids[2:], adj_line, *claim_ids[2:], adj_claim, suffix, np.ones(na, bool)),
                na,
            ),
            "claim_id": take(claim_ids, adj_claim),
            "line_id": take(line_ids, adj_line),
            "transaction_id": take(txn_ids, ad[k.AD_TXN]),
            "file_id": _const(file_id, na),
            "level": _labels(adj_is_line, ["claim", "line"]),
            "group_code": c.strings(ads[0], ade[0]),
            "reason_code": c.strings(ads[1], ade[1]),
            "amount": _decimal_array(amt, amt_ok),
            "quantity": _decimal_array(qty, qty_ok, schema.QUANTITY),
            "position": _int32(adj_pos + 1),
            "cas_ordinal": _int32(ad[k.AD_ORD]),
        },
    )

    # ---- remarks ---------------------------------------------------------------------------------
    r_line = rm[k.RM_LINE]
    remarks = _table(
        "remarks",
        {
            "claim_id": take(claim_ids, rm[k.RM_CLAIM]),
            "line_id": take(line_ids, r_line),
            "transaction_id": take(txn_ids, rm[k.RM_TXN]),
            "file_id": _const(file_id, nr),
            "level": _labels(r_line >= 0, ["claim", "line"]),
            "source": _labels(rm[k.RM_SRC], ["LQ", "LQ_RX", "MIA", "MOA"]),
            "remark_code": c.strings(rms, rme),
        },
    )

    # ---- provider adjustments --------------------------------------------------------------------
    comp = c.components(pls[0], ple[0], 2)
    provider_adjustments = _table(
        "provider_adjustments",
        {
            "transaction_id": take(txn_ids, p_txn),
            "file_id": _const(file_id, npl),
            "provider_id": c.strings(pbs[0][p_plb], pbe[0][p_plb]),
            "fiscal_period_date": _date_array(plb_days[p_plb], plb_days_ok[p_plb]),
            "reason_code": c.strings(comp[0][0], comp[1][0]),
            "reference_id": c.strings(comp[0][1], comp[1][1]),
            "amount": _decimal_array(p_cents, p_ok),
            "position": _int32(p_pos + 1),
            "plb_ordinal": _int32(pb[k.PB_ORD][p_plb]),
        },
    )
    return {
        "payments": payments,
        "claims": claims,
        "service_lines": service_lines,
        "adjustments": adjustments,
        "remarks": remarks,
        "provider_adjustments": provider_adjustments,
    }


def _beyond(c: Segments, log: ProblemLog, sid: int, last: int, message: str) -> None:
    """Report each segment ``sid`` holding a non-empty element after element ``last`` (the most X12
    allows it): its amounts would otherwise be dropped without a word. Empty trailing elements pass."""
    rows = np.flatnonzero((c.sid == sid) & (c.nelem > last))
    for row in rows[:20]:
        js = np.arange(last + 1, int(c.nelem[row]) + 1)
        s, e = c.span(np.full(len(js), row), js)
        if (e > s).any():
            log.add(c.problem(int(row), message + ": X12 allows 6, and the rest would be lost"))


def _coalesce_dates(*dates: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The first valid date of each row among ``dates`` (each (days, ok))."""
    days, ok = dates[-1][0].copy(), dates[-1][1].copy()
    for d, o in reversed(dates[:-1]):
        days = np.where(o, d, days)
        ok = o | ok
    return days, ok


def _patient_keys(c: Segments, nm1qc: np.ndarray, spans: list[tuple], secret: bytes) -> pa.Array:
    """HMAC-SHA256 of ``LAST|FIRST|QUALIFIER|ID`` (NM1*QC 03, 04, 08, 09, upper-cased) per claim."""
    s = np.stack([sp[0] for sp in spans])
    e = np.stack([sp[1] for sp in spans])
    offsets, data, wide = c.k.patient_text(c.a, s, e)
    valid = nm1qc >= 0
    if wide:  # non-ASCII names: Unicode upper-casing, as Arrow does it
        parts = [pc.utf8_upper(pc.fill_null(c.strings(*sp), "")) for sp in spans]
        joined = pc.if_else(
            pa.array(valid), pc.binary_join_element_wise(*parts, "|"), pa.scalar(None, pa.string())
        )
        return hmac_keys(secret, joined)
    return _string_array(c.k.hmac_hex(_hmac_key(secret), data, offsets, valid), len(nm1qc))
