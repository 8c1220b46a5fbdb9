"""A self-contained HTML report of a results folder: the answer first, then STRESS-DES.

The first page states the question, answers it in sentences made from the tables (which
service standards are breached where and by how much; what a compared plan or a sweep
changes) and gives the breach table, worst first. The methods follow the STRESS-DES
checklist (Monks et al. 2019): objectives, model logic, data, experimentation,
implementation and code access. The page is rendered from Jinja2 templates
(``sim/present/templates``) with autoescaping on, every image embedded as base64 so the
one file opens offline, and a print stylesheet for A4.
"""

from __future__ import annotations

import base64
import math
import platform
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.present import findings, units
from sim.present.folder import ResultsFolder, command_line
from sim.present.plots import PLOT_DIR, sweep_keys
from sim.present.sections import Section, Table, cap, data, holiday_text, logic, where_text
from sim.present.validation import erlang_c_check
from sim.scenario.diff import diff_scenarios
from sim.scenario.standards import DEFAULT_MIN_REQUESTS

__all__ = ["SECTIONS", "ResultsFolder", "build_report", "command_line", "erlang_c_check",
           "write_report"]

SECTIONS: tuple[tuple[str, str], ...] = (
    ("objectives", "1. Objectives"),
    ("logic", "2. Model logic"),
    ("data", "3. Data and inputs"),
    ("experimentation", "4. Experimentation"),
    ("results", "4.2 Key results"),
    ("verdicts", "4.3 Comparison of plans"),
    ("sweep", "4.4 Sweep"),
    ("staffing", "4.5 Staffing plan"),
    ("plots", "4.6 Plots"),
    ("implementation", "5. Implementation"),
    ("validation", "5.2 Validation status"),
    ("code-access", "6. Code access and reproduction"),
)
"""Every methods section of the report (after the first page): its HTML id and heading."""

KEY_METRICS: tuple[str, ...] = (
    "arrivals", "served", "abandoned", "unserved", "wait_mean_min", "wait_p50_min",
    "wait_p90_min", "wait_p95_min", "share_same_day", "abandonment_rate", "utilisation",
    "overtime_min_per_day", "queue_length_mean", "throughput_per_day",
)
GROUP_METRICS: tuple[str, ...] = (
    "arrivals", "wait_mean_min", "wait_p90_min", "share_same_day", "abandonment_rate",
    "utilisation",
)
"""The columns of the by-specialty and by-hub-x-specialty tables (those the folder has)."""
EFFECT_METRICS: tuple[str, ...] = ("wait_mean_min", "wait_p90_min", "abandonment_rate")
MEDIA_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
"""How the report embeds a plot file, by its suffix."""

PLOT_CAPTIONS: dict[str, str] = {
    "wait_by_specialty": "Wait for a consult by specialty (box: quartiles; whiskers: 5th-95th "
                         "percentile; diamond: mean; dotted: service-level targets).",
    "wait_ecdf_by_hub": "Share of consults seen within a given wait, by specialty, for the "
                        "whole network and each hub; red dashes: a standard's limit, cross: its "
                        "target share (dotted: service targets where no standard is set).",
    "wait_by_time": "Heat maps of the 90th percentile wait by the hour and the weekday the "
                    "request was made, a row per specialty (longest first) on one colour "
                    "scale from minutes to days; outlined and numbered: cells over the "
                    "row's service standard (rows without one: their longest cell).",
    "queue_length": "Requests waiting over simulated time in one replication (arrival to "
                    "consult start or leaving): the whole network, then a row per specialty "
                    "relative to its own peak (peak / mean beside its name); orange line: "
                    "end of warm-up.",
    "utilisation_heatmap": "Utilisation (consult time / rostered doctor time) and overtime per "
                           "hub and specialty.",
    "equity_by_district": "Waits and abandonment by district, worst first (and on a map where "
                          "the scenario gives coordinates).",
    "comparison": "Each plan's key metrics with confidence intervals, and the paired "
                  "differences to the base plan (common random numbers).",
    "sweep": "Sweep curves: each metric against the swept parameter, one line per plan, "
             "with confidence bands and the standards' thresholds.",
}


# --- the first page --------------------------------------------------------------------------

def _base_label(f: ResultsFolder) -> str:
    base = [r["plan"] for r in f.comparison if r.get("verdict") == "base"]
    return base[0] if base else next(iter(f.arms), f.name)


