"""A self-contained HTML report of a results folder, structured after STRESS-DES.

STRESS-DES (Monks et al. 2019, "Strengthening the reporting of empirical simulation
studies") asks a simulation report for its objectives, model logic, data, experimentation,
implementation and code access; the sections here follow that order. The report reads
only the folder's tables (``run.json``, ``scenario.resolved.yaml``, ``summary.csv``,
``comparison.csv``, ``sweep.csv``, ``replications.csv``) and its plots, embeds every image
as base64 so the one file opens offline, and escapes every piece of text it shows.
"""

from __future__ import annotations

import base64
import html
import json
import math
import platform
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.present.plots import PLOT_DIR, metric_label

SECTIONS: tuple[tuple[str, str], ...] = (
    ("objectives", "1. Objectives"),
    ("logic", "2. Model logic"),
    ("data", "3. Data and inputs"),
    ("experimentation", "4. Experimentation"),
    ("results", "4.2 Key results"),
    ("verdicts", "4.3 Comparison of plans"),
    ("sweep", "4.4 Sweep"),
    ("plots", "4.5 Plots"),
    ("implementation", "5. Implementation"),
    ("validation", "5.2 Validation status"),
    ("code-access", "6. Code access and reproduction"),
)
"""Every section of the report: its HTML id and heading."""

OPTIONAL_SECTIONS: tuple[str, ...] = (
    "booking", "failures", "phc_tier", "followups", "priorities", "absence",
)
KEY_METRICS: tuple[str, ...] = (
    "arrivals", "served", "abandoned", "unserved", "wait_mean_min", "wait_p50_min",
    "wait_p90_min", "wait_p95_min", "share_same_day", "abandonment_rate", "utilisation",
    "overtime_min_per_day", "queue_length_mean", "throughput_per_day",
)
PLOT_ORDER: tuple[str, ...] = (
    "comparison", "sweep", "wait_ecdf_by_hub", "wait_by_specialty", "wait_by_time",
    "queue_length", "utilisation_heatmap", "equity_by_district",
)
"""The order plots appear in the report: experiment-level first, then each run's."""
PLOT_CAPTIONS: dict[str, str] = {
    "wait_by_specialty": "Wait for a consult by specialty (box: quartiles; whiskers: 5th-95th "
                         "percentile; diamond: mean; dotted: service-level targets).",
    "wait_ecdf_by_hub": "Share of consults seen within a given wait, by specialty, for the "
                        "whole network and each hub; dotted lines mark the service targets.",
    "wait_by_time": "Median wait with a band up to the 90th percentile, by the hour and the "
                    "weekday the request was made.",
    "queue_length": "Requests waiting over simulated time in one replication (arrival to "
                    "consult start or leaving), total and per hub; grey: warm-up.",
    "utilisation_heatmap": "Utilisation (consult time / rostered doctor time) and overtime per "
                           "hub and specialty.",
    "equity_by_district": "Waits and abandonment by district, worst first (and on a map where "
                          "the scenario gives coordinates).",
    "comparison": "Each plan's key metrics with confidence intervals, and the paired "
                  "differences to the base plan (common random numbers).",
    "sweep": "Sweep curves: each metric against the swept parameter, one line per plan, "
             "with confidence bands.",
}


def esc(value: Any) -> str:
    """Text for HTML: escaped, quotes included."""
    return html.escape(str(value), quote=True)


