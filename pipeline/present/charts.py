"""Charts of the report and the handbook: Altair specs rendered to inline SVG by vl-convert, and the
handbook's month bars (one chart per code seen, every night) written as SVG directly (``month_bars``).

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


def month_bars(data: list[dict[str, Any]], *, y_title: str, width: int = 680, height: int = 170) -> str:
    """One bar per month as inline SVG, for the handbook's trend (``data``: month, value (``None``: a gap,
    no bar), text printed at the bar's end: above it, below a negative one).

    Drawn here, not by vl-convert: the handbook draws one per code seen every night (66 on a 5M-claim
    lake, each with new dollars in some month), which took vl-convert 2.2 s of both cores. It looks like
    the report's Vega-Lite charts: a frame with grid lines at round values (``nice_ticks``), the dollars
    axis on the left, the months below at -40°, both axes titled, the SVG scaling down with its container.
    Each bar is labelled for screen readers and in its tooltip with its month, dollars and text.
    """
    values = [d["value"] for d in data if d["value"] is not None]
    lo, hi, ticks = nice_ticks(min(values, default=0.0), max(values, default=0.0))
    # room on the left for the widest axis value (about 5.6 px a character at 10 px) and the axis title
    left = 34 + round(5.6 * max(len(_money_tick(t)) for t in ticks))
    top, right, bottom = 12, 6, 58

    def pixel_y(v: float) -> float:
        return round(height - (v - lo) / (hi - lo) * height, 2)

    step = width / max(len(data), 1)
    parts = [f'<rect x="0.5" y="0.5" width="{width}" height="{height}" fill="none" stroke="#ddd"/>']
    for t in ticks:
        parts.append(f'<line x1="0" x2="{width}" y1="{pixel_y(t)}" y2="{pixel_y(t)}" stroke="#ddd"/>')
        parts.append(
            f'<text x="-6" y="{pixel_y(t)}" text-anchor="end" dominant-baseline="middle">'
            f"{esc(_money_tick(t))}</text>"
        )
    for i, d in enumerate(data):
        mid = round((i + 0.5) * step, 2)
        parts.append(
            f'<text transform="translate({mid},{height + 8}) rotate(-40)" text-anchor="end" '
            f'dominant-baseline="hanging">{esc(d["month"])}</text>'
        )
        if d["value"] is None:
            continue
        v = float(d["value"])
        top_y, bottom_y = pixel_y(max(v, 0.0)), pixel_y(min(v, 0.0))
        tip = f"{d['month']}: {_money_tick(v)}" + (f" ({d['text']})" if d.get("text") else "")
        parts.append(
            f'<rect role="graphics-symbol" aria-roledescription="bar" aria-label="{esc(tip)}" '
            f'x="{round(mid - step * 0.45, 2)}" y="{top_y}" width="{round(step * 0.9, 2)}" '
            f'height="{round(bottom_y - top_y, 2)}" fill="{NEUTRAL}"><title>{esc(tip)}</title></rect>'
        )
        if d.get("text"):  # above the bar's end, below it for a negative value
            at = round(pixel_y(v) - 6 if v >= 0 else pixel_y(v) + 13, 2)
            parts.append(f'<text x="{mid}" y="{at}" text-anchor="middle">{esc(d["text"])}</text>')
    full_w, full_h = left + width + right, top + height + bottom
    titles = (
        f'<text transform="translate({12 - left},{height / 2}) rotate(-90)" text-anchor="middle" '
        f'dominant-baseline="middle" font-weight="bold" font-size="11">{esc(y_title)}</text>'
        f'<text x="{width / 2}" y="{height + bottom - 6}" text-anchor="middle" font-weight="bold" '
        f'font-size="11">Payment month</text>'
    )
    label = f"Bar chart: {y_title} by payment month" + (
        f", {data[0]['month']} to {data[-1]['month']}" if data else ""
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="max-width:{full_w}px;height:auto" '
        f'viewBox="0 0 {full_w} {full_h}" role="img" aria-label="{esc(label)}">'
        f'<rect width="{full_w}" height="{full_h}" fill="white"/>'
        f'<g transform="translate({left},{top})" font-family="sans-serif" font-size="10" fill="#000">'
        + "".join(parts)
        + titles
        + "</g></svg>"
    )


def nice_ticks(lo: float, hi: float) -> tuple[float, float, list[float]]:
    """An axis from ``lo`` to ``hi`` as Vega draws one 170 px high: the domain widened to round ends (d3's
    ``nice()``, about 10 steps) and the grid values in it (d3's ``ticks``, about 5); a step is 1, 2 or 5
    times a power of ten. Returns (start, end, ticks)."""
    import math

    def tick_step(a: float, b: float, count: int) -> float:
        raw = (b - a) / count
        power = 10.0 ** math.floor(math.log10(raw))
        error = raw / power
        return power * next((m for m, at in ((10, 50), (5, 10), (2, 2)) if error >= math.sqrt(at)), 1)

    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi <= lo:
        hi = lo + 1.0
    for _ in range(2):  # a widened domain can call for another step (as d3's nice loops)
        size = tick_step(lo, hi, 10)
        lo, hi = math.floor(lo / size) * size, math.ceil(hi / size) * size
    size = tick_step(lo, hi, 5)
    first, last = math.ceil(lo / size - 1e-9), math.floor(hi / size + 1e-9)
    return lo, hi, [round(k * size, 10) for k in range(first, last + 1)]


def _money_tick(value: float) -> str:
    """An axis value as Vega's ``$,.0f`` prints it: ``$80,000``, ``−$1,200`` (a minus sign, not a hyphen)."""
    text = f"${abs(value):,.0f}"
    return f"\u2212{text}" if round(value) < 0 else text


_SIZE = re.compile(r'^<svg([^>]*?) width="([\d.]+)" height="([\d.]+)"')


def svg(chart: Any) -> str:
    """Render an altair chart to an inline SVG string with vl-convert (no browser, no network), sized to
    scale down with its container."""
    import vl_convert

    text = vl_convert.vegalite_to_svg(chart.to_dict())
    # vl-convert starts with an XML declaration, which is not allowed inside an HTML body.
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2 :].lstrip()
    # keep the viewBox, let CSS size it: the chart shrinks to the page instead of widening it
    return _SIZE.sub(
        lambda m: f'<svg{m.group(1)} width="100%" style="max-width:{m.group(2)}px;height:auto"', text, 1
    )


def warm_up() -> None:
    """Load Altair and vl-convert and render one small chart, so that the first chart of a page costs what
    the others do: vl-convert starts its JavaScript engine on its first call (0.4 s) and Altair loads its
    schema on its first spec (0.3 s for both imports). The report's kernel, started ahead during the
    night's checks, calls this while it waits (``pipeline.reports.render.started_kernel``)."""
    global _warm
    if _warm:
        return
    import altair as alt

    svg(alt.Chart(alt.Data(values=[{"x": 0, "y": 0}])).mark_line().encode(x="x:Q", y="y:Q"))
    _warm = True


_warm = False  # warm_up has run in this process


def figure(chart: Any, caption: str) -> str:
    """An inline-SVG chart with a caption, as one HTML block."""
    return f'<figure class="chart">{svg(chart)}<figcaption>{esc(caption)}</figcaption></figure>'
