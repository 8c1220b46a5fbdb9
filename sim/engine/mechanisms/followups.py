"""Follow-ups and referrals: what a specialist consult leads to.

A share of consults leads to a new request after a drawn delay (at the next opening of
its source), another share to a referral (recorded only).
"""

from __future__ import annotations

import bisect
import math
from array import array
from typing import TYPE_CHECKING

import numpy as np

from sim.engine.mechanisms.base import Mechanism
from sim.engine.roster import DAY
from sim.engine.streams import drawn, uniform
from sim.scenario.calendar import Calendar, Clock
from sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from sim.engine.loop import Engine
    from sim.engine.model import Model


class FollowUps(Mechanism):
    """Appends follow-up requests during the run (their draws: streams "followup/...")."""

    section = "followups"
    adds_requests = True
    calls_later = True

    def __init__(self, model: Model):
        super().__init__(model)
        fu = self.sc.followups
        assert fu is not None
        self.fu = fu
        streams = model.streams
        u = streams("followup").random(len(model.arrivals))
        self.u_next = u.tolist()
        self.refer = fu.share + fu.referral_share
        # whose consult may lead somewhere (a follow-up or a referral): a list, read per consult
        self.leads = (u < self.refer).tolist()
        # what a follow-up draws, each kind from its own stream (see drawn)
        self.next_u = drawn(streams("followup/next"), uniform)
        self.delay = drawn(streams("followup/delay"), fu.delay.sample) if fu.delay else None
        self.consult = [drawn(streams(f"followup/consult/{name}"), sp.consult.sample)
                        for name, sp in self.sc.specialties.items()]
        default, pri = self.sc.queue.patience, self.sc.priorities
        by_class = [c.patience or default for c in pri.classes] if pri else [default]
        self.patience = [None if p is None  # None: patient for ever
                         else drawn(streams(f"followup/patience/{k}"), p.sample)
                         for k, p in enumerate(by_class)]
        # opening and closing times of each source's open days, by (channel, district)
        self.open_days: dict[tuple[int, int], tuple[list[float], list[float]]] = {}

    def install(self, eng: Engine) -> None:
        """The after-consult hook; parent and next-step columns."""
        self.eng = eng
        self.parent = array("q", [-1]) * eng.n
        self.next_step = array("b", bytes(eng.n))
        u_next, parent, next_step = self.u_next, self.parent, self.next_step
        share, fu = self.fu.share, self.fu
        refer, repeat = self.refer, fu.repeat
        eng.after_for = self.leads
        sc, horizon = self.sc, self.sc.horizon_min
        delay, consult, patience = self.delay, self.consult, self.patience
        chan, dist, spc = eng.chan, eng.dist, eng.spc
        prio = eng.prio  # set by Priorities, installed before (KINDS order)
        days_of = self.open_days

        def follow_up(r: int, t: float) -> None:
            """Append a follow-up request of ``r`` arriving after the drawn delay."""
            assert delay is not None  # the schema asks for one with a share
            key = (chan[r], dist[r])
            days = days_of.get(key)
            if days is None:
                days = days_of[key] = open_days(source_hours(sc, *key), sc.calendar)
            ta = next_open(t + delay(), *days)
            if ta >= horizon:
                return
            draw = patience[0 if prio is None else prio[r]]
            f = eng.add_request(r, ta, consult[spc[r]](), math.inf if draw is None else draw())
            eng.at(ta, eng.route, f)  # as ``arrive`` sends an added request

        def done(r: int, t: float) -> None:
            """Hub consult ``r`` ended at ``t``: a follow-up, a referral or nothing."""
            u = u_next[r]
            if u < share:
                if repeat or parent[r] < 0:
                    next_step[r] = 1
                    follow_up(r, t)
            elif u < refer:
                next_step[r] = 2

        eng.after_consult = done

    def grow(self, f: int, r: int) -> None:
        """Record the parent; draw what the follow-up's own consult will lead to."""
        self.parent.append(r)
        self.next_step.append(0)
        u = self.next_u()
        self.u_next.append(u)
        # a follow-up's consult leads to a referral, or (with repeat) another follow-up
        self.leads.append(u < self.refer and (u >= self.fu.share or self.fu.repeat))

    def columns(self) -> dict[str, np.ndarray]:
        """``parent`` and ``next_step``."""
        return {"parent": np.frombuffer(self.parent, dtype=np.int64),
                "next_step": np.frombuffer(self.next_step, dtype=np.int8)}


def source_hours(sc: Scenario, channel: int, district: int) -> Clock:
    """Opening hours of the spokes (or the OPD) a request of this channel comes from."""
    if channel == 1 and sc.demand.opd is not None and sc.demand.opd.hours is not None:
        return sc.demand.opd.hours
    return sc.spokes.districts[district].hours or sc.spokes.hours


def open_days(hours: Clock, cal: Calendar) -> tuple[list[float], list[float]]:
    """Opening and closing minute of every day ``hours`` are open within the horizon."""
    days = cal.open_days(hours.weekdays) * DAY
    return (days + hours.start).tolist(), (days + hours.end).tolist()


def next_open(t: float, opens: list[float], closes: list[float]) -> float:
    """The first moment at or after ``t`` within an open day (inf if none in horizon)."""
    k = bisect.bisect_right(closes, t)  # the first day that closes after t
    return math.inf if k == len(closes) else max(t, opens[k])
