"""The Scenarios page on a copy of the national sample: copy, rename and delete a scenario; filter the nodes
and links and switch the filtered ones off; a location's pin on the map switches it; typed settings are
saved (and refused in words); a group constraint is added, edited and removed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import EnergyModel, Scenario, User
from tests.e2e.ui import hydrated, open_dialog, register

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password"
NATIONAL = "National-scale example model"


def _register_and_copy(page: Page) -> str:
    email = register(page, prefix="scenarios", display_name="Scenario Editor", password=PASSWORD)
    tile = page.locator(".model-tile").filter(has=page.get_by_role("heading", name=NATIONAL, exact=True))
    tile.get_by_role("button", name="Make a copy").click()
    expect(page.locator("#model-name")).to_have_text(f"Copy of {NATIONAL}")
    return email


def test_manage_scenarios_switches_settings_and_constraints(page: Page, base_url: str, app_database_url: str):
    page.set_default_timeout(30_000)
    email = _register_and_copy(page)
    page.get_by_role("navigation", name="Model editor").get_by_role("link", name="Scenarios", exact=True).click()
    expect(page).to_have_url(re.compile(r"/scenarios/?$"))
    hydrated(page)
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect(page.get_by_role("button", name="Show scenario base")).to_be_visible()

    # Copy base, rename the copy, and find it in the list with its changes.
    open_dialog(page.get_by_role("button", name="Copy the shown scenario"), page.get_by_role("dialog"))
    page.get_by_label("Name", exact=True).fill("Windless")
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_text("Copied to scenario “Windless”.")).to_be_visible()
    open_dialog(page.get_by_role("button", name="Rename the shown scenario"), page.get_by_role("dialog"))
    page.get_by_label("Name", exact=True).fill("base")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#scenario-form-error")).to_contain_text("already has a scenario called “base”")
    page.get_by_label("Name", exact=True).fill("No transmission")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved scenario “No transmission”.")).to_be_visible()

    # Filter to the links and switch them all off; the list counts them.
    page.get_by_label("Base technology", exact=True).select_option("transmission")
    expect(page.locator(".switch-row").first).to_contain_text("→")
    shown = page.locator(".switch-row").count()
    page.get_by_role("button", name="Switch all filtered off").click()
    expect(page.get_by_text(re.compile(rf"Switched off {shown} nodes and links in “No transmission”"))).to_be_visible()
    expect(page.locator("#switch-summary")).to_contain_text(f"{shown} of {shown} links are switched off")
    expect(page.locator(".scenario-row", has_text="No transmission")).to_contain_text(f"{shown} links off")

    # A click on region2's pin switches everything there off.
    page.get_by_label("Base technology", exact=True).select_option("any")
    # The first switch's toast must be gone, or it would answer for the second.
    expect(page.get_by_text(re.compile(r"Switched off \d+ nodes and links"))).to_have_count(0, timeout=15_000)
    page.get_by_role("button", name=re.compile(r"^region2 \(\d+ of \d+ on\)")).click()
    expect(page.get_by_text(re.compile(r"Switched off \d+ nodes and links in “No transmission”"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^region2 \(0 of \d+ on\)"))).to_be_visible()
    page.get_by_label("Location", exact=True).fill("region2")
    expect(page.locator(".switch-row").first).to_contain_text("region2")
    for switch in page.get_by_role("switch").all():
        expect(switch).not_to_be_checked()

    # Settings: operate mode asks for its window; a bad one is refused in words, a good one saved.
    page.get_by_role("tab", name="Settings").click()
    page.get_by_label("Mode", exact=True).select_option("operate")
    page.get_by_label("Window", exact=True).fill("one day")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-error")).to_contain_text("The window “one day” is not a length of time")
    page.get_by_label("Window", exact=True).fill("24h")
    page.get_by_label("monetary", exact=True).fill("2")
    page.get_by_role("checkbox", name=re.compile("^Cyclic storage")).click()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Saved the settings of “No transmission”.")).to_be_visible()

    # A group constraint: added, edited, removed.
    page.get_by_role("tab", name="Group constraints").click()
    expect(page.get_by_text("This scenario has no group constraints.")).to_be_visible()
    open_dialog(page.get_by_role("button", name="Add constraint"), page.get_by_role("dialog"))
    page.get_by_label("Kind of constraint", exact=True).select_option("emissions_cap")
    page.get_by_label("Name", exact=True).fill("tiny_costs")
    page.get_by_label("Cap", exact=True).fill("-5")
    page.get_by_role("button", name="Save constraint").click()
    expect(page.locator("#constraint-error")).to_be_visible()
    page.get_by_label("Cap", exact=True).fill("1e9")
    page.get_by_role("button", name="Save constraint").click()
    row = page.locator(".constraint-row", has_text="tiny_costs")
    expect(row).to_contain_text("Emissions cap")
    open_dialog(row.get_by_role("button", name="Edit constraint tiny_costs"), page.get_by_role("dialog"))
    page.get_by_label("Name", exact=True).fill("cost_ceiling")
    page.get_by_role("button", name="Save constraint").click()
    expect(page.locator(".constraint-row", has_text="cost_ceiling")).to_be_visible()
    page.get_by_role("button", name="Remove constraint cost_ceiling").click()
    expect(page.get_by_text("This scenario has no group constraints.")).to_be_visible()

    with session_scope(app_database_url) as s:
        owner = s.exec(select(User).where(User.email == email)).one()
        model = s.exec(select(EnergyModel).where(EnergyModel.owner_id == owner.id)).one()
        scenario = s.exec(select(Scenario).where(Scenario.model_id == model.id,
                                                 Scenario.name == "No transmission")).one()
        assert scenario.settings["config.init.mode"] == "operate"
        assert scenario.settings["data_definitions.cyclic_storage"] is False
        assert scenario.settings["data_definitions.objective_cost_weights"]["data"] == [2.0]

    # Delete it: asked first, then gone with its switches.
    page.get_by_role("button", name="Delete the shown scenario").click()
    page.get_by_role("button", name="Delete scenario").click()
    expect(page.get_by_text("Deleted scenario “No transmission”.")).to_be_visible()
    expect(page.get_by_role("button", name="Show scenario No transmission")).to_have_count(0)
