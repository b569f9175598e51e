"""A run's two logs: the planner's (Run.log) and the full raw log file kept beside the run.

The worker (jobs/calliope_runner.py) writes both: Run.log starts with what happened in plain
words, then Calliope's information and warnings; `run.log` has everything else as well (DEBUG
lines, the solver's whole output, tracebacks) for whoever needs it. The worker writes it in its
work folder and puts it into the run files store (runs/<id>/run.log, services/storage.py) when
a job ends, failed or not; it is downloaded from there through a signed link (services/downloads.py).

While a run works, `live_log` serves its live log: the planner's lines of run.log (which the
worker's logging appends to record by record, CBC's and GLPK's output included) and of HiGHS's
own log file (which HiGHS flushes line by line while it solves). The worker reads them from its
work folder as they are written (`read_live_files`) and streams them to Redis
(services/live_log_stream.py), so any app process shows them, wherever the worker runs; the
browser keeps the id of the last entry it was sent.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from sqlmodel import Session, select

from engage_reflex.models import Run
from engage_reflex.services import live_log_stream, runs, storage
from engage_reflex.services.access import open_to_visitors
from engage_reflex.services.errors import EngageError

# The artefact name of the raw log in download links; the file name jobs.calliope_runner.RAW_LOG.
RAW_LOG_ARTEFACT = "log"
RAW_LOG_FILE = "run.log"
# A planner's log is short; this only guards the browser against a pathological one.
MAX_LOG_CHARS = 200_000
_HEAD_CHARS = 20_000


@dataclasses.dataclass(frozen=True)
class RunLogView:
    run_id: int
    status: str
    message: str
    text: str  # the planner's log, clipped to MAX_LOG_CHARS
    has_raw_log: bool


def raw_log_file(run_id: int) -> Path:
    """The run.log a worker on this machine is writing (the live log reads it)."""
    return storage.run_work_dir(run_id) / RAW_LOG_FILE


def raw_log_key(run_id: int) -> str:
    """Where the full log of a run is kept in the run files store."""
    return storage.join_key(storage.run_prefix(run_id), RAW_LOG_FILE)


def _stored_raw_log(session: Session, run_id: int) -> str | None:
    """The store key of a run's full log: its own; for a snapshot's copy of a run, the log of the
    run whose results it shares (kept as long as those results are); None when there is none."""
    store = storage.get_store()
    own = raw_log_key(run_id)
    if store.exists(own):
        return own
    results = session.exec(select(Run.artefact_dir).where(Run.id == run_id)).first() or ""
    found = re.match(r"runs/(\d+)/", results)
    if found and int(found.group(1)) != run_id and store.exists(raw_log_key(int(found.group(1)))):
        return raw_log_key(int(found.group(1)))
    return None


@open_to_visitors
def run_log_view(*, session: Session, user_id: int | None, run_id: int) -> RunLogView:
    """What the Log dialog shows, for a user who may see the run (NotFound otherwise)."""
    view = runs.get_run(session=session, user_id=user_id, run_id=run_id)
    text = runs.run_log(session=session, user_id=user_id, run_id=run_id)
    return RunLogView(run_id=view.id, status=view.status, message=view.message or "", text=clip(text.strip()),
                      has_raw_log=_stored_raw_log(session, run_id) is not None)


@open_to_visitors
def raw_log_path(*, session: Session, user_id: int | None, run_id: int) -> str:
    """The store key of the full log of a run the user may see (any status), for the download route."""
    runs.get_run(session=session, user_id=user_id, run_id=run_id)
    key = _stored_raw_log(session, run_id)
    if key is None:
        raise EngageError(f"Run {run_id} has no full log to download (it has not started, or it was "
                          "started again and its log replaced).")
    return key


def clip(text: str) -> str:
    """Keep the beginning (the summary) and the end of an over-long log."""
    if len(text) <= MAX_LOG_CHARS:
        return text
    head = text[:_HEAD_CHARS]
    head = head[:head.rfind("\n") + 1] or head
    tail = text[-(MAX_LOG_CHARS - len(head)):]
    tail = tail[tail.find("\n") + 1:] if "\n" in tail else tail
    left_out = len(text) - len(head) - len(tail)
    return f"{head}[… {left_out:,} characters left out; download the full log to read them …]\n{tail}"


# --- the live log, while a run builds and solves ------------------------------------------

# HiGHS writes its own log file beside run.log while it solves (jobs.calliope_runner.HIGHS_LOG);
# after the solve the worker appends it to run.log under a "highs" record and deletes it.
SOLVER_LOG_FILE = "highs.log"
# The most the browser gets in one answer, and keeps in all (its state lives in Redis); a dialog's
# first read of the live stream goes back only that far.
LIVE_MAX_BYTES = live_log_stream.FIRST_READ_CHARS
# How far back to look for the record a continuation line at the read offset belongs to.
_LOOK_BACK_BYTES = 1_000_000
# A record of the raw log: "HH:MM:SS LEVEL logger: message" (jobs.calliope_runner.LOG_FORMAT).
_RECORD = re.compile(r"^(\d\d:\d\d:\d\d) (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+): ?(.*)$")
# CBC's and GLPK's output, which calliope logs at DEBUG line by line as the solver prints it.
_SOLVE_LOGGER = "calliope.backend.backend_model.<solve>"
_HIGHS_RECORD = "highs"  # the HiGHS log appended to run.log after the solve
SOLVER_LOG_HEADING = "HiGHS solver's log:"
# A run in one of these is still going: its log grows.
ACTIVE_STATUSES = tuple(status.value for status in runs.ACTIVE_STATUSES)


@dataclasses.dataclass(frozen=True)
class LiveLogView:
    """New lines of a run's live log since the entry the browser showed last, and where to go on."""

    run_id: int
    status: str
    message: str
    text: str  # new complete lines (Calliope's information and warnings, the solver's output)
    last_id: str  # the live log stream's entry to ask after next time
    active: bool  # the run is still going: ask again
    restarted: bool  # the run's log started over (the run was started again): drop what is shown


