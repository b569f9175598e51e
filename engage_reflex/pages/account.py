"""The pages of emailed links: `/activate`, `/forgot-password` and `/reset-password`."""

import reflex as rx

from engage_reflex.components.feedback import error_callout, notice_callout
from engage_reflex.components.layout import app_page, loading
from engage_reflex.pages.login import auth_card, field
from engage_reflex.state.account_links import ActivateState, PasswordResetState


@app_page("/activate", "Activate your account", on_load=[ActivateState.load], login_required=False)
def activate() -> rx.Component:
    return auth_card(
        "Activate your account",
        "Confirming your email address…",
        rx.cond(ActivateState.error != "",
                rx.vstack(error_callout(ActivateState.error, id="activate-error"),
                          rx.text(rx.link("Go to the login page", href="/login"), size="2"), width="100%"),
                loading("Activating…")),
    )


@app_page("/forgot-password", "Forgot your password", on_load=[PasswordResetState.load_forgot],
          login_required=False)
def forgot_password() -> rx.Component:
    return auth_card(
        "Forgot your password?",
        "We email you a link to choose a new one.",
        rx.form(
            rx.vstack(
                field("Email", "email", type="email", placeholder="you@example.org", auto_complete="username",
                      required=True),
                rx.cond(PasswordResetState.error != "", error_callout(PasswordResetState.error, id="forgot-error")),
                rx.cond(PasswordResetState.notice != "", notice_callout(PasswordResetState.notice, id="forgot-notice")),
                rx.button("Email me a link", type="submit", size="3", width="100%", id="forgot-submit",
                          loading=PasswordResetState.busy),
                spacing="4", width="100%",
            ),
            on_submit=PasswordResetState.ask, reset_on_submit=False, width="100%",
        ),
        rx.text("Remembered it? ", rx.link("Log in", href="/login"), size="2"),
    )


@app_page("/reset-password", "Choose a new password", on_load=[PasswordResetState.load_reset],
          login_required=False)
def reset_password() -> rx.Component:
    return auth_card(
        "Choose a new password",
        "Every login of your account ends when you save it.",
        rx.cond(
            ~PasswordResetState.checked,
            loading("Checking the link…"),
            rx.cond(
                PasswordResetState.reset_email != "",
                rx.form(
                    rx.vstack(
                        rx.text("For ", rx.text.strong(PasswordResetState.reset_email, id="reset-email"), size="2"),
                        field("New password", "password", type="password", auto_complete="new-password",
                              hint="At least 8 characters.", required=True),
                        field("New password again", "confirm", type="password", auto_complete="new-password",
                              required=True),
                        rx.cond(PasswordResetState.error != "",
                                error_callout(PasswordResetState.error, id="reset-error")),
                        rx.button("Save the new password", type="submit", size="3", width="100%",
                                  id="reset-submit", loading=PasswordResetState.busy),
                        spacing="4", width="100%",
                    ),
                    on_submit=PasswordResetState.save_new_password, reset_on_submit=False, width="100%",
                ),
                rx.vstack(error_callout(PasswordResetState.error, id="reset-error"),
                          rx.text(rx.link("Ask for a new link", href="/forgot-password"), size="2"), width="100%"),
            ),
        ),
    )
