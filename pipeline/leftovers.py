"""What a run killed outright leaves behind, and how the next run finds and removes it.

A run stopped by SIGKILL (an operator's ``kill -9``, systemd's stop timeout, the OOM killer of a whole
cgroup) runs no clean-up: the report kernel's folder stays in the temporary directory
(``pipeline.reports.render``), and the named semaphores of a process pool stay in ``/dev/shm``
(multiprocessing's resource tracker, which would remove them, is killed with its group). Each such
leftover is named after the process that made it (``remit-kernel-<pid>-…``, ``sem.remit-<pid>-…``), so a
later run removes those of processes no longer running, and only its own user's.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# POSIX named semaphores are files in /dev/shm on Linux (glibc: "sem." + the name without its slash)
SEMAPHORE_DIR = Path("/dev/shm")
SEMAPHORE_PREFIX = "remit-"


def running(pid: int) -> bool:
    """Whether process ``pid`` exists (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_runs(folder: Path, prefix: str, kind: Callable[[Path], bool]) -> Iterator[Path]:
    """Entries of ``folder`` named ``<prefix><pid>-…``, of ``kind`` (not a symlink), owned by this user,
    whose process is no longer running (never this process's own)."""
    for path in folder.glob(f"{prefix}*"):
        pid, named, _ = path.name[len(prefix) :].partition("-")
        if not (named and pid.isdigit()) or int(pid) == os.getpid():
            continue
        try:
            ours = kind(path) and not path.is_symlink() and path.stat().st_uid == os.getuid()
        except OSError:
            continue
        if ours and not running(int(pid)):
            yield path


def remove_dead_semaphores() -> list[Path]:
    """Remove the process pools' named semaphores (``/dev/shm/sem.remit-<pid>-…``, ours) of processes no
    longer running; return them. Nothing happens where named semaphores are not files (not Linux)."""
    if not SEMAPHORE_DIR.is_dir():
        return []
    removed = []
    for path in dead_runs(SEMAPHORE_DIR, f"sem.{SEMAPHORE_PREFIX}", Path.is_file):
        try:
            path.unlink()  # what sem_unlink does with glibc
        except OSError:
            continue
        removed.append(path)
    return removed


@contextmanager
def _semaphores_named_after_this_process() -> Iterator[None]:
    # multiprocessing names a semaphore "<semprefix>-<random>" (semprefix "/mp" by default, kept in the
    # process's private config since Python 3.4); the pool's are made in its constructor
    config: dict[str, Any] = multiprocessing.current_process()._config  # noqa: SLF001
    before = config.get("semprefix")
    config["semprefix"] = f"/{SEMAPHORE_PREFIX}{os.getpid()}"
    try:
        yield
    finally:
        if before is None:
            config.pop("semprefix", None)
        else:
            config["semprefix"] = before


def spawn_pool(workers: int, initializer: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    """A process pool of ``workers`` spawned interpreters (not forked: the caller may hold threads, and a
    forked child of a threaded process can hang), whose semaphores a later run removes if this one is
    killed with its pool (``remove_dead_semaphores``, called here first)."""
    remove_dead_semaphores()
    with _semaphores_named_after_this_process():
        return ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=initializer
        )
