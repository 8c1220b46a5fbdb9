"""The network model: one simulated run of a scenario on SimPy.

Hubs hold doctor pools (hub x specialty) that go on and off duty by roster; requests join
queues and are served first come, first served. SimPy's event queue drives time: consult
completions and roster changes are SimPy events with plain callbacks (no process per
patient), and the pre-drawn, time-sorted arrival stream is merged with that queue as the
run advances. Reneging is handled by lazy deletion: a request's deadline is checked when a
doctor reaches it, so patience costs no events. Routing that estimates waits
(``least_wait``, ``overflow``) also keeps each queue's deadlines on a heap, so that a
request that has reneged but is still queued is not counted in the estimate. A consult
still running when a doctor's session ends is finished and its overrun recorded as
overtime.

Queues: under ``home_hub``, ``least_wait`` and ``overflow`` there is one queue per
hub x specialty, served by that hub's doctors; under ``pooled`` there is one state-wide
queue per specialty served by every hub's doctors of that specialty.

Optional mechanisms (scenario sections ``booking``, ``failures``, ``phc_tier``,
``followups``, ``priorities``; all off by default) run on a second code path,
``_run_realism``, so that a scenario without them runs the plain path unchanged and pays
nothing for them. There queues are heaps ordered by (priority class, booked before token,
time joined); booked requests join their queue at the slot; failed video calls hold the
doctor for the wasted minutes and rejoin after the retry delay; sub-centre requests may
first see the district's PHC medical officers (extra pools after the hub pools); follow-ups
are new requests appended during the run. ``absence`` only thins the duty timelines.
"""

from __future__ import annotations

import heapq
import itertools
import math
from array import array
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT, Timeout

from sim.engine.demand import Arrivals, draw_arrivals, draw_priorities
from sim.engine.records import (
    ABANDONED,
    DROPPED,
    GAVE_UP,
    NEW_DTYPES,
    NO_SHOW,
    SERVED,
    TURNED_AWAY,
    UNSERVED,
    Records,
    RunResult,
)
from sim.engine.roster import DAY, DutyTimeline, absent_timelines, all_timelines, clock_timeline
from sim.engine.streams import SeedLike, Streams, seed_sequence
from sim.scenario.schema import CHANNELS, SPOKE_TYPES, Calendar, Clock, Scenario


class _Consult(simpy.Event):
    """One doctor's consult completion: a SimPy event the doctor reuses for every consult.

    A doctor runs at most one consult at a time, so one event per doctor suffices: the
    engine sets ``_value`` to the request, ``callbacks`` to the shared ``[complete]`` list
    and ``at`` to the completion time, and schedules it with ``env.schedule`` (as
    ``Timeout`` does, without building an object per consult); ``env.step`` clears
    ``callbacks`` when it fires. The doctor's pool, queue and hub ride along so that the
    callback looks nothing up.
    """

    _ok = True

    def __init__(self, env: simpy.Environment, doctor: int, pool: int, q: int,
                 queue: deque[int], hub: int):
        self.env = env
        self.callbacks = None  # type: ignore[assignment]  # not scheduled yet
        self._value = None
        self.at = 0.0  # the time it is scheduled for (env.now when it fires)
        self.doctor, self.pool, self.q, self.queue, self.hub = doctor, pool, q, queue, hub