def _fmt(v: Any, metric: str = "") -> str:
    """A number formatted for a table (shares as %, counts with separators)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(x):
        return "–"
    if metric.startswith("share_") or metric in ("utilisation", "abandonment_rate"):
        return f"{100 * x:.1f}%"
    if metric in ("arrivals", "served", "abandoned", "unserved", "dropped") or (
            x == int(x) and abs(x) >= 1000):
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) < 100 else f"{x:,.1f}"


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> str:
    """An HTML table; every cell escaped."""
    out = [f'<table class="{esc(cls)}"><thead><tr>'
           + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _p(text: str) -> str:
    return f"<p>{esc(text)}</p>"


# --- reading the folder ----------------------------------------------------------------------

@dataclass(frozen=True)
class ResultsFolder:
    """The tables found in a results folder (missing ones empty)."""

    path: Path
    run: dict[str, Any]
    scenario: dict[str, Any]
    summary: list[dict[str, str]]
    comparison: list[dict[str, str]]
    sweep: list[dict[str, str]]
    replications: list[dict[str, str]]

    @classmethod
    def read(cls, path: str | Path) -> ResultsFolder:
        """Read whatever tables ``path`` holds."""
        import yaml

        from sim.results.output import read_csv

        folder = Path(path)
        if not folder.is_dir():
            raise FileNotFoundError(2, "no such results folder", str(folder))

        def csv(name: str) -> list[dict[str, str]]:
            return read_csv(folder / name) if (folder / name).exists() else []

        run: dict[str, Any] = {}
        if (folder / "run.json").exists():
            run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        scenario: dict[str, Any] = {}
        # The base plan's scenario for a comparison (its folder is listed first in run.json).
        listed = run.get("scenarios")
        arms: list[Any] = listed if isinstance(listed, list) else []
        first = [folder / str(a["folder"]) / "scenario.resolved.yaml" for a in arms[:1]
                 if isinstance(a, dict) and a.get("folder")]
        candidates = [folder / "scenario.resolved.yaml", *first,
                      *sorted(folder.glob("*/scenario.resolved.yaml"))]
        for p in candidates:
            if p.exists():
                data = yaml.safe_load(p.read_text(encoding="utf-8"))
                scenario = data if isinstance(data, dict) else {}
                break
        return cls(folder, run, scenario, csv("summary.csv"), csv("comparison.csv"),
                   csv("sweep.csv"), csv("replications.csv"))

    @property
    def kind(self) -> str:
        """``compare``, ``sweep`` or ``run``: what produced the folder."""
        if self.comparison:
            return "compare"
        if self.sweep:
            return "sweep"
        return "run"

    def plots(self) -> list[Path]:
        """The PNG plots of the folder, then those of its plan/point subfolders."""
        order = list(PLOT_ORDER)

        def key(p: Path) -> tuple[int, str]:
            return (order.index(p.stem) if p.stem in order else len(order), p.stem)

        own = sorted((self.path / PLOT_DIR).glob("*.png"), key=key)
        subs = sorted(self.path.glob(f"*/{PLOT_DIR}/*.png"), key=lambda p: (p.parts[-3], *key(p)))
        return own + subs


def command_line(run: Mapping[str, Any]) -> str | None:
    """The ``hubsim`` command line that produced a folder, from run.json's ``arguments``."""
    import shlex

    args = run.get("arguments")
    if not isinstance(args, Mapping) or not args.get("command"):
        return None
    parts = ["hubsim", str(args["command"])]
    for key in ("scenario", "base"):
        if args.get(key):
            parts.append(str(args[key]))
    parts += [str(p) for p in args.get("plans") or []]
    for key, value in args.items():
        if key in ("command", "scenario", "base", "plans", "func") or value in (None, False, ""):
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            parts.append(flag)
        elif isinstance(value, list):
            for item in value:
                parts += [flag, str(item)]
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)


# --- validation ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ValidationCheck:
    """A simulated M/M/c mean wait over replications against the Erlang C value."""

    servers: int
    arrival_rate: float
    mean_service: float
    replications: int
    horizon_days: int
    warmup_days: float
    seed: int
    confidence: float
    simulated_mean: float
    ci_low: float
    ci_high: float
    theory: float
    seconds: float

    @property
    def passed(self) -> bool:
        """The Erlang C mean wait lies inside the simulated confidence interval."""
        return self.ci_low <= self.theory <= self.ci_high


