"""The login form."""

from __future__ import annotations

import functools

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.services import accounts, users
from engage_reflex.services.errors import AccountNotActive, EngageError
from engage_reflex.state.auth import AuthState, lookup_user, safe_next


def log_in(email: str, password: str, client_ip: str) -> tuple[str, str]:
    """The new login token and the user's email (runs in a thread: bcrypt and the database)."""
    with session_scope() as session:
        token = users.login(session=session, email=email, password=password, client_ip=client_ip)
    user = lookup_user(token)
    return token, user.email if user else ""


def ask_activation_again(email: str) -> None:
    with session_scope() as session:
        accounts.request_activation_email(session=session, email=email)


class LoginState(AuthState):
    error: str = ""
    busy: bool = False
    # The password was right but the account waits for activation: offer a new link to this address.
    inactive_email: str = ""
    notice: str = ""

    def _next(self) -> str:
        return safe_next(self.router.url.query_parameters.get("next"))

    @rx.event
    async def load(self):
        """Someone already logged in goes straight on."""
        self.error, self.busy, self.inactive_email, self.notice = "", False, "", ""
        if await self._current_user_async() is not None:
            return rx.redirect(self._next())

    @rx.event(background=True)
    async def submit(self, form: dict):
        email, password = str(form.get("email", "")), str(form.get("password", ""))
        async with self:
            if self.busy:  # a double click: the first one is still checking
                return
            if not email.strip() or not password:
                self.error = "Please enter your email address and your password."
                return
            self.busy = True
            client_ip, next_path = self.router.session.client_ip, self._next()
        try:
            # bcrypt takes ~0.25 s by design: never on the event loop, which serves every user.
            token, user_email = await rx.run_in_thread(functools.partial(log_in, email, password, client_ip))
        except EngageError as exc:
            async with self:
                self.error, self.busy, self.notice = exc.message, False, ""
                self.inactive_email = users.normalise_email(email) if isinstance(exc, AccountNotActive) else ""
            return
        except Exception:
            async with self:
                self.busy = False
            raise
        async with self:
            self.error, self.busy = "", False
            self.auth_token, self.user_email = token, user_email
        return rx.redirect(next_path)

    @rx.event(background=True)
    async def send_activation_again(self):
        async with self:
            email = self.inactive_email
        if not email:
            return
        await rx.run_in_thread(functools.partial(ask_activation_again, email))
        async with self:
            self.error = ""
            self.notice = (f"A new activation link is on its way to {email}, unless several were sent in the last "
                           "hour (then please use one of those).")
