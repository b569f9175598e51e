"""Compare two runs in the browser: run a copy of the national-scale sample, double the battery's
flow_cap_max, run again, and the compare page lists that parameter beside the capacity it changed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui import editor_area, hydrated, register, run_days

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "a-long-password"
NATIONAL = "National-scale example model"
DAY = "2005-01-01"


def _pick(page: Page, label: str, run_id: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=re.compile(rf"^#{run_id} · ")).click()
    expect(page.get_by_label(label, exact=True)).to_contain_text(f"#{run_id} · ")


def test_compare_two_runs_of_a_model(page: Page, base_url: str):
    page.set_default_timeout(30_000)
    register(page, prefix="comparer", display_name="Compare Planner", password=PASSWORD)
    tile = page.locator(".model-tile").filter(has=page.get_by_role("heading", name=NATIONAL, exact=True))
    tile.get_by_role("button", name="Make a copy").click()
    expect(page.locator("#model-name")).to_have_text(f"Copy of {NATIONAL}")
    model_id = re.search(r"/models/(\d+)", page.url)[1]
    first = run_days(page, DAY, DAY)

    # One run: nothing to compare yet.
    page.goto(f"/models/{model_id}/compare")
    hydrated(page)
    expect(page.get_by_role("heading", name="Compare runs", level=1)).to_be_visible()
    expect(page.locator("#compare-empty")).to_contain_text(
        "Run the model twice (e.g. with a changed parameter) to compare the runs.")
    page.locator("#back-to-model").click()
    expect(page).to_have_url(re.compile(rf"/models/{model_id}/runs"))

    # The battery may deliver twice the power, then the model runs again.
    editor_area(page, "Technologies")
    page.get_by_role("link", name="Battery storage").click()
    expect(page.locator("#tech-heading")).to_have_text("Battery storage")
    page.get_by_label("Search parameters").fill("flow_cap_max")
    row = page.locator('.parameter-row[data-parameter="flow_cap_max"]')
    row.get_by_label("New value of flow_cap_max").fill("2000")
    row.get_by_role("button", name="Set flow_cap_max").click()
    expect(page.get_by_text("Set flow_cap_max of “Battery storage” to 2000.")).to_be_visible()
    second = run_days(page, DAY, DAY)

    # With two runs that have results, the Runs page leads to the comparison.
    page.get_by_role("link", name="Compare runs").click()
    expect(page).to_have_url(re.compile(rf"/models/{model_id}/compare"))
    hydrated(page)
    _pick(page, "First run", first)
    _pick(page, "Second run", second)
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", name=f"Run #{first} against run #{second}")).to_be_visible()
    change = page.locator(".input-change").filter(has_text="flow_cap_max")
    expect(change).to_have_count(1)
    expect(change).to_have_attribute("data-text", "battery: flow_cap_max 1000 → 2000")
    expect(change.locator("td")).to_have_text([re.compile(r"^battery"), re.compile(r"^flow_cap_max"), "1000", "2000"])
    battery = page.locator("#capacity-changes .result-delta").filter(has_text="Battery storage").filter(
        has_text="flow capacity")
    expect(battery).to_have_count(1)
    expect(battery.locator("td").nth(1)).to_have_text("1,000")
    expect(battery.locator("td").nth(3)).to_have_text(re.compile(r"^\+[1-9]"))  # a nonzero increase
    expect(page.locator("#objective")).to_contain_text("Change")
    expect(page.locator("#capacity-compare-plot")).to_be_visible()
    expect(page.locator("#cost-compare-plot")).to_be_visible()
    expect(page.locator("h1")).to_have_count(1)

    # A link with both runs opens the comparison ready; the same run twice is refused in words.
    page.goto(f"/models/{model_id}/compare?a={second}&b={first}")
    hydrated(page)
    expect(page.get_by_role("heading", name=f"Run #{second} against run #{first}")).to_be_visible()
    expect(page.locator(".input-change").filter(has_text="flow_cap_max")).to_have_attribute(
        "data-text", "battery: flow_cap_max 2000 → 1000")
    page.goto(f"/models/{model_id}/compare?a={first}&b={first}")
    hydrated(page)
    expect(page.locator("#compare-error")).to_contain_text("Pick two different runs to compare.")
