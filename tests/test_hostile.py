"""Hostile and extreme input (issue 17): exit 2 with a one-screen message, or a valid run.

Each case the issue lists is a named test; a hypothesis fuzzer mutates scenario files and
fields and checks that every outcome is a clean message or a valid scenario that runs;
the results-folder cases inject a full disk into the writer.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time
import tracemalloc
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.engine.model import simulate
from sim.experiment.budget import MemoryBudgetError, check_memory, expected_requests
from sim.results import output
from sim.results import staging as results_folder
from sim.results.output import read_csv
from sim.scenario.loader import ScenarioError, load_scenario, scenario_from_dict
from tests.conftest import ONE_HUB

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def one_hub_yaml(**changes: Any) -> str:
    d = copy.deepcopy(ONE_HUB)
    d.update(changes)
    return yaml.safe_dump(d, sort_keys=False)


def printable(text: str) -> bool:
    """No control character but line ends: safe to print on a terminal."""
    return all(c == "\n" or unicodedata.category(c) != "Cc" for c in text)


def validate(capsys: pytest.CaptureFixture[str], *files: str | Path) -> tuple[int, str]:
    rc = main(["validate", *map(str, files)])
    cap = capsys.readouterr()
    return rc, cap.err + cap.out


def assert_one_screen(message: str, *needles: str) -> None:
    assert printable(message), message
    lines = message.splitlines()
    assert len(lines) <= 20 and all(len(ln) <= 600 for ln in lines), message
    assert "Traceback" not in message
    for n in needles:
        assert n in message, message


# ---- the YAML layer ---------------------------------------------------------------------

def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\nname: bomb\n"


def test_alias_bomb_is_refused_in_bounded_memory(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "bomb.yaml", alias_bomb())
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        rc, msg = validate(capsys, f)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rc == 2
    assert_one_screen(msg, "bomb.yaml:", "alias bomb")
    assert peak < 20e6 and time.perf_counter() - t0 < 10


def test_alias_bomb_and_dev_zero_under_a_memory_cap(tmp_path: Path) -> None:
    """In a process limited to 1 GiB of address space, ``validate`` refuses both cleanly."""
    f = write(tmp_path, "bomb.yaml", alias_bomb())
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30));"
            "from sim.cli import main; sys.exit(main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, "validate", str(f), "/dev/zero"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "alias bomb" in r.stderr and "/dev/zero: is not a regular file" in r.stderr
    assert "Traceback" not in r.stderr


def test_special_files_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    rc, msg = validate(capsys, fifo, "/dev/zero", tmp_path)
    assert rc == 2
    assert_one_screen(msg, "pipe.yaml: is not a regular file", "/dev/zero: is not a regular",
                      "is a folder")


def test_file_size_cap(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.scenario import yamlread

    monkeypatch.setattr(yamlread, "MAX_BYTES", 1000)
    f = write(tmp_path, "big.yaml", "name: " + "x" * 2000 + "\n")
    rc, msg = validate(capsys, f)
    assert rc == 2 and "big.yaml: file is" in msg and "at most" in msg


@pytest.mark.parametrize(("char", "name"), [("\x00", "NUL"), ("\x07", "BEL"), ("\x1b", "ESC")])
def test_control_character_in_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   char: str, name: str) -> None:
    text = one_hub_yaml().replace("name: one-hub", f"name: one{char}hub")
    f = write(tmp_path, "ctrl.yaml", text)
    rc, msg = validate(capsys, f)
    assert rc == 2
    assert_one_screen(msg, "ctrl.yaml:1:", f"({name})", "column 10")


def test_terminal_escape_in_a_key_is_escaped(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "esc.yaml", one_hub_yaml() + '"bad\\e[31mkey": 1\n')
    rc, msg = validate(capsys, f)
    assert rc == 2
    assert_one_screen(msg, "\\x1b[31m", "unknown key")


def test_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "latin.yaml", "name: ok\ndescription: caf\xe9\n".encode("latin-1"))
    rc, msg = validate(capsys, f)
    assert rc == 2
    assert_one_screen(msg, "latin.yaml:2:", "not UTF-8")


@pytest.mark.parametrize("text", ["a: &x [*x]\n", "a: &x\n  b: *x\n"])
def test_self_referencing_alias(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                text: str) -> None:
    rc, msg = validate(capsys, write(tmp_path, "self.yaml", text))
    assert rc == 2
    assert_one_screen(msg, "self.yaml:1:", "alias refers to the value that contains it")


@pytest.mark.parametrize("text", [
    "a: " + "[" * 500 + "]" * 500 + "\n",
    "".join("  " * i + f"k{i}:\n" for i in range(500)) + "  " * 500 + "x\n",
    "".join(f"a{i}: &a{i} [*a{i - 1}]\n" if i else "a0: &a0 [1]\n" for i in range(200)),
])
def test_deep_nesting(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    rc, msg = validate(capsys, write(tmp_path, "deep.yaml", text))
    assert rc == 2
    assert_one_screen(msg, "deep.yaml:", "deeper than 64 levels")


def test_nul_byte_in_extends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "ext.yaml", 'extends: "base\\0.yaml"\nname: x\n')
    rc, msg = validate(capsys, f)
    assert rc == 2
    assert_one_screen(msg, "ext.yaml:1: extends:", "\\x00", "control character")


def test_symlink_loop_in_extends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "loop1.yaml").symlink_to("loop2.yaml")
    (tmp_path / "loop2.yaml").symlink_to("loop1.yaml")
    f = write(tmp_path, "ext.yaml", "extends: loop1.yaml\nname: x\n")
    rc, msg = validate(capsys, f, tmp_path / "loop1.yaml")
    assert rc == 2
    assert_one_screen(msg, "ext.yaml:1: extends:", "symlink loop", "loop1.yaml: symlink loop")


def test_chain_of_1200_overlays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "c0.yaml", one_hub_yaml())
    for i in range(1, 1201):
        write(tmp_path, f"c{i}.yaml", f"extends: c{i - 1}.yaml\nname: c{i}\n")
    rc, msg = validate(capsys, tmp_path / "c1200.yaml", tmp_path / "c30.yaml")
    assert rc == 2
    assert_one_screen(msg, "extends: more than 32 files extend one another", "c30.yaml: ok")


def test_batch_validate_checks_every_file(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.yaml", one_hub_yaml())
    bad = [write(tmp_path, "nul.yaml", "name: \x00\n"),
           write(tmp_path, "self.yaml", "a: &x [*x]\n"),
           write(tmp_path, "bomb.yaml", alias_bomb())]
    rc, msg = validate(capsys, *bad, "/dev/zero", tmp_path / "missing.yaml", good)
    assert rc == 2
    assert "good.yaml: ok" in msg and msg.count("invalid scenario") == 5
    assert "missing.yaml: file not found" in msg


def test_long_value_is_shortened(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = one_hub_yaml().replace("seed: 3", "seed: " + "9" * 100_000)
    rc, msg = validate(capsys, write(tmp_path, "digits.yaml", text))
    assert rc == 2
    assert_one_screen(msg, "digits.yaml: a value cannot be read")
    text = one_hub_yaml().replace("seed: 3", "seed: '" + "9x" * 50_000 + "'")
    text += "? " + "x" * 100_000 + "\n: 1\n"  # an explicit key: no length limit
    rc, msg = validate(capsys, write(tmp_path, "long.yaml", text))
    assert rc == 2
    assert_one_screen(msg, "long.yaml:", " ... ")
    assert len(msg) < 3000
    d = copy.deepcopy(ONE_HUB)
    d["seed"] = "9x" * 500_000
    rc, msg = validate(capsys, write(tmp_path, "value.yaml", yaml.safe_dump(d)))
    assert rc == 2
    assert_one_screen(msg, "seed: Input should be a valid integer", "(got '9x9x", " ... ")
    assert len(msg) < 1000


def test_union_tags_are_not_in_field_paths(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    d = copy.deepcopy(ONE_HUB)
    d["hubs"][0]["roster"][0]["days"] = "wrking"
    rc, msg = validate(capsys, write(tmp_path, "days.yaml", yaml.safe_dump(d, sort_keys=False)))
    assert rc == 2
    assert "literal[" not in msg and "list[" not in msg
    assert_one_screen(msg, "hubs[0].roster[0].days: Input should be 'all' or 'working'; or ")
    assert msg.count("hubs[0].roster[0].days") == 1


# ---- --set paths and values -------------------------------------------------------------

@pytest.mark.parametrize(("item", "needle"), [
    ("name.x=1", "name.x: no such field: name is a single value"),
    ("hubs.x=1", "hubs.x: no such field: hubs is a list"),
    ("hubs.0.id.y=2", "hubs.0.id is a single value"),
    ("demand.opd.hour_profile.12=.inf", "demand.opd: is not set"),
    ("demand.d2d.hour_profile=[1,1,1,1,1,1,1,1,1,1,1,1,.inf,1,1,1,1,1,1,1,1,1,1,1]",
     "demand.d2d.hour_profile[12]: Input should be a finite number"),
    ("demand.growth=.inf", "demand.growth: Input should be a finite number"),
    ("demand.growth=1e308", "demand.growth: Input should be less than or equal to 1000"),
    ("hubs.0.doctors.medicine=1000000000000000000", "less than or equal to 100000"),
    ("spokes.districts.0.phcs=10000000", "spokes.districts[a].phcs: Input should be less"),
    ("seed=9223372036854775808", "seed: Input should be less than or equal to 9223372036854775807"),
    ("seed=100000000000000000000", "seed: Input should be less than or equal"),
    ("queue.patience={kind: exponential, mean: .nan}", "finite number"),
])
def test_set_paths_and_values(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              item: str, needle: str) -> None:
    f = write(tmp_path, "s.yaml", one_hub_yaml())
    rc = main(["run", str(f), "--out", str(tmp_path / "out"), "-q", "--no-plot", "--set", item])
    err = capsys.readouterr().err
    assert rc == 2
    assert_one_screen(err, "--set: ", needle)


def test_opd_hour_profile_inf_is_refused_not_silently_dropped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ROOT / "scenarios" / "himachal-baseline.yaml"
    rc = main(["run", str(base), "--days", "8", "--out", str(tmp_path / "o"), "-q",
               "--no-plot", "--set", "demand.opd.hour_profile.12=.inf"])
    assert rc == 2
    assert "demand.opd.hour_profile[12]: Input should be a finite number" in (
        capsys.readouterr().err)


def test_overbooking_and_doctor_pools_are_bounded(build: Any) -> None:
    d = copy.deepcopy(ONE_HUB)
    d["hubs"][0]["doctors"]["medicine"] = 10**18
    d["booking"] = {"clinics": [{"hub": "A", "specialty": "medicine", "slot_min": 15,
                                 "overbook_per_session": 10**18}]}
    with pytest.raises(ScenarioError) as err:
        build(d)
    text = err.value.render()
    assert "hubs[0].doctors.medicine" in text and "booking.clinics[0].overbook_per_session" in text


def test_largest_seed_is_recorded_exactly(tmp_path: Path) -> None:
    top = 2**63 - 1
    f = write(tmp_path, "s.yaml", one_hub_yaml(seed=top))
    assert main(["run", str(f), "--out", str(tmp_path / "o"), "-q", "--no-plot"]) == 0
    meta = json.loads((tmp_path / "o" / "run.json").read_text())
    assert meta["seed"] == top
    reps = (tmp_path / "o" / "replications.csv").read_text().splitlines()
    assert reps[1].split(",")[2] == str(top)


# ---- runs too large for the machine -----------------------------------------------------

def test_run_too_large_is_refused_up_front(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           build: Any) -> None:
    d = copy.deepcopy(ONE_HUB)
    d["calendar"]["horizon_days"] = 3660
    d["spokes"]["districts"] = [{"district": f"d{i}", "home_hub": "A", "phcs": 100_000}
                                for i in range(10)]
    d["demand"]["d2d"]["per_spoke_per_day"]["phc"] = 1e6
    sc = build(d)
    assert expected_requests(sc) == pytest.approx(3660 * 10 * 100_000 * 1e6)
    with pytest.raises(MemoryBudgetError, match=r"would need about .* GB of memory \(3\.66e\+15"):
        check_memory([sc])
    f = write(tmp_path, "big.yaml", yaml.safe_dump(d))
    t0 = time.perf_counter()
    assert main(["run", str(f), "--out", str(tmp_path / "o"), "-q"]) == 2
    assert time.perf_counter() - t0 < 30
    assert_one_screen(capsys.readouterr().err, "hubsim: error: scenario 'one-hub' would need")
    assert not (tmp_path / "o" / "run.json").exists()


def test_replications_whose_rows_would_not_fit_are_refused_after_the_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every replication's metric rows are held to the end: -n large enough to exhaust the
    memory stops once the first replication has told how many rows each gives."""
    import sim.experiment.budget as budget

    f = write(tmp_path, "s.yaml", one_hub_yaml())
    assert main(["run", str(f), "--out", str(tmp_path / "ok"), "-q", "--no-plot", "-n", "3"]) == 0
    rows = len(read_csv(tmp_path / "ok" / "replications.csv")) / 3
    monkeypatch.setattr(budget, "available_bytes",  # room for 10 replications' rows
                        lambda: budget.BASE_BYTES + 10.5 * rows * budget.ROW_BYTES)
    assert main(["run", str(f), "--out", str(tmp_path / "o"), "-q", "--no-plot", "-n", "10"]) == 0
    assert main(["run", str(f), "--out", str(tmp_path / "o2"), "-q", "--no-plot",
                 "-n", "2000"]) == 2
    err = capsys.readouterr().err
    assert_one_screen(err, "hubsim: error: 2,000 replications of ", " metric rows each would hold")
    assert "--precision" in err and not (tmp_path / "o2" / "run.json").exists()


