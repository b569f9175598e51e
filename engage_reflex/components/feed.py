"""The Overview's "Activity and comments" section (state/model/feed.py)."""

from __future__ import annotations

import reflex as rx

from engage_reflex.components.feedback import empty_state, error_callout
from engage_reflex.components.layout import section
from engage_reflex.state.model.feed import FeedRow, FeedState

F = FeedState
GRAY = rx.color("gray", 10)


def feed_item(row: FeedRow) -> rx.Component:
    icon = rx.match(row.kind, ("comment", rx.icon("message-square", size=14, color=rx.color("accent", 10))),
                    ("run", rx.icon("play", size=14, color=GRAY)), rx.icon("history", size=14, color=GRAY))
    return rx.hstack(
        rx.box(icon, flex_shrink="0", padding_top="0.2em"),
        rx.vstack(
            rx.hstack(rx.text(row.title, size="2", weight="medium"),
                      rx.cond(row.is_new, rx.badge("New", color_scheme="amber", variant="soft", size="1")),
                      align="center", spacing="2"),
            rx.text(row.text, size="2", white_space="pre-wrap", class_name="feed-text"),
            rx.text(rx.cond(row.who != "", row.who, "Engage"), " · ", row.when, size="1", color=GRAY),
            spacing="0", min_width="0"),
        align="start", spacing="2", width="100%", class_name=rx.cond(row.kind == "comment", "activity-item comment",
                                                                   "activity-item"),
    )


def comment_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.el.label(rx.text("Comment", size="2", weight="medium"), html_for="comment-body"),
            rx.text_area(name="comment", id="comment-body", rows="3", width="100%",
                         placeholder="What you think, what you changed, what to look at…"),
            rx.text("Plain text. Mention someone this model is shared with by @ and their email address "
                    "(@ana@example.org): they get an email.", size="1", color=GRAY),
            rx.cond(F.comment_error != "", error_callout(F.comment_error, id="comment-error", size="1")),
            rx.button(rx.icon("send", size=14), "Post comment", type="submit", size="2"),
            spacing="2", width="100%", align="start"),
        on_submit=F.post_comment, reset_on_submit=False, key=F.comment_key.to_string(), width="100%",
    )


def feed_section() -> rx.Component:
    return section(
        "Activity and comments",
        rx.cond(F.can_comment, comment_form()),
        rx.cond(F.feed_rows.length() > 0,
                rx.vstack(rx.foreach(F.feed_rows, feed_item), spacing="3", width="100%", id="activity-list"),
                empty_state("history", "Nothing has happened yet",
                            "Every edit of this model, its runs and the comments of the people it is shared with "
                            "show up here: who, what and when.")),
        icon="history",
    )
