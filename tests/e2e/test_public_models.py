"""A public model in two browsers: its owner makes it public and runs it; a visitor without a login
finds it under Public models, reads its overview, runs and results and downloads the run's inputs,
and can change nothing; made private again, it sends the visitor to the login page. Controls are
found by label and role."""

from __future__ import annotations

import re
import uuid
import zipfile

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.ui import another_browser, editor_area, hydrated, register, run_days

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password"
SAMPLE = "National-scale example model"


def test_a_visitor_reads_a_public_model_its_runs_and_results(page: Page, browser: Browser, base_url: str,
                                                             browser_context_args: dict, mailbox, tmp_path):
    page.set_default_timeout(30_000)
    register(page, prefix="publisher", display_name="Pat Publisher", password=PASSWORD)

    # The owner copies the sample, names the copy, makes it public and runs it.
    page.locator(".model-tile").filter(has=page.get_by_role("heading", name=SAMPLE, exact=True)).first.click()
    expect(page.locator("#model-name")).to_have_text(SAMPLE)
    page.get_by_role("button", name="Make a copy").click()
    expect(page.get_by_text("Made your own copy.")).to_be_visible()
    name = f"Open grid {uuid.uuid4().hex[:4]}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Save details").click()
    expect(page.locator("#model-name")).to_have_text(name)
    model_url = page.url
    public = page.get_by_role("switch", name=re.compile("^Public: anyone can read this model"))
    expect(public).not_to_be_checked()
    public.click()
    expect(page.get_by_text("Public now: anyone can read this model")).to_be_visible()
    expect(public).to_be_checked()
    run_id = run_days(page, "2005-01-01", "2005-01-01")

    with another_browser(browser, browser_context_args) as guest:  # a visitor's, never logged in
        # No login: the login page offers the public models; the model is there, read only.
        guest.goto("/login")
        hydrated(guest)
        guest.get_by_role("link", name="public models", exact=True).click()
        expect(guest.get_by_role("heading", name="Public models", level=1)).to_be_visible()
        tile = guest.locator(".model-tile").filter(has=guest.get_by_role("heading", name=name, exact=True))
        expect(tile).to_contain_text("Pat Publisher")  # the owner's name, never an address
        expect(tile).not_to_contain_text("@")
        expect(tile.get_by_role("button", name="Make a copy")).to_have_count(0)
        tile.click()
        expect(guest.locator("#model-name")).to_have_text(name)
        expect(guest.get_by_role("heading", level=1)).to_have_count(1)
        expect(guest.locator("#view-only-banner")).to_contain_text("Public model, read only")
        expect(guest.get_by_label("Description", exact=True)).to_have_count(0)
        expect(guest.get_by_role("button", name="Make a copy")).to_have_count(0)
        expect(guest.get_by_role("button", name="Check model")).to_have_count(0)
        expect(guest.get_by_role("switch", name=re.compile("^Public"))).to_have_count(0)
        expect(guest.get_by_text("Log in to make your own copy of this model and run it.")).to_be_visible()
        expect(guest.locator("#nav-public")).to_be_visible()

        # Every area of the editor opens for the visitor, read only.
        for area in ("Locations", "Carriers", "Technologies", "Nodes & links", "Timeseries", "Scenarios"):
            editor_area(guest, area)
            expect(guest.locator(".page-loading")).to_have_count(0)
            expect(guest.locator("#model-name")).to_have_text(name)
            expect(guest.locator("#view-only-banner")).to_be_visible()
            assert "/login" not in guest.url

        # Its runs: the owner's run with its results; nothing to start, cancel or delete.
        editor_area(guest, "Runs")
        expect(guest.locator("#visitor-runs-note")).to_be_visible()
        expect(guest.locator("#run-button")).to_have_count(0)
        row = guest.locator(f'.run-row[data-run-id="{run_id}"]')
        expect(row.locator(".run-status")).to_have_text("succeeded")
        expect(row.get_by_role("button", name=f"Delete run #{run_id}")).to_have_count(0)
        row.get_by_role("button", name="Results").click()
        expect(guest).to_have_url(re.compile(rf"/runs/{run_id}/?$"))
        expect(guest.locator("#capacity-plot .main-svg").first).to_be_visible()
        expect(guest.locator("#dispatch-plot .main-svg").first).to_be_visible(timeout=60_000)
        with guest.expect_download() as download:
            guest.get_by_role("button", name="Download inputs (zip)").click()
        path = tmp_path / "inputs.zip"
        download.value.save_as(path)
        with zipfile.ZipFile(path) as archive:
            assert "model.yaml" in {n.rsplit("/", 1)[-1] for n in archive.namelist()}

        # Private again: the visitor's next look at it goes to the login page, and back after it.
        page.goto(model_url)
        hydrated(page)
        page.get_by_role("switch", name=re.compile("^Public: anyone can read this model")).click()
        expect(page.get_by_text("Private again")).to_be_visible()
        guest.goto(model_url)
        expect(guest).to_have_url(re.compile(r"/login\?next=/models/\d+"))
        guest.goto(f"/runs/{run_id}")
        expect(guest).to_have_url(re.compile(rf"/login\?next=/runs/{run_id}"))
