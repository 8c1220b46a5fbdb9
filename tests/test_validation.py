"""Every validation error issue 2 lists, checked by its message, field path and YAML line.

Each bad file is the small valid scenario ``BASE`` with one edit, written into tmp_path,
so the expected line number is known from the text itself.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.scenario.loader import ScenarioError, load_scenario

BASE = """\
name: tiny
seed: 7
calendar:
  horizon_days: 3
  warmup_days: 0
specialties:
  medicine:
    consult: {kind: exponential, mean: 10}
  cardiology:
    consult: {kind: deterministic, value: 15}
hubs:
  - id: shimla
    doctors: {medicine: 2, cardiology: 1}
    roster:
      - {specialty: medicine, days: all, start: "09:30", end: "16:00", doctors: 2}
      - {specialty: cardiology, days: [mon, tue], start: "09:30", end: "16:00", doctors: 1}
spokes:
  hours: {days: all, start: "09:00", end: "17:00"}
  districts:
    - {district: kangra, home_hub: shimla, subcentres: 3, phcs: 2}
demand:
  d2d:
    per_spoke_per_day: {subcentre: 2, phc: 4}
    specialty_mix: {medicine: 0.75, cardiology: 0.25}
"""


def edit(old: str, new: str) -> str:
    """BASE with exactly one occurrence of ``old`` replaced."""
    assert BASE.count(old) == 1, f"{old!r} must occur once in BASE"
    return BASE.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing ``needle``."""
    hits = [i + 1 for i, ln in enumerate(text.splitlines()) if needle in ln]
    assert len(hits) == 1, hits
    return hits[0]


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def problems_of(tmp_path: Path, text: str, match: str) -> list:
    """Load ``text``; it must fail with a message matching ``match``; return the problems."""
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError, match=match) as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    return info.value.problems


def the_problem(problems: list, pattern: str):
    hits = [p for p in problems if re.search(pattern, p.message)]
    assert len(hits) == 1, [str(p) for p in problems]
    return hits[0]


def test_base_is_valid(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, BASE, "ok.yaml"))
    assert sc.hub_ids == ["shimla"]
    assert sc.hubs[0].roster[0].start == 9 * 60 + 30


def test_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    text = edit("  warmup_days: 0\n", "  warmup_days: 0: 1\n")
    p = the_problem(problems_of(tmp_path, text, "YAML syntax error"), "YAML syntax error")
    assert p.line == line_of(text, "warmup_days")


def test_unclosed_bracket_is_a_syntax_error(tmp_path: Path) -> None:
    text = edit("phcs: 2}", "phcs: 2")
    p = the_problem(problems_of(tmp_path, text, "YAML syntax error"), "YAML syntax error")
    assert p.line is not None and p.line >= line_of(text, "district: kangra")


def test_unknown_key_suggests_the_closest_and_gives_the_line(tmp_path: Path) -> None:
    text = edit("warmup_days: 0", "warmup_dayz: 0")
    problems = problems_of(tmp_path, text,
                           r"unknown key 'warmup_dayz'; did you mean 'warmup_days'\?")
    p = the_problem(problems, "unknown key")
    assert p.path == "calendar.warmup_dayz"
    assert p.line == line_of(text, "warmup_dayz")


def test_unknown_key_in_a_list_item(tmp_path: Path) -> None:
    text = edit("phcs: 2}", "phc: 2}")
    p = the_problem(problems_of(tmp_path, text, "did you mean 'phcs'"), "unknown key")
    assert p.path == "spokes.districts[0].phc"
    assert p.line == line_of(text, "district: kangra")


def test_unknown_key_inside_a_distribution(tmp_path: Path) -> None:
    text = edit("{kind: exponential, mean: 10}", "{kind: exponential, maen: 10}")
    p = the_problem(problems_of(tmp_path, text, "did you mean 'mean'"), "unknown key")
    assert p.line == line_of(text, "maen")


def test_wrong_type_number(tmp_path: Path) -> None:
    text = edit("horizon_days: 3", "horizon_days: three")
    p = the_problem(problems_of(tmp_path, text, "valid integer"), "valid integer")
    assert p.path == "calendar.horizon_days"
    assert p.line == line_of(text, "horizon_days")
    assert "three" in p.message


def test_wrong_type_list_expected(tmp_path: Path) -> None:
    text = edit("  - {district: kangra, home_hub: shimla, subcentres: 3, phcs: 2}\n",
                "    kangra: {home_hub: shimla}\n")
    p = the_problem(problems_of(tmp_path, text, "valid list"), "valid list")
    assert p.path == "spokes.districts"
    assert p.line == line_of(text, "districts:")


