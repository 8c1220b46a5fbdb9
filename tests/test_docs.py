"""The README and the CLI help cannot go stale: their examples are executed here."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def _subcommands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)  # type: ignore[attr-defined]


def test_readme_python_blocks_run(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "the README should show the Python API"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for code in blocks:
            exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    finally:
        os.chdir(cwd)


def test_readme_has_exactly_the_two_setup_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", quick, flags=re.S)
    assert block is not None
    commands = [ln.split("#")[0].strip() for ln in block.group(1).splitlines() if ln.strip()]
    assert commands == ["make run", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_make_run_recipe_works_on_the_bundled_scenario(tmp_path: Path) -> None:
    """Execute the README's run command (the Makefile's run recipe) in a scratch folder."""
    make = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", make, flags=re.M)
    assert recipe is not None
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    for line in recipe.group(1).splitlines():
        cmd = line.strip().replace("$(BIN)/", f"{BIN}/")
        proc = subprocess.run(shlex.split(cmd), cwd=tmp_path, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr
    out = tmp_path / "results" / "himachal-baseline"
    for name in ("summary.csv", "records.csv.gz", "scenario.resolved.yaml", "run.json"):
        assert (out / name).stat().st_size > 0, name
    assert "results in results/himachal-baseline" in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_has_help_and_is_in_the_readme(command: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "sim", command, "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage: hubsim" in proc.stdout
    assert f"hubsim {command}" in README, f"README does not document `hubsim {command}`"


def test_outputs_table_matches_what_run_writes(tmp_path: Path) -> None:
    from sim.cli import main

    assert main(["run", str(ROOT / "scenarios/textbook/mmc.yaml"), "--out", str(tmp_path),
                 "--days", "8", "-q"]) == 0
    written = {p.name for p in tmp_path.iterdir()}
    table = README.split("### What a run writes", 1)[1].split("\n\n", 2)[1]
    documented = set(re.findall(r"^\| `([^`]+)` \|", table, flags=re.M))
    assert documented and documented <= written, documented - written
    header = (tmp_path / "summary.csv").read_text().splitlines()[0]
    assert header.startswith("metric,group_by,group,value")
