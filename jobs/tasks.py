"""RQ entry points of a run. They take ids only and record everything on the Run row.

build_run (short queue): export the scenario, read it with calliope (this is where a bad model
fails, quickly), keep the read model for the solve job, then enqueue solve_run.
solve_run (long queue): build the backend, solve, write results, record the outcome.

Files: each job works in a local folder (storage.run_work_dir: a local store's own run folder,
else data_dir/runs/<id> on the worker's disk) and puts what the app and the other job need into
the run files store (services/storage.py) under runs/<id>: the build job inputs.zip and run.log,
and, just after it enqueued the solve, the model's inputs as NetCDF (inputs.nc, which a solve job
on another machine waits for and reads); the solve job results/ (NetCDF, CSV tables, inputs.zip,
outputs.zip) and run.log, failed or not. Run.artefact_dir is the results' key prefix
("runs/<id>/results"). The only shortcut is the same-host pickle of jobs/calliope_runner.py, kept
in storage.scratch_dir, outside the store.

Each step opens its own short transactions (session_scope) and never holds one open while
calliope works. Whatever goes wrong ends on the row as `failed` with a planner message: the
jobs catch what they can, rq's on_failure/on_stopped callbacks and the worker's
work-horse-killed handler catch the rest, and the reconciler every worker runs on a schedule
(jobs/reconciler.py, services.runs.reconcile_runs) is the last safety net. All of them write
through update_active_run, so the first terminal status wins - except that a success reported
after the run was failed as "worker lost" still wins (runs.succeed_run).

Each job first claims its run (runs.claim_run: only the job the row names, only while the run is
queued), so a duplicate or stale job never runs a step twice. Timings keep queue waiting
(`build_wait_s`, `solve_wait_s`, `wait_s`) apart from the workers' time (`total_s`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from rq import get_current_job
from sqlmodel import select
from rq.timeouts import JobTimeoutException

from engage_reflex.db import session_scope
from engage_reflex.models import Run, RunStatus
from engage_reflex.services import queue as jobqueue
from engage_reflex.services import storage
from engage_reflex.services.live_log_stream import LiveLogPublisher
from engage_reflex.services.errors import EngageError
from engage_reflex.services.runs import (
    as_utc,
    claim_run,
    fail_run,
    hand_over,
    succeed_run,
    update_active_run,
    utcnow,
)
from engage_reflex.settings import get_settings
from jobs import calliope_runner, run_outputs
from jobs.calliope_runner import INPUTS_NETCDF, INPUTS_PICKLE, RAW_LOG, ModelReadError, time_limit_message

LOGGER = logging.getLogger(__name__)
MODEL_DIR = "model"  # the exported definition, runnable with `calliope run model/model.yaml`
INPUTS_ZIP = "inputs.zip"
RESULTS_DIR = "results"  # calliope_runner.solve_model writes the results here in the work folder
# How long a solve on another machine waits for the build job to store the inputs NetCDF (it is
# written just after the solve is enqueued) before it exports and reads the model again.
INPUTS_NETCDF_WAIT_S = 60.0


def _zip_inputs(directory: Path) -> None:
    """The run's definition (model.yaml, data tables, math) zipped beside it: the "inputs"
    download, which `calliope run model/model.yaml` runs unchanged."""
    from engage_reflex.services.archives import zip_folder

    if (directory / MODEL_DIR / "model.yaml").is_file():
        zip_folder(folder=directory / MODEL_DIR, target=directory / INPUTS_ZIP, top=MODEL_DIR)


def _inputs_zip(run_id: int, directory: Path, results: Path | None) -> dict[str, str]:
    """The build job's inputs.zip into the results: from this machine's work folder (linked, not
    copied), or from the store when the build ran elsewhere."""
    if results is None:
        return {}
    local, target = directory / INPUTS_ZIP, results / INPUTS_ZIP
    try:
        if local.is_file():
            try:
                os.link(local, target)
            except OSError:
                shutil.copyfile(local, target)
        else:
            shutil.copyfile(storage.get_store().fetch(_key(run_id, INPUTS_ZIP)), target)
    except FileNotFoundError:
        return {}
    except EngageError:  # the store did not answer: the run still has its results
        LOGGER.warning("could not fetch the inputs zip of run %s", run_id, exc_info=True)
        return {}
    return {"inputs": INPUTS_ZIP}


def _outputs_zip(model, results: Path | None) -> dict[str, str]:
    """Every result as a tidy CSV, zipped with a README (the "outputs" download). A failure here
    costs the planner that download only, never the solved run."""
    if results is None:
        return {}
    try:
        return {"outputs": run_outputs.write_outputs_zip(model, results)}
    except JobTimeoutException:
        raise
    except Exception:
        LOGGER.exception("could not write the outputs zip into %s", results)
        return {}


def _problem_size(model) -> dict[str, int]:
    try:
        return run_outputs.problem_size(model)
    except Exception:  # not built (e.g. failed early): nothing to learn from for estimates
        return {}


def run_dir(run_id: int) -> Path:
    return storage.run_work_dir(run_id)


def _key(run_id: int, *names: str) -> str:
    return storage.join_key(storage.run_prefix(run_id), *names)


def _restore_raw_log(run_id: int, directory: Path) -> None:
    """On a machine that did not write the run's log so far (S3 store): continue the stored one,
    so the full log holds both jobs' lines."""
    store = storage.get_store()
    if store.is_local or (directory / RAW_LOG).exists():
        return
    try:
        data = store.read_bytes(_key(run_id, RAW_LOG))
    except FileNotFoundError:
        return
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RAW_LOG).write_bytes(data)


