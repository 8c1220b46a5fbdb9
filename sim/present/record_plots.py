"""Plots from one run's records: wait distributions, waits by time, queue length.

Waits by time and queue length are heat maps with a row per specialty (worst first,
capped) on a scale that reads minutes and days alike (waits) or relative to each row's own
peak (queues), so a twice-weekly clinic is not drowned by general medicine; service
standards that are wait limits are drawn as red lines (or outlines) where they apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.present.figures import (
    _WEEKDAYS,
    CELLS,
    STANDARD_STYLE,
    WEEKDAY_LABELS,
    Columns,
    WaitLine,
    _palette,
    draw_wait_lines,
    fixed_layout,
    label_inches,
    panel_grid,
    rows_by,
    thin_steps,
    wait_axis,
    worst_first,
)

MAX_PANELS = 12
"""The most panels (hubs) one figure of small multiples shows; the worst come first."""


def wait_distribution(waits: Mapping[str, np.ndarray], targets: Sequence[float] = (),
                      title: str = "Wait for a consult by specialty",
                      lines: Sequence[WaitLine] = ()) -> Figure:
    """Box plot of waits per group (whiskers 5th-95th percentile), worst at the top.

    ``lines`` (standards) are drawn on the rows they apply to; ``targets`` without a
    standard as grey dotted lines across. Boxes, medians, whiskers and caps are one line
    collection (a box plot of Line2D artists costs as much again to draw).
    """
    from matplotlib.collections import LineCollection

    fig = Figure(figsize=(10, 0.45 * max(len(waits), 4) + 1.6))
    ax = fig.add_subplot()
    names = sorted(waits, key=lambda k: float(np.percentile(waits[k], 90)) if len(waits[k])
                   else 0.0)
    data = [waits[n] for n in names]
    ax.scatter([float(np.mean(d)) if len(d) else np.nan for d in data],
               range(1, len(data) + 1), marker="D", color="tab:blue", zorder=3, label="mean")
    segs: list[Any] = []
    for y, d in enumerate(data, start=1):
        if not len(d):
            continue
        p5, q1, med, q3, p95 = np.percentile(d, (5, 25, 50, 75, 95))
        segs += [[(q1, y - 0.25), (q3, y - 0.25), (q3, y + 0.25), (q1, y + 0.25),
                  (q1, y - 0.25)],                                     # box: quartiles
                 [(med, y - 0.25), (med, y + 0.25)],                   # median
                 [(p5, y), (q1, y)], [(q3, y), (p95, y)],              # whiskers
                 [(p5, y - 0.125), (p5, y + 0.125)], [(p95, y - 0.125), (p95, y + 0.125)]]
    ax.add_collection(LineCollection(segs, colors="black", linewidths=1.0,
                                     label="_box plot"), autolim=False)
    ax.set_yticks(range(1, len(names) + 1), [f"{n} (n={len(waits[n]):,})" for n in names])
    ax.set_ylim(0.5, len(names) + 0.5)
    rows = [(w.minutes, i - 0.4, i + 0.4) for i, n in enumerate(names, start=1)
            for w in lines if w.applies(n)]
    if rows:
        ax.vlines(*zip(*rows, strict=True), **STANDARD_STYLE,
                  label="service standard (its rows)")
    if not lines:
        for i, t in enumerate(targets):
            ax.axvline(t, color="0.4", linestyle=":", linewidth=1,
                       label="service targets" if i == 0 else None)
    top = max([float(np.percentile(d, 95)) for d in data if len(d)]
              + [w.minutes for w in lines] + list(targets) + [1.0])
    unit = wait_axis(ax, top, "x")
    ax.set_xlabel(f"wait from request to consult start ({unit})")
    ax.set_title(title, y=1.0)  # a fixed place: no search for tick labels above
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fixed_layout(fig, left=label_inches((f"{n} (n={len(waits[n]):,})" for n in names), 10),
                 bottom=0.65, top=0.45)
    return fig


def _ecdf(ax: Any, waits: np.ndarray, limit: int = 600, **kw: Any) -> None:
    """Step plot of the empirical CDF; at x = 0 it already shows the share not kept waiting.

    Infinite waits (requests never seen) count in the total but are never reached, so the
    curve levels off at the share eventually seen.
    """
    x, counts = np.unique(waits, return_counts=True)
    y = np.cumsum(counts) / len(waits)
    finite = np.isfinite(x)
    x, y = x[finite], y[finite]
    if not len(x):
        x, y = np.zeros(1), np.zeros(1)
    if x[0] > 0:
        x, y = np.r_[0.0, x], np.r_[0.0, y]
    ax.step(*thin_steps(x, y, limit), where="post", **kw)


def wait_ecdf(panels: Mapping[str, Mapping[str, np.ndarray]], targets: Sequence[float] = (),
              title: str = "Wait for a consult: share seen within a given time",
              lines: Sequence[WaitLine] = ()) -> Figure:
    """ECDF of waits per specialty, one panel per entry of ``panels`` (overall, each hub).

    ``panels`` maps a panel title to ``{specialty: waits in minutes}``, inf for a request
    never seen (``served_waits(..., unseen=True)``), so the curve at T is
    ``share_within_T_min``. A standard's limit is a red dashed line with a cross at its
    target share: the curve of a specialty it covers must pass above the cross. The panels
    share their axes (tick labels on the outer ones only) and one legend, names only (the
    counts are on the box plot).
    """
    from matplotlib.ticker import PercentFormatter

    names = sorted({s for p in panels.values() for s in p})
    colours = _palette(names)
    nrows, ncols = panel_grid(len(panels), 2)
    fig = Figure(figsize=(6.2 * ncols, 3.6 * nrows + 1.2))
    allw = np.concatenate([w for p in panels.values() for w in p.values()] or [np.zeros(1)])
    allw = allw[np.isfinite(allw)]
    xmax = max(float(allw.max()) if len(allw) else 1.0, *targets,
               *(w.minutes for w in lines), 1.0)
    marks = ("red dashes: service standard's limit, cross: its target share"
             if lines else "grey dots: service targets")
    fig.suptitle(f"{title}\n{marks}")
    first: Any = None
    unit = ""
    points = sorted({(w.minutes, w.share) for w in lines if w.share is not None})
    for i, (panel, waits) in enumerate(panels.items()):
        ax = fig.add_subplot(nrows, ncols, i + 1, sharex=first, sharey=first)
        if first is None:  # the panels share the scales, limits and ticks set here
            first = ax
            unit = wait_axis(ax, xmax, "x")
            ax.set_ylim(0, 1.01)
            ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        for spec in names:
            w = waits.get(spec)
            if w is not None and len(w):
                _ecdf(ax, w, color=colours[spec], linewidth=1.4, label=spec)
        draw_wait_lines(ax, lines, "x")
        if points:
            ax.plot(*zip(*points, strict=True), "X", color="tab:red", markeredgecolor="black",
                    markersize=8, zorder=4, linestyle="none", label="standard's target share")
        if not lines:
            for t in targets:
                ax.axvline(t, color="0.35", linestyle=":", linewidth=1)
        ax.set_title(panel, y=1.0)
        ax.grid(alpha=0.3)
        ax.label_outer()  # tick labels on the outer panels only
    handles = [h for h in first.get_lines() if h.get_label() in colours] if first else []
    fig.legend(handles, [h.get_label() for h in handles], loc="upper center",
               ncols=min(len(handles), 5) or 1, fontsize="small", frameon=False,
               bbox_to_anchor=(0.5, 1 - 0.62 / fig.get_figheight()))
    fig.supxlabel(f"wait from request to consult start ({unit})", y=0.01, va="bottom")
    fig.supylabel("share of requests seen within", x=0.005, ha="left")
    fixed_layout(fig, left=0.75, bottom=0.6, top=1.2 + 0.2 * ((len(names) - 1) // 5),
                 wspace=0.08, hspace=0.22)
    return fig


def _pct_by(values: np.ndarray, groups: np.ndarray, n: int,
            q: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Percentiles ``q`` of ``values`` in each group 0..n-1 (NaN where empty), and counts."""
    out = np.full((len(q), n), np.nan)
    order = np.argsort(groups, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(groups, minlength=n))]
    v = values[order]
    for k in range(n):
        part = v[bounds[k]:bounds[k + 1]]
        if len(part):
            out[:, k] = np.percentile(part, q)
    return out, np.diff(bounds)


