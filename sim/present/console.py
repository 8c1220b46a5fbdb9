"""Text for the terminal: numbers in the units a planner reads, the breaches first.

Waits are shown in min, h or d by size (never a bare ``5718.0``), shares as %, gaps as
percentage points or a wait; the standards block lists the breached standards worst first,
then the undecided ones, then a count of the rest.
"""

from __future__ import annotations

import math
from typing import Any

from sim.analysis.standards import VERDICTS, worst_first
from sim.scenario.standards import SHARE_MEASURES

SHOW_BREACHES = 15
SHOW_UNSETTLED = 8


def fmt_wait(minutes: float) -> str:
    """A wait as ``12 min``, ``3.4 h`` or ``4.0 d`` (``-`` if undefined)."""
    if minutes is None or not math.isfinite(float(minutes)):
        return "-"
    m = float(minutes)
    if abs(m) < 120:
        return f"{m:.0f} min" if abs(m) >= 10 else f"{m:.1f} min"
    if abs(m) < 48 * 60:
        return f"{m / 60:.1f} h"
    return f"{m / 1440:.1f} d"


def fmt_share(x: float) -> str:
    """A fraction as a percentage, ``93.5%``."""
    return "-" if x is None or not math.isfinite(float(x)) else f"{100 * float(x):.1f}%"


def fmt_metric(metric: str, value: float) -> str:
    """A summary metric in its unit: waits in min/h/d, shares and rates in %, else a number."""
    if metric.startswith("wait_") and metric.endswith("_min"):
        return fmt_wait(value)
    if metric.startswith("share_") or metric.endswith("_rate") or metric == "utilisation":
        return fmt_share(value)
    if value is None or not math.isfinite(float(value)):
        return "-"
    v = float(value)
    return f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else f"{v:,.2f}"


def fmt_measure(measure: str, value: float) -> str:
    """A standard's value in its unit: % for shares and rates, min/h/d for waits."""
    return fmt_share(value) if measure in SHARE_MEASURES else fmt_wait(value)


def fmt_gap(row: Any) -> str:
    """How far a group misses (or beats) its target, in words."""
    gap, unit = float(row["gap"]), str(row["unit"])
    if not math.isfinite(gap):
        return "-"
    word = ("short" if row["sense"] == "at_least" else "over") if gap > 0 else (
        "better")
    size = f"{abs(gap):.1f} {unit}" if unit != "min" else f"{abs(gap):.0f} min"
    return f"{size} {word}"


def _target(row: Any) -> str:
    sense = "at least" if row["sense"] == "at_least" else "at most"
    return f"{sense} {fmt_measure(str(row['measure']), float(row['target']))}"


def _line(row: Any) -> list[str]:
    lo, hi = float(row["ci_low"]), float(row["ci_high"])
    m = str(row["measure"])
    ci = f"[{fmt_measure(m, lo)}, {fmt_measure(m, hi)}]" if math.isfinite(lo) else ""
    return [str(row["standard"]), str(row["group"]), fmt_measure(m, float(row["mean"])), ci,
            _target(row), fmt_gap(row)]


def _columns(lines: list[list[str]], indent: str = "  ") -> list[str]:
    if not lines:
        return []
    widths = [max(len(c) for c in col) for col in zip(*lines, strict=True)]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
            for cells in lines]


