"""Plots for planners: standards drawn where they apply, readable sweeps, big networks capped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.lines import Line2D

from sim.present.plots import (
    MAX_PANELS,
    run_figures,
    sweep_curves,
    sweep_standards,
    wait_distribution,
    wait_ecdf,
    wait_lines,
)

STANDARDS: list[dict[str, Any]] = [
    {"id": "daily-30", "measure": "share_within", "within_min": 30, "target": 0.9,
     "where": {"specialties": ["medicine"]}, "by": ["hub", "specialty"]},
    {"id": "p90-2d", "measure": "wait_percentile", "percentile": 90, "target": 2880},
    {"id": "aband-5", "measure": "abandonment", "target": 0.05, "by": ["hub"]},
    {"id": "next", "measure": "share_by_next_session", "target": 0.9},
]
SCENARIO: dict[str, Any] = {
    "standards": STANDARDS,
    "hubs": [{"id": "north", "roster": [{"specialty": "medicine", "doctors": 2}]}],
}


def _red(ax: Any) -> list[Line2D]:
    return [ln for ln in ax.get_lines() if ln.get_color() == "tab:red"
            and ln.get_linestyle() == "--"]


def test_wait_limits_are_read_from_the_scenario_standards() -> None:
    lines = wait_lines(SCENARIO)
    assert [(w.minutes, w.share) for w in lines] == [(30.0, 0.9), (2880.0, 0.9)]
    assert lines[0].applies("medicine") and not lines[0].applies("cardiology")
    assert lines[1].applies("cardiology")                    # everywhere
    assert "90% within 30 min" in lines[0].label and "2 days" in lines[1].label


def test_box_plot_draws_each_standard_on_the_rows_it_covers() -> None:
    rng = np.random.default_rng(1)
    waits = {"medicine": rng.exponential(10, 200), "cardiology": rng.exponential(2000, 50)}
    fig = wait_distribution(waits, (15, 30), lines=wait_lines(SCENARIO))
    ax = fig.axes[0]
    segs = [seg for c in ax.collections if c.get_label().startswith("service standard")
            for seg in c.get_segments()]
    at = sorted((float(s[0][0]), float(s[0][1] + s[1][1]) / 2) for s in segs)
    rows = {t.get_text().split(" (")[0]: i + 1 for i, t in enumerate(ax.get_yticklabels())}
    # medicine has both limits on its row, cardiology only the one for everyone
    assert at == sorted([(30.0, rows["medicine"]), (2880.0, rows["medicine"]),
                         (2880.0, rows["cardiology"])])


def test_ecdf_draws_the_limits_and_the_target_share() -> None:
    rng = np.random.default_rng(2)
    panels = {"all hubs": {"medicine": rng.exponential(10, 300)}}
    fig = wait_ecdf(panels, (15,), lines=wait_lines(SCENARIO))
    ax = fig.axes[0]
    assert sorted(ln.get_xdata()[0] for ln in _red(ax)) == [30.0, 2880.0]
    cross = next(ln for ln in ax.get_lines() if ln.get_marker() == "X")
    assert sorted(zip(cross.get_xdata(), cross.get_ydata(), strict=True)) == [
        (30.0, 0.9), (2880.0, 0.9)]


def _sweep() -> list[dict[str, Any]]:
    rows = []
    for d in (1, 2, 3):
        for metric, v in (("wait_p90_min", 3000.0 / d), ("abandonment_rate", 0.12 / d)):
            rows.append({"scenario": "net", "hubs.0.roster.0.doctors": d, "metric": metric,
                         "group_by": "all", "group": "all", "mean": v, "ci_low": v * 0.9,
                         "ci_high": v * 1.1, "n": 3})
    return rows


def test_sweep_curves_read_in_words_with_the_standards_thresholds() -> None:
    fig = sweep_curves(_sweep(), scenario=SCENARIO)
    wait_ax, aband_ax = fig.axes
    assert wait_ax.get_xlabel() == "medicine doctors on duty at north (roster line 1)"
    assert "hubs.0" not in fig.texts[0].get_text() if fig.texts else True
    assert [ln.get_ydata()[0] for ln in _red(wait_ax)] == [2880.0]    # p90 standard
    assert [ln.get_ydata()[0] for ln in _red(aband_ax)] == [0.05]     # abandonment
    assert _red(aband_ax)[0].get_label() == "standard aband-5 (each group)"


def test_sweep_standards_plots_the_worst_group_against_the_target() -> None:
    rows = []
    for d, (a, b) in zip((1, 2, 3), ((0.2, 0.1), (0.06, 0.04), (0.03, 0.01)), strict=True):
        for group, v in (("north", a), ("south", b)):
            rows.append({"point": f"hubs.0.roster.0.doctors={d}", "hubs.0.roster.0.doctors": d,
                         "standard": "aband-5", "measure": "abandonment", "group_by": "hub",
                         "group": group, "target": 0.05, "sense": "at_most", "mean": v,
                         "ci_low": v / 2, "ci_high": v * 1.5, "verdict":
                         "breached" if v / 2 > 0.05 else "met" if v * 1.5 < 0.05
                         else "not settled"})
    fig = sweep_standards(rows, scenario=SCENARIO)
    ax = fig.axes[0]
    worst = next(ln for ln in ax.get_lines() if ln.get_linestyle() == "-")
    assert list(worst.get_ydata()) == pytest.approx([20.0, 6.0, 3.0])    # in %, north's
    assert [ln.get_ydata()[0] for ln in _red(ax)] == [pytest.approx(5.0)]
    breached = [c for c in ax.collections if c.get_label() == "breached"]
    assert len(breached) == 1 and len(breached[0].get_offsets()) == 1    # only d = 1


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from benchmarks.shapes import himachal_times
    from sim import simulate
    from sim.results.output import write_run

    out = tmp_path_factory.mktemp("wide")
    write_run(simulate(himachal_times(10, days=3)), out)
    return out


def test_a_30_hub_120_district_network_gives_capped_figures(wide: Path) -> None:
    figs = run_figures(wide)
    ecdf = figs["wait_ecdf_by_hub"]()
    assert len(ecdf.axes) == 1 + 5 and "of 30 hubs" in ecdf.texts[0].get_text()
    equity = figs["equity_by_district"]()
    bars = equity.axes[0]
    assert len(bars.get_yticklabels()) == 30 and "of 120 districts" in bars.get_title()
    assert len(equity.axes[2].collections[0].get_offsets()) == 120   # the map has them all
    heat = figs["utilisation_heatmap"]()
    assert len(heat.axes[0].get_yticklabels()) == 30
    assert heat.get_size_inches()[1] < 16                            # side by side, short rows
    for stem in ("wait_by_time", "queue_length"):
        fig = figs[stem]()
        assert max(fig.get_size_inches()) < 16, stem
    assert MAX_PANELS >= 5
