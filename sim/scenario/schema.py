"""The scenario: everything one simulated run needs, as frozen, validated pydantic models.

A built ``Scenario`` is a valid scenario: field checks live on the fields and the
cross-field checks (references, probabilities, roster within the doctor pool, demand that
some roster serves) live in validators. Variants are made with ``model_copy(update=...)``
or overlay files, never by mutation. All clock times are minutes since midnight; all
durations are minutes.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
from collections.abc import Callable, Iterator
from typing import Annotated

from pydantic import (
    Field,
    model_validator,
)

from sim.scenario.calendar import (
    Calendar,
    RosterException,
)
from sim.scenario.demand_schema import (
    Demand,
)
from sim.scenario.mechanisms import (
    Absence,
    Booking,
    Failures,
    FollowUps,
    MetricsConfig,
    PhcTier,
    Priorities,
    QueuePolicy,
    StaffingMenu,
)
from sim.scenario.network import (
    Hub,
    Routing,
    Specialty,
    Spokes,
)
from sim.scenario.standards import Standard, standards_problems
from sim.scenario.types import (
    CHANNELS,
    MAX_SEED,
    Frozen,
    expand_days,
    format_clock,
)

"""Days a session or opening applies to: ``all``, ``working`` (Mon-Sat) or a list."""
"""Most doctors, spokes or overbookings one field may hold: beyond any state's network."""
"""Most requests per day from one spoke or district."""
"""A time of day written 'HH:MM', held as minutes since midnight."""
"""A day: a date (2020-08-15, needs calendar.start_date) or a day number (0 = first day)."""


