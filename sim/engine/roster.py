"""Duty rosters as step functions: how many doctors of a specialty a hub has on duty when.

Sessions that touch or overlap are summed and merged, so a roster of 00:00-24:00 every day
is one constant level for the whole horizon (the textbook 24/7 queue), not a hand-over at
each midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.scenario.schema import Calendar, Clock, Hub, Scenario, Session

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
    return sessions_timeline(scenario.calendar,
                             [s for s in hub.roster if s.specialty == specialty])


def sessions_timeline(cal: Calendar, sessions: list[Session]) -> DutyTimeline:
    """The on-duty step function of roster ``sessions`` (of one pool) over the horizon."""
    if not sessions:
        return DutyTimeline(np.zeros(1), np.zeros(1, dtype=np.int64))
    times, deltas = [], []
    for s in sessions:
        base = cal.open_days(s.weekdays) * DAY
        times += [base + s.start, base + s.end]
        deltas += [np.full(len(base), s.doctors), np.full(len(base), -s.doctors)]
    return timeline_from_arrays(np.concatenate(times), np.concatenate(deltas),
                                cal.horizon_days * DAY)


def all_timelines(scenario: Scenario) -> dict[tuple[int, int], DutyTimeline]:
    """Timelines for every (hub index, specialty index) whose roster ever puts a doctor on.

    Pools with the same sessions (times, weekdays, doctors) share one timeline object.
    """
    out = {}
    made: dict[tuple[Any, ...], tuple[DutyTimeline, bool]] = {}  # and whether ever on
    one: dict[tuple[Any, ...], DutyTimeline] = {}  # one session's window, one doctor
    spec_index = {spec: s for s, spec in enumerate(scenario.specialties)}
    for h, hub in enumerate(scenario.hubs):
        by_spec: dict[int, list[Session]] = {}
        for x in hub.roster:
            by_spec.setdefault(spec_index[x.specialty], []).append(x)
        for s, sessions in sorted(by_spec.items()):
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


def timeline_from_changes(deltas: dict[float, int], horizon: float) -> DutyTimeline:
    """A duty timeline from level changes {time: +/- doctors}, merged, cut at ``horizon``."""
    return timeline_from_arrays(np.fromiter(deltas.keys(), float, len(deltas)),
                                np.fromiter(deltas.values(), np.int64, len(deltas)), horizon)


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
    rostered doctors, absent doctors). Draws go in (hub, specialty, day, session) order.
    """
    ab = scenario.absence
    assert ab is not None
    cal = scenario.calendar
    specs = scenario.specialty_names
    rows: list[tuple[int, int, float, float, int, int]] = []
    out = {}
    for (h, s) in sorted(rostered):
        hub = scenario.hubs[h]
        p = ab.hubs.get(hub.id, ab.prob)
        deltas: dict[float, int] = {}
        for day in range(cal.horizon_days):
            if cal.is_holiday(day):
                continue
            wd = cal.weekday_of(day)
            for sess in hub.roster:
                if sess.specialty != specs[s] or wd not in sess.weekdays:
                    continue
                a, b = day * DAY + sess.start, day * DAY + sess.end
                gone = int(rng.binomial(sess.doctors, p))
                rows.append((h, s, a, b, sess.doctors, gone))
                deltas[a] = deltas.get(a, 0) + sess.doctors - gone
                deltas[b] = deltas.get(b, 0) - (sess.doctors - gone)
        out[(h, s)] = timeline_from_changes(deltas, scenario.horizon_min)
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    table = {name: np.asarray(c, dtype=dt) for name, c, dt in zip(
        ("hub", "specialty", "start", "end", "rostered", "absent"), cols,
        (np.int16, np.int16, float, float, np.int32, np.int32), strict=True)}
    return out, table
