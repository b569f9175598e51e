"""A run's Log, opened while the run works, shows HiGHS's lines as they come, without a reload;
when the run ends it shows the planner's log and the full log downloads."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui import register

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
NATIONAL = "National-scale example model"
# The live log's text, read in the browser: HiGHS's iteration log came, Calliope's line after the
# solve (written once HiGHS is done) not yet.
SOLVER_AT_WORK = """() => { const t = document.getElementById('run-log-text')?.textContent || '';
  return t.includes('Iteration') && t.includes('Presolving model') ? !t.includes('solver finished running') : null }"""
SCROLLED_TO_END = """() => { const e = document.getElementById('run-log-text');
  return e.scrollHeight > e.clientHeight && e.scrollTop + e.clientHeight >= e.scrollHeight - 4 }"""


def test_live_log_shows_solver_lines_before_the_run_ends(page: Page, base_url: str):
    page.set_default_timeout(30_000)
    register(page, prefix="live-log", display_name="Live Log Planner", password="a-long-password")
    tile = page.locator(".model-tile").filter(has=page.get_by_role("heading", name=NATIONAL, exact=True))
    tile.get_by_role("button", name="Make a copy").click()
    expect(page.locator("#model-name")).to_have_text(f"Copy of {NATIONAL}")
    page.get_by_role("navigation", name="Model editor").get_by_role("link", name="Runs", exact=True).click()

    # Two weeks hourly: HiGHS works for a few seconds.
    expect(page.locator("#run-start")).not_to_have_value("")
    page.fill("#run-start", "2005-01-01")
    page.fill("#run-end", "2005-01-14")
    expect(page.locator("#run-end")).to_have_value("2005-01-14")
    page.wait_for_timeout(400)  # let the dates reach the server before the click
    page.click("#run-button")
    row = page.locator(".run-row").first
    expect(row).to_contain_text("2005-01-14")
    expect(row.locator(".run-status")).to_have_text(re.compile("queued|building|solving"))

    row.locator(".run-log-button").dispatch_event("click")
    dialog = page.locator("#run-log-dialog")
    expect(dialog.locator("#run-log-live")).to_have_text("Live: updating while the run works")
    # HiGHS's lines come while it solves (not once the run is over), and the row still works.
    seen = page.wait_for_function(SOLVER_AT_WORK, timeout=45_000, polling=100)
    assert seen.json_value() is True, "HiGHS's lines came only after it had finished"
    expect(dialog.locator(".run-log-status")).not_to_have_text("succeeded", timeout=100)
    assert row.locator(".run-status").text_content() != "succeeded"
    # The log is longer than its box, which keeps its newest lines in view.
    page.wait_for_function(SCROLLED_TO_END, timeout=5_000)

    # The run ends: the planner's log (what happened first) replaces the live one, with the full log.
    expect(dialog.locator(".run-log-status")).to_have_text("succeeded", timeout=60_000)
    expect(dialog.locator("#run-log-live")).to_have_count(0)
    expect(dialog.locator("#run-log-text")).to_contain_text("The solver found an optimal solution")
    with page.expect_download() as download_info:
        dialog.locator("#run-log-download").click()
    full = open(download_info.value.path(), encoding="utf-8").read()
    assert "DEBUG calliope.backend" in full and "Model status        : Optimal" in full
