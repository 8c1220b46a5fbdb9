"""Plots: built from tables for a small scenario, and carrying the data series expected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim import scenario_from_dict, simulate, summary_rows
from sim.analysis.metrics import lookup
from sim.present.plots import (
    comparison_plot,
    equity_by_district,
    plot_results,
    queue_exit,
    queue_length,
    queue_length_series,
    records_table,
    rows_by,
    served_waits,
    sweep_curves,
    utilisation_heatmap,
    wait_distribution,
    wait_ecdf,
    waits_by_time,
)
from sim.present.summary_plots import WORST_CELLS
from sim.results.output import write_csv, write_run
from sim.scenario.standards import DEFAULT_MIN_REQUESTS

SMALL: dict[str, Any] = {
    "name": "small-net",
    "description": "Two hubs, three specialties, three districts",
    "seed": 11,
    "calendar": {"horizon_days": 8, "warmup_days": 1},
    "specialties": {"medicine": {"consult": {"kind": "exponential", "mean": 8}},
                    "paediatrics": {"consult": {"kind": "exponential", "mean": 10}},
                    "psychiatry": {"consult": {"kind": "exponential", "mean": 20}}},
    "hubs": [
        {"id": "shimla", "lat": 31.1, "lon": 77.17,
         "doctors": {"medicine": 2, "paediatrics": 1, "psychiatry": 1},
         "roster": [{"specialty": "medicine", "start": "09:30", "end": "16:00", "doctors": 2},
                    {"specialty": "paediatrics", "start": "09:30", "end": "16:00"},
                    {"specialty": "psychiatry", "days": ["mon", "wed", "fri"], "start": "09:30",
                     "end": "13:00"}]},
        {"id": "tanda", "doctors": {"medicine": 1, "paediatrics": 1},
         "roster": [{"specialty": "medicine", "start": "09:30", "end": "16:00"},
                    {"specialty": "paediatrics", "start": "09:30", "end": "16:00"}]},
    ],
    "spokes": {"hours": {"start": "09:30", "end": "16:00"}, "districts": [
        {"district": "Shimla", "home_hub": "shimla", "subcentres": 20, "phcs": 10,
         "lat": 31.1, "lon": 77.17},
        {"district": "Kangra", "home_hub": "tanda", "subcentres": 30, "phcs": 10,
         "lat": 32.2, "lon": 76.3},
        {"district": "Kinnaur", "home_hub": "shimla", "subcentres": 5, "phcs": 2,
         "lat": 31.6, "lon": 78.4},
    ]},
    "demand": {
        "d2d": {"per_spoke_per_day": {"subcentre": 0.6, "phc": 1.0},
                "specialty_mix": {"medicine": 0.7, "paediatrics": 0.3}},
        "opd": {"per_day": {"Shimla": 10}, "specialty_mix": {"medicine": 0.5,
                                                            "psychiatry": 0.5}},
    },
    "queue": {"patience": {"kind": "exponential", "mean": 240}},
}


@pytest.fixture(scope="module")
def run() -> Any:
    return simulate(scenario_from_dict(SMALL, source="<test>"))


@pytest.fixture(scope="module")
def rec(run: Any) -> dict[str, np.ndarray]:
    return records_table(run)


@pytest.fixture(scope="module")
def summary(run: Any) -> list[dict[str, Any]]:
    return summary_rows(run)


def _lines(ax: Any) -> list[Line2D]:
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


def test_served_waits_match_the_records(run: Any, rec: dict[str, np.ndarray]) -> None:
    waits = served_waits(rec, run.warmup, "specialty")
    assert set(waits) == {"medicine", "paediatrics", "psychiatry"}
    total = sum(len(w) for w in waits.values())
    assert total == lookup(summary_rows(run, by=()), "served")
    assert np.isclose(np.mean(np.concatenate(list(waits.values()))),
                      lookup(summary_rows(run, by=()), "wait_mean_min"))


def test_rows_by_gives_each_values_rows_as_a_mask_would() -> None:
    rng = np.random.default_rng(4)
    names = np.asarray(["b", "a", "(state pool)", "c"], dtype=object)
    values = names[rng.integers(0, 4, 5000)]
    values[rng.random(5000) < 0.01] = None  # missing values belong to no group
    rows = rows_by(values)
    assert set(rows) == {"a", "b", "c", "(state pool)"}
    for name, at in rows.items():
        assert np.array_equal(at, np.flatnonzero(values == name)), name
    assert rows_by(np.asarray([], dtype=object)) == {}


def test_served_waits_match_a_mask_per_group(run: Any, rec: dict[str, np.ndarray]) -> None:
    served = (rec["outcome"] == "served") & (rec["arrival"] >= run.warmup)
    for by in ("specialty", "hub", "district"):
        got = served_waits(rec, run.warmup, by)
        assert list(got) == sorted(set(rec[by][served].tolist()))
        for g, w in got.items():
            assert np.array_equal(w, (rec["start"] - rec["arrival"])[served & (rec[by] == g)])


@pytest.mark.parametrize("seed", range(4))
def test_queue_length_series_is_the_netted_step_function(seed: int) -> None:
    """The merged-sort series equals the netted bincount over ``np.unique`` of all change
    times (the definition), with ties, arrivals out of order and zero-length waits."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    arrival = np.round(rng.uniform(0, 100, n), 1)
    if seed % 2:
        arrival = np.sort(arrival)
    exit_ = arrival + np.where(rng.random(n) < 0.3, 0.0, np.round(rng.exponential(5, n), 1))
    t = np.concatenate([arrival, exit_])
    times, where = np.unique(t, return_inverse=True)
    want = np.cumsum(np.bincount(where, weights=np.r_[np.ones(n), -np.ones(n)],
                                 minlength=len(times)))
    got_t, got_n = queue_length_series(arrival, exit_)
    assert got_t.tobytes() == times.tobytes() and got_n.tobytes() == want.tobytes()


