"""The static HTML handbook: ``<home>/reports/handbook/index.html`` plus one page per code.

Pages are written for every current CARC and RARC, every crossover CARC and every code seen in the
warehouse (``carc-<code>.html``, ``rarc-<code>.html``); the leadership report links its denial tables to
them. A page shows this organisation's figures only for a code seen here, and the code's playbook
(``reference/carc_playbook.csv``, ``rarc_playbook.csv``) when it has one. The index lists every CARC and
RARC of the reference lists and searches them in the page with a few lines of inline script. Everything
is self-contained: inline CSS, inline SVG, no external scripts, fonts, styles or images, so the folder
can be mailed or opened from a file share.

The folder is written beside the old one and swapped in with two renames, so a reader never sees half a
handbook.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

from pipeline.handbook.codes import ParsedCode, sort_codes
from pipeline.handbook.entry import (
    CodeEntry,
    CodeRef,
    Sources,
    build_entry,
    open_sources,
    procedure_label,
    words,
    yes_no,
)
from pipeline.handbook.figures import Figures, MonthPoint, window_totals
from pipeline.home import Home
from pipeline.log import get_logger
from pipeline.present.charts import month_bars, num
from pipeline.present.format import count, esc, money, pct
from pipeline.present.tables import cells_table

log = get_logger("handbook")

HANDBOOK_DIR = "handbook"
_SAFE = re.compile(r"^[A-Z0-9]{1,8}$")  # codes from the lake become file names only in this shape

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2733;
margin:0;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:20px 28px 40px;background:#fff;min-height:100vh}
nav{font-size:13px;margin-bottom:8px}a{color:#0b5cad;text-decoration:none}a:hover{text-decoration:underline}
h1{font-size:26px;margin:4px 0 2px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid #e3e7ec;
padding-bottom:3px}h3{font-size:15px;margin:18px 0 6px}
.lead{font-size:17px;margin:4px 0 10px}.muted{color:#5d6b7a;font-size:13px}
.tag{display:inline-block;font-size:12px;padding:1px 8px;margin:0 4px 4px 0;border-radius:10px;
background:#e8eef5;color:#24415f}.tag.deny{background:#fbe3e1;color:#8a1c12}.tag.x{background:#e6f3e9;
color:#1d5b2c}
table{border-collapse:collapse;margin:4px 0 8px;font-size:14px}
th,td{border-bottom:1px solid #e3e7ec;padding:4px 10px 4px 0;text-align:left;vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:#5d6b7a;font-weight:600}
#codes td:first-child,td.num{white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.here td,tr:target td{background:#fff6d6}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0}
.card{border:1px solid #e3e7ec;border-radius:6px;padding:8px 14px;min-width:130px}
.card b{display:block;font-size:21px}.card span{font-size:12px;color:#5d6b7a}
.note{background:#f1f4f8;border-left:4px solid #8aa4c1;padding:8px 12px;margin:10px 0}
.cols{display:flex;gap:36px;flex-wrap:wrap}.cols>div{flex:1 1 320px}
#q{font-size:15px;padding:6px 10px;width:340px;max-width:100%;border:1px solid #b9c4cf;border-radius:4px}
svg text{font-family:inherit}svg{max-width:100%;height:auto}.nw{white-space:nowrap}
.id{word-break:break-all}
@media (max-width:900px){main{padding:14px 14px 30px}table{font-size:13px}th,td{padding-right:6px}
th{letter-spacing:0}.cols{gap:0 24px}}
"""

