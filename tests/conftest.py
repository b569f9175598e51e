"""Shared fixtures: the database on SQLite and PostgreSQL, Redis, factories.

The same service and job tests run against both databases: `db_url` is parametrised.
PostgreSQL is required (CI starts it); set ENGAGE_TEST_SKIP_POSTGRES=1 to run SQLite only
on a machine without it.
"""

from __future__ import annotations

import os
import shutil
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
# Under pytest-xdist each worker gets its own Redis database (the fixture flushes it).
_XDIST_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
REDIS_TEST_URL = os.environ.get("ENGAGE_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{15 - 2 * _XDIST_WORKER}")


def _database_params() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("ENGAGE_TEST_SKIP_POSTGRES") != "1":
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


def _admin_execute(sql: str) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(sql))
    admin.dispose()


def _postgres_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def _migrated_templates(tmp_path_factory) -> Iterator[dict[str, str]]:
    """One migrated empty database per kind, made once: each test gets a copy (migrating per
    test took seconds on PostgreSQL, minutes over the suite)."""
    templates: dict[str, str] = {}
    path = tmp_path_factory.mktemp("template") / "engage.db"
    upgrade(f"sqlite:///{path}")
    templates["sqlite"] = str(path)
    pg_name = None
    if os.environ.get("ENGAGE_TEST_SKIP_POSTGRES") != "1":
        pg_name = f"engage_tmpl_{uuid.uuid4().hex[:10]}"
        _admin_execute(f'CREATE DATABASE "{pg_name}"')
        upgrade(_postgres_url(pg_name))
        templates["postgresql"] = pg_name
    db.reset_engines()  # no connection may stay open on a template database
    try:
        yield templates
    finally:
        db.reset_engines()
        if pg_name:
            _admin_execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


@pytest.fixture(params=_database_params())
def db_url(request, tmp_path: Path, monkeypatch, _migrated_templates) -> Iterator[str]:
    """A migrated, empty database; the app's Settings point at it for the test."""
    if request.param == "sqlite":
        path = tmp_path / "engage.db"
        shutil.copyfile(_migrated_templates["sqlite"], path)
        url = f"sqlite:///{path}"
    else:
        name = f"engage_test_{uuid.uuid4().hex[:10]}"
        _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{_migrated_templates["postgresql"]}"')
        url = _postgres_url(name)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    db.reset_engines()
    try:
        yield url
    finally:
        db.reset_engines()
        get_settings.cache_clear()
        if request.param == "postgresql":
            _admin_execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


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