class Scenario(Frozen):
    """A complete, validated description of one network and its demand."""

    name: str = Field("scenario", min_length=1, max_length=200)
    description: str = ""
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 12345
    calendar: Calendar
    specialties: dict[str, Specialty] = Field(min_length=1)
    hubs: list[Hub] = Field(min_length=1)
    spokes: Spokes
    demand: Demand
    routing: Routing = Routing()
    queue: QueuePolicy = QueuePolicy()
    metrics: MetricsConfig = MetricsConfig()
    booking: Booking | None = Field(None, description="Appointment clinics; off if absent")
    failures: Failures | None = Field(None, description="Failed video calls; off if absent")
    phc_tier: PhcTier | None = Field(None, description="PHC MO tier; off if absent")
    followups: FollowUps | None = Field(None, description="Follow-ups, referrals; off if absent")
    priorities: Priorities | None = Field(None, description="Priority classes; off if absent")
    absence: Absence | None = Field(None, description="Doctor absence; off if absent")
    standards: list[Standard] = Field(
        default_factory=list, description="Service standards the results are judged against")
    staffing: StaffingMenu | None = Field(
        None, description="Session menu and limits for hubsim staff; default: the roster's")

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        problems = list(self._problems())
        if problems:
            raise ValueError("\n".join(f"at {path}: {msg}" for path, msg in problems))
        return self

    def _problems(self) -> Iterator[tuple[str, str]]:
        specs = set(self.specialties)
        hub_ids = [h.id for h in self.hubs]
        hubs = set(hub_ids)
        dup = {h for h in hub_ids if hub_ids.count(h) > 1}
        if dup:
            yield "hubs", f"hub ids must be unique; repeated: {sorted(dup)}"
        names = [d.district for d in self.spokes.districts]
        dupd = {d for d in names if names.count(d) > 1}
        if dupd:
            yield "spokes.districts", f"district names must be unique; repeated: {sorted(dupd)}"

        def unknown(kind: str, value: str, known: set[str]) -> str:
            close = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return f"{kind} {value!r} is not defined{hint} (defined: {', '.join(sorted(known))})"

        # names first: a misspelt name is one problem, not also every check that needs it
        bad_names: list[tuple[str, str]] = []
        for i, hub in enumerate(self.hubs):
            for s in hub.doctors:
                if s not in specs:
                    bad_names.append((f"hubs.{i}.doctors.{s}", unknown("specialty", s, specs)))
            for j, sess in enumerate(hub.roster):
                if sess.specialty not in specs:
                    bad_names.append((f"hubs.{i}.roster.{j}.specialty",
                                      unknown("specialty", sess.specialty, specs)))
        homeless: dict[str, list[int]] = {}
        for i, d in enumerate(self.spokes.districts):
            if d.home_hub not in hubs:
                homeless.setdefault(d.home_hub, []).append(i)
        for name, where in homeless.items():
            also = ("" if len(where) == 1 else " (home hub of " + ", ".join(
                self.spokes.districts[i].district for i in where) + ")")
            bad_names.append((f"spokes.districts.{where[0]}.home_hub",
                              unknown("hub", name, hubs) + also))
        district_hub = {d.district: d.home_hub for d in self.spokes.districts}
        for ch in CHANNELS:
            dem = getattr(self.demand, ch)
            if dem is None:
                continue
            for s in dem.specialty_mix:
                if s not in specs:
                    bad_names.append((f"demand.{ch}.specialty_mix.{s}",
                                      unknown("specialty", s, specs)))
            if ch == "opd":
                for name in dem.per_day:
                    if name not in district_hub:
                        bad_names.append((f"demand.opd.per_day.{name}",
                                          unknown("district", name, set(district_hub))))
        by_message: dict[str, list[str]] = {}
        for path, msg in bad_names:  # a name misspelt where it is defined: one problem
            by_message.setdefault(msg, []).append(path)
        for msg, paths in by_message.items():
            more = [re.sub(r"\.(\d+)", r"[\1]", m) for m in paths[1:]]
            also = "" if not more else (f" (also at {', '.join(more[:3])}"
                                        f"{f' and {len(more) - 3} more' if len(more) > 3 else ''})")
            yield paths[0], msg + also
        for i, hub in enumerate(self.hubs):
            if any(s not in specs for s in hub.doctors):
                continue  # the pool has a misspelt specialty, already reported
            for s, peak in _peak_on_duty(hub).items():
                pool = hub.doctors.get(s, 0)
                if s in specs and peak > pool:
                    yield f"hubs.{i}.roster", (
                        f"roster puts {peak} {s} doctors on duty at once but hub {hub.id!r} "
                        f"has only {pool} registered (hubs.{i}.doctors.{s})"
                    )
        yield from self._calendar_problems(specs, hubs, unknown)
        if bad_names:
            yield from self._realism_problems(specs, hubs, set(), set(district_hub), unknown,
                                              names_only=True)
            return
        served = {(h.id, s.specialty) for h in self.hubs for s in h.roster if s.doctors > 0}
        served_anywhere = {s for _, s in served}
        for ch in CHANNELS:
            dem = getattr(self.demand, ch)
            if dem is None:
                continue
            for s, p in dem.specialty_mix.items():
                if p > 0 and s not in served_anywhere:
                    yield f"demand.{ch}.specialty_mix.{s}", (
                        f"there is demand for {s!r} but no hub's roster ever serves it"
                    )
        if self.routing.policy == "home_hub":
            unserved = [(district, ch, s)
                        for district, pairs in self.demanding_districts().items()
                        for ch, s in pairs
                        if (h := district_hub[district]) in hubs and s in specs
                        and s in served_anywhere and (h, s) not in served]
            by_cause: dict[tuple[str, str], list[tuple[str, str]]] = {}
            for district, ch, s in sorted(unserved):
                by_cause.setdefault((district_hub[district], s), []).append((district, ch))
            for (h, s), pairs in by_cause.items():  # one problem per hub and specialty
                names = list(dict.fromkeys(d for d, _ in pairs))
                chans = sorted({ch for _, ch in pairs})
                sends = (f"{names[0]} sends" if len(names) == 1
                         else f"{', '.join(names[:-1])} and {names[-1]} send")
                yield f"demand.{chans[0]}.specialty_mix.{s}", (
                    f"under routing home_hub, {sends} {s!r} requests ({' and '.join(chans)}) "
                    f"to hub {h!r}, whose roster never serves {s!r}")
        yield from self._realism_problems(specs, hubs, served, set(district_hub), unknown)

    def _calendar_problems(self, specs: set[str], hubs: set[str],
                           unknown: Callable[[str, str, set[str]], str],
                           ) -> Iterator[tuple[str, str]]:
        """Hub closures and roster exceptions: their hubs and specialties, and what they do."""
        cal = self.calendar
        for i, h in enumerate(cal.holidays):
            for name in h.hubs:
                if name not in hubs:
                    yield f"calendar.holidays.{i}.hubs", unknown("hub", name, hubs)
        curve = self.demand.growth_curve
        if curve is not None and curve.monthly:
            if cal.start_date is None:
                yield "demand.growth_curve.monthly", "months need calendar.start_date"
            else:
                start = cal.start_date
                months = sorted({f"{start + dt.timedelta(days=d):%Y-%m}"
                                 for d in range(cal.horizon_days)})
                missing = [m for m in months if m not in curve.monthly]
                if missing:
                    yield "demand.growth_curve.monthly", (
                        f"no multiplier for {', '.join(missing)} (the horizon runs "
                        f"{cal.date_of(0)} to {cal.date_of(cal.horizon_days - 1)})")
        if curve is not None and curve.points:
            if cal.start_date is None and any(isinstance(d, dt.date) for d, _ in curve.points):
                yield "demand.growth_curve.points", "dates need calendar.start_date"
            else:
                steps = [cal.day_number(d) for d, _ in curve.points]
                if any(b <= a for a, b in itertools.pairwise(steps)):
                    yield "demand.growth_curve.points", "days must increase"
        by_id = {h.id: h for h in self.hubs}
        closures = cal.hub_closures()
        for i, x in enumerate(cal.roster_exceptions):
            where = f"calendar.roster_exceptions.{i}"
            if x.hub not in hubs:
                yield f"{where}.hub", unknown("hub", x.hub, hubs)
                continue
            if x.specialty not in specs:
                yield f"{where}.specialty", unknown("specialty", x.specialty, specs)
                continue
            hub, days = by_id[x.hub], cal.exception_days(x)
            pool = hub.doctors.get(x.specialty, 0)
            changes = [c for c in cal.roster_exceptions
                       if c.hub == x.hub and c.specialty == x.specialty]
            closed = set(cal.holiday_days() if cal.holidays_closed else ()) | set(
                closures.get(x.hub, ()))
            if x.on_leave is not None and x.on_leave > pool:
                yield f"{where}.on_leave", (f"{x.on_leave} {x.specialty} doctors on leave but "
                                            f"hub {x.hub!r} has only {pool} registered")
            if x.cancel and days and all(
                    day_sessions(cal, hub, x.specialty, d, d in closed, [x])
                    == day_sessions(cal, hub, x.specialty, d, d in closed, []) for d in days):
                at = f" starting {format_clock(x.start)}" if x.start is not None else ""
                yield where, (f"nothing to cancel: hub {x.hub!r} has no {x.specialty} "
                              f"session{at} on {_days_label(cal, days)}")
            if x.session is not None:
                for d in days:
                    peak = _peak(day_sessions(cal, hub, x.specialty, d, d in closed, changes))
                    present = pool - leave_on(cal, changes, d)
                    if peak > present:
                        yield where, (f"puts {peak} {x.specialty} doctors on duty at once on "
                                      f"{_days_label(cal, range(d, d + 1))} but hub {x.hub!r} "
                                      f"has {present} there (hubs.doctors less any on leave)")
                        break

    def _realism_problems(self, specs: set[str], hubs: set[str], served: set[tuple[str, str]],
                          districts: set[str], unknown: Callable[[str, str, set[str]], str],
                          names_only: bool = False) -> Iterator[tuple[str, str]]:
        """Cross-checks of the optional booking, failure, tier, priority and absence sections.

        ``names_only``: only the references to names (the rest waits until names are right).
        """
        if self.booking is not None:
            if self.routing.policy == "pooled":
                yield "booking", "appointment clinics need a hub queue; routing pooled has none"
            seen: set[tuple[str, str]] = set()
            for i, c in enumerate(self.booking.clinics):
                if c.hub not in hubs:
                    yield f"booking.clinics.{i}.hub", unknown("hub", c.hub, hubs)
                elif c.specialty not in specs:
                    yield f"booking.clinics.{i}.specialty", unknown("specialty", c.specialty, specs)
                elif (c.hub, c.specialty) not in served and not names_only:
                    yield f"booking.clinics.{i}", (
                        f"hub {c.hub!r} never has {c.specialty!r} doctors on duty to give slots")
                if (c.hub, c.specialty) in seen:
                    yield f"booking.clinics.{i}", f"a second clinic for {c.hub}/{c.specialty}"
                seen.add((c.hub, c.specialty))
        if self.failures is not None:
            for name in self.failures.districts:
                if name not in districts:
                    yield f"failures.districts.{name}", unknown("district", name, districts)
        if self.phc_tier is not None:
            for name in self.phc_tier.district_doctors:
                if name not in districts:
                    yield f"phc_tier.district_doctors.{name}", unknown("district", name, districts)
            if self.demand.d2d is None:
                yield "phc_tier", "the PHC tier needs doctor-to-doctor demand (demand.d2d)"
        if self.absence is not None:
            for name in self.absence.hubs:
                if name not in hubs:
                    yield f"absence.hubs.{name}", unknown("hub", name, hubs)
        classes = (None if self.priorities is None
                   else {c.name for c in self.priorities.classes})
        yield from standards_problems(self.standards, specs, hubs, classes, unknown)
        if self.staffing is not None:
            yield from _staffing_problems(self.staffing, specs, hubs, unknown)

    def demanding_districts(self) -> dict[str, set[tuple[str, str]]]:
        """For each district, the (channel, specialty) pairs with positive demand."""
        out: dict[str, set[tuple[str, str]]] = {}
        d2d, opd = self.demand.d2d, self.demand.opd
        d2d_pairs = set() if d2d is None else {
            ("d2d", s) for s, p in d2d.specialty_mix.items() if p > 0}
        opd_pairs = set() if opd is None else {
            ("opd", s) for s, p in opd.specialty_mix.items() if p > 0}
        for d in self.spokes.districts:
            pairs: set[tuple[str, str]] = set()
            if d2d is not None and sum(d.d2d_by_type(d2d.per_spoke_per_day)) > 0:  # type: ignore[arg-type]
                pairs |= d2d_pairs
            if opd is not None and opd.per_day.get(d.district, 0.0) > 0:
                pairs |= opd_pairs
            if pairs:
                out[d.district] = pairs
        return out

    @property
    def specialty_names(self) -> list[str]:
        """Specialties in definition order (their code is the index)."""
        return list(self.specialties)

    @property
    def hub_ids(self) -> list[str]:
        """Hub ids in definition order (their code is the index)."""
        return [h.id for h in self.hubs]

    @property
    def district_names(self) -> list[str]:
        """District names in definition order (their code is the index)."""
        return [d.district for d in self.spokes.districts]

    @property
    def horizon_min(self) -> float:
        """Length of the run in minutes."""
        return self.calendar.horizon_days * 1440.0

    @property
    def warmup_min(self) -> float:
        """Length of the warm-up in minutes."""
        return self.calendar.warmup_days * 1440.0


