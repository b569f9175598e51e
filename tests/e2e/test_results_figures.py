"""The results page a planner reads at a glance: every figure and the map drawn, filters redraw.

Solves two days of the national-scale sample with HiGHS through the app (the worker writes the
result tables), opens its results and checks each figure by its section heading, then changes
the location and the period and sees the dispatch redrawn without a page reload.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.ui import hydrated, register

PASSWORD = "a long enough passphrase 7"
# section heading -> plot id; each must show traces of the kind named
FIGURES = {
    "Results map": ("results-map", ".pielayer .trace"),
    "Capacity": ("capacity-plot", ".barlayer .trace"),
    "Dispatch": ("dispatch-plot", ".scatterlayer .trace"),
    "Storage capacity": ("storage-capacity-plot", ".barlayer .trace"),
    "Storage level": ("storage-plot", ".scatterlayer .trace"),
    "Costs and emissions": ("costs-plot", ".barlayer .trace"),
    "Levelised cost": ("levelised-plot", ".barlayer .trace"),
    "Capacity factors": ("capacity-factor-plot", ".barlayer .trace"),
}


def _dispatch_x(page: Page) -> list[str]:
    """The time axis of the dispatch's first trace, as plotly holds it in the browser."""
    return page.evaluate("() => Array.from(document.getElementById('dispatch-plot').data[0].x).map(String)")


def _choose(page: Page, select_id: str, option: str) -> None:
    page.locator(f"#{select_id}").click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(page.locator(f"#{select_id}")).to_contain_text(option)


def test_each_results_figure_and_the_map_are_drawn_and_filters_redraw_dispatch(page: Page, base_url: str):
    page.set_default_timeout(30_000)
    register(page, prefix="figures", display_name="Figure Reader", password=PASSWORD)
    page.locator(".model-card", has_text="National-scale example model").first.click()
    expect(page.locator("#model-name")).to_have_text("National-scale example model")
    page.get_by_role("navigation", name="Model editor").get_by_role("link", name="Runs").click()
    expect(page.locator("#run-start")).not_to_have_value("")
    page.fill("#run-start", "2005-01-01")
    page.fill("#run-end", "2005-01-02")
    expect(page.locator("#run-end")).to_have_value("2005-01-02")
    expect(page.get_by_text("Checking the scenario")).to_have_count(0)
    page.wait_for_timeout(400)  # let the dates reach the server before the click
    page.click("#run-button")
    # The row shows once the run is recorded and queued (slower while a worker is busy on both cores).
    expect(page.locator(".run-row")).to_have_count(1, timeout=60_000)
    row = page.locator(".run-row").first
    expect(row).to_contain_text("2005-01-02")
    expect(row.locator(".run-status")).to_have_text("succeeded", timeout=180_000)
    row.locator(".results-link").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+/?$"))
    hydrated(page)

    for heading, (plot_id, traces) in FIGURES.items():
        section = page.locator(".rt-Card", has=page.get_by_role("heading", name=heading, exact=True))
        expect(section.locator(f"#{plot_id}.js-plotly-plot")).to_be_visible()
        expect(section.locator(f"#{plot_id} {traces}").first).to_be_visible()
        expect(section.locator(f"#{plot_id}")).not_to_contain_text("solved before")
    map_plot = page.locator("#results-map")
    expect(map_plot.locator(".pielayer .trace")).to_have_count(4)  # region1 (ccgt), 1_1 and 1_3 (csp), 2 (battery)
    expect(map_plot).to_contain_text("region2")
    expect(map_plot.locator(".annotation-arrow-g").first).to_be_attached()  # net flow arrows on the links
    expect(page.get_by_text("the dotted line is demand", exact=False)).to_be_visible()
    expect(page.locator("#costs-plot")).to_contain_text("Monetary by technology and location")
    expect(page.locator("#capacity-plot")).to_contain_text("Combined cycle gas turbine")

    page.evaluate("window.__engageNoReload = 'same page'")
    whole = _dispatch_x(page)
    assert len(whole) == 48 and whole[0].startswith("2005-01-01"), whole[:3]

    _choose(page, "node-select", "region2")
    expect(page.locator("#dispatch-plot")).to_contain_text("Dispatch of power, region2")

    _choose(page, "period-select", "Chosen days")
    page.fill("#period-start", "2005-01-02")
    page.fill("#period-end", "2005-01-02")
    page.wait_for_function("() => document.getElementById('dispatch-plot').data[0].x.length === 24")
    one_day = _dispatch_x(page)
    assert one_day[0].startswith("2005-01-02") and one_day[-1][:10] == "2005-01-02", one_day[:3]
    assert "23:00" in one_day[-1], one_day[-3:]
    # Days out of order are said, and the figures keep the days chosen before.
    page.fill("#period-end", "2005-01-01")
    expect(page.locator("#period-error")).to_contain_text("The last day (2005-01-01) is before the first day")
    assert len(_dispatch_x(page)) == 24
    page.fill("#period-end", "2005-01-02")
    expect(page.locator("#period-error")).to_have_count(0)
    expect(page.locator("#storage-plot .scatterlayer .trace").first).to_be_visible()
    assert page.evaluate("window.__engageNoReload") == "same page"
