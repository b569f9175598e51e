"""Fault tests: no run stuck, none lost, whatever dies.

Real processes throughout: `python -m jobs.worker` (rq's forking worker, one work horse per job),
a redis-server each test starts on a free port of its own (so it can be killed and restarted
empty), the database, Calliope and HiGHS/CBC on the national_scale sample (building and solving
a few days of it takes several seconds, long enough to kill something mid-solve).

The workers reconcile every second and count a worker dead after 6 s without a heartbeat
(ENGAGE_RECONCILE_SECONDS / ENGAGE_WORKER_DEAD_SECONDS), and nobody calls list_runs/get_run
(which reconcile too): the workers alone must bring every run to a final state within 60 s.
Each test ends by counting stuck runs (still active) and lost ones (a run whose work should have
come back but did not), and by checking that no work horse or solver process is left behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
import redis
from sqlmodel import Session

from engage_reflex import db
from engage_reflex.models import Run, RunStatus
from engage_reflex.services import queue as jobqueue
from engage_reflex.services import runs
from engage_reflex.settings import get_settings
from tests.jobs.conftest import PROJECT_ROOT, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

FINAL_WITHIN_S = 60
DEAD_AFTER_S = 6
FINAL = {s.value for s in RunStatus if s.is_terminal}


# --- a Redis of the test's own ----------------------------------------------------------------

class RedisServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conn = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                if conn.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        conn.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart_empty(self) -> None:
        """What an operator's `systemctl restart redis` without persistence does: every job is gone."""
        self.kill()
        self.start()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_redis(monkeypatch) -> RedisServer:
    server = RedisServer(_free_port())
    server.start()
    monkeypatch.setenv("REDIS_URL", server.url)
    monkeypatch.setenv("ENGAGE_QUEUE_PREFIX", f"fault-{uuid.uuid4().hex[:6]}-")
    monkeypatch.setenv("ENGAGE_RECONCILE_SECONDS", "1")
    monkeypatch.setenv("ENGAGE_WORKER_DEAD_SECONDS", str(DEAD_AFTER_S))
    get_settings.cache_clear()
    try:
        yield server
    finally:
        server.kill()
        get_settings.cache_clear()


# --- workers ------------------------------------------------------------------------------------

class Workers:
    """Worker processes of one test, their output in files (a long-lived worker must not block
    on a full pipe), all killed at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.procs: list[subprocess.Popen] = []

    def start(self, *queues: str, **env: str) -> subprocess.Popen:
        log = open(self.directory / f"worker-{len(self.procs)}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "jobs.worker", *queues], cwd=PROJECT_ROOT,
                                env=worker_env(**env), stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = log.name  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def output(self) -> str:
        return "\n".join(f"--- {p.log_path} ---\n" + Path(p.log_path).read_text()[-4000:]  # type: ignore[attr-defined]
                         for p in self.procs)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def workers(tmp_path) -> Workers:
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def _status(db_url: str, run_id: int) -> Run:
    with Session(db.get_engine(db_url), expire_on_commit=False) as s:
        run = s.get(Run, run_id)
        s.expunge(run)
        return run


def _wait_for(db_url: str, run_id: int, predicate, what: str, workers: Workers, timeout: float) -> Run:
    deadline = time.monotonic() + timeout
    while True:
        run = _status(db_url, run_id)
        if predicate(run):
            return run
        if time.monotonic() > deadline or run.status in FINAL:
            raise AssertionError(f"run {run_id} is {run.status} ({run.message!r}), not {what}, after "
                                 f"{timeout} s\n{workers.output()}")
        time.sleep(0.1)


def _wait_alerted(db_url: str, run_id: int, timeout: float = 15) -> bool:
    """Whether the owner's alert was claimed: just after the run ended, in its own transaction."""
    deadline = time.monotonic() + timeout
    while _status(db_url, run_id).alerted_at is None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _wait_final(db_url, run_id, workers, timeout=FINAL_WITHIN_S) -> Run:
    return _wait_for(db_url, run_id, lambda r: r.status in FINAL, "final", workers, timeout)