def test_served_waits_within_each_group_are_served_waits_of_its_rows(
        run: Any, rec: dict[str, np.ndarray]) -> None:
    """One pass gives what ``served_waits`` gives on each hub's rows alone, for every hub
    with a served request (a hub whose requests were all served in the warm-up included)."""
    from sim.present.plots import served_waits_within

    cases = [(rec, run.warmup)]
    early = rec["hub"] == "tanda"  # tanda served nothing after a warm-up ending here:
    cut = float(np.max(rec["arrival"][early])) + 1.0
    cases.append(({k: v for k, v in rec.items()}, cut))
    for records, warmup in cases:
        got = served_waits_within(records, warmup, "specialty", "hub")
        done = records["outcome"] == "served"
        hubs = sorted(h for h in set(records["hub"].tolist())
                      if isinstance(h, str) and done[records["hub"] == h].any())
        assert list(got) == hubs
        for h in hubs:
            m = records["hub"] == h
            want = served_waits({k: v[m] for k, v in records.items()}, warmup, "specialty")
            assert list(got[h]) == list(want), h
            for g in want:
                assert np.array_equal(got[h][g], want[g]), (h, g)
        assert (got["tanda"] == {}) == (warmup == cut)


def test_wait_ecdf_has_one_panel_per_hub_and_a_curve_per_specialty(
        run: Any, rec: dict[str, np.ndarray]) -> None:
    targets = run.scenario.metrics.targets_min
    panels = {"all hubs": served_waits(rec, run.warmup, "specialty")}
    for hub in ("shimla", "tanda"):
        m = rec["hub"] == hub
        panels[hub] = served_waits({k: v[m] for k, v in rec.items()}, run.warmup, "specialty")
    fig = wait_ecdf(panels, targets)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    all_ax, shimla_ax, tanda_ax = fig.axes
    curves = _lines(all_ax)
    assert len(curves) == 3                                   # one per specialty
    assert len(_lines(tanda_ax)) == 2                         # tanda has no psychiatry
    # one legend for the figure, names only; the panels share the axes, labelled outside
    assert not any(ax.get_legend() for ax in fig.axes) and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "medicine", "paediatrics", "psychiatry"]
    assert shimla_ax.get_shared_y_axes().joined(all_ax, shimla_ax)
    assert not any(t.get_visible() for t in shimla_ax.get_yticklabels())
    assert len(all_ax.get_xticks()) <= 7
    target_x = sorted(ln.get_xdata()[0] for ln in all_ax.get_lines()
                      if ln.get_linestyle() == ":")
    assert target_x == sorted(targets)
    med = next(ln for ln in curves if ln.get_label().startswith("medicine"))
    x, y = np.asarray(med.get_xdata()), np.asarray(med.get_ydata())
    w = panels["all hubs"]["medicine"]
    assert y[-1] == pytest.approx(1.0) and x[-1] == pytest.approx(w.max())
    assert np.all(np.diff(y) >= 0)
    # the curve's height at a target is the share of consults seen within it
    assert y[np.searchsorted(x, 15.0, side="right") - 1] == pytest.approx(np.mean(w <= 15.0))


