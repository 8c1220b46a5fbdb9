"""The dated calendar: start and end dates, holidays state-wide or per hub, roster exceptions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from sim.engine.demand import draw_arrivals
from sim.engine.model import Model
from sim.engine.roster import DAY, absent_timelines, all_timelines, duty_timeline
from sim.engine.streams import Streams
from sim.scenario.loader import ScenarioError, apply_overrides, scenario_from_dict
from sim.scenario.schema import Scenario, day_sessions, leave_on


def two_hubs(**calendar: Any) -> Scenario:
    """Two hubs with a daily medicine clinic and a Mon/Wed cardiology clinic at hub a."""
    cal = {"start_date": "2020-04-06", "horizon_days": 14, **calendar}  # a Monday
    roster = [{"specialty": "medicine", "start": "09:30", "end": "16:00", "doctors": 2},
              {"specialty": "cardiology", "days": ["mon", "wed"], "start": "09:30",
               "end": "13:00"}]
    return scenario_from_dict({
        "calendar": cal,
        "specialties": {"medicine": {"consult": {"kind": "deterministic", "value": 8}},
                        "cardiology": {"consult": {"kind": "deterministic", "value": 12}}},
        "hubs": [{"id": "a", "doctors": {"medicine": 4, "cardiology": 2}, "roster": roster},
                 {"id": "b", "doctors": {"medicine": 4, "cardiology": 1}, "roster": roster[:1]}],
        "spokes": {"hours": {"start": "09:30", "end": "16:00"},
                   "districts": [{"district": "A", "home_hub": "a", "phcs": 20},
                                 {"district": "B", "home_hub": "b", "phcs": 20}]},
        "demand": {"d2d": {"per_spoke_per_day": {"phc": 1.0},
                           "specialty_mix": {"medicine": 0.9, "cardiology": 0.1}},
                   "opd": {"per_day": {"A": 5.0}, "specialty_mix": {"medicine": 1.0}}},
        "routing": {"policy": "pooled"}}, source="<test>")


def on_duty_by_day(sc: Scenario, hub: int, spec: str) -> list[float]:
    tl = duty_timeline(sc, sc.hubs[hub], spec)
    return [tl.on_duty_minutes(d * DAY, (d + 1) * DAY) for d in range(sc.calendar.horizon_days)]


def arrivals_by_day(sc: Scenario) -> np.ndarray:
    t = draw_arrivals(sc, Streams(3)).time
    return np.bincount((t // DAY).astype(int), minlength=sc.calendar.horizon_days)


def test_start_date_sets_the_weekdays_and_end_date_the_horizon() -> None:
    sc = two_hubs(start_date="2020-03-31", end_date="2020-04-29", horizon_days=None)
    cal = sc.calendar
    assert cal.start_weekday == "tue" and cal.horizon_days == 30
    assert cal.date_of(29) == dt.date(2020, 4, 29)
    sundays = [d for d in range(30) if cal.weekday_of(d) == 6]
    assert [cal.date_of(d).isoformat() for d in sundays[:2]] == ["2020-04-05", "2020-04-12"]
    # the resolved scenario loads back to the same calendar
    assert scenario_from_dict(sc.model_dump(mode="json")).calendar == cal


def test_a_dated_holiday_closes_exactly_that_date() -> None:
    base = two_hubs()
    hol = two_hubs(holidays=["2020-04-08"])  # day 2, a Wednesday
    assert hol.calendar.holiday_days() == [2]
    for h, spec in ((0, "medicine"), (0, "cardiology"), (1, "medicine")):
        want = on_duty_by_day(base, h, spec)
        want[2] = 0.0
        assert on_duty_by_day(hol, h, spec) == want
    got, want = arrivals_by_day(hol), arrivals_by_day(base)
    assert got[2] == 0 and want[2] > 0
    assert np.delete(got, 2).sum() > 0
    # same as the day number
    assert all_timelines(hol).keys() == all_timelines(two_hubs(holidays=[2])).keys()
    for k, tl in all_timelines(hol).items():
        assert tl.times.tolist() == all_timelines(two_hubs(holidays=[2]))[k].times.tolist()


def test_a_per_hub_closure_closes_only_that_hub() -> None:
    base = two_hubs()
    sc = two_hubs(holidays=[{"date": "2020-04-09", "name": "local", "hubs": ["b"]}])
    want = on_duty_by_day(base, 1, "medicine")
    want[3] = 0.0
    assert on_duty_by_day(sc, 1, "medicine") == want
    assert on_duty_by_day(sc, 0, "medicine") == on_duty_by_day(base, 0, "medicine")
    # spokes stay open: the same requests arrive
    assert np.array_equal(draw_arrivals(sc, Streams(3)).time, draw_arrivals(base, Streams(3)).time)
    # and they are served by hub a that day (pooled routing)
    rec = Model(sc, seed=3).run().records
    day3 = (rec.start >= 3 * DAY) & (rec.start < 4 * DAY)
    assert day3.any() and (rec.hub[day3] == 0).all()


def test_dated_holidays_outside_the_horizon_are_ignored_day_numbers_are_not() -> None:
    sc = two_hubs(holidays=["2020-01-26", "2020-08-15", "2020-04-10"])
    assert sc.calendar.holiday_days() == [4]
    with pytest.raises(ScenarioError, match=r"holidays \[20\] fall after the horizon"):
        two_hubs(holidays=[20])


def test_roster_exceptions_cancel_add_and_leave() -> None:
    base = two_hubs()
    sc = two_hubs(roster_exceptions=[
        {"hub": "a", "specialty": "cardiology", "date": "2020-04-08", "cancel": True},
        {"hub": "a", "specialty": "cardiology", "date": "2020-04-09", "start": "14:00",
         "end": "16:00", "doctors": 2},
        {"hub": "b", "specialty": "medicine", "date": "2020-04-13", "until": "2020-04-15",
         "on_leave": 3},
        {"hub": "b", "specialty": "cardiology", "date": 5, "start": "10:00", "end": "12:00",
         "doctors": 1, "note": "a visiting cardiologist"}])
    card = on_duty_by_day(sc, 0, "cardiology")
    want = on_duty_by_day(base, 0, "cardiology")
    want[2], want[3] = 0.0, 2 * 120.0
    assert card == want
    med_b, base_b = on_duty_by_day(sc, 1, "medicine"), on_duty_by_day(base, 1, "medicine")
    assert med_b[7:10] == [390.0] * 3 and base_b[7:10] == [780.0] * 3  # 4 registered, 3 away
    assert med_b[:7] + med_b[10:] == base_b[:7] + base_b[10:]
    # hub b gets a cardiology pool that exists only on day 5
    assert on_duty_by_day(sc, 1, "cardiology") == [120.0 if d == 5 else 0.0 for d in range(14)]
    # every day as day_sessions (the rule the schema checks) with leave capping the level
    cal = sc.calendar
    for hub in sc.hubs:
        for spec in sc.specialties:
            changes = [x for x in cal.roster_exceptions
                       if x.hub == hub.id and x.specialty == spec]
            tl = duty_timeline(sc, hub, spec)
            for d in range(cal.horizon_days):
                for m in range(0, 1440, 15):
                    level = sum(k for a, b, k in day_sessions(cal, hub, spec, d, False, changes)
                                if a <= m < b)
                    cap = hub.doctors.get(spec, 0) - leave_on(cal, changes, d)
                    assert tl.level_at(d * DAY + m) == min(level, cap), (hub.id, spec, d, m)


def test_absence_path_applies_the_same_calendar() -> None:
    """With absence probability 0 the per-day absence loop gives the rostered timelines."""
    sc = two_hubs(holidays=[2, {"date": "2020-04-09", "hubs": ["a"]}], roster_exceptions=[
        {"hub": "a", "specialty": "cardiology", "date": "2020-04-13", "cancel": True},
        {"hub": "b", "specialty": "medicine", "date": "2020-04-14", "on_leave": 3},
        {"hub": "a", "specialty": "medicine", "date": "2020-04-09", "start": "10:00",
         "end": "12:00", "doctors": 1}])
    sc = apply_overrides(sc, {"absence": {"prob": 0.0}}, source="<test>")
    rostered = all_timelines(sc)
    absent, _ = absent_timelines(sc, rostered, np.random.default_rng(1))
    assert rostered.keys() == absent.keys()
    for k, tl in rostered.items():
        assert tl.times.tolist() == absent[k].times.tolist(), k
        assert tl.levels.tolist() == absent[k].levels.tolist(), k


def problems(**calendar: Any) -> str:
    with pytest.raises(ScenarioError) as info:
        two_hubs(**calendar)
    return str(info.value)


@pytest.mark.parametrize(("calendar", "message"), [
    ({"start_date": None, "holidays": ["2020-04-08"]},
     "dates need calendar.start_date (dated: holidays 0)"),
    ({"start_weekday": "mon", "start_date": "2020-03-31"},
     "start_date 2020-03-31 is a Tuesday but start_weekday is 'mon'"),
    ({"end_date": "2020-04-30"}, "horizon_days (14) disagrees with start_date 2020-04-06 to "
                                 "end_date 2020-04-30 (25 days)"),
    ({"holidays": [{"date": "2020-04-08", "hubs": ["c"]}]},
     "calendar.holidays[0].hubs: hub 'c' is not defined"),
    ({"roster_exceptions": [{"hub": "a", "specialty": "cardiology", "date": "2020-04-07",
                             "cancel": True}]},
     "nothing to cancel: hub 'a' has no cardiology session on 2020-04-07 (Tue)"),
    ({"roster_exceptions": [{"hub": "a", "specialty": "medicine", "date": "2020-04-07",
                             "start": "12:00", "end": "14:00", "doctors": 3}]},
     "puts 5 medicine doctors on duty at once on 2020-04-07 (Tue) but hub 'a' has 4"),
    ({"roster_exceptions": [{"hub": "b", "specialty": "medicine", "date": 3, "on_leave": 5}]},
     "5 medicine doctors on leave but hub 'b' has only 4 registered"),
    ({"roster_exceptions": [{"hub": "b", "specialty": "medicine", "date": 3, "cancel": True,
                             "on_leave": 1}]},
     "give exactly one change"),
    ({"roster_exceptions": [{"hub": "b", "specialty": "medicne", "date": 3, "cancel": True}]},
     "did you mean 'medicine'"),
])
def test_calendar_mistakes_get_one_clear_message(calendar: dict, message: str) -> None:
    assert message in problems(**calendar)


def test_cut_to_keeps_dated_holidays_and_drops_day_numbers_past_the_end() -> None:
    sc = two_hubs(end_date="2020-04-19", horizon_days=None, holidays=[10, "2020-04-08"])
    short = apply_overrides(sc, sc.calendar.cut_to(7), source="--days")
    assert short.calendar.horizon_days == 7 and short.calendar.end_date is None
    assert short.calendar.holiday_days() == [2]


def per_day_expected(sc: Scenario) -> np.ndarray:
    from sim.engine.demand import rate_segments, sources

    out = np.zeros(sc.calendar.horizon_days)
    for s in sources(sc):
        seg = rate_segments(sc, s.hours, s.profile, s.per_day)
        np.add.at(out, (seg.t0 // DAY).astype(int), (seg.t1 - seg.t0) * seg.rate)
    return out


@pytest.mark.parametrize(("curve", "factors"), [
    ({"monthly": {"2020-04": 1.0, "2020-05": 2.0}},
     [1.0] * 25 + [2.0] * 10),                         # 6 Apr - 10 May
    ({"points": [["2020-04-08", 1.0], [6, 3.0]]},       # day 2 to day 6, linear; flat outside
     [1.0, 1.0, 1.0, 1.5, 2.0, 2.5] + [3.0] * 29),
    ({"points": [[0, 1.0], ["2020-04-09", 0.5]], "between": "step"},
     [1.0] * 3 + [0.5] * 32),
])
def test_growth_curve_multiplies_each_days_volume(curve: dict, factors: list[float]) -> None:
    base = two_hubs(horizon_days=35)
    sc = apply_overrides(base, {"demand.growth_curve": curve}, source="<test>")
    assert per_day_expected(sc) == pytest.approx(per_day_expected(base) * np.asarray(factors))


@pytest.mark.parametrize(("curve", "message"), [
    ({"monthly": {"2020-04": 1.0}}, "no multiplier for 2020-05"),
    ({"monthly": {"2020-4": 1.0}}, "monthly keys are months written 'YYYY-MM'"),
    ({"monthly": {"2020-04": 1.0}, "points": [[0, 1.0]]}, "give either monthly or points"),
    ({"points": [[5, 1.0], [5, 2.0]]}, "days must increase"),
])
def test_growth_curve_mistakes(curve: dict, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        apply_overrides(two_hubs(horizon_days=35), {"demand.growth_curve": curve},
                        source="<test>")


def test_absences_are_drawn_session_by_session_in_pool_and_day_order() -> None:
    """One binomial per session, in (hub, specialty, day, session) order; duty loses them."""
    sc = two_hubs(holidays=[2], roster_exceptions=[
        {"hub": "a", "specialty": "cardiology", "date": "2020-04-13", "cancel": True},
        {"hub": "a", "specialty": "medicine", "date": "2020-04-09", "start": "17:00",
         "end": "19:00", "doctors": 3}])
    sc = apply_overrides(sc, {"absence": {"prob": 0.3, "hubs": {"b": 0.6}}}, source="<test>")
    rostered = all_timelines(sc)
    absent, table = absent_timelines(sc, rostered, np.random.default_rng(7))
    pools = list(zip(table["hub"].tolist(), table["specialty"].tolist(), strict=True))
    assert pools == sorted(pools) and table["start"].tolist() != sorted(table["start"])
    rng, p = np.random.default_rng(7), {0: 0.3, 1: 0.6}
    one_by_one = [int(rng.binomial(int(k), p[h]))
                  for k, h in zip(table["rostered"], table["hub"], strict=True)]
    assert table["absent"].tolist() == one_by_one
    assert table["absent"].sum() > 0 and table["absent"].sum() < table["rostered"].sum()
    for (h, s), tl in absent.items():
        mine = (table["hub"] == h) & (table["specialty"] == s)
        present = table["rostered"][mine] - table["absent"][mine]
        want = float(np.sum(present * (table["end"][mine] - table["start"][mine])))
        assert tl.on_duty_minutes(0.0, sc.horizon_min) == want, (h, s)
