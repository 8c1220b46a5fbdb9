"""Service standards: what a planner promises, e.g. "90% of cardiology seen by the next clinic".

A standard names a measure, a target, where it applies and how it is grouped; the
``standards:`` list of a scenario holds them. Judging them against replications is
``sim.analysis.standards``; this module is the data only.

Measures and their targets (``sense`` follows from the measure):

- ``share_within``: share of requests seen within ``within_min`` minutes, at least
  ``target`` (a fraction, 0.9 = 90%);
- ``share_by_next_session``: share seen the same day, or else by the end of the next
  session of the clinic (hub x specialty) that serves them, at least ``target``;
- ``wait_percentile``: the ``percentile``-th wait of served requests at most ``target``
  minutes;
- ``wait_mean``: mean wait of served requests at most ``target`` minutes;
- ``abandonment``: share of requests that gave up waiting at most ``target``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MEASURES: tuple[str, ...] = (
    "share_within", "share_by_next_session", "wait_percentile", "wait_mean", "abandonment")
Measure = Literal["share_within", "share_by_next_session", "wait_percentile", "wait_mean",
                  "abandonment"]
SHARE_MEASURES: tuple[str, ...] = ("share_within", "share_by_next_session", "abandonment")
"""Measures whose value and target are fractions in [0, 1] (the others are minutes)."""
AT_LEAST: tuple[str, ...] = ("share_within", "share_by_next_session")
"""Measures that must be at least their target (the others at most)."""
GROUP_KEYS: tuple[str, ...] = ("hub", "specialty", "district", "channel", "spoke_type",
                               "priority")
GroupKey = Literal["hub", "specialty", "district", "channel", "spoke_type", "priority"]
DEFAULT_MIN_REQUESTS = 10


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True,
                              allow_inf_nan=False)


class Where(_Frozen):
    """The requests a standard applies to; an absent list means all of them."""

    specialties: list[str] | None = None
    channels: list[Literal["d2d", "opd"]] | None = None
    priorities: list[str] | None = Field(None, description="Priority class names")
    hubs: list[str] | None = Field(None, description="Hub ids (the hub that served or held it)")


class Standard(_Frozen):
    """One service standard and how it is judged."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$",
                    description="Short unique name (letters, digits, _ . -)")
    label: str = Field("", description="Plain words for reports, e.g. '90% seen in 30 min'")
    measure: Measure
    target: float = Field(description="A fraction for share_within, share_by_next_session "
                          "and abandonment (0.9 = 90%); minutes for wait_percentile and "
                          "wait_mean")
    within_min: Annotated[float, Field(gt=0)] | None = Field(
        None, description="share_within: the wait T in minutes")
    percentile: Annotated[float, Field(gt=0, lt=100)] | None = Field(
        None, description="wait_percentile: which percentile (90 = p90)")
    where: Where = Where()
    by: list[GroupKey] = Field(
        default_factory=list,
        description="Judge each group separately, e.g. [hub, specialty]; empty: as one")
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    min_requests: Annotated[float, Field(ge=1)] = Field(
        DEFAULT_MIN_REQUESTS,
        description="A group with fewer requests than this per replication (on average) is "
        "'too small' to judge")

    @model_validator(mode="after")
    def _check(self) -> Standard:
        problems = list(self._problems())
        if problems:
            raise ValueError("\n".join(f"at {path}: {msg}" for path, msg in problems))
        return self

    def _problems(self) -> Iterator[tuple[str, str]]:
        m = self.measure
        if m in SHARE_MEASURES and not 0.0 <= self.target <= 1.0:
            hint = f"; did you mean {self.target / 100:g}?" if 1 < self.target <= 100 else ""
            yield "target", (f"the target of a {m} standard is a fraction between 0 and 1, "
                             f"got {self.target:g}{hint}")
        if m not in SHARE_MEASURES and not self.target > 0:
            yield "target", (f"the target of a {m} standard is a wait in minutes and must "
                             f"be > 0, got {self.target:g}")
        if m == "share_within" and self.within_min is None:
            yield "within_min", "a share_within standard needs within_min (T in minutes, > 0)"
        if m != "share_within" and self.within_min is not None:
            yield "within_min", f"within_min applies to share_within only, not {m}"
        if m == "wait_percentile" and self.percentile is None:
            yield "percentile", "a wait_percentile standard needs percentile (e.g. 90)"
        if m != "wait_percentile" and self.percentile is not None:
            yield "percentile", f"percentile applies to wait_percentile only, not {m}"
        if len(set(self.by)) != len(self.by):
            yield "by", f"lists a grouping twice: {self.by}"

    @property
    def sense(self) -> str:
        """``at_least`` or ``at_most``."""
        return "at_least" if self.measure in AT_LEAST else "at_most"

    @property
    def group_by(self) -> str:
        """The grouping's name in tables: ``all``, ``hub``, ``hub_specialty``, ..."""
        return "_".join(self.by) if self.by else "all"


def standards_problems(standards: list[Standard], specialties: set[str], hubs: set[str],
                       priorities: set[str] | None,
                       unknown: Callable[[str, str, set[str]], str]
                       ) -> Iterator[tuple[str, str]]:
    """Cross-checks of a scenario's standards: unique ids, defined names (path, message)."""
    ids = [s.id for s in standards]
    for i, s in enumerate(standards):
        if ids.index(s.id) != i:
            yield f"standards.{i}.id", f"standard id {s.id!r} is used twice"
        w = s.where
        for j, name in enumerate(w.specialties or ()):
            if name not in specialties:
                yield f"standards.{i}.where.specialties.{j}", unknown(
                    "specialty", name, specialties)
        for j, name in enumerate(w.hubs or ()):
            if name not in hubs:
                yield f"standards.{i}.where.hubs.{j}", unknown("hub", name, hubs)
        if priorities is None:
            if w.priorities is not None:
                yield f"standards.{i}.where.priorities", (
                    "the scenario has no priority classes (add a priorities: section)")
            if "priority" in s.by:
                yield f"standards.{i}.by", (
                    "grouping by priority needs priority classes (add a priorities: section)")
        else:
            for j, name in enumerate(w.priorities or ()):
                if name not in priorities:
                    yield f"standards.{i}.where.priorities.{j}", unknown(
                        "priority class", name, priorities)
