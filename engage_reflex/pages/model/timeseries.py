"""`/models/[model_id]/timeseries`: upload CSVs of profiles, pick their columns, preview and manage the series."""

import reflex as rx

from engage_reflex.components.editor import editor_page
from engage_reflex.components.feedback import empty_state, error_callout
from engage_reflex.components.layout import loading, section
from engage_reflex.components.zoom_chart import zoom_plotly
from engage_reflex.pages.model.locations import field
from engage_reflex.services.timeseries_csv import MAX_FILE_BYTES
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.state.model.timeseries import SeriesListRow, TimeseriesState
from engage_reflex.state.model.uploads import ColumnRow, ProblemRow, TimeseriesUploadState

S, U = TimeseriesState, TimeseriesUploadState
UPLOAD_ID = "timeseries_csv"
SELECT_STYLE = {"padding": "0.35em 0.5em", "border_radius": "6px", "border": "1px solid var(--gray-7)",
                "background": "var(--color-surface)", "min_width": "10em"}
STEPS = [(15, "15 minutes"), (30, "30 minutes"), (60, "1 hour"), (120, "2 hours"), (180, "3 hours"),
         (360, "6 hours"), (720, "12 hours"), (1440, "1 day")]
WORKING = (U.upload_status == "queued") | (U.upload_status == "processing")


def select(name: str, control_id: str, options: list[tuple[str, str]], default: rx.Var | str) -> rx.Component:
    return rx.el.select(*[rx.el.option(label, value=value) for value, label in options], name=name, id=control_id,
                        default_value=default, style=SELECT_STYLE)


def drop_zone() -> rx.Component:
    return rx.upload.root(
        rx.vstack(
            rx.icon("file-up", size=28, color=rx.color("accent", 10)),
            rx.text("Drop a CSV file here, or ", rx.text("choose one", as_="span", weight="medium",
                                                           color=rx.color("accent", 11)), size="2"),
            rx.text(f"CSV, TSV or TXT, up to {MAX_FILE_BYTES // 2**20} MB. Separators , ; or tab and decimal "
                    "points or commas are recognised.", size="1", color=rx.color("gray", 10)),
            align="center", spacing="1", padding="1.2em", width="100%",
        ),
        id=UPLOAD_ID, multiple=False, max_files=1, max_size=MAX_FILE_BYTES,
        accept={"text/csv": [".csv"], "text/plain": [".txt"], "text/tab-separated-values": [".tsv"],
                "application/vnd.ms-excel": [".csv"]},
        on_drop=U.receive_file(rx.upload_files_chunk(upload_id=UPLOAD_ID, on_upload_progress=U.transfer_progress)),
        on_drop_rejected=U.file_refused,
        border=f"2px dashed {rx.color('gray', 7)}", border_radius="10px", width="100%", cursor="pointer",
        custom_attrs={"aria-label": "Upload a timeseries CSV"},
    )


def progress_panel() -> rx.Component:
    return rx.vstack(
        rx.cond(U.receiving, rx.vstack(
            rx.text("Sending ", U.upload_filename, "… ", U.transfer_percent, "%", size="2"),
            rx.progress(value=U.transfer_percent, max=100, width="100%", id="upload-transfer",
                        custom_attrs={"aria-label": "Sending the file"}),
            width="100%", spacing="1")),
        rx.cond(WORKING, rx.vstack(
            rx.text(U.upload_filename, ": ", U.upload_message, " (", U.upload_percent, "%)", size="2",
                    id="upload-status"),
            rx.progress(value=U.upload_percent, max=100, width="100%", id="upload-progress",
                        custom_attrs={"aria-label": "Reading the file"}),
            width="100%", spacing="1")),
        width="100%", spacing="2",
    )


def problem_item(problem: ProblemRow) -> rx.Component:
    return rx.hstack(
        rx.icon(rx.cond(problem.refused, "circle-x", "info"), size=15,
                color=rx.cond(problem.refused, rx.color("red", 10), rx.color("amber", 10))),
        rx.text(rx.cond(problem.where != "", rx.text(problem.where, ": ", as_="span", weight="medium"), ""),
                problem.message, size="2"),
        spacing="2", align="start", class_name="upload-problem",
    )


