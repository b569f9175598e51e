"""Calliope's parameter catalogue, planners' values and units, node inheritance (SQLite and PostgreSQL)."""

from __future__ import annotations

import math

import pytest
from sqlmodel import select

from engage_reflex.models import (
    ActivityLog,
    Carrier,
    Collaborator,
    EnergyModel,
    Location,
    Node,
    NodeParameter,
    Run,
    Scenario,
    TechParameter,
    User,
)
from engage_reflex.models._common import utcnow
from engage_reflex.services import parameters as P
from engage_reflex.services import techs as T
from engage_reflex.services.calliope_io import export_scenario
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied


# ----------------------------------------------------------------- the catalogue (no database)


def test_catalogue_is_read_from_calliope_with_titles_defaults_units_and_categories():
    entries = {e.name: e for e in P.catalogue()}
    cost = entries["cost_flow_cap"]
    assert cost.title == "Cost of flow capacity" and cost.default == 0 and cost.default_text == "0"
    assert cost.unit == "cost/power" and cost.category == "costs" and cost.by_cost_class
    assert "flow_cap" in cost.description
    assert entries["flow_cap_max"].default_text == "infinite" and entries["flow_cap_max"].category == "capacity"
    assert entries["flow_cap_max"].unit == "power"
    assert entries["area_use_per_flow_cap"].default_text == "none"
    assert entries["flow_out_eff"].category == "efficiency" and entries["flow_out_eff"].unit == ""
    assert entries["storage_loss"].category == "storage" and entries["storage_loss"].unit == "1/hour"
    assert entries["sink_use_equals"].category == "time series"
    assert entries["source_use_max"].category == "time series"
    assert entries["lifetime"].category == "other"
    assert entries["source_unit"].one_of == ("absolute", "per_area", "per_cap")
    assert entries["cyclic_storage"].dtype == "bool" and entries["cyclic_storage"].default is True
    # The schema says a tech is active unless told otherwise (the lookup default is false).
    assert entries["active"].default is True
    # milp.yaml's longer description replaces base.yaml's.
    assert "integer" in entries["flow_cap_min"].description
    # Keys with their own place, or computed / model-wide, are not offered.
    for hidden in ("base_tech", "carrier_in", "carrier_out", "link_from", "latitude", "available_area",
                   "bigM", "objective_cost_weights", "timestep_resolution", "lookup_cluster_last_timestep"):
        assert hidden not in entries
    assert {e.category for e in P.catalogue()} <= set(P.CATEGORIES)
    assert not [e.name for e in P.catalogue() if e.name.startswith("_")]
    assert len(entries) > 50


def test_catalogue_follows_the_installed_calliope_math(tmp_path, monkeypatch):
    (tmp_path / "math").mkdir()
    (tmp_path / "schemas").mkdir()
    real = P.calliope_dir()
    (tmp_path / "schemas" / "dimension_data_schema.py").write_text(
        (real / "schemas" / "dimension_data_schema.py").read_text())
    (tmp_path / "math" / "base.yaml").write_text(
        "parameters:\n  my_new_param:\n    default: 3\n    title: A new one.\n    unit: power.\n")
    for fn in (P._math_sections, P._schema_fields, P.catalogue, P._by_name, P.calliope_dir):
        fn.cache_clear()
    monkeypatch.setattr(P, "calliope_dir", lambda: tmp_path)
    try:
        names = [e.name for e in P.catalogue()]
        assert "my_new_param" in names and "cost_flow_cap" not in names
    finally:
        for fn in (P._math_sections, P._schema_fields, P.catalogue, P._by_name):
            fn.cache_clear()


def test_search_by_name_or_title_and_category():
    assert [e.name for e in P.search_catalogue("outflow efficiency")] == ["flow_out_eff", "flow_out_eff_per_distance"]
    assert [e.name for e in P.search_catalogue("PARASITIC")] == ["flow_out_parasitic_eff"]
    assert "cost_flow_cap" in [e.name for e in P.search_catalogue("flow cap", "costs")]
    assert all(e.category == "storage" for e in P.search_catalogue("", "storage"))
    assert P.search_catalogue("no such thing at all") == []


