"""`/models/[model_id]`: the model's Overview — its details, what it holds and its recent activity."""

import reflex as rx

from engage_reflex.components.archive import export_section
from engage_reflex.components.check_panel import check_model_section
from engage_reflex.components.editor import area_href, editor_page
from engage_reflex.components.feedback import error_callout, swatch
from engage_reflex.components.feed import feed_section
from engage_reflex.components.sharing import sharing_section
from engage_reflex.components.snapshots import snapshots_section
from engage_reflex.components.layout import loading, section
from engage_reflex.schemas import LocationView, TechView
from engage_reflex.state.model.base import ModelEditorState
from engage_reflex.state.model.archive import ModelExportState
from engage_reflex.state.model.overview import OverviewState
from engage_reflex.state.auth import AuthState
from engage_reflex.state.model.feed import FeedState
from engage_reflex.state.model.sharing import SharingState
from engage_reflex.state.model.snapshots import SnapshotsState

S = OverviewState


def tech_item(tech: TechView) -> rx.Component:
    return rx.hstack(swatch(tech.color), rx.text(tech.display_name, size="2"), rx.spacer(),
                     rx.badge(tech.base_tech, variant="surface", color_scheme="gray", size="1"),
                     align="center", width="100%", spacing="2")


def location_item(loc: LocationView) -> rx.Component:
    return rx.hstack(rx.icon("map-pin", size=14, color=rx.color("gray", 10)), rx.text(loc.name, size="2"),
                     rx.spacer(),
                     rx.cond(loc.latitude.is_not_none(),
                             rx.text(loc.latitude.to_string(), ", ", loc.longitude.to_string(), size="1",
                                     color=rx.color("gray", 10))),
                     align="center", width="100%", spacing="2")


def count_item(item) -> rx.Component:
    return rx.vstack(rx.text(item[1], size="6", weight="bold"), rx.text(item[0], size="1", color=rx.color("gray", 11)),
                     spacing="0", align="center", min_width="5em", class_name="model-count")


def field(label: str, control_id: str, control: rx.Component, hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium", as_="span"), html_for=control_id),
        control,
        rx.text(hint, size="1", color=rx.color("gray", 10)) if hint else rx.fragment(),
        spacing="1", width="100%",
    )


def details_form() -> rx.Component:
    """Name, description and time zone, saved together (editors only)."""
    return rx.form(
        rx.vstack(
            field("Name", "model-name-input",
                  rx.input(name="name", id="model-name-input", default_value=ModelEditorState.model_name,
                           max_length=200, width="100%")),
            field("Description", "model-description-input",
                  rx.text_area(name="description", id="model-description-input", rows="3", width="100%",
                               default_value=ModelEditorState.model_description,
                               placeholder="What the model is for")),
            field("Time zone", "model-zone-input",
                  rx.select(S.time_zones, name="time_zone", default_value=ModelEditorState.model_time_zone,
                            id="model-zone-input", width="100%", custom_attrs={"aria-label": "Time zone"}),
                  "Dates of this model are shown in this zone."),
            rx.button(rx.icon("save", size=16), "Save details", type="submit"),
            spacing="3", width="100%",
        ),
        on_submit=S.save_details, reset_on_submit=False, key=ModelEditorState.loaded_model_id.to_string(),
        width="100%",
    )


def read_only_details() -> rx.Component:
    return rx.vstack(
        rx.text(rx.cond(ModelEditorState.model_description != "", ModelEditorState.model_description,
                        "No description yet."), color=rx.color("gray", 11)),
        rx.text("Dates are shown in ", ModelEditorState.model_time_zone, ".", size="2"),
        spacing="2", width="100%",
    )


def delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete “", ModelEditorState.model_name, "”?"),
            rx.alert_dialog.description(
                "The model goes with everything in it: its locations, technologies, nodes, links, scenarios "
                "and timeseries, all its runs and their results, and its snapshots. This cannot be undone.",
                size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button("Delete model", color_scheme="red", on_click=S.delete_model)),
                justify="end", spacing="3", padding_top="0.5em",
            ),
        ),
        open=S.delete_open, on_open_change=S.set_delete_open,
    )


def actions() -> rx.Component:
    return rx.cond(AuthState.user_email == "", rx.text(
        rx.link("Log in", href="/login"), " to make your own copy of this model and run it.", size="2",
        id="visitor-actions"), member_actions())


def member_actions() -> rx.Component:
    return rx.hstack(
        rx.cond(~ModelEditorState.is_snapshot,
                rx.link(rx.button(rx.icon("play", size=16), "Run a scenario", size="2"), href=area_href("/runs"))),
        rx.button(rx.icon("copy", size=16), "Make a copy", size="2", variant="soft", on_click=S.copy_model),
        rx.cond(S.is_owner,
                rx.button(rx.icon("trash-2", size=16), "Delete model", size="2", variant="soft", color_scheme="red",
                          on_click=S.set_delete_open(True))),
        spacing="3", wrap="wrap",
    )


@editor_page("overview", "Model", on_load=[OverviewState.load_overview, ModelExportState.load_export,
                                           SharingState.load_sharing, SnapshotsState.load_snapshots,
                                           FeedState.load_feed])
def model_overview_page() -> rx.Component:
    return rx.cond(
        OverviewState.overview_loaded,
        rx.cond(
            OverviewState.overview_error != "",
            error_callout(OverviewState.overview_error, id="overview-error"),
            rx.grid(
                rx.vstack(
                    section("About this model",
                            rx.cond(ModelEditorState.can_edit, details_form(), read_only_details()),
                            rx.hstack(rx.foreach(S.counts, count_item), spacing="5", wrap="wrap",
                                      padding_y="0.5em", id="model-counts"),
                            actions(),
                            icon="info"),
                    # Checking and exporting start jobs: for people with a login.
                    rx.cond(AuthState.user_email != "", rx.fragment(check_model_section(), export_section())),
                    feed_section(),
                    delete_dialog(),
                    spacing="4", width="100%", min_width="0",
                ),
                rx.vstack(
                    sharing_section(),
                    snapshots_section(),
                    section("Technologies",
                            rx.cond(S.technologies.length() > 0, rx.foreach(S.technologies, tech_item),
                                    rx.text("None yet.", size="2", color=rx.color("gray", 11))),
                            icon="cpu"),
                    section("Locations",
                            rx.cond(S.locations.length() > 0, rx.foreach(S.locations, location_item),
                                    rx.text("None yet.", size="2", color=rx.color("gray", 11))),
                            icon="map-pin"),
                    spacing="4", width="100%",
                ),
                grid_template_columns=rx.breakpoints(initial="minmax(0, 1fr)", md="minmax(0, 3fr) minmax(260px, 1fr)"),
                spacing="4", width="100%",
            ),
        ),
        loading("Loading the overview…"),
    )
