"""Run options through real workers: a clustered run solves its representative days only; the solve
job records the problem's size, from which the next run is estimated before it is queued; every
succeeded run has its results as tidy CSVs in an outputs zip with a README."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from engage_reflex.services import run_estimate, runs, storage
from engage_reflex.services.errors import EngageError
from tests.jobs.conftest import make_user, start_worker, watch_run

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def test_clustered_run_solves_representative_days_and_teaches_the_estimate(db_url, session, redis_url, national):
    _, scenario = national
    planner = make_user(session, "planner@example.org")
    before = run_estimate.estimate_run(session=session, user_id=planner.id, scenario_id=scenario.id,
                                       start="2005-01-01", end="2005-01-06")
    assert before.variables is None and "known after this model's first run" in before.text

    with pytest.raises(EngageError, match="The run has 6 days, so 6 representative days would cluster nothing"):
        runs.start_run(session=session, user_id=planner.id, scenario_id=scenario.id, solver="highs",
                       subset_start="2005-01-01", subset_end="2005-01-06", resample="", cluster_days="6")
    view = runs.start_run(session=session, user_id=planner.id, scenario_id=scenario.id, solver="highs",
                          subset_start="2005-01-01", subset_end="2005-01-06", resample="", cluster_days="2")
    assert view.cluster_days == 2
    run, _, output = watch_run(db_url, view.id, start_worker("short", "long"))
    assert run.status == "succeeded", (run.message, output[-2000:])
    # Two representative days of 24 hours were solved, not six.
    assert run.size["timesteps"] == 48 and run.size["variables"] > 0 and run.size["constraints"] > 0
    store = storage.get_store()
    flows = pd.read_csv(store.fetch(runs.run_artefact(session=session, user_id=planner.id, run_id=run.id,
                                                      name="flows")))
    assert pd.to_datetime(flows["timestep"]).dt.normalize().nunique() == 2

    # The outputs zip: one tidy CSV per result, and a README naming columns and units.
    shown = runs.get_run(session=session, user_id=planner.id, run_id=run.id)
    assert shown.has_outputs
    path = store.fetch(runs.run_artefact(session=session, user_id=planner.id, run_id=run.id, name="outputs"))
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert {"README.txt", "flow_cap.csv", "flow_out.csv", "cost.csv", "storage.csv"} <= names
        readme = archive.read("README.txt").decode()
        capacity = pd.read_csv(io.BytesIO(archive.read("flow_cap.csv")))
    assert "flow_cap.csv — Technology flow (a.k.a. nominal) capacity" in readme
    assert "columns: node, tech, carrier, value" in readme and "unit of value: power" in readme
    assert list(capacity.columns) == ["node", "tech", "carrier", "value"] and capacity["value"].sum() > 0

    # The next run of the model is estimated from this one: 10 hourly days are 240 steps, five times
    # the variables per step of the 48-step run, and its time comes from that one past run.
    after = run_estimate.estimate_run(session=session, user_id=planner.id, scenario_id=scenario.id,
                                      start="2005-01-01", end="2005-01-10", solver="highs")
    assert after.timesteps == 240 and isinstance(after.timesteps, int)
    assert after.variables == pytest.approx(run.size["variables"] * 5, rel=0.01)
    assert after.seconds is not None and after.based_on == 1
    assert "Expected time:" in after.text and "from 1 past HiGHS run of similar size" in after.text
    clustered = run_estimate.estimate_run(session=session, user_id=planner.id, scenario_id=scenario.id,
                                          start="2005-01-01", end="2005-03-31", cluster_days="4", resample="6h")
    assert clustered.timesteps == 4 * 4
    cbc = run_estimate.estimate_run(session=session, user_id=planner.id, scenario_id=scenario.id,
                                    start="2005-01-01", end="2005-01-10", solver="cbc")
    assert cbc.seconds is None and "No earlier CBC run on this server" in cbc.text
