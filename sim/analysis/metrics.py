"""Metrics: pure functions from a run's records to numbers and tidy tables.

Warm-up is handled by filtering: request-level metrics count the requests that arrived
after the warm-up; time-based metrics (utilisation, queue length) integrate over the
measurement window [warm-up, horizon). Unfinished requests are reported as ``unserved``.
Wait statistics are over served requests (``wait_mean_all_min`` adds the time in queue of
those that left unseen); service-level shares are over requests whose fate is known (any
outcome but unserved), as ``sim.analysis.window.seen_waits`` defines them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.analysis.grouped import interpolate, percentile_positions
from sim.analysis.mechanisms import (
    PoolCapacity,
    booking_capacity_metrics,
    class_target_values,
    extra_groups,
    group_extra_metrics,
    phc_capacity_metrics,
    realism_metrics,
    realism_values,
    uses_mechanisms,
)
from sim.analysis.window import measured, queue_exit, seen_waits, share_seen_within, window
from sim.analysis.window import overlap as _overlap
from sim.engine.records import (
    ABANDONED,
    DROPPED,
    GAVE_UP,
    NO_SHOW,
    OUTCOMES,
    SERVED,
    TURNED_AWAY,
    UNSERVED,
    RunResult,
)

__all__ = ["KEY_METRICS", "REQUEST_GROUPS", "Row", "capacity_metrics", "extra_groups",
           "group_extra_metrics", "lookup", "measured", "queue_exit", "realism_metrics",
           "request_metrics", "summary_rows", "window"]

Row = dict[str, Any]
REQUEST_GROUPS: tuple[str, ...] = ("hub", "specialty", "channel", "district", "spoke_type", "hour")
PAIR_GROUPS: tuple[str, ...] = ("hub_specialty", "district_specialty")
"""Groupings of two columns, labelled ``hub/specialty``; always in the summary."""
KEY_METRICS: tuple[str, ...] = (
    "arrivals", "served", "abandoned", "unserved", "wait_mean_min", "wait_p50_min",
    "wait_p90_min", "wait_p95_min", "utilisation", "queue_length_mean", "abandonment_rate",
)


def request_metrics(result: RunResult, mask: np.ndarray | slice) -> dict[str, float]:
    """Counts, waits and service levels of the requests selected by ``mask``.

    ``mask`` is a boolean mask, increasing row numbers or a slice (the same rows give the
    same figures; ``slice(None)`` copies nothing). ``summary_rows`` computes the same
    figures for every group of a grouping at once; this is the one-group form.
    """
    r = result.records
    arrival, start, outcome_all = r.arrival[mask], r.start[mask], r.outcome[mask]
    sel = arrival >= result.warmup
    n = int(np.count_nonzero(sel))
    if n == len(arrival):  # nothing arrived in the warm-up: the same rows, no copies
        outcome, sel_start, sel_arrival = outcome_all, start, arrival
    else:
        outcome, sel_start, sel_arrival = outcome_all[sel], start[sel], arrival[sel]
    counts = np.bincount(outcome, minlength=len(OUTCOMES))
    served = outcome == SERVED
    wait = (sel_start - sel_arrival)[served]
    out: dict[str, float] = {"arrivals": float(n)}
    extended = uses_mechanisms(result)
    for k, name in enumerate(OUTCOMES if extended else OUTCOMES[:UNSERVED + 1]):
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
    decided += counts[TURNED_AWAY] + counts[NO_SHOW] + counts[GAVE_UP]
    exit_ = np.where(outcome_all == SERVED, start, r.end[mask])  # queue_exit, fate known
    queued = (exit_ - arrival)[(arrival >= result.warmup) & (outcome_all != UNSERVED)]
    out["wait_mean_all_min"] = float(queued.sum()) / decided if decided else nan
    out["share_waited"] = float(np.count_nonzero(queued > 0)) / decided if decided else nan
    del exit_, queued
    seen = seen_waits(sel_start - sel_arrival, served, outcome != UNSERVED)
    for target in result.scenario.metrics.targets_min:
        out[f"share_within_{target:g}_min"] = share_seen_within(seen, target)
    del seen
    day_start, day_arrival = sel_start[served], sel_arrival[served]  # fresh copies: in place
    np.floor(np.divide(day_start, 1440, out=day_start), out=day_start)
    np.floor(np.divide(day_arrival, 1440, out=day_arrival), out=day_arrival)
    same_day = np.sum(day_start == day_arrival)
    del day_start, day_arrival, sel_start, sel_arrival, outcome, served, wait, sel  # peak memory
    out["share_same_day"] = float(same_day) / decided if decided else nan
    out["abandonment_rate"] = counts[ABANDONED] / n if n else nan
    t0, t1 = window(result)
    days = (t1 - t0) / 1440.0
    is_served = outcome_all == SERVED
    started = is_served & (start >= t0) & (start < t1)
    out["throughput_per_day"] = float(started.sum()) / days
    exits = np.where(is_served, start, r.end[mask])  # queue_exit of these rows
    exits[outcome_all == UNSERVED] = result.horizon
    out["queue_length_mean"] = float(_overlap(arrival, exits, t0, t1).sum() / (t1 - t0))
    if extended:
        out |= realism_metrics(result, mask)
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
    out = {
        "on_duty_hours": on_duty / 60.0,
        "utilisation": float(busy / on_duty) if on_duty > 0 else float("nan"),
        "overtime_min": float(ot.sum()),
        "overtime_min_per_day": float(ot.sum()) / days,
        "overtime_consults": float(np.sum(ot > 0)),
    }
    if result.tables:
        out |= booking_capacity_metrics(result, pools)
    return out


def _groups(result: RunResult, by: str,
            labels: dict[str, list[str]] | None = None) -> list[tuple[int, str]]:
    """The groups of grouping ``by`` as (code, label); hub -1 is the state-wide pool.

    ``labels`` is ``result.labels()`` if already at hand.
    """
    if by == "hour":
        return [(h, f"{h:02d}") for h in range(24)]
    if by in PAIR_GROUPS:
        first, names = by.split("_")[0], labels or result.labels()
        outer, specs = names[first], names["specialty"]
        shift = 1 if by == "hub_specialty" else 0  # code 0: no hub (the state pool)
        return [(i * len(specs) + s + shift, f"{a}/{b}") for i, a in enumerate(outer)
                for s, b in enumerate(specs)]
    groups = list(enumerate((labels or result.labels())[by]))
    if by == "hub" and np.any(result.records.hub < 0):
        groups.append((-1, "(state pool)"))
    return groups


def _codes(result: RunResult, by: str, rows: slice) -> np.ndarray:
    """The grouping codes (int64) of the records in ``rows``."""
    r = result.records
    if by == "hour":
        return (np.floor(r.arrival[rows] % 1440.0 / 60.0)).astype(np.int64)
    n_s = len(result.scenario.specialties)
    if by == "hub_specialty":
        hub = r.hub[rows].astype(np.int64)
        return np.where(hub >= 0, hub * n_s + r.specialty[rows] + 1, 0)
    if by == "district_specialty":
        return r.district[rows].astype(np.int64) * n_s + r.specialty[rows]
    return getattr(r, by)[rows].astype(np.int64)


@dataclass
class _Grouping:
    """One grouping of the summary, and the totals the pass over the records adds up.

    ``key`` gives a block of records' group numbers, ``code - lo`` in [0, size); the
    totals are indexed by group number.
    """

    name: str
    groups: list[tuple[int, str]]
    lo: int
    size: int
    key: Callable[[slice], np.ndarray]  # rows -> intp group numbers in [0, size)
    requests: bool  # request metrics (counts, waits, queue length)
    capacity: bool  # utilisation and overtime of the pools
    every: np.ndarray = field(init=False)
    totals: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.totals = {k: np.zeros(self.size)
                       for k in ("wait", "queued", "waited", "overlap", "busy", "ot")}
        self.totals["ot_consults"] = np.zeros(self.size, dtype=np.int64)
        self.every = np.zeros(0, dtype=np.int64)


def _grouping(result: RunResult, by: str,
              labels: dict[str, list[str]] | None = None) -> _Grouping:
    r = result.records
    if by == "all":
        return _Grouping("all", [(0, "all")], 0, 1,
                         lambda rows: np.zeros(len(r.arrival[rows]), dtype=np.intp), True, True)
    if by in PAIR_GROUPS:
        pairs = _groups(result, by, labels)
        return _Grouping(by, pairs, 0, pairs[-1][0] + 1 if pairs else 1,
                         lambda rows: _codes(result, by, rows).astype(np.intp), True,
                         by == "hub_specialty")
    groups = _groups(result, by, labels)
    if by == "hour":  # codes 0 to 23 (24 only if rounding ever reached it: never listed)
        lo, size = 0, 25
    else:
        col = getattr(r, by)
        listed = [code for code, _ in groups]
        lo, hi = min(listed, default=0), max(listed, default=0)
        if len(col):
            lo, hi = min(lo, int(col.min())), max(hi, int(col.max()))
        size = hi - lo + 1

    def key(rows: slice) -> np.ndarray:
        codes = _codes(result, by, rows)
        if lo:
            codes -= lo
        return codes

    return _Grouping(by, groups, lo, size, key, True, by in ("hub", "specialty"))


def _add_first(out: np.ndarray, keys: np.ndarray, weights: np.ndarray) -> None:
    """``np.add.at(out, keys, weights)`` for an ``out`` of zeros, by a faster bincount."""
    out += np.bincount(keys, weights, minlength=len(out))


PASS_ROWS = 1 << 14
"""Records per block of the summary's pass: its temporaries are a few blocks in size."""


