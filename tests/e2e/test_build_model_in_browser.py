"""A planner builds a small model from nothing in the browser, runs it, and gets what the services build.

Everything goes through the pages, found by visible labels and roles: a new model, two
locations placed on the map (one dragged, then both set to exact coordinates in the table), a
carrier, a supply, a constant demand, a battery, a power line, nodes placed in the grid, the
link, a node override; then a one-day HiGHS run. Afterwards the test builds the same model
(tests/builder_recipe.py) through the services in the server's database and compares the two
exported Calliope definitions: they must be equal.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import EnergyModel, User
from engage_reflex.services import users
from tests.builder_recipe import (
    CARRIER,
    LINK,
    LOCATIONS,
    MODEL_DESCRIPTION,
    MODEL_NAME,
    NODE_OVERRIDE,
    NODES,
    TECH_PARAMETERS,
    TECHS,
    build_with_services,
    exported,
)
from tests.e2e.ui import editor_area, hydrated, open_dialog, register, steady_box

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "a-long-password"


def _one_h1(page: Page) -> None:
    """Every page has exactly one top heading (the model's name in the editor)."""
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_have_text(MODEL_NAME)


def _toast(page: Page, text: str | re.Pattern) -> None:
    expect(page.get_by_text(text).first).to_be_visible()


def _place_on_map(page: Page, fx: float, fy: float, name: str) -> None:
    area = page.locator("#locations-map")
    expect(area).to_have_attribute("data-ready", "true")
    # A raw mouse click goes nowhere while a closing dialog still blocks the page (Radix sets
    # pointer-events: none on <body> until its exit animation ends); wait for it to let go.
    page.wait_for_function("() => getComputedStyle(document.body).pointerEvents !== 'none'")
    box = area.bounding_box()
    dialog = page.get_by_role("dialog", name="Add a location")
    # Right after a location was added, a click on the map is now and then not reported (seen
    # about one run in three here, cause not found yet; noted for the next session): a planner
    # clicks again, so does the test - at most twice more.
    for _ in range(3):
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        try:
            expect(dialog).to_be_visible(timeout=3000)
            break
        except AssertionError:
            page.wait_for_timeout(500)
    expect(dialog.get_by_label("Latitude")).not_to_have_value("")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("button", name="Add location").click()
    _toast(page, f"Added location “{name}”.")
    expect(dialog).to_be_hidden()


def _row_cell(page: Page, name: str, column: int):
    row = page.locator(".location-row", has=page.get_by_role("rowheader", name=name, exact=True))
    return row.locator("td").nth(column)


def _set_parameter(page: Page, name: str, raw: str, cost_class: str | None) -> None:
    page.get_by_label("Search parameters").fill(name)
    row = page.locator(f'.parameter-row[data-parameter="{name}"]')
    if cost_class:
        row.get_by_label(f"Cost class of {name}").select_option(cost_class)
    row.get_by_label(f"New value of {name}").fill(raw)
    row.get_by_role("button", name=f"Set {name}").click()
    _toast(page, re.compile(rf"^Set {name}\b.* to {re.escape(raw)}\.?$"))


def test_build_a_model_from_nothing_run_it_and_export_what_the_services_build(
        page: Page, base_url: str, app_database_url: str):
    page.set_default_timeout(30_000)
    email = register(page, prefix="valley", display_name="Valley Planner", password=PASSWORD)

    # A new model.
    page.get_by_role("button", name="New model").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(MODEL_NAME)
    dialog.get_by_label("Description").fill(MODEL_DESCRIPTION)
    dialog.get_by_role("button", name="Create model").click()
    expect(page.locator("#model-name")).to_have_text(MODEL_NAME)
    model_url = page.url

    # Two locations clicked onto the map; one dragged; then both typed exactly.
    editor_area(page, "Locations")
    _place_on_map(page, 0.3, 0.55, LOCATIONS[0][0])
    _place_on_map(page, 0.75, 0.3, LOCATIONS[1][0])  # above the toasts (bottom right)
    south = page.get_by_role("button", name=LOCATIONS[1][0], exact=True)
    before = _row_cell(page, LOCATIONS[1][0], 0).inner_text()
    expect(south).to_be_visible()
    box = steady_box(south)  # the map zooms to fit both markers: let it settle before grabbing one
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 40, y + 30, steps=5)
    page.mouse.move(x - 90, y + 60, steps=5)
    page.mouse.up()
    _toast(page, re.compile(rf"Moved “{LOCATIONS[1][0]}” to"))
    expect(_row_cell(page, LOCATIONS[1][0], 0)).not_to_have_text(before)
    _one_h1(page)
    for name, lat, lon in LOCATIONS:
        edit = page.get_by_role("dialog", name="Edit location")
        open_dialog(page.get_by_role("button", name=f"Edit {name}"), edit)
        edit.get_by_label("Latitude").fill(str(lat))
        edit.get_by_label("Longitude").fill(str(lon))
        edit.get_by_role("button", name="Save").click()
        expect(edit).to_be_hidden()
        expect(_row_cell(page, name, 0)).to_contain_text(str(lat))

    # The carrier.
    editor_area(page, "Carriers")
    page.get_by_role("button", name="Add carrier").click()
    dialog = page.get_by_role("dialog", name="Add a carrier")
    dialog.get_by_label("Name").fill(CARRIER["name"])
    dialog.get_by_label("Rate unit").fill(CARRIER["rate_unit"])
    dialog.get_by_label("Quantity unit").fill(CARRIER["quantity_unit"])
    dialog.get_by_label("Colour").fill(CARRIER["color"])
    dialog.get_by_label("Description").fill(CARRIER["description"])
    dialog.get_by_role("button", name="Add carrier").click()
    _toast(page, f"Added carrier “{CARRIER['name']}”.")
    _one_h1(page)

    # The technologies, each with its parameters (a constant demand: a number, not a timeseries).
    for base, name, display, color, carrier in TECHS:
        editor_area(page, "Technologies")
        page.get_by_role("button", name="New technology").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Base technology").select_option(base)
        dialog.get_by_label("Name", exact=True).fill(name)
        dialog.get_by_label("Display name").fill(display)
        dialog.get_by_label("Colour").fill(color)
        carrier_label = {"supply": "Output carrier", "demand": "Input carrier"}.get(base, "Carrier")
        dialog.get_by_label(carrier_label).select_option(carrier)
        dialog.get_by_role("button", name="Create technology").click()
        expect(page.locator("#tech-heading")).to_have_text(display)
        _one_h1(page)
        for tech, parameter, raw, cost_class in TECH_PARAMETERS:
            if tech == name:
                _set_parameter(page, parameter, raw, cost_class)

    # Nodes in the grid, the link, and one node's own value.
    editor_area(page, "Nodes & links")
    displays = {name: display for _, name, display, _, _ in TECHS}
    for location, tech in NODES:
        box_ = page.get_by_role("checkbox", name=f"{displays[tech]} at {location}", exact=True)
        box_.click()
        _toast(page, f"Placed “{displays[tech]}” at “{location}”.")
        expect(box_).to_be_checked()
    tech, start, end = LINK
    page.get_by_role("combobox", name="Transmission technology").click()
    page.get_by_role("option", name=displays[tech]).click()
    page.get_by_role("combobox", name="From").click()
    page.get_by_role("option", name=start, exact=True).click()
    page.get_by_role("combobox", name="To").click()
    page.get_by_role("option", name=end, exact=True).click()
    page.get_by_role("button", name="Add link").click()
    _toast(page, re.compile(rf"Linked “{start}” and “{end}”"))
    _one_h1(page)
    location, tech, parameter, raw = NODE_OVERRIDE
    page.get_by_role("link", name=f"Values of {displays[tech]} at {location}").click()
    expect(page.locator(f'.parameter-row[data-parameter="{parameter}"]').first).to_be_visible()
    _set_parameter(page, parameter, raw, None)
    row = page.locator(f'.parameter-row[data-parameter="{parameter}"]')
    expect(row.locator('[data-effective="true"]')).to_contain_text("This node")
    _one_h1(page)

    # Check it, then run one day with HiGHS: it solves.
    page.goto(model_url)
    hydrated(page)
    page.get_by_role("button", name="Check model").click()
    expect(page.get_by_text("Calliope read the model without complaint.")).to_be_visible(timeout=120_000)
    editor_area(page, "Runs")
    expect(page.locator("#run-start")).not_to_have_value("")
    start_day = page.locator("#run-start").input_value()
    page.fill("#run-end", start_day)
    page.wait_for_timeout(300)
    page.click("#run-button")
    status = page.locator(".run-row").first.locator(".run-status")
    expect(status).to_have_text("succeeded", timeout=180_000)

    # The model built by hand exports exactly as the same recipe built by the services.
    with session_scope(app_database_url) as session:
        owner = session.exec(select(User).where(User.email == email)).one()
        by_hand = session.exec(select(EnergyModel.id).where(EnergyModel.owner_id == owner.id,
                                                            EnergyModel.name == MODEL_NAME)).one()
        recipe_user = users.register(session=session, email=f"recipe-{uuid.uuid4().hex[:8]}@example.org",
                                     password="another-long-password")
    with session_scope(app_database_url) as session:
        by_services = build_with_services(session, recipe_user.id)
    with session_scope(app_database_url) as session:
        hand_definition, hand_tables, hand_files = exported(session, by_hand)
        service_definition, service_tables, service_files = exported(session, by_services)
    assert hand_definition == service_definition
    assert hand_tables == service_tables
    assert hand_files == service_files
