"""The end-of-run picture: the day over time, one colour per policy (PNG).

Six panels on one shared time axis (the simulated clock, UTC): orders in
flight (dashed: of those, past their promised time), deliveries so far, the
share of each window's deliveries that came late, their mean minutes late,
rider utilisation, and cold-box excursions so far (dashed: the system's
alerts). Every quantity is a count, a share or a duration, so every y axis
starts at zero; shares end at 100 %. Series come from :mod:`simulator.timeline`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from simulator.timeline import DaySeries

__all__ = ["PANELS", "day_figure", "draw_day"]

#: One colour per policy, in the order given (colour-blind safe: Okabe-Ito).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


@dataclass(frozen=True)
class Panel:
    """One panel: its title, y label, the series drawn solid and dashed."""

    title: str
    unit: str
    solid: str
    dashed: str | None = None
    dashed_label: str = ""
    share: bool = False  # a percentage: the axis ends at 100
    windows: bool = False  # per lateness window, not per sample


PANELS = (
    Panel(
        "Orders in flight",
        "orders",
        "in_flight",
        "overdue",
        "past the promised time",
    ),
    Panel("Delivered so far", "orders", "delivered"),
    Panel(
        "Late deliveries (per 15-min window)",
        "% of deliveries",
        "late_pct",
        share=True,
        windows=True,
    ),
    Panel(
        "Minutes late per delivery (mean per 15-min window; on time = 0)",
        "minutes",
        "minutes_late",
        windows=True,
    ),
    Panel(
        "Rider utilisation: driving",
        "% of riders on shift",
        "utilisation_pct",
        share=True,
    ),
    Panel(
        "Cold-box excursions so far",
        "excursions",
        "excursions",
        "alerts",
        "alerts raised",
    ),
)


def _midnight(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _hours(at: datetime, midnight: datetime) -> float:
    """``at`` as hours since ``midnight`` (UTC): the x axis; past the next
    midnight it keeps counting (25.5 is 01:30 the next day)."""
    return (at - midnight).total_seconds() / 3600


def _clock(hours: float, _position: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def _points(
    series: DaySeries, name: str, windows: bool, midnight: datetime
) -> tuple[list[float], list[float]]:
    """The defined points of a series (x in hours since ``midnight``): per
    sample, or per window at its middle (a window without deliveries has no
    lateness, so no point)."""
    raw: Sequence[float | None] = getattr(series, name)
    if windows:
        half = series.window / 2
        xs = [_hours(start + half, midnight) for start in series.window_starts]
    else:
        xs = [_hours(t, midnight) for t in series.times]
    kept = [(x, float(v)) for x, v in zip(xs, raw, strict=True) if v is not None]
    return [x for x, _ in kept], [v for _, v in kept]


def _draw(ax: Axes, panel: Panel, runs: Sequence[DaySeries]) -> None:
    midnight = _midnight(min(series.times[0] for series in runs))
    for colour, series in zip(COLOURS, runs, strict=False):
        if panel.dashed is not None:
            # a wide pale band under the solid line: where the two series
            # coincide it shows as a halo, where they differ as a dashed line
            ax.plot(
                *_points(series, panel.dashed, panel.windows, midnight),
                color=colour,
                linewidth=4,
                alpha=0.35,
                linestyle="--",
                label=f"{series.policy}: {panel.dashed_label}",
            )
        ax.plot(
            *_points(series, panel.solid, panel.windows, midnight),
            color=colour,
            linewidth=1.6,
            marker="o" if panel.windows else None,
            markersize=4,
            label=series.policy,
        )
    ax.set_title(panel.title, fontsize=10)
    ax.set_ylabel(panel.unit)
    if panel.share:
        ax.set_ylim(0, 102)  # room for a marker at 100 %
    else:
        ax.set_ylim(bottom=0)
        ax.set_ylim(0, max(ax.get_ylim()[1], 1.0))  # an all-zero series too
        if panel.unit != "minutes":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.xaxis.set_major_formatter(FuncFormatter(_clock))
    ax.legend(fontsize=8, loc="upper left")


def draw_day(runs: Sequence[DaySeries], path: Path, *, title: str = "") -> None:
    """Write the picture of ``runs`` (one colour per policy) to ``path`` (PNG)."""
    day_figure(runs, title=title).savefig(path, dpi=90)


def day_figure(runs: Sequence[DaySeries], *, title: str = "") -> Figure:
    """The picture of ``runs``: one panel per entry of :data:`PANELS`."""
    if not runs:
        raise ValueError("nothing to draw")
    # A bare Figure on the Agg canvas: no pyplot global state, no display needed.
    fig = Figure(figsize=(15, 10))
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 2, sharex=True)
    for ax, panel in zip(axes.flat, PANELS, strict=True):
        _draw(ax, panel, runs)
    for ax in axes[-1]:
        ax.set_xlabel("simulated time of day (UTC)")
    policies = ", ".join(s.policy for s in runs)
    fig.suptitle(
        f"{title or 'rxdispatch simulated day'} ({policies})  "
        "map data © OpenStreetMap contributors"
    )
    fig.tight_layout()
    return fig
