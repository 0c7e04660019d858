"""One handbook entry: what a code means in general (reference seeds) joined with what it cost us (marts)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb

from pipeline.handbook.codes import (
    GROUP_CODES,
    ParsedCode,
    Reference,
    UnknownCodeError,
    nearest_codes,
    parse_code,
    sort_codes,
)
from pipeline.handbook.figures import (
    ZERO,
    FigureBook,
    Figures,
    carc_figures,
    empty_figures,
    latest_month,
    rarc_figures,
    seen_codes,
    window_months,
)
from pipeline.handbook.playbook import Playbook, load_playbooks
from pipeline.handbook.terminal import fit_table, terminal_width, wrap
from pipeline.home import Home
from pipeline.present.format import count, money, pct, plural
from pipeline.reference.tables import typical_rarc_codes

ONE = Decimal(1)


@dataclass(frozen=True)
class GroupGuidance:
    """What to do with a CARC under one group code (``ref.carc_group_guidance``)."""

    group_code: str
    group_name: str
    who_pays: str
    patient_billable: bool
    appealable: bool
    action: str
    patient_impact: str | None
    is_provider_absorbed: bool
    absorbed_category: str | None
    guidance_source: str


@dataclass(frozen=True)
class CodeRef:
    """A code named on an entry (related code, typical remark), with its summary."""

    kind: str
    code: str
    summary: str | None


@dataclass
class CodeEntry:
    """A handbook entry. ``figures`` is None without a warehouse; ``warehouse_note`` then says why."""

    query: str
    kind: str  # CARC or RARC
    code: str
    group_code: str | None
    in_reference: bool
    status: str | None = None
    start_date: Any = None
    last_modified_date: Any = None
    stop_date: Any = None
    summary: str | None = None
    category: str | None = None
    official_description: str | None = None
    flags: list[str] = field(default_factory=list)
    guidance: list[GroupGuidance] = field(default_factory=list)
    related: list[CodeRef] = field(default_factory=list)
    typical_remarks: list[CodeRef] = field(default_factory=list)
    common_causes: str | None = None
    resolution_steps: str | None = None
    playbook: Playbook | None = None  # the code's rows of carc_playbook.csv / rarc_playbook.csv
    pairings: list[tuple[CodeRef, str]] = field(default_factory=list)  # playbook RARC pairings, and why
    figures: Figures | None = None
    warehouse_note: str | None = None

    @property
    def title(self) -> str:
        """``CO-289``, ``289`` or ``N10``."""
        return f"{self.group_code}-{self.code}" if self.group_code else self.code

    @property
    def page_name(self) -> str:
        """The handbook page of the code (``carc-289.html``, ``rarc-N10.html``); group-independent."""
        return f"{self.kind.lower()}-{self.code}.html"


class Sources:
    """An open ``ref`` schema and, when the home has one, the warehouse (read-only)."""

    def __init__(self, home: Home, *, every_code: bool = False):
        """``every_code``: read every seen code's figures at once (``book``), for the HTML handbook."""
        self.home = home
        self.con: duckdb.DuckDBPyConnection
        self.has_warehouse = False
        self.note: str | None = None
        self.last_month: str | None = None
        self.window: list[str] = []
        # every seen code's figures, read once (FigureBook) by a caller about to show many codes
        self.book: FigureBook | None = None
        self.playbooks = load_playbooks()
        path = home.warehouse
        if path.exists():
            try:
                from pipeline.lake import connect_warehouse

                self.con = connect_warehouse(path)
                self.has_warehouse = True
            except duckdb.Error as exc:  # locked by a writer, or not a DuckDB file
                self.note = f"the warehouse {path} could not be opened ({exc}); reference part only"
        else:
            self.note = f"no warehouse at {path} (run `remit build`): reference part only"
        if self.has_warehouse:
            try:
                self.last_month = latest_month(self.con)
                if every_code and self.last_month is not None:
                    self.book = FigureBook(self.con)
                    self.seen_carcs, self.seen_rarcs = self.book.seen()
                else:
                    self.seen_carcs, self.seen_rarcs = seen_codes(self.con)
                self.ref = Reference(self.con)
            except duckdb.CatalogException as exc:  # built before the handbook marts existed
                self.con.close()
                self.has_warehouse = False
                self.note = (
                    f"the warehouse lacks a handbook mart ({exc}); run `remit build`. Reference part only"
                )
            else:
                if self.last_month is None:
                    self.note = "the warehouse holds no payments yet"
                else:
                    self.window = window_months(self.con)
        if not self.has_warehouse:
            from pipeline.reference import load_reference

            self.con = duckdb.connect()
            load_reference(self.con, home)
            self.ref = Reference(self.con)
            self.seen_carcs, self.seen_rarcs = set(), set()

    def close(self) -> None:
        """Close the connection."""
        self.con.close()


