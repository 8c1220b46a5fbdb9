"""Priority classes: the queues serve the highest class first (without preempting).

Each request's class, and a class's own patience, are drawn with the arrivals
(``Model``, by ``sim.engine.demand.draw_priorities``).
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

import numpy as np

from sim.engine.mechanisms.base import Mechanism

if TYPE_CHECKING:
    from sim.engine.loop import Engine
    from sim.engine.model import Model


class Priorities(Mechanism):
    """The engine's queues serve by the classes the model drew."""

    section = "priorities"

    def __init__(self, model: Model):
        super().__init__(model)
        assert model.priority is not None
        self.classes = model.priority

    def install(self, eng: Engine) -> None:
        """Order the engine's queues by class."""
        self.prio = eng.prio = array("b", self.classes.tobytes())

    def grow(self, f: int, r: int) -> None:
        """A follow-up keeps its parent's class."""
        self.prio.append(self.prio[r])

    def columns(self) -> dict[str, np.ndarray]:
        """``priority``."""
        return {"priority": np.frombuffer(self.prio, dtype=np.int8)}
