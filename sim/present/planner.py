"""What the planner's web app does, without the web page: load, edit, run, export.

``sim/present/app.py`` is the Streamlit page; it calls these functions, which call the
same Python API as the CLI (``load_scenario``, ``compare``, ``write_workbook``,
``write_report``), so the app and the CLI cannot drift apart. ``serve`` starts the page.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.experiment.executors import SequentialExecutor
from sim.scenario.loader import Problem, ScenarioError, load_scenario, scenario_from_dict
from sim.scenario.schema import Scenario
from sim.scenario.types import format_clock

APP_SCRIPT = Path(__file__).with_name("app.py")
DUTY_SOURCE = "duty table"
"""The ``file`` of a problem found in the planner's edits (not in a YAML file)."""
DUTY_COLUMNS: tuple[str, ...] = (
    "hub", "session", "specialty", "days", "start", "end", "registered", "on duty")
BASE_LABEL, PLAN_LABEL = "base", "plan"


def scenarios_root() -> Path:
    """The bundled ``scenarios/`` folder (beside the package, else in the working folder)."""
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (base / "scenarios").is_dir():
            return base / "scenarios"
    raise FileNotFoundError(2, "cannot find the bundled scenarios folder", "scenarios")


def bundled_scenarios(root: Path | None = None) -> list[str]:
    """The bundled scenario files, relative to ``scenarios/`` (baseline first)."""
    root = root or scenarios_root()
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*.yaml"))
    first = "himachal-baseline.yaml"
    return ([first] if first in names else []) + [n for n in names if n != first]


def workspace(folder: Path, root: Path | None = None) -> Path:
    """A private copy of the bundled scenarios in ``folder`` (an app session's own).

    Uploads are saved here, so an uploaded plan's ``extends:`` finds a bundled base by
    the same relative path as it would in the repository.
    """
    target = Path(folder) / "scenarios"
    if not target.exists():
        shutil.copytree(root or scenarios_root(), target)
    return target


def _relabel(exc: ScenarioError, folder: Path) -> ScenarioError:
    """The same problems with file names relative to ``folder`` (as the user named them)."""
    def rel(name: str) -> str:
        try:
            return str(Path(name).resolve().relative_to(folder.resolve()))
        except ValueError:
            return name

    return ScenarioError([dataclasses.replace(p, file=rel(p.file)) for p in exc.problems])


def load(space: Path, name: str) -> Scenario:
    """Load ``space/name``; problems name the file as ``name`` (file, line, field)."""
    try:
        return load_scenario(space / name)
    except ScenarioError as exc:
        raise _relabel(exc, space) from None


def save_upload(space: Path, filename: str, data: bytes) -> str:
    """Save an uploaded file into the workspace; its name there, for ``load``."""
    name = Path(filename).name
    if not name.endswith((".yaml", ".yml")):
        raise ScenarioError([Problem(name, "", None, "a scenario is a .yaml file")])
    (space / "uploads").mkdir(exist_ok=True)
    (space / "uploads" / name).write_bytes(data)
    return f"uploads/{name}"


# --- what the scenario says -----------------------------------------------------------------

def _days(days: Any) -> str:
    return days if isinstance(days, str) else ", ".join(map(str, days))


def hubs_table(sc: Scenario) -> pd.DataFrame:
    """One row per hub: where it is, its districts and registered doctors per specialty."""
    served: dict[str, list[str]] = {}
    for d in sc.spokes.districts:
        served.setdefault(d.home_hub, []).append(d.district)
    rows = []
    for h in sc.hubs:
        rows.append({"hub": h.id, "name": h.name, "district": h.district,
                     "home hub of": ", ".join(served.get(h.id, [])),
                     "registered doctors": sum(h.doctors.values()),
                     **{s: h.doctors.get(s, 0) for s in sc.specialty_names}})
    return pd.DataFrame(rows)


def duty_table(sc: Scenario) -> pd.DataFrame:
    """Doctors on duty per hub x specialty x session: the table the planner edits."""
    rows = [{"hub": h.id, "session": j, "specialty": s.specialty, "days": _days(s.days),
             "start": format_clock(int(s.start)), "end": format_clock(int(s.end)),
             "registered": h.doctors.get(s.specialty, 0), "on duty": s.doctors}
            for h in sc.hubs for j, s in enumerate(h.roster)]
    return pd.DataFrame(rows, columns=list(DUTY_COLUMNS))


