"""Issue 7's whole workflow in the browser: a European demand CSV (`;`, decimal commas, the autumn clock
change) is uploaded with a live progress bar, its column picked and previewed, attached to the demand
node; a scenario switches one node off and caps a technology's capacity with a group constraint; its run
succeeds, and bare Calliope on the scenario's downloaded zip finds the same objective (rel 1e-6).
"""

from __future__ import annotations

import math
import re
import warnings
import zipfile
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import Node, Run, Scenario, User
from engage_reflex.services import carriers, locations, models, nodes, parameters, techs
from tests.e2e.ui import hydrated, open_dialog, register

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "a-long-password"
MODEL = "Two valleys"
COAL_CAP = "6"
# Shown when the progress bar is on the page (a small file is read in a blink).
WATCH_PROGRESS = """() => {
  window.__sawProgress = false;
  new MutationObserver(() => {
    if (document.querySelector('[aria-label="Reading the file"]')) window.__sawProgress = true;
  })
    .observe(document.body, {childList: true, subtree: true});
}"""


def _demand_csv() -> str:
    """Hourly Berlin clock time 25.10.2024 00:00 – 28.10.2024 23:00, 02:00 twice on the 27th."""
    lines = ["Zeit;Last Nord;Bemerkung"]
    stamp, i = datetime(2024, 10, 25), 0
    while stamp <= datetime(2024, 10, 28, 23):
        repeats = 2 if stamp == datetime(2024, 10, 27, 2) else 1
        for _ in range(repeats):
            value = 8 + 3 * math.sin(i / 24 * 2 * math.pi)
            decimal_comma = f"{value:.2f}".replace(".", ",")
            lines.append(f"{stamp:%d.%m.%Y %H:%M};{decimal_comma};ok")
            i += 1
        stamp += timedelta(hours=1)
    return "\n".join(lines) + "\n"


def _model(url: str, email: str) -> dict:
    """What the planner built earlier with the editor: two valleys, coal in both, gas in the north."""
    with session_scope(url) as s:
        user_id = s.exec(select(User.id).where(User.email == email)).one()
        model_id = models.create_model(session=s, user_id=user_id, name=MODEL, time_zone="Europe/Berlin").id
        ids = {name: locations.add_location(session=s, user_id=user_id, model_id=model_id, name=name, latitude=lat,
                                            longitude=lon).id
               for name, lat, lon in (("North", 47.5, 11.0), ("South", 46.8, 11.3))}
        carriers.add_carrier(session=s, user_id=user_id, model_id=model_id, name="power", rate_unit="kW",
                             quantity_unit="kWh", color="#e6a23c", description="")
        tech_ids = {}
        for base, name, ins, outs in (("supply", "coal", [], ["power"]), ("supply", "gas", [], ["power"]),
                                      ("demand", "town", ["power"], []),
                                      ("transmission", "line", ["power"], ["power"])):
            tech_ids[name] = techs.create_tech(session=s, user_id=user_id, model_id=model_id, base_tech=base,
                                               name=name, display_name="", color="", carriers_in=ins,
                                               carriers_out=outs).id
        for tech, name, raw, cost_class in (
                ("coal", "flow_cap_max", "100", None), ("coal", "cost_flow_cap", "10", "monetary"),
                ("coal", "cost_flow_out", "0.01", "monetary"), ("gas", "flow_cap_max", "100", None),
                ("gas", "cost_flow_cap", "20", "monetary"), ("gas", "cost_flow_out", "0.2", "monetary"),
                ("town", "sink_use_equals", "5", None), ("line", "flow_cap_max", "50", None),
                ("line", "cost_flow_cap", "1", "monetary")):
            parameters.set_tech_parameter(session=s, user_id=user_id, tech_id=tech_ids[tech], name=name, raw=raw,
                                          cost_class=cost_class)
        placed = {}
        for location, tech in (("North", "coal"), ("North", "gas"), ("North", "town"), ("South", "coal")):
            placed[(location, tech)] = nodes.place_tech(session=s, user_id=user_id, model_id=model_id,
                                                        location_id=ids[location], tech_id=tech_ids[tech]).node_id
        nodes.add_link(session=s, user_id=user_id, model_id=model_id, tech_id=tech_ids["line"],
                       from_location_id=ids["North"], to_location_id=ids["South"])
        return {"model": model_id, "town_node": placed[("North", "town")]}


