"""Experiments: many replications of one or more scenarios, summarised with confidence intervals.

A *unit* is one (scenario, replication): replication ``i`` runs with
``sim.streams.replication_seed(root_seed, i)``, so the same root seed gives every plan the
same arrivals, specialties and consult lengths (common random numbers). Units run on any
``concurrent.futures``-style executor (``sim.experiment.executors``) and are put back in a fixed
order, so the tables are bit-identical whatever ran them.

Three experiments, each returning tidy pandas DataFrames and, given ``out``, writing them:

- ``run_experiment``: N replications of one scenario (or until a precision target is met);
- ``compare``: a base plan and other plans, with paired differences (same seeds) and a
  verdict per metric;
- ``sweep``: a grid of overrides over one scenario.

With ``out``, every finished unit is saved under ``out/.units/`` (atomically); running the
same experiment again on the same folder skips the units already done. A unit folder is
keyed by a fingerprint of the scenario, the root seed and the engine's source, so a
changed scenario, seed or model never reuses stale units.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import itertools
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.metrics import KEY_METRICS, summary_rows
from sim.analysis.standards import (
    PREFIX,
    STANDARDS_COLUMNS,
    compare_standards,
    judge,
    measure,
    sweep_standards,
)
from sim.engine.model import simulate
from sim.engine.records import RunResult
from sim.engine.streams import replication_seed
from sim.experiment.budget import check_memory
from sim.experiment.executors import ExecutorSpec, describe, open_executor
from sim.experiment.precision import check_targets, precision_state
from sim.results import columnar
from sim.results.output import (
    read_csv,
    scenario_yaml,
    software_versions,
    write_csv,
    write_json,
    write_records,
    write_text,
)
from sim.results.staging import STAGING, adopt, begin, publish
from sim.scenario.loader import apply_overrides
from sim.scenario.overlay import Select, parse_path
from sim.scenario.schema import Scenario
from sim.scenario.types import MAX_SEED

REPLICATION_COLUMNS: tuple[str, ...] = (
    "scenario", "replication", "seed", "metric", "group_by", "group", "value")
SUMMARY_COLUMNS: tuple[str, ...] = (
    "metric", "group_by", "group", "value", "mean", "ci_low", "ci_high", "n")
COMPARISON_COLUMNS: tuple[str, ...] = (
    "plan", "metric", "group_by", "group", "mean", "ci_low", "ci_high", "n",
    "diff", "diff_ci_low", "diff_ci_high", "verdict")
SWEEP_STAT_COLUMNS: tuple[str, ...] = (
    "metric", "group_by", "group", "mean", "ci_low", "ci_high", "n")
UNIT_COLUMNS: tuple[str, ...] = ("metric", "group_by", "group", "value")
COMPARE_STANDARDS_COLUMNS: tuple[str, ...] = (
    "plan", *STANDARDS_COLUMNS, "change", "change_ci_low", "change_ci_high")

PRECISION_METRICS: tuple[str, ...] = ("wait_mean_min", "utilisation", "abandonment_rate")
"""Whole-system metrics whose relative CI half-width ``precision`` mode drives down by
default (a metric whose mean is 0 or undefined, e.g. abandonment without patience, is
skipped); ``sim.experiment.precision`` names the other targets."""

COMPARE_GROUPS: tuple[str, ...] = ("all", "hub", "specialty")

LOWER_IS_BETTER: tuple[str, ...] = (
    "wait_", "abandoned", "abandonment_rate", "unserved", "dropped", "queue_length",
    "overtime")
"""Metric name prefixes where a lower value is better."""
HIGHER_IS_BETTER: tuple[str, ...] = (
    "served", "share_within_", "share_same_day", "throughput_per_day")
"""Metric name prefixes where a higher value is better. Anything else (arrivals,
utilisation, on_duty_hours) has no better direction: its verdict is higher/lower."""

Row = tuple[str, str, str, float]


# --------------------------------------------------------------------------- CI maths

def t_quantile(confidence: float, df: np.ndarray | int) -> np.ndarray:
    """The two-sided Student-t critical value for ``confidence`` with ``df`` degrees of freedom."""
    from scipy import stats

    _check_confidence(confidence)
    return np.asarray(stats.t.ppf(0.5 + confidence / 2.0, df), dtype=float)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")


def half_width(sd: np.ndarray, n: np.ndarray, confidence: float) -> np.ndarray:
    """Student-t CI half-widths ``t * sd / sqrt(n)``; NaN where ``n < 2``."""
    sd = np.asarray(sd, dtype=float)
    n = np.asarray(n, dtype=float)
    out = np.full(sd.shape, np.nan)
    ok = n >= 2
    if np.any(ok):
        out[ok] = t_quantile(confidence, n[ok] - 1) * sd[ok] / np.sqrt(n[ok])
    return out


def t_interval(values: Sequence[float] | np.ndarray,
               confidence: float = 0.95) -> tuple[float, float, float, int]:
    """``(mean, ci_low, ci_high, n)`` of the non-NaN values; the CI is NaN when ``n < 2``."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    n = len(v)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if n > 1 else math.nan
    h = float(half_width(np.asarray([sd]), np.asarray([n]), confidence)[0])
    return mean, mean - h, mean + h, n


