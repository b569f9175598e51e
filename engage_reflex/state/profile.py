"""`/profile`: the planner's name, password and logins."""

from __future__ import annotations

import reflex as rx

from engage_reflex.services import accounts, digests
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.services.names import plural
from engage_reflex.state.auth import LOGIN_ROUTE, AuthState


class ProfileState(AuthState):
    email: str = ""
    display_name: str = ""
    sessions: int = 0
    daily_digest: bool = False
    name_error: str = ""
    password_error: str = ""
    busy: bool = False

    def _show(self, profile: accounts.Profile) -> None:
        self.email, self.display_name, self.sessions = profile.email, profile.display_name, profile.sessions
        self.daily_digest = profile.daily_digest

    @rx.event(background=True)
    async def set_daily_digest(self, on: bool):
        try:
            on = await self._call(digests.set_daily_digest, on=bool(on))
        except EngageError as exc:
            return rx.toast.error(exc.message)
        async with self:
            self.daily_digest = on
        return rx.toast.success("You get a daily email of what is new on your models." if on else
                                "No more daily emails.")

    @rx.event(background=True)
    async def load(self):
        async with self:
            self.name_error = self.password_error = ""
            self.busy = False
        try:  # the database in a thread, the state unlocked meanwhile (reads of self are fine)
            profile = await self._call(accounts.get_profile)
        except LoginRequired:  # require_login (the page's first load event) sends the visitor to log in
            return
        async with self:
            self._show(profile)

    @rx.event(background=True)
    async def save_name(self, form: dict):
        try:
            profile = await self._call(accounts.update_display_name, display_name=str(form.get("display_name", "")))
        except EngageError as exc:
            async with self:
                self.name_error = exc.message
            return
        async with self:
            self.name_error = ""
            self._show(profile)
        return rx.toast.success("Your name is saved.")

    @rx.event(background=True)
    async def change_password(self, form: dict):
        current, new, again = (str(form.get(k, "")) for k in ("current_password", "new_password", "confirm"))
        async with self:
            if self.busy:
                return
            if new != again:
                self.password_error = "The two new passwords are not the same. Please type them again."
                return
            self.busy, self.password_error = True, ""
            token = self.auth_token
        try:
            ended = await self._call(accounts.change_password, current_password=current, new_password=new,
                                     keep_token=token)
            profile = await self._call(accounts.get_profile)
        except EngageError as exc:
            async with self:
                self.password_error, self.busy = exc.message, False
            return
        async with self:
            self._show(profile)
            self.busy = False
        others = f" {plural(ended, 'other login')} ended." if ended else ""
        return [rx.toast.success(f"Your password is changed.{others}"),
                rx.call_script("document.getElementById('password-form').reset()")]

    @rx.event(background=True)
    async def logout_everywhere(self):
        try:
            ended = await self._call(accounts.logout_everywhere)
        except LoginRequired:
            ended = 0
        async with self:
            self.auth_token, self.user_email, self.user_is_admin = "", "", False
        return [rx.redirect(LOGIN_ROUTE),
                rx.toast.info(f"You are logged out everywhere ({plural(ended, 'login')} ended).")]
