"""A planner imports Calliope's national example as a zip on My models (the progress shows, then a link
to the new model), opens it, and downloads its base scenario as a zip from the Overview."""

from __future__ import annotations

import re
import zipfile

import pytest
from playwright.sync_api import Page, expect

from engage_reflex.services.archives import zip_folder
from tests.e2e.ui import hydrated, register

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password"
expect.set_options(timeout=60_000)
# Notes whether the live progress bar of the import was ever on the page (a worker may be quick).
WATCH_PROGRESS = """() => {
  window.__sawProgress = false;
  new MutationObserver(() => {
    const seen = document.querySelector('[aria-label="Importing the model"], [aria-label="Sending the zip"]');
    if (seen) window.__sawProgress = true;
  }).observe(document.body, {childList: true, subtree: true});
}"""


def test_import_a_model_zip_open_it_and_download_a_scenario_as_zip(page: Page, base_url: str, tmp_path,
                                                                   calliope_examples_dir):
    national = zip_folder(folder=calliope_examples_dir / "national_scale", target=tmp_path / "national.zip",
                          top="national_scale")
    register(page, prefix="zips", display_name="Zip Planner", password=PASSWORD)
    hydrated(page)
    expect(page.get_by_role("heading", name="Import a model")).to_be_visible()
    page.evaluate(WATCH_PROGRESS)

    page.get_by_label("Import a model zip").locator("input[type=file]").set_input_files(str(national))
    open_link = page.get_by_role("link", name=re.compile(r"^Open "))
    expect(open_link).to_be_visible(timeout=180_000)
    assert page.evaluate("() => window.__sawProgress"), "no progress was shown while the zip was imported"
    expect(page.locator("#archive-done")).to_contain_text("from national.zip")
    expect(page.get_by_role("heading", level=1)).to_have_count(1)

    open_link.click()
    expect(page).to_have_url(re.compile(r"/models/\d+/?$"))
    hydrated(page)
    expect(page.get_by_role("heading", name="Download as zip")).to_be_visible()
    expect(page.get_by_role("combobox", name="Scenario to download")).to_contain_text("base")
    with page.expect_download(timeout=180_000) as download_info:
        page.get_by_role("button", name="Download as zip").click()
    download = download_info.value
    assert download.suggested_filename.endswith("-base.zip"), download.suggested_filename
    with zipfile.ZipFile(download.path()) as zf:
        names = zf.namelist()
    top = download.suggested_filename.removesuffix(".zip")
    assert f"{top}/model.yaml" in names, names
    assert any(n.startswith(f"{top}/data_tables/") and n.endswith(".csv") for n in names), names
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
