"""hubsim: a discrete-event simulator for hub-and-spoke teleconsultation networks.

The flow is one way: ``load_scenario`` (YAML -> validated ``Scenario``) -> ``simulate``
(one run -> ``RunResult`` with columnar ``Records``) -> ``summary_rows`` (tidy metrics).
"""

from sim.analysis.metrics import summary_rows
from sim.engine.model import Model, simulate
from sim.engine.records import Records, RunResult
from sim.scenario.loader import ScenarioError, apply_overrides, load_scenario, scenario_from_dict
from sim.scenario.schema import Scenario

__version__ = "0.1.0"

__all__ = [
    "Model",
    "Records",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "apply_overrides",
    "load_scenario",
    "scenario_from_dict",
    "simulate",
    "summary_rows",
]
