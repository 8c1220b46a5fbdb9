"""The live validation check a report runs: M/M/c simulated against Erlang C."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ValidationCheck:
    """A simulated M/M/c mean wait over replications against the Erlang C value."""

    servers: int
    arrival_rate: float
    mean_service: float
    replications: int
    horizon_days: int
    warmup_days: float
    seed: int
    confidence: float
    simulated_mean: float
    ci_low: float
    ci_high: float
    theory: float
    seconds: float

    @property
    def passed(self) -> bool:
        """The Erlang C mean wait lies inside the simulated confidence interval."""
        return self.ci_low <= self.theory <= self.ci_high

    def rows(self) -> list[tuple[str, str]]:
        """The check as (item, value) rows for a table."""
        level = f"{self.confidence:.0%}"
        verdict = (f"PASSED: the Erlang C mean wait lies inside the simulated {level} "
                   "confidence interval." if self.passed else
                   f"FAILED: the Erlang C mean wait lies outside the simulated {level} "
                   "confidence interval; treat the results with caution.")
        return [
            ("queue", f"M/M/{self.servers}, arrival rate {self.arrival_rate:.3g} per min, "
                      f"mean consult {self.mean_service:g} min, utilisation "
                      f"{self.arrival_rate * self.mean_service / self.servers:.0%}"),
            ("runs", f"{self.replications} replications x {self.horizon_days} days "
                     f"(warm-up {self.warmup_days:g} days), root seed {self.seed}"),
            ("simulated mean wait", f"{self.simulated_mean:.3f} min "
                                    f"({level} CI {self.ci_low:.3f} to {self.ci_high:.3f} min)"),
            ("Erlang C mean wait", f"{self.theory:.3f} min"),
            ("result", verdict),
            ("computed", f"at report time in {self.seconds:.1f} s by "
                         "sim.present.validation.erlang_c_check with "
                         "sim.analysis.theory.mmc_wait_mean (not read from a recorded result)"),
        ]


def erlang_c_check(servers: int = 5, utilisation: float = 0.8, mean_service: float = 10.0,
                   replications: int = 20, horizon_days: int = 30, warmup_days: float = 2.0,
                   seed: int = 2024, confidence: float = 0.99) -> ValidationCheck:
    """Simulate M/M/c ``replications`` times and compare the mean wait with Erlang C.

    Uses ``sim.scenario.textbook.queue_scenario`` (an ordinary scenario through the normal
    engine) and ``sim.analysis.theory.mmc_wait_mean``; one ``SeedSequence`` child per
    replication. A 99% interval by default, so a correct engine fails the check by chance
    about 1 time in 100 (and, the seed being fixed, always the same way for the same engine).
    """
    from sim.analysis.metrics import lookup, summary_rows
    from sim.analysis.theory import mmc_wait_mean
    from sim.engine.model import simulate
    from sim.experiment.stats import t_interval
    from sim.scenario.textbook import queue_scenario

    rate = servers * utilisation / mean_service
    scenario = queue_scenario(servers, rate, mean_service, horizon_days=horizon_days,
                              warmup_days=warmup_days, seed=seed)
    t0 = time.perf_counter()
    waits = np.array([
        lookup(summary_rows(simulate(scenario, seed=child), by=()), "wait_mean_min")
        for child in np.random.SeedSequence(seed).spawn(replications)
    ])
    mean, low, high, _ = t_interval(waits, confidence)
    return ValidationCheck(servers, rate, mean_service, replications, horizon_days,
                           warmup_days, seed, confidence, mean, low, high,
                           float(mmc_wait_mean(servers, rate, mean_service)),
                           time.perf_counter() - t0)