def test_clean_unit_and_default_text():
    assert P.clean_unit(r"$\frac{\text{cost}}{\text{power}\times\text{distance}}$") == "cost/(power×distance)"
    assert P.clean_unit(r"$\text{hour}^{-1}$") == "1/hour"
    assert P.clean_unit("unitless.") == ""
    assert (P.default_text(math.inf), P.default_text(math.nan), P.default_text(1e6)) == \
        ("infinite", "none", "1000000")


@pytest.mark.parametrize("raw,value", [
    ("5", 5), ("1e6", 1e6), ("-2.5", -2.5), ("inf", math.inf), ("infinite", math.inf), ("-inf", -math.inf),
    ("true", True), ("No", False), ("absolute", "absolute"), ("[1, 2, x]", [1, 2, "x"]), ("1_000", 1000),
])
def test_parse_text_every_kind(raw, value):
    assert P.parse_text(raw) == value


def test_parse_text_refuses_empty():
    with pytest.raises(EngageError, match="Type a value"):
        P.parse_text("  ")


KW = P.Units(rate="kW", quantity="kWh", carrier="power")
MW = P.Units(rate="MW", quantity="MWh", carrier="power")


@pytest.mark.parametrize("name,raw,units,value", [
    ("flow_cap_max", "5 MW", KW, 5000),
    ("flow_cap_max", "5", KW, 5),
    ("flow_cap_max", "250 kW", MW, 0.25),
    ("cost_flow_out", "20 $/kWh", MW, 20000),
    ("cost_flow_out", "20 USD/MWh", KW, 0.02),
    ("cost_flow_cap", "750 USD/kW", KW, 750),
    ("cost_flow_cap", "$750/kW", KW, 750),
    ("cost_flow_cap", "750 EUR/MW", KW, 0.75),
    ("storage_cap_max", "2 GWh", MW, 2000),
    ("flow_out_eff", "40 %", KW, 0.4),
    ("flow_out_eff", "0.4", KW, 0.4),
    ("lifetime", "inf", KW, math.inf),
])
def test_values_are_converted_into_the_carrier_units(name, raw, units, value):
    assert P.coerce_value(P.catalogue_entry(name), raw, units) == pytest.approx(value)


@pytest.mark.parametrize("name,raw,units,message", [
    ("flow_cap_max", "5 kg", KW, "“5 kg” is not a power; flow_cap_max is in kW."),
    ("cost_flow_cap", "20 $/kWh", KW, "“20 $/kWh” is not a cost per power; cost_flow_cap is in cost/kW."),
    ("flow_cap_max", "5 $", KW, "“5 $” is a cost, but flow_cap_max is not a cost (it is in kW)."),
    ("flow_out_eff", "5 MW", KW, "“5 MW” is not a plain number; flow_out_eff is in a plain number (no unit)."),
    ("flow_cap_max", "5 bananas", KW, "“bananas” in “5 bananas” is not a unit Engage knows"),
    ("flow_cap_max", "abc", KW, "flow_cap_max takes one number"),
    ("flow_cap_max", "true", KW, "flow_cap_max takes one number"),
    ("flow_cap_max", "5 MW", P.Units(carrier="ccgt"), "has no carrier to take its units from"),
    ("cyclic_storage", "maybe", KW, "cyclic_storage is a switch: type true or false"),
    ("source_unit", "per_day", KW, "source_unit must be one of absolute, per_area, per_cap"),
])
def test_values_calliope_or_the_units_refuse(name, raw, units, message):
    with pytest.raises(EngageError) as err:
        P.coerce_value(P.catalogue_entry(name), raw, units)
    assert message in err.value.message


def test_unknown_parameter_is_refused():
    with pytest.raises(EngageError, match="Calliope has no technology parameter called “flow_capp”"):
        P.catalogue_entry("flow_capp")


