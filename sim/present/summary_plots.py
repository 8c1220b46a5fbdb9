"""Plots from the tables rather than the records.

Utilisation and equity (summary.csv), plans compared (comparison.csv), sweep curves
(sweep.csv) and the standards along a sweep (standards.csv).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.present.figures import (
    CELLS,
    COMPARISON_METRICS,
    STANDARD_STYLE,
    Row,
    _num,
    _palette,
    _value,
    fixed_layout,
    label_inches,
    metric_label,
    panel_grid,
    summary_values,
    table_rows,
    wait_axis,
)
from sim.present.units import key_label
from sim.scenario.standards import DEFAULT_MIN_REQUESTS

MAX_DISTRICTS = 30
"""The most districts the equity plot lists (worst first); the map shows them all."""
MAP_NAMES = 12
"""The most districts the equity map names (the worst)."""


HIGH_UTILISATION = 0.85
"""Utilisation from which a hub x specialty cell has its value written (a queue builds)."""
WORST_CELLS = 5
"""How many of the highest cells a heat map writes the value of, whatever the threshold."""


def _written(grid: np.ndarray, threshold: float) -> np.ndarray:
    """Cells (row, column) whose value is written; the colour bar reads the rest.

    Those at or over ``threshold``, and the ``WORST_CELLS`` highest (above 0).
    """
    v = np.where(np.isfinite(grid), grid, -np.inf).ravel()
    order = np.argsort(-v, kind="stable")
    keep = [k for n, k in enumerate(order) if v[k] > 0 and (n < WORST_CELLS or v[k] >= threshold)]
    return np.array(np.unravel_index(np.array(keep, dtype=int), grid.shape)).T


def utilisation_heatmap(summary: Iterable[Row],
                        title: str = "Utilisation and overtime by hub and specialty") -> Figure:
    """Heat maps hub x specialty of utilisation and of overtime minutes per day.

    Each map has a colour bar; values are written only in the cells that need reading
    (utilisation at or over ``HIGH_UTILISATION``, and the ``WORST_CELLS`` highest of each
    map), since every written value is a text to lay out and draw. The maps have the same
    cells; the specialty axis (and the hub axis when side by side) is labelled once.
    """
    rows = table_rows(summary)
    util = summary_values(rows, "utilisation", "hub_specialty")
    ot_metric = "overtime_min_per_day" if any(
        r["metric"] == "overtime_min_per_day" for r in rows) else "overtime_min"
    ot = summary_values(rows, ot_metric, "hub_specialty")
    pairs = [k.split("/", 1) for k in util]
    hubs = list(dict.fromkeys(h for h, _ in pairs))
    specs = sorted(dict.fromkeys(s for _, s in pairs))
    side = len(hubs) > 6  # many hubs: the two maps side by side, rows kept short
    width = max(6.0, 0.75 * len(specs) + 2.5)
    row = 0.32 if side else 0.6
    fig = Figure(figsize=(2 * width + 0.6 if side else width + 0.6,
                          (row * len(hubs) + 1.9) + (0 if side else row * len(hubs) + 0.4)
                          + 0.5))
    axes = fig.subplots(1, 2) if side else fig.subplots(2, 1)  # same cells: imshow's limits
    rotated = 0.5 * label_inches(specs) + 0.3  # the specialty labels, at 30 degrees
    fixed_layout(fig, left=label_inches(hubs) + 0.3, right=0.9, bottom=rotated, top=1.0,
                 wspace=0.9 / width, hspace=0.0 if side else 0.45 / (row * len(hubs)))
    for ax, table, label, cmap, fmt, high in (
        (axes[0], util, "utilisation (consult time / rostered time)", "YlOrRd", "{:.0%}",
         HIGH_UTILISATION),
        (axes[1], ot, metric_label(ot_metric), "Purples", "{:.0f}", np.inf),
    ):
        grid = np.full((len(hubs), len(specs)), np.nan)
        for key, (v, _, _) in table.items():
            h, s = key.split("/", 1)
            grid[hubs.index(h), specs.index(s)] = v
        masked = np.ma.masked_invalid(grid)
        vmax = 1.0 if table is util else max(float(np.nanmax(grid)) if np.isfinite(grid).any()
                                             else 1.0, 1.0)
        im = ax.imshow(masked, cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto",
                       interpolation=CELLS)
        ax.set_facecolor("0.9")
        ax.tick_params(length=0)
        for i, j in _written(grid, high):
            v = grid[i, j]
            ax.text(j, i, fmt.format(v), ha="center", va="center",
                    fontsize="x-small" if side else "small",
                    color="white" if v > 0.6 * vmax else "black")
        ax.set_title(label, y=1.0, fontsize="medium")
        bar = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02, aspect=12)
        bar.ax.yaxis.set_major_locator(MaxNLocator(3))
        if table is util:
            bar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        bar.ax.minorticks_off()
        bar.ax.tick_params(labelsize="x-small")
    # the axes a map does not label have no ticks at all (not hidden ones)
    axes[-1].set_xticks(range(len(specs)), specs, rotation=30, ha="right")
    if side:
        axes[0].set_yticks(range(len(hubs)), hubs, fontsize="small")
        axes[0].set_xticks(range(len(specs)), specs, rotation=30, ha="right")
        axes[1].set_yticks([])
    else:
        for ax in axes:
            ax.set_yticks(range(len(hubs)), hubs)
        axes[0].set_xticks([])
    fig.suptitle(f"{title} (grey: no roster)\nnumbers: the {WORST_CELLS} highest cells of each "
                 f"map and utilisation at or over {HIGH_UTILISATION:.0%}")
    return fig


def hbars(y: np.ndarray, widths: np.ndarray, height: float, colour: str,
          label: str) -> Any:
    """Horizontal bars from 0 as one polygon collection (``barh`` adds a patch per bar)."""
    from matplotlib.collections import PolyCollection

    verts = [[(0.0, yy - height / 2), (w, yy - height / 2), (w, yy + height / 2),
              (0.0, yy + height / 2)] for yy, w in zip(y, widths, strict=True)]
    bars = PolyCollection(verts, facecolors=colour, edgecolors="none", label=label)
    bars.sticky_edges.x.append(0.0)  # no margin left of 0, as barh
    return bars


def equity_by_district(summary: Iterable[Row],
                       coordinates: Mapping[str, tuple[float, float]] | None = None,
                       hubs: Mapping[str, tuple[float, float]] | None = None,
                       title: str = "Equity: waits and abandonment by district",
                       max_districts: int = MAX_DISTRICTS) -> Figure:
    """Waits (median, 90th percentile) and abandonment by district, worst first.

    With ``coordinates`` ({district: (lat, lon)}) for every district, a third panel places
    the districts on a map, coloured by 90th-percentile wait (hubs as triangles). At most
    ``max_districts`` bars (the worst); the map shows every district and names the worst.
    A district with fewer than ``DEFAULT_MIN_REQUESTS`` requests per replication is too
    small to judge, as for the service standards: its bars are grey, with no interval.
    """
    rows = table_rows(summary)
    p90 = summary_values(rows, "wait_p90_min", "district")
    p50 = summary_values(rows, "wait_p50_min", "district")
    aband = summary_values(rows, "abandonment_rate", "district")
    arrivals = summary_values(rows, "arrivals", "district")
    every = sorted(set(p90) | set(aband),
                   key=lambda d: (np.nan_to_num(p90.get(d, (np.nan,))[0], nan=-1.0), d))
    names = every[-max_districts:]  # worst at the top of a horizontal bar chart
    on_map = bool(coordinates) and all(d in coordinates for d in every)  # type: ignore[operator]
    ncols = 3 if on_map else 2
    few = np.array([arrivals.get(d, (0.0,))[0] < DEFAULT_MIN_REQUESTS for d in names], bool)
    fig = Figure(figsize=(5.2 * ncols, 0.38 * max(len(names), 5) + 1.8))
    axes = list(fig.subplots(1, ncols))
    left = label_inches(names)
    fixed_layout(fig, left=left, right=0.3, bottom=0.6, top=0.85 + 0.25 * few.any(),
                 wspace=0.25)
    y = np.arange(len(names))

    def bars(ax: Any, table: Mapping[str, tuple[float, float, float]], offset: float,
             height: float, colour: str, label: str) -> None:
        vals = np.array([table.get(d, (np.nan,) * 3)[0] for d in names])
        # (0: a folder written before its intervals were kept to their range)
        lo = np.maximum(np.array([table.get(d, (np.nan,) * 3)[1] for d in names]), 0.0)
        hi = np.array([table.get(d, (np.nan,) * 3)[2] for d in names])
        ax.add_collection(hbars((y + offset)[~few], np.nan_to_num(vals[~few]), height,
                                colour, label))
        if few.any():
            ax.add_collection(hbars((y + offset)[few], np.nan_to_num(vals[few]), height,
                                    "0.75", "_too few to judge"))
        ok = np.isfinite(lo) & np.isfinite(hi) & ~few
        if ok.any():
            ax.errorbar(vals[ok], (y + offset)[ok],
                        xerr=[vals[ok] - lo[ok], hi[ok] - vals[ok]],
                        fmt="none", ecolor="black", elinewidth=0.8, capsize=2)

    bars(axes[0], p90, 0.2, 0.4, "tab:red", "90th percentile")
    bars(axes[0], p50, -0.2, 0.4, "tab:blue", "median")
    axes[0].set_xlabel("wait (minutes)")
    axes[0].set_title("wait by district (worst at top)" if len(names) == len(every) else
                      f"wait: the {len(names)} worst of {len(every)} districts", y=1.0)
    axes[0].legend(loc="lower right", fontsize="small")
    bars(axes[1], aband, 0.0, 0.6, "tab:orange", "abandonment rate")
    axes[1].set_xlabel("abandonment rate (% of requests)")
    axes[1].xaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    axes[1].set_title("requests abandoned", y=1.0)
    # the district names once, on the left; the abandonment rows beside them have no ticks
    # at all (not hidden ones: each tick is objects to build and draw)
    axes[0].set_yticks(y, names)
    axes[1].set_yticks([])
    for ax in axes[:2]:
        ax.set_ylim(-0.6, len(names) - 0.4)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="x", alpha=0.3)
    if on_map and coordinates is not None:
        ax = axes[2]
        lat = np.array([coordinates[d][0] for d in every])
        lon = np.array([coordinates[d][1] for d in every])
        colour = np.array([p90.get(d, (np.nan,))[0] for d in every])
        size = np.array([arrivals.get(d, (1.0,))[0] for d in every], dtype=float)
        size = (40 if len(every) <= 30 else 12) + 400 * np.nan_to_num(size) / max(
            float(np.nanmax(size)), 1.0)
        sc = ax.scatter(lon, lat, c=colour, s=size, cmap="YlOrRd", edgecolors="black",
                        linewidths=0.5, zorder=3)
        named = set(every[-MAP_NAMES:])
        for d, x0, y0 in zip(every, lon, lat, strict=True):
            if d in named:
                ax.annotate(d, (x0, y0), xytext=(4, 4), textcoords="offset points",
                            fontsize="x-small")
        if hubs:
            hlat, hlon = np.array(list(hubs.values()), dtype=float).T
            ax.scatter(hlon, hlat, marker="^", s=90, color="tab:blue", zorder=4)
            for h, x0, y0 in zip(hubs, hlon, hlat, strict=True):
                ax.annotate(h, (x0, y0), xytext=(4, -10), textcoords="offset points",
                            fontsize="x-small", color="tab:blue")
        bar = fig.colorbar(sc, ax=ax, label="90th percentile wait (min)")
        bar.ax.yaxis.set_major_locator(MaxNLocator(4))
        bar.ax.minorticks_off()
        ax.set_xticks([])  # a map read by its names: no latitude/longitude labels
        ax.set_yticks([])
        ax.set_xlabel("map (north up; longitude/latitude to scale)")
        ax.set_title("districts (size: requests; ▲ hubs)" if len(every) <= MAP_NAMES else
                     f"districts (size: requests; ▲ hubs; the {MAP_NAMES} worst named)",
                     y=1.0)
        ax.margins(0.15)  # room for the names of the districts at the edges
        ax.set_aspect("equal", adjustable="datalim")
    small = (f"\ngrey: {int(few.sum())} district(s) with fewer than {DEFAULT_MIN_REQUESTS} "
             "requests per replication, too few to judge (no interval)" if few.any() else "")
    fig.suptitle(title + small)
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


def metric_thresholds(scenario: Mapping[str, Any] | None,
                      metric: str) -> list[tuple[float, str]]:
    """The standards of a resolved scenario that set a limit on ``metric``: (value, label)."""
    out = []
    for s in (scenario or {}).get("standards") or []:
        if not isinstance(s, Mapping):
            continue
        m, sid = s.get("measure"), s.get("id", "")
        limits = {"wait_mean": "wait_mean_min", "abandonment": "abandonment_rate"}
        if m == "wait_percentile" and s.get("percentile"):
            limits[m] = f"wait_p{float(s['percentile']):g}_min"
        if m == "share_within" and s.get("within_min"):
            limits[m] = f"share_within_{float(s['within_min']):g}_min"
        if limits.get(str(m)) == metric:
            per = " (each group)" if s.get("by") else ""
            out.append((float(s["target"]), f"standard {sid}{per}"))
    return out


def _key_text(key: str, scenario: Mapping[str, Any] | None) -> str:
    return key_label(key, scenario) if scenario else (
        "demand growth (x baseline)" if key == "demand.growth" else key)


def sweep_curves(sweep: Iterable[Row], x: str | None = None,
                 metrics: Sequence[str] = ("wait_p90_min", "abandonment_rate", "utilisation"),
                 group_by: str = "all", group: str = "all",
                 title: str | None = None, scenario: Mapping[str, Any] | None = None) -> Figure:
    """Sweep curves: ``x`` against each metric with its confidence band.

    One line per plan (and per value of the other swept keys). Default ``x``:
    ``demand.growth`` if swept, else the first swept key. With the resolved ``scenario``,
    keys read in words (not ``hubs.0.roster.0.doctors``) and the standards that limit a
    metric are drawn as red dashed lines.
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
    plans = {str(r.get(plan_col, "")) for r in rows}

    def line_name(r: Row) -> str:
        extra = ", ".join(f"{_key_text(k, scenario)} = {r[k]}" for k in others)
        name = str(r.get(plan_col, "")) if len(plans) > 1 else ""
        return ", ".join(t for t in (name, extra) if t) or "mean"

    lines = list(dict.fromkeys(line_name(r) for r in rows))
    colours = _palette(lines)
    fig = Figure(figsize=(5.2 * len(metrics), 4.6), layout="constrained")
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
        for value, label in metric_thresholds(scenario, metric):
            ax.axhline(value, **STANDARD_STYLE, label=label)
            top = max(top, value)
        ax.set_xlabel(_key_text(x, scenario))
        ax.set_ylabel(metric_label(metric))
        if metric.startswith("wait_") and top > 240:
            wait_axis(ax, top, "y")
            ax.set_ylabel(metric_label(metric)[:-len("(min)")] + "(min; h = hours, d = days)")
        else:
            ax.set_ylim(bottom=0, top=top * 1.1 if top > 0 else None)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    fig.suptitle(title or f"Sweep of {_key_text(x, scenario)} (bands: confidence intervals)")
    return fig


