"""Every FACT in the bundled scenarios points inside the repository, to docs/sources.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
FILES = [*sorted((ROOT / "scenarios").rglob("*.yaml")),
         *sorted((ROOT / "scenarios").rglob("*.csv")), ROOT / "README.md"]


def test_no_file_cites_notes_outside_the_repository() -> None:
    for f in FILES:
        text = f.read_text(encoding="utf-8")
        assert "shared/domain" not in text and "domain file" not in text, f.name


def test_sections_named_by_the_scenarios_exist() -> None:
    sections = set(re.findall(r"^## (.+)$", SOURCES, flags=re.M))
    for f in FILES:
        for name in re.findall(r"docs/sources\.md, ([A-Z][a-z]+(?: [a-z]+)?)",
                               f.read_text(encoding="utf-8")):
            assert name in sections, (f.name, name)


def test_the_published_figures_the_baseline_uses_are_listed() -> None:
    baseline = (ROOT / "scenarios" / "himachal-baseline.yaml").read_text(encoding="utf-8")
    for figure in ("24,527", "97.7%", "504", "518", "112", "80,062", "36,702", "16,001",
                   "7,914", "7,586", "4,907", "23,811", "1,381", "303", "27 Apr 2020",
                   "09:30-16:00"):
        assert figure in baseline, figure
        assert figure in SOURCES, figure


def test_district_populations_and_places_match_the_sources_table() -> None:
    from sim.scenario.loader import load_scenario

    table = {m[0]: (int(m[1].replace(",", "")), float(m[2]), float(m[3])) for m in re.findall(
        r"^\| ([A-Z][\w-]+) \| ([\d,]+) \| [\d,]+ \| [\w ]+ \| ([\d.]+), ([\d.]+) \|$",
        SOURCES, flags=re.M)}
    assert len(table) == 12
    sc = load_scenario(ROOT / "scenarios" / "himachal-baseline.yaml")
    for d in sc.spokes.districts:
        assert (d.population, d.lat, d.lon) == table[d.district], d.district


def test_the_2021_holidays_are_the_published_list_with_muharram_moved() -> None:
    import datetime as dt

    from sim.scenario.loader import load_scenario

    row = next(ln for ln in SOURCES.splitlines()
               if ln.startswith("| Himachal's 2021 list:")).split("|")[1]
    listed = re.findall(r"(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)", row)
    published = {dt.datetime.strptime(f"{d} {m} 2021", "%d %b %Y").date() for d, m in listed}
    moved = (published - {dt.date(2021, 8, 19)}) | {dt.date(2021, 8, 20)}
    sc = load_scenario(ROOT / "scenarios" / "himachal-2020-2021.yaml")
    used = {h.date for h in sc.calendar.holidays
            if isinstance(h.date, dt.date) and h.date.year == 2021}
    assert len(published) == 22 and used == moved
