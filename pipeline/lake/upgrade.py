"""``remit lake upgrade``: rebuild a lake written in an older format from the original files.

Lakes of format 1 carried string ids on every row (``file_id``, ``transaction_id``, ``claim_id`` ...);
format 2 carries integer keys (docs/parser.md, "Keys and ids"). Rows cannot be converted in place
without the parser's positions, but every loaded file's original bytes are kept (``stored_as`` in the
manifest: ``<inbox>/.processed/<day>/``), and parsing is a pure function of those bytes: the upgrade
loads the originals again, in their manifest order (so resends resolve to the same first
transactions), into a new lake. The old lake folder is kept beside it as ``lake.format<N>-<time>``
until the operator deletes it. Duplicates and rejected files are not loaded again (they were not in
the lake); the quality gate is not run again (the files passed it when they were loaded).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.home import Home
from pipeline.lake.lock import run_lock
from pipeline.lake.state import FORMAT, LOADED_STATUSES, STATE_FILE
from pipeline.log import get_logger

log = get_logger("lake")

UPGRADE_INBOX = "lake-upgrade-inbox"  # under the home: the originals as the upgrade's inbox


class UpgradeError(RuntimeError):
    """The lake cannot be upgraded (an original file is missing, or the lake is not a remit lake)."""


@dataclass
class UpgradeResult:
    """What ``upgrade_lake`` did."""

    from_format: int | None = None
    files: int = 0
    backup: Path | None = None
    loaded: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.from_format is None:
            return f"the lake is already in format {FORMAT}; nothing changed"
        return (
            f"upgraded the lake from format {self.from_format} to {FORMAT}: {len(self.loaded)} of "
            f"{self.files} files loaded again from their originals; the old lake is kept as {self.backup} "
            "(delete it once the new one is built and checked); run remit build next"
        )


def lake_format(lake_dir: Path) -> int | None:
    """The format a lake's ``_state.json`` declares (None when there is no state file)."""
    try:
        raw = json.loads((lake_dir / STATE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UpgradeError(f"{lake_dir / STATE_FILE} cannot be read ({exc})") from None
    return raw.get("format") if isinstance(raw, dict) else None


def upgrade_lake(home: Home) -> UpgradeResult:
    """Rebuild ``home``'s lake in the current format from the originals its manifest names.

    Raises :class:`UpgradeError` (changing nothing) when an original is missing: the lake can then only
    be rebuilt from the operator's own copies of the files (docs/operations.md, "Upgrading a lake").
    """
    from pipeline.lake.loader import ingest

    lake = home.lake
    result = UpgradeResult()
    with run_lock(home):
        found = lake_format(lake)
        if found is None or found == FORMAT:
            return result
        raw = json.loads((lake / STATE_FILE).read_text(encoding="utf-8"))
        rows = []
        if raw.get("manifest"):
            manifest = pq.read_table(lake / raw["manifest"], columns=["entry", "name", "status", "stored_as"])
            rows = sorted(
                (r for r in manifest.to_pylist() if r["status"] in LOADED_STATUSES), key=lambda r: r["entry"]
            )
        originals = [(r["name"], _where(home, r["stored_as"])) for r in rows]
        missing = [name for name, path in originals if path is None or not path.is_file()]
        if missing:
            raise UpgradeError(
                f"cannot upgrade {lake}: {len(missing)} of {len(originals)} loaded files have no original "
                f"left where the manifest says it was kept (e.g. {missing[0]}); nothing was changed"
            )
        inbox = home.root / UPGRADE_INBOX
        if inbox.exists():
            shutil.rmtree(inbox)
        inbox.mkdir(mode=0o700)
        # inbox order is modification time, then name: the manifest's order, one second apart
        start = datetime.now(UTC).timestamp() - len(originals) - 60
        taken: set[str] = set()
        for i, (name, path) in enumerate(originals):
            shown = Path(name).name
            while shown in taken:
                shown = f"{i}-{shown}"
            taken.add(shown)
            dest = inbox / shown
            try:
                os.link(path, dest)
            except OSError:  # another file system: a copy
                shutil.copy2(path, dest)
            os.utime(dest, (start + i, start + i))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        backup = lake.with_name(f"{lake.name}.format{found}-{stamp}")
        os.replace(lake, backup)
        result.from_format, result.files, result.backup = found, len(originals), backup
    ingested = ingest(home, inbox=inbox, settle_seconds=0)
    result.loaded = list(ingested.loaded) + list(ingested.resent)
    log.info(result.summary())
    return result


def _where(home: Home, stored_as: str | None) -> Path | None:
    """The path the manifest's ``stored_as`` names (relative ones are under the home)."""
    if not stored_as:
        return None
    path = Path(stored_as)
    return path if path.is_absolute() else home.root / path