def test_box_plot_still_works(run: Any) -> None:
    from sim.present.plots import waits_by

    fig = wait_distribution(waits_by(run), run.scenario.metrics.targets_min)
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == 3
    assert len(ax.collections[0].get_offsets()) == 3           # a mean marker per specialty


def test_waits_by_time_is_a_row_per_specialty_worst_first(
        run: Any, rec: dict[str, np.ndarray]) -> None:
    fig = waits_by_time(rec, run.warmup, run.scenario.calendar.start_weekday)
    hour_ax, weekday_ax = fig.axes[:2]
    served = (rec["outcome"] == "served") & (rec["arrival"] >= run.warmup)
    hours = np.floor(rec["arrival"][served] % 1440 / 60).astype(int)
    day = np.floor(rec["arrival"][served] / 1440).astype(int) % 7   # starts on a Monday
    wait = (rec["start"] - rec["arrival"])[served]
    spec = rec["specialty"][served]
    rows = [t.get_text().split(" (")[0] for t in hour_ax.get_yticklabels()]
    p90 = [np.percentile(wait[spec == s], 90) for s in rows]
    assert sorted(rows) == ["medicine", "paediatrics", "psychiatry"]
    assert p90 == sorted(p90, reverse=True)                   # longest wait at the top
    cols = [int(t.get_text()) for t in hour_ax.get_xticklabels()]
    grid = hour_ax.get_images()[0].get_array()
    for i, s in enumerate(rows):
        for j, h in enumerate(cols):
            m = (spec == s) & (hours == h)
            if m.any():
                assert grid[i, j] == pytest.approx(np.percentile(wait[m], 90))
            else:
                assert np.ma.is_masked(grid[i, j])
    week = weekday_ax.get_images()[0].get_array()
    assert np.ma.is_masked(week[0, 6])                        # spokes closed on Sundays
    m = (spec == rows[0]) & (day == 0)
    assert week[0, 0] == pytest.approx(np.percentile(wait[m], 90))


def test_waits_by_time_outlines_cells_over_a_standard(run: Any,
                                                      rec: dict[str, np.ndarray]) -> None:
    from matplotlib.patches import Rectangle

    from sim.present.plots import WaitLine

    line = WaitLine(1.0, "quick: 90% within 1 min", 0.9, frozenset({"medicine"}))
    fig = waits_by_time(rec, run.warmup, "mon", lines=[line])
    hour_ax = fig.axes[0]
    rows = [t.get_text().split(" (")[0] for t in hour_ax.get_yticklabels()]
    grid = hour_ax.get_images()[0].get_array()
    boxes = {(round(p.get_y() + 0.5), round(p.get_x() + 0.5)) for p in hour_ax.patches
             if isinstance(p, Rectangle) and not p.get_fill()}
    med = rows.index("medicine")
    want = {(med, j) for j in range(grid.shape[1])
            if not np.ma.is_masked(grid[med, j]) and grid[med, j] > 1.0}
    assert want and boxes == want                             # only medicine's rows
    # numbers: medicine's cells over the limit; each other row its longest cell
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])) for t in hour_ax.texts}
    longest = {(i, int(np.ma.argmax(grid[i]))) for i in range(grid.shape[0]) if i != med}
    assert texts == want | longest
    assert len(fig.axes) == 3                                 # the two maps and a colour bar


