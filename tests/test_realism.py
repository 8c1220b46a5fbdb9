"""Booking realism: appointments, no-shows, failed calls, the PHC tier, follow-ups,
priorities and doctor absence.

Each mechanism has an exact hand-computed case (arrivals given explicitly, certain events
with probability 1) and a statistical check of its rate against a binomial confidence
interval; conservation is checked with every mechanism on; and with every mechanism off the
second engine path must give the plain path's records bit for bit.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

from sim.analysis.metrics import lookup, summary_rows
from sim.engine.demand import Arrivals
from sim.engine.model import Model, simulate
from sim.engine.records import (
    ABANDONED,
    GAVE_UP,
    NO_SHOW,
    OUTCOMES,
    SERVED,
    TURNED_AWAY,
    UNSERVED,
    RunResult,
)
from sim.scenario.loader import ScenarioError, scenario_from_dict
from sim.scenario.schema import Scenario
from sim.scenario.textbook import queue_scenario

DAY = 1440.0
Z = 3.29  # two-sided 99.9%: a correct engine fails one rate check in a thousand


def base(**sections: Any) -> dict[str, Any]:
    """One hub, medicine (10 min, deterministic), one doctor 09:00-10:00 every day."""
    d: dict[str, Any] = {
        "name": "realism-test", "seed": 11,
        "calendar": {"horizon_days": 4, "warmup_days": 0},
        "specialties": {"medicine": {"consult": {"kind": "deterministic", "value": 10}}},
        "hubs": [{"id": "A", "doctors": {"medicine": 1},
                  "roster": [{"specialty": "medicine", "days": "all", "start": "09:00",
                              "end": "10:00", "doctors": 1}]}],
        "spokes": {"hours": {"days": "all", "start": "00:00", "end": "24:00"},
                   "districts": [{"district": "x", "home_hub": "A", "subcentres": 1,
                                  "phcs": 1}]},
        "demand": {"d2d": {"per_spoke_per_day": {"subcentre": 1, "phc": 1},
                           "specialty_mix": {"medicine": 1.0}}},
    }
    d.update(copy.deepcopy(sections))
    return d


def always_on(d: dict[str, Any]) -> dict[str, Any]:
    """The same scenario with its doctor on duty 24/7."""
    d["hubs"][0]["roster"][0].update(start="00:00", end="24:00")
    return d


def build(d: dict[str, Any]) -> Scenario:
    return scenario_from_dict(d, source="<test>")


def given(times: list[float], *, consult: float = 10.0, spoke_type: int = 1,
          district: list[int] | None = None, channel: int = 0) -> Arrivals:
    """Requests at exactly ``times`` (sorted), medicine, from the given spoke type."""
    n = len(times)
    return Arrivals(
        time=np.asarray(times, dtype=float), channel=np.full(n, channel, np.int8),
        spoke=np.zeros(n, np.int32), spoke_type=np.full(n, spoke_type, np.int8),
        district=np.asarray(district or [0] * n, np.int16), specialty=np.zeros(n, np.int16),
        consult=np.full(n, consult), patience=np.full(n, np.inf))


def run(d: dict[str, Any], times: list[float], **kw: Any) -> RunResult:
    return Model(build(d), arrivals=given(times, **kw)).run()


def within_ci(hits: int, n: int, p: float) -> bool:
    """``hits`` successes in ``n`` trials agree with probability ``p`` (normal approx.)."""
    half = Z * math.sqrt(p * (1 - p) / n)
    return abs(hits / n - p) <= half


CLINIC = {"hub": "A", "specialty": "medicine", "slot_min": 15, "horizon_days": 1.5}


# --- with every mechanism off nothing changes ---------------------------------------------

@pytest.mark.parametrize("sc", [
    queue_scenario(3, 0.25, 10, horizon_days=10),
    queue_scenario(2, 0.2, 8, patience_mean=15, horizon_days=10),
    queue_scenario(2, 0.15, 12, service="deterministic", arrivals="regular", horizon_days=3),
], ids=["mmc", "erlang-a", "ddc"])
def test_second_path_with_everything_off_gives_the_plain_records(sc: Scenario) -> None:
    plain = Model(sc).run().records
    m = Model(sc)
    m._ran = True
    assert m._run_realism().records.equals(plain)


def test_absence_zero_and_new_streams_leave_the_plain_run_alone() -> None:
    sc = queue_scenario(3, 0.25, 10, horizon_days=10)
    plain = simulate(sc).records
    assert simulate(sc.model_copy(update={"absence": build(base(absence={"prob": 0.0})).absence})
                    ).records.equals(plain)
    assert (plain.attempts == (plain.outcome == SERVED)).all()
    assert np.isnan(plain.slot).all() and (plain.parent == -1).all()
    assert np.array_equal(plain.queued, plain.arrival)


def test_switching_failures_on_keeps_the_same_requests() -> None:
    d = always_on(base(failures={"default": {"fail_prob": 0.3}}))
    d["demand"]["d2d"]["per_spoke_per_day"] = {"subcentre": 30, "phc": 30}
    off = simulate(build({k: v for k, v in d.items() if k != "failures"})).records
    on = simulate(build(d)).records
    for col in ("arrival", "channel", "spoke", "district", "specialty"):
        assert np.array_equal(getattr(on, col), getattr(off, col))


# --- appointment booking ------------------------------------------------------------------

def test_booking_gives_the_earliest_free_slot_then_turns_away() -> None:
    # slots 09:00, 09:15, 09:30, 09:45 each day; horizon 1.5 days from the request
    res = run(base(booking={"clinics": [CLINIC]}), [0, 1, 2, 3, 4, 5, 600, 601, 602, 4920])
    r = res.records
    # day 3 at 10:00: no slot before the run ends, but the horizon reaches past it: unknown
    assert r.outcome[9] == UNSERVED and np.isnan(r.slot[9])
    d1 = DAY + 540
    assert r.slot[:8].tolist() == [540, 555, 570, 585, d1, d1 + 15, d1 + 30, d1 + 45]
    assert r.outcome[8] == TURNED_AWAY and np.isnan(r.slot[8]) and r.end[8] == 602
    assert r.start[:8].tolist() == r.slot[:8].tolist()  # a 10-min consult fits its slot
    assert (r.outcome[:8] == SERVED).all()
    assert r.queued[:8].tolist() == r.slot[:8].tolist()


def test_same_day_holdback_keeps_the_last_slots_for_same_day_requests() -> None:
    clinic = CLINIC | {"same_day_share": 0.5, "horizon_days": 3}
    res = run(base(booking={"clinics": [clinic]}), [600, 601, 602, DAY + 100])
    d1, d2 = DAY + 540, 2 * DAY + 540
    # day 1: 09:00 and 09:15 general, 09:30 and 09:45 held back
    assert res.records.slot.tolist() == [d1, d1 + 15, d2, d1 + 30]
    slots = res.tables["slots"]
    assert slots["held"].sum() == 2 * 4 and len(slots["time"]) == 4 * 4


def test_overbooking_adds_bookings_spread_over_the_session() -> None:
    clinic = CLINIC | {"overbook_per_session": 2}
    res = run(base(booking={"clinics": [clinic]}), [0, 1, 2, 3, 4, 5])
    r = res.records
    assert r.slot.tolist() == [540, 540, 555, 570, 570, 585]
    # one doctor, 10-min consults: the double-booked patients wait their turn
    assert r.start.tolist() == [540, 550, 560, 570, 580, 590]
    rows = summary_rows(res)
    assert lookup(rows, "slots_offered") == 4 * (4 + 2)
    assert lookup(rows, "slots_booked") == 6


def test_least_wait_sends_requests_to_the_clinic_with_the_earliest_slot() -> None:
    d = base(booking={"clinics": [CLINIC, CLINIC | {"hub": "B"}]})
    d["hubs"].append(copy.deepcopy(d["hubs"][0]) | {"id": "B"})
    d["routing"] = {"policy": "least_wait"}
    r = run(d, list(range(8))).records
    # a tie goes to the home hub A; then B's free slot is earlier, then A's again, ...
    assert r.hub.tolist() == [0, 1] * 4
    assert r.slot.tolist() == [540, 540, 555, 555, 570, 570, 585, 585]


def test_certain_no_show_frees_the_doctor() -> None:
    d = base(booking={"clinics": [CLINIC], "no_show": {"d2d": 1.0}})
    r = run(d, [0, 1]).records
    assert (r.outcome == NO_SHOW).all() and r.end.tolist() == [540, 555]
    assert (r.doctor == -1).all()
    # opd bookings are unaffected by the d2d no-show rate
    r2 = run(d, [0, 1], channel=1, spoke_type=2).records
    assert (r2.outcome == SERVED).all()


def test_no_show_and_access_metrics_match_the_configured_rate() -> None:
    d = base(booking={"clinics": [CLINIC | {"horizon_days": 30}], "no_show": {"d2d": 0.2}})
    d["calendar"]["horizon_days"] = 200
    d["hubs"][0]["doctors"]["medicine"] = 4
    d["hubs"][0]["roster"][0].update(start="09:00", end="17:00", doctors=4)
    d["demand"]["d2d"]["per_spoke_per_day"] = {"subcentre": 40, "phc": 40}
    res = simulate(build(d))
    r = res.records
    booked = ~np.isnan(r.slot) & (r.slot < res.horizon)
    assert booked.sum() > 5000
    assert within_ci(int(np.sum(r.outcome[booked] == NO_SHOW)), int(booked.sum()), 0.2)
    rows = summary_rows(res)
    delay = (r.slot - r.arrival)[booked]
    assert lookup(rows, "access_delay_mean_days") == pytest.approx(delay.mean() / DAY)
    assert (delay >= 0).all()


# --- failed video calls -------------------------------------------------------------------

FAIL_ALL = {"default": {"fail_prob": 1.0, "wasted_min": 4}, "retry_delay_min": 10,
            "max_attempts": 3}


def test_certain_failure_retries_then_gives_up() -> None:
    res = run(always_on(base(failures=FAIL_ALL)), [100])
    r = res.records
    # attempts at 100 (doctor held to 104), 114 (to 118), 128 (to 132): gives up at 132
    assert r.outcome[0] == GAVE_UP and r.end[0] == 132
    assert r.attempts[0] == 3 and r.lost_min[0] == 12
    assert lookup(summary_rows(res), "doctor_min_lost") == 12


def test_district_connectivity_overrides_spoke_type_and_default() -> None:
    d = always_on(base(failures=FAIL_ALL | {"default": {"fail_prob": 0.0},
                                            "spoke_types": {"phc": {"fail_prob": 1.0}},
                                            "districts": {"y": {"fail_prob": 0.0}}}))
    d["spokes"]["districts"].append({"district": "y", "home_hub": "A", "phcs": 1})
    r = run(d, [0, 100, 200], district=[0, 1, 0], spoke_type=1).records
    assert r.outcome.tolist() == [GAVE_UP, SERVED, GAVE_UP]
    r2 = run(d, [0], spoke_type=0).records  # a sub-centre: the default, never fails
    assert r2.outcome[0] == SERVED and r2.attempts[0] == 1


def test_failure_rate_matches_the_configured_probability() -> None:
    d = always_on(base(failures={"default": {"fail_prob": 0.25, "wasted_min": 2},
                                 "max_attempts": 2}))
    d["calendar"]["horizon_days"] = 60
    d["demand"]["d2d"]["per_spoke_per_day"] = {"subcentre": 20, "phc": 20}
    res = simulate(build(d))
    r = res.records
    served = r.outcome == SERVED
    attempts = int(r.attempts.sum())
    failed = attempts - int(served.sum())
    assert attempts > 2000
    assert within_ci(failed, attempts, 0.25)
    # gave up = failed twice in a row: 0.25^2 of requests that got a first attempt
    tried = r.attempts > 0
    assert within_ci(int(np.sum(r.outcome == GAVE_UP)), int(tried.sum()), 0.0625)
    assert r.lost_min.sum() == pytest.approx(2 * failed)


# --- the PHC tier -------------------------------------------------------------------------

PHC = {"escalate_share": 1.0, "consult": {"kind": "deterministic", "value": 6},
       "hours": {"days": "all", "start": "09:00", "end": "17:00"}, "escalation_delay_min": 30}


def test_escalated_request_reaches_the_hub_delayed() -> None:
    res = run(always_on(base(phc_tier=PHC)), [600], spoke_type=0)
    r = res.records
    assert (r.tier[0], r.phc_start[0], r.phc_end[0]) == (2, 600, 606)
    assert (r.queued[0], r.start[0], r.end[0]) == (636, 636, 646)
    assert res.decoded()["doctor"][0] == "A/medicine/1"
    # a PHC spoke's request skips the tier (only sub-centres use it by default)
    r2 = run(always_on(base(phc_tier=PHC)), [600], spoke_type=1).records
    assert r2.tier[0] == 0 and r2.start[0] == 600 and np.isnan(r2.phc_start[0])


def test_resolved_at_phc_and_phc_hours_hold_requests() -> None:
    res = run(always_on(base(phc_tier=PHC | {"escalate_share": 0.0})), [100, 600],
              spoke_type=0)
    r = res.records
    # 100 arrives before the MO's 09:00 start: seen at 540
    assert r.tier.tolist() == [1, 1] and r.start.tolist() == [540, 600]
    assert r.end.tolist() == [546, 606] and (r.outcome == SERVED).all()
    dec = res.decoded()
    assert dec["doctor"][0] == "PHC/x/1" and dec["hub"][0] == "(PHC tier)"
    rows = summary_rows(res)
    assert lookup(rows, "utilisation", "tier", "phc") == pytest.approx(
        12 / (4 * 8 * 60))


def test_escalation_share_matches_the_configuration() -> None:
    d = always_on(base(phc_tier=PHC | {"escalate_share": 0.3, "doctors": 3,
                                       "escalation_delay_min": 0}))
    d["hubs"][0]["doctors"]["medicine"] = 3
    d["hubs"][0]["roster"][0]["doctors"] = 3
    d["calendar"]["horizon_days"] = 60
    d["demand"]["d2d"]["per_spoke_per_day"] = {"subcentre": 60, "phc": 10}
    res = simulate(build(d))
    r = res.records
    seen = ~np.isnan(r.phc_start)
    assert seen.sum() > 2000
    assert within_ci(int(np.sum(r.tier == 2)), int(seen.sum()), 0.3)
    esc = (r.tier == 2) & (r.outcome == SERVED)
    assert (r.start[esc] >= r.phc_end[esc]).all()
    assert lookup(summary_rows(res), "end_to_end_wait_mean_min") == pytest.approx(
        (r.start - r.arrival)[esc].mean())


# --- follow-ups and referrals ------------------------------------------------------------------

def test_certain_follow_up_returns_after_the_delay_and_next_opening() -> None:
    fu = {"share": 1.0, "delay": {"kind": "deterministic", "value": 60}}
    r = run(always_on(base(followups=fu)), [600]).records
    assert len(r) == 2 and r.next_step.tolist() == [1, 0]
    assert r.parent.tolist() == [-1, 0] and r.arrival[1] == 670 and r.start[1] == 670
    # spokes open 09:00-17:00: a follow-up due at 20:10 arrives 09:00 next day
    d = always_on(base(followups=fu | {"delay": {"kind": "deterministic", "value": 600}}))
    d["spokes"]["hours"] = {"days": "all", "start": "09:00", "end": "17:00"}
    r2 = run(d, [600]).records
    assert r2.arrival[1] == DAY + 540


def test_follow_up_and_referral_shares_match() -> None:
    fu = {"share": 0.22, "referral_share": 0.18,
          "delay": {"kind": "uniform", "low": 1440, "high": 4320}}
    d = always_on(base(followups=fu))
    d["calendar"]["horizon_days"] = 120
    d["demand"]["d2d"]["per_spoke_per_day"] = {"subcentre": 20, "phc": 20}
    res = simulate(build(d))
    r = res.records
    first = (r.parent < 0) & (r.outcome == SERVED) & (r.end <= res.horizon)
    n = int(first.sum())
    assert n > 3000
    assert within_ci(int(np.sum(r.next_step[first] == 1)), n, 0.22)
    assert within_ci(int(np.sum(r.next_step[first] == 2)), n, 0.18)
    # every follow-up has a parent that asked for it, arriving after the parent's consult
    kids = np.flatnonzero(r.parent >= 0)
    assert (r.next_step[r.parent[kids]] == 1).all()
    assert (r.arrival[kids] >= r.end[r.parent[kids]] + 1440).all()
    assert lookup(summary_rows(res), "followup_share") == pytest.approx(
        np.sum(r.next_step[first] == 1) / n)



def test_referrals_alone_need_no_follow_up_delay() -> None:
    """``share: 0`` with referrals only: the schema asks for no delay, the run makes none."""
    d = base(followups={"share": 0.0, "referral_share": 1.0})
    r = run(always_on(d), [600, 700]).records
    assert len(r) == 2 and r.next_step.tolist() == [2, 2] and (r.parent < 0).all()

# --- priorities ---------------------------------------------------------------------------

PRIORITIES = {"classes": [{"name": "urgent", "share": 0.2, "targets_min": [15]},
                          {"name": "routine", "share": 0.8}]}


def test_urgent_goes_first_without_preempting(monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.engine.model

    def classes(sc: Scenario, streams: Any, arr: Arrivals) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray([1, 1, 0], np.int8), arr.patience

    monkeypatch.setattr(sim.engine.model, "draw_priorities", classes)
    r = run(always_on(base(priorities=PRIORITIES)), [0, 1, 2]).records
    # routine 0 is in consult when urgent 2 arrives: it finishes, then urgent, then routine 1
    assert r.start.tolist() == [0, 20, 10]
    assert r.priority.tolist() == [1, 1, 0]


def test_priority_shares_and_class_patience() -> None:
    pri = copy.deepcopy(PRIORITIES)
    pri["classes"][1]["patience"] = {"kind": "exponential", "mean": 30}
    d = always_on(base(priorities=pri))
    d["specialties"]["medicine"]["consult"] = {"kind": "exponential", "mean": 10}
    d["calendar"]["horizon_days"] = 40
    d["demand"]["d2d"]["per_spoke_per_day"] = {"subcentre": 65, "phc": 65}
    res = simulate(build(d))
    r = res.records
    assert within_ci(int(np.sum(r.priority == 0)), len(r), 0.2)
    urgent, routine = r.priority == 0, r.priority == 1
    # only routine requests have finite patience here
    assert not np.any(r.outcome[urgent] == ABANDONED)
    assert np.any(r.outcome[routine] == ABANDONED)
    rows = summary_rows(res)
    assert 0 < lookup(rows, "share_within_class_target_15_min", "priority", "urgent") <= 1
    assert lookup(rows, "arrivals", "priority", "urgent") == urgent.sum()


def test_priority_waits_match_cobhams_formula() -> None:
    """Non-preemptive M/M/1 with two classes: W_k = W0 / ((1 - s_{k-1})(1 - s_k)).

    lambda = 0.08/min, mean consult 10 (rho 0.8), urgent share 0.2: W0 = lambda E[S^2]/2 =
    8 min, so urgent waits 8/0.84 = 9.52 min and routine 8/(0.84 * 0.2) = 47.6 min.
    Judged with a t-interval over replications, not one run.
    """
    from scipy import stats

    sc = queue_scenario(1, 0.08, 10, horizon_days=60, warmup_days=3)
    sc = sc.model_copy(update={"priorities": build(base(priorities=PRIORITIES)).priorities})
    reps = 10
    means = np.empty((reps, 2))
    for i in range(reps):
        res = Model(sc, seed=1000 + i).run()
        r = res.records
        keep = (r.arrival >= res.warmup) & (r.outcome == SERVED)
        for k in range(2):
            means[i, k] = (r.start - r.arrival)[keep & (r.priority == k)].mean()
    half = stats.t.ppf(0.9995, reps - 1) * means.std(axis=0, ddof=1) / math.sqrt(reps)
    theory = np.asarray([8 / 0.84, 8 / (0.84 * 0.2)])
    assert (np.abs(means.mean(axis=0) - theory) <= half).all(), (means.mean(axis=0), half)


# --- doctor absence -----------------------------------------------------------------------

def test_certain_absence_empties_the_roster() -> None:
    res = run(base(absence={"prob": 1.0}), [0, 1])
    assert (res.records.outcome == UNSERVED).all()
    sess = res.tables["sessions"]
    assert (sess["absent"] == sess["rostered"]).all() and len(sess["start"]) == 4
    assert lookup(summary_rows(res), "absent_doctor_hours") == 4.0


def test_absence_rate_matches() -> None:
    d = base(absence={"prob": 0.15})
    d["hubs"][0]["doctors"]["medicine"] = 5
    d["hubs"][0]["roster"][0]["doctors"] = 5
    d["calendar"]["horizon_days"] = 400
    res = simulate(build(d))
    sess = res.tables["sessions"]
    assert within_ci(int(sess["absent"].sum()), int(sess["rostered"].sum()), 0.15)
    on = res.duty[(0, 0)].on_duty_minutes(0, res.horizon)
    assert on == pytest.approx(60 * (sess["rostered"] - sess["absent"]).sum())


# --- everything at once -------------------------------------------------------------------

ALL_ON = dict(
    booking={"clinics": [{"hub": "A", "specialty": "paeds", "slot_min": 15,
                          "horizon_days": 0.5, "overbook_per_session": 1,
                          "same_day_share": 0.25, "channels": ["d2d"]}],
             "no_show": {"d2d": 0.1, "opd": 0.2}},
    failures={"default": {"fail_prob": 0.1, "wasted_min": 4},
              "districts": {"y": {"fail_prob": 0.3, "wasted_min": 6}},
              "retry_delay_min": 15, "max_attempts": 2},
    phc_tier={"escalate_share": 0.7, "consult": {"kind": "exponential", "mean": 6},
              "hours": {"start": "09:00", "end": "17:00"}, "doctors": 2},
    followups={"share": 0.22, "referral_share": 0.18,
               "delay": {"kind": "uniform", "low": 2880, "high": 10080}},
    priorities={"classes": [{"name": "urgent", "share": 0.1, "targets_min": [15]},
                            {"name": "routine", "share": 0.9,
                             "patience": {"kind": "exponential", "mean": 240}}]},
    absence={"prob": 0.1},
)


def all_on(session_end: str = "carry", policy: str = "least_wait") -> Scenario:
    d = base(**ALL_ON)
    if policy == "pooled":  # appointment clinics need hub queues
        del d["booking"]
    d["calendar"] = {"horizon_days": 21, "warmup_days": 1, "holidays": [6]}
    d["specialties"]["paeds"] = {"consult": {"kind": "exponential", "mean": 10}}
    d["specialties"]["medicine"]["consult"] = {"kind": "exponential", "mean": 8}
    d["hubs"] = [
        {"id": "A", "doctors": {"medicine": 3, "paeds": 1},
         "roster": [{"specialty": "medicine", "start": "09:30", "end": "16:00", "doctors": 3},
                    {"specialty": "paeds", "start": "10:00", "end": "13:00"}]},
        {"id": "B", "doctors": {"medicine": 2, "paeds": 1},
         "roster": [{"specialty": "medicine", "start": "09:00", "end": "15:00", "doctors": 2},
                    {"specialty": "paeds", "start": "09:30", "end": "16:00"}]}]
    d["spokes"] = {"hours": {"start": "09:00", "end": "17:00"},
                   "districts": [{"district": "x", "home_hub": "A", "subcentres": 10, "phcs": 5},
                                 {"district": "y", "home_hub": "B", "subcentres": 8, "phcs": 4}]}
    d["demand"] = {"d2d": {"per_spoke_per_day": {"subcentre": 4, "phc": 4},
                           "specialty_mix": {"medicine": 0.8, "paeds": 0.2}},
                   "opd": {"per_day": {"x": 30, "y": 20}, "specialty_mix": {"medicine": 1.0}}}
    d["queue"] = {"patience": {"kind": "exponential", "mean": 600}, "session_end": session_end}
    d["routing"] = {"policy": policy}
    return build(d)


@pytest.mark.parametrize("session_end, policy", [
    ("carry", "least_wait"), ("drop", "home_hub"), ("carry", "overflow"), ("drop", "pooled")])
def test_conservation_with_every_mechanism_on(session_end: str, policy: str) -> None:
    res = simulate(all_on(session_end, policy))
    r = res.records
    n = len(r)
    assert np.array_equal(r.id, np.arange(n))
    assert set(np.unique(r.outcome).tolist()) <= set(range(len(OUTCOMES)))
    counts = np.bincount(r.outcome, minlength=len(OUTCOMES))
    assert counts.sum() == n
    seen = [SERVED, GAVE_UP] + ([TURNED_AWAY, NO_SHOW] if policy != "pooled" else [])
    assert counts[seen].min() > 0
    served = r.outcome == SERVED
    assert (r.start[served] >= r.arrival[served]).all()
    assert (r.end[served] >= r.start[served]).all()
    assert (r.doctor[served] >= 0).all() and (r.doctor[~served] == -1).all()
    assert np.isnan(r.start[~served]).all()
    assert (~np.isnan(r.slot[r.outcome == NO_SHOW])).all()
    assert np.isnan(r.slot[r.outcome == TURNED_AWAY]).all()
    assert (r.attempts[r.outcome == GAVE_UP] == 2).all()
    esc = r.tier == 2
    assert (r.phc_end[esc & ~np.isnan(r.queued)] <= r.queued[esc & ~np.isnan(r.queued)]).all()
    assert (r.parent[r.parent >= 0] < np.flatnonzero(r.parent >= 0)).all()
    # no doctor is in two consults at once (hub and PHC doctors alike)
    for d in np.unique(r.doctor[served]):
        mine = served & (r.doctor == d)
        s, e = r.start[mine], r.end[mine]
        order = np.argsort(s)
        assert (s[order][1:] >= e[order][:-1] - 1e-9).all()
    rows = summary_rows(res)
    assert lookup(rows, "arrivals") == np.sum(r.arrival >= res.warmup)
    total = sum(lookup(rows, o) for o in OUTCOMES)
    assert total == lookup(rows, "arrivals")


def test_same_seed_same_records_with_every_mechanism_on() -> None:
    a, b = simulate(all_on()).records, simulate(all_on()).records
    assert a.equals(b)


# --- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize("section, match", [
    ({"booking": {"clinics": [CLINIC | {"hub": "Z"}]}},
     r"booking\.clinics\[0\]\.hub: hub 'Z' is not defined"),
    ({"booking": {"clinics": [CLINIC | {"specialty": "paeds"}]}},
     r"booking\.clinics\[0\]\.specialty"),
    ({"booking": {"clinics": [CLINIC, CLINIC]}}, "a second clinic"),
    ({"failures": {"districts": {"nowhere": {"fail_prob": 0.1}}}}, "failures.districts"),
    ({"failures": {"default": {"fail_prob": 1.5}}}, "fail_prob"),
    ({"followups": {"share": 0.5}}, "needs a delay"),
    ({"followups": {"share": 0.7, "referral_share": 0.5,
                    "delay": {"kind": "deterministic", "value": 1}}}, "exceeds 1"),
    ({"priorities": {"classes": [{"name": "u", "share": 0.5}]}}, "sum to 0.5"),
    ({"absence": {"prob": 0.1, "hubs": {"Q": 0.2}}}, "absence.hubs"),
])
def test_bad_sections_are_rejected_with_their_path(section: dict[str, Any], match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        build(base(**section))


def test_booking_needs_hub_queues() -> None:
    d = base(booking={"clinics": [CLINIC]})
    d["routing"] = {"policy": "pooled"}
    with pytest.raises(ScenarioError, match="routing pooled"):
        build(d)
