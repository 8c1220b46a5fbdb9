"""The ``hubsim`` command: a thin shell over the Python API.

Every subcommand does what a notebook does with ``sim.load_scenario``, ``sim.simulate`` and
the metrics functions; bad input prints one screen naming file, field, line and problem
and exits with status 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sim.commands.common import (
    _SCENARIO_HELP,
    EXIT_USAGE,
    CLIError,
    Terminated,
    _experiment_options,
    _positive_float,
    _positive_int,
    add_out,
    add_overrides,
    add_png,
    add_quiet,
    add_results_dir,
    check_replication_options,
)
from sim.commands.experiments import (
    _add_experiment_commands,
)
from sim.commands.single import (
    _add_new_state_command,
    cmd_diff,
    cmd_plot,
    cmd_report,
    cmd_run,
    cmd_schema,
    cmd_validate,
)
from sim.scenario.loader import ScenarioError
from sim.scenario.yamlread import shown


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


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
                       "and scenario.resolved.yaml of replication 0, run.json and plots/ (SVG) "
                       "to --out.")
    p.add_argument("scenario", nargs="?", help=_SCENARIO_HELP)
    add_out(p, "results/<scenario name>")
    add_overrides(p)
    p.add_argument("--no-plot", action="store_true", help="skip the plots")
    add_quiet(p)
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

    p = sub.add_parser("plot", help="make every plot a results folder allows (SVG; PNG too "
                       "with --png)",
                       description="Make every plot that the tables in RESULTS_DIR allow: wait "
                       "distributions, waits by hour and weekday, queue length, utilisation "
                       "heat map, equity by district, plan comparison, sweep curves and the "
                       "standards along a sweep. Writes RESULTS_DIR/plots/*.svg (vector: "
                       "sharp in print and at any zoom; open them in a browser) and *.png "
                       "with --png.")
    add_results_dir(p)
    add_png(p)
    add_quiet(p)
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("report", help="write one self-contained HTML report of a results folder",
                       description="Write RESULTS_DIR/report.html: question, inputs, run "
                       "settings, key results with confidence intervals, comparison verdicts, "
                       "every plot (embedded) and a live Erlang C validation check, in the "
                       "order of the STRESS-DES checklist.")
    add_results_dir(p)
    p.add_argument("--out", help="report file (default: RESULTS_DIR/report.html)")
    p.add_argument("--question", help="the study question to state in the report")
    p.add_argument("--no-validation", action="store_true",
                   help="skip the M/M/c vs Erlang C check (about a second)")
    add_quiet(p)
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
        check_replication_options(args)
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