@pytest.mark.parametrize(("old", "new", "path"), [
    ("subcentres: 3", "subcentres: -3", "spokes.districts[0].subcentres"),
    ("doctors: {medicine: 2,", "doctors: {medicine: -2,", "hubs[0].doctors.medicine"),
    ("per_spoke_per_day: {subcentre: 2", "per_spoke_per_day: {subcentre: -2",
     "demand.d2d.per_spoke_per_day.subcentre"),
])
def test_negative_counts(tmp_path: Path, old: str, new: str, path: str) -> None:
    text = edit(old, new)
    p = the_problem(problems_of(tmp_path, text, "greater than or equal to 0"), "greater than")
    assert p.path == path
    assert p.line == line_of(text, new)


def test_roster_needs_at_least_one_doctor(tmp_path: Path) -> None:
    text = edit('"16:00", doctors: 2}', '"16:00", doctors: 0}')
    p = the_problem(problems_of(tmp_path, text, "greater than or equal to 1"), "greater than")
    assert p.path == "hubs[0].roster[0].doctors"


def test_session_end_before_start(tmp_path: Path) -> None:
    text = edit('start: "09:30", end: "16:00", doctors: 2',
                'start: "16:00", end: "09:30", doctors: 2')
    p = the_problem(problems_of(tmp_path, text, "end time 09:30 is not after start time 16:00"),
                    "not after")
    assert p.path == "hubs[0].roster[0]"
    assert p.line == line_of(text, "specialty: medicine")


def test_opening_hours_end_before_start(tmp_path: Path) -> None:
    text = edit('start: "09:00", end: "17:00"', 'start: "17:00", end: "09:00"')
    p = the_problem(problems_of(tmp_path, text, "end time 09:00 is not after start time 17:00"),
                    "not after")
    assert p.path == "spokes.hours"


def test_warmup_not_shorter_than_horizon(tmp_path: Path) -> None:
    text = edit("warmup_days: 0", "warmup_days: 3")
    problems_of(tmp_path, text, r"warmup_days \(3.0\) must be shorter than horizon_days \(3\)")


def test_undefined_specialty_in_roster(tmp_path: Path) -> None:
    text = edit("{specialty: cardiology, days", "{specialty: cardio, days")
    problems = problems_of(tmp_path, text, "specialty 'cardio' is not defined")
    p = the_problem(problems, "'cardio' is not defined")
    assert "did you mean 'cardiology'" in p.message
    assert p.path == "hubs[0].roster[1].specialty"
    assert p.line == line_of(text, "cardio,")


def test_undefined_specialty_in_demand(tmp_path: Path) -> None:
    text = edit("cardiology: 0.25}", "neurology: 0.25}")
    p = the_problem(problems_of(tmp_path, text, "specialty 'neurology' is not defined"),
                    "neurology")
    assert p.path == "demand.d2d.specialty_mix.neurology"
    assert p.line == line_of(text, "specialty_mix")


def test_undefined_specialty_in_doctor_pool(tmp_path: Path) -> None:
    text = edit("cardiology: 1}", "cardiology: 1, derma: 2}")
    p = the_problem(problems_of(tmp_path, text, "specialty 'derma' is not defined"), "derma")
    assert p.path == "hubs[0].doctors.derma"


def test_undefined_home_hub(tmp_path: Path) -> None:
    text = edit("home_hub: shimla", "home_hub: shimal")
    problems = problems_of(tmp_path, text, "hub 'shimal' is not defined")
    assert len(problems) == 1, "a typo in home_hub must not cause follow-on complaints"
    p = problems[0]
    assert "did you mean 'shimla'" in p.message
    assert p.path == "spokes.districts[0].home_hub"
    assert p.line == line_of(text, "shimal")


def test_undefined_district_in_opd_demand(tmp_path: Path) -> None:
    text = BASE + ("  opd:\n    per_day: {kangr: 5}\n"
                   "    specialty_mix: {medicine: 1.0}\n")
    p = the_problem(problems_of(tmp_path, text, "district 'kangr' is not defined"), "kangr")
    assert "did you mean 'kangra'" in p.message
    assert p.path == "demand.opd.per_day.kangr"


def test_probabilities_not_summing_to_one(tmp_path: Path) -> None:
    text = edit("{medicine: 0.75, cardiology: 0.25}", "{medicine: 0.7, cardiology: 0.25}")
    p = the_problem(problems_of(tmp_path, text, "probabilities sum to 0.95, not 1"), "sum to")
    assert p.path == "demand.d2d.specialty_mix"
    assert p.line == line_of(text, "specialty_mix")


def test_demand_for_a_specialty_no_roster_serves(tmp_path: Path) -> None:
    text = edit('      - {specialty: cardiology, days: [mon, tue], start: "09:30", '
                'end: "16:00", doctors: 1}\n', "")
    p = the_problem(problems_of(tmp_path, text, "no hub's roster ever serves it"), "serves")
    assert "'cardiology'" in p.message
    assert p.path == "demand.d2d.specialty_mix.cardiology"
    assert p.line == line_of(text, "specialty_mix")


