"""A stored timeseries attached to a tech or node parameter reaches Calliope's inputs over the time steps."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sqlmodel import select

from engage_reflex.models import Collaborator, Node, Scenario, Technology, User
from engage_reflex.models import Location as LocationRow
from engage_reflex.services import calliope_io, parameters, series_params, timeseries
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied
from tests.builder_recipe import build_with_services


@dataclasses.dataclass(frozen=True)
class Clean:
    name: str
    column: str
    timestamps: np.ndarray
    values: np.ndarray


@pytest.fixture
def valley(session):
    planner = User(email="series@example.org", password_hash="!")
    viewer = User(email="viewer@example.org", password_hash="!")
    session.add_all([planner, viewer])
    session.commit()
    model_id = build_with_services(session, planner.id)
    session.add(Collaborator(model_id=model_id, user_id=viewer.id, can_edit=False))
    session.commit()
    # The new model's time steps: a week of hours from 2025-01-01 (models.create_model).
    stamps = np.datetime64("2025-01-01T00:00", "ns") + np.arange(168) * np.timedelta64(1, "h")
    profile = 5 + 5 * np.sin(np.arange(168) * 2 * np.pi / 24)
    [row] = timeseries.store_series(session=session, user_id=planner.id, model_id=model_id,
                                    series=[Clean("south load", "load", stamps, profile)], source_filename="load.csv")
    session.commit()
    techs = {t.name: t.id for t in session.exec(select(Technology).where(Technology.model_id == model_id)).all()}
    south = session.exec(select(Node).join(LocationRow, LocationRow.id == Node.location_id).where(
        Node.model_id == model_id, LocationRow.name == "South", Node.technology_id == techs["town_demand"])).one()
    return {"planner": planner.id, "viewer": viewer.id, "model": model_id, "series": row.id, "techs": techs,
            "south_demand": south.id, "profile": profile}


def test_a_node_follows_a_series_and_calliope_reads_it_over_time(session, valley, tmp_path):
    change = series_params.attach_node_series(session=session, user_id=valley["planner"], node_id=valley["south_demand"],
                                              name="sink_use_equals", series_id=valley["series"])
    session.commit()
    assert "now follows the timeseries “south load”" in change.message
    assert "sink_unit to per_cap" in change.message  # how to say "per unit" the way Calliope does

    rows = parameters.effective_parameters(session=session, user_id=valley["planner"], node_id=valley["south_demand"])
    [row] = [r for r in rows if r.name == "sink_use_equals"]
    assert row.effective_source == "node" and row.set_values[0].value_text == "timeseries “south load”"
    [tech_row] = [r for r in parameters.list_tech_parameters(session=session, user_id=valley["planner"],
                                                             tech_id=valley["techs"]["town_demand"])
                  if r.name == "sink_use_equals"]
    assert tech_row.set_values[0].value_text == "10"  # the other node keeps the tech's constant

    from jobs.calliope_runner import read_model

    scenario_id = session.exec(select(Scenario.id).where(Scenario.model_id == valley["model"])).first()
    model = read_model(calliope_io.export_scenario(session=session, scenario_id=scenario_id), tmp_path / "m",
                       raw_log=tmp_path / "read.log")
    sink = model.inputs.sink_use_equals
    south = sink.sel(nodes="South", techs="town_demand").values
    north = sink.sel(nodes="North", techs="town_demand").values
    assert south.shape == (168,)
    np.testing.assert_allclose(south, valley["profile"])
    np.testing.assert_allclose(north, 10.0)


def test_a_tech_cost_follows_a_series_per_cost_class(session, valley):
    change = series_params.attach_tech_series(session=session, user_id=valley["planner"],
                                              tech_id=valley["techs"]["gas_plant"], name="cost_flow_out",
                                              series_id=valley["series"], cost_class="monetary")
    session.commit()
    assert change.message == "cost_flow_out (monetary) of “Gas plant” now follows the timeseries “south load”"
    [row] = [r for r in parameters.list_tech_parameters(session=session, user_id=valley["planner"],
                                                        tech_id=valley["techs"]["gas_plant"])
             if r.name == "cost_flow_out"]
    assert [(v.cost_class, v.value_text) for v in row.set_values] == [("monetary", "timeseries “south load”")]
    # Typing a number again replaces the series.
    parameters.set_tech_parameter(session=session, user_id=valley["planner"], tech_id=valley["techs"]["gas_plant"],
                                  name="cost_flow_out", raw="0.07", cost_class="monetary")
    session.commit()
    [row] = [r for r in parameters.list_tech_parameters(session=session, user_id=valley["planner"],
                                                        tech_id=valley["techs"]["gas_plant"])
             if r.name == "cost_flow_out"]
    assert [v.value_text for v in row.set_values] == ["0.07"]


def test_what_cannot_follow_a_series_is_refused(session, valley):
    tech = valley["techs"]["gas_plant"]
    cases = [
        ({"name": "cyclic_storage"}, EngageError, "takes true or false, not a timeseries"),
        ({"name": "source_unit"}, EngageError, "takes one setting, not a timeseries"),
        ({"name": "no_such_parameter"}, EngageError, "Calliope has no technology parameter"),
        ({"name": "flow_cap_max", "cost_class": "monetary"}, EngageError, "is not given per cost class"),
        ({"name": "flow_cap_max", "series_id": 987654}, NotFound, "not in this model"),
    ]
    for extra, error, text in cases:
        kwargs = {"name": "flow_cap_max", "series_id": valley["series"], **extra}
        with pytest.raises(error) as info:
            series_params.attach_tech_series(session=session, user_id=valley["planner"], tech_id=tech, **kwargs)
        session.rollback()
        assert text in info.value.message, (extra, info.value.message)
    with pytest.raises(PermissionDenied):
        series_params.attach_tech_series(session=session, user_id=valley["viewer"], tech_id=tech,
                                         name="flow_cap_max", series_id=valley["series"])
    session.rollback()
    # A series in use cannot be deleted; the message says where it is used.
    series_params.attach_tech_series(session=session, user_id=valley["planner"], tech_id=tech, name="flow_cap_max",
                                     series_id=valley["series"])
    session.commit()
    with pytest.raises(EngageError, match="flow_cap_max of gas_plant"):
        timeseries.delete_series(session=session, user_id=valley["planner"], model_id=valley["model"],
                                 series_id=valley["series"])


def test_the_placeholder_time_steps_follow_the_uploaded_data(session, valley, tmp_path):
    """A browser-made model starts with a week of placeholder time steps; after an upload of June 2024
    (and the first upload, which matched that week, is deleted), Calliope's time axis is June only."""
    from engage_reflex.models import Timeseries

    june = np.datetime64("2024-06-01T00:00", "ns") + np.arange(48) * np.timedelta64(1, "h")
    [row] = timeseries.store_series(session=session, user_id=valley["planner"], model_id=valley["model"],
                                    series=[Clean("june load", "load", june, np.full(48, 7.0))],
                                    source_filename="june.csv")
    timeseries.delete_series(session=session, user_id=valley["planner"], model_id=valley["model"],
                             series_id=valley["series"])
    session.commit()
    placeholder = session.exec(select(Timeseries).where(Timeseries.model_id == valley["model"],
                                                        Timeseries.name == "Time steps")).one()
    assert placeholder.length == 48 and placeholder.start.year == 2024  # the deleted week went with its series
    series_params.attach_node_series(session=session, user_id=valley["planner"], node_id=valley["south_demand"],
                                     name="sink_use_equals", series_id=row.id)
    # Another upload: the union of what is there.
    timeseries.store_series(session=session, user_id=valley["planner"], model_id=valley["model"],
                            series=[Clean("june price", "price", june, np.full(48, 0.1))], source_filename="p.csv")
    session.commit()
    session.refresh(placeholder)
    assert placeholder.length == 48

    from jobs.calliope_runner import read_model

    scenario_id = session.exec(select(Scenario.id).where(Scenario.model_id == valley["model"])).first()
    model = read_model(calliope_io.export_scenario(session=session, scenario_id=scenario_id), tmp_path / "m",
                       raw_log=tmp_path / "read.log")
    steps = model.inputs.timesteps.values
    assert len(steps) == 48 and str(steps[0]).startswith("2024-06-01T00:00")
    np.testing.assert_allclose(model.inputs.sink_use_equals.sel(nodes="South", techs="town_demand").values, 7.0)