@contextlib.contextmanager
def open_sources(home: Home, *, every_code: bool = False) -> Iterator[Sources]:
    """The reference and warehouse of ``home``, closed on exit (``every_code``: see ``Sources``)."""
    src = Sources(home, every_code=every_code)
    try:
        yield src
    finally:
        src.close()


def _refs(ref: Reference, kind: str, codes: list[str]) -> list[CodeRef]:
    table = ref.carc if kind == "CARC" else ref.rarc
    return [CodeRef(kind, c, (table.get(c) or {}).get("summary")) for c in codes]


def resolve(parsed: ParsedCode, src: Sources, kind: str | None = None) -> tuple[str, bool]:
    """The code's kind and whether the reference lists know it; raise UnknownCodeError when nothing does.

    ``kind`` forces the list (the HTML handbook knows whether a code came as a CARC or as a remark: an
    NCPDP reject code in LQ*RX may look like a CARC).
    """
    ref = src.ref
    if kind is not None:
        return kind, parsed.code in (ref.carc if kind == "CARC" else ref.rarc)
    kind = ref.kind_of(parsed.code)
    known = kind is not None
    if kind is None:
        if parsed.code in src.seen_carcs and not ref.looks_like_rarc(parsed.code):
            kind = "CARC"
        elif parsed.code in src.seen_rarcs and parsed.group_code is None:
            kind = "RARC"
    if kind is None:
        raise UnknownCodeError(parsed.query, nearest_codes(parsed.code, ref.all_codes()))
    if kind == "RARC" and parsed.group_code:
        raise UnknownCodeError(
            parsed.query,
            [parsed.code],
            reason=f"{parsed.code} is a remark code (RARC); group codes ({parsed.group_code}) go with CARCs",
        )
    return kind, known


def build_entry(parsed: ParsedCode, src: Sources, kind: str | None = None) -> CodeEntry:
    """Join the reference facts of ``parsed`` with its warehouse figures (``kind`` forces CARC or RARC)."""
    kind, known = resolve(parsed, src, kind)
    ref = src.ref
    code = parsed.code
    entry = CodeEntry(
        query=parsed.query, kind=kind, code=code, group_code=parsed.group_code, in_reference=known
    )
    if kind == "CARC" and known:
        r = ref.carc[code]
        # the category already says "crossover" for the eight crossover codes
        crossover_flag = "" if r["category"] == "dental_medical_crossover" else "is_crossover"
        entry.flags = [
            name
            for name, col in (
                ("denial", "is_denial"),
                ("expected contractual", "is_expected_contractual"),
                ("redirect to another plan", "is_redirect"),
                ("dental-medical crossover", crossover_flag),
                ("forwarded by the payer", "crossover_forwarded"),
            )
            if col and r[col]
        ]
        if r["crossover_direction"]:
            entry.flags.append(f"direction: {r['crossover_direction'].replace('_', ' ')}")
        entry.related = _refs(ref, "CARC", (r["related_carcs"] or "").split())
        entry.typical_remarks = _refs(ref, "RARC", typical_rarc_codes(r["typical_rarcs"]))
        entry.common_causes = r["common_causes"]
        entry.resolution_steps = r["resolution_steps"]
        entry.playbook = src.playbooks.carc.get(code)
        if entry.playbook:
            entry.pairings = [(_refs(ref, "RARC", [p.rarc])[0], p.text) for p in entry.playbook.pairings]
        rows = ref.guidance.get(code, {})
        order = [parsed.group_code] if parsed.group_code in GROUP_CODES else []
        order += [g for g in GROUP_CODES if g not in order]
        entry.guidance = [
            GroupGuidance(
                group_code=g,
                group_name=(ref.groups.get(g) or {}).get("name") or g,
                who_pays=rows[g]["who_pays"],
                patient_billable=bool(rows[g]["patient_billable"]),
                appealable=bool(rows[g]["appealable"]),
                action=rows[g]["action"],
                patient_impact=rows[g]["patient_impact"],
                is_provider_absorbed=bool(rows[g]["is_provider_absorbed"]),
                absorbed_category=rows[g]["absorbed_category"],
                guidance_source=rows[g]["guidance_source"],
            )
            for g in order
            if g in rows
        ]
    elif kind == "RARC" and known:
        r = ref.rarc[code]
        entry.flags = [
            name for name, col in (("alert (informational)", "is_alert"), ("dental", "is_dental")) if r[col]
        ]
        # the CARCs whose typical_rarcs or playbook pairings name it
        carriers = list(ref.carcs_by_rarc.get(code, []))
        carriers += [
            c
            for c, book in src.playbooks.carc.items()
            if c not in carriers and any(p.rarc == code for p in book.pairings)
        ]
        entry.typical_remarks = _refs(ref, "CARC", sort_codes(carriers))
        entry.playbook = src.playbooks.rarc.get(code)
    if known:
        for attr in ("status", "start_date", "last_modified_date", "stop_date", "summary", "category"):
            setattr(entry, attr, r[attr])
        entry.official_description = r.get("official_description")
    entry.warehouse_note = src.note
    if src.has_warehouse and src.last_month:
        if code not in (src.seen_carcs if kind == "CARC" else src.seen_rarcs):
            # never sent to this organisation: nothing to ask the marts
            entry.figures = empty_figures(kind, code, parsed.group_code, src.window)
        elif src.book is not None and parsed.group_code is None:  # every code's figures read at once
            entry.figures = src.book.carc(code) if kind == "CARC" else src.book.rarc(code)
        elif kind == "CARC":
            entry.figures = carc_figures(src.con, code, parsed.group_code, src.last_month)
        else:
            entry.figures = rarc_figures(src.con, code, src.last_month)
    return entry


