"""The search: from the analytic start to the fewest doctor-hours that meet every target.

A plan gives each pool doctors per (day group, menu session); sessions may overlap (a full
day and a morning put two doctors on in the morning). The search, on common random numbers
(``sim.staffing.evaluate``):

1. *up*: while a pool misses a target, try three ways to help it, one more doctor on its
   busiest day group's longest session, one more clinic day, or a doctor's shorter session
   made the longest, and keep the best; a pool with none left (every allowed day's
   longest session at the registered pool) is infeasible;
2. *down*: each pool tries one saving at a time (a doctor less, or a doctor's session
   shortened to a shorter menu session), largest saving first, and keeps it if every one of
   its targets is still met; a saving once refused is not tried again (fewer doctors
   elsewhere never makes it acceptable). Pools try their savings in the same simulation;
3. *integer step*: with a per-day budget, OR-Tools CP-SAT picks one of the plans found met
   for each pool so that the days' totals fit the budget with the fewest doctor-hours.

``budget_plan`` instead spends a fixed number of doctor-hours a week to maximise the worst
margin, choosing with CP-SAT among each pool's judged alternatives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.scenario.loader import scenario_from_dict
from sim.scenario.schema import Scenario
from sim.scenario.types import WEEKDAYS
from sim.staffing.analytic import Cells, analytic_start, hourly_windows, isa_staffing
from sim.staffing.evaluate import Evaluator, Judged
from sim.staffing.problem import Pool, Window

Plan = dict[tuple[str, str], Cells]
Log = Callable[[str], None]
MAX_ROUNDS = 200
LAG_HOURS = 2
"""Hours after a session whose hourly figures a change to it may still move."""


# --------------------------------------------------------------------------- plan algebra

def week_hours(pool: Pool, cells: Cells) -> float:
    """Doctor-hours a week of one pool's cells."""
    return sum(n * pool.session(s).hours * len(pool.groups[g]) for (g, s), n in cells.items())


def clinic_days(pool: Pool, cells: Cells) -> set[int]:
    """Weekdays with any doctor on."""
    return {d for (g, _), n in cells.items() if n > 0 for d in pool.groups[g]}


def peak(pool: Pool, cells: Cells) -> int:
    """Most doctors of the pool on duty at once on any day."""
    best = 0
    for g in {g for g, _ in cells}:
        spans = [(pool.session(s), n) for (gg, s), n in cells.items() if gg == g and n > 0]
        for w, _ in spans:
            best = max(best, sum(n for w2, n in spans if w2.start <= w.start < w2.end))
    return best


def doctors_on(pool: Pool, cells: Cells, weekday: int) -> int:
    """Doctors on duty on ``weekday`` (a doctor counted once per session)."""
    return sum(n for (g, _), n in cells.items() if weekday in pool.groups[g])


def plan_hours(pools: Sequence[Pool], plan: Plan) -> float:
    """Doctor-hours a week of the managed pools."""
    return sum(week_hours(p, plan[p.key]) for p in pools if p.key in plan)


def _days_spec(days: Sequence[int]) -> Any:
    ds = sorted(days)
    if ds == list(range(7)):
        return "all"
    if ds == list(range(6)):
        return "working"
    return [WEEKDAYS[d] for d in ds]


def roster_sessions(pool: Pool, cells: Cells) -> list[dict[str, Any]]:
    """One pool's cells as roster sessions, cells with the same session and doctors merged."""
    merged: dict[tuple[str, int], list[int]] = {}
    for (g, s), n in sorted(cells.items(), key=lambda kv: (pool.session(kv[0][1]).start,
                                                           kv[0][0])):
        if n > 0:
            merged.setdefault((s, n), []).extend(pool.groups[g])
    out = []
    for (s, n), days in merged.items():
        w = pool.session(s)
        out.append({"specialty": pool.specialty, "days": _days_spec(days),
                    "start": f"{w.start // 60:02d}:{w.start % 60:02d}",
                    "end": f"{w.end // 60:02d}:{w.end % 60:02d}", "doctors": n})
    return out