def _short(minutes: float) -> str:
    """A wait for a heat-map cell: ``5m``, ``3h``, ``2d``."""
    if not np.isfinite(minutes):
        return ""
    if minutes < 90:
        return f"{minutes:.0f}m"
    if minutes < 2 * 1440:
        return f"{minutes / 60:.0f}h"
    return f"{minutes / 1440:.0f}d"


def _wait_norm(top: float) -> Any:
    from matplotlib.colors import SymLogNorm

    return SymLogNorm(linthresh=1.0, linscale=0.3, vmin=0.0, vmax=max(top, 60.0))


CELL_VALUES = 60
"""The most cells a heat map writes a value in (the longest of those marked); the colour
bar reads the rest (each written value is a text to lay out and draw)."""


def _heat(ax: Any, grid: np.ndarray, labels: Sequence[str], norm: Any, over: np.ndarray,
          cmap: str = "YlOrRd") -> Any:
    """A group x time heat map of waits, a few values written.

    Cells over a limit are outlined with their value written; a row without one has its
    longest cell's value written (at most ``CELL_VALUES`` values, the longest).
    """
    from matplotlib.patches import Rectangle

    im = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap=cmap, norm=norm,
                   interpolation=CELLS)
    ax.set_facecolor("0.92")
    ax.set_xticks(range(len(labels)), labels, fontsize="x-small")
    ax.tick_params(length=0)
    marked = over.copy()
    free = ~over.any(axis=1) & np.isfinite(grid).any(axis=1)  # rows with no cell over
    marked[free, np.nanargmax(np.where(np.isfinite(grid[free]), grid[free], -1.0), axis=1)
           if free.any() else []] = True
    cells = np.argwhere(marked & np.isfinite(grid))
    cells = cells[np.argsort(-grid[tuple(cells.T)], kind="stable")[:CELL_VALUES]]
    dark = np.ma.filled(norm(np.ma.masked_invalid(grid)), 0.0) > 0.75  # one call
    for i, j in cells:
        ax.text(j, i, _short(grid[i, j]), ha="center", va="center", fontsize=6.5,
                color="white" if dark[i, j] else "black")
    for i, j in zip(*np.nonzero(over), strict=True):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                               edgecolor="black", linewidth=2.0))
    return im


