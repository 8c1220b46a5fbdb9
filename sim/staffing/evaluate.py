"""Judging a candidate roster: its targets in every pool, over replications on fixed seeds.

Candidates compared in the search all run on the same replication seeds (common random
numbers: the same requests, consult lengths and patience), so a change in a pool's figures
is the roster's doing, not the dice's. The verification uses other seeds. Values, intervals
and verdicts are the standards' own (``sim.analysis.standards``: Wilson intervals for
shares, log-scale t for waits): a target is *met* when its whole interval over the
replications lies on the right side of the target; its *margin* is how far that interval's
near end is inside the target, as a fraction of the target (negative: short of it).

The search judges with a *guard*: its interval widened by ``1 + sqrt(n_search /
n_verify)`` (``search_guard``), room for the verification's own interval on top of the
search's, so that a plan picked as the cheapest that passes on the search seeds does not
merely pass by luck (measured in the notes: without it, 11 of 60 Himachal rows were not
settled in verification).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.analysis.standards import interval, seen_by_next_session, verdict_of
from sim.engine.model import simulate
from sim.engine.records import ABANDONED, SERVED, UNSERVED, RunResult
from sim.engine.streams import replication_seed
from sim.experiment.units import Arm, UnitStore, fingerprint
from sim.scenario.schema import Scenario
from sim.scenario.types import CHANNELS
from sim.staffing.problem import Pool, Target

DAY = 1440.0
CONFIRM_OFFSET = 500_000
"""The confirmation after the search uses ``replication_seed(seed, CONFIRM_OFFSET + i)``."""
VERIFY_OFFSET = 1_000_000
"""Verification replication ``i`` uses ``replication_seed(seed, VERIFY_OFFSET + i)``: streams
the search never saw."""

Value = tuple[str, str, float, float]
"""(target id, group ``hub/specialty`` or ``hub/specialty/HH``, value, requests)."""


def _value(t: Target, wait: np.ndarray, served: np.ndarray, decided: np.ndarray,
           outcome: np.ndarray, ok_next: np.ndarray | None) -> tuple[float, float]:
    """One target's value and its denominator over the selected requests."""
    n_dec = float(decided.sum())
    if t.measure == "share_within":
        assert t.within_min is not None
        return (float(np.sum(served & (wait <= t.within_min))) / n_dec if n_dec else math.nan,
                n_dec)
    if t.measure == "share_by_next_session":
        assert ok_next is not None
        return (float(np.sum(served & ok_next)) / n_dec if n_dec else math.nan, n_dec)
    if t.measure == "abandonment":
        n = float(len(outcome))
        return (float(np.sum(outcome == ABANDONED)) / n if n else math.nan, n)
    w = wait[served]
    if not len(w):
        return math.nan, 0.0
    if t.measure == "wait_mean":
        return float(w.mean()), float(len(w))
    assert t.percentile is not None
    return float(np.percentile(w, t.percentile)), float(len(w))


