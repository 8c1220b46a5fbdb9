"""Experiments: replications, CI maths, precision mode, CRN, compare, sweep, warm-up, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis.metrics import summary_rows
from sim.analysis.warmup import mser, warmup_series, welch
from sim.engine.model import Model, simulate
from sim.engine.streams import replication_seed
from sim.experiment.runner import (
    COMPARISON_COLUMNS,
    SUMMARY_COLUMNS,
    compare,
    run_experiment,
    sweep,
)
from sim.experiment.stats import direction, summarise, t_interval, verdict
from sim.experiment.units import REPLICATION_COLUMNS
from sim.results.output import read_csv
from sim.scenario.loader import apply_overrides
from sim.scenario.textbook import queue_scenario


def small(**kw):  # ~1,400 requests: a few hundredths of a second per run
    args = dict(horizon_days=6, warmup_days=1, seed=7, patience_mean=40.0)
    args.update(kw)
    return queue_scenario(3, 0.25, 10, **args)


def staffed(sc, doctors: int, name: str):
    return apply_overrides(sc, {"hubs.0.doctors.medicine": doctors,
                                "hubs.0.roster.0.doctors": doctors, "name": name})


# --------------------------------------------------------------------------- CI maths

def test_t_interval_matches_the_hand_computed_value() -> None:
    mean, lo, hi, n = t_interval([1, 2, 3, 4, 5, float("nan")], 0.95)
    # sd = sqrt(2.5), t(0.975, 4) = 2.7764451, half = 2.7764451 * sqrt(2.5) / sqrt(5)
    assert n == 5 and mean == 3.0
    assert hi - mean == pytest.approx(2.7764451 * np.sqrt(2.5) / np.sqrt(5), rel=1e-7)
    assert mean - lo == pytest.approx(hi - mean)
    assert np.isnan(t_interval([4.0])[1]) and t_interval([4.0])[3] == 1


def test_student_t_intervals_cover_at_their_nominal_rate() -> None:
    rng = np.random.default_rng(2024)
    groups, n = 4000, 5
    df = pd.DataFrame({
        "scenario": "s", "metric": "x", "group_by": "all",
        "group": np.repeat(np.arange(groups).astype(str), n),
        "value": rng.normal(10.0, 3.0, groups * n),
    })
    for conf in (0.8, 0.95):
        s = summarise(df, conf)
        cover = float(np.mean((s["ci_low"] <= 10.0) & (10.0 <= s["ci_high"])))
        # binomial sd of the coverage estimate is <= 0.0064; allow ~3 sd
        assert abs(cover - conf) < 0.02, (conf, cover)
    assert (summarise(df)["n"] == n).all()


def _replicated(metric: str, values: np.ndarray, arrivals: np.ndarray,
                groups: int) -> pd.DataFrame:
    """Per-replication rows of ``metric`` and of ``arrivals`` for ``groups`` groups."""
    group = np.repeat(np.arange(groups).astype(str), len(values) // groups)
    return pd.DataFrame({"scenario": "s", "metric": [metric] * len(values) + ["arrivals"]
                         * len(values), "group_by": "district", "group": np.r_[group, group],
                         "value": np.r_[values, arrivals]})


def test_summary_intervals_of_shares_and_waits_cover_and_stay_in_range() -> None:
    rng = np.random.default_rng(12)
    groups, n = 4000, 5
    requests = np.full(groups * n, 30.0)
    for p in (0.02, 0.5, 0.9):        # shares of 30 requests a replication, near 0 too
        s = summarise(_replicated("share_within_30_min", rng.binomial(30, p, groups * n) / 30,
                                  requests, groups))
        s = s[s["metric"] == "share_within_30_min"]
        assert (s["ci_low"] >= 0).all() and (s["ci_high"] <= 1).all()
        assert abs(float(np.mean((s["ci_low"] <= p) & (p <= s["ci_high"]))) - 0.95) < 0.03, p
    waits = rng.gamma(2.0, 5.0, groups * n)            # a skewed wait, mean 10 minutes
    s = summarise(_replicated("wait_p90_min", waits, requests, groups))
    s = s[s["metric"] == "wait_p90_min"]
    assert (s["ci_low"] > 0).all()
    assert abs(float(np.mean((s["ci_low"] <= 10) & (10 <= s["ci_high"]))) - 0.95) < 0.03


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(1, 4), st.floats(0, 3000)),
                min_size=1, max_size=6))
def test_summary_intervals_of_tiny_groups_stay_in_range_and_hold_the_mean(
        reps: list[tuple[int, int, float]]) -> None:
    """A district of a few requests: its share, abandonment and wait intervals."""
    k = np.array([min(a, b) for a, b, _ in reps], dtype=float)
    n = np.array([b for _, b, _ in reps], dtype=float)
    wait = np.array([w for *_, w in reps])
    rows = pd.concat([_replicated("abandonment_rate", k / n, n, 1),
                      _replicated("wait_p90_min", wait, n, 1)[lambda d: d.metric != "arrivals"]])
    s = summarise(rows).set_index("metric")
    if len(reps) < 2:
        assert s[["ci_low", "ci_high"]].isna().all().all()
        return
    for metric, top in (("abandonment_rate", 1.0), ("wait_p90_min", np.inf),
                        ("arrivals", np.inf)):
        mean, lo, hi = s.loc[metric, ["mean", "ci_low", "ci_high"]]
        assert 0 <= lo <= mean * (1 + 1e-12) and mean * (1 - 1e-12) <= hi <= top, metric
    if not k.any():                    # never abandoned: still not a zero-width bar
        assert s.loc["abandonment_rate", "ci_high"] > 0


def test_direction_and_verdicts() -> None:
    assert direction("wait_mean_min") == -1 and direction("abandonment_rate") == -1
    assert direction("unserved") == -1 and direction("queue_length_mean") == -1
    assert direction("served") == 1 and direction("share_within_30_min") == 1
    assert direction("utilisation") == 0 and direction("arrivals") == 0
    assert verdict("wait_mean_min", -3.0, -1.0) == "better"
    assert verdict("wait_mean_min", 1.0, 3.0) == "worse"
    assert verdict("served", 1.0, 3.0) == "better"
    assert verdict("wait_mean_min", -1.0, 2.0) == "no detectable difference"
    assert verdict("wait_mean_min", float("nan"), float("nan")) == "no detectable difference"
    assert verdict("utilisation", 0.1, 0.2) == "higher"


# --------------------------------------------------------------------------- replications

def test_replications_are_seeded_spawns_and_summaries_carry_cis(tmp_path: Path) -> None:
    sc = small()
    exp = run_experiment(sc, 3, out=tmp_path / "out", plot=False)
    reps = exp.replications
    assert list(reps.columns) == list(REPLICATION_COLUMNS)
    assert sorted(set(reps["replication"])) == [0, 1, 2]
    assert set(reps["seed"]) == {sc.seed} and set(reps["scenario"]) == {sc.name}
    # replication i is exactly simulate() with replication_seed(root, i)
    one = summary_rows(simulate(sc, seed=replication_seed(sc.seed, 2)))
    got = reps[reps["replication"] == 2]
    assert list(got["metric"]) == [r["metric"] for r in one]
    np.testing.assert_array_equal(got["value"].to_numpy(),
                                  np.asarray([float(r["value"]) for r in one]))
    # replications differ from each other
    w = reps[(reps["metric"] == "wait_mean_min") & (reps["group_by"] == "all")]["value"]
    assert w.nunique() == 3
    s = exp.summary
    assert list(s.columns) == list(SUMMARY_COLUMNS)
    row = s[(s["metric"] == "wait_mean_min") & (s["group_by"] == "all")].iloc[0]
    assert row["n"] == 3 and row["value"] == row["mean"] == pytest.approx(w.mean())
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    # written tables have the agreed headers; run.json lists the files
    out = tmp_path / "out"
    assert (out / "summary.csv").read_text().splitlines()[0] == ",".join(SUMMARY_COLUMNS)
    assert (out / "replications.csv").read_text().splitlines()[0] == ",".join(
        REPLICATION_COLUMNS)
    meta = json.loads((out / "run.json").read_text())
    for key in ("command", "scenarios", "seed", "replications", "confidence", "warmup_days",
                "horizon_days", "hubsim_version", "files"):
        assert key in meta, key
    assert meta["replications"] == 3 and meta["seed"] == sc.seed
    assert {"summary.csv", "replications.csv", "records.csv.gz", "run.json"} <= set(
        meta["files"])


def test_an_experiment_summarises_each_replication_once_and_plots_the_replicated_summary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replication 0's files reuse nothing but its records: no second summary of it, and the
    plots (drawn once every replication is in) read the replicated summary.csv."""
    import sim.experiment.units
    import sim.present.plots

    calls: list[int] = []

    def counted(result, *a, **k):  # type: ignore[no-untyped-def]
        calls.append(1)
        return summary_rows(result, *a, **k)

    seen: list[str] = []

    def plot_results(folder):  # type: ignore[no-untyped-def]
        seen.append((Path(folder) / "summary.csv").read_text())
        (Path(folder) / "plots").mkdir()
        (Path(folder) / "plots" / "x.png").write_bytes(b"")
        return [Path(folder) / "plots" / "x.png"]

    import sim.analysis.metrics

    monkeypatch.setattr(sim.experiment.units, "summary_rows", counted)
    monkeypatch.setattr(sim.analysis.metrics, "summary_rows", counted)
    monkeypatch.setattr(sim.present.plots, "plot_results", plot_results)
    out = tmp_path / "out"
    exp = run_experiment(small(), 3, out=out, plot=True)
    assert len(calls) == 3
    assert seen == [(out / "summary.csv").read_text()]
    header, *rows = seen[0].splitlines()
    assert header.endswith(",n") and rows and all(r.endswith(",3") for r in rows)
    assert "plots/x.png" in exp.files
    assert "plots/x.png" in json.loads((out / "run.json").read_text())["files"]


