"""``staff``: the fewest doctor-hours that meet a scenario's standards, verified on fresh seeds.

The same call as ``hubsim staff``. The search (``sim.staffing.search``) runs every candidate
on the same replication seeds, then confirms its answer on a second set
(``CONFIRM_OFFSET``); the verification runs the chosen plan on a third set that neither
used (``VERIFY_OFFSET``), so its table is an independent check of the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.experiment.budget import check_replications
from sim.experiment.executors import ExecutorSpec, open_executor
from sim.scenario.schema import Scenario
from sim.staffing.evaluate import (
    CONFIRM_OFFSET,
    VERIFY_OFFSET,
    Evaluator,
    Judged,
    search_guard,
)
from sim.staffing.problem import Pool, Target, build_pools
from sim.staffing.search import (
    Infeasible,
    Plan,
    SearchState,
    add_doctor,
    budget_plan,
    fit_budget,
    plan_hours,
    pool_judged,
    search,
    to_scenario,
    week_hours,
)

DEFAULT_REPLICATIONS = 20
DEFAULT_VERIFY_REPLICATIONS = 30
BUDGET_LADDER = 3
"""In --budget mode, each pool is also judged with up to this many more doctors."""


class StaffingError(ValueError):
    """A staffing question that cannot be asked (no standards, a budget below the minimum)."""


@dataclass
class StaffingResult:
    """A staffing plan, how it was found and how it verified."""

    base: Scenario
    scenario: Scenario | None
    """The base with the plan's rosters (None when infeasible)."""
    pools: list[Pool]
    plan: Plan
    verification: list[Judged]
    infeasible: list[Infeasible]
    seed: int
    replications: int
    verify_replications: int
    search: SearchState
    budget: float | None = None
    runs: int = 0
    resumed: int = 0

    @property
    def feasible(self) -> bool:
        """Whether every pool can meet its targets within its registered doctors."""
        return not self.infeasible

    @property
    def verified(self) -> bool:
        """Every target met (or too small to judge) in the verification run."""
        return bool(self.verification) and all(j.met for j in self.verification)

    @property
    def managed(self) -> list[Pool]:
        """The pools the plan decides."""
        return [p for p in self.pools if p.key in self.plan]

    def hours(self) -> tuple[float, float]:
        """Doctor-hours a week of the managed pools: (scenario's roster, plan)."""
        from sim.staffing.search import current_cells

        now = 0.0
        for p in self.managed:
            cells = current_cells(self.base, p)
            now += (week_hours(p, cells) if cells is not None else
                    sum(s.doctors * (s.end - s.start) / 60.0 * len(s.weekdays)
                        for s in self.base.hubs[p.hub].roster if s.specialty == p.specialty))
        return now, plan_hours(self.managed, self.plan)


def staff(scenario: Scenario, *, replications: int = DEFAULT_REPLICATIONS,
          verify_replications: int = DEFAULT_VERIFY_REPLICATIONS, seed: int | None = None,
          budget: float | None = None, targets: Sequence[Target] | None = None,
          jobs: int = 1, executor: ExecutorSpec = None, out: str | Path | None = None,
          progress: bool = False, log: Any = None) -> StaffingResult:
    """Find the fewest doctor-hours a week meeting every target, then verify on fresh seeds.

    ``targets`` defaults to the scenario's ``standards`` (each judged in every hub x
    specialty it covers). ``budget`` (doctor-hours a week) instead places that many hours
    to maximise the worst target's margin. Replication ``i`` of the search uses
    ``replication_seed(seed, i)``, of the verification ``replication_seed(seed,
    VERIFY_OFFSET + i)``; ``seed`` defaults to the scenario's. With ``out``, finished runs
    are kept under ``out/.units/`` and a second call resumes from them (the files proper
    are written by ``sim.staffing.output.write_staffing``). The answer is the same for any
    ``jobs``.
    """
    if replications < 2 or verify_replications < 2:
        raise StaffingError("replications and verify_replications must be at least 2")
    check_replications(replications, 2)
    check_replications(verify_replications, 2, "verify_replications")
    chosen = list(targets) if targets is not None else [Target.from_standard(s)
                                                        for s in scenario.standards]
    if not chosen:
        raise StaffingError(f"scenario {scenario.name!r} has no standards: add a standards: "
                            "list (see the README, Service standards) to staff against")
    pools = build_pools(scenario, chosen)
    root = scenario.seed if seed is None else int(seed)
    say = log or (lambda _: None)
    out_path = Path(out) if out is not None else None
    with open_executor(executor, jobs) as pool:
        guard = search_guard(replications, verify_replications)
        ev = Evaluator(pools, root, replications, pool, out_path, progress=progress,
                       guard=guard)
        confirm = Evaluator(pools, root, replications, pool, out_path, offset=CONFIRM_OFFSET,
                            progress=progress, label="confirm", guard=guard)
        state = search(scenario, pools, ev, say, confirm)
        ev.runs += confirm.runs
        ev.resumed += confirm.resumed
        plan = state.plan
        menu = scenario.staffing
        per_day = menu.budget_per_day if menu is not None else None
        if budget is not None:
            managed = [p for p in pools if p.key in plan]
            for k in range(1, BUDGET_LADDER + 1):  # alternatives with more doctors
                more = {}
                for p in managed:
                    cells = plan[p.key]
                    for _ in range(k):
                        nxt = add_doctor(p, cells, None, cap=True)
                        cells = nxt if nxt is not None else cells
                    more[p.key] = cells
                judged = ev.judge([to_scenario(scenario, pools, more)])[0]
                rows = pool_judged(judged)
                for p in managed:
                    r = rows.get(p.name, [])
                    seen = state.seen.setdefault(p.key, [])
                    if all(c != more[p.key] for c, _, _ in seen):
                        seen.append((dict(more[p.key]), min((j.margin for j in r),
                                                            default=float("inf")),
                                     all(j.met for j in r)))
            chosen_plan = budget_plan(state, pools, budget, per_day)
            if chosen_plan is None:
                raise StaffingError(f"no plan found fits {budget:g} doctor-hours a week"
                                    + (f" and {per_day} doctors a day" if per_day else ""))
            plan = chosen_plan
        elif per_day is not None and not state.infeasible:
            fitted = fit_budget(state, pools, per_day)
            if fitted is None:
                raise StaffingError(
                    f"no plan found met every standard within {per_day} doctors on duty a "
                    "day (staffing.budget_per_day)")
            plan = fitted
        result_scenario = None
        verification: list[Judged] = []
        if not state.infeasible or budget is not None:
            result_scenario = to_scenario(scenario, pools, plan)
            check = Evaluator(pools, root, verify_replications, pool, out_path,
                              offset=VERIFY_OFFSET, progress=progress, label="verify")
            verification = check.judge([result_scenario])[0]
            ev.runs += check.runs
            ev.resumed += check.resumed
    return StaffingResult(scenario, result_scenario, pools, plan, verification,
                          state.infeasible, root, replications, verify_replications, state,
                          budget, ev.runs, ev.resumed)
