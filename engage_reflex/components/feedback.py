"""Status badges, empty states and inline errors."""

from __future__ import annotations

import reflex as rx

STATUS_COLORS = {
    "queued": "gray",
    "building": "blue",
    "solving": "indigo",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "orange",
}
STATUS_ICONS = {
    "queued": "clock",
    "building": "hammer",
    "solving": "loader",
    "succeeded": "circle-check",
    "failed": "circle-x",
    "cancelled": "ban",
}


def status_badge(status: rx.Var[str], class_name: str = "run-status") -> rx.Component:
    color = rx.match(status, *[(s, c) for s, c in STATUS_COLORS.items()], "gray")
    icon = rx.match(status, *[(s, rx.icon(i, size=14)) for s, i in STATUS_ICONS.items()], rx.icon("circle", size=14))
    return rx.badge(icon, status, color_scheme=color, size="2", variant="soft", class_name=class_name,
                    radius="full")


def empty_state(icon: str, title: str, hint: str | rx.Component, *actions: rx.Component) -> rx.Component:
    """What to do when there is nothing to show yet."""
    return rx.center(
        rx.vstack(
            rx.icon(icon, size=36, color=rx.color("gray", 9)),
            rx.text(title, weight="bold", size="3"),
            rx.text(hint, size="2", color=rx.color("gray", 11), text_align="center", max_width="32em")
            if isinstance(hint, str) else hint,
            *actions,
            align="center", spacing="2",
        ),
        padding_y="2.5em", width="100%",
    )


def error_callout(message: rx.Var[str] | str, **props) -> rx.Component:
    return rx.callout(message, icon="triangle-alert", color_scheme="red", role="alert", width="100%", **props)


def notice_callout(message: rx.Var[str] | str, **props) -> rx.Component:
    """Good news or what happens next (a link is on its way, ...), read out politely."""
    return rx.callout(message, icon="mail-check", color_scheme="teal", role="status", width="100%", **props)


def swatch(color: rx.Var[str] | str) -> rx.Component:
    return rx.box(width="14px", height="14px", border_radius="4px", background_color=color,
                  border=f"1px solid {rx.color('gray', 6)}", flex_shrink="0")
