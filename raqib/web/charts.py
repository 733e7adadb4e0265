"""Charts drawn on the server as SVG geometry: no script, no library, nothing fetched.

The templates turn these records into `<svg>` elements with presentation attributes
only (x, y, width, height, points), since the page's Content-Security-Policy allows no
inline style. Every number is rounded to 0.1 so a page stays small.

- `bars(counts)`: one bar per bucket, left to right in time (the chart keeps `dir="ltr"`
  inside a right-to-left page: time runs left to right on a bar chart's axis); a bucket
  with nothing still has its bar, of height 0, so 168 hours are 168 rects. Its axes are
  labelled: the count axis at 0 and at the peak, the time axis by `ticks` (at most
  `MAX_TICKS` of the bars' labels, evenly spaced, a day's date for an hourly chart); the
  templates add each axis's title.
- `sparkline(counts)`: a polyline through one point per bucket.
- `timeline(times)`: one dot per outlet along the span from the first copy to the last;
  `rtl=True` (an Arabic page) runs it right to left, the first copy on the right.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    label: str


MAX_TICKS = 7


@dataclass(frozen=True)
class Tick:
    x: float  # the middle of its bar
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    peak: int
    total: int
    ticks: tuple[Tick, ...] = ()


def _ticks(bars: Sequence[Bar], step: float) -> tuple[Tick, ...]:
    labelled = [b for b in bars if b.label]
    if not labelled:
        return ()
    every = max(1, -(-len(labelled) // MAX_TICKS))
    if len(labelled) > 48:
        every = max(every, 24)  # an hourly chart: one tick a day
    return tuple(Tick(x=round(b.x + step / 2, 1), label=b.label[:10]) for b in labelled[::every])


def bars(counts: Sequence[int], labels: Sequence[str] = (), *, width: int = 672, height: int = 60) -> BarChart:
    """A bar per count, scaled to the largest; `labels` become each bar's tooltip and the
    time axis's ticks."""
    n = max(len(counts), 1)
    step = width / n
    peak = max(counts, default=0)
    out = []
    for i, count in enumerate(counts):
        h = 0.0 if not peak else max(round(height * count / peak, 1), 1.0 if count else 0.0)
        out.append(Bar(x=round(i * step, 1), y=round(height - h, 1), width=round(max(step - 1, 1), 1),
                       height=h, count=count, label=labels[i] if i < len(labels) else ""))
    return BarChart(width=width, height=height, bars=tuple(out), peak=peak, total=sum(counts),
                    ticks=_ticks(out, step))


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    points: str
    last: tuple[float, float]
    total: int


def sparkline(counts: Sequence[int], *, width: int = 140, height: int = 24) -> Sparkline:
    n = len(counts)
    peak = max(counts, default=0) or 1
    pad = 2.0
    coords = [(round(pad + (width - 2 * pad) * (i / max(n - 1, 1)), 1),
               round(height - pad - (height - 2 * pad) * c / peak, 1)) for i, c in enumerate(counts)]
    if not coords:
        coords = [(pad, height - pad)]
    return Sparkline(width=width, height=height, points=" ".join(f"{x},{y}" for x, y in coords),
                     last=coords[-1], total=sum(counts))


@dataclass(frozen=True)
class Dot:
    x: float
    label: str
    offset: float  # seconds after the first copy


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    dots: tuple[Dot, ...]
    span: float  # seconds from the first copy to the last


def timeline(times: Sequence[float], labels: Sequence[str], *, width: int = 900, height: int = 72,
             rtl: bool = False) -> Timeline:
    """Dots along [first, last] (a single copy sits at the start: the left, or the right
    with `rtl`)."""
    if not times:
        return Timeline(width=width, height=height, dots=(), span=0.0)
    first, last = min(times), max(times)
    span = last - first
    pad = 48.0  # room for a label centred under the first and the last dot
    def at(t: float) -> float:
        x = pad + (width - 2 * pad) * ((t - first) / span if span else 0.0)
        return round(width - x if rtl else x, 1)
    dots = tuple(Dot(x=at(t), label=labels[i] if i < len(labels) else "", offset=t - first)
                 for i, t in enumerate(times))
    return Timeline(width=width, height=height, dots=dots, span=span)

