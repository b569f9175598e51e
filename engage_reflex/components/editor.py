"""The frame of every model-editor page: model name, the areas' menu, the view-only banner.

Each area is its own route file in pages/model/ and registers itself with `editor_page`.
"""

from __future__ import annotations

import functools

import reflex as rx

from engage_reflex.components.feedback import error_callout
from engage_reflex.components.layout import app_page, loading
from engage_reflex.state.auth import PUBLIC_ROUTE, AuthState
from engage_reflex.state.model.base import ModelEditorState

# (area key, menu label, route suffix, icon)
AREAS = [
    ("overview", "Overview", "", "layout-dashboard"),
    ("locations", "Locations", "/locations", "map-pin"),
    ("carriers", "Carriers", "/carriers", "cable"),
    ("techs", "Technologies", "/techs", "cpu"),
    ("nodes", "Nodes & links", "/nodes", "network"),
    ("timeseries", "Timeseries", "/timeseries", "chart-line"),
    ("scenarios", "Scenarios", "/scenarios", "layers"),
    ("runs", "Runs", "/runs", "play"),
]
MODEL_ROUTE = "/models/[model_id]"


def area_href(suffix: str):
    return "/models/" + ModelEditorState.loaded_model_id.to_string() + suffix


def editor_menu(active: str) -> rx.Component:
    links = []
    for key, label, suffix, icon in AREAS:
        is_active = key == active
        links.append(rx.link(
            rx.hstack(rx.icon(icon, size=15), rx.text(label, as_="span"), align="center", spacing="2"),
            href=area_href(suffix), underline="none", size="2", weight="medium" if is_active else "regular",
            color_scheme="gray", high_contrast=True,
            # The page's own tab in the accent colour (set explicitly: it came out pale grey).
            color=rx.color("accent", 11) if is_active else rx.color("gray", 12),
            padding_x="0.75em", padding_y="0.45em", border_radius="6px",
            background_color=rx.color("accent", 3) if is_active else "transparent",
            custom_attrs={"aria-current": "page"} if is_active else {},
            class_name="editor-tab",
        ))
    return rx.el.nav(rx.hstack(*links, spacing="1", wrap="wrap"), aria_label="Model editor",
                     border_bottom=f"1px solid {rx.color('gray', 5)}", padding_bottom="0.4em", width="100%")


def snapshot_banner() -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("camera")),
        rx.callout.text(
            rx.text("Snapshot. ", weight="bold", as_="span"),
            "It keeps ",
            rx.cond(ModelEditorState.snapshot_of_id > 0,
                    rx.link(ModelEditorState.snapshot_of_name,
                            href="/models/" + ModelEditorState.snapshot_of_id.to_string()),
                    "its model"),
            " as it was, with its runs' results: nothing in it can be changed or run. "
            "Make a copy of it (Overview) to work from it.",
        ),
        color_scheme="blue", size="1", width="100%", id="snapshot-banner", role="note",
    )


def view_only_banner() -> rx.Component:
    return rx.cond(
        ModelEditorState.is_snapshot,
        snapshot_banner(),
        view_only_notice(),
    )


def view_only_notice() -> rx.Component:
    return rx.cond(
        ~ModelEditorState.can_edit,
        rx.callout.root(
            rx.callout.icon(rx.icon("eye")),
            rx.cond(
                AuthState.user_email == "",
                rx.callout.text(
                    rx.text("Public model, read only. ", weight="bold", as_="span"),
                    "Anyone can look at this model, its runs and their results. ",
                    rx.link("Log in", href="/login"), " or ", rx.link("create an account", href="/register"),
                    " to make your own copy, change it and run it.",
                ),
                rx.callout.text(
                    rx.text("View only. ", weight="bold", as_="span"),
                    "You can look at this model and its runs but not change it. "
                    "To change it, make your own copy from My models or ask its owner for edit rights.",
                ),
            ),
            color_scheme="gray", size="1", width="100%", id="view-only-banner", role="note",
        ),
    )


def model_heading() -> rx.Component:
    return rx.vstack(
        rx.cond(AuthState.user_email == "",
                rx.link(rx.hstack(rx.icon("arrow-left", size=14), "Public models", align="center", spacing="1"),
                        href=PUBLIC_ROUTE, size="2"),
                rx.link(rx.hstack(rx.icon("arrow-left", size=14), "My models", align="center", spacing="1"),
                        href="/models", size="2")),
        rx.hstack(
            rx.heading(ModelEditorState.model_name, size="7", id="model-name", as_="h1"),
            rx.cond(ModelEditorState.model_is_public, rx.badge("Public", color_scheme="amber", variant="soft")),
            rx.badge(ModelEditorState.role_label, color_scheme=rx.cond(ModelEditorState.can_edit, "green", "gray"),
                     variant="soft", id="model-role"),
            align="center", spacing="3", wrap="wrap",
        ),
        rx.text("Owner: ", ModelEditorState.model_owner_email, size="1", color=rx.color("gray", 10)),
        spacing="2", width="100%",
    )


def editor_frame(active: str, content: rx.Component) -> rx.Component:
    return rx.cond(
        ModelEditorState.header_loaded,
        rx.cond(
            ModelEditorState.header_error != "",
            rx.vstack(error_callout(ModelEditorState.header_error, id="model-error"),
                      rx.link("Back to My models", href="/models"), spacing="3"),
            rx.vstack(model_heading(), editor_menu(active), view_only_banner(), content, spacing="4", width="100%"),
        ),
        loading("Loading the model…"),
    )


def editor_page(area: str, title: str, *, on_load: list | None = None, subroute: str = ""):
    """Register an editor page for `area` (a key of AREAS); the header loads before `on_load`.

    `subroute` registers a page below the area, e.g. "/[tech_id]" for one technology.
    """
    suffix = next(s for key, _, s, _ in AREAS if key == area)

    def decorator(render):
        @app_page(MODEL_ROUTE + suffix + subroute, title, on_load=[ModelEditorState.load_header, *(on_load or [])],
                  open_to_visitors=True)
        @functools.wraps(render)
        def page() -> rx.Component:
            return editor_frame(area, render())

        return page

    return decorator
