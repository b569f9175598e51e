"""Who is logged in: the login token lives in the browser's localStorage, the session in the DB.

Page states that need the user subclass AuthState and call `self._current_user()`.
"""

from __future__ import annotations

from urllib.parse import quote

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.schemas import UserView
from engage_reflex.services import users

LOGIN_ROUTE = "/login"
HOME_ROUTE = "/models"


def safe_next(path: str | None) -> str:
    """Only paths inside this app are followed after login (no open redirects)."""
    if path and path.startswith("/") and not path.startswith("//") and not path.startswith(LOGIN_ROUTE):
        return path
    return HOME_ROUTE


def lookup_user(token: str) -> UserView | None:
    if not token:
        return None
    with session_scope() as session:
        return users.user_for_token(session=session, token=token)


class AuthState(rx.State):
    # sync: logging out in one tab logs out the others.
    auth_token: str = rx.LocalStorage(name="engage_auth_token", sync=True)
    user_email: str = ""

    def _current_user(self) -> UserView | None:
        user = lookup_user(self.auth_token)
        self.user_email = user.email if user else ""
        return user

    @rx.event
    def require_login(self):
        """Page guard (first on_load handler): send visitors without a valid login to /login."""
        if self._current_user() is None:
            url = self.router.url
            back = url.path + (f"?{url.query}" if url.query else "")
            return rx.redirect(f"{LOGIN_ROUTE}?next={quote(back, safe='/')}")

    @rx.event
    def logout(self):
        token = self.auth_token
        if token:
            with session_scope() as session:
                users.logout(session=session, token=token)
        self.auth_token = ""
        self.user_email = ""
        return [rx.redirect(LOGIN_ROUTE), rx.toast.info("You are logged out.")]
