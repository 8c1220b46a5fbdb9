"""A results folder as the report reads it: its tables, resolved scenarios and plots."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.present.plots import PLOT_DIR

PLOT_ORDER: tuple[str, ...] = (
    "comparison", "sweep", "wait_ecdf_by_hub", "wait_by_specialty", "wait_by_time",
    "queue_length", "utilisation_heatmap", "equity_by_district",
)
"""The order plots appear in the report: experiment-level first, then each run's."""


def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class ResultsFolder:
    """The tables found in a results folder (missing ones empty)."""

    path: Path
    run: dict[str, Any]
    scenario: dict[str, Any]
    summary: list[dict[str, str]]
    comparison: list[dict[str, str]]
    sweep: list[dict[str, str]]
    replications: list[dict[str, str]]
    standards: list[dict[str, str]] = field(default_factory=list)
    arms: dict[str, dict[str, Any]] = field(default_factory=dict)
    staffing: list[dict[str, str]] = field(default_factory=list)
    """``hubsim staff``'s staffing.csv; its verification.csv is then ``standards``."""
    infeasible: list[dict[str, str]] = field(default_factory=list)
    """Each plan's or point's resolved scenario, by label, base first (experiments only)."""

    @classmethod
    def read(cls, path: str | Path) -> ResultsFolder:
        """Read whatever tables ``path`` holds."""
        from sim.results.output import read_csv

        folder = Path(path)
        if not folder.is_dir():
            raise FileNotFoundError(2, "no such results folder", str(folder))

        def csv(name: str) -> list[dict[str, str]]:
            return read_csv(folder / name) if (folder / name).exists() else []

        run: dict[str, Any] = {}
        if (folder / "run.json").exists():
            run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        listed = run.get("scenarios")
        arms: dict[str, dict[str, Any]] = {}
        for a in listed if isinstance(listed, list) else []:
            if isinstance(a, dict) and a.get("folder"):
                sc = _yaml(folder / str(a["folder"]) / "scenario.resolved.yaml")
                if sc:
                    arms[str(a.get("label") or a["folder"])] = sc
        # The base plan's scenario for a comparison (its folder is listed first in run.json).
        scenario = _yaml(folder / "scenario.resolved.yaml") or next(iter(arms.values()), {})
        if not scenario:
            scenario = next((s for p in sorted(folder.glob("*/scenario.resolved.yaml"))
                             if (s := _yaml(p))), {})
        return cls(folder, run, scenario, csv("summary.csv"), csv("comparison.csv"),
                   csv("sweep.csv"), csv("replications.csv"),
                   csv("standards.csv") or csv("verification.csv"), arms,
                   csv("staffing.csv"), csv("infeasible.csv"))

    @property
    def kind(self) -> str:
        """``compare``, ``sweep``, ``staff`` or ``run``: what produced the folder."""
        if self.run.get("command") == "staff":
            return "staff"
        if self.comparison:
            return "compare"
        if self.sweep:
            return "sweep"
        return "run"

    @property
    def name(self) -> str:
        """The scenario's name (the base's, for an experiment)."""
        return str(self.scenario.get("name") or self.run.get("scenario") or self.path.name)

    @property
    def hub_names(self) -> dict[str, str]:
        """``{hub id: hub name}`` over every scenario in the folder."""
        out: dict[str, str] = {}
        for sc in (self.scenario, *self.arms.values()):
            for h in sc.get("hubs") or []:
                if isinstance(h, Mapping) and h.get("name"):
                    out.setdefault(str(h["id"]), str(h["name"]))
        return out

    def plots(self) -> list[Path]:
        """The plots of the folder, then those of its plan/point subfolders.

        One file per plot: its SVG, or its PNG where there is no SVG.
        """
        order = list(PLOT_ORDER)

        def key(p: Path) -> tuple[int, str]:
            return (order.index(p.stem) if p.stem in order else len(order), p.stem)

        def one_each(pattern: str) -> list[Path]:
            files = {p for p in self.path.glob(pattern) if p.suffix in (".svg", ".png")}
            return [p for p in files if p.suffix == ".svg" or p.with_suffix(".svg") not in files]

        own = sorted(one_each(f"{PLOT_DIR}/*"), key=key)
        subs = sorted(one_each(f"*/{PLOT_DIR}/*"), key=lambda p: (p.parts[-3], *key(p)))
        return own + subs


def command_line(run: Mapping[str, Any]) -> str | None:
    """The ``hubsim`` command line that produced a folder, from run.json's ``arguments``."""
    import shlex

    args = run.get("arguments")
    if not isinstance(args, Mapping) or not args.get("command"):
        return None
    parts = ["hubsim", str(args["command"])]
    for key in ("scenario", "base"):
        if args.get(key):
            parts.append(str(args[key]))
    parts += [str(p) for p in args.get("plans") or []]
    for key, value in args.items():
        if key in ("command", "scenario", "base", "plans", "func") or value in (None, False, ""):
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            parts.append(flag)
        elif isinstance(value, list):
            for item in value:
                parts += [flag, str(item)]
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)