def demand_table(sc: Scenario) -> pd.DataFrame:
    """Mean requests per open day by channel and specialty (rates x spokes x mix x growth)."""
    g = sc.demand.growth
    per_day: dict[str, float] = {}
    mixes: dict[str, dict[str, float]] = {}
    if sc.demand.d2d is not None:
        rate = sc.demand.d2d.per_spoke_per_day
        per_day["doctor-to-doctor"] = g * sum(
            d.subcentres * rate.get("subcentre", 0.0) + d.phcs * rate.get("phc", 0.0)
            for d in sc.spokes.districts)
        mixes["doctor-to-doctor"] = dict(sc.demand.d2d.specialty_mix)
    if sc.demand.opd is not None:
        per_day["OPD (from home)"] = g * sum(sc.demand.opd.per_day.values())
        mixes["OPD (from home)"] = dict(sc.demand.opd.specialty_mix)
    rows = []
    for channel, mix in mixes.items():
        total = sum(mix.values()) or 1.0
        for spec, share in mix.items():
            rows.append({"channel": channel, "specialty": spec, "share": share / total,
                         "requests per open day": per_day[channel] * share / total})
    return pd.DataFrame(rows, columns=["channel", "specialty", "share",
                                       "requests per open day"])


# --- the planner's edits --------------------------------------------------------------------

def apply_duty(sc: Scenario, table: pd.DataFrame) -> Scenario:
    """The scenario with each session's doctors on duty from ``table`` (0 drops a session).

    Validated as a whole, so a roster beyond a hub's registered doctors or a specialty left
    with demand and no doctors is a ``ScenarioError`` naming the field, as in the CLI.
    """
    data = sc.model_dump(mode="json", by_alias=True)
    hub_index = {h.id: i for i, h in enumerate(sc.hubs)}
    keep: dict[tuple[int, int], int] = {}
    problems = []
    for r in table.to_dict("records"):
        i, j = hub_index.get(str(r["hub"])), int(r["session"])
        where = f"hubs[{i}].roster[{j}].doctors"
        v = r["on duty"]
        if i is None or not 0 <= j < len(sc.hubs[i].roster):
            problems.append(Problem(DUTY_SOURCE, "", None, f"no session {j} at hub {r['hub']!r}"))
        elif v is None or v != v or float(v) != int(float(v)) or float(v) < 0:
            problems.append(Problem(DUTY_SOURCE, where, None, f"doctors on duty at {r['hub']} "
                                    f"({r['specialty']}, {r['start']}-{r['end']}) must be a "
                                    f"whole number of 0 or more, got {v!r}"))
        else:
            keep[(i, j)] = int(float(v))
    if problems:
        raise ScenarioError(problems)
    for i, hub in enumerate(data["hubs"]):
        roster = []
        for j, sess in enumerate(hub["roster"]):
            n = keep.get((i, j), sess["doctors"])
            if n > 0:
                roster.append({**sess, "doctors": n})
        hub["roster"] = roster
    data["name"] = f"{sc.name}-edited"
    return scenario_from_dict(data, DUTY_SOURCE)


def changes(base: Scenario, plan: Scenario) -> list[str]:
    """The roster changes from ``base`` to ``plan`` in words (``sim.scenario.diff``)."""
    from sim.scenario.diff import diff_scenarios

    out = []
    for c in diff_scenarios(base, plan):
        if c.area in ("roster", "doctors"):
            out.append(f"{c.where} {c.what}: {c.before} to {c.after}" if c.change == "changed"
                       else f"{c.where} {c.what}: {c.change}")
    return out


def plan_overlay(base: Scenario, plan: Scenario, base_file: str) -> str:
    """The plan as an overlay YAML: ``extends: base_file`` and only what differs.

    Save it in the folder ``base_file`` is relative to (``scenarios/`` for a bundled
    base); ``hubsim validate`` and ``hubsim compare`` then read it like any plan file.
    """
    from sim.scenario.diff import as_overlay

    lines = [f"# Plan made in the hubsim app from {base_file}: doctors on duty edited.",
             *(f"#   {c}" for c in changes(base, plan) or ["(no change)"]),
             f"# Save it in scenarios/ (where extends: finds {base_file}), then:",
             f"#   hubsim compare scenarios/{base_file} scenarios/<this file>", ""]
    body = {"extends": base_file, **as_overlay(base, plan)}
    return "\n".join(lines) + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


# --- running --------------------------------------------------------------------------------

class ProgressExecutor(SequentialExecutor):
    """Runs each unit at once (as ``sequential``) and reports after each one."""

    def __init__(self, report: Callable[[int], None]):
        self.report = report
        self.done = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        """Run the unit, then tell ``report`` how many have finished."""
        fut = super().submit(fn, *args, **kwargs)
        self.done += 1
        self.report(self.done)
        return fut


