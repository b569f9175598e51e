"""Runs: start one (validate, record, enqueue), list and read them, reconcile dead jobs, cancel.

The Run row is the source of truth for a run's status; the worker writes it (jobs/tasks.py),
the UI polls it. Every change to a run that may race with the worker goes through
`update_active_run`, a conditional UPDATE that only touches a run still queued, building or
solving, so a late writer can never turn a finished run back into a running one.

Life of a run: `queued` (its current step's job, `rq_job_id`, waits on a queue: first the build,
then again the solve) -> `building`/`solving` (a worker claimed the job: `claim_run` records
`worker_name`, and the worker's parent process refreshes `heartbeat_at`) -> a final status.
`reconcile_runs` (run on a schedule by every worker, jobs/reconciler.py, and cheaply by
list_runs/get_run) keeps that true when processes or Redis die:
- a queued run whose job vanished from Redis is put back on its queue (the row is the truth), at
  most ENGAGE_MAX_REENQUEUES times, then failed;
- a building/solving run is failed only when the worker holding it has shown no sign of life
  (neither the row's heartbeat nor its Redis heartbeat) for ENGAGE_WORKER_DEAD_SECONDS: a job
  missing from Redis (Redis restarted) is no proof that its work horse is dead;
- a result that arrives is never discarded: a run failed only because its worker was presumed
  lost (termination LOST_TERMINATIONS) still takes the success its solve reports afterwards.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, update
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from engage_reflex.models import ActivityLog, Collaborator, EnergyModel, Run, RunStatus, Scenario, Solver, Timeseries
from engage_reflex.models._common import as_utc, iso_utc, utcnow  # noqa: F401 (jobs and tests use runs.as_utc)
from engage_reflex.schemas import RunView
from engage_reflex.services import clustering, coverage, run_events
from engage_reflex.services import queue as jobqueue
from engage_reflex.services.access import can_edit, open_to_visitors, require_view
from engage_reflex.services.errors import EngageError, NotFound, NotVisible, PermissionDenied
from engage_reflex.services.periods import parse_date, parse_resample
from engage_reflex.settings import get_settings

LOGGER = logging.getLogger(__name__)

ACTIVE_STATUSES = (RunStatus.queued, RunStatus.building, RunStatus.solving)
NOTES_MAX = 2000
_ACTIVE_VALUES = [s.value for s in ACTIVE_STATUSES]
QUEUE_DOWN_MESSAGE = (
    "The job queue is not reachable, so the run could not start. Please try again in a minute; "
    "if it keeps failing, tell the administrator (the Redis service may be down)."
)
# A queued run whose job is not (yet) in Redis is left alone for this long: start_run or the
# build job is between recording the step and enqueueing it (or about to fail the run itself).
_ENQUEUE_GRACE = timedelta(seconds=5)
# Terminations recorded when a run is failed because its worker or job was presumed lost; a
# success reported afterwards still wins over them.
WORKER_LOST = "worker lost"
QUEUE_LOST = "job lost"
LOST_TERMINATIONS = (WORKER_LOST, QUEUE_LOST)
WORKER_LOST_MESSAGE = (
    "The worker running this run stopped without reporting back (it may have been restarted, or the "
    "server ran out of memory). Please start the run again; if it fails again, tell the administrator."
)


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
    return _announced(session, run_id, result.rowcount > 0)


def claim_run(*, session: Session, run_id: int, job_id: str, status: RunStatus, worker_name: str | None,
              **values) -> bool:
    """A worker takes a queued run for its job: only the job the row names (`rq_job_id`) can, and
    only once (a duplicate or stale job finds the run no longer queued). Commits; True if taken."""
    now = utcnow()
    stmt = (update(Run)
            .where(Run.id == run_id, Run.status == RunStatus.queued.value, Run.rq_job_id == job_id)
            .values(status=status.value, worker_name=worker_name, heartbeat_at=now, **values))
    result = session.exec(stmt.execution_options(synchronize_session=False))
    session.commit()
    return _announced(session, run_id, result.rowcount > 0)


def hand_over(*, session: Session, run_id: int, job_id: str, **values) -> bool:
    """The build is done: the run waits again (queued) for its next step's job `job_id`."""
    now = utcnow()
    stmt = (update(Run)
            .where(Run.id == run_id, Run.status == RunStatus.building.value)
            .values(status=RunStatus.queued.value, rq_job_id=job_id, queued_at=now, worker_name=None,
                    heartbeat_at=None, **values))
    result = session.exec(stmt.execution_options(synchronize_session=False))
    session.commit()
    return _announced(session, run_id, result.rowcount > 0)


