"""The "Job dashboard" button: hands an admin's browser the one-minute link into /admin/rq.

The dashboard is plain HTTP, which never sees the login token in localStorage; the link sets its
own short-lived cookie (see services/admin.py and engage_reflex/admin.py).
"""

from __future__ import annotations

import json

import reflex as rx

from engage_reflex.services import admin
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state.auth import AuthState


class JobDashboardState(AuthState):
    @rx.event
    async def open_job_dashboard(self):
        try:
            link = await self._call(admin.dashboard_link)
        except LoginRequired as exc:
            return [rx.redirect("/login?next=/models"), rx.toast.info(exc.message)]
        except EngageError as exc:
            return rx.toast.error(exc.message)
        # A full page load: the dashboard is not a page of the Reflex app.
        return rx.call_script(f"window.location.assign({json.dumps(link)})")
