"""Scenarios: create, copy, rename, delete; switches; typed settings; group constraints (SQLite and PostgreSQL).

The last tests export a scenario of Calliope's national example with a node switched off and a
max-capacity group constraint, and solve it (SQLite only: solves cost seconds).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import (
    ActivityLog,
    Collaborator,
    Run,
    RunStatus,
    Scenario,
    ScenarioConstraint,
    ScenarioLink,
    ScenarioNode,
    User,
)
from engage_reflex.services import calliope_io
from engage_reflex.services import scenarios as svc
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied

EXAMPLES = Path(__import__("calliope").__file__).parent / "example_models"


def call(db_url, fn, **kwargs):
    """One service call in its own transaction, as the app does."""
    with session_scope(db_url) as s:
        return fn(session=s, **kwargs)


@pytest.fixture
def national(db_url, session):
    """Calliope's national example imported for an owner, with a viewer and a stranger."""
    owner, viewer, stranger = (User(email=f"{n}@example.org", password_hash="!") for n in ("owner", "viewer", "x"))
    session.add_all([owner, viewer, stranger])
    session.commit()
    report = calliope_io.import_model_directory(session=session, path=EXAMPLES / "national_scale",
                                                owner_id=owner.id)
    session.add(Collaborator(model_id=report.model_id, user_id=viewer.id, can_edit=False))
    session.commit()
    base = session.exec(select(Scenario.id).where(Scenario.model_id == report.model_id,
                                                  Scenario.name == "base")).one()
    return dict(owner=owner.id, viewer=viewer.id, stranger=stranger.id, model=report.model_id, base=base)


def _detail(db_url, w, scenario_id, **filters):
    return call(db_url, svc.scenario_detail, user_id=w["owner"], scenario_id=scenario_id, **filters)


def test_create_copy_rename_delete(db_url, session, national):
    w = national
    names = [s.name for s in call(db_url, svc.list_scenarios, user_id=w["viewer"], model_id=w["model"])]
    assert "base" in names and len(names) > 5  # the example's overrides and scenarios came in as scenarios

    new = call(db_url, svc.create_scenario, user_id=w["owner"], model_id=w["model"], name="No CSP",
               description="What if CSP is not allowed")
    assert (new.nodes_off, new.links_off, new.constraints, new.run_count) == (0, 0, 0, 0)
    call(db_url, svc.switch_filtered, user_id=w["owner"], scenario_id=new.id, tech_filter="csp", active=False)
    call(db_url, svc.add_constraint, user_id=w["owner"], scenario_id=new.id, name="little_ccgt",
         template="max_capacity", params={"techs": ["ccgt"], "locations": [], "limit": "20000"})
    call(db_url, svc.update_settings, user_id=w["owner"], scenario_id=new.id, ensure_feasibility=True)

    source = _detail(db_url, w, new.id)
    assert source.nodes_off > 0
    copy = call(db_url, svc.duplicate_scenario, user_id=w["owner"], scenario_id=new.id, name="No CSP, copy")
    assert (copy.nodes_off, copy.constraints, copy.settings_changed) == (source.nodes_off, 1, 1)
    copied = _detail(db_url, w, copy.id)
    assert copied.settings.ensure_feasibility is True
    assert [c.name for c in copied.constraints] == ["little_ccgt"]

    renamed = call(db_url, svc.rename_scenario, user_id=w["owner"], scenario_id=copy.id, name="Dear gas",
                   description="changed")
    assert (renamed.name, renamed.description) == ("Dear gas", "changed")

    refusals = [
        (dict(fn=svc.create_scenario, model_id=w["model"], name="  "), EngageError, "Give the scenario a name."),
        (dict(fn=svc.create_scenario, model_id=w["model"], name="no csp"), EngageError,
         "This model already has a scenario called “no csp”"),
        (dict(fn=svc.create_scenario, model_id=w["model"], name="a\nb"), EngageError,
         "The scenario name contains a line break"),
        (dict(fn=svc.rename_scenario, scenario_id=copy.id, name="base", description=""), EngageError,
         "This model already has a scenario called “base”"),
        (dict(fn=svc.create_scenario, model_id=w["model"], name="x", user_id=w["viewer"]), PermissionDenied,
         "You can view"),
        (dict(fn=svc.scenario_detail, scenario_id=new.id, user_id=w["stranger"]), NotFound, "There is no model"),
    ]
    for kwargs, error, message in refusals:
        kwargs = {"user_id": w["owner"], **kwargs}
        with pytest.raises(error) as exc:
            call(db_url, **kwargs)
        assert str(exc.value).startswith(message), str(exc.value)

    # Deleting takes its switches, constraints and runs; a running run stops it.
    session.add(Run(model_id=w["model"], scenario_id=copy.id, user_id=w["owner"], status=RunStatus.succeeded))
    running = Run(model_id=w["model"], scenario_id=copy.id, user_id=w["owner"], status=RunStatus.solving)
    session.add(running)
    session.commit()
    with pytest.raises(EngageError, match="A run of “Dear gas” is still going"):
        call(db_url, svc.delete_scenario, user_id=w["owner"], scenario_id=copy.id)
    running.status = RunStatus.failed
    session.add(running)
    session.commit()
    deleted = call(db_url, svc.delete_scenario, user_id=w["owner"], scenario_id=copy.id)
    assert (deleted.name, deleted.runs_deleted) == ("Dear gas", 2)
    session.expire_all()
    assert session.get(Scenario, copy.id) is None
    for table in (ScenarioNode, ScenarioConstraint, Run):
        assert session.exec(select(table).where(table.scenario_id == copy.id)).all() == []
    log = session.exec(select(ActivityLog.action).where(ActivityLog.model_id == w["model"])).all()
    assert {"created scenario", "copied scenario", "renamed scenario", "deleted scenario",
            "added a group constraint", "changed scenario settings"} <= set(log)