def layout_form() -> rx.Component:
    """Read the file again with another separator, decimal mark or header line."""
    return rx.form(
        rx.hstack(
            field("Column separator", "upload-delimiter",
                  select("delimiter", "upload-delimiter", [(",", "comma ,"), (";", "semicolon ;"), ("\t", "tab")],
                         U.delimiter)),
            field("Decimal mark", "upload-decimal",
                  select("decimal", "upload-decimal", [(".", "point 1.5"), (",", "comma 1,5")], U.decimal)),
            field("Header line", "upload-header",
                  rx.input(name="header_row", id="upload-header", type="number", min=1, max=1000,
                           default_value=U.header_row.to_string(), width="6em")),
            rx.button("Read again", type="submit", variant="soft"),
            align="end", spacing="3", wrap="wrap",
        ),
        on_submit=U.reread, reset_on_submit=False,
    )


def column_choice(column: ColumnRow) -> rx.Component:
    keep_id = "keep-" + column.index.to_string()
    name_id = "series-name-" + column.index.to_string()
    return rx.table.row(
        rx.table.cell(rx.checkbox(name="keep_" + column.index.to_string(), id=keep_id, default_checked=column.keep,
                                  custom_attrs={"aria-label": "Keep " + column.name})),
        rx.table.row_header_cell(rx.el.label(column.name, html_for=keep_id)),
        rx.table.cell(rx.badge(column.kind, variant="soft", color_scheme="gray")),
        rx.table.cell(rx.text(column.samples, size="1", color=rx.color("gray", 11))),
        rx.table.cell(rx.input(name="series_name_" + column.index.to_string(), id=name_id, default_value=column.name,
                               custom_attrs={"aria-label": "Series name for " + column.name}, width="14em")),
        class_name="upload-column",
    )


def choice_form() -> rx.Component:
    column_options = rx.foreach(U.columns, lambda c: rx.el.option(c.name, value=c.name))
    return rx.form(
        rx.vstack(
            rx.heading("Where the time comes from", size="3", as_="h3"),
            rx.radio_group.root(
                rx.hstack(
                    rx.el.label(rx.radio_group.item(value="column", id="time-from-column"),
                                rx.text(" A column of time stamps", as_="span", size="2")),
                    rx.el.label(rx.radio_group.item(value="start", id="time-from-start"),
                                rx.text(" One value per step from a start date", as_="span", size="2")),
                    spacing="4", wrap="wrap"),
                name="time_source", default_value=rx.cond(U.timestamp_column != "", "column", "start"),
            ),
            rx.hstack(
                field("Time stamp column", "timestamp-column",
                      rx.el.select(column_options, name="timestamp_column", id="timestamp-column",
                                   default_value=U.timestamp_column, style=SELECT_STYLE),
                      rx.cond(U.date_format != "", "Read as " + U.date_format, "")),
                field("First value at", "series-start",
                      rx.input(name="start", id="series-start", type="datetime-local", width="14em"),
                      "In the model's time zone, " + ModelEditorState.model_time_zone),
                field("Time between values", "series-step",
                      select("step_minutes", "series-step", [(str(m), label) for m, label in STEPS], "60")),
                field("Unit", "series-unit", rx.input(name="unit", id="series-unit", placeholder="e.g. kW",
                                                      width="8em")),
                spacing="4", align="start", wrap="wrap",
            ),
            rx.heading("Columns to keep as series", size="3", as_="h3"),
            rx.box(rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(t) for t in
                                               ("Keep", "Column", "Looks like", "First values", "Series name")])),
                rx.table.body(rx.foreach(U.columns, column_choice)), size="1", width="100%"),
                width="100%", overflow_x="auto"),
            rx.hstack(
                rx.button("Discard this file", type="button", variant="soft", color_scheme="gray", on_click=U.discard),
                rx.button(rx.icon("database", size=16), "Store series", type="submit", id="store-series"),
                justify="end", spacing="3", width="100%"),
            spacing="3", width="100%",
        ),
        on_submit=U.choose, reset_on_submit=False,
    )


def upload_panel() -> rx.Component:
    has_columns = U.columns.length() > 0
    return section(
        "Upload timeseries",
        rx.text("Times without a time zone are read in the model's zone (", ModelEditorState.model_time_zone,
                ") and stored in UTC; daylight-saving changes are handled.", size="2", color=rx.color("gray", 11)),
        drop_zone(),
        progress_panel(),
        rx.cond((U.upload_status == "failed") & (U.upload_message != ""),
                error_callout(U.upload_message, id="upload-error")),
        rx.cond(U.problems.length() > 0, rx.vstack(rx.foreach(U.problems, problem_item), spacing="1",
                                                   id="upload-problems", width="100%")),
        rx.cond((U.upload_status == "inspected") | ((U.upload_status == "failed") & has_columns), rx.vstack(
            rx.text(U.upload_filename, ": ", U.data_rows, " rows. ", U.upload_message, size="2", id="upload-summary"),
            layout_form(),
            choice_form(),
            spacing="3", width="100%")),
        rx.cond((U.upload_status == "failed") & ~has_columns,
                rx.button("Discard this file", variant="soft", color_scheme="gray", on_click=U.discard)),
        icon="upload",
    )


