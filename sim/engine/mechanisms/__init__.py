"""Optional mechanisms of the engine, one module each; a scenario section switches each on.

Each is a ``Mechanism``: built from the model (it draws its own random numbers from named
streams, so switching one on shifts no other draw), it may add pools to the network
(``extend``), then fills some of the engine loop's hooks (``install``, see
``sim.engine.loop``) and finally hands back its record columns and tables. ``absence`` is
not here: it only thins the duty timelines before the network is built
(``sim.engine.roster.absent_timelines``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.engine.mechanisms.base import Mechanism
from sim.engine.mechanisms.booking import Booking
from sim.engine.mechanisms.failures import Failures
from sim.engine.mechanisms.followups import FollowUps
from sim.engine.mechanisms.phc import PhcTier
from sim.engine.mechanisms.priorities import Priorities

__all__ = ["KINDS", "SECTIONS", "Booking", "Failures", "FollowUps", "Mechanism", "PhcTier",
           "Priorities", "mechanisms_of"]

if TYPE_CHECKING:
    from sim.engine.model import Model

KINDS: tuple[type[Mechanism], ...] = (Priorities, PhcTier, Booking, Failures, FollowUps)
"""Every mechanism, in the order the loop calls them (also the order of the draws each
makes for a follow-up, ``grow``)."""
SECTIONS: tuple[str, ...] = tuple(k.section for k in KINDS)
"""Scenario sections that switch on a mechanism of the loop (absence only thins rosters)."""


def mechanisms_of(model: Model) -> list[Mechanism]:
    """The mechanisms ``model``'s scenario switches on."""
    return [k(model) for k in KINDS if getattr(model.scenario, k.section) is not None]
