"""The same model as ``sim.engine.model`` without SimPy: the pure-Python floor, for comparison.

Not part of the package. ``FastModel`` keeps ``sim.model.Model``'s network building and
every rule of its plain ``run`` (routing, rosters, lazy reneging, overtime, drop at close),
and changes only the machinery: the event queue is a plain ``heapq`` of ``(time, eid, r)``
tuples, ordered exactly as SimPy orders its events (time, then insertion order; every
event has the same priority), with ``r >= 0`` a consult completion and ``r < 0`` a roster
change, and one merged loop takes the next arrival or the next event (events first on a
tie), with no ``env.step`` / ``env.schedule`` call per event.

The shipped engine applies everything else this prototype introduced (inlined consult
steps, memoryview inputs, ``array.array`` outputs, lean constant columns) while keeping
SimPy's queue as the clock, so the gap between the two is the measured cost of SimPy (see
``ENGINE_NOTES.md``). It returns records identical to ``Model.run`` (the benchmark suite
and ``tests/test_engine_equivalence.py`` check this). Completion times are scheduled as
``now + (end - now)``, as SimPy does, so that ties break the same way to the last bit.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from heapq import heappop, heappush
from typing import Any

import numpy as np

from sim.engine.model import Model, plain_columns, uses_realism
from sim.engine.records import ABANDONED, DROPPED, SERVED, UNSERVED, Records, RunResult


class FastModel(Model):
    """``sim.model.Model`` with the event loop of this module (same results, less time)."""

    def run(self) -> RunResult:  # noqa: C901 - one loop, kept flat for speed
        """Simulate the whole horizon once and return the records."""
        if self._ran:
            raise RuntimeError("a Model runs once; build a new one for another run")
        if uses_realism(self.scenario):  # booking, failures, ...: the engine's own path
            return super().run()
        self._ran = True
        sc = self.scenario
        arr = self.arrivals
        n = len(arr)
        horizon = sc.horizon_min
        drop_at_close = sc.queue.session_end == "drop"
        policy = sc.routing.policy
        simple = policy in ("home_hub", "pooled")
        threshold = sc.routing.overflow_threshold_min

        def view(x: np.ndarray, dtype: Any) -> memoryview:
            return memoryview(np.ascontiguousarray(x, dtype=dtype))  # type: ignore[arg-type]

        tm = view(arr.time, np.float64)
        cons = view(arr.consult, np.float64)
        pat = view(arr.patience, np.float64)
        dist = view(arr.district, np.int64 if arr.district.dtype.itemsize > 2 else np.int16)
        spc = view(arr.specialty, np.int64 if arr.specialty.dtype.itemsize > 2 else np.int16)
        nan = math.nan
        start = array("d", [nan]) * n
        end = array("d", [nan]) * n
        overtime = array("d", [0.0]) * n
        outcome = array("b", [UNSERVED]) * n
        doctor = array("i", [-1]) * n
        routed = array("h", [-1]) * n

        n_pools = len(self.pool_hub)
        n_queues = len(self.queue_pools)
        queues: list[deque[int]] = [deque() for _ in range(n_queues)]
        idle: list[list[int]] = [[] for _ in range(n_pools)]
        off: list[list[int]] = [list(reversed(ids)) for ids in self.pool_doctors]
        leaving: list[deque[float]] = [deque() for _ in range(n_pools)]
        target = [0] * n_pools
        q_idle = [0] * n_queues
        q_on = [0] * n_queues
        stale = [0] * n_queues
        expiry: list[list[tuple[float, int]]] = [[] for _ in range(n_queues)]
        pool_queue = self.pool_queue
        pool_hub = self.pool_hub
        doctor_pool = self.doctor_pool
        queue_pools = self.queue_pools
        queue_hub = self.queue_hub
        single_pool = [ps[0] if len(ps) == 1 else -1 for ps in queue_pools]

        heap: list[tuple[float, int, int]] = []
        eid = 0
        now = 0.0

        def take_next(d: int, p: int, t: float) -> None:
            """Doctor ``d`` is free at ``t``: serve the next live request or go idle."""
            nonlocal eid
            q = pool_queue[p]
            dq = queues[q]
            while dq:
                r = dq.popleft()
                dl = tm[r] + pat[r]
                if dl < t:
                    if outcome[r] == ABANDONED:
                        stale[q] -= 1
                    outcome[r] = ABANDONED
                    end[r] = dl
                    continue
                start[r] = t
                e = t + cons[r]
                end[r] = e
                doctor[r] = d
                outcome[r] = SERVED
                routed[r] = pool_hub[p]
                heappush(heap, (now + (e - now), eid, r))
                eid += 1
                return
            idle[p].append(d)
            q_idle[q] += 1

        def roster_change(p: int, level: int, t: float) -> None:
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
                        dl = tm[r] + pat[r]
                        if dl < t:
                            outcome[r], end[r] = ABANDONED, dl
                        else:
                            outcome[r], end[r] = DROPPED, t
                            routed[r] = queue_hub[q]
                    stale[q] = 0

        changes: list[tuple[int, int]] = []
        for p in range(n_pools):
            tl = self.duty[(pool_hub[p], self.pool_spec[p])]
            if tl.levels[0]:
                roster_change(p, int(tl.levels[0]), 0.0)
            for t, level in tl.changes():
                changes.append((p, level))
                heappush(heap, (t, eid, -len(changes)))
                eid += 1

        queue_tl = self.queue_timeline
        opens = []
        for tl in queue_tl:
            up = np.flatnonzero(tl.levels > 0)
            opens.append((tl.times[up], tl.levels[up]))
        mean_consult = self.mean_consult
        queue_spec = self.queue_spec

        def expected_wait(q: int, t: float) -> float:
            ex = expiry[q]
            while ex and ex[0][0] < t:  # reneged, still queued: not counted
                dl, y = heappop(ex)
                if outcome[y] == UNSERVED:
                    outcome[y] = ABANDONED
                    end[y] = dl
                    stale[q] += 1
            if q_idle[q]:
                return 0.0
            work = (len(queues[q]) - stale[q] + 1) * mean_consult[queue_spec[q]]
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

        spec_queues = self.spec_queues
        district_hub = self.district_hub
        # the home queue as a flat list indexed by district * n_spec + specialty (-1: none)
        n_spec = len(sc.specialties)
        home_flat = [-1] * (len(district_hub) * n_spec)
        for (di, s), q in self.home_queue.items():
            home_flat[di * n_spec + s] = q

        r = 0
        next_t = tm[0] if n else horizon
        while True:
            if heap and heap[0][0] <= next_t:  # an event first (also on a tie)
                now, _, x = heappop(heap)
                if x < 0:
                    p, level = changes[-x - 1]
                    roster_change(p, level, now)
                    continue
                t = end[x]
                d = doctor[x]
                p = doctor_pool[d]
                lv = leaving[p]
                if lv:
                    overtime[x] = t - lv.popleft()
                    off[p].append(d)
                    continue
                q = pool_queue[p]
                dq = queues[q]
                while dq:  # take_next, inlined
                    y = dq.popleft()
                    dl = tm[y] + pat[y]
                    if dl < t:
                        if outcome[y] == ABANDONED:
                            stale[q] -= 1
                        outcome[y] = ABANDONED
                        end[y] = dl
                        continue
                    start[y] = t
                    e = t + cons[y]
                    end[y] = e
                    doctor[y] = d
                    outcome[y] = SERVED
                    routed[y] = pool_hub[p]
                    heappush(heap, (now + (e - now), eid, y))
                    eid += 1
                    break
                else:
                    idle[p].append(d)
                    q_idle[q] += 1
                continue
            if r == n:
                break
            t = next_t  # the arrival of request r
            key = dist[r] * n_spec + spc[r]
            if simple:
                q = home_flat[key]
            else:
                home = home_flat[key]
                cands = ([home] if home >= 0 else []) + spec_queues[spc[r]]
                if policy == "least_wait":
                    q = least_wait(cands, t)
                elif home >= 0 and expected_wait(home, t) <= threshold:
                    q = home
                else:
                    q = least_wait(cands, t)
            if q_idle[q]:
                p = single_pool[q]
                if p < 0:  # pooled: the request's home hub first, else the most idle
                    h = district_hub[dist[r]]

                    def rank(x: int, h: int = h) -> tuple[bool, int]:
                        return pool_hub[x] == h and len(idle[x]) > 0, len(idle[x])

                    p = max(queue_pools[q], key=rank)
                q_idle[q] -= 1
                d = idle[p].pop()
                start[r] = t
                e = t + cons[r]
                end[r] = e
                doctor[r] = d
                outcome[r] = SERVED
                routed[r] = pool_hub[p]
                heappush(heap, (now + (e - now), eid, r))
                eid += 1
            elif drop_at_close and q_on[q] == 0:
                outcome[r], end[r] = DROPPED, t
                routed[r] = queue_hub[q]
            else:
                queues[q].append(r)
                routed[r] = queue_hub[q]
                if not simple:
                    dl = t + pat[r]
                    if dl < horizon:
                        heappush(expiry[q], (dl, r))
            r += 1
            next_t = tm[r] if r < n else horizon
        for dq in queues:
            for y in dq:
                dl = tm[y] + pat[y]
                if dl <= horizon:
                    outcome[y], end[y] = ABANDONED, dl

        out = np.frombuffer(outcome, dtype=np.int8)
        records = Records(
            id=np.arange(n, dtype=np.int64),
            channel=arr.channel,
            spoke=arr.spoke,
            spoke_type=arr.spoke_type,
            district=arr.district,
            specialty=arr.specialty,
            hub=np.frombuffer(routed, dtype=np.int16),
            doctor=np.frombuffer(doctor, dtype=np.int32),
            arrival=arr.time,
            start=np.frombuffer(start, dtype=np.float64),
            end=np.frombuffer(end, dtype=np.float64),
            overtime=np.frombuffer(overtime, dtype=np.float64),
            outcome=out,
            **plain_columns(arr.time, out),
        )
        return self._result(records)

