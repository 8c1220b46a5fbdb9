"""The staffing-study notebook is committed clean and runs from top to bottom."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "staffing-study.ipynb"


def test_notebook_is_committed_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "the notebook has no code"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_notebook_uses_only_the_public_api() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import sim" in source
    for private in ("sim._", "._run", "_Runner", "from sim.engine.model", "sim.engine.records"):
        assert private not in source, private


def test_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBSIM_OUT", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    elapsed = time.perf_counter() - t0
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert len(images) >= 5, "the notebook should show the baseline, comparison and sweep plots"
    assert (tmp_path / "compare" / "report.html").stat().st_size > 10_000
    assert (tmp_path / "baseline" / "plots" / "queue_length.svg").exists()
    print(f"notebook executed in {elapsed:.1f} s")
