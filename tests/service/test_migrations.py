"""The migrations build exactly the tables the code declares (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

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


# ---------------------------------------------------------------- 0005: JSON lists -> one blob per series

def _legacy_rows(conn) -> dict[str, int]:
    """A user, a model, three series as 0004 stored them (one used by a parameter), via Core only."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    meta = sa.MetaData()
    meta.reflect(conn, only=["users", "energy_models", "timeseries", "model_parameters"])

    def insert(table_name: str, /, **given) -> int:
        table = meta.tables[table_name]
        row = dict(given)
        for column in table.columns:  # fill what 0004 requires, whatever it is
            if column.name in row or column.nullable or column.primary_key or column.server_default is not None:
                continue
            kind = column.type.python_type if not isinstance(column.type, sa.JSON) else list
            row[column.name] = {str: "", bool: False, int: 0, list: [], dict: {}}.get(kind, datetime.now(UTC))
        return conn.execute(table.insert().values(**row).returning(table.c.id)).scalar_one()

    user = insert("users", email="old@example.org", password_hash="x")
    model = insert("energy_models", name="Old", owner_id=user, calliope_config={})
    ids = {
        "hourly": insert("timeseries", model_id=model, name="hourly", length=3,
                         timestamps=["2005-01-01T00:00:00", "2005-01-01T01:00:00", "2005-01-01T02:00:00"],
                         values=[1.5, None, -2.0]),
        "offset": insert("timeseries", model_id=model, name="offset", length=2,
                         timestamps=["2024-07-01T00:00:00+02:00", "2024-07-01T01:00:00+02:00"], values=[3, 4]),
        "empty": insert("timeseries", model_id=model, name="empty", timestamps=[], values=[]),
    }
    insert("model_parameters", model_id=model, name="time_steps", index_key="", timeseries_id=ids["hourly"])
    return ids


def test_series_move_into_blobs_and_back_without_losing_a_point(db_url):
    import numpy as np
    import sqlalchemy as sa
    from alembic import command

    from engage_reflex.migrations import alembic_config
    from engage_reflex.models.series_blob import unpack_stored

    config = alembic_config(db_url)
    command.downgrade(config, "0004")
    engine = db.get_engine(db_url)
    with engine.begin() as conn:
        ids = _legacy_rows(conn)
    command.upgrade(config, "head")

    with engine.connect() as conn:
        blobs = dict(conn.execute(sa.text("SELECT name, data FROM timeseries")).all())
        used = conn.execute(sa.text("SELECT timeseries_id FROM model_parameters")).scalar_one()
    stamps, values = unpack_stored(blobs["hourly"])
    assert np.datetime_as_string(stamps, unit="s").tolist() == ["2005-01-01T00:00:00", "2005-01-01T01:00:00",
                                                                "2005-01-01T02:00:00"]
    assert values[0] == 1.5 and np.isnan(values[1]) and values[2] == -2.0
    assert np.datetime_as_string(unpack_stored(blobs["offset"])[0], unit="s").tolist() == [
        "2024-06-30T22:00:00", "2024-06-30T23:00:00"]
    assert len(unpack_stored(blobs["empty"])[0]) == 0
    assert used == ids["hourly"]  # the parameter still points at its series

    command.downgrade(config, "0004")
    with engine.connect() as conn:
        rows = {name: (stamps, values) for name, stamps, values in conn.execute(
            sa.text('SELECT name, timestamps, "values" FROM timeseries')).all()}
    back = {name: tuple(json.loads(v) if isinstance(v, str) else v for v in pair) for name, pair in rows.items()}
    assert back["hourly"] == (["2005-01-01T00:00:00", "2005-01-01T01:00:00", "2005-01-01T02:00:00"],
                              [1.5, None, -2.0])
    assert back["offset"] == (["2024-06-30T22:00:00", "2024-06-30T23:00:00"], [3.0, 4.0])
    assert back["empty"] == ([], [])


# ------------------------------------------- 0003 -> head keeps what refers to a rebuilt table

def test_upgrading_a_database_with_data_keeps_every_technology_carrier(db_url):
    """0004 rebuilds `carriers` (SQLite batch mode); the rows that refer to it must survive."""
    from datetime import UTC, datetime

    import sqlalchemy as sa
    from alembic import command

    from engage_reflex.migrations import alembic_config

    config = alembic_config(db_url)
    command.downgrade(config, "0003")
    engine = db.get_engine(db_url)
    with engine.begin() as conn:
        meta = sa.MetaData()
        meta.reflect(conn, only=["users", "energy_models", "carriers", "technologies", "technology_carriers"])
        t = meta.tables

        def insert(table_name: str, /, **row) -> int:
            table = t[table_name]
            for column in table.columns:  # fill what 0003 requires, whatever it is
                if column.name in row or column.nullable or column.primary_key or column.server_default is not None:
                    continue
                kind = column.type.python_type if not isinstance(column.type, sa.JSON) else dict
                row[column.name] = {str: "x", bool: False, int: 0, dict: {}, list: []}.get(kind, datetime.now(UTC))
            return conn.execute(table.insert().values(**row).returning(table.c.id)).scalar_one()

        user = insert("users", email="old@example.org", password_hash="x")
        model = insert("energy_models", name="Old", owner_id=user)
        carrier = insert("carriers", model_id=model, name="power")
        tech = insert("technologies", model_id=model, name="pv", base_tech="supply")
        insert("technology_carriers", technology_id=tech, carrier_id=carrier, role="out")
    command.upgrade(config, "head")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM technology_carriers")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT name FROM carriers")).scalar_one() == "power"
        if conn.dialect.name == "sqlite":  # the app's connections still enforce references
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
