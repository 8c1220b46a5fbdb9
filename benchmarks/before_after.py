"""The engine and metrics of an earlier commit beside the current ones, in one run.

    .venv/bin/python -m benchmarks.before_after --before e39436c   # a few minutes

Loads ``sim/engine/model.py`` and ``sim/analysis/metrics.py`` as they were at ``--before``
(``git show``; every other module is today's, so ``--before`` must be a commit of this
layout, e39436c or later, whose engine is that one file) and times the full path
(scenario -> engine -> records -> ``summary_rows``) of both, interleaved with the
idiomatic-SimPy reference, on shape 1 (M/M/10, 200,000 customers), shape 2 (30 M/M/c
queues, 500,000) and the loaded Himachal year; then measures the loaded Himachal's peak
memory under ``tracemalloc``. The records and summaries of both versions are checked to
be equal (summary values to rtol 1e-12, which absorbs summation order only). Prints a
markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from benchmarks import shapes
from benchmarks.run import (
    ROOT,
    measure,
    peak_memory,
    records_bytes,
    same_records,
    shape1_queues,
    shape2_queues,
    simpy_path,
)
from sim.analysis import metrics as metrics_now
from sim.engine import model as model_now
from sim.scenario.schema import Scenario


def module_at(commit: str, path: str, name: str, tmp: Path) -> ModuleType:
    """The module at ``path`` as it was at ``commit``, loaded under the name ``name``."""
    text = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=30).stdout
    file = tmp / f"{name}.py"
    file.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(mod)
    return mod


def full_path(scenario: Scenario, model: ModuleType, metrics: ModuleType,
              seed: int = 1) -> tuple[int, dict[str, Any]]:
    """Scenario -> engine -> records -> summary with the given engine and metrics modules."""
    result = model.Model(scenario, seed).run()
    rows = metrics.summary_rows(result)
    return len(result.records), {"result": result, "rows": rows}


def same_rows(a: list[dict], b: list[dict], rtol: float = 1e-12) -> bool:
    """Equal summaries: the same (metric, group_by, group) rows, values equal to ``rtol``.

    The tolerance only absorbs summation order (the vectorised metrics add per record
    where the per-group ones summed pairwise); NaN equals NaN.
    """
    def key(r: dict) -> tuple:
        return r["metric"], r["group_by"], r["group"]
    if [key(r) for r in a] != [key(r) for r in b]:
        return False
    va = np.asarray([float(r["value"]) for r in a])
    vb = np.asarray([float(r["value"]) for r in b])
    return bool(np.allclose(va, vb, rtol=rtol, atol=0.0, equal_nan=True))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.before_after",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--before", required=True, help="git commit of the 'before' engine")
    p.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        old_model = module_at(args.before, "sim/engine/model.py", "before_model", Path(tmp))
        old_metrics = module_at(args.before, "sim/analysis/metrics.py", "before_metrics",
                                Path(tmp))

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    loaded = shapes.loaded(shapes.himachal()[0])[0]
    cases: list[tuple[str, Scenario, Callable[[], tuple[int, dict]] | None]] = [
        ("shape 1: M/M/10, rho 0.85", shapes.mm10(200_000),
         partial(simpy_path, *shape1_queues(200_000))),
        ("shape 2: 30 M/M/c, rho 0.8", shapes.network30(500_000),
         partial(simpy_path, *shape2_queues(500_000))),
        ("loaded Himachal year", loaded, None),
    ]
    lines = [f"Before: commit {args.before}; after: the working tree. Median CPU seconds of "
             f"{args.runs} interleaved runs, full path (scenario built once).", "",
             "| shape | version | items | median CPU s | items/s | x SimPy ref | "
             "peak bytes/request | records bytes/request | same records and summary |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for title, sc, ref in cases:
        log(title)
        impls: dict[str, Callable[[], tuple[int, dict]]] = {
            "before": partial(full_path, sc, old_model, old_metrics),
            "after": partial(full_path, sc, model_now, metrics_now)}
        if ref is not None:
            impls["simpy-ref"] = ref
        got = measure(impls, args.runs, log)
        rate = {k: n / statistics.median(t) for k, (n, t, _) in got.items()}
        a, b = got["before"][2][-1], got["after"][2][-1]
        same = same_records(a["result"], b["result"]) and same_rows(a["rows"], b["rows"])
        for k in impls:
            n, times, _ = got[k]
            x = f"{rate[k] / rate['simpy-ref']:.2f}" if "simpy-ref" in rate else "-"
            peak = rec = "-"
            if ref is None:
                mod = (old_model, old_metrics) if k == "before" else (model_now, metrics_now)
                peak = f"{peak_memory(partial(full_path, sc, *mod)) / n:.0f}"
                rec = f"{records_bytes(got[k][2][-1]['result'].records) / n:.0f}"
            lines.append(f"| {title} | {k} | {n:,} | {statistics.median(times):.3f} | "
                         f"{rate[k]:,.0f} | {x} | {peak} | {rec} | "
                         f"{('yes' if same else 'NO') if k != 'simpy-ref' else ''} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