def to_scenario(base: Scenario, pools: Sequence[Pool], plan: Plan,
                unlimited: bool = False) -> Scenario:
    """The base scenario with the managed pools' rosters replaced by the plan.

    ``unlimited`` raises each changed pool's registered doctors to what the plan needs (for
    the infinite-server start of the ISA and for "how many more doctors").
    """
    data = base.model_dump(mode="json", by_alias=True)
    by_hub: dict[int, list[Pool]] = {}
    for p in pools:
        if p.key in plan:
            by_hub.setdefault(p.hub, []).append(p)
    for h, ps in by_hub.items():
        hub = data["hubs"][h]
        changed = {p.specialty for p in ps}
        roster = [s for s in hub["roster"] if s["specialty"] not in changed]
        for p in ps:
            roster.extend(roster_sessions(p, plan[p.key]))
            if unlimited:
                hub["doctors"][p.specialty] = max(hub["doctors"].get(p.specialty, 0),
                                                  peak(p, plan[p.key]))
        hub["roster"] = roster
    return scenario_from_dict(data, source="<staffing plan>")


def current_cells(base: Scenario, pool: Pool) -> Cells | None:
    """The pool's roster now as cells, or None if it uses windows not in its menu."""
    cells: Cells = {}
    for s in base.hubs[pool.hub].roster:
        if s.specialty != pool.specialty:
            continue
        w = next((x for x in pool.sessions if (x.start, x.end) == (s.start, s.end)), None)
        if w is None:
            return None
        for g, group in enumerate(pool.groups):
            on = [d in s.weekdays for d in group]
            if any(on) and not all(on):
                return None
            if all(on):
                cells[(g, w.name)] = cells.get((g, w.name), 0) + s.doctors
    return cells


# --------------------------------------------------------------------------- judging

def pool_judged(judged: Sequence[Judged]) -> dict[str, list[Judged]]:
    """Judged rows by pool name."""
    out: dict[str, list[Judged]] = {}
    for j in judged:
        out.setdefault(j.pool, []).append(j)
    return out


def pool_ok(rows: Sequence[Judged]) -> bool:
    """Every target of the pool met."""
    return all(j.met for j in rows)


def pool_margin(rows: Sequence[Judged]) -> float:
    """The pool's worst margin (inf when nothing can be judged)."""
    return min((j.margin for j in rows), default=math.inf)


# --------------------------------------------------------------------------- moves

def _by_busyness(pool: Pool, cells: Cells, hour: int | None = None) -> list[int]:
    """Clinic day groups, most expected requests per doctor on duty first."""
    def ratio(g: int) -> float:
        w = pool.longest
        hrs = [h for h in range(24) if w.covers_hour(h)] if hour is None else [hour]
        work = sum(float(pool.load[d, h]) for d in pool.groups[g] for h in hrs)
        n = sum(k for (gg, _), k in cells.items() if gg == g)
        return work / max(n, 0.5)
    return sorted({g for g, _ in cells}, key=lambda g: (-ratio(g), g))


def add_doctor(pool: Pool, cells: Cells, worst: Judged | None, cap: bool) -> Cells | None:
    """One more doctor where the pool is busiest (the worst hour's session, if hourly)."""
    hour = int(worst.group.split("/")[2]) if worst is not None and worst.target.hourly else None
    if hour is not None:
        covering = sorted((w for w in pool.sessions if w.covers_hour(hour)),
                          key=lambda w: (w.end - w.start, w.start))
        name = covering[0].name if covering else pool.longest.name
    else:
        name = pool.longest.name
    for g in _by_busyness(pool, cells, hour):
        new = dict(cells)
        new[(g, name)] = new.get((g, name), 0) + 1
        if not cap or peak(pool, new) <= pool.registered:
            return new
    return None


def lengthen(pool: Pool, cells: Cells, cap: bool = True) -> Cells | None:
    """One doctor's shorter session made the longest (e.g. a morning made a full day)."""
    longest = pool.longest
    for g in _by_busyness(pool, cells):
        for (gg, s), n in sorted(cells.items()):
            if gg == g and s != longest.name and n > 0:
                new = dict(cells)
                if n > 1:
                    new[(g, s)] = n - 1
                else:
                    del new[(g, s)]
                new[(g, longest.name)] = new.get((g, longest.name), 0) + 1
                if not cap or peak(pool, new) <= pool.registered:
                    return new
    return None


