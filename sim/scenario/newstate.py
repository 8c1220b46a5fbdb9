"""A scenario for another state, built from the tables a planner has (CSV files or Excel).

Five tables, one CSV each in a folder (``districts.csv``, ...) or one sheet each in an
``.xlsx`` workbook; headers in the first row, one optional ``source`` column per table:

- ``districts``: district, home_hub; optional subcentres, phcs, population, lat, lon
- ``hubs``: hub, roster (a template name); optional name, district, lat, lon; one
  ``doctors_<specialty>`` column per specialty (registered doctors)
- ``demand``: district, d2d_per_day, opd_per_day (requests per open day)
- ``specialties``: specialty, share (of requests), consult_mean_min; optional
  consult_sd_min, label
- ``rosters`` (optional): template, specialty, start, end; optional days (``working``,
  ``all`` or e.g. ``mon tue``), doctors (a number or ``all``, the default). The built-in
  template ``all-registered`` puts every registered doctor on duty in the spoke hours.

Every number written is commented ``FACT`` (the row's ``source`` names a publication) or
``ASSUMPTION`` (the source says so, or none is given; and every default chosen here), with
the table, row and column it came from. Bad tables raise ``ScenarioError`` naming file,
row and column, as bad YAML does.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sim.scenario.loader import Problem, ScenarioError
from sim.scenario.types import WEEKDAYS, format_clock, parse_clock

TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "districts": (("district", "home_hub"),
                  ("subcentres", "phcs", "population", "lat", "lon", "source")),
    "hubs": (("hub", "roster"), ("name", "district", "lat", "lon", "source")),
    "demand": (("district", "d2d_per_day", "opd_per_day"), ("source",)),
    "specialties": (("specialty", "share", "consult_mean_min"),
                    ("consult_sd_min", "label", "source")),
    "rosters": (("template", "specialty", "start", "end"), ("days", "doctors", "source")),
}
"""Each table's (required, optional) columns; ``hubs`` also takes ``doctors_<specialty>``."""

BUILT_IN = "all-registered"


@dataclass(frozen=True)
class Row:
    """One table row: its cells by column, and where it sits."""

    file: str  # as given (problems name it)
    label: str  # the table's own file or sheet name (comments cite it)
    line: int
    cells: dict[str, str]

    def where(self, column: str) -> str:
        """``districts.csv row 3, column phcs``: what a comment cites (the table's file name)."""
        return f"{self.label} row {self.line}, column {column}"

    def note(self, column: str) -> str:
        """FACT or ASSUMPTION for a number taken from ``column``, with where it came from."""
        src = self.cells.get("source", "").strip()
        kind = "ASSUMPTION" if not src or src.upper().startswith("ASSUMPTION") else "FACT"
        return f"{kind} ({self.where(column)})"

    def source(self, indent: str) -> str:
        """A comment line giving the row's source (written once, above its item)."""
        src = self.cells.get("source", "").strip() or "no source given"
        return f"{indent}# {self.label} row {self.line}: {src}"


