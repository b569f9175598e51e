"""`/models`: "My models" — the user's own models, shared ones and the public samples.

Each card opens its model; the actions under it (copy, rename, delete) sit outside the link.
"""

import reflex as rx

from engage_reflex.components.archive import import_panel
from engage_reflex.components.feedback import empty_state
from engage_reflex.components.layout import app_page, loading
from engage_reflex.state.archives import ModelArchiveState
from engage_reflex.state.auth import AuthState
from engage_reflex.state.models import ModelCard, ModelsState

S = ModelsState


def field(label: str, control_id: str, control: rx.Component, hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium", as_="span"), html_for=control_id),
        control,
        rx.text(hint, size="1", color=rx.color("gray", 10)) if hint else rx.fragment(),
        spacing="1", width="100%",
    )


def time_zone_select(control_id: str) -> rx.Component:
    return rx.select(S.time_zones, name="time_zone", value=S.new_zone, on_change=S.set_new_zone, id=control_id,
                     width="100%", custom_attrs={"aria-label": "Time zone"})


def new_model_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("New model"),
            rx.dialog.description("An empty model of your own. Add locations, carriers and technologies next.",
                                  size="2", color=rx.color("gray", 11)),
            rx.form(
                rx.vstack(
                    field("Name", "new-model-name",
                          rx.input(name="name", id="new-model-name", placeholder="e.g. Island grid 2030",
                                   max_length=200, auto_focus=True, width="100%")),
                    field("Description", "new-model-description",
                          rx.text_area(name="description", id="new-model-description", rows="3", width="100%",
                                       placeholder="What the model is for (optional)")),
                    field("Time zone", "new-model-zone", time_zone_select("new-model-zone"),
                          "Dates of this model are shown in this zone."),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                        rx.button("Create model", type="submit"),
                        justify="end", spacing="3", width="100%",
                    ),
                    spacing="3", width="100%",
                ),
                on_submit=S.create_model, reset_on_submit=False,
            ),
            max_width="480px",
        ),
        open=S.new_open, on_open_change=S.set_new_open,
    )


def rename_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Rename “", S.target_name, "”"),
            rx.dialog.description("The new name shows everywhere the model is listed.", size="2",
                                  color=rx.color("gray", 11)),
            rx.form(
                rx.vstack(
                    field("New name", "rename-model-name",
                          rx.input(name="name", id="rename-model-name", default_value=S.target_name,
                                   key=S.target_id.to_string(), max_length=200, auto_focus=True, width="100%")),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                        rx.button("Rename", type="submit"),
                        justify="end", spacing="3", width="100%",
                    ),
                    spacing="3", width="100%",
                ),
                on_submit=S.rename_model, reset_on_submit=False,
            ),
            max_width="480px",
        ),
        open=S.rename_open, on_open_change=S.set_rename_open,
    )


def delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete “", S.target_name, "”?"),
            rx.alert_dialog.description(
                "The model goes with everything in it: its locations, technologies, nodes, links, scenarios "
                "and timeseries, and all its runs and their results. This cannot be undone.", size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button("Delete model", color_scheme="red", on_click=S.delete_model)),
                justify="end", spacing="3", padding_top="0.5em",
            ),
        ),
        open=S.delete_open, on_open_change=S.set_delete_open,
    )


def role_badge(model: ModelCard) -> rx.Component:
    color = rx.match(model.role, ("owner", "green"), ("editor", "blue"), "gray")
    return rx.badge(model.role_label, color_scheme=color, variant="soft", class_name="model-role")


def model_actions(model: ModelCard) -> rx.Component:
    return rx.hstack(
        rx.button(rx.icon("copy", size=14), "Make a copy", size="1", variant="ghost",
                  on_click=S.copy_model(model.id)),
        rx.cond(model.role != "viewer",
                rx.button(rx.icon("pencil", size=14), "Rename", size="1", variant="ghost",
                          on_click=S.open_rename(model.id, model.name))),
        rx.cond(model.role == "owner",
                rx.button(rx.icon("trash-2", size=14), "Delete", size="1", variant="ghost", color_scheme="red",
                          on_click=S.open_delete(model.id, model.name))),
        spacing="4", wrap="wrap", padding_top="0.6em", margin_top="auto",
        border_top=f"1px solid {rx.color('gray', 4)}", width="100%",
    )