# The index's search. A query shaped like a code as a remittance prints it (CO-289, co 289, 289, 045,
# pr-1, N10, ma130) matches codes only: the exact code first, then codes that start with it, then rows
# whose category or summary has it as a whole word; never the count or dollar columns. A group code
# (CO, PR, OA, PI, CR) in front keeps CARCs only. Other queries match every word in the code, category
# or summary, exact and prefix code matches first. Enter opens the first row's page. index.html#carc-4
# shows every row with CARC 4 highlighted; index.html?q=CO-289 searches on opening.
INDEX_SCRIPT = r"""
const q=document.getElementById('q'),kind=document.getElementById('kind');
const seen=document.getElementById('seen');
const body=document.querySelector('#codes tbody'),rows=[...body.rows],count=document.getElementById('count');
rows.forEach((r,i)=>{r.i=i;r.code=r.dataset.code.toUpperCase();
r.text=(r.cells[3].textContent+' '+r.cells[4].textContent).toLowerCase();});
const SHAPE=/^[A-Z]{0,2}\d+$/;
function parse(t){let s=t.toUpperCase().replace(/[\s_:.-]+/g,''),group=null;
const m=s.match(/^(CO|PR|OA|PI|CR)(.+)$/);if(m&&SHAPE.test(m[2])){group=m[1];s=m[2];}
if(!SHAPE.test(s))return null;if(/^\d+$/.test(s))s=s.replace(/^0+(?=\d)/,'');return {code:s,group};}
function esc(s){return s.replace(/[.*+?^${}()|[\]\\]/g,'\\$&');}
function rank(r,t,c){if(c){if(c.group&&r.dataset.kind!=='CARC')return -1;
if(r.code===c.code)return 0;if(r.code.startsWith(c.code))return 1;
return new RegExp('(^|[^a-z0-9])'+esc(c.code.toLowerCase())+'($|[^a-z0-9])').test(r.text)?2:-1;}
const u=t.toUpperCase().replace(/\s+/g,'');if(r.code===u)return 0;
const hay=r.code.toLowerCase()+' '+r.text;
if(!t.split(/\s+/).every(w=>hay.includes(w)))return -1;return r.code.startsWith(u)?1:2;}
function filter(){const t=q.value.trim().toLowerCase(),c=t?parse(t):null,hits=[],rest=[];
for(const r of rows){let k=t?rank(r,t,c):2;
if(k>=0&&kind.value&&r.dataset.kind!==kind.value)k=-1;if(k>=0&&seen.checked&&r.dataset.seen!=='1')k=-1;
r.hidden=k<0;(k<0?rest:hits).push([k,r]);}
hits.sort((a,b)=>a[0]-b[0]||a[1].i-b[1].i);const f=document.createDocumentFragment();
for(const [,r] of hits)f.appendChild(r);for(const [,r] of rest)f.appendChild(r);body.appendChild(f);
count.textContent=hits.length;}
function first(){const r=body.querySelector('tr:not([hidden])'),a=r&&r.querySelector('a');
if(a)location.href=a.href;}
function target(){const r=location.hash&&document.getElementById(location.hash.slice(1));
if(r&&r.parentNode===body){q.value='';kind.value='';seen.checked=false;filter();
r.scrollIntoView({block:'center'});}}
q.addEventListener('input',filter);kind.addEventListener('change',filter);seen.addEventListener('change',filter);
q.addEventListener('keydown',e=>{if(e.key==='Enter')first();});window.addEventListener('hashchange',target);
const asked=new URLSearchParams(location.search).get('q');if(asked)q.value=asked;filter();target();
"""


def _doc(title: str, body: str, script: str = "") -> str:
    js = f"<script>{script}</script>" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body><main>\n{body}\n</main>{js}</body></html>\n"
    )


class Links:
    """Where a code links to: its page when one is written, else its row in the index."""

    def __init__(self, pages: set[tuple[str, str]]):
        self.pages = pages

    def href(self, kind: str, code: str) -> str:
        name = f"{kind.lower()}-{code}"
        return f"{name}.html" if (kind, code) in self.pages else f"index.html#{name}"

    def a(self, kind: str, code: str, text: str | None = None) -> str:
        return f'<a href="{esc(self.href(kind, code))}">{esc(text or code)}</a>'


def trend_svg(months: list[MonthPoint]) -> str:
    """A code's trend as inline SVG: dollars per month as bars with the count above each
    (``pipeline.present.charts.month_bars``, drawn in a tenth of a millisecond)."""
    data = [
        {"month": m.month, "value": num(m.dollars), "text": count(m.count) if m.count else ""} for m in months
    ]
    return month_bars(data, y_title="Dollars ($)")


def _table(headers: list[tuple[str, bool]], rows: list[list[str]], row_class: list[str] | None = None) -> str:
    """A table; ``headers`` are (label, numeric); cells are already-escaped HTML (pipeline.present)."""
    return cells_table(headers, rows, row_class)


def _id(value: str | None, missing: str) -> str:
    """A claim number or line key: long digit runs may break anywhere rather than widen the page."""
    return f'<span class="id">{esc(value)}</span>' if value else esc(missing)


