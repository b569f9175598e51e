"""The web app's backend as a browser meets it, without a browser: `reflex run --backend-only` in
a process of its own, and its event websocket (engine.io + socket.io text frames)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EventSocket:
    """One browser tab's websocket: emit events by handler name, read the updates they send back."""

    NAMESPACE = "/_event"

    def __init__(self, port: int, client_token: str):
        import simple_websocket

        self.ws = simple_websocket.Client.connect(
            f"ws://127.0.0.1:{port}{self.NAMESPACE}/?EIO=4&transport=websocket&token={client_token}")
        opened = self.ws.receive(timeout=30)
        assert opened and opened.startswith("0"), f"no engine.io open: {opened!r}"
        self.ws.send(f"40{self.NAMESPACE},")
        deadline = time.monotonic() + 30
        while True:  # the namespace's connect answer; a ping may come first
            frame = self.ws.receive(timeout=max(0.1, deadline - time.monotonic()))
            if frame == "2":
                self.ws.send("3")
            elif frame and frame.startswith(f"40{self.NAMESPACE},"):
                break
            elif (frame and frame.startswith(f"44{self.NAMESPACE},")) or time.monotonic() > deadline:
                raise AssertionError(f"the event namespace did not accept the connection: {frame!r}")

    def emit(self, handler: str, payload: dict, path: str, query: dict[str, str] | None = None) -> None:
        as_path = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
        event = {"name": handler, "payload": payload,
                 "router_data": {"pathname": path, "asPath": as_path, "query": query or {}}}
        self.ws.send(f"42{self.NAMESPACE}," + json.dumps(["event", event]))

    def updates_until(self, done, timeout: float = 60) -> list[dict]:
        """The updates (deltas and events) received until `done(update)` is true."""
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self.ws.receive(timeout=1)
            if frame == "2":  # engine.io ping
                self.ws.send("3")
            elif frame and frame.startswith(f"42{self.NAMESPACE},"):
                name, update = json.loads(frame[len(self.NAMESPACE) + 3:])
                if name == "event":
                    seen.append(update)
                    if done(update):
                        return seen
        pytest.fail(f"no final update within {timeout} s; got {seen[-5:]}")

    def close(self) -> None:
        self.ws.close()


@contextlib.contextmanager
def running_backend(env: dict[str, str], log_path: Path, start_timeout: float = 300) -> Iterator[int]:
    """`reflex run --env prod --backend-only` with `env` (its database, Redis, secret); yields its port
    once a websocket connects, and stops it (its whole process group) afterwards."""
    port = free_port()
    log = open(log_path, "w")
    proc = subprocess.Popen([str(BIN / "reflex"), "run", "--env", "prod", "--backend-only",
                             "--backend-port", str(port), "--loglevel", "warning"],
                            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        started = time.monotonic()
        while True:
            try:
                EventSocket(port, f"probe-{uuid.uuid4().hex}").close()
                break
            except Exception as exc:  # not listening yet, or the handshake not answered yet
                if proc.poll() is not None or time.monotonic() - started > start_timeout:
                    pytest.fail(f"the backend did not answer on port {port} within "
                                f"{time.monotonic() - started:.0f} s (exit {proc.poll()}, last: {exc!r}):\n"
                                f"{log_path.read_text()[-3000:]}")
                time.sleep(1)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