def _store_raw_log(run_id: int, directory: Path) -> None:
    """The full log into the store (in place on a local store): "Download full log" works for
    failed runs too. A store that does not answer costs that download only."""
    path = directory / RAW_LOG
    if not path.is_file():
        return
    try:
        storage.get_store().upload(path, _key(run_id, RAW_LOG))
    except EngageError:
        LOGGER.warning("could not store the full log of run %s", run_id, exc_info=True)


def _release(run_id: int, directory: Path) -> None:
    """After the run's last job on this machine: its scratch goes, and with an S3 store its work
    folder too (everything that matters is in the store now)."""
    shutil.rmtree(storage.scratch_dir(run_id), ignore_errors=True)
    if not storage.get_store().is_local:
        shutil.rmtree(directory, ignore_errors=True)


def _update(run_id: int, **values) -> bool:
    with session_scope() as session:
        return update_active_run(session=session, run_id=run_id, **values)


def _fail(run_id: int, message: str, log: str | None = None, **extra) -> bool:
    with session_scope() as session:
        return fail_run(session=session, run_id=run_id, message=message, log=log, **extra)


def _claim(run_id: int, step: str, status: RunStatus, **values) -> dict | None:
    """Take the queued run for this job; None if it is not waiting for this job (any more).
    Returns what the job needs from the row, and how long the run waited for this job."""
    job = get_current_job()
    job_id = job.id if job is not None else jobqueue.run_job_id(run_id, step)
    worker_name = (getattr(job, "worker_name", None) if job is not None else None) or os.environ.get("RQ_WORKER_ID")
    now = utcnow()
    with session_scope() as session:
        if not claim_run(session=session, run_id=run_id, job_id=job_id, status=status, worker_name=worker_name,
                         **values):
            return None
        run = session.get(Run, run_id)
        queued_at = as_utc(run.queued_at or run.created_at)
        return {
            "model_id": run.model_id,
            "wait_s": round(max(0.0, (now - queued_at).total_seconds()), 3) if queued_at else 0.0,
            "solver": str(getattr(run.solver, "value", run.solver)),
            "timings": dict(run.timings or {}),
        }


