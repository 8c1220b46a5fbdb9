"""The planner's web app in a real browser: headless Debian Chromium driven by Playwright.

Starts ``hubsim app``'s Streamlit server on a free loopback port, opens it, edits a cell
of the duty table, runs, checks the results change, downloads the plan and validates it,
uploads a bad file, and checks that a second tab does not see the first tab's edit. It
takes a screenshot under ``tmp_path`` and leaves the repository alone; with
``HUBSIM_REFRESH_SCREENSHOT=1`` (``make app-screenshot``) the screenshot replaces the
README's ``docs/app.png``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.present import planner
from sim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "app.png"
REFRESH = os.environ.get("HUBSIM_REFRESH_SCREENSHOT") == "1"
DUTY = ".st-key-duty [data-testid=stDataFrameResizable]"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian's chromium (.ci/run installs it)"),
]
playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("streamlit")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "HOME": str(home), "MPLBACKEND": "Agg"}
    log = (home / "streamlit.log").open("wb")
    proc = subprocess.Popen(planner.streamlit_command(port), cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the app did not start:\n"
                                   + (home / "streamlit.log").read_text(errors="replace"))
            time.sleep(0.5)
        yield url
        with urllib.request.urlopen(url + "_stcore/health", timeout=5) as r:
            assert r.read().strip() == b"ok", "the server must survive every input"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    with playwright_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            accept_downloads=True, viewport={"width": 1400, "height": 1000})
        try:
            yield ctx
        finally:
            ctx.close()


def _open(ctx: object, url: str) -> object:
    page = ctx.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(300_000)
    page.goto(url)
    page.get_by_text("Doctors on duty", exact=True).wait_for()
    page.locator(DUTY).wait_for()
    return page


def _settle(page: object) -> None:
    """Wait until the script has finished its current rerun (the running icon gone)."""
    running = page.get_by_test_id("stStatusWidget")  # type: ignore[attr-defined]
    try:
        running.wait_for(state="attached", timeout=3_000)
    except playwright_api.TimeoutError:
        pass  # the rerun was over before we looked
    running.wait_for(state="detached")
    page.wait_for_function(  # type: ignore[attr-defined]
        "!document.querySelector('[data-stale=\"true\"]')")


def _set_number(page: object, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)  # type: ignore[attr-defined]
    box.fill(str(value))
    box.press("Enter")
    _settle(page)


def _edit_on_duty(page: object, row: int, value: int) -> None:
    """Type ``value`` into the ``on duty`` cell of data row ``row`` (0-based) of the editor."""
    grid = page.locator(DUTY)  # type: ignore[attr-defined]
    box = grid.bounding_box()
    header = 35
    x = box["width"] - 40  # the last column, "on duty"
    y = header + 35 * row + 17
    editor = page.locator("textarea, input.gdg-input").first  # type: ignore[attr-defined]
    for _ in range(5):  # a double click while the page still updates opens nothing
        grid.dblclick(position={"x": x, "y": y})
        try:
            editor.wait_for(timeout=5_000)
            break
        except playwright_api.TimeoutError:
            _settle(page)
    else:
        raise AssertionError("the cell editor did not open")
    editor.fill(str(value))
    editor.press("Enter")
    _settle(page)
    cell = page.locator(f".st-key-duty [data-testid=glide-cell-7-{row}]")  # type: ignore
    assert cell.inner_text() == str(value)


def _rows(page: object, key: str) -> list[str]:
    """The rows of the table in container ``key``, cells joined by single spaces."""
    rows = page.locator(f".st-key-{key} tr").all()  # type: ignore[attr-defined]
    return [" ".join(r.inner_text().split()) for r in rows]


def _run(page: object) -> tuple[list[str], list[str]]:
    """Run; the rows of the breach table and of the comparison table."""
    page.get_by_role("button", name="Run base and edited plan").click()  # type: ignore
    page.get_by_text("runs done").wait_for()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Make the report").wait_for()  # type: ignore
    _settle(page)
    return _rows(page, "breaches"), _rows(page, "comparison")


def _wait_row(rows: list[str], metric: str) -> str:
    return next(row for row in rows if row.startswith(metric + " "))


def test_edit_run_download_in_a_real_browser(app_url: str, browser: object,
                                             tmp_path: Path) -> None:
    committed = SCREENSHOT.stat().st_mtime_ns
    page = _open(browser, app_url)
    _set_number(page, "Replications", 2)
    _set_number(page, "Days simulated", 8)
    breaches_before, before = _run(page)
    assert "Changes: none" in page.inner_text("body")  # type: ignore[attr-defined]
    assert "worse" not in _wait_row(before, "wait_mean_min")

    # Shimla's general medicine (the first session) from 2 doctors to 1
    sc = load_scenario(ROOT / "scenarios" / "himachal-baseline.yaml")
    table = planner.duty_table(sc)
    row = int(table.index[(table["hub"] == "igmc_shimla") & (table["specialty"] == "medicine")][0])
    assert int(table.loc[row, "on duty"]) == 2
    _edit_on_duty(page, row, 1)
    breaches_after, after = _run(page)
    body = page.inner_text("body")  # type: ignore[attr-defined]
    assert breaches_after != breaches_before
    shimla = [row for row in breaches_after if "igmc_shimla/medicine" in row]
    assert shimla, "one doctor cannot see Shimla's medicine requests within 30 minutes"
    assert not set(shimla) & set(breaches_before)
    assert "igmc_shimla medicine working 09:30-16:00, doctors: 2 to 1" in body
    assert after != before
    base_wait, plan_wait = (float(v.replace(",", ""))
                            for v in _wait_row(after, "wait_mean_min").split()[2:4])
    assert plan_wait > 2 * base_wait  # half of Shimla's medicine doctors: waits grow

    shot = tmp_path / "app.png"
    page.screenshot(path=str(shot), full_page=False)  # type: ignore[attr-defined]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if REFRESH:
        shutil.copyfile(shot, SCREENSHOT)
    else:  # a test run leaves the repository as it found it
        assert SCREENSHOT.stat().st_mtime_ns == committed

    with page.expect_download() as dl:  # type: ignore[attr-defined]
        page.get_by_role("button", name="Download the plan (YAML)").click()  # type: ignore
    space = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios", space)
    plan_file = space / "edited.yaml"
    dl.value.save_as(plan_file)
    plan = load_scenario(plan_file)  # validates, through extends: himachal-baseline.yaml
    shimla = next(h for h in plan.hubs if h.id == "igmc_shimla")
    assert [s.doctors for s in shimla.roster if s.specialty == "medicine"] == [1]
    assert plan.demand == sc.demand and plan.hubs != sc.hubs

    # a second tab is a second session: the first tab's edit is not there
    other = _open(browser, app_url)
    _set_number(other, "Replications", 2)
    _set_number(other, "Days simulated", 8)
    _run(other)
    assert "Changes: none" in other.inner_text("body")  # type: ignore[attr-defined]
    other.close()  # type: ignore[attr-defined]
    page.close()  # type: ignore[attr-defined]


def test_bad_upload_shows_the_cli_message(app_url: str, browser: object,
                                          tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    text = (ROOT / "scenarios" / "himachal-baseline.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("specialty: cardiology", "specialty: cardiolgy", 1),
                   encoding="utf-8")
    page = _open(browser, app_url)
    page.locator("input[type=file]").set_input_files(str(bad))  # type: ignore[attr-defined]
    page.get_by_text("The scenario has problems").wait_for()  # type: ignore[attr-defined]
    shown = page.get_by_test_id("stCode").inner_text()  # type: ignore[attr-defined]
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "specialty: cardiology" in ln)
    assert f"uploads/mine.yaml:{line}:" in shown
    assert "'cardiolgy' is not defined; did you mean 'cardiology'?" in shown
    page.locator("input[type=file]").set_input_files(  # type: ignore[attr-defined]
        {"name": "junk.yaml", "mimeType": "text/yaml", "buffer": b"hubs: [\n"})
    junk = page.get_by_test_id("stCode").filter(has_text="junk.yaml")  # type: ignore
    junk.wait_for()
    assert "mine.yaml" not in junk.inner_text()
    page.close()  # type: ignore[attr-defined]
