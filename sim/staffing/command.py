"""``hubsim staff``: the command-line shell over ``sim.staffing.staff``.

Exit status: 0 when the plan is found and the verification meets every standard; 1 when no
roster within the registered doctors meets some standard (``infeasible.csv`` says which,
no plan is written) or the verification on fresh seeds does not confirm the plan; 2 for bad
input, as every other command.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

EXIT_NOT_MET = 1


def cmd_staff(args: argparse.Namespace) -> int:
    """Find the fewest doctor-hours meeting the standards, verify them, write the plan."""
    from sim.commands.common import CLIError, _arguments, _load_with, default_scenario
    from sim.staffing.api import StaffingError, staff
    from sim.staffing.output import write_staffing

    path = Path(args.scenario) if args.scenario else default_scenario()
    scenario = _load_with(str(path), args.seed, args.days, args.set)
    out = Path(args.out) if args.out else Path("results") / f"staff-{scenario.name}"
    say = (lambda _: None) if args.quiet else (lambda m: print(m, flush=True))
    t0 = time.perf_counter()
    try:
        res = staff(scenario, replications=args.replications,
                    verify_replications=args.verify_replications, budget=args.budget,
                    jobs=args.jobs, executor=args.executor, out=out, progress=not args.quiet,
                    log=say if args.verbose else None)
    except StaffingError as exc:
        raise CLIError(str(exc)) from None
    files = write_staffing(res, out, path, {"arguments": _arguments(args)})
    if not args.quiet:
        print(format_result(res, time.perf_counter() - t0))
        print(f"\nresults in {out}/: " + ", ".join(files))
    return 0 if res.feasible and res.verified else EXIT_NOT_MET


def format_result(res: Any, seconds: float) -> str:
    """What the planner reads first: hours, then the worst standards, then what changed."""
    from sim.staffing.output import infeasible_rows, staffing_rows, verification_rows

    now, planned = res.hours()
    lines = [f"{res.base.name}: {len(res.managed)} pools staffed, {res.search.rounds} search "
             f"rounds, {res.runs} runs ({res.resumed} resumed), {seconds:.1f} s"]
    if res.infeasible:
        lines.append("NO roster within the registered doctors was shown to meet these "
                     "standards:")
        for r in infeasible_rows(res):
            more = (f"{r['extra_doctors']} more doctors met it" if r["extra_doctors"] != ""
                    else "more doctors than tried")
            if r["reason"] == "unconfirmed":
                more = (f"its mean meets the target, but {res.replications} replications "
                        "cannot confirm it: run more (--replications)")
            lines.append(f"  {r['standard']} at {r['hub']} x {r['specialty']}: best "
                         f"{_val(r['best_mean'], r['target'])} against {r['target']:g} "
                         f"({r['sense'].replace('_', ' ')}); {more}")
        return "\n".join(lines)
    lines.append(f"doctor-hours a week: {planned:,.1f} (scenario's roster: {now:,.1f}, "
                 f"{planned - now:+,.1f})")
    rows = verification_rows(res.verification)
    met = sum(r["verdict"] in ("met", "too small") for r in rows)
    lines.append(f"verification on {res.verify_replications} fresh replications: {met} of "
                 f"{len(rows)} standard x pool rows met with "
                 f"{rows[0]['confidence']:.0%} confidence" if rows else "no verification")
    lines.append("  worst first:")
    for r in rows[:5]:
        lines.append(f"  {r['verdict']:<12} {r['standard']:<22} {r['group']:<34} "
                     f"{_val(r['mean'], r['target'])} [{_val(r['ci_low'], r['target'])}, "
                     f"{_val(r['ci_high'], r['target'])}] target {_val(r['target'], 1)}")
    changed = [r for r in staffing_rows(res) if r["change"]]
    lines.append(f"{len(changed)} session rows changed against the roster (staffing.csv)")
    return "\n".join(lines)


def _val(v: float, target: float) -> str:
    if v != v:
        return "-"
    return f"{v:.1%}" if 0 <= target <= 1 else f"{v:,.1f} min"


def add_staff_command(sub: Any) -> None:
    """The ``staff`` subcommand."""
    from sim.commands.common import (
        _SCENARIO_HELP,
        _positive_float,
        _positive_int,
        add_out,
        add_overrides,
        add_quiet,
        add_workers,
    )

    p = sub.add_parser(
        "staff", help="the fewest doctor-hours that meet the service standards, verified",
        description="Search the scenario's session menu (staffing:, default: its roster's "
        "sessions) for the fewest doctor-hours a week with which every standard is met with "
        "its confidence in every hub x specialty: an Erlang A start (the iterative staffing "
        "algorithm for 24/7 hourly pools), simulation on common random numbers, CP-SAT for "
        "staffing.budget_per_day, and a verification run on fresh seeds. Writes plan.yaml "
        "(an overlay for run/compare), staffing.csv, verification.csv and run.json; exit 1 "
        "when no roster within the registered doctors meets a standard (infeasible.csv) or "
        "the verification does not confirm the plan.")
    p.add_argument("scenario", nargs="?", help=_SCENARIO_HELP)
    add_out(p, "results/staff-<scenario name>")
    p.add_argument("--budget", type=_positive_float, metavar="N",
                   help="place N doctor-hours a week to maximise the worst standard's margin")
    p.add_argument("--replications", "-n", type=_positive_int, default=20, metavar="N",
                   help="replications per candidate in the search (default: 20)")
    p.add_argument("--verify-replications", type=_positive_int, default=30, metavar="N",
                   help="fresh replications of the verification run (default: 30)")
    add_overrides(p)
    add_workers(p)
    p.add_argument("-v", "--verbose", action="store_true", help="print each search round")
    add_quiet(p)
    p.set_defaults(func=cmd_staff)
