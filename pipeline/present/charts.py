"""Charts of the report and the handbook: Altair specs rendered to inline SVG by vl-convert.

The rules every chart here follows, so a reader can take it in at a glance:

- at most :data:`MAX_SERIES` series (the views give the top few and one "Other"); more raises ``ValueError``;
- a month without data is a gap: its value is ``None`` and a line breaks there instead of joining across;
- colour keeps one meaning: :data:`WORSE` (red) only for what is bad (denied, lost), :data:`BETTER` only for
  what is good, series colours otherwise (none of them red or green), grey for "Other";
- every axis says its unit (``$``, ``%``, ``days``, ``lines``) in its title;
- the SVG scales down to its container (``width: 100%``), so a chart never makes the page wider than the
  window.

Chart coordinates are plain JSON numbers (the axis scale); no printed figure comes from a chart.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pipeline.present.format import esc

MAX_SERIES = 8
WORSE = "#b42318"
BETTER = "#067647"
NEUTRAL = "#1f5f8b"
OTHER = "#9aa5b1"
# distinct series colours, none red or green (those carry "worse" and "better")
SERIES = ("#1f5f8b", "#e07b00", "#6f42c1", "#0e8a8a", "#c2185b", "#7a5c00", "#4f6d7a")
WIDTH = 760
HEIGHT = 230
MONEY_AXIS = "$,.0f"
RATE_AXIS = ".0%"


def num(value: Decimal | int | None) -> float | None:
    """A chart coordinate (Vega-Lite data are JSON numbers); ``None`` stays a gap."""
    return None if value is None else float(value)


def colours(series: Sequence[str], fixed: dict[str, str] | None = None) -> list[str]:
    """One colour per series, in order: ``fixed`` ones first (e.g. ``{"Denied": WORSE}``), grey for a label
    starting with "Other", the series palette for the rest. Raises ``ValueError`` past ``MAX_SERIES``."""
    if len(series) > MAX_SERIES:
        raise ValueError(f"{len(series)} series in one chart; at most {MAX_SERIES} (top N and 'Other')")
    fixed = fixed or {}
    out, palette = [], iter(SERIES)
    for label in series:
        if label in fixed:
            out.append(fixed[label])
        elif label.lower().startswith("other"):
            out.append(OTHER)
        else:
            out.append(next(palette, OTHER))
    return out


def _color(field: str, series: Sequence[str], title: str | None, fixed: dict[str, str] | None) -> Any:
    import altair as alt

    return alt.Color(
        f"{field}:N",
        title=title,
        sort=list(series),
        scale=alt.Scale(domain=list(series), range=colours(series, fixed)),
        legend=alt.Legend(orient="top", labelLimit=260, columns=4) if len(series) > 1 else None,
    )


def _month_x(months: Sequence[str]) -> Any:
    import altair as alt

    return alt.X(
        "month:O", sort=list(months), title="Payment month", axis=alt.Axis(labelAngle=-40, labelOverlap=True)
    )


def line_chart(
    data: list[dict[str, Any]],
    *,
    months: Sequence[str],
    series: Sequence[str],
    y_title: str,
    y_format: str = RATE_AXIS,
    fixed: dict[str, str] | None = None,
    height: int = HEIGHT,
) -> Any:
    """Lines over months (``data``: month, series, value); a ``None`` value breaks its line (a gap)."""
    import altair as alt

    return (
        alt.Chart(alt.Data(values=data))
        .mark_line(point=True, invalid="break-paths-show-domains")
        .encode(
            x=_month_x(months),
            y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=y_format)),
            color=_color("series", series, None, fixed),
        )
        .properties(width=WIDTH, height=height)
    )


def stacked_bars(
    data: list[dict[str, Any]],
    *,
    months: Sequence[str],
    series: Sequence[str],
    y_title: str,
    y_format: str = MONEY_AXIS,
    fixed: dict[str, str] | None = None,
    height: int = HEIGHT,
) -> Any:
    """Bars over months stacked by series (``data``: month, series, value; a ``None`` month stays empty)."""
    import altair as alt

    order = {s: i for i, s in enumerate(series)}
    rows = [{**d, "order": order.get(d["series"], len(order))} for d in data]
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=_month_x(months),
            y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=y_format), stack="zero"),
            color=_color("series", series, None, fixed),
            order=alt.Order("order:Q"),
        )
        .properties(width=WIDTH, height=height)
    )


def hbars(
    data: list[dict[str, Any]],
    *,
    x_title: str,
    x_format: str = MONEY_AXIS,
    colour: str = NEUTRAL,
    series: Sequence[str] | None = None,
    fixed: dict[str, str] | None = None,
) -> Any:
    """Horizontal bars, one per ``label`` in the order given (``data``: label, value, optional text shown
    at the bar's end; with ``series``, bars are stacked by series)."""
    import altair as alt

    labels = list(dict.fromkeys(d["label"] for d in data))
    y = alt.Y("label:N", sort=labels, title=None, axis=alt.Axis(labelLimit=200))
    x = alt.X("value:Q", title=x_title, axis=alt.Axis(format=x_format), stack="zero")
    height = 24 * max(len(labels), 1)
    base = alt.Chart(alt.Data(values=data))
    if series:
        order = {s: i for i, s in enumerate(series)}
        rows = [{**d, "order": order.get(d["series"], len(order))} for d in data]
        return (
            alt.Chart(alt.Data(values=rows))
            .mark_bar()
            .encode(y=y, x=x, color=_color("series", series, None, fixed), order=alt.Order("order:Q"))
            .properties(width=WIDTH - 220, height=height)
        )
    bars = base.encode(y=y, x=x)
    chart = bars.mark_bar(color=colour)
    if any("text" in d for d in data):
        chart = chart + bars.mark_text(align="left", dx=4).encode(text="text:N")
    return chart.properties(width=WIDTH - 260, height=height)


def month_bars(data: list[dict[str, Any]], *, y_title: str, width: int = 680, height: int = 170) -> Any:
    """One bar per month (``data``: month, value, text printed above the bar), for the handbook's trend."""
    import altair as alt

    months = [d["month"] for d in data]
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X("month:O", sort=months, title="Payment month", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=MONEY_AXIS)),
    )
    return (base.mark_bar(color=NEUTRAL) + base.mark_text(dy=-6).encode(text="text:N")).properties(
        width=width, height=height
    )