def lookup(code: str, home: Home) -> CodeEntry:
    """The handbook entry of ``code`` (``CO-289``, ``289``, ``N10`` …) for ``home``.

    Reads ``home.warehouse`` read-only when it exists (else the reference seeds alone, and the entry's
    ``warehouse_note`` says so). Raises :class:`UnknownCodeError` with the nearest codes when the code is
    in neither list and was never seen in the warehouse.
    """
    with open_sources(home) as src:
        return build_entry(parse_code(code), src)


# ---------------------------------------------------------------------------------------------- text


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def words(text: str | None) -> str:
    """``review_and_decide`` -> ``review and decide``; ``denial_writeoff`` -> ``denial write-off``."""
    return (text or "-").replace("_", " ").replace("writeoff", "write-off")


def procedure_label(code: str | None, qualifier: str | None) -> str:
    """``AD:D2740`` for a line, ``(claim level)`` for a claim-level adjustment or remark."""
    return f"{qualifier}:{code}" if code else "(claim level)"


def figure_lines(entry: CodeEntry, width: int = 80) -> list[str]:
    """The warehouse part of the terminal entry, in at most ``width`` columns.

    The bars of the month table measure dollars, like the bars of the web page.
    """
    fig = entry.figures
    if fig is None:
        return wrap(f"This organisation: {entry.warehouse_note}", width, "", "  ")

    def table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
        return fit_table(headers, rows, right, width)

    scope = (
        f"{entry.group_code} only" if entry.group_code else ("all group codes" if fig.kind == "CARC" else "")
    )
    window = f"last 12 payment months {fig.first_month} to {fig.last_month}"
    out = wrap(f"This organisation ({'; '.join(x for x in (scope, window) if x)})", width, "", "  ")
    if fig.all_time_count == 0:
        out += wrap("never seen in this warehouse's remittances", width)
        return out
    dollars_what = "" if fig.kind == "CARC" else " CO/OA/PI dollars on the items carrying it"
    claims = f" on {plural(fig.claims, 'claim')}" if fig.claims is not None else ""
    count_word = "adjustment" if fig.kind == "CARC" else "time"
    out += wrap(
        f"{plural(fig.count, count_word)}{' sent' if fig.kind == 'RARC' else ''}{claims}, "
        f"{money(fig.dollars)}{dollars_what}; trend: {fig.trend}",
        width,
        subsequent="    ",
    )
    out += wrap(
        f"all months in the warehouse: {plural(fig.all_time_count, count_word)}, "
        f"{money(fig.all_time_dollars)}",
        width,
        subsequent="    ",
    )
    if fig.count == 0:
        out.append("  not seen in the last 12 payment months")
        return out
    if fig.by_group:
        out += ["", "  By group code:"]
        out += table(
            ["group", "adjustments", "claims", "dollars", "share"],
            [
                [r.key or "", count(r.count), count(r.claims or 0), money(r.dollars), pct(r.share)]
                for r in fig.by_group
            ],
            {1, 2, 3, 4},
        )
    # bars: dollars (as on the web page); a month of net reversals draws none
    peak = max((m.dollars for m in fig.months), default=ZERO)
    bar_width = 20
    out += ["", "  By month (bar: dollars):"]
    out += table(
        ["month", fig.count_label, "dollars", ""],
        [
            [
                m.month,
                count(m.count),
                money(m.dollars),
                "#" * int((bar_width * m.dollars / peak).quantize(ONE, ROUND_HALF_UP))
                if peak > 0 and m.dollars > 0
                else "",
            ]
            for m in fig.months
        ],
        {1, 2},
    )
    rank_by = "dollars" if fig.kind == "CARC" else "times sent"
    out += ["", f"  Top payers (by {rank_by}):"]
    out += table(
        ["payer", "id", fig.count_label, "dollars", "share"],
        [
            [r.label or "-", r.key or "-", count(r.count), money(r.dollars), pct(r.share)]
            for r in fig.top_payers
        ],
        {2, 3, 4},
    )
    out += ["", f"  Top procedure codes (by {rank_by}):"]
    out += table(
        ["procedure", fig.count_label, "dollars", "share"],
        [
            [procedure_label(r.key, r.label), count(r.count), money(r.dollars), pct(r.share)]
            for r in fig.top_procedures
        ],
        {1, 2, 3},
    )
    if fig.kind == "CARC":
        out += [""]
        out += wrap(
            "Remark codes seen with it here (share of its adjustments; an adjustment may have several):",
            width,
            subsequent="    ",
        )
        rows = [[r.key or "(no remark)", count(r.count), pct(r.share), r.label or ""] for r in fig.pairings]
        out += table(["remark", "adjustments", "share", "meaning"], rows, {1, 2})
    else:
        out += [""]
        out += wrap(
            "Adjustment codes seen with it here (share of the adjustments it came with):",
            width,
            subsequent="    ",
        )
        rows = [
            [r.key or "-", count(r.count), money(r.dollars), pct(r.share), r.label or ""]
            for r in fig.pairings
        ]
        out += table(["code", "adjustments", "dollars", "share", "meaning"], rows, {1, 2, 3})
    out += [""]
    out += wrap(
        f"Largest open items (open on the worklists: {plural(fig.open_count, 'item')}, "
        f"{money(fig.open_dollars)}):",
        width,
        subsequent="    ",
    )
    if fig.open_items:
        out += table(
            [
                "worklist",
                "first denied",
                "payer",
                "claim (CLP07)",
                "line",
                "code",
                "at stake",
                "age",
                "days left",
                "action",
                "remarks",
            ],
            [
                [
                    i.worklist,
                    str(i.first_denied_date),
                    i.payer_name or "-",
                    i.payer_claim_control_number or "-",
                    i.line_key or "(claim)",
                    f"{i.group_code}-{i.reason_code}",
                    money(i.dollars_at_stake),
                    count(i.age_days),
                    count(i.days_left),
                    words(i.action),
                    i.remark_codes or "",
                ]
                for i in fig.open_items
            ],
            {6, 7, 8},
        )
    else:
        out.append("    none")
    return out


def _code_lines(refs: list[CodeRef], width: int) -> list[str]:
    """``  N10    summary`` lines, the summary wrapped under itself."""
    out: list[str] = []
    for c in refs:
        out += wrap(f"{c.code:<6} {c.summary or ''}", width, "  ", " " * 9)
    return out or ["  (none listed)"]


def _bullets(items: list[str], width: int) -> list[str]:
    out: list[str] = []
    for text in items:
        out += wrap(f"- {text}", width, "  ", "    ")
    return out


def _numbered(items: list[str], width: int) -> list[str]:
    out: list[str] = []
    digits = len(str(len(items)))
    for n, text in enumerate(items, start=1):
        lead = f"  {n:>{digits}}. "
        out += wrap(f"{lead}{text}", width, "", " " * len(lead))
    return out


def playbook_lines(entry: CodeEntry, width: int) -> list[str]:
    """The CARC or RARC playbook sections of the terminal entry (the sections the playbook fills)."""
    book = entry.playbook
    if book is None:
        return []
    out: list[str] = []
    if book.causes:
        out += ["", "Common causes (how often each is the reason):"]
        for c in book.causes:
            out += wrap(f"- {c.frequency or 'unrated'}: {c.text}", width, "  ", "    ")
    if book.steps:
        out += [
            "",
            "How to resolve:" if entry.kind == "CARC" else "How to fix:",
            *_numbered(book.steps, width),
        ]
    if book.appeal:
        out += ["", "Appeal guide:", *_bullets(book.appeal, width)]
    if entry.pairings:
        out += ["", "Remark codes that often come with it (and why):"]
        for ref, why in entry.pairings:
            out += wrap(f"{ref.code:<6} {ref.summary or ''}", width, "  ", " " * 9)
            out += wrap(f"with it: {why}", width, " " * 9)
    if book.examples:
        out += ["", "Examples:", *_bullets(book.examples, width)]
    if book.patient_impact:
        out += ["", "Patient impact:", *_bullets(book.patient_impact, width)]
    return out


