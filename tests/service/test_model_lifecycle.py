"""Models: create, copy, rename, change details, delete (services/models.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select

from engage_reflex.db import session_scope
from engage_reflex.models import (
    ActivityLog,
    Carrier,
    Collaborator,
    Comment,
    EnergyModel,
    Link,
    LinkParameter,
    Location,
    ModelFile,
    ModelParameter,
    Node,
    NodeParameter,
    Run,
    Scenario,
    ScenarioConstraint,
    ScenarioLink,
    ScenarioNode,
    TechnologyCarrier,
    TechParameter,
    Technology,
    Timeseries,
    Upload,
    User,
)
from engage_reflex.services import access, activity, calliope_io, samples, storage
from engage_reflex.services import models as models_service
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied
from engage_reflex.models.series_blob import series_from_lists
from engage_reflex.settings import get_settings

NATIONAL, URBAN = "National-scale example model", "Urban-scale example model"
CHILD_TABLES = (Timeseries, ModelFile, ModelParameter, Carrier, Technology, TechnologyCarrier, TechParameter,
                Location, Node, NodeParameter, Link, LinkParameter, Scenario, ScenarioNode, ScenarioLink,
                ScenarioConstraint)


def _user(session, email: str, display_name: str = "") -> int:
    user = User(email=email, password_hash="!", display_name=display_name)
    session.add(user)
    session.commit()
    return user.id


@pytest.fixture
def people(session):
    return {"alice": _user(session, "alice@example.org", "Alice"), "bob": _user(session, "bob@example.org"),
            "carol": _user(session, "carol@example.org")}


def _rows_of(session, model_id: int) -> dict[str, int]:
    """How many rows of each model table belong to a model (following parents to the model)."""
    plan = {name: where for name, where, _ in models_service.COPY_PLAN}
    out = {}
    for name, where in plan.items():
        table = models_service._T[name]
        out[name] = session.exec(select(func.count()).select_from(table).where(where(model_id))).one()
    return out


def _exports_equal(session, source_id: int, copy_id: int) -> list[str]:
    """Names of the scenarios whose export differs between source and copy (definition, data, files)."""
    source = session.exec(select(Scenario).where(Scenario.model_id == source_id).order_by(Scenario.id)).all()
    copies = {s.name: s for s in session.exec(select(Scenario).where(Scenario.model_id == copy_id)).all()}
    assert sorted(copies) == sorted(s.name for s in source)
    differ = []
    for scenario in source:
        a = calliope_io.export_scenario(session=session, scenario_id=scenario.id)
        b = calliope_io.export_scenario(session=session, scenario_id=copies[scenario.name].id)
        same = (a.definition == b.definition and a.files == b.files
                and list(a.dataframes) == list(b.dataframes)
                and all(a.dataframes[k].equals(b.dataframes[k]) for k in a.dataframes))
        if not same:
            differ.append(scenario.name)
    return differ


# ---------------------------------------------------------------------------- create


def test_create_model_makes_a_runnable_empty_model(session, people):
    info = models_service.create_model(session=session, user_id=people["alice"], name="  My  island ",
                                       description=" A test ", time_zone="Europe/Oslo")
    session.commit()
    assert (info.name, info.description, info.time_zone, info.role) == ("My island", "A test", "Europe/Oslo",
                                                                       "owner")
    model = session.get(EnergyModel, info.id)
    assert model.owner_id == people["alice"] and not model.is_public and model.copied_from_id is None
    assert model.calliope_config["init"]["name"] == "My island"
    scenario = session.exec(select(Scenario).where(Scenario.model_id == info.id)).one()
    assert scenario.name == calliope_io.BASE_SCENARIO
    # It exports, with its time steps as the one data table Calliope needs.
    exported = calliope_io.export_scenario(session=session, scenario_id=scenario.id, user_id=people["alice"])
    assert exported.definition["config"]["init"]["name"] == "My island"
    assert exported.definition["config"]["build"]["ensure_feasibility"] is True
    (frame,) = exported.dataframes.values()
    assert list(frame.columns) == ["timestep_weights"] and len(frame) == 7 * 24
    assert str(frame.index[0]) == "2025-01-01 00:00:00" and (frame["timestep_weights"] == 1).all()
    # The run form's period comes from it.
    detail = models_service.get_model_detail(session=session, user_id=people["alice"], model_id=info.id)
    assert (detail.time_start, detail.time_end) == ("2025-01-01", "2025-01-07")
    log = activity.list_activity(session=session, user_id=people["alice"], model_id=info.id)
    assert [(e.action, e.detail, e.who) for e in log] == [("created", "Alice created this model", "Alice")]
    counts = models_service.get_model_counts(session=session, user_id=people["alice"], model_id=info.id)
    assert (counts.locations, counts.technologies, counts.nodes, counts.links, counts.scenarios) == (0, 0, 0, 0, 1)


BAD_CREATE = [
    ({"name": "   "}, "Give the model a name."),
    ({"name": "x" * 201}, "A model name can have at most 200 characters; this one has 201."),
    ({"name": "Taken"}, "You already have a model called “Taken”. Choose another name."),
    ({"name": "New", "time_zone": "Mars/Olympus"},
     "“Mars/Olympus” is not a time zone we know. Use a name like Europe/Oslo, America/New_York or UTC."),
    ({"name": "New", "description": "d" * 5001},
     "A description can have at most 5000 characters; this one has 5001."),
]


def test_create_model_refuses_bad_input_and_names_are_per_owner(session, people):
    models_service.create_model(session=session, user_id=people["alice"], name="Taken")
    session.commit()
    for kwargs, message in BAD_CREATE:
        with pytest.raises(EngageError) as caught:
            models_service.create_model(session=session, user_id=people["alice"], **kwargs)
        assert caught.value.message == message
        session.rollback()
    assert session.exec(select(func.count()).select_from(EnergyModel)).one() == 1
    other = models_service.create_model(session=session, user_id=people["bob"], name="Taken")
    long = models_service.create_model(session=session, user_id=people["bob"], name="y" * 200)
    assert other.name == "Taken" and len(long.name) == 200 and long.time_zone == "UTC"
    with pytest.raises(NotFound):
        models_service.create_model(session=session, user_id=999_999, name="Ghost")
    # Copy names are shortened to fit.
    first = models_service.copy_model(session=session, user_id=people["bob"], source_model_id=long.id)
    second = models_service.copy_model(session=session, user_id=people["bob"], source_model_id=long.id)
    assert len(first.name) == 200 and first.name.startswith("Copy of yyy")
    assert len(second.name) == 200 and second.name.endswith(" (2)")


# ------------------------------------------------------------------------------ copy


def test_copy_plan_covers_every_table_and_foreign_key():
    """A table added later that refers to a model must be copied or declared not copied."""
    tables = SQLModel.metadata.tables
    planned = {name: remap for name, _, remap in models_service.COPY_PLAN}
    reachable, frontier = set(), {"energy_models"}
    while frontier:
        parent = frontier.pop()
        for name, table in tables.items():
            if name not in reachable and any(fk.column.table.name == parent for fk in table.foreign_keys):
                if name not in models_service.NOT_COPIED and name != "energy_models":
                    reachable.add(name)
                    frontier.add(name)
    assert reachable == set(planned)
    for name, remap in planned.items():
        fk_columns = {fk.parent.name for fk in tables[name].foreign_keys} - {"model_id"}
        assert fk_columns == set(remap), name
        assert all(tables[parent].name == parent for parent in remap.values())


def test_copy_of_both_samples_is_complete(db_url, people):
    with session_scope(db_url) as session:
        samples.seed_samples(session=session)
    with session_scope(db_url) as session:
        ids = {m.name: m.id for m in session.exec(select(EnergyModel).where(EnergyModel.is_public)).all()}
    for name in (NATIONAL, URBAN):
        with session_scope(db_url) as session:
            info = models_service.copy_model(session=session, user_id=people["alice"], source_model_id=ids[name])
        assert info.name == f"Copy of {name}" and info.role == "owner" and info.copied_from_id == ids[name]
        with session_scope(db_url) as session:
            source_rows, copy_rows = _rows_of(session, ids[name]), _rows_of(session, info.id)
            assert copy_rows == source_rows
            assert all(source_rows[t] > 0 for t in ("timeseries", "nodes", "links", "tech_parameters",
                                                      "node_parameters", "scenarios", "technology_carriers"))
            assert _exports_equal(session, ids[name], info.id) == []
            source, copy = session.get(EnergyModel, ids[name]), session.get(EnergyModel, info.id)
            assert (copy.description, copy.calliope_config, copy.time_zone) == (
                source.description, source.calliope_config, source.time_zone)
            assert copy.owner_id == people["alice"] and not copy.is_public
    with session_scope(db_url) as session:
        urban_files = session.exec(select(ModelFile).where(ModelFile.model_id == ids[URBAN])).all()
        assert urban_files  # the urban sample has custom math and table files: they came along
        copy_id = session.exec(select(EnergyModel.id).where(EnergyModel.name == f"Copy of {URBAN}")).one()
        assert session.exec(select(func.count()).select_from(ModelFile)
                            .where(ModelFile.model_id == copy_id)).one() == len(urban_files)


@pytest.fixture
def bobs_model(session, people):
    """A small private model of Bob's with a row in every model table, shared view-only with Alice."""
    info = models_service.create_model(session=session, user_id=people["bob"], name="Bob's grid",
                                       description="Two towns", time_zone="Europe/Berlin")
    mid = info.id
    power = Carrier(model_id=mid, name="power", rate_unit="MW", quantity_unit="MWh", color="#ff0000")
    gen = Technology(model_id=mid, name="gen", display_name="Generator", base_tech="supply", color="#00ff00")
    dem = Technology(model_id=mid, name="dem", base_tech="demand")
    line = Technology(model_id=mid, name="line", base_tech="transmission")
    a, b = Location(model_id=mid, name="A", latitude=1, longitude=2), Location(model_id=mid, name="B",
                                                                               extra={"active": True})
    series = Timeseries(model_id=mid, name="demand", start=datetime(2025, 1, 1, tzinfo=UTC),
                        end=datetime(2025, 1, 1, 1, tzinfo=UTC), length=2,
                        data=series_from_lists(["2025-01-01T00:00:00", "2025-01-01T01:00:00"], [1.0, 2.0]))
    extra = Scenario(model_id=mid, name="no line", overrides={"techs": {"gen": {"flow_cap_max": 5.0}}},
                     settings={"config.build.ensure_feasibility": False})
    session.add_all([power, gen, dem, line, a, b, series, extra,
                     ModelFile(model_id=mid, path="extra_math.yaml", content="constraints: {}\n")])
    session.flush()
    session.add_all([
        TechnologyCarrier(technology_id=gen.id, carrier_id=power.id, role="out"),
        TechnologyCarrier(technology_id=dem.id, carrier_id=power.id, role="in"),
        TechnologyCarrier(technology_id=line.id, carrier_id=power.id, role="in"),
        TechnologyCarrier(technology_id=line.id, carrier_id=power.id, role="out"),
        TechParameter(technology_id=gen.id, name="cost_flow_cap", value=3.5, dims=["costs"], index=["monetary"],
                      index_key="monetary", raw="3.5 $/kW"),
        TechParameter(technology_id=dem.id, name="sink_use_equals", timeseries_id=series.id),
        ModelParameter(model_id=mid, name="bigM", value=1e6),
    ])
    nodes = [Node(model_id=mid, location_id=loc.id, technology_id=tech.id) for loc in (a, b) for tech in (gen, dem)]
    link = Link(model_id=mid, name="A_to_B", technology_id=line.id, from_location_id=a.id, to_location_id=b.id)
    session.add_all([*nodes, link])
    session.flush()
    session.add_all([NodeParameter(node_id=nodes[0].id, name="flow_cap_max", value="inf"),
                     LinkParameter(link_id=link.id, name="flow_cap_max", value=7.0),
                     ScenarioNode(scenario_id=extra.id, node_id=nodes[2].id, active=False),
                     ScenarioLink(scenario_id=extra.id, link_id=link.id, active=False),
                     ScenarioConstraint(scenario_id=extra.id, name="cap", template="max_capacity",
                                        params={"techs": [gen.name], "locations": [], "limit": 5.0}),
                     Collaborator(model_id=mid, user_id=people["alice"], can_edit=False),
                     Comment(model_id=mid, user_id=people["bob"], body="hello")])
    base = session.exec(select(Scenario).where(Scenario.model_id == mid, Scenario.name == "base")).one()
    session.add(Run(model_id=mid, scenario_id=base.id, user_id=people["bob"], status="succeeded",
                    started_at=datetime(2025, 1, 2, tzinfo=UTC)))
    session.commit()
    return mid