def month_bars_spec(
    data: list[dict[str, Any]], *, y_title: str, width: int = 680, height: int = 170
) -> dict[str, Any]:
    """The Vega-Lite spec of ``month_bars(data, ...)``, as ``.to_dict()`` gives it.

    Altair builds and validates a chart in tens of milliseconds and the handbook draws one per code seen,
    all over the same months: the chart is built by Altair once per months, title and size, and its
    spec takes each chart's ``data`` (its only part that depends on them).
    """
    months = tuple(d["month"] for d in data)
    spec = copy.deepcopy(_month_bars_template(months, y_title, width, height))
    spec["data"] = {"values": [dict(d) for d in data]}
    return spec


@functools.lru_cache(maxsize=8)
def _month_bars_template(months: tuple[str, ...], y_title: str, width: int, height: int) -> dict[str, Any]:
    blank = [{"month": m, "value": None, "text": ""} for m in months]
    return month_bars(blank, y_title=y_title, width=width, height=height).to_dict()


_SIZE = re.compile(r'^<svg([^>]*?) width="([\d.]+)" height="([\d.]+)"')


def svg(chart: Any) -> str:
    """Render an altair chart to an inline SVG string with vl-convert (no browser, no network), sized to
    scale down with its container."""
    return spec_svg(chart.to_dict())


def spec_svg(spec: dict[str, Any]) -> str:
    """Render a Vega-Lite spec (an altair chart's ``to_dict()``) as ``svg`` does. vl-convert lets go of
    the GIL while it draws, so threads can draw several at once."""
    import vl_convert

    text = vl_convert.vegalite_to_svg(spec)
    # vl-convert starts with an XML declaration, which is not allowed inside an HTML body.
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2 :].lstrip()
    # keep the viewBox, let CSS size it: the chart shrinks to the page instead of widening it
    return _SIZE.sub(
        lambda m: f'<svg{m.group(1)} width="100%" style="max-width:{m.group(2)}px;height:auto"', text, 1
    )


def figure(chart: Any, caption: str) -> str:
    """An inline-SVG chart with a caption, as one HTML block."""
    return f'<figure class="chart">{svg(chart)}<figcaption>{esc(caption)}</figcaption></figure>'