def _accumulate(result: RunResult, pools: list[tuple[int, int]],
                groupings: list[_Grouping]) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """One pass over the records, a block at a time, adding up every grouping's totals.

    For each grouping: ``every`` counts records by [group, outcome (7: not measured),
    consult started in the window, service-level targets missed, same day]; ``totals``
    sums waits, time queued (and whether any) of requests whose fate is known, time queued
    in the window, consult time on duty in the window and overtime.
    Float sums are added record by record in record order (``np.add.at``), the same
    sums, bit for bit, as one ``bincount`` over whole columns.

    Returns the waits of the measured served requests in record order, each one's group
    number in every request grouping (a row per grouping) and the service-level targets.
    """
    r = result.records
    t0, t1 = window(result)
    targets = sorted(set(result.scenario.metrics.targets_min))
    bounds = np.asarray(targets, dtype=float)
    cats, levels = len(OUTCOMES) + 1, len(targets) + 1
    width = cats * 2 * levels * 2
    member = np.zeros((len(result.scenario.hubs) + 1, len(result.scenario.specialties)),
                      dtype=bool)  # member[hub + 1, specialty]: row 0 is hub -1 (no hub)
    for h, s in pools:
        member[h + 1, s] = True
    for g in groupings:
        g.every = np.zeros(g.size * width, dtype=np.int64)
    request = [g for g in groupings if g.requests]
    n = len(r)
    served_total = 0
    for a in range(0, n, PASS_ROWS):
        rows = slice(a, a + PASS_ROWS)
        served_total += int(np.count_nonzero((r.arrival[rows] >= result.warmup)
                                             & (r.outcome[rows] == SERVED)))
    waits = np.empty(served_total)
    wide = max((g.size for g in request), default=1)
    code_type = np.uint8 if wide <= 2**8 else np.uint16 if wide <= 2**16 else np.int32
    served_keys = np.empty((len(request), served_total), dtype=code_type)
    at = 0
    for a in range(0, n, PASS_ROWS):
        rows = slice(a, a + PASS_ROWS)
        # the first block's sums start from zero: bincount adds in record order too
        add = _add_first if a == 0 else np.add.at
        arrival, start, outcome = r.arrival[rows], r.start[rows], r.outcome[rows]
        meas = arrival >= result.warmup
        is_served = outcome == SERVED
        # ((outcome if measured, else 7) * 2 + consult started in the window) * (T + 1)
        # + targets the wait missed, then * 2 + consult on the day asked for (the last two
        # 0 unless the request was served and measured)
        category = np.where(meas, outcome, len(OUTCOMES)).astype(np.int16)
        category *= 2
        category += is_served & (start >= t0) & (start < t1)
        category *= 2 * levels
        served = meas & is_served
        s_start, s_arrival = start[served], arrival[served]
        same_day = np.floor(s_start / 1440) == np.floor(s_arrival / 1440)
        s_start -= s_arrival
        wait = s_start
        missed = np.searchsorted(bounds, wait, side="left")
        category[served] += (2 * missed + same_day).astype(np.int16)
        waits[at:at + len(wait)] = wait
        exits = np.where(is_served, start, r.end[rows])  # queue_exit of these rows
        decided = meas & (outcome != UNSERVED)
        queued = (exits - arrival)[decided]
        exits[outcome == UNSERVED] = result.horizon
        overlap = _overlap(arrival, exits, t0, t1, reuse=True)
        pool = is_served & member[r.hub[rows] + 1, r.specialty[rows]]  # consults in a pool
        c_start, c_overtime = start[pool], r.overtime[rows][pool]
        c_end = r.end[rows][pool]
        c_end -= c_overtime  # the consults' ends within duty
        busy = _overlap(c_start, c_end, t0, t1, reuse=True)
        # overtime in the window (adding the zeros would not change a sum)
        late = (c_start >= t0) & (c_start < t1) & (c_overtime > 0)
        late_min = c_overtime[late]
        i = 0
        for g in groupings:
            key = g.key(rows)
            if g.requests:
                combined = key * width
                combined += category
                g.every += np.bincount(combined, minlength=g.size * width)
                ks = key[served]
                add(g.totals["wait"], ks, wait)
                add(g.totals["overlap"], key, overlap)
                kd = key[decided]
                add(g.totals["queued"], kd, queued)
                g.totals["waited"] += np.bincount(kd[queued > 0], minlength=g.size)
                served_keys[i, at:at + len(wait)] = ks
                i += 1
            if g.capacity:
                kc = key[pool]
                add(g.totals["busy"], kc, busy)
                late_keys = kc[late]
                add(g.totals["ot"], late_keys, late_min)
                g.totals["ot_consults"] += np.bincount(late_keys, minlength=g.size)
        at += len(wait)
    return waits, served_keys, targets