def _job_timeout(default: int) -> int:
    job = get_current_job()
    return int(job.timeout) if job is not None and job.timeout else default


def _progress(run_id: int, percent: int, message: str) -> None:
    """A small committed update on the row (published to the pages showing the run) plus transient job.meta."""
    _update(run_id, progress=percent, message=message)
    job = get_current_job()
    if job is not None:
        try:  # for rq-dashboard only: never let Redis (restarting, say) stop a solve
            if job.connection.exists(job.key):  # not to recreate a job Redis lost as a bare hash
                job.meta.update(progress=percent, message=message)
                job.save_meta()
        except Exception as exc:
            LOGGER.warning("could not save the progress of job %s in Redis: %s", job.id, exc)


# --- build ----------------------------------------------------------------------------------

def build_run(run_id: int) -> str:
    timeout = _job_timeout(get_settings().short_job_timeout)
    t0, cpu0 = time.monotonic(), time.process_time()
    claimed = _claim(run_id, "build", RunStatus.building, progress=5, message="Preparing the model",
                     started_at=utcnow())
    if claimed is None:
        return "skipped: the run is not waiting for this job"
    timings: dict[str, float] = {"build_wait_s": claimed["wait_s"]}
    try:
        model_def = _export(run_id)
        timings["export_s"] = time.monotonic() - t0
        input_hash = _versioned_hash(model_def.input_hash())
        reused = _reuse(run_id, input_hash, t0)
        if reused:
            return reused

        directory = run_dir(run_id)
        _start_afresh(run_id, directory)
        # Its new log lines go to whoever watches the run, wherever the app runs (a fresh log).
        with LiveLogPublisher(run_id=run_id, model_id=claimed["model_id"], work_dir=directory, fresh=True):
            t = time.monotonic()
            model_def.write_directory(directory / MODEL_DIR)
            timings["write_definition_s"] = time.monotonic() - t

            _progress(run_id, 10, "Reading the model")
            t = time.monotonic()
            model = calliope_runner.read_model(model_def, directory / MODEL_DIR)
            timings["read_s"] = time.monotonic() - t
            t = time.monotonic()
            _hand_inputs_over(run_id, model, directory)
            timings["save_inputs_s"] = time.monotonic() - t
    except ModelReadError as exc:
        _build_failed(run_id)
        _fail(run_id, exc.message, log=exc.log)
        return _finish(run_id, "failed: invalid model")
    except EngageError as exc:
        _build_failed(run_id)
        _fail(run_id, exc.message)
        return _finish(run_id, "failed: export")
    except Exception as exc:
        if calliope_runner.is_timeout(exc) or time.monotonic() - t0 >= timeout:
            _build_failed(run_id)
            _fail(run_id, time_limit_message(timeout))
            return _finish(run_id, "failed: timeout")
        message = f"Preparing the model failed unexpectedly ({type(exc).__name__}: {exc})."
        # The traceback goes to the run's raw log (run.log), the planner's log gets the words.
        log = calliope_runner.record_failure(run_dir(run_id), message, exc)
        _build_failed(run_id)
        _fail(run_id, message, log=log)
        _finish(run_id, "failed")
        raise  # keep it visible in rq's failed registry too

    timings["build_job_s"] = time.monotonic() - t0
    timings["build_job_cpu_s"] = time.process_time() - cpu0
    # The run waits again, now for a solver: recorded before the enqueue, so the solve job finds
    # the run expecting it (and the reconciler puts it back if the job vanishes).
    with session_scope() as session:
        applied = hand_over(session=session, run_id=run_id, job_id=jobqueue.run_job_id(run_id, "solve"),
                            input_hash=input_hash, progress=25, message="Model ready; waiting for a solver",
                            timings={k: round(v, 3) for k, v in timings.items()})
    if not applied:
        return "skipped: cancelled while preparing"
    try:
        jobqueue.enqueue_run_step(run_id, "solve")
    except Exception:
        # The row already says "queued for its solve job": the reconciler enqueues it again once
        # Redis answers (the run is built; failing it here would throw that away).
        LOGGER.exception("could not enqueue the solve of run %s; the reconciler will", run_id)
        _store_inputs_netcdf(run_id, model, directory)
        return "queued: the reconciler enqueues the solve"
    _store_inputs_netcdf(run_id, model, directory)
    return "prepared"


