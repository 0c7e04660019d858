"""How the leadership report writes figures: dollars, counts, rates, changes, HTML tables and SVG charts.

Every printed figure goes through these functions, so the tests can format a hand-worked value the same
way and look for it in the page. Money stays ``Decimal`` until it is printed; only chart coordinates are
handed to Vega-Lite as JSON numbers (the axis scale), never a printed figure.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def money(value: Decimal | int | None) -> str:
    """``Decimal('-1234.5')`` -> ``'-$1,234.50'``; None -> ``'–'``."""
    if value is None:
        return "–"
    amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def count(value: int | None) -> str:
    """``1234`` -> ``'1,234'``."""
    return "–" if value is None else f"{int(value):,}"


def plural(n: int, word: str, words: str | None = None) -> str:
    """``plural(1, 'claim')`` -> ``'1 claim'``; ``plural(1200, 'claim')`` -> ``'1,200 claims'``."""
    return f"{count(n)} {word if n == 1 else (words or word + 's')}"


def ratio(numerator: Decimal | int | None, denominator: Decimal | int | None) -> Decimal | None:
    """``numerator / denominator`` as an exact-enough Decimal ratio; None when the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


def days(value: Decimal | int | None) -> str:
    """``Decimal('23.5')`` -> ``'23.5 days'``; None -> ``'–'``."""
    return "–" if value is None else f"{Decimal(value):,.1f} days"


def signed_days(value: Decimal | int | None) -> str:
    """``Decimal('-2.5')`` -> ``'-2.5 days'``; None -> ``'n/a'``."""
    if value is None:
        return "n/a"
    v = Decimal(value)
    return f"{'+' if v > 0 else ''}{v:,.1f} days"


