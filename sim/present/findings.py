"""The answer on a report's first page, in plain sentences made from the tables.

Which standards are breached where and by how much, and what a compared plan or a sweep
changes.

Reads the rows of ``standards.csv`` (columns ``standard, measure, group_by, group, target,
sense, mean, ci_low, ci_high, n, verdict, gap, unit``, plus ``plan`` or ``point`` for an
experiment), ``summary.csv`` and ``comparison.csv`` as dicts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.present import units

Row = Mapping[str, Any]
SHARE_MEASURES: frozenset[str] = frozenset({"share_within", "share_by_next_session",
                                            "abandonment"})
MEASURE_WORDS: dict[str, str] = {
    "share_within": "share seen within a time",
    "share_by_next_session": "share seen by the next clinic session",
    "wait_percentile": "percentile wait",
    "wait_mean": "mean wait",
    "abandonment": "share abandoned",
}
ARM_COLUMNS: tuple[str, ...] = ("plan", "point", "scenario")
"""The column naming a plan or sweep point in an experiment's standards table."""
PARAMETER_SKIP: frozenset[str] = frozenset(
    {"id", "label", "measure", "target", "where", "by", "confidence", "min_requests"})


def arm_column(rows: Sequence[Row]) -> str | None:
    """The plan/point column of a standards table (None for a single run)."""
    for col in ARM_COLUMNS:
        if rows and col in rows[0]:
            return col
    return None


def unit_of(row: Row) -> str:
    """The unit of a standard's target and mean: ``share`` or ``min``, from its measure.

    (The table's ``unit`` column is the gap's: ``pp``, ``min``, ``h`` or ``d``.)
    """
    return "share" if str(row.get("measure")) in SHARE_MEASURES else "min"


def sense_of(row: Row) -> str:
    """``at_least`` or ``at_most``: the ``sense`` column, else inferred from the measure."""
    sense = str(row.get("sense") or "")
    if sense in ("at_least", "at_most"):
        return sense
    return "at_least" if str(row.get("measure")) in ("share_within", "share_by_next_session") \
        else "at_most"


def severity(row: Row) -> float:
    """How many times over its allowance a group is (``relative_gap``), for ordering."""
    given = units.number(row.get("relative_gap"))
    return -math.inf if math.isnan(given) else given


def target_text(row: Row) -> str:
    """``at least 90.0%`` / ``at most 30 min``."""
    words = "at least" if sense_of(row) == "at_least" else "at most"
    return f"{words} {units.value(row.get('target'), '', unit_of(row))}"


def achieved_text(row: Row) -> str:
    """The achieved mean with its interval, in the unit of the mean."""
    unit, mean = unit_of(row), row.get("mean")
    ci = units.interval(row.get("ci_low"), row.get("ci_high"), "", unit, like=mean)
    text = units.value(mean, "", unit)
    return f"{text} ({ci})" if ci != "–" else text


def miss_text(row: Row) -> str:
    """The ``gap`` in its ``unit`` (percentage points, min, h or d), short or over."""
    gap = units.number(row.get("gap"))
    if math.isnan(gap):
        return "–"
    least = sense_of(row) == "at_least"
    side = ("short" if least else "over") if gap > 0 else ("above" if least else "under")
    unit = {"pp": "points", "d": "days"}.get(str(row.get("unit")), str(row.get("unit")))
    return f"{abs(gap):.1f} {unit} {side}"


@dataclass(frozen=True)
class Breach:
    """One breached (standard, group), formatted for the breach table."""

    arm: str
    standard: str
    group: str
    """The group in words with hubs by id (for sentences)."""
    hub: str
    """The group's hub by name and id ("" when not grouped by hub)."""
    where: str
    """The rest of the group (a specialty, a district, "whole network")."""
    achieved: str
    target: str
    miss: str
    n: str
    severity: float


