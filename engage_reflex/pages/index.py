"""`/`: straight on to the models (or to the login first)."""

import reflex as rx

from engage_reflex.components.layout import app_page, loading
from engage_reflex.state.auth import HOME_ROUTE


@app_page("/", "Welcome", on_load=[rx.redirect(HOME_ROUTE)], login_required=False)
def index() -> rx.Component:
    return loading()
