"""The engine loop: one run of requests through the network's queues, timed by SimPy.

SimPy's event queue drives time: consult completions and roster changes are SimPy events
with plain callbacks (no process per patient), and the pre-drawn, time-sorted arrivals are
merged with that queue as the run advances (events first on a tie). What a mechanism
schedules for later (a booked slot, a retried call, a follow-up's arrival: ``at``) waits
on a third, time-ordered heap of pending calls merged in the same way: at one time,
SimPy's events come first, then the pending calls (in the order they were made), then
the drawn arrival. Each doctor owns one reusable completion event (a doctor does one
thing at a time). Reneging is lazy: a request's deadline is checked when a doctor reaches
it, so patience costs no events; routing that estimates waits (``least_wait``,
``overflow``) also keeps each queue's deadlines on a heap, so that a request that has
reneged but is still queued is not counted. A consult still running when a doctor's
session ends is finished and its overrun recorded as overtime.

Optional mechanisms (``sim.engine.mechanisms``) plug into the loop at a few points, each
``None`` unless a mechanism fills it, so a run pays only for what its scenario uses:

- ``entry``: a column, the queue each drawn arrival joins first instead of its
  specialist queue (-1: none; the PHC tier);
- ``book[q](q, r, t)``: a request routed to queue ``q`` books a slot instead of joining
  (True if it did);
- ``booked_wait[q](q, r, t)``: the expected wait in a booking queue (its access delay;
  None if this request does not book);
- ``begin[p](r, d, p, t)``: doctor ``d`` of pool ``p`` takes ``r`` (a PHC consult, a video
  call that may fail); True if handled, False for an ordinary consult. If
  ``begin_for[p]`` is a column, only the requests it flags are handed to the hook (the
  few whose first call fails), the others go straight to an ordinary consult;
- ``after_consult(r, t)``: hub consult ``r`` has ended at ``t`` (follow-ups); called
  before the doctor moves on, and only for the requests ``after_for`` flags;
- ``prio``, ``slot``: columns by which the queues serve (priority class, then booked
  before token, then first come), instead of first come alone: every queue by class,
  the ``slot_queues`` by slot (the others stay first come, first served);
- ``grow_hooks``: called for each request added during the run (follow-ups);
- ``later``: whether a mechanism makes calls for later (``at``), so that the loop merges
  them in (booked slots, retried calls, follow-up arrivals, escalations after a delay).
"""

from __future__ import annotations

import heapq
import itertools
import math
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT

from sim.engine.demand import Arrivals
from sim.engine.network import Network
from sim.engine.records import ABANDONED, DROPPED, SERVED, UNSERVED
from sim.engine.roster import DutyTimeline
from sim.scenario.schema import Scenario


class Consult(simpy.Event):
    """One doctor's completion event, reused for every consult (or call) of that doctor.

    The engine (and a mechanism that holds a doctor) sets ``_value`` to the request,
    ``callbacks`` to a shared one-callback list and ``at`` to the completion time, and
    schedules it with ``env.schedule`` (as ``Timeout`` does, without building an object
    per consult); ``env.step`` clears ``callbacks`` when it fires. The doctor's pool, queue
    and hub ride along so that the callback looks nothing up.
    """

    _ok = True

    def __init__(self, env: simpy.Environment, doctor: int, pool: int, q: int,
                 queue: Any, hub: int):
        self.env = env
        self.callbacks = None  # type: ignore[assignment]  # not scheduled yet
        self._value = None
        self.at = 0.0  # the time it is scheduled for (env.now when it fires)
        self.doctor, self.pool, self.q, self.queue, self.hub = doctor, pool, q, queue, hub

    def hold(self, r: int, end: float, callbacks: list[Callable[[Any], None]]) -> None:
        """The doctor is busy with ``r`` until ``end``, then ``callbacks`` run.

        For mechanisms; the loop's own consults set the same fields inline.
        """
        self.callbacks, self._value = callbacks, r
        now = self.env.now
        self.at = now + (end - now)
        self.env.schedule(self, NORMAL, end - now)


