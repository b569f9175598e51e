"""Runs whose files live in an S3 store (moto's server over HTTP), with real rq workers: the build
and the solve job on two "machines" (the solve worker has its own data dir, so it can only get
the model through the store), and the app serving every download from the store alone."""

from __future__ import annotations

import io
import shutil
import zipfile
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from engage_reflex.api import api
from engage_reflex.models import Scenario
from engage_reflex.services import downloads, results, run_logs, runs, storage
from engage_reflex.services.models import remove_run_folders
from engage_reflex.settings import get_settings
from tests.jobs.conftest import make_user, start_worker, watch_run
from tests.s3_store import bucket_keys, moto_endpoint, s3_store  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]
DAY = dict(solver="highs", subset_start="2005-01-01", subset_end="2005-01-01", resample="")


def _download(client: TestClient, run_id: int, name: str, user_id: int):
    link = urlsplit(downloads.artefact_link(run_id=run_id, name=name, user_id=user_id))
    return client.get(f"{link.path}?{link.query}")


def _keys(s3_store, run_id: int) -> list[str]:  # noqa: F811
    prefix = f"{s3_store['prefix']}/runs/{run_id}/"
    return sorted(k[len(prefix):] for k in bucket_keys(s3_store["endpoint"], s3_store["bucket"])
                  if k.startswith(prefix))


def test_a_run_built_and_solved_on_two_machines_is_served_from_s3(db_url, session, redis_url, national,
                                                                   s3_store, tmp_path):  # noqa: F811
    model, scenario = national
    planner = make_user(session, "planner@example.org")
    data_dir = get_settings().data_dir
    view = runs.start_run(session=session, user_id=planner.id, scenario_id=scenario.id, **DAY)

    # The build job here; it leaves the read model's inputs in the store, never a pickle.
    built, _, output = watch_run(db_url, view.id, start_worker("short"))
    assert built.status == "queued" and built.message == "Model ready; waiting for a solver", (built.message,
                                                                                              output[-2000:])
    assert {"inputs.nc", "inputs.zip", "run.log"} <= set(_keys(s3_store, view.id))

    # The solve job on "another machine": its own data dir, no shared disk with the build.
    elsewhere = tmp_path / "other-machine"
    run, seen, output = watch_run(db_url, view.id, start_worker("long", ENGAGE_DATA_DIR=str(elsewhere)))
    assert run.status == "succeeded", (run.message, output[-3000:])
    assert "exporting it again" not in output  # it read the store's inputs.nc, not the scenario again
    assert run.artefact_dir == f"runs/{view.id}/results" and run.objective > 0
    stored = _keys(s3_store, view.id)
    assert {f"results/{name}" for name in run.artefacts.values()} <= set(stored), stored
    every_key = bucket_keys(s3_store["endpoint"], s3_store["bucket"])
    assert not [k for k in every_key if k.endswith((".pickle", ".pkl"))], every_key
    assert not (elsewhere / "runs" / str(view.id)).exists()  # the solve machine kept nothing behind

    # The app needs nothing of this machine's disk: the build's work folder and scratch go.
    shutil.rmtree(data_dir / "runs", ignore_errors=True)
    shutil.rmtree(data_dir / "scratch", ignore_errors=True)
    shown = runs.get_run(session=session, user_id=planner.id, run_id=view.id)
    assert shown.has_results and shown.has_inputs and shown.has_outputs
    client = TestClient(api())

    netcdf = _download(client, view.id, "netcdf", planner.id)
    assert netcdf.status_code == 200, netcdf.text
    filename = f"national-scale-example-model-run-{view.id}.nc"  # as the local store's FileResponse names it
    assert netcdf.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert netcdf.headers["cache-control"] == "private, no-store"
    assert netcdf.headers["content-type"] == "application/x-netcdf"
    assert int(netcdf.headers["content-length"]) == len(netcdf.content) > 10_000
    (tmp_path / "downloaded.nc").write_bytes(netcdf.content)
    import calliope

    solved = calliope.read_netcdf(tmp_path / "downloaded.nc")
    assert float(solved.results["min_cost_optimisation"]) == pytest.approx(run.objective, rel=1e-9)

    inputs = _download(client, view.id, "inputs", planner.id)
    assert inputs.status_code == 200 and inputs.headers["content-disposition"].endswith(f'-run-{view.id}-inputs.zip"')
    assert "model/model.yaml" in zipfile.ZipFile(io.BytesIO(inputs.content)).namelist()
    outputs = _download(client, view.id, "outputs", planner.id)
    assert outputs.status_code == 200
    assert outputs.headers["content-disposition"].endswith(f'-run-{view.id}-outputs.zip"')
    assert {"README.txt", "flow_cap.csv"} <= set(zipfile.ZipFile(io.BytesIO(outputs.content)).namelist())

    # The full log holds both machines' lines: the build's reading and the solve's HiGHS log.
    log = _download(client, view.id, run_logs.RAW_LOG_ARTEFACT, planner.id)
    assert log.status_code == 200 and log.headers["content-type"].startswith("text/plain"), log.text
    assert "backend build starting" in log.text and "HiGHS" in log.text
    assert "Model: initialising" in log.text or "preprocessing" in log.text, log.text[:2000]

    # The live log came through Redis from both machines' work folders (the app read neither):
    # the build's lines once, then the solve's HiGHS lines.
    live = run_logs.live_log(session=session, user_id=planner.id, run_id=view.id)
    assert live.text.count("Model: backend build starting") <= 1 and "HiGHS" in live.text, live.text[-2000:]
    assert live.text.count("Model: initialising") == 1 or "preprocessing" in live.text, live.text[:2000]
    assert " DEBUG " not in live.text and not live.restarted

    # The results page reads the tables from the store (through the local cache).
    page = results.load_results(session=session, user_id=planner.id, run_id=view.id)
    assert not page.capacity.empty
    assert not (data_dir / "runs").exists()

    # A run with the same inputs is answered by copying within the store; deleting the first keeps it.
    again = runs.start_run(session=session, user_id=planner.id, scenario_id=scenario.id, **DAY)
    reused, _, output = watch_run(db_url, again.id, start_worker("short", "long"))
    assert reused.status == "succeeded" and reused.reused_from_id == view.id, (reused.message, output[-2000:])
    assert reused.artefact_dir == f"runs/{again.id}/results"
    assert {f"results/{name}" for name in reused.artefacts.values()} <= set(_keys(s3_store, again.id))
    _, folders = runs.delete_run(session=session, user_id=planner.id, run_id=view.id)
    session.commit()
    remove_run_folders(folders)
    assert _keys(s3_store, view.id) == []
    copied = _download(client, again.id, "netcdf", planner.id)
    assert copied.status_code == 200 and copied.content == netcdf.content
    gone = _download(client, view.id, "netcdf", planner.id)
    assert gone.status_code == 404