def format_entry(entry: CodeEntry, width: int | None = None) -> str:
    """The entry as terminal text in ``width`` columns (default: the terminal's, at least 80).

    Reference part first (summary, the playbook when the code has one, guidance by group code), then
    this organisation's figures. Text wraps by words; tables too wide for the width wrap their text
    columns or print one block per row.
    """
    width = width or terminal_width()
    out: list[str] = []
    label = f"{entry.kind} {entry.code}"
    book = entry.playbook
    if not entry.in_reference:
        out += wrap(
            f"{entry.title}  ({label}: not in the reference lists, but seen in the warehouse)",
            width,
            "",
            "  ",
        )
    else:
        dates = ", ".join(
            f"{name} {value}"
            for name, value in (("since", entry.start_date), ("stopped", entry.stop_date))
            if value is not None
        )
        out += wrap(
            f"{entry.title}  ({label}, {entry.status}{', ' + dates if dates else ''})  "
            f"category: {words(entry.category)}",
            width,
            "",
            "  ",
        )
        out += wrap(entry.summary or "", width, "")
        if entry.flags:
            out += wrap("Flags: " + ", ".join(entry.flags), width, "", "  ")
        if book and book.tldr:
            out += ["", *wrap("In short: " + " ".join(book.tldr), width, "", "  ")]
        if entry.official_description:
            out += ["", "Official wording (imported list):", *wrap(entry.official_description, width)]
    if entry.guidance:
        out += [""]
        out.append("By group code:")
        for g in entry.guidance:
            mark = "  <- this remittance" if g.group_code == entry.group_code else ""
            absorbed = (
                f"; provider absorbs it ({words(g.absorbed_category)})" if g.is_provider_absorbed else ""
            )
            out += wrap(f"{g.group_code} {g.group_name}{mark}", width, "  ", "     ")
            out += wrap(
                f"who pays: {words(g.who_pays)}; bill the patient: {yes_no(g.patient_billable)}; "
                f"appealable: {yes_no(g.appealable)}; action: {words(g.action)}{absorbed}",
                width,
                "     ",
            )
            out += wrap(f"patient impact: {g.patient_impact or '-'}", width, "     ")
        if entry.group_code and entry.group_code not in GROUP_CODES:
            out += wrap(
                f"{entry.group_code} is a legacy 4010 group code (corrections and reversals): no guidance",
                width,
            )
    if entry.kind == "CARC" and entry.in_reference:
        if book and (book.causes or book.steps):
            out += playbook_lines(entry, width)
        else:
            out += ["", "Common causes:", *wrap(entry.common_causes or "(not written for this code)", width)]
            out += [
                "",
                "Resolution steps:",
                *wrap(entry.resolution_steps or "(not written for this code)", width),
            ]
            out += playbook_lines(entry, width)
        out += ["", "Related codes:", *_code_lines(entry.related, width)]
        if not entry.pairings:
            out += ["", "Typical remark codes:", *_code_lines(entry.typical_remarks, width)]
    elif entry.kind == "RARC" and entry.in_reference:
        out += playbook_lines(entry, width)
        out += ["", "Adjustment codes that typically carry it:", *_code_lines(entry.typical_remarks, width)]
    out += ["", *figure_lines(entry, width)]
    return "\n".join(line.rstrip() for line in out) + "\n"
