"""Plots: functions that take tables (arrays, rows) and return matplotlib figures.

The engine never imports this module. Figures are built with the object-oriented API
(no pyplot state), so plotting works the same in a terminal, a notebook or a worker.
Each ``*_figure``-style function takes plain tables: record columns as numpy arrays with
category names (``sim.output.read_records`` or ``RunResult.decoded()``), or the rows of
``summary.csv`` / ``comparison.csv`` / ``sweep.csv`` as dicts. ``plot_results`` reads a
results folder and writes every plot its tables allow, as PNG and SVG.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from sim.analysis.window import seen_waits
from sim.engine.records import SERVED, RunResult

Row = Mapping[str, Any]
Columns = Mapping[str, np.ndarray]
WEEKDAY_LABELS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PLOT_DIR = "plots"
FORMATS: tuple[str, ...] = ("png", "svg")

METRIC_LABELS: dict[str, str] = {
    "wait_mean_min": "mean wait (min)",
    "wait_p50_min": "median wait (min)",
    "wait_p90_min": "90th percentile wait (min)",
    "wait_p95_min": "95th percentile wait (min)",
    "wait_max_min": "longest wait (min)",
    "utilisation": "utilisation (share of rostered time)",
    "abandonment_rate": "abandonment rate (share of requests)",
    "queue_length_mean": "mean number waiting",
    "throughput_per_day": "consults per day",
    "overtime_min_per_day": "overtime (min per day)",
    "overtime_min": "overtime (min)",
    "share_same_day": "share served the same day",
    "arrivals": "requests",
    "served": "consults",
    "abandoned": "requests abandoned",
    "unserved": "requests unserved at the horizon",
}
COMPARISON_METRICS: tuple[str, ...] = (
    "wait_mean_min", "wait_p90_min", "abandonment_rate", "utilisation",
)


def metric_label(metric: str) -> str:
    """A readable axis label with units for a metric name."""
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    if metric.startswith("share_within_") and metric.endswith("_min"):
        return f"share seen within {metric[len('share_within_'):-len('_min')]} min"
    return metric.replace("_", " ")


def _num(v: Any) -> float:
    """A table cell as a float (empty cell or missing: NaN)."""
    if v is None or v == "":
        return float("nan")
    return float(v)


def _palette(names: Sequence[str]) -> dict[str, tuple[float, float, float, float]]:
    """One stable colour per name (tab10, then tab20 beyond ten names)."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {n: to_rgba(cmap(i % cmap.N)) for i, n in enumerate(names)}


_WAIT_TICKS = (0, 1, 5, 15, 30, 60, 120, 240, 480, 1440, 2880, 7 * 1440, 14 * 1440, 30 * 1440)


def _tick_label(m: float) -> str:
    if m >= 1440 and m % 1440 == 0:
        return f"{m / 1440:g} d"
    if m >= 60 and m % 60 == 0:
        return f"{m / 60:g} h"
    return f"{m:g}"


def wait_axis(ax: Any, top: float, axis: str = "x") -> str:
    """Scale a wait axis (minutes): linear for short waits, symmetric-log for long ones.

    When waits run to hours or days, a 5-minute and a 2-day wait both stay readable.
    Returns the unit note for the axis label.
    """
    top = max(float(top), 1.0)
    if top <= 240:
        (ax.set_xlim if axis == "x" else ax.set_ylim)(0, top * 1.05)
        return "minutes"
    (ax.set_xscale if axis == "x" else ax.set_yscale)("symlog", linthresh=1.0, linscale=0.3)
    (ax.set_xlim if axis == "x" else ax.set_ylim)(0, top * 1.3)
    ticks = [t for t in _WAIT_TICKS if t <= top * 1.3]
    (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks, [_tick_label(t) for t in ticks])
    (ax.xaxis if axis == "x" else ax.yaxis).set_minor_locator(NullLocator())
    return "minutes; h = hours, d = days"


# --- record-level tables ---------------------------------------------------------------------

def records_table(result: RunResult) -> dict[str, np.ndarray]:
    """A run's records as the columns the plots take (category names, times in minutes)."""
    return {k: np.asarray(v) for k, v in result.decoded().items()}


def rows_by(values: Any) -> dict[str, np.ndarray]:
    """Row numbers (increasing) of each distinct value of a column, by the value's name.

    One hash pass (``pandas.factorize``) and one stable radix sort, instead of comparing
    the whole column with each value: category columns read back from records are object
    arrays, whose comparisons cost a Python call per row. Missing values are left out.
    """
    import pandas as pd

    return _rows_by_codes(*pd.factorize(np.asarray(values)))


