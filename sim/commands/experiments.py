"""Replicated-experiment subcommands: compare, sweep, warmup."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.commands.common import (
    _SCENARIO_HELP,
    EXIT_OK,
    WORKBOOK_FILE,
    CLIError,
    _arguments,
    _excel,
    _experiment_errors,
    _experiment_options,
    _folder_name,
    _load_with,
    _plot_into,
    _positive_float,
    _positive_int,
    _records,
    _resumed_note,
    add_out,
    add_overrides,
    add_png,
    add_quiet,
    add_results_dir,
    add_workers,
    plot_formats,
)
from sim.commands.single import (
    cmd_app,
    cmd_export,
)


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare plan files with a base over paired replications (common random numbers)."""
    from sim.experiment.runner import compare

    paths = [args.base, *args.plans]
    labels = [Path(p).stem for p in paths]
    if len(set(labels)) != len(labels):
        raise CLIError(f"plan files need distinct names, got {', '.join(labels)}")
    scenarios = [_load_with(p, None, args.days, args.set) for p in paths]
    out = Path(args.out) if args.out else Path("results") / _folder_name(f"compare-{labels[0]}")
    t0 = time.perf_counter()
    with _experiment_errors():
        res = compare(scenarios[0], scenarios[1:], args.replications, labels=labels,
                      seed=args.seed, confidence=args.confidence, jobs=args.jobs,
                      executor=args.executor, out=out, records=_records(args),
                      progress=not args.quiet, command="compare", arguments=_arguments(args))
    _plot_into(out)
    workbook = _excel(args, out)
    if not args.quiet:
        print(f"{len(paths)} plans x {res.n} paired replications, root seed {res.seed}, "
              f"{time.perf_counter() - t0:.1f} s" + _resumed_note(res.resumed, res.computed))
        from sim.present.console import format_standard_changes

        changes = format_standard_changes(res.standards)
        if changes:
            print(changes + "\n")
        print(format_comparison(res.comparison, res.confidence))
        print(f"\nresults in {out}/: comparison.csv, standards.csv, replications.csv, "
              "run.json, plots/, parquet/, "
              + ", ".join(f"{lb}/" for lb in labels) + workbook)
    return EXIT_OK


def format_comparison(table: Any, confidence: float) -> str:
    """Whole-system rows of a comparison table: each plan's mean, difference and verdict."""
    from sim.present.console import fmt_metric, fmt_metric_change

    rows = table[table["group_by"] == "all"]
    base = rows[rows["verdict"] == "base"].set_index("metric")["mean"]
    out = []
    for plan, part in rows[rows["verdict"] != "base"].groupby("plan", sort=False):
        out.append(f"\n{plan} vs {rows['plan'].iloc[0]} (difference, {confidence:.0%} paired CI)")
        for _, r in part.iterrows():
            m = str(r["metric"])
            diff = (f"{fmt_metric_change(m, r['diff'])} [{fmt_metric_change(m, r['diff_ci_low'])}"
                    f", {fmt_metric_change(m, r['diff_ci_high'])}]"
                    if r["diff_ci_low"] == r["diff_ci_low"] else "-")
            out.append(f"  {m:<20} {fmt_metric(m, base.get(m, float('nan'))):>10} -> "
                       f"{fmt_metric(m, r['mean']):<10} {diff:<36} {r['verdict']}")
    return "\n".join(out).lstrip("\n")


def _sweep_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    from sim.scenario.loader import parse_value

    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise CLIError(f"--set needs KEY=V1,V2,..., got {item!r}")
        if key.strip() in grid:
            raise CLIError(f"--set {key.strip()} given twice")
        grid[key.strip()] = [parse_value(v.strip()) for v in values.split(",")]
    if not grid:
        raise CLIError("sweep needs at least one --set KEY=V1,V2,...")
    return grid


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a grid of overrides over one scenario and write one tidy table."""
    from sim.experiment.runner import sweep

    scenario = _load_with(args.scenario, None, args.days, ())
    grid = _sweep_grid(args.set)
    out = Path(args.out) if args.out else Path("results") / _folder_name(f"sweep-{scenario.name}")
    t0 = time.perf_counter()
    with _experiment_errors():
        res = sweep(scenario, grid, args.replications, seed=args.seed,
                    confidence=args.confidence, jobs=args.jobs, executor=args.executor,
                    out=out, records=_records(args), progress=not args.quiet,
                    command="sweep", arguments=_arguments(args))
    _plot_into(out)
    workbook = _excel(args, out)
    if not args.quiet:
        print(f"{len(res.points)} points x {res.n} replications, root seed {res.seed}, "
              f"{time.perf_counter() - t0:.1f} s" + _resumed_note(res.resumed, res.computed))
        t = res.table[res.table["group_by"] == "all"]
        show = ["wait_mean_min", "wait_p90_min", "utilisation", "abandonment_rate"]
        wide = t[t["metric"].isin(show)].pivot_table(index=res.keys, columns="metric",
                                                     values="mean", sort=False)
        from sim.present.console import fmt_metric

        wide = wide.reindex(columns=[m for m in show if m in wide.columns])
        print(wide.apply(lambda col: col.map(lambda v, m=col.name: fmt_metric(m, v))
                         ).to_string())
        from sim.present.console import format_first_breaches

        breaks = format_first_breaches(res.breaks)
        if breaks:
            print("\n" + breaks)
        print(f"\nresults in {out}/: sweep.csv, standards.csv, standards_first_breach.csv, "
              "replications.csv, run.json, plots/, parquet/, one folder per point" + workbook)
    return EXIT_OK


def cmd_warmup(args: argparse.Namespace) -> int:
    """Suggest a warm-up (MSER-5) from the data and plot it with Welch's moving average."""
    from sim.analysis.warmup import analyse_warmup, plot_warmup
    from sim.present.figures import save_figure
    from sim.results.output import write_csv, write_json

    scenario = _load_with(args.scenario, args.seed, args.days, args.set)
    out = Path(args.out) if args.out else Path("results") / _folder_name(
        f"warmup-{scenario.name}")
    with _experiment_errors():
        a = analyse_warmup(scenario, args.replications, metric=args.metric,
                           bin_hours=args.bin_hours, batch=args.batch, window=args.window,
                           jobs=args.jobs, executor=args.executor)
    csv_path = write_csv(out / "warmup.csv", a.table.to_dict("records"),
                         ("bin", "start_day", "mean", "welch"))
    plots = save_figure(plot_warmup(a), out, "warmup", plot_formats(args))
    from sim import __version__

    write_json(out / "run.json", {
        "command": "warmup", "arguments": _arguments(args), "scenarios": [scenario.name],
        "seed": a.seed, "replications": a.replications,
        "warmup_days": scenario.calendar.warmup_days,
        "horizon_days": scenario.calendar.horizon_days, "hubsim_version": __version__,
        "suggested_warmup_days": a.suggested_days, "metric": a.metric,
        "bin_hours": a.bin_hours, "batch": a.batch, "at_limit": a.at_limit,
        "files": [csv_path.name, *(p.name for p in plots), "run.json"]})
    if not args.quiet:
        print(f"{scenario.name}: {a.describe()}; the scenario now uses "
              f"{scenario.calendar.warmup_days:g} days")
        print(f"plot: {' and '.join(str(p) for p in plots)}  series: {csv_path}")
    return EXIT_OK


