"""The PHC tier: sub-centre requests first see their district's PHC medical officers.

The MOs resolve a share and escalate the rest to the specialist hubs.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine.mechanisms.base import Mechanism
from sim.engine.records import SERVED
from sim.engine.roster import DutyTimeline, clock_timeline
from sim.scenario.types import SPOKE_TYPES

if TYPE_CHECKING:
    from sim.engine.loop import Consult, Engine
    from sim.engine.model import Model
    from sim.engine.network import Network


class PhcTier(Mechanism):
    """One PHC MO pool and queue per district (after the hub pools), with its own hours."""

    section = "phc_tier"
    calls_later = True

    def __init__(self, model: Model):
        super().__init__(model)
        tier = self.sc.phc_tier
        assert tier is not None
        arr = model.arrivals
        n = len(arr)
        self.u_esc = model.streams("escalation").random(n).tolist()
        self.phc_len = tier.consult.sample(model.streams("phc/consult"), n).tolist()
        self.share, self.delay = tier.escalate_share, tier.escalation_delay_min
        self.arrivals = arr
        self.duty: dict[int, DutyTimeline] = {}
        self.queue_of: dict[int, int] = {}

    def extend(self, net: Network) -> None:
        """One MO pool and queue per district whose MOs are ever on duty."""
        tier = self.sc.phc_tier
        assert tier is not None
        for di, name in enumerate(self.sc.district_names):
            k = tier.district_doctors.get(name, tier.doctors)
            tl = clock_timeline(self.sc.calendar, tier.hours, k)
            if not tl.ever_on:
                continue
            self.duty[di] = tl
            self.queue_of[di] = net.add_own_queue([f"PHC/{name}/{j + 1}" for j in range(k)],
                                                  tl)
        arr = self.arrivals  # who goes to the PHC first: a sub-centre of a district with MOs
        types = [SPOKE_TYPES.index(t) for t in tier.spoke_types]
        self.first = ((arr.channel == 0) & np.isin(arr.spoke_type, types)
                      & np.isin(arr.district, list(self.queue_of)))
        queue = np.full(len(self.sc.district_names), -1, dtype=np.int32)
        queue[list(self.queue_of)] = list(self.queue_of.values())
        self.entry = np.where(self.first, queue[arr.district], -1).astype(np.int32)
        del self.arrivals

    def install(self, eng: Engine) -> None:
        """The entry queues, the MO pools' consult hook, the tier columns."""
        self.eng = eng
        n = eng.n
        eng.entry = memoryview(self.entry)  # type: ignore[arg-type]
        self.tier = array("b", self.first.astype(np.int8).tobytes())  # 1: at the PHC
        self.phc_start = array("d", [np.nan]) * n
        self.phc_end = array("d", [np.nan]) * n
        self.queued = eng.track_queued()
        np.frombuffer(self.queued, dtype=np.float64)[self.first] = np.nan  # not (yet) queued
        on_done: list[Callable[[Any], None]] = []
        phc_len, u_esc, share, delay = self.phc_len, self.u_esc, self.share, self.delay
        tier, phc_start, phc_end = self.tier, self.phc_start, self.phc_end
        outcome, start, end, doctor = eng.outcome, eng.start, eng.end, eng.doctor
        env = eng.env  # (consults, route and release are made when the loop starts)

        def begin(r: int, d: int, p: int, t: float) -> bool:
            """A PHC MO takes ``r``: resolved here, or escalated when the consult ends."""
            e = t + phc_len[r]
            phc_start[r], phc_end[r] = t, e
            if u_esc[r] >= share:  # resolved here
                tier[r], outcome[r] = 1, SERVED
                start[r], end[r], doctor[r] = t, e, d
            else:
                tier[r] = 2
            eng.consults[d].hold(r, e, on_done)
            return True

        def done(ev: Consult) -> None:
            """An MO consult ends: an escalated request goes on to the hubs."""
            r = ev._value
            if tier[r] == 2:
                if delay > 0:
                    eng.at(env.now + delay, eng.route, r)
                else:
                    eng.route(r, env.now)
            eng.release(ev)

        on_done.append(done)
        for q in self.queue_of.values():
            eng.begin[eng.net.queue_pools[q][0]] = begin

    def grow(self, f: int, r: int) -> None:
        """Follow-ups go straight to the hubs."""
        self.tier.append(0)
        self.phc_start.append(np.nan)
        self.phc_end.append(np.nan)

    def columns(self) -> dict[str, np.ndarray]:
        """``tier``, ``phc_start`` and ``phc_end``."""
        return {"tier": np.frombuffer(self.tier, dtype=np.int8),
                "phc_start": np.frombuffer(self.phc_start, dtype=np.float64),
                "phc_end": np.frombuffer(self.phc_end, dtype=np.float64)}