def pool_values(result: RunResult, pools: Sequence[Pool]) -> list[Value]:
    """Every target of every pool in one run (requests that arrived after the warm-up)."""
    r = result.records
    sc = result.scenario
    spec_index = {s: i for i, s in enumerate(sc.specialties)}
    keep = r.arrival >= result.warmup
    out: list[Value] = []
    for pool in pools:
        if not pool.targets:
            continue
        mine = keep & (r.hub == pool.hub) & (r.specialty == spec_index[pool.specialty])
        rows = np.flatnonzero(mine)
        arrival, start, outcome = r.arrival[rows], r.start[rows], r.outcome[rows]
        channel, priority = r.channel[rows], r.priority[rows]
        wait = start - arrival
        served = outcome == SERVED
        decided = outcome != UNSERVED
        ok_next = None
        if any(t.measure == "share_by_next_session" for t in pool.targets):
            ok_next = seen_by_next_session(result, rows)
        hour = ((arrival % DAY) // 60).astype(int)
        class_names = ([c.name for c in sc.priorities.classes] if sc.priorities else ["routine"])
        for t in pool.targets:
            sel = np.ones(len(rows), dtype=bool)
            if t.channels is not None:
                sel &= np.isin(channel, [CHANNELS.index(c) for c in t.channels])
            if t.priorities is not None:
                sel &= np.isin(priority, [class_names.index(c) for c in t.priorities])
            parts = ([(pool.name, sel)] if not t.hourly else
                     [(f"{pool.name}/{h:02d}", sel & (hour == h)) for h in range(24)])
            for label, m in parts:
                v, n = _value(t, wait[m], served[m], decided[m], outcome[m],
                              None if ok_next is None else ok_next[m])
                out.append((t.id, label, v, n))
    return out


def run_values(scenario: Scenario, seed: int, replication: int,
               pools: Sequence[Pool]) -> list[Value]:
    """Simulate one replication of a candidate and return its target values (picklable)."""
    result = simulate(scenario, seed=replication_seed(seed, replication))
    return pool_values(result, pools)


def search_guard(replications: int, verify_replications: int) -> float:
    """How much wider than its own interval the search judges (see the module docstring)."""
    return 1.0 + math.sqrt(replications / verify_replications)


def _simulate(scenario: Scenario, seed: int, replication: int) -> RunResult:
    return simulate(scenario, seed=replication_seed(seed, replication))


@dataclass(frozen=True)
class Judged:
    """One target in one group over the replications."""

    target: Target
    group: str
    mean: float
    ci_low: float
    ci_high: float
    n: int
    requests: float
    verdict: str
    guard: float = 1.0

    @property
    def met(self) -> bool:
        """Met with the target's confidence (a group too small to judge does not block)."""
        return self.verdict in ("met", "too small")

    @property
    def margin(self) -> float:
        """How far the interval's near end is inside the target, relative to the target."""
        if self.verdict == "too small" or not math.isfinite(self.ci_low):
            return math.inf if self.verdict == "too small" else -math.inf
        t = self.target.target
        scale = abs(t) if t != 0 else 1.0
        if self.target.sense == "at_least":
            return (self.mean - self.guard * (self.mean - self.ci_low) - t) / scale
        return (t - self.mean - self.guard * (self.ci_high - self.mean)) / scale

    @property
    def pool(self) -> str:
        """``hub/specialty`` of the group."""
        return "/".join(self.group.split("/")[:2])


def judge_values(pools: Sequence[Pool], reps: Sequence[Sequence[Value]],
                 guard: float = 1.0) -> list[Judged]:
    """Mean, t-interval and verdict of every (target, group) over replications.

    The verdict uses the interval widened ``guard`` times about the mean (1: the plain
    interval); the table keeps the plain one.
    """
    by_id = {t.id: t for p in pools for t in p.targets}
    table: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    for rep in reps:
        for tid, group, v, n in rep:
            vs, ns = table.setdefault((tid, group), ([], []))
            vs.append(v)
            ns.append(n)
    out: list[Judged] = []
    for (tid, group), (vs, ns) in table.items():
        t = by_id[tid]
        values, counts = np.asarray(vs, dtype=float), np.asarray(ns, dtype=float)
        present = ~np.isnan(values)
        mean = float(values[present].mean()) if present.any() else math.nan
        lo, hi = interval(t.measure, values, counts, t.confidence)
        requests = float(counts.sum()) / max(len(vs), 1)
        lo_g, hi_g = mean - guard * (mean - lo), mean + guard * (hi - mean)
        verdict = verdict_of(t.sense, t.target, lo_g, hi_g, requests, t.min_requests)
        if verdict == "too small":
            lo = hi = math.nan
        out.append(Judged(t, group, mean, lo, hi, int(present.sum()), requests, verdict,
                          guard))
    return out


class Evaluator:
    """Runs candidates on fixed replication seeds, in parallel, resumable from ``out``."""

    def __init__(self, pools: Sequence[Pool], seed: int, replications: int, pool: cf.Executor,
                 out: Path | None = None, offset: int = 0, progress: bool = False,
                 label: str = "search", guard: float = 1.0):
        self.pools = list(pools)
        self.seed = seed
        self.replications = replications
        self.executor = pool
        self.store = UnitStore(out) if out is not None else None
        self.offset = offset
        self.progress = progress
        self.label = label
        self.guard = guard
        self.runs = 0
        self.resumed = 0
        spec = json.dumps([[p.name, [t.__dict__ for t in p.targets]] for p in self.pools],
                          sort_keys=True, default=str)
        self._targets_key = hashlib.sha256(spec.encode()).hexdigest()
        self._memo: dict[str, list[Judged]] = {}

    def _key(self, scenario: Scenario) -> str:
        return hashlib.sha256((fingerprint(scenario, self.seed) + self._targets_key
                               + str(self.offset)).encode()).hexdigest()

    def results(self, scenario: Scenario) -> list[RunResult]:
        """The runs of a scenario on this evaluator's seeds (for the ISA; not stored)."""
        futs = [self.executor.submit(_simulate, scenario, self.seed, self.offset + i)
                for i in range(self.replications)]
        self.runs += len(futs)
        return [f.result() for f in futs]

    def judge(self, scenarios: Sequence[Scenario]) -> list[list[Judged]]:
        """Judge several candidates at once (their replications share the workers)."""
        keys = [self._key(s) for s in scenarios]
        todo: dict[tuple[int, int], cf.Future[list[Value]]] = {}
        found: dict[tuple[int, int], list[Value]] = {}
        for c, (sc, key) in enumerate(zip(scenarios, keys, strict=True)):
            if key in self._memo:
                continue
            arm = Arm(self.label, sc)
            for i in range(self.replications):
                rep = self.offset + i
                if self.store is not None:
                    rows = self.store.load(arm, key, rep)
                    if rows is not None:
                        found[(c, i)] = _from_rows(rows)
                        self.resumed += 1
                        continue
                todo[(c, i)] = self.executor.submit(run_values, sc, self.seed, rep, self.pools)
        if todo:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), unit="run", desc=f"staffing {self.label}",
                       file=sys.stderr, disable=None if self.progress else True, leave=False)
            try:
                for fut in cf.as_completed(list(todo.values())):
                    fut.result()
                    bar.update(1)
            finally:
                bar.close()
            for (c, i), fut in todo.items():
                vals = fut.result()
                found[(c, i)] = vals
                if self.store is not None:
                    self.store.save(Arm(self.label, scenarios[c]), keys[c], self.offset + i,
                                    _to_rows(vals))
                self.runs += 1
        for c, key in enumerate(keys):
            if key not in self._memo:
                reps = [found[(c, i)] for i in range(self.replications)]
                self._memo[key] = judge_values(self.pools, reps, self.guard)
        return [self._memo[k] for k in keys]


def _to_rows(vals: Sequence[Value]) -> list[tuple[str, str, str, float]]:
    out: list[tuple[str, str, str, float]] = []
    for tid, group, v, n in vals:
        out.append((tid, "value", group, v))
        out.append((tid, "requests", group, n))
    return out


def _from_rows(rows: Sequence[tuple[str, str, str, float]]) -> list[Value]:
    vals: list[Value] = []
    for k in range(0, len(rows), 2):
        (tid, _, group, v), (_, _, _, n) = rows[k], rows[k + 1]
        vals.append((tid, group, v, n))
    return vals
