"""The analytic start: doctors per pool, day group and session from queueing theory.

A daily pool is taken hour by hour as a stationary M/M/c+M queue at that hour's arrival
rate (Erlang A, ``sim.analysis.theory.min_servers``); the session gets the largest hour's
answer. A clinic-day pool (fewer clinic days than days with requests) serves a week's
requests in its clinic hours, so its rate is the week's requests over the clinic minutes.
A standard with no Erlang form (``share_by_next_session``) asks for utilisation at most
``FLUID_UTILISATION``. Simulation then corrects all of it (``sim.staffing.search``).

For load that changes within the day faster than a consult ends, the stationary answer
lags: ``isa_staffing`` is the iterative staffing algorithm of Feldman, Mandelbaum, Massey and
Whitt (Management Science 54(2), 2008), run on the engine itself.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np

from sim.analysis.theory import erlang_a, erlang_a_share_within, min_servers
from sim.engine.records import UNSERVED, RunResult
from sim.staffing.problem import Pool, Target, Window

FLUID_UTILISATION = 0.85
Cells = dict[tuple[int, str], int]
"""Doctors per (day group index, session name) of one pool."""


def _theory_args(t: Target) -> tuple[str, float, float] | None:
    """(measure, target, within) for ``meets_standard``, or None if it has no Erlang form."""
    if t.measure == "share_within":
        return "share_within", t.target, float(t.within_min or 0.0)
    if t.measure == "wait_percentile":
        return "wait_percentile", float(t.percentile or 90.0) / 100.0, t.target
    if t.measure in ("wait_mean", "abandonment"):
        return t.measure, t.target, 0.0
    return None


def servers_for(pool: Pool, rate: float, targets: Sequence[Target] | None = None) -> int:
    """Fewest doctors meeting every target of ``pool`` at ``rate`` arrivals a minute."""
    if rate <= 0:
        return 0
    chosen = tuple(targets if targets is not None else pool.targets)
    return _servers_for(rate, pool.mean_consult, pool.mean_patience, chosen)


@functools.lru_cache(maxsize=4096)
def _servers_for(rate: float, mean_consult: float, mean_patience: float,
                 targets: tuple[Target, ...]) -> int:
    need = 1
    load = rate * mean_consult
    for t in targets:
        args = _theory_args(t)
        if args is None:
            need = max(need, math.ceil(load / FLUID_UTILISATION))
            continue
        measure, target, within = args
        try:
            need = max(need, min_servers(rate, mean_consult, measure=measure,
                                         target=target, within=within,
                                         mean_patience=mean_patience,
                                         max_servers=max(1000, int(10 * load) + 100)))
        except ValueError:
            need = max(need, int(10 * load) + 100)
    return need


def _clinic_days(pool: Pool, days: Sequence[int]) -> bool:
    """Whether the pool sits on fewer days than it gets requests (a clinic-day pool)."""
    asked = {d for d in range(7) if pool.load[d].sum() > 0}
    return bool(asked - set(days))


def analytic_start(pool: Pool, days: Sequence[int] | None = None) -> Cells:
    """Doctors on the longest session of every day group whose days are in ``days``."""
    days = list(pool.days if days is None else days)
    longest = pool.longest
    hours = [h for h in range(24) if longest.covers_hour(h)]
    cells: Cells = {}
    if _clinic_days(pool, days):
        minutes = len(days) * (longest.end - longest.start)
        rate = pool.weekly_arrivals() / minutes if minutes else 0.0
        for g, group in enumerate(pool.groups):
            if set(group) <= set(days):
                cells[(g, longest.name)] = max(1, servers_for(pool, rate))
        return cells
    for g, group in enumerate(pool.groups):
        if not set(group) <= set(days):
            continue
        need = max((servers_for(pool, float(pool.load[d, h])) for d in group for h in hours),
                   default=0)
        cells[(g, longest.name)] = max(1, need)
    return cells


def stationary_hourly(pool: Pool, targets: Sequence[Target] | None = None) -> np.ndarray:
    """Per-hour stationary staffing of the pool's first day group: 24 doctor counts."""
    d = pool.groups[0][0]
    return np.asarray([servers_for(pool, float(pool.load[d, h]), targets) for h in range(24)])


