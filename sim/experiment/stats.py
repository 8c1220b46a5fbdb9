"""Statistics over replications: t intervals, summaries, paired differences and verdicts."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.analysis.standards import (
    PREFIX,
    positive_bounds,
    share_bounds,
    t_quantile,
)

LOWER_IS_BETTER: tuple[str, ...] = (
    "wait_", "abandoned", "abandonment_rate", "unserved", "dropped", "queue_length",
    "overtime")
HIGHER_IS_BETTER: tuple[str, ...] = (
    "served", "share_within_", "share_same_day", "throughput_per_day")
SHARES: tuple[str, ...] = ("share_", "abandonment_rate")
"""Metrics that are shares of a group's requests (in [0, 1]): Wilson intervals."""


# --------------------------------------------------------------------------- CI maths

def _check_confidence(confidence: float) -> None:
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")


def half_width(sd: np.ndarray, n: np.ndarray, confidence: float) -> np.ndarray:
    """Student-t CI half-widths ``t * sd / sqrt(n)``; NaN where ``n < 2``."""
    sd = np.asarray(sd, dtype=float)
    n = np.asarray(n, dtype=float)
    _check_confidence(confidence)
    out = np.full(sd.shape, np.nan)
    ok = n >= 2
    if np.any(ok):
        out[ok] = t_quantile(confidence, n[ok] - 1) * sd[ok] / np.sqrt(n[ok])
    return out


def t_interval(values: Sequence[float] | np.ndarray,
               confidence: float = 0.95) -> tuple[float, float, float, int]:
    """``(mean, ci_low, ci_high, n)`` of the non-NaN values; the CI is NaN when ``n < 2``."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    n = len(v)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if n > 1 else math.nan
    h = float(half_width(np.asarray([sd]), np.asarray([n]), confidence)[0])
    return mean, mean - h, mean + h, n


def summarise(replications: pd.DataFrame, confidence: float = 0.95,
              by: Sequence[str] = ("scenario",)) -> pd.DataFrame:
    """Mean, CI and count of ``value`` per (``by``..., metric, group_by, group).

    Intervals stay in their range. A share (``SHARES``) gets the Wilson score interval at
    the effective sample size its spread between replications implies, the group's
    arrivals standing in where it did not vary (``share_bounds``); any other metric never
    negative in a replication gets the t interval on the log scale (``positive_bounds``);
    the rest the Student-t interval. NaN values (a metric undefined in a replication) are
    left out of ``n``; below 2 the CI is NaN. Rows keep the order in which their keys
    first appear. ``value`` repeats ``mean`` (the agreed format). The service standards'
    rows (``standard:...``) are left to ``sim.analysis.standards``.
    """
    _check_confidence(confidence)
    keys = [*by, "metric", "group_by", "group"]
    if not replications.empty:
        replications = replications[~replications["metric"].str.startswith(PREFIX)]
    if replications.empty:
        return pd.DataFrame(columns=[*keys, "value", "mean", "ci_low", "ci_high", "n"])
    g = replications.groupby(keys, sort=False, dropna=False)["value"]
    out = g.agg(["mean", "std", "count", "min"]).reset_index()
    n = out["count"].to_numpy(dtype=np.int64)
    mean = out["mean"].to_numpy(dtype=float)
    two = n >= 2
    t = np.full(len(n), np.nan)
    t[two] = t_quantile(confidence, n[two] - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = out["std"].to_numpy(dtype=float) / np.sqrt(n)
    lo, hi = mean - t * se, mean + t * se
    share = out["metric"].str.startswith(SHARES).to_numpy()
    positive = ~share & (out["min"].to_numpy(dtype=float) >= 0)
    if share.any():
        where = [*by, "group_by", "group"]
        arrivals = replications[replications["metric"] == "arrivals"]
        total = (arrivals.groupby(where, sort=False, dropna=False)["value"].sum()
                 .reindex(pd.MultiIndex.from_frame(out.loc[share, where])).to_numpy())
        lo[share], hi[share] = share_bounds(mean[share], se[share] ** 2, total, t[share])
    lo[positive], hi[positive] = positive_bounds(mean[positive], se[positive], t[positive])
    lo[~two] = hi[~two] = np.nan
    result = out[keys].copy()
    result["value"] = mean
    result["mean"] = mean
    result["ci_low"] = lo
    result["ci_high"] = hi
    result["n"] = n
    return result


def direction(metric: str) -> int:
    """-1 if lower is better for ``metric``, +1 if higher is better, 0 if neither."""
    if metric.startswith(HIGHER_IS_BETTER):
        return 1
    if metric.startswith(LOWER_IS_BETTER):
        return -1
    return 0


def verdict(metric: str, diff_low: float, diff_high: float) -> str:
    """Plain reading of a paired-difference CI (plan minus base) for ``metric``.

    ``better``/``worse`` when the CI excludes 0 (by the metric's direction), ``higher``/
    ``lower`` for metrics with no better direction, else ``no detectable difference``.
    """
    if not (diff_low > 0 or diff_high < 0):  # NaN (too few pairs) lands here too
        return "no detectable difference"
    sign = 1 if diff_low > 0 else -1
    d = direction(metric)
    if d == 0:
        return "higher" if sign > 0 else "lower"
    return "better" if sign == d else "worse"


def paired_differences(replications: pd.DataFrame, base: str, plan: str,
                       confidence: float = 0.95) -> pd.DataFrame:
    """Paired-t CI of (plan - base) per (metric, group_by, group), matched by replication.

    Both plans must have been run with the same root seed, so replication ``i`` of each
    saw the same random numbers (common random numbers) and the pairs are meaningful.
    """
    keys = ["metric", "group_by", "group"]
    b = replications.loc[replications["scenario"] == base, [*keys, "replication", "value"]]
    p = replications.loc[replications["scenario"] == plan, [*keys, "replication", "value"]]
    m = p.merge(b, on=[*keys, "replication"], how="inner", suffixes=("", "_base"))
    m["d"] = m["value"] - m["value_base"]
    g = m.groupby(keys, sort=False, dropna=False)["d"].agg(["mean", "std", "count"])
    g = g.reset_index()
    n = g["count"].to_numpy(dtype=np.int64)
    h = half_width(g["std"].to_numpy(dtype=float), n, confidence)
    mean = g["mean"].to_numpy(dtype=float)
    out = g[keys].copy()
    out["diff"] = mean
    out["diff_ci_low"] = mean - h
    out["diff_ci_high"] = mean + h
    out["pairs"] = n
    return out
