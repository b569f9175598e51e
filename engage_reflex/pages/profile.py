"""`/profile`: name, password, logins."""

import reflex as rx

from engage_reflex.components.feedback import error_callout
from engage_reflex.components.layout import app_page, section
from engage_reflex.pages.login import field
from engage_reflex.state.profile import ProfileState


@app_page("/profile", "Your profile", on_load=[ProfileState.load])
def profile() -> rx.Component:
    return rx.vstack(
        rx.heading("Your profile", size="7", as_="h1"),
        rx.text("Signed in as ", rx.text.strong(ProfileState.email, id="profile-email"), color=rx.color("gray", 11)),
        section(
            "Your name",
            rx.text("Shown to the people you share models with, and in a model's activity.", size="2",
                    color=rx.color("gray", 11)),
            rx.form(
                rx.hstack(
                    rx.box(field("Display name", "display_name", default_value=ProfileState.display_name,
                                 key=ProfileState.display_name, auto_complete="name", max_length=120), flex="1"),
                    rx.button("Save name", type="submit", id="profile-save-name"),
                    align="end", spacing="3", width="100%",
                ),
                rx.cond(ProfileState.name_error != "", error_callout(ProfileState.name_error, id="name-error")),
                on_submit=ProfileState.save_name, reset_on_submit=False, width="100%",
            ),
            icon="user",
        ),
        section(
            "Password",
            rx.text("Changing it ends your logins in other browsers; this one stays logged in.", size="2",
                    color=rx.color("gray", 11)),
            rx.form(
                rx.vstack(
                    field("Current password", "current_password", type="password", auto_complete="current-password",
                          required=True),
                    field("New password", "new_password", type="password", auto_complete="new-password",
                          hint="At least 8 characters.", required=True),
                    field("New password again", "confirm", type="password", auto_complete="new-password",
                          required=True),
                    rx.cond(ProfileState.password_error != "",
                            error_callout(ProfileState.password_error, id="password-error")),
                    rx.button("Change password", type="submit", id="profile-change-password",
                              loading=ProfileState.busy),
                    spacing="3", width="100%", max_width="420px",
                ),
                on_submit=ProfileState.change_password, reset_on_submit=False, width="100%", id="password-form",
            ),
            icon="key-round",
        ),
        section(
            "Email",
            rx.hstack(rx.switch(id="daily-digest", checked=ProfileState.daily_digest,
                                on_change=ProfileState.set_daily_digest),
                      rx.el.label(rx.text("Daily digest: once a day, an email of what is new on your models "
                                          "(changes, runs, comments)", size="2"), html_for="daily-digest"),
                      align="center", spacing="2"),
            rx.text("Off unless you turn it on. Nothing new, no email. Mentions in comments are emailed at once "
                    "either way.", size="1", color=rx.color("gray", 10)),
            icon="mail",
        ),
        section(
            "Logins",
            rx.text("Open logins of your account: ", rx.text.strong(ProfileState.sessions, id="profile-sessions"),
                    ". A login lasts 30 days in each browser where you logged in.", size="2"),
            rx.alert_dialog.root(
                rx.alert_dialog.trigger(rx.button(rx.icon("log-out", size=16), "Log out everywhere",
                                                  color_scheme="red", variant="soft", id="logout-everywhere")),
                rx.alert_dialog.content(
                    rx.alert_dialog.title("Log out everywhere?"),
                    rx.alert_dialog.description("Every browser logged in to your account is logged out, this one "
                                                "too. You can log in again with your password."),
                    rx.hstack(
                        rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                        rx.alert_dialog.action(rx.button("Log out everywhere", color_scheme="red",
                                                         on_click=ProfileState.logout_everywhere)),
                        justify="end", spacing="3", margin_top="1em",
                    ),
                ),
            ),
            icon="monitor-smartphone",
        ),
        spacing="5", width="100%", max_width="760px",
    )