def _bare_objective(archive, subset: list[str], folder) -> float:
    import calliope

    with zipfile.ZipFile(archive) as zf:
        zf.extractall(folder)  # our own export, in a test
    [model_yaml] = [p for p in folder.rglob("model.yaml")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = calliope.read_yaml(model_yaml, subset={"timesteps": subset})
    model.build()
    model.solve()
    assert str(model.runtime.termination_condition) == "optimal"
    return float(model.results["min_cost_optimisation"].values)


def test_upload_attach_scenario_run_equals_bare_calliope(page: Page, base_url: str, app_database_url: str,
                                                         tmp_path):
    page.set_default_timeout(30_000)
    email = register(page, prefix="scenarios", display_name="Scenario Planner", password=PASSWORD)
    ids = _model(app_database_url, email)
    model_id = ids["model"]

    # 1. The demand CSV: progress, sniffed dialect, the column picked, stored and previewed in Berlin time.
    page.goto(f"/models/{model_id}/timeseries")
    hydrated(page)
    page.evaluate(WATCH_PROGRESS)
    demand = tmp_path / "last_nord.csv"
    demand.write_text(_demand_csv(), encoding="utf-8")
    page.locator("#timeseries_csv input[type=file]").set_input_files(str(demand))
    expect(page.locator("#upload-summary")).to_contain_text("97 rows")
    assert page.evaluate("() => window.__sawProgress"), "the progress bar never showed"
    expect(page.get_by_label("Column separator")).to_have_value(";")
    expect(page.get_by_label("Decimal mark")).to_have_value(",")
    page.get_by_label("Series name for Last Nord").fill("north demand")
    page.get_by_label("Unit").fill("kW")
    page.get_by_role("button", name="Store series").click()
    expect(page.get_by_text(re.compile(r"Stored 1 series from last_nord\.csv"))).to_be_visible()
    expect(page.locator("#preview-coverage")).to_contain_text("2024-10-25 00:00 – 2024-10-28 23:00 (Europe/Berlin)")
    expect(page.locator("#series-chart .main-svg").first).to_be_visible()

    # 2. The town's demand follows it.
    page.goto(f"/models/{model_id}/nodes/{ids['town_node']}")
    hydrated(page)
    page.get_by_label("Search parameters").fill("sink_use_equals")
    row = page.locator('.parameter-row[data-parameter="sink_use_equals"]')
    row.get_by_label("Choose a timeseries for sink_use_equals").select_option(label="north demand")
    row.get_by_role("button", name="Apply the chosen timeseries to sink_use_equals").click()
    expect(row).to_contain_text("timeseries “north demand”")

    # 3. A scenario without coal in the South and with at most 6 kW of coal in all.
    page.goto(f"/models/{model_id}/scenarios")
    hydrated(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(MODEL)
    open_dialog(page.get_by_role("button", name="New scenario"), page.get_by_role("dialog"))
    page.get_by_label("Name", exact=True).fill("Capped coal")
    page.get_by_label("Description", exact=True).fill("No coal in the South, at most 6 kW of coal")
    page.get_by_role("button", name="Create scenario").click()
    expect(page.get_by_text("Created scenario “Capped coal”.")).to_be_visible()
    expect(page.locator("#switch-summary")).to_contain_text("0 of 4 nodes")
    page.get_by_role("switch", name="coal at South").click()
    expect(page.locator("#switch-summary")).to_contain_text("1 of 4 nodes")
    expect(page.get_by_role("switch", name="coal at South")).not_to_be_checked()

    page.get_by_role("tab", name="Group constraints").click()
    open_dialog(page.get_by_role("button", name="Add constraint"), page.get_by_role("dialog"))
    expect(page.get_by_label("Kind of constraint")).to_have_value("max_capacity")
    page.get_by_label("Name", exact=True).fill("coal_cap")
    page.get_by_role("checkbox", name="coal", exact=True).click()
    page.get_by_label("Capacity", exact=True).fill(COAL_CAP)
    page.get_by_role("button", name="Save constraint").click()
    expect(page.locator(".constraint-row", has_text="coal_cap")).to_contain_text("coal")
    expect(page.get_by_role("heading", level=1)).to_have_count(1)

    # 4. Run it.
    page.get_by_role("navigation", name="Model editor").get_by_role("link", name="Runs", exact=True).click()
    expect(page).to_have_url(re.compile(r"/runs/?$"))
    hydrated(page)
    page.get_by_label("Scenario", exact=True).click()
    page.get_by_role("option", name="Capped coal").click()
    page.fill("#run-start", "2024-10-26")
    page.fill("#run-end", "2024-10-27")
    expect(page.locator("#run-end")).to_have_value("2024-10-27")
    page.wait_for_timeout(300)
    page.click("#run-button")
    run = page.locator(".run-row").first
    expect(run.locator(".run-status")).to_have_text("succeeded", timeout=180_000)

    # 5. The scenario's zip from the Overview; bare Calliope on it, over the run's days.
    page.get_by_role("navigation", name="Model editor").get_by_role("link", name="Overview", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/models/{model_id}/?$"))
    hydrated(page)
    page.get_by_label("Scenario to download").click()
    page.get_by_role("option", name="Capped coal").click()
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download as zip").click()
    archive = tmp_path / "capped.zip"
    download.value.save_as(archive)

    with session_scope(app_database_url) as s:
        scenario_id = s.exec(select(Scenario.id).where(Scenario.model_id == model_id,
                                                       Scenario.name == "Capped coal")).one()
        [solved] = s.exec(select(Run).where(Run.scenario_id == scenario_id)).all()
        assert s.exec(select(Node).where(Node.model_id == model_id)).all()  # nothing was deleted
        subset, objective = [solved.subset_start, solved.subset_end], solved.objective
    bare = _bare_objective(archive, subset, tmp_path / "bare")
    assert objective == pytest.approx(bare, rel=1e-6)
    with zipfile.ZipFile(archive) as zf:
        math_text = next(zf.read(n).decode() for n in zf.namelist() if n.endswith("engage_group_constraints.yaml"))
    assert "coal" in math_text and COAL_CAP in math_text
