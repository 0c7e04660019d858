"""The quality step's entry points: ``check_batch`` (a night's parsed tables, before publishing),
``check_warehouse`` (the marts after ``remit build``) and ``run_checks`` (both, for ``remit check``).

Data is handed to Great Expectations as pandas dataframes holding only the columns the suites read, in
forms GX checks fast and exactly (``_frame``). Every check of the batch suite runs on a few values
standing for each column's rows (``_compact``, ``pipeline.quality.engine.Distinct``), every table's in
one frame and one validation per batch.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.log import get_logger
from pipeline.quality.engine import BY_VALUE, ROW_WISE, Distinct, Lookup, distinct_column
from pipeline.quality.report import QualityReport
from pipeline.quality.suites import BATCH, MONTH_BASIS, RARC_SOURCES, SUITES, WAREHOUSE, date_window

if TYPE_CHECKING:
    from pipeline.quality.engine import QualityContext
    from pipeline.warehouse.models import Model

log = get_logger("quality")

# Marts whose emptiness is an error (critical) and marts that may legitimately hold no row for a small
# or clean night (warning): crossover CARCs are well under 1 % of lines, and a night without denials
# leaves the appeal worklist empty.
CORE_MARTS = ("claim_outcomes", "denials_by_carc_month", "provider_absorbed_month", "kpi_month")
SPARSE_MARTS = ("crossover_month", "appeal_worklist")
# Monthly marts that hold a row for every payment month with a claim (critical), and those that hold
# one for every month with an adjustment of their kind, which a normal month always has (warning).
MONTHLY_MARTS = ("claim_outcomes", "kpi_month")
MONTHLY_MARTS_SPARSE = ("denials_by_carc_month", "provider_absorbed_month")
MONTH_COLUMN = "payment_month"
# Core marts of adjustments, sized only when what they count exists (``_sized_when``): remits whose
# claims all carry no CAS (paid as billed), or only patient-responsibility CAS, rightly leave them empty (a
# small first night can). Their contents are held to the lake all the same: the reconciliation, the ties.
ADJUSTMENT_MARTS = ("denials_by_carc_month", "provider_absorbed_month")


def _columns_read(suite: str, asset: str) -> list[str]:
    """Columns of ``asset`` that the suite's checks read (plus file_id), in first-use order."""
    columns: dict[str, None] = {}
    for check in SUITES[suite]:
        if check.asset != asset:
            continue
        for key in ("column", "column_A", "column_B"):
            if key in check.kwargs:
                columns.setdefault(check.kwargs[key], None)
        if check.id_column:
            columns.setdefault(check.id_column, None)
    return list(columns)


# date32 values outside what pandas' datetime64[ns] holds are moved to its edges: still far outside
# the plausible window (so still flagged), and the offending row is still named by its id.
_NS_MIN = dt.date(1678, 1, 1)
_NS_MAX = dt.date(2261, 12, 31)


