"""The playbooks: a code's guidance in sections (``reference/carc_playbook.csv``, ``rarc_playbook.csv``).

``carc_playbook.csv`` (``code,section,rank,frequency,rarc,text``) gives a CARC a short answer (``tldr``),
its causes with how often each occurs (``cause``, frequency ``most common``, ``common`` or
``occasional``), numbered resolution steps (``step``, in rank order), an appeal guide (``appeal``),
plausible remark-code pairings (``pairing``, the RARC in column ``rarc``), examples (``example``) and the
patient impact (``patient_impact``). ``rarc_playbook.csv`` (``code,section,rank,frequency,text``) gives a
RARC its causes (``cause``) and fixes (``step``). Within a section, rows are shown by ``rank``.

Either file may be absent: a code without playbook rows shows what ``reference/carc.csv`` says (its
common causes and resolution steps in one sentence each) and a RARC its summary alone.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.reference import seed_dir

CARC_FILE = "carc_playbook.csv"
RARC_FILE = "rarc_playbook.csv"
CARC_SECTIONS = ("tldr", "cause", "step", "appeal", "pairing", "example", "patient_impact")
RARC_SECTIONS = ("cause", "step")
FREQUENCIES = ("most common", "common", "occasional")
_CARC_COLUMNS = ("code", "section", "rank", "frequency", "rarc", "text")
_RARC_COLUMNS = ("code", "section", "rank", "frequency", "text")


class PlaybookError(ValueError):
    """A playbook CSV row that cannot be read (the message names the file and line)."""


@dataclass(frozen=True)
class Cause:
    """One reason a payer sends the code, with how often it is the reason (None when not said)."""

    text: str
    frequency: str | None


@dataclass(frozen=True)
class Pairing:
    """A remark code that plausibly comes with the CARC, and why."""

    rarc: str
    text: str


@dataclass
class Playbook:
    """The playbook of one code; sections a file does not fill stay empty."""

    code: str
    tldr: list[str] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    appeal: list[str] = field(default_factory=list)
    pairings: list[Pairing] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    patient_impact: list[str] = field(default_factory=list)


@dataclass
class Playbooks:
    """The CARC and RARC playbooks by code (empty for a file that is absent)."""

    carc: dict[str, Playbook] = field(default_factory=dict)
    rarc: dict[str, Playbook] = field(default_factory=dict)


def playbook_dir() -> Path:
    """Where the playbook CSVs live: the reference seed folder."""
    return seed_dir()


def _read(path: Path, columns: tuple[str, ...], sections: tuple[str, ...]) -> dict[str, Playbook]:
    if not path.exists():
        return {}
    rows: list[tuple[str, str, int, int, dict[str, str]]] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise PlaybookError(f"{path}: header lacks column(s) {', '.join(missing)}")
        for n, r in enumerate(reader, start=2):
            where = f"{path.name} line {n}"
            code, section, text = (r["code"] or "").strip(), r["section"] or "", (r["text"] or "").strip()
            if not code or not text:
                raise PlaybookError(f"{where}: code and text must not be empty")
            if section not in sections:
                raise PlaybookError(f"{where}: section {section!r} is not one of {', '.join(sections)}")
            try:
                rank = int(r["rank"])
            except ValueError:
                raise PlaybookError(f"{where}: rank {r['rank']!r} is not a whole number") from None
            freq = r.get("frequency") or ""
            if freq and (section != "cause" or freq not in FREQUENCIES):
                raise PlaybookError(
                    f"{where}: frequency {freq!r} is allowed only on a cause, "
                    f"as one of {', '.join(FREQUENCIES)}"
                )
            if section == "pairing" and not (r.get("rarc") or "").strip():
                raise PlaybookError(f"{where}: a pairing names its remark code in column rarc")
            rows.append((code, section, rank, n, r))
    out: dict[str, Playbook] = {}
    for code, section, _, _, r in sorted(rows, key=lambda x: (x[0], x[1], x[2], x[3])):
        book = out.setdefault(code, Playbook(code))
        text = r["text"].strip()
        if section == "cause":
            book.causes.append(Cause(text, r.get("frequency") or None))
        elif section == "step":
            book.steps.append(text)
        elif section == "pairing":
            book.pairings.append(Pairing(r["rarc"].strip(), text))
        elif section == "example":
            book.examples.append(text)
        else:  # tldr, appeal, patient_impact: lists of the same name
            getattr(book, section).append(text)
    return out


def load_playbooks(directory: Path | None = None) -> Playbooks:
    """Read ``carc_playbook.csv`` and ``rarc_playbook.csv`` from ``directory`` (default: the seeds).

    A missing file gives no playbooks of its kind; a malformed row raises :class:`PlaybookError`.
    """
    folder = directory if directory is not None else playbook_dir()
    return Playbooks(
        carc=_read(folder / CARC_FILE, _CARC_COLUMNS, CARC_SECTIONS),
        rarc=_read(folder / RARC_FILE, _RARC_COLUMNS, RARC_SECTIONS),
    )
