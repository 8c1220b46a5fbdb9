"""Queueing theory: the formulas against published values and each other, then the engine
against the formulas.

The engine checks run independent replications (seeds from ``replication_seed``, i.e. the
``SeedSequence.spawn`` order) of the textbook queues built by ``sim.scenario.textbook`` through the
ordinary scenario schema, and judge each statistic with a Student-t 95% confidence
interval over the replications: the spread between replications, not a fixed tolerance,
decides. Seeds are fixed, so the tests are deterministic; they still fail when the engine
is off by a few percent (checked by running them with c-1 servers or longer consults).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from sim import simulate
from sim.analysis import theory
from sim.analysis.metrics import lookup, summary_rows
from sim.engine.records import SERVED
from sim.engine.streams import replication_seed
from sim.scenario.textbook import queue_scenario

# ---- Erlang B / C against published values ----------------------------------------------


def test_erlang_b_small_cases_exact() -> None:
    assert theory.erlang_b(1, 0.5) == pytest.approx(0.5 / 1.5, rel=1e-14)
    assert theory.erlang_b(2, 1.0) == pytest.approx(0.2, rel=1e-14)  # (1/2) / (1 + 1 + 1/2)
    assert theory.erlang_b(0, 3.0) == 1.0
    assert theory.erlang_b(5, 0.0) == 0.0


@pytest.mark.parametrize(("servers", "load"), [(10, 4.46), (50, 37.90), (100, 84.06)])
def test_erlang_b_table_one_percent(servers: int, load: float) -> None:
    # Erlang B tables: the traffic that N trunks carry at 1% blocking.
    assert theory.erlang_b(servers, load) == pytest.approx(0.01, abs=1e-4)


def _erlang_c_exact(c: int, a: Fraction) -> Fraction:
    """Erlang C in exact rational arithmetic, straight from the textbook formula."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize("c", [1, 2, 3, 5, 10, 25])
def test_erlang_c_matches_exact_rational_formula(c: int) -> None:
    for rho in (Fraction(1, 10), Fraction(1, 2), Fraction(17, 20), Fraction(99, 100)):
        a = rho * c
        assert theory.erlang_c(c, float(a)) == pytest.approx(float(_erlang_c_exact(c, a)),
                                                            rel=1e-12)


def test_erlang_c_textbook_values() -> None:
    assert theory.erlang_c(1, 0.7) == pytest.approx(0.7, rel=1e-14)  # M/M/1: P(wait) = rho
    assert theory.erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-14)
    # The widely published call-centre example: 360 calls per half hour, 4-minute calls,
    # 55 agents -> 48 erlangs, P(wait) = 0.2387, average speed of answer 8.2 s.
    pw = theory.erlang_c(55, 48.0)
    assert pw == pytest.approx(0.2387, abs=5e-5)
    asa_seconds = theory.mmc_wait_mean(55, 360 / 30, 4.0) * 60
    assert asa_seconds == pytest.approx(8.2, abs=0.05)


def test_erlang_c_large_c_is_finite_and_exact() -> None:
    # c = 100 and 1000: no overflowing factorials; compare with a log-space evaluation.
    for c, a in ((100, 95.0), (1000, 990.0), (300, 150.0)):
        k = np.arange(c)
        logs = k * math.log(a) - np.array([math.lgamma(x + 1) for x in k])
        log_top = c * math.log(a) - math.lgamma(c + 1) + math.log(c / (c - a))
        m = max(logs.max(), log_top)
        expected = math.exp(log_top - m) / (np.exp(logs - m).sum() + math.exp(log_top - m))
        got = theory.erlang_c(c, a)
        assert 0.0 < got < 1.0
        assert got == pytest.approx(expected, rel=1e-9)


def test_erlang_c_grows_with_load_and_falls_with_servers() -> None:
    loads = np.linspace(0.5, 9.5, 19)
    pw = [theory.erlang_c(10, a) for a in loads]
    assert all(np.diff(pw) > 0)
    assert all(np.diff([theory.erlang_c(c, 8.0) for c in range(9, 20)]) < 0)


def test_mmc_wait_distribution_is_consistent() -> None:
    c, lam, es = 10, 0.85, 10.0
    pw = theory.erlang_c(c, lam * es)
    assert theory.mmc_wait_cdf(0.0, c, lam, es) == pytest.approx(1 - pw)
    assert theory.mmc_wait_cdf(1e4, c, lam, es) == pytest.approx(1.0)
    # E[W] is the integral of P(W > t)
    t = np.linspace(0, 400, 40_001)
    tail = 1 - np.array([theory.mmc_wait_cdf(x, c, lam, es) for x in t])
    integral = np.trapezoid(tail, t)
    assert integral == pytest.approx(theory.mmc_wait_mean(c, lam, es), rel=1e-5)
    assert theory.mmc_queue_length_mean(c, lam, es) == pytest.approx(
        lam * theory.mmc_wait_mean(c, lam, es))
    assert theory.mmc_utilisation(c, lam, es) == pytest.approx(0.85)


