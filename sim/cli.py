"""The ``hubsim`` command: a thin shell over the Python API.

Every subcommand does what a notebook does with ``sim.load_scenario``, ``sim.simulate`` and
the metrics functions; bad input prints one screen naming file, field, line and problem
and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sim.loader import ScenarioError, apply_overrides, load_scenario

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
BASELINE_NAME = "himachal-baseline.yaml"


class CLIError(Exception):
    """A problem to report to the user in one line, with exit status 2."""


def default_scenario() -> Path:
    """The bundled Himachal baseline: ./scenarios first, else the one beside the package."""
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        p = base / "scenarios" / BASELINE_NAME
        if p.exists():
            return p
    raise CLIError(f"cannot find the bundled scenario scenarios/{BASELINE_NAME}; name a file")


def _say(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, flush=True)


def format_summary(rows: Sequence[dict[str, Any]], by: str = "specialty") -> str:
    """A compact text table: the whole system, then one line per group of ``by``."""
    table: dict[tuple[str, str], dict[str, float]] = {}
    for r in rows:
        if r["group_by"] in ("all", by):
            table.setdefault((r["group_by"], r["group"]), {})[r["metric"]] = float(r["value"])
    cols = [("arrivals", "arrivals", "{:,.0f}"), ("served", "served", "{:,.0f}"),
            ("abandoned", "aband.", "{:,.0f}"), ("unserved", "unserved", "{:,.0f}"),
            ("wait_mean_min", "wait mean", "{:.1f}"), ("wait_p50_min", "p50", "{:.1f}"),
            ("wait_p90_min", "p90", "{:.1f}"), ("wait_p95_min", "p95", "{:.1f}"),
            ("utilisation", "util.", "{:.0%}"), ("queue_length_mean", "queue", "{:.2f}")]
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
            cells.append("-" if v is None or v != v else fmt.format(v))
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
    scenario = load_scenario(path or default_scenario())
    overrides: dict[str, Any] = {}
    if days is not None:
        overrides["calendar.horizon_days"] = days
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise CLIError(f"--set needs KEY=VALUE, got {item!r}")
        from sim.loader import parse_value

        overrides[key.strip()] = parse_value(value)
    if seed is not None:
        overrides["seed"] = seed
    return apply_overrides(scenario, overrides) if overrides else scenario


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario once and write its outputs."""
    from sim.metrics import summary_rows
    from sim.model import simulate
    from sim.output import write_run

    scenario = _load_with(args.scenario, args.seed, args.days, args.set)
    out = Path(args.out) if args.out else Path("results") / scenario.name
    t0 = time.perf_counter()
    result = simulate(scenario)
    elapsed = time.perf_counter() - t0
    paths = write_run(result, out, plot=not args.no_plot)
    if not args.quiet:
        print(f"{scenario.name}: {len(result.records):,} requests over "
              f"{scenario.calendar.horizon_days} days (warm-up {scenario.calendar.warmup_days:g}),"
              f" seed {scenario.seed}, simulated in {elapsed:.2f} s")
        print(format_summary(summary_rows(result, by=("specialty",)), by="specialty"))
        print(f"\nresults in {out}/: " + ", ".join(p.name for p in paths.values()))
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


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the scenario JSON Schema."""
    from sim.scenario import Scenario

    print(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    """Make every plot a results folder's tables allow (PNG and SVG, in DIR/plots)."""
    from sim.plots import PLOT_DIR, plot_results

    folder = Path(args.results_dir)
    if not folder.is_dir():
        raise CLIError(f"no results folder {folder}")
    paths = plot_results(folder)
    if not paths:
        raise CLIError(f"nothing to plot in {folder}: no summary.csv, records.csv.gz, "
                       "comparison.csv or sweep.csv")
    stems = list(dict.fromkeys(p.stem for p in paths if p.parent == folder / PLOT_DIR))
    _say(f"{len(paths)} plot files in {folder / PLOT_DIR}/ and plan folders: "
         + ", ".join(stems), args.quiet)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write one self-contained HTML report of a results folder."""
    from sim.report import write_report

    folder = Path(args.results_dir)
    if not folder.is_dir():
        raise CLIError(f"no results folder {folder}")
    if not any((folder / n).exists() for n in ("summary.csv", "comparison.csv", "sweep.csv")):
        raise CLIError(f"{folder} has no summary.csv, comparison.csv or sweep.csv to report on")
    path = write_report(folder, args.out, args.question, validation=not args.no_validation)
    _say(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB, opens offline)",
         args.quiet)
    return EXIT_OK


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

    p = sub.add_parser("run", help="run a scenario once and write summary, records and plots",
                       description="Run a scenario once. Writes summary.csv, records.csv.gz, "
                       "scenario.resolved.yaml, run.json and plots/ (PNG and SVG) to --out.")
    p.add_argument("scenario", nargs="?", help=f"scenario YAML (default: scenarios/{BASELINE_NAME})")
    p.add_argument("--out", help="output folder (default: results/<scenario name>)")
    p.add_argument("--seed", type=int, help="root random seed (default: the scenario's)")
    p.add_argument("--days", type=int, help="override the horizon in days")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario field, e.g. demand.growth=1.5 (repeatable)")
    p.add_argument("--no-plot", action="store_true", help="skip the plots")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check scenario files without running them")
    p.add_argument("files", nargs="+", help="scenario YAML files")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the scenario JSON Schema (for editor completion)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("plot", help="make every plot a results folder allows (PNG and SVG)",
                       description="Make every plot that the tables in RESULTS_DIR allow: wait "
                       "distributions, waits by hour and weekday, queue length, utilisation "
                       "heat map, equity by district, plan comparison, sweep curves. Writes "
                       "RESULTS_DIR/plots/*.png and *.svg.")
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="folder written by run/compare/sweep")
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
        return int(args.func(args))
    except ScenarioError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    except CLIError as exc:
        print(f"hubsim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"hubsim: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("hubsim: interrupted", file=sys.stderr)
        return 130
