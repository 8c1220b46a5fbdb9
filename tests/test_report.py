"""The HTML report: every STRESS-DES section, every plot embedded, all text escaped."""

from __future__ import annotations

import base64
import copy
import html
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sim import apply_overrides, scenario_from_dict
from sim.analysis.theory import mmc_wait_mean
from sim.experiment.runner import compare, sweep
from sim.present.plots import plot_results
from sim.present.report import SECTIONS, build_report, write_report
from sim.present.units import difference
from sim.present.validation import erlang_c_check

NET: dict[str, Any] = {
    "name": "report-net",
    "description": "Test network <script>alert('x')</script> & friends",
    "seed": 5,
    "calendar": {"horizon_days": 6, "warmup_days": 1},
    "specialties": {"medicine": {"consult": {"kind": "exponential", "mean": 8}},
                    "psychiatry": {"consult": {"kind": "exponential", "mean": 20}}},
    "hubs": [
        {"id": "north", "name": "North <Hub>", "lat": 32.0, "lon": 76.5,
         "doctors": {"medicine": 2, "psychiatry": 1},
         "roster": [{"specialty": "medicine", "start": "09:30", "end": "16:00"},
                    {"specialty": "psychiatry", "start": "09:30", "end": "16:00"}]},
        {"id": "south", "doctors": {"medicine": 1},
         "roster": [{"specialty": "medicine", "start": "09:30", "end": "16:00"}]},
    ],
    "spokes": {"hours": {"start": "09:30", "end": "16:00"}, "districts": [
        {"district": "Upper", "home_hub": "north", "subcentres": 20, "phcs": 8,
         "lat": 32.2, "lon": 76.3},
        {"district": "Lower", "home_hub": "south", "subcentres": 15, "phcs": 5,
         "lat": 31.0, "lon": 77.1},
    ]},
    "demand": {"d2d": {"per_spoke_per_day": {"subcentre": 0.8, "phc": 1.2},
                       "specialty_mix": {"medicine": 1.0}},
               "opd": {"per_day": {"Upper": 4}, "specialty_mix": {"psychiatry": 1.0}}},
    "queue": {"patience": {"kind": "exponential", "mean": 300}},
}


def _scenario(data: dict[str, Any] = NET) -> Any:
    return scenario_from_dict(copy.deepcopy(data), source="<test>")


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compare")
    base = _scenario()
    more = apply_overrides(base, {"hubs.1.doctors.medicine": 2,
                                  "hubs.1.roster.0.doctors": 2})
    compare(base, [more], 3, labels=["base", "south+1"], out=out)
    plot_results(out)
    return out


def _embedded(html: str) -> set[bytes]:
    return {base64.b64decode(m)
            for m in re.findall(r'src="data:image/(?:svg\+xml|png);base64,([^"]+)"', html)}


def test_report_has_every_section_and_embeds_every_plot(compared: Path) -> None:
    html = build_report(compared, validation=False)
    for sid, title in SECTIONS:
        assert f'<section id="{sid}"' in html, sid
        assert title.split(" ", 1)[1] in html
    svgs = sorted(compared.rglob("plots/*.svg"))
    stems = {p.stem for p in svgs}
    assert {"comparison", "wait_ecdf_by_hub", "queue_length", "utilisation_heatmap",
            "equity_by_district", "wait_by_time", "wait_by_specialty"} <= stems
    assert len(svgs) == 1 + 2 * 6                      # comparison + 6 per plan
    assert _embedded(html) == {p.read_bytes() for p in svgs}
    # self-contained: nothing fetched from elsewhere
    assert not re.search(r'(src|href)="(?!data:|#)', html)


def test_report_states_inputs_settings_results_and_verdicts(compared: Path) -> None:
    html = build_report(compared, question="Does a second doctor at South help?",
                        validation=False)
    text = re.sub(r"<[^>]+>", " ", html)
    assert "Does a second doctor at South help?" in text
    for must in ("base", "south+1", "09:30", "16:00", "Mon-Sat", "exponential (mean 8 min)",
                 "root seed", "replications", "warm-up", "horizon", "0.95"):
        assert must in text, must
    # every non-base comparison row at the whole-system level appears with its verdict
    import csv

    with open(compared / "comparison.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh)
                if r["group_by"] == "all" and r["plan"] == "south+1"
                and r["metric"] == "wait_mean_min"]
    assert rows and rows[0]["verdict"] in text
    assert difference(rows[0]["diff"], "wait_mean_min", like=rows[0]["mean"]) in text


