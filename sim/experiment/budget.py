"""What a run will need, checked before it starts, so a run too large is refused up front.

Replications are bounded by ``MAX_REPLICATIONS``; memory is estimated from the scenario.

A run holds its requests as flat columns (``sim.engine.records``) plus the arrivals and
the summary's working copies; a national-size run of 15 million requests peaked at 1.54 GB
through ``hubsim run --no-plot`` and 2.43 GB with the plots (README, "Large runs"), about
160 bytes per request. Each worker holds one replication at a time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from sim.engine.demand import expected_arrivals
from sim.scenario.schema import Scenario

BYTES_PER_REQUEST = 160
"""Peak bytes per expected request of one replication (records, arrivals, plots)."""
BASE_BYTES = 300 * 2**20
"""The interpreter, numpy, pandas and matplotlib before any request."""


ROW_BYTES = 1_240
"""Memory one per-replication metric row holds until its study ends: 1,236 bytes measured
as the peak of ``hubsim run scenarios/himachal-baseline.yaml --days 8 --set
calendar.warmup_days=1 --no-plot --no-records`` with ``-n 42`` against ``-n 2`` (144,492
rows, 174 MB more; 3,612 rows a replication)."""

MAX_REPLICATIONS = 10_000
"""The most replications of one scenario (or plan) a study runs; more is taken for a typo.

A confidence interval narrows only as 1/sqrt(N): 10,000 replications already put the
half-width at 2% of one replication's standard deviation, and the next tenfold narrowing
would need 1,000,000. Each replication of the Himachal baseline adds about 4,000 rows to
replications.csv (350 kB at 35 days) and 4.4 MB to the memory the run holds (``/usr/bin/time
-f %M hubsim run --days 8 --set calendar.warmup_days=1 --no-plot`` with ``-n 2`` against
``-n 60``), so 10,000 of them are already tens of GB; the bound stops ``-n 1000000`` before
anything runs. It also keeps the staffing search's seeds apart from its confirmation's
(``sim.staffing.evaluate.CONFIRM_OFFSET``)."""

REPLICATIONS_HINT = ("use fewer (run_experiment's precision= adds replications only while "
                     "the intervals need them), or split the study into runs with different "
                     "seeds")


def check_replications(n: object, least: int = 1, name: str = "replications",
                       hint: str = REPLICATIONS_HINT) -> None:
    """Refuse a replication count that is not an integer from ``least`` to MAX_REPLICATIONS.

    ``name`` is what the message calls it (the argument, or the command-line option);
    ``hint`` says what to do instead of more replications.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {n!r}")
    if n > MAX_REPLICATIONS:
        raise ValueError(f"{name} {n:,} is more than {MAX_REPLICATIONS:,}, the most replications "
                         f"a study runs (intervals narrow only as 1/sqrt(N)); {hint}")


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


def check_rows(rows_per_replication: float, replications: int) -> None:
    """Refuse a study whose per-replication metric rows would not fit in free memory.

    Every replication's rows (``replications.csv``) are held until the study ends, so
    they grow with the replications, unlike a replication's records. Checked once the
    first replication has told how many rows one gives.
    """
    need = rows_per_replication * replications * ROW_BYTES
    have = available_bytes()
    if need > have:
        raise MemoryBudgetError(
            f"{replications:,} replications of {rows_per_replication:,.0f} metric rows each "
            f"would hold about {_gb(need)} of memory, but only {_gb(have)} is free; use fewer "
            "replications (--precision REL adds them only while the intervals need them)")


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
