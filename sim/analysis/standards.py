"""Judging service standards against replications: the standards table (standards.csv).

One row per (standard, group). Columns, in this order:

- ``standard``: the standard's id; ``label``: its plain words; ``measure``;
- ``group_by``: ``all`` or the ``by`` keys joined by ``_`` (``hub_specialty``);
  ``group``: the group's labels joined by ``/`` (``igmc_shimla/cardiology``);
- ``target``, ``mean``, ``ci_low``, ``ci_high``: in the measure's own unit, a fraction
  (0.9 = 90%) for shares and abandonment, minutes for waits; the interval stays inside the
  measure's range (NaN when the group is too small or there are fewer than 2 replications);
- ``sense``: ``at_least`` or ``at_most``; ``confidence``; ``n``: replications judged;
  ``requests``: mean requests per replication in the group (the measure's denominator);
- ``verdict``: ``met`` (the whole interval on the right side of the target), ``breached``
  (the whole interval on the wrong side), ``not settled`` (the interval holds the target)
  or ``too small`` (under ``min_requests`` requests per replication);
- ``gap``: how far the mean misses the target (positive: short of it, negative: better
  than it), in ``unit``: ``pp`` (percentage points) for shares, ``min``, ``h`` or ``d``
  for waits; ``relative_gap``: the shortfall as a fraction of the target (for ordering).

``compare`` puts ``plan`` first and adds ``change``, ``change_ci_low``, ``change_ci_high``
(plan minus base, paired over replications, in the measure's unit); ``sweep`` puts
``point`` and the swept keys first.
"""

from __future__ import annotations

STANDARDS_COLUMNS: tuple[str, ...] = (
    "standard", "label", "measure", "group_by", "group", "target", "sense", "mean", "ci_low",
    "ci_high", "n", "requests", "confidence", "verdict", "gap", "unit", "relative_gap")
VERDICTS: tuple[str, ...] = ("breached", "not settled", "met", "too small")
