"""The overview's charts as SVG, drawn on the server by pygal, in a light and a dark style.

Each chart is served alone as ``image/svg+xml`` and shown with ``<img>``, so the admin page
loads no chart script. pygal's SVG would reference its tooltip script on a CDN and carry an
inline config script: ``js=[]`` drops the first, ``_scriptless`` the second, so the SVG
is drawing and style only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from xml.etree.ElementTree import Element

import pygal
from pygal.style import Style

from retention.overview.counts import Unit, cleaned
from retention.overview.selectors import DAYS, Activity

FONT = '"Segoe UI", system-ui, Roboto, "Helvetica Neue", Arial, sans-serif'


def _theme(*, text: str, grid: str, colors: tuple[str, ...]) -> Style:
    """A pygal style on a transparent background: the admin page's own shows through."""
    return Style(
        background="transparent",
        plot_background="transparent",
        foreground=text,
        foreground_strong=text,
        foreground_subtle=grid,
        font_family=FONT,
        colors=colors,
    )


# Text and grid in the admin's colours; series in Okabe-Ito's colour-blind safe palette,
# lightened for the dark theme.
THEMES: dict[str, Style] = {
    "light": _theme(
        text="#333333",
        grid="#cccccc",
        colors=("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9"),
    ),
    "dark": _theme(
        text="#eeeeee",
        grid="#555555",
        colors=("#56B4E9", "#F0B030", "#2FBF8F", "#E08CC0", "#FF7F3F", "#9AD0F0"),
    ),
}
WIDTH, HEIGHT = 800, 320
LEGEND_COLUMNS = 3
MARGIN = 20  # pygal's default


def render_chart(name: str, activity: Activity, theme: str) -> str:
    """Chart ``name`` (a key of ``CHARTS``) of ``activity`` as an SVG document."""
    spec = CHARTS[name]
    chart = spec.draw(activity, _config(THEMES[theme], activity, empty=spec.empty))
    chart.add_xml_filter(_scriptless(title=spec.title))
    row = 1.5 * max(chart.config.legend_box_size, chart.config.style.legend_font_size)
    chart.margin_bottom = MARGIN + _missing_legend_rows(len(chart.raw_series)) * row
    return chart.render(is_unicode=True)


def _missing_legend_rows(series: int) -> int:
    """The legend rows at the bottom that pygal leaves no room for.

    pygal 3 makes room for ``series // columns`` rows, one short whenever the columns do not
    divide the series (the last row then overflows the image). A row is 1.5 times the taller
    of the legend's box and font, as pygal counts it.
    """
    return math.ceil(series / LEGEND_COLUMNS) - series // LEGEND_COLUMNS


def _config(style: Style, activity: Activity, *, empty: str) -> dict:
    return {
        "style": style,
        "js": [],
        "disable_xml_declaration": True,
        "explicit_size": True,
        "width": WIDTH,
        "height": HEIGHT,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": LEGEND_COLUMNS,
        "no_data_text": empty,
        "no_data_font_size": 24,
        "x_labels": [f"{day:%m-%d}" for day in activity.days],
        "x_labels_major_every": 5,
        "show_minor_x_labels": False,
        "truncate_legend": -1,
        "truncate_label": -1,
    }


def _scriptless(*, title: str) -> Callable[[Element], Element]:
    """An XML filter that drops every ``<script>`` and titles the SVG (pygal's is "Pygal")."""

    def rewrite(root: Element) -> Element:
        for parent in list(root.iter()):
            for child in list(parent):
                tag = str(child.tag).rpartition("}")[2]
                if tag == "script":
                    parent.remove(child)
                elif tag == "title" and parent is root:
                    child.text = title
        return root

    return rewrite