def erlang_c_check(servers: int = 5, utilisation: float = 0.8, mean_service: float = 10.0,
                   replications: int = 20, horizon_days: int = 30, warmup_days: float = 2.0,
                   seed: int = 2024, confidence: float = 0.99) -> ValidationCheck:
    """Simulate M/M/c ``replications`` times and compare the mean wait with Erlang C.

    Uses ``sim.textbook.queue_scenario`` (an ordinary scenario through the normal engine)
    and ``sim.theory.mmc_wait_mean``; one ``SeedSequence`` child per replication. A 99%
    interval by default, so a correct engine fails the check by chance about 1 time in 100
    (and, the seed being fixed, always the same way for the same engine).
    """
    from sim.analysis.metrics import lookup, summary_rows
    from sim.analysis.theory import mmc_wait_mean
    from sim.engine.model import simulate
    from sim.experiment.runner import t_interval
    from sim.scenario.textbook import queue_scenario

    rate = servers * utilisation / mean_service
    scenario = queue_scenario(servers, rate, mean_service, horizon_days=horizon_days,
                              warmup_days=warmup_days, seed=seed)
    t0 = time.perf_counter()
    waits = np.array([
        lookup(summary_rows(simulate(scenario, seed=child), by=()), "wait_mean_min")
        for child in np.random.SeedSequence(seed).spawn(replications)
    ])
    mean, low, high, _ = t_interval(waits, confidence)
    return ValidationCheck(servers, rate, mean_service, replications, horizon_days,
                           warmup_days, seed, confidence, mean, low, high,
                           float(mmc_wait_mean(servers, rate, mean_service)),
                           time.perf_counter() - t0)


def _validation_html(run_check: bool) -> str:
    if not run_check:
        return _p("Validation was not run for this report (--no-validation). Run `hubsim "
                  "report` without that option to add a live M/M/c check against Erlang C.")
    try:
        check = erlang_c_check()
    except ImportError as exc:
        return _p(f"Validation status unknown: the theory module is not available ({exc}).")
    level = f"{check.confidence:.0%}"
    verdict = (f"PASSED: the Erlang C mean wait lies inside the simulated {level} confidence "
               "interval." if check.passed else
               f"FAILED: the Erlang C mean wait lies outside the simulated {level} confidence "
               "interval; treat the results with caution.")
    rows = [
        ("queue", f"M/M/{check.servers}, arrival rate {check.arrival_rate:.3g}/min, "
                  f"mean consult {check.mean_service:g} min, utilisation "
                  f"{check.arrival_rate * check.mean_service / check.servers:.0%}"),
        ("runs", f"{check.replications} replications x {check.horizon_days} days "
                 f"(warm-up {check.warmup_days:g} days), root seed {check.seed}"),
        ("simulated mean wait", f"{check.simulated_mean:.3f} min "
                                f"({level} CI {check.ci_low:.3f} to {check.ci_high:.3f})"),
        ("Erlang C mean wait", f"{check.theory:.3f} min"),
        ("result", verdict),
        ("computed", f"at report time in {check.seconds:.1f} s by sim.report.erlang_c_check "
                     "with sim.theory.mmc_wait_mean (not read from a recorded result)"),
    ]
    cls = "pass" if check.passed else "fail"
    return (_p("The engine is checked against queueing theory: an M/M/c queue written as an "
               "ordinary scenario is simulated and its mean wait compared with the Erlang C "
               "formula. This check was run when this report was made.")
            + f'<div class="{cls}">' + _table(("check", "value"), rows) + "</div>")


# --- sections --------------------------------------------------------------------------------

def _days(spec: Any) -> str:
    if spec == "working":
        return "Mon-Sat"
    if spec == "all":
        return "every day"
    if isinstance(spec, list):
        return ", ".join(str(d).capitalize() for d in spec)
    return str(spec)


def _clock(v: Any) -> str:
    from sim.scenario.schema import format_clock

    # An unquoted 09:30 reads back from YAML 1.1 as the integer 570 (minutes).
    return format_clock(v) if isinstance(v, int) else str(v)


def _dist(d: Any) -> str:
    if not isinstance(d, Mapping):
        return str(d)
    rest = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in d.items() if k != "kind" and v is not None)
    return f"{d.get('kind', '?')} ({rest})" if rest else str(d.get("kind", "?"))


def _objectives(f: ResultsFolder, question: str | None) -> str:
    sc = f.scenario
    name = sc.get("name") or f.run.get("scenario") or f.path.name
    if question is None:
        if f.kind == "compare":
            question = (f"Which staffing plan serves requests best, compared with the base "
                        f"plan of {name}?")
        elif f.kind == "sweep":
            keys = ", ".join(_sweep_keys(f))
            question = f"How do waits and utilisation change as {keys} changes?"
        else:
            question = f"How does the network described by scenario {name} perform?"
    parts = [f"<p><strong>Question.</strong> {esc(question)}</p>"]
    if sc.get("description"):
        parts.append(_p(f"Scenario {name}: {sc['description']}"))
    plans = _plans(f)
    if plans:
        parts.append(f"<p>Scenarios compared ({len(plans)}):</p><ul>"
                     + "".join(f"<li>{esc(p)}</li>" for p in plans) + "</ul>")
    parts.append(_p("Outputs of interest: waits from request to consult start (mean, median, "
                    "90th and 95th percentiles), the share seen within the service-level "
                    f"targets ({', '.join(f'{t:g}' for t in _targets(f))} min), abandonment, "
                    "doctor utilisation and overtime, by hub, specialty and district."))
    return "".join(parts)


