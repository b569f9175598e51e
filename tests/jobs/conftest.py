"""Helpers for the run tests: users, a hand-made model, the seeded samples, a real worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from engage_reflex import db
from engage_reflex.models import EnergyModel, Run, Scenario, Timeseries, User
from engage_reflex.settings import get_settings
from tests.sendgrid_standin import SendGridStandIn

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SENDGRID_KEY = "SG.test-key"
PUBLIC_URL = "https://engage.example.org"


def make_user(session: Session, email: str) -> User:
    user = User(email=email, password_hash="not-used")
    session.add(user)
    session.commit()
    return user


@pytest.fixture
def sendgrid(db_url, monkeypatch):
    """The local SendGrid stand-in, and the settings that send every email of this process and of the
    workers it starts to it."""
    server = SendGridStandIn().start()
    monkeypatch.setenv("SENDGRID_API_KEY", SENDGRID_KEY)
    monkeypatch.setenv("SENDGRID_API_HOST", server.url)
    monkeypatch.setenv("ENGAGE_EMAIL_FROM", "engage@example.org")
    monkeypatch.setenv("ENGAGE_PUBLIC_URL", PUBLIC_URL + "/")  # as an operator may write it: links have one /
    get_settings.cache_clear()
    try:
        yield server
    finally:
        server.stop()
        get_settings.cache_clear()


@pytest.fixture
def owner(session) -> User:
    return make_user(session, "owner@example.org")


@pytest.fixture
def other(session) -> User:
    return make_user(session, "other@example.org")


@pytest.fixture
def small_model(session, owner):
    """A model row with one scenario and a timeseries spanning 2005: enough to validate runs."""
    model = EnergyModel(name="Valley", owner_id=owner.id, is_public=False)
    session.add(model)
    session.commit()
    scenario = Scenario(model_id=model.id, name="base")
    ts = Timeseries(model_id=model.id, name="demand", start=datetime(2005, 1, 1, tzinfo=UTC),
                    end=datetime(2005, 12, 31, 23, tzinfo=UTC), length=8760)
    session.add_all([scenario, ts])
    session.commit()
    return model, scenario


@pytest.fixture
def national(session, monkeypatch):
    """calliope's national_scale example, imported the way the app seeds its samples
    (only that one sample: urban_scale would cost seconds per test for nothing)."""
    from engage_reflex.services import samples

    monkeypatch.setattr(samples, "SAMPLE_EXAMPLES", ("national_scale",))
    samples.seed_samples(session=session)
    session.commit()
    model = session.exec(select(EnergyModel).where(EnergyModel.name.contains("National"))).first()
    assert model is not None, "seed_samples did not import national_scale"
    scenario = session.exec(select(Scenario).where(Scenario.model_id == model.id).order_by(Scenario.id)).first()
    return model, scenario


def worker_env(**extra: str) -> dict[str, str]:
    """The test's settings (DATABASE_URL, REDIS_URL, queue prefix, data dir) for a subprocess."""
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def start_worker(*queues: str, burst: bool = True, **env: str) -> subprocess.Popen:
    """A real `python -m jobs.worker` process (rq's forking Worker: one work horse per job)."""
    args = [sys.executable, "-m", "jobs.worker", *queues] + (["--burst"] if burst else [])
    return subprocess.Popen(args, cwd=PROJECT_ROOT, env=worker_env(**env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def watch_run(db_url: str, run_id: int, proc: subprocess.Popen, timeout: float = 120) -> tuple[Run, list[str], str]:
    """Poll the run row until the worker exits: the final row, the statuses seen, the worker output."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        with Session(db.get_engine(db_url)) as s:
            run = s.get(Run, run_id)
            status = str(getattr(run.status, "value", run.status))
        if not seen or seen[-1] != status:
            seen.append(status)
        if proc.poll() is not None:
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"worker still running after {timeout} s; statuses {seen}")
        time.sleep(0.05)
    output = proc.stdout.read() if proc.stdout else ""
    with Session(db.get_engine(db_url)) as s:
        run = s.get(Run, run_id)
        s.expunge(run)
    final = str(getattr(run.status, "value", run.status))
    if seen[-1] != final:
        seen.append(final)
    assert proc.returncode == 0, output
    return run, seen, output