def day_sessions(cal: Calendar, hub: Hub, specialty: str, day: int, closed: bool,
                 changes: list[RosterException]) -> list[tuple[int, int, int]]:
    """(start, end, doctors) of each session of a hub x specialty on one day, in roster order.

    ``closed``: the hub is shut that day (a holiday); ``changes``: the roster exceptions of
    this hub x specialty (any day). Cancellations remove sessions, additions come last.
    """
    wd = cal.weekday_of(day)
    out = [] if closed else [(s.start, s.end, s.doctors) for s in hub.roster
                             if s.specialty == specialty and wd in s.weekdays]
    for x in changes:
        if day not in cal.exception_days(x):
            continue
        if x.cancel:
            out = [s for s in out if x.start is not None and s[0] != x.start]
        elif x.session is not None:
            out.append(x.session)
    return out


def leave_on(cal: Calendar, changes: list[RosterException], day: int) -> int:
    """Doctors of a hub x specialty on leave on ``day`` (from its roster exceptions)."""
    return sum(x.on_leave for x in changes if x.on_leave is not None
               and day in cal.exception_days(x))


def _peak(sessions: list[tuple[int, int, int]]) -> int:
    """Largest number of doctors on duty at once in one day's sessions."""
    return max((sum(k for a2, b2, k in sessions if a2 <= a < b2) for a, _, _ in sessions),
               default=0)


