"""Short-lived signed links to run artefacts, so the browser can fetch a big file over plain HTTP.

The page checks that the user may see the run, then hands the browser a link that names the run,
the artefact and the user, expires after a few minutes and is signed with the app's secret key.
The download endpoint checks the signature and the permissions again before it sends the file.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import urlencode

from engage_reflex.services.errors import EngageError
from engage_reflex.settings import get_settings

LINK_SECONDS = 300
# A link may claim to expire at most this far ahead (its lifetime plus some clock skew between
# app processes): a link "valid for a year" was not made by this app.
MAX_EXPIRY_AHEAD_SECONDS = LINK_SECONDS + 60
ROUTE_PREFIX = "/api/runs"
_NOT_VALID = "This download link is not valid. Please use the download button again."
_DIGITS = re.compile(r"[0-9]{1,15}")
_HEX_SIG = re.compile(r"[0-9a-f]{64}")


def signing_key() -> bytes:
    settings = get_settings()
    if settings.secret_problem():  # never sign nor accept links with a key anyone could know
        raise EngageError("Downloads are turned off until the operator sets ENGAGE_SECRET_KEY.")
    return settings.secret_key.encode("utf-8")


def _signature(run_id: int, name: str, user_id: int, expires: int) -> str:
    message = f"engage-download:{run_id}:{name}:{user_id}:{expires}".encode()
    return hmac.new(signing_key(), message, hashlib.sha256).hexdigest()


def artefact_link(*, run_id: int, name: str, user_id: int, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + LINK_SECONDS)
    query = urlencode({"user": user_id, "expires": expires, "sig": _signature(run_id, name, user_id, expires)})
    return f"{ROUTE_PREFIX}/{run_id}/{name}?{query}"


def check_link(*, run_id: int, name: str, user: str, expires: str, sig: str, now: float | None = None) -> int:
    """The user id the link was made for; EngageError if it was altered or has expired."""
    user, expires, sig = user or "", expires or "", sig or ""
    if not (_DIGITS.fullmatch(user) and _DIGITS.fullmatch(expires) and _HEX_SIG.fullmatch(sig)):
        raise EngageError(_NOT_VALID)
    user_id, expires_at = int(user), int(expires)
    if not hmac.compare_digest(_signature(run_id, name, user_id, expires_at).encode(), sig.encode()):
        raise EngageError(_NOT_VALID)
    now = now if now is not None else time.time()
    if expires_at < now:
        raise EngageError("This download link has expired. Please use the download button again.")
    if expires_at > now + MAX_EXPIRY_AHEAD_SECONDS:
        raise EngageError(_NOT_VALID)
    return user_id
