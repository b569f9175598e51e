"""A planner clusters six days into two representative days: the form checks the dates and
estimates the run's size before it is queued and refuses as many representative days as days,
the run succeeds, its row says how it was solved, and its results page opens."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui import register

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_clustered_run_is_estimated_solved_and_its_results_open(page: Page, base_url: str):
    page.set_default_timeout(30_000)
    register(page, prefix="cluster", display_name="Cluster Planner", password="a-long-password")
    page.locator(".model-card", has_text="National-scale example model").click()
    expect(page.locator("#model-name")).to_have_text("National-scale example model")
    page.get_by_role("navigation", name="Model editor").get_by_role("link", name="Runs").click()
    expect(page.locator("#run-start")).not_to_have_value("")

    page.fill("#run-start", "2005-01-01")
    page.fill("#run-end", "2005-01-06")
    expect(page.locator("#run-estimate")).to_contain_text("144 time steps")
    # The advice before a run follows the dates too: the check, and the timeseries cover them.
    # (each date typed starts the check anew; on a busy machine the last one takes seconds)
    expect(page.locator("#model-check")).to_contain_text(re.compile(r"Model check: nothing found|Before you run"),
                                                         timeout=20_000)
    expect(page.locator("#timeseries-coverage")).to_contain_text(
        "Every timeseries the scenario uses has data for the whole run period.", timeout=20_000)
    days = page.get_by_label("Representative days (optional)", exact=True)
    days.fill("6")
    expect(page.locator("#run-estimate")).to_contain_text(
        "The run has 6 days, so 6 representative days would cluster nothing")
    days.fill("2")
    expect(page.locator("#run-estimate")).to_contain_text("48 time steps")
    page.wait_for_timeout(400)  # let the field reach the server before the click

    before = page.locator(".run-row").count()
    page.click("#run-button")
    expect(page.locator(".run-row")).to_have_count(before + 1, timeout=30_000)
    row = page.locator(".run-row").first
    expect(row).to_contain_text("as 2 representative days")
    expect(row.locator(".run-status")).to_have_text("succeeded", timeout=180_000)
    run_id = row.get_attribute("data-run-id")

    page.goto(f"/runs/{run_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(rf"Results of Run #{run_id}"))
    expect(page.locator("#capacity-plot .main-svg").first).to_be_visible()
    expect(page.get_by_text("2 representative days", exact=True)).to_be_visible()
