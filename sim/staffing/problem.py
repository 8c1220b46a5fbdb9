"""The staffing problem: the pools to staff, their session menu, demand and targets.

A *pool* is one hub x specialty. Its decision is how many doctors sit each menu session on
each day group (weekdays with the same expected demand are tied, so a 24/7 queue has one
group, not seven). Every standard is judged in every pool it covers: shares, means and
percentiles of a hub, a specialty or the whole network are mixtures of their pools, so a
plan that meets a standard in every pool meets it at every coarser grouping too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.engine.demand import rate_segments, sources
from sim.scenario.mechanisms import StaffingMenu
from sim.scenario.schema import Scenario
from sim.scenario.standards import Standard
from sim.scenario.types import WEEKDAYS, expand_days, format_clock

DAY = 1440.0


@dataclass(frozen=True)
class Target:
    """One standard as the search judges it: in one pool, optionally per hour of arrival."""

    id: str
    measure: str
    target: float
    sense: str
    within_min: float | None = None
    percentile: float | None = None
    specialties: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None
    priorities: tuple[str, ...] | None = None
    hubs: tuple[str, ...] | None = None
    hourly: bool = False
    confidence: float = 0.95
    min_requests: float = 10.0
    label: str = ""

    @classmethod
    def from_standard(cls, std: Standard, hourly: bool = False) -> Target:
        """The search's view of a scenario standard (``hourly``: judged per hour of arrival)."""
        w = std.where

        def tup(x: Sequence[str] | None) -> tuple[str, ...] | None:
            return None if x is None else tuple(x)

        return cls(std.id, std.measure, std.target, std.sense, std.within_min, std.percentile,
                   tup(w.specialties), tup(w.channels), tup(w.priorities), tup(w.hubs),
                   hourly, std.confidence, std.min_requests, std.label)

    def covers(self, hub: str, specialty: str) -> bool:
        """Whether this target applies to pool ``hub`` x ``specialty``."""
        return ((self.specialties is None or specialty in self.specialties)
                and (self.hubs is None or hub in self.hubs))


@dataclass(frozen=True)
class Window:
    """A menu session: a name and a daily window (minutes since midnight)."""

    name: str
    start: int
    end: int

    @property
    def hours(self) -> float:
        """Length in hours."""
        return (self.end - self.start) / 60.0

    def covers_hour(self, hour: int) -> bool:
        """Whether the window overlaps clock hour ``hour`` (hour..hour+1)."""
        return self.start < (hour + 1) * 60 and self.end > hour * 60

    @property
    def label(self) -> str:
        """``name HH:MM-HH:MM``."""
        return f"{self.name} {format_clock(self.start)}-{format_clock(self.end)}"


@dataclass(frozen=True)
class Pool:
    """One hub x specialty to staff: its limits, its demand and the targets it must meet."""

    hub: int
    hub_id: str
    specialty: str
    registered: int
    sessions: tuple[Window, ...]
    days: tuple[int, ...]
    min_days: int
    groups: tuple[tuple[int, ...], ...]
    load: np.ndarray = field(repr=False)
    """Expected arrivals per minute by weekday (Mon=0) and clock hour, shape (7, 24)."""
    mean_consult: float = 10.0
    mean_patience: float = math.inf
    targets: tuple[Target, ...] = ()
    fixed: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """(hub id, specialty)."""
        return self.hub_id, self.specialty

    @property
    def name(self) -> str:
        """``hub/specialty``."""
        return f"{self.hub_id}/{self.specialty}"

    def session(self, name: str) -> Window:
        """The allowed session called ``name``."""
        return next(s for s in self.sessions if s.name == name)

    @property
    def longest(self) -> Window:
        """The longest allowed session (the full day in a full/morning/afternoon menu)."""
        return max(self.sessions, key=lambda s: (s.end - s.start, -s.start))

    def weekly_arrivals(self) -> float:
        """Expected requests a week."""
        return float(self.load.sum() * 60.0)


def resolve_menu(scenario: Scenario) -> StaffingMenu:
    """The scenario's ``staffing:`` menu, or one read off its roster.

    The roster's menu has its session windows and each specialty on its rostered weekdays.
    """
    if scenario.staffing is not None:
        return scenario.staffing
    windows: dict[str, dict[str, str]] = {}
    spec_days: dict[str, set[int]] = {}
    for hub in scenario.hubs:
        for s in hub.roster:
            name = f"{format_clock(s.start)}-{format_clock(s.end)}"
            windows[name] = {"start": format_clock(s.start), "end": format_clock(s.end)}
            spec_days.setdefault(s.specialty, set()).update(s.weekdays)
    every = sorted(set().union(*spec_days.values())) if spec_days else list(range(6))
    return StaffingMenu.model_validate({
        "sessions": windows, "days": [WEEKDAYS[d] for d in every],
        "specialties": {sp: {"days": [WEEKDAYS[d] for d in sorted(ds)]}
                        for sp, ds in spec_days.items()}})


