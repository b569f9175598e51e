"""Technologies and the parameter editor in a real browser: create a tech (refused without its
carrier first), set a cost per cost class and a value with a unit, a refused unit, a node
override with its inheritance, and a big model's tech page rendering quickly.

The model (carrier, location, 30 techs, a node) is written straight into the test server's
database; every change on these pages goes through the UI.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import (
    Carrier,
    EnergyModel,
    Location,
    Node,
    Technology,
    TechnologyCarrier,
    TechParameter,
    User,
)
from engage_reflex.services.parameters import catalogue
from tests.e2e.ui import hydrated, register

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password"
expect.set_options(timeout=15_000)  # two shared cores: a save can take a few seconds


def _server_db(tmp_path_factory) -> str:
    found = sorted(tmp_path_factory.getbasetemp().glob("engage-e2e*/engage.db"))
    assert found, "the e2e server's database was not found"
    return f"sqlite:///{found[-1]}"


def _seed(url: str, email: str) -> tuple[int, int]:
    with session_scope(url) as s:
        owner = s.exec(select(User).where(User.email == email)).one()
        model = EnergyModel(name="Techs island", owner_id=owner.id)
        s.add(model)
        s.flush()
        power = Carrier(model_id=model.id, name="power", rate_unit="kW", quantity_unit="kWh")
        oslo = Location(model_id=model.id, name="oslo")
        s.add_all([power, oslo])
        techs = [Technology(model_id=model.id, name=f"tech_{i:02d}", display_name=f"Tech {i:02d}", base_tech="supply",
                            color="#336699") for i in range(30)]
        s.add_all(techs)
        s.flush()
        s.add_all([TechnologyCarrier(technology_id=t.id, carrier_id=power.id, role="out") for t in techs])
        node = Node(model_id=model.id, location_id=oslo.id, technology_id=techs[0].id)
        s.add(node)
        s.flush()
        return model.id, node.id


def _row(page: Page, name: str):
    return page.locator(f'.parameter-row[data-parameter="{name}"]')


def test_create_tech_set_parameters_with_units_and_node_override(page: Page, base_url: str, tmp_path_factory):
    page.set_default_timeout(20_000)
    db_url = _server_db(tmp_path_factory)
    email = register(page, prefix="techs", display_name="Tech Planner", password=PASSWORD)
    model_id, node_id = _seed(db_url, email)

    # The list, grouped by base tech; a new supply is refused without its output carrier.
    page.goto(f"/models/{model_id}/techs")
    hydrated(page)
    expect(page.get_by_role("heading", name="Supply")).to_be_visible()
    expect(page.get_by_role("link", name="Tech 29")).to_be_visible()
    page.get_by_role("button", name="New technology").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Base technology").select_option("supply")
    dialog.get_by_label("Name", exact=True).fill("ccgt")
    dialog.get_by_label("Display name").fill("CCGT")
    dialog.get_by_role("button", name="Create technology").click()
    expect(page.locator("#new-tech-error")).to_contain_text(
        "A supply technology needs an output carrier: it is what it produces.")
    dialog.get_by_label("Output carrier").select_option("power")
    dialog.get_by_role("button", name="Create technology").click()
    expect(page).to_have_url(re.compile(rf"/models/{model_id}/techs/\d+$"))
    expect(page.locator("#tech-heading")).to_have_text("CCGT")

    # A cost per cost class, with a currency and a unit; a power in MW; a unit that is not a power.
    page.get_by_label("Search parameters").fill("cost of flow capacity")
    expect(page.get_by_text("3 parameters shown")).to_be_visible()
    cost = _row(page, "cost_flow_cap")
    expect(cost).to_be_visible()
    expect(_row(page, "flow_cap_max")).to_have_count(0)
    cost.get_by_label("Cost class of cost_flow_cap").select_option("monetary")
    cost.get_by_label("New value of cost_flow_cap").fill("750 USD/kW")
    cost.get_by_role("button", name="Set cost_flow_cap").click()
    expect(page.get_by_text("Set cost_flow_cap (monetary) of “CCGT” to 750 USD/kW.")).to_be_visible()
    expect(cost.locator(".param-value")).to_have_text("750")
    expect(cost).to_contain_text("typed “750 USD/kW”")

    page.get_by_label("Search parameters").fill("")
    page.get_by_label("Category").select_option("capacity")
    expect(page.get_by_text("19 parameters shown")).to_be_visible()
    cap = _row(page, "flow_cap_max")
    cap.get_by_label("New value of flow_cap_max").fill("5 kg")
    cap.get_by_role("button", name="Set flow_cap_max").click()
    expect(page.get_by_text("“5 kg” is not a power; flow_cap_max is in kW.")).to_be_visible()
    cap.get_by_label("New value of flow_cap_max").fill("5 MW")
    cap.get_by_role("button", name="Set flow_cap_max").click()
    expect(cap.locator(".param-value")).to_have_text("5000")
    with session_scope(db_url) as s:
        ccgt = s.exec(select(Technology).where(Technology.model_id == model_id, Technology.name == "ccgt")).one()
        stored = {r.name: (r.value, r.raw, r.index) for r in
                  s.exec(select(TechParameter).where(TechParameter.technology_id == ccgt.id))}
    assert stored == {"cost_flow_cap": (750, "750 USD/kW", ["monetary"]), "flow_cap_max": (5000, "5 MW", [])}

    # A node of Tech 00: default -> technology -> node, the value that applies highlighted.
    page.goto(f"/models/{model_id}/techs")
    hydrated(page)
    page.get_by_role("link", name="Tech 00").click()
    expect(page.locator("#tech-heading")).to_have_text("Tech 00")
    expect(page.get_by_label("Name", exact=True)).to_have_value("tech_00")  # not the previous tech's
    page.get_by_label("Search parameters").fill("maximum rated flow")
    expect(page.get_by_text("2 parameters shown")).to_be_visible()
    row = _row(page, "flow_cap_max")
    row.get_by_label("New value of flow_cap_max").fill("3 MW")
    row.get_by_role("button", name="Set flow_cap_max").click()
    expect(row.locator(".param-value")).to_have_text("3000")

    page.goto(f"/models/{model_id}/nodes/{node_id}")
    hydrated(page)
    expect(page.locator("#node-heading")).to_have_text("Tech 00 at oslo")
    expect(page.locator(".parameter-row").first).to_be_visible()
    node_row = _row(page, "flow_cap_max")
    expect(node_row.locator('[data-effective="true"]')).to_contain_text("Technology")
    node_row.get_by_label("New value of flow_cap_max").fill("2 MW")
    node_row.get_by_role("button", name="Set flow_cap_max").click()
    expect(page.get_by_text("Set flow_cap_max of “Tech 00” at “oslo” to 2 MW.")).to_be_visible()
    expect(node_row.locator('[data-effective="true"]')).to_contain_text("This node")
    expect(node_row.locator('[data-effective="true"]')).to_contain_text("2000")
    node_row.get_by_role("button", name="Clear flow_cap_max").click()
    expect(node_row.locator('[data-effective="true"]')).to_contain_text("Technology")

    # Copy CCGT (with its parameters) within the model from the Copy dialog.
    page.goto(f"/models/{model_id}/techs")
    hydrated(page)
    page.get_by_role("button", name="Copy a technology").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("From model")).to_have_value(str(model_id))
    dialog.get_by_label("Technology", exact=True).select_option(label="CCGT (supply)")
    dialog.get_by_label("New name (optional)").fill("ccgt_b")
    dialog.get_by_role("button", name="Copy technology").click()
    expect(page.get_by_text("Copied “CCGT” as “CCGT (copy)”.")).to_be_visible()
    expect(page.get_by_role("link", name="CCGT (copy)")).to_be_visible()
    list_url = page.url

    # A public sample is view only: its imported values (per cost class) show, no edit controls.
    with session_scope(db_url) as s:
        sample = s.exec(select(EnergyModel).where(EnergyModel.name == "National-scale example model",
                                                         EnergyModel.is_public)).one()
        ccgt_id = s.exec(select(Technology.id).where(Technology.model_id == sample.id,
                                                     Technology.name == "ccgt")).one()
    page.goto(f"/models/{sample.id}/techs/{ccgt_id}")
    hydrated(page)
    expect(page.locator("#view-only-banner")).to_be_visible()
    expect(page.locator("#tech-heading")).to_have_text("Combined cycle gas turbine")
    sample_cost = _row(page, "cost_flow_cap")
    expect(sample_cost).to_contain_text("monetary")
    expect(sample_cost.get_by_role("button", name="Set cost_flow_cap")).to_have_count(0)
    expect(page.get_by_role("button", name="Save technology")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Clear"))).to_have_count(0)

    # The list of 30 techs, then a tech page with the whole catalogue (bench/builder_pages.py
    # measures how fast they render).
    page.goto(list_url)
    hydrated(page)
    expect(page.get_by_role("link", name="Tech 29")).to_be_visible()
    page.get_by_role("link", name="Tech 29").click()
    expect(_row(page, "flow_cap_max")).to_be_visible()
    expect(page.locator(".parameter-row")).to_have_count(len(catalogue()))
