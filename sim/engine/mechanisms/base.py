"""The interface every optional mechanism of the engine loop implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    from sim.engine.loop import Engine
    from sim.engine.model import Model
    from sim.engine.network import Network


class Mechanism:
    """One optional mechanism: the loop hooks it fills, the columns it records."""

    section: ClassVar[str]
    """The scenario section that switches it on."""
    adds_requests: ClassVar[bool] = False
    """Whether it adds requests during the run (the engine's columns must then grow)."""
    calls_later: ClassVar[bool] = False
    """Whether it makes calls for later (``Engine.at``; the loop then merges them in)."""

    def __init__(self, model: Model):
        self.sc = model.scenario

    def extend(self, net: Network) -> None:
        """Add pools and queues to the network (before the engine is built)."""

    def install(self, eng: Engine) -> None:
        """Fill the engine's hooks and make this mechanism's columns."""

    def grow(self, f: int, r: int) -> None:
        """Request ``f`` was added as a follow-up of ``r``: extend this mechanism's columns."""

    def columns(self) -> dict[str, np.ndarray]:
        """Record columns this mechanism owns (after the run)."""
        return {}

    def tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Non-request tables of the run (after the run)."""
        return {}
