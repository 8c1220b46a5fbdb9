"""Model behaviour: exact hand-computed cases, conservation, reproducibility, monotonicity
in staffing, and the routing policies.

Hand-checked cases either use the engine's own deterministic arrivals (``process:
regular``, through ``sim.scenario.textbook``) or hand the model a list of requests with known
arrival times, consult lengths and patience (``Model(..., arrivals=...)``). Times are
minutes from the start of the run; day 0 is a Monday.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import Model, simulate
from sim.analysis.metrics import lookup, summary_rows
from sim.engine.demand import Arrivals
from sim.engine.model import uses_mechanisms
from sim.engine.records import ABANDONED, DROPPED, OUTCOMES, SERVED, UNSERVED, RunResult
from sim.scenario.loader import scenario_from_dict
from sim.scenario.schema import Scenario
from sim.scenario.textbook import queue_scenario

DAY = 1440.0


def hm(day: int, clock: str) -> float:
    """Minutes from the start of the run at ``clock`` ('HH:MM') on ``day``."""
    h, m = clock.split(":")
    return day * DAY + int(h) * 60 + int(m)


def requests(times: list[float], consult: list[float], patience: list[float] | None = None,
             district: list[int] | None = None, specialty: list[int] | None = None) -> Arrivals:
    """Hand-made requests (d2d from a PHC) with known times, consult lengths and patience."""
    n = len(times)
    return Arrivals(
        time=np.asarray(times, dtype=float),
        channel=np.zeros(n, np.int8),
        spoke=np.zeros(n, np.int32),
        spoke_type=np.ones(n, np.int8),
        district=np.asarray(district or [0] * n, np.int16),
        specialty=np.asarray(specialty or [0] * n, np.int16),
        consult=np.asarray(consult, dtype=float),
        patience=np.full(n, np.inf) if patience is None else np.asarray(patience, float),
    )


def run_with(sc: Scenario, arrivals: Arrivals) -> RunResult:
    return Model(sc, seed=0, arrivals=arrivals).run()


# ---- exact hand-computed cases ----------------------------------------------------------


def dd(servers: int, consult: float) -> RunResult:
    """D/D/c for one day: an arrival every 8 minutes (the first at 8), fixed consults."""
    sc = queue_scenario(servers, 1 / 8, consult, service="deterministic", arrivals="regular",
                        horizon_days=1, warmup_days=0)
    return simulate(sc)


def test_dd1_without_queue() -> None:
    r = dd(1, 6.0).records
    k = np.arange(1, 181)
    np.testing.assert_array_equal(r.arrival, 8.0 * k)  # 180 arrivals, the last at 24:00
    assert np.all(r.outcome == SERVED)
    np.testing.assert_array_equal(r.start, r.arrival)
    np.testing.assert_array_equal(r.end, r.arrival + 6.0)


def test_dd1_utilisation_is_busy_over_on_duty() -> None:
    rows = summary_rows(dd(1, 6.0), by=())
    # 179 consults of 6 minutes end inside the day; the 180th starts at 24:00
    assert lookup(rows, "utilisation") == pytest.approx(179 * 6 / 1440, abs=1e-12)
    assert lookup(rows, "wait_mean_min") == 0.0


def test_dd1_queue_builds_two_minutes_per_request() -> None:
    # consult 10 > 8 between arrivals: request n (0-based) arrives at 8(n+1) and starts at
    # 8 + 10n, so it waits 2n; those that would start after 24:00 are unserved.
    r = dd(1, 10.0).records
    n = np.arange(len(r))
    served = 8 + 10 * n <= 1440
    assert served.sum() == 144
    np.testing.assert_array_equal(r.outcome, np.where(served, SERVED, UNSERVED))
    np.testing.assert_allclose(r.wait[served], 2.0 * n[served], atol=1e-9)
    assert np.all(np.isnan(r.start[~served]))


def test_dd2_queue_builds_by_pairs() -> None:
    # c = 2, consult 20, arrivals every 8: w(n) = max(0, w(n-2) + 20 - 16) = 4 * (n // 2)
    r = dd(2, 20.0).records
    n = np.arange(len(r))
    wait = 4.0 * (n // 2)
    served = r.arrival + wait <= 1440
    np.testing.assert_array_equal(r.outcome == SERVED, served)
    np.testing.assert_allclose(r.wait[served], wait[served], atol=1e-9)
    # the two doctors alternate
    d = r.doctor[served]
    assert set(d[0::2].tolist()) != set(d[1::2].tolist()) and len(set(d.tolist())) == 2


def test_dd2_with_spare_capacity_never_waits() -> None:
    r = dd(2, 10.0).records
    np.testing.assert_array_equal(r.wait, np.zeros(len(r)))


@pytest.fixture
def clinic(one_hub: dict[str, Any], build) -> Scenario:
    """One doctor on duty 09:30-16:00 every day; requests come at any hour."""
    one_hub["hubs"][0]["roster"] = [{"specialty": "medicine", "days": "all",
                                     "start": "09:30", "end": "16:00", "doctors": 1}]
    return build(one_hub)


CLINIC_DAY = [  # (arrival, consult)
    (hm(0, "10:00"), 20.0),   # served at once
    (hm(0, "15:50"), 25.0),   # served at once, runs to 16:15: 15 minutes overtime
    (hm(0, "15:55"), 10.0),   # doctor busy, then off duty: carried to 09:30 next day
    (hm(0, "17:00"), 10.0),   # clinic closed: waits for 09:30 + 10 min
    (hm(1, "09:35"), 10.0),   # behind the two carried requests
    (hm(1, "11:00"), 5.0),    # served at once
]


def test_roster_opens_0930_closes_1600_and_carries_over(clinic: Scenario) -> None:
    t, c = zip(*CLINIC_DAY, strict=True)
    r = run_with(clinic, requests(list(t), list(c))).records
    assert np.all(r.outcome == SERVED)
    expected_start = [hm(0, "10:00"), hm(0, "15:50"), hm(1, "09:30"), hm(1, "09:40"),
                      hm(1, "09:50"), hm(1, "11:00")]
    np.testing.assert_array_equal(r.start, expected_start)
    np.testing.assert_array_equal(r.wait, [0, 0, 1055, 1000, 15, 0])
    np.testing.assert_array_equal(r.end, r.start + np.asarray(c))
    np.testing.assert_array_equal(r.overtime, [0, 15, 0, 0, 0, 0])


def test_overtime_metric_counts_the_exact_minutes(clinic: Scenario) -> None:
    t, c = zip(*CLINIC_DAY, strict=True)
    result = run_with(clinic, requests(list(t), list(c)))
    rows = summary_rows(result, by=())
    assert lookup(rows, "overtime_min") == 15.0
    assert lookup(rows, "overtime_consults") == 1.0
    # utilisation counts consult time within duty only: 20+10 on day 0, 10+10+10+5 on day 1
    on_duty = 3 * 390.0
    assert lookup(rows, "on_duty_hours") == on_duty / 60
    assert lookup(rows, "utilisation") == pytest.approx((20 + 10 + 10 + 10 + 10 + 5) / on_duty)


def test_session_end_drop(clinic: Scenario) -> None:
    sc = clinic.model_copy(update={"queue": clinic.queue.model_copy(
        update={"session_end": "drop"})})
    t, c = zip(*CLINIC_DAY, strict=True)
    r = run_with(sc, requests(list(t), list(c))).records
    np.testing.assert_array_equal(
        r.outcome, [SERVED, SERVED, DROPPED, DROPPED, SERVED, SERVED])
    # dropped when the queue closes at 16:00, or on arrival while it is closed
    np.testing.assert_array_equal(r.end[2:4], [hm(0, "16:00"), hm(0, "17:00")])
    np.testing.assert_array_equal(r.start[[4, 5]], [hm(1, "09:35"), hm(1, "11:00")])
    assert r.overtime[1] == 15.0


def test_deterministic_patience_gives_exact_abandonment_times(one_hub, build) -> None:
    one_hub["calendar"]["horizon_days"] = 1
    sc = build(one_hub)
    times = [10, 20, 30, 40, 200, 300, 310, 1000, 1100, 1400]
    consult = [100, 10, 10, 10, 10, 50, 10, 1000, 10, 10]
    patience = [30, 30, 100, 30, 5, 10, 40, 10, 100, 100]
    r = run_with(sc, requests(times, consult, patience)).records
    # doctor busy 10-110: 20 (leaves at 50) gone, 30 served at 110, 40 (leaves at 70) gone;
    # 200 served at once; 310 waits exactly its patience (40) for 350 and is served;
    # 1000 runs past the horizon; 1100 leaves at 1200; 1400's patience outlasts the horizon
    np.testing.assert_array_equal(r.outcome, [
        SERVED, ABANDONED, SERVED, ABANDONED, SERVED, SERVED, SERVED, SERVED, ABANDONED,
        UNSERVED])
    ab = r.outcome == ABANDONED
    np.testing.assert_array_equal(r.end[ab], [50, 70, 1200])
    np.testing.assert_array_equal(r.start[[2, 6]], [110, 350])
    assert np.isnan(r.end[9]) and np.isnan(r.start[9])
    rows = summary_rows(run_with(sc, requests(times, consult, patience)), by=())
    assert lookup(rows, "abandonment_rate") == pytest.approx(3 / 10)


# ---- conservation and invariants --------------------------------------------------------


def check_invariants(model: Model, result: RunResult) -> None:
    """What must hold for every run: one outcome each, consistent times, doctors on duty."""
    r = result.records
    arr = model.arrivals
    n = len(r)
    assert n == len(arr)
    np.testing.assert_array_equal(r.id, np.arange(n))
    np.testing.assert_array_equal(r.arrival, arr.time)
    assert np.all((r.outcome >= 0) & (r.outcome < len(OUTCOMES)))
    counts = np.bincount(r.outcome, minlength=len(OUTCOMES))
    assert counts.sum() == n
    rows = summary_rows(result, by=())
    counted = {row["metric"]: row["value"] for row in rows
               if row["group_by"] == "all" and row["metric"] in OUTCOMES}
    assert {"served", "abandoned", "dropped", "unserved"} <= set(counted)
    assert sum(counted.values()) == lookup(rows, "arrivals")
    if result.warmup == 0:
        assert lookup(rows, "arrivals") == n

    served = r.outcome == SERVED
    assert np.all(r.start[served] >= r.arrival[served])
    assert np.all(r.start[served] <= result.horizon)
    np.testing.assert_allclose(r.end[served] - r.start[served], arr.consult[served])
    assert np.all(r.doctor[served] >= 0)
    assert np.all(np.isnan(r.start[~served]))
    assert np.all(r.doctor[~served] == -1)
    ab = r.outcome == ABANDONED
    np.testing.assert_allclose(r.end[ab], r.arrival[ab] + arr.patience[ab])
    assert np.all(r.end[ab] <= result.horizon)
    # patience never runs out before service starts
    assert np.all(r.start[served] - r.arrival[served] <= arr.patience[served])
    dropped = r.outcome == DROPPED
    assert np.all(r.end[dropped] >= r.arrival[dropped])
    un = r.outcome == UNSERVED
    assert np.all(np.isnan(r.end[un]))
    assert np.all(r.arrival[un] + arr.patience[un] > result.horizon)
    assert np.all(r.overtime >= 0) and np.all(r.overtime[~served] == 0)

    # each served request was seen by a doctor of its specialty at the hub recorded, who
    # was on duty at the start; no doctor holds two consults at once; never more consults
    # in progress at a start than doctors on duty
    pool_of = model.doctor_pool
    pools = sorted(result.duty)
    for i in np.flatnonzero(served):
        h, s = pools[pool_of[r.doctor[i]]]
        assert (h, s) == (r.hub[i], r.specialty[i])
        assert result.duty[(h, s)].level_at(r.start[i]) >= 1
    for d in np.unique(r.doctor[served]):
        mine = served & (r.doctor == d)
        order = np.argsort(r.start[mine])
        assert np.all(r.start[mine][order][1:] >= r.end[mine][order][:-1])
    for p in pools:
        mine = served & (r.hub == p[0]) & (r.specialty == p[1])
        st_, en = r.start[mine], r.end[mine]
        busy = ((st_[None, :] <= st_[:, None]) & (en[None, :] > st_[:, None])).sum(axis=1)
        levels = np.array([result.duty[p].level_at(t) for t in st_])
        assert np.all(busy <= levels)
    # overtime only where a consult ran past a moment its pool's duty level fell
    late = served & (r.overtime > 0)
    for i in np.flatnonzero(late):
        tl = result.duty[(int(r.hub[i]), int(r.specialty[i]))]
        left = r.end[i] - r.overtime[i]
        assert r.start[i] <= left < r.end[i]
        assert left in set(tl.times.tolist())
        assert tl.level_at(left) < tl.level_at(left - 1e-6)


def busy_network(routing: str = "home_hub", patience: bool = True,
                 session_end: str = "carry") -> dict[str, Any]:
    """Two hubs, two specialties, working-day sessions, two districts: a busy week."""
    d: dict[str, Any] = {
        "name": "busy",
        "seed": 11,
        "calendar": {"horizon_days": 7, "warmup_days": 1, "holidays": [3]},
        "specialties": {
            "medicine": {"consult": {"kind": "lognormal", "mean": 12, "sd": 6}},
            "cardiology": {"consult": {"kind": "exponential", "mean": 20}},
        },
        "hubs": [
            {"id": "A", "doctors": {"medicine": 3, "cardiology": 2}, "roster": [
                {"specialty": "medicine", "days": "working", "start": "09:30", "end": "16:00",
                 "doctors": 2},
                {"specialty": "medicine", "days": ["mon", "wed"], "start": "12:00",
                 "end": "14:00", "doctors": 1},
                {"specialty": "cardiology", "days": ["mon", "tue", "fri"], "start": "10:00",
                 "end": "13:00", "doctors": 2}]},
            {"id": "B", "doctors": {"medicine": 2, "cardiology": 1}, "roster": [
                {"specialty": "medicine", "days": "working", "start": "09:00", "end": "15:00",
                 "doctors": 1},
                {"specialty": "cardiology", "days": "working", "start": "14:00",
                 "end": "16:00", "doctors": 1}]},
        ],
        "spokes": {"hours": {"days": "working", "start": "09:00", "end": "17:00"},
                   "districts": [{"district": "a", "home_hub": "A", "subcentres": 20,
                                  "phcs": 10},
                                 {"district": "b", "home_hub": "B", "subcentres": 10,
                                  "phcs": 5}]},
        "demand": {"d2d": {"per_spoke_per_day": {"subcentre": 1.0, "phc": 2.5},
                           "specialty_mix": {"medicine": 0.8, "cardiology": 0.2}},
                   "opd": {"per_day": {"a": 20, "b": 10},
                           "specialty_mix": {"medicine": 0.9, "cardiology": 0.1}}},
        "routing": {"policy": routing},
        "queue": {"session_end": session_end},
    }
    if patience:
        d["queue"]["patience"] = {"kind": "exponential", "mean": 240}
    return d


@pytest.mark.parametrize("routing", ["home_hub", "pooled", "least_wait", "overflow"])
@pytest.mark.parametrize("session_end", ["carry", "drop"])
def test_conservation_on_a_busy_network(build, routing: str, session_end: str) -> None:
    sc = build(busy_network(routing, session_end=session_end))
    model = Model(sc, seed=5)
    result = model.run()
    assert len(result.records) > 300
    check_invariants(model, result)
    outcomes = set(result.records.outcome.tolist())
    assert SERVED in outcomes and ABANDONED in outcomes
    assert (DROPPED in outcomes) == (session_end == "drop")


@st.composite
def small_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    n_hubs = draw(st.integers(1, 2))
    n_specs = draw(st.integers(1, 2))
    specs = ["medicine", "cardiology"][:n_specs]
    dist = st.sampled_from([
        {"kind": "exponential", "mean": 15},
        {"kind": "deterministic", "value": 10},
        {"kind": "uniform", "low": 1, "high": 30},
        {"kind": "gamma", "mean": 20, "cv": 0.5},
    ])
    hubs = []
    for h in range(n_hubs):
        roster, pool = [], {}
        for s in specs:
            start = draw(st.integers(0, 20))
            length = draw(st.integers(1, 24 - start))
            k = draw(st.integers(1, 3))
            days = draw(st.sampled_from(["all", "working", ["mon", "wed", "fri"]]))
            roster.append({"specialty": s, "days": days, "start": f"{start:02d}:00",
                           "end": f"{start + length:02d}:00", "doctors": k})
            pool[s] = k + draw(st.integers(0, 2))
        hubs.append({"id": f"H{h}", "doctors": pool, "roster": roster})
    weights = draw(st.lists(st.integers(1, 5), min_size=n_specs, max_size=n_specs))
    mix = {s: w / sum(weights) for s, w in zip(specs, weights, strict=True)}
    mix[specs[-1]] = 1.0 - sum(mix[s] for s in specs[:-1])
    policy = draw(st.sampled_from(["home_hub", "pooled", "least_wait", "overflow"]))
    queue: dict[str, Any] = {"session_end": draw(st.sampled_from(["carry", "drop"]))}
    patience = draw(st.sampled_from([None, {"kind": "exponential", "mean": 60},
                                     {"kind": "deterministic", "value": 45}]))
    if patience is not None:
        queue["patience"] = patience
    return {
        "seed": draw(st.integers(0, 2**31)),
        "calendar": {"horizon_days": draw(st.integers(1, 4)), "warmup_days": 0,
                     "start_weekday": draw(st.sampled_from(["mon", "thu", "sat"]))},
        "specialties": {s: {"consult": draw(dist)} for s in specs},
        "hubs": hubs,
        "spokes": {"hours": {"days": "all", "start": "08:00", "end": "18:00"},
                   "districts": [{"district": f"d{h}", "home_hub": f"H{h}", "phcs": 2}
                                 for h in range(n_hubs)]},
        "demand": {"d2d": {"per_spoke_per_day": {"phc": draw(st.floats(1, 60))},
                           "specialty_mix": mix,
                           "process": draw(st.sampled_from(["poisson", "regular"]))}},
        "routing": {"policy": policy,
                    "overflow_threshold_min": draw(st.sampled_from([0, 15, 60]))},
        "queue": queue,
    }


@given(small_scenarios())
def test_conservation_property(data: dict[str, Any]) -> None:
    sc = scenario_from_dict(data, source="<hypothesis>")
    model = Model(sc)
    check_invariants(model, model.run())


# ---- reproducibility --------------------------------------------------------------------


def test_same_seed_same_records_different_seed_different(build) -> None:
    sc = build(busy_network())
    a = simulate(sc, seed=42).records
    b = simulate(sc, seed=42).records
    c = simulate(sc, seed=43).records
    assert a.equals(b)
    assert not a.equals(c)
    assert not np.array_equal(a.arrival[: min(len(a), len(c))], c.arrival[: min(len(a), len(c))])


def test_scenario_seed_is_the_default(build) -> None:
    sc = build(busy_network())
    assert simulate(sc).records.equals(simulate(sc, seed=sc.seed).records)


def test_a_model_runs_once(build) -> None:
    model = Model(build(busy_network()), seed=1)
    model.run()
    with pytest.raises(RuntimeError, match="runs once"):
        model.run()


# ---- more doctors on duty never means longer waits --------------------------------------


def queue_exit(result: RunResult) -> np.ndarray:
    """When each request stopped waiting for a doctor (the horizon if it never did)."""
    r = result.records
    return np.where(r.outcome == SERVED, r.start, result.horizon)


def test_more_doctors_never_longer_waits_mmc() -> None:
    exits, means = [], []
    for c in range(7, 13):  # rho from 1.0 down to 0.58
        sc = queue_scenario(c, 0.7, 10.0, horizon_days=10, warmup_days=1)
        result = simulate(sc, seed=9)
        exits.append(queue_exit(result))
        means.append(lookup(summary_rows(result, by=()), "wait_mean_min"))
    assert all(np.diff(means) < 0), means
    for fewer, more in zip(exits, exits[1:], strict=False):
        assert np.all(more <= fewer)  # every single request, not just on average


def staffed(extra: tuple[int, int], routing: str) -> dict[str, Any]:
    """``busy_network`` without patience, ``extra`` doctors added to every session of A, B."""
    d = busy_network(routing, patience=False)
    for hub, more in zip(d["hubs"], extra, strict=True):
        for s in hub["roster"]:
            s["doctors"] += more
            hub["doctors"][s["specialty"]] += s["doctors"]  # a pool large enough for any plan
    return d


@pytest.mark.parametrize("routing", ["home_hub", "pooled"])
def test_more_doctors_never_longer_waits_multi_hub(build, routing: str) -> None:
    plans = [(0, 0), (0, 1), (1, 1), (2, 1), (2, 3), (4, 4)]
    exits, means = {}, {}
    for plan in plans:
        result = simulate(build(staffed(plan, routing)), seed=21)
        exits[plan] = queue_exit(result)
        means[plan] = lookup(summary_rows(result, by=()), "wait_mean_min")
    for fewer, more in zip(plans, plans[1:], strict=False):
        assert means[more] <= means[fewer], means
        assert np.all(exits[more] <= exits[fewer])
    assert means[plans[-1]] < means[plans[0]]


# ---- routing policies on a two-hub case -------------------------------------------------
# Hubs A and B, one doctor each on duty all day, consults of 20 minutes; every request
# comes from district a, whose home hub is A.


def routed(build, two_hubs: dict[str, Any], policy: str, times: list[float],
           threshold: float = 30.0) -> Any:
    two_hubs["routing"] = {"policy": policy, "overflow_threshold_min": threshold}
    sc = build(two_hubs)
    return run_with(sc, requests(times, [20.0] * len(times))).records


def hub_names(r: Any) -> list[str]:
    return [("A", "B")[h] if h >= 0 else "pool" for h in r.hub]


def test_home_hub_keeps_requests_home_even_when_the_other_hub_is_idle(build, two_hubs) -> None:
    r = routed(build, two_hubs, "home_hub", [10, 12, 14])
    assert hub_names(r) == ["A", "A", "A"]
    np.testing.assert_array_equal(r.start, [10, 30, 50])


def test_pooled_lets_hub_b_serve_district_a(build, two_hubs) -> None:
    r = routed(build, two_hubs, "pooled", [10, 12, 14])
    # the home hub's doctor first; then B's idle doctor; then the first free of the two
    assert hub_names(r) == ["A", "B", "A"]
    np.testing.assert_array_equal(r.start, [10, 12, 30])


def test_least_wait_goes_where_the_expected_wait_is_shortest(build, two_hubs) -> None:
    r = routed(build, two_hubs, "least_wait", [10, 12, 14, 16])
    # 10: A idle (ties go home); 12: A busy, B idle; 14: both busy, equal queues -> home;
    # 16: A has one waiting, B none -> B
    assert hub_names(r) == ["A", "B", "A", "B"]
    np.testing.assert_array_equal(r.start, [10, 12, 30, 32])


def test_overflow_leaves_home_only_above_the_threshold(build, two_hubs) -> None:
    # A busy with an empty queue: expected wait 20 <= 30 -> stays home although B is idle;
    # the next sees one waiting at A: expected 40 > 30 -> overflows to B (idle)
    r = routed(build, two_hubs, "overflow", [10, 12, 14], threshold=30.0)
    assert hub_names(r) == ["A", "A", "B"]
    np.testing.assert_array_equal(r.start, [10, 30, 14])
    # with a threshold above 40 it never leaves home
    r = routed(build, copy.deepcopy(two_hubs), "overflow", [10, 12, 14], threshold=45.0)
    assert hub_names(r) == ["A", "A", "A"]


def test_overflow_threshold_zero_behaves_like_least_wait(build, two_hubs) -> None:
    times = [10, 12, 14, 16, 18, 40, 41]
    a = routed(build, copy.deepcopy(two_hubs), "overflow", times, threshold=0.0)
    b = routed(build, copy.deepcopy(two_hubs), "least_wait", times)
    assert hub_names(a) == hub_names(b)
    np.testing.assert_array_equal(a.start, b.start)


def test_least_wait_counts_the_time_until_a_closed_hub_opens(build, two_hubs) -> None:
    # A (home) is closed until 12:00; B is open but busy with a long consult
    two_hubs["hubs"][0]["roster"][0].update(start="12:00", end="18:00")
    times = [hm(0, "10:00"), hm(0, "10:05")]
    two_hubs["routing"] = {"policy": "least_wait"}
    sc = build(two_hubs)
    r = run_with(sc, requests(times, [60.0, 20.0])).records
    # 10:00: A opens in 120 min, B idle -> B. 10:05: A 115 + 20, B 60 busy -> wait 20 -> B
    assert hub_names(r) == ["B", "B"]
    np.testing.assert_array_equal(r.start, [hm(0, "10:00"), hm(0, "11:00")])
    assert math.isclose(r.wait[1], 55.0)


@pytest.mark.parametrize(("session_end", "outcome"), [("carry", UNSERVED), ("drop", DROPPED)])
def test_a_roster_that_never_opens_within_the_horizon(one_hub, build, session_end: str,
                                                      outcome: int) -> None:
    # Valid scenario (the roster serves medicine on Mondays) but a 2-day run from Thursday
    # never reaches a Monday: requests wait (or are dropped); the run must not crash.
    one_hub["calendar"].update(horizon_days=2, start_weekday="thu")
    one_hub["hubs"][0]["roster"][0]["days"] = ["mon"]
    one_hub["queue"] = {"session_end": session_end}
    model = Model(build(one_hub), seed=1)
    result = model.run()
    assert len(result.records) > 0
    assert np.all(result.records.outcome == outcome)
    check_invariants(model, result)


@pytest.mark.parametrize("path", ["plain", "realism"])
@pytest.mark.parametrize("policy", ["least_wait", "overflow"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_routing_counts_only_requests_still_waiting(two_hubs: dict[str, Any], build: Any,
                                                    policy: str, seed: int, path: str) -> None:
    """Every routing decision, re-derived from the records, used live queue lengths
    (on both code paths).

    Two hubs with one doctor each (24/7, exponential consults of mean 20 min); requests
    renege after an exponential patience of mean 15 min, so queues hold many requests that
    have already left but that no doctor has reached yet. At each arrival the records say
    which doctor was busy and which requests were still waiting (arrived, not started, not
    yet past their deadline); the chosen hub must have the smallest expected wait
    (live waiting + 1) x 20 min, or 0 with an idle doctor, ties going to the home hub.
    """
    two_hubs["specialties"]["medicine"]["consult"] = {"kind": "exponential", "mean": 20}
    two_hubs["demand"]["d2d"]["per_spoke_per_day"]["phc"] = 90
    two_hubs["queue"] = {"patience": {"kind": "exponential", "mean": 15}}
    two_hubs["routing"] = {"policy": policy, "overflow_threshold_min": 30}
    if path == "realism":  # one priority class: the same queue discipline, on that path
        two_hubs["priorities"] = {"classes": [{"name": "all", "share": 1.0}]}
    sc = build(two_hubs)
    assert uses_mechanisms(sc) == (path == "realism")
    r = simulate(sc, seed).records
    busy_from = np.where(r.outcome == SERVED, r.start, np.inf)
    waiting_until = np.where(r.outcome == SERVED, r.start,
                             np.where(r.outcome == ABANDONED, r.end, np.inf))
    stale_somewhere = 0
    for i in range(len(r.arrival)):
        t = r.arrival[i]
        before = r.arrival < t
        waits = []
        for h in (0, 1):
            mine = before & (r.hub == h)
            busy = np.any(mine & (busy_from <= t) & (r.end > t))
            live = int(np.sum(mine & (busy_from > t) & (waiting_until >= t)))
            stale_somewhere += int(np.sum(mine & (busy_from > t) & (waiting_until < t)
                                          & (r.outcome == ABANDONED)))
            waits.append((live + 1) * 20.0 if busy else 0.0)
        home = int(r.district[i])  # district a -> hub A (0), b -> hub B (1)
        if policy == "overflow" and waits[home] <= 30:
            assert r.hub[i] == home, (i, waits)
            continue
        best = min(waits)
        assert waits[r.hub[i]] == best, (i, waits, r.hub[i])
        if waits[0] == waits[1]:
            assert r.hub[i] == home, (i, waits)
    assert stale_somewhere > 100  # the case under test: reneged requests left in queues


def test_a_run_lets_the_arrival_columns_go_with_the_model() -> None:
    """After ``run()``, dropping the model frees the consult and patience columns at once.

    The records keep the arrival columns they share (time, district, ...), but the consult
    lengths and patience are the model's alone; nothing left over from the run (events past
    the horizon, closures) may keep them until the next garbage collection.
    """
    import gc
    import weakref

    sc = queue_scenario(3, 0.25, 10.0, patience_mean=30.0, horizon_days=3, warmup_days=0.0)
    gc.disable()
    try:
        model = Model(sc, 1)
        refs = [weakref.ref(model.arrivals.consult), weakref.ref(model.arrivals.patience)]
        result = model.run()
        del model
        assert all(ref() is None for ref in refs)
        assert len(result.records) > 0
    finally:
        gc.enable()