def _start_afresh(run_id: int, directory: Path) -> None:
    """A run built again (e.g. put back on its queue) starts without the files of its last try."""
    shutil.rmtree(directory, ignore_errors=True)
    shutil.rmtree(storage.scratch_dir(run_id), ignore_errors=True)
    store = storage.get_store()
    if not store.is_local:  # a local store's run folder is `directory`
        store.delete_prefix(storage.run_prefix(run_id))
    directory.mkdir(parents=True)


def _hand_inputs_over(run_id: int, model, directory: Path) -> None:
    """What the solve job starts from, before it is enqueued: the inputs zip and the full log so
    far in the store (on a local store written in place), and the same-host pickle in this
    machine's scratch folder (never in the store). The inputs NetCDF follows the enqueue."""
    _zip_inputs(directory)
    store = storage.get_store()
    for name in (INPUTS_ZIP, RAW_LOG):
        if (directory / name).is_file():
            store.upload(directory / name, _key(run_id, name))
    scratch = storage.scratch_dir(run_id)
    scratch.mkdir(parents=True, exist_ok=True)
    calliope_runner.save_inputs(model, scratch / INPUTS_PICKLE)


def _store_inputs_netcdf(run_id: int, model, directory: Path) -> None:
    """The read model's inputs as NetCDF in the store, for a solve on another machine (or one that
    lost the pickle). Written after the solve is enqueued: a same-host solve never needs it, so the
    half second it takes is off the run's critical path; a solve elsewhere waits for it
    (`_stored_inputs_netcdf`). Written whole or not at all (a local store: renamed into place; S3:
    one put from a private temporary folder, since the solve may remove the run's work folder)."""
    t = time.monotonic()
    try:
        store = storage.get_store()
        if store.is_local:
            calliope_runner.save_inputs_netcdf(model, directory / INPUTS_NETCDF)
        else:
            storage.machine_scratch().mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=storage.machine_scratch()) as tmp:
                path = Path(tmp) / INPUTS_NETCDF
                calliope_runner.save_inputs_netcdf(model, path)
                store.upload(path, _key(run_id, INPUTS_NETCDF))
    except JobTimeoutException:
        raise
    except Exception:  # the solve on this machine has its pickle; one elsewhere exports again
        LOGGER.warning("could not store the inputs NetCDF of run %s", run_id, exc_info=True)
        return
    LOGGER.info("stored the inputs NetCDF of run %s in %.2f s", run_id, time.monotonic() - t)


def _build_failed(run_id: int) -> None:
    directory = run_dir(run_id)
    _store_raw_log(run_id, directory)
    _release(run_id, directory)


# --- solve ----------------------------------------------------------------------------------

def solve_run(run_id: int) -> str:
    timeout = _job_timeout(get_settings().long_job_timeout)
    t0, cpu0 = time.monotonic(), time.process_time()
    claimed = _claim(run_id, "solve", RunStatus.solving, progress=30, message="Loading the model")
    if claimed is None:
        return "skipped: the run is not waiting for this job"
    solver, build_timings, solve_wait_s = claimed["solver"], claimed["timings"], claimed["wait_s"]
    directory = run_dir(run_id)
    try:
        # The live log goes on from where the build's stopped (its last entry's file offsets).
        with LiveLogPublisher(run_id=run_id, model_id=claimed["model_id"], work_dir=directory, fresh=False):
            return _solve(run_id, directory, timeout, t0, cpu0, solver, build_timings, solve_wait_s)
    finally:
        _store_raw_log(run_id, directory)
        _release(run_id, directory)