def _title(f: ResultsFolder) -> str:
    if f.kind == "compare":
        base = _base_label(f)
        plans = [p for p in dict.fromkeys(r["plan"] for r in f.comparison) if p != base]
        return f"Plans compared: {', '.join(plans)} against {base}"
    if f.kind == "sweep":
        keys = ", ".join(units.key_label(k, f.scenario) for k in sweep_keys(f.sweep))
        return f"Sweep of {keys} on {f.name}"
    if f.kind == "staff":
        return f"Staffing plan: the fewest doctor-hours that meet the standards, {f.name}"
    return f"Teleconsultation network simulation: {f.name}"


def _question(f: ResultsFolder, question: str | None) -> str:
    if question:
        return question
    if f.kind == "staff":
        return ("How many doctors of which specialty should be on duty at which hub, and "
                "when, for every service standard to be met with the fewest doctor-hours?")
    if f.standards:
        where = "under each plan" if f.kind == "compare" else (
            "as the swept setting changes" if f.kind == "sweep" else "")
        return f"Where does the network miss its service standards {where}, and by how much?" \
            .replace("  ", " ").replace(" ,", ",")
    if f.kind == "compare":
        return f"Which staffing plan serves requests best, compared with {_base_label(f)}?"
    if f.kind == "sweep":
        keys = ", ".join(units.key_label(k, f.scenario) for k in sweep_keys(f.sweep))
        return f"How do waits and utilisation change as {keys} changes?"
    return f"How does the network described by scenario {f.name} perform?"


def _answer(f: ResultsFolder) -> list[str]:
    names: dict[str, str] = {}  # sentences name hubs by id; the legend below gives names
    arm = findings.arm_column(f.standards)
    out: list[str] = []
    if f.kind == "compare":
        base = _base_label(f)
        mine = [r for r in f.standards if not arm or r.get(arm) == base]
        said = findings.run_answer(mine, names, f.scenario)[:3]
        out += [f"Base plan {base}: {s[0].lower()}{s[1:]}" if i == 0 else s
                for i, s in enumerate(said)]
        out += findings.compare_answer(f.standards, f.comparison, names, base)
    elif f.kind == "sweep":
        out += findings.sweep_answer(f.standards, names, f.scenario)
    else:
        out += findings.run_answer(f.standards, names, f.scenario)
    if not f.standards:
        out.insert(0, "No standards.csv in this folder: no service standard was judged.")
        out += findings.network_answer(f.summary)
    if f.hub_names:
        out.append("Hubs: " + "; ".join(f"{k} is {v}" for k, v in f.hub_names.items()) + ".")
    return out


def _breach_table(f: ResultsFolder) -> Table | None:
    if not f.standards:
        return None
    found = findings.breaches(f.standards, f.hub_names)
    arm = findings.arm_column(f.standards)
    by_hub = any(b.hub for b in found)
    head = ([arm] if arm else []) + ["standard", *(["hub"] if by_hub else []), "where",
                                     "achieved (95% CI)", "target", "miss",
                                     "requests per replication"]
    def arm_text(a: str) -> list[str]:
        return [findings.point_label(a, f.scenario) if arm == "point" else a] if arm else []

    rows, note = cap([arm_text(b.arm) + [b.standard, *([b.hub] if by_hub else []), b.where,
                                         b.achieved, b.target, b.miss, b.n]
                       for b in found], "breaches")
    if not rows:
        note = "No standard is breached in any group."
    return Table(head, rows, "breaches", note)


AREA_LABELS = {"doctors": "registered doctors", "roster": "doctors on duty"}
"""How the report names ``sim.scenario.diff``'s areas (the others read as they are)."""


def _changes(f: ResultsFolder) -> list[tuple[str, Table]]:
    """Per plan, what it changes against the base (from the resolved scenarios)."""
    if f.kind != "compare" or len(f.arms) < 2:
        return []
    labels = list(f.arms)
    base = f.arms[labels[0]]
    out = []
    for label in labels[1:]:
        rows = [(AREA_LABELS.get(c.area, c.area),
                 units.hub_label(c.where, f.hub_names)
                 if c.area in ("roster", "doctors", "hubs") else c.where,
                 c.what, c.before, c.after) for c in diff_scenarios(base, f.arms[label])]
        out.append((f"{label} against {labels[0]}", Table(
            ("change in", "where", "what", labels[0], label), rows, "changes",
            "" if rows else "No difference in the resolved scenarios.")))
    return out


