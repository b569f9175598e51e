"""Run changes pushed to the app processes that show them, over Redis pub/sub.

Whoever writes a run row (a worker, the reconciler, the app when a planner starts or cancels a
run) publishes the run's new view on one channel right after the commit (`publish`). Each app
process holds ONE subscriber (`RunChangeHub`, started with the first tab that watches) and hands
each change to the tabs watching that model (`Watcher`), which redraw the row from the message
without asking the database.

Messages can be lost (Redis restarts, the subscriber reconnects): the row stays the source of
truth. A watcher is told to reload after a reconnect, and the runs page still reads the database
now and then while one of its runs is going (Settings.status_fallback_seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from engage_reflex.schemas import RunView
from engage_reflex.settings import get_settings

LOGGER = logging.getLogger(__name__)
CHANNEL_NAME = "engage:run-changes"
# After the subscription breaks, wait this long before the next try (doubling up to the maximum).
RECONNECT_FIRST_S, RECONNECT_MAX_S = 0.5, 10.0


def channel() -> str:
    """The channel of this deployment (the queue prefix keeps test servers sharing a Redis apart)."""
    return f"{get_settings().queue_prefix}{CHANNEL_NAME}"


def encode(view: RunView | None, *, run_id: int, model_id: int, deleted: bool = False, log_id: str = "") -> str:
    return json.dumps({"run": run_id, "model": model_id, "deleted": deleted, "log": log_id, "at": time.time(),
                       "view": dataclasses.asdict(view) if view is not None else None})


@dataclass(frozen=True)
class RunChange:
    """One published change: the run's view as written (None when the run was deleted, or when only
    its live log grew: then `log_id` is the newest entry of its log stream, services/live_log_stream.py)."""

    run_id: int
    model_id: int
    view: RunView | None
    published_at: float
    log_id: str = ""

    @property
    def deleted(self) -> bool:
        return self.view is None and not self.log_id

    @classmethod
    def decode(cls, raw: bytes | str) -> RunChange | None:
        """The change in a message, or None for anything that is not one (logged, never raised)."""
        try:
            data = json.loads(raw)
            view = RunView(**data["view"]) if data.get("view") and not data.get("deleted") else None
            return cls(run_id=int(data["run"]), model_id=int(data["model"]), view=view,
                       published_at=float(data.get("at", 0)), log_id=str(data.get("log") or ""))
        except Exception:  # a foreign or older message on the channel
            LOGGER.warning("ignoring a message on the run-changes channel that is not a run change")
            return None


def publish(view: RunView | None, *, run_id: int, model_id: int, deleted: bool = False, log_id: str = "") -> None:
    """Tell every app process about this change. Never raises: the row is written either way, and the
    pages' slow database reads catch up with a change whose message was lost."""
    from engage_reflex.services.queue import redis_connection  # local: keeps rq out of importers

    try:
        redis_connection().publish(channel(), encode(view, run_id=run_id, model_id=model_id, deleted=deleted,
                                                     log_id=log_id))
    except Exception as exc:
        LOGGER.warning("could not publish the change of run %s (pages will see it later): %s", run_id, exc)


# --- the app process's side -------------------------------------------------------------------

@dataclass(eq=False)
class Watcher:
    """One tab's view of one model's runs, or of one run's log: the latest change per run since it
    last looked."""

    key: tuple[str, int]  # ("model", id): its runs' status; ("run", id): that run's status and log
    changes: dict[int, RunChange] = field(default_factory=dict)
    # The subscription broke and came back: messages may have been missed, read the database.
    resync: bool = False
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, change: RunChange) -> None:
        previous = self.changes.get(change.run_id)
        if previous is not None and change.log_id and not previous.log_id:
            change = dataclasses.replace(previous, log_id=change.log_id)  # keep the status it has not seen
        elif previous is not None and previous.log_id and not change.log_id:
            change = dataclasses.replace(change, log_id=previous.log_id)
        self.changes[change.run_id] = change  # a tab that is behind only needs the latest
        self._ready.set()

    def lost_messages(self) -> None:
        self.resync = True
        self._ready.set()

    async def next(self, timeout: float) -> tuple[dict[int, RunChange], bool] | None:
        """(changes by run id, resync) once something arrived; None after `timeout` seconds of quiet."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return None
        self._ready.clear()
        changes, resync = self.changes, self.resync
        self.changes, self.resync = {}, False
        return changes, resync


class RunChangeHub:
    """The one subscriber of an app process, and the tabs it serves."""

    def __init__(self) -> None:
        self._watchers: dict[tuple[str, int], set[Watcher]] = {}
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.received = 0  # messages taken off the channel (for tests and the bench)

    def watch(self, model_id: int) -> contextlib.AbstractAsyncContextManager[Watcher]:
        """The status changes of a model's runs, for as long as the block lasts."""
        return self._watching(("model", int(model_id)))

    def watch_run(self, run_id: int) -> contextlib.AbstractAsyncContextManager[Watcher]:
        """One run's status changes and the growth of its live log."""
        return self._watching(("run", int(run_id)))

    @contextlib.asynccontextmanager
    async def _watching(self, key: tuple[str, int]) -> AsyncIterator[Watcher]:
        self._ensure_listening()
        watcher = Watcher(key=key)
        self._watchers.setdefault(key, set()).add(watcher)
        try:
            yield watcher
        finally:
            group = self._watchers.get(key, set())
            group.discard(watcher)
            if not group:
                self._watchers.pop(key, None)

    @property
    def watching(self) -> int:
        return sum(len(group) for group in self._watchers.values())

    def dispatch(self, change: RunChange) -> None:
        groups = [self._watchers.get(("run", change.run_id), ())]
        if not change.log_id:  # the runs list has no use for log lines
            groups.append(self._watchers.get(("model", change.model_id), ()))
        for group in groups:
            for watcher in tuple(group):
                watcher.offer(change)

    def _ensure_listening(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            self._loop = loop
            self._task = loop.create_task(self._listen(), name="engage-run-changes")

    async def _listen(self) -> None:
        import redis.asyncio as aioredis

        delay = RECONNECT_FIRST_S
        while True:
            conn = aioredis.Redis.from_url(get_settings().redis_url, socket_connect_timeout=3,
                                           health_check_interval=30)
            pubsub = conn.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel())
                # What was published before (or while we were away) is gone: the tabs read the database.
                for group in tuple(self._watchers.values()):
                    for watcher in tuple(group):
                        watcher.lost_messages()
                delay = RECONNECT_FIRST_S
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    self.received += 1
                    change = RunChange.decode(message["data"])
                    if change is not None:
                        self.dispatch(change)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                LOGGER.warning("the run-changes subscription broke (%s); retrying in %.1f s", exc, delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                    await conn.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)


_hubs: dict[int, RunChangeHub] = {}


def hub() -> RunChangeHub:
    """This process's hub (a forked process gets its own)."""
    return _hubs.setdefault(os.getpid(), RunChangeHub())
