"""Duty rosters as step functions: how many doctors of a specialty a hub has on duty when.

Sessions that touch or overlap are summed and merged, so a roster of 00:00-24:00 every day
is one constant level for the whole horizon (the textbook 24/7 queue), not a hand-over at
each midnight. The calendar's dated changes (a hub closed, a clinic cancelled or added,
doctors on leave) are laid on the weekly roster of the pools they name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.scenario.calendar import Calendar, Clock, RosterException
from sim.scenario.network import Hub, Session
from sim.scenario.schema import Scenario, day_sessions, leave_on

DAY = 1440.0


@dataclass(frozen=True)
class DutyTimeline:
    """``levels[k]`` doctors are on duty from ``times[k]`` to ``times[k+1]`` (or the end)."""

    times: np.ndarray  # float64, strictly increasing, times[0] == 0
    levels: np.ndarray  # int64

    def on_duty_minutes(self, t0: float, t1: float) -> float:
        """Doctor-minutes on duty in [t0, t1)."""
        if len(self.times) == 1:  # one level throughout (a 24/7 roster, or nobody)
            return float(max(min(np.inf, t1) - max(float(self.times[0]), t0), 0.0)
                         * float(self.levels[0]))
        ends = np.append(self.times[1:], np.inf)
        overlap = np.clip(np.minimum(ends, t1) - np.maximum(self.times, t0), 0.0, None)
        return float(np.sum(overlap * self.levels))

    def level_at(self, t: float) -> int:
        """Doctors on duty at time ``t``."""
        return int(self.levels[np.searchsorted(self.times, t, side="right") - 1])

    def changes(self) -> list[tuple[float, int]]:
        """(time, new level) for every change after time 0."""
        return [(float(t), int(lv)) for t, lv in zip(self.times[1:], self.levels[1:], strict=True)]

    @property
    def ever_on(self) -> bool:
        """Whether anyone is ever on duty."""
        return bool(np.any(self.levels > 0))


def duty_timeline(scenario: Scenario, hub: Hub, specialty: str) -> DutyTimeline:
    """The on-duty step function of one hub x specialty over the horizon."""
    return pool_timeline(scenario.calendar, hub, specialty, scenario.calendar.hub_closures())


def pool_changes(cal: Calendar, hub: Hub, specialty: str) -> list[RosterException]:
    """The roster exceptions of one hub x specialty."""
    return [x for x in cal.roster_exceptions if x.hub == hub.id and x.specialty == specialty]


def pool_timeline(cal: Calendar, hub: Hub, specialty: str,
                  closures: dict[str, list[int]]) -> DutyTimeline:
    """One hub x specialty's duty: its weekly sessions, the hub's closures, its exceptions.

    ``closures`` is ``cal.hub_closures()``. Days with an exception are taken from
    ``day_sessions`` (the rule the schema checks against); doctors on leave cap the level.
    """
    sessions = [s for s in hub.roster if s.specialty == specialty]
    changes = pool_changes(cal, hub, specialty)
    closed = closures.get(hub.id, [])
    if not changes and not closed:
        return sessions_timeline(cal, sessions)
    special = sorted({d for x in changes for d in cal.exception_days(x)})
    state = set(cal.holiday_days()) if cal.holidays_closed else set()
    tl = sessions_timeline(cal, sessions, skip=[*closed, *special], extra=[
        (d * DAY + a, d * DAY + b, k) for d in special
        for a, b, k in day_sessions(cal, hub, specialty, d, d in state or d in closed, changes)])
    caps = [(d * DAY, (d + 1) * DAY, hub.doctors.get(specialty, 0) - leave)
            for d in special if (leave := leave_on(cal, changes, d))]
    return capped(tl, caps, cal.horizon_days * DAY) if caps else tl


def sessions_timeline(cal: Calendar, sessions: list[Session], skip: list[int] | None = None,
                      extra: list[tuple[float, float, int]] | None = None) -> DutyTimeline:
    """The on-duty step function of roster ``sessions`` (of one pool) over the horizon.

    ``skip``: day numbers on which the sessions do not run; ``extra``: further (start,
    end, doctors) stretches, in minutes from the start of the run.
    """
    if not sessions and not extra:
        return DutyTimeline(np.zeros(1), np.zeros(1, dtype=np.int64))
    times, deltas = [], []
    for s in sessions:
        days = cal.open_days(s.weekdays)
        if skip:
            days = np.setdiff1d(days, skip)
        base = days * DAY
        times += [base + s.start, base + s.end]
        deltas += [np.full(len(base), s.doctors), np.full(len(base), -s.doctors)]
    if extra:
        t0, t1, k = (np.asarray(c, dtype=float) for c in zip(*extra, strict=True))
        times += [t0, t1]
        deltas += [k.astype(np.int64), -k.astype(np.int64)]
    return timeline_from_arrays(np.concatenate(times), np.concatenate(deltas).astype(np.int64),
                                cal.horizon_days * DAY)


def capped(tl: DutyTimeline, caps: list[tuple[float, float, int]],
           horizon: float) -> DutyTimeline:
    """``tl`` with its level held at most ``cap`` within each (start, end, cap) window."""
    edges = np.unique(np.concatenate([tl.times, [c[0] for c in caps], [c[1] for c in caps]]))
    edges = edges[edges < horizon]
    level = tl.levels[np.searchsorted(tl.times, edges, side="right") - 1].copy()
    for a, b, cap in caps:
        inside = (edges >= a) & (edges < b)
        level[inside] = np.minimum(level[inside], max(cap, 0))
    keep = np.ones(len(edges), dtype=bool)
    keep[1:] = level[1:] != level[:-1]
    return DutyTimeline(edges[keep], level[keep])


def all_timelines(scenario: Scenario) -> dict[tuple[int, int], DutyTimeline]:
    """Timelines for every (hub index, specialty index) whose roster ever puts a doctor on.

    Pools with the same sessions (times, weekdays, doctors) share one timeline object.
    """
    out = {}
    made: dict[tuple[Any, ...], tuple[DutyTimeline, bool]] = {}  # and whether ever on
    one: dict[tuple[Any, ...], DutyTimeline] = {}  # one session's window, one doctor
    spec_index = {spec: s for s, spec in enumerate(scenario.specialties)}
    cal = scenario.calendar
    closures = cal.hub_closures()
    dated = {(x.hub, x.specialty) for x in cal.roster_exceptions}
    for h, hub in enumerate(scenario.hubs):
        by_spec: dict[int, list[Session]] = {}
        for x in hub.roster:
            by_spec.setdefault(spec_index[x.specialty], []).append(x)
        for spec in {sp for hid, sp in dated if hid == hub.id}:  # a pool only added on dates
            by_spec.setdefault(spec_index[spec], [])
        for s, sessions in sorted(by_spec.items()):
            if hub.id in closures or (hub.id, scenario.specialty_names[s]) in dated:
                tl = pool_timeline(cal, hub, scenario.specialty_names[s], closures)
                if tl.ever_on:
                    out[(h, s)] = tl
                continue
            key = tuple((x.start, x.end, x.weekdays, x.doctors) for x in sessions)
            known = made.get(key)
            if known is None:
                if len(sessions) == 1:  # k doctors: one doctor's changes, levels times k
                    window = key[0][:3]
                    if window not in one:
                        one[window] = sessions_timeline(
                            scenario.calendar, [sessions[0].model_copy(update={"doctors": 1})])
                    unit = one[window]
                    tl = DutyTimeline(unit.times, unit.levels * sessions[0].doctors)
                else:
                    tl = sessions_timeline(scenario.calendar, sessions)
                known = made[key] = (tl, tl.ever_on)
            if known[1]:
                out[(h, s)] = known[0]
    return out


def timeline_from_arrays(times: np.ndarray, deltas: np.ndarray, horizon: float) -> DutyTimeline:
    """A duty timeline from level changes ``deltas[i]`` at ``times[i]``.

    Times may come in any order and repeat: changes at one time are summed, changes that
    leave the level as it was are dropped, and everything from ``horizon`` on is cut.
    """
    order = np.argsort(times, kind="stable")
    at, level = times[order], np.cumsum(deltas[order], dtype=np.int64)
    last = at < horizon  # the level after the last change at each time, before the horizon
    last[:-1] &= at[1:] != at[:-1]
    at, level = at[last], level[last]
    if not len(at) or at[0] != 0.0:  # nobody on duty until the first change
        at, level = np.concatenate([[0.0], at]), np.concatenate([[0], level])
    keep = np.ones(len(at), dtype=bool)
    keep[1:] = level[1:] != level[:-1]
    return DutyTimeline(at[keep], level[keep])


def clock_timeline(cal: Calendar, hours: Clock, doctors: int) -> DutyTimeline:
    """``doctors`` on duty during ``hours`` on every open day of the horizon."""
    base = cal.open_days(hours.weekdays) * DAY
    n = len(base)
    return timeline_from_arrays(np.concatenate([base + hours.start, base + hours.end]),
                                np.concatenate([np.full(n, doctors), np.full(n, -doctors)]),
                                cal.horizon_days * DAY)


def absent_timelines(scenario: Scenario, rostered: dict[tuple[int, int], DutyTimeline],
                     rng: np.random.Generator,
                     ) -> tuple[dict[tuple[int, int], DutyTimeline], dict[str, np.ndarray]]:
    """Duty after absences: each rostered doctor misses each session with probability p.

    Returns the thinned timelines and a table of sessions (hub, specialty, start, end,
    rostered doctors, absent doctors). Draws go in (hub, specialty, day, session) order,
    all in one call (numpy draws an array of binomials one after the other, the same
    values as one call per session).
    """
    ab = scenario.absence
    assert ab is not None
    cal = scenario.calendar
    specs = scenario.specialty_names
    holidays = set(cal.holiday_days()) if cal.holidays_closed else set()
    closures = cal.hub_closures()
    pools = sorted(rostered)
    caps: dict[tuple[int, int], list[tuple[float, float, int]]] = {}  # doctors on leave
    sessions: list[tuple[float, float, int]] = []  # (start, end, doctors) of each session
    starts, ends, probs = [], [], []  # each pool's first session, one past its last; p
    for (h, s) in pools:
        hub = scenario.hubs[h]
        changes = pool_changes(cal, hub, specs[s])
        closed = holidays | set(closures.get(hub.id, ()))
        special = closed | {d for x in changes for d in cal.exception_days(x)}
        # a day neither closed nor named by an exception has its weekday's sessions
        weekly: dict[int, list[tuple[int, int, int]]] = {}
        caps[(h, s)] = []
        starts.append(len(sessions))
        for day in range(cal.horizon_days):
            if day in closed and not changes:
                continue
            if day in special:
                today = day_sessions(cal, hub, specs[s], day, day in closed, changes)
                if changes and (leave := leave_on(cal, changes, day)):
                    caps[(h, s)].append((day * DAY, (day + 1) * DAY,
                                         hub.doctors.get(specs[s], 0) - leave))
            else:
                wd = cal.weekday_of(day)
                if wd not in weekly:
                    weekly[wd] = day_sessions(cal, hub, specs[s], day, False, changes)
                today = weekly[wd]
            sessions.extend((day * DAY + a, day * DAY + b, k) for a, b, k in today)
        ends.append(len(sessions))
        probs.append(ab.hubs.get(hub.id, ab.prob))
    rows = np.array(sessions, dtype=float).reshape(-1, 3)
    start, end, doctors = rows[:, 0], rows[:, 1], rows[:, 2].astype(np.int64)
    counts = np.subtract(ends, starts)
    absent = rng.binomial(doctors, np.repeat(probs, counts))
    present = doctors - absent
    out = {}
    for pool, i, j in zip(pools, starts, ends, strict=True):
        tl = timeline_from_arrays(np.concatenate([start[i:j], end[i:j]]),
                                  np.concatenate([present[i:j], -present[i:j]]),
                                  scenario.horizon_min)
        out[pool] = capped(tl, caps[pool], scenario.horizon_min) if caps[pool] else tl
    table = {"hub": np.repeat([h for h, _ in pools], counts).astype(np.int16),
             "specialty": np.repeat([s for _, s in pools], counts).astype(np.int16),
             "start": start, "end": end, "rostered": doctors.astype(np.int32),
             "absent": absent.astype(np.int32)}
    return out, table
