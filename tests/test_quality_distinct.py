"""Checks run on distinct values give what Great Expectations gives row by row (issue 18).

The batch suite's row-wise checks on codes, dates and flags run on each column's distinct values, and
GX's result is rewritten into the rows' (``pipeline.quality.engine._expand``). Here every such check
is validated both ways on crafted nights (many offending values; one offending row among hundreds;
more than 200 distinct offending values), and the results must be equal: verdict, counts, offending
rows and values, as GX itself computes them on every row. The gate's outcomes must be those the
row-by-row results give. GX's metric ids must be unchanged by ``fast_metric_ids``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import random

import pyarrow as pa
import pytest

from pipeline.quality.checks import (
    _frame,
    _set_columns,
    batch_inputs,
    check_batch,
    present_codes,
    reference_parameters,
)
from pipeline.quality.engine import SAMPLE_SIZE, _expand, _outcome, _result_format, distinct_column
from pipeline.quality.report import CRITICAL
from pipeline.quality.suites import BATCH, BATCH_CHECKS
from tests.test_gate_speed_verdicts import night

ROWS = 300
TODAY = dt.date(2026, 12, 6)
_GOOD_DATES = [dt.date(2025, 1, 10), dt.date(2025, 2, 11), dt.date(2025, 3, 3)]
_BAD_DATES = [dt.date(2099, 1, 1), dt.date(1899, 12, 31), dt.date(1500, 6, 1)]  # 1500: beyond datetime64[ns]
_BAD_CODES = ["ZZ9", "XX", "CR", "004010X091A1", "Q9", "ZZ77"]


def _inflated() -> dict[str, pa.Table]:
    """The verdict tests' three-file night, each non-empty table repeated to ``ROWS`` rows."""
    tables = {}
    for name, table in night().items():
        copies = -(-ROWS // table.num_rows) if table.num_rows else 0
        tables[name] = pa.concat_tables([table] * copies).slice(0, ROWS) if copies else table
    return tables


def _value_columns(tables: dict[str, pa.Table]) -> list[tuple[str, str]]:
    return [tuple(name.split(".", 1)) for name in batch_inputs(tables).distinct.values]


def _keys() -> set[tuple[str, str]]:
    return {(c.asset, c.kwargs["column"]) for c in BATCH_CHECKS if c.expectation.endswith("ToBeUnique")}


def _crafted(kind: str) -> dict[str, pa.Table]:
    """A night whose columns hold offending values: ``noisy`` (a third of the rows, nulls included; keys
    repeated), ``sparse`` (one offending row per column; a key repeated once) or ``wide`` (250 distinct
    offending dates). Keys are otherwise made unique (the inflated night repeats its rows)."""
    rng = random.Random(f"distinct-{kind}")
    tables = _inflated()
    keys = _keys()
    for asset, column in _value_columns(tables):
        table = tables[asset]
        if column not in table.column_names:  # month_basis_date: derived from the two dates crafted here
            continue
        clean = [v for v in table[column].to_pylist() if v is not None] or [None]
        kind_of = table.schema.field(column).type
        key = (asset, column) in keys
        values = []
        for row in range(table.num_rows):
            value = f"{clean[row % len(clean)]}#{row}" if key else clean[row % len(clean)]
            if kind == "noisy" and rng.random() < 0.35:
                if pa.types.is_boolean(kind_of):
                    value = rng.choice([False, None])
                elif pa.types.is_date(kind_of):
                    value = rng.choice([*_BAD_DATES, None])
                elif pa.types.is_decimal(kind_of):
                    value = rng.choice([decimal.Decimal("-5.00"), decimal.Decimal("-0.01"), None])
                elif pa.types.is_integer(kind_of):  # an ordinal out of its range
                    value = rng.choice([0, 10_000, None])
                else:  # codes, keys (a bad code repeats), other text
                    value = rng.choice([*_BAD_CODES, None])
            elif kind == "sparse" and row == 7:
                bad = {"bool": False, "date": _BAD_DATES[0]}
                value = bad["bool"] if pa.types.is_boolean(kind_of) else value
                value = bad["date"] if pa.types.is_date(kind_of) else value
                value = None if pa.types.is_decimal(kind_of) else value
                value = 10_000 if pa.types.is_integer(kind_of) else value
                value = "ZZ9" if pa.types.is_string(kind_of) else value
                value = values[3] if key else value  # a key held by two rows
            elif kind == "wide" and pa.types.is_date(kind_of) and row % 6:
                value = dt.date(2100, 1, 1) + dt.timedelta(days=row)
            values.append(value)
        i = table.column_names.index(column)
        half = table.num_rows // 2  # two chunks, as the lake's batches are
        chunked = pa.chunked_array([pa.array(values[:half], kind_of), pa.array(values[half:], kind_of)])
        tables[asset] = table.set_column(i, column, chunked)
    return tables


@pytest.fixture(scope="module")
def gx_batches():
    """A GX context with two pandas assets: one row by row, one for distinct values."""
    import great_expectations as gx

    from pipeline.quality.engine import QualityContext

    qc = QualityContext()  # installs share_configurations and fast_metric_ids, as the gate runs
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("distinct-test")
    rows = source.add_dataframe_asset("rows").add_batch_definition_whole_dataframe("b")
    values = source.add_dataframe_asset("values").add_batch_definition_whole_dataframe("b")
    return qc, rows, values


def _json(value: object) -> str:
    from great_expectations.util import convert_to_json_serializable

    return json.dumps(convert_to_json_serializable(value), sort_keys=True)


def _lean() -> dict[str, pa.Table]:
    """The inflated night as the lake hands it to the gate: no readable ids (``file_id`` only on payments
    and submitted claims), so the gate makes them from the keys (``checks.KeyIds``). Its rows repeat, so
    its ids do; a few keys are missing (no id) and a few adjustments are the claim's (no line part)."""
    from pipeline.quality.checks import ID_COLUMNS

    tables = {}
    for name, table in _inflated().items():
        keep = ("file_id",) if name in ("payments", "submitted_claims") else ()
        table = table.drop_columns([c for c in ID_COLUMNS if c in table.column_names and c not in keep])
        for column, every in (("claim_number", 41), ("line_number", 17), ("cas_ordinal", 29)):
            if column in table.column_names and table.num_rows:
                values = table[column].to_pylist()
                values = [None if row % every == 5 else v for row, v in enumerate(values)]
                i = table.column_names.index(column)
                table = table.set_column(i, column, pa.array(values, table.schema.field(column).type))
        tables[name] = table
    return tables


@pytest.mark.parametrize("kind", ["noisy", "sparse", "wide", "lean"])
def test_distinct_values_give_the_rows_result(gx_batches, ref_con, kind: str) -> None:
    qc, rows_batch, values_batch = gx_batches
    tables = _lean() if kind == "lean" else _crafted(kind)
    inputs = batch_inputs(tables)
    parameters = present_codes(BATCH, reference_parameters(ref_con, TODAY), inputs.frames, inputs.distinct)
    checks = [c for c in BATCH_CHECKS if distinct_column(c) in inputs.distinct.values]
    assert {c.name for c in checks} == {c.name for c in BATCH_CHECKS}  # every check, keys and money too
    compared, counts = 0, []
    for check in checks:
        name = distinct_column(check)
        table = inputs.lookups[check.asset]
        column = check.kwargs["column"]
        complete = check.severity == CRITICAL
        # row by row, as the gate validated before issue 18
        frame, _ = _frame(table.select([column]), [column], sets=_set_columns(BATCH, check.asset))
        by_rows = rows_batch.get_batch(batch_parameters={"dataframe": frame}).validate(
            qc._expectation(check),
            result_format=_result_format(complete),
            expectation_parameters=parameters,
        )
        # on the distinct values, rewritten
        expectation = qc._expectation(check, name)
        on_values = values_batch.get_batch(batch_parameters={"dataframe": inputs.distinct.frame}).validate(
            expectation, result_format=_result_format(True), expectation_parameters=parameters
        )
        _expand(
            expectation,
            check,
            on_values,
            inputs.distinct.values[name],
            inputs.distinct.frame[name],
            table[column],
        )
        assert on_values.success == by_rows.success, check.name
        assert _json(on_values.result) == _json(by_rows.result), check.name
        assert _outcome(BATCH, check, on_values, None, {}, table) == _outcome(
            BATCH, check, by_rows, None, {}, table
        ), check.name
        compared += 1
        counts.append(by_rows.result["unexpected_count"])
        if kind == "wide" and column.endswith("date") and check.expectation.endswith("Between"):
            assert len(inputs.distinct.values[name]) > 200, check.name  # GX lists at most 200 values
    assert compared == len(checks)
    if kind == "noisy":  # every check fails somewhere, some on more rows than a sample lists
        assert min(counts) > 0 and max(counts) > SAMPLE_SIZE


def test_one_unknown_code_in_hundreds_passes_as_row_by_row(ref_con) -> None:
    """``mostly``: one unknown CARC among 300 adjustments is under 1 %: the check passes, as GX decides
    on the rows, though on the distinct values one value in a handful fails."""
    tables = _crafted("sparse")
    report = check_batch(tables, ref_con, run_id="distinct", today=TODAY)
    carc = report.outcome("adjustments.reason_code.known_carc")
    assert (carc.success, carc.unexpected_count, carc.element_count) == (True, 1, ROWS)
    assert carc.unexpected_values == ("ZZ9",)
    status = report.outcome("claims.claim_status_code.valid")  # no mostly: one row fails it
    assert (status.success, status.unexpected_count) == (False, 1)


def test_metric_ids_are_gx_own(ref_con, monkeypatch) -> None:
    """Every metric id GX computes while checking a noisy night is the one its own conversion gives."""
    import great_expectations.core.id_dict as id_dict
    from great_expectations.util import convert_to_json_serializable

    from pipeline.quality.engine import QualityContext

    qc = QualityContext()
    fast = id_dict.convert_to_json_serializable
    assert fast is not convert_to_json_serializable  # fast_metric_ids is installed
    seen = []

    def both(data):
        ours = fast(data)
        assert json.dumps(ours, sort_keys=True) == json.dumps(
            convert_to_json_serializable(data), sort_keys=True
        )
        seen.append(data)
        return ours

    monkeypatch.setattr(id_dict, "convert_to_json_serializable", both)
    check_batch(_crafted("noisy"), ref_con, run_id="ids", context=qc, today=TODAY)
    assert len(seen) > 1000


@pytest.fixture(scope="module")
def ref_con():
    import duckdb

    from pipeline.reference import load_reference

    con = duckdb.connect()
    load_reference(con)
    yield con
    con.close()


def test_money_cents_read_from_storage_equal_arrows_arithmetic() -> None:
    """Money reaches GX as int64 cents read from the decimal's storage (``_cents``): equal to Arrow's
    multiply-and-cast on every value, sliced chunks, nulls and the 18-digit extremes included."""
    import decimal

    import pyarrow.compute as pc

    from pipeline.quality.checks import _for_gx

    values = ["12.34", None, "-0.01", "9999999999999999.99", "-9999999999999999.99", "0", "-123456.78"]
    array = pa.array([None if v is None else decimal.Decimal(v) for v in values], pa.decimal128(18, 2))
    column = pa.chunked_array([array.slice(1), array.slice(0, 2), array.slice(3, 0)])
    expected = [None, -1, 999999999999999999, -999999999999999999, 0, -12345678, 1234, None]
    assert _for_gx(column).to_pylist() == expected
    assert pc.multiply(column, pa.scalar(100, pa.int64())).cast(pa.int64()).to_pylist() == expected


def test_repeated_keys_are_found_by_value_even_when_two_keys_share_a_hash(monkeypatch) -> None:
    """Uniqueness runs on each repeated key twice and the others once (``_compact``): the repeated keys
    are found through their hashes, then compared by value, so two keys sharing a hash stay two keys."""
    import polars as pl

    from pipeline.quality.checks import _compact, _repeated

    keys = pa.chunked_array([pa.array(["k1", "k2", None]), pa.array(["k1", "k3", "k4", "k3"])])
    assert sorted(_repeated(keys).to_pylist()) == ["k1", "k3"]
    # one non-null key standing for the others, a null, each repeated key twice
    assert _compact(keys, {"ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeUnique"}).to_pylist() == [
        None,
        "k1",
        "k3",
        "k1",
        "k3",
    ]
    monkeypatch.setattr(pl.Series, "hash", lambda self, *a, **k: pl.Series([7] * len(self), dtype=pl.UInt64))
    assert sorted(_repeated(keys).to_pylist()) == ["k1", "k3"]
    unique = pa.chunked_array([pa.array(["a", "b", "c"])])
    assert _repeated(unique).to_pylist() == []
    assert _compact(unique, {"ExpectColumnValuesToBeUnique"}).to_pylist() == ["a"]


def _joined(parts: list[list[int | None]]) -> list[str | None]:
    """Ids as ``KeyIds`` stands for them: the parts joined by '-', none when a part is missing."""
    return [
        None if any(p is None for p in row) else "-".join(str(p) for p in row)
        for row in zip(*parts, strict=True)
    ]


def _key_ids(parts: list[list[int | None]]):
    import numpy as np

    from pipeline.quality.checks import KeyIds

    strings = pa.array(_joined(parts), pa.string())
    valid = np.array([s is not None for s in strings.to_pylist()], dtype=bool)
    numbers = [np.array([0 if p is None else p for p in part], dtype=np.int64) for part in parts]
    return KeyIds(numbers, valid, lambda rows: strings if rows is None else strings.take(rows)), strings


@pytest.mark.parametrize(
    "parts",
    [
        # repeated ids among unique ones, a missing part: packed into one integer
        [[3, 1, 3, 2, None, 3, 1], [7, 7, 7, 9, 1, 8, 7]],
        # no id repeats
        [[1, 2, 3, 4], [5, 5, 5, 5]],
        # parts too wide to pack side by side (> 63 bits): compared as a frame of parts
        [[2**40, 2**40, 5, 2**40], [2**30, 2**30 + 1, 2**30, 2**30]],
        # a negative part (no parser makes one): "1--2" could then be another id's text; the strings decide
        [[1, 1, -2, 1], [-2, -2, 5, 3]],
        # one row, and none with an id
        [[4], [2]],
        [[None, None], [1, 2]],
    ],
)
def test_key_ids_answer_as_their_strings(parts) -> None:
    """``KeyIds`` (the gate's ids, checked through the numbers they are joined from) gives what the
    strings give: their null count, first id, repeated ids (as ``_repeated`` finds them, in the same
    order) and the values standing for their rows (``_compact``)."""
    from pipeline.quality.checks import _compact, _repeated

    ids, strings = _key_ids(parts)
    column = pa.chunked_array([strings])
    assert len(ids) == len(strings) and ids.null_count == strings.null_count
    present = [i for i, s in enumerate(strings.to_pylist()) if s is not None]
    assert ids.first_valid() == (present[0] if present else None)
    assert ids.repeated().to_pylist() == _repeated(column).to_pylist()
    checks = {"ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeUnique"}
    assert _compact(ids, checks).to_pylist() == _compact(column, checks).to_pylist()
    assert ids.take(pa.array([len(strings) - 1])).to_pylist() == strings.to_pylist()[-1:]
    assert ids.whole().to_pylist() == strings.to_pylist()


def test_key_ids_match_the_readable_ids_on_a_lean_night() -> None:
    """On a lean night with repeated rows (hence repeated ids) and missing keys, the gate's ``KeyIds``
    give the null counts and repeated values of the readable ids ``with_ids`` makes (docs/parser.md,
    "Keys and ids"), and make exactly those strings for any rows asked."""
    from pipeline.quality.checks import ID_COLUMNS, _columns_read, _repeated, key_ids, with_ids

    tables = _lean()
    assets = list(dict.fromkeys(c.asset for c in BATCH_CHECKS))
    tables = {a: tables[a] for a in assets if a in tables}
    wanted = {a: ["file_id", *_columns_read(BATCH, a)] for a in tables}
    made, readable = key_ids(tables, wanted), with_ids(tables, wanted)
    compared = 0
    for asset, columns in made.items():
        for column, ids in columns.items():
            strings = readable[asset][column]
            assert ids.null_count == strings.null_count, (asset, column)
            assert ids.repeated().to_pylist() == _repeated(strings).to_pylist(), (asset, column)
            rows = pa.array(list(range(0, len(ids), 7)), pa.int64())
            assert ids.take(rows).to_pylist() == strings.take(rows).to_pylist(), (asset, column)
            compared += column in ID_COLUMNS and len(ids) > 0
    assert compared >= 8  # file ids, transactions, claims, lines, adjustments across the tables
