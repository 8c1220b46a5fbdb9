"""Options that several subcommands share: one definition, one wording, one bound."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from sim.analysis.warmup import analyse_warmup
from sim.cli import build_parser, main
from sim.commands.common import REPLICATION_OPTIONS
from sim.experiment import compare, run_experiment, sweep
from sim.experiment.budget import MAX_REPLICATIONS, check_replications
from sim.scenario.textbook import queue_scenario
from sim.staffing.api import staff

OVER = str(MAX_REPLICATIONS + 1)
MMC = "scenarios/textbook/mmc.yaml"


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize(("argv", "option"), [
    (["run", MMC, "-n", OVER], "--replications/-n"),
    (["run", MMC, "--precision", "0.05", "--max-replications", OVER], "--max-replications"),
    (["compare", MMC, MMC, "--replications", OVER], "--replications/-n"),
    (["sweep", MMC, "--set", "demand.growth=1,2", "-n", OVER], "--replications/-n"),
    (["warmup", MMC, "-n", OVER], "--replications/-n"),
    (["staff", MMC, "-n", OVER], "--replications/-n"),
    (["staff", MMC, "--verify-replications", OVER], "--verify-replications"),
])
def test_too_many_replications_exit_2_with_one_line_before_anything_runs(
        argv: list[str], option: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"hubsim: error: {option} {MAX_REPLICATIONS + 1:,} is more than "
                          f"{MAX_REPLICATIONS:,}")
    assert "--precision" in err and "--seed" in err  # what to do instead
    assert not out.exists()


def test_every_replication_count_option_is_bounded() -> None:
    """A new count option must be added to REPLICATION_OPTIONS to be checked."""
    seen = {}
    for parser in _subparsers().values():
        for action in parser._actions:
            if action.dest.endswith("replications"):
                seen[action.dest] = "/".join(action.option_strings)
    assert seen == REPLICATION_OPTIONS


def test_the_python_api_has_the_same_bound() -> None:
    sc = queue_scenario(2, 1 / 10, 12, horizon_days=2, warmup_days=0)
    check_replications(MAX_REPLICATIONS)  # the bound itself is allowed
    over = MAX_REPLICATIONS + 1
    with pytest.raises(ValueError, match=f"replications {over:,} is more than 10,000"):
        run_experiment(sc, over)
    with pytest.raises(ValueError, match=f"max_replications {over:,} is more than 10,000"):
        run_experiment(sc, precision=0.05, max_replications=over)
    with pytest.raises(ValueError, match="more than 10,000"):
        compare(sc, [sc], over)
    with pytest.raises(ValueError, match="more than 10,000"):
        sweep(sc, {"demand.growth": [1.0, 2.0]}, over)
    with pytest.raises(ValueError, match="more than 10,000"):
        analyse_warmup(sc, over)
    with pytest.raises(ValueError, match="verify_replications .* more than 10,000"):
        staff(sc, verify_replications=over)


SHARED = ("--out", "--seed", "--days", "--set", "--jobs", "--executor", "--png", "--quiet",
          "results_dir")
OWN_WORDING = {
    ("compare", "--seed"), ("compare", "--days"), ("compare", "--set"),  # every plan, the base
    ("new-state", "--seed"), ("new-state", "--days"), ("new-state", "--out"),  # the new file
    ("report", "--out"), ("export", "--out"),  # a file, not a folder
    ("validate", "--quiet"), ("diff", "--set"), ("sweep", "--set"),  # other meanings
}


def test_shared_options_read_the_same_in_every_subcommand() -> None:
    for option in SHARED:
        wordings: dict[str, set[str]] = {}
        for name, parser in _subparsers().items():
            for action in parser._actions:
                if option in action.option_strings or action.dest == option:
                    if (name, option) not in OWN_WORDING:
                        text = str(action.help)
                        if option == "--out":  # the default folder is each command's own
                            text = text.split(" (default")[0]
                        wordings.setdefault(text, set()).add(name)
        assert len(wordings) == 1, f"{option} is worded {len(wordings)} ways: {wordings}"


def test_more_worker_processes_than_the_machine_can_use_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    from sim.experiment.executors import MAX_JOBS_PER_CPU, ExecutorError, open_executor

    most = MAX_JOBS_PER_CPU * (os.cpu_count() or 1)
    with open_executor("process", most):  # the bound itself is allowed
        pass
    with pytest.raises(ExecutorError, match=r"logical CPUs.*use --jobs"):
        with open_executor("process", most + 1):
            pass
    out = tmp_path / "o"
    assert main(["run", MMC, "--days", "8", "-n", "2", "-j", "100000", "--no-plot", "-q",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "jobs (--jobs) 100,000 is more than" in err, err
    assert "Traceback" not in err and not (out / "run.json").exists()
