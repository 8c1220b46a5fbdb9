"""Plot cost against simulation cost: the plots of a run must cost no more than the run.

For the bundled baseline and for the baseline copied ten times (30 hubs, 120 districts,
``shapes.himachal_times``), times in CPU seconds of this process: ``run_experiment`` with
the replications ``make run`` uses, writing its tables and records but no plots; then
``plot_results`` on the folder it wrote (every figure, SVG, as ``hubsim run`` writes
them). matplotlib is imported before the clock starts; the import is measured apart, in a
child process.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import shapes
from sim.experiment.runner import run_experiment
from sim.present.plots import plot_results
from sim.scenario.schema import Scenario

REPLICATIONS = 5
"""Replications per run, as ``make run`` uses."""


def import_seconds() -> float:
    """CPU seconds a fresh interpreter takes to import the plotting package."""
    code = ("import time; t = time.process_time(); import sim.present.plots; "
            "print(time.process_time() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300, cwd=shapes.ROOT)
    return float(out.stdout.strip())


def run_and_plot(scenario: Scenario, replications: int) -> tuple[float, float, int, int]:
    """(simulation CPU s, plots CPU s, mean requests per replication, files written)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t0 = time.process_time()
        exp = run_experiment(scenario, replications, out=out, plot=False)
        sim = time.process_time() - t0
        t0 = time.process_time()
        files = plot_results(out)
        plots = time.process_time() - t0
        n = int(exp.summary.query("metric == 'arrivals' and group_by == 'all'")["mean"].iloc[0])
    return sim, plots, n, len(files)


def plot_section(quick: bool, runs: int,
                 log: Callable[[str], None]) -> tuple[str, list[tuple[str, str, str, str]]]:
    """The plots section of RESULTS.md and its target lines (baseline and 10x network)."""
    _, source = shapes.himachal()
    days = 3 if quick else 35
    reps = 2 if quick else REPLICATIONS

    cases = {
        "baseline": shapes.himachal_times(1, days),
        "10x (30 hubs, 120 districts)": shapes.himachal_times(2 if quick else 10, days),
    }
    lines = ["### Plots against the simulation", "",
             f"Scenario: {source} over {days} days, {reps} replications (as `make run`), "
             "and the same copied "
             f"{2 if quick else 10} times side by side (`shapes.himachal_times`). CPU seconds "
             f"of this process, medians over {runs} run(s): `run_experiment` writing tables "
             "and records without plots, then `plot_results` on its folder (every figure, "
             "SVG, as `hubsim run` writes them).", "",
             "| network | requests per replication | simulation CPU s | plots CPU s | files | "
             "plots / simulation |", "|---|---:|---:|---:|---:|---:|"]
    targets = []
    for name, sc in cases.items():
        got = [run_and_plot(sc, reps) for _ in range(runs)]
        sim = statistics.median(g[0] for g in got)
        plots = statistics.median(g[1] for g in got)
        log(f"plots, {name}: simulation {sim:.2f} s, plots {plots:.2f} s")
        lines.append(f"| {name} | {got[0][2]:,} | {sim:.2f} | {plots:.2f} | {got[0][3]} | "
                     f"{plots / sim:.2f} |")
        targets.append((f"plots <= simulation, {name}", "hubsim", f"{plots / sim:.2f}x",
                        "met" if plots <= sim else "not met"))
    lines += ["", f"Importing the plotting package (matplotlib, pandas, sim) in a fresh "
                  f"interpreter: {import_seconds():.2f} CPU s, paid once per `hubsim run` "
                  "and not counted above."]
    return "\n".join(lines), targets


if __name__ == "__main__":
    text, _ = plot_section("--quick" in sys.argv, 1, lambda m: print(m, file=sys.stderr))
    print(text)
