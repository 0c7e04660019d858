"""Logging for people and for schedulers, and progress that suits both.

Human-readable lines by default; ``--log-format json`` writes one JSON object per line (for cron,
systemd's journal or a log shipper). Long work shows a progress bar on a terminal and plain log lines
(every 10 %) otherwise.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
LOGGER_NAME = "remit"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with any ``extra={"fields": {...}}`` merged in."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            # milliseconds: a night's steps are often less than a second apart
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            payload.update(fields)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def json_line(message: str, *, level: str = "info", **fields: object) -> str:
    """One JSON log line (the ``--log-format json`` shape) for ``message`` and ``fields``."""
    record = logging.LogRecord(LOGGER_NAME, logging.getLevelName(level.upper()), "", 0, message, None, None)
    record.fields = fields
    return JsonFormatter().format(record)


def is_json() -> bool:
    """Whether the ``remit`` logger writes JSON lines (``--log-format json``)."""
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger(LOGGER_NAME).handlers)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not the stream of the moment it was
    set up (a caller that swaps stderr, such as a test's capture, must not leave the logger on a closed
    stream)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # noqa: D102 - StreamHandler's attribute, resolved at each write
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(fmt: str = "human", level: int = logging.INFO) -> logging.Logger:
    """Configure the ``remit`` logger to write to stderr in ``human`` or ``json`` format."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    handler = _StderrHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def get_logger(name: str | None = None) -> logging.Logger:
    """Return the ``remit`` logger or one of its children."""
    return logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name}")


def progress(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """Yield ``items``, showing a bar on a terminal and a log line every 10 % otherwise."""
    logger = get_logger()
    if sys.stderr.isatty() and not is_json() and total > 1:
        import click

        with click.progressbar(items, length=total, label=label, file=sys.stderr) as bar:
            yield from bar
        return
    step = max(1, total // 10)
    for done, item in enumerate(items, start=1):
        yield item
        if total > 1 and (done % step == 0 or done == total):
            logger.info("%s: %d/%d", label, done, total, extra={"fields": {"done": done, "total": total}})


@contextmanager
def timed(logger: logging.Logger, what: str) -> Iterator[None]:
    """Log on ``logger`` (debug, shown with ``remit -v``) how long the block took, wall and CPU (the CPU
    of every thread: on a shared machine the wall clock also measures the neighbours)."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    yield
    logger.debug("%s in %.2fs (CPU %.2fs)", what, time.perf_counter() - t0, time.process_time() - cpu0)