@open_to_visitors
def live_log(*, session: Session, user_id: int | None, run_id: int, after: str = "") -> LiveLogView:
    """The lines Calliope and the solver wrote since entry `after` ("": from the start) of the run's
    live log stream, for a user who may see the run (NotFound otherwise).

    Calliope's DEBUG details are left out (they stay in the full log); each read of the worker's
    files takes at most LIVE_MAX_BYTES, with a note of what was skipped. Lines come in the order
    they were written: before and after the solve Calliope's, during it the solver's.
    """
    view = runs.get_run(session=session, user_id=user_id, run_id=run_id)
    lines = live_log_stream.read_since(run_id, after)
    return LiveLogView(run_id=view.id, status=view.status, message=view.message or "", text=lines.text,
                       last_id=lines.last_id, active=view.status in ACTIVE_STATUSES, restarted=lines.restarted)


def read_live_files(directory: Path, offset: int, solver_offset: int) -> tuple[str, int, int, bool]:
    """New planner's lines of the run directory's run.log and HiGHS log: (text, next offset,
    next solver offset, whether the log started over)."""
    raw, solver = directory / RAW_LOG_FILE, directory / SOLVER_LOG_FILE
    offset, solver_offset = max(0, int(offset)), max(0, int(solver_offset))
    restarted = offset > _size(raw) or (solver.is_file() and solver_offset > _size(solver))
    if restarted:
        offset, solver_offset = 0, 0
    calliope_text, solver_text, next_offset = _calliope_lines(raw, offset, solver_offset)
    next_solver_offset = solver_offset
    if solver.is_file():
        new, next_solver_offset = _new_lines(solver, solver_offset)
        solver_text += f"{SOLVER_LOG_HEADING}\n{new}" if new and solver_offset == 0 else new
    # Until HiGHS starts, Calliope's lines lead; once it runs, Calliope's come after its lines.
    parts = [solver_text, calliope_text] if solver_offset > 0 else [calliope_text, solver_text]
    return "".join(parts), next_offset, next_solver_offset, restarted


def keep_tail(shown: str, new: str, limit: int = LIVE_MAX_BYTES) -> str:
    """`shown` + `new`, keeping about the last `limit` characters from a line's start."""
    text = shown + new
    if len(text) <= limit:
        return text
    tail = text[-limit:]
    tail = tail[tail.find("\n") + 1:] if "\n" in tail else tail
    if tail.startswith(_LEFT_OUT_MARK):  # the last note is replaced, not stacked
        tail = tail[tail.find("\n") + 1:]
    return f"{_LEFT_OUT_MARK} earlier lines left out; the full log has them …]\n{tail}"


