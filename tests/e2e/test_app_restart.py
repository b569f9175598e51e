"""Live status survives a restart of the web app while a job runs.

The workers run apart from the app here (as on a deployment with worker machines), so the
app can be stopped and started again while the solve goes on. The browser tab stays open
through the restart; when the app is back, the tab reconnects by itself and the run's status
reaches "succeeded" without a reload.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engage_reflex.settings import PROJECT_ROOT
from tests.e2e.conftest import READY_TIMEOUT_S, _answers, _forget_queues, _free_port, _server_env, _stop
from tests.e2e.ui import activate_by_email

pytestmark = pytest.mark.e2e


class AppOnly:
    """`engage serve --no-workers`, which can be stopped and started again."""

    def __init__(self, env: dict[str, str], url: str, log: Path):
        self.env, self.url, self.log = env, url, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        engage = Path(sys.executable).parent / "engage"
        self.proc = subprocess.Popen([str(engage), "serve", "--no-workers", "--no-dashboard"],
                                     cwd=PROJECT_ROOT, env=self.env, stdout=open(self.log, "a"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        started = time.monotonic()
        while not _answers(self.url):
            if self.proc.poll() is not None or time.monotonic() - started > READY_TIMEOUT_S:
                pytest.fail(f"the app did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, [])
            self.proc = None


@pytest.fixture
def app_and_workers(tmp_path, mailbox) -> tuple[AppOnly, str]:
    port = _free_port(3217)
    prefix = f"e2e-restart-{uuid.uuid4().hex[:6]}-"
    env = _server_env(port, tmp_path, prefix)
    workers = subprocess.Popen([sys.executable, "-m", "jobs.worker", "short", "long"], cwd=PROJECT_ROOT,
                               env=env, stdout=open(tmp_path / "workers.log", "w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    app = AppOnly(env, f"http://localhost:{port}", tmp_path / "app.log")
    try:
        app.start()
        yield app, app.url
    finally:
        app.stop()
        _stop(workers, [])
        _forget_queues(prefix)


def test_status_goes_live_again_after_the_app_restarts(page: Page, app_and_workers):
    app, url = app_and_workers
    page.set_default_timeout(60_000)
    page.goto(url + "/register")
    page.wait_for_function("() => window.sessionStorage.getItem('token') !== null")
    email = f"restart-{uuid.uuid4().hex[:6]}@example.org"
    page.fill("#email", email)
    page.fill("#password", "a-long-password")
    page.fill("#confirm", "a-long-password")
    page.click("#register-submit")
    activate_by_email(page, email)
    page.locator(".model-card", has_text="National-scale example model").click()
    expect(page.locator("#model-name")).to_have_text("National-scale example model")
    page.get_by_role("navigation", name="Model editor").get_by_role("link", name="Runs").click()
    page.evaluate("window.__engageNoReload = 'same page'")

    # A month with GLPK takes long enough (30-60 s) to restart the app while it solves.
    page.fill("#run-start", "2005-01-01")
    page.fill("#run-end", "2005-01-31")
    page.locator("#run-solver").click()
    page.get_by_role("option", name=re.compile("GLPK")).click()
    page.wait_for_timeout(300)
    page.click("#run-button")
    status = page.locator(".run-row").first.locator(".run-status")
    expect(status).to_have_text("solving", timeout=120_000)

    app.stop()
    app.start()

    expect(status).to_have_text("succeeded", timeout=300_000)
    expect(page.locator(".run-row").first).to_contain_text("Solved")
    assert page.evaluate("window.__engageNoReload") == "same page"
