"""Judging service standards against replications: the standards table (standards.csv).

One row per (standard, group). Columns, in this order:

- ``standard``: the standard's id; ``label``: its plain words; ``measure``;
- ``group_by``: ``all`` or the ``by`` keys joined by ``_`` (``hub_specialty``);
  ``group``: the group's labels joined by ``/`` (``igmc_shimla/cardiology``);
- ``target``, ``mean``, ``ci_low``, ``ci_high``: in the measure's own unit, a fraction
  (0.9 = 90%) for shares and abandonment, minutes for waits; the interval stays inside the
  measure's range (NaN when the group is too small or there are fewer than 2 replications);
- ``sense``: ``at_least`` or ``at_most``; ``confidence``; ``n``: replications judged;
  ``requests``: mean requests per replication in the group (the measure's denominator);
- ``verdict``: ``met`` (the whole interval on the right side of the target), ``breached``
  (the whole interval on the wrong side), ``not settled`` (the interval holds the target)
  or ``too small`` (under ``min_requests`` requests per replication);
- ``gap``: how far the mean misses the target (positive: short of it, negative: better
  than it), in ``unit``: ``pp`` (percentage points) for shares, ``min``, ``h`` or ``d``
  for waits; ``relative_gap``: the excess over what the target allows, as a multiple of it
  (``gap_of``; it orders the breaches worst first).

``compare`` puts ``plan`` first and adds ``change``, ``change_ci_low``, ``change_ci_high``
(plan minus base, paired over replications, in the measure's unit); ``sweep`` puts
``point`` and the swept keys first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.window import seen_waits
from sim.engine.records import ABANDONED, POOL_LABEL, SERVED, UNSERVED, RunResult
from sim.engine.roster import DutyTimeline
from sim.scenario.schema import Scenario
from sim.scenario.standards import SHARE_MEASURES, Standard

STANDARDS_COLUMNS: tuple[str, ...] = (
    "standard", "label", "measure", "group_by", "group", "target", "sense", "mean", "ci_low",
    "ci_high", "n", "requests", "confidence", "verdict", "gap", "unit", "relative_gap")
VERDICTS: tuple[str, ...] = ("breached", "not settled", "met", "too small")


PREFIX = "standard:"
"""Metric names of the per-replication standard values: ``standard:<id>`` holds the
value, ``standard:<id>:n`` the number of requests it is measured over."""
Row = tuple[str, str, str, float]


def metric_name(standard: Standard) -> str:
    """The per-replication metric holding ``standard``'s value."""
    return PREFIX + standard.id


def sessions(timeline: DutyTimeline) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times of a pool's on-duty periods (inf: still on at the horizon)."""
    lv = np.asarray(timeline.levels)
    on = lv > 0
    rise = np.flatnonzero(on & np.r_[True, ~on[:-1]])
    fall = np.flatnonzero(~on & np.r_[False, on[:-1]])
    ends = np.full(len(rise), np.inf)
    ends[:len(fall)] = timeline.times[fall]
    return np.asarray(timeline.times[rise], dtype=float), ends


def seen_by_next_session(result: RunResult, rows: np.ndarray) -> np.ndarray:
    """Whether each request in ``rows`` was seen the same day or by the next clinic session.

    Seen (consult started) on the day it asked or, failing that, before the end of the
    next session of its hub x specialty clinic, the first one that starts after it asked:
    a request made during a session may wait into the next one.
    """
    r = result.records
    served = r.outcome[rows] == SERVED
    arrival, start = r.arrival[rows], r.start[rows]
    ok = served & (np.floor(start / 1440.0) == np.floor(arrival / 1440.0))
    hub, spec = r.hub[rows], r.specialty[rows]
    n_s = len(result.scenario.specialties)
    late = np.flatnonzero(served & ~ok & (hub >= 0))
    pools = hub[late].astype(np.int64) * n_s + spec[late]
    for code in np.unique(pools).tolist():
        at = late[pools == code]
        tl = result.duty.get(divmod(code, n_s))
        starts, ends = sessions(tl) if tl is not None else (np.zeros(0), np.zeros(0))
        k = np.searchsorted(starts, arrival[at], side="right")
        deadline = np.where(k < len(ends), ends[np.minimum(k, len(ends) - 1)], np.inf)
        ok[at] = start[at] < deadline
    return ok


