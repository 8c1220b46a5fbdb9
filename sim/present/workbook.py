"""An Excel workbook of a results folder, laid out for a planner to read.

Sheets: About (what was run), Standards (worst first, verdicts coloured; when the folder
has standards), By specialty and Hub x specialty (one row per group, one column per
metric with its unit), Comparison (when the folder is a comparison) and Roster (who is on
duty when, per plan). Headers are frozen, widths fit the contents, shares are shown as %,
waits in minutes. Built with openpyxl from ``sim.results.open``'s DataFrames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd

from sim.results.folder import Results, open_results
from sim.results.output import atomic_write

WORKBOOK_NAME = "results.xlsx"
SPECIALTY_METRICS: tuple[str, ...] = (
    "arrivals", "served", "abandoned", "unserved", "wait_mean_min", "wait_p50_min",
    "wait_p90_min", "wait_p95_min", "share_within_30_min", "share_same_day",
    "abandonment_rate", "utilisation", "on_duty_hours", "queue_length_mean")
"""Columns of the By specialty sheet, when the summary has them."""
VERDICT_FILL = {"met": "C6EFCE", "better": "C6EFCE", "breached": "FFC7CE", "worse": "FFC7CE",
                "not settled": "FFEB9C", "too small": "EDEDED"}


def unit(metric: str) -> tuple[str, str]:
    """``(unit, Excel number format)`` of a metric, from its name."""
    if metric.startswith("share_") or metric.endswith("_rate") or metric == "utilisation":
        return "%", "0.0%"
    if metric.endswith("_min") or metric.endswith("_min_per_day"):
        return "min", "#,##0.0"
    if metric.endswith("_hours"):
        return "h", "#,##0.0"
    if metric.endswith("_days"):
        return "days", "0.00"
    if metric in ("queue_length_mean", "throughput_per_day"):
        return "", "#,##0.00"
    return "", "#,##0"


def header(metric: str) -> str:
    """A column heading with its unit: ``wait_p90_min`` -> ``wait p90 (min)``."""
    u, _ = unit(metric)
    name = metric.replace("_min_per_day", "_per_day").removesuffix("_min")
    name = name.replace("_", " ")
    return f"{name} ({u})" if u else name


def _wide(summary: pd.DataFrame, group_by: str, metrics: Sequence[str] | None,
          label: str) -> pd.DataFrame:
    part = summary[summary["group_by"] == group_by]
    if part.empty:
        return pd.DataFrame()
    wide = part.pivot_table(index=["scenario", "group"], columns="metric", values="mean",
                            sort=False, dropna=False).reset_index()
    present = [m for m in (metrics or list(dict.fromkeys(part["metric"]))) if m in wide]
    wide = wide[["scenario", "group", *present]].rename(columns={"scenario": "plan",
                                                                 "group": label})
    return wide


def _worst_first(df: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    for m in metrics:
        if m in df.columns:
            order = df["plan"].map({p: i for i, p in enumerate(dict.fromkeys(df["plan"]))})
            return df.assign(_o=order).sort_values(["_o", m], ascending=[True, False],
                                                   kind="stable").drop(columns="_o")
    return df


def _roster(res: Results) -> pd.DataFrame:
    rows = []
    for label in res.labels:
        try:
            sc = res.scenario(label)
        except (OSError, ValueError):  # a folder without its resolved scenario
            continue
        for hub in sc.hubs:
            for s in hub.roster:
                days = s.days if isinstance(s.days, str) else ", ".join(map(str, s.days))
                rows.append({"plan": label, "hub": hub.id, "specialty": s.specialty,
                             "days": days, "start": _clock(s.start), "end": _clock(s.end),
                             "doctors on duty": s.doctors,
                             "registered": hub.doctors.get(s.specialty, 0)})
    return pd.DataFrame(rows)


def _clock(minutes: float) -> str:
    from sim.scenario.types import format_clock

    return format_clock(int(minutes))


def _standards(df: pd.DataFrame) -> pd.DataFrame:
    rank = {"breached": 0, "not settled": 1, "too small": 2, "met": 3}
    out = df.assign(_r=df["verdict"].map(rank).fillna(4))
    if "gap" in out.columns:
        out = out.assign(_g=-out["gap"].abs().fillna(0))
        return out.sort_values(["_r", "_g"], kind="stable").drop(columns=["_r", "_g"])
    return out.sort_values("_r", kind="stable").drop(columns="_r")


def _about(res: Results) -> pd.DataFrame:
    run = res.run
    items = [("results folder", str(res.path)), ("kind", res.kind),
             ("command", run.get("command", "")),
             ("plans", ", ".join(res.labels)),
             ("root seed", run.get("seed", "")), ("replications", run.get("replications", "")),
             ("confidence", run.get("confidence", "")),
             ("warm-up (days)", run.get("warmup_days", "")),
             ("horizon (days)", run.get("horizon_days", "")),
             ("hubsim", run.get("hubsim_version", "")),
             ("note", "Values are means over the replications; confidence intervals are in "
                      "summary.csv and the Comparison and Standards sheets.")]
    return pd.DataFrame(items, columns=["item", "value"])


def _write_sheet(wb: Any, title: str, df: pd.DataFrame,
                 formats: dict[str, str] | None = None,
                 row_format: str | None = None, headers: dict[str, str] | None = None,
                 freeze_cols: int = 1) -> None:
    """One formatted sheet: bold frozen header, fitted widths, number formats.

    ``formats``: column -> number format; ``row_format``: a column naming each row's
    metric, whose unit then formats that row's numbers (comparison, standards).
    """
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    cols = list(df.columns)
    heads = [(headers or {}).get(c, c) for c in cols]
    ws.append(heads)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    widths = [len(h) for h in heads]
    numeric = {"mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high", "target",
               "gap", "value"}
    for values in df.itertuples(index=False):
        row: list[Any] = []
        for v in values:
            if isinstance(v, float) and math.isnan(v):
                row.append(None)
            else:
                row.append(v.item() if hasattr(v, "item") else v)
        ws.append(row)
        r = ws.max_row
        fmt_row = unit(str(values[cols.index(row_format)]))[1] if row_format else None
        for j, c in enumerate(cols):
            cell = ws.cell(row=r, column=j + 1)
            if formats and c in formats:
                cell.number_format = formats[c]
            elif fmt_row and c in numeric:
                cell.number_format = fmt_row
            if c == "verdict" and cell.value in VERDICT_FILL:
                cell.fill = PatternFill("solid", fgColor=VERDICT_FILL[str(cell.value)])
            shown = cell.value
            if isinstance(shown, float):
                shown = f"{shown:,.2f}"
            widths[j] = max(widths[j], len(str(shown)) if shown is not None else 0)
    for j, w in enumerate(widths):
        ws.column_dimensions[get_column_letter(j + 1)].width = min(max(w + 2, 8), 60)
    ws.freeze_panes = ws.cell(row=2, column=freeze_cols + 1)


def write_workbook(results_dir: str | Path, path: str | Path | None = None) -> Path:
    """Write the workbook of ``results_dir`` (default ``results_dir/results.xlsx``)."""
    from openpyxl import Workbook

    res = open_results(results_dir)
    target = Path(path) if path is not None else Path(results_dir) / WORKBOOK_NAME
    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    _write_sheet(wb, "About", _about(res))
    if res.standards is not None and not res.standards.empty:
        _write_sheet(wb, "Standards", _standards(res.standards), row_format=None,
                     freeze_cols=2)
    for title, group_by, label, metrics, worst in (
            ("By specialty", "specialty", "specialty", SPECIALTY_METRICS,
             ("wait_p90_min", "wait_mean_min")),
            ("Hub x specialty", "hub_specialty", "hub / specialty", None, ("utilisation",))):
        wide = _worst_first(_wide(res.summary, group_by, metrics, label), worst)
        if not wide.empty:
            metric_cols = [c for c in wide.columns if c not in ("plan", label)]
            _write_sheet(wb, title, wide, formats={m: unit(m)[1] for m in metric_cols},
                         headers={m: header(m) for m in metric_cols}, freeze_cols=2)
    if res.comparison is not None and not res.comparison.empty:
        _write_sheet(wb, "Comparison", res.comparison, row_format="metric", freeze_cols=2)
    roster = _roster(res)
    if not roster.empty:
        _write_sheet(wb, "Roster", roster, freeze_cols=2)

    def write(fh: IO[bytes]) -> None:
        wb.save(fh)

    return atomic_write(target, write)