def horizon(sc: Scenario, days: int | None) -> Scenario:
    """``sc`` over ``days`` (holidays beyond it dropped), as ``hubsim run --days`` does."""
    from sim.scenario.loader import apply_overrides

    if days is None or days == sc.calendar.horizon_days:
        return sc
    return apply_overrides(sc, sc.calendar.cut_to(days), source="days")


def run_plan(base: Scenario, plan: Scenario, replications: int, out: Path,
             report: Callable[[int], None] = lambda done: None,
             days: int | None = None, seed: int | None = None) -> Any:
    """Compare ``plan`` with ``base`` over paired replications into ``out`` (a Comparison).

    ``report(done)`` is called after each of the ``2 * replications`` runs.
    """
    from sim.experiment import compare
    from sim.present.workbook import write_workbook

    if out.exists():
        shutil.rmtree(out)
    result = compare(horizon(base, days), [horizon(plan, days)], replications,
                     labels=[BASE_LABEL, PLAN_LABEL], seed=seed, out=out,
                     executor=ProgressExecutor(report), command="app")
    write_workbook(out)
    return result


def staff_plan(base: Scenario, replications: int, days: int | None = None,
               seed: int | None = None) -> Any:
    """``hubsim staff`` on ``base``: the fewest doctor-hours meeting its standards.

    A ``sim.staffing.api.StaffingResult``; ``StaffingError`` (a ``ValueError``) when the
    scenario has no standards or no staffing menu to search.
    """
    from sim.staffing.api import staff

    return staff(horizon(base, days), replications=replications,
                 verify_replications=replications, seed=seed)


def key_figures(out: Path) -> dict[str, Any]:
    """The comparison plot and the plan's wait ECDF, from the folder ``run_plan`` wrote."""
    from sim.present.plots import comparison_plot, run_figures
    from sim.results.output import read_csv

    figs: dict[str, Any] = {}
    rows = read_csv(out / "comparison.csv")
    if rows:
        figs["comparison"] = comparison_plot(rows)
    plan = run_figures(out / PLAN_LABEL, "edited plan")
    if "wait_ecdf_by_hub" in plan:
        figs["wait_ecdf_by_hub"] = plan["wait_ecdf_by_hub"]()
    return figs


def standards_of(out: Path) -> pd.DataFrame | None:
    """The standards table of the folder ``run_plan`` wrote (None: the scenario sets none)."""
    from sim.results.folder import open_results

    table = open_results(out).standards
    return table if table is not None and not table.empty else None


def make_report(out: Path) -> Path:
    """Every plot and the HTML report of the folder ``run_plan`` wrote."""
    from sim.present.plots import plot_results
    from sim.present.report import write_report

    plot_results(out)
    return write_report(out, question="How does the edited duty roster compare with the base?",
                        validation=False)


def comparison_view(table: pd.DataFrame, group_by: str = "all") -> pd.DataFrame:
    """The plan's rows of a comparison for the page: mean, difference and its CI, verdict."""
    rows = table[(table["group_by"] == group_by) & (table["plan"] == PLAN_LABEL)]
    base = table[(table["group_by"] == group_by) & (table["plan"] == BASE_LABEL)]
    view = rows[["metric", "group", "mean", "diff", "diff_ci_low", "diff_ci_high",
                 "verdict"]].merge(base[["metric", "group", "mean"]],
                                   on=["metric", "group"], suffixes=("", " base"))
    view = view.rename(columns={"mean": "plan", "mean base": "base"})
    return view[["metric", "group", "base", "plan", "diff", "diff_ci_low", "diff_ci_high",
                 "verdict"]]


# --- the server -----------------------------------------------------------------------------

def streamlit_command(port: int, address: str = "127.0.0.1",
                      open_browser: bool = False) -> list[str]:
    """The command line that serves the app (Streamlit, no usage statistics sent)."""
    return [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
            "--server.port", str(port), "--server.address", address,
            "--server.headless", "false" if open_browser else "true",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--global.developmentMode", "false", "--client.toolbarMode", "minimal"]


def serve(port: int, address: str = "127.0.0.1", open_browser: bool = True,
          env: Mapping[str, str] | None = None) -> int:
    """Run the app until interrupted; its exit status."""
    import importlib.util

    if importlib.util.find_spec("streamlit") is None:
        print("hubsim: error: the app needs Streamlit: pip install 'hubsim[app]'",
              file=sys.stderr)
        return 2
    print(f"hubsim app on http://{address}:{port}/ (Ctrl-C stops it)", flush=True)
    try:
        return subprocess.call(streamlit_command(port, address, open_browser),
                               env=dict(env) if env is not None else None)
    except KeyboardInterrupt:
        return 130
