"""The results page's newer figures: storage level, costs and emissions, levelised cost, capacity
factors, the results map and the dispatch's demand line."""

from __future__ import annotations

import pandas as pd
import pytest

from engage_reflex.charts.costs import costs_figure
from engage_reflex.charts.dispatch import dispatch_figure
from engage_reflex.charts.levelised import capacity_factor_figure, levelised_cost_figure
from engage_reflex.charts.results_map import results_map_figure
from engage_reflex.charts.storage import storage_figure

TECHS = pd.DataFrame([
    {"tech": "ccgt", "name": "Gas turbine", "color": "#E37A72", "base_tech": "supply"},
    {"tech": "pv", "name": "Solar PV", "color": "#F9CF22", "base_tech": "supply"},
    {"tech": "battery", "name": "Battery", "color": "#3B61E3", "base_tech": "storage"},
    {"tech": "demand_power", "name": "Power demand", "color": "#072486", "base_tech": "demand"},
    {"tech": "a_to_b", "name": "AC line", "color": "#8465A9", "base_tech": "transmission"},
])
STEPS = pd.date_range("2005-01-01", periods=3, freq="h").strftime("%Y-%m-%d %H:%M:%S")


def test_storage_level_is_one_line_per_storage_tech():
    levels = pd.DataFrame({"timestep": list(STEPS), "tech": "battery", "value": [0.0, 5.0, 2.5]})
    fig = storage_figure(levels, TECHS, unit="MWh")
    assert [t.name for t in fig.data] == ["Battery"] and fig.data[0].line.color == "#3B61E3"
    assert list(fig.data[0].y) == [0.0, 5.0, 2.5] and fig.layout.yaxis.title.text == "Stored (MWh)"
    assert "No storage" in storage_figure(levels.assign(value=0.0), TECHS).layout.annotations[0].text


def test_costs_and_emissions_per_location_and_tech_for_the_chosen_class():
    costs = pd.DataFrame([("a", "ccgt", "monetary", 10.0), ("b", "pv", "monetary", 4.0), ("a", "ccgt", "co2", 7.0),
                          ("b", "pv", "co2", -1.0)], columns=["node", "tech", "cost_class", "value"])
    money = costs_figure(costs, TECHS, cost_class="monetary")
    assert {t.name: list(t.y) for t in money.data} == {"Gas turbine": [10.0, 0.0], "Solar PV": [0.0, 4.0]}
    co2 = costs_figure(costs, TECHS, cost_class="co2")
    assert {t.name: list(t.y) for t in co2.data} == {"Gas turbine": [7.0, 0.0], "Solar PV": [0.0, -1.0]}
    assert co2.layout.barmode == "relative" and list(co2.data[0].x) == ["a", "b"]
    assert "Nothing was counted in water" in costs_figure(costs, TECHS, cost_class="water").layout.annotations[0].text


def test_levelised_cost_bars_and_the_carrier_average():
    levelised = pd.DataFrame([("ccgt", "power", "monetary", 0.05), ("pv", "power", "monetary", 0.08),
                              ("", "power", "monetary", 0.06), ("demand_power", "power", "monetary", 1.0)],
                             columns=["tech", "carrier", "cost_class", "value"])
    fig = levelised_cost_figure(levelised, TECHS, carrier="power", cost_class="monetary")
    assert list(fig.data[0].y) == ["Gas turbine", "Solar PV"] and list(fig.data[0].x) == [0.05, 0.08]
    assert list(fig.data[0].marker.color) == ["#E37A72", "#F9CF22"]
    assert fig.layout.shapes[0].x0 == pytest.approx(0.06)  # the average over all techs
    assert "No levelised" in levelised_cost_figure(levelised, TECHS, carrier="heat",
                                                   cost_class="monetary").layout.annotations[0].text


