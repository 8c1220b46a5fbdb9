"""Demand models: arrival profiles, D2D and OPD demand, growth curves."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from sim.scenario.calendar import (
    Clock,
    DayRef,
)
from sim.scenario.types import (
    _PROB_TOL,
    Frozen,
    Multiplier,
    NonNegFloat,
    Rate,
    Weekday,
    Weight,
)


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