def pct(rate: Decimal | None, places: int = 1) -> str:
    """A ratio as a percentage: ``Decimal('0.1234')`` -> ``'12.3 %'``; None -> ``'–'``."""
    if rate is None:
        return "–"
    value = (Decimal(rate) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{value:,.{places}f} %"


def change_pct(current: Decimal | int | None, previous: Decimal | int | None) -> Decimal | None:
    """Relative change ``current / previous - 1``; None when there is no previous figure to compare with."""
    if current is None or previous is None or Decimal(previous) == 0:
        return None
    return Decimal(current) / Decimal(previous) - 1


def signed_pct(change: Decimal | None) -> str:
    """``Decimal('0.12')`` -> ``'+12.0 %'``; None -> ``'n/a'``."""
    if change is None:
        return "n/a"
    value = (change * 100).quantize(TENTH, rounding=ROUND_HALF_UP)
    return f"{'+' if value > 0 else ''}{value:,.1f} %"


def points(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    """Change of a rate in percentage points (``0.10`` -> ``0.12`` is ``+2.0``); None if either is missing."""
    if current is None or previous is None:
        return None
    return (Decimal(current) - Decimal(previous)) * 100


def signed_points(value: Decimal | None) -> str:
    """``Decimal('1.25')`` -> ``'+1.3 pts'``; None -> ``'n/a'``."""
    if value is None:
        return "n/a"
    v = value.quantize(TENTH, rounding=ROUND_HALF_UP)
    return f"{'+' if v > 0 else ''}{v:,.1f} pts"


def month_label(month: str) -> str:
    """``'2025-06'`` -> ``'June 2025'``."""
    year, mon = month.split("-")
    return f"{MONTH_NAMES[int(mon) - 1]} {year}"


def short_month(month: str) -> str:
    """``'2025-06'`` -> ``'Jun 2025'``."""
    return month_label(month)[:3] + " " + month[:4]


def esc(text: object) -> str:
    """HTML-escape any value (None -> empty)."""
    return "" if text is None else html.escape(str(text), quote=True)


def carc_link(code: str, group: str | None = None) -> str:
    """``CO-16`` linked to the handbook page ``handbook/carc-16.html`` (relative to ``reports/``)."""
    label = f"{group}-{code}" if group else code
    return f'<a href="handbook/carc-{esc(code)}.html">{esc(label)}</a>'


def rarc_links(codes: str | None) -> str:
    """Remark codes (separated by spaces or commas), each linked to ``handbook/rarc-<code>.html``; '–' when
    none."""
    if not codes:
        return "–"
    return ", ".join(
        f'<a href="handbook/rarc-{esc(c)}.html">{esc(c)}</a>' for c in codes.replace(",", " ").split() if c
    )


# ref.carc_group_guidance.action codes in plain words (reference/README.md lists the codes)
ACTION_LABELS = {
    "write_off": "Write off; do not bill the patient",
    "bill_patient": "Bill the patient",
    "correct_and_resubmit": "Correct the claim and resubmit",
    "appeal": "Appeal with supporting documents",
    "review_and_decide": "Review, then appeal, resubmit or write off",
    "submit_to_other_plan": "Submit to the other plan",
    "none": "No action needed",
}


def action_label(code: str | None) -> str:
    """A guidance action code in plain words (an unknown code is shown with spaces for underscores)."""
    if not code:
        return "–"
    return ACTION_LABELS.get(code, code.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Column:
    """One table column: header, how to get the cell from a row, and how to print it."""

    header: str
    key: str | Callable[[dict[str, Any]], Any]
    kind: str = "text"  # text | label (text, no wrap) | html (already safe) | code (html, no wrap) | money …

    def cell(self, row: dict[str, Any]) -> str:
        value = self.key(row) if callable(self.key) else row.get(self.key)
        if self.kind == "money":
            return money(value)
        if self.kind == "count":
            return count(value)
        if self.kind == "pct":
            return pct(value)
        if self.kind == "days":
            return days(value)
        if self.kind in ("html", "code"):
            return "" if value is None else str(value)
        return esc(value)

    @property
    def numeric(self) -> bool:
        return self.kind in ("money", "count", "pct", "days")


def _css(column: Column) -> str:
    """The cell's class attribute (numbers right-aligned, codes and months unwrapped), or nothing."""
    css = "num" if column.numeric else ("nowrap" if column.kind in ("code", "label") else "")
    return f' class="{css}"' if css else ""


def table(
    columns: Sequence[Column],
    rows: Iterable[dict[str, Any]],
    *,
    caption: str | None = None,
    total: dict[str, Any] | None = None,
    empty: str = "Nothing to show for this period.",
) -> str:
    """An HTML table of ``rows``; ``total`` adds a bold last row; an empty table becomes a short note."""
    rows = list(rows)
    if not rows:
        return f'<p class="empty">{esc(empty)}</p>'
    head = "".join(f"<th{_css(c)}>{esc(c.header)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = "".join(f"<td{_css(c)}>{c.cell(row)}</td>" for c in columns)
        body.append(f"<tr>{cells}</tr>")
    if total is not None:
        cells = "".join(f"<td{_css(c)}>{c.cell(total)}</td>" for c in columns)
        body.append(f'<tr class="total">{cells}</tr>')
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<table class="figures">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def reading(text: str) -> str:
    """The plain-language reading of a chart or table, as a highlighted paragraph (``text`` is escaped)."""
    return f'<p class="reading">{esc(text)}</p>'


def svg(chart: Any) -> str:
    """Render an altair chart to an inline SVG string with vl-convert (no browser, no network)."""
    import vl_convert

    spec = chart.to_dict()
    svg_text = vl_convert.vegalite_to_svg(spec)
    # vl-convert starts with an XML declaration, which is not allowed inside an HTML body.
    if svg_text.startswith("<?xml"):
        svg_text = svg_text[svg_text.index("?>") + 2 :].lstrip()
    return svg_text


def figure(chart: Any, caption: str) -> str:
    """An inline-SVG chart with a caption, as one HTML block."""
    return f'<figure class="chart">{svg(chart)}<figcaption>{esc(caption)}</figcaption></figure>'