def test_a_failed_run_on_s3_keeps_its_full_log(db_url, session, redis_url, national, s3_store):  # noqa: F811
    model, _ = national
    scenario = Scenario(
        model_id=model.id, name="No supply", settings={"config.build.ensure_feasibility": False},
        overrides={"config": {"build": {"ensure_feasibility": False}},
                   "techs": {"csp": {"flow_cap_max": 1}, "ccgt": {"flow_cap_max": 1}}},
    )
    session.add(scenario)
    session.commit()
    view = runs.start_run(session=session, user_id=model.owner_id, scenario_id=scenario.id, **DAY)
    run, _, output = watch_run(db_url, view.id, start_worker("short", "long"))
    assert run.status == "failed" and run.termination == "infeasible", (run.message, output[-2000:])
    assert run.artefact_dir == "" and "results/model.nc" not in _keys(s3_store, view.id)
    shutil.rmtree(get_settings().data_dir / "runs", ignore_errors=True)  # the app reads the store only

    assert run_logs.run_log_view(session=session, user_id=model.owner_id, run_id=view.id).has_raw_log
    log = _download(TestClient(api()), view.id, run_logs.RAW_LOG_ARTEFACT, model.owner_id)
    assert log.status_code == 200, log.text
    assert "backend build starting" in log.text and "infeasible" in log.text.lower()
    assert log.headers["content-disposition"].endswith(f'-run-{view.id}.log"')
    with pytest.raises(Exception, match="no .netcdf. results"):
        runs.run_artefact(session=session, user_id=model.owner_id, run_id=view.id, name="netcdf")
    assert storage.get_store().exists(f"runs/{view.id}/run.log")


def test_a_scenario_export_on_s3_downloads_and_is_swept(db_url, session, redis_url, national, s3_store):  # noqa: F811
    import time

    from engage_reflex.services import archives

    model, scenario = national
    started = archives.start_scenario_export(session=session, user_id=model.owner_id, scenario_id=scenario.id)
    worker = start_worker("short")
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output[-2000:]
    ready = archives.export_view(session=session, user_id=model.owner_id, export_id=started.export_id)
    assert ready.status == "succeeded", ready.message
    assert {f"exports/{started.export_id}.zip", f"exports/{started.export_id}.json"} <= {
        k.removeprefix(f"{s3_store['prefix']}/") for k in bucket_keys(s3_store["endpoint"], s3_store["bucket"])}
    assert not (get_settings().data_dir / "exports").exists()  # nothing of it on this machine's disk

    answer = TestClient(api()).get(archives.export_link(export_id=started.export_id, user_id=model.owner_id))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == f'attachment; filename="{started.filename}"'
    assert any(n.endswith("/model.yaml") for n in zipfile.ZipFile(io.BytesIO(answer.content)).namelist())
    assert archives.sweep_exports(now=time.time() + archives.EXPORT_KEEP_SECONDS + 60) == 2
    assert not [k for k in bucket_keys(s3_store["endpoint"], s3_store["bucket"]) if "/exports/" in k]