def _selected(result: RunResult, standard: Standard) -> np.ndarray:
    """Row numbers of the measured requests (after the warm-up) the standard applies to."""
    r, sc, w = result.records, result.scenario, standard.where
    keep = r.arrival >= result.warmup
    if w.specialties is not None:
        keep &= np.isin(r.specialty, [sc.specialty_names.index(s) for s in w.specialties])
    if w.channels is not None:
        keep &= np.isin(r.channel, [("d2d", "opd").index(c) for c in w.channels])
    if w.hubs is not None:
        keep &= np.isin(r.hub, [sc.hub_ids.index(h) for h in w.hubs])
    if w.priorities is not None and sc.priorities is not None:
        names = [c.name for c in sc.priorities.classes]
        keep &= np.isin(r.priority, [names.index(p) for p in w.priorities])
    return np.flatnonzero(keep)


def _groups(result: RunResult, standard: Standard, rows: np.ndarray
            ) -> tuple[np.ndarray, list[str]]:
    """Each selected request's group number and the group labels (``hub/specialty``)."""
    if not standard.by:
        return np.zeros(len(rows), dtype=np.int64), ["all"]
    labels = result.labels()
    code = np.zeros(len(rows), dtype=np.int64)
    names: list[list[str]] = []
    for key in standard.by:
        col = getattr(result.records, key)[rows].astype(np.int64)
        kinds = list(labels[key])
        if key == "hub":  # -1: the state pool (never served), last
            col = np.where(col < 0, len(kinds), col)
            kinds.append(POOL_LABEL)
        code = code * len(kinds) + col
        names.append(kinds)
    used, number = np.unique(code, return_inverse=True)
    out = []
    for c in used.tolist():
        parts = []
        for kinds in reversed(names):
            c, k = divmod(c, len(kinds))
            parts.append(kinds[k])
        out.append("/".join(reversed(parts)))
    return number.astype(np.int64), out


def measure(result: RunResult, standards: Sequence[Standard] | None = None) -> list[Row]:
    """Each standard's value in each of its groups in one run, as tidy rows.

    ``standard:<id>`` is the value (a share, a rate or a wait in minutes; NaN where the
    group has no request to measure), ``standard:<id>:n`` its denominator: requests whose
    fate is known (shares), served requests (waits) or arrivals (abandonment). Shares seen
    within T count every request whose fate is known, as ``summary.csv`` does: one that
    gave up was not seen.
    """
    r = result.records
    out: list[Row] = []
    for s in result.scenario.standards if standards is None else standards:
        rows = _selected(result, s)
        group, labels = _groups(result, s, rows)
        outcome = r.outcome[rows]
        served = outcome == SERVED
        wait = r.start[rows] - r.arrival[rows]
        size = len(labels)
        if s.measure in ("share_within", "share_by_next_session"):
            base = outcome != UNSERVED
            if s.measure == "share_within":
                hit = seen_waits(wait, served, base) <= (s.within_min or 0.0)
            else:
                hit = seen_by_next_session(result, rows)[base]
            n = np.bincount(group[base], minlength=size)
            k = np.bincount(group[base][hit], minlength=size)
            with np.errstate(invalid="ignore", divide="ignore"):
                value = np.where(n > 0, k / np.maximum(n, 1), np.nan)
        elif s.measure == "abandonment":
            n = np.bincount(group, minlength=size)
            k = np.bincount(group[outcome == ABANDONED], minlength=size)
            value = np.where(n > 0, k / np.maximum(n, 1), np.nan)
        else:
            g, w = group[served], wait[served]
            n = np.bincount(g, minlength=size)
            if s.measure == "wait_mean":
                total = np.bincount(g, weights=w, minlength=size)
                value = np.where(n > 0, total / np.maximum(n, 1), np.nan)
            else:
                value = np.full(size, np.nan)
                order = np.lexsort((w, g))
                g, w = g[order], w[order]
                cut = np.searchsorted(g, np.arange(size + 1))
                for i in np.flatnonzero(n > 0).tolist():
                    value[i] = float(np.percentile(w[cut[i]:cut[i + 1]], s.percentile or 50))
        name = metric_name(s)
        for i, label in enumerate(labels):
            out.append((name, s.group_by, label, float(value[i])))
            out.append((name + ":n", s.group_by, label, float(n[i])))
    return out


