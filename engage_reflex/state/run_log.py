"""The "Log" dialog of the runs list: one run's status, message and log text.

The log is read only when the dialog opens and dropped when it closes, so the state never
holds the logs of every run in the list.
"""

from __future__ import annotations

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.services import runs
from engage_reflex.services.errors import EngageError
from engage_reflex.state.auth import AuthState, lookup_user

# A solver log can be long; the browser gets its end, where failures are explained.
MAX_LOG_CHARS = 200_000


def _tail(text: str) -> str:
    if len(text) <= MAX_LOG_CHARS:
        return text
    cut = text[-MAX_LOG_CHARS:]
    cut = cut[cut.find("\n") + 1:] if "\n" in cut else cut
    return f"[… the first {len(text) - len(cut):,} characters are left out …]\n{cut}"


class RunLogState(AuthState):
    is_open: bool = False
    loading: bool = False
    run_id: int = 0
    status: str = ""
    message: str = ""
    text: str = ""

    @rx.event
    def set_is_open(self, value: bool):
        self.is_open = value
        if not value:
            self.text, self.message = "", ""

    @rx.event
    def show(self, run_id: int):
        """Open the dialog for one run, then read its log (a separate event, so the dialog opens at once)."""
        self.run_id, self.status, self.message, self.text = int(run_id), "", "", ""
        self.is_open, self.loading = True, True
        return RunLogState.load

    @rx.event
    def load(self):
        self.loading = False
        user = lookup_user(self.auth_token)
        if user is None:
            self.is_open = False
            return rx.toast.error("Please log in again to read this run's log.")
        try:
            with session_scope() as session:
                view = runs.get_run(session=session, user_id=user.id, run_id=self.run_id)
                log = runs.run_log(session=session, user_id=user.id, run_id=self.run_id)
        except EngageError as exc:
            self.is_open = False
            return rx.toast.error(exc.message)
        self.status, self.message, self.text = view.status, view.message or "", _tail(log.strip())