def _code_list(refs: list[CodeRef], links: Links) -> str:
    if not refs:
        return '<p class="muted">(none listed)</p>'
    items = "".join(f"<li>{links.a(r.kind, r.code)} {esc(r.summary or '')}</li>" for r in refs)
    return f"<ul>{items}</ul>"


def _reference_html(entry: CodeEntry, links: Links) -> str:
    out = []
    if not entry.in_reference:
        out.append(
            '<p class="note">This code is not in the reference lists, but payers sent it: check the payer\'s '
            "companion guide, or import the official list (<code>remit reference import</code>).</p>"
        )
        return "".join(out)
    tags = [
        f'<span class="tag">{esc(entry.status)}</span>',
        f'<span class="tag">{esc(words(entry.category))}</span>',
    ]
    for flag in entry.flags:
        cls = " deny" if flag == "denial" else (" x" if "crossover" in flag else "")
        tags.append(f'<span class="tag{cls}">{esc(flag)}</span>')
    out.append(f"<p>{''.join(tags)}</p>")
    dates = [
        (n, v)
        for n, v in (
            ("first published", entry.start_date),
            ("last modified", entry.last_modified_date),
            ("stop date", entry.stop_date),
        )
        if v is not None
    ]
    if dates:
        out.append('<p class="muted">' + " · ".join(f"{esc(n)} {esc(v)}" for n, v in dates) + "</p>")
    if entry.official_description:
        out.append(f"<h3>Official wording (imported list)</h3><p>{esc(entry.official_description)}</p>")
    if entry.guidance:
        fig = entry.figures
        here = {r.key: r for r in fig.by_group} if fig and fig.by_group else {}
        headers = [
            ("group", False),
            ("who pays", False),
            ("bill patient", False),
            ("appealable", False),
            ("action", False),
            ("patient impact", False),
            ("provider absorbs", False),
        ]
        if here:
            headers += [("here, 12 mo", True), ("dollars", True)]
        rows, classes = [], []
        for g in entry.guidance:
            row = [
                f"<b>{esc(g.group_code)}</b> {esc(g.group_name)}",
                esc(words(g.who_pays)),
                esc(yes_no(g.patient_billable)),
                esc(yes_no(g.appealable)),
                esc(words(g.action)),
                esc(g.patient_impact or "-"),
                esc(words(g.absorbed_category) if g.is_provider_absorbed else "no"),
            ]
            if here:
                r = here.get(g.group_code)
                row += [count(r.count) if r else "0", esc(money(r.dollars)) if r else "-"]
            rows.append(row)
            classes.append("here" if g.group_code == entry.group_code or (g.group_code in here) else "")
        out.append("<h2>By group code</h2>")
        out.append(
            '<p class="muted">The same CARC means different things under each group code. '
            "Highlighted: filed with it here.</p>"
            if here
            else ""
        )
        out.append(_table(headers, rows, classes))
    book = entry.playbook
    if entry.kind == "CARC":
        if book and (book.causes or book.steps):
            out.append(_playbook_html(entry, links))
        else:
            out.append('<div class="cols"><div><h2>Common causes</h2>')
            out.append(f"<p>{esc(entry.common_causes or '(not written for this code)')}</p></div>")
            out.append(
                f"<div><h2>How to resolve</h2>"
                f"<p>{esc(entry.resolution_steps or '(not written for this code)')}</p>"
            )
            out.append("</div></div>")
            out.append(_playbook_html(entry, links))
        remarks = (
            ""
            if entry.pairings
            else "<div><h2>Typical remark codes</h2>" + _code_list(entry.typical_remarks, links) + "</div>"
        )
        out.append(
            '<div class="cols"><div><h2>Related codes</h2>'
            + _code_list(entry.related, links)
            + "</div>"
            + remarks
            + "</div>"
        )
    else:
        out.append(_playbook_html(entry, links))
        out.append(
            "<h2>Adjustment codes that typically carry it</h2>" + _code_list(entry.typical_remarks, links)
        )
    return "".join(out)


def _items(texts: list[str], tag: str = "ul") -> str:
    return f"<{tag}>" + "".join(f"<li>{esc(t)}</li>" for t in texts) + f"</{tag}>"


