"""Results on disk: CSV and Parquet writers (``output``, ``columnar``) and ``open``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from sim.results.folder import Results


def open(path: str | Path) -> Results:  # noqa: A001 - sim.results.open(DIR) reads naturally
    """Open a results folder: its tables as DataFrames (``sim.results.folder.open_results``)."""
    from sim.results.folder import open_results

    return open_results(path)


__all__ = ["open"]
