"""Apply the alembic migrations from Python (CLI, tests, `make run`)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from engage_reflex.settings import PROJECT_ROOT, get_settings


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    cfg.attributes["url"] = url or get_settings().effective_database_url
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str | None = None) -> None:
    command.upgrade(alembic_config(url), "head")


def downgrade_all(url: str | None = None) -> None:
    command.downgrade(alembic_config(url), "base")
