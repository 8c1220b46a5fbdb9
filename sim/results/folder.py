"""Open a results folder for analysis: every table as a typed pandas DataFrame.

``open_results(DIR)`` (``sim.results.open``) reads the Parquet copies when the folder has
them and the CSVs otherwise, so folders written before Parquet open the same way. Records
are read on request (they can be large), one plan and replication at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.results import columnar

TEXT_COLUMNS = ("scenario", "plan", "metric", "group_by", "group", "verdict", "standard",
                "measure", "sense", "unit")
"""Columns read as text from CSV (``group`` holds hours and districts alike)."""


def read_table_csv(path: Path) -> pd.DataFrame:
    """A tidy CSV written by ``sim.results.output.write_csv``: text columns as str, empty as NaN."""
    head = pd.read_csv(path, nrows=0).columns
    dtypes = {c: str for c in head if c in TEXT_COLUMNS}
    return pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])


def _group_as_text(df: pd.DataFrame) -> pd.DataFrame:
    for c in TEXT_COLUMNS:
        if c in df.columns and df[c].dtype != object:
            df[c] = df[c].astype(str)
    return df


@dataclass
class Results:
    """The tables of one results folder (``None`` where the folder has none).

    ``summary`` has a ``scenario`` column (the plan or point label) for every kind of
    folder; ``replications``, ``comparison``, ``sweep`` and ``standards`` are the
    folder's tables as written. ``records()`` reads one plan's records.
    """

    path: Path
    run: dict[str, Any]
    summary: pd.DataFrame
    replications: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    sweep: pd.DataFrame | None = None
    standards: pd.DataFrame | None = None
    labels: dict[str, Path] = field(default_factory=dict)
    """Plan label -> the folder with its summary.csv and scenario.resolved.yaml."""

    @property
    def kind(self) -> str:
        """``compare``, ``sweep`` or ``run``."""
        return "compare" if self.comparison is not None else (
            "sweep" if self.sweep is not None else "run")

    def scenario(self, label: str | None = None) -> Any:
        """The resolved ``Scenario`` of plan ``label`` (default: the first, the base)."""
        from sim.scenario.loader import load_scenario

        folder = self.labels[label] if label is not None else next(iter(self.labels.values()))
        return load_scenario(folder / "scenario.resolved.yaml")

    def record_sets(self) -> list[tuple[str, int]]:
        """The (plan label, replication) pairs whose records the folder holds."""
        root = self.path / columnar.PARQUET_DIR / "records"
        if root.is_dir():
            found = []
            for p in sorted(root.glob("plan=*/replication=*/part-0.parquet")):
                meta = columnar.file_metadata(p)
                found.append((str(meta["scenario"]), int(meta["replication"])))
            return sorted(found, key=lambda k: (list(self.labels).index(k[0])
                                                if k[0] in self.labels else len(self.labels),
                                                k[1]))
        return [(lb, 0) for lb, f in self.labels.items() if (f / "records.csv.gz").exists()]

    def records(self, scenario: str | None = None, replication: int = 0,
                columns: list[str] | None = None) -> pd.DataFrame:
        """One plan's records as a DataFrame (names as categories); default: the base, rep 0."""
        from sim.engine.records import COLUMNS
        from sim.results.output import read_records

        label = scenario if scenario is not None else next(iter(self.labels))
        cols = list(columns) if columns is not None else list(COLUMNS)
        pq_path = columnar.records_path(self.path, label, replication)
        if pq_path.exists():
            import pyarrow.parquet as pq

            return pq.read_table(pq_path, columns=cols).to_pandas()
        csv_path = self.labels.get(label, self.path) / "records.csv.gz"
        if replication != 0 or not csv_path.exists():
            have = ", ".join(f"{lb} #{i}" for lb, i in self.record_sets()) or "none"
            raise FileNotFoundError(2, f"no records of {label!r} replication {replication} "
                                    f"(the folder has: {have})", str(self.path))
        return pd.DataFrame(read_records(csv_path, cols))


def _labels(folder: Path, run: dict[str, Any]) -> dict[str, Path]:
    arms = run.get("scenarios")
    out: dict[str, Path] = {}
    for a in arms if isinstance(arms, list) else []:
        if isinstance(a, dict) and "label" in a:
            out[str(a["label"])] = folder / str(a["folder"]) if a.get("folder") else folder
    if not out:
        out[str(run.get("scenario", folder.name))] = folder
    return out


def open_results(path: str | Path) -> Results:
    """Read the results folder ``path`` (written by run, compare or sweep)."""
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(2, "no such results folder", str(folder))
    run: dict[str, Any] = {}
    if (folder / "run.json").exists():
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    labels = _labels(folder, run)
    pq_root = folder / columnar.PARQUET_DIR

    def table(name: str) -> pd.DataFrame | None:
        if (pq_root / f"{name}.parquet").exists():
            return _group_as_text(pd.read_parquet(pq_root / f"{name}.parquet"))
        if (pq_root / name).is_dir():
            df = pd.read_parquet(pq_root / name)  # Hive partitions by plan= (a short name)
            df = df.drop(columns=["plan"], errors="ignore")
            df["scenario"] = df["scenario"].astype(str)
            return _group_as_text(df[["scenario", *(c for c in df.columns if c != "scenario")]])
        if (folder / f"{name}.csv").exists():
            return read_table_csv(folder / f"{name}.csv")
        return None

    summary = table("summary")
    if summary is None:
        parts = []
        for label, sub in labels.items():
            if (sub / "summary.csv").exists():
                part = read_table_csv(sub / "summary.csv")
                part.insert(0, "scenario", label)
                parts.append(part)
        if not parts:
            raise FileNotFoundError(2, "no summary.csv or parquet/summary.parquet in the "
                                    "results folder", str(folder))
        summary = pd.concat(parts, ignore_index=True)
    elif "scenario" not in summary.columns:
        summary.insert(0, "scenario", next(iter(labels)))
    replications = table("replications")
    if replications is not None and "scenario" in replications.columns:
        order = {lb: i for i, lb in enumerate(labels)}
        replications = replications.sort_values(
            "scenario", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return Results(folder, run, summary, replications, table("comparison"), table("sweep"),
                   table("standards"), labels)
