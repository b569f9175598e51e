"""The "Log" dialog of the runs list: one run's status, message, its log, and a link to the full
log file.

A finished run shows the planner's log, read once when the dialog opens. A run still going
shows its live log instead: the worker streams its new lines to Redis and announces them
(services/live_log_stream.py); `follow` (a background event) waits for those announcements and
appends what came, until the dialog closes, the run ends (then the planner's log replaces the live
one) or the browser goes away. Without an announcement it still looks every LIVE_QUIET_S (Redis
only), and at the run's status every STATUS_CHECK_S (a lost message). The state keeps at most
run_logs.LIVE_MAX_BYTES of it, and drops it when the dialog closes. Redis and the database are
read in a worker thread, never on the event loop.
"""

from __future__ import annotations

import functools
import logging

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.services import downloads, live_log_stream, run_events, run_logs
from engage_reflex.services.errors import EngageError
from engage_reflex.state.auth import AuthState, call_as_user, lookup_user
from engage_reflex.state.runs import client_connected, read_run_states

log = logging.getLogger(__name__)
LIVE_QUIET_S = 2.0
STATUS_CHECK_S = 10.0
# Keeps the log scrolled to its end while new lines come, unless the planner scrolled up to read.
SCROLL_TO_END = """setTimeout(() => { const e = document.getElementById('run-log-text'); if (!e) return;
const seen = Number(e.dataset.seen || 0);
if (!seen || e.scrollTop + e.clientHeight >= seen - 40) e.scrollTop = e.scrollHeight;
e.dataset.seen = e.scrollHeight; }, 50)"""


def read_log(token: str, run_id: int) -> run_logs.RunLogView:
    """The dialog's content; EngageError when the user (or a visitor, for a public model's run) may
    not see it. Blocking."""
    return call_as_user(token, run_logs.run_log_view, {"run_id": int(run_id)})


def read_live(token: str, run_id: int) -> run_logs.LiveLogView:
    """The run's live log so far; EngageError when the user may not see it. Blocking."""
    return call_as_user(token, run_logs.live_log, {"run_id": int(run_id)})


def raw_log_link(token: str, run_id: int) -> str:
    """A short-lived signed link to the run's full log file (user 0 in it: a visitor without a login);
    EngageError if there is none. Blocking."""
    user = lookup_user(token) if token else None
    if token and user is None:
        raise EngageError("Please log in again to download this run's log.")
    with session_scope() as session:
        run_logs.raw_log_path(session=session, user_id=user.id if user else None, run_id=int(run_id))
    return downloads.artefact_link(run_id=int(run_id), name=run_logs.RAW_LOG_ARTEFACT, user_id=user.id if user else 0)


class RunLogState(AuthState):
    is_open: bool = False
    loading: bool = False
    run_id: int = 0
    status: str = ""
    message: str = ""
    text: str = ""
    has_raw_log: bool = False
    live: bool = False  # showing the live log of a run still going
    log_id: str = ""  # the last entry of the run's live log stream shown

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
        self.log_id = ""
        return RunLogState.load

    @rx.event
    async def load(self):
        run_id = self.run_id
        try:
            final = await rx.run_in_thread(functools.partial(read_log, self.auth_token, run_id))
            view = None if final.status not in run_logs.ACTIVE_STATUSES else await rx.run_in_thread(
                functools.partial(read_live, self.auth_token, run_id))
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
        self.text, self.log_id = run_logs.keep_tail("", view.text), view.last_id
        return [RunLogState.follow, rx.call_script(SCROLL_TO_END)]

    def _show_final(self, view: run_logs.RunLogView) -> None:
        self.live = False
        self.status, self.message, self.text = view.status, view.message, view.text
        self.has_raw_log = view.has_raw_log

    @rx.event(background=True, supersedes=True)
    async def follow(self):
        async with self:
            token, run_id, client = self.auth_token, self.run_id, self.router.session.client_token
        missed, quiet_s = 0, 0.0
        async with run_events.hub().watch_run(run_id) as watcher:
            while True:
                update = await watcher.next(LIVE_QUIET_S)
                # A short websocket drop is not leaving; three quiet spells without the browser are.
                missed = 0 if update is not None or client_connected(client) else missed + 1
                quiet_s = quiet_s + LIVE_QUIET_S if update is None else 0.0
                async with self:
                    if missed >= 3 or not (self.is_open and self.live and self.run_id == run_id):
                        return
                    after = self.log_id
                change = update[0].get(run_id) if update is not None else None
                try:
                    lines = await rx.run_in_thread(functools.partial(live_log_stream.read_since, run_id, after))
                    ended = (change is not None and (change.deleted or (change.view is not None and change.view.status
                                                                        not in run_logs.ACTIVE_STATUSES)))
                    if quiet_s >= STATUS_CHECK_S or (update is not None and update[1]):  # a message may be lost
                        quiet_s = 0.0
                        states = await rx.run_in_thread(functools.partial(read_run_states, [run_id]))
                        ended = ended or states.get(run_id, ("deleted",))[0] not in run_logs.ACTIVE_STATUSES
                    final = await rx.run_in_thread(functools.partial(read_log, token, run_id)) if ended else None
                except EngageError:  # logged out, or the run was deleted meanwhile
                    async with self:
                        self.live = False
                    return
                except Exception:  # a Redis or database hiccup: keep what is shown and try again
                    log.exception("Reading the live log of run %s failed", run_id)
                    continue
                async with self:
                    if not (self.is_open and self.live and self.run_id == run_id):
                        return
                    if final is not None:
                        self._show_final(final)
                        return
                    if change is not None and change.view is not None:
                        self.status, self.message = change.view.status, change.view.message
                    self.text = run_logs.keep_tail("" if lines.restarted else self.text, lines.text)
                    self.log_id = lines.last_id
                if lines.text:
                    yield rx.call_script(SCROLL_TO_END)

    @rx.event
    async def download_raw_log(self):
        try:
            link = await rx.run_in_thread(functools.partial(raw_log_link, self.auth_token, self.run_id))
        except EngageError as exc:
            return rx.toast.error(exc.message)
        return rx.download(url=link, filename=f"run-{self.run_id}-full-log.txt")
