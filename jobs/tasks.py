"""RQ entry points of a run. They take ids only and record everything on the Run row.

build_run (short queue): export the scenario, read it with calliope (this is where a bad model
fails, quickly), keep the read model for the solve job, then enqueue solve_run.
solve_run (long queue): build the backend, solve, write results, record the outcome.

Each step opens its own short transactions (session_scope) and never holds one open while
calliope works. Whatever goes wrong ends on the row as `failed` with a planner message: the
jobs catch what they can, rq's on_failure/on_stopped callbacks and the worker's
work-horse-killed handler catch the rest, and services.runs.reconcile_stale_runs is the last
safety net. All of them write through update_active_run, so the first terminal status wins.
"""

from __future__ import annotations

import logging
import shutil
import time
import traceback
from pathlib import Path

from rq import get_current_job
from rq.timeouts import JobTimeoutException

from engage_reflex.db import session_scope
from engage_reflex.models import Run, RunStatus
from engage_reflex.services import queue as jobqueue
from engage_reflex.services.errors import EngageError
from engage_reflex.services.runs import QUEUE_DOWN_MESSAGE, as_utc, fail_run, update_active_run, utcnow
from engage_reflex.settings import get_settings
from jobs import calliope_runner
from jobs.calliope_runner import INPUTS_PICKLE, ModelReadError, time_limit_message

LOGGER = logging.getLogger(__name__)
MODEL_DIR = "model"  # the exported definition, runnable with `calliope run model/model.yaml`


def run_dir(run_id: int) -> Path:
    return get_settings().runs_dir / str(run_id)


def _update(run_id: int, **values) -> bool:
    with session_scope() as session:
        return update_active_run(session=session, run_id=run_id, **values)


def _fail(run_id: int, message: str, log: str | None = None, **extra) -> bool:
    with session_scope() as session:
        return fail_run(session=session, run_id=run_id, message=message, log=log, **extra)


def _job_timeout(default: int) -> int:
    job = get_current_job()
    return int(job.timeout) if job is not None and job.timeout else default


def _progress(run_id: int, percent: int, message: str) -> None:
    """A small committed update on the row (the UI polls it) plus transient job.meta."""
    _update(run_id, progress=percent, message=message)
    job = get_current_job()
    if job is not None:
        job.meta.update(progress=percent, message=message)
        job.save_meta()


# --- build ----------------------------------------------------------------------------------

def build_run(run_id: int) -> str:
    timeout = _job_timeout(get_settings().short_job_timeout)
    t0, cpu0 = time.monotonic(), time.process_time()
    if not _update(run_id, status=RunStatus.building, progress=5, message="Preparing the model",
                   started_at=utcnow()):
        return "skipped: the run is no longer active"
    timings: dict[str, float] = {}
    try:
        model_def = _export(run_id)
        timings["export_s"] = time.monotonic() - t0
        input_hash = model_def.input_hash()

        directory = run_dir(run_id)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        t = time.monotonic()
        model_def.write_directory(directory / MODEL_DIR)
        timings["write_definition_s"] = time.monotonic() - t

        _progress(run_id, 10, "Reading the model")
        t = time.monotonic()
        model = calliope_runner.read_model(model_def, directory / MODEL_DIR)
        timings["read_s"] = time.monotonic() - t
        calliope_runner.save_inputs(model, directory / INPUTS_PICKLE)
    except ModelReadError as exc:
        _fail(run_id, exc.message, log=exc.log)
        return "failed: invalid model"
    except EngageError as exc:
        _fail(run_id, exc.message)
        return "failed: export"
    except Exception as exc:
        if isinstance(exc, JobTimeoutException) or time.monotonic() - t0 >= timeout:
            _fail(run_id, time_limit_message(timeout))
            return "failed: timeout"
        _fail(run_id, f"Preparing the model failed unexpectedly ({type(exc).__name__}: {exc}).",
              log=traceback.format_exc())
        raise  # keep it visible in rq's failed registry too

    timings["build_job_s"] = time.monotonic() - t0
    timings["build_job_cpu_s"] = time.process_time() - cpu0
    applied = _update(run_id, input_hash=input_hash, progress=25, message="Model ready; waiting for a solver",
                      timings={k: round(v, 3) for k, v in timings.items()})
    if not applied:
        return "skipped: cancelled while preparing"
    try:
        job = jobqueue.enqueue_run_step(run_id, "solve")
    except Exception:
        LOGGER.exception("could not enqueue the solve of run %s", run_id)
        _fail(run_id, QUEUE_DOWN_MESSAGE)
        return "failed: queue"
    # After the enqueue: reconcile_stale_runs follows a finished build job to its solve job.
    _update(run_id, rq_job_id=job.id)
    return "prepared"