def test_copy_of_a_shared_model_is_complete_and_starts_its_own_history(session, people, bobs_model):
    info = models_service.copy_model(session=session, user_id=people["alice"], source_model_id=bobs_model)
    session.commit()
    assert info.name == "Copy of Bob's grid" and info.role == "owner"
    assert _rows_of(session, info.id) == _rows_of(session, bobs_model)
    assert all(n > 0 for n in _rows_of(session, bobs_model).values())
    assert _exports_equal(session, bobs_model, info.id) == []
    # Foreign keys point into the copy, never back at the source.
    copy_locations = set(session.exec(select(Location.id).where(Location.model_id == info.id)).all())
    copy_link = session.exec(select(Link).where(Link.model_id == info.id)).one()
    assert {copy_link.from_location_id, copy_link.to_location_id} <= copy_locations
    copy_series = session.exec(select(Timeseries.id).where(Timeseries.model_id == info.id)).all()
    ts_refs = session.exec(select(TechParameter.timeseries_id).join(Technology).where(
        Technology.model_id == info.id, TechParameter.timeseries_id.is_not(None))).all()
    assert ts_refs and set(ts_refs) <= set(copy_series)
    copied_carrier = session.exec(select(Carrier).where(Carrier.model_id == info.id)).one()
    assert (copied_carrier.rate_unit, copied_carrier.color) == ("MW", "#ff0000")
    raw = session.exec(select(TechParameter.raw).join(Technology).where(
        Technology.model_id == info.id, TechParameter.name == "cost_flow_cap")).one()
    assert raw == "3.5 $/kW"
    # Not copied: collaborators, runs, comments, the source's activity.
    for table in (Collaborator, Run, Comment):
        assert session.exec(select(func.count()).select_from(table).where(table.model_id == info.id)).one() == 0
    log = activity.list_activity(session=session, user_id=people["alice"], model_id=info.id)
    assert [(e.action, e.detail) for e in log] == [("copied", "Alice created this model from Bob's grid")]
    # Copies of copies get a free name; an explicit name is checked like a new model's.
    again = models_service.copy_model(session=session, user_id=people["alice"], source_model_id=bobs_model)
    third = models_service.copy_model(session=session, user_id=people["alice"], source_model_id=bobs_model)
    assert (again.name, third.name) == ("Copy of Bob's grid (2)", "Copy of Bob's grid (3)")
    named = models_service.copy_model(session=session, user_id=people["alice"], source_model_id=info.id,
                                      name=" Mine ")
    assert named.name == "Mine" and named.copied_from_id == info.id
    with pytest.raises(EngageError, match="You already have a model called “Mine”"):
        models_service.copy_model(session=session, user_id=people["alice"], source_model_id=bobs_model,
                                  name="Mine")
    # The source is untouched (no activity, no new runs out of date).
    assert session.exec(select(func.count()).select_from(ActivityLog)
                        .where(ActivityLog.model_id == bobs_model)).one() == 1
    # A model the user cannot see is not there for them.
    session.commit()
    with pytest.raises(NotFound) as caught:
        models_service.copy_model(session=session, user_id=people["carol"], source_model_id=bobs_model)
    assert caught.value.message == f"There is no model with id {bobs_model}."
    with pytest.raises(NotFound):
        models_service.copy_model(session=session, user_id=people["carol"], source_model_id=999_999)
    session.rollback()
    assert session.exec(select(func.count()).select_from(EnergyModel)
                        .where(EnergyModel.owner_id == people["carol"])).one() == 0


