"""Copy the national-scale sample, change one cost in the parameter editor, rerun in one click:
bare Calliope agrees.

The first run goes out of date when the cost changes; the second run's objective equals what
Calliope itself finds for the exported definition with that change (rel 1e-6).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import EnergyModel, Run, Scenario, User
from engage_reflex.services import calliope_io
from tests.e2e.ui import activate_by_email, editor_area, hydrated, run_days

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "a-long-password"
NATIONAL = "National-scale example model"
DAY = "2005-01-01"
NEW_COST = "800"
README_SCREENSHOT = Path(__file__).resolve().parents[2] / "assets" / "screenshot.png"


def _bare_calliope_objective(definition, tmp_path) -> float:
    import calliope

    model = calliope.read_yaml(definition.write_directory(tmp_path / "bare"))
    model.build()
    model.solve()
    assert str(model.runtime.termination_condition) == "optimal"
    return float(model.results["min_cost_optimisation"].values)


def test_copy_the_sample_change_a_cost_and_rerun(page: Page, base_url: str, app_database_url: str, tmp_path):
    page.set_default_timeout(30_000)
    email = f"copier-{uuid.uuid4().hex[:8]}@example.org"
    page.goto("/register")
    hydrated(page)
    page.fill("#email", email)
    page.fill("#display_name", "Copy Planner")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("#register-submit")
    activate_by_email(page, email)

    # The sample is view only; a copy is ours to change.
    tile = page.locator(".model-tile").filter(has=page.get_by_role("heading", name=NATIONAL, exact=True))
    tile.get_by_role("button", name="Make a copy").click()
    expect(page.locator("#model-name")).to_have_text(f"Copy of {NATIONAL}")
    expect(page.locator("#view-only-banner")).to_have_count(0)
    first_run = run_days(page, DAY, DAY, notes="Sample as it is")
    expect(page.locator(f'.run-row[data-run-id="{first_run}"] .run-notes')).to_have_text("Sample as it is")

    # The gas turbine's monetary cost of capacity, through the parameter editor.
    editor_area(page, "Technologies")
    page.get_by_role("link", name="Combined cycle gas turbine").click()
    expect(page.locator("#tech-heading")).to_have_text("Combined cycle gas turbine")
    page.get_by_label("Search parameters").fill("cost_flow_cap")
    row = page.locator('.parameter-row[data-parameter="cost_flow_cap"]')
    row.get_by_label("Cost class of cost_flow_cap").select_option("monetary")
    row.get_by_label("New value of cost_flow_cap").fill(NEW_COST)
    row.get_by_role("button", name="Set cost_flow_cap").click()
    expect(page.get_by_text(f"Set cost_flow_cap (monetary) of “Combined cycle gas turbine” to {NEW_COST}.")
           ).to_be_visible()

    # The earlier run now shows it is out of date; a rerun solves the changed model.
    editor_area(page, "Runs")
    earlier = page.locator(f'.run-row[data-run-id="{first_run}"]')
    expect(earlier.locator(".run-out-of-date")).to_have_text("Out of date")
    expect(earlier.locator(".run-edits-since")).to_have_text("1 edit since")
    # One click reruns it with the current inputs (same scenario, solver and day).
    before = page.locator(".run-row").count()
    earlier.get_by_role("button", name=f"Rerun run #{first_run} with current inputs").click()
    expect(page.locator(".run-row")).to_have_count(before + 1, timeout=30_000)
    rerun = page.locator(".run-row").first
    expect(rerun.locator(".run-status")).to_have_text("succeeded", timeout=180_000)
    second_run = rerun.get_attribute("data-run-id")
    expect(rerun.locator(".run-notes")).to_have_text(f"Rerun of #{first_run} with current inputs. Sample as it is")
    expect(page.locator(f'.run-row[data-run-id="{second_run}"] .run-out-of-date')).to_have_count(0)

    with session_scope(app_database_url) as session:
        owner = session.exec(select(User).where(User.email == email)).one()
        copy = session.exec(select(EnergyModel).where(EnergyModel.owner_id == owner.id)).one()
        scenario_id = session.exec(select(Scenario.id).where(Scenario.model_id == copy.id,
                                                             Scenario.name == "base")).one()
        runs = {r.id: r for r in session.exec(select(Run).where(Run.model_id == copy.id))}
        definition = calliope_io.export_scenario(session=session, scenario_id=scenario_id, subset=(DAY, DAY),
                                                 solver="highs")
    assert runs[int(first_run)].is_out_of_date and not runs[int(second_run)].is_out_of_date
    cost = definition.definition["techs"]["ccgt"]["cost_flow_cap"]
    assert cost["data"] == float(NEW_COST) and cost["index"] == [["monetary"]], cost
    bare = _bare_calliope_objective(definition, tmp_path)
    assert runs[int(second_run)].objective == pytest.approx(bare, rel=1e-6)
    assert runs[int(first_run)].objective != pytest.approx(bare, rel=1e-6)  # the change mattered

    # The outdated first run is deleted, asked first; the rerun stays.
    page.get_by_role("button", name=f"Delete run #{first_run}").click()
    page.get_by_role("button", name="Delete run", exact=True).click()
    expect(page.get_by_text(f"Deleted run #{first_run} and its results.")).to_be_visible()
    expect(page.locator(f'.run-row[data-run-id="{first_run}"]')).to_have_count(0)
    expect(page.locator(f'.run-row[data-run-id="{second_run}"]')).to_have_count(1)

    # The copy's locations on the map (no tiles here: Engage's own markers and lines), the
    # README's picture when ENGAGE_UPDATE_SCREENSHOT=1.
    editor_area(page, "Locations")
    expect(page.get_by_role("button", name="region1", exact=True)).to_be_visible()
    expect(page.locator("path.engage-map-line")).not_to_have_count(0)  # (a flat line has no height)
    page.wait_for_timeout(800)  # let the map finish fitting its markers
    target = README_SCREENSHOT if os.environ.get("ENGAGE_UPDATE_SCREENSHOT") == "1" else tmp_path / "map.png"
    page.screenshot(path=str(target), full_page=True)