def _targets(f: ResultsFolder) -> list[float]:
    return [float(t) for t in f.scenario.get("metrics", {}).get("targets_min", [])]


def _plans(f: ResultsFolder) -> list[str]:
    if f.comparison:
        return list(dict.fromkeys(r["plan"] for r in f.comparison))
    if f.sweep:
        return list(dict.fromkeys(r.get("scenario", "") for r in f.sweep))
    scen = f.run.get("scenarios")
    if not isinstance(scen, list) or len(scen) < 2:
        return []
    return [str(s.get("label", s.get("name"))) if isinstance(s, dict) else str(s) for s in scen]


def _sweep_keys(f: ResultsFolder) -> list[str]:
    from sim.present.plots import sweep_keys

    return sweep_keys(f.sweep)


def _logic(f: ResultsFolder) -> str:
    sc = f.scenario
    routing = sc.get("routing", {}) or {}
    queue = sc.get("queue", {}) or {}
    demand = sc.get("demand", {}) or {}
    process = {ch: (demand.get(ch) or {}).get("process", "poisson") for ch in ("d2d", "opd")
               if demand.get(ch)}
    items = [
        "Requests arrive from spoke facilities (doctor-to-doctor, D2D: sub-centres and PHCs) "
        "and from patients at home (OPD mode), as arrival processes "
        + ", ".join(f"{k.upper()}: {v}" for k, v in process.items())
        + ", shaped by hour-of-day and weekday profiles and only while the spokes are open.",
        "Each request names a specialty and is routed to a hub's queue for that specialty "
        f"under the routing policy '{routing.get('policy', 'home_hub')}'"
        + (f" (overflow threshold {routing.get('overflow_threshold_min')} min)"
           if routing.get("policy") == "overflow" else "") + ".",
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
    ]
    optional = [k for k in OPTIONAL_SECTIONS if sc.get(k)]
    items.append("Optional mechanisms switched on: " + (", ".join(optional) if optional else
                 "none (no booking, call failures, PHC tier, follow-ups, priorities or "
                 "absence)") + ".")
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def _data(f: ResultsFolder) -> str:
    sc = f.scenario
    if not sc:
        return _p("No scenario.resolved.yaml in this folder: inputs cannot be listed.")
    parts = []
    specs = sc.get("specialties", {}) or {}
    parts.append("<h3>Specialties and consult lengths (minutes)</h3>" + _table(
        ("specialty", "consult length distribution"),
        ((name, _dist((s or {}).get("consult"))) for name, s in specs.items())))
    hubs = sc.get("hubs", []) or []
    spec_names = list(specs)
    parts.append("<h3>Hubs: registered doctors per specialty</h3>" + _table(
        ("hub", "name", "district", *spec_names, "total"),
        ((h.get("id"), h.get("name", ""), h.get("district", ""),
          *((h.get("doctors") or {}).get(s, 0) for s in spec_names),
          sum((h.get("doctors") or {}).values())) for h in hubs)))
    parts.append("<h3>Duty rosters</h3>" + _table(
        ("hub", "specialty", "days", "from", "to", "doctors on duty"),
        ((h.get("id"), r.get("specialty"), _days(r.get("days")), _clock(r.get("start")),
          _clock(r.get("end")), r.get("doctors")) for h in hubs
         for r in (h.get("roster") or []))))
    spokes = sc.get("spokes", {}) or {}
    hours = spokes.get("hours") or {}
    dists = spokes.get("districts", []) or []
    parts.append("<h3>Spokes by district</h3>"
                 + _p(f"Spoke opening hours: {_days(hours.get('days'))} "
                      f"{_clock(hours.get('start'))}-{_clock(hours.get('end'))}.")
                 + _table(("district", "home hub", "sub-centres", "PHCs", "population",
                           "lat", "lon"),
                          ((d.get("district"), d.get("home_hub"), d.get("subcentres", 0),
                            d.get("phcs", 0), _fmt(d["population"])
                            if d.get("population") is not None else "–",
                            d.get("lat") if d.get("lat") is not None else "–",
                            d.get("lon") if d.get("lon") is not None else "–")
                           for d in dists)))
    demand = sc.get("demand", {}) or {}
    rows: list[tuple[str, str]] = [("growth multiplier", f"{demand.get('growth', 1.0):g}")]
    d2d = demand.get("d2d")
    if d2d:
        rows.append(("D2D requests per spoke per open day", ", ".join(
            f"{k}: {v:g}" for k, v in (d2d.get("per_spoke_per_day") or {}).items())))
        rows.append(("D2D specialty mix", ", ".join(
            f"{k} {v:.0%}" for k, v in (d2d.get("specialty_mix") or {}).items())))
    opd = demand.get("opd")
    if opd:
        rows.append(("OPD requests per open day by district", ", ".join(
            f"{k}: {v:g}" for k, v in (opd.get("per_day") or {}).items())))
        rows.append(("OPD specialty mix", ", ".join(
            f"{k} {v:.0%}" for k, v in (opd.get("specialty_mix") or {}).items())))
    parts.append("<h3>Demand</h3>" + _table(("input", "value"), rows))
    parts.append(_p("These are the resolved inputs actually simulated (every default filled "
                    "in); the sources of the figures are cited in the scenario file."))
    return "".join(parts)


