"""How fast a run's status reaches open pages: pushed over Redis pub/sub, against the 0.5 s poll.

One run of this script, on PostgreSQL and Redis on this machine:
1. a fresh database (`engage_bench_status`), a planner, a model and a run that is solving;
2. for each design (push: ENGAGE_STATUS_PUSH=true; poll: false, the page reads the database every
   ENGAGE_STATUS_POLL_SECONDS=0.5) the real web app is started (`reflex run --env prod
   --backend-only`), then 1 and 50 tabs are opened as websocket clients speaking Reflex's protocol
   (log in, open the model's Runs page: the same events the browser sends);
3. each round writes a new message on the run the way a worker does (`runs.update_active_run`,
   which commits, then publishes) and times, for every tab, how long until the runs list it is
   sent holds the new message. The delay counts from just before the commit;
4. with 50 tabs open and the run still solving but nothing changing, PostgreSQL's own counters
   (table scans of the bench database, pg_stat_user_tables) give the queries per tab-second.

Its last line is exactly
`status p95 ms: push-1 A, push-50 B, poll-1 C, poll-50 D, idle-queries-per-tab-s E` (targets: A, B
<= 250 and E <= 0.2; E is the push design's).
    .venv/bin/python bench/status_latency.py [--tabs 50] [--rounds 20] [--idle-seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB_NAME = "engage_bench_status"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
PASSWORD = "bench horse battery"
NAMESPACE = "/_event"
HEARTBEAT_S = 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_database() -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {DB_NAME}"))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{DB_NAME}"


def _environment(database_url: str, data_dir: Path, push: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_")}
    env.update({
        "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "ENGAGE_QUEUE_PREFIX": "bench-status-",
        "ENGAGE_DATA_DIR": str(data_dir), "ENGAGE_SECRET_KEY": secrets.token_urlsafe(48),
        "ENGAGE_STATUS_PUSH": "true" if push else "false", "ENGAGE_STATUS_POLL_SECONDS": "0.5",
        # Many tabs log in from one address: the limit counts failures only, but keep it out of the way.
        "ENGAGE_LOGIN_FAILURES_PER_ADDRESS": "1000",
        "PYTHONPATH": str(ROOT), "REFLEX_TELEMETRY_ENABLED": "false", "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_DIR": str(ROOT / ".reflex_home"), "REFLEX_WEB_WORKDIR": str(data_dir / "web"),
        "REFLEX_USE_SYSTEM_BUN": "true",
        # One app process, as `engage serve` runs it (more: more processes behind one entry, docker/).
        "GRANIAN_WORKERS": os.environ.get("BENCH_APP_WORKERS", "1"),
        "PATH": os.pathsep.join([str(ROOT / "tools" / "bun" / "node_modules" / ".bin"), str(BIN),
                                 os.environ.get("PATH", "")]),
    })
    return env


def _prepare(env: dict[str, str]) -> tuple[int, int, str]:
    """Migrate; a planner, a model with a scenario and a run that is solving. (model id, run id, email)."""
    subprocess.run([str(BIN / "engage"), "migrate"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "ENGAGE_QUEUE_PREFIX", "ENGAGE_DATA_DIR",
                                           "ENGAGE_SECRET_KEY")})
    from engage_reflex.settings import get_settings

    get_settings.cache_clear()
    from engage_reflex.db import session_scope
    from engage_reflex.models import EnergyModel, Run, RunStatus, Scenario
    from engage_reflex.services import users

    email = "planner@example.org"
    with session_scope() as session:
        user = users.register(session=session, email=email, password=PASSWORD)
        model = EnergyModel(name="Status bench", owner_id=user.id)
        session.add(model)
        session.commit()
        scenario = Scenario(model_id=model.id, name="base")
        session.add(scenario)
        session.commit()
        run = Run(model_id=model.id, scenario_id=scenario.id, user_id=user.id, status=RunStatus.solving,
                  progress=50, message="Solving with HiGHS", subset_start="2005-01-01", subset_end="2005-01-05",
                  worker_name="bench", heartbeat_at=datetime.now(UTC))
        session.add(run)
        session.commit()
        return model.id, run.id, email


class Tab:
    """One open Runs page: a socket.io client on Reflex's event namespace."""

    def __init__(self, port: int, names: dict[str, str]) -> None:
        import socketio

        self.port, self.names = port, names
        self.token = uuid.uuid4().hex
        self.sio = socketio.AsyncClient(reconnection=False)
        self.seen: dict[str, float] = {}  # message -> when this tab was sent a runs list holding it
        self.logged_in = asyncio.Event()
        self.loaded = asyncio.Event()
        self.sio.on("event", self._on_update, namespace=NAMESPACE)

    async def _on_update(self, update: dict) -> None:
        now = time.perf_counter()
        delta = update.get("delta", {}) if isinstance(update, dict) else {}
        if any(e.get("name") == "_redirect" for e in update.get("events", [])):
            self.logged_in.set()
        rows = delta.get(self.names["runs"], {}).get("runs_rx_state_")
        if rows is not None:
            self.loaded.set()
            for row in rows:
                self.seen.setdefault(row.get("message", ""), now)

    async def open(self, email: str, model_id: int) -> None:
        await self.sio.connect(f"http://127.0.0.1:{self.port}?token={self.token}", transports=["websocket"],
                               namespaces=[NAMESPACE], socketio_path="_event", wait_timeout=30)
        await self._emit(self.names["submit"], {"form": {"email": email, "password": PASSWORD}}, "/login", {})
        await asyncio.wait_for(self.logged_in.wait(), 60)
        path = f"/models/{model_id}/runs"
        await self._emit(self.names["load"], {}, path, {"model_id": str(model_id)})
        await asyncio.wait_for(self.loaded.wait(), 60)

    async def _emit(self, handler: str, payload: dict, path: str, query: dict) -> None:
        as_path = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
        event = {"name": handler, "payload": payload,
                 "router_data": {"pathname": path if "model_id" not in query else "/models/[model_id]/runs",
                                 "asPath": as_path, "query": query}}
        await self.sio.emit("event", event, namespace=NAMESPACE)

    async def close(self) -> None:
        await self.sio.disconnect()