def _effects(f: ResultsFolder) -> Table | None:
    """Each plan's paired difference per hub x specialty (or per hub and specialty)."""
    if not f.comparison:
        return None
    present = {r["group_by"] for r in f.comparison if r["metric"] in EFFECT_METRICS}
    levels = ["hub_specialty"] if "hub_specialty" in present else [
        g for g in ("hub", "specialty") if g in present]
    rows = [r for r in f.comparison if r["group_by"] in levels and r["metric"] in EFFECT_METRICS
            and r.get("verdict") != "base"]
    base = {(r["metric"], r["group_by"], r["group"]): r for r in f.comparison
            if r.get("verdict") == "base"}

    def rank(r: Mapping[str, Any]) -> tuple[int, float]:
        b = units.number(base.get((r["metric"], r["group_by"], r["group"]), {}).get("mean"))
        d = units.number(r.get("diff"))
        rel = abs(d) / max(abs(b), 1e-9) if not (math.isnan(d) or math.isnan(b)) else 0.0
        return (0 if r.get("verdict") in ("better", "worse") else 1, -rel)

    body = []
    for r in sorted(rows, key=rank):
        m = r["metric"]
        b = base.get((m, r["group_by"], r["group"]), {})
        body.append((r["plan"], units.group_label(r["group_by"], r["group"], f.hub_names),
                     units.metric_label(m).split(" (")[0], units.value(b.get("mean"), m),
                     units.value(r.get("mean"), m, like=b.get("mean")),
                     units.difference(r.get("diff"), m, like=b.get("mean")),
                     units.interval(r.get("diff_ci_low"), r.get("diff_ci_high"), m,
                                    like=b.get("mean")), r.get("verdict", "")))
    rows_shown, note = cap(body, "group differences")
    return Table(("plan", "where", "metric", "base", "plan value", "difference",
                  "95% CI of difference", "verdict"), rows_shown, "effects", note or (
        "Paired differences (plan minus base, same random numbers); detected ones first, "
        "then by size relative to the base."))


def _standard_effects(f: ResultsFolder) -> Table | None:
    """Each plan's paired change in every standard's value per group (``change`` columns)."""
    rows = [r for r in f.standards if r.get("change") not in (None, "")]
    if not rows:
        return None
    base = {findings.key(r): r for r in f.standards if r.get("plan") == _base_label(f)}
    body = []
    for r in sorted(rows, key=lambda r: -abs(units.number(r.get("change")))
                    / max(abs(units.number(r.get("target"))), 1e-9)):
        unit = findings.unit_of(r)
        lo, hi = units.number(r.get("change_ci_low")), units.number(r.get("change_ci_high"))
        good = -1.0 if findings.sense_of(r) == "at_most" else 1.0
        effect = ("better" if min(lo * good, hi * good) > 0 else
                  "worse" if max(lo * good, hi * good) < 0 else "no detectable change")
        hub, where = units.split_group(str(r["group_by"]), str(r["group"]), f.hub_names)
        b = base.get(findings.key(r), {})
        body.append((r.get("plan", ""), r["standard"], hub, where,
                     units.value(b.get("mean"), "", unit), units.value(r.get("mean"), "", unit),
                     units.difference(r.get("change"), "", unit, like=b.get("mean")),
                     units.interval(lo, hi, "", unit, like=b.get("mean")) if unit != "share"
                     else f"{100 * lo:+.1f} to {100 * hi:+.1f} points", effect))
    shown, note = cap(body, "changes")
    return Table(("plan", "standard", "hub", "where", "base", "plan value", "change",
                  "95% CI of change", "effect"), shown, "effects wide", note or (
        "Plan minus base, paired over replications (same random numbers); largest changes "
        "relative to the target first."))


# --- the methods sections --------------------------------------------------------------------

def _objectives(f: ResultsFolder, question: str) -> Section:
    s = Section("objectives", "1. Objectives", [f"Question. {question}"])
    if f.scenario.get("description"):
        s.paragraphs.append(f"Scenario {f.name}: {f.scenario['description']}")
    plans = (list(dict.fromkeys(r["plan"] for r in f.comparison)) if f.comparison else
             list(dict.fromkeys(r.get("scenario", "") for r in f.sweep)) if f.sweep else [])
    if plans:
        s.paragraphs.append(f"Scenarios compared ({len(plans)}):")
        s.items = plans
    targets = [float(t) for t in f.scenario.get("metrics", {}).get("targets_min", [])]
    s.paragraphs.append(
        "Outputs of interest: waits from request to consult start (mean, median, 90th and 95th "
        "percentiles), the share seen within the service-level targets ("
        + (", ".join(units.duration(t) for t in targets) or "none set")
        + "), abandonment, doctor utilisation and overtime, by hub, specialty and district.")
    standards = [x for x in f.scenario.get("standards") or [] if isinstance(x, Mapping)]
    if standards:
        s.tables.append(("Service standards (from the scenario)", Table(
            ("standard", "measure", "target", "applies to", "confidence"),
            [(x.get("id", ""), findings.describe(str(x.get("id")), f.scenario).partition(
                " (")[2].rstrip(")") or x.get("measure", ""), x.get("target", ""),
              where_text(x.get("where")), x.get("confidence", 0.95)) for x in standards])))
    return s


