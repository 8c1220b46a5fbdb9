"""The network: specialties, hub sessions, hubs, districts, spokes and routing."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from sim.scenario.calendar import (
    Clock,
)
from sim.scenario.distributions import Distribution, Minutes
from sim.scenario.types import (
    Count,
    Frozen,
    Rate,
    Staff,
)


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


class Routing(Frozen):
    """How a request picks the hub (queue) that serves it."""

    policy: Literal["home_hub", "pooled", "least_wait", "overflow"] = "home_hub"
    overflow_threshold_min: Minutes = Field(
        30.0, description="overflow: leave the home hub when its expected wait exceeds this"
    )
