"""Execution: worker processes, a Dask cluster, the executor seam, resume after a kill.

Every executor must give bit-identical tables; the parallel runs must really be parallel.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.experiment.runner import compare, run_experiment
from sim.scenario.loader import apply_overrides
from sim.scenario.textbook import queue_scenario

ROOT = Path(__file__).resolve().parent.parent


def scenario(days: int = 6):
    return queue_scenario(3, 0.25, 10, horizon_days=days, warmup_days=1, seed=5,
                          patience_mean=40.0, name="par")


def same_tables(a, b) -> None:
    pd.testing.assert_frame_equal(a.replications, b.replications, check_exact=True)
    pd.testing.assert_frame_equal(a.summary, b.summary, check_exact=True)


def test_process_pool_is_parallel_and_bit_identical(tmp_path: Path) -> None:
    sc = scenario(days=12)
    seq = run_experiment(sc, 6, out=tmp_path / "seq", plot=False)
    par = run_experiment(sc, 6, jobs=2, out=tmp_path / "par", plot=False)
    assert seq.workers == {os.getpid()}
    assert len(par.workers) > 1 and os.getpid() not in par.workers  # really other processes
    same_tables(seq, par)
    for name in ("summary.csv", "replications.csv", "records.csv.gz"):
        assert (tmp_path / "seq" / name).read_bytes() == (tmp_path / "par" / name).read_bytes()


def test_compare_in_parallel_equals_sequential() -> None:
    base = scenario()
    plan = apply_overrides(base, {"routing.policy": "pooled", "name": "pooled"})
    a = compare(base, [plan], 3)
    b = compare(base, [plan], 3, jobs=2)
    pd.testing.assert_frame_equal(a.comparison, b.comparison, check_exact=True)
    assert len(b.workers) > 1


def test_any_concurrent_futures_executor_plugs_in() -> None:
    sc = scenario()
    seq = run_experiment(sc, 3)
    with cf.ThreadPoolExecutor(max_workers=3) as pool:
        threaded = run_experiment(sc, 3, executor=pool)
        assert not pool._shutdown  # an executor passed in is left to its owner
    same_tables(seq, threaded)


def test_dask_local_cluster_gives_identical_tables() -> None:
    distributed = pytest.importorskip("distributed")
    sc = scenario()
    seq = run_experiment(sc, 4)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        remote = run_experiment(sc, 4, executor=f"dask://{address}")
    same_tables(seq, remote)
    assert os.getpid() not in remote.workers


def test_unreachable_dask_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    from sim.experiment import executors
    from sim.experiment.executors import ExecutorError

    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT", "1s")

    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler"):
        run_experiment(scenario(), 2, executor="dask://127.0.0.1:9")


def _hubsim(*args: str) -> list[str]:
    return [sys.executable, "-m", "sim", *args]


def test_killed_run_resumes_with_identical_results(tmp_path: Path) -> None:
    """Kill a run after a few replications; re-running the command finishes the rest."""
    sc_file = tmp_path / "slow.yaml"
    from sim.results.output import scenario_yaml

    sc_file.write_text(scenario_yaml(queue_scenario(10, 0.85, 10, horizon_days=8,
                                                    warmup_days=1, seed=3, name="slow")))
    out = tmp_path / "killed"
    argv = _hubsim("run", str(sc_file), "-n", "8", "--no-plot", "--out", str(out))
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    units = out / ".units"
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        done = len(list(units.glob("*/rep-*.csv"))) if units.exists() else 0
        if done >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done = len(list(units.glob("*/rep-*.csv")))
    assert 3 <= done < 8
    assert not (out / "replications.csv").exists()  # the experiment never finished

    resumed = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done} finished runs resumed" in resumed.stdout
    fresh = subprocess.run([*argv[:-1], str(tmp_path / "fresh")], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stderr == ""  # no progress bar when stderr is not a terminal
    for name in ("summary.csv", "replications.csv", "records.csv.gz"):
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name
    # a third run on a finished folder recomputes nothing
    again = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "8 finished runs resumed from the output folder, 0 run now" in again.stdout
    assert (out / "summary.csv").read_bytes() == (tmp_path / "fresh" / "summary.csv").read_bytes()


def test_changed_scenario_does_not_reuse_stale_units(tmp_path: Path) -> None:
    sc = scenario()
    first = run_experiment(sc, 2, out=tmp_path, plot=False)
    assert first.computed == 2 and first.resumed == 0
    again = run_experiment(sc, 3, out=tmp_path, plot=False)
    assert again.resumed == 2 and again.computed == 1
    busier = apply_overrides(sc, {"demand.growth": 1.2})
    other = run_experiment(busier, 2, out=tmp_path, plot=False)
    assert other.resumed == 0 and other.computed == 2
    reseeded = run_experiment(sc, 2, seed=6, out=tmp_path, plot=False)
    assert reseeded.resumed == 0
    # back to the first scenario: its units are reused, but replication 0's records now in
    # the folder are the reseeded run's, so replication 0 is run again to rewrite them
    back = run_experiment(sc, 2, out=tmp_path, plot=False)
    assert back.resumed == 1 and back.computed == 1
    run_experiment(sc, 2, out=tmp_path / "fresh", plot=False)
    assert (tmp_path / "records.csv.gz").read_bytes() == (
        tmp_path / "fresh" / "records.csv.gz").read_bytes()


def test_compare_and_sweep_resume_from_their_units(tmp_path: Path) -> None:
    from sim.experiment.runner import sweep

    base = scenario()
    plan = apply_overrides(base, {"queue.patience.mean": 20.0, "name": "impatient"})
    first = compare(base, [plan], 3, out=tmp_path / "cmp")
    again = compare(base, [plan], 3, out=tmp_path / "cmp")
    assert first.computed == 6 and again.resumed == 6 and again.computed == 0
    pd.testing.assert_frame_equal(first.comparison, again.comparison, check_exact=True)
    grid = {"demand.growth": [1.0, 1.1]}
    s1 = sweep(base, grid, 2, out=tmp_path / "sw")
    s2 = sweep(base, grid, 2, out=tmp_path / "sw")
    assert s2.resumed == 4 and s2.computed == 0
    pd.testing.assert_frame_equal(s1.table, s2.table, check_exact=True)
