"""Numbers and names as a planner reads them, for the report and the plots.

Durations in min / h / days, shares in %, hubs by name beside their id, swept keys in words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

METRIC_LABELS: dict[str, str] = {
    "wait_mean_min": "mean wait (min)",
    "wait_p50_min": "median wait (min)",
    "wait_p90_min": "90th percentile wait (min)",
    "wait_p95_min": "95th percentile wait (min)",
    "wait_max_min": "longest wait (min)",
    "utilisation": "utilisation (share of rostered time)",
    "abandonment_rate": "abandonment rate (share of requests)",
    "queue_length_mean": "mean number waiting",
    "throughput_per_day": "consults per day",
    "overtime_min_per_day": "overtime (min per day)",
    "overtime_min": "overtime (min)",
    "share_same_day": "share served the same day",
    "arrivals": "requests",
    "served": "consults",
    "abandoned": "requests abandoned",
    "unserved": "requests unserved at the horizon",
}
COUNT_METRICS: frozenset[str] = frozenset(
    {"arrivals", "served", "abandoned", "unserved", "dropped", "followup_arrivals", "booked"})
SHARE_UNITS: frozenset[str] = frozenset({"share", "fraction", "%", "percent", "proportion", "rate"})
MINUTE_UNITS: frozenset[str] = frozenset({"min", "minutes", "minute"})


def metric_label(metric: str) -> str:
    """A readable label with units for a metric name."""
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    if metric.startswith("share_within_") and metric.endswith("_min"):
        return f"share seen within {duration(float(metric[13:-4]))}"
    return metric.replace("_", " ")


def column_label(metric: str) -> str:
    """A metric's label for a table whose cells carry their units (no ``(min)``)."""
    return metric_label(metric).replace(" (min)", "")


NON_NEGATIVE_PREFIXES: tuple[str, ...] = ("wait_", "share_", "queue_", "overtime_")


def number(v: Any) -> float:
    """A table cell as a float (empty, missing or not a number: NaN)."""
    if v is None or v == "":
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def duration_unit(minutes: float) -> str:
    """The unit a duration of ``minutes`` reads best in: ``min``, ``h`` or ``days``."""
    m = abs(minutes)
    return "min" if m < 90 else "h" if m < 2 * 1440 else "days"


def duration(minutes: Any, unit: str | None = None) -> str:
    """A duration in minutes as text with its unit: 8.5 min, 5.2 h, 6 days.

    ``unit`` forces one (so an interval's ends read in the unit of its mean).
    """
    m = number(minutes)
    if math.isnan(m):
        return "–"
    unit = unit or duration_unit(m)
    x = m / {"min": 1.0, "h": 60.0, "days": 1440.0}[unit]
    text = f"{x:.0f}" if x == round(x) or abs(x) >= 100 else f"{x:.1f}"
    if unit == "days" and text == "1":
        return "1 day"
    return f"{text} {unit}"


def percent(share: Any, digits: int = 1) -> str:
    """A share (0-1) as a percentage."""
    x = number(share)
    return "–" if math.isnan(x) else f"{100 * x:.{digits}f}%"


def is_share(metric: str, unit: str = "") -> bool:
    """Whether a metric (or a value in ``unit``) is a share shown in %."""
    if unit:
        return unit.lower() in SHARE_UNITS
    return (metric.startswith("share_") or metric.endswith("_rate")
            or metric in ("utilisation", "abandonment"))


def is_duration(metric: str, unit: str = "") -> bool:
    """Whether a metric (or a value in ``unit``) is a duration in minutes."""
    if unit:
        return unit.lower() in MINUTE_UNITS
    return metric.startswith("wait_") or (metric.endswith("_min") and not is_share(metric))


def value(v: Any, metric: str = "", unit: str = "", like: Any = None) -> str:
    """A metric's value with its unit; ``like`` (another value) fixes a duration's unit."""
    x = number(v)
    if math.isnan(x):
        return "–" if v in (None, "") or isinstance(v, float) else str(v)
    if is_share(metric, unit):
        return percent(x)
    if is_duration(metric, unit):
        ref = number(like)
        return duration(x, duration_unit(x if math.isnan(ref) else ref))
    if metric in COUNT_METRICS or (x == int(x) and abs(x) >= 1000):
        return f"{x:,.0f}"
    if metric == "overtime_min_per_day":
        return f"{x:,.1f} min/day"
    return f"{x:,.2f}" if abs(x) < 100 else f"{x:,.1f}"


