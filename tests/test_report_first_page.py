"""The report's first page answers the question from the tables; templates escape; units."""

from __future__ import annotations

import copy
import csv
import html
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from sim import apply_overrides, scenario_from_dict
from sim.experiment.runner import compare, run_experiment
from sim.present import units
from sim.present.report import Table, _environment, build_report
from tests.test_report import NET

STANDARDS: list[dict[str, Any]] = [
    # a request seen within one minute 99% of the time: breached at the one-doctor hub
    {"id": "one-minute", "label": "99% seen within 1 min", "measure": "share_within",
     "within_min": 1, "target": 0.99, "where": {"specialties": ["medicine"]}, "by": ["hub"]},
    # psychiatry is one doctor on 20-minute consults with patience 300 min: some give up
    {"id": "nobody-leaves", "measure": "abandonment", "target": 0.001,
     "by": ["specialty"]},
    {"id": "a-week", "measure": "wait_mean", "target": 10080},   # met with room to spare
]


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


def _first_page(report: str) -> str:
    return report.split('<section id="answer"', 1)[1].split("</section>", 1)[0]


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("judged")
    data = copy.deepcopy(NET) | {"standards": STANDARDS}
    run_experiment(scenario_from_dict(data, source="<test>"), 3, out=out)
    shutil.rmtree(out / "records.csv.gz", ignore_errors=True)
    (out / "plots").mkdir(exist_ok=True)   # no plots needed for the first page
    (out / "plots" / "none.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return out


def test_first_page_names_every_breached_standard_and_group(judged: Path) -> None:
    with open(judged / "standards.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    breached = [r for r in rows if r["verdict"] == "breached"]
    assert {r["standard"] for r in breached} >= {"one-minute", "nobody-leaves"}
    assert "a-week" not in {r["standard"] for r in breached}
    page = _first_page(build_report(judged, validation=False))
    text = _text(page)
    assert "Where does the network miss its service standards" in text
    answer = text.split("Breaches, worst first")[0]
    for r in breached:
        assert r["standard"] in answer, r["standard"]
    assert "99% seen within 1 min" in answer                     # the standard's label
    table = page.split("Breaches, worst first", 1)[1].split("<tbody>", 1)[1]
    body = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    assert len(body) == len(breached)
    for r, row in zip(sorted(breached, key=lambda r: -float(r["relative_gap"])), body,
                      strict=True):
        cells = [_text(c).strip() for c in re.findall(r"<td>(.*?)</td>", row, flags=re.S)]
        assert cells[0] == r["standard"]                          # worst first
        assert units.percent(r["mean"]) in cells[3]               # achieved, in %
        assert cells[4].startswith("at most" if r["sense"] == "at_most" else "at least")
    # the met standard is said to be met
    assert "a-week" in answer.split("Met or not breached anywhere:")[1]


def test_report_fixes_units_versions_and_licence(judged: Path) -> None:
    text = _text(build_report(judged, validation=False))
    assert "exponential (mean 5 h)" in text                      # patience 300 min
    assert "exponential (mean 8 min)" in text                    # consult length
    assert "not recorded" not in text
    assert re.search(r"python \d+\.\d+\.\d+, numpy \d+\.\d+", text)
    assert "licen" not in text.lower()                           # no licence file, no claim
    assert "North <Hub> (north)" in text                         # hub name beside its id


@pytest.fixture(scope="module")
def two_plans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plans")
    base = scenario_from_dict(copy.deepcopy(NET) | {"standards": STANDARDS}, source="<t>")
    more = apply_overrides(base, {"hubs.1.doctors.medicine": 2, "hubs.1.roster.0.doctors": 2})
    compare(base, [more], 3, labels=["base", "south+1"], out=out)
    (out / "plots").mkdir(exist_ok=True)
    (out / "plots" / "none.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return out


def test_comparison_report_says_what_the_plan_changes(two_plans: Path) -> None:
    report = build_report(two_plans, validation=False)
    title = _text(report.split("<h1>", 1)[1].split("</h1>", 1)[0])
    assert title == "Plans compared: south+1 against base"
    page = _text(_first_page(report))
    assert "What each plan changes" in page
    assert "registered doctors south medicine 1 2" in page
    assert "doctors on duty south medicine working 09:30-16:00, doctors 1 2" in page
    assert "Plan south+1 against base:" in page
    assert "Effect on each standard, by group" in _text(report)


def test_templates_escape_every_cell_and_sentence() -> None:
    env = _environment()
    assert env.autoescape is True
    t = Table(["<th>"], [["<script>alert(1)</script>", "a & b"]], "x", "<i>note</i>")
    macro = env.get_template("macros.html.j2").module.table  # type: ignore[attr-defined]
    out = str(macro(t))
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;th&gt;" in out and "a &amp; b" in out and "&lt;i&gt;note&lt;/i&gt;" in out


def test_report_prints_on_a4(judged: Path) -> None:
    css = (Path(units.__file__).parent / "templates" / "report.css").read_text()
    assert "@page{size:A4" in css and "break-before:page" in css


@pytest.mark.slow
def test_no_table_is_cut_at_the_right_of_an_a4_page(judged: Path, tmp_path: Path) -> None:
    pw = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no chromium")
    page_file = tmp_path / "r.html"
    page_file.write_text(build_report(judged, validation=False), encoding="utf-8")
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        # A4 is 210 mm; less the 12 mm margins each side: 186 mm = 703 CSS px
        page = browser.new_page(viewport={"width": 703, "height": 1000})
        page.goto(page_file.as_uri())
        page.emulate_media(media="print")
        wide = page.evaluate("""() => [...document.querySelectorAll('table, img, figure')]
            .filter(e => e.getBoundingClientRect().right > 704).length""")
        browser.close()
    assert wide == 0