def _for_gx(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """One column in the form GX checks fastest, exactly.

    Dates become timestamp[ns] (GX compares datetime64[ns] columns vectorised, other types row by
    row); money (decimal128, scale 2) becomes integer cents, exact, since hashing Arrow decimals to
    fingerprint a batch is slow. Other types are kept.
    """
    if pa.types.is_date(column.type):
        low = pa.scalar(_NS_MIN, pa.date32())
        high = pa.scalar(_NS_MAX, pa.date32())
        extremes = pc.min_max(column)
        if (
            extremes["min"].is_valid
            and low.as_py() <= extremes["min"].as_py()
            and extremes["max"].as_py() <= high.as_py()
        ):
            return column.cast(pa.timestamp("ns"))  # nothing to move: one pass fewer
        # skip_nulls=False keeps a missing date missing (not moved to an edge)
        clamped = pc.min_element_wise(
            pc.max_element_wise(column, low, skip_nulls=False), high, skip_nulls=False
        )
        return clamped.cast(pa.timestamp("ns"))
    if pa.types.is_decimal(column.type) and column.type.scale == 2:
        if pa.types.is_decimal128(column.type) and column.type.precision <= 18:
            return pa.chunked_array([_cents(chunk) for chunk in column.chunks], pa.int64())
        return pc.multiply(column, pa.scalar(100, pa.int64())).cast(pa.int64())
    return column


def _cents(chunk: pa.Array) -> pa.Array:
    """A decimal128(p ≤ 18, 2) array as int64 cents, read from its storage: the unscaled value is the
    number of cents, and with at most 18 digits it fits in the low 64 bits of its 128-bit two's
    complement (little-endian), which are therefore that int64 exactly. Arrow's multiply-and-cast
    checks every value for overflow and took most of the batch's money conversion."""
    import numpy as np

    words = np.frombuffer(chunk.buffers()[1], dtype=np.int64, count=2 * (chunk.offset + len(chunk)))
    low = np.ascontiguousarray(words[::2])
    return pa.Array.from_buffers(
        pa.int64(), len(chunk), [chunk.buffers()[0], pa.py_buffer(low)], chunk.null_count, chunk.offset
    )


def _key_columns(suite: str, asset: str) -> set[str]:
    """The columns a suite checks for uniqueness on ``asset`` (its keys)."""
    return {
        c.kwargs["column"]
        for c in SUITES[suite]
        if c.asset == asset and c.expectation == "ExpectColumnValuesToBeUnique"
    }


def _set_columns(suite: str, asset: str) -> set[str]:
    """The columns a suite checks against a set of strings on ``asset`` (code columns: CARC, CLP02 ...)."""
    return {
        c.kwargs["column"]
        for c in SUITES[suite]
        if c.asset == asset
        and c.expectation in ("ExpectColumnValuesToBeInSet", "ExpectColumnValuesToNotBeInSet")
        and c.kwargs["column"] != "is_balanced"
    }


def _coded(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A key column as integer codes: equal keys get equal codes, different keys different codes and a
    null key a null code, so "not null" and "unique" hold on the codes exactly when they hold on the keys.

    GX hashes every column it is given (to fingerprint the batch) and factorises a column to check
    uniqueness, which for millions of key strings took most of a big night's check time. The codes are
    the keys' 64-bit hashes (polars: 0.01 s for 600,000 ids) when no two distinct keys share one, which
    is checked among the rows whose hash repeats; else (a collision) the keys' dense ranks, which sort.
    """
    import numpy as np
    import polars as pl

    keys = pl.from_arrow(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0))
    hashes = keys.hash().reinterpret(signed=True).to_numpy()
    present = keys.is_not_null().to_numpy()
    ordered = np.sort(hashes[present])
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size:  # a collision can only hide among rows whose hash repeats (a repeated key's do)
        suspects = keys.filter(pl.Series(present & np.isin(hashes, repeated)))
        if suspects.n_unique() != suspects.hash().n_unique():
            return pa.chunked_array([keys.rank("dense").cast(pl.Int64).to_arrow()])  # codes that sort
    return pa.chunked_array([pa.array(hashes, pa.int64(), mask=~present)])


def _frame(
    table: pa.Table, columns: list[str], keys: set[str] = frozenset(), sets: set[str] = frozenset()
) -> tuple[Any, dict[str, pa.Array]]:
    """A pandas dataframe of ``columns`` (with ``file_id`` first when present) and its key labels.

    Columns in ``keys`` reach GX as integer codes (see ``_coded``); the returned labels map each such
    column to its values (row for row), so that offending rows are reported by their real keys.
    The code columns in ``sets`` are categoricals (a few distinct values over many rows: GX hashes and
    looks them up per distinct value), flags without nulls numpy booleans; ``file_id`` stays as it is
    (GX never sees it: offending rows' files are looked up by row number).
    """
    import pandas as pd

    wanted = (["file_id"] if "file_id" in table.column_names else []) + [c for c in columns if c != "file_id"]
    missing = [c for c in wanted if c not in table.column_names]
    if missing:
        raise ValueError(f"quality: table lacks column(s) {', '.join(missing)} the suite reads")
    labels: dict[str, pa.Array] = {}
    converted = {}
    flags = {}
    for c in wanted:
        if c in keys:
            converted[c], labels[c] = _coded(table[c]), table[c]
        elif c == "file_id":
            converted[c] = table[c]  # only looked up by row number, never given to GX
        elif c in sets and pa.types.is_string(table[c].type):
            converted[c] = table[c].dictionary_encode()
        elif pa.types.is_boolean(table[c].type) and table[c].null_count:
            converted[c], flags[c] = table[c].fill_null(False), table[c]  # (a flag the parser left null)
        else:
            converted[c] = _for_gx(table[c])
    converted = pa.table(converted)

    def dtype(arrow_type: pa.DataType) -> Any:
        if pa.types.is_timestamp(arrow_type):
            return None  # numpy datetime64[ns], NaT for null
        if pa.types.is_integer(arrow_type):
            return pd.Int64Dtype()  # nullable integer (cents), exact
        if pa.types.is_dictionary(arrow_type):
            return None  # a categorical
        if pa.types.is_boolean(arrow_type):
            return None  # numpy bool (nulls were set aside): pandas' isin on it is vectorised
        return pd.ArrowDtype(arrow_type)

    frame = converted.to_pandas(types_mapper=dtype)
    for c, values in flags.items():
        frame[c] = values.to_pandas(types_mapper=pd.ArrowDtype).astype("boolean")
    return frame, labels


def present_codes(
    suite: str,
    parameters: Mapping[str, Any],
    frames: Mapping[str, Any],
    distinct: Distinct | None = None,
) -> dict[str, Any]:
    """``parameters`` with each code list cut to the codes that occur in the columns checked against it.

    A value is in the full list exactly when it is in the list's intersection with the column's own
    values, so every row's verdict is unchanged; but GX copies an expectation's arguments dozens of
    times per validation, and the RARC list alone holds over a thousand codes. A column checked on its
    distinct values (``distinct``) is read there.
    """
    present: dict[str, set[Any]] = {}
    for check in SUITES[suite]:
        value_set = check.kwargs.get("value_set")
        if not (isinstance(value_set, dict) and "$PARAMETER" in value_set):
            continue
        name = check.kwargs["column"]
        if distinct is not None and distinct_column(check) in distinct.values:
            occurring = distinct.values[distinct_column(check)].drop_null().to_pylist()
        else:
            column = frames[check.asset][name]
            occurring = (
                column.cat.categories if hasattr(column, "cat") else column.dropna().unique()
            ).tolist()
        present.setdefault(value_set["$PARAMETER"], set()).update(occurring)
    return {
        name: [v for v in value if v in present[name]] if name in present else value
        for name, value in parameters.items()
    }


def _codes(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Every code of a reference table (current and deactivated: old adjudications still use them)."""
    return [row[0] for row in con.execute(f"SELECT DISTINCT code FROM {table} ORDER BY code").fetchall()]


def _timestamp(day: dt.date) -> Any:
    import pandas as pd

    return pd.Timestamp(day)


def reference_parameters(ref_con: duckdb.DuckDBPyConnection, today: dt.date) -> dict[str, Any]:
    """The batch suite's parameters: code lists from ``ref`` and the plausible date window."""
    date_min, date_max = date_window(today)
    return {
        "carc_codes": _codes(ref_con, "ref.carc"),
        "rarc_codes": _codes(ref_con, "ref.rarc"),
        "claim_status_codes": _codes(ref_con, "ref.claim_status_codes"),
        "claim_filing_indicators": _codes(ref_con, "ref.claim_filing_indicators"),
        # Timestamps, since date columns reach GX as datetime64[ns] (see _for_gx)
        "date_min": _timestamp(date_min),
        "date_max": _timestamp(date_max),
    }


def _distinct_columns(suite: str, asset: str, table: pa.Table) -> list[str]:
    """The columns of ``asset`` given to GX as values standing for their rows (``Distinct``): every
    column read by checks that all run on such values (``BY_VALUE``: row-wise or uniqueness)."""
    checked: dict[str, bool] = {}
    for check in SUITES[suite]:
        if check.asset != asset:
            continue
        for key in ("column", "column_A", "column_B"):
            if key in check.kwargs:
                column = check.kwargs[key]
                by_value = key == "column" and check.expectation in BY_VALUE
                checked[column] = checked.get(column, True) and by_value
    return [c for c, by_value in checked.items() if by_value and c in table.column_names]


# Row-wise expectations whose verdict depends on a row's value, not only on whether it is null
_ON_VALUES = ROW_WISE - {"ExpectColumnValuesToNotBeNull"}
_UNIQUE = "ExpectColumnValuesToBeUnique"


def _repeated(column: pa.ChunkedArray) -> pa.Array:
    """The distinct non-null values of ``column`` that more than one row holds (usually none).

    The values' 64-bit hashes (polars: 0.01 s for 600,000 ids) are sorted to find the hashes that
    repeat; only the rows holding one of those (a repeated value's, or two values sharing a hash) are
    then compared by value, so a collision never makes two different values count as one.
    """
    import numpy as np
    import polars as pl

    if len(column) - column.null_count < 2:
        return pa.array([], column.type)
    keys = pl.from_arrow(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0))
    # the usual case, no value repeated, told by an exact distinct count (5M claim ids: 0.13 s, where
    # hashing and sorting them took 0.5 s)
    if (keys.drop_nulls() if column.null_count else keys).n_unique() == len(column) - column.null_count:
        return pa.array([], column.type)
    hashes = keys.hash().to_numpy()
    present = keys.is_not_null().to_numpy()
    ordered = np.sort(hashes[present])
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not repeated.size:
        return pa.array([], column.type)
    return _held_twice(column.take(pa.array(np.flatnonzero(present & np.isin(hashes, repeated)), pa.int64())))


def _held_twice(suspects: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The values more than one of ``suspects`` holds, in the order they first appear."""
    counted = pc.value_counts(suspects)
    return counted.field("values").filter(pc.greater(counted.field("counts"), 1))


def _compact(column: pa.ChunkedArray | KeyIds, checks: set[str]) -> pa.Array:
    """Values standing for ``column``'s rows under the expectations ``checks`` (``Distinct``).

    Checked against values (a set, a range): the column's distinct values, a null once if any. Checked
    for nulls alone: its first non-null value and a null, those present. Checked for uniqueness: each
    value held by several rows twice more (so GX finds it repeated), after the above. An id column
    (``KeyIds``) is made whole only for checks on its values.
    """
    if isinstance(column, KeyIds) and checks & _ON_VALUES:
        column = pa.chunked_array([column.whole()])
    if checks & _ON_VALUES:
        values = pc.unique(column)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
    elif isinstance(column, KeyIds):
        first = column.first_valid()
        pieces = [column.take(pa.array([first], pa.int64()))] if first is not None else []
        if column.null_count:
            pieces.append(pa.nulls(1, pa.string()))
        values = pa.concat_arrays(pieces) if pieces else pa.array([], pa.string())
    else:
        first = pc.index(pc.is_valid(column), True).as_py() if column.null_count else 0
        pieces = [column.slice(first, 1).combine_chunks()] if 0 <= first < len(column) else []
        if column.null_count:
            pieces.append(pa.nulls(1, column.type))
        values = pa.concat_arrays(pieces) if pieces else pa.array([], column.type)
    if _UNIQUE in checks:
        repeated = column.repeated() if isinstance(column, KeyIds) else _repeated(column)
        if len(repeated):
            values = values.filter(pc.invert(pc.fill_null(pc.is_in(values, value_set=repeated), False)))
            values = pa.concat_arrays([values, repeated, repeated])
    return values


def _padded(values: pa.Array, length: int, *, nulls: bool = False) -> pa.Array:
    """``values`` made ``length`` long by repeating the last (with nulls when ``nulls`` or for an empty
    column; ``_expand`` ignores what GX finds in the padding)."""
    if len(values) == length:
        return values
    if len(values) == 0 or nulls:
        return pa.concat_arrays([values, pa.nulls(length - len(values), values.type)])
    return pa.concat_arrays([values, values.take(pa.array([len(values) - 1] * (length - len(values))))])


def _values_frame(columns: Mapping[str, pa.Array]) -> Any:
    """The pandas frame GX is given the values of ``columns`` in (``Distinct``): dates as
    ``datetime64[ns]`` (as ``_for_gx`` converts them), every other column as Python objects (money as
    integer cents, nulls as None).

    The frame is small (a few hundred rows) but wide (every asset's columns), and GX copies the whole
    frame for each expectation that skips null rows: numpy columns of one dtype share a block, which
    pandas copies in one step, where each Arrow-backed or categorical column is a block of its own.
    """
    import pandas as pd

    data = {}
    for name, values in columns.items():
        converted = _for_gx(pa.chunked_array([values], values.type))
        if pa.types.is_timestamp(converted.type):
            data[name] = converted.to_pandas()
        else:
            data[name] = pd.Series(converted.to_pylist(), dtype=object)
    return pd.DataFrame(data, index=pd.RangeIndex(max((len(v) for v in columns.values()), default=0)))


def _distinct(columns: Mapping[str, pa.ChunkedArray], checks: Mapping[str, set[str]]) -> Distinct:
    """Values standing for the rows of ``columns`` (``<asset>.<column>`` -> the rows' values) under
    their ``checks`` (expectation names), as GX is given them (see ``Distinct`` and ``_values_frame``).
    Columns checked for uniqueness are padded with nulls (a repeated value would be a duplicate), the
    others by repeating their last value."""
    values = {name: _compact(column, checks[name]) for name, column in columns.items()}
    longest = max((len(v) for v in values.values()), default=0)
    padded = {name: _padded(v, longest, nulls=_UNIQUE in checks[name]) for name, v in values.items()}
    return Distinct(frame=_values_frame(padded), values=values)


@dataclass
class BatchInputs:
    """What the batch suite hands GX for one batch (see ``QualityContext.run``).

    ``frames``: per asset, the columns checked row by row (keys as codes, money as cents; none in the
    batch suite as it stands); ``labels``: the coded keys' values; ``lookups``: the asset's rows as
    Arrow (files, ids, the checked columns); ``distinct``: every asset's columns checked on values
    standing for their rows.
    """

    frames: dict[str, Any]
    labels: dict[str, dict[str, pa.Array]]
    lookups: dict[str, Lookup]
    distinct: Distinct


def batch_frames(tables: Mapping[str, pa.Table]) -> dict[str, Any]:
    """Every dataframe the batch suite gives GX: per asset its rows' frame and, as ``values``, the
    distinct values' frame."""
    inputs = batch_inputs(tables)
    return {**inputs.frames, "values": inputs.distinct.frame}


# The ids the batch suite names rows by are not in the lake's lean rows (pipeline.x12.schema): they are
# made here from the rows' keys, in the readable form the warehouse's *_ref columns have (docs/parser.md,
# "Keys and ids"): transaction <file_id[:24]>-<ST>, claim <transaction>-<CLP in transaction>, line
# <claim>-<SVC>, adjustment <line or claim>-<CAS>-<position>; file_id on every row to name the files.
ID_COLUMNS = ("file_id", "transaction_id", "claim_id", "line_id", "adjustment_id", "submitted_claim_id")
_ID_INPUTS = {
    "file_id": ("file_key",),
    "transaction_id": ("file_key", "transaction_ordinal"),
    "claim_id": ("file_key", "claim_number"),
    "line_id": ("file_key", "claim_number", "line_number"),
    "adjustment_id": ("file_key", "claim_number", "line_number", "cas_ordinal", "position"),
    "submitted_claim_id": ("file_key", "claim_number"),
}
# the tables (and columns) the ids of the others are looked up in
_ID_SOURCES = {
    "payments": ("file_id", "file_key"),
    "claims": ("file_key", "claim_number", "transaction_ordinal", "claim_ordinal"),
    "submitted_claims": ("file_id", "file_key", "claim_number", "transaction_ordinal", "claim_ordinal"),
}


def _text(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.cast(values, pa.string())


def _numbers(values: pa.ChunkedArray | pa.Array) -> tuple[Any, Any]:
    """An integer column as numpy int64 (0 where null) and its validity."""
    import numpy as np

    valid = np.asarray(pc.is_valid(values), dtype=bool)
    return np.asarray(pc.fill_null(pc.cast(values, pa.int64()), 0), dtype=np.int64), valid


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


class KeyIds:
    """One readable id column (``ID_COLUMNS``) of a batch table, made from its rows' keys only when read
    (a ``LazyColumn`` of the engine's ``Lookup``).

    Making every row's id (a string per adjustment, service line and claim) took half of the gate's
    time, while its checks on them ask only whether a row has one and whether one repeats. The numbers
    an id is joined from answer both exactly (``parts``, numpy int64, row for row): an id is its parts
    joined by '-', each a non-negative integer or the file id's first 24 characters (as one number per
    distinct prefix), so two ids are equal exactly when their parts are, and a row has an id when it
    has every part (``valid``). A negative part (no parser makes one) would break that: the strings
    are then compared instead. ``make(rows)`` makes the strings of ``rows`` (all of them for None):
    for the rows a result names (``take``), or for every row (``whole``) when a check reads the values.
    """

    def __init__(self, parts: list[Any], valid: Any, make: Callable[[pa.Array | None], pa.Array]):
        self.parts, self.valid, self._make = parts, valid, make
        self._whole: pa.Array | None = None

    def __len__(self) -> int:
        return len(self.valid)

    @property
    def null_count(self) -> int:
        return int(len(self.valid) - self.valid.sum())

    def take(self, indices: pa.Array) -> pa.Array:
        if self._whole is not None:
            return self._whole.take(indices)
        return _array(self._make(indices))

    def whole(self) -> pa.Array:
        if self._whole is None:
            self._whole = _array(self._make(None))
        return self._whole

    def first_valid(self) -> int | None:
        """The first row with an id (None when none has)."""
        return int(self.valid.argmax()) if self.valid.any() else None

    def repeated(self) -> pa.Array:
        """The ids more than one row holds (as ``_repeated`` finds them in the strings, in the same order)."""
        import numpy as np
        import polars as pl

        present = np.flatnonzero(self.valid)
        if len(present) < 2:
            return pa.array([], pa.string())
        parts = [part[present] for part in self.parts]
        if any(len(part) and part.min() < 0 for part in parts):  # the parts would not tell the ids apart
            return _repeated(pa.chunked_array([self.whole()]))
        widths = [int(part.max()).bit_length() if len(part) else 0 for part in parts]
        if sum(widths) <= 63:  # the parts packed side by side in one integer (the usual case)
            packed = np.zeros(len(present), dtype=np.int64)
            for part, width in zip(parts, widths, strict=True):
                packed = (packed << width) | part
            keys: pl.DataFrame | pl.Series = pl.Series(packed)
        else:
            keys = pl.DataFrame({f"p{i}": part for i, part in enumerate(parts)})
        if keys.n_unique() == len(present):  # the usual case: no id repeats
            return pa.array([], pa.string())
        return _held_twice(self.take(pa.array(present[keys.is_duplicated().to_numpy()], pa.int64())))


def key_ids(tables: Mapping[str, pa.Table], wanted: Mapping[str, list[str]]) -> dict[str, dict[str, KeyIds]]:
    """The id columns of ``wanted`` (per table) that ``tables`` lack, made from their keys (``KeyIds``).

    The strings are those of the warehouse's *_ref columns (docs/parser.md, "Keys and ids"): file_id;
    transaction ``<file_id[:24]>-<ST>``; claim ``<transaction>-<CLP in transaction>`` (looked up in the
    claims, or the submitted claims, by file and claim number: a repeated claim number repeats its id);
    line ``<claim>-<SVC>``; adjustment ``<line or claim>-<CAS>-<position>``.
    """
    import numpy as np

    files: dict[int, str] = {}
    for name in ("payments", "submitted_claims"):
        t = tables.get(name)
        if t is not None and t.num_rows and "file_id" in t.column_names:
            pairs = pa.table({"k": t["file_key"], "f": t["file_id"]}).group_by(["k", "f"]).aggregate([])
            files.update(zip(pairs["k"].to_pylist(), pairs["f"].to_pylist(), strict=True))
    keys = pa.array(list(files), pa.int64())
    ids = pa.array(list(files.values()), pa.string())
    prefixes = pc.utf8_slice_codeunits(ids, 0, 24)
    # one number per distinct prefix (two files could share one: their ids would be equal too)
    prefix_codes = np.asarray(pc.index_in(prefixes, value_set=pc.unique(prefixes)), dtype=np.int64)

    places: dict[int, pa.Array] = {}

    def file_of(t: pa.Table) -> pa.Array:  # each row's file, as its place in ``keys`` (null: not there)
        if id(t) not in places:  # (once per table: a table may need several ids)
            places[id(t)] = pc.index_in(t["file_key"], value_set=keys)
        return places[id(t)]

    def picked(values: pa.Array | pa.ChunkedArray, rows: pa.Array | None) -> pa.Array:
        return values if rows is None else pc.take(values, rows)

    class _Claims:
        """A claims table (or submitted claims) that ids of claims and their children are looked up in."""

        def __init__(self, t: pa.Table):
            self.t, self.file = t, file_of(t)
            self.where = self.composite(t, self.file)
            file, file_valid = _numbers(self.file)
            transaction, transaction_valid = _numbers(t["transaction_ordinal"])
            claim, claim_valid = _numbers(t["claim_ordinal"])
            self.parts = [prefix_codes[file] if len(prefix_codes) else file, transaction, claim]
            number_valid = np.asarray(pc.is_valid(t["claim_number"]), dtype=bool)
            self.valid = file_valid & transaction_valid & claim_valid & number_valid

        @staticmethod
        def composite(t: pa.Table, file: pa.Array) -> pa.Array:  # (file, claim number) as one integer
            number = pc.cast(t["claim_number"], pa.int64())
            return pc.add(pc.multiply(pc.cast(file, pa.int64()), 1 << 31), number)

        def refs(self, claims: pa.Array) -> pa.Array:
            """The claim ids of the claims at ``claims`` (places in this table; null: none)."""
            t = self.t
            ref = pc.binary_join_element_wise(
                pc.take(prefixes, pc.take(self.file, claims)),
                _text(pc.take(t["transaction_ordinal"], claims)),
                _text(pc.take(t["claim_ordinal"], claims)),
                "-",
            )
            # a claim without its number has no key, hence no id
            number = pc.take(t["claim_number"], claims)
            return pc.if_else(pc.is_null(number), pa.scalar(None, pa.string()), ref)

    parents: dict[str, _Claims] = {}

    def parent_of(name: str) -> _Claims:
        parent = "submitted_claims" if name.startswith("submitted") else "claims"
        if parent not in parents:
            parents[parent] = _Claims(tables[parent])
        return parents[parent]

    def made(name: str, t: pa.Table, column: str) -> KeyIds:
        file = file_of(t)
        if column == "file_id":
            at, valid = _numbers(file)
            return KeyIds([at], valid, lambda rows: pc.take(ids, picked(file, rows)))
        if column == "transaction_id":
            at, file_valid = _numbers(file)
            transaction, transaction_valid = _numbers(t["transaction_ordinal"])
            return KeyIds(
                [prefix_codes[at] if len(prefix_codes) else at, transaction],
                file_valid & transaction_valid,
                lambda rows: pc.binary_join_element_wise(
                    pc.take(prefixes, picked(file, rows)), _text(picked(t["transaction_ordinal"], rows)), "-"
                ),
            )
        claims = parent_of(name)
        # each row's claim, as its place in the claims (the first of a repeated claim number)
        found = pc.index_in(_Claims.composite(t, file), value_set=claims.where, skip_nulls=True)
        at, found_valid = _numbers(found)
        parts = [part[at] for part in claims.parts]
        valid = found_valid & claims.valid[at]
        if column == "line_id":
            line, line_valid = _numbers(t["line_number"])
            parts, valid = [*parts, line], valid & line_valid
        elif column == "adjustment_id":
            line, on_line = _numbers(t["line_number"])  # a claim-level adjustment has no line part
            cas, cas_valid = _numbers(t["cas_ordinal"])
            position, position_valid = _numbers(t["position"])
            parts = [*parts, on_line.astype(np.int64), line, cas, position]
            valid = valid & cas_valid & position_valid

        def strings(rows: pa.Array | None) -> pa.Array:
            value = claims.refs(picked(found, rows))  # on claims too: a repeated claim number repeats its id
            if column == "line_id":
                value = pc.binary_join_element_wise(value, _text(picked(t["line_number"], rows)), "-")
            elif column == "adjustment_id":
                line = picked(t["line_number"], rows)
                on_line = pc.binary_join_element_wise(value, _text(line), "-")
                parent_ref = pc.if_else(pc.is_null(line), value, on_line)
                value = pc.binary_join_element_wise(
                    parent_ref, _text(picked(t["cas_ordinal"], rows)), _text(picked(t["position"], rows)), "-"
                )
            return value

        return KeyIds(parts, valid, strings)

    out: dict[str, dict[str, KeyIds]] = {}
    for name, t in tables.items():
        out[name] = {
            column: made(name, t, column)
            for column in dict.fromkeys(wanted.get(name, []))
            if column in ID_COLUMNS and column not in t.column_names
        }
    return out


def with_ids(tables: Mapping[str, pa.Table], wanted: Mapping[str, list[str]]) -> dict[str, pa.Table]:
    """``tables`` with the id columns of ``wanted`` (per table) that they lack, made whole (``key_ids``)."""
    made = key_ids(tables, wanted)
    out = {}
    for name, t in tables.items():
        for column, ids in made[name].items():
            t = t.append_column(column, ids.whole())
        out[name] = t
    return out


def batch_inputs(tables: Mapping[str, pa.Table]) -> BatchInputs:
    """The batch suite's inputs from the parser's tables (an absent table counts as empty).

    ``payments`` gains ``month_basis_date`` (BPR16, else DTM*405: what payment_month is taken from);
    ``remarks`` keeps only RARC sources (LQ, MIA, MOA): LQ_RX carries NCPDP codes, not RARCs. Columns
    read by checks that all run on values standing for the rows (``_distinct_columns``: every column of
    the batch suite) go to ``distinct``; any other would go to the asset's frame row by row (keys as
    integer codes, the labels giving their values, see ``_frame``).
    """
    from pipeline.x12.schema import TABLES

    assets = list(dict.fromkeys(c.asset for c in SUITES[BATCH]))
    given = {a: t if (t := tables.get(a)) is not None else TABLES[a].empty_table() for a in assets}
    if "payments" in given:
        payments = given["payments"]
        basis = pc.coalesce(payments["payment_date"], payments["production_date"])
        given["payments"] = payments.append_column(MONTH_BASIS, basis)
    if "remarks" in given:  # (before the ids are made: they are made row for row)
        remarks = given["remarks"]
        given["remarks"] = remarks.filter(pc.is_in(remarks["source"], value_set=pa.array(RARC_SOURCES)))
    ids = key_ids(given, {a: ["file_id", *_columns_read(BATCH, a)] for a in assets})
    frames: dict[str, Any] = {}
    labels: dict[str, dict[str, pa.Array]] = {}
    lookups: dict[str, Lookup] = {}
    on_values: dict[str, pa.ChunkedArray | KeyIds] = {}
    checked_by: dict[str, set[str]] = {}
    for asset in assets:
        table = Lookup(given[asset], ids[asset])
        sets = _set_columns(BATCH, asset)
        distinct = _distinct_columns(BATCH, asset, table)
        read = [c for c in _columns_read(BATCH, asset) if c not in distinct]
        missing = [c for c in [*read, *distinct] if c not in table.column_names]
        if missing:
            raise ValueError(f"quality: table {asset} lacks column(s) {', '.join(missing)} the suite reads")
        checked = [c for c in read if c in _checked_columns(BATCH, asset)]
        frames[asset], labels[asset] = _frame(
            table.select(checked), checked, _key_columns(BATCH, asset), sets
        )
        lookups[asset] = table
        for c in distinct:
            on_values[f"{asset}.{c}"] = table[c]
            checked_by[f"{asset}.{c}"] = {
                k.expectation for k in SUITES[BATCH] if k.asset == asset and k.kwargs.get("column") == c
            }
    return BatchInputs(frames, labels, lookups, _distinct(on_values, checked_by))


def _checked_columns(suite: str, asset: str) -> set[str]:
    """The columns the suite's checks on ``asset`` read (not the columns naming offending rows)."""
    return {
        c.kwargs[k]
        for c in SUITES[suite]
        if c.asset == asset
        for k in ("column", "column_A", "column_B")
        if k in c.kwargs
    }


def batch_columns() -> dict[str, list[str]]:
    """The parsed tables ``check_batch`` reads and, of each, the columns it reads (``file_id`` first).

    ``batch_frames`` builds its dataframes from these alone, so a caller holding a big night may read
    just these from disk (the lake's gate does).
    """
    from pipeline.x12.schema import TABLES

    out: dict[str, list[str]] = {}
    for asset in dict.fromkeys(c.asset for c in SUITES[BATCH]):
        wanted = ["file_id", *(c for c in _columns_read(BATCH, asset) if c != MONTH_BASIS)]
        if asset == "payments":  # month_basis_date is derived from these
            wanted += ["payment_date", "production_date"]
        if asset == "remarks":  # only RARC sources are checked
            wanted.append("source")
        # the ids are made from the rows' keys (``with_ids``), looked up in the tables of _ID_SOURCES
        for c in list(wanted):
            wanted += _ID_INPUTS.get(c, ())
        names = TABLES[asset].names
        out[asset] = [c for c in dict.fromkeys(wanted) if c in names]
    for source, columns in _ID_SOURCES.items():
        out[source] = list(dict.fromkeys([*out.get(source, []), *columns]))
    return out


def without_files(tables: Mapping[str, pa.Table], file_ids: set[str]) -> dict[str, pa.Table]:
    """``tables`` less every row of the files in ``file_ids`` (the ones to quarantine)."""
    if not file_ids:
        return dict(tables)
    from pipeline.x12.schema import file_key

    drop = pa.array(sorted(file_key(f) for f in file_ids), pa.int64())
    return {name: t.filter(pc.invert(pc.is_in(t["file_key"], value_set=drop))) for name, t in tables.items()}


def _context(context: QualityContext | None, docs_dir: Path | None) -> QualityContext:
    if context is not None:
        return context
    from pipeline.quality.engine import QualityContext

    return QualityContext(docs_dir)


def check_batch(
    tables: Mapping[str, pa.Table],
    ref_con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    docs_dir: Path | None = None,
    context: QualityContext | None = None,
    today: dt.date | None = None,
    build_docs: bool = True,
) -> QualityReport:
    """Validate one night's newly parsed tables (one or more files, concatenated) before publishing.

    ``tables`` maps the parser's table names to Arrow tables; ``ref_con`` is a connection where
    ``pipeline.reference.load_reference`` has created ``ref.*``. Data Docs go to ``docs_dir`` (or to
    the ``context``'s folder when a context is passed); with ``build_docs=False`` the pages are left
    for the caller to render once for several checks (``report.identifiers`` names the results).
    ``today`` sets the date window (default: the UTC date). Quarantine
    ``report.failed_critical_file_ids``; publish the other files.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    checked_at = dt.datetime.now(dt.UTC)
    qc = _context(context, docs_dir)
    inputs = batch_inputs(tables)
    parameters = present_codes(BATCH, reference_parameters(ref_con, today), inputs.frames, inputs.distinct)
    outcomes, identifiers = qc.run(
        BATCH,
        inputs.frames,
        parameters,
        run_id,
        checked_at,
        labels=inputs.labels,
        lookups=inputs.lookups,
        distinct=inputs.distinct,
    )
    report = QualityReport(run_id=run_id, checked_at=checked_at, outcomes=outcomes, identifiers=identifiers)
    if build_docs:
        report.docs_index = qc.build_docs(identifiers)
    _log(report)
    return report


# -- warehouse ---------------------------------------------------------------------------------------


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    import pandas as pd

    result = con.sql(sql).arrow()
    table = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _relations(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, set[str]]:
    """Tables and views of ``schema`` → their column names."""
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ?", [schema]
    ).fetchall()
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return out


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _mart_sizes(
    names: tuple[str, ...],
    marts: dict[str, set[str]],
    remitted: bool,
    lake: dict[str, set[str]],
) -> str:
    """SQL of (mart, row_count) for ``names``: a mart missing from the warehouse counts 0 rows; one that
    exists is sized only when the lake holds claims a mart counts (``remitted``): a lake of 837s alone
    (a practice that loads its submissions before the first remits arrive) leaves them rightly empty;
    and one of ``ADJUSTMENT_MARTS`` only when what it counts exists (``_sized_when``)."""
    parts = []
    for n in names:
        if n not in marts:
            parts.append(f"SELECT {_q(n)} AS mart, 0 AS row_count")
        elif remitted:
            when = f" WHERE {_sized_when(n, lake)}" if n in ADJUSTMENT_MARTS else ""
            parts.append(f"SELECT {_q(n)} AS mart, (SELECT count(*) FROM marts.{n}) AS row_count{when}")
    return " UNION ALL ".join(parts) or "SELECT NULL::VARCHAR AS mart, 0::BIGINT AS row_count WHERE false"


def _sized_when(mart: str, lake: dict[str, set[str]]) -> str:
    """SQL condition under which ``mart`` of ``ADJUSTMENT_MARTS`` must hold rows (run it within
    ``_kept_excluded_claims``: it reads ``EXCLUDED_CLAIMS``)."""
    if mart == "provider_absorbed_month":  # an absorbed row of the mart that reconciles with the lake
        return "EXISTS (SELECT 1 FROM marts.denials_by_carc_month WHERE is_provider_absorbed)"
    if "adjustments" not in lake:
        return "false"
    # a lake adjustment that the marts count
    return f"""EXISTS (
            SELECT 1 FROM lake.adjustments AS a
            ANTI JOIN {EXCLUDED_CLAIMS} AS e ON e.file_key = a.file_key AND e.claim_number = a.claim_number
        )"""


# The lake keys of the claims no mart counts (``_excluded_claims``), found once per warehouse check
# (``_kept_excluded_claims``) for the three lake checks that leave them out
EXCLUDED_CLAIMS = "temp.main.remit_excluded_claims"


@contextlib.contextmanager
def _kept_excluded_claims(con: duckdb.DuckDBPyConnection, lake: dict[str, set[str]]) -> Iterator[None]:
    """``EXCLUDED_CLAIMS`` filled for ``con`` within (a temporary table: the warehouse is read-only)."""
    name = EXCLUDED_CLAIMS.rsplit(".", 1)[1]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {_excluded_claims(lake)}")
    try:
        yield
    finally:
        con.execute(f"DROP TABLE IF EXISTS {EXCLUDED_CLAIMS}")


def _excluded_claims(lake: dict[str, set[str]]) -> str:
    """SQL of the lake keys (file_key, claim_number) of the claims no mart counts: those netted out by a
    matched reversal (``marts.claim_netting``) and those of payments resent under another transaction
    (``resent_of_transaction_id``, left out by staging). A few percent of the claims: the lake checks
    below leave them out of one scan of a lake table, instead of joining every lake row to its claim."""
    from pipeline.x12.schema import CLAIM_KEY_PARTS_SQL

    netted = CLAIM_KEY_PARTS_SQL.format(k="claim_id", rest="FROM marts.claim_netting WHERE is_netted_out")
    if "resent_of_transaction_id" not in lake.get("payments", set()):
        return netted
    return f"""{netted}
            UNION
            SELECT c.file_key, c.claim_number
            FROM lake.claims AS c
            INNER JOIN lake.payments AS p
                ON p.file_key = c.file_key AND p.transaction_ordinal = c.transaction_ordinal
            WHERE p.resent_of_transaction_id IS NOT NULL"""


def loaded_months(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The payment months ('YYYY-MM') of the lake's claims that a mart counts (``EXCLUDED_CLAIMS`` left
    out), read once for both month frames."""
    rows = con.execute(
        f"""
        SELECT DISTINCT CAST(c.payment_month AS VARCHAR) AS payment_month
        FROM lake.claims AS c
        ANTI JOIN {EXCLUDED_CLAIMS} AS e ON e.file_key = c.file_key AND e.claim_number = c.claim_number
        """
    ).fetchall()
    return sorted(r[0] for r in rows if r[0] is not None)


def _mart_months(names: tuple[str, ...], marts: dict[str, set[str]], loaded: list[str]) -> str:
    """SQL of (key, mart, payment_month, row_count): one row per mart × month of surviving claims
    (``loaded``, from ``loaded_months``)."""
    counts = [
        f"SELECT {_q(n)} AS mart, {MONTH_COLUMN} AS payment_month, count(*) AS row_count "
        f"FROM marts.{n} GROUP BY {MONTH_COLUMN}"
        for n in names
        if MONTH_COLUMN in marts.get(n, set())
    ]
    counted = (
        " UNION ALL ".join(counts) or "SELECT NULL::VARCHAR AS mart, NULL AS payment_month, 0 AS row_count"
    )
    mart_list = ", ".join(f"({_q(n)})" for n in names)
    months = (
        f"SELECT * FROM (VALUES {', '.join(f'({_q(m)})' for m in loaded)}) AS l(payment_month)"
        if loaded
        else "SELECT NULL::VARCHAR AS payment_month WHERE false"
    )
    return f"""
        WITH loaded AS ({months}),
        expected AS (
            SELECT m.mart, l.payment_month FROM (VALUES {mart_list}) AS m(mart) CROSS JOIN loaded AS l
        ),
        counted AS (SELECT mart, CAST(payment_month AS VARCHAR) AS payment_month, row_count FROM ({counted}))
        SELECT e.mart || ' ' || e.payment_month AS key, e.mart, e.payment_month,
            coalesce(c.row_count, 0) AS row_count
        FROM expected AS e
        LEFT JOIN counted AS c ON c.mart = e.mart AND c.payment_month = e.payment_month
        ORDER BY e.mart, e.payment_month
    """


def _reconciliation() -> str:
    """SQL comparing Σ dollars per (payment_month, group_code) in the mart with the lake's adjustments.

    The lake side applies the mart's exclusions itself: payments resent under another transaction
    (``resent_of_transaction_id``) and claims netted out by a matched reversal (``marts.claim_netting``),
    and the same trim/upper-casing of group codes as staging. It scans the lake's adjustments once and
    leaves those claims out by their lake keys (``EXCLUDED_CLAIMS``; 5M claims: 0.55 s, against 1.9 s
    joining every adjustment to its claim and payment), so a claim missing from the warehouse counts.
    """
    return f"""
        WITH lake_side AS (
            SELECT CAST(a.payment_month AS VARCHAR) AS payment_month,
                upper(trim(a.group_code)) AS group_code,
                CAST(sum(a.amount) AS DECIMAL(18, 2)) AS dollars
            FROM lake.adjustments AS a
            ANTI JOIN {EXCLUDED_CLAIMS} AS e ON e.file_key = a.file_key AND e.claim_number = a.claim_number
            GROUP BY ALL
        ),
        mart_side AS (
            SELECT CAST(payment_month AS VARCHAR) AS payment_month, group_code,
                CAST(sum(dollars) AS DECIMAL(18, 2)) AS dollars
            FROM marts.denials_by_carc_month
            GROUP BY ALL
        )
        SELECT
            coalesce(m.payment_month, l.payment_month) || ' ' || coalesce(m.group_code, l.group_code) AS key,
            coalesce(m.payment_month, l.payment_month) AS payment_month,
            coalesce(m.group_code, l.group_code) AS group_code,
            coalesce(m.dollars, CAST(0 AS DECIMAL(18, 2))) AS mart_dollars,
            coalesce(l.dollars, CAST(0 AS DECIMAL(18, 2))) AS lake_dollars
        FROM mart_side AS m
        FULL OUTER JOIN lake_side AS l ON l.payment_month = m.payment_month AND l.group_code = m.group_code
        ORDER BY key
    """


# Month marts whose dollars and adjustment counts add up to denials_by_carc_month's (which itself
# reconciles with the lake): (mart, the grain they are compared at, the filter on denials_by_carc_month).
# A night updates them by difference (-- additive:, sql/conventions.md); this catches one drifting.
MONTH_MART_TIES = (
    ("handbook_carc_procedure_month", ("payment_month", "group_code", "reason_code"), "true"),
    ("provider_absorbed_month", ("payment_month", "payer_key"), "is_provider_absorbed"),
)


def _month_mart_ties(marts: dict[str, set[str]]) -> str:
    """SQL of (key, mart_dollars, base_dollars, mart_adjustments, base_adjustments): each mart of
    ``MONTH_MART_TIES`` summed to its comparison grain, against ``denials_by_carc_month`` summed the same
    way; one row per mart x grain value (either side missing counts as 0)."""
    parts = []
    for mart, grain, where in MONTH_MART_TIES:
        if mart not in marts or "denials_by_carc_month" not in marts:
            continue
        cols = ", ".join(grain)
        on = " AND ".join(f"m.{c} IS NOT DISTINCT FROM b.{c}" for c in grain)
        named = " || ' ' || ".join(f"coalesce(CAST(coalesce(m.{c}, b.{c}) AS VARCHAR), '-')" for c in grain)
        parts.append(
            f"SELECT {_q(mart)} || ' ' || {named} AS key, "
            "coalesce(m.dollars, 0) AS mart_dollars, coalesce(b.dollars, 0) AS base_dollars, "
            "coalesce(m.adjustments, 0) AS mart_adjustments, coalesce(b.adjustments, 0) AS base_adjustments "
            f"FROM (SELECT {cols}, CAST(sum(dollars) AS DECIMAL(38, 2)) AS dollars, "
            f"sum(adjustment_count) AS adjustments FROM marts.{mart} GROUP BY ALL) AS m "
            f"FULL OUTER JOIN (SELECT {cols}, CAST(sum(dollars) AS DECIMAL(38, 2)) AS dollars, "
            f"sum(adjustment_count) AS adjustments FROM marts.denials_by_carc_month WHERE {where} "
            f"GROUP BY ALL) AS b ON {on}"
        )
    if not parts:
        return (
            "SELECT NULL::VARCHAR AS key, 0::DECIMAL(38, 2) AS mart_dollars, "
            "0::DECIMAL(38, 2) AS base_dollars, 0::HUGEINT AS mart_adjustments, "
            "0::HUGEINT AS base_adjustments WHERE false"
        )
    return " UNION ALL ".join(parts) + " ORDER BY key"


BUILD_MODEL_TESTS = "quality.build_model_tests"


def model_test_counts(con: duckdb.DuckDBPyConnection, model: Model) -> list[tuple[str, int]]:
    """(label, failures) of each header test of ``model``, computed on ``con``; [] without tests.

    ``unique_key: a, b`` fails once per duplicated key value and once per row with a NULL key column;
    ``not_null(c)`` once per NULL; ``accepted_values(c: x y)`` once per non-NULL value outside the set.
    The model is read once (a staging view over the lake is scanned once): a one-column key's values
    are counted distinct beside the other tests, and only when some value repeats are they grouped to
    count the repeated ones (1M claims: the checks' model tests 2.6-2.9 -> 1.9-2.0 s); a key of several
    columns is grouped, every test computed per group.
    """
    labels = model.test_labels()
    conditions = _test_conditions(model)
    if not labels:
        return []
    per_test = [f"count(*) FILTER (WHERE {c}) AS f{i}" for i, c in enumerate(conditions)]
    if len(model.unique_key) == 1:
        key = model.unique_key[0]
        rows, nulls, distinct, *counts = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {key} IS NULL), count(DISTINCT {key})"
            f"{''.join(', ' + t for t in per_test)} FROM {model.name}"
        ).fetchone()
        if rows - nulls == distinct:  # no value repeats: the rows with a NULL key fail, and their group
            repeated = 1 if nulls > 1 else 0  # once more when it holds several (as grouping counts it)
        else:
            repeated = con.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {model.name} GROUP BY {key} HAVING count(*) > 1)"
            ).fetchone()[0]
        return list(zip(labels, [int(repeated) + int(nulls), *(int(n) for n in counts)], strict=True))
    if model.unique_key:
        keys = ", ".join(model.unique_key)
        nulls = " OR ".join(f"{c} IS NULL" for c in model.unique_key)
        inner = ", ".join(["count(*) AS n", f"count(*) FILTER (WHERE {nulls}) AS nk", *per_test])
        outer = ", ".join(
            [
                "count(*) FILTER (WHERE n > 1) + coalesce(sum(nk), 0)",
                *(f"coalesce(sum(f{i}), 0)" for i in range(len(conditions))),
            ]
        )
        sql = f"SELECT {outer} FROM (SELECT {inner} FROM {model.name} GROUP BY {keys}) AS g"
    else:
        sql = f"SELECT {', '.join(per_test)} FROM {model.name}"
    counts = [int(v) for v in con.execute(sql).fetchall()[0]]
    return list(zip(labels, counts, strict=True))


def record_build_model_tests(
    con: duckdb.DuckDBPyConnection, models: list[Model], counts: list[tuple[str, str, int]] = ()
) -> None:
    """Run the header tests of ``models`` (the ephemeral ones, while the build still has them) and keep
    the counts in ``quality.build_model_tests`` (model, test, failures) of the warehouse being built,
    where the warehouse suite's ``models.header_tests`` reads them. ``counts`` adds (model, test,
    failures) rows counted elsewhere (an incremental build counts some models in its scope catalog)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    con.execute(
        f"CREATE OR REPLACE TABLE {BUILD_MODEL_TESTS} (model VARCHAR NOT NULL, test VARCHAR NOT NULL, "
        "failures BIGINT NOT NULL)"
    )
    rows = [*counts, *((m.name, label, n) for m in models for label, n in model_test_counts(con, m))]
    if rows:
        con.executemany(f"INSERT INTO {BUILD_MODEL_TESTS} VALUES (?, ?, ?)", rows)


# The rows of keyed marts (``-- incremental: claim_id`` / ``episode_id``) that builds replaced since the
# warehouse suite last passed: the scope keys of every incremental build since (``keep_unchecked_scope``).
# The tables exist only from a check that passed on (``mark_checked``): absent, nothing is vouched for and
# every test runs on the whole model.
UNCHECKED = {"claim_id": "quality.unchecked_claim_id", "episode_id": "quality.unchecked_episode_id"}


def keep_unchecked_scope(con: duckdb.DuckDBPyConnection, scope_catalog: str) -> None:
    """Add an incremental build's scope keys (``<scope_catalog>.main.scope_<key>``) to ``UNCHECKED`` of
    the warehouse being built, when it keeps them (a warehouse the suite passed, or its later builds)."""
    present = _tables(con, UNCHECKED.values())
    for key, table in UNCHECKED.items():
        if table in present:
            con.execute(f"INSERT INTO {table} SELECT {key} FROM {scope_catalog}.main.scope_{key}")


# The lake manifest's last entry when the warehouse suite last passed on this warehouse (``mark_checked``):
# the staging views' header tests then run on the rows of files loaded after it (``night_staging_counts``).
# Absent (a full build writes a new file), every staging view is tested over the whole lake.
CHECKED_THROUGH = "quality.checked_through_entry"


def mark_checked(con: duckdb.DuckDBPyConnection) -> None:
    """The warehouse suite passed on ``con``'s warehouse: every row is vouched for, ``UNCHECKED`` empty,
    and every file of its lake's manifest (``CHECKED_THROUGH``: the manifest's last entry)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    con.execute(
        f"CREATE OR REPLACE TABLE {CHECKED_THROUGH} AS "
        "SELECT coalesce(max(entry), 0) AS entry FROM lake.manifest"
    )
    for key, table in UNCHECKED.items():
        typed = con.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_catalog = current_database() "
            "AND table_schema = 'marts' AND column_name = ? LIMIT 1",
            [key],
        ).fetchall()
        con.execute(f"CREATE OR REPLACE TABLE {table} ({key} {typed[0][0] if typed else 'VARCHAR'})")