def test_calliope_checks_give_calliopes_own_reasons():
    errors, _ = P.calliope_checks({"base_tech": "storage", "storage_initial": 1.5})
    assert errors == ["storage_initial is a fraction, requiring values within the interval [0, 1]."]
    errors, _ = P.calliope_checks({"base_tech": "supply", "cost_flow_cap": {"monetary": -5}})
    assert "Cannot have a negative `cost_flow_cap`" in errors[0]
    assert P.calliope_checks({"base_tech": "supply", "cost_flow_cap": {"monetary": -5},
                              "flow_cap_max": 10}) == ([], [])
    errors, _ = P.calliope_checks({"base_tech": "supply", "distance": 3})
    assert errors == ["Only transmission technologies can define `distance` or `..._per_distance`."]
    _, warnings = P.calliope_checks({"base_tech": "supply", "cost_flow_in": {"monetary": 1}})
    assert "`cost_flow_in` does not apply to `supply` technologies" in warnings[0]


# ------------------------------------------------------------------------ with the database


def _user(session, email):
    user = User(email=email, password_hash="x")
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def world(session):
    alice, bob, carol = (_user(session, e) for e in ("alice@example.org", "bob@example.org", "carol@example.org"))
    model = EnergyModel(name="Island", owner_id=alice.id)
    session.add(model)
    session.flush()
    session.add(Collaborator(model_id=model.id, user_id=bob.id, can_edit=False))
    session.add_all([Carrier(model_id=model.id, name="power", rate_unit="kW", quantity_unit="kWh"),
                     Carrier(model_id=model.id, name="gas", rate_unit="MW", quantity_unit="MWh")])
    scenario = Scenario(model_id=model.id, name="base")
    oslo = Location(model_id=model.id, name="oslo", latitude=59.9, longitude=10.7)
    session.add_all([scenario, oslo])
    session.flush()
    ccgt = T.create_tech(session=session, user_id=alice.id, model_id=model.id, base_tech="supply", name="ccgt",
                         display_name="CCGT", color="#e37a72", carriers_out=["power"])
    boiler = T.create_tech(session=session, user_id=alice.id, model_id=model.id, base_tech="conversion",
                           name="boiler", carriers_in=["gas"], carriers_out=["power"])
    node = Node(model_id=model.id, location_id=oslo.id, technology_id=ccgt.id)
    session.add(node)
    session.add(Run(model_id=model.id, scenario_id=scenario.id, status="succeeded", started_at=utcnow(),
                    finished_at=utcnow()))
    session.commit()
    return {"alice": alice.id, "bob": bob.id, "carol": carol.id, "model": model.id, "ccgt": ccgt.id,
            "boiler": boiler.id, "node": node.id, "scenario": scenario.id}


def _rows(session, table, **where):
    stmt = select(table)
    for key, value in where.items():
        stmt = stmt.where(getattr(table, key) == value)
    return session.exec(stmt).all()


def test_set_a_cost_per_class_stores_value_raw_and_index_and_exports_calliopes_form(session, world):
    assert P.model_cost_classes(session, world["model"]) == ["monetary", "emissions"]
    run = session.exec(select(Run).where(Run.model_id == world["model"])).one()
    assert not run.is_out_of_date
    change = P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"],
                                  name="cost_flow_cap", raw="750 USD/kW", cost_class="monetary")
    session.commit()
    assert change.message == "Set cost_flow_cap (monetary) of “CCGT” to 750 USD/kW"
    row, = _rows(session, TechParameter, technology_id=world["ccgt"], name="cost_flow_cap")
    assert (row.value, row.raw, row.dims, row.index, row.index_key) == (750, "750 USD/kW", ["costs"],
                                                                       ["monetary"], "monetary")
    log = session.exec(select(ActivityLog).where(ActivityLog.model_id == world["model"])
                       .order_by(ActivityLog.id.desc())).first()
    assert log.detail == change.message
    session.refresh(run)
    assert run.is_out_of_date  # every edit marks the model's runs out of date

    P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"],
                         name="cost_flow_cap", raw="0.5", cost_class="emissions")
    session.commit()
    definition = export_scenario(session=session, scenario_id=world["scenario"]).definition
    assert definition["techs"]["ccgt"]["cost_flow_cap"] == {
        "data": [750.0, 0.5], "index": [["monetary"], ["emissions"]], "dims": ["costs"]}
    P.clear_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"],
                           name="cost_flow_cap", cost_class="emissions")
    session.commit()
    definition = export_scenario(session=session, scenario_id=world["scenario"]).definition
    assert definition["techs"]["ccgt"]["cost_flow_cap"] == {"data": 750.0, "index": [["monetary"]],
                                                            "dims": ["costs"]}
    P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"], name="cost_flow_cap",
                         raw="1", cost_class="co2")
    assert P.model_cost_classes(session, world["model"]) == ["monetary", "emissions", "co2"]


