"""The parser against the synthetic generator's own ground truth (truth.json, tallied from its model)."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal as D

import pyarrow as pa
import pytest

from pipeline.x12 import parse_835

synth = pytest.importorskip("pipeline.synth")


@pytest.fixture(scope="module")
def workload(tmp_path_factory) -> tuple[dict, dict[str, pa.Table]]:
    out = tmp_path_factory.mktemp("synth")
    synth.generate(out, claims=2000, seed=20251127)
    truth = json.loads((out / "truth.json").read_text())
    pieces: dict[str, list[pa.Table]] = {}
    for path in sorted(out.glob("*.835")):
        r = parse_835(path.read_bytes(), path.name, patient_key_secret=b"test")
        for name, table in r.tables().items():
            pieces.setdefault(name, []).append(table)
    return truth, {name: pa.concat_tables(ts) for name, ts in pieces.items()}


def money(values) -> D:
    return sum((v for v in values if v is not None), D("0"))


def test_counts(workload):
    truth, t = workload
    assert t["payments"].num_rows == truth["transactions"]
    assert t["claims"].num_rows == truth["claims"]
    assert t["service_lines"].num_rows == truth["lines"]
    assert t["adjustments"].num_rows == truth["adjustment_count"]
    assert t["provider_adjustments"].num_rows == truth["plb_count"]
    assert t["remarks"].num_rows == truth["remark_count"]
    assert sum(t["claims"]["is_reversal"].to_pylist()) == truth["reversal_claims"]
    assert sum(n == 0 for n in t["claims"]["line_count"].to_pylist()) == truth["claims_without_lines"]


def test_money_totals(workload):
    truth, t = workload
    assert money(t["claims"]["paid_amount"].to_pylist()) == D(truth["clp04_total"])
    assert money(t["claims"]["charge_amount"].to_pylist()) == D(truth["clp03_total"])
    assert money(t["claims"]["patient_responsibility_amount"].to_pylist()) == D(truth["clp05_total"])
    assert money(t["service_lines"]["charge_amount"].to_pylist()) == D(truth["svc02_total"])
    assert money(t["service_lines"]["paid_amount"].to_pylist()) == D(truth["svc03_total"])
    assert money(t["payments"]["payment_amount"].to_pylist()) == D(truth["bpr02_total"])
    assert money(t["provider_adjustments"]["amount"].to_pylist()) == D(truth["plb_total"])


def test_adjustments_by_group_and_level(workload):
    truth, t = workload
    adj = t["adjustments"].to_pylist()
    by_group: dict[str, D] = {}
    for a in adj:
        by_group[a["group_code"]] = by_group.get(a["group_code"], D(0)) + a["amount"]
    assert by_group == {g: D(v) for g, v in truth["adjustments_by_group"].items()}
    assert money(a["amount"] for a in adj if a["line_number"] is None) == D(
        truth["claim_level_adjustment_total"]
    )
    assert money(a["amount"] for a in adj if a["line_number"] is not None) == D(
        truth["line_level_adjustment_total"]
    )
    assert Counter(c for c in t["claims"]["claim_status_code"].to_pylist()) == Counter(
        {k: v for k, v in truth["claims_by_status"].items()}
    )


def test_generated_files_balance(workload):
    _, t = workload
    assert all(t["service_lines"]["is_balanced"].to_pylist())
    assert all(t["claims"]["is_balanced"].to_pylist())
    assert all(t["payments"]["is_balanced"].to_pylist())
    assert None not in t["claims"]["patient_key"].to_pylist()
