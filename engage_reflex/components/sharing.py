"""The Sharing section of a model's Overview (state/model/sharing.py)."""

from __future__ import annotations

import reflex as rx

from engage_reflex.components.feedback import error_callout
from engage_reflex.components.layout import section
from engage_reflex.pages.model.timeseries import SELECT_STYLE
from engage_reflex.state.model.sharing import RIGHTS, MemberRow, SharingState

S = SharingState


def _rights_select(row: MemberRow) -> rx.Component:
    return rx.el.select(
        *[rx.el.option(label, value=value) for value, label in RIGHTS.items()],
        value=row.role, on_change=lambda role: S.set_rights(row.email, role), style=SELECT_STYLE,
        custom_attrs={"aria-label": "Rights of " + row.email}, class_name="member-rights",
    )


def member_row(row: MemberRow) -> rx.Component:
    managed = S.can_manage & (row.role != "owner")
    return rx.hstack(
        rx.icon(rx.cond(row.pending, "mail", "user"), size=16, color=rx.color("gray", 10), flex_shrink="0"),
        rx.vstack(rx.text(row.email, size="2", weight="medium", class_name="member-email"),
                  rx.cond(row.name != "", rx.text(row.name, size="1", color=rx.color("gray", 10))),
                  spacing="0", min_width="0", flex="1"),
        rx.cond(
            managed,
            rx.hstack(
                _rights_select(row),
                rx.cond(~row.pending,
                        rx.button("Make owner", size="1", variant="ghost", on_click=S.ask_transfer(row.email),
                                  custom_attrs={"aria-label": "Make owner: " + row.email})),
                rx.icon_button(rx.icon("user-x", size=14), size="1", variant="ghost", color_scheme="red",
                               on_click=S.stop_sharing(row.email),
                               custom_attrs={"aria-label": "Stop sharing with " + row.email}),
                spacing="2", align="center",
            ),
            rx.badge(row.label, variant="soft", color_scheme=rx.cond(row.role == "owner", "teal", "gray"),
                     class_name="member-role"),
        ),
        align="center", spacing="2", width="100%", class_name="member-row",
        custom_attrs={"data-email": row.email},
    )


def share_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.el.label(rx.text("Share with (email address)", size="2", weight="medium", as_="span"),
                        html_for="share_email"),
            rx.input(id="share_email", name="share_email", type="email", placeholder="colleague@example.org",
                     size="2", width="100%", required=True),
            rx.hstack(
                rx.el.label(rx.text("Rights", size="2", weight="medium", as_="span"), html_for="share_rights"),
                rx.el.select(*[rx.el.option(label, value=value) for value, label in RIGHTS.items()],
                             id="share_rights", name="share_rights", default_value="viewer", style=SELECT_STYLE),
                rx.spacer(),
                rx.button(rx.icon("share-2", size=14), "Share", type="submit", size="2", id="share-submit"),
                align="center", spacing="2", width="100%",
            ),
            rx.cond(S.share_error != "", error_callout(S.share_error, id="share-error")),
            rx.text("Someone without an account is invited by email and sees the model once registered.",
                    size="1", color=rx.color("gray", 10)),
            spacing="2", width="100%",
        ),
        on_submit=S.share, reset_on_submit=False, width="100%", id="share-form",
    )


def transfer_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Hand this model over?"),
            rx.alert_dialog.description(
                rx.text(S.transfer_email, " becomes the owner: they decide who may open it and can delete it. "
                        "You keep edit rights.")),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button("Make owner", on_click=S.transfer)),
                justify="end", spacing="3", margin_top="1em",
            ),
        ),
        open=S.transfer_email != "", on_open_change=S.set_transfer_open,
    )


def public_switch() -> rx.Component:
    """The owner's switch; everyone else reads whether the model is public."""
    words = "Public: anyone can read this model, its runs and results, without logging in"
    return rx.cond(
        S.can_manage,
        rx.hstack(rx.switch(id="model-public", checked=S.is_public, on_change=S.set_public),
                  rx.el.label(rx.text(words, size="2"), html_for="model-public"),
                  align="center", spacing="2", padding_top="0.4em"),
        rx.cond(S.is_public, rx.text("Public: anyone can read it, without logging in.", size="2",
                                     color=rx.color("gray", 11))),
    )


def sharing_section() -> rx.Component:
    return section(
        "Sharing",
        rx.vstack(rx.foreach(S.members, member_row), spacing="2", width="100%", id="sharing-list"),
        rx.cond(S.can_manage, share_form()),
        public_switch(),
        rx.cond(S.can_leave, rx.button("Leave this model", size="1", variant="soft", color_scheme="gray",
                                       on_click=S.leave, id="leave-model")),
        transfer_dialog(),
        icon="users",
    )