def _stacked_counts(series: dict[str, Sequence[int | None]], config: dict) -> pygal.Graph:
    """Bars per day stacked by series, on integer ticks."""
    tallest = max(
        (sum(v or 0 for v in day) for day in zip(*series.values(), strict=True)), default=0
    )
    if not tallest:
        return pygal.StackedBar(**config)  # no series: pygal writes the "empty" text
    chart = pygal.StackedBar(y_labels=integer_ticks(tallest), **config)
    for label, values in series.items():
        chart.add(label, list(values))
    return chart


def integer_ticks(top: int) -> list[int]:
    """Whole-number y ticks from 0 to at least ``top``, about five of them, 1-2-5 spaced."""
    if top <= 0:
        return [0, 1]
    rough = top / 5
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    return list(range(0, math.ceil(top / step) * step + 1, step))


def cleaned_chart(unit: Unit) -> Callable[[Activity, dict], pygal.Graph]:
    def draw(activity: Activity, config: dict) -> pygal.Graph:
        series = {c.label: activity.per_day(c.job, c.key) for c in cleaned(unit)}
        return _stacked_counts(series, config)

    return draw


def failures_chart(activity: Activity, config: dict) -> pygal.Graph:
    series = {job: activity.per_day(job, "failed") for job in activity.jobs}
    return _stacked_counts(series, config)


def durations_chart(activity: Activity, config: dict) -> pygal.Graph:
    """Average and longest run per job and day, on a log scale (sweeps take milliseconds,
    retention runs seconds to minutes)."""
    series = {
        f"{job} {label}": [_seconds(d) for d in activity.per_day(job, value)]
        for job in activity.jobs
        for value, label in (("avg_duration", "average"), ("max_duration", "longest"))
    }
    seconds = [v for values in series.values() for v in values if v is not None]
    if not seconds:
        return pygal.Line(**config)  # no series: pygal writes the "empty" text
    chart = pygal.Line(
        logarithmic=True,
        value_formatter=format_seconds,
        y_labels=decade_ticks(min(seconds), max(seconds)),
        **config,
    )
    for label, values in series.items():
        chart.add(label, values)
    return chart


def decade_ticks(low: float, high: float) -> list[float]:
    """Powers of ten from just below ``low`` to just above ``high``: a log axis's ticks."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return [10.0**exponent for exponent in range(first, max(last, first + 1) + 1)]


def _seconds(duration: object) -> float | None:
    if not isinstance(duration, timedelta):
        return None
    # A log scale has no zero: an instant run shows at a millisecond.
    return max(duration.total_seconds(), 0.001)


def format_seconds(seconds: float) -> str:
    """A duration in the unit that reads best: ``40 ms``, ``3.5 s``, ``16.7 min``."""
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    if seconds < 120:
        return f"{seconds:.3g} s"
    return f"{seconds / 60:.3g} min"


@dataclass(frozen=True)
class Chart:
    """A chart of the page: its URL name, its heading, what it shows in words (alt text),
    and what it says when there is nothing to draw."""

    name: str
    title: str
    description: str
    empty: str
    draw: Callable[[Activity, dict], pygal.Graph]


CHARTS: dict[str, Chart] = {
    chart.name: chart
    for chart in (
        Chart(
            "rows",
            "Rows cleaned per day, by step",
            "Stacked bars: sessions soft-deleted, events expired, sessions purged, run records "
            "expired and sessions marked orphaned, per day.",
            f"Nothing cleaned in the last {DAYS} days",
            cleaned_chart(Unit.ROWS),
        ),
        Chart(
            "files",
            "Streaming files deleted per day",
            "Stacked bars: streaming log files deleted for age and under disk pressure, per day.",
            f"No files deleted in the last {DAYS} days",
            cleaned_chart(Unit.FILES),
        ),
        Chart(
            "durations",
            "Run durations per day (log scale)",
            "Lines: the average and the longest run of each job, per day.",
            f"No runs in the last {DAYS} days",
            durations_chart,
        ),
        Chart(
            "failures",
            "Failed runs per day, by job",
            "Stacked bars: the runs of each job that failed, per day.",
            f"No failed runs in the last {DAYS} days",
            failures_chart,
        ),
    )
}
