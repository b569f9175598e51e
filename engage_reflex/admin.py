"""The job dashboard (rq-dashboard, a Flask app) inside the app's own server, for administrators only.

`open_dashboard` turns an admin's one-minute link into an HttpOnly cookie for /admin/rq; `AdminGate`
checks that cookie, and the admin role in the database, before any request reaches rq-dashboard,
which runs in a thread through a2wsgi. The cookie is SameSite=Strict because rq-dashboard has a GET
that requeues every failed job: a link on another site must not carry the admin's cookie.
"""

from __future__ import annotations

import threading

from a2wsgi import WSGIMiddleware
from flask import Flask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from engage_reflex.db import session_scope
from engage_reflex.services import admin
from engage_reflex.services.errors import EngageError
from engage_reflex.settings import get_settings

LOGIN_ROUTE = "/login"
# Where a visitor without a dashboard cookie is sent after logging in: an admin finds the button there.
AFTER_LOGIN_ROUTE = "/models"
_NO_STORE = {"Cache-Control": "no-store"}


def _refused(message: str) -> Response:
    return PlainTextResponse(message, status_code=403, headers=_NO_STORE)


def _require_admin(user_id: int) -> None:
    with session_scope() as session:
        admin.require_admin(session=session, user_id=user_id)


def open_dashboard(request: Request) -> Response:
    """GET /admin/open-rq?user=&expires=&sig=: set the dashboard cookie, then show the dashboard."""
    query = request.query_params
    try:
        user_id = admin.check_dashboard_link(user=query.get("user", ""), expires=query.get("expires", ""),
                                             sig=query.get("sig", ""))
        _require_admin(user_id)
    except EngageError as exc:
        return _refused(exc.message)
    # The link is a credential for a minute: the redirect takes it out of the address bar.
    response = RedirectResponse(admin.DASHBOARD_ROUTE + "/", status_code=303,
                                headers={**_NO_STORE, "Referrer-Policy": "no-referrer"})
    response.set_cookie(admin.COOKIE_NAME, admin.dashboard_cookie(user_id=user_id), max_age=admin.COOKIE_SECONDS,
                        path=admin.DASHBOARD_ROUTE, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


def to_dashboard(_request: Request) -> Response:
    """/admin/rq without the slash (the app's catch-all would answer it with its 404 page)."""
    return RedirectResponse(admin.DASHBOARD_ROUTE + "/", status_code=307)


def _rq_dashboard_app() -> Flask:
    """rq-dashboard's blueprint on a Flask app of its own, reading the app's Redis."""
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    flask_app = Flask(rq_dashboard.__name__)  # its package folder holds the favicon the pages link to
    flask_app.config["RQ_DASHBOARD_REDIS_URL"] = get_settings().redis_url
    flask_app.register_blueprint(rq_dashboard.blueprint, url_prefix="")
    setup_rq_connection(flask_app)
    return flask_app


class AdminGate:
    """ASGI app for /admin/rq/*: only requests carrying a valid cookie of a current admin get through."""

    def __init__(self) -> None:
        self._dashboard: ASGIApp | None = None
        self._lock = threading.Lock()

    def _dashboard_app(self) -> ASGIApp:
        # Built on first use, so importing the app neither reads Redis settings early nor connects.
        with self._lock:
            if self._dashboard is None:
                self._dashboard = WSGIMiddleware(_rq_dashboard_app())
            return self._dashboard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await PlainTextResponse("Not found", status_code=404)(scope, receive, send)
            return
        refusal = await self._refusal(Request(scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self._dashboard_app()(scope, receive, send)

    async def _refusal(self, request: Request) -> Response | None:
        try:
            user_id = admin.check_dashboard_cookie(request.cookies.get(admin.COOKIE_NAME))
            await run_in_threadpool(_require_admin, user_id)  # the role may have been revoked since
        except admin.NotSignedIn:
            return RedirectResponse(f"{LOGIN_ROUTE}?next={AFTER_LOGIN_ROUTE}", status_code=303, headers=_NO_STORE)
        except EngageError as exc:  # forged cookie, or no longer an admin
            return _refused(exc.message)
        return None
