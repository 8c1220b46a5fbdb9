"""The app's logic without a browser: duty edits, the plan overlay, uploads, progress."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.present import planner
from sim.scenario.loader import ScenarioError, load_scenario


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return planner.workspace(tmp_path_factory.mktemp("app"))


def test_duty_table_edit_and_overlay_round_trip(space: Path) -> None:
    base = planner.load(space, "himachal-baseline.yaml")
    table = planner.duty_table(base)
    assert list(table.columns) == list(planner.DUTY_COLUMNS)
    assert len(table) == sum(len(h.roster) for h in base.hubs)
    tanda = (table["hub"] == "rpgmc_tanda") & (table["specialty"] == "medicine")
    cardio = (table["hub"] == "igmc_shimla") & (table["specialty"] == "cardiology")
    table.loc[tanda, "on duty"] = 5
    table.loc[cardio, "on duty"] = 2
    plan = planner.apply_duty(base, table)
    assert planner.changes(base, plan) == [
        "igmc_shimla cardiology mon,tue 09:30-16:00, doctors: 1 to 2",
        "rpgmc_tanda medicine working 09:30-16:00, doctors: 3 to 5"]
    assert base.hubs[1].roster[0].doctors == 3  # the base is untouched
    text = planner.plan_overlay(base, plan, "himachal-baseline.yaml")
    assert "#   rpgmc_tanda medicine working 09:30-16:00, doctors: 3 to 5" in text
    assert "paediatrics" not in text.split("hubs:", 1)[1]  # only what differs
    (space / "edited.yaml").write_text(text, encoding="utf-8")
    back = load_scenario(space / "edited.yaml")
    assert back.hubs == plan.hubs and back.demand == base.demand and back.name == plan.name


def test_bad_edits_name_the_session(space: Path) -> None:
    base = planner.load(space, "himachal-baseline.yaml")
    table = planner.duty_table(base)
    table.loc[0, "on duty"] = 99
    with pytest.raises(ScenarioError, match=r"duty table: hubs\[0\]\.roster: roster puts 99 "
                       "medicine doctors on duty at once but hub 'igmc_shimla' has only 8"):
        planner.apply_duty(base, table)
    table["on duty"] = table["on duty"].astype(float)
    table.loc[0, "on duty"] = 1.5
    table.loc[1, "on duty"] = float("nan")
    with pytest.raises(ScenarioError) as err:
        planner.apply_duty(base, table)
    assert [p.path for p in err.value.problems] == ["hubs[0].roster[0].doctors",
                                                    "hubs[0].roster[1].doctors"]
    assert "must be a whole number of 0 or more, got 1.5" in err.value.render()
    # every session of a specialty with demand removed: the schema's message
    table = planner.duty_table(base)
    table.loc[table["specialty"] == "psychiatry", "on duty"] = 0
    with pytest.raises(ScenarioError, match="no hub's roster ever serves it"):
        planner.apply_duty(base, table)


def test_uploads_are_named_as_the_user_named_them(space: Path) -> None:
    text = (space / "himachal-baseline.yaml").read_text(encoding="utf-8")
    name = planner.save_upload(space, "/home/me/mine.yaml",
                               text.replace("specialty: cardiology", "specialty: cardiolgy", 1)
                               .encode())
    with pytest.raises(ScenarioError) as err:
        planner.load(space, name)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "specialty: cardiology" in ln)
    assert str(err.value.problems[0]).startswith(f"uploads/mine.yaml:{line}: hubs[0].roster")
    with pytest.raises(ScenarioError, match="a scenario is a .yaml file"):
        planner.save_upload(space, "notes.txt", b"x")
    # an uploaded plan extends a bundled base by the same relative path as in the repo
    plan = planner.save_upload(space, "p.yaml", b"extends: ../himachal-baseline.yaml\n"
                               b"name: p\ndemand: {growth: 1.2}\n")
    assert planner.load(space, plan).demand.growth == 1.2


def test_tables_of_the_network(space: Path) -> None:
    base = planner.load(space, "himachal-baseline.yaml")
    hubs = planner.hubs_table(base)
    assert hubs["registered doctors"].sum() == 112  # FACT: 112 doctors
    demand = planner.demand_table(base)
    per_day = demand["requests per open day"].sum()
    assert 212 <= per_day <= 223  # the baseline's calibration band
    assert demand.groupby("channel")["share"].sum().round(9).eq(1).all()


def test_progress_executor_reports_each_run(space: Path, tmp_path: Path) -> None:
    from sim.scenario.textbook import queue_scenario

    base = queue_scenario(2, 0.15, 10, horizon_days=2, warmup_days=0.5, name="q")
    table = planner.duty_table(base)
    table.loc[0, "on duty"] = 1
    seen: list[int] = []
    res = planner.run_plan(base, planner.apply_duty(base, table), 2, tmp_path / "run",
                           seen.append)
    assert seen == [1, 2, 3, 4]
    assert (tmp_path / "run" / "results.xlsx").exists()
    view = planner.comparison_view(res.comparison)
    row = view[view["metric"] == "wait_mean_min"].iloc[0]
    assert row["verdict"] == "worse" and row["plan"] > row["base"]
    assert isinstance(view, pd.DataFrame)


def test_staff_button_logic_finds_a_plan_that_validates(space: Path) -> None:
    from tests.test_staffing import small_network

    base = small_network()
    res = planner.staff_plan(base, 6)
    assert res.feasible and res.scenario is not None
    text = planner.plan_overlay(base, res.scenario, "base.yaml")
    import yaml

    (space / "base.yaml").write_text(yaml.safe_dump(base.model_dump(mode="json",
                                                                    by_alias=True)))
    (space / "staffed.yaml").write_text(text)
    assert load_scenario(space / "staffed.yaml").hubs == res.scenario.hubs
    from sim.scenario.textbook import queue_scenario

    with pytest.raises(ValueError, match="no standards"):
        planner.staff_plan(queue_scenario(3, 0.1, 10, horizon_days=3), 2)