def test_littles_law_helper() -> None:
    assert theory.littles_law(arrival_rate=2.0, mean_time=3.0) == 6.0
    assert theory.littles_law(mean_number=6.0, mean_time=3.0) == 2.0
    assert theory.littles_law(mean_number=6.0, arrival_rate=2.0) == 3.0
    with pytest.raises(ValueError, match="exactly two"):
        theory.littles_law(arrival_rate=1.0)
    with pytest.raises(ValueError, match="exactly two"):
        theory.littles_law(arrival_rate=1.0, mean_time=1.0, mean_number=1.0)
    with pytest.raises(ValueError, match="mean_time must be a finite number >= 0"):
        theory.littles_law(arrival_rate=1.0, mean_time=-1.0)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: theory.erlang_c(10, 10.0), ValueError, "unstable"),
    (lambda: theory.erlang_c(0, 1.0), ValueError, "servers must be >= 1"),
    (lambda: theory.erlang_c(2.5, 1.0), TypeError, "servers must be an integer"),
    (lambda: theory.erlang_b(3, -1.0), ValueError, "load must be a finite number >= 0"),
    (lambda: theory.mmc_wait_mean(5, 1.0, 6.0), ValueError, "unstable"),
    (lambda: theory.mmc_wait_mean(5, 0.0, 1.0), ValueError, "arrival_rate must be a positive"),
    (lambda: theory.mmc_wait_cdf(-1.0, 5, 0.1, 1.0), ValueError, "t must be"),
    (lambda: theory.erlang_a(5, 1.0, 1.0, 0.0), ValueError, "mean_patience must be"),
    (lambda: theory.erlang_a(5, 1.0, float("nan"), 1.0), ValueError, "mean_service must be"),
    (lambda: theory.erlang_a(True, 1.0, 1.0, 1.0), TypeError, "servers must be an integer"),
])
def test_arguments_are_checked(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


# ---- Erlang A (M/M/c+M) -----------------------------------------------------------------


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    c, lam, es = 10, 0.85, 10.0
    wq, pw = theory.mmc_wait_mean(c, lam, es), theory.erlang_c(c, lam * es)
    previous = math.inf
    for patience in (1e3, 1e5, 1e7, 1e9):
        a = theory.erlang_a(c, lam, es, patience)
        gap = abs(a.wait_mean - wq)
        assert gap < previous / 50  # the gap shrinks in proportion to 1 / patience
        previous = gap
    assert a.p_wait == pytest.approx(pw, rel=1e-7)
    assert a.wait_mean == pytest.approx(wq, rel=1e-6)
    assert a.wait_mean_served == pytest.approx(wq, rel=1e-6)
    assert a.p_abandon == pytest.approx(0.0, abs=1e-8)
    inf = theory.erlang_a(c, lam, es, math.inf)
    assert (inf.p_wait, inf.wait_mean, inf.p_abandon) == (pw, wq, 0.0)


def test_erlang_a_patience_equal_to_service_is_poisson() -> None:
    # theta = mu: everyone present leaves at rate mu, so N ~ Poisson(a) exactly.
    c, a = 5, 6.0
    r = theory.erlang_a(c, a / 10.0, 10.0, 10.0)
    dist = stats.poisson(a)
    k = np.arange(c, 200)
    assert r.p_wait == pytest.approx(dist.sf(c - 1), rel=1e-12)
    assert r.queue_length_mean == pytest.approx(float(np.dot(k - c, dist.pmf(k))), rel=1e-12)


def test_erlang_a_matches_a_brute_force_generator_solve() -> None:
    c, lam, es, pat = 4, 0.5, 10.0, 15.0
    mu, th, n = 1 / es, 1 / pat, 300
    q = np.zeros((n, n))
    for i in range(n):
        if i + 1 < n:
            q[i, i + 1] = lam
        if i:
            q[i, i - 1] = min(i, c) * mu + max(i - c, 0) * th
        q[i, i] = -q[i].sum()
    a = np.vstack([q.T, np.ones(n)])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    p = np.linalg.lstsq(a, b, rcond=None)[0]
    r = theory.erlang_a(c, lam, es, pat)
    assert r.p_wait == pytest.approx(p[c:].sum(), rel=1e-9)
    assert r.queue_length_mean == pytest.approx(float(np.dot(np.maximum(np.arange(n) - c, 0), p)),
                                                rel=1e-9)
    assert r.utilisation == pytest.approx(float(np.dot(np.minimum(np.arange(n), c), p)) / c,
                                          rel=1e-9)


def test_erlang_a_internal_identities() -> None:
    c, lam, es, pat = 10, 1.0, 10.0, 20.0
    r = theory.erlang_a(c, lam, es, pat)
    # carried load: busy servers = served rate x mean service
    assert r.utilisation == pytest.approx(lam * (1 - r.p_abandon) * es / c, rel=1e-12)
    assert r.wait_mean == pytest.approx(r.queue_length_mean / lam, rel=1e-12)
    # an overloaded queue (rho = 1) still has a steady state thanks to abandonment
    assert 0.0 < r.p_abandon < r.p_wait < 1.0
    assert r.wait_mean_served < r.wait_mean


def test_erlang_a_served_wait_by_numerical_laplace_derivative() -> None:
    # Independent route to E[W | served]: for an arrival with j others waiting, the wait
    # V until service is a sum of Exp(c mu + i theta), i = 0..j, and
    # E[V; patience > V] = -d/ds E[exp(-sV)] at s = theta. Weight by the states arrivals see.
    c, lam, es, pat = 3, 0.35, 10.0, 8.0
    mu, th = 1 / es, 1 / pat
    r = theory.erlang_a(c, lam, es, pat)
    logw = [k * math.log(lam / mu) - math.lgamma(k + 1) for k in range(c + 1)]
    for j in range(1, 400):
        logw.append(logw[-1] + math.log(lam / (c * mu + j * th)))
    w = np.exp(np.array(logw) - max(logw))
    p = w / w.sum()

    def laplace(s: float, j: int) -> float:
        rates = c * mu + th * np.arange(j + 1)
        return float(np.prod(rates / (rates + s)))

    h = 1e-6
    num = den = 0.0
    for j in range(300):
        pj = p[c + j]
        num += pj * -(laplace(th + h, j) - laplace(th - h, j)) / (2 * h)
        den += pj * laplace(th, j)
    p_served = 1 - r.p_abandon
    assert p[:c].sum() + den == pytest.approx(p_served, rel=1e-9)
    assert num / p_served == pytest.approx(r.wait_mean_served, rel=1e-6)


def test_erlang_a_is_stable_for_large_c() -> None:
    r = theory.erlang_a(100, 9.5, 10.0, 20.0)
    assert 0 < r.p_abandon < r.p_wait < 1
    assert all(math.isfinite(x) for x in (r.wait_mean, r.wait_mean_served, r.utilisation))
    big = theory.erlang_a(1000, 105.0, 10.0, 30.0)  # 5% overload on 1000 servers
    assert big.p_abandon == pytest.approx(1 - 1000 / 1050, abs=0.01)


def test_more_servers_mean_less_abandonment() -> None:
    ab = [theory.erlang_a(c, 1.0, 10.0, 20.0).p_abandon for c in range(6, 16)]
    assert all(np.diff(ab) < 0)


# ---- the engine against the formulas ----------------------------------------------------

ROOT_SEED = 20261125
REPLICATIONS = 25
LEVEL = 0.95


def t_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval over independent replications."""
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


def assert_covers(values: np.ndarray, expected: float, what: str) -> None:
    mean, lo, hi = t_interval(values)
    assert lo <= expected <= hi, (
        f"{what}: theory {expected:.5g} outside the {LEVEL:.0%} CI [{lo:.5g}, {hi:.5g}] "
        f"(simulated mean {mean:.5g} over {len(values)} replications)")


@dataclass
class Replications:
    """Per-replication statistics of one textbook queue."""

    wait_served: np.ndarray  # mean wait of served requests (the wait_mean_min metric)
    wait_all: np.ndarray  # mean time in queue of every arrival (served or not)
    p_wait: np.ndarray  # share of arrivals that did not start at once
    within_15: np.ndarray  # share_within_15_min metric
    abandonment: np.ndarray  # abandonment_rate metric
    queue_length: np.ndarray  # queue_length_mean metric (time-weighted)
    arrival_rate: np.ndarray  # arrivals per minute in the measurement window
    utilisation: np.ndarray  # utilisation metric


def run_replications(servers: int, arrival_rate: float, mean_service: float,
                     patience_mean: float | None = None, days: int = 30,
                     n: int = REPLICATIONS) -> Replications:
    """``n`` independent runs of M/M/c(+M); statistics over the post-warm-up window."""
    sc = queue_scenario(servers, arrival_rate, mean_service, patience_mean=patience_mean,
                        horizon_days=days, warmup_days=2.0)
    cols: dict[str, list[float]] = {k: [] for k in Replications.__dataclass_fields__}
    for i in range(n):
        result = simulate(sc, seed=replication_seed(ROOT_SEED, i))
        rows = summary_rows(result, by=())
        r = result.records
        m = r.arrival >= result.warmup
        served = r.outcome == SERVED
        exit_ = np.where(served, r.start, np.where(np.isnan(r.end), result.horizon, r.end))
        cols["wait_served"].append(lookup(rows, "wait_mean_min"))
        cols["wait_all"].append(float(np.mean(exit_[m] - r.arrival[m])))
        cols["p_wait"].append(float(np.mean(~(served[m] & (r.start[m] == r.arrival[m])))))
        cols["within_15"].append(lookup(rows, "share_within_15_min"))
        cols["abandonment"].append(lookup(rows, "abandonment_rate"))
        cols["queue_length"].append(lookup(rows, "queue_length_mean"))
        cols["arrival_rate"].append(lookup(rows, "arrivals") / (result.horizon - result.warmup))
        cols["utilisation"].append(lookup(rows, "utilisation"))
    return Replications(**{k: np.asarray(v) for k, v in cols.items()})


MMC = (10, 0.85, 10.0)  # c = 10, lambda = 0.85 / min, E[S] = 10 min -> rho = 0.85
ERLANG_A = (10, 1.0, 10.0, 20.0)  # rho = 1 offered, mean patience 20 min


@pytest.fixture(scope="module")
def mmc() -> Replications:
    return run_replications(*MMC)


@pytest.fixture(scope="module")
def mmcm() -> Replications:
    return run_replications(*ERLANG_A[:3], patience_mean=ERLANG_A[3])


@pytest.mark.slow
def test_mmc_mean_wait_matches_erlang_c(mmc: Replications) -> None:
    assert_covers(mmc.wait_served, theory.mmc_wait_mean(*MMC), "M/M/10 mean wait")


@pytest.mark.slow
def test_mmc_probability_of_waiting_matches_erlang_c(mmc: Replications) -> None:
    c, lam, es = MMC
    assert_covers(mmc.p_wait, theory.erlang_c(c, lam * es), "M/M/10 P(wait > 0)")
    assert_covers(mmc.within_15, theory.mmc_wait_cdf(15.0, *MMC), "M/M/10 P(W <= 15)")


@pytest.mark.slow
def test_mmc_utilisation_matches_rho(mmc: Replications) -> None:
    assert_covers(mmc.utilisation, theory.mmc_utilisation(*MMC), "M/M/10 utilisation")


@pytest.mark.slow
def test_mmc_queue_length_and_littles_law(mmc: Replications) -> None:
    assert_covers(mmc.queue_length, theory.mmc_queue_length_mean(*MMC), "M/M/10 Lq")
    # Little's law on every sample path: the time-weighted queue length equals the arrival
    # rate times the mean wait, up to the few requests straddling the window's two edges.
    little = np.array([theory.littles_law(arrival_rate=lam, mean_time=w)
                       for lam, w in zip(mmc.arrival_rate, mmc.wait_served, strict=True)])
    np.testing.assert_allclose(mmc.queue_length, little, rtol=0.01)


@pytest.mark.slow
def test_mmcm_abandonment_matches_erlang_a(mmcm: Replications) -> None:
    a = theory.erlang_a(*ERLANG_A)
    assert_covers(mmcm.abandonment, a.p_abandon, "M/M/10+M P(abandon)")
    assert_covers(mmcm.p_wait, a.p_wait, "M/M/10+M P(wait > 0)")


@pytest.mark.slow
def test_mmcm_waits_match_erlang_a(mmcm: Replications) -> None:
    a = theory.erlang_a(*ERLANG_A)
    assert_covers(mmcm.wait_served, a.wait_mean_served, "M/M/10+M mean wait of served")
    assert_covers(mmcm.wait_all, a.wait_mean, "M/M/10+M mean time in queue, all arrivals")
    assert_covers(mmcm.queue_length, a.queue_length_mean, "M/M/10+M Lq")
    assert_covers(mmcm.utilisation, a.utilisation, "M/M/10+M utilisation")
    # Little's law over everyone who queued, abandoners included
    little = mmcm.arrival_rate * mmcm.wait_all
    np.testing.assert_allclose(mmcm.queue_length, little, rtol=0.01)