@dataclass
class Tables:
    """The tables as read, and the problems found so far."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    headers: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # file, columns
    problems: list[Problem] = field(default_factory=list)

    def bad(self, row: Row | None, column: str, message: str, file: str = "") -> None:
        """Note a problem at a row and column (or at a whole table)."""
        self.problems.append(Problem(row.file if row else file, column,
                                     row.line if row else None, message))

    def number(self, row: Row, column: str, *, integer: bool = False,
               required: bool = True, signed: bool = False) -> float | None:
        """A finite number from a cell, >= 0 unless ``signed`` (thousands separators allowed)."""
        text = row.cells.get(column, "").strip().replace(",", "").replace("_", "")
        if not text:
            if required:
                self.bad(row, column, "a number is required here")
            return None
        try:
            value = float(text)
        except ValueError:
            self.bad(row, column, f"expected a number, got {row.cells[column]!r}")
            return None
        if not math.isfinite(value) or (value < 0 and not signed) or (
                integer and value != int(value)):
            self.bad(row, column, f"expected a {'whole ' if integer else ''}number"
                                  f"{'' if signed else ' >= 0'}, got {row.cells[column]!r}")
            return None
        return int(value) if integer else value


def read_tables(path: Path) -> Tables:
    """Read the five tables from a folder of CSV files or from an ``.xlsx`` workbook."""
    out = Tables()
    if path.is_dir():
        for name in TABLES:
            p = path / f"{name}.csv"
            if p.is_file():
                with p.open(encoding="utf-8-sig", newline="") as fh:
                    _add(out, name, str(p), p.name, csv.reader(fh))
    elif path.suffix.lower() in (".xlsx", ".xlsm") and path.is_file():
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file it cannot read
            raise ScenarioError([Problem(str(path), "", None,
                                         f"cannot read workbook: {exc}")]) from None
        for name in TABLES:
            if name in book.sheetnames:
                _add(out, name, f"{path}[{name}]", f"{path.name}[{name}]", (
                    ["" if c is None else str(c) for c in r]
                    for r in book[name].iter_rows(values_only=True)))
    elif not path.exists():
        raise ScenarioError([Problem(str(path), "", None, "no such folder or workbook")])
    else:
        raise ScenarioError([Problem(str(path), "", None, "expected a folder of CSV files or "
                                     "an .xlsx workbook")])
    for name, (required, optional) in TABLES.items():
        if name not in out.headers:
            if name != "rosters":
                where = f"{path / name}.csv" if path.is_dir() else f"{path}[{name}]"
                out.bad(None, "", "table missing", file=where)
            continue
        file, header = out.headers[name]
        for col in required:
            if col not in header:
                out.bad(None, col, f"column missing (needed: {', '.join(required)})", file=file)
        for col in header:
            if col not in (*required, *optional) and not (
                    name == "hubs" and col.startswith("doctors_")):
                extra = ", doctors_<specialty>" if name == "hubs" else ""
                out.problems.append(Problem(file, col, 1, "unknown column (known: "
                                            f"{', '.join([*required, *optional])}{extra})"))
        if not out.rows[name] and name != "rosters":
            out.bad(None, "", "table has no rows", file=file)
    return out


def _add(out: Tables, name: str, file: str, label: str, reader: Iterator[list[str]]) -> None:
    """One table's rows as dicts by header; blank rows skipped, line numbers kept."""
    lines = iter(reader)
    header = [str(h).strip().lower() for h in next(lines, [])]
    out.headers[name] = (file, [h for h in header if h])
    rows = []
    for n, values in enumerate(lines, start=2):
        if any(str(v).strip() for v in values):
            rows.append(Row(file, label, n, {h: str(v).strip()
                                      for h, v in zip(header, values, strict=False) if h}))
    out.rows[name] = rows


