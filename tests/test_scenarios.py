"""The bundled scenarios: every file validates, and the Himachal ones say what they claim.

The baseline's structure (hubs, doctors, specialties, HWCs, districts) is checked against
the published facts, its spoke split against the population apportionment its comments
describe, and its expected volume against the published mid-2020 rate it is calibrated to.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

import sim
from sim.engine.demand import expected_arrivals
from sim.engine.records import OUTCOMES
from sim.engine.roster import duty_timeline

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
ALL_FILES = sorted(SCENARIOS.rglob("*.yaml"))

# Published: 24,527 consults from go-live (31 Mar 2020) to 12 Aug 2020, 135 calendar days.
# Per open day that is between 24,527 / 116 (every Mon-Sat open) and 24,527 / 110 (the ~6
# gazetted holidays of that window closed too). See the note atop himachal-baseline.yaml.
PUBLISHED_CONSULTS, MON_SAT_DAYS, OPEN_DAYS = 24_527, 116, 110
PER_OPEN_DAY_RANGE = (PUBLISHED_CONSULTS / MON_SAT_DAYS, PUBLISHED_CONSULTS / OPEN_DAYS)


def _load(name: str) -> sim.Scenario:
    return sim.load_scenario(SCENARIOS / name)


def _uses_extends(path: Path) -> bool:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return isinstance(data, dict) and "extends" in data


def _open_days(sc: sim.Scenario) -> list[int]:
    cal, hours = sc.calendar, sc.spokes.hours
    return [d for d in range(cal.horizon_days)
            if not cal.is_holiday(d) and cal.weekday_of(d) in hours.weekdays]


def _doctor_hours(sc: sim.Scenario) -> float:
    total = 0.0
    for hub in sc.hubs:
        for spec in sc.specialties:
            total += duty_timeline(sc, hub, spec).on_duty_minutes(0.0, sc.horizon_min)
    return total / 60


def test_there_are_scenario_files() -> None:
    names = {p.name for p in ALL_FILES}
    assert {"himachal-baseline.yaml", "himachal-all-hwcs.yaml",
            "himachal-lean-roster.yaml", "himachal-curfew-hours.yaml",
            "himachal-aiims-fourth-hub.yaml"} <= names


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_every_scenario_file_validates(path: Path) -> None:
    try:
        sc = sim.load_scenario(path)
    except sim.ScenarioError as exc:
        overlay = "plans" in path.relative_to(SCENARIOS).parts and _uses_extends(path)
        if overlay and "extends" in str(exc):
            pytest.skip("overlay files (extends:) are not supported by this loader yet")
        raise
    assert expected_arrivals(sc) > 0


def test_baseline_matches_the_published_network() -> None:
    sc = _load("himachal-baseline.yaml")
    assert sc.hub_ids == ["igmc_shimla", "rpgmc_tanda", "slbsgmc_nerchowk"]
    assert sum(n for hub in sc.hubs for n in hub.doctors.values()) == 112
    assert set(sc.specialties) == {
        "medicine", "cardiology", "orthopaedics", "obstetrics", "gynaecology",
        "dermatology", "neurology", "paediatrics", "gastroenterology", "psychiatry"}
    districts = sc.spokes.districts
    assert len(districts) == 12
    assert sum(d.subcentres for d in districts) == 504
    assert sum(d.phcs for d in districts) == 518


def test_baseline_roster_follows_the_april_2020_notice() -> None:
    sc = _load("himachal-baseline.yaml")
    notice = {"medicine": range(6), "gynaecology": range(6), "paediatrics": range(6),
              "psychiatry": range(6), "cardiology": (0, 1), "neurology": (2, 3),
              "dermatology": (4, 5)}
    for hub in sc.hubs:
        for spec, days in notice.items():
            sessions = [s for s in hub.roster if s.specialty == spec]
            assert {d for s in sessions for d in s.weekdays} == set(days), (hub.id, spec)
            assert all((s.start, s.end) == (9 * 60 + 30, 16 * 60) for s in sessions)


def _largest_remainder(total: int, weights: list[int]) -> list[int]:
    quotas = [total * w / sum(weights) for w in weights]
    seats = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: seats[i] - quotas[i])
    for i in by_remainder[: total - sum(seats)]:
        seats[i] += 1
    return seats


def test_baseline_spokes_are_split_by_population_with_largest_remainder() -> None:
    districts = _load("himachal-baseline.yaml").spokes.districts
    pops = [d.population for d in districts]
    assert all(p is not None and p > 0 for p in pops)
    assert [d.subcentres for d in districts] == _largest_remainder(504, pops)  # type: ignore[arg-type]
    assert [d.phcs for d in districts] == _largest_remainder(518, pops)  # type: ignore[arg-type]


def test_baseline_expected_arrivals_per_open_day_match_the_published_rate() -> None:
    sc = _load("himachal-baseline.yaml")
    per_open_day = expected_arrivals(sc) / len(_open_days(sc))
    low, high = PER_OPEN_DAY_RANGE
    assert low <= per_open_day <= high, (per_open_day, PER_OPEN_DAY_RANGE)


def test_baseline_channel_split_is_the_published_977_percent_d2d() -> None:
    sc = _load("himachal-baseline.yaml")
    d2d = sc.model_copy(update={"demand": sc.demand.model_copy(update={"opd": None})})
    assert expected_arrivals(d2d) / expected_arrivals(sc) == pytest.approx(0.977, abs=0.002)


def test_short_baseline_run_conserves_requests() -> None:
    base = _load("himachal-baseline.yaml")
    short = sim.apply_overrides(base, {"calendar.horizon_days": 7, "calendar.warmup_days": 1,
                                       "calendar.holidays": [5]})
    result = sim.simulate(short, seed=3)
    rec = result.records
    n = len(rec.id)
    assert n > 500  # ~216 a day on 5 open days
    counts = np.bincount(rec.outcome, minlength=len(OUTCOMES))
    assert counts.sum() == n and len(counts) == len(OUTCOMES)
    assert np.array_equal(np.sort(rec.id), np.arange(n))  # each request recorded exactly once
    served = rec.outcome == OUTCOMES.index("served")
    assert counts[OUTCOMES.index("served")] > 0.9 * n
    assert np.all(rec.start[served] >= rec.arrival[served])
    assert np.all(rec.end[served] >= rec.start[served])
    assert np.all(np.isnan(rec.start[~served]))


def test_all_hwcs_has_more_demand_on_the_same_roster() -> None:
    base, full = _load("himachal-baseline.yaml"), _load("himachal-all-hwcs.yaml")
    assert expected_arrivals(full) > 1.4 * expected_arrivals(base)
    assert full.hubs == base.hubs and full.spokes == base.spokes
    assert full.calendar == base.calendar and full.queue == base.queue


def test_lean_roster_has_fewer_doctor_hours_for_the_same_demand() -> None:
    base, lean = _load("himachal-baseline.yaml"), _load("himachal-lean-roster.yaml")
    assert _doctor_hours(lean) < 0.8 * _doctor_hours(base)
    assert lean.demand == base.demand and lean.spokes == base.spokes
    assert lean.calendar == base.calendar and lean.queue == base.queue
    assert [h.doctors for h in lean.hubs] == [h.doctors for h in base.hubs]


def test_curfew_hours_serve_evenings_and_sundays() -> None:
    sc = _load("himachal-curfew-hours.yaml")
    assert sc.demand.opd is not None and sc.demand.opd.hours is not None
    assert sc.demand.opd.hours.weekdays == tuple(range(7))
    day = 1440.0
    for hub in sc.hubs:
        medicine = duty_timeline(sc, hub, "medicine")
        assert medicine.level_at(0 * day + 19 * 60) > 0  # Monday 19:00
        assert medicine.level_at(6 * day + 11 * 60) > 0  # Sunday 11:00
        assert medicine.level_at(6 * day + 17 * 60) == 0  # Sunday 17:00


def test_aiims_fourth_hub_takes_bilaspur_and_hamirpur_from_the_same_demand() -> None:
    full, four = _load("himachal-all-hwcs.yaml"), _load("himachal-aiims-fourth-hub.yaml")
    assert four.hub_ids == [*full.hub_ids, "aiims_bilaspur"]
    assert four.hubs[:3] == full.hubs and four.demand == full.demand
    moved = {d.district for d in four.spokes.districts if d.home_hub == "aiims_bilaspur"}
    assert moved == {"Bilaspur", "Hamirpur"}
    before = {d.district: d.home_hub for d in full.spokes.districts}
    assert {before[d] for d in moved} == {"rpgmc_tanda", "slbsgmc_nerchowk"}


# Published cumulative Himachal consultations by date (see himachal-2020-2021.yaml)
DATED_TOTALS = [("2020-08-12", 24_527), ("2020-09-26", 36_527), ("2020-10-12", 39_326),
                ("2020-12-14", 49_224), ("2021-03-17", 67_352), ("2021-05-26", 80_062),
                ("2021-10-26", 144_000)]


def test_go_live_to_october_2021_follows_the_dated_totals() -> None:
    """The growth curve's expected cumulative volume is within 2.5% of every dated total."""
    sc = _load("himachal-2020-2021.yaml")
    cal = sc.calendar
    assert (str(cal.start_date), cal.start_weekday, cal.horizon_days) == ("2020-03-31", "tue", 575)
    assert cal.date_of(cal.holiday_days()[0]).isoformat() == "2020-04-02"  # Ram Navami
    for date, total in DATED_TOTALS:
        upto = sim.apply_overrides(sc, {"calendar.end_date": date,
                                        "calendar.horizon_days": None}, source="<test>")
        assert expected_arrivals(upto) == pytest.approx(total, rel=0.025), date
    flat = sim.apply_overrides(sc, {"demand.growth_curve": None}, source="<test>")
    assert expected_arrivals(flat) < 0.7 * 144_000  # the curve, not the base rate, fits


def test_go_live_scenario_runs_its_first_two_weeks() -> None:
    sc = _load("himachal-2020-2021.yaml")
    short = sim.apply_overrides(sc, sc.calendar.cut_to(14), source="--days")
    rec = sim.simulate(short, seed=1).records
    day = (rec.arrival // 1440).astype(int)
    # 2 Apr (Ram Navami, day 2), 5 Apr (Sunday, day 5) and 10 Apr (Good Friday, day 10) closed
    assert not np.isin(day, [2, 5, 10, 12]).any()
    assert len(rec.id) > 9 * 200
