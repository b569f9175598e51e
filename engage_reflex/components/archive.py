"""Model zips in the browser: the import panel of My models and the Overview's "Download as zip"."""

import reflex as rx

from engage_reflex.components.feedback import error_callout
from engage_reflex.components.layout import section
from engage_reflex.services.archives import MAX_UPLOAD_BYTES
from engage_reflex.state.archives import ModelArchiveState
from engage_reflex.state.model.archive import ModelExportState

A, E = ModelArchiveState, ModelExportState
ARCHIVE_UPLOAD_ID = "model_zip"
_WORKING = (A.archive_status == "queued") | (A.archive_status == "processing")
_EXPORTING = (E.export_status == "queued") | (E.export_status == "processing")


def archive_drop_zone() -> rx.Component:
    return rx.upload.root(
        rx.vstack(
            rx.icon("file-archive", size=26, color=rx.color("accent", 10)),
            rx.text("Drop a zipped Calliope model folder here, or ",
                    rx.text("choose one", as_="span", weight="medium", color=rx.color("accent", 11)), size="2"),
            rx.text(f"A .zip of the folder that holds model.yaml and its CSV files (Calliope 0.7), up to "
                    f"{MAX_UPLOAD_BYTES // 2**20} MB. It becomes a new model of yours.",
                    size="1", color=rx.color("gray", 10)),
            align="center", spacing="1", padding="1em", width="100%",
        ),
        id=ARCHIVE_UPLOAD_ID, multiple=False, max_files=1, max_size=MAX_UPLOAD_BYTES,
        accept={"application/zip": [".zip"], "application/x-zip-compressed": [".zip"]},
        on_drop=A.receive_archive(rx.upload_files_chunk(upload_id=ARCHIVE_UPLOAD_ID,
                                                        on_upload_progress=A.archive_transfer)),
        on_drop_rejected=A.archive_refused,
        border=f"2px dashed {rx.color('gray', 7)}", border_radius="10px", width="100%", cursor="pointer",
        custom_attrs={"aria-label": "Import a model zip"},
    )


def import_progress() -> rx.Component:
    return rx.vstack(
        rx.cond(A.archive_receiving, rx.vstack(
            rx.text("Sending the zip… ", A.archive_transfer_percent, "%", size="2"),
            rx.progress(value=A.archive_transfer_percent, max=100, width="100%",
                        custom_attrs={"aria-label": "Sending the zip"}),
            width="100%", spacing="1")),
        rx.cond(_WORKING, rx.vstack(
            rx.text(A.archive_filename, ": ", A.archive_message, " (", A.archive_percent, "%)", size="2",
                    id="archive-status"),
            rx.progress(value=A.archive_percent, max=100, width="100%",
                        custom_attrs={"aria-label": "Importing the model"}),
            width="100%", spacing="1")),
        width="100%", spacing="2",
    )


def import_result() -> rx.Component:
    return rx.fragment(
        rx.cond(A.archive_status == "failed", rx.vstack(
            error_callout(A.archive_message, id="archive-error"),
            rx.button("Dismiss", size="1", variant="soft", color_scheme="gray", on_click=A.dismiss_archive),
            spacing="2", width="100%")),
        rx.cond(A.archive_status == "succeeded", rx.vstack(
            rx.callout(A.archive_message, icon="circle-check", color_scheme="green", width="100%",
                       id="archive-done"),
            rx.link(rx.button(rx.icon("arrow-right", size=14), "Open ", A.new_model_name, size="2"),
                    href="/models/" + A.new_model_id.to_string()),
            rx.cond(A.import_warnings.length() > 0, rx.vstack(
                rx.text("Notes from the import", size="2", weight="medium"),
                rx.el.ul(rx.foreach(A.import_warnings, lambda w: rx.el.li(rx.text(w, size="2"))),
                         style={"padding_left": "1.2em", "margin": "0"}),
                spacing="1", width="100%", id="archive-warnings")),
            spacing="2", width="100%", align="start")),
    )


def import_panel() -> rx.Component:
    return section("Import a model", archive_drop_zone(), import_progress(), import_result(), icon="upload",
                   id="import-panel")


def export_section() -> rx.Component:
    return section(
        "Download as zip",
        rx.text("A scenario as a Calliope 0.7 model folder (model.yaml, data tables and math files), zipped. "
                "Unzip it and run `calliope run model.yaml`.", size="2", color=rx.color("gray", 11)),
        rx.hstack(
            rx.vstack(
                rx.el.label(rx.text("Scenario to download", size="2", weight="medium", as_="span"),
                            html_for="export-scenario"),
                rx.select(E.export_scenarios, value=E.export_choice, on_change=E.set_export_choice,
                          id="export-scenario", custom_attrs={"aria-label": "Scenario to download"}),
                spacing="1"),
            rx.button(rx.icon("download", size=16), "Download as zip", on_click=E.start_export,
                      loading=_EXPORTING, disabled=E.export_choice == ""),
            align="end", spacing="3", wrap="wrap"),
        rx.cond(_EXPORTING, rx.vstack(
            rx.text(E.export_message, " (", E.export_percent, "%)", size="2", id="export-status"),
            rx.progress(value=E.export_percent, max=100, width="100%",
                        custom_attrs={"aria-label": "Exporting the scenario"}),
            width="100%", spacing="1")),
        rx.cond(E.export_status == "failed", error_callout(E.export_message, id="export-error")),
        rx.cond(E.export_status == "succeeded", rx.text(E.export_message, " Your browser saves it.", size="2",
                                                       id="export-done")),
        icon="file-archive",
    )