def _q(text: str) -> str:
    """A YAML scalar for any text (JSON strings are YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _num(x: float) -> str:
    """A number as written in a table: whole numbers without a point, others to 6 places."""
    return str(int(x)) if x == int(x) else str(round(x, 6))


@dataclass(frozen=True)
class Options:
    """What the tables do not say: name, calendar, spoke hours, seed."""

    name: str = "new-state"
    days: int = 35
    warmup: float = 7.0
    start_date: str | None = None
    hours: str = "09:30-16:00"
    seed: int = 12345


def build_yaml(tables: Tables, opts: Options) -> str:
    """The scenario YAML text, each number commented; raises ScenarioError for bad tables."""
    t = tables
    specs = _specialties(t)
    hubs = {r.cells.get("hub", ""): r for r in t.rows.get("hubs", [])}
    pools = {hid: _pool(t, row, set(specs)) for hid, row in hubs.items()}
    templates = _templates(t, set(specs))
    districts = t.rows.get("districts", [])
    demand = {r.cells.get("district", ""): r for r in t.rows.get("demand", [])}
    _unique(t, "hubs", "hub")
    _unique(t, "districts", "district")
    _unique(t, "specialties", "specialty")
    _unique(t, "demand", "district")
    try:
        start, end = (parse_clock(x.strip()) for x in opts.hours.split("-"))
    except ValueError:
        raise ScenarioError([Problem("--hours", "", None, f"expected HH:MM-HH:MM, got "
                                     f"{opts.hours!r}")]) from None
    lines = [f"# {opts.name}: built by `hubsim new-state` from planner tables.",
             "# Every number says where it came from: FACT (the table row names a source) or",
             "# ASSUMPTION (the row says so, gives no source, or the default was ours), with",
             "# the table, row and column; each item's source is the comment above it.",
             f"name: {_q(opts.name)}", f"seed: {opts.seed}  # ASSUMPTION: any fixed seed",
             "calendar:"]
    if opts.start_date:
        lines.append(f"  start_date: {opts.start_date}")
    lines += [f"  horizon_days: {opts.days}  # ASSUMPTION: --days",
              f"  warmup_days: {_num(opts.warmup)}  # ASSUMPTION: --warmup",
              "specialties:"]
    for name, row in specs.items():
        mean = t.number(row, "consult_mean_min")
        sd = t.number(row, "consult_sd_min", required=False)
        lines += [row.source("  "), f"  {_q(name)}:"]
        if row.cells.get("label"):
            lines.append(f"    label: {_q(row.cells['label'])}")
        lines.append("    consult:")
        lines.append("      kind: lognormal  # ASSUMPTION: right-skewed visit times")
        lines.append(f"      mean: {_num(mean or 0)}  # {row.note('consult_mean_min')}")
        if sd is None:
            lines.append(f"      sd: {_num((mean or 0) * 2 / 3)}  # ASSUMPTION: 2/3 of the "
                         "mean (Himachal's medicine: mean 9, sd 6); no consult_sd_min given")
        else:
            lines.append(f"      sd: {_num(sd)}  # {row.note('consult_sd_min')}")
    lines.append("hubs:")
    for hid, row in hubs.items():
        lines += _hub_lines(t, hid, row, pools[hid], templates, start, end)
    lines += ["spokes:", "  hours:", "    days: working  # ASSUMPTION: Mon-Sat, as in Himachal",
              f"    start: \"{opts.hours.split('-')[0].strip()}\"  # ASSUMPTION: --hours",
              f"    end: \"{opts.hours.split('-')[1].strip()}\"  # ASSUMPTION: --hours",
              "  districts:"]
    opd: list[str] = []
    shared = [s for s, r in specs.items() if (t.number(r, "share") or 0) > 0]
    for row in districts:
        name, home = row.cells.get("district", ""), row.cells.get("home_hub", "")
        if home not in hubs:
            t.bad(row, "home_hub", f"hub {home!r} is not in the hubs table"
                  f" (hubs: {', '.join(hubs)})")
        else:
            for s in shared:
                if s not in _served(hubs[home], pools[home], templates):
                    t.bad(row, "home_hub", f"hub {home!r} has nobody on duty for {s!r}, "
                          f"which has a share in the specialties table")
        lines += [row.source("    "), f"    - district: {_q(name)}", f"      home_hub: {_q(home)}"]
        for col in ("subcentres", "phcs", "population"):
            v = t.number(row, col, integer=True, required=False)
            if v is not None:
                lines.append(f"      {col}: {int(v)}  # {row.note(col)}")
        for col in ("lat", "lon"):
            if (x := t.number(row, col, required=False, signed=True)) is not None:
                lines.append(f"      {col}: {_num(x)}  # {row.note(col)}")
        dem = demand.get(name)
        if dem is None:
            if "demand" in t.rows:
                t.bad(row, "district", f"district {name!r} has no row in the demand table")
            continue
        d2d = t.number(dem, "d2d_per_day")
        if d2d is not None:
            lines += [dem.source("      "),
                      f"      d2d_per_day: {_num(d2d)}  # {dem.note('d2d_per_day')}"]
        o = t.number(dem, "opd_per_day")
        if o:
            opd.append(f"      {_q(name)}: {_num(o)}  # {dem.note('opd_per_day')}")
    for name, row in demand.items():
        if name not in {r.cells.get("district") for r in districts}:
            t.bad(row, "district", f"district {name!r} is not in the districts table")
    mix = _mix_lines(t, specs)
    lines += ["demand:", "  d2d:",
              "    # per spoke: overridden by each district's d2d_per_day",
              "    per_spoke_per_day: {subcentre: 1.0, phc: 1.0}  # ASSUMPTION: a sub-centre "
              "asks as often as a PHC", "    specialty_mix:", *mix]
    if opd:
        lines += ["  opd:", "    per_day:", *opd, "    specialty_mix:", *mix]
    lines += ["routing:", "  policy: home_hub  # ASSUMPTION: each district's requests go to "
              "its home hub", "queue:", "  session_end: carry  # ASSUMPTION: a token stays "
              "valid into the next session"]
    if t.problems:  # a template shared by hubs reports its row once
        raise ScenarioError(list(dict.fromkeys(t.problems)))
    return "\n".join(lines) + "\n"


def _unique(t: Tables, table: str, column: str) -> None:
    seen: set[str] = set()
    for row in t.rows.get(table, []):
        key = row.cells.get(column, "")
        if not key:
            t.bad(row, column, "required value is empty")
        elif key in seen:
            t.bad(row, column, f"{key!r} appears twice")
        seen.add(key)


def _specialties(t: Tables) -> dict[str, Row]:
    rows = {r.cells.get("specialty", ""): r for r in t.rows.get("specialties", [])}
    shares = [t.number(r, "share") for r in rows.values()]
    total = sum(s or 0 for s in shares)
    if rows and None not in shares and abs(total - 1) > 0.01:
        t.bad(None, "share", f"shares sum to {total:.4g}, not 1",
              file=next(iter(rows.values())).file)
    return rows


def _templates(t: Tables, specs: set[str]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for row in t.rows.get("rosters", []):
        if row.cells.get("specialty") not in specs:
            t.bad(row, "specialty", f"specialty {row.cells.get('specialty')!r} is not in the "
                  "specialties table")
        for col in ("start", "end"):
            try:
                parse_clock(row.cells.get(col, ""))
            except ValueError as exc:
                t.bad(row, col, str(exc))
        days = row.cells.get("days", "") or "working"
        if days not in ("working", "all") and not all(d in WEEKDAYS for d in days.split()):
            t.bad(row, "days", f"expected working, all or weekdays like 'mon wed', got {days!r}")
        out.setdefault(row.cells.get("template", ""), []).append(row)
    return out


def _served(hub: Row, pool: dict[str, int], templates: dict[str, list[Row]]) -> set[str]:
    """Specialties a hub's roster template puts someone on duty for."""
    name = hub.cells.get("roster", "")
    if name == BUILT_IN:
        return {s for s, n in pool.items() if n > 0}
    return {r.cells.get("specialty", "") for r in templates.get(name, [])
            if pool.get(r.cells.get("specialty", ""), 0) > 0
            and (r.cells.get("doctors", "") or "all") not in ("0", "0.0")}


