"""The migrations build exactly the tables the code declares (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import engage_reflex.models  # noqa: F401  (registers every table)
from engage_reflex import db


def test_migrated_schema_matches_the_tables(db_url):
    engine = db.get_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, SQLModel.metadata)
    # alembic's own version table is not part of the metadata
    diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name == "alembic_version")]
    assert diff == [], "a table changed without a migration (or the other way round):\n" + "\n".join(map(str, diff))
