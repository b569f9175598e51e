"""Who may open the job dashboard (rq-dashboard inside the app, under /admin/rq): administrators only.

The login token lives in the browser's localStorage, which a plain HTTP request does not carry. So an
admin's page asks for a one-minute signed link (`dashboard_link`); opening it sets a signed cookie that
names the admin and expires after an hour (`dashboard_cookie`). Every dashboard request checks that
cookie and looks the user up again, so an admin whose role is revoked is refused at the next click.
Link and cookie are signed with the app's secret key, each with its own purpose in the message, so
neither can stand in for the other or for a download link.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import urlencode

from sqlmodel import Session

from engage_reflex.models import User
from engage_reflex.services.downloads import signing_key
from engage_reflex.services.errors import EngageError, PermissionDenied

DASHBOARD_ROUTE = "/admin/rq"
OPEN_ROUTE = "/admin/open-rq"
COOKIE_NAME = "engage_rq_dashboard"
LINK_SECONDS = 60
COOKIE_SECONDS = 3600
CLOCK_SKEW_SECONDS = 60
NOT_ADMIN = ("The job dashboard is only for administrators. An administrator can give you the role "
             "with `engage admin grant EMAIL`.")
_DIGITS = re.compile(r"[0-9]{1,15}")
_HEX_SIG = re.compile(r"[0-9a-f]{64}")
_LINK_NOT_VALID = "This link to the job dashboard is not valid. Please use the Job dashboard button again."
_COOKIE_NOT_VALID = "Your access to the job dashboard is not valid. Please use the Job dashboard button again."


class NotSignedIn(EngageError):
    """No dashboard cookie at all (or an expired one): the visitor should log in and open it again."""


def _signature(purpose: str, user_id: int, expires: int) -> str:
    message = f"engage-{purpose}:{user_id}:{expires}".encode()
    return hmac.new(signing_key(), message, hashlib.sha256).hexdigest()


def _check(purpose: str, user: str, expires: str, sig: str, now: float | None, lifetime: int,
           not_valid: str, expired: EngageError) -> int:
    """The user id signed for `purpose`; raises `not_valid` when altered, `expired` when too old."""
    user, expires, sig = user or "", expires or "", sig or ""
    if not (_DIGITS.fullmatch(user) and _DIGITS.fullmatch(expires) and _HEX_SIG.fullmatch(sig)):
        raise EngageError(not_valid)
    user_id, expires_at = int(user), int(expires)
    if not hmac.compare_digest(_signature(purpose, user_id, expires_at).encode(), sig.encode()):
        raise EngageError(not_valid)
    now = now if now is not None else time.time()
    if expires_at < now:
        raise expired
    if expires_at > now + lifetime + CLOCK_SKEW_SECONDS:  # "valid for a year" was not made here
        raise EngageError(not_valid)
    return user_id


def require_admin(*, session: Session, user_id: int) -> None:
    """PermissionDenied unless the user exists, is active and has the admin role now."""
    user = session.get(User, user_id)
    if user is None or not user.is_active or not user.is_admin:
        raise PermissionDenied(NOT_ADMIN)


def dashboard_link(*, session: Session, user_id: int, now: float | None = None) -> str:
    """The one-minute link that lets this admin's browser into the job dashboard."""
    require_admin(session=session, user_id=user_id)
    expires = int((now if now is not None else time.time()) + LINK_SECONDS)
    query = urlencode({"user": user_id, "expires": expires, "sig": _signature("rq-open", user_id, expires)})
    return f"{OPEN_ROUTE}?{query}"


def check_dashboard_link(*, user: str, expires: str, sig: str, now: float | None = None) -> int:
    """The user id the link was made for; EngageError when altered or expired."""
    expired = EngageError("This link to the job dashboard has expired. Please use the Job dashboard button again.")
    return _check("rq-open", user, expires, sig, now, LINK_SECONDS, _LINK_NOT_VALID, expired)


def dashboard_cookie(*, user_id: int, now: float | None = None) -> str:
    """The cookie value naming this user for the next hour: `user.expires.signature`."""
    expires = int((now if now is not None else time.time()) + COOKIE_SECONDS)
    return f"{user_id}.{expires}.{_signature('rq-cookie', user_id, expires)}"


def check_dashboard_cookie(value: str | None, *, now: float | None = None) -> int:
    """The user id the cookie names; NotSignedIn when there is none or it expired, EngageError when forged."""
    if not value:
        raise NotSignedIn("Please log in and open the job dashboard from Engage.")
    parts = value.split(".")
    if len(parts) != 3:
        raise EngageError(_COOKIE_NOT_VALID)
    expired = NotSignedIn("Your access to the job dashboard has ended. Please open it from Engage again.")
    return _check("rq-cookie", parts[0], parts[1], parts[2], now, COOKIE_SECONDS, _COOKIE_NOT_VALID, expired)
