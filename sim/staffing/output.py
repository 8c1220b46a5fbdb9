"""What ``hubsim staff`` writes: the plan overlay, staffing.csv, the verification table.

``plan.yaml`` extends the scenario file and replaces its ``hubs`` list (overlays replace
lists whole), so ``hubsim run plan.yaml`` and ``hubsim compare SCENARIO plan.yaml`` take it
as it is. Every file is written atomically; an infeasible answer writes ``infeasible.csv``
and removes any plan files of an earlier run in the folder, so a folder never holds a plan
that does not answer its run.json.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sim.results.output import software_versions, write_csv, write_json, write_text
from sim.scenario.standards import SHARE_MEASURES
from sim.scenario.types import WEEKDAYS, format_clock
from sim.staffing.api import StaffingResult
from sim.staffing.evaluate import Judged
from sim.staffing.search import plan_hours

PLAN_FILE = "plan.yaml"
STAFFING_COLUMNS: tuple[str, ...] = (
    "hub", "specialty", "weekday", "session", "start", "end", "doctors", "doctor_hours",
    "roster_doctors", "change")
VERIFICATION_COLUMNS: tuple[str, ...] = (
    "standard", "label", "measure", "group_by", "group", "target", "sense", "mean", "ci_low",
    "ci_high", "n", "requests", "confidence", "verdict", "gap", "unit", "relative_gap")
INFEASIBLE_COLUMNS: tuple[str, ...] = (
    "standard", "hub", "specialty", "reason", "target", "sense", "best_mean", "best_ci_low",
    "best_ci_high", "registered", "extra_doctors")
PLAN_FILES = (PLAN_FILE, "staffing.csv", "verification.csv")


def staffing_rows(res: StaffingResult) -> list[dict[str, Any]]:
    """One row per hub x specialty x weekday x session, plan beside the scenario's roster."""
    rows: list[dict[str, Any]] = []
    for p in res.managed:
        plan: dict[tuple[int, int, int], int] = {}
        for (g, s), n in res.plan[p.key].items():
            w = p.session(s)
            for d in p.groups[g]:
                plan[(d, w.start, w.end)] = plan.get((d, w.start, w.end), 0) + n
        now: dict[tuple[int, int, int], int] = {}
        for sess in res.base.hubs[p.hub].roster:
            if sess.specialty == p.specialty:
                for d in sess.weekdays:
                    k = (d, sess.start, sess.end)
                    now[k] = now.get(k, 0) + sess.doctors
        names = {(w.start, w.end): w.name for w in p.sessions}
        for d, a, b in sorted(set(plan) | set(now)):
            n, before = plan.get((d, a, b), 0), now.get((d, a, b), 0)
            rows.append({"hub": p.hub_id, "specialty": p.specialty, "weekday": WEEKDAYS[d],
                         "session": names.get((a, b), f"{format_clock(a)}-{format_clock(b)}"),
                         "start": format_clock(a), "end": format_clock(b), "doctors": n,
                         "doctor_hours": n * (b - a) / 60.0, "roster_doctors": before,
                         "change": n - before})
    return rows


def verification_rows(judged: Sequence[Judged]) -> list[dict[str, Any]]:
    """The verification in the standards table's columns, worst first."""
    rows = []
    order = {"breached": 0, "not settled": 1, "met": 2, "too small": 3}
    for j in sorted(judged, key=lambda j: (order[j.verdict], j.margin, j.target.id, j.group)):
        t = j.target
        share = t.measure in SHARE_MEASURES
        short = (t.target - j.mean) if t.sense == "at_least" else (j.mean - t.target)
        rows.append({
            "standard": t.id, "label": t.label, "measure": t.measure,
            "group_by": "hub_specialty_hour" if t.hourly else "hub_specialty",
            "group": j.group, "target": t.target, "sense": t.sense, "mean": j.mean,
            "ci_low": j.ci_low, "ci_high": j.ci_high, "n": j.n, "requests": j.requests,
            "confidence": t.confidence, "verdict": j.verdict,
            "gap": short * 100.0 if share else short, "unit": "pp" if share else "min",
            "relative_gap": short / t.target if t.target else math.nan})
    return rows