def _playbook_html(entry: CodeEntry, links: Links) -> str:
    """The playbook sections a code has: causes with how often, numbered steps, appeal guide, remark
    pairings, examples and patient impact (the short answer is in the page head)."""
    book = entry.playbook
    if book is None:
        return ""
    out = []
    if book.causes:
        out.append('<h2 id="causes">Common causes</h2><ul class="causes">')
        for c in book.causes:
            freq = c.frequency or "unrated"
            cls = {"most common": " deny", "common": ""}.get(freq, " x")
            out.append(f'<li><span class="tag{cls}">{esc(freq)}</span> {esc(c.text)}</li>')
        out.append("</ul>")
    if book.steps:
        out.append(
            f'<h2 id="steps">{"How to resolve" if entry.kind == "CARC" else "How to fix"}</h2>'
            + _items(book.steps, "ol")
        )
    if book.appeal:
        out.append('<h2 id="appeal">Appeal guide</h2>' + _items(book.appeal))
    if entry.pairings:
        out.append('<h2 id="pairings">Remark codes that often come with it</h2>')
        out.append(
            _table(
                [("remark", False), ("meaning", False), ("why together", False)],
                [[links.a("RARC", r.code), esc(r.summary or ""), esc(why)] for r, why in entry.pairings],
            )
        )
    if book.examples:
        out.append('<h2 id="examples">Examples</h2>' + _items(book.examples))
    if book.patient_impact:
        out.append('<h2 id="patient-impact">Patient impact</h2>' + _items(book.patient_impact))
    return "".join(out)


def _figures_html(entry: CodeEntry, links: Links) -> str:
    fig: Figures | None = entry.figures
    out = ["<h2>At this organisation</h2>"]
    if fig is None:
        out.append(f'<p class="note">{esc(entry.warehouse_note)}</p>')
        return "".join(out)
    if fig.all_time_count == 0:
        out.append(
            f'<p class="note">Never seen in this warehouse\'s remittances (the last 12 payment months are '
            f"{esc(fig.first_month)} to {esc(fig.last_month)}).</p>"
        )
        return "".join(out)
    what = "adjustments" if fig.kind == "CARC" else "times sent"
    dollars_what = "dollars" if fig.kind == "CARC" else "CO/OA/PI dollars on the items"
    out.append(
        f'<p class="muted">Last 12 payment months in the warehouse, {esc(fig.first_month)} to '
        f"{esc(fig.last_month)}"
        + (f"; {esc(entry.group_code)} only" if entry.group_code else "")
        + f". All months: {count(fig.all_time_count)} {what}, {esc(money(fig.all_time_dollars))}.</p>"
    )
    cards = [(count(fig.count), what), (money(fig.dollars), dollars_what)]
    if fig.claims is not None:
        cards.append((count(fig.claims), "claims"))
    cards += [
        (fig.trend, "trend (last 3 months vs 3 before)"),
        (count(fig.open_count), "open worklist items"),
        (money(fig.open_dollars), "at stake in the worklist"),
    ]
    out.append(
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for v, k in cards)
        + "</div>"
    )
    if fig.count == 0:
        out.append('<p class="note">Not seen in the last 12 payment months.</p>')
        return "".join(out)
    out.append("<h3>Trend by payment month (bars: dollars; numbers: count)</h3>" + trend_svg(fig.months))
    if fig.by_group and not entry.guidance:
        out.append("<h3>By group code</h3>")
        out.append(
            _table(
                [
                    ("group", False),
                    ("adjustments", True),
                    ("claims", True),
                    ("dollars", True),
                    ("share", True),
                ],
                [
                    [
                        esc(r.key),
                        count(r.count),
                        count(r.claims or 0),
                        esc(money(r.dollars)),
                        esc(pct(r.share)),
                    ]
                    for r in fig.by_group
                ],
            )
        )
    by = "dollars" if fig.kind == "CARC" else "times sent"
    out.append(f'<div class="cols"><div><h3>Top payers (by {by})</h3>')
    out.append(
        _table(
            [("payer", False), (what, True), ("dollars", True), ("share", True)],
            [
                [
                    f'{esc(r.label or "-")} <span class="muted">{esc(r.key)}</span>',
                    count(r.count),
                    esc(money(r.dollars)),
                    esc(pct(r.share)),
                ]
                for r in fig.top_payers
            ],
        )
    )
    out.append(f"</div><div><h3>Top procedure codes (by {by})</h3>")
    out.append(
        _table(
            [("procedure", False), (what, True), ("dollars", True), ("share", True)],
            [
                [
                    esc(procedure_label(r.key, r.label)),
                    count(r.count),
                    esc(money(r.dollars)),
                    esc(pct(r.share)),
                ]
                for r in fig.top_procedures
            ],
        )
    )
    out.append("</div></div>")
    if fig.kind == "CARC":
        out.append("<h3>Remark codes seen with it here</h3>")
        out.append(
            '<p class="muted">Share of its adjustments that came with the remark (an adjustment may carry '
            "several, so shares do not add up to 100%).</p>"
        )
        out.append(
            _table(
                [("remark", False), ("adjustments", True), ("share", True), ("meaning", False)],
                [
                    [
                        links.a("RARC", r.key) if r.key else "(no remark)",
                        count(r.count),
                        esc(pct(r.share)),
                        esc(r.label or ""),
                    ]
                    for r in fig.pairings
                ],
            )
        )
    else:
        out.append("<h3>Adjustment codes seen with it here</h3>")
        out.append(
            _table(
                [
                    ("code", False),
                    ("adjustments", True),
                    ("dollars", True),
                    ("share", True),
                    ("meaning", False),
                ],
                [
                    [
                        links.a("CARC", (r.key or "-").split("-", 1)[-1], r.key),
                        count(r.count),
                        esc(money(r.dollars)),
                        esc(pct(r.share)),
                        esc(r.label or ""),
                    ]
                    for r in fig.pairings
                ],
            )
        )
    out.append(
        f"<h3>Largest open items ({count(fig.open_count)} open on the worklists, "
        f"{esc(money(fig.open_dollars))})</h3>"
    )
    if fig.open_items:
        out.append(
            _table(
                [
                    ("worklist", False),
                    ("first denied", False),
                    ("payer", False),
                    ("claim (CLP07)", False),
                    ("line", False),
                    ("code", False),
                    ("at stake", True),
                    ("age (days)", True),
                    ("days left", True),
                    ("action", False),
                    ("remarks", False),
                ],
                [
                    [
                        esc(i.worklist),
                        f'<span class="nw">{esc(i.first_denied_date)}</span>',
                        esc(i.payer_name or "-"),
                        _id(i.payer_claim_control_number, "-"),
                        _id(i.line_key, "(claim)"),
                        f'<span class="nw">{esc(i.group_code)}-{esc(i.reason_code)}</span>',
                        esc(money(i.dollars_at_stake)),
                        count(i.age_days),
                        count(i.days_left),
                        esc(words(i.action)),
                        esc(i.remark_codes or ""),
                    ]
                    for i in fig.open_items
                ],
            )
        )
    else:
        out.append('<p class="muted">None.</p>')
    return "".join(out)


