"""The one place that reads the environment.

Every setting has a default that works on a developer's machine; `make run` and the
docker images override them through environment variables (see the README table).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    # Where everything the app writes lives: the SQLite file, run artefacts, exports.
    data_dir: Path = Field(default=PROJECT_ROOT / "data", alias="ENGAGE_DATA_DIR")
    # SQLAlchemy URL; empty means a SQLite file in data_dir.
    database_url: str = Field(default="", alias="DATABASE_URL")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", alias="REDIS_URL")
    # Prefix for RQ queue names, so tests and several deployments can share one Redis.
    queue_prefix: str = Field(default="", alias="ENGAGE_QUEUE_PREFIX")
    long_job_timeout: int = Field(default=24 * 3600, alias="ENGAGE_LONG_JOB_TIMEOUT")
    short_job_timeout: int = Field(default=3600, alias="ENGAGE_SHORT_JOB_TIMEOUT")
    # Runs longer than this trigger an email to the owner (when SendGrid is configured).
    long_run_alert_seconds: int = Field(default=600, alias="ENGAGE_LONG_RUN_ALERT_SECONDS")
    secret_key: str = Field(default=DEV_SECRET, alias="ENGAGE_SECRET_KEY")
    environment: str = Field(default="development", alias="ENGAGE_ENV")
    sendgrid_api_key: str = Field(default="", alias="SENDGRID_API_KEY")
    email_from: str = Field(default="engage@localhost", alias="ENGAGE_EMAIL_FROM")
    app_port: int = Field(default=3000, alias="ENGAGE_PORT")
    dashboard_port: int = Field(default=9181, alias="ENGAGE_DASHBOARD_PORT")
    dashboard_user: str = Field(default="admin", alias="ENGAGE_DASHBOARD_USER")
    dashboard_password: str = Field(default="", alias="ENGAGE_DASHBOARD_PASSWORD")
    # The worker's caches of Calliope's built-in math and parsing grammars (jobs/warm_cache.py).
    warm_cache: bool = Field(default=True, alias="ENGAGE_WARM_CACHE")
    # How often an open runs page looks at the database for status changes.
    status_poll_seconds: float = Field(default=0.5, alias="ENGAGE_STATUS_POLL_SECONDS")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Plain postgres URLs mean the psycopg 3 driver we ship.
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix):]
            return url
        return f"sqlite:///{self.data_dir / 'engage.db'}"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    def check_production(self) -> None:
        """Refuse to run in production with the development secret."""
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise RuntimeError("ENGAGE_SECRET_KEY must be set when ENGAGE_ENV=production")


@lru_cache
def get_settings() -> Settings:
    return Settings()