def add_day(pool: Pool, cells: Cells) -> Cells | None:
    """One more clinic day (a doctor on the longest session), as far from the others as can be."""
    on = clinic_days(pool, cells)
    free = [g for g, grp in enumerate(pool.groups) if not set(grp) & on]
    if not free or pool.registered < 1:
        return None

    def gap(g: int) -> int:
        d = pool.groups[g][0]
        return min((min((d - x) % 7, (x - d) % 7) for x in on), default=7)
    g = max(free, key=lambda g: (gap(g), -g))
    new = dict(cells)
    new[(g, pool.longest.name)] = 1
    return new


def savings(pool: Pool, cells: Cells) -> list[tuple[tuple[Any, ...], Cells]]:
    """Every one-step saving of a pool, largest saving first: (descriptor, new cells)."""
    out: list[tuple[float, tuple[Any, ...], Cells]] = []
    days_now = len(clinic_days(pool, cells))
    for (g, s), n in cells.items():
        w = pool.session(s)
        new = dict(cells)
        if n > 1:
            new[(g, s)] = n - 1
        else:
            del new[(g, s)]
        if len(clinic_days(pool, new)) >= pool.min_days or len(clinic_days(pool, new)) == days_now:
            out.append((w.hours * len(pool.groups[g]), ("remove", g, s), new))
        for w2 in pool.sessions:
            if w2.start >= w.start and w2.end <= w.end and (w2.end - w2.start) < (w.end - w.start):
                alt = dict(new)
                alt[(g, w2.name)] = alt.get((g, w2.name), 0) + 1
                out.append(((w.hours - w2.hours) * len(pool.groups[g]),
                            ("shrink", g, s, w2.name), alt))
    out.sort(key=lambda x: (-x[0], repr(x[1])))
    return [(d, c) for _, d, c in out]


def savings_step(pool: Pool, cells: Cells, desc: tuple[Any, ...]) -> Cells:
    """Apply one saving (``("remove", g, s)`` or ``("shrink", g, s, s2)``) if it still can be."""
    g, s = desc[1], desc[2]
    n = cells.get((g, s), 0)
    if n < 1:
        return cells
    new = dict(cells)
    if n > 1:
        new[(g, s)] = n - 1
    else:
        del new[(g, s)]
    if desc[0] == "shrink":
        new[(g, desc[3])] = new.get((g, desc[3]), 0) + 1
    elif len(clinic_days(pool, new)) < min(pool.min_days, len(clinic_days(pool, cells))):
        return cells
    return new


# --------------------------------------------------------------------------- the search

@dataclass
class Infeasible:
    """A pool that no roster within its registered doctors makes meet its targets."""

    pool: Pool
    worst: list[Judged]
    extra_doctors: int | None
    """Doctors beyond the registered pool that met the targets (None: not within the tries)."""


@dataclass
class SearchState:
    """What the search found: the plan, its judged rows, and every feasible state seen."""

    plan: Plan
    judged: list[Judged]
    infeasible: list[Infeasible] = field(default_factory=list)
    seen: dict[tuple[str, str], list[tuple[Cells, float, bool]]] = field(default_factory=dict)
    rounds: int = 0
    start: Plan = field(default_factory=dict)
    isa: dict[str, list[list[int]]] = field(default_factory=dict)


def _note(state: SearchState, pools: Sequence[Pool], plan: Plan,
          judged: Sequence[Judged]) -> dict[str, list[Judged]]:
    rows = pool_judged(judged)
    for p in pools:
        if p.key in plan:
            r = rows.get(p.name, [])
            entry = (dict(plan[p.key]), pool_margin(r), pool_ok(r))
            seen = state.seen.setdefault(p.key, [])
            if all(e[0] != entry[0] for e in seen):
                seen.append(entry)
    return rows


