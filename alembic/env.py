"""Alembic environment: the URL comes from Settings (or -x url=...), the tables from our models."""

from logging.config import fileConfig

from alembic import context
from sqlmodel import SQLModel

import engage_reflex.models  # noqa: F401  (registers every table)
from engage_reflex.db import get_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _url() -> str | None:
    return context.get_x_argument(as_dictionary=True).get("url") or config.attributes.get("url")


def run_migrations_offline() -> None:
    context.configure(url=_url() or str(get_engine().url), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = get_engine(_url())
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a table (copy, drop the old, rename). With foreign keys
            # on, dropping the old table cascades into the tables that refer to it (0004 emptied
            # technology_carriers that way) or is refused. SQLite's advice: switch them off for the
            # rebuild (outside any transaction) and check every reference before committing.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=True, compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:  # the pooled connection goes back as the app expects it
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
