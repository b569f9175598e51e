"""The runs service against real Redis and both databases (no worker: jobs stay queued)."""

from __future__ import annotations

import pytest
from rq.job import Job

from engage_reflex.models import Collaborator, Run, RunStatus
from engage_reflex.services import queue as jobqueue
from engage_reflex.services import runs
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.settings import get_settings
from tests.jobs.conftest import make_user


def _start(session, user, scenario, **kw):
    args = dict(solver="highs", subset_start="2005-01-01", subset_end="2005-01-02", resample="")
    args.update(kw)
    return runs.start_run(session=session, user_id=user.id, scenario_id=scenario.id, **args)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(solver="gurobi"), "Unknown solver “gurobi”. Choose one of: highs, cbc, glpk."),
        (dict(subset_start="01/02/2005"), "The start date “01/02/2005” is not a date like 2005-01-31"),
        (dict(subset_end="2005-02-30"), "The end date “2005-02-30” does not exist"),
        (dict(subset_start="2005-03-01", subset_end="2005-02-01"),
         "The start date 2005-03-01 is after the end date 2005-02-01"),
        (dict(subset_start="2004-12-30"), "The model's timeseries cover 2005-01-01 to 2005-12-31; choose dates inside"),
        (dict(subset_end="2006-01-01"), "cover 2005-01-01 to 2005-12-31"),
        (dict(subset_end=""), "Give both a start and an end date"),
        (dict(resample="hourly"), "“hourly” is not a time resolution. Use a number of hours or days such as 1h"),
        (dict(resample="0h"), "“0h” is not a time resolution"),
        (dict(resample="15min"), "“15min” is not a time resolution"),
    ],
)
def test_start_run_explains_what_is_wrong(session, redis_url, owner, small_model, changes, message):
    _, scenario = small_model
    with pytest.raises(EngageError) as err:
        _start(session, owner, scenario, **changes)
    assert message in err.value.message
    assert session.query(Run).count() == 0


def test_start_run_refuses_a_model_the_user_cannot_see(session, redis_url, other, small_model):
    _, scenario = small_model
    with pytest.raises(NotFound, match="There is no model"):
        _start(session, other, scenario)
    with pytest.raises(NotFound, match="There is no scenario with id 999"):
        runs.start_run(session=session, user_id=other.id, scenario_id=999, solver="highs",
                       subset_start="", subset_end="", resample="")


def test_start_run_records_and_enqueues_the_build(session, redis_url, owner, small_model, monkeypatch):
    monkeypatch.setenv("ENGAGE_SHORT_JOB_TIMEOUT", "123")
    get_settings.cache_clear()
    model, scenario = small_model
    view = _start(session, owner, scenario, solver="CBC", resample="6H")
    assert (view.status, view.progress, view.message) == ("queued", 0, "Waiting for a worker")
    assert (view.solver, view.resample, view.subset_start, view.subset_end) == ("cbc", "6h", "2005-01-01", "2005-01-02")
    assert view.model_name == "Valley" and view.scenario_name == "base"
    assert view.created_at and view.finished_at == "" and view.duration_s is None and not view.has_results

    run = session.get(Run, view.id)
    assert run.rq_job_id == f"{get_settings().queue_prefix}run-{view.id}-build"
    job = Job.fetch(run.rq_job_id, connection=jobqueue.redis_connection())
    assert job.func_name == "jobs.tasks.build_run" and job.args == (view.id,)
    assert job.origin == f"{get_settings().queue_prefix}short" and job.timeout == 123
    assert jobqueue.job_status(run.rq_job_id) == "queued"
    assert jobqueue.queue("short").job_ids == [run.rq_job_id]
    # Empty dates mean the model's own period.
    assert _start(session, owner, scenario, subset_start="", subset_end="").subset_start == ""