def test_the_last_scenario_cannot_be_deleted(db_url, session, national):
    w = national
    for scenario in call(db_url, svc.list_scenarios, user_id=w["owner"], model_id=w["model"])[1:]:
        call(db_url, svc.delete_scenario, user_id=w["owner"], scenario_id=scenario.id)
    with pytest.raises(EngageError, match="is the model's only scenario"):
        call(db_url, svc.delete_scenario, user_id=w["owner"], scenario_id=w["base"])


def test_switches_filters_and_map(db_url, session, national):
    w = national
    new = call(db_url, svc.create_scenario, user_id=w["owner"], model_id=w["model"], name="switches")
    detail = _detail(db_url, w, new.id)
    assert detail.nodes_off == 0 and detail.links_off == 0 and detail.nodes_total > 5 and detail.links_total > 0

    only_supply = _detail(db_url, w, new.id, base_tech="supply")
    assert only_supply.rows and {r.base_tech for r in only_supply.rows} == {"supply"}
    region1 = _detail(db_url, w, new.id, location_filter="region1")
    assert all("region1" in r.location for r in region1.rows)

    change = call(db_url, svc.switch_filtered, user_id=w["owner"], scenario_id=new.id, base_tech="transmission",
                  active=False)
    assert change.changed == detail.links_total and "Switched off" in change.message
    again = call(db_url, svc.switch_filtered, user_id=w["owner"], scenario_id=new.id, base_tech="transmission",
                 active=False)
    assert again.changed == 0 and "nothing changed" in again.message
    after = _detail(db_url, w, new.id)
    assert after.links_off == after.links_total and after.nodes_off == 0
    assert all(not line.active for line in after.link_lines)
    assert [r.active for r in _detail(db_url, w, new.id, state="off").rows] == [False] * after.links_total

    # A click on a location's pin: everything there off, and back on.
    region2 = next(loc for loc in after.locations if loc.name == "region2")
    call(db_url, svc.switch_location, user_id=w["owner"], scenario_id=new.id, location_id=region2.id, active=False)
    off = next(loc for loc in _detail(db_url, w, new.id).locations if loc.name == "region2")
    assert off.on == 0 and off.total == region2.total > 0
    call(db_url, svc.switch_location, user_id=w["owner"], scenario_id=new.id, location_id=region2.id, active=True)
    on = next(loc for loc in _detail(db_url, w, new.id).locations if loc.name == "region2")
    assert on.on == on.total
    # The links at region2 came back on with it; the others stay off.
    assert 0 < _detail(db_url, w, new.id).links_off < after.links_total

    # One row by id (a node's switch in the table).
    row = _detail(db_url, w, new.id, base_tech="supply").rows[0]
    call(db_url, svc.switch_rows, user_id=w["owner"], scenario_id=new.id, kind="node", ids=[row.id], active=False)
    assert session.exec(select(ScenarioNode).where(ScenarioNode.scenario_id == new.id,
                                                   ScenarioNode.node_id == row.id)).one().active is False
    call(db_url, svc.switch_rows, user_id=w["owner"], scenario_id=new.id, kind="node", ids=[row.id], active=True)
    session.expire_all()
    # On is the absence of a row, as for a scenario that never switched it.
    assert session.exec(select(ScenarioNode).where(ScenarioNode.scenario_id == new.id)).all() == []
    assert len(session.exec(select(ScenarioLink).where(ScenarioLink.scenario_id == new.id)).all()) > 0

    with pytest.raises(NotFound, match="no longer in the model"):
        call(db_url, svc.switch_rows, user_id=w["owner"], scenario_id=new.id, kind="node", ids=[10**9], active=False)
    with pytest.raises(EngageError, match="No node or link matches the filter"):
        call(db_url, svc.switch_filtered, user_id=w["owner"], scenario_id=new.id, tech_filter="nuclear", active=False)
    with pytest.raises(PermissionDenied):
        call(db_url, svc.switch_rows, user_id=w["viewer"], scenario_id=new.id, kind="node", ids=[row.id],
             active=False)


