"""Appointment booking: a request to a clinic's queue books a slot and joins at it.

Slots come from the rostered duty; a booked request may not show up; booked requests are
served before tokens.
"""

from __future__ import annotations

import bisect
import math
from array import array
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine.mechanisms.base import Mechanism
from sim.engine.records import NO_SHOW, TURNED_AWAY
from sim.engine.roster import DAY, DutyTimeline
from sim.engine.streams import drawn, uniform
from sim.scenario.schema import Scenario
from sim.scenario.types import CHANNELS

if TYPE_CHECKING:
    from sim.engine.loop import Engine
    from sim.engine.model import Model


class Booking(Mechanism):
    """Slots from the rostered duty (``SlotBook``); no-shows drawn per request."""

    section = "booking"
    calls_later = True

    def __init__(self, model: Model):
        super().__init__(model)
        b = self.sc.booking
        assert b is not None
        self.rostered = model.rostered
        # an array, not a list: only the booked requests read it
        self.u_noshow = array("d", model.streams("noshow").random(len(model.arrivals)).tobytes())
        self.noshow_p = [b.no_show.get(ch, 0.0) for ch in CHANNELS]  # type: ignore[call-overload]
        self.follow_up_u = drawn(model.streams("followup/noshow"), uniform)

    def install(self, eng: Engine) -> None:
        """The slots, the booking and waiting hooks, the slot column."""
        self.eng = eng
        net = eng.net
        self.slots = SlotBook(self.sc, self.rostered, net.queue_hub, net.queue_spec)
        self.slot = eng.slot = array("d", [math.nan]) * eng.n
        eng.slot_queues = set(self.slots.clinic)
        self.channels = {q: c[1] for q, c in self.slots.clinic.items()}  # the channels that book
        self.queue_hub = net.queue_hub
        self.q_of = [-1] * eng.n
        self.queued = eng.track_queued()
        eng.book = [self.book if q in self.slots.clinic else None
                    for q in range(len(net.queue_pools))]
        eng.booked_wait = [self.wait if q in self.slots.clinic else None
                           for q in range(len(net.queue_pools))]

    def wait(self, q: int, r: int, t: float) -> float | None:
        """The expected wait in a booking queue: the delay to the slot (None: not booked)."""
        if self.eng.chan[r] in self.channels[q]:
            return self.slots.delay(q, t)
        return None

    def book(self, q: int, r: int, t: float) -> bool:
        """Request ``r`` routed to ``q`` at ``t`` books a slot there (True), if ``q`` books."""
        eng = self.eng
        if eng.chan[r] not in self.channels[q]:
            return False
        self.q_of[r] = q
        ts = self.slots.book(q, t)
        eng.routed[r] = self.queue_hub[q]
        self.queued[r] = math.nan  # it joins the queue at its slot
        if ts is None:
            eng.outcome[r], eng.end[r] = TURNED_AWAY, t
        elif ts == math.inf:
            pass  # its slot would lie beyond the run: left unserved
        else:
            self.slot[r] = ts
            eng.at(ts, self.at_slot, r)
        return True

    def at_slot(self, r: int, t: float) -> None:
        """The booked slot has come (``t``): the request joins its queue, or does not show up."""
        eng = self.eng
        if self.u_noshow[r] < self.noshow_p[eng.chan[r]]:
            eng.outcome[r], eng.end[r] = NO_SHOW, t
            return
        self.queued[r] = t
        eng.deadline[r] = t + eng.pat[r]
        eng.join(self.q_of[r], r, t)

    def grow(self, f: int, r: int) -> None:
        """A follow-up books afresh; its no-show is drawn now."""
        self.u_noshow.append(self.follow_up_u())
        self.slot.append(math.nan)
        self.q_of.append(-1)

    def columns(self) -> dict[str, np.ndarray]:
        """``slot``."""
        return {"slot": np.frombuffer(self.slot, dtype=np.float64)}

    def tables(self) -> dict[str, dict[str, np.ndarray]]:
        """``slots``: every slot offered and whether it was booked."""
        table = self.slots.table()
        return {"slots": table} if table else {}


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
                              self._store(held, np.zeros(len(held), bool)))
            self.pool_of[q] = key

    @staticmethod
    def _units(tl: DutyTimeline, horizon: float, length: float, share: float, overbook: int,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A clinic's units: general times, held-back times, overbooked flags of general.

        Each on-duty stretch of the timeline gives ``k`` whole slots, each ``level``
        units; consecutive on-duty stretches make one session, whose last units are held.
        """
        ends = np.append(tl.times[1:], horizon)
        on = tl.levels > 0
        session = np.cumsum(~on)  # the session each stretch belongs to (if on duty)
        k = np.where(on, np.maximum(np.trunc((ends - tl.times) / length + 1e-9), 0), 0)
        k = k.astype(np.int64)
        slot = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)  # index in its stretch
        starts = np.repeat(tl.times, k) + slot * length
        slot_session = np.repeat(session, k)
        units = np.repeat(starts, np.repeat(tl.levels, k))
        unit_session = np.repeat(slot_session, np.repeat(tl.levels, k))
        # the last floor(share * units) units of each session are held back
        _, first, count = np.unique(unit_session, return_index=True, return_counts=True)
        held_n = np.floor(share * count + 1e-9).astype(np.int64)
        rank = np.arange(len(units)) - np.repeat(first, count)
        held = rank >= np.repeat(count - held_n, count)
        # overbooked units: ``overbook`` more per session, spread over its slots
        _, s_first, s_count = np.unique(slot_session, return_index=True, return_counts=True)
        j = np.tile(np.arange(overbook), len(s_first))
        extra = starts[np.repeat(s_first, overbook)
                       + (j * np.repeat(s_count, overbook)) // max(overbook, 1)]
        times = np.concatenate([units[~held], extra])
        flags = np.concatenate([np.zeros(int((~held).sum()), bool), np.ones(len(extra), bool)])
        order = np.lexsort((flags, times))
        return times[order], units[held], flags[order]

    @staticmethod
    def _store(times: np.ndarray, extra: np.ndarray) -> list[Any]:
        # [times, next-free pointers (with a sentinel), booked flags, and for the table:
        # times and overbook flags as arrays]
        return [times.tolist(), list(range(len(times) + 1)), bytearray(len(times)),
                times, extra]

    @staticmethod
    def _free(store: list[Any], i: int) -> int:
        """The first free unit at or after unit ``i`` (with path compression)."""
        nxt = store[1]
        root = i
        while nxt[root] != root:
            root = nxt[root]
        while nxt[i] != root:
            nxt[i], i = root, nxt[i]
        return root

    def _earliest(self, q: int, t: float) -> tuple[float, list[Any], int]:
        """The earliest free unit a request made at ``t`` may book: (time, store, index).

        A held unit only if it is today and sooner than the first general one; the held
        units are searched only if the first one at or after ``t`` is.
        """
        _, _, gen, held = self.clinic[q]
        g = self._free(gen, bisect.bisect_left(gen[0], t))
        best = gen[0][g] if g < len(gen[0]) else math.inf
        times = held[0]
        h = bisect.bisect_left(times, t)
        if h < len(times):
            day_end = (t // DAY + 1) * DAY
            limit = best if best < day_end else day_end
            if times[h] < limit:
                h = self._free(held, h)
                if h < len(times) and times[h] < limit:
                    return times[h], held, h
        return best, gen, g

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
                              store[3], np.full(m, is_held), store[4],
                              np.frombuffer(store[2], dtype=bool)))
        cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
        return dict(zip(("hub", "specialty", "time", "held", "overbook", "booked"), cols,
                        strict=True))
