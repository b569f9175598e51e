"""Locations: validation with its messages, rights, CSV round trip, delete impact (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from engage_reflex.models import (
    ActivityLog,
    Collaborator,
    EnergyModel,
    Link,
    Location,
    Node,
    Run,
    RunStatus,
    Scenario,
    Technology,
    User,
)
from engage_reflex.services import locations as svc
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied


@pytest.fixture
def world(session):
    users = {}
    for key in ("alice", "bob", "carol"):
        users[key] = User(email=f"{key}@example.org", password_hash="x")
        session.add(users[key])
    session.commit()
    model = EnergyModel(name="Island", owner_id=users["alice"].id)
    session.add(model)
    session.commit()
    session.add(Collaborator(model_id=model.id, user_id=users["bob"].id, can_edit=False))
    session.commit()
    return {**{k: u.id for k, u in users.items()}, "model": model.id}


def _add(session, world, name="Oslo", lat=59.91, lon=10.75, area=None, **kw):
    row = svc.add_location(session=session, user_id=world["alice"], model_id=world["model"], name=name,
                           latitude=lat, longitude=lon, available_area=area, **kw)
    session.commit()
    return row


def _refused(session, call, **kwargs) -> str:
    with pytest.raises(EngageError) as info:
        call(session=session, **kwargs)
    session.rollback()
    return info.value.message


def test_add_and_list_with_counts_and_activity(session, world):
    oslo = _add(session, world, area="12,5")  # a decimal comma is read as a decimal point
    _add(session, world, "Bergen", "60.39", "5.32")
    assert (oslo.latitude, oslo.longitude, oslo.available_area) == (59.91, 10.75, 12.5)
    rows = svc.list_locations(session=session, user_id=world["bob"], model_id=world["model"])
    assert [r.name for r in rows] == ["Bergen", "Oslo"]
    assert (rows[0].nodes, rows[0].links) == (0, 0)
    details = session.exec(select(ActivityLog.detail).where(ActivityLog.model_id == world["model"])).all()
    assert "Added location “Oslo” at 59.91, 10.75" in details


BAD_INPUT = [
    ({"name": ""}, "Give the location a name."),
    ({"name": "   "}, "Give the location a name."),
    ({"name": " Oslo"}, "The location name “ Oslo” starts or ends with a space; remove it."),
    ({"name": "North Sea"}, "Calliope needs names that start with a letter and contain only letters, digits "
                            "and underscores (no spaces, “:”, “.” or “-”). For example “North_Sea”."),
    ({"name": "a:b"}, "The location name “a:b” cannot be used"),
    ({"name": "x.y"}, "The location name “x.y” cannot be used"),
    ({"name": "1st"}, "The location name “1st” cannot be used"),
    ({"name": "x" * 101}, "is 101 characters long; keep it to 100."),
    ({"latitude": 95}, "Latitude 95 is outside −90…90"),
    ({"latitude": "-90.5"}, "Latitude -90.5 is outside −90…90"),
    ({"longitude": 180.01}, "Longitude 180.01 is outside −180…180"),
    ({"latitude": "north"}, "Latitude “north” is not a number."),
    ({"longitude": "nan"}, "Longitude “nan” is not a number."),
    ({"longitude": ""}, "The longitude is missing: give both latitude and longitude, or neither."),
    ({"available_area": -1}, "Available area -1 is negative"),
    ({"available_area": "lots"}, "Available area “lots” is not a number."),
]


def test_add_and_update_refuse_bad_input_with_a_message(session, world):
    bergen = _add(session, world, "Bergen", 60.39, 5.32)
    for kwargs, message in BAD_INPUT:
        fields = {"name": "Oslo", "latitude": 59.9, "longitude": 10.7, **kwargs}
        got = _refused(session, svc.add_location, user_id=world["alice"], model_id=world["model"], **fields)
        assert message in got, (kwargs, got)
        got = _refused(session, svc.update_location, user_id=world["alice"], model_id=world["model"],
                       location_id=bergen.id, **fields)
        assert message in got, (kwargs, got)
    assert [r.name for r in svc.list_locations(session=session, user_id=world["alice"], model_id=world["model"])] == ["Bergen"]


def test_names_we_accept_load_in_calliope_and_ones_we_refuse_do_not():
    from calliope.schemas.dimension_data_schema import CalliopeNodes
    from pydantic import ValidationError

    from engage_reflex.services.names import check_calliope_name

    for good in ("Oslo", "region1_1", "Zürich", "São_Paulo"):
        CalliopeNodes.model_validate({check_calliope_name(good, what="location"): {}})
    for bad in ("a:b", "North Sea", "1st", "_x"):
        with pytest.raises(EngageError):
            check_calliope_name(bad, what="location")
        with pytest.raises(ValidationError):
            CalliopeNodes.model_validate({bad: {}})


def test_unique_names_empty_coordinates_and_other_models_locations(session, world):
    _add(session, world, "Oslo", None, None)
    assert "There is already a location called “Oslo”" in _refused(
        session, svc.add_location, user_id=world["alice"], model_id=world["model"], name="Oslo", latitude=1,
        longitude=1)
    assert "“Oslo” differs only in capital letters" in _refused(
        session, svc.add_location, user_id=world["alice"], model_id=world["model"], name="OSLO")
    row = _add(session, world, "Somewhere", "", "")
    assert (row.latitude, row.longitude) == (None, None)
    assert svc.list_map_links(session=session, user_id=world["alice"], model_id=world["model"]) == []
    other = EnergyModel(name="Other", owner_id=world["alice"])
    session.add(other)
    session.commit()
    foreign = Location(model_id=other.id, name="Far", latitude=1.0, longitude=1.0)
    session.add(foreign)
    session.commit()
    assert "This location no longer exists" in _refused(
        session, svc.move_location, user_id=world["alice"], model_id=world["model"], location_id=foreign.id,
        latitude=2, longitude=2)
    # A name Calliope accepted on import ("-" is allowed first by its pattern) can be kept when editing.
    legacy = Location(model_id=world["model"], name="-east", latitude=1.0, longitude=1.0)
    session.add(legacy)
    session.commit()
    row = svc.update_location(session=session, user_id=world["alice"], model_id=world["model"],
                              location_id=legacy.id, name="-east", latitude=2, longitude=2, available_area=7)
    assert (row.name, row.latitude, row.available_area) == ("-east", 2, 7)


def test_rights_viewer_refused_stranger_not_found(session, world):
    oslo = _add(session, world)
    for call, kw in [(svc.add_location, {"name": "Bergen"}),
                     (svc.update_location, {"location_id": oslo.id, "name": "Oslo2"}),
                     (svc.move_location, {"location_id": oslo.id, "latitude": 1, "longitude": 2}),
                     (svc.delete_location, {"location_id": oslo.id}),
                     (svc.import_locations_csv, {"content": "name,latitude,longitude\nX,1,2\n"})]:
        with pytest.raises(PermissionDenied, match="You can view “Island” but not change it"):
            call(session=session, user_id=world["bob"], model_id=world["model"], **kw)
        session.rollback()
        with pytest.raises(NotFound):
            call(session=session, user_id=world["carol"], model_id=world["model"], **kw)
        session.rollback()
    with pytest.raises(NotFound):
        svc.list_locations(session=session, user_id=world["carol"], model_id=world["model"])
    assert svc.export_locations_csv(session=session, user_id=world["bob"], model_id=world["model"]).count("\n") == 2


def _placed(session, world):
    """Oslo and Bergen with a supply at Oslo, a demand at both, and a link between them."""
    oslo, bergen = _add(session, world), _add(session, world, "Bergen", 60.39, 5.32)
    techs = {}
    for name, base in [("ccgt", "supply"), ("demand_power", "demand"), ("ac", "transmission")]:
        techs[name] = Technology(model_id=world["model"], name=name, base_tech=base)
        session.add(techs[name])
    session.commit()
    session.add_all([Node(model_id=world["model"], location_id=oslo.id, technology_id=techs["ccgt"].id),
                     Node(model_id=world["model"], location_id=oslo.id, technology_id=techs["demand_power"].id),
                     Node(model_id=world["model"], location_id=bergen.id, technology_id=techs["demand_power"].id),
                     Link(model_id=world["model"], name="ac_oslo_bergen", technology_id=techs["ac"].id,
                          from_location_id=oslo.id, to_location_id=bergen.id)])
    session.commit()
    return oslo, bergen


def test_update_rename_keeps_nodes_and_links_and_scenario_overrides(session, world):
    oslo, _ = _placed(session, world)
    scenario = Scenario(model_id=world["model"], name="big",
                        overrides={"nodes": {"Oslo": {"available_area": 5}},
                                   "techs": {"ac_oslo_bergen": {"link_from": "Oslo"}}})
    session.add(scenario)
    session.commit()
    row = svc.update_location(session=session, user_id=world["alice"], model_id=world["model"], location_id=oslo.id,
                              name="Christiania", latitude="59.9", longitude="10.7", available_area="")
    session.commit()
    assert (row.name, row.nodes, row.links, row.available_area) == ("Christiania", 2, 1, None)
    session.refresh(scenario)
    assert scenario.overrides == {"nodes": {"Christiania": {"available_area": 5}},
                                  "techs": {"ac_oslo_bergen": {"link_from": "Christiania"}}}
    lines = svc.list_map_links(session=session, user_id=world["bob"], model_id=world["model"])
    assert [(k.name, k.from_location, k.to_location, k.from_lat) for k in lines] == [
        ("ac_oslo_bergen", "Christiania", "Bergen", 59.9)]
    details = session.exec(select(ActivityLog.detail).where(ActivityLog.action == "location.update")).all()
    assert details == ["Changed location “Christiania”: renamed from “Oslo”, moved"]
    assert "There is already a location called “Bergen”" in _refused(
        session, svc.update_location, user_id=world["alice"], model_id=world["model"], location_id=oslo.id,
        name="Bergen", latitude=1, longitude=1)


def test_move_saves_coordinates_marks_runs_out_of_date_and_validates(session, world):
    oslo = _add(session, world)
    scenario = Scenario(model_id=world["model"], name="base")
    session.add(scenario)
    session.commit()
    run = Run(model_id=world["model"], scenario_id=scenario.id, status=RunStatus.succeeded,
              started_at=datetime(2026, 1, 1, tzinfo=UTC))
    session.add(run)
    session.commit()
    row = svc.move_location(session=session, user_id=world["alice"], model_id=world["model"], location_id=oslo.id,
                            latitude=60.123456789, longitude="-179,5")
    session.commit()
    assert (row.latitude, row.longitude) == (60.123457, -179.5)
    session.refresh(run)
    assert run.is_out_of_date
    assert session.exec(select(ActivityLog.detail).where(ActivityLog.action == "location.move")).all() == [
        "Moved location “Oslo” to 60.123457, -179.5"]
    assert "Latitude 91 is outside −90…90" in _refused(
        session, svc.move_location, user_id=world["alice"], model_id=world["model"], location_id=oslo.id,
        latitude=91, longitude=0)
    assert "A location moved on the map needs a latitude and a longitude." in _refused(
        session, svc.move_location, user_id=world["alice"], model_id=world["model"], location_id=oslo.id,
        latitude=None, longitude=None)


def test_deletion_impact_then_delete_takes_nodes_and_links(session, world):
    oslo, bergen = _placed(session, world)
    impact = svc.deletion_impact(session=session, user_id=world["alice"], model_id=world["model"],
                                 location_id=oslo.id)
    assert impact.techs == ["ccgt", "demand_power"]
    assert impact.links == ["ac_oslo_bergen (Oslo – Bergen)"]
    svc.delete_location(session=session, user_id=world["alice"], model_id=world["model"], location_id=oslo.id)
    session.commit()
    assert session.exec(select(Node.location_id)).all() == [bergen.id]
    assert session.exec(select(Link)).all() == []
    assert [r.name for r in svc.list_locations(session=session, user_id=world["alice"],
                                               model_id=world["model"])] == ["Bergen"]
    details = session.exec(select(ActivityLog.detail).where(ActivityLog.action == "location.delete")).all()
    assert details == ["Deleted location “Oslo” with 2 technologies placed there and 1 link"]
    assert svc.deletion_impact(session=session, user_id=world["alice"], model_id=world["model"],
                               location_id=bergen.id).techs == ["demand_power"]


def test_csv_round_trip(session, world):
    _add(session, world, area=12.5)
    _add(session, world, "Zürich", 47.37, 8.54)
    _add(session, world, "Nowhere", None, None)
    text = svc.export_locations_csv(session=session, user_id=world["alice"], model_id=world["model"])
    assert text.splitlines() == ["name,latitude,longitude,available_area", "Nowhere,,,",
                                 "Oslo,59.91,10.75,12.5", "Zürich,47.37,8.54,"]
    other = EnergyModel(name="Copy", owner_id=world["alice"])
    session.add(other)
    session.commit()
    report = svc.import_locations_csv(session=session, user_id=world["alice"], model_id=other.id,
                                      content=text.encode("utf-8"))
    session.commit()
    assert (sorted(report.added), report.updated, report.unchanged) == (["Nowhere", "Oslo", "Zürich"], [], 0)
    assert svc.export_locations_csv(session=session, user_id=world["alice"], model_id=other.id) == text
    again = svc.import_locations_csv(session=session, user_id=world["alice"], model_id=other.id, content=text)
    assert (again.added, again.updated, again.unchanged) == ([], [], 3)
    assert again.summary == "Locations imported: 3 unchanged."


def test_csv_import_adds_and_updates_with_semicolons_bom_and_any_header_case(session, world):
    _add(session, world, area=3)
    content = "\ufeffName;LATITUDE;Longitude\r\nOslo;60,5;11\r\n\r\nBergen;60.39;5.32\r\n".encode("utf-8")
    report = svc.import_locations_csv(session=session, user_id=world["alice"], model_id=world["model"],
                                      content=content)
    session.commit()
    assert (report.added, report.updated) == (["Bergen"], ["Oslo"])
    rows = {r.name: r for r in svc.list_locations(session=session, user_id=world["alice"], model_id=world["model"])}
    # no available_area column: the stored value stays
    assert (rows["Oslo"].latitude, rows["Oslo"].longitude, rows["Oslo"].available_area) == (60.5, 11, 3)
    assert session.exec(select(ActivityLog.detail).where(ActivityLog.action == "location.import")).all() == [
        "Imported locations from CSV: 1 added, 1 updated."]


def test_csv_import_is_all_or_nothing_and_names_the_rows(session, world):
    _add(session, world)
    content = ("name,latitude,longitude,available_area\n"
               "Bergen,60.39,5.32,\n"
               "Tromso,95,18.9,\n"
               "Oslo,59,10,-4\n"
               "Bergen,1,1,\n"
               "bad name,1,1,\n"
               "oslo,1,1,\n")
    message = _refused(session, svc.import_locations_csv, user_id=world["alice"], model_id=world["model"],
                       content=content)
    assert message.startswith("Nothing was imported: 5 rows need fixing.")
    assert "Row 3: latitude 95 is outside −90…90" in message
    assert "Row 4: available area -4 is negative" in message
    assert "Row 5: the name “Bergen” is already on row 2." in message
    assert "Row 6: the location name “bad name” cannot be used" in message
    assert "Row 7: “oslo” differs from the existing location “Oslo” only in capital letters" in message
    assert [r.name for r in svc.list_locations(session=session, user_id=world["alice"],
                                               model_id=world["model"])] == ["Oslo"]


BAD_FILES = [
    (b"", "The file is empty."),
    ("name,lat\nOslo,1\n", "The first row must name the columns; missing: longitude."),
    ("name,latitude,longitude,height\nOslo,1,2,3\n", "Column “height” is not one Engage reads."),
    ("name,latitude,latitude,longitude\n", "Column “latitude” appears twice"),
    ("name,latitude,longitude\n", "The file has a header but no locations."),
    (b"name,latitude,longitude\n\xff\xfe\x00\x81", "The file is not readable text."),
    ("name,latitude,longitude\n" + "".join(f"L{i},1,1\n" for i in range(5001)), "The file has 5,001 locations; "
                                                                              "the limit is 5,000 per upload."),
    (b"name,latitude,longitude\n" + b"x" * 1_000_001, "the limit is 1 MB"),
]


def test_csv_import_refuses_bad_files_and_reads_windows_excel_text(session, world):
    for content, message in BAD_FILES:
        got = _refused(session, svc.import_locations_csv, user_id=world["alice"], model_id=world["model"],
                       content=content)
        assert message in got, (content[:40], got)
    content = "name,latitude,longitude\nMalmö,55.6,13.0\n".encode("cp1252")
    report = svc.import_locations_csv(session=session, user_id=world["alice"], model_id=world["model"],
                                      content=content)
    assert report.added == ["Malmö"]


def test_pages_compile_with_the_map_and_labelled_controls():
    from reflex.compiler.compiler import _compile_page, into_component

    from engage_reflex.pages.model.carriers import model_carriers_page
    from engage_reflex.pages.model.locations import model_locations_page

    code = _compile_page(into_component(model_locations_page), "/models/[model_id]/locations")
    assert "import('$/public/leaflet_map.jsx')" in code
    assert 'ariaLabel:"Map of locations"' in code and "onMarkerMove" in code and "onMapClick" in code
    for control in ("location-name", "location-lat", "location-lon", "location-area", "location-filter"):
        assert f'htmlFor:"{control}"' in code, control
    assert "Download CSV" in code and "Upload CSV" in code and "locations_csv" in code
    code = _compile_page(into_component(model_carriers_page), "/models/[model_id]/carriers")
    for control in ("carrier-name", "carrier-rate", "carrier-quantity", "carrier-color", "carrier-description"):
        assert f'htmlFor:"{control}"' in code, control
