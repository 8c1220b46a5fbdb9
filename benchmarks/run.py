"""The benchmark suite: one command measures every shape in one run and writes RESULTS.md.

    .venv/bin/python -m benchmarks.run            # full run (several minutes)
    .venv/bin/python -m benchmarks.run --quick    # smoke run with tiny sizes

Every hubsim figure goes through the project's full path: scenario (built through the
schema) -> engine -> records -> metrics (``summary_rows``); ``hubsim`` is
``sim.engine.model.Model`` as shipped (``sim.simulate`` is ``Model(...).run()``), timed
beside an idiomatic SimPy model of the same queues. The mechanisms section runs one
scenario plain, with each optional mechanism alone and with all of them. Times are CPU
seconds of this process
(``time.process_time``: one core, not slowed by other work on the machine the way wall
time is), medians over ``--runs`` runs, interleaved; ratios come from the same run.
Peak memory is measured in a separate pass under ``tracemalloc`` (Python and numpy
allocations), except for the national scenario, which runs in a child process and reports
its peak resident set size.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from benchmarks import reference_simpy as ref
from benchmarks import shapes
from sim.analysis.metrics import lookup, summary_rows
from sim.engine.loop import Engine
from sim.engine.model import Model
from sim.engine.records import COLUMNS
from sim.scenario.loader import apply_overrides
from sim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"

@dataclass(frozen=True)
class Sizes:
    """How big each measurement is."""

    shape1: int
    shape2: int
    him_days: int
    scaling: tuple[int, ...]
    national: tuple[int, int]  # requests per day, days


FULL = Sizes(shape1=200_000, shape2=500_000, him_days=365,
             scaling=(10_000, 100_000, 1_000_000), national=(500_000, 30))
QUICK = Sizes(shape1=3_000, shape2=5_000, him_days=14, scaling=(1_000, 3_000),
              national=(2_000, 2))
ENGINES: dict[str, type[Model]] = {"hubsim": Model}
SECTIONS = ("shape1", "shape2", "himachal", "mechanisms", "scaling", "national", "profile",
            "plots", "formats")


@dataclass
class Row:
    """One line of a results table."""

    shape: str
    impl: str
    n: int
    times: list[float]
    peak: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def rate(self) -> float:
        return self.n / self.median


# --- the implementations under test -------------------------------------------------------


def hubsim_path(scenario: Callable[[], Scenario], engine: type[Model],
                seed: int = 1) -> tuple[int, dict[str, Any]]:
    """Build the scenario, run it, compute the tidy summary; return size and stage times."""
    clock = time.process_time
    t0 = clock()
    sc = scenario()
    t1 = clock()
    model = engine(sc, seed)
    t2 = clock()
    result = model.run()
    del model  # as in sim.simulate: the arrivals' own columns go with the model
    t3 = clock()
    rows = summary_rows(result)
    t4 = clock()
    return len(result.records), {"scenario": t1 - t0, "build": t2 - t1, "run": t3 - t2,
                                 "metrics": t4 - t3, "result": result, "rows": rows}


def simpy_events(scenario: Scenario, seed: int = 1) -> int:
    """How many events one run of ``scenario`` processes (an untimed, counted run).

    SimPy's events, and the calls the mechanisms make for later (``Engine.at``: slots,
    retries, escalations, follow-up arrivals), which are not SimPy events.
    """
    count = 0
    step, run = simpy.Environment.step, Engine.run

    def counted(env: simpy.Environment) -> None:
        nonlocal count
        count += 1
        step(env)

    def counted_run(eng: Engine) -> None:
        nonlocal count
        run(eng)
        count += eng.calls_made

    simpy.Environment.step = counted  # type: ignore[method-assign]
    Engine.run = counted_run  # type: ignore[method-assign]
    try:
        Model(scenario, seed).run()
    finally:
        simpy.Environment.step = step  # type: ignore[method-assign]
        Engine.run = run  # type: ignore[method-assign]
    return count


def _same(scenario: Scenario) -> Scenario:
    return scenario


def simpy_path(queues: list[ref.Queue], horizon: float, seed: int = 1) -> tuple[int, dict]:
    """The idiomatic-SimPy reference of the same queues, with its mean wait."""
    waits = ref.simulate(queues, horizon, seed)
    ref.mean_wait(waits)
    return len(waits), {}


def ciw_path(queues: list[ref.Queue], horizon: float, seed: int = 1) -> tuple[int, dict]:
    """Ciw on the same independent M/M/c queues (one node each, no routing)."""
    import ciw

    k = len(queues)
    net = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(q.rate) for q in queues],
        service_distributions=[ciw.dists.Exponential(1.0 / q.mean_service) for q in queues],
        number_of_servers=[q.servers for q in queues],
        routing=[[0.0] * k for _ in range(k)],
    )
    ciw.seed(seed)  # Ciw's own global generator: for the record only
    sim = ciw.Simulation(net)
    sim.simulate_until_max_time(horizon)
    recs = sim.get_all_records()
    return len(recs), {}


def shape1_queues(n: int, days: int = 100) -> tuple[list[ref.Queue], float]:
    lam = n / (days * shapes.DAY)
    return [ref.Queue(10, lam, 0.85 * 10 / lam)], days * shapes.DAY


def shape2_queues(n: int, days: int = 30) -> tuple[list[ref.Queue], float]:
    sc = shapes.network30(n, days=days)
    c = shapes.shape2_servers()
    mean = next(iter(sc.specialties.values())).consult.mean
    queues = [ref.Queue(ci, 0.8 * ci / mean, mean) for row in c for ci in row]
    return queues, days * shapes.DAY


# --- measurement ----------------------------------------------------------------------------


def measure(impls: Mapping[str, Callable[[], tuple[int, dict]]], runs: int,
            log: Callable[[str], None]) -> dict[str, tuple[int, list[float], list[dict]]]:
    """Time each implementation ``runs`` times, interleaved; keep sizes and stage times.

    The times are CPU seconds; each run's wall seconds are kept in its info as ``wall``.
    """
    out: dict[str, tuple[int, list[float], list[dict]]] = {k: (0, [], []) for k in impls}
    for i in range(runs):
        for name, fn in impls.items():
            gc.collect()
            t, w = time.process_time(), time.perf_counter()
            n, info = fn()
            dt = time.process_time() - t
            info["wall"] = time.perf_counter() - w
            _, times, infos = out[name]
            times.append(dt)
            infos.append(info if i == runs - 1 else {k: v for k, v in info.items()
                                                     if isinstance(v, float)})
            out[name] = (n, times, infos)
            log(f"  {name:10s} run {i + 1}/{runs}: {n:,} in {dt:.3f} s CPU "
                f"({info['wall']:.3f} s wall)")
    return out


def peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated (Python objects and numpy buffers) while ``fn`` runs."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def same_records(a: Any, b: Any) -> bool:
    """Whether two runs produced identical records, column by column (NaN equal to NaN)."""
    ra, rb = a.records, b.records
    return all(np.array_equal(getattr(ra, c), getattr(rb, c), equal_nan=True) for c in COLUMNS)


def records_bytes(records: Any) -> int:
    """Memory the record columns really hold: a zero-stride view costs one item, and a
    column that shares another's buffer (e.g. ``queued`` = ``arrival``) is counted once."""
    seen: list[np.ndarray] = []
    total = 0
    for c in records.__dataclass_fields__:
        col = getattr(records, c)
        if any(np.may_share_memory(col, s) for s in seen):
            continue
        seen.append(col)
        total += col.itemsize if col.ndim == 1 and col.strides[0] == 0 else col.nbytes
    return total