def _holiday_text(h: Any) -> str:
    """A resolved holiday (a day number, a date, or {date, name, hubs}) in a few words."""
    if not isinstance(h, dict):
        return str(h)
    hubs = f" ({', '.join(h['hubs'])} only)" if h.get("hubs") else ""
    return f"{h.get('date')} {h.get('name', '')}".strip() + hubs


def _settings(f: ResultsFolder) -> str:
    run, sc = f.run, f.scenario
    cal = sc.get("calendar", {}) or {}
    reps = run.get("replications")
    if reps is None and f.replications:
        reps = len({r["replication"] for r in f.replications})
    rows: list[tuple[str, Any]] = [
        ("command", command_line(run) or run.get("command", "–")),
        ("root seed", run.get("seed", sc.get("seed", "–"))),
        ("replications", reps if reps is not None else 1),
        ("confidence level", run.get("confidence", "–")),
        ("horizon", f"{run.get('horizon_days', cal.get('horizon_days', '–'))} days"),
        ("warm-up", f"{run.get('warmup_days', cal.get('warmup_days', '–'))} days"),
        ("first simulated day", " ".join(str(x) for x in (
            str(cal.get("start_weekday", "–")).capitalize(), cal.get("start_date")) if x)),
        ("holidays (dates or day numbers)",
         ", ".join(map(_holiday_text, cal.get("holidays", []))) or "none"),
    ]
    if cal.get("roster_exceptions"):
        rows.append(("roster exceptions", len(cal["roster_exceptions"])))
    if f.kind == "sweep":
        for k in _sweep_keys(f):
            vals = list(dict.fromkeys(r[k] for r in f.sweep))
            rows.append((f"swept {k}", ", ".join(vals)))
    return _table(("setting", "value"), rows) + _p(
        "Randomness: one root seed per experiment, one SeedSequence child per replication, "
        "one named numpy Generator per source of randomness; every plan sees the same "
        "arrivals (common random numbers).")


def _ci_cell(r: Mapping[str, Any], metric: str) -> tuple[str, str]:
    mean = r.get("mean")
    if mean not in (None, ""):
        lo, hi = r.get("ci_low", ""), r.get("ci_high", "")
        ci = f"{_fmt(lo, metric)} to {_fmt(hi, metric)}" if lo not in (None, "") else "–"
        return _fmt(mean, metric), ci
    return _fmt(r.get("value"), metric), "– (one run)"


