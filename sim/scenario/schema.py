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
from typing import Annotated, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from sim.scenario.distributions import MAX_MINUTES, Distribution, Minutes
from sim.scenario.standards import Standard, standards_problems

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DaySpec = Literal["all", "working"] | list[Weekday]
"""Days a session or opening applies to: ``all``, ``working`` (Mon-Sat) or a list."""

CHANNELS: tuple[str, ...] = ("d2d", "opd")
SPOKE_TYPES: tuple[str, ...] = ("subcentre", "phc", "home")
ROUTING_POLICIES: tuple[str, ...] = ("home_hub", "pooled", "least_wait", "overflow")

MAX_COUNT = 100_000
"""Most doctors, spokes or overbookings one field may hold: beyond any state's network."""
MAX_RATE = 1e6
"""Most requests per day from one spoke or district."""
MAX_SEED = 2**63 - 1

NonNegInt = Annotated[int, Field(ge=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Staff = Annotated[int, Field(ge=1, le=MAX_COUNT)]
Rate = Annotated[float, Field(ge=0, le=MAX_RATE)]
Weight = Annotated[float, Field(ge=0, le=1e9)]
Days = Annotated[float, Field(gt=0, le=3660)]
Multiplier = Annotated[float, Field(ge=0, le=1000)]
_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_LOOSE_TIME = re.compile(r"^(\d{1,2})\s*[:.h]\s*(\d{2})$")
_PROB_TOL = 1e-6


class Frozen(BaseModel):
    """Base for every scenario model: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True,
                              allow_inf_nan=False)


_CLOCKS: dict[str, int] = {}  # texts already parsed (a scenario repeats a few times often)


def parse_clock(value: object) -> int:
    """Turn ``"HH:MM"`` (``"24:00"`` allowed) into minutes since midnight."""
    if type(value) is str and value in _CLOCKS:
        return _CLOCKS[value]
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 09:30 as the sexagesimal integer 570 = 9*60+30.
        minutes = value
    elif isinstance(value, str) and (m := _TIME.match(value.strip())):
        minutes = int(m.group(1)) * 60 + int(m.group(2))
    elif isinstance(value, str) and (m := _LOOSE_TIME.match(value.strip())):
        raise ValueError(f"expected a time as 'HH:MM' (two digits each); write "
                         f"'{int(m.group(1)):02d}:{m.group(2)}'")
    else:
        raise ValueError("expected a time as 'HH:MM', e.g. '09:30'")
    if not 0 <= minutes <= 24 * 60:
        raise ValueError(f"time {value!r} is outside 00:00-24:00")
    if type(value) is str and len(_CLOCKS) < 4096:
        _CLOCKS[value] = minutes
    return minutes


def format_clock(minutes: int) -> str:
    """Minutes since midnight as ``"HH:MM"``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def expand_days(days: DaySpec) -> tuple[int, ...]:
    """Weekday numbers (Mon=0) named by a day spec."""
    if days == "all":
        return tuple(range(7))
    if days == "working":
        return tuple(range(6))
    return tuple(sorted({WEEKDAYS.index(d) for d in days}))


ClockTime = Annotated[
    int,
    BeforeValidator(parse_clock),
    PlainSerializer(format_clock, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _TIME.pattern}),
]
"""A time of day written 'HH:MM', held as minutes since midnight."""


class Clock(Frozen):
    """A daily time window on some weekdays, e.g. Mon-Sat 09:30-16:00."""

    days: DaySpec = "working"
    start: ClockTime = Field(description="Opening time, 'HH:MM'")
    end: ClockTime = Field(description="Closing time, 'HH:MM' (24:00 allowed)")

    @model_validator(mode="after")
    def _order(self) -> Clock:
        if self.end <= self.start:
            raise ValueError(
                f"end time {format_clock(self.end)} is not after start time "
                f"{format_clock(self.start)} (sessions may not cross midnight; split them)"
            )
        return self

    @property
    def weekdays(self) -> tuple[int, ...]:
        """Weekday numbers (Mon=0) the window applies to."""
        return expand_days(self.days)


DayRef = Annotated[
    dt.date | NonNegInt,
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date"},
                              {"type": "integer", "minimum": 0}]}),
]
"""A day: a date (2020-08-15, needs calendar.start_date) or a day number (0 = first day)."""


