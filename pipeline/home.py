"""The remit home directory: where inbox, lake, quarantine, reports and the warehouse live."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = "./remit-data"
KEY_FILE = "patient-key.secret"


@dataclass(frozen=True)
class Home:
    """Paths of one remit home directory (``--home`` / ``REMIT_HOME``)."""

    root: Path

    @classmethod
    def resolve(cls, value: str | os.PathLike[str] | None = None) -> Home:
        """Pick the home from an explicit value, else ``REMIT_HOME``, else ``./remit-data``."""
        raw = value or os.environ.get("REMIT_HOME") or DEFAULT_HOME
        return cls(Path(raw).expanduser().absolute())

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def key_file(self) -> Path:
        return self.root / KEY_FILE

    def ensure(self) -> Home:
        """Create the directory tree. ``quarantine/`` holds raw files (patient data): owner-only."""
        for path in (self.root, self.inbox, self.lake, self.reports):
            path.mkdir(parents=True, exist_ok=True)
        self.quarantine.mkdir(parents=True, exist_ok=True)
        os.chmod(self.quarantine, 0o700)
        return self

    def patient_key_secret(self) -> bytes:
        """Return the HMAC secret used for ``patient_key``, creating it (mode 0600) on first use.

        The secret never leaves the home directory; without it a ``patient_key`` cannot be traced
        back to a patient, and with it the same patient links across claims and nights.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.key_file
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return bytes.fromhex(path.read_text().strip())
