"""The one place that reads the environment.

Every setting has a default that works on a developer's machine; `make run` and the
docker images override them through environment variables (see the README table).
"""

from __future__ import annotations

import os
import secrets
import stat
from functools import lru_cache
from pathlib import Path

from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The public development value: accepted only by the test suite (ENGAGE_ENV=test).
DEV_SECRET = "dev-secret-change-me"
MIN_SECRET_LENGTH = 32
# `engage serve` keeps the secret it generates here, inside ENGAGE_DATA_DIR.
SECRET_FILE_NAME = "secret_key"
# ENGAGE_ENV=test is how the test suite says "we are tests" (tests/conftest.py sets it).
TEST_ENVIRONMENT = "test"


class UnsafeSecretError(RuntimeError):
    """The secret key is missing, the public development value, too short or readable by others."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    # Where everything the app writes lives: the SQLite file, run artefacts, exports.
    data_dir: Path = Field(default=PROJECT_ROOT / "data", alias="ENGAGE_DATA_DIR")
    # Where run files (results, logs, inputs) live, shared by the app and every worker: empty means
    # data_dir itself (runs/<id>/...), a folder path or file:///folder a shared disk, and
    # s3://bucket/prefix any S3-compatible store (services/storage.py). Credentials come from the
    # standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION environment.
    artifacts_url: str = Field(default="", alias="ENGAGE_ARTIFACTS_URL")
    # The S3 endpoint of a store that is not AWS (MinIO, Ceph, moto in the tests); empty: AWS's own.
    artifacts_endpoint_url: str = Field(default="", alias="ENGAGE_ARTIFACTS_ENDPOINT_URL")
    # SQLAlchemy URL; empty means a SQLite file in data_dir.
    database_url: str = Field(default="", alias="DATABASE_URL")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", alias="REDIS_URL")
    # Prefix for RQ queue names, so tests and several deployments can share one Redis.
    queue_prefix: str = Field(default="", alias="ENGAGE_QUEUE_PREFIX")
    long_job_timeout: int = Field(default=24 * 3600, alias="ENGAGE_LONG_JOB_TIMEOUT")
    short_job_timeout: int = Field(default=3600, alias="ENGAGE_SHORT_JOB_TIMEOUT")
    # A run that took longer than this emails its owner when it ends (as Engage: 20 minutes);
    # a failed run always does (jobs/alerts.py, when SendGrid is configured).
    long_run_alert_seconds: int = Field(default=1200, alias="ENGAGE_LONG_RUN_ALERT_SECONDS")
    # Signs download links. Empty: read from data_dir/secret_key (written by `engage serve`).
    secret_key: str = Field(default="", alias="ENGAGE_SECRET_KEY")
    environment: str = Field(default="development", alias="ENGAGE_ENV")
    # Login rate limits: this many failed logins within the window lock the account / the address.
    login_failures_per_account: int = Field(default=5, alias="ENGAGE_LOGIN_FAILURES_PER_ACCOUNT")
    login_failures_per_address: int = Field(default=20, alias="ENGAGE_LOGIN_FAILURES_PER_ADDRESS")
    login_failure_window_seconds: int = Field(default=900, alias="ENGAGE_LOGIN_FAILURE_WINDOW_SECONDS")
    sendgrid_api_key: str = Field(default="", alias="SENDGRID_API_KEY")
    # Where SendGrid's v3 API answers (the tests run a stand-in of it on 127.0.0.1).
    sendgrid_api_host: str = Field(default="https://api.sendgrid.com", alias="SENDGRID_API_HOST")
    email_from: str = Field(default="engage@localhost", alias="ENGAGE_EMAIL_FROM")
    # The address planners open Engage at, for links in emails. Empty: http://localhost:<ENGAGE_PORT>.
    public_url: str = Field(default="", alias="ENGAGE_PUBLIC_URL")
    app_port: int = Field(default=3000, alias="ENGAGE_PORT")
    # The worker's caches of Calliope's built-in math and parsing grammars (jobs/warm_cache.py).
    warm_cache: bool = Field(default=True, alias="ENGAGE_WARM_CACHE")
    # Run status reaches open pages pushed over Redis pub/sub (services/run_events.py); while one of
    # its runs is going, a page still reads the database this often, for a message that was lost.
    status_push: bool = Field(default=True, alias="ENGAGE_STATUS_PUSH")
    status_fallback_seconds: float = Field(default=10, gt=0, alias="ENGAGE_STATUS_FALLBACK_SECONDS")
    # With ENGAGE_STATUS_PUSH=false (the measured baseline of bench/status_latency.py), how often an
    # open runs page polls the database instead.
    status_poll_seconds: float = Field(default=0.5, alias="ENGAGE_STATUS_POLL_SECONDS")
    # Run supervision (jobs/reconciler.py, read by each worker): how often a worker reconciles the
    # runs and refreshes the heartbeat of the run it holds; after how long without a heartbeat a
    # run's worker counts as dead; how often a queued run whose job vanished from Redis is put
    # back on its queue before it fails; how close two identical run starts are one double click.
    reconcile_seconds: int = Field(default=10, ge=1, alias="ENGAGE_RECONCILE_SECONDS")
    worker_dead_seconds: int = Field(default=40, ge=2, alias="ENGAGE_WORKER_DEAD_SECONDS")
    max_reenqueues: int = Field(default=3, ge=0, alias="ENGAGE_MAX_REENQUEUES")
    duplicate_run_seconds: float = Field(default=5, ge=0, alias="ENGAGE_DUPLICATE_RUN_SECONDS")
    # Bounds of a model import (services/calliope_io/confine.py): any one file's size, YAML
    # nesting, alias uses and values (aliases expanded) per file, import chain, files read.
    import_max_file_mb: float = Field(default=20, alias="ENGAGE_IMPORT_MAX_FILE_MB")
    import_max_yaml_depth: int = Field(default=64, alias="ENGAGE_IMPORT_MAX_YAML_DEPTH")
    import_max_yaml_aliases: int = Field(default=10_000, alias="ENGAGE_IMPORT_MAX_YAML_ALIASES")
    import_max_yaml_values: int = Field(default=1_000_000, alias="ENGAGE_IMPORT_MAX_YAML_VALUES")
    import_max_import_depth: int = Field(default=16, alias="ENGAGE_IMPORT_MAX_IMPORT_DEPTH")
    import_max_files: int = Field(default=200, alias="ENGAGE_IMPORT_MAX_FILES")
    import_max_total_mb: float = Field(default=40, alias="ENGAGE_IMPORT_MAX_TOTAL_MB")

    # Where secret_key came from: "env", "file", "test" (the development value in tests) or "".
    _secret_source: str = PrivateAttr(default="")
    _secret_file_problem: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _resolve_secret(self) -> "Settings":
        """ENGAGE_SECRET_KEY, else the data directory's secret file, else (tests only) DEV_SECRET."""
        self.secret_key = self.secret_key.strip()
        if self.secret_key:
            self._secret_source = "env"
            return self
        path = self.secret_file
        try:
            mode = path.stat().st_mode
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            value, mode = "", 0
        except OSError as exc:
            value, mode = "", 0
            self._secret_file_problem = f"the secret file {path} cannot be read ({exc.strerror})"
        if value:
            self.secret_key, self._secret_source = value, "file"
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                self._secret_file_problem = (
                    f"the secret file {path} can be read by other users; run `chmod 600 {path}`"
                )
        elif self.is_test:
            self.secret_key, self._secret_source = DEV_SECRET, "test"
        return self

    @model_validator(mode="after")
    def _resolve_urls(self) -> "Settings":
        """Base URLs without a trailing slash (paths are appended); the public URL defaults to this machine."""
        self.sendgrid_api_host = self.sendgrid_api_host.strip().rstrip("/")
        self.public_url = self.public_url.strip().rstrip("/") or f"http://localhost:{self.app_port}"
        return self

    @property
    def is_test(self) -> bool:
        return self.environment.strip().lower() == TEST_ENVIRONMENT

    @property
    def secret_file(self) -> Path:
        return self.data_dir / SECRET_FILE_NAME

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

    def secret_problem(self) -> str:
        """Why the secret key is not safe to run with ("" when it is). Tests may use any value."""
        if self.is_test:
            return ""
        if self._secret_file_problem:
            return self._secret_file_problem
        key = self.secret_key
        if not key:
            return "ENGAGE_SECRET_KEY is not set"
        if key == DEV_SECRET:
            return f"ENGAGE_SECRET_KEY is the public development value {DEV_SECRET!r}"
        if len(key) < MIN_SECRET_LENGTH:
            return f"ENGAGE_SECRET_KEY is too short ({len(key)} characters; at least {MIN_SECRET_LENGTH} are needed)"
        return ""

    def require_safe_secret(self) -> None:
        """Every entry point calls this first: refuse to run with a secret anyone could know."""
        problem = self.secret_problem()
        if problem:
            raise UnsafeSecretError(
                f"Engage will not start: {problem}. Anyone who knows the secret can forge download "
                f"links to every user's results. Set ENGAGE_SECRET_KEY to a long random value (at least "
                f"{MIN_SECRET_LENGTH} characters, the same for the app and every worker), e.g. the output of "
                "`python -c \"import secrets; print(secrets.token_urlsafe(48))\"` — or leave it unset and "
                f"start Engage with `engage serve`, which creates one in {self.secret_file}."
            )


@lru_cache
def get_settings() -> Settings:
    return Settings()


def exit_if_unsafe_secret() -> None:
    """For entry points (CLI, worker, web app): stop with the operator-facing message, status 1."""
    try:
        get_settings().require_safe_secret()
    except UnsafeSecretError as exc:
        raise SystemExit(f"error: {exc}") from None


def ensure_secret() -> str:
    """`engage serve`: the secret key, generated once into data_dir/secret_key (mode 0600) when
    ENGAGE_SECRET_KEY is unset and no secret file exists yet; the next start reuses the file."""
    settings = get_settings()
    if settings._secret_source in ("", "test") and not settings._secret_file_problem:
        _create_secret_file(settings.secret_file)
        get_settings.cache_clear()
        settings = get_settings()
    settings.require_safe_secret()
    return settings.secret_key


def _create_secret_file(path: Path) -> None:
    """Write a fresh random secret to `path` atomically, never replacing an existing file: the
    secret goes to a private temporary file first, then is hard-linked into place (which fails if
    another process got there first: its secret wins, and both use it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secrets.token_urlsafe(48) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
