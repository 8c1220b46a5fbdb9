"""Optional scenario sections and policies.

Queue policy, metrics, clinics, booking, failures, PHC tier, follow-ups, priorities,
absence and the staffing menu.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from sim.scenario.calendar import (
    Clock,
)
from sim.scenario.demand_schema import (
    _check_mix,
)
from sim.scenario.distributions import MAX_MINUTES, Distribution, Minutes
from sim.scenario.types import (
    _BOTH_CHANNELS,
    _PROB_TOL,
    _SUBCENTRES_ONLY,
    ClockTime,
    Count,
    Days,
    DaySpec,
    Frozen,
    Probability,
    Staff,
    format_clock,
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
