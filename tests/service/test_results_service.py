"""Reading a run's result tables for the results page, and the signed download links."""

from __future__ import annotations

import pandas as pd
import pytest

from engage_reflex.models import Carrier, EnergyModel, Run, RunStatus, Scenario, User
from engage_reflex.services import downloads, results
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.settings import get_settings

STEPS = [f"2005-01-01 {h:02d}:00:00" for h in range(3)]


def _write_artefacts(directory):
    directory.mkdir(parents=True)
    pd.DataFrame([
        ("r1", "ccgt", "power", "flow_cap", 30.0), ("r2", "battery", "power", "flow_cap", 5.0),
        ("r2", "battery", "", "storage_cap", 20.0), ("r1", "demand_power", "power", "flow_cap", 25.0),
    ], columns=["node", "tech", "carrier", "variable", "value"]).to_csv(directory / "capacity.csv", index=False)
    flows = []
    for step in STEPS:
        flows += [
            (step, "r1", "ccgt", "power", "out", 20.0),
            (step, "r1", "demand_power", "power", "in", 10.0),
            (step, "r1", "r1_to_r2", "power", "in", 10.0),  # export from r1 ...
            (step, "r2", "r1_to_r2", "power", "out", 8.0),  # ... arrives at r2 with losses
            (step, "r2", "demand_power", "power", "in", 8.0),
            (step, "r2", "gas_boiler", "gas", "in", 1.0),
            (step, "r3", "r3_to_r1", "power", "in", 3.0),  # a second line of the same name ...
            (step, "r1", "r3_to_r1", "power", "out", 3.0),  # ... passing power on through r1
        ]
    pd.DataFrame(flows, columns=["timestep", "node", "tech", "carrier", "direction", "value"]).to_csv(
        directory / "flows.csv", index=False)
    pd.DataFrame([("r1", "ccgt", "monetary", 100.0), ("r2", "battery", "monetary", 50.0)],
                 columns=["node", "tech", "cost_class", "value"]).to_csv(directory / "costs.csv", index=False)
    pd.DataFrame([
        ("ccgt", "Gas turbine", "#E37A72", "supply"), ("battery", "Battery", "#3B61E3", "storage"),
        ("demand_power", "Power demand", "#072486", "demand"), ("r1_to_r2", "AC line", "#8465A9", "transmission"),
        ("r3_to_r1", "AC line", "#8465A9", "transmission"),
        ("gas_boiler", "Boiler", "#999999", "conversion"),
    ], columns=["tech", "name", "color", "base_tech"]).to_csv(directory / "techs.csv", index=False)
    (directory / "model.nc").write_bytes(b"CDF\x01fake")


@pytest.fixture
def run_world(session):
    owner = User(email="owner@example.org", password_hash="x")
    other = User(email="other@example.org", password_hash="x")
    session.add_all([owner, other])
    session.commit()
    model = EnergyModel(name="Island model", owner_id=owner.id)
    session.add(model)
    session.commit()
    scenario = Scenario(model_id=model.id, name="base")
    session.add_all([scenario, Carrier(model_id=model.id, name="power", rate_unit="MW")])
    session.commit()
    _write_artefacts(get_settings().data_dir / "runs" / "1")
    run = Run(model_id=model.id, scenario_id=scenario.id, user_id=owner.id, status=RunStatus.succeeded,
              subset_start="2005-01-01", subset_end="2005-01-01", objective=150.0, artefact_dir="runs/1",
              artefacts={"netcdf": "model.nc", "capacity": "capacity.csv", "flows": "flows.csv",
                         "costs": "costs.csv", "techs": "techs.csv"},
              timings={"wait_s": 3.0, "read_s": 1.0, "build_s": 2.5, "solve_s": 0.5, "export_s": 0.1,
                       "total_s": 5.0})
    queued = Run(model_id=model.id, scenario_id=scenario.id, user_id=owner.id, status=RunStatus.solving)
    session.add_all([run, queued])
    session.commit()
    return {"owner": owner, "other": other, "run": run, "queued": queued}


