"""Whole runs through a real `python -m jobs.worker` process (forking rq Worker), Redis and the DB.

Each solve of national_scale costs 6-10 s, so each test runs on both databases but only the
checks that need a solve do one.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest
from sqlmodel import Session

from engage_reflex import db
from engage_reflex.models import Scenario
from engage_reflex.services import runs, storage
from tests.jobs.conftest import make_user, start_worker, watch_run

pytestmark = pytest.mark.slow


def test_national_scale_two_days_with_highs_succeeds(db_url, session, redis_url, national, tmp_path):
    model, scenario = national
    planner = make_user(session, "planner@example.org")
    view = runs.start_run(session=session, user_id=planner.id, scenario_id=scenario.id, solver="highs",
                          subset_start="2005-01-01", subset_end="2005-01-02", resample="")
    time.sleep(3)  # no worker yet: the run waits on the queue
    run, seen, output = watch_run(db_url, view.id, start_worker("short", "long"))

    assert run.status == "succeeded", (run.message, output[-3000:])
    assert seen[0] in ("queued", "building") and "solving" in seen and seen[-1] == "succeeded", seen
    assert run.objective and run.objective > 0 and run.termination == "optimal" and run.progress == 100
    assert run.started_at and run.finished_at and run.input_hash
    for key in ("export_s", "read_s", "load_s", "build_s", "solve_s", "write_s", "total_s", "wait_s",
                "build_wait_s", "solve_wait_s"):
        assert run.timings[key] >= 0, (key, run.timings)
    # "Solved in" counts the workers' time only; the time spent waiting for one is said apart.
    timings = run.timings
    assert timings["wait_s"] >= 3 and timings["build_wait_s"] >= 3, timings
    assert timings["total_s"] == pytest.approx(timings["build_job_s"] + timings["solve_job_s"], abs=0.01)
    elapsed = (runs.as_utc(run.finished_at) - runs.as_utc(run.created_at)).total_seconds()
    assert timings["total_s"] + timings["wait_s"] == pytest.approx(elapsed, abs=1.0), (timings, elapsed)
    assert run.message == (f"Solved in {timings['total_s']:.1f} s (waited {timings['wait_s']:.0f} s for a worker; "
                           f"objective {run.objective:.7g})."), run.message
    assert "calliope" in run.log  # calliope's own log lines were captured

    # A key prefix of the run files store (here the default, data_dir): the data dir may move.
    assert run.artefact_dir == runs.results_dir(run) == f"runs/{run.id}/results"
    results = storage.get_store().local_path(runs.results_dir(run))
    assert {"netcdf", "capacity", "flows", "costs", "techs", "inputs", "outputs"} <= set(run.artefacts)
    for name in run.artefacts.values():
        assert (results / name).stat().st_size > 0
    capacity = pd.read_csv(results / "capacity.csv")
    assert list(capacity.columns) == ["node", "tech", "carrier", "variable", "value"]
    assert set(capacity["variable"]) == {"flow_cap", "storage_cap"} and capacity["value"].notna().all()
    flows = pd.read_csv(results / "flows.csv", parse_dates=["timestep"])
    assert list(flows.columns) == ["timestep", "node", "tech", "carrier", "direction", "value"]
    assert set(flows["direction"]) == {"in", "out"} and (flows["value"] > 0).all()
    assert flows["timestep"].min() == pd.Timestamp("2005-01-01")
    assert flows["timestep"].max() == pd.Timestamp("2005-01-02 23:00")
    costs = pd.read_csv(results / "costs.csv")
    assert list(costs.columns) == ["node", "tech", "cost_class", "value"] and (costs["cost_class"] == "monetary").all()
    techs = pd.read_csv(results / "techs.csv", keep_default_na=False)
    assert {"ccgt", "csp", "battery", "demand_power", "region1_to_region2"} <= set(techs["tech"])
    assert techs.set_index("tech").loc["region1_to_region2", "base_tech"] == "transmission"
    assert techs["color"].str.startswith("#").all()

    # What the UI gets.
    shown = runs.get_run(session=session, user_id=planner.id, run_id=view.id)
    assert shown.status == "succeeded" and shown.has_results and shown.duration_s and shown.finished_at
    netcdf = runs.run_artefact(session=session, user_id=planner.id, run_id=view.id, name="netcdf")
    assert netcdf == f"runs/{run.id}/results/model.nc" and (results / "model.nc").is_file()
    # No pickle in the store: the build job handed the solve job the inputs as NetCDF.
    work = storage.get_store().local_path(f"runs/{run.id}")
    assert (work / "inputs.nc").is_file() and not list(work.rglob("*.pickle"))
    assert not storage.scratch_dir(run.id).exists()  # the same-host pickle went with the run

    # The inputs download: `calliope run` on the unzipped folder solves to the run's objective.
    assert shown.has_inputs
    inputs = storage.get_store().fetch(runs.run_artefact(session=session, user_id=planner.id, run_id=view.id,
                                                         name="inputs"))
    import zipfile

    import calliope

    with zipfile.ZipFile(inputs) as zf:
        assert "model/model.yaml" in zf.namelist()
        zf.extractall(tmp_path / "inputs")  # our own run's files, in a test
    bare = calliope.read_yaml(tmp_path / "inputs" / "model" / "model.yaml")
    bare.build()
    bare.solve()
    assert float(bare.results["min_cost_optimisation"].values) == pytest.approx(run.objective, rel=1e-6)


def test_an_infeasible_scenario_fails_with_a_planner_message(db_url, session, redis_url, national):
    model, _ = national
    # What a planner does in the scenario editor: no unmet-demand slack, and almost no supply.
    scenario = Scenario(
        model_id=model.id, name="No supply",
        settings={"config.build.ensure_feasibility": False},
        overrides={
            "config": {"build": {"ensure_feasibility": False}},
            "nodes": {"region1": {"techs": {"ccgt": {"flow_cap_max": 1}}}},
            "techs": {"csp": {"flow_cap_max": 1}, "ccgt": {"flow_cap_max": 1}},
        },
    )
    session.add(scenario)
    session.commit()
    view = runs.start_run(session=session, user_id=model.owner_id, scenario_id=scenario.id, solver="highs",
                          subset_start="2005-01-01", subset_end="2005-01-01", resample="")
    run, seen, output = watch_run(db_url, view.id, start_worker("short", "long"))

    assert run.status == "failed", (run.message, output[-3000:])
    assert run.message.startswith("The model is infeasible: no dispatch can meet demand")
    assert "ensure_feasibility" in run.message and run.termination == "infeasible"
    assert run.artefacts == {} and run.artefact_dir == "" and run.objective is None
    assert run.log and run.finished_at and "solving" in seen


def test_a_run_over_its_time_limit_fails_and_is_not_left_solving(db_url, session, redis_url, national, monkeypatch):
    model, scenario = national
    # The solve job's budget: 2 s, less than building national_scale's problem takes.
    monkeypatch.setenv("ENGAGE_LONG_JOB_TIMEOUT", "2")
    view = runs.start_run(session=session, user_id=model.owner_id, scenario_id=scenario.id, solver="highs",
                          subset_start="2005-01-01", subset_end="2005-01-03", resample="")
    run, seen, output = watch_run(db_url, view.id, start_worker("short", "long"))

    assert run.status == "failed", (run.message, output[-3000:])
    assert run.message.startswith("The run exceeded its time limit of 2 seconds"), run.message
    assert "solving" in seen and run.finished_at and run.artefacts == {}
    assert "backend build starting" in run.log  # calliope's log up to the interruption is kept
    with Session(db.get_engine(db_url)) as s:
        assert runs.reconcile_stale_runs(session=s) == 0


def _wait_for_status(db_url: str, run_id: int, status: str, proc, timeout: float = 60) -> None:
    import time

    from engage_reflex.models import Run, RunStatus

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with Session(db.get_engine(db_url)) as s:
            if RunStatus(s.get(Run, run_id).status) == RunStatus(status):
                return
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {status}")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_killed_work_horse_fails_the_run(db_url, session, redis_url, national):
    import psutil

    model, scenario = national
    view = runs.start_run(session=session, user_id=model.owner_id, scenario_id=scenario.id, solver="highs",
                          subset_start="2005-01-01", subset_end="2005-01-02", resample="")
    proc = start_worker("short", "long")
    _wait_for_status(db_url, view.id, "solving", proc)
    for horse in psutil.Process(proc.pid).children():  # what the OOM killer would do
        horse.kill()
    run, seen, output = watch_run(db_url, view.id, proc)
    assert run.status == "failed", (seen, output[-3000:])
    assert run.message.startswith("The process solving this run stopped unexpectedly"), run.message
    assert run.artefacts == {} and run.finished_at


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cancel_a_running_run_stops_its_work_horse(db_url, session, redis_url, national):
    from engage_reflex.services import queue as jobqueue

    model, scenario = national
    view = runs.start_run(session=session, user_id=model.owner_id, scenario_id=scenario.id, solver="highs",
                          subset_start="2005-01-01", subset_end="2005-01-02", resample="")
    proc = start_worker("short", "long")
    _wait_for_status(db_url, view.id, "solving", proc)
    cancelled = runs.cancel_run(session=session, user_id=model.owner_id, run_id=view.id)
    assert cancelled.status == "cancelled" and cancelled.message == "Cancelled while running."
    run, seen, output = watch_run(db_url, view.id, proc)
    assert run.status == "cancelled", (seen, output[-3000:])
    assert jobqueue.job_status(jobqueue.run_job_id(view.id, "solve")) == "stopped", output[-3000:]
    assert run.artefacts == {}