STANDARDS_FIXED: frozenset[str] = frozenset({
    "point", "plan", "standard", "label", "measure", "group_by", "group", "target", "sense",
    "mean", "ci_low", "ci_high", "n", "requests", "confidence", "verdict", "gap", "unit",
    "relative_gap", "change", "change_ci_low", "change_ci_high"})


def standards_sweep_keys(standards: Iterable[Row]) -> list[str]:
    """The swept keys of a sweep's standards table (none for a run's or a comparison's)."""
    for row in table_rows(standards):
        return [k for k in row if k not in STANDARDS_FIXED] if "point" in row else []
    return []


def sweep_standards(standards: Iterable[Row], x: str | None = None,
                    scenario: Mapping[str, Any] | None = None,
                    title: str | None = None) -> Figure:
    """Each standard along a sweep: its worst group's value with CI against the target.

    ``standards`` is a sweep's standards.csv (``point``, the swept keys, then the standards
    columns). One panel per standard; the worst group is the lowest share (at_least) or
    the highest wait or abandonment (at_most) at each point; breached points are red.
    """
    rows = table_rows(standards)
    keys = standards_sweep_keys(rows)
    if not keys:
        raise ValueError("standards table has no swept-key column")
    x = x or ("demand.growth" if "demand.growth" in keys else keys[0])
    others = [k for k in keys if k != x]
    names = list(dict.fromkeys(str(r["standard"]) for r in rows))
    nrows, ncols = panel_grid(len(names), 3)
    fig = Figure(figsize=(5.0 * ncols, 3.8 * nrows + 0.6), layout="constrained")
    for i, std in enumerate(names):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        mine = [r for r in rows if r["standard"] == std]
        least = mine[0].get("sense") == "at_least"
        share = mine[0].get("measure") in ("share_within", "share_by_next_session",
                                           "abandonment")
        scale = 100.0 if share else 1.0
        series = list(dict.fromkeys(tuple(str(r[k]) for k in others) for r in mine))
        colours = _palette([", ".join(s) for s in series])
        marked = False
        for sv in series:
            pts: dict[float, Row] = {}
            for r in mine:
                if tuple(str(r[k]) for k in others) != sv or np.isnan(_num(r.get("mean"))):
                    continue
                xv, cur = _num(r[x]), pts.get(_num(r[x]))
                if cur is None or (_num(r["mean"]) < _num(cur["mean"])) == least:
                    pts[xv] = r
            xs = np.array(sorted(pts))
            if not len(xs):
                continue
            ys = np.array([_num(pts[v]["mean"]) for v in xs]) * scale
            lo = np.array([_num(pts[v].get("ci_low")) for v in xs]) * scale
            hi = np.array([_num(pts[v].get("ci_high")) for v in xs]) * scale
            label = ", ".join(f"{_key_text(k, scenario)} = {v}" for k, v in zip(
                others, sv, strict=True)) or "worst group"
            colour = colours[", ".join(sv)]
            ax.plot(xs, ys, "-", color=colour, label=label)
            ok = np.isfinite(lo) & np.isfinite(hi)
            if ok.any():
                ax.fill_between(xs[ok], lo[ok], hi[ok], color=colour, alpha=0.15)
            bad = np.array([pts[v].get("verdict") == "breached" for v in xs])
            ax.scatter(xs[~bad], ys[~bad], color=colour, zorder=3, s=18)
            ax.scatter(xs[bad], ys[bad], color="tab:red", marker="X", zorder=4, s=40,
                       label="breached" if bad.any() and not marked else None)
            marked = marked or bool(bad.any())
        ax.axhline(_num(mine[0]["target"]) * scale, **STANDARD_STYLE, label="target")
        ax.set_title(std, loc="left", fontsize="medium")
        ax.set_xlabel(_key_text(x, scenario))
        ax.set_ylabel(("worst group's share (%)" if least else "worst group (%)") if share
                      else "worst group's wait (min)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    fig.suptitle(title or f"Service standards along the sweep of {_key_text(x, scenario)}")
    return fig
