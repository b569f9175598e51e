"""The owner's alert emails, sent through the real `sendgrid` client to a local stand-in of SendGrid's
v3 mail-send endpoint (an http.server thread on 127.0.0.1 that records every request).

One email for a run that failed (after any time, however it was failed) or that ended after more
than ENGAGE_LONG_RUN_ALERT_SECONDS (default 20 minutes); none for short successful or cancelled
runs; never two for one run; SendGrid failing never changes how the run ended.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import Session

from engage_reflex import db
from engage_reflex.models import Run, RunStatus
from engage_reflex.services import queue as jobqueue
from engage_reflex.services import runs
from engage_reflex.settings import get_settings
from jobs import alerts, reconciler
from tests.jobs.conftest import PUBLIC_URL, SENDGRID_KEY, start_worker
from tests.sendgrid_standin import text_of


@pytest.fixture(autouse=True)
def alert_defaults(monkeypatch):
    monkeypatch.delenv("ENGAGE_LONG_RUN_ALERT_SECONDS", raising=False)  # the default: 20 minutes
    monkeypatch.setattr(alerts, "_sweep_paused_until", 0.0)


def _finished_run(session, small_model, status: RunStatus, took: timedelta, message: str = "") -> Run:
    model, scenario = small_model
    now = runs.utcnow()
    run = Run(model_id=model.id, scenario_id=scenario.id, user_id=model.owner_id, status=status, message=message,
              subset_start="2005-01-01", subset_end="2005-01-07", resample="3h", started_at=now - took,
              finished_at=now, progress=100)
    session.add(run)
    session.commit()
    return run


def _alerted_at(db_url: str, run_id: int):
    with Session(db.get_engine(db_url)) as s:
        return s.get(Run, run_id).alerted_at


# --- which runs get one -------------------------------------------------------------------------

def test_a_long_successful_run_emails_its_owner_once_with_a_link(sendgrid, session, small_model):
    run = _finished_run(session, small_model, RunStatus.succeeded, timedelta(minutes=25),
                        "Solved in 1490.2 s (objective 3.4e+04).")
    alerts.run_finished(run.id)

    [request] = sendgrid.requests
    assert (request["method"], request["path"]) == ("POST", "/v3/mail/send")
    assert request["authorization"] == f"Bearer {SENDGRID_KEY}"
    email = request["body"]
    assert email["personalizations"][0]["to"] == [{"email": "owner@example.org"}]
    assert email["from"] == {"email": "engage@example.org"}
    assert email["subject"] == f"Run {run.id} of “Valley” finished after 25 minutes"
    text = text_of(email)
    assert f"Your run {run.id} of the model “Valley”, scenario “base”, succeeded after 25 minutes." in text
    assert "Solved in 1490.2 s (objective 3.4e+04)." in text
    assert "Period: 2005-01-01 to 2005-01-07, resolution 3h, solver highs." in text
    assert f"Open the run: {PUBLIC_URL}/runs/{run.id}\n" in text  # no double slash from the setting's "/"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("minutes, emailed", [(19, False), (21, True)])
def test_successful_runs_email_only_after_twenty_minutes_by_default(sendgrid, db_url, session, small_model,
                                                                    minutes, emailed):
    run = _finished_run(session, small_model, RunStatus.succeeded, timedelta(minutes=minutes), "Solved.")
    alerts.run_finished(run.id)
    assert len(sendgrid.emails()) == (1 if emailed else 0)
    assert _alerted_at(db_url, run.id) is not None  # decided, either way: not looked at again
    assert alerts.send_pending_alerts() == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_threshold_is_a_setting(sendgrid, session, small_model, monkeypatch):
    monkeypatch.setenv("ENGAGE_LONG_RUN_ALERT_SECONDS", "60")
    get_settings.cache_clear()
    run = _finished_run(session, small_model, RunStatus.succeeded, timedelta(minutes=2), "Solved.")
    alerts.run_finished(run.id)
    [email] = sendgrid.emails()
    assert email["subject"].endswith("finished after 2 minutes")
    assert "ends after more than 1 minute." in text_of(email)


def test_a_failed_run_emails_its_owner_whatever_it_took(sendgrid, session, small_model):
    message = "The model is infeasible: no dispatch can meet demand. Allow unmet demand in the scenario."
    run = _finished_run(session, small_model, RunStatus.failed, timedelta(seconds=4), message)
    alerts.run_finished(run.id)

    [email] = sendgrid.emails()
    assert email["subject"] == f"Run {run.id} of “Valley” failed"
    text = text_of(email)
    assert f"scenario “base”, failed after 4 seconds. What went wrong:\n\n{message}" in text
    assert f"{PUBLIC_URL}/runs/{run.id}" in text


def test_a_cancelled_run_emails_nobody(sendgrid, session, small_model):
    run = _finished_run(session, small_model, RunStatus.cancelled, timedelta(hours=2), "Cancelled while running.")
    alerts.run_finished(run.id)
    alerts.send_pending_alerts()
    assert sendgrid.requests == []


def test_a_run_failed_by_the_reconciler_emails_once(sendgrid, db_url, session, redis_url, small_model):
    """The worker holding the run died: no heartbeat for ten minutes, and Redis does not know it."""
    model, scenario = small_model
    now = runs.utcnow()
    run = Run(model_id=model.id, scenario_id=scenario.id, user_id=model.owner_id, status=RunStatus.solving,
              progress=40, started_at=now - timedelta(minutes=30), heartbeat_at=now - timedelta(minutes=10),
              worker_name="worker-that-died")
    session.add(run)
    session.commit()
    run.rq_job_id = jobqueue.run_job_id(run.id, "solve")
    session.commit()

    assert reconciler.reconcile_once().failed == [run.id]
    reconciler.reconcile_once()  # the next pass (and its sweep) must not email again

    [email] = sendgrid.emails()
    assert email["subject"] == f"Run {run.id} of “Valley” failed"
    assert runs.WORKER_LOST_MESSAGE in text_of(email) and "failed after 30 minutes" in text_of(email)
    assert len(sendgrid.requests) == 1


# --- never two --------------------------------------------------------------------------------

def test_every_path_that_finishes_a_run_together_sends_one_email(sendgrid, db_url, session, small_model):
    run = _finished_run(session, small_model, RunStatus.failed, timedelta(minutes=3), "The solver crashed.")
    # The job, rq's failure callback and several workers' sweeps, at the same moment ...
    callers = [threading.Thread(target=alerts.run_finished, args=(run.id,)) for _ in range(4)]
    callers += [threading.Thread(target=alerts.send_pending_alerts) for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(30)
    # ... and late ones.
    alerts.run_finished(run.id)
    assert alerts.send_pending_alerts() == []
    assert len(sendgrid.requests) == 1 and len(sendgrid.emails()) == 1


# --- SendGrid failing -----------------------------------------------------------------------------

def test_sendgrid_answering_500_is_logged_and_leaves_the_run_as_it_ended(sendgrid, db_url, session, small_model,
                                                                         caplog):
    sendgrid.status = 500
    run = _finished_run(session, small_model, RunStatus.failed, timedelta(minutes=3), "The solver crashed.")
    with caplog.at_level(logging.INFO, logger="jobs.alerts"):
        alerts.run_finished(run.id)  # does not raise
        assert alerts.send_pending_alerts() == []  # SendGrid may have taken it: not sent twice

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "owner@example.org" in errors[0] and "500" in errors[0], errors
    assert "stand-in says no" in errors[0]
    assert len(sendgrid.requests) == 1 and sendgrid.emails() == []
    with Session(db.get_engine(db_url)) as s:
        after = s.get(Run, run.id)
    assert (after.status, after.message, after.progress) == (RunStatus.failed, "The solver crashed.", 100)
    assert runs.as_utc(after.finished_at) == runs.as_utc(run.finished_at)


@pytest.mark.parametrize("failure", ["host down", "503"])
def test_an_email_sendgrid_could_not_take_is_sent_by_a_later_sweep(sendgrid, db_url, session, small_model,
                                                                   monkeypatch, caplog, failure):
    if failure == "host down":
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            closed = probe.getsockname()[1]
        monkeypatch.setenv("SENDGRID_API_HOST", f"http://127.0.0.1:{closed}")
        get_settings.cache_clear()
    else:
        sendgrid.status = 503
    run = _finished_run(session, small_model, RunStatus.failed, timedelta(minutes=3), "The solver crashed.")
    with caplog.at_level(logging.WARNING, logger="jobs.alerts"):
        alerts.run_finished(run.id)
    assert any("trying again later" in r.getMessage() for r in caplog.records)
    assert sendgrid.emails() == [] and _alerted_at(db_url, run.id) is None
    assert alerts.send_pending_alerts() == []  # this process waits a while before retrying

    # SendGrid is back, and the pause is over.
    sendgrid.status = 202
    monkeypatch.setenv("SENDGRID_API_HOST", sendgrid.url)
    get_settings.cache_clear()
    monkeypatch.setattr(alerts, "_sweep_paused_until", time.monotonic() - 1)
    assert alerts.send_pending_alerts() == [run.id]
    assert alerts.send_pending_alerts() == []
    [email] = sendgrid.emails()
    assert email["subject"] == f"Run {run.id} of “Valley” failed"
    assert _alerted_at(db_url, run.id) is not None


# --- through a real worker ----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_run_failing_in_a_worker_emails_its_owner_once(sendgrid, db_url, session, redis_url, small_model):
    """The hand-made model has no technologies: its build fails in the worker's work horse."""
    model, scenario = small_model
    view = runs.start_run(session=session, user_id=model.owner_id, scenario_id=scenario.id, solver="highs",
                          subset_start="2005-01-01", subset_end="2005-01-02", resample="")
    worker = start_worker("short", "long", burst=False, ENGAGE_RECONCILE_SECONDS="1", ENGAGE_WARM_CACHE="0")
    try:
        deadline = time.monotonic() + 90
        while not sendgrid.requests:
            assert worker.poll() is None and time.monotonic() < deadline, "no email; worker output in the log"
            time.sleep(0.1)
        time.sleep(3)  # a few more reconcile passes of the worker: still one email
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]

    with Session(db.get_engine(db_url)) as s:
        run = s.get(Run, view.id)
    assert run.status == RunStatus.failed, (run.status, run.message, output[-3000:])
    [email] = sendgrid.emails()
    assert len(sendgrid.requests) == 1, output[-3000:]
    assert email["personalizations"][0]["to"] == [{"email": "owner@example.org"}]
    assert email["subject"] == f"Run {view.id} of “Valley” failed"
    assert run.message in text_of(email) and f"{PUBLIC_URL}/runs/{view.id}" in text_of(email)
