"""/public: the models anyone may read without a login, linked from the top bar for visitors."""

from __future__ import annotations

import reflex as rx

from engage_reflex.components.feedback import empty_state
from engage_reflex.components.layout import app_page, loading
from engage_reflex.pages.models import card_grid
from engage_reflex.state.auth import PUBLIC_ROUTE, AuthState
from engage_reflex.state.public_models import PublicModelsState


@app_page(PUBLIC_ROUTE, "Public models", on_load=[PublicModelsState.load], open_to_visitors=True)
def public_models_page() -> rx.Component:
    return rx.cond(
        PublicModelsState.public_loaded,
        rx.vstack(
            rx.heading("Public models", size="7", as_="h1"),
            rx.text("Models their owners made public: open one to look at its technologies, locations and "
                    "scenarios, its runs and their results. Nobody can change them here.",
                    color=rx.color("gray", 11)),
            rx.cond(AuthState.user_email == "",
                    rx.text(rx.link("Log in", href="/login"), " or ", rx.link("create an account", href="/register"),
                            " to copy one and make it your own.", size="2", id="public-login-note")),
            rx.cond(PublicModelsState.public_models.length() > 0,
                    card_grid(PublicModelsState.public_models),
                    rx.card(empty_state("library", "No public models yet",
                                        "When an owner makes a model public, it shows up here."), width="100%")),
            spacing="4", width="100%",
        ),
        loading("Loading the public models…"),
    )
