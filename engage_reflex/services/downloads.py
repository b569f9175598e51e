"""Short-lived signed links to run artefacts, so the browser can fetch a big file over plain HTTP.

The page checks that the user may see the run, then hands the browser a link that names the run,
the artefact and the user, expires after a few minutes and is signed with the app's secret key.
The download endpoint checks the signature and the permissions again before it sends the file.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

from engage_reflex.services.errors import EngageError
from engage_reflex.settings import get_settings

LINK_SECONDS = 300
ROUTE_PREFIX = "/api/runs"


def _signature(run_id: int, name: str, user_id: int, expires: int) -> str:
    message = f"{run_id}:{name}:{user_id}:{expires}".encode()
    return hmac.new(get_settings().secret_key.encode(), message, hashlib.sha256).hexdigest()


def artefact_link(*, run_id: int, name: str, user_id: int, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + LINK_SECONDS)
    query = urlencode({"user": user_id, "expires": expires, "sig": _signature(run_id, name, user_id, expires)})
    return f"{ROUTE_PREFIX}/{run_id}/{name}?{query}"


def check_link(*, run_id: int, name: str, user: str, expires: str, sig: str, now: float | None = None) -> int:
    """The user id the link was made for; EngageError if it was altered or has expired."""
    try:
        user_id, expires_at = int(user), int(expires)
    except (TypeError, ValueError):
        raise EngageError("This download link is not valid. Please use the download button again.")
    if not hmac.compare_digest(_signature(run_id, name, user_id, expires_at), sig or ""):
        raise EngageError("This download link is not valid. Please use the download button again.")
    if expires_at < (now if now is not None else time.time()):
        raise EngageError("This download link has expired. Please use the download button again.")
    return user_id
