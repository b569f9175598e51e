"""The pages an emailed link opens: /activate (confirm the address and log in) and
/reset-password (choose a new password), and /forgot-password, which asks for such a link."""

from __future__ import annotations

import functools

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.services import accounts
from engage_reflex.services.errors import EngageError
from engage_reflex.state.auth import HOME_ROUTE, LOGIN_ROUTE, AuthState


def _activate(token: str) -> tuple[str, str, str]:
    with session_scope() as session:
        user, login_token = accounts.activate(session=session, token=token)
    return user.email, user.display_name, login_token


def _check_reset(token: str) -> str:
    with session_scope() as session:
        return accounts.check_reset_link(session=session, token=token)


def _reset(token: str, password: str) -> str:
    with session_scope() as session:
        return accounts.reset_password(session=session, token=token, password=password)


def _ask_reset(email: str) -> None:
    with session_scope() as session:
        accounts.request_password_reset(session=session, email=email)


class ActivateState(AuthState):
    error: str = ""

    @rx.event(background=True)
    async def load(self):
        async with self:
            token = self.router.url.query_parameters.get("token", "")
            self.error = ""
        try:
            email, name, login_token = await rx.run_in_thread(functools.partial(_activate, token))
        except EngageError as exc:
            async with self:
                self.error = exc.message
            return
        async with self:
            self.auth_token, self.user_email = login_token, email
        return [rx.redirect(HOME_ROUTE), rx.toast.success(f"Your account is active. Welcome to Engage, {name or email}!")]


class PasswordResetState(AuthState):
    """/forgot-password asks for a link; /reset-password?token=… sets the new password."""

    error: str = ""
    notice: str = ""
    busy: bool = False
    checked: bool = False  # the reset link was looked at (the form shows once it works)
    reset_email: str = ""  # the account the link is for

    @rx.event
    def load_forgot(self):
        self.error, self.notice, self.busy = "", "", False

    @rx.event(background=True)
    async def ask(self, form: dict):
        email = str(form.get("email", "")).strip()
        async with self:
            if self.busy:
                return
            self.busy, self.error, self.notice = True, "", ""
        try:
            await rx.run_in_thread(functools.partial(_ask_reset, email))
        except EngageError as exc:
            async with self:
                self.error, self.busy = exc.message, False
            return
        async with self:
            self.busy = False
            self.notice = (f"If there is an Engage account for {email}, a link to choose a new password is on its "
                           "way. It works for one hour. Nothing there? Check your spam folder, or ask again "
                           "(at most three links an hour are sent).")

    @rx.event(background=True)
    async def load_reset(self):
        async with self:
            token = self.router.url.query_parameters.get("token", "")
            self.error, self.notice, self.busy, self.checked, self.reset_email = "", "", False, False, ""
        try:
            email = await rx.run_in_thread(functools.partial(_check_reset, token))
        except EngageError as exc:
            async with self:
                self.error, self.checked = exc.message, True
            return
        async with self:
            self.reset_email, self.checked = email, True

    @rx.event(background=True)
    async def save_new_password(self, form: dict):
        password, confirm = str(form.get("password", "")), str(form.get("confirm", ""))
        async with self:
            if self.busy:
                return
            if password != confirm:
                self.error = "The two passwords are not the same. Please type them again."
                return
            token = self.router.url.query_parameters.get("token", "")
            self.busy, self.error = True, ""
        try:
            email = await rx.run_in_thread(functools.partial(_reset, token, password))
        except EngageError as exc:
            async with self:
                self.error, self.busy = exc.message, False
            return
        async with self:
            self.busy, self.reset_email = False, ""
            # This browser's login ended with every other one.
            self.auth_token, self.user_email, self.user_is_admin = "", "", False
        return [rx.redirect(LOGIN_ROUTE),
                rx.toast.success(f"The password of {email} is changed, and every login of it has ended. "
                                 "Please log in with the new password.")]
