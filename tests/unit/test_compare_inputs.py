"""Two Calliope definitions told apart in planner words (services.compare.definition_changes)."""

from __future__ import annotations

import copy

from engage_reflex.services.compare_inputs import definition_changes


def cost(value, cost_class="monetary"):
    return {"data": value, "index": [[cost_class]], "dims": ["costs"]}


BASE = {
    "config": {"init": {"name": "Island", "subset": {"timesteps": ["2005-01-01", "2005-01-02"]}},
               "build": {"ensure_feasibility": True, "backend": "highs"}},
    "data_definitions": {"objective_cost_weights": cost(1.0)},
    "techs": {
        "ccgt": {"base_tech": "supply", "carrier_out": ["power"], "flow_cap_max": 40000.0,
                 "cost_flow_cap": cost(750.0)},
        "battery": {"base_tech": "storage", "flow_cap_max": 1000.0},
        "r1_to_r2": {"base_tech": "transmission", "link_from": "r1", "link_to": "r2", "flow_cap_max": 10.0},
    },
    "nodes": {
        "r1": {"latitude": 40.0, "techs": {"ccgt": {"flow_cap_max": 30000.0}, "demand_power": {}}},
        "r2": {"latitude": 41.0, "techs": {"battery": {}, "demand_power": {}}},
    },
}


def _texts(a, b, shown=frozenset()):
    return [c.text for c in definition_changes(a, b, set(shown))]


def test_the_same_definition_has_no_changes():
    assert definition_changes(BASE, copy.deepcopy(BASE)) == []


def test_parameters_costs_and_placements():
    other = copy.deepcopy(BASE)
    other["techs"]["ccgt"]["cost_flow_cap"] = {"data": [800.0, 0.4], "index": [["monetary"], ["co2"]],
                                               "dims": ["costs"]}
    other["nodes"]["r1"]["techs"]["ccgt"]["flow_cap_max"] = 35000.0
    other["nodes"]["r1"]["techs"]["battery"] = {}
    del other["nodes"]["r2"]["techs"]["battery"]
    other["techs"]["ccgt"]["carrier_out"] = ["power", "heat"]
    changes = definition_changes(BASE, other)
    texts = [c.text for c in changes]
    assert "ccgt: carrier_out power → power, heat" in texts
    assert "ccgt: cost_flow_cap (monetary) 750 → 800" in texts
    assert "ccgt: cost_flow_cap (co2) not set → 0.4" in texts
    assert "ccgt at r1: flow_cap_max 30000 → 35000" in texts
    assert "battery at r1: placed at r1" in texts
    assert "battery at r2: no longer at r2" in texts
    cost_change = next(c for c in changes if c.what == "cost_flow_cap (monetary)")
    assert (cost_change.section, cost_change.subject, cost_change.first, cost_change.second) == \
        ("Technologies", "ccgt", "750", "800")
    assert cost_change.title  # Calliope's own title of cost_flow_cap


def test_switches_of_techs_nodes_and_links():
    other = copy.deepcopy(BASE)
    other["techs"]["ccgt"]["active"] = False
    other["techs"]["r1_to_r2"]["active"] = False
    other["nodes"]["r2"]["techs"]["battery"]["active"] = False
    other["nodes"]["r1"]["active"] = False
    texts = _texts(BASE, other)
    assert "ccgt: switched off everywhere" in texts
    assert "r1_to_r2 (link r1 – r2): switched off" in texts
    assert "battery: switched off at r2" in texts
    assert "r1: switched off (everything there)" in texts
    # and back on (an explicit `active: true` reads as on, like an absent one)
    back = copy.deepcopy(other)
    back["nodes"]["r2"]["techs"]["battery"]["active"] = True
    assert "battery: switched on at r2" in _texts(other, back)
    assert not any("battery" in t for t in _texts(BASE, back) if "r2" in t)


def test_added_and_removed_techs_and_locations_and_settings():
    other = copy.deepcopy(BASE)
    del other["techs"]["battery"]
    other["techs"]["pv"] = {"base_tech": "supply"}
    other["nodes"]["r3"] = {"latitude": 42.0}
    other["config"]["build"]["ensure_feasibility"] = False
    other["config"]["init"]["subset"]["timesteps"] = ["2005-01-01", "2005-01-05"]
    other["data_definitions"]["objective_cost_weights"] = cost(2.0)
    texts = _texts(BASE, other)
    assert "battery: removed from the model" in texts
    assert "pv: added to the model" in texts
    assert "r3: location added" in texts
    assert "config.build: ensure_feasibility true → false" in texts
    assert "Whole model: objective_cost_weights (monetary) 1 → 2" in texts
    assert "config.init: subset.timesteps 2005-01-01, 2005-01-02 → 2005-01-01, 2005-01-05" in texts
    # When the run options already say the dates changed, the config does not say it again.
    assert not any("subset" in t for t in _texts(BASE, other, {"Dates"}))
