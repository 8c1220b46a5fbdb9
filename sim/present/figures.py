"""What every plot shares: colours, the wait axis, tables, standards as lines, saving.

Colours, the min/h/d wait axis, record and summary tables, the standards as lines, and
writing a figure.

Figures are built with the object-oriented API (no pyplot state), so plotting works the
same in a terminal, a notebook or a worker; the engine never imports this module.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator

from sim.analysis.window import seen_waits
from sim.engine.records import SERVED, RunResult
from sim.present.units import METRIC_LABELS, duration, metric_label, number

__all__ = ["METRIC_LABELS", "metric_label"]

Row = Mapping[str, Any]
Columns = Mapping[str, np.ndarray]
WEEKDAY_LABELS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PLOT_DIR = "plots"
FORMATS: tuple[str, ...] = ("svg",)
"""What ``plot_results`` writes by default: SVG, vector with its text as text (sharp in
print and at any zoom, and its labels searchable when the file is opened); PNG on request
(``formats``, ``hubsim plot --png``) for slides and messages."""

COMPARISON_METRICS: tuple[str, ...] = (
    "wait_mean_min", "wait_p90_min", "abandonment_rate", "utilisation",
)
_num = number


def _palette(names: Sequence[str]) -> dict[str, tuple[float, float, float, float]]:
    """One stable colour per name (tab10, then tab20 beyond ten names)."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {n: to_rgba(cmap(i % cmap.N)) for i, n in enumerate(names)}


_WAIT_TICKS = (0, 5, 30, 60, 240, 1440, 2880, 7 * 1440, 30 * 1440)
"""Ticks of a long wait axis: a few readable marks (each tick costs a label to draw)."""
MAX_WAIT_TICKS = 7
"""The most labelled ticks on a wait axis (2 d goes first, then 5 min)."""


def _tick_label(m: float) -> str:
    if m >= 1440 and m % 1440 == 0:
        return f"{m / 1440:g} d"
    if m >= 60 and m % 60 == 0:
        return f"{m / 60:g} h"
    return f"{m:g}"


def wait_axis(ax: Any, top: float, axis: str = "x") -> str:
    """Scale a wait axis (minutes): linear for short waits, symmetric-log for long ones.

    When waits run to hours or days, a 5-minute and a 2-day wait both stay readable.
    Returns the unit note for the axis label.
    """
    top = max(float(top), 1.0)
    if top <= 240:
        (ax.set_xlim if axis == "x" else ax.set_ylim)(0, top * 1.05)
        (ax.xaxis if axis == "x" else ax.yaxis).set_major_locator(
            MaxNLocator(MAX_WAIT_TICKS - 1, steps=[1, 2, 3, 5, 6, 10]))
        return "minutes"
    (ax.set_xscale if axis == "x" else ax.set_yscale)("symlog", linthresh=1.0, linscale=0.3)
    (ax.set_xlim if axis == "x" else ax.set_ylim)(0, top * 1.3)
    ticks = [t for t in _WAIT_TICKS if t <= top * 1.3]
    for extra in (2880, 5):
        if len(ticks) > MAX_WAIT_TICKS and extra in ticks:
            ticks.remove(extra)
    (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks, [_tick_label(t) for t in ticks])
    (ax.xaxis if axis == "x" else ax.yaxis).set_minor_locator(NullLocator())
    return "minutes; h = hours, d = days"


# --- record-level tables ---------------------------------------------------------------------

def records_table(result: RunResult) -> dict[str, np.ndarray]:
    """A run's records as the columns the plots take (category names, times in minutes)."""
    return {k: np.asarray(v) for k, v in result.decoded().items()}


def rows_by(values: Any) -> dict[str, np.ndarray]:
    """Row numbers (increasing) of each distinct value of a column, by the value's name.

    One hash pass (``pandas.factorize``) and one stable radix sort, instead of comparing
    the whole column with each value: category columns read back from records are object
    arrays, whose comparisons cost a Python call per row. Missing values are left out.
    """
    import pandas as pd

    return _rows_by_codes(*pd.factorize(np.asarray(values)))


def _rows_by_codes(codes: np.ndarray, names: Any) -> dict[str, np.ndarray]:
    """``rows_by`` from ``pandas.factorize``'s codes (-1: missing) and names."""
    small = len(names) < 2**15 - 1
    keys = (codes + 1).astype(np.int16) if small else codes + 1  # 0: missing
    order = np.argsort(keys, kind="stable")
    bounds = np.cumsum(np.bincount(keys, minlength=len(names) + 1)).tolist()
    return {str(name): order[bounds[i]:bounds[i + 1]] for i, name in enumerate(list(names))}