def record_heartbeat(*, session: Session, run_ids: list[int], worker_name: str) -> int:
    """The worker `worker_name` is alive and still holds these runs (commits; how many rows)."""
    if not run_ids:
        return 0
    held = [RunStatus.building.value, RunStatus.solving.value]
    stmt = (update(Run)
            .where(Run.id.in_(run_ids), Run.status.in_(held), Run.worker_name == worker_name)
            .values(heartbeat_at=utcnow()))
    result = session.exec(stmt.execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount


def succeed_run(*, session: Session, run_id: int, **values) -> bool:
    """Record a success: on an active run, or on one failed only because its worker or job was
    presumed lost (the result arrived after all, so it wins and the owner may be alerted again)."""
    values.update(status=RunStatus.succeeded.value, alerted_at=None)
    stmt = update(Run).where(Run.id == run_id, or_(
        Run.status.in_(_ACTIVE_VALUES),
        and_(Run.status == RunStatus.failed.value, Run.termination.in_(LOST_TERMINATIONS)),
    )).values(**values)
    result = session.exec(stmt.execution_options(synchronize_session=False))
    session.commit()
    return _announced(session, run_id, result.rowcount > 0)


def _announced(session: Session, run_id: int, changed: bool) -> bool:
    """After a committed change: publish the run's new view to the pages showing it (run_events).
    Returns `changed`; a run that did not change, or a failure to publish, is not announced."""
    if changed:
        try:
            run = session.exec(select(Run).options(defer(Run.log)).where(Run.id == run_id)
                               .execution_options(populate_existing=True)).first()
            if run is not None:
                run_events.publish(_view(session, run), run_id=run_id, model_id=run.model_id)
        except Exception:  # the row is written; pages catch up through their slower database reads
            LOGGER.warning("could not announce the change of run %s", run_id, exc_info=True)
        finally:
            session.commit()  # ends the read: a SQLite reader left open would hold up the next writer
    return changed


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


def model_time_span(*, session: Session, model_id: int) -> tuple[date, date] | None:
    """First and last day covered by the model's timeseries (None if it has none)."""
    start, end = session.exec(
        select(func.min(Timeseries.start), func.max(Timeseries.end)).where(Timeseries.model_id == model_id)
    ).one()
    if start is None or end is None:
        return None
    return start.date(), end.date()


def _validate_period(session: Session, user_id: int, scenario_id: int, subset_start: str | None,
                     subset_end: str | None) -> tuple[str | None, str | None]:
    """The run's dates (None, None: the model's own period, as exported), refused unless every
    timeseries the scenario uses holds data over the whole period (services/coverage.py)."""
    start_text, end_text = (subset_start or "").strip(), (subset_end or "").strip()
    if bool(start_text) != bool(end_text):
        raise EngageError("Give both a start and an end date, or leave both empty to use the model's own period.")
    start = parse_date(start_text, "start") if start_text else None
    end = parse_date(end_text, "end") if end_text else None
    if start and end and start > end:
        raise EngageError(f"The start date {start} is after the end date {end}.")
    coverage.require_coverage(session=session, user_id=user_id, scenario_id=scenario_id, start=start_text,
                              end=end_text)
    return (start.isoformat(), end.isoformat()) if start and end else (None, None)


# --- starting a run -------------------------------------------------------------------------

def start_run(*, session: Session, user_id: int, scenario_id: int, solver, subset_start: str | None,
              subset_end: str | None, resample: str | None, notes: str = "", solve_again: bool = False,
              cluster_days: int | str | None = None) -> RunView:
    """Validate, record a queued run, and hand it to the `short` queue.

    Raises EngageError for bad input. If Redis cannot take the job, the run is recorded as
    failed with QUEUE_DOWN_MESSAGE and that message is raised too (the UI shows a toast).

    A double click starts one run: the same user starting the same scenario with the same options
    within ENGAGE_DUPLICATE_RUN_SECONDS while the first run is still active gets that run back.
    The guard is a Redis SET NX on a key naming (user, scenario, options), so it holds across app
    processes, expires by itself, and needs no schema (Redis must answer anyway for the run to be
    queued; if it does not, the guard is skipped and the enqueue reports the outage).
    """
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFound(f"There is no scenario with id {scenario_id}.")
    model = require_view(session=session, user_id=user_id, model_id=scenario.model_id)
    if model.snapshot_of_id is not None:
        raise EngageError(f"“{model.name}” is a snapshot: its runs are kept as they were. Run its model, "
                          "or make a copy of the snapshot and run that.")
    chosen_solver = _parse_solver(solver)
    start, end = _validate_period(session, user_id, scenario.id, subset_start, subset_end)
    chosen_resample = parse_resample(resample)
    clusters = clustering.check_cluster_days(
        cluster_days, (date.fromisoformat(end) - date.fromisoformat(start)).days + 1 if start and end else None)
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX:
        raise EngageError(f"The run's notes are {len(notes):,} characters long; keep them to {NOTES_MAX:,}.")

    window = get_settings().duplicate_run_seconds
    key = jobqueue.start_key(user_id, scenario.id, chosen_solver.value, start, end, chosen_resample,
                             "again" if solve_again else "", clusters or "")
    guarded = window > 0
    if guarded:
        try:
            mine, existing_id = jobqueue.reserve_start(key, window)
            if not mine:
                existing = session.get(Run, existing_id) if existing_id is not None else None
                if existing is not None:
                    session.refresh(existing)
                if existing is not None and RunStatus(existing.status) in ACTIVE_STATUSES:
                    LOGGER.info("run %s started again within %s s: returning it", existing.id, window)
                    return _view(session, existing)
                jobqueue.take_over_start(key, window)
        except Exception as exc:  # Redis down: no guard; the enqueue below reports the outage
            LOGGER.warning("no double-start guard for this run (Redis: %s)", exc)
            guarded = False

    now = utcnow()
    run = Run(model_id=scenario.model_id, scenario_id=scenario.id, user_id=user_id, solver=chosen_solver,
              subset_start=start, subset_end=end, resample=chosen_resample, cluster_days=clusters,
              status=RunStatus.queued,
              progress=0, message="Waiting for a worker", created_at=now, queued_at=now, notes=notes,
              solve_again=bool(solve_again))
    try:
        session.add(run)
        session.flush()
        run_id = run.id
        assert run_id is not None
        # Recorded with the row, before the enqueue: the worker that takes the job checks it.
        run.rq_job_id = jobqueue.run_job_id(run_id, "build")
        session.commit()
    except BaseException:
        if guarded:  # let the next click start it without waiting for the guard to expire
            try:
                jobqueue.release_start(key)
            except Exception:  # pragma: no cover - it expires by itself
                pass
        raise
    # Announced before its job exists, so this "queued" can never arrive after the worker's "building".
    _announced(session, run_id, True)
    try:
        if guarded:
            jobqueue.record_start(key, run_id, window)
        jobqueue.enqueue_run_step(run_id, "build")
    except Exception:  # redis.ConnectionError, TimeoutError, auth errors, ...
        LOGGER.exception("could not enqueue run %s", run_id)
        fail_run(session=session, run_id=run_id, message=QUEUE_DOWN_MESSAGE)
        try:
            jobqueue.release_start(key)
        except Exception:  # pragma: no cover - Redis is down anyway; the key expires by itself
            pass
        raise EngageError(QUEUE_DOWN_MESSAGE) from None
    session.refresh(run)
    return _view(session, run)


# --- reading runs ---------------------------------------------------------------------------

def _editor_ids(session: Session, model: EnergyModel) -> set[int]:
    """The owner and the collaborators who may edit: their runs are the model's own runs."""
    editors = session.exec(select(Collaborator.user_id).where(Collaborator.model_id == model.id,
                                                              Collaborator.can_edit)).all()
    return {model.owner_id, *editors}


def visible_runs(session: Session, user_id: int | None, model: EnergyModel):
    """The statement selecting the runs of `model` this user sees (the rule of _may_see), logs deferred
    (they can be long); for a user who may view the model."""
    stmt = select(Run).options(defer(Run.log)).where(Run.model_id == model.id)
    if not can_edit(session=session, user_id=user_id, model=model):
        stmt = stmt.where(Run.user_id.in_(_editor_ids(session, model) | ({user_id} if user_id else set())))
    return stmt


def _may_see(session: Session, user_id: int | None, run: Run, model: EnergyModel) -> bool:
    """Everyone who may view the model sees the runs of its owner and editors (a reviewer, a visitor
    of a public model); a run someone with view rights started is theirs, and the editors'."""
    if user_id is not None and run.user_id == user_id:
        return True
    return run.user_id in _editor_ids(session, model) or can_edit(session=session, user_id=user_id, model=model)


def _changeable_run(session: Session, user_id: int | None, run_id: int) -> Run:
    """A run this user may cancel or delete: one they started, or any run of a model they may edit."""
    run = _get_visible_run(session, user_id, run_id)
    model = session.get(EnergyModel, run.model_id)
    if model.snapshot_of_id is not None:
        raise PermissionDenied(f"Run #{run.id} is kept with the snapshot “{model.name}”, as it was.")
    if (user_id is None or run.user_id != user_id) and not can_edit(session=session, user_id=user_id, model=model):
        raise PermissionDenied(f"Run #{run.id} was started by someone else: only they and the people who may edit "
                               "the model can cancel or delete it.")
    return run


def _get_visible_run(session: Session, user_id: int | None, run_id: int) -> Run:
    run = session.get(Run, run_id, options=[defer(Run.log)])  # the log loads only when asked for
    if run is None:
        raise NotVisible(f"There is no run with id {run_id}.")
    try:
        model = require_view(session=session, user_id=user_id, model_id=run.model_id)
    except NotVisible:
        raise NotVisible(f"There is no run with id {run_id}.") from None
    if not _may_see(session, user_id, run, model):
        raise NotVisible(f"There is no run with id {run_id}.")
    return run


@open_to_visitors
def list_runs(*, session: Session, user_id: int | None, model_id: int) -> list[RunView]:
    """The runs of a model this user may see, newest first (stale ones reconciled first)."""
    model = require_view(session=session, user_id=user_id, model_id=model_id)
    stmt = visible_runs(session, user_id, model).order_by(Run.created_at.desc(), Run.id.desc())
    runs = session.exec(stmt).all()
    active = [r.id for r in runs if RunStatus(r.status) in ACTIVE_STATUSES]
    if active and reconcile_stale_runs(session=session, run_ids=active):
        runs = session.exec(stmt.execution_options(populate_existing=True)).all()
    return _views(session, runs)


def run_states(*, session: Session, run_ids: list[int]) -> dict[int, tuple[str, int, str]]:
    """Status, progress and message of these runs, in one small query: how an open runs page checks,
    now and then, that no pushed change was lost (it shows these runs already; a run that changed or
    went is then read in full, with its permissions)."""
    if not run_ids:
        return {}
    rows = session.exec(select(Run.id, Run.status, Run.progress, Run.message).where(Run.id.in_(run_ids)))
    return {run_id: (str(getattr(status, "value", status)), int(progress or 0), message or "")
            for run_id, status, progress, message in rows}


@open_to_visitors
def get_run(*, session: Session, user_id: int | None, run_id: int) -> RunView:
    run = _get_visible_run(session, user_id, run_id)
    if RunStatus(run.status) in ACTIVE_STATUSES and reconcile_stale_runs(session=session, run_ids=[run_id]):
        session.refresh(run)
    return _view(session, run)


def run_log(*, session: Session, user_id: int | None, run_id: int) -> str:
    return _get_visible_run(session, user_id, run_id).log or ""


def run_artefact(*, session: Session, user_id: int | None, run_id: int, name: str) -> str:
    """The run files store's key of one result file of a succeeded run ("netcdf", "flows", ... or
    its file name), or of the full log of any run ("log"), once the store has it."""
    from engage_reflex.services import run_logs, storage  # local import: run_logs imports this module

    if name == run_logs.RAW_LOG_ARTEFACT:
        return run_logs.raw_log_path(session=session, user_id=user_id, run_id=run_id)
    run = _get_visible_run(session, user_id, run_id)
    artefacts = run.artefacts or {}
    filename = artefacts.get(name) or (name if name in artefacts.values() else None)
    if RunStatus(run.status) != RunStatus.succeeded or not run.artefact_dir or not filename:
        raise EngageError(f"Run {run_id} has no “{name}” results to download.")
    missing = f"The results file “{filename}” of run {run_id} is missing; please run it again."
    try:
        key = storage.join_key(run.artefact_dir, filename)
    except EngageError:
        raise EngageError(missing) from None
    if not key.startswith(storage.confine_key(run.artefact_dir) + "/") or not storage.get_store().exists(key):
        raise EngageError(missing)
    return key


def results_dir(run: Run) -> str | None:
    """The key prefix of the run's results in the run files store ("runs/12/results")."""
    return run.artefact_dir or None


def _views(session: Session, runs: list[Run]) -> list[RunView]:
    if not runs:
        return []
    model_names = dict(session.exec(
        select(EnergyModel.id, EnergyModel.name).where(EnergyModel.id.in_({r.model_id for r in runs}))
    ).all())
    scenario_names = dict(session.exec(
        select(Scenario.id, Scenario.name).where(Scenario.id.in_({r.scenario_id for r in runs}))
    ).all())
    edits = _edits_since(session, [r.id for r in runs if r.is_out_of_date])
    return [dataclasses.replace(_to_view(r, model_names.get(r.model_id, ""), scenario_names.get(r.scenario_id, "")),
                                edits_since=edits.get(r.id, 0)) for r in runs]


def _edits_since(session: Session, run_ids: list[int]) -> dict[int, int]:
    """How many edits each run missed: activity of its model after it started (one query)."""
    if not run_ids:
        return {}
    return dict(session.exec(
        select(Run.id, func.count(ActivityLog.id))
        .join(ActivityLog, and_(ActivityLog.model_id == Run.model_id, ActivityLog.created_at > Run.started_at))
        .where(Run.id.in_(run_ids)).group_by(Run.id)
    ).all())


def _view(session: Session, run: Run) -> RunView:
    return _views(session, [run])[0]


def _to_view(run: Run, model_name: str, scenario_name: str) -> RunView:
    started, finished = as_utc(run.started_at), as_utc(run.finished_at)
    duration = None
    worked = (run.timings or {}).get("total_s")
    if finished is not None and isinstance(worked, (int, float)):
        duration = round(float(worked), 1)  # the workers' time, as "Solved in" says (waits apart)
    elif finished is not None:
        duration = round((finished - (started or as_utc(run.created_at))).total_seconds(), 1)
    status = RunStatus(run.status)
    # From the row alone (lists show many runs: no call to the run files store per run).
    has_results = status == RunStatus.succeeded and bool(run.artefacts) and bool(run.artefact_dir)
    return RunView(
        id=run.id, model_id=run.model_id, model_name=model_name, scenario_name=scenario_name,
        solver=str(getattr(run.solver, "value", run.solver)), subset_start=run.subset_start or "",
        subset_end=run.subset_end or "", resample=run.resample or "", status=status.value,
        progress=int(run.progress or 0), message=run.message or "", objective=run.objective,
        created_at=iso_utc(run.created_at), finished_at=iso_utc(run.finished_at), duration_s=duration,
        has_results=has_results, is_out_of_date=bool(run.is_out_of_date),
        has_inputs=has_results and "inputs" in (run.artefacts or {}), notes=run.notes or "",
        has_outputs=has_results and "outputs" in (run.artefacts or {}),
        reused_from=run.reused_from_id, cluster_days=run.cluster_days, started_by_id=run.user_id,
    )


# --- dead jobs ------------------------------------------------------------------------------

@dataclass
class Reconciled:
    """What one reconcile pass did, by run id."""

    failed: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.failed) + len(self.requeued)