def _rows_by_codes(codes: np.ndarray, names: Any) -> dict[str, np.ndarray]:
    """``rows_by`` from ``pandas.factorize``'s codes (-1: missing) and names."""
    small = len(names) < 2**15 - 1
    keys = (codes + 1).astype(np.int16) if small else codes + 1  # 0: missing
    order = np.argsort(keys, kind="stable")
    bounds = np.cumsum(np.bincount(keys, minlength=len(names) + 1)).tolist()
    return {str(name): order[bounds[i]:bounds[i + 1]] for i, name in enumerate(list(names))}


def served_waits(records: Columns, warmup_min: float = 0.0,
                 by: str | None = None, unseen: bool = False) -> dict[str, np.ndarray]:
    """Waits (minutes) of served requests that arrived after the warm-up, by a column.

    With ``unseen``, also the requests that left unseen (abandoned, dropped, ...), as an
    infinite wait (``sim.analysis.window.seen_waits``): the share of these waits at or
    below T is ``share_within_T_min`` of ``summary.csv``.
    """
    outcome = np.asarray(records["outcome"])
    measured = records["arrival"] >= warmup_min
    wait = records["start"] - records["arrival"]
    if unseen:
        known = measured & (outcome != "unserved")
        wait = np.where(known, seen_waits(wait, outcome == "served", slice(None)), np.nan)
        served = known
    else:
        served = (outcome == "served") & measured
    if by is None:
        return {"all": wait[served]}
    rows = np.flatnonzero(served)
    wait = wait[rows]
    groups = rows_by(np.asarray(records[by])[rows])
    return {g: wait[groups[g]] for g in sorted(groups)}