class Holiday(Frozen):
    """A day with no service: state-wide (spokes and hubs closed), or at named hubs only."""

    date: DayRef
    name: str = ""
    hubs: list[str] = Field(
        default_factory=list, description="Close only these hubs (spokes stay open); "
        "empty: state-wide")


def _holiday_item(value: object) -> object:
    """A bare date or day number is a state-wide holiday."""
    return value if isinstance(value, dict | Holiday) else {"date": value}


def _holiday_out(h: Holiday, info: SerializationInfo) -> object:
    """A plain state-wide holiday is written back as its bare date or day number."""
    if h.name or h.hubs:
        return h.model_dump(mode=info.mode)
    return h.date.isoformat() if isinstance(h.date, dt.date) and info.mode == "json" else h.date


HolidayItem = Annotated[
    Holiday,
    BeforeValidator(_holiday_item),
    PlainSerializer(_holiday_out),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date"},
                              {"type": "integer", "minimum": 0},
                              {"type": "object", "required": ["date"],
                               "properties": {"date": {}, "name": {"type": "string"},
                                              "hubs": {"type": "array",
                                                       "items": {"type": "string"}}}}]}),
]


class RosterException(Frozen):
    """A dated change to one hub's roster for one specialty, on a day or a run of days.

    Exactly one of: ``cancel: true`` (that day's sessions, or the one starting at
    ``start``, do not run); ``start``/``end``/``doctors`` (an extra session); ``on_leave: k``
    (k registered doctors away: no more than the rest are ever on duty at once).
    """

    hub: str
    specialty: str
    date: DayRef
    until: DayRef | None = Field(None, description="Last day of a run of days (inclusive)")
    cancel: bool = False
    start: ClockTime | None = None
    end: ClockTime | None = None
    doctors: Staff | None = None
    on_leave: Staff | None = None
    note: str = ""

    @model_validator(mode="after")
    def _one_change(self) -> RosterException:
        added = self.end is not None or self.doctors is not None
        kinds = [k for k, on in (("cancel", self.cancel), ("an added session", added),
                                 ("on_leave", self.on_leave is not None)) if on]
        if len(kinds) != 1:
            raise ValueError("give exactly one change: cancel: true, an added session "
                             "(start, end, doctors) or on_leave: N"
                             + (f" (got {' and '.join(kinds)})" if kinds else ""))
        if added:
            if self.start is None or self.end is None:
                raise ValueError("an added session needs start and end")
            if self.end <= self.start:
                raise ValueError(f"end time {format_clock(self.end)} is not after start time "
                                 f"{format_clock(self.start)}")
        if self.on_leave is not None and self.start is not None:
            raise ValueError("on_leave applies to whole days; drop start")
        return self

    @property
    def session(self) -> tuple[int, int, int] | None:
        """(start, end, doctors) of an added session, else None."""
        if self.cancel or self.on_leave is not None or self.start is None or self.end is None:
            return None
        return self.start, self.end, self.doctors or 1