def _tables(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> set[str]:
    """Which of ``names`` (schema.table) are tables of the current database."""
    rows = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE database_name = current_database()"
    ).fetchall()
    return {r[0] for r in rows} & set(names)


def scoped_test_counts(con: duckdb.DuckDBPyConnection, model: Model, unchecked: str) -> list[tuple[str, int]]:
    """``model_test_counts`` of a keyed mart for the rows builds replaced since the suite last passed
    (key in ``unchecked``); the other rows are those it passed on, unchanged.

    ``not_null`` and ``accepted_values`` count on those rows; ``unique_key`` on every row whose key a
    replaced row holds (a replaced row repeating another replaced row's key or a kept row's), found
    through the replaced rows' keys (a semi-join), not by grouping the whole mart: the same counts as on
    the whole mart when the kept rows passed, at the cost of reading the key columns.
    """
    labels = model.test_labels()
    if not labels:
        return []
    key = model.incremental
    replaced = f"(SELECT * FROM {model.name} WHERE {key} IN (SELECT {key} FROM {unchecked}))"
    conditions = _test_conditions(model)
    per_test = [f"count(*) FILTER (WHERE {c})" for c in conditions]
    cols = model.unique_key
    tested: list[int] | None = None  # the other tests' counts, when the pass below made them
    if cols == [key]:
        # keyed by its own unique key: every row holding a replaced row's key is a replaced row (and none
        # has a NULL key), so one pass over them counts every test; grouped only when a key repeats
        rows, distinct, *tested = con.execute(
            f"SELECT {', '.join([f'count(*), count(DISTINCT {key})', *per_test])} FROM {replaced} AS r"
        ).fetchone()
        if rows == distinct:
            return list(zip(labels, (int(n) for n in (0, *tested)), strict=True))
    counts = []
    if cols:
        nulls = " OR ".join(f"m.{c} IS NULL" for c in cols)
        match = " AND ".join(f"m.{c} IS NOT DISTINCT FROM k.{c}" for c in cols)
        grouped = ", ".join(f"m.{c}" for c in cols)
        counts.append(
            con.execute(
                f"""
                WITH k AS (SELECT DISTINCT {", ".join(cols)} FROM {replaced} AS r),
                g AS (
                    SELECT count(*) AS n, count(*) FILTER (WHERE {nulls}) AS nk
                    FROM {model.name} AS m SEMI JOIN k ON {match}
                    GROUP BY {grouped}
                )
                SELECT count(*) FILTER (WHERE n > 1) + coalesce(sum(nk), 0) FROM g
                """
            ).fetchone()[0]
        )
    if tested is not None:
        counts += tested
    elif conditions:
        counts += list(con.execute(f"SELECT {', '.join(per_test)} FROM {replaced} AS r").fetchone())
    return list(zip(labels, (int(n) for n in counts), strict=True))


