"""Patient data stays out of everything remit stores or prints.

A night runs end to end on generated remittances (``remit ingest``, then ``remit run`` with JSON logs:
quality gate, build, report, handbook; then ``code``; debug logging on): a few files get a
DMG birth-date segment after each patient, and damaged copies are rejected. Then every patient name,
member id and birth date found in the raw files (NM1*QC / NM1*IL, DMG) is searched for in every byte of
the home directory's outputs (lake, warehouse, reports, handbook, quality results, manifest,
``.error.json``), inside the decoded values of every Parquet file and every DuckDB table and view
definition, and in everything the commands logged. Only the raw files themselves (``inbox/.processed/``
and ``quarantine/``) may hold them, and those folders and the HMAC key must be owner-only.
"""

from __future__ import annotations

import os
import random
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipeline.home import Home

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import segments  # noqa: E402

pytestmark = pytest.mark.slow  # a minute or two: the nightly run renders the report in a notebook kernel

WORD = re.compile(r"[A-Za-z0-9]+")
RAW_FOLDERS = ("inbox", "quarantine")  # raw remittances by design (owner-only), not outputs


TIMES: dict[str, float] = {}


def remit(home: Home, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI with debug logging, the way cron would, capturing everything it prints."""
    exe = Path(sys.executable).with_name("remit")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]
    t0 = time.perf_counter()
    try:
        return _run(cmd, home, args)
    finally:
        TIMES[" ".join(args)] = round(time.perf_counter() - t0, 1)


def _run(cmd: list[str], home: Home, args: tuple[str, ...]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*cmd, "--home", str(home.root), "-v", *args],  # options before the command: group options
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "REMIT_INBOX_SETTLE_SECONDS": "0"},
    )


def add_birth_dates(data: bytes, rng: random.Random) -> bytes:
    """A ``DMG*D8*<birth date>*<sex>`` after each NM1*QC (SE01 kept right), as some payers send."""
    out: list[bytes] = []
    added = 0
    for seg in segments(data):
        raw = data[seg.start : seg.end]
        sep, term = bytes([seg.element]), bytes([seg.terminator])
        if seg.seg_id == b"SE":
            els = data[seg.start : seg.body_end].split(sep)
            els[1] = str(int(els[1]) + added).encode()
            raw = sep.join(els) + data[seg.body_end : seg.end]
            added = 0
        out.append(raw)
        if seg.seg_id == b"NM1" and data[seg.start : seg.body_end].split(sep)[1] == b"QC":
            born = f"{rng.randint(1931, 1989)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}".encode()
            eol = data[seg.body_end + 1 : seg.end]
            out.append(sep.join([b"DMG", b"D8", born, rng.choice([b"F", b"M"])]) + term + eol)
            added += 1
    return b"".join(out)


def patient_needles(files: list[bytes]) -> dict[str, set[str]]:
    """Names, member ids and birth dates of the patients and insureds in ``files`` (from the raw bytes)."""
    names: set[str] = set()
    ids: set[str] = set()
    births: set[str] = set()
    other_words: set[str] = set()  # words that also occur outside patient segments (payer, provider)
    for data in files:
        text = data.decode("latin-1")
        element = text[3]
        for seg in re.split(r"[~!\r\n|]+", text):
            els = seg.split(element)
            if els[0] == "NM1" and len(els) > 3 and els[1] in ("QC", "IL"):
                last, first = els[3].strip(), (els[4].strip() if len(els) > 4 else "")
                if last and first:
                    names |= {
                        f"{first} {last}",
                        f"{last}, {first}",
                        f"{last} {first}",
                        f"{last}{element}{first}",
                    }
                names.add(last)
                if len(els) > 9 and els[9].strip():
                    ids.add(els[9].strip())
            elif els[0] == "DMG" and len(els) > 2:
                d = els[2].strip()
                births |= {d, f"{d[:4]}-{d[4:6]}-{d[6:]}", f"{d[4:6]}/{d[6:]}/{d[:4]}"}
            else:
                other_words |= set(re.findall(r"[A-Z]{3,}", seg))
    # a last name that is also a payer's, a provider's or a street's word cannot be told apart: skip it
    names = {
        n for n in names if " " in n or "," in n or element in n or (len(n) >= 4 and n not in other_words)
    }
    return {"name": names, "member id": ids, "birth date": births}


def decoded_values(path: Path) -> str:
    """Every value in a Parquet file or a DuckDB database as text (compression hides them from grep)."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return "\n".join(str(v) for col in table.columns for v in col.to_pylist())
    con = duckdb.connect(str(path), read_only=True)
    try:
        parts = [
            r[0] or "" for r in con.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall()
        ]
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
        for schema, name in tables:
            rows = con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
            parts.extend(str(v) for row in rows for v in row)
        return "\n".join(parts)
    finally:
        con.close()


def is_duckdb(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(12)[8:12] == b"DUCK"


def leaks(haystack: str, needles: dict[str, set[str]]) -> list[str]:
    """The needles found in ``haystack`` as whole words ("HILL" is not in "HILLTOP ORTHOPEDICS").

    Word sets first (a big regex alternation over megabytes is slow), then an exact whole-word search
    for each needle whose words all occur.
    """
    words = set(WORD.findall(haystack))
    hits = []
    for kind, group in needles.items():
        for needle in sorted(group):
            if all(w in words for w in WORD.findall(needle)):
                pattern = f"(?<![A-Za-z0-9]){re.escape(needle)}(?![A-Za-z0-9])"
                if re.search(pattern, haystack):
                    hits.append(f"{kind} {needle!r}")
    return hits


def test_no_patient_data_in_outputs_or_logs(tmp_path: Path) -> None:
    from pipeline.synth import generate

    synth = tmp_path / "synth"
    generate(synth, claims=600, files=6, seed=4711, months=3)
    rng = random.Random(4711)
    home = Home(tmp_path / "home").ensure()
    (home.root / "payers.csv").write_bytes((synth / "payers.csv").read_bytes())
    raw: dict[str, bytes] = {}
    for n, path in enumerate(sorted(synth.glob("*.835"))):
        data = path.read_bytes()
        raw[path.name] = add_birth_dates(data, rng) if n % 2 == 0 else data
    # two damaged copies: their error reports and log lines must not quote patients either
    first = next(raw[n] for n in sorted(raw) if b"NM1*QC*" in raw[n])  # a file with '*' separators
    cut = first.index(b"NM1*QC*") + 12  # inside a patient's name
    raw["damaged-cut.835"] = first[:cut]
    raw["damaged-amount.835"] = first.replace(b"CLP*", b"CLP*X*1*A*", 1)  # CLP03 is "A"
    for name, data in raw.items():
        (home.inbox / name).write_bytes(data)
        os.utime(home.inbox / name, (time.time() - 60, time.time() - 60))
    needles = patient_needles(list(raw.values()))
    assert len(needles["member id"]) > 300 and len(needles["birth date"]) > 300 and len(needles["name"]) > 300

    logs: list[str] = []
    done = remit(home, "ingest")  # human-readable log lines
    logs.append(done.stdout + done.stderr)
    assert done.returncode == 3, done.stderr
    # a whole night with JSON logs (extra fields): quality gate, build, report, handbook
    (home.inbox / "again.835").write_bytes(raw["damaged-cut.835"] + b" ")
    os.utime(home.inbox / "again.835", (time.time() - 60, time.time() - 60))
    done = remit(home, "--log-format", "json", "run")
    logs.append(done.stdout + done.stderr)
    assert done.returncode == 3, done.stderr
    assert '"logger": "remit.lake"' in done.stderr
    done = remit(home, "code", "CO-45")  # the handbook entry prints the largest worklist items
    logs.append(done.stdout + done.stderr)
    assert done.returncode == 0, done.stderr
    assert "rejected" in logs[0] and "damaged-cut.835" in logs[0]  # the logs did talk about the files

    found: list[str] = []
    for i, text in enumerate(logs):
        found += [f"log of step {i}: {hit}" for hit in leaks(text, needles)]
    scanned = {"files": 0, "parquet": 0, "duckdb": 0, "bytes": 0}
    for path in sorted(home.root.rglob("*")):
        rel = path.relative_to(home.root)
        if not path.is_file() or rel.parts[0] in RAW_FOLDERS or path == home.key_file:
            continue
        data = path.read_bytes()
        scanned["files"] += 1
        scanned["bytes"] += len(data)
        found += [f"{rel}: {hit}" for hit in leaks(data.decode("latin-1"), needles)]
        if path.suffix == ".parquet":
            scanned["parquet"] += 1
            found += [f"{rel} (decoded): {hit}" for hit in leaks(decoded_values(path), needles)]
        elif is_duckdb(path):
            scanned["duckdb"] += 1
            found += [f"{rel} (decoded): {hit}" for hit in leaks(decoded_values(path), needles)]
    print(f"commands (seconds): {TIMES}")
    print(
        f"privacy scan: {scanned}, needles { ({k: len(v) for k, v in needles.items()}) }, leaks {len(found)}"
    )
    assert scanned["parquet"] >= 6 and scanned["duckdb"] >= 1, scanned
    assert (home.reports / "handbook").is_dir() and list(home.reports.glob("remit-report-*.html"))
    assert not found, f"{len(found)} patient values found: " + "; ".join(found[:20])
    # the search does find them where they are (the raw files kept in inbox/.processed/)
    kept = [p for p in (home.inbox / ".processed").rglob("*") if p.is_file()]
    assert len(kept) == 6
    kinds = {hit.split()[0] for hit in leaks(kept[0].read_bytes().decode("latin-1"), needles)}
    assert kinds >= {"name", "member"}, kinds

    # raw files: only where they belong, owner-only
    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    assert mode(home.key_file) == 0o600
    assert mode(home.quarantine) == 0o700
    quarantined = [p for p in home.quarantine.iterdir()]
    assert len(quarantined) == 6  # three rejected files and their reports
    assert all(mode(p) == 0o600 for p in quarantined), {p.name: oct(mode(p)) for p in quarantined}
    processed = home.inbox / ".processed"
    assert mode(processed) == 0o700, oct(mode(processed))