# ------------------------------------------------------------------- rename, details


def test_rename_and_details_need_the_edit_right(session, people, bobs_model):
    for who in ("alice", "carol"):
        for call, kwargs in ((models_service.rename_model, {"name": "X"}),
                             (models_service.update_model_details, {"description": "X"})):
            with pytest.raises(PermissionDenied if who == "alice" else NotFound) as caught:
                call(session=session, user_id=people[who], model_id=bobs_model, **kwargs)
            if who == "alice":
                assert caught.value.message.startswith("You can view “Bob's grid” but not change it.")

    session.exec(select(Collaborator).where(Collaborator.model_id == bobs_model)).one().can_edit = True
    session.commit()
    renamed = models_service.rename_model(session=session, user_id=people["alice"], model_id=bobs_model,
                                          name="Bob's new grid")
    assert renamed.name == "Bob's new grid" and renamed.role == "editor"
    models_service.create_model(session=session, user_id=people["bob"], name="Taken by Bob")
    models_service.create_model(session=session, user_id=people["alice"], name="Taken by Alice")
    with pytest.raises(EngageError) as caught:  # names are unique per owner: the owner's names count
        models_service.rename_model(session=session, user_id=people["alice"], model_id=bobs_model,
                                    name="Taken by Bob")
    assert caught.value.message == "Its owner already has a model called “Taken by Bob”. Choose another name."
    with pytest.raises(EngageError) as caught:
        models_service.rename_model(session=session, user_id=people["bob"], model_id=bobs_model,
                                    name="Taken by Bob")
    assert caught.value.message == "You already have a model called “Taken by Bob”. Choose another name."
    with pytest.raises(EngageError, match="Give the model a name."):
        models_service.rename_model(session=session, user_id=people["bob"], model_id=bobs_model, name="")
    models_service.rename_model(session=session, user_id=people["alice"], model_id=bobs_model,
                                name="Taken by Alice")  # Alice's own names do not matter here
    models_service.rename_model(session=session, user_id=people["alice"], model_id=bobs_model,
                                name="Taken by Alice")  # unchanged: no activity entry

    details = models_service.update_model_details(session=session, user_id=people["alice"], model_id=bobs_model,
                                                  description="Now three towns", time_zone="America/New_York")
    assert (details.description, details.time_zone) == ("Now three towns", "America/New_York")
    models_service.update_model_details(session=session, user_id=people["alice"], model_id=bobs_model,
                                        description="Now three towns", time_zone="America/New_York")
    with pytest.raises(EngageError, match="“Europe/Nowhere” is not a time zone we know"):
        models_service.update_model_details(session=session, user_id=people["alice"], model_id=bobs_model,
                                            time_zone="Europe/Nowhere")
    session.commit()
    run = session.exec(select(Run).where(Run.model_id == bobs_model)).one()
    session.refresh(run)
    assert run.is_out_of_date  # every edit marks the model's runs out of date
    log = activity.list_activity(session=session, user_id=people["bob"], model_id=bobs_model)
    assert [e.detail for e in log][:3] == [
        "Changed the description and the time zone to America/New_York",
        "Renamed the model from “Bob's new grid” to “Taken by Alice”",
        "Renamed the model from “Bob's grid” to “Bob's new grid”",
    ]


