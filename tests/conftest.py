"""Shared fixtures: the database on SQLite and PostgreSQL, Redis, factories.

The same service and job tests run against both databases: `db_url` is parametrised.
PostgreSQL is required (CI starts it); set ENGAGE_TEST_SKIP_POSTGRES=1 to run SQLite only
on a machine without it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

# "We are tests": the only place the development secret is accepted (Settings.secret_problem).
# Set before anything reads the settings; subprocesses (workers, the e2e server) inherit it.
os.environ["ENGAGE_ENV"] = "test"

from engage_reflex import db
from engage_reflex.migrations import upgrade
from engage_reflex.settings import get_settings

PG_ADMIN_URL = os.environ.get(
    "ENGAGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_TEST_URL = os.environ.get("ENGAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _database_params() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("ENGAGE_TEST_SKIP_POSTGRES") != "1":
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


def _fresh_postgres_database() -> str:
    """A new empty database per test module's use, dropped afterwards by the fixture."""
    name = f"engage_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=_database_params())
def db_url(request, tmp_path: Path, monkeypatch) -> Iterator[str]:
    """A migrated, empty database; the app's Settings point at it for the test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'engage.db'}"
    else:
        url = _fresh_postgres_database()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    db.reset_engines()
    upgrade(url)
    try:
        yield url
    finally:
        db.reset_engines()
        get_settings.cache_clear()
        if request.param == "postgresql":
            _drop_postgres_database(url)


@pytest.fixture
def session(db_url):
    """A session on the test database; commits are real (services own their transactions)."""
    from sqlmodel import Session

    with Session(db.get_engine(db_url), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def redis_url(monkeypatch) -> Iterator[str]:
    """A Redis database of its own, flushed before and after, and a queue prefix per test."""
    import redis

    conn = redis.Redis.from_url(REDIS_TEST_URL)
    conn.flushdb()
    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    monkeypatch.setenv("ENGAGE_QUEUE_PREFIX", f"test-{uuid.uuid4().hex[:6]}-")
    get_settings.cache_clear()
    try:
        yield REDIS_TEST_URL
    finally:
        conn.flushdb()
        conn.close()
        get_settings.cache_clear()


@pytest.fixture(scope="session")
def calliope_examples_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("calliope")
    assert spec and spec.origin
    return Path(spec.origin).parent / "example_models"
