"""Duty timelines: the vectorised builders against the plain loop they replaced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.roster import (
    DAY,
    DutyTimeline,
    all_timelines,
    sessions_timeline,
    timeline_from_arrays,
)
from sim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def reference(deltas: dict[float, int], horizon: float) -> DutyTimeline:
    """The original dict-and-loop merge: sum changes per time, drop no-ops, cut at horizon."""
    times, levels, level = [0.0], [0], 0
    for t in sorted(deltas):
        level += deltas[t]
        if t >= horizon:
            break
        if level == levels[-1]:
            continue
        if t == times[-1]:
            levels[-1] = level
            if len(levels) > 1 and levels[-2] == level:
                times.pop()
                levels.pop()
        else:
            times.append(t)
            levels.append(level)
    return DutyTimeline(np.asarray(times), np.asarray(levels, dtype=np.int64))


sessions = st.lists(st.tuples(st.integers(0, 6), st.sampled_from([0.0, 60.0, 540.0, 600.0]),
                              st.sampled_from([600.0, 960.0, 1440.0]), st.integers(1, 3)),
                    max_size=8)


@settings(max_examples=200, deadline=None)
@given(sessions, st.sampled_from([3 * DAY, 2.5 * DAY, 600.0, 0.5]))
def test_timeline_from_arrays_matches_the_loop(sess: list, horizon: float) -> None:
    times, deltas, d = [], [], {}
    for day, a, b, k in sess:
        for t, x in ((day * DAY + a, k), (day * DAY + b, -k)):
            times.append(t)
            deltas.append(x)
            d[t] = d.get(t, 0) + x
    got = timeline_from_arrays(np.asarray(times, dtype=float),
                               np.asarray(deltas, dtype=np.int64), horizon)
    want = reference(d, horizon)
    assert got.times.tolist() == want.times.tolist()
    assert got.levels.tolist() == want.levels.tolist()
    assert got.levels.dtype == np.int64 and got.times.dtype == np.float64


def test_back_to_back_sessions_merge_into_one_level() -> None:
    # 00:00-24:00 on three days: one level for the whole horizon, no hand-over at midnight
    base = np.arange(3) * DAY
    tl = timeline_from_arrays(np.concatenate([base, base + DAY]),
                              np.array([2, 2, 2, -2, -2, -2]), 3 * DAY)
    assert tl.times.tolist() == [0.0] and tl.levels.tolist() == [2]


def brute_peak(sessions: list[tuple[str, int, int, tuple[int, ...], int]]) -> dict[str, int]:
    """Doctors of each specialty on duty at once at worst, minute by minute over a week."""
    peak: dict[str, int] = {}
    for spec in {s[0] for s in sessions}:
        best = 0
        for wd in range(7):
            for minute in range(0, 1440, 30):
                best = max(best, sum(k for sp, a, b, days, k in sessions
                                     if sp == spec and wd in days and a <= minute < b))
        peak[spec] = best
    return peak


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["medicine", "cardiology"]),
                          st.integers(0, 46), st.integers(1, 48),
                          st.sets(st.integers(0, 6), min_size=1), st.integers(1, 4)),
                min_size=1, max_size=6))
def test_roster_peak_matches_a_minute_by_minute_count(raw: list) -> None:
    from sim.scenario.network import Hub
    from sim.scenario.schema import _peak_on_duty
    from sim.scenario.types import WEEKDAYS

    sessions = [(sp, a * 30, max(a + 1, b) * 30, tuple(sorted(days)), k)
                for sp, a, b, days, k in raw]
    hub = Hub(id="h", roster=[{
        "specialty": sp, "start": f"{a // 60:02d}:{a % 60:02d}",
        "end": f"{b // 60:02d}:{b % 60:02d}" if b < 1440 else "24:00",
        "days": [WEEKDAYS[d] for d in days], "doctors": k}
        for sp, a, b, days, k in sessions])
    assert _peak_on_duty(hub) == brute_peak(sessions)


@pytest.mark.parametrize("name", sorted(p.name for p in SCENARIOS.glob("*.yaml")))
def test_all_timelines_are_each_pools_own_sessions_timeline(name: str) -> None:
    """A one-session pool of k doctors is made from the one-doctor window with levels
    times k; every pool's timeline must be what its own sessions give."""
    sc = load_scenario(SCENARIOS / name)
    got = all_timelines(sc)
    spec_index = {s: i for i, s in enumerate(sc.specialties)}
    assert got
    for h, hub in enumerate(sc.hubs):
        for spec in {x.specialty for x in hub.roster}:
            want = sessions_timeline(sc.calendar, [x for x in hub.roster if x.specialty == spec])
            tl = got.get((h, spec_index[spec]))
            if tl is None:
                assert not want.ever_on
                continue
            assert tl.times.tobytes() == want.times.tobytes()
            assert tl.levels.tobytes() == want.levels.tobytes()
