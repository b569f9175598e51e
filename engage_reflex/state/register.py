"""The registration form: create the account, then log in at once or, where the app sends email,
wait for the activation link (services/accounts.py)."""

from __future__ import annotations

import functools

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.services import accounts, users
from engage_reflex.services.accounts import Registered
from engage_reflex.services.errors import EngageError
from engage_reflex.state.auth import HOME_ROUTE, AuthState
from engage_reflex.state.login import ask_activation_again


def register_and_log_in(form: dict) -> tuple[Registered, str]:
    """Create the account; a login token when it is active at once, else "" (runs in a thread:
    bcrypt and the database)."""
    with session_scope() as session:
        registered = accounts.register(session=session, email=str(form.get("email", "")),
                                       password=str(form.get("password", "")),
                                       display_name=str(form.get("display_name", "")))
    if registered.needs_activation:
        return registered, ""
    # Not users.login: the new account must not be refused by the address's login limit (nor pay
    # for a second bcrypt check) — that left an account the form said was not created.
    with session_scope() as session:
        token = users.open_session(session=session, user_id=registered.user.id)
    return registered, token


class RegisterState(AuthState):
    error: str = ""
    busy: bool = False
    # After registering where email is on: the address the activation link went to.
    sent_to: str = ""
    notice: str = ""

    @rx.event
    async def load(self):
        self.error, self.busy, self.sent_to, self.notice = "", False, "", ""
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
            registered, token = await rx.run_in_thread(functools.partial(register_and_log_in, dict(form)))
        except EngageError as exc:
            async with self:
                self.error, self.busy = exc.message, False
            return
        except Exception:
            async with self:
                self.busy = False
            raise
        user = registered.user
        async with self:
            self.error, self.busy = "", False
            if registered.needs_activation:
                self.sent_to = user.email
                self.notice = "" if registered.email_queued else (
                    "Your account is created, but the email could not be sent just now. Please ask for it "
                    "again in a few minutes.")
                return
            self.auth_token, self.user_email = token, user.email
        return [rx.redirect(HOME_ROUTE), rx.toast.success(f"Welcome to Engage, {user.display_name or user.email}!")]

    @rx.event(background=True)
    async def send_again(self):
        async with self:
            email = self.sent_to
        if not email:
            return
        await rx.run_in_thread(functools.partial(ask_activation_again, email))
        async with self:
            self.notice = (f"A new link is on its way to {email}, unless several were sent in the last hour "
                           "(then please use one of those).")
