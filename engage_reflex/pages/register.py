"""`/register`."""

import reflex as rx

from engage_reflex.components.feedback import error_callout, notice_callout
from engage_reflex.components.layout import app_page
from engage_reflex.pages.login import auth_card, field
from engage_reflex.state.register import RegisterState


@app_page("/register", "Create an account", on_load=[RegisterState.load], login_required=False)
def register() -> rx.Component:
    return rx.cond(RegisterState.sent_to != "", _check_your_email(), _form())


def _check_your_email() -> rx.Component:
    return auth_card(
        "Check your email",
        "One step left: confirm your address.",
        rx.text("We sent a link to ", rx.text.strong(RegisterState.sent_to, id="register-sent-to"),
                ". Open it to activate your account; it works for 48 hours. Nothing there after a few minutes? "
                "Check your spam folder, or ask for a new link.", size="3"),
        rx.cond(RegisterState.notice != "", notice_callout(RegisterState.notice, id="register-notice")),
        rx.button("Send the link again", on_click=RegisterState.send_again, variant="soft", width="100%",
                  id="register-resend"),
        rx.text("Activated already? ", rx.link("Log in", href="/login"), size="2"),
    )


def _form() -> rx.Component:
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
