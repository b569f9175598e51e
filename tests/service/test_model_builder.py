"""A whole model built through the editor's services only exports as the planner meant it.

That Calliope solves it is shown by the browser test, which builds and runs the same model."""

from __future__ import annotations

import pytest

from engage_reflex.models import User
from tests.builder_recipe import NODE_OVERRIDE, build_with_services, exported


@pytest.fixture
def planner(session) -> int:
    user = User(email="builder@example.org", password_hash="!", display_name="Bea")
    session.add(user)
    session.commit()
    return user.id


def test_services_build_the_model_the_planner_described(session, planner):
    model_id = build_with_services(session, planner)
    session.commit()
    definition, tables, _ = exported(session, model_id)

    techs = definition["techs"]
    assert techs["gas_plant"]["base_tech"] == "supply" and techs["gas_plant"]["carrier_out"] == ["power"]
    assert techs["gas_plant"]["flow_cap_max"] == 100
    assert techs["town_demand"]["carrier_in"] == ["power"] and techs["town_demand"]["sink_use_equals"] == 10
    assert techs["battery"]["carrier_in"] == techs["battery"]["carrier_out"] == ["power"]
    # The link is a transmission tech of its own between the two locations.
    (link_name,) = [name for name, spec in techs.items() if spec.get("link_from")]
    assert (techs[link_name]["link_from"], techs[link_name]["link_to"]) == ("North", "South")
    assert techs[link_name]["base_tech"] == "transmission"
    nodes = definition["nodes"]
    assert (nodes["North"]["latitude"], nodes["North"]["longitude"]) == (60.5, 9.5)
    assert set(nodes["North"]["techs"]) == {"gas_plant", "town_demand"}
    location, tech, name, raw = NODE_OVERRIDE
    assert nodes[location]["techs"][tech] == {name: float(raw)}
    assert tables, "a new model has its hourly time steps as a data table"