def model_card(model: ModelCard) -> rx.Component:
    summary = rx.link(
        rx.vstack(
            rx.hstack(rx.heading(model.name, size="4", trim="both", as_="h3"), rx.spacer(),
                      rx.cond(model.unread > 0,
                              rx.badge(model.unread.to_string() + " new", color_scheme="amber", variant="solid",
                                       class_name="model-unread",
                                       title="Changes, runs and comments since you last opened it")),
                      role_badge(model), align="start", width="100%"),
            rx.text(rx.cond(model.description != "", model.description, "No description yet."),
                    size="2", color=rx.color("gray", 11), line_clamp=3),
            rx.hstack(
                rx.hstack(rx.icon("map-pin", size=14), rx.text(model.locations, rx.cond(model.locations == 1, " location", " locations")), spacing="1",
                          align="center"),
                rx.hstack(rx.icon("cpu", size=14), rx.text(model.technologies, rx.cond(model.technologies == 1, " technology", " technologies")), spacing="1",
                          align="center"),
                rx.hstack(rx.icon("git-branch", size=14), rx.text(model.scenarios, rx.cond(model.scenarios == 1, " scenario", " scenarios")), spacing="1",
                          align="center"),
                spacing="4", wrap="wrap", color=rx.color("gray", 11),
            ),
            rx.text(rx.cond(model.is_own, "Yours",
                            rx.cond(model.is_shared, "Shared with you by ", "Public sample by ")),
                    rx.cond(model.is_own, "", model.owner_email), " · Changed ", model.changed,
                    size="1", color=rx.color("gray", 10), class_name="model-changed"),
            spacing="3", width="100%", class_name="model-card",
        ),
        href="/models/" + model.id.to_string(), underline="none", color="inherit", width="100%",
    )
    return rx.card(
        rx.vstack(summary, rx.cond(AuthState.user_email != "", model_actions(model)), spacing="3", height="100%"),
        size="2", height="100%", class_name="model-tile",
        _hover={"box_shadow": f"0 0 0 2px {rx.color('accent', 8)}"},
    )


def card_grid(items) -> rx.Component:
    return rx.grid(rx.foreach(items, model_card), columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                   spacing="4", width="100%")


@app_page("/models", "My models", on_load=[ModelsState.load, ModelArchiveState.load_archive])
def models_page() -> rx.Component:
    return rx.cond(
        ModelsState.loaded,
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.heading("My models", size="7"),
                    rx.text("Open a model to build it, run a scenario and read the results.",
                            color=rx.color("gray", 11)),
                    spacing="1",
                ),
                rx.spacer(),
                rx.button(rx.icon("plus", size=16), "New model", on_click=S.open_new, size="3"),
                align="end", width="100%", wrap="wrap", spacing="3",
            ),
            rx.cond(
                ModelsState.own_models.length() > 0,
                card_grid(ModelsState.own_models),
                rx.card(empty_state(
                    "folder-open", "You have no models of your own yet",
                    "Create a new model, or make a copy of one of the public sample models below and change it.",
                ), width="100%"),
            ),
            import_panel(),
            rx.heading("Samples and shared models", size="5", margin_top="0.5em", as_="h2"),
            rx.cond(
                ModelsState.other_models.length() > 0,
                card_grid(ModelsState.other_models),
                rx.card(empty_state(
                    "library", "No sample models are loaded",
                    "An administrator can load them with `engage seed` (make run does it for you).",
                ), width="100%"),
            ),
            new_model_dialog(), rename_dialog(), delete_dialog(),
            spacing="4", width="100%",
        ),
        loading("Loading your models…"),
    )