def served_waits_within(records: Columns, warmup_min: float, by: str,
                        within: str, unseen: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """``served_waits`` of each ``within`` group's rows alone, by ``by``, in one pass.

    The same as ``served_waits({k: v[rows] for k, v in records.items()}, warmup_min, by,
    unseen)`` for the rows of every value of ``within`` that has a served request (in name
    order), with each column factorised once instead of once per group.
    """
    import pandas as pd

    outcome = np.asarray(records["outcome"])
    done = outcome == "served"
    measured = records["arrival"] >= warmup_min
    wait = records["start"] - records["arrival"]
    if unseen:
        served = measured & (outcome != "unserved")
        wait = np.where(served, seen_waits(wait, done, slice(None)), np.nan)
    else:
        served = done & measured
    codes, names = pd.factorize(np.asarray(records[by]))
    out: dict[str, dict[str, np.ndarray]] = {}
    for w, rows in sorted(rows_by(records[within]).items()):
        if not done[rows].any():
            continue
        rows = rows[served[rows]]
        groups = _rows_by_codes(codes[rows], names)
        out[w] = {g: wait[rows[groups[g]]] for g in sorted(groups) if len(groups[g])}
    return out


def waits_by(result: RunResult, by: str = "specialty") -> dict[str, np.ndarray]:
    """Waits (minutes) of served, post-warm-up requests, grouped by a record column."""
    r = result.records
    keep = (r.outcome == SERVED) & (r.arrival >= result.warmup)
    codes = getattr(r, by)
    names = result.labels()[by]
    return {name: (r.start - r.arrival)[keep & (codes == k)] for k, name in enumerate(names)
            if np.any(keep & (codes == k))}


def wait_distribution(waits: Mapping[str, np.ndarray], targets: Sequence[float] = (),
                      title: str = "Wait for a consult by specialty") -> Figure:
    """Box plot of waits per group (whiskers 5th-95th percentile) with service targets."""
    fig = Figure(figsize=(10, 0.45 * max(len(waits), 4) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    names = sorted(waits, key=lambda k: float(np.median(waits[k])) if len(waits[k]) else 0.0)
    data = [waits[n] for n in names]
    ax.boxplot(data, orientation="horizontal", whis=(5, 95), showfliers=False,
               tick_labels=[f"{n} (n={len(waits[n]):,})" for n in names],
               medianprops={"color": "black"})
    ax.scatter([float(np.mean(d)) if len(d) else np.nan for d in data],
               range(1, len(data) + 1), marker="D", color="tab:red", zorder=3, label="mean")
    for i, t in enumerate(targets):
        ax.axvline(t, color="tab:green", linestyle=":", linewidth=1,
                   label="service targets" if i == 0 else None)
    top = max([float(np.percentile(d, 95)) for d in data if len(d)] + list(targets) + [1.0])
    unit = wait_axis(ax, top, "x")
    ax.set_xlabel(f"wait from request to consult start ({unit})")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right")
    return fig


MAX_STEPS = 4_000
"""The most steps one line of a step plot draws; a longer series (a national-size run has
millions) is thinned to the largest value in each of this many bins of its x range."""


def thin_steps(x: np.ndarray, y: np.ndarray,
               limit: int = MAX_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """A step function (``x`` increasing) cut to at most ``limit`` steps for drawing.

    The x range is cut into ``limit`` equal bins; each bin that holds steps becomes one
    step at its first x with the largest value in it, so peaks survive (an ECDF, which
    only rises, keeps its value at the end of each bin).
    """
    if len(x) <= limit:
        return x, y
    edges = np.linspace(x[0], x[-1], limit + 1)[:-1]
    first = np.unique(np.searchsorted(x, edges, side="left"))
    return x[first], np.maximum.reduceat(y, first)


def _ecdf(ax: Any, waits: np.ndarray, **kw: Any) -> None:
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
    ax.step(*thin_steps(x, y), where="post", **kw)


def wait_ecdf(panels: Mapping[str, Mapping[str, np.ndarray]], targets: Sequence[float] = (),
              title: str = "Wait for a consult: share seen within a given time") -> Figure:
    """ECDF of waits per specialty, one panel per entry of ``panels`` (overall, each hub).

    ``panels`` maps a panel title to ``{specialty: waits in minutes}``, inf for a request
    never seen (``served_waits(..., unseen=True)``), so the curve at T is
    ``share_within_T_min``; the service-level targets are drawn as vertical lines, so the
    share within each target can be read off.
    """
    names = sorted({s for p in panels.values() for s in p})
    colours = _palette(names)
    n = max(len(panels), 1)
    ncols = min(n, 2)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(6.2 * ncols, 3.9 * nrows + 0.6), layout="constrained")
    allw = np.concatenate([w for p in panels.values() for w in p.values()] or [np.zeros(1)])
    allw = allw[np.isfinite(allw)]
    xmax = max(float(allw.max()) if len(allw) else 1.0, *targets, 1.0)
    for i, (panel, waits) in enumerate(panels.items()):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        for spec in names:
            w = waits.get(spec)
            if w is not None and len(w):
                _ecdf(ax, w, color=colours[spec], linewidth=1.4, label=f"{spec} (n={len(w):,})")
        for j, t in enumerate(targets):
            ax.axvline(t, color="0.35", linestyle=":", linewidth=1,
                       label="service targets" if j == 0 else None)
        unit = wait_axis(ax, xmax, "x")
        ax.set_ylim(0, 1.01)
        ax.set_title(panel)
        ax.set_xlabel(f"wait from request to consult start ({unit})")
        ax.set_ylabel("share of requests seen within")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="lower right")
    fig.suptitle(title)
    return fig


def _pct_by(values: np.ndarray, groups: np.ndarray, keys: Sequence[int],
            q: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    out = np.full((len(q), len(keys)), np.nan)
    counts = np.zeros(len(keys), dtype=int)
    for i, k in enumerate(keys):
        v = values[groups == k]
        counts[i] = len(v)
        if len(v):
            out[:, i] = np.percentile(v, q)
    return out, counts


def waits_by_time(records: Columns, warmup_min: float = 0.0, start_weekday: str = "mon",
                  title: str = "Wait by time of request") -> Figure:
    """Median wait with a band up to the 90th percentile, by hour of day and by weekday."""
    served = (np.asarray(records["outcome"]) == "served") & (records["arrival"] >= warmup_min)
    arrival = records["arrival"][served]
    wait = (records["start"] - records["arrival"])[served]
    hour = np.floor(arrival % 1440.0 / 60.0).astype(int)
    weekday = (_WEEKDAYS.index(start_weekday) + np.floor(arrival / 1440.0).astype(int)) % 7
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    for ax, groups, keys, labels, xlabel in (
        (axes[0], hour, list(range(24)), [f"{h:02d}" for h in range(24)],
         "hour of day the request was made"),
        (axes[1], weekday, list(range(7)), list(WEEKDAY_LABELS), "weekday of the request"),
    ):
        (p50, p90), counts = _pct_by(wait, groups, keys, (50, 90))
        x = np.arange(len(keys))
        has = counts > 0
        ax.fill_between(x, p50, p90, where=has, color="tab:blue", alpha=0.25, step=None,
                        label="median to 90th percentile")
        ax.plot(x[has], p50[has], "o-", color="tab:blue", label="median wait")
        ax.plot(x[has], p90[has], "--", color="tab:blue", linewidth=0.8, label="90th percentile")
        ax.set_xticks(x, labels, fontsize="small")
        ax.set_xlabel(xlabel)
        unit = wait_axis(ax, float(np.nanmax(np.r_[p90, 1.0])), "y")
        ax.set_ylabel(f"wait ({unit})")
        ax.grid(alpha=0.3)
    hours = np.unique(hour)
    if len(hours):
        axes[0].set_xlim(max(int(hours.min()) - 1, 0) - 0.5, min(int(hours.max()) + 1, 23) + 0.5)
    axes[0].legend(loc="upper left", fontsize="small")
    fig.suptitle(title)
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


def queue_length(records: Columns, horizon_min: float, warmup_min: float = 0.0,
                 by: str = "hub", title: str = "Requests waiting over simulated time") -> Figure:
    """Number of requests waiting (arrival to queue exit) over time, total and per group."""
    exits = queue_exit(records, horizon_min)
    rows = rows_by(records[by])
    names = sorted(rows)
    colours = _palette(names)
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    ax = fig.add_subplot()
    t, n = thin_steps(*queue_length_series(records["arrival"], exits))
    ax.step(np.r_[0.0, t] / 1440.0, np.r_[0.0, n], where="post", color="black",
            linewidth=1.0, label="all")
    if len(names) > 1:
        for g in names:
            m = rows[g]
            t, n = thin_steps(*queue_length_series(records["arrival"][m], exits[m]))
            ax.step(np.r_[0.0, t] / 1440.0, np.r_[0.0, n], where="post", color=colours[g],
                    linewidth=0.8, label=f"{by} {g}")
    if warmup_min > 0:
        ax.axvspan(0, warmup_min / 1440.0, color="0.85", label="warm-up (not measured)")
    ax.set_xlim(0, horizon_min / 1440.0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("simulated time (days from the start of the run)")
    ax.set_ylabel("requests waiting")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small", ncols=2)
    return fig


# --- summary tables --------------------------------------------------------------------------

def table_rows(table: Any) -> list[dict[str, Any]]:
    """Rows of a table given as a list of dicts or as a pandas DataFrame."""
    if hasattr(table, "to_dict"):
        return list(table.to_dict("records"))
    return [dict(r) for r in table]


def _value(row: Row) -> float:
    """The value of a summary row: ``mean`` when replicated, else ``value``."""
    v = _num(row.get("mean"))
    return _num(row.get("value")) if math.isnan(v) else v


def summary_values(rows: Iterable[Row] | Any, metric: str,
                   group_by: str) -> dict[str, tuple[float, float, float]]:
    """``{group: (value, ci_low, ci_high)}`` of one metric in a summary table."""
    return {str(r["group"]): (_value(r), _num(r.get("ci_low")), _num(r.get("ci_high")))
            for r in table_rows(rows) if r["metric"] == metric and r["group_by"] == group_by}


def utilisation_heatmap(summary: Iterable[Row],
                        title: str = "Utilisation and overtime by hub and specialty") -> Figure:
    """Heat maps hub x specialty of utilisation and of overtime minutes per day."""
    rows = table_rows(summary)
    util = summary_values(rows, "utilisation", "hub_specialty")
    ot_metric = "overtime_min_per_day" if any(
        r["metric"] == "overtime_min_per_day" for r in rows) else "overtime_min"
    ot = summary_values(rows, ot_metric, "hub_specialty")
    pairs = [k.split("/", 1) for k in util]
    hubs = list(dict.fromkeys(h for h, _ in pairs))
    specs = sorted(dict.fromkeys(s for _, s in pairs))
    fig = Figure(figsize=(max(7.0, 1.1 * len(specs) + 2.5) * 1.0, 1.0 + 0.9 * 2 * len(hubs) + 1.8),
                 layout="constrained")
    axes = fig.subplots(2, 1)
    for ax, table, label, cmap, fmt in (
        (axes[0], util, "utilisation (consult time / rostered time)", "YlOrRd", "{:.0%}"),
        (axes[1], ot, metric_label(ot_metric), "Purples", "{:.0f}"),
    ):
        grid = np.full((len(hubs), len(specs)), np.nan)
        for key, (v, _, _) in table.items():
            h, s = key.split("/", 1)
            grid[hubs.index(h), specs.index(s)] = v
        masked = np.ma.masked_invalid(grid)
        vmax = 1.0 if table is util else max(float(np.nanmax(grid)) if np.isfinite(grid).any()
                                             else 1.0, 1.0)
        im = ax.imshow(masked, cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto")
        ax.set_facecolor("0.9")
        ax.set_xticks(range(len(specs)), specs, rotation=30, ha="right")
        ax.set_yticks(range(len(hubs)), hubs)
        for i in range(len(hubs)):
            for j in range(len(specs)):
                if np.isfinite(grid[i, j]):
                    dark = grid[i, j] > 0.6 * vmax
                    ax.text(j, i, fmt.format(grid[i, j]), ha="center", va="center",
                            fontsize="small", color="white" if dark else "black")
        fig.colorbar(im, ax=ax, label=label, shrink=0.9)
        ax.set_ylabel("hub")
    axes[0].set_title(title + " (grey: no roster)")
    return fig


def equity_by_district(summary: Iterable[Row],
                       coordinates: Mapping[str, tuple[float, float]] | None = None,
                       hubs: Mapping[str, tuple[float, float]] | None = None,
                       title: str = "Equity: waits and abandonment by district") -> Figure:
    """Waits (median, 90th percentile) and abandonment by district, worst first.

    With ``coordinates`` ({district: (lat, lon)}) for every district, a third panel places
    the districts on a map, coloured by 90th-percentile wait (hubs as triangles).
    """
    rows = table_rows(summary)
    p90 = summary_values(rows, "wait_p90_min", "district")
    p50 = summary_values(rows, "wait_p50_min", "district")
    aband = summary_values(rows, "abandonment_rate", "district")
    arrivals = summary_values(rows, "arrivals", "district")
    names = sorted(set(p90) | set(aband),
                   key=lambda d: (np.nan_to_num(p90.get(d, (np.nan,))[0], nan=-1.0), d))
    on_map = bool(coordinates) and all(d in coordinates for d in names)  # type: ignore[operator]
    ncols = 3 if on_map else 2
    fig = Figure(figsize=(5.2 * ncols, 0.38 * max(len(names), 5) + 1.8), layout="constrained")
    axes = fig.subplots(1, ncols)
    y = np.arange(len(names))

    def bars(ax: Any, table: Mapping[str, tuple[float, float, float]], offset: float,
             height: float, colour: str, label: str) -> None:
        vals = np.array([table.get(d, (np.nan,) * 3)[0] for d in names])
        lo = np.array([table.get(d, (np.nan,) * 3)[1] for d in names])
        hi = np.array([table.get(d, (np.nan,) * 3)[2] for d in names])
        ax.barh(y + offset, np.nan_to_num(vals), height=height, color=colour, label=label)
        ok = np.isfinite(lo) & np.isfinite(hi)
        if ok.any():
            ax.errorbar(vals[ok], (y + offset)[ok],
                        xerr=[vals[ok] - lo[ok], hi[ok] - vals[ok]],
                        fmt="none", ecolor="black", elinewidth=0.8, capsize=2)

    bars(axes[0], p90, 0.2, 0.4, "tab:red", "90th percentile")
    bars(axes[0], p50, -0.2, 0.4, "tab:blue", "median")
    axes[0].set_xlabel("wait (minutes)")
    axes[0].set_title("wait by district (worst at top)")
    axes[0].legend(loc="lower right", fontsize="small")
    bars(axes[1], aband, 0.0, 0.6, "tab:orange", "abandonment rate")
    axes[1].set_xlabel("abandonment rate (share of requests)")
    axes[1].set_title("requests abandoned")
    for ax in axes[:2]:
        ax.set_yticks(y, names)
        ax.grid(axis="x", alpha=0.3)
        ax.set_ylim(-0.6, len(names) - 0.4)
    if on_map and coordinates is not None:
        ax = axes[2]
        lat = np.array([coordinates[d][0] for d in names])
        lon = np.array([coordinates[d][1] for d in names])
        colour = np.array([p90.get(d, (np.nan,))[0] for d in names])
        size = np.array([arrivals.get(d, (1.0,))[0] for d in names], dtype=float)
        size = 40 + 400 * np.nan_to_num(size) / max(float(np.nanmax(size)), 1.0)
        sc = ax.scatter(lon, lat, c=colour, s=size, cmap="YlOrRd", edgecolors="black",
                        linewidths=0.5, zorder=3)
        for d, x0, y0 in zip(names, lon, lat, strict=True):
            ax.annotate(d, (x0, y0), xytext=(4, 4), textcoords="offset points",
                        fontsize="x-small")
        if hubs:
            for h, (hlat, hlon) in hubs.items():
                ax.scatter([hlon], [hlat], marker="^", s=90, color="tab:blue", zorder=4)
                ax.annotate(h, (hlon, hlat), xytext=(4, -10), textcoords="offset points",
                            fontsize="x-small", color="tab:blue")
        fig.colorbar(sc, ax=ax, label="90th percentile wait (min)")
        ax.set_xlabel("longitude (°E)")
        ax.set_ylabel("latitude (°N)")
        ax.set_title("districts (size: requests; ▲ hubs)")
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig


# --- experiment tables -----------------------------------------------------------------------

def _verdict_colour(verdict: str) -> str:
    v = verdict.lower()
    if "better" in v or "improv" in v:
        return "tab:green"
    if "worse" in v:
        return "tab:red"
    return "0.4"


def comparison_plot(comparison: Iterable[Row], metrics: Sequence[str] | None = None,
                    group_by: str = "all", group: str = "all",
                    title: str = "Plans compared (bars: confidence intervals)") -> Figure:
    """Each key metric per plan with CI bars, and the paired differences to the base.

    Left column: plan means with CIs; right: difference to the base plan with its CI,
    coloured by verdict (green better, red worse, grey no clear difference).
    """
    rows = [r for r in table_rows(comparison)
            if r["group_by"] == group_by and r["group"] == group]
    present = list(dict.fromkeys(r["metric"] for r in rows))
    metrics = [m for m in (metrics or COMPARISON_METRICS) if m in present] or present[:4]
    plans = list(dict.fromkeys(r["plan"] for r in rows))
    base = [r["plan"] for r in rows if r.get("verdict") == "base"]
    fig = Figure(figsize=(12, 1.2 + (0.45 * len(plans) + 1.3) * len(metrics)),
                 layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(metrics), 2, squeeze=False))
    y = np.arange(len(plans))
    for i, metric in enumerate(metrics):
        by_plan = {r["plan"]: r for r in rows if r["metric"] == metric}
        left, right = axes[i]
        mean = np.array([_num(by_plan.get(p, {}).get("mean")) for p in plans])
        lo = np.array([_num(by_plan.get(p, {}).get("ci_low")) for p in plans])
        hi = np.array([_num(by_plan.get(p, {}).get("ci_high")) for p in plans])
        colours = ["black" if p in base else "tab:blue" for p in plans]
        left.errorbar(mean, y, xerr=[np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)],
                      fmt="none", ecolor="0.3", capsize=4)
        left.scatter(mean, y, c=colours, zorder=3)
        left.set_yticks(y, [f"{p} (base)" if p in base else p for p in plans])
        left.set_xlabel(metric_label(metric))
        left.grid(axis="x", alpha=0.3)
        others = [p for p in plans if p not in base]
        yo = np.arange(len(others))
        d = np.array([_num(by_plan.get(p, {}).get("diff")) for p in others])
        dlo = np.array([_num(by_plan.get(p, {}).get("diff_ci_low")) for p in others])
        dhi = np.array([_num(by_plan.get(p, {}).get("diff_ci_high")) for p in others])
        verdicts = [str(by_plan.get(p, {}).get("verdict", "")) for p in others]
        right.axvline(0.0, color="black", linewidth=0.8)
        if len(others):
            right.errorbar(d, yo, xerr=[np.nan_to_num(d - dlo), np.nan_to_num(dhi - d)],
                           fmt="none", ecolor="0.3", capsize=4)
            right.scatter(d, yo, c=[_verdict_colour(v) for v in verdicts], zorder=3, s=40)
            for yy, dd, v in zip(yo, np.nan_to_num(dhi), verdicts, strict=True):
                right.annotate(v, (dd, yy), xytext=(6, 0), textcoords="offset points",
                               va="center", fontsize="small")
        right.set_yticks(yo, others)
        right.set_ylim(-0.6, max(len(others), 1) - 0.4)
        basename = base[0] if base else "base"
        right.set_xlabel(f"difference to {basename}: {metric_label(metric)}")
        right.grid(axis="x", alpha=0.3)
        right.margins(x=0.25)
    axes[0][0].set_title("each plan (mean, CI)")
    axes[0][1].set_title("paired difference to the base (mean, CI)")
    fig.suptitle(title)
    return fig


SWEEP_FIXED: frozenset[str] = frozenset({"scenario", "plan", "metric", "group_by", "group", "mean",
                                         "ci_low", "ci_high", "n", "value"})


def sweep_keys(sweep: Iterable[Row]) -> list[str]:
    """The swept dotted keys: the columns of ``sweep.csv`` that are not standard ones."""
    for row in table_rows(sweep):
        return [k for k in row if k not in SWEEP_FIXED]
    return []


def sweep_curves(sweep: Iterable[Row], x: str | None = None,
                 metrics: Sequence[str] = ("wait_p90_min", "utilisation"),
                 group_by: str = "all", group: str = "all",
                 title: str | None = None) -> Figure:
    """Sweep curves: ``x`` against each metric with its confidence band.

    One line per plan (and per value of the other swept keys). Default ``x``:
    ``demand.growth`` if swept, else the first swept key.
    """
    rows = [r for r in table_rows(sweep) if r["group_by"] == group_by and r["group"] == group]
    keys = sweep_keys(rows)
    if not keys:
        raise ValueError("sweep table has no swept-key column")
    x = x or ("demand.growth" if "demand.growth" in keys else keys[0])
    others = [k for k in keys if k != x]
    present = {r["metric"] for r in rows}
    metrics = [m for m in metrics if m in present] or sorted(present)[:1]
    plan_col = "scenario" if rows and "scenario" in rows[0] else "plan"

    def line_name(r: Row) -> str:
        extra = ", ".join(f"{k}={r[k]}" for k in others)
        return f"{r.get(plan_col, '')}" + (f" ({extra})" if extra else "")

    lines = list(dict.fromkeys(line_name(r) for r in rows))
    colours = _palette(lines)
    fig = Figure(figsize=(6.0 * len(metrics), 4.6), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        top = 0.0
        for name in lines:
            pts = sorted((_num(r[x]), _value(r), _num(r.get("ci_low")), _num(r.get("ci_high")))
                         for r in rows if r["metric"] == metric and line_name(r) == name)
            if not pts:
                continue
            xs, ys, lo, hi = (np.array(c) for c in zip(*pts, strict=True))
            ax.plot(xs, ys, "o-", color=colours[name], label=name)
            ok = np.isfinite(lo) & np.isfinite(hi)
            if ok.any():
                ax.fill_between(xs[ok], lo[ok], hi[ok], color=colours[name], alpha=0.2)
            top = max(top, float(np.nanmax(np.r_[ys, hi, 0.0])))
        ax.set_xlabel("demand growth (x baseline)" if x == "demand.growth" else x)
        ax.set_ylabel(metric_label(metric))
        if metric.startswith("wait_") and top > 240:
            wait_axis(ax, top, "y")
            ax.set_ylabel(metric_label(metric)[:-len("(min)")] + "(min; h = hours, d = days)")
        else:
            ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(title or f"Sweep of {x} (bands: confidence intervals)")
    return fig


# --- a results folder ------------------------------------------------------------------------

def save_figure(fig: Figure, out: Path, stem: str,
                formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``out/stem.<format>`` for each format (atomically)."""
    from sim.results.output import atomic_write

    paths = []
    for fmt in formats:
        def write(fh: IO[bytes], f: str = fmt) -> None:
            fig.savefig(fh, format=f, dpi=110)

        paths.append(atomic_write(Path(out) / f"{stem}.{fmt}", write))
        fig.set_layout_engine("none")  # laid out once; the other formats reuse it
    return paths


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _coords(items: Iterable[Mapping[str, Any]], key: str) -> dict[str, tuple[float, float]]:
    return {str(d[key]): (float(d["lat"]), float(d["lon"])) for d in items
            if d.get("lat") is not None and d.get("lon") is not None}


PLOT_COLUMNS: tuple[str, ...] = ("arrival", "start", "end", "outcome", "hub", "specialty")
"""The record columns the run plots read (the rest of records.csv.gz is not loaded)."""


def note_figure(title: str, note: str) -> Figure:
    """A figure that says why there is nothing to draw (an empty run or group)."""
    fig = Figure(figsize=(10, 2.6), layout="constrained")
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, note, ha="center", va="center", wrap=True, fontsize="large")
    ax.set_title(title)
    return fig


def run_figures(folder: Path, label: str = "") -> dict[str, Callable[[], Figure]]:
    """The figures one run's folder allows (summary, records, resolved scenario), by stem.

    Returned as builders, so a caller can make them one at a time.
    """
    from sim.results.output import read_csv, read_records

    folder = Path(folder)
    sc = _load_yaml(folder / "scenario.resolved.yaml")
    cal = sc.get("calendar", {})
    warmup = float(cal.get("warmup_days", 0.0)) * 1440.0
    horizon = float(cal.get("horizon_days", 0.0)) * 1440.0
    targets = list(sc.get("metrics", {}).get("targets_min", [15, 30, 60]))
    start_wd = str(cal.get("start_weekday", "mon"))
    name = label or str(sc.get("name", folder.name))
    figs: dict[str, Callable[[], Figure]] = {}
    if (folder / "records.csv.gz").exists():
        rec = read_records(folder / "records.csv.gz", columns=PLOT_COLUMNS)
        if not horizon:
            horizon = float(np.nanmax(np.r_[rec["arrival"], rec["end"], 0.0]))

        @functools.cache
        def by_specialty() -> dict[str, np.ndarray]:
            return served_waits(rec, warmup, "specialty")

        def ecdf() -> Figure:
            panels = {"all hubs": served_waits(rec, warmup, "specialty", unseen=True)}
            for h, waits in served_waits_within(rec, warmup, "specialty", "hub",
                                                unseen=True).items():
                panels[f"hub {h}"] = waits
            return wait_ecdf(panels, targets, f"{name}: share of requests seen within a time "
                             "(those that gave up count as not seen)")

        figs["wait_by_specialty"] = lambda: wait_distribution(
            by_specialty(), targets, f"{name}: wait for a consult by specialty")
        figs["wait_ecdf_by_hub"] = ecdf
        figs["wait_by_time"] = lambda: waits_by_time(rec, warmup, start_wd,
                                                     f"{name}: wait by time of request")
        if not any(len(w) for w in by_specialty().values()):  # nothing served to draw
            note = (f"No consult was served after the warm-up (day {warmup / 1440:g}) in "
                    f"{len(rec['arrival']):,} requests: no waits to draw.")
            for stem in ("wait_by_specialty", "wait_ecdf_by_hub", "wait_by_time"):
                figs[stem] = functools.partial(note_figure, f"{name}: {stem.replace('_', ' ')}",
                                               note)
        figs["queue_length"] = lambda: queue_length(
            rec, horizon, warmup, "hub", f"{name}: requests waiting over simulated time")
    if (folder / "summary.csv").exists():
        rows = read_csv(folder / "summary.csv")
        if any(r["group_by"] == "hub_specialty" and r["metric"] == "utilisation" for r in rows):
            figs["utilisation_heatmap"] = lambda: utilisation_heatmap(
                rows, f"{name}: utilisation and overtime by hub and specialty")
        if any(r["group_by"] == "district" for r in rows):
            districts = _coords(sc.get("spokes", {}).get("districts", []), "district")
            hubs = _coords(sc.get("hubs", []), "id")
            figs["equity_by_district"] = lambda: equity_by_district(
                rows, districts, hubs, f"{name}: waits and abandonment by district")
    return figs


def _write_all(figs: Mapping[str, Callable[[], Figure]], out: Path) -> list[Path]:
    paths: list[Path] = []
    for stem, build in figs.items():
        paths += save_figure(build(), out, stem)
    return paths


def plan_folders(folder: Path) -> list[Path]:
    """The plan/point subfolders of an experiment folder (those holding a summary.csv)."""
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.name != PLOT_DIR
                  and (p / "summary.csv").exists())


def plot_results(results_dir: str | Path) -> list[Path]:
    """Make every plot the tables in ``results_dir`` allow, into ``results_dir/plots``.

    A run folder gives wait distributions, waits by time, queue length, utilisation and
    equity plots; ``comparison.csv`` adds the plan comparison and ``sweep.csv`` the sweep
    curves. A comparison's plan subfolders get their own run plots. Returns the files
    written (PNG and SVG of each figure).
    """
    from sim.results.output import read_csv

    folder = Path(results_dir)
    if not folder.is_dir():
        raise FileNotFoundError(2, "no such results folder", str(folder))
    out = folder / PLOT_DIR
    paths = _write_all(run_figures(folder), out)
    if (folder / "comparison.csv").exists():
        rows = read_csv(folder / "comparison.csv")
        if rows:
            paths += save_figure(comparison_plot(rows), out, "comparison")
        for sub in plan_folders(folder):
            paths += _write_all(run_figures(sub), sub / PLOT_DIR)
    if (folder / "sweep.csv").exists():
        rows = read_csv(folder / "sweep.csv")
        if rows and sweep_keys(rows):
            paths += save_figure(sweep_curves(rows), out, "sweep")
    return paths
