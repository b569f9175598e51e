"""The RQ queues: `short` (uploads, preparing runs) and `long` (solves), on the settings' Redis.

Nothing connects at import; a connection is made per (process, URL) on first use, so a
forked work horse or a test that changes REDIS_URL never reuses a stale socket. Jobs are
referred to by dotted path, so the web app never imports the job code (and calliope).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from datetime import datetime
from typing import Literal

from redis import Redis
from rq import Callback, Queue
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.utils import utcparse
from rq.worker import Worker

from engage_reflex.settings import get_settings

QueueName = Literal["short", "long"]
QUEUE_NAMES: tuple[QueueName, ...] = ("short", "long")
# Job statuses after which the job will never write to its run again.
DEAD_JOB_STATUSES = frozenset({"failed", "stopped", "canceled"})

_connections: dict[tuple[int, str], Redis] = {}
_RUN_JOB_ID = re.compile(r"run-(\d+)-([a-z]+)$")


def redis_connection() -> Redis:
    url = get_settings().redis_url
    key = (os.getpid(), url)
    conn = _connections.get(key)
    if conn is None:
        # Short timeouts: a web request must fail fast with a clear message if Redis is down.
        conn = Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30)
        _connections[key] = conn
    return conn


def queue(name: QueueName) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    settings = get_settings()
    timeout = settings.short_job_timeout if name == "short" else settings.long_job_timeout
    return Queue(f"{settings.queue_prefix}{name}", connection=redis_connection(), default_timeout=timeout)


def queue_names(names: list[str] | tuple[str, ...] = QUEUE_NAMES) -> list[str]:
    prefix = get_settings().queue_prefix
    return [f"{prefix}{n}" for n in names]


def job_timeout(name: QueueName) -> int:
    settings = get_settings()
    return settings.short_job_timeout if name == "short" else settings.long_job_timeout


def run_job_id(run_id: int, step: str) -> str:
    """`<prefix>run-<id>-<step>`: predictable, and distinct per deployment sharing one Redis."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", get_settings().queue_prefix)
    return f"{prefix}run-{run_id}-{step}"


def parse_run_job_id(job_id: str) -> tuple[int, str] | None:
    m = _RUN_JOB_ID.search(job_id or "")
    return (int(m[1]), m[2]) if m else None


def enqueue_run_step(run_id: int, step: Literal["build", "solve"]) -> Job:
    """Enqueue jobs.tasks.<step>_run(run_id) with id `run-<id>-<step>` and the run callbacks."""
    name: QueueName = "short" if step == "build" else "long"
    return queue(name).enqueue(
        f"jobs.tasks.{step}_run",
        run_id,
        job_id=run_job_id(run_id, step),
        job_timeout=job_timeout(name),
        # The row is the record; rq only needs to remember the job long enough for reconciling.
        result_ttl=24 * 3600,
        failure_ttl=7 * 24 * 3600,
        on_failure=Callback("jobs.tasks.on_job_failure"),
        on_stopped=Callback("jobs.tasks.on_job_stopped"),
        description=f"{step} run {run_id}",
    )


def enqueue_email(function: str, *ids: int, description: str) -> Job:
    """An email job (jobs/account_emails.py) on the short queue: it takes the ids of the rows it
    emails about, and rq tries it again after 10 s, 1 min and 5 min when SendGrid could not take it."""
    from rq import Retry

    return queue("short").enqueue(
        function, *ids, job_timeout=job_timeout("short"), retry=Retry(max=3, interval=[10, 60, 300]),
        result_ttl=3600, failure_ttl=7 * 24 * 3600, description=description,
    )


def job_status(job_id: str) -> str | None:
    """'queued' | 'started' | 'finished' | 'failed' | 'stopped' | 'canceled' | ...; None if gone."""
    return job_statuses([job_id]).get(job_id)


def job_statuses(job_ids: list[str]) -> dict[str, str | None]:
    """Statuses of several jobs in one round trip (None for a job Redis no longer has)."""
    if not job_ids:
        return {}
    conn = redis_connection()
    with conn.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(Job.key_for(job_id), "status")
        raw = pipe.execute()
    return {jid: (value.decode() if value else None) for jid, value in zip(job_ids, raw, strict=True)}


def abandoned_job_ids() -> set[str]:
    """Jobs marked started whose worker stopped sending heartbeats (killed worker, lost host)."""
    found: set[str] = set()
    for name in QUEUE_NAMES:
        found.update(queue(name).started_job_registry.get_expired_job_ids())
    return found


def stop_job(job_id: str) -> str | None:
    """Cancel a waiting job or ask its worker to kill a running one. Returns the prior status."""
    conn = redis_connection()
    try:
        job = Job.fetch(job_id, connection=conn)
    except NoSuchJobError:
        return None
    status = job.get_status(refresh=False)
    status = getattr(status, "value", status)
    if status in ("queued", "deferred", "scheduled"):
        job.cancel()
    elif status == "started":
        try:
            send_stop_job_command(conn, job_id)
        except InvalidJobOperation:  # it finished in between
            pass
    return status


def worker_heartbeat(worker_name: str | None, job_id: str | None) -> datetime | None:
    """When the RQ worker `worker_name` last sent a heartbeat to Redis, if it is still running the
    job `job_id` (None: the worker or the job is gone, or the job is not running on it)."""
    if not worker_name or not job_id:
        return None
    conn = redis_connection()
    with conn.pipeline(transaction=False) as pipe:
        pipe.hmget(Worker.redis_worker_namespace_prefix + worker_name, ["last_heartbeat", "death"])
        pipe.hmget(Job.key_for(job_id), ["status", "worker_name"])
        (beat, death), (status, holder) = pipe.execute()
    if not beat or death or status != b"started" or holder != worker_name.encode():
        return None
    return utcparse(beat.decode())


# --- one run per double click -----------------------------------------------------------------

_PENDING = b"pending"


def start_key(*parts: object) -> str:
    """The Redis key naming one kind of run start (who, what, with which options)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"engage:{get_settings().queue_prefix}start:{digest}"


def reserve_start(key: str, seconds: float, wait_s: float = 2.0) -> tuple[bool, int | None]:
    """Take the right to start the run named by `key` for `seconds` (an atomic SET NX, so it holds
    across processes). Returns (True, None) to the caller that got it; the others get (False, id of
    the run it started), or (False, None) if that run was not recorded within `wait_s`."""
    conn = redis_connection()
    ttl_ms = max(1, int(seconds * 1000))
    deadline = time.monotonic() + wait_s
    while True:
        if conn.set(key, _PENDING, nx=True, px=ttl_ms):
            return True, None
        value = conn.get(key)
        if value is None:  # expired or released in between: try to take it again
            continue
        if value != _PENDING:
            return False, int(value)
        if time.monotonic() > deadline:
            return False, None
        time.sleep(0.02)


def take_over_start(key: str, seconds: float) -> None:
    redis_connection().set(key, _PENDING, px=max(1, int(seconds * 1000)))


def record_start(key: str, run_id: int, seconds: float) -> None:
    redis_connection().set(key, run_id, px=max(1, int(seconds * 1000)))


def release_start(key: str) -> None:
    redis_connection().delete(key)