def test_home_hub_routing_to_a_hub_that_never_serves_the_specialty(tmp_path: Path) -> None:
    """Each (hub, specialty) a home hub never serves is one problem naming every district
    it leaves without that specialty (one cause, one problem), the specialty and the hub."""
    hub = ('  - id: tanda\n    doctors: {medicine: 1}\n    roster:\n'
           '      - {specialty: medicine, days: all, start: "09:30", end: "16:00"}\n')
    text = edit("spokes:\n", hub + "spokes:\n").replace(
        "    - {district: kangra, home_hub: shimla, subcentres: 3, phcs: 2}\n",
        "    - {district: una, home_hub: tanda, subcentres: 1, phcs: 0}\n"
        "    - {district: kangra, home_hub: shimla, subcentres: 3, phcs: 2}\n"
        "    - {district: chamba, home_hub: tanda, subcentres: 0, phcs: 1}\n")
    problems = problems_of(tmp_path, text, "whose roster never serves")
    (p,) = [p for p in problems if "never serves" in p.message]
    assert "chamba and una send 'cardiology' requests (d2d) to hub 'tanda'" in p.message
    assert p.path == "demand.d2d.specialty_mix.cardiology"


def test_roster_exceeding_the_registered_pool(tmp_path: Path) -> None:
    text = edit("doctors: {medicine: 2,", "doctors: {medicine: 1,")
    p = the_problem(problems_of(tmp_path, text, "roster puts 2 medicine doctors on duty at once"),
                    "roster puts")
    assert "has only 1 registered" in p.message
    assert p.path == "hubs[0].roster"
    assert p.line == line_of(text, "roster:")


def test_overlapping_sessions_add_up_against_the_pool(tmp_path: Path) -> None:
    extra = ('      - {specialty: cardiology, days: [tue], start: "12:00", end: "14:00", '
             'doctors: 1}\n')
    text = edit("spokes:\n", extra + "spokes:\n")
    problems_of(tmp_path, text, "roster puts 2 cardiology doctors on duty at once")


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = edit("  warmup_days: 0\n", "  warmup_days: 0\n  horizon_days: 4\n")
    p = the_problem(problems_of(tmp_path, text, "duplicate key"), "duplicate key")
    assert p.path == "calendar.horizon_days"
    assert p.line == line_of(text, "horizon_days: 4")


def test_empty_file_and_missing_file(tmp_path: Path) -> None:
    problems_of(tmp_path, "", "the file is empty")
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_missing_required_section(tmp_path: Path) -> None:
    text = BASE[: BASE.index("demand:")]
    p = the_problem(problems_of(tmp_path, text, "required field is missing"), "required")
    assert p.path == "demand"


def test_many_problems_reported_together(tmp_path: Path) -> None:
    text = edit("horizon_days: 3", "horizon_days: three").replace("phcs: 2}", "phcs: -2}")
    problems = problems_of(tmp_path, text, r"invalid scenario \(2 problems\)")
    assert {p.path for p in problems} == {"calendar.horizon_days", "spokes.districts[0].phcs"}


# ---- the CLI: exit 2, file + field + line on stderr, never a traceback -----------------

def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_validate_bad_file_exits_2_without_traceback(tmp_path: Path) -> None:
    text = edit("warmup_days: 0", "warmup_dayz: 0")
    path = write(tmp_path, text)
    proc = run_cli("validate", str(path))
    assert proc.returncode == 2
    err = proc.stderr
    assert "Traceback" not in err + proc.stdout
    assert f"{path}:{line_of(text, 'warmup_dayz')}:" in err
    assert "calendar.warmup_dayz" in err
    assert "did you mean 'warmup_days'" in err


def test_cli_run_bad_file_exits_2_without_traceback(tmp_path: Path) -> None:
    text = edit("{medicine: 0.75, cardiology: 0.25}", "{medicine: 0.7, cardiology: 0.25}")
    path = write(tmp_path, text)
    proc = run_cli("run", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{path}:{line_of(text, 'specialty_mix')}:" in proc.stderr
    assert "demand.d2d.specialty_mix" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_cli_validate_several_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, BASE, "good.yaml")
    bad = write(tmp_path, edit("doctors: {medicine: 2,", "doctors: {medicine: 1,"), "bad.yaml")
    assert main(["validate", str(good)]) == 0
    assert "ok" in capsys.readouterr().out
    assert main(["validate", str(good), str(bad)]) == 2
    out = capsys.readouterr()
    assert f"{good}: ok" in out.out
    assert str(bad) in out.err and "hubs[0].roster" in out.err
    assert str(good) not in out.err


def test_cli_syntax_error_and_missing_file(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    text = edit("  warmup_days: 0\n", "  warmup_days: 0: 1\n")
    path = write(tmp_path, text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line_of(text, 'warmup_days')}: YAML syntax error" in err
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_cli_bad_override_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, BASE, "good.yaml")
    code = main(["run", str(path), "--out", str(tmp_path / "o"), "--set",
                 "calendar.horizon_days=-1", "--no-plot", "-q"])
    assert code == 2
    assert "calendar.horizon_days" in capsys.readouterr().err


def test_cli_schema_prints_valid_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["type"] == "object"
    assert {"calendar", "specialties", "hubs", "spokes", "demand"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