def test_load_results(session, run_world):
    view = results.load_results(session=session, user_id=run_world["owner"].id, run_id=run_world["run"].id)
    assert view.run.scenario_name == "base" and view.run.objective == 150.0
    assert view.timings == [("Waiting for a worker", 3.0), ("Reading the model", 1.0),
                            ("Building the problem", 2.5), ("Solving", 0.5),
                            ("Total work (without waiting)", 5.0)]
    assert view.carriers == ["power", "gas"]  # the carrier that flowed most comes first
    assert view.nodes == ["r1", "r2", "r3"]
    assert view.units == {"power": "MW"}
    assert set(view.capacity["variable"]) == {"flow_cap", "storage_cap"}
    assert view.techs.set_index("tech").loc["ccgt", "color"] == "#E37A72"
    assert view.costs["value"].sum() == 150.0


def test_load_dispatch_all_nodes_keeps_only_transmission_losses(session, run_world):
    dispatch = results.load_dispatch(session=session, user_id=run_world["owner"].id, run_id=run_world["run"].id,
                                     carrier="power")
    assert dispatch.unit == "MW" and dispatch.note == ""
    per_tech = dispatch.flows.groupby(["tech", "direction"])["value"].sum().to_dict()
    assert per_tech == {("ccgt", "out"): 60.0, ("demand_power", "in"): 54.0, ("r1_to_r2", "in"): 6.0}


def test_load_dispatch_at_one_node_nets_its_lines(session, run_world):
    def per_tech(node):
        dispatch = results.load_dispatch(session=session, user_id=run_world["owner"].id,
                                         run_id=run_world["run"].id, carrier="power", node=node)
        assert sorted(dispatch.flows["timestep"].unique()) == STEPS
        return dispatch.flows.groupby(["tech", "direction"])["value"].sum().to_dict()

    # r2 imports over its line; r1 takes 3 in from r3 and sends 10 on: a net export of 7 an hour.
    assert per_tech("r2") == {("r1_to_r2", "out"): 24.0, ("demand_power", "in"): 24.0}
    assert per_tech("r1") == {("ccgt", "out"): 60.0, ("demand_power", "in"): 30.0, ("r1_to_r2", "in"): 21.0}


def test_resampled_runs_show_average_power(session, run_world):
    directory = get_settings().data_dir / "runs" / "1"
    flows = pd.read_csv(directory / "flows.csv")
    six_hourly = {step: f"2005-01-01 {6 * i:02d}:00:00" for i, step in enumerate(STEPS)}
    flows.assign(timestep=flows["timestep"].map(six_hourly)).to_csv(directory / "flows.csv", index=False)
    dispatch = results.load_dispatch(session=session, user_id=run_world["owner"].id, run_id=run_world["run"].id,
                                     carrier="power", node="r1")
    ccgt = dispatch.flows[dispatch.flows["tech"] == "ccgt"]["value"]
    assert list(ccgt) == pytest.approx([20.0 / 6] * 3)


def test_results_are_private_and_only_for_succeeded_runs(session, run_world):
    with pytest.raises(NotFound):
        results.load_results(session=session, user_id=run_world["other"].id, run_id=run_world["run"].id)
    with pytest.raises(EngageError, match="not finished yet"):
        results.load_results(session=session, user_id=run_world["owner"].id, run_id=run_world["queued"].id)


def test_missing_result_files_are_explained(session, run_world):
    (get_settings().data_dir / "runs" / "1" / "flows.csv").unlink()
    with pytest.raises(EngageError, match="missing on the server"):
        results.load_results(session=session, user_id=run_world["owner"].id, run_id=run_world["run"].id)


def test_download_links_are_signed_and_expire():
    link = downloads.artefact_link(run_id=7, name="netcdf", user_id=3, now=1000.0)
    path, query = link.split("?")
    assert path == "/api/runs/7/netcdf"
    params = dict(part.split("=") for part in query.split("&"))
    assert downloads.check_link(run_id=7, name="netcdf", now=1000.0, **params) == 3
    with pytest.raises(EngageError, match="expired"):
        downloads.check_link(run_id=7, name="netcdf", now=1000.0 + downloads.LINK_SECONDS + 1, **params)
    for tampered in ({**params, "user": "4"}, {**params, "sig": "0" * 64}):
        with pytest.raises(EngageError, match="not valid"):
            downloads.check_link(run_id=7, name="netcdf", now=1000.0, **tampered)
    with pytest.raises(EngageError, match="not valid"):
        downloads.check_link(run_id=8, name="netcdf", now=1000.0, **params)
