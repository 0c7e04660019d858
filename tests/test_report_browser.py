"""The leadership report as a reader sees it: headless Chromium (Debian's package) at 1400 and 800 px.

A year of generated remittances with several payers is built and reported; each width loads the page with
a few lines of script appended (in a copy: the report itself has none) that measure, after layout, what a
screenshot would show: the page is no wider than the window, no table or chart reaches past its right
edge, and no chart has more than eight legend entries. The screenshots are kept in the test's folder.

Chromium comes from ``$CHROMIUM``, ``scripts/chromium.sh`` (which installs Debian's package into
``.tools/`` without root), or ``chromium`` on PATH; with none, the test fails under CI and is skipped
elsewhere. Marked slow: it runs in CI with the slow suite.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_generated

from pipeline.reports import render_report

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
)
# measured in the page after layout; the result is written into an attribute that --dump-dom prints
MEASURE = """
<script>
(function () {
  const width = window.innerWidth, out = {innerWidth: width,
    scrollWidth: document.documentElement.scrollWidth, wide: [], legends: [], charts: 0};
  for (const el of document.querySelectorAll('table, figure.chart svg, .kpis, p.reading')) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 0.5 || el.scrollWidth > el.clientWidth + 1 && el.tagName === 'TABLE') {
      out.wide.push(el.tagName + ':' + (el.querySelector('caption') || el).textContent.slice(0, 60) +
        ' right=' + Math.round(r.right));
    }
  }
  for (const svg of document.querySelectorAll('figure.chart svg')) {
    out.charts += 1;
    out.legends.push(svg.querySelectorAll('.role-legend-label text').length);
  }
  document.body.setAttribute('data-measure', JSON.stringify(out));
})();
</script>
"""


def chromium() -> str:
    """A headless-capable Chromium, or skip (fail under CI) saying why there is none."""
    candidates = [os.environ.get("CHROMIUM", "")]
    script = REPO / "scripts" / "chromium.sh"
    if script.is_file():
        got = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900)
        candidates.append(
            got.stdout.strip().splitlines()[-1] if got.returncode == 0 and got.stdout.strip() else ""
        )
    candidates.append(shutil.which("chromium") or "")
    for path in candidates:
        if (
            path
            and subprocess.run([path, *FLAGS, "--version"], capture_output=True, timeout=60).returncode == 0
        ):
            return path
    why = "no headless Chromium (set CHROMIUM, add scripts/chromium.sh, or install Debian's chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


def run(browser: str, profile: Path, width: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},1000", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The default report of a generated year with several payers a month."""
    root = tmp_path_factory.mktemp("browser")
    home, _out, result = run_generated(root, claims=600, files=36, seed=20261, start="2025-01", months=12)
    assert result.exit_code == 0
    return render_report(home)


@pytest.mark.parametrize("width", [1400, 800])
def test_report_fits_the_window_and_charts_read_at_a_glance(report, width, tmp_path):
    browser = chromium()
    page = report.read_text(encoding="utf-8")
    probe = tmp_path / f"measure-{width}.html"
    probe.write_text(page.replace("</body>", MEASURE + "</body>", 1), encoding="utf-8")
    got = run(browser, tmp_path / "profile", width, "--dump-dom", probe.as_uri())
    found = re.search(r'data-measure="([^"]*)"', got.stdout)
    assert found, got.stderr[-2000:]
    m = json.loads(html.unescape(found.group(1)))
    assert m["innerWidth"] == width
    assert m["scrollWidth"] <= width, m  # no horizontal scrolling
    assert not m["wide"], m["wide"]  # no table, chart, card row or reading past the right edge
    assert m["charts"] >= 6
    assert max(m["legends"]) <= 8, m["legends"]
    # the screenshot a reader would see (kept beside the test's files)
    shot = tmp_path / f"report-{width}.png"
    done = run(browser, tmp_path / "profile", width, f"--screenshot={shot}", report.as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000, done.stderr[-2000:]
