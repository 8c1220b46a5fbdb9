"""Experiments: replications, plan comparison and sweeps over many runs."""

from sim.experiment.runner import Experiment, compare, run_experiment, sweep

__all__ = ["Experiment", "compare", "run_experiment", "sweep"]
