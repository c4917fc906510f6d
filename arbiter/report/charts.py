"""Charts of a transparency report as inline SVG, drawn by matplotlib with text kept as text.

Every function returns an HTML fragment: an ``<svg>`` element ready to be placed in a
page, or the short note ``EMPTY`` when there is nothing to draw. The output is the same
for the same input (fixed SVG hash salt, no dates), so reports can be compared and signed.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from arbiter.report.figures import AppealFigures, Durations, RulePrecision

EMPTY = '<p class="empty">Nothing in this period.</p>'

WIDTH = 6.4  # inches; every chart has the same width so they scale alike in the page
ROW = 0.34  # inches of height per bar row
MAX_LABEL = 34  # characters of a label drawn in a chart; the table beside it has the rest
MAX_ROWS = 15  # bars in a counts chart; the rest are summed into one "other" bar

INK = "#1f2933"
MUTED = "#52606d"
GRID = "#d9e2ec"
BLUE = "#2f6690"
ORANGE = "#c0562b"  # vermilion and blue stay apart for the common colour deficiencies
PURPLE = "#6c4f9c"
QUANTILE_COLOURS = ("#9cc3e0", "#3a7ca5", "#16425b")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_TAG = re.compile(r"<[^>]+>")
_ID = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')


def counts_chart(counts: Mapping[str, int], *, title: str, limit: int = MAX_ROWS) -> str:
    """Horizontal bars of a count per label, largest first; the tail beyond `limit` summed."""
    rows = sorted(((k, v) for k, v in counts.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))
    if not rows:
        return EMPTY
    if len(rows) > limit:
        rest = rows[limit - 1 :]
        rows = [*rows[: limit - 1], (f"{len(rest)} others", sum(v for _, v in rest))]
    labels = [k for k, _ in rows]
    values = [v for _, v in rows]
    with _figure(len(rows)) as (figure, ax):
        bars = ax.barh(range(len(rows)), values, color=BLUE, height=0.66)
        ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, color=INK)
        _rows_axis(ax, labels)
        _count_axis(ax, max(values))
        return _svg(figure, title)


def precision_chart(precision: Sequence[RulePrecision], *, title: str = "Precision") -> str:
    """Dot at the measured precision of each sampled rule, whiskers at its 95% Wilson interval."""
    rows = sorted(
        (p for p in precision if p.confirmed.trials > 0),
        key=lambda p: (p.confirmed.successes / p.confirmed.trials, f"{p.policy}/{p.rule}"),
    )
    if not rows:
        return EMPTY
    with _figure(len(rows)) as (figure, ax):
        values = [p.confirmed.successes / p.confirmed.trials for p in rows]
        lows = [max(0.0, v - p.confirmed.low) for v, p in zip(values, rows, strict=True)]
        highs = [max(0.0, p.confirmed.high - v) for v, p in zip(values, rows, strict=True)]
        ax.errorbar(
            values,
            range(len(rows)),
            xerr=[lows, highs],
            fmt="o",
            color=BLUE,
            ecolor=BLUE,
            elinewidth=2,
            capsize=4,
            markersize=7,
        )
        for y, p in enumerate(rows):
            ax.annotate(
                f"{p.confirmed.successes:,}/{p.confirmed.trials:,}",
                (1.0, y),
                xytext=(8, 0),
                textcoords="offset points",
                va="center",
                color=MUTED,
                annotation_clip=False,
            )
        _rows_axis(ax, [f"{p.policy}/{p.rule}" for p in rows])
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        ax.set_xlabel("confirmed by reviewers (95% interval)")
        return _svg(figure, title)


def appeals_chart(appeals: Sequence[AppealFigures], *, title: str = "Appeals") -> str:
    """Appeals filed and decisions overturned for each rule, most appealed first."""
    rows = sorted(
        (a for a in appeals if a.filed or a.overturned),
        key=lambda a: (-a.filed, -a.overturned, f"{a.policy}/{a.rule}"),
    )
    if not rows:
        return EMPTY
    return _grouped(
        [f"{a.policy}/{a.rule}" for a in rows],
        {"filed": [a.filed for a in rows], "overturned": [a.overturned for a in rows]},
        (BLUE, ORANGE),
        title,
    )


def authority_chart(
    requests: Mapping[str, int], decisions: Mapping[str, int], *, title: str = "Authorities"
) -> str:
    """Requests received from each authority beside the decisions they caused."""
    names = sorted(
        set(requests) | set(decisions),
        key=lambda k: (-requests.get(k, 0), -decisions.get(k, 0), k),
    )
    names = [k for k in names if requests.get(k, 0) or decisions.get(k, 0)]
    if not names:
        return EMPTY
    return _grouped(
        names,
        {
            "requests": [requests.get(k, 0) for k in names],
            "decisions caused": [decisions.get(k, 0) for k in names],
        },
        (PURPLE, BLUE),
        title,
    )


def durations_chart(durations: Mapping[str, Durations], *, title: str = "Durations") -> str:
    """Median, 90th and 99th percentile of each measured duration, on a logarithmic time axis."""
    rows = [(label, d) for label, d in durations.items() if d.count and d.p50 is not None]
    if not rows:
        return EMPTY
    quantiles = (("median", "p50"), ("90th percentile", "p90"), ("99th percentile", "p99"))
    series = {name: [getattr(d, attr) or 0.0 for _, d in rows] for name, attr in quantiles}
    texts = {name: [format_duration(getattr(d, attr)) for _, d in rows] for name, attr in quantiles}
    return _grouped([label for label, _ in rows], series, QUANTILE_COLOURS, title, texts=texts)


def format_duration(seconds: float | None) -> str:
    """A duration for people: "45 s", "12 min", "3.5 h", "2.1 d"; a dash when unmeasured."""
    if seconds is None:
        return "–"
    unit, size = _unit(seconds)
    value = seconds / size
    text = f"{value:.0f}" if value >= 10 or unit == "seconds" else f"{value:.1f}"
    return f"{text.removesuffix('.0')} {_SHORT[unit]}"


_SHORT = {"seconds": "s", "minutes": "min", "hours": "h", "days": "d"}


def _unit(seconds: float) -> tuple[str, float]:
    if seconds < 120:
        return "seconds", 1.0
    if seconds < 2 * 3600:
        return "minutes", 60.0
    if seconds < 2 * 86400:
        return "hours", 3600.0
    return "days", 86400.0


def _grouped(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    colours: Sequence[str],
    title: str,
    *,
    texts: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """Bars side by side within each row, one colour per series, legend above.

    With `texts` the values are seconds, drawn on a logarithmic time axis and labelled so.
    """
    count = len(series)
    height = 0.8 / count
    largest = max(max(values) for values in series.values())
    floor = 0.0
    if texts is not None:
        smallest = min((v for values in series.values() for v in values if v > 0), default=1.0)
        floor = _time_floor(smallest)
    with _figure(len(labels), per_row=ROW * (0.55 + 0.45 * count), legend=True) as (figure, ax):
        for i, ((name, values), colour) in enumerate(zip(series.items(), colours, strict=False)):
            offsets = [y - 0.4 + height * (i + 0.5) for y in range(len(labels))]
            # On a log axis a bar must start above zero; a zero duration is a bar of no length.
            widths = [max(v, floor) - floor for v in values]
            bars = ax.barh(
                offsets, widths, left=floor, height=height * 0.92, color=colour, label=name
            )
            shown = texts[name] if texts is not None else [f"{v:,.0f}" for v in values]
            ax.bar_label(bars, labels=list(shown), padding=3, color=INK, fontsize=9)
        _rows_axis(ax, labels)
        if texts is not None:
            _time_axis(ax, floor, largest)
        else:
            _count_axis(ax, largest)
        figure.legend(loc="outside upper left", ncols=count, handlelength=1.2, columnspacing=1.4)
        return _svg(figure, title)


_TIME_TICKS = (
    (1.0, "1 s"),
    (10.0, "10 s"),
    (60.0, "1 min"),
    (600.0, "10 min"),
    (3600.0, "1 h"),
    (6 * 3600.0, "6 h"),
    (86400.0, "1 d"),
    (7 * 86400.0, "1 week"),
    (30 * 86400.0, "30 d"),
    (365 * 86400.0, "1 year"),
)


def _time_floor(smallest: float) -> float:
    below = [t for t, _ in _TIME_TICKS if t <= smallest]
    return below[-1] if below else min(smallest, 1.0) / 10


def _time_axis(ax: Axes, floor: float, largest: float) -> None:
    # Quantiles of waiting times span minutes to weeks; a linear axis hides the short ones.
    ax.set_xscale("log")
    ax.set_xlim(floor, max(largest, floor * 10) * 4)  # room for the value labels
    low, high = ax.get_xlim()
    ticks = [(t, text) for t, text in _TIME_TICKS if low <= t <= high]
    ax.set_xticks([t for t, _ in ticks], [text for _, text in ticks])
    ax.minorticks_off()
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.spines["bottom"].set_visible(False)


@contextmanager
def _figure(
    rows: int, *, per_row: float = ROW, legend: bool = False
) -> Iterator[tuple[Figure, Axes]]:
    # A literal here lets the type checker see the keys are rcParams.
    with matplotlib.rc_context(
        {
            # Text stays text: selectable, searchable, and shaped by the browser (Arabic too).
            "svg.fonttype": "none",
            # Ids derive from content and this salt, not from randomness: same input, same SVG.
            "svg.hashsalt": "arbiter-transparency",
            # Labels are user data: a pair of "$" in one must not switch on mathtext.
            "text.parse_math": False,
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans", "Noto Sans", "Arial", "Helvetica"],
            "font.size": 10,
            "text.color": INK,
            "axes.edgecolor": GRID,
            "axes.labelcolor": MUTED,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "xtick.color": MUTED,
            "ytick.color": INK,
            "ytick.major.size": 0,
            "xtick.major.size": 0,
            "legend.frameon": False,
        }
    ):
        height = 0.65 + per_row * rows + (0.3 if legend else 0.0)
        figure = Figure(figsize=(WIDTH, height), layout="constrained")
        # Agg renders off screen: no display, no GUI toolkit, the same on every machine.
        FigureCanvasAgg(figure)
        yield figure, figure.add_subplot()


def _rows_axis(ax: Axes, labels: Sequence[str]) -> None:
    ax.set_yticks(range(len(labels)), [_chart_label(label) for label in labels])
    ax.set_ylim(len(labels) - 0.5, -0.5)  # first row on top
    ax.spines["left"].set_visible(False)


def _count_axis(ax: Axes, largest: float) -> None:
    ax.set_xlim(0, largest * 1.16 if largest > 0 else 1)  # room for the value labels
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.spines["bottom"].set_visible(False)


def _chart_label(label: str) -> str:
    """A label as a chart shows it: one line, and short; the table beside it has it whole."""
    text = _CONTROL.sub(" ", label).strip() or "(blank)"
    if len(text) > MAX_LABEL:
        text = text[: MAX_LABEL - 1].rstrip() + "…"
    return text


def _svg(figure: Figure, title: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return _inline(buffer.getvalue(), title)


def _inline(svg: str, title: str) -> str:
    """Make a standalone SVG document fit to sit inside HTML beside other charts."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.S)
    # A <style> inside inline SVG would apply to the whole page; the root carries it instead.
    svg = re.sub(r"\s*<style[^>]*>.*?</style>", "", svg, flags=re.S)
    # Ids are unique within one SVG only; several charts in one page need their own.
    prefix = "c" + hashlib.sha256(svg.encode()).hexdigest()[:10] + "-"
    svg = _TAG.sub(lambda tag: _ID.sub(lambda m: m[1] + prefix + m[2], tag[0]), svg)
    label = html.escape(title, quote=True)
    return svg.replace(
        "<svg ",
        f'<svg class="chart-svg" role="img" aria-label="{label}" '
        'style="stroke-linejoin: round; stroke-linecap: butt" ',
        1,
    ).strip()