def _view(x: np.ndarray, dtype: Any) -> memoryview:
    """A memoryview of ``x`` as ``dtype`` (reads give Python numbers, no list copy)."""
    return memoryview(np.ascontiguousarray(x, dtype=dtype))  # type: ignore[arg-type]


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
        self.rostered = all_timelines(scenario)
        spec_index = {spec: s for s, spec in enumerate(scenario.specialties)}
        never = DutyTimeline(np.zeros(1), np.zeros(1, int))
        for h, hub in enumerate(scenario.hubs):  # rostered, yet never on duty in this horizon:
            for x in hub.roster:  # still a queue, never served
                self.rostered.setdefault((h, spec_index[x.specialty]), never)
        self.duty = self.rostered
        self.sessions: dict[str, np.ndarray] = {}
        if scenario.absence is not None:
            self.duty, self.sessions = absent_timelines(scenario, self.rostered,
                                                        self.streams("absence"))
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
                hk: int | tuple[int, int] = s if pooled else (h, s)
                if hk in key_of:
                    self.home_queue[(di, s)] = key_of[hk]
        # opening times per queue (for expected waits while a queue is closed)
        self.queue_timeline = [self._sum_timelines([self.duty[pools[p]] for p in ps])
                               for ps in self.queue_pools]
        self.mean_consult = [sp.consult.mean for sp in sc.specialties.values()]
        self.n_hub_pools = len(pools)
        self.phc_duty: dict[int, DutyTimeline] = {}
        self.phc_queue: dict[int, int] = {}
        tier = sc.phc_tier
        if tier is not None:  # one PHC MO pool and queue per district, after the hub pools
            for di, name in enumerate(sc.district_names):
                k = tier.district_doctors.get(name, tier.doctors)
                tl = clock_timeline(sc.calendar, tier.hours, k)
                if not tl.ever_on:
                    continue
                self.phc_duty[di] = tl
                p = len(self.pool_hub)
                self.pool_hub.append(-1)
                self.pool_spec.append(-1)
                ids = []
                for j in range(k):
                    ids.append(len(self.doctor_pool))
                    self.doctor_pool.append(p)
                    self.doctor_names.append(f"PHC/{name}/{j + 1}")
                self.pool_doctors.append(ids)
                self.phc_queue[di] = len(self.queue_pools)
                self.pool_queue.append(len(self.queue_pools))
                self.queue_pools.append([p])
                self.queue_hub.append(-1)
                self.queue_spec.append(-1)
                self.queue_timeline.append(tl)

    @staticmethod
    def _sum_timelines(tls: list[DutyTimeline]) -> DutyTimeline:
        if len(tls) == 1:  # a queue of one pool: its timeline as it is
            return tls[0]
        times = np.unique(np.concatenate([t.times for t in tls]))
        levels = sum((t.levels[np.searchsorted(t.times, times, side="right") - 1] for t in tls),
                     np.zeros(len(times), dtype=np.int64))
        return DutyTimeline(times, np.asarray(levels, dtype=np.int64))

    def run(self) -> RunResult:
        """Simulate the whole horizon once and return the records."""
        if self._ran:
            raise RuntimeError("a Model runs once; build a new one for another run")
        self._ran = True
        if uses_realism(self.scenario):
            return self._run_realism()
        return self._run_plain()

    def _run_plain(self) -> RunResult:  # noqa: C901 - one loop, kept flat for speed
        """The run without optional mechanisms: SimPy events for consults and rosters.

        SimPy's queue drives time: every consult completion and roster change is an event
        on ``env``'s queue, processed by ``env.step`` (``env.now`` is the clock), and the
        time-sorted arrivals are merged in as the run advances (events first on a tie).
        Each doctor owns one reusable completion event (a doctor has at most one consult
        running), scheduled with ``env.schedule``; its one callback does the whole
        "finish, then take the next live request" step inline. Arrival columns are read
        through memoryviews and results written to ``array.array`` columns that become
        numpy arrays without a copy.
        """
        sc = self.scenario
        arr = self.arrivals
        n = len(arr)
        horizon = sc.horizon_min
        drop_at_close = sc.queue.session_end == "drop"
        policy = sc.routing.policy
        simple = policy in ("home_hub", "pooled")
        threshold = sc.routing.overflow_threshold_min

        tm = _view(arr.time, np.float64)
        cons = _view(arr.consult, np.float64)
        pat = _view(arr.patience, np.float64)
        dist = _view(arr.district, np.int64 if arr.district.dtype.itemsize > 2 else np.int16)
        spc = _view(arr.specialty, np.int64 if arr.specialty.dtype.itemsize > 2 else np.int16)
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
        stale = [0] * n_queues  # requests in a queue already marked abandoned
        expiry: list[list[tuple[float, int]]] = [[] for _ in range(n_queues)]
        heappush, heappop = heapq.heappush, heapq.heappop
        pool_queue = self.pool_queue
        pool_hub = self.pool_hub
        doctor_pool = self.doctor_pool
        queue_pools = self.queue_pools
        queue_hub = self.queue_hub
        single_pool = [ps[0] if len(ps) == 1 else -1 for ps in queue_pools]

        env = simpy.Environment()
        schedule = env.schedule
        normal = NORMAL

        def complete(ev: _Consult) -> None:
            """A consult ends: the doctor leaves (overtime) or takes the next live request."""
            r = ev._value
            t = end[r]
            now = ev.at  # the clock: this event's time, as env.schedule computed it
            p = ev.pool
            lv = leaving[p]
            if lv:
                overtime[r] = t - lv.popleft()
                off[p].append(ev.doctor)
                return
            dq = ev.queue
            while dq:
                y = dq.popleft()
                dl = tm[y] + pat[y]
                if dl < t:
                    if outcome[y] == ABANDONED:  # already counted gone by expected_wait
                        stale[ev.q] -= 1
                    outcome[y] = ABANDONED
                    end[y] = dl
                    continue
                start[y] = t
                e = t + cons[y]
                end[y] = e
                doctor[y] = ev.doctor
                outcome[y] = SERVED
                routed[y] = ev.hub
                ev.callbacks = on_done
                ev._value = y
                ev.at = now + (e - now)
                schedule(ev, normal, e - now)
                return
            idle[p].append(ev.doctor)
            q_idle[ev.q] += 1

        on_done: list[Callable[[Any], None]] = [complete]  # shared; env.step never mutates it
        consults = [_Consult(env, d, p, pool_queue[p], queues[pool_queue[p]], pool_hub[p])
                    for d, p in enumerate(doctor_pool)]

        def take_next(d: int, p: int, t: float) -> None:
            """Doctor ``d`` is free at ``t``: serve the next live request or go idle."""
            q = pool_queue[p]
            dq = queues[q]
            while dq:
                r = dq.popleft()
                dl = tm[r] + pat[r]
                if dl < t:
                    if outcome[r] == ABANDONED:  # already counted gone by expected_wait
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
                ev = consults[d]
                ev.callbacks = on_done
                ev._value = r
                now = env.now
                ev.at = now + (e - now)
                schedule(ev, normal, e - now)
                return
            idle[p].append(d)
            q_idle[q] += 1

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
                        dl = tm[r] + pat[r]
                        if dl < t:
                            outcome[r], end[r] = ABANDONED, dl
                        else:
                            outcome[r], end[r] = DROPPED, t
                            routed[r] = queue_hub[q]
                    stale[q] = 0

        pool_tls = [self.duty[(pool_hub[p], self.pool_spec[p])] for p in range(n_pools)]
        for p, tl in enumerate(pool_tls):
            if tl.levels[0]:
                roster_change(p, int(tl.levels[0]))
        schedule_rosters(env, pool_tls, roster_change)

        opens = []  # (times, levels) of each queue's open periods: for expected waits
        for tl in self.queue_timeline if not simple else ():
            up = np.flatnonzero(tl.levels > 0)
            opens.append((tl.times[up], tl.levels[up]))
        mean_consult = self.mean_consult
        queue_spec = self.queue_spec

        def expected_wait(q: int, t: float) -> float:
            """Expected wait in queue ``q`` for a request joining at ``t``.

            Requests that reneged stay in the queue until a doctor reaches them (lazy
            deletion) and are not counted: ``expiry[q]`` holds the deadlines of the
            queue's requests, and each one past at ``t`` whose request is still waiting is
            marked abandoned now (as the doctor would mark it) and counted in ``stale[q]``.
            """
            ex = expiry[q]
            while ex and ex[0][0] < t:
                dl, y = heappop(ex)
                if outcome[y] == UNSERVED:  # still in the queue: it has reneged
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

        peek, step = env.peek, env.step
        # ``nxt`` is env.peek(): only env.step's callbacks and the arrivals below schedule
        # events, so it is refreshed after each step and lowered by each arrival's consult;
        # ``now`` is env.now: the time of the last event stepped
        now = env.now
        nxt = peek()
        for r in range(n):
            t = tm[r]
            while nxt <= t:  # SimPy's events first, also on a tie
                now = nxt
                step()
                nxt = peek()
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
                cev = consults[d]
                cev.callbacks = on_done
                cev._value = r
                at = cev.at = now + (e - now)
                schedule(cev, normal, e - now)
                if at < nxt:
                    nxt = at
            elif drop_at_close and q_on[q] == 0:
                outcome[r], end[r] = DROPPED, t
                routed[r] = queue_hub[q]
            else:
                queues[q].append(r)
                routed[r] = queue_hub[q]
                if not simple:
                    dl = t + pat[r]
                    if dl < horizon:  # it may renege within the run
                        heappush(expiry[q], (dl, r))
        while peek() <= horizon:
            step()
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
        # events left past the horizon tie the environment and the closures above in a
        # cycle that only the garbage collector frees; releasing the closures' views of
        # the arrival columns lets those columns go with the model instead
        for view in (tm, cons, pat, dist, spc):
            view.release()
        return self._result(records)

    def _result(self, records: Records) -> RunResult:
        tables: dict[str, dict[str, np.ndarray]] = {}
        if self.sessions:
            tables["sessions"] = self.sessions
        if getattr(self, "slot_table", None):
            tables["slots"] = self.slot_table
        entropy = int(cast(int, self.seed.entropy))
        return RunResult(self.scenario, entropy, tuple(self.seed.spawn_key),
                         records, self.duty, self.doctor_names, self.phc_duty, tables)

    def _run_realism(self) -> RunResult:
        """The run with booking, failures, the PHC tier, follow-ups or priorities on."""
        sc = self.scenario
        arr = self.arrivals
        n0 = len(arr)
        horizon = sc.horizon_min
        drop_at_close = sc.queue.session_end == "drop"
        policy = sc.routing.policy
        threshold = sc.routing.overflow_threshold_min
        streams = self.streams
        booking, fails, tier, fu = sc.booking, sc.failures, sc.phc_tier, sc.followups

        prio_arr, pat_arr = draw_priorities(sc, streams, arr)
        times = arr.time.tolist()
        consult = arr.consult.tolist()
        pat = pat_arr.tolist()
        prio = prio_arr.tolist()
        spec_of = arr.specialty.tolist()
        district_of = arr.district.tolist()
        chan_of = arr.channel.tolist()
        stype_of = arr.spoke_type.tolist()
        spoke_of = arr.spoke.tolist()
        nan = math.nan
        deadline = [math.inf] * n0
        start = [nan] * n0
        end = [nan] * n0
        overtime = [0.0] * n0
        outcome = [UNSERVED] * n0
        doctor = [-1] * n0
        routed = [-1] * n0
        tier_of = [0] * n0
        phc_start = [nan] * n0
        phc_end = [nan] * n0
        queued = [nan] * n0
        slot = [nan] * n0
        attempts = [0] * n0
        lost = [0.0] * n0
        parent = [-1] * n0
        next_step = [0] * n0
        q_of = [-1] * n0
        in_queue = [-1] * n0  # the queue a request waits in, while routing tracks it
        columns: list[list[Any]] = [times, consult, pat, prio, spec_of, district_of, chan_of,
                                    stype_of, spoke_of, deadline, start, end, overtime,
                                    outcome, doctor, routed, tier_of, phc_start, phc_end,
                                    queued, slot, attempts, lost, parent, next_step, q_of,
                                    in_queue]

        # pre-drawn uniforms, each from its own stream (existing streams are not shifted)
        has_fail, has_booking = fails is not None, booking is not None
        max_att = fails.max_attempts if fails is not None else 1
        u_noshow = streams("noshow").random(n0).tolist() if has_booking else []
        # attempt k of request r uses u_fail[r * max_att + k]
        u_fail = streams("failure").random(n0 * max_att).tolist() if has_fail else []
        u_esc = streams("escalation").random(n0).tolist() if tier is not None else []
        u_next = streams("followup").random(n0).tolist() if fu is not None else []
        phc_len = (tier.consult.sample(streams("phc/consult"), n0).tolist()
                   if tier is not None else [])
        fail_p: list[float] = []
        wasted: list[float] = []
        if has_fail:
            fp, fw = connectivity_table(sc)
            fail_p = fp[arr.district, arr.spoke_type].tolist()
            wasted = fw[arr.district, arr.spoke_type].tolist()
        noshow_p = ([booking.no_show.get(ch, 0.0) for ch in CHANNELS]  # type: ignore[call-overload]
                    if booking is not None else [])
        esc_share = tier.escalate_share if tier is not None else 0.0
        esc_delay = tier.escalation_delay_min if tier is not None else 0.0
        tier_types = ({SPOKE_TYPES.index(t) for t in tier.spoke_types} if tier is not None
                      else set())
        retry_delay = fails.retry_delay_min if fails is not None else 0.0

        n_pools = len(self.pool_hub)
        n_queues = len(self.queue_pools)
        n_hub_pools = self.n_hub_pools
        queues: list[list[tuple[int, int, float, int, int]]] = [[] for _ in range(n_queues)]
        idle: list[list[int]] = [[] for _ in range(n_pools)]
        off: list[list[int]] = [list(reversed(ids)) for ids in self.pool_doctors]
        leaving: list[deque[float]] = [deque() for _ in range(n_pools)]
        target = [0] * n_pools
        q_idle = [0] * n_queues
        q_on = [0] * n_queues
        # routing by expected wait: each specialist queue's deadlines, and how many of its
        # requests expected_wait has already marked abandoned
        estimates = policy in ("least_wait", "overflow")
        phc_queues = set(self.phc_queue.values())
        track = [estimates and q not in phc_queues for q in range(n_queues)]
        expiry: list[list[tuple[float, int]]] = [[] for _ in range(n_queues)]
        stale = [0] * n_queues
        pool_queue = self.pool_queue
        pool_hub = self.pool_hub
        doctor_pool = self.doctor_pool
        queue_pools = self.queue_pools
        queue_hub = self.queue_hub
        district_hub = self.district_hub
        seq = itertools.count()
        heappush, heappop = heapq.heappush, heapq.heappop
        HUB, PHC, FAIL = 0, 1, 2

        env = simpy.Environment()

        def at(delay: float, fn: Callable[[int], None], r: int) -> None:
            ev = Timeout(env, delay, r)
            ev.callbacks.append(lambda e: fn(e.value))

        def begin(r: int, d: int, p: int, t: float) -> None:
            if p >= n_hub_pools:  # the PHC medical officer
                e = t + phc_len[r]
                phc_start[r], phc_end[r] = t, e
                if u_esc[r] >= esc_share:  # resolved here
                    tier_of[r], outcome[r] = 1, SERVED
                    start[r], end[r], doctor[r] = t, e, d
                else:
                    tier_of[r] = 2
                ev = Timeout(env, e - env.now, (r, PHC, d))
                ev.callbacks.append(complete)
                return
            k = attempts[r]
            attempts[r] = k + 1
            routed[r] = pool_hub[p]
            if has_fail and u_fail[r * max_att + k] < fail_p[r]:
                ev = Timeout(env, t + wasted[r] - env.now, (r, FAIL, d))
                ev.callbacks.append(complete)
                return
            start[r] = t
            e = t + consult[r]
            end[r] = e
            doctor[r] = d
            outcome[r] = SERVED
            ev = Timeout(env, e - env.now, (r, HUB, d))
            ev.callbacks.append(complete)

        def take_next(d: int, p: int, t: float) -> None:
            q = pool_queue[p]
            heap = queues[q]
            while heap:
                r = heappop(heap)[4]
                in_queue[r] = -1
                if deadline[r] < t:
                    if outcome[r] == ABANDONED:  # already counted gone by expected_wait
                        stale[q] -= 1
                    outcome[r] = ABANDONED
                    end[r] = deadline[r]
                    continue
                begin(r, d, p, t)
                return
            idle[p].append(d)
            q_idle[pool_queue[p]] += 1

        def complete(ev: simpy.Event) -> None:
            r, kind, d = cast(tuple[int, int, int], ev.value)
            t = env.now
            p = doctor_pool[d]
            if kind == HUB:
                if fu is not None:
                    u = u_next[r]
                    if u < fu.share:
                        if fu.repeat or parent[r] < 0:
                            next_step[r] = 1
                            follow_up(r, t)
                    elif u < fu.share + fu.referral_share:
                        next_step[r] = 2
            elif kind == PHC:
                if tier_of[r] == 2:
                    if esc_delay > 0:
                        at(esc_delay, hub_arrive, r)
                    else:
                        route(r, t)
            else:  # a failed video call
                lost[r] += wasted[r]
                if attempts[r] >= max_att:
                    outcome[r], end[r] = GAVE_UP, t
                else:
                    at(retry_delay, rejoin, r)
            if leaving[p]:
                ot = t - leaving[p].popleft()
                if kind == HUB:
                    overtime[r] = ot
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
                    heap = queues[q]
                    stale[q] = 0
                    for item in heap:
                        r = item[4]
                        in_queue[r] = -1
                        if deadline[r] < t:
                            outcome[r], end[r] = ABANDONED, deadline[r]
                        else:
                            outcome[r], end[r] = DROPPED, t
                            routed[r] = queue_hub[q]
                    heap.clear()

        def join(q: int, r: int, t: float, booked: int) -> None:
            """Request ``r`` joins queue ``q`` at ``t``: a free doctor takes it at once."""
            if q_idle[q]:
                pools = queue_pools[q]
                if len(pools) == 1:
                    p = pools[0]
                else:
                    h = district_hub[district_of[r]]
                    p = max(pools, key=lambda x: (pool_hub[x] == h and len(idle[x]) > 0,
                                                  len(idle[x])))
                q_idle[q] -= 1
                begin(r, idle[p].pop(), p, t)
            elif drop_at_close and q_on[q] == 0:
                outcome[r], end[r] = DROPPED, t
                routed[r] = queue_hub[q]
            else:
                heappush(queues[q], (prio[r], 1 - booked, t, next(seq), r))
                routed[r] = queue_hub[q]
                if track[q]:
                    in_queue[r] = q
                    if deadline[r] < horizon:  # it may renege within the run
                        heappush(expiry[q], (deadline[r], r))

        pool_tls = [self.duty[(pool_hub[p], self.pool_spec[p])] if p < n_hub_pools
                    else self.queue_timeline[pool_queue[p]] for p in range(n_pools)]
        for p, tl in enumerate(pool_tls):
            if tl.levels[0]:
                roster_change(p, int(tl.levels[0]))
        schedule_rosters(env, pool_tls, roster_change)

        opens = []
        for tl in self.queue_timeline:
            up = np.flatnonzero(tl.levels > 0)
            opens.append((tl.times[up], tl.levels[up]))
        mean_consult = self.mean_consult

        slots = (SlotBook(sc, self.rostered, self.queue_hub, self.queue_spec)
                 if booking is not None else None)
        def expected_wait(q: int, t: float, ch: int = -1) -> float:
            """Expected wait in queue ``q`` for a request joining at ``t``.

            As on the plain path, requests that reneged but are still queued (lazy
            deletion) are marked abandoned here and not counted.
            """
            ex = expiry[q]
            while ex and ex[0][0] < t:
                dl, y = heappop(ex)
                if in_queue[y] == q and deadline[y] == dl and outcome[y] != ABANDONED:
                    outcome[y] = ABANDONED
                    end[y] = dl
                    stale[q] += 1
            if slots is not None and slots.books(q, ch):  # its wait is the access delay
                return slots.delay(q, t)
            if q_idle[q]:
                return 0.0
            work = (len(queues[q]) - stale[q] + 1) * mean_consult[self.queue_spec[q]]
            if q_on[q] > 0:
                return work / q_on[q]
            ot, ol = opens[q]
            k = int(np.searchsorted(ot, t, side="right"))
            if k >= len(ot):
                return math.inf
            return (ot[k] - t) + work / ol[k]

        def least_wait(cands: list[int], t: float, ch: int) -> int:
            best, best_w = cands[0], math.inf
            for q in cands:
                w = expected_wait(q, t, ch)
                if w < best_w:
                    best, best_w = q, w
            return best

        home_queue = self.home_queue
        spec_queues = self.spec_queues
        self.slot_table = {}

        def route(r: int, t: float) -> None:
            """Request ``r`` reaches the specialist tier at ``t``: pick its queue, join or book."""
            s = spec_of[r]
            if policy == "home_hub" or policy == "pooled":
                q = home_queue[(district_of[r], s)]
            elif policy == "least_wait":
                home = home_queue.get((district_of[r], s))
                q = least_wait(([home] if home is not None else []) + spec_queues[s], t,
                               chan_of[r])
            else:  # overflow
                home = home_queue.get((district_of[r], s))
                if home is not None and expected_wait(home, t, chan_of[r]) <= threshold:
                    q = home
                else:
                    q = least_wait(([home] if home is not None else []) + spec_queues[s], t,
                                   chan_of[r])
            q_of[r] = q
            if slots is not None and slots.books(q, chan_of[r]):
                ts = slots.book(q, t)
                routed[r] = queue_hub[q]
                if ts is None:
                    outcome[r], end[r] = TURNED_AWAY, t
                elif ts == math.inf:
                    pass  # its slot would lie beyond the run: left unserved
                else:
                    slot[r] = ts
                    at(ts - env.now, at_slot, r)
                return
            queued[r] = t
            deadline[r] = t + pat[r]
            join(q, r, t, 0)

        def at_slot(r: int) -> None:
            t = env.now
            if u_noshow[r] < noshow_p[chan_of[r]]:
                outcome[r], end[r] = NO_SHOW, t
                return
            queued[r] = t
            deadline[r] = t + pat[r]
            join(q_of[r], r, t, 1)

        def hub_arrive(r: int) -> None:
            route(r, env.now)

        def rejoin(r: int) -> None:
            join(q_of[r], r, env.now, 0 if math.isnan(slot[r]) else 1)

        def arrive(r: int, t: float) -> None:
            if (tier is not None and parent[r] < 0 and chan_of[r] == 0
                    and stype_of[r] in tier_types and district_of[r] in self.phc_queue):
                deadline[r] = t + pat[r]
                tier_of[r] = 1
                join(self.phc_queue[district_of[r]], r, t, 0)
            else:
                route(r, t)

        fu_rng = streams("followup/draws") if fu is not None else None
        spec_list = list(sc.specialties.values())
        class_pat = ([c.patience for c in sc.priorities.classes] if sc.priorities
                     else [None])

        def follow_up(r: int, t: float) -> None:
            """Append a follow-up request of ``r`` arriving after the drawn delay."""
            assert fu is not None and fu.delay is not None and fu_rng is not None
            ta = next_open(t + float(fu.delay.sample(fu_rng, 1)[0]),
                           self._source_hours(chan_of[r], district_of[r]), sc.calendar)
            if ta >= horizon:
                return
            f = len(times)
            for col in columns:
                col.append(col[r])
            times[f] = ta
            consult[f] = float(spec_list[spec_of[r]].consult.sample(fu_rng, 1)[0])
            pdist = class_pat[prio[r]] or sc.queue.patience
            pat[f] = math.inf if pdist is None else float(pdist.sample(fu_rng, 1)[0])
            deadline[f], start[f], end[f], overtime[f] = math.inf, nan, nan, 0.0
            outcome[f], doctor[f], routed[f], tier_of[f] = UNSERVED, -1, -1, 0
            phc_start[f] = phc_end[f] = queued[f] = slot[f] = nan
            attempts[f], lost[f], parent[f], next_step[f], q_of[f] = 0, 0.0, r, 0, -1
            in_queue[f] = -1
            if has_booking:
                u_noshow.append(float(fu_rng.random()))
            if has_fail:
                u_fail.extend(fu_rng.random(max_att).tolist())
                fail_p.append(fail_p[r])
                wasted.append(wasted[r])
            u_next.append(float(fu_rng.random()))
            at(ta - env.now, lambda f: arrive(f, times[f]), f)

        peek, step = env.peek, env.step
        for r in range(n0):
            t = times[r]
            while peek() <= t:
                step()
            arrive(r, t)
        while peek() <= horizon:
            step()
        for heap in queues:
            for item in heap:
                r = item[4]
                if deadline[r] <= horizon:
                    outcome[r], end[r] = ABANDONED, deadline[r]
        if slots is not None:
            self.slot_table = slots.table()

        n = len(times)
        arrival = np.asarray(times)
        records = Records(
            id=np.arange(n, dtype=np.int64),
            channel=np.asarray(chan_of, dtype=np.int8),
            spoke=np.asarray(spoke_of, dtype=np.int32),
            spoke_type=np.asarray(stype_of, dtype=np.int8),
            district=np.asarray(district_of, dtype=np.int16),
            specialty=np.asarray(spec_of, dtype=np.int16),
            hub=np.asarray(routed, dtype=np.int16),
            doctor=np.asarray(doctor, dtype=np.int32),
            arrival=arrival,
            start=np.asarray(start),
            end=np.asarray(end),
            overtime=np.asarray(overtime),
            outcome=np.asarray(outcome, dtype=np.int8),
            priority=np.asarray(prio, dtype=np.int8),
            tier=np.asarray(tier_of, dtype=np.int8),
            phc_start=np.asarray(phc_start),
            phc_end=np.asarray(phc_end),
            queued=np.asarray(queued),
            slot=np.asarray(slot),
            attempts=np.asarray(attempts, dtype=np.int16),
            lost_min=np.asarray(lost),
            parent=np.asarray(parent, dtype=np.int64),
            next_step=np.asarray(next_step, dtype=np.int8),
        )
        return self._result(records)

    def _source_hours(self, channel: int, district: int) -> Clock:
        """Opening hours of the spokes (or the OPD) a request of this channel comes from."""
        sc = self.scenario
        if channel == 1 and sc.demand.opd is not None and sc.demand.opd.hours is not None:
            return sc.demand.opd.hours
        return sc.spokes.districts[district].hours or sc.spokes.hours