def page_html(entry: CodeEntry, links: Links, generated: str) -> str:
    """One code's page: the same content as the terminal entry, plus the trend chart."""
    head = (
        f'<nav><a href="index.html">Denial-code handbook</a> › {esc(entry.kind)}</nav>'
        f"<h1>{esc(entry.kind)} {esc(entry.code)}</h1>"
        f'<p class="lead">{esc(entry.summary or "Not in the reference lists.")}</p>'
    )
    if entry.playbook and entry.playbook.tldr:
        head += f'<p class="note tldr"><b>In short:</b> {esc(" ".join(entry.playbook.tldr))}</p>'
    foot = f'<p class="muted" style="margin-top:30px">{esc(generated)}</p>'
    return _doc(
        f"{entry.kind} {entry.code}",
        head + _reference_html(entry, links) + _figures_html(entry, links) + foot,
    )


def index_html(src: Sources, links: Links, generated: str) -> str:
    """Every CARC and RARC with status, category and summary; filterable in the page."""
    totals = {}
    if src.has_warehouse and src.last_month:
        totals = src.book.totals() if src.book is not None else window_totals(src.con)
    rows: list[list[str]] = []
    attrs: list[str] = []
    listed: list[tuple[str, str, dict]] = [
        ("CARC", c, src.ref.carc[c]) for c in sort_codes(list(src.ref.carc))
    ]
    listed += [("RARC", c, src.ref.rarc[c]) for c in sort_codes(list(src.ref.rarc))]
    # codes payers sent that the lists do not know still get a row (and a page)
    for kind, code in sorted(links.pages):
        table = src.ref.carc if kind == "CARC" else src.ref.rarc
        if code not in table:
            listed.append((kind, code, {"status": "not in list", "category": None, "summary": None}))
    for kind, code, r in listed:
        n, d = totals.get((kind, code), (0, None))
        attrs.append(
            f'id="{kind.lower()}-{esc(code)}" data-kind="{kind}" data-code="{esc(code)}" '
            f'data-seen="{1 if n else 0}"'
        )
        rows.append(
            [
                links.a(kind, code) if (kind, code) in links.pages else esc(code),
                kind,
                esc(r["status"]),
                esc(words(r["category"]) if r["category"] else ""),
                esc(r["summary"] or ""),
                count(n) if n else "",
                esc(money(d)) if n else "",
            ]
        )
    window = ""
    if totals or (src.has_warehouse and src.last_month):
        from pipeline.handbook.figures import window_months

        w = window_months(src.con)
        window = f" Counts and dollars: last 12 payment months in the warehouse, {w[0]} to {w[-1]}."
    note = "" if src.has_warehouse else f'<p class="note">{esc(src.note)}</p>'
    body = (
        "<h1>Denial-code handbook</h1>"
        '<p class="lead">What each adjustment reason code (CARC) and remark code (RARC) means, and what it '
        "cost this organisation.</p>"
        '<p class="muted">Linked codes have a page: every current code, and every code seen in the '
        "warehouse; deactivated codes never seen here have a row only."
        f"{esc(window)} CARC counts are adjustments; RARC counts are times sent.</p>{note}"
        '<p><input id="q" type="search" placeholder="Search code, category or words" autofocus> '
        '<select id="kind"><option value="">CARC and RARC</option><option value="CARC">CARC</option>'
        '<option value="RARC">RARC</option></select> '
        '<label><input id="seen" type="checkbox"> seen here in the last 12 months</label> '
        '<span class="muted"><span id="count"></span> shown</span></p>'
        + cells_table(
            [
                ("code", False),
                ("list", False),
                ("status", False),
                ("category", False),
                ("summary", False),
                ("count", True),
                ("dollars", True),
            ],
            rows,
            table_id="codes",
            row_attrs=attrs,
        )
        + f'<p class="muted">{esc(generated)}</p>'
    )
    return _doc("Denial-code handbook", body, INDEX_SCRIPT)


