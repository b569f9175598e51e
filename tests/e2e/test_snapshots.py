"""Snapshots in the browser: a planner takes a snapshot of a model, changes the model, opens the
snapshot (read only, as it was), and makes a new model from it. Controls by label and role."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui import new_model, register

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password"


def test_take_a_snapshot_change_the_model_and_copy_from_the_snapshot(page: Page, base_url: str, mailbox):
    page.set_default_timeout(30_000)
    register(page, prefix="snapper", display_name="Sam Snap", password=PASSWORD)
    name = new_model(page, "Plan")
    model_url = page.url
    page.get_by_label("Description", exact=True).fill("As presented to the board")
    page.get_by_role("button", name="Save details").click()
    expect(page.get_by_text("Saved the model's details.")).to_be_visible()

    page.get_by_role("button", name="Take a snapshot").click()
    expect(page.get_by_text(f"Took snapshot “{name} [v1]”")).to_be_visible()
    expect(page.locator("#snapshot-list")).to_contain_text(f"{name} [v1]")
    page.get_by_label("Description", exact=True).fill("Changed after the board meeting")
    # The first save's toast may still be up (a few seconds); the second save must bring its own.
    expect(page.get_by_text("Saved the model's details.")).to_have_count(0, timeout=15_000)
    page.get_by_role("button", name="Save details").click()
    expect(page.get_by_text("Saved the model's details.")).to_be_visible()

    # The snapshot: as it was, read only, and it says so; it is not run again.
    page.get_by_role("link", name=f"{name} [v1]").click()
    expect(page.locator("#model-name")).to_have_text(f"{name} [v1]")
    expect(page.locator("#snapshot-banner")).to_contain_text("nothing in it can be changed or run")
    expect(page.get_by_text("As presented to the board")).to_be_visible()
    expect(page.get_by_label("Description", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Take a snapshot")).to_have_count(0)
    expect(page.get_by_role("link", name="Run a scenario")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_have_count(1)

    # A new model from it: the snapshot's contents, editable.
    page.get_by_role("button", name="Make a copy").click()
    expect(page.get_by_text("Made your own copy.")).to_be_visible()
    expect(page.locator("#model-name")).to_have_text(f"Copy of {name} [v1]")
    expect(page.get_by_label("Description", exact=True)).to_have_value("As presented to the board")
    expect(page.locator("#snapshot-banner")).to_have_count(0)

    # The model itself lists the snapshot; My models lists the model and the copy, not the snapshot.
    page.goto(model_url)
    expect(page.locator("#snapshot-list")).to_contain_text(f"{name} [v1]")
    page.goto("/models")
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=f"{name} [v1]", exact=True)).to_have_count(0)
    expect(page.get_by_role("heading", name=re.compile(rf"^Copy of {re.escape(name)}"))).to_be_visible()