def _add_experiment_commands(sub: Any) -> None:
    """The compare, sweep and warmup subcommands."""
    p = sub.add_parser(
        "compare", help="compare plan files with a base plan (paired replications, verdicts)",
        description="Run BASE and every PLAN with the same replication seeds (common random "
        "numbers) and report each key metric per plan with its CI, the paired difference from "
        "BASE with its CI and a verdict (better / worse / no detectable difference). Writes "
        "comparison.csv, replications.csv, run.json and one folder per plan.")
    p.add_argument("base", metavar="BASE", help="the base scenario or plan YAML")
    p.add_argument("plans", metavar="PLAN", nargs="+", help="plan YAML files (overlays welcome)")
    add_out(p, "results/compare-<base file name>")
    p.add_argument("--seed", type=int, help="root seed for every plan (default: the base's)")
    p.add_argument("--days", type=int, help="override the horizon of every plan")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field in every plan (repeatable)")
    add_quiet(p)
    _experiment_options(p, replications=10)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "sweep", help="run a grid of overrides over a scenario, one tidy table",
        description="Run every combination of the --set values, e.g. --set demand.growth=1,1.5,2 "
        "--set routing.policy=home_hub,pooled (6 points). Writes sweep.csv, replications.csv, "
        "run.json and one folder per point.")
    p.add_argument("scenario", nargs="?", help=_SCENARIO_HELP)
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a swept field and its values (repeatable; the grid is every combination)")
    add_out(p, "results/sweep-<scenario name>")
    add_overrides(p, sets=False)
    add_quiet(p)
    _experiment_options(p, replications=5)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "warmup", help="suggest a warm-up length from the data (MSER-5) and plot it",
        description="Run a few replications over the whole horizon, bin the number waiting "
        "(or the mean wait) and suggest the warm-up that minimises MSER-5 on the averaged "
        "series. Writes warmup.svg (with Welch's moving average; warmup.png too with --png), "
        "warmup.csv and run.json.")
    p.add_argument("scenario", nargs="?", help=_SCENARIO_HELP)
    add_out(p, "results/warmup-<scenario name>")
    add_overrides(p)
    p.add_argument("--replications", "-n", type=_positive_int, default=5, metavar="N",
                   help="replications to average (default: 5)")
    p.add_argument("--metric", choices=("queue", "wait"), default="queue",
                   help="series: time-average number waiting (default) or mean wait")
    p.add_argument("--bin-hours", type=_positive_float, default=24.0, metavar="H",
                   help="bin width in hours (default: 24, which hides the daily cycle)")
    p.add_argument("--batch", type=_positive_int, default=5, help="MSER batch size (default: 5)")
    p.add_argument("--window", type=_positive_int, metavar="W",
                   help="Welch half-window in bins (default: a tenth of the series)")
    add_workers(p)
    add_png(p)
    add_quiet(p)
    p.set_defaults(func=cmd_warmup)

    p = sub.add_parser(
        "export", help="write the Excel workbook of a results folder",
        description="Write RESULTS_DIR/results.xlsx: About, Standards (when the folder has "
        "them), summary By specialty and Hub x specialty, Comparison (for a comparison) and "
        "Roster sheets, with units in the headers, fitted widths and frozen headers.")
    add_results_dir(p)
    p.add_argument("--out", help=f"workbook file (default: RESULTS_DIR/{WORKBOOK_FILE})")
    add_quiet(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "app", help="start the planner's web app in a browser (Streamlit, local)",
        description="Start a local Streamlit app: open a bundled or uploaded scenario, edit "
        "doctors on duty per hub, specialty and session, run replications, compare the edited "
        "plan with the base, download the plan (overlay YAML), the workbook and the report. "
        "Needs the app extra: pip install 'hubsim[app]'.")
    p.add_argument("--port", type=_positive_int, default=8501, help="port (default: 8501)")
    p.add_argument("--address", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.set_defaults(func=cmd_app)