def reconcile_stale_runs(*, session: Session, run_ids: list[int] | None = None) -> int:
    """reconcile_runs, returning how many runs it failed or put back on their queue."""
    return len(reconcile_runs(session=session, run_ids=run_ids))


def reconcile_runs(*, session: Session, run_ids: list[int] | None = None) -> Reconciled:
    """Bring every active run (or those of `run_ids`) whose job can no longer finish it back on
    track: put queued runs whose job vanished back on their queue, fail the others (see the module
    docstring for the rules). Costs one query, one Redis round trip for the jobs, and one more per
    run whose worker's heartbeat on the row is stale. Never raises for Redis being down: queued
    runs are then left as they are (a worker or a later call looks again)."""
    done = Reconciled()
    stmt = select(Run).options(defer(Run.log)).where(Run.status.in_(_ACTIVE_VALUES))
    if run_ids is not None:
        if not run_ids:
            return done
        stmt = stmt.where(Run.id.in_(run_ids))
    runs = session.exec(stmt.order_by(Run.id)).all()
    if not runs:
        return done
    settings = get_settings()
    now = utcnow()
    # Workers refresh a held run's heartbeat every reconcile interval: never judge one on less
    # than three intervals, whatever ENGAGE_WORKER_DEAD_SECONDS says.
    dead_after = timedelta(seconds=max(settings.worker_dead_seconds, 3 * settings.reconcile_seconds))
    try:
        statuses = jobqueue.job_statuses([r.rq_job_id for r in runs if r.rq_job_id])
    except Exception as exc:  # Redis down: only the row's heartbeats can be judged now
        LOGGER.warning("cannot reach Redis to reconcile runs: %s", exc)
        statuses = None

    for run in runs:
        status = RunStatus(run.status)
        job_status = statuses.get(run.rq_job_id) if statuses is not None and run.rq_job_id else None
        if status in (RunStatus.building, RunStatus.solving):
            if _holder_alive(run, now, dead_after, redis_up=statuses is not None):
                continue
            if fail_run(session=session, run_id=run.id, message=WORKER_LOST_MESSAGE, termination=WORKER_LOST):
                LOGGER.warning("run %s failed: its worker %s stopped sending heartbeats", run.id, run.worker_name)
                done.failed.append(run.id)
        elif statuses is not None:
            _reconcile_queued(session, run, job_status, now, dead_after, settings.max_reenqueues, done)
    return done


