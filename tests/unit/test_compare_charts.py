"""The comparison charts: one bar per run and technology, in the technology's colour."""

from __future__ import annotations

import pandas as pd

from engage_reflex.charts.compare import capacity_comparison_figure, cost_comparison_figure

TECHS = pd.DataFrame([
    ("ccgt", "Gas turbine", "#E37A72", "supply"), ("battery", "Battery", "#3B61E3", "storage"),
    ("demand_power", "Power demand", "#072486", "demand"), ("r1_to_r2", "AC line", "#8465A9", "transmission"),
], columns=["tech", "name", "color", "base_tech"])


def _capacity(rows):
    return pd.DataFrame(rows, columns=["node", "tech", "carrier", "variable", "value"])


def _costs(rows):
    return pd.DataFrame(rows, columns=["node", "tech", "cost_class", "value"])


def test_capacity_bars_pair_the_runs_per_technology_in_its_colour():
    first = _capacity([("r1", "ccgt", "power", "flow_cap", 30.0), ("r2", "ccgt", "power", "flow_cap", 5.0),
                       ("r2", "battery", "power", "flow_cap", 1.0), ("r2", "battery", "", "storage_cap", 4.0),
                       ("r1", "demand_power", "power", "flow_cap", 25.0), ("r1", "r1_to_r2", "power", "flow_cap", 9.0)])
    second = _capacity([("r1", "ccgt", "power", "flow_cap", 30.0), ("r2", "battery", "power", "flow_cap", 2.0)])
    fig = capacity_comparison_figure(first, second, TECHS, labels=("Run #1", "Run #2"), unit="MW")
    a, b = fig.data
    assert (a.name, b.name) == ("Run #1", "Run #2")
    assert list(a.x) == ["Gas turbine", "Battery"]  # demand and lines are left out; supply first
    assert list(a.y) == [35.0, 1.0] and list(b.y) == [30.0, 2.0]  # summed over locations
    assert list(a.marker.color) == ["#E37A72", "#3B61E3"] == list(b.marker.color)
    assert a.marker.pattern.shape == "" and b.marker.pattern.shape == "/"  # the second run is hatched
    assert fig.layout.barmode == "group" and "MW" in fig.layout.yaxis.title.text


def test_capacity_of_storage_and_no_capacity_at_all():
    first = _capacity([("r2", "battery", "", "storage_cap", 4.0)])
    fig = capacity_comparison_figure(first, _capacity([]), TECHS, variable="storage_cap", unit="MWh")
    assert list(fig.data[0].y) == [4.0] and list(fig.data[1].y) == [0.0]
    empty = capacity_comparison_figure(_capacity([]), _capacity([]), TECHS)
    assert not empty.data and "Neither run built any capacity" in empty.layout.annotations[0].text


def test_costs_one_panel_per_cost_class_monetary_first():
    first = _costs([("r1", "ccgt", "monetary", 100.0), ("r1", "ccgt", "co2", 7.0),
                    ("r2", "battery", "monetary", 10.0)])
    second = _costs([("r1", "ccgt", "monetary", 80.0), ("r1", "ccgt", "co2", 5.0),
                     ("r2", "battery", "monetary", 30.0), ("unknown", "new_tech", "monetary", 1.0)])
    fig = cost_comparison_figure(first, second, TECHS, labels=("Run #1", "Run #2"))
    assert [a.text for a in fig.layout.annotations] == ["monetary", "co2"]
    monetary = [t for t in fig.data if t.xaxis == "x"]
    assert [t.name for t in monetary] == ["Run #1", "Run #2"]
    assert list(monetary[0].x) == ["Gas turbine", "Battery", "new_tech"]  # an unknown tech keeps its id
    assert list(monetary[0].y) == [100.0, 10.0, 0.0] and list(monetary[1].y) == [80.0, 30.0, 1.0]
    assert monetary[0].marker.color[2] == "#9E9E9E"
    co2 = [t for t in fig.data if t.xaxis == "x2"]
    assert list(co2[1].y) == [5.0] and not co2[0].showlegend  # one legend entry per run


def test_costs_when_neither_run_has_any():
    fig = cost_comparison_figure(_costs([]), _costs([]), TECHS)
    assert "Neither run has any costs" in fig.layout.annotations[0].text