def test_units_follow_the_techs_carrier(session, world):
    P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"], name="flow_cap_max",
                         raw="5 MW")
    P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["boiler"], name="flow_cap_max",
                         raw="5 MW")  # the boiler's output is power (kW)
    P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"], name="lifetime",
                         raw="inf")
    session.commit()
    row, = _rows(session, TechParameter, technology_id=world["ccgt"], name="flow_cap_max")
    assert (row.value, row.raw) == (5000, "5 MW")
    assert _rows(session, TechParameter, technology_id=world["ccgt"], name="lifetime")[0].value == "inf"
    definition = export_scenario(session=session, scenario_id=world["scenario"]).definition
    assert definition["techs"]["ccgt"]["flow_cap_max"] == 5000.0
    assert definition["techs"]["ccgt"]["lifetime"] == math.inf
    with pytest.raises(EngageError, match="“5 kg” is not a power; flow_cap_max is in kW."):
        P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"],
                             name="flow_cap_max", raw="5 kg")


def test_values_calliope_would_refuse_are_refused_with_its_reason(session, world):
    with pytest.raises(EngageError, match=r"storage_initial is a fraction, requiring values within the "
                                          r"interval \[0, 1\]"):
        P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"],
                             name="storage_initial", raw="150 %")
    with pytest.raises(EngageError, match="Cannot have a negative `cost_flow_cap`"):
        P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"],
                             name="cost_flow_cap", raw="-3")
    with pytest.raises(EngageError, match="operate mode only"):
        P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"],
                             name="flow_cap", raw="5")
    with pytest.raises(EngageError, match="not given per cost class"):
        P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"],
                             name="flow_cap_max", raw="5", cost_class="monetary")
    with pytest.raises(EngageError, match="cannot be a cost class"):
        P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"],
                             name="cost_flow_cap", raw="5", cost_class="my class")
    with pytest.raises(EngageError, match="has no value of lifetime to clear"):
        P.clear_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"], name="lifetime")
    session.rollback()
    assert not _rows(session, TechParameter, technology_id=world["ccgt"])
    # Calliope only warns about a supply's cost_flow_in: the value is kept, the warning shown.
    change = P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"],
                                  name="cost_flow_in", raw="2")
    assert change.warnings == ["`cost_flow_in` does not apply to `supply` technologies. Use `cost_source_use` "
                               "instead."]


def test_rights_viewer_refused_stranger_not_found(session, world):
    with pytest.raises(PermissionDenied, match="You can view “Island” but not change it"):
        P.set_tech_parameter(session=session, user_id=world["bob"], tech_id=world["ccgt"],
                             name="flow_cap_max", raw="5")
    with pytest.raises(PermissionDenied):
        P.set_node_parameter(session=session, user_id=world["bob"], node_id=world["node"],
                             name="flow_cap_max", raw="5")
    assert P.list_tech_parameters(session=session, user_id=world["bob"], tech_id=world["ccgt"])
    for call in (lambda: P.list_tech_parameters(session=session, user_id=world["carol"], tech_id=world["ccgt"]),
                 lambda: P.effective_parameters(session=session, user_id=world["carol"], node_id=world["node"]),
                 lambda: P.set_tech_parameter(session=session, user_id=world["carol"], tech_id=world["ccgt"],
                                              name="flow_cap_max", raw="5")):
        with pytest.raises(NotFound):
            call()


