"""The network model: one simulated run of a scenario on SimPy.

Hubs hold doctor pools (hub x specialty) that go on and off duty by roster; requests join
queues and are served first come, first served. SimPy's event queue drives time: consult
completions and roster changes are SimPy events with plain callbacks (no process per
patient), and the pre-drawn, time-sorted arrival stream is merged with that queue as the
run advances. Reneging is handled by lazy deletion: a request's deadline is checked when a
doctor reaches it, so patience costs no events. A consult still running when a doctor's
session ends is finished and its overrun recorded as overtime.

Queues: under ``home_hub``, ``least_wait`` and ``overflow`` there is one queue per
hub x specialty, served by that hub's doctors; under ``pooled`` there is one state-wide
queue per specialty served by every hub's doctors of that specialty.
"""

from __future__ import annotations

import math
from collections import deque
from functools import partial

import numpy as np
import simpy
from simpy.events import Timeout

from sim.demand import Arrivals, draw_arrivals
from sim.records import ABANDONED, DROPPED, SERVED, UNSERVED, Records, RunResult
from sim.roster import DutyTimeline, all_timelines
from sim.scenario import Scenario
from sim.streams import SeedLike, Streams, seed_sequence


class Model:
    """One simulated run: build it from a scenario and a seed, then ``run()`` it once."""

    def __init__(self, scenario: Scenario, seed: SeedLike = None,
                 arrivals: Arrivals | None = None):
        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a sim.Scenario, got {type(scenario).__name__}")
        self.scenario = scenario
        self.seed = seed_sequence(scenario.seed if seed is None else seed)
        self.streams = Streams(self.seed)
        self.arrivals = draw_arrivals(scenario, self.streams) if arrivals is None else arrivals
        self.duty = all_timelines(scenario)
        self._ran = False
        self._build_network()

    def _build_network(self) -> None:
        sc = self.scenario
        pools = sorted(self.duty)  # (hub, specialty)
        self.pool_hub = [h for h, _ in pools]
        self.pool_spec = [s for _, s in pools]
        self.doctor_pool: list[int] = []
        self.doctor_names: list[str] = []
        self.pool_doctors: list[list[int]] = []
        for p, (h, s) in enumerate(pools):
            hub, spec = sc.hubs[h], sc.specialty_names[s]
            ids = []
            for k in range(hub.doctors.get(spec, 0)):
                ids.append(len(self.doctor_pool))
                self.doctor_pool.append(p)
                self.doctor_names.append(f"{hub.id}/{spec}/{k + 1}")
            self.pool_doctors.append(ids)

        pooled = sc.routing.policy == "pooled"
        key_of = {}
        self.queue_pools: list[list[int]] = []
        self.queue_hub: list[int] = []
        self.queue_spec: list[int] = []
        for p, (h, s) in enumerate(pools):
            key = s if pooled else (h, s)
            if key not in key_of:
                key_of[key] = len(self.queue_pools)
                self.queue_pools.append([])
                self.queue_hub.append(-1 if pooled else h)
                self.queue_spec.append(s)
            self.queue_pools[key_of[key]].append(p)
        self.pool_queue = [key_of[s if pooled else (h, s)] for h, s in pools]
        home = {d.district: sc.hub_ids.index(d.home_hub) for d in sc.spokes.districts}
        self.district_hub = [home[d] for d in sc.district_names]
        # candidate queues per specialty, and the home queue per (district, specialty)
        self.spec_queues: dict[int, list[int]] = {}
        for q, s in enumerate(self.queue_spec):
            self.spec_queues.setdefault(s, []).append(q)
        self.home_queue: dict[tuple[int, int], int] = {}
        for di, h in enumerate(self.district_hub):
            for s in range(len(sc.specialties)):
                k = s if pooled else (h, s)
                if k in key_of:
                    self.home_queue[(di, s)] = key_of[k]
        # opening times per queue (for expected waits while a queue is closed)
        self.queue_timeline = [self._sum_timelines([self.duty[pools[p]] for p in ps])
                               for ps in self.queue_pools]
        self.mean_consult = [sp.consult.mean for sp in sc.specialties.values()]

    @staticmethod
    def _sum_timelines(tls: list[DutyTimeline]) -> DutyTimeline:
        times = np.unique(np.concatenate([t.times for t in tls]))
        levels = sum((t.levels[np.searchsorted(t.times, times, side="right") - 1] for t in tls),
                     np.zeros(len(times), dtype=np.int64))
        return DutyTimeline(times, np.asarray(levels, dtype=np.int64))

    def run(self) -> RunResult:
        """Simulate the whole horizon once and return the records."""
        if self._ran:
            raise RuntimeError("a Model runs once; build a new one for another run")
        self._ran = True
        sc = self.scenario
        arr = self.arrivals
        n = len(arr)
        horizon = sc.horizon_min
        drop_at_close = sc.queue.session_end == "drop"
        policy = sc.routing.policy
        threshold = sc.routing.overflow_threshold_min

        times = arr.time.tolist()
        consult = arr.consult.tolist()
        deadline = (arr.time + arr.patience).tolist()
        spec_of = arr.specialty.tolist()
        district_of = arr.district.tolist()

        start = [math.nan] * n
        end = [math.nan] * n
        overtime = [0.0] * n
        outcome = [UNSERVED] * n
        doctor = [-1] * n
        routed = [-1] * n

        n_pools = len(self.pool_hub)
        n_queues = len(self.queue_pools)
        queues: list[deque[int]] = [deque() for _ in range(n_queues)]
        idle: list[list[int]] = [[] for _ in range(n_pools)]
        off: list[list[int]] = [list(reversed(ids)) for ids in self.pool_doctors]
        leaving: list[deque[float]] = [deque() for _ in range(n_pools)]
        target = [0] * n_pools
        q_idle = [0] * n_queues
        q_on = [0] * n_queues
        pool_queue = self.pool_queue
        pool_hub = self.pool_hub
        doctor_pool = self.doctor_pool
        queue_pools = self.queue_pools
        queue_hub = self.queue_hub

        env = simpy.Environment()

        def begin(r: int, d: int, p: int, t: float) -> None:
            start[r] = t
            e = t + consult[r]
            end[r] = e
            doctor[r] = d
            outcome[r] = SERVED
            routed[r] = pool_hub[p]
            ev = Timeout(env, e - env.now, r)
            ev.callbacks.append(complete)

        def take_next(d: int, p: int, t: float) -> None:
            """Doctor ``d`` is free at ``t``: serve the next live request or go idle."""
            dq = queues[pool_queue[p]]
            while dq:
                r = dq.popleft()
                if deadline[r] < t:
                    outcome[r] = ABANDONED
                    end[r] = deadline[r]
                    continue
                begin(r, d, p, t)
                return
            idle[p].append(d)
            q_idle[pool_queue[p]] += 1

        def complete(ev: simpy.Event) -> None:
            r = ev.value
            t = end[r]
            d = doctor[r]
            p = doctor_pool[d]
            if leaving[p]:
                overtime[r] = t - leaving[p].popleft()
                off[p].append(d)
                return
            take_next(d, p, t)

        def roster_change(p: int, level: int, _ev: simpy.Event | None = None) -> None:
            t = env.now
            q = pool_queue[p]
            diff = level - target[p]
            target[p] = level
            q_on[q] += diff
            if diff > 0:
                for _ in range(diff):
                    if leaving[p]:
                        leaving[p].pop()
                    else:
                        take_next(off[p].pop(), p, t)
            elif diff < 0:
                for _ in range(-diff):
                    if idle[p]:
                        off[p].append(idle[p].pop())
                        q_idle[q] -= 1
                    else:
                        leaving[p].append(t)
                if drop_at_close and q_on[q] == 0:
                    dq = queues[q]
                    while dq:
                        r = dq.popleft()
                        if deadline[r] < t:
                            outcome[r], end[r] = ABANDONED, deadline[r]
                        else:
                            outcome[r], end[r] = DROPPED, t
                            routed[r] = queue_hub[q]

        for p in range(n_pools):
            tl = self.duty[(pool_hub[p], self.pool_spec[p])]
            if tl.levels[0]:
                roster_change(p, int(tl.levels[0]))
            for t, level in tl.changes():
                ev = Timeout(env, t, None)
                ev.callbacks.append(partial(roster_change, p, level))

        queue_tl = self.queue_timeline
        opens = []
        for tl in queue_tl:
            up = np.flatnonzero(tl.levels > 0)
            opens.append((tl.times[up], tl.levels[up]))
        mean_consult = self.mean_consult

        def expected_wait(q: int, t: float) -> float:
            if q_idle[q]:
                return 0.0
            work = (len(queues[q]) + 1) * mean_consult[self.queue_spec[q]]
            if q_on[q] > 0:
                return work / q_on[q]
            ot, ol = opens[q]
            k = int(np.searchsorted(ot, t, side="right"))
            if k >= len(ot):
                return math.inf
            return (ot[k] - t) + work / ol[k]

        def least_wait(cands: list[int], t: float) -> int:
            best, best_w = cands[0], math.inf
            for q in cands:
                w = expected_wait(q, t)
                if w < best_w:
                    best, best_w = q, w
            return best

        home_queue = self.home_queue
        spec_queues = self.spec_queues
        district_hub = self.district_hub
        peek, step = env.peek, env.step
        for r in range(n):
            t = times[r]
            while peek() <= t:
                step()
            s = spec_of[r]
            if policy == "home_hub" or policy == "pooled":
                q = home_queue[(district_of[r], s)]
            elif policy == "least_wait":
                home = home_queue.get((district_of[r], s))
                cands = spec_queues[s]
                q = least_wait(([home] if home is not None else []) + cands, t)
            else:  # overflow
                home = home_queue.get((district_of[r], s))
                if home is not None and expected_wait(home, t) <= threshold:
                    q = home
                else:
                    q = least_wait(([home] if home is not None else []) + spec_queues[s], t)
            if q_idle[q]:
                pools = queue_pools[q]
                if len(pools) == 1:
                    p = pools[0]
                else:  # pooled: the request's home hub first, else the hub with most idle
                    h = district_hub[district_of[r]]
                    p = max(pools, key=lambda x: (pool_hub[x] == h and len(idle[x]) > 0,
                                                  len(idle[x])))
                q_idle[q] -= 1
                begin(r, idle[p].pop(), p, t)
            elif drop_at_close and q_on[q] == 0:
                outcome[r], end[r] = DROPPED, t
                routed[r] = queue_hub[q]
            else:
                queues[q].append(r)
                routed[r] = queue_hub[q]
        while peek() <= horizon:
            step()
        for dq in queues:
            for r in dq:
                if deadline[r] <= horizon:
                    outcome[r], end[r] = ABANDONED, deadline[r]

        records = Records(
            id=np.arange(n, dtype=np.int64),
            channel=arr.channel,
            spoke=arr.spoke,
            spoke_type=arr.spoke_type,
            district=arr.district,
            specialty=arr.specialty,
            hub=np.asarray(routed, dtype=np.int16),
            doctor=np.asarray(doctor, dtype=np.int32),
            arrival=arr.time,
            start=np.asarray(start),
            end=np.asarray(end),
            overtime=np.asarray(overtime),
            outcome=np.asarray(outcome, dtype=np.int8),
        )
        return RunResult(sc, int(self.seed.entropy), tuple(self.seed.spawn_key), records,
                         self.duty, self.doctor_names)


def simulate(scenario: Scenario, seed: SeedLike = None) -> RunResult:
    """Run ``scenario`` once with ``seed`` (default: the scenario's own seed)."""
    return Model(scenario, seed).run()
