"""Charts as inline SVG built here: no plotting library, no script, nothing fetched, byte-identical for
the same numbers. Every text node goes through markupsafe.escape."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
POSITIVE = "#2e7d32"
NEGATIVE = "#c62828"
LEVEL_COLORS = {"ok": "#2e7d32", "warn": "#f9a825", "error": "#c62828", "unknown": "#9e9e9e"}
AXIS = "#757575"
GRID = "#e0e0e0"
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _n(value: float) -> str:
    """Coordinates with two decimals: enough for a screen, stable across runs."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def compact(value: float) -> str:
    """Axis labels: 1.2M, 35k, 0.25."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.1f}M".replace(".0M", "M")
    if magnitude >= 1e4:
        return f"{value / 1e3:.0f}k"
    if magnitude >= 1e3:
        return f"{value / 1e3:.1f}k".replace(".0k", "k")
    if magnitude >= 10 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.2f}".rstrip("0")


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round axis ticks covering [low, high]."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = [first]
    while ticks[-1] < high - 1e-12:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per x label; None leaves a gap
    color: str
    dashed: bool = False


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = "#212121") -> str:
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{fill}" {FONT}>{escape(text)}</text>'


def _short(label: str, limit: int = 20) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def _svg(width: int, height: int, title: str, body: list[str], css_class: str = "chart") -> Markup:
    return Markup(
        f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], width: int = 440, height: int = 210
) -> Markup:
    """Lines over periods (oldest left); dashed series are targets."""
    left, right, top, bottom = 52, 24, 10, 34
    values = [v for s in series for v in s.values if v is not None]
    low, high = (min(0.0, *values), max(values)) if values else (0.0, 1.0)
    ticks = nice_ticks(low, high)
    y0, y1 = ticks[0], ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return left + i * step if len(labels) > 1 else left + plot_w / 2

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - y0) / (y1 - y0))

    body = []
    for t in ticks:
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{_n(y(t))}" y2="{_n(y(t))}" stroke="{GRID}"/>')
        body.append(_text(left - 4, y(t) + 4, compact(t), "end", AXIS))
    every = max(1, math.ceil(len(labels) / 6))
    for i, label in enumerate(labels):
        if (len(labels) - 1 - i) % every == 0:  # counted from the newest, which is always labelled
            body.append(_text(x(i), height - bottom + 16, label, "middle", AXIS))
    for s in series:
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        run: list[str] = []
        runs = [run]
        for i, v in enumerate(s.values):
            if v is None:
                run = []
                runs.append(run)
            else:
                run.append(f"{_n(x(i))},{_n(y(v))}")
        for points in runs:
            if len(points) > 1:
                body.append(
                    f'<polyline fill="none" stroke="{s.color}" stroke-width="2.5"{dash} points="{" ".join(points)}">'
                    f"<title>{escape(s.name)}</title></polyline>"
                )
        if not s.dashed:
            for i, v in enumerate(s.values):
                if v is not None:
                    body.append(f'<circle cx="{_n(x(i))}" cy="{_n(y(v))}" r="3.5" fill="{s.color}"/>')
    return _svg(width, height, title, body)


def hbar_chart(
    title: str, items: Sequence[tuple[str, float | None]], width: int = 440, color: str = PALETTE[0]
) -> Markup:
    """Horizontal bars from zero; negative values extend left in red."""
    row, label_w, value_w, top = 22, 130, 70, 6
    height = top * 2 + row * max(len(items), 1)
    values = [v for _, v in items if v is not None]
    low, high = min(0.0, *values) if values else 0.0, max(0.0, *values) if values else 1.0
    span = (high - low) or 1.0
    plot_w = width - label_w - value_w
    zero = label_w + plot_w * (-low / span)
    body = [f'<line x1="{_n(zero)}" x2="{_n(zero)}" y1="0" y2="{height}" stroke="{AXIS}"/>']
    for i, (label, value) in enumerate(items):
        y = top + i * row
        body.append(_text(label_w - 6, y + 15, _short(label), "end"))
        if value is None:
            continue
        bar = plot_w * abs(value) / span
        x = zero if value >= 0 else zero - bar
        fill = color if value >= 0 else NEGATIVE
        body.append(f'<rect x="{_n(x)}" y="{y + 3}" width="{_n(bar)}" height="{row - 6}" fill="{fill}"/>')
        body.append(_text(label_w + plot_w + 4, y + 15, compact(value)))
    return _svg(width, height, title, body)


def driver_chart(title: str, items: Sequence[tuple[str, float]], width: int = 300) -> Markup:
    """The GMV change split into its drivers: diverging bars scaled to the largest; the last item (the
    total change) is drawn darker."""
    row, label_w, top = 18, 84, 4
    height = top * 2 + row * len(items)
    largest = max((abs(v) for _, v in items), default=0.0) or 1.0
    half = (width - label_w - 8) / 2
    zero = label_w + half
    body = [f'<line x1="{_n(zero)}" x2="{_n(zero)}" y1="0" y2="{height}" stroke="{AXIS}"/>']
    for i, (label, value) in enumerate(items):
        y = top + i * row
        bar = half * abs(value) / largest
        x = zero if value >= 0 else zero - bar
        fill = POSITIVE if value >= 0 else NEGATIVE
        opacity = "1" if i == len(items) - 1 else "0.75"
        body.append(_text(label_w - 6, y + 13, label, "end"))
        body.append(
            f'<rect x="{_n(x)}" y="{y + 3}" width="{_n(bar)}" height="{row - 6}" fill="{fill}" '
            f'fill-opacity="{opacity}"><title>{escape(label)}: {escape(compact(value))}</title></rect>'
        )
    return _svg(width, height, title, body, css_class="chart drivers")


def stacked_levels_chart(title: str, rows: Sequence[tuple[str, dict[str, int]]], width: int = 440) -> Markup:
    """One bar per concern, split by level counts (ok, warn, error, unknown)."""
    row, label_w, top = 24, 90, 6
    height = top * 2 + row * max(len(rows), 1)
    plot_w = width - label_w - 10
    body = []
    for i, (label, counts) in enumerate(rows):
        y = top + i * row
        total = sum(counts.values()) or 1
        body.append(_text(label_w - 6, y + 16, label, "end"))
        x = float(label_w)
        for level, color in LEVEL_COLORS.items():
            count = counts.get(level, 0)
            if not count:
                continue
            w = plot_w * count / total
            body.append(
                f'<rect x="{_n(x)}" y="{y + 3}" width="{_n(w)}" height="{row - 6}" fill="{color}">'
                f"<title>{escape(label)} {escape(level)}: {count}</title></rect>"
            )
            x += w
    return _svg(width, height, title, body)
