"""Two planners in two browsers: A shares a model with B to view, B sees it read-only; A lets B
edit, B's change shows in A's activity; A invites an address without an account, whose owner
registers (activating by email) and finds the model. Controls are found by label and role."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.ui import activate_by_email, another_browser, hydrated, new_model, register

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password"


def _model_page(page: Page, name: str) -> None:
    page.goto("/models")
    hydrated(page)
    page.locator(".model-tile").filter(has=page.get_by_role("heading", name=name, exact=True)).click()
    expect(page.locator("#model-name")).to_have_text(name)


def test_share_to_view_then_to_edit_and_invite_a_newcomer(page: Page, browser: Browser, base_url: str,
                                                          browser_context_args: dict, mailbox):
    page.set_default_timeout(30_000)
    email_a = register(page, prefix="sharer", display_name="Ann Owner", password=PASSWORD)
    with another_browser(browser, browser_context_args) as page_b:
        email_b = register(page_b, prefix="viewer", display_name="Ben Viewer", password=PASSWORD)

        # A makes a model of her own and shares it with B to view.
        name = new_model(page, "Shared grid")
        model_url = page.url
        page.get_by_label("Share with (email address)").fill(email_b)
        page.get_by_label("Rights", exact=True).select_option("Can view")
        page.get_by_role("button", name="Share", exact=True).click()
        expect(page.get_by_text(f"Shared with {email_b} (can view).")).to_be_visible()
        expect(page.get_by_label(f"Rights of {email_b}")).to_have_value("viewer")

        # B finds it, read-only: the banner, no details form.
        _model_page(page_b, name)
        expect(page_b.locator("#view-only-banner")).to_be_visible()
        expect(page_b.get_by_label("Description", exact=True)).to_have_count(0)
        expect(page_b.locator("#sharing-list")).to_contain_text("View only")
        expect(page_b.get_by_label("Share with (email address)")).to_have_count(0)

        # A lets B edit; B changes the description; A reads it in the model's activity.
        page.get_by_label(f"Rights of {email_b}").select_option("Can edit")
        expect(page.get_by_text(f"{email_b} can edit now.")).to_be_visible()
        page_b.reload()
        hydrated(page_b)
        expect(page_b.locator("#view-only-banner")).to_have_count(0)
        page_b.get_by_label("Description", exact=True).fill("Reviewed by Ben")
        page_b.get_by_role("button", name="Save details").click()
        expect(page_b.get_by_text("Saved the model's details.")).to_be_visible()
        # A's My models counts what is new to her on the model; its feed marks B's change as new.
        page.goto("/models")
        hydrated(page)
        tile = page.locator(".model-tile").filter(has=page.get_by_role("heading", name=name, exact=True))
        expect(tile.locator(".model-unread")).to_have_text("1 new")
        tile.get_by_role("heading", name=name, exact=True).click()
        expect(page.locator("#model-name")).to_have_text(name)
        change = page.locator(".activity-item", has_text="Changed the description")
        expect(change).to_contain_text("Ben Viewer")
        expect(change).to_contain_text("New")
        page.goto("/models")
        hydrated(page)
        expect(tile.locator(".model-unread")).to_have_count(0)  # read now

        # B comments and mentions A: A reads it on the model, and gets an email.
        page_b.get_by_label("Comment", exact=True).fill(f"Description done. @{email_a} can you check the costs?")
        page_b.get_by_role("button", name="Post comment").click()
        expect(page_b.get_by_text(f"Comment posted. {email_a} will get an email.")).to_be_visible()
        expect(page_b.locator(".activity-item.comment")).to_contain_text("can you check the costs?")
        page.reload()
        hydrated(page)
        expect(tile.locator(".model-unread")).to_have_text("1 new")
        page.goto(model_url)
        hydrated(page)
        expect(page.locator(".activity-item.comment")).to_contain_text("can you check the costs?")
        expect(page.locator(".activity-item.comment")).to_contain_text("Ben Viewer")
        mention = mailbox.wait_for_email(email_a, "mentioned you")
        assert name in mention["subject"] and "can you check the costs?" in mention["body"], mention

        # A invites an address nobody registered yet; its owner registers and finds the model.
        newcomer = f"newcomer-{uuid.uuid4().hex[:8]}@example.org"
        page.get_by_label("Share with (email address)").fill(newcomer)
        page.get_by_label("Rights", exact=True).select_option("Can edit")
        page.get_by_role("button", name="Share", exact=True).click()
        expect(page.get_by_text(f"Invited {newcomer}")).to_be_visible()
        expect(page.locator("#sharing-list")).to_contain_text(newcomer)
        with another_browser(browser, browser_context_args) as page_c:  # the newcomer's
            page_c.goto("/register")
            hydrated(page_c)
            page_c.get_by_label("Email", exact=True).fill(newcomer)
            page_c.get_by_label("Password", exact=True).fill(PASSWORD)
            page_c.get_by_label("Password again", exact=True).fill(PASSWORD)
            page_c.get_by_role("button", name="Create account").click()
            activate_by_email(page_c, newcomer)
            expect(page_c.locator(".model-tile").filter(has=page_c.get_by_role("heading", name=name, exact=True))
                   ).to_be_visible()
        subjects = [e["subject"] for e in mailbox.emails_to(newcomer)]
        assert f"Ann Owner shared “{name}” with you on Engage" in subjects, subjects

        # A stops sharing with B: B's next look finds nothing.
        page.get_by_label(f"Stop sharing with {email_b}").click()
        expect(page.get_by_text(f"{email_b} can no longer open this model.")).to_be_visible()
        expect(page.get_by_label(f"Rights of {email_b}")).to_have_count(0)
