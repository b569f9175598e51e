"""`/models`: "My models" — the user's own models, shared ones and the public samples."""

import reflex as rx

from engage_reflex.components.feedback import empty_state
from engage_reflex.components.layout import app_page, loading
from engage_reflex.schemas import ModelSummary
from engage_reflex.state.models import ModelsState


def model_card(model: ModelSummary) -> rx.Component:
    badge = rx.cond(
        model.is_own,
        rx.badge("Yours", color_scheme="green", variant="soft"),
        rx.cond(model.is_shared, rx.badge("Shared with you", color_scheme="blue", variant="soft"),
                rx.badge("Public sample", color_scheme="amber", variant="soft")),
    )
    return rx.link(
        rx.card(
            rx.vstack(
                rx.hstack(rx.heading(model.name, size="4", trim="both", as_="h3"), rx.spacer(), badge, align="start",
                          width="100%"),
                rx.text(rx.cond(model.description != "", model.description, "No description yet."),
                        size="2", color=rx.color("gray", 11), line_clamp=3),
                rx.spacer(),
                rx.hstack(
                    rx.hstack(rx.icon("map-pin", size=14), rx.text(model.locations, " locations"), spacing="1",
                              align="center"),
                    rx.hstack(rx.icon("cpu", size=14), rx.text(model.technologies, " technologies"), spacing="1",
                              align="center"),
                    rx.hstack(rx.icon("git-branch", size=14), rx.text(model.scenarios, " scenarios"), spacing="1",
                              align="center"),
                    spacing="4", wrap="wrap", color=rx.color("gray", 11),
                ),
                rx.text("Owner: ", model.owner_email, size="1", color=rx.color("gray", 10)),
                spacing="3", height="100%",
            ),
            size="2", height="100%", class_name="model-card",
            _hover={"box_shadow": f"0 0 0 2px {rx.color('accent', 8)}"},
        ),
        href="/models/" + model.id.to_string(), underline="none", color="inherit", height="100%",
    )


def card_grid(items) -> rx.Component:
    return rx.grid(rx.foreach(items, model_card), columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                   spacing="4", width="100%")


@app_page("/models", "My models", on_load=[ModelsState.load])
def models_page() -> rx.Component:
    return rx.cond(
        ModelsState.loaded,
        rx.vstack(
            rx.vstack(
                rx.heading("My models", size="7"),
                rx.text("Open a model to look at it, run a scenario and read the results.",
                        color=rx.color("gray", 11)),
                spacing="1",
            ),
            rx.cond(
                ModelsState.own_models.length() > 0,
                card_grid(ModelsState.own_models),
                rx.card(empty_state(
                    "folder-open", "You have no models of your own yet",
                    "Start with one of the public sample models below: open it, pick a scenario and press Run.",
                ), width="100%"),
            ),
            rx.heading("Samples and shared models", size="5", margin_top="0.5em", as_="h2"),
            rx.cond(
                ModelsState.other_models.length() > 0,
                card_grid(ModelsState.other_models),
                rx.card(empty_state(
                    "library", "No sample models are loaded",
                    "An administrator can load them with `engage seed` (make run does it for you).",
                ), width="100%"),
            ),
            spacing="4", width="100%",
        ),
        loading("Loading your models…"),
    )