def _results(f: ResultsFolder) -> str:
    rows = [r for r in f.summary if r["group_by"] == "all"]
    if not rows:
        if f.comparison or f.sweep:
            return _p("This folder holds an experiment; its results are in the next sections "
                      "and each plan's folder.")
        return _p("No summary.csv in this folder.")
    by_metric = {r["metric"]: r for r in rows}
    metrics = [m for m in KEY_METRICS if m in by_metric]
    metrics += [m for m in by_metric if m.startswith("share_within_")]
    table = _table(("metric", "value (mean)", "95% confidence interval"),
                   ((metric_label(m), *_ci_cell(by_metric[m], m)) for m in metrics))
    hubs = [r for r in f.summary if r["group_by"] == "hub"]
    hub_names = list(dict.fromkeys(r["group"] for r in hubs))
    per_hub = ""
    if hub_names:
        cols = ["arrivals", "wait_mean_min", "wait_p90_min", "abandonment_rate",
                "utilisation"]
        look = {(r["group"], r["metric"]): r for r in hubs}
        per_hub = "<h3>By hub</h3>" + _table(
            ("hub", *(metric_label(c) for c in cols)),
            ((h, *(_ci_cell(look[(h, c)], c)[0] if (h, c) in look else "–" for c in cols))
             for h in hub_names))
    return _empty_note(by_metric) + table + per_hub


def _empty_note(by_metric: Mapping[str, Mapping[str, Any]]) -> str:
    """A warning when nothing arrived or nothing was served after the warm-up."""

    def value(m: str) -> float:
        r = by_metric.get(m) or {}
        try:
            return float(r.get("mean") or r.get("value") or "nan")
        except (TypeError, ValueError):
            return math.nan

    arrivals, served = value("arrivals"), value("served")
    if arrivals == 0:
        return _p("No request arrived after the warm-up (zero demand, every "
                  "day a holiday, or a warm-up as long as the run): there are no waits to "
                  "report.")
    if served == 0:
        return _p(f"No request was served after the warm-up ({arrivals:,.0f} "
                  "arrived): every wait statistic below is empty.")
    return ""


def _verdicts(f: ResultsFolder) -> str:
    if not f.comparison:
        return _p("No comparison in this folder (a single scenario).")
    rows = [r for r in f.comparison if r["group_by"] == "all"]
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    shown = [m for m in KEY_METRICS if m in metrics] + [
        m for m in metrics if m.startswith("share_within_")]
    head = ("plan", "metric", "mean", "95% CI", "difference to base", "95% CI of difference",
            "verdict")
    body = []
    for r in rows:
        if r["metric"] not in shown:
            continue
        m = r["metric"]
        mean, ci = _ci_cell(r, m)
        base = r.get("verdict") == "base"
        diff = "–" if base else _fmt(r.get("diff"), m)
        dci = ("–" if base else
               f"{_fmt(r.get('diff_ci_low'), m)} to {_fmt(r.get('diff_ci_high'), m)}")
        body.append((r["plan"], metric_label(m), mean, ci, diff, dci, r.get("verdict", "")))
    return _p("Differences are paired: each plan ran with the same random numbers as the base, "
              "replication by replication.") + _table(head, body, "verdicts")


def _sweep(f: ResultsFolder) -> str:
    if not f.sweep:
        return _p("No sweep in this folder.")
    keys = _sweep_keys(f)
    rows = [r for r in f.sweep if r["group_by"] == "all"
            and r["metric"] in ("wait_p90_min", "wait_mean_min", "utilisation",
                                "abandonment_rate")]
    body = [(r.get("scenario", ""), *(r[k] for k in keys), metric_label(r["metric"]),
             *_ci_cell(r, r["metric"])) for r in rows]
    return _table(("plan", *keys, "metric", "mean", "95% CI"), body)


def _plots(f: ResultsFolder) -> str:
    plots = f.plots()
    if not plots:
        return _p("No plots were found in this folder.")
    out = []
    for p in plots:
        rel = p.relative_to(f.path)
        where = "" if rel.parts[0] == PLOT_DIR else f" Plan/point: {rel.parts[0]}."
        caption = PLOT_CAPTIONS.get(p.stem, p.stem.replace("_", " ")) + where
        data = base64.b64encode(p.read_bytes()).decode("ascii")
        out.append(f'<figure id="plot-{esc(str(rel.with_suffix("")).replace("/", "-"))}">'
                   f'<img alt="{esc(caption)}" src="data:image/png;base64,{data}">'
                   f"<figcaption>{esc(caption)} ({esc(rel.as_posix())})</figcaption></figure>")
    return "".join(out)


