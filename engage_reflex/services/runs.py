"""Runs: start one (validate, record, enqueue), list and read them, reconcile dead jobs, cancel.

The Run row is the source of truth for a run's status; the worker writes it (jobs/tasks.py),
the UI polls it. Every change to a run that may race with the worker goes through
`update_active_run`, a conditional UPDATE that only touches a run still queued, building or
solving, so a late writer can never turn a finished run back into a running one.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import Session, select

from engage_reflex.models import EnergyModel, Run, RunStatus, Scenario, Solver, Timeseries
from engage_reflex.schemas import RunView
from engage_reflex.services import queue as jobqueue
from engage_reflex.services.access import can_edit, require_view
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.settings import get_settings

LOGGER = logging.getLogger(__name__)

ACTIVE_STATUSES = (RunStatus.queued, RunStatus.building, RunStatus.solving)
_ACTIVE_VALUES = [s.value for s in ACTIVE_STATUSES]
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RESAMPLE = re.compile(r"^([1-9]\d{0,2})\s*([hHdD])$")
QUEUE_DOWN_MESSAGE = (
    "The job queue is not reachable, so the run could not start. Please try again in a minute; "
    "if it keeps failing, tell the administrator (the Redis service may be down)."
)
# A run whose enqueue has not been recorded yet is left alone for this long (start_run is
# between its commit and the enqueue, or is about to mark it failed itself).
_ENQUEUE_GRACE = timedelta(seconds=60)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    # SQLite hands timezone-aware columns back without a zone; we only ever store UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- writing a run --------------------------------------------------------------------------

def update_active_run(*, session: Session, run_id: int, **values) -> bool:
    """Set columns of a run only while it is queued/building/solving; commit. True if applied."""
    for key in ("status", "solver"):
        if key in values and hasattr(values[key], "value"):
            values[key] = values[key].value
    stmt = update(Run).where(Run.id == run_id, Run.status.in_(_ACTIVE_VALUES)).values(**values)
    # No in-session bookkeeping: callers that hold the row refresh it.
    result = session.exec(stmt.execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount > 0


def fail_run(*, session: Session, run_id: int, message: str, log: str | None = None, **extra) -> bool:
    """Mark an active run failed. A failed run never points at artefacts."""
    values = dict(status=RunStatus.failed, message=message, finished_at=utcnow(), artefacts={},
                  artefact_dir="", **extra)
    if log is not None:
        values["log"] = log
    return update_active_run(session=session, run_id=run_id, **values)


# --- validation -----------------------------------------------------------------------------

def _parse_solver(solver) -> Solver:
    value = str(getattr(solver, "value", solver) or "").strip().lower()
    try:
        return Solver(value)
    except ValueError:
        choices = ", ".join(s.value for s in Solver)
        raise EngageError(f"Unknown solver “{solver}”. Choose one of: {choices}.") from None


def _parse_date(text: str, label: str) -> date:
    if not _ISO_DATE.match(text):
        raise EngageError(f"The {label} date “{text}” is not a date like 2005-01-31 (YYYY-MM-DD).")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise EngageError(f"The {label} date “{text}” does not exist in the calendar.") from None


def _parse_resample(resample: str | None) -> str | None:
    text = (resample or "").strip()
    if not text:
        return None
    m = _RESAMPLE.match(text)
    if not m:
        raise EngageError(
            f"“{text}” is not a time resolution. Use a number of hours or days such as 1h, 3h, 6h "
            "or 1D, or leave it empty to keep the model's own resolution."
        )
    # pandas 3 only accepts lower-case "h" and upper-case "D".
    return f"{int(m[1])}{'h' if m[2] in 'hH' else 'D'}"


def model_time_span(*, session: Session, model_id: int) -> tuple[date, date] | None:
    """First and last day covered by the model's timeseries (None if it has none)."""
    start, end = session.exec(
        select(func.min(Timeseries.start), func.max(Timeseries.end)).where(Timeseries.model_id == model_id)
    ).one()
    if start is None or end is None:
        return None
    return start.date(), end.date()


def _validate_period(session: Session, model_id: int, subset_start: str | None,
                     subset_end: str | None) -> tuple[str | None, str | None]:
    start_text, end_text = (subset_start or "").strip(), (subset_end or "").strip()
    if not start_text and not end_text:
        return None, None  # the model's own period (config.init.subset), as exported
    if not start_text or not end_text:
        raise EngageError("Give both a start and an end date, or leave both empty to use the model's own period.")
    start, end = _parse_date(start_text, "start"), _parse_date(end_text, "end")
    if start > end:
        raise EngageError(f"The start date {start} is after the end date {end}.")
    span = model_time_span(session=session, model_id=model_id)
    if span and (start < span[0] or end > span[1]):
        raise EngageError(
            f"The model's timeseries cover {span[0]} to {span[1]}; choose dates inside that span "
            f"(you chose {start} to {end})."
        )
    return start.isoformat(), end.isoformat()


# --- starting a run -------------------------------------------------------------------------

