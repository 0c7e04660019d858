"""Great Expectations' Data Docs made readable offline: no request leaves the machine.

GX writes each page with some 17 stylesheets and scripts from public CDNs (Bootstrap, jQuery, Vega,
Font Awesome …) and its logo from a web bucket. On the machine that runs remit (no internet, by design:
the pages describe patient-data checks) those requests fail and the pages render unstyled; where a
network exists, opening a page would tell third parties that it was opened. So after every build the
pages are rewritten: external ``<link>``, ``<script src>`` and ``<img>`` tags are dropped, and a small
stylesheet of remit's own (``static/styles/remit_offline.css`` in the docs folder) lays out the parts GX
renders as plain HTML (navigation, cards, tables, status icons). Content hidden by Bootstrap's ``collapse``
class stays visible, since Bootstrap no longer hides it.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

STYLESHEET = "remit_offline.css"
# a tag that loads from another host: <link href=http…>, <script src=http…></script>, <img src=http…>
_EXTERNAL = re.compile(
    r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>"
    r"|<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>"
    r"|<img\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>",
    re.IGNORECASE,
)
_HEAD_END = re.compile(r"</head>", re.IGNORECASE)


def external_resources(html: str) -> list[str]:
    """The tags of ``html`` that would load a resource from another host."""
    return _EXTERNAL.findall(html)


def make_offline(docs_dir: Path) -> int:
    """Rewrite every Data Docs page under ``docs_dir`` to load nothing from the network; returns the
    number of pages changed. Idempotent: a page already rewritten is left as it is."""
    styles = docs_dir / "static" / "styles"
    styles.mkdir(parents=True, exist_ok=True)
    css = resources.files("pipeline.quality").joinpath("static", STYLESHEET).read_text()
    (styles / STYLESHEET).write_text(css)
    changed = 0
    for page in docs_dir.rglob("*.html"):
        if page.name == "latest.html":  # remit's own summary page: self-contained already
            continue
        html = page.read_text(encoding="utf-8")
        offline = _EXTERNAL.sub("", html)
        href = Path(os.path.relpath(styles / STYLESHEET, page.parent)).as_posix()
        if STYLESHEET not in offline:
            offline = _HEAD_END.sub(f'<link rel="stylesheet" href="{href}">\n</head>', offline, count=1)
        if offline != html:
            page.write_text(offline, encoding="utf-8")
            changed += 1
    return changed
