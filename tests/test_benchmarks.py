"""The benchmark suite runs end to end (smallest sizes); it asserts no speed, only that it works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_quick_suite_runs_and_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    assert text.strip() == proc.stdout.strip()
    for heading in ("## Machine", "## Targets", "### Shape 1: M/M/10",
                    "### Shape 2: 30 independent", "### Shape 3: Himachal",
                    "### Mechanisms:", "### Shape 4: scaling", "### National size",
                    "### Profile of the shipped engine", "### Plots against the simulation",
                    "### Records as CSV.gz and Parquet"):
        assert heading in text, heading
    assert "flat within" not in text  # the withdrawn scaling target
    # every implementation of shapes 1 and 2 reports a positive customers/s figure
    for impl in ("hubsim", "simpy-ref"):
        rates = re.findall(rf"^\| {impl} \| [\d,]+ \| [\d.]+ \| ([\d,]+) \|", text, flags=re.M)
        assert len(rates) == 2, impl
        assert all(int(r.replace(",", "")) > 0 for r in rates)


def test_reference_simpy_matches_erlang_c() -> None:
    """The yardstick is a correct M/M/c: its mean wait is near Erlang C's (loose, one run)."""
    from benchmarks.reference_simpy import Queue, mean_wait, simulate
    from sim.analysis.theory import mmc_wait_mean

    lam, mean = 0.8, 10.0  # M/M/10 at rho 0.8
    waits = simulate([Queue(10, lam, mean)], horizon=60_000.0, seed=3)
    assert abs(mean_wait(waits) - mmc_wait_mean(10, lam, mean)) < 0.35 * mmc_wait_mean(10, lam,
                                                                                      mean)


def test_only_measures_the_sections_asked_for_and_writes_nothing(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--only", "scaling",
         "--runs", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "### Shape 4: scaling" in proc.stdout
    assert "### Shape 1" not in proc.stdout and "### National" not in proc.stdout
    # sizes interleaved: every size reports its repeats and a cost
    rows = re.findall(r"^\| ([\d,]+) \| hubsim \| (\d+) \|", proc.stdout, re.M)
    assert len(rows) == 2 and {int(r[1]) for r in rows} >= {1}
    assert "wrote" not in proc.stderr and not list(tmp_path.iterdir())


def test_instruction_counts_cover_every_mechanism_variant(monkeypatch) -> None:
    """benchmarks.instructions measures the mechanisms section's variants, and says what
    it needs when valgrind is missing (the counting itself takes minutes: not run here)."""
    from benchmarks import instructions
    from sim.engine.mechanisms import SECTIONS

    found = instructions.variants()
    assert list(found) == ["plain", *SECTIONS, "absence", "all"]
    names = (*SECTIONS, "absence")
    assert all(getattr(found["plain"], k) is None for k in names)
    for k in names:  # each variant switches on its own section only
        assert [n for n in names if getattr(found[k], n) is not None] == [k]
    monkeypatch.setattr(instructions.shutil, "which", lambda _: None)
    with pytest.raises(SystemExit, match="needs valgrind"):
        instructions.main([])
