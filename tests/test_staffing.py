"""hubsim staff: the fewest doctors that meet the standards, against theory and by simulation.

Textbook queues must come out at exactly the ``c`` of Erlang C / Erlang A; a 24/7 queue with
sinusoidal arrivals must be staffed hour by hour better than stationary Erlang staffing
for about the same doctor-hours; the Himachal baseline must verify on fresh seeds.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sim.analysis import theory
from sim.cli import main
from sim.experiment.executors import open_executor
from sim.scenario.loader import ScenarioError, load_scenario, scenario_from_dict
from sim.scenario.textbook import queue_scenario
from sim.staffing import StaffingError, staff
from sim.staffing.analytic import stationary_hourly
from sim.staffing.evaluate import VERIFY_OFFSET, Evaluator
from sim.staffing.output import write_staffing
from sim.staffing.problem import Target, build_pools
from sim.staffing.search import peak, to_scenario, week_hours

ROOT = Path(__file__).resolve().parent.parent
LAM, MEAN = 0.25, 40.0  # 15 an hour, 40-minute consults: 10 erlangs


def _target(measure: str, target: float, within: float | None = None,
            percentile: float | None = None, hourly: bool = False,
            confidence: float = 0.95) -> Target:
    sense = "at_least" if measure.startswith("share") else "at_most"
    return Target(f"{measure}-{target:g}", measure, target, sense, within, percentile,
                  hourly=hourly, confidence=confidence)


# ---- theory: the inverse functions -----------------------------------------------------

def test_min_servers_is_the_first_c_that_meets() -> None:
    c = theory.min_servers(LAM, MEAN, measure="share_within", target=0.8, within=10)
    assert theory.mmc_wait_cdf(10, c, LAM, MEAN) >= 0.8 > theory.mmc_wait_cdf(10, c - 1, LAM,
                                                                                MEAN)
    c = theory.min_servers(LAM, MEAN, measure="abandonment", target=0.04, mean_patience=60)
    assert theory.erlang_a(c, LAM, MEAN, 60).p_abandon <= 0.04 < theory.erlang_a(
        c - 1, LAM, MEAN, 60).p_abandon
    with pytest.raises(ValueError, match="measure must be one of"):
        theory.min_servers(LAM, MEAN, measure="p99", target=1)


def test_erlang_a_share_within_limits() -> None:
    ea = theory.erlang_a(10, 0.2, 40, 60)
    assert theory.erlang_a_share_within(0, 10, 0.2, 40, 60) == pytest.approx(1 - ea.p_wait)
    # very long patience: M/M/c's wait distribution
    assert theory.erlang_a_share_within(5, 10, 0.2, 40, 1e9) == pytest.approx(
        theory.mmc_wait_cdf(5, 10, 0.2, 40), abs=1e-6)
    # as t grows, every arrival that is served is served within t
    assert theory.erlang_a_share_within(600, 10, 0.3, 40, 60) == pytest.approx(
        1 - theory.erlang_a(10, 0.3, 40, 60).p_abandon, abs=1e-6)


# ---- (a) textbook queues: exactly the minimal c of theory --------------------------------

TEXTBOOK = [  # each c - 1 misses by more than the simulation's interval (theory: 13, 13, 14, 13)
    (math.inf, _target("share_within", 0.75, within=10)),
    (math.inf, _target("wait_mean", 8.0)),
    (60.0, _target("share_within", 0.8, within=0)),   # P(wait) <= 0.2, Erlang A
    (60.0, _target("abandonment", 0.04)),
]


@pytest.mark.parametrize(("patience", "target"), TEXTBOOK,
                         ids=[f"{t.id}-patience{p:g}" for p, t in TEXTBOOK])
def test_textbook_queue_gets_the_theory_c(patience: float, target: Target) -> None:
    args = {"share_within": ("share_within", target.target, target.within_min or 0.0),
            "wait_mean": ("wait_mean", target.target, 0.0),
            "abandonment": ("abandonment", target.target, 0.0)}[target.measure]
    want = theory.min_servers(LAM, MEAN, measure=args[0], target=args[1], within=args[2],
                              mean_patience=patience)
    q = queue_scenario(30, LAM, MEAN, horizon_days=12, warmup_days=1,
                       patience_mean=None if math.isinf(patience) else patience)
    res = staff(q, targets=[target], replications=8, verify_replications=16)
    (cells,) = res.plan.values()
    assert cells == {(0, "00:00-24:00"): want}
    assert res.verified and res.feasible


# ---- (b) time-varying load: the ISA beats stationary staffing ---------------------------

def sinusoid(days: int = 30) -> object:
    """One 24/7 queue, 15 an hour +- 80% over the day, 40-min consults, 60-min patience."""
    q = queue_scenario(40, LAM, MEAN, patience_mean=60, horizon_days=days, warmup_days=2,
                       name="sinusoid")
    d = q.model_dump(mode="json", by_alias=True)
    d["demand"]["d2d"]["hour_profile"] = [1 + 0.8 * math.sin(2 * math.pi * (h + 0.5) / 24)
                                          for h in range(24)]
    d["staffing"] = {"days": "all", "sessions": {
        f"h{h:02d}": {"start": f"{h:02d}:00", "end": f"{h + 1:02d}:00" if h < 23 else "24:00"}
        for h in range(24)}}
    return scenario_from_dict(d)


@pytest.mark.slow
def test_time_varying_isa_meets_where_stationary_misses() -> None:
    sc = sinusoid()
    # P(wait > 0) <= 0.2 in each hour, judged (as this acceptance asks) by the mean: at
    # confidence 0.5 the interval is the mean +- 0.67 standard errors. At 0.95 the search
    # holds every hour to its whole interval and needs more doctor-hours (see the notes).
    t = _target("share_within", 0.8, within=0, hourly=True, confidence=0.5)
    res = staff(sc, targets=[t], replications=20, verify_replications=30, jobs=2)
    (pool,) = res.managed
    plan = np.zeros(24, dtype=int)
    for (_, s), n in res.plan[pool.key].items():
        plan[int(s[1:])] += n
    met = sum(j.mean >= 0.8 for j in res.verification)
    stationary = stationary_hourly(pool, [t])
    with open_executor("process", 2) as ex:
        check = Evaluator(res.pools, sc.seed, 30, ex, offset=VERIFY_OFFSET)
        cells = {(0, f"h{h:02d}"): int(stationary[h]) for h in range(24)}
        judged = check.judge([to_scenario(sc, res.pools, {pool.key: cells})])[0]
    missed = sum(j.mean < 0.8 for j in judged)
    print(f"plan {plan.tolist()} = {plan.sum()} doctor-hours a day, meets {met}/24 hours; "
          f"stationary {stationary.tolist()} = {stationary.sum()}, misses {missed}/24")
    assert len(res.verification) == 24
    assert met >= 23
    assert missed >= 5
    assert plan.sum() <= 1.02 * stationary.sum()
    assert res.search.isa  # the start came from the ISA


# ---- menu, plan files, infeasibility, reproducibility ------------------------------------

def small_network(doctors: int = 3, rate: float = 0.05) -> object:
    """Two specialties at one hub, a full / morning / afternoon menu, working days."""
    q = queue_scenario(doctors, rate, 10, horizon_days=15, warmup_days=1)
    d = q.model_dump(mode="json", by_alias=True)
    d["specialties"]["skin"] = {"consult": {"kind": "exponential", "mean": 8}}
    d["hubs"][0]["doctors"] = {"medicine": doctors, "skin": 2}
    d["hubs"][0]["roster"] = [
        {"specialty": "medicine", "days": "working", "start": "09:00", "end": "17:00",
         "doctors": doctors},
        {"specialty": "skin", "days": ["mon", "thu"], "start": "09:00", "end": "17:00",
         "doctors": 1}]
    d["spokes"]["hours"] = {"days": "working", "start": "09:00", "end": "17:00"}
    d["demand"]["d2d"]["per_spoke_per_day"]["phc"] = rate * 480
    d["demand"]["d2d"]["specialty_mix"] = {"medicine": 0.85, "skin": 0.15}
    d["staffing"] = {"sessions": {"full": {"start": "09:00", "end": "17:00"},
                                  "morning": {"start": "09:00", "end": "13:00"},
                                  "afternoon": {"start": "13:00", "end": "17:00"}},
                     "days": "working"}
    d["standards"] = [{"id": "medicine-30", "measure": "share_within", "within_min": 30,
                       "target": 0.8, "where": {"specialties": ["medicine"]}},
                      {"id": "skin-next", "measure": "share_by_next_session", "target": 0.8,
                       "where": {"specialties": ["skin"]}}]
    return scenario_from_dict(d)


def test_plan_is_an_overlay_run_accepts(tmp_path: Path) -> None:
    base_file = tmp_path / "base.yaml"
    import yaml

    sc = small_network()
    base_file.write_text(yaml.safe_dump(sc.model_dump(mode="json", by_alias=True)))
    res = staff(sc, replications=6, verify_replications=6)
    assert res.feasible
    for p in res.managed:
        assert peak(p, res.plan[p.key]) <= p.registered
    out = tmp_path / "out"
    files = write_staffing(res, out, base_file)
    assert {"plan.yaml", "staffing.csv", "verification.csv", "run.json"} <= set(files)
    plan = load_scenario(out / "plan.yaml")
    assert plan.hubs == res.scenario.hubs
    assert "extends:" in (out / "plan.yaml").read_text()
    from sim.analysis.standards import STANDARDS_COLUMNS

    verification = (out / "verification.csv").read_text().splitlines()
    assert verification[0] == ",".join(STANDARDS_COLUMNS)
    text = (out / "staffing.csv").read_text().splitlines()
    assert text[0] == ("hub,specialty,weekday,session,start,end,doctors,doctor_hours,"
                       "roster_doctors,change")
    assert main(["run", str(out / "plan.yaml"), "--out", str(tmp_path / "run"), "--no-plot",
                 "--no-records", "-q"]) == 0
    from sim.present.report import build_report

    html = build_report(out, validation=False)
    assert "Staffing plan: the fewest doctor-hours" in html
    assert "every standard was met in every group" in html
    assert "Changes against the roster" in html and "not recorded" not in html
    assert f"{res.hours()[1]:,.1f} doctor-hours a week" in html


def test_same_answer_for_any_jobs_and_resumed(tmp_path: Path) -> None:
    sc = small_network()
    one = staff(sc, replications=4, verify_replications=4)
    two = staff(sc, replications=4, verify_replications=4, jobs=2, out=tmp_path)
    again = staff(sc, replications=4, verify_replications=4, out=tmp_path)
    assert one.plan == two.plan == again.plan
    assert [j.mean for j in one.verification] == [j.mean for j in two.verification]
    assert again.resumed > 0 and again.runs == 0


def test_infeasible_names_the_pool_and_how_many_more(tmp_path: Path) -> None:
    sc = small_network(doctors=2, rate=0.3)  # 2.4 erlangs of medicine, 2 registered
    res = staff(sc, replications=4, verify_replications=4)
    assert not res.feasible
    (inf,) = res.infeasible
    assert inf.pool.key == ("hub", "medicine")
    assert inf.extra_doctors is not None and inf.extra_doctors >= 1
    files = write_staffing(res, tmp_path)
    assert "plan.yaml" not in files and (tmp_path / "infeasible.csv").exists()


def test_budget_mode_spends_within_the_hours() -> None:
    sc = small_network()
    res = staff(sc, replications=4, verify_replications=4, budget=60)
    hours = sum(week_hours(p, res.plan[p.key]) for p in res.managed)
    assert hours <= 60


def test_menu_validation_names_the_field() -> None:
    sc = small_network()
    d = sc.model_dump(mode="json", by_alias=True)
    d["staffing"]["specialties"] = {"skin": {"sessions": ["evening"], "min_days": 9}}
    with pytest.raises(ScenarioError, match=r"staffing.specialties.skin.sessions\[0\]|"
                       r"staffing.specialties.skin.sessions.0") as exc:
        scenario_from_dict(d)
    assert "session 'evening' is not defined" in str(exc.value)
    assert "cannot fit" in str(exc.value)


def test_no_standards_is_a_clear_error() -> None:
    with pytest.raises(StaffingError, match="no standards"):
        staff(queue_scenario(3, 0.1, 10, horizon_days=3))


def test_cli_staff_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    ok = tmp_path / "ok.yaml"
    ok.write_text(yaml.safe_dump(small_network().model_dump(mode="json", by_alias=True)))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(small_network(2, 0.3).model_dump(mode="json", by_alias=True)))
    assert main(["staff", str(ok), "--out", str(tmp_path / "a"), "-n", "4",
                 "--verify-replications", "4"]) == 0
    assert "doctor-hours a week" in capsys.readouterr().out
    assert main(["staff", str(bad), "--out", str(tmp_path / "b"), "-n", "4",
                 "--verify-replications", "4"]) == 1
    assert "NO roster within the registered doctors was shown" in capsys.readouterr().out
    assert main(["staff", str(tmp_path / "missing.yaml")]) == 2


# ---- (c) Himachal baseline ---------------------------------------------------------------

@pytest.mark.slow
def test_himachal_baseline_plan_verifies() -> None:
    sc = load_scenario(ROOT / "scenarios" / "himachal-baseline.yaml")
    pools = build_pools(sc)
    assert len(pools) == 30
    res = staff(sc, jobs=2)
    now, planned = res.hours()
    print(f"Himachal: {planned:,.1f} doctor-hours a week against {now:,.1f} on the roster")
    assert res.feasible
    assert res.verified, [(j.target.id, j.group, j.verdict) for j in res.verification
                          if not j.met]


def test_budget_per_day_is_kept_or_refused() -> None:
    from sim.staffing.search import doctors_on

    d = small_network().model_dump(mode="json", by_alias=True)
    d["staffing"]["budget_per_day"] = 3
    res = staff(scenario_from_dict(d), replications=4, verify_replications=4)
    for day in range(7):
        assert sum(doctors_on(p, res.plan[p.key], day) for p in res.managed) <= 3
    # medicine needs a full day and a morning doctor every day, skin one more on its day
    d["staffing"]["budget_per_day"] = 2
    with pytest.raises(StaffingError, match="within 2 doctors on duty a day"):
        staff(scenario_from_dict(d), replications=4, verify_replications=4)