SETTINGS_REFUSALS = [
    (dict(mode="dream"), "“dream” is not a mode"),
    (dict(mode="operate", operate_window="1 week"), "The window “1 week” is not a length of time"),
    (dict(mode="operate", operate_window="48h", operate_horizon="24h"), "The horizon (24h) must be at least"),
    (dict(mode="spores", spores_number="many"), "The number of SPORES “many” is not a whole number"),
    (dict(mode="spores", spores_number="0"), "The number of SPORES must be between 1 and 100"),
    (dict(objective_weights={"monetary": "-1"}), "The weight of monetary must be a number of 0 or more"),
    (dict(objective_weights={"monetary": "cheap"}), "The weight of monetary “cheap” is not a number"),
    (dict(objective_weights={"monetary": "0"}), "At least one cost class needs a weight above 0"),
    (dict(objective_weights={"happiness": "1"}), "“happiness” is not a cost class of this model"),
    (dict(subset_start="2005-01-03"), "Give both a first and a last day"),
    (dict(subset_start="2005-01-05", subset_end="2005-01-03"), "The first day 2005-01-05 is after the last day"),
    (dict(subset_start="05/01/2005", subset_end="2005-01-03"), "The first date “05/01/2005” is not a date"),
    (dict(resample="fortnightly"), "“fortnightly” is not a time resolution"),
]


