"""Who is logged in: the login token lives in the browser's localStorage, the session in the DB.

Page states that need the user subclass AuthState and call `await self._current_user_async()` (or `self._current_user()` off the event loop).
"""

from __future__ import annotations

import functools
import unicodedata
from urllib.parse import quote, unquote, urlsplit

import reflex as rx

from engage_reflex.db import session_scope
from engage_reflex.schemas import UserView
from engage_reflex.services import users
from engage_reflex.services.errors import LoginRequired, NotVisible

LOGIN_ROUTE = "/login"
HOME_ROUTE = "/models"
PUBLIC_ROUTE = "/public"  # the public models, for visitors without a login


def _same_site_path(path: str) -> bool:
    """True for a path of this site, also after undoing %-escapes (a few levels deep at most)."""
    for _ in range(5):
        if not _plain_same_site_path(path):
            return False
        decoded = unquote(path)
        if decoded == path:
            return True
        path = decoded
    return False


def _plain_same_site_path(path: str) -> bool:
    """A path of this site: one leading "/", no scheme or host, no backslash (browsers read it as
    "/"), no control, format or line-separator characters (browsers drop tabs and newlines, so
    "/<TAB>/evil.example" means "//evil.example")."""
    if not path.startswith("/") or path.startswith("//"):
        return False
    if "\\" in path or any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in path):
        return False
    parts = urlsplit(path)
    return not (parts.scheme or parts.netloc) and parts.path.startswith("/")


def safe_next(path: str | None) -> str:
    """Only paths inside this app are followed after login (no open redirects)."""
    if isinstance(path, str) and _same_site_path(path) and not path.startswith(LOGIN_ROUTE):
        return path
    return HOME_ROUTE


def lookup_user(token: str) -> UserView | None:
    if not token:
        return None
    with session_scope() as session:
        return users.user_for_token(session=session, token=token)


def call_as_user(token: str, service, kwargs: dict):
    """Blocking: `service(session=..., user_id=<the logged-in user>, **kwargs)` in one transaction.

    Without a valid login, only a service marked `open_to_visitors` runs, with user_id None (a
    visitor reading a public model). Raises LoginRequired when the service needs a login, or when a
    visitor asked for something only a login might show (a private model or run); and whatever EngageError
    the service raises; the caller turns those into a toast or a page message.
    """
    with session_scope() as session:
        user = users.user_for_token(session=session, token=token) if token else None
        if user is not None:
            return service(session=session, user_id=user.id, **kwargs)
        ended = "Your login has ended. Please log in again." if token else "Please log in first."
        if not getattr(service, "open_to_visitors", False):
            raise LoginRequired(ended)
        try:
            return service(session=session, user_id=None, **kwargs)
        except NotVisible:  # a private model or run: a login may show it (a deleted part of a public one would not)
            raise LoginRequired(ended if token else "Please log in to see this.") from None


def end_session(token: str) -> None:
    with session_scope() as session:
        users.logout(session=session, token=token)


class AuthState(rx.State):
    # sync: logging out in one tab logs out the others.
    auth_token: str = rx.LocalStorage(name="engage_auth_token", sync=True)
    user_email: str = ""
    user_is_admin: bool = False  # shows the Job dashboard button (the dashboard checks again itself)

    def _current_user(self) -> UserView | None:
        """Blocking: only for code already off the event loop (see _current_user_async)."""
        user = lookup_user(self.auth_token)
        self.user_email = user.email if user else ""
        self.user_is_admin = bool(user and user.is_admin)
        return user

    async def _current_user_async(self) -> UserView | None:
        """The logged-in user, looked up in a worker thread (the database is off the event loop)."""
        user = await rx.run_in_thread(functools.partial(lookup_user, self.auth_token))
        self.user_email = user.email if user else ""
        self.user_is_admin = bool(user and user.is_admin)
        return user

    async def _call(self, service, /, **kwargs):
        """Call a service as the logged-in user in a worker thread (see call_as_user)."""
        return await rx.run_in_thread(functools.partial(call_as_user, self.auth_token, service, kwargs))

    def _to_login(self):
        """To the login page, coming back here after it."""
        url = self.router.url
        back = url.path + (f"?{url.query}" if url.query else "")
        return rx.redirect(f"{LOGIN_ROUTE}?next={quote(back, safe='/')}")

    @rx.event
    async def require_login(self):
        """Page guard (first on_load handler): send visitors without a valid login to /login."""
        if await self._current_user_async() is None:
            return self._to_login()

    @rx.event
    async def identify(self):
        """First on_load handler of a page visitors may read too: who is here (for the top bar)."""
        await self._current_user_async()

    @rx.event(background=True)
    async def logout(self):
        async with self:
            token = self.auth_token
            self.auth_token = ""
            self.user_email, self.user_is_admin = "", False
        if token:  # the database work off the event loop
            await rx.run_in_thread(functools.partial(end_session, token))
        return [rx.redirect(LOGIN_ROUTE), rx.toast.info("You are logged out.")]
