"""The registration form: create the account, log in, go to the models."""

from __future__ import annotations

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.services import users
from engage_reflex.services.errors import EngageError
from engage_reflex.state.auth import HOME_ROUTE, AuthState


class RegisterState(AuthState):
    error: str = ""

    @rx.event
    def load(self):
        self.error = ""
        if self._current_user() is not None:
            return rx.redirect(HOME_ROUTE)

    @rx.event
    def submit(self, form: dict):
        email = str(form.get("email", ""))
        password = str(form.get("password", ""))
        if password != str(form.get("confirm", "")):
            self.error = "The two passwords are not the same. Please type them again."
            return
        try:
            with session_scope() as session:
                user = users.register(session=session, email=email, password=password,
                                      display_name=str(form.get("display_name", "")))
            with session_scope() as session:
                token = users.login(session=session, email=user.email, password=password)
        except EngageError as exc:
            self.error = exc.message
            return
        self.error = ""
        self.auth_token = token
        self.user_email = user.email
        return [rx.redirect(HOME_ROUTE), rx.toast.success(f"Welcome to Engage, {user.display_name or user.email}!")]