SORT_ONCE_BELOW = 1 << 21
"""Up to this many waits, the order statistics come from one sort of all the waits; above
it, from a partial sort of each group (O(waits) per grouping). The same figures either way."""


def _order_statistics(waits: np.ndarray, served_keys: np.ndarray, groupings: list[_Grouping],
                      kth: list[np.ndarray], sort_once: bool | None = None) -> list[np.ndarray]:
    """Per grouping, each group's waits at the order statistics ``kth[g]`` [group, k].

    ``kth`` holds positions within each group's own waits, ascending (unused for groups
    without waits); ``waits`` and ``served_keys`` are overwritten.
    """
    if sort_once is None:
        sort_once = len(waits) <= SORT_ONCE_BELOW
    out = []
    if sort_once and len(waits):
        order = np.argsort(waits, kind="stable")
        for row in served_keys:
            row[:] = row[order]
        del order
        waits.sort()  # in place: the same values as waits[order]
    for g, row, k in zip(groupings, served_keys, kth, strict=True):
        # each group's waits side by side (a stable radix sort of the group numbers)
        by_group = np.argsort(row, kind="stable")
        ns = np.bincount(row, minlength=g.size)
        first = np.cumsum(ns) - ns
        at = np.where((ns > 0)[:, None], first[:, None] + k, 0)
        if not len(waits):
            out.append(np.zeros(k.shape))
        elif sort_once:  # each group's waits already ascending: read the positions
            out.append(waits[by_group[at]])
        else:  # partitioned around the order statistics needed
            grouped = waits[by_group]
            del by_group
            starts, lengths = first.tolist(), ns.tolist()
            for i in np.flatnonzero(ns > 1).tolist():
                grouped[starts[i]:starts[i] + lengths[i]].partition(k[i])
            out.append(grouped[at])
    return out


