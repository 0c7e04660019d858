"""The installed ``remit`` command as cron runs it: bare environment, JSON logs, umask 022, a new home.

Issue 16, items 12, 14, 19 and 20, and the command-line trials. Every test runs ``.venv/bin/remit`` (the
console script the cron and systemd examples call) under ``env -i``-like environments.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.synth import generate

REMIT = Path(sys.executable).parent / "remit"
DOCS = Path(__file__).resolve().parents[1] / "docs"


def remit(
    *args: str, cwd: Path, env: dict[str, str] | None = None, umask: int | None = None, home_env: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the installed command with only PATH (and HOME) set, as cron does."""
    base = {"PATH": "/usr/bin:/bin"}
    if home_env:
        base["HOME"] = str(cwd)
    return subprocess.run(
        [str(REMIT), *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,  # cron: no terminal
        timeout=600,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
    )


def json_lines(text: str) -> list[dict]:
    records = []
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(records[-1], dict), line
    return records


@pytest.fixture(scope="module")
def tiny_inbox(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate(out, claims=30, files=2, seed=16)
    return out


def test_json_run_is_pure_json_and_leaves_nothing_world_readable(tiny_inbox: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    for path in sorted(tiny_inbox.glob("*.835")):
        (home / "inbox" / path.name).write_bytes(path.read_bytes())
    os.chmod(home / "inbox", 0o750)
    os.chmod(home, 0o755)  # created earlier under a lax umask: remit takes world access away
    for path in (home / "inbox").iterdir():
        os.chmod(path, 0o640)
    proc = remit(
        "--home",
        str(home),
        "--log-format",
        "json",
        "run",
        cwd=tmp_path,
        env={"REMIT_INBOX_SETTLE_SECONDS": "0"},
        umask=0o022,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # item 19: stdout and stderr hold JSON objects only (the summary too), nothing from the report kernel
    out, err = json_lines(proc.stdout), json_lines(proc.stderr)
    assert len(out) == 1 and out[0]["exit_code"] == 0 and "2 loaded" in out[0]["summary"]
    assert any(r["message"].startswith("nightly run finished") for r in err)
    # UTC to the millisecond (the night's steps are often less than a second apart)
    stamps = [r["ts"] for r in err]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ts) for ts in stamps), stamps[:3]
    assert (home / "warehouse.duckdb").is_file() and list((home / "reports").glob("remit-report-*.html"))
    # item 12: with umask 022 nothing under the home is open to other users
    open_to_world = [str(p.relative_to(home)) for p in [home, *home.rglob("*")] if p.lstat().st_mode & 0o007]
    assert open_to_world == []


def test_first_run_on_an_empty_home_says_how_to_start(tmp_path: Path) -> None:
    home = tmp_path / "new-home"
    proc = remit("--home", str(home), "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "CRITICAL" not in proc.stdout + proc.stderr
    assert f"the inbox {home}/inbox is empty and no file is loaded yet" in proc.stderr
    assert f"put 835 files into {home}/inbox/" in proc.stdout
    assert "nothing to build yet (exit 0)" in proc.stdout
    assert not (home / "warehouse.duckdb").exists()


def test_parse_without_a_home_creates_none(tiny_inbox: Path, tmp_path: Path) -> None:
    files = [str(p) for p in sorted(tiny_inbox.glob("*.835"))]
    first = remit("parse", *files, "--out", str(tmp_path / "a"), cwd=tmp_path)
    second = remit("parse", *files, "--out", str(tmp_path / "b"), cwd=tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]  # no ./remit-data, no patient-key.secret
    assert "one-time key" in first.stderr

    def keys(folder: str) -> list[str]:
        return pq.read_table(tmp_path / folder / "claims.parquet").column("patient_key").to_pylist()

    # a one-time key per run: the same patients get other keys in another run
    assert keys("a") != keys("b") and len(set(keys("a"))) > 1
    # an existing home's key is used, and not changed: two runs agree
    home = tmp_path / "home"
    home.mkdir()
    (home / "patient-key.secret").write_text("ab" * 32)
    third = remit("--home", str(home), "parse", *files, "--out", str(tmp_path / "c"), cwd=tmp_path)
    fourth = remit("--home", str(home), "parse", *files, "--out", str(tmp_path / "d"), cwd=tmp_path)
    assert third.returncode == fourth.returncode == 0 and "one-time key" not in third.stderr
    assert keys("c") == keys("d") and keys("c") != keys("a")
    assert sorted(os.listdir(home)) == ["patient-key.secret"]


def test_no_arguments_prints_usage_and_exits_1(tmp_path: Path) -> None:
    proc = remit(cwd=tmp_path)
    assert proc.returncode == 1
    assert "Usage: remit" in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


def test_a_malformed_setting_in_json_mode_is_one_json_error(tmp_path: Path) -> None:
    proc = remit(
        "--home", str(tmp_path / "h"), "--log-format", "json", "ingest",
        cwd=tmp_path, env={"REMIT_MAX_FILE_BYTES": "1e400"},
    )  # fmt: skip
    assert proc.returncode == 1 and proc.stdout == ""
    (record,) = json_lines(proc.stderr)
    assert record["level"] == "error"
    assert (
        "REMIT_MAX_FILE_BYTES='1e400' is not a valid setting: expected a whole number of bytes"
        in (record["message"])
    )


def test_a_usage_error_in_json_mode_is_json_too(tmp_path: Path) -> None:
    proc = remit(
        "--home", str(tmp_path / "h"), "--log-format", "json", "ingest", "--workers", "0", cwd=tmp_path
    )
    assert proc.returncode == 1
    (record,) = json_lines(proc.stderr)
    assert "--workers" in record["message"]


def test_without_home_variable_as_under_cron(tmp_path: Path) -> None:
    proc = remit("--home", str(tmp_path / "h"), "run", cwd=tmp_path, home_env=False)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to build" in proc.stdout


def test_cron_and_systemd_examples_are_safe() -> None:
    text = (DOCS / "nightly.md").read_text()
    cron = [line for line in text.splitlines() if re.match(r"^\d+ \d+ \* \* \*", line)]
    assert cron, "no cron line in docs/nightly.md"
    for line in cron:
        assert "umask 027" in line  # no access for other users, read access for the analysts' group
        assert "|| " in line  # alerts when the run exits non-zero
    assert "UMask=0027" in text and "UMask=0077" in text


def test_report_kernel_output_does_not_reach_the_runs_stderr() -> None:
    """The kernel's stderr (where ipykernel prints ``[IPKernelApp] WARNING``) is a file, not ours."""
    import asyncio

    from pipeline.reports.render import kernel_manager

    async def kernel_stderr() -> str:
        with kernel_manager() as km:
            await km.start_kernel()
            try:
                return os.readlink(f"/proc/{km.provisioner.pid}/fd/2")
            finally:
                await km.shutdown_kernel(now=True)

    target = asyncio.run(kernel_stderr())
    assert target.endswith("kernel-output.txt"), target


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``code`` in a new interpreter whose standard output is buffered, as under cron."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


def test_the_command_ends_without_teardown_but_runs_exit_handlers_and_keeps_its_code(tmp_path: Path) -> None:
    """``remit`` ends with ``os._exit`` (the interpreter's teardown cost 1.5 s a night): the exit handlers
    still run, buffered output still arrives, and the exit code is the command's."""
    proc = _python(
        "import atexit, pathlib, sys\n"
        "from pipeline.cli import _exit\n"
        "atexit.register(lambda: pathlib.Path('handler-ran').write_text('yes'))\n"
        "sys.stdout.write('buffered, not yet flushed')\n"
        "_exit(3)\n",
        tmp_path,
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "buffered, not yet flushed"
    assert (tmp_path / "handler-ran").read_text() == "yes"


def test_the_command_waits_for_a_thread_still_running_at_exit(tmp_path: Path) -> None:
    proc = _python(
        "import pathlib, threading, time\n"
        "from pipeline.cli import _exit\n"
        "def late():\n"
        "    time.sleep(0.5)\n"
        "    pathlib.Path('thread-done').write_text('yes')\n"
        "threading.Thread(target=late).start()\n"
        "_exit(0)\n",
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "thread-done").read_text() == "yes"


def test_a_reader_closing_the_pipe_early_gives_the_interpreters_code_not_a_traceback(tmp_path: Path) -> None:
    proc = _python(
        "import os, sys\n"
        "from pipeline.cli import _exit\n"
        "r, w = os.pipe()\n"
        "os.close(r)\n"
        "os.dup2(w, 1)\n"
        "sys.stdout.write('summary')  # buffered: the pipe is found closed at the flush\n"
        "_exit(0)\n",
        tmp_path,
    )
    assert proc.returncode == 120
    assert "Traceback" not in proc.stderr
