"""Nodes and links: the placement grid, placing/removing techs, links (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import select

from engage_reflex import db
from engage_reflex.db import session_scope
from engage_reflex.models import (
    ActivityLog,
    Carrier,
    Collaborator,
    EnergyModel,
    Link,
    LinkParameter,
    Location,
    Node,
    NodeParameter,
    Scenario,
    ScenarioLink,
    ScenarioNode,
    Technology,
    TechnologyCarrier,
    User,
)
from engage_reflex.services import calliope_io
from engage_reflex.services import nodes as svc
from engage_reflex.services.errors import EngageError, NotFound, NotVisible, PermissionDenied


def call(db_url, fn, **kwargs):
    """One service call in its own transaction, as the app does (commit on success, rollback on error)."""
    with session_scope(db_url) as s:
        return fn(session=s, **kwargs)


def _add(session, *rows):
    session.add_all(rows)
    session.commit()
    return rows if len(rows) > 1 else rows[0]


def _tech(session, model_id, name, base, display="", carriers=()):
    tech = _add(session, Technology(model_id=model_id, name=name, base_tech=base, display_name=display))
    for role, carrier_id in carriers:
        session.add(TechnologyCarrier(technology_id=tech.id, carrier_id=carrier_id, role=role))
    session.commit()
    return tech


def _activity(session, model_id) -> list[str]:
    session.expire_all()
    return session.exec(select(ActivityLog.detail).where(ActivityLog.model_id == model_id)
                        .order_by(ActivityLog.id)).all()


@pytest.fixture
def world(session):
    owner, viewer, stranger = (_add(session, User(email=f"{n}@example.org", password_hash="x"))
                               for n in ("owner", "viewer", "stranger"))
    model = _add(session, EnergyModel(name="Norway", owner_id=owner.id))
    other = _add(session, EnergyModel(name="Elsewhere", owner_id=owner.id))
    _add(session, Collaborator(model_id=model.id, user_id=viewer.id, can_edit=False))
    power = _add(session, Carrier(model_id=model.id, name="power"))
    oslo, bergen, tromso = (_add(session, Location(model_id=model.id, name=n, latitude=60, longitude=10))
                            for n in ("Oslo", "Bergen", "Tromso"))
    pv = _tech(session, model.id, "solar_pv", "supply", "Solar PV", [("out", power.id)])
    demand = _tech(session, model.id, "power_demand", "demand", "Power demand", [("in", power.id)])
    battery = _tech(session, model.id, "battery", "storage", "", [("in", power.id), ("out", power.id)])
    hvac = _tech(session, model.id, "hvac", "transmission", "HVAC", [("in", power.id), ("out", power.id)])
    foreign_loc = _add(session, Location(model_id=other.id, name="Paris"))
    foreign_tech = _tech(session, other.id, "wind", "supply")
    return dict(owner=owner.id, viewer=viewer.id, stranger=stranger.id, model=model.id, other=other.id,
                oslo=oslo.id, bergen=bergen.id, tromso=tromso.id, pv=pv.id, demand=demand.id,
                battery=battery.id, hvac=hvac.id, foreign_loc=foreign_loc.id, foreign_tech=foreign_tech.id)


def _place(db_url, w, location, tech, user="owner"):
    return call(db_url, svc.place_tech, user_id=w[user], model_id=w["model"], location_id=w[location],
                tech_id=w[tech])


# --------------------------------------------------------------------------- nodes


def test_place_is_logged_and_idempotent(db_url, session, world):
    w = world
    before = session.get(EnergyModel, w["model"]).updated_at
    change = _place(db_url, w, "oslo", "pv")
    assert change.changed and change.node_id > 0
    assert change.message == "Placed “Solar PV” at “Oslo”."
    session.expire_all()
    assert session.get(EnergyModel, w["model"]).updated_at >= before
    assert _activity(session, w["model"]) == ["Placed “Solar PV” at “Oslo”"]

    again = _place(db_url, w, "oslo", "pv")
    assert (again.changed, again.node_id) == (False, change.node_id)
    assert again.message == "“Solar PV” is already at “Oslo”."
    assert _activity(session, w["model"]) == ["Placed “Solar PV” at “Oslo”"]  # nothing changed, nothing logged
    assert len(session.exec(select(Node).where(Node.model_id == w["model"])).all()) == 1

    # A tech without a display name is named by its key.
    assert _place(db_url, w, "oslo", "battery").message == "Placed “battery” at “Oslo”."


PLACE_REFUSALS = [
    (dict(tech="hvac"), EngageError, "Transmission technologies connect two locations: add them as a link."),
    (dict(tech="foreign_tech"), NotFound, "That technology is not part of this model"),
    (dict(location="foreign_loc"), NotFound, "That location is not part of this model"),
    (dict(user="viewer"), PermissionDenied, "You can view “Norway” but not change it"),
    (dict(user="stranger"), NotVisible, "There is no model with id"),
]


def test_place_refusals(db_url, session, world):
    for kwargs, error, message in PLACE_REFUSALS:
        args = {"location": "oslo", "tech": "pv", **kwargs}
        with pytest.raises(error) as exc:
            _place(db_url, world, **args)
        assert type(exc.value) is error and str(exc.value).startswith(message), (kwargs, str(exc.value))
    assert session.exec(select(Node)).all() == []
    assert _activity(session, world["model"]) == []


def test_remove_node_takes_its_own_values_and_scenario_switches(db_url, session, world):
    w = world
    node_id = _place(db_url, w, "bergen", "pv").node_id
    scenario = _add(session, Scenario(model_id=w["model"], name="base"))
    _add(session,
         NodeParameter(node_id=node_id, name="flow_cap_max", value=100.0),
         NodeParameter(node_id=node_id, name="cost_flow_cap", value=5.0, dims=["costs"], index=["monetary"],
                       index_key="monetary"),
         NodeParameter(node_id=node_id, name="cost_flow_cap", value=1.0, dims=["costs"], index=["co2"],
                       index_key="co2"),
         ScenarioNode(scenario_id=scenario.id, node_id=node_id, active=False))

    view = call(db_url, svc.get_node, user_id=w["viewer"], model_id=w["model"], node_id=node_id)
    assert (view.location_name, view.tech_label, view.base_tech, view.override_count) == \
        ("Bergen", "Solar PV", "supply", 2)

    with pytest.raises(PermissionDenied):
        call(db_url, svc.remove_node, user_id=w["viewer"], model_id=w["model"], node_id=node_id)
    with pytest.raises(NotFound):  # a node id of this model asked through another model
        call(db_url, svc.remove_node, user_id=w["owner"], model_id=w["other"], node_id=node_id)

    change = call(db_url, svc.remove_node, user_id=w["owner"], model_id=w["model"], node_id=node_id)
    assert change.message == "Removed “Solar PV” from “Bergen” and its 2 own values."
    session.expire_all()
    assert session.exec(select(Node)).all() == []
    assert session.exec(select(NodeParameter)).all() == []
    assert session.exec(select(ScenarioNode)).all() == []
    assert _activity(session, w["model"])[-1] == "Removed “Solar PV” from “Bergen” and its 2 own values"

    with pytest.raises(NotFound, match="no longer placed there"):
        call(db_url, svc.remove_node, user_id=w["owner"], model_id=w["model"], node_id=node_id)


# --------------------------------------------------------------------------- the grid


def _count_queries(db_url):
    counter = {"n": 0}

    def before(*_args, **_kw):
        counter["n"] += 1

    engine = db.get_engine(db_url)
    event.listen(engine, "before_cursor_execute", before)
    return counter, lambda: event.remove(engine, "before_cursor_execute", before)


def test_grid_pages_filters_and_groups(db_url, session, world):
    w = world
    model_id = w["model"]
    session.add_all([Location(model_id=model_id, name=f"site_{i:03d}") for i in range(120)])
    session.add_all([Technology(model_id=model_id, name=f"wind_{i}", display_name=f"Wind {i}", base_tech="supply")
                     for i in range(3)])
    _tech(session, model_id, "gas_to_power", "conversion", "Gas turbine")
    session.commit()
    site_ids = dict(session.exec(select(Location.name, Location.id).where(Location.model_id == model_id)).all())
    call(db_url, svc.place_tech_everywhere, user_id=w["owner"], model_id=model_id, tech_id=w["pv"])
    _place(db_url, w, "oslo", "demand")

    counter, stop = _count_queries(db_url)
    try:
        grid = call(db_url, svc.placement_grid, user_id=w["viewer"], model_id=model_id)
    finally:
        stop()
    assert counter["n"] <= 12, counter  # a handful of queries, none per location or cell

    assert [t.label for t in grid.techs] == ["Solar PV", "Wind 0", "Wind 1", "Wind 2", "Gas turbine", "battery",
                                             "Power demand"]  # supply, conversion, storage, demand; no HVAC
    assert [(g.base_tech, g.count) for g in grid.groups] == [("supply", 4), ("conversion", 1), ("storage", 1),
                                                             ("demand", 1)]
    assert (grid.total_locations, grid.matching_locations, grid.total_techs, grid.transmission_techs) == \
        (123, 123, 7, 1)
    assert grid.total_nodes == 124 and grid.techs[0].node_count == 123
    assert len(grid.rows) == svc.GRID_PAGE_SIZE and grid.offset == 0
    assert [r.location_name for r in grid.rows[:3]] == ["Bergen", "Oslo", "site_000"]  # by name, any case
    oslo = grid.rows[1]
    demand_col = [t.id for t in grid.techs].index(w["demand"])
    assert oslo.node_ids[0] > 0 and oslo.node_ids[demand_col] > 0 and oslo.placed_count == 2
    assert grid.rows[2].node_ids == [grid.rows[2].node_ids[0], 0, 0, 0, 0, 0, 0]

    last = call(db_url, svc.placement_grid, user_id=w["owner"], model_id=model_id, offset=100)
    assert (last.offset, len(last.rows), last.rows[-1].location_name) == (100, 23, "Tromso")
    past = call(db_url, svc.placement_grid, user_id=w["owner"], model_id=model_id, offset=5000, limit=20)
    assert (past.offset, len(past.rows)) == (120, 3)

    filtered = call(db_url, svc.placement_grid, user_id=w["owner"], model_id=model_id,
                    location_filter="SITE_01", tech_filter="wind")
    assert filtered.matching_locations == 10 and filtered.total_locations == 123
    assert [r.location_id for r in filtered.rows] == [site_ids[f"site_{i:03d}"] for i in range(10, 20)]
    assert [t.name for t in filtered.techs] == ["wind_0", "wind_1", "wind_2"]
    assert all(r.node_ids == [0, 0, 0] for r in filtered.rows)
    # "%" and "_" are plain text in the filter, not wildcards.
    assert call(db_url, svc.placement_grid, user_id=w["owner"], model_id=model_id,
                location_filter="%").matching_locations == 0
    by_base = call(db_url, svc.placement_grid, user_id=w["owner"], model_id=model_id, tech_filter="storage")
    assert [t.name for t in by_base.techs] == ["battery"]

    with pytest.raises(NotFound):
        call(db_url, svc.placement_grid, user_id=w["stranger"], model_id=model_id)


def test_empty_model_grid(db_url, session, world):
    grid = call(db_url, svc.placement_grid, user_id=world["owner"], model_id=world["other"])
    assert (grid.total_locations, len(grid.rows), len(grid.techs)) == (1, 1, 1)
    empty = _add(session, EnergyModel(name="Empty", owner_id=world["owner"]))
    grid = call(db_url, svc.placement_grid, user_id=world["owner"], model_id=empty.id)
    assert (grid.rows, grid.techs, grid.groups, grid.total_nodes, grid.offset) == ([], [], [], 0, 0)


# --------------------------------------------------------------------------- whole columns and rows


def test_column_actions(db_url, session, world):
    w = world
    _place(db_url, w, "oslo", "pv")
    placed = call(db_url, svc.place_tech_everywhere, user_id=w["owner"], model_id=w["model"], tech_id=w["pv"],
                  location_filter="o")  # Oslo (already), Tromso
    assert (placed.count, placed.message) == (1, "Placed “Solar PV” at 1 location matching “o”.")
    placed = call(db_url, svc.place_tech_everywhere, user_id=w["owner"], model_id=w["model"], tech_id=w["pv"])
    assert (placed.count, placed.message) == (1, "Placed “Solar PV” at 1 location.")
    again = call(db_url, svc.place_tech_everywhere, user_id=w["owner"], model_id=w["model"], tech_id=w["pv"])
    assert (again.count, again.message) == (0, "“Solar PV” is already at every location.")
    with pytest.raises(EngageError, match="There are no locations matching “nowhere” to place “Solar PV” at."):
        call(db_url, svc.place_tech_everywhere, user_id=w["owner"], model_id=w["model"], tech_id=w["pv"],
             location_filter="nowhere")
    with pytest.raises(EngageError, match="add them as a link"):
        call(db_url, svc.place_tech_everywhere, user_id=w["owner"], model_id=w["model"], tech_id=w["hvac"])
    with pytest.raises(PermissionDenied):
        call(db_url, svc.place_tech_everywhere, user_id=w["viewer"], model_id=w["model"], tech_id=w["demand"])
    with pytest.raises(NotFound):
        call(db_url, svc.place_tech_everywhere, user_id=w["owner"], model_id=w["model"],
             tech_id=w["foreign_tech"])

    node_ids = session.exec(select(Node.id).where(Node.technology_id == w["pv"])).all()
    assert len(node_ids) == 3
    _add(session, NodeParameter(node_id=node_ids[0], name="flow_cap_max", value=1.0))
    with pytest.raises(PermissionDenied):
        call(db_url, svc.remove_tech_everywhere, user_id=w["viewer"], model_id=w["model"], tech_id=w["pv"])
    removed = call(db_url, svc.remove_tech_everywhere, user_id=w["owner"], model_id=w["model"], tech_id=w["pv"])
    assert (removed.count, removed.overrides) == (3, 1)
    assert removed.message == "Removed “Solar PV” from 3 locations with 1 own value of those nodes."
    none = call(db_url, svc.remove_tech_everywhere, user_id=w["owner"], model_id=w["model"], tech_id=w["pv"])
    assert (none.count, none.message) == (0, "“Solar PV” is not placed at any location.")
    session.expire_all()
    assert session.exec(select(Node)).all() == [] and session.exec(select(NodeParameter)).all() == []
    assert _activity(session, w["model"]) == [
        "Placed “Solar PV” at “Oslo”", "Placed “Solar PV” at 1 location matching “o”",
        "Placed “Solar PV” at 1 location", "Removed “Solar PV” from 3 locations with 1 own value of those nodes"]


def test_place_all_at_location(db_url, session, world):
    w = world
    _place(db_url, w, "tromso", "battery")
    done = call(db_url, svc.place_all_at_location, user_id=w["owner"], model_id=w["model"],
                location_id=w["tromso"])
    assert (done.count, done.message) == (2, "Placed 2 technologies at “Tromso”.")  # never the HVAC link tech
    again = call(db_url, svc.place_all_at_location, user_id=w["owner"], model_id=w["model"],
                 location_id=w["tromso"], tech_filter="sol")
    assert again.message == "Every technology matching “sol” is already at “Tromso”."
    with pytest.raises(NotFound):
        call(db_url, svc.place_all_at_location, user_id=w["owner"], model_id=w["model"],
             location_id=w["foreign_loc"])
    with pytest.raises(EngageError, match="no technologies to place here yet"):
        call(db_url, svc.place_all_at_location, user_id=w["owner"], model_id=w["model"],
             location_id=w["oslo"], tech_filter="nothing like it")
    with pytest.raises(PermissionDenied):
        call(db_url, svc.place_all_at_location, user_id=w["viewer"], model_id=w["model"], location_id=w["oslo"])
    techs = session.exec(select(Node.technology_id).where(Node.location_id == w["tromso"])).all()
    assert sorted(techs) == sorted([w["pv"], w["demand"], w["battery"]])


# --------------------------------------------------------------------------- links


def _link(db_url, w, a="oslo", b="bergen", tech="hvac", user="owner", **kwargs):
    return call(db_url, svc.add_link, user_id=w[user], model_id=w["model"], tech_id=w[tech],
                from_location_id=w[a], to_location_id=w[b], **kwargs)


def test_add_link_names_and_logs(db_url, session, world):
    w = world
    link = _link(db_url, w)
    assert (link.name, link.from_location, link.to_location, link.tech_label) == \
        ("Oslo_to_Bergen", "Oslo", "Bergen", "HVAC")
    assert _activity(session, w["model"]) == ["Linked “Oslo” and “Bergen” with “HVAC”"]

    # Another transmission tech between the same pair: the plain name is taken, the tech's is not.
    dc = _tech(session, w["model"], "hvdc", "transmission", "HVDC")
    second = call(db_url, svc.add_link, user_id=w["owner"], model_id=w["model"], tech_id=dc.id,
                  from_location_id=w["oslo"], to_location_id=w["bergen"])
    assert second.name == "hvdc_Oslo_to_Bergen"
    # A technology called like the plain name pushes a new link to the tech's name too.
    _tech(session, w["model"], "Bergen_to_Tromso", "supply")
    assert _link(db_url, w, "bergen", "tromso").name == "hvac_Bergen_to_Tromso"
    # Location names that are no valid key still give one.
    odd = _add(session, Location(model_id=w["model"], name="1 Ålesund-Nord"))
    assert call(db_url, svc.add_link, user_id=w["owner"], model_id=w["model"], tech_id=w["hvac"],
                from_location_id=odd.id, to_location_id=w["tromso"]).name == "link_1_Ålesund_Nord_to_Tromso"
    custom = _link(db_url, w, "oslo", "tromso", name="  north_line ")
    assert custom.name == "north_line"

    view = call(db_url, svc.list_links, user_id=w["viewer"], model_id=w["model"])
    assert [v.name for v in view.links] == ["hvac_Bergen_to_Tromso", "hvdc_Oslo_to_Bergen",
                                            "link_1_Ålesund_Nord_to_Tromso", "north_line", "Oslo_to_Bergen"]
    assert [c.label for c in view.transmission_techs] == ["HVAC", "HVDC"]
    assert [c.label for c in view.locations] == ["1 Ålesund-Nord", "Bergen", "Oslo", "Tromso"]
    with pytest.raises(NotFound):
        call(db_url, svc.list_links, user_id=w["stranger"], model_id=w["model"])


LINK_REFUSALS = [
    (dict(b="oslo"), EngageError, "A link needs two different locations."),
    (dict(tech="pv"), EngageError, "“Solar PV” is a supply technology: only transmission technologies can link "
                                   "two locations. Place it at a location in the grid instead."),
    (dict(tech="foreign_tech"), NotFound, "That technology is not part of this model"),
    (dict(b="foreign_loc"), NotFound, "That location is not part of this model"),
    (dict(name="two words"), EngageError, "The link name “two words” cannot be used: Calliope needs names that "
                                          "start with a letter and contain only letters, digits and underscores"),
    (dict(name="_hidden"), EngageError, "The link name “_hidden” cannot be used"),
    (dict(name="x" * 101), EngageError, "The link name “xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…” is 101 characters long"),
    (dict(name="solar_pv"), EngageError, "“solar_pv” is the name of a technology: a link needs a name of its own."),
    (dict(user="viewer"), PermissionDenied, "You can view “Norway” but not change it"),
    (dict(user="stranger"), NotVisible, "There is no model with id"),
]


def test_add_link_refusals(db_url, session, world):
    for kwargs, error, message in LINK_REFUSALS:
        with pytest.raises(error) as exc:
            _link(db_url, world, **kwargs)
        assert type(exc.value) is error and str(exc.value).startswith(message), (kwargs, str(exc.value))
    assert session.exec(select(Link)).all() == []
    assert _activity(session, world["model"]) == []


def test_duplicate_links_are_refused(db_url, session, world):
    w = world
    _link(db_url, w)
    for a, b in (("oslo", "bergen"), ("bergen", "oslo")):
        with pytest.raises(EngageError) as exc:
            _link(db_url, w, a, b)
        assert str(exc.value) == (f"“{'Oslo' if a == 'oslo' else 'Bergen'}” and "
                                  f"“{'Bergen' if a == 'oslo' else 'Oslo'}” are already linked with “HVAC” (the "
                                  "link “Oslo_to_Bergen”). Change that link's values instead of adding a second one.")
    with pytest.raises(EngageError, match="There is already a link called “Oslo_to_Bergen”. Choose another name."):
        _link(db_url, w, "oslo", "tromso", name="Oslo_to_Bergen")
    # A link may carry its own transmission tech's name (as Calliope's examples do).
    assert _link(db_url, w, "oslo", "tromso", name="hvac").name == "hvac"


def test_update_link(db_url, session, world):
    w = world
    link = _link(db_url, w)
    moved = call(db_url, svc.update_link, user_id=w["owner"], model_id=w["model"], link_id=link.id,
                 from_location_id=w["oslo"], to_location_id=w["tromso"])
    assert (moved.name, moved.to_location) == ("Oslo_to_Tromso", "Tromso")  # a made-up name follows the ends
    assert _activity(session, w["model"])[-1] == \
        "Changed the link “Oslo_to_Bergen” to connect “Oslo” and “Tromso” (now called “Oslo_to_Tromso”)"

    renamed = call(db_url, svc.update_link, user_id=w["owner"], model_id=w["model"], link_id=link.id,
                   from_location_id=w["oslo"], to_location_id=w["tromso"], name="arctic")
    assert renamed.name == "arctic"
    assert _activity(session, w["model"])[-1] == "Renamed the link “Oslo_to_Tromso” (now called “arctic”)"
    kept = call(db_url, svc.update_link, user_id=w["owner"], model_id=w["model"], link_id=link.id,
                from_location_id=w["bergen"], to_location_id=w["tromso"])
    assert (kept.name, kept.from_location) == ("arctic", "Bergen")  # a chosen name stays

    # A made-up name that a scenario's overrides use stays too.
    other = _link(db_url, w, "oslo", "bergen")
    _add(session, Scenario(model_id=w["model"], name="cheap", overrides={"techs": {"Oslo_to_Bergen": {"x": 1}}}))
    still = call(db_url, svc.update_link, user_id=w["owner"], model_id=w["model"], link_id=other.id,
                 from_location_id=w["bergen"], to_location_id=w["oslo"])
    assert still.name == "Oslo_to_Bergen"

    with pytest.raises(EngageError, match="^Nothing to change"):
        call(db_url, svc.update_link, user_id=w["owner"], model_id=w["model"], link_id=other.id,
             from_location_id=w["bergen"], to_location_id=w["oslo"])
    with pytest.raises(EngageError, match="^“Bergen” and “Tromso” are already linked with “HVAC” "):
        call(db_url, svc.update_link, user_id=w["owner"], model_id=w["model"], link_id=other.id,
             from_location_id=w["bergen"], to_location_id=w["tromso"])
    with pytest.raises(EngageError, match="^A link needs two different locations.$"):
        call(db_url, svc.update_link, user_id=w["owner"], model_id=w["model"], link_id=other.id,
             from_location_id=w["bergen"], to_location_id=w["bergen"])
    with pytest.raises(PermissionDenied):
        call(db_url, svc.update_link, user_id=w["viewer"], model_id=w["model"], link_id=other.id,
             from_location_id=w["oslo"], to_location_id=w["tromso"])
    with pytest.raises(NotFound):
        call(db_url, svc.update_link, user_id=w["owner"], model_id=w["other"], link_id=other.id,
             from_location_id=w["oslo"], to_location_id=w["tromso"])


def test_delete_link(db_url, session, world):
    w = world
    link = _link(db_url, w)
    scenario = _add(session, Scenario(model_id=w["model"], name="base"))
    _add(session, LinkParameter(link_id=link.id, name="distance", value=300.0),
         ScenarioLink(scenario_id=scenario.id, link_id=link.id, active=False))
    assert call(db_url, svc.list_links, user_id=w["owner"], model_id=w["model"]).links[0].override_count == 1
    with pytest.raises(PermissionDenied):
        call(db_url, svc.delete_link, user_id=w["viewer"], model_id=w["model"], link_id=link.id)
    message = call(db_url, svc.delete_link, user_id=w["owner"], model_id=w["model"], link_id=link.id)
    assert message == "Removed the link “Oslo_to_Bergen” between “Oslo” and “Bergen” and its 1 own value."
    session.expire_all()
    assert session.exec(select(Link)).all() == [] and session.exec(select(LinkParameter)).all() == []
    assert session.exec(select(ScenarioLink)).all() == []
    with pytest.raises(NotFound, match="That link is not part of this model"):
        call(db_url, svc.delete_link, user_id=w["owner"], model_id=w["model"], link_id=link.id)


# --------------------------------------------------------------------------- export


def test_export_has_nodes_and_links_and_new_ones_are_on_in_every_scenario(db_url, session, world):
    w = world
    base = _add(session, Scenario(model_id=w["model"], name="base"))
    off = _add(session, Scenario(model_id=w["model"], name="no_battery"))
    battery_node = _place(db_url, w, "oslo", "battery").node_id
    _add(session, ScenarioNode(scenario_id=off.id, node_id=battery_node, active=False))
    # Placed and linked after the scenarios exist: on in both.
    for location in ("oslo", "bergen"):
        _place(db_url, w, location, "pv")
        _place(db_url, w, location, "demand")
    link = _link(db_url, w)

    for scenario, battery_on in ((base, True), (off, False)):
        md = calliope_io.export_scenario(session=session, scenario_id=scenario.id, user_id=w["viewer"])
        nodes = md.definition["nodes"]
        assert set(nodes) == {"Oslo", "Bergen", "Tromso"}
        assert set(nodes["Oslo"]["techs"]) == {"battery", "solar_pv", "power_demand"}
        assert set(nodes["Bergen"]["techs"]) == {"solar_pv", "power_demand"}
        assert nodes["Tromso"]["techs"] == {}
        assert all(v.get("active", True) for v in (nodes["Bergen"]["techs"]["solar_pv"],
                                                   nodes["Oslo"]["techs"]["power_demand"]))
        assert (nodes["Oslo"]["techs"]["battery"] or {}).get("active", True) is battery_on
        techs = md.definition["techs"]
        assert set(techs) == {"solar_pv", "power_demand", "battery", link.name}  # HVAC only as its link
        assert techs[link.name]["link_from"] == "Oslo" and techs[link.name]["link_to"] == "Bergen"
        assert techs[link.name]["base_tech"] == "transmission" and techs[link.name]["name"] == "HVAC"
        assert techs[link.name]["carrier_in"] == ["power"]
        assert techs[link.name].get("active", True) is True


# --------------------------------------------------------------------------- the page


def test_nodes_page_compiles_with_labelled_controls():
    from reflex.compiler.compiler import _compile_memo_components, _compile_page, into_component

    from engage_reflex.pages.model.nodes import grid_table, model_nodes_page

    code = _compile_page(into_component(model_nodes_page), "/models/[model_id]/nodes")
    (_, grid), = _compile_memo_components([grid_table._definition])[0]  # the grid is its own memoised component
    assert "GridTable_" in code
    assert 'id:"placement-grid"' in grid and 'type:"checkbox"' in grid
    # Every cell's checkbox is named "<tech> at <location>" for screen readers, and links to the node's page.
    assert '"aria-label":((techsRxMemo?.at?.(i_rx_state_)?.["label"]+" at ")+row_rx_state_?.["location_name"])' in grid
    assert '"/nodes/"' in code and '"Values of "' in grid and 'jsx("a",' in grid
    for control, label in [("filter-locations", "Filter locations"), ("filter-techs", "Filter technologies"),
                           ("column-tech", "Whole column"), ("link-tech", "Transmission technology"),
                           ("link-from", "From"), ("link-to", "To"), ("link-name", "Name (optional)")]:
        assert f'htmlFor:"{control}"' in code, control
        assert f'id:"{control}"' in code, control
    assert "RadixThemesAlertDialog" in code and "Delete link" in code and "Remove" in code
    assert 'as:"h2"' in code and code.count('as:"h1"') == 1  # the editor frame's model name is the only h1
