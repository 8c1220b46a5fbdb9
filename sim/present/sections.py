"""The report's building blocks, and the sections that describe its inputs.

A table and a section, as the templates show them; model logic and data, in words, from
the resolved scenario.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.present import units
from sim.present.folder import ResultsFolder

OPTIONAL_SECTIONS: tuple[str, ...] = (
    "booking", "failures", "phc_tier", "followups", "priorities", "absence",
)
MAX_ROWS = 40
"""The most rows a group table shows (worst first); the rest are in the CSV files."""


@dataclass(frozen=True)
class Table:
    """A table for the template: header cells, rows of text cells, a note under it."""

    head: Sequence[str]
    rows: Sequence[Sequence[Any]]
    cls: str = ""
    note: str = ""


@dataclass
class Section:
    """One methods section: id, heading, and what its template block shows."""

    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, Table]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)

    @property
    def level(self) -> int:
        """2 for a numbered section (``4.``), 3 for a subsection (``4.2``)."""
        return 3 if self.title[1] == "." and self.title[2].isdigit() else 2


def cap(rows: Sequence[Sequence[Any]], what: str, limit: int = MAX_ROWS) -> tuple[list[Any], str]:
    """The first ``limit`` rows (worst first), and a note saying how many were left out."""
    if len(rows) <= limit:
        return list(rows), ""
    return list(rows[:limit]), f"The {limit} worst of {len(rows)} {what}; all are in the CSV files."


# --- inputs in words -------------------------------------------------------------------------

def _clock(v: Any) -> str:
    from sim.scenario.types import format_clock

    # An unquoted 09:30 reads back from YAML 1.1 as the integer 570 (minutes).
    return format_clock(v) if isinstance(v, int) else str(v)


UNITLESS: frozenset[str] = frozenset({"kind", "shape", "cv", "k", "p", "weights", "probability"})


def _dist(d: Any) -> str:
    """A distribution of minutes in words: ``lognormal (mean 9 min, sd 6 min)``."""
    if not isinstance(d, Mapping):
        return str(d)
    rest = ", ".join(
        f"{k} {units.duration(v) if isinstance(v, int | float) and k not in UNITLESS else v}"
        for k, v in d.items() if k != "kind" and v is not None)
    return f"{d.get('kind', '?')} ({rest})" if rest else str(d.get("kind", "?"))


def where_text(where: Any) -> str:
    """A standard's ``where:`` in words (``everywhere`` when it has no list)."""
    if not isinstance(where, Mapping) or not any(where.values()):
        return "everywhere"
    return "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                     for k, v in where.items() if v)



def logic(f: ResultsFolder) -> Section:
    """Section 2: how requests arrive, are routed, served, and leave."""
    sc = f.scenario
    routing, queue, demand = (sc.get(k, {}) or {} for k in ("routing", "queue", "demand"))
    process = {ch: (demand.get(ch) or {}).get("process", "poisson") for ch in ("d2d", "opd")
               if demand.get(ch)}
    optional = [k for k in OPTIONAL_SECTIONS if sc.get(k)]
    threshold = routing.get("overflow_threshold_min")
    items = [
        "Requests arrive from spoke facilities (doctor-to-doctor, D2D: sub-centres and PHCs) "
        "and from patients at home (OPD mode), as arrival processes "
        + ", ".join(f"{k.upper()}: {v}" for k, v in process.items())
        + ", shaped by hour-of-day and weekday profiles and only while the spokes are open.",
        "Each request names a specialty and is routed to a hub's queue for that specialty "
        f"under the routing policy '{routing.get('policy', 'home_hub')}'"
        + (f" (overflow threshold {units.duration(threshold)})"
           if routing.get("policy") == "overflow" and threshold is not None else "") + ".",
        "Doctors on the hub's duty roster take requests first come, first served (by "
        "priority class first when priorities are switched on); a consult that runs past the "
        "end of a session finishes and counts as overtime.",
        "Patience: " + (f"requests leave after a time drawn from {_dist(queue['patience'])}."
                        if queue.get("patience") else "requests never leave the queue.")
        + (" When a session ends, waiting requests keep their place for the next session."
           if queue.get("session_end", "carry") == "carry"
           else " When a session ends, requests still waiting are dropped."),
        "Warm-up is handled by filtering: request metrics count requests that arrived after "
        "the warm-up; time-based metrics integrate over [warm-up, horizon). Requests still "
        "waiting at the horizon are reported as unserved.",
        "Optional mechanisms switched on: " + (", ".join(optional) if optional else
                                               "none (no booking, call failures, PHC tier, "
                                               "follow-ups, priorities or absence)") + ".",
    ]
    return Section("logic", "2. Model logic", items=items)


