"""Metrics of the optional mechanisms: booking, failed calls, PHC tier, follow-ups, priorities.

Each is computed only when the scenario switches its mechanism on; ``summary_rows``
(``sim.analysis.metrics``) adds them to its groups. The ``*_metrics`` functions give one
group's figures (the definitions); the ``*_values`` functions the same figures of every
group at once, as ``summary_rows`` needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from sim.analysis.grouped import ByGroup, Flags
from sim.analysis.window import measured, overlap, window
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


def _ratios(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b != 0, a / b, np.nan)


Figures = Callable[[np.ndarray, int], dict[str, np.ndarray]]
"""One mechanism's figures of every group of a grouping, from each record's group number."""

Rows = np.ndarray | slice
"""The measured records: their row numbers, or one slice of rows (views, not copies)."""


def _numbers(result: RunResult, at: Rows) -> np.ndarray:
    """The row numbers of ``at``."""
    return np.arange(len(result.records))[at]


def _booking_figures(result: RunResult, at: Rows) -> Figures:
    """Booking figures, over the requests that sought a slot (booked or turned away)."""
    sc, r = result.scenario, result.records
    assert sc.booking is not None
    has_slot = ~np.isnan(r.slot[at])
    rows = _numbers(result, at)
    sought, booked = rows[has_slot | (r.outcome[at] == TURNED_AWAY)], rows[has_slot]
    turned = r.outcome[sought] == TURNED_AWAY
    no_show, clinic = r.outcome[booked] == NO_SHOW, r.outcome[booked] == SERVED
    delay, clinic_wait = r.slot[booked] - r.arrival[booked], r.start[booked] - r.queued[booked]
    by_delay = np.argsort(delay, kind="stable")
    within = [(days, delay <= days * 1440.0) for days in sc.booking.report_within_days]

    def figures(key: np.ndarray, size: int) -> dict[str, np.ndarray]:
        g, b = ByGroup(key[sought], size), ByGroup(key[booked], size)
        n_booked, n_turned = b.count(), g.count(turned)
        asked = n_booked + n_turned  # sought a slot
        mean_delay = b.mean(delay)
        out = {"booked": n_booked,
               "access_delay_mean_days": mean_delay / 1440.0,
               "access_delay_mean_hours": mean_delay / 60.0,
               "access_delay_p90_days": b.percentile(delay, 90, ascending=by_delay) / 1440.0}
        for days, ok in within:
            out[f"share_booked_within_{days:g}_days"] = _ratios(b.count(ok), asked)
        out["turned_away_rate"] = _ratios(n_turned, asked)
        out["no_show_rate"] = _ratios(b.count(no_show), n_booked)
        out["clinic_wait_mean_min"] = b.mean(clinic_wait, clinic)
        return out

    return figures


def _failure_figures(result: RunResult, at: Rows) -> Figures:
    """Failed-call figures, over every measured request."""
    r = result.records
    outcome, attempts, lost = r.outcome[at], r.attempts[at], r.lost_min[at]
    consulted = (outcome == SERVED) & (r.tier[at] != 1)  # a consult that connected
    flags = Flags(consulted, outcome == GAVE_UP)

    def figures(key: np.ndarray, size: int) -> dict[str, np.ndarray]:
        g = ByGroup(key[at], size)
        n_consulted, n_gave_up = flags.count(g.key, size)
        n_attempts = g.count(weights=attempts)
        failed = n_attempts - n_consulted
        return {"attempts": n_attempts, "failed_attempts": failed,
                "attempt_failure_rate": _ratios(failed, n_attempts),
                "gave_up_rate": _ratios(n_gave_up, g.count()),
                "doctor_min_lost": g.sum(lost)}

    return figures


def _phc_figures(result: RunResult, at: Rows) -> Figures:
    """PHC-tier figures, over the requests of the tier (seen there, resolved or escalated)."""
    r = result.records
    tier_rows = _numbers(result, at)[~np.isnan(r.phc_start[at]) | (r.tier[at] != 0)]
    seen, tier = ~np.isnan(r.phc_start[tier_rows]), r.tier[tier_rows]
    phc_wait = r.phc_start[tier_rows] - r.arrival[tier_rows]
    at_hub = tier_rows[(r.outcome[tier_rows] == SERVED) & (tier == 2)]  # escalated, then seen
    end_to_end = r.start[at_hub] - r.arrival[at_hub]
    hub_stage = r.start[at_hub] - r.queued[at_hub]
    by_end_to_end = np.argsort(end_to_end, kind="stable")

    def figures(key: np.ndarray, size: int) -> dict[str, np.ndarray]:
        g, hub = ByGroup(key[tier_rows], size), ByGroup(key[at_hub], size)
        n_seen, n_escalated = g.count(seen), g.count(tier == 2)
        return {"phc_consults": n_seen, "phc_resolved": g.count(tier == 1),
                "escalated": n_escalated,
                "escalation_rate": _ratios(n_escalated, n_seen),
                "phc_wait_mean_min": g.mean(phc_wait, seen),
                "end_to_end_wait_mean_min": hub.mean(end_to_end),
                "end_to_end_wait_p90_min": hub.percentile(end_to_end, 90,
                                                          ascending=by_end_to_end),
                "hub_stage_wait_mean_min": hub.mean(hub_stage)}

    return figures


def _followup_figures(result: RunResult, at: Rows) -> Figures:
    """Follow-up and referral figures, over every measured request."""
    sc, r = result.scenario, result.records
    assert sc.followups is not None
    done = (r.outcome[at] == SERVED) & (r.tier[at] != 1) & (r.end[at] <= result.horizon)
    can = done & ((r.parent[at] < 0) | sc.followups.repeat)  # may ask for a follow-up
    step = r.next_step[at]
    flags = Flags(done, step == 1, step == 2, can, r.parent[at] >= 0)

    def figures(key: np.ndarray, size: int) -> dict[str, np.ndarray]:
        n_done, n_follow, n_referred, n_can, n_child = flags.count(key[at], size)
        return {"consults_completed": n_done, "followups_requested": n_follow,
                "followup_share": _ratios(n_follow, n_can),
                "referred": n_referred, "referral_share": _ratios(n_referred, n_done),
                "followup_arrivals": n_child}

    return figures


def realism_values(result: RunResult, keys: list[np.ndarray],
                   sizes: list[int]) -> list[dict[str, np.ndarray]]:
    """``realism_metrics`` of every group of several groupings at once.

    ``keys[i]`` holds each record's group number in grouping ``i``, in [0, sizes[i]). One
    array per metric and grouping, indexed by group number, with the values
    ``realism_metrics`` gives each group's rows. Each mechanism looks only at the rows
    its figures count or add up (in record order, so the sums are the same).
    """
    sc = result.scenario
    rows = np.flatnonzero(measured(result))
    at: Rows = rows
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):  # one block (records by arrival)
        at = slice(int(rows[0]), int(rows[-1]) + 1)
    parts = [make(result, at) for section, make in (
        ("booking", _booking_figures), ("failures", _failure_figures),
        ("phc_tier", _phc_figures), ("followups", _followup_figures))
        if getattr(sc, section) is not None]
    out = []
    for key, size in zip(keys, sizes, strict=True):
        values: dict[str, np.ndarray] = {}
        for figures in parts:
            values |= figures(key, size)
        out.append(values)
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


class PoolCapacity:
    """``booking_capacity_metrics`` of groups of pools (no pool in two), grouping by grouping.

    The slots in the window are counted by pool once, for every grouping (whole numbers:
    the same counts as by group); the absence sessions by group in each grouping, as their
    hours are sums in record order.
    """

    def __init__(self, result: RunResult):
        sc = result.scenario
        self.result = result
        self.shape = (len(sc.hubs) + 1, len(sc.specialties))  # [hub + 1, specialty]
        self.slots: tuple[np.ndarray, np.ndarray] | None = None  # offered, booked by pool
        slots = result.tables.get("slots")
        if slots is not None and len(slots["time"]):
            t0, t1 = window(result)
            pool = (slots["hub"].astype(np.intp) + 1) * self.shape[1] + slots["specialty"]
            inwin = (slots["time"] >= t0) & (slots["time"] < t1)
            n = self.shape[0] * self.shape[1]
            self.slots = (np.bincount(pool[inwin], minlength=n).astype(float),
                          np.bincount(pool[inwin & slots["booked"]], minlength=n).astype(float))

    def values(self, group_pools: dict[int, list[tuple[int, int]]]
               ) -> dict[int, dict[str, float]]:
        """Each group's metrics, by group code (``group_pools``: its pools)."""
        result = self.result
        t0, t1 = window(result)
        codes = list(group_pools)
        group_of = np.full(self.shape, len(codes))  # [hub + 1, s]
        for i, code in enumerate(codes):
            for h, s in group_pools[code]:
                group_of[h + 1, s] = i
        size = len(codes) + 1  # the last group: pools in none of these
        parts = []  # per table: its metrics [group], and which groups have rows in the window
        if self.slots is not None:
            by_pool = group_of.ravel()
            offered, booked = (np.bincount(by_pool, c, minlength=size) for c in self.slots)
            parts.append(({"slots_offered": offered, "slots_booked": booked,
                           "slot_utilisation": _ratios(booked, offered)}, offered > 0))
        sess = result.tables.get("sessions")
        if sess is not None and len(sess["start"]):
            g = ByGroup(group_of[sess["hub"] + 1, sess["specialty"]], size)
            inwin = (sess["start"] >= t0) & (sess["start"] < t1)
            rostered, absent = g.count(inwin, sess["rostered"]), g.count(inwin, sess["absent"])
            hours = g.sum(sess["absent"] * (sess["end"] - sess["start"]), inwin) / 60.0
            parts.append(({"doctor_sessions_rostered": rostered,
                           "doctor_sessions_absent": absent,
                           "absence_rate": _ratios(absent, rostered),
                           "absent_doctor_hours": hours}, g.count(inwin) > 0))
        return {code: {m: float(v[i]) for found, has in parts if has[i] for m, v in found.items()}
                for i, code in enumerate(codes)}


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


def class_target_values(result: RunResult, key: np.ndarray, size: int, lo: int
                        ) -> dict[int, dict[str, float]]:
    """``group_extra_metrics`` of every priority class at once: each class's own targets.

    ``key`` holds each record's class code minus ``lo``, in [0, size).
    """
    sc, r = result.scenario, result.records
    assert sc.priorities is not None
    at = np.flatnonzero(measured(result))
    g = ByGroup(key[at], size)
    outcome = r.outcome[at]
    decided = g.count(outcome != UNSERVED)
    wait = r.start[at] - r.arrival[at]
    served = outcome == SERVED
    return {code: {f"share_within_class_target_{t:g}_min":
                   _ratio(float(g.count(served & (wait <= t))[code - lo]),
                          float(decided[code - lo])) for t in cls.targets_min}
            for code, cls in enumerate(sc.priorities.classes)}
