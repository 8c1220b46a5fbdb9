"""``summary_rows`` (every grouping at once) against a plain per-group reference.

The reference below selects each group's rows with a mask and calls the per-group metric
functions (``request_metrics``, ``capacity_metrics``, ...), as ``summary_rows`` did before
it was vectorised. Both must give the same rows in the same order; integer counts and the
optional mechanisms' figures must be equal (``sim.analysis.grouped`` adds each group's sums
as numpy does), every other value equal within a relative 1e-12 (sums may be added in
another order), NaN equal to NaN.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pytest

from sim.analysis.mechanisms import booking_capacity_metrics
from sim.analysis.metrics import (
    REQUEST_GROUPS,
    Row,
    _codes,
    _groups,
    capacity_metrics,
    extra_groups,
    group_extra_metrics,
    measured,
    realism_metrics,
    request_metrics,
    summary_rows,
)
from sim.engine.model import Model
from sim.engine.records import OUTCOMES, RunResult
from sim.scenario.loader import apply_overrides, load_scenario
from sim.scenario.schema import Scenario
from sim.scenario.textbook import queue_scenario

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks import shapes  # noqa: E402


def reference_summary_rows(result: RunResult, by: Iterable[str] = REQUEST_GROUPS) -> list[Row]:
    """One group at a time: a mask of its rows, then the per-group metric functions."""
    rows: list[Row] = []

    def emit(group_by: str, group: str, values: dict[str, float]) -> None:
        rows.extend({"metric": m, "group_by": group_by, "group": group, "value": v}
                    for m, v in values.items())

    pools = sorted(result.duty)
    emit("all", "all", request_metrics(result, slice(None)) | capacity_metrics(result, pools))
    is_measured = measured(result)
    by = list(by)
    by += extra_groups(result, by)
    for g in by:
        codes, groups = _codes(result, g, slice(None)), _groups(result, g)
        for code, name in groups:
            mask = codes == code
            values: dict[str, float] = {}
            if is_measured[mask].any():
                values = request_metrics(result, mask)
            if g == "hub" and code >= 0:
                values |= capacity_metrics(result, [p for p in pools if p[0] == code])
            elif g == "specialty":
                values |= capacity_metrics(result, [p for p in pools if p[1] == code])
            elif g in ("tier", "priority"):
                at = np.flatnonzero(mask)
                values |= group_extra_metrics(result, g, code, at, bool(is_measured[at].any()))
            if values:
                emit(g, name, values)
    hubs, specs = result.scenario.hub_ids, result.scenario.specialty_names
    r = result.records
    for h, hub in enumerate(hubs):
        for s, spec in enumerate(specs):
            mask = (r.hub == h) & (r.specialty == s)
            values = request_metrics(result, mask) if is_measured[mask].any() else {}
            if (h, s) in pools:
                values |= capacity_metrics(result, [(h, s)])
            if values:
                emit("hub_specialty", f"{hub}/{spec}", values)
    for d, district in enumerate(result.scenario.district_names):
        for s, spec in enumerate(specs):
            mask = (r.district == d) & (r.specialty == s)
            if is_measured[mask].any():
                emit("district_specialty", f"{district}/{spec}", request_metrics(result, mask))
    return rows


COUNTS = {*OUTCOMES, "arrivals", "overtime_consults", "booked", "phc_consults", "escalated",
          "slots_offered", "slots_booked"}


def mechanism_metrics(result: RunResult) -> set[str]:
    """The names of the optional mechanisms' figures in the summary."""
    sc = result.scenario
    names = set(realism_metrics(result, slice(None)))
    names |= set(booking_capacity_metrics(result, sorted(result.duty)))
    if sc.priorities is not None:
        names |= {f"share_within_class_target_{t:g}_min"
                  for c in sc.priorities.classes for t in c.targets_min}
    return names


def _himachal(over: dict | None = None) -> Callable[[], Scenario]:
    def build() -> Scenario:
        sc = load_scenario(ROOT / "scenarios" / "himachal-baseline.yaml")
        return apply_overrides(sc, over, source="<test>") if over else sc
    return build