def _solve(run_id: int, directory: Path, timeout: int, t0: float, cpu0: float, solver: str,
           build_timings: dict, solve_wait_s: float) -> str:
    log = ""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _restore_raw_log(run_id, directory)
        t = time.monotonic()
        model = _load_model(run_id, directory)
        load_s = time.monotonic() - t

        def on_progress(_phase: str, percent: int, message: str) -> None:
            _progress(run_id, percent, message)

        outcome = calliope_runner.solve_model(
            model, directory, solver=solver, time_limit_s=timeout - (time.monotonic() - t0),
            on_progress=on_progress,
        )
        log = outcome.log
    except ModelReadError as exc:
        _fail(run_id, exc.message, log=exc.log)
        return _finish(run_id, "failed: invalid model")
    except EngageError as exc:
        _fail(run_id, exc.message)
        return _finish(run_id, "failed: export")
    except Exception as exc:
        # calliope's log up to the interruption (see calliope_runner.solve_model).
        log = getattr(exc, "calliope_log", log)
        if calliope_runner.is_timeout(exc) or time.monotonic() - t0 >= timeout - 1:
            _fail(run_id, time_limit_message(timeout), log=log)
            return _finish(run_id, "failed: timeout")
        message = f"The run failed unexpectedly ({type(exc).__name__}: {exc})."
        # solve_model already put the traceback in the raw log (run.log) when it set calliope_log.
        _fail(run_id, message, log=log if hasattr(exc, "calliope_log") else
              calliope_runner.record_failure(directory, message, exc, info=log))
        _finish(run_id, "failed")
        raise

    timings = {**build_timings, "load_s": round(load_s, 3), **outcome.timings,
               "solve_job_s": round(time.monotonic() - t0, 3),
               "solve_job_cpu_s": round(time.process_time() - cpu0, 3)}
    size = _problem_size(model)
    if not outcome.ok:
        message = outcome.message
        if "time limit" in outcome.termination:  # HiGHS stopped itself on the job's budget
            message = time_limit_message(timeout)
        _fail(run_id, message, log=outcome.log, termination=outcome.termination, timings=timings, size=size)
        return _finish(run_id, f"failed: {outcome.termination}")

    finished = utcnow()
    # The workers' time (building + solving), apart from the time the run waited for them.
    work = float(build_timings.get("build_job_s", 0.0)) + timings["solve_job_s"]
    wait = float(build_timings.get("build_wait_s", 0.0)) + solve_wait_s
    timings.update(solve_wait_s=solve_wait_s, wait_s=round(wait, 3), total_s=round(work, 3))
    message = f"{solved_message(work, wait, outcome.objective)} {outcome.note}".strip()
    artefacts = {**outcome.artefacts, **_inputs_zip(run_id, directory, outcome.results_dir),
                 **_outputs_zip(model, outcome.results_dir)}
    results_key = _key(run_id, RESULTS_DIR)
    try:
        storage.get_store().upload(outcome.results_dir, results_key)
    except EngageError as exc:  # the store did not answer: the results cannot be kept
        _fail(run_id, exc.message, log=outcome.log, termination=outcome.termination, timings=timings, size=size)
        return _finish(run_id, "failed: store")
    with session_scope() as session:
        applied = succeed_run(session=session, run_id=run_id, progress=100, message=message, size=size,
                              termination=outcome.termination, objective=outcome.objective, timings=timings,
                              log=outcome.log, artefact_dir=results_key, artefacts=artefacts, finished_at=finished)
    return _finish(run_id, "succeeded" if applied else "skipped: the run was cancelled meanwhile")


