"""A planner uploads a European-Excel demand CSV (`;`, decimal commas, the autumn clock change) on the
Timeseries page: the progress bar shows, the columns are offered, the chosen one is stored and
previewed in the model's time zone; a file with text in a value column is refused naming the line."""

from __future__ import annotations

import re

import numpy as np
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
    Timeseries,
    User,
)
from engage_reflex.models.series_blob import unpack_series
from tests.e2e.ui import hydrated, register

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password"
expect.set_options(timeout=20_000)

DEMAND_CSV = (
    "Zeit;Last Haus;Last Gewerbe;Kommentar\n"
    "27.10.2024 00:00;1,5;10,25;a\n"
    "27.10.2024 01:00;1,6;10,5;b\n"
    "27.10.2024 02:00;1,7;10,75;c\n"
    "27.10.2024 02:00;1,8;11;d\n"
    "27.10.2024 03:00;1,9;11,25;e\n"
    "27.10.2024 04:00;2,0;11,5;f\n"
)
# Notes whether the live progress bar was ever on the page (a small file is read in a blink).
WATCH_PROGRESS = """() => {
  window.__sawProgress = false;
  new MutationObserver(() => {
    if (document.querySelector('[aria-label="Reading the file"]')) window.__sawProgress = true;
  })
    .observe(document.body, {childList: true, subtree: true});
}"""


def _berlin_model(url: str, email: str) -> tuple[int, int]:
    """A model in Berlin time with a household demand placed at one location; (model id, node id)."""
    with session_scope(url) as s:
        owner = s.exec(select(User).where(User.email == email)).one()
        model = EnergyModel(name="Berlin demand", owner_id=owner.id, time_zone="Europe/Berlin")
        s.add(model)
        s.flush()
        carrier = Carrier(model_id=model.id, name="power", rate_unit="kW", quantity_unit="kWh")
        tech = Technology(model_id=model.id, name="households", base_tech="demand")
        place = Location(model_id=model.id, name="Mitte", latitude=52.52, longitude=13.40)
        s.add_all([carrier, tech, place])
        s.flush()
        node = Node(model_id=model.id, location_id=place.id, technology_id=tech.id)
        s.add_all([TechnologyCarrier(technology_id=tech.id, carrier_id=carrier.id, role="in"), node])
        s.flush()
        return model.id, node.id


def test_upload_pick_columns_store_and_preview(page: Page, base_url: str, app_database_url: str, tmp_path):
    email = register(page, prefix="series", display_name="Series Planner", password=PASSWORD)
    model_id, node_id = _berlin_model(app_database_url, email)
    page.goto(f"/models/{model_id}/timeseries")
    hydrated(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Berlin demand")
    expect(page.get_by_text("No timeseries yet")).to_be_visible()
    page.evaluate(WATCH_PROGRESS)

    demand = tmp_path / "last.csv"
    demand.write_text(DEMAND_CSV, encoding="utf-8-sig")  # with the BOM Excel writes
    page.locator("#timeseries_csv input[type=file]").set_input_files(str(demand))
    expect(page.locator("#upload-summary")).to_contain_text("6 rows")
    assert page.evaluate("() => window.__sawProgress"), "the progress bar never showed"
    expect(page.get_by_label("Column separator")).to_have_value(";")
    expect(page.get_by_label("Decimal mark")).to_have_value(",")
    expect(page.get_by_label("Time stamp column")).to_have_value("Zeit")
    expect(page.get_by_role("checkbox", name="Keep Last Haus")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Keep Kommentar")).not_to_be_checked()

    page.get_by_role("checkbox", name="Keep Last Gewerbe").click()
    page.get_by_label("Series name for Last Haus").fill("house demand")
    page.get_by_label("Unit").fill("kW")
    page.get_by_role("button", name="Store series").click()
    expect(page.get_by_text(re.compile(r"Stored 1 series from last\.csv"))).to_be_visible()
    row = page.locator(".series-row", has_text="house demand")
    expect(row).to_be_visible()
    expect(row).to_contain_text("kW")
    expect(page.locator("#preview-name")).to_have_text("house demand")
    # Six values, shown in Berlin time: 00:00 to 04:00 with 02:00 twice (stored in UTC).
    expect(page.locator("#preview-coverage")).to_contain_text("2024-10-27 00:00 – 2024-10-27 04:00 (Europe/Berlin)")
    expect(page.locator("#series-chart .main-svg").first).to_be_visible()
    expect(page.locator("#preview-summary")).to_contain_text("2")
    with session_scope(app_database_url) as s:
        [series] = s.exec(select(Timeseries).where(Timeseries.model_id == model_id)).all()
        stamps, values = unpack_series(series.data)
        assert values.tolist() == [1.5, 1.6, 1.7, 1.8, 1.9, 2.0]
        assert stamps[0] == np.datetime64("2024-10-26T22:00")
    expect(page.get_by_role("heading", level=1)).to_have_count(1)

    # The households at Mitte follow the series: chosen in the node's parameter editor.
    page.goto(f"/models/{model_id}/nodes/{node_id}")
    hydrated(page)
    page.get_by_label("Search parameters").fill("sink_use_equals")
    row = page.locator('.parameter-row[data-parameter="sink_use_equals"]')
    row.get_by_label("Choose a timeseries for sink_use_equals").select_option(label="house demand")
    row.get_by_role("button", name="Apply the chosen timeseries to sink_use_equals").click()
    expect(page.get_by_text(re.compile(r"now follows the timeseries “house demand”"))).to_be_visible()
    expect(row).to_contain_text("timeseries “house demand”")
    page.goto(f"/models/{model_id}/timeseries")
    hydrated(page)
    expect(page.locator(".series-row", has_text="house demand")).to_contain_text("sink_use_equals of households")

    # Text where a number belongs: refused, the line named, nothing more stored.
    bad = tmp_path / "bad.csv"
    bad.write_text("time,load\n2024-01-01 00:00,1\n2024-01-01 01:00,12 kW\n", encoding="utf-8")
    page.locator("#timeseries_csv input[type=file]").set_input_files(str(bad))
    expect(page.locator("#upload-summary")).to_contain_text("2 rows")
    page.get_by_role("checkbox", name="Keep load").click()  # not ticked for us: it holds text
    page.get_by_role("button", name="Store series").click()
    expect(page.locator("#upload-problems")).to_contain_text("Line 3")
    expect(page.locator("#upload-problems")).to_contain_text("12 kW")
    expect(page.locator(".series-row")).to_have_count(1)
    page.get_by_role("button", name="Discard this file").click()
    expect(page.get_by_text("Discarded bad.csv.")).to_be_visible()
    expect(page.locator("#upload-problems")).to_have_count(0)