def test_queue_length_reconstruction_matches_the_queue_length_metric(
        run: Any, rec: dict[str, np.ndarray], summary: list[dict[str, Any]]) -> None:
    t0, t1 = run.warmup, run.horizon
    t, n = queue_length_series(rec["arrival"], queue_exit(rec, t1))
    assert n.min() >= 0 and n[-1] == 0
    # time-average of the step function over the measurement window
    edges = np.clip(np.r_[t, t1], t0, t1)
    area = float(np.sum(n * np.diff(edges)))
    assert area / (t1 - t0) == pytest.approx(lookup(summary, "queue_length_mean"), rel=1e-9)
    fig = queue_length(rec, t1, t0, bin_min=120.0)
    top, low = fig.axes[:2]
    assert max(_lines(top)[0].get_ydata()) == n.max()
    labels = [t.get_text() for t in low.get_yticklabels()]
    assert sorted(x.split("  ")[0] for x in labels) == ["medicine", "paediatrics",
                                                       "psychiatry"]
    # each row is that specialty's 2-hour means over its own peak; the peak is labelled
    exits = queue_exit(rec, t1)
    spec = labels[0].split("  ")[0]
    m = rec["specialty"] == spec
    ts, ns = queue_length_series(rec["arrival"][m], exits[m])
    bins = np.arange(0.0, t1 + 120.0, 120.0)
    grid_edges = np.clip(np.r_[ts, t1], 0, t1)
    row = low.get_images()[0].get_array()[0]
    total = float(np.sum(ns * np.diff(grid_edges)))
    peak, mean = (float(v) for v in labels[0].split("  ")[1].split(" / "))
    assert float(np.sum(row)) * peak * 120.0 == pytest.approx(total, rel=0.02)
    assert len(row) == len(bins) - 1 and row.max() == pytest.approx(1.0)
    assert mean == pytest.approx(total / (len(row) * 120.0), abs=0.05)   # "peak / mean"


def test_utilisation_heatmap_holds_the_summary_values(summary: list[dict[str, Any]]) -> None:
    fig = utilisation_heatmap(summary)
    util_ax, ot_ax = (ax for ax in fig.axes if ax.get_images())
    grid = util_ax.get_images()[0].get_array()
    hubs = [t.get_text() for t in util_ax.get_yticklabels()]
    specs = [t.get_text() for t in ot_ax.get_xticklabels()]   # shared, labelled once below
    assert hubs == ["shimla", "tanda"] and specs == ["medicine", "paediatrics", "psychiatry"]
    assert not any(t.get_visible() for t in util_ax.get_xticklabels())
    # values written in the highest cells only (the colour bar reads the rest)
    written = sorted((round(t.get_position()[1]), round(t.get_position()[0]))
                     for t in util_ax.texts)
    values = np.ma.filled(grid, -1.0)
    top = np.argsort(-values.ravel(), kind="stable")[:WORST_CELLS]
    assert written == sorted(tuple(int(k) for k in np.unravel_index(i, grid.shape))
                             for i in top if values.ravel()[i] > 0)
    assert grid[0, 0] == pytest.approx(lookup(summary, "utilisation", "hub_specialty",
                                              "shimla/medicine"))
    assert np.ma.is_masked(grid[1, 2])                 # tanda has no psychiatry roster
    assert ot_ax.get_images()[0].get_array()[0, 0] == pytest.approx(
        lookup(summary, "overtime_min_per_day", "hub_specialty", "shimla/medicine"))


