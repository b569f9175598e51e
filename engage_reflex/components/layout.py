"""The frame around every page: nav bar on top, content in a centred column."""

from __future__ import annotations

import functools

import reflex as rx

from engage_reflex.state.admin import JobDashboardState
from engage_reflex.state.auth import PUBLIC_ROUTE, AuthState

APP_NAME = "Engage"


def nav_bar() -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.link(
                rx.hstack(rx.icon("zap", size=22, color=rx.color("accent", 9)),
                          rx.text(APP_NAME, size="5", weight="bold", as_="span"), align="center", spacing="2"),
                href="/models", underline="none", color_scheme="gray", high_contrast=True,
            ),
            rx.cond(
                AuthState.user_email != "",
                rx.link("My models", href="/models", id="nav-models", size="3", weight="medium"),
                rx.link("Public models", href=PUBLIC_ROUTE, id="nav-public", size="3", weight="medium"),
            ),
            rx.spacer(),
            rx.cond(
                AuthState.user_email != "",
                rx.hstack(
                    rx.cond(AuthState.user_is_admin,
                            rx.button(rx.icon("activity", size=16), "Job dashboard", id="nav-job-dashboard",
                                      on_click=JobDashboardState.open_job_dashboard, variant="soft", size="2")),
                    rx.link(rx.hstack(rx.icon("circle-user", size=18), rx.text(AuthState.user_email, size="2",
                                                                              id="nav-user"),
                                      align="center", spacing="1"),
                            href="/profile", title="Your profile: name, password, logins", id="nav-profile",
                            color_scheme="gray", underline="hover"),
                    rx.button(rx.icon("log-out", size=16), "Log out", on_click=AuthState.logout,
                              variant="soft", color_scheme="gray", size="2", id="logout"),
                    align="center", spacing="4",
                ),
                rx.hstack(rx.link("Log in", href="/login"), rx.link("Register", href="/register"), spacing="4"),
            ),
            align="center", spacing="6", max_width="1200px", margin_x="auto", padding_x="1.5em",
            padding_y="0.8em", width="100%",
        ),
        border_bottom=f"1px solid {rx.color('gray', 5)}", background_color=rx.color("gray", 1),
        position="sticky", top="0", z_index="10", width="100%",
    )


def page_shell(*content: rx.Component) -> rx.Component:
    return rx.box(
        # Says when the page has loaded its data (Reflex's is_hydrated turns true after the page's
        # on_load events): what a browser test waits for before it types into a form.
        rx.el.div(id="rx-hydrated", custom_attrs={"data-hydrated": rx.State.is_hydrated.to_string()},
                  style={"display": "none"}),
        nav_bar(),
        rx.box(rx.vstack(*content, spacing="5", width="100%"), max_width="1200px", margin_x="auto",
               padding_x="1.5em", padding_y="1.5em", width="100%"),
        min_height="100vh", background_color=rx.color("gray", 2),
    )


def loading(label: str = "Loading…") -> rx.Component:
    return rx.center(rx.hstack(rx.spinner(size="3"), rx.text(label, color=rx.color("gray", 11))),
                     padding_y="4em", width="100%", class_name="page-loading")


def section(title: str, *content: rx.Component, icon: str | None = None, **props) -> rx.Component:
    """A white card with a small heading."""
    heading = rx.hstack(rx.icon(icon, size=18, color=rx.color("accent", 10)) if icon else rx.fragment(),
                        rx.heading(title, size="4", as_="h2"), align="center", spacing="2")
    return rx.card(rx.vstack(heading, *content, spacing="3", width="100%"), width="100%", size="2", **props)


def app_page(route: str, title: str, *, on_load: list | None = None, login_required: bool = True,
             open_to_visitors: bool = False):
    """Register a page in the shell; with `login_required`, visitors without a login go to /login first.
    A page `open_to_visitors` shows a public model's contents to anyone (its loads send a visitor to
    the login page only when what was asked for is not public)."""

    def decorator(render):
        if open_to_visitors:
            guard = [AuthState.identify]
        else:
            guard = [AuthState.require_login] if login_required else []
        events = guard + list(on_load or [])

        @rx.page(route=route, title=f"{title} · {APP_NAME}", image="/favicon.svg", on_load=events or None)
        @functools.wraps(render)
        def page() -> rx.Component:
            return page_shell(render())

        return page

    return decorator