def _days_label(cal: Calendar, days: range) -> str:
    """Days as the planner wrote them: dates when the calendar has them, else day numbers."""
    def one(d: int) -> str:
        date = cal.date_of(d)
        return f"day {d}" if date is None else f"{date.isoformat()} ({date.strftime('%a')})"
    return one(days[0]) if len(days) == 1 else f"{one(days[0])} to {one(days[-1])}"


def _peak_on_duty(hub: Hub) -> dict[str, int]:
    """Largest number of doctors per specialty the hub's roster puts on duty at once."""
    by_spec: dict[str, list[tuple[float, float, tuple[int, ...], int]]] = {}
    for s in hub.roster:
        by_spec.setdefault(s.specialty, []).append((s.start, s.end, s.weekdays, s.doctors))
    peak: dict[str, int] = {}
    for spec, sessions in by_spec.items():
        if len(sessions) == 1:  # one session: its doctors, on any day it runs
            peak[spec] = sessions[0][3] if sessions[0][2] else 0
            continue
        best = 0
        for todays in {tuple(x for x in sessions if wd in x[2]) for wd in range(7)}:
            for a, _, _, _ in todays:  # the load peaks at some session's start
                best = max(best, sum(k for a2, b2, _, k in todays if a2 <= a < b2))
        peak[spec] = best
    return peak


