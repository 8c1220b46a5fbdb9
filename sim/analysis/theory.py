"""Queueing theory: exact formulas the engine is checked against.

Erlang B and C (M/M/c), the M/M/c wait distribution, Erlang A / Palm (M/M/c+M, exponential
patience) from its birth-death chain, Little's law, and the inverse questions: the smallest
number of servers that meets a service standard (``min_servers``). Everything is computed with
recursions or in log space, so c = 1000 servers is as safe as c = 1 (no factorials).

Conventions: ``servers`` is c; rates are per unit time and means are in the same unit
(the engine uses minutes); the offered load is ``a = arrival_rate * mean_service``
(in erlangs) and the utilisation ``rho = a / c``. Waits are waits in queue (time from
arrival to start of service), not time in system.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ErlangA",
    "erlang_a",
    "erlang_b",
    "erlang_a_share_within",
    "erlang_c",
    "littles_law",
    "meets_standard",
    "min_servers",
    "mmc_queue_length_mean",
    "mmc_utilisation",
    "mmc_wait_cdf",
    "mmc_wait_mean",
    "offered_load",
]

_TAIL_LOG_EPS = 45.0  # truncate the chain where a state's probability is < e^-45 of the largest
_MAX_STATES = 20_000_000


def _servers(servers: int, minimum: int = 1) -> int:
    if isinstance(servers, bool) or not isinstance(servers, int | np.integer):
        raise TypeError(f"servers must be an integer, got {servers!r}")
    if servers < minimum:
        raise ValueError(f"servers must be >= {minimum}, got {servers}")
    return int(servers)


def _positive(name: str, value: float, *, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if math.isnan(v) or v <= 0 or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be a positive{'' if allow_inf else ' finite'} number, "
                         f"got {value!r}")
    return v


def _nonneg(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def _stable(servers: int, load: float) -> None:
    if load >= servers:
        raise ValueError(
            f"the queue is unstable: offered load {load:g} erlangs >= {servers} servers "
            "(no steady state; utilisation would be >= 1)"
        )


def offered_load(arrival_rate: float, mean_service: float) -> float:
    """Offered load in erlangs, ``arrival_rate * mean_service``."""
    return _positive("arrival_rate", arrival_rate) * _positive("mean_service", mean_service)


def erlang_b(servers: int, load: float) -> float:
    """Erlang B: probability that an arrival finds all ``servers`` busy in M/M/c/c (loss).

    Uses the recursion ``1/B(k) = 1 + (k / a) / B(k-1)``, which is stable for any c.
    """
    c = _servers(servers, minimum=0)
    a = _nonneg("load", load)
    if a == 0.0:
        return 0.0 if c > 0 else 1.0
    inv = 1.0
    for k in range(1, c + 1):
        inv = 1.0 + inv * k / a
    return 1.0 / inv


def erlang_c(servers: int, load: float) -> float:
    """Erlang C: probability that an arrival has to wait in M/M/c (``load < servers``).

    ``C = c B / (c - a (1 - B))`` with ``B = erlang_b(c, a)``.
    """
    c = _servers(servers)
    a = _nonneg("load", load)
    _stable(c, a)
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def mmc_utilisation(servers: int, arrival_rate: float, mean_service: float) -> float:
    """Long-run share of time a server is busy, ``rho = lambda * E[S] / c``."""
    c = _servers(servers)
    return offered_load(arrival_rate, mean_service) / c


def mmc_wait_mean(servers: int, arrival_rate: float, mean_service: float) -> float:
    """Mean wait in queue of M/M/c, ``Wq = C(c, a) / (c mu - lambda)``."""
    c = _servers(servers)
    a = offered_load(arrival_rate, mean_service)
    _stable(c, a)
    return erlang_c(c, a) / (c / mean_service - arrival_rate)


def mmc_wait_cdf(t: float, servers: int, arrival_rate: float, mean_service: float) -> float:
    """P(W <= t) for the wait in queue of M/M/c: ``1 - C exp(-(c mu - lambda) t)``."""
    t = _nonneg("t", t)
    c = _servers(servers)
    a = offered_load(arrival_rate, mean_service)
    _stable(c, a)
    return 1.0 - erlang_c(c, a) * math.exp(-(c / mean_service - arrival_rate) * t)


def mmc_queue_length_mean(servers: int, arrival_rate: float, mean_service: float) -> float:
    """Mean number waiting (not in service) in M/M/c, ``Lq = lambda Wq``."""
    return arrival_rate * mmc_wait_mean(servers, arrival_rate, mean_service)


def littles_law(*, arrival_rate: float | None = None, mean_time: float | None = None,
                mean_number: float | None = None) -> float:
    """Little's law ``L = lambda W``: give exactly two of the three, get the third.

    Holds for any stable system in the long run, whatever the distributions; the engine's
    time-weighted queue length and its mean wait must satisfy it.
    """
    given = {k: v for k, v in (("arrival_rate", arrival_rate), ("mean_time", mean_time),
                               ("mean_number", mean_number)) if v is not None}
    if len(given) != 2:
        raise ValueError("littles_law needs exactly two of arrival_rate, mean_time, "
                         f"mean_number; got {sorted(given) or 'none'}")
    for k, v in given.items():
        _nonneg(k, v)
    if mean_number is None:
        assert arrival_rate is not None and mean_time is not None
        return float(arrival_rate) * float(mean_time)
    if arrival_rate is None:
        assert mean_time is not None
        if mean_time == 0:
            raise ValueError("mean_time must be > 0 to solve for arrival_rate")
        return float(mean_number) / float(mean_time)
    if arrival_rate == 0:
        raise ValueError("arrival_rate must be > 0 to solve for mean_time")
    return float(mean_number) / float(arrival_rate)


@dataclass(frozen=True)
class ErlangA:
    """Steady-state measures of M/M/c+M (Erlang A / Palm's model, exponential patience)."""

    p_wait: float
    """Probability an arrival finds every server busy (and so waits, however briefly)."""
    p_abandon: float
    """Probability an arrival leaves before service (patience runs out)."""
    wait_mean: float
    """Mean time in queue over all arrivals, served or abandoning (``Lq / lambda``)."""
    wait_mean_served: float
    """Mean wait of the customers who are served."""
    queue_length_mean: float
    """Mean number waiting, ``Lq``."""
    utilisation: float
    """Mean share of servers busy, ``E[min(N, c)] / c``."""
    states: int
    """Number of chain states kept after truncation (a diagnostic)."""


def _log_weights(c: int, lam: float, mu: float, theta: float) -> np.ndarray:
    """Unnormalised log stationary probabilities of the M/M/c+M chain, truncated."""
    n = np.arange(c + 1, dtype=float)
    a = lam / mu
    head = n * math.log(a) - np.array([math.lgamma(k + 1.0) for k in n])
    tails = [head]
    last, best = float(head[-1]), float(head.max())
    k0, chunk = 1, 1024
    while True:
        k = np.arange(k0, k0 + chunk, dtype=float)
        steps = math.log(lam) - np.log(c * mu + k * theta)
        logs = last + np.cumsum(steps)
        tails.append(logs)
        best = max(best, float(logs.max()))
        last = float(logs[-1])
        k0 += chunk
        # once the ratio lambda / (c mu + k theta) < 1 the terms only fall from here on
        if steps[-1] < 0 and last < best - _TAIL_LOG_EPS:
            break
        if k0 > _MAX_STATES:
            raise ValueError(
                "Erlang A chain needs more than "
                f"{_MAX_STATES:,} states (patience {1 / theta:g} is too long for this "
                "overload); use a shorter mean_patience"
            )
        chunk = min(chunk * 2, 1 << 20)
    out = np.concatenate(tails)
    keep = out >= best - _TAIL_LOG_EPS - 5.0
    return out[: int(np.flatnonzero(keep)[-1]) + 1]


def erlang_a(servers: int, arrival_rate: float, mean_service: float,
             mean_patience: float) -> ErlangA:
    """Exact M/M/c+M measures from the birth-death chain (truncated where negligible).

    Birth rate ``lambda``; death rate in state n is ``min(n, c) mu + max(n - c, 0) theta``
    with ``theta = 1 / mean_patience``. Abandonment uses ``P(ab) = theta Lq / lambda``; the
    served customers' mean wait conditions on the state an arrival sees: with j others
    waiting ahead, it is served with probability ``c mu / (c mu + (j+1) theta)`` and its
    wait, given service, has a closed form. ``mean_patience = inf`` gives M/M/c (Erlang C),
    which then needs ``arrival_rate * mean_service < servers``.
    """
    c = _servers(servers)
    lam = _positive("arrival_rate", arrival_rate)
    mu = 1.0 / _positive("mean_service", mean_service)
    patience = _positive("mean_patience", mean_patience, allow_inf=True)
    if math.isinf(patience):
        a = lam / mu
        pw = erlang_c(c, a)
        wq = mmc_wait_mean(c, lam, mean_service)
        return ErlangA(pw, 0.0, wq, wq, lam * wq, a / c, 0)
    theta = 1.0 / patience
    logw = _log_weights(c, lam, mu, theta)
    w = np.exp(logw - logw.max())
    p = w / w.sum()
    n = np.arange(len(p))
    waiting = p[c:]  # an arrival sees n = c + j, j = 0, 1, ... others waiting
    j = np.arange(len(waiting), dtype=float)
    cmu = c * mu
    p_served_given = cmu / (cmu + (j + 1.0) * theta)
    # E[V; served] for V = sum of Exp(c mu + i theta), i = j..0, against Exp(theta) patience
    harmonic = np.cumsum(1.0 / (cmu + (j + 1.0) * theta))
    lq = float(np.dot(j, waiting))
    p_abandon = theta * lq / lam
    served_wait = float(np.dot(waiting, p_served_given * harmonic))
    return ErlangA(
        p_wait=float(waiting.sum()),
        p_abandon=p_abandon,
        wait_mean=lq / lam,
        wait_mean_served=served_wait / (1.0 - p_abandon),
        queue_length_mean=lq,
        utilisation=float(np.dot(np.minimum(n, c), p)) / c,
        states=len(p),
    )


def erlang_a_share_within(t: float, servers: int, arrival_rate: float, mean_service: float,
                          mean_patience: float) -> float:
    """Share of all arrivals served within ``t`` of arriving in M/M/c+M (abandoners count as late).

    This is the engine's ``share_within_<t>_min``. An arrival that sees ``j`` others waiting
    reaches a server after ``V = sum_{k=0..j} Exp(c mu + k theta)``; weighting by its own
    patience, ``P(served, V <= t) = c mu / (c mu + (j+1) theta) P(V' <= t)`` with ``V'`` the
    same sum at rates ``c mu + (k+1) theta``, computed by uniformisation. With
    ``mean_patience = inf`` it is ``mmc_wait_cdf``.
    """
    t = _nonneg("t", t)
    c = _servers(servers)
    lam = _positive("arrival_rate", arrival_rate)
    mu = 1.0 / _positive("mean_service", mean_service)
    patience = _positive("mean_patience", mean_patience, allow_inf=True)
    if math.isinf(patience):
        return mmc_wait_cdf(t, c, lam, mean_service)
    theta = 1.0 / patience
    logw = _log_weights(c, lam, mu, theta)
    w = np.exp(logw - logw.max())
    p = w / w.sum()
    free = float(p[:c].sum())
    waiting = p[c:]
    if t == 0.0 or not len(waiting):
        return free
    from scipy import stats

    j = np.arange(len(waiting), dtype=float)
    cmu = c * mu
    rates = cmu + (j + 1.0) * theta  # phase rate with k ahead, after the patience tilt
    big = float(rates[-1])
    steps = big * t
    n_max = int(steps + 10.0 * math.sqrt(steps) + 30)
    if n_max > 2_000_000:
        raise ValueError(f"share within {t:g} needs {n_max:,} uniformisation steps; "
                         "use a shorter t or patience")
    move = rates / big
    weights = stats.poisson.pmf(np.arange(n_max + 1), steps)
    u = np.zeros(len(waiting))  # P(reached a server within n steps | k ahead)
    done = np.zeros(len(waiting))
    for n in range(n_max + 1):
        done += weights[n] * u
        below = np.concatenate(([1.0], u[:-1]))
        u = move * below + (1.0 - move) * u
    served = cmu / (cmu + (j + 1.0) * theta)
    return free + float(np.dot(waiting, served * done))


STANDARD_MEASURES: tuple[str, ...] = ("share_within", "wait_percentile", "wait_mean",
                                      "abandonment")


def meets_standard(servers: int, arrival_rate: float, mean_service: float, *,
                   measure: str, target: float, within: float = 0.0,
                   mean_patience: float = math.inf) -> bool:
    """Whether M/M/c (or M/M/c+M) with ``servers`` meets one service standard in steady state.

    Measures, as the engine counts them: ``share_within`` (share of arrivals served within
    ``within`` minutes >= ``target``; ``within=0`` is 1 - P(wait)), ``wait_percentile`` (the
    ``target`` quantile of served waits <= ``within``), ``wait_mean`` (mean served wait <=
    ``target``) and ``abandonment`` (share abandoning <= ``target``). An unstable M/M/c
    (load >= servers, no patience) meets nothing.
    """
    if measure not in STANDARD_MEASURES:
        raise ValueError(f"measure must be one of {', '.join(STANDARD_MEASURES)}, got {measure!r}")
    c = _servers(servers)
    load = offered_load(arrival_rate, mean_service)
    if math.isinf(mean_patience) and load >= c:
        return False
    if measure == "share_within":
        return erlang_a_share_within(within, c, arrival_rate, mean_service,
                                     mean_patience) >= target
    ea = erlang_a(c, arrival_rate, mean_service, mean_patience)
    if measure == "wait_percentile":
        share = erlang_a_share_within(within, c, arrival_rate, mean_service, mean_patience)
        return share / (1.0 - ea.p_abandon) >= target
    if measure == "wait_mean":
        return ea.wait_mean_served <= target
    return ea.p_abandon <= target


def min_servers(arrival_rate: float, mean_service: float, *, measure: str, target: float,
                within: float = 0.0, mean_patience: float = math.inf,
                max_servers: int = 100_000) -> int:
    """The smallest ``c`` with which M/M/c (M/M/c+M) meets a standard (see ``meets_standard``).

    Every measure improves with ``c``, so the first ``c`` that meets it is the answer; the
    search starts at the stable minimum ``floor(load) + 1`` without patience, and with it at
    the throughput bound (no more than ``c / load`` of the arrivals can be served).
    Raises ``ValueError`` when even ``max_servers`` does not (e.g. an unreachable target).
    """
    load = offered_load(arrival_rate, mean_service)
    if math.isinf(mean_patience):
        c = int(math.floor(load)) + 1
    else:  # at most c / load of the arrivals can be served: a lower bound on c
        share = {"share_within": target, "abandonment": 1.0 - target}.get(measure, 0.0)
        c = max(1, int(math.floor(share * load)))
    while c <= max_servers:
        if meets_standard(c, arrival_rate, mean_service, measure=measure, target=target,
                          within=within, mean_patience=mean_patience):
            return c
        c += 1
    raise ValueError(f"no number of servers up to {max_servers:,} meets {measure} "
                     f"{target:g} (within {within:g})")
