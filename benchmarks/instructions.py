"""Instructions executed by the mechanisms' full path, counted by valgrind (callgrind).

CPU seconds on a shared machine move by tens of per cent from run to run; the number of
machine instructions a run executes does not (0.1% between runs). This counts them for
the variants of the mechanisms benchmark (``benchmarks.run``'s ``mechanisms`` section:
the Himachal year of ``himachal-realism.yaml`` plain, with each mechanism alone, with
all), over the path scenario -> ``Model`` -> run -> ``summary_rows``, each variant in its
own process under ``valgrind --tool=callgrind`` with instrumentation switched on only
around that path (``callgrind_control``), after a ``gc.collect()`` as in
``benchmarks.run``. Needs valgrind; about a minute per variant.

    python -m benchmarks.instructions                 # every variant
    python -m benchmarks.instructions plain booking   # some
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
import sys
import time

from benchmarks import shapes
from sim.analysis.metrics import summary_rows
from sim.engine.model import Model
from sim.scenario.schema import Scenario


def variants() -> dict[str, Scenario]:
    """The mechanisms benchmark's scenarios: plain, each mechanism alone, all."""
    return shapes.mechanism_variants(shapes.realism()[0])


def _child(name: str) -> None:
    """Inside valgrind: run the path once untimed (imports, caches), then counted."""
    sc = variants()[name]
    summary_rows(Model(sc, 2).run())

    def control(switch: str) -> None:
        subprocess.run(["callgrind_control", "-i", switch, str(os.getpid())], check=True,
                       capture_output=True)

    # a clean collector, as benchmarks.run gives each timed run: else the state left by the
    # untimed run decides whether a full collection (tens of ms) lands in the counted path
    gc.collect()
    control("on")
    time.sleep(0.05)  # callgrind takes the command at its next check
    result = Model(sc, 1).run()
    summary_rows(result)
    control("off")
    print(f"requests {len(result.records)}")


def count(name: str) -> tuple[int, int]:
    """(requests, instructions) of variant ``name``'s full path."""
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
         sys.executable, "-m", "benchmarks.instructions", "--child", name],
        capture_output=True, text=True, check=True)
    requests = re.search(r"^requests (\d+)", proc.stdout, re.M)
    collected = re.search(r"Collected : (\d+)", proc.stderr)
    assert requests and collected, proc.stderr[-2000:]
    return int(requests.group(1)), int(collected.group(1))


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        _child(argv[1])
        return
    if shutil.which("valgrind") is None:
        sys.exit("benchmarks.instructions needs valgrind (apt-get install valgrind)")
    names = argv or list(variants())
    if "plain" not in names:
        names = ["plain", *names]
    counted = {}
    for name in names:
        counted[name] = count(name)
        print(f"  {name}: {counted[name][1]:,} instructions", file=sys.stderr, flush=True)
    n0, ir0 = counted["plain"]
    print("| run | requests | instructions (M) | x plain | x plain per request |")
    print("|---|---:|---:|---:|---:|")
    for name, (n, ir) in counted.items():
        print(f"| {name} | {n:,} | {ir / 1e6:,.0f} | {ir / ir0:.2f} | "
              f"{ir / n / (ir0 / n0):.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