def summarise(replications: pd.DataFrame, confidence: float = 0.95,
              by: Sequence[str] = ("scenario",)) -> pd.DataFrame:
    """Mean, Student-t CI and count of ``value`` per (``by``..., metric, group_by, group).

    NaN values (a metric undefined in a replication) are left out of ``n``. Rows keep the
    order in which their keys first appear. ``value`` repeats ``mean`` (the agreed format).
    The service standards' rows (``standard:...``) are left to ``sim.analysis.standards``.
    """
    _check_confidence(confidence)
    keys = [*by, "metric", "group_by", "group"]
    if not replications.empty:
        replications = replications[~replications["metric"].str.startswith(PREFIX)]
    if replications.empty:
        return pd.DataFrame(columns=[*keys, "value", "mean", "ci_low", "ci_high", "n"])
    g = replications.groupby(keys, sort=False, dropna=False)["value"]
    out = g.agg(["mean", "std", "count"]).reset_index()
    n = out["count"].to_numpy(dtype=np.int64)
    h = half_width(out["std"].to_numpy(dtype=float), n, confidence)
    mean = out["mean"].to_numpy(dtype=float)
    result = out[keys].copy()
    result["value"] = mean
    result["mean"] = mean
    result["ci_low"] = mean - h
    result["ci_high"] = mean + h
    result["n"] = n
    return result


def direction(metric: str) -> int:
    """-1 if lower is better for ``metric``, +1 if higher is better, 0 if neither."""
    if metric.startswith(HIGHER_IS_BETTER):
        return 1
    if metric.startswith(LOWER_IS_BETTER):
        return -1
    return 0


def verdict(metric: str, diff_low: float, diff_high: float) -> str:
    """Plain reading of a paired-difference CI (plan minus base) for ``metric``.

    ``better``/``worse`` when the CI excludes 0 (by the metric's direction), ``higher``/
    ``lower`` for metrics with no better direction, else ``no detectable difference``.
    """
    if not (diff_low > 0 or diff_high < 0):  # NaN (too few pairs) lands here too
        return "no detectable difference"
    sign = 1 if diff_low > 0 else -1
    d = direction(metric)
    if d == 0:
        return "higher" if sign > 0 else "lower"
    return "better" if sign == d else "worse"


def paired_differences(replications: pd.DataFrame, base: str, plan: str,
                       confidence: float = 0.95) -> pd.DataFrame:
    """Paired-t CI of (plan - base) per (metric, group_by, group), matched by replication.

    Both plans must have been run with the same root seed, so replication ``i`` of each
    saw the same random numbers (common random numbers) and the pairs are meaningful.
    """
    keys = ["metric", "group_by", "group"]
    b = replications.loc[replications["scenario"] == base, [*keys, "replication", "value"]]
    p = replications.loc[replications["scenario"] == plan, [*keys, "replication", "value"]]
    m = p.merge(b, on=[*keys, "replication"], how="inner", suffixes=("", "_base"))
    m["d"] = m["value"] - m["value_base"]
    g = m.groupby(keys, sort=False, dropna=False)["d"].agg(["mean", "std", "count"])
    g = g.reset_index()
    n = g["count"].to_numpy(dtype=np.int64)
    h = half_width(g["std"].to_numpy(dtype=float), n, confidence)
    mean = g["mean"].to_numpy(dtype=float)
    out = g[keys].copy()
    out["diff"] = mean
    out["diff_ci_low"] = mean - h
    out["diff_ci_high"] = mean + h
    out["pairs"] = n
    return out


# --------------------------------------------------------------------------- units

@dataclass(frozen=True)
class UnitOutput:
    """What one (scenario, replication) gives back to the experiment."""

    rows: list[Row]
    result: RunResult | None
    pid: int
    seconds: float


def run_unit(scenario: Scenario, root_seed: int, replication: int, keep: bool) -> UnitOutput:
    """Simulate one replication and return its tidy metric rows (and the run, if ``keep``).

    Runs in worker processes, so it takes only picklable values and touches no files.
    """
    t0 = time.perf_counter()
    result = simulate(scenario, seed=replication_seed(root_seed, replication))
    rows = [(str(r["metric"]), str(r["group_by"]), str(r["group"]), float(r["value"]))
            for r in summary_rows(result)]
    rows += measure(result)
    return UnitOutput(rows, result if keep else None, os.getpid(), time.perf_counter() - t0)


@dataclass(frozen=True)
class Arm:
    """One scenario in an experiment: its label in the tables and its output subfolder.

    ``folder`` is where its files are written (in the staging folder), ``final`` where
    they end up once the run is complete (``sim.results.staging``).
    """

    label: str
    scenario: Scenario
    folder: Path | None = None
    final: Path | None = None


_ENGINE_PACKAGES = ("scenario", "engine", "analysis", "experiment")
_code_hash: str | None = None


def _engine_fingerprint() -> str:
    """A hash of the engine's source, so units computed by other code are never reused."""
    global _code_hash
    if _code_hash is None:
        from sim import __version__

        h = hashlib.sha256(__version__.encode())
        package = Path(__file__).resolve().parent.parent
        for name in _ENGINE_PACKAGES:
            for p in sorted((package / name).glob("*.py")):
                h.update(p.read_bytes())
        _code_hash = h.hexdigest()
    return _code_hash