def _holder_alive(run: Run, now: datetime, dead_after: timedelta, *, redis_up: bool) -> bool:
    """Has the worker holding this building/solving run shown a sign of life recently enough?
    Its parent process refreshes the row's heartbeat; its Redis heartbeat counts too (a worker that
    can reach Redis but not, for a while, the database is not dead)."""
    last = as_utc(run.heartbeat_at or run.started_at or run.queued_at or run.created_at)
    if last is not None and now - last < dead_after:
        return True
    if redis_up and run.worker_name:
        try:
            beat = jobqueue.worker_heartbeat(run.worker_name, run.rq_job_id)
        except Exception:
            return True  # cannot tell: do not fail a run on a guess
        # rq refreshes a worker's heartbeat every reconcile interval while it runs a job.
        if beat is not None and now - as_utc(beat) < dead_after:
            return True
    return False


def _reconcile_queued(session: Session, run: Run, job_status: str | None, now: datetime,
                      dead_after: timedelta, max_reenqueues: int, done: Reconciled) -> None:
    waiting_since = as_utc(run.queued_at or run.created_at)
    if job_status in ("queued", "deferred", "scheduled"):
        return
    if job_status == "failed":
        message = ("The worker failed while running this job. Please start it again; if it fails again, "
                   "tell the administrator.")
        if fail_run(session=session, run_id=run.id, message=message):
            done.failed.append(run.id)
        return
    if job_status in ("stopped", "canceled"):
        if fail_run(session=session, run_id=run.id, message="The run was stopped before it finished."):
            done.failed.append(run.id)
        return
    if job_status == "started" and now - waiting_since < dead_after:
        return  # a worker took the job a moment ago and is about to claim the run
    if now - waiting_since < _ENQUEUE_GRACE:
        return
    # The job vanished (Redis restarted or was flushed), or ran without taking the run: the row
    # is the truth, so the run goes back on its queue.
    step = (jobqueue.parse_run_job_id(run.rq_job_id or "") or (run.id, "build"))[1]
    if run.enqueue_count >= max_reenqueues:
        message = (f"The run's job was lost from the job queue {run.enqueue_count + 1} times (is Redis "
                   "restarting?). Please start it again; if it happens again, tell the administrator.")
        if fail_run(session=session, run_id=run.id, message=message, termination=QUEUE_LOST):
            done.failed.append(run.id)
        return
    # Compare-and-set on the count: one reconciler (of several workers) puts it back.
    stmt = (update(Run)
            .where(Run.id == run.id, Run.status == RunStatus.queued.value,
                   Run.rq_job_id.is_(None) if run.rq_job_id is None else Run.rq_job_id == run.rq_job_id,
                   Run.enqueue_count == run.enqueue_count)
            .values(enqueue_count=run.enqueue_count + 1, rq_job_id=jobqueue.run_job_id(run.id, step)))
    if session.exec(stmt.execution_options(synchronize_session=False)).rowcount == 0:
        session.commit()
        return
    session.commit()
    try:
        jobqueue.enqueue_run_step(run.id, step)
    except Exception as exc:  # Redis went away again: the next pass tries again (or fails it)
        LOGGER.warning("could not put run %s back on its queue: %s", run.id, exc)
        return
    LOGGER.warning("run %s: its %s job vanished from Redis; enqueued it again (%d of %d)", run.id, step,
                   run.enqueue_count + 1, max_reenqueues)
    done.requeued.append(run.id)


