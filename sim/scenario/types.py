"""Shared scenario types: the frozen model base, weekdays, channels, bounds, clock parsing."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DaySpec = Literal["all", "working"] | list[Weekday]

CHANNELS: tuple[str, ...] = ("d2d", "opd")
SPOKE_TYPES: tuple[str, ...] = ("subcentre", "phc", "home")
ROUTING_POLICIES: tuple[str, ...] = ("home_hub", "pooled", "least_wait", "overflow")

MAX_COUNT = 100_000
MAX_RATE = 1e6
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


Probability = Annotated[float, Field(ge=0, le=1)]
_BOTH_CHANNELS: tuple[Literal["d2d", "opd"], ...] = ("d2d", "opd")
_SUBCENTRES_ONLY: tuple[Literal["subcentre", "phc"], ...] = ("subcentre",)
