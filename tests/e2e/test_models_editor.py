"""Models in a real browser: create one, change its details, copy the national sample, rename and delete it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui import register

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password"
NATIONAL = "National-scale example model"


def _tile(page: Page, name: str):
    return page.locator(".model-tile").filter(has=page.get_by_role("heading", name=name, exact=True))


def test_create_copy_rename_and_delete_models(page: Page, base_url: str):
    page.set_default_timeout(30_000)
    register(page, prefix="builder", display_name="Model Builder", password=PASSWORD)
    expect(page.get_by_text("You have no models of your own yet")).to_be_visible()
    expect(_tile(page, NATIONAL).locator(".model-role")).to_have_text("View only")
    expect(_tile(page, NATIONAL).get_by_role("button", name="Rename")).to_have_count(0)
    expect(_tile(page, NATIONAL).get_by_role("button", name="Delete")).to_have_count(0)

    # A new model: an empty name is refused, a good one opens the new model's Overview.
    page.get_by_role("button", name="New model").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("   ")
    dialog.get_by_role("button", name="Create model").click()
    expect(page.get_by_text("Give the model a name.")).to_be_visible()
    dialog.get_by_label("Name").fill("Island grid")
    dialog.get_by_label("Description").fill("Two towns and a cable")
    dialog.get_by_role("combobox", name="Time zone").click()
    page.get_by_role("option", name="Europe/Oslo", exact=True).click()
    dialog.get_by_role("button", name="Create model").click()
    expect(page).to_have_url(re.compile(r"/models/\d+/?$"))
    expect(page.locator("#model-name")).to_have_text("Island grid")
    expect(page.locator("#model-role")).to_have_text("Owner")
    expect(page.locator("#model-counts")).to_contain_text("Scenarios")
    expect(page.locator("#activity-list")).to_contain_text("Model Builder created this model")
    expect(page.get_by_label("Description")).to_have_value("Two towns and a cable")
    expect(page.get_by_role("combobox", name="Time zone")).to_contain_text("Europe/Oslo")

    # Its details are edited in place.
    page.get_by_label("Name").fill("Island grid 2030")
    page.get_by_label("Description").fill("Three towns")
    page.get_by_role("button", name="Save details").click()
    expect(page.get_by_text("Saved the model's details.")).to_be_visible()
    expect(page.locator("#model-name")).to_have_text("Island grid 2030")
    expect(page.locator("#activity-list")).to_contain_text("Renamed the model from “Island grid” to “Island grid 2030”")

    # Copy the national sample from My models: the copy opens, it is ours, its history says where it came from.
    page.get_by_role("link", name="My models").first.click()
    expect(page).to_have_url(re.compile(r"/models/?$"))
    expect(_tile(page, "Island grid 2030").locator(".model-role")).to_have_text("Owner")
    expect(_tile(page, "Island grid 2030")).to_contain_text("Changed just now")
    _tile(page, NATIONAL).get_by_role("button", name="Make a copy").click()
    expect(page.locator("#model-name")).to_have_text(f"Copy of {NATIONAL}")
    expect(page.locator("#model-role")).to_have_text("Owner")
    expect(page.locator("#view-only-banner")).to_have_count(0)
    expect(page.locator("#activity-list")).to_contain_text(f"Model Builder created this model from {NATIONAL}")
    expect(page.get_by_text("Combined cycle gas turbine")).to_be_visible()

    # Rename it from its card.
    page.get_by_role("link", name="My models").first.click()
    _tile(page, f"Copy of {NATIONAL}").get_by_role("button", name="Rename").click()
    page.get_by_role("dialog").get_by_label("New name").fill("My national model")
    page.get_by_role("dialog").get_by_role("button", name="Rename").click()
    expect(page.get_by_text("Renamed to “My national model”.")).to_be_visible()
    expect(_tile(page, "My national model")).to_be_visible()

    # Delete asks first, names the model and says what goes with it.
    _tile(page, "My national model").get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("Delete “My national model”?")
    expect(confirm).to_contain_text("all its runs and their results")
    confirm.get_by_role("button", name="Cancel").click()
    expect(_tile(page, "My national model")).to_be_visible()
    _tile(page, "My national model").get_by_role("button", name="Delete").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete model").click()
    expect(page.get_by_text("Deleted “My national model” with its runs and results.")).to_be_visible()
    expect(_tile(page, "My national model")).to_have_count(0)
    expect(_tile(page, "Island grid 2030")).to_be_visible()
