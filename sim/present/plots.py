"""Plots of a results folder: every figure its tables allow, as SVG (PNG on request).

The figures themselves are functions that take tables (record columns as numpy arrays
with category names, or rows of summary.csv / comparison.csv / sweep.csv /
standards.csv) and return matplotlib figures: ``sim.present.record_plots`` (from the
records), ``sim.present.summary_plots`` (from the tables) and the shared pieces in
``sim.present.figures``; they are re-exported here. The engine never imports this module.
Figures that would grow with the network (hubs, specialties, districts) show the worst
few first and say how many they left out.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from sim.present.figures import (
    COMPARISON_METRICS,
    FORMATS,
    MAX_STEPS,
    METRIC_LABELS,
    PLOT_DIR,
    WEEKDAY_LABELS,
    WaitLine,
    records_table,
    rows_by,
    save_figure,
    served_waits,
    served_waits_within,
    summary_values,
    table_rows,
    thin_steps,
    wait_axis,
    wait_lines,
    waits_by,
    worst_first,
)
from sim.present.record_plots import (
    MAX_PANELS,
    queue_exit,
    queue_length,
    queue_length_series,
    wait_distribution,
    wait_ecdf,
    waits_by_time,
)
from sim.present.summary_plots import (
    comparison_plot,
    equity_by_district,
    standards_sweep_keys,
    sweep_curves,
    sweep_keys,
    sweep_standards,
    utilisation_heatmap,
)
from sim.present.units import metric_label

__all__ = [
    "COMPARISON_METRICS", "FORMATS", "MAX_PANELS", "MAX_STEPS", "METRIC_LABELS", "PLOT_DIR",
    "PLOT_COLUMNS", "WEEKDAY_LABELS", "WaitLine", "comparison_plot", "equity_by_district",
    "metric_label", "plan_folders", "plot_results", "queue_exit", "queue_length",
    "queue_length_series", "records_table", "rows_by", "run_figures", "save_figure",
    "served_waits", "served_waits_within", "summary_values", "sweep_curves", "sweep_keys",
    "sweep_standards", "table_rows", "thin_steps", "utilisation_heatmap", "wait_axis",
    "wait_distribution", "wait_ecdf", "wait_lines", "waits_by", "waits_by_time",
]

MAX_HUB_PANELS = 5
"""The most hubs the share-seen-within figure gives a panel of their own (the worst)."""


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    if not path.exists():
        return {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 7x faster if built
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
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
    lines = wait_lines(sc)
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
            per_hub = served_waits_within(rec, warmup, "specialty", "hub", unseen=True)
            p90 = {h: float(np.percentile(np.concatenate(list(w.values())), 90))
                   for h, w in per_hub.items()}
            # one hub: its panel would repeat "all hubs"
            worst = worst_first(p90, MAX_HUB_PANELS) if len(per_hub) > 1 else []
            for h in worst:
                panels[f"hub {h}"] = per_hub[h]
            more = (f" (the {len(worst)} of {len(per_hub)} hubs with the longest 90th "
                    "percentile wait)" if 0 < len(worst) < len(per_hub) else "")
            return wait_ecdf(panels, targets, f"{name}: share of requests seen within a time "
                             f"(those that gave up count as not seen){more}", lines)

        figs["wait_by_specialty"] = lambda: wait_distribution(
            by_specialty(), targets, f"{name}: wait for a consult by specialty", lines)
        figs["wait_ecdf_by_hub"] = ecdf
        figs["wait_by_time"] = lambda: waits_by_time(
            rec, warmup, start_wd, f"{name}: wait by time of request", lines)
        if not any(len(w) for w in by_specialty().values()):  # nothing served to draw
            note = (f"No consult was served after the warm-up (day {warmup / 1440:g}) in "
                    f"{len(rec['arrival']):,} requests: no waits to draw.")
            for stem in ("wait_by_specialty", "wait_ecdf_by_hub", "wait_by_time"):
                figs[stem] = functools.partial(note_figure, f"{name}: {stem.replace('_', ' ')}",
                                               note)
        figs["queue_length"] = lambda: queue_length(
            rec, horizon, warmup, "specialty", f"{name}: requests waiting over simulated time")
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


def _write_all(figs: Mapping[str, Callable[[], Figure]], out: Path,
               formats: Sequence[str] = FORMATS) -> list[Path]:
    paths: list[Path] = []
    for stem, build in figs.items():
        with _objects_frozen():
            paths += save_figure(build(), out, stem, formats)
    return paths


@contextlib.contextmanager
def _objects_frozen() -> Iterator[None]:
    """Collect a figure's garbage once, without walking the objects made before it.

    A figure is thousands of small objects in reference cycles, so building one triggers
    collections, and a full one walks every object of the process (an experiment's
    tables, pandas, the scenario). Here what exists is frozen (``gc.freeze``), automatic
    collection is off while the figure is drawn, and one collection at the end frees its
    cycles (so memory holds one figure's garbage at most). Left as it is inside a
    caller's freeze or with collection already off.
    """
    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()  # the figure's cycles, in one pass over what was made since the freeze
        gc.enable()
        gc.unfreeze()


def plan_folders(folder: Path) -> list[Path]:
    """The plan/point subfolders of an experiment folder (those holding a summary.csv)."""
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.name != PLOT_DIR
                  and (p / "summary.csv").exists())


def plot_results(results_dir: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Make every plot the tables in ``results_dir`` allow, into ``results_dir/plots``.

    A run folder gives wait distributions, waits by time, queue length, utilisation and
    equity plots; ``comparison.csv`` adds the plan comparison and ``sweep.csv`` the sweep
    curves (and a sweep's standards.csv the standards along it). A comparison's plan
    subfolders get their own run plots. ``formats``: SVG by default, ``("svg", "png")``
    adds PNG. Returns the files written.
    """
    from sim.results.output import read_csv

    folder = Path(results_dir)
    if not folder.is_dir():
        raise FileNotFoundError(2, "no such results folder", str(folder))
    out = folder / PLOT_DIR
    paths = _write_all(run_figures(folder), out, formats)
    if (folder / "comparison.csv").exists():
        rows = read_csv(folder / "comparison.csv")
        if rows:
            paths += save_figure(comparison_plot(rows), out, "comparison", formats)
        for sub in plan_folders(folder):
            paths += _write_all(run_figures(sub), sub / PLOT_DIR, formats)
    if (folder / "sweep.csv").exists():
        rows = read_csv(folder / "sweep.csv")
        points = plan_folders(folder)
        base = _load_yaml(points[0] / "scenario.resolved.yaml") if points else {}
        if rows and sweep_keys(rows):
            paths += save_figure(sweep_curves(rows, scenario=base), out, "sweep", formats)
        std = read_csv(folder / "standards.csv") if (folder / "standards.csv").exists() else []
        if standards_sweep_keys(std):
            paths += save_figure(sweep_standards(std, scenario=base), out, "sweep_standards",
                                 formats)
    return paths
