"""The registration form: create the account, log in, go to the models."""

from __future__ import annotations

import functools

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.schemas import UserView
from engage_reflex.services import users
from engage_reflex.services.errors import EngageError
from engage_reflex.state.auth import HOME_ROUTE, AuthState


def register_and_log_in(form: dict) -> tuple[UserView, str]:
    """Create the account and open a login session (runs in a thread: bcrypt and the database)."""
    with session_scope() as session:
        user = users.register(session=session, email=str(form.get("email", "")),
                              password=str(form.get("password", "")),
                              display_name=str(form.get("display_name", "")))
    # Not users.login: the new account must not be refused by the address's login limit (nor pay
    # for a second bcrypt check) — that left an account the form said was not created.
    with session_scope() as session:
        token = users.open_session(session=session, user_id=user.id)
    return user, token


class RegisterState(AuthState):
    error: str = ""
    busy: bool = False

    @rx.event
    async def load(self):
        self.error = ""
        self.busy = False
        if await self._current_user_async() is not None:
            return rx.redirect(HOME_ROUTE)

    @rx.event(background=True)
    async def submit(self, form: dict):
        async with self:
            if self.busy:  # a double click: the first one is still at work
                return
            if str(form.get("password", "")) != str(form.get("confirm", "")):
                self.error = "The two passwords are not the same. Please type them again."
                return
            self.busy = True
        try:
            # bcrypt and the database: never on the event loop, which serves every user.
            user, token = await rx.run_in_thread(functools.partial(register_and_log_in, dict(form)))
        except EngageError as exc:
            async with self:
                self.error, self.busy = exc.message, False
            return
        except Exception:
            async with self:
                self.busy = False
            raise
        async with self:
            self.error, self.busy = "", False
            self.auth_token, self.user_email = token, user.email
        return [rx.redirect(HOME_ROUTE), rx.toast.success(f"Welcome to Engage, {user.display_name or user.email}!")]
