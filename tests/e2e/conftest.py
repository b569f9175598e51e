"""The app as `make run` starts it (`engage serve`), and a headless Chromium to drive it.

One server per test session: a fresh SQLite file and data dir, its own RQ queue prefix on
Redis database 14, on a free port. It sends email to a local SendGrid stand-in (`mailbox`), so
new accounts are activated through the link in their email, as a planner does. The first start builds the frontend (up to a few minutes
on a cold machine). At the end the launcher is asked to stop, which stops its workers and
the app; anything still alive after that is killed by process group.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engage_reflex.settings import PROJECT_ROOT
from tests import sendgrid_standin
from tests.sendgrid_standin import SendGridStandIn

READY_TIMEOUT_S = 300
E2E_REDIS_URL = os.environ.get("ENGAGE_E2E_REDIS_URL", "redis://127.0.0.1:6379/14")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port(preferred: int = 3117) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _forget_queues(prefix: str) -> None:
    """Drop this session's RQ keys (queues, jobs, registries) from the shared Redis database."""
    import redis

    conn = redis.Redis.from_url(E2E_REDIS_URL)
    keys = list(conn.scan_iter(match=f"*{prefix}*"))
    if keys:
        conn.delete(*keys)
    conn.srem("rq:queues", *[f"rq:queue:{prefix}{name}" for name in ("short", "long")])
    conn.close()


def _server_env(port: int, data_dir: Path, prefix: str) -> dict[str, str]:
    bin_dirs = [PROJECT_ROOT / "tools" / "bun" / "node_modules" / ".bin", Path(sys.executable).parent]
    return {
        **os.environ,
        # Each test server builds its frontend in its own folder: the build bakes in the port,
        # so two servers (or a developer's `make run`) sharing `.web` would point at each other.
        "REFLEX_WEB_WORKDIR": str(data_dir / "web"),
        "ENGAGE_PORT": str(port),
        "ENGAGE_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'engage.db'}",
        "REDIS_URL": E2E_REDIS_URL,
        "ENGAGE_QUEUE_PREFIX": prefix,
        "PATH": os.pathsep.join([*map(str, bin_dirs), os.environ.get("PATH", "")]),
        "REFLEX_USE_SYSTEM_BUN": "true",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "NPM_CONFIG_REGISTRY": "https://registry.npmjs.org",
        "REFLEX_DIR": str(PROJECT_ROOT / ".reflex_home"),
        "PYTHONUNBUFFERED": "1",
        "ENGAGE_PUBLIC_URL": f"http://localhost:{port}",  # the links in its emails
        **({"SENDGRID_API_KEY": "SG.e2e", "SENDGRID_API_HOST": sendgrid_standin.SHARED.url,
            "ENGAGE_EMAIL_FROM": "engage@example.org"} if sendgrid_standin.SHARED is not None else {}),
    }


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/ping", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _stop(proc: subprocess.Popen, child_pids: list[int]) -> None:
    """SIGTERM the launcher (it stops its children), then kill whatever is left, group by group."""
    groups = [proc.pid, *child_pids]
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            pass
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if proc.poll() is None:
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def app_data_dir(tmp_path_factory) -> Path:
    """The e2e server's data dir; its SQLite database is `engage.db` in it (tests may read it)."""
    return tmp_path_factory.mktemp("engage-e2e")


@pytest.fixture(scope="session")
def app_database_url(app_data_dir) -> str:
    return f"sqlite:///{app_data_dir / 'engage.db'}"


@pytest.fixture(scope="session")
def app_queue_prefix() -> str:
    """The e2e server's RQ queue prefix (a second app process on the same queues uses it too)."""
    return f"e2e-{uuid.uuid4().hex[:8]}-"


@pytest.fixture(scope="session")
def mailbox() -> Iterator[SendGridStandIn]:
    """Where the app servers' emails go (activation and password links)."""
    sendgrid_standin.SHARED = SendGridStandIn().start()
    try:
        yield sendgrid_standin.SHARED
    finally:
        sendgrid_standin.SHARED.stop()
        sendgrid_standin.SHARED = None


@pytest.fixture(scope="session")
def app_server(app_data_dir, app_queue_prefix, mailbox) -> Iterator[str]:
    engage = Path(sys.executable).parent / "engage"
    if not engage.exists():
        pytest.fail(f"{engage} is missing; run `.venv/bin/pip install -e . --no-deps`")
    if shutil.which("bun", path=str(PROJECT_ROOT / "tools" / "bun" / "node_modules" / ".bin")) is None \
            and shutil.which("bun") is None:
        pytest.fail("bun is missing; `make install` fetches it into tools/bun")
    data_dir = app_data_dir
    port = _free_port(3117 + os.getpid() % 400)  # apart from other sessions starting at once
    url = f"http://localhost:{port}"
    log_path = data_dir / "serve.log"
    log = open(log_path, "w")
    prefix = app_queue_prefix
    proc = subprocess.Popen([str(engage), "serve", "--no-dashboard"], cwd=PROJECT_ROOT,
                            env=_server_env(port, data_dir, prefix), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    ready = threading.Event()
    child_pids: list[int] = []

    def pump() -> None:  # copy the output to the log; note the children and the ready line
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            log.flush()
            if m := re.search(r"\(pid (\d+)\)", line):
                child_pids.append(int(m[1]))
            if "Engage is ready at" in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    started = time.monotonic()
    try:
        while not (ready.is_set() and _answers(url)):
            if proc.poll() is not None or time.monotonic() - started > READY_TIMEOUT_S:
                tail = log_path.read_text()[-4000:]
                pytest.fail(f"`engage serve` did not become ready (exit {proc.poll()}):\n{tail}")
            time.sleep(0.5)
        print(f"\n[e2e] engage serve ready at {url} after {time.monotonic() - started:.1f} s", flush=True)
        yield url
    finally:
        _stop(proc, child_pids)
        log.close()
        _forget_queues(prefix)


@pytest.fixture(scope="session")
def base_url(app_server) -> str:
    return app_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": shutil.which("chromium") or "/usr/bin/chromium",
            "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "accept_downloads": True}


# Toasts stack up bottom right for 4-10 s and sit over whatever is there (a table's buttons, the
# Download CSV button). A planner moves the mouse or waits; a test would click into the toast and
# time out. Toasts stay visible and are still asserted on; only clicks pass through them.
_TOASTS_LET_CLICKS_THROUGH = """
document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style');
  style.textContent = 'section[aria-label^="Notifications"], section[aria-label^="Notifications"] * '
    + '{ pointer-events: none !important; }';
  document.head.appendChild(style);
});
"""


@pytest.fixture
def context(context):
    context.add_init_script(_TOASTS_LET_CLICKS_THROUGH)
    return context