REALISM_SECTIONS: tuple[str, ...] = ("booking", "failures", "phc_tier", "followups",
                                     "priorities")
"""Scenario sections that need the second engine path (absence only thins rosters)."""


def schedule_rosters(env: simpy.Environment, timelines: list[DutyTimeline],
                     change: Callable[[int, int], Any]) -> None:
    """Call ``change(pool, level)`` at every duty change of every pool's timeline.

    The changes of all pools are merged into one list ordered by time, then pool, and one
    SimPy event is scheduled at a time (the next when it fires), instead of one event per
    change up front (13,020 in the Himachal year: about 20 bytes per request of heap and
    event objects, and their building time). The order is the one those up-front events
    had: at one moment, pools in index order; and before any consult ending at that moment,
    which they had by their lower event ids and this event has by ``URGENT`` priority.
    Duty times are whole minutes, so ``now + (t - now)`` lands exactly on ``t``.
    """
    parts = [(tl.times[1:], np.full(len(tl.times) - 1, p), tl.levels[1:])
             for p, tl in enumerate(timelines) if len(tl.times) > 1]  # a 24/7 level: none
    if not parts:
        return
    times, pools, levels = (np.concatenate(c) for c in zip(*parts, strict=True))
    order = np.lexsort((pools, times))
    at, pool, level = times[order].tolist(), pools[order].tolist(), levels[order].tolist()
    n, k = len(at), 0

    def fire(_ev: simpy.Event) -> None:
        nonlocal k
        t = at[k]
        while k < n and at[k] == t:
            change(pool[k], level[k])
            k += 1
        if k < n:
            later(at[k])

    def later(t: float) -> None:
        ev = simpy.Event(env)
        ev._ok, ev._value = True, None
        ev.callbacks.append(fire)
        env.schedule(ev, URGENT, t - env.now)

    later(at[0])