def start_plan(base: Scenario, pools: Sequence[Pool], evaluator: Evaluator,
               state: SearchState, log: Log) -> Plan:
    """The analytic start of every managed pool (ISA for 24/7 hourly pools)."""
    plan: Plan = {}
    for p in pools:
        if p.fixed or not p.targets:
            continue
        now = current_cells(base, p)
        days = sorted(clinic_days(p, now)) if now else []
        if len(days) < p.min_days or not set(days) <= set(p.days):
            days = list(p.days)
        hourly = hourly_windows(p)
        isa_target = next((t for t in p.targets if t.hourly and t.measure == "share_within"),
                          None)
        if len(hourly) == 24 and len(p.groups) == 1 and isa_target is not None:
            def run(staffing: np.ndarray, p: Pool = p,
                    hourly: dict[int, Window] = hourly) -> list[Any]:
                cells = {(0, hourly[h].name): int(staffing[h]) for h in range(24)
                         if staffing[h] > 0}
                sc = to_scenario(base, pools, {p.key: cells}, unlimited=True)
                return evaluator.results(sc)
            staffing, history = isa_staffing(p, isa_target, run)
            state.isa[p.name] = [list(map(int, h)) for h in history]
            log(f"ISA {p.name}: {len(history)} iterations")
            plan[p.key] = {(0, hourly[h].name): int(staffing[h]) for h in range(24)
                           if staffing[h] > 0}
        else:
            plan[p.key] = analytic_start(p, days)
        if peak(p, plan[p.key]) > p.registered:  # at most the registered pool to start
            plan[p.key] = {c: min(n, p.registered) for c, n in plan[p.key].items()
                           if p.registered > 0}
    return plan


def _hours_hit(pool: Pool, cell: tuple[int, str]) -> set[int]:
    """Clock hours whose hourly targets a change to ``cell`` may move.

    Its own hours and the next ``LAG_HOURS`` (a consult started late runs on).
    """
    w = pool.session(cell[1])
    own = {h for h in range(24) if w.covers_hour(h)}
    return {(h + k) % 24 for h in own for k in range(LAG_HOURS + 1)}


def _hourly(pool: Pool) -> bool:
    return bool(pool.targets) and all(t.hourly for t in pool.targets)


def _rows_ok(rows: Sequence[Judged], hours: set[int] | None) -> bool:
    """The rows (of those hours, if given) all met."""
    return all(j.met for j in rows
               if hours is None or int(j.group.split("/")[2]) in hours)


def _up(base: Scenario, pools: Sequence[Pool], managed: Sequence[Pool], plan: Plan,
        rows: dict[str, list[Judged]], evaluator: Evaluator, stuck: set[tuple[str, str]],
        state: SearchState, log: Log, phase: str = "up") -> Plan:
    """Add doctors or clinic days until every pool meets its targets (or cannot)."""
    for _ in range(MAX_ROUNDS):
        failing = [p for p in managed if not pool_ok(rows.get(p.name, []))
                   and p.key not in stuck]
        if not failing:
            break
        more, days, longer = dict(plan), dict(plan), dict(plan)
        for p in failing:
            short = sorted((j for j in rows[p.name] if not j.met), key=lambda j: j.margin)
            a: Cells | None = plan[p.key]
            for j in short if _hourly(p) else short[:1]:  # hourly: every short hour at once
                nxt = add_doctor(p, a, j, cap=True) if a is not None else None
                a = nxt if nxt is not None else a
            if a == plan[p.key]:
                a = None
            b = add_day(p, plan[p.key])
            ln = lengthen(p, plan[p.key])
            if a is None and b is None and ln is None:
                stuck.add(p.key)
            more[p.key] = a if a is not None else plan[p.key]
            days[p.key] = b if b is not None else plan[p.key]
            longer[p.key] = ln if ln is not None else plan[p.key]
        candidates = [more, days, longer]
        res = evaluator.judge([to_scenario(base, pools, c) for c in candidates])
        state.rounds += 1
        options = [_note(state, managed, c, r) for c, r in zip(candidates, res, strict=True)]
        for p in failing:
            if p.key in stuck:
                continue
            scored = []
            for n, (c, o) in enumerate(zip(candidates, options, strict=True)):
                if c[p.key] != plan[p.key]:
                    r = o.get(p.name, [])
                    scored.append((not pool_ok(r), -pool_margin(r), week_hours(p, c[p.key]),
                                   n, c[p.key], r))
            scored.sort(key=lambda x: x[:4])
            plan[p.key], rows[p.name] = scored[0][4], scored[0][5]
        log(f"{phase} {state.rounds}: {len(failing)} pools short, "
            f"{plan_hours(managed, plan):,.0f} doctor-hours a week")
    return plan


