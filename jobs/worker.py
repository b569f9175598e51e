"""`python -m jobs.worker [short] [long] [--burst]`: an RQ worker on the app's prefixed queues.

The heavy libraries are imported here, once, before rq forks a work horse per job: each horse
starts with calliope, pyomo, highspy, xarray and pandas already loaded (importing them costs
1.2-1.5 s per process), with calliope's built-in math already read and its parsing grammars
built (jobs/warm_cache.py), and with those objects frozen out of the garbage collector's reach.
rq's forking `Worker` is used on purpose: a horse that dies (out of memory, killed) cannot take
the worker with it, and the worker then records the run as failed through
`tasks.on_work_horse_killed`. `EngageWorker` adds supervision to it:
- every ENGAGE_RECONCILE_SECONDS, idle or busy, it runs rq's maintenance (registry clean-up, which
  fails abandoned jobs) and jobs/reconciler.py, and refreshes the heartbeat of the run it holds;
- a horse dies with its worker (Linux PR_SET_PDEATHSIG), and so do the solver processes the horse
  starts; whatever is left of a horse's process group is killed when the horse ends;
- a job's time limit is this worker's own setting for the queue it came from
  (ENGAGE_SHORT_JOB_TIMEOUT / ENGAGE_LONG_JOB_TIMEOUT), whatever the enqueuing process had;
- Redis going away for a moment (a restart) does not stop it, nor the horse's solve.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import gc
import logging
import os
import signal
import subprocess
import sys
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Worker
from rq.utils import now as rq_now

LOGGER = logging.getLogger("jobs.worker")


def warm_imports() -> float:
    started = time.monotonic()
    import calliope  # noqa: F401
    import highspy  # noqa: F401
    import pandas  # noqa: F401
    import pyomo.environ  # noqa: F401
    import xarray  # noqa: F401

    import jobs.alerts  # noqa: F401
    import jobs.tasks  # noqa: F401
    from engage_reflex import models  # noqa: F401

    from sqlalchemy.orm import configure_mappers

    configure_mappers()  # otherwise every work horse configures the ORM again on its first query
    try:  # the PostgreSQL driver, if the deployment uses it
        import psycopg  # noqa: F401
    except ImportError:  # pragma: no cover
        pass
    warm_calliope()
    return time.monotonic() - started


def warm_calliope() -> None:
    """Memoise what calliope redoes for every model (its math YAML, its parsing grammars) and
    fill those caches now, so each work horse inherits them (see jobs/warm_cache.py). A failure
    here only costs speed: the worker then runs calliope unpatched. ENGAGE_WARM_CACHE=0 turns
    them off (to compare, or to rule them out when chasing a calliope problem)."""
    from engage_reflex.settings import get_settings
    from jobs import warm_cache

    if not get_settings().warm_cache:
        LOGGER.info("calliope warm caches off (ENGAGE_WARM_CACHE)")
        return
    try:
        warm_cache.install(prewarm=True)
    except Exception:
        LOGGER.exception("could not install the calliope warm caches; running without them")
        warm_cache.uninstall()


_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
_PR_SET_PDEATHSIG = 1


_prctl = None


def _set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Linux: this process gets `sig` when the thread that forked it ends (its parent dies).
    prctl is looked up once, in the horse: the child of a Popen must not load libraries."""
    global _prctl
    if not sys.platform.startswith("linux"):
        return False
    if _prctl is None:
        _prctl = ctypes.CDLL(None, use_errno=True).prctl
    return _prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(sig), ctypes.c_ulong(0), ctypes.c_ulong(0),
                  ctypes.c_ulong(0)) == 0


def _die_with_parent(parent_pid: int) -> None:
    """In a work horse: die when the worker dies, and make the processes it starts (CBC, GLPK) die
    when it dies. (The horse is its process group's leader; the worker kills the group too.)"""
    if not _set_parent_death_signal():
        return
    if os.getppid() != parent_pid:  # the worker died before the line above
        os._exit(1)
    horse = os.getpid()
    original = subprocess.Popen.__init__

    def child_dies_with_horse() -> None:  # runs in the child, between fork and exec
        _set_parent_death_signal()
        if os.getppid() != horse:
            os._exit(1)

    def popen_init(self, *args, **kwargs):
        # preexec_fn is Popen's 7th parameter; callers here pass it (if at all) by name.
        if len(args) <= 6 and kwargs.get("preexec_fn") is None:
            kwargs["preexec_fn"] = child_dies_with_horse
        original(self, *args, **kwargs)

    subprocess.Popen.__init__ = popen_init


