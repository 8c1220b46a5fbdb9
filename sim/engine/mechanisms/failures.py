"""Failed video calls: an attempt may fail and hold the doctor for the wasted minutes.

The request rejoins its queue after the retry delay, or gives up after the last attempt.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.engine.mechanisms.base import Mechanism
from sim.engine.records import GAVE_UP, NEW_DTYPES
from sim.engine.streams import drawn, uniform
from sim.scenario.schema import Scenario
from sim.scenario.types import SPOKE_TYPES

if TYPE_CHECKING:
    from sim.engine.loop import Consult, Engine
    from sim.engine.model import Model


class Failures(Mechanism):
    """Each hub attempt fails with its district's or spoke type's probability."""

    section = "failures"
    calls_later = True

    def __init__(self, model: Model):
        super().__init__(model)
        f = self.sc.failures
        assert f is not None
        arr = model.arrivals
        self.max_att = f.max_attempts
        self.retry = f.retry_delay_min
        # attempt k of request r uses u_fail[r * max_att + k]
        u = model.streams("failure").random((len(arr), self.max_att))
        fp, fw = connectivity_table(self.sc)
        p = fp[arr.district, arr.spoke_type]
        self.fails_first = array("b", (u[:, 0] < p).astype(np.int8).tobytes())
        # arrays, not lists: only the few requests whose first call fails read them
        self.u_fail = array("d", u.tobytes())
        self.fail_p = array("d", p.tobytes())
        self.wasted = array("d", fw[arr.district, arr.spoke_type].tobytes())
        self.follow_up_u = drawn(model.streams("followup/failure"), uniform)

    def install(self, eng: Engine) -> None:
        """The attempt hook on every hub pool; attempts and lost-minute columns.

        Only the requests whose first call fails (``fails_first``) go through the hook,
        which then counts all their attempts; the others connect at once (one attempt if
        a hub doctor takes them, counted after the run).
        """
        self.eng = eng
        self.attempts = array("h", bytes(2 * eng.n))
        self.lost = array("d", [0.0]) * eng.n
        attempts, lost, u_fail, fail_p = self.attempts, self.lost, self.u_fail, self.fail_p
        wasted, max_att, retry = self.wasted, self.max_att, self.retry
        routed, outcome, end, pool_hub = eng.routed, eng.outcome, eng.end, eng.net.pool_hub

        def begin(r: int, d: int, p: int, t: float) -> bool:
            """Attempt a video consult: True if it fails (doctor ``d`` held, wasted)."""
            k = attempts[r]
            attempts[r] = k + 1
            if u_fail[r * max_att + k] >= fail_p[r]:
                return False
            routed[r] = pool_hub[p]
            if eng.in_queue is not None:
                eng.in_queue[r] = -1  # out of the queue until it rejoins
            eng.consults[d].hold(r, t + wasted[r], on_fail)
            return True

        def failed(ev: Consult) -> None:
            """A failed attempt ends: the request gives up or rejoins after the retry delay."""
            r, now = ev._value, ev.at
            lost[r] += wasted[r]
            if attempts[r] >= max_att:
                outcome[r], end[r] = GAVE_UP, now
            else:
                q = ev.q
                eng.at(now + retry, lambda y, t: eng.join(q, y, t), r)
            eng.release(ev)

        on_fail: list[Callable[[Any], None]] = [failed]
        for p in range(eng.net.n_hub_pools):
            eng.begin[p] = begin
            eng.begin_for[p] = self.fails_first

    def grow(self, f: int, r: int) -> None:
        """A follow-up's attempts are drawn now; its connection is its parent's."""
        self.attempts.append(0)
        self.lost.append(0.0)
        u = [self.follow_up_u() for _ in range(self.max_att)]
        self.u_fail.extend(u)
        self.fail_p.append(self.fail_p[r])
        self.wasted.append(self.wasted[r])
        self.fails_first.append(int(u[0] < self.fail_p[r]))

    def columns(self) -> dict[str, np.ndarray]:
        """``attempts`` and ``lost_min``."""
        eng = self.eng
        attempts: np.ndarray = np.frombuffer(self.attempts, dtype=NEW_DTYPES["attempts"]).copy()
        doctor = np.frombuffer(eng.doctor, dtype=np.int32)
        pool = np.asarray(eng.net.doctor_pool)[doctor]  # (-1: no doctor, masked below)
        at_hub = (doctor >= 0) & (pool < eng.net.n_hub_pools)
        connected = np.frombuffer(self.fails_first, dtype=np.int8) == 0
        attempts[connected & at_hub] = 1
        return {"attempts": attempts, "lost_min": np.frombuffer(self.lost, dtype=np.float64)}


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