def _staffing_problems(menu: StaffingMenu, specs: set[str], hubs: set[str],
                       unknown: Callable[[str, str, set[str]], str]) -> Iterator[tuple[str, str]]:
    """Cross-checks of the staffing menu: names defined, clinic days possible."""
    for name, sm in menu.specialties.items():
        if name not in specs:
            yield f"staffing.specialties.{name}", unknown("specialty", name, specs)
        for j, sess in enumerate(sm.sessions or []):
            if sess not in menu.sessions:
                yield f"staffing.specialties.{name}.sessions.{j}", unknown(
                    "session", sess, set(menu.sessions))
        days = expand_days(sm.days if sm.days is not None else menu.days)
        need = sm.min_days if sm.min_days is not None else menu.min_days
        if need > len(days):
            yield f"staffing.specialties.{name}.min_days", (
                f"{need} clinic days a week cannot fit in the {len(days)} weekdays allowed")
    if menu.min_days > len(expand_days(menu.days)):
        yield "staffing.min_days", (f"{menu.min_days} clinic days a week cannot fit in the "
                                    f"{len(expand_days(menu.days))} weekdays allowed")
    for i, ref in enumerate(menu.fixed):
        if ref.hub not in hubs:
            yield f"staffing.fixed.{i}.hub", unknown("hub", ref.hub, hubs)
        if ref.specialty not in specs:
            yield f"staffing.fixed.{i}.specialty", unknown("specialty", ref.specialty, specs)