# --- rerunning ------------------------------------------------------------------------------

def rerun(*, session: Session, user_id: int, run_id: int) -> RunView:
    """Start the run again with the model's current inputs: same scenario, solver, dates and resolution."""
    run = _get_visible_run(session, user_id, run_id)
    if RunStatus(run.status) in ACTIVE_STATUSES:
        raise EngageError(f"Run #{run.id} has not finished yet. Wait for it or cancel it, then rerun it.")
    return start_run(session=session, user_id=user_id, scenario_id=run.scenario_id, solver=run.solver,
                     subset_start=run.subset_start, subset_end=run.subset_end, resample=run.resample,
                     cluster_days=run.cluster_days,
                     notes=f"Rerun of #{run.id} with current inputs. {run.notes or ''}".strip()[:NOTES_MAX])


def delete_run(*, session: Session, user_id: int, run_id: int) -> tuple[int, list[str]]:
    """Delete a finished run; (its id, its folders to remove once the delete has committed)."""
    from engage_reflex.services.models import run_folders

    run = _changeable_run(session, user_id, run_id)
    if RunStatus(run.status) in ACTIVE_STATUSES:
        raise EngageError(f"Run #{run.id} is still going. Cancel it first, then delete it.")
    folders = run_folders(session, run.model_id, run_id=run.id)
    session.delete(run)
    session.flush()
    return run_id, folders


def solve_again(*, session: Session, user_id: int, run_id: int) -> RunView:
    """A run answered from an earlier run's results, solved anew anyway (same options)."""
    run = _get_visible_run(session, user_id, run_id)
    return start_run(session=session, user_id=user_id, scenario_id=run.scenario_id, solver=run.solver,
                     subset_start=run.subset_start, subset_end=run.subset_end, resample=run.resample,
                     cluster_days=run.cluster_days,
                     notes=f"Solved again instead of reusing run #{run.reused_from_id}.", solve_again=True)


# --- cancelling -----------------------------------------------------------------------------

def cancel_run(*, session: Session, user_id: int, run_id: int) -> RunView:
    """Cancel a waiting run, or stop a running one (its worker kills the job's process)."""
    run = _changeable_run(session, user_id, run_id)
    status = RunStatus(run.status)
    if status not in ACTIVE_STATUSES:
        raise EngageError(f"Run {run_id} has already {status.value}; there is nothing to cancel.")
    waiting = status == RunStatus.queued and run.started_at is None
    message = "Cancelled before it started." if waiting else "Cancelled while running."
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