def test_settings_are_typed_and_checked(db_url, session, national):
    w = national
    new = call(db_url, svc.create_scenario, user_id=w["owner"], model_id=w["model"], name="settings")
    defaults = _detail(db_url, w, new.id).settings
    # The example asks for ensure_feasibility itself.
    assert (defaults.mode, defaults.cyclic_storage, defaults.ensure_feasibility) == ("plan", True, True)
    # The example runs 2005-01-01 .. 2005-01-05 (its config.init.subset).
    assert (defaults.subset_start, defaults.subset_end) == ("2005-01-01", "2005-01-05")
    for kwargs, message in SETTINGS_REFUSALS:
        with pytest.raises(EngageError) as exc:
            call(db_url, svc.update_settings, user_id=w["owner"], scenario_id=new.id, **kwargs)
        assert message in str(exc.value), (kwargs, str(exc.value))
    session.expire_all()
    assert session.get(Scenario, new.id).settings == {}  # nothing stored by a refusal

    saved = call(db_url, svc.update_settings, user_id=w["owner"], scenario_id=new.id, mode="operate",
                 operate_window="12h", operate_horizon="2D", cyclic_storage=False, ensure_feasibility=True,
                 objective_weights={"monetary": "1"}, subset_start="2005-01-02", subset_end="2005-01-03",
                 resample="6H")
    assert (saved.mode, saved.operate_window, saved.operate_horizon, saved.cyclic_storage, saved.resample) == \
        ("operate", "12h", "2D", False, "6h")
    session.expire_all()
    stored = session.get(Scenario, new.id).settings
    # Only what differs from the model is stored (monetary's weight 1 is the default).
    assert stored == {svc.MODE: "operate", svc.OPERATE_WINDOW: "12h", svc.OPERATE_HORIZON: "2D",
                      svc.CYCLIC_STORAGE: False, svc.SUBSET: ["2005-01-02", "2005-01-03"], svc.RESAMPLE: "6h"}

    md = calliope_io.export_scenario(session=session, scenario_id=new.id)
    config = md.definition["config"]
    assert config["init"]["mode"] == "operate" and config["build"]["operate"]["window"] == "12h"
    assert config["init"]["subset"]["timesteps"] == ["2005-01-02", "2005-01-03"]
    assert md.definition["data_definitions"]["cyclic_storage"] is False

    back = call(db_url, svc.update_settings, user_id=w["owner"], scenario_id=new.id, subset_start="2005-01-01",
                subset_end="2005-01-05", ensure_feasibility=True)
    assert back.mode == "plan"
    session.expire_all()
    assert session.get(Scenario, new.id).settings == {}  # all back to the model's own


