""""Check model": a real worker reads the scenario with Calliope and answers; nothing is solved."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from engage_reflex.db import session_scope
from engage_reflex.models import Location, Run
from engage_reflex.services import model_check
from engage_reflex.services.errors import NotFound
from tests.jobs.conftest import start_worker

pytestmark = pytest.mark.slow


def _answer(db_url: str, job_id: str):
    proc = start_worker("short")
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    return model_check.calliope_read_result(job_id)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_calliope_reads_a_good_model_and_names_the_problem_of_a_bad_one(db_url, redis_url, national, owner, other):
    model, scenario = national
    with session_scope(db_url) as session:
        job_id = model_check.request_calliope_read(session=session, user_id=owner.id, scenario_id=scenario.id)
    assert model_check.calliope_read_result(job_id).done is False  # nobody has worked on it yet
    answer = _answer(db_url, job_id)
    assert answer.done and answer.ok, answer
    assert answer.seconds > 0

    # A location Calliope cannot accept: its reason comes back in words, nothing is run.
    with session_scope(db_url) as session:
        location = session.exec(select(Location).where(Location.model_id == model.id)).first()
        location.latitude = 200.0
        session.add(location)
    with session_scope(db_url) as session:
        job_id = model_check.request_calliope_read(session=session, user_id=owner.id, scenario_id=scenario.id)
    answer = _answer(db_url, job_id)
    assert answer.done and not answer.ok
    assert answer.problem.startswith("Calliope could not read this model"), answer.problem
    assert "latitude" in answer.problem
    with session_scope(db_url) as session:
        assert session.exec(select(Run)).all() == []

    # Somebody else's private model: as if it did not exist; a made-up job id is not an answer.
    with session_scope(db_url) as session:
        model_row = session.get(type(model), model.id)
        model_row.is_public = False
        session.add(model_row)
    with session_scope(db_url) as session, pytest.raises(NotFound):
        model_check.request_calliope_read(session=session, user_id=other.id, scenario_id=scenario.id)
    with pytest.raises(NotFound):
        model_check.calliope_read_result("run-1-build")
    with pytest.raises(NotFound):
        model_check.calliope_read_result(f"check-{scenario.id}-{time.time_ns()}")
