"""Plots: functions that take tables (arrays, rows) and return matplotlib figures.

The engine never imports this module. Figures are built with the object-oriented API
(no pyplot state), so plotting works the same in a terminal, a notebook or a worker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from sim.records import SERVED, RunResult


def waits_by(result: RunResult, by: str = "specialty") -> dict[str, np.ndarray]:
    """Waits (minutes) of served, post-warm-up requests, grouped by a record column."""
    r = result.records
    keep = (r.outcome == SERVED) & (r.arrival >= result.warmup)
    codes = getattr(r, by)
    names = result.labels()[by]
    return {name: (r.start - r.arrival)[keep & (codes == k)] for k, name in enumerate(names)
            if np.any(keep & (codes == k))}


def wait_distribution(waits: Mapping[str, np.ndarray], targets: Sequence[float] = (),
                      title: str = "Wait for a consult by specialty") -> Figure:
    """Box plot of waits per group (whiskers 5th-95th percentile) with service targets."""
    fig = Figure(figsize=(10, 0.45 * max(len(waits), 4) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    names = sorted(waits, key=lambda k: float(np.median(waits[k])) if len(waits[k]) else 0.0)
    data = [waits[n] for n in names]
    ax.boxplot(data, orientation="horizontal", whis=(5, 95), showfliers=False,
               tick_labels=[f"{n} (n={len(waits[n]):,})" for n in names],
               medianprops={"color": "black"})
    ax.scatter([float(np.mean(d)) for d in data], range(1, len(data) + 1), marker="D",
               color="tab:red", zorder=3, label="mean")
    for i, t in enumerate(targets):
        ax.axvline(t, color="tab:green", linestyle=":", linewidth=1,
                   label="service targets" if i == 0 else None)
    ax.set_xlabel("wait from request to consult start (minutes)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right")
    return fig
