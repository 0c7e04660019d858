"""The remit home directory: where inbox, lake, quarantine, reports and the warehouse live."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import DEFAULT_HOME, get_settings, load_settings

__all__ = ["DEFAULT_HOME", "KEY_FILE", "Home", "HomeError", "current_umask", "file_mode"]

KEY_FILE = "patient-key.secret"
NO_WORLD = 0o007  # permission bits of "others": nothing under a home is for every local user


class HomeError(RuntimeError):
    """The home (or its patient-key secret) cannot be used as it is: the message says why and what to do."""


def current_umask() -> int:
    """The process's umask (read without changing it where /proc allows)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def file_mode(mode: int = 0o666) -> int:
    """``mode`` as the umask leaves it for a new file, and never readable or writable by others."""
    return mode & ~current_umask() & ~NO_WORLD


@dataclass(frozen=True)
class Home:
    """Paths of one remit home directory (``--home`` / ``REMIT_HOME``)."""

    root: Path

    @classmethod
    def resolve(cls, value: str | os.PathLike[str] | None = None) -> Home:
        """The home ``value`` names (as ``--home``), else the settings' (``REMIT_HOME``, else ./remit-data).

        Raises :class:`~pipeline.settings.SettingError` for an empty value or a path that is a file.
        """
        if value is not None:
            return cls(load_settings({}, home=value).home)
        return cls(get_settings().home)

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
        """Create the directory tree with no access for others, whatever the umask.

        The home holds patient data; an analysts' group may read it (umask 027), other local users never.
        Folders of the tree that already exist lose their "others" bits. ``quarantine/`` holds raw files:
        owner-only.
        """
        for path in (self.root, self.inbox, self.lake, self.reports):
            path.mkdir(mode=0o770, parents=True, exist_ok=True)
            _drop_world_access(path)
        self.quarantine.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.quarantine, 0o700)
        return self

    def patient_key_secret(self, *, create: bool = True) -> bytes | None:
        """Return the HMAC secret used for ``patient_key``; create it (mode 0600) on first use if ``create``.

        With ``create=False`` a home without a secret gives ``None`` and nothing is written. The secret
        never leaves the home directory; without it a ``patient_key`` cannot be traced back to a patient,
        and with it the same patient links across claims and nights. Raises :class:`HomeError` when the
        file exists but does not hold a secret.
        """
        path = self.key_file
        if not path.exists():
            if not create:
                return None
            self.root.mkdir(mode=0o770, parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it meanwhile: use theirs
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(32))
        try:
            secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
        except (ValueError, UnicodeDecodeError):
            secret = b""
        if len(secret) < 16:
            raise HomeError(
                f"{path} does not hold a patient-key secret (64 hex digits expected): restore it from "
                "its backup (docs/operations.md, Backup and restore); a new secret would give every "
                "patient a new patient_key"
            )
        return secret


def _drop_world_access(path: Path) -> None:
    """Remove the "others" bits of a folder this user owns (one created earlier under a laxer umask)."""
    st = path.stat()
    if st.st_mode & NO_WORLD and st.st_uid == os.geteuid():
        os.chmod(path, st.st_mode & 0o7777 & ~NO_WORLD)