def _percentile_positions(ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The order statistics the 50th, 90th and 95th percentiles of groups of ``ns`` waits need.

    [group, 7]: lower neighbours (3), upper (3), the largest; and the interpolation weights
    [group, 3] (``sim.analysis.grouped.percentile_positions``).
    """
    lower, upper, gamma = percentile_positions(ns, (50, 90, 95))
    return np.concatenate([lower, upper, (ns - 1)[:, None]], axis=1), gamma


def _request_values(result: RunResult, every: np.ndarray, totals: dict[str, np.ndarray],
                    targets: list[float], nth: np.ndarray,
                    gamma: np.ndarray) -> dict[str, np.ndarray]:
    """``request_metrics`` (without the realism part) of many groups at once.

    ``every`` counts each group's records by [group, outcome (7: not measured), consult
    started in the window, targets missed, same day]; ``totals`` holds each group's
    summed waits and time queued; ``nth`` and ``gamma`` its order statistics and
    interpolation weights (``_percentile_positions``). One array per metric, indexed like
    the groups. Sums are added in record order, so a mean may differ from
    ``request_metrics`` in its last bits (summation order); percentiles are numpy's
    default ('linear') method on each group's order statistics.
    """
    t0, t1 = window(result)
    both = every.sum(axis=(3, 4))
    counts = both.sum(axis=2)[:, :len(OUTCOMES)]
    n = counts.sum(axis=1)
    out: dict[str, np.ndarray] = {"arrivals": n.astype(float)}
    as_float = counts.astype(float)
    for k, name in enumerate(OUTCOMES if uses_mechanisms(result) else OUTCOMES[:UNSERVED + 1]):
        out[name] = as_float[:, k]
    ns = counts[:, SERVED]
    has = ns > 0
    a, b = nth[:, :3], nth[:, 3:6]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["wait_mean_min"] = np.where(has, totals["wait"] / ns, np.nan)
        value = np.where(has[:, None], interpolate(a, b, gamma), np.nan)
        for i, p in enumerate((50, 90, 95)):
            out[f"wait_p{p}_min"] = value[:, i]
        out["wait_max_min"] = np.where(has, nth[:, 6], np.nan)
        decided = n - counts[:, UNSERVED]
        out["wait_mean_all_min"] = np.where(decided > 0, totals["queued"] / decided, np.nan)
        out["share_waited"] = np.where(decided > 0, totals["waited"] / decided, np.nan)
        served = every[:, SERVED]  # [group, in window, targets missed, same day]
        within = served.sum(axis=(1, 3)).cumsum(axis=1)  # [group, k]: missed at most k
        for target in result.scenario.metrics.targets_min:
            ok = within[:, targets.index(target)]
            out[f"share_within_{target:g}_min"] = np.where(decided > 0, ok / decided, np.nan)
        same = served[:, :, :, 1].sum(axis=(1, 2))
        out["share_same_day"] = np.where(decided > 0, same / decided, np.nan)
        out["abandonment_rate"] = np.where(n > 0, counts[:, ABANDONED] / n, np.nan)
    out["throughput_per_day"] = both[:, :, 1].sum(axis=1) / ((t1 - t0) / 1440.0)
    out["queue_length_mean"] = totals["overlap"] / (t1 - t0)
    return out


def _capacity_values(result: RunResult, g: _Grouping,
                     on_duty: np.ndarray) -> dict[str, np.ndarray]:
    """``capacity_metrics`` (without the booking part) of every group's pools at once."""
    t0, t1 = window(result)
    overtime = g.totals["ot"]
    with np.errstate(invalid="ignore", divide="ignore"):
        util = np.where(on_duty > 0, g.totals["busy"] / on_duty, np.nan)
    return {
        "on_duty_hours": on_duty / 60.0,
        "utilisation": util,
        "overtime_min": overtime,
        "overtime_min_per_day": overtime / ((t1 - t0) / 1440.0),
        "overtime_consults": g.totals["ot_consults"].astype(float),
    }