# --- solve ----------------------------------------------------------------------------------

def solve_run(run_id: int) -> str:
    timeout = _job_timeout(get_settings().long_job_timeout)
    t0, cpu0 = time.monotonic(), time.process_time()
    if not _update(run_id, status=RunStatus.solving, progress=30, message="Loading the model"):
        return "skipped: the run is no longer active"
    with session_scope() as session:
        run = session.get(Run, run_id)
        solver = str(getattr(run.solver, "value", run.solver))
        build_timings = dict(run.timings or {})
        started_at = run.started_at
    directory = run_dir(run_id)
    log = ""
    try:
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
        if isinstance(exc, JobTimeoutException) or time.monotonic() - t0 >= timeout - 1:
            _fail(run_id, time_limit_message(timeout), log=log)
            return _finish(run_id, "failed: timeout")
        _fail(run_id, f"The run failed unexpectedly ({type(exc).__name__}: {exc}).",
              log=log + "\n" + traceback.format_exc())
        _finish(run_id, "failed")
        raise

    timings = {**build_timings, "load_s": round(load_s, 3), **outcome.timings,
               "solve_job_s": round(time.monotonic() - t0, 3),
               "solve_job_cpu_s": round(time.process_time() - cpu0, 3)}
    if not outcome.ok:
        message = outcome.message
        if "time limit" in outcome.termination:  # HiGHS stopped itself on the job's budget
            message = time_limit_message(timeout)
        _fail(run_id, message, log=outcome.log, termination=outcome.termination, timings=timings)
        return _finish(run_id, f"failed: {outcome.termination}")

    finished = utcnow()
    total = (finished - as_utc(started_at)).total_seconds() if started_at else timings["solve_job_s"]
    timings["total_s"] = round(total, 3)
    objective = outcome.objective
    message = f"Solved in {total:.1f} s" + (f" (objective {objective:.7g})." if objective is not None else ".")
    _update(run_id, status=RunStatus.succeeded, progress=100, message=message, termination=outcome.termination,
            objective=objective, timings=timings, log=outcome.log, artefact_dir=_relative_to_data_dir(outcome.results_dir),
            artefacts=outcome.artefacts, finished_at=finished)
    return _finish(run_id, "succeeded")


def _relative_to_data_dir(path: Path) -> str:
    """Stored relative, so the data dir can move (or be mounted elsewhere on another machine)."""
    try:
        return str(Path(path).resolve().relative_to(get_settings().data_dir.resolve()))
    except ValueError:
        return str(path)


def _load_model(run_id: int, directory: Path):
    """The model the build job read; if its pickle will not load (missing, or written by another
    version during an upgrade), export and read the scenario again."""
    try:
        return calliope_runner.load_inputs(directory / INPUTS_PICKLE)
    except JobTimeoutException:
        raise
    except Exception:
        LOGGER.warning("could not load %s; exporting run %s again", directory / INPUTS_PICKLE, run_id,
                       exc_info=True)
    return calliope_runner.read_model(_export(run_id), directory / MODEL_DIR)


def _export(run_id: int):
    from engage_reflex.services import calliope_io

    with session_scope() as session:
        run = session.get(Run, run_id)
        subset = (run.subset_start, run.subset_end) if run.subset_start and run.subset_end else None
        return calliope_io.export_scenario(
            session=session, scenario_id=run.scenario_id, subset=subset, resample=run.resample,
            solver=str(getattr(run.solver, "value", run.solver)),
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
    log = "".join(traceback.format_exception(exc_type, exc_value, tb)) if exc_value is not None else None
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
    if _fail(run_id, message, log=f"work horse ended: waitpid status {ret_val}"):
        _finish(run_id, "failed")
