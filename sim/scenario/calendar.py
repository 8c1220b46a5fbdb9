"""The scenario calendar: clock windows, holidays, roster exceptions and the Calendar model."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import numpy as np
from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    SerializationInfo,
    WithJsonSchema,
    model_validator,
)

from sim.scenario.types import (
    WEEKDAYS,
    ClockTime,
    DaySpec,
    Frozen,
    NonNegFloat,
    NonNegInt,
    Staff,
    Weekday,
    expand_days,
    format_clock,
)


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
