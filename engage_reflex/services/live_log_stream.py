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
import time
from dataclasses import dataclass
from pathlib import Path

from engage_reflex.services import run_events, storage
from engage_reflex.settings import get_settings

LOGGER = logging.getLogger(__name__)
PUBLISH_EVERY_S = 0.25
STORE_LOG_EVERY_S = 30.0  # how often a long job puts its full log so far into an S3 store
STREAM_MAX_ENTRIES = 5000
STREAM_TTL_S = 24 * 3600
_RESTART = "restart"
# A dialog keeps at most this many characters of a run's live log (run_logs.LIVE_MAX_BYTES): its
# first read goes back from the newest entry only that far (a long solve's stream holds thousands).
FIRST_READ_CHARS = 200_000
_TAIL_BATCH = 200


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


def read_since(run_id: int, after: str = "", *, first_chars: int = FIRST_READ_CHARS) -> LiveLines:
    """The run's live lines after entry `after`. Blocking (Redis). A first read ("") starts from
    the newest entries and goes back only until it holds more than `first_chars` characters
    (a dialog shows only that much of the tail) or reaches the attempt's start."""
    if not after:
        return _read_tail(run_id, first_chars)
    entries = _redis().xrange(stream_key(run_id), min=f"({after}", max="+", count=STREAM_MAX_ENTRIES)
    parts: list[str] = []
    restarted, last_id = False, after
    for entry_id, fields in entries:
        last_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        if fields.get(b"kind", b"").decode() == _RESTART:
            parts, restarted = [], bool(after)
            continue
        parts.append(fields.get(b"text", b"").decode("utf-8", errors="replace"))
    return LiveLines(text="".join(parts), last_id=last_id, restarted=restarted)


def _read_tail(run_id: int, first_chars: int) -> LiveLines:
    conn, key = _redis(), stream_key(run_id)
    parts: list[str] = []
    size, last_id, upper = 0, "", "+"
    while size <= first_chars:
        entries = conn.xrevrange(key, max=upper, min="-", count=_TAIL_BATCH)
        for entry_id, fields in entries:
            entry_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            last_id = last_id or entry_id
            if fields.get(b"kind", b"").decode() == _RESTART:  # this attempt's lines all read
                return LiveLines(text="".join(reversed(parts)), last_id=last_id, restarted=False)
            parts.append(fields.get(b"text", b"").decode("utf-8", errors="replace"))
            size += len(parts[-1])
            if size > first_chars:
                break
            upper = f"({entry_id}"
        if len(entries) < _TAIL_BATCH:
            break
    return LiveLines(text="".join(reversed(parts)), last_id=last_id, restarted=False)


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
        self._stored_size, self._stored_at = -1, time.monotonic()

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
            if time.monotonic() - self._stored_at >= STORE_LOG_EVERY_S:
                self.store_full_log()

    def store_full_log(self) -> None:
        """On an S3 store, the full log so far (when it grew): "Download full log" during a long
        job then shows more than the last finished job's lines. A local store has it in place."""
        from engage_reflex.services.run_logs import RAW_LOG_FILE  # run_logs reads this module

        self._stored_at = time.monotonic()
        path = self.work_dir / RAW_LOG_FILE
        try:
            size = path.stat().st_size
            store = storage.get_store()
            if store.is_local or size == self._stored_size:
                return
            store.upload(path, storage.join_key(storage.run_prefix(self.run_id), RAW_LOG_FILE))
            self._stored_size = size
        except FileNotFoundError:
            return
        except Exception as exc:  # the job stores it at its end anyway
            LOGGER.warning("run %s: could not store its log so far: %s", self.run_id, exc)

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
