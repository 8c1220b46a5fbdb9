"""Keyed overlays and --set paths: hubs by id, districts by name, roster lines by key.

Every keyed list gets add, change and remove through a plan file and through ``--set``,
each way of getting it wrong gets its one message (file, line, path), and ``as_overlay``
turns a resolved scenario into the plan that rebuilds another exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.scenario.diff import as_overlay, change_rows, diff_scenarios, format_changes
from sim.scenario.loader import ScenarioError, apply_overrides, load_scenario
from sim.scenario.overlay import merge_overlay, parse_path

ROOT = Path(__file__).resolve().parent.parent

BASE = """\
name: base
seed: 3
calendar: {horizon_days: 4, warmup_days: 1}
specialties:
  medicine: {consult: {kind: exponential, mean: 10}}
  cardiology: {consult: {kind: exponential, mean: 15}}
hubs:
  - id: north
    doctors: {medicine: 3, cardiology: 2}
    roster:
      - {specialty: medicine, days: working, start: "09:00", end: "17:00", doctors: 2}
      - {specialty: cardiology, days: [mon, tue], start: "09:00", end: "13:00", doctors: 1}
  - id: south
    doctors: {medicine: 2, cardiology: 1}
    roster:
      - {specialty: medicine, days: working, start: "09:00", end: "17:00", doctors: 2}
      - {specialty: cardiology, days: [thu], start: "09:00", end: "13:00", doctors: 1}
spokes:
  hours: {days: working, start: "09:00", end: "17:00"}
  districts:
    - {district: Hill, home_hub: north, phcs: 2}
    - {district: Vale, home_hub: south, subcentres: 3}
demand:
  d2d:
    per_spoke_per_day: {subcentre: 2, phc: 4}
    specialty_mix: {medicine: 0.8, cardiology: 0.2}
"""


@pytest.fixture
def base(tmp_path: Path) -> Path:
    p = tmp_path / "base.yaml"
    p.write_text(BASE, encoding="utf-8")
    return p


def plan(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    p = tmp_path / name
    p.write_text("extends: base.yaml\n" + text, encoding="utf-8")
    return p


def problem(tmp_path: Path, text: str):
    """The one problem of a plan file that must fail."""
    p = plan(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(p)
    probs = err.value.problems
    assert len(probs) == 1, [str(x) for x in probs]
    return probs[0]


def roster(sc, hub: str) -> list[tuple[str, tuple[int, ...], int, int, int]]:
    h = next(h for h in sc.hubs if h.id == hub)
    return [(s.specialty, s.weekdays, s.start, s.end, s.doctors) for s in h.roster]


# --------------------------------------------------------------------------- hubs

def test_hub_change_merges_by_id_and_keeps_the_other_hubs(tmp_path: Path, base: Path) -> None:
    sc = load_scenario(plan(tmp_path, "hubs:\n  - id: south\n    doctors: {cardiology: 2}\n"))
    b = load_scenario(base)
    assert [h.id for h in sc.hubs] == ["north", "south"]
    assert sc.hubs[0] == b.hubs[0]
    assert sc.hubs[1].doctors == {"medicine": 2, "cardiology": 2}
    assert sc.hubs[1].roster == b.hubs[1].roster


def test_hub_add_and_remove(tmp_path: Path, base: Path) -> None:
    sc = load_scenario(plan(tmp_path, """\
hubs:
  - {id: south, remove: true}
  - id: east
    doctors: {medicine: 2, cardiology: 1}
    roster:
      - {specialty: medicine, days: working, start: "09:00", end: "17:00", doctors: 2}
      - {specialty: cardiology, days: [fri], start: "09:00", end: "13:00"}
spokes:
  districts:
    - {district: Vale, home_hub: east}
