"""The benchmark package (``python -m pipeline.bench``, ``make bench``): one runner for every stage, which
stops on a missing stage module instead of skipping it, and prints every figure with its target and the
ratio. The stages themselves take minutes to hours, so the runner is tested with stand-in stages; the
real stage modules are only imported (each must be importable and have ``run``)."""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.bench import __main__ as runner
from pipeline.bench.figures import HIGHER, LOWER, Figure, table


def test_a_figure_prints_its_target_and_ratio() -> None:
    held = Figure("quality", "gate per million claims", 3.0, "s", 6.0, LOWER)
    assert (held.ratio, held.met) == (0.5, True)
    assert held.line() == "quality | gate per million claims: 3.00 s | target <= 6.00 s | ratio 0.50 | met"
    slow = Figure("parser", "parse_835", 80.0, "MB/s", 100.0, HIGHER)
    assert (slow.ratio, slow.met) == (0.8, False)
    assert slow.line().endswith("| target >= 100 MB/s | ratio 0.80 | MISSED")
    note = Figure("spark", "ingest, Spark / local", 0.25, "x", None, note="local 10 s")
    assert (note.ratio, note.met) == (None, None)
    assert note.line() == "spark | ingest, Spark / local: 0.25 x | no target (informational) | local 10 s"


def test_the_summary_counts_targets_met_and_missed() -> None:
    figures = [
        Figure("a", "one", 1.0, "s", 2.0),
        Figure("a", "two", 3.0, "s", 2.0),
        Figure("b", "three", 5.0, "x", None),
    ]
    assert table(figures).splitlines()[-1] == "1 of 2 targets met; missed: a two"


def test_every_stage_module_imports_and_has_run() -> None:
    modules = runner.load_stages(runner.STAGES)
    assert list(modules) == runner.STAGES
    assert {"synth", "parser", "lake", "quality", "warehouse", "report", "spark"} <= set(modules)
    assert all(callable(m.run) for m in modules.values())


def test_the_lake_and_spark_benchmarks_live_in_the_package() -> None:
    # issue 18: benchmarks lived in three places and the runner left two out
    assert importlib.util.find_spec("pipeline.lake.bench") is None
    assert importlib.util.find_spec("pipeline.engines.bench") is None
    assert importlib.util.find_spec("pipeline.bench.lake") is not None
    assert importlib.util.find_spec("pipeline.bench.spark") is not None