def test_constraints_checked_listed_and_stale_ones_named(db_url, session, national):
    w = national
    new = call(db_url, svc.create_scenario, user_id=w["owner"], model_id=w["model"], name="capped")
    with pytest.raises(EngageError, match="windy"):
        call(db_url, svc.add_constraint, user_id=w["owner"], scenario_id=new.id, name="c1", template="max_capacity",
             params={"techs": ["windy"], "limit": "10"})
    with pytest.raises(EngageError, match="Give the constraint a name"):
        call(db_url, svc.add_constraint, user_id=w["owner"], scenario_id=new.id, name=" ", template="max_capacity",
             params={"techs": ["ccgt"], "limit": "10"})
    row = call(db_url, svc.add_constraint, user_id=w["owner"], scenario_id=new.id, name="c1",
               template="max_capacity", params={"techs": ["ccgt"], "limit": "10"})
    assert row.problem == "" and "ccgt" in row.summary
    with pytest.raises(EngageError, match="already has a constraint called “C1”"):
        call(db_url, svc.add_constraint, user_id=w["owner"], scenario_id=new.id, name="C1", template="max_capacity",
             params={"techs": ["ccgt"], "limit": "10"})
    edited = call(db_url, svc.update_constraint, user_id=w["owner"], constraint_id=row.id, name="c2",
                  params={"techs": ["ccgt", "csp"], "limit": "20"})
    assert edited.name == "c2" and "csp" in edited.summary

    # One whose techs are not on at its locations does nothing, and says so.
    idle = call(db_url, svc.add_constraint, user_id=w["owner"], scenario_id=new.id, name="csp_in_region2",
                template="min_capacity", params={"techs": ["csp"], "locations": ["region2"], "limit": "5"})
    assert idle.problem.startswith("None of csp is on at region2 in this scenario, so this constraint does nothing")
    call(db_url, svc.delete_constraint, user_id=w["owner"], constraint_id=idle.id)

    # A constraint that names a tech the model no longer has is shown with its problem and stops the export.
    stored = session.get(ScenarioConstraint, row.id)
    stored.params = {**stored.params, "techs": ["gone_tech"]}
    session.add(stored)
    session.commit()
    listed = _detail(db_url, w, new.id).constraints[0]
    assert "gone_tech" in listed.problem
    with pytest.raises(EngageError, match="The group constraint “c2” of scenario “capped” no longer fits the model"):
        calliope_io.export_scenario(session=session, scenario_id=new.id)
    assert "Removed the constraint “c2”" in call(db_url, svc.delete_constraint, user_id=w["owner"],
                                                   constraint_id=row.id)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_scenario_with_a_node_off_and_a_capacity_cap_solves_as_asked(db_url, session, national, tmp_path):
    import calliope

    w = national
    new = call(db_url, svc.create_scenario, user_id=w["owner"], model_id=w["model"], name="capped run")
    call(db_url, svc.switch_filtered, user_id=w["owner"], scenario_id=new.id, location_filter="region1_3",
         tech_filter="csp", active=False)
    call(db_url, svc.add_constraint, user_id=w["owner"], scenario_id=new.id, name="small_ccgt",
         template="max_capacity", params={"techs": ["ccgt"], "locations": [], "limit": "20000"})
    md = calliope_io.export_scenario(session=session, scenario_id=new.id, subset=("2005-01-01", "2005-01-02"))
    assert md.definition["nodes"]["region1_3"]["techs"]["csp"]["active"] is False
    assert "engage_group_constraints" in md.definition["config"]["init"]["extra_math"]
    model_yaml = md.write_directory(tmp_path / "model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = calliope.read_yaml(model_yaml)
    model.build(backend="highs")
    model.solve(solver_options={"output_flag": False})
    assert model.runtime.termination_condition == "optimal"
    flow_cap = model.results.flow_cap.to_series().dropna()
    ccgt = flow_cap[flow_cap.index.get_level_values("techs") == "ccgt"].sum()
    assert ccgt == pytest.approx(20000, rel=1e-6)  # exactly at the cap: it binds
    built = set(zip(flow_cap.index.get_level_values("nodes"), flow_cap.index.get_level_values("techs"), strict=True))
    assert ("region1_3", "csp") not in built and ("region1_1", "csp") in built  # switched off there only


def test_constraints_follow_renamed_techs_and_locations(db_url, session, national):
    from engage_reflex.models import Location, Technology
    from engage_reflex.services import locations, techs

    w = national
    new = call(db_url, svc.create_scenario, user_id=w["owner"], model_id=w["model"], name="renames")
    row = call(db_url, svc.add_constraint, user_id=w["owner"], scenario_id=new.id, name="cap",
               template="max_capacity", params={"techs": ["ccgt", "csp"], "locations": ["region1"], "limit": "5"})
    ccgt = session.exec(select(Technology).where(Technology.model_id == w["model"], Technology.name == "ccgt")).one()
    call(db_url, techs.update_tech, user_id=w["owner"], model_id=w["model"], tech_id=ccgt.id, name="gas_turbine",
         display_name=ccgt.display_name, color=ccgt.color, carriers_in=[], carriers_out=["power"])
    region1 = session.exec(select(Location).where(Location.model_id == w["model"], Location.name == "region1")).one()
    call(db_url, locations.update_location, user_id=w["owner"], model_id=w["model"], location_id=region1.id,
         name="north", latitude=region1.latitude, longitude=region1.longitude)
    session.expire_all()
    assert session.get(ScenarioConstraint, row.id).params["techs"] == ["gas_turbine", "csp"]
    assert session.get(ScenarioConstraint, row.id).params["locations"] == ["north"]
    assert _detail(db_url, w, new.id).constraints[0].problem == ""
