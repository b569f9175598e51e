"""The run's two logs through a real worker: the planner's log on the Run row (summary first,
no DEBUG lines, no traceback) and the full log file beside the run, downloadable."""

from __future__ import annotations

import warnings

import pytest
from sqlmodel import select

with warnings.catch_warnings():  # starlette 1.x suggests httpx2 for its test client; httpx works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from engage_reflex.api import api
from engage_reflex.settings import get_settings

from engage_reflex.models import Scenario
from engage_reflex.services import downloads, run_logs, runs, storage
from engage_reflex.services.errors import EngageError, NotFound
from tests.jobs.conftest import make_user, start_worker, watch_run

pytestmark = pytest.mark.slow


def _clean(log: str, message: str) -> None:
    assert log.startswith(message)
    assert "Traceback" not in log and 'File "' not in log and " DEBUG " not in log


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_glpk_check_feasibility_run_fails_in_words_with_both_logs(db_url, session, redis_url, national,
                                                                   monkeypatch):
    """The national sample's own `check_feasibility` scenario, run with GLPK (was an IndexError)."""
    model, _ = national
    scenario = session.exec(select(Scenario).where(Scenario.model_id == model.id,
                                                   Scenario.name == "check_feasibility")).one()
    view = runs.start_run(session=session, user_id=model.owner_id, scenario_id=scenario.id, solver="glpk",
                          subset_start="2005-01-04", subset_end="2005-01-04", resample="")
    run, seen, output = watch_run(db_url, view.id, start_worker("short", "long"))

    assert run.status == "failed", (run.message, output[-3000:])
    assert run.message.startswith("GLPK cannot check feasibility only"), run.message
    _clean(run.log, run.message)
    assert "Calliope's log" in run.log and "backend build starting" in run.log

    shown = run_logs.run_log_view(session=session, user_id=model.owner_id, run_id=view.id)
    assert shown.status == "failed" and shown.text == run.log.strip() and shown.has_raw_log
    raw = storage.get_store().read_bytes(
        run_logs.raw_log_path(session=session, user_id=model.owner_id, run_id=view.id)).decode()
    assert "Traceback (most recent call last)" in raw and "IndexError" in raw
    assert " DEBUG calliope.backend" in raw  # every detail of building the problem
    # ... and the operators' log (the worker's stdout, at INFO) has the traceback too.
    assert "Traceback (most recent call last)" in output and "IndexError" in output
    assert " DEBUG " not in output

    # The Log dialog's download button: a signed link to the full log of this failed run.
    monkeypatch.setenv("ENGAGE_SECRET_KEY", "test-" + "s3cret" * 8)
    get_settings.cache_clear()
    client = TestClient(api())
    answer = client.get(downloads.artefact_link(run_id=view.id, name=run_logs.RAW_LOG_ARTEFACT,
                                                user_id=model.owner_id))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert "Traceback (most recent call last)" in answer.text and answer.text == raw

    stranger = make_user(session, "stranger@example.org")
    # The sample is public: anyone reads its owner's runs, logs included. Made private, a stranger's
    # link (even a validly signed one) gets nothing.
    visitor_link = downloads.artefact_link(run_id=view.id, name=run_logs.RAW_LOG_ARTEFACT, user_id=0)
    assert client.get(visitor_link).text == raw
    model.is_public = False
    session.add(model)
    session.commit()
    assert client.get(visitor_link).status_code == 404
    refused = client.get(downloads.artefact_link(run_id=view.id, name=run_logs.RAW_LOG_ARTEFACT,
                                                 user_id=stranger.id))
    assert refused.status_code == 404 and "Traceback" not in refused.text
    with pytest.raises(NotFound):
        run_logs.raw_log_path(session=session, user_id=stranger.id, run_id=view.id)
    with pytest.raises(NotFound):
        run_logs.run_log_view(session=session, user_id=stranger.id, run_id=view.id)


def test_a_run_without_a_log_file_says_so(session, owner, small_model):
    from engage_reflex.models import Run, RunStatus

    model, scenario = small_model
    run = Run(model_id=model.id, scenario_id=scenario.id, user_id=owner.id, status=RunStatus.failed,
              message="Calliope could not read this model: x", log="Calliope could not read this model: x\n")
    session.add(run)
    session.commit()
    shown = run_logs.run_log_view(session=session, user_id=owner.id, run_id=run.id)
    assert shown.text == "Calliope could not read this model: x" and not shown.has_raw_log
    with pytest.raises(EngageError, match="no full log"):
        run_logs.raw_log_path(session=session, user_id=owner.id, run_id=run.id)


def test_an_overlong_log_keeps_its_summary_and_its_end():
    text = "The summary line.\n" + "".join(f"line {i}\n" for i in range(100_000)) + "the last line"
    clipped = run_logs.clip(text)
    assert len(clipped) <= run_logs.MAX_LOG_CHARS + 200
    assert clipped.startswith("The summary line.\nline 0\n") and clipped.endswith("the last line")
    assert "characters left out; download the full log" in clipped
    assert run_logs.clip("short") == "short"


def test_the_raw_log_names_match_the_worker_and_links_are_signed_for_it():
    from jobs import calliope_runner

    assert run_logs.RAW_LOG_FILE == calliope_runner.RAW_LOG
    link = downloads.artefact_link(run_id=5, name=run_logs.RAW_LOG_ARTEFACT, user_id=2, now=1000.0)
    assert link.startswith(f"/api/runs/5/{run_logs.RAW_LOG_ARTEFACT}?")
    params = dict(part.split("=") for part in link.split("?")[1].split("&"))
    assert downloads.check_link(run_id=5, name=run_logs.RAW_LOG_ARTEFACT, now=1000.0, **params) == 2
    with pytest.raises(EngageError):
        downloads.check_link(run_id=5, name="netcdf", now=1000.0, **params)


def test_what_the_log_dialog_reads_in_its_worker_thread(session, small_model):
    """The blocking part of the dialog's events: the log, and a signed link to the full log."""
    from urllib.parse import parse_qs, urlsplit

    from engage_reflex.models import Run, RunStatus
    from engage_reflex.services import users
    from engage_reflex.state.run_log import raw_log_link, read_log

    model, scenario = small_model
    users.register(session=session, email="reader@example.org", password="a long passphrase 1")
    token = users.login(session=session, email="reader@example.org", password="a long passphrase 1")
    planner = users.user_for_token(session=session, token=token)
    model.is_public = True  # the planner runs someone else's public model
    session.add(model)
    session.commit()
    run = Run(model_id=model.id, scenario_id=scenario.id, user_id=planner.id, status=RunStatus.failed,
              message="The model is infeasible.", log="The model is infeasible.\n\nCalliope's log: ...\n")
    session.add(run)
    session.commit()
    with pytest.raises(EngageError, match="no full log"):
        raw_log_link(token, run.id)
    run_logs.raw_log_file(run.id).parent.mkdir(parents=True)
    run_logs.raw_log_file(run.id).write_text("12:00:00 DEBUG calliope.backend: every detail\n")

    shown = read_log(token, run.id)
    assert shown.status == "failed" and shown.text.startswith("The model is infeasible.") and shown.has_raw_log
    link = urlsplit(raw_log_link(token, run.id))
    assert link.path == f"/api/runs/{run.id}/{run_logs.RAW_LOG_ARTEFACT}"
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert downloads.check_link(run_id=run.id, name=run_logs.RAW_LOG_ARTEFACT, **query) == planner.id
    with pytest.raises(EngageError, match="log in again"):
        read_log("not-a-token", run.id)