def describe(standard: str, scenario: Mapping[str, Any] | None) -> str:
    """A standard in words (``id``: measure and parameters), from the resolved scenario."""
    items = (scenario or {}).get("standards") or []
    spec = next((s for s in items if isinstance(s, Mapping) and s.get("id") == standard), None)
    if spec is None:
        return standard
    if spec.get("label"):
        return f"{standard} ({spec['label']})"
    words = MEASURE_WORDS.get(str(spec.get("measure")), str(spec.get("measure", "")))
    params = []
    for key, v in spec.items():
        if key in PARAMETER_SKIP or v is None or isinstance(v, Mapping | list):
            continue
        minutes = key in ("T", "t", "within", "within_min", "limit_min") or key.endswith("_min")
        params.append(f"{key} {units.duration(v) if minutes else v}")
    return f"{standard} ({words}{', ' + ', '.join(params) if params else ''})"


def breaches(rows: Sequence[Row], hub_names: Mapping[str, str]) -> list[Breach]:
    """Every breached (plan, standard, group), worst first (largest relative shortfall)."""
    arm = arm_column(rows)
    out = [Breach(str(r.get(arm, "")) if arm else "", str(r["standard"]),
                  units.group_label(str(r["group_by"]), str(r["group"]), {}),
                  *units.split_group(str(r["group_by"]), str(r["group"]), hub_names),
                  achieved_text(r), target_text(r), miss_text(r),
                  _requests(r), severity(r))
           for r in rows if r.get("verdict") == "breached"]
    return sorted(out, key=lambda b: -b.severity)


def _requests(r: Row) -> str:
    """Requests per replication in the group (``requests``; older tables: ``n``)."""
    x = units.number(r.get("requests", r.get("n")))
    return "–" if math.isnan(x) else f"{x:,.0f}"


def _count(rows: Sequence[Row], verdict: str) -> int:
    return sum(1 for r in rows if r.get("verdict") == verdict)


def run_answer(rows: Sequence[Row], hub_names: Mapping[str, str],
               scenario: Mapping[str, Any] | None, limit: int = 6) -> list[str]:
    """Sentences for one scenario's standards table: the breaches, worst standard first."""
    if not rows:
        return []
    names = list(dict.fromkeys(str(r["standard"]) for r in rows))
    groups = len(rows)
    out = [f"{len(names)} service standard{'s' if len(names) != 1 else ''} judged over "
           f"{groups} group{'s' if groups != 1 else ''}: {_count(rows, 'breached')} breached, "
           f"{_count(rows, 'met')} met, {_count(rows, 'not settled')} not settled at this "
           f"precision, {_count(rows, 'too small')} too small to judge."]
    worst = breaches(rows, hub_names)
    order = list(dict.fromkeys(b.standard for b in worst))
    for std in order[:limit]:
        mine = [b for b in worst if b.standard == std]
        total = sum(1 for r in rows if r["standard"] == std)
        first = mine[0]
        also = ", ".join(f"{b.group} ({b.achieved.split(' (')[0]})" for b in mine[1:4])
        more = f" and {len(mine) - 4} more" if len(mine) > 4 else ""
        out.append(f"{describe(std, scenario)}, target {first.target}: breached in "
                   f"{len(mine)} of {total} groups; worst {first.group}, "
                   f"{first.achieved.split(' (')[0]} ({first.miss})"
                   + (f"; also {also}{more}." if also else "."))
    if len(order) > limit:
        out.append(f"{len(order) - limit} more breached standards are in the table below.")
    met = [n for n in names if n not in order]
    if met and order:
        out.append("Met or not breached anywhere: " + ", ".join(met) + ".")
    elif not order:
        out.append("No standard is breached in any group.")
    return out


def key(r: Row) -> tuple[str, str, str]:
    """A standards row's (standard, group_by, group)."""
    return (str(r["standard"]), str(r["group_by"]), str(r["group"]))