def data(f: ResultsFolder) -> Section:
    """Section 3: specialties, hubs, rosters, spokes and demand as simulated."""
    sc = f.scenario
    s = Section("data", "3. Data and inputs")
    if not sc:
        s.paragraphs.append("No scenario.resolved.yaml in this folder: inputs cannot be listed.")
        return s
    specs = sc.get("specialties", {}) or {}
    names = f.hub_names
    s.tables.append(("Specialties and consult lengths", Table(
        ("specialty", "consult length distribution"),
        [(n, _dist((x or {}).get("consult"))) for n, x in specs.items()])))
    hubs = sc.get("hubs", []) or []
    spec_names = list(specs)
    s.tables.append(("Hubs: registered doctors per specialty", Table(
        ("hub", "district", *spec_names, "total"),
        [(units.hub_label(str(h.get("id")), names), h.get("district", ""),
          *((h.get("doctors") or {}).get(x, 0) for x in spec_names),
          sum((h.get("doctors") or {}).values())) for h in hubs], "wide")))
    s.tables.append(("Duty rosters", Table(
        ("hub", "specialty", "days", "from", "to", "doctors on duty"),
        [(h.get("id"), r.get("specialty"), units.days_text(r.get("days")), _clock(r.get("start")),
          _clock(r.get("end")), r.get("doctors")) for h in hubs
         for r in (h.get("roster") or [])])))
    hours = (sc.get("spokes", {}) or {}).get("hours") or {}
    dists = (sc.get("spokes", {}) or {}).get("districts", []) or []
    s.tables.append((f"Spokes by district (open {units.days_text(hours.get('days'))} "
                     f"{_clock(hours.get('start'))}-{_clock(hours.get('end'))})", Table(
        ("district", "home hub", "sub-centres", "PHCs", "population", "lat (°N)", "lon (°E)"),
        [(d.get("district"), d.get("home_hub"), d.get("subcentres", 0), d.get("phcs", 0),
          f"{d['population']:,}" if d.get("population") is not None else "–",
          d.get("lat") if d.get("lat") is not None else "–",
          d.get("lon") if d.get("lon") is not None else "–") for d in dists])))
    demand = sc.get("demand", {}) or {}
    rows: list[tuple[str, str]] = [("growth multiplier", f"{demand.get('growth', 1.0):g} x")]
    for ch, what in (("d2d", "D2D requests per spoke per open day"),
                     ("opd", "OPD requests per open day by district")):
        block = demand.get(ch)
        if block:
            rates = block.get("per_spoke_per_day") or block.get("per_day") or {}
            rows.append((what, ", ".join(f"{k}: {v:g}" for k, v in rates.items())))
            rows.append((f"{ch.upper()} specialty mix", ", ".join(
                f"{k} {v:.0%}" for k, v in (block.get("specialty_mix") or {}).items())))
    s.tables.append(("Demand", Table(("input", "value"), rows)))
    s.paragraphs.append("These are the resolved inputs actually simulated (every default filled "
                        "in); the sources of the figures are cited in the scenario file.")
    return s


def holiday_text(h: Any) -> str:
    """A resolved holiday (a day number, a date, or {date, name, hubs}) in a few words."""
    if not isinstance(h, dict):
        return str(h)
    hubs = f" ({', '.join(h['hubs'])} only)" if h.get("hubs") else ""
    return f"{h.get('date')} {h.get('name', '')}".strip() + hubs


