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
import contextlib
import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.metrics import KEY_METRICS
from sim.analysis.standards import (
    STANDARDS_COLUMNS,
    compare_standards,
    judge,
    sweep_standards,
)
from sim.engine.records import RunResult
from sim.experiment.budget import check_memory, check_replications
from sim.experiment.executors import ExecutorSpec, describe, open_executor
from sim.experiment.precision import check_targets, precision_state
from sim.experiment.stats import (
    _check_confidence,
    paired_differences,
    summarise,
    verdict,
)
from sim.experiment.units import (
    REPLICATION_COLUMNS,
    Arm,
    UnitStore,
    _drop_records,
    _Runner,
    _staged,
    short_name,
)
from sim.results import columnar
from sim.results.output import (
    scenario_yaml,
    software_versions,
    write_csv,
    write_json,
    write_records,
    write_text,
)
from sim.results.staging import publish, remove_temp_files
from sim.scenario.loader import apply_overrides
from sim.scenario.overlay import Select, parse_path
from sim.scenario.schema import Scenario
from sim.scenario.types import MAX_SEED

SUMMARY_COLUMNS: tuple[str, ...] = (
    "metric", "group_by", "group", "value", "mean", "ci_low", "ci_high", "n")
COMPARISON_COLUMNS: tuple[str, ...] = (
    "plan", "metric", "group_by", "group", "mean", "ci_low", "ci_high", "n",
    "diff", "diff_ci_low", "diff_ci_high", "verdict")
SWEEP_STAT_COLUMNS: tuple[str, ...] = (
    "metric", "group_by", "group", "mean", "ci_low", "ci_high", "n")
COMPARE_STANDARDS_COLUMNS: tuple[str, ...] = (
    "plan", *STANDARDS_COLUMNS, "change", "change_ci_low", "change_ci_high")

PRECISION_METRICS: tuple[str, ...] = ("wait_mean_min", "utilisation", "abandonment_rate")
"""Whole-system metrics whose relative CI half-width ``precision`` mode drives down by
default (a metric whose mean is 0 or undefined, e.g. abandonment without patience, is
skipped); ``sim.experiment.precision`` names the other targets."""

COMPARE_GROUPS: tuple[str, ...] = ("all", "hub", "specialty")
"""Metric name prefixes where a lower value is better."""
"""Metric name prefixes where a higher value is better. Anything else (arrivals,
utilisation, on_duty_hours) has no better direction: its verdict is higher/lower."""
"""File in a results folder naming the unit key whose replication 0 wrote its records."""
"""Replication 0's files in an arm's folder."""


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


@contextlib.contextmanager
def _pool(executor: ExecutorSpec, jobs: int, out: Path | None) -> Iterator[cf.Executor]:
    """The study's executor; a study cut short (Ctrl-C, SIGTERM) leaves no temporary files.

    A write cut off in a killed worker, or by the signal in this process, leaves its
    temporary file; they are removed once the pool is shut down (its workers gone).
    """
    try:
        with open_executor(executor, jobs) as pool:
            yield pool
    except BaseException:
        if out is not None:
            remove_temp_files(out)
        raise


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
    check_replications(n, 2 if precision else 1)
    if precision is not None:
        if not precision > 0:
            raise ValueError(
                f"precision must be a positive fraction (e.g. 0.05), got {precision!r}")
        check_replications(max_replications, n, "max_replications")
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
    with _pool(executor, jobs, out_path) as pool:
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
    check_replications(replications, 2)
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
    with _pool(executor, jobs, out_path) as pool:
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
    check_replications(replications)
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
    with _pool(executor, jobs, out_path) as pool:
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
