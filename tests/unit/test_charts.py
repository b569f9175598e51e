"""The figure builders: one trace per technology, in its colour, adding up to the data."""

from __future__ import annotations

import pandas as pd
import pytest

from engage_reflex.charts.capacity import capacity_figure
from engage_reflex.charts.dispatch import dispatch_figure

TECHS = pd.DataFrame([
    {"tech": "ccgt", "name": "Combined cycle gas turbine", "color": "#E37A72", "base_tech": "supply"},
    {"tech": "csp", "name": "Concentrating solar power", "color": "#F9CF22", "base_tech": "supply"},
    {"tech": "battery", "name": "Battery storage", "color": "#3B61E3", "base_tech": "storage"},
    {"tech": "demand_power", "name": "Power demand", "color": "#072486", "base_tech": "demand"},
    {"tech": "r1_to_r2", "name": "AC power transmission", "color": "#8465A9", "base_tech": "transmission"},
])


@pytest.fixture
def capacity() -> pd.DataFrame:
    rows = [
        ("region1", "ccgt", "power", "flow_cap", 30000.0),
        ("region1", "demand_power", "power", "flow_cap", 25000.0),
        ("region1", "r1_to_r2", "power", "flow_cap", 5000.0),
        ("region1_1", "csp", "power", "flow_cap", 1000.0),
        ("region1_2", "csp", "power", "flow_cap", 2000.5),
        ("region2", "battery", "power", "flow_cap", 1000.0),
        ("region2", "battery", "power", "storage_cap", 4000.0),
        ("region2", "mystery", "power", "flow_cap", 7.0),  # not in techs.csv
    ]
    return pd.DataFrame(rows, columns=["node", "tech", "carrier", "variable", "value"])


def _by_name(fig):
    return {trace.name: trace for trace in fig.data}


def test_capacity_has_one_trace_per_built_tech_in_its_colour(capacity):
    fig = capacity_figure(capacity, TECHS)
    traces = _by_name(fig)
    # Demand and transmission are not shown as built capacity; an unknown tech gets grey and its id.
    assert list(traces) == ["Combined cycle gas turbine", "Concentrating solar power", "Battery storage", "mystery"]
    assert traces["Combined cycle gas turbine"].marker.color == "#E37A72"
    assert traces["Concentrating solar power"].marker.color == "#F9CF22"
    assert traces["Battery storage"].marker.color == "#3B61E3"
    assert traces["mystery"].marker.color == "#9E9E9E"
    assert fig.layout.barmode == "stack"
    csp = traces["Concentrating solar power"]
    assert dict(zip(csp.x, csp.y)) == {"region1": 0, "region1_1": 1000.0, "region1_2": 2000.5, "region2": 0}
    assert sum(sum(t.y) for t in fig.data) == pytest.approx(30000 + 1000 + 2000.5 + 1000 + 7)


def test_capacity_grouped_and_storage(capacity):
    assert capacity_figure(capacity, TECHS, stacked=False).layout.barmode == "group"
    storage = capacity_figure(capacity, TECHS, variable="storage_cap", unit="kWh")
    assert [t.name for t in storage.data] == ["Battery storage"]
    assert list(storage.data[0].y) == [4000.0]


def test_capacity_without_any_capacity_says_so(capacity):
    fig = capacity_figure(capacity, TECHS, carrier="heat")
    assert len(fig.data) == 0
    assert "no capacity for heat" in fig.layout.annotations[0].text


@pytest.fixture
def flows() -> pd.DataFrame:
    steps = pd.date_range("2005-01-01", periods=4, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    rows = []
    for i, step in enumerate(steps):
        rows += [
            (step, "ccgt", "out", 100.0 + i),
            (step, "csp", "out", 10.0 * i),
            (step, "battery", "out", 5.0 if i == 3 else 0.0),
            (step, "battery", "in", 5.0 if i == 0 else 0.0),
            (step, "demand_power", "in", 105.0 + 11 * i),
        ]
    return pd.DataFrame(rows, columns=["timestep", "tech", "direction", "value"])


def test_dispatch_stacks_output_up_and_consumption_down(flows):
    fig = dispatch_figure(flows, TECHS, carrier="power")
    names = [(t.name, t.stackgroup, t.showlegend) for t in fig.data]
    assert names == [
        ("Combined cycle gas turbine", "produced", True),
        ("Concentrating solar power", "produced", True),
        ("Battery storage", "produced", True),
        ("Battery storage", "consumed", False),  # same tech, one legend entry
        ("Power demand", "consumed", True),
    ]
    colours = {t.name: t.fillcolor for t in fig.data}
    assert colours == {"Combined cycle gas turbine": "#E37A72", "Concentrating solar power": "#F9CF22",
                       "Battery storage": "#3B61E3", "Power demand": "#072486"}
    produced = sum(sum(t.y) for t in fig.data if t.stackgroup == "produced")
    consumed = sum(sum(t.y) for t in fig.data if t.stackgroup == "consumed")
    out = flows[flows.direction == "out"].value.sum()
    assert produced == pytest.approx(out)
    assert consumed == pytest.approx(-flows[flows.direction == "in"].value.sum())
    demand = _by_name(fig)["Power demand"]
    assert list(demand.y) == [-105.0, -116.0, -127.0, -138.0]
    assert len(demand.x) == 4 and str(demand.x[0]).startswith("2005-01-01")
    assert fig.layout.title.text == "Dispatch of power"


def test_dispatch_of_an_idle_carrier_says_so(flows):
    fig = dispatch_figure(flows.assign(value=0.0), TECHS, carrier="power")
    assert len(fig.data) == 0 and "Nothing produced or consumed power" in fig.layout.annotations[0].text
