"""Textbook queues written as ordinary scenarios, for checking the engine against theory.

``queue_scenario`` builds M/M/c, M/D/c, M/M/c+M (Erlang A) or D/D/c: one hub, one
specialty, a constant arrival rate, a 24/7 roster. Nothing here is special-cased in the
engine: these are plain ``Scenario`` objects that go through the same path as Himachal.
"""

from __future__ import annotations

from typing import Any, Literal

from sim.scenario.loader import scenario_from_dict
from sim.scenario.schema import Scenario


def queue_scenario(
    servers: int,
    arrival_rate: float,
    mean_service: float,
    *,
    service: Literal["exponential", "deterministic"] = "exponential",
    arrivals: Literal["poisson", "regular"] = "poisson",
    patience_mean: float | None = None,
    horizon_days: int = 30,
    warmup_days: float = 2.0,
    seed: int = 1,
    name: str | None = None,
) -> Scenario:
    """A single-queue scenario: ``servers`` doctors, ``arrival_rate`` per minute.

    ``patience_mean`` adds exponential patience (M/M/c+M); ``arrivals="regular"`` gives
    evenly spaced arrivals (the first at 1/rate) for exact hand-computed cases.
    """
    if servers < 1 or arrival_rate <= 0 or mean_service <= 0:
        raise ValueError("need servers >= 1, arrival_rate > 0 and mean_service > 0")
    dist: dict[str, Any] = (
        {"kind": "exponential", "mean": mean_service} if service == "exponential"
        else {"kind": "deterministic", "value": mean_service}
    )
    data: dict[str, Any] = {
        "name": name or f"{'M' if arrivals == 'poisson' else 'D'}/"
                        f"{'M' if service == 'exponential' else 'D'}/{servers}"
                        f"{'+M' if patience_mean else ''}",
        "seed": seed,
        "calendar": {"horizon_days": horizon_days, "warmup_days": warmup_days},
        "specialties": {"medicine": {"consult": dist}},
        "hubs": [{
            "id": "hub",
            "doctors": {"medicine": servers},
            "roster": [{"specialty": "medicine", "days": "all", "start": "00:00",
                        "end": "24:00", "doctors": servers}],
        }],
        "spokes": {"hours": {"days": "all", "start": "00:00", "end": "24:00"},
                   "districts": [{"district": "everywhere", "home_hub": "hub", "phcs": 1}]},
        "demand": {"d2d": {"per_spoke_per_day": {"phc": arrival_rate * 1440.0},
                           "specialty_mix": {"medicine": 1.0}, "process": arrivals}},
    }
    if patience_mean is not None:
        data["queue"] = {"patience": {"kind": "exponential", "mean": patience_mean}}
    return scenario_from_dict(data, source="<textbook>")
