"""Two app processes, one Redis, one database: both serve the same logged-in planner.

A second `engage serve --no-workers` (the web app only: the session's server already runs the
workers) starts on another port with the session server's database, data dir, Redis and queue
prefix, as a second replica behind a load balancer would. The planner's login is carried over by
copying the first origin's storage (the auth token in localStorage) to the second origin: behind one
address a browser sends the same storage to either replica, and a fresh login on the second would
prove nothing about sharing. A run started on one process goes live on the pages of both without a
reload, and a tab's page state (kept in Redis) follows the tab to the other process.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from engage_reflex.settings import PROJECT_ROOT
from tests.e2e.conftest import E2E_REDIS_URL, READY_TIMEOUT_S, _answers, _free_port, _server_env, _stop
from tests.e2e.ui import editor_area, hydrated, register

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password"
NATIONAL = "National-scale example model"
DAY = "2005-01-01"
NOTE = "Written on the first process"

# Every status the first run row shows, in order (consecutive repeats once), sampled every 50 ms.
_RECORD_STATUSES = """() => {
  window.__statuses = [];
  window.__noReload = 'same page';
  setInterval(() => {
    const cell = document.querySelector('.run-row .run-status');
    const text = cell ? cell.textContent.trim() : '';
    const seen = window.__statuses;
    if (text && seen[seen.length - 1] !== text) seen.push(text);
  }, 50);
}"""


@pytest.fixture
def second_app(app_server: str, app_data_dir: Path, app_queue_prefix: str, tmp_path: Path) -> Iterator[str]:
    """The web app alone on another port, sharing everything with the session's server except
    its frontend build (the build bakes in the port, so it gets its own web folder)."""
    port = _free_port(3317)
    env = {**_server_env(port, app_data_dir, app_queue_prefix), "REFLEX_WEB_WORKDIR": str(tmp_path / "web")}
    url = f"http://localhost:{port}"
    log = tmp_path / "second-app.log"
    proc = subprocess.Popen([str(Path(sys.executable).parent / "engage"), "serve", "--no-workers", "--no-dashboard"],
                            cwd=PROJECT_ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        started = time.monotonic()
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() - started > READY_TIMEOUT_S:
                pytest.fail(f"the second app process did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        print(f"\n[e2e] second app process ready at {url} after {time.monotonic() - started:.1f} s", flush=True)
        yield url
    finally:
        _stop(proc, [])


def _on_origin(storage: dict, old: str, new: str) -> dict:
    """The browser storage of `old` (cookies as they are: they do not depend on the port) for `new`."""
    origins = [{**o, "origin": new} for o in storage["origins"] if o["origin"] == old]
    assert origins, f"nothing stored for {old}: {storage}"
    return {"cookies": storage["cookies"], "origins": origins}


def _state_in_redis(token: str, text: str, timeout_s: float = 10) -> list[bytes]:
    """The Redis keys of this tab's page states once one of them holds `text`."""
    conn = redis.Redis.from_url(E2E_REDIS_URL)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            keys = list(conn.scan_iter(match=f"{token}_*"))
            if any(text.encode() in (conn.get(k) or b"") for k in keys) or time.monotonic() > deadline:
                return [k for k in keys if text.encode() in (conn.get(k) or b"")]
            time.sleep(0.2)
    finally:
        conn.close()


def _until_disconnected(token: str, timeout_s: float = 10) -> None:
    """Wait until no process holds a socket for this tab token (Reflex's record of it in Redis)."""
    conn = redis.Redis.from_url(E2E_REDIS_URL)
    try:
        deadline = time.monotonic() + timeout_s
        while conn.exists(f"token_manager_socket_record_{token}") and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        conn.close()


def test_two_app_processes_serve_one_planner_live(page: Page, browser: Browser, base_url: str, second_app: str,
                                                   browser_context_args: dict):
    page.set_default_timeout(30_000)
    email = register(page, prefix="replicas", display_name="Replica Planner", password=PASSWORD)
    tile = page.locator(".model-tile").filter(has=page.get_by_role("heading", name=NATIONAL, exact=True))
    tile.get_by_role("button", name="Make a copy").click()
    expect(page.locator("#model-name")).to_have_text(f"Copy of {NATIONAL}")
    editor_area(page, "Runs")
    expect(page).to_have_url(re.compile(r"/models/\d+/runs/?$"))
    expect(page.locator("#run-start")).not_to_have_value("")
    runs_path = urlparse(page.url).path

    # The same browser login on the second process: no login form, the planner's own model.
    other = browser.new_context(**{**browser_context_args, "base_url": second_app},
                                storage_state=_on_origin(page.context.storage_state(), base_url, second_app))
    try:
        page_b = other.new_page()
        page_b.set_default_timeout(30_000)
        page_b.goto(second_app + re.sub(r"/runs/?$", "", runs_path))  # the model overview
        hydrated(page_b)
        expect(page_b.locator("#nav-user")).to_have_text(email)
        expect(page_b.locator("#model-name")).to_have_text(f"Copy of {NATIONAL}")
        expect(page_b.locator("#view-only-banner")).to_have_count(0)

        # A run started on the first process goes live on both pages, with no reload. The second
        # opens its Runs page once the run is queued: with the database poll a Runs page watches only
        # while a run it loaded is going (pushed statuses reach a page opened before, too).
        for p in (page, page_b):
            p.evaluate(_RECORD_STATUSES)
        page.fill("#run-start", DAY)
        page.fill("#run-end", DAY)
        expect(page.locator("#run-end")).to_have_value(DAY)
        page.wait_for_timeout(400)  # let the dates reach the server before the click
        page.click("#run-button")
        expect(page.locator(".run-row")).to_have_count(1, timeout=30_000)
        run_id = page.locator(".run-row").first.get_attribute("data-run-id")
        editor_area(page_b, "Runs")
        expect(page_b).to_have_url(re.compile(r"/models/\d+/runs/?$"))
        expect(page_b.locator(".run-row")).to_have_count(1)
        expect(page_b.locator(".run-row").first).to_have_attribute("data-run-id", run_id)
        for p in (page, page_b):
            row = p.locator(".run-row").first
            expect(row.locator(".run-status")).to_have_text("succeeded", timeout=180_000)
            expect(row).to_contain_text("Solved")
            seen = p.evaluate("window.__statuses")
            assert seen[0] in ("queued", "building", "solving") and seen[-1] == "succeeded", seen
            assert p.evaluate("window.__noReload") == "same page"

        # The tab's page state lives in Redis: closed on the first process and opened (same tab
        # token) on the second, the run form still holds the note typed on the first.
        page.get_by_label("Notes (optional)", exact=True).fill(NOTE)
        token = page.evaluate("window.sessionStorage.getItem('token')")
        assert _state_in_redis(token, NOTE), "the note never reached the tab's state in Redis"
        page.close()
        _until_disconnected(token)
        page_b2 = other.new_page()
        page_b2.set_default_timeout(30_000)
        page_b2.add_init_script(f"window.sessionStorage.getItem('token') || "
                                f"window.sessionStorage.setItem('token', {token!r})")
        page_b2.goto(second_app + runs_path)
        hydrated(page_b2)
        expect(page_b2.locator("#nav-user")).to_have_text(email)
        expect(page_b2.get_by_label("Notes (optional)", exact=True)).to_have_value(NOTE)
        # Reflex gives a tab a new token when its old one is still connected elsewhere.
        assert page_b2.evaluate("window.sessionStorage.getItem('token')") == token
    finally:
        other.close()