def uses_realism(scenario: Scenario) -> bool:
    """Whether the scenario switches on any mechanism of the second engine path."""
    return any(getattr(scenario, k) is not None for k in REALISM_SECTIONS)


def plain_columns(arrival: np.ndarray, outcome: np.ndarray) -> dict[str, np.ndarray]:
    """The optional-mechanism columns of a run that used none of them.

    Constant columns are read-only zero-stride views of one value each (records are never
    written to) and ``queued`` is ``arrival`` itself, so the plain path pays about two
    bytes a request for them (``attempts``), not 53.
    """
    n = len(arrival)

    def const(value: float, dtype: type) -> np.ndarray:  # np.broadcast_to, without its checks
        view = np.ndarray((n,), dtype, np.asarray(value, dtype=dtype), 0, (0,))
        view.flags.writeable = False
        return view

    return {
        "priority": const(0, np.int8),
        "tier": const(0, np.int8),
        "phc_start": const(np.nan, np.float64),
        "phc_end": const(np.nan, np.float64),
        "queued": arrival,
        "slot": const(np.nan, np.float64),
        "attempts": (outcome == SERVED).astype(NEW_DTYPES["attempts"]),
        "lost_min": const(0.0, np.float64),
        "parent": const(-1, NEW_DTYPES["parent"]),
        "next_step": const(0, np.int8),
    }