class Calendar(Frozen):
    """Simulated horizon, the days with no service and dated changes to the rosters.

    Days are numbered from 0. With ``start_date`` the weekdays follow from it, days can be
    given as dates, and the horizon can end on ``end_date`` (the last simulated day)
    instead of lasting ``horizon_days``.
    """

    start_date: dt.date | None = Field(None, description="Date of day 0 (sets start_weekday)")
    end_date: dt.date | None = Field(
        None, description="Last simulated day (sets horizon_days); needs start_date")
    horizon_days: Annotated[int, Field(ge=1, le=3660)]
    warmup_days: NonNegFloat = 0.0
    start_weekday: Weekday = "mon"
    holidays: list[HolidayItem] = Field(
        default_factory=list,
        description="Days with no service: day numbers, dates, or {date, name, hubs}; dates "
        "outside the horizon are ignored (a year's list serves any horizon)")
    holidays_closed: bool = Field(
        True, description="If false, holidays are ordinary days (kept for what-if runs)"
    )
    roster_exceptions: list[RosterException] = Field(
        default_factory=list, description="Dated roster changes: a clinic cancelled or "
        "added, doctors on leave; dates outside the horizon are ignored")

    @model_validator(mode="before")
    @classmethod
    def _from_dates(cls, data: object) -> object:
        """horizon_days and start_weekday from the dates, or a check that they agree."""
        if not isinstance(data, dict):
            return data
        start, end = _as_date(data.get("start_date")), _as_date(data.get("end_date"))
        out = dict(data)
        if end is not None:
            if start is None:
                raise ValueError("end_date needs start_date")
            days = (end - start).days + 1
            if days < 1:
                raise ValueError(f"end_date {end} is before start_date {start}")
            if out.get("horizon_days") is None:
                out["horizon_days"] = days
            if (given := out["horizon_days"]) != days:
                raise ValueError(f"horizon_days ({given}) disagrees with start_date {start} to "
                                 f"end_date {end} ({days} days); give one of them")
        if start is not None:
            wd = WEEKDAYS[start.weekday()]
            if out.get("start_weekday") is None:
                out["start_weekday"] = wd
            if (given := out["start_weekday"]) != wd:
                raise ValueError(f"start_date {start} is a {start.strftime('%A')} but "
                                 f"start_weekday is {given!r}; drop start_weekday")
        return out

    @model_validator(mode="after")
    def _check(self) -> Calendar:
        if self.warmup_days >= self.horizon_days:
            raise ValueError(
                f"warmup_days ({self.warmup_days}) must be shorter than horizon_days "
                f"({self.horizon_days})"
            )
        problems = []
        if self.start_date is None:
            dated = [f"holidays {i}" for i, h in enumerate(self.holidays)
                     if isinstance(h.date, dt.date)]
            dated += [f"roster_exceptions {i}" for i, x in enumerate(self.roster_exceptions)
                      if isinstance(x.date, dt.date) or isinstance(x.until, dt.date)]
            if dated:
                raise ValueError(f"dates need calendar.start_date (dated: {', '.join(dated)})")
        late = [h.date for h in self.holidays
                if isinstance(h.date, int) and h.date >= self.horizon_days]
        if late:  # a day number past the end is a mistake; a date past it is next year's
            problems.append(f"holidays {late} fall after the horizon ({self.horizon_days} days)")
        for i, x in enumerate(self.roster_exceptions):
            if x.until is not None and self.day_number(x.until) < self.day_number(x.date):
                problems.append(f"roster_exceptions {i}: until is before date")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def cut_to(self, days: int) -> dict[str, object]:
        """Overrides that shorten the horizon to ``days`` (day-number holidays past it go)."""
        dumped = self.model_dump(mode="json")["holidays"]
        return {"calendar.horizon_days": days, "calendar.end_date": None,
                "calendar.holidays": [d for h, d in zip(self.holidays, dumped, strict=True)
                                      if not (isinstance(h.date, int) and h.date >= days)]}

    def day_number(self, day: dt.date | int) -> int:
        """Day number of a date (0 = start_date) or of a day number (itself)."""
        if isinstance(day, dt.date):
            assert self.start_date is not None, "dates need calendar.start_date"
            return (day - self.start_date).days
        return day

    def date_of(self, day: int) -> dt.date | None:
        """Date of simulated day ``day`` (None without start_date)."""
        return None if self.start_date is None else self.start_date + dt.timedelta(days=day)

    def holiday_days(self) -> list[int]:
        """Day numbers within the horizon that are state-wide holidays."""
        return sorted({d for h in self.holidays if not h.hubs
                       and 0 <= (d := self.day_number(h.date)) < self.horizon_days})

    def hub_closures(self) -> dict[str, list[int]]:
        """Day numbers within the horizon on which a hub alone is closed, by hub id."""
        out: dict[str, set[int]] = {}
        if not self.holidays_closed:
            return {}
        for h in self.holidays:
            d = self.day_number(h.date)
            if h.hubs and 0 <= d < self.horizon_days:
                for hub in h.hubs:
                    out.setdefault(hub, set()).add(d)
        return {hub: sorted(days) for hub, days in out.items()}

    def exception_days(self, x: RosterException) -> range:
        """Day numbers within the horizon that a roster exception covers."""
        first = self.day_number(x.date)
        last = first if x.until is None else self.day_number(x.until)
        return range(max(first, 0), min(last, self.horizon_days - 1) + 1)

    def weekday_of(self, day: int) -> int:
        """Weekday number (Mon=0) of simulated day ``day``."""
        return (WEEKDAYS.index(self.start_weekday) + day) % 7

    def is_holiday(self, day: int) -> bool:
        """Whether simulated day ``day`` is a closed state-wide holiday."""
        return self.holidays_closed and day in self.holiday_days()

    def weekday_array(self) -> np.ndarray:
        """Weekday number (Mon=0) of every simulated day, ``weekday_of`` as one array."""
        return (WEEKDAYS.index(self.start_weekday) + np.arange(self.horizon_days)) % 7

    def open_days(self, weekdays: tuple[int, ...] | None = None) -> np.ndarray:
        """Day numbers that are not closed state-wide holidays (and fall on ``weekdays``)."""
        keep = np.ones(self.horizon_days, dtype=bool)
        if self.holidays_closed and self.holidays:
            keep[self.holiday_days()] = False
        if weekdays is not None:
            on = np.zeros(7, dtype=bool)
            on[list(weekdays)] = True
            keep &= on[self.weekday_array()]
        return np.flatnonzero(keep)


