"""Metrics: pure functions from a run's records to numbers and tidy tables.

Warm-up is handled by filtering: request-level metrics count the requests that arrived
after the warm-up; time-based metrics (utilisation, queue length) integrate over the
measurement window [warm-up, horizon). Unfinished requests are reported as ``unserved``.
Wait statistics are over served requests; service-level shares are over requests whose
fate is known (served, abandoned or dropped).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from sim.records import ABANDONED, DROPPED, OUTCOMES, SERVED, UNSERVED, RunResult

Row = dict[str, Any]
REQUEST_GROUPS: tuple[str, ...] = ("hub", "specialty", "channel", "district", "spoke_type", "hour")
KEY_METRICS: tuple[str, ...] = (
    "arrivals", "served", "abandoned", "unserved", "wait_mean_min", "wait_p50_min",
    "wait_p90_min", "wait_p95_min", "utilisation", "queue_length_mean", "abandonment_rate",
)


def window(result: RunResult) -> tuple[float, float]:
    """The measurement window [warm-up end, horizon) in minutes."""
    return result.warmup, result.horizon


def measured(result: RunResult) -> np.ndarray:
    """Mask of the requests counted in request-level metrics (arrived after warm-up)."""
    return result.records.arrival >= result.warmup


def queue_exit(result: RunResult) -> np.ndarray:
    """When each request stopped waiting: consult start, leaving time, or the horizon."""
    r = result.records
    out = np.where(r.outcome == SERVED, r.start, r.end)
    return np.where(r.outcome == UNSERVED, result.horizon, out)


def _overlap(a: np.ndarray, b: np.ndarray, t0: float, t1: float) -> np.ndarray:
    return np.clip(np.minimum(b, t1) - np.maximum(a, t0), 0.0, None)


def request_metrics(result: RunResult, mask: np.ndarray) -> dict[str, float]:
    """Counts, waits and service levels of the requests selected by ``mask``."""
    r = result.records
    sel = mask & measured(result)
    outcome = r.outcome[sel]
    counts = np.bincount(outcome, minlength=len(OUTCOMES))
    n = int(sel.sum())
    served = outcome == SERVED
    wait = (r.start[sel] - r.arrival[sel])[served]
    out: dict[str, float] = {"arrivals": float(n)}
    for k, name in enumerate(OUTCOMES):
        out[name] = float(counts[k])
    nan = float("nan")
    if len(wait):
        p50, p90, p95 = np.percentile(wait, [50, 90, 95])
        out |= {"wait_mean_min": float(wait.mean()), "wait_p50_min": float(p50),
                "wait_p90_min": float(p90), "wait_p95_min": float(p95),
                "wait_max_min": float(wait.max())}
    else:
        out |= dict.fromkeys(("wait_mean_min", "wait_p50_min", "wait_p90_min",
                              "wait_p95_min", "wait_max_min"), nan)
    decided = counts[SERVED] + counts[ABANDONED] + counts[DROPPED]
    for target in result.scenario.metrics.targets_min:
        ok = float(np.sum(wait <= target))
        out[f"share_within_{target:g}_min"] = ok / decided if decided else nan
    same_day = np.sum(np.floor(r.start[sel][served] / 1440) == np.floor(r.arrival[sel][served] / 1440))
    out["share_same_day"] = float(same_day) / decided if decided else nan
    out["abandonment_rate"] = counts[ABANDONED] / n if n else nan
    t0, t1 = window(result)
    days = (t1 - t0) / 1440.0
    started = mask & (r.outcome == SERVED) & (r.start >= t0) & (r.start < t1)
    out["throughput_per_day"] = float(started.sum()) / days
    exits = queue_exit(result)
    out["queue_length_mean"] = float(_overlap(r.arrival[mask], exits[mask], t0, t1).sum()
                                     / (t1 - t0))
    return out


def capacity_metrics(result: RunResult, pools: Iterable[tuple[int, int]]) -> dict[str, float]:
    """Utilisation (consult time on duty / on-duty time) and overtime of the given pools."""
    r = result.records
    t0, t1 = window(result)
    pools = list(pools)
    on_duty = sum(result.duty[p].on_duty_minutes(t0, t1) for p in pools)
    served = r.outcome == SERVED
    in_pools = np.zeros(len(r), dtype=bool)
    for h, s in pools:
        in_pools |= (r.hub == h) & (r.specialty == s)
    m = served & in_pools
    busy = _overlap(r.start[m], r.end[m] - r.overtime[m], t0, t1).sum()
    ot = m & (r.start >= t0) & (r.start < t1)
    days = (t1 - t0) / 1440.0
    return {
        "on_duty_hours": on_duty / 60.0,
        "utilisation": float(busy / on_duty) if on_duty > 0 else float("nan"),
        "overtime_min": float(r.overtime[ot].sum()),
        "overtime_min_per_day": float(r.overtime[ot].sum()) / days,
        "overtime_consults": float(np.sum(r.overtime[ot] > 0)),
    }


def _group_codes(result: RunResult, by: str) -> tuple[np.ndarray, list[tuple[int, str]]]:
    r = result.records
    labels = result.labels()
    if by == "hour":
        codes = (np.floor(r.arrival % 1440.0 / 60.0)).astype(np.int64)
        return codes, [(h, f"{h:02d}") for h in range(24)]
    codes = getattr(r, by).astype(np.int64)
    names = labels[by]
    groups = [(k, name) for k, name in enumerate(names)]
    if by == "hub" and np.any(codes < 0):
        groups.append((-1, "(state pool)"))
    return codes, groups


def summary_rows(result: RunResult, by: Iterable[str] = REQUEST_GROUPS) -> list[Row]:
    """The tidy summary: one row per (metric, group_by, group) with its value."""
    rows: list[Row] = []
    r = result.records
    everyone = np.ones(len(r), dtype=bool)

    def emit(group_by: str, group: str, values: dict[str, float]) -> None:
        rows.extend({"metric": m, "group_by": group_by, "group": group, "value": v}
                    for m, v in values.items())

    pools = sorted(result.duty)
    emit("all", "all", request_metrics(result, everyone) | capacity_metrics(result, pools))
    for g in by:
        codes, groups = _group_codes(result, g)
        present = set(np.unique(codes[measured(result)]).tolist())
        for code, name in groups:
            values: dict[str, float] = {}
            if code in present:
                values = request_metrics(result, codes == code)
            if g == "hub" and code >= 0:
                values |= capacity_metrics(result, [p for p in pools if p[0] == code])
            elif g == "specialty":
                values |= capacity_metrics(result, [p for p in pools if p[1] == code])
            if values:
                emit(g, name, values)
    hubs, specs = result.scenario.hub_ids, result.scenario.specialty_names
    for h, s in pools:
        emit("hub_specialty", f"{hubs[h]}/{specs[s]}", capacity_metrics(result, [(h, s)]))
    return rows


def lookup(rows: Iterable[Row], metric: str, group_by: str = "all", group: str = "all") -> float:
    """The value of one metric in a summary table (KeyError if absent)."""
    for row in rows:
        if row["metric"] == metric and row["group_by"] == group_by and row["group"] == group:
            return float(row["value"])
    raise KeyError(f"no metric {metric!r} for {group_by}={group!r}")
