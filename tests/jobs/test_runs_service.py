"""The runs service against real Redis and both databases (no worker: jobs stay queued)."""

from __future__ import annotations

import pytest
from rq.job import Job

from engage_reflex.models import Collaborator, Run, RunStatus
from engage_reflex.services import queue as jobqueue
from engage_reflex.services import runs
from engage_reflex.services.errors import EngageError, NotFound
from engage_reflex.settings import get_settings


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


def test_runs_whose_jobs_died_are_reconciled(session, redis_url, owner, small_model):
    _, scenario = small_model
    gone = _start(session, owner, scenario)
    failed = _start(session, owner, scenario)
    alive = _start(session, owner, scenario)
    conn = jobqueue.redis_connection()
    Job.fetch(jobqueue.run_job_id(gone.id, "build"), connection=conn).delete()
    Job.fetch(jobqueue.run_job_id(failed.id, "build"), connection=conn).set_status("failed")

    views = runs.list_runs(session=session, user_id=owner.id, model_id=scenario.model_id)
    assert [v.id for v in views] == [alive.id, failed.id, gone.id]  # newest first
    by_id = {v.id: v for v in views}
    assert by_id[gone.id].status == "failed" and "disappeared from the queue" in by_id[gone.id].message
    assert by_id[failed.id].status == "failed" and "worker failed" in by_id[failed.id].message
    assert by_id[alive.id].status == "queued"
    assert runs.reconcile_stale_runs(session=session) == 0


def test_a_finished_build_job_hands_over_to_its_solve_job(session, redis_url, owner, small_model):
    _, scenario = small_model
    view = _start(session, owner, scenario)
    conn = jobqueue.redis_connection()
    Job.fetch(jobqueue.run_job_id(view.id, "build"), connection=conn).set_status("finished")
    jobqueue.enqueue_run_step(view.id, "solve")
    assert runs.get_run(session=session, user_id=owner.id, run_id=view.id).status == "queued"
    Job.fetch(jobqueue.run_job_id(view.id, "solve"), connection=conn).delete()
    assert runs.get_run(session=session, user_id=owner.id, run_id=view.id).status == "failed"


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
    mine = _start(session, owner, scenario)
    theirs = _start(session, other, scenario)
    # A viewer of a public model sees only their own runs; the owner sees all of them.
    assert [v.id for v in runs.list_runs(session=session, user_id=other.id, model_id=model.id)] == [theirs.id]
    assert {v.id for v in runs.list_runs(session=session, user_id=owner.id, model_id=model.id)} == {mine.id, theirs.id}
    with pytest.raises(NotFound):
        runs.get_run(session=session, user_id=other.id, run_id=mine.id)
    session.add(Collaborator(model_id=model.id, user_id=other.id, can_edit=True))
    session.commit()
    assert runs.get_run(session=session, user_id=other.id, run_id=mine.id).id == mine.id
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