def served_waits(records: Columns, warmup_min: float = 0.0,
                 by: str | None = None, unseen: bool = False) -> dict[str, np.ndarray]:
    """Waits (minutes) of served requests that arrived after the warm-up, by a column.

    With ``unseen``, also the requests that left unseen (abandoned, dropped, ...), as an
    infinite wait (``sim.analysis.window.seen_waits``): the share of these waits at or
    below T is ``share_within_T_min`` of ``summary.csv``.
    """
    outcome = np.asarray(records["outcome"])
    measured = records["arrival"] >= warmup_min
    wait = records["start"] - records["arrival"]
    if unseen:
        known = measured & (outcome != "unserved")
        wait = np.where(known, seen_waits(wait, outcome == "served", slice(None)), np.nan)
        served = known
    else:
        served = (outcome == "served") & measured
    if by is None:
        return {"all": wait[served]}
    rows = np.flatnonzero(served)
    wait = wait[rows]
    groups = rows_by(np.asarray(records[by])[rows])
    return {g: wait[groups[g]] for g in sorted(groups)}


def served_waits_within(records: Columns, warmup_min: float, by: str,
                        within: str, unseen: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """``served_waits`` of each ``within`` group's rows alone, by ``by``, in one pass.

    The same as ``served_waits({k: v[rows] for k, v in records.items()}, warmup_min, by,
    unseen)`` for the rows of every value of ``within`` that has a served request (in name
    order), with each column factorised once instead of once per group.
    """
    import pandas as pd

    outcome = np.asarray(records["outcome"])
    done = outcome == "served"
    measured = records["arrival"] >= warmup_min
    wait = records["start"] - records["arrival"]
    if unseen:
        served = measured & (outcome != "unserved")
        wait = np.where(served, seen_waits(wait, done, slice(None)), np.nan)
    else:
        served = done & measured
    codes, names = pd.factorize(np.asarray(records[by]))
    out: dict[str, dict[str, np.ndarray]] = {}
    for w, rows in sorted(rows_by(records[within]).items()):
        if not done[rows].any():
            continue
        rows = rows[served[rows]]
        groups = _rows_by_codes(codes[rows], names)
        out[w] = {g: wait[rows[groups[g]]] for g in sorted(groups) if len(groups[g])}
    return out


def waits_by(result: RunResult, by: str = "specialty") -> dict[str, np.ndarray]:
    """Waits (minutes) of served, post-warm-up requests, grouped by a record column."""
    r = result.records
    keep = (r.outcome == SERVED) & (r.arrival >= result.warmup)
    codes = getattr(r, by)
    names = result.labels()[by]
    return {name: (r.start - r.arrival)[keep & (codes == k)] for k, name in enumerate(names)
            if np.any(keep & (codes == k))}



MAX_STEPS = 4_000
"""The most steps one line of a step plot draws; a longer series (a national-size run has
millions) is thinned to the largest value in each of this many bins of its x range."""


def thin_steps(x: np.ndarray, y: np.ndarray,
               limit: int = MAX_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """A step function (``x`` increasing) cut to at most ``limit`` steps for drawing.

    The x range is cut into ``limit`` equal bins; each bin that holds steps becomes one
    step at its first x with the largest value in it, so peaks survive (an ECDF, which
    only rises, keeps its value at the end of each bin).
    """
    if len(x) <= limit:
        return x, y
    edges = np.linspace(x[0], x[-1], limit + 1)[:-1]
    first = np.unique(np.searchsorted(x, edges, side="left"))
    return x[first], np.maximum.reduceat(y, first)



# --- summary tables --------------------------------------------------------------------------

def table_rows(table: Any) -> list[dict[str, Any]]:
    """Rows of a table given as a list of dicts (returned as it is) or as a DataFrame."""
    if hasattr(table, "to_dict"):
        return list(table.to_dict("records"))
    if isinstance(table, list):  # the figures only read rows: no copy of a long table
        return table
    return [dict(r) for r in table]


def _value(row: Row) -> float:
    """The value of a summary row: ``mean`` when replicated, else ``value``."""
    v = _num(row.get("mean"))
    return _num(row.get("value")) if math.isnan(v) else v


def summary_values(rows: Iterable[Row] | Any, metric: str,
                   group_by: str) -> dict[str, tuple[float, float, float]]:
    """``{group: (value, ci_low, ci_high)}`` of one metric in a summary table."""
    return {str(r["group"]): (_value(r), _num(r.get("ci_low")), _num(r.get("ci_high")))
            for r in table_rows(rows) if r["metric"] == metric and r["group_by"] == group_by}



DPI = 100
"""Resolution of the PNG plots (A4 width at about 10 inches)."""
CELLS = "none"
"""How heat maps draw their cells (``imshow`` interpolation): in SVG one pixel per cell,
scaled by the viewer with sharp edges (not resampled to the page and PNG-encoded); in
PNG as nearest."""
SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "png": {"pil_kwargs": {"compress_level": 3}},
    "svg": {"metadata": {"Date": None}},
}
"""zlib level 3 for PNG instead of 6: half the encoding time for files about 4% larger.
SVG without a date, so that the same run gives the same file."""


def save_figure(fig: Figure, out: Path, stem: str,
                formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``out/stem.<format>`` for each format (atomically)."""
    import matplotlib

    from sim.results.output import atomic_write

    paths = []
    for fmt in formats:
        def write(fh: IO[bytes], f: str = fmt) -> None:
            # SVG text as text in the viewer's font (DejaVu Sans, else Verdana, Arial, any
            # sans-serif), not glyph outlines; ids from a fixed salt: the same run, the same file
            with (matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "hubsim"})
                  if f == "svg" else contextlib.nullcontext()):
                fig.savefig(fh, format=f, dpi=DPI, **SAVE_OPTIONS.get(f, {}))

        paths.append(atomic_write(Path(out) / f"{stem}.{fmt}", write))
        fig.set_layout_engine("none")  # laid out once; the other formats reuse it
    return paths


# --- standards as lines ----------------------------------------------------------------------

@dataclass(frozen=True)
class WaitLine:
    """A service standard that is a wait limit, to draw on a wait axis.

    ``share`` is the share that must be seen within ``minutes`` (a share_within target or
    a percentile), None for a mean-wait limit; ``specialties``/``hubs`` None: everywhere.
    """

    minutes: float
    label: str
    share: float | None = None
    specialties: frozenset[str] | None = None
    hubs: frozenset[str] | None = None

    def applies(self, specialty: str | None = None, hub: str | None = None) -> bool:
        """Whether the standard covers a specialty and a hub (None: any)."""
        return ((specialty is None or self.specialties is None or specialty in self.specialties)
                and (hub is None or self.hubs is None or hub in self.hubs))


def wait_lines(scenario: Mapping[str, Any] | None) -> list[WaitLine]:
    """The wait limits among a resolved scenario's ``standards:``, in its order.

    share_within, wait_percentile and wait_mean standards; the others are not waits.
    """
    out = []
    for s in (scenario or {}).get("standards") or []:
        if not isinstance(s, Mapping):
            continue
        m, target = s.get("measure"), number(s.get("target"))
        where = s.get("where") or {}
        specs = frozenset(where["specialties"]) if where.get("specialties") else None
        hubs = frozenset(where["hubs"]) if where.get("hubs") else None
        if m == "share_within" and s.get("within_min"):
            minutes, share = float(s["within_min"]), target
            text = f"{share:.0%} within {duration(minutes)}"
        elif m == "wait_percentile" and s.get("percentile"):
            minutes, share = target, float(s["percentile"]) / 100
            text = f"p{float(s['percentile']):g} at most {duration(minutes)}"
        elif m == "wait_mean":
            minutes, share, text = target, None, f"mean at most {duration(target)}"
        else:
            continue
        out.append(WaitLine(minutes, f"{s.get('id', m)}: {text}", share, specs, hubs))
    return out


STANDARD_STYLE: dict[str, Any] = {"color": "tab:red", "linestyle": "--", "linewidth": 1.1}
"""How a standard's limit is drawn on every plot (targets without a standard: grey dots)."""


def draw_wait_lines(ax: Any, lines: Sequence[WaitLine], axis: str = "x",
                    specialty: str | None = None, hub: str | None = None) -> list[WaitLine]:
    """Draw the standards that apply (to ``specialty`` and ``hub``) as lines on a wait axis."""
    drawn = [w for w in lines if w.applies(specialty, hub)]
    for i, w in enumerate(sorted({w.minutes for w in drawn})):
        (ax.axvline if axis == "x" else ax.axhline)(
            w, **STANDARD_STYLE, label="service standard" if i == 0 else None)
    return drawn


def worst_first(values: Mapping[str, float], limit: int | None = None) -> list[str]:
    """Names by value, largest first (NaN last), at most ``limit`` of them."""
    names = sorted(values, key=lambda k: (-np.nan_to_num(values[k], nan=-np.inf), k))
    return names[:limit] if limit else names


def panel_grid(n: int, ncols: int) -> tuple[int, int]:
    """(rows, columns) of a grid of ``n`` small multiples at most ``ncols`` wide."""
    cols = max(1, min(n, ncols))
    return math.ceil(max(n, 1) / cols), cols


def label_inches(labels: Iterable[str], points: float = 8.5) -> float:
    """About how wide (inches) the longest of ``labels`` is at a font size of ``points``."""
    return 0.58 * points / 72 * max((len(str(s)) for s in labels), default=4) + 0.2


def fixed_layout(fig: Figure, left: float = 0.7, right: float = 0.25, bottom: float = 0.6,
                 top: float = 0.55, wspace: float = 0.25, hspace: float = 0.45) -> None:
    """Place the subplots with margins in inches.

    Used by the run plots instead of constrained layout, which lays every text out in an
    extra drawing pass and so roughly doubles the cost of a figure.
    """
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=min(left / w, 0.6), right=1 - right / w, bottom=bottom / h,
                        top=1 - top / h, wspace=wspace, hspace=hspace)
