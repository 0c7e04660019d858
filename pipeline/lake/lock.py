"""One run at a time: an exclusive ``fcntl.flock`` on ``<home>/.lock`` held for the whole run."""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.home import Home

LOCK_NAME = ".lock"

# Locks this process already holds, by path, with a depth count: ``remit run`` takes the lock and then
# calls ``ingest``, which takes it again. flock locks belong to an open file description, so a second
# ``open`` + ``flock`` in the same process would conflict with the first; re-entry is counted instead.
_held: dict[str, list[int]] = {}
_guard = threading.Lock()


class LockedError(RuntimeError):
    """Another remit run holds the home's lock; this run changed nothing."""


def _describe_holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return ""
    return f" (held by {text})" if text else ""


@contextmanager
def run_lock(home: Home) -> Iterator[Path]:
    """Hold the exclusive run lock of ``home`` for the duration of the ``with`` block.

    Raises :class:`LockedError` at once (never waits) when another process holds it. The lock is
    released by the kernel when the process ends, however it ends (also after SIGKILL), so a stale
    lock file never blocks the next night. Re-entrant within one process.
    """
    home.root.mkdir(parents=True, exist_ok=True)
    path = home.root / LOCK_NAME
    key = str(path)
    with _guard:
        if key in _held:
            _held[key][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield path
        finally:
            with _guard:
                _held[key][1] -= 1
        return

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise LockedError(
                f"another remit run is in progress on {home.root}{_describe_holder(path)}; "
                f"lock file {path}. Nothing was done; try again when it has finished."
            ) from None
        raise
    # Who holds it, for the message a second run prints; informational only (the flock is the lock).
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
    with _guard:
        _held[key] = [fd, 1]
    try:
        yield path
    finally:
        with _guard:
            _held.pop(key, None)
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor releases the flock
