"""HTML tables of the report and the handbook: one builder, one set of CSS classes.

``table(columns, rows)`` prints rows of a view through :class:`Column` (each column says how its cells are
printed); ``cells_table(headers, rows)`` lays out cells already printed (the handbook's tables). Both give
``<table class="figures">`` with numeric cells of class ``num`` (right-aligned, unwrapped): the report's
and the handbook's stylesheets style that one markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.present.format import count, days, esc, money, pct


@dataclass(frozen=True)
class Column:
    """One table column: header, how to get the cell from a row, and how to print it."""

    header: str
    key: str | Callable[[dict[str, Any]], Any]
    kind: str = "text"  # text | label (text, no wrap) | html (already safe) | code (html, no wrap) | money …
    wide: bool = False  # a low-priority column, hidden on narrow screens (class "wide")

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
    if column.wide:
        css = f"{css} wide".strip()
    return f' class="{css}"' if css else ""


def table(
    columns: Sequence[Column],
    rows: Iterable[dict[str, Any]],
    *,
    caption: str | None = None,
    total: dict[str, Any] | None = None,
    empty: str = "Nothing to show for this period.",
) -> str:
    """An HTML table of ``rows``; ``total`` adds a bold last row; an empty table becomes a short note; a
    row with a ``_note`` shows its first cell and the note across the other columns (a month without
    data is said to be so, never printed as zeros)."""
    rows = list(rows)
    if not rows:
        return f'<p class="empty">{esc(empty)}</p>'
    head = "".join(f"<th{_css(c)}>{esc(c.header)}</th>" for c in columns)
    body = []
    for row in rows:
        if row.get("_note") is not None:  # a row with nothing to show: its first cell, then the note
            first = columns[0]
            span = f'<td colspan="{len(columns) - 1}" class="gap">{esc(row["_note"])}</td>'
            body.append(f"<tr><td{_css(first)}>{first.cell(row)}</td>{span}</tr>")
            continue
        cells = "".join(f"<td{_css(c)}>{c.cell(row)}</td>" for c in columns)
        body.append(f"<tr>{cells}</tr>")
    if total is not None:
        cells = "".join(f"<td{_css(c)}>{c.cell(total)}</td>" for c in columns)
        body.append(f'<tr class="total">{cells}</tr>')
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<table class="figures">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def cells_table(
    headers: Sequence[tuple[str, bool]],
    rows: Iterable[Sequence[str]],
    row_class: Sequence[str] | None = None,
    *,
    table_id: str | None = None,
    row_attrs: Sequence[str] | None = None,
) -> str:
    """A table of cells already printed as safe HTML; ``headers`` are (label, numeric), numeric cells get
    the class ``num``. ``row_class`` gives each row a class (empty for none), ``row_attrs`` each row more
    attributes already escaped (``id="carc-4" data-code="4"``), ``table_id`` the table an id."""
    head = "".join(f'<th class="num">{esc(h)}</th>' if n else f"<th>{esc(h)}</th>" for h, n in headers)
    body = []
    for i, r in enumerate(rows):
        attrs = f" {row_attrs[i]}" if row_attrs and row_attrs[i] else ""
        cls = f' class="{row_class[i]}"' if row_class and row_class[i] else ""
        cells = "".join(
            f'<td class="num">{c}</td>' if headers[j][1] else f"<td>{c}</td>" for j, c in enumerate(r)
        )
        body.append(f"<tr{attrs}{cls}>{cells}</tr>")
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return (
        f'<table{ident} class="figures"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )
