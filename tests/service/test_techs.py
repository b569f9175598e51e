"""Technologies: create per base tech, essentials, copy within and across models, delete (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from engage_reflex.models import (
    ActivityLog,
    Carrier,
    Collaborator,
    EnergyModel,
    Link,
    Location,
    Node,
    NodeParameter,
    Scenario,
    Technology,
    TechnologyCarrier,
    TechParameter,
    Timeseries,
    User,
)
from engage_reflex.models.series_blob import series_from_lists, unpack_series
from engage_reflex.services import parameters as P
from engage_reflex.services import techs as T
from engage_reflex.services.calliope_io import export_scenario
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied


def _user(session, email):
    user = User(email=email, password_hash="x")
    session.add(user)
    session.flush()
    return user


def _model(session, owner, name, *, public=False, carriers=("power", "heat", "gas")):
    model = EnergyModel(name=name, owner_id=owner.id, is_public=public)
    session.add(model)
    session.flush()
    for carrier in carriers:
        session.add(Carrier(model_id=model.id, name=carrier, rate_unit="MW" if carrier == "gas" else "kW",
                            quantity_unit="MWh" if carrier == "gas" else "kWh", color="#123456"))
    session.flush()
    return model


@pytest.fixture
def world(session):
    alice, bob, carol = (_user(session, e) for e in ("alice@example.org", "bob@example.org", "carol@example.org"))
    island = _model(session, alice, "Island")
    session.add(Collaborator(model_id=island.id, user_id=bob.id, can_edit=False))
    secret = _model(session, carol, "Carol's secret")
    sample = _model(session, carol, "Sample", public=True, carriers=("power", "hydrogen"))
    session.commit()
    return {"alice": alice.id, "bob": bob.id, "carol": carol.id, "island": island.id, "secret": secret.id,
            "sample": sample.id}


def _create(session, world, **kw):
    args = {"session": session, "user_id": world["alice"], "model_id": world["island"]}
    return T.create_tech(**{**args, **kw})


BASE_CASES = [
    ("supply", [], ["power"]),
    ("demand", ["power"], []),
    ("storage", ["power"], ["power"]),
    ("conversion", ["gas"], ["heat"]),
    ("transmission", ["power"], ["power"]),
]


def test_create_every_base_tech(session, world):
    for base, ins, outs in BASE_CASES:
        tech = _create(session, world, base_tech=base, name=f"my_{base}", display_name=f"My {base}",
                       color="#AABBCC", carriers_in=ins, carriers_out=outs)
        assert (tech.base_tech, tech.carriers_in, tech.carriers_out, tech.color) == (base, ins, outs, "#aabbcc")
    session.commit()
    details = [r.detail for r in session.exec(select(ActivityLog).where(ActivityLog.model_id == world["island"])
                                              .order_by(ActivityLog.id))]
    assert details == [f"Added {base} technology “My {base}”" for base, _, _ in BASE_CASES]
    # Storage and transmission take one carrier for both ways.
    tech = _create(session, world, base_tech="storage", name="battery", carriers_in=["power"])
    assert (tech.carriers_in, tech.carriers_out) == (["power"], ["power"])


CARRIER_REFUSALS = [
    ("supply", [], [], "A supply technology needs an output carrier: it is what it produces."),
    ("demand", [], [], "A demand technology needs an input carrier: it is what it consumes."),
    ("conversion", [], ["heat"], "A conversion technology needs an input carrier: it is what it converts."),
    ("conversion", ["gas"], [], "A conversion technology needs an output carrier: it is what it converts into."),
    ("storage", [], [], "A storage technology needs a carrier: the one it stores"),
    ("transmission", [], [], "A transmission technology needs a carrier: the one it moves between locations."),
    ("storage", ["power"], ["heat"], "A storage technology takes in and gives out the same carrier"),
    ("supply", ["gas"], ["power"], "A supply technology has no input carrier"),
    ("demand", ["power"], ["heat"], "A demand technology has no output carrier"),
    ("supply", [], ["steam"], "This model has no carrier “steam”. Add it on the Carriers page first."),
    ("fusion", [], ["power"], "“fusion” is not one of Calliope's base technologies"),
    ("", [], ["power"], "Choose what kind of technology this is"),
]


def test_carrier_refusals(session, world):
    for base, ins, outs, message in CARRIER_REFUSALS:
        with pytest.raises(EngageError) as err:
            _create(session, world, base_tech=base, name="t", carriers_in=ins, carriers_out=outs)
        assert message in err.value.message
    assert not session.exec(select(Technology)).all()


NAME_REFUSALS = [
    ("", "", "Give the technology a name."),
    ("my tech", "", "Calliope needs names that start with a letter"),
    ("1st", "", "Calliope needs names that start with a letter"),
    ("ccgt", "", "This model already has a technology called “ccgt”."),
    ("line_a", "", "“line_a” is already the name of a link"),
    ("ok", "red", "“red” is not a colour: use the form #rrggbb"),
]


def test_name_and_colour_refusals(session, world):
    ccgt = _create(session, world, base_tech="supply", name="ccgt", carriers_out=["power"])
    line = _create(session, world, base_tech="transmission", name="ac", carriers_in=["power"])
    a, b = Location(model_id=world["island"], name="a"), Location(model_id=world["island"], name="b")
    session.add_all([a, b])
    session.flush()
    session.add(Link(model_id=world["island"], name="line_a", technology_id=line.id, from_location_id=a.id,
                     to_location_id=b.id))
    session.flush()
    assert ccgt
    for name, color, message in NAME_REFUSALS:
        with pytest.raises(EngageError) as err:
            _create(session, world, base_tech="supply", name=name, color=color, carriers_out=["power"])
        assert message in err.value.message


def test_update_essentials_and_base_tech_rules(session, world):
    tech = _create(session, world, base_tech="supply", name="ccgt", carriers_out=["power"])
    args = {"session": session, "user_id": world["alice"], "model_id": world["island"], "tech_id": tech.id}
    updated = T.update_tech(**args, name="gas_plant", display_name="Gas plant", color="#000000",
                            carriers_out=["power"])
    assert (updated.name, updated.display_name) == ("gas_plant", "Gas plant")
    with pytest.raises(EngageError, match="A conversion technology needs an input carrier"):
        T.update_tech(**args, name="gas_plant", base_tech="conversion", carriers_out=["power"])
    changed = T.update_tech(**args, name="gas_plant", display_name="Gas plant", base_tech="conversion",
                            carriers_in=["gas"], carriers_out=["power"])
    assert (changed.base_tech, changed.carriers_in) == ("conversion", ["gas"])
    loc = Location(model_id=world["island"], name="a")
    session.add(loc)
    session.flush()
    session.add(Node(model_id=world["island"], location_id=loc.id, technology_id=tech.id))
    session.flush()
    with pytest.raises(EngageError, match="is placed at 1 location; a transmission technology is placed as links"):
        T.update_tech(**args, name="gas_plant", base_tech="transmission", carriers_in=["power"])
    session.commit()
    details = [r.detail for r in session.exec(select(ActivityLog).order_by(ActivityLog.id)).all()]
    assert details[-1] == "Changed technology “Gas plant” (now a conversion technology)"
    assert details[-2] == "Changed technology “Gas plant” (renamed to “gas_plant”)"


def test_delete_says_what_goes_with_it_then_removes_it(session, world):
    tech = _create(session, world, base_tech="transmission", name="ac", display_name="AC line",
                   carriers_in=["power"])
    ccgt = _create(session, world, base_tech="supply", name="ccgt", display_name="CCGT", carriers_out=["power"])
    locs = [Location(model_id=world["island"], name=n) for n in ("a", "b", "c")]
    session.add_all(locs)
    session.flush()
    nodes = [Node(model_id=world["island"], location_id=loc.id, technology_id=ccgt.id) for loc in locs]
    session.add_all(nodes)
    session.add(Link(model_id=world["island"], name="a_b", technology_id=tech.id, from_location_id=locs[0].id,
                     to_location_id=locs[1].id))
    session.flush()
    P.set_node_parameter(session=session, user_id=world["alice"], node_id=nodes[0].id, name="flow_cap_max",
                         raw="5")
    P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=ccgt.id, name="lifetime", raw="25")
    session.commit()
    usage = T.tech_usage(session=session, user_id=world["bob"], model_id=world["island"], tech_id=ccgt.id)
    assert usage.message == "“CCGT” is placed at 3 locations; deleting it removes them."
    usage = T.tech_usage(session=session, user_id=world["alice"], model_id=world["island"], tech_id=tech.id)
    assert usage.message == "“AC line” is used by 1 link; deleting it removes them."
    with pytest.raises(PermissionDenied):
        T.delete_tech(session=session, user_id=world["bob"], model_id=world["island"], tech_id=ccgt.id)
    session.rollback()
    T.delete_tech(session=session, user_id=world["alice"], model_id=world["island"], tech_id=ccgt.id)
    session.commit()
    assert session.get(Technology, ccgt.id) is None
    assert not session.exec(select(Node)).all() and not session.exec(select(NodeParameter)).all()
    assert not session.exec(select(TechParameter)).all()
    log = session.exec(select(ActivityLog).order_by(ActivityLog.id.desc())).first()
    assert log.detail == "Deleted technology “CCGT” with 3 placements"
    with pytest.raises(NotFound):
        T.tech_usage(session=session, user_id=world["alice"], model_id=world["island"], tech_id=ccgt.id)


def test_rights(session, world):
    with pytest.raises(PermissionDenied, match="You can view “Island” but not change it"):
        T.create_tech(session=session, user_id=world["bob"], model_id=world["island"], base_tech="supply",
                      name="x", carriers_out=["power"])
    assert T.list_techs(session=session, user_id=world["bob"], model_id=world["island"]) == []
    with pytest.raises(NotFound):
        T.list_techs(session=session, user_id=world["alice"], model_id=world["secret"])
    tech = _create(session, world, base_tech="supply", name="ccgt", carriers_out=["power"])
    with pytest.raises(NotFound):  # a tech of another model through this model's id
        T.get_tech(session=session, user_id=world["carol"], model_id=world["sample"], tech_id=tech.id)


def test_copy_within_the_model(session, world):
    ccgt = _create(session, world, base_tech="supply", name="ccgt", display_name="CCGT", carriers_out=["power"])
    P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=ccgt.id, name="cost_flow_cap",
                         raw="750 USD/kW", cost_class="monetary")
    copy, message = T.copy_tech(session=session, user_id=world["alice"], model_id=world["island"],
                                source_tech_id=ccgt.id)
    session.commit()
    assert (copy.name, copy.display_name, copy.carriers_out, copy.parameter_count) == \
        ("ccgt_copy", "CCGT (copy)", ["power"], 1)
    assert message == "Copied “CCGT” as “CCGT (copy)”"
    row = session.exec(select(TechParameter).where(TechParameter.technology_id == copy.id)).one()
    assert (row.value, row.raw, row.index) == (750, "750 USD/kW", ["monetary"])
    with pytest.raises(EngageError, match="already has a technology called “ccgt”"):
        T.copy_tech(session=session, user_id=world["alice"], model_id=world["island"], source_tech_id=ccgt.id,
                    name="ccgt")
    # The list: by base tech, then name, with what each has.
    _create(session, world, base_tech="demand", name="d", carriers_in=["power"])
    P.set_tech_parameter(session=session, user_id=world["alice"], tech_id=ccgt.id, name="cost_flow_cap",
                         raw="1", cost_class="emissions")
    listed = T.list_techs(session=session, user_id=world["alice"], model_id=world["island"])
    assert [(t.name, t.base_tech, t.parameter_count) for t in listed] == [
        ("ccgt", "supply", 1), ("ccgt_copy", "supply", 1), ("d", "demand", 0)]


def test_copy_from_another_model_matches_carriers_by_name_and_creates_missing_ones(session, world):
    sample = world["sample"]
    electrolyser = T.create_tech(session=session, user_id=world["carol"], model_id=sample, base_tech="conversion",
                                 name="electrolyser", display_name="Electrolyser", carriers_in=["power"],
                                 carriers_out=["hydrogen"])
    series = Timeseries(model_id=sample, name="cf", data=series_from_lists(["2005-01-01T00:00:00"], [0.5]), length=1)
    session.add(series)
    session.flush()
    session.add(TechParameter(technology_id=electrolyser.id, name="source_use_max", timeseries_id=series.id))
    P.set_tech_parameter(session=session, user_id=world["carol"], tech_id=electrolyser.id, name="flow_out_eff",
                         raw="70 %")
    session.commit()
    copy, message = T.copy_tech(session=session, user_id=world["alice"], model_id=world["island"],
                                source_tech_id=electrolyser.id)
    session.commit()
    assert message == ("Copied “Electrolyser” from “Sample” as “Electrolyser”; added the carrier hydrogen to "
                       "this model")
    carriers = {c.name: c.id for c in session.exec(select(Carrier).where(Carrier.model_id == world["island"]))}
    assert "hydrogen" in carriers
    roles = session.exec(select(TechnologyCarrier).where(TechnologyCarrier.technology_id == copy.id)).all()
    assert {(r.role, r.carrier_id) for r in roles} == {("in", carriers["power"]), ("out", carriers["hydrogen"])}
    rows = {r.name: r for r in session.exec(select(TechParameter).where(TechParameter.technology_id == copy.id))}
    assert rows["flow_out_eff"].value == pytest.approx(0.7)
    copied_series = session.get(Timeseries, rows["source_use_max"].timeseries_id)
    assert copied_series.model_id == world["island"] and unpack_series(copied_series.data)[1].tolist() == [0.5]
    session.add(Scenario(model_id=world["island"], name="base"))
    session.commit()
    scenario = session.exec(select(Scenario).where(Scenario.model_id == world["island"])).one()
    definition = export_scenario(session=session, scenario_id=scenario.id).definition
    assert definition["techs"]["electrolyser"]["carrier_out"] == ["hydrogen"]


def test_copy_from_a_model_the_user_cannot_see_is_not_found(session, world):
    hidden = T.create_tech(session=session, user_id=world["carol"], model_id=world["secret"], base_tech="supply",
                           name="secret_plant", carriers_out=["power"])
    session.commit()
    with pytest.raises(NotFound):
        T.copy_tech(session=session, user_id=world["alice"], model_id=world["island"], source_tech_id=hidden.id)
    with pytest.raises(PermissionDenied):  # bob may view Island but not add to it
        T.copy_tech(session=session, user_id=world["bob"], model_id=world["island"], source_tech_id=hidden.id)
    models = dict(T.copyable_models(session=session, user_id=world["alice"]))
    assert world["secret"] not in models


def test_tech_and_node_pages_compile_with_labelled_controls():
    from reflex.compiler.compiler import _compile_page, into_component

    from engage_reflex.pages.model.node import node_page
    from engage_reflex.pages.model.tech import tech_page
    from engage_reflex.pages.model.techs import techs_page

    techs_code = _compile_page(into_component(techs_page), "/models/[model_id]/techs")
    for control in ("new-base", "new-name", "new-display", "new-color", "copy-model", "copy-tech", "copy-name"):
        assert f'htmlFor:"{control}"' in techs_code, control
    assert "New technology" in techs_code and "Copy a technology" in techs_code
    tech_code = _compile_page(into_component(tech_page), "/models/[model_id]/techs/[tech_id]")
    for control in ("tech-name", "tech-display", "tech-base", "tech-color", "tech-description",
                    "tech-parameter-search", "tech-parameter-category"):
        assert f'htmlFor:"{control}"' in tech_code, control
    assert '"aria-label":("New value of "' in tech_code and "Cost class of " in tech_code
    node_code = _compile_page(into_component(node_page), "/models/[model_id]/nodes/[node_id]")
    assert 'htmlFor:"node-parameter-search"' in node_code and "Calliope default" in node_code
    for code in (techs_code, tech_code, node_code):
        assert code.count('as:"h1"') == 1  # the model's name (in the frame) is the page's only h1