def pool_loads(scenario: Scenario) -> dict[tuple[int, str], np.ndarray]:
    """Expected arrivals per minute by (weekday, hour) of every hub x specialty.

    Requests are assigned to their district's home hub (exact under ``home_hub`` routing, a
    starting point under the others); the average is over the measured days.
    """
    cal = scenario.calendar
    first = int(math.ceil(cal.warmup_days))
    weekday = cal.weekday_array()
    n_of = np.bincount(weekday[first:], minlength=7).astype(float)
    hub_of = {d.district: scenario.hub_ids.index(d.home_hub) for d in scenario.spokes.districts}
    names = scenario.district_names
    out: dict[tuple[int, str], np.ndarray] = {}
    for src in sources(scenario):
        seg = rate_segments(scenario, src.hours, src.profile, src.per_day)
        day = (seg.t0 // DAY).astype(int)
        keep = day >= first
        hour = ((seg.t0 % DAY) // 60).astype(int)
        grid = np.zeros((7, 24))
        np.add.at(grid, (weekday[day[keep]], hour[keep]), ((seg.t1 - seg.t0) * seg.rate)[keep])
        per_minute = grid / np.maximum(n_of, 1.0)[:, None] / 60.0
        h = hub_of[names[src.district]]
        for spec, share in src.mix.items():
            if share > 0:
                key = (h, spec)
                out[key] = out.get(key, np.zeros((7, 24))) + per_minute * share
    return out


def _day_groups(load: np.ndarray, days: tuple[int, ...],
                daily: bool) -> tuple[tuple[int, ...], ...]:
    """Weekdays tied in the search.

    A daily pool ties weekdays with the same expected demand hour by hour; a clinic-day
    pool keeps each weekday alone (its backlog differs day by day).
    """
    if not daily:
        return tuple((d,) for d in days)
    groups: dict[bytes, list[int]] = {}
    for d in days:
        groups.setdefault(np.round(load[d], 12).tobytes(), []).append(d)
    return tuple(tuple(g) for g in groups.values())


def build_pools(scenario: Scenario, targets: list[Target] | None = None) -> list[Pool]:
    """Every pool with demand or a rostered session, with its menu, load and targets."""
    menu = resolve_menu(scenario)
    if targets is None:
        targets = [Target.from_standard(s) for s in scenario.standards]
    loads = pool_loads(scenario)
    patience = scenario.queue.patience
    # exponential patience makes Erlang A exact; any other is taken at its mean
    mean_patience = math.inf if patience is None else float(patience.mean)
    fixed = {(f.hub, f.specialty) for f in menu.fixed}
    pools: list[Pool] = []
    for h, hub in enumerate(scenario.hubs):
        rostered = {s.specialty: set(s.weekdays) for s in hub.roster}
        for spec in scenario.specialties:
            load = loads.get((h, spec), np.zeros((7, 24)))
            if load.sum() <= 0 and spec not in rostered:
                continue
            sm = menu.specialties.get(spec)
            day_spec = sm.days if sm is not None and sm.days is not None else menu.days
            days = expand_days(day_spec)
            names = sm.sessions if sm is not None and sm.sessions is not None else list(
                menu.sessions)
            windows = tuple(Window(n, menu.sessions[n].start, menu.sessions[n].end)
                            for n in names)
            need = sm.min_days if sm is not None and sm.min_days is not None else menu.min_days
            now = rostered.get(spec, set())
            daily = set(days) <= now or not now
            pools.append(Pool(
                hub=h, hub_id=hub.id, specialty=spec, registered=hub.doctors.get(spec, 0),
                sessions=windows, days=days, min_days=max(need, 1 if load.sum() > 0 else 0),
                groups=_day_groups(load, days, daily), load=load,
                mean_consult=float(scenario.specialties[spec].consult.mean),
                mean_patience=mean_patience,
                targets=tuple(t for t in targets if t.covers(hub.id, spec)),
                fixed=(hub.id, spec) in fixed))
    return pools