def _settings(f: ResultsFolder) -> Section:
    run, cal = f.run, f.scenario.get("calendar", {}) or {}
    reps = run.get("replications")
    if reps is None and f.replications:
        reps = len({r["replication"] for r in f.replications})
    rows: list[tuple[str, Any]] = [
        ("command", command_line(run) or run.get("command", "–")),
        ("root seed", run.get("seed", f.scenario.get("seed", "–"))),
        ("replications", reps if reps is not None else 1),
        ("confidence level", run.get("confidence", "–")),
        ("horizon", f"{run.get('horizon_days', cal.get('horizon_days', '–'))} days"),
        ("warm-up", f"{run.get('warmup_days', cal.get('warmup_days', '–'))} days"),
        ("first simulated day", " ".join(str(x) for x in (
            str(cal.get("start_weekday", "–")).capitalize(), cal.get("start_date")) if x)),
        ("holidays (dates or day numbers)",
         ", ".join(map(holiday_text, cal.get("holidays", []))) or "none"),
    ]
    if cal.get("roster_exceptions"):
        rows.append(("roster exceptions", len(cal["roster_exceptions"])))
    for k in sweep_keys(f.sweep) if f.sweep else []:
        rows.append((f"swept {units.key_label(k, f.scenario)} ({k})",
                     ", ".join(dict.fromkeys(r[k] for r in f.sweep))))
    return Section("experimentation", "4. Experimentation", [
        "Randomness: one root seed per experiment, one SeedSequence child per replication, one "
        "named numpy Generator per source of randomness; every plan sees the same arrivals "
        "(common random numbers)."], [("4.1 Run settings", Table(("setting", "value"), rows))])


def _cells(r: Mapping[str, Any], metric: str) -> tuple[str, str]:
    mean = r.get("mean")
    if mean not in (None, ""):
        return (units.value(mean, metric),
                units.interval(r.get("ci_low"), r.get("ci_high"), metric, like=mean))
    return units.value(r.get("value"), metric), "– (one run)"


def _group_table(f: ResultsFolder, group_by: str, what: str,
                 head: Sequence[str]) -> Table | None:
    rows = [r for r in f.summary if r["group_by"] == group_by]
    look = {(r["group"], r["metric"]): r for r in rows}
    cols = [m for m in GROUP_METRICS if any(k[1] == m for k in look)]
    if not cols:
        return None
    sort = next(m for m in ("wait_p90_min", "wait_mean_min", "utilisation") if m in cols)

    def mean(g: str, metric: str) -> float:  # NaN where the group lacks the metric
        r = look.get((g, metric), {})
        return units.number(r.get("mean") if r.get("mean") not in (None, "") else r.get("value"))

    def worst(g: str) -> float:
        v = mean(g, sort)
        return -v if not math.isnan(v) else math.inf

    def few(g: str) -> bool:  # too few requests to judge, as for the service standards
        return mean(g, "arrivals") < DEFAULT_MIN_REQUESTS

    groups = sorted(dict.fromkeys(r["group"] for r in rows), key=lambda g: (few(g), worst(g)))

    def names(g: str) -> tuple[str, ...]:
        hub, rest = units.split_group(group_by, g, f.hub_names)
        out = tuple(x for x in (hub, rest) if x) if len(head) > 1 else (hub or rest,)
        return (*out[:-1], out[-1] + " (too few to judge)") if few(g) else out

    body, note = cap([(*names(g), *(_cells(look[(g, c)], c)[0] if (g, c) in look else "–"
                                     for c in cols)) for g in groups], what)
    small = (f" Groups of fewer than {DEFAULT_MIN_REQUESTS} requests per replication come "
             "last, too few to judge." if any(map(few, groups)) else "")
    return Table((*head, *(units.column_label(c) for c in cols)), body, "wide",
                 note or f"Means over replications, worst {units.metric_label(sort)} first."
                 + small)


