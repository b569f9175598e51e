"""A run's live log on Redis, so that any app process shows it, wherever the worker runs.

The worker (jobs/tasks.py) runs a `LiveLogPublisher` beside each job of a run: every
PUBLISH_EVERY_S it reads what is new in its work folder's run.log and HiGHS log (the planner's
lines only: run_logs.read_live_files), appends it to the run's Redis stream and announces it on the
run-changes channel (run_events), where the Log dialogs watching that run pick it up. A browser
keeps the id of the last entry it was sent and asks for what came after it (`read_since`).

The stream is capped (STREAM_MAX_ENTRIES) and expires STREAM_TTL_S after its last line; the full
log stays in the run files store. Entries carry the file offsets they end at, so the run's next
job (the solve, maybe on another machine) goes on where the build stopped.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from engage_reflex.services import run_events
from engage_reflex.settings import get_settings

LOGGER = logging.getLogger(__name__)
PUBLISH_EVERY_S = 0.25
STREAM_MAX_ENTRIES = 5000
STREAM_TTL_S = 24 * 3600
_RESTART = "restart"


def stream_key(run_id: int) -> str:
    return f"{get_settings().queue_prefix}engage:run-log:{int(run_id)}"


def _redis():
    from engage_reflex.services.queue import redis_connection  # local: keeps rq out of importers

    return redis_connection()


@dataclass(frozen=True)
class LiveLines:
    """What a run's live log got since an entry id."""

    text: str
    last_id: str  # ask for what comes after this next time ("" when the stream is empty)
    restarted: bool  # the run's log started over since: drop what is shown first


def read_since(run_id: int, after: str = "") -> LiveLines:
    """The run's live lines after entry `after` ("" = from the start). Blocking (Redis)."""
    start = f"({after}" if after else "-"
    entries = _redis().xrange(stream_key(run_id), min=start, max="+", count=STREAM_MAX_ENTRIES)
    parts: list[str] = []
    restarted, last_id = False, after
    for entry_id, fields in entries:
        last_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        if fields.get(b"kind", b"").decode() == _RESTART:
            parts, restarted = [], bool(after)
            continue
        parts.append(fields.get(b"text", b"").decode("utf-8", errors="replace"))
    return LiveLines(text="".join(parts), last_id=last_id, restarted=restarted)


def _append(run_id: int, model_id: int, fields: dict[str, str | int]) -> str:
    conn = _redis()
    key = stream_key(run_id)
    with conn.pipeline(transaction=False) as pipe:
        pipe.xadd(key, fields, maxlen=STREAM_MAX_ENTRIES, approximate=True)
        pipe.expire(key, STREAM_TTL_S)
        entry_id = pipe.execute()[0]
    entry_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    run_events.publish(None, run_id=run_id, model_id=model_id, log_id=entry_id)
    return entry_id


def start_over(*, run_id: int, model_id: int) -> None:
    """The run's first job begins (again): what an earlier attempt showed is dropped."""
    _redis().delete(stream_key(run_id))
    _append(run_id, model_id, {"kind": _RESTART, "offset": 0, "solver_offset": 0})


def last_offsets(run_id: int) -> tuple[int, int]:
    """Where the run's log files were read up to by its last job (0, 0 for none)."""
    entries = _redis().xrevrange(stream_key(run_id), count=1)
    if not entries:
        return 0, 0
    fields = entries[0][1]
    return int(fields.get(b"offset", 0)), int(fields.get(b"solver_offset", 0))


class LiveLogPublisher:
    """A thread that streams a job's new log lines while the job runs (a context manager)."""

    def __init__(self, *, run_id: int, model_id: int, work_dir: Path, fresh: bool) -> None:
        self.run_id, self.model_id, self.work_dir, self.fresh = run_id, model_id, Path(work_dir), fresh
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.offset = self.solver_offset = 0

    def __enter__(self) -> LiveLogPublisher:
        try:
            if self.fresh:
                start_over(run_id=self.run_id, model_id=self.model_id)
            else:
                self.offset, self.solver_offset = last_offsets(self.run_id)
        except Exception as exc:  # Redis away: the run goes on, only its live view stays empty
            LOGGER.warning("run %s: no live log (%s)", self.run_id, exc)
            return self
        self._thread = threading.Thread(target=self._loop, name=f"live-log-{self.run_id}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=5)
        self.publish_new()  # the job's last lines

    def _loop(self) -> None:
        while not self._stop.wait(PUBLISH_EVERY_S):
            self.publish_new()

    def publish_new(self) -> None:
        from engage_reflex.services.run_logs import RAW_LOG_FILE, read_live_files  # run_logs reads this module

        if not (self.work_dir / RAW_LOG_FILE).is_file():  # not begun (or not yet fetched from the store)
            return
        try:
            text, offset, solver_offset, restarted = read_live_files(self.work_dir, self.offset, self.solver_offset)
            if restarted:  # this machine's file is not the one the last job read: read it from its start
                text, offset, solver_offset, _ = read_live_files(self.work_dir, 0, 0)
            if text:
                _append(self.run_id, self.model_id, {"text": text, "offset": offset, "solver_offset": solver_offset})
            self.offset, self.solver_offset = offset, solver_offset
        except Exception as exc:
            LOGGER.warning("run %s: could not stream its live log: %s", self.run_id, exc)