def _down(base: Scenario, pools: Sequence[Pool], managed: Sequence[Pool], plan: Plan,
          rows: dict[str, list[Judged]], evaluator: Evaluator, stuck: set[tuple[str, str]],
          state: SearchState, log: Log) -> Plan:
    """Try savings until none is left that keeps every target met."""
    refused: dict[tuple[str, str], set[tuple[Any, ...]]] = {p.key: set() for p in managed}
    for _ in range(MAX_ROUNDS):
        trial = dict(plan)
        tried: dict[tuple[str, str], list[tuple[tuple[Any, ...], set[int] | None]]] = {}
        for p in managed:
            if p.key in stuck or not pool_ok(rows.get(p.name, [])):
                continue
            cells = dict(plan[p.key])
            taken: list[tuple[tuple[Any, ...], set[int] | None]] = []
            busy: set[int] = set()
            for desc, _ in savings(p, plan[p.key]):
                if desc in refused[p.key]:
                    continue
                hit = _hours_hit(p, (desc[1], desc[2])) if _hourly(p) else None
                if hit is not None and hit & busy:
                    continue
                step = dict(savings_step(p, cells, desc))
                if step == cells:
                    continue
                cells = step
                taken.append((desc, hit))
                if hit is None:
                    break
                busy |= hit
            if taken:
                trial[p.key], tried[p.key] = cells, taken
        if not tried:
            break
        judged = evaluator.judge([to_scenario(base, pools, trial)])[0]
        state.rounds += 1
        new_rows = _note(state, managed, trial, judged)
        kept = 0
        for p in managed:
            if p.key not in tried:
                continue
            r = new_rows.get(p.name, [])
            if pool_ok(r):
                plan[p.key], rows[p.name] = trial[p.key], r
                kept += len(tried[p.key])
                continue
            cells = dict(plan[p.key])
            for desc, hit in tried[p.key]:
                if hit is not None and _rows_ok(r, hit):
                    cells = savings_step(p, cells, desc)
                    kept += 1
                else:
                    refused[p.key].add(desc)
            # the hourly savings whose hours held are kept; the next round (or the
            # confirmation) judges the pool as a whole again
            plan[p.key] = cells
        log(f"down {state.rounds}: {kept} of {sum(map(len, tried.values()))} savings kept, "
            f"{plan_hours(managed, plan):,.0f} doctor-hours a week")
    return plan


def search(base: Scenario, pools: Sequence[Pool], evaluator: Evaluator,
           log: Log = lambda _: None, confirm: Evaluator | None = None) -> SearchState:
    """Up, then down, on common random numbers; then up again on ``confirm``'s seeds.

    The down phase picks, among many rosters, the cheapest that passes on the search's
    seeds, and so favours rosters that were lucky on them; ``confirm`` (other seeds) judges
    the result afresh and adds doctors or days where it falls short.
    """
    state = SearchState({}, [])
    plan = start_plan(base, pools, evaluator, state, log)
    state.start = {k: dict(v) for k, v in plan.items()}
    managed = [p for p in pools if p.key in plan]
    stuck: set[tuple[str, str]] = set()
    judged = evaluator.judge([to_scenario(base, pools, plan)])[0]
    rows = _note(state, managed, plan, judged)
    plan = _up(base, pools, managed, plan, rows, evaluator, stuck, state, log)
    plan = _down(base, pools, managed, plan, rows, evaluator, stuck, state, log)
    final = evaluator
    if confirm is not None:
        rows = pool_judged(confirm.judge([to_scenario(base, pools, plan)])[0])
        state.rounds += 1
        plan = _up(base, pools, managed, plan, rows, confirm, stuck, state, log, "confirm")
        final = confirm
    rows = pool_judged(final.judge([to_scenario(base, pools, plan)])[0])
    state.plan = plan
    state.judged = [j for p in managed for j in rows.get(p.name, [])]
    state.infeasible = [_infeasible(base, pools, p, plan, rows[p.name], final)
                        for p in managed if p.key in stuck and not pool_ok(rows[p.name])]
    return state