def _lists(values: dict[str, np.ndarray]) -> dict[str, list[float]]:
    return {m: v.tolist() for m, v in values.items()}


def summary_rows(result: RunResult, by: Iterable[str] = REQUEST_GROUPS) -> list[Row]:
    """The tidy summary: one row per (metric, group_by, group) with its value.

    Every grouping is computed at once, in one pass over the records a block at a time
    (bincounts and record-order sums), then one sort of the waits: the cost follows the
    number of records, not of groups, and the temporaries stay small beside the records.
    The optional mechanisms' metrics (booking, failures, PHC tier, follow-ups,
    priorities) are computed for every group at once too (``sim.analysis.mechanisms``),
    and only when the scenario switches them on.
    """
    rows: list[Row] = []

    def emit(group_by: str, group: str, values: dict[str, float]) -> None:
        rows.extend([{"metric": m, "group_by": group_by, "group": group, "value": v}
                     for m, v in values.items()])

    def emit_at(group_by: str, group: str, values: list[tuple[str, list[float]]],
                i: int) -> None:
        """The rows of group number ``i``, from each metric's list of values by group."""
        rows.extend([{"metric": m, "group_by": group_by, "group": group, "value": v[i]}
                     for m, v in values])

    pools = sorted(result.duty)
    t0, t1 = window(result)
    minutes: dict[int, float] = {}  # by timeline: pools with the same roster share one
    duty: dict[tuple[int, int], float] = {}
    for p in pools:
        tl = result.duty[p]
        if id(tl) not in minutes:
            minutes[id(tl)] = tl.on_duty_minutes(t0, t1)
        duty[p] = minutes[id(tl)]
    extended = uses_mechanisms(result)
    by = list(by)
    by += extra_groups(result, by)
    labels = result.labels()
    groupings = [_grouping(result, g, labels) for g in ("all", *by, *PAIR_GROUPS)]
    waits, served_keys, targets = _accumulate(result, pools, groupings)
    request = [g for g in groupings if g.requests]
    # every request grouping's groups side by side: one set of array operations for all
    offsets = np.cumsum([0] + [g.size for g in request]).tolist()
    every = np.concatenate([g.every for g in request]).reshape(
        offsets[-1], len(OUTCOMES) + 1, 2, len(targets) + 1, 2)
    kth, gamma = _percentile_positions(every[:, SERVED].sum(axis=(1, 2, 3)))
    nth = np.concatenate(_order_statistics(waits, served_keys, request,
                                           np.split(kth, offsets[1:-1])))
    del waits, served_keys
    totals = {k: np.concatenate([g.totals[k] for g in request])
              for k in ("wait", "queued", "waited", "overlap")}
    stacked = _lists(_request_values(result, every, totals, targets, nth, gamma))
    req_of = {g.name: {m: v[a:b] for m, v in stacked.items()}
              for g, a, b in zip(request, offsets, offsets[1:], strict=False)}

    n_s = len(result.scenario.specialties)

    def on_duty_of(g: _Grouping) -> tuple[np.ndarray, dict[int, list[tuple[int, int]]]]:
        """Each group's on-duty minutes (summed in the pools' order) and its pools."""
        if g.name == "all":
            codes = [0] * len(pools)
            group_pools: dict[int, list[tuple[int, int]]] = {0: []}
        elif g.name == "hub_specialty":
            codes = [h * n_s + s + 1 for h, s in pools]
            group_pools = {code: [] for code in codes}
        else:  # every specialty has a row, every hub but the state pool
            side = 0 if g.name == "hub" else 1
            codes = [p[side] for p in pools]
            group_pools = {code: [] for code, _ in g.groups if side or code >= 0}
        on_duty = [0.0] * g.size
        for p, code in zip(pools, codes, strict=True):
            if code in group_pools:
                group_pools[code].append(p)
                on_duty[code - g.lo] += duty[p]
        return np.asarray(on_duty), group_pools

    everyone, *grouped = groupings
    realism_of: dict[str, dict[str, list[float]]] = {}
    if extended:
        found = realism_values(result, [g.key(slice(None)) for g in groupings],
                               [g.size for g in groupings])
        realism_of = {g.name: _lists(v) for g, v in zip(groupings, found, strict=True)}
    values = {m: v[0] for m, v in req_of["all"].items()}
    values |= {m: v[0] for m, v in realism_of.get("all", {}).items()}
    values |= {m: v[0] for m, v in _lists(_capacity_values(
        result, everyone, on_duty_of(everyone)[0])).items()}
    capacity = PoolCapacity(result) if result.tables else None
    if capacity is not None:
        values |= capacity.values({0: pools})[0]
    emit("all", "all", values)
    for g in grouped:
        name, lo = g.name, g.lo
        cap: dict[str, list[float]] = {}
        group_pools: dict[int, list[tuple[int, int]]] = {}
        if g.capacity:
            on_duty, group_pools = on_duty_of(g)
            cap = _lists(_capacity_values(result, g, on_duty))
        booking = capacity.values(group_pools) if capacity is not None else {}
        extra: dict[int, dict[str, float]] = {}  # tier 1's PHC capacity, each class's targets
        if name == "tier":
            extra = {1: phc_capacity_metrics(result)}
        elif name == "priority" and result.scenario.priorities is not None:
            extra = class_target_values(result, g.key(slice(None)), g.size, lo)
        request_items = [*req_of[name].items(), *realism_of.get(name, {}).items()]
        capacity_items = list(cap.items())
        arrivals = req_of[name]["arrivals"]
        for code, label in g.groups:
            i = code - lo
            present = arrivals[i] > 0
            if present:
                emit_at(name, label, request_items, i)
            if code in group_pools:
                emit_at(name, label, capacity_items, i)
                emit(name, label, booking.get(code, {}))
            elif code in extra and (present or name == "tier"):  # tier 1: even if none came
                emit(name, label, extra[code])
    return rows


def lookup(rows: Iterable[Row], metric: str, group_by: str = "all", group: str = "all") -> float:
    """The value of one metric in a summary table (KeyError if absent)."""
    for row in rows:
        if row["metric"] == metric and row["group_by"] == group_by and row["group"] == group:
            return float(row["value"])
    raise KeyError(f"no metric {metric!r} for {group_by}={group!r}")