def test_equity_orders_districts_worst_first_and_maps_them(
        summary: list[dict[str, Any]]) -> None:
    coords = {d["district"]: (d["lat"], d["lon"]) for d in SMALL["spokes"]["districts"]}
    fig = equity_by_district(summary, coords, {"shimla": (31.1, 77.17)})
    wait_ax, aband_ax, map_ax = fig.axes[:3]
    names = [t.get_text() for t in wait_ax.get_yticklabels()]
    assert sorted(names) == ["Kangra", "Kinnaur", "Shimla"]
    p90 = [lookup(summary, "wait_p90_min", "district", d) for d in names]
    assert p90 == sorted(p90)                          # bottom to top: worst at the top
    bars = {c.get_label(): [np.ptp(p.vertices[:, 0]) for p in c.get_paths()]
            for ax in (wait_ax, aband_ax) for c in ax.collections
            if isinstance(c, PolyCollection)}
    assert sorted(bars) == ["90th percentile", "abandonment rate", "median"]
    assert all(len(v) == 3 for v in bars.values())
    widths = bars["abandonment rate"]
    assert widths == pytest.approx([lookup(summary, "abandonment_rate", "district", d)
                                    for d in names])
    offsets = map_ax.collections[0].get_offsets()
    assert len(offsets) == 3 and tuple(offsets[names.index("Kangra")]) == (76.3, 32.2)
    no_map = equity_by_district(summary)
    assert len([a for a in no_map.axes if a.get_label() != "<colorbar>"]) == 2


def test_equity_marks_a_district_too_small_to_judge_and_draws_it_no_interval(
        summary: list[dict[str, Any]]) -> None:
    rows = [dict(r, mean=r["value"], ci_low=0.5 * r["value"], ci_high=2.0 * r["value"])
            for r in summary]                          # as if replicated: every bar an interval
    for r in rows:
        if (r["metric"], r["group_by"], r["group"]) == ("arrivals", "district", "Kinnaur"):
            r["mean"] = r["value"] = DEFAULT_MIN_REQUESTS - 1
    fig = equity_by_district(rows)
    wait_ax = fig.axes[0]
    names = [t.get_text() for t in wait_ax.get_yticklabels()]
    grey = [c for c in wait_ax.collections if c.get_label() == "_too few to judge"]
    assert len(grey) == 2                              # its 90th percentile and median bars
    assert {round(float(np.mean(p.vertices[:, 1]))) for c in grey for p in c.get_paths()} == {
        names.index("Kinnaur")}
    whiskers = np.concatenate([np.asarray(seg)[:, :, 1].ravel() for c in wait_ax.collections
                               if isinstance(c, LineCollection) for seg in [c.get_segments()]
                               if len(seg)])
    rows_with = {round(float(y)) for y in whiskers}
    assert names.index("Kinnaur") not in rows_with and len(rows_with) == 2  # only the others
    assert "fewer than 10 requests per replication" in fig.get_suptitle()
    assert "fewer than" not in equity_by_district(summary).get_suptitle()


COMPARISON = [
    {"plan": "base", "metric": "wait_p90_min", "group_by": "all", "group": "all", "mean": 30,
     "ci_low": 25, "ci_high": 35, "n": 5, "diff": "", "diff_ci_low": "", "diff_ci_high": "",
     "verdict": "base"},
    {"plan": "more", "metric": "wait_p90_min", "group_by": "all", "group": "all", "mean": 20,
     "ci_low": 16, "ci_high": 24, "n": 5, "diff": -10, "diff_ci_low": -12,
     "diff_ci_high": -8, "verdict": "better"},
    {"plan": "fewer", "metric": "wait_p90_min", "group_by": "all", "group": "all", "mean": 31,
     "ci_low": 25, "ci_high": 37, "n": 5, "diff": 1, "diff_ci_low": -2, "diff_ci_high": 4,
     "verdict": "no detectable difference"},
    {"plan": "base", "metric": "utilisation", "group_by": "all", "group": "all", "mean": 0.5,
     "ci_low": 0.45, "ci_high": 0.55, "n": 5, "diff": "", "diff_ci_low": "",
     "diff_ci_high": "", "verdict": "base"},
    {"plan": "more", "metric": "utilisation", "group_by": "all", "group": "all", "mean": 0.4,
     "ci_low": 0.35, "ci_high": 0.45, "n": 5, "diff": -0.1, "diff_ci_low": -0.12,
     "diff_ci_high": -0.08, "verdict": "lower"},
    {"plan": "fewer", "metric": "utilisation", "group_by": "all", "group": "all",
     "mean": 0.6, "ci_low": 0.55, "ci_high": 0.65, "n": 5, "diff": 0.1,
     "diff_ci_low": 0.08, "diff_ci_high": 0.12, "verdict": "higher"},
]