def series_row(row: SeriesListRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.button(row.name, variant="ghost", size="1", on_click=S.select(row.id),
                                           custom_attrs={"aria-label": "Preview " + row.name})),
        rx.table.cell(row.span), rx.table.cell(row.step), rx.table.cell(row.count),
        rx.table.cell(row.unit), rx.table.cell(row.source),
        rx.table.cell(rx.cond(row.used_by != "", rx.text(row.used_by, size="1"),
                              rx.text("not attached", size="1", color=rx.color("gray", 10)))),
        class_name="series-row", data_selected=rx.cond(row.id == S.selected_id, "true", "false"),
        background=rx.cond(row.id == S.selected_id, rx.color("accent", 3), "transparent"),
    )


def preview_panel() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading(S.preview_name, size="4", as_="h3", id="preview-name"),
            rx.spacer(),
            rx.cond(ModelEditorState.can_edit, rx.hstack(
                rx.button("Rename", size="1", variant="soft", on_click=S.set_rename_open(True)),
                rx.button("Delete", size="1", variant="soft", color_scheme="red", on_click=S.set_delete_open(True)),
                spacing="2")),
            width="100%", align="center"),
        rx.text(S.coverage, size="2", id="preview-coverage"),
        rx.text(S.detail, size="1", color=rx.color("gray", 10), id="preview-detail"),
        zoom_plotly(data=S.figure, on_relayout=S.zoomed, width="100%", height="360px", id="series-chart"),
        rx.hstack(rx.foreach(S.summary, lambda item: rx.vstack(
            rx.text(item[0], size="1", color=rx.color("gray", 10)), rx.text(item[1], weight="medium"),
            spacing="0")), spacing="5", id="preview-summary"),
        rx.cond(S.gaps.length() > 0, rx.vstack(
            rx.text("Gaps", weight="medium", size="2"),
            rx.foreach(S.gaps, lambda g: rx.text(g, size="1")), spacing="1", id="preview-gaps")),
        spacing="2", width="100%",
    )


def rename_dialog() -> rx.Component:
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title("Rename series"),
        rx.form(rx.vstack(
            field("Name", "series-new-name", rx.input(name="name", id="series-new-name", default_value=S.preview_name,
                                                      width="100%", auto_focus=True)),
            rx.hstack(rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                      rx.button("Save", type="submit"), justify="end", spacing="3", width="100%"),
            spacing="3"), on_submit=S.rename, reset_on_submit=False),
        max_width="440px"), open=S.rename_open, on_open_change=S.set_rename_open)


def delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(rx.alert_dialog.content(
        rx.alert_dialog.title("Delete the series “", S.preview_name, "”?"),
        rx.alert_dialog.description("Its values are removed from the model. This cannot be undone.", size="2"),
        rx.hstack(rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                  rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=S.delete)),
                  justify="end", spacing="3", padding_top="0.5em")),
        open=S.delete_open, on_open_change=S.set_delete_open)


def series_panel() -> rx.Component:
    table = rx.box(rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(t) for t in (
            "Series", "Covers", "Step", "Values", "Unit", "From file", "Used by")])),
        rx.table.body(rx.foreach(S.series, series_row)), size="1", width="100%", id="series-table"),
        width="100%", overflow_x="auto")
    return section(
        "Series of this model",
        rx.cond(S.series.length() > 0, rx.vstack(table, rx.cond(S.selected_id != 0, preview_panel(),
                                                                 rx.text(S.detail, size="2", id="preview-detail")),
                                                 spacing="4", width="100%"),
                empty_state("chart-line", "No timeseries yet", "Upload a CSV of demand or resource profiles above.")),
        rename_dialog(), delete_dialog(),
        icon="chart-line",
    )


@editor_page("timeseries", "Timeseries", on_load=[TimeseriesState.load, TimeseriesUploadState.load_uploads])
def model_timeseries_page() -> rx.Component:
    return rx.cond(
        S.loaded,
        rx.cond(S.error != "", error_callout(S.error, id="timeseries-error"),
                rx.vstack(rx.cond(ModelEditorState.can_edit, upload_panel()), series_panel(),
                          spacing="4", width="100%")),
        loading("Loading the timeseries…"),
    )