def stage_medians(infos: list[dict]) -> dict[str, float]:
    keys = ("scenario", "build", "run", "metrics")
    return {k: statistics.median(i[k] for i in infos) for k in keys if k in infos[0]}


# --- the shapes -----------------------------------------------------------------------------


class Suite:
    """One run of the suite: measures, collects rows, renders the tables."""

    def __init__(self, quick: bool, runs: int, ciw: bool, national: bool, profile: bool,
                 log: Callable[[str], None]):
        self.size = QUICK if quick else FULL
        self.quick, self.runs, self.use_ciw = quick, runs, ciw
        self.do_national, self.do_profile = national, profile
        self.log = log
        self.sections: list[str] = []
        self.targets: list[tuple[str, str, str, str]] = []
        self.formats_fraction = 1.0

    def queue_shape(self, key: str, title: str, build: Callable[[int], Scenario],
                    queues: tuple[list[ref.Queue], float]) -> dict[str, Row]:
        n = getattr(self.size, key)
        self.log(f"{title}: {n:,} customers")
        impls: dict[str, Callable[[], tuple[int, dict]]] = {
            name: partial(hubsim_path, partial(build, n), e) for name, e in ENGINES.items()}
        impls["simpy-ref"] = lambda: simpy_path(*queues)
        if self.use_ciw:
            impls["ciw"] = lambda: ciw_path(*queues)
        got = measure(impls, self.runs, self.log)
        rows = {k: Row(title, k, n_, t, extra={"stages": stage_medians(i) if k in ENGINES
                                                  else {}})
                for k, (n_, t, i) in got.items()}
        for k in ("hubsim", "simpy-ref"):
            rows[k].peak = peak_memory(impls[k])
        util = lookup(got["hubsim"][2][-1]["rows"], "utilisation")
        base = rows["simpy-ref"].rate
        lines = [f"### {title}", "",
                 f"Utilisation measured by hubsim: {util:.3f}.", "",
                 "| implementation | customers | median CPU s | customers/s | x SimPy ref | "
                 "median wall s | peak MB | bytes/customer | runs |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for k, r in rows.items():
            peak = f"{r.peak / 1e6:.1f}" if r.peak else "-"
            per = f"{r.peak / r.n:.0f}" if r.peak else "-"
            wall = statistics.median(i["wall"] for i in got[k][2])
            lines.append(f"| {k} | {r.n:,} | {r.median:.3f} | {r.rate:,.0f} | "
                         f"{r.rate / base:.2f} | {wall:.3f} | {peak} | {per} | {len(r.times)} |")
        lines += ["", self.stage_table(rows)]
        self.sections.append("\n".join(lines))
        for k in ENGINES:
            self.targets.append((f"{title}: >= 3.5x idiomatic SimPy", k,
                                 f"{rows[k].rate / base:.2f}x",
                                 "met" if rows[k].rate / base >= 3.5 else "not met"))
        return rows

    @staticmethod
    def stage_table(rows: dict[str, Row]) -> str:
        lines = ["Where the time goes (median CPU seconds per stage):", "",
                 "| engine | scenario | arrivals + rosters | engine run | metrics |",
                 "|---|---:|---:|---:|---:|"]
        for k, r in rows.items():
            st = r.extra.get("stages")
            if st:
                lines.append(f"| {k} | {st['scenario']:.3f} | {st['build']:.3f} | "
                             f"{st['run']:.3f} | {st['metrics']:.3f} |")
        return "\n".join(lines)

    def himachal(self) -> None:
        base, source = shapes.himachal()
        if self.quick:
            base = apply_overrides(base, {"calendar.horizon_days": self.size.him_days,
                                          "calendar.warmup_days": 0.0, "calendar.holidays": []})
        grown, growth = shapes.loaded(base)
        loads = shapes.hub_loads(grown)
        days = base.calendar.horizon_days
        span = "one simulated year" if days == 365 else f"{days} days"
        lines = [f"### Shape 3: Himachal, {span}", "",
                 f"Scenario: {source}, horizon {base.calendar.horizon_days} days. The loaded "
                 f"version applies `demand.growth = {growth:.3f}` (sim.loader.apply_overrides), "
                 f"which puts the busiest hub at an offered load of 0.85 (hubs: "
                 + ", ".join(f"{h} {v:.2f}" for h, v in loads.items()) + ").", "",
                 "| scenario | engine | requests | median CPU s | requests/s | peak MB | "
                 "peak bytes/request | records bytes/request | utilisation |",
                 "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for label, sc in (("baseline", base), ("loaded (rho 0.85)", grown)):
            self.log(f"Himachal {label}")
            impls = {name: partial(hubsim_path, partial(_same, sc), e)
                     for name, e in ENGINES.items()}
            got = measure(impls, self.runs, self.log)
            a = got["hubsim"][2][-1]
            util = lookup(a["rows"], "utilisation")
            for name in ENGINES:
                n, times, infos = got[name]
                rec_bytes = records_bytes(infos[-1]["result"].records)
                peak = peak_memory(impls[name])
                med = statistics.median(times)
                lines.append(f"| {label} | {name} | {n:,} | {med:.3f} | {n / med:,.0f} | "
                             f"{peak / 1e6:.1f} | {peak / n:.0f} | {rec_bytes / n:.0f} | "
                             f"{util:.3f} |")
                if label.startswith("loaded"):
                    self.targets.append(("loaded Himachal: >= 150,000 requests/s", name,
                                         f"{n / med:,.0f}/s",
                                         "met" if n / med >= 150_000 else "not met"))
                    self.targets.append(("loaded Himachal: <= 100 bytes per recorded request "
                                         "(the records)", name, f"{rec_bytes / n:.0f} B",
                                         "met" if rec_bytes / n <= 100 else "not met"))
                    self.targets.append(("loaded Himachal: <= 100 bytes per request (peak of "
                                         "the whole path)", name, f"{peak / n:.0f} B",
                                         "met" if peak / n <= 100 else "not met"))
        lines += ["", "Peak bytes/request: tracemalloc peak over the whole path (arrivals, "
                  "engine, records, metrics) divided by requests; records bytes/request: the "
                  "returned record columns alone."]
        self.sections.append("\n".join(lines))

    def mechanisms(self) -> None:
        """Himachal plain, with each optional mechanism of himachal-realism alone, and all."""
        full, source = shapes.realism()
        if self.quick:
            full = apply_overrides(full, {"calendar.horizon_days": self.size.him_days,
                                          "calendar.warmup_days": 0.0, "calendar.holidays": []})
        variants = {k if k in ("plain", "all") else f"+ {k}": sc
                    for k, sc in shapes.mechanism_variants(full).items()}
        self.log("mechanisms: " + ", ".join(variants))
        impls = {k: partial(hubsim_path, partial(_same, sc), Model) for k, sc in variants.items()}
        got = measure(impls, self.runs, self.log)
        events = {k: simpy_events(sc) for k, sc in variants.items()}
        base_t = statistics.median(got["plain"][1])
        base_us = base_t / got["plain"][0] * 1e6
        base_ev = base_t / events["plain"] * 1e6
        lines = [f"### Mechanisms: {source}, {full.calendar.horizon_days} days", "",
                 "The same scenario without any mechanism (plain), with each one alone, and "
                 "with all (the scenario as written). Requests include follow-ups; `x plain` "
                 "is the CPU time of the full path over the plain one's, per run and per "
                 "request. Events are the SimPy events the run processes (consults, MO "
                 "consults, failed calls, roster changes) and the calls mechanisms make for "
                 "later (slots, retries, escalations, follow-up arrivals), counted in a "
                 "separate, untimed run: the work "
                 "a mechanism adds to the model, against which `x plain per event` sets its "
                 "cost.", "",
                 "| run | requests | median CPU s | x plain | us/request | x plain per request "
                 "| events/request | x plain per event |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for k, (n, times, _) in got.items():
            med = statistics.median(times)
            us = med / n * 1e6
            per_ev = med / events[k] * 1e6
            lines.append(f"| {k} | {n:,} | {med:.3f} | {med / base_t:.2f} | {us:.2f} | "
                         f"{us / base_us:.2f} | {events[k] / n:.2f} | {per_ev / base_ev:.2f} |")
            if k.startswith("+ "):
                self.targets.append((f"one mechanism ({k[2:]}): <= 1.25x plain per request",
                                     "hubsim", f"{us / base_us:.2f}x",
                                     "met" if us / base_us <= 1.25 else "not met"))
        self.sections.append("\n".join(lines))

    def scaling(self) -> None:
        """Cost per request at each size, sizes and engines interleaved within each run.

        A small size repeats the whole path (fresh scenario, model and metrics each time)
        until it has done as many requests as the largest size's tenth, so that every
        figure is a CPU time of a fair length; a machine that slows down part-way through
        then slows every size alike instead of the one measured at that moment.
        """
        sizes = self.size.scaling
        lines = ["### Shape 4: scaling (the 30-queue network of shape 2 over 30 days)", "",
                 "Sizes and engines interleaved in each run (at least 5 runs); a small size "
                 "repeats the whole path (scenario -> engine -> records -> metrics) `repeats` "
                 "times per run.", "",
                 "| requests | engine | repeats | median CPU s per path | us/request | "
                 "us/request, each run (low-high) | vs smallest | engine run us/request | "
                 "fixed-size stages us/request |",
                 "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        repeats = {n: max(1, max(sizes) // (10 * n)) for n in sizes}

        def repeated(n: int, engine: type[Model]) -> tuple[int, dict[str, Any]]:
            stages = ("scenario", "build", "run", "metrics")
            total = dict.fromkeys(stages, 0.0)
            for _ in range(repeats[n]):  # each path's results dropped before the next
                m, info = hubsim_path(partial(shapes.network30, n), engine)
                for k in stages:
                    total[k] += info[k]
            info |= {k: v / repeats[n] for k, v in total.items()}
            return m * repeats[n], info

        self.log(f"scaling {', '.join(f'{n:,}' for n in sizes)} (interleaved)")
        impls = {f"{name}@{n}": partial(repeated, n, e)
                 for n in sizes for name, e in ENGINES.items()}
        got = measure(impls, max(self.runs, 5), self.log)
        cost: dict[str, list[float]] = {k: [] for k in ENGINES}
        for n in sizes:
            for name in ENGINES:
                m, times, infos = got[f"{name}@{n}"]
                us = statistics.median(times) / m * 1e6
                st = stage_medians(infos)
                per = m // repeats[n]
                run_us = st["run"] / per * 1e6
                rest_us = (st["scenario"] + st["build"] + st["metrics"]) / per * 1e6
                cost[name].append(us)
                lo, hi = min(times) / m * 1e6, max(times) / m * 1e6
                lines.append(f"| {per:,} | {name} | {repeats[n]} | "
                             f"{statistics.median(times) / repeats[n]:.3f} | {us:.2f} | "
                             f"{lo:.2f}-{hi:.2f} | {us / cost[name][0]:.2f} | {run_us:.2f} | "
                             f"{rest_us:.2f} |")
        self.sections.append("\n".join(lines))

    def national(self) -> None:
        per_day, days = self.size.national
        lines = [f"### National size: {per_day:,} requests a day for {days} days", "",
                 "One replication per engine, each in a fresh child process; peak RSS is the "
                 "child's maximum resident set size (whole process).", "",
                 "| engine | requests | scenario+arrivals s | run s | metrics s | total s | "
                 "peak RSS MB |", "|---|---:|---:|---:|---:|---:|---:|"]
        for name in ENGINES:
            self.log(f"national, {name} (child process)")
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.run", "--child-national", name,
                 "--national-size", str(per_day), str(days)],
                cwd=ROOT, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                lines.append(f"| {name} | failed: {proc.stderr.strip().splitlines()[-1:]} |")
                continue
            d = json.loads(proc.stdout.strip().splitlines()[-1])
            total = d["scenario"] + d["build"] + d["run"] + d["metrics"]
            lines.append(f"| {name} | {d['n']:,} | {d['scenario'] + d['build']:.1f} | "
                         f"{d['run']:.1f} | {d['metrics']:.1f} | {total:.1f} | "
                         f"{d['maxrss'] / 1e6:,.0f} |")
            self.targets.append(("national: one replication < 120 s", name, f"{total:.0f} s",
                                 "met" if total < 120 else "not met"))
            self.targets.append(("national: < 4 GB", name, f"{d['maxrss'] / 1e9:.2f} GB",
                                 "met" if d["maxrss"] < 4e9 else "not met"))
        self.sections.append("\n".join(lines))

    def profile(self) -> None:
        n = self.size.shape2
        h, _ = shapes.himachal()
        if self.quick:
            h = apply_overrides(h, {"calendar.horizon_days": self.size.him_days,
                                    "calendar.warmup_days": 0.0, "calendar.holidays": []})
        grown, _ = shapes.loaded(h)
        lines = ["### Profile of the shipped engine (cProfile, internal time)", ""]
        for label, build in ((f"shape 2 ({n:,} customers)", lambda: shapes.network30(n)),
                             ("loaded Himachal", lambda: grown)):
            self.log(f"profile {label}")
            prof = cProfile.Profile()
            prof.enable()
            hubsim_path(build, Model)
            prof.disable()
            buf = io.StringIO()
            st = pstats.Stats(prof, stream=buf)
            total = sum(v[2] for v in st.stats.values())  # type: ignore[attr-defined]
            items = sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:12]  # type: ignore
            lines += [f"{label}: {total:.2f} s under the profiler", "",
                      "| function | calls | internal s | share |", "|---|---:|---:|---:|"]
            for (file, line, fn), (_, nc, tt, _, _) in items:
                where = f"{Path(file).name}:{line}({fn})" if line else fn
                lines.append(f"| `{where}` | {nc:,} | {tt:.3f} | {tt / total:.0%} |")
            lines.append("")
        self.sections.append("\n".join(lines))

    def formats(self) -> None:
        """A national-size run's records written and read back: CSV.gz against Parquet."""
        per_day, days = self.size.national
        days = max(1, round(days * self.formats_fraction))
        self.log(f"formats: {per_day:,} a day for {days} days (child process)")
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.run", "--child-formats",
             "--national-size", str(per_day), str(days)],
            cwd=ROOT, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            self.sections.append("### Records as CSV.gz and Parquet\n\nfailed: "
                                 + " ".join(proc.stderr.strip().splitlines()[-1:]))
            return
        d = json.loads(proc.stdout.strip().splitlines()[-1])
        share = "" if days == self.size.national[1] else (
            f" (a stated fraction, {days} of {self.size.national[1]} days)")
        lines = [f"### Records as CSV.gz and Parquet: {d['n']:,} requests{share}", "",
                 "One national-size run (`benchmarks.shapes.national`) in a child process, its "
                 "records written by `sim.results.output.write_records` (CSV.gz, the default "
                 "file) and `sim.results.columnar.write_records` (Parquet, zstd), then read "
                 "back whole and as the plots' six columns (`sim.present.plots.PLOT_COLUMNS`). "
                 "Wall seconds (the CSV writer compresses on a second thread), CPU seconds of "
                 "the process, file size; the read-backs are checked against the records.", "",
                 "| format | write wall s | write CPU s | MB | bytes / request | read all wall s "
                 "| read all CPU s | read 6 columns wall s | read 6 columns CPU s |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for fmt in ("csv.gz", "parquet"):
            f = d[fmt]
            lines.append(f"| {fmt} | {f['write_wall']:.1f} | {f['write_cpu']:.1f} | "
                         f"{f['bytes'] / 1e6:,.0f} | {f['bytes'] / d['n']:.1f} | "
                         f"{f['read_wall']:.1f} | {f['read_cpu']:.1f} | {f['read6_wall']:.1f} "
                         f"| {f['read6_cpu']:.1f} |")
        c, q = d["csv.gz"], d["parquet"]
        lines += ["", "Parquet / CSV.gz (below 1: Parquet is faster or smaller): write "
                  f"{q['write_wall'] / c['write_wall']:.2f}, bytes {q['bytes'] / c['bytes']:.2f}, "
                  f"read whole {q['read_wall'] / c['read_wall']:.2f}, six columns "
                  f"{q['read6_wall'] / c['read6_wall']:.2f}; read-backs equal the records: "
                  f"{d['equal']}."]
        self.targets.append(("formats: Parquet and CSV.gz read back the records", "hubsim",
                             str(d["equal"]), "met" if d["equal"] else "not met"))
        self.sections.append("\n".join(lines))

    def run(self, only: Iterable[str] = SECTIONS) -> None:
        """Measure the sections named in ``only`` (all of them by default), in suite order."""
        only = set(only)
        if "shape1" in only:
            self.queue_shape("shape1", "Shape 1: M/M/10 at rho 0.85", shapes.mm10,
                             shape1_queues(self.size.shape1))
        if "shape2" in only:
            self.queue_shape(
                "shape2", "Shape 2: 30 independent M/M/c (3 hubs x 10 specialties, 112 "
                "doctors, c 2-6, rho 0.8)", shapes.network30, shape2_queues(self.size.shape2))
        if "himachal" in only:
            self.himachal()
        if "mechanisms" in only:
            self.mechanisms()
        if "scaling" in only:
            self.scaling()
        if self.do_national and "national" in only:
            self.national()
        if self.do_profile and "profile" in only:
            self.profile()
        if "plots" in only:
            self.plots()
        if self.do_national and "formats" in only:
            self.formats()

    def plots(self) -> None:
        """Plot cost against simulation cost (``benchmarks.plots``, its own section)."""
        from benchmarks.plots import plot_section

        text, targets = plot_section(self.quick, self.runs, self.log)
        self.sections.append(text)
        self.targets += targets

    def render(self, command: str, started: str, seconds: float, loads: tuple) -> str:
        targets = ["## Targets (issues 6, 12 and 16)", "", "| target | engine | measured | |",
                   "|---|---|---:|---|"]
        targets += [f"| {t} | {e} | {m} | {ok} |" for t, e, m, ok in self.targets]
        return "\n\n".join([
            "# Benchmark results",
            f"Written by `{command}` on {started} UTC in {seconds:.0f} s. "
            "Medians over the runs shown; ratios from this same run. `hubsim` is the "
            "shipped engine (`sim.engine.model`, SimPy drives time) on the full path "
            "scenario -> engine -> records -> `summary_rows`.",
            "## Machine", machine(loads), "\n".join(targets), *self.sections]) + "\n"


def machine(loads: tuple) -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        mem_gb = f"{int(mem) / 1024**2:.1f} GiB"
    except (OSError, StopIteration):
        mem_gb = "unknown"
    try:
        from importlib.metadata import version

        ciw_v = version("ciw")
    except Exception:  # noqa: BLE001 - optional
        ciw_v = "not installed"
    return "\n".join([
        f"- code: {source_state()}",
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; memory {mem_gb}",
        f"- {platform.system()} {platform.release()}; Python {platform.python_version()}; "
        f"numpy {np.__version__}; SimPy {simpy.__version__}; Ciw {ciw_v}",
        f"- load average at start / end: {loads[0]:.2f} / {loads[1]:.2f} (other work on the "
        "machine slows every implementation alike; the ratios are the robust figures)",
    ])


def source_state() -> str:
    """The commit measured, and whether ``sim/`` or ``benchmarks/`` had uncommitted edits."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True, timeout=30).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").strip()
        dirty = git("status", "--porcelain", "--", "sim", "benchmarks/reference_simpy.py",
                    "benchmarks/shapes.py")
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return f"commit {commit}" + (" with uncommitted edits to " + ", ".join(
        sorted({ln[3:] for ln in dirty.splitlines() if ln})) if dirty.strip() else " (clean)")


def child_national(engine: str, per_day: int, days: int) -> None:
    """Run the national scenario once in this process and print its figures as JSON."""
    import resource

    t0 = time.perf_counter()
    n, info = hubsim_path(lambda: shapes.national(days, per_day), ENGINES[engine])
    del info["result"], info["rows"]
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"n": n, "maxrss": maxrss, "total": time.perf_counter() - t0, **info}))


def child_formats(per_day: int, days: int) -> None:
    """Write and read back a national run's records as CSV.gz and Parquet; JSON figures."""
    import shutil
    import tempfile

    from sim.engine.model import simulate
    from sim.present.plots import PLOT_COLUMNS
    from sim.results import columnar
    from sim.results.output import read_records, write_records

    result = simulate(shapes.national(days, per_day))
    rec = result.records
    folder = Path(tempfile.mkdtemp(prefix="hubsim-formats-"))
    out: dict[str, Any] = {"n": len(rec)}
    equal = True
    try:
        for fmt in ("csv.gz", "parquet"):
            path = (folder / "records.csv.gz" if fmt == "csv.gz"
                    else columnar.records_path(folder, "national", 0))
            write = (partial(write_records, path, result) if fmt == "csv.gz"
                     else partial(columnar.write_records, folder, "national", 0, result))
            read = partial(read_records if fmt == "csv.gz" else columnar.read_records, path)
            gc.collect()
            w0, c0 = time.perf_counter(), time.process_time()
            write()
            f: dict[str, float] = {"write_wall": time.perf_counter() - w0,
                                   "write_cpu": time.process_time() - c0,
                                   "bytes": path.stat().st_size}
            gc.collect()
            w0, c0 = time.perf_counter(), time.process_time()
            back = read()
            f["read_wall"], f["read_cpu"] = time.perf_counter() - w0, time.process_time() - c0
            tol = 1e-4 if fmt == "csv.gz" else 0.0  # CSV keeps 4 decimals of a minute
            for c in ("id", "arrival", "start", "end", "outcome"):
                a, b = back[c], getattr(rec, c)
                if c == "outcome":
                    equal &= bool(np.array_equal(a, result.decoded()["outcome"]))
                else:
                    equal &= bool(np.allclose(a, b, rtol=0, atol=tol, equal_nan=True))
            del back
            gc.collect()
            w0, c0 = time.perf_counter(), time.process_time()
            read(PLOT_COLUMNS)
            f["read6_wall"], f["read6_cpu"] = time.perf_counter() - w0, time.process_time() - c0
            out[fmt] = f
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out["equal"] = equal
    print(json.dumps(out))


STAFFING_BEGIN, STAFFING_END = "<!-- staffing: begin -->", "<!-- staffing: end -->"


def staffing_benchmark(jobs: int = 2) -> str:
    """``hubsim staff`` on the Himachal baseline: wall and CPU time, hours, verification.

    Returns a RESULTS.md section (target: under 2 minutes on 2 cores, issue 13).
    """
    from sim.scenario.loader import load_scenario
    from sim.staffing import staff

    scenario = load_scenario(ROOT / "scenarios" / "himachal-baseline.yaml")
    code = source_state()  # before the run: the code that is measured
    load0 = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    children0 = os.times().children_user + os.times().children_system
    res = staff(scenario, jobs=jobs)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu + (os.times().children_user + os.times().children_system
                                       - children0)
    now, planned = res.hours()
    met = sum(j.met for j in res.verification)
    state = "met" if wall < 120 else "NOT met"
    return "\n".join([
        STAFFING_BEGIN, "## Staffing (issue 13): `hubsim staff` on the Himachal baseline", "",
        f"Measured {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC at "
        f"{code}, `--jobs {jobs}`, load average {load0:.1f} / "
        f"{os.getloadavg()[0]:.1f} at start / end (`python -m benchmarks.run --staffing`).", "",
        "| figure | value |", "|---|---:|",
        f"| wall time (target < 120 s on 2 cores) | {wall:.0f} s ({state}) |",
        f"| CPU time, this process and its workers | {cpu:.0f} s |",
        f"| simulation runs (search, confirmation, verification) | {res.runs:,} |",
        f"| search rounds | {res.search.rounds} |",
        f"| doctor-hours a week: roster / plan | {now:,.1f} / {planned:,.1f} |",
        f"| verification rows met (of standard x pool rows) | {met} / {len(res.verification)} |",
        STAFFING_END, ""])


def _keep_staffing(text: str, out: Path) -> str:
    """A full run rewrites RESULTS.md; the staffing section of the old file is kept."""
    if not out.exists():
        return text
    old = out.read_text(encoding="utf-8")
    if STAFFING_BEGIN in old and STAFFING_END in old:
        block = old[old.index(STAFFING_BEGIN):old.index(STAFFING_END) + len(STAFFING_END)]
        return text.rstrip("\n") + "\n\n" + block + "\n"
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split(
        "\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, one run: a smoke test")
    p.add_argument("--runs", type=int, default=None, help="runs per figure (default 3, "
                   "1 with --quick)")
    p.add_argument("--out", type=Path, default=None,
                   help=f"where to write the results (default {RESULTS.relative_to(ROOT)}; "
                   "--quick writes nothing unless given)")
    p.add_argument("--no-ciw", action="store_true", help="skip Ciw even if installed")
    p.add_argument("--no-national", action="store_true", help="skip the national scenario")
    p.add_argument("--no-profile", action="store_true", help="skip the cProfile tables")
    p.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                   metavar="SECTION", help="measure only these sections (of: "
                   f"{', '.join(SECTIONS)}); writes nothing unless --out is given")
    p.add_argument("--formats-fraction", type=float, default=1.0, metavar="F",
                   help="formats section: run this fraction of the national days (default 1)")
    p.add_argument("--staffing", action="store_true",
                   help="only time hubsim staff on the Himachal baseline (2 jobs) and put its "
                   "section into RESULTS.md (or --out)")
    p.add_argument("--child-national", choices=sorted(ENGINES), help=argparse.SUPPRESS)
    p.add_argument("--child-formats", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--national-size", type=int, nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_national:
        child_national(args.child_national, *args.national_size)
        return 0
    if args.child_formats:
        child_formats(*args.national_size)
        return 0
    if args.staffing:
        section = staffing_benchmark()
        print(section)
        target = args.out if args.out is not None else RESULTS
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        if STAFFING_BEGIN in old:
            old = old[:old.index(STAFFING_BEGIN)] + old[old.index(STAFFING_END)
                                                         + len(STAFFING_END):].lstrip("\n")
        target.write_text(old.rstrip("\n") + "\n\n" + section, encoding="utf-8")
        return 0
    runs = args.runs or (1 if args.quick else 3)
    if runs < 1:
        p.error("--runs must be at least 1")
    try:
        import ciw  # noqa: F401

        has_ciw = not args.no_ciw
    except ImportError:
        has_ciw = False

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    suite = Suite(args.quick, runs, has_ciw, not args.no_national, not args.no_profile, log)
    suite.formats_fraction = args.formats_fraction
    suite.run(args.only)
    seconds = time.perf_counter() - t
    command = "python -m benchmarks.run" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    text = suite.render(command, started, seconds, (load0, os.getloadavg()[0]))
    print(text)
    partial_run = args.quick or set(args.only) != set(SECTIONS)
    out = args.out if args.out is not None else (None if partial_run else RESULTS)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(_keep_staffing(text, out), encoding="utf-8")
        log(f"wrote {out}")
    return 0 if not math.isnan(seconds) else 1


if __name__ == "__main__":
    raise SystemExit(main())