def test_same_seed_same_tables_and_one_replication_has_no_ci(tmp_path: Path) -> None:
    sc = small()
    a = run_experiment(sc, 2, seed=11)
    b = run_experiment(sc, 2, seed=11)
    pd.testing.assert_frame_equal(a.summary, b.summary, check_exact=True)
    c = run_experiment(sc, 2, seed=12)
    assert not a.replications["value"].equals(c.replications["value"])
    run_experiment(sc, 1, out=tmp_path, plot=False)
    row = next(r for r in read_csv(tmp_path / "summary.csv")
               if r["metric"] == "wait_mean_min" and r["group_by"] == "all")
    assert row["ci_low"] == "" and row["ci_high"] == "" and row["n"] == "1"
    assert row["value"] == row["mean"]


def test_precision_mode_adds_replications_until_the_target() -> None:
    sc = small()
    exp = run_experiment(sc, precision=0.10, max_replications=60)
    pr = exp.precision
    assert pr is not None and pr["achieved"]
    assert exp.n == pr["replications"] > 5  # 5 were not enough for 10% on this system
    assert max(pr["relative_half_widths"].values()) <= 0.10
    assert len(set(exp.replications["replication"])) == exp.n
    capped = run_experiment(sc, precision=0.001, max_replications=6)
    assert capped.n == 6 and not capped.precision["achieved"]