def _wait_solving(db_url, run_id, workers, timeout=180) -> Run:
    return _wait_for(db_url, run_id, lambda r: r.status == "solving", "solving", workers, timeout)


def _horse_of(worker: subprocess.Popen, timeout: float = 20) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while True:
        children = psutil.Process(worker.pid).children()
        if children:
            return children[0]
        assert time.monotonic() < deadline, "the worker has no work horse"
        time.sleep(0.05)


def _tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return [process]


def _left_over(processes: list[psutil.Process], timeout: float = 10) -> list[str]:
    """Those of `processes` still running after `timeout` s (zombies waiting for init are dead)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for p in processes:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{p.pid} {' '.join(p.cmdline())[:80]}")
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def _stuck_or_lost(db_url: str, run_ids: list[int], *, must_succeed: bool = False) -> list[str]:
    """Runs still active (stuck) or, where the work should have come back, not succeeded (lost)."""
    bad = []
    for run_id in run_ids:
        run = _status(db_url, run_id)
        if run.status not in FINAL or (must_succeed and run.status != "succeeded"):
            bad.append(f"run {run_id}: {run.status} ({run.message})")
    return bad


def _start(session, user_id: int, scenario_id: int, *, day: str = "2005-01-01", end: str = "2005-01-02",
           solver: str = "highs"):
    return runs.start_run(session=session, user_id=user_id, scenario_id=scenario_id, solver=solver,
                          subset_start=day, subset_end=end, resample="")


# --- the faults ---------------------------------------------------------------------------------

def test_a_killed_work_horse_fails_its_run_at_once(db_url, session, own_redis, national, workers):
    model, scenario = national
    worker = workers.start("short", "long")
    view = _start(session, model.owner_id, scenario.id)
    _wait_solving(db_url, view.id, workers)
    horse = _horse_of(worker)
    doomed = _tree(horse)
    killed_at = time.monotonic()
    horse.kill()  # what the OOM killer does

    run = _wait_final(db_url, view.id, workers)
    assert time.monotonic() - killed_at < FINAL_WITHIN_S
    assert run.status == "failed" and run.message.startswith("The process solving this run stopped unexpectedly")
    assert run.artefacts == {} and run.finished_at
    assert _wait_alerted(db_url, view.id)  # the owner's alert went out
    assert _left_over(doomed) == []
    assert worker.poll() is None  # the worker lives on
    assert _stuck_or_lost(db_url, [view.id]) == []


def test_a_killed_worker_takes_its_horse_and_solver_along_and_another_worker_finalises(
        db_url, session, own_redis, national, workers):
    model, scenario = national
    survivor = workers.start("short")  # idle: it only reconciles
    worker = workers.start("short", "long")
    # CBC runs as a child process of the work horse: a month of national_scale keeps it busy.
    view = _start(session, model.owner_id, scenario.id, end="2005-01-31", solver="cbc")
    _wait_solving(db_url, view.id, workers)
    horse = _horse_of(worker)
    deadline = time.monotonic() + 120
    while not horse.children():  # the solver process has started
        assert time.monotonic() < deadline and _status(db_url, view.id).status == "solving", workers.output()
        time.sleep(0.1)
    doomed = _tree(horse)
    assert any("cbc" in " ".join(p.cmdline()) for p in doomed[1:]), [p.cmdline() for p in doomed]
    killed_at = time.monotonic()
    os.kill(worker.pid, signal.SIGKILL)  # the worker's parent process only
    worker.wait(10)

    assert _left_over(doomed, timeout=5) == []  # the horse and its solver died with the worker
    run = _wait_final(db_url, view.id, workers)
    assert time.monotonic() - killed_at < FINAL_WITHIN_S
    assert run.status == "failed" and run.message == runs.WORKER_LOST_MESSAGE, run.message
    assert run.termination == runs.WORKER_LOST
    # The owner's alert is claimed just after the failure is written (its own transaction).
    assert _wait_alerted(db_url, view.id)
    assert survivor.poll() is None
    assert _stuck_or_lost(db_url, [view.id]) == []


def test_worker_and_horse_killed_with_nobody_watching_a_later_worker_finalises(
        db_url, session, own_redis, national, workers):
    model, scenario = national
    worker = workers.start("short", "long")
    view = _start(session, model.owner_id, scenario.id)
    waiting = _start(session, model.owner_id, scenario.id, day="2005-01-03", end="2005-01-03")
    _wait_solving(db_url, view.id, workers)
    horse = _horse_of(worker)
    doomed = _tree(horse)
    for process in (horse, psutil.Process(worker.pid)):
        process.kill()
    worker.wait(10)
    killed_at = time.monotonic()
    assert _left_over(doomed) == []
    time.sleep(DEAD_AFTER_S / 2)
    assert _status(db_url, view.id).status == "solving"  # nobody left to notice, nobody looking

    workers.start("short", "long")  # e.g. the operator restarts the worker
    run = _wait_final(db_url, view.id, workers)
    assert time.monotonic() - killed_at < FINAL_WITHIN_S
    assert run.status == "failed" and run.termination == runs.WORKER_LOST, run.message
    # The run that was waiting behind it is served by the new worker.
    assert _wait_final(db_url, waiting.id, workers, timeout=180).status == "succeeded"
    assert _stuck_or_lost(db_url, [view.id, waiting.id]) == []


def test_queued_runs_survive_a_redis_restart(db_url, session, own_redis, national, workers):
    model, scenario = national
    days = ("2005-01-01", "2005-01-02", "2005-01-03")
    ids = [_start(session, model.owner_id, scenario.id, day=d, end=d).id for d in days]
    own_redis.restart_empty()  # before any worker took them: their jobs are gone
    assert jobqueue.queue("short").job_ids == []

    workers.start("short", "long")
    deadline = time.monotonic() + 240
    for run_id in ids:
        run = _wait_final(db_url, run_id, workers, timeout=max(1, deadline - time.monotonic()))
        assert run.status == "succeeded", (run.message, workers.output())
        assert run.enqueue_count == 1  # put back on the queue once, by the reconciler
    assert _stuck_or_lost(db_url, ids, must_succeed=True) == []


def test_a_redis_restart_mid_solve_loses_nothing(db_url, session, own_redis, national, workers):
    model, scenario = national
    worker = workers.start("short", "long")
    view = _start(session, model.owner_id, scenario.id, end="2005-01-03")
    _wait_solving(db_url, view.id, workers)
    horse = _horse_of(worker)
    own_redis.restart_empty()
    assert jobqueue.job_status(jobqueue.run_job_id(view.id, "solve")) is None

    run = _wait_final(db_url, view.id, workers, timeout=180)
    assert run.status == "succeeded", (run.message, workers.output())
    assert run.message.startswith("Solved in ") and run.objective
    assert worker.poll() is None and _left_over([horse]) == []
    # The worker goes on serving after the restart.
    after = _start(session, model.owner_id, scenario.id, day="2005-01-05", end="2005-01-05")
    assert _wait_final(db_url, after.id, workers, timeout=180).status == "succeeded", workers.output()
    assert _stuck_or_lost(db_url, [view.id, after.id], must_succeed=True) == []


def test_the_long_workers_own_time_limit_applies(db_url, session, own_redis, national, workers, monkeypatch):
    model, scenario = national
    monkeypatch.delenv("ENGAGE_LONG_JOB_TIMEOUT", raising=False)  # the app: default (a day)
    get_settings.cache_clear()
    workers.start("short")
    workers.start("long", ENGAGE_LONG_JOB_TIMEOUT="3")
    view = _start(session, model.owner_id, scenario.id, end="2005-01-05")
    started = time.monotonic()

    run = _wait_final(db_url, view.id, workers, timeout=180)
    assert run.status == "failed", (run.message, workers.output())
    assert run.message.startswith("The run exceeded its time limit of 3 seconds"), run.message
    assert time.monotonic() - started < 180
    assert _stuck_or_lost(db_url, [view.id]) == []
