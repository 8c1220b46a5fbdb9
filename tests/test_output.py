"""Outputs: records round-trip, and an interrupted write never damages what stood."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.engine.records import COLUMNS, NAME_COLUMNS
from sim.results.output import (
    FLOAT_COLUMNS,
    atomic_write,
    read_records,
    write_records,
    write_text,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["himachal-baseline", "himachal-realism"])
def test_records_round_trip(tmp_path: Path, name: str) -> None:
    scenario = sim.apply_overrides(sim.load_scenario(ROOT / f"scenarios/{name}.yaml"),
                                   {"calendar.horizon_days": 10, "calendar.holidays": [5]})
    result = sim.simulate(scenario)
    path = write_records(tmp_path / "records.csv.gz", result)
    back = read_records(path)
    assert list(back) == list(COLUMNS)
    decoded = result.decoded()
    assert NAME_COLUMNS == {*result.labels(), "doctor"}  # the columns decoded() names
    for c in COLUMNS:
        if c in FLOAT_COLUMNS:
            np.testing.assert_allclose(back[c], decoded[c].astype(float), atol=6e-5,
                                       equal_nan=True, err_msg=c)
        else:
            assert [str(x) for x in back[c]] == [str(x) for x in decoded[c]], c
        if c in NAME_COLUMNS:  # one string object per distinct name
            assert back[c].dtype == object
            assert len({id(x) for x in back[c]}) == len(set(back[c].tolist())), c


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = write_text(tmp_path / "summary.csv", "old,contents\n")

    def explode(fh) -> None:  # type: ignore[no-untyped-def]
        fh.write(b"half a fi")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(target, explode)
    assert target.read_text() == "old,contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]


def test_records_written_in_chunks_read_back_whole(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunk boundaries leave no trace: tiny chunks give the same file text as one chunk."""
    import gzip

    import sim.results.output

    scenario = sim.apply_overrides(sim.load_scenario(ROOT / "scenarios/himachal-realism.yaml"),
                                   {"calendar.horizon_days": 10, "calendar.holidays": [5]})
    result = sim.simulate(scenario)
    whole = gzip.decompress(write_records(tmp_path / "a.csv.gz", result).read_bytes())
    monkeypatch.setattr(sim.results.output, "RECORDS_CHUNK", 7)
    chunked = gzip.decompress(write_records(tmp_path / "b.csv.gz", result).read_bytes())
    assert whole == chunked
    assert whole.count(b"\n") == len(result.records) + 1


@pytest.mark.parametrize("district", ["Kangra", 'Kangra, "upper"'])
def test_records_text_is_what_the_csv_writer_writes(tmp_path: Path, district: str) -> None:
    """Rows are joined directly when no name needs quoting, else by ``csv.writer``: either
    way the text is the writer's, cell for cell (a name with a comma and quotes included)."""
    import csv
    import gzip
    import io

    from sim.results.output import _formatted
    from sim.scenario.loader import scenario_from_dict

    scenario = sim.apply_overrides(sim.load_scenario(ROOT / "scenarios/himachal-realism.yaml"),
                                   {"calendar.horizon_days": 10, "calendar.holidays": [5]})
    if district != "Kangra":
        data = scenario.model_dump(mode="json", by_alias=True)
        for d in data["spokes"]["districts"]:
            if d["district"] == "Kangra":
                d["district"] = district
        for section in ("d2d", "opd"):
            per_day = (data["demand"].get(section) or {}).get("per_day") or {}
            if "Kangra" in per_day:
                per_day[district] = per_day.pop("Kangra")
        for key in ("failures", "phc_tier"):
            for field in ("districts", "district_doctors"):
                table = (data.get(key) or {}).get(field) or {}
                if "Kangra" in table:
                    table[district] = table.pop("Kangra")
        scenario = scenario_from_dict(data)
    result = sim.simulate(scenario)
    got = gzip.decompress(write_records(tmp_path / "r.csv.gz", result).read_bytes()).decode()
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    cols = result.decoded()
    writer.writerows(zip(*(_formatted(cols[c]) for c in COLUMNS), strict=True))
    assert got == text.getvalue()
    assert district in cols["district"].tolist()
    quoted = '"' + district.replace('"', '""') + '"'
    assert (quoted in got) == ("," in district)
    back = read_records(tmp_path / "r.csv.gz", columns=["district"])
    assert district in set(back["district"].tolist())


def test_run_without_records(tmp_path: Path) -> None:
    from sim.cli import main

    out = tmp_path / "run"
    assert main(["run", "--days", "10", "--no-records", "--no-plot", "-q", "--out",
                 str(out)]) == 0
    assert (out / "summary.csv").exists() and not (out / "records.csv.gz").exists()


def test_sweep_without_records(tmp_path: Path) -> None:
    from sim.cli import main

    out = tmp_path / "sweep"
    assert main(["sweep", "--days", "10", "-n", "1", "--set", "demand.growth=1,1.5",
                 "--no-records", "-q", "--out", str(out)]) == 0
    points = [p for p in out.iterdir() if (p / "summary.csv").exists()]
    assert len(points) == 2
    assert not list(out.rglob("records.csv.gz"))