# ---------------------------------------------------------------------------- delete


def test_delete_is_for_the_owner_and_removes_everything(session, people, bobs_model, tmp_path):
    with pytest.raises(PermissionDenied) as caught:
        models_service.delete_model(session=session, user_id=people["alice"], model_id=bobs_model)
    assert caught.value.message == ("Only the owner can delete “Bob's grid”. "
                                    "You can make your own copy and delete that instead.")
    session.exec(select(Collaborator).where(Collaborator.model_id == bobs_model)).one().can_edit = True
    session.commit()
    with pytest.raises(PermissionDenied, match="Only the owner can delete"):  # editors neither
        models_service.delete_model(session=session, user_id=people["alice"], model_id=bobs_model)
    with pytest.raises(NotFound):
        models_service.delete_model(session=session, user_id=people["carol"], model_id=bobs_model)
    copy = models_service.copy_model(session=session, user_id=people["alice"], source_model_id=bobs_model)
    session.commit()

    run = session.exec(select(Run).where(Run.model_id == bobs_model)).one()
    work_dir = get_settings().runs_dir / str(run.id)
    (work_dir / "results").mkdir(parents=True)
    (work_dir / "results" / "model.nc").write_text("x")
    run.artefact_dir = f"runs/{run.id}/results"
    session.add(run)
    upload = Upload(model_id=bobs_model, user_id=people["bob"], filename="demand.csv", kind="timeseries")
    session.add(upload)
    session.commit()
    uploaded = storage.get_store().local_path(f"uploads/{upload.id}/demand.csv")
    uploaded.parent.mkdir(parents=True)
    uploaded.write_text("time,demand\n")

    deleted = models_service.delete_model(session=session, user_id=people["bob"], model_id=bobs_model)
    assert deleted.name == "Bob's grid" and work_dir.is_dir()  # folders go only after the commit
    assert f"runs/{run.id}" in deleted.run_folders  # its prefix in the run files store (here: data_dir)
    assert f"uploads/{upload.id}" in deleted.run_folders  # and its uploaded files'
    session.commit()
    models_service.remove_run_folders(deleted.run_folders)
    assert not work_dir.exists() and not uploaded.parent.exists()
    assert all(n == 0 for n in _rows_of(session, bobs_model).values())
    for table in (Collaborator, Run, Comment, ActivityLog):
        assert session.exec(select(func.count()).select_from(table).where(table.model_id == bobs_model)).one() == 0
    assert session.get(EnergyModel, bobs_model) is None
    # The copy lives on, complete, and forgets where it came from.
    survivor = session.get(EnergyModel, copy.id)
    session.refresh(survivor)
    assert survivor.copied_from_id is None and all(n > 0 for n in _rows_of(session, copy.id).values())
    assert _exports_equal(session, copy.id, copy.id) == []


