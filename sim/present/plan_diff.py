"""What a plan changes against its base, from the two resolved scenarios (plain dicts).

One small function, kept in one place so that a fuller scenario diff can replace it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim.present.units import days_text

IGNORED: frozenset[str] = frozenset({"name", "description", "hubs"})
"""Top-level fields not compared key by key (hubs are compared by id, below)."""


@dataclass(frozen=True)
class Change:
    """One difference: where (a hub or a field), what, and its value in base and plan."""

    where: str
    what: str
    base: str
    plan: str


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: data}


def _shift(line: Mapping[str, Any]) -> str:
    from sim.scenario.types import format_clock

    start, end = (format_clock(v) if isinstance(v, int) else str(v)
                  for v in (line.get("start"), line.get("end")))
    return f"{line.get('doctors', 1)} on {days_text(line.get('days', 'working'))} {start}-{end}"


def _text(v: Any) -> str:
    return "–" if v is None else str(v)


def plan_changes(base: Mapping[str, Any], plan: Mapping[str, Any]) -> list[Change]:
    """The hubs, registered doctors, duty rosters and other fields that differ."""
    changes: list[Change] = []
    hubs_b = {h["id"]: h for h in base.get("hubs") or []}
    hubs_p = {h["id"]: h for h in plan.get("hubs") or []}
    for hub in [*hubs_b, *(h for h in hubs_p if h not in hubs_b)]:
        b, p = hubs_b.get(hub), hubs_p.get(hub)
        if b is None or p is None:
            changes.append(Change(hub, "hub", "absent" if b is None else "present",
                                  "absent" if p is None else "present"))
            continue
        db, dp = b.get("doctors") or {}, p.get("doctors") or {}
        for spec in dict.fromkeys([*db, *dp]):
            if db.get(spec, 0) != dp.get(spec, 0):
                changes.append(Change(hub, f"{spec} doctors registered",
                                      str(db.get(spec, 0)), str(dp.get(spec, 0))))
        rb, rp = b.get("roster") or [], p.get("roster") or []
        for spec in dict.fromkeys([r.get("specialty") for r in [*rb, *rp]]):
            sb = [_shift(r) for r in rb if r.get("specialty") == spec]
            sp = [_shift(r) for r in rp if r.get("specialty") == spec]
            if sb != sp:
                changes.append(Change(hub, f"{spec} on duty", "; ".join(sb) or "none",
                                      "; ".join(sp) or "none"))
        for key, vb, vp in _changed(b, p, {"id", "doctors", "roster"}):
            changes.append(Change(hub, key, _text(vb), _text(vp)))
    for key, vb, vp in _changed(base, plan, IGNORED):
        changes.append(Change("scenario", key, _text(vb), _text(vp)))
    return changes


def _changed(base: Mapping[str, Any], plan: Mapping[str, Any],
             skip: frozenset[str] | set[str]) -> list[tuple[str, Any, Any]]:
    fb = _flat({k: v for k, v in base.items() if k not in skip})
    fp = _flat({k: v for k, v in plan.items() if k not in skip})
    return [(k, fb.get(k), fp.get(k)) for k in dict.fromkeys([*fb, *fp])
            if fb.get(k) != fp.get(k)]