def test_comparison_plot_shows_plans_with_cis_and_paired_differences() -> None:
    fig = comparison_plot(COMPARISON)
    assert len(fig.axes) == 4                          # 2 metrics x (plans, differences)
    plans_ax, diff_ax = fig.axes[0], fig.axes[1]
    assert [t.get_text() for t in plans_ax.get_yticklabels()] == ["base (base)", "more",
                                                                  "fewer"]
    assert [t.get_text() for t in diff_ax.get_yticklabels()] == ["more", "fewer"]
    means = plans_ax.collections[-1].get_offsets()[:, 0]
    assert list(means) == [30, 20, 31]
    diffs = diff_ax.collections[-1].get_offsets()[:, 0]
    assert list(diffs) == [-10, 1]
    colours = diff_ax.collections[-1].get_facecolors()
    assert colours[0][1] > colours[0][0]               # "better" is green
    assert [t.get_text() for t in diff_ax.texts] == ["better", "no detectable difference"]


def _sweep_rows() -> list[dict[str, Any]]:
    rows = []
    for plan, slope in (("base", 20.0), ("more", 10.0)):
        for g in (1.0, 1.5, 2.0):
            v = slope * g
            rows.append({"scenario": plan, "demand.growth": g, "metric": "wait_p90_min",
                         "group_by": "all", "group": "all", "mean": v, "ci_low": v - 1,
                         "ci_high": v + 1, "n": 3})
    return rows


def test_sweep_curves_one_line_per_plan() -> None:
    fig = sweep_curves(_sweep_rows())
    ax = fig.axes[0]
    lines = _lines(ax)
    assert [ln.get_label() for ln in lines] == ["base", "more"]
    assert list(lines[0].get_xdata()) == [1.0, 1.5, 2.0]
    assert list(lines[1].get_ydata()) == [10.0, 15.0, 20.0]
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
    assert ax.get_xlabel() == "demand growth (x baseline)"


def test_plot_results_makes_every_plot_the_tables_allow(run: Any, tmp_path: Path) -> None:
    write_run(run, tmp_path)
    cols = list(COMPARISON[0])
    write_csv(tmp_path / "comparison.csv", COMPARISON, cols)
    write_csv(tmp_path / "sweep.csv", _sweep_rows(), list(_sweep_rows()[0]))
    paths = plot_results(tmp_path)
    stems = {p.stem for p in paths}
    assert stems == {"wait_by_specialty", "wait_ecdf_by_hub", "wait_by_time", "queue_length",
                     "utilisation_heatmap", "equity_by_district", "comparison", "sweep"}
    assert {p.suffix for p in paths} == {".svg"}
    both = plot_results(tmp_path, ("svg", "png"))
    assert {p.suffix for p in both} == {".png", ".svg"} and len(both) == 2 * len(paths)
    for p in both:
        assert p.parent == tmp_path / "plots" and p.stat().st_size > 5000, p
        head = p.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if p.suffix == ".png" else b"<?xml" in head