# ----------------------------------------------------------------------- list models


def test_list_models_carries_role_and_last_change(session, people, bobs_model):
    own = models_service.create_model(session=session, user_id=people["alice"], name="Alice's own")
    shared_edit = models_service.create_model(session=session, user_id=people["carol"], name="Carol's")
    session.add(Collaborator(model_id=shared_edit.id, user_id=people["alice"], can_edit=True))
    public = models_service.create_model(session=session, user_id=people["carol"], name="Carol's public")
    session.get(EnergyModel, public.id).is_public = True
    session.commit()
    listed = {m.name: m for m in models_service.list_models(session=session, user_id=people["alice"])}
    assert {name: m.role for name, m in listed.items()} == {
        "Alice's own": "owner", "Carol's": "editor", "Bob's grid": "viewer", "Carol's public": "viewer"}
    for summary in listed.values():
        model = session.get(EnergyModel, summary.id)
        assert summary.role == access.role_of(session=session, user_id=people["alice"], model=model)
        assert summary.updated_at and datetime.fromisoformat(summary.updated_at)
    assert own.id in {m.id for m in listed.values()}
    # A public model is copied, not deleted, by others.
    with pytest.raises(PermissionDenied, match="Only the owner can delete “Carol's public”"):
        models_service.delete_model(session=session, user_id=people["alice"], model_id=public.id)
    copy = models_service.copy_model(session=session, user_id=people["alice"], source_model_id=public.id)
    assert copy.role == "owner" and copy.name == "Copy of Carol's public"