def _results(f: ResultsFolder) -> Section:
    s = Section("results", "4.2 Key results")
    rows = {r["metric"]: r for r in f.summary if r["group_by"] == "all"}
    if not rows:
        s.paragraphs.append("This folder holds an experiment; its results are in the next "
                            "sections and each plan's folder." if f.comparison or f.sweep
                            else "No summary.csv in this folder.")
        return s
    empty = _empty_note(rows)
    if empty:
        s.paragraphs.append(empty)
    metrics = [m for m in KEY_METRICS if m in rows] + [m for m in rows
                                                       if m.startswith("share_within_")]
    s.tables.append(("Whole network", Table(("metric", "value (mean)", "95% confidence interval"),
                                            [(units.column_label(m), *_cells(rows[m], m))
                                             for m in metrics])))
    for group_by, title, head in (("specialty", "specialty", ("specialty",)),
                                  ("hub", "hub", ("hub",)),
                                  ("hub_specialty", "hub x specialty", ("hub", "specialty"))):
        t = _group_table(f, group_by, f"{title} groups", head)
        if t is not None:
            s.tables.append((f"By {title}", t))
    return s


def _empty_note(by_metric: Mapping[str, Mapping[str, Any]]) -> str:
    """A warning when nothing arrived or nothing was served after the warm-up."""
    def value(metric: str) -> float:
        r = by_metric.get(metric) or {}
        return units.number(r.get("mean") if r.get("mean") not in (None, "") else r.get("value"))

    arrivals, served = value("arrivals"), value("served")
    if arrivals == 0:
        return ("No request arrived after the warm-up (zero demand, every day a holiday, or a "
                "warm-up as long as the run): there are no waits to report.")
    if served == 0:
        return (f"No request was served after the warm-up ({arrivals:,.0f} arrived): every "
                "wait statistic below is empty.")
    return ""


def _verdicts(f: ResultsFolder) -> Section:
    s = Section("verdicts", "4.3 Comparison of plans")
    if not f.comparison:
        s.paragraphs.append("No comparison in this folder (a single scenario).")
        return s
    rows = [r for r in f.comparison if r["group_by"] == "all"]
    shown = set(KEY_METRICS) | {r["metric"] for r in rows if r["metric"].startswith("share_")}
    body = []
    for r in rows:
        m = r["metric"]
        if m not in shown:
            continue
        base = r.get("verdict") == "base"
        body.append((r["plan"], units.column_label(m), *_cells(r, m),
                     "–" if base else units.difference(r.get("diff"), m, like=r.get("mean")),
                     "–" if base else units.interval(r.get("diff_ci_low"), r.get("diff_ci_high"),
                                                     m, like=r.get("mean")),
                     r.get("verdict", "")))
    s.paragraphs.append("Differences are paired: each plan ran with the same random numbers as "
                        "the base, replication by replication.")
    s.tables.append(("Whole network", Table(("plan", "metric", "mean", "95% CI",
                                             "difference to base", "95% CI of difference",
                                             "verdict"), body, "verdicts")))
    by_standard = _standard_effects(f)
    if by_standard is not None and by_standard.rows:
        s.tables.append(("Effect on each standard, by group", by_standard))
    effects = _effects(f)
    if effects is not None and effects.rows:
        s.tables.append(("Effect by hub and specialty", effects))
    return s


def _sweep(f: ResultsFolder) -> Section:
    s = Section("sweep", "4.4 Sweep")
    if not f.sweep:
        s.paragraphs.append("No sweep in this folder.")
        return s
    keys = sweep_keys(f.sweep)
    rows = [r for r in f.sweep if r["group_by"] == "all"
            and r["metric"] in ("wait_p90_min", "wait_mean_min", "utilisation",
                                "abandonment_rate")]
    s.tables.append(("Whole network at each point", Table(
        (*(units.key_label(k, f.scenario) for k in keys), "metric", "mean", "95% CI"),
        [(*(r[k] for k in keys), units.column_label(r["metric"]), *_cells(r, r["metric"]))
         for r in rows])))
    return s


