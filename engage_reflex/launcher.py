"""`engage serve`: everything `make run` starts, under one Ctrl-C.

It migrates the database, loads the sample models, then starts one `short` and one
`long` RQ worker and the Reflex app in production mode, prints the URL and waits.
The job dashboard (rq-dashboard) is part of the app, at /admin/rq, for administrators.
Ctrl-C (or SIGTERM) stops every process it started. If any of them dies, the others are
stopped too, so a half-running app never lingers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from engage_reflex.services.admin import DASHBOARD_ROUTE
from engage_reflex.settings import PROJECT_ROOT, UnsafeSecretError, ensure_secret, get_settings

READY_TIMEOUT_S = 600  # a cold frontend build (bun install + vite) can take minutes


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _spawn(name: str, argv: list[str], env: dict[str, str]) -> tuple[str, subprocess.Popen]:
    # A new session per child: Ctrl-C reaches us once, and we stop each child's whole group.
    proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, start_new_session=True)
    print(f"[engage] started {name} (pid {proc.pid})", flush=True)
    return name, proc


def _stop_all(children: list[tuple[str, subprocess.Popen]]) -> None:
    for _name, proc in children:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 15
    for _name, proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _wait_until_ready(
    url: str, children: list[tuple[str, subprocess.Popen]], stopping: threading.Event
) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and not stopping.is_set():
        for name, proc in children:
            if proc.poll() is not None:
                print(f"[engage] {name} exited with status {proc.returncode}", file=sys.stderr)
                return False
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(1)
    if stopping.is_set():
        return False
    print(f"[engage] the app did not answer at {url} within {READY_TIMEOUT_S} s", file=sys.stderr)
    return False


def serve(*, with_workers: bool = True) -> int:
    try:  # ENGAGE_SECRET_KEY, else the data directory's secret file, created on the first start
        secret = ensure_secret()
    except (UnsafeSecretError, OSError) as exc:
        print(f"[engage] error: {exc}", file=sys.stderr)
        return 1
    settings = get_settings()
    if not _redis_answers(settings.redis_url):
        print(
            f"[engage] Redis does not answer at {settings.redis_url}. Start it "
            "(`make run` does) or set REDIS_URL.",
            file=sys.stderr,
        )
        return 1

    from engage_reflex.migrations import upgrade
    from engage_reflex.services import samples

    upgrade()
    for line in samples.seed_from_cli():
        print(f"[engage] {line}", flush=True)

    env = dict(os.environ)
    env["ENGAGE_SECRET_KEY"] = secret  # the app and the workers share it
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    env.setdefault("REFLEX_CHECK_LATEST_VERSION", "false")
    env.setdefault("REFLEX_USE_SYSTEM_BUN", "true")
    env.setdefault("REFLEX_DIR", str(PROJECT_ROOT / ".reflex_home"))
    # With the Redis state manager Reflex would start 2 x CPUs + 1 web workers; one app process
    # is what `make run` needs (more replicas: set GRANIAN_WORKERS, or start more app processes).
    env.setdefault("GRANIAN_WORKERS", "1")
    bin_dir = Path(sys.executable).parent
    port = str(settings.app_port)

    children: list[tuple[str, subprocess.Popen]] = []
    stopping = threading.Event()

    def _on_signal(signum, _frame):
        stopping.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        if with_workers:  # without: workers run elsewhere (other machines, or started apart)
            children.append(_spawn("short worker", [sys.executable, "-m", "jobs.worker", "short"], env))
            children.append(_spawn("long worker", [sys.executable, "-m", "jobs.worker", "long"], env))
        children.append(_spawn(
            "app",
            [str(bin_dir / "reflex"), "run", "--env", "prod", "--single-port",
             "--frontend-port", port, "--backend-port", port, "--loglevel", "warning"],
            env,
        ))
        url = f"http://localhost:{port}"
        if not _wait_until_ready(url, children, stopping):
            return 0 if stopping.is_set() else 1
        print(f"Engage is ready at {url}", flush=True)
        print(f"Operators: the job dashboard is at {url}{DASHBOARD_ROUTE} (administrators: the first "
              "account registered, or `engage admin grant EMAIL`).", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stopping.is_set():
            for name, proc in children:
                if proc.poll() is not None:
                    print(f"[engage] {name} exited with status {proc.returncode}; stopping.",
                          file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        print("[engage] stopping…", flush=True)
        _stop_all(children)
