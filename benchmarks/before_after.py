"""The engine and metrics of an earlier commit beside today's, in one run.

    .venv/bin/python -m benchmarks.before_after --before e39436c   # a few minutes

Each side runs in interpreters of its own on a checkout of its own: a ``git worktree`` of
``--before`` in a temporary folder, and this working tree. So whatever the package looked
like then, nothing of today's is mixed into "before"; any commit of this layout (e39436c or
later: ``sim.engine.model.Model``, ``sim.analysis.metrics.summary_rows`` and
``benchmarks.shapes``) can be compared. Each run is a fresh child that builds the scenario
with its side's ``benchmarks.shapes``, runs the full path (scenario -> engine -> records ->
``summary_rows``) once untimed and once timed; runs alternate between the sides and the
idiomatic-SimPy reference, on shape 1 (M/M/10, 200,000 customers), shape 2 (30 M/M/c
queues, 500,000) and the loaded Himachal year, whose peak memory is then measured under
``tracemalloc``. The records (every column both sides have, its values bit for bit) and the
summary rows both sides have (values to rtol 1e-12, which absorbs summation order only)
are checked to be equal; rows only one side has are counted. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.run import ROOT, shape1_queues, shape2_queues, simpy_path

CASES = {
    "shape 1: M/M/10, rho 0.85": ("shapes.mm10(200_000)",
                                  partial(simpy_path, *shape1_queues(200_000))),
    "shape 2: 30 M/M/c, rho 0.8": ("shapes.network30(500_000)",
                                   partial(simpy_path, *shape2_queues(500_000))),
    "loaded Himachal year": ("shapes.loaded(shapes.himachal()[0])[0]", None),
}

CHILD = """
import gc, hashlib, json, sys, time, tracemalloc
import numpy as np
from benchmarks import shapes
from sim.analysis.metrics import summary_rows
from sim.engine.model import Model
sc = {scenario}
summary_rows(Model(sc, 2).run())  # imports and caches, untimed
gc.collect()
t = time.process_time()
result = Model(sc, 1).run()
rows = summary_rows(result)
cpu = time.process_time() - t
rec = result.records
out = {{"n": len(rec), "cpu": cpu, "peak": None,
       "records": {{c: hashlib.sha256(np.ascontiguousarray(getattr(rec, c), dtype=float)
                                     .tobytes()).hexdigest() for c in rec.__dataclass_fields__}},
       "rows": [[r["metric"], r["group_by"], r["group"], float(r["value"])] for r in rows]}}
if {memory}:
    del result, rows, rec
    gc.collect()
    tracemalloc.start()
    summary_rows(Model(sc, 1).run())
    out["peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
print(json.dumps(out))
"""


def child(checkout: Path, scenario: str, memory: bool = False) -> dict[str, Any]:
    """One timed full path of ``scenario`` (an expression over ``shapes``) on ``checkout``."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    proc = subprocess.run([sys.executable, "-c", CHILD.format(scenario=scenario, memory=memory)],
                          cwd=checkout, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        sys.exit(f"the run on {checkout} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def same(a: dict[str, Any], b: dict[str, Any], rtol: float = 1e-12) -> tuple[bool, int]:
    """Whether the records (every column both have, its values bit for bit) and the summary
    rows both have (values to ``rtol``; NaN = NaN) are equal; and how many summary rows
    only one side has (metrics added or dropped between the commits)."""
    common = a["records"].keys() & b["records"].keys()
    if any(a["records"][c] != b["records"][c] for c in common):
        return False, 0
    rows_a, rows_b = ({tuple(r[:3]): r[3] for r in x["rows"]} for x in (a, b))
    keys = sorted(rows_a.keys() & rows_b.keys())
    va = np.array([rows_a[k] for k in keys], dtype=float)
    vb = np.array([rows_b[k] for k in keys], dtype=float)
    equal = bool(np.allclose(va, vb, rtol=rtol, atol=0.0, equal_nan=True))
    return equal, len(rows_a.keys() ^ rows_b.keys())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.before_after",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--before", required=True, help="git commit of the 'before' engine")
    p.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    args = p.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    lines = [f"Before: commit {args.before}; after: the working tree. Median CPU seconds of "
             f"{args.runs} interleaved runs, full path (each in a fresh interpreter, after "
             "one untimed run).", "",
             "| shape | version | items | median CPU s | items/s | x SimPy ref | "
             "peak bytes/request | same records and summary |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(before), args.before],
                       cwd=ROOT, check=True, capture_output=True, timeout=120)
        try:
            sides = {"before": before, "after": ROOT}
            for title, (scenario, ref) in CASES.items():
                log(title)
                got: dict[str, list[dict[str, Any]]] = {k: [] for k in (*sides, "simpy-ref")}
                for i in range(args.runs):
                    for k, checkout in sides.items():
                        got[k].append(child(checkout, scenario))
                        log(f"  {k:6s} run {i + 1}/{args.runs}: {got[k][-1]['cpu']:.3f} s CPU")
                    if ref is not None:
                        got["simpy-ref"].append(_timed(ref))
                equal, apart = same(got["before"][-1], got["after"][-1])
                if apart:
                    notes.append(f"{title}: {apart:,} summary rows on one side only "
                                 "(not compared)")
                rate = {k: v[0]["n"] / statistics.median(r["cpu"] for r in v)
                        for k, v in got.items() if v}
                for k, v in got.items():
                    if not v:
                        continue
                    x = f"{rate[k] / rate['simpy-ref']:.2f}" if "simpy-ref" in rate else "-"
                    peak = "-"
                    if ref is None:
                        peak = f"{child(sides[k], scenario, memory=True)['peak'] / v[0]['n']:.0f}"
                    verdict = ("yes" if equal else "NO") if k != "simpy-ref" else ""
                    lines.append(f"| {title} | {k} | {v[0]['n']:,} | "
                                 f"{statistics.median(r['cpu'] for r in v):.3f} | "
                                 f"{rate[k]:,.0f} | {x} | {peak} | {verdict} |")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT,
                           capture_output=True, timeout=120)
    print("\n".join(lines + ([""] if notes else []) + notes))
    return 0


def _timed(fn: Callable[[], tuple[int, dict]]) -> dict[str, Any]:
    t = time.process_time()
    n, _ = fn()
    return {"n": n, "cpu": time.process_time() - t}


if __name__ == "__main__":
    raise SystemExit(main())
