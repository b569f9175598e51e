"""`/models/[model_id]/locations`: the map and the table of locations, with CSV download and upload."""

import reflex as rx

from engage_reflex.components.editor import editor_page
from engage_reflex.components.feedback import empty_state, error_callout
from engage_reflex.components.layout import loading, section
from engage_reflex.components.map import leaflet_map
from engage_reflex.services.locations import CSV_MAX_ROWS
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.state.model.locations import TABLE_LIMIT, LocationsState, TableRow

S = LocationsState


def field(label: str, control_id: str, control: rx.Component, hint: str | rx.Var = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium", as_="span"), html_for=control_id),
        control,
        rx.text(hint, size="1", color=rx.color("gray", 10)) if isinstance(hint, rx.Var) or hint else rx.fragment(),
        spacing="1", width="100%",
    )


def location_form() -> rx.Component:
    def text_input(name: str, control_id: str, value, placeholder: str = "", **props) -> rx.Component:
        return rx.input(name=name, id=control_id, default_value=value, placeholder=placeholder, width="100%", **props)

    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.edit_id == 0, "Add a location", "Edit location")),
            rx.dialog.description("Calliope calls locations nodes. Coordinates are in degrees (WGS84).",
                                  size="2", color=rx.color("gray", 11)),
            rx.form(
                rx.vstack(
                    field("Name", "location-name", text_input("name", "location-name", S.form_name, "e.g. North_Sea",
                                                              auto_focus=True),
                          "Letters, digits and underscores, starting with a letter."),
                    rx.grid(
                        field("Latitude", "location-lat", text_input("latitude", "location-lat", S.form_lat, "−90 … 90")),
                        field("Longitude", "location-lon",
                              text_input("longitude", "location-lon", S.form_lon, "−180 … 180")),
                        columns="2", spacing="3", width="100%",
                    ),
                    field("Available area", "location-area", text_input("available_area", "location-area", S.form_area,
                                                                        "empty = no limit"),
                          "For technologies that use area (e.g. solar), in the model's area unit."),
                    rx.cond(S.form_error != "", error_callout(S.form_error, id="location-form-error", size="1")),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                        rx.button(rx.cond(S.edit_id == 0, "Add location", "Save"), type="submit"),
                        justify="end", spacing="3", width="100%",
                    ),
                    spacing="3", width="100%",
                ),
                on_submit=S.save_form, reset_on_submit=False,
            ),
            max_width="480px",
        ),
        open=S.form_open, on_open_change=S.set_form_open,
    )


def delete_dialog() -> rx.Component:
    def goes(title: str, items) -> rx.Component:
        return rx.cond(items.length() > 0, rx.vstack(
            rx.text(title, size="2", weight="medium"),
            rx.el.ul(rx.foreach(items, lambda item: rx.el.li(rx.text(item, size="2"))), padding_left="1.2em"),
            spacing="1"))

    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete location “", S.delete_name, "”?"),
            rx.alert_dialog.description(
                rx.cond((S.delete_techs.length() + S.delete_links.length()) > 0,
                        "These go with it and cannot be brought back:",
                        "Nothing else uses this location."),
                size="2"),
            rx.vstack(goes("Technologies placed there", S.delete_techs), goes("Links from or to it", S.delete_links),
                      spacing="2", padding_y="0.5em", id="delete-impact"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=S.confirm_delete)),
                justify="end", spacing="3",
            ),
        ),
        open=S.delete_open, on_open_change=S.set_delete_open,
    )


def location_row(row: TableRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(row.name),
        rx.table.cell(row.lat),
        rx.table.cell(row.lon),
        rx.table.cell(rx.cond(row.area != "", row.area, "no limit")),
        rx.table.cell(row.nodes),
        rx.table.cell(row.links),
        rx.cond(ModelEditorState.can_edit, rx.table.cell(rx.hstack(
            rx.button("Edit", size="1", variant="soft", on_click=S.open_edit(row.id),
                      custom_attrs={"aria-label": "Edit " + row.name}),
            rx.button("Delete", size="1", variant="soft", color_scheme="red", on_click=S.ask_delete(row.id),
                      custom_attrs={"aria-label": "Delete " + row.name}),
            spacing="2"))),
        class_name="location-row",
    )


