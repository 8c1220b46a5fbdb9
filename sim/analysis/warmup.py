"""Choosing a warm-up: MSER-5 on the replication-averaged output series, Welch's plot to check.

A run starts empty and idle, so its first days are not typical. ``analyse_warmup`` runs a
few replications, bins one output (time-average number waiting, or mean wait of the
requests arriving in the bin) over the whole horizon, averages the replications bin by
bin, and suggests the truncation that minimises the MSER statistic on batches of 5 bins
(White 1997). ``plot_warmup`` draws the averaged series, Welch's moving average and the
suggestion. Daily bins (the default) average out the clinic-hours cycle, which would
otherwise look like a transient.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from sim.analysis.metrics import queue_exit
from sim.engine.model import simulate
from sim.engine.records import SERVED, RunResult
from sim.engine.streams import replication_seed
from sim.experiment.budget import check_memory, check_replications
from sim.experiment.executors import ExecutorSpec, open_executor
from sim.scenario.schema import Scenario
from sim.scenario.types import MAX_SEED

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SeriesKind = Literal["queue", "wait"]


def warmup_series(result: RunResult, metric: SeriesKind = "queue",
                  bin_minutes: float = 1440.0) -> np.ndarray:
    """One run's output binned over the whole horizon (warm-up included).

    ``queue``: time-average number of requests waiting in each bin; ``wait``: mean wait
    (minutes) of the served requests that arrived in the bin (NaN for an empty bin).
    """
    if bin_minutes <= 0:
        raise ValueError(f"bin_minutes must be positive, got {bin_minutes!r}")
    horizon = result.horizon
    edges = np.arange(0.0, horizon + 1e-9, bin_minutes)
    if edges[-1] < horizon:
        edges = np.append(edges, horizon)
    r = result.records
    if metric == "queue":
        arr = np.sort(r.arrival)
        ex = np.sort(np.minimum(queue_exit(result), horizon))
        ca = np.concatenate([[0.0], np.cumsum(arr)])
        ce = np.concatenate([[0.0], np.cumsum(ex)])
        ka = np.searchsorted(arr, edges, side="left")
        ke = np.searchsorted(ex, edges, side="left")
        area = (ka * edges - ca[ka]) - (ke * edges - ce[ke])  # integral of N(t) up to edge
        return np.diff(area) / np.diff(edges)
    if metric == "wait":
        served = r.outcome == SERVED
        wait = (r.start - r.arrival)[served]
        which = np.searchsorted(edges, r.arrival[served], side="right") - 1
        nb = len(edges) - 1
        total = np.bincount(which, weights=wait, minlength=nb)[:nb]
        count = np.bincount(which, minlength=nb)[:nb]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)
    raise ValueError(f"metric must be 'queue' or 'wait', got {metric!r}")


def mser(series: np.ndarray, batch: int = 5) -> int:
    """MSER-``batch`` truncation point, in observations of ``series``.

    The series is cut into batch means; the truncation ``d`` (searched over the first
    half) minimises ``sum((y[d:] - mean(y[d:]))**2) / (m - d)**2``. NaNs are carried over
    from the previous value.
    """
    y = np.asarray(series, dtype=float).copy()
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch!r}")
    for i in range(len(y)):
        if np.isnan(y[i]):
            y[i] = y[i - 1] if i > 0 else np.nan
    y = y[~np.isnan(y)] if np.isnan(y[0]) else y
    m = len(y) // batch
    if m < 2:
        return 0
    b = y[: m * batch].reshape(m, batch).mean(axis=1)
    best, best_d = math.inf, 0
    for d in range(0, m // 2 + 1):
        tail = b[d:]
        stat = float(((tail - tail.mean()) ** 2).sum()) / (m - d) ** 2
        if stat < best:
            best, best_d = stat, d
    return best_d * batch


def welch(series: np.ndarray, window: int) -> np.ndarray:
    """Welch's moving average: centred mean over ``2*window+1`` points, shorter at the start."""
    y = np.asarray(series, dtype=float)
    n = len(y)
    out = np.full(n, np.nan)
    for i in range(n - window):
        s = min(i, window)
        out[i] = np.nanmean(y[i - s: i + s + 1])
    return out


MAX_BINS = 100_000
"""Most bins a warm-up series may have (an hour's bins over ten years is 87,600)."""


def _series_unit(scenario: Scenario, root_seed: int, replication: int, metric: SeriesKind,
                 bin_minutes: float) -> np.ndarray:
    result = simulate(scenario, seed=replication_seed(root_seed, replication))
    return warmup_series(result, metric, bin_minutes)