"""))
    assert [h.id for h in sc.hubs] == ["north", "east"]
    assert sc.spokes.districts[1].home_hub == "east"


def test_misspelt_hub_is_one_problem_with_a_suggestion(tmp_path: Path, base: Path) -> None:
    text = "hubs:\n  - id: sotuh\n    doctors: {cardiology: 2}\n"
    p = problem(tmp_path, text)
    assert p.line == 3 and p.path == "hubs[0]" and p.file.endswith("plan.yaml")
    assert p.message == ("no hub 'sotuh' to change; did you mean 'south'?; to add one, give "
                         "its roster")


def test_removing_a_missing_hub_and_giving_one_twice(tmp_path: Path, base: Path) -> None:
    p = problem(tmp_path, "hubs:\n  - {id: west, remove: true}\n")
    assert p.message == "no hub 'west' to remove (hubs: north, south)" and p.line == 3
    p = problem(tmp_path, "hubs:\n  - {id: north, name: N}\n  - {id: north, name: M}\n")
    assert p.message == "hub 'north' is given twice in this overlay" and p.line == 4


def test_hub_without_its_id_and_bad_shapes(tmp_path: Path, base: Path) -> None:
    p = problem(tmp_path, "hubs:\n  - {name: North}\n")
    assert p.message == "a hub in an overlay is found by its id; this one has no id"
    p = problem(tmp_path, "hubs:\n  - north\n")
    assert p.message == "each of the hubs must be a mapping, got 'north'"
    p = problem(tmp_path, "hubs: {id: north}\n")
    assert "in an overlay, hubs are a list of items to add, change or remove" in p.message
    p = problem(tmp_path, "hubs:\n  - {id: north, remove: yes please}\n")
    assert p.message == "remove must be true or false, got 'yes please'"
    assert p.path == "hubs[0].remove"


# --------------------------------------------------------------------------- districts

def test_district_change_add_remove(tmp_path: Path, base: Path) -> None:
    sc = load_scenario(plan(tmp_path, """\
spokes:
  districts:
    - {district: Vale, subcentres: 9}
    - {district: Hill, remove: true}
    - {district: Coast, home_hub: north, phcs: 1}
"""))
    assert [(d.district, d.home_hub, d.subcentres, d.phcs) for d in sc.spokes.districts] == [
        ("Vale", "south", 9, 0), ("Coast", "north", 0, 1)]


def test_district_errors(tmp_path: Path, base: Path) -> None:
    p = problem(tmp_path, "spokes:\n  districts:\n    - {district: Hil, phcs: 5}\n")
    assert p.message == ("no district 'Hil' to change; did you mean 'Hill'?; to add one, "
                         "give its home_hub")
    assert p.line == 4 and p.path == "spokes.districts[0]"
    p = problem(tmp_path, "spokes:\n  districts:\n    - {district: Hill, phcs: 2, remove: true}\n")
    assert p.message == "remove: true takes only the district's key (its district), not phcs"


# --------------------------------------------------------------------------- roster lines

def test_roster_line_added_changed_removed(tmp_path: Path, base: Path) -> None:
    sc = load_scenario(plan(tmp_path, """\
hubs:
  - id: north
    roster:
      - {specialty: cardiology, days: [wed], start: "09:00", end: "13:00"}
      - {specialty: medicine, days: [mon, tue, wed, thu, fri, sat], start: "09:00", doctors: 3}
  - id: south
    roster:
      - {specialty: cardiology, days: [thu], start: "09:00", remove: true}
      - {specialty: cardiology, days: [fri], start: "09:00", end: "13:00"}