_BAR_LABELS = {0: "0", 5: "5m", 30: "30m", 240: "4h", 1440: "1d", 7 * 1440: "7d"}
"""The ticks of the wait colour bar (minutes) and their labels."""


def waits_by_time(records: Columns, warmup_min: float = 0.0, start_weekday: str = "mon",
                  title: str = "Wait by time of request", lines: Sequence[WaitLine] = (),
                  by: str = "specialty", max_rows: int = 30) -> Figure:
    """The 90th percentile wait by hour of request and by weekday, one row per group.

    Two heat maps (hour, weekday), a row per ``by`` group (specialty) with the longest
    90th percentile wait at the top (at most ``max_rows``), on one symmetric-log colour
    scale from minutes to days (its bar at the right), so a twice-weekly clinic and general
    medicine both read. A cell whose 90th percentile is over the limit of a standard that
    covers the group (share within T, percentile wait) is outlined in black with its value
    written; a row with no cell over a limit has its longest cell's value written.
    """
    served = (np.asarray(records["outcome"]) == "served") & (records["arrival"] >= warmup_min)
    rows = np.flatnonzero(served)
    arrival = records["arrival"][rows]
    wait = (records["start"] - records["arrival"])[rows]
    hour = np.floor(arrival % 1440.0 / 60.0).astype(int)
    weekday = (_WEEKDAYS.index(start_weekday) + np.floor(arrival / 1440.0).astype(int)) % 7
    groups = {g: r for g, r in rows_by(np.asarray(records[by])[rows]).items() if len(r)}
    p90 = {g: float(np.percentile(wait[r], 90)) for g, r in groups.items()}
    shown = worst_first(p90, max_rows)
    hours = np.unique(hour) if len(hour) else np.arange(9, 17)
    span = np.arange(int(hours.min()), int(hours.max()) + 1)
    by_hour = np.full((len(shown), len(span)), np.nan)
    by_day = np.full((len(shown), 7), np.nan)
    for i, g in enumerate(shown):
        r = groups[g]
        (h90,), hc = _pct_by(wait[r], hour[r] - span[0], len(span), (90,))
        (d90,), dc = _pct_by(wait[r], weekday[r], 7, (90,))
        by_hour[i], by_day[i] = np.where(hc > 0, h90, np.nan), np.where(dc > 0, d90, np.nan)
    limit = np.array([min([w.minutes for w in lines if w.share is not None and w.applies(g)],
                          default=np.inf) for g in shown])[:, None]
    norm = _wait_norm(float(np.nanmax(np.r_[by_hour.ravel(), by_day.ravel(), 1.0])))
    fig = Figure(figsize=(11.5, 0.34 * len(shown) + 2.3))
    # the same rows in both maps (imshow's limits); not shared, so that the weekday map has
    # no y ticks at all rather than hidden ones (each tick is objects to build and draw)
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [max(len(span), 3), 7]})
    fixed_layout(fig, left=label_inches(shown), right=1.0, bottom=0.55, top=0.8,
                 wspace=0.04)
    im = _heat(axes[0], by_hour, [f"{h:02d}" for h in span], norm, by_hour > limit)
    _heat(axes[1], by_day, list(WEEKDAY_LABELS), norm, by_day > limit)
    axes[0].set_yticks(range(len(shown)), shown, fontsize="small")
    axes[1].set_yticks([])
    axes[0].set_xlabel("hour of day the request was made")
    axes[1].set_xlabel("weekday of the request")
    ticks = [t for t in _BAR_LABELS if t <= norm.vmax]
    w, h = fig.get_size_inches()
    bar = fig.colorbar(im, cax=fig.add_axes((1 - 0.8 / w, 0.55 / h, 0.15 / w,
                                             1 - 1.35 / h)), ticks=ticks)
    bar.ax.set_yticklabels([_BAR_LABELS[t] for t in ticks], fontsize="x-small")
    bar.ax.minorticks_off()
    bar.set_label("90th percentile wait", fontsize="small")
    more = f"; {len(shown)} of {len(groups)} {by} groups" if len(shown) < len(groups) else ""
    marks = ("numbers and black outline: cells over the row's service standard; rows "
             "without one: their longest cell" if lines else "numbers: each row's longest cell")
    fig.suptitle(f"{title}: 90th percentile wait, longest first{more}\n{marks}")
    return fig


