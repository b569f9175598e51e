"""The "Log" dialog of the runs list: one run's status, message, its log, and a link to the full
log file.

A finished run shows the planner's log, read once when the dialog opens. A run still going
shows its live log instead: `follow` (a background event) asks for the new lines every
LIVE_POLL_S and appends them, until the dialog closes, the run ends (then the planner's log
replaces the live one) or the browser goes away. The state keeps at most
run_logs.LIVE_MAX_BYTES of it, and drops it when the dialog closes. Files and the database are
read in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.services import downloads, run_logs
from engage_reflex.services.errors import EngageError
from engage_reflex.state.auth import AuthState, lookup_user
from engage_reflex.state.runs import client_connected

log = logging.getLogger(__name__)
LOGIN_AGAIN = "Please log in again to read this run's log."
LIVE_POLL_S = 0.5
# Keeps the log scrolled to its end while new lines come, unless the planner scrolled up to read.
SCROLL_TO_END = """setTimeout(() => { const e = document.getElementById('run-log-text'); if (!e) return;
const seen = Number(e.dataset.seen || 0);
if (!seen || e.scrollTop + e.clientHeight >= seen - 40) e.scrollTop = e.scrollHeight;
e.dataset.seen = e.scrollHeight; }, 50)"""


def _user_id(token: str) -> int:
    user = lookup_user(token)
    if user is None:
        raise EngageError(LOGIN_AGAIN)
    return user.id


def read_log(token: str, run_id: int) -> run_logs.RunLogView:
    """The dialog's content; EngageError when the user may not see it. Blocking."""
    user_id = _user_id(token)
    with session_scope() as session:
        return run_logs.run_log_view(session=session, user_id=user_id, run_id=int(run_id))


def read_live(token: str, run_id: int, offset: int, solver_offset: int) -> run_logs.LiveLogView:
    """The run's live log lines since the offsets; EngageError when the user may not see it. Blocking."""
    user_id = _user_id(token)
    with session_scope() as session:
        return run_logs.live_log(session=session, user_id=user_id, run_id=int(run_id), offset=offset,
                                 solver_offset=solver_offset)


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
    live: bool = False  # showing the live log of a run still going
    offset: int = 0  # how far the live log was read: run.log ...
    solver_offset: int = 0  # ... and HiGHS's own log

    @rx.event
    def set_is_open(self, value: bool):
        self.is_open = value
        if not value:
            self.text, self.message, self.has_raw_log, self.live = "", "", False, False

    @rx.event
    def show(self, run_id: int):
        """Open the dialog for one run, then read its log (a separate event, so the dialog opens at once)."""
        self.run_id, self.status, self.message, self.text = int(run_id), "", "", ""
        self.has_raw_log, self.is_open, self.loading, self.live = False, True, True, False
        self.offset, self.solver_offset = 0, 0
        return RunLogState.load

    @rx.event
    async def load(self):
        run_id = self.run_id
        try:
            final = await rx.run_in_thread(functools.partial(read_log, self.auth_token, run_id))
            view = None if final.status not in run_logs.ACTIVE_STATUSES else await rx.run_in_thread(
                functools.partial(read_live, self.auth_token, run_id, 0, 0))
        except EngageError as exc:
            self.is_open, self.loading = False, False
            return rx.toast.error(exc.message)
        if not self.is_open or self.run_id != run_id:  # closed or switched meanwhile
            return
        self.loading = False
        if view is None:
            self._show_final(final)
            return
        self.status, self.message, self.live = view.status, view.message, True
        self.text = run_logs.keep_tail("", view.text)
        self.offset, self.solver_offset = view.offset, view.solver_offset
        return [RunLogState.follow, rx.call_script(SCROLL_TO_END)]

    def _show_final(self, view: run_logs.RunLogView) -> None:
        self.live = False
        self.status, self.message, self.text = view.status, view.message, view.text
        self.has_raw_log = view.has_raw_log

    @rx.event(background=True, supersedes=True)
    async def follow(self):
        async with self:
            token, run_id, client = self.auth_token, self.run_id, self.router.session.client_token
        missed = 0
        while True:
            await asyncio.sleep(LIVE_POLL_S)
            # A short websocket drop is not leaving; three polls without the browser are.
            missed = 0 if client_connected(client) else missed + 1
            async with self:
                if missed >= 3 or not (self.is_open and self.live and self.run_id == run_id):
                    return
                offset, solver_offset = self.offset, self.solver_offset
            try:
                view = await rx.run_in_thread(functools.partial(read_live, token, run_id, offset, solver_offset))
                final = None if view.active else await rx.run_in_thread(functools.partial(read_log, token, run_id))
            except EngageError:  # logged out, or the run was deleted meanwhile
                async with self:
                    self.live = False
                return
            except Exception:  # a database hiccup: keep what is shown and try again
                log.exception("Reading the live log of run %s failed", run_id)
                continue
            async with self:
                if not (self.is_open and self.live and self.run_id == run_id):
                    return
                if final is not None:
                    self._show_final(final)
                    return
                self.status, self.message = view.status, view.message
                self.text = run_logs.keep_tail("" if view.restarted else self.text, view.text)
                self.offset, self.solver_offset = view.offset, view.solver_offset
            if view.text:
                yield rx.call_script(SCROLL_TO_END)

    @rx.event
    async def download_raw_log(self):
        try:
            link = await rx.run_in_thread(functools.partial(raw_log_link, self.auth_token, self.run_id))
        except EngageError as exc:
            return rx.toast.error(exc.message)
        return rx.download(url=link, filename=f"run-{self.run_id}-full-log.txt")