def test_list_shows_set_values_first_then_the_catalogue(session, world):
    P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"], name="lifetime",
                         raw="25")
    P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=world["ccgt"], name="cost_flow_cap",
                         raw="750", cost_class="monetary")
    session.commit()
    rows = P.list_tech_parameters(session=session, user_id=world["alice"], tech_id=world["ccgt"])
    assert [r.name for r in rows[:2]] == ["cost_flow_cap", "lifetime"] and rows[0].is_set and not rows[2].is_set
    assert rows[0].set_values[0].cost_class == "monetary" and rows[0].set_values[0].value_text == "750"
    assert rows[0].unit == "cost/kW"
    view = T.tech_editor_view(session=session, user_id=world["bob"], model_id=world["model"], tech_id=world["ccgt"])
    assert (view.tech.display_name, view.carriers, view.cost_classes) == ("CCGT", ["gas", "power"],
                                                                          ["monetary", "emissions"])
    assert [r.name for r in view.rows] == [r.name for r in rows]
    assert len(rows) == len(P.catalogue())
    flow = next(r for r in rows if r.name == "flow_cap_max")
    assert (flow.default_text, flow.unit, flow.set_values) == ("infinite", "kW", [])


def test_node_overrides_inherit_default_then_tech_then_node_and_clear_falls_back(session, world):
    args = {"session": session, "user_id": world["alice"]}

    def effective(name):
        return next(r for r in P.effective_parameters(node_id=world["node"], **args) if r.name == name)

    row = effective("flow_cap_max")
    assert (row.effective_source, row.effective[0].value_text) == ("default", "infinite")
    P.set_tech_parameter(tech_id=world["ccgt"], name="flow_cap_max", raw="5 MW", **args)
    row = effective("flow_cap_max")
    assert (row.effective_source, row.effective[0].value_text, row.tech_values[0].raw) == \
        ("technology", "5000", "5 MW")
    change = P.set_node_parameter(node_id=world["node"], name="flow_cap_max", raw="2 MW", **args)
    assert change.message == "Set flow_cap_max of “CCGT” at “oslo” to 2 MW"
    session.commit()
    row = effective("flow_cap_max")
    assert (row.effective_source, row.effective[0].value_text, row.tech_values[0].value_text) == \
        ("node", "2000", "5000")
    rows = P.effective_parameters(node_id=world["node"], **args)
    assert rows[0].name == "flow_cap_max"  # node values first
    view = P.node_editor_view(node_id=world["node"], model_id=world["model"], **args)
    assert (view.header.location, view.header.tech_display_name, view.rows[0].name) == ("oslo", "CCGT", "flow_cap_max")
    with pytest.raises(NotFound):
        P.node_editor_view(node_id=world["node"], model_id=world["model"] + 1, **args)
    definition = export_scenario(session=session, scenario_id=world["scenario"]).definition
    assert definition["nodes"]["oslo"]["techs"]["ccgt"]["flow_cap_max"] == 2000.0
    change = P.clear_node_parameter(node_id=world["node"], name="flow_cap_max", **args)
    assert change.message == "Cleared flow_cap_max of “CCGT” at “oslo”; the technology's value applies"
    row = effective("flow_cap_max")
    assert (row.effective_source, row.effective[0].value_text) == ("technology", "5000")
    assert not _rows(session, NodeParameter, node_id=world["node"])
    with pytest.raises(EngageError, match="has no value of flow_cap_max of its own to clear"):
        P.clear_node_parameter(node_id=world["node"], name="flow_cap_max", **args)


def test_a_node_cost_replaces_the_techs_cost_classes_as_calliope_merges(session, world):
    args = {"session": session, "user_id": world["alice"]}
    P.set_tech_parameter(tech_id=world["ccgt"], name="cost_flow_cap", raw="750", cost_class="monetary", **args)
    P.set_node_parameter(node_id=world["node"], name="cost_flow_cap", raw="43", cost_class="monetary", **args)
    session.commit()
    row = next(r for r in P.effective_parameters(node_id=world["node"], **args) if r.name == "cost_flow_cap")
    assert row.effective_source == "node"
    assert [(v.cost_class, v.value_text) for v in row.effective] == [("monetary", "43")]
    assert [(v.cost_class, v.value_text) for v in row.tech_values] == [("monetary", "750")]
    definition = export_scenario(session=session, scenario_id=world["scenario"]).definition
    assert definition["nodes"]["oslo"]["techs"]["ccgt"]["cost_flow_cap"] == {
        "data": 43.0, "index": [["monetary"]], "dims": ["costs"]}
