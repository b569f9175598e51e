"""Accounts as a planner meets them, every link followed from the email the app sent (the SendGrid
stand-in records it): activation (log in before it is refused, with a new link offered), the
profile (name, password, logging out everywhere), and a forgotten password."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui import hydrated

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password"


def _log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    hydrated(page)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()


def test_activate_by_email_edit_the_profile_and_reset_a_forgotten_password(page: Page, base_url: str, mailbox):
    page.set_default_timeout(30_000)
    email = f"account-{uuid.uuid4().hex[:8]}@example.org"

    # Register: no login yet, the page says where the link went.
    page.goto("/register")
    hydrated(page)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Your name (optional)", exact=True).fill("Ada Planner")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email", level=1)).to_be_visible()
    expect(page.locator("#register-sent-to")).to_have_text(email)
    first_link = mailbox.wait_for_link(email, "/activate")

    # Logging in before activating is refused in words, with a new link on offer.
    _log_in(page, email, PASSWORD)
    expect(page.locator("#login-error")).to_contain_text("not active yet")
    page.get_by_role("button", name="Send the activation link again").click()
    expect(page.locator("#login-notice")).to_contain_text(f"A new activation link is on its way to {email}")
    mailbox.wait_for_link(email, "/activate", count=2)

    # The first link still works (48 hours): it logs the planner in.
    page.goto(first_link)
    expect(page).to_have_url(re.compile(r"/models/?$"))
    expect(page.locator("#nav-user")).to_have_text(email)
    expect(page.get_by_role("heading", level=1)).to_have_count(1)

    # The profile: a name, a password (the current one is checked), the logins.
    page.get_by_role("link", name=email).click()
    expect(page).to_have_url(re.compile(r"/profile$"))
    expect(page.get_by_role("heading", name="Your profile", level=1)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    name = page.get_by_label("Display name", exact=True)
    expect(name).to_have_value("Ada Planner")
    name.fill("Ada L. Planner")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_text("Your name is saved.")).to_be_visible()
    digest = page.get_by_role("switch", name=re.compile("^Daily digest"))
    expect(digest).not_to_be_checked()  # off unless asked for
    digest.click()
    expect(page.get_by_text("You get a daily email of what is new on your models.")).to_be_visible()
    page.get_by_label("Current password", exact=True).fill("not-my-password")
    page.get_by_label("New password", exact=True).fill("a-second-password")
    page.get_by_label("New password again", exact=True).fill("a-second-password")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-error")).to_contain_text("current password is not right")
    page.get_by_label("Current password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()
    expect(page.get_by_label("Current password", exact=True)).to_have_value("")
    page.reload()
    hydrated(page)
    expect(page.get_by_label("Display name", exact=True)).to_have_value("Ada L. Planner")
    expect(page.get_by_role("switch", name=re.compile("^Daily digest"))).to_be_checked()
    expect(page.locator("#nav-user")).to_have_text(email)  # this browser stayed logged in

    page.get_by_role("button", name="Log out everywhere").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Log out everywhere").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/profile")
    expect(page).to_have_url(re.compile(r"/login\?next=/profile"))

    # A forgotten password: the link from the login page's form, once.
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"/forgot-password$"))
    hydrated(page)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.locator("#forgot-notice")).to_contain_text(f"If there is an Engage account for {email}")
    reset_link = mailbox.wait_for_link(email, "/reset-password")
    page.goto(reset_link)
    expect(page.locator("#reset-email")).to_have_text(email)
    page.get_by_label("New password", exact=True).fill("a-third-password")
    page.get_by_label("New password again", exact=True).fill("a-third-password")
    page.get_by_role("button", name="Save the new password").click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_text("Please log in with the new password.")).to_be_visible()
    _log_in(page, email, "a-second-password")
    expect(page.locator("#login-error")).to_contain_text("not right")
    _log_in(page, email, "a-third-password")
    expect(page).to_have_url(re.compile(r"/models/?$"))

    page.goto(reset_link)  # each link works once
    expect(page.locator("#reset-error")).to_contain_text("used already")
    expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()
