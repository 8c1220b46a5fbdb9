"""Overlay plan files: ``extends:`` deep merge, keyed lists by key, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario.loader import ScenarioError, load_scenario

BASE = """\
name: base
seed: 3
calendar: {horizon_days: 10, warmup_days: 1}
specialties:
  medicine: {consult: {kind: exponential, mean: 10}}
  cardiology: {consult: {kind: exponential, mean: 15}}
hubs:
  - id: hub
    doctors: {medicine: 3, cardiology: 1}
    roster:
      - {specialty: medicine, days: all, start: "09:00", end: "17:00", doctors: 3}
      - {specialty: cardiology, days: all, start: "09:00", end: "13:00", doctors: 1}
spokes:
  hours: {days: all, start: "09:00", end: "17:00"}
  districts:
    - {district: everywhere, home_hub: hub, phcs: 2}
demand:
  d2d:
    per_spoke_per_day: {phc: 20}
    specialty_mix: {medicine: 0.8, cardiology: 0.2}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(tmp_path / "base.yaml", BASE)


def test_overlay_deep_merges_mappings_and_keeps_the_rest(tmp_path: Path, base: Path) -> None:
    plan = write(tmp_path / "plans" / "more.yaml", """\
extends: ../base.yaml
name: more-medicine
demand: {growth: 1.5}
routing: {policy: pooled}
""")
    sc = load_scenario(plan)
    b = load_scenario(base)
    assert sc.name == "more-medicine"
    assert sc.demand.growth == 1.5
    assert sc.routing.policy == "pooled"
    # the untouched parts of a merged mapping survive
    assert sc.demand.d2d == b.demand.d2d
    assert sc.hubs == b.hubs and sc.seed == 3
    # the base file itself is not changed by loading an overlay
    assert b.demand.growth == 1.0


def test_replace_gives_a_keyed_list_whole(tmp_path: Path, base: Path) -> None:
    plan = write(tmp_path / "plan.yaml", """\
extends: base.yaml
hubs:
  - id: hub
    doctors: {medicine: 5, cardiology: 1}
    roster:
      replace:
        - {specialty: cardiology, days: all, start: "14:00", end: "17:00", doctors: 1}
        - {specialty: medicine, days: all, start: "09:00", end: "17:00", doctors: 5}
        - {specialty: cardiology, days: [mon], start: "09:00", end: "10:00", doctors: 1}
""")
    sc = load_scenario(plan)
    assert len(sc.hubs) == 1
    roster = sc.hubs[0].roster
    assert [s.specialty for s in roster] == ["cardiology", "medicine", "cardiology"]
    assert roster[0].doctors == 1 and roster[1].doctors == 5  # nothing merged by index
    assert sc.hubs[0].doctors["medicine"] == 5


def test_other_lists_are_replaced_whole(tmp_path: Path, base: Path) -> None:
    plan = write(tmp_path / "plan.yaml", "extends: base.yaml\nmetrics: {targets_min: [5]}\n")
    assert load_scenario(plan).metrics.targets_min == [5.0]


def test_overlays_chain(tmp_path: Path, base: Path) -> None:
    write(tmp_path / "a.yaml", "extends: base.yaml\ndemand: {growth: 2}\n")
    b = write(tmp_path / "sub" / "b.yaml", "extends: ../a.yaml\nseed: 9\n")
    sc = load_scenario(b)
    assert sc.demand.growth == 2 and sc.seed == 9 and sc.name == "base"


def test_missing_base_names_the_overlay_and_the_path(tmp_path: Path) -> None:
    plan = write(tmp_path / "plan.yaml", "name: x\nextends: nowhere.yaml\n")
    with pytest.raises(ScenarioError, match=r"plan\.yaml:2: extends: base scenario "
                                            r"'nowhere.yaml' not found") as err:
        load_scenario(plan)
    assert len(err.value.problems) == 1


def test_cycle_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "extends: b.yaml\n")
    b = write(tmp_path / "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ScenarioError, match=r"extends cycle: b\.yaml -> a\.yaml -> b\.yaml"):
        load_scenario(b)
    self_ref = write(tmp_path / "self.yaml", "extends: ./self.yaml\n")
    with pytest.raises(ScenarioError, match="extends cycle: self.yaml -> self.yaml"):
        load_scenario(self_ref)


def test_extends_must_be_a_path(tmp_path: Path) -> None:
    plan = write(tmp_path / "plan.yaml", "extends: [a.yaml]\n")
    with pytest.raises(ScenarioError, match="extends: must be the path of a base scenario"):
        load_scenario(plan)


def test_errors_point_into_the_file_that_holds_the_field(tmp_path: Path, base: Path) -> None:
    plan = write(tmp_path / "plan.yaml", """\
extends: base.yaml
demand:
  growth: -1
""")
    with pytest.raises(ScenarioError) as err:
        load_scenario(plan)
    (p,) = err.value.problems
    assert p.file == str(plan) and p.line == 3 and p.path == "demand.growth"

    # a field the overlay did not touch is reported in the base file, at its line there
    write(tmp_path / "broken.yaml", BASE.replace("horizon_days: 10", "horizon_days: 0"))
    plan2 = write(tmp_path / "plan2.yaml", "extends: broken.yaml\nseed: 4\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(plan2)
    (p,) = err.value.problems
    assert p.file.endswith("broken.yaml") and p.line == 3
    assert "horizon_days" in p.path


def test_yaml_error_in_base_names_the_base(tmp_path: Path) -> None:
    write(tmp_path / "bad.yaml", "name: [unclosed\n")
    plan = write(tmp_path / "plan.yaml", "extends: bad.yaml\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml:\d+: YAML syntax error"):
        load_scenario(plan)


def test_overlay_is_validated_as_a_whole(tmp_path: Path, base: Path) -> None:
    plan = write(tmp_path / "plan.yaml", """\
extends: base.yaml
routing: {polcy: pooled}
""")
    with pytest.raises(ScenarioError, match=r"plan\.yaml:2: routing.polcy: unknown key "
                                            r"'polcy'; did you mean 'policy'"):
        load_scenario(plan)


def test_cli_validate_reports_overlay_errors_with_exit_2(tmp_path: Path, base: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    from sim.cli import main

    good = write(tmp_path / "good.yaml", "extends: base.yaml\ndemand: {growth: 1.2}\n")
    assert main(["validate", "-q", str(good)]) == 0
    bad = write(tmp_path / "bad.yaml", "extends: missing.yaml\n")
    assert main(["validate", str(bad)]) == 2
    assert "not found" in capsys.readouterr().err