def connectivity_table(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Failure probability and wasted minutes by [district, spoke type].

    A district entry overrides a spoke-type entry, which overrides the default.
    """
    f = scenario.failures
    assert f is not None
    nd, nt = len(scenario.spokes.districts), len(SPOKE_TYPES)
    prob, waste = np.empty((nd, nt)), np.empty((nd, nt))
    for i, name in enumerate(scenario.district_names):
        for j, st in enumerate(SPOKE_TYPES):
            c = f.districts.get(name) or f.spoke_types.get(st) or f.default  # type: ignore[call-overload]
            prob[i, j], waste[i, j] = c.fail_prob, c.wasted_min
    return prob, waste


def next_open(t: float, hours: Clock, cal: Calendar) -> float:
    """The first moment at or after ``t`` when ``hours`` are open (inf if none in horizon)."""
    day = int(t // DAY)
    for d in range(max(day, 0), cal.horizon_days):
        if cal.is_holiday(d) or cal.weekday_of(d) not in hours.weekdays:
            continue
        lo, hi = d * DAY + hours.start, d * DAY + hours.end
        if t < lo:
            return lo
        if t < hi:
            return t
    return math.inf


class SlotBook:
    """The appointment slots of every clinic queue and which are booked.

    Slots come from the *rostered* duty (bookings are made before anyone knows who will be
    absent): each constant-level stretch of on-duty time is cut into ``slot_min`` slots,
    one bookable unit per doctor on duty. A session (a maximal on-duty stretch) holds back
    its last ``floor(same_day_share * units)`` units for requests made that day and adds
    ``overbook_per_session`` extra units spread over its slots. The earliest free unit at
    or after a request is found with a "next free" pointer array (union-find).
    """

    def __init__(self, scenario: Scenario, rostered: dict[tuple[int, int], DutyTimeline],
                 queue_hub: list[int], queue_spec: list[int]):
        assert scenario.booking is not None
        self.horizon = scenario.horizon_min
        self.clinic: dict[int, tuple[float, frozenset[int], list[Any], list[Any]]] = {}
        self.pool_of: dict[int, tuple[int, int]] = {}
        hub_index = {h: i for i, h in enumerate(scenario.hub_ids)}
        spec_index = {s: i for i, s in enumerate(scenario.specialty_names)}
        for c in scenario.booking.clinics:
            key = (hub_index[c.hub], spec_index[c.specialty])
            q = next(i for i, (h, s) in enumerate(zip(queue_hub, queue_spec, strict=False))
                     if (h, s) == key)
            general, held, extra = self._units(rostered[key], self.horizon, c.slot_min,
                                               c.same_day_share, c.overbook_per_session)
            chans = frozenset(CHANNELS.index(ch) for ch in c.channels)
            self.clinic[q] = (c.horizon_days * DAY, chans, self._store(general, extra),
                              self._store(held, [False] * len(held)))
            self.pool_of[q] = key

    @staticmethod
    def _units(tl: DutyTimeline, horizon: float, length: float, share: float, overbook: int,
               ) -> tuple[list[float], list[float], list[bool]]:
        ends = [*tl.times[1:].tolist(), horizon]
        general: list[tuple[float, bool]] = []
        held: list[float] = []
        session: list[float] = []
        starts: list[float] = []

        def close() -> None:
            h = int(math.floor(share * len(session) + 1e-9))
            general.extend((t, False) for t in session[:len(session) - h])
            held.extend(session[len(session) - h:])
            if starts and overbook:
                general.extend((starts[(j * len(starts)) // overbook], True)
                               for j in range(overbook))
            session.clear()
            starts.clear()

        for a, b, level in zip(tl.times.tolist(), ends, tl.levels.tolist(), strict=True):
            if level <= 0:
                close()
                continue
            k = int((b - a) / length + 1e-9)
            for i in range(k):
                starts.append(a + i * length)
                session.extend([a + i * length] * level)
        close()
        general.sort()
        return [t for t, _ in general], held, [x for _, x in general]

    @staticmethod
    def _store(times: list[float], extra: list[bool]) -> list[Any]:
        # [times (np), next-free pointers (with a sentinel), booked flags, overbook flags]
        return [np.asarray(times, dtype=float), list(range(len(times) + 1)),
                [False] * len(times), extra]

    def books(self, q: int, channel: int) -> bool:
        """Whether requests of ``channel`` to queue ``q`` book an appointment."""
        c = self.clinic.get(q)
        return c is not None and channel in c[1]

    @staticmethod
    def _free(store: list[Any], t: float) -> int:
        nxt = store[1]
        i = root = int(np.searchsorted(store[0], t, side="left"))
        while nxt[root] != root:
            root = nxt[root]
        while nxt[i] != root:
            nxt[i], i = root, nxt[i]
        return root

    def _earliest(self, q: int, t: float) -> tuple[float, list[Any], int]:
        """The earliest free unit a request made at ``t`` may book: (time, store, index)."""
        _, _, gen, held = self.clinic[q]
        g = self._free(gen, t)
        best, store = (float(gen[0][g]), gen) if g < len(gen[0]) else (math.inf, gen)
        j = g
        if len(held[0]):
            h = self._free(held, t)
            if h < len(held[0]) and held[0][h] < (t // DAY + 1) * DAY and held[0][h] < best:
                best, store, j = float(held[0][h]), held, h
        return best, store, j

    def delay(self, q: int, t: float) -> float:
        """Minutes from ``t`` to the slot a request would book now (inf if none in horizon)."""
        best = self._earliest(q, t)[0]
        return best - t if best <= t + self.clinic[q][0] else math.inf

    def book(self, q: int, t: float) -> float | None:
        """Book the earliest free slot of queue ``q`` at or after ``t``.

        None if no slot is free within the booking horizon; inf if none is free before the
        run ends but the booking horizon reaches past it (the request's fate is unknown).
        """
        horizon = self.clinic[q][0]
        best, store, j = self._earliest(q, t)
        if best > t + horizon or best >= self.horizon:
            return math.inf if t + horizon > self.horizon and best >= self.horizon else None
        store[2][j] = True
        store[1][j] = j + 1
        return best

    def table(self) -> dict[str, np.ndarray]:
        """One row per slot unit: hub, specialty, time, held back, overbooked, booked."""
        parts = []
        for q, (_, _, gen, held) in sorted(self.clinic.items()):
            h, s = self.pool_of[q]
            for store, is_held in ((gen, False), (held, True)):
                m = len(store[0])
                parts.append((np.full(m, h, dtype=np.int16), np.full(m, s, dtype=np.int16),
                              store[0], np.full(m, is_held),
                              np.asarray(store[3], dtype=bool), np.asarray(store[2], dtype=bool)))
        cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
        return dict(zip(("hub", "specialty", "time", "held", "overbook", "booked"), cols,
                        strict=True))


def simulate(scenario: Scenario, seed: SeedLike = None) -> RunResult:
    """Run ``scenario`` once with ``seed`` (default: the scenario's own seed)."""
    return Model(scenario, seed).run()