def test_capacity_factors_in_percent_per_location_or_systemwide():
    factors = pd.DataFrame([("a", "ccgt", "power", 0.9), ("b", "pv", "power", 0.2), ("", "ccgt", "power", 0.9),
                            ("", "pv", "power", 0.2), ("a", "a_to_b", "power", 0.5)],
                           columns=["node", "tech", "carrier", "value"])
    systemwide = capacity_factor_figure(factors, TECHS, carrier="power")
    assert list(systemwide.data[0].y) == ["Gas turbine", "Solar PV"]
    assert list(systemwide.data[0].x) == pytest.approx([90.0, 20.0])
    at_b = capacity_factor_figure(factors, TECHS, carrier="power", node="b")
    assert list(at_b.data[0].y) == ["Solar PV"] and "b" in at_b.layout.title.text


def test_results_map_sizes_pies_by_capacity_and_points_links_the_way_energy_flowed():
    nodes = pd.DataFrame({"node": ["a", "b", "c"], "latitude": [40.0, 41.0, 39.0], "longitude": [-2.0, -8.0, -1.0]})
    capacity = pd.DataFrame([("a", "ccgt", "power", "flow_cap", 300.0), ("a", "pv", "power", "flow_cap", 100.0),
                             ("b", "pv", "power", "flow_cap", 100.0), ("a", "demand_power", "power", "flow_cap", 9e9)],
                            columns=["node", "tech", "carrier", "variable", "value"])
    links = pd.DataFrame([("a_to_b", "AC line", "a", "b", "power", 50.0, 10.0, 40.0)],
                         columns=["tech", "name", "from_node", "to_node", "carrier", "capacity", "sent", "returned"])
    fig = results_map_figure(nodes, capacity, links, TECHS, carrier="power", unit="MW")
    pies = {t.name: t for t in fig.data if t.type == "pie"}
    assert set(pies) == {"a", "b"}  # c built nothing: a dot and its name only
    assert list(pies["a"].labels) == ["Gas turbine", "Solar PV"] and list(pies["a"].values) == [300.0, 100.0]
    assert list(pies["a"].marker.colors) == ["#E37A72", "#F9CF22"]
    width = {name: pie.domain.x[1] - pie.domain.x[0] for name, pie in pies.items()}
    assert width["a"] > width["b"]  # 400 MW against 100 MW
    for pie in pies.values():
        assert 0 <= pie.domain.x[0] < pie.domain.x[1] <= 1 and 0 <= pie.domain.y[0] < pie.domain.y[1] <= 1
    # The pie sits where its location is on the fixed axes.
    x0, x1 = fig.layout.xaxis.range
    assert (pies["b"].domain.x[0] + pies["b"].domain.x[1]) / 2 == pytest.approx((-8.0 - x0) / (x1 - x0))
    arrow = fig.layout.annotations[0]
    assert arrow.showarrow and arrow.x > arrow.ax  # net 30 flowed from b (west) to a (east): the head is east
    hover = [t for t in fig.data if t.name == "Links"][0].text[0]
    assert "net flow b → a: 30" in hover and "capacity 50 MW" in hover
    assert "no coordinates" in results_map_figure(nodes.assign(latitude=None), capacity, links, TECHS,
                                                  carrier="power").layout.annotations[0].text


def test_dispatch_draws_demand_as_a_line_over_the_produced_areas():
    rows = []
    for i, step in enumerate(STEPS):
        rows += [(step, "ccgt", "out", 10.0 + i), (step, "battery", "in", 1.0), (step, "demand_power", "in", 9.0 + i)]
    flows = pd.DataFrame(rows, columns=["timestep", "tech", "direction", "value"])
    fig = dispatch_figure(flows, TECHS, carrier="power", demand_as_line=True)
    demand = fig.data[-1]
    assert demand.name == "Power demand" and demand.stackgroup is None and demand.mode == "lines"
    assert list(demand.y) == [9.0, 10.0, 11.0]  # above zero, where the produced areas reach
    assert [(t.name, t.stackgroup) for t in fig.data[:-1]] == [("Gas turbine", "produced"), ("Battery", "consumed")]