def interval(low: Any, high: Any, metric: str = "", unit: str = "", like: Any = None) -> str:
    """A confidence interval ``low to high`` in the unit of ``like`` (its mean)."""
    lo, hi = number(low), number(high)
    if math.isnan(lo) or math.isnan(hi):
        return "–"
    # A t interval of a non-negative metric can dip below 0 (or a share's above 1): clip it
    # to the metric's range, which is where the truth lies.
    if metric in COUNT_METRICS or metric.startswith(NON_NEGATIVE_PREFIXES) or is_share(
            metric, unit) or is_duration(metric, unit):
        lo = max(lo, 0.0)
    if is_share(metric, unit):
        hi = min(hi, 1.0)
    low, high = lo, hi
    return (f"{value(low, metric, unit, like)} to {value(high, metric, unit, like)}")


def difference(v: Any, metric: str = "", unit: str = "", like: Any = None) -> str:
    """A difference: a share's in percentage points, others as values with a sign."""
    x = number(v)
    if math.isnan(x):
        return "–"
    if is_share(metric, unit):
        return f"{100 * x:+.1f} points"
    sign = "+" if x > 0 else "−" if x < 0 else "±"
    return sign + value(abs(x), metric, unit, like)


def hub_label(hub: str, names: Mapping[str, str]) -> str:
    """A hub's name beside its id (the id alone when it has no name)."""
    name = names.get(hub)
    return f"{name} ({hub})" if name and name != hub else hub


def group_label(group_by: str, group: str, hub_names: Mapping[str, str]) -> str:
    """A table group in words: hubs by name; ``hub/specialty`` as ``name (id) / specialty``."""
    if group_by == "all":
        return "whole network"
    if group_by == "hub":
        return hub_label(group, hub_names)
    if group_by.startswith("hub_") and "/" in group:
        hub, rest = group.split("/", 1)
        return f"{hub_label(hub, hub_names)} / {rest}"
    return group


def days_text(spec: Any) -> str:
    """A day spec in words: ``working`` -> Mon-Sat, ``all`` -> every day, a list -> Mon, Wed."""
    if spec == "working":
        return "Mon-Sat"
    if spec == "all":
        return "every day"
    if isinstance(spec, list):
        return ", ".join(str(d).capitalize() for d in spec)
    return str(spec)


def split_group(group_by: str, group: str, hub_names: Mapping[str, str]) -> tuple[str, str]:
    """(the hub by name and id, or "", the rest of the group in words) of a table group."""
    if group_by == "hub":
        return hub_label(group, hub_names), "the whole hub"
    if group_by.startswith("hub_") and "/" in group:
        hub, rest = group.split("/", 1)
        return hub_label(hub, hub_names), rest
    return "", group_label(group_by, group, hub_names)


_HUB_KEY = re.compile(r"hubs\.(\d+)\.(.+)")


def key_label(key: str, scenario: Mapping[str, Any] | None = None) -> str:
    """A swept or overridden dotted key in words, using the resolved scenario.

    ``hubs.0.roster.0.doctors`` -> ``medicine doctors on duty at north (roster line 1)``.
    """
    known = {"demand.growth": "demand growth (x baseline)", "routing.policy": "routing policy",
             "routing.overflow_threshold_min": "overflow threshold (min)",
             "queue.patience.mean": "mean patience (min)", "queue.session_end": "at session end"}
    if key in known:
        return known[key]
    m = _HUB_KEY.fullmatch(key)
    hubs = list((scenario or {}).get("hubs") or [])
    if m and int(m.group(1)) < len(hubs):
        hub = hubs[int(m.group(1))] or {}
        where = str(hub.get("id", m.group(1)))
        rest = m.group(2).split(".")
        if rest[0] == "doctors" and len(rest) == 2:
            return f"{rest[1]} doctors registered at {where}"
        if rest[0] == "roster" and len(rest) == 3 and rest[1].isdigit():
            lines = hub.get("roster") or []
            line = lines[int(rest[1])] if int(rest[1]) < len(lines) else {}
            spec = (line or {}).get("specialty", "")
            field = {"doctors": "doctors on duty"}.get(rest[2], rest[2])
            return f"{spec} {field} at {where} (roster line {int(rest[1]) + 1})".strip()
        return f"{'.'.join(rest)} at {where}"
    return key.replace("_", " ")