# --------------------------------------------------------------------------- intervals

def t_quantile(confidence: float, df: np.ndarray | int) -> np.ndarray:
    """The two-sided Student-t critical value for ``confidence`` with ``df`` degrees of freedom.

    scipy.special's ``stdtrit``, the function behind ``scipy.stats.t.ppf`` (the same
    values), because importing scipy.stats costs every run about a second.
    """
    from scipy.special import stdtrit

    return np.asarray(stdtrit(df, 0.5 + confidence / 2.0), dtype=float)


def share_bounds(mean: np.ndarray, var: np.ndarray, total: np.ndarray,
                 t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score bounds inside [0, 1] for shares, holding the mean (arrays alike).

    ``mean`` is the mean of per-replication shares, ``var`` the variance of that mean
    (``s^2 / R``), ``total`` the requests behind it and ``t`` the critical value. The
    effective sample size is the one the spread between replications implies,
    ``p(1 - p) / var``; a share that did not vary (e.g. 0 in every replication) uses
    ``total``, so it gets the binomial bound of all its requests.
    """
    m = np.clip(mean, 0.0, 1.0)
    spread = m * (1.0 - m)
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.where((var > 0) & (spread > 0), spread / var, total)
        z2 = t * t / size
        centre = (m + z2 / 2.0) / (1.0 + z2)
        half = t * np.sqrt(spread / size + t * t / (4.0 * size * size)) / (1.0 + z2)
    return (np.maximum(0.0, np.minimum(m, centre - half)),
            np.minimum(1.0, np.maximum(m, centre + half)))


def positive_bounds(mean: np.ndarray, se: np.ndarray,
                    t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds >= 0 for means of quantities that are never negative, holding the mean.

    The Student-t interval taken on the log scale, ``mean / f`` to ``mean * f`` with
    ``f = exp(t * se / mean)`` (the delta method): above 0, close to the t interval when
    that is narrow, longer above than below where the spread is large. A mean of 0 (every
    value 0) gets ``[0, 0]``.
    """
    m = np.maximum(mean, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        f = np.exp(t * se / m)
        return np.where(m > 0, m / f, 0.0), np.where(m > 0, m * f, 0.0)


def share_interval(shares: np.ndarray, counts: np.ndarray,
                   confidence: float) -> tuple[float, float]:
    """A CI inside [0, 1] for the mean of per-replication shares (``share_bounds``).

    ``shares[i]`` is replication i's share of ``counts[i]`` requests. NaN below 2
    replications with requests.
    """
    p = np.asarray(shares, dtype=float)
    n = np.asarray(counts, dtype=float)
    ok = ~np.isnan(p) & (n > 0)
    p, n = p[ok], n[ok]
    if len(p) < 2:
        return math.nan, math.nan
    lo, hi = share_bounds(np.asarray(p.mean()), np.asarray(p.var(ddof=1) / len(p)),
                          np.asarray(n.sum()), t_quantile(confidence, len(p) - 1))
    return float(lo), float(hi)


def wait_interval(waits: np.ndarray, confidence: float) -> tuple[float, float]:
    """A CI >= 0 for the mean of per-replication waits in minutes (``positive_bounds``).

    NaN below 2 values.
    """
    w = np.asarray(waits, dtype=float)
    w = w[~np.isnan(w)]
    if len(w) < 2:
        return math.nan, math.nan
    lo, hi = positive_bounds(np.asarray(w.mean()), np.asarray(w.std(ddof=1) / math.sqrt(len(w))),
                             t_quantile(confidence, len(w) - 1))
    return float(lo), float(hi)


def interval(measure_name: str, values: np.ndarray, counts: np.ndarray,
             confidence: float) -> tuple[float, float]:
    """The range-respecting CI of a standard's measure over replications."""
    if measure_name in SHARE_MEASURES:
        return share_interval(values, counts, confidence)
    return wait_interval(values, confidence)


# --------------------------------------------------------------------------- judging

def verdict_of(sense: str, target: float, low: float, high: float, requests: float,
               min_requests: float) -> str:
    """``too small``, ``met``, ``breached`` or ``not settled`` for one interval."""
    if not requests >= min_requests:
        return "too small"
    if math.isnan(low) or math.isnan(high):
        return "not settled"
    if sense == "at_least":
        return "met" if low >= target else "breached" if high < target else "not settled"
    return "met" if high <= target else "breached" if low > target else "not settled"


def wait_unit(minutes: float) -> tuple[float, str]:
    """A span of minutes in the unit a planner reads: min below 2 h, h below 2 days, else d."""
    a = abs(minutes)
    if a < 120 or math.isnan(a):
        return minutes, "min"
    if a < 48 * 60:
        return minutes / 60.0, "h"
    return minutes / 1440.0, "d"


def gap_of(standard: Standard, mean: float) -> tuple[float, str, float]:
    """(gap in planner units, its unit, relative gap); positive: short of the target.

    The relative gap is the excess over what the target allows, as a multiple of that
    allowance: of the target itself for an at-most target (abandonment, waits), of the
    allowed miss ``1 - target`` for an at-least share. 90% seen when 95% is the standard
    (twice the allowed 5% missed) and 10% abandoned when 5% is allowed both score 1.
    """
    short = (standard.target - mean) if standard.sense == "at_least" else (mean - standard.target)
    allowed = 1.0 - standard.target if standard.sense == "at_least" else standard.target
    rel = short / allowed if allowed > 0 else (math.inf if short > 0 else 0.0)
    if standard.measure in SHARE_MEASURES:
        return short * 100.0, "pp", rel
    g, unit = wait_unit(short)
    return g, unit, rel


def _values(replications: pd.DataFrame, standard: Standard) -> pd.DataFrame:
    """Per (group, replication): the standard's value and its request count."""
    name = metric_name(standard)
    part = replications[replications["metric"].isin([name, name + ":n"])]
    wide = part.pivot_table(index=["group", "replication"], columns="metric", values="value",
                            aggfunc="first", dropna=False, sort=False)
    wide = wide.rename(columns={name: "value", name + ":n": "count"}).reset_index()
    return wide


def judge(replications: pd.DataFrame, scenario: Scenario,
          standards: Sequence[Standard] | None = None,
          replication_count: int | None = None) -> pd.DataFrame:
    """The standards table (``STANDARDS_COLUMNS``) of one scenario's replications.

    ``replications`` is the tidy per-replication table (its ``metric`` column holding the
    ``standard:`` rows of ``measure``) of this scenario only. ``replication_count`` is the
    number of replications run (default: as many as the table holds); a group's requests
    per replication average over all of them, a replication with none counting 0.
    Rows are the standards in scenario order, each one's groups in first-seen order.
    """
    if "scenario" in replications and replications["scenario"].nunique() > 1:
        raise ValueError("judge one scenario at a time; filter replications by scenario")
    reps = replications["replication"].nunique() if replication_count is None \
        else replication_count
    rows: list[dict[str, Any]] = []
    for s in scenario.standards if standards is None else standards:
        wide = _values(replications, s)
        if wide.empty:
            continue
        for group, g in wide.groupby("group", sort=False):
            values = g["value"].to_numpy(dtype=float)
            counts = g["count"].to_numpy(dtype=float)
            present = ~np.isnan(values)
            requests = float(np.nansum(counts)) / max(reps, 1)
            mean = float(values[present].mean()) if present.any() else math.nan
            low, high = interval(s.measure, values, counts, s.confidence)
            verdict = verdict_of(s.sense, s.target, low, high, requests, s.min_requests)
            if verdict == "too small":
                low = high = math.nan
            gap, unit, rel = gap_of(s, mean)
            rows.append({
                "standard": s.id, "label": s.label, "measure": s.measure,
                "group_by": s.group_by, "group": str(group), "target": s.target,
                "sense": s.sense, "mean": mean, "ci_low": low, "ci_high": high,
                "n": int(present.sum()), "requests": requests, "confidence": s.confidence,
                "verdict": verdict, "gap": gap, "unit": unit, "relative_gap": rel})
    return pd.DataFrame(rows, columns=list(STANDARDS_COLUMNS))


def worst_first(table: pd.DataFrame) -> pd.DataFrame:
    """Breaches first (largest relative shortfall first), then not settled, met, too small."""
    rank = table["verdict"].map({v: i for i, v in enumerate(VERDICTS)})
    order = pd.DataFrame({"rank": rank, "rel": -table["relative_gap"].fillna(-math.inf)})
    return table.loc[order.sort_values(["rank", "rel"], kind="stable").index]


def compare_standards(replications: pd.DataFrame, arms: Sequence[tuple[str, Scenario]],
                      confidence: float = 0.95) -> pd.DataFrame:
    """Each plan's standards table, ``plan`` first, with its paired change from the base.

    The base is the first arm; ``change``, ``change_ci_low``, ``change_ci_high`` are plan
    minus base, paired by replication, in the measure's unit (NaN for the base, and for a
    group the base does not have).
    """
    base_label = arms[0][0]
    parts = []
    for label, scenario in arms:
        part = judge(replications[replications["scenario"] == label], scenario)
        part.insert(0, "plan", label)
        if label == base_label or part.empty:
            for c in ("change", "change_ci_low", "change_ci_high"):
                part[c] = math.nan
        else:
            part = part.merge(_changes(replications, base_label, label, confidence),
                              on=["standard", "group_by", "group"], how="left")
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _changes(replications: pd.DataFrame, base: str, plan: str,
             confidence: float) -> pd.DataFrame:
    """Paired-t CI of (plan - base) of every standard value, matched by replication."""
    keys = ["metric", "group_by", "group", "replication"]
    values = replications[replications["metric"].str.startswith(PREFIX)
                          & ~replications["metric"].str.endswith(":n")]
    b = values.loc[values["scenario"] == base, [*keys, "value"]]
    p = values.loc[values["scenario"] == plan, [*keys, "value"]]
    m = p.merge(b, on=keys, suffixes=("", "_base"))
    m["d"] = m["value"] - m["value_base"]
    rows = []
    for (metric, gb, group), g in m.groupby(keys[:3], sort=False):
        d = g["d"].dropna().to_numpy(dtype=float)
        mean = float(d.mean()) if len(d) else math.nan
        h = (float(t_quantile(confidence, len(d) - 1)) * float(d.std(ddof=1)) / math.sqrt(len(d))
             if len(d) > 1 else math.nan)
        rows.append({"standard": metric[len(PREFIX):], "group_by": gb, "group": group,
                     "change": mean, "change_ci_low": mean - h, "change_ci_high": mean + h})
    return pd.DataFrame(rows, columns=["standard", "group_by", "group", "change",
                                       "change_ci_low", "change_ci_high"])


def sweep_standards(replications: pd.DataFrame, points: Sequence[tuple[str, Scenario,
                                                                      dict[str, Any]]]
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every point's standards table, and where each standard first breaks.

    The table has ``point`` and the swept keys first; the second table gives, for each
    (standard, group), the first point in grid order at which it is breached (empty
    ``first_breach`` if never).
    """
    parts = []
    keys = list(points[0][2]) if points else []
    for label, scenario, settings in points:
        part = judge(replications[replications["scenario"] == label], scenario)
        for k in reversed(keys):
            part.insert(0, k, [settings[k]] * len(part))
        part.insert(0, "point", label)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["point", *keys, *STANDARDS_COLUMNS])
    rows = []
    for (std, gb, group), g in table.groupby(["standard", "group_by", "group"], sort=False):
        hit = g[g["verdict"] == "breached"]
        first = hit.iloc[0] if len(hit) else None
        rows.append({"standard": std, "group_by": gb, "group": group,
                     "first_breach": "" if first is None else first["point"],
                     **{k: (math.nan if first is None else first[k]) for k in keys},
                     "mean": math.nan if first is None else first["mean"],
                     "target": g["target"].iloc[0]})
    breaks = pd.DataFrame(rows, columns=["standard", "group_by", "group", "first_breach",
                                         *keys, "mean", "target"])
    return table, breaks
