"""Service standards judged on textbook queues with known answers, and their intervals.

Each kind of standard is set between the theoretical values of an M/M/c (or M/M/c+M)
queue with c and with c - 1 doctors, so it must be met at one and breached at the other;
the judged interval must hold the theoretical value.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis import theory
from sim.analysis.standards import (
    STANDARDS_COLUMNS,
    judge,
    measure,
    seen_by_next_session,
    share_interval,
    wait_interval,
)
from sim.cli import main
from sim.engine.model import simulate
from sim.experiment import compare, run_experiment, sweep
from sim.results.output import scenario_yaml
from sim.scenario.loader import apply_overrides
from sim.scenario.schema import Scenario
from sim.scenario.textbook import queue_scenario

LAM, ES = 0.3, 10.0  # per minute, minutes: offered load 3


def _with(sc: Scenario, *standards: dict[str, Any]) -> Scenario:
    return apply_overrides(sc, {"standards": [dict(s) for s in standards]})


def _mmc(c: int, patience: float | None = None) -> Scenario:
    return queue_scenario(c, LAM, ES, horizon_days=4, warmup_days=0.5, patience_mean=patience,
                          seed=3)


def _p90(c: int) -> float:
    pw = theory.erlang_c(c, LAM * ES)
    return max(0.0, math.log(pw / 0.1) / (c / ES - LAM))


# (standard, doctors where met, theory at c, theory at c - 1, patience)
CASES = {
    "share_within": ({"measure": "share_within", "within_min": 5, "target": 0.8}, 5,
                     lambda c: theory.mmc_wait_cdf(5, c, LAM, ES), None),
    "wait_mean": ({"measure": "wait_mean", "target": 3.0}, 5,
                  lambda c: theory.mmc_wait_mean(c, LAM, ES), None),
    "wait_percentile": ({"measure": "wait_percentile", "percentile": 90, "target": 10.0}, 5,
                        _p90, None),
    "abandonment": ({"measure": "abandonment", "target": 0.13}, 4,
                    lambda c: theory.erlang_a(c, LAM, ES, 20.0).p_abandon, 20.0),
    # a 24/7 clinic never closes, so seen by the next session = eventually served
    "share_by_next_session": ({"measure": "share_by_next_session", "target": 0.87}, 4,
                              lambda c: 1 - theory.erlang_a(c, LAM, ES, 20.0).p_abandon, 20.0),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_met_with_c_doctors_and_breached_with_one_fewer(kind: str) -> None:
    spec, c, truth, patience = CASES[kind]
    verdicts = []
    for servers in (c, c - 1):
        sc = _with(_mmc(servers, patience), {"id": kind, "confidence": 0.99, **spec})
        table = run_experiment(sc, 8).standards
        assert list(table.columns) == list(STANDARDS_COLUMNS)
        (row,) = table.to_dict("records")
        want = truth(servers)
        assert row["ci_low"] <= want <= row["ci_high"], (servers, want, row)
        assert row["n"] == 8 and row["requests"] > 1000
        verdicts.append(row["verdict"])
    assert verdicts == ["met", "breached"]


def test_next_session_deadline_on_a_weekly_clinic() -> None:
    """A request is seen the same day, or by the end of the next session that starts after it."""
    sc = queue_scenario(1, 0.01, 60.0, service="deterministic", arrivals="regular",
                        horizon_days=28, warmup_days=0.0)
    sc = apply_overrides(sc, {"hubs.0.roster.0.days": ["mon"], "hubs.0.roster.0.start": "09:00",
                              "hubs.0.roster.0.end": "12:00"})
    res = simulate(sc, seed=1)
    r = res.records
    rows = np.flatnonzero(r.arrival >= 0)
    got = seen_by_next_session(res, rows)
    # by hand: Monday sessions start at 9:00 on days 0, 7, 14, 21 and end at 12:00
    starts = np.array([d * 1440 + 540 for d in (0, 7, 14, 21)], dtype=float)
    for i in rows.tolist():
        if r.outcome[i] != 0:
            assert not got[i]
            continue
        a, s = r.arrival[i], r.start[i]
        k = int(np.searchsorted(starts, a, side="right"))
        deadline = starts[k] + 180 if k < len(starts) else math.inf
        assert got[i] == (math.floor(s / 1440) == math.floor(a / 1440) or s < deadline), i
    assert 0 < got.sum() < len(rows)  # the clinic keeps up for a while, then falls behind


def test_a_group_under_min_requests_is_too_small_and_gets_no_interval() -> None:
    sc = _with(queue_scenario(1, 0.002, 10.0, horizon_days=3, warmup_days=0.5),
               {"id": "few", "measure": "share_within", "within_min": 30, "target": 0.9,
                "min_requests": 50})
    (row,) = run_experiment(sc, 3).standards.to_dict("records")
    assert row["verdict"] == "too small" and math.isnan(row["ci_low"]) and row["requests"] < 50


shares = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 3)), min_size=2, max_size=6)


@settings(max_examples=300, deadline=None)
@given(shares, st.sampled_from([0.8, 0.95, 0.99]))
def test_share_intervals_stay_in_range_and_hold_the_mean(kn: list[tuple[int, int]],
                                                        confidence: float) -> None:
    n = np.array([b for _, b in kn], dtype=float)
    p = np.array([min(a, b) for a, b in kn], dtype=float) / n
    lo, hi = share_interval(p, n, confidence)
    assert 0.0 <= lo <= p.mean() + 1e-12 and p.mean() - 1e-12 <= hi <= 1.0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(0, 1e5, allow_nan=False) | st.just(0.0), min_size=2, max_size=6),
       st.sampled_from([0.8, 0.95, 0.99]))
def test_wait_intervals_stay_non_negative_and_hold_the_mean(w: list[float],
                                                           confidence: float) -> None:
    lo, hi = wait_interval(np.array(w), confidence)
    mean = float(np.mean(w))
    assert 0.0 <= lo <= mean * (1 + 1e-12) and mean * (1 - 1e-12) <= hi


def test_intervals_need_two_replications() -> None:
    assert all(math.isnan(x) for x in share_interval(np.array([0.5]), np.array([10.]), 0.95))
    assert all(math.isnan(x) for x in wait_interval(np.array([3.0]), 0.95))


def _abandon(target: float) -> dict[str, Any]:
    return {"id": "aband", "measure": "abandonment", "target": target}


def test_compare_gives_each_plans_paired_change_and_sweep_the_first_breach(
        tmp_path: Path) -> None:
    base = _with(queue_scenario(4, LAM, ES, horizon_days=3, warmup_days=0.5,
                                patience_mean=20.0, name="four"), _abandon(0.13))
    three = apply_overrides(base, {"hubs.0.doctors.medicine": 3, "hubs.0.roster.0.doctors": 3,
                                   "name": "three"})
    cmp = compare(base, [three], 4, out=tmp_path / "cmp")
    t = cmp.standards.set_index("plan")
    assert t.loc["three", "change"] > 0 and t.loc["three", "change_ci_low"] > 0
    assert math.isnan(t.loc["four", "change"])
    on_disk = pd.read_csv(tmp_path / "cmp" / "standards.csv")
    assert list(on_disk.columns[:2]) == ["plan", "standard"] and len(on_disk) == 2
    grid = sweep(base, {"demand.growth": [0.5, 1.0, 1.5]}, 4, out=tmp_path / "sw")
    (br,) = grid.breaks.to_dict("records")
    assert br["first_breach"] == "demand.growth=1.5" and br["demand.growth"] == 1.5
    assert (tmp_path / "sw" / "standards_first_breach.csv").exists()


def test_precision_for_standards_stops_once_every_verdict_is_settled() -> None:
    sc = _with(_mmc(5), {"id": "s", "measure": "share_within", "within_min": 5,
                         "target": 0.7})
    exp = run_experiment(sc, 2, precision=0.01, max_replications=30,
                         precision_metrics=["standards"])
    assert exp.precision is not None and exp.precision["achieved"]
    assert set(exp.standards["verdict"]) == {"met"} and exp.n < 30


def test_precision_for_a_metric_in_a_group() -> None:
    sc = _mmc(5)
    exp = run_experiment(sc, 2, precision=0.05, max_replications=40,
                         precision_metrics=["wait_mean_min@hub=hub"])
    assert exp.precision is not None and list(exp.precision["relative_half_widths"]) == [
        "wait_mean_min@hub=hub"]
    with pytest.raises(ValueError, match="precision target"):
        run_experiment(sc, 2, precision=0.05, precision_metrics=["wait_mean_min@"])
    with pytest.raises(ValueError, match="did you mean 'wait_mean_min'"):
        run_experiment(sc, 2, precision=0.05, precision_metrics=["wait_maen_min"])


def test_the_console_opens_with_the_breaches_in_planner_units(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "q.yaml"
    sc = _with(_mmc(4, 20.0), _abandon(0.05),
               {"id": "slow", "measure": "wait_mean", "target": 0.5})
    path.write_text(scenario_yaml(sc), encoding="utf-8")
    assert main(["run", str(path), "-n", "3", "--no-plot", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    block = out.split("Service standards", 1)[1]
    assert block.index("BREACHED") < block.index("specialty")  # before the summary table
    first, second = [ln for ln in block.splitlines() if ln.startswith("  ")][:2]
    assert first.split()[0] == "slow" and "min" in first  # +n min over 0.5 min: worst
    assert second.split()[0] == "aband" and "%" in second and "pp over" in second
    assert (tmp_path / "o" / "standards.csv").exists()


def test_measure_rows_name_each_group(tmp_path: Path) -> None:
    sc = _with(_mmc(5), {"id": "a", "measure": "wait_mean", "target": 3, "by": ["hub"]})
    rows = measure(simulate(sc, seed=1))
    assert [(m, gb, g) for m, gb, g, _ in rows] == [
        ("standard:a", "hub", "hub"), ("standard:a:n", "hub", "hub")]
    assert judge(pd.DataFrame(columns=["replication", "metric", "group_by", "group", "value"]),
                 sc).empty


def test_the_ecdf_plot_and_summary_share_within_t_are_one_number() -> None:
    """The curve of wait_ecdf_by_hub at T is summary.csv's share_within_T_min, per specialty."""
    from sim.analysis.metrics import lookup, summary_rows
    from sim.present.plots import records_table, served_waits

    sc = queue_scenario(2, 0.25, 10.0, horizon_days=3, warmup_days=0.5, patience_mean=15.0)
    res = simulate(sc, seed=2)
    rows = summary_rows(res)
    waits = served_waits(records_table(res), res.warmup, "specialty", unseen=True)["medicine"]
    for t in sc.metrics.targets_min:
        share = lookup(rows, f"share_within_{t:g}_min", "specialty", "medicine")
        assert float(np.mean(waits <= t)) == pytest.approx(share, rel=1e-12)
    assert np.isinf(waits).sum() == lookup(rows, "abandoned", "specialty", "medicine") > 0


def test_gap_in_planner_units_and_the_allowance_it_exceeds() -> None:
    from sim.analysis.standards import gap_of
    from sim.scenario.standards import Standard

    seen = Standard(id="s", measure="share_within", within_min=30, target=0.95)
    lost = Standard(id="a", measure="abandonment", target=0.05)
    slow = Standard(id="w", measure="wait_mean", target=60)
    assert gap_of(seen, 0.90) == pytest.approx((5.0, "pp", 1.0))
    assert gap_of(lost, 0.10) == pytest.approx((5.0, "pp", 1.0))
    assert gap_of(slow, 60 + 3 * 1440) == pytest.approx((3.0, "d", 72.0))
    assert gap_of(slow, 30)[:2] == pytest.approx((-30.0, "min"))