def test_bad_arguments_are_value_errors() -> None:
    with pytest.raises(ValueError, match="confidence"):
        run_experiment(small(), 2, confidence=95)
    with pytest.raises(ValueError, match="replications"):
        run_experiment(small(), 0)
    with pytest.raises(ValueError, match="unknown executor"):
        run_experiment(small(), 2, executor="carrier-pigeon")


# --------------------------------------------------------------------------- CRN

@pytest.mark.parametrize("change", ["staffing", "patience", "routing"])
def test_plans_differing_in_staffing_patience_or_routing_see_the_same_arrivals(
        change: str) -> None:
    base = queue_scenario(2, 0.15, 10, horizon_days=4, warmup_days=0, patience_mean=30.0)
    if change == "staffing":
        plan = staffed(base, 4, "plan")
    elif change == "patience":
        plan = apply_overrides(base, {"queue.patience.mean": 5.0})
    else:
        plan = apply_overrides(base, {"routing.policy": "pooled"})
    seed = replication_seed(99, 3)
    ra, rb = simulate(base, seed=seed).records, simulate(plan, seed=seed).records
    for col in ("arrival", "channel", "spoke", "spoke_type", "district", "specialty"):
        np.testing.assert_array_equal(getattr(ra, col), getattr(rb, col))
    ma, mb = Model(base, seed), Model(plan, seed)
    np.testing.assert_array_equal(ma.arrivals.consult, mb.arrivals.consult)
    if change != "patience":
        np.testing.assert_array_equal(ma.arrivals.patience, mb.arrivals.patience)
    if change == "staffing":  # the plan really is different
        assert not np.array_equal(ra.start, rb.start, equal_nan=True)


