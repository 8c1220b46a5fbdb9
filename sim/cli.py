"""The ``hubsim`` command: a thin shell over the Python API.

Every subcommand does what a notebook does with ``sim.load_scenario``, ``sim.simulate`` and
the metrics functions; bad input prints one screen naming file, field, line and problem
and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sim.scenario.loader import ScenarioError, apply_overrides, load_scenario
from sim.scenario.yamlread import shown

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
WORKBOOK_FILE = "results.xlsx"
BASELINE_NAME = "himachal-baseline.yaml"


class CLIError(Exception):
    """A problem to report to the user in one line, with exit status 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that temporary files are removed on the way out."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def default_scenario() -> Path:
    """The bundled Himachal baseline: ./scenarios first, else the one beside the package."""
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        p = base / "scenarios" / BASELINE_NAME
        if p.exists():
            return p
    raise CLIError(f"cannot find the bundled scenario scenarios/{BASELINE_NAME}; name a file")


def _folder_name(name: str) -> str:
    """A scenario name as a folder name under results/ (no ``/`` or ``..`` to escape it)."""
    from sim.experiment.units import safe_name

    return safe_name(name)


def _say(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, flush=True)


def format_summary(rows: Sequence[dict[str, Any]], by: str = "specialty") -> str:
    """A compact text table: the whole system, then one line per group of ``by``."""
    table: dict[tuple[str, str], dict[str, float]] = {}
    for r in rows:
        if r["group_by"] in ("all", by):
            table.setdefault((r["group_by"], r["group"]), {})[r["metric"]] = float(r["value"])
    from sim.present.console import fmt_wait

    wait = fmt_wait
    cols: list[tuple[str, str, Any]] = [
        ("arrivals", "arrivals", "{:,.0f}".format), ("served", "served", "{:,.0f}".format),
        ("abandonment_rate", "aband.", "{:.1%}".format),
        ("unserved", "unserved", "{:,.0f}".format), ("wait_mean_min", "wait mean", wait),
        ("wait_mean_all_min", "incl. aband.", wait), ("wait_p50_min", "p50", wait),
        ("wait_p90_min", "p90", wait), ("wait_p95_min", "p95", wait),
        ("utilisation", "util.", "{:.0%}".format),
        ("queue_length_mean", "queue", "{:.2f}".format)]
    present = {r["metric"] for r in rows}
    cols = [c for c in cols if c[0] in present]
    head = [by if by != "all" else "", *(c[1] for c in cols)]
    lines = []
    keys = [("all", "all")] + sorted(k for k in table if k[0] == by)
    for k in keys:
        if k not in table:
            continue
        vals = table[k]
        cells = [k[1] if k[0] != "all" else "ALL"]
        for metric, _, fmt in cols:
            v = vals.get(metric)
            cells.append("-" if v is None or v != v else fmt(v))
        lines.append(cells)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    out = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(head, widths,
                                                                                      strict=True)))]
    for cells in lines:
        out.append("  ".join(c.rjust(w) if i else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths, strict=True))))
    return "\n".join(out)


def _load_with(path: str | None, seed: int | None = None, days: int | None = None,
               sets: Sequence[str] = ()) -> Any:
    """Load a scenario, then apply --set, --days and --seed, each error labelled by its option."""
    from sim.scenario.loader import parse_value

    scenario = load_scenario(path or default_scenario())
    overrides: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise CLIError(f"--set needs KEY=VALUE, got {item!r}")
        overrides[key.strip()] = parse_value(value)
    if overrides:
        scenario = apply_overrides(scenario, overrides)
    if days is not None:
        # a shorter horizon drops the holidays that no longer fall inside it
        scenario = apply_overrides(scenario, scenario.calendar.cut_to(days), source="--days")
    if seed is not None:
        scenario = apply_overrides(scenario, {"seed": seed}, source="--seed")
    return scenario


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


def _plot_into(out: Path) -> None:
    """Every plot the results in ``out`` allow (``sim.plots.plot_results``)."""
    from sim.experiment.runner import record_files
    from sim.present.plots import plot_results

    plot_results(out)
    record_files(out)  # run.json lists the plots too


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
    """Make every plot a results folder's tables allow (PNG, and SVG with --svg, in DIR/plots)."""
    from sim.present.plots import PLOT_DIR, plot_results

    folder = Path(args.results_dir)
    if not folder.is_dir():
        raise CLIError(f"no results folder {folder}")
    paths = plot_results(folder, ("png", "svg") if args.svg else ("png",))
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


