"""``hubsim new-state``: a scenario from a planner's tables, every number sourced."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import sim
from sim.cli import main
from sim.engine.demand import expected_arrivals
from sim.scenario.loader import ScenarioError, load_scenario
from sim.scenario.newstate import TABLES, Options, scenario_text

TABLE_TEXT = {
    "districts": """district,home_hub,subcentres,phcs,population,lat,lon,source
North,hub_n,40,20,"500,000",31.1,77.1,Census 2011 and the state HWC list
South,hub_s,30,10,300000,30.5,77.3,ASSUMPTION: counts read off a map
""",
    "hubs": """hub,name,district,roster,doctors_medicine,doctors_paediatrics,source
hub_n,North medical college,North,weekly,6,2,state notice 2020
hub_s,South district hospital,South,all-registered,3,1,
""",
    "demand": """district,d2d_per_day,opd_per_day,source
North,120,10,state dashboard Aug 2020
South,30,0,state dashboard Aug 2020
""",
    "specialties": """specialty,share,consult_mean_min,consult_sd_min,source
medicine,0.9,9,6,state dashboard Aug 2020
paediatrics,0.1,10,,state dashboard Aug 2020
""",
    "rosters": """template,specialty,days,start,end,doctors,source
weekly,medicine,working,09:30,16:00,4,state notice 2020
weekly,paediatrics,mon wed fri,09:30,13:00,all,state notice 2020
""",
}


def write_tables(folder: Path, **changes: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**TABLE_TEXT, **changes}.items():
        if text:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def build(tmp_path: Path, folder: Path) -> tuple[str, sim.Scenario]:
    text = scenario_text(folder, Options(name="small", days=14, warmup=2))
    out = tmp_path / "small.yaml"
    tmp_path.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text, load_scenario(out)


def test_new_state_builds_validates_and_runs(tmp_path: Path) -> None:
    text, sc = build(tmp_path, write_tables(tmp_path / "t"))
    assert [h.id for h in sc.hubs] == ["hub_n", "hub_s"]
    north, south = sc.spokes.districts
    assert (north.population, north.phcs, north.d2d_per_day, south.d2d_per_day) == (
        500_000, 20, 120, 30)
    n_roster = {(s.specialty, s.days if isinstance(s.days, str) else tuple(s.days), s.doctors)
                for s in sc.hubs[0].roster}
    assert n_roster == {("medicine", "working", 4), ("paediatrics", ("mon", "wed", "fri"), 2)}
    assert {(s.specialty, s.doctors) for s in sc.hubs[1].roster} == {("medicine", 3),
                                                                     ("paediatrics", 1)}
    assert sc.specialties["paediatrics"].consult.sd == pytest.approx(10 * 2 / 3)
    # 12 open days of 160 requests (Sundays closed)
    assert expected_arrivals(sc) == pytest.approx(12 * 160)
    rec = sim.simulate(sc, seed=1).records
    assert len(rec.id) > 11 * 160 and (rec.outcome == 0).mean() > 0.9
    # every number written carries FACT or ASSUMPTION and, from a table, its row and column
    for line in text.splitlines():
        body = line.split("#")[0]
        if re.search(r":\s*-?\d", body) or re.search(r"doctors: \d", body):
            assert re.search(r"# (FACT|ASSUMPTION)", line), line
    assert "# districts.csv row 2: Census 2011 and the state HWC list" in text
    assert "phcs: 20  # FACT (districts.csv row 2, column phcs)" in text
    assert "# districts.csv row 3: ASSUMPTION: counts read off a map" in text
    assert "phcs: 10  # ASSUMPTION (districts.csv row 3, column phcs)" in text
    assert "# hubs.csv row 3: no source given" in text
    assert '"medicine": 3  # ASSUMPTION (hubs.csv row 3, column doctors_medicine)' in text


def test_new_state_reads_an_excel_workbook(tmp_path: Path) -> None:
    import csv
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, text in TABLE_TEXT.items():
        sheet = book.create_sheet(name)
        for row in csv.reader(io.StringIO(text)):
            sheet.append(row)
    book.save(tmp_path / "state.xlsx")
    text, sc = build(tmp_path, tmp_path / "state.xlsx")
    assert "(state.xlsx[districts] row 2, column phcs)" in text
    _, from_csv = build(tmp_path / "csv", write_tables(tmp_path / "t"))
    assert sc.model_dump() == from_csv.model_dump()


@pytest.mark.parametrize(("changes", "problem"), [
    ({"districts": TABLE_TEXT["districts"].replace("North,hub_n", "North,hub_x")},
     r"districts.csv:2: home_hub: hub 'hub_x' is not in the hubs table"),
    ({"districts": TABLE_TEXT["districts"].replace(",30,10,", ",3o,10,")},
     r"districts.csv:3: subcentres: expected a number, got '3o'"),
    ({"districts": TABLE_TEXT["districts"].replace(",30.5,", ",inf,")},
     r"districts.csv:3: lat: expected a number, got 'inf'"),
    ({"demand": TABLE_TEXT["demand"].replace("South,30,", "South,-3,")},
     r"demand.csv:3: d2d_per_day: expected a number >= 0, got '-3'"),
    ({"hubs": TABLE_TEXT["hubs"].replace(",weekly,", ",weakly,")},
     r"hubs.csv:2: roster: roster template 'weakly' is not in the rosters table"),
    ({"hubs": TABLE_TEXT["hubs"].replace("doctors_paediatrics", "doctors_paediatric")},
     r"hubs.csv:2: doctors_paediatric: specialty 'paediatric' is not in the specialties"),
    ({"rosters": TABLE_TEXT["rosters"].replace(",4,state", ",7,state")},
     r"rosters.csv:2: doctors: puts 7 medicine doctors on duty but hub 'hub_n' has 6"),
    ({"rosters": TABLE_TEXT["rosters"].replace("working,09:30", "working,9:3")},
     r"rosters.csv:2: start: expected a time as 'HH:MM'"),
    ({"specialties": TABLE_TEXT["specialties"].replace("0.1,10", "0.2,10")},
     r"specialties.csv: share: shares sum to 1.1, not 1"),
    ({"demand": ""}, r"demand.csv: table missing"),
    ({"demand": "district,d2d_per_day\nNorth,3\n"},
     r"demand.csv: opd_per_day: column missing"),
    ({"demand": TABLE_TEXT["demand"].replace("South,30,0,", "Sooth,30,0,")},
     r"demand.csv:3: district: district 'Sooth' is not in the districts table"),
    ({"districts": TABLE_TEXT["districts"].replace("lon,source", "lon,sorce")},
     r"districts.csv:1: sorce: unknown column"),
])
def test_bad_tables_name_file_row_and_column(tmp_path: Path, changes: dict,
                                             problem: str) -> None:
    folder = write_tables(tmp_path / "t", **changes)
    with pytest.raises(ScenarioError, match=problem):
        scenario_text(folder, Options())


def test_one_mistake_one_problem(tmp_path: Path) -> None:
    folder = write_tables(tmp_path / "t", districts=TABLE_TEXT["districts"].replace(
        "North,hub_n", "North,hub_x"))
    with pytest.raises(ScenarioError) as info:
        scenario_text(folder, Options())
    assert len(info.value.problems) == 1


def test_cli_new_state_writes_a_valid_file_or_exits_2(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    folder = write_tables(tmp_path / "t")
    out = tmp_path / "made.yaml"
    assert main(["new-state", str(folder), "--name", "made", "--out", str(out),
                 "--start-date", "2020-04-06", "--days", "10", "--warmup", "1"]) == 0
    assert load_scenario(out).calendar.start_weekday == "mon"
    assert "valid" in capsys.readouterr().out
    shutil.rmtree(folder)
    write_tables(folder, hubs=TABLE_TEXT["hubs"].replace(",weekly,", ",weakly,"))
    assert main(["new-state", str(folder), "--out", str(tmp_path / "bad.yaml")]) == 2
    err = capsys.readouterr().err
    assert "hubs.csv:2: roster:" in err and "Traceback" not in err
    assert main(["new-state", str(tmp_path / "nowhere")]) == 2
    assert "no such folder or workbook" in capsys.readouterr().err


def test_tables_documented_in_the_module_match_the_reader() -> None:
    import sim.scenario.newstate as ns

    for name, (required, _) in TABLES.items():
        assert f"``{name}``" in (ns.__doc__ or "")
        for col in required:
            assert col in (ns.__doc__ or ""), (name, col)