# --------------------------------------------------------------------------- compare

def test_compare_pairs_replications_and_gives_verdicts(tmp_path: Path) -> None:
    base = small(name="base")
    more = staffed(base, 4, "more")
    res = compare(base, [more], 4, out=tmp_path)
    t = res.comparison
    assert list(t.columns) == list(COMPARISON_COLUMNS)
    allrows = t[t["group_by"] == "all"].set_index(["plan", "metric"])
    assert (t.loc[t["plan"] == "base", "verdict"] == "base").all()
    assert t.loc[t["plan"] == "base", "diff"].isna().all()
    assert allrows.loc[("more", "wait_mean_min"), "verdict"] == "better"
    assert allrows.loc[("more", "abandonment_rate"), "verdict"] == "better"
    assert allrows.loc[("more", "utilisation"), "verdict"] == "lower"
    # CRN: identical arrivals, so the paired difference in arrivals is exactly zero
    arr = allrows.loc[("more", "arrivals")]
    assert arr["diff"] == 0 and arr["diff_ci_low"] == 0 and arr["diff_ci_high"] == 0
    assert arr["verdict"] == "no detectable difference"
    # pairing pays: the paired CI is narrower than an unpaired one, sqrt(wb^2 + wp^2)
    w = allrows.loc[("more", "wait_mean_min")]
    wb = allrows.loc[("base", "wait_mean_min")]
    unpaired = np.hypot(w["ci_high"] - w["ci_low"], wb["ci_high"] - wb["ci_low"])
    assert (w["diff_ci_high"] - w["diff_ci_low"]) < unpaired
    # the paired difference is the mean of per-replication differences
    reps = res.replications
    sel = (reps["metric"] == "wait_mean_min") & (reps["group_by"] == "all")
    d = (reps[sel & (reps["scenario"] == "more")]["value"].to_numpy()
         - reps[sel & (reps["scenario"] == "base")]["value"].to_numpy())
    assert w["diff"] == pytest.approx(d.mean())
    # swapped, the verdict flips
    swapped = compare(more, [base], 4).comparison
    row = swapped[(swapped["plan"] == "base") & (swapped["metric"] == "wait_mean_min")
                  & (swapped["group_by"] == "all")].iloc[0]
    assert row["verdict"] == "worse"
    for plan in ("base", "more"):
        assert (tmp_path / plan / "records.csv.gz").exists()
        head = (tmp_path / plan / "summary.csv").read_text().splitlines()[0]
        assert head == ",".join(SUMMARY_COLUMNS)
    assert (tmp_path / "comparison.csv").read_text().splitlines()[0] == ",".join(
        COMPARISON_COLUMNS)


def test_compare_needs_two_replications_and_unique_labels() -> None:
    with pytest.raises(ValueError, match="replications"):
        compare(small(), [small()], 1)
    with pytest.raises(ValueError, match="unique"):
        compare(small(), [small()], 2)


# --------------------------------------------------------------------------- sweep

def test_sweep_runs_the_grid_into_one_tidy_table(tmp_path: Path) -> None:
    sc = small()
    res = sweep(sc, {"demand.growth": [1.0, 1.5], "routing.policy": ["home_hub", "pooled"]},
                2, out=tmp_path)
    t = res.table
    assert list(t.columns) == ["scenario", "demand.growth", "routing.policy", "metric",
                               "group_by", "group", "mean", "ci_low", "ci_high", "n"]
    assert len(res.points) == 4 and set(t["scenario"]) == {sc.name}
    arr = t[(t["metric"] == "arrivals") & (t["group_by"] == "all")]
    assert len(arr) == 4
    by = arr.set_index(["demand.growth", "routing.policy"])["mean"]
    assert by[(1.5, "home_hub")] > 1.3 * by[(1.0, "home_hub")]
    assert by[(1.0, "home_hub")] == by[(1.0, "pooled")]  # CRN across the routing points
    header = (tmp_path / "sweep.csv").read_text().splitlines()[0]
    assert header == "scenario,demand.growth,routing.policy,metric,group_by,group,mean," \
                     "ci_low,ci_high,n"
    folders = sorted(p.name for p in tmp_path.iterdir() if p.is_dir() and
                     (p / "records.csv.gz").exists())
    assert len(folders) == 4 and "p04-growth=1.5,policy=pooled" in folders


