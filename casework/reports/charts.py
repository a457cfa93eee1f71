"""Geometry of the dashboard's two charts, drawn as SVG by templates/reports/_charts.html.

The server works out every coordinate; the page has no script, and the SVG carries classes,
never style attributes, so it works under the CSP. A figure the profile hides is not drawn: the
progress line has a gap there, and a hidden bar shows its marker (``<5``, ``x``) instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 30


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    lines: list[dict[str, Any]] = field(default_factory=list)  # x1 y1 x2 y2 cls
    texts: list[dict[str, Any]] = field(default_factory=list)  # x y text cls anchor
    rects: list[dict[str, Any]] = field(default_factory=list)  # x y w h cls
    polylines: list[dict[str, Any]] = field(default_factory=list)  # points cls
    circles: list[dict[str, Any]] = field(default_factory=list)  # cx cy cls


def _plot_x(index: int, slots: int) -> float:
    return LEFT + (index + 0.5) * (WIDTH - LEFT - RIGHT) / slots


def _plot_y(value: float, top: float) -> float:
    return HEIGHT - BOTTOM - value / top * (HEIGHT - TOP - BOTTOM)


def _frame(chart: Chart, top: float, ticks: list[float], suffix: str, months: int) -> None:
    for tick in ticks:
        y = round(_plot_y(tick, top), 1)
        chart.lines.append({"x1": LEFT, "y1": y, "x2": WIDTH - RIGHT, "y2": y, "cls": "grid"})
        chart.texts.append({"x": LEFT - 6, "y": y + 4, "text": f"{tick:g}{suffix}", "cls": "tick", "anchor": "end"})
    for index in range(months):
        chart.texts.append({"x": round(_plot_x(index, 12), 1), "y": HEIGHT - 10, "text": f"T{index + 1}",
                            "cls": "tick", "anchor": "middle"})
    chart.lines.append({"x1": LEFT, "y1": HEIGHT - BOTTOM, "x2": WIDTH - RIGHT, "y2": HEIGHT - BOTTOM,
                        "cls": "axis"})


def progress_chart(progress: list[dict[str, Any]], target: int) -> Chart:
    """The indicator for the year so far at each month's end, against the target line."""
    chart = Chart()
    _frame(chart, 100, [0, 20, 40, 60, 80, 100], "%", 12)
    y = round(_plot_y(target, 100), 1)
    chart.lines.append({"x1": LEFT, "y1": y, "x2": WIDTH - RIGHT, "y2": y, "cls": "target"})
    segment: list[str] = []
    for point in progress:
        percent = point["percent"]
        if percent is None:
            if len(segment) > 1:
                chart.polylines.append({"points": " ".join(segment), "cls": "progress"})
            segment = []
            continue
        x, py = round(_plot_x(point["month"] - 1, 12), 1), round(_plot_y(percent, 100), 1)
        segment.append(f"{x},{py}")
        chart.circles.append({"cx": x, "cy": py, "cls": "progress-point"})
    if len(segment) > 1:
        chart.polylines.append({"points": " ".join(segment), "cls": "progress"})
    return chart


def completed_chart(rows: list[dict[str, Any]], groups: tuple[str, ...]) -> Chart:
    """Completed referrals per month, one bar per group; hidden figures show their marker."""
    chart = Chart()
    shown = [row[g] for row in rows for g in groups if isinstance(row[g], int)]
    top = max([*shown, 4])
    top = _nice(top)
    _frame(chart, top, [top * i / 4 for i in range(5)], "", 12)
    slot = (WIDTH - LEFT - RIGHT) / 12
    bar = slot * 0.8 / len(groups)
    for row in rows:
        centre = _plot_x(row["month"] - 1, 12)
        for i, group in enumerate(groups):
            x = round(centre - slot * 0.4 + i * bar, 1)
            value = row[group]
            if isinstance(value, int):
                y = _plot_y(value, top)
                chart.rects.append({"x": x, "y": round(y, 1), "w": round(bar - 1, 1),
                                    "h": round(HEIGHT - BOTTOM - y, 1), "cls": f"bar bar-{i}"})
            else:
                chart.texts.append({"x": round(x + bar / 2, 1), "y": HEIGHT - BOTTOM - 4, "text": str(value),
                                    "cls": f"hidden-mark bar-{i}-mark", "anchor": "middle"})
    return chart


def _nice(value: float) -> float:
    """A round upper end for the axis (4, 8, 20, 40, 80, 200 …): four equal steps of a round size."""
    step = 1.0
    while value > step * 4:
        for factor in (2, 2.5, 2):
            step *= factor
            if value <= step * 4:
                break
    return step * 4
