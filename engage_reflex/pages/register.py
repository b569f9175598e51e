"""`/register`."""

import reflex as rx

from engage_reflex.components.feedback import error_callout
from engage_reflex.components.layout import app_page
from engage_reflex.pages.login import auth_card, field
from engage_reflex.state.register import RegisterState


@app_page("/register", "Create an account", on_load=[RegisterState.load], login_required=False)
def register() -> rx.Component:
    return auth_card(
        "Create your account",
        "You can open the sample models at once and run them with your own settings.",
        rx.form(
            rx.vstack(
                field("Email", "email", type="email", placeholder="you@example.org", auto_complete="username",
                      required=True),
                field("Your name (optional)", "display_name", placeholder="Ada Lovelace", auto_complete="name"),
                field("Password", "password", type="password", auto_complete="new-password",
                      hint="At least 8 characters.", required=True),
                field("Password again", "confirm", type="password", auto_complete="new-password", required=True),
                rx.cond(RegisterState.error != "", error_callout(RegisterState.error, id="register-error")),
                rx.button("Create account", type="submit", size="3", width="100%", id="register-submit",
                          loading=RegisterState.busy),
                spacing="4", width="100%",
            ),
            on_submit=RegisterState.submit, reset_on_submit=False, width="100%",
        ),
        rx.text("Already registered? ", rx.link("Log in", href="/login"), size="2"),
    )
