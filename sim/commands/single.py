"""Subcommands on one scenario or one results folder.

run, validate, diff, schema, plot,
report, export, app, new-state.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from sim.commands.common import (
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    _arguments,
    _excel,
    _experiment_errors,
    _folder_name,
    _load_with,
    _plot_into,
    _positive_int,
    _records,
    _resumed_note,
    _say,
    add_quiet,
    format_intervals,
    format_summary,
    plot_formats,
)
from sim.scenario.loader import ScenarioError, load_scenario


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario (once, or N replications / to a precision) and write its outputs."""
    from sim.experiment.runner import PRECISION_METRICS, run_experiment

    if args.precision_for and args.precision is None:
        raise CLIError("--for names what --precision drives down; give --precision too")
    scenario = _load_with(args.scenario, args.seed, args.days, args.set)
    out = Path(args.out) if args.out else Path("results") / _folder_name(scenario.name)
    t0 = time.perf_counter()
    with _experiment_errors():
        exp = run_experiment(
            scenario, args.replications, confidence=args.confidence, precision=args.precision,
            max_replications=args.max_replications,
            precision_metrics=args.precision_for or PRECISION_METRICS, jobs=args.jobs,
            executor=args.executor,
            out=out, plot=False, records=_records(args), progress=not args.quiet,
            command="run", arguments=_arguments(args))
    size = f"{len(exp.first.records):,} requests, " if exp.first is not None else ""
    exp.first = None  # the plots read the records back: a national-size run's go first
    if not args.no_plot:  # after the run, so the plots show the replicated summary
        _plot_into(out)
    workbook = _excel(args, out)
    elapsed = time.perf_counter() - t0
    if not args.quiet:
        reps = f"{exp.n} replications" if exp.n > 1 else "1 run"
        print(f"{scenario.name}: {reps} over {scenario.calendar.horizon_days} days "
              f"(warm-up {scenario.calendar.warmup_days:g}), {size}seed {exp.seed}, "
              f"{elapsed:.2f} s" + _resumed_note(exp.resumed, exp.computed))
        from sim.present.console import format_standards

        print("\n" + format_standards(exp.standards, exp.n, exp.confidence) + "\n")
        rows = exp.summary.to_dict("records")
        print(format_summary(rows, by="specialty"))
        if exp.n > 1:
            print("\n" + format_intervals(exp.summary, exp.confidence))
        if exp.precision is not None:
            pr = exp.precision
            state = "reached" if pr["achieved"] else "NOT reached (hit --max-replications)"
            worst = sorted(pr["relative_half_widths"].items(), key=lambda kv: -kv[1])[:5]
            widths = ", ".join(f"{m} {w:.1%}" for m, w in worst) or "every verdict settled"
            print(f"\nprecision {pr['target']:.1%} for {', '.join(pr['metrics'])} {state} "
                  f"with {exp.n} replications (widest relative half-widths: {widths})")
        print(f"\nresults in {out}/: " + ", ".join(f for f in exp.files
                                                  if not f.startswith("parquet/"))
              + (", parquet/" if any(f.startswith("parquet/") for f in exp.files) else "")
              + ("" if args.no_plot else ", plots/") + workbook)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario files without running them."""
    bad = 0
    for f in args.files:
        try:
            sc = load_scenario(f)
        except ScenarioError as exc:
            bad += 1
            print(exc.render(), file=sys.stderr)
        else:
            _say(f"{f}: ok ({sc.name}: {len(sc.hubs)} hubs, {len(sc.specialties)} specialties, "
                 f"{len(sc.spokes.districts)} districts)", args.quiet)
    return EXIT_USAGE if bad else EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    """Print what changed between two scenarios, or the overlay that makes the change."""
    import csv
    import os

    import yaml

    from sim.scenario.diff import as_overlay, change_rows, diff_scenarios, format_changes

    a = load_scenario(args.a)
    b = _load_with(args.b, sets=args.set)
    if args.overlay:
        over = as_overlay(a, b)
        print("# the overlay that turns", args.a, "into", args.b)
        print(yaml.safe_dump({"extends": os.path.relpath(args.a), **over}, sort_keys=False,
                             allow_unicode=True), end="")
        return EXIT_OK
    changes = diff_scenarios(a, b)
    if args.csv:
        rows = change_rows(changes)
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["area"],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return EXIT_OK
    print(format_changes(changes, args.a, args.b))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the scenario JSON Schema."""
    from sim.scenario.schema import Scenario

    print(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    """Make every plot a results folder's tables allow (SVG, and PNG with --png, in DIR/plots)."""
    from sim.present.plots import PLOT_DIR, plot_results

    folder = Path(args.results_dir)
    if not folder.is_dir():
        raise CLIError(f"no results folder {folder}")
    paths = plot_results(folder, plot_formats(args))
    if not paths:
        raise CLIError(f"nothing to plot in {folder}: no summary.csv, records.csv.gz, "
                       "comparison.csv or sweep.csv")
    stems = list(dict.fromkeys(p.stem for p in paths if p.parent == folder / PLOT_DIR))
    _say(f"{len(paths)} plot files in {folder / PLOT_DIR}/ and plan folders: "
         + ", ".join(stems), args.quiet)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write one self-contained HTML report of a results folder."""
    from sim.present.report import write_report

    folder = Path(args.results_dir)
    if not folder.is_dir():
        raise CLIError(f"no results folder {folder}")
    if not any((folder / n).exists() for n in ("summary.csv", "comparison.csv", "sweep.csv")):
        raise CLIError(f"{folder} has no summary.csv, comparison.csv or sweep.csv to report on")
    path = write_report(folder, args.out, args.question, validation=not args.no_validation)
    _say(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB, opens offline)",
         args.quiet)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Write the Excel workbook of a results folder."""
    from sim.experiment.runner import record_files
    from sim.present.workbook import write_workbook

    folder = Path(args.results_dir)
    if not folder.is_dir():
        raise CLIError(f"no results folder {folder}")
    try:
        path = write_workbook(folder, args.out)
    except FileNotFoundError as exc:
        raise CLIError(f"{folder}: {exc.strerror}") from None
    if args.out is None:
        record_files(folder)
    sheets = ", ".join(_sheet_names(path))
    _say(f"workbook written to {path} (sheets: {sheets})", args.quiet)
    return EXIT_OK


def _sheet_names(path: Path) -> list[str]:
    from openpyxl import load_workbook

    return list(load_workbook(path, read_only=True).sheetnames)


def cmd_app(args: argparse.Namespace) -> int:
    """Start the planner's web app (Streamlit) on this machine."""
    from sim.present.planner import serve

    return serve(args.port, args.address, open_browser=not args.no_browser)


def cmd_new_state(args: argparse.Namespace) -> int:
    """Build a scenario from a planner's tables, write it, and check that it validates."""
    from sim.results.output import write_text
    from sim.scenario.newstate import Options, scenario_text

    opts = Options(name=args.name, days=args.days, warmup=args.warmup,
                   start_date=args.start_date, hours=args.hours, seed=args.seed)
    text = scenario_text(Path(args.tables), opts)
    out = Path(args.out) if args.out else Path(f"{args.name}.yaml")
    write_text(out, text)
    scenario = load_scenario(out)  # problems the tables could not show point into the file
    _say(f"{out}: {len(scenario.hubs)} hubs, {len(scenario.spokes.districts)} districts, "
         f"{len(scenario.specialties)} specialties; valid", args.quiet)
    return EXIT_OK


def _add_new_state_command(sub: Any) -> None:
    """The new-state subcommand."""
    p = sub.add_parser(
        "new-state", help="build a scenario from a planner's tables (CSV folder or Excel)",
        description="Read districts, hubs, demand, specialties and (optionally) rosters from "
        "TABLES, a folder of CSV files (districts.csv, ...) or an .xlsx workbook with sheets of "
        "those names, and write a scenario YAML in which every number is commented FACT or "
        "ASSUMPTION with the table, row and column it came from. Bad tables: exit 2 with "
        "file, row and column.")
    p.add_argument("tables", metavar="TABLES", help="folder of CSV files or .xlsx workbook")
    p.add_argument("--name", default="new-state", help="scenario name (default: new-state)")
    p.add_argument("--out", help="scenario file to write (default: NAME.yaml)")
    p.add_argument("--days", type=_positive_int, default=35, help="horizon (default: 35)")
    p.add_argument("--warmup", type=float, default=7.0, help="warm-up days (default: 7)")
    p.add_argument("--start-date", metavar="YYYY-MM-DD", help="date of day 0 (optional)")
    p.add_argument("--hours", default="09:30-16:00",
                   help="spoke hours Mon-Sat, also the all-registered roster (default: "
                   "09:30-16:00)")
    p.add_argument("--seed", type=int, default=12345, help="the scenario's seed")
    add_quiet(p)
    p.set_defaults(func=cmd_new_state)