def format_standards(table: Any, replications: int, confidence: float = 0.95) -> str:
    """The standards block: counts by verdict, breaches worst first, then the rest."""
    if table is None or len(table) == 0:
        return "no service standards in this scenario (add a standards: section to judge one)"
    t = worst_first(table)
    counts = t["verdict"].value_counts()
    tally = ", ".join(f"{int(counts[v])} {v}" for v in VERDICTS if v in counts)
    head = [f"Service standards ({replications} replication{'s' if replications != 1 else ''}, "
            f"{confidence:.0%} CI), by group: {tally}"]
    if replications < 2:
        head.append("  one run gives no interval, so no verdict: run -n 5 or more to judge")
    out = head
    breached = t[t["verdict"] == "breached"]
    if len(breached):
        out.append("BREACHED, worst first:")
        out += _columns([_line(r) for _, r in breached.head(SHOW_BREACHES).iterrows()])
        if len(breached) > SHOW_BREACHES:
            out.append(f"  ... and {len(breached) - SHOW_BREACHES} more (standards.csv)")
    unsettled = t[t["verdict"] == "not settled"]
    if len(unsettled) and replications >= 2:
        out.append("NOT SETTLED (the interval holds the target; more replications may decide):")
        out += _columns([_line(r) for _, r in unsettled.head(SHOW_UNSETTLED).iterrows()])
        if len(unsettled) > SHOW_UNSETTLED:
            out.append(f"  ... and {len(unsettled) - SHOW_UNSETTLED} more (standards.csv)")
    for verdict, what in (("met", "MET"), ("too small", "TOO SMALL to judge")):
        part = t[t["verdict"] == verdict]
        if len(part):
            per = part.groupby("standard", sort=False).size()
            out.append(f"{what}: " + ", ".join(f"{s} {n} group{'s' if n != 1 else ''}"
                                               for s, n in per.items()))
    return "\n".join(out)


def fmt_change(measure: str, value: float) -> str:
    """A signed change of a standard's value: pp for shares, min/h/d for waits."""
    if value is None or not math.isfinite(float(value)):
        return "-"
    v = float(value)
    if measure in SHARE_MEASURES:
        return f"{100 * v:+.1f} pp"
    return ("+" if v >= 0 else "-") + fmt_wait(abs(v))


def fmt_metric_change(metric: str, value: float) -> str:
    """A signed change of a summary metric: min/h/d for waits, pp for shares, else a number."""
    if value is None or not math.isfinite(float(value)):
        return "-"
    v = float(value)
    if metric.startswith("wait_") and metric.endswith("_min"):
        return ("+" if v >= 0 else "-") + fmt_wait(abs(v))
    if metric.startswith("share_") or metric.endswith("_rate") or metric == "utilisation":
        return f"{100 * v:+.1f} pp"
    return "+" + fmt_metric(metric, v) if v >= 0 else fmt_metric(metric, v)


def format_standard_changes(table: Any, limit: int = 10) -> str:
    """Per plan: breaches against the base's, and the groups whose verdict or value moved most."""
    if table is None or len(table) == 0:
        return ""
    base = str(table["plan"].iloc[0])
    key = ["standard", "group"]
    b = table[table["plan"] == base].set_index(key)
    out = [f"Service standards, each plan against {base} (change, paired CI):"]
    for plan, part in table[table["plan"] != base].groupby("plan", sort=False):
        n_b = int((b["verdict"] == "breached").sum())
        n_p = int((part["verdict"] == "breached").sum())
        out.append(f"{plan}: {n_p} breached (base {n_b})")
        part = part.assign(moved=(part.set_index(key).index.map(
            lambda k: b["verdict"].get(k, "")) != part["verdict"].to_numpy()),
            size=part["relative_gap"].abs())
        part = part.sort_values(["moved", "size"], ascending=False, kind="stable")
        lines = []
        for _, r in part.head(limit).iterrows():
            m = str(r["measure"])
            was = b["verdict"].get((r["standard"], r["group"]), "-")
            lo, hi = float(r["change_ci_low"]), float(r["change_ci_high"])
            ci = f"[{fmt_change(m, lo)}, {fmt_change(m, hi)}]" if math.isfinite(lo) else ""
            lines.append([str(r["standard"]), str(r["group"]), fmt_measure(m, float(r["mean"])),
                          fmt_change(m, float(r["change"])), ci, f"{was} -> {r['verdict']}"])
        out += _columns(lines)
    return "\n".join(out)


def format_first_breaches(breaks: Any, limit: int = 15) -> str:
    """Where each standard first breaks along a sweep (grid order)."""
    if breaks is None or len(breaks) == 0:
        return ""
    hit = breaks[breaks["first_breach"] != ""]
    out = [f"Service standards along the sweep: {len(hit)} of {len(breaks)} groups breached "
           "at some point; first breach:"]
    out += _columns([[str(r["standard"]), str(r["group"]), str(r["first_breach"])]
                     for _, r in hit.head(limit).iterrows()])
    if len(hit) > limit:
        out.append(f"  ... and {len(hit) - limit} more (standards_first_breach.csv)")
    return "\n".join(out)
