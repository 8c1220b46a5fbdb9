"""A results folder that always describes one run: built aside, then swapped in.

An experiment writes its outputs into ``out/.staging``; when every file is there,
``publish`` moves the previous run's outputs (what its ``run.json`` lists, and the names
hubsim writes) to ``out/.previous``, the new ones into place, and deletes the old. A
failure before the swap (a full disk, a kill) leaves the old complete set; the swap is a
handful of renames, and if it is interrupted, the next ``begin`` finishes it from the
list of names saved first. ``begin`` also deletes temporary files left by a killed run.
Files in ``out`` that no run wrote (a user's notes) are left alone.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

STAGING = ".staging"
PREVIOUS = ".previous"
SWAP_LIST = ".swap"
"""In the staging folder: the names being swapped in (written before the first rename)."""
KEEP = frozenset({".units", STAGING, PREVIOUS})
"""Hidden entries of a results folder that belong to no single run."""
OUTPUT_NAMES = frozenset({"summary.csv", "replications.csv", "run.json", "records.csv.gz",
                          "scenario.resolved.yaml", "comparison.csv", "sweep.csv", "plots",
                          "report.html", ".replication0", "standards.csv", "results.xlsx",
                          "standards_first_breach.csv", "parquet"})
"""Names a run writes at the top of its folder (besides its plan or point folders)."""
STAGE_KEEP = frozenset({"records.csv.gz", "scenario.resolved.yaml", ".replication0"})
"""Replication 0's files, which a resumed run may reuse from an interrupted staging folder."""
PARQUET_DIR = "parquet"
STAGE_KEEP_DIRS = {PARQUET_DIR: "records"}
"""Staging subfolders kept for a resumed run, with the one subfolder of each kept: the
Parquet records of finished units (each file names its unit's fingerprint, checked before
reuse, ``sim.results.columnar``)."""


def remove_temp_files(folder: Path) -> int:
    """Delete the temporary files ``atomic_write`` leaves when killed; how many."""
    n = 0
    if folder.is_dir():
        for p in folder.rglob(".*.tmp"):
            if p.is_file():
                p.unlink(missing_ok=True)
                n += 1
    return n


def _clear(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _old_outputs(out: Path) -> set[str]:
    """Top-level names of ``out`` that a previous run wrote."""
    names = set(OUTPUT_NAMES)
    try:
        meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
        names |= {Path(f).parts[0] for f in meta.get("files", []) if Path(f).parts}
        names |= {s["folder"] for s in meta.get("scenarios", [])
                  if isinstance(s, dict) and isinstance(s.get("folder"), str)}
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        pass
    return {n for n in names if n not in KEEP and (out / n).exists()
            and "/" not in n and n not in ("", ".", "..")}


def _roll_forward(out: Path) -> None:
    """Finish a swap whose lists of names were saved: old outputs aside, new ones in."""
    stage = out / STAGING
    saved = json.loads((stage / SWAP_LIST).read_text(encoding="utf-8"))
    names, old = list(saved["new"]), set(saved["old"])
    previous = out / PREVIOUS
    previous.mkdir(exist_ok=True)
    for name in sorted(old | _old_outputs(out) | set(names)):
        # a new name still in the staging folder: what stands in out is old
        if (stage / name).exists() or name not in names:
            if (out / name).exists() or (out / name).is_symlink():
                _clear(previous / name)
                os.replace(out / name, previous / name)
    for name in names:
        if (stage / name).exists():
            os.replace(stage / name, out / name)
    shutil.rmtree(previous, ignore_errors=True)
    shutil.rmtree(stage, ignore_errors=True)


def begin(out: Path, keep: Iterable[Path] = ()) -> Path:
    """Get ``out/.staging`` ready for a run and return it.

    Finishes a swap an earlier run left half done, deletes temporary files, and empties
    the staging folder but for replication 0's files in the folders ``keep`` and the
    finished units' Parquet records (so a resumed run need not simulate them again).
    """
    out = Path(out)
    stage = out / STAGING
    if (stage / SWAP_LIST).exists():
        _roll_forward(out)
    shutil.rmtree(out / PREVIOUS, ignore_errors=True)
    remove_temp_files(out)
    stage.mkdir(parents=True, exist_ok=True)
    kept = {Path(k).resolve() for k in keep}
    for p in list(stage.iterdir()):  # the arm folders to keep, replication 0's files
        if not (p.is_dir() and (p.resolve() in kept or p.name in STAGE_KEEP_DIRS)
                or stage.resolve() in kept and p.name in STAGE_KEEP and p.is_file()):
            _clear(p)
    for folder in (p for p in stage.iterdir() if p.is_dir()):
        sub = STAGE_KEEP_DIRS.get(folder.name)
        for p in list(folder.iterdir()):
            if not (p.name in STAGE_KEEP and p.is_file() or p.is_dir() and p.name == sub):
                _clear(p)
    return stage


def publish(out: Path, stage: Path) -> None:
    """Swap the complete new set in ``stage`` into ``out`` (the old set moved aside)."""
    from sim.results.output import write_text

    names = sorted(p.name for p in stage.iterdir() if p.name != SWAP_LIST)
    write_text(stage / SWAP_LIST, json.dumps({"new": names, "old": sorted(_old_outputs(out))}))
    _roll_forward(Path(out))


def adopt(folder: Path, published: Path, names: Iterable[str]) -> bool:
    """Link (or copy) ``names`` from the published folder into a staging folder.

    Returns False, with nothing adopted, if any of them is missing there.
    """
    if not all((published / n).is_file() for n in names):
        return False
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).unlink(missing_ok=True)
        try:
            os.link(published / n, folder / n)
        except OSError:
            shutil.copy2(published / n, folder / n)
    return True