def _staffing(f: ResultsFolder) -> Section:
    s = Section("staffing", "4.5 Staffing plan")
    if f.kind != "staff":
        s.paragraphs.append("No staffing plan in this folder (made by hubsim staff).")
        return s
    run, hours = f.run, f.run.get("doctor_hours_per_week") or {}
    verdict = ("every standard was met in every group" if run.get("verified")
               else "NOT every standard was met")
    s.paragraphs.append(
        f"The plan puts {units.number(hours.get('plan')):,.1f} doctor-hours a week on duty in "
        f"the pools it staffs, against {units.number(hours.get('roster')):,.1f} on the "
        f"scenario's roster. It was searched on {run.get('replications')} replications "
        "(common random numbers) and verified on "
        f"{run.get('verify_replications')} fresh ones, where {verdict} (the breach table "
        "on the first page is that verification). plan.yaml is the plan as an overlay that "
        "hubsim run and hubsim compare accept.")
    if f.infeasible:
        s.tables.append(("No roster within the registered doctors meets", Table(
            ("standard", "hub", "specialty", "target", "best reached", "more doctors needed"),
            [(r["standard"], units.hub_label(r["hub"], f.hub_names), r["specialty"],
              r["target"], r["best_mean"], r.get("extra_doctors") or "more than tried")
             for r in f.infeasible])))
    changed = [r for r in f.staffing if r["change"] not in ("", "0")]
    if changed:
        s.tables.append(("Changes against the roster (doctors on duty per session)", Table(
            ("hub", "specialty", "weekday", "session", "roster", "plan", "doctor-hours"),
            [(units.hub_label(r["hub"], f.hub_names), r["specialty"], r["weekday"],
              f"{r['session']} {r['start']}-{r['end']}", r["roster_doctors"], r["doctors"],
              r["doctor_hours"]) for r in changed], "wide")))
    return s


def _plots(f: ResultsFolder) -> list[dict[str, str]]:
    out = []
    for p in f.plots():
        rel = p.relative_to(f.path)
        where = "" if rel.parts[0] == PLOT_DIR else f" Plan/point: {rel.parts[0]}."
        out.append({"id": "plot-" + str(rel.with_suffix("")).replace("/", "-"),
                    "src": f"data:{MEDIA_TYPES[p.suffix]};base64,"
                           + base64.b64encode(p.read_bytes()).decode(),
                    "caption": PLOT_CAPTIONS.get(p.stem, p.stem.replace("_", " ")) + where,
                    "file": rel.as_posix()})
    return out


def _implementation(f: ResultsFolder) -> Table:
    from sim import __version__

    run = f.run
    versions = ", ".join(f"{k} {run[k]}" for k in ("python", "numpy", "simpy") if run.get(k))
    return Table(("item", "value"), [
        ("simulator", f"hubsim {run.get('hubsim_version', __version__)} (Python; SimPy "
                      "drives simulated time; numpy)"),
        ("software used for the run", versions or
         "not recorded (run.json predates version recording)"),
        ("report made with", f"hubsim {__version__}, Python {platform.python_version()}, "
                             f"numpy {np.__version__}"),
        ("platform", platform.platform()),
    ])


def _files(f: ResultsFolder) -> list[str]:
    return sorted(p.relative_to(f.path).as_posix() for p in f.path.rglob("*")
                  if p.is_file() and p.suffix != ".html"
                  and not any(part.startswith(".") or part == PLOT_DIR
                              for part in p.relative_to(f.path).parts))


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("sim.present", "templates"),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


def build_report(results_dir: str | Path, question: str | None = None,
                 validation: bool = True) -> str:
    """The report of ``results_dir`` as one HTML document (images embedded)."""
    from sim.present.plots import plot_results

    f = ResultsFolder.read(results_dir)
    if not f.plots():
        plot_results(f.path)
    q = _question(f, question)
    exp = _settings(f)
    sections = [_objectives(f, q), logic(f), data(f), exp, _results(f), _verdicts(f),
                _sweep(f), _staffing(f)]
    check = erlang_c_check() if validation else None
    cmd = command_line(f.run) or str(f.run.get("command", ""))
    return _environment().get_template("report.html.j2").render(
        title=_title(f), question=q, answer=_answer(f), breaches=_breach_table(f),
        changes=_changes(f), sections=sections, plots=_plots(f),
        implementation=_implementation(f), check=check, command=cmd,
        files=_files(f), folder=f.path.name, made=time.strftime("%Y-%m-%d %H:%M UTC",
                                                                time.gmtime()),
        titles=dict(SECTIONS), toc=SECTIONS)


def write_report(results_dir: str | Path, out: str | Path | None = None,
                 question: str | None = None, validation: bool = True) -> Path:
    """Write the report of ``results_dir`` (default ``results_dir/report.html``)."""
    from sim.results.output import write_text

    target = Path(out) if out else Path(results_dir) / "report.html"
    return write_text(target, build_report(results_dir, question, validation))
