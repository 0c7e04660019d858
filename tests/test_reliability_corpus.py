"""Bad input: thousands of mutated 835s never crash or hang the parser, and never stop a night's ingest.

For every case of the corpus (``tests/corpus.py``) ``parse_835`` must return well-formed tables or raise
``X12ParseError``, within a time budget; cases that cannot be valid 835s by construction must raise.
``remit ingest`` (the CLI) on an inbox mixing bad cases with good generated files quarantines each bad file
with a readable ``<name>.error.json`` and loads the good files, whose totals must equal the generator's
truth.

The figures (inputs tried, crashes, hangs, wrongly accepted) are printed (``pytest -rP`` shows them for
passing tests), recorded as junit properties (``--junitxml``) and repeated in assertion messages.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import Case, corpus  # noqa: E402

from pipeline.home import Home  # noqa: E402
from pipeline.lake import register_views  # noqa: E402
from pipeline.x12 import X12ParseError, parse_835  # noqa: E402
from pipeline.x12.schema import REMITTANCE_TABLES as TABLES  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "835"
BUDGET_SECONDS = 10.0  # per small input; a hang shows up as a timeout, not a stuck CI job
HUGE_BUDGET_SECONDS = 120.0


class Hang(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` in the parser can swallow it."""


def _alarm(_signum, _frame):
    raise Hang()


def fixture_seeds() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(FIXTURES.glob("*.835"))]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    """Six small generated files of every delimiter flavour, and their truth."""
    from pipeline.synth import generate

    out = tmp_path_factory.mktemp("synth")
    truth = generate(out, claims=90, files=6, seed=4242, months=3)
    return out, truth


def check_tables(result) -> str | None:
    """None when ``result`` has the six contract tables with the contract's columns and types."""
    tables = result.tables()
    if list(tables) != list(TABLES):
        return f"tables {list(tables)}"
    for name, schema in TABLES.items():
        got = tables[name].schema
        for fld in schema:
            if got.get_field_index(fld.name) < 0 or got.field(fld.name).type != fld.type:
                return f"{name}.{fld.name} missing or mistyped"
    return None