def _state_names() -> dict[str, str]:
    from engage_reflex.state.login import LoginState
    from engage_reflex.state.runs import RunsState

    return {"submit": f"{LoginState.get_full_name()}.submit", "load": f"{RunsState.get_full_name()}.load",
            "runs": RunsState.get_full_name()}


def _start_app(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")
    proc = subprocess.Popen([str(BIN / "reflex"), "run", "--env", "prod", "--backend-only", "--backend-port", str(port),
                             "--loglevel", "warning"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    import urllib.request

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app stopped while starting:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the app did not answer within 300 s:\n{log_path.read_text()[-3000:]}")


def _stop_app(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _write_message(run_id: int, message: str, progress: int) -> float:
    """A worker's progress write (commit, then publish); returns the time just before the commit."""
    from engage_reflex.db import session_scope
    from engage_reflex.services import runs

    with session_scope() as session:
        started = time.perf_counter()
        runs.update_active_run(session=session, run_id=run_id, message=message, progress=progress)
    return started


def _heartbeat(run_id: int) -> None:
    """What a worker's parent does while it holds the run (else the app's reconciler fails the run)."""
    from engage_reflex.db import session_scope
    from engage_reflex.services import runs

    with session_scope() as session:
        runs.record_heartbeat(session=session, run_ids=[run_id], worker_name="bench")


async def _keep_alive(run_id: int) -> None:
    while True:
        await asyncio.to_thread(_heartbeat, run_id)
        await asyncio.sleep(HEARTBEAT_S)


def _table_scans(database_url: str) -> dict[str, int]:
    """Index and sequential scans so far, per table of the bench database (PostgreSQL's counters)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        rows = conn.execute(sa.text(
            "SELECT relname, COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) FROM pg_stat_user_tables")).all()
    engine.dispose()
    return {name: int(count) for name, count in rows}


async def _delays(tabs: list[Tab], run_id: int, rounds: int) -> list[float]:
    delays: list[float] = []
    for index in range(rounds):
        message = f"bench round {index} {uuid.uuid4().hex[:6]}"
        started = await asyncio.to_thread(_write_message, run_id, message, 10 + index % 80)
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline and not all(message in t.seen for t in tabs):
            await asyncio.sleep(0.005)
        missing = [t for t in tabs if message not in t.seen]
        if missing:
            print(f"  round {index}: {len(missing)} of {len(tabs)} tabs did not get it within 10 s", flush=True)
        delays += [(t.seen[message] - started) * 1000 for t in tabs if message in t.seen]
        await asyncio.sleep(random.uniform(0.2, 0.7))  # rounds fall anywhere in a poll's period
    return delays


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=20, method="inclusive")[18]


async def _open_tabs(port: int, email: str, model_id: int, count: int) -> list[Tab]:
    names = _state_names()
    opened: list[Tab] = []
    for _ in range(count):  # one after the other, as planners open pages
        tab = Tab(port, names)
        try:
            await tab.open(email, model_id)
        except Exception as exc:
            await asyncio.gather(*(t.close() for t in [*opened, tab]), return_exceptions=True)
            raise SystemExit(f"tab {len(opened) + 1} could not open the Runs page: {exc!r}") from exc
        opened.append(tab)
    return opened


async def _idle_queries(database_url: str, tabs: int, seconds: float) -> float:
    # A pooled connection that sits idle publishes its counters late (PostgreSQL 15: up to 10 s after it
    # went idle, seen later still): let the opening reads arrive before the first reading; later lags are
    # alike at both ends of the window. The breakdown printed shows what was counted.
    await asyncio.sleep(25)
    before = await asyncio.to_thread(_table_scans, database_url)
    await asyncio.sleep(seconds)
    after = await asyncio.to_thread(_table_scans, database_url)
    scans = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    scans["runs"] = max(0, scans.get("runs", 0) - round(seconds / HEARTBEAT_S))  # the bench's heartbeat writes
    busiest = ", ".join(f"{name} {n}" for name, n in sorted(scans.items(), key=lambda kv: -kv[1])[:4] if n)
    print(f"  idle: {sum(scans.values())} table scans in {seconds:.0f} s ({busiest or 'none'})", flush=True)
    return sum(scans.values()) / (tabs * seconds)


async def _design(port: int, email: str, model_id: int, run_id: int, database_url: str, many: int, rounds: int,
                  idle_seconds: float) -> tuple[dict[int, list[float]], float]:
    """Delays with 1 tab open, then with `many`; then queries per tab-second with `many` open and nothing
    changing. The run's heartbeat is kept fresh meanwhile, as its worker would."""
    beating = asyncio.create_task(_keep_alive(run_id))
    tabs: list[Tab] = []
    try:
        delays: dict[int, list[float]] = {}
        for count in (1, many):
            tabs += await _open_tabs(port, email, model_id, count - len(tabs))
            await asyncio.sleep(1.0)  # every page's watch is running
            delays[count] = await _delays(tabs, run_id, rounds)
        return delays, await _idle_queries(database_url, len(tabs), idle_seconds)
    finally:
        beating.cancel()
        await asyncio.gather(*(t.close() for t in tabs), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=30)
    args = parser.parse_args()

    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    database_url = _fresh_database()
    data_dir = Path(tempfile.mkdtemp(prefix="engage-status-bench-"))
    model_id, run_id, email = _prepare(_environment(database_url, data_dir, push=True))
    results: dict[str, float] = {}
    idle: dict[str, float] = {}
    for design in ("push", "poll"):
        env = _environment(database_url, data_dir, push=design == "push")
        env["ENGAGE_SECRET_KEY"] = os.environ["ENGAGE_SECRET_KEY"]  # the one the planner's logins are signed with
        port = _free_port()
        started = time.monotonic()
        proc = _start_app(env, port, data_dir / f"app-{design}.log")
        print(f"{design}: app answering after {time.monotonic() - started:.1f} s", flush=True)
        try:
            seconds = args.idle_seconds if design == "push" else min(args.idle_seconds, 10)
            delays, idle[design] = asyncio.run(_design(port, email, model_id, run_id, database_url, args.tabs,
                                                       args.rounds, seconds))
            for tabs, values in delays.items():
                results[f"{design}-{tabs}"] = _p95(values)
                print(f"  {tabs:>2} tab(s): {len(values)} delays, median {statistics.median(values):.0f} ms, "
                      f"p95 {results[f'{design}-{tabs}']:.0f} ms, max {max(values):.0f} ms", flush=True)
            print(f"  {args.tabs} tabs, a run solving, nothing changing: {idle[design]:.3f} queries per tab-second "
                  f"(over {seconds:.0f} s)", flush=True)
        finally:
            _stop_app(proc)
    print(f"status p95 ms: push-1 {results['push-1']:.0f}, push-{args.tabs} {results[f'push-{args.tabs}']:.0f}, "
          f"poll-1 {results['poll-1']:.0f}, poll-{args.tabs} {results[f'poll-{args.tabs}']:.0f}, "
          f"idle-queries-per-tab-s {idle['push']:.2f}")


if __name__ == "__main__":
    main()
