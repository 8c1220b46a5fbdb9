"""Demand: the arrival processes, drawn in bulk before the run starts.

Each source (channel x district x spoke type) has a piecewise-constant rate: its daily
volume, shaped by the opening hours, the hour-of-day and weekday profiles, holidays and
the growth multiplier. Arrivals are the unit-rate Poisson process (or, for ``regular``,
the integers) mapped through the inverse cumulative intensity, which is exact for
piecewise-constant rates. Every attribute a request carries that does not depend on
staffing (specialty, spoke, consult length, patience) is drawn here, from named streams,
so that plans compared on the same seed see the same requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine.streams import Streams
from sim.scenario.calendar import Clock
from sim.scenario.demand_schema import Profiles
from sim.scenario.schema import Scenario
from sim.scenario.types import CHANNELS, SPOKE_TYPES, WEEKDAYS, format_clock

DAY = 1440.0


@dataclass(frozen=True)
class Arrivals:
    """All requests of one run, sorted by arrival time, as parallel columns."""

    time: np.ndarray  # float64 minutes since the start
    channel: np.ndarray  # int8 index into CHANNELS
    spoke: np.ndarray  # int32 global spoke number, -1 for a patient at home
    spoke_type: np.ndarray  # int8 index into SPOKE_TYPES
    district: np.ndarray  # int16 index into scenario districts
    specialty: np.ndarray  # int16 index into scenario specialties
    consult: np.ndarray  # float64 consult length (minutes) if served
    patience: np.ndarray  # float64 patience (minutes), inf when none

    def __len__(self) -> int:
        return len(self.time)


@dataclass(frozen=True)
class Segments:
    """A piecewise-constant rate: [t0, t1) at ``rate`` per minute (open periods only)."""

    t0: np.ndarray
    t1: np.ndarray
    rate: np.ndarray

    @property
    def expected(self) -> float:
        """Expected number of arrivals over all segments."""
        return float(np.sum((self.t1 - self.t0) * self.rate))


def day_shape(hours: Clock, profile: Profiles) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Within one open day: segment starts, ends (minutes) and each one's share of volume."""
    weights = np.ones(24) if profile.hour_profile is None else np.asarray(profile.hour_profile)
    inner = (h * 60 for h in range(25) if hours.start < h * 60 < hours.end)
    edges = sorted({hours.start, hours.end, *inner})
    t0 = np.asarray(edges[:-1], dtype=float)
    t1 = np.asarray(edges[1:], dtype=float)
    w = weights[np.minimum((t0 // 60).astype(int), 23)] * (t1 - t0)
    if w.sum() <= 0:
        raise ValueError(
            f"the hour profile is zero throughout the open hours "
            f"{format_clock(hours.start)}-{format_clock(hours.end)}"
        )
    keep = w > 0
    return t0[keep], t1[keep], w[keep] / w.sum()


def growth_by_day(scenario: Scenario) -> np.ndarray | None:
    """The growth curve's multiplier on each simulated day (None without a curve)."""
    curve, cal = scenario.demand.growth_curve, scenario.calendar
    if curve is None:
        return None
    days = np.arange(cal.horizon_days)
    if curve.monthly:
        assert cal.start_date is not None
        first = np.datetime64(cal.start_date, "D")
        months = np.datetime_as_string((first + days).astype("datetime64[M]"))
        return np.asarray([curve.monthly[m] for m in months.tolist()], dtype=float)
    x = np.asarray([cal.day_number(d) for d, _ in curve.points], dtype=float)
    y = np.asarray([v for _, v in curve.points], dtype=float)
    if curve.between == "linear":
        return np.interp(days, x, y)
    return y[np.maximum(np.searchsorted(x, days, side="right") - 1, 0)]


DayGrid = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Segment starts and ends over the horizon, each day's weekday/holiday factor, and each
segment's share of a day's volume and length within the day: all of a source's rate but
its volume, so that sources with the same hours and profile share it."""


def day_grid(scenario: Scenario, hours: Clock, profile: Profiles) -> DayGrid:
    """The part of ``rate_segments`` that does not depend on the source's volume."""
    cal = scenario.calendar
    s0, s1, share = day_shape(hours, profile)
    days = np.arange(cal.horizon_days)
    by_weekday = np.asarray([profile.weekday_profile.get(w, 1.0) for w in WEEKDAYS],  # type: ignore[call-overload]
                            dtype=np.float64)
    factor = np.zeros(cal.horizon_days)
    open_days = cal.open_days(hours.weekdays)
    factor[open_days] = by_weekday[cal.weekday_array()[open_days]]
    curve = growth_by_day(scenario)
    if curve is not None:
        factor *= curve
    t0 = (days[:, None] * DAY + s0[None, :]).ravel()
    t1 = (days[:, None] * DAY + s1[None, :]).ravel()
    return t0, t1, factor, share, s1 - s0


def rate_segments(scenario: Scenario, hours: Clock, profile: Profiles, per_day: float,
                  grid: DayGrid | None = None) -> Segments:
    """The rate over the whole horizon of a source with ``per_day`` mean requests per open day.

    ``grid`` is ``day_grid(scenario, hours, profile)`` if already computed.
    """
    grid = grid or day_grid(scenario, hours, profile)
    rate = _rates(scenario, grid, np.asarray([per_day]))[0]
    keep = rate > 0
    return Segments(grid[0][keep], grid[1][keep], rate[keep])


def _rates(scenario: Scenario, grid: DayGrid, per_day: np.ndarray) -> np.ndarray:
    """Each segment's rate (per minute) for sources of ``per_day`` requests per open day.

    One row per source; a segment's rate is its day's expected requests times its share of
    the day, over its length.
    """
    _, _, factor, share, length = grid
    volume = (per_day * scenario.demand.growth)[:, None] * factor[None, :]  # per day
    return (volume[:, :, None] * share / length).reshape(len(per_day), -1)


def _unit_points(total: float, rng: np.random.Generator | None, process: str) -> np.ndarray:
    """The unit-rate points in [0, total), sorted: Poisson, or the integers for ``regular``."""
    if process == "regular":
        return np.arange(1.0, np.floor(total) + 1.0)
    assert rng is not None
    return np.sort(rng.uniform(0.0, total, rng.poisson(total)))


_SNAP = 1e-9  # relative: far above summation error, far below the spacing (1) of the points


def _cumulative(mass: np.ndarray, process: str) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative intensity at each segment's start and end (along the last axis).

    For ``regular`` the points are the integers, so a running sum that should be a whole
    number (a day of R requests ends at R, 2R, ...) but came out a rounding error below it
    would move the day's last arrival into the next day, or lose the horizon's last one:
    such sums are snapped to the whole number, and each start is the previous end.
    """
    lam_end = np.cumsum(mass, axis=-1)
    if process != "regular":
        return lam_end - mass, lam_end
    whole = np.rint(lam_end)
    near = np.abs(lam_end - whole) <= _SNAP * np.maximum(whole, 1.0)
    lam_end = np.where(near, whole, lam_end)
    lam_start = np.zeros_like(lam_end)
    lam_start[..., 1:] = lam_end[..., :-1]
    return lam_start, lam_end


def arrival_times(seg: Segments, rng: np.random.Generator, process: str) -> np.ndarray:
    """Arrival times of one source: unit-rate points mapped by the inverse intensity."""
    if len(seg.t0) == 0:
        return np.empty(0)
    lam_start, lam_end = _cumulative((seg.t1 - seg.t0) * seg.rate, process)
    u = _unit_points(float(lam_end[-1]), rng, process)
    k = np.minimum(np.searchsorted(lam_end, u, side="left"), len(lam_end) - 1)
    t = seg.t0[k] + (u - lam_start[k]) / seg.rate[k]
    return np.minimum(t, seg.t1[k]) if process == "regular" else t


@dataclass(frozen=True)
class Source:
    """One stream of requests: a channel from a district's spokes (or homes) of one type."""

    channel: int
    district: int
    spoke_type: int
    first_spoke: int  # global number of the district's first spoke of this type
    n_spokes: int  # 0 for patients at home
    per_day: float
    hours: Clock
    profile: Profiles
    mix: dict[str, float]

    @property
    def name(self) -> str:
        """Stable name of the source, used to name its random streams."""
        return f"{CHANNELS[self.channel]}/{self.district}/{SPOKE_TYPES[self.spoke_type]}"


def spoke_numbering(scenario: Scenario) -> list[tuple[int, int]]:
    """(first global spoke number of the district's sub-centres, of its PHCs), per district."""
    out, nxt = [], 0
    for d in scenario.spokes.districts:
        out.append((nxt, nxt + d.subcentres))
        nxt += d.subcentres + d.phcs
    return out


def sources(scenario: Scenario) -> list[Source]:
    """Every request source the scenario defines, with positive volume."""
    out: list[Source] = []
    d2d, opd = scenario.demand.d2d, scenario.demand.opd
    numbering = spoke_numbering(scenario)
    for i, d in enumerate(scenario.spokes.districts):
        hours = d.hours or scenario.spokes.hours
        if d2d is not None:
            by_type = d.d2d_by_type(d2d.per_spoke_per_day)  # type: ignore[arg-type]
            for t, count in ((0, d.subcentres), (1, d.phcs)):
                rate = by_type[t]
                if rate > 0:
                    out.append(Source(0, i, t, numbering[i][t], count, rate, hours, d2d,
                                      d2d.specialty_mix))
        if opd is not None and opd.per_day.get(d.district, 0.0) > 0:
            out.append(Source(1, i, 2, -1, 0, opd.per_day[d.district],
                              opd.hours or scenario.spokes.hours, opd, opd.specialty_mix))
    return out


def expected_arrivals(scenario: Scenario) -> float:
    """Expected number of requests over the horizon (for sizing and sanity checks)."""
    return sum(rate_segments(scenario, s.hours, s.profile, s.per_day).expected
               for s in sources(scenario))


def _times_by_grid(scenario: Scenario, srcs: list[Source],
                   streams: Streams) -> list[np.ndarray]:
    """Every source's arrival times; sources with the same hours and profile at once.

    The same numbers as ``arrival_times(rate_segments(...))`` source by source: the rate
    arithmetic is elementwise, each source's cumulative intensity is summed in the same
    order, and each source draws from its own stream.
    """
    out: list[np.ndarray] = [np.empty(0)] * len(srcs)
    keys: dict[tuple[int, int], tuple[Any, ...]] = {}  # by (hours, profile) object
    groups: dict[tuple[Any, ...], list[int]] = {}  # by what the day grid is made of
    for i, src in enumerate(srcs):
        ids = (id(src.hours), id(src.profile))
        if ids not in keys:
            keys[ids] = _grid_key(src.hours, src.profile)
        groups.setdefault(keys[ids], []).append(i)
    for members in groups.values():
        first = srcs[members[0]]
        grid = day_grid(scenario, first.hours, first.profile)
        t0, t1 = grid[0], grid[1]
        rate = _rates(scenario, grid, np.asarray([srcs[i].per_day for i in members]))
        keep = rate > 0
        if not (keep == keep[0]).all():  # some rates vanish for some sources only
            for i in members:
                seg = rate_segments(scenario, srcs[i].hours, srcs[i].profile,
                                    srcs[i].per_day, grid)
                out[i] = arrival_times(seg, streams(f"arrivals/{srcs[i].name}"),
                                       srcs[i].profile.process)
            continue
        if not keep[0].any():
            continue
        if keep[0].all():  # the usual case: no segment to drop
            seg_t0, seg_t1 = t0, t1
        else:
            seg_t0, seg_t1, rate = t0[keep[0]], t1[keep[0]], rate[:, keep[0]]
        width = seg_t0.size
        process = first.profile.process
        lam_start2, lam_end = _cumulative((seg_t1 - seg_t0) * rate, process)
        lam_start = lam_start2.ravel()
        us, ks = [], []
        for j, (i, total) in enumerate(zip(members, lam_end[:, -1].tolist(), strict=True)):
            rng = streams(f"arrivals/{srcs[i].name}") if process != "regular" else None
            u = _unit_points(total, rng, process)
            k = np.searchsorted(lam_end[j], u, side="left")
            us.append(u)
            ks.append(k)
        local = np.concatenate(ks)
        np.minimum(local, width - 1, out=local)
        sizes = [len(k) for k in ks]
        flat = local + np.repeat(np.arange(len(members)) * width, sizes)
        u = np.concatenate(us)
        times = seg_t0[local] + (u - lam_start[flat]) / rate.ravel()[flat]
        if process == "regular":  # a point snapped to a segment's end stays inside it
            np.minimum(times, seg_t1[local], out=times)
        lo = 0
        for i, size in zip(members, sizes, strict=True):
            out[i] = times[lo:lo + size]
            lo += size
    return out


def _grid_key(hours: Clock, profile: Profiles) -> tuple[Any, ...]:
    """What ``day_grid`` and the arrival process depend on.

    Sources with equal keys share one grid: the D2D and OPD channels of the baseline, say,
    whose hours and profiles are separate objects of the same values.
    """
    return (hours.start, hours.end, hours.weekdays,
            None if profile.hour_profile is None else tuple(profile.hour_profile),
            tuple(profile.weekday_profile.get(w, 1.0) for w in WEEKDAYS),  # type: ignore[call-overload]
            profile.process)


def draw_arrivals(scenario: Scenario, streams: Streams) -> Arrivals:
    """Draw every request of one run, with all its staffing-independent attributes."""
    spec_index = {s: i for i, s in enumerate(scenario.specialties)}
    srcs = sources(scenario)
    mixes: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # by mix object: codes, their CDF
    times, specs, spokes = [], [], []
    for src, t in zip(srcs, _times_by_grid(scenario, srcs, streams), strict=True):
        name = src.name
        n = len(t)
        if id(src.mix) not in mixes:
            names = [s for s, p in src.mix.items() if p > 0]
            p = np.asarray([src.mix[s] for s in names])
            cdf = (p / p.sum()).cumsum()
            cdf /= cdf[-1]
            mixes[id(src.mix)] = (np.asarray([spec_index[s] for s in names], dtype=np.int16),
                                  cdf)
        codes, cdf = mixes[id(src.mix)]
        # Generator.choice(len(codes), n, p=p) draw for draw (its inverse-CDF method),
        # without its per-call argument checks
        u = streams(f"specialty/{name}").random(n)
        specs.append(codes[cdf.searchsorted(u, side="right")])
        if src.n_spokes > 0:
            spokes.append(src.first_spoke + streams(f"spoke/{name}").integers(
                0, src.n_spokes, size=n, dtype=np.int32))
        else:
            spokes.append(np.full(n, -1, dtype=np.int32))
        times.append(t)
    counts = [len(t) for t in times]

    def each(values: list[int], dtype: type) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=dtype), counts)

    cols = [np.concatenate(times or [np.empty(0)]),
            each([s.channel for s in srcs], np.int8),
            np.concatenate(spokes or [np.empty(0, np.int32)]),
            each([s.spoke_type for s in srcs], np.int8),
            each([s.district for s in srcs], np.int16),
            np.concatenate(specs or [np.empty(0, np.int16)])]
    order = np.argsort(cols[0], kind="stable")
    time, channel, spoke, stype, district, spec = (c[order] for c in cols)
    del cols, order  # peak memory
    n = len(time)
    consult = np.empty(n)
    # each specialty's requests in arrival order (a stable radix sort of the codes)
    by_spec = np.argsort(spec, kind="stable")
    ends = np.cumsum(np.bincount(spec, minlength=len(spec_index))).tolist()
    for (name, s), lo, hi in zip(scenario.specialties.items(), [0, *ends], ends, strict=False):
        idx = by_spec[lo:hi]
        consult[idx] = s.consult.sample(streams(f"consult/{name}"), len(idx))
    del by_spec
    pat = scenario.queue.patience
    patience = np.full(n, np.inf) if pat is None else pat.sample(streams("patience"), n)
    return Arrivals(time, channel, spoke, stype, district, spec, consult, patience)


def draw_priorities(scenario: Scenario, streams: Streams,
                    arrivals: Arrivals) -> tuple[np.ndarray, np.ndarray]:
    """Priority class (0 = highest) and patience of every request.

    Classes come from their own stream ("priority") and a class with its own patience
    draws it from "patience/<class>", so the arrival, consult and base patience streams are
    unchanged. Without priority classes every request is class 0 with its drawn patience.
    """
    n = len(arrivals)
    pri = scenario.priorities
    if pri is None:
        return np.zeros(n, dtype=np.int8), arrivals.patience
    shares = np.asarray([c.share for c in pri.classes])
    cls = streams("priority").choice(len(shares), size=n, p=shares / shares.sum()).astype(np.int8)
    patience = arrivals.patience.copy()
    for k, c in enumerate(pri.classes):
        if c.patience is not None:
            own = c.patience.sample(streams(f"patience/{c.name}"), n)
            patience[cls == k] = own[cls == k]
    return cls, patience