@dataclass
class WarmupAnalysis:
    """The averaged series, Welch's moving average and the MSER suggestion.

    ``table``: bin, start_day, mean (over replications), welch; ``series``: tidy
    replication, bin, start_day, value. ``at_limit`` is true when the suggestion is the
    largest truncation searched (half the run): run longer before trusting it.
    """

    scenario: str
    metric: SeriesKind
    bin_hours: float
    batch: int
    window: int
    replications: int
    seed: int
    truncation_bins: int
    suggested_days: float
    at_limit: bool
    table: pd.DataFrame
    series: pd.DataFrame

    def describe(self) -> str:
        """One paragraph saying what was suggested and from what."""
        what = "time-average number waiting" if self.metric == "queue" else "mean wait"
        text = (f"suggested warm-up: {self.suggested_days:.3g} days (MSER-{self.batch} on the "
                f"{what} in {self.bin_hours:g}-hour bins, averaged over {self.replications} "
                f"replications)")
        if self.at_limit:
            text += "; the series has not settled within half the horizon: run longer"
        return text


def analyse_warmup(
    scenario: Scenario,
    replications: int = 5,
    *,
    seed: int | None = None,
    metric: SeriesKind = "queue",
    bin_hours: float = 24.0,
    batch: int = 5,
    window: int | None = None,
    jobs: int = 1,
    executor: ExecutorSpec = None,
) -> WarmupAnalysis:
    """Suggest a warm-up for ``scenario`` from ``replications`` runs over its whole horizon.

    The scenario's own ``warmup_days`` plays no part (every run is binned from time 0).
    ``window`` is Welch's half-window in bins (default: about a tenth of the series).
    """
    check_replications(replications)
    root = scenario.seed if seed is None else int(seed)
    if not 0 <= root <= MAX_SEED:
        raise ValueError(f"seed must be an integer from 0 to 2**63-1, got {root}")
    check_memory([scenario], min(jobs, replications))
    bin_minutes = bin_hours * 60.0
    if not scenario.horizon_min / bin_minutes <= MAX_BINS:
        raise ValueError(f"bins of {bin_hours:g} h cut the {scenario.calendar.horizon_days}-day "
                         f"horizon into more than {MAX_BINS:,} bins; use longer bins")
    with open_executor(executor, jobs) as pool:
        futs = [pool.submit(_series_unit, scenario, root, i, metric, bin_minutes)
                for i in range(replications)]
        runs = [f.result() for f in futs]
    stack = np.vstack(runs)
    with warnings.catch_warnings():  # an all-NaN bin (no arrivals) stays NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(stack, axis=0)
    n = len(mean)
    w = window if window is not None else max(1, n // 10)
    d = mser(mean, batch)
    m = n // batch
    start_day = np.arange(n) * bin_hours / 24.0
    table = pd.DataFrame({"bin": np.arange(n), "start_day": start_day, "mean": mean,
                          "welch": welch(mean, w)})
    series = pd.DataFrame({
        "replication": np.repeat(np.arange(replications), n),
        "bin": np.tile(np.arange(n), replications),
        "start_day": np.tile(start_day, replications),
        "value": stack.ravel(),
    })
    return WarmupAnalysis(scenario.name, metric, bin_hours, batch, w, replications, root, d,
                          d * bin_hours / 24.0, m >= 2 and d // batch >= m // 2, table, series)


def plot_warmup(analysis: WarmupAnalysis) -> Figure:
    """The replications (faint), their mean, Welch's moving average and the suggestion."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.2))
    ax = fig.add_subplot()
    for _, g in analysis.series.groupby("replication", sort=True):
        ax.plot(g["start_day"], g["value"], color="0.8", lw=0.7)
    t = analysis.table
    ax.plot(t["start_day"], t["mean"], color="C0", lw=1.2,
            label=f"mean of {analysis.replications} replications")
    ax.plot(t["start_day"], t["welch"], color="C1", lw=2,
            label=f"Welch moving average (window {analysis.window})")
    ax.axvline(analysis.suggested_days, color="C3", ls="--",
               label=f"MSER-{analysis.batch} warm-up: {analysis.suggested_days:.3g} days")
    ax.set_xlabel("day")
    ax.set_ylabel("number waiting (time average)" if analysis.metric == "queue"
                  else "mean wait (min)")
    ax.set_title(f"{analysis.scenario}: warm-up")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig
