"""Resources: files over ``REMIT_MAX_FILE_BYTES`` are refused unread; big files load in bounded memory.

The parser takes a file's bytes whole (``parse_835_chunks`` needs ``bytes``: an ``mmap`` or
``memoryview`` is refused), so an ingest worker holds the whole file next to one chunk's tables. The lake
therefore refuses (quarantines, with the reason) any file larger than ``REMIT_MAX_FILE_BYTES`` (default
1 GiB) without reading it into memory. Peak resident memory is measured with ``wait4`` on a fresh
``remit ingest`` process (its parser workers included).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.home import Home
from pipeline.lake import ingest
from pipeline.lake.loader import MAX_FILE_BYTES


def _drop(path: Path, data: bytes | None = None) -> None:
    if data is not None:
        path.write_bytes(data)
    past = time.time() - 60
    os.utime(path, (past, past))


def test_files_over_the_limit_are_quarantined_unread(home: Home, tmp_path: Path, monkeypatch) -> None:
    from pipeline.synth import generate

    out = tmp_path / "synth"
    generate(out, claims=240, files=8, seed=77, months=2)
    sizes = {p.name: p.stat().st_size for p in out.glob("*.835")}
    limit = sorted(sizes.values())[len(sizes) // 2]  # half the files are larger than this
    for path in out.glob("*.835"):
        _drop(home.inbox / path.name, path.read_bytes())
    monkeypatch.setenv("REMIT_MAX_FILE_BYTES", str(limit))

    result = ingest(home, workers=1, settle_seconds=0)

    too_big = sorted(n for n, s in sizes.items() if s > limit)
    assert too_big and len(too_big) < len(sizes)
    assert sorted(result.loaded) == sorted(n for n, s in sizes.items() if s <= limit)
    assert sorted(n for n, _ in result.rejected) == too_big
    for name in too_big:
        report = json.loads((home.quarantine / f"{name}.error.json").read_text())
        assert "REMIT_MAX_FILE_BYTES" in report["message"] and f"{sizes[name]:,} bytes" in report["message"]
        assert (home.quarantine / name).stat().st_size == sizes[name]

    # raising the limit lets the same bytes in on the next night (the quarantined copy stays)
    monkeypatch.setenv("REMIT_MAX_FILE_BYTES", "1e9")
    for name in too_big:
        _drop(home.inbox / name, (out / name).read_bytes())
    assert sorted(ingest(home, workers=1, settle_seconds=0).loaded) == too_big


def test_a_malformed_limit_is_a_fatal_error(home: Home, monkeypatch) -> None:
    monkeypatch.setenv("REMIT_MAX_FILE_BYTES", "one gigabyte")
    with pytest.raises(ValueError, match="REMIT_MAX_FILE_BYTES"):
        ingest(home, workers=1, settle_seconds=0)


# Measures from a small launcher process: ru_maxrss after fork + exec starts at the forking process's
# high-water mark, so measuring straight from pytest (hundreds of MB by now) would report pytest's size.
LAUNCHER = r"""
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
output = proc.stdout.read().decode(errors="replace")
_, status, usage = os.wait4(proc.pid, 0)  # ru_maxrss covers the reaped parser workers too (kB on Linux)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "output": output, "kb": usage.ru_maxrss}))
"""


def run_measured(home: Home, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    """Run ``remit`` and return (exit code, output, peak RSS in MB of it and its parser workers)."""
    exe = Path(sys.executable).with_name("remit")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *cmd, "--home", str(home.root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    return result["code"], result["output"], result["kb"] / 1024


@pytest.mark.slow
def test_a_2gb_file_is_refused_without_reading_it_into_memory(home: Home) -> None:
    big = home.inbox / "huge.835"
    with open(big, "wb") as fh:  # sparse: 2 GiB that take no disk space, starting like an 835
        fh.write(b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *")
        fh.truncate(2 << 30)
    _drop(big)
    assert big.stat().st_size > MAX_FILE_BYTES

    code, output, peak_mb = run_measured(home, "ingest")

    print(f"2 GiB inbox file: exit {code}, peak RSS {peak_mb:.0f} MB")
    assert code == 3, output
    assert "1 rejected" in output
    report = json.loads((home.quarantine / "huge.835.error.json").read_text())
    assert "file too large" in report["message"] and "REMIT_MAX_FILE_BYTES" in report["message"]
    assert peak_mb < 600, f"peak RSS {peak_mb:.0f} MB: the file was read into memory"


@pytest.mark.slow
def test_a_big_file_loads_in_bounded_memory(home: Home, tmp_path: Path, record_property) -> None:
    """A ~45 MB single-file night (parsed in chunks): every claim loads, memory stays bounded."""
    from pipeline.synth import generate

    out = tmp_path / "big"
    truth = generate(out, claims=90_000, files=1, seed=13, months=2)
    (src,) = out.glob("*.835")
    size_mb = src.stat().st_size / (1 << 20)
    os.link(src, home.inbox / src.name)
    _drop(home.inbox / src.name)

    t0 = time.perf_counter()
    code, output, peak_mb = run_measured(home, "ingest")
    seconds = time.perf_counter() - t0

    record_property("big_file_mb", round(size_mb, 1))
    record_property("big_file_peak_rss_mb", round(peak_mb))
    print(f"{size_mb:.0f} MB file: exit {code} in {seconds:.0f}s, peak RSS {peak_mb:.0f} MB")
    assert code == 0, output
    assert f"{truth['claims']} claims" in output
    # measured 737-800 MB here (interpreter, Arrow, the file and the pieces in flight); 841 MB for 122 MB
    assert peak_mb < 1024 + 3 * size_mb, f"peak RSS {peak_mb:.0f} MB for a {size_mb:.0f} MB file"