def queue_exit(records: Columns, horizon_min: float) -> np.ndarray:
    """When each request stopped waiting: consult start, the moment it left, or the horizon."""
    outcome = np.asarray(records["outcome"])
    out = np.where(outcome == "served", records["start"], records["end"])
    return np.where((outcome == "unserved") | np.isnan(out), horizon_min, out)


def queue_length_series(arrival: np.ndarray, exit_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step function of the number waiting: change times (minutes) and the count after each.

    Changes at the same instant are netted, so a request served on arrival leaves no blip.
    The count after time t is the arrivals up to t less the exits up to t: both sorted (the
    records' arrivals usually are already), merged by one stable sort of the two runs, and
    counted by binary search.
    """
    a = np.asarray(arrival, dtype=float)
    if len(a) > 1 and not (a[1:] >= a[:-1]).all():
        a = np.sort(a)
    e = np.sort(np.asarray(exit_, dtype=float))
    t = np.sort(np.concatenate([a, e]), kind="stable")  # two sorted runs: a merge
    times = t[np.r_[True, t[1:] != t[:-1]]] if len(t) else t
    count = np.searchsorted(a, times, side="right") - np.searchsorted(e, times, side="right")
    return times, count.astype(float)


def _bin_means(t: np.ndarray, n: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-average of the step function (``t``, ``n``; 0 before ``t[0]``) in each bin."""
    if not len(t):
        return np.zeros(len(edges) - 1)
    area = np.r_[0.0, np.cumsum(n[:-1] * np.diff(t))]  # integral up to each t[k]
    k = np.searchsorted(t, edges, side="right") - 1
    at = np.where(k >= 0, area[np.maximum(k, 0)] + n[np.maximum(k, 0)]
                  * (edges - t[np.maximum(k, 0)]), 0.0)
    return np.diff(at) / np.diff(edges)


def queue_length(records: Columns, horizon_min: float, warmup_min: float = 0.0,
                 by: str = "specialty", title: str = "Requests waiting over simulated time",
                 max_rows: int = 30, bin_min: float = 120.0) -> Figure:
    """Requests waiting (arrival to queue exit) over time: the network, then each group.

    Top: the whole network's count. Below: one row per ``by`` group (specialty), the
    largest time-average queue first (at most ``max_rows``), each row coloured relative to
    its own peak (written beside its name), so a clinic-day specialty's build-up between
    sessions shows as clearly as general medicine's. Bins of ``bin_min`` minutes.
    """
    exits = queue_exit(records, horizon_min)
    rows = rows_by(records[by])
    edges = np.arange(0.0, horizon_min + bin_min, bin_min)
    edges[-1] = max(edges[-1], horizon_min)
    means: dict[str, np.ndarray] = {}
    for g, m in rows.items():
        means[g] = _bin_means(*queue_length_series(records["arrival"][m], exits[m]), edges)
    avg = {g: float(v.mean()) for g, v in means.items()}
    shown = worst_first(avg, max_rows)
    fig = Figure(figsize=(12, 2.2 + 0.3 * len(shown) + 0.9))
    top, low = fig.subplots(2, 1, sharex=True, gridspec_kw={
        "height_ratios": [2.2, max(0.3 * len(shown), 1.0)]})
    labels = [f"{g}  {means[g].max():.1f} / {avg[g]:.1f}" for g in shown]
    fixed_layout(fig, left=label_inches(labels), bottom=0.5, top=0.7, hspace=0.06)
    t, n = thin_steps(*queue_length_series(records["arrival"], exits), limit=2000)
    top.step(np.r_[0.0, t] / 1440.0, np.r_[0.0, n], where="post", color="black",
             linewidth=0.8, label="whole network")
    top.set_ylim(bottom=0)
    top.yaxis.set_major_locator(MaxNLocator(4, integer=True))
    top.set_ylabel("requests waiting\n(whole network)")
    top.grid(alpha=0.3)
    if shown:  # (none in an empty run: the panel stays blank)
        grid = np.array([means[g] / max(float(means[g].max()), 1e-9) for g in shown])
        low.imshow(grid, aspect="auto", cmap="Blues", vmin=0, vmax=1, interpolation=CELLS,
                   extent=(0, edges[-1] / 1440.0, len(shown) - 0.5, -0.5))
    low.set_yticks(range(len(shown)), labels, fontsize="small")
    low.tick_params(axis="y", length=0)
    low.set_xlabel("simulated day")
    for ax in (top, low):
        if warmup_min > 0:
            ax.axvline(warmup_min / 1440.0, color="tab:orange", linewidth=1.2,
                       label="end of warm-up" if ax is top else None)
    top.set_xlim(0, horizon_min / 1440.0)
    more = f"; {len(shown)} of {len(rows)} {by} groups" if len(shown) < len(rows) else ""
    warm = " (orange line: end of warm-up)" if warmup_min > 0 else ""
    fig.suptitle(f"{title}{warm}\nbelow: each {by}'s queue relative to its own peak "
                 f"({bin_min / 60:g}-hour means; beside each name: peak / mean waiting), "
                 f"longest queues first{more}")
    return fig