class OrderedQueue:
    """A queue served by (priority class, booked before token, order of joining).

    The deque operations the loop uses (``append``, ``popleft``, ``len``, iteration).
    Requests join in time order, so the order of joining stands for the join time.
    """

    def __init__(self, prio: Any, slot: Any, seq: Iterator[int]):
        self.heap: list[tuple[int, int, int, int]] = []
        self.prio, self.slot, self.seq = prio, slot, seq

    def append(self, r: int) -> None:
        """Request ``r`` joins (behind its class and, if booked, behind the booked)."""
        booked = self.slot is not None and not math.isnan(self.slot[r])
        cls = 0 if self.prio is None else self.prio[r]
        heapq.heappush(self.heap, (cls, 0 if booked else 1, next(self.seq), r))

    def popleft(self) -> int:
        """The request served next."""
        return heapq.heappop(self.heap)[3]

    def __len__(self) -> int:
        return len(self.heap)

    def __iter__(self) -> Iterator[int]:
        return (item[3] for item in self.heap)


DTYPES = {"d": np.float64, "b": np.int8, "h": np.int16, "i": np.int32, "q": np.int64}
"""The numpy dtype of each ``array`` type code the engine uses."""


def column(x: np.ndarray, code: str, growable: bool) -> Any:
    """An indexable column of ``x``: a memoryview, or an ``array`` when rows are added."""
    a = np.ascontiguousarray(x, dtype=DTYPES[code])
    if growable:
        out = array(code)
        out.frombytes(a.tobytes())
        return out
    return memoryview(a)  # type: ignore[arg-type]


