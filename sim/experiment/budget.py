"""Memory a run will need, estimated before it starts, so a run too large is refused up front.

A run holds its requests as flat columns (``sim.engine.records``) plus the arrivals and
the summary's working copies; a national-size run of 15 million requests peaked at 1.54 GB
through ``hubsim run --no-plot`` and 2.43 GB with the plots (README, "Large runs"), about
160 bytes per request. Each worker holds one replication at a time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from sim.engine.demand import expected_arrivals
from sim.scenario.schema import Scenario

BYTES_PER_REQUEST = 160
"""Peak bytes per expected request of one replication (records, arrivals, plots)."""
BASE_BYTES = 300 * 2**20
"""The interpreter, numpy, pandas and matplotlib before any request."""


class MemoryBudgetError(ValueError):
    """A run that would need more memory than the machine has free."""


def expected_requests(scenario: Scenario) -> float:
    """Expected requests of one replication: arrivals plus the follow-ups they lead to."""
    n = expected_arrivals(scenario)
    f = scenario.followups
    if f is not None and f.share > 0:
        n *= 1.0 / (1.0 - min(f.share, 0.99)) if f.repeat else 1.0 + f.share
    return n


def estimate_bytes(scenario: Scenario) -> float:
    """Peak memory of one replication of ``scenario`` in bytes (an estimate)."""
    return expected_requests(scenario) * BYTES_PER_REQUEST


def available_bytes() -> float:
    """Memory the system can give this run now (MemAvailable), or inf if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return math.inf


def _gb(x: float) -> str:
    return f"{x / 1e9:,.1f} GB"


def check_memory(scenarios: Sequence[Scenario], workers: int = 1) -> None:
    """Refuse a run whose replications would need more memory than is available.

    ``workers`` processes each hold one replication of the largest scenario at once.
    """
    if not scenarios:
        return
    big = max(scenarios, key=estimate_bytes)
    workers = max(1, workers)
    need = BASE_BYTES + estimate_bytes(big) * workers
    have = available_bytes()
    if need > have:
        each = f" x {workers} workers" if workers > 1 else ""
        raise MemoryBudgetError(
            f"scenario {big.name!r} would need about {_gb(need)} of memory "
            f"({expected_requests(big):,.3g} expected requests x {BYTES_PER_REQUEST} bytes"
            f"{each}), but only {_gb(have)} is free; shorten the horizon, lower the demand"
            f"{' or use fewer --jobs' if workers > 1 else ''}")