def run_corpus(cases: list[Case], record_property) -> dict[str, object]:
    """Parse every case under a per-input time budget; return the tally and the failures."""
    failures: list[str] = []
    tally: Counter[tuple[str, str]] = Counter()
    slowest = (0.0, "")
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        for case in cases:
            budget = HUGE_BUDGET_SECONDS if len(case.data) > 10 << 20 else BUDGET_SECONDS
            t0 = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, budget)
            try:
                result = parse_835(case.data, case.name)
                outcome = "parsed"
            except X12ParseError as exc:
                outcome = "rejected"
                if not str(exc) or not exc.problems:
                    failures.append(f"{case.name}: X12ParseError without a problem")
            except Hang:
                outcome = "hang"
                failures.append(f"{case.name}: no answer within {budget:.0f}s")
            except Exception as exc:  # noqa: BLE001 - exactly what this test hunts for
                outcome = "crash"
                failures.append(f"{case.name}: {type(exc).__name__}: {exc}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            elapsed = time.perf_counter() - t0
            slowest = max(slowest, (elapsed, case.name))
            if outcome == "parsed":
                problem = check_tables(result)
                if problem:
                    outcome = "crash"
                    failures.append(f"{case.name}: malformed result: {problem}")
                elif case.must_reject:
                    outcome = "accepted"
                    failures.append(f"{case.name}: a {case.kind} input that cannot be valid was accepted")
            tally[(case.kind, outcome)] += 1
    finally:
        signal.signal(signal.SIGALRM, old)
    figures = {
        "inputs": len(cases),
        "crashes": sum(n for (_, o), n in tally.items() if o == "crash"),
        "hangs": sum(n for (_, o), n in tally.items() if o == "hang"),
        "wrongly_accepted": sum(n for (_, o), n in tally.items() if o == "accepted"),
        "rejected": sum(n for (_, o), n in tally.items() if o == "rejected"),
        "parsed": sum(n for (_, o), n in tally.items() if o == "parsed"),
        "slowest_seconds": round(slowest[0], 3),
        "slowest_input": slowest[1],
    }
    for key, value in figures.items():
        record_property(key, value)
    kinds = Counter()
    for (kind, _), n in tally.items():
        kinds[kind] += n
    print(f"bad-input corpus: {json.dumps(figures)}")
    print("  by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    return {"figures": figures, "failures": failures}


def test_corpus_is_deterministic() -> None:
    a = corpus(fixture_seeds(), seed=7)
    b = corpus(fixture_seeds(), seed=7)
    assert [(c.name, c.data) for c in a] == [(c.name, c.data) for c in b]
    assert [c.data for c in corpus(fixture_seeds(), seed=8)] != [c.data for c in a]
    kinds = {c.kind for c in a}
    assert {"truncate-boundary", "truncate-mid", "byte-flip", "delimiters", "missing-envelope"} <= kinds
    assert {"wrong-count", "bad-amount", "bad-date", "non-ascii", "binary", "empty"} <= kinds
    assert "other-transaction" in kinds


def test_parser_survives_the_quick_corpus(generated, record_property) -> None:
    """The fixtures cut at every boundary and mutated every way, one generated file sampled: ~1,300."""
    out, _truth = generated
    sample = [(p.name, p.read_bytes()) for p in sorted(out.glob("*.835"))[:1]]
    cases = corpus(fixture_seeds(), seed=835, every_boundary=True, flips=10)
    cases += corpus(sample, seed=835, every_boundary=False, flips=10)
    cases = list({c.name: c for c in cases}.values())
    result = run_corpus(cases, record_property)
    figures, failures = result["figures"], result["failures"]
    assert figures["inputs"] >= 1200, figures
    assert not failures, f"{figures}: " + "; ".join(failures[:20])


@pytest.mark.slow
def test_parser_survives_the_slow_corpus(generated, record_property) -> None:
    """Two generated files cut at every boundary, more flips, and the two 50 MB inputs: ~1,400."""
    out, _truth = generated
    seeds = [(p.name, p.read_bytes()) for p in sorted(out.glob("*.835"))[3:5]]
    cases = corpus(seeds, seed=1835, every_boundary=True, flips=30, huge=True)
    result = run_corpus(cases, record_property)
    figures, failures = result["figures"], result["failures"]
    assert figures["inputs"] >= 1300, figures  # (the count follows the generated files: 1,396 now)
    assert not failures, f"{figures}: " + "; ".join(failures[:20])


def _drop(inbox: Path, name: str, data: bytes) -> None:
    path = inbox / name
    path.write_bytes(data)
    past = time.time() - 60
    os.utime(path, (past, past))


def _sample(cases: list[Case], per_kind: int) -> list[Case]:
    """A few must-reject cases of each kind, spread over the corpus (deterministic)."""
    by_kind: dict[str, list[Case]] = {}
    for case in cases:
        if case.must_reject and len(case.data) < 1 << 20:
            by_kind.setdefault(case.kind, []).append(case)
    picked: list[Case] = []
    for _kind, group in sorted(by_kind.items()):
        step = max(1, len(group) // per_kind)
        picked += group[::step][:per_kind]
    return picked


def test_ingest_quarantines_every_bad_file_and_loads_every_good_one(generated, home: Home, record_property):
    out, truth = generated
    good = sorted(out.glob("*.835"))
    seeds = [(p.name, p.read_bytes()) for p in good[:3]] + fixture_seeds()[:3]
    bad = _sample(corpus(seeds, seed=99, every_boundary=False, flips=0), per_kind=5)
    for case in bad:
        _drop(home.inbox, case.name, case.data)
    # a zero-byte file may be an upload that has not written yet: it stays in the inbox (docs/lake.md)
    empty = [case for case in bad if not case.data]
    bad = [case for case in bad if case.data]
    for path in good:
        _drop(home.inbox, path.name, path.read_bytes())

    exe = Path(sys.executable).with_name("remit")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]
    done = subprocess.run(
        [*cmd, "--home", str(home.root), "ingest"], capture_output=True, text=True, timeout=600
    )

    record_property("ingest_bad_files", len(bad))
    record_property("ingest_good_files", len(good))
    print(f"mixed inbox: {len(bad)} bad files, {len(good)} good files: {done.stdout.strip()}")
    assert done.returncode == 3, done.stderr[-2000:]
    assert f"{len(good)} loaded, 0 resent, 0 duplicate, {len(bad)} rejected" in done.stdout
    assert all(case.name in done.stderr for case in bad)  # the command names every rejected file
    # every bad file sits in quarantine with a readable report; owner-only (raw remittances)
    assert (home.quarantine.stat().st_mode & 0o777) == 0o700
    for case in bad:
        raw = home.quarantine / case.name
        assert raw.read_bytes() == case.data
        assert (raw.stat().st_mode & 0o777) == 0o600
        report_path = Path(f"{raw}.error.json")
        assert (report_path.stat().st_mode & 0o777) == 0o600
        report = json.loads(report_path.read_text())
        assert report["file"] == case.name
        assert isinstance(report["message"], str) and len(report["message"]) > 5, report
        assert report["file_id"] and report["size"] == len(case.data)
    # nothing bad is left in the inbox but the empty files, nothing good either (moved to .processed)
    assert sorted(p.name for p in home.inbox.iterdir() if p.is_file()) == sorted(c.name for c in empty)

    con = duckdb.connect()
    register_views(con, home.lake)
    one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    assert one("SELECT count(*) FROM lake.claims") == truth["claims"]
    assert one("SELECT count(*) FROM lake.payments") == truth["transactions"]
    assert one("SELECT count(*) FROM lake.service_lines") == truth["lines"]
    assert one("SELECT sum(payment_amount) FROM lake.payments") == Decimal(truth["bpr02_total"])
    assert one("SELECT sum(paid_amount) FROM lake.claims") == Decimal(truth["clp04_total"])
    assert one("SELECT sum(charge_amount) FROM lake.claims") == Decimal(truth["clp03_total"])
    statuses = dict(con.execute("SELECT status, count(*) FROM lake.manifest GROUP BY 1").fetchall())
    assert statuses == {"loaded": len(good), "rejected": len(bad)}
