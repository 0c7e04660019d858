"""Headless Chromium for tests, driven over the DevTools protocol on a pipe (no Python dependency).

``chromium_path()`` runs ``scripts/chromium.sh`` (which reuses an installed Chromium or extracts Debian's
package into ``.tools/``); :class:`Browser` starts it with ``--remote-debugging-pipe`` and speaks the
protocol's JSON messages (NUL-terminated, fd 3 in, fd 4 out) from the standard library alone:

    with Browser(chromium_path()) as b:
        b.open(url, width=1400)
        b.eval("document.title")
        b.type_text("#q", "CO-289")
        png = b.screenshot()
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "chromium.sh"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a container's /dev/shm may be small or closed to the user
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)


def chromium_path() -> str:
    """The Chromium to test with (``scripts/chromium.sh``); fail under CI=true, else skip, when none can
    be had."""
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=900)
    path = proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 and proc.stdout.strip() else ""
    if not path:
        why = f"scripts/chromium.sh could not provide Chromium: {proc.stderr.strip()[-600:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    return path


def _high(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or above (the original is closed)."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


class BrowserError(RuntimeError):
    """The browser answered a command with an error, died, or did not answer in time."""


class Browser:
    """One headless Chromium with one page, for the length of a ``with`` block."""

    def __init__(self, executable: str, timeout: float = 30.0):
        self.executable = executable
        self.timeout = timeout
        self._next = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self.session: str | None = None

    def __enter__(self) -> Browser:
        self._profile = tempfile.TemporaryDirectory(prefix="remit-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # the browser's ends above fd 10, so that the shell's redirections to 3 and 4 cannot clobber them
        to_browser_r, from_browser_w = (_high(fd) for fd in (to_browser_r, from_browser_w))
        # the browser reads commands on fd 3 and writes answers on fd 4
        shell = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self._proc = subprocess.Popen(
            ["bash", "-c", shell, self.executable, *FLAGS, f"--user-data-dir={self._profile.name}"],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send(
            "Target.attachToTarget", {"targetId": target, "flatten": True}, session=False
        )["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(BrowserError, OSError):  # already gone
            self.send("Browser.close", session=False)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)
        self._profile.cleanup()

    # ------------------------------------------------------------------------------------ protocol

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("no answer from the browser in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError(f"the browser closed the pipe (exit code {self._proc.poll()})")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict[str, Any] | None = None, session: bool = True) -> dict[str, Any]:
        """Send one command (to the page's session unless ``session`` is False) and return its result."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            got = self._read_message(deadline)
            if got.get("id") == self._next:
                if "error" in got:
                    raise BrowserError(f"{method}: {got['error']}")
                return got.get("result", {})
            if "method" in got:
                self._events.append(got)

    def wait_for(self, event: str) -> dict[str, Any]:
        """The next event named ``event`` (already received ones first)."""
        deadline = time.monotonic() + self.timeout
        while True:
            for i, got in enumerate(self._events):
                if got["method"] == event:
                    return self._events.pop(i)
            got = self._read_message(deadline)
            if "method" in got:
                self._events.append(got)

    # ---------------------------------------------------------------------------------------- page

    def open(self, url: str, width: int = 1400, height: int = 900) -> None:
        """Load ``url`` in a viewport of ``width`` x ``height`` CSS pixels and wait for its load event."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        self._events = [e for e in self._events if e["method"] != "Page.loadEventFired"]
        got = self.send("Page.navigate", {"url": url})
        if "errorText" in got:
            raise BrowserError(f"{url}: {got['errorText']}")
        if got.get("loaderId"):  # none for a move within the same document (only the #fragment changed)
            self.wait_for("Page.loadEventFired")

    def eval(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        got = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in got:
            raise BrowserError(f"{expression[:80]}: {got['exceptionDetails']}")
        return got["result"].get("value")

    def type_text(self, selector: str, text: str) -> None:
        """Focus ``selector``, clear it, and type ``text`` as keyboard input (input events fire)."""
        self.eval(
            f"(() => {{const e = document.querySelector({json.dumps(selector)}); e.focus(); e.select();}})()"
        )
        self.send("Input.insertText", {"text": text})

    def press_enter(self) -> None:
        """Press and release Enter in the focused element."""
        for kind in ("keyDown", "keyUp"):
            self.send(
                "Input.dispatchKeyEvent",
                {"type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"},
            )

    def screenshot(self, full_page: bool = True) -> bytes:
        """A PNG of the page (the whole page when ``full_page``)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        return base64.b64decode(self.send("Page.captureScreenshot", params)["data"])