# ---- results folders: one run each, never a mix ------------------------------------------

def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not {".units", results_folder.STAGING} & set(p.parts)}


def test_no_records_into_an_older_folder_leaves_no_stale_records(tmp_path: Path) -> None:
    f = write(tmp_path, "s.yaml", one_hub_yaml())
    out = tmp_path / "o"
    (out).mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["run", str(f), "--out", str(out), "-q", "--no-plot"]) == 0
    assert (out / "records.csv.gz").exists()
    f.write_text(one_hub_yaml(name="second"))
    assert main(["run", str(f), "--out", str(out), "-q", "--no-plot", "--no-records"]) == 0
    meta = json.loads((out / "run.json").read_text())
    assert not (out / "records.csv.gz").exists() and not (out / ".replication0").exists()
    assert "records.csv.gz" not in meta["files"]
    assert meta["scenarios"][0]["name"] == "second"
    assert (out / "notes.txt").read_text() == "mine"  # not a run's output: left alone
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".units"]


def test_disk_full_mid_run_leaves_the_old_complete_set(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    f = write(tmp_path, "s.yaml", one_hub_yaml())
    out = tmp_path / "o"
    assert main(["run", str(f), "--out", str(out), "-q", "--no-plot"]) == 0
    before = listing(out)
    real = output.atomic_write
    calls = {"n": 0}

    def full_disk(path: Path, write: Any) -> Path:
        calls["n"] += 1
        if calls["n"] == 4:  # a few files in: the disk fills up

            def half(fh: Any) -> None:
                fh.write(b"partial")
                raise OSError(errno.ENOSPC, "No space left on device")

            return real(path, half)
        return real(path, write)

    monkeypatch.setattr(output, "atomic_write", full_disk)
    f.write_text(one_hub_yaml(name="second", seed=99))
    with pytest.raises(OSError, match="No space left") as err:
        from sim.experiment.runner import run_experiment

        run_experiment(load_scenario(f), 3, out=out, plot=False)
    assert not str(err.value.filename).split("/")[-1].startswith(".")  # the real file named
    assert listing(out) == before  # the old run, whole
    assert not list(out.rglob("*.tmp"))
    monkeypatch.setattr(output, "atomic_write", real)
    assert main(["run", str(f), "--out", str(out), "-q", "--no-plot", "-n", "3"]) == 0
    assert json.loads((out / "run.json").read_text())["scenarios"][0]["name"] == "second"
    assert not (out / results_folder.STAGING).exists()


def test_disk_full_message_names_the_real_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fh: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output, "write_text",
                        lambda path, text: output.atomic_write(path, full))
    f = write(tmp_path, "s.yaml", one_hub_yaml())
    assert main(["run", str(f), "--out", str(tmp_path / "o"), "-q", "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and ".tmp" not in err and "Traceback" not in err


def test_interrupted_swap_is_finished_by_the_next_run(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "o"
    (out / "plots").mkdir(parents=True)
    for name in ("summary.csv", "run.json", "records.csv.gz", "plots/a.png"):
        (out / name).write_text("old")
    (out / "run.json").write_text(json.dumps({"files": ["summary.csv", "records.csv.gz",
                                                        "plots/a.png", "run.json"]}))
    stage = results_folder.begin(out, [out / results_folder.STAGING])
    for name in ("summary.csv", "run.json", "replications.csv"):
        (stage / name).write_text("new")
    real, seen = os.replace, {"n": 0}

    def crash(a: Any, b: Any) -> None:
        seen["n"] += 1
        if seen["n"] == 5:
            raise KeyboardInterrupt
        real(a, b)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        results_folder.publish(out, stage)
    monkeypatch.setattr(os, "replace", real)
    results_folder.begin(out)  # the next run finishes the swap first
    names = sorted(p.name for p in out.iterdir())
    assert names == [".staging", "replications.csv", "run.json", "summary.csv"]
    assert all((out / n).read_text() == "new" for n in names if not n.startswith("."))


def test_temp_files_are_removed_on_resume(tmp_path: Path) -> None:
    f = write(tmp_path, "s.yaml", one_hub_yaml())
    out = tmp_path / "o"
    assert main(["run", str(f), "--out", str(out), "-q", "--no-plot", "-n", "2"]) == 0
    left = [out / ".summary.csv.abc123.tmp", out / ".units" / ".rep-00003.csv.x.tmp",
            out / ".staging" / ".records.csv.gz.y.tmp"]
    for p in left:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("half")
    assert main(["run", str(f), "--out", str(out), "-q", "--no-plot", "-n", "2"]) == 0
    assert not list(out.rglob("*.tmp"))


def test_a_study_cut_short_mid_write_leaves_no_temp_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The signal can land inside a write (the race the signal test below can hit)."""
    import sim.experiment.units as units
    from sim.experiment.runner import run_experiment
    from sim.scenario.loader import load_scenario

    def cut(self: Any, arm: Any, key: str, replication: int, rows: Any) -> None:
        half = tmp_path / "o" / ".units" / f".rep-{replication:05d}.csv.cut.tmp"
        half.parent.mkdir(parents=True, exist_ok=True)
        half.write_text("half")             # what a killed atomic_write leaves
        raise KeyboardInterrupt

    monkeypatch.setattr(units.UnitStore, "save", cut)
    sc = load_scenario(write(tmp_path, "s.yaml", one_hub_yaml()))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(sc, 2, out=tmp_path / "o", plot=False)
    assert (tmp_path / "o").is_dir() and not list((tmp_path / "o").rglob("*.tmp"))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_gives_one_line_and_leaves_no_temp_files(tmp_path: Path, sig: int) -> None:
    f = write(tmp_path, "s.yaml", one_hub_yaml())
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "sim", "run", str(f), "--out", str(out), "--days", "600",
           "-n", "40", "-j", "2", "--no-plot"]
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob(".units/*/rep-*.csv")):
        time.sleep(0.2)
    os.killpg(p.pid, sig)  # the whole group, as a terminal's Ctrl-C does
    _, err = p.communicate(timeout=120)
    assert p.returncode == (143 if sig == signal.SIGTERM else 130), err
    assert len(err.strip().splitlines()) == 1 and "resumes" in err, err
    assert not list(out.rglob("*.tmp"))
    assert not (out / "run.json").exists()


# ---- plots and report of empty runs ---------------------------------------------------------

EMPTY_RUNS = {
    "zero_demand": {"demand": {"growth": 0, **ONE_HUB["demand"]}},
    "all_holidays": {"calendar": {"horizon_days": 3, "holidays": [0, 1, 2]}},
    "absence": {"absence": {"prob": 1.0}},
    "warmup_near_horizon": {"calendar": {"horizon_days": 3, "warmup_days": 2.9999}},
}


@pytest.mark.parametrize("case", [
    "zero_demand", *(pytest.param(c, marks=pytest.mark.slow) for c in EMPTY_RUNS
                     if c != "zero_demand")])
def test_empty_run_plots_and_report_with_a_note(tmp_path: Path, case: str) -> None:
    from sim.present.report import write_report

    f = write(tmp_path, "s.yaml", one_hub_yaml(**EMPTY_RUNS[case]))
    out = tmp_path / "o"
    assert main(["run", str(f), "--out", str(out), "-q", "--no-plot"]) == 0
    assert main(["plot", str(out), "-q"]) == 0
    assert (out / "plots" / "wait_by_specialty.svg").exists()
    html = write_report(out, validation=False).read_text()
    assert "No request arrived after the warm-up" in html or (
        "No request was served after the warm-up" in html)


# ---- the fuzzer -----------------------------------------------------------------------------

HOSTILE_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec="utf-8"), max_size=12),
    st.sampled_from(["", "all", "working", "09:30", "24:00", "25:99", "exponential", "A",
                     "medicine", "\x1b[31m", "\x00", "a" * 5000]),
    st.lists(st.integers(-3, 30), max_size=4),
    st.dictionaries(st.sampled_from(["kind", "mean", "value", "x"]),
                    st.one_of(st.sampled_from(["exponential", "deterministic"]),
                              st.floats(-1, 1e9)), max_size=3),
)


def _leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [path] + [p for k, v in node.items() for p in _leaf_paths(v, (*path, k))]
    if isinstance(node, list):
        return [path] + [p for i, v in enumerate(node) for p in _leaf_paths(v, (*path, i))]
    return [path]


PATHS = [p for p in _leaf_paths(ONE_HUB) if p]


def _mutated(edits: list[tuple[tuple[Any, ...], Any]]) -> dict[str, Any]:
    d = copy.deepcopy(ONE_HUB)
    for path, value in edits:
        node: Any = d
        for part in path[:-1]:
            if not isinstance(node, dict | list):
                break
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
        else:
            if isinstance(node, dict) or isinstance(node, list) and isinstance(
                    path[-1], int) and path[-1] < len(node):
                node[path[-1]] = value
    return d


@settings(max_examples=40)
@given(st.lists(st.tuples(st.sampled_from(PATHS), HOSTILE_VALUES), min_size=1, max_size=3))
def test_fuzz_schema_gives_a_message_or_a_valid_run(
        edits: list[tuple[tuple[Any, ...], Any]]) -> None:
    d = _mutated(edits)
    try:
        sc = scenario_from_dict(d, source="fuzz.yaml")
    except ScenarioError as exc:
        assert_one_screen(exc.render(), "fuzz.yaml")
        return
    try:
        check_memory([sc])
    except MemoryBudgetError as exc:
        assert "would need about" in str(exc)
        return
    if expected_requests(sc) > 20_000:  # valid but slow: the budget check is what we assert
        return
    result = simulate(sc, seed=1)
    assert len(result.records) >= 0


YAML_PIECES = st.sampled_from([
    "name: x\n", "seed: 3\n", "a: &x [1, 2]\n", "b: *x\n", "c: *missing\n", "<<: *x\n",
    "- 1\n", "  - 2\n", "{", "}", "[", "]", ": :\n", "? [a]\n: 1\n", "!!python/object:os.system\n",
    "calendar: {horizon_days: 1e9}\n", "hubs: [{id: A}]\n", "\t", "\x00", "\x1b[2J", "\ufeff",
    "%YAML 1.1\n", "---\n", "...\n", "&a &b x\n", "'unterminated\n", '"\\e\\0"\n',
    "k: " + "[" * 80 + "\n", "e: !!binary AAAA\n", "f: 0x1F\n", "g: .nan\n", "h: 2001-12-14\n",
])


@settings(max_examples=60)
@given(st.lists(st.one_of(YAML_PIECES, st.text(max_size=8)), max_size=12), st.booleans())
def test_fuzz_yaml_layer_gives_a_message_in_bounded_memory(pieces: list[str],
                                                           base: bool) -> None:
    import tempfile

    text = (one_hub_yaml() if base else "") + "".join(pieces)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "fuzz.yaml"
        f.write_bytes(text.encode("utf-8", "surrogatepass"))
        tracemalloc.start()
        try:
            try:
                load_scenario(f)
            except ScenarioError as exc:
                assert_one_screen(exc.render(), "fuzz.yaml")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 50e6


def test_fuzz_runs_under_an_address_space_cap() -> None:
    """The alias-heavy corners of the fuzzer again, in a process capped at 1 GiB."""
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))\n"
        "from sim.scenario.yamlread import parse, ReadError\n"
        "for levels in range(1, 12):\n"
        "    lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]']\n"
        "    lines += [f'a{i}: &a{i} [' + ','.join([f'*a{i-1}'] * 9) + ']'\n"
        "              for i in range(1, levels + 1)]\n"
        "    try:\n"
        "        parse('\\n'.join(lines))\n"
        "    except ReadError:\n"
        "        pass\n"
        "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    assert resource.RLIMIT_AS  # the cap is what made a blow-up fail the test


@settings(max_examples=60)
@given(st.lists(st.tuples(
    st.one_of(st.sampled_from([".".join(map(str, p)) for p in PATHS]),
              st.text(st.sampled_from("abcdhnsuxy.0123_"), max_size=20)),
    st.one_of(st.sampled_from(["1", ".inf", "-1", "1e308", "[1,2]", "{a: 1}", "x", "", "~",
                               "&a [*a]", "\x1b[2J", "9" * 30]), st.text(max_size=10))),
    min_size=1, max_size=3))
def test_fuzz_set_options_give_a_message_or_a_valid_scenario(
        items: list[tuple[str, str]]) -> None:
    from sim.scenario.loader import apply_overrides, parse_value

    base = scenario_from_dict(ONE_HUB)
    try:
        apply_overrides(base, {k: parse_value(v) for k, v in items})
    except ScenarioError as exc:
        assert_one_screen(exc.render(), "--set")


def test_warmup_bins_are_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "s.yaml", one_hub_yaml())
    assert main(["warmup", str(f), "--bin-hours", "1e-7", "-n", "1",
                 "--out", str(tmp_path / "w")]) == 2
    assert_one_screen(capsys.readouterr().err, "more than 100,000 bins")


@settings(max_examples=15)
@given(st.lists(st.tuples(st.sampled_from(PATHS), HOSTILE_VALUES), min_size=1, max_size=2))
def test_fuzz_cli_run_exits_2_with_a_message_or_0_with_results(
        edits: list[tuple[tuple[Any, ...], Any]]) -> None:
    import contextlib
    import io
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "fuzz.yaml"
        f.write_text(yaml.safe_dump(_mutated(edits), allow_unicode=True), encoding="utf-8")
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(["run", str(f), "--out", str(Path(tmp) / "o"), "-q", "--no-plot",
                       "--days", "2"])
        assert rc in (0, 2), err.getvalue()
        if rc == 2:
            assert_one_screen(err.getvalue(), "")
            assert any(w in err.getvalue() for w in ("fuzz.yaml", "--set", "hubsim: error:"))
        else:
            assert (Path(tmp) / "o" / "summary.csv").exists()
