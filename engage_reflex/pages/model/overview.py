"""`/models/[model_id]`: the model's Overview — what it holds and its recent activity."""

import reflex as rx

from engage_reflex.components.editor import area_href, editor_page
from engage_reflex.components.feedback import empty_state, error_callout, swatch
from engage_reflex.components.layout import loading, section
from engage_reflex.schemas import LocationView, TechView
from engage_reflex.schemas.editor import ActivityView
from engage_reflex.state.model.overview import OverviewState


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


def activity_item(entry: ActivityView) -> rx.Component:
    return rx.hstack(
        rx.icon("history", size=14, color=rx.color("gray", 10), flex_shrink="0"),
        rx.vstack(rx.text(entry.detail, size="2"),
                  rx.text(rx.cond(entry.who != "", entry.who, "Engage"), " · ", entry.when, size="1",
                          color=rx.color("gray", 10)),
                  spacing="0"),
        align="start", spacing="2", width="100%", class_name="activity-item",
    )


@editor_page("overview", "Model", on_load=[OverviewState.load_overview])
def model_overview_page() -> rx.Component:
    return rx.cond(
        OverviewState.overview_loaded,
        rx.cond(
            OverviewState.overview_error != "",
            error_callout(OverviewState.overview_error, id="overview-error"),
            rx.grid(
                rx.vstack(
                    section("About this model",
                            rx.text(rx.cond(OverviewState.model_description != "", OverviewState.model_description,
                                            "No description yet."), color=rx.color("gray", 11)),
                            rx.text("Dates are shown in ", OverviewState.model_time_zone, ". ",
                                    OverviewState.scenario_count, " scenarios.", size="2"),
                            rx.link(rx.button(rx.icon("play", size=16), "Run a scenario", size="2"),
                                    href=area_href("/runs")),
                            icon="info"),
                    section("Recent activity",
                            rx.cond(OverviewState.recent_activity.length() > 0,
                                    rx.vstack(rx.foreach(OverviewState.recent_activity, activity_item), spacing="2",
                                              width="100%", id="activity-list"),
                                    empty_state("history", "Nothing has changed yet",
                                                "Every edit of this model shows up here: who, what and when.")),
                            icon="history"),
                    spacing="4", width="100%", min_width="0",
                ),
                rx.vstack(
                    section("Technologies", rx.foreach(OverviewState.technologies, tech_item), icon="cpu"),
                    section("Locations", rx.foreach(OverviewState.locations, location_item), icon="map-pin"),
                    spacing="4", width="100%",
                ),
                grid_template_columns=rx.breakpoints(initial="minmax(0, 1fr)", md="minmax(0, 3fr) minmax(260px, 1fr)"),
                spacing="4", width="100%",
            ),
        ),
        loading("Loading the overview…"),
    )