def _in_system(result: RunResult, hub: int, spec: int, times: np.ndarray) -> np.ndarray:
    """Number in system (waiting or in consult) at each of ``times``, one run."""
    r = result.records
    m = (r.hub == hub) & (r.specialty == spec)
    arrival = r.arrival[m]
    leave = np.where(r.outcome[m] == UNSERVED, np.inf, r.end[m])
    a = np.sort(arrival)
    b = np.sort(leave)
    return (np.searchsorted(a, times, side="right") - np.searchsorted(b, times, side="right"))


def isa_staffing(pool: Pool, target: Target, run: Callable[[np.ndarray], list[RunResult]],
                 *, step_min: float = 5.0, max_iterations: int = 12
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Hourly staffing of one 24/7 pool by the iterative staffing algorithm (ISA).

    Start with (effectively) unlimited doctors; simulate; estimate the distribution of the
    number in system ``L(t)`` every ``step_min`` minutes over the measured days; staff hour
    ``h`` with the fewest ``c`` for which the arrival-weighted share of the hour's instants
    with ``L(t) >= c`` (an arrival then waits, by PASTA) times the stationary Erlang A chance
    of a wait over ``within_min`` given a wait, is within the target; repeat with that
    staffing until it no longer changes. ``run(staffing)`` returns replications of the pool
    staffed by the 24 hourly counts. Returns the staffing and each iteration's.
    """
    if target.measure != "share_within":
        raise ValueError("isa_staffing handles share_within targets (within_min 0: P(wait))")
    d = pool.groups[0][0]
    rate = pool.load[d]
    alpha = 1.0 - target.target
    within = float(target.within_min or 0.0)
    staffing = np.full(24, max(50, int(6 * rate.max() * pool.mean_consult) + 20))
    history: list[np.ndarray] = []
    for _ in range(max_iterations):
        results = run(staffing)
        res0 = results[0]
        spec = res0.scenario.specialty_names.index(pool.specialty)
        t0, t1 = res0.warmup, res0.horizon
        times = np.arange(t0, t1, step_min) + step_min / 2.0
        counts = np.stack([_in_system(r, pool.hub, spec, times) for r in results])
        hour = ((times % 1440.0) // 60).astype(int)
        new = np.zeros(24, dtype=int)
        top = int(counts.max()) + 2
        for h in range(24):
            at = counts[:, hour == h].ravel()
            if rate[h] <= 0 or not len(at):
                continue
            tail = np.bincount(at, minlength=top + 1)[::-1].cumsum()[::-1] / len(at)  # P(L>=c)
            for c in range(1, top + 1):
                late = 1.0  # P(served after within_min | waits), 1 for within_min 0
                if within > 0:
                    ea = erlang_a(c, float(rate[h]), pool.mean_consult, pool.mean_patience)
                    share = erlang_a_share_within(within, c, float(rate[h]), pool.mean_consult,
                                                  pool.mean_patience)
                    late = (1.0 - share) / ea.p_wait if ea.p_wait > 0 else 0.0
                if tail[c] * late <= alpha:
                    new[h] = c
                    break
            else:
                new[h] = top
        history.append(new)
        if np.array_equal(new, staffing):
            break
        staffing = new
    return staffing, history


def hourly_windows(pool: Pool) -> dict[int, Window]:
    """The pool's one-hour sessions by clock hour (for hourly staffing)."""
    out = {}
    for w in pool.sessions:
        if w.end - w.start == 60 and w.start % 60 == 0:
            out[w.start // 60] = w
    return out