def test_sweep_rejects_an_invalid_point_before_running() -> None:
    from sim.scenario.loader import ScenarioError

    with pytest.raises(ScenarioError, match="demand.growth"):
        sweep(small(), {"demand.growth": [1.0, -2.0]}, 1)


# --------------------------------------------------------------------------- warm-up

def test_mser_finds_an_initial_transient_and_leaves_stationary_data_alone() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(300)
    series = 10.0 + 8.0 * np.exp(-t / 15.0) + rng.normal(0, 0.5, t.size)
    d = mser(series, 5)
    assert 30 <= d <= 90 and d % 5 == 0
    assert mser(rng.normal(3.0, 1.0, 300), 5) <= 45  # little truncation on noise
    w = welch(series, 5)
    assert np.isnan(w[-1]) and w[0] == series[0]
    assert w[10] == pytest.approx(series[5:16].mean())


def test_queue_series_integrates_the_number_waiting() -> None:
    # D/D/1 with consults longer than gaps: the queue grows linearly
    sc = queue_scenario(1, 1 / 10, 12, service="deterministic", arrivals="regular",
                        horizon_days=1, warmup_days=0)
    res = simulate(sc)
    q = warmup_series(res, "queue", bin_minutes=240.0)
    assert len(q) == 6 and np.all(np.diff(q) > 0)
    # the time-average over the whole day equals the metric computed by sim.analysis.metrics
    from sim.analysis.metrics import lookup

    assert q.mean() == pytest.approx(lookup(summary_rows(res), "queue_length_mean"))


def test_cli_warmup_writes_plot_and_suggestion(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import main

    args = ["warmup", "scenarios/textbook/mmc.yaml", "--days", "12", "-n", "2",
            "--bin-hours", "6", "--out", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "suggested warm-up:" in out
    # SVG by default, as the run plots (sim.present.figures.FORMATS), text as text
    svg = (tmp_path / "warmup.svg").read_text()
    assert svg.startswith("<?xml") and "MSER-5 warm-up" in svg
    assert not (tmp_path / "warmup.png").exists()
    meta = json.loads((tmp_path / "run.json").read_text())
    assert 0 <= meta["suggested_warmup_days"] <= 6
    assert meta["files"] == ["warmup.csv", "warmup.svg", "run.json"]
    assert main([*args, "--png", "-q"]) == 0  # --png adds a PNG, as hubsim plot --png
    assert (tmp_path / "warmup.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "run.json").read_text())["files"] == [
        "warmup.csv", "warmup.svg", "warmup.png", "run.json"]


# --------------------------------------------------------------------------- CLI

def test_cli_run_with_replications_prints_intervals(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import main

    assert main(["run", "scenarios/textbook/mmc.yaml", "--days", "8", "-n", "3",
                 "--no-plot", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 replications" in out and "95% confidence interval" in out
    rows = read_csv(tmp_path / "summary.csv")
    assert {r["n"] for r in rows if r["group_by"] == "all"} == {"3"}


def test_cli_compare_and_sweep_on_overlay_plans(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import main

    base = Path("scenarios/textbook/mmc.yaml").resolve()
    plan = tmp_path / "eleven.yaml"
    plan.write_text(f"extends: {base}\nhubs:\n  - id: hub\n    doctors: {{medicine: 11}}\n"
                    "    roster:\n      - {specialty: medicine, days: all, start: '00:00', "
                    "end: '24:00', doctors: 11}\n")
    assert main(["compare", str(base), str(plan), "--days", "6", "-n", "3",
                 "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    assert "eleven vs mmc" in out and "better" in out
    assert main(["sweep", str(base), "--days", "7", "-n", "2", "--set",
                 "demand.growth=0.9,1.0", "--out", str(tmp_path / "sw")]) == 0
    assert len(read_csv(tmp_path / "sw" / "sweep.csv")) > 10


@pytest.mark.parametrize("argv, message", [
    (["run", "scenarios/textbook/mmc.yaml", "--executor", "nope", "--days", "7"],
     "unknown executor"),
    (["sweep", "scenarios/textbook/mmc.yaml", "--set", "demand.growth"], "KEY=V1,V2"),
    (["compare", "scenarios/textbook/mmc.yaml", "scenarios/textbook/mmc.yaml"],
     "distinct names"),
])
def test_cli_experiment_errors_exit_2(argv: list[str], message: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