class EngageWorker(Worker):
    """rq's forking Worker with run supervision (see the module docstring)."""

    def __init__(self, queues, *, reconcile_seconds: int, **kwargs):
        # Before rq's __init__: it sizes the connection's socket timeout from dequeue_timeout.
        self.reconcile_seconds = max(1, int(reconcile_seconds))
        # rq's own maintenance (registry clean-up: abandoned jobs, which rq only sees a minute after
        # their worker's last heartbeat anyway) every minute at most; the reconciler every interval.
        kwargs.setdefault("maintenance_interval", max(60, self.reconcile_seconds))
        # rq refreshes the worker's, the job's and the execution's heartbeats this often while busy.
        kwargs.setdefault("job_monitoring_interval", self.reconcile_seconds)
        super().__init__(queues, **kwargs)
        self._last_reconcile = 0.0
        self._parent_pid = os.getpid()
        self._horse_group = 0

    # --- the schedule: rq's idle loop wakes up and its monitoring loop ticks every interval ----

    @property
    def dequeue_timeout(self) -> int:
        return max(1, min(self.worker_ttl - 15, self.reconcile_seconds))

    @property
    def should_run_maintenance_tasks(self) -> bool:
        return time.monotonic() - self._last_reconcile >= self.reconcile_seconds * 0.9

    def run_maintenance_tasks(self) -> None:
        from jobs import reconciler

        self._last_reconcile = time.monotonic()
        if super().should_run_maintenance_tasks:
            try:
                super().run_maintenance_tasks()  # rq: registries (abandoned jobs), dead workers
            except _REDIS_DOWN as exc:
                self.log.warning("Worker %s: rq maintenance skipped, Redis is not reachable: %s", self.name, exc)
            except Exception:
                self.log.exception("Worker %s: rq maintenance failed", self.name)
            finally:
                self.last_cleaned_at = rq_now()
        reconciler.reconcile_once()

    def maintain_heartbeats(self, job, execution) -> None:
        """While the horse works: the run's heartbeat on its row (first: it does not need Redis),
        rq's heartbeats, and the scheduled maintenance."""
        from engage_reflex.services import queue as jobqueue
        from jobs import reconciler

        parsed = jobqueue.parse_run_job_id(job.id)
        if parsed:
            reconciler.heartbeat([parsed[0]], self.name)
        try:
            super().maintain_heartbeats(job, execution)
        except _REDIS_DOWN as exc:  # rq would let it end the worker, and with it the horse
            self.log.warning("Worker %s: no heartbeat to Redis (%s); the job goes on", self.name, exc)
        if self.should_run_maintenance_tasks:
            self.run_maintenance_tasks()

    # --- Redis restarting must not end the worker (nor, through it, a horse's solve) ----------

    def heartbeat(self, timeout=None, pipeline=None):
        try:
            super().heartbeat(timeout, pipeline)
        except _REDIS_DOWN as exc:
            self.log.warning("Worker %s: no heartbeat to Redis: %s", self.name, exc)

    def set_state(self, state, pipeline=None):
        try:
            super().set_state(state, pipeline)
        except _REDIS_DOWN as exc:
            self.log.warning("Worker %s: could not record state %s in Redis: %s", self.name, state, exc)

    def check_for_suspension(self, burst: bool) -> None:
        try:
            super().check_for_suspension(burst)
        except _REDIS_DOWN as exc:
            self.log.warning("Worker %s: could not check for suspension: %s", self.name, exc)

    # --- running a job ---------------------------------------------------------------------------

    def execute_job(self, job, queue) -> None:
        self._apply_queue_timeout(job, queue)
        try:
            super().execute_job(job, queue)
        finally:
            self._kill_horse_group()

    def _apply_queue_timeout(self, job, queue) -> None:
        """The time limit of this worker's settings for the job's queue (the enqueuing process may
        have had other settings): rq enforces job.timeout in the horse and the monitor; the jobs
        read it for the solver's own time limit; Redis keeps it for the callbacks."""
        from engage_reflex.services import queue as jobqueue
        from engage_reflex.settings import get_settings

        settings = get_settings()
        limits = dict(zip(jobqueue.queue_names(), (settings.short_job_timeout, settings.long_job_timeout),
                          strict=True))
        timeout = limits.get(queue.name)
        if timeout and job.timeout != timeout:
            self.log.info("Worker %s: job %s time limit %s s (this worker's setting for %s)", self.name, job.id,
                          timeout, queue.name)
            job.timeout = timeout
            try:
                self.connection.hset(job.key, "timeout", timeout)
            except _REDIS_DOWN:
                pass

    def fork_work_horse(self, job, queue) -> None:
        self._parent_pid = os.getpid()
        super().fork_work_horse(job, queue)
        self._horse_group = self.horse_pid  # the horse leads its own process group (rq: setpgrp)

    def main_work_horse(self, job, queue) -> None:
        _die_with_parent(self._parent_pid)
        super().main_work_horse(job, queue)

    def _kill_horse_group(self) -> None:
        """The horse has ended: end whatever it started that outlived it (a solver process)."""
        group, self._horse_group = self._horse_group, 0
        if group:
            try:
                os.killpg(group, signal.SIGKILL)
                self.log.info("Worker %s: killed processes left over by horse %s", self.name, group)
            except OSError as exc:
                if exc.errno not in (errno.ESRCH, errno.EPERM):
                    raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="engage-worker", description=__doc__.splitlines()[0])
    parser.add_argument("queues", nargs="*", metavar="QUEUE",
                        help="short and/or long, in priority order (default: short long)")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument("--name", default=None, help="worker name (default: random)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from engage_reflex.settings import exit_if_unsafe_secret  # refuse a secret anyone could know

    exit_if_unsafe_secret()
    unknown = [q for q in args.queues if q not in ("short", "long")]
    if unknown:
        parser.error(f"unknown queue(s) {', '.join(unknown)}: use short and/or long")
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    seconds = warm_imports()

    from engage_reflex.services import queue as jobqueue
    from engage_reflex.settings import get_settings
    from jobs import tasks

    # The ~190k objects the imports created live as long as the worker. Frozen, they are out of
    # the collector's reach: a work horse's full collections no longer walk them (nor copy their
    # pages on write). Measured on national_scale: gc time per solve job 1.5 s -> 0.55 s.
    gc.collect()
    gc.freeze()
    names = jobqueue.queue_names(tuple(args.queues) or jobqueue.QUEUE_NAMES)
    LOGGER.info("imports took %.1f s; working on %s", seconds, ", ".join(names))
    worker = EngageWorker(names, connection=jobqueue.redis_connection(), name=args.name,
                          work_horse_killed_handler=tasks.on_work_horse_killed,
                          reconcile_seconds=get_settings().reconcile_seconds)
    worker.work(burst=args.burst, logging_level="INFO")
    return 0


if __name__ == "__main__":
    sys.exit(main())