def test_svg_plots_keep_their_text_as_text_and_are_the_same_for_the_same_run(
        run: Any, tmp_path: Path) -> None:
    write_run(run, tmp_path)
    first = {p.name: p.read_bytes() for p in plot_results(tmp_path)}
    again = {p.name: p.read_bytes() for p in plot_results(tmp_path)}
    assert first == again                      # no date, fixed ids: reproducible files
    svg = first["wait_by_specialty.svg"].decode()
    assert "<text" in svg and "wait from request to consult start" in svg
    assert "font-family: 'DejaVu Sans'" in svg and "sans-serif" in svg


def test_a_one_hub_network_has_one_ecdf_panel_not_the_same_twice(tmp_path: Path) -> None:
    from sim.present.plots import run_figures

    one = {**SMALL, "hubs": SMALL["hubs"][:1],
           "spokes": {**SMALL["spokes"], "districts": [
               {**d, "home_hub": "shimla"} for d in SMALL["spokes"]["districts"]]}}
    write_run(simulate(scenario_from_dict(one, source="<test>")), tmp_path)
    fig = run_figures(tmp_path)["wait_ecdf_by_hub"]()
    assert [ax.get_title() for ax in fig.axes] == ["all hubs"]
    assert "hubs with the longest" not in fig._suptitle.get_text()  # type: ignore[union-attr]


def test_plot_results_of_an_empty_folder_writes_nothing(tmp_path: Path) -> None:
    assert plot_results(tmp_path) == []


def test_cli_plot(run: Any, tmp_path: Path) -> None:
    from sim.cli import main

    write_csv(tmp_path / "summary.csv", summary_rows(run), ("metric", "group_by", "group",
                                                            "value"))
    assert main(["plot", str(tmp_path), "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "equity_by_district.svg", "utilisation_heatmap.svg"]
    assert main(["plot", str(tmp_path), "-q", "--png"]) == 0
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "equity_by_district.png", "equity_by_district.svg", "utilisation_heatmap.png",
        "utilisation_heatmap.svg"]
    assert main(["plot", str(tmp_path / "missing")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["plot", str(tmp_path / "empty")]) == 2


def test_the_engine_never_imports_matplotlib() -> None:
    code = ("import sys, sim, sim.engine.model, sim.analysis.metrics, sim.experiment.runner, "
            "sim.results.output, sim.scenario.textbook; "
            "sim.simulate(sim.scenario.textbook.queue_scenario(2, 0.1, 10, horizon_days=3)); "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_long_step_series_are_thinned_keeping_their_peaks() -> None:
    from sim.present.plots import MAX_STEPS, thin_steps

    rng = np.random.default_rng(4)
    x = np.cumsum(rng.exponential(1.0, 200_000))
    y = np.cumsum(rng.choice([-1, 1], len(x)))
    tx, ty = thin_steps(x, y)
    assert len(tx) <= MAX_STEPS and len(tx) == len(ty)
    assert ty.max() == y.max() and np.all(np.isin(tx, x)) and np.all(np.diff(tx) > 0)
    # each kept step is the largest value between it and the next kept step
    where = np.searchsorted(x, tx)
    assert all(ty[i] == y[where[i]:(where[i + 1] if i + 1 < len(where) else None)].max()
               for i in range(0, len(tx), 97))
    short = (x[:50], y[:50])
    assert thin_steps(*short)[0] is short[0]  # nothing to thin


def test_plots_read_only_the_columns_they_draw(tmp_path: Path) -> None:
    from sim import apply_overrides, load_scenario
    from sim.present.plots import PLOT_COLUMNS
    from sim.results.output import read_records, write_records

    root = Path(__file__).resolve().parent.parent
    result = simulate(apply_overrides(load_scenario(root / "scenarios/himachal-baseline.yaml"),
                                      {"calendar.horizon_days": 10, "calendar.holidays": []}))
    rec = read_records(write_records(tmp_path / "r.csv.gz", result), columns=PLOT_COLUMNS)
    assert sorted(rec) == sorted(PLOT_COLUMNS)
    assert np.array_equal(rec["arrival"].round(4), result.records.arrival.round(4))
