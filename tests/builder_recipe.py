"""One small model, built straight through the editor's services: what the browser test builds by hand.

The browser test (tests/e2e/test_build_model_in_browser.py) builds the same model through the pages and
compares its export with the export of `build_with_services`, so both must follow RECIPE.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from engage_reflex.models import Scenario
from engage_reflex.services import calliope_io, carriers, locations, models, nodes, parameters, techs

MODEL_NAME = "Valley"
MODEL_DESCRIPTION = "Two towns, a gas plant, a battery and a line"
# (name, latitude, longitude): the browser test places them by clicking the map, drags one, then
# types these coordinates into the table.
LOCATIONS = [("North", 60.5, 9.5), ("South", 59.5, 10.5)]
CARRIER = {"name": "power", "rate_unit": "kW", "quantity_unit": "kWh", "color": "#e6a23c",
           "description": "Electricity"}
# (base tech, name, display name, colour, carrier)
TECHS = [
    ("supply", "gas_plant", "Gas plant", "#8a5a44", "power"),
    ("demand", "town_demand", "Town demand", "#4b6cb7", "power"),
    ("storage", "battery", "Battery", "#2e8b57", "power"),
    ("transmission", "power_line", "Power line", "#666666", "power"),
]
# (tech, parameter, text as typed, cost class or None)
TECH_PARAMETERS = [
    ("gas_plant", "flow_cap_max", "100", None),
    ("gas_plant", "cost_flow_cap", "750", "monetary"),
    ("gas_plant", "cost_flow_out", "0.05", "monetary"),
    ("town_demand", "sink_use_equals", "10", None),
    ("battery", "storage_cap_max", "200", None),
    ("battery", "cost_storage_cap", "20", "monetary"),
    ("power_line", "flow_cap_max", "50", None),
    ("power_line", "cost_flow_cap", "5", "monetary"),
]
NODES = [("North", "gas_plant"), ("North", "town_demand"), ("South", "town_demand"), ("South", "battery")]
LINK = ("power_line", "North", "South")
# (location, tech, parameter, text): a node-level override.
NODE_OVERRIDE = ("South", "battery", "storage_cap_max", "150")


def build_with_services(session: Session, user_id: int) -> int:
    """Build RECIPE as `user_id` (one service call each, as the pages do); returns the model id."""
    model_id = models.create_model(session=session, user_id=user_id, name=MODEL_NAME,
                                   description=MODEL_DESCRIPTION).id
    location_ids = {}
    for name, lat, lon in LOCATIONS:
        location_ids[name] = locations.add_location(session=session, user_id=user_id, model_id=model_id, name=name,
                                                    latitude=lat, longitude=lon).id
    carriers.add_carrier(session=session, user_id=user_id, model_id=model_id, **CARRIER)
    tech_ids = {}
    for base, name, display, color, carrier in TECHS:
        ins = [carrier] if base in ("demand", "storage", "transmission") else []
        outs = [carrier] if base in ("supply", "storage", "transmission") else []
        tech_ids[name] = techs.create_tech(session=session, user_id=user_id, model_id=model_id, base_tech=base,
                                           name=name, display_name=display, color=color, carriers_in=ins,
                                           carriers_out=outs).id
    for tech, name, raw, cost_class in TECH_PARAMETERS:
        parameters.set_tech_parameter(session=session, user_id=user_id, tech_id=tech_ids[tech], name=name, raw=raw,
                                      cost_class=cost_class)
    node_ids = {}
    for location, tech in NODES:
        change = nodes.place_tech(session=session, user_id=user_id, model_id=model_id,
                                  location_id=location_ids[location], tech_id=tech_ids[tech])
        node_ids[(location, tech)] = change.node_id
    tech, start, end = LINK
    nodes.add_link(session=session, user_id=user_id, model_id=model_id, tech_id=tech_ids[tech],
                   from_location_id=location_ids[start], to_location_id=location_ids[end])
    location, tech, name, raw = NODE_OVERRIDE
    parameters.set_node_parameter(session=session, user_id=user_id, node_id=node_ids[(location, tech)], name=name,
                                  raw=raw)
    session.flush()
    return model_id


def exported(session: Session, model_id: int) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The base scenario's Calliope definition, its data tables as CSV text, and its files."""
    scenario_id = session.exec(select(Scenario.id).where(Scenario.model_id == model_id,
                                                         Scenario.name == "base")).one()
    definition = calliope_io.export_scenario(session=session, scenario_id=scenario_id)
    return (definition.definition, {k: v.to_csv() for k, v in definition.dataframes.items()},
            dict(definition.files))