CASES: dict[str, Callable[[], Scenario]] = {
    "M/M/4+M": lambda: queue_scenario(4, 0.5, 8.0, patience_mean=15.0, horizon_days=3,
                                      warmup_days=0.5),
    "D/D/3 ties": lambda: queue_scenario(3, 0.5, 6.0, service="deterministic",
                                         arrivals="regular", horizon_days=3),
    "few requests": lambda: queue_scenario(1, 0.002, 30.0, horizon_days=2, warmup_days=0.5),
    "no requests": lambda: queue_scenario(1, 1e-7, 1.0, horizon_days=1, warmup_days=0.0),
    "network30": lambda: shapes.network30(5_000, days=3),
    "himachal": _himachal(),
    "himachal pooled drop": _himachal({"routing.policy": "pooled",
                                       "queue.session_end": "drop"}),
    "himachal realism": lambda: load_scenario(ROOT / "scenarios" / "himachal-realism.yaml"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_summary_rows_match_the_per_group_reference(name: str) -> None:
    result = Model(CASES[name](), 1).run()
    got, want = summary_rows(result), reference_summary_rows(result)
    exact = COUNTS | mechanism_metrics(result)
    assert [(r["metric"], r["group_by"], r["group"]) for r in got] == \
        [(r["metric"], r["group_by"], r["group"]) for r in want]
    for g, w in zip(got, want, strict=True):
        a, b = float(g["value"]), float(w["value"])
        where = f"{w['metric']} {w['group_by']}={w['group']}: {a!r} != {b!r}"
        if math.isnan(b):
            assert math.isnan(a), where
        elif w["metric"] in exact:
            assert a == b, where
        else:
            assert math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0), where


def test_percentiles_follow_numpys_linear_method_on_ties() -> None:
    """Waits with many ties and groups of one or two served requests, against np.percentile."""
    result = Model(queue_scenario(2, 0.05, 30.0, service="deterministic", horizon_days=2,
                                  warmup_days=0.0), 3).run()
    rows = summary_rows(result, by=("hour",))
    r = result.records
    served = r.outcome == 0
    hour = np.floor(r.arrival % 1440.0 / 60.0)
    checked = 0
    for h in range(24):
        wait = (r.start - r.arrival)[served & (hour == h)]
        got = {row["metric"]: row["value"] for row in rows
               if row["group_by"] == "hour" and row["group"] == f"{h:02d}"}
        if len(wait):
            want = np.percentile(wait, [50, 90, 95])
            assert [got["wait_p50_min"], got["wait_p90_min"], got["wait_p95_min"]] == \
                want.tolist()
            assert got["wait_max_min"] == wait.max()
            checked += 1
    assert checked >= 10


def _same_rows(a: list[Row], b: list[Row]) -> bool:
    return [(r["metric"], r["group_by"], r["group"]) for r in a] == \
        [(r["metric"], r["group_by"], r["group"]) for r in b] and all(
            float(x["value"]).hex() == float(y["value"]).hex() for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("name", ["M/M/4+M", "network30", "himachal pooled drop",
                                  "himachal realism"])
def test_summary_is_the_same_bit_for_bit_however_the_records_are_blocked(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pass over the records adds sums in record order: block size changes nothing."""
    from sim.analysis import metrics
    result = Model(CASES[name](), 1).run()
    whole = summary_rows(result)
    assert len(result.records) > 1000
    for rows in (1, 7, 1000):
        monkeypatch.setattr(metrics, "PASS_ROWS", rows)
        assert _same_rows(summary_rows(result), whole), rows


@pytest.mark.parametrize("name", ["D/D/3 ties", "network30", "himachal"])
def test_order_statistics_are_the_same_by_one_sort_or_by_partial_sorts(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.analysis import metrics
    result = Model(CASES[name](), 1).run()
    monkeypatch.setattr(metrics, "SORT_ONCE_BELOW", 0)
    partial = summary_rows(result)
    monkeypatch.setattr(metrics, "SORT_ONCE_BELOW", 10**9)
    assert _same_rows(summary_rows(result), partial)