def locations_table() -> rx.Component:
    head = rx.table.header(rx.table.row(
        *[rx.table.column_header_cell(title) for title in
          ("Name", "Latitude", "Longitude", "Available area", "Techs placed", "Links")],
        rx.cond(ModelEditorState.can_edit, rx.table.column_header_cell("Actions")),
    ))
    return rx.vstack(
        rx.table.root(head, rx.table.body(rx.foreach(S.shown_rows, location_row)), size="1", width="100%",
                      id="locations-table"),
        rx.cond(S.hidden_count > 0, rx.text(S.hidden_count, f" more not shown (the table shows {TABLE_LIMIT}); "
                                            "type in the filter to find them.", size="1", color=rx.color("gray", 10))),
        spacing="2", width="100%", overflow_x="auto",
    )


def toolbar() -> rx.Component:
    return rx.hstack(
        rx.hstack(
            rx.el.label(rx.text("Filter by name", size="2", as_="span"), html_for="location-filter"),
            rx.input(value=S.filter_text, on_change=S.set_filter_text, id="location-filter",
                     placeholder="e.g. north", debounce_timeout=250),
            align="center", spacing="2",
        ),
        rx.spacer(),
        rx.cond(ModelEditorState.can_edit, rx.hstack(
            rx.button(rx.icon("plus", size=16), "Add location", on_click=S.open_add),
            rx.upload.root(
                rx.button(rx.icon("upload", size=16), "Upload CSV", variant="soft", type="button"),
                id="locations_csv", on_drop=S.upload_csv, multiple=False, max_files=1, no_drag=False,
                accept={"text/csv": [".csv"], "text/plain": [".txt"], "application/vnd.ms-excel": [".csv"]},
                border="none", padding="0",
            ),
            spacing="2")),
        rx.button(rx.icon("download", size=16), "Download CSV", variant="soft", on_click=S.download_csv),
        align="center", spacing="2", width="100%", wrap="wrap",
    )


@editor_page("locations", "Locations", on_load=[LocationsState.load])
def model_locations_page() -> rx.Component:
    return rx.cond(
        S.loaded,
        rx.cond(
            S.error != "",
            error_callout(S.error, id="locations-error"),
            rx.vstack(
                section(
                    "Map",
                    rx.text(rx.cond(ModelEditorState.can_edit,
                                    "Click the map to add a location; drag a marker to move it (saved when you "
                                    "let go). Lines are links between locations.",
                                    "Markers are the model's locations; lines are links between them."),
                            size="2", color=rx.color("gray", 11)),
                    leaflet_map(markers=S.markers, lines=S.lines, editable=ModelEditorState.can_edit,
                                fit_key=S.map_fit_key, map_height="440px",
                                aria_label="Map of locations", id="locations-map",
                                on_map_click=S.map_clicked, on_marker_move=S.marker_moved),
                    icon="map",
                ),
                section(
                    "Locations",
                    toolbar(),
                    rx.cond(S.rows.length() > 0, locations_table(),
                            empty_state("map-pin", "No locations yet",
                                        "Click the map to add the first one, or upload a CSV with the columns "
                                        "name, latitude, longitude, available_area.")),
                    rx.cond(ModelEditorState.can_edit, rx.text(
                        f"CSV upload adds new names and updates existing ones; if any row has a problem nothing is "
                        f"imported and the message names the row (the header is row 1). Up to {CSV_MAX_ROWS:,} rows.",
                        size="1", color=rx.color("gray", 10))),
                    icon="map-pin",
                ),
                location_form(),
                delete_dialog(),
                spacing="4", width="100%",
            ),
        ),
        loading("Loading the locations…"),
    )