NIGHT_CATALOG = "remit_night"


def night_staging_counts(
    con: duckdb.DuckDBPyConnection, models: list[Model], through: int
) -> dict[str, list[tuple[str, int]]]:
    """``model_test_counts`` of the staging views ``models`` (in dependency order) over the rows of the
    files loaded into the lake after manifest entry ``through``, by model name.

    The same counts as over the whole lake when the rows of the earlier files passed (``mark_checked``):

    - a staging view's row is made from rows of one file (every join is on ``file_key``) and the reference
      tables; a file's rows never change in the lake, a removed file's rows leave every view, a file
      loaded again gets a new entry, and a change of the reference tables makes the next build a full
      one, whose new warehouse has no ``CHECKED_THROUGH`` (every row tested). So the rows of files up to
      ``through`` are the rows the suite passed, and ``not_null`` / ``accepted_values`` count on the new
      files' rows alone;
    - every staging key (``transaction_id``, ``claim_id``, ``line_id``, ``adjustment_id``) holds its
      file's ``file_key`` in its top bits (docs/parser.md, "Keys and ids") and the lake refuses a new
      file whose ``file_key`` a loaded file has, so a new row's key never equals an earlier file's row's
      key: the duplicated keys, if any, are among the new files' rows.

    The views are created again in an in-memory catalog over the lake tables cut to the new files'
    ``file_key``s and payment months (whole Parquet partitions are skipped), and counted there.
    """
    from pipeline.lake.state import LOADED_STATUSES
    from pipeline.warehouse.models import quote_identifier

    wh = quote_identifier(con.execute("SELECT current_database()").fetchone()[0])
    statuses = ", ".join(_q(s) for s in LOADED_STATUSES)
    new = con.execute(
        f"SELECT file_key, payment_months FROM lake.manifest WHERE status IN ({statuses}) AND entry > ?",
        [int(through)],
    ).fetchall()
    keys = ", ".join(str(int(k)) for k, _ in new) or "NULL"
    months = sorted({m for _, ms in new for m in ms or () if m is not None})
    month_filter = f"payment_month IN ({', '.join(_q(m) for m in months)}) OR " if months else ""
    lake = _relations(con, "lake")
    n = NIGHT_CATALOG
    con.execute(f"ATTACH ':memory:' AS {n} (READ_WRITE)")  # on a read-only warehouse too
    try:
        schemas = {"staging", "lake"} | {d.split(".", 1)[0] for m in models for d in m.depends_on}
        for schema in sorted(schemas):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {n}.{schema}")
        for dep in sorted({d for m in models for d in m.depends_on if not d.startswith("staging.")}):
            name = dep.split(".", 1)[1]
            cut = (
                f" WHERE file_key IN ({keys}) AND ({month_filter}payment_month IS NULL)"
                if dep.startswith("lake.") and {"file_key", "payment_month"} <= lake.get(name, set())
                else ""
            )
            con.execute(f"CREATE VIEW {n}.{dep} AS SELECT * FROM {wh}.{dep}{cut}")
        con.execute(f"USE {n}")
        try:
            for m in models:
                con.execute(m.ddl())
            return {m.name: model_test_counts(con, m) for m in models}
        finally:
            con.execute(f"USE {wh}")
    finally:
        con.execute(f"DETACH {n}")