def test_all_text_is_escaped(compared: Path) -> None:
    html = build_report(compared, question="<b>bold?</b>", validation=False)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "North &lt;Hub&gt;" in html
    assert "<b>bold?</b>" not in html and "&lt;b&gt;bold?&lt;/b&gt;" in html


def test_report_of_a_run_and_of_a_sweep(tmp_path: Path) -> None:
    from sim import simulate
    from sim.present.plots import plot_results
    from sim.results.output import write_run

    write_run(simulate(_scenario()), tmp_path / "run")
    plot_results(tmp_path / "run")
    html = build_report(tmp_path / "run", validation=False)
    assert "(one run)" in html and "No comparison in this folder" in html
    assert len(_embedded(html)) == 6
    sweep(_scenario(), {"demand.growth": [1.0, 1.5]}, 2, out=tmp_path / "sweep")
    html = build_report(tmp_path / "sweep", validation=False)   # makes the missing plots
    assert "demand.growth" in html and "No sweep in this folder" not in html
    assert (tmp_path / "sweep" / "plots" / "sweep.svg").read_bytes() in _embedded(html)


def test_erlang_c_check_is_computed_and_reported(compared: Path) -> None:
    check = erlang_c_check(replications=6, horizon_days=10)
    assert check.theory == pytest.approx(mmc_wait_mean(5, 0.4, 10.0))
    assert check.ci_low < check.simulated_mean < check.ci_high
    html = build_report(compared)
    section = html.split('<section id="validation"', 1)[1].split("</section>", 1)[0]
    assert "Erlang C" in section and "computed" in section
    assert ("PASSED" in section) != ("FAILED" in section)
    assert "not read from a recorded result" in section


def test_cli_report(compared: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    proc = subprocess.run([sys.executable, "-m", "sim", "report", str(compared), "--out",
                           str(out), "--no-validation"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "report written to" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "sim", "report", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "no results folder" in bad.stderr


def test_write_report_default_path(compared: Path) -> None:
    path = write_report(compared, validation=False)
    assert path == compared / "report.html" and path.stat().st_size > 100_000


def test_report_gives_the_command_line_that_reproduces_a_cli_run(tmp_path: Path) -> None:
    import json
    import shlex

    import yaml

    from sim.cli import build_parser, main
    from sim.present.report import command_line

    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(NET), encoding="utf-8")
    out = tmp_path / "out"
    argv = ["run", str(path), "--out", str(out), "--replications", "2", "--no-plot", "-q"]
    assert main(argv) == 0
    cmd = command_line(json.loads((out / "run.json").read_text(encoding="utf-8")))
    assert cmd is not None and cmd.startswith("hubsim run ")
    again = vars(build_parser().parse_args(shlex.split(cmd)[1:]))
    first = vars(build_parser().parse_args(argv))
    assert {k: v for k, v in again.items() if k != "func"} == {
        k: v for k, v in first.items() if k != "func"}
    assert cmd in html.unescape(build_report(out, validation=False))


def test_group_tables_put_groups_too_small_to_judge_last_and_say_so(tmp_path: Path) -> None:
    from sim import simulate
    from sim.results.output import write_run

    data = copy.deepcopy(NET)
    data["demand"]["opd"]["per_day"] = {"Upper": 0.6}     # ~3 psychiatry requests a run,
    data["hubs"][0]["roster"][1]["end"] = "09:45"          # that wait longest of all
    data["queue"]["patience"]["mean"] = 1e6
    write_run(simulate(_scenario(data)), tmp_path / "run")
    page = build_report(tmp_path / "run", validation=False)
    by_hub_specialty = page[page.index("By hub x specialty"):]
    rows = [[c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            for r in re.findall(r"<tr>(.*?)</tr>", by_hub_specialty, re.S)[1:4]]
    # the longest 90th percentile wait, yet last: too few to judge
    assert [r[1] for r in rows] == ["medicine", "medicine", "psychiatry (too few to judge)"]
    assert "fewer than 10 requests per replication come last" in by_hub_specialty
