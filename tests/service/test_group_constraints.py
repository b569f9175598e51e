"""Group constraint templates: planner checks, one-line descriptions, and proof that each compiled constraint binds.

The proof solves the tiny model of tests/group_constraint_models.py with the HiGHS backend, once without
any group constraint (shared by the module) and once with each constraint, added to the definition the
way the exporter does (add_to_definition, the math file written next to model.yaml).
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import pytest

from engage_reflex.services import group_constraints as gc
from engage_reflex.services.errors import EngageError
from tests import group_constraint_models as tiny

TOLERANCE = 1e-6


# ------------------------------------------------------------------------ solving the tiny model


def _solve(directory: Path, constraints: list[tuple[str, str, dict]]):
    import calliope

    definition, files = tiny.definition(), {}
    gc.add_to_definition(definition, files, constraints)
    for rel, text in files.items():
        (directory / rel).parent.mkdir(parents=True, exist_ok=True)
        (directory / rel).write_text(text, encoding="utf-8")
    calliope.io.to_yaml(definition, path=directory / "model.yaml")
    model = calliope.read_dict(definition, data_table_dfs={"ts_df": tiny.timeseries()},
                               definition_path=directory / "model.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.build()
        model.solve(solver_options={"output_flag": False})
    assert model.runtime.termination_condition == "optimal"
    return model


def _checked(template: str, **params) -> dict:
    return gc.check_params(template=template, params=params, vocabulary=tiny.vocabulary())


@pytest.fixture(scope="module")
def free(tmp_path_factory):
    """The optimum without group constraints."""
    return _solve(tmp_path_factory.mktemp("free"), [])


@pytest.fixture
def solve(tmp_path):
    return lambda *constraints: _solve(tmp_path, list(constraints))


def _objective(model) -> float:
    return float(model.results.min_cost_optimisation)


def _capacity(model, techs: list[str], nodes: list[str] | None = None) -> float:
    flow_cap = model.results.flow_cap.sel(carriers="power")
    flow_cap = flow_cap.sel(techs=[t for t in flow_cap.techs.values if t in techs])
    if nodes:
        flow_cap = flow_cap.sel(nodes=nodes)
    return float(flow_cap.sum())


def _weighted_power(model, array: str, techs: list[str]) -> float:
    flows = getattr(model.results, array).sel(carriers="power", techs=techs)
    return float((flows * model.inputs.timestep_weights).sum())


def _co2(model, nodes: list[str]) -> float:
    return float(model.results.cost.sel(costs="co2", nodes=nodes).sum())


def _hourly_demand(model):
    return model.results.flow_in.sel(carriers="power", techs="demand_power").sum("nodes")


# ------------------------------------------------------------------------ each template binds


def test_max_capacity_binds_even_where_a_chosen_tech_is_absent(free, solve):
    # wind is only at B: the set (pv, wind) × (A) is pv at A alone.
    params = _checked("max_capacity", techs=["wind", "pv"], locations=["A"], limit=4)
    assert _capacity(free, ["pv"], ["A"]) > 4 + 1  # left alone, cheap pv at A is bigger
    capped = solve(("No more PV in A", "max_capacity", params))
    assert _capacity(capped, ["pv", "wind"], ["A"]) == pytest.approx(4, abs=TOLERANCE)
    assert _objective(capped) > _objective(free) + TOLERANCE


def test_min_capacity_binds_over_every_location(free, solve):
    params = _checked("min_capacity", techs=["wind", "gas"], locations=["B"], limit=18)  # no gas at B
    assert _capacity(free, ["wind"], ["B"]) < 18 - 1
    forced = solve(("Wind target", "min_capacity", params))
    assert _capacity(forced, ["gas", "wind"], ["B"]) == pytest.approx(18, abs=TOLERANCE)
    assert _objective(forced) > _objective(free) + TOLERANCE


def test_carrier_share_binds_on_weighted_output_and_demand(free, solve):
    params = _checked("carrier_share", techs=["pv", "wind"], carrier="power", share=75)
    renewable, demand = (_weighted_power(free, "flow_out", ["pv", "wind"]),
                         _weighted_power(free, "flow_in", ["demand_power"]))
    assert renewable < 0.75 * demand - 1
    greener = solve(("75 % renewable", "carrier_share", params))
    renewable, demand = (_weighted_power(greener, "flow_out", ["pv", "wind"]),
                         _weighted_power(greener, "flow_in", ["demand_power"]))
    assert renewable == pytest.approx(0.75 * demand, abs=TOLERANCE)
    assert _objective(greener) > _objective(free) + TOLERANCE


def test_emissions_cap_binds_at_the_chosen_locations(free, solve):
    params = _checked("emissions_cap", cost_class="co2", cap=30, locations=["A"])
    assert _co2(free, ["A"]) > 30 + 1
    capped = solve(("CO2 cap", "emissions_cap", params))
    assert _co2(capped, ["A"]) == pytest.approx(30, abs=TOLERANCE)
    assert _objective(capped) > _objective(free) + TOLERANCE


def test_reserve_margin_binds_in_the_peak_hour(free, solve):
    params = _checked("reserve_margin", carrier="power", margin=20, techs=["gas", "battery"])
    firm = ["gas", "battery"]
    assert _capacity(free, firm) < 1.2 * float(_hourly_demand(free).max()) - 1
    reserved = solve(("Reserve", "reserve_margin", params))
    slack = _capacity(reserved, firm) - 1.2 * _hourly_demand(reserved)
    assert float(slack.min()) == pytest.approx(0, abs=TOLERANCE)  # equal in the peak hour, above elsewhere
    assert _objective(reserved) > _objective(free) + TOLERANCE


def test_reserve_margin_without_techs_counts_every_supply_and_storage(free, solve):
    params = _checked("reserve_margin", carrier="power", margin=150, techs=[])
    every = ["battery", "gas", "pv", "wind"]
    assert _capacity(free, every) < 2.5 * float(_hourly_demand(free).max()) - 1
    reserved = solve(("Big reserve", "reserve_margin", params))
    assert float((_capacity(reserved, every) - 2.5 * _hourly_demand(reserved)).min()) == pytest.approx(
        0, abs=TOLERANCE)
    assert _objective(reserved) > _objective(free) + TOLERANCE


def test_two_constraints_with_clashing_names_both_hold(free, solve):
    both = solve(("Cap PV", "max_capacity", _checked("max_capacity", techs=["pv"], locations=["B"], limit=1)),
                 ("cap pv!", "emissions_cap", _checked("emissions_cap", cost_class="co2", cap=40)))
    assert _capacity(free, ["pv"], ["B"]) > 1 + 0.5 and _co2(free, ["A", "B"]) > 40 + 1
    assert _capacity(both, ["pv"], ["B"]) == pytest.approx(1, abs=TOLERANCE)
    assert _co2(both, ["A", "B"]) == pytest.approx(40, abs=TOLERANCE)


# ------------------------------------------------------------------------ planner checks

ZURICH_REFUSAL = ("The location “Zürich” cannot be used in a group constraint: Calliope's constraint language "
                  "reads only names made of English letters (a-z), digits and underscores, other than “inf”. "
                  "Rename the location to use it here.")

REFUSALS = [
    ("max_wind", {}, "“max_wind” is not a kind of group constraint Engage knows. Choose one of: Maximum capacity, "
                     "Minimum capacity, Share of demand, Emissions cap, Reserve margin."),
    ("max_capacity", {"techs": ["windy"], "limit": 1}, "“windy” is not a technology of this model."),
    ("max_capacity", {"techs": [], "limit": 1}, "Choose at least one technology."),
    ("min_capacity", {"techs": [" ", ""], "limit": 1}, "Choose at least one technology."),
    ("max_capacity", {"techs": ["pv"], "locations": ["C"], "limit": 1}, "“C” is not a location of this model."),
    ("max_capacity", {"techs": ["pv"], "locations": ["Zürich"], "limit": 1}, ZURICH_REFUSAL),
    ("max_capacity", {"techs": ["Windpark_Zürich"], "limit": 1},
     "The technology “Windpark_Zürich” cannot be used in a group constraint: Calliope's constraint language reads "
     "only names made of English letters (a-z), digits and underscores, other than “inf”. Rename the technology "
     "to use it here."),
    ("max_capacity", {"techs": ["inf"], "limit": 1}, "The technology “inf” cannot be used in a group constraint"),
    ("max_capacity", {"techs": ["pv"]}, "Give the capacity."),
    ("max_capacity", {"techs": ["pv"], "limit": "abc"}, "The capacity “abc” is not a number; type digits, e.g. 30."),
    ("max_capacity", {"techs": ["pv"], "limit": "1,000"}, "The capacity “1,000” is not a number"),
    ("max_capacity", {"techs": ["pv"], "limit": True}, "The capacity “True” is not a number"),
    ("max_capacity", {"techs": ["pv"], "limit": "inf"}, "The capacity “inf” is not a number"),
    ("min_capacity", {"techs": ["pv"], "limit": -5}, "The capacity must be 0 or more; “-5” is not."),
    ("max_capacity", {"techs": ["demand_power"], "limit": 1},
     "“demand_power” is a demand: it has no capacity to limit. Choose technologies that supply, store or convert."),
    ("min_capacity", {"techs": ["a_to_b", "pv"], "limit": 1},
     "“a_to_b” is a link between locations; capacity limits cover only supply, storage and conversion "
     "technologies."),
    ("carrier_share", {"techs": ["pv"], "carrier": "steam", "share": 50},
     "“steam” is not a carrier of this model (it has heat, methane, power)."),
    ("carrier_share", {"techs": ["pv"], "share": 50}, "Choose a carrier."),
    ("carrier_share", {"techs": ["pv"], "carrier": "power", "share": 120},
     "The share must be between 0 and 100 %; “120 %” is not."),
    ("carrier_share", {"techs": ["pv"], "carrier": "power", "share": "-1%"},
     "The share must be between 0 and 100 %; “-1%” is not."),
    ("carrier_share", {"techs": ["boiler"], "carrier": "power", "share": 50},
     "A share of demand needs technologies that produce power: boiler does not."),
    ("carrier_share", {"techs": [], "carrier": "power", "share": 50}, "Choose at least one technology."),
    ("emissions_cap", {"cost_class": "co3", "cap": 1}, "“co3” is not a cost class of this model (it has co2, "
                                                        "monetary)."),
    ("emissions_cap", {"cap": 1}, "Choose a cost class."),
    ("emissions_cap", {"cost_class": "co2", "cap": -1}, "The cap must be 0 or more; “-1” is not."),
    ("emissions_cap", {"cost_class": "co2", "cap": 1, "locations": ["A", "Q"]}, "“Q” is not a location of this "
                                                                                "model."),
    ("reserve_margin", {"carrier": "power", "margin": -10}, "The reserve margin must be 0 % or more; “-10 %” is "
                                                            "not."),
    ("reserve_margin", {"carrier": "power", "margin": 10, "techs": ["demand_power"]},
     "A reserve margin needs supply, storage or conversion technologies that produce power: demand_power is a "
     "demand."),
    ("reserve_margin", {"carrier": "power", "margin": 10, "techs": ["a_to_b"]},
     "A reserve margin needs supply, storage or conversion technologies that produce power: a_to_b only moves "
     "energy between locations."),
    ("reserve_margin", {"carrier": "power", "margin": 10, "techs": ["gas", "boiler"]},
     "A reserve margin needs technologies that produce power: boiler does not."),
    ("reserve_margin", {"carrier": "methane", "margin": 10}, "No demand of this model consumes methane; add a "
                                                             "demand for methane first."),
    ("reserve_margin", {"carrier": "heat", "margin": 10},
     "No supply or storage technology of this model produces heat: choose the technologies whose capacity counts "
     "as reserve."),
]


@pytest.mark.parametrize(("template", "params", "message"), REFUSALS)
def test_every_refusal_names_the_field_and_the_value(template, params, message):
    with pytest.raises(EngageError) as info:
        gc.check_params(template=template, params=params, vocabulary=tiny.vocabulary())
    assert info.value.message.startswith(message)


def test_check_params_normalises():
    assert _checked("max_capacity", techs="wind, pv,pv", limit="30") == {
        "techs": ["pv", "wind"], "locations": [], "limit": 30.0}
    assert _checked("min_capacity", techs=["gas", "pv", "gas"], locations=["B", "A", "B"], limit=0, extra=1) == {
        "techs": ["gas", "pv"], "locations": ["A", "B"], "limit": 0.0}
    assert _checked("carrier_share", techs=["boiler"], carrier=" heat ", share="75 %") == {
        "techs": ["boiler"], "carrier": "heat", "share": 75.0}
    assert _checked("emissions_cap", cost_class="co2", cap=1e3, locations=None) == {
        "cost_class": "co2", "cap": 1000.0, "locations": []}
    assert _checked("reserve_margin", carrier="power", margin=" 15 ") == {
        "carrier": "power", "margin": 15.0, "techs": []}
    assert type(_checked("carrier_share", techs=["pv"], carrier="power", share=100)["share"]) is float


def test_templates_offer_the_fields_the_checks_expect():
    assert list(gc.TEMPLATES) == ["max_capacity", "min_capacity", "carrier_share", "emissions_cap",
                                  "reserve_margin"]
    kinds = {"techs", "locations", "carrier", "cost_class", "number", "fraction"}
    for key, template in gc.TEMPLATES.items():
        assert template.key == key and template.title and template.description
        assert all(f.kind in kinds and f.label and f.hint for f in template.fields)
    optional = {(t.key, f.key) for t in gc.TEMPLATES.values() for f in t.fields if not f.required}
    assert optional == {("max_capacity", "locations"), ("min_capacity", "locations"),
                        ("emissions_cap", "locations"), ("reserve_margin", "techs")}
    assert "capacity unit" in gc.TEMPLATES["max_capacity"].fields[2].hint


def test_describe_gives_one_line_a_planner_reads():
    assert gc.describe(template="max_capacity", params={"techs": ["pv", "wind"], "locations": ["region1"],
                                                       "limit": 1000.0}) == \
        "Total capacity of pv, wind at region1 ≤ 1,000"
    assert gc.describe(template="min_capacity", params={"techs": ["gas"], "locations": [], "limit": 2.5}) == \
        "Total capacity of gas at every location ≥ 2.5"
    assert gc.describe(template="carrier_share", params={"techs": ["pv", "wind"], "carrier": "power",
                                                        "share": 75.0}) == \
        "pv, wind produce ≥ 75 % of the power demand"
    assert gc.describe(template="emissions_cap", params={"cost_class": "co2", "cap": 1234567.5,
                                                        "locations": ["A", "B"]}) == \
        "Total co2 at A, B ≤ 1,234,567.5"
    assert gc.describe(template="reserve_margin", params={"carrier": "power", "margin": 15.0, "techs": []}) == \
        "Capacity of every supply and storage technology producing power ≥ demand + 15 % in every time step"
    with pytest.raises(EngageError, match="is not a kind of group constraint"):
        gc.describe(template="nope", params={})


# ------------------------------------------------------------------------ compiling and registering

CAP_PV = ("Cap PV", "max_capacity", {"techs": ["pv"], "locations": [], "limit": 7.0})
CO2 = ("Höchst-CO₂ (A)", "emissions_cap", {"cost_class": "co2", "cap": 40.0, "locations": ["A"]})


def test_compile_math_names_each_constraint_uniquely_and_describes_it():
    assert gc.compile_math([]) == {}
    clash = ("cap pv!", "min_capacity", {"techs": ["gas"], "locations": ["A"], "limit": 1.0})
    nameless = ("!!!", "reserve_margin", {"carrier": "power", "margin": 10.0, "techs": []})
    math_dict = gc.compile_math([CAP_PV, clash, CO2, nameless])
    assert set(math_dict) == {"constraints", "global_expressions"}
    assert list(math_dict["constraints"]) == ["engage_cap_pv", "engage_cap_pv_2", "engage_hochst_co2_a",
                                              "engage_constraint"]
    assert len(math_dict["global_expressions"]) == 5  # capacity, capacity, cost, firm capacity + demand
    assert all(name.startswith(tuple(math_dict["constraints"])) for name in math_dict["global_expressions"])
    described = math_dict["constraints"]["engage_hochst_co2_a"]["description"]
    assert described == "Engage group constraint “Höchst-CO₂ (A)”: Total co2 at A ≤ 40"
    assert "sum(engage_cap_pv_2_capacity, over=[nodes, techs, carriers]) >= 1" in str(
        math_dict["constraints"]["engage_cap_pv_2"]["equations"])


def test_compile_math_never_lets_a_stored_name_become_math_syntax():
    tampered = ("Bad", "max_capacity", {"techs": ["pv] in techs OR [gas"], "locations": [], "limit": 1.0})
    with pytest.raises(EngageError, match="cannot be used in a group constraint"):
        gc.compile_math([tampered])


def test_add_to_definition_keeps_existing_extra_math():
    from calliope.attrdict import AttrDict
    from calliope.io import read_rich_yaml

    definition = {"config": {"init": {"name": "x", "math_paths": {"chp": "chp_math.yaml"}, "extra_math": ["chp"]}}}
    files = {"chp_math.yaml": "constraints: {}\n"}
    gc.add_to_definition(definition, files, [CAP_PV, CO2])
    gc.add_to_definition(definition, files, [CAP_PV, CO2])  # again: no second registration
    assert definition["config"]["init"]["math_paths"] == {"chp": "chp_math.yaml", gc.MATH_NAME: gc.MATH_PATH}
    assert definition["config"]["init"]["extra_math"] == ["chp", gc.MATH_NAME]
    assert set(files) == {"chp_math.yaml", gc.MATH_PATH}
    assert read_rich_yaml(files[gc.MATH_PATH]).as_dict() == gc.compile_math([CAP_PV, CO2])

    bare = AttrDict({"techs": {}})
    gc.add_to_definition(bare, {}, [CO2])
    assert bare.config.init.extra_math == [gc.MATH_NAME]
    assert bare.config.init.math_paths[gc.MATH_NAME] == gc.MATH_PATH


def test_add_to_definition_without_constraints_changes_nothing():
    definition = {"config": {"init": {"extra_math": ["chp"]}}, "techs": {}}
    before, files = copy.deepcopy(definition), {"a.yaml": "x"}
    gc.add_to_definition(definition, files, [])
    assert definition == before and files == {"a.yaml": "x"}