def start_run(*, session: Session, user_id: int, scenario_id: int, solver, subset_start: str | None,
              subset_end: str | None, resample: str | None) -> RunView:
    """Validate, record a queued run, and hand it to the `short` queue.

    Raises EngageError for bad input. If Redis cannot take the job, the run is recorded as
    failed with QUEUE_DOWN_MESSAGE and that message is raised too (the UI shows a toast).
    """
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFound(f"There is no scenario with id {scenario_id}.")
    require_view(session=session, user_id=user_id, model_id=scenario.model_id)
    chosen_solver = _parse_solver(solver)
    start, end = _validate_period(session, scenario.model_id, subset_start, subset_end)
    chosen_resample = _parse_resample(resample)

    run = Run(model_id=scenario.model_id, scenario_id=scenario.id, user_id=user_id, solver=chosen_solver,
              subset_start=start, subset_end=end, resample=chosen_resample, status=RunStatus.queued,
              progress=0, message="Waiting for a worker")
    session.add(run)
    session.commit()
    run_id = run.id
    assert run_id is not None
    try:
        job = jobqueue.enqueue_run_step(run_id, "build")
    except Exception:  # redis.ConnectionError, TimeoutError, auth errors, ...
        LOGGER.exception("could not enqueue run %s", run_id)
        fail_run(session=session, run_id=run_id, message=QUEUE_DOWN_MESSAGE)
        raise EngageError(QUEUE_DOWN_MESSAGE) from None
    update_active_run(session=session, run_id=run_id, rq_job_id=job.id)
    session.refresh(run)
    return _view(session, run)


# --- reading runs ---------------------------------------------------------------------------

def _may_see(session: Session, user_id: int | None, run: Run, model: EnergyModel) -> bool:
    """A run is visible to whoever started it and to the model's editors."""
    return run.user_id == user_id or can_edit(session=session, user_id=user_id, model=model)


def _get_visible_run(session: Session, user_id: int | None, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"There is no run with id {run_id}.")
    try:
        model = require_view(session=session, user_id=user_id, model_id=run.model_id)
    except NotFound:
        raise NotFound(f"There is no run with id {run_id}.") from None
    if not _may_see(session, user_id, run, model):
        raise NotFound(f"There is no run with id {run_id}.")
    return run