def _test_conditions(model: Model) -> list[str]:
    """Per ``-- tests:`` entry of ``model``, the condition a failing row meets."""
    conditions: list[str] = []
    for t in model.tests:
        if t.kind == "not_null":
            conditions.append(f"{t.column} IS NULL")
        else:
            allowed = ", ".join(_q(v) for v in t.values)
            conditions.append(f"{t.column} IS NOT NULL AND CAST({t.column} AS VARCHAR) NOT IN ({allowed})")
    return conditions


def _model_tests(
    con: duckdb.DuckDBPyConnection, relations: dict[str, set[str]], sql_dir: Path | None = None
) -> str:
    """SQL of (key, model, test, failures): one row per header test of every SQL model in ``sql/``.

    Tests of an ephemeral model come from ``quality.build_model_tests`` (run by the build; a warehouse
    built before models were ephemeral still holds the table and is tested directly); a model missing
    from the warehouse, or an ephemeral model whose results are missing, fails each test once.
    """
    from pipeline.warehouse.models import load_models

    built: dict[tuple[str, str], int] = {}
    if BUILD_MODEL_TESTS in relations:
        built = {
            (m, t): int(n)
            for m, t, n in con.execute(f"SELECT model, test, failures FROM {BUILD_MODEL_TESTS}").fetchall()
        }
    unchecked = _tables(con, UNCHECKED.values())
    models = load_models(sql_dir)
    night: dict[str, list[tuple[str, int]]] = {}
    if CHECKED_THROUGH in relations:  # staging views: the rows of the files loaded since the last pass
        staging = [m for m in models if m.schema == "staging" and m.materialized == "view"]
        if all(m.name in relations for m in staging):
            through = con.execute(f"SELECT max(entry) FROM {CHECKED_THROUGH}").fetchone()[0]
            tested = [m for m in staging if m.test_labels()]
            night = night_staging_counts(con, staging, through or 0) if tested else {}
    rows: list[str] = []
    for model in models:
        scoped = UNCHECKED.get(model.incremental) if model.materialized == "table" else None
        if model.name in night:
            counts = night[model.name]
        elif model.name in relations and scoped in unchecked:  # a keyed mart: the rows replaced since
            counts = scoped_test_counts(con, model, scoped)
        elif model.name in relations:  # an ephemeral model is one only in a warehouse built before
            counts = model_test_counts(con, model)
        elif model.ephemeral:
            counts = [(label, built.get((model.name, label), 1)) for label in model.test_labels()]
        else:
            counts = [(label, 1) for label in model.test_labels()]
        for label, failures in counts:
            key = f"{model.name} {label}"
            rows.append(f"({_q(key)}, {_q(model.name)}, {_q(label)}, {failures})")
    if not rows:
        return "SELECT NULL::VARCHAR AS key, NULL::VARCHAR AS model, NULL::VARCHAR AS test, 0 AS failures"
    return f"SELECT * FROM (VALUES {', '.join(rows)}) AS t(key, model, test, failures)"


