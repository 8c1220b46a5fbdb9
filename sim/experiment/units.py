"""Units of an experiment: one (scenario, replication) run, its fingerprint, its store."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.metrics import summary_rows
from sim.analysis.standards import (
    measure,
)
from sim.engine.model import simulate
from sim.engine.records import RunResult
from sim.engine.streams import replication_seed
from sim.experiment.budget import check_rows
from sim.results import columnar
from sim.results.output import read_csv, short_name, write_csv, write_text
from sim.results.staging import STAGING, adopt, begin
from sim.scenario.schema import Scenario

REPLICATION_COLUMNS: tuple[str, ...] = (
    "scenario", "replication", "seed", "metric", "group_by", "group", "value")
UNIT_COLUMNS: tuple[str, ...] = ("metric", "group_by", "group", "value")

Row = tuple[str, str, str, float]


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
FIRST_FILES = ("records.csv.gz", "scenario.resolved.yaml", FIRST_MARKER)


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
        self.held = 0  # replications whose rows the study will hold (ensure's target)

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
        self.held = len(self.arms) * n
        if self.rows:  # rows a replication gives are known: check before running more
            check_rows(max(map(len, self.rows.values())), self.held)
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
        if not self.rows:  # the first replication tells how many rows each gives
            check_rows(len(res.rows), self.held)
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