def _implementation(f: ResultsFolder) -> str:
    from sim import __version__

    run = f.run
    rows = [
        ("simulator", f"hubsim {run.get('hubsim_version', run.get('version', __version__))} "
                      "(Python, SimPy discrete-event engine, numpy)"),
        ("Python used for the run", run.get("python", "not recorded")),
        ("numpy used for the run", run.get("numpy", "not recorded")),
        ("report made with", f"hubsim {__version__}, Python {platform.python_version()}, "
                             f"numpy {np.__version__}"),
        ("platform", platform.platform()),
    ]
    return _table(("item", "value"), rows) + _p(
        "SimPy's event queue drives simulated time (consult completions and roster changes "
        "are SimPy events, see sim/model.py); the model appends one record per request and "
        "metrics are pure functions of those records.")


def _code_access(f: ResultsFolder) -> str:
    files = sorted(p.relative_to(f.path).as_posix() for p in f.path.rglob("*")
                   if p.is_file() and p.suffix != ".html"
                   and not any(part.startswith(".") or part == PLOT_DIR
                               for part in p.relative_to(f.path).parts))
    cmd = command_line(f.run) or str(f.run.get("command", ""))
    parts = [_p("The simulator is the hubsim Python package (MIT licence), kept in the "
                "project's git repository with its tests; the resolved scenario in this "
                "folder reproduces the inputs exactly.")]
    if cmd.startswith("hubsim"):
        parts.append(f"<p>Reproduce with: <code>{esc(cmd)}</code></p>")
    elif cmd:
        parts.append(f"<p>Produced by the Python API (<code>{esc(cmd)}</code>); the same "
                     "seed and resolved scenarios reproduce it.</p>")
    parts.append("<p>Files in this folder:</p><ul>"
                 + "".join(f"<li><code>{esc(x)}</code></li>" for x in files) + "</ul>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:2px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}figure{margin:1.2em 0}img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.9em;color:#444}.pass td{background:#eef8ee}.fail td{background:#fbeaea}
code{background:#f4f4f4;padding:0 .2em}nav li{display:inline;margin-right:1em}
"""


def build_report(results_dir: str | Path, question: str | None = None,
                 validation: bool = True) -> str:
    """The report of ``results_dir`` as one HTML document (images embedded)."""
    from sim.present.plots import plot_results

    f = ResultsFolder.read(results_dir)
    if not f.plots():
        plot_results(f.path)
    name = f.scenario.get("name") or f.run.get("scenario") or f.path.name
    body = {
        "objectives": _objectives(f, question),
        "logic": _logic(f),
        "data": _data(f),
        "experimentation": "<h3>4.1 Run settings</h3>" + _settings(f),
        "results": _results(f),
        "verdicts": _verdicts(f),
        "sweep": _sweep(f),
        "plots": _plots(f),
        "implementation": "<h3>5.1 Software</h3>" + _implementation(f),
        "validation": _validation_html(validation),
        "code-access": _code_access(f),
    }
    nav = "<nav><ul>" + "".join(f'<li><a href="#{sid}">{esc(title)}</a></li>'
                                for sid, title in SECTIONS) + "</ul></nav>"
    sections = []
    for sid, title in SECTIONS:
        tag = "h3" if title[1] == "." and title[2].isdigit() else "h2"
        sections.append(f'<section id="{sid}"><{tag}>{esc(title)}</{tag}>{body[sid]}</section>')
    made = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(f'hubsim report: {name}')}</title><style>{_CSS}</style></head><body>"
            f"<h1>{esc(f'Teleconsultation network simulation: {name}')}</h1>"
            + _p(f"Results folder {f.path.name}; report made {made}. Structured after the "
                 "STRESS-DES reporting checklist for discrete-event simulation studies.")
            + nav + "".join(sections) + "</body></html>\n")


def write_report(results_dir: str | Path, out: str | Path | None = None,
                 question: str | None = None, validation: bool = True) -> Path:
    """Write the report of ``results_dir`` (default ``results_dir/report.html``)."""
    from sim.results.output import write_text

    target = Path(out) if out else Path(results_dir) / "report.html"
    return write_text(target, build_report(results_dir, question, validation))
