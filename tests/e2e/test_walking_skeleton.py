"""The walking skeleton in a real browser: register, log in, run a sample model, read its results.

Everything is real: `engage serve` (migrations, samples, RQ workers, the Reflex app in
production mode), Redis, HiGHS and headless Chromium.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui import activate_by_email, hydrated

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password"


def _goto(page: Page, path: str) -> None:
    page.goto(path)
    hydrated(page)


def test_register_login_run_and_read_results(page: Page, base_url: str, tmp_path):
    page.set_default_timeout(30_000)
    email = f"planner-{uuid.uuid4().hex[:8]}@example.org"

    # A visitor is sent to the login page, and from there registers.
    _goto(page, "/models")
    expect(page).to_have_url(re.compile(r"/login\?next=/models"))
    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(re.compile(r"/register"))
    hydrated(page)
    page.fill("#email", email)
    page.fill("#display_name", "Test Planner")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", "something else")
    page.click("#register-submit")
    expect(page.locator("#register-error")).to_contain_text("not the same")
    page.fill("#confirm", PASSWORD)
    page.click("#register-submit")
    activate_by_email(page, email)  # the link in the activation email logs the planner in

    # Log out, then a wrong password is refused and the right one lets the planner in.
    page.click("#logout")
    expect(page).to_have_url(re.compile(r"/login"))
    hydrated(page)
    page.fill("#email", email)
    page.fill("#password", "wrong-password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_contain_text("email or password is not right")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    expect(page).to_have_url(re.compile(r"/models/?$"))

    # Open the national-scale sample.
    page.locator(".model-card", has_text="National-scale example model").click()
    expect(page.locator("#model-name")).to_have_text("National-scale example model")
    expect(page.get_by_text("Combined cycle gas turbine")).to_be_visible()
    expect(page.get_by_text("region1_1")).to_be_visible()
    page.get_by_role("navigation", name="Model editor").get_by_role("link", name="Runs").click()
    expect(page).to_have_url(re.compile(r"/models/\d+/runs/?$"))
    expect(page.locator("#run-scenario")).to_contain_text("base")
    expect(page.locator("#run-solver")).to_contain_text("HiGHS")
    expect(page.locator("#run-start")).to_have_value("2005-01-01")
    model_url = page.url

    # Any reload from here on would drop this marker.
    page.evaluate("window.__engageNoReload = 'still the same page'")

    # A one-day run with HiGHS.
    page.fill("#run-start", "2005-01-01")
    page.fill("#run-end", "2005-01-01")
    expect(page.locator("#run-end")).to_have_value("2005-01-01")
    page.wait_for_timeout(300)  # let the date reach the server before the click
    page.click("#run-button")

    first_run = page.locator(".run-row").first
    # The row shows once the run is recorded and queued (slower while workers are busy on both cores).
    expect(first_run).to_contain_text("2005-01-01", timeout=30_000)
    expect(first_run).to_contain_text("HiGHS")
    run_id = first_run.get_attribute("data-run-id")
    status = first_run.locator(".run-status")
    expect(status).to_have_text(re.compile(r"queued|building|solving"))
    # The status changes by itself: no reload, no navigation.
    expect(status).to_have_text("succeeded", timeout=180_000)
    expect(first_run).to_contain_text("Solved")
    assert page.evaluate("window.__engageNoReload") == "still the same page"
    assert page.url == model_url

    # Its log (read only when the dialog opens): status, message, calliope's and HiGHS's output.
    # The "Run #N is queued" toast may still cover the row's buttons (headless Chromium does not
    # always let it fade): the click goes to the button itself.
    first_run.locator(".run-log-button").dispatch_event("click")
    dialog = page.locator("#run-log-dialog")
    expect(dialog.locator(".run-log-status")).to_have_text("succeeded")
    expect(dialog.locator("#run-log-message")).to_contain_text("Solved")
    expect(dialog.locator("#run-log-text")).to_contain_text(re.compile(r"calliope|HiGHS"))
    page.click("#run-log-close")
    expect(dialog).to_have_count(0)

    # A reload while a run is going picks the run up again (the database row is the truth).
    page.locator("#run-resample").click()
    page.get_by_role("option", name="Every 6 hours").click()
    expect(page.locator("#run-resample")).to_contain_text("Every 6 hours")
    page.click("#run-button")
    second_run = page.locator(".run-row").first
    expect(second_run).not_to_have_attribute("data-run-id", run_id)
    expect(second_run).to_contain_text("every 6h")
    page.reload()
    hydrated(page)
    second_run = page.locator(".run-row").first
    expect(second_run.locator(".run-status")).to_have_text("succeeded", timeout=180_000)

    # The results of the hourly run: both charts drawn, with traces.
    page.locator(f'.run-row[data-run-id="{run_id}"] .results-link').click()
    expect(page).to_have_url(re.compile(rf"/runs/{run_id}/?$"))
    for plot in ("#capacity-plot", "#dispatch-plot"):
        expect(page.locator(f"{plot} .main-svg").first).to_be_visible()
    expect(page.locator("#capacity-plot .barlayer .trace").first).to_be_visible()
    expect(page.locator("#dispatch-plot .scatterlayer .trace").first).to_be_visible()
    expect(page.locator("#capacity-plot")).to_contain_text("Combined cycle gas turbine")
    expect(page.get_by_text("2005-01-01", exact=True)).to_be_visible()  # the run's one day

    # The NetCDF download is the real file.
    with page.expect_download() as download_info:
        page.click("#download-netcdf")
    download = download_info.value
    assert download.suggested_filename.endswith(".nc")
    head = open(download.path(), "rb").read(8)
    assert head.startswith(b"\x89HDF") or head.startswith(b"CDF"), head
    import calliope

    solved = calliope.read_netcdf(download.path())
    objective = float(solved.results["min_cost_optimisation"].values)
    assert objective > 0 and "flow_cap" in solved.results
    # So is the inputs zip (model.yaml with its data tables): `calliope run` gives the same objective.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download inputs (zip)").click()
    assert download_info.value.suggested_filename.endswith("-inputs.zip")
    with zipfile.ZipFile(download_info.value.path()) as archive:
        archive.extractall(tmp_path / "inputs")
    bare = subprocess.run([str(Path(sys.executable).with_name("calliope")), "run",
                           str(tmp_path / "inputs" / "model" / "model.yaml"), "--quiet",
                           "--save_netcdf", str(tmp_path / "bare.nc")], capture_output=True, text=True, timeout=300)
    assert bare.returncode == 0, bare.stderr[-2000:]
    bare_objective = float(calliope.read_netcdf(tmp_path / "bare.nc").results["min_cost_optimisation"].values)
    assert bare_objective == pytest.approx(objective, rel=1e-6)
    # And the outputs zip: every result as a tidy CSV, with a README of columns and units.
    with page.expect_download() as download_info:
        page.get_by_role("button", name=re.compile(r"Download outputs")).click()
    assert download_info.value.suggested_filename.endswith("-outputs.zip")
    with zipfile.ZipFile(download_info.value.path()) as archive:
        assert {"README.txt", "flow_cap.csv", "flow_out.csv", "cost.csv"} <= set(archive.namelist())
        assert "columns: node, tech, carrier, value" in archive.read("README.txt").decode()

    page.wait_for_timeout(800)  # let plotly finish its transitions before the picture
    target = tmp_path / "results.png"
    page.screenshot(path=str(target), full_page=True)