def _infeasible(base: Scenario, pools: Sequence[Pool], pool: Pool, plan: Plan,
                rows: list[Judged], evaluator: Evaluator, tries: int = 12) -> Infeasible:
    """How close the pool gets within its registered doctors, and how many more it needs."""
    cells = dict(plan[pool.key])
    worst = sorted((j for j in rows if not j.met), key=lambda j: j.margin)
    for _ in range(tries):
        nxt = add_doctor(pool, cells, min(rows, key=lambda j: j.margin), cap=False)
        if nxt is None:
            break
        cells = nxt
        sc = to_scenario(base, pools, {**plan, pool.key: cells}, unlimited=True)
        rows = pool_judged(evaluator.judge([sc])[0]).get(pool.name, [])
        if pool_ok(rows):
            return Infeasible(pool, worst, peak(pool, cells) - pool.registered)
    return Infeasible(pool, worst, None)


# --------------------------------------------------------------------------- integer step

def _solve(choices: Mapping[tuple[str, str], Sequence[Cells]], pools: Sequence[Pool],
           objective: Callable[[Any, dict[tuple[tuple[str, str], int], Any]], None],
           budget_per_day: int | None, extra: Callable[[Any, dict[Any, Any]], None] | None = None
           ) -> dict[tuple[str, str], Cells] | None:
    """CP-SAT: one of ``choices`` per pool, the days' doctors within the budget."""
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    x = {(k, i): m.new_bool_var(f"x{n}_{i}") for n, (k, cs) in enumerate(choices.items())
         for i in range(len(cs))}
    by_key = {p.key: p for p in pools}
    for k, cs in choices.items():
        m.add_exactly_one(x[(k, i)] for i in range(len(cs)))
    if budget_per_day is not None:
        for d in range(7):
            m.add(sum(doctors_on(by_key[k], c, d) * x[(k, i)] for k, cs in choices.items()
                      for i, c in enumerate(cs)) <= budget_per_day)
    objective(m, x)
    if extra is not None:
        extra(m, x)
    solver = cp_model.CpSolver()
    solver.parameters.num_search_workers = 1  # deterministic
    solver.parameters.max_time_in_seconds = 30.0
    if solver.solve(m) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return {k: cs[next(i for i in range(len(cs)) if solver.value(x[(k, i)]))]
            for k, cs in choices.items()}


def fit_budget(state: SearchState, pools: Sequence[Pool], budget_per_day: int
               ) -> dict[tuple[str, str], Cells] | None:
    """Among the plans found met for each pool, the fewest doctor-hours within the budget."""
    by_key = {p.key: p for p in pools}
    choices = {k: [c for c, _, ok in state.seen.get(k, []) if ok] or [v]
               for k, v in state.plan.items()}

    def objective(m: Any, x: dict[Any, Any]) -> None:
        m.minimize(sum(int(round(60 * week_hours(by_key[k], c))) * x[(k, i)]
                       for k, cs in choices.items() for i, c in enumerate(cs)))
    return _solve(choices, pools, objective, budget_per_day)


def budget_plan(state: SearchState, pools: Sequence[Pool], hours_per_week: float,
                budget_per_day: int | None) -> dict[tuple[str, str], Cells] | None:
    """The judged alternatives that maximise the worst pool margin within the hours."""
    by_key = {p.key: p for p in pools}
    choices = {k: [c for c, _, _ in state.seen.get(k, [])] or [v] for k, v in state.plan.items()}
    margins = {k: [next(mg for c2, mg, _ in state.seen.get(k, []) if c2 == c)
                   if state.seen.get(k) else 0.0 for c in cs] for k, cs in choices.items()}

    def objective(m: Any, x: dict[Any, Any]) -> None:
        z = m.new_int_var(-10_000, 10_000, "worst")
        for k, cs in choices.items():
            m.add(z <= sum(int(round(1000 * max(-10.0, min(10.0, margins[k][i]))))
                           * x[(k, i)] for i in range(len(cs))))
        m.add(sum(int(round(60 * week_hours(by_key[k], c))) * x[(k, i)]
                  for k, cs in choices.items() for i, c in enumerate(cs))
              <= int(round(60 * hours_per_week)))
        m.maximize(z)
    return _solve(choices, pools, objective, budget_per_day)
