"""The login form."""

from __future__ import annotations

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.services import users
from engage_reflex.services.errors import EngageError
from engage_reflex.state.auth import AuthState, safe_next


class LoginState(AuthState):
    error: str = ""
    busy: bool = False

    def _next(self) -> str:
        return safe_next(self.router.url.query_parameters.get("next"))

    @rx.event
    def load(self):
        """Someone already logged in goes straight on."""
        self.error = ""
        if self._current_user() is not None:
            return rx.redirect(self._next())

    @rx.event
    def submit(self, form: dict):
        email, password = str(form.get("email", "")), str(form.get("password", ""))
        if not email.strip() or not password:
            self.error = "Please enter your email address and your password."
            return
        try:
            with session_scope() as session:
                token = users.login(session=session, email=email, password=password)
        except EngageError as exc:
            self.error = exc.message
            return
        self.error = ""
        self.auth_token = token
        self._current_user()
        return rx.redirect(self._next())
