"""The network the engine runs on: doctor pools, the queues they serve, and routing tables.

A *pool* is the doctors of one specialty at one hub (the PHC tier adds one pool per
district after the hub pools); a *queue* is served by one pool (``home_hub``,
``least_wait``, ``overflow``) or by every hub's pool of a specialty (``pooled``). All
indices are plain ints so that the engine loop looks nothing up by name.
"""

from __future__ import annotations

import numpy as np

from sim.engine.roster import DutyTimeline
from sim.scenario.schema import Scenario


class Network:
    """Pools, doctors and queues of one scenario under its duty timelines."""

    def __init__(self, scenario: Scenario, duty: dict[tuple[int, int], DutyTimeline]):
        sc = scenario
        pools = sorted(duty)  # (hub, specialty)
        self.pool_hub = [h for h, _ in pools]
        self.pool_spec = [s for _, s in pools]
        self.pool_timeline = [duty[key] for key in pools]
        self.doctor_pool: list[int] = []
        self.doctor_names: list[str] = []
        self.pool_doctors: list[list[int]] = []
        for h, s in pools:
            hub, spec = sc.hubs[h], sc.specialty_names[s]
            self._add_doctors([f"{hub.id}/{spec}/{k + 1}"
                               for k in range(hub.doctors.get(spec, 0))])

        pooled = sc.routing.policy == "pooled"
        key_of: dict[int | tuple[int, int], int] = {}
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
        self.queue_timeline = [sum_timelines([duty[pools[p]] for p in ps])
                               for ps in self.queue_pools]
        self.mean_consult = [sp.consult.mean for sp in sc.specialties.values()]
        self.n_hub_pools = len(pools)

    def _add_doctors(self, names: list[str]) -> int:
        """A new pool of doctors called ``names``; returns its index."""
        ids = []
        for name in names:
            ids.append(len(self.doctor_pool))
            self.doctor_pool.append(len(self.pool_doctors))
            self.doctor_names.append(name)
        self.pool_doctors.append(ids)
        return len(self.pool_doctors) - 1

    def add_own_queue(self, names: list[str], timeline: DutyTimeline) -> int:
        """A pool of doctors outside the hubs with a queue of its own; returns the queue."""
        p = self._add_doctors(names)
        self.pool_hub.append(-1)
        self.pool_spec.append(-1)
        self.pool_timeline.append(timeline)
        q = len(self.queue_pools)
        self.pool_queue.append(q)
        self.queue_pools.append([p])
        self.queue_hub.append(-1)
        self.queue_spec.append(-1)
        self.queue_timeline.append(timeline)
        return q


def sum_timelines(tls: list[DutyTimeline]) -> DutyTimeline:
    """Doctors on duty in any of ``tls`` (a queue served by several pools)."""
    if len(tls) == 1:  # a queue of one pool: its timeline as it is
        return tls[0]
    times = np.unique(np.concatenate([t.times for t in tls]))
    levels = sum((t.levels[np.searchsorted(t.times, times, side="right") - 1] for t in tls),
                 np.zeros(len(times), dtype=np.int64))
    return DutyTimeline(times, np.asarray(levels, dtype=np.int64))
