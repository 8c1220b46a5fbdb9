"""What every subcommand shares: exit codes, errors, scenario loading, option types."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.scenario.loader import ScenarioError, apply_overrides, load_scenario

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
WORKBOOK_FILE = "results.xlsx"
BASELINE_NAME = "himachal-baseline.yaml"


class CLIError(Exception):
    """A problem to report to the user in one line, with exit status 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that temporary files are removed on the way out."""


def default_scenario() -> Path:
    """The bundled Himachal baseline: ./scenarios first, else the one beside the package."""
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        p = base / "scenarios" / BASELINE_NAME
        if p.exists():
            return p
    raise CLIError(f"cannot find the bundled scenario scenarios/{BASELINE_NAME}; name a file")


def _folder_name(name: str) -> str:
    """A scenario name as a folder name under results/ (no ``/`` or ``..`` to escape it)."""
    from sim.results.output import safe_name

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


def _plot_into(out: Path) -> None:
    """Every plot the results in ``out`` allow (``sim.plots.plot_results``)."""
    from sim.experiment.runner import record_files
    from sim.present.plots import plot_results

    plot_results(out)
    record_files(out)  # run.json lists the plots too


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


def add_out(p: argparse.ArgumentParser, default: str) -> None:
    """``--out``, the output folder, with its default."""
    p.add_argument("--out", help=f"output folder (default: {default})")


def add_quiet(p: argparse.ArgumentParser) -> None:
    """``-q/--quiet``."""
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def add_results_dir(p: argparse.ArgumentParser) -> None:
    """The RESULTS_DIR argument of the commands that read a results folder."""
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="folder written by run/compare/sweep")


def add_png(p: argparse.ArgumentParser) -> None:
    """``--png``: PNG copies of the plots, which are SVG by default (``figures.FORMATS``)."""
    p.add_argument("--png", action="store_true",
                   help="write a PNG beside each SVG (for slides and messages; slower)")


def plot_formats(args: argparse.Namespace) -> tuple[str, ...]:
    """The formats ``--png`` asks for: the default ones, plus PNG."""
    from sim.present.figures import FORMATS

    return (*FORMATS, "png") if args.png else FORMATS


SET_HELP = ("override a scenario field, e.g. demand.growth=1.5 or "
            "'hubs[igmc_shimla].doctors.cardiology=5' (repeatable; list items by key)")


def add_overrides(p: argparse.ArgumentParser, sets: bool = True) -> None:
    """``--seed``, ``--days`` and (with ``sets``) ``--set`` of a one-scenario command."""
    p.add_argument("--seed", type=int, help="root random seed (default: the scenario's)")
    p.add_argument("--days", type=int, help="override the horizon in days")
    if sets:
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help=SET_HELP)


def add_workers(p: argparse.ArgumentParser) -> None:
    """``--jobs`` and ``--executor``: where the replications run."""
    p.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="N",
                   help="worker processes (default: 1); results are identical for any N")
    p.add_argument("--executor", metavar="SPEC",
                   help="where units run: process (default with --jobs > 1), sequential, "
                   "dask (a local Dask cluster of --jobs workers) or dask://HOST:PORT "
                   "(needs hubsim[cluster])")


def _experiment_options(p: argparse.ArgumentParser, replications: int | None) -> None:
    default = "1; 5 to start --precision" if replications is None else str(replications)
    p.add_argument("--replications", "-n", type=_positive_int, default=replications,
                   metavar="N", help=f"independent replications from the root seed "
                   f"(default: {default})")
    p.add_argument("--confidence", type=_confidence, default=0.95, metavar="C",
                   help="confidence level of the Student-t intervals (default: 0.95)")
    add_workers(p)
    p.add_argument("--no-records", action="store_true",
                   help="skip replication 0's records.csv.gz (2.3-3 s per million requests "
                   "to write); the same as --records none")
    p.add_argument("--records", choices=("none", "first", "all"), default="first",
                   help="whose request records to write: replication 0's as records.csv.gz "
                   "and Parquet (first, the default), every replication's as Parquet too "
                   "(all), or none")
    p.add_argument("--excel", action="store_true",
                   help=f"also write the Excel workbook {WORKBOOK_FILE} (as hubsim export)")


REPLICATION_OPTIONS = {"replications": "--replications/-n",
                       "max_replications": "--max-replications",
                       "verify_replications": "--verify-replications"}
"""The options that count replications (argparse dest -> what a message calls it)."""


def check_replication_options(args: argparse.Namespace) -> None:
    """Refuse a replication count over ``MAX_REPLICATIONS`` before anything is loaded."""
    from sim.experiment.budget import check_replications

    for dest, option in REPLICATION_OPTIONS.items():
        n = getattr(args, dest, None)
        if n is not None:
            try:
                check_replications(n, name=option, hint="use fewer (hubsim run --precision REL "
                                   "adds replications only while the intervals need "
                                   "them), or split the study into runs with different --seed")
            except ValueError as exc:
                raise CLIError(str(exc)) from None


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