def test_a_missing_stage_module_stops_the_run_naming_it(capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        runner.load_stages(["synth", "no_such_stage"])
    assert stopped.value.code == 2
    assert "pipeline.bench.no_such_stage" in capsys.readouterr().err


@pytest.fixture
def stand_ins(monkeypatch):
    """Stand-in stages: one meeting its target, one missing it, one raising, one without run()."""

    def stage(name: str, run=None) -> None:
        module = types.ModuleType(f"pipeline.bench.{name}")
        if run is not None:
            module.run = run
        monkeypatch.setitem(sys.modules, f"pipeline.bench.{name}", module)

    def boom(workdir):
        raise RuntimeError("the workload could not be generated")

    stage("fast", lambda workdir: [Figure("fast", "seconds", 1.0, "s", 2.0)])
    stage("slow", lambda workdir: [Figure("slow", "seconds", 4.0, "s", 2.0)])
    stage("broken", boom)
    stage("hollow")
    monkeypatch.setattr(runner, "STAGES", ["fast", "slow", "broken", "hollow"])


def test_a_run_whose_targets_hold_exits_0(stand_ins, tmp_path, capsys) -> None:
    assert runner.main(["--workdir", str(tmp_path), "--only", "fast"]) == 0
    out = capsys.readouterr().out
    assert "fast | seconds: 1.00 s | target <= 2.00 s | ratio 0.50 | met" in out
    assert "load average" in out and out.rstrip().endswith("1 of 1 targets met")


def test_a_missed_target_or_a_failed_stage_exits_1(stand_ins, tmp_path, capsys) -> None:
    assert runner.main(["--workdir", str(tmp_path), "--only", "fast", "slow"]) == 1
    assert "ratio 2.00 | MISSED" in capsys.readouterr().out
    assert runner.main(["--workdir", str(tmp_path), "--only", "broken", "fast"]) == 1
    captured = capsys.readouterr()
    assert "stage broken FAILED" in captured.out and "could not be generated" in captured.err
    assert "fast | seconds" in captured.out  # the other stages still run and print


def test_the_baseline_goes_only_to_stages_that_take_it(stand_ins, monkeypatch, tmp_path, capsys) -> None:
    seen: list[str] = []

    def compare(workdir, baseline_remit=None, baseline_parser=None):
        seen.append(baseline_remit)
        seen.append(baseline_parser)
        return [Figure("compare", "ratio", 0.9, "x", 1.0)]

    module = types.ModuleType("pipeline.bench.compare")
    module.run = compare
    monkeypatch.setitem(sys.modules, "pipeline.bench.compare", module)
    monkeypatch.setattr(runner, "STAGES", [*runner.STAGES, "compare"])
    args = ["--workdir", str(tmp_path), "--only", "fast", "compare", "--baseline-remit", "/old/remit"]
    assert runner.main(args) == 0  # "fast" takes no baseline and still runs
    assert seen == ["/old/remit", "1bc1354"]  # the parser's baseline by default: the parser before issue 15
    assert "compare | ratio: 0.90 x | target <= 1.00 x | ratio 0.90 | met" in capsys.readouterr().out


def test_a_stage_without_run_stops_the_run_before_anything_runs(stand_ins, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        runner.main(["--workdir", str(tmp_path), "--only", "fast", "hollow"])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert "pipeline.bench.hollow (it has no run(workdir) function)" in captured.err
    assert "fast | seconds" not in captured.out


@pytest.mark.slow
def test_the_gate_stage_on_a_small_workload(tmp_path, monkeypatch) -> None:
    """The quality stage ingests a generated workload through the gate, as remit run does; its figure is
    the time the gate held the ingest plus the Data Docs, per million claims."""
    from pipeline.bench import quality
    from pipeline.synth import generate

    synth = tmp_path / "synth"
    generate(synth, claims=400, files=4, seed=835, start="2025-01", months=12)
    got = quality.measure(tmp_path, synth, wait_for_quiet=False)
    assert (got["claims"], got["files"], got["batches"]) == (400, 4, 1)
    assert got["per_million_s"] == pytest.approx((got["gate_phase_s"] + got["docs_s"]) / 400 * 1e6)
    monkeypatch.setattr(quality, "measure", lambda workdir: got)  # the figures of that one ingest
    figures = quality.run(tmp_path)
    assert figures[0].value == got["per_million_s"]
    assert [f.name for f in figures][0] == "gate (held the ingest + Data Docs) per million claims"
    assert figures[0].target == quality.TARGET_SECONDS_PER_MILLION


def test_the_parser_baseline_is_a_python_or_a_revision(tmp_path) -> None:
    from pipeline.bench import parser as stage

    command, env = stage.baseline_command(sys.executable, tmp_path)
    assert command == [sys.executable] and "PYTHONPATH" not in env
    command, env = stage.baseline_command("HEAD", tmp_path)  # this repository's own last commit
    assert command == [sys.executable]
    assert env["PYTHONPATH"] == str(tmp_path.resolve() / "baseline-HEAD")
    assert (tmp_path / "baseline-HEAD" / "pipeline" / "x12" / "parser.py").is_file()
    with pytest.raises(RuntimeError, match="neither a Python executable nor a revision"):
        stage.baseline_command("no-such-revision-15", tmp_path)


def test_the_parser_comparison_alternates_two_processes_on_one_file(tmp_path, capsys) -> None:
    """Both sides are this checkout here (the baseline given as this Python): the protocol, the totals
    check and the figures, not a speed."""
    from pipeline.bench import parser as stage

    path = tmp_path / "era.835"
    path.write_bytes((Path(__file__).parent / "fixtures" / "835" / "remarks.835").read_bytes())
    got = stage.compare_parsers(path, sys.executable, tmp_path, rounds=2)
    assert got["rounds"] == 2 and got["mb"] == path.stat().st_size / 1e6
    for side in ("baseline", "ours"):
        assert len(got[side]["cpu"]) == len(got[side]["wall"]) == 2
        assert got[side]["cpu"] == sorted(got[side]["cpu"]) and got[side]["cpu"][0] > 0
        assert got[side]["package"].endswith(str(Path("pipeline", "x12", "__init__.py")))
    figures = stage.baseline_figures(got, "1bc1354")
    assert [(f.unit, f.target) for f in figures] == [("x", 1.0), ("x", 1.0), ("MB/s", None), ("MB/s", None)]
    assert figures[0].value == pytest.approx(got["baseline"]["cpu"][0] / got["ours"]["cpu"][0])
    assert "load average" in figures[0].note
    assert "parse_835 ours / baseline 1bc1354" in capsys.readouterr().out


def test_the_whole_parse_process_is_measured_with_its_process_tree(tmp_path) -> None:
    from pipeline.bench import parser as stage

    fixture = Path(__file__).parent / "fixtures" / "835" / "reversal.835"
    got = stage.remit_parse_runs([fixture, fixture], fixture, [fixture.read_bytes()] * 2, tmp_path, rounds=1)
    assert set(got) == {"parse", "parse_cpu", "parse_rss", "startup", "startup_cpu", "split", "full"}
    assert all(len(v) == 1 for v in got.values())
    # a Python process with pyarrow and numba loaded holds well over 50 MB, and it used CPU to start
    assert got["parse_rss"][0] > 50e6 and got["parse_cpu"][0] > 0.1 and got["startup_cpu"][0] > 0.1
    figures, line = stage.whole_process_figures("one file", 1.0, got)
    assert "peak RSS" in line and figures[0].target == 3.5
    assert [f.name for f in figures][-1] == "remit parse start-up (0.3 MB file)"


def test_the_full_tally_reads_the_whole_file(tmp_path) -> None:
    """The tally of the whole file (every element and component split, the amounts of four segments
    summed) agrees with the generator's truth and with remit's parser on the same file."""
    import json

    import pyarrow.compute as pc

    from pipeline.bench.parser import full_split_tally, split_tally
    from pipeline.synth import generate
    from pipeline.x12 import parse_835

    generate(tmp_path, claims=300, files=1, months=1, seed=18)
    path = next(tmp_path.glob("*.835"))
    truth = json.loads((tmp_path / "truth.json").read_text())
    data = path.read_bytes()
    got = full_split_tally(data)
    assert got["claims"] == truth["claims"] == split_tally(data)["claims"]
    assert got["clp04"] == Decimal(truth["clp04_total"]) == split_tally(data)["clp04"]
    r = parse_835(data, path.name)
    assert got["segments"]["CLP"] == r.claims.num_rows and got["segments"]["SVC"] == r.service_lines.num_rows
    assert got["sums"]["cas"] == pc.sum(r.adjustments["amount"]).as_py()
    assert got["sums"]["svc02"] == pc.sum(r.service_lines["charge_amount"]).as_py()


def test_the_tree_peak_keeps_a_childs_peak_that_a_poll_no_longer_sees():
    """``_tree_rss`` gives the tree's RSS now and the largest peak of one of its processes (VmHWM): a
    child that held 200 MB and freed it still counts 200 MB, where the sum of RSS now does not."""
    import subprocess
    import sys
    import time

    from pipeline.bench.warehouse import _tree_rss

    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "b = bytearray(200 << 20); del b; print('freed', flush=True); import time; time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "freed"
        time.sleep(0.1)
        me = os.getpid()
        now, largest = _tree_rss(me)
        assert largest >= 200 << 20
        assert now < (200 << 20) + _own_rss()
    finally:
        child.kill()
        child.wait()


def _own_rss() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmRSS:"))