def compare_answer(rows: Sequence[Row], comparison: Sequence[Row],
                   hub_names: Mapping[str, str], base: str) -> list[str]:
    """Per plan: its breaches against the base's, which it clears and which it adds.

    Then the whole-network differences the comparison judged.
    """
    arm = arm_column(rows)
    out: list[str] = []
    plans = list(dict.fromkeys(str(r.get("plan")) for r in comparison)) or (
        list(dict.fromkeys(str(r.get(arm)) for r in rows)) if arm else [])
    for plan in plans:
        if plan == base:
            continue
        parts = [f"Plan {plan} against {base}:"]
        if arm:
            b = {key(r): r for r in rows if str(r.get(arm)) == base}
            p = {key(r): r for r in rows if str(r.get(arm)) == plan}
            was = {k for k, r in b.items() if r.get("verdict") == "breached"}
            now = {k for k, r in p.items() if r.get("verdict") == "breached"}

            def names(keys: set[tuple[str, str, str]]) -> str:
                shown = sorted(keys)[:4]
                text = ", ".join(f"{k[0]} at {units.group_label(k[1], k[2], hub_names)}"
                                 for k in shown)
                return text + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")

            parts.append(f"{len(now)} breaches against {len(was)}.")
            if was - now:
                parts.append(f"It clears {names(was - now)}.")
            if now - was:
                parts.append(f"It newly breaches {names(now - was)}.")
        judged = [r for r in comparison if r.get("plan") == plan and r.get("group_by") == "all"
                  and r.get("verdict") in ("better", "worse")
                  and r.get("metric") in ("wait_mean_min", "wait_p90_min", "abandonment_rate",
                                          "utilisation")]
        if judged:
            parts.append("Whole network: " + "; ".join(
                f"{units.metric_label(str(r['metric'])).split(' (')[0]} "
                f"{units.difference(r.get('diff'), str(r['metric']), like=r.get('mean'))} "
                f"({r['verdict']})" for r in judged) + ".")
        elif comparison:
            parts.append("No whole-network difference in waits, abandonment or utilisation "
                         "is detectable at this number of replications.")
        out.append(" ".join(parts))
    return out


_POINT_SPLIT = re.compile(r",(?=[A-Za-z_][\w.]*=)")


def point_label(label: str, scenario: Mapping[str, Any] | None) -> str:
    """A sweep point's label (``key=value,...``) with each key in words."""
    parts = []
    for part in _POINT_SPLIT.split(label):
        key, eq, v = part.partition("=")
        parts.append(f"{units.key_label(key, scenario)} = {v}" if eq else part)
    return ", ".join(parts)


def sweep_answer(rows: Sequence[Row], hub_names: Mapping[str, str],
                 scenario: Mapping[str, Any] | None) -> list[str]:
    """Per standard: met at every point, or the first point (in sweep order) that breaks it."""
    arm = arm_column(rows)
    if not arm:
        return []
    points = list(dict.fromkeys(str(r[arm]) for r in rows))
    out = []
    for std in dict.fromkeys(str(r["standard"]) for r in rows):
        first = next(((p, r) for p in points for r in rows if str(r[arm]) == p
                      and r["standard"] == std and r.get("verdict") == "breached"), None)
        if first is None:
            out.append(f"{std} is not breached at any of the {len(points)} points.")
            continue
        p, r = first
        n = sum(1 for q in points if any(x.get("verdict") == "breached" and str(x[arm]) == q
                                         and x["standard"] == std for x in rows))
        out.append(f"{std} first breaks at {point_label(p, scenario)} "
                   f"({units.group_label(str(r['group_by']), str(r['group']), hub_names)}: "
                   f"{units.value(r.get('mean'), '', unit_of(r))}, target {target_text(r)}); "
                   f"breached at {n} of {len(points)} points.")
    return out


def network_answer(summary: Sequence[Row]) -> list[str]:
    """Without standards: the network's waits and the specialty that waits longest."""
    def get(metric: str, group_by: str = "all") -> dict[str, float]:
        return {str(r["group"]): units.number(r.get("mean") if r.get("mean") not in (None, "")
                                              else r.get("value"))
                for r in summary if r["metric"] == metric and r["group_by"] == group_by}

    allw = get("wait_p90_min").get("all")
    if allw is None:
        return []
    out = [f"Over the whole network 90% of consults started within {units.duration(allw)}; "
           f"{units.percent(get('abandonment_rate').get('all'))} of requests were abandoned."]
    spec = {k: v for k, v in get("wait_p90_min", "specialty").items() if not math.isnan(v)}
    if spec:
        worst = max(spec, key=lambda k: spec[k])
        out.append(f"The longest waits are in {worst}: 90% within {units.duration(spec[worst])}"
                   f", abandonment {units.percent(get('abandonment_rate', 'specialty').get(worst))}"
                   ". Add a standards: section to the scenario to have each group judged "
                   "against a target.")
    return out