"""))
    assert roster(sc, "north") == [("medicine", (0, 1, 2, 3, 4, 5), 540, 1020, 3),
                                   ("cardiology", (0, 1), 540, 780, 1),
                                   ("cardiology", (2,), 540, 780, 1)]
    assert roster(sc, "south") == [("medicine", (0, 1, 2, 3, 4, 5), 540, 1020, 2),
                                   ("cardiology", (4,), 540, 780, 1)]


def test_the_cardiology_plan_is_six_lines_and_adds_exactly_one_line() -> None:
    path = ROOT / "scenarios" / "plans" / "igmc-cardiology-wednesday.yaml"
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and
             not ln.lstrip().startswith("#")]
    assert len(lines) <= 6
    sc = load_scenario(path)
    changes = diff_scenarios(load_scenario(ROOT / "scenarios" / "himachal-baseline.yaml"), sc)
    assert [(c.area, c.where, c.what, c.change, c.after) for c in changes
            if c.area != "scenario"] == [
        ("roster", "igmc_shimla", "cardiology wed 09:30-16:00", "added", "1 doctor")]


def test_roster_line_typo_in_its_key_is_one_problem(tmp_path: Path, base: Path) -> None:
    text = ("hubs:\n  - id: north\n    roster:\n"
            "      - {specialty: cardiology, days: [mon, tue], start: \"09:30\", doctors: 2}\n")
    p = problem(tmp_path, text)
    assert p.line == 5 and p.path == "hubs[0].roster[0]"
    assert p.message == ("no roster line 'cardiology mon,tue 09:30' at hub north to change; "
                         "did you mean 'cardiology mon,tue 09:00'?; to add one, give its end")
    p = problem(tmp_path, text.replace("[mon, tue], start: \"09:30\"", "[fri], start: \"14:00\"")
                .replace("specialty: cardiology", "specialty: cardiology"))
    assert "(cardiology lines here: cardiology mon,tue 09:00-13:00)" in p.message


def test_roster_line_errors(tmp_path: Path, base: Path) -> None:
    head = "hubs:\n  - id: north\n    roster:\n"
    p = problem(tmp_path, head + "      - {specialty: cardiology, doctors: 2}\n")
    assert p.message == ("a roster line in an overlay is found by its id or specialty, days "
                         "and start; this one has no start")
    p = problem(tmp_path, head + "      - {specialty: neurology, days: [wed], start: \"09:00\","
                " remove: true}\n")
    assert p.message == ("no roster line 'neurology wed 09:00' at hub north to remove "
                         "(no neurology line here)")


def test_a_field_typo_in_a_changed_line_is_named_by_key(tmp_path: Path, base: Path) -> None:
    p = problem(tmp_path, "hubs:\n  - id: south\n    roster:\n      - {specialty: medicine, "
                "days: working, start: \"09:00\", doctrs: 1}\n")
    assert p.file.endswith("plan.yaml") and p.line == 5
    assert p.path == "hubs[south].roster[medicine working 09:00].doctrs"
    assert p.message == "unknown key 'doctrs'; did you mean 'doctors'?"


def test_roster_lines_with_an_id(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASE.replace(
        'start: "09:00", end: "13:00", doctors: 1}\n  - id: south',
        'start: "09:00", end: "13:00", doctors: 1, id: cardio}\n  - id: south'))
    sc = load_scenario(plan(tmp_path, "hubs:\n  - id: north\n    roster:\n"
                            "      - {id: cardio, days: [mon, tue, wed]}\n"))
    assert roster(sc, "north")[1] == ("cardiology", (0, 1, 2), 540, 780, 1)
    assert sc.hubs[0].roster[1].id == "cardio"
    p = problem(tmp_path, "hubs:\n  - id: north\n    roster:\n      - {id: cardio2, days: [mon]}\n")
    assert p.message.startswith("no roster line 'cardio2' at hub north to change")
    # an id names its line, whatever else the overlay item says
    sc = load_scenario(plan(tmp_path, "hubs:\n  - id: north\n    roster:\n      - {id: cardio, "
                            "specialty: medicine, start: \"09:00\", end: \"10:00\"}\n"
                            "demand:\n  d2d:\n    specialty_mix: {replace: {medicine: 1}}\n"))
    assert roster(sc, "north")[1] == ("medicine", (0, 1), 540, 600, 1)
    (tmp_path / "twice.yaml").write_text(BASE.replace("doctors: 2}", "doctors: 2, id: x}", 1)
                                         .replace("doctors: 1}", "doctors: 1, id: x}", 1))
    with pytest.raises(ScenarioError, match=r"twice\.yaml:\d+: hubs\[0\]: roster line ids must "
                       r"be unique within a hub; repeated: \['x'\]"):
        load_scenario(tmp_path / "twice.yaml")


def test_two_lines_with_one_key_need_ids(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASE.replace(
        '      - {specialty: cardiology, days: [thu], start: "09:00", end: "13:00", doctors: 1}',
        '      - {specialty: cardiology, days: [thu], start: "09:00", end: "13:00", doctors: 1}\n'
        '      - {specialty: medicine, days: working, start: "09:00", end: "12:00"}'
    ).replace("doctors: {medicine: 2, cardiology: 1}", "doctors: {medicine: 3, cardiology: 1}"))
    p = problem(tmp_path, "hubs:\n  - id: south\n    roster:\n"
                "      - {specialty: medicine, start: \"09:00\", doctors: 1}\n")
    assert p.message == ("2 roster lines at hub south match 'medicine working 09:00'; give "
                         "them an id to tell them apart")


def test_replace_gives_a_mapping_whole(tmp_path: Path, base: Path) -> None:
    sc = load_scenario(plan(tmp_path, "hubs:\n  - id: south\n    doctors:\n      replace: "
                            "{medicine: 2, cardiology: 1}\n"
                            "demand:\n  d2d:\n    specialty_mix: {replace: {medicine: 1.0}}\n"))
    assert sc.demand.d2d is not None and sc.demand.d2d.specialty_mix == {"medicine": 1.0}


# --------------------------------------------------------------------------- --set

def test_set_keyed_paths_change_add_and_remove_rows(base: Path) -> None:
    sc = load_scenario(base)
    out = apply_overrides(sc, {
        "hubs[south].doctors.cardiology": 3,
        "hubs[north].roster[cardiology mon,tue 09:00].doctors": 2,
        "hubs[south].roster[cardiology fri 09:00]": {"end": "12:00"},
        "hubs[south].roster[cardiology thu 09:00]": "remove",
        "spokes.districts[Vale].subcentres": 7,
        "spokes.districts[Coast]": {"home_hub": "north", "phcs": 1},
        "spokes.districts[Hill]": "remove",
    })
    assert out.hubs[1].doctors["cardiology"] == 3
    assert roster(out, "north")[1] == ("cardiology", (0, 1), 540, 780, 2)
    assert roster(out, "south")[1:] == [("cardiology", (4,), 540, 720, 1)]
    assert [(d.district, d.subcentres) for d in out.spokes.districts] == [("Vale", 7),
                                                                           ("Coast", 0)]
    assert sc.hubs[1].doctors["cardiology"] == 1   # the base is untouched
    # the index form still works
    assert apply_overrides(sc, {"hubs.1.doctors.cardiology": 3}).hubs[1] == out.hubs[1].model_copy(
        update={"roster": sc.hubs[1].roster})


@pytest.mark.parametrize("key, value, message", [
    ("hubs[sout].doctors.cardiology", 2,
     "no hub 'sout' in hubs; did you mean 'south'?"),
    ("hubs[south].roster[cardiology thu 10:00].doctors", 2,
     "no roster line 'cardiology thu 10:00' in hubs[south].roster; did you mean "
     "'cardiology thu 09:00'?"),
    ("hubs[south].roster[cardiology 09:00]", "remove",
     "a roster line is named [ID] or [SPECIALTY DAYS START], e.g. [cardiology mon,tue 09:30], "
     "got [cardiology 09:00]"),
    ("demand[d2d].growth", 2, "demand is not a list addressed by key"),
    ("hubs[south]", 3, "hubs[south] is a hub: give a mapping of its fields"),
    ("hubs[west]", {"name": "W"}, "no hub 'west' to change (hubs: north, south); to add one, "
     "give its doctors, roster"),
    ("hubs[south].docters.cardiology", 2, "no such field (in override"),
    ("demand.growth.x", 2, "no such field: demand.growth is a single value"),
    ("hubs[south].roster.end", "12:00", "no such field: hubs[south].roster is a list (name "
     "an item)"),
])
def test_set_keyed_path_errors(base: Path, key: str, value: object, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        apply_overrides(load_scenario(base), {key: value})
    (p,) = err.value.problems
    assert p.file == "--set" and message in p.message, str(p)


def test_set_validation_errors_name_items_by_key(base: Path) -> None:
    with pytest.raises(ScenarioError) as err:
        apply_overrides(load_scenario(base), {"hubs[south].doctors.cardiology": 0})
    (p,) = err.value.problems
    assert p.path == "hubs[south].roster" and p.message.startswith(
        "roster puts 1 cardiology doctors on duty at once but hub 'south' has only 0")


def test_parse_path() -> None:
    assert parse_path("hubs[a b].roster.0.doctors") == ["hubs", parse_path("x[a b]")[1],
                                                        "roster", 0, "doctors"]
    assert parse_path("spokes.districts[Lahaul and Spiti].phcs")[2].text == "Lahaul and Spiti"


def test_cli_set_days_and_seed_errors_name_their_option(base: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    assert main(["run", str(base), "--days", "1", "--no-plot", "-q"]) == 2
    err = capsys.readouterr().err
    assert "--days: calendar: warmup_days (1.0) must be shorter than horizon_days (1)" in err
    assert "--set" not in err
    assert main(["run", str(base), "--seed", "-4", "--no-plot", "-q"]) == 2
    assert "--seed: seed:" in capsys.readouterr().err
    assert main(["run", str(base), "--set", "hubs[nort].name=N", "--no-plot", "-q"]) == 2
    assert "--set: hubs[nort].name: no hub 'nort' in hubs" in capsys.readouterr().err


# --------------------------------------------------------------------------- one cause, one problem

@pytest.mark.parametrize("old, new, path", [
    ('- {specialty: cardiology, days: [thu]', '- {specialty: cardiolgy, days: [thu]',
     "hubs[1].roster[1].specialty"),
    ("doctors: {medicine: 2, cardiology: 1}", "doctors: {medicine: 2, cardiolgy: 1}",
     "hubs[1].doctors.cardiolgy"),
    ("  - id: south", "  - id: sotuh", "spokes.districts[1].home_hub"),
])
def test_one_typo_gives_one_problem(tmp_path: Path, old: str, new: str, path: str) -> None:
    p = tmp_path / "typo.yaml"
    p.write_text(BASE.replace(old, new, 1))
    with pytest.raises(ScenarioError) as err:
        load_scenario(p)
    assert [x.path for x in err.value.problems] == [path]
    assert "did you mean" in err.value.problems[0].message


def test_nine_thirty_gets_a_hint(tmp_path: Path, base: Path) -> None:
    p = problem(tmp_path, "spokes:\n  hours: {start: \"9:00\", end: \"17:00\"}\n")
    assert p.message.startswith("expected a time as 'HH:MM' (two digits each); write '09:00'")
    assert p.line == 3


# --------------------------------------------------------------------------- diff and round trip

VARIANTS = {
    "doctors": {"hubs[south].doctors.cardiology": 3},
    "line added": {"hubs[north].roster[cardiology wed 09:00]": {"end": "12:00"}},
    "line changed": {"hubs[south].roster[medicine working 09:00].end": "16:00"},
    "line removed": {"hubs[north].roster[cardiology mon,tue 09:00]": "remove",
                     "hubs[north].roster[cardiology thu 09:00]": {"end": "10:00"}},
    "district": {"spokes.districts[Vale]": "remove", "spokes.districts[Dale]":
                 {"home_hub": "south", "subcentres": 3}},
    "hub removed": {"hubs[north]": "remove", "spokes.districts[Hill].home_hub": "south"},
    "mix": {"demand.d2d.specialty_mix": {"medicine": 0.7, "cardiology": 0.3},
            "routing.policy": "pooled", "demand.growth": 1.5},
    "mix shrinks": {"demand.d2d.specialty_mix": {"medicine": 1.0}},
    "order": {"hubs": "swap"},
}


def _variant(sc, name: str):
    over = dict(VARIANTS[name])
    if over == {"hubs": "swap"}:
        return sc.model_copy(update={"hubs": [sc.hubs[1], sc.hubs[0]]})
    return apply_overrides(sc, over)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_resolved_overlay_resolved_round_trip(tmp_path: Path, base: Path, name: str) -> None:
    a = load_scenario(base)
    b = _variant(a, name)
    over = as_overlay(a, b)
    merged, _, _ = merge_overlay(a.model_dump(mode="json", by_alias=True), over)
    assert merged == b.model_dump(mode="json", by_alias=True)
    # and as a plan file on the resolved base, through the loader
    (tmp_path / "resolved.yaml").write_text(yaml.safe_dump(
        a.model_dump(mode="json", by_alias=True), sort_keys=False))
    p = tmp_path / "again.yaml"
    p.write_text(yaml.safe_dump({"extends": "resolved.yaml", **over}, sort_keys=False))
    assert load_scenario(p) == b
    assert as_overlay(a, a) == {}


def test_diff_rows_in_planner_terms(base: Path) -> None:
    a = load_scenario(base)
    b = apply_overrides(a, {"hubs[south].doctors.cardiology": 3,
                            "hubs[north].roster[cardiology mon,tue 09:00].doctors": 2,
                            "hubs[north].doctors.cardiology": 2,
                            "hubs[south].roster[cardiology thu 09:00]": "remove",
                            "hubs[south].roster[cardiology fri 09:00]": {"end": "13:00"},
                            "demand.growth": 1.2, "spokes.districts[Vale].home_hub": "north",
                            "routing.policy": "pooled"})
    rows = [(c.area, c.where, c.what, c.change, c.before, c.after)
            for c in diff_scenarios(a, b)]
    assert rows == [
        ("roster", "north", "cardiology mon,tue 09:00-13:00, doctors", "changed", "1", "2"),
        ("roster", "south", "cardiology thu 09:00-13:00", "removed", "1 doctor", ""),
        ("roster", "south", "cardiology fri 09:00-13:00", "added", "", "1 doctor"),
        ("doctors", "south", "cardiology", "changed", "1", "3"),
        ("demand", "", "growth (multiplier on every rate)", "changed", "1", "1.2"),
        ("routing", "Vale", "home hub", "changed", "south", "north"),
        ("routing", "", "policy", "changed", "home_hub", "pooled"),
    ]
    assert change_rows(diff_scenarios(a, b))[0]["path"] == (
        "hubs[north].roster[cardiology mon,tue 09:00].doctors")
    text = format_changes(diff_scenarios(a, b), "base", "plan")
    assert text.splitlines()[:3] == [
        "plan against base: 7 changes", "roster",
        "  north  ~ cardiology mon,tue 09:00-13:00, doctors: 1 -> 2"]
    assert format_changes([], "a", "b") == "b is the same scenario as a"
    # a report reads scenario.resolved.yaml files: the same rows from those dicts
    from sim.results.output import scenario_yaml

    assert diff_scenarios(yaml.safe_load(scenario_yaml(a)),
                          yaml.safe_load(scenario_yaml(b))) == diff_scenarios(a, b)


def test_cli_diff_prints_rows_csv_and_an_overlay_that_loads_back(
        tmp_path: Path, base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = plan(tmp_path, "hubs:\n  - id: north\n    roster:\n"
             "      - {specialty: cardiology, days: [wed], start: \"09:00\", end: \"13:00\"}\n")
    assert main(["diff", str(base), str(p)]) == 0
    out = capsys.readouterr().out
    assert "  north  + cardiology wed 09:00-13:00: 1 doctor" in out
    assert main(["diff", str(base), str(p), "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "roster,north,cardiology wed 09:00-13:00,added,,1 doctor,"
        "hubs[north].roster[cardiology wed 09:00]")
    assert main(["diff", str(base), str(base), "--set", "demand.growth=2", "--overlay"]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert data == {"extends": os.path.relpath(base), "demand": {"growth": 2.0}}
    again = tmp_path / "again.yaml"
    again.write_text(yaml.safe_dump({**data, "extends": "base.yaml"}))
    assert load_scenario(again) == apply_overrides(load_scenario(base), {"demand.growth": 2})
    assert main(["diff", str(base), str(tmp_path / "none.yaml")]) == 2


# --------------------------------------------------------------------------- sweep folders

def test_sweep_folders_stay_short_with_many_keys(tmp_path: Path, base: Path) -> None:
    from sim.experiment.runner import point_folder, sweep

    sc = load_scenario(base)
    grid: dict[str, list[object]] = {
        f"hubs[north].roster[medicine working 09:00].{k}": [v] for k, v in
        (("doctors", 2), ("end", "17:00"), ("start", "09:00"))}
    grid.update({f"spokes.districts[{d}].{f}": [n] for d in ("Hill", "Vale")
                 for f, n in (("lat", 30.0), ("lon", 77.0))})
    grid["demand.growth"] = [1.0, 1.1]
    grid["queue.session_end"] = ["carry"]
    assert sum(len(k) for k in grid) > 255   # one folder named by the whole text fails
    res = sweep(sc, grid, 1, out=tmp_path / "sw", records=False)
    meta = json.loads((tmp_path / "sw" / "run.json").read_text())
    folders = [pt["folder"] for pt in meta["points"]]
    assert len(folders) == 2 and len(set(folders)) == 2
    assert all(len(f) <= 60 and (tmp_path / "sw" / f / "summary.csv").exists() for f in folders)
    assert folders == ["p01-growth=1.0", "p02-growth=1.1"]   # the values that vary
    assert [pt["settings"]["demand.growth"] for pt in meta["points"]] == [1.0, 1.1]
    assert set(res.points) == {pt["label"] for pt in meta["points"]}
    units = [p.name for p in (tmp_path / "sw" / ".units").iterdir()]
    assert len(units) == 2 and all(len(u) <= 80 for u in units)
    # every key varying: each named by its last part, cut with a hash when long
    many = {k: [v[0], v[0]] for k, v in grid.items()}
    point = {k: v[0] for k, v in grid.items()}
    name = point_folder(1, 2, point, many)
    assert name.startswith("p01-doctors=2,end=17_00,start=09_00,lat=30.0-") and len(name) <= 53
    other = point_folder(1, 2, {**point, "queue.session_end": "drop"}, many)
    assert other != name and other[:-8] == name[:-8]
    assert point_folder(3, 12, {"spokes.districts[Hill]": "remove"},
                        {"spokes.districts[Hill]": ["remove", {}]}) == "p03-districts_Hill_=remove"


# --------------------------------------------------------------------------- the README's examples

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_plan_examples_validate(tmp_path: Path) -> None:
    import re

    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", README, flags=re.S)
              if b.startswith("extends: ../himachal-baseline.yaml")]
    assert len(blocks) >= 2
    for i, block in enumerate(blocks):
        p = tmp_path / f"plan{i}.yaml"
        p.write_text(block.replace("../himachal-baseline.yaml",
                                   str(ROOT / "scenarios" / "himachal-baseline.yaml")))
        load_scenario(p)
    bundled = ROOT / "scenarios" / "plans" / "igmc-cardiology-wednesday.yaml"
    assert blocks[0] in bundled.read_text()


def test_readme_diff_and_folder_examples_are_what_the_code_prints(
        capsys: pytest.CaptureFixture[str]) -> None:
    from sim.experiment.runner import point_folder

    block = README.split("$ hubsim diff ", 1)[1].split("```", 1)[0]
    command, expected = block.split("\n", 1)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert main(["diff", *command.split()]) == 0
    finally:
        os.chdir(cwd)
    assert capsys.readouterr().out == expected
    key = "hubs[igmc_shimla].roster[cardiology mon,tue 09:30].doctors"
    flat = " ".join(README.split())
    assert f"`{point_folder(2, 4, {key: 2}, {key: [1, 2, 3, 4]})}` for `{key}=2`" in flat
    growth = point_folder(4, 4, {"demand.growth": 1.5, "routing.policy": "pooled"},
                          {"demand.growth": [1, 1.5], "routing.policy": ["home_hub", "pooled"]})
    assert f"`{growth}`" in README


def test_a_misspelt_definition_is_one_problem_naming_its_other_uses(tmp_path: Path) -> None:
    p = tmp_path / "spec.yaml"
    p.write_text(BASE.replace("  cardiology: {consult:", "  cardiolgy: {consult:"))
    with pytest.raises(ScenarioError) as err:
        load_scenario(p)
    (prob,) = err.value.problems
    assert prob.path == "hubs[0].doctors.cardiology" and prob.line == 9
    assert prob.message.startswith("specialty 'cardiology' is not defined; did you mean "
                                   "'cardiolgy'?")
    assert prob.message.endswith("(also at hubs[0].roster[1].specialty, "
                                 "hubs[1].doctors.cardiology, hubs[1].roster[1].specialty "
                                 "and 1 more)")


def test_overlay_problems_come_in_line_order(tmp_path: Path, base: Path) -> None:
    p = plan(tmp_path, "hubs:\n  - id: north\n    roster:\n      - {specialty: cardiology, "
             "days: [mon, tue], start: \"09:30\", doctors: 2}\n  - id: sotuh\n    roster: []\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(p)
    assert [(x.line, x.path) for x in err.value.problems] == [(5, "hubs[0].roster[0]"),
                                                               (6, "hubs[1]")]


def test_readme_set_examples_validate_on_the_baseline() -> None:
    import shlex

    from sim.commands.common import _load_with

    block = README.split("key in brackets, as in plan files", 1)[1].split("```sh\n", 1)[1]
    block = block.split("```", 1)[0].replace("\\\n", " ")
    commands = [shlex.split(ln, comments=True) for ln in block.splitlines() if ln.strip()]
    assert len(commands) >= 6 and all(c[:2] == ["hubsim", "run"] for c in commands)
    for argv in commands:
        sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
        _load_with(str(ROOT / "scenarios" / "himachal-baseline.yaml"), sets=sets)


def test_round_trip_over_random_edits(tmp_path: Path) -> None:
    """Any valid mix of keyed edits: the overlay from as_overlay rebuilds it exactly."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    a = load_scenario(_write_base(tmp_path))
    days = st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat"]), min_size=1,
                    max_size=3, unique=True)
    edit = st.one_of(
        st.tuples(st.just("pool"), st.sampled_from(["north", "south"]),
                  st.sampled_from(["medicine", "cardiology"]), st.integers(2, 4)),
        st.tuples(st.just("add"), st.sampled_from(["north", "south"]), days,
                  st.sampled_from(["13:00", "14:00", "15:00"])),
        st.tuples(st.just("drop"), st.sampled_from(["north", "south"]), st.integers(0, 3)),
        st.tuples(st.just("district"), st.sampled_from(["Hill", "Vale", "Dale"]),
                  st.integers(0, 5)),
    )

    valid = []

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
              derandomize=True)
    @given(st.lists(edit, max_size=6))
    def check(edits: list[tuple]) -> None:
        over: dict[str, object] = {}
        for e in edits:
            if e[0] == "pool":
                over[f"hubs[{e[1]}].doctors.{e[2]}"] = e[3]
            elif e[0] == "add":
                over[f"hubs[{e[1]}].roster[cardiology {','.join(e[2])} {e[3]}]"] = {
                    "end": "16:00"}
            elif e[0] == "drop":
                hub = next(h for h in a.hubs if h.id == e[1])
                if e[2] < len(hub.roster) and hub.roster[e[2]].specialty == "cardiology":
                    line = hub.roster[e[2]]
                    days_ = ",".join(["mon", "tue", "wed", "thu", "fri", "sat", "sun"][d]
                                     for d in line.weekdays)
                    over[f"hubs[{e[1]}].roster[cardiology {days_} 09:00]"] = "remove"
            else:
                over[f"spokes.districts[{e[1]}]"] = {"home_hub": "north", "phcs": e[2]}
        try:
            b = apply_overrides(a, over)
        except ScenarioError:
            return  # an invalid mix (e.g. more on duty than registered) is not a scenario
        merged, _, _ = merge_overlay(a.model_dump(mode="json", by_alias=True), as_overlay(a, b))
        assert merged == b.model_dump(mode="json", by_alias=True)
        valid.append(len(over))

    check()
    assert len(valid) >= 20 and max(valid) >= 3   # most examples were real multi-edit plans


def _write_base(tmp_path: Path) -> Path:
    p = tmp_path / "base.yaml"
    p.write_text(BASE, encoding="utf-8")
    return p