def test_edit_model_saves_all_or_nothing(session, people):
    info = models_service.create_model(session=session, user_id=people["alice"], name="Before")
    session.commit()
    with pytest.raises(EngageError, match="“Nowhere” is not a time zone we know"):
        models_service.edit_model(session=session, user_id=people["alice"], model_id=info.id, name="After",
                                  description="new", time_zone="Nowhere")
    session.rollback()
    model = session.get(EnergyModel, info.id)
    session.refresh(model)
    assert (model.name, model.description) == ("Before", "")
    saved = models_service.edit_model(session=session, user_id=people["alice"], model_id=info.id, name="After",
                                      description="new", time_zone="Asia/Tokyo")
    assert (saved.name, saved.description, saved.time_zone) == ("After", "new", "Asia/Tokyo")


# ------------------------------------------------------------------------------ pages


def test_changed_ago_reads_like_a_person():
    from engage_reflex.state._time import changed_ago

    now = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)
    assert [changed_ago(when, now) for when in (
        "2026-03-12T11:59:30+00:00", "2026-03-12T11:55:00+00:00", "2026-03-12T11:00:00+00:00",
        "2026-03-12T10:00:00+00:00", "2026-03-11T09:00:00+00:00", "2026-03-09T12:00:00+00:00",
        "2026-01-02T08:00:00+00:00", "2026-03-12T11:00:00", "not a date")] == [
        "just now", "5 minutes ago", "1 hour ago", "2 hours ago", "yesterday", "3 days ago", "on 2 Jan 2026",
        "1 hour ago", "at an unknown time"]


def test_models_and_overview_pages_compile_with_labelled_controls():
    from reflex.compiler.compiler import _compile_page, into_component

    from engage_reflex.pages.model.overview import model_overview_page
    from engage_reflex.pages.models import models_page

    listing = _compile_page(into_component(models_page), "/models")
    for control in ("new-model-name", "new-model-description", "new-model-zone", "rename-model-name"):
        assert f'htmlFor:"{control}"' in listing and f'id:"{control}"' in listing, control
    for text in ("New model", "Make a copy", "Rename", "Delete model", "model-card", "all its runs and their results"):
        assert text in listing, text
    overview = _compile_page(into_component(model_overview_page), "/models/[model_id]")
    for control in ("model-name-input", "model-description-input", "model-zone-input"):
        assert f'htmlFor:"{control}"' in overview and f'id:"{control}"' in overview, control
    for text in ("Save details", "Make a copy", "Delete model", "model-counts", "activity-list"):
        assert text in overview, text
    assert '"aria-label":"Time zone"' in overview