def fingerprint(scenario: Scenario, root_seed: int) -> str:
    """Key of a scenario's units: its resolved content, the root seed and the engine code."""
    payload = json.dumps({"scenario": scenario.model_dump(mode="json"), "seed": root_seed,
                          "engine": _engine_fingerprint()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def safe_name(label: str) -> str:
    """A label made safe as a folder name (letters, digits, ``._=,+-`` kept)."""
    s = re.sub(r"[^A-Za-z0-9._=,+-]+", "_", label).strip("._")
    return s or "scenario"


SHORT_NAME = 40


def short_name(label: str) -> str:
    """``safe_name``, cut to 40 characters plus a hash of the whole label when longer.

    Folder names stay far below file-system limits however many keys a label holds, and
    two long labels that share their first 40 characters still get different names.
    """
    s = safe_name(label)
    if len(s) <= SHORT_NAME:
        return s
    digest = hashlib.sha256(label.encode()).hexdigest()[:8]
    return f"{s[:SHORT_NAME].rstrip('._=,+-')}-{digest}"


class UnitStore:
    """Finished units on disk: ``out/.units/<label>-<fingerprint>/rep-NNNNN.csv``."""

    def __init__(self, out: Path):
        self.root = Path(out) / ".units"

    def path(self, arm: Arm, key: str, replication: int) -> Path:
        """Where unit (``arm``, ``replication``) with fingerprint ``key`` is kept."""
        return self.root / f"{short_name(arm.label)}-{key[:16]}" / f"rep-{replication:05d}.csv"

    def load(self, arm: Arm, key: str, replication: int) -> list[Row] | None:
        """The saved rows of a unit, or None if it has not finished."""
        p = self.path(arm, key, replication)
        if not p.exists():
            return None
        try:
            rows = read_csv(p)
        except (OSError, ValueError):
            return None
        return [(r["metric"], r["group_by"], r["group"],
                 float(r["value"]) if r["value"] != "" else math.nan) for r in rows]

    def save(self, arm: Arm, key: str, replication: int, rows: list[Row]) -> None:
        """Atomically save a finished unit's rows (exact round trip of every value)."""
        write_csv(self.path(arm, key, replication),
                  ({"metric": m, "group_by": gb, "group": g, "value": v} for m, gb, g, v in rows),
                  UNIT_COLUMNS)


FirstWriter = Callable[[Arm, RunResult], None]
FIRST_MARKER = ".replication0"
"""File in a results folder naming the unit key whose replication 0 wrote its records."""
FIRST_FILES = ("records.csv.gz", "scenario.resolved.yaml", FIRST_MARKER)
"""Replication 0's files in an arm's folder."""


def _staged(out: Path | None, subfolders: Sequence[str] | None) -> Path | None:
    """The staging folder of ``out``, made ready; replication 0's files of the arms kept.

    ``subfolders``: the arms' folder names (None: one arm, the folder itself).
    """
    if out is None:
        return None
    stage = out / STAGING
    keep = [stage] if subfolders is None else [stage / f for f in subfolders]
    return begin(out, keep)


def _drop_records(arms: Sequence[Arm], records: bool) -> None:
    """Without ``records``, no records file (of this run or an earlier one) is published."""
    if not records:
        for arm in arms:
            assert arm.folder is not None
            for name in ("records.csv.gz", FIRST_MARKER):
                (arm.folder / name).unlink(missing_ok=True)


class _Runner:
    """Runs the missing units of a set of arms and keeps every unit's rows in memory."""

    def __init__(self, arms: Sequence[Arm], root_seed: int, pool: cf.Executor,
                 store: UnitStore | None, write_first: FirstWriter | None,
                 keep_first: bool, progress: bool, out: Path | None = None,
                 records: str = "first", final: Path | None = None):
        labels = [a.label for a in arms]
        if len(set(labels)) != len(labels):
            raise ValueError(f"scenario labels must be unique, got {labels}")
        self.arms = list(arms)
        self.root_seed = root_seed
        self.pool = pool
        self.store = store
        self.write_first = write_first
        self.keep_first = keep_first
        self.progress = progress
        self.out = out  # where Parquet records are written (the staging folder)
        self.final = final  # where they are published, to adopt unchanged ones from
        self.records = records
        self.keys = {a.label: fingerprint(a.scenario, root_seed) for a in arms} if store else {}
        self.rows: dict[tuple[str, int], list[Row]] = {}
        self.first: dict[str, RunResult] = {}
        self.pids: set[int] = set()
        self.resumed = 0
        self.computed = 0
        self.unit_seconds = 0.0

    def _artefacts_missing(self, arm: Arm) -> bool:
        """Replication 0's files are absent, or belong to another scenario or seed.

        Files of the same scenario and seed in the published folder are adopted.
        """
        if self.write_first is None or arm.folder is None:
            return False
        if self._records_missing(arm, 0):
            return True
        key = self.keys.get(arm.label, "")

        def current(folder: Path) -> bool:
            marker = folder / FIRST_MARKER
            return ((folder / "records.csv.gz").exists() and marker.exists()
                    and marker.read_text(encoding="utf-8").strip() == key)

        if current(arm.folder):
            return False
        return not (arm.final is not None and current(arm.final)
                    and adopt(arm.folder, arm.final, FIRST_FILES))

    def _wants_records(self, i: int) -> bool:
        return self.out is not None and (self.records == "all" or
                                         (self.records == "first" and i == 0))

    def _records_missing(self, arm: Arm, i: int) -> bool:
        """Replication ``i`` should have Parquet records and has none of this unit's key.

        Records of the same key in the published folder are adopted.
        """
        if not self._wants_records(i):
            return False
        assert self.out is not None
        key = self.keys.get(arm.label, "")
        p = columnar.records_path(self.out, arm.label, i)

        def current(path: Path) -> bool:
            return path.exists() and columnar.file_metadata(path).get("fingerprint") == key

        if current(p):
            return False
        published = columnar.records_path(self.final, arm.label, i) if self.final else None
        return not (published is not None and current(published)
                    and adopt(p.parent, published.parent, [p.name]))

    def ensure(self, n: int) -> None:
        """Make sure replications ``0..n-1`` of every arm are done (run or resumed)."""
        todo: list[tuple[Arm, int, bool]] = []
        for arm in self.arms:
            for i in range(n):
                if (arm.label, i) in self.rows:
                    continue
                first = i == 0 and (self.keep_first or self._artefacts_missing(arm))
                more = i > 0 and self._records_missing(arm, i)  # records="all"
                if self.store is not None and not more and not (
                        i == 0 and self._artefacts_missing(arm)):
                    rows = self.store.load(arm, self.keys[arm.label], i)
                    if rows is not None:
                        self.rows[(arm.label, i)] = rows
                        self.resumed += 1
                        continue
                todo.append((arm, i, first or more))
        if not todo:
            return
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="run", desc="replications", file=sys.stderr,
                   disable=None if self.progress else True, leave=False)
        futures: dict[cf.Future[UnitOutput], tuple[Arm, int]] = {}
        try:
            for arm, i, keep in todo:
                fut = self.pool.submit(run_unit, arm.scenario, self.root_seed, i, keep)
                if fut.done():  # an executor that ran it at once: keep it now (and resumable)
                    self._keep(arm, i, fut.result())
                    bar.update(1)
                else:
                    futures[fut] = (arm, i)
            for fut in cf.as_completed(futures):
                arm, i = futures[fut]
                self._keep(arm, i, fut.result())
                bar.update(1)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        finally:
            bar.close()

    def _keep(self, arm: Arm, i: int, res: UnitOutput) -> None:
        """Record a finished unit: replication 0's files first, then the unit itself."""
        if res.result is not None:
            if self._wants_records(i):
                assert self.out is not None
                columnar.write_records(self.out, arm.label, i, res.result,
                                       self.keys.get(arm.label, ""))
            if i == 0 and self.write_first is not None and arm.folder is not None:
                self.write_first(arm, res.result)
                write_text(arm.folder / FIRST_MARKER, self.keys.get(arm.label, "") + "\n")
            if i == 0 and self.keep_first:
                self.first[arm.label] = res.result
        if self.store is not None:
            self.store.save(arm, self.keys[arm.label], i, res.rows)
        self.rows[(arm.label, i)] = res.rows
        self.pids.add(res.pid)
        self.computed += 1
        self.unit_seconds += res.seconds

    def replications(self, n: int) -> pd.DataFrame:
        """The tidy per-replication table of replications ``0..n-1``, in a fixed order."""
        cols: dict[str, list[Any]] = {c: [] for c in REPLICATION_COLUMNS}
        for arm in self.arms:
            for i in range(n):
                rows = self.rows[(arm.label, i)]
                k = len(rows)
                cols["scenario"].extend([arm.label] * k)
                cols["replication"].extend([i] * k)
                cols["seed"].extend([self.root_seed] * k)
                for m, gb, g, v in rows:
                    cols["metric"].append(m)
                    cols["group_by"].append(gb)
                    cols["group"].append(g)
                    cols["value"].append(v)
        df = pd.DataFrame(cols)
        df["replication"] = df["replication"].astype(np.int64)
        df["seed"] = df["seed"].astype(np.int64)
        df["value"] = df["value"].astype(float)
        return df


# --------------------------------------------------------------------------- results

@dataclass
class Experiment:
    """Replications of one scenario: tidy tables plus how they were obtained.

    ``replications``: scenario, replication, seed, metric, group_by, group, value.
    ``summary``: metric, group_by, group, value, mean, ci_low, ci_high, n.
    ``standards``: the standards table (``sim.analysis.standards``): the scenario's
    standards in order, each one's groups as they appear (``worst_first`` sorts it).
    ``first``: replication 0's ``RunResult`` when it was simulated in this call.
    """

    scenario: Scenario
    label: str
    seed: int
    confidence: float
    replications: pd.DataFrame
    summary: pd.DataFrame
    n: int
    precision: dict[str, Any] | None = None
    first: RunResult | None = None
    workers: set[int] = field(default_factory=set)
    resumed: int = 0
    computed: int = 0
    files: list[str] = field(default_factory=list)
    standards: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class Comparison:
    """Plans against a base, with paired differences.

    ``comparison`` (agreed columns), ``replications``, per-plan ``summaries`` (label ->
    summary table), ``standards`` (each plan's standards table with its paired change
    from the base) and ``first``: replication 0 runs simulated in this call.
    """

    base: str
    plans: list[str]
    seed: int
    confidence: float
    n: int
    comparison: pd.DataFrame
    replications: pd.DataFrame
    summaries: dict[str, pd.DataFrame]
    first: dict[str, RunResult] = field(default_factory=dict)
    workers: set[int] = field(default_factory=set)
    resumed: int = 0
    computed: int = 0
    files: list[str] = field(default_factory=list)
    standards: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class Sweep:
    """A grid of overrides over one scenario.

    ``table``: scenario, one column per swept key, metric, group_by, group, mean, ci_low,
    ci_high, n; ``replications`` (scenario = point label); ``points`` (label -> settings);
    ``standards`` (every point's standards table) and ``breaks`` (per standard and group,
    the first point at which it is breached).
    """

    scenario: str
    keys: list[str]
    points: dict[str, dict[str, Any]]
    seed: int
    confidence: float
    n: int
    table: pd.DataFrame
    replications: pd.DataFrame
    summaries: dict[str, pd.DataFrame]
    first: dict[str, RunResult] = field(default_factory=dict)
    workers: set[int] = field(default_factory=set)
    resumed: int = 0
    computed: int = 0
    files: list[str] = field(default_factory=list)
    standards: pd.DataFrame = field(default_factory=pd.DataFrame)
    breaks: pd.DataFrame = field(default_factory=pd.DataFrame)


# --------------------------------------------------------------------------- writing

def _table_rows(df: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    return df.loc[:, list(columns)].to_dict("records")


def _write_table(path: Path, df: pd.DataFrame, columns: Sequence[str]) -> Path:
    return write_csv(path, _table_rows(df, columns), columns)


def _summary_of(summary: pd.DataFrame, label: str) -> pd.DataFrame:
    return summary.loc[summary["scenario"] == label, list(SUMMARY_COLUMNS)].reset_index(drop=True)


RECORDS_MODES: tuple[str, ...] = ("none", "first", "all")


def records_mode(records: bool | str) -> str:
    """``records=`` as one of RECORDS_MODES: True is ``first`` (replication 0), False ``none``."""
    if records is True or records is False:
        return "first" if records else "none"
    if records not in RECORDS_MODES:
        raise ValueError(f"records must be one of {', '.join(RECORDS_MODES)} (or True/False), "
                         f"got {records!r}")
    return str(records)


def _write_first_minimal(arm: Arm, result: RunResult, records: bool = True) -> None:
    assert arm.folder is not None
    write_text(arm.folder / "scenario.resolved.yaml", scenario_yaml(arm.scenario))
    if records:
        write_records(arm.folder / "records.csv.gz", result)


def _files_under(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in
                                             p.relative_to(out).parts))


def _metadata(command: str, arms: Sequence[Arm], seed: int, n: int, confidence: float,
              runner: _Runner, executor: ExecutorSpec, jobs: int,
              arguments: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    first = arms[0].scenario
    return {
        "command": command,
        "arguments": dict(arguments or {}),
        "scenarios": [{"label": a.label, "name": a.scenario.name,
                       "folder": a.folder.name if a.folder is not None and len(arms) > 1
                       else None,
                       "warmup_days": a.scenario.calendar.warmup_days,
                       "horizon_days": a.scenario.calendar.horizon_days} for a in arms],
        "seed": seed,
        "replication_seeds": "numpy SeedSequence(seed, spawn_key=(replication,))",
        "replications": n,
        "confidence": confidence,
        "warmup_days": first.calendar.warmup_days,
        "horizon_days": first.calendar.horizon_days,
        **software_versions(),
        "executor": describe(executor, jobs),
        "jobs": jobs,
        "units_computed": runner.computed,
        "units_resumed": runner.resumed,
        **extra,
    }


def record_files(out: str | Path) -> list[str]:
    """Refresh the ``files`` list in ``out/run.json`` after more files (plots) were added."""
    out = Path(out)
    meta_path = out / "run.json"
    if not meta_path.exists():
        return []
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return _finish(out, meta)


def _finish(out: Path, meta: dict[str, Any]) -> list[str]:
    files = sorted(set(_files_under(out)) | {"run.json"})
    meta["files"] = files
    write_json(out / "run.json", meta)
    return files


# --------------------------------------------------------------------------- experiments

def _root_seed(seed: int | None, scenario: Scenario) -> int:
    s = scenario.seed if seed is None else seed
    if isinstance(s, bool) or not isinstance(s, int | np.integer) or not 0 <= s <= MAX_SEED:
        raise ValueError(f"seed must be an integer from 0 to 2**63-1, got {s!r}")
    return int(s)


def _check_replications(n: int, least: int = 1) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < least:
        raise ValueError(f"replications must be an integer >= {least}, got {n!r}")


def run_experiment(
    scenario: Scenario,
    replications: int | None = None,
    *,
    seed: int | None = None,
    confidence: float = 0.95,
    precision: float | None = None,
    max_replications: int = 100,
    precision_metrics: Sequence[str] = PRECISION_METRICS,
    jobs: int = 1,
    executor: ExecutorSpec = None,
    out: str | Path | None = None,
    plot: bool = True,
    records: bool | str = True,
    progress: bool = False,
    label: str | None = None,
    command: str = "run_experiment",
    arguments: Mapping[str, Any] | None = None,
) -> Experiment:
    """Run ``replications`` independent replications of ``scenario`` and summarise them.

    Replication ``i`` uses ``replication_seed(seed, i)``; ``seed`` defaults to the
    scenario's. With ``precision`` (e.g. 0.05), replications are added (starting from
    ``replications``, default 5) until the relative CI half-width of every target in
    ``precision_metrics`` is at most ``precision``, or ``max_replications`` is reached;
    ``Experiment.precision`` says which. A target is a metric of the whole system, a
    metric in a grouping or group (``wait_mean_min@specialty=cardiology``), or
    ``standards``: every verdict settled (``sim.experiment.precision``).
    ``jobs``/``executor`` choose where units run (``sim.experiment.executors``). With
    ``out``, writes summary.csv, standards.csv, replications.csv, run.json, replication
    0's resolved scenario and records (``records``: ``"all"`` adds every replication's
    records as Parquet, ``False`` none), the Parquet copies of the tables
    (``sim.results.columnar``) and, with ``plot``, the plots of the replicated summary; it
    resumes from the units already in ``out``.
    """
    _check_confidence(confidence)
    n = replications if replications is not None else (5 if precision else 1)
    _check_replications(n, 2 if precision else 1)
    if precision is not None:
        if not precision > 0:
            raise ValueError(
                f"precision must be a positive fraction (e.g. 0.05), got {precision!r}")
        _check_replications(max_replications, n)
        precision_metrics = check_targets(precision_metrics)
    root = _root_seed(seed, scenario)
    check_memory([scenario], min(jobs, max_replications if precision else n))
    label = label or scenario.name
    out_path = Path(out) if out is not None else None
    stage = _staged(out_path, None)
    arm = Arm(label, scenario, stage, out_path)

    # replication 0's resolved scenario and records as soon as it is done; the summary and
    # run.json (and the plots, which read them) once every replication is in
    mode = records_mode(records)
    write_first = (partial(_write_first_minimal, records=mode != "none") if out_path
                   else None)
    with open_executor(executor, jobs) as pool:
        runner = _Runner([arm], root, pool, UnitStore(out_path) if out_path else None,
                         write_first, keep_first=True, progress=progress, out=stage,
                         records=mode, final=out_path)
        runner.ensure(n)
        reps = runner.replications(n)
        summary = summarise(reps, confidence)
        standards = judge(reps, scenario, replication_count=n)
        prec: dict[str, Any] | None = None
        if precision is not None:
            history = [n]
            while True:
                worst, widths = precision_state(summary, standards, precision_metrics)
                if worst <= precision or n >= max_replications:
                    break
                need = math.ceil(n * (worst / precision) ** 2) if math.isfinite(worst) else 2 * n
                n = min(max_replications, max(n + 1, min(need, 2 * n)))
                history.append(n)
                runner.ensure(n)
                reps = runner.replications(n)
                summary = summarise(reps, confidence)
                standards = judge(reps, scenario, replication_count=n)
            prec = {"target": precision, "achieved": worst <= precision, "replications": n,
                    "max_replications": max_replications, "metrics": list(precision_metrics),
                    "relative_half_widths": widths, "steps": history}
    summary_table = summary.drop(columns=["scenario"]).reset_index(drop=True)
    exp = Experiment(scenario, label, root, confidence, reps, summary_table, n, prec,
                     runner.first.get(label), runner.pids, runner.resumed, runner.computed,
                     standards=standards)
    if out_path is not None and stage is not None:
        _write_table(stage / "summary.csv", summary_table, SUMMARY_COLUMNS)
        _write_table(stage / "standards.csv", standards, STANDARDS_COLUMNS)
        _write_table(stage / "replications.csv", reps, REPLICATION_COLUMNS)
        columnar.write_tables(stage, {"summary": summary_table, "replications": reps,
                                      "standards": standards})
        extra: dict[str, Any] = {"precision": prec} if prec else {}
        _drop_records([arm], mode != "none")
        exp.files = _finish(stage, _metadata(command, [arm], root, n, confidence, runner,
                                             executor, jobs, arguments, **extra))
        if plot:
            from sim.present.plots import plot_results

            plot_results(stage)
            exp.files = record_files(stage)
        publish(out_path, stage)
    return exp


def compare_metrics(replications: pd.DataFrame) -> list[str]:
    """The metrics a comparison reports: the key metrics plus every service-level share."""
    present = list(dict.fromkeys(replications["metric"]))
    shares = [m for m in present if m.startswith("share_within_")]
    return [m for m in KEY_METRICS if m in present] + shares


def compare(
    base: Scenario,
    plans: Sequence[Scenario],
    replications: int = 10,
    *,
    labels: Sequence[str] | None = None,
    seed: int | None = None,
    confidence: float = 0.95,
    metrics: Sequence[str] | None = None,
    group_by: Sequence[str] = COMPARE_GROUPS,
    jobs: int = 1,
    executor: ExecutorSpec = None,
    out: str | Path | None = None,
    records: bool | str = True,
    progress: bool = False,
    command: str = "compare",
    arguments: Mapping[str, Any] | None = None,
) -> Comparison:
    """Compare ``plans`` with ``base`` over ``replications`` paired replications.

    Every plan runs with the same root seed (default: the base's), so replication ``i``
    of each sees the same random numbers and the paired-t CI of (plan - base) is tight.
    ``labels`` names base and plans in that order (default: scenario names; must be
    unique). ``metrics`` defaults to ``compare_metrics``; ``group_by`` picks the groups.
    With ``out``: comparison.csv, replications.csv, run.json and one subfolder per plan
    with its summary.csv, scenario.resolved.yaml and replication 0's records.csv.gz
    (``records`` as for ``run_experiment``), and the tables as Parquet.
    """
    _check_confidence(confidence)
    _check_replications(replications, 2)
    scenarios = [base, *plans]
    if not plans:
        raise ValueError("compare needs at least one plan besides the base")
    names = list(labels) if labels is not None else [s.name for s in scenarios]
    if len(names) != len(scenarios):
        raise ValueError(f"need {len(scenarios)} labels (base and plans), got {len(names)}")
    if len(set(names)) != len(names):
        raise ValueError(f"plan labels must be unique, got {names}; pass labels=")
    root = _root_seed(seed, base)
    out_path = Path(out) if out is not None else None
    stage = _staged(out_path, [short_name(lb) for lb in names])
    arms = [Arm(lb, sc, stage / short_name(lb) if stage else None,
                out_path / short_name(lb) if out_path else None)
            for lb, sc in zip(names, scenarios, strict=True)]
    mode = records_mode(records)
    check_memory(scenarios, min(jobs, len(scenarios) * replications))
    with open_executor(executor, jobs) as pool:
        runner = _Runner(arms, root, pool, UnitStore(out_path) if out_path else None,
                         partial(_write_first_minimal, records=mode != "none")
                         if out_path else None,
                         keep_first=out_path is None, progress=progress, out=stage,
                         records=mode, final=out_path)
        runner.ensure(replications)
    reps = runner.replications(replications)
    summary = summarise(reps, confidence)
    wanted = list(metrics) if metrics is not None else compare_metrics(reps)
    keep = summary["metric"].isin(wanted) & summary["group_by"].isin(list(group_by))
    table_parts = []
    for arm in arms:
        part = summary.loc[keep & (summary["scenario"] == arm.label)].copy()
        part = part.rename(columns={"scenario": "plan"})
        if arm is arms[0]:
            for c in ("diff", "diff_ci_low", "diff_ci_high"):
                part[c] = math.nan
            part["verdict"] = "base"
        else:
            d = paired_differences(reps, arms[0].label, arm.label, confidence)
            part = part.merge(d.drop(columns=["pairs"]), on=["metric", "group_by", "group"],
                              how="left")
            part["verdict"] = [verdict(m, lo, hi) for m, lo, hi in
                               zip(part["metric"], part["diff_ci_low"], part["diff_ci_high"],
                                   strict=True)]
        table_parts.append(part[list(COMPARISON_COLUMNS)])
    table = pd.concat(table_parts, ignore_index=True)
    summaries = {a.label: _summary_of(summary, a.label) for a in arms}
    standards = compare_standards(reps, [(a.label, a.scenario) for a in arms], confidence)
    result = Comparison(names[0], names[1:], root, confidence, replications, table, reps,
                        summaries, dict(runner.first), runner.pids, runner.resumed,
                        runner.computed, standards=standards)
    if out_path is not None and stage is not None:
        _write_table(stage / "standards.csv", standards, COMPARE_STANDARDS_COLUMNS)
        for arm in arms:
            assert arm.folder is not None
            _write_table(arm.folder / "summary.csv", summaries[arm.label], SUMMARY_COLUMNS)
        _write_table(stage / "comparison.csv", table, COMPARISON_COLUMNS)
        _write_table(stage / "replications.csv", reps, REPLICATION_COLUMNS)
        columnar.write_tables(stage, {"comparison": table, "replications": reps,
                                      "summary": summary, "standards": standards})
        _drop_records(arms, mode != "none")
        result.files = _finish(stage, _metadata(command, arms, root, replications,
                                                confidence, runner, executor, jobs,
                                                arguments, base=names[0], plans=names[1:]))
        publish(out_path, stage)
    return result


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the swept values, the first key varying slowest."""
    if not grid:
        raise ValueError("a sweep needs at least one key with values")
    for k, vals in grid.items():
        if isinstance(vals, str) or not isinstance(vals, Sequence) or len(vals) == 0:
            raise ValueError(f"sweep values for {k!r} must be a non-empty list, got {vals!r}")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def point_label(point: Mapping[str, Any]) -> str:
    """A point's label, e.g. ``demand.growth=1.5,routing.policy=pooled``."""
    return ",".join(f"{k}={v}" for k, v in point.items())


def point_folder(index: int, n_points: int, point: Mapping[str, Any],
                 grid: Mapping[str, Sequence[Any]]) -> str:
    """A point's folder: its number and the values that vary, shortened (``short_name``).

    Each varying key is named by its last part, so ``hubs[x].roster[...].doctors`` gives
    ``doctors=2``: e.g. ``p03-growth=1.5,policy=pooled``. run.json maps folders to points.
    """
    varying = {_last_part(k): v for k, v in point.items() if len(grid[k]) > 1}
    text = point_label(varying) if varying else point_label(point)
    return f"p{index:0{max(2, len(str(n_points)))}d}-{short_name(text)}"


def _last_part(key: str) -> str:
    """``demand.growth`` -> ``growth``; ``spokes.districts[Kinnaur]`` -> ``districts[Kinnaur]``."""
    parts = parse_path(key)
    last = parts[-1]
    if isinstance(last, Select) and len(parts) > 1:
        return f"{parts[-2]}[{last.text}]"
    return str(last.text if isinstance(last, Select) else last)


def sweep(
    scenario: Scenario,
    grid: Mapping[str, Sequence[Any]],
    replications: int = 5,
    *,
    seed: int | None = None,
    confidence: float = 0.95,
    jobs: int = 1,
    executor: ExecutorSpec = None,
    out: str | Path | None = None,
    records: bool | str = True,
    progress: bool = False,
    command: str = "sweep",
    arguments: Mapping[str, Any] | None = None,
) -> Sweep:
    """Run every point of ``grid`` (dotted key -> values) over ``scenario``.

    Each point is ``apply_overrides(scenario, point)``, validated before anything runs;
    all points share the root seed (default: the scenario's), so they see common random
    numbers where the swept keys allow. With ``out``: sweep.csv, replications.csv,
    run.json and one subfolder per point (``point_folder``: summary.csv,
    scenario.resolved.yaml, replication 0's records.csv.gz; ``records`` as for
    ``run_experiment``), and the tables as Parquet; run.json's ``points`` maps each
    folder to its label and settings.
    """
    _check_confidence(confidence)
    _check_replications(replications)
    points = grid_points(grid)
    root = _root_seed(seed, scenario)
    out_path = Path(out) if out is not None else None
    mode = records_mode(records)
    labels = [point_label(p) for p in points]
    folders = [point_folder(i, len(points), p, grid) for i, p in enumerate(points, start=1)]
    variants = [apply_overrides(scenario, p, source=f"sweep {lb}")
                for p, lb in zip(points, labels, strict=True)]
    stage = _staged(out_path, folders)
    arms = [Arm(lb, sc, stage / f if stage else None, out_path / f if out_path else None)
            for lb, sc, f in zip(labels, variants, folders, strict=True)]
    check_memory([a.scenario for a in arms], min(jobs, len(arms) * replications))
    with open_executor(executor, jobs) as pool:
        runner = _Runner(arms, root, pool, UnitStore(out_path) if out_path else None,
                         partial(_write_first_minimal, records=mode != "none")
                         if out_path else None,
                         keep_first=out_path is None, progress=progress, out=stage,
                         records=mode, final=out_path)
        runner.ensure(replications)
    reps = runner.replications(replications)
    summary = summarise(reps, confidence)
    keys = list(grid)
    parts = []
    for arm, p in zip(arms, points, strict=True):
        part = summary.loc[summary["scenario"] == arm.label, list(SWEEP_STAT_COLUMNS)].copy()
        for k in reversed(keys):
            part.insert(0, k, [p[k]] * len(part))
        part.insert(0, "scenario", scenario.name)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    summaries = {a.label: _summary_of(summary, a.label) for a in arms}
    standards, breaks = sweep_standards(
        reps, [(a.label, a.scenario, p) for a, p in zip(arms, points, strict=True)])
    result = Sweep(scenario.name, keys, {a.label: p for a, p in zip(arms, points, strict=True)},
                   root, confidence, replications, table, reps, summaries, dict(runner.first),
                   runner.pids, runner.resumed, runner.computed, standards=standards,
                   breaks=breaks)
    if out_path is not None and stage is not None:
        _write_table(stage / "standards.csv", standards,
                     ["point", *keys, *STANDARDS_COLUMNS])
        _write_table(stage / "standards_first_breach.csv", breaks, list(breaks.columns))
        for arm in arms:
            assert arm.folder is not None
            _write_table(arm.folder / "summary.csv", summaries[arm.label], SUMMARY_COLUMNS)
        _write_table(stage / "sweep.csv", table, ["scenario", *keys, *SWEEP_STAT_COLUMNS])
        _write_table(stage / "replications.csv", reps, REPLICATION_COLUMNS)
        columnar.write_tables(stage, {"sweep": table, "replications": reps,
                                      "summary": summary, "standards": standards,
                                      "standards_first_breach": breaks})
        _drop_records(arms, mode != "none")
        result.files = _finish(stage, _metadata(
            command, arms, root, replications, confidence, runner, executor, jobs, arguments,
            grid={k: list(v) for k, v in grid.items()},
            points=[{"folder": a.folder.name if a.folder else None, "label": a.label,
                     "settings": dict(p)} for a, p in zip(arms, points, strict=True)]))
        publish(out_path, stage)
    return result