def infeasible_rows(res: StaffingResult) -> list[dict[str, Any]]:
    """Which standard at which hub x specialty no roster within the pool meets.

    ``reason`` is ``short`` when even the best roster's mean misses the target, and
    ``unconfirmed`` when its mean meets it but its interval over the replications run
    cannot show it (more replications may settle it).
    """
    rows = []
    for inf in res.infeasible:
        for j in inf.worst:
            good = (j.mean >= j.target.target if j.target.sense == "at_least"
                    else j.mean <= j.target.target)
            rows.append({"standard": j.target.id, "hub": inf.pool.hub_id,
                         "specialty": inf.pool.specialty,
                         "reason": "unconfirmed" if good else "short",
                         "target": j.target.target,
                         "sense": j.target.sense, "best_mean": j.mean, "best_ci_low": j.ci_low,
                         "best_ci_high": j.ci_high, "registered": inf.pool.registered,
                         "extra_doctors": "" if inf.extra_doctors is None
                         else inf.extra_doctors})
    return rows


def plan_overlay(res: StaffingResult, scenario_path: str | Path | None,
                 out: Path) -> str:
    """The plan as YAML: ``extends:`` the scenario file and only what the plan changes."""
    from sim.scenario.diff import as_overlay

    assert res.scenario is not None
    now, planned = res.hours()
    head = (f"# Written by hubsim staff: {planned:,.1f} doctor-hours a week in the pools it "
            f"staffs ({now:,.1f} on the scenario's roster).\n")
    if scenario_path is None:
        body: dict[str, Any] = res.scenario.model_dump(mode="json", by_alias=True)
    else:
        rel = os.path.relpath(Path(scenario_path).resolve(), out.resolve())
        body = {"extends": rel, **as_overlay(res.base, res.scenario),
                "name": f"{res.base.name}-staffed"}
    return head + yaml.safe_dump(body, sort_keys=False, width=100, default_flow_style=None)


def write_staffing(res: StaffingResult, out: str | Path,
                   scenario_path: str | Path | None = None,
                   meta: dict[str, Any] | None = None) -> list[str]:
    """Write the plan files (or infeasible.csv), and run.json; returns the files written."""
    out = Path(out)
    files: list[str] = []
    if res.scenario is not None and (res.feasible or res.budget is not None):
        write_text(out / PLAN_FILE, plan_overlay(res, scenario_path, out))
        write_csv(out / "staffing.csv", staffing_rows(res), STAFFING_COLUMNS)
        write_csv(out / "verification.csv", verification_rows(res.verification),
                  VERIFICATION_COLUMNS)
        files += list(PLAN_FILES)
        stale = out / "infeasible.csv"
        if stale.exists():
            stale.unlink()
    else:
        for name in PLAN_FILES:
            if (out / name).exists():
                (out / name).unlink()
        write_csv(out / "infeasible.csv", infeasible_rows(res), INFEASIBLE_COLUMNS)
        files.append("infeasible.csv")
    now, planned = res.hours()
    write_json(out / "run.json", {
        **(meta or {}), "command": "staff", **software_versions(), "seed": res.seed,
        "search_seeds": "replication_seed(seed, 0..replications-1)",
        "verify_seeds": "replication_seed(seed, 1000000 + 0..verify_replications-1)",
        "replications": res.replications, "verify_replications": res.verify_replications,
        "feasible": res.feasible, "verified": res.verified, "budget": res.budget,
        "doctor_hours_per_week": {"roster": now, "analytic_start": plan_hours(
            res.managed, res.search.start), "plan": planned},
        "search_rounds": res.search.rounds, "runs": res.runs, "resumed": res.resumed,
        "isa": res.search.isa, "files": [*files, "run.json"]})
    return [*files, "run.json"]