def list_runs(*, session: Session, user_id: int, model_id: int) -> list[RunView]:
    """The runs of a model this user may see, newest first (stale ones reconciled first)."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    stmt = select(Run).where(Run.model_id == model_id)
    if not can_edit(session=session, user_id=user_id, model=model):
        stmt = stmt.where(Run.user_id == user_id)
    runs = session.exec(stmt.order_by(Run.created_at.desc(), Run.id.desc())).all()
    active = [r.id for r in runs if RunStatus(r.status) in ACTIVE_STATUSES]
    if active and reconcile_stale_runs(session=session, run_ids=active):
        for run in runs:
            session.refresh(run)
    return _views(session, runs)


def get_run(*, session: Session, user_id: int, run_id: int) -> RunView:
    run = _get_visible_run(session, user_id, run_id)
    if RunStatus(run.status) in ACTIVE_STATUSES and reconcile_stale_runs(session=session, run_ids=[run_id]):
        session.refresh(run)
    return _view(session, run)


def run_log(*, session: Session, user_id: int, run_id: int) -> str:
    return _get_visible_run(session, user_id, run_id).log or ""


def run_artefact(*, session: Session, user_id: int, run_id: int, name: str) -> Path:
    """Path of one result file of a succeeded run ("netcdf", "flows", ... or its file name)."""
    run = _get_visible_run(session, user_id, run_id)
    artefacts = run.artefacts or {}
    filename = artefacts.get(name) or (name if name in artefacts.values() else None)
    if RunStatus(run.status) != RunStatus.succeeded or not run.artefact_dir or not filename:
        raise EngageError(f"Run {run_id} has no “{name}” results to download.")
    base = (get_settings().data_dir / run.artefact_dir).resolve()
    path = (base / filename).resolve()
    if base not in path.parents or not path.is_file():
        raise EngageError(f"The results file “{filename}” of run {run_id} is missing; please run it again.")
    return path


def results_dir(run: Run) -> Path | None:
    return get_settings().data_dir / run.artefact_dir if run.artefact_dir else None


def _views(session: Session, runs: list[Run]) -> list[RunView]:
    if not runs:
        return []
    model_names = dict(session.exec(
        select(EnergyModel.id, EnergyModel.name).where(EnergyModel.id.in_({r.model_id for r in runs}))
    ).all())
    scenario_names = dict(session.exec(
        select(Scenario.id, Scenario.name).where(Scenario.id.in_({r.scenario_id for r in runs}))
    ).all())
    return [_to_view(r, model_names.get(r.model_id, ""), scenario_names.get(r.scenario_id, "")) for r in runs]


def _view(session: Session, run: Run) -> RunView:
    return _views(session, [run])[0]


def _iso(value: datetime | None) -> str:
    value = as_utc(value)
    return value.isoformat(timespec="seconds") if value else ""


def _to_view(run: Run, model_name: str, scenario_name: str) -> RunView:
    started, finished = as_utc(run.started_at), as_utc(run.finished_at)
    duration = None
    if finished is not None:
        duration = round((finished - (started or as_utc(run.created_at))).total_seconds(), 1)
    status = RunStatus(run.status)
    has_results = (
        status == RunStatus.succeeded and bool(run.artefacts) and bool(run.artefact_dir)
        and (get_settings().data_dir / run.artefact_dir).is_dir()
    )
    return RunView(
        id=run.id, model_id=run.model_id, model_name=model_name, scenario_name=scenario_name,
        solver=str(getattr(run.solver, "value", run.solver)), subset_start=run.subset_start or "",
        subset_end=run.subset_end or "", resample=run.resample or "", status=status.value,
        progress=int(run.progress or 0), message=run.message or "", objective=run.objective,
        created_at=_iso(run.created_at), finished_at=_iso(run.finished_at), duration_s=duration,
        has_results=has_results, is_out_of_date=bool(run.is_out_of_date),
    )


# --- dead jobs ------------------------------------------------------------------------------

def reconcile_stale_runs(*, session: Session, run_ids: list[int] | None = None) -> int:
    """Fail active runs whose job can no longer finish them; returns how many were failed.

    A job that failed, was stopped or cancelled, vanished from Redis, or whose worker stopped
    sending heartbeats will never write the run's final status, so the run is marked failed
    here (a dead worker must never leave a run "solving" forever). Costs one Redis round trip
    for the jobs plus one per queue for heartbeats when a job claims to be running.
    """
    stmt = select(Run).where(Run.status.in_(_ACTIVE_VALUES))
    if run_ids is not None:
        if not run_ids:
            return 0
        stmt = stmt.where(Run.id.in_(run_ids))
    runs = session.exec(stmt).all()
    if not runs:
        return 0
    now = utcnow()
    try:
        ids = [r.rq_job_id for r in runs if r.rq_job_id]
        # The solve job of a run whose row still names its build job (the ms between the build
        # job's enqueue of the solve and its row update) is looked at too.
        ids += [jobqueue.run_job_id(r.id, "solve") for r in runs if r.rq_job_id and r.rq_job_id.endswith("-build")]
        statuses = jobqueue.job_statuses(ids)
        abandoned = jobqueue.abandoned_job_ids() if "started" in statuses.values() else set()
    except Exception as exc:  # Redis down: say nothing now rather than fail a healthy run
        LOGGER.warning("cannot reach Redis to reconcile runs: %s", exc)
        return 0

    failed = 0
    for run in runs:
        message = _stale_reason(run, statuses, abandoned, now)
        if message and fail_run(session=session, run_id=run.id, message=message):
            LOGGER.warning("run %s marked failed: %s", run.id, message)
            failed += 1
    return failed


def _stale_reason(run: Run, statuses: dict[str, str | None], abandoned: set[str], now: datetime) -> str | None:
    if not run.rq_job_id:
        if now - as_utc(run.created_at) > _ENQUEUE_GRACE:
            return "The run never reached the job queue. Please start it again."
        return None
    status = statuses.get(run.rq_job_id)
    if run.rq_job_id.endswith("-build") and status == "finished":
        # The build job hands over to the solve job before it finishes.
        status = statuses.get(jobqueue.run_job_id(run.id, "solve"))
        if status is None:
            return "The run's solve job disappeared from the queue (was Redis reset?). Please start it again."
    if status is None:
        return "The run's job disappeared from the queue (was Redis reset?). Please start it again."
    if status == "failed":
        return ("The worker failed while running this job. Please start it again; if it fails again, "
                "tell the administrator.")
    if status in ("stopped", "canceled"):
        return "The run was stopped before it finished."
    if status == "finished":
        return "The run's job ended without recording a result. Please start it again."
    if status == "started" and run.rq_job_id in abandoned:
        return ("The worker running this job stopped without reporting back (it may have been restarted "
                "or run out of memory). Please start it again.")
    return None


# --- cancelling -----------------------------------------------------------------------------

def cancel_run(*, session: Session, user_id: int, run_id: int) -> RunView:
    """Cancel a waiting run, or stop a running one (its worker kills the job's process)."""
    run = _get_visible_run(session, user_id, run_id)
    status = RunStatus(run.status)
    if status not in ACTIVE_STATUSES:
        raise EngageError(f"Run {run_id} has already {status.value}; there is nothing to cancel.")
    message = "Cancelled before it started." if status == RunStatus.queued else "Cancelled while running."
    # Record first, so a job that starts in between sees a cancelled run and does nothing.
    update_active_run(session=session, run_id=run_id, status=RunStatus.cancelled, message=message,
                      finished_at=utcnow())
    try:
        for step in ("build", "solve"):
            jobqueue.stop_job(jobqueue.run_job_id(run_id, step))
    except Exception:  # the row is cancelled either way; a job that still runs will not write it
        LOGGER.warning("could not stop the jobs of run %s", run_id, exc_info=True)
    session.refresh(run)
    return _view(session, run)
