"""Plot cost against simulation cost: the plots of a run must cost no more than the run.

For the bundled baseline and for the baseline copied ten times (30 hubs, 120 districts,
``shapes.himachal_times``), CPU seconds of ``run_experiment`` with the replications
``make run`` uses, writing its tables and records but no plots, then of ``plot_results``
on the folder it wrote (every figure, SVG, as ``hubsim run`` writes them). Two ways:

- **as ``make run``**: each repetition in a fresh interpreter, split where ``hubsim run``
  turns from its tables to its plots: the run is everything up to then (the imports of
  the simulator, pandas and scipy.special, reading the scenario, the replications, the
  tables), the plots everything after (importing matplotlib, its fonts, every figure).
  This is the split a ``make run`` user waits through.
- **warm**: both phases again in an interpreter that has done them once, as a second run
  in a notebook does: only the work that repeats.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Callable

from benchmarks import shapes

REPLICATIONS = 5
"""Replications per run, as ``make run`` uses."""

CHILD = """
import json, sys, tempfile, time
from pathlib import Path
from benchmarks import shapes
from sim.experiment.runner import run_experiment

k, days, reps, warm = (int(a) for a in sys.argv[1:5])
sc = shapes.himachal_times(k, days)
out = []
with tempfile.TemporaryDirectory() as tmp:
    for i in range(2 if warm else 1):
        folder = Path(tmp) / f"run{i}"
        t0 = time.process_time() if i else 0.0  # the first run: from the interpreter's start
        exp = run_experiment(sc, reps, out=folder, plot=False)
        t1 = time.process_time()
        from sim.present.plots import plot_results
        files = plot_results(folder)
        t2 = time.process_time()
        out.append((t1 - t0, t2 - t1))
n = exp.summary.query("metric == 'arrivals' and group_by == 'all'")["mean"].iloc[0]
print(json.dumps({"sim": out[-1][0], "plots": out[-1][1], "requests": int(n),
                  "files": len(files)}))
"""


def measure(k: int, days: int, reps: int, warm: bool) -> dict[str, float]:
    """One repetition in a fresh interpreter: its simulation and plot CPU seconds."""
    got = subprocess.run([sys.executable, "-c", CHILD, str(k), str(days), str(reps),
                          str(int(warm))], capture_output=True, text=True, check=True,
                         timeout=1800, cwd=shapes.ROOT)
    return json.loads(got.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def plot_section(quick: bool, runs: int,
                 log: Callable[[str], None]) -> tuple[str, list[tuple[str, str, str, str]]]:
    """The plots section of RESULTS.md and its target lines (baseline and 10x network)."""
    _, source = shapes.himachal()
    days = 3 if quick else 35
    reps = 2 if quick else REPLICATIONS
    runs = max(runs, 3)
    cases = {"baseline": 1, "10x (30 hubs, 120 districts)": 2 if quick else 10}
    lines = ["### Plots against the simulation", "",
             f"Scenario: {source} over {days} days, {reps} replications (as `make run`), "
             f"and the same copied {cases['10x (30 hubs, 120 districts)']} times side by "
             "side (`shapes.himachal_times`). CPU seconds, medians over "
             f"{runs} fresh interpreters: `run_experiment` writing tables and records "
             "without plots, then `plot_results` on its folder (every figure, SVG, as "
             "`hubsim run` writes them). *As `make run`*: a fresh interpreter split where "
             "the run turns to its plots; the run from the interpreter's start (importing "
             "the simulator, pandas and scipy, the scenario, the replications, the tables), "
             "the plots from there (importing matplotlib, its fonts, the figures). *Warm*: "
             "a second run and its plots in the same interpreter, only the work that "
             "repeats.", "",
             "| network | way | requests per replication | simulation CPU s | plots CPU s | "
             "files | plots / simulation: median (each run) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    targets = []
    ways = {"as `make run`": False, "warm": True}
    for name, k in cases.items():
        # the two ways alternate, so that load on the machine falls on both alike
        each: dict[str, list[dict[str, float]]] = {way: [] for way in ways}
        for _ in range(runs):
            for way, warm in ways.items():
                each[way].append(measure(k, days, reps, warm))
        for way, got in each.items():
            sim = statistics.median(g["sim"] for g in got)
            plots = statistics.median(g["plots"] for g in got)
            ratios = sorted(g["plots"] / g["sim"] for g in got)  # each run's own pair
            over = sum(r > 1 for r in ratios)
            log(f"plots, {name}, {way}: simulation {sim:.2f} s, plots {plots:.2f} s")
            lines.append(f"| {name} | {way} | {got[0]['requests']:,} | {sim:.2f} | "
                         f"{plots:.2f} | {got[0]['files']} | {statistics.median(ratios):.2f} "
                         "(" + ", ".join(f"{r:.2f}" for r in ratios) + ") |")
            targets.append((f"plots <= simulation, {name}, {way}", "hubsim",
                            f"{statistics.median(ratios):.2f}x (most {ratios[-1]:.2f}x)",
                            "met" if not over else f"not met in {over} of {len(ratios)} runs"))
    return "\n".join(lines), targets


if __name__ == "__main__":
    text, found = plot_section("--quick" in sys.argv, 3, lambda m: print(m, file=sys.stderr))
    print(text)
    print(*found, sep="\n")
