"""Metrics of the optional mechanisms: booking, failed calls, PHC tier, follow-ups, priorities.

Each is computed only when the scenario switches its mechanism on; ``summary_rows``
(``sim.analysis.metrics``) adds them to its groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from sim.analysis.window import overlap, window
from sim.engine.records import GAVE_UP, NO_SHOW, SERVED, TURNED_AWAY, UNSERVED, RunResult


def uses_mechanisms(result: RunResult) -> bool:
    """Whether the scenario switches on any mechanism with request-level metrics."""
    sc = result.scenario
    return any(getattr(sc, k) is not None for k in
               ("booking", "failures", "phc_tier", "followups", "priorities"))


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else float("nan")


def _p90(x: np.ndarray) -> float:
    return float(np.percentile(x, 90)) if len(x) else float("nan")


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _measured_rows(result: RunResult, mask: np.ndarray | slice) -> np.ndarray:
    """Row numbers selected by a boolean mask, row numbers or a slice, arrived after warm-up."""
    idx = np.arange(len(result.records))[mask]
    return idx[result.records.arrival[idx] >= result.warmup]


def realism_metrics(result: RunResult, mask: np.ndarray | slice) -> dict[str, float]:
    """Booking, failed-call, PHC-tier and follow-up metrics of the selected requests.

    Only the mechanisms the scenario switches on are reported. Access delay is slot minus
    request time; the share booked within N days is over requests that sought a slot
    (booked or turned away); an escalated request's end-to-end wait runs from the original
    request to the specialist consult start, its hub-stage wait from joining the hub queue.
    """
    sc, r = result.scenario, result.records
    at = _measured_rows(result, mask)
    out: dict[str, float] = {}
    outcome = r.outcome[at]
    served = outcome == SERVED
    if sc.booking is not None:
        booked = ~np.isnan(r.slot[at])
        delay = (r.slot[at] - r.arrival[at])[booked]
        sought = float(booked.sum() + np.sum(outcome == TURNED_AWAY))
        out["booked"] = float(booked.sum())
        out["access_delay_mean_days"] = _mean(delay) / 1440.0
        out["access_delay_mean_hours"] = _mean(delay) / 60.0
        out["access_delay_p90_days"] = _p90(delay) / 1440.0
        for days in sc.booking.report_within_days:
            out[f"share_booked_within_{days:g}_days"] = _ratio(
                float(np.sum(delay <= days * 1440.0)), sought)
        out["turned_away_rate"] = _ratio(float(np.sum(outcome == TURNED_AWAY)), sought)
        out["no_show_rate"] = _ratio(float(np.sum(outcome == NO_SHOW)), float(booked.sum()))
        out["clinic_wait_mean_min"] = _mean((r.start[at] - r.queued[at])[served & booked])
    if sc.failures is not None:
        attempts = r.attempts[at].astype(np.int64)
        failed = float(attempts.sum() - np.sum(served & (r.tier[at] != 1)))
        out["attempts"] = float(attempts.sum())
        out["failed_attempts"] = failed
        out["attempt_failure_rate"] = _ratio(failed, float(attempts.sum()))
        out["gave_up_rate"] = _ratio(float(np.sum(outcome == GAVE_UP)), float(len(at)))
        out["doctor_min_lost"] = float(r.lost_min[at].sum())
    if sc.phc_tier is not None:
        tier = r.tier[at]
        seen = ~np.isnan(r.phc_start[at])
        esc = tier == 2
        out["phc_consults"] = float(seen.sum())
        out["phc_resolved"] = float(np.sum(tier == 1))
        out["escalated"] = float(esc.sum())
        out["escalation_rate"] = _ratio(float(esc.sum()), float(seen.sum()))
        out["phc_wait_mean_min"] = _mean((r.phc_start[at] - r.arrival[at])[seen])
        e2e = (r.start[at] - r.arrival[at])[served & esc]
        out["end_to_end_wait_mean_min"] = _mean(e2e)
        out["end_to_end_wait_p90_min"] = _p90(e2e)
        out["hub_stage_wait_mean_min"] = _mean((r.start[at] - r.queued[at])[served & esc])
    if sc.followups is not None:
        done = served & (r.tier[at] != 1) & (r.end[at] <= result.horizon)
        can = done & ((r.parent[at] < 0) | sc.followups.repeat)  # may ask for a follow-up
        step = r.next_step[at]
        out["consults_completed"] = float(done.sum())
        out["followups_requested"] = float(np.sum(step == 1))
        out["followup_share"] = _ratio(float(np.sum(step == 1)), float(can.sum()))
        out["referred"] = float(np.sum(step == 2))
        out["referral_share"] = _ratio(float(np.sum(step == 2)), float(done.sum()))
        out["followup_arrivals"] = float(np.sum(r.parent[at] >= 0))
    return out


def _in_pools(hub: np.ndarray, spec: np.ndarray, pools: list[tuple[int, int]]) -> np.ndarray:
    """Whether each (hub, specialty) row is one of ``pools`` (indices above -2, below 2**16)."""
    def key(h: Any, s: Any) -> Any:
        return (np.asarray(h, dtype=np.int64) + 1) * 65536 + (np.asarray(s, dtype=np.int64) + 1)

    return np.isin(key(hub, spec), [int(key(h, s)) for h, s in pools])


def booking_capacity_metrics(result: RunResult, pools: list[tuple[int, int]]) -> dict[str, float]:
    """Slots offered and booked, and doctor absence, of the given pools in the window."""
    out: dict[str, float] = {}
    t0, t1 = window(result)
    slots = result.tables.get("slots")
    if slots is not None and len(slots["time"]):
        inwin = (_in_pools(slots["hub"], slots["specialty"], pools)
                 & (slots["time"] >= t0) & (slots["time"] < t1))
        if inwin.any():
            out["slots_offered"] = float(inwin.sum())
            out["slots_booked"] = float(np.sum(slots["booked"][inwin]))
            out["slot_utilisation"] = out["slots_booked"] / out["slots_offered"]
    sess = result.tables.get("sessions")
    if sess is not None and len(sess["start"]):
        inwin = (_in_pools(sess["hub"], sess["specialty"], pools)
                 & (sess["start"] >= t0) & (sess["start"] < t1))
        if inwin.any():
            rostered = float(sess["rostered"][inwin].sum())
            absent = sess["absent"][inwin]
            out["doctor_sessions_rostered"] = rostered
            out["doctor_sessions_absent"] = float(absent.sum())
            out["absence_rate"] = _ratio(float(absent.sum()), rostered)
            out["absent_doctor_hours"] = float(
                np.sum(absent * (sess["end"][inwin] - sess["start"][inwin]))) / 60.0
    return out


def phc_capacity_metrics(result: RunResult) -> dict[str, float]:
    """On-duty hours and utilisation of the PHC medical officers (the first tier)."""
    r = result.records
    t0, t1 = window(result)
    on_duty = sum(tl.on_duty_minutes(t0, t1) for tl in result.phc_duty.values())
    seen = ~np.isnan(r.phc_start)
    busy = overlap(r.phc_start[seen], r.phc_end[seen], t0, t1).sum()
    return {"on_duty_hours": on_duty / 60.0,
            "utilisation": float(busy / on_duty) if on_duty > 0 else float("nan")}


def extra_groups(result: RunResult, by: Iterable[str]) -> list[str]:
    """Groupings the scenario's optional mechanisms add: by priority class, by tier."""
    sc, have = result.scenario, set(by)
    out = []
    if sc.priorities is not None and "priority" not in have:
        out.append("priority")
    if sc.phc_tier is not None and "tier" not in have:
        out.append("tier")
    return out


def group_extra_metrics(result: RunResult, group_by: str, code: int, at: np.ndarray,
                        present: bool) -> dict[str, float]:
    """PHC utilisation in the tier group; each class's own targets in the priority group."""
    sc, r = result.scenario, result.records
    if group_by == "tier":
        return phc_capacity_metrics(result) if code == 1 else {}
    if sc.priorities is None or not present:
        return {}
    rows = _measured_rows(result, at)
    outcome = r.outcome[rows]
    decided = float(np.sum(outcome != UNSERVED))
    wait = (r.start[rows] - r.arrival[rows])[outcome == SERVED]
    return {f"share_within_class_target_{t:g}_min": _ratio(float(np.sum(wait <= t)), decided)
            for t in sc.priorities.classes[code].targets_min}
