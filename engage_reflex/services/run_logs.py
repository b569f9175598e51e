"""A run's two logs: the planner's (Run.log) and the full raw log file kept beside the run.

The worker (jobs/calliope_runner.py) writes both: Run.log starts with what happened in plain
words, then Calliope's information and warnings; `run.log` in the run's directory has
everything else as well (DEBUG lines, the solver's whole output, tracebacks) for whoever needs
it, downloadable from the Log dialog through a signed link (services/downloads.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlmodel import Session

from engage_reflex.services import runs
from engage_reflex.services.errors import EngageError
from engage_reflex.settings import get_settings

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
    return get_settings().runs_dir / str(int(run_id)) / RAW_LOG_FILE


def run_log_view(*, session: Session, user_id: int, run_id: int) -> RunLogView:
    """What the Log dialog shows, for a user who may see the run (NotFound otherwise)."""
    view = runs.get_run(session=session, user_id=user_id, run_id=run_id)
    text = runs.run_log(session=session, user_id=user_id, run_id=run_id)
    return RunLogView(run_id=view.id, status=view.status, message=view.message or "", text=clip(text.strip()),
                      has_raw_log=raw_log_file(run_id).is_file())


def raw_log_path(*, session: Session, user_id: int, run_id: int) -> Path:
    """The full log file of a run the user may see (any status), for the download route."""
    runs.get_run(session=session, user_id=user_id, run_id=run_id)
    path = raw_log_file(run_id)
    if not path.is_file():
        raise EngageError(f"Run {run_id} has no full log to download (it has not started, or it was "
                          "started again and its log replaced).")
    return path


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
