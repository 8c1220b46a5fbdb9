"""Request records: what happened to every request in one run, as flat numpy columns.

The model fills them in; metrics read them; nothing reads them back into the model.
``RunResult`` bundles the records with the duty rosters that utilisation needs and the
scenario and seed that produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.engine.roster import DutyTimeline
from sim.scenario.schema import Scenario
from sim.scenario.types import CHANNELS, SPOKE_TYPES

OUTCOMES: tuple[str, ...] = ("served", "abandoned", "dropped", "unserved", "turned_away",
                             "no_show", "gave_up")
"""served: consult started; abandoned: left the queue (patience ran out); dropped: still
waiting when its queue closed under ``session_end: drop``; unserved: still waiting (or
waiting for its slot, a retry or an escalation) at the end of the horizon, or with no slot
before the run ends while its booking horizon reaches past it; turned_away: no appointment
slot within the booking horizon; no_show: did not join at the booked slot;
gave_up: every video-call attempt failed."""
SERVED, ABANDONED, DROPPED, UNSERVED, TURNED_AWAY, NO_SHOW, GAVE_UP = range(7)
TIERS: tuple[str, ...] = ("direct", "phc", "escalated")
"""direct: straight to a specialist hub; phc: stayed at the PHC tier (resolved by the PHC
medical officer, or left while waiting for one); escalated: seen by the PHC MO, then sent on
to a specialist hub."""
NEXT_STEPS: tuple[str, ...] = ("none", "follow_up", "referred")
"""What a specialist consult led to: nothing recorded, a follow-up request, a referral."""
PHC_LABEL = "(PHC tier)"
POOL_LABEL = "(state pool)"

COLUMNS: tuple[str, ...] = (
    "id", "channel", "spoke", "spoke_type", "district", "specialty", "hub", "doctor",
    "arrival", "start", "end", "overtime", "outcome",
    "priority", "tier", "phc_start", "phc_end", "queued", "slot", "attempts", "lost_min",
    "parent", "next_step",
)
NAME_COLUMNS: frozenset[str] = frozenset(
    {"channel", "spoke_type", "district", "specialty", "hub", "outcome", "tier", "next_step",
     "priority", "doctor"})
"""The columns ``RunResult.decoded`` turns into names: those of ``labels()``, and doctor."""
NEW_DTYPES: dict[str, type] = {
    "priority": np.int8, "tier": np.int8, "phc_start": np.float64, "phc_end": np.float64,
    "queued": np.float64, "slot": np.float64, "attempts": np.int16, "lost_min": np.float64,
    "parent": np.int64, "next_step": np.int8,
}


@dataclass(frozen=True)
class Records:
    """One row per request. Times are minutes from the start of the run; NaN where unset.

    ``hub`` is the hub the request was routed to (-1: the state-wide pooled queue, for a
    request that was never served, or the PHC tier); ``end`` is the consult end for a served
    request, the moment it left for an abandoned, dropped, turned-away, no-show or gave-up
    one, NaN for unserved.

    The later columns describe the optional mechanisms (their defaults when off):
    ``priority`` class index (0 = highest); ``tier`` (index into TIERS); ``phc_start`` and
    ``phc_end`` of the PHC MO consult (NaN); ``queued`` when it joined a specialist queue
    (NaN if it never did); ``slot`` the booked appointment start (NaN); ``attempts`` video
    consult attempts at the hub; ``lost_min`` doctor minutes lost to failed attempts;
    ``parent`` the id of the consult this request follows up (-1); ``next_step`` (index
    into NEXT_STEPS). For a request resolved at the PHC tier, ``start``/``end``/``doctor``
    are its PHC consult.
    """

    id: np.ndarray
    channel: np.ndarray
    spoke: np.ndarray
    spoke_type: np.ndarray
    district: np.ndarray
    specialty: np.ndarray
    hub: np.ndarray
    doctor: np.ndarray
    arrival: np.ndarray
    start: np.ndarray
    end: np.ndarray
    overtime: np.ndarray
    outcome: np.ndarray
    priority: np.ndarray
    tier: np.ndarray
    phc_start: np.ndarray
    phc_end: np.ndarray
    queued: np.ndarray
    slot: np.ndarray
    attempts: np.ndarray
    lost_min: np.ndarray
    parent: np.ndarray
    next_step: np.ndarray

    def __len__(self) -> int:
        return len(self.id)

    @property
    def wait(self) -> np.ndarray:
        """Minutes from arrival to consult start (NaN if not served)."""
        return self.start - self.arrival

    def select(self, mask: np.ndarray) -> Records:
        """The rows where ``mask`` is true."""
        return Records(**{c: getattr(self, c)[mask] for c in COLUMNS})

    def equals(self, other: Records) -> bool:
        """Exactly the same rows (NaN equal to NaN)."""
        return all(np.array_equal(getattr(self, c), getattr(other, c), equal_nan=True)
                   for c in COLUMNS)


@dataclass(frozen=True)
class RunResult:
    """Everything one simulated run produced, plus what is needed to interpret it."""

    scenario: Scenario
    seed_entropy: int
    seed_key: tuple[int, ...]
    records: Records
    duty: dict[tuple[int, int], DutyTimeline]
    doctor_names: list[str] = field(default_factory=list)
    phc_duty: dict[int, DutyTimeline] = field(default_factory=dict)
    """PHC-tier duty by district index (empty when the tier is off)."""
    tables: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    """Non-request facts of the run: ``slots`` (appointment slots offered and booked),
    ``sessions`` (rostered and absent doctors per session), ``rostered`` duty."""

    @property
    def warmup(self) -> float:
        """End of the warm-up, minutes from the start."""
        return self.scenario.warmup_min

    @property
    def horizon(self) -> float:
        """End of the run, minutes from the start."""
        return self.scenario.horizon_min

    def labels(self) -> dict[str, list[str]]:
        """Category names for the integer-coded columns."""
        sc = self.scenario
        return {
            "channel": list(CHANNELS),
            "spoke_type": list(SPOKE_TYPES),
            "district": sc.district_names,
            "specialty": sc.specialty_names,
            "hub": sc.hub_ids,
            "outcome": list(OUTCOMES),
            "tier": list(TIERS),
            "next_step": list(NEXT_STEPS),
            "priority": ([c.name for c in sc.priorities.classes] if sc.priorities
                         else ["routine"]),
        }

    def coded(self, rows: slice = slice(None)) -> dict[str, tuple[np.ndarray, list[str]]]:
        """Each name column as ``(codes, names)``: cell ``k`` is ``names[codes[k]]``.

        Codes index ``names`` directly (never negative), so a columnar writer stores them as
        a dictionary without building a string per row; ``decoded`` expands them.
        """
        r = self.records
        out: dict[str, tuple[np.ndarray, list[str]]] = {}
        for col, names in self.labels().items():
            codes = getattr(r, col)[rows]
            out[col] = (np.where(codes < 0, len(names), codes),
                        [*names, POOL_LABEL if col == "hub" else ""])
        hub, names = out["hub"]
        phc = (r.tier[rows] == 1) & (r.hub[rows] < 0)
        out["hub"] = (np.where(phc, len(names), hub), [*names, PHC_LABEL])
        doctor = r.doctor[rows]
        out["doctor"] = (np.where(doctor < 0, len(self.doctor_names), doctor),
                         [*self.doctor_names, ""])
        return out

    def decoded(self, rows: slice = slice(None)) -> dict[str, Any]:
        """Columns with category codes replaced by their names (for writing and reading).

        ``rows`` picks a range of records (all by default), so that a large run can be
        decoded a chunk at a time.
        """
        r = self.records
        out: dict[str, Any] = {c: getattr(r, c)[rows] for c in COLUMNS}
        for col, (codes, names) in self.coded(rows).items():
            out[col] = np.asarray(names, dtype=object)[codes]
        return out