class Engine:
    """One run's state (request columns, queues, doctors) and the loop that advances it.

    Mechanisms read and write the columns and call ``join``, ``route``, ``arrive``,
    ``release`` and ``at`` (a call for later, ``at(t, fn, r)``: ``fn(r, t)`` at time ``t``);
    all are set by ``run``.
    """

    def __init__(self, scenario: Scenario, net: Network, arrivals: Arrivals,
                 patience: np.ndarray, growable: bool):
        self.sc, self.net = scenario, net
        self.n = n = len(arrivals)
        self.n0 = n
        self.growable = growable  # whether requests are added during the run
        self.tm = column(arrivals.time, "d", growable)
        self.cons = column(arrivals.consult, "d", growable)
        self.pat = column(patience, "d", growable)
        self.deadline = column(arrivals.time + patience, "d", growable)
        self.dist = column(arrivals.district, "h", growable)
        self.spc = column(arrivals.specialty, "h", growable)
        self.chan = column(arrivals.channel, "b", growable)
        self.spoke = column(arrivals.spoke, "i", growable)
        self.stype = column(arrivals.spoke_type, "b", growable)
        nan = math.nan
        self.start = array("d", [nan]) * n
        self.end = array("d", [nan]) * n
        self.overtime = array("d", [0.0]) * n
        self.outcome = array("b", [UNSERVED]) * n
        self.doctor = array("i", [-1]) * n
        self.routed = array("h", [-1]) * n
        self.homes: Any = None  # the home queue of every arrival (home_hub, pooled)
        self.queued: Any = None  # a copy of the arrival times, when a mechanism moves it
        self.in_queue: Any = None  # the queue a request waits in (routing by expected wait)
        self.env = simpy.Environment()
        # hooks (see the module docstring)
        self.entry: Any = None  # int32 memoryview over the drawn arrivals, or None
        self.book: list[Callable[[int, int, float], bool] | None] | None = None
        self.booked_wait: list[Callable[[int, int, float], float | None] | None] | None = None
        self.begin: list[Callable[[int, int, int, float], bool] | None] = (
            [None] * len(net.pool_hub))
        self.begin_for: list[Any] = [None] * len(net.pool_hub)
        self.after_consult: Callable[[int, float], None] | None = None
        self.after_for: Any = None  # flags by request: whose consult's end calls after_consult
        self.prio: Any = None  # priority class per request (None: all one class)
        self.slot: Any = None  # booked slot per request (None: no booking)
        self.slot_queues: set[int] = set()  # the queues in which booked requests go first
        self.general = False  # ordered queues and the general arrival path, needed or not
        self.grow_hooks: list[Callable[[int, int], None]] = []
        self.later = False  # whether a mechanism makes calls for later (else none are merged)

    def track_queued(self) -> Any:
        """The ``queued`` column (join time of the specialist queue), made on first use."""
        if self.queued is None:
            self.queued = column(np.frombuffer(self.tm, dtype=np.float64), "d", True)
        return self.queued

    def add_request(self, r: int, time: float, consult: float, patience: float) -> int:
        """Append a new request like ``r`` (same source and specialty); returns its id."""
        f = self.n
        self.n += 1
        self.tm.append(time)
        self.cons.append(consult)
        self.pat.append(patience)
        self.deadline.append(time + patience)
        self.dist.append(self.dist[r])
        self.spc.append(self.spc[r])
        self.chan.append(self.chan[r])
        self.spoke.append(self.spoke[r])
        self.stype.append(self.stype[r])
        self.start.append(math.nan)
        self.end.append(math.nan)
        self.overtime.append(0.0)
        self.outcome.append(UNSERVED)
        self.doctor.append(-1)
        self.routed.append(-1)
        if self.queued is not None:
            self.queued.append(time)
        if self.in_queue is not None:
            self.in_queue.append(-1)
        for grow in self.grow_hooks:
            grow(f, r)
        return f

    def run(self) -> None:  # noqa: C901 - one loop, kept flat for speed
        """Simulate the whole horizon once, filling the columns."""
        sc, net, env = self.sc, self.net, self.env
        n0 = self.n
        horizon = sc.horizon_min
        drop_at_close = sc.queue.session_end == "drop"
        policy = sc.routing.policy
        simple = policy in ("home_hub", "pooled")
        threshold = sc.routing.overflow_threshold_min

        tm, cons, pat, deadline = self.tm, self.cons, self.pat, self.deadline
        dist, spc = self.dist, self.spc
        start, end, overtime, outcome = self.start, self.end, self.overtime, self.outcome
        doctor, routed = self.doctor, self.routed
        entry, booked_wait = self.entry, self.booked_wait
        booking = self.book is not None
        book = self.book if self.book is not None else []  # the hooks by queue
        after_consult, after_for = self.after_consult, self.after_for
        begin, begin_for = self.begin, self.begin_for
        hooked = any(b is not None for b in begin)
        general = self.general  # every arrival through ``arrive``

        n_pools = len(net.pool_hub)
        n_queues = len(net.queue_pools)
        queues: list[Any]
        every = self.prio is not None or self.general  # queues that serve out of turn
        ordered = set(range(n_queues)) if every else self.slot_queues
        seq = itertools.count()
        queues = [OrderedQueue(self.prio, self.slot, seq) if q in ordered else deque()
                  for q in range(n_queues)]
        idle: list[list[int]] = [[] for _ in range(n_pools)]
        off: list[list[int]] = [list(reversed(ids)) for ids in net.pool_doctors]
        leaving: list[deque[float]] = [deque() for _ in range(n_pools)]
        target = [0] * n_pools
        q_idle = [0] * n_queues
        q_on = [0] * n_queues
        stale = [0] * n_queues  # requests in a queue already marked abandoned
        expiry: list[list[tuple[float, int]]] = [[] for _ in range(n_queues)]
        own_queues = {q for q, h in enumerate(net.queue_pools) if net.pool_hub[h[0]] < 0}
        track = [not simple and q not in own_queues for q in range(n_queues)]
        in_queue: Any = None  # the queue each request waits in, for expected waits
        if not simple:
            in_queue = self.in_queue = array("i", [-1]) * n0
        heappush, heappop = heapq.heappush, heapq.heappop
        pool_queue, pool_hub = net.pool_queue, net.pool_hub
        queue_pools, queue_hub = net.queue_pools, net.queue_hub
        district_hub = net.district_hub
        single_pool = [ps[0] if len(ps) == 1 else -1 for ps in queue_pools]
        schedule = env.schedule
        normal = NORMAL

        def complete(ev: Consult) -> None:
            """A consult ends: the doctor leaves (overtime) or takes the next live request."""
            r = ev._value
            t = end[r]
            now = ev.at  # the clock: this event's time, as env.schedule computed it
            if after_consult is not None and after_for[r]:
                after_consult(r, now)
            p = ev.pool
            lv = leaving[p]
            if lv:
                overtime[r] = t - lv.popleft()
                off[p].append(ev.doctor)
                return
            dq = ev.queue
            while dq:
                y = dq.popleft()
                dl = deadline[y]
                if dl < t:
                    if outcome[y] == ABANDONED:  # already counted gone by expected_wait
                        stale[ev.q] -= 1
                    outcome[y] = ABANDONED
                    end[y] = dl
                    continue
                if hooked:
                    h, flags = begin[p], begin_for[p]
                    if h is not None and (flags is None or flags[y]) and h(y, ev.doctor, p, t):
                        return
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
        consults = [Consult(env, d, p, pool_queue[p], queues[pool_queue[p]], pool_hub[p])
                    for d, p in enumerate(net.doctor_pool)]
        self.consults = consults

        def serve(r: int, d: int, p: int, t: float) -> None:
            """Doctor ``d`` of pool ``p`` takes request ``r`` at ``t``."""
            if hooked:
                h, flags = begin[p], begin_for[p]
                if h is not None and (flags is None or flags[r]) and h(r, d, p, t):
                    return
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

        def take_next(d: int, p: int, t: float) -> None:
            """Doctor ``d`` is free at ``t``: serve the next live request or go idle."""
            q = pool_queue[p]
            dq = queues[q]
            while dq:
                r = dq.popleft()
                dl = deadline[r]
                if dl < t:
                    if outcome[r] == ABANDONED:  # already counted gone by expected_wait
                        stale[q] -= 1
                    outcome[r] = ABANDONED
                    end[r] = dl
                    continue
                serve(r, d, p, t)
                return
            idle[p].append(d)
            q_idle[q] += 1

        def release(ev: Consult) -> None:
            """The doctor of ``ev`` is free now (after anything but a hub consult)."""
            p = ev.pool
            if leaving[p]:
                leaving[p].popleft()
                off[p].append(ev.doctor)
                return
            take_next(ev.doctor, p, ev.at)

        def roster_change(p: int, level: int) -> None:
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
                        dl = deadline[r]
                        if dl < t:
                            outcome[r], end[r] = ABANDONED, dl
                        else:
                            outcome[r], end[r] = DROPPED, t
                            routed[r] = queue_hub[q]
                    stale[q] = 0

        for p, tl in enumerate(net.pool_timeline):
            if tl.levels[0]:
                roster_change(p, int(tl.levels[0]))
        schedule_rosters(env, net.pool_timeline, roster_change)

        opens = []  # (times, levels) of each queue's open periods: for expected waits
        for tl in net.queue_timeline if not simple else ():
            up = np.flatnonzero(tl.levels > 0)
            opens.append((tl.times[up], tl.levels[up]))
        mean_consult, queue_spec = net.mean_consult, net.queue_spec

        def expected_wait(q: int, t: float, r: int) -> float:
            """Expected wait in queue ``q`` for request ``r`` joining at ``t``.

            Requests that reneged stay in the queue until a doctor reaches them (lazy
            deletion) and are not counted: ``expiry[q]`` holds the deadlines of the
            queue's requests, and each one past at ``t`` whose request is still waiting
            there is marked abandoned now (as the doctor would mark it) and counted in
            ``stale[q]``.
            """
            ex = expiry[q]
            while ex and ex[0][0] < t:
                dl, y = heappop(ex)
                if outcome[y] == UNSERVED and in_queue[y] == q and deadline[y] == dl:
                    outcome[y] = ABANDONED
                    end[y] = dl
                    stale[q] += 1
            if booked_wait is not None:
                bw = booked_wait[q]
                if bw is not None:
                    w = bw(q, r, t)
                    if w is not None:
                        return w
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

        def least_wait(cands: list[int], t: float, r: int) -> int:
            best, best_w = cands[0], math.inf
            for q in cands:
                w = expected_wait(q, t, r)
                if w < best_w:
                    best, best_w = q, w
            return best

        spec_queues = net.spec_queues
        # the home queue as a flat list indexed by district * n_spec + specialty (-1: none)
        n_spec = len(sc.specialties)
        home_flat = [-1] * (len(district_hub) * n_spec)
        for (di, s), q in net.home_queue.items():
            home_flat[di * n_spec + s] = q

        def choose(r: int, t: float) -> int:
            """The queue request ``r`` joins at ``t`` under the routing policy."""
            home = home_flat[dist[r] * n_spec + spc[r]]
            if simple:
                return home
            cands = ([home] if home >= 0 else []) + spec_queues[spc[r]]
            if policy == "overflow" and home >= 0 and expected_wait(home, t, r) <= threshold:
                return home
            return least_wait(cands, t, r)

        def pick_pool(q: int, r: int) -> int:
            """An idle pool of queue ``q``: the request's home hub first, else the most idle."""
            p = single_pool[q]
            if p >= 0:
                return p
            h = district_hub[dist[r]]

            def rank(x: int) -> tuple[bool, int]:
                return pool_hub[x] == h and len(idle[x]) > 0, len(idle[x])

            return max(queue_pools[q], key=rank)

        def join(q: int, r: int, t: float) -> None:
            """Request ``r`` joins queue ``q`` at ``t``: a free doctor takes it at once."""
            if q_idle[q]:
                p = pick_pool(q, r)
                q_idle[q] -= 1
                serve(r, idle[p].pop(), p, t)
            elif drop_at_close and q_on[q] == 0:
                outcome[r], end[r] = DROPPED, t
                routed[r] = queue_hub[q]
            else:
                queues[q].append(r)
                routed[r] = queue_hub[q]
                if track[q]:
                    in_queue[r] = q
                    if deadline[r] < horizon:  # it may renege within the run
                        heappush(expiry[q], (deadline[r], r))

        queued = self.queued

        def route(r: int, t: float) -> None:
            """Request ``r`` reaches the specialist tier at ``t``: pick its queue, join."""
            q = choose(r, t)
            if booking:
                b = book[q]
                if b is not None and b(q, r, t):
                    return
            if queued is not None:
                queued[r] = t
            deadline[r] = t + pat[r]
            join(q, r, t)

        def arrive(r: int, t: float) -> None:
            """Request ``r`` arrives at ``t``."""
            if entry is not None and r < n0 and entry[r] >= 0:
                join(entry[r], r, t)
            else:
                route(r, t)

        self.join, self.route, self.arrive, self.release = join, route, arrive, release

        peek, step = env.peek, env.step
        later = self.later
        # calls made for later: a heap of (time, order made, function, request)
        pending: list[tuple[float, int, Callable[[int, float], None], int]] = []
        made = itertools.count()
        due = math.inf  # the time of the first pending call (inf: none)

        def at(t: float, fn: Callable[[int, float], None], r: int) -> None:
            """Call ``fn(r, t)`` at time ``t``, not before now.

            A pending call, not a SimPy event: cheaper, and ``fn`` is given the exact time.
            For the mechanisms that say they make such calls (``Mechanism.calls_later``).
            """
            nonlocal due
            assert self.later, "Engine.at needs a mechanism with calls_later = True"
            heappush(pending, (t, next(made), fn, r))
            if t < due:
                due = t

        def advance(t: float) -> float:
            """SimPy's events and the pending calls up to ``t``, merged; then ``peek()``.

            SimPy's events first on a tie; a call is made at its own time (SimPy's clock,
            ``env.now``, stays at the last event, as for the drawn arrivals).
            """
            nonlocal due
            while True:
                nxt = peek()
                if nxt <= t and nxt <= due:
                    step()
                elif due <= t:
                    when, _, fn, y = heappop(pending)
                    due = pending[0][0] if pending else math.inf
                    fn(y, when)
                else:
                    return nxt

        self.at = at

        # ``nxt`` is env.peek(): only env.step's callbacks, pending calls and the arrivals
        # below schedule events, so it is refreshed after each step and ``advance`` and
        # lowered by each arrival's consult (or refreshed after an arrival that a mechanism
        # handled); ``now`` is env.now
        # under home_hub and pooled, each arrival's queue, looked up for all at once
        homes: Any = ()
        if simple:
            key = (np.frombuffer(dist, dtype=np.int16)[:n0].astype(np.int64) * n_spec
                   + np.frombuffer(spc, dtype=np.int16)[:n0])
            first = np.asarray(home_flat, dtype=np.int32)[key]
            if entry is not None:
                e = np.frombuffer(entry, dtype=np.int32)
                first = np.where(e >= 0, e, first)
            homes = self.homes = memoryview(first)
        now = env.now
        nxt = peek()
        for r in range(n0):
            t = tm[r]
            # SimPy's events first, also on a tie (with the arrival or a pending call)
            if later:  # a mechanism's calls for later are merged in
                while nxt <= t and nxt <= due:
                    now = nxt
                    step()
                    nxt = peek()
                if due <= t:  # a call due now or before
                    nxt = advance(t)
                    now = env.now
            else:
                while nxt <= t:
                    now = nxt
                    step()
                    nxt = peek()
            if general:
                arrive(r, t)
                nxt = peek()
                continue
            if simple:
                q = homes[r]  # the entry queue, if any, or the home queue
            elif entry is not None and entry[r] >= 0:
                q = entry[r]
            else:
                q = choose(r, t)
            if booking:  # as ``route`` (deadline already set)
                b = book[q]
                if b is not None and b(q, r, t):
                    nxt = peek()
                    continue
            if q_idle[q]:
                p = single_pool[q]
                if p < 0:
                    p = pick_pool(q, r)
                q_idle[q] -= 1
                d = idle[p].pop()
                if hooked and begin[p] is not None and (begin_for[p] is None or begin_for[p][r]):
                    serve(r, d, p, t)
                    nxt = peek()
                    continue
                start[r] = t
                e = t + cons[r]
                end[r] = e
                doctor[r] = d
                outcome[r] = SERVED
                routed[r] = pool_hub[p]
                cev = consults[d]
                cev.callbacks = on_done
                cev._value = r
                ends = cev.at = now + (e - now)
                schedule(cev, normal, e - now)
                if ends < nxt:
                    nxt = ends
            elif drop_at_close and q_on[q] == 0:
                outcome[r], end[r] = DROPPED, t
                routed[r] = queue_hub[q]
            else:
                queues[q].append(r)
                routed[r] = queue_hub[q]
                if track[q]:
                    in_queue[r] = q
                    dl = deadline[r]
                    if dl < horizon:  # it may renege within the run
                        heappush(expiry[q], (dl, r))
        advance(horizon)
        self.calls_made = next(made)  # calls for later the run made (benchmarks count them)
        for dq in queues:
            for y in dq:
                dl = deadline[y]
                if dl <= horizon:
                    outcome[y], end[y] = ABANDONED, dl

    def release_views(self) -> None:
        """Free the run's views of the input columns.

        Events left past the horizon tie the environment and the loop's closures in a
        cycle that only the garbage collector frees; releasing the views lets the input
        arrays go with the model instead.
        """
        for col in (self.tm, self.cons, self.pat, self.deadline, self.dist, self.spc,
                    self.chan, self.spoke, self.stype, self.homes):
            if isinstance(col, memoryview):
                col.release()


def schedule_rosters(env: simpy.Environment, timelines: list[DutyTimeline],
                     change: Callable[[int, int], Any]) -> None:
    """Call ``change(pool, level)`` at every duty change of every pool's timeline.

    The changes of all pools are merged into one list ordered by time, then pool, and one
    SimPy event is scheduled at a time (the next when it fires), instead of one event per
    change up front (13,020 in the Himachal year). At one moment, pools go in index
    order, and before any consult ending at that moment (``URGENT`` priority). Duty times
    are whole minutes, so ``now + (t - now)`` lands exactly on ``t``.
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
