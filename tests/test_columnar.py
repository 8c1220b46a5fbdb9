"""Parquet results, sim.results.open and the Excel workbook."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

import sim.results
from sim.cli import main
from sim.commands.common import WORKBOOK_FILE
from sim.engine.records import COLUMNS
from sim.experiment import compare, run_experiment, sweep
from sim.present.workbook import WORKBOOK_NAME, header, unit, write_workbook
from sim.results import columnar
from sim.results.output import read_records
from sim.scenario.loader import apply_overrides
from sim.scenario.textbook import queue_scenario


@pytest.fixture(scope="module")
def small():
    return queue_scenario(2, 0.15, 10, horizon_days=3, warmup_days=0.5, patience_mean=60,
                          name="small")


def test_records_round_trip_every_replication(small, tmp_path: Path) -> None:
    exp = run_experiment(small, 3, out=tmp_path, plot=False, records="all")
    res = sim.results.open(tmp_path)
    assert res.record_sets() == [("small", 0), ("small", 1), ("small", 2)]
    # replication 0: the Parquet copy holds exactly the CSV's rows (CSV keeps 4 decimals)
    pq0 = columnar.read_records(columnar.records_path(tmp_path, "small", 0))
    csv0 = read_records(tmp_path / "records.csv.gz")
    assert list(pq0) == list(COLUMNS)
    for c in COLUMNS:
        if pq0[c].dtype.kind == "f":
            np.testing.assert_allclose(pq0[c], csv0[c], atol=5e-5)
        else:
            assert (pq0[c] == csv0[c]).all(), c
    assert exp.first is not None
    np.testing.assert_array_equal(pq0["start"], exp.first.records.start)  # exact floats
    # the metadata names the table, the schema version and the unit
    meta = columnar.file_metadata(columnar.records_path(tmp_path, "small", 2))
    assert meta["schema_version"] == columnar.SCHEMA_VERSION
    assert (meta["table"], meta["scenario"], meta["replication"]) == ("records", "small", 2)
    # replications differ, and the folder reads as one Hive-partitioned dataset
    r1, r2 = res.records(replication=1), res.records(replication=2)
    assert len(r1) != len(r2) or not np.array_equal(r1["arrival"], r2["arrival"])
    dataset = ds.dataset(tmp_path / "parquet" / "records", partitioning="hive")
    assert dataset.count_rows() == sum(len(res.records(replication=i)) for i in range(3))
    one = dataset.to_table(filter=ds.field("replication") == 1).num_rows
    assert one == len(r1)


def test_default_keeps_replication_0_and_none_keeps_nothing(small, tmp_path: Path) -> None:
    run_experiment(small, 2, out=tmp_path / "first", plot=False)
    assert sim.results.open(tmp_path / "first").record_sets() == [("small", 0)]
    run_experiment(small, 2, out=tmp_path / "none", plot=False, records="none")
    assert not (tmp_path / "none" / "parquet" / "records").exists()
    assert not (tmp_path / "none" / "records.csv.gz").exists()
    with pytest.raises(ValueError, match="records must be one of none, first, all"):
        run_experiment(small, 2, out=tmp_path / "bad", records="every")


def test_resume_with_records_all_recomputes_only_missing_records(small, tmp_path: Path) -> None:
    run_experiment(small, 3, out=tmp_path, plot=False, records="all")
    columnar.records_path(tmp_path, "small", 1).unlink()
    again = run_experiment(small, 3, out=tmp_path, plot=False, records="all")
    assert (again.computed, again.resumed) == (1, 2)
    assert columnar.records_path(tmp_path, "small", 1).exists()


def test_open_compare_and_sweep(small, tmp_path: Path) -> None:
    three = apply_overrides(small, {"hubs.0.doctors.medicine": 3,
                                    "hubs.0.roster.0.doctors": 3, "name": "three"})
    cmp = compare(small, [three], 2, out=tmp_path / "cmp", records="all")
    res = sim.results.open(tmp_path / "cmp")
    assert res.kind == "compare"
    assert list(res.labels) == ["small", "three"]
    pd.testing.assert_frame_equal(res.comparison.reset_index(drop=True),
                                  cmp.comparison.reset_index(drop=True), check_dtype=False)
    assert set(res.summary["scenario"]) == {"small", "three"}
    assert list(res.replications["scenario"].unique()) == ["small", "three"]
    assert len(res.replications) == len(cmp.replications)
    assert res.record_sets() == [("small", 0), ("small", 1), ("three", 0), ("three", 1)]
    assert res.scenario("three").hubs[0].roster[0].doctors == 3
    # the CSVs alone open the same way (a folder from before Parquet)
    shutil.rmtree(tmp_path / "cmp" / "parquet")
    old = sim.results.open(tmp_path / "cmp")
    assert set(old.summary["scenario"]) == {"small", "three"}
    assert old.summary["group"].map(type).eq(str).all()
    pd.testing.assert_frame_equal(old.comparison, res.comparison, check_dtype=False,
                                  check_exact=False)
    assert old.record_sets() == [("small", 0), ("three", 0)]
    with pytest.raises(FileNotFoundError, match="no records of 'three' replication 1"):
        old.records("three", 1)

    sw = sweep(small, {"demand.growth": [1.0, 1.5]}, 2, out=tmp_path / "sw", records="none")
    res = sim.results.open(tmp_path / "sw")
    assert res.kind == "sweep" and len(res.sweep) == len(sw.table)
    assert columnar.file_metadata(tmp_path / "sw" / "parquet" / "sweep.parquet")["table"] == \
        "sweep"


def test_workbook_sheets_units_and_layout(small, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    three = apply_overrides(small, {"hubs.0.doctors.medicine": 3,
                                    "hubs.0.roster.0.doctors": 3, "name": "three"})
    compare(small, [three], 2, out=tmp_path, records="none")
    path = write_workbook(tmp_path)
    assert path == tmp_path / WORKBOOK_NAME and WORKBOOK_NAME == WORKBOOK_FILE
    wb = load_workbook(path)
    assert wb.sheetnames == ["About", "By specialty", "Hub x specialty", "Comparison", "Roster"]
    spec = wb["By specialty"]
    heads = [c.value for c in spec[1]]
    assert heads[:2] == ["plan", "specialty"] and "wait p90 (min)" in heads
    col = heads.index("utilisation (%)") + 1
    assert spec.cell(row=2, column=col).number_format == "0.0%"
    assert spec.freeze_panes == "C2"
    assert spec.column_dimensions["A"].width >= len("three")
    roster = wb["Roster"]
    rows = [[c.value for c in r] for r in roster.iter_rows(min_row=2)]
    assert [r[6] for r in rows] == [2, 3]  # doctors on duty, base then plan
    cmp_sheet = wb["Comparison"]
    heads = [c.value for c in cmp_sheet[1]]
    fmt = {r[heads.index("metric")].value: r[heads.index("mean")].number_format
           for r in cmp_sheet.iter_rows(min_row=2)}
    assert fmt["wait_mean_min"] == "#,##0.0" and fmt["utilisation"] == "0.0%"
    assert unit("share_within_30_min") == ("%", "0.0%")
    assert header("overtime_min_per_day") == "overtime per day (min)"


def test_export_command(small, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_experiment(small, 2, out=tmp_path, plot=False, records="none")
    assert main(["export", str(tmp_path)]) == 0
    assert "sheets: About, By specialty, Hub x specialty, Roster" in capsys.readouterr().out
    files = json.loads((tmp_path / "run.json").read_text())["files"]
    assert WORKBOOK_FILE in files
    assert main(["export", str(tmp_path / "missing")]) == 2
    assert "no results folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["export", str(tmp_path / "empty")]) == 2
    assert "no summary.csv" in capsys.readouterr().err
