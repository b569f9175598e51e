"""The operators' job dashboard in the browser: a planner has no button for it and is sent away from
/admin/rq; once the operator grants the role (`engage admin grant EMAIL`), the Job dashboard button
opens rq-dashboard inside the app."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui import register

pytestmark = [pytest.mark.e2e]


def test_only_an_administrator_reaches_the_job_dashboard(page: Page, base_url: str, app_database_url: str):
    page.set_default_timeout(30_000)
    _someone_registered_first(app_database_url)
    email = register(page, prefix="operator", display_name="Operator", password="a-long-password")
    # Not the server's first account, so no role yet.
    page.reload()
    expect(page.locator("#nav-user")).to_have_text(email)
    expect(page.get_by_role("button", name="Job dashboard")).to_have_count(0)
    response = page.request.get(f"{base_url.rstrip('/')}/admin/rq/", max_redirects=0)
    assert response.status in (303, 403), response.status

    # The operator's command line, against the app's database.
    granted = subprocess.run([sys.executable, "-m", "engage_reflex.cli", "admin", "grant", email],
                             capture_output=True, text=True, env=_env(app_database_url), timeout=120)
    assert granted.returncode == 0, granted.stderr
    assert "is an administrator" in granted.stdout

    page.reload()
    expect(page.locator("#nav-user")).to_have_text(email)
    page.get_by_role("button", name="Job dashboard").click()
    expect(page).to_have_url(re.compile(r"/admin/rq"))
    expect(page.get_by_text("RQ-dashboard").first).to_be_visible()
    for view in ("Queues", "Jobs", "Workers"):
        expect(page.get_by_role("link", name=view, exact=True)).to_be_visible()


def _someone_registered_first(database_url: str) -> None:
    """The first account of a server is its administrator: make sure that is not the test's planner."""
    import uuid

    from engage_reflex.db import session_scope
    from engage_reflex.services import users

    with session_scope(database_url) as session:
        users.register(session=session, email=f"first-{uuid.uuid4().hex[:8]}@example.org",
                       password="another-long-password")


def _env(database_url: str) -> dict[str, str]:
    import os

    return dict(os.environ, DATABASE_URL=database_url)
