"""The measurement window and when requests stop waiting: the basis every metric shares.

Warm-up is handled by filtering: request-level metrics count the requests that arrived
after the warm-up; time-based metrics integrate over the window [warm-up, horizon).
"""

from __future__ import annotations

import numpy as np

from sim.engine.records import SERVED, UNSERVED, RunResult


def window(result: RunResult) -> tuple[float, float]:
    """The measurement window [warm-up end, horizon) in minutes."""
    return result.warmup, result.horizon


def measured(result: RunResult) -> np.ndarray:
    """Mask of the requests counted in request-level metrics (arrived after warm-up)."""
    return result.records.arrival >= result.warmup


def queue_exit(result: RunResult) -> np.ndarray:
    """When each request stopped waiting: consult start, leaving time, or the horizon."""
    r = result.records
    out = np.where(r.outcome == SERVED, r.start, r.end)
    out[r.outcome == UNSERVED] = result.horizon
    return out


_CHUNK = 1 << 16


def overlap(a: np.ndarray, b: np.ndarray, t0: float, t1: float,
             reuse: bool = False) -> np.ndarray:
    """Length of each [a, b) inside [t0, t1) (0 if none), elementwise.

    With ``reuse`` the result is written over ``b``; the only other temporary is one chunk
    of ``max(a, t0)`` at a time (the same figures as whole-array arithmetic).
    """
    out = np.minimum(b, t1, out=b if reuse else None)
    for i in range(0, len(out), _CHUNK):
        out[i:i + _CHUNK] -= np.maximum(a[i:i + _CHUNK], t0)
    return np.clip(out, 0.0, None, out=out)


def seen_waits(wait: np.ndarray, served: np.ndarray, known: np.ndarray | slice) -> np.ndarray:
    """The waits of the requests whose fate is known: the wait if served, inf if never seen.

    This is the one definition of "seen within T" in tables and plots: a request that gave
    up, was dropped or turned away counts as not seen within any T (counting served
    requests only would make a queue that loses patients look faster); a request still
    waiting at the horizon (unserved) is left out, its fate unknown.
    """
    return np.where(served, wait, np.inf)[known]


def share_seen_within(seen: np.ndarray, t: float) -> float:
    """The share of ``seen_waits`` at most ``t`` minutes (NaN if there are none)."""
    return float(np.count_nonzero(seen <= t)) / len(seen) if len(seen) else float("nan")
