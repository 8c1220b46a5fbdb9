"""Metrics: pure functions from a run's records to numbers and tidy tables.

Warm-up is handled by filtering: request-level metrics count the requests that arrived
after the warm-up; time-based metrics (utilisation, queue length) integrate over the
measurement window [warm-up, horizon). Unfinished requests are reported as ``unserved``.
Wait statistics are over served requests; service-level shares are over requests whose
fate is known (served, abandoned or dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    """Counts, waits and service levels of the requests selected by ``mask``.

    ``mask`` is a boolean mask or increasing row numbers (the same rows give the same
    figures); ``summary_rows`` passes row numbers so that each group costs its own size.
    """
    r = result.records
    arrival, start, outcome_all = r.arrival[mask], r.start[mask], r.outcome[mask]
    sel = arrival >= result.warmup
    outcome = outcome_all[sel]
    counts = np.bincount(outcome, minlength=len(OUTCOMES))
    n = int(sel.sum())
    served = outcome == SERVED
    sel_start, sel_arrival = start[sel], arrival[sel]
    wait = (sel_start - sel_arrival)[served]
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
    same_day = np.sum(np.floor(sel_start[served] / 1440) == np.floor(sel_arrival[served] / 1440))
    out["share_same_day"] = float(same_day) / decided if decided else nan
    out["abandonment_rate"] = counts[ABANDONED] / n if n else nan
    t0, t1 = window(result)
    days = (t1 - t0) / 1440.0
    is_served = outcome_all == SERVED
    started = is_served & (start >= t0) & (start < t1)
    out["throughput_per_day"] = float(started.sum()) / days
    exits = np.where(outcome_all == UNSERVED, result.horizon,
                     np.where(is_served, start, r.end[mask]))  # queue_exit of these rows
    out["queue_length_mean"] = float(_overlap(arrival, exits, t0, t1).sum() / (t1 - t0))
    return out


def capacity_metrics(result: RunResult, pools: Iterable[tuple[int, int]],
                     rows: np.ndarray | None = None) -> dict[str, float]:
    """Utilisation (consult time on duty / on-duty time) and overtime of the given pools.

    ``rows`` (increasing row numbers) may narrow the search to rows that hold every
    request of these pools, e.g. one hub's rows; the figures are the same.
    """
    r = result.records
    t0, t1 = window(result)
    pools = list(pools)
    on_duty = sum(result.duty[p].on_duty_minutes(t0, t1) for p in pools)
    at = slice(None) if rows is None else rows
    hub, spec = r.hub[at], r.specialty[at]
    member = np.zeros((len(result.scenario.hubs) + 1, len(result.scenario.specialties)),
                      dtype=bool)  # member[hub + 1, specialty]: row 0 is hub -1 (no hub)
    for h, s in pools:
        member[h + 1, s] = True
    m = (r.outcome[at] == SERVED) & member[hub + 1, spec]
    start = r.start[at][m]
    overtime = r.overtime[at][m]
    busy = _overlap(start, r.end[at][m] - overtime, t0, t1).sum()
    ot = overtime[(start >= t0) & (start < t1)]
    days = (t1 - t0) / 1440.0
    return {
        "on_duty_hours": on_duty / 60.0,
        "utilisation": float(busy / on_duty) if on_duty > 0 else float("nan"),
        "overtime_min": float(ot.sum()),
        "overtime_min_per_day": float(ot.sum()) / days,
        "overtime_consults": float(np.sum(ot > 0)),
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


def _members(codes: np.ndarray) -> Callable[[int], np.ndarray]:
    """Row numbers (increasing) of each code, from one stable sort instead of a mask each."""
    small = len(codes) == 0 or (codes.min() >= -(2**15) and codes.max() < 2**15 - 1)
    keys = codes.astype(np.int16) if small else codes  # 16-bit keys sort by radix, in O(n)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]

    def rows(code: int) -> np.ndarray:
        lo, hi = np.searchsorted(ordered, [code, code + 1])
        return order[lo:hi]

    return rows


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
    is_measured = measured(result)
    for g in by:
        codes, groups = _group_codes(result, g)
        present = set(np.unique(codes[is_measured]).tolist())
        members = _members(codes)
        for code, name in groups:
            values: dict[str, float] = {}
            at = members(code)
            if code in present:
                values = request_metrics(result, at)
            if g == "hub" and code >= 0:
                values |= capacity_metrics(result, [p for p in pools if p[0] == code], at)
            elif g == "specialty":
                values |= capacity_metrics(result, [p for p in pools if p[1] == code], at)
            if values:
                emit(g, name, values)
    hubs, specs = result.scenario.hub_ids, result.scenario.specialty_names
    pool_rows = _members(np.where(r.hub >= 0, r.hub.astype(np.int64) * len(specs) + r.specialty,
                                  -1))
    for h, s in pools:
        emit("hub_specialty", f"{hubs[h]}/{specs[s]}",
             capacity_metrics(result, [(h, s)], pool_rows(h * len(specs) + s)))
    return rows


def lookup(rows: Iterable[Row], metric: str, group_by: str = "all", group: str = "all") -> float:
    """The value of one metric in a summary table (KeyError if absent)."""
    for row in rows:
        if row["metric"] == metric and row["group_by"] == group_by and row["group"] == group:
            return float(row["value"])
    raise KeyError(f"no metric {metric!r} for {group_by}={group!r}")
