"""Print the engine-vs-theory table that tests/test_theory.py asserts (README: Validation).

Usage: .venv/bin/python benchmarks/theory_check.py
25 independent replications of 30 days (2 warm-up) per queue; Student-t 95% intervals.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import test_theory as T  # noqa: E402

from sim.analysis import theory  # noqa: E402


def main() -> None:
    c, lam, es = T.MMC
    a = theory.erlang_a(*T.ERLANG_A)
    mmc = T.run_replications(*T.MMC)
    mmcm = T.run_replications(*T.ERLANG_A[:3], patience_mean=T.ERLANG_A[3])
    rows = [
        ("M/M/10, rho 0.85", "mean wait (min)", mmc.wait_served, theory.mmc_wait_mean(*T.MMC)),
        ("", "P(wait)", mmc.p_wait, theory.erlang_c(c, lam * es)),
        ("", "P(W <= 15 min)", mmc.within_15, theory.mmc_wait_cdf(15.0, *T.MMC)),
        ("", "utilisation", mmc.utilisation, theory.mmc_utilisation(*T.MMC)),
        ("", "queue length", mmc.queue_length, theory.mmc_queue_length_mean(*T.MMC)),
        ("M/M/10+M, lambda 1/min, patience 20", "P(abandon)", mmcm.abandonment, a.p_abandon),
        ("", "P(wait)", mmcm.p_wait, a.p_wait),
        ("", "mean wait, served (min)", mmcm.wait_served, a.wait_mean_served),
        ("", "queue length", mmcm.queue_length, a.queue_length_mean),
        ("", "utilisation", mmcm.utilisation, a.utilisation),
    ]
    print(f"| queue | statistic | simulated mean [95% CI], {T.REPLICATIONS} reps | theory |")
    print("|---|---|---|---|")
    for queue, stat, values, expected in rows:
        m, lo, hi = T.t_interval(values)
        ok = "" if lo <= expected <= hi else " (outside)"
        print(f"| {queue} | {stat} | {m:.4f} [{lo:.4f}, {hi:.4f}] | {expected:.4f}{ok} |")


if __name__ == "__main__":
    main()