def test_start_run_with_redis_down_fails_the_run_instead_of_leaving_it_queued(session, redis_url, owner,
                                                                              small_model, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    _, scenario = small_model
    with pytest.raises(EngageError, match="The job queue is not reachable"):
        _start(session, owner, scenario)
    run = session.query(Run).one()
    session.refresh(run)
    assert run.status == RunStatus.failed and "not reachable" in run.message and run.finished_at


def _backdate(session, run_id: int, seconds: float, **columns) -> None:
    """Make a run look as if it was queued (and its worker last seen) `seconds` ago."""
    from datetime import timedelta

    when = runs.utcnow() - timedelta(seconds=seconds)
    run = session.get(Run, run_id)
    session.refresh(run)
    run.queued_at = when
    for name, value in columns.items():
        setattr(run, name, when if value == "then" else value)
    session.add(run)
    session.commit()


def test_runs_whose_jobs_died_are_reconciled(session, redis_url, owner, small_model):
    _, scenario = small_model
    gone = _start(session, owner, scenario)
    failed = _start(session, owner, scenario, resample="3h")
    alive = _start(session, owner, scenario, resample="6h")
    lost_too_often = _start(session, owner, scenario, resample="12h")
    conn = jobqueue.redis_connection()
    for view in (gone, lost_too_often):
        Job.fetch(jobqueue.run_job_id(view.id, "build"), connection=conn).delete()
    Job.fetch(jobqueue.run_job_id(failed.id, "build"), connection=conn).set_status("failed")
    _backdate(session, lost_too_often.id, 30, enqueue_count=get_settings().max_reenqueues)

    # A job that vanished a moment ago may be on its way (start_run enqueues after its commit).
    assert runs.get_run(session=session, user_id=owner.id, run_id=gone.id).status == "queued"
    assert jobqueue.job_status(jobqueue.run_job_id(gone.id, "build")) is None
    _backdate(session, gone.id, 30)

    views = runs.list_runs(session=session, user_id=owner.id, model_id=scenario.model_id)
    assert [v.id for v in views] == [lost_too_often.id, alive.id, failed.id, gone.id]  # newest first
    by_id = {v.id: v for v in views}
    # The row is the truth: a queued run whose job vanished goes back on its queue...
    assert by_id[gone.id].status == "queued"
    assert jobqueue.job_status(jobqueue.run_job_id(gone.id, "build")) == "queued"
    assert session.get(Run, gone.id).enqueue_count == 1
    # ... up to a limit.
    assert by_id[lost_too_often.id].status == "failed"
    assert "lost from the job queue" in by_id[lost_too_often.id].message
    assert by_id[failed.id].status == "failed" and "worker failed" in by_id[failed.id].message
    assert by_id[alive.id].status == "queued"
    assert runs.reconcile_stale_runs(session=session) == 0


def test_a_held_run_fails_only_when_its_worker_stops_beating(session, redis_url, owner, small_model):
    _, scenario = small_model
    dead_after = get_settings().worker_dead_seconds
    quiet = _start(session, owner, scenario)
    beating = _start(session, owner, scenario, resample="3h")
    for view in (quiet, beating):
        job_id = jobqueue.run_job_id(view.id, "build")
        assert runs.claim_run(session=session, run_id=view.id, job_id=job_id, status=RunStatus.building,
                              worker_name="w1")
        assert not runs.claim_run(session=session, run_id=view.id, job_id=job_id, status=RunStatus.building,
                                  worker_name="w2")  # a duplicate job never takes it twice
    # Redis forgot both jobs (it restarted): that alone proves nothing about their work horses.
    jobqueue.redis_connection().flushdb()
    _backdate(session, quiet.id, dead_after + 1, heartbeat_at="then")
    _backdate(session, beating.id, dead_after + 1, heartbeat_at="then")
    assert runs.record_heartbeat(session=session, run_ids=[beating.id], worker_name="w1") == 1
    assert runs.record_heartbeat(session=session, run_ids=[quiet.id], worker_name="other") == 0

    done = runs.reconcile_runs(session=session)
    assert done.failed == [quiet.id] and done.requeued == []
    failed = session.get(Run, quiet.id)
    session.refresh(failed)
    assert failed.status == "failed" and failed.message == runs.WORKER_LOST_MESSAGE
    assert runs.get_run(session=session, user_id=owner.id, run_id=beating.id).status == "building"

    # A result that arrives after all is not discarded; a real failure is never overwritten.
    assert runs.succeed_run(session=session, run_id=quiet.id, message="Solved in 1.0 s.", progress=100)
    session.expire_all()
    assert runs.get_run(session=session, user_id=owner.id, run_id=quiet.id).status == "succeeded"
    assert runs.fail_run(session=session, run_id=beating.id, message="infeasible")
    assert not runs.succeed_run(session=session, run_id=beating.id, message="Solved")


def test_a_finished_build_hands_over_to_its_solve_job(session, redis_url, owner, small_model):
    _, scenario = small_model
    view = _start(session, owner, scenario)
    build, solve = jobqueue.run_job_id(view.id, "build"), jobqueue.run_job_id(view.id, "solve")
    assert runs.claim_run(session=session, run_id=view.id, job_id=build, status=RunStatus.building,
                          worker_name="w1")
    assert runs.hand_over(session=session, run_id=view.id, job_id=solve, progress=25)
    # The run waits again (for a solver); a stale build job cannot take it, its solve job can.
    assert runs.get_run(session=session, user_id=owner.id, run_id=view.id).status == "queued"
    assert not runs.claim_run(session=session, run_id=view.id, job_id=build, status=RunStatus.building,
                              worker_name="w2")
    _backdate(session, view.id, 30)
    runs.reconcile_runs(session=session)  # its solve job never reached Redis: enqueued now
    assert jobqueue.job_status(solve) == "queued" and jobqueue.queue("long").job_ids == [solve]
    assert runs.claim_run(session=session, run_id=view.id, job_id=solve, status=RunStatus.solving,
                          worker_name="w2")


def test_a_double_click_starts_one_run(session, redis_url, owner, small_model):
    _, scenario = small_model
    first = _start(session, owner, scenario)
    second = _start(session, owner, scenario)
    assert second.id == first.id and session.query(Run).count() == 1
    assert jobqueue.queue("short").job_ids == [jobqueue.run_job_id(first.id, "build")]
    # Other options are another run; so is the same run once the first one is no longer active.
    assert _start(session, owner, scenario, solver="cbc").id != first.id
    runs.cancel_run(session=session, user_id=owner.id, run_id=first.id)
    assert _start(session, owner, scenario).id not in (first.id,)
    assert session.query(Run).count() == 3


def test_concurrent_starts_from_several_processes_start_one_run(db_url, session, redis_url, owner, small_model):
    """Two app processes (threads here, each with its own session; the guard lives in Redis)."""
    import threading

    from sqlmodel import Session

    from engage_reflex import db

    _, scenario = small_model
    barrier = threading.Barrier(4)
    ids: list[int] = []

    def click() -> None:
        with Session(db.get_engine(db_url), expire_on_commit=False) as own:
            barrier.wait()
            ids.append(_start(own, owner, scenario).id)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(ids) == 4 and len(set(ids)) == 1, ids
    assert session.query(Run).count() == 1


def test_cancel_a_queued_run(session, redis_url, owner, small_model):
    _, scenario = small_model
    view = _start(session, owner, scenario)
    cancelled = runs.cancel_run(session=session, user_id=owner.id, run_id=view.id)
    assert cancelled.status == "cancelled" and cancelled.message == "Cancelled before it started."
    assert jobqueue.job_status(jobqueue.run_job_id(view.id, "build")) == "canceled"
    assert jobqueue.queue("short").job_ids == []
    with pytest.raises(EngageError, match="already cancelled"):
        runs.cancel_run(session=session, user_id=owner.id, run_id=view.id)


def test_who_sees_which_runs_and_artefacts(session, redis_url, owner, other, small_model):
    model, scenario = small_model
    model.is_public = True
    session.add(model)
    session.commit()
    third = make_user(session, "third@example.org")
    mine = _start(session, owner, scenario)
    theirs = _start(session, other, scenario)
    # Everyone who may read the model sees its owner's runs (a visitor without a login too); a
    # run a reader started is theirs (and the editors'), not the other readers'.
    assert [v.id for v in runs.list_runs(session=session, user_id=other.id, model_id=model.id)] == [theirs.id, mine.id]
    assert [v.id for v in runs.list_runs(session=session, user_id=third.id, model_id=model.id)] == [mine.id]
    assert [v.id for v in runs.list_runs(session=session, user_id=None, model_id=model.id)] == [mine.id]
    assert {v.id for v in runs.list_runs(session=session, user_id=owner.id, model_id=model.id)} == {mine.id, theirs.id}
    assert runs.get_run(session=session, user_id=None, run_id=mine.id).id == mine.id
    for reader in (third.id, None):
        with pytest.raises(NotFound):
            runs.get_run(session=session, user_id=reader, run_id=theirs.id)
    # Private again: the owner's runs are hidden from whoever the model is not shared with.
    model.is_public = False
    session.add(model)
    session.commit()
    for reader in (third.id, None):
        with pytest.raises(NotFound):
            runs.get_run(session=session, user_id=reader, run_id=mine.id)
    session.add(Collaborator(model_id=model.id, user_id=other.id, can_edit=False))
    session.commit()
    assert runs.get_run(session=session, user_id=other.id, run_id=mine.id).id == mine.id  # a reviewer
    with pytest.raises(EngageError, match="has no “netcdf” results"):
        runs.run_artefact(session=session, user_id=owner.id, run_id=mine.id, name="netcdf")


def test_update_active_run_never_reopens_a_finished_run(session, redis_url, owner, small_model):
    _, scenario = small_model
    view = _start(session, owner, scenario)
    assert runs.fail_run(session=session, run_id=view.id, message="stop")
    assert not runs.update_active_run(session=session, run_id=view.id, status=RunStatus.solving)
    assert runs.get_run(session=session, user_id=owner.id, run_id=view.id).status == "failed"


def test_run_log_is_read_only_by_those_who_see_the_run(session, redis_url, owner, other, small_model):
    _, scenario = small_model
    view = _start(session, owner, scenario)
    assert runs.run_log(session=session, user_id=owner.id, run_id=view.id) == ""  # nothing recorded yet
    assert runs.fail_run(session=session, run_id=view.id, message="stop", log="calliope: the build failed")
    assert runs.run_log(session=session, user_id=owner.id, run_id=view.id) == "calliope: the build failed"
    with pytest.raises(NotFound):
        runs.run_log(session=session, user_id=other.id, run_id=view.id)
    with pytest.raises(NotFound):
        runs.run_log(session=session, user_id=owner.id, run_id=view.id + 1000)


def test_every_failed_run_gets_one_owner_alert_whichever_process_failed_it(session, redis_url, owner, small_model,
                                                                           caplog):
    import logging

    from jobs import alerts

    _, scenario = small_model
    view = _start(session, owner, scenario)
    Job.fetch(jobqueue.run_job_id(view.id, "build"), connection=jobqueue.redis_connection()).set_status("failed")
    # The web app's reconcile fails the run but sends no email; the workers' sweep does, once.
    assert runs.get_run(session=session, user_id=owner.id, run_id=view.id).status == "failed"
    with caplog.at_level(logging.INFO, logger="jobs.alerts"):
        assert alerts.send_pending_alerts() == [view.id]
        assert alerts.send_pending_alerts() == []
        alerts.run_finished(view.id)  # e.g. a late callback: no second email
    emails = [r.getMessage() for r in caplog.records if "not emailing" in r.getMessage()]
    assert emails == [f"no SENDGRID_API_KEY: not emailing owner@example.org: Run {view.id} of “Valley” failed"]
    session.expire_all()
    assert session.get(Run, view.id).alerted_at is not None