_LEFT_OUT_MARK = "[…"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _new_lines(path: Path, start: int) -> tuple[str, int]:
    """Complete lines from byte `start` on (the last one may still be being written), at most
    LIVE_MAX_BYTES of them; and the offset after them."""
    chunk, start, skipped = _read_from(path, start)
    text, end = _complete_lines(chunk, start)
    note = _skipped_note(skipped) if skipped else ""
    return note + text, end


def _read_from(path: Path, start: int) -> tuple[bytes, int, int]:
    """The bytes from `start` to the end, or only the last LIVE_MAX_BYTES from a line's start:
    (bytes, where they start, how many bytes were skipped)."""
    try:
        with open(path, "rb") as fh:
            end = fh.seek(0, 2)
            skipped = 0
            if end - start > LIVE_MAX_BYTES:
                fh.seek(end - LIVE_MAX_BYTES)
                fh.readline()  # from the next line's start
                skipped = fh.tell() - start
                start = fh.tell()
            fh.seek(start)
            return fh.read(end - start), start, skipped
    except OSError:
        return b"", start, 0


def _complete_lines(chunk: bytes, start: int) -> tuple[str, int]:
    cut = chunk.rfind(b"\n") + 1
    return chunk[:cut].decode("utf-8", errors="replace"), start + cut


def _skipped_note(skipped: int) -> str:
    return f"{_LEFT_OUT_MARK} {skipped / 1000:,.0f} KB of the log left out here; the full log has them …]\n"


def _calliope_lines(raw: Path, start: int, solver_offset: int) -> tuple[str, str, int]:
    """The planner's lines of run.log from `start` on: records at INFO and above and the solver's
    output (CBC, GLPK), each with the lines that continue it; apart from them the HiGHS log the
    worker appended (less what the browser read from HiGHS's own file); and the offset after them."""
    chunk, position, skipped = _read_from(raw, start)
    cut = chunk.rfind(b"\n") + 1
    shown, block_end = _record_before(raw, position, solver_offset)
    out = [_skipped_note(skipped)] if skipped else []
    highs: list[str] = []
    target = highs if block_end else out
    for raw_line in chunk[:cut].split(b"\n")[:-1]:
        line, line_start = raw_line.decode("utf-8", errors="replace"), position
        position += len(raw_line) + 1
        record = _RECORD.match(line)
        if record:
            shown, block_end = _decide(record, position, solver_offset)
            target = highs if record[3] == _HIGHS_RECORD else out
            if shown and not (record[3] == _HIGHS_RECORD and solver_offset > 0):
                target.append(_planner_line(record))
        elif shown and line_start >= block_end:
            target.append(line + "\n")
    return "".join(out), "".join(highs), start + skipped + cut


def _decide(record: re.Match, line_end: int, solver_offset: int) -> tuple[bool, int]:
    """Whether a record and the lines continuing it are shown, and after which byte those lines
    are (HiGHS's appended log: after what the browser already read from HiGHS's own file)."""
    level, name = record[2], record[3]
    if name == _HIGHS_RECORD:
        return True, line_end + solver_offset
    return level != "DEBUG" or name == _SOLVE_LOGGER, 0


def _planner_line(record: re.Match) -> str:
    time_, level, name, message = record.groups()
    if name == _HIGHS_RECORD:
        return f"{SOLVER_LOG_HEADING}\n"
    label = "" if level in ("INFO", "DEBUG") else f"{level.capitalize()}: "
    return f"{time_} {label}{message}\n"


def _record_before(raw: Path, start: int, solver_offset: int) -> tuple[bool, int]:
    """The decision of the record that lines continuing at byte `start` (a line's start) belong
    to: the last record line before it (looked for in the last 64 KB, then further back)."""
    try:
        with open(raw, "rb") as fh:
            for size in (65_536, _LOOK_BACK_BYTES):
                begin = max(0, start - size)
                fh.seek(begin)
                lines = fh.read(start - begin).split(b"\n")[:-1]  # the last item: the empty rest
                if begin > 0:
                    lines = lines[1:]  # may be cut
                line_end = start
                for line in reversed(lines):
                    record = _RECORD.match(line.decode("utf-8", errors="replace"))
                    if record:
                        return _decide(record, line_end, solver_offset)
                    line_end -= len(line) + 1
                if begin == 0:
                    break
    except OSError:
        pass
    return False, 0
