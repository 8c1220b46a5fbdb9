"""Arrival draws: the shortcuts in ``draw_arrivals`` against what they stand for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine.demand import _times_by_grid, arrival_times, draw_arrivals, rate_segments, sources
from sim.engine.streams import Streams
from sim.scenario.loader import apply_overrides, load_scenario
from sim.scenario.types import WEEKDAYS

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def test_specialty_draws_are_generator_choice_draw_for_draw() -> None:
    # draw_arrivals inverts the mix's CDF itself; numpy's choice(p=...) does the same
    for seed in range(50):
        rng = np.random.default_rng(seed)
        k = int(rng.integers(1, 12))
        p = rng.random(k) + 1e-3
        p /= p.sum()
        n = int(rng.integers(0, 3000))
        cdf = p.cumsum()
        cdf /= cdf[-1]
        ours = cdf.searchsorted(np.random.default_rng(seed).random(n), side="right")
        theirs = np.random.default_rng(seed).choice(k, size=n, p=p)
        assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("name", ["himachal-baseline.yaml", "himachal-curfew-hours.yaml"])
def test_rate_segments_match_a_day_by_day_loop(name: str) -> None:
    sc = load_scenario(SCENARIOS / name)
    d2d = sc.demand.d2d
    assert d2d is not None
    hours = sc.spokes.hours
    seg = rate_segments(sc, hours, d2d, 10.0)
    cal = sc.calendar
    expected = 0.0
    for day in range(cal.horizon_days):
        wd = cal.weekday_of(day)
        if cal.is_holiday(day) or wd not in hours.weekdays:
            assert not np.any((seg.t0 >= day * 1440.0) & (seg.t0 < (day + 1) * 1440.0))
            continue
        expected += 10.0 * sc.demand.growth * d2d.weekday_profile.get(WEEKDAYS[wd], 1.0)
    assert seg.expected == pytest.approx(expected, rel=1e-12)


def test_arrivals_are_sorted_and_reproducible() -> None:
    sc = load_scenario(SCENARIOS / "himachal-baseline.yaml")
    a = draw_arrivals(sc, Streams(7))
    b = draw_arrivals(sc, Streams(7))
    assert np.all(np.diff(a.time) >= 0)
    for col in ("time", "specialty", "spoke", "district", "consult"):
        assert np.array_equal(getattr(a, col), getattr(b, col))


@pytest.mark.parametrize("over", [{}, {"demand.d2d.process": "regular"},
                                  # the same hours and profiles as D2D but another process
                                  {"demand.opd.process": "regular"},
                                  {"demand.growth": 0.0},
                                  # rates that underflow to 0 for the smaller sources only
                                  {"calendar.horizon_days": 3, "calendar.warmup_days": 0,
                                   "calendar.holidays": [], "demand.growth": 5e-322}])
@pytest.mark.parametrize("name", ["himachal-baseline.yaml", "himachal-curfew-hours.yaml"])
def test_sources_sharing_a_grid_draw_as_they_would_one_by_one(name: str, over: dict) -> None:
    """``draw_arrivals`` handles the sources with the same hours and profile together.

    The baseline's OPD hours and profiles are separate objects equal to the D2D ones: the
    two channels share one grid (unless their processes differ).
    """
    sc = load_scenario(SCENARIOS / name)
    sc = apply_overrides(sc, over, source="<test>") if over else sc
    srcs = sources(sc)
    together = _times_by_grid(sc, srcs, Streams(5))
    streams = Streams(5)
    for src, got in zip(srcs, together, strict=True):
        seg = rate_segments(sc, src.hours, src.profile, src.per_day)
        want = arrival_times(seg, streams(f"arrivals/{src.name}"), src.profile.process)
        assert got.tobytes() == want.tobytes(), src.name
    assert sum(map(len, together)) > 0 or sc.demand.growth < 1e-300


def _regular_clinic(per_day: int, days: int, hour_profile: list[float] | None = None):
    from sim.scenario.loader import scenario_from_dict

    d2d: dict = {"per_spoke_per_day": {"phc": per_day}, "specialty_mix": {"m": 1.0},
                 "process": "regular"}
    if hour_profile is not None:
        d2d["hour_profile"] = hour_profile
    return scenario_from_dict({
        "calendar": {"horizon_days": days, "holidays": [3]},
        "specialties": {"m": {"consult": {"kind": "deterministic", "value": 5}}},
        "hubs": [{"id": "h", "doctors": {"m": 1},
                  "roster": [{"specialty": "m", "start": "09:30", "end": "16:00"}]}],
        "spokes": {"hours": {"start": "09:30", "end": "16:00"},
                   "districts": [{"district": "d", "home_hub": "h", "phcs": 1}]},
        "demand": {"d2d": d2d}}, source="<test>")


@pytest.mark.parametrize("per_day", range(1, 101))
def test_regular_arrivals_give_exactly_r_evenly_spaced_per_open_day(per_day: int) -> None:
    """R per open day over 09:30-16:00: R arrivals each open day, at open + k * 390 / R.

    A running float sum of the hourly segments' intensities falls a rounding error short of
    the whole number at a day's end for most R; unsnapped, that moved the day's last
    arrival to the next morning or lost the horizon's last one.
    """
    sc = _regular_clinic(per_day, 15)
    t = draw_arrivals(sc, Streams(1)).time
    open_days = sc.calendar.open_days(sc.spokes.hours.weekdays)
    assert len(t) == per_day * len(open_days)
    day = np.floor(t / 1440.0).astype(int)
    expected = 570.0 + 390.0 * np.arange(1, per_day + 1) / per_day
    for d in open_days:
        assert t[day == d] - d * 1440.0 == pytest.approx(expected, abs=1e-6), d


@pytest.mark.parametrize("per_day", [7, 30, 97])
def test_regular_arrivals_exact_with_an_hour_profile_over_years(per_day: int) -> None:
    hours = [0.0] * 9 + [1.0, 1.6, 1.8, 1.2, 0.7, 1.1, 1.0, 0.4] + [0.0] * 7
    sc = _regular_clinic(per_day, 3000, hours)
    t = draw_arrivals(sc, Streams(1)).time
    open_days = sc.calendar.open_days(sc.spokes.hours.weekdays)
    counts = np.bincount(np.floor(t / 1440.0).astype(int), minlength=3000)
    assert (counts[open_days] == per_day).all()
    assert counts.sum() == per_day * len(open_days)
