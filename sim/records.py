"""Request records: what happened to every request in one run, as flat numpy columns.

The model fills them in; metrics read them; nothing reads them back into the model.
``RunResult`` bundles the records with the duty rosters that utilisation needs and the
scenario and seed that produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.roster import DutyTimeline
from sim.scenario import CHANNELS, SPOKE_TYPES, Scenario

OUTCOMES: tuple[str, ...] = ("served", "abandoned", "dropped", "unserved")
"""served: consult started; abandoned: left the queue (patience ran out); dropped: still
waiting when its queue closed under ``session_end: drop``; unserved: still waiting at the
end of the horizon."""
SERVED, ABANDONED, DROPPED, UNSERVED = range(4)
POOL_LABEL = "(state pool)"

COLUMNS: tuple[str, ...] = (
    "id", "channel", "spoke", "spoke_type", "district", "specialty", "hub", "doctor",
    "arrival", "start", "end", "overtime", "outcome",
)


@dataclass(frozen=True)
class Records:
    """One row per request. Times are minutes from the start of the run; NaN where unset.

    ``hub`` is the hub the request was routed to (-1: the state-wide pooled queue, for a
    request that was never served); ``end`` is the consult end for a served request, the
    moment it left for an abandoned or dropped one, NaN for unserved.
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

    @property
    def warmup(self) -> float:
        return self.scenario.warmup_min

    @property
    def horizon(self) -> float:
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
        }

    def decoded(self) -> dict[str, Any]:
        """Columns with category codes replaced by their names (for writing and reading)."""
        r = self.records
        out: dict[str, Any] = {c: getattr(r, c) for c in COLUMNS}
        for col, names in self.labels().items():
            codes = getattr(r, col)
            table = np.asarray([*names, POOL_LABEL if col == "hub" else ""], dtype=object)
            out[col] = table[np.where(codes < 0, len(names), codes)]
        docs = np.asarray([*self.doctor_names, ""], dtype=object)
        out["doctor"] = docs[np.where(r.doctor < 0, len(self.doctor_names), r.doctor)]
        return out