def _all_relations(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """``schema.table`` -> column names, for every table and view of the warehouse."""
    rows = con.execute(
        "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns"
    ).fetchall()
    out: dict[str, set[str]] = {}
    for name, column in rows:
        out.setdefault(name, set()).add(column)
    return out


# Marts whose rows the warehouse suite checks on values standing for them (``Distinct``), not row by
# row: a row per claim, millions of rows, where GX's own uniqueness check on every row cost seconds a
# million claims and the values are a handful (usually one non-null value)
WAREHOUSE_ON_VALUES = ("claim_outcomes",)


def _arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    result = con.sql(sql).arrow()
    return result.read_all() if isinstance(result, pa.RecordBatchReader) else result


@dataclass
class WarehouseInputs:
    """What the warehouse suite hands GX (see ``QualityContext.run``): ``frames``, per asset its rows
    checked row by row (small: one row per mart, month or test); ``lookups`` and ``distinct``, the
    rows (Arrow) and the values standing for them of the assets in ``WAREHOUSE_ON_VALUES``."""

    frames: dict[str, Any]
    lookups: dict[str, pa.Table]
    distinct: Distinct | None


def warehouse_inputs(con: duckdb.DuckDBPyConnection) -> WarehouseInputs:
    """The warehouse suite's inputs, pulled from an open warehouse connection."""
    marts = _relations(con, "marts")
    lake = _relations(con, "lake")
    with _kept_excluded_claims(con, lake):
        months = loaded_months(con)
        frames = {
            "mart_sizes": _fetch(con, _mart_sizes(CORE_MARTS, marts, bool(months), lake)),
            "sparse_mart_sizes": _fetch(con, _mart_sizes(SPARSE_MARTS, marts, bool(months), lake)),
            "mart_months": _fetch(con, _mart_months(MONTHLY_MARTS, marts, months)),
            "sparse_mart_months": _fetch(con, _mart_months(MONTHLY_MARTS_SPARSE, marts, months)),
            "denials_reconciliation": _fetch(con, _reconciliation()),
        }
    frames["month_mart_ties"] = _fetch(con, _month_mart_ties(marts))
    frames["model_tests"] = _fetch(con, _model_tests(con, _all_relations(con)))
    lookups: dict[str, pa.Table] = {}
    columns: dict[str, pa.ChunkedArray] = {}
    checks: dict[str, set[str]] = {}
    for asset in WAREHOUSE_ON_VALUES:
        read = _columns_read(WAREHOUSE, asset)
        lookups[asset] = _arrow(con, f"SELECT {', '.join(read)} FROM marts.{asset}")
        for column in _distinct_columns(WAREHOUSE, asset, lookups[asset]):
            name = f"{asset}.{column}"
            columns[name] = lookups[asset][column]
            checks[name] = {
                c.expectation
                for c in SUITES[WAREHOUSE]
                if c.asset == asset and c.kwargs.get("column") == column
            }
    return WarehouseInputs(frames, lookups, _distinct(columns, checks) if columns else None)


def check_warehouse(
    warehouse: Path,
    *,
    run_id: str,
    docs_dir: Path | None = None,
    context: QualityContext | None = None,
) -> QualityReport:
    """Validate the marts of ``warehouse`` (a built warehouse.duckdb, opened read-only)."""
    checked_at = dt.datetime.now(dt.UTC)
    from pipeline.lake import connect_warehouse
    from pipeline.warehouse import cap_memory

    con = connect_warehouse(warehouse)  # the lake views name their files relative to the warehouse
    try:
        # DuckDB's cap as for the build: the night's (1GB) when the tests run on the rows changed since
        # the last pass, a full build's when they run on every row (a GROUP BY over each mart's key)
        cap_memory(con, full=CHECKED_THROUGH not in _tables(con, [CHECKED_THROUGH]))
        inputs = warehouse_inputs(con)
    finally:
        con.close()
    qc = _context(context, docs_dir)
    outcomes, identifiers = qc.run(
        WAREHOUSE,
        inputs.frames,
        {},
        run_id,
        checked_at,
        lookups=inputs.lookups,
        distinct=inputs.distinct,
    )
    report = QualityReport(run_id=run_id, checked_at=checked_at, outcomes=outcomes)
    report.docs_index = qc.build_docs(identifiers)
    _log(report)
    return report


def _log(report: QualityReport) -> None:
    from pipeline.x12.errors import escape_controls  # imported late, like the schema above

    for o in report.failed_critical:
        log.error(
            "quality critical %s: %d rows, files %s, e.g. %s",
            o.expectation,
            o.unexpected_count,
            ", ".join(o.file_ids[:5]) or "-",
            ", ".join(escape_controls(str(v)) for v in o.sample_ids[:5]) or "-",
            extra={"fields": o.as_dict()},
        )
    for o in report.warnings:
        log.warning(
            "quality warning %s: %d rows, values %s",
            o.expectation,
            o.unexpected_count,
            # values come from the files: one line per warning whatever bytes they hold
            ", ".join(escape_controls(str(v)) for v in o.unexpected_values[:10]) or "-",
            extra={"fields": o.as_dict()},
        )
