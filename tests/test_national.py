"""The bundled national scenario: built by ``new-state`` from its tables; runs and compares."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

import sim
from sim.cli import build_parser, main
from sim.engine.demand import expected_arrivals
from sim.experiment import compare
from sim.results.output import read_csv
from sim.scenario.newstate import Options, scenario_text

ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "scenarios" / "national-top10.yaml"
# Sep 2021 consultations to date of the ten states (FACT, national figures)
TOP_TEN = {"Andhra Pradesh": 4_223_054, "Karnataka": 2_415_774, "Tamil Nadu": 1_599_283,
           "Uttar Pradesh": 1_371_799, "Gujarat": 485_735, "Madhya Pradesh": 447_878,
           "Bihar": 436_383, "Maharashtra": 403_376, "West Bengal": 369_441,
           "Uttarakhand": 271_513}


def test_national_file_is_what_new_state_makes_of_the_bundled_tables(
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = NATIONAL.read_text(encoding="utf-8")
    made_by = text.splitlines()[0].removeprefix("# Made by: hubsim ")
    args = build_parser().parse_args(shlex.split(made_by))
    monkeypatch.chdir(ROOT)
    opts = Options(name=args.name, days=args.days, warmup=args.warmup,
                   start_date=args.start_date, hours=args.hours, seed=args.seed)
    assert scenario_text(Path(args.tables), opts) == text


def test_national_volumes_follow_the_states_published_shares() -> None:
    sc = sim.load_scenario(NATIONAL)
    assert [d.district for d in sc.spokes.districts] == list(TOP_TEN)
    assert sc.demand.opd is not None
    per_day = {d.district: (d.d2d_per_day or 0) + sc.demand.opd.per_day[d.district]
               for d in sc.spokes.districts}
    total = 8_033_029 + 5_378_296
    for state, consults in TOP_TEN.items():
        assert per_day[state] == pytest.approx(90_000 * consults / total, abs=0.2), state
    open_days = len(sc.calendar.open_days(sc.spokes.hours.weekdays))
    assert expected_arrivals(sc) == pytest.approx(open_days * sum(per_day.values()), rel=1e-9)


def test_national_scenario_validates_and_runs_a_short_horizon(tmp_path: Path) -> None:
    assert main(["validate", str(NATIONAL), "-q"]) == 0
    out = tmp_path / "national"
    assert main(["run", str(NATIONAL), "--days", "2", "--no-plot", "--no-records",
                 "--out", str(out), "-q"]) == 0
    rows = {(r["metric"], r["group_by"], r["group"]): float(r["value"])
            for r in read_csv(out / "summary.csv")}
    # one measured day (after the 1-day warm-up): a Tuesday's ~80,700 requests
    assert rows[("arrivals", "all", "all")] == pytest.approx(80_692, rel=0.02)
    assert rows[("served", "all", "all")] > 0.95 * rows[("arrivals", "all", "all")]
    assert 0.3 < rows[("utilisation", "all", "all")] < 0.95


@pytest.mark.slow
def test_national_scenario_compares_with_a_plan() -> None:
    base = sim.apply_overrides(sim.load_scenario(NATIONAL), {"calendar.horizon_days": 2},
                               source="<test>")
    plan = sim.load_scenario(ROOT / "scenarios" / "plans" / "national-growth-30.yaml")
    plan = sim.apply_overrides(plan, {"calendar.horizon_days": 2}, source="<test>")
    cmp = compare(base, [plan], replications=2, labels=["base", "growth-30"])
    table = cmp.comparison
    row = table.query("plan == 'growth-30' and metric == 'arrivals' and group_by == 'all'")
    assert float(row["diff"].iloc[0]) > 0.25 * float(row["mean"].iloc[0]) / 1.3
    assert set(table.query("plan == 'growth-30'")["verdict"]) - {
        "better", "worse", "no detectable difference", "higher", "lower"} == set()