def _as_date(value: object) -> dt.date | None:
    """A date from a date or an ISO string; None for anything else (checked later)."""
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


class Specialty(Frozen):
    """A clinical specialty and how long its consults take."""

    consult: Distribution = Field(description="Consult length in minutes")
    label: str | None = None


class Session(Clock):
    """Doctors of one specialty on tele-duty in a daily window."""

    specialty: str
    doctors: Staff = 1
    id: str | None = Field(
        None, min_length=1, exclude_if=lambda v: v is None,
        description="Optional name, so an overlay or --set can find the line by it")


class Hub(Frozen):
    """A specialist hub: its registered doctor pool and its duty roster."""

    id: str = Field(min_length=1)
    name: str = ""
    district: str = ""
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    doctors: dict[str, Count] = Field(
        default_factory=dict, description="Registered doctors per specialty (the pool)"
    )
    roster: list[Session] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids(self) -> Hub:
        ids = [s.id for s in self.roster if s.id is not None]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"roster line ids must be unique within a hub; repeated: {dup}")
        return self


class District(Frozen):
    """A district: its spokes, where they send requests, and where it lies."""

    district: str = Field(min_length=1)
    home_hub: str
    subcentres: Count = 0
    phcs: Count = 0
    population: Annotated[int, Field(ge=0, le=10**10)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    hours: Clock | None = Field(None, description="Overrides spokes.hours for this district")
    d2d_per_day: Rate | None = Field(
        None, description="Doctor-to-doctor requests per open day from this district's "
        "spokes; overrides demand.d2d.per_spoke_per_day here (split across its sub-centres "
        "and PHCs in proportion to count times those rates, or to count if they are 0)")

    @model_validator(mode="after")
    def _spokes_for_volume(self) -> District:
        if self.d2d_per_day and not self.subcentres + self.phcs:
            raise ValueError(f"d2d_per_day ({self.d2d_per_day:g}) needs spokes (subcentres or "
                             "phcs) to send the requests")
        return self

    def d2d_by_type(self, per_spoke: dict[str, float]) -> tuple[float, float]:
        """Doctor-to-doctor requests per open day from (its sub-centres, its PHCs)."""
        counts = (self.subcentres, self.phcs)
        rates = [n * per_spoke.get(t, 0.0) for n, t in zip(counts, ("subcentre", "phc"),
                                                           strict=True)]
        if self.d2d_per_day is None:
            return rates[0], rates[1]
        weights = rates if sum(rates) > 0 else [float(n) for n in counts]
        total = sum(weights)
        return (self.d2d_per_day * weights[0] / total, self.d2d_per_day * weights[1] / total)


class Spokes(Frozen):
    """The spoke facilities (Health & Wellness Centres) by district."""

    hours: Clock = Field(description="Default opening hours of every spoke")
    districts: list[District] = Field(min_length=1)


def _check_mix(mix: dict[str, float], what: str) -> dict[str, float]:
    total = sum(mix.values())
    if abs(total - 1.0) > _PROB_TOL:
        raise ValueError(f"{what} probabilities sum to {total:.6g}, not 1")
    return mix


class Profiles(Frozen):
    """Relative arrival intensity by hour of day and by weekday, and the arrival process."""

    process: Literal["poisson", "regular"] = Field(
        "poisson",
        description="poisson: non-homogeneous Poisson arrivals; regular: evenly spaced in "
        "cumulative intensity (deterministic arrivals, for exact hand-checked cases)",
    )

    hour_profile: list[Weight] | None = Field(
        None, description="24 relative weights, hour 0 first; default flat"
    )
    weekday_profile: dict[Weekday, Weight] = Field(
        default_factory=dict, description="Relative daily volume by weekday; default 1"
    )

    @field_validator("hour_profile")
    @classmethod
    def _hours(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and len(v) != 24:
            raise ValueError(f"hour_profile needs 24 values (one per hour), got {len(v)}")
        if v is not None and sum(v) <= 0:
            raise ValueError("hour_profile must not be all zero")
        return v


class D2DDemand(Profiles):
    """Doctor-to-doctor requests raised by the spokes' staff."""

    per_spoke_per_day: dict[Literal["subcentre", "phc"], Rate] = Field(
        description="Mean requests per spoke per open day, by spoke type"
    )
    specialty_mix: dict[str, NonNegFloat]

    @field_validator("specialty_mix")
    @classmethod
    def _mix(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_mix(v, "specialty_mix")


class OPDDemand(Profiles):
    """Patient-at-home (OPD mode) requests by district."""

    per_day: dict[str, Rate] = Field(description="Mean requests per open day by district")
    specialty_mix: dict[str, NonNegFloat]
    hours: Clock | None = Field(None, description="When patients can request; default spokes.hours")

    @field_validator("specialty_mix")
    @classmethod
    def _mix(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_mix(v, "specialty_mix")


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class GrowthCurve(Frozen):
    """Demand that changes over time: a multiplier by month, or between dated points.

    It multiplies every arrival rate day by day, on top of ``demand.growth``.
    """

    monthly: dict[str, Multiplier] = Field(
        default_factory=dict, description="'YYYY-MM': multiplier for every day of that month "
        "(needs calendar.start_date; every month of the horizon needs a value)")
    points: list[tuple[DayRef, Multiplier]] = Field(
        default_factory=list, description="[day, multiplier] pairs, days increasing: a date "
        "or a day number; flat before the first and after the last")
    between: Literal["linear", "step"] = Field(
        "linear", description="points: linear between them, or step (each value holds until "
        "the next point)")

    @model_validator(mode="after")
    def _one_form(self) -> GrowthCurve:
        if bool(self.monthly) == bool(self.points):
            raise ValueError("give either monthly or points")
        bad = [m for m in self.monthly if not _MONTH.match(m)]
        if bad:
            raise ValueError(f"monthly keys are months written 'YYYY-MM' (quoted); got {bad}")
        return self


class Demand(Frozen):
    """Where requests come from; arrivals are non-homogeneous Poisson."""

    growth: Multiplier = Field(1.0, description="Multiplier on every arrival rate")
    growth_curve: GrowthCurve | None = Field(
        None, description="Multiplier that changes over time, on top of growth")
    d2d: D2DDemand | None = None
    opd: OPDDemand | None = None


class Routing(Frozen):
    """How a request picks the hub (queue) that serves it."""

    policy: Literal["home_hub", "pooled", "least_wait", "overflow"] = "home_hub"
    overflow_threshold_min: Minutes = Field(
        30.0, description="overflow: leave the home hub when its expected wait exceeds this"
    )


class QueuePolicy(Frozen):
    """Patience and what happens to requests still waiting when a session closes."""

    patience: Distribution | None = Field(None, description="Time a request waits before leaving")
    session_end: Literal["carry", "drop"] = Field(
        "carry",
        description="carry: waiting requests keep their place for the next session (a token "
        "stays valid); drop: they are dropped when the queue closes",
    )


class MetricsConfig(Frozen):
    """Service-level targets reported as the share of served requests seen within them."""

    targets_min: list[Annotated[float, Field(gt=0, le=MAX_MINUTES)]] = Field(
        default_factory=lambda: [15.0, 30.0, 60.0])


Probability = Annotated[float, Field(ge=0, le=1)]
_BOTH_CHANNELS: tuple[Literal["d2d", "opd"], ...] = ("d2d", "opd")
_SUBCENTRES_ONLY: tuple[Literal["subcentre", "phc"], ...] = ("subcentre",)


class Clinic(Frozen):
    """Scheduled appointments at one hub x specialty: on-duty time cut into slots."""

    hub: str
    specialty: str
    slot_min: Annotated[float, Field(gt=0, le=1440)] = Field(
        description="Slot length in minutes")
    horizon_days: Days = Field(
        7.0, description="A request books the earliest free slot starting within this many "
        "days of its arrival, else it is turned away")
    overbook_per_session: Count = Field(
        0, description="Extra bookings accepted per session (spread over its slots)")
    same_day_share: Probability = Field(
        0.0, description="Share of each session's slots (its last ones) held back for "
        "requests made the same day")
    channels: list[Literal["d2d", "opd"]] = Field(
        default_factory=lambda: list(_BOTH_CHANNELS),
        description="Channels that book; the others join the token queue of the same doctors")


class Booking(Frozen):
    """Appointment clinics and no-shows (off when the section is absent)."""

    clinics: list[Clinic] = Field(min_length=1)
    no_show: dict[Literal["d2d", "opd"], Probability] = Field(
        default_factory=dict,
        description="Probability by channel that a booked patient (or spoke) does not join")
    report_within_days: list[Days] = Field(
        default_factory=lambda: [1.0, 3.0, 7.0],
        description="Report the share of requests booked within these many days")


class Connectivity(Frozen):
    """How likely a video consult attempt fails and how much doctor time it wastes."""

    fail_prob: Probability = 0.0
    wasted_min: Minutes = Field(5.0, description="Doctor minutes lost per failed attempt")


class Failures(Frozen):
    """Failed video calls by district or spoke type, and the retry policy."""

    default: Connectivity = Connectivity()
    spoke_types: dict[Literal["subcentre", "phc", "home"], Connectivity] = Field(
        default_factory=dict, description="Overrides the default by spoke type")
    districts: dict[str, Connectivity] = Field(
        default_factory=dict, description="Overrides spoke type and default by district")
    retry_delay_min: Minutes = Field(
        10.0, description="A failed request rejoins the queue after this delay")
    max_attempts: Annotated[int, Field(ge=1, le=100)] = Field(
        3, description="Attempts before the request gives up")


class PhcTier(Frozen):
    """The PHC medical-officer tier: a first consult step before the specialist hubs."""

    spoke_types: list[Literal["subcentre", "phc"]] = Field(
        default_factory=lambda: list(_SUBCENTRES_ONLY),
        description="Doctor-to-doctor requests from these spoke types see the PHC MO first")
    escalate_share: Probability = Field(description="Share escalated to the specialist hub")
    consult: Distribution = Field(description="PHC MO consult length in minutes")
    hours: Clock = Field(description="When the PHC MOs are on tele-duty")
    doctors: Staff = Field(1, description="MOs on tele-duty per district during the hours")
    district_doctors: dict[str, Staff] = Field(
        default_factory=dict, description="Overrides doctors for named districts")
    escalation_delay_min: Minutes = Field(
        0.0, description="Delay between the PHC consult end and joining the hub queue")


class FollowUps(Frozen):
    """What a specialist consult leads to: a follow-up request, or a physical referral."""

    share: Probability = Field(0.0, description="Share asked to return as a follow-up request")
    delay: Distribution | None = Field(
        None, description="Minutes from the consult end to the follow-up request (moved to "
        "the next time its spoke is open)")
    referral_share: Probability = Field(
        0.0, description="Share referred to a physical visit (counted, not simulated)")
    repeat: bool = Field(False, description="Whether follow-ups can lead to further follow-ups")

    @model_validator(mode="after")
    def _check(self) -> FollowUps:
        if self.share + self.referral_share > 1 + _PROB_TOL:
            raise ValueError(f"share ({self.share}) + referral_share ({self.referral_share}) "
                             "exceeds 1")
        if self.share > 0 and self.delay is None:
            raise ValueError("a positive follow-up share needs a delay distribution")
        return self


class PriorityClass(Frozen):
    """One priority class: its share of requests, patience and service-level targets."""

    name: str = Field(min_length=1)
    share: Probability
    patience: Distribution | None = Field(None, description="Overrides queue.patience")
    targets_min: list[Annotated[float, Field(gt=0, le=MAX_MINUTES)]] = Field(
        default_factory=list)


class Priorities(Frozen):
    """Priority classes, highest first; queues serve higher classes first (non-preemptive)."""

    classes: list[PriorityClass] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Priorities:
        names = [c.name for c in self.classes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"priority class names must be unique; repeated: {dup}")
        _check_mix({c.name: c.share for c in self.classes}, "priority class share")
        return self


class Absence(Frozen):
    """Each rostered doctor is absent from a session with this probability."""

    prob: Probability
    hubs: dict[str, Probability] = Field(default_factory=dict, description="Overrides by hub")


class SessionWindow(Frozen):
    """One session of the staffing menu: a daily duty window, e.g. 09:30-12:45."""

    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _order(self) -> SessionWindow:
        if self.end <= self.start:
            raise ValueError(f"end time {format_clock(self.end)} is not after start time "
                             f"{format_clock(self.start)}")
        return self


class SpecialtyMenu(Frozen):
    """Where ``hubsim staff`` may put one specialty: weekdays, sessions, clinic days a week."""

    days: DaySpec | None = Field(None, description="Weekdays it may sit; default staffing.days")
    sessions: list[str] | None = Field(
        None, description="Session names it may use; default every session of the menu")
    min_days: Annotated[int, Field(ge=0)] | None = Field(
        None, description="Clinic days a week at least; default staffing.min_days")


class PoolRef(Frozen):
    """One hub x specialty pool."""

    hub: str
    specialty: str


class StaffingMenu(Frozen):
    """What ``hubsim staff`` may choose from: the session menu and the planner's limits."""

    sessions: dict[str, SessionWindow] = Field(
        min_length=1, description="Named daily sessions, e.g. full 09:30-16:00, morning, "
        "afternoon; sessions that overlap are never combined on one day")
    days: DaySpec = Field("working", description="Weekdays any pool may sit")
    specialties: dict[str, SpecialtyMenu] = Field(
        default_factory=dict, description="Per specialty overrides (clinic-day specialties)")
    min_days: Annotated[int, Field(ge=0)] = Field(
        1, description="Clinic days a week at least, for every pool with demand")
    budget_per_day: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Most doctors on duty on any one day, all pools together "
        "(a doctor counted once per session)")
    fixed: list[PoolRef] = Field(
        default_factory=list, description="Pools kept exactly as rostered")


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