# --- experiments: replications, compare, sweep, warmup (sim.experiment, sim.analysis.warmup) ---

_SCENARIO_HELP = f"scenario YAML (default: scenarios/{BASELINE_NAME})"


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def _confidence(text: str) -> float:
    v = _positive_float(text)
    if not v < 1:
        raise argparse.ArgumentTypeError(f"confidence must be between 0 and 1, got {text!r}")
    return v


def _experiment_options(p: argparse.ArgumentParser, replications: int | None) -> None:
    default = "1; 5 to start --precision" if replications is None else str(replications)
    p.add_argument("--replications", "-n", type=_positive_int, default=replications,
                   metavar="N", help=f"independent replications from the root seed "
                   f"(default: {default})")
    p.add_argument("--confidence", type=_confidence, default=0.95, metavar="C",
                   help="confidence level of the Student-t intervals (default: 0.95)")
    p.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="N",
                   help="worker processes (default: 1); results are identical for any N")
    p.add_argument("--executor", metavar="SPEC",
                   help="where units run: process (default with --jobs > 1), sequential, "
                   "dask (a local Dask cluster of --jobs workers) or dask://HOST:PORT "
                   "(needs hubsim[cluster])")
    p.add_argument("--no-records", action="store_true",
                   help="skip replication 0's records.csv.gz (2.3-3 s per million requests "
                   "to write); the same as --records none")
    p.add_argument("--records", choices=("none", "first", "all"), default="first",
                   help="whose request records to write: replication 0's as records.csv.gz "
                   "and Parquet (first, the default), every replication's as Parquet too "
                   "(all), or none")
    p.add_argument("--excel", action="store_true",
                   help=f"also write the Excel workbook {WORKBOOK_FILE} (as hubsim export)")


def _records(args: argparse.Namespace) -> str:
    return "none" if args.no_records else str(args.records)


def _excel(args: argparse.Namespace, out: Path) -> str:
    """Write the workbook when ``--excel`` asked for it; its name for the listing."""
    if not args.excel:
        return ""
    from sim.experiment.runner import record_files
    from sim.present.workbook import write_workbook

    path = write_workbook(out)
    record_files(out)
    return f", {path.name}"


def _arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed options, for run.json."""
    return {k: v for k, v in vars(args).items()
            if k not in ("func",) and isinstance(v, str | int | float | bool | list | None)}


def _resumed_note(resumed: int, computed: int) -> str:
    if not resumed:
        return ""
    return f" ({resumed} finished runs resumed from the output folder, {computed} run now)"


class _experiment_errors:  # noqa: N801 - used as a context manager
    """Turn executor problems and bad experiment arguments into one-line CLI errors."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, tp: Any, exc: Any, tb: Any) -> None:
        if exc is not None and isinstance(exc, ValueError) and not isinstance(
                exc, ScenarioError):
            raise CLIError(str(exc)) from None


def format_intervals(summary: Any, confidence: float,
                     metrics: Sequence[str] | None = None) -> str:
    """Whole-system key metrics as ``mean [ci_low, ci_high]`` lines (a summary DataFrame).

    Waits in min/h/d, shares and rates in %, counts with separators.
    """
    from sim.analysis.metrics import KEY_METRICS
    from sim.present.console import fmt_metric

    rows = summary[summary["group_by"] == "all"]
    wanted = list(metrics or KEY_METRICS)
    lines = [f"{'metric':<20} {'mean':>12}   {confidence:.0%} confidence interval     n"]
    for m in wanted:
        r = rows[rows["metric"] == m]
        if r.empty:
            continue
        mean, lo, hi, n = (float(r["mean"].iloc[0]), float(r["ci_low"].iloc[0]),
                           float(r["ci_high"].iloc[0]), int(r["n"].iloc[0]))
        ci = f"[{fmt_metric(m, lo)}, {fmt_metric(m, hi)}]" if lo == lo else "-"
        lines.append(f"{m:<20} {fmt_metric(m, mean):>12}   {ci:<28} {n:>3}")
    return "\n".join(lines)


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