def _page_codes(src: Sources) -> list[tuple[str, str]]:
    """Every current CARC and RARC, every crossover CARC, and every code seen in the warehouse."""
    current_carcs = {c for c, r in src.ref.carc.items() if r["status"] == "current" or r["is_crossover"]}
    current_rarcs = {c for c, r in src.ref.rarc.items() if r["status"] == "current"}
    carcs = {c for c in src.seen_carcs | current_carcs if _SAFE.match(c or "")}
    rarcs = {c for c in src.seen_rarcs | current_rarcs if _SAFE.match(c or "")}
    return [("CARC", c) for c in sort_codes(list(carcs))] + [("RARC", c) for c in sort_codes(list(rarcs))]


def _swap_in(tmp: Path, target: Path) -> None:
    """Replace ``target`` by ``tmp`` with two renames (the old copy is removed afterwards)."""
    old = target.with_name(f"{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def render_handbook(home: Home) -> Path:
    """Write the HTML handbook into ``<home>/reports/handbook/`` and return the path of its ``index.html``."""
    target = home.reports / HANDBOOK_DIR
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.building-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        with open_sources(home, every_code=True) as src:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            source = (
                f"figures from {home.warehouse} (latest payment month {src.last_month})"
                if src.has_warehouse and src.last_month
                else (src.note or "no warehouse")
            )
            generated = (
                f"Generated {stamp} by remit handbook; {source}. Meanings are the project's own words."
            )
            codes = _page_codes(src)
            links = Links(set(codes))
            entries = [
                build_entry(ParsedCode(query=code, group_code=None, code=code), src, kind=kind)
                for kind, code in codes
            ]
            for entry in entries:
                (tmp / entry.page_name).write_text(page_html(entry, links, generated), encoding="utf-8")
            (tmp / "index.html").write_text(index_html(src, links, generated), encoding="utf-8")
        _swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("handbook: %d code pages and the index in %s", len(codes), target)
    return target / "index.html"
