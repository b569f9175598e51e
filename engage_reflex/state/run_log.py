"""The "Log" dialog of the runs list: one run's status, message, the planner's log, and a link
to the full log file.

The log is read only when the dialog opens (in a worker thread, not on the event loop) and
dropped when it closes, so the state never holds the logs of every run in the list.
"""

from __future__ import annotations

import functools

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.services import downloads, run_logs
from engage_reflex.services.errors import EngageError
from engage_reflex.state.auth import AuthState, lookup_user

LOGIN_AGAIN = "Please log in again to read this run's log."


def read_log(token: str, run_id: int) -> run_logs.RunLogView:
    """The dialog's content; EngageError when the user may not see it. Blocking."""
    user = lookup_user(token)
    if user is None:
        raise EngageError(LOGIN_AGAIN)
    with session_scope() as session:
        return run_logs.run_log_view(session=session, user_id=user.id, run_id=int(run_id))


def raw_log_link(token: str, run_id: int) -> str:
    """A short-lived signed link to the run's full log file; EngageError if there is none. Blocking."""
    user = lookup_user(token)
    if user is None:
        raise EngageError("Please log in again to download this run's log.")
    with session_scope() as session:
        run_logs.raw_log_path(session=session, user_id=user.id, run_id=int(run_id))
    return downloads.artefact_link(run_id=int(run_id), name=run_logs.RAW_LOG_ARTEFACT, user_id=user.id)


class RunLogState(AuthState):
    is_open: bool = False
    loading: bool = False
    run_id: int = 0
    status: str = ""
    message: str = ""
    text: str = ""
    has_raw_log: bool = False

    @rx.event
    def set_is_open(self, value: bool):
        self.is_open = value
        if not value:
            self.text, self.message, self.has_raw_log = "", "", False

    @rx.event
    def show(self, run_id: int):
        """Open the dialog for one run, then read its log (a separate event, so the dialog opens at once)."""
        self.run_id, self.status, self.message, self.text = int(run_id), "", "", ""
        self.has_raw_log, self.is_open, self.loading = False, True, True
        return RunLogState.load

    @rx.event
    async def load(self):
        run_id = self.run_id
        try:
            view = await rx.run_in_thread(functools.partial(read_log, self.auth_token, run_id))
        except EngageError as exc:
            self.is_open, self.loading = False, False
            return rx.toast.error(exc.message)
        if not self.is_open or self.run_id != run_id:  # closed or switched meanwhile
            return
        self.loading = False
        self.status, self.message, self.text = view.status, view.message, view.text
        self.has_raw_log = view.has_raw_log

    @rx.event
    async def download_raw_log(self):
        try:
            link = await rx.run_in_thread(functools.partial(raw_log_link, self.auth_token, self.run_id))
        except EngageError as exc:
            return rx.toast.error(exc.message)
        return rx.download(url=link, filename=f"run-{self.run_id}-full-log.txt")