def cmd_warmup(args: argparse.Namespace) -> int:
    """Suggest a warm-up (MSER-5) from the data and plot it with Welch's moving average."""
    from sim.analysis.warmup import analyse_warmup, plot_warmup
    from sim.results.output import atomic_write, write_csv, write_json

    scenario = _load_with(args.scenario, args.seed, args.days, args.set)
    out = Path(args.out) if args.out else Path("results") / _folder_name(
        f"warmup-{scenario.name}")
    with _experiment_errors():
        a = analyse_warmup(scenario, args.replications, metric=args.metric,
                           bin_hours=args.bin_hours, batch=args.batch, window=args.window,
                           jobs=args.jobs, executor=args.executor)
    csv_path = write_csv(out / "warmup.csv", a.table.to_dict("records"),
                         ("bin", "start_day", "mean", "welch"))
    fig = plot_warmup(a)
    png = atomic_write(out / "warmup.png", lambda fh: fig.savefig(fh, format="png", dpi=110))
    from sim import __version__

    write_json(out / "run.json", {
        "command": "warmup", "arguments": _arguments(args), "scenarios": [scenario.name],
        "seed": a.seed, "replications": a.replications,
        "warmup_days": scenario.calendar.warmup_days,
        "horizon_days": scenario.calendar.horizon_days, "hubsim_version": __version__,
        "suggested_warmup_days": a.suggested_days, "metric": a.metric,
        "bin_hours": a.bin_hours, "batch": a.batch, "at_limit": a.at_limit,
        "files": [csv_path.name, png.name, "run.json"]})
    if not args.quiet:
        print(f"{scenario.name}: {a.describe()}; the scenario now uses "
              f"{scenario.calendar.warmup_days:g} days")
        print(f"plot: {png}  series: {csv_path}")
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
    p.add_argument("--out", help="output folder (default: results/compare-<base file name>)")
    p.add_argument("--seed", type=int, help="root seed for every plan (default: the base's)")
    p.add_argument("--days", type=int, help="override the horizon of every plan")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field in every plan (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
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
    p.add_argument("--out", help="output folder (default: results/sweep-<scenario name>)")
    p.add_argument("--seed", type=int, help="root seed for every point (default: the scenario's)")
    p.add_argument("--days", type=int, help="override the horizon")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    _experiment_options(p, replications=5)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "warmup", help="suggest a warm-up length from the data (MSER-5) and plot it",
        description="Run a few replications over the whole horizon, bin the number waiting "
        "(or the mean wait) and suggest the warm-up that minimises MSER-5 on the averaged "
        "series. Writes warmup.png (with Welch's moving average), warmup.csv and run.json.")
    p.add_argument("scenario", nargs="?", help=_SCENARIO_HELP)
    p.add_argument("--out", help="output folder (default: results/warmup-<scenario name>)")
    p.add_argument("--seed", type=int, help="root random seed (default: the scenario's)")
    p.add_argument("--days", type=int, help="override the horizon in days")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario field (repeatable)")
    p.add_argument("--replications", "-n", type=_positive_int, default=5, metavar="N",
                   help="replications to average (default: 5)")
    p.add_argument("--metric", choices=("queue", "wait"), default="queue",
                   help="series: time-average number waiting (default) or mean wait")
    p.add_argument("--bin-hours", type=_positive_float, default=24.0, metavar="H",
                   help="bin width in hours (default: 24, which hides the daily cycle)")
    p.add_argument("--batch", type=_positive_int, default=5, help="MSER batch size (default: 5)")
    p.add_argument("--window", type=_positive_int, metavar="W",
                   help="Welch half-window in bins (default: a tenth of the series)")
    p.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="N",
                   help="worker processes (default: 1)")
    p.add_argument("--executor", metavar="SPEC", help="as for run (process, dask, dask://HOST:PORT)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_warmup)

    p = sub.add_parser(
        "export", help="write the Excel workbook of a results folder",
        description="Write RESULTS_DIR/results.xlsx: About, Standards (when the folder has "
        "them), summary By specialty and Hub x specialty, Comparison (for a comparison) and "
        "Roster sheets, with units in the headers, fitted widths and frozen headers.")
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="folder written by run/compare/sweep")
    p.add_argument("--out", help=f"workbook file (default: RESULTS_DIR/{WORKBOOK_FILE})")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
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
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_new_state)


Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    from sim import __version__

    parser = argparse.ArgumentParser(
        prog="hubsim",
        description="Simulate hub-and-spoke teleconsultation networks (e-Sanjeevani Himachal).",
    )
    parser.add_argument("--version", action="version", version=f"hubsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run a scenario (once or N replications): summary, records, "
                       "plots",
                       description="Run a scenario once, or --replications N times (or until "
                       "--precision is met). Opens with the service standards breached, worst "
                       "first. Writes summary.csv (with confidence intervals), standards.csv "
                       "(each standard's verdict per group), replications.csv, records.csv.gz "
                       "and scenario.resolved.yaml of replication 0, run.json and plots/ (PNG) "
                       "to --out.")
    p.add_argument("scenario", nargs="?", help=_SCENARIO_HELP)
    p.add_argument("--out", help="output folder (default: results/<scenario name>)")
    p.add_argument("--seed", type=int, help="root random seed (default: the scenario's)")
    p.add_argument("--days", type=int, help="override the horizon in days")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario field, e.g. demand.growth=1.5 or "
                   "'hubs[igmc_shimla].doctors.cardiology=5' (repeatable; list items by key)")
    p.add_argument("--no-plot", action="store_true", help="skip the plots")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    _experiment_options(p, replications=None)
    p.add_argument("--precision", type=_positive_float, metavar="REL",
                   help="add replications until the relative CI half-width of every --for "
                   "target is at most REL, e.g. 0.05")
    p.add_argument("--for", dest="precision_for", action="append", metavar="TARGET",
                   help="what --precision drives down (repeatable): 'standards' (until every "
                   "verdict is settled, or an undecided one's interval is within REL of its "
                   "target), METRIC (whole system), METRIC@GROUP_BY (each group) or "
                   "METRIC@GROUP_BY=GROUP, e.g. wait_mean_min@specialty=cardiology "
                   "(default: wait_mean_min, utilisation, abandonment_rate)")
    p.add_argument("--max-replications", type=_positive_int, default=100, metavar="N",
                   help="upper limit for --precision (default: 100)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check scenario files without running them")
    p.add_argument("files", nargs="+", help="scenario YAML files")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "diff", help="what changed between two scenarios (roster, doctors, demand, routing)",
        description="Load A and B (plan files welcome) and list what B changes: roster lines "
        "added, removed or changed, doctor pools, demand rates, routing and the rest, hubs, "
        "districts and roster lines matched by key. --overlay prints instead the plan file "
        "that turns A into B; --csv the changes as a table.")
    p.add_argument("a", metavar="A", help="the scenario compared against")
    p.add_argument("b", metavar="B", help="the changed scenario")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field of B first (repeatable)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--overlay", action="store_true",
                     help="print the overlay (plan file) that turns A into B")
    how.add_argument("--csv", action="store_true", help="print the changes as CSV")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("schema", help="print the scenario JSON Schema (for editor completion)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("plot", help="make every plot a results folder allows (PNG; SVG too "
                       "with --svg)",
                       description="Make every plot that the tables in RESULTS_DIR allow: wait "
                       "distributions, waits by hour and weekday, queue length, utilisation "
                       "heat map, equity by district, plan comparison, sweep curves and the "
                       "standards along a sweep. Writes RESULTS_DIR/plots/*.png (and *.svg "
                       "with --svg).")
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="folder written by run/compare/sweep")
    p.add_argument("--svg", action="store_true", help="write SVG beside each PNG (slower)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("report", help="write one self-contained HTML report of a results folder",
                       description="Write RESULTS_DIR/report.html: question, inputs, run "
                       "settings, key results with confidence intervals, comparison verdicts, "
                       "every plot (embedded) and a live Erlang C validation check, in the "
                       "order of the STRESS-DES checklist.")
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="folder written by run/compare/sweep")
    p.add_argument("--out", help="report file (default: RESULTS_DIR/report.html)")
    p.add_argument("--question", help="the study question to state in the report")
    p.add_argument("--no-validation", action="store_true",
                   help="skip the M/M/c vs Erlang C check (about a second)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_report)

    _add_experiment_commands(sub)
    _add_new_state_command(sub)
    from sim.staffing.command import add_staff_command

    add_staff_command(sub)
    for extend in EXTENSIONS:
        extend(sub)
    return parser


EXTENSIONS: list[Callable[[Any], None]] = []
"""Functions that add subcommands to the parser (experiments, plots, report)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hubsim`` and ``python -m sim``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (a notebook's worker thread): leave it be
        previous = None
    try:
        return int(args.func(args))
    except ScenarioError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    except CLIError as exc:
        print(f"hubsim: error: {shown(exc, 1000)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        where = shown(exc.filename, 300) if exc.filename is not None else ""
        print(f"hubsim: error: {exc.strerror or shown(exc, 300)}: {where}".rstrip(": "),
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"hubsim: {what}; finished replications are kept in the output folder and the "
              "same command resumes from them", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
