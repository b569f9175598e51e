"""The Nodes & links page in a real browser: place techs in the grid, whole columns, links, view only.

The models are written straight into the test server's database (the other editor pages
build them through the UI in their own tests); every change on this page goes through the UI.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import Carrier, EnergyModel, Location, Node, Technology, TechnologyCarrier, User
from tests.e2e.ui import hydrated, register

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password"


def _seed(url: str, email: str, name: str, locations: list[str], techs: int, *, place_every: int = 0) -> int:
    """A model of the user: locations, `techs` supply/demand techs and one transmission tech."""
    with session_scope(url) as s:
        owner = s.exec(select(User).where(User.email == email)).one()
        model = EnergyModel(name=name, owner_id=owner.id)
        s.add(model)
        s.flush()
        power = Carrier(model_id=model.id, name="power")
        s.add(power)
        locs = [Location(model_id=model.id, name=n) for n in locations]
        names = [("solar_pv", "Solar PV", "supply"), ("power_demand", "Power demand", "demand")]
        names += [(f"tech_{i:02d}", f"Tech {i:02d}", "supply") for i in range(techs - 2)]
        tech_rows = [Technology(model_id=model.id, name=n, display_name=d, base_tech=b) for n, d, b in names]
        hvac = Technology(model_id=model.id, name="hvac", display_name="HVAC", base_tech="transmission")
        s.add_all([*locs, *tech_rows, hvac])
        s.flush()
        s.add_all([TechnologyCarrier(technology_id=t.id, carrier_id=power.id, role="out") for t in tech_rows])
        if place_every:
            s.add_all([Node(model_id=model.id, location_id=loc.id, technology_id=t.id)
                       for i, loc in enumerate(locs) for j, t in enumerate(tech_rows) if (i + j) % place_every == 0])
        return model.id


def test_nodes_grid_links_and_view_only(page: Page, base_url: str, app_database_url: str):
    page.set_default_timeout(20_000)
    db_url = app_database_url
    email = register(page, prefix="nodes", display_name="Grid Planner", password=PASSWORD)
    small = _seed(db_url, email, "Fjords", ["Oslo", "Bergen", "Tromso"], 3)
    big = _seed(db_url, email, "Big grid", [f"site_{i:03d}" for i in range(200)], 30, place_every=3)

    # A big model: one page of locations x 30 techs (bench/builder_pages.py measures how fast).
    page.goto(f"/models/{big}/nodes")
    expect(page.get_by_role("checkbox", name="Tech 27 at site_024")).to_be_visible()
    expect(page.locator("#placement-grid input[type=checkbox]")).to_have_count(25 * 30)
    expect(page.locator("#grid-page")).to_have_text("Locations 1–25 of 200")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#grid-page")).to_have_text("Locations 26–50 of 200")

    # The small model: tick a box, and the node's own page is one click away.
    page.goto(f"/models/{small}/nodes")
    hydrated(page)
    pv_oslo = page.get_by_role("checkbox", name="Solar PV at Oslo")
    expect(pv_oslo).not_to_be_checked()
    pv_oslo.click()  # the box follows the saved state (a round trip), not the click
    expect(page.get_by_text("Placed “Solar PV” at “Oslo”.")).to_be_visible()
    expect(pv_oslo).to_be_checked()
    expect(page.get_by_role("link", name="Values of Solar PV at Oslo")).to_have_attribute(
        "href", re.compile(rf"/models/{small}/nodes/\d+$"))

    # A whole column, then removing it again (asks first).
    page.get_by_role("button", name="Place at every location").click()
    expect(page.get_by_text("Placed “Solar PV” at 2 locations.")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Solar PV at Tromso")).to_be_checked()
    page.get_by_label("Filter locations").fill("tro")
    expect(page.locator("#grid-page")).to_have_text("Locations 1–1 of 1")
    page.get_by_role("button", name="Remove from every location matching “tro”").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Remove “Solar PV” from every location matching “tro”?")
    dialog.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("Removed “Solar PV” from 1 location matching “tro”.")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Solar PV at Tromso")).not_to_be_checked()
    page.get_by_label("Filter locations").fill("")
    expect(page.locator("#grid-page")).to_have_text("Locations 1–3 of 3")

    # A link between two locations, then deleting it.
    page.get_by_role("combobox", name="From").click()
    page.get_by_role("option", name="Oslo").click()
    page.get_by_role("combobox", name="To").click()
    page.get_by_role("option", name="Bergen").click()
    page.get_by_role("button", name="Add link").click()
    expect(page.get_by_text("Linked “Oslo” and “Bergen” with “HVAC” (link “Oslo_to_Bergen”).")).to_be_visible()
    row = page.locator("#links-table tr", has_text="Oslo_to_Bergen")
    expect(row).to_contain_text("HVAC")
    page.get_by_role("button", name="Add link").click()  # the same again is refused, with the reason
    expect(page.get_by_text("are already linked with “HVAC”")).to_be_visible()
    page.get_by_role("button", name="Delete link Oslo_to_Bergen").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete link").click()
    expect(page.get_by_text("Removed the link “Oslo_to_Bergen” between “Oslo” and “Bergen”.")).to_be_visible()
    expect(page.locator("#links-table")).to_have_count(0)

    # View only: a public sample shows its placements as ticks that cannot be changed, and no link form.
    page.goto("/models")
    hydrated(page)
    page.locator(".model-card", has_text="National-scale example model").click()
    expect(page.locator("#model-name")).to_have_text("National-scale example model")
    page.get_by_role("navigation", name="Model editor").get_by_role("link", name="Nodes & links").click()
    expect(page.locator("#view-only-banner")).to_be_visible()
    ccgt = page.get_by_role("checkbox", name="Combined cycle gas turbine at region1", exact=True)
    expect(ccgt).to_be_checked()
    expect(ccgt).to_be_disabled()
    expect(page.locator("#links-table")).to_contain_text("region1_to_region2")
    expect(page.get_by_role("button", name="Add link")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Delete link"))).to_have_count(0)
    expect(page.get_by_role("button", name="Place at every location")).to_have_count(0)