def solved_message(work_s: float, wait_s: float, objective: float | None) -> str:
    """"Solved in 0.5 s (waited 20 s for a worker; objective 3.4e+04)." - the time counted is the
    workers' (building and solving); waiting on the queues is said apart."""
    details = []
    if wait_s >= 0.5:
        details.append(f"waited {wait_s:.0f} s for a worker" if wait_s >= 2 else f"waited {wait_s:.1f} s for a worker")
    if objective is not None:
        details.append(f"objective {objective:.7g}")
    return f"Solved in {work_s:.1f} s" + (f" ({'; '.join(details)})." if details else ".")


def _versioned_hash(definition_hash: str) -> str:
    """The run's inputs (definition, data, run options, solver) and the Calliope that solves them."""
    import hashlib

    import calliope

    return hashlib.sha256(f"calliope {calliope.__version__}\0{definition_hash}".encode()).hexdigest()


def _reuse(run_id: int, input_hash: str, t0: float) -> str | None:
    """Answer the run from a succeeded run of the same model with the same inputs, unless the
    planner asked to solve again: its results are copied (each run owns its files). None: solve."""
    with session_scope() as session:
        run = session.get(Run, run_id)
        if run is None or run.solve_again:
            return None
        source = session.exec(select(Run).where(
            Run.model_id == run.model_id, Run.input_hash == input_hash, Run.id != run_id,
            Run.status == RunStatus.succeeded.value, Run.artefact_dir != "").order_by(Run.id.desc())).first()
        if source is None:
            return None
        source_id, objective, termination = source.id, source.objective, source.termination
        artefacts, artefact_dir, log = dict(source.artefacts or {}), source.artefact_dir, source.log
    store, target = storage.get_store(), _key(run_id, RESULTS_DIR)
    store.delete_prefix(target)
    try:  # within the store (server-side on S3): each run owns its files
        copied = store.copy_prefix(storage.confine_key(artefact_dir), target)
    except EngageError:
        LOGGER.warning("could not reuse the results of run %s for run %s", source_id, run_id, exc_info=True)
        copied = []
    if not copied:  # its files are gone (or out of reach): solve instead
        return None
    seconds = round(time.monotonic() - t0, 3)
    message = (f"Reused the results of run #{source_id}: same inputs, solver and Calliope version "
               f"(answered in {seconds:.1f} s; objective {objective:.7g}).")
    with session_scope() as session:
        applied = succeed_run(session=session, run_id=run_id, progress=100, message=message, termination=termination,
                              objective=objective, input_hash=input_hash, reused_from_id=source_id,
                              timings={"total_s": seconds, "reused_from": source_id}, log=log,
                              artefact_dir=target, artefacts=artefacts, finished_at=utcnow())
    if not applied:
        store.delete_prefix(target)
        return "skipped: cancelled while preparing"
    return _finish(run_id, f"succeeded: reused run {source_id}")


def _load_model(run_id: int, directory: Path):
    """The model the build job read: its pickle when the build ran on this machine (scratch,
    never the store), else the inputs NetCDF from the store; if neither loads (e.g. written by
    another version during an upgrade), export and read the scenario again."""
    pickled = storage.scratch_dir(run_id) / INPUTS_PICKLE
    if pickled.is_file():
        try:
            return calliope_runner.load_inputs(pickled)
        except JobTimeoutException:
            raise
        except Exception:
            LOGGER.warning("could not load %s; reading the inputs NetCDF of run %s", pickled, run_id, exc_info=True)
    try:
        return calliope_runner.load_inputs_netcdf(_stored_inputs_netcdf(run_id, directory))
    except JobTimeoutException:
        raise
    except Exception:
        LOGGER.warning("could not read the inputs NetCDF of run %s; exporting it again", run_id, exc_info=True)
    return calliope_runner.read_model(_export(run_id), directory / MODEL_DIR)


