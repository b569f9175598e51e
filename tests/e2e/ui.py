"""What every browser test does the same way: wait for the app, register, open a dialog."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Iterator

from playwright.sync_api import Browser, Locator, Page, expect


def hydrated(page: Page) -> None:
    """Wait until the page has connected and run its on_load events (events before that are lost).
    The tab's token alone is not enough after the first page: it stays in sessionStorage."""
    page.wait_for_function("() => window.sessionStorage.getItem('token') !== null && "
                           "document.getElementById('rx-hydrated')?.dataset.hydrated === 'true'")


@contextlib.contextmanager
def another_browser(browser: Browser, context_args: dict) -> Iterator[Page]:
    """A page in a browser of someone else's (its own cookies and storage: no login shared), closed
    afterwards."""
    context = browser.new_context(**context_args)
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
    finally:
        context.close()


def register(page: Page, *, prefix: str, display_name: str, password: str) -> str:
    """Register a fresh account through the form and activate it by its email; it lands on My models,
    logged in."""
    email = f"{prefix}-{uuid.uuid4().hex[:8]}@example.org"
    page.goto("/register")
    hydrated(page)
    page.fill("#email", email)
    page.fill("#display_name", display_name)
    page.fill("#password", password)
    page.fill("#confirm", password)
    page.click("#register-submit")
    activate_by_email(page, email)
    return email


def activate_by_email(page: Page, email: str) -> None:
    """After registering: the page asks to check the email; follow its link, as the planner does."""
    from tests import sendgrid_standin

    # Registering hashes the password on purpose slowly: beside a solving worker it takes seconds.
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible(timeout=30_000)
    expect(page.locator("#register-sent-to")).to_have_text(email)
    mailbox = sendgrid_standin.SHARED
    assert mailbox is not None, "the app server sends no email (the e2e mailbox fixture is not up)"
    page.goto(mailbox.wait_for_link(email, "/activate"))
    expect(page).to_have_url(re.compile(r"/models/?$"))
    expect(page.locator("#nav-user")).to_have_text(email)


def new_model(page: Page, prefix: str) -> str:
    """From My models: a new empty model named `prefix` and a few random letters; its Overview is open."""
    name = f"{prefix} {uuid.uuid4().hex[:4]}"
    page.get_by_role("button", name="New model").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("button", name="Create model").click()
    expect(page.locator("#model-name")).to_have_text(name)
    return name


def open_dialog(button: Locator, dialog: Locator, attempts: int = 3) -> None:
    """Click `button` until `dialog` shows, at most `attempts` times.

    Right after a marker drag or a dialog closing, a click is now and then not acted on (the
    page is re-rendering the row under the pointer); a planner clicks again, so does the test.
    """
    for attempt in range(attempts):
        button.click()
        try:
            expect(dialog).to_be_visible(timeout=3000)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def editor_area(page: Page, name: str) -> None:
    """Open one area of the model editor (Runs, Technologies, ...) from its navigation."""
    page.get_by_role("navigation", name="Model editor").get_by_role("link", name=name, exact=True).click()


def run_days(page: Page, start: str, end: str, notes: str = "") -> str:
    """Start a HiGHS run over [start, end] on the model's Runs page; its id once it has succeeded."""
    editor_area(page, "Runs")
    expect(page.locator("#run-start")).not_to_have_value("")
    page.fill("#run-start", start)
    page.fill("#run-end", end)
    expect(page.locator("#run-end")).to_have_value(end)
    if notes:
        page.get_by_label("Notes (optional)").fill(notes)
    page.wait_for_timeout(400)  # let the form reach the server before the click
    before = page.locator(".run-row").count()
    page.click("#run-button")
    # The row shows once the run is recorded and queued (slower while a worker is busy on both cores).
    expect(page.locator(".run-row")).to_have_count(before + 1, timeout=30_000)
    run = page.locator(".run-row").first
    expect(run.locator(".run-status")).to_have_text("succeeded", timeout=180_000)
    return run.get_attribute("data-run-id")


def steady_box(locator: Locator) -> dict:
    """The element's box once it stopped moving (the map may still be gliding to fit a new marker:
    a drag started on where the marker was a moment ago grabs nothing)."""
    box = locator.bounding_box()
    for _ in range(40):
        time.sleep(0.25)
        again = locator.bounding_box()
        if again == box:
            return box
        box = again
    raise AssertionError(f"the marker kept moving for 10 s: {box}")
