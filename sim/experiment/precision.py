"""What ``--precision`` drives down: named metrics in named groups, or the standards' verdicts.

A target is ``standards`` (every verdict settled), ``METRIC`` (the whole system),
``METRIC@GROUP_BY`` (every group of a grouping) or ``METRIC@GROUP_BY=GROUP`` (one group),
e.g. ``wait_mean_min@specialty=cardiology``. The state is the worst relative CI
half-width among them; the experiment adds replications until it is at most the precision.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence

import pandas as pd

STANDARDS = "standards"


def check_targets(targets: Sequence[str]) -> list[str]:
    """The targets, each checked for form (ValueError naming the bad one)."""
    out = []
    for t in targets:
        metric, at, where = str(t).partition("@")
        if not metric or (at and (not where.partition("=")[0] or where.endswith("="))):
            raise ValueError(f"precision target {t!r} is not 'standards', METRIC, "
                             "METRIC@GROUP_BY or METRIC@GROUP_BY=GROUP")
        out.append(str(t))
    return out


def _metric_widths(summary: pd.DataFrame, target: str) -> dict[str, float]:
    metric, _, where = target.partition("@")
    group_by, _, group = where.partition("=")
    rows = summary[(summary["metric"] == metric) & (summary["group_by"] == (group_by or "all"))]
    if group:
        rows = rows[rows["group"] == group]
    if rows.empty:
        known = sorted(set(summary["metric"]))
        close = difflib.get_close_matches(metric, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close and close[0] != metric else ""
        raise ValueError(f"precision target {target!r} matches nothing in the summary{hint} "
                         "(a metric of summary.csv, its group_by and group)")
    out = {}
    for g, mean, lo, hi in zip(rows["group"], rows["mean"], rows["ci_low"], rows["ci_high"],
                               strict=True):
        mean, lo, hi = float(mean), float(lo), float(hi)
        if not math.isfinite(mean) or mean == 0.0:
            continue  # e.g. abandonment without patience: nothing to pin down
        name = metric if g == "all" else f"{metric}@{group_by}={g}"
        out[name] = (hi - lo) / 2.0 / abs(mean) if math.isfinite(hi - lo) else math.inf
    return out


def _standard_widths(standards: pd.DataFrame) -> dict[str, float]:
    """Unsettled verdicts' CI half-widths relative to their targets (settled ones: none)."""
    out = {}
    open_ = standards[standards["verdict"] == "not settled"]
    for std, group, target, lo, hi in zip(open_["standard"], open_["group"], open_["target"],
                                          open_["ci_low"], open_["ci_high"], strict=True):
        width = float(hi) - float(lo)
        out[f"{std}@{group}"] = (width / 2.0 / float(target)
                                 if math.isfinite(width) and target else math.inf)
    return out


def precision_state(summary: pd.DataFrame, standards: pd.DataFrame | None,
                    targets: Sequence[str]) -> tuple[float, dict[str, float]]:
    """The worst relative half-width among ``targets`` and each one's width.

    For ``standards``, only verdicts that are ``not settled`` count, each by its CI
    half-width relative to its target: precision is reached when every verdict is met,
    breached or too small, or when the undecided ones are within the precision of their
    target (as close to it as this precision can tell).
    """
    widths: dict[str, float] = {}
    for t in targets:
        if t == STANDARDS:
            if standards is not None:
                widths |= _standard_widths(standards)
        else:
            widths |= _metric_widths(summary, t)
    worst = max(widths.values()) if widths else 0.0
    return worst, widths