def _stored_inputs_netcdf(run_id: int, directory: Path, wait_s: float = INPUTS_NETCDF_WAIT_S) -> Path:
    """The inputs NetCDF: in the work folder (a local store), or fetched from the store. The build
    job writes it just after enqueueing this job, so a solve that starts at once on another
    machine waits for it a little; FileNotFoundError after `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        local = directory / INPUTS_NETCDF
        if local.is_file():
            return local
        try:
            return storage.get_store().fetch(_key(run_id, INPUTS_NETCDF))
        except FileNotFoundError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.25)


def _export(run_id: int):
    from engage_reflex.services import calliope_io

    with session_scope() as session:
        run = session.get(Run, run_id)
        subset = (run.subset_start, run.subset_end) if run.subset_start and run.subset_end else None
        return calliope_io.export_scenario(
            session=session, scenario_id=run.scenario_id, subset=subset, resample=run.resample,
            solver=str(getattr(run.solver, "value", run.solver)), cluster_days=run.cluster_days,
        )


def _finish(run_id: int, result: str) -> str:
    from jobs import alerts

    alerts.run_finished(run_id)
    return result


# --- rq callbacks ---------------------------------------------------------------------------

def _run_id_of(job) -> int | None:
    parsed = jobqueue.parse_run_job_id(job.id)
    return parsed[0] if parsed else None


def on_job_failure(job, connection, exc_type, exc_value, tb) -> None:
    """rq on_failure: an exception escaped the job (or rq found it abandoned)."""
    run_id = _run_id_of(job)
    if run_id is None:
        return
    name = getattr(exc_type, "__name__", str(exc_type))
    if name == "JobTimeoutException":
        message = time_limit_message(job.timeout)
    elif name == "AbandonedJobError":
        message = ("The worker running this job stopped without reporting back (it may have been "
                   "restarted or run out of memory). Please start the run again.")
    else:
        message = f"The run failed unexpectedly ({name}: {exc_value})."
    # The traceback goes to the run's raw log (run.log), the planner's log gets the words.
    log = None
    try:  # the log's files must never keep the failure off the row
        directory = run_dir(run_id)
        _restore_raw_log(run_id, directory)
        log = calliope_runner.record_failure(directory, message, exc_value) if exc_value is not None else None
        _store_raw_log(run_id, directory)
        _release(run_id, directory)
    except Exception:
        LOGGER.warning("could not keep the full log of run %s", run_id, exc_info=True)
        log = calliope_runner.planner_log(message) if log is None and exc_value is not None else log
    if _fail(run_id, message, log=log):
        _finish(run_id, "failed")


def on_job_stopped(job, connection) -> None:
    """rq on_stopped: someone sent a stop command (cancel_run records the cancel first)."""
    run_id = _run_id_of(job)
    if run_id is not None:
        _update(run_id, status=RunStatus.cancelled, message="The run was stopped.", finished_at=utcnow(),
                artefacts={}, artefact_dir="")


def on_work_horse_killed(job, retpid, ret_val, rusage) -> None:
    """Worker hook (runs in the worker, not the horse): the process running the job died."""
    run_id = _run_id_of(job)
    if run_id is None:
        return
    started = job.started_at
    ran_s = (utcnow() - as_utc(started)).total_seconds() if started else 0.0
    if job.timeout and job.timeout > 0 and ran_s >= job.timeout:
        message = time_limit_message(job.timeout)
    else:
        message = ("The process solving this run stopped unexpectedly: the worker may have been restarted, "
                   "or the run needed more memory than the server has. Start it again; if it fails again, "
                   "try a shorter date range or a coarser resolution, or tell the administrator.")
    try:  # the dead horse's files are on this machine: keep its log (never at the cost of the row)
        directory = run_dir(run_id)
        _store_raw_log(run_id, directory)
        _release(run_id, directory)
    except Exception:
        LOGGER.warning("could not keep the full log of run %s", run_id, exc_info=True)
    if _fail(run_id, message, log=f"work horse ended: waitpid status {ret_val}"):
        _finish(run_id, "failed")
