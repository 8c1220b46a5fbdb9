"""Shared test set-up: deterministic hypothesis runs and small scenario builders."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Property tests run simulations, which take longer than hypothesis' default deadline, and
# CI must give the same answer every time: derandomised unless a profile is asked for.
settings.register_profile(
    "hubsim", deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "hubsim"))

ONE_HUB: dict[str, Any] = {
    "name": "one-hub",
    "seed": 3,
    "calendar": {"horizon_days": 3, "warmup_days": 0},
    "specialties": {"medicine": {"consult": {"kind": "deterministic", "value": 20}}},
    "hubs": [{
        "id": "A",
        "doctors": {"medicine": 1},
        "roster": [{"specialty": "medicine", "days": "all", "start": "00:00", "end": "24:00",
                    "doctors": 1}],
    }],
    "spokes": {"hours": {"days": "all", "start": "00:00", "end": "24:00"},
               "districts": [{"district": "a", "home_hub": "A", "phcs": 1}]},
    "demand": {"d2d": {"per_spoke_per_day": {"phc": 10},
                       "specialty_mix": {"medicine": 1.0}}},
}
"""One hub, one doctor on duty 24/7, one district: the base of the hand-checked cases."""


def _two_hubs() -> dict[str, Any]:
    d = copy.deepcopy(ONE_HUB)
    d["name"] = "two-hubs"
    d["hubs"].append(copy.deepcopy(d["hubs"][0]) | {"id": "B"})
    d["spokes"]["districts"].append({"district": "b", "home_hub": "B", "phcs": 1})
    return d


@pytest.fixture
def one_hub() -> dict[str, Any]:
    """A fresh copy of ``ONE_HUB`` to edit."""
    return copy.deepcopy(ONE_HUB)


@pytest.fixture
def two_hubs() -> dict[str, Any]:
    """Hubs A and B (one doctor each, 24/7) and districts a (home A) and b (home B)."""
    return _two_hubs()


@pytest.fixture
def build() -> Callable[[dict[str, Any]], Any]:
    """Validate a scenario dict into a ``Scenario`` (a ScenarioError if it is invalid)."""
    from sim.scenario.loader import scenario_from_dict

    return lambda data: scenario_from_dict(data, source="<test>")
