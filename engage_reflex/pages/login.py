"""`/login`."""

import reflex as rx

from engage_reflex.components.feedback import error_callout, notice_callout
from engage_reflex.components.layout import app_page
from engage_reflex.state.login import LoginState


def auth_card(title: str, subtitle: str, *content: rx.Component) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(rx.heading(title, size="6"), rx.text(subtitle, color=rx.color("gray", 11), size="2"),
                      *content, spacing="4", width="100%"),
            size="4", width="100%", max_width="420px",
        ),
        width="100%", padding_top="6vh",
    )


def field(label: str, name: str, *, type: str = "text", placeholder: str = "", hint: str = "", **props) -> rx.Component:
    return rx.vstack(
        # rx.el.label: Radix's Text drops `html_for`, which left these fields without a label.
        rx.el.label(rx.text(label, size="2", weight="medium", as_="span"), html_for=name),
        rx.input(name=name, id=name, type=type, placeholder=placeholder, size="3", width="100%", **props),
        rx.text(hint, size="1", color=rx.color("gray", 10)) if hint else rx.fragment(),
        spacing="1", width="100%",
    )


@app_page("/login", "Log in", on_load=[LoginState.load], login_required=False)
def login() -> rx.Component:
    return auth_card(
        "Log in to Engage",
        "Build, run and compare energy-system models in your browser.",
        rx.form(
            rx.vstack(
                field("Email", "email", type="email", placeholder="you@example.org", auto_complete="username",
                      required=True),
                field("Password", "password", type="password", auto_complete="current-password", required=True),
                rx.cond(LoginState.error != "", error_callout(LoginState.error, id="login-error")),
                rx.cond(LoginState.inactive_email != "",
                        rx.button("Send the activation link again", type="button", variant="soft", width="100%",
                                  on_click=LoginState.send_activation_again, id="login-resend")),
                rx.cond(LoginState.notice != "", notice_callout(LoginState.notice, id="login-notice")),
                rx.button("Log in", type="submit", size="3", width="100%", id="login-submit", loading=LoginState.busy),
                spacing="4", width="100%",
            ),
            on_submit=LoginState.submit, reset_on_submit=False, width="100%",
        ),
        rx.text(rx.link("Forgot your password?", href="/forgot-password"), size="2"),
        rx.text("New here? ", rx.link("Create an account", href="/register"), size="2"),
        rx.text("Or look at the ", rx.link("public models", href="/public"), " without an account.", size="2"),
    )