def _pool(t: Tables, hub: Row, specs: set[str]) -> dict[str, int]:
    """Registered doctors per specialty, from the hub's doctors_<specialty> cells."""
    out = {}
    for col, text in hub.cells.items():
        if col.startswith("doctors_") and text:
            spec = col[len("doctors_"):]
            if spec not in specs:
                t.bad(hub, col, f"specialty {spec!r} is not in the specialties table")
            elif (n := t.number(hub, col, integer=True)) is not None:
                out[spec] = int(n)
    return out


def _hub_lines(t: Tables, hid: str, row: Row, pool: dict[str, int],
               templates: dict[str, list[Row]], start: int, end: int) -> Iterator[str]:
    yield row.source("  ")
    yield f"  - id: {_q(hid)}"
    for col in ("name", "district"):
        if row.cells.get(col):
            yield f"    {col}: {_q(row.cells[col])}"
    for col in ("lat", "lon"):
        if (x := t.number(row, col, required=False, signed=True)) is not None:
            yield f"    {col}: {_num(x)}  # {row.note(col)}"
    yield "    doctors:"
    for spec, n in pool.items():
        yield f"      {_q(spec)}: {n}  # {row.note('doctors_' + spec)}"
    yield "    roster:"
    name = row.cells.get("roster", "")
    if name == BUILT_IN:
        for spec, n in pool.items():
            if n > 0:
                yield (f"      - {{specialty: {_q(spec)}, days: working, start: "
                       f"\"{format_clock(start)}\", end: \"{format_clock(end)}\", doctors: {n}}}  "
                       f"# ASSUMPTION: template {BUILT_IN}, every registered doctor in the "
                       f"spoke hours ({row.where('roster')})")
        return
    if name not in templates:
        t.bad(row, "roster", f"roster template {name!r} is not in the rosters table "
              f"(templates: {', '.join([*templates, BUILT_IN])})")
        return
    for r in templates[name]:
        spec = r.cells.get("specialty", "")
        k_text = r.cells.get("doctors", "") or "all"
        if k_text == "all":
            k = pool.get(spec, 0)
        elif (given := t.number(r, "doctors", integer=True)) is not None:
            k = int(given)
        else:
            continue
        if k > pool.get(spec, 0):
            t.bad(r, "doctors", f"puts {k} {spec} doctors on duty but hub {hid!r} has "
                  f"{pool.get(spec, 0)} registered ({row.where('doctors_' + spec)})")
            continue
        if k == 0:
            continue
        yield r.source("      ")
        days = r.cells.get("days", "") or "working"
        days_yaml = days if days in ("working", "all") else "[" + ", ".join(days.split()) + "]"
        yield (f"      - {{specialty: {_q(spec)}, days: {days_yaml}, start: "
               f"\"{r.cells.get('start', '')}\", end: \"{r.cells.get('end', '')}\", "
               f"doctors: {k}}}  # {r.note('doctors')}"
               + (f"; all registered, {row.where('doctors_' + spec)}" if k_text == "all"
                  else ""))


def _mix_lines(t: Tables, specs: dict[str, Row]) -> list[str]:
    shares = {s: t.number(r, "share", required=False) or 0.0 for s, r in specs.items()}
    total = sum(shares.values()) or 1.0
    out = []
    for s, r in specs.items():
        note = r.note("share")
        if abs(total - 1) > 1e-9:
            note += f"; scaled by 1/{total:.6g} so the shares sum to 1"
        out.append(f"      {_q(s)}: {shares[s] / total:.6g}  # {note}")
    return out


def scenario_text(tables: Path, opts: Options) -> str:
    """The scenario YAML built from the tables at ``tables`` (a folder or a workbook)."""
    text = build_yaml(read_tables(Path(tables)), opts)
    flags = (f"--name {opts.name} --days {opts.days} --warmup {_num(opts.warmup)}"
             + (f" --start-date {opts.start_date}" if opts.start_date else "")
             + f" --hours {opts.hours} --seed {opts.seed}")
    return f"# Made by: hubsim new-state {Path(tables).as_posix()} {flags}\n{text}"
